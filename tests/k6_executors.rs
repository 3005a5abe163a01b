//! k6's executor tests, ported. Upstream: grafana/k6 @87883075, `lib/executor/*_test.go`;
//! each test names its source. Execution segments (distributed k6) are not modelled, so
//! only the unsegmented rows of the upstream tables are ported.

mod common;

use surge::config;
use surge::engine::{Nanos, MS, SEC};
use surge::sim::{try_run_logged, RunOptions, RunResult};
use surge::workload::requirements::{
    end_offset, full, max_planned, max_possible, raw_ramping_vus_steps,
    reserve_graceful_ramp_downs, step, Step,
};
use surge::workload::schedule::{ramping_vus_plan, RampingArrivals, Stage};

use common::PING_MODEL as MODEL;

/// A scenario file around a `scenarios:` value, with flows `f` (one 1 ms request), `slow`
/// (a 201 ms sleep) and `block` (a sleep far longer than any test: k6's `<-ctx.Done()`).
fn file(scenarios: &str) -> String {
    format!(
        "model: x\nsample_interval: 1s\nflows:\n  f:\n    steps:\n      - request: ping\n  \
         slow:\n    weight: 0.000001\n    steps:\n      - sleep: const(201ms)\n  \
         block:\n    weight: 0.000001\n    steps:\n      - sleep: const(100h)\n\
         scenarios: {scenarios}\n"
    )
}

fn load(scenarios: &str) -> Result<config::Loaded, String> {
    config::from_strs(&file(scenarios), MODEL).map_err(|e| e.to_string())
}

#[derive(Debug, Clone)]
struct Row {
    start: Nanos,
    end: Nanos,
    vu: Option<u32>,
    scenario: String,
    outcome: String,
}

fn run_logged(scenarios: &str) -> (RunResult, Vec<Row>) {
    run_text(&file(scenarios))
}

/// Run a whole scenario file on the ping model, logging iterations.
fn run_text(text: &str) -> (RunResult, Vec<Row>) {
    let l = config::from_strs(text, MODEL).unwrap_or_else(|e| panic!("{e}"));
    let mut r = try_run_logged(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        true,
        &mut |_, _| {},
    )
    .unwrap();
    let csv = r.iterations_csv.take().unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("start_ns,end_ns,vu,scenario,flow,outcome")
    );
    let rows = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                start: f[0].parse().unwrap(),
                end: f[1].parse().unwrap(),
                vu: f[2].parse().ok(),
                scenario: f[3].to_string(),
                outcome: f[5].to_string(),
            }
        })
        .collect();
    (r, rows)
}

fn count(rows: &[Row], outcome: &str) -> u64 {
    rows.iter().filter(|r| r.outcome == outcome).count() as u64
}

// ------------------------------------------------------------------ configuration table

#[derive(Clone, Copy, Debug, PartialEq)]
enum K6 {
    ParseError,
    ValidationError,
    Ok,
}

/// k6 `lib/executor/executors_test.go` configMapTestCases (TestConfigMapParsingAndValidation):
/// the scenario JSON verbatim and k6's verdict. The non-object rows (`""`, `1234`, …) test
/// JSON syntax and are left out. surge must reject exactly what k6 rejects, except where
/// `surge_differs` says why.
const CONFIG_MAP_CASES: &[(&str, K6)] = &[
    (r#"{"someKey": {}}"#, K6::ParseError),
    (
        r#"{"someKey": {"executor": "constant-blah-blah", "vus": 10, "duration": "60s"}}"#,
        K6::ParseError,
    ),
    (
        r#"{"someKey": {"executor": "constant-vus", "uknownField": "should_error"}}"#,
        K6::ParseError,
    ),
    (
        r#"{"someKey": {"executor": "constant-vus", "vus": 10, "duration": "60s", "env": 123}}"#,
        K6::ParseError,
    ),
    (
        r#"{"someKey": {"executor": "constant-vus", "vus": 10, "duration": "60s", "gracefulStop": "10s", "startTime": "70s", "env": {"test": "mest"}, "exec": "someFunc"}}"#,
        K6::Ok,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "duration": "60s"}}"#,
        K6::Ok,
    ),
    (
        r#"{"": {"executor": "constant-vus", "vus": 10, "duration": "60s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "vus": 0.5}}"#,
        K6::ParseError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "vus": 10}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "vus": 0, "duration": "60s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "vus": -1, "duration": "60s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "vus": 10, "duration": "0s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "vus": 10, "duration": "10s", "startTime": "-10s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "vus": 10, "duration": "10s", "exec": ""}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"aname": {"executor": "constant-vus", "vus": 10, "duration": "10s", "gracefulStop": "-2s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "startVUs": 20, "gracefulStop": "15s", "gracefulRampDown": "10s", "startTime": "23s", "stages": [{"duration": "60s", "target": 30}, {"duration": "130s", "target": 10}]}}"#,
        K6::Ok,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "startVUs": 1, "gracefulStop": "0s", "gracefulRampDown": "10s", "stages": [{"duration": "10s", "target": 10}]}}"#,
        K6::Ok,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "startVUs": 1, "gracefulStop": "0s", "gracefulRampDown": "0s", "stages": [{"duration": "10s", "target": 10}, {"duration": "0s", "target": 1}, {"duration": "10s", "target": 5}]}}"#,
        K6::Ok,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "startVUs": 1, "gracefulStop": "0s", "gracefulRampDown": "0s", "stages": [{"duration": "10s", "target": 10}, {"duration": "0s", "target": 11},{"duration": "0s", "target": 1}, {"duration": "10s", "target": 5}]}}"#,
        K6::Ok,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "startVUs": 0, "stages": [{"duration": "60s", "target": 0}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "startVUs": -1, "stages": [{"duration": "60s", "target": 30}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "startVUs": 2, "stages": [{"duration": "-60s", "target": 30}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "startVUs": 2, "stages": [{"duration": "60s", "target": -30}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "stages": [{"duration": "60s"}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "stages": [{"target": 30}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus", "stages": []}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varloops": {"executor": "ramping-vus"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ishared": {"executor": "shared-iterations", "iterations": 22, "vus": 12, "maxDuration": "100s"}}"#,
        K6::Ok,
    ),
    (r#"{"ishared": {"executor": "shared-iterations"}}"#, K6::Ok),
    (
        r#"{"ishared": {"executor": "shared-iterations", "iterations": 20}}"#,
        K6::Ok,
    ),
    (
        r#"{"ishared": {"executor": "shared-iterations", "vus": 10}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ishared": {"executor": "shared-iterations", "iterations": 20, "vus": 10, "maxDuration": "30m"}}"#,
        K6::Ok,
    ),
    (
        r#"{"ishared": {"executor": "shared-iterations", "iterations": 20, "vus": 10, "maxDuration": "-3m"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ishared": {"executor": "shared-iterations", "iterations": 20, "vus": 10, "maxDuration": "0s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ishared": {"executor": "shared-iterations", "iterations": 20, "vus": -10}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ishared": {"executor": "shared-iterations", "iterations": -1, "vus": 1}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ishared": {"executor": "shared-iterations", "iterations": 20, "vus": 30}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ipervu": {"executor": "per-vu-iterations", "iterations": 23, "vus": 13, "gracefulStop": 0}}"#,
        K6::Ok,
    ),
    (r#"{"ipervu": {"executor": "per-vu-iterations"}}"#, K6::Ok),
    (
        r#"{"ipervu": {"executor": "per-vu-iterations", "iterations": 20}}"#,
        K6::Ok,
    ),
    (
        r#"{"ipervu": {"executor": "per-vu-iterations", "vus": 10}}"#,
        K6::Ok,
    ),
    (
        r#"{"ipervu": {"executor": "per-vu-iterations", "iterations": 20, "vus": 10}}"#,
        K6::Ok,
    ),
    (
        r#"{"ipervu": {"executor": "per-vu-iterations", "iterations": 20, "vus": 10, "maxDuration": "-3m"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ipervu": {"executor": "per-vu-iterations", "iterations": 20, "vus": 10, "maxDuration": "0s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ipervu": {"executor": "per-vu-iterations", "iterations": 20, "vus": -10}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ipervu": {"executor": "per-vu-iterations", "iterations": -1, "vus": 1}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 30, "timeUnit": "1m", "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 30}}"#,
        K6::Ok,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 30}}"#,
        K6::Ok,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 30, "timeUnit": "-1s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 30, "timeUnit": "0s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "10m", "preAllocatedVUs": 20}}"#,
        K6::Ok,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "10m", "maxVUs": 30}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "preAllocatedVUs": 20, "maxVUs": 30}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 30}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "0m", "preAllocatedVUs": 20, "maxVUs": 30}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 0, "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 30}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 15}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "0s", "preAllocatedVUs": 20, "maxVUs": 25}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 10, "duration": "10m", "preAllocatedVUs": -2, "maxVUs": 25}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "startRate": 10, "timeUnit": "30s", "preAllocatedVUs": 20, "maxVUs": 50, "stages": [{"duration": "3m", "target": 30}, {"duration": "5m", "target": 10}]}}"#,
        K6::Ok,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 20, "maxVUs": 50, "stages": [{"duration": "5m", "target": 10}]}}"#,
        K6::Ok,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "preAllocatedVUs": -20, "maxVUs": 50, "stages": [{"duration": "5m", "target": 10}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "startRate": -1, "preAllocatedVUs": 20, "maxVUs": 50, "stages": [{"duration": "5m", "target": 10}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 20, "stages": [{"duration": "5m", "target": 10}]}}"#,
        K6::Ok,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "maxVUs": 50, "stages": [{"duration": "5m", "target": 10}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 20, "maxVUs": 50}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 20, "maxVUs": 50, "stages": []}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 20, "maxVUs": 50, "stages": [{"duration": "5m", "target": 10}], "timeUnit": "-1s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 20, "maxVUs": 50, "stages": [{"duration": "5m", "target": 10}], "timeUnit": "0s"}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"varrival": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 30, "maxVUs": 20, "stages": [{"duration": "5m", "target": 10}]}}"#,
        K6::ValidationError,
    ),
    (
        r#"{"ui": {"executor": "shared-iterations", "iterations": 22, "vus": 12, "maxDuration": "100s", "options": {"browser": {"someBrowserOption": true}}}}"#,
        K6::Ok,
    ),
    (
        r#"{"ui": {"executor": "shared-iterations", "iterations": 22, "vus": 12, "maxDuration": "100s", "options": {"unsupported": {}}}}"#,
        K6::ParseError,
    ),
];

