//! Metric traces from Prometheus, for `surge hpa replay`: a `/api/v1/query_range` JSON result
//! (`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{…},"values":[[t,"v"],…]}]}}`),
//! or a CSV whose time column is `time`, `Time` or `timestamp` in epoch seconds or milliseconds
//! (Grafana's and promtool's exports), turned into the replay's `t_s` table.
//!
//! Column names: a series' `column` label if it has one (set it with `label_replace` in the
//! query), else its `__name__`, with `/` as `_`. Series with a `pod` label are per-pod values:
//! each row holds their mean over the pods that reported at that step, and, unless the result
//! has its own `ready_pods` series, `ready_pods` is the number of pods that reported.

use super::replay::Trace;
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A trace file in any supported format: replay CSV, Prometheus CSV, or query_range JSON.
pub fn load_trace(path: &Path, text: &str) -> Result<Trace> {
    if text.trim_start().starts_with('{') {
        return from_query_range(path, text);
    }
    match epoch_csv(text) {
        Some(t) => Trace::parse(path, &t),
        None => Trace::parse(path, text),
    }
}

/// A CSV with an epoch `time` column instead of `t_s`, rewritten with `t_s` from its first row.
fn epoch_csv(text: &str) -> Option<String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next()?;
    let cols: Vec<&str> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    if cols.contains(&"t_s") {
        return None;
    }
    let ti = cols
        .iter()
        .position(|c| matches!(*c, "time" | "Time" | "timestamp" | "Timestamp"))?;
    let mut out = String::new();
    let names: Vec<&str> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| if i == ti { "t_s" } else { c })
        .collect();
    out.push_str(&names.join(","));
    out.push('\n');
    let mut t0: Option<f64> = None;
    for l in lines {
        let mut cells: Vec<String> = l
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .collect();
        if let Some(v) = cells.get(ti).and_then(|c| c.parse::<f64>().ok()) {
            // Epoch milliseconds (Grafana) or seconds (Prometheus).
            let secs = if v > 1e11 { v / 1000.0 } else { v };
            let base = *t0.get_or_insert(secs);
            cells[ti] = format!("{}", secs - base);
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    Some(out)
}

/// The latest sample time a query_range result may hold (the year 5138): far past any
/// Prometheus data, and small enough that its milliseconds subtract without overflow.
const MAX_UNIX_S: f64 = 1e11;

fn from_query_range(path: &Path, text: &str) -> Result<Trace> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        Error::input(
            path,
            format!("line {}, column {}", e.line(), e.column()),
            format!("not valid JSON: {e}"),
        )
    })?;
    let bad = |at: &str, msg: String| Error::input(path, at.to_string(), msg);
    if v.get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| s != "success")
    {
        return Err(bad(
            "status",
            "the query did not succeed (status is not \"success\")".into(),
        ));
    }
    let data = v.get("data").unwrap_or(&v);
    if let Some(t) = data.get("resultType").and_then(Value::as_str) {
        if t != "matrix" {
            return Err(bad(
                "data.resultType",
                format!("expected \"matrix\" (a range query), found {t:?}"),
            ));
        }
    }
    let series = data
        .get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad(
                "data.result",
                "missing: expected the result array of a /api/v1/query_range answer".into(),
            )
        })?;
    // column → time → (sum, count) for per-pod series, or value.
    let mut sums: BTreeMap<String, BTreeMap<i64, (f64, u32)>> = BTreeMap::new();
    let mut per_pod: BTreeMap<String, bool> = BTreeMap::new();
    for (i, s) in series.iter().enumerate() {
        let at = format!("data.result[{i}]");
        let labels = s.get("metric").and_then(Value::as_object);
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        let name = label("column")
            .or_else(|| label("__name__"))
            .ok_or_else(|| bad(&at, "a series without a __name__ or column label: name it with label_replace(..., \"column\", \"pods_<metric>\", \"\", \"\")".into()))?
            .replace('/', "_");
        let pod = label("pod").is_some();
        per_pod.insert(name.clone(), pod);
        let values = s.get("values").and_then(Value::as_array).ok_or_else(|| {
            bad(
                &format!("{at}.values"),
                "missing: expected [[time, \"value\"], ...]".into(),
            )
        })?;
        for (j, pt) in values.iter().enumerate() {
            let at = format!("{at}.values[{j}]");
            let t = pt
                .get(0)
                .and_then(Value::as_f64)
                .ok_or_else(|| bad(&at, "expected [time, \"value\"]".into()))?;
            // Unix seconds, as Prometheus writes them; kept to where milliseconds and their
            // differences fit in an i64 (1e308 overflowed the step arithmetic).
            if !(0.0..=MAX_UNIX_S).contains(&t) {
                return Err(bad(
                    &at,
                    format!("time {t:e} is not a Unix time in seconds (0 to {MAX_UNIX_S:e})"),
                ));
            }
            let x = match pt.get(1) {
                Some(Value::String(s)) => s
                    .parse::<f64>()
                    .map_err(|_| bad(&at, format!("value {s:?} is not a number")))?,
                Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
                _ => return Err(bad(&at, "expected [time, \"value\"]".into())),
            };
            if !x.is_finite() {
                continue; // Prometheus' NaN / ±Inf: unavailable at that step
            }
            // The CSV trace's checks: pods whole and not negative, resource usage not negative.
            if let Some(expected) = super::replay::ColumnKind::of(&name).refuses(x) {
                return Err(bad(&at, format!("{name}: expected {expected}, got {x}")));
            }
            let e = sums
                .entry(name.clone())
                .or_default()
                .entry((t * 1000.0).round() as i64)
                .or_insert((0.0, 0));
            e.0 += x;
            e.1 += 1;
        }
    }
    if sums.is_empty() {
        return Err(bad("data.result", "no samples".into()));
    }
    let times: Vec<i64> = {
        let mut t: Vec<i64> = sums.values().flat_map(|m| m.keys().copied()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let t0 = times[0];
    let derive_pods = !sums.contains_key("ready_pods") && per_pod.values().any(|p| *p);
    let mut columns = vec!["t_s".to_string()];
    columns.extend(sums.keys().cloned());
    if derive_pods {
        columns.push("ready_pods".into());
    }
    let rows = times
        .iter()
        .map(|t| {
            let mut row = vec![(t - t0) as f64 / 1000.0];
            let mut pods = 0u32;
            for (name, m) in &sums {
                match m.get(t) {
                    Some(&(sum, n)) if per_pod[name] => {
                        pods = pods.max(n);
                        row.push(sum / n as f64);
                    }
                    Some(&(sum, _)) => row.push(sum),
                    None => row.push(f64::NAN),
                }
            }
            if derive_pods {
                row.push(if pods > 0 { pods as f64 } else { f64::NAN });
            }
            row
        })
        .collect::<Vec<Vec<f64>>>();
    // Per-pod series are averaged into a column: check what the replay reads, as a CSV's cells.
    for row in &rows {
        for (c, &x) in columns.iter().zip(row) {
            if let Some(expected) = super::replay::ColumnKind::of(c).refuses(x) {
                return Err(bad(
                    "data.result",
                    format!("{c} at t = {} s: expected {expected}, got {x}", row[0]),
                ));
            }
        }
    }
    Ok(Trace {
        file: path.display().to_string(),
        columns,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/fuzz_import.rs (seed 0x1cf8e88300000400): a time of 1e308 (or a
    /// negative one) saturated to i64::MAX / MIN milliseconds, and the step arithmetic
    /// overflowed (a panic in debug builds, wrapped times in release).
    #[test]
    fn query_range_times_out_of_range_are_refused() {
        for t in ["1e308", "-1e308", "-1", "1e12"] {
            let j = format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[
                  {{"metric":{{"__name__":"a"}},"values":[[1700000000,"1"],[{t},"2"]]}}]}}}}"#
            );
            let e = from_query_range(Path::new("q.json"), &j)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("q.json: data.result[0].values[1]: time ")
                    && e.contains("is not a Unix time in seconds")
                    && e.len() < 120,
                "{e}"
            );
        }
    }

    #[test]
    fn query_range_per_pod_series_average_and_count_pods() {
        let j = r#"{"status":"success","data":{"resultType":"matrix","result":[
          {"metric":{"__name__":"pods_http_rps","pod":"web-1"},"values":[[1700000000,"10"],[1700000015,"30"]]},
          {"metric":{"__name__":"pods_http_rps","pod":"web-2"},"values":[[1700000000,"20"],[1700000015,"NaN"]]},
          {"metric":{"column":"external_queue"},"values":[[1700000000,"5"],[1700000015,"7"]]}]}}"#;
        let t = load_trace(Path::new("q.json"), j).unwrap();
        assert_eq!(
            t.columns,
            vec!["t_s", "external_queue", "pods_http_rps", "ready_pods"]
        );
        assert_eq!(t.rows[0], vec![0.0, 5.0, 15.0, 2.0]);
        assert_eq!(t.rows[1], vec![15.0, 7.0, 30.0, 1.0]);
    }

    #[test]
    fn epoch_csv_becomes_seconds_from_start() {
        let t = load_trace(
            Path::new("g.csv"),
            "Time,resource_cpu,ready_pods\n1700000000000,50,2\n1700000015000,80,2\n",
        )
        .unwrap();
        assert_eq!(t.rows[1][0], 15.0);
        assert_eq!(t.columns[0], "t_s");
    }

    #[test]
    fn bad_query_results_are_located() {
        let e = load_trace(
            Path::new("q.json"),
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("resultType") && e.contains("matrix"), "{e}");
        let e = load_trace(
            Path::new("q.json"),
            r#"{"data":{"result":[{"metric":{},"values":[[1,"2"]]}]}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("data.result[0]") && e.contains("__name__"),
            "{e}"
        );
        let e = load_trace(
            Path::new("q.json"),
            r#"{"data":{"result":[{"metric":{"__name__":"a"},"values":[[1,"x"]]}]}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("values[0]"), "{e}");
        // The CSV trace's value checks hold here too, located at the sample.
        for (series, want) in [
            (
                r#"{"__name__":"resource_cpu","pod":"w-1"}"#,
                "resource usage",
            ),
            (r#"{"__name__":"ready_pods"}"#, "whole number of pods"),
        ] {
            let text = format!(
                r#"{{"data":{{"result":[{{"metric":{series},"values":[[1,"3"],[2,"-1.5"]]}}]}}}}"#
            );
            let e = load_trace(Path::new("q.json"), &text)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("data.result[0].values[1]") && e.contains(want),
                "{e}"
            );
        }
        // Per-pod 0/1 readiness averages to half a pod: refused as the CSV would.
        let halves = r#"{"data":{"result":[
            {"metric":{"__name__":"ready_pods","pod":"a"},"values":[[1,"1"]]},
            {"metric":{"__name__":"ready_pods","pod":"b"},"values":[[1,"0"]]}]}}"#;
        let e = load_trace(Path::new("q.json"), halves)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ready_pods at t = 0 s") && e.contains("0.5"),
            "{e}"
        );
        // A negative External value is a value like any other.
        let ok =
            r#"{"data":{"result":[{"metric":{"__name__":"external_lag"},"values":[[1,"-2"]]}]}}"#;
        assert!(load_trace(Path::new("q.json"), ok).is_ok());
    }
}
