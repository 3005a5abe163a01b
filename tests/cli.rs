//! End-to-end behaviour of the `surge` binary: outputs, exit codes, determinism, bad input.

mod common;

use common::{root, stderr, surge};
use std::path::{Path, PathBuf};

fn tmpdir(name: &str) -> common::TmpDir {
    common::tmpdir("cli", name)
}

/// A copy of the quickstart scenario in `dir`, with its model beside it, after `edit`.
fn scenario_in(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    std::fs::copy(
        root().join("models/quickstart.yaml"),
        dir.join("model.yaml"),
    )
    .unwrap();
    let s = std::fs::read_to_string(root().join("scenarios/quickstart.yaml"))
        .unwrap()
        .replace("../models/quickstart.yaml", "model.yaml");
    let p = dir.join("scenario.yaml");
    std::fs::write(&p, edit(s)).unwrap();
    p
}

#[test]
fn quickstart_writes_every_output_and_passes() {
    let out = tmpdir("qs");
    let o = surge(
        &[
            "run",
            "scenarios/quickstart.yaml",
            "--out",
            out.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("http_req_duration"), "{stdout}");
    assert!(stdout.contains("PASS"), "{stdout}");
    for f in [
        "summary.json",
        "timeseries.csv",
        "endpoints.csv",
        "load.png",
        "latency.png",
        "errors.png",
        "cpu_pods.png",
        "pools.png",
    ] {
        let p = out.join(f);
        assert!(
            p.metadata().map(|m| m.len() > 0).unwrap_or(false),
            "{f} missing"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let m = &v["metrics"];
    assert_eq!(m["http_req_duration"]["type"], "trend");
    assert!(m["http_req_duration"]["values"]["p(95)"].as_f64().unwrap() > 0.0);
    assert_eq!(m["http_reqs"]["type"], "counter");
    assert!(m["http_reqs"]["values"]["count"].as_u64().unwrap() > 1000);
    assert_eq!(m["http_req_failed"]["type"], "rate");
    assert_eq!(
        m["http_req_duration"]["thresholds"]["p(95)<500"]["ok"],
        true
    );
    assert!(m["http_req_duration{endpoint:checkout}"]["values"]["p(99)"].is_number());
    assert_eq!(v["surge"]["passed"], true);
    let header = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let header = header.lines().next().unwrap().to_string();
    for c in [
        "t_s",
        "vus",
        "arrivals_per_s",
        "completions_per_s",
        "inflight",
        "p95_ms",
        "error_rate",
        "web_cpu_util",
        "web_ready_pods",
        "main_pool_in_use",
        "main_pool_waiting",
        "main_util",
    ] {
        assert!(
            header.split(',').any(|h| h == c),
            "column {c} missing in {header}"
        );
    }
}

#[test]
fn same_seed_gives_identical_outputs_and_another_seed_differs() {
    let (a, b, c) = (tmpdir("det-a"), tmpdir("det-b"), tmpdir("det-c"));
    for (d, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        let o = surge(
            &[
                "run",
                "scenarios/quickstart.yaml",
                "-q",
                "--seed",
                seed,
                "--out",
                d.to_str().unwrap(),
            ],
            &root(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for f in ["summary.json", "timeseries.csv", "endpoints.csv"] {
        let x = std::fs::read(a.join(f)).unwrap();
        assert_eq!(
            x,
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs for the same seed"
        );
        assert_ne!(
            x,
            std::fs::read(c.join(f)).unwrap(),
            "{f} identical across seeds"
        );
    }
}

#[test]
fn failed_target_exits_99_with_a_fail_row() {
    let d = tmpdir("fail");
    let s = scenario_in(&d, |s| s.replace("'p(95)<500'", "'p(95)<1'"));
    let o = surge(
        &[
            "run",
            s.to_str().unwrap(),
            "--out",
            d.join("out").to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(99), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("FAIL") && stdout.contains("TARGETS FAILED"),
        "{stdout}"
    );
}

#[test]
fn set_overrides_change_the_run() {
    let d = tmpdir("set");
    let o = surge(
        &[
            "run",
            "scenarios/quickstart.yaml",
            "-q",
            "--out",
            d.to_str().unwrap(),
            "--set",
            "services.web.replicas=5",
            "--set",
            "scenarios.shoppers.stages[1].target=50",
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ts = std::fs::read_to_string(d.join("timeseries.csv")).unwrap();
    let mut lines = ts.lines();
    let cols: Vec<&str> = lines.next().unwrap().split(',').collect();
    let pods = cols.iter().position(|c| *c == "web_ready_pods").unwrap();
    let vus = cols.iter().position(|c| *c == "vus").unwrap();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|x| x.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert!(rows.iter().all(|r| r[pods] == 5.0));
    let peak = rows.iter().map(|r| r[vus]).fold(0.0, f64::max);
    assert!((50.0..=200.0).contains(&peak), "peak VUs {peak}");
}

fn column_max(csv: &Path, col: &str) -> f64 {
    let ts = std::fs::read_to_string(csv).unwrap();
    let mut lines = ts.lines();
    let i = lines
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == col)
        .unwrap_or_else(|| panic!("no column {col}"));
    lines
        .map(|l| l.split(',').nth(i).unwrap().parse::<f64>().unwrap())
        .fold(f64::MIN, f64::max)
}

/// The short paths: an HPA field without `spec`, and `database.` for the only database.
#[test]
fn shorthand_set_paths_reach_the_hpa_and_the_pool() {
    let run = |sets: &[&str]| {
        let d = tmpdir("shorthand");
        let mut args = vec![
            "run",
            "scenarios/shop-spike.yaml",
            "-q",
            "--out",
            d.to_str().unwrap(),
        ];
        for s in sets {
            args.extend(["--set", s]);
        }
        let o = surge(&args, &root());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        // The directory (removed when dropped) goes back with its file.
        (d.join("timeseries.csv"), d)
    };
    let (free, _keep) = run(&[]);
    assert!(
        column_max(&free, "web_replicas") > 3.0,
        "the spike scales web past 3"
    );
    let (capped, _keep) = run(&[
        "services.web.autoscaler.maxReplicas=3",
        "database.pool.max=4",
    ]);
    assert_eq!(column_max(&capped, "web_replicas"), 3.0);
    // At most 3 web + 2 catalog pods, each holding at most 4 connections.
    assert!(column_max(&capped, "main_pool_in_use") <= 20.0);
}

/// A scenario's `model_overrides` change its model (what-if files), and a bad one is located.
#[test]
fn model_overrides_in_a_scenario_change_the_model() {
    let d = tmpdir("overrides");
    let p = scenario_in(&d, |s| {
        s.replace(
            "seed: 42\n",
            "seed: 42\nmodel_overrides:\n  services.web.replicas: 5\n  database.pool.max: 3\n",
        )
    });
    let out = d.join("o");
    let o = surge(
        &[
            "run",
            p.to_str().unwrap(),
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(matches!(o.status.code(), Some(0 | 99)), "{}", stderr(&o));
    let ts = out.join("timeseries.csv");
    assert_eq!(column_max(&ts, "web_ready_pods"), 5.0);
    assert!(
        column_max(&ts, "main_pool_in_use") <= 3.0 * 7.0,
        "3 per pod, at most 7 pods"
    );

    let bad = scenario_in(&d, |s| {
        s.replace(
            "seed: 42\n",
            "seed: 42\nmodel_overrides:\n  services.web.replicaz: 5\n",
        )
    });
    let o = surge(
        &[
            "run",
            bad.to_str().unwrap(),
            "--out",
            d.join("bad").to_str().unwrap(),
        ],
        &root(),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for want in [
        "scenario.yaml",
        "line 6",
        "model_overrides.services.web.replicaz",
        "services.web.replicas",
    ] {
        assert!(err.contains(want), "expected {want:?} in {err}");
    }
    assert!(!d.join("bad").exists(), "no output for bad input");
}

/// A replica policy whose bounds exclude the starting replicas is bad input, not a crash.
#[test]
fn replica_bounds_that_exclude_the_start_are_rejected() {
    for (set, bounds) in [
        ("database.replica_autoscaling.min=5", "[5, 6]"),
        ("database.replica_autoscaling.max=2", "[1, 2]"),
    ] {
        let d = tmpdir("replica-bounds");
        let out = d.join("o");
        let o = surge(
            &[
                "run",
                "scenarios/hamballer-baseline.yaml",
                "--set",
                set,
                "--out",
                out.to_str().unwrap(),
            ],
            &root(),
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        assert!(
            err.contains("databases.pg.read_replicas") && err.contains(bounds),
            "{set}: {err}"
        );
        assert!(!err.contains("panicked") && !out.exists());
    }
}

/// Each bad input: exit status 2, a message naming the file and where, and no output written.
#[test]
fn bad_input_is_reported_with_its_location() {
    type Edit = Box<dyn Fn(String) -> String>;
    let cases: Vec<(&str, Edit, Vec<&str>)> = vec![
        (
            "unknown-field",
            Box::new(|s: String| s.replace("seed: 42", "seed: 42\nbogus_field: 3")),
            vec!["scenario.yaml", "line 5", "unknown field `bogus_field`"],
        ),
        (
            "wrong-unit",
            Box::new(|s: String| s.replace("uniform(1s,3s)", "uniform(1parsec,3s)")),
            vec!["scenario.yaml", "line 11", "expected a duration", "1parsec"],
        ),
        (
            "negative-rate",
            Box::new(|_| {
                "model: model.yaml\nflows:\n  f:\n    steps:\n      - request: home\nscenarios:\n  load:\n    executor: constant-arrival-rate\n    rate: -5\n    duration: 10s\n    preAllocatedVUs: 10\n".to_string()
            }),
            vec![
                "scenario.yaml",
                "line 9",
                "scenarios.load.rate",
                "positive rate",
            ],
        ),
        (
            "missing-model",
            Box::new(|s: String| s.replace("model: model.yaml", "model: nope.yaml")),
            vec!["scenario.yaml", "field model", "nope.yaml", "not found"],
        ),
        (
            "malformed-yaml",
            Box::new(|s: String| s.replace("flows:", "flows: [oops")),
            vec!["scenario.yaml", "line 6", "column"],
        ),
        (
            "unknown-endpoint",
            Box::new(|s: String| s.replace("- request: checkout", "- request: chekout")),
            vec![
                "scenario.yaml",
                "flows.buy.steps[2]",
                "unknown endpoint \"chekout\"",
            ],
        ),
        (
            "bad-threshold",
            Box::new(|s: String| s.replace("'p(95)<500'", "'p(95)<<500'")),
            vec![
                "scenario.yaml",
                "p(95)<<500",
                "expected <aggregation> <op> <number>",
            ],
        ),
    ];
    for (name, edit, expect) in cases {
        let d = tmpdir(name);
        let s = scenario_in(&d, edit);
        let out = d.join("out");
        let o = surge(
            &["run", s.to_str().unwrap(), "--out", out.to_str().unwrap()],
            &d,
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        for e in expect {
            assert!(err.contains(e), "{name}: expected {e:?} in {err:?}");
        }
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(!out.exists(), "{name}: output written despite bad input");
    }
}

#[test]
fn bad_set_flags_exit_2_and_name_the_flag() {
    let cases = [
        (
            "services.web.replicaz=3",
            vec![
                "unknown path",
                "nearest valid paths",
                "services.web.replicas",
            ],
        ),
        (
            "services.web.replicas=abc",
            vec!["services.web.replicas=abc", "expected u32"],
        ),
        ("noequals", vec!["expected PATH=VALUE"]),
        ("services.web.pod.cores=-1", vec!["pod.cores", "positive"]),
        // Blamed on the flag, not on the file's line that still holds the old value.
        (
            "scenarios.shoppers.stages[0].target=0.5",
            vec![
                "--set \"scenarios.shoppers.stages[0].target=0.5\"",
                "whole number",
            ],
        ),
    ];
    for (set, expect) in cases {
        let d = tmpdir("badset");
        let o = surge(
            &[
                "run",
                "scenarios/quickstart.yaml",
                "--set",
                set,
                "--out",
                d.join("o").to_str().unwrap(),
            ],
            &root(),
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        for e in expect {
            assert!(err.contains(e), "{set}: expected {e:?} in {err:?}");
        }
    }
}

#[test]
fn validate_accepts_good_files_and_locates_errors() {
    let o = surge(
        &[
            "validate",
            "scenarios/quickstart.yaml",
            "models/quickstart.yaml",
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = tmpdir("validate");
    let s = scenario_in(&d, |s| {
        s.replace("executor: ramping-vus", "executor: ramping-vuz")
    });
    let o = surge(&["validate", s.to_str().unwrap()], &d);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("scenario.yaml") && err.contains("ramping-vuz"),
        "{err}"
    );
}

/// `--summary-export` writes k6's legacy export (internal/js/summary-wrapper.js oldJSONSummary)
/// from the same run as summary.json: no options or state, each metric its values with a
/// rate's `rate` renamed `value`, thresholds as `expr: failed` (true = failed), 4-space JSON;
/// written even when a threshold fails, and read back by calibration as the same point.
#[test]
fn summary_export_is_k6s_legacy_format() {
    let d = tmpdir("export");
    let s = scenario_in(&d, |s| s.replace("'p(95)<500'", "'p(95)<1'"));
    let export = d.join("export.json");
    let o = surge(
        &[
            "run",
            s.to_str().unwrap(),
            "--out",
            d.join("out").to_str().unwrap(),
            "--summary-export",
            export.to_str().unwrap(),
            "--quiet",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(99), "{}", stderr(&o));
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(text.starts_with("{\n    \""), "{}", &text[..40]);
    let ex: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sum: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/summary.json")).unwrap())
            .unwrap();
    for gone in ["options", "state", "surge"] {
        assert!(ex.get(gone).is_none(), "{gone} in the export");
    }
    assert!(ex["root_group"]["groups"].is_object() && ex["root_group"]["checks"].is_object());
    let (exm, summ) = (ex["metrics"].as_object().unwrap(), &sum["metrics"]);
    assert_eq!(exm.len(), summ.as_object().unwrap().len());
    let mut failed_seen = 0;
    for (name, m) in exm {
        let s = &summ[name];
        for (k, v) in s["values"].as_object().unwrap() {
            let key = if s["type"] == "rate" && k == "rate" {
                "value"
            } else {
                k.as_str()
            };
            assert_eq!(&m[key], v, "{name}.{k}");
        }
        if s["type"] == "rate" {
            assert!(m.get("rate").is_none(), "{name}");
        }
        for (expr, t) in s["thresholds"].as_object().into_iter().flatten() {
            let failed = m["thresholds"][expr].as_bool().unwrap();
            assert_eq!(failed, !t["ok"].as_bool().unwrap(), "{name} {expr}");
            failed_seen += usize::from(failed);
        }
    }
    assert_eq!(exm["http_req_duration"]["thresholds"]["p(95)<1"], true);
    assert!(failed_seen >= 1);
    // Calibration reads either shape as the same measurement: one steady level (constant
    // VUs), so the point is read in full (throughput, latency, errors) from each.
    std::fs::write(d.join("ping.yaml"), common::PING_MODEL).unwrap();
    let steady = d.join("steady.yaml");
    std::fs::write(
        &steady,
        "model: ping.yaml\nflows:\n  f:\n    steps:\n      - request: ping\n      - sleep: 10ms\n\
         scenarios:\n  s:\n    executor: constant-vus\n    vus: 4\n    duration: 20s\n",
    )
    .unwrap();
    let (export, out) = (d.join("steady-export.json"), d.join("steady"));
    let o = surge(
        &[
            "run",
            steady.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--summary-export",
            export.to_str().unwrap(),
            "-q",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let read = |p: &Path| {
        let text = std::fs::read_to_string(p).unwrap();
        surge::calibrate::measured::from_k6(p, &text, None).unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (read(&export), read(&out.join("summary.json")));
    assert!(
        a.throughput > 100.0 && a.lat_mean > 0.0,
        "{:?}",
        a.throughput
    );
    assert_eq!(
        (a.load, a.throughput, a.lat_mean, a.lat_p95, a.error_rate),
        (b.load, b.throughput, b.lat_mean, b.lat_p95, b.error_rate)
    );
}
