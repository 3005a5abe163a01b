//! The resource model: what a run will need, estimated from its configuration before it
//! starts, and the budgets it must stay within (`--max-memory`, `--max-events`).
//!
//! The estimate sums the things that grow with the configuration: virtual users (k6 VUs,
//! Artillery arrivals still running), the ramping-vus plan, cache keys, pods and database
//! instances, per-endpoint histograms and the time series (rows = horizon / sample_interval,
//! times its columns; the horizon is the executors' regular end, extended by an iteration still
//! running then (until gracefulStop for k6, to the flow's end for Artillery), cut by
//! `duration`). The event count is the arrivals (rate × duration, or phase areas) and the
//! closed loops' iterations times the events one iteration needs, plus one event per sample.
//! Where the configuration does not determine a quantity the estimate takes a lower bound, so
//! a refusal is never wrong: a closed VU's iteration lasts at most its think time plus one
//! client timeout per request, so it runs at least duration / that many iterations; an open
//! executor's VUs are at least arrival rate × the flow's own service time (Little's law).
//! The engine enforces the same budgets while it runs (`Meter`), which catches the rest.

use super::model::{DbStepCfg, ModelFile, StepCfg};
use super::scenario::{ExecutorCfg, FlowStep, ScenarioFile};
use crate::engine::{Nanos, SEC};
use std::collections::BTreeMap;

/// Bytes per virtual user: its state in the workload, its pending events (a wake-up or a
/// client timeout, a hard stop), its in-flight request and its per-user system state.
pub const VU_BYTES: u64 = 512;
/// Bytes per pod: the pod, its CPU station, connection pools and load-balancer slot.
pub const POD_BYTES: u64 = 2048;
/// Bytes per database instance, cache node or cluster node.
pub const INSTANCE_BYTES: u64 = 1024;
/// Bytes per pending event in the queue (a 40-byte entry: time, sequence, event, timer slot; and slack).
pub const EVENT_BYTES: u64 = 48;
/// Bytes per time-series cell (an f64), and the per-row vector header.
const CELL_BYTES: u64 = 8;
const ROW_BYTES: u64 = 24;
/// One HDR histogram (1 ns..1 h at 3 significant figures, u64 counts), per trend.
pub const HISTOGRAM_BYTES: u64 = 200 * 1024;
/// One ramping-vus plan step `(u64, u32)`.
const PLAN_STEP_BYTES: u64 = 16;
/// Memory the simulator needs besides the model (binary, allocator, report buffers).
const BASE_BYTES: u64 = 64 << 20;

/// Default event budget: at a few million events per second, tens of minutes of wall time.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000_000;
/// Default memory budget: this fraction of the machine's RAM.
pub const DEFAULT_MEMORY_FRACTION: f64 = 0.5;
/// When the machine's RAM cannot be read.
const FALLBACK_RAM: u64 = 8 << 30;

/// Largest VU count k6 accepts for startVUs and stage targets (validateTargetShifts).
pub const MAX_VUS: u64 = 100_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub max_memory: u64,
    pub max_events: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_memory: (machine_ram() as f64 * DEFAULT_MEMORY_FRACTION) as u64,
            max_events: DEFAULT_MAX_EVENTS,
        }
    }
}

impl Budget {
    /// The default budget with the given overrides (`--max-memory 4Gi`, `--max-events 1e9`).
    pub fn from_flags(max_memory: Option<&str>, max_events: Option<&str>) -> Result<Self, String> {
        let mut b = Budget::default();
        if let Some(s) = max_memory {
            b.max_memory = parse_bytes(s).map_err(|e| format!("--max-memory {s:?}: {e}"))?;
        }
        if let Some(s) = max_events {
            b.max_events = parse_count(s).map_err(|e| format!("--max-events {s:?}: {e}"))?;
        }
        Ok(b)
    }

    /// This budget shared by `jobs` runs at once (a sweep's parallel runs share the RAM).
    pub fn shared(self, jobs: usize) -> Self {
        Budget {
            max_memory: self.max_memory / jobs.max(1) as u64,
            ..self
        }
    }
}

/// Total RAM from /proc/meminfo (`MemTotal`, in kB), or 8 GiB when it cannot be read; lowered
/// to the process's address-space limit (`ulimit -v`) and its cgroup's `memory.max` when those
/// are smaller, so that the default budget refuses a run the process could not allocate
/// (under `ulimit -v 4000000` on a 23 GiB machine, a 5e7-VU run passed the budget and
/// aborted on a 3 GiB allocation).
pub fn machine_ram() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| meminfo_total(&t))
        .unwrap_or(FALLBACK_RAM);
    let rlimit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| address_space_limit(&t));
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    [rlimit, cgroup].into_iter().flatten().fold(total, u64::min)
}

