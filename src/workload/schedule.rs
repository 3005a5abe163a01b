//! Timing semantics of k6 executors and Artillery phases, as pure functions
//! and iterators (spec: `shared/reference/load-generators.md` §1–2).
//!
//! All times are `u64` nanoseconds relative to the scenario/phase-list start;
//! rates are per `time_unit` (ns). Nothing here knows about VUs, requests or
//! the event queue: callers turn these instants into simulator events.
//!
//! Deliberate choices and deviations (details at each item):
//! - ramping-vus step times use k6's `stage_end - D*|T-v|/|T-F|` (= ceil), so VU
//!   counts are exactly floor/ceil of the linear ramp; the pseudo-code's floor
//!   division can be up to 1 ns earlier.
//! - constant-arrival-rate: `floor(n*time_unit/rate)` as specified; k6 itself
//!   multiplies a truncated period (`n*trunc(time_unit/rate)`), < 1 ns drift/iteration.
//! - ramping-arrival-rate: an algebraically equal, cancellation-free form of cal()'s
//!   root, rounded to the nearest ns (k6 truncates), with a 1e-12 relative tolerance
//!   on "area reached" against float rounding.
//! - Artillery: a single worker (no per-worker split / +1 rounding / bunching),
//!   `arrivalCount` exactly evenly spaced, an explicit tick for 1-period ramps; a
//!   constant-rate phase ends at its last arrival and `arrivalCount: 0` takes no time,
//!   as in Artillery.

use std::iter::FusedIterator;

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;

/// One stage of a k6 ramping-arrival-rate executor: ramp linearly to `target`
/// iterations per `time_unit` over `duration` ns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    pub duration: u64,
    pub target: f64,
}

// ---------------------------------------------------------------- k6 ramping-vus

/// k6 ramping-vus plan (getRawExecutionSteps): `(time_ns, vus)` steps, starting
/// with `(0, start_vus)` and ending with `(sum of durations, 0)` (the regular end).
///
/// Within a stage from `F` to `T` over `D`, VU `v` is scheduled at
/// `stage_end - D*|T-v|/|T-F|` (integer division), exactly as k6 writes it. That
/// equals `t0 + ceil(D*|v-F|/|T-F|)`, which makes [`vus_at`] equal
/// `floor(linear)` when ramping up and `ceil(linear)` when ramping down at every
/// integer nanosecond; the reference pseudo-code's `t0 + D*(v-F)/(T-F)` differs by
/// at most 1 ns and only when the division is inexact.
///
/// Steps are in non-decreasing time order; several may share a time (zero-length
/// stages), in which case the later one wins. Durations summing past `u64::MAX`
/// saturate.
pub fn ramping_vus_plan(start_vus: u32, stages: &[(u64, u32)]) -> Vec<(u64, u32)> {
    let mut plan = vec![(0, start_vus)];
    let mut from = start_vus;
    let mut end: u64 = 0;
    for &(dur, target) in stages {
        end = end.saturating_add(dur);
        if target == from {
            continue;
        }
        if dur == 0 {
            plan.push((end, target));
        } else if target > from {
            let diff = u128::from(target - from);
            for v in from + 1..=target {
                let back = u128::from(dur) * u128::from(target - v) / diff;
                plan.push((end - back as u64, v));
            }
        } else {
            let diff = u128::from(from - target);
            for v in (target..from).rev() {
                let back = u128::from(dur) * u128::from(v - target) / diff;
                plan.push((end - back as u64, v));
            }
        }
        from = target;
    }
    // k6 omits this step when the plan already ended at 0 VUs; we keep it (unless it
    // would be an exact duplicate) so the regular end is always visible in the plan.
    if plan.last() != Some(&(end, 0)) {
        plan.push((end, 0));
    }
    plan
}

/// Scheduled VU count at `t`: the value of the last step with `time <= t`
/// (0 for an empty plan).
pub fn vus_at(plan: &[(u64, u32)], t: u64) -> u32 {
    match plan.partition_point(|&(time, _)| time <= t) {
        0 => 0,
        i => plan[i - 1].1,
    }
}

/// gracefulRampDown for VU `idx` (0-based; LIFO, so the VU with the highest index is
/// stopped first) told to stop at `t_stop`: it finishes its current iteration and
/// starts no new one, and is hard-stopped at `t_stop + graceful_ramp_down` (returned)
/// unless the plan climbs back to `> idx` VUs within `(t_stop, t_stop + grace]`
/// (inclusive end, as k6's look-ahead), in which case `None`: it is never interrupted
/// and the plan simply restarts it. If the plan already says `> idx` at `t_stop`
/// (a same-instant drop and climb), the stop is void: `None`.
///
/// k6 evaluates this per level on the aggregate plan (reserveVUsForGracefulRampDowns);
/// that matches this per-VU rule for ramps, but can differ for a steep drop followed by
/// a partial climb within the window. The caller must still cap the result at the
/// executor's hard end (regular end + gracefulStop), which can cut the grace short.
pub fn ramp_down_hard_stop(
    plan: &[(u64, u32)],
    idx: u32,
    t_stop: u64,
    graceful_ramp_down: u64,
) -> Option<u64> {
    let deadline = t_stop.saturating_add(graceful_ramp_down);
    let after = plan.partition_point(|&(time, _)| time <= t_stop);
    if after > 0 && plan[after - 1].1 > idx {
        return None;
    }
    let climbs_back = plan[after..]
        .iter()
        .take_while(|&&(time, _)| time <= deadline)
        .any(|&(_, vus)| vus > idx);
    if climbs_back {
        None
    } else {
        Some(deadline)
    }
}

// ------------------------------------------------------ k6 constant-arrival-rate

/// k6 constant-arrival-rate start times: iteration `n` at `floor(n*time_unit/rate)`,
/// `n = 0, 1, ..` while `< duration` (first at 0). Empty for a non-positive or
/// non-finite rate or a zero `time_unit`.
///
/// k6 actually schedules `n * trunc(time_unit/rate)`, drifting early by < 1 ns per
/// iteration when the division is inexact; we follow the specified formula.
#[derive(Clone, Debug)]
pub struct ConstantArrivals {
    n: u64,
    rate: f64,
    /// `rate` when it is a whole number, so times are computed exactly in integers.
    int_rate: Option<u64>,
    time_unit: u64,
    duration: u64,
    finished: bool,
}

impl ConstantArrivals {
    pub fn new(rate: f64, time_unit: u64, duration: u64) -> Self {
        let valid = rate.is_finite() && rate > 0.0 && time_unit > 0;
        let int_rate = (valid && rate.fract() == 0.0 && rate < 9.2e18).then_some(rate as u64);
        ConstantArrivals {
            n: 0,
            rate,
            int_rate,
            time_unit,
            duration,
            finished: !valid,
        }
    }

