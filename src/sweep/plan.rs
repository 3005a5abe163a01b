//! `surge plan`: the cheapest configuration whose probability of meeting every target is at
//! least the confidence. The search starts from the grid; parameters declared monotone
//! (`--monotone PATH`: a larger value means more capacity and more cost) prune it: above a
//! passing point everything passes but costs more, below a failing point everything fails.
//! Each round evaluates the unresolved points at the middle capacity level, which bisects the
//! lattice, or, confirming a screening's candidates, the lowest unresolved points ([`Order`]);
//! either way, with monotone parameters, every minimal passing point (so the cheapest) is
//! evaluated.
//!
//! Within a round, replications are raced: 1, then 2, 4, ... up to `--replications`, and a point
//! leaves the race as soon as its failures exceed what the confidence allows
//! (`floor((1 - confidence) × R)`). That is exact, not a heuristic: such a point could not reach
//! the confidence with all R replications, so the decision is the one a full grid would take, for
//! fewer runs. (With `--precision`, every point gets its full replications instead.)

use super::exec::Context;
use super::params::PValue;
use super::plots::{pareto_front, COST, P95};
use super::points::{aggregate, PointStats};
use super::row::Row;
use super::spec::Spec;
use crate::error::Result;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Not run: at or above a passing point in every monotone parameter.
    InferredPass,
    /// Not run: at or below a failing point in every monotone parameter.
    InferredFail,
}

pub struct Search {
    pub status: BTreeMap<usize, Status>,
    pub rows: Vec<Row>,
    pub rounds: usize,
    /// Points that left the race before their last replication.
    pub raced_out: usize,
}

/// Run `batch` with racing replications; returns its rows and how many points left early.
fn race(ctx: &Context, batch: &[usize], confidence: f64) -> Result<(Vec<Row>, usize)> {
    let total = ctx.spec.replications;
    if ctx.spec.precision.is_some() {
        return Ok((ctx.run_points(batch)?, 0));
    }
    // The epsilon keeps (1 - 0.95) × 20 = 1 from flooring to 0.
    let allowed = ((1.0 - confidence) * total as f64 + 1e-9).floor().max(0.0) as usize;
    let mut alive: Vec<usize> = batch.to_vec();
    let mut reps: BTreeMap<usize, u64> = BTreeMap::new();
    let mut n = 0;
    let mut raced_out = 0;
    while !alive.is_empty() && n < total {
        n = (2 * n).clamp(1, total);
        let want: BTreeMap<usize, u64> = alive.iter().map(|&p| (p, n)).collect();
        let rows = ctx.run_replications(&want)?;
        reps.extend(want);
        alive.retain(|&p| {
            let fails = rows.iter().filter(|r| r.point == p && !r.passed()).count();
            let out = fails > allowed && n < total;
            raced_out += usize::from(out);
            fails <= allowed
        });
    }
    Ok((ctx.rows(&reps)?, raced_out))
}

/// `a` is below (or equal to) `b`: no larger in any monotone parameter, equal in the others.
fn below(spec: &Spec, mono: &[bool], a: usize, b: usize) -> bool {
    spec.points[a]
        .iter()
        .zip(&spec.points[b])
        .zip(mono)
        .all(|((x, y), &m)| match (m, x, y) {
            (true, PValue::Num(x), PValue::Num(y)) => x <= y,
            _ => x == y,
        })
}

/// Per parameter: declared `--monotone` (and numeric).
fn monotone_mask(spec: &Spec) -> Vec<bool> {
    let plan = spec.plan.as_ref();
    spec.params
        .iter()
        .map(|p| plan.is_some_and(|pl| pl.monotone.contains(&p.path)) && p.numeric())
        .collect()
}

/// How a search picks its next batch among the open points (with monotone parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The middle capacity level: bisects the lattice, few rounds wherever the frontier lies.
    Bisect,
    /// The open points with no open point below them: climbs from the bottom, so the points
    /// above the cheapest passing ones are inferred, never run. Every minimal passing point is
    /// still run, so the answer is the same; it suits candidates that screening has already
    /// placed near the frontier.
    BottomUp,
}

