//! Artillery scripts as Artillery reads them: its own phase tests ported, the local runner's
//! phase routing and rounding, maxVusers and failed VUs in whole runs, and `surge import
//! artillery` / `surge run FILE --model` on the seed and on scripts shaped like Artillery's
//! public examples.

mod common;

use common::{root, stderr, surge, surge_env};
use serde_json::{json, Value};
use std::path::Path;
use surge::config::{self, scenario::ArtilleryPhaseCfg};
use surge::engine::SEC;
use surge::import::artillery;
use surge::sim::{run, RunOptions};
use surge::workload::schedule::ArtilleryArrivals;

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

/// `"0"` passes the phaser (a truthy string) as 0 s: a pause of it ends at once, a ramp gets
/// createRamp's `duration || 1` period, and a constant or count phase is refused because
/// Artillery's uniform process reads a zero duration as no end (hassy/arrivals
/// `this._duration = duration * 1000 || null`) and sends arrivals forever.
#[test]
fn string_zero_durations_follow_the_phaser() {
    let (a, total) = arrivals(&[
        json!({"pause": "0"}),
        json!({"duration": "0", "arrivalRate": 3, "rampTo": 5}),
        json!({"duration": 1, "arrivalRate": 1}),
    ]);
    // The ramp's one period has round((3 + 5) / 2) = 4 arrivals, then 1 at 2 s.
    assert_eq!(total, 2 * SEC);
    assert_eq!(a.len(), 5, "{a:?}");
    assert!(a[..4].iter().all(|&t| t > 0 && t <= SEC), "{a:?}");
    assert_eq!(a[4], 2 * SEC);
    for v in [
        json!({"duration": "0", "arrivalRate": 5}),
        json!({"duration": "0", "arrivalCount": 5}),
    ] {
        let e = phase(v.clone()).unwrap_err();
        assert!(e.contains("forever"), "{v}: {e}");
    }
    // Written back, a zero length stays the string (a number 0 is Artillery's error).
    let p = phase(json!({"pause": "0"})).unwrap();
    let out = serde_json::to_value(&p).unwrap();
    assert_eq!(out["pause"], json!("0"));
    let back: ArtilleryPhaseCfg = serde_json::from_value(out).unwrap();
    assert_eq!(back, p);
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
    let d =
        |v: Value| phase(json!({"duration": v, "arrivalRate": 1})).map(|p| p.duration.unwrap().0);
    assert_eq!(d(json!("15")), Ok(15 * SEC));
    assert_eq!(d(json!("0.5 min")), Ok(30 * SEC));
    assert_eq!(d(json!("2m")), Ok(120 * SEC));
    assert_eq!(d(json!("1.5m")), Ok(90 * SEC));
    assert_eq!(d(json!("10S")), Ok(10 * SEC));
    assert!(d(json!(0))
        .unwrap_err()
        .contains("Invalid duration for phase: 0"));
    assert!(d(json!("1h30m")).is_err());
    assert!(d(json!("-5s")).unwrap_err().contains("positive"));
    let p = phase(json!({"duration": 60, "arrivalRate": "10", "maxVusers": "5"})).unwrap();
    assert_eq!((p.arrival_rate, p.max_vusers), (Some(10.0), Some(5)));
    // The local runner's integer split asserts on a fractional rate.
    assert!(phase(json!({"duration": 60, "arrivalRate": 2.5}))
        .unwrap_err()
        .contains("whole number"));
    assert!(
        phase(json!({"duration": 60, "arrivalRate": 1, "mode": "poisson"}))
            .unwrap_err()
            .contains("poisson")
    );
    // A phase written back reads the same (sweeps re-read scenarios through JSON).
    for v in [
        json!({"duration": "1500ms", "arrivalRate": 1}),
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

/// The ping model with 450 ms requests.
fn model() -> String {
    common::PING_MODEL.replace("const(1ms)", "const(450ms)")
}

fn native(phases: &str, steps: &str, extra: &str) -> serde_json::Value {
    native_on(&model(), phases, steps, extra)
}

fn native_on(model: &str, phases: &str, steps: &str, extra: &str) -> serde_json::Value {
    let s = format!(
        "model: x\nsample_interval: 1s\nflows:\n  f:\n    steps:\n{steps}scenarios:\n  s:\n    executor: artillery\n{extra}    phases:\n{phases}"
    );
    let l = config::from_strs(&s, model).unwrap();
    summary_of(&l)
}

/// The summary.json of one run (seed 1) of `l`.
/// One run at seed 1, replication 0.
fn run1(l: &config::Loaded) -> surge::sim::RunResult {
    run(
        l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    )
}

fn summary_of(l: &config::Loaded) -> Value {
    surge::report::Report::new(l, run1(l), 1).json
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
    assert_eq!(m["vusers.failed"]["type"], "counter");
    assert_eq!(m["vusers.failed"]["values"]["count"], 3);
    assert_eq!(m["vusers.error_rate"]["values"]["rate"], 1.0);
    assert_eq!(m["http_reqs"]["values"]["count"], 3);
    // Artillery's counters: each timeout is errors.ETIMEDOUT, never an HTTP code.
    assert_eq!(m["errors.ETIMEDOUT"]["values"]["count"], 3);
    assert!(m.get("http.codes.200").is_none(), "{m}");
    assert!(m.get("http.responses").is_none(), "{m}");
}

/// Every response is counted once under its status (`http.codes.<status>`) and in
/// `http.responses`; transport errors only under `errors.<code>`; the counters add up to the
/// requests. 503s come from a pod's in-flight limit: they end no VU.
#[test]
fn artillery_codes_and_errors_add_up() {
    // One pod taking 4 requests at a time (more get 503); `slow` often outlasts the timeout.
    let model = "
entry: web
services:
  web:
    replicas: 1
    pod: {cores: 1, max_inflight: 4}
    endpoints:
      ping:
        - cpu: const(1ms)
      slow:
        - delay: exp(mean=400ms)
";
    let v = native_on(
        model,
        "      - {duration: 5, arrivalRate: 20}\n",
        "      - request: slow\n      - request: ping\n",
        "    request_timeout: 700ms\n",
    );
    let m = &v["metrics"];
    let count = |k: &str| m[k]["values"]["count"].as_u64().unwrap_or(0);
    let codes: u64 = m
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("http.codes."))
        .map(|k| count(k))
        .sum();
    let errors: u64 = m
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("errors."))
        .map(|k| count(k))
        .sum();
    assert!(count("http.codes.503") > 0, "{m}");
    assert!(count("errors.ETIMEDOUT") > 0, "{m}");
    assert!(count("http.codes.200") > 0, "{m}");
    assert_eq!(codes, count("http.responses"));
    assert_eq!(codes + errors, count("http_reqs"));
    // Only a timeout ends a VU here: failed VUs are the timed-out requests.
    assert_eq!(count("vusers.failed"), count("errors.ETIMEDOUT"));
    let failed = m["http_req_failed"]["values"]["passes"].as_u64().unwrap();
    assert_eq!(failed, count("http_reqs") - count("http.codes.200"));
}

