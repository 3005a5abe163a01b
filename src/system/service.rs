//! Services: a set of pods behind a load balancer. Pods are stored once and referenced by index,
//! so pods can be added and retired during a run without moving anything.

use crate::config::model::{Discipline, LbPolicy, ServiceCfg};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodState {
    /// Created, waiting for a node with room.
    Pending,
    /// On a node: pulling its image, starting, waiting for its readiness probe.
    Starting,
    Ready,
    /// Not taking traffic; finishing what it has.
    Draining,
    Gone,
}

pub struct Pod {
    pub service: u32,
    /// Station id of the pod's CPU.
    pub cpu: u32,
    /// First of the pod's connection pools (one per database, in database order).
    pub pool_base: u32,
    pub inflight: u32,
    pub state: PodState,
    pub created_at: u64,
    /// When it was placed on a node (the pod's start time, as the HPA sees it).
    pub started_at: u64,
    /// When its containers started (phase Running); before that it pulls its image (phase Pending).
    pub running_at: u64,
    /// Last change of its Ready condition.
    pub ready_transition: u64,
    pub node: u32,
    /// Requests completed here (the per-pod request-rate metric).
    pub completed: u64,
    /// Killed at the end of its grace period: in-flight work fails as `terminated`.
    pub killed: bool,
}

impl Pod {
    /// Counts toward the deployment's replicas (not being deleted).
    pub fn is_live(&self) -> bool {
        matches!(
            self.state,
            PodState::Pending | PodState::Starting | PodState::Ready
        )
    }
}

/// `(rr + 1) % n` for n > 0, dividing only when `rr` is past the ring (the ready set shrank):
/// a pick is on every request.
#[inline(always)]
fn next_rr(rr: usize, n: usize) -> usize {
    let next = rr + 1;
    if next < n {
        next
    } else if next == n {
        0
    } else {
        next % n
    }
}

pub struct Service {
    pub name: String,
    pub lb: LbPolicy,
    pub cores: f64,
    /// The CPU a pod takes on a node: `pod.cpu_request`, or its cores when unset.
    pub cpu_request: f64,
    /// Whether `pod.cpu_request` is set: the HPA's CPU utilization needs it (Kubernetes fails
    /// the metric with "missing request for cpu" otherwise).
    pub cpu_request_set: bool,
    pub discipline: Discipline,
    pub workers: u32,
    pub max_inflight: u32,
    pub memory_request: f64,
    pub memory_base: f64,
    pub memory_per_request: f64,
    pub contention: Option<crate::config::contention::ContentionCfg>,
    /// The shared host's station when the pods run on one (set by `System::build`).
    pub host: Option<u32>,
    /// Ready pods, in the order they became ready.
    pub ready: Vec<u32>,
    rr: usize,
}

impl Service {
    pub fn new(name: String, cfg: &ServiceCfg) -> Self {
        let p = &cfg.pod;
        Service {
            name,
            lb: cfg.load_balancer,
            cores: p.cores,
            cpu_request: p.cpu_request.map(|q| q.0).unwrap_or(p.cores),
            cpu_request_set: p.cpu_request.is_some(),
            discipline: p.discipline,
            workers: p.workers.unwrap_or(p.cores.ceil().max(1.0) as u32),
            max_inflight: p.max_inflight.unwrap_or(u32::MAX),
            memory_request: p.memory_request.map(|q| q.0).unwrap_or(0.0),
            memory_base: p.memory_base.map(|q| q.0).unwrap_or(0.0),
            memory_per_request: p.memory_per_request.map(|q| q.0).unwrap_or(0.0),
            contention: p.contention.clone(),
            host: None,
            ready: Vec::new(),
            rr: 0,
        }
    }

    /// A new CPU station for one of this service's pods: its own cores, or a seat on its host.
    pub fn pod_station(&self, stations: &mut Vec<super::station::Station>) -> u32 {
        if let Some(h) = self.host {
            return super::host::new_seat(stations, h);
        }
        let fcfs = self.discipline == Discipline::Fcfs;
        let c = if fcfs {
            self.workers as f64
        } else {
            self.cores
        };
        stations.push(super::station::Station::new(
            fcfs,
            c,
            self.contention.as_ref(),
        ));
        (stations.len() - 1) as u32
    }

    pub fn memory_in_use(&self, pod: &Pod) -> f64 {
        self.memory_base + self.memory_per_request * pod.inflight as f64
    }

    /// The load balancer's choice among ready pods.
    pub fn pick(&mut self, pods: &[Pod]) -> Option<u32> {
        if self.ready.is_empty() {
            return None;
        }
        match self.lb {
            LbPolicy::RoundRobin => {
                self.rr = next_rr(self.rr, self.ready.len());
                Some(self.ready[self.rr])
            }
            LbPolicy::LeastOutstanding => {
                // Ties go round-robin, so equal pods share load evenly.
                // From `rr` round the ring, as two slices: no division per pod.
                let n = self.ready.len();
                self.rr = next_rr(self.rr, n);
                let (before, from) = self.ready.split_at(self.rr);
                from.iter()
                    .chain(before)
                    .copied()
                    .min_by_key(|&p| pods[p as usize].inflight)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_rr_is_the_successor_modulo_n() {
        for n in 1..6 {
            for rr in 0..12 {
                assert_eq!(super::next_rr(rr, n), (rr + 1) % n, "rr {rr} n {n}");
            }
        }
    }
}
