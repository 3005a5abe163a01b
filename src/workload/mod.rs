//! The load generator: virtual users running flows under k6 executors (closed VUs and open
//! arrival rates) and Artillery phases. Request latency is measured here, on the client side.
//! See `../shared/reference/load-generators.md` for the semantics followed.

pub mod flow;
pub mod inspect;
pub mod iterations;
pub mod requirements;
pub mod rps;
pub mod schedule;

use crate::config::resolve_endpoint;
use crate::config::routes::Call;
use crate::config::scenario::{ExecutorCfg, ScenarioFile};
use crate::config::ModelFile;
use crate::engine::{stream, EventQueue, Nanos, Rng64, TimerId, SEC};
use crate::event::{Event, ReqRef};
use crate::metrics::Metrics;
use crate::system::{Cause, Response, System};
use flow::{Op, Program, MAX_LOOP_DEPTH};
use iterations::{IterationRow, Outcome};
use rand::Rng;
use rand_distr::{Distribution, Exp};
use schedule::{ArtilleryArrivals, ConstantArrivals, Phase, RampingArrivals, Stage};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VuState {
    Idle,
    Running,
    /// Told to stop: finishes its current iteration, then idles.
    Stopping,
}

struct Vu {
    sc: u16,
    state: VuState,
    flow: u16,
    pc: u16,
    loops: [u32; MAX_LOOP_DEPTH],
    iter_start: Nanos,
    sleep: Option<TimerId>,
    hard_stop: Option<TimerId>,
    req: Option<ReqRef>,
    req_ep: u32,
    req_start: Nanos,
    /// Consecutive iterations that took no simulated time.
    still: u32,
}

/// Iterations in a row that a VU may finish without simulated time passing before the run is
/// stopped: it would otherwise loop forever at one instant.
pub const MAX_STILL_ITERATIONS: u32 = 1000;

enum Arrivals {
    Constant(ConstantArrivals),
    Ramping(RampingArrivals),
}

impl Arrivals {
    fn next(&mut self) -> Option<Nanos> {
        match self {
            Arrivals::Constant(a) => a.next(),
            Arrivals::Ramping(a) => a.next(),
        }
    }
}

enum Kind {
    ConstantVus {
        vus: u32,
    },
    RampingVus {
        plan: Vec<(Nanos, u32)>,
        level: u32,
        grace: Nanos,
    },
    ArrivalRate {
        arrivals: Arrivals,
        pre_allocated: u32,
        max_vus: u32,
        pending: Option<Nanos>,
    },
    Poisson {
        gap: Exp<f64>,
        rng: Rng64,
        max_vus: u32,
    },
    Artillery {
        arrivals: ArtilleryArrivals,
        phases: Vec<Phase>,
        pending: Option<(Nanos, usize)>,
    },
    /// k6 shared-iterations: `left` iterations not yet claimed from the shared counter.
    SharedIterations {
        vus: u32,
        left: u64,
    },
    /// k6 per-vu-iterations: `left[i]` iterations the scenario's i-th VU has not started.
    PerVuIterations {
        vus: u32,
        left: Vec<u64>,
    },
}

impl Kind {
    /// k6's `HasWork` (lib/executor/*.go): a scenario without it is never run (the scheduler
    /// skips it), so it drops no iterations and starts no VU.
    fn has_work(&self) -> bool {
        match self {
            Kind::ConstantVus { vus } => *vus > 0,
            Kind::RampingVus { plan, .. } => plan.iter().any(|&(_, v)| v > 0),
            Kind::ArrivalRate { max_vus, .. } | Kind::Poisson { max_vus, .. } => *max_vus > 0,
            Kind::Artillery { .. } => true,
            Kind::SharedIterations { vus, left } => *vus > 0 && *left > 0,
            Kind::PerVuIterations { vus, left } => *vus > 0 && left.iter().any(|&n| n > 0),
        }
    }

    /// VUs that loop iterations by themselves (closed executors).
    fn closed(&self) -> bool {
        matches!(
            self,
            Kind::ConstantVus { .. }
                | Kind::RampingVus { .. }
                | Kind::SharedIterations { .. }
                | Kind::PerVuIterations { .. }
        )
    }
}

struct Sc {
    name: String,
    kind: Kind,
    start: Nanos,
    /// Regular end: no new iterations after it.
    end: Nanos,
    /// Iterations still running here are cut off (None: never, as in Artillery).
    hard_end: Option<Nanos>,
    flows: Vec<(u16, f64)>,
    rng: Rng64,
    vus: Vec<u32>,
    idle: Vec<u32>,
    active: u32,
    timeout: Nanos,
    timeouts: VecDeque<(Nanos, u32, ReqRef)>,
    timeouts_armed: bool,
    started: bool,
    finished: bool,
    /// VUs k6 initialises for this scenario before the test (its planned VUs).
    planned_vus: u32,
}

