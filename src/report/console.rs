//! The end-of-run text: k6's summary layout, then surge's verdict table.

use super::summary::{column_peak, saturation_order, Report};
use crate::engine::ns_to_secs;
use crate::metrics::Trend;
use std::fmt::Write;

fn dots(name: &str) -> String {
    let mut s = name.to_string();
    s.push_str(&".".repeat(34usize.saturating_sub(name.len()).max(3)));
    s.push(':');
    s
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2}s", v / 1000.0)
    } else if v >= 1.0 {
        format!("{v:.2}ms")
    } else {
        format!("{:.2}µs", v * 1000.0)
    }
}

fn trend_line(t: &Trend) -> String {
    t.stats()
        .iter()
        .map(|(k, v)| format!("{k}={}", ms(*v)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn console_summary(r: &Report) -> String {
    let m = &r.result.metrics;
    let secs = ns_to_secs(r.result.end);
    let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n  scenario: {}   model: {}   seed: {}",
        r.loaded.name(),
        r.loaded.model_path.display(),
        r.seed
    );
    let _ = writeln!(
        o,
        "  executors: {}   simulated: {}   events: {}\n",
        r.result.scenario_names.join(", "),
        crate::dist::format_duration(r.result.end / 1_000_000 * 1_000_000),
        r.result.events
    );
    if let Some(a) = &r.result.aborted {
        let _ = writeln!(o, "  ABORTED: {}\n", a.message());
    }
    for c in r.json["surge"]["contention"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if c["beyond_table"] == true {
            let _ = writeln!(
                o,
                "  note: {} had up to {} jobs at once, beyond its contention table's last point \
                 (n = {}): its speed factor was held flat at {} there, an extrapolation\n",
                c["resource"].as_str().unwrap_or_default(),
                c["peak_jobs"],
                c["table_last_n"],
                c["table_last_factor"]
            );
        }
    }
    let n = m.requests();
    let failed_pct = if n > 0 {
        100.0 * m.failed as f64 / n as f64
    } else {
        0.0
    };
    let _ = writeln!(
        o,
        "     {} {}",
        dots("http_req_duration"),
        trend_line(&m.http)
    );
    let mut eps: Vec<_> = m
        .endpoints
        .iter()
        .filter(|e| e.duration.count() > 0)
        .collect();
    eps.sort_by(|a, b| a.label.cmp(&b.label));
    for e in &eps {
        let _ = writeln!(
            o,
            "       {} {}",
            dots(&format!("{{endpoint:{}}}", e.label)),
            trend_line(&e.duration)
        );
    }
    let _ = writeln!(
        o,
        "     {} {:.2}%  ✓ {}  ✗ {}",
        dots("http_req_failed"),
        failed_pct,
        m.failed,
        n - m.failed
    );
    let _ = writeln!(o, "     {} {}  {:.2}/s", dots("http_reqs"), n, rate(n));
    let _ = writeln!(
        o,
        "     {} {}",
        dots("iteration_duration"),
        trend_line(&m.iteration_duration)
    );
    let _ = writeln!(
        o,
        "     {} {}  {:.2}/s",
        dots("iterations"),
        m.iterations,
        rate(m.iterations)
    );
    let _ = writeln!(
        o,
        "     {} {}  {:.2}/s",
        dots("dropped_iterations"),
        m.dropped_iterations,
        rate(m.dropped_iterations)
    );
    if let Some(v) = m.vusers {
        // Artillery's counters, each on its own line (skipped arrivals are not dropped ones).
        let vusers = [
            ("vusers.created", v.created),
            ("vusers.skipped", v.skipped),
            ("vusers.completed", v.completed),
            ("vusers.failed", v.failed),
        ];
        let counters = m.artillery_counters();
        let named = counters.iter().map(|(k, n)| (k.as_str(), *n));
        for (name, n) in vusers.into_iter().chain(named) {
            let _ = writeln!(o, "     {} {}  {:.2}/s", dots(name), n, rate(n));
        }
    }
    for (name, g) in [("vus", &m.vus_gauge), ("vus_max", &m.vus_max_gauge)] {
        let _ = writeln!(
            o,
            "     {} {} min={} max={}",
            dots(name),
            g.value,
            g.min,
            g.max
        );
    }
    let causes: Vec<String> = m
        .cause_counts()
        .filter(|(_, c)| *c > 0)
        .map(|(c, k)| format!("{}={k}", c.name()))
        .collect();
    let _ = writeln!(
        o,
        "\n  errors by cause: {}",
        if causes.is_empty() {
            "none".into()
        } else {
            causes.join("  ")
        }
    );
    let util: Vec<String> = r
        .result
        .utilization
        .iter()
        .map(|(k, v)| format!("{k} {:.1}%", v * 100.0))
        .collect();
    let _ = writeln!(o, "  mean utilization: {}", util.join("  "));
    let sat = saturation_order(&r.result);
    match sat.first() {
        Some((res, t)) => {
            let _ = writeln!(o, "  first to cross 80% utilization: {res} at t={t:.0}s");
            if sat.len() > 1 {
                let rest: Vec<String> = sat[1..]
                    .iter()
                    .map(|(r, t)| format!("{r} t={t:.0}s"))
                    .collect();
                let _ = writeln!(o, "  then: {}", rest.join(", "));
            }
        }
        None => {
            let _ = writeln!(o, "  no resource crossed 80% utilization in any interval");
        }
    }
    components(&mut o, r);
    if let Some(a) = r.json["surge"]["autoscaling"].as_object() {
        for (svc, v) in a {
            let _ = writeln!(o, "{}", super::scaling::console_line(svc, v));
        }
    }
    if let Some(c) = &r.cost {
        let _ = writeln!(
            o,
            "  cost: ${:.2} for the run   ${:.2}/h mean ({:.2}/h infrastructure)   ${:.2}/h peak   ${:.2} per million requests",
            c.total, c.per_hour, c.infrastructure_per_hour, c.peak_per_hour, c.per_million_requests
        );
    }
    // Artillery's own lines, unindented, so that scripts grepping its output still match.
    let checks = crate::ensure::console_block(&r.conditions);
    if !checks.is_empty() {
        let _ = write!(o, "\n{checks}");
    }
    if !r.verdicts.is_empty() {
        let table = verdict_table(r);
        o.push('\n');
        for line in table.lines() {
            let _ = writeln!(o, "  {line}");
        }
        let _ = writeln!(o, "\n  {}", verdict_line(r));
    }
    o
}

/// The verdict table, aligned (comfy-table computes the column widths from the content).
pub fn verdict_table(r: &Report) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["TARGET", "MEASURED", "RESULT"]);
    for v in &r.verdicts {
        t.add_row(vec![
            format!("{} {}", v.key, v.expr),
            v.measured_text(),
            if v.pass { "PASS" } else { "FAIL" }.to_string(),
        ]);
    }
    if let Some(c) = t.column_mut(1) {
        c.set_cell_alignment(CellAlignment::Right);
    }
    t.to_string()
}

