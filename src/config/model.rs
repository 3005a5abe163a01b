//! The system model file (`models/*.yaml`): services made of pods, their endpoints, and the
//! shared resources they use (databases, caches, external providers).

use super::contention::ContentionCfg;
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
    /// Asynchronous job queues (Bull-style): endpoints enqueue, a worker service consumes.
    #[serde(default)]
    pub queues: BTreeMap<String, QueueCfg>,
    /// Blockchains that `transaction` steps submit to.
    #[serde(default)]
    pub chains: BTreeMap<String, ChainCfg>,
    /// Machines whose cores several components share (processor sharing): a service's pods and
    /// a database on one box, or the load generator on the machine it measures.
    #[serde(default)]
    pub hosts: BTreeMap<String, HostCfg>,
    /// Prices of the resources above (`crate::cost` does the arithmetic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::cost::CostCfg>,
    /// Which simulated signal each custom HPA metric (Pods, Object, External) reads, by metric name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metric_sources: BTreeMap<String, super::metric_source::MetricSourceCfg>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCfg {
    pub replicas: u32,
    pub pod: PodCfg,
    #[serde(default)]
    pub load_balancer: LbPolicy,
    /// Users hold a WebSocket on one of this service's pods while they are active.
    #[serde(default)]
    pub websocket: Option<WebSocketCfg>,
    pub endpoints: BTreeMap<String, Vec<StepCfg>>,
    /// HTTP routes to the endpoints: `"GET /api/badges/{wallet}": wallet` (see `config/routes.rs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, String>,
    /// How new pods start and old ones stop.
    #[serde(default)]
    pub lifecycle: LifecycleCfg,
    /// A Kubernetes HPA (autoscaling/v2) manifest, inline or as a path relative to the model file.
    #[serde(default)]
    pub autoscaler: Option<AutoscalerRef>,
    /// Alternatively, an AWS EC2 Auto Scaling group with CloudWatch-alarm policies.
    #[serde(default)]
    pub aws_autoscaling: Option<AwsAutoscalingCfg>,
    /// Run the pods' CPU work on this shared host (`hosts:`) instead of their own cores.
    #[serde(default)]
    pub host: Option<String>,
}

/// A machine shared by the components placed on it: their CPU work is served by processor
/// sharing on its cores, with optional contention.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostCfg {
    pub cores: f64,
    #[serde(default)]
    pub contention: Option<ContentionCfg>,
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
    /// When metrics-server scrapes, relative to the HPA syncs (first scrape at this offset).
    /// Absent: drawn per replication, uniform over one resolution (docs/autoscaling.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_phase: Option<Duration>,
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
            metrics_phase: None,
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
    /// No node is removed for this long after a scale-up (scale-down-delay-after-add).
    #[serde(default = "ten_m")]
    pub scale_down_delay_after_add: Duration,
}

