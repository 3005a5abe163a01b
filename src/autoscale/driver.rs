//! Runs the controllers inside a simulation: the metrics-server pipeline that feeds them, one HPA
//! per autoscaled service, and the Cluster Autoscaler. Decisions come from the pure controllers
//! (`hpa.rs`); this module only observes the system and applies what they decide.

use super::asg::{AsgController, AsgSimParams, MetricQuery, ReplicaParams, ReplicaPolicy};
use super::asg_config::{AsgGroupConfig, ServicePolicies};
use super::hpa::{
    to_milli, ControllerOptions, CpuSample, Decision, HpaController, HpaInput, PodSample,
};
use super::hpa_config::{MetricSpec, MetricTarget};
use super::signals::{self, Component, MetricRead, Term};
use crate::config::metric_source::Signal;
use crate::config::model::{
    AutoscalerRef, AwsAutoscalingCfg, DatabaseCfg, ModelFile, ReplicaAutoscalingCfg,
};
use crate::engine::{ns_to_secs, stream, EventQueue, Nanos, SEC};
use crate::event::Event;
use crate::system::service::PodState;
use crate::system::{NodeState, System};
use rand::Rng;
use std::collections::VecDeque;

/// A service's Auto Scaling group as configured, starting at the service's `replicas`; model
/// validation calls this too. The group's `DesiredCapacity`, when given, must agree with
/// `replicas`: the group starts at one size, and silently preferring one would hide the other.
pub fn asg_controller(aws: &AwsAutoscalingCfg, replicas: u32) -> Result<AsgController, String> {
    let mut group = AsgGroupConfig::from_value(&aws.group, "group")?;
    if aws.group.get("DesiredCapacity").is_some() && group.desired_capacity != replicas {
        return Err(format!(
            "the group's DesiredCapacity ({}) differs from the service's replicas ({replicas}); \
             the group starts at one size: make them equal, or drop DesiredCapacity to start at replicas",
            group.desired_capacity
        ));
    }
    group.desired_capacity = replicas;
    let set = aws
        .policies
        .get(&aws.policy_set)
        .ok_or_else(|| format!("the policies have no entry {:?}", aws.policy_set))?;
    let set = ServicePolicies::from_value(set, &aws.policy_set)?;
    let params = AsgSimParams {
        boot_secs: ns_to_secs(aws.boot.0),
        termination_secs: 0.0,
    };
    AsgController::new(&group, &set.policies, params, 0.0)
}

/// A database's read-replica policy as configured; model validation calls this too, so a
/// configuration that loads always builds.
pub fn replica_policy(d: &DatabaseCfg, r: &ReplicaAutoscalingCfg) -> Result<ReplicaPolicy, String> {
    let set = r
        .policies
        .get(&r.policy_set)
        .ok_or_else(|| format!("the policies have no entry {:?}", r.policy_set))?;
    let set = ServicePolicies::from_value(set, &r.policy_set)?;
    let cfg = set
        .read_replicas
        .ok_or_else(|| format!("{:?} has no readReplicas policy", r.policy_set))?;
    let params = ReplicaParams {
        initial_replicas: d.read_replicas,
        min_replicas: r.min.max(1),
        max_replicas: r.max,
        provisioning_delay_minutes: ns_to_secs(r.provisioning.0) / 60.0,
        ..ReplicaParams::default()
    };
    ReplicaPolicy::new(&cfg, params, 0.0)
}

/// One scale decision that changed a deployment, for `scale_events.csv`.
#[derive(Clone, Debug)]
pub struct ScaleEvent {
    pub t: Nanos,
    pub service: String,
    pub from: u32,
    pub to: u32,
    pub driving_metric: String,
    pub limited_by: String,
    pub proposals: String,
}

/// One metrics scrape of a counter pair: cumulative CPU (core-ns) and completed requests.
#[derive(Clone, Copy, Default)]
struct Scrape {
    t: Nanos,
    cpu_area: f64,
    completed: u64,
}

/// The last two scrapes of a pod (metrics-server's two points) and its gauges at the last one.
#[derive(Clone, Copy, Default)]
struct PodMetrics {
    prev: Option<Scrape>,
    last: Option<Scrape>,
    memory: f64,
    inflight: f64,
    waiters: f64,
}

/// A rate between two scrapes: (cores, requests/s, window s, timestamp s).
fn rates(prev: Option<Scrape>, last: Option<Scrape>) -> Option<(f64, f64, f64, f64)> {
    let (p, l) = (prev?, last?);
    let w = (l.t - p.t) as f64;
    if w <= 0.0 {
        return None;
    }
    Some((
        (l.cpu_area - p.cpu_area) / w,
        (l.completed - p.completed) as f64 / (w / 1e9),
        w / 1e9,
        ns_to_secs(l.t),
    ))
}

