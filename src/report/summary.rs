//! `summary.json` in the shape of k6's end-of-test summary (`metrics.NAME.{type,contains,values,
//! thresholds}`), with surge's own section beside it.

use crate::config::Loaded;
use crate::engine::ns_to_secs;
use crate::metrics::{Metrics, TimeSeries, Trend};
use crate::sim::RunResult;
use crate::threshold::Verdict;
use serde_json::{json, Map, Value};

/// A finished run with its verdicts, ready to print and write.
pub struct Report<'a> {
    pub loaded: &'a Loaded,
    pub result: RunResult,
    pub verdicts: Vec<Verdict>,
    /// The scenario's ensure conditions, evaluated (strict ones are also in `verdicts`).
    pub conditions: Vec<crate::ensure::Outcome>,
    pub json: Value,
    pub seed: u64,
    /// The run's bill, when the model declares prices.
    pub cost: Option<crate::cost::Cost>,
}

impl<'a> Report<'a> {
    pub fn new(loaded: &'a Loaded, result: RunResult, seed: u64) -> Self {
        let mut verdicts = loaded
            .scenario
            .thresholds
            .evaluate(&|sel, agg| result.measure(sel, agg));
        // vusers.error_rate is NaN where Artillery's report lacks a counter: say which.
        let vu = result.metrics.vusers.unwrap_or_default();
        for v in &mut verdicts {
            if v.key == "vusers.error_rate" && v.measured.is_some_and(f64::is_nan) {
                let absent = if vu.created == 0 {
                    "no VU created, vusers.created absent"
                } else {
                    "no VU completed, vusers.completed absent"
                };
                v.shown = Some(format!("NaN ({absent})"));
            }
        }
        let conditions = crate::ensure::evaluate(
            &loaded.scenario.conditions,
            &result.metrics,
            ns_to_secs(result.end),
        );
        verdicts.extend(conditions.iter().filter_map(|c| c.verdict()));
        let mut json = summary_json(loaded, &result, &verdicts, seed);
        json["surge"]["conditions"] = conditions.iter().map(|c| c.json()).collect();
        let cost = crate::cost::of_run(&loaded.model, &result);
        if let Some(c) = &cost {
            json["surge"]["cost"] = c.json();
        }
        Report {
            loaded,
            result,
            verdicts,
            conditions,
            json,
            seed,
            cost,
        }
    }

    /// Add a verdict computed outside the thresholds (e.g. `cost_ratio`), to the JSON as well.
    pub fn push_verdict(&mut self, v: Verdict) {
        let entry = v.json();
        if let Some(list) = self.json["surge"]["verdict"].as_array_mut() {
            list.push(entry);
        }
        self.verdicts.push(v);
        self.json["surge"]["passed"] = json!(self.passed());
    }

    pub fn secs(&self) -> f64 {
        ns_to_secs(self.result.end)
    }

    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.pass) && self.result.aborted.is_none()
    }
}

fn trend(t: &Trend) -> Value {
    let mut v = Map::new();
    for (k, x) in t.stats() {
        v.insert(k.into(), json!(x));
    }
    json!({"type": "trend", "contains": "time", "values": v})
}

fn counter(n: u64, secs: f64) -> Value {
    json!({"type": "counter", "contains": "default",
           "values": {"count": n, "rate": if secs > 0.0 { n as f64 / secs } else { 0.0 }}})
}

/// A gauge's summary entry: integral values print as integers, as k6's VU counts do.
fn gauge(g: &crate::metrics::Gauge) -> Value {
    json!({"type": "gauge", "contains": "default",
           "values": {"value": g.value as u64, "min": g.min as u64, "max": g.max as u64}})
}

