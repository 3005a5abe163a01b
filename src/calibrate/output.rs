//! A fit's uncertainty, its prediction curve, and the files it writes: calibration.json,
//! points.csv, prediction.png and calibrated.yaml (the overlay `run`, `sweep` and `plan` take).

use super::measured::{LoadKind, Point, Role};
use super::optimize::invert;
use super::{checks, fmt_num, Fit, Pred, Problem};
use crate::config::overrides;
use crate::error::{Error, Result};
use crate::report::write_atomic;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub fn bar(show: bool, len: u64) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{spinner} calibrating: {pos} evaluations {elapsed_precise}")
            .expect("template"),
    );
    pb
}

pub struct Uncertainty {
    pub std_err: Vec<Option<f64>>,
    pub corr: Vec<Vec<f64>>,
    pub bands: Vec<[(f64, f64); 2]>,
    pub loo: Vec<Option<(f64, f64)>>,
    pub warnings: Vec<String>,
}

/// Gauss–Newton step δ = −(JᵀJ)⁻¹Jᵀr over the rows in `rows`.
fn gn_step(j: &[Vec<f64>], r: &[f64], rows: &[usize], p: usize) -> Option<Vec<f64>> {
    let mut jtj = vec![vec![0.0; p]; p];
    let mut jtr = vec![0.0; p];
    for &i in rows {
        for a in 0..p {
            jtr[a] += j[i][a] * r[i];
            for b in 0..p {
                jtj[a][b] += j[i][a] * j[i][b];
            }
        }
    }
    let inv = invert(&jtj)?;
    Some(
        (0..p)
            .map(|a| -(0..p).map(|b| inv[a][b] * jtr[b]).sum::<f64>())
            .collect(),
    )
}