impl PodMetrics {
    /// Once two scrapes exist: a new pod has no metrics for one resolution.
    fn rates(&self) -> Option<(f64, f64, f64, f64)> {
        rates(self.prev, self.last)
    }

    /// A per-pod signal, as scraped.
    fn read(&self, s: Signal) -> Option<f64> {
        let (cpu, rps, _, _) = self.rates()?;
        Some(match s {
            Signal::RequestsPerSecond => rps,
            Signal::Cpu => cpu,
            Signal::Memory => self.memory,
            Signal::Inflight => self.inflight,
            Signal::PoolWaiters => self.waiters,
            _ => return None,
        })
    }
}

/// A service as a whole (Object and External metrics on it): counters over every pod it has
/// had, gauges summed over its running pods.
#[derive(Clone, Copy, Default)]
struct ServiceMetrics {
    prev: Option<Scrape>,
    last: Option<Scrape>,
    memory: f64,
    inflight: f64,
    waiters: f64,
}

/// Queue and database gauges at the last scrape.
#[derive(Clone, Default)]
struct ComponentGauges {
    scraped: bool,
    /// Per queue: (waiting jobs, oldest job's age in s).
    queues: Vec<(f64, f64)>,
    /// Per database: (replica lag s, pool waiters).
    databases: Vec<(f64, f64)>,
}

struct Hpa {
    service: u32,
    ctl: HpaController,
    reads: Vec<MetricRead>,
    /// True for Utilization targets (recorded as the controller's integer percent).
    utilization: Vec<bool>,
    desired: u32,
    /// At the last sync, per metric: the value the controller used (see `record`).
    seen: Vec<f64>,
    /// At the last sync: ready pods with metrics, and the age of the newest scrape (s).
    counted: f64,
    age_s: f64,
    /// When the last sync ran (s): the time the recorded values belong to.
    sync_s: f64,
}

/// An EC2 Auto Scaling group driving a service's replica count.
struct Asg {
    service: u32,
    ctl: AsgController,
    /// Every tick, for CloudWatch windows: the time, per pod of the service (by pod id) its
    /// ∫ busy cores and ∫ ready cores so far, and the requests the service has completed.
    history: VecDeque<AsgSnapshot>,
    /// Per pod id: ∫ ready cores so far (core-ns), advanced at every tick.
    ready_area: Vec<f64>,
    keep_s: f64,
}

/// One tick's counters for an Auto Scaling group's service.
struct AsgSnapshot {
    t: f64,
    /// (pod id, ∫ busy cores, ∫ ready cores), sorted by pod id.
    pods: Vec<(u32, f64, f64)>,
    completed: u64,
}

impl AsgSnapshot {
    fn pod(&self, pod: u32) -> (f64, f64) {
        match self.pods.binary_search_by_key(&pod, |p| p.0) {
            Ok(k) => (self.pods[k].1, self.pods[k].2),
            Err(_) => (0.0, 0.0),
        }
    }
}

/// The group's CPUUtilization between two snapshots, in percent: busy over ready cores of
/// `pods` (the contributing instances' pods) only; None when they had no ready cores.
fn group_cpu_utilization(
    a: &AsgSnapshot,
    b: &AsgSnapshot,
    pods: impl Iterator<Item = u32>,
) -> Option<f64> {
    let (mut busy, mut cap) = (0.0, 0.0);
    for pod in pods {
        let ((b0, c0), (b1, c1)) = (a.pod(pod), b.pod(pod));
        busy += b1 - b0;
        cap += c1 - c0;
    }
    (cap > 0.0).then(|| 100.0 * busy / cap)
}

/// CloudWatch alarms are evaluated every minute (10 s for short periods): tick at the finer grain.
const ASG_TICK: Nanos = 10 * SEC;

/// Read replicas added and removed on connection pressure.
struct ReplicaScaler {
    db: u32,
    policy: ReplicaPolicy,
}

struct ClusterAutoscaler {
    scan: Nanos,
    unneeded: Nanos,
    delay_after_add: Nanos,
    last_scale_up: Option<Nanos>,
}

pub struct Autoscaling {
    hpas: Vec<Hpa>,
    asgs: Vec<Asg>,
    replicas: Vec<ReplicaScaler>,
    pods: Vec<PodMetrics>,
    services: Vec<ServiceMetrics>,
    gauges: ComponentGauges,
    resolution: Nanos,
    /// First scrape, relative to the first HPA sync at 0 (`cluster.metrics_phase`, else random).
    phase: Nanos,
    last_scrape: Option<Nanos>,
    sync: Nanos,
    ca: Option<ClusterAutoscaler>,
    pub events: Vec<ScaleEvent>,
    service_names: Vec<String>,
    shadows: Vec<Shadow>,
}