pub fn search(ctx: &Context, points: &[usize], confidence: f64, order: Order) -> Result<Search> {
    let spec = ctx.spec;
    let mono = monotone_mask(spec);
    // A point's capacity level: the sum of its ranks along the monotone parameters.
    let rank = |p: usize| -> usize {
        spec.params
            .iter()
            .enumerate()
            .filter(|(k, _)| mono[*k])
            .map(|(k, par)| {
                let v = spec.points[p][k].as_f64().unwrap_or(0.0);
                par.values
                    .iter()
                    .filter(|w| w.as_f64().is_some_and(|w| w < v))
                    .count()
            })
            .sum()
    };
    let mut status: BTreeMap<usize, Status> = BTreeMap::new();
    let mut open: Vec<usize> = points.to_vec();
    let mut rows = Vec::new();
    let mut rounds = 0;
    let mut raced_out = 0;
    while !open.is_empty() {
        rounds += 1;
        let batch: Vec<usize> = if !mono.iter().any(|m| *m) {
            open.clone()
        } else if order == Order::BottomUp {
            open.iter()
                .copied()
                .filter(|&p| !open.iter().any(|&q| q != p && below(spec, &mono, q, p)))
                .collect()
        } else {
            let mut levels: Vec<usize> = open.iter().map(|&p| rank(p)).collect();
            levels.sort_unstable();
            let mid = levels[levels.len() / 2];
            open.iter().copied().filter(|&p| rank(p) == mid).collect()
        };
        let (got, out) = race(ctx, &batch, confidence)?;
        raced_out += out;
        for s in aggregate(&got) {
            let st = if s.p_all >= confidence {
                Status::Pass
            } else {
                Status::Fail
            };
            status.insert(s.point, st);
        }
        rows.extend(got);
        open.retain(|p| !batch.contains(p));
        open.retain(|&q| {
            let inferred = status.iter().find_map(|(&a, st)| match st {
                Status::Pass if below(spec, &mono, a, q) => Some(Status::InferredPass),
                Status::Fail if below(spec, &mono, q, a) => Some(Status::InferredFail),
                _ => None,
            });
            match inferred {
                Some(st) => {
                    status.insert(q, st);
                    false
                }
                None => true,
            }
        });
    }
    rows.sort_by_key(|r| (r.point, r.replication));
    Ok(Search {
        status,
        rows,
        rounds,
        raced_out,
    })
}

/// Headroom of a target, as a fraction of its limit (positive: met with room to spare).
pub fn margin(target: &str, mean: f64) -> Option<f64> {
    let expr = target.rsplit_once(' ').map(|(_, e)| e).unwrap_or(target);
    let at = expr.find(['<', '>'])?;
    let rest = &expr[at..];
    let (less, num) = if let Some(n) = rest.strip_prefix("<=") {
        (true, n)
    } else if let Some(n) = rest.strip_prefix(">=") {
        (false, n)
    } else if let Some(n) = rest.strip_prefix('<') {
        (true, n)
    } else {
        (false, rest.strip_prefix('>')?)
    };
    let limit: f64 = num.trim().parse().ok()?;
    if limit == 0.0 || !mean.is_finite() {
        return None;
    }
    Some(if less {
        (limit - mean) / limit.abs()
    } else {
        (mean - limit) / limit.abs()
    })
}

/// How far a measured mean lies beyond a target's limit: a fraction of the limit (an absolute
/// amount when the limit is 0); `None` when the target is met on average or cannot be read.
pub fn miss(target: &str, mean: f64) -> Option<f64> {
    if let Some(m) = margin(target, mean) {
        return (m < 0.0).then_some(-m);
    }
    // A limit of 0 (e.g. `count<=0`): the excess itself.
    let expr = target.rsplit_once(' ').map(|(_, e)| e).unwrap_or(target);
    let e = crate::threshold::parse_expr(expr).ok()?;
    (mean.is_finite() && !e.op.holds(mean, e.value)).then(|| (mean - e.value).abs())
}