/// Standard errors from the Jacobian of the weighted log residuals (central differences under
/// common random numbers): Cov ≈ s²(JᵀJ)⁻¹ with s² = Σr²/(m−p); 90 % prediction bands from 200
/// bootstrap resamples of the fit points, each refitted by one linearised (Gauss–Newton) step;
/// and leave-one-out prediction errors by the same linearised refit.
pub fn uncertainty(problem: &Problem, theta: &[f64], fit: &[Point]) -> Result<Uncertainty> {
    let p = theta.len();
    let all = &problem.points;
    let base_fit = problem.predict(theta, fit)?;
    let base_all = problem.predict(theta, all)?;
    let r0 = problem.residuals(&base_fit, fit);
    // Residual rows belonging to each fit point.
    let mut rows_of = Vec::new();
    let mut at = 0;
    for (pt, pr) in fit.iter().zip(&base_fit) {
        let n = problem
            .residuals(std::slice::from_ref(pr), std::slice::from_ref(pt))
            .len();
        rows_of.push((at..at + n).collect::<Vec<usize>>());
        at += n;
    }
    let m = r0.len();
    let mut jr = vec![vec![0.0; p]; m];
    let mut jx = vec![vec![0.0; p]; all.len()];
    let mut jrr = vec![vec![0.0; p]; all.len()];
    for k in 0..p {
        let fp = &problem.params[k];
        let h = 0.05 * theta[k].abs().max(0.05 * (fp.hi - fp.lo));
        let (lo, hi) = if matches!(fp.form, super::params::Form::Count) {
            // A whole-number field moves in whole steps (at least one each way), and the
            // difference is taken over the values actually simulated.
            let c = theta[k].round();
            (
                (theta[k] - h).round().min(c - 1.0).max(fp.lo.ceil()),
                (theta[k] + h).round().max(c + 1.0).min(fp.hi.floor()),
            )
        } else {
            ((theta[k] - h).max(fp.lo), (theta[k] + h).min(fp.hi))
        };
        let mut tl = theta.to_vec();
        let mut th = theta.to_vec();
        tl[k] = lo;
        th[k] = hi;
        let dh = hi - lo;
        if dh <= 0.0 {
            continue;
        }
        let (fl, fh) = (problem.predict(&tl, fit)?, problem.predict(&th, fit)?);
        let (rl, rh) = (problem.residuals(&fl, fit), problem.residuals(&fh, fit));
        for i in 0..m {
            jr[i][k] = (rh[i] - rl[i]) / dh;
        }
        let (al, ah) = (problem.predict(&tl, all)?, problem.predict(&th, all)?);
        for i in 0..all.len() {
            jx[i][k] = (ah[i].x.ln() - al[i].x.ln()) / dh;
            jrr[i][k] = (ah[i].r.ln() - al[i].r.ln()) / dh;
        }
    }
    let mut warnings = Vec::new();
    let mut jtj = vec![vec![0.0; p]; p];
    for row in &jr {
        for a in 0..p {
            for b in 0..p {
                jtj[a][b] += row[a] * row[b];
            }
        }
    }
    let s2 = if m > p {
        r0.iter().map(|r| r * r).sum::<f64>() / (m - p) as f64
    } else {
        f64::NAN
    };
    let (std_err, corr) = match invert(&jtj) {
        Some(inv) if s2.is_finite() => {
            let se: Vec<Option<f64>> = (0..p)
                .map(|a| Some((s2 * inv[a][a]).max(0.0).sqrt()))
                .collect();
            let corr: Vec<Vec<f64>> = (0..p)
                .map(|a| {
                    (0..p)
                        .map(|b| inv[a][b] / (inv[a][a] * inv[b][b]).sqrt().max(1e-300))
                        .collect()
                })
                .collect();
            (se, corr)
        }
        _ => {
            warnings.push(
                "the parameters are not identifiable from these points (JᵀJ is singular or there are \
                 no more residuals than parameters): no standard errors"
                    .to_string(),
            );
            (vec![None; p], vec![vec![f64::NAN; p]; p])
        }
    };
    for (a, row) in corr.iter().enumerate() {
        for (b, c) in row.iter().enumerate().skip(a + 1) {
            if c.abs() > 0.95 {
                warnings.push(format!(
                    "{} and {} are strongly correlated (r = {:.3}): the data pins a combination of \
                     them, not each; add points that move them apart (e.g. beyond the peak)",
                    problem.params[a].path, problem.params[b].path, c
                ));
            }
        }
    }
    // Linearised refits: bootstrap bands and leave-one-out.
    let clamp = |d: &[f64]| -> Vec<f64> {
        (0..p)
            .map(|k| {
                let fp = &problem.params[k];
                (theta[k] + d[k]).clamp(fp.lo, fp.hi) - theta[k]
            })
            .collect()
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut rng = crate::engine::stream(problem.seed, 0, "calibrate:bootstrap");
    let mut samples: Vec<Vec<[f64; 2]>> = vec![Vec::new(); all.len()];
    for _ in 0..200 {
        let mut rows = Vec::new();
        for _ in 0..fit.len() {
            rows.extend(rows_of[rng.gen_range(0..fit.len())].iter().copied());
        }
        if let Some(d) = gn_step(&jr, &r0, &rows, p) {
            let d = clamp(&d);
            for i in 0..all.len() {
                samples[i].push([
                    base_all[i].x * dot(&jx[i], &d).exp(),
                    base_all[i].r * dot(&jrr[i], &d).exp(),
                ]);
            }
        }
    }
    let pct = |v: &mut Vec<f64>, q: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    let bands = samples
        .iter()
        .map(|s| {
            let mut x: Vec<f64> = s.iter().map(|v| v[0]).collect();
            let mut r: Vec<f64> = s.iter().map(|v| v[1]).collect();
            [
                (pct(&mut x, 0.05), pct(&mut x, 0.95)),
                (pct(&mut r, 0.05), pct(&mut r, 0.95)),
            ]
        })
        .collect();
    let loo = all
        .iter()
        .enumerate()
        .map(|(i, pt)| {
            let j = fit
                .iter()
                .position(|f| std::ptr::eq(f, pt) || same(f, pt))?;
            let rows: Vec<usize> = (0..fit.len())
                .filter(|&k| k != j)
                .flat_map(|k| rows_of[k].iter().copied())
                .collect();
            let d = clamp(&gn_step(&jr, &r0, &rows, p)?);
            let x = base_all[i].x * dot(&jx[i], &d).exp();
            let r = base_all[i].r * dot(&jrr[i], &d).exp();
            Some((x / pt.throughput - 1.0, r / pt.lat_mean - 1.0))
        })
        .collect();
    warnings.extend(checks::after_fit(problem, theta));
    Ok(Uncertainty {
        std_err,
        corr,
        bands,
        loo,
        warnings,
    })
}

fn same(a: &Point, b: &Point) -> bool {
    a.load == b.load && a.kind == b.kind && a.source == b.source && a.throughput == b.throughput
}

/// Predictions on a grid of loads from the lowest measured to four times the highest.
pub fn curve(problem: &Problem, theta: &[f64]) -> Result<Vec<(Point, Pred)>> {
    let kind = if problem.points.iter().any(|p| p.kind == LoadKind::Closed) {
        LoadKind::Closed
    } else {
        LoadKind::Open
    };
    let loads: Vec<f64> = problem
        .points
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.load)
        .collect();
    let (lo, hi) = (
        loads.iter().cloned().fold(f64::INFINITY, f64::min),
        4.0 * loads.iter().cloned().fold(0.0, f64::max),
    );
    let n = 14;
    let mut grid: Vec<f64> = (0..n)
        .map(|i| (lo.ln() + (hi.ln() - lo.ln()) * i as f64 / (n - 1) as f64).exp())
        .map(|v| {
            if kind == LoadKind::Closed {
                v.round().max(1.0)
            } else {
                v
            }
        })
        .collect();
    grid.dedup();
    let template = problem
        .points
        .iter()
        .find(|p| p.kind == kind)
        .expect("a point of this kind");
    let pts: Vec<Point> = grid
        .iter()
        .map(|&l| Point {
            load: l,
            util: Vec::new(),
            cpu_s: Vec::new(),
            ..template.clone()
        })
        .collect();
    let preds = problem.predict(theta, &pts)?;
    Ok(pts.into_iter().zip(preds).collect())
}

