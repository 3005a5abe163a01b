//! `surge hpa replay`: a recorded metric trace through one or more HPA configurations, each
//! deciding with the real controller logic (`hpa.rs`) on the replica count it produced itself.
//!
//! The trace is a CSV file (docs/autoscaling.md, "Replaying a metric trace"):
//! - `t_s`: seconds, strictly increasing;
//! - one column per HPA metric, named after the metric's label with `/` as `_`
//!   (`resource_cpu`, `pods_http_requests_per_second`, `external_queue_depth`), optionally
//!   prefixed `<service>_hpa_` (surge's own `timeseries.csv` has `web_hpa_resource_cpu`).
//!   Resource Utilization metrics hold the average utilization in percent of requests; other
//!   Resource and Pods metrics the per-pod average; Object and External metrics the value.
//!   Empty or `NaN` means the metric was unavailable;
//! - the ready pods the values were averaged over: `ready_pods`, or surge's
//!   `<service>_hpa_pods` (else `<service>_ready_pods`);
//! - optionally when each row's values were read (`<service>_hpa_sync_s`, surge's own: the
//!   sync that read them), else `t_s`; and the recorded replicas (`replicas` or
//!   `<service>_replicas`), the starting count unless `--initial` is given.
//!
//! Replay: the HPA syncs every `sync_s` from 0. Per-pod values carry load: the total (value ×
//! recorded ready pods) is shared evenly over the replayed deployment's ready pods. A new pod is
//! Pending for `pod_startup_s`, then Ready without metrics for `metrics_delay_s` (metrics-server
//! needs two scrapes), then Ready with metrics. Scale-down removes not-yet-ready pods first, then
//! the newest, as the simulator does.

use super::hpa::{ControllerOptions, CpuSample, HpaController, HpaInput, PodSample};
use super::hpa_config::{HorizontalPodAutoscaler, MetricSpec};
use crate::error::{Error, Result};
use std::path::Path;

/// A parsed trace: numeric columns by header name.
#[derive(Clone, Debug)]
pub struct Trace {
    pub file: String,
    pub columns: Vec<String>,
    /// `rows[i][j]`: row i, column j (NaN = empty).
    pub rows: Vec<Vec<f64>>,
}

