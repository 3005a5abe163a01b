//! The simulated system: services of pods behind load balancers, and the resources their
//! endpoints use. A request walks its endpoint's steps; each step hands it to one component
//! (a station, a pool, a provider) and comes back here when that component is done.

pub mod pool;
pub mod service;
pub mod station;

use crate::config::model::{Discipline, ModelFile, QueryKind, StepCfg};
use crate::dist::Dist;
use crate::engine::{stream, EventQueue, Nanos, Rng64};
use crate::event::{Event, ReqRef};
use pool::{Acquire, Pool};
use rand::Rng;
use service::{Pod, PodState, Service};
use station::Station;

/// Why a request failed. Together these make `http_req_failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The client gave up (k6 request timeout).
    Timeout,
    /// No pool connection within the acquire timeout.
    PoolTimeout,
    /// No ready pod, or the pod's in-flight limit was reached.
    Rejected,
    /// The external provider returned an error.
    External,
    /// The database refused a new connection (max_connections reached).
    DbConnections,
}

impl Cause {
    pub const ALL: [Cause; 5] = [
        Cause::Timeout,
        Cause::PoolTimeout,
        Cause::Rejected,
        Cause::External,
        Cause::DbConnections,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Cause::Timeout => "timeout",
            Cause::PoolTimeout => "pool_timeout",
            Cause::Rejected => "rejected",
            Cause::External => "external",
            Cause::DbConnections => "db_connections",
        }
    }
}

/// A finished top-level request, for the client that sent it.
#[derive(Clone, Copy, Debug)]
pub struct Response {
    pub client: u32,
    pub req: ReqRef,
    pub cause: Option<Cause>,
}

enum Step {
    Cpu(Dist),
    Call(u32),
    Db { db: u32, write: bool, time: Dist },
    Cache { cache: u32, time: Dist },
    External(u32),
}

pub struct Endpoint {
    pub service: u32,
    pub name: String,
    steps: Vec<Step>,
}

struct Database {
    name: String,
    primary: u32,
    replicas: Vec<u32>,
    rr: usize,
    max_connections: u32,
    open: u32,
    pool_min: u32,
    pool_max: u32,
    acquire_timeout: Nanos,
    rng: Rng64,
}

struct Cache {
    name: String,
    nodes: Vec<u32>,
    rng: Rng64,
}

struct External {
    name: String,
    latency: Dist,
    failure: f64,
    rng: Rng64,
    inflight: u32,
    /// Calls made so far (providers bill per request).
    calls: u64,
}

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Req {
    gen: u32,
    ep: u32,
    step: u16,
    pod: u32,
    parent: ReqRef,
    client: u32,
    /// The pool whose connection this request holds or awaits.
    pool: u32,
}

pub struct System {
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub pods: Vec<Pod>,
    pub stations: Vec<Station>,
    pub pools: Vec<Pool>,
    databases: Vec<Database>,
    caches: Vec<Cache>,
    externals: Vec<External>,
    service_rngs: Vec<Rng64>,
    reqs: Vec<Req>,
    free: Vec<u32>,
    done_scratch: Vec<ReqRef>,
    /// Finished top-level requests, drained by the simulation after each event.
    pub outbox: Vec<Response>,
    pub entry: u32,
}