fn rel(a: f64, b: f64) -> f64 {
    a / b - 1.0
}

/// Write every output; returns the file names and the console text.
pub fn write(problem: &Problem, fit: &Fit, out: &Path) -> Result<(Vec<String>, String)> {
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Usage(format!("cannot create {}: {e}", out.display())))?;
    let mut files = Vec::new();
    let params: Vec<Value> = problem
        .params
        .iter()
        .zip(&fit.theta)
        .zip(&fit.std_err)
        .map(|((p, v), se)| {
            json!({
                "path": p.path,
                "value": v,
                "std_err": se,
                "rel_std_err": se.map(|s| s / v.abs().max(1e-300)),
                "set": p.render(*v).into_iter().collect::<serde_json::Map<String, Value>>(),
                "describe": p.describe(*v),
                "initial": p.initial,
                "range": [p.lo, p.hi],
                "at_bound": p.at_bound(*v),
            })
        })
        .collect();
    let point_json: Vec<Value> = problem
        .points
        .iter()
        .zip(&fit.preds)
        .enumerate()
        .map(|(i, (pt, pr))| {
            json!({
                "source": pt.source,
                "kind": pt.kind.name(),
                "load": pt.load,
                "role": if pt.role == Role::Fit { "fit" } else { "holdout" },
                "measured": {"throughput": pt.throughput, "lat_mean_s": pt.lat_mean, "lat_p95_s": pt.lat_p95,
                             "util": pt.util, "cpu_s": pt.cpu_s},
                "predicted": {"throughput": pr.x, "throughput_ci95": pr.x_half, "lat_mean_s": pr.r,
                              "lat_mean_ci95": pr.r_half, "lat_p95_s": pr.p95, "error_rate": pr.error_rate,
                              "util": pr.util, "cpu_s": pr.cpu_s,
                              "throughput_band90": [fit.bands[i][0].0, fit.bands[i][0].1],
                              "lat_mean_band90": [fit.bands[i][1].0, fit.bands[i][1].1]},
                "error": {"throughput": rel(pr.x, pt.throughput), "lat_mean": rel(pr.r, pt.lat_mean),
                          "lat_p95": pt.lat_p95.map(|m| rel(pr.p95, m))},
                "leave_one_out_error": fit.loo[i].map(|(x, r)| json!({"throughput": x, "lat_mean": r})),
            })
        })
        .collect();
    let hold: Vec<(f64, f64)> = problem
        .points
        .iter()
        .zip(&fit.preds)
        .filter(|(p, _)| p.role == Role::Holdout)
        .map(|(p, q)| (rel(q.x, p.throughput), rel(q.r, p.lat_mean)))
        .collect();
    let mae = |f: &dyn Fn(&(f64, f64)) -> f64| -> Option<f64> {
        (!hold.is_empty()).then(|| hold.iter().map(|h| f(h).abs()).sum::<f64>() / hold.len() as f64)
    };
    let holdout = json!({
        "points": hold.len(),
        "mean_abs_error_throughput": mae(&|h| h.0),
        "mean_abs_error_lat_mean": mae(&|h| h.1),
        "max_abs_error_throughput": hold.iter().map(|h| h.0.abs()).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v)))),
        "max_abs_error_lat_mean": hold.iter().map(|h| h.1.abs()).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v)))),
    });
    let overlay = out.join("calibrated.yaml");
    let doc = json!({
        "scenario": problem.base.scenario_path,
        "model": problem.base.model_path,
        "seed": problem.seed,
        "replications": problem.replications,
        "weights": {"x": problem.weights.x, "r": problem.weights.r, "p95": problem.weights.p95,
                    "util": problem.weights.util, "cpu": problem.weights.cpu},
        "parameters": params,
        "correlation": fit.corr,
        "loss": fit.loss,
        "evaluations": fit.evals,
        "seconds": fit.seconds,
        "points": point_json,
        "holdout": holdout,
        "curve": fit.curve.iter().map(|(p, q)| json!({"load": p.load, "throughput": q.x, "lat_mean_s": q.r, "lat_p95_s": q.p95})).collect::<Vec<_>>(),
        "warnings": fit.warnings,
        "analytic_first_guess": fit.surrogate.as_ref().map(|(t, fs, fsim)| json!({
            "values": t, "product_form_loss": fs, "simulator_loss_there": fsim,
        })),
        "overlay": overlay,
    });
    let text =
        serde_json::to_string_pretty(&doc).map_err(|e| Error::Usage(format!("internal: {e}")))?;
    write_atomic(&out.join("calibration.json"), text.as_bytes())?;
    files.push("calibration.json".to_string());

    let mut csv = String::from(
        "kind,load,role,throughput,pred_throughput,err_throughput,lat_mean_ms,pred_lat_mean_ms,err_lat_mean,lat_p95_ms,pred_lat_p95_ms\n",
    );
    for (pt, pr) in problem.points.iter().zip(&fit.preds) {
        csv.push_str(&format!(
            "{},{},{},{},{},{:.5},{},{},{:.5},{},{}\n",
            pt.kind.name(),
            pt.load,
            if pt.role == Role::Fit {
                "fit"
            } else {
                "holdout"
            },
            pt.throughput,
            pr.x,
            rel(pr.x, pt.throughput),
            pt.lat_mean * 1e3,
            pr.r * 1e3,
            rel(pr.r, pt.lat_mean),
            pt.lat_p95
                .map(|v| (v * 1e3).to_string())
                .unwrap_or_default(),
            pr.p95 * 1e3
        ));
    }
    write_atomic(&out.join("points.csv"), csv.as_bytes())?;
    files.push("points.csv".to_string());

    super::chart::draw(
        &out.join("prediction.png"),
        &problem
            .points
            .iter()
            .map(|p| {
                (
                    p.load,
                    p.throughput,
                    p.lat_mean * 1e3,
                    p.role == Role::Holdout,
                )
            })
            .collect::<Vec<_>>(),
        &fit.curve
            .iter()
            .map(|(p, q)| (p.load, q.x, q.r * 1e3))
            .collect::<Vec<_>>(),
        if problem.points.iter().any(|p| p.kind == LoadKind::Closed) {
            "virtual users"
        } else {
            "arrivals per second"
        },
    )
    .map_err(Error::Usage)?;
    files.push("prediction.png".to_string());

    write_overlay(problem, fit, &overlay)?;
    files.push("calibrated.yaml".to_string());
    Ok((files, console(problem, fit, &hold)))
}

