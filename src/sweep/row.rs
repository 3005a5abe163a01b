//! One run of a sweep (a point × a replication): its summary metrics, targets and a few
//! time-series columns, stored as one small JSON file written atomically. The set of these
//! files is the sweep's state: a killed sweep resumes from them.

use crate::config::Loaded;
use crate::cost::{self, Baseline};
use crate::error::{Error, Result};
use crate::report::write_atomic;
use crate::sim::RunResult;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// `key expr`, e.g. `http_req_duration p(95)<500`, or `cost_ratio <1.5`.
    pub name: String,
    pub measured: Option<f64>,
    pub pass: bool,
}

/// Time-series columns kept for bands across replications.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub t_s: Vec<f64>,
    pub columns: Vec<(String, Vec<Option<f64>>)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub point: usize,
    pub replication: u64,
    /// Summary metrics in a fixed order; `None` where the run had no data.
    pub metrics: Vec<(String, Option<f64>)>,
    pub targets: Vec<Target>,
    pub series: Series,
    /// Set when the run ended before its planned end (`surge plan`'s early stops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Set when this run was another point's: the point whose run it is (`sweep::shared`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_from: Option<usize>,
}

/// Why and when a run ended early.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Simulated seconds at which it stopped.
    pub at_s: f64,
    /// `decided: <target>` (that target had provably failed) or `precision` (every estimate
    /// was within `--run-precision`).
    pub by: String,
}

impl Row {
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| *v)
    }

    pub fn passed(&self) -> bool {
        self.targets.iter().all(|t| t.pass)
    }
}

const BAND_COLUMNS: [&str; 5] = [
    "vus",
    "arrivals_per_s",
    "completions_per_s",
    "p95_ms",
    "error_rate",
];

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Everything a sweep records about one run.
pub fn measure(
    loaded: &Loaded,
    r: &RunResult,
    point: usize,
    replication: u64,
    baseline: Option<(&Baseline, f64)>,
) -> Row {
    let m = &r.metrics;
    let secs = crate::engine::ns_to_secs(r.end);
    let mut out: Vec<(String, Option<f64>)> = Vec::new();
    let mut put = |k: String, v: f64| out.push((k, finite(v)));
    let has = m.http.count() > 0;
    for (k, v) in m.http.stats() {
        put(
            format!("http_req_duration.{k}"),
            if has { v } else { f64::NAN },
        );
    }
    let n = m.requests();
    put(
        "http_req_failed.rate".into(),
        if n > 0 {
            m.failed as f64 / n as f64
        } else {
            f64::NAN
        },
    );
    put("http_reqs.count".into(), n as f64);
    put("http_reqs.rate".into(), n as f64 / secs.max(1e-9));
    put("iterations.count".into(), m.iterations as f64);
    put(
        "dropped_iterations.count".into(),
        m.dropped_iterations as f64,
    );
    let it = m.iteration_duration.count() > 0;
    put(
        "iteration_duration.avg".into(),
        if it {
            m.iteration_duration.avg_ms()
        } else {
            f64::NAN
        },
    );
    put("vus_max".into(), m.vus_allocated as f64);
    for e in m.endpoints.iter().filter(|e| e.duration.count() > 0) {
        let tag = format!("{{endpoint:{}}}", e.label);
        put(format!("http_req_duration{tag}.avg"), e.duration.avg_ms());
        put(
            format!("http_req_duration{tag}.p(95)"),
            e.duration.percentile_ms(95.0),
        );
        put(
            format!("http_req_failed{tag}.rate"),
            e.failed as f64 / e.duration.count() as f64,
        );
    }
    for (k, u) in &r.utilization {
        put(format!("utilization{{{k}}}"), *u);
    }
    if let serde_json::Value::Object(q) = r.system.queue_report(r.end) {
        for (k, v) in q {
            if let Some(w) = v["mean_wait_ms"].as_f64() {
                put(format!("queue_wait{{{k}}}.avg"), w);
            }
        }
    }
    let bill = cost::of_run(&loaded.model, r);
    if let Some(c) = &bill {
        put("cost.total".into(), c.total);
        put("cost.per_hour".into(), c.per_hour);
        put("cost.peak_per_hour".into(), c.peak_per_hour);
        put(
            "cost.infrastructure_per_hour".into(),
            c.infrastructure_per_hour,
        );
        put("cost.per_million_requests".into(), c.per_million_requests);
        for (k, v) in &c.items {
            put(format!("cost.{k}"), *v);
        }
    }
    let mut targets: Vec<Target> = loaded
        .scenario
        .thresholds
        .evaluate(&|sel, agg| r.measure(sel, agg))
        .into_iter()
        .map(|v| Target {
            name: format!("{} {}", v.key, v.expr),
            measured: v.measured.and_then(finite),
            pass: v.pass,
        })
        .collect();
    // Strict ensure conditions are targets; optional ones never decide a verdict.
    let conditions = crate::ensure::evaluate(&loaded.scenario.conditions, m, secs);
    targets.extend(
        conditions
            .iter()
            .filter_map(|c| c.verdict())
            .map(|v| Target {
                name: format!("{} {}", v.key, v.expr),
                measured: v.measured,
                pass: v.pass,
            }),
    );
    if let Some((b, base_value)) = baseline {
        let v = b.verdict(bill.as_ref(), base_value);
        targets.push(Target {
            name: format!("{} {}", v.key, v.expr),
            measured: v.measured,
            pass: v.pass,
        });
    }
    let ts = r.timeseries();
    let mut series = Series {
        t_s: ts.column("t_s").unwrap_or_default(),
        columns: Vec::new(),
    };
    for c in &ts.columns {
        let keep = BAND_COLUMNS.contains(&c.as_str())
            || c.ends_with("_ready_pods")
            || c.ends_with("_cpu_util")
            || c == "nodes";
        if keep {
            let v = ts.column(c).unwrap_or_default();
            series
                .columns
                .push((c.clone(), v.into_iter().map(finite).collect()));
        }
    }
    Row {
        point,
        replication,
        metrics: out,
        targets,
        series,
        stop: None,
        shared_from: None,
    }
}