impl System {
    pub fn build(m: &ModelFile, seed: u64, replication: u64) -> System {
        let mut sys = System {
            services: Vec::new(),
            endpoints: Vec::new(),
            pods: Vec::new(),
            stations: Vec::new(),
            pools: Vec::new(),
            databases: Vec::new(),
            caches: Vec::new(),
            externals: Vec::new(),
            service_rngs: Vec::new(),
            reqs: Vec::new(),
            free: Vec::new(),
            done_scratch: Vec::new(),
            outbox: Vec::new(),
            entry: 0,
        };
        for (name, d) in &m.databases {
            let primary = sys.add_station(Station::fcfs(d.cores));
            let replicas = (0..d.read_replicas)
                .map(|_| sys.add_station(Station::fcfs(d.cores)))
                .collect();
            sys.databases.push(Database {
                name: name.clone(),
                primary,
                replicas,
                rr: 0,
                max_connections: d.max_connections,
                open: 0,
                pool_min: d.pool.min,
                pool_max: d.pool.max,
                acquire_timeout: d.pool.acquire_timeout.0,
                rng: stream(seed, replication, &format!("database:{name}")),
            });
        }
        for (name, c) in &m.caches {
            let nodes = (0..c.nodes)
                .map(|_| sys.add_station(Station::fcfs(1)))
                .collect();
            sys.caches.push(Cache {
                name: name.clone(),
                nodes,
                rng: stream(seed, replication, &format!("cache:{name}")),
            });
        }
        for (name, e) in &m.externals {
            sys.externals.push(External {
                name: name.clone(),
                latency: e.latency.clone(),
                failure: e.failure,
                rng: stream(seed, replication, &format!("external:{name}")),
                inflight: 0,
                calls: 0,
            });
        }
        let svc_names: Vec<&String> = m.services.keys().collect();
        let idx_of =
            |v: &[&String], n: &str| v.iter().position(|x| *x == n).expect("validated") as u32;
        let db_names: Vec<&String> = m.databases.keys().collect();
        let cache_names: Vec<&String> = m.caches.keys().collect();
        let ext_names: Vec<&String> = m.externals.keys().collect();
        // Endpoint ids: services in order, endpoints in order, so calls resolve before building.
        let mut ep_ids = Vec::new();
        for (sname, s) in &m.services {
            for ename in s.endpoints.keys() {
                ep_ids.push((sname.as_str(), ename.as_str()));
            }
        }
        for (si, (sname, s)) in m.services.iter().enumerate() {
            let p = &s.pod;
            sys.services.push(Service::new(
                sname.clone(),
                s.load_balancer,
                p.cores,
                p.cpu_request.map(|q| q.0).unwrap_or(p.cores),
                p.discipline,
                p.workers.unwrap_or(p.cores.ceil().max(1.0) as u32),
                p.max_inflight.unwrap_or(u32::MAX),
            ));
            sys.service_rngs
                .push(stream(seed, replication, &format!("service:{sname}")));
            for (ename, steps) in &s.endpoints {
                let steps = steps
                    .iter()
                    .map(|st| match st {
                        StepCfg::Cpu(d) => Step::Cpu(d.clone()),
                        StepCfg::Call(c) => Step::Call(
                            ep_ids
                                .iter()
                                .position(|&(s, e)| s == c.service && e == c.endpoint)
                                .expect("validated") as u32,
                        ),
                        StepCfg::Db(d) => Step::Db {
                            db: idx_of(&db_names, &d.database),
                            write: d.query == QueryKind::Write,
                            time: d.time.clone(),
                        },
                        StepCfg::Cache(c) => Step::Cache {
                            cache: idx_of(&cache_names, &c.cache),
                            time: c.time.clone(),
                        },
                        StepCfg::External(e) => Step::External(idx_of(&ext_names, &e.provider)),
                    })
                    .collect();
                sys.endpoints.push(Endpoint {
                    service: si as u32,
                    name: ename.clone(),
                    steps,
                });
            }
        }
        sys.entry = idx_of(&svc_names, &m.entry);
        for (si, s) in m.services.values().enumerate() {
            for _ in 0..s.replicas {
                sys.add_pod(si as u32);
            }
        }
        sys
    }

    fn add_station(&mut self, s: Station) -> u32 {
        self.stations.push(s);
        (self.stations.len() - 1) as u32
    }

    /// Start a pod that takes traffic at once. Pod start-up latency belongs to the autoscaler.
    pub fn add_pod(&mut self, service: u32) -> u32 {
        let svc = &self.services[service as usize];
        let station = match svc.discipline {
            Discipline::Ps => Station::ps(svc.cores),
            Discipline::Fcfs => Station::fcfs(svc.workers),
        };
        let cpu = self.add_station(station);
        let pool_base = self.pools.len() as u32;
        for (di, db) in self.databases.iter_mut().enumerate() {
            let mut p = Pool::new(di as u32, db.pool_max, db.acquire_timeout);
            p.warm(db.pool_min, &mut db.open, db.max_connections);
            self.pools.push(p);
        }
        let id = self.pods.len() as u32;
        self.pods.push(Pod {
            service,
            cpu,
            pool_base,
            inflight: 0,
            state: PodState::Ready,
        });
        self.services[service as usize].ready.push(id);
        id
    }

    pub fn endpoint_index(&self, service: &str, endpoint: &str) -> Option<u32> {
        self.endpoints
            .iter()
            .position(|e| self.services[e.service as usize].name == service && e.name == endpoint)
            .map(|i| i as u32)
    }