/// A path from directory `from` to `to`, relative when both resolve.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let (Ok(a), Ok(b)) = (from.canonicalize(), to.canonicalize()) else {
        return to.to_path_buf();
    };
    let ac: Vec<_> = a.components().collect();
    let bc: Vec<_> = b.components().collect();
    let common = ac.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    let mut p = PathBuf::new();
    for _ in common..ac.len() {
        p.push("..");
    }
    for c in &bc[common..] {
        p.push(c.as_os_str());
    }
    p
}

/// The scenario as written, its `model:` re-pointed from the output folder, with the fitted
/// values as `model_overrides` (scenario fields are set in place).
fn write_overlay(problem: &Problem, fit: &Fit, path: &Path) -> Result<()> {
    let src = &problem.base.scenario_path;
    let text = crate::config::read_text(src)?;
    let mut img: Value = crate::config::parse_yaml(src, &text)?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let model = relative(dir, &problem.base.model_path);
    img["model"] = Value::String(model.to_string_lossy().into_owned());
    if !img.get("model_overrides").is_some_and(Value::is_object) {
        img["model_overrides"] = json!({});
    }
    let s_img = serde_json::to_value(&problem.base.scenario)
        .map_err(|e| Error::Usage(format!("internal: {e}")))?;
    // Fixed model overrides given with --set are part of the calibrated model; scenario ones
    // (a shorter duration for fitting, say) are not carried.
    let m_img = serde_json::Value::Object(Default::default());
    for set in &problem.sets {
        if let Some((path, raw)) = set.split_once('=') {
            let full = overrides::canonical(&s_img, &m_img, path.trim())
                .unwrap_or(path.trim().to_string());
            if !overrides::in_scenario(&s_img, &full) {
                let v: Value = serde_saphyr::from_str(raw.trim())
                    .unwrap_or(Value::String(raw.trim().to_string()));
                img["model_overrides"][full.as_str()] = v;
            }
        }
    }
    for (p, v) in problem.params.iter().zip(&fit.theta) {
        for (path, val) in p.render(*v) {
            if overrides::in_scenario(&s_img, &path) {
                overrides::set_value(&mut img, &path, val).map_err(Error::Usage)?;
            } else {
                img["model_overrides"][path.as_str()] = val;
            }
        }
    }
    if let Some(n) = img
        .get("name")
        .and_then(Value::as_str)
        .map(|n| format!("{n}-calibrated"))
    {
        img["name"] = Value::String(n);
    }
    let mut yaml =
        String::from("# Written by `surge calibrate`: the scenario with its fitted values.\n");
    yaml.push_str(
        &serde_saphyr::to_string(&img).map_err(|e| Error::Usage(format!("internal: {e}")))?,
    );
    write_atomic(path, yaml.as_bytes())
}