pub struct Workload {
    scs: Vec<Sc>,
    vus: Vec<Vu>,
    programs: Vec<Program>,
    active: u32,
    finished: usize,
    /// When every scenario has finished.
    pub done_at: Option<Nanos>,
    /// Set when a VU stops making progress in simulated time; the run ends with it.
    pub error: Option<(String, String)>,
    /// Most VUs k6 plans for the whole test (`GetMaxPlannedVUs` of the full requirements).
    planned_vus_max: u32,
    /// One row per iteration, when `--iterations-log` asked for them.
    pub iteration_log: Option<Vec<IterationRow>>,
    /// k6's `rps` cap, when set.
    rps: Option<rps::RpsLimiter>,
    /// k6's `minIterationDuration` (ns), when positive.
    min_iteration: Option<Nanos>,
}

fn stages(st: &[crate::config::scenario::StageCfg]) -> Vec<Stage> {
    st.iter()
        .map(|s| Stage {
            duration: s.duration.0,
            target: s.target,
        })
        .collect()
}

impl Workload {
    /// Build the executors. A configuration that validation would refuse is an error
    /// (field, message), never a panic.
    pub fn build(
        s: &ScenarioFile,
        m: &ModelFile,
        sys: &System,
        seed: u64,
        replication: u64,
    ) -> Result<Self, (String, String)> {
        let mut programs: Vec<Program> = Vec::with_capacity(s.flows.len());
        for (name, f) in &s.flows {
            let missing = std::cell::RefCell::new(None);
            let resolve = |t: &Call| match resolve_endpoint(m, t)
                .and_then(|(svc, ep)| sys.endpoint_index(svc, ep))
            {
                Some(i) => i,
                None => {
                    missing.borrow_mut().get_or_insert_with(|| t.to_string());
                    0
                }
            };
            let ops = flow::compile(&f.steps, &resolve);
            if let Some(t) = missing.into_inner() {
                return Err((
                    format!("flows.{name}.steps"),
                    format!("unknown endpoint {t:?}"),
                ));
            }
            programs.push(Program {
                name: name.clone(),
                weight: f.weight,
                ops,
            });
        }
        let flow_names: Vec<&String> = s.flows.keys().collect();
        let mut scs = Vec::new();
        for (name, e) in &s.scenarios {
            let (start, graceful_stop, only, timeout) = e.common();
            let start = start.0;
            let mut cum = 0.0;
            let flows = flow_names
                .iter()
                .enumerate()
                .filter(|(_, n)| only.is_none_or(|o| o.contains(n)))
                .map(|(i, _)| {
                    cum += programs[i].weight;
                    (i as u16, cum)
                })
                .collect();
            let gs = graceful_stop.0;
            let (kind, end, hard_end) = match e {
                ExecutorCfg::ConstantVus(c) => {
                    let end = start + c.duration.0;
                    (Kind::ConstantVus { vus: c.vus }, end, Some(end + gs))
                }
                ExecutorCfg::RampingVus(c) => {
                    let raw: Vec<(u64, u32)> = c
                        .stages
                        .iter()
                        .map(|s| (s.duration.0, s.target.round() as u32))
                        .collect();
                    let plan = schedule::ramping_vus_plan(c.start_vus, &raw);
                    let end = start + raw.iter().map(|s| s.0).sum::<u64>();
                    (
                        Kind::RampingVus {
                            plan,
                            level: 0,
                            grace: c.graceful_ramp_down.0,
                        },
                        end,
                        Some(end + gs),
                    )
                }
                ExecutorCfg::ConstantArrivalRate(c) => {
                    let end = start + c.duration.0;
                    (
                        Kind::ArrivalRate {
                            arrivals: Arrivals::Constant(ConstantArrivals::new(
                                c.rate,
                                c.time_unit.0,
                                c.duration.0,
                            )),
                            pre_allocated: c.pre_allocated_vus,
                            max_vus: c.max_vus.unwrap_or(c.pre_allocated_vus),
                            pending: None,
                        },
                        end,
                        Some(end + gs),
                    )
                }
                ExecutorCfg::RampingArrivalRate(c) => {
                    let st = stages(&c.stages);
                    let end = start + st.iter().map(|s| s.duration).sum::<u64>();
                    (
                        Kind::ArrivalRate {
                            arrivals: Arrivals::Ramping(RampingArrivals::new(
                                c.start_rate,
                                c.time_unit.0,
                                &st,
                            )),
                            pre_allocated: c.pre_allocated_vus,
                            max_vus: c.max_vus.unwrap_or(c.pre_allocated_vus),
                            pending: None,
                        },
                        end,
                        Some(end + gs),
                    )
                }
                ExecutorCfg::SharedIterations(c) => {
                    let end = start + c.max_duration.0;
                    (
                        Kind::SharedIterations {
                            vus: c.vus,
                            left: c.iterations,
                        },
                        end,
                        Some(end + gs),
                    )
                }
                ExecutorCfg::PerVuIterations(c) => {
                    let end = start + c.max_duration.0;
                    (
                        Kind::PerVuIterations {
                            vus: c.vus,
                            left: vec![c.iterations; c.vus as usize],
                        },
                        end,
                        Some(end + gs),
                    )
                }
                ExecutorCfg::PoissonArrivals(c) => {
                    let end = start + c.duration.0;
                    let per_ns = c.rate / c.time_unit.0 as f64;
                    let gap = Exp::new(per_ns)
                        .ok()
                        .filter(|_| per_ns.is_finite() && per_ns > 0.0)
                        .ok_or_else(|| {
                            (
                                format!("scenarios.{name}.rate"),
                                format!("expected a positive rate per timeUnit, got {}", c.rate),
                            )
                        })?;
                    (
                        Kind::Poisson {
                            gap,
                            rng: stream(seed, replication, &format!("arrivals:{name}")),
                            max_vus: c.max_vus.unwrap_or(u32::MAX),
                        },
                        end,
                        Some(end + gs),
                    )
                }
                ExecutorCfg::Artillery(c) => {
                    let phases: Vec<Phase> = c
                        .phases
                        .iter()
                        .enumerate()
                        .map(|(i, p)| {
                            crate::config::artillery_phase(p)
                                .map_err(|e| (format!("scenarios.{name}.phases[{i}]"), e))
                        })
                        .collect::<Result<_, _>>()?;
                    let arrivals = ArtilleryArrivals::new(&phases);
                    let end = start + arrivals.total_duration();
                    (
                        Kind::Artillery {
                            arrivals,
                            phases,
                            pending: None,
                        },
                        end,
                        None,
                    )
                }
            };
            let default_timeout = match e {
                ExecutorCfg::Artillery(_) => 10 * SEC,
                _ => s.request_timeout.0,
            };
            scs.push(Sc {
                name: name.clone(),
                kind,
                start,
                end,
                hard_end,
                flows,
                rng: stream(seed, replication, &format!("scenario:{name}")),
                vus: Vec::new(),
                idle: Vec::new(),
                active: 0,
                timeout: timeout.map(|t| t.0).unwrap_or(default_timeout),
                timeouts: VecDeque::new(),
                timeouts_armed: false,
                started: false,
                finished: false,
                planned_vus: requirements::max_planned(&requirements::executor(e)) as u32,
            });
        }
        Ok(Workload {
            scs,
            vus: Vec::new(),
            programs,
            active: 0,
            finished: 0,
            done_at: None,
            error: None,
            planned_vus_max: requirements::max_planned(&requirements::full(&s.scenarios)) as u32,
            iteration_log: None,
            rps: s.rps.and_then(rps::RpsLimiter::new),
            min_iteration: s.min_iteration_duration.map(|d| d.0).filter(|&d| d > 0),
        })
    }