    fn alloc(&mut self, ep: u32, parent: ReqRef, client: u32) -> ReqRef {
        let r = Req {
            gen: 0,
            ep,
            step: 0,
            pod: NONE,
            parent,
            client,
            pool: NONE,
        };
        match self.free.pop() {
            Some(i) => {
                let gen = self.reqs[i as usize].gen;
                self.reqs[i as usize] = Req { gen, ..r };
                ReqRef { idx: i, gen }
            }
            None => {
                self.reqs.push(r);
                ReqRef {
                    idx: (self.reqs.len() - 1) as u32,
                    gen: 0,
                }
            }
        }
    }

    fn release_slot(&mut self, r: ReqRef) {
        let s = &mut self.reqs[r.idx as usize];
        s.gen = s.gen.wrapping_add(1);
        self.free.push(r.idx);
    }

    fn live(&self, r: ReqRef) -> bool {
        self.reqs[r.idx as usize].gen == r.gen
    }

    /// Requests in flight anywhere in the system.
    pub fn live_requests(&self) -> usize {
        self.reqs.len() - self.free.len()
    }

    /// A client sends a request to an endpoint; the response comes back through `outbox`.
    pub fn submit(&mut self, ep: u32, client: u32, q: &mut EventQueue<Event>) -> ReqRef {
        let r = self.alloc(ep, ReqRef { idx: NONE, gen: 0 }, client);
        self.start(r, q);
        r
    }

    fn start(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let svc = self.endpoints[self.reqs[r.idx as usize].ep as usize].service;
        let s = &mut self.services[svc as usize];
        match s.pick(&self.pods) {
            Some(p) if self.pods[p as usize].inflight < s.max_inflight => {
                self.pods[p as usize].inflight += 1;
                self.reqs[r.idx as usize].pod = p;
                self.run_step(r, q);
            }
            _ => self.finish(r, Some(Cause::Rejected), q),
        }
    }

    fn run_step(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let req = self.reqs[r.idx as usize];
        let ep = &self.endpoints[req.ep as usize];
        let Some(step) = ep.steps.get(req.step as usize) else {
            return self.finish(r, None, q);
        };
        match step {
            Step::Cpu(d) => {
                let work = d.sample_ns(&mut self.service_rngs[ep.service as usize]);
                let st = self.pods[req.pod as usize].cpu;
                self.stations[st as usize].arrive(st, r, work, q);
            }
            Step::Call(target) => {
                let child = self.alloc(*target, r, NONE);
                self.start(child, q);
            }
            &Step::Db { db, .. } => {
                let pool = self.pods[req.pod as usize].pool_base + db;
                self.reqs[r.idx as usize].pool = pool;
                let d = &mut self.databases[db as usize];
                match self.pools[pool as usize].acquire(pool, r, &mut d.open, d.max_connections, q)
                {
                    Acquire::Granted => self.query(r, q),
                    Acquire::Queued => {}
                    Acquire::Refused => {
                        self.reqs[r.idx as usize].pool = NONE;
                        self.finish(r, Some(Cause::DbConnections), q)
                    }
                }
            }
            Step::Cache { cache, time } => {
                let c = &mut self.caches[*cache as usize];
                let node = c.nodes[c.rng.gen_range(0..c.nodes.len())];
                let work = time.sample_ns(&mut c.rng);
                self.stations[node as usize].arrive(node, r, work, q);
            }
            Step::External(x) => {
                let e = &mut self.externals[*x as usize];
                let lat = e.latency.sample_ns(&mut e.rng);
                let ok = !e.rng.gen_bool(e.failure);
                e.inflight += 1;
                e.calls += 1;
                q.schedule_in(lat, Event::ExternalDone { req: r, ok });
            }
        }
    }

    /// The request holds a connection: run its query on the instance its kind routes to.
    fn query(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let req = self.reqs[r.idx as usize];
        let Step::Db { db, write, time } =
            &self.endpoints[req.ep as usize].steps[req.step as usize]
        else {
            unreachable!("query outside a db step")
        };
        let d = &mut self.databases[*db as usize];
        let st = if *write || d.replicas.is_empty() {
            d.primary
        } else {
            d.rr = (d.rr + 1) % d.replicas.len();
            d.replicas[d.rr]
        };
        let work = time.sample_ns(&mut d.rng);
        self.stations[st as usize].arrive(st, r, work, q);
    }

    fn step_done(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        self.reqs[r.idx as usize].step += 1;
        self.run_step(r, q);
    }

