//! The analytic first guess (calibration.md §3): the model read as a product-form network
//! (think time and pure delays as one delay station; each service, database, cache node group
//! and host as one load-dependent station) and solved exactly by `crate::analytic` in
//! microseconds. It seeds the simulator's fit from several starts; the gap between the two at
//! the optimum is the non-product-form effect (pools, caches, FCFS with general service).
//! Models it cannot read (queues, transactions, nested loops) have no surrogate.

use super::measured::{LoadKind, Point};
use super::Pred;
use crate::analytic::{self, Capacity};
use crate::config::contention::ContentionCfg;
use crate::config::model::{Discipline, ModelFile, StepCfg};
use crate::config::scenario::FlowStep;
use crate::config::Loaded;

pub struct Surrogate {
    /// Think time per request.
    think: f64,
    /// Pure delays per request (network, I/O, providers).
    delay: f64,
    stations: Vec<(String, analytic::Station, f64)>,
    /// Per component (`service:x`, `database:y`): its demand per request and the station it
    /// runs on, so a component on a shared host still has its own utilization.
    parts: Vec<(String, String, f64)>,
}

fn capacity(c: f64, cont: Option<&ContentionCfg>) -> Capacity {
    let Some(k) = cont else {
        return Capacity::MultiServer { c };
    };
    if let Some(u) = k.usl {
        Capacity::Inflated {
            c,
            alpha: u.sigma,
            beta: u.kappa,
        }
    } else if let Some(l) = k.linear {
        Capacity::Inflated {
            c,
            alpha: l.alpha,
            beta: 0.0,
        }
    } else if let Some(t) = &k.table {
        let speed = crate::system::station::Speed::from_cfg(Some(k));
        let last = t.last().map(|p| p[0]).unwrap_or(1.0).max(c.ceil()) as usize + 1;
        Capacity::Table(
            (1..=last)
                .map(|n| (n as f64, speed.capacity(c, n)))
                .collect(),
        )
    } else {
        Capacity::MultiServer { c }
    }
}

struct Acc<'a> {
    m: &'a ModelFile,
    demand: Vec<(String, f64)>,
    parts: Vec<(String, String, f64)>,
    delay: f64,
}

impl Acc<'_> {
    fn add(&mut self, station: String, d: f64) {
        self.add_part(station.clone(), station, d);
    }

    /// Demand `d` of `component`, served at `station`.
    fn add_part(&mut self, component: String, station: String, d: f64) {
        match self.parts.iter_mut().find(|(c, _, _)| *c == component) {
            Some(e) => e.2 += d,
            None => self.parts.push((component, station.clone(), d)),
        }
        match self.demand.iter_mut().find(|(n, _)| *n == station) {
            Some(e) => e.1 += d,
            None => self.demand.push((station, d)),
        }
    }

    fn service_station(&self, svc: &str) -> String {
        match &self.m.services[svc].host {
            Some(h) => format!("host:{h}"),
            None => format!("service:{svc}"),
        }
    }

    fn db_station(&self, db: &str) -> String {
        match &self.m.databases[db].host {
            Some(h) => format!("host:{h}"),
            None => format!("database:{db}"),
        }
    }

    fn query(&mut self, d: &crate::config::model::DbStepCfg, mult: f64) {
        let r = d.repeat as f64 * mult;
        let st = self.db_station(&d.database);
        self.add_part(
            format!("database:{}", d.database),
            st,
            r * d.time.mean_ns() / 1e9,
        );
        self.delay += r * d.latency.as_ref().map_or(0.0, |l| l.mean_ns() / 1e9);
    }

    fn walk(&mut self, svc: &str, ep: &str, mult: f64, depth: usize) -> Option<()> {
        if depth > 16 {
            return None;
        }
        let m = self.m;
        for step in m.services.get(svc)?.endpoints.get(ep)? {
            match step {
                StepCfg::Cpu(d) => {
                    let st = self.service_station(svc);
                    self.add_part(format!("service:{svc}"), st, mult * d.mean_ns() / 1e9);
                }
                StepCfg::Call(c) => self.walk(&c.service, &c.endpoint, mult, depth + 1)?,
                StepCfg::Db(d) => self.query(d, mult),
                StepCfg::Delay(d) => self.delay += mult * d.mean_ns() / 1e9,
                StepCfg::Cache(c) => {
                    self.add(format!("cache:{}", c.cache), mult * c.time.mean_ns() / 1e9)
                }
                StepCfg::CacheRead(c) => {
                    self.add(format!("cache:{}", c.cache), mult * c.time.mean_ns() / 1e9)
                }
                StepCfg::CacheWrite(c) => {
                    self.add(format!("cache:{}", c.cache), mult * c.time.mean_ns() / 1e9);
                    self.query(&c.db, mult);
                }
                StepCfg::External(e) => {
                    let x = m.externals.get(&e.provider)?;
                    let lat = x
                        .latency
                        .as_ref()
                        .or(x.providers.first().map(|p| &p.latency))?;
                    self.delay += mult * lat.mean_ns() / 1e9;
                }
                StepCfg::Enqueue(_) | StepCfg::Transaction(_) => return None,
            }
        }
        Some(())
    }
}

