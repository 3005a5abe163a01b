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
    /// Cluster-level settings: metrics pipeline, HPA sync, nodes and the Cluster Autoscaler.
    #[serde(default)]
    pub cluster: ClusterCfg,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCfg {
    pub replicas: u32,
    pub pod: PodCfg,
    #[serde(default)]
    pub load_balancer: LbPolicy,
    pub endpoints: BTreeMap<String, Vec<StepCfg>>,
    /// How new pods start and old ones stop.
    #[serde(default)]
    pub lifecycle: LifecycleCfg,
    /// A Kubernetes HPA (autoscaling/v2) manifest, inline or as a path relative to the model file.
    #[serde(default)]
    pub autoscaler: Option<AutoscalerRef>,
    /// Alternatively, an AWS EC2 Auto Scaling group with CloudWatch-alarm policies.
    #[serde(default)]
    pub aws_autoscaling: Option<AwsAutoscalingCfg>,
}

/// An Auto Scaling group in AWS's own JSON shape, and policies shaped like `scaling-policies.js`.
/// `group` and `policies` are inline objects or paths (relative to the model file) to JSON files.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AwsAutoscalingCfg {
    pub group: serde_json::Value,
    pub policies: serde_json::Value,
    /// Which entry of the policies object applies to this service (e.g. `api`).
    pub policy_set: String,
    /// Launch to InService, as the group's cooldown and warm-up logic sees it.
    #[serde(default = "sixty_s")]
    pub boot: Duration,
}

fn sixty_s() -> Duration {
    Duration(60 * crate::engine::SEC)
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum AutoscalerRef {
    Path(String),
    Inline(Box<crate::autoscale::hpa_config::HorizontalPodAutoscaler>),
}

/// Pod start-up and shutdown (Kubernetes semantics).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleCfg {
    /// Image pull time on a node that does not have the image.
    #[serde(default = "default_pull")]
    pub image_pull: Dist,
    #[serde(default = "default_container_start")]
    pub container_start: Dist,
    /// Time from container start until the app answers its readiness probe.
    #[serde(default = "default_app_start")]
    pub app_start: Dist,
    #[serde(default)]
    pub readiness: ProbeCfg,
    /// In-flight requests on a stopping pod get this long to finish; the rest fail as `terminated`.
    #[serde(default = "thirty_s", rename = "terminationGracePeriodSeconds")]
    pub termination_grace_period_seconds: f64,
}

fn default_pull() -> Dist {
    Dist::parse("uniform(5s,20s)").expect("valid")
}
fn default_container_start() -> Dist {
    Dist::parse("const(1s)").expect("valid")
}
fn default_app_start() -> Dist {
    Dist::parse("const(5s)").expect("valid")
}
fn thirty_s() -> f64 {
    30.0
}

impl Default for LifecycleCfg {
    fn default() -> Self {
        LifecycleCfg {
            image_pull: default_pull(),
            container_start: default_container_start(),
            app_start: default_app_start(),
            readiness: ProbeCfg::default(),
            termination_grace_period_seconds: 30.0,
        }
    }
}

/// Readiness probe timing; defaults are Kubernetes'.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeCfg {
    #[serde(default)]
    pub initial_delay_seconds: f64,
    #[serde(default = "ten")]
    pub period_seconds: f64,
    #[serde(default = "one_u32")]
    pub success_threshold: u32,
}

fn ten() -> f64 {
    10.0
}
fn one_u32() -> u32 {
    1
}

impl Default for ProbeCfg {
    fn default() -> Self {
        ProbeCfg {
            initial_delay_seconds: 0.0,
            period_seconds: 10.0,
            success_threshold: 1,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterCfg {
    /// metrics-server `--metric-resolution` (its shipped manifests use 15 s).
    #[serde(default = "fifteen_s")]
    pub metrics_resolution: Duration,
    /// HPA controller sync period.
    #[serde(default = "fifteen_s")]
    pub hpa_sync_period: Duration,
    /// Nodes pods are placed on; absent = unlimited capacity, pods place at once.
    #[serde(default)]
    pub nodes: Option<NodesCfg>,
}

fn fifteen_s() -> Duration {
    Duration(15 * crate::engine::SEC)
}

impl Default for ClusterCfg {
    fn default() -> Self {
        ClusterCfg {
            metrics_resolution: fifteen_s(),
            hpa_sync_period: fifteen_s(),
            nodes: None,
        }
    }
}

/// One node pool, scaled by the Cluster Autoscaler.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodesCfg {
    /// Allocatable CPU (cores) and memory of one node.
    pub cpu: Quantity,
    pub memory: Quantity,
    pub initial: u32,
    #[serde(default)]
    pub min: u32,
    pub max: u32,
    /// Time from the scale-up decision until the node accepts pods.
    #[serde(default = "default_provisioning")]
    pub provisioning: Dist,
    #[serde(default = "ten_s")]
    pub scan_interval: Duration,
    /// An empty node is removed after this long (scale-down-unneeded-time).
    #[serde(default = "ten_m")]
    pub scale_down_unneeded: Duration,
}

fn default_provisioning() -> Dist {
    Dist::parse("uniform(1m,4m)").expect("valid")
}
fn ten_s() -> Duration {
    Duration(10 * crate::engine::SEC)
}
fn ten_m() -> Duration {
    Duration(600 * crate::engine::SEC)
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
    /// Memory in use: a base plus a cost per in-flight request (the HPA memory metric).
    #[serde(default)]
    pub memory_base: Option<Quantity>,
    #[serde(default)]
    pub memory_per_request: Option<Quantity>,
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
