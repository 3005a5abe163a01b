//! Artillery scripts as Artillery reads them: its own phase tests ported, the local runner's
//! phase routing and rounding, maxVusers and failed VUs in whole runs, and `surge import
//! artillery` / `surge run FILE --model` on the seed and on real public scripts.

use serde_json::{json, Value};
use surge::config::{self, scenario::ArtilleryPhaseCfg};
use surge::engine::SEC;
use surge::sim::{run, RunOptions};
use surge::workload::schedule::ArtilleryArrivals;

const MS: u64 = SEC / 1000;

/// A phase as the `artillery` executor reads it.
fn phase(v: Value) -> Result<ArtilleryPhaseCfg, String> {
    let p: ArtilleryPhaseCfg = serde_json::from_value(v).map_err(|e| e.to_string())?;
    config::artillery_phase(&p)?;
    Ok(p)
}

/// Arrival times (ns) and the total phase time of a phase list, as the executor runs them.
fn arrivals(phases: &[Value]) -> (Vec<u64>, u64) {
    let ps: Vec<_> = phases
        .iter()
        .map(|v| config::artillery_phase(&phase(v.clone()).unwrap()).unwrap())
        .collect();
    let it = ArtilleryArrivals::new(&ps);
    let total = it.total_duration();
    (it.map(|(t, _)| t).collect(), total)
}

// ---- artillery packages/artillery/test/core/unit/phases.test.js

/// phases.test.js 'GH #215 regression': {duration: 2, arrivalRate: 20} completes.
#[test]
fn upstream_gh_215_regression_completes() {
    let (a, total) = arrivals(&[json!({"duration": 2, "arrivalRate": 20})]);
    assert_eq!(a.len(), 40);
    assert!(total <= 2 * SEC);
}

/// phases.test.js 'pause': {pause: 5} lasts at least 5 s, with no arrivals.
#[test]
fn upstream_pause() {
    let (a, total) = arrivals(&[json!({"pause": 5})]);
    assert!(a.is_empty());
    assert!(total >= 5 * SEC);
}

/// phases.test.js 'arrivalRate set to 0 stays at 0': {rampTo: 5, arrivalRate: 0}; without a
/// duration createRamp runs one period of round((0 + 5) / 2) = 3 arrivals.
#[test]
fn upstream_arrival_rate_zero_stays_zero() {
    let p = phase(json!({"rampTo": 5, "arrivalRate": 0})).unwrap();
    assert_eq!(p.arrival_rate, Some(0.0));
    let (a, total) = arrivals(&[json!({"rampTo": 5, "arrivalRate": 0})]);
    assert_eq!(a.len(), 3);
    assert_eq!(total, SEC);
}

/// phases.test.js 'modifies duration in phase as expected' and 'modifies pause in phase as
/// expected': "5s" is 5 s, "2s" is 2 s.
#[test]
fn upstream_duration_and_pause_strings() {
    let p = phase(json!({"duration": "5s", "arrivalRate": 3})).unwrap();
    assert_eq!(p.duration.unwrap().0, 5 * SEC);
    let p = phase(json!({"pause": "2s"})).unwrap();
    assert_eq!(p.pause.unwrap().0, 2 * SEC);
}

/// phases.test.js 'throws when duration is invalid': Artillery's own message.
#[test]
fn upstream_invalid_duration_throws() {
    let e = phase(json!({"duration": "5 potatoes", "arrivalRate": 3})).unwrap_err();
    assert!(e.contains("Invalid duration for phase: 5 potatoes"), "{e}");
}

/// phases.test.js 'arrivalCount': {duration: 10, arrivalCount: 5} gives 5 arrivals and runs
/// at least 10 s.
#[test]
fn upstream_arrival_count() {
    let (a, total) = arrivals(&[json!({"duration": 10, "arrivalCount": 5})]);
    assert_eq!(a.len(), 5);
    assert!(total >= 10 * SEC);
    assert!(a.windows(2).all(|w| w[1] - w[0] == 2 * SEC));
}

