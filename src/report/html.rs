//! `report.html`: one self-contained page a what-if review can read. No network: the style is
//! inline, the plots are the directory's PNGs embedded as `data:` URIs, small charts are inline
//! SVG, and every text that came from a file is HTML-escaped.
//!
//! The page is built from the files in an output directory only, so `surge report DIR` gives
//! the same page as the one `run`, `sweep` and `plan` write.

use super::readback;
use crate::error::{Error, Result};
use crate::metrics::TimeSeries;
use crate::sweep::points::{aggregate, PointStats};
use crate::sweep::{plots, row, spec::Spec, stats};
use base64::Engine as _;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

pub const FILE: &str = "report.html";

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// A number with about 4 significant digits; "–" for no data.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else {
        let d = (3 - a.log10().floor() as i32).clamp(0, 4) as usize;
        let s = format!("{v:.d$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn jnum(v: &Value) -> String {
    match v {
        Value::Number(n) => num(n.as_f64().unwrap_or(f64::NAN)),
        Value::Null => "–".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1250px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}\
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.scroll{overflow-x:auto}\
tr.pass td.r{color:#0a6e2c;font-weight:600}tr.fail td.r{color:#b3121b;font-weight:700}tr.fail{background:#fff3f2}\
.banner{padding:.6em 1em;border-radius:4px;font-weight:700;font-size:1.15em;margin:1em 0}\
.banner.pass{background:#e3f5e8;color:#0a6e2c}.banner.fail{background:#fde6e4;color:#b3121b}\
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em}figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}\
figcaption{color:#555;font-size:.9em}ul.narrative li{margin:.3em 0}.muted{color:#666}";

/// A whole page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

/// One table row: its CSS class and cells (plain text, escaped here; numbers right-aligned).
pub struct Row {
    pub class: &'static str,
    pub cells: Vec<Cell>,
}

pub enum Cell {
    Text(String),
    Num(String),
    /// The pass/fail result cell.
    Result(String),
}

pub fn table(id: &str, head: &[String], rows: &[Row]) -> String {
    let mut o = format!(
        "<div class=\"scroll\"><table id=\"{}\"><thead><tr>",
        esc(id)
    );
    for h in head {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>\n");
    for r in rows {
        if r.class.is_empty() {
            o.push_str("<tr>");
        } else {
            let _ = write!(o, "<tr class=\"{}\">", r.class);
        }
        for c in &r.cells {
            match c {
                Cell::Text(t) => {
                    let _ = write!(o, "<td>{}</td>", esc(t));
                }
                Cell::Num(t) => {
                    let _ = write!(o, "<td class=\"n\">{}</td>", esc(t));
                }
                Cell::Result(t) => {
                    let _ = write!(o, "<td class=\"r\">{}</td>", esc(t));
                }
            }
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table></div>\n");
    o
}

/// A PNG of `dir` embedded as a figure.
pub fn figure(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    // Bounded, and a FIFO or a directory named *.png is refused rather than waited on.
    let bytes = crate::config::read_bytes(&path, "a PNG figure written by surge")?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(format!(
        "<figure><img alt=\"{n}\" src=\"data:image/png;base64,{b64}\"><figcaption>{n}</figcaption></figure>\n",
        n = esc(name)
    ))
}

/// The PNGs of `dir`, those named in `first` first (in that order), then the rest by name.
pub fn pngs(dir: &Path, first: &[&str]) -> Result<Vec<String>> {
    let mut all: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png") && !n.starts_with('.'))
        .collect();
    all.sort();
    let rank = |n: &str| {
        first
            .iter()
            .position(|f| n.starts_with(f))
            .unwrap_or(first.len())
    };
    all.sort_by_key(|n| rank(n));
    Ok(all)
}

/// What kind of output directory `dir` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Run,
    Sweep,
    Plan,
}

pub fn kind(dir: &Path) -> Result<Kind> {
    if dir.join("plan.json").is_file() && dir.join("sweep.json").is_file() {
        Ok(Kind::Plan)
    } else if dir.join("sweep.json").is_file() {
        Ok(Kind::Sweep)
    } else if dir.join("summary.json").is_file() {
        Ok(Kind::Run)
    } else {
        Err(Error::input(
            dir,
            "",
            "expected the output directory of `surge run` (with summary.json) or of \
             `surge sweep`/`plan` (with sweep.json)",
        ))
    }
}

/// Render `dir`'s report and write it as `dir/report.html`.
pub fn write(dir: &Path) -> Result<String> {
    let html = render(dir)?;
    super::write_atomic(&dir.join(FILE), html.as_bytes())?;
    Ok(FILE.to_string())
}

pub fn render(dir: &Path) -> Result<String> {
    match kind(dir)? {
        Kind::Run => render_run(dir),
        Kind::Sweep | Kind::Plan => render_sweep(dir),
    }
}

fn verdict_rows(s: &Value) -> Vec<Row> {
    s["surge"]["verdict"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|v| {
            let pass = v["pass"].as_bool().unwrap_or(false);
            // An ensure condition shows the metrics it read, as text.
            let measured = if let Some(shown) = v["shown"].as_str() {
                Cell::Text(shown.to_string())
            } else if v["no_data"].as_bool().unwrap_or(false) {
                Cell::Num("no data".to_string())
            } else {
                Cell::Num(jnum(&v["measured"]))
            };
            Row {
                class: if pass { "verdict pass" } else { "verdict fail" },
                cells: vec![
                    Cell::Text(v["target"].as_str().unwrap_or("").into()),
                    Cell::Text(v["expr"].as_str().unwrap_or("").into()),
                    measured,
                    Cell::Result(if pass { "PASS" } else { "FAIL" }.into()),
                ],
            }
        })
        .collect()
}

/// `surge.conditions`: each check's console line, value and the metrics it read (`absent`:
/// not in Artillery's report, which filtrex reads as undefined).
fn condition_rows(s: &Value) -> Vec<Row> {
    s["surge"]["conditions"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|c| {
            let ok = c["ok"].as_bool().unwrap_or(false);
            let strict = c["strict"].as_bool().unwrap_or(true);
            let metrics = c["metrics"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let v = if v.is_null() {
                                "absent".into()
                            } else {
                                jnum(v)
                            };
                            format!("{k} = {v}")
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let result = match (ok, strict) {
                (true, _) => "PASS",
                (false, true) => "FAIL",
                (false, false) => "FAIL (optional)",
            };
            Row {
                class: if ok || !strict {
                    "verdict pass"
                } else {
                    "verdict fail"
                },
                cells: vec![
                    Cell::Text(c["line"].as_str().unwrap_or("").into()),
                    Cell::Num(c["result"].as_str().unwrap_or("").into()),
                    Cell::Text(metrics),
                    Cell::Result(result.into()),
                ],
            }
        })
        .collect()
}

fn dots(name: &str) -> String {
    format!(
        "{name}{}:",
        ".".repeat(36usize.saturating_sub(name.len()).max(3))
    )
}

fn fmt_ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2}s", v / 1000.0)
    } else if v >= 1.0 {
        format!("{v:.2}ms")
    } else {
        format!("{:.2}µs", v * 1000.0)
    }
}

/// k6's end-of-test summary layout, from `summary.json`'s `metrics`.
pub fn k6_summary(s: &Value) -> String {
    let mut o = String::new();
    let Some(m) = s["metrics"].as_object() else {
        return o;
    };
    for (name, e) in m {
        let v = &e["values"];
        let line = match e["type"].as_str().unwrap_or("") {
            "trend" => {
                let time = e["contains"] == "time";
                v.as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, x)| {
                                let x = x.as_f64().unwrap_or(f64::NAN);
                                format!("{k}={}", if time { fmt_ms(x) } else { num(x) })
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default()
            }
            "counter" => format!(
                "{}  {}/s",
                jnum(&v["count"]),
                num(v["rate"].as_f64().unwrap_or(0.0))
            ),
            "rate" => format!(
                "{:.2}%  ✓ {}  ✗ {}",
                100.0 * v["rate"].as_f64().unwrap_or(0.0),
                jnum(&v["passes"]),
                jnum(&v["fails"])
            ),
            "gauge" => format!(
                "{}  min={}  max={}",
                jnum(&v["value"]),
                jnum(&v["min"]),
                jnum(&v["max"])
            ),
            _ => v.to_string(),
        };
        let mark = match e["thresholds"].as_object() {
            Some(t) if t.values().all(|x| x["ok"].as_bool() == Some(true)) => "✓ ",
            Some(_) => "✗ ",
            None => "  ",
        };
        let _ = writeln!(o, "{mark}{} {line}", dots(name));
    }
    o
}

/// Seconds each interval of a time series covers.
fn interval_lengths(t: &[f64]) -> Vec<f64> {
    t.iter()
        .enumerate()
        .map(|(i, &x)| if i == 0 { x } else { x - t[i - 1] })
        .collect()
}

/// Resource name of a utilization column.
fn resource(col: &str) -> String {
    col.trim_end_matches("_util")
        .trim_end_matches("_cpu")
        .to_string()
}

/// The bottleneck story of a run, computed from its time series: which resource crossed 80 %
/// first and when, what saturated next, where requests waited, when latency broke its target,
/// and the errors by cause over time. Plain sentences (escape before use in HTML).
pub fn narrative(ts: &TimeSeries, p95_target: Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(t) = ts.column("t_s") else {
        return out;
    };
    let dt = interval_lengths(&t);
    let first = |v: &[f64], f: &dyn Fn(f64) -> bool| v.iter().position(|&x| x.is_finite() && f(x));
    let peak = |v: &[f64]| -> Option<(f64, usize)> {
        v.iter()
            .enumerate()
            .filter(|(_, x)| x.is_finite())
            .map(|(i, &x)| (x, i))
            .reduce(|a, b| if b.0 > a.0 { b } else { a })
    };
    // Utilization.
    let mut util: Vec<(String, Option<usize>, Option<usize>, f64)> = ts
        .columns
        .iter()
        .filter(|c| c.ends_with("_util") && !c.ends_with("_mem_util"))
        .filter_map(|c| {
            let v = ts.column(c)?;
            let (p, _) = peak(&v)?;
            Some((
                resource(c),
                first(&v, &|x| x >= 0.8),
                first(&v, &|x| x >= 0.95),
                p,
            ))
        })
        .collect();
    util.sort_by(|a, b| {
        a.1.unwrap_or(usize::MAX)
            .cmp(&b.1.unwrap_or(usize::MAX))
            .then(b.3.total_cmp(&a.3))
    });
    let crossed: Vec<_> = util.iter().filter(|u| u.1.is_some()).collect();
    let mut first80: Option<f64> = None;
    match crossed.first() {
        Some((name, Some(i), _, p)) => {
            first80 = Some(t[*i]);
            out.push(format!(
                "{name} was the first resource to cross 80 % utilization, at t = {} s (peak {:.0} %).",
                num(t[*i]),
                100.0 * p
            ));
            if crossed.len() > 1 {
                let rest: Vec<String> = crossed[1..]
                    .iter()
                    .map(|(n, i, _, p)| {
                        format!(
                            "{n} at t = {} s (peak {:.0} %)",
                            num(t[i.unwrap_or(0)]),
                            100.0 * p
                        )
                    })
                    .collect();
                out.push(format!("Then: {}.", rest.join("; ")));
            }
        }
        _ => {
            if let Some((name, _, _, p)) = util.iter().max_by(|a, b| a.3.total_cmp(&b.3)) {
                out.push(format!(
                    "No resource crossed 80 % utilization in any interval; the busiest was {name} at {:.0} %.",
                    100.0 * p
                ));
            }
        }
    }
    let mut sat: Vec<_> = util
        .iter()
        .filter_map(|u| Some((u.0.clone(), u.2?)))
        .collect();
    sat.sort_by_key(|s| s.1);
    if !sat.is_empty() {
        let list: Vec<String> = sat
            .iter()
            .map(|(n, i)| format!("{n} from t = {} s", num(t[*i])))
            .collect();
        out.push(format!(
            "Saturated (95 % or more of capacity busy): {}.",
            list.join(", ")
        ));
    }
    // Waiting and refusals.
    let watched = [
        ("_pool_waiting", "requests waiting for a connection"),
        ("_queue_len", "jobs queued"),
        ("_refused_per_s", "connections refused per second"),
        ("_429_per_s", "429 responses per second"),
        ("_pool_timeouts_per_s", "pool acquire timeouts per second"),
        ("pods_pending", "pods pending for a node"),
    ];
    for c in &ts.columns {
        let Some((_, what)) = watched.iter().find(|(w, _)| c.ends_with(w)) else {
            continue;
        };
        let Some(v) = ts.column(c) else { continue };
        if let (Some(i), Some((p, pi))) = (first(&v, &|x| x > 0.0), peak(&v)) {
            out.push(format!(
                "{c}: {what} from t = {} s, peaking at {} at t = {} s.",
                num(t[i]),
                num(p),
                num(t[pi])
            ));
        }
    }
    // Latency against the p95 target.
    if let (Some(target), Some(p95)) = (p95_target, ts.column("p95_ms")) {
        match first(&p95, &|x| x > target) {
            Some(i) => {
                let lead = first80
                    .map(|f| {
                        format!(
                            ", {} s after the first resource crossed 80 %",
                            num(t[i] - f)
                        )
                    })
                    .unwrap_or_default();
                let bad: f64 = p95
                    .iter()
                    .zip(&dt)
                    .filter(|(x, _)| x.is_finite() && **x > target)
                    .map(|(_, d)| d)
                    .sum();
                out.push(format!(
                    "p95 latency first exceeded its {} ms target at t = {} s{lead}; it was above it for {} s in all.",
                    num(target),
                    num(t[i]),
                    num(bad)
                ));
            }
            None => out.push(format!(
                "p95 latency stayed within its {} ms target in every interval.",
                num(target)
            )),
        }
    }
    // Errors by cause over time.
    let causes = error_causes(ts);
    if causes.is_empty() {
        out.push("No request failed.".into());
    }
    for c in &causes {
        out.push(format!(
            "{} errors: {} in all, from t = {} s, peaking at {}/s at t = {} s.",
            c.cause,
            num(c.total.round()),
            num(c.first_s),
            num(c.peak_per_s),
            num(c.peak_s)
        ));
    }
    out
}

/// One error cause's history in a run.
pub struct CauseHistory {
    pub cause: String,
    pub total: f64,
    pub first_s: f64,
    pub peak_per_s: f64,
    pub peak_s: f64,
    /// (window end in s, errors in the window)
    pub windows: Vec<(f64, f64)>,
}

/// Errors per cause from the `errors_<cause>_per_s` columns, in up to 8 equal time windows.
pub fn error_causes(ts: &TimeSeries) -> Vec<CauseHistory> {
    let Some(t) = ts.column("t_s") else {
        return Vec::new();
    };
    let dt = interval_lengths(&t);
    let end = t.last().copied().unwrap_or(0.0);
    let nw = 8usize.min(t.len()).max(1);
    let mut out = Vec::new();
    for c in &ts.columns {
        let Some(cause) = c
            .strip_prefix("errors_")
            .and_then(|x| x.strip_suffix("_per_s"))
        else {
            continue;
        };
        let Some(v) = ts.column(c) else { continue };
        let counts: Vec<f64> = v
            .iter()
            .zip(&dt)
            .map(|(r, d)| if r.is_finite() { r * d } else { 0.0 })
            .collect();
        let total: f64 = counts.iter().sum();
        if total <= 0.0 {
            continue;
        }
        let fi = counts.iter().position(|&n| n > 0.0).unwrap_or(0);
        let (pi, pv) = v.iter().enumerate().filter(|(_, x)| x.is_finite()).fold(
            (0, f64::NEG_INFINITY),
            |a, (i, &x)| if x > a.1 { (i, x) } else { a },
        );
        let mut windows = vec![(0.0, 0.0); nw];
        for (k, w) in windows.iter_mut().enumerate() {
            w.0 = end * (k + 1) as f64 / nw as f64;
        }
        for (i, n) in counts.iter().enumerate() {
            let k = if end > 0.0 {
                (((t[i] - 1e-9) / end * nw as f64).floor() as usize).min(nw - 1)
            } else {
                0
            };
            windows[k].1 += n;
        }
        out.push(CauseHistory {
            cause: cause.to_string(),
            total,
            first_s: t[fi],
            peak_per_s: pv,
            peak_s: t[pi],
            windows,
        });
    }
    out
}

/// An inline SVG of each endpoint target: the measured value as a bar, the limit as a line.
fn endpoint_targets_svg(rows: &[(String, f64, f64, bool)]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let (w, lh, left) = (760.0, 26.0, 330.0);
    let h = lh * rows.len() as f64 + 30.0;
    let max = rows
        .iter()
        .flat_map(|r| [r.1, r.2])
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max)
        .max(1e-12)
        * 1.1;
    let x = |v: f64| left + (w - left - 20.0) * (v / max).clamp(0.0, 1.0);
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"endpoint targets\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    for (i, (name, measured, limit, pass)) in rows.iter().enumerate() {
        let y = 10.0 + lh * i as f64;
        let color = if *pass { "#2e9e4f" } else { "#d0342c" };
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{}\" height=\"16\" fill=\"{color}\"/>\
             <line x1=\"{lx}\" x2=\"{lx}\" y1=\"{}\" y2=\"{}\" stroke=\"#222\" stroke-width=\"2\" stroke-dasharray=\"4 2\"/>\
             <text x=\"{}\" y=\"{}\">{} (limit {})</text>",
            left - 8.0,
            y + 12.0,
            esc(name),
            (x(*measured) - left).max(0.0),
            y - 3.0,
            y + 19.0,
            x(*measured).max(left) + 4.0,
            y + 12.0,
            esc(&num(*measured)),
            esc(&num(*limit)),
            lx = x(*limit),
        );
    }
    let _ = write!(
        o,
        "<text x=\"{left}\" y=\"{}\" fill=\"#555\">bar: measured over the run; dashed line: the target's limit</text></svg>",
        h - 4.0
    );
    o
}

