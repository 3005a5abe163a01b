//! Measured points: one load level each, from a CSV (calibration.md §4) or a k6 end-of-test
//! summary (`k6 run --summary-export`, `handleSummary` data, or surge's own `summary.json`).

use crate::error::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    /// Closed: `load` virtual users.
    Closed,
    /// Open: `load` arrivals per second.
    Open,
}

impl LoadKind {
    /// As a measured CSV's `kind` column and the outputs write it.
    pub fn name(self) -> &'static str {
        match self {
            LoadKind::Closed => "closed",
            LoadKind::Open => "open",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Fit,
    Holdout,
}

/// One measured load level. Latencies in seconds; `None` means "not measured".
#[derive(Clone, Debug)]
pub struct Point {
    pub source: String,
    pub kind: LoadKind,
    pub load: f64,
    pub throughput: f64,
    pub lat_mean: f64,
    pub lat_p95: Option<f64>,
    pub error_rate: Option<f64>,
    pub think: Option<f64>,
    /// Busy fraction of a resource's cores, keyed by resource name as the CSV gives it.
    pub util: Vec<(String, f64)>,
    /// Core-seconds per request at a resource.
    pub cpu_s: Vec<(String, f64)>,
    pub role: Role,
    /// (VUs, iterations/s, iteration duration s) when a k6 summary has them: the Little check.
    pub iterations: Option<(f64, f64, f64)>,
    /// Iterations an arrival-rate executor dropped (k6's `dropped_iterations` count).
    pub dropped: Option<f64>,
}

/// What a `--measured FILE@...` suffix says.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadSpec {
    /// `@N` (closed VUs) or `@R/s` (open arrivals per second): a summary's load.
    Level(LoadKind, f64),
    /// `@closed` or `@open`: which kind of run a k6 time series is.
    Kind(LoadKind),
    /// `@scenario=NAME`: only that scenario of a k6 time series.
    Scenario(String),
}

/// `FILE[@LOAD]`: LOAD is `N` (closed VUs), `R/s` (open arrivals per second), `closed` /
/// `open` (a time series' kind), or `scenario=NAME` (one scenario of a time series).
pub fn parse_spec(spec: &str) -> Result<(PathBuf, Option<LoadSpec>)> {
    let (file, load) = match spec.rsplit_once('@') {
        Some((f, l)) if !f.is_empty() => (f, Some(l)),
        _ => (spec, None),
    };
    let load = match load {
        None => None,
        Some("open") => Some(LoadSpec::Kind(LoadKind::Open)),
        Some("closed") => Some(LoadSpec::Kind(LoadKind::Closed)),
        Some(l) if l.starts_with("scenario=") => {
            let name = &l["scenario=".len()..];
            if name.is_empty() {
                return Err(Error::Usage(format!(
                    "--measured {spec:?}: expected a scenario name after 'scenario='"
                )));
            }
            Some(LoadSpec::Scenario(name.to_string()))
        }
        Some(l) => {
            let (kind, num) = match l.strip_suffix("/s") {
                Some(n) => (LoadKind::Open, n),
                None => (LoadKind::Closed, l),
            };
            let v: f64 = num.trim().parse().map_err(|_| {
                Error::Usage(format!(
                    "--measured {spec:?}: expected FILE@N (VUs), FILE@R/s (arrivals per second) or, for a k6 time series, FILE@open, FILE@closed or FILE@scenario=NAME after '@', found {l:?}"
                ))
            })?;
            Some(LoadSpec::Level(kind, v))
        }
    };
    Ok((PathBuf::from(file), load))
}

pub fn load_file(spec: &str) -> Result<Vec<Point>> {
    let (path, load) = parse_spec(spec)?;
    let pts = read_points(spec, &path, load)?;
    for p in &pts {
        check_point(&path, p)?;
    }
    Ok(pts)
}