impl Trace {
    /// Parse the CSV text; every error names the file, line and column.
    pub fn parse(path: &Path, text: &str) -> Result<Trace> {
        // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first column's name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(Error::input(
                path,
                "line 1",
                "empty trace: expected a header row starting with t_s",
            ));
        };
        let columns: Vec<String> = header
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .collect();
        let Some(ti) = columns.iter().position(|c| c == "t_s") else {
            return Err(Error::input(
                path,
                "line 1",
                format!(
                    "no t_s column (seconds); the header has: {}{}",
                    columns
                        .iter()
                        .take(20)
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    if columns.len() > 20 {
                        format!(", … ({} columns)", columns.len())
                    } else {
                        String::new()
                    }
                ),
            ));
        };
        // Where each name was first seen (not a search of the columns before: quadratic in a
        // header of 100,000 columns).
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (k, c) in columns.iter().enumerate() {
            if let Some(&first) = seen.get(c.as_str()) {
                return Err(Error::input(
                    path,
                    format!("line 1, column {c}"),
                    format!(
                        "the column {c:?} appears twice (fields {} and {}); expected each \
                         column once: which one the replay should read is ambiguous",
                        first + 1,
                        k + 1
                    ),
                ));
            }
            seen.insert(c, k);
        }
        let kinds: Vec<ColumnKind> = columns.iter().map(|c| ColumnKind::of(c)).collect();
        let mut rows: Vec<Vec<f64>> = Vec::new();
        for (i, line) in lines {
            let at = i + 1;
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != columns.len() {
                return Err(Error::input(
                    path,
                    format!("line {at}"),
                    format!(
                        "expected {} fields like the header, got {}",
                        columns.len(),
                        cells.len()
                    ),
                ));
            }
            let mut row = Vec::with_capacity(cells.len());
            for (c, cell) in cells.iter().enumerate() {
                let v = cell.trim().trim_matches('"');
                let x = if v.is_empty() || v.eq_ignore_ascii_case("nan") {
                    f64::NAN
                } else {
                    v.parse::<f64>().map_err(|_| {
                        Error::input(
                            path,
                            format!("line {at}, column {}", columns[c]),
                            format!("expected a number, got {v:?}"),
                        )
                    })?
                };
                if x.is_infinite() {
                    return Err(Error::input(
                        path,
                        format!("line {at}, column {}", columns[c]),
                        "expected a finite number",
                    ));
                }
                if let Some(expected) = kinds[c].refuses(x) {
                    return Err(Error::input(
                        path,
                        format!("line {at}, column {}", columns[c]),
                        format!("expected {expected}, got {v}"),
                    ));
                }
                row.push(x);
            }
            let t = row[ti];
            if !t.is_finite() || t < 0.0 {
                return Err(Error::input(
                    path,
                    format!("line {at}, column t_s"),
                    "expected a time in seconds, 0 or more",
                ));
            }
            if let Some(prev) = rows.last() {
                if t <= prev[ti] {
                    return Err(Error::input(
                        path,
                        format!("line {at}, column t_s"),
                        format!("times must increase: {t} is not after {}", prev[ti]),
                    ));
                }
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(Error::input(
                path,
                "line 2",
                "the trace has a header but no rows",
            ));
        }
        Ok(Trace {
            file: path.display().to_string(),
            columns,
            rows,
        })
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The column for metric key `key` (label with `/` as `_`): exactly `key`, or
    /// `<service>_hpa_<key>` (any service when `service` is None, if only one matches).
    fn metric_col(&self, key: &str, service: Option<&str>) -> std::result::Result<usize, String> {
        if let Some(i) = self.col(key) {
            return Ok(i);
        }
        let suffix = format!("_hpa_{key}");
        let hits: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| match service {
                Some(s) => **c == format!("{s}{suffix}"),
                None => c.ends_with(&suffix),
            })
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [i] => Ok(*i),
            [] => Err(format!(
                "no column for metric {key:?}: expected {key:?} or \"<service>_hpa_{key}\"; the header has: {}",
                self.columns.join(", ")
            )),
            _ => Err(format!(
                "several columns end in {suffix:?}; name the service with --service"
            )),
        }
    }

    /// The services whose columns the trace has: `<service>_hpa_…`, `<service>_ready_pods`,
    /// `<service>_replicas` (surge's `timeseries.csv`), sorted.
    pub fn services(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .columns
            .iter()
            .filter_map(|c| {
                c.find("_hpa_")
                    .map(|i| &c[..i])
                    .or_else(|| c.strip_suffix("_ready_pods"))
                    .or_else(|| c.strip_suffix("_replicas"))
            })
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// `--service NAME`: refused unless the trace has that service's columns.
    pub fn check_service(&self, service: &str) -> Result<()> {
        let services = self.services();
        if services.iter().any(|s| s == service) {
            return Ok(());
        }
        let has = if services.is_empty() {
            format!(
                "it has no per-service columns (its header: {}), so leave --service out",
                self.columns.join(", ")
            )
        } else {
            format!("the services it has columns for: {}", services.join(", "))
        };
        Err(Error::input(
            Path::new(&self.file),
            "line 1",
            format!(
                "--service {service}: the trace has no columns of service {service:?} \
                 (`{service}_hpa_…`, `{service}_ready_pods` or `{service}_replicas`); {has}"
            ),
        ))
    }

    /// The service a `<service>_hpa_<key>` column belongs to.
    fn service_of(&self, col: usize, key: &str) -> Option<String> {
        self.columns[col]
            .strip_suffix(&format!("_hpa_{key}"))
            .map(|s| s.to_string())
    }
}

/// What a trace column holds, by its name, for the checks every value must pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ColumnKind {
    /// Seconds into the trace (`t_s`, surge's `<service>_hpa_sync_s`): 0 to [`MAX_TRACE_S`].
    Time,
    /// Pods or replicas (`ready_pods`, `replicas`, `<service>_hpa_pods`, `…_ready_pods`,
    /// `…_replicas`): a whole number from 0 to [`MAX_PODS`].
    Count,
    /// A Resource metric (`resource_cpu`, `<service>_hpa_resource_memory`): usage or percent of
    /// requests, 0 or more.
    Resource,
    Other,
}