/// GCE's 3–4 minutes from the scale-up to a node that accepts pods (cluster-autoscaler FAQ).
fn default_provisioning() -> Dist {
    Dist::parse("uniform(3m,4m)").expect("valid")
}
fn ten_s() -> Duration {
    Duration(10 * crate::engine::SEC)
}
fn ten_m() -> Duration {
    Duration(600 * crate::engine::SEC)
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebSocketCfg {
    /// Pod memory each held connection costs (e.g. "64Ki").
    pub memory_per_connection: Quantity,
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
    /// Load-dependent speed (lock contention, coherency): see `config::contention`.
    #[serde(default)]
    pub contention: Option<ContentionCfg>,
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
    /// A pure delay (network hop, client round trip) that holds no resource.
    Delay(Dist),
    /// Read a key through a keyspace; on a miss, run the query and SET the key.
    CacheRead(CacheReadCfg),
    /// Write a key according to the keyspace's strategy.
    CacheWrite(CacheWriteCfg),
    /// Put a job on a queue and carry on (the caller typically answers 202).
    Enqueue(EnqueueCfg),
    /// Submit a transaction through a provider and wait for its confirmation.
    Transaction(TransactionCfg),
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheReadCfg {
    pub cache: String,
    pub keyspace: String,
    /// Service time of each command (GET, SET) on the node's thread.
    pub time: Dist,
    /// The query run on a miss.
    pub miss: DbStepCfg,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheWriteCfg {
    pub cache: String,
    pub keyspace: String,
    pub time: Dist,
    /// The database write behind the cached value.
    pub db: DbStepCfg,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnqueueCfg {
    pub queue: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionCfg {
    pub chain: String,
    /// The RPC provider the signed transaction is sent through.
    pub provider: String,
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
    /// Time the query holds its connection without using a core (network round trip, I/O).
    #[serde(default)]
    pub latency: Option<Dist>,
    /// Sequential queries of this kind (each acquires and releases a connection, as `pool.query` does).
    #[serde(default = "one_u32")]
    pub repeat: u32,
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
    /// Cores of each instance; queries are served FCFS on them (or PS, see `discipline`).
    /// Not used on a shared `host`.
    #[serde(default)]
    pub cores: u32,
    /// `fcfs` (default: a query holds a core until done) or `ps` (the operating system's
    /// scheduler shares the cores among all running queries).
    #[serde(default)]
    pub discipline: Option<Discipline>,
    /// Load-dependent speed of each instance: see `config::contention`.
    #[serde(default)]
    pub contention: Option<ContentionCfg>,
    /// Run the database on this shared host (`hosts:`); no read replicas then.
    #[serde(default)]
    pub host: Option<String>,
    pub max_connections: u32,
    /// Read replicas, each with the primary's cores and max_connections. Reads go to replicas
    /// round-robin when there are any; writes always go to the primary.
    #[serde(default)]
    pub read_replicas: u32,
    /// How long a write takes to become visible on the replicas.
    #[serde(default)]
    pub replication_lag: Option<Dist>,
    /// Send a user's reads to the primary while that user's last write is not yet replicated.
    #[serde(default)]
    pub read_your_writes: bool,
    /// Time to open a new connection (TCP, TLS, auth), paid by the request that needs it.
    #[serde(default)]
    pub connect_time: Option<Dist>,
    /// Queries running longer than this (wait for a core included) are cancelled with an error.
    #[serde(default)]
    pub statement_timeout: Option<Duration>,
    /// The connection pool each pod keeps to this database (one to the primary, one to the replicas).
    pub pool: PoolCfg,
    /// Add and remove read replicas on connection pressure, per the seed's `readReplicas` policy.
    #[serde(default)]
    pub replica_autoscaling: Option<ReplicaAutoscalingCfg>,
}

/// Read-replica autoscaling: `policies` is a `scaling-policies.js`-shaped object (inline or a path
/// relative to the model file) whose `policy_set` entry holds `readReplicas`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaAutoscalingCfg {
    pub policies: serde_json::Value,
    #[serde(default = "database_key")]
    pub policy_set: String,
    #[serde(default)]
    pub min: u32,
    pub max: u32,
    /// Creation to available (RDS read replicas take minutes).
    #[serde(default = "ten_m_replica")]
    pub provisioning: Duration,
}

fn database_key() -> String {
    "database".into()
}
fn ten_m_replica() -> Duration {
    Duration(600 * crate::engine::SEC)
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolCfg {
    #[serde(default)]
    pub min: u32,
    pub max: u32,
    /// How long a request waits for a free connection before it fails (pg's connectionTimeoutMillis).
    pub acquire_timeout: Duration,
    /// An idle connection above `min` closes after this long (pg's idleTimeoutMillis).
    #[serde(default)]
    pub idle_timeout: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheCfg {
    /// Nodes, each single-threaded (Redis). Plain commands are spread uniformly; keyspace
    /// commands go to the node owning the key (hot keys make hot nodes).
    pub nodes: u32,
    /// Load-dependent speed of each node: see `config::contention`.
    #[serde(default)]
    pub contention: Option<ContentionCfg>,
    /// Run the nodes on this shared host (`hosts:`).
    #[serde(default)]
    pub host: Option<String>,
    /// Commands that take longer than this (queueing included) fail (ioredis commandTimeout).
    #[serde(default)]
    pub command_timeout: Option<Duration>,
    #[serde(default)]
    pub keyspaces: BTreeMap<String, KeyspaceCfg>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CacheStrategy {
    /// Reads fill on a miss; writes go to the database and invalidate the key.
    #[default]
    CacheAside,
    /// Writes go to the database, then the cache, synchronously.
    WriteThrough,
    /// Writes go to the cache only; a background flusher batches them into the database.
    WriteBehind,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyChoice {
    /// Keys drawn from a Zipf(s) popularity over `keys` keys.
    #[default]
    Zipf,
    /// The requesting user's own key (user id modulo `keys`).
    User,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyspaceCfg {
    pub keys: u32,
    /// Zipf exponent s: key k (1-based) is requested with probability ∝ 1/k^s.
    #[serde(default = "one_f64")]
    pub zipf_s: f64,
    pub ttl: Duration,
    #[serde(default)]
    pub strategy: CacheStrategy,
    #[serde(default)]
    pub key: KeyChoice,
    /// Write-behind flush period.
    #[serde(default)]
    pub flush_interval: Option<Duration>,
}

fn one_f64() -> f64 {
    1.0
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalCfg {
    /// Latency of the single provider (when `providers` is empty).
    #[serde(default)]
    pub latency: Option<Dist>,
    /// Probability that a call fails.
    #[serde(default)]
    pub failure: f64,
    /// Calls per second the provider accepts (token bucket); beyond it, 429.
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// Token-bucket depth (default: a tenth of a second of `rate_limit`, at least 1).
    #[serde(default)]
    pub burst: Option<f64>,
    /// Several providers: attempts fail over in order; hedges go to the next one.
    #[serde(default)]
    pub providers: Vec<ProviderCfg>,
    /// Retries after an error or a 429, each to the next provider.
    #[serde(default)]
    pub retries: u32,
    /// Wait before a retry.
    #[serde(default)]
    pub backoff: Option<Dist>,
    /// Retry budget: each call earns this many retry tokens, each retry or hedge spends one.
    #[serde(default)]
    pub retry_budget: Option<f64>,
    /// Tokens the budget starts with, and the most it can hold.
    #[serde(default = "ten")]
    pub retry_budget_min: f64,
    /// Send a duplicate to the next provider if no answer came within this time.
    #[serde(default)]
    pub hedge_after: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderCfg {
    pub name: String,
    pub latency: Dist,
    #[serde(default)]
    pub failure: f64,
    #[serde(default)]
    pub rate_limit: Option<f64>,
    #[serde(default)]
    pub burst: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueCfg {
    /// The service whose pods are the workers (one worker process per pod).
    pub service: String,
    /// The endpoint of that service each job runs.
    pub endpoint: String,
    /// Jobs one worker runs at once.
    pub concurrency: u32,
    /// A failed job is retried up to this many times, then dead-lettered.
    #[serde(default)]
    pub retries: u32,
    /// Wait before a failed job is queued again.
    #[serde(default)]
    pub backoff: Option<Dist>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChainCfg {
    /// Blocks are produced on a fixed grid of this period.
    pub block_time: Duration,
    /// Blocks after inclusion that count as confirmed (1: the including block).
    #[serde(default = "one_u32")]
    pub confirmations: u32,
    /// Gas per transaction.
    pub gas: GasCfg,
    /// Probability that an included transaction reverts.
    #[serde(default)]
    pub revert: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GasCfg {
    pub mean: f64,
    #[serde(default)]
    pub sd: f64,
}
