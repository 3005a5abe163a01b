//! The simulated system: services of pods behind load balancers, and the resources their
//! endpoints use. A request walks its endpoint's steps; each step hands it to one component
//! (a station, a pool, a cache keyspace, a provider, a queue, a chain) and comes back here when
//! that component is done. Composite steps (a cache read that falls back to the database, a
//! transaction that waits for its block) keep their progress in the request's `stage`.

pub mod cache;
pub mod chain;
pub mod db;
pub mod host;
pub mod jobqueue;
mod lifecycle;
pub mod pool;
pub mod replica;
pub mod rpc;
pub mod service;
pub mod station;
pub mod ws;

use crate::config::model::{CacheStrategy, DbStepCfg, ModelFile, QueryKind, StepCfg};
use crate::dist::Dist;
use crate::engine::{prefetch, stream, EventQueue, Nanos, Rng64};
use crate::event::{Event, ReqRef};
use crate::metrics::TxStats;
use cache::Keyspace;
use chain::Chain;
use db::Database;
use jobqueue::{After, JobQueue};
pub use lifecycle::{Lifecycle, Node, NodeState};
use pool::{Acquire, Pool};
use rand::Rng;
use replica::{Side, NO_USER};
use rpc::Rpc;
use service::{Pod, PodState, Service};
use station::Station;
use ws::WebSockets;

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
    /// The external provider's rate limit answered 429.
    RateLimited,
    /// The database cancelled a query at its statement timeout.
    StatementTimeout,
    /// A cache command exceeded the client's command timeout.
    CacheTimeout,
    /// The transaction was included but reverted.
    TxReverted,
    /// The pod was killed at the end of its termination grace period.
    Terminated,
}

impl Cause {
    pub const ALL: [Cause; 10] = [
        Cause::Timeout,
        Cause::PoolTimeout,
        Cause::Rejected,
        Cause::External,
        Cause::DbConnections,
        Cause::RateLimited,
        Cause::StatementTimeout,
        Cause::CacheTimeout,
        Cause::TxReverted,
        Cause::Terminated,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Cause::Timeout => "timeout",
            Cause::PoolTimeout => "pool_timeout",
            Cause::Rejected => "rejected",
            Cause::External => "external",
            Cause::DbConnections => "db_connections",
            Cause::RateLimited => "rate_limited",
            Cause::StatementTimeout => "statement_timeout",
            Cause::CacheTimeout => "cache_timeout",
            Cause::TxReverted => "tx_reverted",
            Cause::Terminated => "terminated",
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

/// A database query as a step describes it.
struct Query {
    db: u32,
    write: bool,
    time: Dist,
    latency: Option<Dist>,
    repeat: u16,
}

enum Step {
    Cpu(Dist),
    Call(u32),
    Db(u32),
    Cache { cache: u32, time: Dist },
    External(u32),
    Delay(Dist),
    CacheRead { ks: u32, q: u32, time: Dist },
    CacheWrite { ks: u32, q: u32, time: Dist },
    Enqueue(u32),
    Transaction { chain: u32, ext: u32 },
}

pub struct Endpoint {
    pub service: u32,
    pub name: String,
    steps: Vec<Step>,
}

struct CacheCluster {
    name: String,
    nodes: Vec<u32>,
    command_timeout: Option<Nanos>,
    rng: Rng64,
    timeouts: u64,
}

const NONE: u32 = u32::MAX;

/// What a request is waiting on, so a completion knows how to continue it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    Nothing,
    Cpu,
    Child,
    Delay,
    Connect,
    QueryIo,
    QueryCpu,
    Pool,
    CacheCmd,
    Rpc,
    Confirm,
}

/// A completion that found its request waiting on something else: a bug. Out of line, so the
/// formatting does not give the dispatchers a stack frame.
#[cold]
#[inline(never)]
fn unexpected(what: &str, w: Wait) -> ! {
    unreachable!("{what} while waiting on {w:?}")
}

/// Who a request answers to when it finishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Client,
    /// A job of queue `u16`; `client` holds the job id.
    Job(u16),
    /// A write-behind flush; nobody waits for it.
    Background,
}

/// One cache line each (64 bytes, 64-aligned): a completion's first read of its request then
/// misses once, not twice (a `Vec` from the allocator is 16-aligned, so unaligned 64-byte slots
/// straddled two lines).
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Req {
    gen: u32,
    ep: u32,
    step: u16,
    /// Progress inside a composite step.
    stage: u8,
    wait: Wait,
    origin: Origin,
    /// Queries left in a repeated db step.
    rep: u16,
    /// The query being run (set by `start_query`), so each stage of it need not look it up
    /// through the endpoint's step.
    query: u32,
    pod: u32,
    parent: ReqRef,
    client: u32,
    /// The user on whose behalf this runs (VU id), for per-user keys and read-your-writes.
    user: u32,
    /// The pool whose connection this request holds or awaits.
    pool: u32,
    side: Side,
    /// The station a query or cache command runs on, and the work it needs there.
    station: u32,
    key: u32,
    /// When the current query, command or transaction started.
    t0: Nanos,
}

