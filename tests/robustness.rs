//! Bad input gets an answer, never a panic: every numeric field of the bundled models, set to
//! edge values, either fails validation with a message or runs to the end.

use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use surge::config::{self, overrides::leaves};
use surge::sim::{self, RunOptions};

/// Numeric leaves of the model (the scenario's own fields are covered by the workload tests).
fn numeric_paths(scenario: &Path) -> Vec<String> {
    let l = config::load(scenario, &[]).unwrap();
    let img = serde_json::to_value(&l.model).unwrap();
    let mut all = Vec::new();
    leaves(&img, "", &mut all);
    all.into_iter()
        .filter(|(_, v)| matches!(v, Value::Number(_)))
        .map(|(p, _)| p)
        .collect()
}

fn edge_values_never_panic(scenario: &str, cap: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join(scenario);
    let paths = numeric_paths(&path);
    assert!(
        paths.len() > 20,
        "only {} numeric fields found",
        paths.len()
    );
    let mut panics = Vec::new();
    let mut rejected = 0;
    for p in &paths {
        for v in ["0", "1", "-1", "0.5", "3"] {
            let sets = [format!("{p}={v}"), format!("duration={cap}")];
            let outcome = catch_unwind(AssertUnwindSafe(|| match config::load(&path, &sets) {
                Ok(l) => {
                    let opts = RunOptions {
                        seed: 1,
                        replication: 0,
                    };
                    sim::run(&l, opts, &mut |_, _| {});
                    true
                }
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains(p.split('[').next().unwrap()) || msg.contains("field"),
                        "{p}={v}: {msg}"
                    );
                    false
                }
            }));
            match outcome {
                Ok(false) => rejected += 1,
                Ok(true) => {}
                Err(_) => panics.push(format!("{p}={v}")),
            }
        }
    }
    assert!(panics.is_empty(), "panicked on: {panics:?}");
    assert!(
        rejected > 0,
        "no edge value was rejected: the validation is not being exercised"
    );
}

#[test]
fn quickstart_and_shop_models() {
    edge_values_never_panic("scenarios/quickstart.yaml", "20s");
    edge_values_never_panic("scenarios/shop-spike.yaml", "20s");
    edge_values_never_panic("scenarios/shop-spike-aws.yaml", "20s");
}

#[test]
fn hamballer_model() {
    edge_values_never_panic("scenarios/hamballer-baseline.yaml", "10s");
}

// ---------------------------------------------------------------------------------------------
// Issue 13: every class of input that once crashed, aborted or hung `surge run` after passing
// `surge validate`, through the binary: either both refuse it (exit 2, the file and the place
// in it), or the run finishes.

mod common;

use common::{stderr, surge};

const MODEL: &str = "entry: web
services:
  web:
    replicas: 2
    pod: {cores: 1}
    endpoints:
      home:
        - cpu: exp(mean=5ms)
      buy:
        - cpu: exp(mean=8ms)
";

const SCENARIO: &str = "model: model.yaml
flows:
  browse:
    steps:
      - request: home
      - sleep: const(1s)
scenarios:
  load:
    executor: constant-vus
    vus: 2
    duration: 5s
";

/// Write `scenario` and `model` into a fresh folder; returns it.
fn files(name: &str, scenario: &str, model: &str) -> common::TmpDir {
    let d = common::tmpdir("robust", name);
    std::fs::write(d.join("scenario.yaml"), scenario).unwrap();
    std::fs::write(d.join("model.yaml"), model).unwrap();
    d
}

fn validate(d: &Path, extra: &[&str]) -> std::process::Output {
    let mut a = vec!["validate", "scenario.yaml"];
    a.extend_from_slice(extra);
    surge(&a, d)
}

fn run(d: &Path, extra: &[&str]) -> std::process::Output {
    let mut a = vec!["run", "scenario.yaml", "--out", "out", "-q"];
    a.extend_from_slice(extra);
    surge(&a, d)
}

/// Both `validate` and `run` refuse with exit 2, naming `file` and every needle; the run
/// writes nothing.
fn refused(name: &str, scenario: &str, model: &str, file: &str, needles: &[&str]) -> String {
    refused_with(name, scenario, model, file, needles, &[])
}

fn refused_with(
    name: &str,
    scenario: &str,
    model: &str,
    file: &str,
    needles: &[&str],
    extra: &[&str],
) -> String {
    let d = files(name, scenario, model);
    for (what, o) in [("validate", validate(&d, extra)), ("run", run(&d, extra))] {
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {what}: {e}");
        assert!(e.contains(file), "{name}: {what} should name {file}: {e}");
        for n in needles {
            assert!(e.contains(n), "{name}: {what} should mention {n:?}: {e}");
        }
        assert!(!e.contains("panicked"), "{name}: {e}");
    }
    assert!(
        !d.join("out").exists(),
        "{name}: a refused run wrote output"
    );
    stderr(&validate(&d, extra))
}

/// `validate` passes and the run finishes (targets met or not); returns summary.json.
fn runs(name: &str, scenario: &str, model: &str) -> serde_json::Value {
    let d = files(name, scenario, model);
    let v = validate(&d, &[]);
    assert_eq!(v.status.code(), Some(0), "{name}: validate: {}", stderr(&v));
    let t0 = std::time::Instant::now();
    let o = run(&d, &[]);
    assert!(
        matches!(o.status.code(), Some(0) | Some(99)),
        "{name}: run: {:?} {}",
        o.status.code(),
        stderr(&o)
    );
    assert!(t0.elapsed().as_secs() < 60, "{name}: the run took too long");
    serde_json::from_str(&std::fs::read_to_string(d.join("out/summary.json")).unwrap()).unwrap()
}

fn with_executor(exec: &str) -> String {
    let (head, _) = SCENARIO.split_once("scenarios:").unwrap();
    format!("{head}scenarios:\n  load:\n{exec}")
}

#[test]
fn artillery_rate_above_the_tick_is_refused() {
    let s = with_executor(
        "    executor: artillery\n    phases:\n      - {duration: 10, arrivalRate: 2000000}\n",
    );
    refused(
        "art-tick",
        &s,
        MODEL,
        "scenario.yaml",
        &["phases[0]", "line 11", "1000000"],
    );
}

