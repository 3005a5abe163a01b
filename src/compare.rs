//! `surge compare A B [C ...]`: runs or sweeps side by side. Each target's measured value per
//! input, its delta against the first input (with a 95 % confidence interval when both sides
//! are replicated: paired over common replications, as sweeps use common random numbers, else
//! Welch's), the verdicts that changed, and overlays of latency, throughput, replicas and errors
//! over time. Writes `compare.csv`, `compare.png` and `compare.html`.

use crate::error::{Error, Result};
use crate::report::html::{self, Cell, Row as HRow};
use crate::report::plot::{self, Chart, Series};
use crate::report::{readback, write_atomic};
use crate::sweep::points::{aggregate, bands};
use crate::sweep::stats::{interval, t_quantile, LEVEL};
use crate::sweep::{row, spec::Spec};
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One side of the comparison: a run, or one point of a sweep with its replications.
#[derive(Clone, Debug)]
pub struct Entity {
    pub label: String,
    /// The parameter values of a sweep point (empty for a run).
    pub detail: String,
    /// Target name → (replication, measured) samples; one sample for a run.
    pub targets: BTreeMap<String, Vec<(u64, f64)>>,
    /// Target name → verdict (a run's pass, or a sweep point's P(pass) ≥ confidence).
    pub pass: BTreeMap<String, bool>,
    /// Time (s) and the overlay columns.
    pub t: Vec<f64>,
    pub series: BTreeMap<String, Vec<f64>>,
}

/// A target's difference `b − a` with its interval, when both are replicated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Delta {
    pub diff: f64,
    /// (low, high) of the 95 % interval; None without replications on both sides.
    pub ci: Option<(f64, f64)>,
    pub paired: bool,
}

pub fn mean(v: &[(u64, f64)]) -> f64 {
    v.iter().map(|x| x.1).sum::<f64>() / v.len().max(1) as f64
}