const _: () = assert!(std::mem::size_of::<Req>() == 64);

pub struct System {
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub pods: Vec<Pod>,
    pub stations: Vec<Station>,
    pub hosts: host::Hosts,
    pub pools: Vec<Pool>,
    databases: Vec<Database>,
    /// Per service, per database: whether its endpoints query it (only those pods keep pools).
    uses_db: Vec<Vec<bool>>,
    /// Per database, its first pool's offset within a pod's pools.
    pool_offset: Vec<u32>,
    pools_per_pod: u32,
    queries: Vec<Query>,
    caches: Vec<CacheCluster>,
    keyspaces: Vec<Keyspace>,
    rpcs: Vec<Rpc>,
    queues: Vec<JobQueue>,
    chains: Vec<Chain>,
    ws: Option<WebSockets>,
    service_rngs: Vec<Rng64>,
    reqs: Vec<Req>,
    free: Vec<u32>,
    done_scratch: Vec<ReqRef>,
    rpc_scratch: Vec<(ReqRef, Option<Cause>)>,
    /// Counter values at the last sample, for per-interval rates.
    last: Vec<u64>,
    counters: Vec<u64>,
    /// Finished top-level requests, drained by the simulation after each event.
    pub outbox: Vec<Response>,
    pub entry: u32,
    pub lifecycle: Lifecycle,
}

fn query_of(d: &DbStepCfg, db: u32) -> Query {
    Query {
        db,
        write: d.query == QueryKind::Write,
        time: d.time.clone(),
        latency: d.latency.clone(),
        repeat: d.repeat as u16,
    }
}

