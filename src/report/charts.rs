//! The standard plots of a run, from its time series.

use super::plot::{write_png, Chart, Series};
use super::summary::Report;
use crate::error::{Error, Result};
use crate::metrics::TimeSeries;
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

fn series(v: &Cols) -> Vec<Series<'_>> {
    v.iter()
        .map(|(n, x)| Series { name: n, values: x })
        .collect()
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

pub fn write_all(dir: &Path, r: &Report) -> Result<Vec<String>> {
    let ts = r.result.timeseries();
    let t = ts.column("t_s").unwrap_or_default();
    let targets: Vec<(String, f64)> = r
        .loaded
        .scenario
        .thresholds
        .0
        .iter()
        .filter(|s| s.selector.metric == "http_req_duration" && s.selector.tags.is_empty())
        .flat_map(|s| s.thresholds.iter())
        .map(|t| (format!("target {}", t.expr.source), t.expr.value))
        .collect();
    let vus = named(ts, &["vus"]);
    let thr = named(
        ts,
        &["arrivals_per_s", "completions_per_s", "dropped_per_s"],
    );
    let lat = named(ts, &["p50_ms", "p95_ms", "p99_ms"]);
    let err = named(ts, &["errors_per_s"]);
    let err_rate = named(ts, &["error_rate"]);
    let cpu = ending(ts, "_cpu_util", "");
    let pods = ending(ts, "_ready_pods", "");
    let mut pools = ending(ts, "_pool_in_use", "");
    pools.extend(ending(ts, "_pool_waiting", ""));
    let res_util = ending(ts, "_util", "_cpu_util");
    let hit = ending(ts, "_hit_ratio", "");
    let qlen = ending(ts, "_queue_len", "");
    let qage = ending(ts, "_oldest_age_s", "");
    let mut conns = ending(ts, "_connections", "_ws_connections");
    conns.extend(ending(ts, "_refused_per_s", ""));
    let mut rpc = ending(ts, "_429_per_s", "");
    rpc.extend(ending(ts, "_retries_per_s", ""));
    let mem = ending(ts, "_mem_util", "");

    let mut files = Vec::new();
    let mut put = |name: &str, charts: &[Chart]| -> Result<()> {
        let path = dir.join(name);
        write_png(&path, charts).map_err(|e| Error::io(&path, e))?;
        files.push(name.to_string());
        Ok(())
    };
    let mut load = chart("Load: virtual users and request rates", "VUs", &t, &vus);
    load.y2_label = Some("per second");
    load.series2 = series(&thr);
    put(
        "load.png",
        &[load, chart("Throughput", "per second", &t, &thr)],
    )?;
    let mut latency = chart("Latency percentiles per interval", "ms", &t, &lat);
    latency.hlines = targets.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    put("latency.png", &[latency])?;
    put(
        "errors.png",
        &[
            chart("Errors", "errors/s", &t, &err),
            chart("Error rate", "fraction", &t, &err_rate),
        ],
    )?;
    let mut cpu_chart = chart("CPU utilization and ready pods", "utilization", &t, &cpu);
    cpu_chart.y2_label = Some("ready pods");
    cpu_chart.series2 = series(&pods);
    put("cpu_pods.png", &[cpu_chart])?;
    put(
        "pools.png",
        &[
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
    if !(hit.is_empty() && qlen.is_empty() && rpc.is_empty()) {
        let mut queue = chart("Job queue: length and oldest job", "jobs", &t, &qlen);
        queue.y2_label = Some("oldest age (s)");
        queue.series2 = series(&qage);
        put(
            "components.png",
            &[
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
    }
    for svc in ts.columns.iter().filter_map(|c| c.strip_suffix("_desired")) {
        let reps = named(
            ts,
            &[
                &format!("{svc}_ready_pods"),
                &format!("{svc}_replicas"),
                &format!("{svc}_desired"),
            ],
        );
        let load = named(ts, &["arrivals_per_s"]);
        let metrics = ending(ts, "", "")
            .into_iter()
            .filter(|(n, _)| n.starts_with(&format!("{svc}_hpa_")))
            .collect::<Cols>();
        let title = format!("{svc}: replicas against load");
        let mut c = chart(&title, "pods", &t, &reps);
        c.y2_label = Some("requests/s");
        c.series2 = series(&load);
        let mtitle = format!("{svc}: metrics the HPA saw");
        put(
            &format!("scaling_{svc}.png"),
            &[c, chart(&mtitle, "metric value", &t, &metrics)],
        )?;
    }
    Ok(files)
}
