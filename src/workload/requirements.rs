//! k6's execution requirements: how many VUs each executor needs over time, as `k6 inspect
//! --execution-requirements` and k6's scheduler compute them before a test starts.
//!
//! Ported from grafana/k6 @87883075 without execution segments (a single k6 instance):
//! - `lib/executor/ramping_vus.go` getRawExecutionSteps, reserveVUsForGracefulRampDowns and
//!   GetExecutionRequirements;
//! - `GetExecutionRequirements` of `constant_vus.go`, `constant_arrival_rate.go`,
//!   `ramping_arrival_rate.go`, `shared_iterations.go`, `per_vu_iterations.go`;
//! - `lib/executors.go` ScenarioConfigs.GetFullExecutionRequirements (scenarios combined,
//!   shifted by their startTime) and `lib/helpers.go` GetMaxPlannedVUs, GetMaxPossibleVUs,
//!   GetEndOffset.
//!
//! surge's own executors are given requirements in the same shape: `poisson-arrivals` and
//! `artillery` plan no VUs up front (every VU is initialised when an arrival needs it), with
//! their VU cap as unplanned VUs (0 when uncapped), and Artillery has no gracefulStop.

use crate::config::scenario::ExecutorCfg;
use crate::engine::Nanos;
use std::collections::BTreeMap;

/// One k6 `lib.ExecutionStep`: from `t` on, `planned` VUs are reserved, and up to
/// `unplanned` more may be initialised mid-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub t: Nanos,
    pub planned: u64,
    pub unplanned: u64,
}

/// A step with planned VUs only.
pub const fn step(t: Nanos, planned: u64) -> Step {
    Step {
        t,
        planned,
        unplanned: 0,
    }
}

/// k6 getRawExecutionSteps for one instance: `(t, planned VUs)` where the VU count changes,
/// starting with `(0, start_vus)`; `zero_end` appends `(sum of durations, 0)` unless the plan
/// already ends at 0. Same-time steps are kept (a zero-length stage followed by a ramp).
pub fn raw_ramping_vus_steps(start_vus: u64, stages: &[(Nanos, u64)], zero_end: bool) -> Vec<Step> {
    let mut steps = vec![step(0, start_vus)];
    let mut add = |t: i128, v: u64| {
        if steps.last().is_some_and(|s| s.planned != v) {
            steps.push(step(t.clamp(0, i128::from(u64::MAX)) as Nanos, v));
        }
    };
    let mut till_end: i128 = 0;
    let mut from = i128::from(start_vus);
    for &(d, target) in stages {
        let (d, to) = (i128::from(d), i128::from(target));
        till_end += d;
        let diff = to - from;
        if diff == 0 {
            continue;
        }
        if d == 0 {
            add(till_end, target);
            from = to;
            continue;
        }
        let mut u = from;
        if from > to {
            // Ramp down: VU u-1 at `end - D*(T-u+1)/diff` (Go integer division truncates).
            while u > to {
                add(till_end - d * (to - u + 1) / diff, (u - 1) as u64);
                u -= 1;
            }
        } else {
            while u <= to {
                add(till_end - d * (to - u) / diff, u as u64);
                u += 1;
            }
        }
        from = to;
    }
    if zero_end && steps.last().is_some_and(|s| s.planned != 0) {
        steps.push(step(till_end as Nanos, 0));
    }
    steps
}

/// k6 reserveVUsForGracefulRampDowns: a VU told to stop keeps its reservation for up to
/// `grace` (it may still be finishing its iteration), unless the plan climbs back to that
/// level within the window; nothing is added at or after `end` (regular end + gracefulStop).
pub fn reserve_graceful_ramp_downs(raw: &[Step], grace: Nanos, end: Nanos) -> Vec<Step> {
    let mut out = Vec::new();
    let mut last_planned = 0u64;
    let mut last_down = 0usize;
    let mut i = 0usize;
    while i < raw.len() {
        let s = raw[i];
        if i == 0 || s.planned > last_planned {
            out.push(s);
            last_planned = s.planned;
            i += 1;
            continue;
        }
        if s.planned == last_planned {
            i += 1;
            continue;
        }
        let mut skipped = false;
        let with_timeout = s.t.saturating_add(grace);
        let adv_start = last_down.max(i + 1);
        let mut was_ramping_down = true;
        let mut adv = adv_start;
        while adv < raw.len() {
            let a = raw[adv];
            if a.t > with_timeout {
                break;
            }
            if a.planned >= last_planned {
                i = adv - 1;
                skipped = true;
                break;
            }
            if was_ramping_down {
                if raw[adv - 1].planned > a.planned {
                    last_down = adv;
                } else {
                    was_ramping_down = false;
                }
            }
            adv += 1;
        }
        if skipped {
            i += 1;
            continue;
        }
        if with_timeout >= end {
            break;
        }
        out.push(step(with_timeout, s.planned));
        last_planned = s.planned;
        i += 1;
    }
    out
}

/// A ramping-vus stage target as a VU count (validation requires whole, non-negative numbers).
fn vus(target: f64) -> u64 {
    if target.is_finite() && target > 0.0 {
        target.round() as u64
    } else {
        0
    }
}

