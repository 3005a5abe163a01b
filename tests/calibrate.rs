//! `surge calibrate` end to end: recovery of known parameters from points surge generated
//! itself, hold-out errors and warnings, the calibrated overlay running as is, and bad input.

mod common;
use common::{stderr, surge, tmpdir};
use serde_json::Value;
use std::path::Path;
use surge::config;
use surge::sim::{self, RunOptions};

/// One PS station whose c(n) is the USL (more cores than users); closed, zero think time.
fn model(mean_ms: f64, sigma: f64, kappa: f64) -> String {
    format!(
        "entry: db\nservices:\n  db:\n    replicas: 1\n    pod: {{cores: 100000, contention: {{usl: {{sigma: {sigma}, kappa: {kappa}}}}}}}\n    endpoints:\n      tx:\n        - cpu: exp(mean={mean_ms}ms)\n"
    )
}

const SCENARIO: &str = "model: m.yaml\nseed: 5\nsample_interval: 10s\nrequest_timeout: 1000h\n\
    flows:\n  loop:\n    steps:\n      - request: tx\n\
    scenarios:\n  clients:\n    executor: constant-vus\n    vus: 1\n    duration: 60s\n    gracefulStop: 1000h\n";

/// Throughput (per s) and mean latency (ms) surge gives `model` under SCENARIO with `vus` VUs.
fn measure(model: &str, vus: u32, seed: u64) -> (f64, f64) {
    let s = SCENARIO.replace("vus: 1\n", &format!("vus: {vus}\n"));
    let l = config::from_strs(&s, model).unwrap();
    let r = sim::run(
        &l,
        RunOptions {
            seed,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let x = r.metrics.http.count() as f64 / surge::engine::ns_to_secs(r.end);
    (x, r.metrics.http.avg_ms())
}

/// Measured points from surge itself at the true parameters, with ±1 % multiplicative noise.
fn synthetic_csv(loads: &[u32], holdout: &[u32]) -> String {
    let truth = model(10.0, 0.05, 0.002);
    let mut csv = String::from("kind,load,throughput,lat_mean_ms,think_s,role\n");
    for (i, &n) in loads.iter().enumerate() {
        let (x, lat) = measure(&truth, n, 99);
        let noise = [1.01, 0.99, 1.0, 0.995, 1.007, 0.993, 1.004][i % 7];
        let role = if holdout.contains(&n) {
            "holdout"
        } else {
            "fit"
        };
        csv.push_str(&format!(
            "closed,{n},{},{},0,{role}\n",
            x * noise,
            lat / noise
        ));
    }
    csv
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `surge calibrate` in `dir` with `args`; must succeed.
fn calibrate(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut a = vec!["calibrate", "s.yaml", "--measured", "points.csv"];
    a.extend_from_slice(args);
    let o = surge(&a, dir);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn usl_x(n: f64, s: f64, sigma: f64, kappa: f64) -> f64 {
    n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0)) / s
}

#[test]
fn recovers_known_parameters_and_predicts_four_times_the_highest_load() {
    let d = tmpdir("calibrate", "recover");
    // Start far from the truth (S0 = 10 ms, σ = 0.05, κ = 0.002).
    write(&d, "m.yaml", &model(25.0, 0.2, 0.01));
    write(&d, "s.yaml", SCENARIO);
    write(
        &d,
        "points.csv",
        &synthetic_csv(&[1, 2, 4, 8, 16, 32, 64], &[64]),
    );
    calibrate(
        &d,
        &[
            "--fit",
            "services.db.endpoints.tx[0].cpu=2ms..50ms",
            "--fit",
            "services.db.pod.contention.usl.sigma=0..0.9",
            "--fit",
            "services.db.pod.contention.usl.kappa=0.00001..0.05",
            "--replications",
            "2",
            "--out",
            "out",
            "-q",
        ],
    );
    let j = read_json(&d.join("out/calibration.json"));
    let p = |i: usize| j["parameters"][i]["value"].as_f64().unwrap();
    let (s0, sigma, kappa) = (p(0), p(1), p(2));
    println!(
        "fitted S0={s0} sigma={sigma} kappa={kappa}; {}",
        j["seconds"]
    );
    assert!((s0 / 0.010 - 1.0).abs() < 0.05, "S0 {s0}");
    assert!((sigma / 0.05 - 1.0).abs() < 0.05, "sigma {sigma}");
    assert!((kappa / 0.002 - 1.0).abs() < 0.05, "kappa {kappa}");
    for i in 0..3 {
        assert!(j["parameters"][i]["std_err"]
            .as_f64()
            .is_some_and(|e| e > 0.0));
    }
    // The hold-out point (64 users, past the peak at N* ≈ 21.8) is predicted and reported.
    let h = &j["holdout"];
    assert_eq!(h["points"], 1);
    assert!(
        h["mean_abs_error_throughput"].as_f64().unwrap() < 0.05,
        "{h}"
    );
    // The calibrated overlay runs as is at four times the highest fitted load (128 users), and
    // matches the truth, X = c(N)/S with Z = 0, within 5 %.
    let overlay = d.join("out/calibrated.yaml");
    let text = std::fs::read_to_string(&overlay).unwrap();
    assert!(text.contains("model_overrides"), "{text}");
    let o = surge(
        &[
            "run",
            "out/calibrated.yaml",
            "--set",
            "scenarios.clients.vus=128",
            "--out",
            "run128",
            "-q",
        ],
        &d,
    );
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(99),
        "{}",
        stderr(&o)
    );
    let s = read_json(&d.join("run128/summary.json"));
    let x = s["metrics"]["http_reqs"]["values"]["rate"]
        .as_f64()
        .or_else(|| s["metrics"]["http_reqs"]["rate"].as_f64())
        .unwrap();
    let truth = usl_x(128.0, 0.010, 0.05, 0.002);
    assert!(
        (x / truth - 1.0).abs() < 0.05,
        "X(128) predicted {x} vs true {truth}"
    );
    for f in ["points.csv", "prediction.png", "calibrated.yaml"] {
        assert!(d.join("out").join(f).exists(), "{f}");
    }
}

#[test]
fn contradictory_data_warns_and_holdout_error_is_reported() {
    let d = tmpdir("calibrate", "contradict");
    write(&d, "m.yaml", &model(10.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    // Cycle time N/X falls from 1 to 4 users: no fixed-demand model can do that.
    write(
        &d,
        "points.csv",
        "kind,load,throughput,lat_mean_ms,role\nclosed,1,100,10,fit\nclosed,4,500,8,fit\nclosed,8,600,13.3,holdout\n",
    );
    let o = calibrate(
        &d,
        &[
            "--fit",
            "services.db.endpoints.tx[0].cpu",
            "--replications",
            "1",
            "--max-evals",
            "20",
            "--out",
            "out",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("contradicts every fixed-demand model"),
        "{out}"
    );
    assert!(out.contains("hold-out prediction error"), "{out}");
    let j = read_json(&d.join("out/calibration.json"));
    let hold = j["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "holdout")
        .unwrap();
    let pred = hold["predicted"]["throughput"].as_f64().unwrap();
    let err = hold["error"]["throughput"].as_f64().unwrap();
    assert!((err - (pred / 600.0 - 1.0)).abs() < 1e-9);
}

#[test]
fn bad_input_exits_2_with_a_location() {
    let d = tmpdir("calibrate", "bad");
    write(&d, "m.yaml", &model(10.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    write(
        &d,
        "ok.csv",
        "kind,load,throughput,lat_mean_ms\nclosed,1,100,10\nclosed,2,180,11\n",
    );
    write(&d, "nofield.csv", "kind,load,lat_mean_ms\nclosed,1,10\n");
    write(
        &d,
        "zero.csv",
        "kind,load,throughput,lat_mean_ms\nclosed,0,100,10\n",
    );
    write(&d, "k6.json", r#"{"metrics":{"http_reqs":{"rate":100}}}"#);
    let fit = "services.db.endpoints.tx[0].cpu";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--measured", "nofield.csv", "--fit", fit],
            "nofield.csv",
        ),
        (vec!["--measured", "zero.csv", "--fit", fit], "line 2"),
        (
            vec!["--measured", "k6.json@4", "--fit", fit],
            "http_req_duration",
        ),
        (
            vec!["--measured", "ok.csv", "--fit", "services.db.nosuch"],
            "unknown path",
        ),
        (
            vec![
                "--measured",
                "ok.csv",
                "--fit",
                "services.db.pod.contention.usl.sigma=0.5..0.5",
            ],
            "empty or reversed",
        ),
        (
            vec![
                "--measured",
                "ok.csv",
                "--fit",
                "services.db.pod.contention.usl.sigma=0.5..0.1",
            ],
            "empty or reversed",
        ),
        (
            vec!["--measured", "ok.csv", "--fit", fit, "--holdout", "7"],
            "no measured point",
        ),
    ];
    for (args, want) in cases {
        let mut a = vec!["calibrate", "s.yaml"];
        a.extend(args.iter().copied());
        refused(&d, &a, &[want]);
    }
}

/// Measured files that are not regular files: a missing one and a directory exited 1 (an I/O
/// error, "No such file or directory (os error 2)"), and a FIFO nobody writes to blocked in
/// open(2) for ever. Each is bad input now: exit 2 naming the file and what was expected.
#[cfg(unix)]
#[test]
fn measured_paths_that_are_no_regular_file_exit_2() {
    let d = tmpdir("calibrate", "notafile");
    write(&d, "m.yaml", &model(10.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    std::fs::create_dir(d.join("adir.csv")).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(d.join("pipe.csv"))
        .status()
        .unwrap();
    assert!(st.success());
    for (file, want) in [
        ("nosuch.csv", "file not found"),
        ("adir.csv", "a directory; expected measured points"),
        ("pipe.csv", "a pipe or FIFO; expected a regular file"),
    ] {
        let args = [
            "calibrate",
            "s.yaml",
            "--measured",
            file,
            "--fit",
            "services.db.endpoints.tx[0].cpu",
        ];
        let o = common::surge_within(&args, &d, 30)
            .unwrap_or_else(|| panic!("{file}: still running after 30 s"));
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {e}");
        assert!(e.contains(&format!("{file}: {want}")), "{file}: {e}");
    }
}

/// A k6 time series whose time has a multi-byte character where the UTC offset's sign or
/// colon belongs (`2026-11-30T19:00:05é:000`) panicked ("byte index 1 is not a char
/// boundary"), in the JSON and the CSV output alike; now refused at its line.
#[test]
fn a_time_series_time_with_a_multibyte_offset_is_refused_at_its_line() {
    let d = tmpdir("calibrate", "mbtime");
    write(&d, "m.yaml", &model(10.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    let json = stepped_k6_json(&[1, 2], 0.010, 0.05, 0.002);
    let first_vus = json
        .lines()
        .position(|l| l.contains("\"type\":\"Point\""))
        .unwrap();
    let bad: String = json
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == first_vus {
                let from = l.find("\"time\":\"").unwrap() + 8;
                let to = from + l[from..].find('"').unwrap();
                format!("{}2026-11-30T19:00:05é:000{}\n", &l[..from], &l[to..])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    write(&d, "run.json", &bad);
    let line = format!("run.json: line {}: data.time", first_vus + 1);
    refused(
        &d,
        &[
            "calibrate",
            "s.yaml",
            "--measured",
            "run.json",
            "--fit",
            "services.db.endpoints.tx[0].cpu",
        ],
        &[&line, "expected an RFC 3339 time"],
    );
    write(
        &d,
        "run.csv",
        "metric_name,timestamp,metric_value\nvus,2026-11-30T19:00:05é:000,1\n",
    );
    refused(
        &d,
        &[
            "calibrate",
            "s.yaml",
            "--measured",
            "run.csv",
            "--fit",
            "services.db.endpoints.tx[0].cpu",
        ],
        &["run.csv: line 2: timestamp", "RFC 3339"],
    );
}

/// A calibration CSV of 20,000 `util.` columns (a 1.8 MB file of 20 rows) took 18 s, and
/// ten times the rows minutes: every cell searched the header for its column, and every
/// column the names before it. Now it is read in well under a second and refused (no such
/// resource in the model) at its line and column.
#[test]
fn a_csv_with_many_columns_is_read_in_linear_time() {
    let d = tmpdir("calibrate", "wide");
    write(&d, "m.yaml", &model(10.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    let n = 20_000;
    let mut csv = String::from("kind,load,throughput,lat_mean_ms");
    for i in 0..n {
        csv.push_str(&format!(",util.r{i}"));
    }
    csv.push('\n');
    for load in 1..=40 {
        csv.push_str(&format!("closed,{load},{},10", 90 * load));
        csv.push_str(&",0.1".repeat(n));
        csv.push('\n');
    }
    write(&d, "wide.csv", &csv);
    let t = std::time::Instant::now();
    refused(
        &d,
        &[
            "calibrate",
            "s.yaml",
            "--measured",
            "wide.csv",
            "--fit",
            "services.db.endpoints.tx[0].cpu",
        ],
        &["wide.csv: line 2 column util.r0", "no resource \"r0\""],
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
}

/// `--fit` with a wildcard of many stars (`************************z`, 25 bytes) ran for
/// minutes: the matcher tried every split of every star against each field's path.
#[test]
fn a_fit_pattern_of_many_stars_answers_at_once() {
    let d = tmpdir("calibrate", "stars");
    write(&d, "m.yaml", &model(10.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    write(
        &d,
        "ok.csv",
        "kind,load,throughput,lat_mean_ms\nclosed,1,100,10\nclosed,2,180,11\n",
    );
    for pat in ["*".repeat(24) + "z", "**".repeat(20_000) + "z"] {
        let args = ["calibrate", "s.yaml", "--measured", "ok.csv", "--fit", &pat];
        let o = common::surge_within(&args, &d, 30)
            .unwrap_or_else(|| panic!("--fit {}...: still running after 30 s", &pat[..20]));
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(
            e.contains("matches no numeric or distribution field"),
            "{e}"
        );
    }
}

/// `surge args` in `dir` exits 2, without a panic, with every one of `want` in its error.
fn refused(dir: &Path, args: &[&str], want: &[&str]) {
    let o = surge(args, dir);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
    for w in want {
        assert!(e.contains(w), "{args:?}: expected {w:?} in: {e}");
    }
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn wildcard_fit_is_deterministic_whatever_the_job_count() {
    let d = tmpdir("calibrate", "determinism");
    write(&d, "m.yaml", &model(25.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    write(&d, "points.csv", &synthetic_csv(&[1, 4, 16], &[]));
    let run = |jobs: &str, out: &str| {
        calibrate(
            &d,
            &[
                "--fit",
                "services.*.endpoints.*[*].cpu=0.1..10",
                "--replications",
                "2",
                "--max-evals",
                "25",
                "--jobs",
                jobs,
                "--out",
                out,
                "-q",
            ],
        );
        let mut j = read_json(&d.join(out).join("calibration.json"));
        j.as_object_mut().unwrap().remove("seconds");
        j.as_object_mut().unwrap().remove("overlay");
        j
    };
    let (a, b) = (run("1", "a"), run("2", "b"));
    assert_eq!(a, b);
    // One factor scales the one matching step from 25 ms toward the truth, 10 ms.
    let f = a["parameters"][0]["value"].as_f64().unwrap();
    assert!((f * 25.0 / 10.0 - 1.0).abs() < 0.05, "scale {f}");
    assert!(a["parameters"][0]["describe"]
        .as_str()
        .unwrap()
        .contains("1 fields"));
}

/// A whole-number field is fitted at whole numbers: `--fit services.db.replicas` used to fail
/// with "invalid type: floating point, expected u32". Points measured with 4 one-core replicas
/// (10 ms per request, so throughput saturates at 400/s); the fit starts from 2 and must land
/// on 4, and the calibrated overlay must hold the integer.
#[test]
fn integer_fields_are_fitted_at_whole_numbers() {
    let d = tmpdir("calibrate", "integer");
    let m = |replicas: u32| {
        format!(
            "entry: db\nservices:\n  db:\n    replicas: {replicas}\n    pod: {{cores: 1}}\n    endpoints:\n      tx:\n        - cpu: exp(mean=10ms)\n"
        )
    };
    let truth = m(4);
    let mut csv = String::from("kind,load,throughput,lat_mean_ms,think_s,role\n");
    for n in [2u32, 8, 32] {
        let (x, lat) = measure(&truth, n, 7);
        csv.push_str(&format!("closed,{n},{x},{lat},0,fit\n"));
    }
    write(&d, "m.yaml", &m(2));
    write(&d, "s.yaml", SCENARIO);
    write(&d, "points.csv", &csv);
    calibrate(
        &d,
        &[
            "--fit",
            "services.db.replicas=1..12",
            "--replications",
            "1",
            "--max-evals",
            "40",
            "--out",
            "out",
            "-q",
        ],
    );
    let j = read_json(&d.join("out").join("calibration.json"));
    let p = &j["parameters"][0];
    assert_eq!(p["describe"], "4", "{p}");
    assert_eq!(
        p["set"]["services.db.replicas"],
        serde_json::json!(4),
        "{p}"
    );
}

/// Exact closed points of one USL station at Z = 0 (calibration.md §2.1: X = c(N)/S,
/// R = N/X), with `extra` appended to every row (after `think_s` and before `role`).
fn exact_usl_csv(loads: &[u32], s: f64, sigma: f64, kappa: f64, p95: bool) -> String {
    let mut csv = String::from("kind,load,throughput,lat_mean_ms,");
    if p95 {
        csv.push_str("lat_p95_ms,");
    }
    csv.push_str("think_s,role\n");
    for &n in loads {
        let x = usl_x(n as f64, s, sigma, kappa);
        let r_ms = n as f64 / x * 1000.0;
        csv.push_str(&format!("closed,{n},{x},{r_ms},"));
        if p95 {
            // A p95 equal to the mean: no exponential service gives it, so a fit that counts
            // p95 is pulled off the true demand.
            csv.push_str(&format!("{r_ms},"));
        }
        csv.push_str("0,fit\n");
    }
    csv
}

fn param(j: &Value, i: usize) -> (f64, bool) {
    (
        j["parameters"][i]["value"].as_f64().unwrap(),
        j["parameters"][i]["at_bound"].as_bool().unwrap(),
    )
}

/// Audit c5: p95 is not in the default loss (the reference: fit means, validate with
/// percentiles), so a p95 the service shape cannot produce does not bias S. With p95 weighted
/// Fit S, σ and κ of the USL test model with two replications, into `out`.
const USL_FIT: [&str; 11] = [
    "--fit",
    "services.db.endpoints.tx[0].cpu=2ms..50ms",
    "--fit",
    "services.db.pod.contention.usl.sigma",
    "--fit",
    "services.db.pod.contention.usl.kappa",
    "--replications",
    "2",
    "--out",
    "out",
    "-q",
];

/// 0.25, S came out 7.98 ms instead of 10.
#[test]
fn p95_is_out_of_the_default_loss() {
    let d = tmpdir("calibrate", "p95");
    write(&d, "m.yaml", &model(25.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    write(
        &d,
        "points.csv",
        &exact_usl_csv(&[1, 2, 4, 8, 16, 32], 0.010, 0.05, 0.002, true),
    );
    calibrate(&d, &USL_FIT);
    let j = read_json(&d.join("out/calibration.json"));
    let (s0, _) = param(&j, 0);
    assert!((s0 / 0.010 - 1.0).abs() < 0.04, "S0 {s0}");
}

/// Audit c6: κ is searched on a log scale with a floor, so a small true κ (5e-5) inside the
/// default range is recovered and not reported at a bound of [0, 0.1].
#[test]
fn small_kappa_is_not_at_a_bound() {
    let d = tmpdir("calibrate", "kappa");
    write(&d, "m.yaml", &model(25.0, 0.2, 0.01));
    write(&d, "s.yaml", SCENARIO);
    write(
        &d,
        "points.csv",
        &exact_usl_csv(&[1, 4, 16, 64, 128, 256], 0.010, 0.02, 5e-5, false),
    );
    calibrate(&d, &USL_FIT);
    let j = read_json(&d.join("out/calibration.json"));
    let (kappa, at) = param(&j, 2);
    assert!(!at, "κ {kappa} reported at a bound: {}", j["parameters"][2]);
    assert!((kappa / 5e-5 - 1.0).abs() < 0.1, "kappa {kappa}");
    let warnings = j["warnings"].to_string();
    assert!(!warnings.contains("at a bound"), "{warnings}");
}

/// Audit: `--fit` ranges outside a field's valid values exit 2 naming the argument and the
/// valid interval.
#[test]
fn fit_ranges_outside_valid_values_exit_2() {
    let d = tmpdir("calibrate", "ranges");
    write(&d, "m.yaml", &model(10.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    write(
        &d,
        "ok.csv",
        "kind,load,throughput,lat_mean_ms\nclosed,1,100,10\nclosed,2,180,11\n",
    );
    let usl = "services.db.pod.contention.usl";
    let cases = [
        (format!("{usl}.sigma=0..1"), "0 <= sigma < 1"),
        (format!("{usl}.sigma=-0.1..0.5"), "0 <= sigma < 1"),
        (format!("{usl}.kappa=-0.01..0.1"), "kappa >= 0"),
        ("services.db.pod.cores=0..10".to_string(), "cores > 0"),
        (
            "services.db.endpoints.tx[0].cpu=0ms..50ms".to_string(),
            "above zero",
        ),
    ];
    for (fit, want) in cases {
        let args = [
            "calibrate",
            "s.yaml",
            "--measured",
            "ok.csv",
            "--fit",
            fit.as_str(),
        ];
        refused(&d, &args, &[want, fit.as_str()]);
    }
}

/// The synthetic k6 runs' start: 2026-11-30T19:00:00Z, in s since the epoch.
const K6_T0: i64 = 1_795_978_800;

/// One k6 `--out json` sample line at `ns` since the epoch (an RFC 3339 time on the day of
/// [`K6_T0`]), with `tags` as a JSON object.
fn k6_point(metric: &str, ns: i64, v: f64, tags: &str) -> String {
    let (secs, frac) = (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000));
    let day = secs - K6_T0;
    let time = format!(
        "2026-11-30T{:02}:{:02}:{:02}.{frac:09}Z",
        19 + day / 3600,
        day / 60 % 60,
        day % 60
    );
    format!(
        "{{\"metric\":\"{metric}\",\"type\":\"Point\",\"data\":{{\"time\":\"{time}\",\"value\":{v},\"tags\":{tags}}}}}\n"
    )
}

/// A stepped k6 run (`--out json`) with the exact USL throughput and mean latency at each hold:
/// 5 s ramps between holds of 60 s at 1, 2, 4, 8, 16 and 32 VUs, a `vus` sample every second,
/// requests spread evenly through each hold, and the timing breakdowns k6 also writes. Times are
/// RFC 3339 from 2026-11-30T19:00:00Z (1795978800 s since the epoch).
fn stepped_k6_json(levels: &[u32], s: f64, sigma: f64, kappa: f64) -> String {
    let point = |metric: &str, ns: i64, v: f64| {
        k6_point(metric, ns, v, r#"{"method":"GET","status":"200"}"#)
    };
    let mut out = String::new();
    for m in [
        "vus",
        "http_reqs",
        "http_req_duration",
        "http_req_failed",
        "http_req_blocked",
    ] {
        out.push_str(&format!(
            "{{\"type\":\"Metric\",\"data\":{{\"name\":\"{m}\",\"type\":\"trend\",\"contains\":\"time\",\"thresholds\":[],\"submetrics\":null}},\"metric\":\"{m}\"}}\n"
        ));
    }
    let sec = 1_000_000_000i64;
    let mut t = K6_T0 * sec;
    let mut prev = 0u32;
    for &n in levels {
        for k in 1..=5 {
            out.push_str(&point("vus", t, f64::from(prev + (n - prev) * k / 5)));
            t += sec;
        }
        let x = usl_x(n as f64, s, sigma, kappa);
        let r_ms = n as f64 / x * 1000.0;
        let hold = 60 * sec;
        for k in 0..=60 {
            out.push_str(&point("vus", t + k * sec, f64::from(n)));
        }
        let count = (x * 60.0) as i64;
        for i in 0..count {
            let at = t + hold * i / count;
            out.push_str(&point("http_reqs", at, 1.0));
            out.push_str(&point("http_req_duration", at, r_ms));
            out.push_str(&point("http_req_blocked", at, 0.01));
            out.push_str(&point("http_req_failed", at, 0.0));
        }
        t += hold + sec;
        prev = n;
    }
    out.push_str(&point("vus", t, 0.0));
    out
}

/// Calibration from one stepped k6 time series gives each hold as a point and recovers the
/// parameters as from one summary per level (the reference's §4: a ramping run is usable
/// when its windows are known); the same run as k6's CSV output (`--out csv`, Unix seconds).
#[test]
fn stepped_k6_time_series_gives_one_point_per_hold() {
    let d = tmpdir("calibrate", "stream");
    write(&d, "m.yaml", &model(25.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    let json = stepped_k6_json(&[1, 2, 4, 8, 16, 32], 0.010, 0.05, 0.002);
    write(&d, "run.json", &json);
    let mut a = vec!["calibrate", "s.yaml", "--measured", "run.json"];
    a.extend_from_slice(&USL_FIT);
    let o = surge(&a, &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = read_json(&d.join("out/calibration.json"));
    let (s0, _) = param(&j, 0);
    assert!((s0 / 0.010 - 1.0).abs() < 0.04, "S0 {s0}");
    let pts = std::fs::read_to_string(d.join("out/points.csv")).unwrap();
    assert_eq!(
        pts.lines().filter(|l| l.contains("fit")).count(),
        6,
        "{pts}"
    );

    // The same samples as k6's CSV output, whole Unix seconds.
    let mut csv = String::from("metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata\n");
    for line in json.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] != "Point" {
            continue;
        }
        let ts = v["data"]["time"].as_str().unwrap();
        let (hh, mm, ss) = (&ts[11..13], &ts[14..16], &ts[17..19]);
        let secs = 1_795_978_800
            + (hh.parse::<i64>().unwrap() - 19) * 3600
            + mm.parse::<i64>().unwrap() * 60
            + ss.parse::<i64>().unwrap();
        csv.push_str(&format!(
            "{},{secs},{},,,,true,,GET,\"http://x/a,b\",HTTP/1.1,default,,200,,,http://x,,\n",
            v["metric"].as_str().unwrap(),
            v["data"]["value"]
        ));
    }
    write(&d, "run.csv", &csv);
    let o = surge(
        &[
            "calibrate",
            "s.yaml",
            "--measured",
            "run.csv",
            "--fit",
            "services.db.endpoints.tx[0].cpu=2ms..50ms",
            "--max-evals",
            "40",
            "--out",
            "out2",
            "-q",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let pts = std::fs::read_to_string(d.join("out2/points.csv")).unwrap();
    assert_eq!(
        pts.lines().filter(|l| l.contains("fit")).count(),
        6,
        "{pts}"
    );

    // A constant level with no hold long enough, an '@' load, and a broken line are refused.
    let refused = |measured: &str, needles: &[&str]| refused_measured(&d, measured, needles);
    let short: String = json.lines().take(40).map(|l| format!("{l}\n")).collect();
    write(&d, "short.json", &short);
    refused("short.json", &["short.json", "hold"]);
    refused("run.json@8", &["time series", "holds"]);
    let broken = json.replacen("\"value\":1,", "\"value\":\"one\",", 1);
    write(&d, "broken.json", &broken);
    refused("broken.json", &["broken.json: line "]);
}

/// `calibrate s.yaml --measured MEASURED` in `d` exits 2 with every needle in its message.
fn refused_measured(d: &Path, measured: &str, needles: &[&str]) {
    let o = surge(
        &[
            "calibrate",
            "s.yaml",
            "--measured",
            measured,
            "--fit",
            "services.db.endpoints.tx[0].cpu",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    for n in needles {
        assert!(stderr(&o).contains(n), "{n}: {}", stderr(&o));
    }
}

/// A stepped open k6 run (`ramping-arrival-rate`: ramp, hold, ramp, hold) as `--out json`:
/// iterations start on k6's fixed schedule at each level of `rates` (per s, 90-s holds after
/// 10-s linear ramps), each one request answered in the M/M/1 mean S/(1 − λS); the `vus` gauge
/// (VUs busy in an iteration) wanders, as it does in a real open run.
fn stepped_open_k6_json(rates: &[f64], s: f64) -> String {
    let sec = 1_000_000_000i64;
    let point = |metric: &str, ns: i64, v: f64| k6_point(metric, ns, v, r#"{"scenario":"open"}"#);
    // The rate at t s into the run: ramps of 10 s between holds of 90 s.
    let rate_at = |t: f64| {
        let mut prev = 0.0;
        let mut at = 0.0;
        for &r in rates {
            if t < at + 10.0 {
                return prev + (r - prev) * (t - at) / 10.0;
            }
            if t < at + 100.0 {
                return r;
            }
            prev = r;
            at += 100.0;
        }
        0.0
    };
    let end = 100.0 * rates.len() as f64;
    let mut out = String::new();
    // Starts: the next one 1/rate after the last, as k6's schedule spaces them.
    let mut t = 0.0;
    let mut k = 0;
    while t < end {
        // From rate 0, the first starts come at least 1 s apart.
        let r = rate_at(t).max(1.0);
        let lat = s / (1.0 - r * s);
        let start = K6_T0 * sec + (t * 1e9) as i64;
        let done = start + (lat * 1e9) as i64;
        out.push_str(&point("http_reqs", done, 1.0));
        out.push_str(&point("http_req_duration", done, lat * 1e3));
        out.push_str(&point("http_req_failed", done, 0.0));
        out.push_str(&point("iterations", done, 1.0));
        out.push_str(&point("iteration_duration", done, lat * 1e3));
        k += 1;
        t += 1.0 / r;
    }
    for i in 0..=(end as i64) {
        out.push_str(&point("vus", (K6_T0 + i) * sec, (i % 3) as f64));
    }
    assert!(k > 1000);
    out
}

/// The M/M/1 model (S = 25 ms, to be fitted) and a poisson-arrivals scenario, in `d`.
fn write_open_mm1(d: &Path) {
    write(
        d,
        "m.yaml",
        "entry: db\nservices:\n  db:\n    replicas: 1\n    pod: {cores: 1, discipline: fcfs, workers: 1}\n    endpoints:\n      tx:\n        - cpu: exp(mean=25ms)\n",
    );
    write(
        d,
        "s.yaml",
        "model: m.yaml\nseed: 5\nsample_interval: 10s\nrequest_timeout: 1000h\n\
         flows:\n  one:\n    steps:\n      - request: tx\n\
         scenarios:\n  open:\n    executor: poisson-arrivals\n    rate: 1\n    duration: 600s\n    gracefulStop: 1000h\n",
    );
}

/// Calibrating [`write_open_mm1`] from `measured` (the holds of `stepped_open_k6_json` at 10,
/// 20, 40 and 60/s with S = 10 ms) gives exactly those open points and recovers S.
fn fits_the_stepped_open_run(d: &Path, measured: &str) {
    let o = surge(
        &[
            "calibrate",
            "s.yaml",
            "--measured",
            measured,
            "--fit",
            "services.db.endpoints.tx[0].cpu=2ms..50ms",
            "--max-evals",
            "60",
            "--out",
            "out",
            "-q",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let pts = std::fs::read_to_string(d.join("out/points.csv")).unwrap();
    let loads: Vec<f64> = pts
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(loads, [10.0, 20.0, 40.0, 60.0], "{pts}");
    assert!(pts.lines().skip(1).all(|l| l.contains("open")), "{pts}");
    let j = read_json(&d.join("out/calibration.json"));
    let (s0, at_bound) = param(&j, 0);
    assert!(!at_bound && (s0 / 0.010 - 1.0).abs() < 0.05, "S {s0}");
}

/// Calibration from one stepped open k6 time series: each hold of the offered iteration rate
/// is an open point at that rate (exactly the levels the run held), and fitting the M/M/1
/// model to them recovers S. Read as closed (`@closed`) it has no hold; a summary given
/// `@open` and a time series given a load are refused.
#[test]
fn stepped_open_k6_time_series_gives_one_open_point_per_rate() {
    let d = tmpdir("calibrate", "stream-open");
    write_open_mm1(&d);
    let json = stepped_open_k6_json(&[10.0, 20.0, 40.0, 60.0], 0.010);
    write(&d, "run.json", &json);
    fits_the_stepped_open_run(&d, "run.json");

    let refused = |measured: &str, needles: &[&str]| refused_measured(&d, measured, needles);
    refused("run.json@closed", &["run.json", "vus", "no hold"]);
    refused("run.json@20/s", &["time series"]);
    write(&d, "summary.json", "{\"metrics\": {}}");
    refused("summary.json@open", &["not one"]);
}

/// A run of two scenarios one after the other, an open test then a closed soak (k6
/// `startTime`): each is read as its own kind, so the run gives open and closed points. A
/// calibration scenario with one arrival-rate executor cannot set a closed point's load: that
/// is refused with the way out, `@scenario=NAME`, which keeps the open scenario's holds and
/// recovers S as from the open run alone. An unknown name is refused naming the scenarios.
#[test]
fn one_scenario_of_a_mixed_k6_run_is_chosen_by_name() {
    let d = tmpdir("calibrate", "stream-mixed");
    write_open_mm1(&d);
    let mut json = stepped_open_k6_json(&[10.0, 20.0, 40.0, 60.0], 0.010);
    // The soak: 5 VUs from 410 s to 530 s, each iteration one 12 ms request and a 1 s sleep.
    let sec = 1_000_000_000i64;
    let soak = |metric: &str, ns: i64, v: f64| k6_point(metric, ns, v, r#"{"scenario":"soak"}"#);
    for i in 410..=530 {
        json.push_str(&k6_point("vus", (K6_T0 + i) * sec, 5.0, "{}"));
    }
    for i in 410..530 {
        for v in 0..5 {
            let start = (K6_T0 + i) * sec + v * 200_000_000;
            json.push_str(&soak("http_reqs", start + 12_000_000, 1.0));
            json.push_str(&soak("http_req_duration", start + 12_000_000, 12.0));
            json.push_str(&soak("iterations", start + 1_012_000_000, 1.0));
            json.push_str(&soak("iteration_duration", start + 1_012_000_000, 1012.0));
        }
    }
    write(&d, "run.json", &json);
    refused_measured(&d, "run.json", &["run.json", "closed point", "@scenario="]);
    refused_measured(
        &d,
        "run.json@scenario=nope",
        &["run.json", "\"open\"", "\"soak\""],
    );
    fits_the_stepped_open_run(&d, "run.json@scenario=open");
}

/// `--max-events` holds each simulation of a calibration to its budget: a point whose run
/// would be over it is refused up front (exit 2), not simulated for minutes.
#[test]
fn calibrate_simulations_are_held_to_the_budget() {
    let d = tmpdir("calibrate", "budget");
    write(&d, "m.yaml", &model(10.0, 0.05, 0.002));
    write(&d, "s.yaml", SCENARIO);
    write(
        &d,
        "p.csv",
        "kind,load,throughput,lat_mean_ms\nclosed,8,700,11\nclosed,16,1200,13\n",
    );
    let o = surge(
        &[
            "calibrate",
            "s.yaml",
            "--measured",
            "p.csv",
            "--fit",
            "services.db.endpoints.tx[0].cpu",
            "--max-events",
            "1000",
            "-q",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("s.yaml") && stderr(&o).contains("events"),
        "{}",
        stderr(&o)
    );
}