/// `b − a`: paired over replications present on both sides when there are at least two,
/// otherwise Welch's interval when each side has at least two samples.
pub fn delta(a: &[(u64, f64)], b: &[(u64, f64)]) -> Delta {
    let diff = mean(b) - mean(a);
    let pairs: Vec<f64> = a
        .iter()
        .filter_map(|(r, x)| b.iter().find(|(s, _)| s == r).map(|(_, y)| y - x))
        .collect();
    if pairs.len() >= 2 && pairs.len() == a.len() && pairs.len() == b.len() {
        let i = interval(pairs.iter().copied(), LEVEL);
        return Delta {
            diff: i.mean,
            ci: Some((i.lo(), i.hi())),
            paired: true,
        };
    }
    if a.len() >= 2 && b.len() >= 2 {
        let var = |v: &[(u64, f64)]| {
            let m = mean(v);
            v.iter().map(|x| (x.1 - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
        };
        let (va, vb) = (var(a) / a.len() as f64, var(b) / b.len() as f64);
        let se = (va + vb).sqrt();
        if se == 0.0 {
            return Delta {
                diff,
                ci: Some((diff, diff)),
                paired: false,
            };
        }
        let df =
            (va + vb).powi(2) / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
        let h = t_quantile(LEVEL, (df.floor() as usize).max(1)) * se;
        return Delta {
            diff,
            ci: Some((diff - h, diff + h)),
            paired: false,
        };
    }
    Delta {
        diff,
        ci: None,
        paired: false,
    }
}

/// Named series over time.
type Lines = Vec<(String, Vec<f64>)>;

const OVERLAY: [&str; 3] = ["p95_ms", "completions_per_s", "error_rate"];

fn dir_label(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// The entities of one output directory.
pub fn load(dir: &Path) -> Result<Vec<Entity>> {
    match html::kind(dir)? {
        html::Kind::Run => load_run(dir).map(|e| vec![e]),
        html::Kind::Sweep | html::Kind::Plan => load_sweep(dir),
    }
}

fn load_run(dir: &Path) -> Result<Entity> {
    let s = readback::summary(dir)?;
    let mut targets = BTreeMap::new();
    let mut pass = BTreeMap::new();
    for v in s["surge"]["verdict"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
    {
        let name = format!(
            "{} {}",
            v["target"].as_str().unwrap_or(""),
            v["expr"].as_str().unwrap_or("")
        );
        if let Some(m) = v["measured"].as_f64() {
            targets.insert(name.clone(), vec![(0, m)]);
        } else {
            targets.insert(name.clone(), Vec::new());
        }
        pass.insert(name, v["pass"].as_bool().unwrap_or(false));
    }
    let ts = readback::timeseries(&dir.join("timeseries.csv"))?;
    let mut series = BTreeMap::new();
    for c in &ts.columns {
        if OVERLAY.contains(&c.as_str()) || c.ends_with("_ready_pods") {
            series.insert(c.clone(), ts.column(c).unwrap_or_default());
        }
    }
    Ok(Entity {
        label: dir_label(dir),
        detail: String::new(),
        targets,
        pass,
        t: ts.column("t_s").unwrap_or_default(),
        series,
    })
}

fn load_sweep(dir: &Path) -> Result<Vec<Entity>> {
    let spec = Spec::read(dir)?;
    let rows = row::load_all(dir)?;
    let confidence = spec.plan.as_ref().map(|p| p.confidence).unwrap_or(LEVEL);
    let stats = aggregate(&rows);
    let mut out = Vec::new();
    for group in rows.chunk_by(|a, b| a.point == b.point) {
        let p = group[0].point;
        let st = stats.iter().find(|s| s.point == p).expect("aggregated");
        let mut targets: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        for r in group {
            for t in &r.targets {
                let e = targets.entry(t.name.clone()).or_default();
                if let Some(m) = t.measured {
                    e.push((r.replication, m));
                }
            }
        }
        let pass = st
            .p_pass
            .iter()
            .map(|(n, p)| (n.clone(), *p >= confidence))
            .collect();
        let b = bands(group);
        let mut t = Vec::new();
        let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for (ts, c, i) in &b {
            if c == "p95_ms" {
                t.push(*ts);
            }
            if OVERLAY.contains(&c.as_str()) || c.ends_with("_ready_pods") {
                series.entry(c.clone()).or_default().push(i.mean);
            }
        }
        let label = if spec.points.len() == 1 {
            dir_label(dir)
        } else {
            format!("{}#{}", dir_label(dir), p)
        };
        out.push(Entity {
            label,
            detail: spec.label(p),
            targets,
            pass,
            t,
            series,
        });
    }
    if out.is_empty() {
        return Err(Error::input(dir, "rows/", "the sweep has no finished runs"));
    }
    Ok(out)
}

/// `v` (sampled at `t`) at the times `x`: the value of the interval holding each time.
fn resample(t: &[f64], v: &[f64], x: &[f64]) -> Vec<f64> {
    x.iter()
        .map(|&xi| {
            let i = t.partition_point(|&ti| ti < xi - 1e-9);
            if i < t.len() && i < v.len() {
                v[i]
            } else {
                f64::NAN
            }
        })
        .collect()
}

fn fmt_side(v: &[(u64, f64)]) -> String {
    match v.len() {
        0 => "no data".into(),
        1 => html::num(v[0].1),
        _ => {
            let i = interval(v.iter().map(|x| x.1), LEVEL);
            format!("{} ± {}", html::num(i.mean), html::num(i.half_width))
        }
    }
}

fn fmt_delta(d: &Delta) -> String {
    match d.ci {
        Some((lo, hi)) => format!(
            "{:+} [{} – {}]{}",
            html::num(d.diff).parse::<f64>().unwrap_or(d.diff),
            html::num(lo),
            html::num(hi),
            if d.paired { " paired" } else { "" }
        ),
        None if d.diff.is_finite() => {
            format!("{:+}", html::num(d.diff).parse::<f64>().unwrap_or(d.diff))
        }
        None => "–".into(),
    }
}

fn verdict(p: Option<&bool>) -> &'static str {
    match p {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "–",
    }
}

/// What `surge compare` produced.
pub struct Compared {
    pub text: String,
    pub files: Vec<String>,
    pub out: PathBuf,
    pub entities: Vec<Entity>,
    /// (target, entity index ≥ 1, delta against entity 0, verdict changed)
    pub deltas: Vec<(String, usize, Delta, bool)>,
}

pub fn compare(dirs: &[PathBuf], out: &Path) -> Result<Compared> {
    if dirs.len() < 2 {
        return Err(Error::Usage(
            "surge compare: expected at least two run or sweep directories".into(),
        ));
    }
    let mut entities = Vec::new();
    for d in dirs {
        entities.extend(load(d)?);
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let names: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for e in &entities {
            for k in e.targets.keys() {
                if !v.contains(k) {
                    v.push(k.clone());
                }
            }
        }
        v
    };
    let base = &entities[0];
    let mut deltas = Vec::new();
    for n in &names {
        for (j, e) in entities.iter().enumerate().skip(1) {
            let (Some(a), Some(b)) = (base.targets.get(n), e.targets.get(n)) else {
                continue;
            };
            if a.is_empty() || b.is_empty() {
                continue;
            }
            let changed = base.pass.get(n) != e.pass.get(n);
            deltas.push((n.clone(), j, delta(a, b), changed));
        }
    }

    // Console table: one row per target and input, so any number of inputs stays narrow.
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let head: Vec<String> = vec![
        "target".into(),
        "input".into(),
        "measured".into(),
        "verdict".into(),
        format!("Δ vs {} [95 % CI]", base.label),
        "verdict change".into(),
    ];
    table.set_header(head.clone());
    let mut html_rows = Vec::new();
    for n in &names {
        for (j, e) in entities.iter().enumerate() {
            let Some(v) = e.targets.get(n) else { continue };
            let d = deltas.iter().find(|d| &d.0 == n && d.1 == j);
            let delta_text = match d {
                Some(d) => fmt_delta(&d.2),
                None if j == 0 => "(baseline)".into(),
                None => "–".into(),
            };
            let change = match d {
                Some(d) if d.3 => {
                    format!("{} → {}", verdict(base.pass.get(n)), verdict(e.pass.get(n)))
                }
                _ => String::new(),
            };
            let cells = vec![
                if j == 0 { n.clone() } else { String::new() },
                e.label.clone(),
                fmt_side(v),
                verdict(e.pass.get(n)).to_string(),
                delta_text,
                change.clone(),
            ];
            table.add_row(cells.clone());
            let pass = e.pass.get(n).copied().unwrap_or(true);
            html_rows.push(HRow {
                class: match (change.is_empty(), pass) {
                    (false, _) => "verdict changed fail",
                    (true, true) => "verdict pass",
                    (true, false) => "verdict fail",
                },
                cells: vec![
                    Cell::Text(n.clone()),
                    Cell::Text(e.label.clone()),
                    Cell::Num(cells[2].clone()),
                    Cell::Result(cells[3].clone()),
                    Cell::Num(cells[4].clone()),
                    Cell::Text(change),
                ],
            });
        }
    }
    for k in [2usize, 4] {
        if let Some(c) = table.column_mut(k) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let key: Vec<String> = entities
        .iter()
        .filter(|e| !e.detail.is_empty())
        .map(|e| format!("{} = {}", e.label, e.detail))
        .collect();
    let changed: Vec<String> = deltas
        .iter()
        .filter(|d| d.3)
        .map(|d| {
            format!(
                "{}: {} {} → {} {}",
                d.0,
                base.label,
                verdict(base.pass.get(&d.0)),
                entities[d.1].label,
                verdict(entities[d.1].pass.get(&d.0))
            )
        })
        .collect();
    let mut text = String::from("\n");
    for line in table.to_string().lines() {
        let _ = writeln!(text, "  {line}");
    }
    for k in &key {
        let _ = writeln!(text, "  {k}");
    }
    if changed.is_empty() {
        text.push_str("\n  no verdict changed\n");
    } else {
        let _ = writeln!(text, "\n  verdicts that changed:");
        for c in &changed {
            let _ = writeln!(text, "    {c}");
        }
    }

    // compare.csv: long format.
    let mut csv = String::from(
        "target,input,replications,mean,ci_lo,ci_hi,pass,delta_vs_first,delta_ci_lo,delta_ci_hi,paired,verdict_changed\n",
    );
    let q = |s: &str| format!("\"{}\"", s.replace('"', "'"));
    let f = |v: f64| {
        if v.is_finite() {
            format!("{v}")
        } else {
            String::new()
        }
    };
    for n in &names {
        for (j, e) in entities.iter().enumerate() {
            let Some(v) = e.targets.get(n) else { continue };
            let i = interval(v.iter().map(|x| x.1), LEVEL);
            let (lo, hi) = if i.half_width.is_finite() {
                (f(i.lo()), f(i.hi()))
            } else {
                (String::new(), String::new())
            };
            let d = deltas.iter().find(|d| &d.0 == n && d.1 == j);
            let (dd, dlo, dhi, paired, ch) = match d {
                Some(d) => (
                    f(d.2.diff),
                    d.2.ci.map(|c| f(c.0)).unwrap_or_default(),
                    d.2.ci.map(|c| f(c.1)).unwrap_or_default(),
                    d.2.paired.to_string(),
                    d.3.to_string(),
                ),
                None => Default::default(),
            };
            let _ = writeln!(
                csv,
                "{},{},{},{},{lo},{hi},{},{dd},{dlo},{dhi},{paired},{ch}",
                q(n),
                q(&e.label),
                v.len(),
                f(i.mean),
                e.pass.get(n).map(|b| b.to_string()).unwrap_or_default(),
            );
        }
    }
    write_atomic(&out.join("compare.csv"), csv.as_bytes())?;
    let mut files = vec!["compare.csv".to_string()];

    // Overlays on the grid of the longest input.
    let grid = entities
        .iter()
        .map(|e| &e.t)
        .max_by(|a, b| a.last().unwrap_or(&0.0).total_cmp(b.last().unwrap_or(&0.0)))
        .cloned()
        .unwrap_or_default();
    let overlay = |pick: &dyn Fn(&Entity) -> Lines| -> Lines {
        entities
            .iter()
            .flat_map(|e| {
                pick(e)
                    .into_iter()
                    .map(|(n, v)| (n, resample(&e.t, &v, &grid)))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let one = |col: &'static str| {
        move |e: &Entity| -> Vec<(String, Vec<f64>)> {
            e.series
                .get(col)
                .map(|v| vec![(e.label.clone(), v.clone())])
                .unwrap_or_default()
        }
    };
    let lat = overlay(&one("p95_ms"));
    let thr = overlay(&one("completions_per_s"));
    let err = overlay(&one("error_rate"));
    let reps = overlay(&|e: &Entity| {
        e.series
            .iter()
            .filter(|(k, _)| k.ends_with("_ready_pods"))
            .map(|(k, v)| {
                (
                    format!("{}: {}", e.label, k.trim_end_matches("_ready_pods")),
                    v.clone(),
                )
            })
            .collect()
    });
    let charts: Vec<Chart> = [
        ("p95 latency per interval", "ms", &lat),
        ("Throughput (completions)", "per second", &thr),
        ("Ready pods", "pods", &reps),
        ("Error rate", "fraction", &err),
    ]
    .into_iter()
    .map(|(title, y, cols)| Chart {
        title,
        x_label: "time (s)",
        y_label: y,
        x: &grid,
        series: cols.iter().map(|(n, v)| Series::new(n, v)).collect(),
        y2_label: None,
        series2: vec![],
        hlines: vec![],
    })
    .filter(|c| c.has_data())
    .collect();
    if !charts.is_empty() {
        let p = out.join("compare.png");
        plot::write_png(&p, &charts).map_err(|e| Error::io(&p, e))?;
        files.push("compare.png".into());
    }

    // compare.html
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Comparison</h1><p class=\"muted\">Inputs: {}. Deltas are against {}; intervals are 95 % (paired over common replications where both sides have them).</p>",
        html::esc(
            &dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        html::esc(&base.label)
    );
    if changed.is_empty() {
        b.push_str("<div class=\"banner pass\" id=\"verdict\">No verdict changed</div>");
    } else {
        let _ = write!(
            b,
            "<div class=\"banner fail\" id=\"verdict\">Verdicts that changed: {}</div>",
            html::esc(&changed.join("; "))
        );
    }
    b.push_str(&html::table("compare", &head, &html_rows));
    if !key.is_empty() {
        b.push_str("<ul class=\"muted\">");
        for k in &key {
            let _ = write!(b, "<li>{}</li>", html::esc(k));
        }
        b.push_str("</ul>");
    }
    if files.iter().any(|f| f == "compare.png") {
        b.push_str(&html::figure(out, "compare.png")?);
    }
    write_atomic(
        &out.join("compare.html"),
        html::page("surge compare", &b).as_bytes(),
    )?;
    files.push("compare.html".into());
    Ok(Compared {
        text,
        files,
        out: out.to_path_buf(),
        entities,
        deltas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_delta_uses_common_replications() {
        // b = a + 10 exactly: the paired interval is [10, 10] whatever a's spread.
        let a = [(0, 1.0), (1, 50.0), (2, 100.0)];
        let b = [(0, 11.0), (1, 60.0), (2, 110.0)];
        let d = delta(&a, &b);
        assert!(d.paired);
        assert!((d.diff - 10.0).abs() < 1e-12);
        assert_eq!(d.ci, Some((10.0, 10.0)));
    }

    #[test]
    fn welch_delta_when_not_paired() {
        let a = [(0, 1.0), (1, 3.0)];
        let b = [(5, 11.0), (6, 13.0), (7, 12.0)];
        let d = delta(&a, &b);
        assert!(!d.paired);
        // By hand: variances of the means 1 and 1/3, se = √(4/3); Welch–Satterthwaite
        // df = (4/3)² / (1/1 + (1/3)²/2) = 1.68 → 1; t(0.975, 1) = 12.7062047.
        let (lo, hi) = d.ci.unwrap();
        let h = 12.706_204_736_174_7 * (4.0f64 / 3.0).sqrt();
        assert!((d.diff - 10.0).abs() < 1e-12);
        assert!(
            (lo - (10.0 - h)).abs() < 1e-6 && (hi - (10.0 + h)).abs() < 1e-6,
            "{d:?}"
        );
        let single = delta(&[(0, 1.0)], &[(0, 2.0)]);
        assert_eq!(single.ci, None);
        assert_eq!(single.diff, 1.0);
    }

    #[test]
    fn resampling_holds_interval_values() {
        let t = [1.0, 2.0, 3.0];
        let v = [10.0, 20.0, 30.0];
        let r = resample(&t, &v, &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(&r[..3], &[10.0, 20.0, 30.0]);
        assert!(r[3].is_nan());
    }
}
