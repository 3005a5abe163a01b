//! Services: a set of pods behind a load balancer. Pods are stored once and referenced by index,
//! so pods can be added and retired during a run without moving anything.

use crate::config::model::{Discipline, LbPolicy};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodState {
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
}

pub struct Service {
    pub name: String,
    pub lb: LbPolicy,
    pub cores: f64,
    pub cpu_request: f64,
    pub discipline: Discipline,
    pub workers: u32,
    pub max_inflight: u32,
    /// Ready pods, in the order they became ready.
    pub ready: Vec<u32>,
    rr: usize,
}

impl Service {
    pub fn new(
        name: String,
        lb: LbPolicy,
        cores: f64,
        cpu_request: f64,
        discipline: Discipline,
        workers: u32,
        max_inflight: u32,
    ) -> Self {
        Service {
            name,
            lb,
            cores,
            cpu_request,
            discipline,
            workers,
            max_inflight,
            ready: Vec::new(),
            rr: 0,
        }
    }

    /// The load balancer's choice among ready pods.
    pub fn pick(&mut self, pods: &[Pod]) -> Option<u32> {
        if self.ready.is_empty() {
            return None;
        }
        match self.lb {
            LbPolicy::RoundRobin => {
                self.rr = (self.rr + 1) % self.ready.len();
                Some(self.ready[self.rr])
            }
            LbPolicy::LeastOutstanding => {
                // Ties go round-robin, so equal pods share load evenly.
                let n = self.ready.len();
                self.rr = (self.rr + 1) % n;
                (0..n)
                    .map(|k| self.ready[(self.rr + k) % n])
                    .min_by_key(|&p| pods[p as usize].inflight)
            }
        }
    }
}
