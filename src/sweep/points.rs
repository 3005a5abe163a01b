//! Aggregates per sweep point across its replications: each metric's mean and confidence
//! interval, each target's pass probability, and time-series bands.

use super::row::Row;
use super::stats::{interval, Interval, LEVEL};

/// Names in order of first appearance over `rows` (rows are sorted, so the order is fixed).
pub fn union<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if seen.insert(n) {
            out.push(n.to_string());
        }
    }
    out
}

pub fn metric_columns(rows: &[Row]) -> Vec<String> {
    union(
        rows.iter()
            .flat_map(|r| r.metrics.iter().map(|(k, _)| k.as_str())),
    )
}

pub fn target_names(rows: &[Row]) -> Vec<String> {
    union(
        rows.iter()
            .flat_map(|r| r.targets.iter().map(|t| t.name.as_str())),
    )
}

#[derive(Clone, Debug)]
pub struct PointStats {
    pub point: usize,
    pub replications: usize,
    /// Per metric column, then per target's measured value (named `target:<name>`).
    pub metrics: Vec<(String, Interval)>,
    /// Fraction of replications in which each target passed.
    pub p_pass: Vec<(String, f64)>,
    /// Fraction of replications in which every target passed.
    pub p_all: f64,
}

impl PointStats {
    pub fn get(&self, name: &str) -> Option<&Interval> {
        self.metrics.iter().find(|(k, _)| k == name).map(|(_, i)| i)
    }
    pub fn mean(&self, name: &str) -> f64 {
        self.get(name).map(|i| i.mean).unwrap_or(f64::NAN)
    }
}

/// One entry per point that has rows, in point order. `rows` must be sorted.
pub fn aggregate(rows: &[Row]) -> Vec<PointStats> {
    let cols = metric_columns(rows);
    let targets = target_names(rows);
    rows.chunk_by(|a, b| a.point == b.point)
        .map(|group| {
            let n = group.len();
            let mut metrics: Vec<(String, Interval)> = cols
                .iter()
                .map(|c| {
                    let xs = group.iter().map(|r| r.metric(c).unwrap_or(f64::NAN));
                    (c.clone(), interval(xs, LEVEL))
                })
                .collect();
            let mut p_pass = Vec::new();
            for t in &targets {
                let of = |r: &Row| r.targets.iter().find(|x| &x.name == t).cloned();
                let xs = group
                    .iter()
                    .map(|r| of(r).and_then(|x| x.measured).unwrap_or(f64::NAN));
                metrics.push((format!("target:{t}"), interval(xs, LEVEL)));
                let passed = group
                    .iter()
                    .filter(|r| of(r).is_some_and(|x| x.pass))
                    .count();
                p_pass.push((t.clone(), passed as f64 / n as f64));
            }
            let all = group.iter().filter(|r| r.passed()).count();
            PointStats {
                point: group[0].point,
                replications: n,
                metrics,
                p_pass,
                p_all: all as f64 / n as f64,
            }
        })
        .collect()
}

/// Bands per time bucket across one point's replications: (t_s, column, interval).
pub fn bands(group: &[Row]) -> Vec<(f64, String, Interval)> {
    let buckets = group.iter().map(|r| r.series.t_s.len()).max().unwrap_or(0);
    let cols = union(
        group
            .iter()
            .flat_map(|r| r.series.columns.iter().map(|(k, _)| k.as_str())),
    );
    let mut out = Vec::new();
    for b in 0..buckets {
        // Replications of one scenario share the sampling grid; a shorter run has no value there.
        let t = group
            .iter()
            .find_map(|r| r.series.t_s.get(b).copied())
            .unwrap_or(f64::NAN);
        for c in &cols {
            let xs = group.iter().map(|r| {
                r.series
                    .columns
                    .iter()
                    .find(|(k, _)| k == c)
                    .and_then(|(_, v)| v.get(b).copied().flatten())
                    .unwrap_or(f64::NAN)
            });
            out.push((t, c.clone(), interval(xs, LEVEL)));
        }
    }
    out
}