fn metric_entry(m: &Metrics, key: &str, secs: f64) -> Option<Value> {
    let sel = crate::threshold::parse_selector(key).ok()?;
    if crate::metrics::submetric::is_submetric(&sel) {
        let s = m.subs.find(&sel.tags)?;
        return Some(match sel.metric.as_str() {
            "http_req_duration" => trend(&s.duration),
            "http_reqs" => counter(s.count(), secs),
            _ => {
                let rate = if s.count() > 0 {
                    s.failed as f64 / s.count() as f64
                } else {
                    0.0
                };
                json!({"type": "rate", "contains": "default",
                       "values": {"rate": rate, "passes": s.failed,
                                  "fails": s.count() - s.failed}})
            }
        });
    }
    let ep = sel
        .tags
        .iter()
        .find(|(k, _)| k == "endpoint")
        .and_then(|(_, l)| m.endpoints.iter().find(|e| &e.label == l));
    Some(match sel.metric.as_str() {
        "http_req_duration" => trend(ep.map(|e| &e.duration).unwrap_or(&m.http)),
        "iteration_duration" => trend(&m.iteration_duration),
        "http_reqs" => counter(
            ep.map(|e| e.duration.count()).unwrap_or(m.http.count()),
            secs,
        ),
        "iterations" => counter(m.iterations, secs),
        "dropped_iterations" => counter(m.dropped_iterations, secs),
        "vusers.created" => counter(m.vusers?.created, secs),
        "vusers.skipped" => counter(m.vusers?.skipped, secs),
        "vusers.completed" => counter(m.vusers?.completed, secs),
        "vusers.error_rate" => {
            let v = m.vusers?;
            let failed = v.created.saturating_sub(v.completed);
            json!({"type": "rate", "contains": "default",
                   "values": {"rate": v.failed_rate().unwrap_or(0.0), "passes": failed,
                              "fails": v.created - failed}})
        }
        name if crate::metrics::is_artillery_counter(name) => {
            counter(m.artillery_counter(name)?, secs)
        }
        "vus" => gauge(&m.vus_gauge),
        "vus_max" => gauge(&m.vus_max_gauge),
        "tx_success" => {
            let rate = m.tx.success_rate()?;
            json!({"type": "rate", "contains": "default",
                   "values": {"rate": rate, "passes": m.tx.ok, "fails": m.tx.attempts() - m.tx.ok}})
        }
        "tx_count" => counter(m.tx.attempts(), secs),
        "tx_gas" => {
            let mut v = Map::new();
            for (k, x) in m.tx.gas.stats() {
                v.insert(k.into(), json!(x));
            }
            json!({"type": "trend", "contains": "default", "values": v})
        }
        "tx_confirmation" => trend(&m.tx.confirmation),
        "http_req_failed" => {
            let total = ep.map(|e| e.duration.count()).unwrap_or(m.http.count());
            let rate = m
                .measure(&sel, &crate::threshold::Aggregation::Rate, secs)
                .unwrap_or(0.0);
            let passes = (rate * total as f64).round() as u64;
            json!({"type": "rate", "contains": "default",
                   "values": {"rate": rate, "passes": passes, "fails": total - passes}})
        }
        _ => return None,
    })
}

/// k6's `--summary-export` file (`internal/js/summary-wrapper.js` oldJSONSummary): the
/// handleSummary data without `options` and `state`; each metric is its values, plus
/// `thresholds: {expr: failed}` (**`true` means the threshold failed**) and a rate's `rate`
/// renamed `value`; groups and checks keyed by name; JSON indented by 4 spaces. surge's own
/// section is not part of k6's file.
pub fn summary_export(summary: &Value) -> String {
    fn keyed_by_name(list: &Value, each: impl Fn(&Value) -> Value) -> Value {
        let mut out = Map::new();
        for item in list.as_array().into_iter().flatten() {
            let name = item["name"].as_str().unwrap_or_default().to_string();
            out.insert(name, each(item));
        }
        Value::Object(out)
    }
    fn group(g: &Value) -> Value {
        let mut g = g.clone();
        if g["groups"].is_array() {
            g["groups"] = keyed_by_name(&g["groups"], group);
        }
        if g["checks"].is_array() {
            g["checks"] = keyed_by_name(&g["checks"], Value::clone);
        }
        g
    }
    let mut metrics = Map::new();
    for (name, m) in summary["metrics"].as_object().into_iter().flatten() {
        let mut v = m["values"].as_object().cloned().unwrap_or_default();
        if let Some(th) = m["thresholds"].as_object().filter(|t| !t.is_empty()) {
            let failed = th
                .iter()
                .map(|(expr, t)| (expr.clone(), json!(!t["ok"].as_bool().unwrap_or(false))))
                .collect();
            v.insert("thresholds".into(), Value::Object(failed));
        }
        if m["type"] == "rate" {
            if let Some(r) = v.remove("rate") {
                v.insert("value".into(), r);
            }
        }
        metrics.insert(name.clone(), Value::Object(v));
    }
    let mut out = Map::new();
    out.insert("root_group".into(), group(&summary["root_group"]));
    out.insert("metrics".into(), Value::Object(metrics));
    if let Some(d) = summary.get("setup_data") {
        out.insert("setup_data".into(), d.clone());
    }
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&Value::Object(out), &mut ser).expect("a JSON value serialises");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// Peak of a time-series column (NaN intervals skipped).
pub fn column_peak(result: &RunResult, name: &str) -> Option<f64> {
    let v = result.timeseries().column(name)?;
    v.into_iter().filter(|x| x.is_finite()).reduce(f64::max)
}

