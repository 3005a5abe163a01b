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

/// The physical range of a time-series or metric column: every column surge writes is a count,
/// rate, latency, cost, utilization or pod number, so none is below zero; fractions (error
/// rates, hit ratios, pass probabilities) are at most one.
pub fn physical_range(column: &str) -> (f64, f64) {
    let c = column.trim_end_matches(".mean");
    let fraction = c.ends_with("error_rate")
        || c.ends_with("hit_ratio")
        || c.ends_with(".rate")
        || c.starts_with("p_pass");
    (0.0, if fraction { 1.0 } else { f64::INFINITY })
}

/// `(lo, hi)` clamped to the column's physical range; NaN stays NaN.
pub fn clamp_band(column: &str, lo: f64, hi: f64) -> (f64, f64) {
    let (a, b) = physical_range(column);
    (lo.clamp(a, b), hi.clamp(a, b))
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
        // A cell passes when every point in it meets every target with the confidence asked.
        let mut pass = vec![vec![None::<bool>; xs.len()]; ys.len()];
        for s in stats {
            let xi = xs.iter().position(|&a| a == x(spec, s.point, kx));
            let yi = ys.iter().position(|&a| a == x(spec, s.point, ky));
            if let (Some(xi), Some(yi)) = (xi, yi) {
                let ok = s.p_all >= confidence;
                let cell = &mut pass[yi][xi];
                *cell = Some(cell.unwrap_or(true) && ok);
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
                pass: &pass,
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
        let labels: Vec<String> = stats
            .iter()
            .map(|s| format!("#{} {}", s.point, spec.label(s.point)))
            .collect();
        plot::write_scatter_png(
            &out.join("pareto.png"),
            &Scatter {
                title: "Cost against p95 latency (Pareto front; pass = meets every target)",
                x_label: "cost $/hour (mean)",
                y_label: "p95 latency ms (mean)",
                points: &pts,
                front: &front,
                labels: &labels,
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
pub type Band = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// One column's band over time from one point's rows: (t, mean, low, high), the limits clamped
/// to the column's physical range.
pub fn band(group: &[Row], col: &str) -> Band {
    let b = bands(group);
    let mut t = Vec::new();
    let (mut m, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
    for (ts, c, i) in &b {
        if c == col {
            t.push(*ts);
            m.push(i.mean);
            let (l, h) = if i.half_width.is_finite() {
                clamp_band(col, i.lo(), i.hi())
            } else {
                (f64::NAN, f64::NAN)
            };
            lo.push(l);
            hi.push(h);
        }
    }
    (t, m, lo, hi)
}

/// p95 and pods over time for one point: the mean across replications and its 95 % band.
fn write_bands(out: &Path, spec: &Spec, point: usize, group: &[Row]) -> Result<Option<String>> {
    let b = bands(group);
    let pick = |col: &str| band(group, col);
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
        // A column that never varies (pods fixed by the point's parameters) is no chart.
        .filter(|(_, d)| {
            let first = d.1.first().copied();
            let constant = |v: &Vec<f64>| v.iter().all(|x| x.is_nan() || Some(*x) == first);
            !(constant(&d.1) && constant(&d.2) && constant(&d.3))
        })
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
                Series::new("mean", m),
                Series::new("95% band low", lo).dashed().color(0),
                Series::new("95% band high", hi).dashed().color(0),
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
    use super::{band, clamp_band, pareto_front};
    use crate::sweep::row::{Row, Series as RowSeries};
    use crate::sweep::stats::{interval, LEVEL};

    fn row(rep: u64, p95: &[f64], pods: &[f64], err: &[f64]) -> Row {
        let opt = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        Row {
            point: 0,
            replication: rep,
            metrics: vec![],
            targets: vec![],
            series: RowSeries {
                t_s: (1..=p95.len()).map(|i| i as f64).collect(),
                columns: vec![
                    ("p95_ms".into(), opt(p95)),
                    ("web_ready_pods".into(), opt(pods)),
                    ("error_rate".into(), opt(err)),
                ],
            },
            stop: None,
            shared_from: None,
        }
    }

    #[test]
    fn no_band_goes_below_zero_or_above_one_for_fractions() {
        // Skewed replications near zero: the raw t intervals reach below zero (p95 and pods)
        // and above one (error rate), as in the issue (p95 −4,000 ms, pods −1).
        let rows = vec![
            row(0, &[5.0, 0.0, 9000.0], &[1.0, 1.0, 1.0], &[0.0, 0.9, 1.0]),
            row(1, &[0.0, 0.0, 10.0], &[1.0, 1.0, 6.0], &[0.0, 1.0, 0.2]),
            row(2, &[0.0, 1.0, 15.0], &[1.0, 2.0, 1.0], &[1.0, 0.95, 0.1]),
        ];
        let raw = interval([9000.0, 10.0, 15.0], LEVEL);
        assert!(raw.lo() < 0.0, "the test data must stress the clamp");
        let raw_err = interval([0.9, 1.0, 0.95], LEVEL);
        assert!(raw_err.hi() > 1.0);
        for col in ["p95_ms", "web_ready_pods", "error_rate"] {
            let (t, m, lo, hi) = band(&rows, col);
            assert_eq!(t.len(), 3, "{col}");
            for k in 0..3 {
                assert!(lo[k] >= 0.0, "{col}[{k}] low {}", lo[k]);
                assert!(lo[k] <= m[k] && m[k] <= hi[k], "{col}[{k}]");
                if col == "error_rate" {
                    assert!(hi[k] <= 1.0, "{col}[{k}] high {}", hi[k]);
                }
            }
        }
        // The table writer uses the same clamp.
        let df = crate::sweep::table::bands_frame(&rows).unwrap();
        let lo = df.column("ci_lo").unwrap().f64().unwrap().clone();
        assert!(lo.iter().flatten().all(|x| x >= 0.0));
        assert_eq!(clamp_band("x_ms", -3.0, 5.0), (0.0, 5.0));
    }

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