/// Rows where surge deliberately differs from k6, and why.
fn surge_differs(json: &str) -> Option<&'static str> {
    if json.contains(r#""exec": "someFunc""#) {
        return Some("surge has no JS functions: `exec` is an unknown field (flows pick the work)");
    }
    if json.contains(r#""browser""#) {
        return Some("surge has no browser module: scenario `options` is an unknown field");
    }
    None
}

#[test]
fn k6_config_map_parsing_and_validation() {
    // k6 lib/executor/executors_test.go TestConfigMapParsingAndValidation.
    let mut checked = 0;
    for &(json, k6) in CONFIG_MAP_CASES {
        let got = load(json);
        let k6_accepts = k6 == K6::Ok;
        match surge_differs(json) {
            Some(why) => assert!(got.is_err(), "{json}: expected surge to refuse ({why})"),
            None => {
                assert_eq!(
                    got.is_ok(),
                    k6_accepts,
                    "{json}: k6 says {k6:?}, surge says {:?}",
                    got.as_ref().err()
                );
                checked += 1;
            }
        }
        if let Err(e) = &got {
            // Every rejection names the file and where in it.
            assert!(e.contains("<scenario>"), "{json}: {e}");
            assert!(e.contains("line") || e.contains("field"), "{json}: {e}");
        }
    }
    assert!(checked >= 65, "{checked}");
}

/// Requirements of the single scenario of a config-map row.
fn reqs(json: &str) -> (Vec<Step>, Vec<Step>, Nanos) {
    let l = load(json).unwrap();
    let (_, e) = l.scenario.scenarios.iter().next().unwrap();
    let start = e.common().0 .0;
    (
        surge::workload::requirements::executor(e),
        full(&l.scenario.scenarios),
        start,
    )
}

#[test]
fn k6_config_map_execution_requirements() {
    // k6 executors_test.go TestConfigMapParsingAndValidation, the `custom` checks of each
    // executor: GetEndOffset, GetMaxPlannedVUs and GetMaxPossibleVUs of
    // GetExecutionRequirements, and of GetFullExecutionRequirements (shifted by startTime).
    let cases: &[(&str, u64, u64, u64, u64)] = &[
        // (json, end offset s, full end offset s, max planned, max possible)
        (
            r#"{"someKey": {"executor": "constant-vus", "vus": 10, "duration": "60s", "gracefulStop": "10s", "startTime": "70s"}}"#,
            70,
            140,
            10,
            10,
        ),
        (
            r#"{"varloops": {"executor": "ramping-vus", "startVUs": 20, "gracefulStop": "15s", "gracefulRampDown": "10s", "startTime": "23s", "stages": [{"duration": "60s", "target": 30}, {"duration": "130s", "target": 10}]}}"#,
            205,
            228,
            30,
            30,
        ),
        (
            r#"{"ishared": {"executor": "shared-iterations", "iterations": 22, "vus": 12, "maxDuration": "100s"}}"#,
            130,
            130,
            12,
            12,
        ),
        (
            r#"{"ipervu": {"executor": "per-vu-iterations", "iterations": 23, "vus": 13, "gracefulStop": 0}}"#,
            600,
            600,
            13,
            13,
        ),
        (
            r#"{"carrival": {"executor": "constant-arrival-rate", "rate": 30, "timeUnit": "1m", "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 30}}"#,
            630,
            630,
            20,
            30,
        ),
        (
            r#"{"varrival": {"executor": "ramping-arrival-rate", "startRate": 10, "timeUnit": "30s", "preAllocatedVUs": 20, "maxVUs": 50, "stages": [{"duration": "3m", "target": 30}, {"duration": "5m", "target": 10}]}}"#,
            510,
            510,
            20,
            50,
        ),
    ];
    for &(json, end, full_end, planned, possible) in cases {
        let (own, all, _) = reqs(json);
        assert_eq!(end_offset(&own), (end * SEC, true), "{json}");
        assert_eq!(end_offset(&all), (full_end * SEC, true), "{json}");
        assert_eq!(max_planned(&own), planned, "{json}");
        assert_eq!(max_possible(&own), possible, "{json}");
        assert_eq!(max_planned(&all), planned, "{json}");
    }
    // "Up to 10/11 looping VUs": max planned of the zero-length-stage plans.
    for (json, top) in [
        (
            r#"{"v": {"executor": "ramping-vus", "startVUs": 1, "gracefulStop": "0s", "gracefulRampDown": "10s", "stages": [{"duration": "10s", "target": 10}]}}"#,
            10,
        ),
        (
            r#"{"v": {"executor": "ramping-vus", "startVUs": 1, "gracefulStop": "0s", "gracefulRampDown": "0s", "stages": [{"duration": "10s", "target": 10}, {"duration": "0s", "target": 1}, {"duration": "10s", "target": 5}]}}"#,
            10,
        ),
        (
            r#"{"v": {"executor": "ramping-vus", "startVUs": 1, "gracefulStop": "0s", "gracefulRampDown": "0s", "stages": [{"duration": "10s", "target": 10}, {"duration": "0s", "target": 11},{"duration": "0s", "target": 1}, {"duration": "10s", "target": 5}]}}"#,
            11,
        ),
    ] {
        let (own, all, _) = reqs(json);
        assert_eq!(max_planned(&own), top, "{json}");
        assert_eq!(max_possible(&all), top, "{json}");
    }
}