fn console(problem: &Problem, fit: &Fit, hold: &[(f64, f64)]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "\n  calibrated {} parameter(s) on {} fit point(s), {} hold-out; {} evaluations in {:.1} s, loss {:.5}\n\n",
        problem.params.len(),
        problem.points.iter().filter(|p| p.role == Role::Fit).count(),
        hold.len(),
        fit.evals,
        fit.seconds,
        fit.loss
    ));
    s.push_str(&format!(
        "  {:<58} {:>14} {:>12}\n",
        "PARAMETER", "VALUE", "STD ERR"
    ));
    for ((p, v), se) in problem.params.iter().zip(&fit.theta).zip(&fit.std_err) {
        let val = p.describe(*v);
        let se = se
            .map(|e| format!("±{}", fmt_num(e)))
            .unwrap_or_else(|| "n/a".into());
        s.push_str(&format!("  {:<58} {:>14} {:>12}\n", p.path, val, se));
    }
    s.push_str(&format!(
        "\n  {:>8} {:<8} {:>11} {:>11} {:>8} {:>10} {:>10} {:>8}\n",
        "LOAD", "ROLE", "X meas", "X pred", "err", "R meas ms", "R pred ms", "err"
    ));
    for (pt, pr) in problem.points.iter().zip(&fit.preds) {
        s.push_str(&format!(
            "  {:>8} {:<8} {:>11.2} {:>11.2} {:>+7.1}% {:>10.3} {:>10.3} {:>+7.1}%\n",
            fmt_num(pt.load),
            if pt.role == Role::Fit {
                "fit"
            } else {
                "holdout"
            },
            pt.throughput,
            pr.x,
            100.0 * rel(pr.x, pt.throughput),
            pt.lat_mean * 1e3,
            pr.r * 1e3,
            100.0 * rel(pr.r, pt.lat_mean)
        ));
    }
    if let Some((t, fs, fsim)) = &fit.surrogate {
        s.push_str(&format!(
            "\n  analytic first guess (product form): {}; its loss {:.5}, the simulator's there {:.5}\n",
            problem
                .params
                .iter()
                .zip(t)
                .map(|(p, v)| format!("{} = {}", p.path, p.describe(*v)))
                .collect::<Vec<_>>()
                .join(", "),
            fs,
            fsim
        ));
    }
    if !hold.is_empty() {
        let n = hold.len() as f64;
        s.push_str(&format!(
            "\n  hold-out prediction error: throughput {:.1} % mean |err|, mean latency {:.1} % mean |err|\n",
            100.0 * hold.iter().map(|h| h.0.abs()).sum::<f64>() / n,
            100.0 * hold.iter().map(|h| h.1.abs()).sum::<f64>() / n
        ));
    }
    for w in &fit.warnings {
        s.push_str(&format!("\n  warning: {w}\n"));
    }
    s
}
