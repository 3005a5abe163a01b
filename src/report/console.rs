//! The end-of-run text: k6's summary layout, then surge's verdict table.

use super::summary::{saturation_order, Report};
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
        crate::dist::format_duration(r.result.end),
        r.result.events
    );
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
    let _ = writeln!(o, "     {} max={}", dots("vus"), m.vus_max_seen);
    let _ = writeln!(o, "     {} {}", dots("vus_max"), m.vus_allocated);
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
        }
        None => {
            let _ = writeln!(o, "  no resource crossed 80% utilization in any interval");
        }
    }
    if let Some(c) = &r.cost {
        let _ = writeln!(
            o,
            "  cost: ${:.2} for the run   ${:.2}/h mean   ${:.2}/h peak   ${:.2} per million requests",
            c.total, c.per_hour, c.peak_per_hour, c.per_million_requests
        );
    }
    if !r.verdicts.is_empty() {
        let _ = writeln!(o, "\n  {:<44} {:>14}  RESULT", "TARGET", "MEASURED");
        for v in &r.verdicts {
            let measured = match v.measured {
                Some(x) => format!("{x:.4}"),
                None => "no data".into(),
            };
            let _ = writeln!(
                o,
                "  {:<44} {:>14}  {}",
                format!("{} {}", v.key, v.expr),
                measured,
                if v.pass { "PASS" } else { "FAIL" }
            );
        }
        let _ = writeln!(
            o,
            "\n  verdict: {}",
            if r.passed() {
                "all targets met"
            } else {
                "TARGETS FAILED"
            }
        );
    }
    o
}