/// The soft `Max address space` limit in /proc/self/limits, in bytes (`None`: unlimited).
fn address_space_limit(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    line.trim_start_matches("Max address space")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Bytes as a Kubernetes quantity (`512Mi`, `4Gi`, `2G`) or a plain number.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let v = super::quantity::parse_quantity(s.trim())
        .map_err(|e| format!("expected a size such as 512Mi, 4Gi or 2G: {e}"))?;
    if v.is_finite() && v >= 1.0 {
        Ok(v.min(u64::MAX as f64) as u64)
    } else {
        Err(format!("expected a positive size, got {v}"))
    }
}

fn parse_count(s: &str) -> Result<u64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| "expected a number such as 1e9".to_string())?;
    if v.is_finite() && v >= 1.0 {
        Ok(v.min(u64::MAX as f64) as u64)
    } else {
        Err(format!("expected a positive count, got {v}"))
    }
}

/// Human-readable bytes (binary units).
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn fmt_count(n: u64) -> String {
    if n < 100_000 {
        n.to_string()
    } else {
        format!("{:.2e}", n as f64)
    }
}

/// Which file a part of the estimate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Scenario,
    Model,
}

/// One term of the estimate: where it comes from and what it costs.
#[derive(Clone, Debug)]
pub struct Part {
    pub source: Source,
    pub field: String,
    pub what: String,
    pub bytes: u64,
    pub events: u64,
    /// Measured live by the engine (VUs, time-series rows) rather than fixed at the start.
    pub live: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Estimate {
    pub parts: Vec<Part>,
    /// When the run ends at the latest (ns), as used for the time series.
    pub horizon: Nanos,
    /// Time-series columns assumed.
    pub columns: u64,
}

impl Estimate {
    pub fn memory(&self) -> u64 {
        self.parts
            .iter()
            .fold(BASE_BYTES, |a, p| a.saturating_add(p.bytes))
    }

    pub fn events(&self) -> u64 {
        self.parts
            .iter()
            .fold(0u64, |a, p| a.saturating_add(p.events))
    }

    /// The configuration over budget: (file, field, message stating the estimate).
    pub fn check(&self, b: &Budget) -> Result<(), (Source, String, String)> {
        let mem = self.memory();
        let by_bytes = self.parts.iter().max_by_key(|p| p.bytes);
        if let Some(top) = by_bytes.filter(|_| mem > b.max_memory) {
            return Err((
                top.source,
                top.field.clone(),
                format!(
                    "this run would need about {} of memory, over the budget of {} \
                     (--max-memory; default: {:.0}% of this machine's RAM or memory limit); the simulator itself \
                     takes {}, and the largest part is {} for {}",
                    fmt_bytes(mem),
                    fmt_bytes(b.max_memory),
                    DEFAULT_MEMORY_FRACTION * 100.0,
                    fmt_bytes(BASE_BYTES),
                    fmt_bytes(top.bytes),
                    top.what
                ),
            ));
        }
        let ev = self.events();
        let by_events = self.parts.iter().max_by_key(|p| p.events);
        if let Some(top) = by_events.filter(|_| ev > b.max_events) {
            return Err((
                top.source,
                top.field.clone(),
                format!(
                    "this run would process about {} events, over the budget of {} \
                     (--max-events); the largest part is {} events for {}",
                    fmt_count(ev),
                    fmt_count(b.max_events),
                    fmt_count(top.events),
                    top.what
                ),
            ));
        }
        Ok(())
    }
}

fn sat(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x.ceil() as u64
    }
}

/// Events and busy time of one call of an endpoint or one iteration of a flow.
#[derive(Clone, Copy, Default)]
struct Cost {
    events: f64,
    /// The mean service and think time: a lower bound of how long it takes.
    time_ns: f64,
    /// Think time alone, and the number of requests (each lasts at most a client timeout).
    sleep_ns: f64,
    requests: f64,
}

impl Cost {
    /// An upper bound of how long it takes, with `timeout` per request.
    fn max_time(&self, timeout: f64) -> f64 {
        self.sleep_ns + self.requests * timeout
    }
}

fn db_cost(d: &DbStepCfg) -> Cost {
    let n = f64::from(d.repeat);
    Cost {
        // Pool acquire, the query's completion, and the network latency when given.
        events: n * if d.latency.is_some() { 3.0 } else { 2.0 },
        time_ns: n * (d.time.mean_ns() + d.latency.as_ref().map_or(0.0, |l| l.mean_ns())),
        ..Cost::default()
    }
}