/// The metrics-server scrape offset for this replication: `cluster.metrics_phase` (modulo the
/// resolution), else uniform over one resolution from its own stream, so the age of the metrics
/// each sync reads varies between replications as it does between clusters.
pub fn scrape_phase(m: &ModelFile, seed: u64, replication: u64) -> Nanos {
    let r = m.cluster.metrics_resolution.0.max(1);
    match m.cluster.metrics_phase {
        Some(p) => p.0 % r,
        None => stream(seed, replication, "metrics:phase").gen_range(0..r),
    }
}

/// Phase Running: the containers have started (after the image pull), until the pod is gone.
fn is_running(state: PodState, running_at: Nanos, now: Nanos) -> bool {
    match state {
        PodState::Pending | PodState::Gone => false,
        PodState::Starting => now >= running_at,
        PodState::Ready | PodState::Draining => true,
    }
}

/// What the sync saw, for the time series (and `surge hpa replay`): over the ready pods with
/// metrics (not being deleted), a Utilization metric's integer percent of requests and any
/// other pod metric's average (integer milli-units, as the controller averages); an Object or
/// External metric's value. NaN where the controller had nothing.
fn record(hpa: &mut Hpa, pods: &[PodSample], values: &[Option<f64>]) {
    let counted: Vec<&PodSample> = pods
        .iter()
        .filter(|p| p.ready && !p.deleting && !p.phase_pending && p.cpu.is_some())
        .collect();
    hpa.counted = counted.len() as f64;
    let specs = hpa.ctl.spec().effective_metrics();
    for (k, read) in hpa.reads.iter().enumerate() {
        let milli_avg = |v: &dyn Fn(&PodSample) -> Option<f64>| -> f64 {
            let ms: Vec<i64> = counted.iter().filter_map(|p| v(p).map(to_milli)).collect();
            if ms.is_empty() {
                return f64::NAN;
            }
            (ms.iter().map(|&m| i128::from(m)).sum::<i128>() / ms.len() as i128) as f64 / 1000.0
        };
        hpa.seen[k] = match read {
            MetricRead::Resource => {
                let memory = matches!(&specs[k], MetricSpec::Resource { resource } if resource.name == "memory");
                let usage = |p: &PodSample| {
                    if memory {
                        p.memory
                    } else {
                        p.cpu.map(|c| c.value)
                    }
                };
                if hpa.utilization[k] {
                    let request = |p: &PodSample| {
                        if memory {
                            p.memory_request
                        } else {
                            p.cpu_request
                        }
                    };
                    let (mut u, mut r) = (0i128, 0i128);
                    for p in &counted {
                        if let (Some(x), Some(q)) = (usage(p), request(p)) {
                            u += i128::from(to_milli(x));
                            r += i128::from(to_milli(q));
                        }
                    }
                    if r > 0 {
                        (u * 100 / r) as f64
                    } else {
                        f64::NAN
                    }
                } else {
                    milli_avg(&usage)
                }
            }
            MetricRead::PerPod(_) => {
                milli_avg(&|p: &PodSample| p.pod_metrics.get(k).copied().flatten())
            }
            MetricRead::Value(_) => values
                .get(k)
                .copied()
                .flatten()
                .map_or(f64::NAN, |v| to_milli(v) as f64 / 1000.0),
            MetricRead::Unsupported => f64::NAN,
        };
    }
}

/// Whether a Resource metric's target is a utilization (percent of requests) rather than an
/// average value, as the controller decides it (`computeStatusForResourceMetric`: `averageValue`
/// wins, else `averageUtilization`), whatever `type` says. The simulator's records and
/// `surge hpa replay`'s reading of a trace column both follow this one rule.
pub fn reads_utilization(target: &MetricTarget) -> bool {
    target.average_value.is_none() && target.average_utilization.is_some()
}

/// What the user should know before a run: HPAs whose utilization metric cannot be computed
/// because the pod declares no request for the resource. Kubernetes fails such a metric
/// ("missing request for cpu"), so that HPA never scales on it; surge does the same.
pub fn notes(m: &ModelFile) -> Vec<String> {
    let mut out = Vec::new();
    for (sname, s) in &m.services {
        let Some(AutoscalerRef::Inline(h)) = &s.autoscaler else {
            continue;
        };
        for x in h.spec.effective_metrics() {
            let MetricSpec::Resource { resource } = x else {
                continue;
            };
            let missing = match resource.name.as_str() {
                "cpu" => s.pod.cpu_request.is_none_or(|q| q.0 <= 0.0),
                "memory" => s.pod.memory_request.is_none_or(|q| q.0 <= 0.0),
                _ => false,
            };
            if missing && reads_utilization(&resource.target) {
                out.push(format!(
                    "services.{sname}.pod.{0}_request is not set: as in Kubernetes (\"missing \
                     request for {0}\"), the HPA cannot compute {0} utilization and never scales \
                     on it; set pod.{0}_request",
                    resource.name
                ));
            }
        }
    }
    out
}

