//! Run length by precision, for stationary scenarios (`--run-precision REL`): a run stops as soon
//! as every target's steady-state estimate has a 95 % confidence interval within ±REL of its mean,
//! the stopping rule of JMT's simulator (Bertoli, Casale, Serazzi, "JMT: performance engineering
//! tools for system modeling", ACM SIGMETRICS PER 36(4), 2009, §3: transient deletion, then
//! confidence intervals by batch means, run until the relative half-width is reached).
//!
//! Observations are the sample intervals of the run: for each target a ratio `Δnumerator /
//! Δdenominator` over the interval (e.g. response time summed over responses / responses).
//!
//! 1. **Warm-up deletion: MSER-5** (White, "An effective truncation heuristic for bias reduction
//!    in simulation output", Simulation 69(6), 1997; Spratt, "An evaluation of contemporary
//!    heuristics for the startup problem", M.S. thesis, University of Virginia, 1998; White,
//!    Cobb & Spratt, WSC 2000). The intervals are averaged in batches of 5, Z_1..Z_m; the
//!    truncation d* minimises MSER(d) = Σ_{j>d} (Z_j − Z̄_d)² / (m − d)². As the papers advise,
//!    a minimum in the second half of the data means the run is still too short: no estimate.
//! 2. **Batch means** on the retained Z_{d*+1..m}: [`BATCHES`] equal batches (the oldest
//!    remainder dropped), each at least [`MIN_PER_BATCH`] of the Z (so at least 10 sample
//!    intervals, to keep the batch means nearly independent); the Student-t interval of the batch
//!    means.
//! 3. **Stop** when every target's interval is within ±REL/(1+REL) of its mean (Law & Kelton's
//!    adjustment, so that the relative error itself is within REL) at two successive
//!    checkpoints, taken each time the data has grown by a fifth.
//!
//! Stopping the first time an interval looks narrow favours the moments when the estimate is
//! low (for response times the spread grows with the mean), so sequential procedures cover
//! less often than their nominal level (Pawlikowski, "Steady-state simulation of queueing
//! processes: a survey of problems and solutions", ACM Computing Surveys 22(2), 1990). The
//! spaced checkpoints and the confirmation cut that bias: on an M/M/5 queue at ρ = 0.8 with
//! REL = 0.05, 200 runs covered the exact mean 90 % of the time (75 % with neither), and a
//! fixed-length run of the same method 100 % (tests/plan.rs checks the M/M/5 case).
//!
//! Targets whose value is a mean or a ratio are estimated this way: `avg` of
//! `http_req_duration` (per endpoint too) and `iteration_duration`, `http_req_failed`'s `rate`,
//! counters' `rate`, and `queue_wait` `avg`. Percentiles, extremes, counts, `tx_*` and
//! `cost_ratio` have no batch-means estimator here and do not hold a run; with none of the
//! estimable kind, the mean response time (`http_req_duration avg`) decides.

use super::stats::{t_quantile, Interval, LEVEL};
use crate::config::scenario::{ExecutorCfg, ScenarioFile};
use crate::engine::{ns_to_secs, Nanos};
use crate::metrics::{kind_of, Metrics};
use crate::system::System;
use crate::threshold::{Aggregation, MetricKind, MetricSelector};

/// Batches the retained data is cut into.
pub const BATCHES: usize = 20;
/// Fewest MSER-5 groups (of 5 sample intervals) per batch.
pub const MIN_PER_BATCH: usize = 2;
/// The precision is checked each time the data has grown by this factor.
pub const CHECK_GROWTH: f64 = 1.2;
/// Successive checkpoints that must be precise before the run stops.
pub const CONFIRMATIONS: usize = 2;