fn verdict_line(r: &Report) -> String {
    format!(
        "verdict: {}",
        if r.passed() {
            "all targets met"
        } else {
            "TARGETS FAILED"
        }
    )
}

/// What `-q` still prints when a target fails: the verdict line and each failed target.
pub fn failed_targets(r: &Report) -> String {
    let mut o = format!("{}\n", verdict_line(r));
    if let Some(a) = &r.result.aborted {
        let _ = writeln!(o, "  ABORTED: {}", a.message());
    }
    for v in r.verdicts.iter().filter(|v| !v.pass) {
        let _ = writeln!(
            o,
            "  FAIL {} {} (measured {})",
            v.key,
            v.expr,
            v.measured_text()
        );
    }
    o
}

/// One line per component kind: pools, replicas, caches, providers, queues, chains.
fn components(o: &mut String, r: &Report) {
    let q = r.result.system.queue_report(r.result.end);
    let Some(map) = q.as_object() else { return };
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    for (name, v) in map {
        if let Some(db) = name.strip_prefix("database:") {
            let peak = column_peak(&r.result, &format!("{db}_primary_connections")).unwrap_or(0.0);
            let waiting = column_peak(&r.result, &format!("{db}_pool_waiting")).unwrap_or(0.0);
            let _ = writeln!(
                o,
                "  {name}: {:.0} queries/s at {:.1}ms; pools can open {:.0} > max_connections {:.0}; \
                 primary connections peak {peak:.0}; pool waiters peak {waiting:.0}; \
                 acquire timeouts {:.0}, refused {:.0}, connects {:.0}; stale replica reads {:.0}, \
                 read-your-writes to primary {:.0}",
                f(v, "queries_per_s"),
                f(v, "mean_query_ms"),
                f(v, "pool_max_total"),
                f(v, "max_connections"),
                f(v, "pool_acquire_timeouts"),
                f(v, "connections_refused"),
                f(v, "pool_connects"),
                f(v, "stale_replica_reads"),
                f(v, "read_your_writes_to_primary"),
            );
        } else if name.starts_with("keyspace:") {
            let _ = writeln!(
                o,
                "  {name}: hit ratio {:.1}% ({:.0} lookups)",
                100.0 * f(v, "hit_ratio"),
                f(v, "hits") + f(v, "misses")
            );
        } else if name.starts_with("external:") {
            let _ = writeln!(
                o,
                "  {name}: {:.0} calls, mean {:.0}ms when ok, {:.0} failed ({:.0} by 429), {:.0} retries, {:.0} hedges",
                f(v, "calls"),
                f(v, "mean_ok_latency_ms"),
                f(v, "failed_calls"),
                f(v, "failed_rate_limited"),
                f(v, "retries"),
                f(v, "hedges"),
            );
        } else if name.starts_with("queue:") {
            let _ = writeln!(
                o,
                "  {name}: {:.0} enqueued, {:.0} completed, {:.0} dead, {:.0} retried; {:.1} attempts/s; \
                 mean wait {:.1}s; max length {:.0}; at the end {:.0} waiting, oldest {:.0}s",
                f(v, "enqueued"),
                f(v, "completed"),
                f(v, "dead"),
                f(v, "retried"),
                f(v, "attempts_per_s"),
                f(v, "mean_wait_s"),
                f(v, "max_queue_len"),
                f(v, "waiting_at_end"),
                f(v, "oldest_age_at_end_s"),
            );
        } else if name.starts_with("chain:") {
            let _ = writeln!(
                o,
                "  {name}: {:.0} transactions, success {:.2}%, gas avg {:.0}, confirmation avg {:.2}s",
                f(v, "transactions"),
                100.0 * f(v, "success_rate"),
                f(v, "gas_avg"),
                f(v, "confirmation_avg_ms") / 1000.0,
            );
        } else if name == "cache_hit_ratio" {
            let _ = writeln!(
                o,
                "  cache hit ratio (all keyspaces): {:.1}%",
                100.0 * v.as_f64().unwrap_or(0.0)
            );
        }
    }
}