/// The points of one `--measured` file, in whichever format it is.
fn read_points(spec: &str, path: &Path, load: Option<LoadSpec>) -> Result<Vec<Point>> {
    let drop_load = |why: &str| {
        Err(Error::Usage(format!(
            "--measured {spec:?}: {why}; drop the '@'"
        )))
    };
    // A k6 time series (`--out json`/`--out csv`) can be far larger than any other input: it is
    // recognised from its first line and streamed, never read whole.
    if let Some(format) = super::stream::detect(&head(path)?) {
        return match &load {
            None => super::stream::from_stream(path, format, None),
            Some(LoadSpec::Kind(k)) => super::stream::from_stream(path, format, Some(*k)),
            Some(LoadSpec::Scenario(n)) => super::stream::scenario_from_stream(path, format, n),
            Some(LoadSpec::Level(..)) => drop_load(
                "a k6 time series gives each level from its holds (say FILE@open or \
                 FILE@closed to choose how they are read)",
            ),
        };
    }
    let level = match &load {
        Some(LoadSpec::Kind(_) | LoadSpec::Scenario(_)) => {
            return Err(Error::Usage(format!(
                "--measured {spec:?}: @open, @closed and @scenario= say how to read a k6 time \
                 series (`--out json`/`--out csv`); this file is not one: give a summary's load \
                 as FILE@N (VUs) or FILE@R/s"
            )))
        }
        Some(LoadSpec::Level(k, v)) => Some((*k, *v)),
        None => None,
    };
    let text = crate::config::read_text(path)?;
    if path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{') {
        return Ok(vec![from_k6(path, &text, level)?]);
    }
    if load.is_some() {
        return drop_load("a CSV gives each row's load in its `load` column");
    }
    from_csv(path, &text)
}

/// What a `--measured` file should be, for messages about one that is not.
const MEASURED: &str = "measured points: a calibration CSV, a k6 end-of-test summary (JSON) or \
                        a k6 time series (`k6 run --out json|csv`)";

/// The file's first 4 KiB (up to a character boundary), to recognise its format.
fn head(path: &Path) -> Result<String> {
    use std::io::Read;
    let f = crate::config::open_input(path, MEASURED)?;
    // The file is read more than once (its head, then in full or in two passes): a pipe or
    // FIFO would lose what the first read took, and one without a writer never ends.
    if crate::config::is_fifo(&f) {
        return Err(Error::input(
            path,
            "",
            format!(
                "a pipe or FIFO; expected a regular file, as the measurements are read more \
                 than once: {MEASURED}"
            ),
        ));
    }
    let mut buf = Vec::new();
    f.take(4096)
        .read_to_end(&mut buf)
        .map_err(|e| crate::config::cannot_read(path, e))?;
    Ok(match std::str::from_utf8(&buf) {
        Ok(s) => s.to_string(),
        Err(e) => String::from_utf8_lossy(&buf[..e.valid_up_to()]).into_owned(),
    })
}

fn check_point(path: &Path, p: &Point) -> Result<()> {
    let bad =
        |field: &str, msg: String| Err(Error::input(path, format!("{} {field}", p.source), msg));
    if !(p.load.is_finite() && p.load > 0.0) {
        return bad(
            "load",
            format!("expected a load above zero, found {}", p.load),
        );
    }
    if !(p.throughput.is_finite() && p.throughput > 0.0) {
        return bad(
            "throughput",
            format!("expected a throughput above zero, found {}", p.throughput),
        );
    }
    if !(p.lat_mean.is_finite() && p.lat_mean > 0.0) {
        return bad(
            "mean latency",
            format!("expected a mean latency above zero, found {}", p.lat_mean),
        );
    }
    if let Some(x) = p.lat_p95 {
        if !(x.is_finite() && x > 0.0) {
            return bad("p95 latency", format!("expected above zero, found {x}"));
        }
    }
    if let Some(e) = p.error_rate {
        if !(e.is_finite() && (0.0..=1.0).contains(&e)) {
            return bad(
                "error_rate",
                format!("expected a fraction of failed requests in [0, 1], found {e}"),
            );
        }
    }
    if let Some(z) = p.think {
        if !(z.is_finite() && z >= 0.0) {
            return bad(
                "think_s",
                format!("expected a think time in seconds >= 0, found {z}"),
            );
        }
    }
    if p.kind == LoadKind::Closed && p.load.fract() != 0.0 {
        return bad(
            "load",
            format!(
                "expected a whole number of VUs for a closed point, found {}",
                p.load
            ),
        );
    }
    for (n, u) in &p.util {
        if !(u.is_finite() && *u > 0.0) {
            return bad(
                &format!("util.{n}"),
                format!("expected a busy fraction above zero, found {u}"),
            );
        }
    }
    for (n, c) in &p.cpu_s {
        if !(c.is_finite() && *c > 0.0) {
            return bad(
                &format!("cpu_s.{n}"),
                format!("expected core-seconds per request above zero, found {c}"),
            );
        }
    }
    Ok(())
}

