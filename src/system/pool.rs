//! A per-pod database connection pool (node-postgres semantics): connections open lazily up to
//! `max`, counted against the database's `max_connections`; a request that finds none free
//! waits in FIFO order and fails after the acquire timeout. Idle connections are reused last-in
//! first-out (as pg-pool does), so the oldest idle ones are the ones that reach `idle_timeout`
//! and close, down to `min`.

use crate::engine::{EventQueue, Nanos};
use crate::event::{Event, ReqRef};
use std::collections::VecDeque;

#[derive(Debug, PartialEq, Eq)]
pub enum Acquire {
    /// An idle connection was free.
    Granted,
    /// A new connection is being opened; the request pays the connect time.
    Connect,
    Queued,
    /// Opening one more connection would exceed the database's `max_connections`.
    Refused,
}

/// Connections open against one database endpoint (primary, or the replica set), shared by every pool.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerConns {
    pub open: u32,
    pub max: u32,
}

pub struct Pool {
    pub db: u32,
    /// A pool to the replica set rather than the primary.
    pub side_replicas: bool,
    pub min: u32,
    pub max: u32,
    pub in_use: u32,
    timeout: Nanos,
    idle_timeout: Option<Nanos>,
    /// Release times of idle connections, oldest first.
    idle: VecDeque<Nanos>,
    /// Deadlines are enqueue time + a constant, so FIFO order is also deadline order:
    /// one timer for the head replaces a timer per waiter.
    waiters: VecDeque<(Nanos, ReqRef)>,
    armed: bool,
    pub acquire_timeouts: u64,
    pub connects: u64,
    pub closes: u64,
    pub refused: u64,
    /// Every `max` in [`max_needed`, `max_allowed`] would have taken the same decisions so far
    /// (open one more connection, or not): the run is any such pool's run (`sweep::shared`).
    pub max_needed: u32,
    pub max_allowed: u32,
}

impl Pool {
    pub fn new(db: u32, min: u32, max: u32, timeout: Nanos, idle_timeout: Option<Nanos>) -> Self {
        Pool {
            db,
            side_replicas: false,
            min,
            max,
            in_use: 0,
            timeout,
            idle_timeout,
            idle: VecDeque::new(),
            waiters: VecDeque::new(),
            armed: false,
            acquire_timeouts: 0,
            connects: 0,
            closes: 0,
            refused: 0,
            max_needed: 0,
            max_allowed: u32::MAX,
        }
    }

    /// Whether a pool with this `max` would have decided as this one did so far.
    pub fn admits(&self, max: u32) -> bool {
        (self.max_needed..=self.max_allowed).contains(&max)
    }

    /// `open() < max`, recording which other maxima would have answered the same.
    fn below_max(&mut self) -> bool {
        let open = self.open();
        if open < self.max {
            self.max_needed = self.max_needed.max(open + 1);
            true
        } else {
            self.max_allowed = self.max_allowed.min(open);
            false
        }
    }

    pub fn open(&self) -> u32 {
        self.in_use + self.idle.len() as u32
    }

    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// The common case (an idle connection, none to close) inline at the caller; opening,
    /// queueing and closing out of line.
    #[inline(always)]
    pub fn acquire(
        &mut self,
        id: u32,
        req: ReqRef,
        server: &mut ServerConns,
        q: &mut EventQueue<Event>,
    ) -> Acquire {
        let now = q.now();
        // Only an idle connection past its timeout can close: test the oldest before the call.
        if let Some(t) = self.idle_timeout {
            if self.idle.front().is_some_and(|&since| since + t <= now) {
                self.close_idle(now, server);
            }
        }
        if self.idle.pop_back().is_some() {
            self.in_use += 1;
            return Acquire::Granted;
        }
        self.acquire_more(id, req, server, q, now)
    }

    /// No idle connection: open one, or wait for one.
    #[inline(never)]
    fn acquire_more(
        &mut self,
        id: u32,
        req: ReqRef,
        server: &mut ServerConns,
        q: &mut EventQueue<Event>,
        now: Nanos,
    ) -> Acquire {
        if self.below_max() {
            if server.open >= server.max {
                self.refused += 1;
                return Acquire::Refused;
            }
            server.open += 1;
            self.in_use += 1;
            self.connects += 1;
            return Acquire::Connect;
        }
        let deadline = now + self.timeout;
        self.waiters.push_back((deadline, req));
        if !self.armed {
            self.armed = true;
            q.schedule_at(deadline, Event::PoolTimeouts { pool: id });
        }
        Acquire::Queued
    }

    /// Pre-open `n` idle connections (pool `min`), as far as the database allows.
    pub fn warm(&mut self, n: u32, server: &mut ServerConns) {
        while self.open() < n && self.below_max() && server.open < server.max {
            self.idle.push_back(0);
            server.open += 1;
        }
    }

    /// Return a connection; the oldest waiter, if any, takes it over.
    pub fn release(&mut self, now: Nanos) -> Option<ReqRef> {
        match self.waiters.pop_front() {
            Some((_, r)) => Some(r),
            None => {
                self.in_use -= 1;
                self.idle.push_back(now);
                None
            }
        }
    }