#[test]
fn artillery_null_duration_is_refused() {
    let s = with_executor(
        "    executor: artillery\n    phases:\n      - duration: 5\n        arrivalRate: 1\n      - duration: null\n        arrivalRate: 5\n",
    );
    refused(
        "art-null",
        &s,
        MODEL,
        "scenario.yaml",
        &["phases[1]", "line 13", "duration"],
    );
}

#[test]
fn artillery_ramp_to_without_arrival_rate_ramps_from_zero() {
    // Artillery's divideWork sets arrivalRate ||= 0; createRamp over 4 one-second periods
    // then gives raw 0 + 4p/3 = 0, 1.33, 2.67, 4, which adjustArrivalsByWorker rounds half
    // up: 0, 1, 3, 4 arrivals, 8 VUs with one iteration each.
    let s =
        with_executor("    executor: artillery\n    phases:\n      - {duration: 4, rampTo: 4}\n");
    let v = runs("art-rampto", &s, MODEL);
    assert_eq!(v["metrics"]["iterations"]["values"]["count"], 8, "{v}");
}

#[test]
fn huge_or_fractional_vu_counts_are_refused_at_their_line() {
    let ramp = |start: &str, t: &str| {
        with_executor(&format!(
            "    executor: ramping-vus\n    startVUs: {start}\n    stages:\n      - {{duration: 5s, target: 3}}\n      - {{duration: 5s, target: {t}}}\n"
        ))
    };
    refused(
        "vus-1e12",
        &ramp("0", "1e12"),
        MODEL,
        "scenario.yaml",
        &["line 13", "stages[1].target"],
    );
    refused(
        "vus-1e308",
        &ramp("0", "1e308"),
        MODEL,
        "scenario.yaml",
        &["stages[1].target"],
    );
    refused(
        "vus-frac",
        &ramp("0", "2.5"),
        MODEL,
        "scenario.yaml",
        &["line 13", "whole number"],
    );
    refused(
        "startvus",
        &ramp("2147483648", "3"),
        MODEL,
        "scenario.yaml",
        &["line 10", "startVUs"],
    );
    let cv = with_executor("    executor: constant-vus\n    vus: 4294967295\n    duration: 5s\n");
    refused("vus-max", &cv, MODEL, "scenario.yaml", &["line 10", "vus"]);
}

#[test]
fn huge_arrival_rates_are_refused_with_the_estimate() {
    let car = with_executor(
        "    executor: constant-arrival-rate\n    rate: 1000000000\n    duration: 60s\n    preAllocatedVUs: 10\n    maxVUs: 100000000\n",
    );
    let e = refused(
        "car-1e9",
        &car,
        MODEL,
        "scenario.yaml",
        &["would", "budget"],
    );
    assert!(e.contains("events") || e.contains("memory"), "{e}");
    let poisson =
        with_executor("    executor: poisson-arrivals\n    rate: 1000000000\n    duration: 60s\n");
    refused(
        "poisson-1e9",
        &poisson,
        MODEL,
        "scenario.yaml",
        &["line 10", "would", "budget"],
    );
}

#[test]
fn huge_keyspaces_and_replica_counts_are_refused_with_the_estimate() {
    let keys = format!(
        "{MODEL}caches:\n  redis:\n    nodes: 1\n    keyspaces:\n      users:\n        keys: 4294967295\n        ttl: 60s\n"
    );
    // Under an explicit budget, so the outcome does not depend on this machine's RAM.
    let e = refused_with(
        "keys",
        SCENARIO,
        &keys,
        "model.yaml",
        &["line 16", "caches.redis.keyspaces.users.keys", "32.0 GiB"],
        &["--max-memory", "8Gi"],
    );
    assert!(e.contains("8.0 GiB"), "{e}");
    let replicas = MODEL.replace("replicas: 2", "replicas: 2147483648");
    refused(
        "replicas",
        SCENARIO,
        &replicas,
        "model.yaml",
        &["line 4", "services.web.replicas", "pods"],
    );
}

#[test]
fn a_tiny_sample_interval_is_refused_with_the_estimate() {
    let s = SCENARIO
        .replace("flows:", "sample_interval: 1us\nflows:")
        .replace("5s", "10m");
    refused(
        "sample",
        &s,
        MODEL,
        "scenario.yaml",
        &["line 2", "sample_interval", "time-series rows"],
    );
}

#[test]
fn a_flow_that_takes_no_time_is_an_error_naming_it() {
    let s = SCENARIO.replace(
        "      - request: home\n      - sleep: const(1s)\n",
        "      - sleep: const(0s)\n",
    );
    let d = files("still", &s, MODEL);
    assert_eq!(validate(&d, &[]).status.code(), Some(0));
    let t0 = std::time::Instant::now();
    let o = run(&d, &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("scenario.yaml") && e.contains("flows.browse"),
        "{e}"
    );
    assert!(e.contains("without simulated time passing"), "{e}");
    assert!(t0.elapsed().as_secs() < 30);
    assert!(!d.join("out").exists());
    // The same when every request is rejected at once (no pod can take it).
    let m = MODEL.replace("pod: {cores: 1}", "pod: {cores: 1, max_inflight: 1}");
    let s = SCENARIO
        .replace("      - sleep: const(1s)\n", "")
        .replace("vus: 2", "vus: 3");
    let d = files("still-rejected", &s, &m);
    let o = run(&d, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("flows.browse"), "{}", stderr(&o));
}

#[test]
fn zero_time_units_durations_and_timeouts_are_refused() {
    let car = with_executor(
        "    executor: constant-arrival-rate\n    rate: 5\n    timeUnit: 0s\n    duration: 5s\n    preAllocatedVUs: 2\n",
    );
    refused("tu-car", &car, MODEL, "scenario.yaml", &["timeUnit"]);
    let p = with_executor(
        "    executor: poisson-arrivals\n    rate: 5\n    timeUnit: 0s\n    duration: 5s\n",
    );
    refused("tu-poisson", &p, MODEL, "scenario.yaml", &["timeUnit"]);
    let d = SCENARIO.replace("flows:", "duration: 0s\nflows:");
    refused(
        "dur0",
        &d,
        MODEL,
        "scenario.yaml",
        &["line 2", "field duration", "positive"],
    );
    let t = SCENARIO.replace("flows:", "request_timeout: 0s\nflows:");
    refused(
        "timeout0",
        &t,
        MODEL,
        "scenario.yaml",
        &["line 2", "request_timeout", "positive"],
    );
}