    fn time_of(&self, n: u64) -> Option<u64> {
        match self.int_rate {
            Some(r) => {
                u64::try_from(u128::from(n) * u128::from(self.time_unit) / u128::from(r)).ok()
            }
            None => {
                let t = (n as f64 * self.time_unit as f64 / self.rate).floor();
                (t < u64::MAX as f64).then_some(t as u64)
            }
        }
    }
}

impl Iterator for ConstantArrivals {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.finished {
            return None;
        }
        match self.time_of(self.n) {
            Some(t) if t < self.duration => {
                self.n += 1;
                Some(t)
            }
            _ => {
                self.finished = true;
                None
            }
        }
    }
}

impl FusedIterator for ConstantArrivals {}

// ------------------------------------------------------- k6 ramping-arrival-rate

/// k6 ramping-arrival-rate start times (cal()): iteration `i` (1-based) starts when
/// the area under the piecewise-linear rate reaches `i`, so the first is at area 1,
/// not at 0; a fractional remainder carries into the next stage.
///
/// The root of `r0*x + (r1-r0)*x^2/(2D) = k` is computed as
/// `2k / (r0 + sqrt(r0^2 + 2k(r1-r0)/D))`, equal to k6's
/// `(r0*D - sqrt(D*(r0^2*D + 2k(r1-r0)))) / (r0-r1)` but free of cancellation when
/// `r0 ≈ r1`; times are rounded to the nearest ns (k6 truncates). An area within
/// 1e-12 (relative) of an integer counts as reaching it, so float rounding cannot
/// drop the last iteration of an exactly integral stage.
///
/// An iteration can fall exactly on the regular end (e.g. the last one of a stage
/// whose area is integral); it is yielded as cal() does, while k6's Run() races it
/// against the end-of-duration context. Negative or non-finite rates count as 0; a
/// zero `time_unit` yields nothing.
#[derive(Clone, Debug)]
pub struct RampingArrivals {
    stages: Vec<Stage>,
    next_stage: usize,
    time_unit: f64,
    /// Rates per `time_unit` at the start and end of the current stage.
    r0: f64,
    r1: f64,
    dur: f64,
    dur_ns: u64,
    stage_start: u64,
    /// Cumulative area (iterations) at the start and end of the current stage.
    done: f64,
    area: f64,
    /// Next iteration number (1-based), as a float like k6's loop variable.
    i: f64,
    in_stage: bool,
}

fn sane_rate(r: f64) -> f64 {
    if r.is_finite() && r > 0.0 {
        r
    } else {
        0.0
    }
}

impl RampingArrivals {
    pub fn new(start_rate: f64, time_unit: u64, stages: &[Stage]) -> Self {
        let start = sane_rate(start_rate);
        RampingArrivals {
            stages: if time_unit == 0 {
                Vec::new()
            } else {
                stages.to_vec()
            },
            next_stage: 0,
            time_unit: time_unit as f64,
            r0: start,
            r1: start,
            dur: 0.0,
            dur_ns: 0,
            stage_start: 0,
            done: 0.0,
            area: 0.0,
            i: 1.0,
            in_stage: false,
        }
    }
}

impl Iterator for RampingArrivals {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        loop {
            if self.in_stage && self.i <= self.area + self.area * 1e-12 {
                let k = self.i - self.done;
                let tu = self.time_unit;
                let x = if self.r0 == self.r1 {
                    k * tu / self.r1
                } else {
                    let disc = self.r0 * self.r0 + 2.0 * k * (self.r1 - self.r0) * tu / self.dur;
                    2.0 * k * tu / (self.r0 + disc.max(0.0).sqrt())
                };
                self.i += 1.0;
                let x = x.clamp(0.0, self.dur).round() as u64;
                return Some(self.stage_start.saturating_add(x.min(self.dur_ns)));
            }
            if self.in_stage {
                self.done = self.area;
                self.r0 = self.r1;
                self.stage_start = self.stage_start.saturating_add(self.dur_ns);
                self.in_stage = false;
            }
            let stage = *self.stages.get(self.next_stage)?;
            self.next_stage += 1;
            self.r1 = sane_rate(stage.target);
            self.dur_ns = stage.duration;
            self.dur = stage.duration as f64;
            self.area += self.dur * (self.r0 + self.r1) / (2.0 * self.time_unit);
            self.in_stage = true;
        }
    }
}

impl FusedIterator for RampingArrivals {}

// ------------------------------------------------------------ Artillery phases

/// What an Artillery phase does for its duration.
#[derive(Clone, Debug, PartialEq)]
pub enum PhaseKind {
    Pause,
    /// `arrivalCount`: this many arrivals spread over the phase.
    Count(u64),
    /// `arrivalRate` without `rampTo`, arrivals per second.
    Constant(f64),
    /// `arrivalRate` → `rampTo`, arrivals per second.
    Ramp {
        from: f64,
        to: f64,
    },
}

/// One Artillery phase; `duration` in ns (the pause length for `Pause`).
/// `max_vusers` is carried for the runner (skip arrivals while that many VUs run);
/// it does not affect arrival times.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub duration: u64,
    pub kind: PhaseKind,
    pub max_vusers: Option<u32>,
}

/// Artillery's µs tick for a constant `arrivalRate` (arrivals lib:
/// `floor((1000/rate ms) * 1000)`, evaluated in the same float order).
fn uniform_tick_us(rate: f64) -> f64 {
    ((1000.0 / rate) * 1000.0).floor()
}

