//! The system model file (`models/*.yaml`): services made of pods, their endpoints, and the
//! shared resources they use (databases, caches, external providers).

use super::quantity::Quantity;
use crate::dist::{Dist, Duration};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The service that client requests enter through (behind its load balancer).
    pub entry: String,
    pub services: BTreeMap<String, ServiceCfg>,
    #[serde(default)]
    pub databases: BTreeMap<String, DatabaseCfg>,
    #[serde(default)]
    pub caches: BTreeMap<String, CacheCfg>,
    #[serde(default)]
    pub externals: BTreeMap<String, ExternalCfg>,
    /// Prices of the resources above (`crate::cost` does the arithmetic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::cost::CostCfg>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCfg {
    pub replicas: u32,
    pub pod: PodCfg,
    #[serde(default)]
    pub load_balancer: LbPolicy,
    pub endpoints: BTreeMap<String, Vec<StepCfg>>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LbPolicy {
    #[default]
    RoundRobin,
    LeastOutstanding,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Discipline {
    /// Processor sharing over the pod's cores (event-loop and preemptive servers).
    #[default]
    Ps,
    /// First come, first served on `workers` threads (thread-pool servers).
    Fcfs,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PodCfg {
    /// Cores the pod's CPU work is shared over (processor sharing).
    pub cores: f64,
    /// CPU request (e.g. "500m"); the denominator of CPU utilization, as in Kubernetes.
    #[serde(default)]
    pub cpu_request: Option<Quantity>,
    #[serde(default)]
    pub memory_request: Option<Quantity>,
    /// Requests beyond this many in flight on one pod are rejected.
    #[serde(default)]
    pub max_inflight: Option<u32>,
    #[serde(default)]
    pub discipline: Discipline,
    /// Worker threads for `discipline: fcfs` (default: cores rounded up).
    #[serde(default)]
    pub workers: Option<u32>,
}

/// One step of an endpoint, written as a single-key map, e.g. `- cpu: exp(mean=5ms)`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepCfg {
    Cpu(Dist),
    Call(CallCfg),
    Db(DbStepCfg),
    Cache(CacheStepCfg),
    External(ExternalStepCfg),
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallCfg {
    pub service: String,
    pub endpoint: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    Read,
    Write,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DbStepCfg {
    pub database: String,
    pub query: QueryKind,
    /// Service time of the query on one database core.
    pub time: Dist,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheStepCfg {
    pub cache: String,
    /// Service time of the command on the node's single thread.
    pub time: Dist,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalStepCfg {
    pub provider: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseCfg {
    /// Cores of each instance; queries are served FCFS on them.
    pub cores: u32,
    pub max_connections: u32,
    /// Read replicas, each with the primary's cores. Reads go to replicas round-robin when there are any.
    #[serde(default)]
    pub read_replicas: u32,
    /// The connection pool each pod keeps to this database.
    pub pool: PoolCfg,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolCfg {
    #[serde(default)]
    pub min: u32,
    pub max: u32,
    /// How long a request waits for a free connection before it fails (pg's connectionTimeoutMillis).
    pub acquire_timeout: Duration,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheCfg {
    /// Nodes, each single-threaded (Redis); commands are spread uniformly over them.
    pub nodes: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalCfg {
    pub latency: Dist,
    /// Probability that a call fails.
    #[serde(default)]
    pub failure: f64,
}
