//! The standard plots of a run, from its time series. Panels without data are left out, each
//! target is drawn on the series it constrains, and files with no panel are not written.

use super::plot::{write_png, Chart, HLine, Series};
use super::summary::Report;
use crate::autoscale::hpa_config::{MetricSpec, MetricTarget, MetricTargetType};
use crate::config::model::AutoscalerRef;
use crate::error::{Error, Result};
use crate::metrics::TimeSeries;
use crate::threshold::Aggregation;
use std::path::Path;

type Cols = Vec<(String, Vec<f64>)>;

fn named(ts: &TimeSeries, names: &[&str]) -> Cols {
    names
        .iter()
        .filter_map(|n| Some((n.to_string(), ts.column(n)?)))
        .collect()
}

fn ending(ts: &TimeSeries, suffix: &str, except: &str) -> Cols {
    ts.columns
        .iter()
        .filter(|c| c.ends_with(suffix) && (except.is_empty() || !c.ends_with(except)))
        .filter_map(|c| Some((c.clone(), ts.column(c)?)))
        .collect()
}

/// Columns with at least one non-zero, finite value (an all-zero error-cause column is noise).
fn nonzero(v: Cols) -> Cols {
    v.into_iter()
        .filter(|(_, x)| x.iter().any(|y| y.is_finite() && *y != 0.0))
        .collect()
}

fn series(v: &Cols) -> Vec<Series<'_>> {
    v.iter().map(|(n, x)| Series::new(n, x)).collect()
}

fn chart<'a>(title: &'a str, y_label: &'a str, x: &'a [f64], s: &'a Cols) -> Chart<'a> {
    Chart {
        title,
        x_label: "time (s)",
        y_label,
        x,
        series: series(s),
        y2_label: None,
        series2: Vec::new(),
        hlines: Vec::new(),
    }
}

/// The latency column a whole-run `http_req_duration` aggregation is drawn against, if the time
/// series has one (its per-interval percentiles).
pub fn latency_column(agg: &Aggregation) -> Option<&'static str> {
    match agg {
        Aggregation::Med => Some("p50_ms"),
        Aggregation::Percentile(p) if *p == 50.0 => Some("p50_ms"),
        Aggregation::Percentile(p) if *p == 95.0 => Some("p95_ms"),
        Aggregation::Percentile(p) if *p == 99.0 => Some("p99_ms"),
        _ => None,
    }
}

/// The value an HPA target compares with the `<svc>_hpa_<metric>` column (utilization in %).
fn hpa_target_value(t: &MetricTarget) -> Option<f64> {
    match t.target_type {
        MetricTargetType::Utilization => t.average_utilization.map(f64::from),
        MetricTargetType::AverageValue => t.average_value.as_ref().map(|q| q.value()),
        MetricTargetType::Value => t.value.as_ref().map(|q| q.value()),
    }
}

fn metric_target(m: &MetricSpec) -> Option<f64> {
    let t = match m {
        MetricSpec::Resource { resource } => &resource.target,
        MetricSpec::ContainerResource { container_resource } => &container_resource.target,
        MetricSpec::Pods { pods } => &pods.target,
        MetricSpec::Object { object } => &object.target,
        MetricSpec::External { external } => &external.target,
    };
    hpa_target_value(t)
}

