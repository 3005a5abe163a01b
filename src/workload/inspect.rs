//! `surge inspect SCENARIO`: the planned execution of a scenario file without running it, in
//! the terms of `k6 inspect --execution-requirements` (k6 `internal/cmd/inspect.go`: the full
//! execution requirements, `totalDuration` = their end offset, `maxVUs` = GetMaxPossibleVUs),
//! plus each scenario's VU steps and, for arrival-driven executors, arrivals per second
//! (k6 arrival-rate start times and Artillery phases, from `schedule.rs`).

use super::requirements::{self, Step};
use super::schedule::{ArtilleryArrivals, ConstantArrivals, RampingArrivals, Stage};
use crate::config::scenario::{ExecutorCfg, ScenarioFile};
use crate::dist::format_duration;
use crate::engine::{Nanos, SEC};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// Arrivals counted per second at most (a longer schedule is reported as truncated).
pub const MAX_COUNTED_ARRIVALS: u64 = 20_000_000;
/// VU steps printed per scenario in the text form (JSON has them all).
const TEXT_STEPS: usize = 40;

/// Arrivals per whole second from the scenario start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerSecond {
    pub counts: Vec<u64>,
    pub total: u64,
    /// Counting stopped at [`MAX_COUNTED_ARRIVALS`].
    pub truncated: bool,
}

impl PerSecond {
    fn from_times(times: impl Iterator<Item = Nanos>) -> Self {
        let mut p = PerSecond::default();
        for t in times {
            if p.total >= MAX_COUNTED_ARRIVALS {
                p.truncated = true;
                break;
            }
            let s = (t / SEC) as usize;
            if p.counts.len() <= s {
                p.counts.resize(s + 1, 0);
            }
            p.counts[s] += 1;
            p.total += 1;
        }
        p
    }

    /// Runs of equal counts: `(first second, last second, count)`.
    pub fn runs(&self) -> Vec<(usize, usize, u64)> {
        let mut out: Vec<(usize, usize, u64)> = Vec::new();
        for (i, &c) in self.counts.iter().enumerate() {
            match out.last_mut() {
                Some(r) if r.2 == c => r.1 = i,
                _ => out.push((i, i, c)),
            }
        }
        out
    }
}

/// The plan of one scenario.
#[derive(Clone, Debug)]
pub struct ScenarioPlan {
    pub name: String,
    pub executor: &'static str,
    pub start: Nanos,
    pub graceful_stop: Option<Nanos>,
    /// k6 execution requirements, relative to the scenario start.
    pub steps: Vec<Step>,
    /// Regular end (no new iterations after it), relative to the scenario start.
    pub regular_end: Nanos,
    pub description: String,
    /// Iterations the executor plans (arrivals for arrival-driven ones).
    pub planned_iterations: Option<u64>,
    pub arrivals: Option<PerSecond>,
}

/// The plan of a whole scenario file.
#[derive(Clone, Debug)]
pub struct Plan {
    pub scenarios: Vec<ScenarioPlan>,
    /// k6 GetFullExecutionRequirements over all scenarios.
    pub full: Vec<Step>,
}

fn executor_name(e: &ExecutorCfg) -> &'static str {
    match e {
        ExecutorCfg::ConstantVus(_) => "constant-vus",
        ExecutorCfg::RampingVus(_) => "ramping-vus",
        ExecutorCfg::ConstantArrivalRate(_) => "constant-arrival-rate",
        ExecutorCfg::RampingArrivalRate(_) => "ramping-arrival-rate",
        ExecutorCfg::SharedIterations(_) => "shared-iterations",
        ExecutorCfg::PerVuIterations(_) => "per-vu-iterations",
        ExecutorCfg::PoissonArrivals(_) => "poisson-arrivals",
        ExecutorCfg::Artillery(_) => "artillery",
    }
}

fn stages(st: &[crate::config::scenario::StageCfg]) -> Vec<Stage> {
    st.iter()
        .map(|s| Stage {
            duration: s.duration.0,
            target: s.target,
        })
        .collect()
}

fn per_unit(rate: f64, tu: Nanos) -> String {
    format!("{rate} per {}", format_duration(tu))
}