impl System {
    /// The system of a validated model. An error (field, message) only if a model that skipped
    /// validation reaches here: nothing on this path panics.
    pub fn build(m: &ModelFile, seed: u64, replication: u64) -> Result<System, (String, String)> {
        let mut stations = Vec::new();
        let hosts = host::Hosts::build(m, &mut stations);
        let mut sys = System {
            services: Vec::new(),
            endpoints: Vec::new(),
            pods: Vec::new(),
            stations,
            hosts,
            pools: Vec::new(),
            databases: Vec::new(),
            uses_db: Vec::new(),
            pool_offset: Vec::new(),
            pools_per_pod: 0,
            queries: Vec::new(),
            caches: Vec::new(),
            keyspaces: Vec::new(),
            rpcs: Vec::new(),
            queues: Vec::new(),
            chains: Vec::new(),
            ws: None,
            service_rngs: Vec::new(),
            reqs: Vec::new(),
            free: Vec::new(),
            done_scratch: Vec::new(),
            rpc_scratch: Vec::new(),
            last: Vec::new(),
            counters: Vec::new(),
            outbox: Vec::new(),
            entry: 0,
            lifecycle: Lifecycle::new(m, seed, replication),
        };
        for (name, d) in &m.databases {
            let primary = sys.database_station(d);
            let replicas = (0..d.read_replicas)
                .map(|_| sys.database_station(d))
                .collect();
            let db = Database::new(
                name,
                d,
                primary,
                replicas,
                stream(seed, replication, &format!("database:{name}")),
            );
            sys.pool_offset.push(sys.pools_per_pod);
            sys.pools_per_pod += db.sides();
            sys.databases.push(db);
        }
        for (ci, (name, c)) in m.caches.iter().enumerate() {
            let host = c.host.as_deref().and_then(|h| sys.hosts.station_of(h));
            let nodes = (0..c.nodes)
                .map(|_| match host {
                    Some(h) => host::new_seat(&mut sys.stations, h),
                    None => sys.add_station(Station::new(true, 1.0, c.contention.as_ref())),
                })
                .collect();
            sys.caches.push(CacheCluster {
                name: name.clone(),
                nodes,
                command_timeout: c.command_timeout.map(|t| t.0),
                rng: stream(seed, replication, &format!("cache:{name}")),
                timeouts: 0,
            });
            for (kn, k) in &c.keyspaces {
                sys.keyspaces.push(
                    Keyspace::new(
                        format!("{name}_{kn}"),
                        ci as u32,
                        k,
                        stream(seed, replication, &format!("keyspace:{name}:{kn}")),
                    )
                    .map_err(|e| (format!("caches.{name}.keyspaces.{kn}"), e))?,
                );
            }
        }
        for (name, e) in &m.externals {
            sys.rpcs.push(
                Rpc::new(
                    name,
                    e,
                    stream(seed, replication, &format!("external:{name}")),
                )
                .map_err(|e| (format!("externals.{name}"), e))?,
            );
        }
        for (name, c) in &m.chains {
            sys.chains.push(
                Chain::new(name, c, stream(seed, replication, &format!("chain:{name}")))
                    .map_err(|e| (format!("chains.{name}"), e))?,
            );
        }
        let svc_names: Vec<&String> = m.services.keys().collect();
        let unknown = |n: &str| (String::from("model"), format!("unknown name {n:?}"));
        let idx_of = |v: &[&String], n: &str| {
            v.iter()
                .position(|x| *x == n)
                .map(|i| i as u32)
                .ok_or_else(|| unknown(n))
        };
        let db_names: Vec<&String> = m.databases.keys().collect();
        let cache_names: Vec<&String> = m.caches.keys().collect();
        let ext_names: Vec<&String> = m.externals.keys().collect();
        let queue_names: Vec<&String> = m.queues.keys().collect();
        let chain_names: Vec<&String> = m.chains.keys().collect();
        let ks_names: Vec<String> = m
            .caches
            .iter()
            .flat_map(|(c, cc)| cc.keyspaces.keys().map(move |k| format!("{c}\u{0}{k}")))
            .collect();
        let ks_of = |c: &str, k: &str| {
            ks_names
                .iter()
                .position(|x| *x == format!("{c}\u{0}{k}"))
                .map(|i| i as u32)
                .ok_or_else(|| unknown(k))
        };
        // Endpoint ids: services in order, endpoints in order, so calls resolve before building.
        let mut ep_ids = Vec::new();
        for (sname, s) in &m.services {
            for ename in s.endpoints.keys() {
                ep_ids.push((sname.as_str(), ename.as_str()));
            }
        }
        let ep_of = |s: &str, e: &str| {
            ep_ids
                .iter()
                .position(|&(a, b)| a == s && b == e)
                .map(|i| i as u32)
                .ok_or_else(|| unknown(e))
        };
        for (si, (sname, s)) in m.services.iter().enumerate() {
            let mut svc = Service::new(sname.clone(), s);
            svc.host = s.host.as_deref().and_then(|h| sys.hosts.station_of(h));
            sys.services.push(svc);
            sys.service_rngs
                .push(stream(seed, replication, &format!("service:{sname}")));
            if let Some(w) = &s.websocket {
                sys.ws = Some(WebSockets::new(si as u32, w.memory_per_connection.0));
            }
            let mut uses = vec![false; db_names.len()];
            for (ename, steps) in &s.endpoints {
                let mut built = Vec::new();
                for st in steps {
                    let mut query = |d: &DbStepCfg, sys: &mut System| {
                        let db = idx_of(&db_names, &d.database)?;
                        uses[db as usize] = true;
                        sys.queries.push(query_of(d, db));
                        Ok::<u32, (String, String)>((sys.queries.len() - 1) as u32)
                    };
                    built.push(match st {
                        StepCfg::Cpu(d) => Step::Cpu(d.clone()),
                        StepCfg::Call(c) => Step::Call(ep_of(&c.service, &c.endpoint)?),
                        StepCfg::Db(d) => Step::Db(query(d, &mut sys)?),
                        StepCfg::Cache(c) => Step::Cache {
                            cache: idx_of(&cache_names, &c.cache)?,
                            time: c.time.clone(),
                        },
                        StepCfg::External(e) => Step::External(idx_of(&ext_names, &e.provider)?),
                        StepCfg::Delay(d) => Step::Delay(d.clone()),
                        StepCfg::CacheRead(c) => Step::CacheRead {
                            ks: ks_of(&c.cache, &c.keyspace)?,
                            q: query(&c.miss, &mut sys)?,
                            time: c.time.clone(),
                        },
                        StepCfg::CacheWrite(c) => Step::CacheWrite {
                            ks: ks_of(&c.cache, &c.keyspace)?,
                            q: query(&c.db, &mut sys)?,
                            time: c.time.clone(),
                        },
                        StepCfg::Enqueue(e) => Step::Enqueue(idx_of(&queue_names, &e.queue)?),
                        StepCfg::Transaction(t) => Step::Transaction {
                            chain: idx_of(&chain_names, &t.chain)?,
                            ext: idx_of(&ext_names, &t.provider)?,
                        },
                    });
                }
                sys.endpoints.push(Endpoint {
                    service: si as u32,
                    name: ename.clone(),
                    steps: built,
                });
            }
            sys.uses_db.push(uses);
        }
        for (name, qc) in &m.queues {
            let svc = idx_of(&svc_names, &qc.service)?;
            sys.queues.push(JobQueue::new(
                name,
                qc,
                svc,
                ep_of(&qc.service, &qc.endpoint)?,
                stream(seed, replication, &format!("queue:{name}")),
            ));
        }
        sys.entry = idx_of(&svc_names, &m.entry)?;
        for (si, s) in m.services.values().enumerate() {
            for _ in 0..s.replicas {
                sys.add_initial_pod(si as u32);
            }
        }
        Ok(sys)
    }