/// (requests, think seconds) of one pass over `steps`, walking each request's endpoint.
fn flow(l: &Loaded, steps: &[FlowStep], mult: f64, acc: &mut Acc) -> Option<(f64, f64)> {
    let (mut reqs, mut think) = (0.0, 0.0);
    for s in steps {
        match s {
            FlowStep::Request(target) => {
                let (svc, ep) = crate::config::resolve_endpoint(&l.model, target)?;
                acc.walk(svc, ep, mult, 0)?;
                reqs += mult;
            }
            FlowStep::Sleep(d) => think += mult * d.mean_ns() / 1e9,
            FlowStep::Loop(lp) => {
                let (r, t) = flow(l, &lp.steps, mult * lp.count as f64, acc)?;
                reqs += r;
                think += t;
            }
        }
    }
    Some((reqs, think))
}

pub fn build(l: &Loaded) -> Option<Surrogate> {
    let m = &l.model;
    if !m.queues.is_empty() || !m.chains.is_empty() {
        return None;
    }
    let total_w: f64 = l.scenario.flows.values().map(|f| f.weight).sum();
    let mut acc = Acc {
        m,
        demand: Vec::new(),
        parts: Vec::new(),
        delay: 0.0,
    };
    let (mut reqs, mut think) = (0.0, 0.0);
    for f in l.scenario.flows.values() {
        let (r, t) = flow(l, &f.steps, f.weight / total_w, &mut acc)?;
        reqs += r;
        think += t;
    }
    if reqs <= 0.0 {
        return None;
    }
    let mut stations = Vec::new();
    for (name, d) in &acc.demand {
        let (kind, id) = name.split_once(':')?;
        let (c, cap) = match kind {
            "service" => {
                let s = &m.services[id];
                let per = match s.pod.discipline {
                    Discipline::Ps => s.pod.cores,
                    Discipline::Fcfs => {
                        s.pod.workers.unwrap_or(s.pod.cores.ceil().max(1.0) as u32) as f64
                    }
                };
                let c = per * s.replicas.max(1) as f64;
                (c, capacity(c, s.pod.contention.as_ref()))
            }
            "database" => {
                let db = &m.databases[id];
                let c = db.cores as f64 * (1 + db.read_replicas) as f64;
                (c, capacity(c, db.contention.as_ref()))
            }
            "cache" => {
                let k = &m.caches[id];
                (
                    k.nodes as f64,
                    capacity(k.nodes as f64, k.contention.as_ref()),
                )
            }
            "host" => {
                let h = &m.hosts[id];
                (h.cores, capacity(h.cores, h.contention.as_ref()))
            }
            _ => return None,
        };
        stations.push((name.clone(), analytic::Station::new(d / reqs, cap), c));
    }
    let parts = acc
        .parts
        .into_iter()
        .map(|(c, st, d)| (c, st, d / reqs))
        .collect();
    Some(Surrogate {
        think: think / reqs,
        delay: acc.delay / reqs,
        stations,
        parts,
    })
}

/// The most VUs the closed product-form first guess is solved for.
const MAX_CLOSED_N: f64 = 1e6;

impl Surrogate {
    /// The exact product-form prediction at one point; `resource` maps a measured column to a
    /// resource name. Terms it cannot predict copy the measurement (no residual).
    pub fn predict(&self, p: &Point, resource: &dyn Fn(&str) -> String) -> Option<Pred> {
        let st: Vec<analytic::Station> = self.stations.iter().map(|s| s.1.clone()).collect();
        let (x, r) = match p.kind {
            LoadKind::Closed => {
                // The exact solution keeps O(N) terms per station: past this many VUs the
                // first guess is skipped (5e7 VUs allocated 3 GiB and aborted).
                if p.load.is_nan() || p.load > MAX_CLOSED_N {
                    return None;
                }
                let n = p.load.round().max(1.0) as u32;
                let xs = analytic::closed_x(self.think + self.delay, &st, n).ok()?;
                let x = *xs.last()?;
                (x, n as f64 / x - self.think)
            }
            LoadKind::Open => {
                let mut r = self.delay;
                for s in &st {
                    r += analytic::open_birth_death(p.load, s.demand, &s.cap, None)
                        .ok()?
                        .r;
                }
                (p.load, r)
            }
        };
        // (demand per request, cores of the station it runs on) of a measured resource.
        let find = |col: &str| -> Option<(f64, f64)> {
            let want = resource(col);
            if let Some((_, st, d)) = self.parts.iter().find(|p| p.0 == want) {
                let c = self.stations.iter().find(|s| s.0 == *st)?.2;
                return Some((*d, c));
            }
            self.stations
                .iter()
                .find(|s| s.0 == want)
                .map(|s| (s.1.demand, s.2))
        };
        Some(Pred {
            x,
            r,
            p95: p.lat_p95.unwrap_or(r),
            util: p
                .util
                .iter()
                .map(|(c, m)| find(c).map_or(*m, |(d, k)| x * d / k))
                .collect(),
            cpu_s: p
                .cpu_s
                .iter()
                .map(|(c, m)| find(c).map_or(*m, |(d, _)| d))
                .collect(),
            ..Pred::default()
        })
    }
}
