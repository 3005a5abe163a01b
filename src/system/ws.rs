//! WebSocket connections: an active user holds one connection on a pod of the service that
//! accepts them (the pod with the fewest, as a connection-aware load balancer would pick), and
//! each costs that pod memory until the user goes idle.

use crate::engine::Nanos;

pub struct WebSockets {
    pub service: u32,
    pub per_connection: f64,
    /// Per user: the pod holding their connection, or NONE.
    user_pod: Vec<u32>,
    /// Per pod (global pod id): connections held.
    pub pod_conns: Vec<u32>,
    pub open: u32,
    pub opened: u64,
}

const NONE: u32 = u32::MAX;

impl WebSockets {
    pub fn new(service: u32, per_connection: f64) -> Self {
        WebSockets {
            service,
            per_connection,
            user_pod: Vec::new(),
            pod_conns: Vec::new(),
            open: 0,
            opened: 0,
        }
    }

    pub fn connect(&mut self, user: u32, ready: &[u32], _now: Nanos) {
        let u = user as usize;
        if u >= self.user_pod.len() {
            self.user_pod.resize(u + 1, NONE);
        }
        if self.user_pod[u] != NONE || ready.is_empty() {
            return;
        }
        let pod = *ready
            .iter()
            .min_by_key(|&&p| self.pod_conns.get(p as usize).copied().unwrap_or(0))
            .expect("non-empty");
        if pod as usize >= self.pod_conns.len() {
            self.pod_conns.resize(pod as usize + 1, 0);
        }
        self.pod_conns[pod as usize] += 1;
        self.user_pod[u] = pod;
        self.open += 1;
        self.opened += 1;
    }

    pub fn disconnect(&mut self, user: u32) {
        if let Some(p) = self.user_pod.get_mut(user as usize) {
            if *p != NONE {
                self.pod_conns[*p as usize] -= 1;
                *p = NONE;
                self.open -= 1;
            }
        }
    }

    pub fn conns_on(&self, pod: u32) -> u32 {
        self.pod_conns.get(pod as usize).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_spread_and_release() {
        let mut w = WebSockets::new(0, 1024.0);
        for u in 0..10 {
            w.connect(u, &[3, 4], 0);
        }
        w.connect(0, &[3, 4], 0); // already connected
        assert_eq!((w.conns_on(3), w.conns_on(4), w.open), (5, 5, 10));
        for u in 0..10 {
            w.disconnect(u);
        }
        assert_eq!((w.conns_on(3), w.open), (0, 0));
    }
}
