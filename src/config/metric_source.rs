//! The model's `metric_sources:` mapping: which simulated signal each custom HPA metric (types
//! `Pods`, `Object`, `External`) reads. Resource metrics (cpu, memory) come from the simulated
//! metrics-server and need no entry. Resolution against the HPAs and the model's components is in
//! `crate::autoscale::signals`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A signal the simulation can report. Per-pod signals are read on each pod (for `Pods` metrics)
/// or summed over a service's pods (for `Object` and `External` metrics); the others belong to one
/// queue or database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Requests completed per second (a counter's rate between the last two scrapes).
    RequestsPerSecond,
    /// Requests in flight (a gauge at the last scrape).
    Inflight,
    /// CPU in cores (a rate between the last two scrapes).
    Cpu,
    /// Memory in use, bytes (a gauge).
    Memory,
    /// Requests waiting for a database connection in the pods' pools (a gauge); on a database,
    /// the waiters of every pod's pool to it.
    PoolWaiters,
    /// Jobs waiting in a job queue (a gauge).
    QueueLength,
    /// Age of the oldest waiting job, seconds (a gauge).
    QueueOldestAge,
    /// Seconds until the read replicas have applied every committed write (a gauge).
    ReplicaLag,
}

impl Signal {
    pub const ALL: [Signal; 8] = [
        Signal::RequestsPerSecond,
        Signal::Inflight,
        Signal::Cpu,
        Signal::Memory,
        Signal::PoolWaiters,
        Signal::QueueLength,
        Signal::QueueOldestAge,
        Signal::ReplicaLag,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Signal::RequestsPerSecond => "requests_per_second",
            Signal::Inflight => "inflight",
            Signal::Cpu => "cpu",
            Signal::Memory => "memory",
            Signal::PoolWaiters => "pool_waiters",
            Signal::QueueLength => "queue_length",
            Signal::QueueOldestAge => "queue_oldest_age",
            Signal::ReplicaLag => "replica_lag",
        }
    }

    /// Whether every pod has its own reading (usable by a `Pods` metric).
    pub fn per_pod(self) -> bool {
        matches!(
            self,
            Signal::RequestsPerSecond
                | Signal::Inflight
                | Signal::Cpu
                | Signal::Memory
                | Signal::PoolWaiters
        )
    }

    /// What the signal is read from, for messages.
    pub fn owner(self) -> &'static str {
        match self {
            Signal::QueueLength | Signal::QueueOldestAge => "a queue",
            Signal::ReplicaLag => "a database",
            Signal::PoolWaiters => "a service's pods or a database",
            _ => "a service's pods",
        }
    }

    /// "requests_per_second (a service's pods), ..., or linear: {signal: weight, ...}".
    pub fn catalogue() -> String {
        let mut s: Vec<String> = Signal::ALL
            .iter()
            .map(|x| format!("{} ({})", x.name(), x.owner()))
            .collect();
        s.push("linear: {<signal>: <weight>, ...} (a linear combination)".into());
        s.join(", ")
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of `metric_sources`, keyed by the HPA's metric name: either `signal: <name>` or
/// `linear: {<signal>: <weight>, ...}` plus an optional `constant`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricSourceCfg {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<BTreeMap<Signal, f64>>,
    /// Added to a linear combination.
    #[serde(default)]
    pub constant: f64,
    /// The component (service, queue or database name) to read when the HPA metric names none:
    /// an `External` metric without a selector. A `describedObject` or selector wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
}

impl MetricSourceCfg {
    /// The (signal, weight) terms and the constant.
    pub fn terms(&self) -> Result<(Vec<(Signal, f64)>, f64), String> {
        match (&self.signal, &self.linear) {
            (Some(s), None) => Ok((vec![(*s, 1.0)], 0.0)),
            (None, Some(l)) if !l.is_empty() => {
                if let Some((s, w)) = l.iter().find(|(_, w)| !w.is_finite()) {
                    return Err(format!(
                        "the weight of {s} must be a finite number, got {w}"
                    ));
                }
                if !self.constant.is_finite() {
                    return Err("constant must be a finite number".into());
                }
                Ok((l.iter().map(|(s, w)| (*s, *w)).collect(), self.constant))
            }
            (None, Some(_)) => Err("linear needs at least one signal".into()),
            _ => Err(format!(
                "expected exactly one of `signal:` or `linear:`; signals: {}",
                Signal::catalogue()
            )),
        }
    }
}