impl ColumnKind {
    pub(crate) fn of(name: &str) -> ColumnKind {
        if name == "t_s" || name.ends_with("_hpa_sync_s") {
            ColumnKind::Time
        } else if name == "ready_pods"
            || name == "replicas"
            || name.ends_with("_ready_pods")
            || name.ends_with("_hpa_pods")
            || name.ends_with("_replicas")
        {
            ColumnKind::Count
        } else if name.starts_with("resource_") || name.contains("_hpa_resource_") {
            ColumnKind::Resource
        } else {
            ColumnKind::Other
        }
    }

    /// What was expected, if `x` (finite or NaN for empty) is not a value this column can hold.
    pub(crate) fn refuses(self, x: f64) -> Option<String> {
        if x.is_nan() {
            return None;
        }
        match self {
            ColumnKind::Time if !(0.0..=MAX_TRACE_S).contains(&x) => Some(format!(
                "a time in seconds from 0 to {MAX_TRACE_S} (10 years: a replay steps through \
                 every HPA sync of the trace)"
            )),
            ColumnKind::Count if !(0.0..=f64::from(MAX_PODS)).contains(&x) || x.fract() != 0.0 => {
                Some(format!(
                    "a whole number of pods from 0 to {MAX_PODS} (Kubernetes' limit of pods \
                     per cluster)"
                ))
            }
            ColumnKind::Resource if x < 0.0 => Some(
                "a resource usage (cores, bytes or percent of requests), 0 or more".to_string(),
            ),
            _ => None,
        }
    }
}

/// Replay settings (CLI flags).
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub sync_s: f64,
    pub pod_startup_s: f64,
    pub metrics_delay_s: f64,
    pub initial: Option<u32>,
    pub service: Option<String>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            sync_s: 15.0,
            pod_startup_s: 30.0,
            metrics_delay_s: 15.0,
            initial: None,
            service: None,
        }
    }
}

/// One scale decision during a replay.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayEvent {
    pub t_s: f64,
    pub from: u32,
    pub to: u32,
    pub driving_metric: String,
    pub limited_by: String,
    pub proposals: String,
}

/// One HPA's trajectory: at every sync, the replica count after it and the ready pods before it.
#[derive(Clone, Debug)]
pub struct Replayed {
    pub name: String,
    pub t_s: Vec<f64>,
    pub replicas: Vec<u32>,
    pub ready: Vec<u32>,
    pub events: Vec<ReplayEvent>,
}

/// How each metric's column is read.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Use {
    CpuUtilization,
    CpuAverage,
    MemoryUtilization,
    MemoryAverage,
    Pods,
    Value,
    Unsupported,
}

