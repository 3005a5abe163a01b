//! What the seeds ask of autoscaling, measured on a run: reaction to a load surge, time to the
//! needed capacity, recovery of p95, the most replicas reached, and flapping.

use crate::autoscale::driver::ScaleEvent;
use crate::engine::ns_to_secs;
use crate::metrics::TimeSeries;
use crate::sim::RunResult;
use serde_json::{json, Value};
use std::fmt::Write;

fn rolling_mean(v: &[f64], w: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(v.len());
    let mut sum = 0.0;
    for i in 0..v.len() {
        sum += v[i];
        if i >= w {
            sum -= v[i - w];
        }
        out.push(sum / (i + 1).min(w) as f64);
    }
    out
}

/// Start of the first load surge: the 10-s mean arrival rate exceeds 1.25 × (and by 1/s) the lowest
/// 10-s mean of the preceding two minutes.
pub fn surge_start(ts: &TimeSeries) -> Option<f64> {
    let t = ts.column("t_s")?;
    let a = rolling_mean(&ts.column("arrivals_per_s")?, 10);
    let dt = if t.len() > 1 {
        (t[1] - t[0]).max(1e-9)
    } else {
        1.0
    };
    let back = (120.0 / dt).ceil() as usize;
    let raw = ts.column("arrivals_per_s")?;
    (10..a.len()).find_map(|i| {
        let lo = a[i.saturating_sub(back).max(9)..i]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        if !(lo.is_finite() && a[i] > 1.25 * lo && a[i] > lo + 1.0) {
            return None;
        }
        // The surge began at the first interval of the window whose own rate was already up.
        let j = (i.saturating_sub(9)..=i)
            .find(|&j| raw[j] > 1.25 * lo)
            .unwrap_or(i);
        Some(t[j.saturating_sub(1)])
    })
}

/// Seconds from `from` until p95 stays at or under `target` for 60 s, after first exceeding it in
/// two consecutive intervals (one noisy interval is not a degradation).
fn recovery(ts: &TimeSeries, from: f64, target: f64) -> Option<f64> {
    let t = ts.column("t_s")?;
    let p95 = ts.column("p95_ms")?;
    let start = t.iter().position(|&x| x >= from)?;
    let bad =
        (start..t.len().saturating_sub(1)).find(|&i| p95[i] > target && p95[i + 1] > target)?;
    let mut ok_since: Option<f64> = None;
    for i in bad..t.len() {
        if p95[i].is_nan() || p95[i] <= target {
            let s = *ok_since.get_or_insert(t[i - 1].max(from));
            if t[i] - s >= 60.0 {
                return Some(s - from);
            }
        } else {
            ok_since = None;
        }
    }
    None
}

/// Median p95 over the two minutes before the surge.
fn normal_p95(ts: &TimeSeries, surge: f64) -> Option<f64> {
    let t = ts.column("t_s")?;
    let p95 = ts.column("p95_ms")?;
    let mut v: Vec<f64> = t
        .iter()
        .zip(&p95)
        .filter(|(x, p)| **x < surge && **x >= surge - 120.0 && p.is_finite())
        .map(|(_, p)| *p)
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

fn flaps(ev: &[&ScaleEvent]) -> usize {
    ev.windows(2)
        .filter(|w| {
            let up0 = w[0].to > w[0].from;
            let up1 = w[1].to > w[1].from;
            up0 != up1 && ns_to_secs(w[1].t - w[0].t) <= 300.0
        })
        .count()
}

/// Per autoscaled service, the seed's figures; `p95_target` from the scenario's thresholds.
pub fn autoscaling_report(r: &RunResult, p95_target: Option<f64>) -> Value {
    let ts = r.timeseries();
    let surge = surge_start(ts);
    let t = ts.column("t_s").unwrap_or_default();
    let mut out = serde_json::Map::new();
    for svc in ts.columns.iter().filter_map(|c| c.strip_suffix("_desired")) {
        let ev: Vec<&ScaleEvent> = r.scale_events.iter().filter(|e| e.service == svc).collect();
        let replicas = ts.column(&format!("{svc}_replicas")).unwrap_or_default();
        let ready = ts.column(&format!("{svc}_ready_pods")).unwrap_or_default();
        let desired = ts.column(&format!("{svc}_desired")).unwrap_or_default();
        let max_replicas = replicas.iter().copied().fold(0.0, f64::max);
        let first_up = |from: f64| {
            ev.iter()
                .find(|e| e.to > e.from && ns_to_secs(e.t) >= from)
                .map(|e| ns_to_secs(e.t))
        };
        let reaction = surge.and_then(|s| first_up(s).map(|u| u - s));
        let capacity = surge.and_then(|s| {
            let i0 = t.iter().position(|&x| x >= s)?;
            let need = desired[i0..].iter().copied().fold(0.0, f64::max);
            (i0..t.len()).find(|&i| ready[i] >= need).map(|i| t[i] - s)
        });
        let rec = match (surge, p95_target) {
            (Some(s), Some(target)) => {
                // When the target is out of reach even before the surge, "recovered" means back
                // within 10 % of the pre-surge p95.
                let target = normal_p95(ts, s).map_or(target, |n| target.max(1.1 * n));
                recovery(ts, s, target).or_else(|| {
                    // p95 never went over: nothing to recover from.
                    let i0 = t.iter().position(|&x| x >= s)?;
                    let p95 = ts.column("p95_ms")?;
                    let over = p95[i0..].windows(2).any(|w| w[0] > target && w[1] > target);
                    (!over).then_some(0.0)
                })
            }
            _ => None,
        };
        out.insert(
            svc.to_string(),
            json!({
                "surge_start_s": surge,
                "first_scale_up_after_surge_s": reaction,
                "time_to_needed_capacity_s": capacity,
                "p95_recovery_s": rec,
                "max_replicas": max_replicas,
                "scale_ups": ev.iter().filter(|e| e.to > e.from).count(),
                "scale_downs": ev.iter().filter(|e| e.to < e.from).count(),
                "flaps": flaps(&ev),
            }),
        );
    }
    Value::Object(out)
}

pub fn scale_events_csv(ev: &[ScaleEvent]) -> String {
    let mut o = String::from("t_s,service,from,to,driving_metric,limited_by,proposals\n");
    for e in ev {
        let _ = writeln!(
            o,
            "{},{},{},{},{},\"{}\",\"{}\"",
            ns_to_secs(e.t),
            e.service,
            e.from,
            e.to,
            e.driving_metric,
            e.limited_by.replace('"', "'"),
            e.proposals.replace('"', "'")
        );
    }
    o
}