/// The limit of a target expression such as `p(95)<500`.
pub fn limit_of(expr: &str) -> Option<f64> {
    let at = expr.find(['<', '>'])?;
    expr[at..]
        .trim_start_matches(['<', '>', '='])
        .trim()
        .parse()
        .ok()
}

fn kv_table(id: &str, obj: &serde_json::Map<String, Value>) -> String {
    let rows: Vec<Row> = obj
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .map(|(k, v)| Row {
            class: "",
            cells: vec![Cell::Text(k.clone()), Cell::Num(jnum(v))],
        })
        .collect();
    table(id, &["field".into(), "value".into()], &rows)
}

fn render_run(dir: &Path) -> Result<String> {
    let s = readback::summary(dir)?;
    let su = &s["surge"];
    let ts_path = dir.join("timeseries.csv");
    let ts = if ts_path.is_file() {
        readback::timeseries(&ts_path)?
    } else {
        TimeSeries::default()
    };
    let mut b = String::new();
    let name = su["scenario"].as_str().unwrap_or("run");
    let _ = write!(
        b,
        "<h1>What-if review: {}</h1><p class=\"muted\">scenario file {} · model {} · seed {} · {} s simulated · {} events</p>",
        esc(name),
        esc(su["scenario_file"].as_str().unwrap_or("")),
        esc(su["model_file"].as_str().unwrap_or("")),
        esc(&jnum(&su["seed"])),
        esc(&jnum(&su["simulated_seconds"])),
        esc(&jnum(&su["events"])),
    );
    let verdicts = verdict_rows(&s);
    let passed = su["passed"].as_bool().unwrap_or(true);
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|r| r.class.ends_with("fail"))
        .filter_map(|r| match (&r.cells[0], &r.cells[1]) {
            (Cell::Text(a), Cell::Text(b)) => Some(format!("{a} {b}")),
            _ => None,
        })
        .collect();
    if verdicts.is_empty() {
        b.push_str("<div class=\"banner pass\" id=\"verdict\">No targets declared</div>");
    } else if passed {
        b.push_str("<div class=\"banner pass\" id=\"verdict\">Verdict: all targets met</div>");
    } else {
        let _ = write!(
            b,
            "<div class=\"banner fail\" id=\"verdict\">Verdict: TARGETS FAILED ({})</div>",
            esc(&failed.join("; "))
        );
    }
    b.push_str("<h2>Targets</h2>");
    b.push_str(&table(
        "verdicts",
        &[
            "target".into(),
            "threshold".into(),
            "measured".into(),
            "result".into(),
        ],
        &verdicts,
    ));
    let checks = condition_rows(&s);
    if !checks.is_empty() {
        b.push_str(
            "<h2>Checks (Artillery ensure)</h2><p class=\"muted\">Every condition, as \
             Artillery prints it; an optional one (strict: false) is reported and never fails \
             the run.</p>",
        );
        b.push_str(&table(
            "checks",
            &[
                "check".into(),
                "value".into(),
                "metrics read".into(),
                "result".into(),
            ],
            &checks,
        ));
    }

    b.push_str("<h2>Bottleneck narrative</h2><ul class=\"narrative\">");
    let p95_target = s["surge"]["verdict"].as_array().and_then(|a| {
        a.iter()
            .find(|v| {
                v["target"] == "http_req_duration"
                    && v["expr"].as_str().is_some_and(|e| e.starts_with("p(95)<"))
            })
            .and_then(|v| limit_of(v["expr"].as_str()?))
    });
    for line in narrative(&ts, p95_target) {
        let _ = write!(b, "<li>{}</li>", esc(&line));
    }
    let events = dir.join("scale_events.csv");
    let ev = if events.is_file() {
        Some(readback::records(&events)?)
    } else {
        None
    };
    if let Some((_, recs)) = &ev {
        let _ = write!(
            b,
            "<li>{} scale event(s); see the table below.</li>",
            recs.len()
        );
    }
    b.push_str("</ul>");
    let causes = error_causes(&ts);
    if !causes.is_empty() {
        b.push_str("<h3>Errors by cause over time</h3>");
        let mut head = vec!["cause".to_string(), "total".into()];
        head.extend(
            causes[0]
                .windows
                .iter()
                .map(|w| format!("until {} s", num(w.0))),
        );
        let rows: Vec<Row> = causes
            .iter()
            .map(|c| {
                let mut cells = vec![Cell::Text(c.cause.clone()), Cell::Num(num(c.total.round()))];
                cells.extend(c.windows.iter().map(|w| Cell::Num(num(w.1.round()))));
                Row { class: "", cells }
            })
            .collect();
        b.push_str(&table("errors_by_cause", &head, &rows));
    }

    b.push_str("<h2>Summary (k6 layout)</h2><pre id=\"k6\">");
    b.push_str(&esc(&k6_summary(&s)));
    b.push_str("</pre>");
    if let Some(eps) = su["endpoints"].as_object() {
        let rows: Vec<Row> = eps
            .iter()
            .map(|(n, v)| Row {
                class: "",
                cells: vec![
                    Cell::Text(n.clone()),
                    Cell::Num(jnum(&v["requests"])),
                    Cell::Num(jnum(&v["error_rate"])),
                    Cell::Num(jnum(&v["avg"])),
                    Cell::Num(jnum(&v["p(95)"])),
                    Cell::Num(jnum(&v["max"])),
                ],
            })
            .collect();
        b.push_str("<h3>Endpoints</h3>");
        b.push_str(&table(
            "endpoints",
            &[
                "endpoint".into(),
                "requests".into(),
                "error rate".into(),
                "avg ms".into(),
                "p95 ms".into(),
                "max ms".into(),
            ],
            &rows,
        ));
        // Per-endpoint targets drawn on the endpoint they constrain.
        let ep_targets: Vec<(String, f64, f64, bool)> = su["verdict"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(|v| {
                v["target"]
                    .as_str()
                    .is_some_and(|t| t.contains("{endpoint:"))
            })
            .filter_map(|v| {
                Some((
                    format!("{} {}", v["target"].as_str()?, v["expr"].as_str()?),
                    v["measured"].as_f64()?,
                    limit_of(v["expr"].as_str()?)?,
                    v["pass"].as_bool()?,
                ))
            })
            .collect();
        if !ep_targets.is_empty() {
            b.push_str("<h3>Per-endpoint targets</h3>");
            b.push_str(&endpoint_targets_svg(&ep_targets));
        }
    }
    if let Some(util) = su["utilization"].as_object() {
        b.push_str("<h3>Mean utilization</h3>");
        b.push_str(&kv_table("utilization", util));
    }
    if let Some(l) = su["littles_law"].as_object() {
        b.push_str("<h3>Little's law check</h3><p class=\"muted\">Time-average of requests in flight from the time series against throughput × mean latency from the responses.</p>");
        b.push_str(&kv_table("littles_law", l));
    }

    b.push_str("<h2>Scaling</h2>");
    if let Some(a) = su["autoscaling"].as_object().filter(|a| !a.is_empty()) {
        for (svc, v) in a {
            let _ = write!(b, "<h3>{}</h3>", esc(svc));
            if let Some(o) = v.as_object() {
                b.push_str(&kv_table(&format!("autoscaling_{svc}"), o));
            }
        }
    }
    match &ev {
        Some((head, recs)) if !recs.is_empty() => {
            let rows: Vec<Row> = recs
                .iter()
                .map(|r| Row {
                    class: "",
                    cells: r.iter().map(|c| Cell::Text(c.clone())).collect(),
                })
                .collect();
            b.push_str(&table("scale_events", head, &rows));
        }
        _ => b.push_str("<p class=\"muted\">No scale events.</p>"),
    }

    b.push_str("<h2>Cost</h2>");
    match su["cost"].as_object() {
        Some(c) => b.push_str(&kv_table("cost", c)),
        None => b.push_str("<p class=\"muted\">The model declares no prices.</p>"),
    }

    b.push_str("<h2>Plots</h2>");
    for p in pngs(
        dir,
        &[
            "load",
            "latency",
            "errors",
            "cpu_pods",
            "scaling_",
            "pools",
            "components",
        ],
    )? {
        b.push_str(&figure(dir, &p)?);
    }
    Ok(page(&format!("surge report: {name}"), &b))
}