/// Load and validate an HPA manifest as `surge run` and `surge validate` read one
/// (`hpa_import`): multi-document files (other kinds skipped), `autoscaling/v1`, `v2beta1` and
/// `v2beta2` converted to `v2`. A replay follows one HPA per file.
pub fn load_hpa(path: &Path) -> Result<HorizontalPodAutoscaler> {
    let text = crate::config::read_text(path)?;
    let (mut hpas, _ignored) = super::hpa_import::load_all(path, &text)?;
    match hpas.len() {
        1 => Ok(hpas.remove(0).hpa),
        // No HPA at all: the importer's own error, which lists what the file does hold.
        0 => super::hpa_import::load_for_service(path, &text, "").map(|i| i.hpa),
        n => Err(Error::input(
            path,
            format!("line {}", hpas[1].line),
            format!(
                "expected one HorizontalPodAutoscaler per file for a replay, found {n}: {}; \
                 put each in its own file and pass one --hpa per file",
                hpas.iter()
                    .map(|i| format!("{:?} (line {})", i.hpa.metadata.name, i.line))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The most pods a replay follows (it keeps one per replica and samples each at every sync):
/// Kubernetes' own limit of pods per cluster. `--initial 4294967295` allocated 32 GiB.
const MAX_PODS: u32 = 150_000;

/// The longest trace a replay reads, in seconds (10 years): times beyond are not a recording.
pub(crate) const MAX_TRACE_S: f64 = 10.0 * 365.0 * 86_400.0;

/// The most HPA syncs a replay runs.
const MAX_SYNCS: u64 = 1_000_000;

/// The most work a replay does, in units of one pod sampled or one stored recommendation
/// scanned at a sync (a few seconds). The syncs alone are bounded by MAX_SYNCS, but each one
/// samples every pod and scans the stabilization window's recommendations: `--sync 1ms` over
/// five minutes with the default 300 s window is 3e5 syncs of up to 3e5 recommendations each.
const MAX_WORK: u64 = 2_000_000_000;

/// Memory requests are notional in a replay: utilization values are percent of this.
const MEM_REQUEST: f64 = 100.0;

/// Replay `trace` through one HPA. Errors name the trace (missing columns).
pub fn replay(
    hpa: &HorizontalPodAutoscaler,
    name: &str,
    trace: &Trace,
    o: &ReplayOptions,
) -> Result<Replayed> {
    let bad = |m: String| Error::input(Path::new(&trace.file), "line 1", m);
    let specs = hpa.spec.effective_metrics();
    let ctl_opts = ControllerOptions {
        sync_period_s: o.sync_s,
        ..ControllerOptions::default()
    };
    let mut ctl = HpaController::new(&hpa.spec, 0.0, ctl_opts);
    let labels = ctl.metric_labels();
    let mut uses = Vec::new();
    let mut cols = Vec::new();
    let mut service = o.service.clone();
    for (spec, label) in specs.iter().zip(&labels) {
        let key = label.replace('/', "_");
        let u = match spec {
            MetricSpec::Resource { resource } => {
                let util = super::driver::reads_utilization(&resource.target);
                match (resource.name.as_str(), util) {
                    ("memory", true) => Use::MemoryUtilization,
                    ("memory", false) => Use::MemoryAverage,
                    (_, true) => Use::CpuUtilization,
                    (_, false) => Use::CpuAverage,
                }
            }
            MetricSpec::Pods { .. } => Use::Pods,
            MetricSpec::Object { .. } | MetricSpec::External { .. } => Use::Value,
            MetricSpec::ContainerResource { .. } => Use::Unsupported,
        };
        uses.push(u);
        if u == Use::Unsupported {
            cols.push(None);
            continue;
        }
        let c = trace
            .metric_col(&key, service.as_deref())
            .map_err(|e| bad(format!("HPA {name}: {e}")))?;
        if service.is_none() {
            service = trace.service_of(c, &key);
        }
        cols.push(Some(c));
    }
    let pods_col = match &service {
        Some(s) => trace
            .col(&format!("{s}_hpa_pods"))
            .or_else(|| trace.col(&format!("{s}_ready_pods")))
            .or_else(|| trace.col("ready_pods")),
        None => trace.col("ready_pods"),
    };
    let needs_pods = uses
        .iter()
        .any(|u| !matches!(u, Use::Value | Use::Unsupported));
    if needs_pods && pods_col.is_none() {
        return Err(bad(format!(
            "HPA {name}: per-pod metrics need the ready pods they were averaged over: a ready_pods column{}",
            service
                .as_ref()
                .map(|s| format!(" (or {s}_hpa_pods, {s}_ready_pods)"))
                .unwrap_or_default()
        )));
    }
    let when_col = service
        .as_ref()
        .and_then(|s| trace.col(&format!("{s}_hpa_sync_s")));
    let replicas_col = service
        .as_ref()
        .and_then(|s| trace.col(&format!("{s}_replicas")))
        .or_else(|| trace.col("replicas"));
    let ti = trace.col("t_s").expect("parsed");
    let recorded = replicas_col
        .map(|c| (c, trace.rows[0][c]))
        .filter(|(_, v)| v.is_finite() && *v >= 0.0);
    if let (None, Some((c, v))) = (o.initial, recorded) {
        if v > MAX_PODS as f64 {
            return Err(Error::input(
                Path::new(&trace.file),
                format!("first row, column {}", trace.columns[c]),
                format!(
                    "{v} replicas at the start: a replay follows at most {MAX_PODS} pods \
                     (Kubernetes' limit of pods per cluster)"
                ),
            ));
        }
    }
    let initial = o
        .initial
        .or(recorded.map(|(_, v)| v as u32))
        .unwrap_or(hpa.spec.min_replicas().max(1) as u32);
    if initial > MAX_PODS {
        return Err(Error::Usage(format!(
            "--initial {initial}: a replay follows at most {MAX_PODS} pods (Kubernetes' limit \
             of pods per cluster)"
        )));
    }

    // Values as of each row: the sync that read them when recorded, else the row's time.
    let asof: Vec<f64> = trace
        .rows
        .iter()
        .map(|r| when_col.map_or(r[ti], |c| r[c]))
        .collect();
    // Up to the last row, or the last recorded sync: a replay decides no later than the run did.
    let end = asof
        .iter()
        .copied()
        .filter(|a| a.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let end = if end.is_finite() {
        end
    } else {
        trace.rows.last().map_or(0.0, |r| r[ti])
    };
    // Pod creation times; the initial pods are long ready.
    let mut pods: Vec<f64> = vec![f64::NEG_INFINITY; initial as usize];
    let mut out = Replayed {
        name: name.to_string(),
        t_s: Vec::new(),
        replicas: Vec::new(),
        ready: Vec::new(),
        events: Vec::new(),
    };
    let (start, with_metrics) = (o.pod_startup_s, o.pod_startup_s + o.metrics_delay_s);
    // One sync every sync_s up to the end: refuse a count that would not finish (`--sync 1ns`,
    // or a trace whose times run to 1e300 s).
    let syncs = (end.max(0.0) / o.sync_s).floor() + 1.0;
    if syncs.is_nan() || syncs > MAX_SYNCS as f64 {
        return Err(Error::input(
            Path::new(&trace.file),
            "column t_s",
            format!(
                "the trace runs to {end} s: at --sync {}s that is {syncs:.3e} HPA syncs, more \
                 than a replay runs ({MAX_SYNCS}); use a longer --sync or a shorter trace",
                o.sync_s
            ),
        ));
    }
    // Rows in the order their values were read (ties in file order): as `now` advances, the
    // latest row read at or before it is the highest index among those passed, found once per
    // row rather than by a scan of the trace at every sync.
    let mut order: Vec<usize> = (0..asof.len()).filter(|&i| asof[i].is_finite()).collect();
    order.sort_by(|&a, &b| asof[a].total_cmp(&asof[b]).then(a.cmp(&b)));
    let mut passed = 0;
    let mut latest: Option<usize> = None;
    let mut work = 0u64;
    let mut k = 0u64;
    loop {
        let now = k as f64 * o.sync_s;
        if now > end + 1e-9 {
            break;
        }
        k += 1;
        let (recs, ups, downs) = ctl.history_len();
        work += (pods.len() + recs + ups + downs + 1) as u64;
        if work > MAX_WORK {
            return Err(Error::input(
                Path::new(&trace.file),
                "column t_s",
                format!(
                    "replaying HPA {name} to {end} s at --sync {}s is too much work: at {now} s \
                     it has {} pods and {} stored recommendations and scale events to go \
                     through at every one of {syncs:.0} syncs; use a longer --sync (the \
                     controller's is 15s) or a shorter trace",
                    o.sync_s,
                    pods.len(),
                    recs + ups + downs
                ),
            ));
        }
        // The latest row whose values were read at or before now.
        while passed < order.len() && asof[order[passed]] <= now + 1e-9 {
            latest = latest.max(Some(order[passed]));
            passed += 1;
        }
        let row = latest.map(|i| &trace.rows[i]);
        let n_metrics = pods
            .iter()
            .filter(|&&c| now >= c + with_metrics - 1e-9)
            .count();
        let recorded_pods = match (row, pods_col) {
            (Some(r), Some(c)) => r[c],
            _ => f64::NAN,
        };
        let mut per_pod = vec![None; uses.len()];
        let mut values = vec![None; uses.len()];
        for (m, u) in uses.iter().enumerate() {
            let Some(v) = row
                .zip(cols[m])
                .map(|(r, c)| r[c])
                .filter(|v| v.is_finite())
            else {
                continue;
            };
            match u {
                Use::Value => values[m] = Some(v),
                Use::Unsupported => {}
                _ if n_metrics > 0 && recorded_pods.is_finite() && recorded_pods > 0.0 => {
                    per_pod[m] = Some(v * recorded_pods / n_metrics as f64);
                }
                _ => {}
            }
        }
        let mut samples = Vec::with_capacity(pods.len());
        for &c in &pods {
            let started = c + start;
            let mut s = PodSample {
                phase_pending: now < started - 1e-9,
                ready: now >= started - 1e-9,
                start_time_s: started.max(-1e9),
                ready_transition_s: started.max(-1e9),
                cpu_request: Some(1.0),
                memory_request: Some(MEM_REQUEST),
                ..PodSample::default()
            };
            if now >= c + with_metrics - 1e-9 {
                let mut cpu = None;
                let mut mem = None;
                s.pod_metrics = vec![None; uses.len()];
                for (m, u) in uses.iter().enumerate() {
                    let Some(v) = per_pod[m] else { continue };
                    match u {
                        Use::CpuUtilization => cpu = Some(v / 100.0),
                        Use::CpuAverage => cpu = Some(v),
                        Use::MemoryUtilization | Use::MemoryAverage => mem = Some(v),
                        Use::Pods => s.pod_metrics[m] = Some(v),
                        _ => {}
                    }
                }
                s.cpu = cpu.map(|value| CpuSample {
                    value,
                    timestamp_s: now,
                    window_s: 0.0,
                });
                s.memory = mem;
            }
            samples.push(s);
        }
        let cur = pods.len() as u32;
        let ready = pods.iter().filter(|&&c| now >= c + start - 1e-9).count() as u32;
        let d = ctl.reconcile(&HpaInput {
            now_s: now,
            spec_replicas: cur,
            status_replicas: cur,
            pods: &samples,
            metric_values: &values,
        });
        if d.desired > MAX_PODS {
            return Err(Error::input(
                Path::new(&trace.file),
                format!("t_s {now}"),
                format!(
                    "HPA {name} scales to {} replicas here (spec.maxReplicas {}): a replay \
                     follows at most {MAX_PODS} pods (Kubernetes' limit of pods per cluster)",
                    d.desired, hpa.spec.max_replicas
                ),
            ));
        }
        if d.desired != cur {
            if d.desired > cur {
                pods.extend(std::iter::repeat_n(now, (d.desired - cur) as usize));
            } else {
                // Not yet ready first, then the newest: stable sort by (ready, created desc).
                pods.sort_by(|a, b| {
                    let ra = now >= a + start - 1e-9;
                    let rb = now >= b + start - 1e-9;
                    ra.cmp(&rb).then(b.total_cmp(a))
                });
                pods.drain(..(cur - d.desired) as usize);
                pods.sort_by(f64::total_cmp);
            }
            out.events.push(ReplayEvent {
                t_s: now,
                from: cur,
                to: d.desired,
                driving_metric: d.driving_metric.clone().unwrap_or_default(),
                limited_by: d.limited_by.clone().unwrap_or_default(),
                proposals: d
                    .proposals
                    .iter()
                    .map(|(m, p)| match p {
                        Some(p) => format!("{m}={p}"),
                        None => format!("{m}=unavailable"),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
        out.t_s.push(now);
        out.replicas.push(d.desired);
        out.ready.push(ready);
    }
    Ok(out)
}

/// The recorded replica counts at the trace's rows (`<service>_replicas` or `replicas`), if any.
pub fn recorded_replicas(trace: &Trace, service: Option<&str>) -> Option<(Vec<f64>, Vec<f64>)> {
    let c = service
        .and_then(|s| trace.col(&format!("{s}_replicas")))
        .or_else(|| trace.col("replicas"))
        .or_else(|| {
            let hits: Vec<usize> = (0..trace.columns.len())
                .filter(|&i| trace.columns[i].ends_with("_replicas"))
                .collect();
            (hits.len() == 1).then(|| hits[0])
        })?;
    let ti = trace.col("t_s")?;
    Some((
        trace.rows.iter().map(|r| r[ti]).collect(),
        trace.rows.iter().map(|r| r[c]).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa(metrics: &str, behavior: &str) -> HorizontalPodAutoscaler {
        let y = format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: t}}\nspec:\n  scaleTargetRef: {{kind: Deployment, name: web}}\n  minReplicas: 2\n  maxReplicas: 20\n  metrics:\n{metrics}{behavior}"
        );
        serde_saphyr::from_str(&y).unwrap()
    }

    const RPS: &str = "  - type: Pods\n    pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: \"10\"}}\n";

    fn trace(text: &str) -> Trace {
        Trace::parse(Path::new("trace.csv"), text).unwrap()
    }

    #[test]
    fn load_is_shared_over_the_replayed_pods() {
        // 2 pods recorded at 30/s each: 60/s of load. Target 10/s -> 6 replicas.
        let t = trace("t_s,ready_pods,pods_rps\n0,2,30\n15,2,30\n30,2,30\n45,2,30\n");
        let o = ReplayOptions {
            pod_startup_s: 0.0,
            metrics_delay_s: 0.0,
            ..Default::default()
        };
        let r = replay(&hpa(RPS, ""), "a", &t, &o).unwrap();
        // Without `behavior`, one sync may at most double (or reach 4): 2 -> 4, then 60/4 = 15
        // per pod -> 1.5 -> 6.
        let steps: Vec<(f64, u32, u32)> = r.events.iter().map(|e| (e.t_s, e.from, e.to)).collect();
        assert_eq!(steps, vec![(0.0, 2, 4), (15.0, 4, 6)]);
        assert_eq!(r.events[0].limited_by, "legacy 2x/4 cap");
        // Later syncs see 60/6 = 10 per pod: exactly at target, no more scaling.
        assert_eq!(*r.replicas.last().unwrap(), 6);
    }

    #[test]
    fn startup_delay_shows_in_ready_pods() {
        let t = trace("t_s,ready_pods,pods_rps\n0,2,30\n60,2,30\n");
        let o = ReplayOptions {
            pod_startup_s: 40.0,
            metrics_delay_s: 0.0,
            ..Default::default()
        };
        let r = replay(&hpa(RPS, ""), "a", &t, &o).unwrap();
        // 2 -> 4 at 0 s; at 15 s the two new pods are Pending (unready, counted as 0 on the way
        // up): 60/4 = 15 -> 1.5 -> 6. Ready before each sync: the first two new pods at 40 s,
        // the next two at 55 s.
        assert_eq!(r.replicas, vec![4, 6, 6, 6, 6]);
        assert_eq!(r.ready, vec![2, 2, 2, 4, 6]);
    }

    /// Found by tests/fuzz_import.rs (seed 0x93c7254300000400): `--sync 0.001` over a
    /// five-minute trace ran 3e5 syncs, each scanning up to 3e5 recommendations of the
    /// default 300 s scale-down window, for minutes. Refused now, quickly, naming --sync.
    #[test]
    fn a_tiny_sync_period_is_refused_not_run_for_minutes() {
        let mut text = String::from("t_s,ready_pods,pods_rps\n");
        for k in 0..=20 {
            text.push_str(&format!("{},2,30\n", k * 15));
        }
        let o = ReplayOptions {
            sync_s: 0.001,
            ..Default::default()
        };
        // Refused before any work (no wall-clock bound here: timed tests are flaky on a
        // loaded machine; the error says the work was counted, not done).
        let e = replay(&hpa(RPS, ""), "a", &trace(&text), &o)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "trace.csv: column t_s: replaying HPA a to 300 s at --sync 0.001s is too much work"
            ),
            "{e}"
        );
        // The usual period replays the same trace.
        let r = replay(&hpa(RPS, ""), "a", &trace(&text), &Default::default()).unwrap();
        assert_eq!(r.t_s.len(), 21);
    }

    #[test]
    fn rows_are_read_as_of_their_sync_when_times_repeat_or_go_back() {
        // A `<svc>_hpa_sync_s` column that stays, then goes back: each sync reads the latest
        // row (in file order) read at or before it, as the per-sync scan did.
        let t = trace(
            "t_s,web_hpa_sync_s,web_hpa_pods,web_hpa_pods_rps\n0,0,2,30\n1,0,2,60\n2,15,2,30\n3,0,2,90\n",
        );
        let o = ReplayOptions {
            pod_startup_s: 0.0,
            metrics_delay_s: 0.0,
            ..Default::default()
        };
        let r = replay(&hpa(RPS, ""), "a", &t, &o).unwrap();
        // At 0 s the latest row read is line 5 (90/s on 2 pods = 180/s -> 18 wanted, 2x/4 cap
        // gives 4); at 15 s still line 5.
        assert_eq!(r.t_s, vec![0.0, 15.0]);
        assert_eq!(r.events[0].to, 4);
    }

    #[test]
    fn bad_traces_name_line_and_column() {
        let p = Path::new("x.csv");
        let e = Trace::parse(p, "t_s,a\n0,1\n15,abc\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "x.csv: line 3, column a: expected a number, got \"abc\"");
        let e = Trace::parse(p, "t_s,a\n0,1\n0,2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3, column t_s: times must increase"), "{e}");
        let e = Trace::parse(p, "time,a\n0,1\n").unwrap_err().to_string();
        assert!(e.contains("line 1: no t_s column"), "{e}");
        let e = Trace::parse(p, "t_s,a\n0,1,2\n").unwrap_err().to_string();
        assert!(e.contains("line 2: expected 2 fields"), "{e}");
        // 200,000 columns: one pass over the header (a search of the columns before each took
        // tens of seconds), the repeat still named; a header without t_s is listed briefly.
        let wide: String = (0..200_000).map(|i| format!(",c{i}")).collect();
        let t = std::time::Instant::now();
        let e = Trace::parse(p, &format!("t_s{wide},c5\n0{}\n", ",1".repeat(200_001)))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("column c5") && e.contains("fields 7 and 200002"),
            "{e}"
        );
        let e = Trace::parse(p, &format!("time{wide}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("(200001 columns)") && e.len() < 400, "{e}");
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
        let e = Trace::parse(p, "t_s,a,a\n0,1,2\n").unwrap_err().to_string();
        assert!(
            e.starts_with("x.csv: line 1, column a: the column \"a\" appears twice"),
            "{e}"
        );
        for (text, at, want) in [
            (
                "t_s,resource_cpu\n0,-0.5\n",
                "column resource_cpu",
                "a resource usage",
            ),
            (
                "t_s,web_hpa_resource_memory\n0,-1\n",
                "column web_hpa_resource_memory",
                "a resource usage",
            ),
            (
                "t_s,ready_pods\n0,1.5\n",
                "column ready_pods",
                "a whole number of pods",
            ),
            (
                "t_s,web_hpa_pods\n0,-1\n",
                "column web_hpa_pods",
                "a whole number of pods",
            ),
            (
                "t_s,replicas\n0,2\n15,2.5\n",
                "column replicas",
                "a whole number of pods",
            ),
        ] {
            let e = Trace::parse(p, text).unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(want), "{text:?}: {e}");
            assert!(e.starts_with("x.csv: line "), "{e}");
        }
        // Negative values are fine where a metric may be negative (an External value), and
        // empty counts are simply unknown.
        assert!(Trace::parse(p, "t_s,external_x,ready_pods\n0,-3,\n").is_ok());
        // A byte-order mark before the header is not part of t_s.
        let t = Trace::parse(p, "\u{feff}t_s,ready_pods\r\n0,2\r\n").unwrap();
        assert_eq!(t.columns, ["t_s", "ready_pods"]);
        assert_eq!(t.rows, [[0.0, 2.0]]);
        let t = trace("t_s,ready_pods,other\n0,2,1\n");
        let e = replay(&hpa(RPS, ""), "a", &t, &ReplayOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column for metric \"pods_rps\""), "{e}");
    }
}