impl ScenarioPlan {
    pub fn of(name: &str, e: &ExecutorCfg) -> Self {
        let (start, grace, _, _) = e.common();
        let mut graceful_stop = Some(grace.0);
        let d = format_duration;
        let (regular_end, description, planned_iterations, arrivals) = match e {
            ExecutorCfg::ConstantVus(c) => (
                c.duration.0,
                format!("{} looping VUs for {}", c.vus, d(c.duration.0)),
                None,
                None,
            ),
            ExecutorCfg::RampingVus(c) => {
                let len = c
                    .stages
                    .iter()
                    .fold(0u64, |a, s| a.saturating_add(s.duration.0));
                let top = c
                    .stages
                    .iter()
                    .fold(f64::from(c.start_vus), |a, s| a.max(s.target));
                (
                    len,
                    format!(
                        "Up to {top} looping VUs for {} over {} stages (gracefulRampDown: {})",
                        d(len),
                        c.stages.len(),
                        d(c.graceful_ramp_down.0)
                    ),
                    None,
                    None,
                )
            }
            ExecutorCfg::ConstantArrivalRate(c) => {
                let a = PerSecond::from_times(ConstantArrivals::new(
                    c.rate,
                    c.time_unit.0,
                    c.duration.0,
                ));
                (
                    c.duration.0,
                    format!(
                        "{} iterations for {} (preAllocatedVUs: {}, maxVUs: {})",
                        per_unit(c.rate, c.time_unit.0),
                        d(c.duration.0),
                        c.pre_allocated_vus,
                        c.max_vus.unwrap_or(c.pre_allocated_vus)
                    ),
                    (!a.truncated).then_some(a.total),
                    Some(a),
                )
            }
            ExecutorCfg::RampingArrivalRate(c) => {
                let st = stages(&c.stages);
                let len = st.iter().fold(0u64, |a, s| a.saturating_add(s.duration));
                let a =
                    PerSecond::from_times(RampingArrivals::new(c.start_rate, c.time_unit.0, &st));
                let top = c.stages.iter().fold(c.start_rate, |a, s| a.max(s.target));
                (
                    len,
                    format!(
                        "Up to {} iterations for {} over {} stages (preAllocatedVUs: {}, \
                         maxVUs: {})",
                        per_unit(top, c.time_unit.0),
                        d(len),
                        c.stages.len(),
                        c.pre_allocated_vus,
                        c.max_vus.unwrap_or(c.pre_allocated_vus)
                    ),
                    (!a.truncated).then_some(a.total),
                    Some(a),
                )
            }
            ExecutorCfg::SharedIterations(c) => (
                c.max_duration.0,
                format!(
                    "{} iterations shared among {} VUs (maxDuration: {})",
                    c.iterations,
                    c.vus,
                    d(c.max_duration.0)
                ),
                Some(c.iterations),
                None,
            ),
            ExecutorCfg::PerVuIterations(c) => (
                c.max_duration.0,
                format!(
                    "{} iterations for each of {} VUs (maxDuration: {})",
                    c.iterations,
                    c.vus,
                    d(c.max_duration.0)
                ),
                Some(c.iterations.saturating_mul(u64::from(c.vus))),
                None,
            ),
            ExecutorCfg::PoissonArrivals(c) => (
                c.duration.0,
                format!(
                    "Poisson arrivals, mean {} for {} (maxVUs: {})",
                    per_unit(c.rate, c.time_unit.0),
                    d(c.duration.0),
                    c.max_vus.map_or("unbounded".into(), |m| m.to_string())
                ),
                None,
                None,
            ),
            ExecutorCfg::Artillery(c) => {
                graceful_stop = None;
                let phases: Vec<_> = c
                    .phases
                    .iter()
                    .filter_map(|p| crate::config::artillery_phase(p).ok())
                    .collect();
                let arr = ArtilleryArrivals::new(&phases);
                let len = arr.total_duration();
                let a = PerSecond::from_times(arr.map(|(t, _)| t));
                (
                    len,
                    format!(
                        "Artillery phases: {} phase(s) over {}, one new VU per arrival",
                        phases.len(),
                        d(len)
                    ),
                    (!a.truncated).then_some(a.total),
                    Some(a),
                )
            }
        };
        ScenarioPlan {
            name: name.to_string(),
            executor: executor_name(e),
            start: start.0,
            graceful_stop,
            steps: requirements::executor(e),
            regular_end,
            description,
            planned_iterations,
            arrivals,
        }
    }

    /// End of the scenario's requirements (regular end + gracefulStop), from its start.
    pub fn end_offset(&self) -> Nanos {
        requirements::end_offset(&self.steps).0
    }
}

fn steps_json(steps: &[Step]) -> Value {
    Value::Array(
        steps
            .iter()
            .map(|s| {
                json!({"t_ns": s.t, "t": format_duration(s.t), "planned_vus": s.planned,
                       "max_unplanned_vus": s.unplanned})
            })
            .collect(),
    )
}

impl Plan {
    pub fn of(s: &ScenarioFile) -> Self {
        Plan {
            scenarios: s
                .scenarios
                .iter()
                .map(|(n, e)| ScenarioPlan::of(n, e))
                .collect(),
            full: requirements::full(&s.scenarios),
        }
    }