fn endpoint_cost(
    m: &ModelFile,
    svc: &str,
    ep: &str,
    memo: &mut BTreeMap<(String, String), Cost>,
    depth: usize,
) -> Cost {
    if let Some(c) = memo.get(&(svc.to_string(), ep.to_string())) {
        return *c;
    }
    let Some(steps) = m.services.get(svc).and_then(|s| s.endpoints.get(ep)) else {
        return Cost::default();
    };
    // Admission and the final response; a least-outstanding balancer also scans every pod
    // (counted as work equivalent to one event per pod).
    let scan = m.services.get(svc).map_or(0.0, |s| match s.load_balancer {
        super::model::LbPolicy::LeastOutstanding => f64::from(s.replicas),
        _ => 0.0,
    });
    let mut c = Cost {
        events: 2.0 + scan,
        ..Cost::default()
    };
    for st in steps {
        let s = match st {
            StepCfg::Cpu(d) | StepCfg::Delay(d) => Cost {
                events: 1.0,
                time_ns: d.mean_ns(),
                ..Cost::default()
            },
            StepCfg::Call(call) if depth < 64 => {
                endpoint_cost(m, &call.service, &call.endpoint, memo, depth + 1)
            }
            StepCfg::Call(_) => Cost::default(),
            StepCfg::Db(d) => db_cost(d),
            StepCfg::Cache(x) => Cost {
                events: 1.0,
                time_ns: x.time.mean_ns(),
                ..Cost::default()
            },
            // A hit costs one event; a miss adds the query (not counted: a lower bound).
            StepCfg::CacheRead(x) => Cost {
                events: 1.0,
                time_ns: x.time.mean_ns(),
                ..Cost::default()
            },
            StepCfg::CacheWrite(x) => Cost {
                events: 1.0,
                time_ns: x.time.mean_ns(),
                ..Cost::default()
            },
            StepCfg::External(_) | StepCfg::Enqueue(_) => Cost {
                events: 1.0,
                ..Cost::default()
            },
            StepCfg::Transaction(_) => Cost {
                events: 1.0,
                ..Cost::default()
            },
        };
        c.events += s.events;
        c.time_ns += s.time_ns;
    }
    memo.insert((svc.to_string(), ep.to_string()), c);
    c
}

fn flow_cost(
    m: &ModelFile,
    steps: &[FlowStep],
    memo: &mut BTreeMap<(String, String), Cost>,
) -> Cost {
    let mut c = Cost::default();
    for st in steps {
        let s = match st {
            FlowStep::Request(t) => match super::resolve_endpoint(m, t) {
                // The send and the endpoint itself.
                Some((svc, ep)) => {
                    let e = endpoint_cost(m, svc, ep, memo, 0);
                    Cost {
                        events: 1.0 + e.events,
                        time_ns: e.time_ns,
                        sleep_ns: 0.0,
                        requests: 1.0,
                    }
                }
                None => Cost::default(),
            },
            FlowStep::Sleep(d) => Cost {
                events: 1.0,
                time_ns: d.mean_ns(),
                sleep_ns: d.mean_ns(),
                requests: 0.0,
            },
            FlowStep::Loop(l) => {
                let inner = flow_cost(m, &l.steps, memo);
                let k = f64::from(l.count);
                Cost {
                    events: inner.events * k,
                    time_ns: inner.time_ns * k,
                    sleep_ns: inner.sleep_ns * k,
                    requests: inner.requests * k,
                }
            }
        };
        c.events += s.events;
        c.time_ns += s.time_ns;
        c.sleep_ns += s.sleep_ns;
        c.requests += s.requests;
    }
    c
}

/// A lower bound of one iteration of the flows a scenario may pick: the fewest events, the
/// shortest service time, and (for `max_time`) the longest flow.
fn scenario_iteration(s: &ScenarioFile, e: &ExecutorCfg, costs: &BTreeMap<&String, Cost>) -> Cost {
    let only = e.common().2;
    let picked: Vec<Cost> = s
        .flows
        .keys()
        .filter(|n| only.is_none_or(|o| o.contains(n)))
        .filter_map(|n| costs.get(n).copied())
        .collect();
    let min = |f: fn(&Cost) -> f64| picked.iter().map(f).fold(f64::INFINITY, f64::min);
    let max = |f: fn(&Cost) -> f64| picked.iter().map(f).fold(0.0, f64::max);
    if picked.is_empty() {
        return Cost::default();
    }
    Cost {
        events: min(|c| c.events),
        time_ns: min(|c| c.time_ns),
        sleep_ns: max(|c| c.sleep_ns),
        requests: max(|c| c.requests),
    }
}

/// A piecewise-linear rate: segments (length ns, value at its start, value at its end).
type Segments = Vec<(f64, f64, f64)>;