/// One HPA per service with an inline `autoscaler`, in service order.
fn build_hpas(m: &ModelFile, sys: &System) -> Result<Vec<Hpa>, (String, String)> {
    let mut hpas = Vec::new();
    for (si, (sname, s)) in m.services.iter().enumerate() {
        let Some(AutoscalerRef::Inline(h)) = &s.autoscaler else {
            continue;
        };
        let opts = ControllerOptions {
            sync_period_s: ns_to_secs(m.cluster.hpa_sync_period.0),
            ..ControllerOptions::default()
        };
        let ctl = HpaController::new(&h.spec, 0.0, opts);
        let reads = signals::resolve(m, sname, h)
            .map_err(|e| (format!("services.{sname}.autoscaler"), e))?;
        let utilization = h
            .spec
            .effective_metrics()
            .iter()
            .map(|x| matches!(x, MetricSpec::Resource { resource } if reads_utilization(&resource.target)))
            .collect();
        hpas.push(Hpa {
            service: si as u32,
            desired: sys.replicas(si as u32),
            seen: vec![f64::NAN; reads.len()],
            counted: f64::NAN,
            age_s: f64::NAN,
            sync_s: f64::NAN,
            ctl,
            reads,
            utilization,
        });
    }
    Ok(hpas)
}

/// Another configuration of the same HPAs, followed beside the real ones: fed every sync's
/// input, it stays `same` while it decides exactly as they do. Until then, the run it would
/// have driven is this one, event for event (`sweep::shared` reuses runs on that ground).
struct Shadow {
    ctls: Vec<HpaController>,
    same: bool,
}

/// Whether two syncs' decisions leave the run identical: the same replica count. (The reasons
/// a scale event records, its proposals and limit, may differ: a policy or a bound often caps
/// different proposals at the same count.)
fn same_decision(a: &Decision, b: &Decision) -> bool {
    a.desired == b.desired
}

impl Autoscaling {
    /// The controllers of a validated model; an error (field, message) only if a model that
    /// skipped validation reaches here.
    pub fn build(
        m: &ModelFile,
        sys: &System,
        seed: u64,
        replication: u64,
    ) -> Result<Self, (String, String)> {
        let hpas = build_hpas(m, sys)?;
        let mut asgs = Vec::new();
        for (si, (sname, s)) in m.services.iter().enumerate() {
            let Some(aws) = &s.aws_autoscaling else {
                continue;
            };
            let ctl = asg_controller(aws, s.replicas)
                .map_err(|e| (format!("services.{sname}.aws_autoscaling"), e))?;
            asgs.push(Asg {
                service: si as u32,
                ctl,
                history: VecDeque::new(),
                ready_area: Vec::new(),
                keep_s: 7200.0, // covers period × (evaluationPeriods + 2) for any sane alarm
            });
        }
        let mut replicas = Vec::new();
        for (di, (dname, d)) in m.databases.iter().enumerate() {
            let Some(r) = &d.replica_autoscaling else {
                continue;
            };
            let policy = replica_policy(d, r)
                .map_err(|e| (format!("databases.{dname}.replica_autoscaling"), e))?;
            replicas.push(ReplicaScaler {
                db: di as u32,
                policy,
            });
        }
        Ok(Autoscaling {
            hpas,
            asgs,
            replicas,
            pods: Vec::new(),
            services: vec![ServiceMetrics::default(); m.services.len()],
            gauges: ComponentGauges::default(),
            resolution: m.cluster.metrics_resolution.0,
            phase: scrape_phase(m, seed, replication),
            last_scrape: None,
            sync: m.cluster.hpa_sync_period.0,
            ca: m.cluster.nodes.as_ref().map(|n| ClusterAutoscaler {
                scan: n.scan_interval.0,
                unneeded: n.scale_down_unneeded.0,
                delay_after_add: n.scale_down_delay_after_add.0,
                last_scale_up: None,
            }),
            events: Vec::new(),
            service_names: sys.services.iter().map(|s| s.name.clone()).collect(),
            shadows: Vec::new(),
        })
    }

    /// Follow `alt`, a model that differs from this run's only in its HPA specs (the caller
    /// checks that). HPAs that read other metrics, or read them differently, cannot share the
    /// scrapes this run feeds its own, so such an `alt` is never `same`.
    pub fn follow(&mut self, alt: &ModelFile, sys: &System) {
        let fits = |h: &[Hpa]| {
            h.len() == self.hpas.len()
                && h.iter().zip(&self.hpas).all(|(a, b)| {
                    a.service == b.service
                        && a.reads == b.reads
                        && a.utilization == b.utilization
                        && a.ctl.metric_labels() == b.ctl.metric_labels()
                })
        };
        let shadow = match build_hpas(alt, sys) {
            Ok(h) if fits(&h) => Shadow {
                ctls: h.into_iter().map(|h| h.ctl).collect(),
                same: true,
            },
            _ => Shadow {
                ctls: Vec::new(),
                same: false,
            },
        };
        self.shadows.push(shadow);
    }