/// phases.test.js testRamp's oracle: arrivals within 20 % of floor(Σ_{i=1..P} (d/P)·i) with
/// P = |rampTo − arrivalRate| + 1, over at least `duration` seconds ('rampUp', 'rampDown',
/// 'ramp with string inputs', whose numeric fields must come out as numbers).
#[test]
fn upstream_ramps() {
    for spec in [
        json!({"duration": 15, "arrivalRate": 1, "rampTo": 20}),
        json!({"duration": 15, "arrivalRate": 20, "rampTo": 1}),
        json!({"duration": "15", "arrivalRate": "20", "rampTo": "1.0", "maxVusers": "40"}),
    ] {
        let num = |k: &str| config::artillery::to_number(&spec[k]);
        let (d, from, to) = (num("duration"), num("arrivalRate"), num("rampTo"));
        let periods = (to - from).abs() + 1.0;
        let len = d / periods;
        let expected = (1..=periods as u64)
            .map(|i| len * i as f64)
            .sum::<f64>()
            .floor();
        let (a, total) = arrivals(std::slice::from_ref(&spec));
        assert!(
            (a.len() as f64 - expected).abs() <= expected * 0.2,
            "{spec}: {} arrivals vs {expected}",
            a.len()
        );
        assert!(total >= d as u64 * SEC);
        let p = phase(spec.clone()).unwrap();
        assert_eq!(p.duration.unwrap().0, 15 * SEC);
        assert_eq!((p.arrival_rate, p.ramp_to), (Some(from), Some(to)));
        if spec.get("maxVusers").is_some() {
            assert_eq!(p.max_vusers, Some(40));
        }
    }
}

// ---- artillery packages/artillery/test/unit/dist.test.js (one local worker)

/// dist.test.js 'arrivalRate defaults to zero if not present': {duration: 10, rampTo: 25}.
#[test]
fn upstream_dist_arrival_rate_defaults_to_zero() {
    let p = phase(json!({"name": "rampto", "duration": 10, "rampTo": 25})).unwrap();
    assert_eq!(p.arrival_rate, Some(0.0));
}

/// dist.test.js 'set max vusers': one worker keeps the whole maxVusers.
#[test]
fn upstream_dist_set_max_vusers() {
    let p = phase(json!({"duration": 10, "maxVusers": 20, "arrivalRate": 100})).unwrap();
    assert_eq!(p.max_vusers, Some(20));
}

/// test/core/scripts/arrival_phases_time_format.json: "10s", pause "0.5 min", "1" and
/// "9 seconds" arrivalCount phases: 10 + 30 + 1 + 9 s and 10 + 1 + 50 arrivals.
#[test]
fn upstream_arrival_phases_time_format() {
    let (a, total) = arrivals(&[
        json!({"duration": "10s", "arrivalCount": 10}),
        json!({"pause": "0.5 min"}),
        json!({"duration": "1", "arrivalCount": 1}),
        json!({"duration": "9 seconds", "arrivalCount": 50}),
    ]);
    assert_eq!(total, 50 * SEC);
    assert_eq!(a.len(), 61);
    assert!(a[10..].iter().all(|&t| t > 40 * SEC));
}

// ---- the local runner (art lib/dist.ts divideWork) and the phaser's conversions

/// A phase without a truthy rate, ramp, count or pause is skipped: no time passes. A string
/// "0" is truthy, so `arrivalRate: "0"` becomes a pause of its duration.
#[test]
fn falsy_phases_are_skipped_and_string_zero_pauses() {
    let (a, total) = arrivals(&[
        json!({"duration": 30, "arrivalRate": 0}),
        json!({"duration": 30, "arrivalCount": 0}),
        json!({"duration": 2, "arrivalRate": 1}),
    ]);
    assert_eq!(total, 2 * SEC);
    assert_eq!(a, vec![SEC, 2 * SEC]);
    let (a, total) = arrivals(&[
        json!({"duration": 30, "arrivalRate": "0"}),
        json!({"duration": 2, "arrivalRate": 1}),
    ]);
    assert_eq!(total, 32 * SEC);
    assert_eq!(a, vec![31 * SEC, 32 * SEC]);
}

/// Ramp seconds carry round-half-up arrivals (adjustArrivalsByWorker with one worker):
/// 10 -> 0 over 5 s is 10, 8, 5, 3, 0 (importing-load-tests.md §2.3).
#[test]
fn ramp_seconds_round_half_up() {
    let (a, _) = arrivals(&[json!({"duration": 5, "arrivalRate": 10, "rampTo": 0})]);
    let per: Vec<usize> = (0..5u64)
        .map(|p| {
            a.iter()
                .filter(|&&t| t > p * SEC && t <= (p + 1) * SEC)
                .count()
        })
        .collect();
    assert_eq!(per, vec![10, 8, 5, 3, 0]);
}

