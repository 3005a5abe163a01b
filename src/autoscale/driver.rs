//! Runs the controllers inside a simulation: the metrics-server pipeline that feeds them, one HPA
//! per autoscaled service, and the Cluster Autoscaler. Decisions come from the pure controllers
//! (`hpa.rs`); this module only observes the system and applies what they decide.

use super::asg::{AsgController, AsgSimParams, ReplicaParams, ReplicaPolicy};
use super::asg_config::{AsgGroupConfig, ServicePolicies};
use super::hpa::{ControllerOptions, CpuSample, HpaController, HpaInput, PodSample};
use super::hpa_config::{MetricSpec, MetricTargetType};
use crate::config::model::{
    AutoscalerRef, AwsAutoscalingCfg, DatabaseCfg, ModelFile, ReplicaAutoscalingCfg,
};
use crate::engine::{ns_to_secs, EventQueue, Nanos, SEC};
use crate::event::Event;
use crate::system::service::PodState;
use crate::system::{NodeState, System};
use std::collections::VecDeque;

/// A service's Auto Scaling group as configured; model validation calls this too.
pub fn asg_controller(aws: &AwsAutoscalingCfg) -> Result<AsgController, String> {
    let group = AsgGroupConfig::from_value(&aws.group, "group")?;
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

/// What metrics-server holds for a pod: its last two scrapes.
#[derive(Clone, Copy, Default)]
struct Scrape {
    t: Nanos,
    cpu_area: f64,
    completed: u64,
}

#[derive(Clone, Copy, Default)]
struct PodMetrics {
    prev: Option<Scrape>,
    last: Option<Scrape>,
    memory: f64,
}

impl PodMetrics {
    /// (cpu cores, window, timestamp, requests/s) once two scrapes exist: a new pod has no
    /// metrics for one resolution.
    fn rates(&self) -> Option<(f64, f64, f64, f64)> {
        let (p, l) = (self.prev?, self.last?);
        let w = (l.t - p.t) as f64;
        if w <= 0.0 {
            return None;
        }
        Some((
            (l.cpu_area - p.cpu_area) / w,
            w / 1e9,
            ns_to_secs(l.t),
            (l.completed - p.completed) as f64 / (w / 1e9),
        ))
    }
}

#[derive(Clone, Copy)]
enum Observed {
    CpuUtilization,
    CpuAverage,
    MemoryUtilization,
    MemoryAverage,
    PodRequestRate,
    PodInflight,
    ServiceRequestRate,
}

struct Hpa {
    service: u32,
    ctl: HpaController,
    observed: Vec<Observed>,
    desired: u32,
    seen: Vec<f64>,
}

/// An EC2 Auto Scaling group driving a service's replica count.
struct Asg {
    service: u32,
    ctl: AsgController,
    /// Every tick: (time, ∫ busy cores, ∫ ready cores, requests completed), for CloudWatch windows.
    history: VecDeque<(f64, f64, f64, u64)>,
    keep_s: f64,
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
    last_scale_up: Option<Nanos>,
}

pub struct Autoscaling {
    hpas: Vec<Hpa>,
    asgs: Vec<Asg>,
    replicas: Vec<ReplicaScaler>,
    pods: Vec<PodMetrics>,
    resolution: Nanos,
    sync: Nanos,
    ca: Option<ClusterAutoscaler>,
    pub events: Vec<ScaleEvent>,
    service_names: Vec<String>,
}

fn observed_for(m: &MetricSpec) -> Observed {
    match m {
        MetricSpec::Resource { resource } => {
            let util = resource.target.target_type == MetricTargetType::Utilization;
            match (resource.name.as_str(), util) {
                ("memory", true) => Observed::MemoryUtilization,
                ("memory", false) => Observed::MemoryAverage,
                (_, true) => Observed::CpuUtilization,
                (_, false) => Observed::CpuAverage,
            }
        }
        MetricSpec::Pods { pods } if pods.metric.name.contains("inflight") => Observed::PodInflight,
        MetricSpec::Pods { .. } => Observed::PodRequestRate,
        _ => Observed::ServiceRequestRate,
    }
}

impl Autoscaling {
    pub fn build(m: &ModelFile, sys: &System) -> Self {
        let mut hpas = Vec::new();
        for (si, s) in m.services.values().enumerate() {
            let Some(AutoscalerRef::Inline(h)) = &s.autoscaler else {
                continue;
            };
            let opts = ControllerOptions {
                sync_period_s: ns_to_secs(m.cluster.hpa_sync_period.0),
                ..ControllerOptions::default()
            };
            let ctl = HpaController::new(&h.spec, 0.0, opts);
            let observed = h
                .spec
                .effective_metrics()
                .iter()
                .map(observed_for)
                .collect();
            hpas.push(Hpa {
                service: si as u32,
                desired: sys.replicas(si as u32),
                seen: vec![f64::NAN; h.spec.effective_metrics().len()],
                ctl,
                observed,
            });
        }
        let mut asgs = Vec::new();
        for (si, s) in m.services.values().enumerate() {
            let Some(aws) = &s.aws_autoscaling else {
                continue;
            };
            let ctl = asg_controller(aws).expect("validated");
            asgs.push(Asg {
                service: si as u32,
                ctl,
                history: VecDeque::new(),
                keep_s: 7200.0, // covers period × (evaluationPeriods + 2) for any sane alarm
            });
        }
        let mut replicas = Vec::new();
        for (di, d) in m.databases.values().enumerate() {
            let Some(r) = &d.replica_autoscaling else {
                continue;
            };
            let policy = replica_policy(d, r).expect("validated");
            replicas.push(ReplicaScaler {
                db: di as u32,
                policy,
            });
        }
        Autoscaling {
            hpas,
            asgs,
            replicas,
            pods: Vec::new(),
            resolution: m.cluster.metrics_resolution.0,
            sync: m.cluster.hpa_sync_period.0,
            ca: m.cluster.nodes.as_ref().map(|n| ClusterAutoscaler {
                scan: n.scan_interval.0,
                unneeded: n.scale_down_unneeded.0,
                last_scale_up: None,
            }),
            events: Vec::new(),
            service_names: sys.services.iter().map(|s| s.name.clone()).collect(),
        }
    }

    pub fn is_active(&self) -> bool {
        !self.hpas.is_empty() || !self.asgs.is_empty() || self.ca.is_some()
    }

    pub fn schedule_first(&self, q: &mut EventQueue<Event>) {
        if !self.hpas.is_empty() {
            q.schedule_at(0, Event::MetricsScrape);
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

    fn scrape(&mut self, sys: &mut System, now: Nanos) {
        self.pods.resize(sys.pods.len(), PodMetrics::default());
        for i in 0..sys.pods.len() {
            let st = sys.pods[i].state;
            if matches!(st, PodState::Pending | PodState::Gone) {
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
        }
    }

    fn sync_hpa(&mut self, h: usize, sys: &mut System, q: &mut EventQueue<Event>) {
        let now = q.now();
        let service = self.hpas[h].service;
        let svc = &sys.services[service as usize];
        let observed = self.hpas[h].observed.clone();
        let mut samples = Vec::new();
        let mut sums = vec![(0.0f64, 0.0f64); observed.len()];
        for (i, p) in sys.pods.iter().enumerate() {
            if p.service != service || p.state == PodState::Gone {
                continue;
            }
            let pm = self.pods.get(i).copied().unwrap_or_default();
            let rates = pm.rates();
            let mut s = PodSample {
                phase_pending: p.state == PodState::Pending,
                deleting: p.state == PodState::Draining,
                ready: p.state == PodState::Ready,
                start_time_s: ns_to_secs(p.started_at),
                ready_transition_s: ns_to_secs(p.ready_transition),
                cpu_request: Some(svc.cpu_request),
                memory_request: (svc.memory_request > 0.0).then_some(svc.memory_request),
                ..PodSample::default()
            };
            if let Some((cpu, window, ts, rps)) = rates {
                s.cpu = Some(CpuSample {
                    value: cpu,
                    timestamp_s: ts,
                    window_s: window,
                });
                s.memory = Some(pm.memory);
                s.pod_metrics = observed
                    .iter()
                    .map(|o| match o {
                        Observed::PodRequestRate => Some(rps),
                        Observed::PodInflight => Some(p.inflight as f64),
                        _ => None,
                    })
                    .collect();
                if p.state != PodState::Draining {
                    for (k, o) in observed.iter().enumerate() {
                        let (v, d) = match o {
                            Observed::CpuUtilization => (cpu, svc.cpu_request),
                            Observed::CpuAverage => (cpu, 1.0),
                            Observed::MemoryUtilization => (pm.memory, svc.memory_request.max(1.0)),
                            Observed::MemoryAverage => (pm.memory, 1.0),
                            Observed::PodRequestRate | Observed::ServiceRequestRate => (rps, 1.0),
                            Observed::PodInflight => (p.inflight as f64, 1.0),
                        };
                        sums[k].0 += v;
                        sums[k].1 += d;
                    }
                }
            }
            samples.push(s);
        }
        let service_rate: f64 = samples
            .iter()
            .filter_map(|s| s.pod_metrics.iter().flatten().next().copied())
            .sum();
        let metric_values: Vec<Option<f64>> = observed
            .iter()
            .map(|o| matches!(o, Observed::ServiceRequestRate).then_some(service_rate))
            .collect();
        let hpa = &mut self.hpas[h];
        for (k, o) in observed.iter().enumerate() {
            let (v, d) = sums[k];
            hpa.seen[k] = match o {
                Observed::CpuUtilization | Observed::MemoryUtilization if d > 0.0 => 100.0 * v / d,
                _ if d > 0.0 => v / d,
                _ => f64::NAN,
            };
        }
        let current = sys.replicas(service);
        let decision = hpa.ctl.reconcile(&HpaInput {
            now_s: ns_to_secs(now),
            spec_replicas: current,
            status_replicas: current,
            pods: &samples,
            metric_values: &metric_values,
        });
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
        let (mut busy, mut cap, mut done) = (0.0, 0.0, 0u64);
        for i in 0..sys.pods.len() as u32 {
            let p = &sys.pods[i as usize];
            if p.service != service || p.state == PodState::Gone {
                continue;
            }
            done += p.completed;
            let ready = p.state == PodState::Ready;
            busy += sys.pod_cpu_area(i, now);
            if ready {
                cap += sys.services[service as usize].cores;
            }
        }
        // ∫ ready cores advances by the current count over the last tick.
        let cap_area =
            asg.history.back().map(|h| h.2).unwrap_or(0.0) + cap * ns_to_secs(ASG_TICK) * 1e9;
        asg.history.push_back((now_s, busy, cap_area, done));
        while asg
            .history
            .front()
            .is_some_and(|h| h.0 < now_s - asg.keep_s)
        {
            asg.history.pop_front();
        }
        let hist = &asg.history;
        let at = |t: f64| hist.iter().rev().find(|h| h.0 <= t + 1e-9).copied();
        let metric = |name: &str, period: f64| -> Option<f64> {
            let (a, b) = (at(now_s - period)?, at(now_s)?);
            match name {
                "CPUUtilization" => (b.2 > a.2).then(|| 100.0 * (b.1 - a.1) / (b.2 - a.2)),
                "RequestCount" => Some((b.3 - a.3) as f64),
                _ => None,
            }
        };
        let from = sys.replicas(service);
        let events = asg.ctl.tick(now_s, &metric);
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
    /// `scale_down_unneeded` (only empty nodes are removed: a simplification of its 50 % rule).
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
        let cooling = ca.last_scale_up.is_some_and(|t| now < t + ca.unneeded);
        let mut ready = sys.lifecycle.ready_nodes();
        for n in sys.lifecycle.nodes.iter_mut() {
            if cooling || ready <= cfg.min as usize {
                break;
            }
            if n.state == NodeState::Ready
                && n.pods == 0
                && n.empty_since.is_some_and(|t| now >= t + ca.unneeded)
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
