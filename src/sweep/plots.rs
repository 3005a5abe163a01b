//! Sweep charts: a metric against one parameter with confidence-interval error bars, a heatmap
//! over two parameters, the cost / p95 Pareto scatter, and time-series bands of one point.

use super::points::{bands, PointStats};
use super::row::Row;
use super::spec::Spec;
use crate::error::{Error, Result};
use crate::report::plot::{self, Chart, ErrorBars, Heatmap, Scatter, Series};
use std::path::Path;

pub const COST: &str = "cost.per_hour";
pub const P95: &str = "http_req_duration.p(95)";

fn err(e: String) -> Error {
    Error::Io {
        path: String::new(),
        message: e,
    }
}

/// Indices of the Pareto front of (cost, latency), both minimised: sorted by cost, each point
/// strictly faster than every cheaper one.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0.is_finite() && points[i].1.is_finite())
        .collect();
    idx.sort_by(|&a, &b| {
        points[a]
            .0
            .total_cmp(&points[b].0)
            .then(points[a].1.total_cmp(&points[b].1))
    });
    let mut best = f64::INFINITY;
    let mut front = Vec::new();
    for i in idx {
        if points[i].1 < best {
            best = points[i].1;
            front.push(i);
        }
    }
    front
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Numeric parameter value of `point` for parameter `k`.
fn x(spec: &Spec, point: usize, k: usize) -> f64 {
    spec.points[point][k].as_f64().unwrap_or(f64::NAN)
}

/// Write the charts that fit this sweep; returns their file names.
pub fn write_all(
    out: &Path,
    spec: &Spec,
    stats: &[PointStats],
    rows: &[Row],
    metric: &str,
    confidence: f64,
    bands_point: Option<usize>,
) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let numeric: Vec<usize> = (0..spec.params.len())
        .filter(|&k| spec.params[k].numeric() && spec.params[k].values.len() > 1)
        .collect();
    let has_metric = stats.iter().any(|s| s.mean(metric).is_finite());
    if has_metric && numeric.len() == 1 && spec.params.len() == 1 {
        let k = numeric[0];
        let mut pts: Vec<(f64, f64, f64)> = stats
            .iter()
            .map(|s| {
                let i = s.get(metric).copied();
                (
                    x(spec, s.point, k),
                    i.map(|i| i.mean).unwrap_or(f64::NAN),
                    i.map(|i| i.half_width).unwrap_or(f64::NAN),
                )
            })
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (xs, (ms, hs)): (Vec<f64>, (Vec<f64>, Vec<f64>)) =
            pts.into_iter().map(|(a, b, c)| (a, (b, c))).unzip();
        let name = format!(
            "{}_vs_{}.png",
            file_safe(metric),
            file_safe(&spec.params[k].path)
        );
        let title = format!("{metric}: mean and 95% CI");
        plot::write_error_bars_png(
            &out.join(&name),
            &ErrorBars {
                title: &title,
                x_label: &spec.params[k].path,
                y_label: metric,
                x: &xs,
                mean: &ms,
                half_width: &hs,
            },
        )
        .map_err(err)?;
        files.push(name);
    }
    if has_metric && numeric.len() >= 2 {
        let (kx, ky) = (numeric[0], numeric[1]);
        let mut xs: Vec<f64> = spec.params[kx]
            .values
            .iter()
            .filter_map(|v| v.as_f64())
            .collect();
        let mut ys: Vec<f64> = spec.params[ky]
            .values
            .iter()
            .filter_map(|v| v.as_f64())
            .collect();
        xs.sort_by(f64::total_cmp);
        ys.sort_by(f64::total_cmp);
        // Each cell: the mean over the points there (other parameters averaged out).
        let mut sum = vec![vec![(0.0, 0usize); xs.len()]; ys.len()];
        for s in stats {
            let v = s.mean(metric);
            let xi = xs.iter().position(|&a| a == x(spec, s.point, kx));
            let yi = ys.iter().position(|&a| a == x(spec, s.point, ky));
            if let (Some(xi), Some(yi), true) = (xi, yi, v.is_finite()) {
                sum[yi][xi].0 += v;
                sum[yi][xi].1 += 1;
            }
        }
        let z: Vec<Vec<f64>> = sum
            .iter()
            .map(|r| {
                r.iter()
                    .map(|&(s, n)| if n > 0 { s / n as f64 } else { f64::NAN })
                    .collect()
            })
            .collect();
        let name = format!("heatmap_{}.png", file_safe(metric));
        let title = if spec.params.len() > 2 {
            format!("{metric} (mean over the other parameters)")
        } else {
            format!("{metric} (mean over replications)")
        };
        plot::write_heatmap_png(
            &out.join(&name),
            &Heatmap {
                title: &title,
                x_label: &spec.params[kx].path,
                y_label: &spec.params[ky].path,
                xs: &xs,
                ys: &ys,
                z: &z,
            },
        )
        .map_err(err)?;
        files.push(name);
    }
    if stats.iter().any(|s| s.mean(COST).is_finite()) {
        let pts: Vec<(f64, f64, bool)> = stats
            .iter()
            .map(|s| (s.mean(COST), s.mean(P95), s.p_all >= confidence))
            .collect();
        let front = pareto_front(&pts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>());
        plot::write_scatter_png(
            &out.join("pareto.png"),
            &Scatter {
                title: "Cost against p95 latency (Pareto front; pass = meets every target)",
                x_label: "cost $/hour (mean)",
                y_label: "p95 latency ms (mean)",
                points: &pts,
                front: &front,
            },
        )
        .map_err(err)?;
        files.push("pareto.png".into());
    }
    if let Some(p) = bands_point {
        let group: Vec<Row> = rows.iter().filter(|r| r.point == p).cloned().collect();
        if let Some(name) = write_bands(out, spec, p, &group)? {
            files.push(name);
        }
    }
    Ok(files)
}