    fn finish(&mut self, r: ReqRef, cause: Option<Cause>, q: &mut EventQueue<Event>) {
        let req = self.reqs[r.idx as usize];
        if req.pod != NONE {
            self.pods[req.pod as usize].inflight -= 1;
        }
        self.release_slot(r);
        if req.parent.idx != NONE {
            // A failed downstream call fails its caller with the same cause.
            match cause {
                None => self.step_done(req.parent, q),
                Some(c) => self.finish(req.parent, Some(c), q),
            }
        } else {
            self.outbox.push(Response {
                client: req.client,
                req: r,
                cause,
            });
        }
    }

    fn station_done(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let pool = self.reqs[r.idx as usize].pool;
        if pool != NONE {
            self.reqs[r.idx as usize].pool = NONE;
            if let Some(next) = self.pools[pool as usize].release() {
                if self.live(next) {
                    self.query(next, q);
                }
            }
        }
        self.step_done(r, q);
    }

    pub fn handle(&mut self, ev: Event, q: &mut EventQueue<Event>) {
        match ev {
            Event::FcfsDone { station, req } => {
                self.stations[station as usize].fcfs_done(station, q);
                self.station_done(req, q);
            }
            Event::PsDone { station } => {
                let mut done = std::mem::take(&mut self.done_scratch);
                self.stations[station as usize].ps_done(station, q, &mut done);
                for r in done.drain(..) {
                    self.station_done(r, q);
                }
                self.done_scratch = done;
            }
            Event::ExternalDone { req, ok } => {
                let ep = self.reqs[req.idx as usize].ep;
                let step = self.reqs[req.idx as usize].step;
                if let Step::External(x) = self.endpoints[ep as usize].steps[step as usize] {
                    self.externals[x as usize].inflight -= 1;
                }
                if ok {
                    self.step_done(req, q)
                } else {
                    self.finish(req, Some(Cause::External), q)
                }
            }
            Event::PoolTimeouts { pool } => {
                let mut expired = std::mem::take(&mut self.done_scratch);
                self.pools[pool as usize].expire(pool, q, &mut expired);
                for r in expired.drain(..) {
                    if self.live(r) {
                        self.reqs[r.idx as usize].pool = NONE;
                        self.finish(r, Some(Cause::PoolTimeout), q);
                    }
                }
                self.done_scratch = expired;
            }
            _ => unreachable!("not a system event: {ev:?}"),
        }
    }

    /// Column names of `sample`, in order.
    pub fn columns(&self) -> Vec<String> {
        let mut c = Vec::new();
        for s in &self.services {
            c.push(format!("{}_ready_pods", s.name));
            c.push(format!("{}_cpu_util", s.name));
            c.push(format!("{}_inflight", s.name));
        }
        for d in &self.databases {
            c.push(format!("{}_pool_in_use", d.name));
            c.push(format!("{}_pool_waiting", d.name));
            c.push(format!("{}_connections", d.name));
            c.push(format!("{}_util", d.name));
        }
        for x in &self.caches {
            c.push(format!("{}_util", x.name));
        }
        for e in &self.externals {
            c.push(format!("{}_inflight", e.name));
        }
        c
    }

    /// Append one time-series row; utilizations are averages over the interval since `last_area`.
    pub fn sample(
        &mut self,
        now: Nanos,
        interval: Nanos,
        last_area: &mut Vec<f64>,
        row: &mut Vec<f64>,
    ) {
        last_area.resize(self.stations.len(), 0.0);
        let mut area_delta = |st: u32, stations: &mut Vec<Station>| {
            let s = &mut stations[st as usize];
            s.advance(now);
            let d = s.busy_area - last_area[st as usize];
            last_area[st as usize] = s.busy_area;
            (d, s.capacity)
        };
        let iv = interval.max(1) as f64;
        for (si, s) in self.services.iter().enumerate() {
            let (mut busy, mut cap, mut inflight) = (0.0, 0.0, 0u32);
            for (pi, p) in self.pods.iter().enumerate() {
                if p.service as usize != si || p.state == PodState::Gone {
                    continue;
                }
                let _ = pi;
                let (d, c) = area_delta(p.cpu, &mut self.stations);
                busy += d;
                inflight += p.inflight;
                if p.state == PodState::Ready {
                    cap += c;
                }
            }
            row.push(s.ready.len() as f64);
            row.push(if cap > 0.0 { busy / (cap * iv) } else { 0.0 });
            row.push(inflight as f64);
        }
        for (di, d) in self.databases.iter().enumerate() {
            let (mut in_use, mut waiting) = (0u64, 0u64);
            for p in self.pools.iter().filter(|p| p.db as usize == di) {
                in_use += p.in_use as u64;
                waiting += p.waiting() as u64;
            }
            let (mut busy, mut cap) = (0.0, 0.0);
            for st in std::iter::once(d.primary).chain(d.replicas.iter().copied()) {
                let (b, c) = area_delta(st, &mut self.stations);
                busy += b;
                cap += c;
            }
            row.push(in_use as f64);
            row.push(waiting as f64);
            row.push(d.open as f64);
            row.push(busy / (cap * iv));
        }
        for c in &self.caches {
            let (mut busy, mut cap) = (0.0, 0.0);
            for &st in &c.nodes {
                let (b, k) = area_delta(st, &mut self.stations);
                busy += b;
                cap += k;
            }
            row.push(busy / (cap * iv));
        }
        for e in &self.externals {
            row.push(e.inflight as f64);
        }
    }