    /// Per [`Self::follow`]ed model: whether its HPAs decided as this run's at every sync.
    pub fn followed_same(&self) -> Vec<bool> {
        self.shadows.iter().map(|s| s.same).collect()
    }

    pub fn is_active(&self) -> bool {
        !self.hpas.is_empty() || !self.asgs.is_empty() || self.ca.is_some()
    }

    pub fn schedule_first(&self, q: &mut EventQueue<Event>) {
        if !self.hpas.is_empty() {
            // Scheduled before the syncs: with phase 0 a scrape and a sync at the same instant
            // run scrape first (FIFO ties), so the sync reads metrics of age 0.
            q.schedule_at(self.phase, Event::MetricsScrape);
            for i in 0..self.hpas.len() {
                q.schedule_at(0, Event::HpaSync { hpa: i as u16 });
            }
        }
        if let Some(ca) = &self.ca {
            q.schedule_at(ca.scan, Event::ClusterScan);
        }
        for i in 0..self.asgs.len() {
            q.schedule_at(0, Event::AsgTick { asg: i as u16 });
        }
        for i in 0..self.replicas.len() {
            q.schedule_at(0, Event::ReplicaTick { db: i as u16 });
        }
    }

    pub fn handle(&mut self, ev: Event, q: &mut EventQueue<Event>, sys: &mut System) {
        match ev {
            Event::MetricsScrape => {
                self.scrape(sys, q.now());
                q.schedule_in(self.resolution, Event::MetricsScrape);
            }
            Event::HpaSync { hpa } => {
                self.sync_hpa(hpa as usize, sys, q);
                q.schedule_in(self.sync, Event::HpaSync { hpa });
            }
            Event::ClusterScan => {
                self.cluster_scan(sys, q);
                let scan = self.ca.as_ref().map(|c| c.scan).unwrap_or(u64::MAX / 2);
                q.schedule_in(scan, Event::ClusterScan);
            }
            Event::AsgTick { asg } => {
                self.tick_asg(asg as usize, sys, q);
                q.schedule_in(ASG_TICK, Event::AsgTick { asg });
            }
            Event::ReplicaTick { db } => {
                self.tick_replicas(db as usize, sys, q.now());
                q.schedule_in(ASG_TICK, Event::ReplicaTick { db });
            }
            _ => unreachable!("not a controller event: {ev:?}"),
        }
    }

    /// metrics-server (and the custom-metrics pipeline, at the same resolution): a new point for
    /// every running pod and component. A pod still pulling its image (phase Pending) has none.
    fn scrape(&mut self, sys: &mut System, now: Nanos) {
        self.pods.resize(sys.pods.len(), PodMetrics::default());
        let mut totals = vec![ServiceMetrics::default(); self.services.len()];
        let mut area = vec![0.0f64; self.services.len()];
        let mut done = vec![0u64; self.services.len()];
        for i in 0..sys.pods.len() {
            let p = &sys.pods[i];
            let si = p.service as usize;
            done[si] += p.completed;
            let (st, running_at) = (p.state, p.running_at);
            area[si] += sys.pod_cpu_area(i as u32, now);
            if !is_running(st, running_at, now) {
                self.pods[i] = PodMetrics::default();
                continue;
            }
            let s = Scrape {
                t: now,
                cpu_area: sys.pod_cpu_area(i as u32, now),
                completed: sys.pods[i].completed,
            };
            let pm = &mut self.pods[i];
            pm.prev = pm.last;
            pm.last = Some(s);
            pm.memory = sys.pod_memory(i as u32);
            pm.inflight = f64::from(sys.pods[i].inflight);
            pm.waiters = sys.pod_pool_waiters(i as u32) as f64;
            let t = &mut totals[si];
            t.memory += pm.memory;
            t.inflight += pm.inflight;
            t.waiters += pm.waiters;
        }
        for (si, sm) in self.services.iter_mut().enumerate() {
            sm.prev = sm.last;
            sm.last = Some(Scrape {
                t: now,
                cpu_area: area[si],
                completed: done[si],
            });
            sm.memory = totals[si].memory;
            sm.inflight = totals[si].inflight;
            sm.waiters = totals[si].waiters;
        }
        let g = &mut self.gauges;
        g.scraped = true;
        g.queues.clear();
        for qi in 0..sys.queue_count() {
            let (len, age) = sys.queue_gauges(qi, now);
            g.queues.push((len as f64, ns_to_secs(age)));
        }
        g.databases.clear();
        for di in 0..sys.db_count() {
            g.databases.push((
                ns_to_secs(sys.db_replica_lag(di, now)),
                sys.db_pool_waiters(di) as f64,
            ));
        }
        self.last_scrape = Some(now);
    }

