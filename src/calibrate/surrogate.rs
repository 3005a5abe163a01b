//! The analytic first guess (calibration.md §3): the model read as a product-form network
//! (think time and pure delays as one delay station; each service, database, cache node group
//! and host as one load-dependent station) and solved exactly by `crate::analytic` in
//! microseconds. It seeds the simulator's fit from several starts; the gap between the two at
//! the optimum is the non-product-form effect (pools, caches, FCFS with general service).
//! Models it cannot read (queues, transactions, nested loops) have no surrogate.

use super::measured::{LoadKind, Point};
use super::Pred;
use crate::analytic::{self, Capacity};
use crate::config::contention::{ContentionCfg, CpuAccounting};
use crate::config::model::{Discipline, ModelFile, StepCfg};
use crate::config::scenario::FlowStep;
use crate::config::Loaded;

/// One station of the model: `copies` identical product-form stations (a service's pods, each
/// with its own contention over its own jobs, a request visiting one of them at random), each
/// with `per` (1/copies of the demand).
struct St {
    name: String,
    per: analytic::Station,
    copies: u32,
    /// Cores of all the copies together.
    cores: f64,
    /// Contention reported as occupied servers (`cpu: busy`, the default) rather than useful
    /// speed: utilization E[min(n, c)]/c and CPU-s per request E[min(n, c)]/X.
    busy: bool,
}

pub struct Surrogate {
    /// Think time per request.
    think: f64,
    /// Pure delays per request (network, I/O, providers).
    delay: f64,
    stations: Vec<St>,
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
        let busy = |k: Option<&ContentionCfg>| k.is_some_and(|k| k.cpu == CpuAccounting::Busy);
        let (c, cap, copies, b) = match kind {
            "service" => {
                let s = &m.services[id];
                let per = match s.pod.discipline {
                    Discipline::Ps => s.pod.cores,
                    Discipline::Fcfs => {
                        s.pod.workers.unwrap_or(s.pod.cores.ceil().max(1.0) as u32) as f64
                    }
                };
                let k = s.pod.contention.as_ref();
                match (k, s.replicas.max(1)) {
                    // Each pod's contention acts on its own jobs, not the merged station's (up
                    // to MAX_COPIES pods; past that the first guess merges them, for speed).
                    (Some(_), r) if r > 1 && r <= MAX_COPIES => {
                        (per * r as f64, capacity(per, k), r, busy(k))
                    }
                    (_, r) => {
                        let c = per * r as f64;
                        (c, capacity(c, k), 1, busy(k))
                    }
                }
            }
            "database" => {
                let db = &m.databases[id];
                let c = db.cores as f64 * (1 + db.read_replicas) as f64;
                let k = db.contention.as_ref();
                (c, capacity(c, k), 1, busy(k))
            }
            "cache" => {
                let k = &m.caches[id];
                let kc = k.contention.as_ref();
                (k.nodes as f64, capacity(k.nodes as f64, kc), 1, busy(kc))
            }
            "host" => {
                let h = &m.hosts[id];
                let k = h.contention.as_ref();
                (h.cores, capacity(h.cores, k), 1, busy(k))
            }
            _ => return None,
        };
        stations.push(St {
            name: name.clone(),
            per: analytic::Station::new(d / reqs / copies as f64, cap),
            copies,
            cores: c,
            busy: b,
        });
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

/// The most pods of one contended service the first guess solves one by one.
const MAX_COPIES: u32 = 16;

/// The most VUs the closed product-form first guess is solved for.
const MAX_CLOSED_N: f64 = 1e6;

impl Surrogate {
    /// The cores (servers) of the station a resource (`service:api`, `database:pg`) runs on.
    pub fn cores(&self, resource: &str) -> Option<f64> {
        let station = self
            .parts
            .iter()
            .find(|p| p.0 == resource)
            .map_or(resource, |p| p.1.as_str());
        self.stations
            .iter()
            .find(|s| s.name == station)
            .map(|s| s.cores)
    }

