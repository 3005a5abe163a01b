//! `surge plan`: the cheapest configuration whose probability of meeting every target is at
//! least the confidence. The search starts from the grid; parameters declared monotone
//! (`--monotone PATH`: a larger value means more capacity and more cost) prune it: above a
//! passing point everything passes but costs more, below a failing point everything fails.
//! Each round evaluates the unresolved points at the middle capacity level, which bisects the
//! lattice; with monotone parameters the cheapest passing point is always evaluated.
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

pub fn search(ctx: &Context, points: &[usize], confidence: f64) -> Result<Search> {
    let spec = ctx.spec;
    let plan = spec.plan.as_ref();
    let mono: Vec<bool> = spec
        .params
        .iter()
        .map(|p| plan.is_some_and(|pl| pl.monotone.contains(&p.path)) && p.numeric())
        .collect();
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
        let batch: Vec<usize> = if mono.iter().any(|m| *m) {
            let mut levels: Vec<usize> = open.iter().map(|&p| rank(p)).collect();
            levels.sort_unstable();
            let mid = levels[levels.len() / 2];
            open.iter().copied().filter(|&p| rank(p) == mid).collect()
        } else {
            open.clone()
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

pub struct Outcome {
    pub best: Option<usize>,
    pub runners_up: Vec<usize>,
    pub front: Vec<usize>,
    pub stats: Vec<PointStats>,
    pub json: Value,
}

fn point_json(spec: &Spec, s: &PointStats, confidence: f64) -> Value {
    let params: serde_json::Map<String, Value> = spec
        .params
        .iter()
        .zip(&spec.points[s.point])
        .map(|(p, v)| (p.path.clone(), json!(v)))
        .collect();
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
            })
        })
        .collect();
    json!({
        "point": s.point,
        "params": params,
        "replications": s.replications,
        "cost_per_hour": s.mean(COST),
        "cost_per_hour_ci": s.get(COST).map(|i| [i.lo(), i.hi()]),
        "p95_ms": s.mean(P95),
        "p_all_targets": s.p_all,
        "meets_confidence": s.p_all >= confidence,
        "targets": targets,
    })
}

/// Pick the cheapest passing point, the runners-up and the cost / p95 Pareto front.
pub fn decide(spec: &Spec, search: &Search, confidence: f64) -> Outcome {
    let stats = aggregate(&search.rows);
    let by_cost = |a: &&PointStats, b: &&PointStats| {
        a.mean(COST)
            .total_cmp(&b.mean(COST))
            .then(a.mean(P95).total_cmp(&b.mean(P95)))
            .then(a.point.cmp(&b.point))
    };
    let mut ok: Vec<&PointStats> = stats
        .iter()
        .filter(|s| s.p_all >= confidence && s.mean(COST).is_finite())
        .collect();
    ok.sort_by(by_cost);
    let best = ok.first().map(|s| s.point);
    let runners_up: Vec<usize> = ok.iter().skip(1).take(4).map(|s| s.point).collect();
    let xy: Vec<(f64, f64)> = stats.iter().map(|s| (s.mean(COST), s.mean(P95))).collect();
    let front: Vec<usize> = pareto_front(&xy)
        .into_iter()
        .map(|i| stats[i].point)
        .collect();
    let find = |p: usize| stats.iter().find(|s| s.point == p).expect("evaluated");
    let count = |st: Status| search.status.values().filter(|s| **s == st).count();
    let json = json!({
        "confidence": confidence,
        "best": best.map(|p| point_json(spec, find(p), confidence)),
        "runners_up": runners_up.iter().map(|&p| point_json(spec, find(p), confidence)).collect::<Vec<_>>(),
        "pareto_front": front.iter().map(|&p| point_json(spec, find(p), confidence)).collect::<Vec<_>>(),
        "search": {
            "grid_points": spec.points.len(),
            "evaluated": count(Status::Pass) + count(Status::Fail),
            "inferred_pass": count(Status::InferredPass),
            "inferred_fail": count(Status::InferredFail),
            "rounds": search.rounds,
            "runs": search.rows.len(),
            "runs_full_grid": spec.points.len() as u64 * spec.replications,
            "left_race_early": search.raced_out,
            "monotone": spec.plan.as_ref().map(|p| p.monotone.clone()).unwrap_or_default(),
        },
    });
    Outcome {
        best,
        runners_up,
        front,
        stats,
        json,
    }
}

#[cfg(test)]
mod tests {
    use super::margin;

    #[test]
    fn margins_are_headroom_fractions() {
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
        assert!(close(margin("http_req_duration p(95)<500", 400.0), 0.2));
        assert!(close(margin("cost_ratio <1.5", 1.8), -0.2));
        assert!(close(margin("x rate>=0.5", 0.6), 0.2));
        assert_eq!(margin("nothing", 1.0), None);
    }
}
