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

/// Start of the load surge. A rise is where the 10-s mean arrival rate climbs above 1.25 × (and
/// by 1/s) the highest 10-s mean before its own window: a new high, so a closed loop's recovery
/// after a dip is not one. The time before the run counts as no load, so the opening load is the
/// first rise (at 0 s when it starts with the run); a rise lasts while its mean keeps setting
/// highs, and at least two minutes. The surge is the first rise after the opening one, or the
/// opening one if there is no other: a spike on a steady start, or the start of a load that only
/// starts and holds. A rise with the same number of virtual users and a falling p95 is a closed
/// loop's throughput catching up once capacity arrives, not a rise in load.
pub fn surge_start(ts: &TimeSeries) -> Option<f64> {
    let t = ts.column("t_s")?;
    let raw = ts.column("arrivals_per_s")?;
    let vus = ts.column("vus");
    let p95 = ts
        .column("p95_ms")
        .unwrap_or_else(|| vec![f64::NAN; raw.len()]);
    let w = 10;
    let a = rolling_mean(&raw, w);
    let dt = if t.len() > 1 {
        (t[1] - t[0]).max(1e-9)
    } else {
        t.first().copied().unwrap_or(1.0).max(1e-9)
    };
    let back = (120.0 / dt).ceil() as usize;
    // Highest full-window mean up to each index (partial windows at the start would over-weigh a
    // burst); a rise is judged against the high before its own window, so a gradual ramp counts.
    let mut pm = Vec::with_capacity(a.len());
    let mut hi = 0.0f64;
    for (k, &v) in a.iter().enumerate() {
        if k + 1 >= w {
            hi = hi.max(v);
        }
        pm.push(hi);
    }
    let mut rises = Vec::new();
    let mut i = 0;
    while i < a.len() && rises.len() < 2 {
        let hi = if i >= w { pm[i - w] } else { 0.0 };
        if !(a[i] > 1.25 * hi && a[i] > hi + 1.0) {
            i += 1;
            continue;
        }
        // The two minutes before; before the run there was no load.
        let from = i.saturating_sub(back);
        let mut lo = a[from..i].iter().copied().fold(f64::INFINITY, f64::min);
        if i < back {
            lo = lo.min(0.0);
        }
        // It began at the first interval of the window whose own rate was already up.
        let j = (i.saturating_sub(w - 1)..=i)
            .find(|&j| raw[j] > 1.25 * lo && raw[j] > lo)
            .unwrap_or(i);
        // A closed loop's throughput catching up once capacity arrives: same users, falling
        // latency. Not a load rise.
        let catch_up = i > 0
            && vus.as_ref().is_some_and(|v| {
                let (vmin, vmax) = v[from..=i]
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                        (a.min(x), b.max(x))
                    });
                let flat = vmax > 0.0 && vmax - vmin <= 0.01 * vmax;
                let mean = |r: std::ops::Range<usize>| {
                    let xs: Vec<f64> = p95[r].iter().copied().filter(|x| x.is_finite()).collect();
                    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
                };
                let before = mean(i.saturating_sub(2 * w)..i.saturating_sub(w));
                let after = mean(i.saturating_sub(w)..i + 1);
                flat && matches!((before, after), (Some(b), Some(a)) if a < b)
            });
        if !catch_up {
            rises.push((t[j] - dt).max(0.0));
        }
        // The rise lasts while new highs keep coming (within a window), and two minutes at least.
        let (mut top, mut last_high, mut k) = (a[i], i, i + 1);
        while k < a.len() && (k < i + back || k - last_high <= w) {
            if a[k] > top {
                top = a[k];
                last_high = k;
            }
            k += 1;
        }
        i = k;
    }
    rises.get(1).or(rises.first()).copied()
}

/// p95 after the surge, against the target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Recovery {
    /// Back at or under the target for 60 s, this many seconds after the surge.
    Recovered(f64),
    /// Went over the target (two intervals running) and never came back for 60 s.
    NotRecovered,
    /// Never over the target after the surge: nothing to recover from.
    NeverAbove,
}

impl Recovery {
    pub fn label(self) -> &'static str {
        match self {
            Recovery::Recovered(_) => "recovered",
            Recovery::NotRecovered => "not recovered",
            Recovery::NeverAbove => "never above target",
        }
    }
}

