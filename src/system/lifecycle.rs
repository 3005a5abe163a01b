//! Pods coming and going: placement on nodes, start-up (image pull, container start, readiness
//! probe), scale-down that drains before it kills, and the node pool the Cluster Autoscaler grows.

use super::pool::Pool;
use super::replica::Side;
use super::service::{Pod, PodState};
use super::station::Station;
use super::System;
use crate::config::model::{ModelFile, NodesCfg, ProbeCfg};
use crate::dist::Dist;
use crate::engine::{secs_to_ns, stream, EventQueue, Nanos, Rng64, SEC};
use crate::event::Event;

const NONE: u32 = u32::MAX;

struct ServiceLifecycle {
    image_pull: Dist,
    container_start: Dist,
    app_start: Dist,
    probe: ProbeCfg,
    grace: Nanos,
    rng: Rng64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Provisioning,
    Ready,
    Removed,
}

pub struct Node {
    pub state: NodeState,
    pub cpu_used: f64,
    pub mem_used: f64,
    pub pods: u32,
    /// Since when the node has had no pods (Cluster Autoscaler scale-down).
    pub empty_since: Option<Nanos>,
}

/// Per-service start-up settings and the node pool.
pub struct Lifecycle {
    services: Vec<ServiceLifecycle>,
    pub nodes_cfg: Option<NodesCfg>,
    pub nodes: Vec<Node>,
    pub node_rng: Rng64,
    /// Pods waiting for a node, oldest first.
    pub pending: Vec<u32>,
}