/// The MSER truncation of the group means `z` (MSER-5 when each is the mean of 5 intervals):
/// the number of leading groups to delete, searched over the first half of the data. `None`
/// when the minimum is at the end of that half (the output still trends: the run is too short
/// to tell) or there are fewer than four groups.
pub fn mser5(z: &[f64]) -> Option<usize> {
    let m = z.len();
    if m < 4 {
        return None;
    }
    // Suffix sums give Σ_{j≥d} Z_j and Σ Z_j² for every d in one pass.
    let mut best = (f64::INFINITY, 0);
    let (mut sum, mut sum2) = (0.0f64, 0.0f64);
    let mut stat = vec![f64::INFINITY; m];
    for d in (0..m).rev() {
        sum += z[d];
        sum2 += z[d] * z[d];
        let n = (m - d) as f64;
        if m - d >= 2 {
            let mean = sum / n;
            let ss = (sum2 - n * mean * mean).max(0.0);
            stat[d] = ss / (n * n);
        }
    }
    // The search covers the first half only (the statistic of the last few groups is noise);
    // a minimum on that boundary means the output is still trending: too short to tell.
    let half = m / 2;
    for (d, &v) in stat.iter().enumerate().take(half + 1) {
        if v < best.0 {
            best = (v, d);
        }
    }
    (best.0.is_finite() && best.1 < half).then_some(best.1)
}

/// Steady-state estimate from per-interval `(numerator, denominator)` increments: MSER-5
/// truncation, then batch means. `None` while the data cannot give one yet.
///
/// The estimate is a ratio (total response time over responses): busier intervals hold more
/// responses and, under queueing, longer ones, so averaging per-interval ratios would weigh a
/// quiet interval like a busy one and bias the mean low. Each batch therefore keeps its sums
/// (A_i, B_i); the point estimate is R = ΣA/ΣB and its standard error the classical ratio
/// estimator's, sqrt(Σ(A_i − R·B_i)² / (k(k−1))) / mean(B) (Law, *Simulation Modeling and
/// Analysis*, 5th ed., §9.5.3 / regenerative ratio intervals), with Student's t on k − 1
/// degrees of freedom.
pub fn estimate(obs: &[(f64, f64)]) -> Option<Estimate> {
    // Groups of 5 intervals; a group with no denominator (nothing happened) is skipped.
    let groups: Vec<(f64, f64)> = obs
        .chunks_exact(5)
        .map(|g| g.iter().fold((0.0, 0.0), |s, o| (s.0 + o.0, s.1 + o.1)))
        .filter(|g| g.1 > 0.0)
        .collect();
    let z: Vec<f64> = groups.iter().map(|g| g.0 / g.1).collect();
    let d = mser5(&z)?;
    let kept = &groups[d..];
    let per = kept.len() / BATCHES;
    if per < MIN_PER_BATCH {
        return None;
    }
    let start = kept.len() - per * BATCHES;
    let batches: Vec<(f64, f64)> = kept[start..]
        .chunks_exact(per)
        .map(|c| c.iter().fold((0.0, 0.0), |s, o| (s.0 + o.0, s.1 + o.1)))
        .collect();
    let k = batches.len() as f64;
    let (sa, sb) = batches
        .iter()
        .fold((0.0, 0.0), |s, o| (s.0 + o.0, s.1 + o.1));
    let r = sa / sb;
    let ss: f64 = batches.iter().map(|(a, b)| (a - r * b).powi(2)).sum();
    let se = (ss / (k * (k - 1.0))).sqrt() / (sb / k);
    let half_width = if ss == 0.0 {
        0.0
    } else {
        t_quantile(LEVEL, BATCHES - 1) * se
    };
    half_width.is_finite().then_some(Estimate {
        ci: Interval {
            n: BATCHES,
            mean: r,
            half_width,
        },
        truncated_intervals: 5 * d,
    })
}

#[derive(Clone, Copy, Debug)]
pub struct Estimate {
    /// The batch-means interval (over [`BATCHES`] batches).
    pub ci: Interval,
    /// Sample intervals deleted as warm-up.
    pub truncated_intervals: usize,
}

/// A cumulative `(numerator, denominator)` pair read from the run at each sample.
#[derive(Clone, Debug)]
enum Probe {
    /// Mean of a trend over the given endpoint (or all): (Σ ms, samples).
    HttpAvg(Option<String>),
    IterationAvg,
    /// Failed responses over responses (optionally of an endpoint).
    Failed(Option<String>),
    /// A counter per second: (count, seconds).
    CounterRate(String, Option<String>),
    /// Mean wait in a queue of the system (`service:x`, `database:x`, `cache:x`).
    QueueWait(String),
}