/// The runs-table metric `--objective` names: `total` (mean $/hour, everything including
/// per-request charges and gas), `infrastructure` (mean $/hour of capacity alone), a
/// summary.json path (`metrics.http_req_duration.values.p(95)`, `surge.cost.per_hour`) or a
/// runs-table column (`http_req_duration.p(95)`, `cost.gas`).
pub fn objective_metric(o: &str) -> Result<String> {
    let o = o.trim();
    let name = match o {
        "total" => "cost.per_hour".to_string(),
        "infrastructure" => "cost.infrastructure_per_hour".to_string(),
        _ => {
            if let Some(rest) = o.strip_prefix("metrics.") {
                match rest.split_once(".values.") {
                    Some((m, stat)) => format!("{m}.{stat}"),
                    None => {
                        return Err(crate::error::Error::Usage(format!(
                            "--objective {o}: a summary.json metric path looks like \
                             metrics.<name>.values.<stat>, e.g. metrics.http_req_duration.values.p(95)"
                        )))
                    }
                }
            } else if let Some(rest) = o.strip_prefix("surge.") {
                rest.to_string()
            } else {
                o.to_string()
            }
        }
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(crate::error::Error::Usage(format!(
            "--objective {o:?}: expected total, infrastructure, or a summary.json path \
             (e.g. surge.cost.per_hour) or runs.csv column (e.g. cost.infrastructure_per_hour)"
        )));
    }
    Ok(name)
}

/// A screening run: the scenario cut at `fraction` of its planned end (the `duration` cap).
pub fn shorten(l: &mut crate::config::Loaded, fraction: f64) {
    let horizon = crate::config::budget::estimate(&l.scenario, &l.model).horizon;
    let cut = ((horizon as f64) * fraction).max(1.0) as u64;
    let cut = l.scenario.duration.map_or(cut, |d| d.0.min(cut));
    l.scenario.duration = Some(crate::dist::Duration(cut));
}

/// The screening stage of a multi-fidelity plan and what it let through.
pub struct Screening {
    pub screen: super::spec::Screen,
    pub search: Search,
    pub stats: Vec<PointStats>,
    /// Points confirmed at full length: passed screening (or inferred to), failed it by less
    /// than the margin on every target missed, or inferred to fail only from such near misses.
    pub candidates: Vec<usize>,
    /// Points that failed screening by more than the margin, with their worst miss.
    pub rejected: Vec<(usize, f64)>,
    /// Points inferred to fail at screening below a rejected point, never run.
    pub rejected_inferred: Vec<usize>,
    /// Rejected points run at full length after all (`--screen-verify`).
    pub verified: Vec<usize>,
}

impl Screening {
    pub fn new(spec: &Spec, search: Search, screen: &super::spec::Screen) -> Screening {
        let stats = aggregate(&search.rows);
        let mono = monotone_mask(spec);
        let worst = |p: usize| {
            let st = stats.iter().find(|s| s.point == p).expect("evaluated");
            worst_miss(st)
        };
        let (candidates, rejected, rejected_inferred) = classify(
            spec.points.len(),
            &search.status,
            worst,
            |a, b| below(spec, &mono, a, b),
            screen.margin,
        );
        Screening {
            screen: screen.clone(),
            search,
            stats,
            candidates,
            rejected,
            rejected_inferred,
            verified: Vec::new(),
        }
    }

    /// The rejected points that could beat `best` (the best full-length objective value so far,
    /// if any): those whose screening value is lower, or unknown, and those never run.
    pub fn could_beat(&self, objective: &str, best: Option<f64>) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .rejected
            .iter()
            .filter(|(p, _)| {
                let x = self
                    .stats
                    .iter()
                    .find(|s| s.point == *p)
                    .map(|s| s.mean(objective))
                    .unwrap_or(f64::NAN);
                best.is_none_or(|b| !x.is_finite() || x < b)
            })
            .map(|(p, _)| *p)
            .chain(self.rejected_inferred.iter().copied())
            .collect();
        v.sort_unstable();
        v
    }
}