pub fn rows_dir(out: &Path) -> PathBuf {
    out.join("rows")
}

fn file_name(point: usize, replication: u64) -> String {
    format!("p{point:06}-r{replication:04}.json")
}

/// Write one finished run atomically: it either exists whole or not at all.
pub fn save(out: &Path, row: &Row) -> Result<()> {
    let bytes = serde_json::to_vec(row).expect("rows serialize");
    write_atomic(
        &rows_dir(out).join(file_name(row.point, row.replication)),
        &bytes,
    )
}

/// Every finished run in `out`, sorted by (point, replication). Temporary files of runs that
/// were cut off are ignored.
pub fn load_all(out: &Path) -> Result<Vec<Row>> {
    let dir = rows_dir(out);
    let mut rows = Vec::new();
    // Rows index sweep.json's points: one naming a point it lacks (an edited or truncated
    // sweep.json with `points: []`) panicked with an index out of bounds in report/compare.
    let n_points = super::spec::Spec::read(out).ok().map(|s| s.points.len());
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(rows),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    for entry in entries {
        let path = entry.map_err(|e| Error::io(&dir, e))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let row: Row = serde_json::from_slice(&text).map_err(|e| {
            Error::input(
                &path,
                "",
                format!("not a sweep row: {e}; delete it to rerun that run"),
            )
        })?;
        if file_name(row.point, row.replication) != name {
            return Err(Error::input(
                &path,
                "",
                "the file's name does not match its point and replication",
            ));
        }
        if let Some(n) = n_points {
            if let Some(p) = std::iter::once(row.point)
                .chain(row.shared_from)
                .find(|&p| p >= n)
            {
                return Err(Error::input(
                    &path,
                    "",
                    format!(
                        "point {p} is not in {}'s {n} points; is this the sweep's own folder?",
                        out.join("sweep.json").display()
                    ),
                ));
            }
        }
        rows.push(row);
    }
    rows.sort_by_key(|r| (r.point, r.replication));
    Ok(rows)
}