    fn add_station(&mut self, s: Station) -> u32 {
        self.stations.push(s);
        (self.stations.len() - 1) as u32
    }

    /// One database instance: a seat on its host, or its own cores (FCFS unless `discipline: ps`).
    fn database_station(&mut self, d: &crate::config::model::DatabaseCfg) -> u32 {
        if let Some(h) = d.host.as_deref().and_then(|h| self.hosts.station_of(h)) {
            return host::new_seat(&mut self.stations, h);
        }
        let fcfs = d.discipline != Some(crate::config::model::Discipline::Ps);
        self.add_station(Station::new(fcfs, d.cores as f64, d.contention.as_ref()))
    }

    pub fn endpoint_index(&self, service: &str, endpoint: &str) -> Option<u32> {
        self.endpoints
            .iter()
            .position(|e| self.services[e.service as usize].name == service && e.name == endpoint)
            .map(|i| i as u32)
    }

    fn alloc(&mut self, ep: u32, parent: ReqRef, client: u32, user: u32, origin: Origin) -> ReqRef {
        let r = Req {
            gen: 0,
            ep,
            step: 0,
            stage: 0,
            wait: Wait::Nothing,
            origin,
            rep: 0,
            query: NONE,
            pod: NONE,
            parent,
            client,
            user,
            pool: NONE,
            side: Side::Primary,
            station: NONE,
            key: 0,
            t0: 0,
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

    /// Ask for the cache lines the handler of `ev` (a coming event) will read first.
    #[inline(always)]
    pub fn prefetch(&self, ev: &Event) {
        match *ev {
            Event::FcfsDone { station, req } => {
                prefetch(self.stations.as_ptr().wrapping_add(station as usize));
                prefetch(self.reqs.as_ptr().wrapping_add(req.idx as usize));
            }
            Event::Resume { req } => prefetch(self.reqs.as_ptr().wrapping_add(req.idx as usize)),
            Event::PsDone { station } => {
                prefetch(self.stations.as_ptr().wrapping_add(station as usize))
            }
            _ => {}
        }
    }

    fn req(&mut self, r: ReqRef) -> &mut Req {
        &mut self.reqs[r.idx as usize]
    }

    /// Requests in flight anywhere in the system.
    pub fn live_requests(&self) -> usize {
        self.reqs.len() - self.free.len()
    }

    /// Request slots ever allocated: bounded by peak concurrency, not by run length.
    pub fn request_slots(&self) -> usize {
        self.reqs.len()
    }

    /// A client sends a request to an endpoint; the response comes back through `outbox`.
    /// The client id doubles as the user id.
    pub fn submit(&mut self, ep: u32, client: u32, q: &mut EventQueue<Event>) -> ReqRef {
        let none = ReqRef { idx: NONE, gen: 0 };
        let r = self.alloc(ep, none, client, client, Origin::Client);
        self.start(r, q);
        r
    }

    /// A user became active: they open their WebSocket (if the model has one).
    pub fn user_online(&mut self, user: u32, now: Nanos) {
        if let Some(w) = &mut self.ws {
            let ready = &self.services[w.service as usize].ready;
            w.connect(user, ready, now);
        }
    }

    pub fn user_offline(&mut self, user: u32) {
        if let Some(w) = &mut self.ws {
            w.disconnect(user);
        }
    }

    fn start(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let svc = self.endpoints[self.reqs[r.idx as usize].ep as usize].service;
        let s = &mut self.services[svc as usize];
        match s.pick(&self.pods) {
            Some(p) if self.pods[p as usize].inflight < s.max_inflight => {
                self.pods[p as usize].inflight += 1;
                self.req(r).pod = p;
                self.run_step(r, q);
            }
            _ => self.finish(r, Some(Cause::Rejected), q),
        }
    }

    fn run_step(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let now = q.now();
        // The few fields a step reads, not a copy of the whole slot.
        let rq = &mut self.reqs[r.idx as usize];
        let (pod, user) = (rq.pod, rq.user);
        let ep = &self.endpoints[rq.ep as usize];
        let Some(step) = ep.steps.get(rq.step as usize) else {
            return self.finish(r, None, q);
        };
        rq.stage = 0;
        match step {
            Step::Cpu(d) => {
                let work = d.sample_ns(&mut self.service_rngs[ep.service as usize]);
                let st = self.pods[pod as usize].cpu;
                self.req(r).wait = Wait::Cpu;
                self.arrive_at(st, r, work, q);
            }
            &Step::Call(target) => {
                self.req(r).wait = Wait::Child;
                let child = self.alloc(target, r, NONE, user, Origin::Client);
                self.start(child, q);
            }
            &Step::Db(qi) => {
                self.req(r).rep = self.queries[qi as usize].repeat;
                self.start_query(r, qi, q);
            }
            Step::Cache { cache, time } => {
                let c = &mut self.caches[*cache as usize];
                let node = c.nodes[c.rng.gen_range(0..c.nodes.len())];
                let work = time.sample_ns(&mut c.rng);
                self.cache_command(r, node, work, q);
            }
            &Step::External(x) => {
                self.req(r).wait = Wait::Rpc;
                self.rpcs[x as usize].call(x as u16, r, q);
                self.drain_rpc();
            }
            Step::Delay(d) => {
                let t = d.sample_ns(&mut self.service_rngs[ep.service as usize]);
                self.req(r).wait = Wait::Delay;
                q.schedule_in(t, Event::Resume { req: r });
            }
            &Step::CacheRead { ks, .. } => {
                let key = self.keyspaces[ks as usize].pick_key(user);
                self.req(r).key = key;
                self.keyspace_command(r, q);
            }
            &Step::CacheWrite { ks, q: qi, .. } => {
                let k = &mut self.keyspaces[ks as usize];
                let key = k.pick_key(user);
                let db_first = k.strategy != CacheStrategy::WriteBehind;
                let rq = self.req(r);
                rq.key = key;
                rq.rep = 1;
                if db_first {
                    self.start_query(r, qi, q);
                } else {
                    self.keyspace_command(r, q);
                }
            }
            &Step::Enqueue(qi) => {
                self.queues[qi as usize].enqueue(user, now);
                self.pump_queue(qi as u16, q);
                self.step_done(r, q);
            }
            &Step::Transaction { ext, .. } => {
                let rq = self.req(r);
                rq.t0 = now;
                rq.wait = Wait::Rpc;
                self.rpcs[ext as usize].call(ext as u16, r, q);
                self.drain_rpc();
            }
        }
    }

    /// Issue the current keyspace step's next command (GET, SET or DEL) on the key's node.
    fn keyspace_command(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let req = self.reqs[r.idx as usize];
        let (ks, time) = match &self.endpoints[req.ep as usize].steps[req.step as usize] {
            Step::CacheRead { ks, time, .. } | Step::CacheWrite { ks, time, .. } => (*ks, time),
            _ => unreachable!("keyspace command outside a keyspace step"),
        };
        let k = &self.keyspaces[ks as usize];
        let c = &mut self.caches[k.cache as usize];
        let node = c.nodes[k.node_of(req.key, c.nodes.len())];
        let work = time.sample_ns(&mut c.rng);
        self.cache_command(r, node, work, q);
    }

    fn cache_command(&mut self, r: ReqRef, node: u32, work: Nanos, q: &mut EventQueue<Event>) {
        let rq = self.req(r);
        rq.wait = Wait::CacheCmd;
        rq.t0 = q.now();
        rq.station = node;
        self.arrive_at(node, r, work, q);
    }

    /// Route a query, then take a connection from the pod's pool for that side.
    fn start_query(&mut self, r: ReqRef, qi: u32, q: &mut EventQueue<Event>) {
        let now = q.now();
        let (db, write) = (
            self.queries[qi as usize].db,
            self.queries[qi as usize].write,
        );
        let req = self.reqs[r.idx as usize];
        let d = &mut self.databases[db as usize];
        let side = if write {
            Side::Primary
        } else {
            d.replication.route_read(req.user, now)
        };
        let side_ix = if side == Side::Primary { 0 } else { 1 };
        let pool = self.pods[req.pod as usize].pool_base + self.pool_offset[db as usize] + side_ix;
        let rq = self.req(r);
        rq.query = qi;
        rq.pool = pool;
        rq.side = side;
        rq.wait = Wait::Pool;
        let d = &mut self.databases[db as usize];
        let server = d.conns(side);
        match self.pools[pool as usize].acquire(pool, r, server, q) {
            Acquire::Granted => self.begin_query(r, q),
            Acquire::Connect => match &d.connect_time {
                Some(ct) => {
                    let t = ct.sample_ns(&mut d.rng);
                    self.req(r).wait = Wait::Connect;
                    q.schedule_in(t, Event::Resume { req: r });
                }
                None => self.begin_query(r, q),
            },
            Acquire::Queued => {}
            Acquire::Refused => {
                self.req(r).pool = NONE;
                self.finish(r, Some(Cause::DbConnections), q)
            }
        }
    }

    fn query_of_step(&self, r: ReqRef) -> u32 {
        self.reqs[r.idx as usize].query
    }

    /// The request holds a connection: run its query on an instance of its side.
    fn begin_query(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let qi = self.query_of_step(r);
        let side = self.reqs[r.idx as usize].side;
        let query = &self.queries[qi as usize];
        let d = &mut self.databases[query.db as usize];
        let st = d.instance(side);
        let io = query.latency.as_ref().map(|l| l.sample_ns(&mut d.rng));
        let rq = self.req(r);
        rq.station = st;
        rq.t0 = q.now();
        match io {
            Some(t) => {
                rq.wait = Wait::QueryIo;
                q.schedule_in(t, Event::Resume { req: r });
            }
            None => self.query_cpu(r, q),
        }
    }

    fn query_cpu(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let qi = self.query_of_step(r);
        let query = &self.queries[qi as usize];
        let work = query
            .time
            .sample_ns(&mut self.databases[query.db as usize].rng);
        let rq = self.req(r);
        rq.wait = Wait::QueryCpu;
        let st = rq.station;
        self.arrive_at(st, r, work, q);
    }

    /// A query finished on its instance: hand the connection on, then continue the step.
    #[inline(never)]
    fn query_done(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let now = q.now();
        self.release_connection(r, q);
        // Read after the release (which changes only the slot's `pool`): the fields used, not
        // a copy of the slot kept across the call.
        let rq = &self.reqs[r.idx as usize];
        let (qi, t0, user, rep) = (rq.query, rq.t0, rq.user, rq.rep);
        let (db, write) = (
            self.queries[qi as usize].db,
            self.queries[qi as usize].write,
        );
        let d = &mut self.databases[db as usize];
        if !d.finish_query(now - t0) {
            return self.finish(r, Some(Cause::StatementTimeout), q);
        }
        if write {
            d.replication.on_write(user, now, &mut d.rng);
        }
        if rep > 1 {
            self.req(r).rep -= 1;
            return self.start_query(r, qi, q);
        }
        let rq = &self.reqs[r.idx as usize];
        match &self.endpoints[rq.ep as usize].steps[rq.step as usize] {
            Step::Db(_) => self.step_done(r, q),
            // The miss was read (stage 1) or the database written (write-through, cache-aside):
            // now SET or DEL the key.
            Step::CacheRead { .. } | Step::CacheWrite { .. } => {
                self.req(r).stage += 1;
                self.keyspace_command(r, q);
            }
            _ => unreachable!(),
        }
    }

    fn release_connection(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let pool = self.reqs[r.idx as usize].pool;
        if pool == NONE {
            return;
        }
        self.req(r).pool = NONE;
        if let Some(next) = self.pools[pool as usize].release(q.now()) {
            if self.live(next) {
                self.begin_query(next, q);
            }
        }
    }

    #[inline(never)]
    fn cache_done(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let now = q.now();
        let req = self.reqs[r.idx as usize];
        let step = &self.endpoints[req.ep as usize].steps[req.step as usize];
        let cache = match step {
            Step::Cache { cache, .. } => *cache,
            Step::CacheRead { ks, .. } | Step::CacheWrite { ks, .. } => {
                self.keyspaces[*ks as usize].cache
            }
            _ => unreachable!(),
        };
        let c = &mut self.caches[cache as usize];
        if c.command_timeout.is_some_and(|t| now - req.t0 > t) {
            c.timeouts += 1;
            return self.finish(r, Some(Cause::CacheTimeout), q);
        }
        match *step {
            Step::Cache { .. } => self.step_done(r, q),
            Step::CacheRead { ks, q: qi, .. } => {
                let k = &mut self.keyspaces[ks as usize];
                if req.stage == 0 {
                    if k.lookup(req.key, now) {
                        self.step_done(r, q)
                    } else {
                        let rq = self.req(r);
                        rq.stage = 1;
                        rq.rep = 1;
                        self.start_query(r, qi, q)
                    }
                } else {
                    k.set(req.key, now);
                    self.step_done(r, q)
                }
            }
            Step::CacheWrite { ks, q: qi, .. } => {
                let k = &mut self.keyspaces[ks as usize];
                match k.strategy {
                    CacheStrategy::WriteThrough => k.set(req.key, now),
                    CacheStrategy::CacheAside => k.invalidate(req.key),
                    CacheStrategy::WriteBehind => {
                        k.set(req.key, now);
                        let query = &self.queries[qi as usize];
                        let work = query
                            .time
                            .sample_ns(&mut self.databases[query.db as usize].rng);
                        if self.keyspaces[ks as usize].defer_write(work) {
                            let iv = self.keyspaces[ks as usize].flush_interval;
                            q.schedule_in(iv, Event::CacheFlush { keyspace: ks });
                        }
                    }
                }
                self.step_done(r, q)
            }
            _ => unreachable!(),
        }
    }

    /// Write-behind: the keyspace's pending writes go to the primary as one batched statement.
    /// The flusher's own connection is not counted against the pools.
    fn flush(&mut self, ks: u32, q: &mut EventQueue<Event>) {
        let (n, work) = self.keyspaces[ks as usize].take_batch();
        if n == 0 {
            return;
        }
        let qi = self
            .endpoints
            .iter()
            .flat_map(|e| e.steps.iter())
            .find_map(|s| match s {
                Step::CacheWrite { ks: k, q, .. } if *k == ks => Some(*q),
                _ => None,
            })
            .expect("a write-behind keyspace is written by some step");
        let db = self.queries[qi as usize].db;
        let none = ReqRef { idx: NONE, gen: 0 };
        let r = self.alloc(NONE, none, NONE, NO_USER, Origin::Background);
        let st = self.databases[db as usize].primary;
        self.req(r).wait = Wait::QueryCpu;
        self.arrive_at(st, r, work, q);
    }

    fn drain_rpc(&mut self) {
        for x in &mut self.rpcs {
            self.rpc_scratch.append(&mut x.done);
        }
    }

    fn rpc_settled(&mut self, q: &mut EventQueue<Event>) {
        self.drain_rpc();
        let mut done = std::mem::take(&mut self.rpc_scratch);
        for (r, cause) in done.drain(..) {
            self.rpc_done(r, cause, q);
        }
        self.rpc_scratch = done;
    }

    fn rpc_done(&mut self, r: ReqRef, cause: Option<Cause>, q: &mut EventQueue<Event>) {
        let req = self.reqs[r.idx as usize];
        match self.endpoints[req.ep as usize].steps[req.step as usize] {
            Step::Transaction { chain, .. } => {
                let c = &mut self.chains[chain as usize];
                if let Some(cause) = cause {
                    c.submit_failed();
                    return self.finish(r, Some(cause), q);
                }
                let at = c.confirmed_at(q.now());
                self.req(r).wait = Wait::Confirm;
                q.schedule_at(at, Event::Resume { req: r });
            }
            _ => match cause {
                None => self.step_done(r, q),
                Some(c) => self.finish(r, Some(c), q),
            },
        }
    }

    /// A timed wait ended (`Event::Resume`).
    #[inline(never)]
    pub fn resume(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let req = self.reqs[r.idx as usize];
        match req.wait {
            Wait::Delay => self.step_done(r, q),
            Wait::Connect => self.begin_query(r, q),
            Wait::QueryIo => self.query_cpu(r, q),
            Wait::Confirm => self.confirmed(r, q),
            w => unexpected("resume", w),
        }
    }

    /// A transaction's confirmation wait ended. Out of line, like every arm of `resume` and
    /// `station_done`, so those dispatchers need no stack frame of their own.
    #[inline(never)]
    fn confirmed(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let req = &self.reqs[r.idx as usize];
        let (t0, ep, step) = (req.t0, req.ep, req.step);
        let Step::Transaction { chain, .. } = self.endpoints[ep as usize].steps[step as usize]
        else {
            unreachable!()
        };
        if self.chains[chain as usize].settle(t0, q.now()) {
            self.step_done(r, q)
        } else {
            self.finish(r, Some(Cause::TxReverted), q)
        }
    }

    fn step_done(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let pod = self.reqs[r.idx as usize].pod;
        if pod != NONE && self.pods[pod as usize].killed {
            return self.finish(r, Some(Cause::Terminated), q);
        }
        let rq = self.req(r);
        rq.step += 1;
        rq.wait = Wait::Nothing;
        self.run_step(r, q);
    }

    fn finish(&mut self, r: ReqRef, cause: Option<Cause>, q: &mut EventQueue<Event>) {
        let rq = &self.reqs[r.idx as usize];
        let (pod, origin, parent, client) = (rq.pod, rq.origin, rq.parent, rq.client);
        if pod != NONE {
            let p = &mut self.pods[pod as usize];
            p.inflight -= 1;
            p.completed += 1;
            if p.inflight == 0 && p.state == PodState::Draining {
                self.pod_gone(pod, q.now());
            }
        }
        self.release_slot(r);
        match origin {
            Origin::Background => {}
            Origin::Job(qi) => self.job_done(qi, client, cause.is_none(), q),
            Origin::Client if parent.idx != NONE => {
                // A failed downstream call fails its caller with the same cause.
                match cause {
                    None => self.step_done(parent, q),
                    Some(c) => self.finish(parent, Some(c), q),
                }
            }
            Origin::Client => self.outbox.push(Response {
                client,
                req: r,
                cause,
            }),
        }
    }

    /// Start waiting jobs while some worker has a free slot.
    fn pump_queue(&mut self, qi: u16, q: &mut EventQueue<Event>) {
        let now = q.now();
        loop {
            let jq = &self.queues[qi as usize];
            if jq.is_empty() {
                return;
            }
            let svc = &self.services[jq.service as usize];
            let Some(pod) = svc
                .ready
                .iter()
                .copied()
                .min_by_key(|&p| self.pods[p as usize].inflight)
            else {
                return;
            };
            if self.pods[pod as usize].inflight >= jq.concurrency {
                return;
            }
            let ep = jq.endpoint;
            let job = self.queues[qi as usize].take(now).expect("non-empty");
            let user = self.queues[qi as usize].user(job);
            let none = ReqRef { idx: NONE, gen: 0 };
            let r = self.alloc(ep, none, job, user, Origin::Job(qi));
            self.pods[pod as usize].inflight += 1;
            self.req(r).pod = pod;
            self.run_step(r, q);
        }
    }

    fn job_done(&mut self, qi: u16, job: u32, ok: bool, q: &mut EventQueue<Event>) {
        match self.queues[qi as usize].finished(job, ok, q.now()) {
            After::Retry(wait) => q.schedule_in(wait, Event::JobRetry { queue: qi, job }),
            After::Completed | After::Dead => {}
        }
        self.pump_queue(qi, q);
    }

    fn station_done(&mut self, r: ReqRef, q: &mut EventQueue<Event>) {
        let (origin, wait) = (
            self.reqs[r.idx as usize].origin,
            self.reqs[r.idx as usize].wait,
        );
        if origin == Origin::Background {
            return self.release_slot(r);
        }
        match wait {
            Wait::Cpu => self.step_done(r, q),
            Wait::QueryCpu => self.query_done(r, q),
            Wait::CacheCmd => self.cache_done(r, q),
            w => unexpected("station done", w),
        }
    }

    /// A plain FCFS job finished (`Event::FcfsDone`).
    #[inline]
    pub fn fcfs_event(&mut self, station: u32, r: ReqRef, q: &mut EventQueue<Event>) {
        self.stations[station as usize].fcfs_done(station, q);
        self.station_done(r, q);
    }

    /// The earliest jobs of a virtual-time station finished (`Event::PsDone`).
    #[inline(never)]
    pub fn ps_event(&mut self, station: u32, q: &mut EventQueue<Event>) {
        let mut done = std::mem::take(&mut self.done_scratch);
        self.stations[station as usize].ps_done(station, q, &mut done);
        for r in done.drain(..) {
            self.station_done(r, q);
        }
        self.done_scratch = done;
    }

    pub fn handle(&mut self, ev: Event, q: &mut EventQueue<Event>) {
        match ev {
            Event::FcfsDone { station, req } => self.fcfs_event(station, req, q),
            Event::PsDone { station } => self.ps_event(station, q),
            Event::PoolTimeouts { pool } => {
                let mut expired = std::mem::take(&mut self.done_scratch);
                self.pools[pool as usize].expire(pool, q, &mut expired);
                for r in expired.drain(..) {
                    if self.live(r) {
                        self.req(r).pool = NONE;
                        self.finish(r, Some(Cause::PoolTimeout), q);
                    }
                }
                self.done_scratch = expired;
            }
            Event::PodReady { pod } => self.pod_ready(pod, q.now()),
            Event::PodKill { pod } => self.pod_kill(pod),
            Event::NodeReady { node } => self.node_ready(node, q),
            Event::Resume { req } => self.resume(req, q),
            Event::RpcReply {
                ext,
                call,
                gen,
                provider,
                result,
            } => {
                self.rpcs[ext as usize].on_reply(ext, call, gen, provider, result, q);
                self.rpc_settled(q);
            }
            Event::RpcRetry { ext, call, gen } => {
                self.rpcs[ext as usize].on_retry(ext, call, gen, q);
                self.rpc_settled(q);
            }
            Event::RpcHedge { ext, call, gen } => {
                self.rpcs[ext as usize].on_hedge(ext, call, gen, q);
                self.rpc_settled(q);
            }
            Event::JobRetry { queue, job } => {
                self.queues[queue as usize].requeue(job, q.now());
                self.pump_queue(queue, q);
            }
            Event::CacheFlush { keyspace } => self.flush(keyspace, q),
            _ => unreachable!("not a system event: {ev:?}"),
        }
    }

    /// The on-chain outcome over every chain.
    pub fn tx_stats(&self) -> TxStats {
        let mut t = TxStats::default();
        for c in &self.chains {
            t.add(&c.tx);
        }
        t
    }

    /// Gas burned per chain: every included transaction, reverted ones too.
    pub fn gas_used(&self) -> Vec<(String, u128)> {
        self.chains
            .iter()
            .map(|c| (c.name.clone(), c.tx.gas.sum()))
            .collect()
    }

    /// Billable calls per external provider group: every attempt, retries and hedges included.
    pub fn external_calls(&self) -> Vec<(String, u64)> {
        self.rpcs
            .iter()
            .map(|r| (r.name.clone(), r.providers.iter().map(|p| p.attempts).sum()))
            .collect()
    }
}

mod observe;