/// Sort the screened points into candidates, rejected (failed by more than `margin`, with the
/// worst miss) and rejected by inference. An inferred failure is only as sure as the failure it
/// came from: below a rejected point (no more capacity in any monotone parameter) a point is
/// rejected too; below only near misses, which are confirmed at full length, it is a candidate,
/// since it was never run and may be a near miss itself.
fn classify(
    n: usize,
    status: &BTreeMap<usize, Status>,
    worst: impl Fn(usize) -> f64,
    below: impl Fn(usize, usize) -> bool,
    margin: f64,
) -> (Vec<usize>, Vec<(usize, f64)>, Vec<usize>) {
    let mut candidates = Vec::new();
    let mut rejected = Vec::new();
    for p in 0..n {
        match status.get(&p) {
            Some(Status::Pass | Status::InferredPass) => candidates.push(p),
            Some(Status::Fail) => {
                let w = worst(p);
                if w <= margin {
                    candidates.push(p);
                } else {
                    rejected.push((p, w));
                }
            }
            Some(Status::InferredFail) | None => {}
        }
    }
    let mut rejected_inferred = Vec::new();
    for p in 0..n {
        if matches!(status.get(&p), Some(Status::InferredFail) | None) {
            if rejected.iter().any(|&(a, _)| below(p, a)) {
                rejected_inferred.push(p);
            } else {
                candidates.push(p);
            }
        }
    }
    candidates.sort_unstable();
    (candidates, rejected, rejected_inferred)
}

/// The best objective value among points meeting the confidence in `search`.
pub fn best_value(search: &Search, objective: &str, confidence: f64) -> Option<f64> {
    aggregate(&search.rows)
        .iter()
        .filter(|s| s.p_all >= confidence)
        .map(|s| s.mean(objective))
        .filter(|v| v.is_finite())
        .min_by(f64::total_cmp)
}

/// Fold a later search over other points into `a`.
pub fn merge_search(a: &mut Search, b: Search) {
    a.status.extend(b.status);
    a.rows.extend(b.rows);
    a.rows.sort_by_key(|r| (r.point, r.replication));
    a.rounds += b.rounds;
    a.raced_out += b.raced_out;
}

/// A point's largest miss over the targets that failed in some replication: 0 when every
/// target is met on average (it failed on the spread across replications), infinite when a
/// missed target cannot be read.
fn worst_miss(s: &PointStats) -> f64 {
    s.p_pass
        .iter()
        .filter(|(_, p)| *p < 1.0)
        .map(|(name, _)| {
            let mean = s.mean(&format!("target:{name}"));
            if !mean.is_finite() {
                return f64::INFINITY;
            }
            miss(name, mean).unwrap_or(0.0)
        })
        .fold(0.0, f64::max)
}

pub struct Outcome {
    pub best: Option<usize>,
    pub runners_up: Vec<usize>,
    pub front: Vec<usize>,
    pub stats: Vec<PointStats>,
    /// When nothing qualifies: the points that came closest (with their statistics).
    pub closest: Vec<PointStats>,
    pub json: Value,
}

fn point_json(spec: &Spec, s: &PointStats, confidence: f64) -> Value {
    let params: serde_json::Map<String, Value> = spec
        .params
        .iter()
        .zip(&spec.points[s.point])
        .map(|(p, v)| (p.path.clone(), json!(v)))
        .collect();
    let objective = spec
        .plan
        .as_ref()
        .map(|p| p.objective.clone())
        .unwrap_or_else(|| COST.to_string());
    let targets: Vec<Value> = s
        .p_pass
        .iter()
        .map(|(name, p)| {
            let i = s.get(&format!("target:{name}"));
            let mean = i.map(|i| i.mean).unwrap_or(f64::NAN);
            json!({
                "target": name,
                "p_pass": p,
                "measured_mean": mean,
                "ci": i.map(|i| [i.lo(), i.hi()]),
                "margin": margin(name, mean),
                "missed_by": miss(name, mean),
            })
        })
        .collect();
    json!({
        "point": s.point,
        "params": params,
        "replications": s.replications,
        "objective": objective,
        "objective_value": s.mean(&objective),
        "objective_ci": s.get(&objective).map(|i| [i.lo(), i.hi()]),
        "cost_per_hour": s.mean(COST),
        "cost_per_hour_ci": s.get(COST).map(|i| [i.lo(), i.hi()]),
        "p95_ms": s.mean(P95),
        "p_all_targets": s.p_all,
        "meets_confidence": s.p_all >= confidence,
        "targets": targets,
    })
}

