use crate::metrics::{Metrics, TimeSeries};
use crate::system::Cause;
use std::fmt::Write;

fn num(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{}", (v * 1e6).round() / 1e6);
    }
}

pub fn timeseries_csv(ts: &TimeSeries) -> String {
    let mut out = ts.columns.join(",");
    out.push('\n');
    for row in &ts.rows {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            num(&mut out, *v);
        }
        out.push('\n');
    }
    out
}

pub fn endpoints_csv(m: &Metrics, secs: f64) -> String {
    let mut out = String::from(
        "endpoint,requests,rate_per_s,failed,error_rate,avg_ms,min_ms,med_ms,max_ms,p90_ms,p95_ms,p99_ms",
    );
    for c in Cause::ALL {
        let _ = write!(out, ",errors_{}", c.name());
    }
    out.push('\n');
    for e in m.endpoints.iter().filter(|e| e.duration.count() > 0) {
        let n = e.duration.count();
        let _ = write!(out, "{},{},", e.label, n);
        num(&mut out, n as f64 / secs.max(1e-9));
        let _ = write!(out, ",{},", e.failed);
        num(&mut out, e.failed as f64 / n as f64);
        for (_, v) in e.duration.stats() {
            out.push(',');
            num(&mut out, v);
        }
        for c in e.by_cause {
            let _ = write!(out, ",{c}");
        }
        out.push('\n');
    }
    out
}