    /// Per-resource utilization over the whole run (for the summary and bottleneck report).
    pub fn resource_utilization(&mut self, now: Nanos) -> Vec<(String, f64)> {
        for s in &mut self.stations {
            s.advance(now);
        }
        let t = now.max(1) as f64;
        let util = |ids: &mut dyn Iterator<Item = u32>, st: &[Station]| {
            let (mut b, mut c) = (0.0, 0.0);
            for i in ids {
                b += st[i as usize].busy_area;
                c += st[i as usize].capacity;
            }
            if c > 0.0 {
                b / (c * t)
            } else {
                0.0
            }
        };
        let mut out = Vec::new();
        for (si, s) in self.services.iter().enumerate() {
            let mut ids = self
                .pods
                .iter()
                .filter(|p| p.service as usize == si)
                .map(|p| p.cpu);
            out.push((
                format!("service:{}", s.name),
                util(&mut ids, &self.stations),
            ));
        }
        for d in &self.databases {
            let mut ids = std::iter::once(d.primary).chain(d.replicas.iter().copied());
            out.push((
                format!("database:{}", d.name),
                util(&mut ids, &self.stations),
            ));
        }
        for c in &self.caches {
            let mut ids = c.nodes.iter().copied();
            out.push((format!("cache:{}", c.name), util(&mut ids, &self.stations)));
        }
        out
    }

    /// Calls made to each external provider, in model order (for per-request pricing).
    pub fn external_calls(&self) -> Vec<(String, u64)> {
        self.externals
            .iter()
            .map(|e| (e.name.clone(), e.calls))
            .collect()
    }

    /// Queueing statistics per service CPU and per database, for the summary and analytic checks.
    pub fn queue_report(&self, now: Nanos) -> serde_json::Value {
        let t = now.max(1) as f64;
        let stats = |ids: &mut dyn Iterator<Item = u32>| {
            let (mut served, mut wait, mut jobs, mut queued) = (0u64, 0f64, 0f64, 0usize);
            for i in ids {
                let s = &self.stations[i as usize];
                served += s.served;
                wait += s.wait_ns as f64;
                jobs += s.jobs_area;
                queued += s.queued();
            }
            serde_json::json!({
                "served": served,
                "mean_wait_ms": if served > 0 { wait / served as f64 / 1e6 } else { 0.0 },
                "mean_jobs": jobs / t,
                "queued_at_end": queued,
            })
        };
        let mut out = serde_json::Map::new();
        for (si, s) in self.services.iter().enumerate() {
            let mut ids = self
                .pods
                .iter()
                .filter(|p| p.service as usize == si)
                .map(|p| p.cpu);
            out.insert(format!("service:{}", s.name), stats(&mut ids));
        }
        for (di, d) in self.databases.iter().enumerate() {
            let mut ids = std::iter::once(d.primary).chain(d.replicas.iter().copied());
            let mut v = stats(&mut ids);
            let pools = self.pools.iter().filter(|p| p.db as usize == di);
            v["pool_acquire_timeouts"] = pools.map(|p| p.acquire_timeouts).sum::<u64>().into();
            v["connections_open"] = d.open.into();
            v["max_connections"] = d.max_connections.into();
            out.insert(format!("database:{}", d.name), v);
        }
        for c in &self.caches {
            let mut ids = c.nodes.iter().copied();
            out.insert(format!("cache:{}", c.name), stats(&mut ids));
        }
        serde_json::Value::Object(out)
    }
}