    /// A component-level signal at the last scrape (Object and External metrics).
    fn component_value(&self, t: &Term) -> Option<f64> {
        match t.component {
            Component::Service(si) => {
                let sm = self.services.get(si as usize)?;
                let (cpu, rps, _, _) = rates(sm.prev, sm.last)?;
                Some(match t.signal {
                    Signal::RequestsPerSecond => rps,
                    Signal::Cpu => cpu,
                    Signal::Memory => sm.memory,
                    Signal::Inflight => sm.inflight,
                    Signal::PoolWaiters => sm.waiters,
                    _ => return None,
                })
            }
            Component::Queue(qi) => {
                let &(len, age) = self.gauges.queues.get(qi as usize)?;
                match t.signal {
                    Signal::QueueLength => Some(len),
                    Signal::QueueOldestAge => Some(age),
                    _ => None,
                }
            }
            Component::Database(di) => {
                let &(lag, waiters) = self.gauges.databases.get(di as usize)?;
                match t.signal {
                    Signal::ReplicaLag => Some(lag),
                    Signal::PoolWaiters => Some(waiters),
                    _ => None,
                }
            }
        }
    }

    /// What the HPA controller sees of a service's pods at `now`, and of each metric's source.
    pub fn hpa_input(
        &self,
        h: usize,
        sys: &System,
        now: Nanos,
    ) -> (Vec<PodSample>, Vec<Option<f64>>, u32) {
        let hpa = &self.hpas[h];
        let service = hpa.service;
        let svc = &sys.services[service as usize];
        let mut samples = Vec::new();
        let mut existing = 0u32;
        for (i, p) in sys.pods.iter().enumerate() {
            if p.service != service || p.state == PodState::Gone {
                continue;
            }
            if p.state != PodState::Draining {
                existing += 1;
            }
            let pm = self.pods.get(i).copied().unwrap_or_default();
            let mut s = PodSample {
                // Waiting for a node, or on one pulling its image: phase Pending.
                phase_pending: !is_running(p.state, p.running_at, now)
                    && p.state != PodState::Draining,
                deleting: p.state == PodState::Draining,
                ready: p.state == PodState::Ready,
                start_time_s: ns_to_secs(p.started_at),
                ready_transition_s: ns_to_secs(p.ready_transition),
                // No request, no utilization: Kubernetes fails the metric, as for memory.
                cpu_request: svc.cpu_request_set.then_some(svc.cpu_request),
                memory_request: (svc.memory_request > 0.0).then_some(svc.memory_request),
                ..PodSample::default()
            };
            if let Some((cpu, _, window, ts)) = pm.rates() {
                s.cpu = Some(CpuSample {
                    value: cpu,
                    timestamp_s: ts,
                    window_s: window,
                });
                s.memory = Some(pm.memory);
                s.pod_metrics = hpa
                    .reads
                    .iter()
                    .map(|r| match r {
                        MetricRead::PerPod(e) => e.eval(|t| pm.read(t.signal)),
                        _ => None,
                    })
                    .collect();
            }
            samples.push(s);
        }
        let values = hpa
            .reads
            .iter()
            .map(|r| match r {
                MetricRead::Value(e) => e.eval(|t| self.component_value(t)),
                _ => None,
            })
            .collect();
        (samples, values, existing)
    }