/// The bottleneck report: every utilization column's peak and when it first reached 80 %,
/// and the peaks of the columns that show waiting (pool waiters, refusals, queue length, 429s).
pub fn bottlenecks(result: &RunResult) -> Value {
    let ts = result.timeseries();
    let t = ts.column("t_s").unwrap_or_default();
    let mut util = Vec::new();
    for (i, c) in ts.columns.iter().enumerate() {
        if !c.ends_with("_util") {
            continue;
        }
        let peak = ts
            .rows
            .iter()
            .map(|r| r[i])
            .filter(|x| x.is_finite())
            .fold(0.0, f64::max);
        let first = ts.rows.iter().position(|row| row[i] >= 0.8).map(|r| t[r]);
        util.push(json!({"column": c, "peak": peak, "first_above_80pct_s": first}));
    }
    let mut waits = Map::new();
    for (i, c) in ts.columns.iter().enumerate() {
        let watched = [
            "_pool_waiting",
            "_primary_connections",
            "_pool_timeouts_per_s",
            "_refused_per_s",
            "_queue_len",
            "_oldest_age_s",
            "_429_per_s",
            "_inflight",
        ];
        if watched.iter().any(|w| c.ends_with(w)) {
            let peak = ts
                .rows
                .iter()
                .map(|r| r[i])
                .filter(|x| x.is_finite())
                .fold(0.0, f64::max);
            waits.insert(format!("{c}_peak"), json!(peak));
        }
    }
    json!({"utilization": util, "peaks": waits})
}

/// First time each resource's utilization column reaches 80 %, earliest first.
pub fn saturation_order(result: &RunResult) -> Vec<(String, f64)> {
    let ts = result.timeseries();
    let t = ts.column("t_s").unwrap_or_default();
    let mut out = Vec::new();
    for (i, c) in ts.columns.iter().enumerate() {
        if !c.ends_with("_util") {
            continue;
        }
        if let Some(r) = ts.rows.iter().position(|row| row[i] >= 0.8) {
            out.push((
                c.trim_end_matches("_util")
                    .trim_end_matches("_cpu")
                    .to_string(),
                t[r],
            ));
        }
    }
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out
}

/// Relative tolerance of the Little's-law check: the mean latency comes from an HDR histogram
/// (a fraction of a percent) and the per-interval in-flight averages are rounded.
pub const LITTLE_TOLERANCE: f64 = 0.03;

/// An independent Little's-law check. L is the time-average of client requests in flight, read
/// from the time series (`inflight_avg` per interval, weighted by interval length); λW is the
/// throughput times the mean latency, from the responses and their latency histogram. Over a run
/// `∫N dt = Σ W_i + (age of the requests still in flight or abandoned)`, so L may exceed λW by at
/// most (requests without a response) × (longest latency) / T, and fall short of it only by the
/// measurement tolerance. A time series that does not agree with the responses fails.
pub fn littles_law(ts: &TimeSeries, m: &Metrics, secs: f64) -> Value {
    let (Some(t), Some(avg), Some(now)) = (
        ts.column("t_s"),
        ts.column("inflight_avg"),
        ts.column("inflight"),
    ) else {
        return json!({"consistent": Value::Null, "reason": "no in-flight time series"});
    };
    let mut area = 0.0;
    let mut prev = 0.0;
    for (ti, a) in t.iter().zip(&avg) {
        if a.is_finite() {
            area += a * (ti - prev);
        }
        prev = *ti;
    }
    let span = prev.max(1e-12);
    let l_ts = area / span;
    let n = m.requests() as f64;
    let throughput = if secs > 0.0 { n / secs } else { 0.0 };
    let w = if n > 0.0 {
        m.http.avg_ms() / 1000.0
    } else {
        0.0
    };
    let lw = throughput * w;
    let unanswered = now.last().copied().unwrap_or(0.0) + m.abandoned as f64;
    let excess_bound = unanswered * (m.http.max_ms() / 1000.0) / secs.max(1e-12);
    let lo = lw * (1.0 - LITTLE_TOLERANCE);
    let hi = lw * (1.0 + LITTLE_TOLERANCE) + excess_bound;
    let consistent = if lw == 0.0 && l_ts == 0.0 {
        true
    } else {
        l_ts >= lo && l_ts <= hi
    };
    json!({
        "mean_inflight": l_ts,
        "mean_inflight_source": "timeseries.csv inflight_avg, weighted by interval length",
        "throughput_per_s": throughput,
        "mean_response_s": w,
        "lambda_times_w": lw,
        "relative_difference": if lw > 0.0 { (l_ts - lw) / lw } else { 0.0 },
        "unanswered_requests": unanswered,
        "allowed_range": [lo, hi],
        "consistent": consistent,
    })
}