/// p95 from `from` on, against `target` (see [`Recovery`]).
pub fn p95_recovery(ts: &TimeSeries, from: f64, target: f64) -> Option<Recovery> {
    let t = ts.column("t_s")?;
    let p95 = ts.column("p95_ms")?;
    let start = t.iter().position(|&x| x >= from)?;
    let over = p95[start..]
        .windows(2)
        .any(|w| w[0] > target && w[1] > target);
    if !over {
        return Some(Recovery::NeverAbove);
    }
    Some(match recovery(ts, from, target) {
        Some(s) => Recovery::Recovered(s),
        None => Recovery::NotRecovered,
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
                p95_recovery(ts, s, target)
            }
            _ => None,
        };
        let rec_s = match rec {
            Some(Recovery::Recovered(x)) => Some(x),
            _ => None,
        };
        out.insert(
            svc.to_string(),
            json!({
                "surge_start_s": surge,
                "first_scale_up_after_surge_s": reaction,
                "time_to_needed_capacity_s": capacity,
                "p95_recovery_s": rec_s,
                "p95_recovery": rec.map(|r| r.label()),
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

/// The console's line for one autoscaled service (`surge.autoscaling.<svc>` of summary.json).
pub fn console_line(svc: &str, v: &Value) -> String {
    let f = |v: &Value| match v.as_f64() {
        Some(x) => format!("{x:.0}s"),
        None => "-".into(),
    };
    let p95 = match (v["p95_recovery"].as_str(), v["p95_recovery_s"].as_f64()) {
        (Some("recovered"), Some(x)) => format!("p95 recovered +{x:.0}s"),
        (Some(label), _) => format!("p95 {label}"),
        _ => "p95 -".into(),
    };
    format!(
        "  autoscaling {svc}: max {} replicas, {} up / {} down ({} flaps); after the surge at {}: first scale-up +{}, capacity +{}, {p95}",
        v["max_replicas"].as_f64().unwrap_or(0.0),
        v["scale_ups"],
        v["scale_downs"],
        v["flaps"],
        f(&v["surge_start_s"]),
        f(&v["first_scale_up_after_surge_s"]),
        f(&v["time_to_needed_capacity_s"]),
    )
}

/// `surge hpa replay` outputs: `replay_replicas.csv` (per sync, each HPA's replicas after it and
/// ready pods before it; the recorded replicas as of that time when the trace has them),
/// `replay_events.csv` (every scale decision with its reasons) and `replay.png`.
pub fn write_replay(
    dir: &std::path::Path,
    runs: &[crate::autoscale::replay::Replayed],
    recorded: Option<&(Vec<f64>, Vec<f64>)>,
) -> crate::error::Result<Vec<String>> {
    use crate::error::Error;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let times: Vec<f64> = runs.first().map(|r| r.t_s.clone()).unwrap_or_default();
    let rec_at = |t: f64| -> f64 {
        recorded
            .and_then(|(ts, v)| ts.iter().rposition(|&x| x <= t + 1e-9).map(|i| v[i]))
            .unwrap_or(f64::NAN)
    };
    let mut csv = String::from("t_s");
    if recorded.is_some() {
        csv.push_str(",recorded_replicas");
    }
    for r in runs {
        let _ = write!(csv, ",{}_replicas,{}_ready", r.name, r.name);
    }
    csv.push('\n');
    for (i, &t) in times.iter().enumerate() {
        let _ = write!(csv, "{t}");
        if recorded.is_some() {
            let v = rec_at(t);
            if v.is_finite() {
                let _ = write!(csv, ",{v}");
            } else {
                csv.push(',');
            }
        }
        for r in runs {
            let _ = write!(csv, ",{},{}", r.replicas[i], r.ready[i]);
        }
        csv.push('\n');
    }
    let mut ev = String::from("hpa,t_s,from,to,driving_metric,limited_by,proposals\n");
    for r in runs {
        for e in &r.events {
            let _ = writeln!(
                ev,
                "{},{},{},{},{},\"{}\",\"{}\"",
                r.name,
                e.t_s,
                e.from,
                e.to,
                e.driving_metric,
                e.limited_by.replace('"', "'"),
                e.proposals.replace('"', "'")
            );
        }
    }
    super::write_atomic(&dir.join("replay_replicas.csv"), csv.as_bytes())?;
    super::write_atomic(&dir.join("replay_events.csv"), ev.as_bytes())?;
    let cols: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| r.replicas.iter().map(|&x| f64::from(x)).collect())
        .collect();
    let rec: Vec<f64> = times.iter().map(|&t| rec_at(t)).collect();
    let mut series: Vec<super::plot::Series> = runs
        .iter()
        .zip(&cols)
        .map(|(r, c)| super::plot::Series::new(&r.name, c))
        .collect();
    if recorded.is_some() {
        series.push(super::plot::Series {
            dashed: true,
            ..super::plot::Series::new("recorded", &rec)
        });
    }
    let chart = super::plot::Chart {
        title: "HPA replay: replicas after each sync",
        x_label: "time (s)",
        y_label: "replicas",
        x: &times,
        series,
        y2_label: None,
        series2: Vec::new(),
        hlines: Vec::new(),
    };
    let png = dir.join("replay.png");
    super::plot::write_png(&png, &[chart]).map_err(|e| Error::io(&png, e))?;
    Ok(vec![
        "replay_replicas.csv".into(),
        "replay_events.csv".into(),
        "replay.png".into(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1-s time series of arrivals and p95.
    fn ts(arrivals: &[f64], p95: &[f64]) -> TimeSeries {
        TimeSeries {
            columns: vec!["t_s".into(), "arrivals_per_s".into(), "p95_ms".into()],
            rows: arrivals
                .iter()
                .zip(p95)
                .enumerate()
                .map(|(i, (a, p))| vec![(i + 1) as f64, *a, *p])
                .collect(),
        }
    }

    #[test]
    fn a_load_that_starts_with_the_run_surges_at_0() {
        // Issue 11 item 6 (hamballer-10x): full load from the first second, and a closed loop's
        // wobble later (a dip to 1,500/s, back to 2,000/s at 145 s) is not the surge.
        let a: Vec<f64> = (0..600)
            .map(|i| {
                if (100..145).contains(&i) {
                    1500.0
                } else {
                    2000.0
                }
            })
            .collect();
        let p = vec![900.0; 600];
        let s = ts(&a, &p);
        assert_eq!(surge_start(&s), Some(0.0));
        // p95 never back under 500 ms: not recovered, never "+0s".
        assert_eq!(p95_recovery(&s, 0.0, 500.0), Some(Recovery::NotRecovered));
    }

    #[test]
    fn a_spike_on_a_steady_start_is_the_surge() {
        // 40/s from the start, 400/s from 300 s: the spike is the larger rise.
        let a: Vec<f64> = (0..900)
            .map(|i| if i < 300 { 40.0 } else { 400.0 })
            .collect();
        let p: Vec<f64> = (0..900)
            .map(|i| {
                if (300..400).contains(&i) {
                    800.0
                } else {
                    100.0
                }
            })
            .collect();
        let s = ts(&a, &p);
        assert_eq!(surge_start(&s), Some(300.0));
        // Over from 300 s to 400 s, then under for good: recovered 100 s after the surge.
        assert_eq!(
            p95_recovery(&s, 300.0, 500.0),
            Some(Recovery::Recovered(100.0))
        );
        // Under the target throughout: nothing to recover from.
        let calm = ts(&a, &vec![100.0; 900]);
        assert_eq!(
            p95_recovery(&calm, 300.0, 500.0),
            Some(Recovery::NeverAbove)
        );
    }

    #[test]
    fn throughput_catching_up_after_a_scale_out_is_not_the_surge() {
        // shop-spike-aws: 55/s, a ramp from 300 s capped at 480/s by two pods, then 560/s once
        // the group has scaled out at 420 s (hamballer-spike: 210/s, 1,050/s, then 2,000/s).
        // The surge is the ramp, not the catch-up.
        let a: Vec<f64> = (0..900)
            .map(|i| match i {
                0..300 => 55.0,
                300..360 => 55.0 + (i - 300) as f64 * 7.0,
                360..450 => 480.0,
                _ => 560.0,
            })
            .collect();
        // The ramp's own rate first exceeds 1.25 x 55/s in its third second.
        assert_eq!(surge_start(&ts(&a, &vec![100.0; 900])), Some(302.0));
        let b: Vec<f64> = (0..900)
            .map(|i| match i {
                0..300 => 210.0,
                300..360 => 210.0 + (i - 300) as f64 * 14.0,
                360..460 => 1050.0,
                _ => 2000.0,
            })
            .collect();
        assert_eq!(surge_start(&ts(&b, &vec![100.0; 900])), Some(304.0));
    }

    #[test]
    fn a_closed_loop_catching_up_after_a_scale_out_is_not_the_surge() {
        // hamballer-10x: 5,000 VUs from the start; 1,350/s at p95 3.3 s until the new pods are
        // ready at 145 s, then 1,750/s at p95 1.7 s. Same users, falling latency: the surge is 0.
        let mut s = ts(
            &(0..600)
                .map(|i| if i < 145 { 1350.0 } else { 1750.0 })
                .collect::<Vec<_>>(),
            &(0..600)
                .map(|i| if i < 145 { 3300.0 } else { 1700.0 })
                .collect::<Vec<_>>(),
        );
        s.columns.push("vus".into());
        for r in &mut s.rows {
            r.push(5000.0);
        }
        assert_eq!(surge_start(&s), Some(0.0));
        assert_eq!(p95_recovery(&s, 0.0, 500.0), Some(Recovery::NotRecovered));
        // The same rise with more users is a surge.
        for (i, r) in s.rows.iter_mut().enumerate() {
            r[3] = if i < 145 { 5000.0 } else { 6500.0 };
            r[2] = 3300.0;
        }
        assert_eq!(surge_start(&s), Some(145.0));
    }

    #[test]
    fn the_console_line_says_not_recovered() {
        let v = json!({"max_replicas": 20.0, "scale_ups": 3, "scale_downs": 0, "flaps": 0,
            "surge_start_s": 0.0, "first_scale_up_after_surge_s": 15.0,
            "time_to_needed_capacity_s": null, "p95_recovery_s": null, "p95_recovery": "not recovered"});
        let l = console_line("api", &v);
        assert!(
            l.ends_with(
                "after the surge at 0s: first scale-up +15s, capacity +-, p95 not recovered"
            ),
            "{l}"
        );
        let v = json!({"p95_recovery_s": 42.0, "p95_recovery": "recovered"});
        assert!(console_line("api", &v).ends_with("p95 recovered +42s"));
    }
}