/// The execution requirements of one executor, relative to its own start.
pub fn executor(e: &ExecutorCfg) -> Vec<Step> {
    let (_, grace, _, _) = e.common();
    let gs = grace.0;
    let two = |planned: u64, unplanned: u64, end: Nanos| {
        vec![
            Step {
                t: 0,
                planned,
                unplanned,
            },
            step(end, 0),
        ]
    };
    match e {
        ExecutorCfg::ConstantVus(c) => two(u64::from(c.vus), 0, c.duration.0.saturating_add(gs)),
        ExecutorCfg::RampingVus(c) => {
            let stages: Vec<(Nanos, u64)> = c
                .stages
                .iter()
                .map(|s| (s.duration.0, vus(s.target)))
                .collect();
            let mut steps = raw_ramping_vus_steps(u64::from(c.start_vus), &stages, false);
            let end = stages
                .iter()
                .fold(0u64, |a, s| a.saturating_add(s.0))
                .saturating_add(gs);
            if c.graceful_ramp_down.0 > 0 {
                steps = reserve_graceful_ramp_downs(&steps, c.graceful_ramp_down.0, end);
            }
            if steps.last().is_some_and(|s| s.planned != 0) {
                steps.push(step(end, 0));
            }
            steps
        }
        ExecutorCfg::ConstantArrivalRate(c) => {
            let pre = u64::from(c.pre_allocated_vus);
            let max = u64::from(c.max_vus.unwrap_or(c.pre_allocated_vus));
            two(
                pre,
                max.saturating_sub(pre),
                c.duration.0.saturating_add(gs),
            )
        }
        ExecutorCfg::RampingArrivalRate(c) => {
            let pre = u64::from(c.pre_allocated_vus);
            let max = u64::from(c.max_vus.unwrap_or(c.pre_allocated_vus));
            let d = c
                .stages
                .iter()
                .fold(0u64, |a, s| a.saturating_add(s.duration.0));
            two(pre, max.saturating_sub(pre), d.saturating_add(gs))
        }
        ExecutorCfg::SharedIterations(c) => {
            if c.vus == 0 {
                vec![step(0, 0)]
            } else {
                two(u64::from(c.vus), 0, c.max_duration.0.saturating_add(gs))
            }
        }
        ExecutorCfg::PerVuIterations(c) => {
            two(u64::from(c.vus), 0, c.max_duration.0.saturating_add(gs))
        }
        ExecutorCfg::PoissonArrivals(c) => two(
            0,
            c.max_vus.map_or(0, u64::from),
            c.duration.0.saturating_add(gs),
        ),
        ExecutorCfg::Artillery(c) => {
            let phases: Vec<_> = c
                .phases
                .iter()
                .filter_map(|p| crate::config::artillery_phase(p).ok())
                .collect();
            let end = super::schedule::ArtilleryArrivals::new(&phases).total_duration();
            // Uncapped unless every phase caps its VUs.
            let cap = phases
                .iter()
                .try_fold(0u64, |a, p| p.max_vusers.map(|v| a.max(u64::from(v))))
                .unwrap_or(0);
            two(0, cap, end)
        }
    }
}

/// k6 GetFullExecutionRequirements: every scenario's steps shifted by its startTime, sorted
/// by (time, scenario order = startTime then name), each scenario's current values summed at
/// every step time, and a step kept only when the sums change.
pub fn full(scenarios: &BTreeMap<String, ExecutorCfg>) -> Vec<Step> {
    // GetSortedConfigs: by (startTime, name); BTreeMap already iterates by name.
    let mut order: Vec<&ExecutorCfg> = scenarios.values().collect();
    order.sort_by_key(|e| e.common().0 .0);
    let mut tracked: Vec<(Step, usize)> = Vec::new();
    for (id, e) in order.iter().enumerate() {
        let start = e.common().0 .0;
        for mut s in executor(e) {
            s.t = s.t.saturating_add(start);
            tracked.push((s, id));
        }
    }
    // Stable: steps of one scenario at the same time keep their order.
    tracked.sort_by_key(|(s, id)| (s.t, *id));
    let mut planned = vec![0u64; order.len()];
    let mut unplanned = vec![0u64; order.len()];
    let mut out: Vec<Step> = Vec::new();
    for (s, id) in tracked {
        planned[id] = s.planned;
        unplanned[id] = s.unplanned;
        let (p, u) = (
            planned.iter().fold(0u64, |a, x| a.saturating_add(*x)),
            unplanned.iter().fold(0u64, |a, x| a.saturating_add(*x)),
        );
        if out
            .last()
            .is_none_or(|l| l.planned != p || l.unplanned != u)
        {
            out.push(Step {
                t: s.t,
                planned: p,
                unplanned: u,
            });
        }
    }
    out
}

/// k6 GetMaxPlannedVUs: the VUs initialised before the test starts.
pub fn max_planned(steps: &[Step]) -> u64 {
    steps.iter().map(|s| s.planned).max().unwrap_or(0)
}

/// k6 GetMaxPossibleVUs: planned + unplanned at the busiest step.
pub fn max_possible(steps: &[Step]) -> u64 {
    steps
        .iter()
        .map(|s| s.planned.saturating_add(s.unplanned))
        .max()
        .unwrap_or(0)
}

/// k6 GetEndOffset: the time of the last step, and whether it is final (no VUs left).
pub fn end_offset(steps: &[Step]) -> (Nanos, bool) {
    match steps.last() {
        None => (0, true),
        Some(s) => (s.t, s.planned == 0 && s.unplanned == 0),
    }
}