/// The scenario's p95 latency target, if it has one (`http_req_duration: ['p(95)<500']`).
pub fn p95_target(loaded: &Loaded) -> Option<f64> {
    loaded
        .scenario
        .thresholds
        .0
        .iter()
        .filter(|s| s.selector.metric == "http_req_duration" && s.selector.tags.is_empty())
        .flat_map(|s| s.thresholds.iter())
        .find(|t| t.expr.agg == crate::threshold::Aggregation::Percentile(95.0))
        .map(|t| t.expr.value)
}

pub fn summary_json(loaded: &Loaded, r: &RunResult, verdicts: &[Verdict], seed: u64) -> Value {
    let m = &r.metrics;
    let secs = ns_to_secs(r.end);
    let mut metrics = Map::new();
    let mut keys: Vec<String> = [
        "http_req_duration",
        // k6 always has this submetric: the latency of successful requests only.
        "http_req_duration{expected_response:true}",
        "http_req_failed",
        "http_reqs",
        "iterations",
        "iteration_duration",
        "dropped_iterations",
        "vus",
        "vus_max",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if m.vusers.is_some() {
        keys.push("vusers.created".into());
        keys.push("vusers.skipped".into());
        keys.push("vusers.completed".into());
        keys.push("vusers.failed".into());
        keys.push("vusers.error_rate".into());
        keys.extend(m.artillery_counters().into_iter().map(|(k, _)| k));
    }
    if m.tx.attempts() > 0 {
        for k in ["tx_success", "tx_count", "tx_gas", "tx_confirmation"] {
            keys.push(k.to_string());
        }
    }
    for set in &loaded.scenario.thresholds.0 {
        if !keys.contains(&set.key) {
            keys.push(set.key.clone());
        }
    }
    for key in keys {
        let Some(mut entry) = metric_entry(m, &key, secs) else {
            continue;
        };
        let th: Map<String, Value> = verdicts
            .iter()
            .filter(|v| v.key == key)
            .map(|v| (v.expr.clone(), json!({"ok": v.pass})))
            .collect();
        if !th.is_empty() {
            entry["thresholds"] = Value::Object(th);
        }
        metrics.insert(key, entry);
    }
    let causes: Map<String, Value> = m
        .cause_counts()
        .map(|(c, n)| {
            let rate = if m.requests() > 0 {
                n as f64 / m.requests() as f64
            } else {
                0.0
            };
            (c.name().to_string(), json!({"count": n, "rate": rate}))
        })
        .collect();
    let endpoints: Map<String, Value> = m
        .endpoints
        .iter()
        .filter(|e| e.duration.count() > 0)
        .map(|e| {
            let mut v = trend(&e.duration)["values"].clone();
            v["requests"] = json!(e.duration.count());
            v["failed"] = json!(e.failed);
            v["error_rate"] = json!(e.failed as f64 / e.duration.count() as f64);
            (e.label.clone(), v)
        })
        .collect();
    let util: Map<String, Value> = r
        .utilization
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let verdict: Vec<Value> = verdicts.iter().map(Verdict::json).collect();
    let saturation: Vec<Value> = saturation_order(r)
        .into_iter()
        .map(|(res, t)| json!({"resource": res, "first_above_80pct_s": t}))
        .collect();
    json!({
        // handleSummary's data (k6 internal/js/summary.go): no groups or checks are simulated.
        "root_group": {"name": "", "path": "", "id": "d41d8cd98f00b204e9800998ecf8427e",
                       "groups": [], "checks": []},
        "options": {"summaryTrendStats": Trend::STATS, "summaryTimeUnit": "", "noColor": false},
        "state": {"isStdOutTTY": false, "isStdErrTTY": false, "testRunDurationMs": secs * 1000.0},
        "metrics": metrics,
        "surge": {
            "scenario": loaded.name(),
            "scenario_file": loaded.scenario_path.display().to_string(),
            "model_file": loaded.model_path.display().to_string(),
            "seed": seed,
            "simulated_seconds": secs,
            "events": r.events,
            "errors_by_cause": causes,
            "interrupted_iterations": m.interrupted_iterations,
            "endpoints": endpoints,
            "queues": r.system.queue_report(r.end),
            "contention": r.system.contention_report(r.end),
            "utilization": util,
            "saturation": saturation,
            "bottlenecks": bottlenecks(r),
            "littles_law": littles_law(r.timeseries(), m, secs),
            "autoscaling": super::scaling::autoscaling_report(r, p95_target(loaded)),
            "verdict": verdict,
            "aborted": r.aborted.as_ref().map(|a| json!({
                "at_s": crate::engine::ns_to_secs(a.at), "thresholds": a.keys, "message": a.message()})),
            "passed": verdicts.iter().all(|v| v.pass),
        }
    })
}