const CSV_FIXED: [&str; 12] = [
    "kind",
    "load",
    "throughput",
    "lat_mean_ms",
    "lat_p50_ms",
    "lat_p95_ms",
    "lat_p99_ms",
    "error_rate",
    "think_s",
    "duration_s",
    "role",
    "",
];

/// The calibration CSV: one row per level, `#` comments, empty cells = not measured.
pub fn from_csv(path: &Path, text: &str) -> Result<Vec<Point>> {
    // Spreadsheet exports often start with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((hline, header)) = lines.next() else {
        return Err(Error::input(
            path,
            "",
            "no header line: expected kind,load,throughput,lat_mean_ms,...",
        ));
    };
    let cols: Vec<String> = header.split(',').map(|c| c.trim().to_string()).collect();
    for (i, c) in cols.iter().enumerate() {
        let known = CSV_FIXED.contains(&c.as_str()) && !c.is_empty()
            || c.strip_prefix("util.").is_some_and(|s| !s.is_empty())
            || c.strip_prefix("cpu_s.").is_some_and(|s| !s.is_empty());
        if !known {
            return Err(Error::input(
                path,
                format!("line {hline}, column {}", i + 1),
                format!(
                    "unknown column {c:?}; expected kind, load, throughput, lat_mean_ms, lat_p50_ms, \
                     lat_p95_ms, lat_p99_ms, error_rate, think_s, duration_s, role, util.<resource> \
                     or cpu_s.<resource>"
                ),
            ));
        }
    }
    // Each column's index, looked up per cell: a search of the header per cell made a file of
    // 20,000 `util.` columns take minutes (rows × columns²).
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, c) in cols.iter().enumerate() {
        if let Some(&j) = index.get(c.as_str()) {
            return Err(Error::input(
                path,
                format!("line {hline}, column {}", i + 1),
                format!(
                    "duplicate column {c:?} (also column {}): expected each column once",
                    j + 1
                ),
            ));
        }
        index.insert(c, i);
    }
    for need in ["load", "throughput", "lat_mean_ms"] {
        if !index.contains_key(need) {
            return Err(Error::input(
                path,
                format!("line {hline}"),
                format!("missing column {need:?} (needed for every point)"),
            ));
        }
    }
    let mut out = Vec::new();
    for (ln, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != cols.len() {
            return Err(Error::input(
                path,
                format!("line {ln}"),
                format!(
                    "expected {} cells as in the header, found {}",
                    cols.len(),
                    cells.len()
                ),
            ));
        }
        let get = |name: &str| -> Option<&str> {
            index.get(name).map(|&i| cells[i]).filter(|v| !v.is_empty())
        };
        let num = |name: &str| -> Result<Option<f64>> {
            match get(name) {
                None => Ok(None),
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| {
                        Error::input(
                            path,
                            format!("line {ln}, column {name}"),
                            format!("expected a finite number, found {v:?}"),
                        )
                    }),
            }
        };
        let need = |name: &str| -> Result<f64> {
            num(name)?.ok_or_else(|| {
                Error::input(
                    path,
                    format!("line {ln}, column {name}"),
                    "empty: this column is needed for every point",
                )
            })
        };
        let kind = match get("kind").unwrap_or("closed") {
            "closed" => LoadKind::Closed,
            "open" => LoadKind::Open,
            k => {
                return Err(Error::input(
                    path,
                    format!("line {ln}, column kind"),
                    format!("expected closed or open, found {k:?}"),
                ))
            }
        };
        let role = match get("role").unwrap_or("fit") {
            "fit" => Role::Fit,
            "holdout" => Role::Holdout,
            r => {
                return Err(Error::input(
                    path,
                    format!("line {ln}, column role"),
                    format!("expected fit or holdout, found {r:?}"),
                ))
            }
        };
        // Validated though not fitted: a cell that is not a number is a broken row.
        for name in ["lat_p50_ms", "lat_p99_ms", "duration_s"] {
            if let Some(v) = num(name)? {
                if v <= 0.0 {
                    return Err(Error::input(
                        path,
                        format!("line {ln}, column {name}"),
                        format!("expected a number above zero, found {v}"),
                    ));
                }
            }
        }
        let mut util = Vec::new();
        let mut cpu_s = Vec::new();
        for c in &cols {
            if let Some(n) = c.strip_prefix("util.") {
                if let Some(v) = num(c)? {
                    util.push((n.to_string(), v));
                }
            } else if let Some(n) = c.strip_prefix("cpu_s.") {
                if let Some(v) = num(c)? {
                    cpu_s.push((n.to_string(), v));
                }
            }
        }
        out.push(Point {
            source: format!("line {ln}:"),
            kind,
            load: need("load")?,
            throughput: need("throughput")?,
            lat_mean: need("lat_mean_ms")? / 1000.0,
            lat_p95: num("lat_p95_ms")?.map(|v| v / 1000.0),
            error_rate: num("error_rate")?,
            think: num("think_s")?,
            util,
            cpu_s,
            role,
            iterations: None,
            dropped: None,
        });
    }
    if out.is_empty() {
        return Err(Error::input(path, "", "no data rows"));
    }
    Ok(out)
}