    /// k6's `vus_max`: the VUs initialised over the run, i.e. the most VUs planned at once
    /// across all scenarios (initialised before the start and shared between scenarios that
    /// do not overlap) plus those initialised mid-run beyond a scenario's plan (arrival-rate
    /// VUs above `preAllocatedVUs`, every Poisson and Artillery VU).
    pub fn vus_max(&self) -> u32 {
        let unplanned: u64 = self
            .scs
            .iter()
            .map(|s| (s.vus.len() as u64).saturating_sub(u64::from(s.planned_vus)))
            .sum();
        (u64::from(self.planned_vus_max) + unplanned).min(u64::from(u32::MAX)) as u32
    }

    /// The iterations log as CSV, when it was kept.
    pub fn iterations_csv(&self) -> Option<String> {
        let rows = self.iteration_log.as_ref()?;
        let flows: Vec<String> = self.programs.iter().map(|p| p.name.clone()).collect();
        Some(iterations::to_csv(rows, &self.scenario_names(), &flows))
    }

    /// Record one row per iteration (completed, interrupted, dropped) from now on.
    pub fn log_iterations(&mut self) {
        self.iteration_log.get_or_insert_with(Vec::new);
    }

    fn log(&mut self, row: IterationRow) {
        if let Some(l) = &mut self.iteration_log {
            l.push(row);
        }
    }

    /// Iterations that can no longer start at the regular end of an iteration executor are
    /// dropped (k6 shared_iterations.go / per_vu_iterations.go Run: `dropped_iterations`).
    fn drop_unclaimed(&mut self, sc: u16, now: Nanos, m: &mut Metrics) {
        let n = match &mut self.scs[sc as usize].kind {
            Kind::SharedIterations { left, .. } => std::mem::take(left),
            Kind::PerVuIterations { left, .. } => left.iter_mut().map(std::mem::take).sum(),
            _ => 0,
        };
        if n == 0 {
            return;
        }
        m.on_dropped_many(n);
        if self.iteration_log.is_some() {
            for _ in 0..n {
                self.log(IterationRow::dropped(now, sc));
            }
        }
    }

    fn dropped(&mut self, sc: u16, now: Nanos, m: &mut Metrics) {
        m.on_dropped();
        if self.iteration_log.is_some() {
            self.log(IterationRow::dropped(now, sc));
        }
    }