fn endpoint(sel: &MetricSelector) -> Option<String> {
    sel.tags
        .iter()
        .find(|(k, _)| k == "endpoint")
        .map(|(_, v)| v.clone())
}

fn probe_of(sel: &MetricSelector, agg: &Aggregation) -> Option<Probe> {
    if sel.tags.iter().any(|(k, _)| k == "cause") {
        return None;
    }
    Some(match (sel.metric.as_str(), agg) {
        ("http_req_duration", Aggregation::Avg) => Probe::HttpAvg(endpoint(sel)),
        ("iteration_duration", Aggregation::Avg) => Probe::IterationAvg,
        ("http_req_failed", Aggregation::Rate) => Probe::Failed(endpoint(sel)),
        ("queue_wait", Aggregation::Avg) => {
            let (k, v) = sel.tags.first()?;
            Probe::QueueWait(format!("{k}:{v}"))
        }
        (name, Aggregation::Rate)
            if kind_of(name) == Some(MetricKind::Counter) && !name.starts_with("tx_") =>
        {
            Probe::CounterRate(name.to_string(), endpoint(sel))
        }
        _ => return None,
    })
}

impl Probe {
    fn read(&self, t: Nanos, m: &Metrics, sys: &System) -> (f64, f64) {
        let eps = |ep: &Option<String>| {
            m.endpoints
                .iter()
                .filter(|e| ep.as_ref().is_none_or(|l| &e.label == l))
                .collect::<Vec<_>>()
        };
        match self {
            Probe::HttpAvg(ep) => eps(ep).iter().fold((0.0, 0.0), |s, e| {
                let n = e.duration.count() as f64;
                (s.0 + e.duration.avg_ms() * n, s.1 + n)
            }),
            Probe::IterationAvg => {
                let n = m.iteration_duration.count() as f64;
                (m.iteration_duration.avg_ms() * n, n)
            }
            Probe::Failed(ep) => eps(ep).iter().fold((0.0, 0.0), |s, e| {
                (s.0 + e.failed as f64, s.1 + e.duration.count() as f64)
            }),
            Probe::CounterRate(name, ep) => {
                let n = match name.as_str() {
                    "http_reqs" => eps(ep).iter().map(|e| e.duration.count()).sum::<u64>(),
                    "iterations" => m.iterations,
                    "dropped_iterations" => m.dropped_iterations,
                    _ => 0,
                };
                (n as f64, ns_to_secs(t))
            }
            Probe::QueueWait(key) => {
                let q = sys.queue_report(t);
                let served = q[key.as_str()]["served"].as_f64().unwrap_or(0.0);
                let wait = q[key.as_str()]["mean_wait_ms"].as_f64().unwrap_or(0.0);
                (wait * served, served)
            }
        }
    }
}

/// Whether a scenario's load is stationary: every executor keeps a constant load.
pub fn check_stationary(s: &ScenarioFile) -> Result<(), String> {
    for (name, e) in &s.scenarios {
        let kind = match e {
            ExecutorCfg::ConstantVus(_)
            | ExecutorCfg::ConstantArrivalRate(_)
            | ExecutorCfg::PoissonArrivals(_) => continue,
            ExecutorCfg::RampingVus(_) => "ramping-vus",
            ExecutorCfg::RampingArrivalRate(_) => "ramping-arrival-rate",
            ExecutorCfg::Artillery(_) => "Artillery phases",
            ExecutorCfg::SharedIterations(_) => "shared-iterations",
            ExecutorCfg::PerVuIterations(_) => "per-vu-iterations",
        };
        return Err(format!(
            "--run-precision: scenario {name:?} uses {kind}, whose load changes over time or ends \
             with its work; run \
             length by precision needs a stationary load (constant-vus, constant-arrival-rate or \
             poisson-arrivals)"
        ));
    }
    Ok(())
}

/// One estimated target: its name, what is read, the last cumulative reading, and the
/// increments per sample interval.
#[derive(Clone, Debug)]
struct Tracked {
    name: String,
    probe: Probe,
    last: (f64, f64),
    obs: Vec<(f64, f64)>,
}

/// The per-run state of the precision stop.
#[derive(Clone, Debug)]
pub struct RunPrecision {
    pub relative: f64,
    tracked: Vec<Tracked>,
    /// Intervals at the next checkpoint, and successive checkpoints found precise.
    next_check: f64,
    streak: usize,
}