    /// k6 inspect's `totalDuration`: the end offset of the full execution requirements, or of
    /// a surge-only scenario (Artillery phases, Poisson arrivals), which has no k6 requirements:
    /// its start, regular end and gracefulStop.
    pub fn total_duration(&self) -> Nanos {
        let own = self.scenarios.iter().map(|p| {
            let end = p.regular_end.saturating_add(p.graceful_stop.unwrap_or(0));
            p.start.saturating_add(p.end_offset().max(end))
        });
        own.fold(requirements::end_offset(&self.full).0, Nanos::max)
    }

    /// k6 inspect's `maxVUs` (GetMaxPossibleVUs of the full requirements).
    pub fn max_vus(&self) -> u64 {
        requirements::max_possible(&self.full)
    }

    pub fn to_json(&self) -> Value {
        let scenarios: serde_json::Map<String, Value> = self
            .scenarios
            .iter()
            .map(|p| {
                let mut o = json!({
                    "executor": p.executor,
                    "description": p.description,
                    "start_time_ns": p.start,
                    "graceful_stop_ns": p.graceful_stop,
                    "regular_end_ns": p.regular_end,
                    "end_offset_ns": p.end_offset(),
                    "max_planned_vus": requirements::max_planned(&p.steps),
                    "max_vus": requirements::max_possible(&p.steps),
                    "planned_iterations": p.planned_iterations,
                    "steps": steps_json(&p.steps),
                });
                if let Some(a) = &p.arrivals {
                    o["arrivals_per_second"] = json!(a.counts);
                    o["arrivals_total"] = json!(a.total);
                    o["arrivals_truncated"] = json!(a.truncated);
                }
                (p.name.clone(), o)
            })
            .collect();
        json!({
            "totalDuration": format_duration(self.total_duration()),
            "total_duration_ns": self.total_duration(),
            "maxVUs": self.max_vus(),
            "max_planned_vus": requirements::max_planned(&self.full),
            "execution_plan": steps_json(&self.full),
            "scenarios": scenarios,
        })
    }

    pub fn to_text(&self) -> String {
        let d = format_duration;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "execution: total duration {} (incl. graceful stops), max VUs {} ({} planned)",
            d(self.total_duration()),
            self.max_vus(),
            requirements::max_planned(&self.full)
        );
        for p in &self.scenarios {
            let _ = writeln!(o, "\nscenario {} ({})", p.name, p.executor);
            let _ = writeln!(o, "  {}", p.description);
            let grace = p
                .graceful_stop
                .map_or("none".to_string(), |g| d(g).to_string());
            let _ = writeln!(
                o,
                "  startTime {}, regular end +{}, gracefulStop {}, ends by +{}",
                d(p.start),
                d(p.regular_end),
                grace,
                d(p.end_offset())
            );
            let _ = writeln!(
                o,
                "  max VUs {} ({} planned)",
                requirements::max_possible(&p.steps),
                requirements::max_planned(&p.steps)
            );
            if let Some(n) = p.planned_iterations {
                let _ = writeln!(o, "  planned iterations {n}");
            }
            let _ = write!(o, "  VU steps (from scenario start):");
            write_steps(&mut o, &p.steps);
            if let Some(a) = &p.arrivals {
                let _ = write!(o, "  arrivals per second:");
                let runs = a.runs();
                for (from, to, c) in runs.iter().take(TEXT_STEPS) {
                    if from == to {
                        let _ = write!(o, " [{from}s] {c}");
                    } else {
                        let _ = write!(o, " [{from}s–{to}s] {c}/s");
                    }
                }
                if runs.len() > TEXT_STEPS {
                    let _ = write!(o, " … {} more runs (see --json)", runs.len() - TEXT_STEPS);
                }
                if a.truncated {
                    let _ = write!(o, " (counted the first {MAX_COUNTED_ARRIVALS} only)");
                }
                o.push('\n');
            }
        }
        let _ = write!(
            o,
            "\nexecution plan (all scenarios, k6 execution requirements):"
        );
        write_steps(&mut o, &self.full);
        o
    }
}

/// VU steps on one line: the first `TEXT_STEPS` and the last one (`--json` has them all).
fn write_steps(o: &mut String, steps: &[Step]) {
    let one = |o: &mut String, s: &Step| {
        let _ = write!(o, " {}={}", format_duration(s.t), s.planned);
        if s.unplanned > 0 {
            let _ = write!(o, "(+{})", s.unplanned);
        }
    };
    for s in steps.iter().take(TEXT_STEPS) {
        one(o, s);
    }
    if steps.len() > TEXT_STEPS + 1 {
        let _ = write!(o, " … {} more …", steps.len() - TEXT_STEPS - 1);
    }
    if steps.len() > TEXT_STEPS {
        one(o, &steps[steps.len() - 1]);
    }
    o.push('\n');
}