    /// An Artillery arrival refused at `maxVusers` (`vusers.skipped`, not k6's dropped_iterations).
    fn skipped(&mut self, sc: u16, now: Nanos, m: &mut Metrics) {
        m.on_vuser_skipped();
        if self.iteration_log.is_some() {
            self.log(IterationRow::dropped(now, sc));
        }
    }

    /// Claim the next iteration for VU `v` (iteration executors count them; others always can).
    fn claim(&mut self, sc: u16, v: u32) -> bool {
        let s = &mut self.scs[sc as usize];
        match &mut s.kind {
            Kind::SharedIterations { left, .. } => {
                if *left == 0 {
                    return false;
                }
                *left -= 1;
                true
            }
            Kind::PerVuIterations { left, .. } => {
                // Its VUs were created together, so their ids are consecutive.
                let i = (v - s.vus.first().copied().unwrap_or(v)) as usize;
                match left.get_mut(i) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        true
                    }
                    _ => false,
                }
            }
            _ => true,
        }
    }

    pub fn scenario_names(&self) -> Vec<String> {
        self.scs.iter().map(|s| s.name.clone()).collect()
    }

    /// Per scenario (in `scenario_names` order), whether it is an `artillery` executor.
    pub fn artillery_scenarios(&self) -> Vec<bool> {
        self.scs
            .iter()
            .map(|s| matches!(s.kind, Kind::Artillery { .. }))
            .collect()
    }

    /// The regular end of the last scenario (for progress display).
    pub fn planned_end(&self) -> Nanos {
        self.scs
            .iter()
            .map(|s| s.hard_end.unwrap_or(s.end))
            .max()
            .unwrap_or(0)
    }

    /// VUs running an iteration now (k6 GetCurrentlyActiveVUsCount).
    pub fn active_vus(&self) -> u32 {
        self.active
    }

    pub fn allocated_vus(&self) -> u32 {
        self.vus.len() as u32
    }

    /// Schedule each scenario's start; one without work is finished before it starts.
    pub fn schedule_starts(&mut self, q: &mut EventQueue<Event>) {
        for (i, s) in self.scs.iter_mut().enumerate() {
            if s.kind.has_work() {
                q.schedule_at(s.start, Event::ScenarioStart(i as u16));
            } else {
                s.finished = true;
                self.finished += 1;
            }
        }
        if self.finished == self.scs.len() {
            self.done_at = Some(0);
        }
    }

    fn new_vu(&mut self, sc: u16) -> u32 {
        let id = self.vus.len() as u32;
        let s = &mut self.scs[sc as usize];
        self.vus.push(Vu {
            sc,
            state: VuState::Idle,
            flow: 0,
            pc: 0,
            loops: [0; MAX_LOOP_DEPTH],
            iter_start: 0,
            sleep: None,
            hard_stop: None,
            req: None,
            req_ep: 0,
            req_start: 0,
            still: 0,
        });
        s.vus.push(id);
        id
    }

    /// A VU from the scenario's idle pool, or a new one while under `max`.
    fn take_idle(&mut self, sc: u16, max: u32) -> Option<u32> {
        if let Some(v) = self.scs[sc as usize].idle.pop() {
            return Some(v);
        }
        if (self.scs[sc as usize].vus.len() as u32) < max {
            return Some(self.new_vu(sc));
        }
        None
    }

    pub fn handle(
        &mut self,
        ev: Event,
        q: &mut EventQueue<Event>,
        sys: &mut System,
        m: &mut Metrics,
    ) {
        match ev {
            Event::ScenarioStart(sc) => self.start_scenario(sc, q, sys, m),
            Event::ScenarioEnd(sc) => {
                let s = &self.scs[sc as usize];
                for &v in &s.vus.clone() {
                    if self.vus[v as usize].state == VuState::Running {
                        self.vus[v as usize].state = VuState::Stopping;
                    }
                }
                self.drop_unclaimed(sc, q.now(), m);
                self.check_finished(sc, q.now());
            }
            Event::ScenarioHardEnd(sc) => {
                for v in self.scs[sc as usize].vus.clone() {
                    if self.vus[v as usize].state != VuState::Idle {
                        self.hard_stop(v, q, sys, m);
                    }
                }
                self.check_finished(sc, q.now());
            }
            Event::PlanStep { sc, step } => self.plan_step(sc, step as usize, q, sys, m),
            Event::Arrival(sc) => self.arrival(sc, q, sys, m),
            Event::VuWake(v) => {
                let vu = &mut self.vus[v as usize];
                vu.sleep = None;
                vu.pc += 1;
                self.run(v, q, sys, m);
            }
            Event::VuSend(v) => {
                // The rps token this request waited for is free.
                let vu = &mut self.vus[v as usize];
                vu.sleep = None;
                match self.programs[vu.flow as usize].ops.get(vu.pc as usize) {
                    Some(&Op::Request(ep)) => self.send(v, ep, q, sys, m),
                    // Only a request waits for a token; anything else just goes on.
                    _ => self.run(v, q, sys, m),
                }
            }
            Event::VuPadded(v) => {
                self.vus[v as usize].sleep = None;
                self.after_iteration(v, q, sys, m);
            }
            Event::VuHardStop(v) => {
                self.vus[v as usize].hard_stop = None;
                let sc = self.vus[v as usize].sc;
                self.hard_stop(v, q, sys, m);
                self.check_finished(sc, q.now());
            }
            Event::ClientTimeouts(sc) => self.timeouts(sc, q, sys, m),
            _ => unreachable!("not a workload event: {ev:?}"),
        }
        m.set_vus(self.active, self.vus.len() as u32);
    }

    fn start_scenario(
        &mut self,
        sc: u16,
        q: &mut EventQueue<Event>,
        sys: &mut System,
        m: &mut Metrics,
    ) {
        let now = q.now();
        let (end, hard_end) = (self.scs[sc as usize].end, self.scs[sc as usize].hard_end);
        self.scs[sc as usize].started = true;
        q.schedule_at(end, Event::ScenarioEnd(sc));
        if let Some(h) = hard_end {
            q.schedule_at(h, Event::ScenarioHardEnd(sc));
        }
        match &mut self.scs[sc as usize].kind {
            Kind::ConstantVus { vus } => {
                for _ in 0..*vus {
                    let v = self.new_vu(sc);
                    self.begin(v, q, sys, m);
                }
            }
            Kind::RampingVus { .. } => self.plan_step(sc, 0, q, sys, m),
            Kind::SharedIterations { vus, .. } | Kind::PerVuIterations { vus, .. } => {
                // k6 starts every VU at once; each claims its first iteration.
                let n = *vus;
                let first = self.vus.len() as u32;
                for _ in 0..n {
                    self.new_vu(sc);
                }
                for v in first..first + n {
                    if self.claim(sc, v) {
                        self.begin(v, q, sys, m);
                    }
                }
            }
            Kind::ArrivalRate {
                arrivals,
                pending,
                pre_allocated,
                ..
            } => {
                *pending = arrivals.next();
                // preAllocatedVUs are initialised before the start.
                for _ in 0..*pre_allocated {
                    let v = self.new_vu(sc);
                    self.scs[sc as usize].idle.push(v);
                }
                self.schedule_next_arrival(sc, q);
            }
            Kind::Poisson { gap, rng, .. } => {
                let t = now + gap.sample(rng) as Nanos;
                if t < end {
                    q.schedule_at(t, Event::Arrival(sc));
                }
            }
            Kind::Artillery {
                arrivals, pending, ..
            } => {
                *pending = arrivals.next();
                self.schedule_next_arrival(sc, q);
            }
        }
        self.check_finished(sc, now);
    }

    fn schedule_next_arrival(&mut self, sc: u16, q: &mut EventQueue<Event>) {
        let s = &self.scs[sc as usize];
        let t = match &s.kind {
            Kind::ArrivalRate { pending, .. } => *pending,
            Kind::Artillery { pending, .. } => pending.map(|p| p.0),
            _ => None,
        };
        if let Some(t) = t {
            q.schedule_at(s.start + t, Event::Arrival(sc));
        }
    }

    fn arrival(&mut self, sc: u16, q: &mut EventQueue<Event>, sys: &mut System, m: &mut Metrics) {
        let now = q.now();
        let end = self.scs[sc as usize].end;
        match &mut self.scs[sc as usize].kind {
            Kind::ArrivalRate {
                arrivals,
                pending,
                max_vus,
                ..
            } => {
                let max = *max_vus;
                *pending = arrivals.next();
                match self.scs[sc as usize].idle.pop() {
                    Some(v) => self.begin(v, q, sys, m),
                    None => {
                        // k6 never queues: the iteration is dropped, and one more VU is
                        // initialised (in the background) for later arrivals.
                        self.dropped(sc, now, m);
                        if (self.scs[sc as usize].vus.len() as u32) < max {
                            let v = self.new_vu(sc);
                            self.scs[sc as usize].idle.push(v);
                        }
                    }
                }
                self.schedule_next_arrival(sc, q);
            }
            Kind::Poisson { gap, rng, max_vus } => {
                let max = *max_vus;
                let t = now + gap.sample(rng) as Nanos;
                if t < end {
                    q.schedule_at(t, Event::Arrival(sc));
                }
                match self.take_idle(sc, max) {
                    Some(v) => self.begin(v, q, sys, m),
                    None => self.dropped(sc, now, m),
                }
            }
            Kind::Artillery {
                arrivals,
                phases,
                pending,
            } => {
                let phase = pending.map(|p| p.1).unwrap_or(0);
                let limit = phases[phase].max_vusers.unwrap_or(u32::MAX);
                *pending = arrivals.next();
                // Artillery skips an arrival when maxVusers are already running (vusers.skipped).
                if self.scs[sc as usize].active >= limit {
                    self.skipped(sc, now, m);
                } else if let Some(v) = self.take_idle(sc, u32::MAX) {
                    m.on_vuser_created();
                    self.begin(v, q, sys, m);
                } else {
                    self.skipped(sc, now, m);
                }
                self.schedule_next_arrival(sc, q);
            }
            _ => {}
        }
        self.check_finished(sc, now);
    }

    fn plan_step(
        &mut self,
        sc: u16,
        step: usize,
        q: &mut EventQueue<Event>,
        sys: &mut System,
        m: &mut Metrics,
    ) {
        let now = q.now();
        let (start, end) = (self.scs[sc as usize].start, self.scs[sc as usize].end);
        let Kind::RampingVus { plan, level, grace } = &mut self.scs[sc as usize].kind else {
            return;
        };
        let (_, target) = plan[step];
        let grace = *grace;
        if let Some(&(t, _)) = plan.get(step + 1) {
            q.schedule_at(
                start + t,
                Event::PlanStep {
                    sc,
                    step: step as u32 + 1,
                },
            );
        }
        let mut cur = *level;
        *level = target;
        while cur < target {
            let v = match self.scs[sc as usize].vus.get(cur as usize) {
                Some(&v) => v,
                None => self.new_vu(sc),
            };
            cur += 1;
            let vu = &mut self.vus[v as usize];
            match vu.state {
                // Still finishing after a ramp-down: it simply keeps running.
                VuState::Stopping => {
                    vu.state = VuState::Running;
                    if let Some(t) = vu.hard_stop.take() {
                        q.cancel(t);
                    }
                }
                VuState::Idle => self.begin(v, q, sys, m),
                VuState::Running => {}
            }
        }
        while cur > target {
            cur -= 1;
            let v = self.scs[sc as usize].vus[cur as usize];
            let vu = &self.vus[v as usize];
            // A VU the regular end marked Stopping at this same instant (ScenarioEnd comes first)
            // is still told to stop by this step, and gets its gracefulRampDown hard stop too.
            if vu.state == VuState::Running
                || (vu.state == VuState::Stopping && vu.hard_stop.is_none() && now >= end)
            {
                self.vus[v as usize].state = VuState::Stopping;
                let Kind::RampingVus { plan, .. } = &self.scs[sc as usize].kind else {
                    unreachable!()
                };
                if let Some(t) = schedule::ramp_down_hard_stop(plan, cur, now - start, grace) {
                    self.vus[v as usize].hard_stop =
                        Some(q.timer_at(start + t, Event::VuHardStop(v)));
                }
            }
        }
        self.check_finished(sc, now);
    }

    /// Start an iteration on an idle VU: pick a flow by weight.
    fn begin(&mut self, v: u32, q: &mut EventQueue<Event>, sys: &mut System, m: &mut Metrics) {
        let sc = self.vus[v as usize].sc as usize;
        let s = &mut self.scs[sc];
        // One flow needs no draw.
        let flow = match s.flows.as_slice() {
            [] => 0,
            [only] => only.0,
            flows => {
                let total = flows.last().map(|f| f.1).unwrap_or(1.0);
                let x = s.rng.gen::<f64>() * total;
                flows
                    .iter()
                    .find(|f| x < f.1)
                    .or(flows.last())
                    .map(|f| f.0)
                    .unwrap_or(0)
            }
        };
        let vu = &mut self.vus[v as usize];
        if vu.state == VuState::Idle {
            s.active += 1;
            self.active += 1;
            // An active user holds a WebSocket (when the model has one).
            sys.user_online(v, q.now());
        }
        vu.state = VuState::Running;
        vu.flow = flow;
        vu.pc = 0;
        vu.iter_start = q.now();
        self.run(v, q, sys, m);
    }

    /// Execute the VU's flow until it blocks on a request or a sleep, or the iteration ends.
    fn run(&mut self, v: u32, q: &mut EventQueue<Event>, sys: &mut System, m: &mut Metrics) {
        loop {
            let vu = &mut self.vus[v as usize];
            let ops = &self.programs[vu.flow as usize].ops;
            let Some(op) = ops.get(vu.pc as usize) else {
                return self.iteration_done(v, q, sys, m);
            };
            match op {
                &Op::Request(ep) => {
                    if let Some(l) = &mut self.rps {
                        let at = l.reserve(q.now());
                        if at > q.now() {
                            vu.sleep = Some(q.timer_at(at, Event::VuSend(v)));
                            return;
                        }
                    }
                    return self.send(v, ep, q, sys, m);
                }
                Op::Sleep(d) => {
                    let rng = &mut self.scs[vu.sc as usize].rng;
                    let mut t = d.sample_ns(rng);
                    // Consecutive sleeps are one wait: one wake-up, at the sum of the draws.
                    while let Some(Op::Sleep(d)) = ops.get(vu.pc as usize + 1) {
                        t = t.saturating_add(d.sample_ns(rng));
                        vu.pc += 1;
                    }
                    vu.sleep = Some(q.timer_in(t, Event::VuWake(v)));
                    return;
                }
                Op::LoopStart { count, depth } => {
                    vu.loops[*depth as usize] = *count;
                    vu.pc += 1;
                }
                Op::LoopEnd { start, depth } => {
                    let c = &mut vu.loops[*depth as usize];
                    *c -= 1;
                    vu.pc = if *c > 0 { *start + 1 } else { vu.pc + 1 };
                }
            }
        }
    }

    /// The VU sends its request for endpoint `ep` now.
    fn send(
        &mut self,
        v: u32,
        ep: u32,
        q: &mut EventQueue<Event>,
        sys: &mut System,
        m: &mut Metrics,
    ) {
        let now = q.now();
        let vu = &mut self.vus[v as usize];
        vu.req_ep = ep;
        vu.req_start = now;
        m.on_send(now);
        let r = sys.submit(ep, v, q);
        let vu = &mut self.vus[v as usize];
        vu.req = Some(r);
        let s = &mut self.scs[vu.sc as usize];
        let deadline = now + s.timeout;
        s.timeouts.push_back((deadline, v, r));
        if !s.timeouts_armed {
            s.timeouts_armed = true;
            q.schedule_at(deadline, Event::ClientTimeouts(vu.sc));
        }
    }

    fn iteration_done(
        &mut self,
        v: u32,
        q: &mut EventQueue<Event>,
        sys: &mut System,
        m: &mut Metrics,
    ) {
        let now = q.now();
        let vu = &mut self.vus[v as usize];
        m.on_iteration(now - vu.iter_start);
        let sc = vu.sc;
        if self.iteration_log.is_some() {
            let row = IterationRow::new(vu.iter_start, now, v, sc, vu.flow, Outcome::Completed);
            self.log(row);
        }
        let artillery = matches!(self.scs[sc as usize].kind, Kind::Artillery { .. });
        if artillery {
            m.on_vuser_completed();
        }
        // k6 pads a full iteration shorter than minIterationDuration after it is recorded:
        // the VU stays busy until the pad ends (RunOnce), unless a hard stop cuts it.
        if let Some(min) = self.min_iteration.filter(|_| !artillery) {
            let vu = &mut self.vus[v as usize];
            if now - vu.iter_start < min {
                vu.still = 0;
                vu.sleep = Some(q.timer_at(vu.iter_start.saturating_add(min), Event::VuPadded(v)));
                return;
            }
        }
        self.after_iteration(v, q, sys, m);
    }

    /// What a VU does once its iteration (and any pad) is over: loop, or go idle.
    fn after_iteration(
        &mut self,
        v: u32,
        q: &mut EventQueue<Event>,
        sys: &mut System,
        m: &mut Metrics,
    ) {
        let now = q.now();
        let sc = self.vus[v as usize].sc;
        let vu = &mut self.vus[v as usize];
        // Only a closed VU loops by itself: an open executor's arrivals are finite.
        let closed = self.scs[sc as usize].kind.closed();
        if closed && now == vu.iter_start {
            vu.still += 1;
            if vu.still >= MAX_STILL_ITERATIONS && self.error.is_none() {
                let flow = &self.programs[vu.flow as usize].name;
                self.error = Some((
                    format!("flows.{flow}"),
                    format!(
                        "a VU of scenario {:?} ran flow {flow:?} {MAX_STILL_ITERATIONS} times in \
                         a row without simulated time passing (at t = {}): every step took \
                         zero time or every request failed at once (e.g. rejected: no ready \
                         pod or max_inflight reached); the run would loop forever at one \
                         instant. Give the flow a sleep (think time) or its steps a duration",
                        self.scs[sc as usize].name,
                        crate::dist::format_duration(now)
                    ),
                ));
            }
            if self.error.is_some() {
                self.go_idle(v, q, sys);
                return;
            }
        } else {
            vu.still = 0;
        }
        if closed
            && vu.state == VuState::Running
            && now < self.scs[sc as usize].end
            && self.claim(sc, v)
        {
            return self.begin(v, q, sys, m);
        }
        self.go_idle(v, q, sys);
        self.check_finished(sc, now);
    }

    fn go_idle(&mut self, v: u32, q: &mut EventQueue<Event>, sys: &mut System) {
        let vu = &mut self.vus[v as usize];
        if vu.state == VuState::Idle {
            return;
        }
        vu.state = VuState::Idle;
        sys.user_offline(v);
        if let Some(t) = vu.hard_stop.take() {
            q.cancel(t);
        }
        let s = &mut self.scs[vu.sc as usize];
        s.active -= 1;
        self.active -= 1;
        if !s.kind.closed() {
            s.idle.push(v);
        }
    }

    /// Cut a VU's iteration short: its in-flight request is abandoned, unrecorded.
    fn hard_stop(&mut self, v: u32, q: &mut EventQueue<Event>, sys: &mut System, m: &mut Metrics) {
        let vu = &mut self.vus[v as usize];
        if let Some(t) = vu.sleep.take() {
            q.cancel(t);
        }
        if vu.req.take().is_some() {
            m.on_abandon(q.now());
        }
        // A VU past its flow's last step is in a minIterationDuration pad: its iteration
        // already completed.
        let padding = vu.pc as usize >= self.programs[vu.flow as usize].ops.len();
        if vu.state != VuState::Idle && !padding {
            m.interrupted_iterations += 1;
            if self.iteration_log.is_some() {
                let row = IterationRow::new(
                    vu.iter_start,
                    q.now(),
                    v,
                    vu.sc,
                    vu.flow,
                    Outcome::Interrupted,
                );
                self.log(row);
            }
        }
        self.go_idle(v, q, sys);
    }

    /// A response for client `r.client`. Taken by reference so its fields are read one by one:
    /// a copy of the whole just-written `Response` stalled on store forwarding.
    pub fn on_response(
        &mut self,
        r: &Response,
        q: &mut EventQueue<Event>,
        sys: &mut System,
        m: &mut Metrics,
    ) {
        let r = Response {
            client: r.client,
            req: r.req,
            cause: r.cause,
        };
        let vu = &mut self.vus[r.client as usize];
        if vu.req != Some(r.req) {
            return; // the client already timed out or was stopped
        }
        vu.req = None;
        let now = q.now();
        m.on_response_in(now, vu.req_ep, vu.sc, now - vu.req_start, r.cause);
        // Answered requests leave the front of the deadline FIFO now, not when the timer next
        // fires: the FIFO holds about the requests in flight, not every request of the last
        // `timeout` (all of them, with a long timeout).
        let sc = vu.sc as usize;
        let fifo = &mut self.scs[sc].timeouts;
        while let Some(&(_, v, req)) = fifo.front() {
            if self.vus[v as usize].req == Some(req) {
                break;
            }
            fifo.pop_front();
        }
        if self.ends_artillery_vu(r.client, r.cause) {
            self.vuser_failed(r.client, q, sys, m);
        } else {
            self.vus[r.client as usize].pc += 1;
            self.run(r.client, q, sys, m);
        }
        m.set_vus(self.active, self.vus.len() as u32);
    }

    /// Artillery ends a VU at a transport error, a client timeout or a reset connection
    /// (`vusers.failed`); an HTTP error status (every other cause here) does not
    /// (art `lib/core/engine_http.ts` step, `lib/core/runner.ts` runScenario).
    fn ends_artillery_vu(&self, v: u32, cause: Option<Cause>) -> bool {
        let sc = self.vus[v as usize].sc as usize;
        matches!(self.scs[sc].kind, Kind::Artillery { .. })
            && matches!(cause, Some(Cause::Timeout | Cause::Terminated))
    }

    fn vuser_failed(
        &mut self,
        v: u32,
        q: &mut EventQueue<Event>,
        sys: &mut System,
        m: &mut Metrics,
    ) {
        m.on_vuser_failed();
        let sc = self.vus[v as usize].sc;
        if self.iteration_log.is_some() {
            let vu = &self.vus[v as usize];
            let row = IterationRow::new(vu.iter_start, q.now(), v, sc, vu.flow, Outcome::Failed);
            self.log(row);
        }
        self.go_idle(v, q, sys);
        self.check_finished(sc, q.now());
    }

    fn timeouts(&mut self, sc: u16, q: &mut EventQueue<Event>, sys: &mut System, m: &mut Metrics) {
        let now = q.now();
        self.scs[sc as usize].timeouts_armed = false;
        while let Some(&(deadline, v, r)) = self.scs[sc as usize].timeouts.front() {
            if deadline > now {
                break;
            }
            self.scs[sc as usize].timeouts.pop_front();
            let vu = &mut self.vus[v as usize];
            if vu.req == Some(r) {
                vu.req = None;
                m.on_response_in(now, vu.req_ep, sc, now - vu.req_start, Some(Cause::Timeout));
                if self.ends_artillery_vu(v, Some(Cause::Timeout)) {
                    self.vuser_failed(v, q, sys, m);
                } else {
                    self.vus[v as usize].pc += 1;
                    self.run(v, q, sys, m);
                }
            }
        }
        let s = &mut self.scs[sc as usize];
        // A VU resumed above may already have re-armed the timer with its new request: arming
        // again would start a second timer chain that never stops.
        if s.timeouts_armed {
            return;
        }
        if let Some(&(deadline, _, _)) = s.timeouts.front() {
            s.timeouts_armed = true;
            q.schedule_at(deadline, Event::ClientTimeouts(sc));
        }
    }

    fn check_finished(&mut self, sc: u16, now: Nanos) {
        let s = &mut self.scs[sc as usize];
        // Called after every arrival and iteration: the cheap tests first.
        if s.finished || !s.started || s.active > 0 {
            return;
        }
        // An iteration executor is done once its VUs have run out of iterations (k6 returns
        // from Run when every VU has), which can be well before maxDuration.
        let early = matches!(
            s.kind,
            Kind::SharedIterations { .. } | Kind::PerVuIterations { .. }
        );
        if now < s.end && !early {
            return;
        }
        let more = match &s.kind {
            Kind::ArrivalRate { .. } => false, // arrivals stop at the regular end
            Kind::Artillery { pending, .. } => pending.is_some(),
            _ => false,
        };
        if more {
            return;
        }
        s.finished = true;
        self.finished += 1;
        if self.finished == self.scs.len() {
            self.done_at = Some(now);
        }
    }
}