/// A k6 summary in any of its shapes: `--summary-export` (values at the metric), or
/// `handleSummary` data and surge's summary.json (values under `.values`).
pub fn from_k6(path: &Path, text: &str, load: Option<(LoadKind, f64)>) -> Result<Point> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        Error::input(
            path,
            format!("line {}, column {}", e.line(), e.column()),
            format!("not valid JSON: {e}"),
        )
    })?;
    let machine = machine_readable(&v);
    let metrics = machine
        .as_ref()
        .or_else(|| v.get("metrics").and_then(Value::as_object))
        .ok_or_else(|| {
            Error::input(
                path,
                "metrics",
                "missing: expected a k6 end-of-test summary with a `metrics` object",
            )
        })?;
    let val = |metric: &str, key: &str| -> Option<f64> {
        let m = metrics.get(metric)?;
        m.get("values")
            .and_then(|vs| vs.get(key))
            .or_else(|| m.get(key))
            .and_then(Value::as_f64)
    };
    let need = |metric: &str, key: &str| -> Result<f64> {
        val(metric, key).ok_or_else(|| {
            Error::input(
                path,
                format!("metrics.{metric}.{key}"),
                "missing: needed for a calibration point",
            )
        })
    };
    let (kind, level) =
        match load {
            Some(l) => l,
            None => match val("vus_max", "value").or_else(|| val("vus_max", "max")) {
                Some(n) => (LoadKind::Closed, n),
                None => return Err(Error::input(
                    path,
                    "metrics.vus_max",
                    "missing: give the load level on the command line as FILE@N (VUs) or FILE@R/s",
                )),
            },
        };
    // A summary whose active VUs went from one count to another mixed several levels (a
    // ramping-vus run): its averages describe none of them (calibration.md §4). A minimum of 0
    // is a sample taken as the VUs started or stopped (surge's own summary.json records one),
    // not a level; k6's ramping-vus starts at `startVUs`, 1 by default.
    if kind == LoadKind::Closed {
        if let (Some(lo), Some(hi)) = (val("vus", "min"), val("vus", "max")) {
            if lo > 0.0 && lo != hi {
                return Err(Error::input(
                    path,
                    "metrics.vus",
                    format!(
                        "min {lo} ≠ max {hi}: the active VUs changed during the run (ramping), so \
                         the summary is not one steady level; expected a constant-vus run, one \
                         summary per level"
                    ),
                ));
            }
        }
    }
    let throughput = need("http_reqs", "rate")?;
    let lat_mean = need("http_req_duration", "avg")? / 1000.0;
    let lat_p95 = val("http_req_duration", "p(95)").map(|x| x / 1000.0);
    let error_rate = val("http_req_failed", "value").or_else(|| val("http_req_failed", "rate"));
    let iterations = match (val("iterations", "rate"), val("iteration_duration", "avg")) {
        (Some(r), Some(d)) if kind == LoadKind::Closed => Some((level, r, d / 1000.0)),
        _ => None,
    };
    Ok(Point {
        source: "summary:".into(),
        kind,
        load: level,
        throughput,
        lat_mean,
        lat_p95,
        error_rate,
        think: None,
        util: Vec::new(),
        cpu_s: Vec::new(),
        role: Role::Fit,
        iterations,
        dropped: val("dropped_iterations", "count"),
    })
}