#[test]
fn k6_ramping_vus_config_validation() {
    // k6 lib/executor/ramping_vus_test.go TestRampingVUsConfigValidation.
    let rv = |start: u64, stages: &str| {
        load(&format!(
            r#"{{"stage": {{"executor": "ramping-vus", "startVUs": {start}, "stages": {stages}}}}}"#
        ))
    };
    // "no stages"
    let e = load(r#"{"default": {"executor": "ramping-vus", "stages": []}}"#).unwrap_err();
    assert!(e.contains("scenarios.default.stages"), "{e}");
    // "basic 1 stage": by default StartVUs is 1; with 0 it must fail.
    assert!(load(
        r#"{"stage": {"executor": "ramping-vus", "stages": [{"duration": "12s", "target": 0}]}}"#
    )
    .is_ok());
    let e = rv(0, r#"[{"duration": "12s", "target": 0}]"#).unwrap_err();
    assert!(
        e.contains("scenarios.stage.startVUs") && e.contains("greater than 0"),
        "{e}"
    );
    // startVUs / targets above maxConcurrentVUs (100,000,000).
    let e = rv(100_000_001, r#"[{"duration": "1s", "target": 0}]"#).unwrap_err();
    assert!(
        e.contains("scenarios.stage.startVUs") && e.contains("100000000"),
        "{e}"
    );
    let e = rv(0, r#"[{"duration": "1s", "target": 100000002}]"#).unwrap_err();
    assert!(e.contains("scenarios.stage.stages[0].target"), "{e}");
    // "VU values below maxConcurrentVUs will pass validation" (the plan itself is not built).
    let l = rv(0, r#"[{"duration": "1s", "target": 99999999}]"#);
    assert!(
        l.as_ref().is_ok()
            || l.as_ref().unwrap_err().contains("budget")
            || l.as_ref().unwrap_err().contains("memory"),
        "{l:?}"
    );
}

#[test]
fn every_k6_rejection_names_the_field() {
    // k6's rules (importing-load-tests.md §1.3), each refused with exit 2 naming the field.
    let cases = [
        (
            r#"{"a": {"executor": "constant-vus", "vus": 0, "duration": "60s"}}"#,
            "scenarios.a.vus",
        ),
        (
            r#"{"a": {"executor": "constant-vus", "vus": 100000001, "duration": "60s"}}"#,
            "scenarios.a.vus",
        ),
        (
            r#"{"a": {"executor": "constant-vus", "vus": 1, "duration": "999ms"}}"#,
            "scenarios.a.duration",
        ),
        (
            r#"{"a": {"executor": "constant-arrival-rate", "rate": 1, "timeUnit": "0s", "duration": "10s", "preAllocatedVUs": 1}}"#,
            "scenarios.a.timeUnit",
        ),
        (
            r#"{"a": {"executor": "constant-arrival-rate", "rate": 1, "duration": "500ms", "preAllocatedVUs": 1}}"#,
            "scenarios.a.duration",
        ),
        (
            r#"{"a": {"executor": "ramping-arrival-rate", "timeUnit": "0s", "stages": [{"duration": "5s", "target": 1}], "preAllocatedVUs": 1}}"#,
            "scenarios.a.timeUnit",
        ),
        (
            r#"{"a": {"executor": "constant-arrival-rate", "rate": 1, "duration": "10s", "preAllocatedVUs": 5, "maxVUs": 2}}"#,
            "scenarios.a.maxVUs",
        ),
        (
            r#"{"a": {"executor": "shared-iterations", "vus": 10, "iterations": 5}}"#,
            "scenarios.a.iterations",
        ),
        (
            r#"{"a": {"executor": "shared-iterations", "vus": 0}}"#,
            "scenarios.a.vus",
        ),
        (
            r#"{"a": {"executor": "shared-iterations", "maxDuration": "500ms"}}"#,
            "scenarios.a.maxDuration",
        ),
        (
            r#"{"a": {"executor": "per-vu-iterations", "iterations": 0}}"#,
            "scenarios.a.iterations",
        ),
        (
            r#"{"a": {"executor": "per-vu-iterations", "vus": 0}}"#,
            "scenarios.a.vus",
        ),
        (
            r#"{"a": {"executor": "per-vu-iterations", "maxDuration": "0s"}}"#,
            "scenarios.a.maxDuration",
        ),
        (
            r#"{"a": {"executor": "ramping-vus", "stages": []}}"#,
            "scenarios.a.stages",
        ),
        (
            r#"{"a b": {"executor": "per-vu-iterations"}}"#,
            "scenarios.a b",
        ),
    ];
    for (json, field) in cases {
        let e = load(json).unwrap_err();
        assert!(e.contains(field) && e.contains("<scenario>"), "{json}: {e}");
    }
    // Negative and fractional counts fail while reading: the line and the field name.
    let cases = [
        (
            r#"{"a": {"executor": "constant-vus", "vus": -1, "duration": "60s"}}"#,
            "vus: expected a whole number",
        ),
        (
            r#"{"a": {"executor": "constant-vus", "vus": 0.5, "duration": "60s"}}"#,
            "vus: expected a whole number",
        ),
        (
            r#"{"a": {"executor": "shared-iterations", "iterations": -1}}"#,
            "iterations: expected a whole number",
        ),
        (
            r#"{"a": {"executor": "ramping-vus", "startVUs": -1, "stages": [{"duration": "1s", "target": 1}]}}"#,
            "startVUs: expected",
        ),
        (
            r#"{"a": {"executor": "constant-arrival-rate", "rate": 1, "duration": "10s", "preAllocatedVUs": -2}}"#,
            "preAllocatedVUs: expected",
        ),
        (
            r#"{"a": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 1, "maxVUs": -5, "stages": [{"duration": "1s", "target": 1}]}}"#,
            "maxVUs: expected",
        ),
    ];
    for (json, want) in cases {
        let e = load(json).unwrap_err();
        assert!(
            e.contains(want) && e.contains("<scenario>: line"),
            "{json}: {e}"
        );
    }
}

// ------------------------------------------------------------ ramping-vus execution steps

fn secs(steps: &[(u64, u64)]) -> Vec<Step> {
    steps.iter().map(|&(t, v)| step(t * SEC, v)).collect()
}

#[test]
fn k6_ramping_vus_config_execution_plan_example() {
    // k6 ramping_vus_test.go TestRampingVUsConfigExecutionPlanExample.
    let stages: Vec<(Nanos, u64)> = [
        (2, 6),
        (5, 1),
        (4, 5),
        (4, 1),
        (3, 4),
        (2, 4),
        (0, 1),
        (3, 1),
    ]
    .iter()
    .map(|&(d, t)| (d * SEC, t))
    .collect();
    let exp = secs(&[
        (0, 4),
        (1, 5),
        (2, 6),
        (3, 5),
        (4, 4),
        (5, 3),
        (6, 2),
        (7, 1),
        (8, 2),
        (9, 3),
        (10, 4),
        (11, 5),
        (12, 4),
        (13, 3),
        (14, 2),
        (15, 1),
        (16, 2),
        (17, 3),
        (18, 4),
        (20, 1),
    ]);
    let raw = raw_ramping_vus_steps(4, &stages, false);
    assert_eq!(raw, exp);
    assert_eq!(end_offset(&raw), (20 * SEC, false));
    let zero_end = raw_ramping_vus_steps(4, &stages, true);
    let mut exp_zero = exp.clone();
    exp_zero.push(step(23 * SEC, 0));
    assert_eq!(zero_end, exp_zero);
    assert_eq!(end_offset(&zero_end), (23 * SEC, true));

    // GetExecutionRequirements = reserve for graceful ramp-downs, capped at
    // regular end + gracefulStop, then a final 0 step.
    let reqs = |grace: u64, stop: u64| {
        let end = 23 * SEC + stop * SEC;
        let mut s = if grace > 0 {
            reserve_graceful_ramp_downs(&raw, grace * SEC, end)
        } else {
            raw.clone()
        };
        if s.last().unwrap().planned != 0 {
            s.push(step(end, 0));
        }
        s
    };
    assert_eq!(
        reqs(30, 30),
        secs(&[(0, 4), (1, 5), (2, 6), (33, 5), (42, 4), (50, 1), (53, 0)])
    );
    assert_eq!(
        reqs(30, 80),
        secs(&[(0, 4), (1, 5), (2, 6), (33, 5), (42, 4), (50, 1), (103, 0)])
    );
    assert_eq!(reqs(30, 3), secs(&[(0, 4), (1, 5), (2, 6), (26, 0)]));
    assert_eq!(reqs(30, 0), secs(&[(0, 4), (1, 5), (2, 6), (23, 0)]));
    assert_eq!(reqs(0, 0), exp_zero);

    // The same through a scenario file (requirements::executor).
    let json = r#"{"test": {"executor": "ramping-vus", "startVUs": 4, "stages": [{"duration": "2s", "target": 6}, {"duration": "5s", "target": 1}, {"duration": "4s", "target": 5}, {"duration": "4s", "target": 1}, {"duration": "3s", "target": 4}, {"duration": "2s", "target": 4}, {"duration": "0s", "target": 1}, {"duration": "3s", "target": 1}]}}"#;
    assert_eq!(reqs(30, 30), self::reqs(json).0);
}

/// (name, startVUs, stages as (s, target), expected steps as (s, VUs)).
type CornerCase = (
    &'static str,
    u64,
    &'static [(u64, u64)],
    &'static [(u64, u64)],
);

#[test]
fn k6_ramping_vus_get_raw_execution_steps_corner_cases() {
    // k6 ramping_vus_test.go TestRampingVUsGetRawExecutionStepsCornerCases (unsegmented rows).
    let cases: &[CornerCase] = &[
        (
            "going up then down straight away",
            2,
            &[(0, 5), (2, 3)],
            &[(0, 2), (0, 5), (1, 4), (2, 3)],
        ),
        (
            "jump up then go up again",
            3,
            &[(2, 5)],
            &[(0, 3), (1, 4), (2, 5)],
        ),
        (
            "up down up down",
            0,
            &[(2, 2), (2, 0), (2, 2), (2, 0)],
            &[
                (0, 0),
                (1, 1),
                (2, 2),
                (3, 1),
                (4, 0),
                (5, 1),
                (6, 2),
                (7, 1),
                (8, 0),
            ],
        ),
        (
            "more up and down",
            0,
            &[(5, 5), (5, 0)],
            &[
                (0, 0),
                (1, 1),
                (2, 2),
                (3, 3),
                (4, 4),
                (5, 5),
                (6, 4),
                (7, 3),
                (8, 2),
                (9, 1),
                (10, 0),
            ],
        ),
    ];
    for &(name, start, stages, exp) in cases {
        let st: Vec<(Nanos, u64)> = stages.iter().map(|&(d, t)| (d * SEC, t)).collect();
        assert_eq!(
            raw_ramping_vus_steps(start, &st, false),
            secs(exp),
            "{name}"
        );
    }
}

#[test]
fn engine_ramping_vus_plan_equals_k6_raw_steps() {
    // The plan the engine follows (schedule::ramping_vus_plan) changes the VU count exactly
    // where k6's getRawExecutionSteps does, over random stage lists.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for _ in 0..300 {
        let start = next(6) as u32;
        let stages: Vec<(Nanos, u32)> = (0..1 + next(5))
            .map(|_| (next(4) * SEC + next(3) * 333 * MS, next(9) as u32))
            .collect();
        let plan = ramping_vus_plan(start, &stages);
        // Where the engine's VU count changes (the last of same-time steps wins).
        let mut engine: Vec<(Nanos, u64)> = Vec::new();
        let mut level = u64::from(start);
        for (i, &(t, v)) in plan.iter().enumerate() {
            if plan.get(i + 1).is_some_and(|n| n.0 == t) {
                continue;
            }
            if i == 0 || u64::from(v) != level {
                engine.push((t, u64::from(v)));
                level = u64::from(v);
            }
        }
        let st64: Vec<(Nanos, u64)> = stages.iter().map(|&(d, t)| (d, u64::from(t))).collect();
        let mut k6: Vec<(Nanos, u64)> = Vec::new();
        for s in raw_ramping_vus_steps(u64::from(start), &st64, true) {
            // Same-time steps: the later one holds.
            if k6.last().is_some_and(|l| l.0 == s.t) {
                k6.pop();
            }
            if k6.last().is_none_or(|l| l.1 != s.planned) || k6.is_empty() {
                k6.push((s.t, s.planned));
            }
        }
        assert_eq!(engine, k6, "start {start}, stages {stages:?}");
    }
}

// ------------------------------------------------------------------ arrival rates

#[test]
fn k6_ramping_arrival_rate_cal() {
    // k6 ramping_arrival_rate_test.go TestRampingArrivalRateCal (unsegmented rows):
    // 0 -> 1 over 5s, 1 for 1s, 1 -> 0 over 5s; times within 0.1 % (InEpsilon 0.001).
    let stages = [
        Stage {
            duration: 5 * SEC,
            target: 1.0,
        },
        Stage {
            duration: SEC,
            target: 1.0,
        },
        Stage {
            duration: 5 * SEC,
            target: 0.0,
        },
    ];
    let cases: [(Nanos, &[u64]); 2] = [
        (SEC, &[3162, 4472, 5500, 6527, 7837, 11000]),
        (
            SEC / 3,
            &[
                1825, 2581, 3162, 3651, 4082, 4472, 4830, 5166, 5499, 5833, 6169, 6527, 6917, 7348,
                7837, 8418, 9174, 10999,
            ],
        ),
    ];
    for (tu, exp) in cases {
        let got: Vec<Nanos> = RampingArrivals::new(0.0, tu, &stages).collect();
        assert_eq!(got.len(), exp.len(), "timeUnit {tu}: {got:?}");
        for (g, e) in got.iter().zip(exp) {
            let e = (e * MS) as f64;
            assert!(
                ((*g as f64) - e).abs() <= 0.001 * e,
                "timeUnit {tu}: {g} vs {e}"
            );
        }
    }
}

#[test]
fn k6_ramping_arrival_rate_active_vus_get_execution_requirements() {
    // k6 ramping_arrival_rate_test.go TestRampingArrivalRateActiveVUs_GetExecutionRequirements
    // (NotSegmented rows): planned = preAllocatedVUs, unplanned = maxVUs - preAllocatedVUs.
    for (pre, max) in [(1u64, 4000u64), (100, 4000)] {
        let (own, _, _) = reqs(&format!(
            r#"{{"r": {{"executor": "ramping-arrival-rate", "preAllocatedVUs": {pre}, "maxVUs": {max}, "gracefulStop": "0s", "stages": [{{"duration": "0s", "target": 1}}]}}}}"#
        ));
        assert_eq!(
            own,
            vec![
                Step {
                    t: 0,
                    planned: pre,
                    unplanned: max - pre
                },
                step(0, 0)
            ]
        );
    }
}

#[test]
fn k6_constant_arrival_rate_run_correct_rate_and_timing() {
    // k6 constant_arrival_rate_test.go TestConstantArrivalRateRunCorrectRate (50/s for 5s:
    // ~50 per second, 250 in all) and TestConstantArrivalRateRunCorrectTiming (unsegmented:
    // one iteration every 20 ms from t = 0).
    let (r, rows) = run_logged(
        r#"{"c": {"executor": "constant-arrival-rate", "rate": 50, "timeUnit": "1s", "duration": "5s", "preAllocatedVUs": 10, "maxVUs": 20, "flows": ["f"]}}"#,
    );
    assert_eq!(r.metrics.iterations, 250);
    assert_eq!(count(&rows, "completed"), 250);
    let mut starts: Vec<Nanos> = rows.iter().map(|r| r.start).collect();
    starts.sort_unstable();
    for (n, s) in starts.iter().enumerate() {
        assert_eq!(*s, n as u64 * 20 * MS);
    }
    for sec in 0..5 {
        let n = starts.iter().filter(|&&s| s / SEC == sec).count();
        assert_eq!(n, 50);
    }
}

#[test]
fn k6_constant_arrival_rate_dropped_iterations() {
    // k6 constant_arrival_rate_test.go TestConstantArrivalRateDroppedIterations: 10/s, 5 VUs
    // whose iterations never end, gracefulStop 0: 5 run, 5 dropped. (Upstream runs 950 ms,
    // which Validate refuses; 1 s has the same 10 arrivals, at 0, 100, ..., 900 ms.)
    let (r, rows) = run_logged(
        r#"{"c": {"executor": "constant-arrival-rate", "rate": 10, "timeUnit": "1s", "duration": "1s", "preAllocatedVUs": 5, "maxVUs": 5, "gracefulStop": "0s", "flows": ["block"]}}"#,
    );
    assert_eq!(r.metrics.dropped_iterations, 5);
    assert_eq!(r.metrics.interrupted_iterations, 5);
    assert_eq!(count(&rows, "dropped"), 5);
    assert_eq!(count(&rows, "interrupted"), 5);
    assert_eq!(
        r.metrics.vus_allocated, 5,
        "k6 vus_max: 5 pre-allocated, none added"
    );
}

// --------------------------------------------------------------- iteration executors

#[test]
fn k6_shared_iterations_run() {
    // k6 shared_iterations_test.go TestSharedIterationsRun: 10 VUs share 100 iterations.
    let (r, rows) = run_logged(
        r#"{"s": {"executor": "shared-iterations", "vus": 10, "iterations": 100, "maxDuration": "5s", "flows": ["f"]}}"#,
    );
    assert_eq!(r.metrics.iterations, 100);
    assert_eq!(r.metrics.dropped_iterations, 0);
    assert_eq!(r.metrics.interrupted_iterations, 0);
    assert_eq!(count(&rows, "completed"), 100);
    // Every VU starts at 0 and takes the next iteration as soon as its last one ends.
    let mut vus: Vec<u32> = rows.iter().filter_map(|r| r.vu).collect();
    vus.sort_unstable();
    vus.dedup();
    assert_eq!(vus.len(), 10);
    assert_eq!(rows.iter().filter(|r| r.start == 0).count(), 10);
    // The run ends with the last iteration, long before maxDuration.
    let last = rows.iter().map(|r| r.end).max().unwrap();
    assert_eq!(r.end, last);
    assert!(r.end < SEC);
    assert_eq!(r.metrics.vus_allocated, 10);
}

#[test]
fn k6_shared_iterations_emit_dropped_iterations() {
    // k6 shared_iterations_test.go TestSharedIterationsEmitDroppedIterations: 5 VUs, 100
    // iterations that never end, maxDuration 1s (gracefulStop unset there = 0): 5 started,
    // 95 dropped; the 5 are interrupted at maxDuration + gracefulStop.
    let (r, rows) = run_logged(
        r#"{"s": {"executor": "shared-iterations", "vus": 5, "iterations": 100, "maxDuration": "1s", "gracefulStop": "0s", "flows": ["block"]}}"#,
    );
    assert_eq!(r.metrics.dropped_iterations, 95);
    assert_eq!(r.metrics.interrupted_iterations, 5);
    assert_eq!(r.metrics.iterations, 0);
    assert_eq!(count(&rows, "interrupted"), 5);
    assert_eq!(count(&rows, "dropped"), 95);
    assert!(rows
        .iter()
        .filter(|r| r.outcome == "interrupted")
        .all(|r| r.start == 0 && r.end == SEC));
}

#[test]
fn k6_per_vu_iterations_run() {
    // k6 per_vu_iterations_test.go TestPerVUIterationsRun: 10 VUs x 100 iterations each.
    let (r, rows) = run_logged(
        r#"{"p": {"executor": "per-vu-iterations", "vus": 10, "iterations": 100, "maxDuration": "3s", "gracefulStop": "1s", "flows": ["f"]}}"#,
    );
    assert_eq!(r.metrics.iterations, 1000);
    let mut per_vu = std::collections::BTreeMap::new();
    for row in &rows {
        *per_vu.entry(row.vu.unwrap()).or_insert(0u64) += 1;
    }
    assert_eq!(per_vu.len(), 10);
    assert!(per_vu.values().all(|&n| n == 100), "{per_vu:?}");
}

#[test]
fn k6_per_vu_iterations_run_variable_vu() {
    // k6 per_vu_iterations_test.go TestPerVUIterationsRunVariableVU: one VU takes 201 ms per
    // iteration, maxDuration 3s, gracefulStop 1s: it completes 15 (starts at 0, 201, ...,
    // 2814 ms), the others all 100; others never pick up its work. surge cannot slow one VU
    // of a scenario, so the slow VU is a one-VU scenario beside a nine-VU one.
    let (r, rows) = run_logged(
        r#"{"fast": {"executor": "per-vu-iterations", "vus": 9, "iterations": 100, "maxDuration": "3s", "gracefulStop": "1s", "flows": ["f"]},
            "slow": {"executor": "per-vu-iterations", "vus": 1, "iterations": 100, "maxDuration": "3s", "gracefulStop": "1s", "flows": ["slow"]}}"#,
    );
    let done = |sc: &str| {
        rows.iter()
            .filter(|r| r.scenario == sc && r.outcome == "completed")
            .count()
    };
    assert_eq!(done("slow"), 15);
    assert_eq!(done("fast"), 900);
    assert_eq!(r.metrics.iterations, 915);
    // The slow VU's 85 unstarted iterations are dropped at maxDuration.
    assert_eq!(r.metrics.dropped_iterations, 85);
    assert_eq!(r.metrics.interrupted_iterations, 0);
}

#[test]
fn k6_per_vu_iterations_emit_dropped_iterations() {
    // k6 per_vu_iterations_test.go TestPerVuIterationsEmitDroppedIterations: 5 VUs x 20
    // iterations that never end, maxDuration 1s: 5 started, 95 dropped.
    let (r, rows) = run_logged(
        r#"{"p": {"executor": "per-vu-iterations", "vus": 5, "iterations": 20, "maxDuration": "1s", "gracefulStop": "0s", "flows": ["block"]}}"#,
    );
    assert_eq!(r.metrics.dropped_iterations, 95);
    assert_eq!(r.metrics.interrupted_iterations, 5);
    assert_eq!(count(&rows, "dropped") + count(&rows, "interrupted"), 100);
}

#[test]
fn iteration_outcomes_add_up_to_the_planned_iterations() {
    // Property: completed + interrupted + dropped = planned, whatever cuts the run, for both
    // iteration executors, across maxDuration / gracefulStop / think times.
    for (max_d, grace, think) in [
        ("1s", "0s", 300),
        ("2s", "500ms", 450),
        ("1s", "10s", 700),
        ("5s", "0s", 20),
    ] {
        for (exec, planned) in [("shared-iterations", 40u64), ("per-vu-iterations", 4 * 40)] {
            let json = format!(
                r#"{{"x": {{"executor": "{exec}", "vus": 4, "iterations": 40, "maxDuration": "{max_d}", "gracefulStop": "{grace}", "flows": ["t"]}}}}"#
            );
            let text = file(&json).replace(
                "scenarios:",
                &format!("  t:\n    weight: 0.000001\n    steps:\n      - request: ping\n      - sleep: uniform({}ms,{}ms)\n      - request: ping\nscenarios:", think / 2, think * 3 / 2),
            );
            let l = config::from_strs(&text, MODEL).unwrap();
            let r = try_run_logged(
                &l,
                RunOptions {
                    seed: 7,
                    replication: 0,
                },
                true,
                &mut |_, _| {},
            )
            .unwrap();
            let m = &r.metrics;
            assert_eq!(
                m.iterations + m.interrupted_iterations + m.dropped_iterations,
                planned,
                "{exec} {max_d} {grace} {think}: {} + {} + {}",
                m.iterations,
                m.interrupted_iterations,
                m.dropped_iterations
            );
            let csv = r.iterations_csv.unwrap();
            assert_eq!(csv.lines().count() as u64 - 1, planned);
            // Nothing runs past maxDuration + gracefulStop.
            let cut = surge::dist::parse_duration(max_d).unwrap()
                + surge::dist::parse_duration(grace).unwrap();
            assert!(r.end <= cut, "{} > {cut}", r.end);
        }
    }
}

// --------------------------------------------------------------------- k6 vus_max

#[test]
fn vus_max_counts_planned_vus_once_and_unplanned_as_initialised() {
    // k6 vus_max = VUs initialised: GetMaxPlannedVUs of the full plan before the start (two
    // scenarios that do not overlap share VUs), plus arrival-rate VUs added mid-run.
    let (r, _) = run_logged(
        r#"{"a": {"executor": "per-vu-iterations", "vus": 3, "iterations": 1, "gracefulStop": "0s", "maxDuration": "1s", "flows": ["f"]},
            "b": {"executor": "shared-iterations", "vus": 2, "iterations": 2, "startTime": "2s", "gracefulStop": "0s", "flows": ["f"]}}"#,
    );
    assert_eq!(r.metrics.vus_allocated, 3, "max(3, 2), not 3 + 2");
    // 20/s of a 1 s flow needs ~20 VUs: 2 pre-allocated, the rest initialised mid-run (≤ 10).
    let (r, _) = run_logged(
        r#"{"c": {"executor": "constant-arrival-rate", "rate": 20, "duration": "3s", "preAllocatedVUs": 2, "maxVUs": 10, "flows": ["block"], "gracefulStop": "0s"}}"#,
    );
    assert_eq!(r.metrics.vus_allocated, 10);
}

// ------------------------------------------------------------------------ CLI

#[test]
fn inspect_prints_the_k6_execution_requirements() {
    let dir = common::tmpdir("k6exec", "inspect");
    std::fs::write(dir.join("m.yaml"), MODEL).unwrap();
    let s = file(
        r#"{"ramp": {"executor": "ramping-vus", "startVUs": 4, "stages": [{"duration": "2s", "target": 6}, {"duration": "5s", "target": 1}, {"duration": "4s", "target": 5}, {"duration": "4s", "target": 1}, {"duration": "3s", "target": 4}, {"duration": "2s", "target": 4}, {"duration": "0s", "target": 1}, {"duration": "3s", "target": 1}]},
           "car": {"executor": "constant-arrival-rate", "rate": 30, "timeUnit": "1m", "duration": "10m", "preAllocatedVUs": 20, "maxVUs": 30, "startTime": "1m"},
           "art": {"executor": "artillery", "phases": [{"duration": 3, "arrivalRate": 2}, {"duration": 2, "arrivalRate": 1, "rampTo": 3}]}}"#,
    )
    .replace("model: x", "model: m.yaml");
    std::fs::write(dir.join("s.yaml"), s).unwrap();
    let out = common::surge(&["inspect", "s.yaml", "--json"], &dir);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // ramping-vus as k6 TestRampingVUsConfigExecutionPlanExample (gracefulStop/RampDown 30s).
    let ramp: Vec<(u64, u64)> = j["scenarios"]["ramp"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["t_ns"].as_u64().unwrap() / SEC,
                s["planned_vus"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ramp,
        [(0, 4), (1, 5), (2, 6), (33, 5), (42, 4), (50, 1), (53, 0)]
    );
    // constant-arrival-rate: 0.5/s for 10 min = 300 arrivals, one every 2 s; 1m + 10m30s.
    let car = &j["scenarios"]["car"];
    assert_eq!(car["planned_iterations"], 300);
    assert_eq!(car["max_vus"], 30);
    let per_s = car["arrivals_per_second"].as_array().unwrap();
    assert!(
        per_s.iter().step_by(2).all(|c| c == 1) && per_s.iter().skip(1).step_by(2).all(|c| c == 0)
    );
    assert_eq!(
        j["total_duration_ns"].as_u64().unwrap(),
        60 * SEC + 630 * SEC
    );
    // Artillery: 2/s for 3 s is a 500 ms tick, arrivals at 0.5, 1.0, ..., 3.0 s.
    let art = &j["scenarios"]["art"];
    let per_s: Vec<u64> = art["arrivals_per_second"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(&per_s[..3], &[1, 2, 2]);
    assert_eq!(
        per_s.iter().sum::<u64>(),
        art["arrivals_total"].as_u64().unwrap()
    );
    assert!(art["graceful_stop_ns"].is_null());
    // maxVUs: the ramp (over by 53 s) does not overlap the arrival-rate scenario (from 60 s),
    // so the busiest step is the latter's 20 planned + 10 unplanned.
    assert_eq!(j["maxVUs"], 30);
    assert_eq!(j["max_planned_vus"], 20);
    let text = common::surge(&["inspect", "s.yaml"], &dir);
    assert!(text.status.success());
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(
        t.contains("scenario ramp (ramping-vus)") && t.contains("arrivals per second"),
        "{t}"
    );
}

#[test]
fn run_writes_the_iterations_log_atomically() {
    let dir = common::tmpdir("k6exec", "iterlog");
    std::fs::write(dir.join("m.yaml"), MODEL).unwrap();
    let s = file(
        r#"{"s": {"executor": "shared-iterations", "vus": 3, "iterations": 7, "flows": ["f"]}}"#,
    )
    .replace("model: x", "model: m.yaml");
    std::fs::write(dir.join("s.yaml"), s).unwrap();
    let out = common::surge(
        &[
            "run",
            "s.yaml",
            "--quiet",
            "--out",
            "res",
            "--iterations-log",
            "iters.csv",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let csv = std::fs::read_to_string(dir.join("iters.csv")).unwrap();
    assert_eq!(csv.lines().count(), 8);
    assert!(
        csv.lines().skip(1).all(|l| l.ends_with(",s,f,completed")),
        "{csv}"
    );
    // No temp file left behind.
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

// ---------------------------------------------------------------- tagged http metrics

#[test]
fn http_metric_tags_as_k6_submetrics() {
    // k6 tags on http metrics (importing-load-tests.md §1.6): {expected_response:true} keeps
    // successful requests only; {status:0} is a request timeout; {scenario}, {name} filter.
    // `slow` (50 ms of CPU) always times out at the 20 ms client timeout; `ping` succeeds.
    let model = format!("{MODEL}      slow:\n        - cpu: const(50ms)\n");
    let text = "model: x\nrequest_timeout: 20ms\nflows:\n  both:\n    steps:\n      - request: ping\n      - request: slow\n  \
                ping:\n    steps:\n      - request: ping\n\
                scenarios:\n  a: {executor: per-vu-iterations, vus: 2, iterations: 5, flows: [both]}\n  \
                b: {executor: shared-iterations, vus: 1, iterations: 3, flows: [ping]}\n\
                thresholds:\n  'http_req_duration{expected_response:true}': ['max<10']\n  \
                'http_req_duration': ['max<10']\n  \
                'http_reqs{status:0}': ['count==10']\n  \
                'http_reqs{status:200,scenario:b}': ['count==3']\n  \
                'http_req_failed{scenario:a}': ['rate==0.5']\n  \
                'http_req_failed{name:slow}': ['rate==1']\n  \
                'http_req_failed{expected_response:true}': ['rate==0']\n";
    let l = config::from_strs(text, &model).unwrap();
    let r = try_run_logged(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        false,
        &mut |_, _| {},
    )
    .unwrap();
    let verdicts = l
        .scenario
        .thresholds
        .evaluate(&|sel, agg| r.measure(sel, agg));
    let v: Vec<(String, bool)> = verdicts.iter().map(|v| (v.key.clone(), v.pass)).collect();
    assert_eq!(
        v,
        [
            (
                "http_req_duration{expected_response:true}".to_string(),
                true
            ),
            ("http_req_duration".to_string(), false), // the 20 ms timeouts count here
            ("http_reqs{status:0}".to_string(), true),
            ("http_reqs{status:200,scenario:b}".to_string(), true),
            ("http_req_failed{scenario:a}".to_string(), true),
            ("http_req_failed{name:slow}".to_string(), true),
            ("http_req_failed{expected_response:true}".to_string(), true),
        ]
    );
    // Unknown tag values are refused naming the threshold.
    for (key, want) in [
        ("http_reqs{scenario:nope}", "no scenario"),
        ("http_reqs{status:abc}", "HTTP status"),
        ("http_reqs{expected_response:yes}", "true or false"),
        ("http_reqs{name:nope}", "no request name"),
    ] {
        let bad = text.replace("'http_reqs{status:0}'", &format!("'{key}'"));
        let e = config::from_strs(&bad, &model).unwrap_err().to_string();
        assert!(e.contains(want) && e.contains("thresholds"), "{key}: {e}");
    }
}

// ------------------------------------------------ run-time behaviour beyond the executors

/// A scenario file with one flow, `steps`, and the given scenarios and thresholds.
fn run_flow(steps: &str, scenarios: &str, thresholds: &str) -> Result<RunResult, String> {
    let text = format!(
        "model: x\nsample_interval: 1s\nflows:\n  f:\n    steps: {steps}\n\
         scenarios: {scenarios}\nthresholds: {thresholds}\n"
    );
    let l = config::from_strs(&text, MODEL).map_err(|e| e.to_string())?;
    let opts = RunOptions {
        seed: 1,
        replication: 0,
    };
    try_run_logged(&l, opts, true, &mut |_, _| {}).map_err(|e| e.to_string())
}

/// k6 `internal/metrics/engine/engine.go`: thresholds are checked every 2 s while the test
/// runs; a failing one with `abortOnFail` stops the test once `delayAbortEval` is behind.
#[test]
fn abort_on_fail_stops_the_test_at_the_first_check_past_its_delay() {
    let steps = "[{request: ping}, {sleep: const(990ms)}]";
    let sc = "{s: {executor: constant-vus, vus: 1, duration: 60s}}";
    for (delay, at) in [
        ("", 2),
        (", delayAbortEval: 1s", 2),
        (", delayAbortEval: 5s", 6),
    ] {
        let th =
            format!("{{http_req_duration: [{{threshold: 'max<0.5', abortOnFail: true{delay}}}]}}");
        let r = run_flow(steps, sc, &th).unwrap();
        let a = r.aborted.clone().expect("aborted");
        assert_eq!(a.at, at * SEC, "delay {delay:?}");
        assert_eq!(a.keys, ["http_req_duration"]);
        assert_eq!(r.end, at * SEC);
        // Only what ran before the abort was measured: one request per second.
        assert!(r.metrics.requests() <= at + 1, "{}", r.metrics.requests());
    }
    // Failing without abortOnFail, or passing with it: the test runs to its end.
    for th in [
        "{http_req_duration: ['max<0.5']}",
        "{http_req_duration: [{threshold: 'max<100', abortOnFail: true}]}",
    ] {
        let r = run_flow(steps, sc, th).unwrap();
        assert!(r.aborted.is_none(), "{th}");
        assert!(r.end >= 60 * SEC, "{th}: {}", r.end);
    }
    // A metric with no samples yet is skipped, not failed: no request is made before 3 s.
    let late = "[{sleep: const(3s)}, {request: ping}, {sleep: const(100h)}]";
    let th = "{http_req_duration: [{threshold: 'max<0.5', abortOnFail: true}]}";
    let r = run_flow(late, sc, th).unwrap();
    assert_eq!(r.aborted.map(|a| a.at), Some(4 * SEC));
}

#[test]
fn a_bad_delay_abort_eval_is_refused_with_its_place() {
    for bad in ["banana", "-5s"] {
        let th = format!("{{http_req_duration: [{{threshold: 'max<1', abortOnFail: true, delayAbortEval: '{bad}'}}]}}");
        let sc = "{s: {executor: constant-vus, vus: 1, duration: 1s}}";
        let Err(e) = run_flow("[{request: ping}]", sc, &th) else {
            panic!("{bad} accepted")
        };
        assert!(
            e.contains("delayAbortEval") && e.contains("http_req_duration"),
            "{e}"
        );
    }
}

/// ramping-vus: a VU the last stage ramps down at the regular end still gets its
/// gracefulRampDown (k6 `ramping_vus.go` gracefulSteps): interrupted at end + 2 s, not left to
/// finish under gracefulStop.
#[test]
fn a_ramp_down_at_the_regular_end_gets_graceful_ramp_down() {
    let sc = "{s: {executor: ramping-vus, startVUs: 2, gracefulRampDown: 2s, \
              stages: [{duration: 5s, target: 2}, {duration: 5s, target: 0}]}}";
    let text = format!(
        "model: x\nsample_interval: 1s\nflows:\n  f:\n    steps: [{{request: ping}}, {{sleep: const(20s)}}]\n\
         scenarios: {sc}\n"
    );
    let l = config::from_strs(&text, MODEL).unwrap();
    let opts = RunOptions {
        seed: 1,
        replication: 0,
    };
    let mut r = try_run_logged(&l, opts, true, &mut |_, _| {}).unwrap();
    let csv = r.iterations_csv.take().unwrap();
    let mut ends: Vec<(u64, String)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[5].to_string())
        })
        .collect();
    ends.sort();
    // VU 1 is told to stop at 7.5 s, VU 0 at 10 s (the regular end); each gets 2 s.
    assert_eq!(
        ends,
        [
            (9_500 * MS, "interrupted".to_string()),
            (12 * SEC, "interrupted".to_string())
        ]
    );
}

/// k6's `vus` and `vus_max` are gauges sampled every second while the test runs
/// (`internal/execution/scheduler.go` emitVUsAndVUsMax).
#[test]
fn vus_is_a_gauge_sampled_every_second() {
    let steps = "[{request: ping}, {sleep: const(100ms)}]";
    let r = run_flow(
        steps,
        "{s: {executor: constant-vus, vus: 3, duration: 10s}}",
        "{}",
    )
    .unwrap();
    let g = r.metrics.vus_gauge;
    assert_eq!((g.value, g.min, g.max, g.samples), (3.0, 3.0, 3.0, 10));
    assert_eq!(r.metrics.vus_max_gauge.max, 3.0);
    let ramp = "{s: {executor: ramping-vus, startVUs: 0, gracefulRampDown: 0s, \
                stages: [{duration: 10s, target: 10}]}}";
    let r = run_flow(steps, ramp, "{}").unwrap();
    let g = r.metrics.vus_gauge;
    assert_eq!(g.samples, 10);
    assert!(
        g.min <= 1.0 && g.max >= 9.0 && g.max <= 10.0 && g.value == g.max,
        "{g:?}"
    );
    assert_eq!(r.metrics.vus_max_gauge.value, 10.0);
}

/// At the end of the test k6 evaluates empty sinks too: an empty trend reads 0, an empty
/// rate is skipped (`metrics/thresholds.go` Run, `evaluateThresholds(false)`).
#[test]
fn empty_trends_read_zero_at_the_end_and_empty_rates_are_skipped() {
    use surge::threshold::{parse_selector, Aggregation};
    let r = run_flow(
        "[{sleep: const(1s)}]",
        "{s: {executor: constant-vus, vus: 1, duration: 3s}}",
        "{}",
    )
    .unwrap();
    let sel = |k: &str| parse_selector(k).unwrap();
    assert_eq!(
        r.measure(&sel("http_req_duration"), &Aggregation::Avg),
        Some(0.0)
    );
    assert_eq!(r.measure(&sel("http_reqs"), &Aggregation::Count), Some(0.0));
    assert_eq!(r.measure(&sel("http_req_failed"), &Aggregation::Rate), None);
}

/// k6's scheduler runs only executors with work (`HasWork`): an arrival-rate scenario with
/// maxVUs 0 drops nothing and does not hold the test open (internal/execution/scheduler.go).
#[test]
fn a_scenario_without_work_is_not_run() {
    let sc = "{a: {executor: constant-arrival-rate, rate: 5, duration: 1m, preAllocatedVUs: 0, \
              maxVUs: 0}, b: {executor: constant-vus, vus: 1, duration: 5s}}";
    let r = run_flow("[{request: ping}, {sleep: const(1s)}]", sc, "{}").unwrap();
    assert_eq!(r.metrics.dropped_iterations, 0);
    assert!(r.end < 7 * SEC, "{}", r.end);
    assert_eq!(r.metrics.iterations, 5);
    // With work it runs and, with no VU to spare, drops every arrival.
    let sc = sc
        .replace("maxVUs: 0", "maxVUs: 1")
        .replace("preAllocatedVUs: 0", "preAllocatedVUs: 1");
    let r = run_flow("[{request: ping}, {sleep: const(100h)}]", &sc, "{}").unwrap();
    assert!(
        r.metrics.dropped_iterations >= 250,
        "{}",
        r.metrics.dropped_iterations
    );
}

/// `inspect`'s totalDuration covers surge-only scenarios too (they have no k6 requirements).
#[test]
fn total_duration_covers_poisson_and_artillery_scenarios() {
    use surge::workload::inspect::Plan;
    let l = load(
        "{a: {executor: constant-vus, vus: 2, duration: 2s}, \
          p: {executor: poisson-arrivals, rate: 5, duration: 30s, startTime: 5s, gracefulStop: 10s}}",
    )
    .unwrap();
    assert_eq!(Plan::of(&l.scenario).total_duration(), 45 * SEC);
}

/// k6's `rps`: one token bucket for all VUs caps the request rate; the wait lengthens the
/// iterations and is not part of `http_req_duration` (load-generators.md, `--rps`).
#[test]
fn rps_caps_the_request_rate_and_stays_out_of_the_latency() {
    let text =
        "model: x\nsample_interval: 1s\nrps: 10\nflows:\n  f:\n    steps: [{request: ping}]\n\
                scenarios: {s: {executor: constant-vus, vus: 5, duration: 10s}}\n";
    let l = config::from_strs(text, MODEL).unwrap();
    let opts = RunOptions {
        seed: 1,
        replication: 0,
    };
    let r = try_run_logged(&l, opts, false, &mut |_, _| {}).unwrap();
    let n = r.metrics.requests();
    // Tokens every 100 ms: 100 before the end, and the 5 VUs' waiting requests after it.
    assert!((100..=106).contains(&n), "{n}");
    assert!(
        r.metrics.http.max_ms() < 1.01,
        "{}",
        r.metrics.http.max_ms()
    );
    // Five VUs share 10 tokens/s: each iteration waits about 0.5 s.
    let it = r.metrics.iteration_duration.avg_ms();
    assert!((450.0..=550.0).contains(&it), "{it}");
    // Without it the same VUs make thousands of requests.
    let l = config::from_strs(&text.replace("rps: 10\n", ""), MODEL).unwrap();
    let r = try_run_logged(&l, opts, false, &mut |_, _| {}).unwrap();
    assert!(r.metrics.requests() > 10_000);
}

// ------------------------------------------------------------------ minIterationDuration

/// Run `scenarios` with k6's `minIterationDuration` set, logging iterations.
fn run_padded(min: &str, scenarios: &str) -> (RunResult, Vec<Row>) {
    run_text(&format!(
        "min_iteration_duration: {min}\n{}",
        file(scenarios)
    ))
}

/// k6 `internal/js/runner.go` RunOnce: a full iteration shorter than minIterationDuration is
/// followed by a sleep of the rest, outside `iteration_duration`. One VU of 1 ms iterations
/// for 10 s with a 1 s minimum: iterations start on the second, 10 of them, each recorded
/// at its own 1 ms; without the option the same VU runs about 10,000.
#[test]
fn min_iteration_duration_pads_each_iteration() {
    let sc = "{a: {executor: constant-vus, vus: 1, duration: 10s, flows: [f]}}";
    let (r, rows) = run_padded("1s", sc);
    assert_eq!(count(&rows, "completed"), 10, "{rows:?}");
    for (k, row) in rows.iter().enumerate() {
        assert_eq!(
            row.start,
            k as u64 * SEC,
            "iteration {k} starts on its second"
        );
        assert!(
            row.end - row.start < 10 * MS,
            "the pad is not in the iteration: {row:?}"
        );
    }
    assert!(r.metrics.iteration_duration.max_ms() < 10.0);
    let (plain, _) = run_logged(sc);
    assert!(
        plain.metrics.iterations > 5_000,
        "{}",
        plain.metrics.iterations
    );
    // Zero or negative is no pad, as in k6 (the remainder must be positive).
    let (r0, _) = run_padded("0s", sc);
    assert_eq!(r0.metrics.iterations, plain.metrics.iterations);
}

/// The pad belongs to the iteration's run: an arrival-rate VU stays busy through it (later
/// arrivals need another VU or are dropped), and a hard stop cuts it without counting an
/// interrupted iteration.
#[test]
fn min_iteration_duration_holds_the_vu_and_a_hard_stop_cuts_it() {
    // 10 arrivals/s for 2 s on at most 5 VUs, each held 1 s: 5 start, the other 15 drop.
    let (r, rows) = run_padded(
        "1s",
        "{a: {executor: constant-arrival-rate, rate: 10, timeUnit: 1s, duration: 2s, \
          preAllocatedVUs: 5, maxVUs: 5, flows: [f], gracefulStop: 0s}}",
    );
    let done = count(&rows, "completed");
    assert!((9..=11).contains(&done), "{done} completed: {rows:?}");
    assert_eq!(done + r.metrics.dropped_iterations, 20);
    // A 30 s pad after a 2 s constant-vus test with a 1 s gracefulStop: the pad is cut at 3 s.
    let (r, rows) = run_padded(
        "30s",
        "{a: {executor: constant-vus, vus: 2, duration: 2s, gracefulStop: 1s, flows: [f]}}",
    );
    assert_eq!(count(&rows, "completed"), 2);
    assert_eq!(count(&rows, "interrupted"), 0, "{rows:?}");
    assert_eq!(r.metrics.interrupted_iterations, 0);
    assert_eq!(r.end, 3 * SEC);
}