/// Drop panels that hold no data.
fn with_data(charts: Vec<Chart<'_>>) -> Vec<Chart<'_>> {
    charts.into_iter().filter(|c| c.has_data()).collect()
}

pub fn write_all(dir: &Path, r: &Report) -> Result<Vec<String>> {
    let ts = r.result.timeseries();
    let t = ts.column("t_s").unwrap_or_default();
    let lat = named(ts, &["p50_ms", "p95_ms", "p99_ms"]);
    // Whole-run latency targets, each on the per-interval series of the same statistic.
    let targets: Vec<(String, f64, Option<usize>)> = r
        .loaded
        .scenario
        .thresholds
        .0
        .iter()
        .filter(|s| s.selector.metric == "http_req_duration" && s.selector.tags.is_empty())
        .flat_map(|s| s.thresholds.iter())
        .filter_map(|th| {
            let col = latency_column(&th.expr.agg)?;
            let i = lat.iter().position(|(n, _)| n == col);
            Some((format!("target {}", th.expr.source), th.expr.value, i))
        })
        .collect();
    let vus = named(ts, &["vus"]);
    let thr = named(
        ts,
        &["arrivals_per_s", "completions_per_s", "dropped_per_s"],
    );
    let err = named(ts, &["errors_per_s"]);
    let causes: Cols = nonzero(
        ts.columns
            .iter()
            .filter(|c| c.starts_with("errors_") && c.ends_with("_per_s") && *c != "errors_per_s")
            .filter_map(|c| Some((c.clone(), ts.column(c)?)))
            .collect(),
    );
    let err_rate = named(ts, &["error_rate"]);
    let cpu = ending(ts, "_cpu_util", "");
    let pods = ending(ts, "_ready_pods", "");
    let mut pools = ending(ts, "_pool_in_use", "");
    pools.extend(ending(ts, "_pool_waiting", ""));
    let res_util = ending(ts, "_util", "_cpu_util")
        .into_iter()
        .filter(|(n, _)| !n.ends_with("_mem_util"))
        .collect::<Cols>();
    let hit = ending(ts, "_hit_ratio", "");
    let qlen = ending(ts, "_queue_len", "");
    let qage = ending(ts, "_oldest_age_s", "");
    let mut conns = ending(ts, "_connections", "_ws_connections");
    conns.extend(ending(ts, "_refused_per_s", ""));
    let mut rpc = nonzero(ending(ts, "_429_per_s", ""));
    rpc.extend(nonzero(ending(ts, "_retries_per_s", "")));
    let mem = ending(ts, "_mem_util", "");

    let mut files = Vec::new();
    let mut put = |name: &str, charts: Vec<Chart>| -> Result<()> {
        let charts = with_data(charts);
        if charts.is_empty() {
            return Ok(());
        }
        let path = dir.join(name);
        write_png(&path, &charts).map_err(|e| Error::io(&path, e))?;
        files.push(name.to_string());
        Ok(())
    };
    let mut load = chart("Load: virtual users and request rates", "VUs", &t, &vus);
    load.y2_label = Some("per second");
    load.series2 = series(&thr);
    put("load.png", vec![load])?;
    let mut latency = chart("Latency percentiles per interval", "ms", &t, &lat);
    latency.hlines = targets
        .iter()
        .map(|(n, v, i)| HLine {
            name: n,
            value: *v,
            series: *i,
        })
        .collect();
    put("latency.png", vec![latency])?;
    let mut errors = chart(
        "Errors per second, total and by cause",
        "errors/s",
        &t,
        &err,
    );
    errors.series.extend(series(&causes));
    put(
        "errors.png",
        vec![errors, chart("Error rate", "fraction", &t, &err_rate)],
    )?;
    let mut cpu_chart = chart("CPU utilization and ready pods", "utilization", &t, &cpu);
    cpu_chart.y2_label = Some("ready pods");
    cpu_chart.series2 = series(&pods);
    put("cpu_pods.png", vec![cpu_chart])?;
    put(
        "pools.png",
        vec![
            chart(
                "Connection pools (sum over pods)",
                "connections",
                &t,
                &pools,
            ),
            chart(
                "Database and cache utilization",
                "utilization",
                &t,
                &res_util,
            ),
        ],
    )?;
    let mut queue = chart("Job queue: length and oldest job", "jobs", &t, &qlen);
    queue.y2_label = Some("oldest age (s)");
    queue.series2 = series(&qage);
    put(
        "components.png",
        vec![
            chart("Cache hit ratio per interval", "hit ratio", &t, &hit),
            queue,
            chart(
                "Database connections and refusals",
                "connections",
                &t,
                &conns,
            ),
            chart("RPC: 429s and retries", "per second", &t, &rpc),
            chart("Pod memory utilization", "fraction of request", &t, &mem),
        ],
    )?;
    for svc in ts.columns.iter().filter_map(|c| c.strip_suffix("_desired")) {
        let ready = named(ts, &[&format!("{svc}_ready_pods")]);
        let reps = named(ts, &[&format!("{svc}_replicas")]);
        let desired = named(ts, &[&format!("{svc}_desired")]);
        let load = named(ts, &["arrivals_per_s"]);
        let metrics = ending(ts, "", "")
            .into_iter()
            .filter(|(n, _)| n.starts_with(&format!("{svc}_hpa_")))
            .collect::<Cols>();
        // The HPA's targets, in the order of its metric columns.
        let hpa_targets: Vec<Option<f64>> = match r
            .loaded
            .model
            .services
            .get(svc)
            .and_then(|s| s.autoscaler.as_ref())
        {
            Some(AutoscalerRef::Inline(h)) => h
                .spec
                .effective_metrics()
                .iter()
                .map(metric_target)
                .collect(),
            _ => Vec::new(),
        };
        let target_names: Vec<String> = metrics
            .iter()
            .map(|(n, _)| format!("target {}", n.trim_start_matches(&format!("{svc}_hpa_"))))
            .collect();
        let title = format!("{svc}: replicas against load");
        let mut c = chart(&title, "pods", &t, &ready);
        // Desired replicas dashed over the solid actual counts, so neither hides the other.
        c.series.extend(series(&reps));
        c.series
            .extend(desired.iter().map(|(n, x)| Series::new(n, x).dashed()));
        c.y2_label = Some("requests/s");
        c.series2 = series(&load);
        let mtitle = format!("{svc}: metrics the HPA saw, with its targets");
        let mut m = chart(&mtitle, "metric value", &t, &metrics);
        m.hlines = hpa_targets
            .iter()
            .zip(&target_names)
            .enumerate()
            .filter_map(|(i, (v, name))| {
                Some(HLine {
                    name,
                    value: (*v)?,
                    series: Some(i),
                })
            })
            .collect();
        put(&format!("scaling_{svc}.png"), vec![c, m])?;
    }
    Ok(files)
}