fn fmt_ci(s: &PointStats, name: &str) -> String {
    match s.get(name) {
        Some(i) if i.mean.is_finite() && i.half_width.is_finite() => {
            let (lo, hi) = plots::clamp_band(name, i.lo(), i.hi());
            format!("{} [{} – {}]", num(i.mean), num(lo), num(hi))
        }
        Some(i) if i.mean.is_finite() => num(i.mean),
        _ => "–".into(),
    }
}

/// The targets table of one sweep point: measured mean with its interval, margin, P(pass).
fn margins_table(id: &str, s: &PointStats, confidence: f64) -> String {
    let rows: Vec<Row> = s
        .p_pass
        .iter()
        .map(|(name, p)| {
            let key = format!("target:{name}");
            let mean = s.mean(&key);
            let margin = crate::sweep::plan::margin(name, mean);
            Row {
                class: if *p >= confidence {
                    "verdict pass"
                } else {
                    "verdict fail"
                },
                cells: vec![
                    Cell::Text(name.clone()),
                    Cell::Num(fmt_ci(s, &key)),
                    Cell::Num(
                        margin
                            .map(|m| format!("{:+.1} %", 100.0 * m))
                            .unwrap_or_else(|| "–".into()),
                    ),
                    Cell::Num(format!("{p:.2}")),
                    Cell::Result(if *p >= confidence { "PASS" } else { "FAIL" }.into()),
                ],
            }
        })
        .collect();
    table(
        id,
        &[
            "target".into(),
            "measured mean [95 % CI]".into(),
            "margin".into(),
            "P(pass)".into(),
            "result".into(),
        ],
        &rows,
    )
}