/// How long an iteration of the flows a scenario may pick lasts at the least, and which flow
/// that is: its service and think time, or, when client timeouts cut its requests short,
/// its think time plus a timeout per request.
fn shortest_iteration<'a>(
    s: &'a ScenarioFile,
    e: &ExecutorCfg,
    costs: &BTreeMap<&String, Cost>,
    timeout: f64,
) -> (f64, Option<&'a String>) {
    let only = e.common().2;
    s.flows
        .keys()
        .filter(|n| only.is_none_or(|o| o.contains(n)))
        .filter_map(|n| {
            costs
                .get(n)
                .map(|c| (c.time_ns.min(c.max_time(timeout)), Some(n)))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((0.0, None))
}

/// When the last arrival comes at the earliest (ns from the start): the start of the last
/// segment that brings at least one arrival.
fn last_arrival(segs: &[(f64, f64, f64)]) -> Option<f64> {
    let mut at = 0.0;
    let mut last = None;
    for &(d, r0, r1) in segs {
        if d * (r0 + r1) / 2.0 >= 1.0 {
            last = Some(at);
        }
        at += d;
    }
    last
}

/// Up to `t` ns into the segments: (area, time covered, largest value reached).
fn until(segs: &[(f64, f64, f64)], t: f64) -> (f64, f64, f64) {
    let (mut area, mut at, mut peak) = (0.0, 0.0, 0.0f64);
    for &(d, r0, r1) in segs {
        if at > t || (at == t && d > 0.0) {
            break;
        }
        let x = d.min(t - at);
        let r = if d > 0.0 { r0 + (r1 - r0) * x / d } else { r1 };
        area += x * (r0 + r) / 2.0;
        peak = peak.max(r0).max(r);
        at += x;
    }
    (area, at, peak)
}

/// An open executor's arrival rate over time, in arrivals per ns.
fn arrival_segments(e: &ExecutorCfg) -> Option<Segments> {
    let per = |rate: f64, tu: Nanos| {
        if tu == 0 {
            f64::INFINITY
        } else {
            rate / tu as f64
        }
    };
    Some(match e {
        ExecutorCfg::ConstantArrivalRate(c) => {
            let r = per(c.rate, c.time_unit.0);
            vec![(c.duration.0 as f64, r, r)]
        }
        ExecutorCfg::PoissonArrivals(c) => {
            let r = per(c.rate, c.time_unit.0);
            vec![(c.duration.0 as f64, r, r)]
        }
        ExecutorCfg::RampingArrivalRate(c) => {
            let mut r0 = per(c.start_rate, c.time_unit.0);
            let mut segs = Vec::new();
            for st in &c.stages {
                let r1 = per(st.target, c.time_unit.0);
                segs.push((st.duration.0 as f64, r0, r1));
                r0 = r1;
            }
            segs
        }
        ExecutorCfg::Artillery(c) => {
            let sec = SEC as f64;
            let mut segs = Vec::new();
            for p in &c.phases {
                let d = p.duration.map_or(0.0, |d| d.0 as f64);
                if let Some(pause) = p.pause {
                    segs.push((pause.0 as f64, 0.0, 0.0));
                    continue;
                }
                segs.push(match (p.arrival_count, p.arrival_rate, p.ramp_to) {
                    (Some(k), _, _) if d > 0.0 => (d, k as f64 / d, k as f64 / d),
                    (None, r, Some(to)) => (d.max(sec), r.unwrap_or(0.0) / sec, to / sec),
                    (None, Some(r), None) => (d, r / sec, r / sec),
                    _ => (d, 0.0, 0.0),
                });
            }
            segs
        }
        _ => return None,
    })
}

/// Estimate what a run of this (validated) configuration needs.
pub fn estimate(s: &ScenarioFile, m: &ModelFile) -> Estimate {
    let mut parts = Vec::new();
    let mut memo = BTreeMap::new();
    let costs: BTreeMap<&String, Cost> = s
        .flows
        .iter()
        .map(|(n, f)| (n, flow_cost(m, &f.steps, &mut memo)))
        .collect();
    let mut horizon: f64 = 0.0;
    // An Artillery scenario whose VUs outlive its phases: (when the last one ends, why).
    let mut outlived: Option<(f64, String, String)> = None;
    for (name, e) in &s.scenarios {
        let at = format!("scenarios.{name}");
        let (start, _, _, timeout) = e.common();
        let it = scenario_iteration(s, e, &costs);
        // Per arrival: the arrival event, plus the iteration when a VU takes it.
        let timeout = timeout.unwrap_or(s.request_timeout).0 as f64;
        // How much of the executor runs before the run's `duration` cuts it.
        let window = s
            .duration
            .map_or(f64::INFINITY, |c| (c.0 as f64 - start.0 as f64).max(0.0));
        let closed = |vus: f64, dur: f64, field: String, parts: &mut Vec<Part>| {
            // A VU starts at least one iteration, and an iteration lasts at most its think
            // time plus a client timeout per request.
            let longest = it.max_time(timeout);
            let iters = if longest > 0.0 {
                vus * (dur / longest).max(1.0)
            } else {
                vus
            };
            parts.push(Part {
                source: Source::Scenario,
                field,
                what: format!("{} VUs over {}", fmt_count(sat(vus)), secs(dur)),
                bytes: sat(vus).saturating_mul(VU_BYTES),
                events: sat(iters * it.events),
                live: true,
            });
        };
        // (The regular end, when an iteration still running then began at the earliest.)
        let (end, runs_on) = match e {
            // A fixed number of looping VUs for at most a duration.
            ExecutorCfg::ConstantVus(_)
            | ExecutorCfg::SharedIterations(_)
            | ExecutorCfg::PerVuIterations(_) => {
                let (vus, d) = match e {
                    ExecutorCfg::ConstantVus(c) => (c.vus, c.duration.0),
                    ExecutorCfg::SharedIterations(c) => (c.vus, c.max_duration.0),
                    ExecutorCfg::PerVuIterations(c) => (c.vus, c.max_duration.0),
                    _ => unreachable!("matched above"),
                };
                let d = d as f64;
                closed(
                    f64::from(vus),
                    d.min(window),
                    format!("{at}.vus"),
                    &mut parts,
                );
                // Every VU starts an iteration at the start.
                (d, Some(0.0))
            }
            ExecutorCfg::RampingVus(c) => {
                let d: f64 = c.stages.iter().map(|x| x.duration.0 as f64).sum();
                let (mut at_peak, mut top) = (format!("{at}.startVUs"), f64::from(c.start_vus));
                let (mut from, mut steps) = (f64::from(c.start_vus), 0.0);
                let mut segs = Vec::new();
                for (i, st) in c.stages.iter().enumerate() {
                    let to = st.target.max(0.0);
                    if to > top {
                        top = to;
                        at_peak = format!("{at}.stages[{i}].target");
                    }
                    steps += (to - from).abs();
                    segs.push((st.duration.0 as f64, from, to));
                    from = to;
                }
                // Up to the cut: iterations follow the VU-time area; VUs are allocated up
                // to the highest level reached.
                let (area, covered, peak) = until(&segs, window);
                let peak = peak.max(f64::from(c.start_vus));
                let mean_vus = if covered > 0.0 { area / covered } else { peak };
                closed(mean_vus, covered, at_peak.clone(), &mut parts);
                if let Some(p) = parts.last_mut() {
                    p.bytes = sat(peak).saturating_mul(VU_BYTES);
                    p.what = format!("{} VUs at the peak", fmt_count(sat(peak)));
                }
                parts.push(Part {
                    source: Source::Scenario,
                    field: at_peak,
                    what: format!("a ramping-vus plan of {} steps", fmt_count(sat(steps))),
                    bytes: sat(steps + 2.0).saturating_mul(PLAN_STEP_BYTES),
                    events: 0,
                    live: false,
                });
                // VUs still active at the end run an iteration begun at the start or later (VUs
                // ramped down to 0 before the end may stop early: no bound then).
                (d, (from > 0.0).then_some(0.0))
            }
            _ => {
                let segs = arrival_segments(e).unwrap_or_default();
                let full: f64 = segs.iter().map(|x| x.0).sum();
                let (n, d, _) = until(&segs, window);
                // Little's law: VUs busy at once = arrival rate × iteration time, and an
                // iteration takes at least its own service and think time.
                let little = if d > 0.0 {
                    n / d * it.time_ns.max(1.0)
                } else {
                    n
                };
                // (VUs allocated before the start, most VUs, the field that sets them).
                let (pre, cap, cap_field) = match e {
                    ExecutorCfg::ConstantArrivalRate(c) => (
                        c.pre_allocated_vus,
                        Some(c.max_vus.unwrap_or(c.pre_allocated_vus)),
                        format!("{at}.maxVUs"),
                    ),
                    ExecutorCfg::RampingArrivalRate(c) => (
                        c.pre_allocated_vus,
                        Some(c.max_vus.unwrap_or(c.pre_allocated_vus)),
                        format!("{at}.maxVUs"),
                    ),
                    ExecutorCfg::PoissonArrivals(c) => (0, c.max_vus, format!("{at}.rate")),
                    ExecutorCfg::Artillery(c) => (
                        0,
                        // Uncapped unless every phase caps its VUs.
                        c.phases
                            .iter()
                            .try_fold(0u32, |a, p| p.max_vusers.map(|v| a.saturating_add(v))),
                        format!("{at}.phases"),
                    ),
                    _ => (0, None, at.clone()),
                };
                let cap = cap.map_or(f64::INFINITY, f64::from);
                let vus = f64::from(pre).max(little.min(cap).min(n));
                // Every arrival is an event; the iterations a capped executor runs are at
                // least what its VUs get through (an uncapped one runs them all).
                let iters = if cap.is_infinite() {
                    n
                } else {
                    let longest = it.max_time(timeout).max(1.0);
                    n.min(vus * (d / longest).max(1.0))
                };
                let field = match e {
                    ExecutorCfg::ConstantArrivalRate(_) | ExecutorCfg::PoissonArrivals(_) => {
                        format!("{at}.rate")
                    }
                    ExecutorCfg::RampingArrivalRate(_) => format!("{at}.stages"),
                    _ => format!("{at}.phases"),
                };
                parts.push(Part {
                    source: Source::Scenario,
                    field,
                    what: format!("{} arrivals over {}", fmt_count(sat(n)), secs(d)),
                    bytes: 0,
                    events: sat(n + iters * it.events),
                    live: false,
                });
                parts.push(Part {
                    source: Source::Scenario,
                    field: cap_field,
                    what: format!("{} VUs", fmt_count(sat(vus))),
                    bytes: sat(vus).saturating_mul(VU_BYTES),
                    events: 0,
                    live: true,
                });
                // Artillery's last arrival runs its whole flow; a k6 iteration begun at the
                // start or later runs until gracefulStop.
                match e {
                    ExecutorCfg::Artillery(_) => (full, last_arrival(&segs)),
                    _ => (full, (n >= 1.0).then_some(0.0)),
                }
            }
        };
        // An iteration still running at the regular end (begun at `from` or later) keeps the
        // run going: an Artillery VU to the end of its flow (a `loop` of 1e8 passes outlives
        // every phase by far), a k6 one until gracefulStop. The run lasts at least that long.
        let end = match runs_on {
            Some(from) => {
                let (least, flow) = shortest_iteration(s, e, &costs, timeout);
                let artillery = matches!(e, ExecutorCfg::Artillery(_));
                let cut = if artillery {
                    f64::INFINITY
                } else {
                    end + e.common().1 .0 as f64
                };
                let lasts = (from + least).min(cut);
                if lasts > end {
                    let t = start.0 as f64 + lasts;
                    let flow_name = flow.map_or(String::new(), |f| format!(" {f:?}"));
                    let why = if artillery {
                        format!(
                            "; {at}'s last virtual user arrives at {} or later and runs its \
                             flow{flow_name} to the end, for about {} or more",
                            secs(start.0 as f64 + from),
                            secs(least)
                        )
                    } else {
                        format!(
                            "; {at}'s iterations of flow{flow_name} take about {} or more, and \
                             gracefulStop lets one running at the end go on until {}",
                            secs(least),
                            secs(start.0 as f64 + cut)
                        )
                    };
                    let field = flow.map_or(at.clone(), |f| format!("flows.{f}"));
                    outlived = outlived.filter(|o| o.0 >= t).or(Some((t, field, why)));
                    lasts
                } else {
                    end
                }
            }
            None => end,
        };
        // The run lasts at least until the regular end (gracefulStop, or Artillery's VUs
        // finishing their flows, may add to it).
        horizon = horizon.max(start.0 as f64 + end);
    }
    if let Some(d) = s.duration {
        horizon = horizon.min(d.0 as f64);
    }
    // Why the horizon is where it is, when a flow rather than a schedule sets it.
    let outlived = outlived.filter(|(t, _, _)| *t == horizon);

    // The model's standing state.
    let pods_total: u64 = m.services.values().map(|s| u64::from(s.replicas)).sum();
    for (n, svc) in &m.services {
        let mut pods = u64::from(svc.replicas);
        let mut field = format!("services.{n}.replicas");
        if let Some(super::model::AutoscalerRef::Inline(h)) = &svc.autoscaler {
            let max = u64::try_from(h.spec.max_replicas).unwrap_or(0);
            if max > pods {
                pods = max;
                field = format!("services.{n}.autoscaler");
            }
        }
        if let Some(aws) = &svc.aws_autoscaling {
            if let Ok(g) =
                crate::autoscale::asg_config::AsgGroupConfig::from_value(&aws.group, "group")
            {
                if u64::from(g.max_size) > pods {
                    pods = u64::from(g.max_size);
                    field = format!("services.{n}.aws_autoscaling.group");
                }
            }
        }
        parts.push(Part {
            source: Source::Model,
            field,
            what: format!("{} pods of service {n}", fmt_count(pods)),
            bytes: pods.saturating_mul(POD_BYTES),
            events: 0,
            live: false,
        });
    }
    for (n, d) in &m.databases {
        let max = d
            .replica_autoscaling
            .as_ref()
            .map_or(d.read_replicas, |r| r.max.max(d.read_replicas));
        parts.push(Part {
            source: Source::Model,
            field: format!("databases.{n}.read_replicas"),
            what: format!(
                "{} instances of database {n}",
                fmt_count(u64::from(max) + 1)
            ),
            bytes: (u64::from(max) + 1).saturating_mul(INSTANCE_BYTES),
            events: 0,
            live: false,
        });
    }
    for (n, c) in &m.caches {
        parts.push(Part {
            source: Source::Model,
            field: format!("caches.{n}.nodes"),
            what: format!("{} nodes of cache {n}", fmt_count(u64::from(c.nodes))),
            bytes: u64::from(c.nodes).saturating_mul(INSTANCE_BYTES),
            events: 0,
            live: false,
        });
        for (k, ks) in &c.keyspaces {
            parts.push(Part {
                source: Source::Model,
                field: format!("caches.{n}.keyspaces.{k}.keys"),
                what: format!("{} keys of keyspace {k}", fmt_count(u64::from(ks.keys))),
                // An expiry time per key.
                bytes: u64::from(ks.keys).saturating_mul(8),
                events: 0,
                live: false,
            });
        }
    }
    if let Some(nodes) = &m.cluster.nodes {
        parts.push(Part {
            source: Source::Model,
            field: "cluster.nodes.max".into(),
            what: format!("{} cluster nodes", nodes.max),
            bytes: u64::from(nodes.max).saturating_mul(INSTANCE_BYTES),
            events: 0,
            live: false,
        });
    }
    control_loops(m, horizon, &mut parts);
    let endpoints: u64 = m.services.values().map(|s| s.endpoints.len() as u64).sum();
    parts.push(Part {
        source: Source::Model,
        field: "services".into(),
        what: format!("latency histograms of {endpoints} endpoints"),
        bytes: (endpoints + 3).saturating_mul(HISTOGRAM_BYTES),
        events: 0,
        live: false,
    });

    // The time series: one row per sample_interval, one event per row, and a pass over every
    // pod for each row (counted as one event per pod).
    let columns = columns(m);
    let rows = horizon / s.sample_interval.0.max(1) as f64 + 1.0;
    let (field, why) = outlived.map_or(("sample_interval".into(), String::new()), |o| (o.1, o.2));
    parts.push(Part {
        source: Source::Scenario,
        field,
        what: format!(
            "{} time-series rows of {columns} columns (every {} over {}{why})",
            fmt_count(sat(rows)),
            crate::dist::format_duration(s.sample_interval.0),
            secs(horizon)
        ),
        bytes: sat(rows).saturating_mul(columns * CELL_BYTES + ROW_BYTES),
        events: sat(rows * (1.0 + pods_total as f64)),
        live: true,
    });
    Estimate {
        parts,
        horizon: sat(horizon),
        columns,
    }
}

/// The autoscaling control loops' ticks over the run: each HPA sync and each metrics scrape
/// passes over the autoscaled pods, each Cluster Autoscaler scan over the nodes (counted as one
/// event per pod or node, like the time series). A period of microseconds is legal but makes
/// millions of passes: here it is named before the run, not found by the run's event meter.
fn control_loops(m: &ModelFile, horizon: f64, parts: &mut Vec<Part>) {
    let hpa_pods: f64 = m
        .services
        .values()
        .filter_map(|s| match &s.autoscaler {
            Some(super::model::AutoscalerRef::Inline(h)) => Some(h.spec.max_replicas.max(1) as f64),
            _ => None,
        })
        .sum();
    let mut tick = |field: &str, period: u64, what: &str, per_tick: f64| {
        let ticks = horizon / period.max(1) as f64;
        parts.push(Part {
            source: Source::Model,
            field: field.into(),
            what: format!(
                "{} {what} (every {} over {})",
                fmt_count(sat(ticks)),
                crate::dist::format_duration(period),
                secs(horizon)
            ),
            bytes: 0,
            events: sat(ticks * (1.0 + per_tick)),
            live: false,
        });
    };
    if hpa_pods > 0.0 {
        let c = &m.cluster;
        tick(
            "cluster.hpa_sync_period",
            c.hpa_sync_period.0,
            "HPA syncs",
            hpa_pods,
        );
        tick(
            "cluster.metrics_resolution",
            c.metrics_resolution.0,
            "metrics scrapes",
            hpa_pods,
        );
    }
    if let Some(n) = &m.cluster.nodes {
        tick(
            "cluster.nodes.scan_interval",
            n.scan_interval.0,
            "node scans",
            f64::from(n.max),
        );
    }
}

fn secs(ns: f64) -> String {
    crate::dist::format_duration(sat(ns))
}

/// Time-series columns of a model (an upper bound of `System::columns` + autoscaling).
pub fn columns(m: &ModelFile) -> u64 {
    let base = crate::metrics::Metrics::BASE_COLUMNS.len() as u64;
    let autoscaled = m
        .services
        .values()
        .filter(|s| s.autoscaler.is_some() || s.aws_autoscaling.is_some())
        .count() as u64;
    let keyspaces: u64 = m.caches.values().map(|c| c.keyspaces.len() as u64).sum();
    base + 6 * m.services.len() as u64
        + 18 * m.databases.len() as u64
        + 2 * m.caches.len() as u64
        + keyspaces
        + 8 * m.externals.len() as u64
        + 8 * m.queues.len() as u64
        + 8 * m.chains.len() as u64
        + 6 * autoscaled
        + 4
}

/// The running check: the engine's live state measured in the same units as the estimate.
pub struct Meter {
    pub budget: Budget,
    /// Memory that does not change during the run (pods, keys, histograms, plans).
    pub fixed: u64,
    pub columns: u64,
    /// Where the estimate put most events, and most live VUs: what a stopped run blames.
    events_at: String,
    vus_at: String,
}

/// "; most of them were planned by FIELD (WHAT)" for the part `key` ranks first.
fn largest(est: &Estimate, key: impl Fn(&Part) -> u64) -> String {
    est.parts
        .iter()
        .filter(|p| key(p) > 0)
        .max_by_key(|p| key(p))
        .map_or(String::new(), |p| {
            format!(
                "; the estimate's largest part is field {}: {}",
                p.field, p.what
            )
        })
}

impl Meter {
    pub fn new(budget: Budget, est: &Estimate) -> Self {
        // Everything but the VUs and the time series, which are measured live.
        let fixed = est
            .parts
            .iter()
            .filter(|p| !p.live)
            .fold(BASE_BYTES, |a, p| a.saturating_add(p.bytes));
        Meter {
            budget,
            fixed,
            columns: est.columns,
            events_at: largest(est, |p| p.events),
            vus_at: largest(est, |p| {
                if p.field == "sample_interval" {
                    0
                } else {
                    p.bytes
                }
            }),
        }
    }

    /// The live memory estimate, or an error message when a budget is exceeded.
    pub fn check(&self, events: u64, vus: u64, pending: u64, rows: u64) -> Result<(), String> {
        if events > self.budget.max_events {
            return Err(format!(
                "the run exceeded its budget of {} events (--max-events) and was stopped; \
                 nothing was written{}",
                fmt_count(self.budget.max_events),
                self.events_at
            ));
        }
        let mem = self
            .fixed
            .saturating_add(vus.saturating_mul(VU_BYTES))
            // VU_BYTES covers a VU's own few pending events; count the rest.
            .saturating_add(
                pending
                    .saturating_sub(vus.saturating_mul(4))
                    .saturating_mul(EVENT_BYTES),
            )
            .saturating_add(rows.saturating_mul(self.columns * CELL_BYTES + ROW_BYTES));
        if mem > self.budget.max_memory {
            return Err(format!(
                "the run grew to about {} ({} VUs, {} pending events, {} time-series rows), \
                 over its memory budget of {} (--max-memory), and was stopped; nothing was \
                 written{}",
                fmt_bytes(mem),
                fmt_count(vus),
                fmt_count(pending),
                fmt_count(rows),
                fmt_bytes(self.budget.max_memory),
                if vus.saturating_mul(VU_BYTES) * 2 > mem {
                    &self.vus_at
                } else {
                    ""
                }
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_and_sizes_parse() {
        assert_eq!(
            meminfo_total("MemTotal:       16314512 kB\nMemFree: 1 kB\n"),
            Some(16314512 * 1024)
        );
        assert_eq!(meminfo_total("nothing"), None);
        let limits =
            "Max cpu time              unlimited            unlimited            seconds\n\
                      Max address space         4096000000           unlimited            bytes\n";
        assert_eq!(address_space_limit(limits), Some(4_096_000_000));
        assert_eq!(
            address_space_limit("Max address space  unlimited  unlimited  bytes\n"),
            None
        );
        assert_eq!(parse_bytes("4Gi").unwrap(), 4 << 30);
        assert_eq!(parse_bytes("512Mi").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("2G").unwrap(), 2_000_000_000);
        assert!(parse_bytes("-1").is_err());
        assert!(parse_bytes("lots").is_err());
        assert_eq!(parse_count("1e9").unwrap(), 1_000_000_000);
        assert!(parse_count("0").is_err());
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
    }

    /// The horizon reaches past an executor's end by what an iteration still running then
    /// needs: until gracefulStop for k6 (none when a ramp takes every VU away first), to the
    /// flow's end for Artillery; the same 20-s flow (a 20-s request) against 10-s schedules.
    #[test]
    fn horizon_covers_iterations_running_past_the_end() {
        let model = "entry: web\nservices:\n  web:\n    replicas: 1\n    pod: {cores: 1}\n    \
                     endpoints:\n      slow:\n        - delay: const(20s)\n";
        let horizon_s = |exec: &str| {
            let scenario = format!(
                "model: m.yaml\nflows:\n  f:\n    steps:\n      - request: slow\n\
                 scenarios:\n  a:\n{exec}"
            );
            let l = crate::config::from_strs(&scenario, model).expect("valid");
            estimate(&l.scenario, &l.model).horizon as f64 / SEC as f64
        };
        let k6 = "    executor: constant-vus\n    vus: 1\n    duration: 10s\n";
        assert_eq!(horizon_s(k6), 20.0);
        assert_eq!(horizon_s(&format!("{k6}    gracefulStop: 5s\n")), 15.0);
        let ramp = |to: u32| {
            format!(
                "    executor: ramping-vus\n    startVUs: 1\n    stages:\n      \
                 - {{duration: 10s, target: {to}}}\n"
            )
        };
        assert_eq!(horizon_s(&ramp(0)), 10.0);
        assert_eq!(horizon_s(&ramp(2)), 20.0);
        let artillery = "    executor: artillery\n    phases:\n      \
                         - {duration: 10, arrivalRate: 1}\n      - {duration: 10, arrivalRate: 2}\n";
        // The last phase starts at 10 s: its arrivals end at 30 s or later.
        assert_eq!(horizon_s(artillery), 30.0);
        // A client timeout ends the wait (and an Artillery VU) at 2 s.
        assert_eq!(
            horizon_s(&format!("{artillery}    request_timeout: 2s\n")),
            20.0
        );
    }

    #[test]
    fn default_budget_is_a_fraction_of_ram() {
        let b = Budget::default();
        assert_eq!(
            b.max_memory,
            (machine_ram() as f64 * DEFAULT_MEMORY_FRACTION) as u64
        );
        assert_eq!(b.shared(2).max_memory, b.max_memory / 2);
    }
}