#[test]
fn non_utf8_input_is_located() {
    let mut bytes = SCENARIO.as_bytes().to_vec();
    let at = SCENARIO.find("browse").unwrap();
    bytes.splice(at..at, [0xff, 0xfe]);
    let d = files("utf8", SCENARIO, MODEL);
    std::fs::write(d.join("scenario.yaml"), &bytes).unwrap();
    let o = validate(&d, &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("line 3") && e.contains(&format!("byte offset {at}")),
        "{e}"
    );
    assert!(e.contains("UTF-8"), "{e}");
    // An HPA manifest that is not UTF-8 is reported as such, not as "not found".
    let m = MODEL.replace(
        "    pod: {cores: 1}\n",
        "    pod: {cores: 1}\n    autoscaler: hpa.yaml\n",
    );
    let d = files("utf8-hpa", SCENARIO, &m);
    std::fs::write(
        d.join("hpa.yaml"),
        b"kind: HorizontalPodAutoscaler\nspec: \xc3\x28\n",
    )
    .unwrap();
    let o = validate(&d, &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("hpa.yaml") && e.contains("line 2") && e.contains("UTF-8"),
        "{e}"
    );
    assert!(!e.contains("not found"), "{e}");
}

#[test]
fn nan_in_a_file_is_blamed_on_the_file_not_the_set() {
    let m = MODEL.replace("pod: {cores: 1}", "pod: {cores: .nan}");
    let d = files("nan", SCENARIO, &m);
    let o = run(&d, &["--set", "services.web.replicas=3"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("model.yaml") && e.contains("line 5"), "{e}");
    assert!(!e.contains("--set"), "{e}");
}

#[test]
fn a_threshold_on_an_unknown_endpoint_lists_the_endpoints() {
    let s = format!(
        "{SCENARIO}thresholds:\n  'http_req_duration{{endpoint:checkout}}': ['p(95)<500']\n"
    );
    refused(
        "thr",
        &s,
        MODEL,
        "scenario.yaml",
        &["checkout", "buy, home"],
    );
}

#[test]
fn a_new_run_removes_temp_files_of_dead_writers() {
    let d = files("stale", SCENARIO, MODEL);
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A pid above Linux's pid_max is never alive.
    let stale = out.join(".summary.json.999999999.tmp");
    std::fs::write(&stale, b"half").unwrap();
    let o = run(&d, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    if Path::new("/proc/self").exists() {
        assert!(
            !stale.exists(),
            "the dead writer's temp file is still there"
        );
    }
}

#[test]
fn the_memory_budget_refuses_just_over_and_runs_just_under() {
    // A model dominated by a keyspace, so the estimate is far above the fixed overhead.
    let m = format!(
        "{MODEL}caches:\n  redis:\n    nodes: 1\n    keyspaces:\n      users:\n        keys: 20000000\n        ttl: 60s\n"
    );
    // Cut by `duration`, so the run cannot outlast the estimated time series.
    let s = SCENARIO.replace("flows:", "duration: 5s\nflows:");
    let d = files("budget", &s, &m);
    let l = surge::config::load(&d.join("scenario.yaml"), &[]).unwrap();
    let est = surge::config::budget::estimate(&l.scenario, &l.model).memory();
    let over = (est - 1).to_string();
    let o = validate(&d, &["--max-memory", &over]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&surge::config::budget::fmt_bytes(est)) && e.contains("keyspaces.users.keys"),
        "the refusal states the estimate: {e}"
    );
    let o = run(&d, &["--max-memory", &over]);
    assert_eq!(o.status.code(), Some(2));
    let under = est.to_string();
    let o = validate(&d, &["--max-memory", &under]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&d, &["--max-memory", &under]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn the_engine_enforces_the_event_budget_while_running() {
    // The estimate counts a closed VU's iterations as if each request took a whole client
    // timeout (a lower bound); the real run does about 570 iterations per VU, far more.
    let s = SCENARIO
        .replace("duration: 5s", "duration: 60s")
        .replace("vus: 2", "vus: 20")
        .replace("const(1s)", "const(100ms)");
    let d = files("budget-events", &s, MODEL);
    let l = surge::config::load(&d.join("scenario.yaml"), &[]).unwrap();
    let est = surge::config::budget::estimate(&l.scenario, &l.model).events();
    let actual = surge::sim::run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    )
    .events;
    assert!(actual > 3 * est, "estimate {est}, actual {actual}");
    let max = (2 * est).to_string();
    let v = validate(&d, &["--max-events", &max]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    let o = run(&d, &["--max-events", &max]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("events") && e.contains("nothing was written"),
        "{e}"
    );
    assert!(!d.join("out").exists());
}

#[test]
fn a_resumed_sweep_removes_temp_files_of_dead_writers() {
    let d = files("stale-sweep", SCENARIO, MODEL);
    let sweep = |d: &Path| {
        surge(
            &[
                "sweep",
                "scenario.yaml",
                "--param",
                "services.web.replicas=1,2",
                "--replications",
                "1",
                "--out",
                "sw",
                "-q",
            ],
            d,
        )
    };
    let o = sweep(&d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Writers killed mid-write (pids above Linux's pid_max are never alive).
    let stale = [
        d.join("sw/.points.csv.999999999.tmp"),
        d.join("sw/rows/.p0000-r0000.json.999999999.tmp"),
    ];
    for f in &stale {
        std::fs::write(f, b"half").unwrap();
    }
    let o = sweep(&d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    if Path::new("/proc/self").exists() {
        for f in &stale {
            assert!(!f.exists(), "{} is still there", f.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Found by mutation fuzzing of the binary: each once aborted the process.

/// A k6 script nested thousands deep (brackets, statement chains, operator chains) overflowed
/// the stack of the JavaScript parser or of the readers after it (SIGABRT, exit 134).
#[test]
fn a_k6_script_nested_too_deeply_is_refused_at_its_line() {
    let d = common::tmpdir("robust", "k6-deep");
    let scripts = [
        (
            "brackets.js",
            format!(
                "export default function () {{ const a = {}{}; }}\n",
                "[".repeat(20_000),
                "]".repeat(20_000)
            ),
        ),
        (
            "ifs.js",
            format!(
                "export default function () {{ {} http.get('http://x/a'); }}\n",
                "if (a) ".repeat(20_000)
            ),
        ),
        (
            "sums.js",
            format!(
                "export const options = {{ vus: 1{} }};\nexport default function () {{}}\n",
                "+1".repeat(50_000)
            ),
        ),
    ];
    for (name, text) in &scripts {
        std::fs::write(d.join(name), text).unwrap();
        let o = surge(&["import", "k6", name], &d);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        assert!(
            e.contains(name) && e.contains("line 1, column") && e.contains("too deeply"),
            "{name}: {e}"
        );
    }
    // Ordinary nesting still reads.
    let ok = "export const options = { scenarios: { a: { executor: 'constant-vus', vus: 2, \
              duration: '10s' } } };\nexport default function () { if (a) { for (;;) { \
              http.get(`http://x/${[1, [2, [3]]].length + 1 * 2}`); } } }\n";
    std::fs::write(d.join("ok.js"), ok).unwrap();
    let o = surge(&["import", "k6", "ok.js"], &d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A long script without semicolons (each line break ends a statement) is not deep: 300
    // request lines once summed into one "depth" and were refused.
    let mut asi = String::from(
        "import http from 'k6/http'
export const options = { vus: 2, duration: '10s' }
         export default function () {
",
    );
    for i in 0..300 {
        asi.push_str(&format!(
            "  const r{i} = http.get('http://x/p{i}')
"
        ));
    }
    asi.push_str(
        "}
",
    );
    std::fs::write(d.join("asi.js"), asi).unwrap();
    let o = surge(&["import", "k6", "asi.js"], &d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // An operator chain continued across lines is still one expression.
    let chain = format!(
        "export const options = {{ vus: 1{} }}
export default function () {{}}
",
        "\n+1".repeat(20_000)
    );
    std::fs::write(d.join("chain.js"), chain).unwrap();
    let o = surge(&["import", "k6", "chain.js"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("chain.js: line") && e.contains("too deeply"),
        "{e}"
    );
}

/// `surge calibrate --measured summary.json@1e308`: the analytic first guess allocated a
/// vector per VU (32 GiB) and aborted before any run refused the load.
#[test]
fn a_measured_load_the_scenario_cannot_take_is_refused_before_fitting() {
    let d = common::tmpdir("robust", "calibrate-load");
    let csv =
        "kind,load,throughput,lat_mean_ms,role\nclosed,20,15,20,fit\nclosed,1e308,30,25,fit\n";
    let o = calibrate_quickstart(&d, csv, &["--max-evals", "2", "--replications", "1"]);
    assert_refused_cleanly(
        &o,
        &["measured.csv: line 3 load", "stages[0].target"],
        &d.join("out"),
        "load 1e308",
    );
}

/// `surge calibrate` on the short quickstart in `d`, with `csv` as the measured points, fitting
/// the home endpoint's CPU step, plus `extra` flags; output to `d/out`.
fn calibrate_quickstart(d: &Path, csv: &str, extra: &[&str]) -> std::process::Output {
    common::short_quickstart(d);
    std::fs::write(d.join("measured.csv"), csv).unwrap();
    let mut a = vec![
        "calibrate",
        "scenario.yaml",
        "--measured",
        "measured.csv",
        "--fit",
        "services.web.endpoints.home[0].cpu",
        "--load-path",
        "scenarios.shoppers.stages[0].target",
        "--out",
        "out",
        "-q",
    ];
    a.extend_from_slice(extra);
    surge(&a, d)
}

/// An Artillery value starting with a multi-byte character (`think: "😀"`, `arrivalRate:
/// "+😀"`) was sliced at byte 2, inside the character: a panic in the `Number()` rules.
#[test]
fn artillery_values_starting_with_multibyte_characters_are_refused() {
    let d = common::tmpdir("robust", "artillery-utf8");
    for (name, phase, think) in [
        ("think.yml", "{duration: 10, arrivalRate: 5}", "\"😀\""),
        ("rate.yml", "{duration: 10, arrivalRate: \"+😀x\"}", "1"),
    ] {
        let script = format!(
            "config:\n  target: http://x\n  phases:\n    - {phase}\nscenarios:\n  - flow:\n      \
             - get: {{url: /}}\n      - think: {think}\n"
        );
        std::fs::write(d.join(name), script).unwrap();
        let o = surge(&["import", "artillery", name], &d);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        assert!(e.contains(name) && !e.contains("panicked"), "{name}: {e}");
    }
}

/// `surge hpa replay`: `--sync 1ns` looped for 6e10 syncs (killed by the timeout), and
/// `--initial 4294967295` (or a trace whose first `replicas` is 1e12) allocated one slot per
/// pod, 32 GiB, and aborted.
#[test]
fn hpa_replay_refuses_sync_counts_and_pod_counts_it_cannot_follow() {
    let d = common::tmpdir("robust", "replay-bounds");
    let hpa = common::root().join("models/hpa/web-hpa.yaml");
    let hpa = hpa.to_str().unwrap();
    let trace =
        "t_s,web_hpa_resource_cpu,web_hpa_pods,web_replicas\n0,50,2,2\n15,50,2,2\n30,50,2,2\n";
    std::fs::write(d.join("trace.csv"), trace).unwrap();
    std::fs::write(
        d.join("big.csv"),
        trace.replacen("0,50,2,2", "0,50,2,1e12", 1),
    )
    .unwrap();
    let replay = |metrics: &str, extra: &[&str]| hpa_replay(&d, hpa, metrics, extra);
    for (metrics, extra, needles) in [
        (
            "trace.csv",
            &["--sync", "1ns"][..],
            &["trace.csv", "t_s", "--sync"][..],
        ),
        (
            "trace.csv",
            &["--initial", "4294967295"][..],
            &["--initial 4294967295"][..],
        ),
        ("big.csv", &[][..], &["big.csv", "web_replicas"][..]),
    ] {
        let o = replay(metrics, extra);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {e}");
        assert!(needles.iter().all(|n| e.contains(n)), "{extra:?}: {e}");
        assert!(!d.join("out").exists(), "{extra:?}: nothing is written");
    }
    let o = replay("trace.csv", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `surge sweep` / `plan`: a grid of three 10,000-value ranges (1e12 points), `--design
/// lhs:100000000` or `--replications 18446744073709551615` aborted on allocation while the
/// points and runs were built.
#[test]
fn sweeps_too_large_to_hold_are_refused_before_any_run() {
    let d = common::tmpdir("robust", "sweep-size");
    common::short_quickstart(&d);
    // Three 10,000-value ranges: 1e12 points.
    let huge: &[&str] = &[
        "--param",
        "services.web.replicas=1..10000",
        "--param",
        "databases.main.pool.max=3..10000",
        "--param",
        "services.catalog.replicas=1..10000",
    ];
    let cases: [(&str, &[&str], &str); 4] = [
        ("sweep", huge, "the grid of the --param values"),
        ("plan", huge, "the grid of the --param values"),
        (
            "sweep",
            &[
                "--param",
                "services.web.replicas=1..4",
                "--design",
                "lhs:100000000",
            ],
            "--design lhs:100000000",
        ),
        (
            "sweep",
            &[
                "--param",
                "services.web.replicas=1..4",
                "--replications",
                "18446744073709551615",
            ],
            "18446744073709551615 replications",
        ),
    ];
    for (cmd, extra, needle) in cases {
        let mut a = vec![cmd, "scenario.yaml", "--jobs", "1", "--out", "out"];
        a.extend_from_slice(extra);
        let o = surge(&a, &d);
        assert_refused_cleanly(&o, &[needle, "runs"], &d.join("out"), &format!("{extra:?}"));
    }
}

/// Exit 2, an error holding every needle, and no output folder.
fn assert_refused_cleanly(o: &std::process::Output, needles: &[&str], out: &Path, what: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{what}: {e}");
    assert!(needles.iter().all(|n| e.contains(n)), "{what}: {e}");
    assert!(!out.exists(), "{what}: nothing is written");
}

/// `surge calibrate --max-evals 18446744073709551615` overflowed the evaluation budget
/// (panic: attempt to multiply with overflow) and `--replications 18446744073709551615` a
/// vector's capacity (panic: capacity overflow).
#[test]
fn calibrate_counts_too_large_to_run_are_refused() {
    let d = common::tmpdir("robust", "calibrate-counts");
    let csv = "kind,load,throughput,lat_mean_ms,role\nclosed,20,15,20,fit\n";
    for (flag, needle) in [
        ("--max-evals", "--max-evals 18446744073709551615"),
        ("--replications", "--replications 18446744073709551615"),
    ] {
        let o = calibrate_quickstart(&d, csv, &[flag, "18446744073709551615"]);
        assert_refused_cleanly(&o, &[needle, "at most"], &d.join("out"), flag);
    }
}

/// `surge report` / `compare` on a sweep folder whose sweep.json lists no points (or whose
/// row names a point sweep.json lacks): index out of bounds in `Spec::sets` (panic).
#[test]
fn a_sweep_folder_whose_rows_and_points_disagree_is_refused() {
    let d = common::tmpdir("robust", "sweep-readback");
    common::short_quickstart(&d);
    let o = surge(
        &[
            "sweep",
            "scenario.yaml",
            "--param",
            "services.web.replicas=1,2",
            "--param",
            "duration=2s",
            "--replications",
            "1",
            "--jobs",
            "1",
            "--out",
            "sw",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let spec_path = d.join("sw/sweep.json");
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    let mut v: Value = serde_json::from_str(&spec).unwrap();
    v["points"] = Value::Array(vec![]);
    std::fs::write(&spec_path, serde_json::to_string(&v).unwrap()).unwrap();
    let o = surge(&["report", "sw"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("sweep.json: points"), "{e}");
    // The points back, and a row naming a point past them.
    std::fs::write(&spec_path, &spec).unwrap();
    let row = std::fs::read_to_string(d.join("sw/rows/p000000-r0000.json")).unwrap();
    let mut r: Value = serde_json::from_str(&row).unwrap();
    r["point"] = Value::from(7);
    std::fs::write(
        d.join("sw/rows/p000007-r0000.json"),
        serde_json::to_string(&r).unwrap(),
    )
    .unwrap();
    let o = surge(&["report", "sw"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("p000007-r0000.json") && e.contains("point 7"),
        "{e}"
    );
}

/// YAML past the reader's limits (a huge inline list, an alias bomb, nesting 100 deep) is
/// refused with what the file has too much of and where, not the library's internal
/// `budget breached: Nodes { nodes: 250001 }`.
#[test]
fn yaml_past_the_reader_limits_says_what_is_too_large() {
    let d = common::tmpdir("robust", "yaml-limits");
    let mut list = String::from("flows:\n  f:\n    steps:\n      - request: a\nids:\n");
    for i in 0..260_000 {
        list.push_str(&format!("  - {i}\n"));
    }
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    let deep = format!("x: {}{}\n", "[".repeat(100), "]".repeat(100));
    for (name, text, want) in [
        ("list.yaml", list, "more than 250000 values"),
        ("bomb.yaml", bomb.to_string(), "alias"),
        ("deep.yaml", deep, "nested more than 64 deep"),
    ] {
        std::fs::write(d.join(name), text).unwrap();
        let o = surge(&["validate", name], &d);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        assert!(
            e.contains(name) && e.contains("line ") && e.contains(want) && !e.contains("breached"),
            "{name}: {e}"
        );
    }
}

/// A scenario on the bundled HPA model, written beside a copy of that model and its manifest.
fn hpa_files(name: &str, scenario_extra: &str) -> common::TmpDir {
    let d = common::tmpdir("robust", name);
    let root = common::root();
    std::fs::create_dir_all(d.join("hpa")).unwrap();
    std::fs::copy(root.join("models/shop-hpa.yaml"), d.join("model.yaml")).unwrap();
    std::fs::copy(
        root.join("models/hpa/web-hpa.yaml"),
        d.join("hpa/web-hpa.yaml"),
    )
    .unwrap();
    let s = format!(
        "model: model.yaml\n{scenario_extra}flows:\n  a: {{steps: [{{request: home}}, {{sleep: 1s}}]}}\n\
         scenarios:\n  s: {{executor: constant-vus, vus: 5, duration: 20s}}\n"
    );
    std::fs::write(d.join("scenario.yaml"), s).unwrap();
    d
}

/// An override pointing the autoscaler at a manifest file used to leave it unread: the service
/// silently ran without its HPA. A missing file is now refused, naming the override.
#[test]
fn an_autoscaler_override_naming_a_file_is_read_or_refused() {
    let d = hpa_files(
        "override-hpa",
        "model_overrides:\n  services.web.autoscaler: hpa/nope.yaml\n",
    );
    let o = run(&d, &[]);
    assert_refused_cleanly(
        &o,
        &[
            "scenario.yaml",
            "line 3",
            "services.web.autoscaler",
            "nope.yaml",
        ],
        &d.join("out"),
        "model_overrides",
    );
    let d = hpa_files("set-hpa", "");
    let o = run(&d, &["--set", "services.web.autoscaler=hpa/nope.yaml"]);
    assert_refused_cleanly(
        &o,
        &["--set", "services.web.autoscaler", "does not exist"],
        &d.join("out"),
        "--set",
    );
    // The model's own manifest, named by an override, still scales the service.
    let o = run(&d, &["--set", "services.web.autoscaler=hpa/web-hpa.yaml"]);
    assert!(matches!(o.status.code(), Some(0 | 99)), "{}", stderr(&o));
    let ts = std::fs::read_to_string(d.join("out/timeseries.csv")).unwrap();
    let header = ts.lines().next().unwrap();
    assert!(header.contains("web_desired"), "HPA columns: {header}");
}

/// `--set model=PATH` was applied after the model had been read, so it was ignored.
#[test]
fn a_model_override_on_the_command_line_chooses_the_model() {
    let d = files("set-model", SCENARIO, MODEL);
    let o = run(&d, &["--set", "model=nope.yaml"]);
    assert_refused_cleanly(
        &o,
        &["--set model=nope.yaml", "not found"],
        &d.join("out"),
        "nope",
    );
    std::fs::write(
        d.join("other.yaml"),
        MODEL
            .replace("web:", "other:")
            .replace("entry: web", "entry: other"),
    )
    .unwrap();
    let o = run(&d, &["--set", "model=other.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = std::fs::read_to_string(d.join("out/summary.json")).unwrap();
    assert!(s.contains("other"), "the run used other.yaml");
}

/// Output paths that cannot take a file are refused before the run, not after it (exit 2).
#[test]
fn unwritable_output_paths_are_refused_before_the_run() {
    let d = files("out-paths", SCENARIO, MODEL);
    std::fs::create_dir_all(d.join("adir")).unwrap();
    for (flag, needle) in [
        ("--summary-export", "is a directory"),
        ("--iterations-log", "is a directory"),
    ] {
        let o = run(&d, &[flag, "adir"]);
        assert_refused_cleanly(&o, &[flag, needle], &d.join("out"), flag);
    }
    std::fs::write(d.join("afile"), "x").unwrap();
    let o = surge(&["run", "scenario.yaml", "--out", "afile", "-q"], &d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a directory"), "{}", stderr(&o));
}

/// A control loop ticking every microsecond is named by the budget before the run.
#[test]
fn control_loop_periods_count_in_the_event_budget() {
    let d = hpa_files(
        "sync-1us",
        "model_overrides:\n  cluster.hpa_sync_period: 1us\n",
    );
    let o = validate(&d, &["--max-events", "1e6"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("cluster.hpa_sync_period") && e.contains("HPA syncs"),
        "{e}"
    );
    // At the default period the same run is well inside that budget.
    let d = hpa_files("sync-15s", "");
    let o = validate(&d, &["--max-events", "1e6"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A device that never ends (or any file past the input cap) is refused, not read into memory.
#[test]
fn an_endless_input_file_is_refused() {
    let d = files("dev-zero", SCENARIO, MODEL);
    let o = surge(&["validate", "/dev/zero"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("/dev/zero") && e.contains("MiB"), "{e}");
}

/// A named pipe (FIFO) that nobody writes to, given as a scenario or a k6 script, blocked
/// surge in open(2) for ever. It is opened without waiting now, and refused as empty (exit 2,
/// naming the file); a directory given as a file is refused saying so.
#[cfg(unix)]
#[test]
fn a_fifo_or_a_directory_given_as_a_file_is_refused_not_waited_on() {
    let d = files("fifo", SCENARIO, MODEL);
    let st = std::process::Command::new("mkfifo")
        .arg(d.join("pipe.yaml"))
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::create_dir(d.join("dir.yaml")).unwrap();
    for (args, want) in [
        (
            vec!["validate", "pipe.yaml"],
            "pipe.yaml: a named pipe (FIFO)",
        ),
        (
            vec!["run", "pipe.yaml", "--out", "o"],
            "pipe.yaml: a named pipe (FIFO)",
        ),
        (
            vec!["import", "k6", "pipe.yaml"],
            "pipe.yaml: a named pipe (FIFO)",
        ),
        (
            vec!["import", "artillery", "pipe.yaml"],
            "pipe.yaml: a named pipe (FIFO)",
        ),
        (
            vec!["validate", "dir.yaml"],
            "dir.yaml: a directory; expected",
        ),
        (
            vec!["import", "k6", "dir.yaml"],
            "dir.yaml: a directory; expected",
        ),
    ] {
        let o = common::surge_within(&args, &d, 30)
            .unwrap_or_else(|| panic!("{args:?}: still running after 30 s"));
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(want), "{args:?}: {e}");
    }
}

/// A value a scenario's `model_overrides` wrote that the model's validation refuses was blamed
/// on the model file, at the line of the value it replaced (`model.yaml: line 4, field
/// services.web.replicas`), where nothing is wrong. It is blamed on the override's own line
/// in the scenario, whether the entry sets the field or a block around it.
#[test]
fn a_bad_value_from_model_overrides_is_blamed_on_the_scenario_line() {
    let scenario = SCENARIO.replace(
        "flows:",
        "model_overrides:\n  services.web.pod.max_inflight: 0\nflows:",
    );
    let e = refused(
        "override-blame",
        &scenario,
        MODEL,
        "scenario.yaml",
        &["line 3, field model_overrides.services.web.pod.max_inflight: expected at least 1"],
    );
    assert!(!e.contains("model.yaml"), "{e}");
    let scenario = SCENARIO.replace(
        "flows:",
        "model_overrides:\n  services.web.pod:\n    cores: 1\n    max_inflight: 0\nflows:",
    );
    let e = refused(
        "override-blame-block",
        &scenario,
        MODEL,
        "scenario.yaml",
        &["line 5, field model_overrides.services.web.pod.max_inflight"],
    );
    assert!(!e.contains("model.yaml"), "{e}");
}

/// A reader that closes the pipe early (`surge bench | head -1`) ends surge quietly, as it
/// would `cat`: no panic about a failed print, no backtrace.
#[cfg(unix)]
#[test]
fn closed_stdout_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(["bench", "--customers", "20000"])
        .current_dir(common::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run surge");
    drop(child.stdout.take()); // the reader is gone before surge prints
    let out = child.wait_with_output().expect("wait for surge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.status.success() || out.status.signal() == Some(13),
        "{:?}: {err}",
        out.status
    );
}

/// Issue 15: a flow `weight` that is no number (`1e308e308`, or `1e400`, past the largest)
/// said only "invalid floating point"; two weights of 1e308 add up to infinity, and every VU
/// then drew the last flow. Each is refused naming the field and the accepted range.
#[test]
fn flow_weights_name_the_field_and_the_range() {
    let two = |a: &str, b: &str| {
        SCENARIO.replace(
            "flows:\n  browse:\n    steps:",
            &format!(
                "flows:\n  buy:\n    weight: {a}\n    steps:\n      - request: home\n  \
                 browse:\n    weight: {b}\n    steps:"
            ),
        )
    };
    for (name, scenario, needles) in [
        (
            "weight-garbage",
            two("1e308e308", "1"),
            &["line 4, field weight", "`1e308e308`", "a positive number"][..],
        ),
        (
            "weight-overflow",
            two("1e400", "1"),
            &[
                "line 4, field weight",
                "past the largest number",
                "a positive number",
            ][..],
        ),
        (
            "weight-sum",
            two("1e308", "1e308"),
            &[
                "flows.buy.weight",
                "add up to more than 1.8e308",
                "a positive number",
            ][..],
        ),
        (
            "weight-negative",
            two("-1", "1"),
            &["flows.buy.weight", "a positive number", "got -1"][..],
        ),
    ] {
        let e = refused(name, &scenario, MODEL, "scenario.yaml", needles);
        assert!(!e.contains("invalid floating point"), "{name}: {e}");
    }
    // Large weights that add up to a number are relative as any others.
    let d = files("weight-large", &two("1e300", "3e300"), MODEL);
    let v = validate(&d, &[]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
}

/// Issue 15: `surge hpa replay` printed a trace time of 1e308 with 309 digits, took
/// `--service nope` without saying which services the trace has, and replayed 2^32 ready pods.
#[test]
fn hpa_replay_refuses_absurd_times_unknown_services_and_pod_counts() {
    let d = common::tmpdir("robust", "replay-fields");
    let hpa = common::root().join("models/hpa/web-hpa.yaml");
    let hpa = hpa.to_str().unwrap();
    let trace = "t_s,web_hpa_resource_cpu,web_hpa_pods,web_replicas\n0,50,2,2\n15,50,2,2\n";
    std::fs::write(d.join("trace.csv"), trace).unwrap();
    std::fs::write(
        d.join("far.csv"),
        trace.replacen("15,50,2,2", "1e308,50,2,2", 1),
    )
    .unwrap();
    std::fs::write(
        d.join("pods.csv"),
        trace.replacen("15,50,2,2", "15,50,4294967296,2", 1),
    )
    .unwrap();
    let replay = |metrics: &str, extra: &[&str]| hpa_replay(&d, hpa, metrics, extra);
    for (metrics, extra, needles) in [
        (
            "far.csv",
            &[][..],
            &[
                "far.csv: line 3, column t_s",
                "from 0 to 315360000",
                "got 1e308",
            ][..],
        ),
        (
            "pods.csv",
            &[][..],
            &["pods.csv: line 3, column web_hpa_pods", "from 0 to 150000"][..],
        ),
        (
            "trace.csv",
            &["--service", "nope"][..],
            &[
                "trace.csv",
                "--service nope",
                "the services it has columns for: web",
            ][..],
        ),
    ] {
        let o = replay(metrics, extra);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{metrics} {extra:?}: {e}");
        assert!(
            needles.iter().all(|n| e.contains(n)),
            "{metrics} {extra:?}: {e}"
        );
        assert!(e.len() < 600, "a short message: {e}");
        assert!(!d.join("out").exists(), "{extra:?}: nothing is written");
    }
    let o = replay("trace.csv", &["--service", "web"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Issue 15: `surge bench --quickstart missing.yaml` timed the M/M/c model and skipped the
/// scenario without a word.
#[test]
fn bench_refuses_a_quickstart_scenario_that_is_not_there() {
    let d = common::tmpdir("robust", "bench-missing");
    for (arg, what) in [("missing.yaml", "file not found"), (".", "not a file")] {
        let o = surge(&["bench", "--customers", "10", "--quickstart", arg], &d);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{arg}: {e}");
        assert!(e.contains(&format!("{arg}: {what}")), "{arg}: {e}");
        assert!(e.contains("--quickstart"), "{arg}: {e}");
        assert!(o.stdout.is_empty(), "refused before any benchmark runs");
    }
}

/// Issue 15: `surge compare` read any `timeseries.csv` (a word, another CSV, NaN times).
#[test]
fn compare_refuses_a_malformed_timeseries_at_its_line_and_column() {
    let d = common::tmpdir("robust", "compare-ts");
    let summary = r#"{"metrics": {}, "surge": {"verdict": []}}"#;
    for run in ["a", "b"] {
        std::fs::create_dir_all(d.join(run)).unwrap();
        std::fs::write(d.join(run).join("summary.json"), summary).unwrap();
        std::fs::write(
            d.join(run).join("timeseries.csv"),
            "t_s,p95_ms,completions_per_s,error_rate\n1,10,5,0\n2,,5,0\n",
        )
        .unwrap();
    }
    for (text, needles) in [
        (
            "garbage\n",
            &["line 1, column 1", "starting with t_s", "\"garbage\""][..],
        ),
        (
            "a,b,c\n1,2,3\n",
            &["line 1, column 1", "starting with t_s"][..],
        ),
        (
            "t_s,p95_ms\n1,inf\n",
            &["line 2, column 2 (p95_ms)", "a finite number", "\"inf\""][..],
        ),
        (
            "t_s,p95_ms\n2,1\n1,1\n",
            &["line 3, column 1 (t_s)", "never go back"][..],
        ),
        (
            "t_s,,x\n1,2,3\n",
            &["line 1, column 2", "a column name"][..],
        ),
        ("t_s,x\n1\n", &["line 2", "expected 2 fields"][..]),
        (
            "\u{0}\u{1}\n",
            &["line 1, column 1", "starting with t_s"][..],
        ),
    ] {
        std::fs::write(d.join("b/timeseries.csv"), text).unwrap();
        let o = surge(&["compare", "a", "b", "--out", "cmp"], &d);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text:?}: {e}");
        assert!(e.contains("timeseries.csv"), "{text:?}: {e}");
        for n in needles {
            assert!(e.contains(n), "{text:?}: expected {n:?} in: {e}");
        }
        assert!(!d.join("cmp").exists(), "{text:?}: nothing is written");
    }
    std::fs::write(d.join("b/timeseries.csv"), [0xffu8, 0xfe, b'\n']).unwrap();
    let o = surge(&["compare", "a", "b", "--out", "cmp"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("not valid UTF-8") && e.contains("line 1"), "{e}");
}

/// `surge hpa replay --hpa HPA --metrics METRICS --out out EXTRA...` in `d`.
fn hpa_replay(d: &Path, hpa: &str, metrics: &str, extra: &[&str]) -> std::process::Output {
    let mut a = vec![
        "hpa",
        "replay",
        "--hpa",
        hpa,
        "--metrics",
        metrics,
        "--out",
        "out",
    ];
    a.extend_from_slice(extra);
    surge(&a, d)
}

/// Artillery runs every virtual user's flow to its end, past the phases: a `loop` of 1e8
/// passes (one second of think each) ran for minutes and grew to the memory budget, because
/// the estimate's horizon stopped at the phases' end. It is refused up front, at the flow, in
/// the script's own terms; the same script with 3 passes runs past its 10-second phase.
#[test]
fn artillery_flows_that_outlive_their_phases_are_estimated_to_their_end() {
    let d = common::tmpdir("robust", "artillery-long-loop");
    let model = common::root().join("tests/data/artillery/model.yaml");
    let model = model.to_str().unwrap();
    for (count, refused) in [(100_000_000u64, true), (3, false)] {
        let script = format!(
            "config:\n  target: http://x\n  phases:\n    - {{duration: 10, arrivalRate: 1}}\n\
             scenarios:\n  - name: browse\n    flow:\n      - loop:\n          - get: {{url: /health}}\n          \
             - think: 1\n        count: {count}\n"
        );
        std::fs::write(d.join("loop.yml"), script).unwrap();
        let t0 = std::time::Instant::now();
        let o = surge(
            &["run", "loop.yml", "--model", model, "--out", "out", "-q"],
            &d,
        );
        let e = stderr(&o);
        assert!(t0.elapsed().as_secs() < 30, "count {count}: took too long");
        if refused {
            assert_eq!(o.status.code(), Some(2), "{e}");
            for n in [
                "loop.yml",
                "line 6",
                "scenarios[0]",
                "time-series rows",
                "its flow",
            ] {
                assert!(e.contains(n), "should mention {n:?}: {e}");
            }
            assert!(!d.join("out").exists(), "a refused run wrote output");
        } else {
            assert!(matches!(o.status.code(), Some(0) | Some(99)), "{e}");
            let s: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(d.join("out/summary.json")).unwrap())
                    .unwrap();
            // The last of 10 arrivals starts at 9 s or later and thinks 3 s: past 12 s.
            let end = s["state"]["testRunDurationMs"].as_f64().unwrap();
            assert!(end >= 12_000.0, "run ended at {end} ms");
        }
    }
}

/// A k6 VU still waiting at the end keeps the run going until gracefulStop: with a 100,000-hour
/// endpoint, client timeout and gracefulStop, the run grew for 39 s to the memory budget (13 GB)
/// because the estimate's horizon stopped at the executor's end. It is refused at once, at the
/// flow, saying why; with the default gracefulStop (30 s) the same scenario runs, and ends when
/// the VUs are cut, 30 s after the 5-s duration.
#[test]
fn k6_iterations_running_past_the_end_count_until_graceful_stop() {
    let model = "entry: web\nservices:\n  web:\n    replicas: 1\n    pod: {cores: 1}\n    \
                 endpoints:\n      slow:\n        - delay: const(100000h)\n";
    let scenario = |grace: &str| {
        format!(
            "model: model.yaml\nrequest_timeout: 100000h\nflows:\n  wait:\n    steps:\n      \
             - request: slow\nscenarios:\n  load:\n    executor: constant-vus\n    vus: 2\n    \
             duration: 5s\n{grace}"
        )
    };
    let t0 = std::time::Instant::now();
    refused(
        "k6-grace-long",
        &scenario("    gracefulStop: 100000h\n"),
        model,
        "scenario.yaml",
        &["line 4", "flows.wait", "time-series rows", "gracefulStop"],
    );
    assert!(t0.elapsed().as_secs() < 30, "the refusal took too long");
    let s = runs("k6-grace-default", &scenario(""), model);
    let end = s["state"]["testRunDurationMs"].as_f64().unwrap();
    assert!(
        (34_000.0..=36_000.0).contains(&end),
        "run ended at {end} ms"
    );
}