/// Build a [`Phase`] from Artillery's fields with its precedence (phases.ts):
/// `pause` → `arrivalCount` → `arrivalRate: 0` without `rampTo` (a pause of
/// `duration`) → `rampTo` → constant `arrivalRate`. Fields lower in the order are
/// ignored, as Artillery does. Durations are in ns.
///
/// Errors mirror what Artillery rejects or mishandles: a zero `pause`/`duration`
/// (its `ms` conversion throws), a missing `duration` on a constant or count phase (a
/// constant phase would never end; a ramp without one gets 1 period), negative or
/// non-finite rates, no phase type at all, and constant rates whose µs tick is 0
/// (> 1e6/s) or longer than the phase (Artillery's uniform process would then never finish).
pub fn artillery_phase(
    duration: Option<u64>,
    arrival_rate: Option<f64>,
    ramp_to: Option<f64>,
    arrival_count: Option<u64>,
    pause: Option<u64>,
    max_vusers: Option<u32>,
) -> Result<Phase, String> {
    let phase = |duration, kind| Phase {
        duration,
        kind,
        max_vusers,
    };
    if let Some(p) = pause {
        // `pause: "0"` (a string, so truthy) is a setTimeout of 0 ms: the phase ends at once.
        return Ok(phase(p, PhaseKind::Pause));
    }
    let need_duration = |what: &str| match duration {
        // Only `"0"` gets here (a number 0 is the phaser's "Invalid duration" error). The
        // uniform process reads a zero duration as no end (arrivals `duration * 1000 || null`)
        // and would send arrivals forever; surge refuses instead of running without end.
        Some(0) => Err(format!(
            "{what} phase: duration \"0\" has no end in Artillery (its uniform arrival process \
             reads a zero duration as unbounded and sends arrivals forever); expected a \
             positive duration"
        )),
        Some(d) => Ok(d),
        None => Err(format!("{what} phase: expected a duration")),
    };
    if let Some(n) = arrival_count {
        return Ok(phase(need_duration("arrivalCount")?, PhaseKind::Count(n)));
    }
    // `rampTo` alone ramps from 0: Artillery's local runner sets `arrivalRate ||= 0` before
    // it splits a ramp over workers (artillery lib/dist.ts divideWork).
    let Some(rate) = arrival_rate.or(ramp_to.map(|_| 0.0)) else {
        return Err("phase: expected one of pause, arrivalCount, arrivalRate or rampTo".into());
    };
    if !rate.is_finite() || rate < 0.0 {
        return Err(format!(
            "arrivalRate: expected a finite number >= 0, got {rate}"
        ));
    }
    if let Some(to) = ramp_to {
        if !to.is_finite() || to < 0.0 {
            return Err(format!("rampTo: expected a finite number >= 0, got {to}"));
        }
        // createRamp: `duration || 1` periods, so a ramp without a duration (or with `"0"`)
        // lasts 1 s; 0 here means that one period.
        let d = duration.unwrap_or(0);
        return Ok(phase(d, PhaseKind::Ramp { from: rate, to }));
    }
    if rate == 0.0 {
        // The phaser's pause of `duration` (`"0"`: a pause of 0 ms).
        return match duration {
            Some(d) => Ok(phase(d, PhaseKind::Pause)),
            None => need_duration("arrivalRate").map(|d| phase(d, PhaseKind::Pause)),
        };
    }
    let d = need_duration("arrivalRate")?;
    let tick_us = uniform_tick_us(rate);
    if tick_us < 1.0 {
        return Err(format!(
            "arrivalRate: expected at most 1000000/s (Artillery's µs tick would be 0), got {rate}"
        ));
    }
    if tick_us * NS_PER_US as f64 > d as f64 {
        return Err(format!(
            "arrivalRate: expected at least one arrival within the phase, but the first is \
             {tick_us} µs in and the phase lasts {d} ns (Artillery would never end it)"
        ));
    }
    Ok(phase(d, PhaseKind::Constant(rate)))
}

/// How one phase generates offsets from its start.
#[derive(Clone, Copy, Debug)]
enum Gen {
    None,
    /// `floor(k*span/n)`, k = 1..=n.
    Even {
        n: u64,
        span: u64,
    },
    /// `k*tick`, k = 1..=n.
    Tick {
        tick: u64,
        n: u64,
    },
    /// createRamp's per-second steps.
    Ramp {
        from: f64,
        to: f64,
        secs: f64,
        periods: u64,
    },
}

#[derive(Clone, Copy, Debug)]
struct PhaseSched {
    start: u64,
    gen: Gen,
}

/// Arrivals in period `p` of a ramp: createRamp's raw count with JS's operation order, then
/// adjustArrivalsByWorker: `floor(raw)`, plus 1 when `Math.round(frac(raw) * workers) >=
/// worker`. Summed over a local run's workers that is round-half-up of `raw` (the reference
/// emulates W = 1, 3, 7); with one worker it is exactly `floor(raw) + (frac >= 0.5)`.
fn ramp_period_arrivals(from: f64, to: f64, secs: f64, p: u64) -> u64 {
    let raw = if secs == 1.0 {
        (to + from) / 2.0
    } else {
        ((to - from) / (secs - 1.0)) * p as f64 + from
    };
    // A fractional duration extrapolates past rampTo and may go negative: 0 arrivals.
    if !(raw.is_finite() && raw > 0.0) {
        return 0;
    }
    // JS Math.round is half-up; for a non-negative fraction Rust's round agrees.
    let bump = u64::from((raw % 1.0).round() >= 1.0);
    raw.floor() as u64 + bump
}

/// Artillery arrivals over sequential phases, as `(time_ns, phase_index)`.
///
/// - Constant `arrivalRate` r: at `k*tick` with `tick = floor(1e6/r)` µs,
///   `k = 1..=floor(duration/tick)`; the uniform process stops itself at its last
///   arrival, so the phase (and the start of the next) ends there, up to one tick
///   before the nominal duration.
/// - `arrivalCount` n: at `floor(k*duration/n)`, `k = 1..=n` (Artillery quantises the
///   gap to whole µs and so can emit a few more than n when n is large; not modelled).
///   `arrivalCount: 0` ends immediately, taking no time, as in Artillery.
/// - `rampTo`: `ceil(duration_s)` one-second periods (a zero duration means 1);
///   period `p` has `A = floor(raw)` arrivals at `p*1000 + j*tick` ms, `j = 1..=A`,
///   `tick = min(floor(1000/A), 1000)` ms (all at the period start when A > 1000).
///   For a 1-second ramp Artillery never sets the tick (its timer then fires about
///   every ms); we use the same tick formula instead.
/// - `Pause`: no arrivals, lasts its duration.
///
/// Deviation: this is a single Artillery worker. Local runs split each phase over
/// max(1, CPUs-1) workers (integer rate split, fractional ramp split with a per-worker
/// `+1`, arrivalCount on worker 1), whose independent timers bunch arrivals within a
/// second; that is not modelled. `mode: poisson` is not modelled either.
#[derive(Clone, Debug)]
pub struct ArtilleryArrivals {
    phases: Vec<PhaseSched>,
    total: u64,
    idx: usize,
    /// Arrivals already emitted in the current phase, or in the current ramp period.
    k: u64,
    /// Ramp state: next period to load, and the loaded period's base/arrivals/tick.
    next_period: u64,
    period_base: u64,
    period_n: u64,
    period_tick: u64,
}