    fn sync_hpa(&mut self, h: usize, sys: &mut System, q: &mut EventQueue<Event>) {
        let now = q.now();
        let service = self.hpas[h].service;
        let (samples, metric_values, existing) = self.hpa_input(h, sys, now);
        let age_s = self.last_scrape.map_or(f64::NAN, |t| ns_to_secs(now - t));
        let hpa = &mut self.hpas[h];
        record(hpa, &samples, &metric_values);
        hpa.age_s = age_s;
        hpa.sync_s = ns_to_secs(now);
        let current = sys.replicas(service);
        let input = HpaInput {
            now_s: ns_to_secs(now),
            spec_replicas: current,
            // The scale subresource's status.replicas: pods that exist and are not being deleted.
            status_replicas: existing,
            pods: &samples,
            metric_values: &metric_values,
        };
        let decision = hpa.ctl.reconcile(&input);
        for s in self.shadows.iter_mut().filter(|s| s.same) {
            s.same = same_decision(&decision, &s.ctls[h].reconcile(&input));
        }
        let hpa = &mut self.hpas[h];
        hpa.desired = decision.desired;
        if decision.desired != current {
            sys.scale_to(service, decision.desired, q);
            self.events.push(ScaleEvent {
                t: now,
                service: self.service_names[service as usize].clone(),
                from: current,
                to: decision.desired,
                driving_metric: decision.driving_metric.unwrap_or_default(),
                limited_by: decision.limited_by.unwrap_or_default(),
                proposals: decision
                    .proposals
                    .iter()
                    .map(|(m, p)| match p {
                        Some(p) => format!("{m}={p}"),
                        None => format!("{m}=unavailable"),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
    }

    fn tick_asg(&mut self, a: usize, sys: &mut System, q: &mut EventQueue<Event>) {
        let now = q.now();
        let now_s = ns_to_secs(now);
        let asg = &mut self.asgs[a];
        let service = asg.service;
        let cores = sys.services[service as usize].cores;
        asg.ready_area.resize(sys.pods.len(), 0.0);
        let mut snap = AsgSnapshot {
            t: now_s,
            pods: Vec::new(),
            completed: 0,
        };
        // The service's live pods, oldest first: the group's instances in launch order.
        let mut live: Vec<u32> = Vec::new();
        for i in 0..sys.pods.len() as u32 {
            let p = &sys.pods[i as usize];
            if p.service != service {
                continue;
            }
            // Requests completed by pods since gone still count (a load balancer's counter).
            snap.completed += p.completed;
            if p.state == PodState::Gone {
                continue;
            }
            if p.is_live() {
                live.push(i);
            }
            // ∫ ready cores advances by the pod's ready cores over the last tick.
            if p.state == PodState::Ready {
                asg.ready_area[i as usize] += cores * ns_to_secs(ASG_TICK) * 1e9;
            }
            let busy = sys.pod_cpu_area(i, now);
            snap.pods.push((i, busy, asg.ready_area[i as usize]));
        }
        live.sort_by_key(|&i| (sys.pods[i as usize].created_at, i));
        asg.history.push_back(snap);
        while asg
            .history
            .front()
            .is_some_and(|h| h.t < now_s - asg.keep_s)
        {
            asg.history.pop_front();
        }
        // Instances are the service's pods: the group's k-th instance not terminating (in
        // launch order) is the k-th live pod (in creation order). Both scale in newest and
        // not-yet-ready first, so the pairing holds as they go.
        let mut ids: Vec<u64> = asg
            .ctl
            .instances()
            .iter()
            .filter(|i| i.terminate_requested_at.is_none())
            .map(|i| i.id)
            .collect();
        ids.sort_unstable();
        let pod_of: Vec<(u64, u32)> = ids.into_iter().zip(live).collect();
        let hist = &asg.history;
        let at = |t: f64| hist.iter().rev().find(|h| h.t <= t + 1e-9);
        // CPUUtilization is the group's aggregated instance metric: AWS leaves warming
        // instances out of it, so it covers only the contributing (InService, warmed-up)
        // instances' pods. RequestCount is the load balancer's count over every target.
        let metric = |mq: &MetricQuery| -> Option<f64> {
            let (a, b) = (at(mq.end - mq.period)?, at(mq.end)?);
            match mq.name {
                "CPUUtilization" => {
                    let pods = mq
                        .contributing_instances
                        .iter()
                        .filter_map(|id| pod_of.iter().find(|x| x.0 == *id).map(|&(_, pod)| pod));
                    group_cpu_utilization(a, b, pods)
                }
                "RequestCount" => Some(b.completed.saturating_sub(a.completed) as f64),
                _ => None,
            }
        };
        let from = sys.replicas(service);
        let events = asg.ctl.tick_with(now_s, &metric);
        let to = asg.ctl.desired();
        if to != from {
            sys.scale_to(service, to, q);
            let reason = events
                .last()
                .map(|e| e.reason.clone())
                .unwrap_or_else(|| "group DesiredCapacity".into());
            self.events.push(ScaleEvent {
                t: now,
                service: self.service_names[service as usize].clone(),
                from,
                to,
                driving_metric: "cloudwatch".into(),
                limited_by: reason,
                proposals: String::new(),
            });
        }
    }

    fn tick_replicas(&mut self, i: usize, sys: &mut System, now: Nanos) {
        let r = &mut self.replicas[i];
        let pct = sys.db_connection_pct(r.db);
        // The alarm's period aggregate is taken as the value at the period's end.
        let metric = |name: &str, _period: f64| (name == "DatabaseConnections").then_some(pct);
        let events = r.policy.tick(ns_to_secs(now), &metric);
        let to = r.policy.replicas();
        sys.set_read_replicas(r.db, to);
        let name = format!("database:{}", sys.db_name(r.db));
        for e in events {
            self.events.push(ScaleEvent {
                t: now,
                service: name.clone(),
                from: e.from,
                to: e.to,
                driving_metric: "DatabaseConnections".into(),
                limited_by: e.reason,
                proposals: String::new(),
            });
        }
    }

    /// Cluster Autoscaler: provision nodes for pods that do not fit; remove nodes empty for
    /// `scale_down_unneeded`, none within `scale_down_delay_after_add` of a scale-up (only
    /// empty nodes are removed: a simplification of its 50 % rule).
    fn cluster_scan(&mut self, sys: &mut System, q: &mut EventQueue<Event>) {
        let Some(ca) = &mut self.ca else {
            return;
        };
        let now = q.now();
        let Some(cfg) = sys.lifecycle.nodes_cfg.clone() else {
            return;
        };
        sys.place_pending(q);
        let pending = sys.lifecycle.pending.clone();
        if !pending.is_empty() {
            // First-fit the pending pods onto fresh nodes to size the scale-up.
            let mut bins: Vec<(f64, f64)> = Vec::new();
            for &p in &pending {
                let (c, m) = sys.pod_requests(p);
                match bins
                    .iter_mut()
                    .find(|b| b.0 + c <= cfg.cpu.0 && b.1 + m <= cfg.memory.0)
                {
                    Some(b) => {
                        b.0 += c;
                        b.1 += m;
                    }
                    None => bins.push((c, m)),
                }
            }
            let live = sys.lifecycle.ready_nodes() + sys.lifecycle.provisioning_nodes();
            let want = bins
                .len()
                .saturating_sub(sys.lifecycle.provisioning_nodes());
            let room = (cfg.max as usize).saturating_sub(live);
            for _ in 0..want.min(room) {
                sys.provision_node(q);
                ca.last_scale_up = Some(now);
            }
        }
        let cooling = ca
            .last_scale_up
            .is_some_and(|t| now < t.saturating_add(ca.delay_after_add));
        let mut ready = sys.lifecycle.ready_nodes();
        for n in sys.lifecycle.nodes.iter_mut() {
            if cooling || ready <= cfg.min as usize {
                break;
            }
            if n.state == NodeState::Ready
                && n.pods == 0
                && n.empty_since
                    .is_some_and(|t| now >= t.saturating_add(ca.unneeded))
            {
                n.state = NodeState::Removed;
                ready -= 1;
            }
        }
    }

    pub fn columns(&self, sys: &System) -> Vec<String> {
        let mut c = Vec::new();
        for h in &self.hpas {
            let name = &sys.services[h.service as usize].name;
            c.push(format!("{name}_replicas"));
            c.push(format!("{name}_desired"));
            for label in h.ctl.metric_labels() {
                c.push(format!("{name}_hpa_{}", label.replace('/', "_")));
            }
            c.push(format!("{name}_hpa_pods"));
            c.push(format!("{name}_hpa_metric_age_s"));
            c.push(format!("{name}_hpa_sync_s"));
        }
        for a in &self.asgs {
            let name = &sys.services[a.service as usize].name;
            c.push(format!("{name}_replicas"));
            c.push(format!("{name}_desired"));
        }
        for r in &self.replicas {
            c.push(format!("{}_read_replicas", sys.db_name(r.db)));
        }
        if self.ca.is_some() {
            c.push("nodes_ready".into());
            c.push("nodes_provisioning".into());
            c.push("pods_pending".into());
        }
        c
    }

    pub fn sample(&self, sys: &System, row: &mut Vec<f64>) {
        for h in &self.hpas {
            row.push(sys.replicas(h.service) as f64);
            row.push(h.desired as f64);
            row.extend_from_slice(&h.seen);
            row.push(h.counted);
            row.push(h.age_s);
            row.push(h.sync_s);
        }
        for a in &self.asgs {
            row.push(sys.replicas(a.service) as f64);
            row.push(a.ctl.desired() as f64);
        }
        for r in &self.replicas {
            row.push(r.policy.replicas() as f64);
        }
        if self.ca.is_some() {
            row.push(sys.lifecycle.ready_nodes() as f64);
            row.push(sys.lifecycle.provisioning_nodes() as f64);
            row.push(sys.lifecycle.pending.len() as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Warming instances are left out of the group's metrics (AWS; the reference, step
    /// scaling): a warming pod's idle cores do not pull the average down.
    #[test]
    fn group_cpu_covers_only_contributing_instances() {
        // Over 60 s of 1 ready core each: pod 0 busy 48 s (80 %), pod 1 (warming) 12 s (20 %).
        let s = |t: f64, k: f64| AsgSnapshot {
            t,
            pods: vec![(0, 48e9 * k, 60e9 * k), (1, 12e9 * k, 60e9 * k)],
            completed: 0,
        };
        let (a, b) = (s(0.0, 0.0), s(60.0, 1.0));
        let cpu = |pods: &[u32]| group_cpu_utilization(&a, &b, pods.iter().copied());
        assert_eq!(cpu(&[0]), Some(80.0));
        assert_eq!(cpu(&[0, 1]), Some(50.0));
        // No instance contributes: no data (INSUFFICIENT_DATA), not 0 %.
        assert_eq!(cpu(&[]), None);
        // A pod absent from the earlier snapshot (new since) counts from zero.
        let a = AsgSnapshot {
            t: 0.0,
            pods: vec![(0, 0.0, 0.0)],
            completed: 0,
        };
        assert_eq!(group_cpu_utilization(&a, &b, [1].into_iter()), Some(20.0));
    }
}