/// Beside a k6 executor whose requests all time out, Artillery's counters still count only the
/// Artillery VUs' requests: each of their timeouts fails its VU, so errors.ETIMEDOUT equals
/// vusers.failed, and the k6 timeouts appear in http_reqs alone.
#[test]
fn artillery_counters_count_only_artillery_requests() {
    let model = "
entry: web
services:
  web:
    replicas: 1
    pod: {cores: 64}
    endpoints:
      slow:
        - delay: const(900ms)
      fast:
        - delay: const(1ms)
";
    let s = "model: x\nsample_interval: 1s\nrequest_timeout: 500ms\nflows:\n  a:\n    steps:\n      - request: slow\n  f:\n    steps:\n      - request: fast\n      - sleep: 10ms\n\
             scenarios:\n  art:\n    executor: artillery\n    flows: [f]\n    phases:\n      - {duration: 2, arrivalRate: 5}\n\
             \x20 k6:\n    executor: constant-vus\n    vus: 3\n    duration: 2s\n    flows: [a]\n";
    let l = config::from_strs(s, model).unwrap_or_else(|e| panic!("{e}"));
    let v = summary_of(&l);
    let m = &v["metrics"];
    let count = |k: &str| m[k]["values"]["count"].as_u64().unwrap_or(0);
    assert_eq!(count("vusers.created"), 10, "{m}");
    assert_eq!(
        count("http.codes.200"),
        10,
        "only the Artillery requests: {m}"
    );
    assert_eq!(count("http.responses"), 10);
    assert_eq!(count("errors.ETIMEDOUT"), count("vusers.failed"));
    assert_eq!(count("vusers.failed"), 0);
    // The k6 VUs' timeouts are requests too, outside Artillery's counters.
    assert!(count("http_reqs") >= 10 + 6, "{}", count("http_reqs"));
}

// ---- importing: the seed, scripts in the shapes of Artillery's examples, and every rejection