impl ArtilleryArrivals {
    pub fn new(phases: &[Phase]) -> Self {
        let mut start: u64 = 0;
        let mut sched = Vec::with_capacity(phases.len());
        for ph in phases {
            let d = ph.duration;
            let (gen, len) = match ph.kind {
                PhaseKind::Pause => (Gen::None, d),
                PhaseKind::Count(0) => (Gen::None, 0),
                PhaseKind::Count(n) => (Gen::Even { n, span: d }, d),
                PhaseKind::Constant(r) if r.is_finite() && r > 0.0 => {
                    // > 1e6/s would give a 0 µs tick (Artillery divides by zero); clamp.
                    let tick_us = uniform_tick_us(r).max(1.0);
                    let tick = if tick_us >= (u64::MAX / NS_PER_US) as f64 {
                        u64::MAX
                    } else {
                        tick_us as u64 * NS_PER_US
                    };
                    match d / tick {
                        // Artillery would tick forever here; treat as a silent phase.
                        0 => (Gen::None, d),
                        n => (Gen::Tick { tick, n }, n * tick),
                    }
                }
                PhaseKind::Constant(_) => (Gen::None, d),
                PhaseKind::Ramp { from, to } => {
                    let secs = if d == 0 {
                        1.0
                    } else {
                        d as f64 / NS_PER_S as f64
                    };
                    let periods = d.div_ceil(NS_PER_S).max(1);
                    let gen = Gen::Ramp {
                        from,
                        to,
                        secs,
                        periods,
                    };
                    (gen, periods.saturating_mul(NS_PER_S))
                }
            };
            sched.push(PhaseSched { start, gen });
            start = start.saturating_add(len);
        }
        ArtilleryArrivals {
            phases: sched,
            total: start,
            idx: 0,
            k: 0,
            next_period: 0,
            period_base: 0,
            period_n: 0,
            period_tick: 0,
        }
    }

    /// When the last phase ends (phase lengths as described on the type), not counting
    /// the VUs still running after it.
    pub fn total_duration(&self) -> u64 {
        self.total
    }
}

impl Iterator for ArtilleryArrivals {
    type Item = (u64, usize);

    fn next(&mut self) -> Option<(u64, usize)> {
        loop {
            let ph = *self.phases.get(self.idx)?;
            let offset = match ph.gen {
                Gen::None => None,
                Gen::Even { n, span } if self.k < n => {
                    self.k += 1;
                    Some((u128::from(self.k) * u128::from(span) / u128::from(n)) as u64)
                }
                Gen::Tick { tick, n } if self.k < n => {
                    self.k += 1;
                    Some(self.k * tick)
                }
                Gen::Even { .. } | Gen::Tick { .. } => None,
                Gen::Ramp {
                    from,
                    to,
                    secs,
                    periods,
                } => loop {
                    if self.k < self.period_n {
                        self.k += 1;
                        break Some(
                            self.period_base
                                .saturating_add(self.k.saturating_mul(self.period_tick)),
                        );
                    }
                    if self.next_period >= periods {
                        break None;
                    }
                    let p = self.next_period;
                    self.next_period += 1;
                    let a = ramp_period_arrivals(from, to, secs, p);
                    if a == 0 {
                        // Skip a run of empty periods at once (a long ramp below 1/s would
                        // otherwise cost a loop pass per second of it): raw = from + slope*p
                        // first reaches 0.5 (one arrival, rounded) at p = (0.5 - from) / slope,
                        // stepped up to from the period before, where the exact formula above
                        // decides again.
                        let slope = if secs == 1.0 {
                            0.0
                        } else {
                            (to - from) / (secs - 1.0)
                        };
                        let next = if slope > 0.0 && slope.is_finite() {
                            let c = ((0.5 - from) / slope).ceil();
                            if c.is_finite() && c > 1.0 {
                                ((c as u64).saturating_sub(1)).max(p + 1)
                            } else {
                                p + 1
                            }
                        } else {
                            periods
                        };
                        self.next_period = next.min(periods).max(self.next_period);
                        self.period_n = 0;
                        self.k = 0;
                        continue;
                    }
                    self.period_base = p.saturating_mul(NS_PER_S);
                    self.period_n = a;
                    // JS: min(floor(1000/0) = Infinity, 1000) = 1000 for an empty period.
                    self.period_tick =
                        1000u64.checked_div(a).map_or(1000, |t| t.min(1000)) * NS_PER_MS;
                    self.k = 0;
                },
            };
            if let Some(off) = offset {
                return Some((ph.start.saturating_add(off), self.idx));
            }
            self.idx += 1;
            self.k = 0;
            self.next_period = 0;
            self.period_n = 0;
        }
    }
}