/// k6's `--new-machine-readable-summary` (`internal/lib/summary/machine_readable.go`):
/// `results.metrics[]` of `{name, type, contains, values}`, reshaped like handleSummary data.
/// Counters carry only `count`; their rate is count ÷ `config.duration` (seconds).
fn machine_readable(v: &Value) -> Option<serde_json::Map<String, Value>> {
    let arr = v.pointer("/results/metrics")?.as_array()?;
    let secs = v.pointer("/config/duration").and_then(Value::as_f64);
    let mut out = serde_json::Map::new();
    for m in arr {
        let Some(name) = m.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut values = m.get("values").cloned().unwrap_or(Value::Null);
        if m.get("type").and_then(Value::as_str) == Some("counter") && values.get("rate").is_none()
        {
            if let (Some(c), Some(d)) = (values.get("count").and_then(Value::as_f64), secs) {
                if d > 0.0 {
                    values["rate"] = serde_json::json!(c / d);
                }
            }
        }
        out.insert(name.to_string(), serde_json::json!({ "values": values }));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_parse_with_optional_cells_and_comments() {
        let t = "# measured\nkind,load,throughput,lat_mean_ms,lat_p95_ms,util.db,cpu_s.db,role\n\
                 closed,4,400,10,,0.5,0.0025,fit\nclosed,16,800,20,40,0.9,,holdout\n";
        let p = from_csv(Path::new("m.csv"), t).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].lat_p95, None);
        assert_eq!(p[0].util, vec![("db".to_string(), 0.5)]);
        assert_eq!(p[1].role, Role::Holdout);
        assert!(p[1].cpu_s.is_empty());
        assert!((p[1].lat_p95.unwrap() - 0.04).abs() < 1e-12);
        // The same file saved with a byte-order mark reads the same.
        let bom = from_csv(Path::new("m.csv"), &format!("\u{feff}{t}")).unwrap();
        assert_eq!(bom.len(), 2);
        assert_eq!(bom[1].role, Role::Holdout);
    }

    #[test]
    fn csv_errors_are_located() {
        let e = from_csv(
            Path::new("m.csv"),
            "load,throughput,lat_mean_ms,bogus\n1,2,3,4\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 1, column 4") && e.contains("bogus"), "{e}");
        let e = from_csv(Path::new("m.csv"), "load,lat_mean_ms\n1,2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("throughput"), "{e}");
        let e = from_csv(Path::new("m.csv"), "load,throughput,lat_mean_ms\n1,x,3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, column throughput"), "{e}");
    }

    #[test]
    fn k6_summary_export_and_handle_summary_shapes() {
        let export = r#"{"metrics":{"http_reqs":{"count":1000,"rate":100},
            "http_req_duration":{"avg":20,"p(95)":45},"http_req_failed":{"value":0.01},
            "vus_max":{"value":8,"min":8,"max":8},
            "iterations":{"rate":50},"iteration_duration":{"avg":160}}}"#;
        let p = from_k6(Path::new("s.json"), export, None).unwrap();
        assert_eq!((p.kind, p.load), (LoadKind::Closed, 8.0));
        assert!((p.lat_mean - 0.02).abs() < 1e-12 && (p.lat_p95.unwrap() - 0.045).abs() < 1e-12);
        assert_eq!(p.error_rate, Some(0.01));
        let handle = r#"{"metrics":{"http_reqs":{"values":{"rate":100}},
            "http_req_duration":{"values":{"avg":20}}}}"#;
        let e = from_k6(Path::new("s.json"), handle, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("vus_max"), "{e}");
        let p = from_k6(Path::new("s.json"), handle, Some((LoadKind::Open, 120.0))).unwrap();
        assert_eq!((p.kind, p.load), (LoadKind::Open, 120.0));
        let machine = r#"{"config":{"duration":50},"results":{"metrics":[
            {"name":"http_reqs","type":"counter","contains":"default","values":{"count":5000}},
            {"name":"http_req_duration","type":"trend","contains":"time","values":{"avg":12.5,"p(95)":30}},
            {"name":"http_req_failed","type":"rate","contains":"default","values":{"matches":5,"total":5000,"rate":0.001}},
            {"name":"vus_max","type":"gauge","contains":"default","values":{"value":16}}]}}"#;
        let p = from_k6(Path::new("m.json"), machine, None).unwrap();
        assert_eq!((p.kind, p.load), (LoadKind::Closed, 16.0));
        assert!((p.throughput - 100.0).abs() < 1e-12 && (p.lat_mean - 0.0125).abs() < 1e-12);
        assert_eq!(p.error_rate, Some(0.001));
    }

    /// Audit c1: every bad cell exits 2 naming the file, the line and the column, and what
    /// was expected.
    #[test]
    fn csv_gaps_are_refused_with_a_location() {
        let h = "kind,load,throughput,lat_mean_ms,lat_p50_ms,lat_p99_ms,error_rate,think_s,duration_s\n";
        let cases = [
            (
                "closed,4,400,10,,,NaN,,",
                "line 2, column error_rate",
                "finite number",
            ),
            ("closed,4,400,10,,,-0.1,,", "line 2: error_rate", "[0, 1]"),
            ("closed,4,400,10,,,1.5,,", "line 2: error_rate", "[0, 1]"),
            ("closed,4,400,10,,,,-1,", "line 2: think_s", ">= 0"),
            (
                "closed,4,400,10,abc,,,,",
                "line 2, column lat_p50_ms",
                "number",
            ),
            (
                "closed,4,400,10,,x,,,",
                "line 2, column lat_p99_ms",
                "number",
            ),
            (
                "closed,4,400,10,,,,,5m",
                "line 2, column duration_s",
                "number",
            ),
            (
                "closed,2.5,400,10,,,,,",
                "line 2: load",
                "whole number of VUs",
            ),
        ];
        for (row, at, want) in cases {
            let text = format!("{h}{row}\n");
            let e = from_csv(Path::new("m.csv"), &text)
                .and_then(|pts| {
                    pts.iter()
                        .try_for_each(|p| check_point(Path::new("m.csv"), p))
                })
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("m.csv") && e.contains(at) && e.contains(want),
                "{row}: want {at:?} and {want:?} in {e}"
            );
        }
        // An open point may carry a fractional rate.
        let ok = from_csv(
            Path::new("m.csv"),
            "kind,load,throughput,lat_mean_ms\nopen,2.5,2.5,10\n",
        )
        .unwrap();
        assert!(check_point(Path::new("m.csv"), &ok[0]).is_ok());
        let e = from_csv(
            Path::new("m.csv"),
            "load,throughput,lat_mean_ms,throughput\n1,2,3,4\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("line 1, column 4") && e.contains("duplicate"),
            "{e}"
        );
    }

    /// A ramping-vus summary (active VUs from 1 to 8) is not one level: refused, naming
    /// `metrics.vus`. Dropped iterations are read for the before-fit check.
    #[test]
    fn k6_ramping_summary_is_refused_and_dropped_iterations_read() {
        let ramp = r#"{"metrics":{"http_reqs":{"count":1000,"rate":100},
            "http_req_duration":{"avg":20},"vus":{"value":1,"min":1,"max":8},
            "vus_max":{"value":8,"min":8,"max":8}}}"#;
        let e = from_k6(Path::new("r.json"), ramp, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("r.json") && e.contains("metrics.vus") && e.contains("ramping"),
            "{e}"
        );
        let open = r#"{"metrics":{"http_reqs":{"count":1000,"rate":100},
            "http_req_duration":{"avg":20},"dropped_iterations":{"count":500,"rate":8}}}"#;
        let p = from_k6(Path::new("o.json"), open, Some((LoadKind::Open, 120.0))).unwrap();
        assert_eq!(p.dropped, Some(500.0));
    }
}