    /// A connection broke (or its open failed) while held: it is gone, not idle.
    pub fn discard(&mut self, server: &mut ServerConns) {
        self.in_use -= 1;
        server.open -= 1;
        self.closes += 1;
    }

    /// The pod is gone: every idle connection closes (ones still in use close as they return).
    pub fn close_all_idle(&mut self, server: &mut ServerConns) {
        while self.idle.pop_front().is_some() {
            server.open -= 1;
            self.closes += 1;
        }
        self.min = 0;
    }

    /// Close idle connections older than the idle timeout while more than `min` are open.
    #[inline(never)]
    pub fn close_idle(&mut self, now: Nanos, server: &mut ServerConns) {
        let Some(t) = self.idle_timeout else { return };
        while self.open() > self.min && self.idle.front().is_some_and(|&since| since + t <= now) {
            self.idle.pop_front();
            server.open -= 1;
            self.closes += 1;
        }
    }

    /// Waiters whose acquire timeout has passed go to `out`; re-arm for the new head.
    pub fn expire(&mut self, id: u32, q: &mut EventQueue<Event>, out: &mut Vec<ReqRef>) {
        let now = q.now();
        self.armed = false;
        while let Some(&(deadline, r)) = self.waiters.front() {
            if deadline > now {
                break;
            }
            self.waiters.pop_front();
            self.acquire_timeouts += 1;
            out.push(r);
        }
        if let Some(&(deadline, _)) = self.waiters.front() {
            self.armed = true;
            q.schedule_at(deadline, Event::PoolTimeouts { pool: id });
        }
    }
}

impl super::System {
    /// Whether the pools would have taken every decision of this run with `alt`'s pool sizes
    /// (a model that differs from this run's only there and in its HPAs).
    pub fn pools_admit(&self, alt: &crate::config::ModelFile) -> bool {
        self.databases.iter().enumerate().all(|(di, d)| {
            let Some(cfg) = alt.databases.get(&d.name) else {
                return false;
            };
            self.pools
                .iter()
                .filter(|p| p.db == di as u32)
                .all(|p| p.admits(cfg.pool.max))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SEC;

    fn r(i: u32) -> ReqRef {
        ReqRef { idx: i, gen: 0 }
    }

    #[test]
    fn opens_up_to_max_then_queues_then_times_out() {
        let mut q = EventQueue::new();
        let mut server = ServerConns { open: 0, max: 100 };
        let mut p = Pool::new(0, 0, 2, 2 * SEC, None);
        assert_eq!(p.acquire(0, r(0), &mut server, &mut q), Acquire::Connect);
        assert_eq!(p.acquire(0, r(1), &mut server, &mut q), Acquire::Connect);
        assert_eq!(p.acquire(0, r(2), &mut server, &mut q), Acquire::Queued);
        assert_eq!(server.open, 2);
        // A max of 1 would have queued the second request, a max of 3 opened a third connection.
        assert!(p.admits(2) && !p.admits(1) && !p.admits(3));
        let (t, ev) = q.pop().unwrap();
        assert_eq!(t, 2 * SEC);
        assert!(matches!(ev, Event::PoolTimeouts { pool: 0 }));
        let mut out = Vec::new();
        p.expire(0, &mut q, &mut out);
        assert_eq!(out, vec![r(2)]);
        assert_eq!(p.acquire_timeouts, 1);
    }

    #[test]
    fn max_connections_is_shared_across_pools() {
        let mut q = EventQueue::new();
        let mut server = ServerConns { open: 0, max: 3 };
        let mut a = Pool::new(0, 0, 100, SEC, None);
        let mut b = Pool::new(0, 0, 100, SEC, None);
        assert_eq!(a.acquire(0, r(0), &mut server, &mut q), Acquire::Connect);
        assert_eq!(a.acquire(0, r(1), &mut server, &mut q), Acquire::Connect);
        assert_eq!(b.acquire(1, r(2), &mut server, &mut q), Acquire::Connect);
        assert_eq!(b.acquire(1, r(3), &mut server, &mut q), Acquire::Refused);
        assert_eq!(b.refused, 1);
    }

    #[test]
    fn idle_connections_close_after_the_timeout_down_to_min() {
        let mut q = EventQueue::new();
        let mut server = ServerConns { open: 0, max: 100 };
        let mut p = Pool::new(0, 1, 10, SEC, Some(30 * SEC));
        for i in 0..3 {
            p.acquire(0, r(i), &mut server, &mut q);
        }
        for _ in 0..3 {
            p.release(0);
        }
        assert_eq!(p.open(), 3);
        p.close_idle(29 * SEC, &mut server);
        assert_eq!(p.open(), 3);
        p.close_idle(30 * SEC, &mut server);
        assert_eq!(p.open(), 1, "closes down to min");
        assert_eq!(server.open, 1);
        assert_eq!(p.closes, 2);
        // The survivor is reused; a second concurrent request must reconnect.
        q.set_now(31 * SEC);
        assert_eq!(p.acquire(0, r(5), &mut server, &mut q), Acquire::Granted);
        assert_eq!(p.acquire(0, r(6), &mut server, &mut q), Acquire::Connect);
    }
}