    /// The exact product-form prediction at one point; `resource` maps a measured column to a
    /// resource name. Terms it cannot predict copy the measurement (no residual).
    pub fn predict(&self, p: &Point, resource: &dyn Fn(&str) -> String) -> Option<Pred> {
        let st: Vec<analytic::Station> = self
            .stations
            .iter()
            .flat_map(|s| std::iter::repeat_n(s.per.clone(), s.copies as usize))
            .collect();
        // Occupied servers E[min(n, c)] of each model station, summed over its copies, where
        // the exact solution gives them (closed points).
        let mut occupied: Vec<Option<f64>> = vec![None; self.stations.len()];
        let (x, r) = match p.kind {
            LoadKind::Closed => {
                // The exact solution keeps O(N) terms per station: past this many VUs the
                // first guess is skipped (5e7 VUs allocated 3 GiB and aborted).
                if p.load.is_nan() || p.load > MAX_CLOSED_N {
                    return None;
                }
                let n = p.load.round().max(1.0) as u32;
                let sol = analytic::closed(self.think + self.delay, &st, n).ok()?;
                let last = sol.last()?;
                let mut k = 0;
                for (i, s) in self.stations.iter().enumerate() {
                    let pts = &last.stations[k..k + s.copies as usize];
                    k += s.copies as usize;
                    occupied[i] = pts.iter().map(|q| q.busy).sum::<Option<f64>>();
                }
                (last.x, n as f64 / last.x - self.think)
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
        // (core-seconds per request, cores of the station it runs on) of a measured resource:
        // its demand, or with `cpu: busy` contention its share of the occupied servers over X
        // (contention that burns CPU raises CPU per request with load, as the simulator counts).
        let find = |col: &str| -> Option<(f64, f64)> {
            let want = resource(col);
            let (st, d) = match self.parts.iter().find(|p| p.0 == want) {
                Some((_, st, d)) => (st.as_str(), *d),
                None => {
                    let s = self.stations.iter().find(|s| s.name == want)?;
                    (want.as_str(), s.per.demand * s.copies as f64)
                }
            };
            let i = self.stations.iter().position(|s| s.name == st)?;
            let s = &self.stations[i];
            let total = s.per.demand * s.copies as f64;
            match occupied[i] {
                Some(b) if s.busy && total > 0.0 => Some((b * d / total / x, s.cores)),
                _ => Some((d, s.cores)),
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::measured::Role;

    fn point(n: f64) -> Point {
        Point {
            source: String::new(),
            kind: LoadKind::Closed,
            load: n,
            throughput: 1.0,
            lat_mean: 1.0,
            lat_p95: None,
            error_rate: None,
            think: None,
            util: vec![("db".into(), 0.5)],
            cpu_s: vec![("db".into(), 1.0)],
            role: Role::Fit,
            iterations: None,
            dropped: None,
        }
    }

    const SCENARIO: &str = "model: m.yaml\nflows:\n  loop:\n    steps:\n      - request: tx\n      - sleep: exp(mean=1s)\n\
        scenarios:\n  clients:\n    executor: constant-vus\n    vus: 1\n    duration: 60s\n";

    /// The reference's case C (§2.1): c(n) = min(n, 2)/(1 + 0.1(n − 1)), S0 = Z = 1. With
    /// `cpu: busy` (the default) the CPU-s per request is E[min(n, 2)]/X and the utilization
    /// E[min(n, 2)]/2, not the useful work X·S0.
    #[test]
    fn contention_that_burns_cpu_counts_occupied_servers() {
        let model = "entry: db\nservices:\n  db:\n    replicas: 1\n    pod: {cores: 2, contention: {linear: {alpha: 0.1}}}\n    endpoints:\n      tx:\n        - cpu: exp(mean=1s)\n";
        let l = crate::config::from_strs(SCENARIO, model).unwrap();
        let s = build(&l).unwrap();
        let xs = [
            0.5,
            40.0 / 41.0,
            615.0 / 464.0,
            9280.0 / 6167.0,
            61670.0 / 40279.0,
        ];
        let cpu = [1.0, 1.05, 1.102439, 1.167457, 1.249522];
        for n in 1..=5 {
            let q = s
                .predict(&point(n as f64), &|_| "service:db".to_string())
                .unwrap();
            assert!((q.x / xs[n - 1] - 1.0).abs() < 1e-9, "X({n}) {}", q.x);
            assert!(
                (q.cpu_s[0] - cpu[n - 1]).abs() < 1e-6,
                "cpu({n}) {}",
                q.cpu_s[0]
            );
            assert!(
                (q.util[0] - q.x * cpu[n - 1] / 2.0).abs() < 1e-6,
                "util({n})"
            );
        }
        // `cpu: useful` keeps the useful work S0 per request.
        let useful = model.replace("alpha: 0.1}", "alpha: 0.1}, cpu: useful");
        let l = crate::config::from_strs(SCENARIO, &useful).unwrap();
        let q = build(&l)
            .unwrap()
            .predict(&point(5.0), &|_| "service:db".to_string())
            .unwrap();
        assert!((q.cpu_s[0] - 1.0).abs() < 1e-9, "{}", q.cpu_s[0]);
    }

    /// Two pods with contention: each pod's c(n) acts on its own jobs (random routing, so two
    /// product-form stations with half the demand each), not the merged station's n. With
    /// USL(σ = 0.5, κ = 0), S = 1, Z = 0, N = 2 the exact X is 1.6; the merged station gave
    /// c(2)/S = 4/3.
    #[test]
    fn per_pod_contention_uses_each_pods_jobs() {
        let model = "entry: db\nservices:\n  db:\n    replicas: 2\n    pod: {cores: 4, contention: {usl: {sigma: 0.5, kappa: 0}}}\n    endpoints:\n      tx:\n        - cpu: exp(mean=1s)\n";
        let scen = SCENARIO.replace("      - sleep: exp(mean=1s)\n", "");
        let l = crate::config::from_strs(&scen, model).unwrap();
        let q = build(&l)
            .unwrap()
            .predict(&point(2.0), &|_| "service:db".to_string())
            .unwrap();
        // States of (pod 1, pod 2) at N = 2, demand 1/2 each, c(1) = 1, c(2) = 2/1.5:
        // weights f(2)f(0) = (1/2)²/(4/3) twice, f(1)f(1) = 1/4; X = G(1)/G(2), G(1) = 1.
        let g2 = 2.0 * 0.25 / (4.0 / 3.0) + 0.25;
        assert!((q.x - 1.0 / g2).abs() < 1e-9, "X {} vs {}", q.x, 1.0 / g2);
    }
}