impl FusedIterator for ArtilleryArrivals {}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_S;
    const MS: u64 = NS_PER_MS;

    /// Deterministic pseudo-random u64s (64-bit LCG, Knuth's MMIX constants).
    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 11
    }

    // ---- ramping-vus

    #[test]
    fn ramp_up_from_zero_by_hand() {
        let plan = ramping_vus_plan(0, &[(10 * S, 5)]);
        assert_eq!(
            plan,
            vec![
                (0, 0),
                (2 * S, 1),
                (4 * S, 2),
                (6 * S, 3),
                (8 * S, 4),
                (10 * S, 5),
                (10 * S, 0)
            ]
        );
        assert_eq!(vus_at(&plan, 2 * S - 1), 0);
        assert_eq!(vus_at(&plan, 2 * S), 1);
        assert_eq!(vus_at(&plan, 10 * S - 1), 4);
        assert_eq!(vus_at(&plan, 10 * S), 0, "regular end");
        assert_eq!(vus_at(&plan, u64::MAX), 0);
    }

    #[test]
    fn ramp_down_to_zero_by_hand() {
        let plan = ramping_vus_plan(5, &[(10 * S, 0)]);
        // Already ends at (sum, 0): no duplicate final step.
        assert_eq!(
            plan,
            vec![
                (0, 5),
                (2 * S, 4),
                (4 * S, 3),
                (6 * S, 2),
                (8 * S, 1),
                (10 * S, 0)
            ]
        );
        assert_eq!(vus_at(&plan, 2 * S - 1), 5, "ceil: still 5 just before 2s");
        assert_eq!(vus_at(&plan, 7 * S), 2);
    }

    #[test]
    fn zero_duration_stage_is_an_instant_jump_and_final_step_is_appended() {
        let plan = ramping_vus_plan(2, &[(0, 7), (5 * S, 7), (0, 3)]);
        assert_eq!(plan, vec![(0, 2), (0, 7), (5 * S, 3), (5 * S, 0)]);
        assert_eq!(vus_at(&plan, 0), 7, "later step at the same time wins");
        assert_eq!(vus_at(&plan, 5 * S - 1), 7);
        assert_eq!(vus_at(&plan, 5 * S), 0);
        // No stages: start and end coincide.
        assert_eq!(ramping_vus_plan(0, &[]), vec![(0, 0)]);
        assert_eq!(ramping_vus_plan(3, &[]), vec![(0, 3), (0, 0)]);
        // Ends at 0 before the last stage: the regular end is still listed.
        let plan = ramping_vus_plan(1, &[(4, 0), (6, 0)]);
        assert_eq!(plan, vec![(0, 1), (4, 0), (10, 0)]);
    }

    /// With inexact step divisions, vus_at is exactly floor/ceil of the linear
    /// interpolation at every integer ns.
    #[test]
    fn inexact_divisions_follow_floor_and_ceil_of_linear() {
        let up = ramping_vus_plan(0, &[(10, 3)]);
        for t in 0..10u64 {
            assert_eq!(u64::from(vus_at(&up, t)), 3 * t / 10, "up t={t}");
        }
        let down = ramping_vus_plan(3, &[(10, 0)]);
        for t in 0..=10u64 {
            assert_eq!(
                u64::from(vus_at(&down, t)),
                (3 * (10 - t)).div_ceil(10),
                "down t={t}"
            );
        }
        // Uneven ramp from a non-zero start: 4 -> 11 over 9 ns, and back to 2 over 13 ns.
        let plan = ramping_vus_plan(4, &[(9, 11), (13, 2)]);
        for t in 0..9u64 {
            assert_eq!(u64::from(vus_at(&plan, t)), 4 + 7 * t / 9, "t={t}");
        }
        for t in 9..22u64 {
            assert_eq!(
                u64::from(vus_at(&plan, t)),
                2 + (9 * (22 - t)).div_ceil(13),
                "t={t}"
            );
        }
    }

    #[test]
    fn seed_plan_matches_linear_interpolation() {
        let m = 60 * S;
        let stages = [
            (5 * m, 100),
            (10 * m, 500),
            (15 * m, 1000),
            (20 * m, 2000),
            (30 * m, 5000),
            (15 * m, 2000),
            (10 * m, 0),
        ];
        let plan = ramping_vus_plan(0, &stages);
        // One step per VU change, plus the initial one; it already ends at (sum, 0).
        assert_eq!(plan.len(), 1 + 100 + 400 + 500 + 1000 + 3000 + 3000 + 2000);
        assert_eq!(plan[0], (0, 0));
        assert_eq!(*plan.last().unwrap(), (105 * m, 0));
        assert!(plan.windows(2).all(|w| w[0].0 <= w[1].0), "time-ordered");

        let expected = |t: u64| -> u32 {
            let (mut t0, mut from) = (0u64, 0u32);
            for &(d, to) in &stages {
                if t < t0 + d {
                    let (dt, d, f, to) = (
                        u128::from(t - t0),
                        u128::from(d),
                        u128::from(from),
                        u128::from(to),
                    );
                    return if to >= f {
                        (f + (to - f) * dt / d) as u32
                    } else {
                        (f - ((f - to) * dt) / d) as u32 // f - floor(x) == ceil(f - x)
                    };
                }
                t0 += d;
                from = to;
            }
            0
        };
        let mut seed = 42;
        for _ in 0..1000 {
            let t = lcg(&mut seed) % (106 * m);
            assert_eq!(vus_at(&plan, t), expected(t), "t={t}");
        }
        for &t in &[
            0,
            5 * m,
            15 * m,
            30 * m,
            50 * m,
            80 * m,
            95 * m,
            105 * m - 1,
            105 * m,
        ] {
            assert_eq!(vus_at(&plan, t), expected(t), "boundary t={t}");
        }

        // Monotone within each stage, in the stage's direction.
        let (mut t0, mut from) = (0u64, 0u32);
        for &(d, to) in &stages {
            let in_stage: Vec<u32> = plan
                .iter()
                .filter(|&&(t, _)| t > t0 && t <= t0 + d)
                .map(|&(_, v)| v)
                .collect();
            assert_eq!(in_stage.len() as u32, from.abs_diff(to));
            let ok = if to > from {
                in_stage.windows(2).all(|w| w[0] < w[1])
            } else {
                in_stage.windows(2).all(|w| w[0] > w[1])
            };
            assert!(ok, "stage ending at {}", t0 + d);
            assert_eq!(
                vus_at(&plan, t0 + d - 1) as i64 - to as i64,
                if to > from {
                    -1
                } else if to < from {
                    1
                } else {
                    0
                }
            );
            t0 += d;
            from = to;
        }
    }

    #[test]
    fn hard_stop_unless_plan_climbs_back_within_grace() {
        // 10 VUs for 10s, drop to 5, back up to 10 at 15s, hold 5s.
        let plan = ramping_vus_plan(
            0,
            &[
                (0, 10),
                (10 * S, 10),
                (0, 5),
                (5 * S, 5),
                (0, 10),
                (5 * S, 10),
            ],
        );
        assert_eq!(vus_at(&plan, 12 * S), 5);
        assert_eq!(ramp_down_hard_stop(&plan, 7, 10 * S, 30 * S), None);
        assert_eq!(
            ramp_down_hard_stop(&plan, 7, 10 * S, 5 * S),
            None,
            "window end inclusive"
        );
        assert_eq!(
            ramp_down_hard_stop(&plan, 7, 10 * S, 5 * S - 1),
            Some(15 * S - 1)
        );
        assert_eq!(ramp_down_hard_stop(&plan, 7, 10 * S, 3 * S), Some(13 * S));

        // Climbing back only to idx (VUs 0..idx-1) does not keep VU idx.
        let plan = ramping_vus_plan(10, &[(0, 5), (2 * S, 5), (0, 7), (5 * S, 7)]);
        assert_eq!(ramp_down_hard_stop(&plan, 7, 0, 30 * S), Some(30 * S));
        assert_eq!(ramp_down_hard_stop(&plan, 6, 0, 30 * S), None);
        assert_eq!(ramp_down_hard_stop(&plan, 6, 0, 0), Some(0), "no grace");

        // Plain ramp-down: never climbs back.
        let plan = ramping_vus_plan(5, &[(10 * S, 0)]);
        assert_eq!(ramp_down_hard_stop(&plan, 4, 2 * S, 30 * S), Some(32 * S));
        assert_eq!(ramp_down_hard_stop(&plan, 0, 10 * S, 30 * S), Some(40 * S));

        // A same-instant drop and climb voids the stop.
        let plan = vec![(0, 4), (3, 1), (3, 4)];
        assert_eq!(ramp_down_hard_stop(&plan, 2, 3, 0), None);
    }

    // ---- constant-arrival-rate

    #[test]
    fn constant_arrivals_ten_per_second() {
        let got: Vec<u64> = ConstantArrivals::new(10.0, S, S).collect();
        let want: Vec<u64> = (0..10).map(|k| k * 100 * MS).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn constant_arrivals_rate_per_two_seconds() {
        // 3 per 2s over 4s: n*2/3 s for n = 0..5 (6 < 4*3/2 + 1).
        let got: Vec<u64> = ConstantArrivals::new(3.0, 2 * S, 4 * S).collect();
        assert_eq!(
            got,
            vec![
                0,
                666_666_666,
                1_333_333_333,
                2_000_000_000,
                2_666_666_666,
                3_333_333_333
            ]
        );
        // Fractional rate: 2.5/s -> every 400 ms.
        let got: Vec<u64> = ConstantArrivals::new(2.5, S, 2 * S).collect();
        assert_eq!(got, vec![0, 400 * MS, 800 * MS, 1200 * MS, 1600 * MS]);
        // Count = ceil(duration*rate/time_unit).
        assert_eq!(ConstantArrivals::new(7.0, S, 10 * S).count(), 70);
        assert_eq!(ConstantArrivals::new(7.0, S, 10 * S + 1).count(), 71);
        assert_eq!(ConstantArrivals::new(0.0, S, 10 * S).count(), 0);
        assert_eq!(ConstantArrivals::new(1.0, 0, 10 * S).count(), 0);
    }

    // ---- ramping-arrival-rate

    fn ramping(start: f64, tu: u64, stages: &[(u64, f64)]) -> Vec<u64> {
        let st: Vec<Stage> = stages
            .iter()
            .map(|&(duration, target)| Stage { duration, target })
            .collect();
        RampingArrivals::new(start, tu, &st).collect()
    }

    fn close(a: u64, b_secs: f64, tol_ns: f64) -> bool {
        (a as f64 - b_secs * 1e9).abs() <= tol_ns
    }

    #[test]
    fn ramping_first_iteration_at_sqrt_10() {
        // k6 TestRampingArrivalRateCal: 0 -> 1/s over 5s; area t^2/10 -> t_i = sqrt(10 i).
        let got = ramping(0.0, S, &[(5 * S, 1.0)]);
        assert_eq!(got.len(), 2, "floor(area 2.5)");
        assert!(close(got[0], 3.162_277_66, 1e3), "{}", got[0]);
        assert!(close(got[1], 20f64.sqrt(), 1e3), "{}", got[1]);
    }

    #[test]
    fn ramping_counts_equal_floor_area_and_times_solve_area() {
        // 0 -> 10/s over 10s: area t^2/2 = 50; iteration i at sqrt(2i) s, last at the end.
        let got = ramping(0.0, S, &[(10 * S, 10.0)]);
        assert_eq!(got.len(), 50);
        for (i, &t) in got.iter().enumerate() {
            assert!(close(t, (2.0 * (i + 1) as f64).sqrt(), 1e3), "i={i} t={t}");
        }
        assert_eq!(*got.last().unwrap(), 10 * S);
        // 10 -> 0/s over 5s: area 10t - t^2 = 25; t_i = 5 - sqrt(25 - i).
        let got = ramping(10.0, S, &[(5 * S, 0.0)]);
        assert_eq!(got.len(), 25);
        for (i, &t) in got.iter().enumerate() {
            assert!(
                close(t, 5.0 - (25.0 - (i + 1) as f64).sqrt(), 1e3),
                "i={i} t={t}"
            );
        }
        // 3 -> 17/s over 7s: area 70. Then 17 -> 0 over 2.3s: 19.55 -> 89 in total.
        assert_eq!(ramping(3.0, S, &[(7 * S, 17.0)]).len(), 70);
        assert_eq!(
            ramping(3.0, S, &[(7 * S, 17.0), (2300 * MS, 0.0)]).len(),
            89
        );
        // time_unit 1 min: 0 -> 60/min over 60s is area 30, first at sqrt(120) s.
        let got = ramping(0.0, 60 * S, &[(60 * S, 60.0)]);
        assert_eq!(got.len(), 30);
        assert!(close(got[0], 120f64.sqrt(), 1e3));
    }

    #[test]
    fn ramping_constant_stage_is_evenly_spaced() {
        let got = ramping(4.0, S, &[(3 * S, 4.0)]);
        let want: Vec<u64> = (1..=12).map(|k| k * 250 * MS).collect();
        assert_eq!(got, want);
        // Times round to the nearest ns: k/3 s.
        assert_eq!(
            ramping(3.0, S, &[(S, 3.0)]),
            vec![333_333_333, 666_666_667, S]
        );
        // A near-constant ramp must not lose precision (k6's form cancels here).
        let got = ramping(1000.0, S, &[(10 * S, 1000.001)]);
        assert_eq!(got.len(), 10_000, "floor(10000.005)");
        for (k, &t) in got.iter().enumerate() {
            let k = (k + 1) as f64;
            // Solve area 1000t + 5e-5 t^2 = k by fixed-point iteration (contracts fast).
            let mut exact = k / 1000.0;
            for _ in 0..5 {
                exact = (k - 5e-5 * exact * exact) / 1000.0;
            }
            assert!(close(t, exact, 1.0), "k={k} t={t} exact={exact}");
        }
    }

    #[test]
    fn ramping_carries_fractional_iterations_across_stages() {
        assert_eq!(
            ramping(1.0, S, &[(1500 * MS, 1.0), (S, 1.0)]),
            vec![S, 2 * S]
        );
        // 0 -> 1 over 1s (area .5) then 1/s for 2s: iterations at 1.5s and 2.5s.
        assert_eq!(
            ramping(0.0, S, &[(S, 1.0), (2 * S, 1.0)]),
            vec![1500 * MS, 2500 * MS]
        );
        // Areas .7 + .2 + .1 sum to 0.999.. in floats; the iteration at area 1 survives.
        assert_eq!(
            ramping(1.0, S, &[(700 * MS, 1.0), (200 * MS, 1.0), (100 * MS, 1.0)]),
            vec![S]
        );
        // Zero-length stage jumps the rate: 10/s for 1s.
        let got = ramping(0.0, S, &[(0, 10.0), (S, 10.0)]);
        assert_eq!(got, (1..=10).map(|k| k * 100 * MS).collect::<Vec<_>>());
        // Nothing to do.
        assert!(ramping(0.0, S, &[]).is_empty());
        assert!(ramping(0.0, S, &[(10 * S, 0.0)]).is_empty());
        assert!(ramping(5.0, 0, &[(10 * S, 5.0)]).is_empty());
        // Fused: stays None.
        let mut it = RampingArrivals::new(
            1.0,
            S,
            &[Stage {
                duration: S,
                target: 1.0,
            }],
        );
        assert_eq!(it.next(), Some(S));
        assert_eq!((it.next(), it.next()), (None, None));
    }

    // ---- Artillery

    fn phase(duration_s: u64, kind: PhaseKind) -> Phase {
        Phase {
            duration: duration_s * S,
            kind,
            max_vusers: None,
        }
    }

    #[test]
    fn artillery_constant_rate_ten_per_second() {
        let it = ArtilleryArrivals::new(&[phase(60, PhaseKind::Constant(10.0))]);
        assert_eq!(it.total_duration(), 60 * S);
        let got: Vec<(u64, usize)> = it.collect();
        assert_eq!(got.len(), 600);
        assert_eq!(got[0], (100 * MS, 0));
        assert_eq!(*got.last().unwrap(), (60 * S, 0));
        assert!(got.windows(2).all(|w| w[1].0 - w[0].0 == 100 * MS));
    }

    #[test]
    fn artillery_constant_rate_uses_whole_microsecond_tick() {
        let it = ArtilleryArrivals::new(&[phase(300, PhaseKind::Constant(350.0))]);
        let n = 300_000_000 / 2857; // floor(300e6 µs / floor(1e6/350) µs)
        assert_eq!(
            it.total_duration(),
            n * 2857 * 1000,
            "ends at its last arrival"
        );
        let got: Vec<u64> = it.map(|(t, _)| t).collect();
        assert_eq!(got.len() as u64, n);
        assert_eq!(got[0], 2_857_000);
        assert_eq!(got[1], 5_714_000);
        // Fractional rate: one every 2s.
        let got: Vec<u64> = ArtilleryArrivals::new(&[phase(10, PhaseKind::Constant(0.5))])
            .map(|(t, _)| t)
            .collect();
        assert_eq!(got, vec![2 * S, 4 * S, 6 * S, 8 * S, 10 * S]);
    }

    /// Skipping empty ramp periods gives exactly the per-period arrivals of createRamp, and a
    /// slow ramp over years of simulated time takes no time to iterate.
    #[test]
    fn artillery_ramp_skips_empty_periods_exactly() {
        let mut seed = 11;
        for _ in 0..400 {
            let from = (lcg(&mut seed) % 40) as f64 / 10.0;
            let to = (lcg(&mut seed) % 40) as f64 / 10.0;
            let secs = 1 + lcg(&mut seed) % 300;
            let got: Vec<u64> =
                ArtilleryArrivals::new(&[phase(secs, PhaseKind::Ramp { from, to })])
                    .map(|(t, _)| t)
                    .collect();
            let mut want = Vec::new();
            for p in 0..secs {
                let a = ramp_period_arrivals(from, to, secs as f64, p);
                let tick = 1000u64.checked_div(a).map_or(1000, |t| t.min(1000)) * MS;
                want.extend((1..=a).map(|j| p * S + j * tick));
            }
            assert_eq!(got, want, "{from} -> {to} over {secs}s");
        }
        let t0 = std::time::Instant::now();
        let years = 3600 * 24 * 365 * 100;
        let n =
            ArtilleryArrivals::new(&[phase(years, PhaseKind::Ramp { from: 0.0, to: 0.4 })]).count();
        assert_eq!(n, 0);
        let first = ArtilleryArrivals::new(&[phase(years, PhaseKind::Ramp { from: 0.0, to: 2.0 })])
            .next()
            .unwrap();
        // raw = 2p/(n-1) first rounds to 1 arrival at raw 0.5: a quarter of the way.
        let quarter = years / 4;
        assert!(
            first.0 > (quarter - 1) * S && first.0 <= (quarter + 2) * S,
            "the first arrival is a quarter of the way: {first:?}"
        );
        assert!(t0.elapsed().as_secs() < 1);
    }

    #[test]
    fn artillery_ramp_steps_per_second() {
        let it = ArtilleryArrivals::new(&[phase(
            10,
            PhaseKind::Ramp {
                from: 0.0,
                to: 10.0,
            },
        )]);
        assert_eq!(it.total_duration(), 10 * S);
        let got: Vec<u64> = it.map(|(t, _)| t).collect();
        // A[p] = round-half-up(10p/9): 0,1,2,3,4,6,7,8,9,10 -> 50 = n(a+b)/2.
        let per_second: Vec<usize> = (0..10)
            .map(|p| {
                got.iter()
                    .filter(|&&t| t > p * S && t <= (p + 1) * S)
                    .count()
            })
            .collect();
        assert_eq!(per_second, vec![0, 1, 2, 3, 4, 6, 7, 8, 9, 10]);
        assert_eq!(got.len(), 50);
        assert!(got.len().abs_diff(50) <= 10, "within n of n(a+b)/2");
        // Period 1: one arrival with a 1000 ms tick; period 3: ticks of 333 ms.
        assert_eq!(got[0], 2 * S);
        assert_eq!(&got[3..6], &[3333 * MS, 3666 * MS, 3999 * MS]);
        // Last second at rampTo: 10 arrivals every 100 ms up to 10 s.
        assert_eq!(
            &got[40..],
            &(1..=10).map(|j| 9 * S + j * 100 * MS).collect::<Vec<_>>()[..]
        );

        // Ramp down, first second at arrivalRate: 5 -> 1 over 5s: 5,4,3,2,1.
        let got: Vec<u64> =
            ArtilleryArrivals::new(&[phase(5, PhaseKind::Ramp { from: 5.0, to: 1.0 })])
                .map(|(t, _)| t)
                .collect();
        assert_eq!(got.len(), 15);
        assert_eq!(&got[..5], &[200 * MS, 400 * MS, 600 * MS, 800 * MS, S]);
        // One-period ramp: round-half-up((a+b)/2) = 4 arrivals.
        let got: Vec<u64> =
            ArtilleryArrivals::new(&[phase(1, PhaseKind::Ramp { from: 2.0, to: 5.0 })])
                .map(|(t, _)| t)
                .collect();
        assert_eq!(got, vec![250 * MS, 500 * MS, 750 * MS, S]);
        // 10 -> 0 over 5 s with one worker: raw 10, 7.5, 5, 2.5, 0 -> 10, 8, 5, 3, 0
        // (importing-load-tests.md §2.3, rampTo: 0).
        let got: Vec<u64> = ArtilleryArrivals::new(&[phase(
            5,
            PhaseKind::Ramp {
                from: 10.0,
                to: 0.0,
            },
        )])
        .map(|(t, _)| t)
        .collect();
        let per_second: Vec<usize> = (0..5)
            .map(|p| {
                got.iter()
                    .filter(|&&t| t > p * S && t <= (p + 1) * S)
                    .count()
            })
            .collect();
        assert_eq!(per_second, vec![10, 8, 5, 3, 0]);
    }

    #[test]
    fn artillery_pause_and_count_shift_later_phases() {
        let phases = [
            phase(1, PhaseKind::Constant(10.0)),
            phase(5, PhaseKind::Pause),
            phase(2, PhaseKind::Count(4)),
            phase(10, PhaseKind::Count(3)),
        ];
        let it = ArtilleryArrivals::new(&phases);
        assert_eq!(it.total_duration(), 18 * S);
        let got: Vec<(u64, usize)> = it.collect();
        assert_eq!(got.len(), 17);
        assert!(got[..10].iter().all(|&(_, i)| i == 0));
        assert_eq!(got[9], (S, 0));
        assert_eq!(
            &got[10..],
            &[
                (6500 * MS, 2),
                (7 * S, 2),
                (7500 * MS, 2),
                (8 * S, 2),
                (8 * S + 3_333_333_333, 3),
                (8 * S + 6_666_666_666, 3),
                (18 * S, 3)
            ]
        );
        // arrivalCount 0 ends at once; an arrivalRate 0 phase is a pause.
        let phases = [
            phase(10, PhaseKind::Count(0)),
            artillery_phase(Some(3 * S), Some(0.0), None, None, None, None).unwrap(),
            phase(2, PhaseKind::Constant(1.0)),
        ];
        let got: Vec<(u64, usize)> = ArtilleryArrivals::new(&phases).collect();
        assert_eq!(got, vec![(4 * S, 2), (5 * S, 2)]);
        assert_eq!(ArtilleryArrivals::new(&[]).next(), None);
    }

    #[test]
    fn artillery_phase_precedence_and_errors() {
        use PhaseKind::*;
        let d = Some(60 * S);
        let ok = |r: Result<Phase, String>| r.unwrap().kind;
        // pause wins over everything and uses its own length.
        let p = artillery_phase(d, Some(5.0), Some(9.0), Some(3), Some(7 * S), Some(4)).unwrap();
        assert_eq!(
            p,
            Phase {
                duration: 7 * S,
                kind: Pause,
                max_vusers: Some(4)
            }
        );
        // arrivalCount wins over arrivalRate/rampTo.
        assert_eq!(
            ok(artillery_phase(
                d,
                Some(5.0),
                Some(9.0),
                Some(3),
                None,
                None
            )),
            Count(3)
        );
        // arrivalRate 0 without rampTo is a pause of `duration`; with rampTo a ramp.
        let p = artillery_phase(d, Some(0.0), None, None, None, None).unwrap();
        assert_eq!((p.duration, p.kind), (60 * S, Pause));
        assert_eq!(
            ok(artillery_phase(d, Some(0.0), Some(5.0), None, None, None)),
            Ramp { from: 0.0, to: 5.0 }
        );
        assert_eq!(
            ok(artillery_phase(d, Some(5.0), Some(5.0), None, None, None)),
            Ramp { from: 5.0, to: 5.0 }
        );
        assert_eq!(
            ok(artillery_phase(d, Some(5.0), None, None, None, None)),
            Constant(5.0)
        );
        assert_eq!(
            artillery_phase(d, Some(5.0), None, None, None, Some(9))
                .unwrap()
                .max_vusers,
            Some(9)
        );

        let err = |r: Result<Phase, String>, needle: &str| {
            let e = r.unwrap_err();
            assert!(e.contains(needle), "{e:?} should mention {needle:?}");
        };
        err(
            artillery_phase(d, Some(-1.0), None, None, None, None),
            "arrivalRate",
        );
        err(
            artillery_phase(d, Some(f64::NAN), None, None, None, None),
            "arrivalRate",
        );
        err(
            artillery_phase(d, Some(1.0), Some(-2.0), None, None, None),
            "rampTo",
        );
        err(
            artillery_phase(None, Some(1.0), None, None, None, None),
            "expected a duration",
        );
        // A ramp without a duration gets one 1-second period (createRamp's `duration || 1`).
        assert_eq!(
            artillery_phase(None, Some(1.0), Some(2.0), None, None, None).unwrap(),
            Phase {
                duration: 0,
                kind: Ramp { from: 1.0, to: 2.0 },
                max_vusers: None
            }
        );
        err(
            artillery_phase(None, Some(0.0), None, None, None, None),
            "expected a duration",
        );
        err(
            artillery_phase(None, None, None, Some(3), None, None),
            "expected a duration",
        );
        err(
            artillery_phase(Some(0), Some(1.0), None, None, None, None),
            "positive duration",
        );
        // rampTo alone ramps from 0 (divideWork's `arrivalRate ||= 0`).
        assert_eq!(
            ok(artillery_phase(d, None, Some(2.0), None, None, None)),
            Ramp { from: 0.0, to: 2.0 }
        );
        assert_eq!(
            ok(artillery_phase(None, None, Some(2.0), None, None, None)),
            Ramp { from: 0.0, to: 2.0 }
        );
        err(
            artillery_phase(d, None, None, None, None, None),
            "one of pause",
        );
        // `"0"` (the only way a 0 gets here): a pause or a rate-0 phase ends at once, a ramp
        // has createRamp's one period, and a constant or count phase never ends in Artillery.
        for p in [
            artillery_phase(None, None, None, None, Some(0), None),
            artillery_phase(Some(0), Some(0.0), None, None, None, None),
        ] {
            let p = p.unwrap();
            assert_eq!((p.duration, &p.kind), (0, &Pause));
            assert!(ArtilleryArrivals::new(&[p]).next().is_none());
        }
        let ramp = artillery_phase(Some(0), Some(2.0), Some(4.0), None, None, None).unwrap();
        let one = artillery_phase(None, Some(2.0), Some(4.0), None, None, None).unwrap();
        assert_eq!(ramp, one);
        let it = ArtilleryArrivals::new(&[ramp]);
        assert_eq!(it.total_duration(), S);
        assert_eq!(it.count(), 3, "one period at (2 + 4) / 2 arrivals");
        err(
            artillery_phase(Some(0), Some(5.0), None, None, None, None),
            "forever",
        );
        err(
            artillery_phase(Some(0), None, None, Some(3), None, None),
            "forever",
        );
        err(
            artillery_phase(d, Some(2e6), None, None, None, None),
            "1000000",
        );
        err(
            artillery_phase(Some(S), Some(0.5), None, None, None, None),
            "never end",
        );
    }
}