/// Points that came closest to qualifying: smallest worst miss first, then the highest
/// probability of meeting every target, then the objective.
pub fn closest(stats: &[PointStats], objective: &str, n: usize) -> Vec<PointStats> {
    let mut v: Vec<(f64, &PointStats)> = stats.iter().map(|s| (worst_miss(s), s)).collect();
    v.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(b.1.p_all.total_cmp(&a.1.p_all))
            .then(a.1.mean(objective).total_cmp(&b.1.mean(objective)))
            .then(a.1.point.cmp(&b.1.point))
    });
    v.into_iter().take(n).map(|(_, s)| s.clone()).collect()
}

/// How many points that came closest are reported when nothing qualifies.
pub const CLOSEST: usize = 5;

/// Pick the point minimising the objective among those meeting the confidence, the
/// runners-up and the cost / p95 Pareto front; report the screening stage of a multi-fidelity
/// plan, and when nothing qualifies, the points that came closest.
pub fn decide(
    spec: &Spec,
    search: &Search,
    confidence: f64,
    screening: Option<&Screening>,
) -> Result<Outcome> {
    let stats = aggregate(&search.rows);
    let objective = spec
        .plan
        .as_ref()
        .map(|p| p.objective.clone())
        .unwrap_or_else(|| COST.to_string());
    let measured_anywhere = stats
        .iter()
        .chain(screening.iter().flat_map(|s| s.stats.iter()))
        .any(|s| s.get(&objective).is_some_and(|i| i.n > 0));
    let any_stats = !stats.is_empty() || screening.is_some_and(|s| !s.stats.is_empty());
    if any_stats && !measured_anywhere {
        let names = super::points::metric_columns(&search.rows);
        let near: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with("cost.") || n.starts_with("http_req_duration."))
            .take(12)
            .collect();
        return Err(crate::error::Error::Usage(format!(
            "--objective: no run measured {objective:?}; expected total, infrastructure, or one of \
             the runs table's columns, e.g. {}",
            near.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let by_obj = |a: &&PointStats, b: &&PointStats| {
        a.mean(&objective)
            .total_cmp(&b.mean(&objective))
            .then(a.mean(P95).total_cmp(&b.mean(P95)))
            .then(a.point.cmp(&b.point))
    };
    let mut ok: Vec<&PointStats> = stats
        .iter()
        .filter(|s| s.p_all >= confidence && s.mean(&objective).is_finite())
        .collect();
    ok.sort_by(by_obj);
    let best = ok.first().map(|s| s.point);
    let runners_up: Vec<usize> = ok.iter().skip(1).take(4).map(|s| s.point).collect();
    let xy: Vec<(f64, f64)> = stats.iter().map(|s| (s.mean(COST), s.mean(P95))).collect();
    let front: Vec<usize> = pareto_front(&xy)
        .into_iter()
        .map(|i| stats[i].point)
        .collect();
    let find = |p: usize| stats.iter().find(|s| s.point == p).expect("evaluated");
    let count = |st: Status| search.status.values().filter(|s| **s == st).count();
    // Nothing qualifies: the closest of the full-length points, or of the screening when none
    // got that far.
    let (closest, closest_from) = match best {
        Some(_) => (Vec::new(), ""),
        None if !stats.is_empty() => (closest(&stats, &objective, CLOSEST), "full"),
        None => match screening {
            Some(sc) => (closest(&sc.stats, &objective, CLOSEST), "screening"),
            None => (Vec::new(), ""),
        },
    };
    let stopped = search.rows.iter().filter(|r| r.stop.is_some()).count();
    let screening_json = screening.map(|sc| {
        let best_value = best.map(|b| find(b).mean(&objective));
        let sfind = |p: usize| sc.stats.iter().find(|s| s.point == p);
        // Rejected points that, at screening, looked cheaper than the answer: if one of them
        // would pass at full length, the exhaustive answer would differ.
        let cheaper: Vec<Value> = sc
            .rejected
            .iter()
            .filter(|(p, _)| !sc.verified.contains(p))
            .filter_map(|&(p, worst)| {
                let st = sfind(p)?;
                let v = st.mean(&objective);
                let below = match best_value {
                    Some(b) => v < b || !v.is_finite(),
                    None => true,
                };
                below.then(|| {
                    let mut j = point_json(spec, st, confidence);
                    j["screening_worst_miss"] = json!(worst);
                    j
                })
            })
            .collect();
        let unverified_inferred = sc
            .rejected_inferred
            .iter()
            .filter(|p| !sc.verified.contains(p))
            .count();
        json!({
            "fraction": sc.screen.fraction,
            "margin": sc.screen.margin,
            "evaluated": sc.stats.len(),
            "runs": sc.search.rows.len(),
            "shared_runs": shared(&sc.search.rows),
            "rounds": sc.search.rounds,
            "candidates": sc.candidates.len(),
            "rejected": sc.rejected.len(),
            "rejected_inferred": sc.rejected_inferred.len(),
            "verified": sc.verified.len(),
            "rejected_cheaper": cheaper,
            "rejected_inferred_unverified": unverified_inferred,
            "exact": cheaper.is_empty() && unverified_inferred == 0,
        })
    });
    let json = json!({
        "confidence": confidence,
        "objective": objective,
        "best": best.map(|p| point_json(spec, find(p), confidence)),
        "runners_up": runners_up.iter().map(|&p| point_json(spec, find(p), confidence)).collect::<Vec<_>>(),
        "pareto_front": front.iter().map(|&p| point_json(spec, find(p), confidence)).collect::<Vec<_>>(),
        "closest": closest.iter().map(|s| {
            let mut j = point_json(spec, s, confidence);
            j["from"] = json!(closest_from);
            j
        }).collect::<Vec<_>>(),
        "screening": screening_json,
        "search": {
            "grid_points": spec.points.len(),
            "evaluated": count(Status::Pass) + count(Status::Fail),
            "inferred_pass": count(Status::InferredPass),
            "inferred_fail": count(Status::InferredFail),
            "rounds": search.rounds,
            "runs": search.rows.len(),
            "shared_runs": shared(&search.rows),
            "runs_full_grid": spec.points.len() as u64 * spec.replications,
            "left_race_early": search.raced_out,
            "stopped_early": stopped,
            "early_stop": spec.plan.as_ref().is_some_and(|p| p.early_stop),
            "run_precision": spec.run_precision,
            "monotone": spec.plan.as_ref().map(|p| p.monotone.clone()).unwrap_or_default(),
        },
    });
    Ok(Outcome {
        best,
        runners_up,
        front,
        stats,
        closest,
        json,
    })
}

/// Rows whose run was another point's (`super::shared`): runs the search did not simulate.
fn shared(rows: &[Row]) -> usize {
    rows.iter().filter(|r| r.shared_from.is_some()).count()
}

#[cfg(test)]
mod tests {
    use super::{classify, margin, Status};
    use std::collections::BTreeMap;

    /// One monotone parameter, points 0 < 1 < 2 < 3 < 4 in capacity. Point 3 failed screening
    /// by a near miss and 1 by far; 0 and 2 were inferred to fail, 4 passed.
    #[test]
    fn an_inference_from_a_near_miss_is_a_candidate_and_one_from_a_rejection_is_not() {
        let status: BTreeMap<usize, Status> = [
            (0, Status::InferredFail),
            (1, Status::Fail),
            (2, Status::InferredFail),
            (3, Status::Fail),
            (4, Status::Pass),
        ]
        .into();
        let worst = |p: usize| if p == 1 { 0.9 } else { 0.1 };
        let (cand, rej, inferred) = classify(5, &status, worst, |a, b| a <= b, 0.25);
        // 2 lies below 3 (a near miss) only: a candidate; 0 lies below 1 (rejected).
        assert_eq!(cand, [2, 3, 4]);
        assert_eq!(rej, [(1, 0.9)]);
        assert_eq!(inferred, [0]);
    }

    #[test]
    fn margins_are_headroom_fractions() {
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
        assert!(close(margin("http_req_duration p(95)<500", 400.0), 0.2));
        assert!(close(margin("cost_ratio <1.5", 1.8), -0.2));
        assert!(close(margin("x rate>=0.5", 0.6), 0.2));
        assert_eq!(margin("nothing", 1.0), None);
    }
}