/// Import an Artillery file against a model and run it, capped at `secs` simulated seconds
/// and 1 ms (so that an arrival due exactly at `secs` is in).
fn import_and_run(file: &Path, model: &Path, secs: u32) -> (config::Loaded, Value) {
    let text = std::fs::read_to_string(file).unwrap();
    let (l, _notes) = artillery::load(
        file,
        &text,
        model,
        &[format!("duration={}ms", secs * 1000 + 1)],
        Default::default(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let json = summary_of(&l);
    (l, json)
}

/// Seed 000's Artillery config, verbatim: its three phases, its three weighted flows mapped
/// through HamBaller's routes (the `{{ $randomWallet() }}` URL to `GET /api/badges/{wallet}`),
/// and Artillery's default 10 s timeout.
#[test]
fn seed_000_imports_and_runs_on_hamballer() {
    let file = root().join("scenarios/imported/hamballer-artillery.yml");
    let (l, v) = import_and_run(&file, &root().join("models/hamballer.yaml"), 12);
    let s = &l.scenario;
    let flows: Vec<(&String, f64)> = s.flows.iter().map(|(k, f)| (k, f.weight)).collect();
    assert_eq!(
        flows,
        vec![
            (&"badge_minting_simulation".to_string(), 60.0),
            (&"badge_viewing".to_string(), 30.0),
            (&"leaderboard_access".to_string(), 10.0)
        ]
    );
    let config::scenario::ExecutorCfg::Artillery(a) = &s.scenarios["artillery"] else {
        panic!("artillery executor");
    };
    let phases: Vec<(u64, Option<f64>)> = a
        .phases
        .iter()
        .map(|p| (p.duration.unwrap().0 / SEC, p.arrival_rate))
        .collect();
    assert_eq!(
        phases,
        vec![(60, Some(10.0)), (300, Some(350.0)), (120, Some(700.0))]
    );
    assert_eq!(a.request_timeout.unwrap().0, 10 * SEC);
    // 10/s for the first 12 s: 120 arrivals, every one a created VU.
    let m = &v["metrics"];
    assert_eq!(m["vusers.created"]["values"]["count"], 120, "{m}");
    assert_eq!(m["vusers.skipped"]["values"]["count"], 0);
    let eps = &v["surge"]["endpoints"];
    for ep in ["mint", "wallet", "leaderboard"] {
        assert!(eps[ep]["requests"].as_u64().unwrap() > 0, "{ep}: {eps}");
    }
}

/// The scripts in tests/data/artillery (modelled on Artillery's public examples, listed in its
/// README) import and run.
#[test]
fn public_scripts_import_and_run() {
    let dir = root().join("tests/data/artillery");
    let model = dir.join("model.yaml");
    let cases: [(&str, u64); 5] = [
        // 2 -> 6/s ramp over 40 s: 10 s of it, round-half-up per second.
        (
            "load-test-with-automated-checks.yml",
            (0..10u64)
                .map(|p| {
                    let raw = 2.0 + 4.0 * p as f64 / 39.0;
                    raw.floor() as u64 + u64::from(raw.fract() >= 0.5)
                })
                .sum(),
        ),
        ("scenario-weights.yml", 12 * 10),
        ("cookies.yml", 8 * 10),
        // No phases outside its environments: Artillery's single arrival.
        ("functional-load-tests.yml", 1),
        ("endpoint-metrics.yml", 3 * 10),
    ];
    for (name, created) in cases {
        let (_, v) = import_and_run(&dir.join(name), &model, 10);
        let got = v["metrics"]["vusers.created"]["values"]["count"]
            .as_u64()
            .unwrap();
        assert_eq!(got, created, "{name}");
        assert!(
            v["metrics"]["http_reqs"]["values"]["count"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
    // The ensure thresholds of the automated-checks script, as ensure builds them.
    let text = std::fs::read_to_string(dir.join("load-test-with-automated-checks.yml")).unwrap();
    let imp = artillery::import(Path::new("x.yml"), &text, "m.yaml").unwrap();
    assert_eq!(
        imp.scenario["conditions"],
        json!([
            {"expression": "http.response_time.p99 < 250"},
            {"expression": "http.response_time.p95 < 120"},
        ])
    );
    assert!(imp.scenario.get("thresholds").is_none());
    assert_eq!(
        imp.scenario["flows"]["browse_catalogue"]["steps"][0]["loop"]["count"],
        20
    );
}

/// ensure's legacy keys, maxErrorRate, conditions; http.timeout; think strings and jitter.
#[test]
fn ensure_timeout_and_think_forms() {
    let text = r#"
config:
  target: "https://api.example.com/v1"
  http:
    timeout: "2.5"
  phases:
    - {duration: 10, arrivalRate: 1}
  ensure:
    p95: 200
    median: "150"
    maxErrorRate: 1
    conditions:
      - expression: "http.response_time.p99 < 400 and http.request_rate >= 5"
scenarios:
  - flow:
      - get: {url: "/users/{{ id }}?x=1"}
      - think: "500ms"
      - think: 2
        jitter: "25%"
      - get: {url: "https://other.example.com/health"}
"#;
    let imp = artillery::import(Path::new("t.yml"), text, "m.yaml").unwrap();
    let s = &imp.scenario;
    assert_eq!(
        s["conditions"],
        json!([
            // runChecks' order: conditions, the legacy keys (in name order, as the YAML
            // mapping is read), maxErrorRate.
            {"expression": "http.response_time.p99 < 400 and http.request_rate >= 5"},
            {"expression": "http.response_time.median < 150", "name": "median < 150"},
            {"expression": "http.response_time.p95 < 200", "name": "p95 < 200"},
            {
                "expression": "((vusers.created - vusers.completed)/vusers.created * 100) <= 1",
                "name": "maxErrorRate < 1"
            },
        ])
    );
    assert_eq!(s["scenarios"]["artillery"]["request_timeout"], "2500ms");
    assert_eq!(
        s["flows"]["scenario_0"]["steps"],
        json!([
            {"get": "/v1/users/{{ id }}"},
            {"sleep": "const(500ms)"},
            {"sleep": "uniform(1500ms,2500ms)"},
            {"get": "/health"},
        ])
    );
}

/// Every rejection names the file, the line and what was expected, and exits 2.
#[test]
fn rejections_exit_2_with_file_and_line() {
    let dir = common::tmpdir("import_artillery", "rejections");
    let head = "config:\n  target: http://x\n  phases:\n    - {duration: 5, arrivalRate: 1}\n";
    let flow = "scenarios:\n  - flow:\n      - get: {url: /products}\n";
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("engine", format!("{head}scenarios:\n  - engine: playwright\n    flow: []\n"), "line 6", "playwright"),
        ("function", format!("{head}scenarios:\n  - flow:\n      - function: setUp\n"), "line 7", "function"),
        ("processor", format!("config:\n  target: http://x\n  processor: ./p.js\n{flow}"), "line 3", "processor"),
        ("hook", format!("{head}scenarios:\n  - beforeRequest: sign\n    flow: []\n"), "line 6", "beforeRequest"),
        ("req-hook", format!("{head}scenarios:\n  - flow:\n      - get:\n          url: /products\n          afterResponse: check\n"), "line 9", "afterResponse"),
        ("duration", "config:\n  target: http://x\n  phases:\n    - duration: 5 potatoes\n      arrivalRate: 1\n".to_string() + flow, "line 4", "Invalid duration for phase: 5 potatoes"),
        ("loop-forever", format!("{head}scenarios:\n  - flow:\n      - loop:\n          - get: {{url: /products}}\n"), "line 7", "forever"),
        ("loop-range", format!("{head}scenarios:\n  - flow:\n      - loop:\n          - get: {{url: /products}}\n        count: \"1-5\"\n"), "line 9", "random range"),
        ("think", format!("{head}scenarios:\n  - flow:\n      - get: {{url: /products}}\n      - think: soon\n"), "line 8", "Invalid think time"),
        ("ws", format!("{head}scenarios:\n  - engine: socketio\n    flow:\n      - emit: x\n"), "line 6", "socketio"),
        ("ensure", format!("config:\n  target: http://x\n  ensure:\n    p42: 5\n{flow}"), "line 4", "unknown ensure check"),
        ("metric", format!("config:\n  target: http://x\n  ensure:\n    thresholds:\n      - http.downloaded_bytes: 1\n{flow}"), "line 5", "not simulated"),
        ("condition", format!("config:\n  target: http://x\n  ensure:\n    conditions:\n      - expression: \"vusers.created > 1 and (vusers.failed == 0\"\n{flow}"), "line 5", "column 43: expected `)`"),
        ("condition-metric", format!("config:\n  target: http://x\n  ensure:\n    conditions:\n      - expression: \"vusers.created > 1 or errors.EAI_AGAIN > 0\"\n{flow}"), "line 5", "column 23: metric \"errors.EAI_AGAIN\" is not simulated"),
        ("max-error-rate", format!("config:\n  target: http://x\n  ensure:\n    maxErrorRate: lots\n{flow}"), "line 4", "expected a percentage"),
        ("route", format!("{head}scenarios:\n  - flow:\n      - get: {{url: /nowhere}}\n"), "", "GET /products"),
        ("yaml", "config: [\n".to_string(), "line", ""),
    ];
    let model = root().join("tests/data/artillery/model.yaml");
    for (name, text, line, needle) in cases {
        let f = dir.join(format!("{name}.yml"));
        std::fs::write(&f, &text).unwrap();
        for args in [
            vec![
                "import",
                "artillery",
                f.to_str().unwrap(),
                "--model",
                model.to_str().unwrap(),
            ],
            vec![
                "run",
                f.to_str().unwrap(),
                "--model",
                model.to_str().unwrap(),
                "--out",
                dir.join("out").to_str().unwrap(),
            ],
        ] {
            let o = surge(&args, &root());
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{name}: {e}\n{text}");
            assert!(
                e.contains(f.to_str().unwrap()),
                "{name}: names the file: {e}"
            );
            assert!(e.contains(line), "{name}: {line}: {e}");
            assert!(e.contains(needle), "{name}: {needle}: {e}");
        }
    }
    // An Artillery script without --model is a usage error.
    let f = dir.join("route.yml");
    let o = surge(&["run", f.to_str().unwrap()], &root());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--model"));
    // `surge validate` reads a script as the importer does.
    let o = surge(
        &["validate", dir.join("function.yml").to_str().unwrap()],
        &root(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 7"), "{}", stderr(&o));
    let o = surge(
        &["validate", "scenarios/imported/hamballer-artillery.yml"],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `surge import artillery --out` writes a scenario that `surge run` runs as it is, with the
/// model path relative to the scenario.
#[test]
fn import_writes_a_runnable_scenario() {
    let dir = common::tmpdir("import_artillery", "out");
    let out = dir.join("sub/seed.yaml");
    let o = surge(
        &[
            "import",
            "artillery",
            "scenarios/imported/hamballer-artillery.yml",
            "--model",
            "models/hamballer.yaml",
            "--out",
            out.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let l = config::load(&out, &["duration=2s".to_string()]).unwrap();
    assert_eq!(
        std::fs::canonicalize(&l.model_path).unwrap(),
        std::fs::canonicalize(root().join("models/hamballer.yaml")).unwrap()
    );
    let names: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["seed.yaml"], "no temp file left");
}

// ---- ensure: conditions evaluated at the end of the run, as plugin.ts's runChecks does

/// `surge run SCRIPT --model tests/data/artillery/model.yaml` in `dir`: exit code, stdout and
/// the run's summary.json.
fn run_script(dir: &Path, name: &str, script: &str, model: &Path) -> (i32, String, Value) {
    let o = run_cli(dir, name, script, model);
    let out = dir.join(format!("out-{name}"));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 99,
        "{name}: exit {code}: {}\n{stdout}",
        stderr(&o)
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    (code, stdout, serde_json::from_str(&summary).unwrap())
}

/// `surge run DIR/NAME.yml --model MODEL --out DIR/out-NAME`, whatever its exit.
fn run_cli(dir: &Path, name: &str, script: &str, model: &Path) -> std::process::Output {
    run_cli_env(dir, name, script, model, &[])
}

/// [`run_cli`] with environment variables set.
fn run_cli_env(
    dir: &Path,
    name: &str,
    script: &str,
    model: &Path,
    env: &[(&str, &str)],
) -> std::process::Output {
    let f = dir.join(format!("{name}.yml"));
    std::fs::write(&f, script).unwrap();
    let out = dir.join(format!("out-{name}"));
    surge_env(
        &[
            "run",
            f.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &root(),
        env,
    )
}

/// The lines under `Checks:`, as plugin.ts logs them.
fn check_lines(stdout: &str) -> Vec<String> {
    let at = stdout.find("\nChecks:\n").expect("a Checks: block");
    stdout[at + "\nChecks:\n".len()..]
        .lines()
        .take_while(|l| l.starts_with("ok: ") || l.starts_with("fail: "))
        .map(str::to_string)
        .collect()
}

fn script(ensure: &str) -> String {
    format!(
        "config:\n  target: https://shop.test\n  phases:\n    - {{duration: 3, arrivalRate: 2}}\n  \
         plugins:\n    ensure: {{}}\n  ensure:\n{ensure}scenarios:\n  - flow:\n      - get: {{url: /products}}\n"
    )
}

/// index.spec.js "passes and fails correctly multiple conditions and thresholds": a failing
/// threshold and condition fail the run (surge's failed-target exit, 99), the passing
/// condition is `ok`, ok lines come first, and summary.json records each check.
#[test]
fn ensure_conditions_and_thresholds_decide_the_run() {
    let dir = common::tmpdir("import_artillery", "ensure_conditions");
    let model = root().join("tests/data/artillery/model.yaml");
    let failing = "vusers.created < 2 and vusers.failed == 0";
    let passing = "http.requests > 0 or http.response_time.min > 1000";
    let (code, stdout, v) = run_script(
        &dir,
        "strict",
        &script(&format!(
            "    thresholds:\n      - http.response_time.p99: 1\n    conditions:\n      \
             - expression: \"{failing}\"\n      - expression: \"{passing}\"\n"
        )),
        &model,
    );
    let m = &v["metrics"];
    let created = m["vusers.created"]["values"]["count"].as_f64().unwrap();
    let p99 = m["http_req_duration"]["values"]["p(99)"].as_f64().unwrap();
    assert!(created >= 2.0, "the condition can fail: {created} VUs");
    assert!(p99 >= 1.0, "the threshold can fail: p99 {p99} ms");
    assert_eq!(code, 99, "{stdout}");
    assert_eq!(
        check_lines(&stdout),
        [
            format!("ok: {passing}"),
            "fail: http.response_time.p99 < 1".to_string(),
            format!("fail: {failing}"),
        ],
        "{stdout}"
    );
    let c = v["surge"]["conditions"].as_array().unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0]["expression"], "http.response_time.p99 < 1");
    assert_eq!(c[0]["ok"], false);
    assert_eq!(c[0]["metrics"]["http.response_time.p99"], json!(p99));
    assert_eq!(c[1]["expression"], failing);
    assert_eq!(c[1]["value"], json!(0.0));
    assert_eq!(c[1]["metrics"]["vusers.created"], json!(created));
    // Every VU completed: runner.ts still counts vusers.failed (0), so it is in the report.
    assert_eq!(c[1]["metrics"]["vusers.failed"], json!(0.0));
    assert_eq!(c[2]["ok"], true);
    assert_eq!(c[2]["result"], "1");
    assert_eq!(v["surge"]["passed"], false);
    // Strict checks are targets of the verdict, as thresholds are.
    let targets: Vec<(&str, bool)> = v["surge"]["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["target"] == "conditions")
        .map(|t| (t["expr"].as_str().unwrap(), t["pass"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        targets,
        [
            ("http.response_time.p99 < 1", false),
            (failing, false),
            (passing, true)
        ]
    );
    // The verdict table shows what each condition read (not its 1 or 0), as does the
    // record's added `shown`; `measured` stays the expression's value.
    let p99_shown = format!("http.response_time.p99 = {}", (p99 * 1e4).round() / 1e4);
    let row = stdout
        .lines()
        .find(|l| l.contains("conditions http.response_time.p99 < 1"))
        .expect("a verdict row");
    assert!(
        row.contains(&p99_shown) && row.contains("FAIL") && !row.contains("0.0000"),
        "{row}"
    );
    let shown: Vec<(&str, f64)> = v["surge"]["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["target"] == "conditions")
        .map(|t| {
            (
                t["shown"].as_str().unwrap(),
                t["measured"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shown[0], (p99_shown.as_str(), 0.0));
    assert_eq!(
        shown[1].0,
        format!("vusers.created = {created}, vusers.failed = 0")
    );
    assert_eq!(c[1]["shown"], shown[1].0);
}

/// index.spec.js "strict set to false correctly does not fail conditions": the failing check
/// is reported `(optional)` and the run passes.
#[test]
fn a_non_strict_condition_only_reports() {
    let dir = common::tmpdir("import_artillery", "ensure_optional");
    let model = root().join("tests/data/artillery/model.yaml");
    let failing = "vusers.created < 2 and vusers.failed == 0";
    let (code, stdout, v) = run_script(
        &dir,
        "optional",
        &script(&format!(
            "    conditions:\n      - expression: \"{failing}\"\n        strict: false\n      \
             - expression: \"vusers.completed == vusers.created\"\n"
        )),
        &model,
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        check_lines(&stdout),
        [
            "ok: vusers.completed == vusers.created".to_string(),
            format!("fail: {failing} (optional)"),
        ]
    );
    let c = &v["surge"]["conditions"][0];
    assert_eq!(
        (c["strict"].clone(), c["ok"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(v["surge"]["passed"], true);
    // Not a target: the optional check never shows as a failed verdict.
    assert!(!v["surge"]["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["expr"] == failing));
    assert!(!stdout.contains("TARGETS FAILED"), "{stdout}");
    // report.html lists every check, the optional one too, with the metrics it read.
    let html = std::fs::read_to_string(dir.join("out-optional/report.html")).unwrap();
    let at = html.find("<table id=\"checks\">").expect("a checks table");
    let table = &html[at..at + html[at..].find("</table>").unwrap()];
    let created = v["metrics"]["vusers.created"]["values"]["count"]
        .as_f64()
        .unwrap();
    assert!(
        table.contains(&format!(
            "fail: {} (optional)",
            failing.replace('<', "&lt;")
        )) && table.contains("FAIL (optional)")
            && table.contains(&format!("vusers.created = {created}"))
            && table.contains("ok: vusers.completed == vusers.created"),
        "{table}"
    );
}

/// index.spec.js "works with legacy maxErrorRate" and "checks are grouped in the correct
/// order": `maxErrorRate < X` is `((created - completed)/created * 100) <= X`. It holds when
/// every VU completes; with no VU created, or none completed, Artillery's report lacks the
/// counter, the quotient is NaN and the check fails, whatever X is.
#[test]
fn max_error_rate_fails_without_vus_as_in_artillery() {
    let dir = common::tmpdir("import_artillery", "ensure_max_error_rate");
    let model = root().join("tests/data/artillery/model.yaml");
    let (code, stdout, v) = run_script(
        &dir,
        "all-complete",
        &script("    p99: 10000\n    max: 1\n    maxErrorRate: 0\n"),
        &model,
    );
    let m = &v["metrics"];
    assert!(m["http_req_duration"]["values"]["max"].as_f64().unwrap() >= 1.0);
    assert!(m["http_req_duration"]["values"]["p(99)"].as_f64().unwrap() < 10000.0);
    assert_eq!(
        m["vusers.completed"]["values"]["count"],
        m["vusers.created"]["values"]["count"]
    );
    assert_eq!(code, 99);
    let lines = check_lines(&stdout);
    assert_eq!(lines.len(), 3, "{stdout}");
    let mut ok = lines[..2].to_vec();
    ok.sort();
    assert_eq!(ok, ["ok: maxErrorRate < 0", "ok: p99 < 10000"]);
    assert_eq!(lines[2], "fail: max < 1");

    // A pause phase only: no arrival, so no VU.
    let none =
        script("    maxErrorRate: 5\n").replace("{duration: 3, arrivalRate: 2}", "{pause: 2}");
    let (code, stdout, v) = run_script(&dir, "no-vus", &none, &model);
    assert_eq!(v["metrics"]["vusers.created"]["values"]["count"], 0);
    assert_eq!(code, 99, "{stdout}");
    assert_eq!(check_lines(&stdout), ["fail: maxErrorRate < 5"]);
    // `NaN <= 5` is false: the check's value is 0, as its metrics were not reported.
    let c = &v["surge"]["conditions"][0];
    assert_eq!(
        (c["result"].clone(), c["value"].clone()),
        (json!("0"), json!(0.0))
    );
    assert_eq!(c["metrics"]["vusers.created"], Value::Null);
    assert_eq!(c["metrics"]["vusers.completed"], Value::Null);

    // Every request times out (1 s timeout, 2 s endpoint): 100 % of VUs failed, yet
    // `100 <= 100` is never reached, as vusers.completed is absent.
    let slow = dir.join("slow.yaml");
    std::fs::write(
        &slow,
        "entry: web\nservices:\n  web:\n    replicas: 1\n    pod: {cores: 4}\n    routes:\n      \
         \"GET /products\": page\n    endpoints:\n      page:\n        - delay: const(2s)\n",
    )
    .unwrap();
    let timeouts =
        script("    maxErrorRate: 100\n").replace("  plugins:", "  timeout: 1\n  plugins:");
    let (code, stdout, v) = run_script(&dir, "all-fail", &timeouts, &slow);
    let m = &v["metrics"];
    assert!(
        m["vusers.failed"]["values"]["count"].as_u64().unwrap() > 0,
        "{m}"
    );
    assert_eq!(m["vusers.completed"]["values"]["count"], 0);
    assert_eq!(code, 99, "{stdout}");
    assert_eq!(check_lines(&stdout), ["fail: maxErrorRate < 100"]);
}

/// index.spec.js 'disables plugin correctly when process.env.ARTILLERY_DISABLE_ENSURE is set':
/// with the variable set, to any value (plugin.ts tests `typeof … !== 'undefined'`, so ""
/// too), no check is evaluated: no `Checks:` block, no target, exit 0; the console says why.
#[test]
fn artillery_disable_ensure_skips_every_check() {
    let dir = common::tmpdir("import_artillery", "ensure_disabled");
    let model = root().join("tests/data/artillery/model.yaml");
    let text =
        script("    thresholds:\n      - vusers.created: 3\n      - http.response_time.p99: 1\n");
    // Without it both checks fail the run (6 VUs; every latency is above 1 ms).
    let (code, stdout, _) = run_script(&dir, "enabled", &text, &model);
    assert_eq!(code, 99, "{stdout}");
    assert_eq!(
        check_lines(&stdout),
        [
            "fail: vusers.created < 3",
            "fail: http.response_time.p99 < 1"
        ]
    );
    for (name, value) in [("true", "true"), ("empty", "")] {
        let o = run_cli_env(
            &dir,
            name,
            &text,
            &model,
            &[("ARTILLERY_DISABLE_ENSURE", value)],
        );
        let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert_eq!(o.status.code(), Some(0), "{name}: {err}\n{out}");
        assert!(!out.contains("Checks:") && !out.contains("fail: "), "{out}");
        assert!(
            err.contains(&format!(
                "{name}.yml: ensure checks disabled by ARTILLERY_DISABLE_ENSURE"
            )) && err.contains("the 2 checks of config.ensure (line 7)"),
            "{err}"
        );
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("out-{name}/summary.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(v["surge"]["conditions"], json!([]));
        assert_eq!(v["surge"]["passed"], true);
        assert!(!v["surge"]["verdict"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["target"] == "conditions"));
    }
}

/// ensure evaluates maxErrorRate on Artillery's final report (plugin.ts runChecks), where a
/// counter that never counted is absent: with no VU created, or none completed, the quotient
/// is NaN and the check fails whatever X is. A `vusers.error_rate` threshold, the same
/// quotient written by hand, is judged the same way (not as a k6 rate without samples, which
/// passes); the verdict table says why it is NaN.
#[test]
fn vusers_error_rate_threshold_agrees_with_max_error_rate() {
    // (case, phases, steps, executor extra, limit as a fraction, both pass)
    let cases = [
        (
            "no VU",
            "      - {pause: 2}\n",
            "      - request: ping\n",
            "",
            0.5,
            false,
        ),
        (
            "none completed",
            "      - {duration: 3, arrivalCount: 3}\n",
            "      - request: ping\n      - request: ping\n",
            "    request_timeout: 200ms\n",
            1.0,
            false,
        ),
        (
            "all completed",
            "      - {duration: 2, arrivalRate: 2}\n",
            "      - request: ping\n",
            "",
            0.0,
            true,
        ),
    ];
    for (case, phases, steps, extra, x, want) in cases {
        let s = format!(
            "model: x\nflows:\n  f:\n    steps:\n{steps}scenarios:\n  s:\n    executor: \
             artillery\n{extra}    phases:\n{phases}thresholds:\n  vusers.error_rate: \
             ['rate<={x}']\nconditions:\n  - expression: \"((vusers.created - \
             vusers.completed)/vusers.created * 100) <= {}\"\n    name: maxErrorRate < {}\n",
            x * 100.0,
            x * 100.0
        );
        let l = config::from_strs(&s, &model()).unwrap_or_else(|e| panic!("{case}: {e}"));
        let rep = surge::report::Report::new(&l, run1(&l), 1);
        let pass: Vec<(&str, bool)> = rep
            .verdicts
            .iter()
            .map(|v| (v.key.as_str(), v.pass))
            .collect();
        assert_eq!(
            pass,
            [("vusers.error_rate", want), ("conditions", want)],
            "{case}"
        );
        let t = &rep.verdicts[0];
        if want {
            assert_eq!(t.measured, Some(0.0), "{case}");
        } else {
            let why = t.measured_text();
            assert!(why.starts_with("NaN (no VU "), "{case}: {why}");
            let m = &rep.json["metrics"];
            assert_eq!(
                m["vusers.error_rate"]["thresholds"][format!("rate<={x}")]["ok"],
                false,
                "{case}"
            );
        }
    }
}

/// A hand-written surge scenario carries `conditions:` too; `surge validate` reads them and
/// refuses a broken one naming the file, the field, its line and the column (exit 2).
#[test]
fn scenario_conditions_are_validated() {
    let dir = common::tmpdir("import_artillery", "ensure_validate");
    let model = root().join("tests/data/artillery/model.yaml");
    let scenario = |conditions: &str| {
        format!(
            "model: {}\nflows:\n  f:\n    steps:\n      - get: /products\nscenarios:\n  s:\n    \
             executor: artillery\n    phases:\n      - {{duration: 2, arrivalRate: 1}}\n\
             conditions:\n{conditions}",
            model.display()
        )
    };
    let cases = [
        (
            "ok",
            "  - expression: \"vusers.created == vusers.completed and not (http.response_time.max > 5000)\"\n  \
             - {expression: \"http.codes.200 >= 1\", strict: false, name: codes}\n",
            0,
            "",
        ),
        (
            "syntax",
            "  - expression: \"vusers.created >\"\n",
            2,
            "line 12, field conditions[0].expression",
        ),
        (
            "metric",
            "  - expression: vusers.created > 0\n  - expression: \"http.downloaded_bytes > 0\"\n",
            2,
            "line 13, field conditions[1].expression",
        ),
        (
            "field",
            "  - {expression: \"vusers.created > 0\", severity: high}\n",
            2,
            "severity",
        ),
    ];
    for (name, conds, want, needle) in cases {
        let f = dir.join(format!("{name}.yaml"));
        std::fs::write(&f, scenario(conds)).unwrap();
        let o = surge(&["validate", f.to_str().unwrap()], &root());
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(want), "{name}: {e}");
        assert!(e.contains(needle), "{name}: {needle}: {e}");
        if want == 2 {
            assert!(e.contains(f.to_str().unwrap()), "{name}: {e}");
        }
    }
    let e = stderr(&surge(
        &["validate", dir.join("syntax.yaml").to_str().unwrap()],
        &root(),
    ));
    assert!(e.contains("column 17: expected a number"), "{e}");
    let e = stderr(&surge(
        &["validate", dir.join("metric.yaml").to_str().unwrap()],
        &root(),
    ));
    assert!(
        e.contains("column 1: metric \"http.downloaded_bytes\" is not simulated"),
        "{e}"
    );
    // The valid one runs: every VU completes, so both checks pass.
    let out = dir.join("out");
    let o = surge(
        &[
            "run",
            dir.join("ok.yaml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &root(),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", stderr(&o));
    assert_eq!(
        check_lines(&stdout),
        [
            "ok: vusers.created == vusers.completed and not (http.response_time.max > 5000)",
            "ok: codes"
        ]
    );
}

/// In a sweep or a plan, each run's strict conditions are targets (a failed one fails the
/// run, and so the point's pass probability); optional ones are not.
#[test]
fn strict_conditions_are_sweep_targets() {
    let s = "model: x\nflows:\n  f:\n    steps:\n      - request: ping\nscenarios:\n  s:\n    \
             executor: artillery\n    phases:\n      - {duration: 2, arrivalRate: 2}\n\
             conditions:\n  - expression: \"vusers.created < 1\"\n  \
             - {expression: \"vusers.created > 0\", name: some VUs}\n  \
             - {expression: \"vusers.failed > 0\", strict: false}\n";
    let l = config::from_strs(s, &model()).unwrap_or_else(|e| panic!("{e}"));
    let r = run1(&l);
    let row = surge::sweep::row::measure(&l, &r, 0, 0, None);
    let targets: Vec<(&str, bool)> = row
        .targets
        .iter()
        .map(|t| (t.name.as_str(), t.pass))
        .collect();
    assert_eq!(
        targets,
        [
            ("conditions vusers.created < 1", false),
            ("conditions some VUs", true)
        ]
    );
    assert!(!row.passed());
}

/// Refusals and notes in a JSON script, or in YAML behind a byte-order mark, name their line
/// as they do in plain YAML (the line finder walks JSON tokens and skips the mark).
#[test]
fn json_and_bom_scripts_are_located() {
    let json = "{\n  \"config\": {\n    \"target\": \"http://x\",\n    \"phases\": [{\"duration\": 5, \"arrivalRate\": 1}]\n  },\n  \"scenarios\": [{\"flow\": [{\"get\": {\"url\": \"/a\"}}]}],\n  \"after\": {\"flow\": [{\"get\": {\"url\": \"/b\"}}]}\n}\n";
    let Err(e) = artillery::import(Path::new("s.json"), json, "m.yaml") else {
        panic!("`after` is refused");
    };
    let e = e.to_string();
    assert!(e.contains("line 7, field after"), "{e}");
    let yaml = "\u{feff}config:\n  target: http://x\n  processor: ./p.js\n  phases:\n    - {duration: 5, arrivalRate: 1}\nscenarios:\n  - flow:\n      - get: {url: /a}\n";
    let Err(e) = artillery::import(Path::new("s.yml"), yaml, "m.yaml") else {
        panic!("a processor is refused");
    };
    let e = e.to_string();
    assert!(e.contains("line 3, field config.processor"), "{e}");
}

/// `surge run SCRIPT --model`: a budget refusal of the imported scenario (here the time series
/// of a 10^9 s run) is blamed on the Artillery phases that make the run that long, at their
/// line, not on a field (`sample_interval`) the script does not have.
#[test]
fn a_run_over_budget_is_blamed_on_the_phases() {
    let dir = common::tmpdir("import_artillery", "budget_line");
    let model = root().join("tests/data/artillery/model.yaml");
    let o = run_cli(
        &dir,
        "long",
        "config:\n  target: \"http://x\"\n  phases: [{duration: \"1e9\", arrivalRate: 1}]\n\
         scenarios:\n  - flow:\n      - get: { url: \"/health\" }\n",
        &model,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("long.yml: line 3, field config.phases") && e.contains("GiB"),
        "{e}"
    );
}

/// `surge run SCRIPT --model`: a step the model cannot serve (no route) is blamed on the
/// script's own `scenarios[i].flow[j]` (inside a loop `….loop[k]`) at its line, not on the
/// imported flow's `flows.<name>.steps[…]`, whose indices differ once a `log` step is left out.
#[test]
fn a_flow_step_error_names_the_artillery_step() {
    let dir = common::tmpdir("import_artillery", "step_line");
    let model = root().join("tests/data/artillery/model.yaml");
    let head = "config:\n  target: https://shop.test\n  phases:\n    - {duration: 1, \
                arrivalRate: 1}\nscenarios:\n  - name: browse\n    flow:\n      - get: {url: \
                /products}\n  - name: buy\n    flow:\n      - log: start\n      - think: 1\n";
    let cases = [
        (
            "top",
            "      - get: {url: /products}\n      - post: {url: /nope}\n",
            "line 14, field scenarios[1].flow[3]",
        ),
        (
            "nested",
            "      - loop:\n          - get: {url: /products}\n          - post: {url: /nope}\n        \
             count: 2\n",
            "line 15, field scenarios[1].flow[2].loop[1]",
        ),
    ];
    for (name, tail, want) in cases {
        let o = run_cli(&dir, name, &format!("{head}{tail}"), &model);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        assert!(
            e.contains(&format!("{name}.yml: {want}")) && e.contains("/nope"),
            "{name}: {e}"
        );
        assert!(!e.contains("flows."), "{name}: {e}");
    }
}

/// k6's legacy `--summary-export` (internal/js/summary-wrapper.js oldJSONSummary) has no place
/// for ensure conditions (docs/config.md says why): its `metrics.*.thresholds` hold the k6
/// thresholds only, `vusers.error_rate`'s among them, and `root_group.checks` stays k6's (none
/// simulated); the conditions' results are in summary.json.
#[test]
fn summary_export_keeps_to_k6_thresholds() {
    let dir = common::tmpdir("import_artillery", "export");
    std::fs::write(dir.join("m.yaml"), common::PING_MODEL).unwrap();
    let f = dir.join("s.yaml");
    std::fs::write(
        &f,
        "model: m.yaml\nflows:\n  f:\n    steps:\n      - request: ping\nscenarios:\n  s:\n    \
         executor: artillery\n    phases:\n      - {duration: 2, arrivalRate: 2}\n\
         thresholds:\n  vusers.error_rate: ['rate<=0.01']\nconditions:\n  \
         - expression: \"vusers.created < 1\"\n  - {expression: \"http.response_time.p99 < 5000\", strict: false}\n",
    )
    .unwrap();
    let export = dir.join("export.json");
    let o = surge(
        &[
            "run",
            f.to_str().unwrap(),
            "--out",
            dir.join("out").to_str().unwrap(),
            "--summary-export",
            export.to_str().unwrap(),
            "-q",
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(99), "{}", stderr(&o));
    let ex: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let with_thresholds: Vec<(&String, &Value)> = ex["metrics"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, m)| m.get("thresholds").map(|t| (k, t)))
        .collect();
    assert_eq!(
        with_thresholds,
        [(
            &"vusers.error_rate".to_string(),
            &json!({"rate<=0.01": false})
        )]
    );
    assert_eq!(ex["root_group"]["checks"], json!({}));
    assert!(ex.get("surge").is_none());
    let sum: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(sum["surge"]["conditions"].as_array().unwrap().len(), 2);
}

/// Found running Artillery's own example files: `surge import artillery --model` blamed a route
/// miss on the generated scenario's `flows.scenario_0.steps[0]` (no line), a scenario-only file
/// (no `config:`, which the importer reads) was called a surge scenario by `surge run --model`,
/// and a file that is neither was called a surge scenario too.
#[test]
fn upstream_shaped_files_get_artillery_locations() {
    let dir = common::tmpdir("import_artillery", "upstream_shapes");
    let model = root().join("tests/data/artillery/model.yaml");
    let miss = dir.join("miss.yml");
    std::fs::write(
        &miss,
        "config:\n  target: http://x\n  phases: [{duration: 1, arrivalCount: 1}]\nscenarios:\n  - flow:\n      - get: {url: /nope}\n",
    )
    .unwrap();
    let o = surge(
        &[
            "import",
            "artillery",
            miss.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
        &root(),
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("line 6, field scenarios[0].flow[0]"), "{e}");
    assert!(!e.contains("imported scenario"), "{e}");

    let o = run_cli(
        &dir,
        "scenario_only",
        "scenarios:\n  - flow:\n      - get: {url: /health}\n",
        &model,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = run_cli(
        &dir,
        "buildspec",
        "version: 0.2\nphases: {build: {commands: [ls]}}\n",
        &model,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("expected an Artillery script") && !e.contains("surge scenario"),
        "{e}"
    );
}