/// Quoted numbers and ms strings as Node computes them; what Artillery rejects is refused.
#[test]
fn quoted_numbers_and_duration_strings() {
    let d = |v: Value| {
        phase(json!({"duration": v, "arrivalRate": 1}))
            .map(|p| p.duration.unwrap().0)
    };
    assert_eq!(d(json!("15")), Ok(15 * SEC));
    assert_eq!(d(json!("0.5 min")), Ok(30 * SEC));
    assert_eq!(d(json!("2m")), Ok(120 * SEC));
    assert_eq!(d(json!("1.5m")), Ok(90 * SEC));
    assert_eq!(d(json!("10S")), Ok(10 * SEC));
    assert!(d(json!(0)).unwrap_err().contains("Invalid duration for phase: 0"));
    assert!(d(json!("1h30m")).is_err());
    assert!(d(json!("-5s")).unwrap_err().contains("positive"));
    let p = phase(json!({"duration": 60, "arrivalRate": "10", "maxVusers": "5"})).unwrap();
    assert_eq!((p.arrival_rate, p.max_vusers), (Some(10.0), Some(5)));
    // The local runner's integer split asserts on a fractional rate.
    assert!(phase(json!({"duration": 60, "arrivalRate": 2.5}))
        .unwrap_err()
        .contains("whole number"));
    assert!(phase(json!({"duration": 60, "arrivalRate": 1, "mode": "poisson"}))
        .unwrap_err()
        .contains("poisson"));
    // A phase written back reads the same (sweeps re-read scenarios through JSON).
    for v in [
        json!({"duration": "1.5", "arrivalRate": 1}),
        json!({"duration": 30, "arrivalRate": "0"}),
        json!({"duration": 4, "rampTo": "0", "arrivalRate": 3}),
        json!({"duration": 30, "arrivalCount": 0}),
    ] {
        let p = phase(v.clone()).unwrap();
        let back: ArtilleryPhaseCfg =
            serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p, "{v}");
    }
}

// ---- whole runs: maxVusers and failed VUs

const MODEL: &str = "
entry: web
services:
  web:
    replicas: 4
    pod: {cores: 64}
    endpoints:
      ping:
        - cpu: const(450ms)
";

fn native(phases: &str, steps: &str, extra: &str) -> serde_json::Value {
    let s = format!(
        "model: x\nsample_interval: 1s\nflows:\n  f:\n    steps:\n{steps}scenarios:\n  s:\n    executor: artillery\n{extra}    phases:\n{phases}"
    );
    let l = config::from_strs(&s, MODEL).unwrap();
    let r = run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let rep = surge::report::Report::new(&l, r, 1);
    rep.json
}

/// maxVusers 2, one arrival every 100 ms, each VU busy 450 ms: the VUs started at 0.1 and
/// 0.2 s end at 0.55 and 0.65 s, so of every 5 arrivals 2 start and 3 are skipped.
#[test]
fn max_vusers_skips_arrivals_and_counts_them_apart() {
    let v = native(
        "      - {duration: 10, arrivalRate: 10, maxVusers: 2}\n",
        "      - request: ping\n",
        "",
    );
    let m = &v["metrics"];
    assert_eq!(m["vusers.created"]["values"]["count"], 40, "{m}");
    assert_eq!(m["vusers.skipped"]["values"]["count"], 60);
    assert_eq!(m["vusers.completed"]["values"]["count"], 40);
    assert_eq!(m["dropped_iterations"]["values"]["count"], 0);
}

/// A client timeout ends the VU (vusers.failed) before its second request; maxErrorRate's
/// quantity (created − completed) / created is then 1.
#[test]
fn a_timeout_fails_the_vu() {
    let v = native(
        "      - {duration: 3, arrivalCount: 3}\n",
        "      - request: ping\n      - request: ping\n",
        "    request_timeout: 200ms\n",
    );
    let m = &v["metrics"];
    assert_eq!(m["vusers.created"]["values"]["count"], 3, "{m}");
    assert_eq!(m["vusers.completed"]["values"]["count"], 0);
    assert_eq!(m["vusers.failed"]["values"]["rate"], 1.0);
    assert_eq!(m["http_reqs"]["values"]["count"], 3);
}