/// The name used when no target is estimable.
pub const MEAN_RESPONSE: &str = "http_req_duration avg";

impl RunPrecision {
    pub fn new(s: &ScenarioFile, relative: f64) -> Self {
        let mut tracked = Vec::new();
        for set in &s.thresholds.0 {
            for th in &set.thresholds {
                if let Some(p) = probe_of(&set.selector, &th.expr.agg) {
                    let name = format!("{} {}", set.key, th.expr.source);
                    tracked.push(Tracked {
                        name,
                        probe: p,
                        last: (0.0, 0.0),
                        obs: Vec::new(),
                    });
                }
            }
        }
        if tracked.is_empty() {
            tracked.push(Tracked {
                name: MEAN_RESPONSE.to_string(),
                probe: Probe::HttpAvg(None),
                last: (0.0, 0.0),
                obs: Vec::new(),
            });
        }
        RunPrecision {
            relative,
            tracked,
            next_check: 0.0,
            streak: 0,
        }
    }

    /// Record the interval that just closed; true when every estimate is precise.
    pub fn sample(&mut self, t: Nanos, m: &Metrics, sys: &System) -> bool {
        for x in &mut self.tracked {
            let now = x.probe.read(t, m, sys);
            x.obs.push((now.0 - x.last.0, now.1 - x.last.1));
            x.last = now;
        }
        let n = self.tracked[0].obs.len();
        // Checkpoints: every 5 intervals at first, then each CHECK_GROWTH times the data.
        if !n.is_multiple_of(5) || (n as f64) < self.next_check {
            return false;
        }
        self.next_check = n as f64 * CHECK_GROWTH;
        // Law & Kelton's adjusted relative precision: |X̄ − μ| / |μ| ≤ γ needs hw / |X̄| ≤ γ/(1+γ).
        let adjusted = self.relative / (1.0 + self.relative);
        let ok = self.tracked.iter().all(|x| {
            estimate(&x.obs).is_some_and(|e| e.ci.precise(adjusted) && e.ci.half_width > 0.0)
        });
        self.streak = if ok { self.streak + 1 } else { 0 };
        self.streak >= CONFIRMATIONS
    }

    /// Each tracked target's current estimate.
    pub fn estimates(&self) -> Vec<(String, Option<Estimate>)> {
        self.tracked
            .iter()
            .map(|x| (x.name.clone(), estimate(&x.obs)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mser5_deletes_an_initial_transient() {
        // 40 groups: the first 8 far above a flat tail with a little alternation.
        let z: Vec<f64> = (0..40)
            .map(|j| {
                if j < 8 {
                    100.0 - j as f64
                } else {
                    10.0 + if j % 2 == 0 { 0.5 } else { -0.5 }
                }
            })
            .collect();
        assert_eq!(mser5(&z), Some(8));
        // A steady series needs no deletion.
        let flat: Vec<f64> = (0..40)
            .map(|j| if j % 2 == 0 { 1.0 } else { 3.0 })
            .collect();
        assert_eq!(mser5(&flat), Some(0));
        // A trend that never settles: the minimum is at the end of the half searched.
        let falling: Vec<f64> = (0..40).map(|j| 100.0 - j as f64).collect();
        assert_eq!(mser5(&falling), None);
    }

    #[test]
    fn batch_means_need_enough_data_and_give_the_ratio_mean() {
        // 5 × 20 × 2 = 200 intervals are the fewest that give an estimate.
        let obs: Vec<(f64, f64)> = (0..199).map(|i| (2.0 + (i % 3) as f64, 1.0)).collect();
        assert!(estimate(&obs).is_none());
        let obs: Vec<(f64, f64)> = (0..200)
            .map(|i| (2.0 * (1 + i % 2) as f64, (1 + i % 2) as f64))
            .collect();
        let e = estimate(&obs).unwrap();
        // Every interval's ratio is 2: a zero-width interval at 2.
        assert_eq!(e.ci.mean, 2.0);
        assert_eq!(e.ci.half_width, 0.0);
        assert_eq!(e.ci.n, BATCHES);
    }
}