fn render_sweep(dir: &Path) -> Result<String> {
    let spec = Spec::read(dir)?;
    let rows = row::load_all(dir)?;
    render_sweep_rows(dir, &spec, &rows)
}

/// Write the report of a sweep or plan whose rows are at hand.
pub fn write_sweep(dir: &Path, spec: &Spec, rows: &[row::Row]) -> Result<String> {
    let html = render_sweep_rows(dir, spec, rows)?;
    super::write_atomic(&dir.join(FILE), html.as_bytes())?;
    Ok(FILE.to_string())
}

fn render_sweep_rows(dir: &Path, spec: &Spec, rows: &[row::Row]) -> Result<String> {
    let stats = aggregate(rows);
    let plan: Option<Value> = match std::fs::read_to_string(dir.join("plan.json")) {
        Ok(t) => Some(serde_json::from_str(&t).map_err(|e| {
            Error::input(
                &dir.join("plan.json"),
                format!("line {}", e.line()),
                e.to_string(),
            )
        })?),
        Err(_) => None,
    };
    let confidence = spec
        .plan
        .as_ref()
        .map(|p| p.confidence)
        .unwrap_or(stats::LEVEL);
    let what = if plan.is_some() { "plan" } else { "sweep" };
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>What-if review: {what} of {}</h1><p class=\"muted\">{} point(s) evaluated of {} · {} run(s) · {} replication(s) per point · seed {} · confidence {}</p>",
        esc(&spec.scenario),
        stats.len(),
        spec.points.len(),
        rows.len(),
        spec.replications,
        spec.seed,
        confidence
    );
    let params: Vec<String> = spec
        .params
        .iter()
        .map(|p| {
            format!(
                "{} ∈ {{{}}}",
                p.path,
                p.values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let _ = write!(b, "<p>Parameters: {}</p>", esc(&params.join("; ")));
    let find = |p: usize| stats.iter().find(|s| s.point == p);
    let passing: Vec<&PointStats> = stats.iter().filter(|s| s.p_all >= confidence).collect();
    b.push_str("<h2>The answer</h2>");
    let cheapest = |v: &[&PointStats]| -> Option<usize> {
        v.iter()
            .filter(|s| s.mean(plots::COST).is_finite())
            .min_by(|a, c| a.mean(plots::COST).total_cmp(&c.mean(plots::COST)))
            .map(|s| s.point)
    };
    let answer: Option<usize> = match &plan {
        Some(p) => p["best"]["point"].as_u64().map(|x| x as usize),
        None => cheapest(&passing).or_else(|| passing.first().map(|s| s.point)),
    };
    match answer.and_then(find) {
        Some(s) => {
            let _ = write!(
                b,
                "<div class=\"banner pass\" id=\"verdict\">{}: point {} ({}) meets every target in {:.0} % of replications{}</div>",
                if plan.is_some() { "Cheapest configuration" } else if s.mean(plots::COST).is_finite() { "Cheapest passing point" } else { "Passing point" },
                s.point,
                esc(&spec.label(s.point)),
                100.0 * s.p_all,
                if s.mean(plots::COST).is_finite() {
                    format!(" at {} $/h", esc(&fmt_ci(s, plots::COST)))
                } else {
                    String::new()
                }
            );
            let _ = write!(
                b,
                "<p>{} of {} evaluated point(s) meet every target with probability ≥ {}.</p>",
                passing.len(),
                stats.len(),
                confidence
            );
            b.push_str("<h3>Margins of the answer</h3>");
            b.push_str(&margins_table("answer_targets", s, confidence));
        }
        None => {
            let best = stats
                .iter()
                .max_by(|a, c| a.p_all.total_cmp(&c.p_all).then(c.point.cmp(&a.point)));
            let _ = write!(
                b,
                "<div class=\"banner fail\" id=\"verdict\">No configuration meets every target with probability ≥ {confidence}</div>"
            );
            if let Some(s) = best {
                let _ = write!(
                    b,
                    "<p>Closest: point {} ({}), P(all targets) = {:.2}.</p>",
                    s.point,
                    esc(&spec.label(s.point)),
                    s.p_all
                );
                b.push_str(&margins_table("answer_targets", s, confidence));
            }
        }
    }
    if let Some(p) = &plan {
        if let Some(r) = p["runners_up"].as_array().filter(|r| !r.is_empty()) {
            let list: Vec<String> = r
                .iter()
                .filter_map(|x| x["point"].as_u64())
                .map(|x| format!("{x} ({})", spec.label(x as usize)))
                .collect();
            let _ = write!(b, "<p>Runners-up: {}.</p>", esc(&list.join(", ")));
        }
        if let Some(s) = p["search"].as_object() {
            b.push_str("<h3>Search</h3>");
            b.push_str(&kv_table("search", s));
        }
    }

    b.push_str("<h2>Points</h2>");
    let tnames: Vec<String> = stats
        .first()
        .map(|s| s.p_pass.iter().map(|p| p.0.clone()).collect())
        .unwrap_or_default();
    let mut head = vec!["point".to_string()];
    head.extend(spec.params.iter().map(|p| p.path.clone()));
    head.extend([
        "N".into(),
        format!("{} [95 % CI]", plots::P95),
        "cost $/h [95 % CI]".into(),
    ]);
    head.extend(tnames.iter().map(|t| format!("P(pass) {t}")));
    head.extend(["P(all)".into(), "result".into()]);
    let table_rows: Vec<Row> = stats
        .iter()
        .map(|s| {
            let ok = s.p_all >= confidence;
            let mut cells = vec![Cell::Num(s.point.to_string())];
            cells.extend(
                spec.points[s.point]
                    .iter()
                    .map(|v| Cell::Text(v.to_string())),
            );
            cells.push(Cell::Num(s.replications.to_string()));
            cells.push(Cell::Num(fmt_ci(s, plots::P95)));
            cells.push(Cell::Num(fmt_ci(s, plots::COST)));
            cells.extend(s.p_pass.iter().map(|(_, p)| Cell::Num(format!("{p:.2}"))));
            cells.push(Cell::Num(format!("{:.2}", s.p_all)));
            cells.push(Cell::Result(if ok { "PASS" } else { "FAIL" }.into()));
            Row {
                class: if ok { "verdict pass" } else { "verdict fail" },
                cells,
            }
        })
        .collect();
    b.push_str(&table("points", &head, &table_rows));

    b.push_str("<h2>Plots</h2><p class=\"muted\">Heatmap cells are green where every point in them meets every target with the confidence asked, red where one does not; the shade follows the value (colour bar on the right). Bands are clamped to the physical range.</p>");
    for p in pngs(dir, &["heatmap", "pareto", "bands", ""])? {
        b.push_str(&figure(dir, &p)?);
    }
    Ok(page(&format!("surge {what} report: {}", spec.scenario), &b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn limits_parse_from_expressions() {
        assert_eq!(limit_of("p(95)<500"), Some(500.0));
        assert_eq!(limit_of("rate<=0.01"), Some(0.01));
        assert_eq!(limit_of("count>=10"), Some(10.0));
        assert_eq!(limit_of("avg"), None);
    }

    fn ts(cols: &[&str], rows: Vec<Vec<f64>>) -> TimeSeries {
        TimeSeries {
            columns: cols.iter().map(|c| c.to_string()).collect(),
            rows,
        }
    }

    #[test]
    fn narrative_orders_saturation_and_counts_errors() {
        // db crosses 80 % at t=2, api at t=3; api saturates at t=4; timeouts 10/s for 2 s.
        let t = ts(
            &[
                "t_s",
                "api_cpu_util",
                "db_primary_util",
                "p95_ms",
                "errors_timeout_per_s",
                "errors_rejected_per_s",
            ],
            vec![
                vec![1.0, 0.5, 0.7, 100.0, 0.0, 0.0],
                vec![2.0, 0.6, 0.85, 200.0, 0.0, 0.0],
                vec![3.0, 0.9, 0.9, 600.0, 10.0, 0.0],
                vec![4.0, 0.97, 0.9, 700.0, 10.0, 0.0],
            ],
        );
        let n = narrative(&t, Some(500.0));
        assert!(
            n[0].starts_with("db_primary was the first") && n[0].contains("t = 2 s"),
            "{n:?}"
        );
        assert!(n[1].contains("api at t = 3 s"), "{n:?}");
        assert!(n
            .iter()
            .any(|l| l.contains("Saturated") && l.contains("api from t = 4 s")));
        assert!(n
            .iter()
            .any(|l| l.contains("first exceeded its 500 ms target at t = 3 s, 1 s after")));
        let e = error_causes(&t);
        assert_eq!(e.len(), 1, "all-zero causes are left out");
        assert_eq!(e[0].cause, "timeout");
        assert!((e[0].total - 20.0).abs() < 1e-9);
        assert_eq!(e[0].first_s, 3.0);
        let in_windows: f64 = e[0].windows.iter().map(|w| w.1).sum();
        assert!((in_windows - 20.0).abs() < 1e-9);
    }

    /// A FIFO named like a figure is refused at once (it used to block the report for ever).
    #[cfg(unix)]
    #[test]
    fn a_fifo_named_png_is_refused_not_waited_on() {
        let dir = std::env::temp_dir().join(format!("surge-html-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let st = std::process::Command::new("mkfifo")
            .arg(dir.join("x.png"))
            .status()
            .unwrap();
        assert!(st.success());
        let e = figure(&dir, "x.png").unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("x.png") && e.contains("FIFO"), "{e}");
    }
}