impl Lifecycle {
    pub fn new(m: &ModelFile, seed: u64, replication: u64) -> Self {
        let services = m
            .services
            .iter()
            .map(|(name, s)| ServiceLifecycle {
                image_pull: s.lifecycle.image_pull.clone(),
                container_start: s.lifecycle.container_start.clone(),
                app_start: s.lifecycle.app_start.clone(),
                probe: s.lifecycle.readiness,
                grace: secs_to_ns(s.lifecycle.termination_grace_period_seconds),
                rng: stream(seed, replication, &format!("lifecycle:{name}")),
            })
            .collect();
        let nodes_cfg = m.cluster.nodes.clone();
        let nodes = nodes_cfg
            .as_ref()
            .map(|n| {
                (0..n.initial)
                    .map(|_| Node {
                        state: NodeState::Ready,
                        cpu_used: 0.0,
                        mem_used: 0.0,
                        pods: 0,
                        empty_since: Some(0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Lifecycle {
            services,
            nodes_cfg,
            nodes,
            node_rng: stream(seed, replication, "cluster:nodes"),
            pending: Vec::new(),
        }
    }

    pub fn ready_nodes(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.state == NodeState::Ready)
            .count()
    }

    pub fn provisioning_nodes(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.state == NodeState::Provisioning)
            .count()
    }
}

/// Times from placement until the containers run, and until the readiness probe first succeeds
/// `successThreshold` times.
fn startup_delay(l: &mut ServiceLifecycle) -> (Nanos, Nanos) {
    let started = l
        .image_pull
        .sample_ns(&mut l.rng)
        .saturating_add(l.container_start.sample_ns(&mut l.rng));
    let app_ready = started.saturating_add(l.app_start.sample_ns(&mut l.rng));
    let first = started.saturating_add(secs_to_ns(l.probe.initial_delay_seconds));
    let period = secs_to_ns(l.probe.period_seconds).max(1);
    // First probe at or after the app is ready, then successThreshold-1 more periods.
    let k = app_ready.saturating_sub(first).div_ceil(period);
    let more = u64::from(l.probe.success_threshold.max(1) - 1);
    // Saturating, and never past 2^62 ns (146 years): callers add it to the current time.
    (
        started.min(1 << 62),
        first
            .saturating_add(k.saturating_add(more).saturating_mul(period))
            .min(1 << 62),
    )
}

impl System {
    fn new_pod(&mut self, service: u32, now: Nanos, state: PodState) -> u32 {
        let cpu = self.services[service as usize].pod_station(&mut self.stations);
        let pool_base = self.pools.len() as u32;
        for (di, db) in self.databases.iter().enumerate() {
            for side in [Side::Primary, Side::Replicas]
                .into_iter()
                .take(db.sides() as usize)
            {
                let mut p = Pool::new(
                    di as u32,
                    db.pool_min,
                    db.pool_max,
                    db.acquire_timeout,
                    db.idle_timeout,
                );
                p.side_replicas = side == Side::Replicas;
                self.pools.push(p);
            }
        }
        self.pods.push(Pod {
            service,
            cpu,
            pool_base,
            inflight: 0,
            state,
            created_at: now,
            started_at: now,
            running_at: now,
            ready_transition: now,
            node: NONE,
            completed: 0,
            killed: false,
        });
        (self.pods.len() - 1) as u32
    }

    /// Open the pools' `min` connections as the pod comes up (node-postgres warms lazily, but a
    /// pod that has served traffic holds its minimum). Pods that never query a database hold none.
    fn warm_pools(&mut self, pod: u32) {
        let (base, service) = (
            self.pods[pod as usize].pool_base,
            self.pods[pod as usize].service,
        );
        let mut i = base as usize;
        for (di, db) in self.databases.iter_mut().enumerate() {
            for side in [Side::Primary, Side::Replicas]
                .into_iter()
                .take(db.sides() as usize)
            {
                if self.uses_db[service as usize][di] {
                    self.pools[i].warm(db.pool_min, db.conns(side));
                }
                i += 1;
            }
        }
    }

    /// A pod that exists before the run starts: placed and ready at time 0.
    pub(super) fn add_initial_pod(&mut self, service: u32) -> u32 {
        let id = self.new_pod(service, 0, PodState::Ready);
        if !self.place(id) {
            // The initial replicas do not fit the initial nodes: start them like any new pod.
            self.pods[id as usize].state = PodState::Pending;
            self.lifecycle.pending.push(id);
            return id;
        }
        self.warm_pools(id);
        self.services[service as usize].ready.push(id);
        id
    }

    /// Reserve room for the pod on the first node that fits (first-fit, as a simple scheduler).
    fn place(&mut self, pod: u32) -> bool {
        let Some(cfg) = &self.lifecycle.nodes_cfg else {
            return true;
        };
        let svc = &self.services[self.pods[pod as usize].service as usize];
        let (cpu, mem) = (svc.cpu_request, svc.memory_request);
        let (cap_cpu, cap_mem) = (cfg.cpu.0, cfg.memory.0);
        for (ni, n) in self.lifecycle.nodes.iter_mut().enumerate() {
            if n.state == NodeState::Ready
                && n.cpu_used + cpu <= cap_cpu + 1e-9
                && n.mem_used + mem <= cap_mem + 1e-9
            {
                n.cpu_used += cpu;
                n.mem_used += mem;
                n.pods += 1;
                n.empty_since = None;
                self.pods[pod as usize].node = ni as u32;
                return true;
            }
        }
        false
    }

    fn start_pod(&mut self, pod: u32, q: &mut EventQueue<Event>) {
        let now = q.now();
        let p = &mut self.pods[pod as usize];
        p.state = PodState::Starting;
        p.started_at = now;
        p.ready_transition = now;
        let l = &mut self.lifecycle.services[p.service as usize];
        let (running, d) = startup_delay(l);
        p.running_at = now + running;
        q.schedule_in(d, Event::PodReady { pod });
    }

    pub(super) fn pod_ready(&mut self, pod: u32, now: Nanos) {
        let p = &mut self.pods[pod as usize];
        if p.state != PodState::Starting {
            return; // deleted while starting
        }
        p.state = PodState::Ready;
        p.ready_transition = now;
        let service = p.service;
        self.warm_pools(pod);
        self.services[service as usize].ready.push(pod);
    }

    /// Live (not deleting) pods of a service: the deployment's replica count.
    pub fn replicas(&self, service: u32) -> u32 {
        self.pods
            .iter()
            .filter(|p| p.service == service && p.is_live())
            .count() as u32
    }

    /// Set a deployment's replica count. New pods go through placement and start-up; removed ones
    /// are unready pods first, then the newest, and drain before they go.
    pub fn scale_to(&mut self, service: u32, n: u32, q: &mut EventQueue<Event>) {
        let now = q.now();
        let live = self.replicas(service);
        if n > live {
            for _ in live..n {
                let id = self.new_pod(service, now, PodState::Pending);
                if self.place(id) {
                    self.start_pod(id, q);
                } else {
                    self.lifecycle.pending.push(id);
                }
            }
            return;
        }
        let mut victims: Vec<u32> = (0..self.pods.len() as u32)
            .filter(|&i| {
                let p = &self.pods[i as usize];
                p.service == service && p.is_live()
            })
            .collect();
        // Unready first, then newest first (the ReplicaSet controller's deletion order, simplified).
        victims.sort_by_key(|&i| {
            let p = &self.pods[i as usize];
            (
                p.state == PodState::Ready,
                std::cmp::Reverse(p.created_at),
                std::cmp::Reverse(i),
            )
        });
        for &v in victims.iter().take((live - n) as usize) {
            self.delete_pod(v, q);
        }
    }

    fn delete_pod(&mut self, pod: u32, q: &mut EventQueue<Event>) {
        let p = &mut self.pods[pod as usize];
        let was = p.state;
        p.state = PodState::Draining;
        let service = p.service as usize;
        self.services[service].ready.retain(|&x| x != pod);
        if was == PodState::Pending {
            self.lifecycle.pending.retain(|&x| x != pod);
        }
        if self.pods[pod as usize].inflight == 0 {
            self.pod_gone(pod, q.now());
        } else {
            let grace = self.lifecycle.services[service].grace;
            q.schedule_in(grace, Event::PodKill { pod });
        }
    }

    /// Grace period over: whatever is still in flight fails as `terminated` when it next moves.
    pub(super) fn pod_kill(&mut self, pod: u32) {
        let p = &mut self.pods[pod as usize];
        if p.state == PodState::Draining {
            p.killed = true;
        }
    }

    /// The pod is gone at `now`: its node's room is freed, and a node left with no pods is
    /// empty from `now` (the Cluster Autoscaler's unneeded time starts).
    pub(super) fn pod_gone(&mut self, pod: u32, now: Nanos) {
        let p = &mut self.pods[pod as usize];
        if p.state == PodState::Gone {
            return;
        }
        p.state = PodState::Gone;
        let (node, service, base) = (p.node, p.service, p.pool_base);
        let mut i = base as usize;
        for db in self.databases.iter_mut() {
            for side in [Side::Primary, Side::Replicas]
                .into_iter()
                .take(db.sides() as usize)
            {
                self.pools[i].close_all_idle(db.conns(side));
                i += 1;
            }
        }
        if node != NONE {
            let svc = &self.services[service as usize];
            let (cpu, mem) = (svc.cpu_request, svc.memory_request);
            let n = &mut self.lifecycle.nodes[node as usize];
            n.cpu_used -= cpu;
            n.mem_used -= mem;
            n.pods -= 1;
            if n.pods == 0 {
                n.empty_since = Some(now);
            }
        }
    }

    /// Place pods waiting for room, oldest first.
    pub fn place_pending(&mut self, q: &mut EventQueue<Event>) {
        let pending = std::mem::take(&mut self.lifecycle.pending);
        for pod in pending {
            if self.place(pod) {
                self.start_pod(pod, q);
            } else {
                self.lifecycle.pending.push(pod);
            }
        }
    }

    pub(super) fn node_ready(&mut self, node: u32, q: &mut EventQueue<Event>) {
        let n = &mut self.lifecycle.nodes[node as usize];
        if n.state != NodeState::Provisioning {
            return;
        }
        n.state = NodeState::Ready;
        n.empty_since = Some(q.now());
        self.place_pending(q);
    }

    /// Start provisioning one node; it accepts pods after the provisioning delay.
    pub fn provision_node(&mut self, q: &mut EventQueue<Event>) {
        let Some(cfg) = &self.lifecycle.nodes_cfg else {
            return;
        };
        let d = cfg.provisioning.sample_ns(&mut self.lifecycle.node_rng);
        self.lifecycle.nodes.push(Node {
            state: NodeState::Provisioning,
            cpu_used: 0.0,
            mem_used: 0.0,
            pods: 0,
            empty_since: None,
        });
        let node = (self.lifecycle.nodes.len() - 1) as u32;
        q.schedule_in(d.max(SEC / 1000), Event::NodeReady { node });
    }

    /// Requests a pending pod would need, for the Cluster Autoscaler's sizing.
    pub fn pod_requests(&self, pod: u32) -> (f64, f64) {
        let svc = &self.services[self.pods[pod as usize].service as usize];
        (svc.cpu_request, svc.memory_request)
    }

    /// CPU used by a pod so far (core-nanoseconds), for the metrics pipeline.
    pub fn pod_cpu_area(&mut self, pod: u32, now: Nanos) -> f64 {
        self.acct_at(self.pods[pod as usize].cpu, now).busy_area
    }

    /// Memory in use: the service's base and per-request cost, plus held WebSockets.
    pub fn pod_memory(&self, pod: u32) -> f64 {
        let p = &self.pods[pod as usize];
        let ws = match &self.ws {
            Some(w) if w.service == p.service => w.conns_on(pod) as f64 * w.per_connection,
            _ => 0.0,
        };
        self.services[p.service as usize].memory_in_use(p) + ws
    }

    /// Read replicas serving a database: new ones get their own instance; removed ones stop
    /// taking queries and finish what they have. Pods' replica-side pools must already exist.
    pub fn set_read_replicas(&mut self, db: u32, n: u32) {
        let d = &self.databases[db as usize];
        if d.replicas.is_empty() || n == 0 {
            return; // routing to replicas is fixed at build time by whether any exist
        }
        while (self.databases[db as usize].replicas.len() as u32) < n {
            let d = &self.databases[db as usize];
            let s = Station::new(d.fcfs, d.cores as f64, d.contention.as_ref());
            self.stations.push(s);
            let st = (self.stations.len() - 1) as u32;
            self.databases[db as usize].replicas.push(st);
        }
        let d = &mut self.databases[db as usize];
        d.replicas.truncate(n as usize);
        d.conns_replicas.max = d.max_connections * n;
        d.replication.set_replicas(n);
    }

    /// Connections open against a database as a percentage of all its instances' limits
    /// (CloudWatch's DatabaseConnections, relative to max_connections).
    pub fn db_connection_pct(&self, db: u32) -> f64 {
        let d = &self.databases[db as usize];
        let limit = d.conns_primary.max + d.conns_replicas.max;
        100.0 * d.open_connections() as f64 / limit.max(1) as f64
    }

    pub fn db_name(&self, db: u32) -> &str {
        &self.databases[db as usize].name
    }
}