/// One band column over time: (t, mean, low, high).
type Band = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// p95 and pods over time for one point: the mean across replications and its 95 % band.
fn write_bands(out: &Path, spec: &Spec, point: usize, group: &[Row]) -> Result<Option<String>> {
    let b = bands(group);
    let pick = |col: &str| -> Band {
        let mut t = Vec::new();
        let (mut m, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
        for (ts, c, i) in &b {
            if c == col {
                t.push(*ts);
                m.push(i.mean);
                lo.push(if i.half_width.is_finite() {
                    i.lo()
                } else {
                    f64::NAN
                });
                hi.push(if i.half_width.is_finite() {
                    i.hi()
                } else {
                    f64::NAN
                });
            }
        }
        (t, m, lo, hi)
    };
    let mut cols: Vec<String> = vec!["p95_ms".into(), "vus".into()];
    cols.extend(
        b.iter()
            .map(|(_, c, _)| c.clone())
            .filter(|c| c.ends_with("_ready_pods"))
            .collect::<std::collections::BTreeSet<_>>(),
    );
    let data: Vec<(String, Band)> = cols
        .into_iter()
        .map(|c| (c.clone(), pick(&c)))
        .filter(|(_, d)| !d.0.is_empty())
        .collect();
    if data.is_empty() {
        return Ok(None);
    }
    let titles: Vec<String> = data
        .iter()
        .map(|(c, _)| {
            format!(
                "{c} at point {point} ({}): mean and 95% band",
                spec.label(point)
            )
        })
        .collect();
    let charts: Vec<Chart> = data
        .iter()
        .zip(&titles)
        .map(|((c, (t, m, lo, hi)), title)| Chart {
            title,
            x_label: "time (s)",
            y_label: c,
            x: t,
            series: vec![
                Series {
                    name: "mean",
                    values: m,
                },
                Series {
                    name: "95% low",
                    values: lo,
                },
                Series {
                    name: "95% high",
                    values: hi,
                },
            ],
            y2_label: None,
            series2: vec![],
            hlines: vec![],
        })
        .collect();
    let name = format!("bands_point{point}.png");
    plot::write_png(&out.join(&name), &charts).map_err(err)?;
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::pareto_front;

    #[test]
    fn pareto_front_keeps_only_undominated_points() {
        let p = [
            (1.0, 9.0),
            (2.0, 5.0),
            (2.5, 6.0),
            (3.0, 1.0),
            (4.0, 1.0),
            (0.5, f64::NAN),
        ];
        assert_eq!(pareto_front(&p), vec![0, 1, 3]);
    }
}
