//! `surge import k6` (docs/importing.md): seed 001's script as it is, scripts in the shapes of
//! public k6 examples (tests/data/k6/README.md) imported and run, inspect JSON and archives,
//! and every refusal an exit 2 naming the file, line, column and options path.

mod common;

use common::{root, stderr, surge, tmpdir};
use std::path::{Path, PathBuf};
use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn data(name: &str) -> PathBuf {
    root().join("tests/data/k6").join(name)
}

/// Import `file` with the test model into `dir`; the scenario's path and text.
fn import_into(file: &Path, dir: &Path, model: &Path) -> (PathBuf, String) {
    let out = dir.join(format!(
        "{}.yaml",
        file.file_stem().unwrap().to_string_lossy()
    ));
    let o = surge(
        &[
            "import",
            "k6",
            file.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(
        o.status.success(),
        "{}: {}\n{}",
        file.display(),
        stderr(&o),
        stdout(&o)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    (out, text)
}

/// Run a scenario briefly (`duration` caps simulated time): it must run and write a summary.
fn runs(scenario: &Path, dir: &Path, cap: &str) {
    let out = dir.join(format!(
        "run-{}",
        scenario.file_stem().unwrap().to_string_lossy()
    ));
    let o = surge(
        &[
            "run",
            scenario.to_str().unwrap(),
            "-q",
            "--set",
            &format!("duration={cap}"),
            "--out",
            out.to_str().unwrap(),
        ],
        &root(),
    );
    // 0: every threshold held; 99: one failed. Both are runs.
    assert!(
        matches!(o.status.code(), Some(0 | 99)),
        "{}: {}\n{}",
        scenario.display(),
        stderr(&o),
        stdout(&o)
    );
    assert!(out.join("summary.json").exists());
}

/// Write `script` to `dir/name` and import it (no model): the output.
fn import_text(dir: &Path, name: &str, script: &str, model: Option<&Path>) -> Output {
    let p = dir.join(name);
    std::fs::write(&p, script).unwrap();
    let mut args = vec!["import", "k6", p.to_str().unwrap()];
    if let Some(m) = model {
        args.extend(["--model", m.to_str().unwrap()]);
    }
    surge(&args, &root())
}

/// The flow steps written (request and sleep lines, without comments).
fn steps(yaml: &str) -> Vec<String> {
    yaml.lines()
        .map(|l| l.split("  #").next().unwrap().trim())
        .filter(|l| {
            l.starts_with("- get:")
                || l.starts_with("- post:")
                || l.starts_with("- put:")
                || l.starts_with("- patch:")
                || l.starts_with("- delete:")
                || l.starts_with("- sleep:")
                || l.starts_with("- loop:")
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn seed_001_script_is_the_seed_verbatim() {
    let js = std::fs::read_to_string(root().join("scenarios/imported/load-testing-framework.js"))
        .unwrap();
    assert!(js.starts_with("// load-testing-framework.js\n"));
    // The seeds travel beside the repository (shared/seeds); compare when they are there.
    for seeds in [
        root().join("../shared/seeds"),
        root().join("../../shared/seeds"),
    ] {
        let seed = seeds.join("001_a26260aad4962b91.txt");
        if let Ok(text) = std::fs::read_to_string(&seed) {
            assert!(
                text.contains(&js),
                "not a verbatim copy of {}",
                seed.display()
            );
        }
    }
}

#[test]
fn seed_001_imports_onto_hamballer_and_runs() {
    let dir = tmpdir("import_k6", "seed");
    let (out, y) = import_into(
        &root().join("scenarios/imported/load-testing-framework.js"),
        &dir,
        &root().join("models/hamballer.yaml"),
    );
    // The committed scenario is what the import writes today (its model path is relative to
    // the output's folder, so compare with it normalised).
    let committed =
        std::fs::read_to_string(root().join("scenarios/imported/load-testing-framework.yaml"))
            .unwrap();
    let norm = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("model:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(norm(&committed), norm(&y), "re-run the import of seed 001");
    assert!(committed.contains("model: \"../../models/hamballer.yaml\""));
    // The three ramping-vus scenarios as the script writes them.
    for s in ["gradual_ramp:", "spike_test:", "stress_test:"] {
        assert!(y.contains(&format!("\n  {s}")), "{s}");
    }
    assert!(y.contains("    startTime: 1h\n    startVUs: 500\n"));
    assert!(y.contains("    startTime: 1h10m\n    startVUs: 1000\n"));
    assert!(y.contains("      - {duration: 30m, target: 5000}\n"));
    // testBadgeClaimFlow's requests through k6.http with the ${baseUrl} prefix, its think time
    // Math.random() * 3000 + 1000 ms, and the final Math.random() * 2 + 1 s.
    assert_eq!(
        steps(&y),
        [
            "- get: \"/api/badges/status\"",
            "- sleep: uniform(1s,4s)",
            "- post: \"/api/badges/claim\"",
            "- sleep: uniform(1s,3s)",
        ]
    );
    assert!(y.contains("TODO (line 70): calls `testAPIEndpoints(BASE_URL)`"));
    assert!(y.contains("TODO (line 73): calls `testWebSocketConnections(BASE_URL)`"));
    // Built-in thresholds kept, the custom metrics left as comments with their mapping.
    assert!(y.contains("\n  \"http_req_duration\": ['p(95)<500']\n"));
    assert!(y.contains("\n  # \"errors\": ['rate<0.01']\n"));
    assert!(y.contains("\n  # \"response_time\": ['p(95)<400']\n"));
    assert!(y.contains("errors is a custom rate (declared at line 7)"));
    runs(&out, &dir, "20s");
}

#[test]
fn seed_001_notes_say_what_is_left() {
    let o = surge(
        &[
            "import",
            "k6",
            "scenarios/imported/load-testing-framework.js",
            "--model",
            "models/hamballer.yaml",
        ],
        &root(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("line 70, column 3: TODO in flow \"default\""),
        "{e}"
    );
    assert!(
        e.contains("threshold \"response_time\" left as a comment"),
        "{e}"
    );
    assert!(stdout(&o).starts_with("# Imported by `surge import k6`"));
}

/// Each script's expected executor lines and flow steps.
#[test]
fn public_script_shapes_import_and_run() {
    let dir = tmpdir("import_k6", "public");
    let model = data("model.yaml");
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "quickstart.js",
            &["executor: constant-vus\n    vus: 10\n    duration: 30s\n"],
            &["- get: \"/\"", "- sleep: const(1s)"],
        ),
        (
            "stages.js",
            &["executor: ramping-vus\n    stages:\n      - {duration: 10s, target: 5}\n"],
            &["- get: \"/\""],
        ),
        (
            "thresholds.js",
            &["executor: constant-vus\n    vus: 2\n    duration: 15s\n"],
            &["- get: \"/\"", "- post: \"/post\""],
        ),
        (
            "scenarios.js",
            &[
                "executor: constant-arrival-rate\n    rate: 20\n    timeUnit: 1s\n    duration: 30s\n    preAllocatedVUs: 10\n    maxVUs: 50\n    flows: [browse]\n",
                "executor: ramping-vus\n    startTime: 5s\n    startVUs: 0\n",
            ],
            &[
                "- get: \"/api/crocodiles/\"",
                "- get: \"/api/crocodiles/{id}/\"",
                "- post: \"/auth/token/login/\"",
                "- loop:",
                "- post: \"/api/crocodiles/\"",
                "- sleep: empirical(1s,2s,3s)",
            ],
        ),
    ];
    for (file, executors, want) in cases {
        let (out, y) = import_into(&data(file), &dir, &model);
        for e in *executors {
            assert!(y.contains(e), "{file}: {e:?} not in\n{y}");
        }
        assert_eq!(steps(&y), *want, "{file}:\n{y}");
        runs(&out, &dir, "40s");
    }
}

/// Scripts whose shortcuts derive the iteration executors (shared-iterations,
/// per-vu-iterations).
#[test]
fn iteration_shortcuts_import_and_run() {
    let dir = tmpdir("import_k6", "iters");
    let model = data("model.yaml");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "http_verbs.js",
            "executor: per-vu-iterations\n",
            &[
                "- get: \"/get\"",
                "- post: \"/post\"",
                "- put: \"/put\"",
                "- patch: \"/patch\"",
                "- delete: \"/delete\"",
            ],
        ),
        (
            "custom_metrics.js",
            "executor: shared-iterations\n    vus: 4\n    iterations: 20\n",
            &[
                "- get: \"/get\"",
                "- get: \"/test.k6.io/\"",
                "- sleep: uniform(0s,10s)",
            ],
        ),
        (
            "http_batch.js",
            "executor: shared-iterations\n    iterations: 10\n",
            &["- get: \"/test.k6.io\"", "- get: \"/pi.php\""],
        ),
    ];
    for (file, executor, want) in cases {
        let (out, y) = import_into(&data(file), &dir, &model);
        assert!(y.contains(executor), "{file}: {executor:?} not in\n{y}");
        assert_eq!(steps(&y), *want, "{file}:\n{y}");
        runs(&out, &dir, "60s");
    }
}

#[test]
fn every_threshold_form_is_read() {
    let dir = tmpdir("import_k6", "thresholds");
    let o = import_text(
        &dir,
        "t.js",
        r#"import http from 'k6/http';
import { Trend } from 'k6/metrics';
const waiting = new Trend('waiting_time');
export const options = {
  vus: 1, duration: '10s',
  thresholds: {
    http_req_duration: ['p(95)<500', 'avg < 200'],
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '10s' }],
    'http_reqs': [{ threshold: 'count>=10' }],
    iterations: ['rate>1'],
    checks: ['rate>0.9'],
    waiting_time: ['p(99)<300'],
    'http_req_duration{my_tag:x}': ['max<1000'],
  },
};
export default function () { http.get('https://example.com/'); }
"#,
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let y = stdout(&o);
    assert!(
        y.contains("\n  \"http_req_duration\": ['p(95)<500', 'avg < 200']\n"),
        "{y}"
    );
    assert!(y.contains(
        "\n  \"http_req_failed\": [{threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '10s'}]\n"
    ));
    assert!(y.contains("\n  \"http_reqs\": ['count>=10']\n"));
    assert!(y.contains("\n  \"iterations\": ['rate>1']\n"));
    // What surge cannot evaluate is a comment, with the reason and the mapping.
    assert!(y.contains("\n  # \"checks\": ['rate>0.9']\n"));
    assert!(y.contains("k6's built-in checks is not simulated"));
    assert!(y.contains("\n  # \"waiting_time\": ['p(99)<300']\n"));
    assert!(y.contains("waiting_time is a custom trend (declared at line 3)"));
    assert!(y.contains("map it to http_req_duration"));
    assert!(y.contains("\n  # \"http_req_duration{my_tag:x}\": ['max<1000']\n"));
    assert!(y.contains("cannot filter http_req_duration by the tag \"my_tag\""));
    let e = stderr(&o);
    assert_eq!(e.matches("left as a comment").count(), 3, "{e}");
}

#[test]
fn inspect_json_and_archives_import() {
    let dir = tmpdir("import_k6", "inspect");
    // `k6 inspect`: the script's options, unset fields null.
    let p = dir.join("inspect.json");
    std::fs::write(
        &p,
        r#"{"paused": null, "vus": 5, "duration": "1m0s", "iterations": null, "stages": null,
            "scenarios": null, "thresholds": {"http_req_duration": ["p(95)<300"]}}"#,
    )
    .unwrap();
    let o = surge(&["import", "k6", p.to_str().unwrap()], &root());
    assert!(o.status.success(), "{}", stderr(&o));
    let y = stdout(&o);
    assert!(
        y.contains("executor: constant-vus\n    vus: 5\n    duration: 1m\n"),
        "{y}"
    );
    assert!(y.contains("steps: []  # TODO"));
    assert!(stderr(&o).contains("the input has no script"));
    // `--execution-requirements`: the shortcuts are already derived into scenarios.
    std::fs::write(
        &p,
        r#"{"vus": 5, "duration": "1m0s", "totalDuration": "1m30s", "maxVUs": 5,
            "scenarios": {"default": {"executor": "constant-vus", "startTime": null,
              "gracefulStop": null, "env": null, "exec": null, "tags": null,
              "vus": 5, "duration": "1m0s"}}}"#,
    )
    .unwrap();
    let o = surge(&["import", "k6", p.to_str().unwrap()], &root());
    assert!(o.status.success(), "{}", stderr(&o));
    let y = stdout(&o);
    assert!(
        y.contains("  default:\n    executor: constant-vus\n"),
        "{y}"
    );
    assert!(
        y.contains("\n    vus: 5\n") && y.contains("\n    duration: 1m\n"),
        "{y}"
    );

    // `k6 archive`: metadata.json's options, the script in `data`.
    let tarp = dir.join("test.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&tarp).unwrap());
    for (name, body) in [
        (
            "metadata.json",
            r#"{"type": "js", "filename": "file:///home/u/test.js", "options":
               {"stages": [{"duration": "10s", "target": 3}, {"duration": "5s", "target": 0}]}}"#,
        ),
        (
            "data",
            "import http from 'k6/http';\nexport default function () {\n  http.get('https://x.test/get');\n}\n",
        ),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    b.finish().unwrap();
    drop(b);
    let (out, y) = import_into(&tarp, &dir, &data("model.yaml"));
    assert!(y.contains("executor: ramping-vus\n    stages:\n      - {duration: 10s, target: 3}\n"));
    assert_eq!(steps(&y), ["- get: \"/get\""]);
    runs(&out, &dir, "20s");
}

/// Every refusal: exit 2, the file, line and column, the options path, what was expected.
#[test]
fn rejections_exit_2_with_file_and_location() {
    let dir = tmpdir("import_k6", "reject");
    let model = data("model.yaml");
    let head = "import http from 'k6/http';\n";
    let tail = "\nexport default function () { http.get('https://x.test/'); }\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "export const options = {\n  vus: Number(__ENV.VUS) || 10,\n  duration: '1m',\n};",
            "line 3, column 8, options.vus: options.vus is computed at run time",
            "`Number(__ENV.VUS) || 10`",
        ),
        (
            "export const options = {\n  duration: __ENV.DURATION,\n};",
            "line 3, column 13, options.duration",
            "an environment variable",
        ),
        (
            "const base = [{ duration: '1m', target: 5 }];\nexport const options = {\n  stages: [...base],\n};",
            "line 4, column 12, options.stages",
            "a spread",
        ),
        (
            "export const options = {\n  stages: [{duration: '1m', target: 1}, {duration: '1m', target: 2}, {duration: '1m', target: Math.max(1, 3)}],\n};",
            "options.stages[2].target",
            "a function call",
        ),
        (
            "const k = 'a';\nexport const options = {\n  scenarios: { [k]: { executor: 'constant-vus', duration: '1m' } },\n};",
            "line 4, column 17, options.scenarios",
            "a computed key",
        ),
        (
            "export const options = {\n  vus: 5,\n  duration: '1m',\n  stages: [{ duration: '1m', target: 5 }],\n};",
            "line 4, column 13, options.duration",
            "using `duration` and `stages` options simultaneously is not allowed",
        ),
        (
            "export const options = {\n  scenarios: {\n    s: { executor: 'externally-controlled', vus: 1 },\n  },\n};",
            "line 4, column 20, options.scenarios.s.executor",
            "unknown executor type",
        ),
        (
            "export const options = {\n  vus: 1, duration: '1m',\n  thresholds: { http_req_duration: ['p(95)<<500'] },\n};",
            "line 4, column 37, options.thresholds[\"http_req_duration\"][0]",
            "expected <aggregation> <op> <number>",
        ),
        (
            "export const options = {\n  vus: 1, duration: '1m',\n  thresholds: { http_req_duration: ['rate<0.1'] },\n};",
            "options.thresholds[\"http_req_duration\"][0]",
            "not valid for http_req_duration, a trend",
        ),
        (
            "export const options = {\n  vus: 1, duration: '1m',\n  thresholds: { http_req_duration: [{ threshold: 'p(95)<5', abortOnFail: true, delayAbortEval: '-1s' }] },\n};",
            "line 4, column 96, options.thresholds[\"http_req_duration\"][0].delayAbortEval",
            "\"-1s\" is negative",
        ),
        (
            "export const options = {\n  scenarios: { s: { executor: 'constant-vus', vus: 0, duration: '1m' } },\n};",
            "line 3, column 52, options.scenarios.s.vus",
            "(field scenarios.s.vus of the imported scenario)",
        ),
        (
            "export const options = {\n  scenarios: { s: { executor: 'constant-vus', duration: '1m', exec: 'nope' } },\n};",
            "options.scenarios.s.exec",
            "the script exports no function \"nope\"",
        ),
        (
            "export const options = { vus: 1, duration: '1m' };\noptions.vus = 10;",
            "line 3, column 1",
            "options is changed after it is declared",
        ),
        (
            "export const options = { vus: 1, duration: '1m' ;",
            "line 2, column",
            "not valid JavaScript",
        ),
    ];
    for (i, (opts, location, msg)) in cases.iter().enumerate() {
        let name = format!("case{i}.js");
        let o = import_text(&dir, &name, &format!("{head}{opts}{tail}"), Some(&model));
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{opts}\n{e}");
        let file = dir.join(&name);
        assert!(
            e.starts_with(&format!("error: {}: ", file.display())),
            "{opts}\n{e}"
        );
        assert!(e.contains(location), "{opts}: want {location:?}\n{e}");
        assert!(e.contains(msg), "{opts}: want {msg:?}\n{e}");
    }
    // A URL no route matches: the script's line, and the routes.
    let o = import_text(
        &dir,
        "route.js",
        "import http from 'k6/http';\nexport const options = { vus: 1, duration: '1m' };\nexport default function () {\n  http.get('https://x.test/nowhere');\n}\n",
        Some(&model),
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("line 4, column 3, function default, step 1"),
        "{e}"
    );
    assert!(e.contains("GET /api/crocodiles/{id}"), "{e}");
    // A file that is not there.
    let o = surge(&["import", "k6", "no-such-script.js"], &root());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-script.js: file not found"));
}

#[test]
fn dynamic_values_outside_what_surge_reads_are_fine() {
    // k6 reads `ext`, `tags` etc. at run time too; they do not matter to the simulation.
    let dir = tmpdir("import_k6", "dynamic-ok");
    let o = import_text(
        &dir,
        "ok.js",
        "import http from 'k6/http';\nexport const options = {\n  vus: 2, duration: '30s',\n  ext: { loadimpact: { projectID: __ENV.PROJECT } },\n  tags: { env: `${__ENV.ENV}` },\n};\nexport default function () { http.get(`${__ENV.BASE}/get`); }\n",
        Some(&data("model.yaml")),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(steps(&stdout(&o)), ["- get: \"/get\""]);
}

/// Any later write to `options`, wherever it is (blocks, loops, functions), is a run-time
/// value: refused with the file, line and column of the write.
#[test]
fn later_writes_to_options_anywhere_are_refused() {
    let dir = tmpdir("import_k6", "writes");
    let model = data("model.yaml");
    let head = "import http from 'k6/http';\n";
    let tail = "\nexport default function () { http.get('https://x.test/'); }\n";
    let decl = "export const options = { vus: 2, duration: '30s' };\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "if (__ENV.BIG) { options.vus = 50; }",
            "line 3, column 18",
            "a field is assigned: `options.vus = 50`",
        ),
        (
            "Object.assign(options, { vus: 40 });",
            "line 3, column 1",
            "changed by `Object.assign`",
        ),
        (
            "for (const k of ['a']) { options.vus++; }",
            "line 3, column 26",
            "incremented or decremented",
        ),
        (
            "delete options.duration;",
            "line 3, column 1",
            "a field is deleted",
        ),
        (
            "options.vus++;",
            "line 3, column 1",
            "incremented or decremented",
        ),
        (
            "options.vus *= 2;",
            "line 3, column 1",
            "a field is assigned",
        ),
        (
            "function tweak() { options.thresholds = {}; }\ntweak();",
            "line 3, column 20",
            "a field is assigned",
        ),
        (
            "const s = options.scenarios;\ns.x = {};",
            "line 4, column 1",
            "a field is assigned",
        ),
        (
            "function tune(o) {\n  o.vus = 10;\n}\ntune(options);",
            "line 4, column 3",
            "changed by a function it is passed to",
        ),
    ];
    for (i, (change, location, msg)) in cases.iter().enumerate() {
        let name = format!("w{i}.js");
        let o = import_text(
            &dir,
            &name,
            &format!("{head}{decl}{change}{tail}"),
            Some(&model),
        );
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{change}\n{e}");
        let file = dir.join(&name);
        assert!(
            e.starts_with(&format!("error: {}: {location}", file.display())),
            "{change}: want {location:?}\n{e}"
        );
        assert!(e.contains("options is changed after it is declared"), "{e}");
        assert!(e.contains(msg), "{change}: want {msg:?}\n{e}");
    }
    // CommonJS: the first `exports.options =` declares it, a later write changes it.
    let o = import_text(
        &dir,
        "cjs.js",
        &format!("{head}exports.options = {{ vus: 2, duration: '30s' }};\nexports.options.vus = 9;{tail}"),
        Some(&model),
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("line 3, column 1") && e.contains("exports.options.vus = 9"),
        "{e}"
    );
    // Reads, and writes to a local `options` in a function, change nothing.
    let o = import_text(
        &dir,
        "ok.js",
        &format!(
            "{head}{decl}console.log(JSON.stringify(options), options.vus);\n\
             export function helper(options) {{ options.tags = {{}}; return options; }}{tail}"
        ),
        Some(&model),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = import_text(
        &dir,
        "cjs-ok.js",
        &format!("{head}exports.options = {{ vus: 2, duration: '30s' }};{tail}"),
        Some(&model),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A scenario leaving a field k6 requires unset: the options path, the line, k6's words.
#[test]
fn missing_scenario_fields_name_the_path_and_what_k6_expects() {
    let dir = tmpdir("import_k6", "missing");
    let model = data("model.yaml");
    let cases: &[(&str, &str, &str)] = &[
        (
            "load: { executor: 'constant-arrival-rate', rate: 10, duration: '1m' }",
            "options.scenarios.load.preAllocatedVUs",
            "the number of preAllocatedVUs isn't specified",
        ),
        (
            "load: { executor: 'constant-vus', vus: 2 }",
            "options.scenarios.load.duration",
            "the duration is unspecified",
        ),
        (
            "load: { executor: 'ramping-vus' }",
            "options.scenarios.load.stages",
            "at least one stage has to be specified",
        ),
        (
            "load: { executor: 'ramping-arrival-rate', stages: [] , preAllocatedVUs: 2 }",
            "options.scenarios.load.stages",
            "at least one stage has to be specified",
        ),
        (
            "load: { executor: 'constant-arrival-rate', duration: '1m', preAllocatedVUs: 1 }",
            "options.scenarios.load.rate",
            "the iteration rate isn't specified",
        ),
    ];
    for (i, (sc, path, msg)) in cases.iter().enumerate() {
        let name = format!("m{i}.js");
        let o = import_text(
            &dir,
            &name,
            &format!(
                "import http from 'k6/http';\nexport const options = {{\n  scenarios: {{\n    {sc},\n  }},\n}};\nexport default function () {{ http.get('https://x.test/'); }}\n"
            ),
            Some(&model),
        );
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{sc}\n{e}");
        let want = format!(
            "error: {}: line 4, column 11, {path}: ",
            dir.join(&name).display()
        );
        assert!(e.starts_with(&want), "{sc}: want {want:?}\n{e}");
        assert!(
            e.contains(msg) && e.contains("scenario load has configuration errors"),
            "{e}"
        );
    }
    // The same from `k6 inspect` JSON (no lines there: the path).
    let p = dir.join("inspect.json");
    std::fs::write(
        &p,
        r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 10, "duration": "1m"}}}"#,
    )
    .unwrap();
    let o = surge(&["import", "k6", p.to_str().unwrap()], &root());
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("options.scenarios.a.preAllocatedVUs")
            && e.contains("the number of preAllocatedVUs isn't specified"),
        "{e}"
    );
}

/// `--execution-requirements` JSON of a stages-only script: the derived `default` ramping-vus
/// prints `startVUs: null`, which is 0 there (unset `vus` is 0 in that output).
#[test]
fn execution_requirements_stages_only_start_at_zero_vus() {
    let dir = tmpdir("import_k6", "er-stages");
    let p = dir.join("er.json");
    std::fs::write(
        &p,
        r#"{"vus": null, "duration": null, "iterations": null,
            "stages": [{"duration": "10s", "target": 5}, {"duration": "10s", "target": 0}],
            "scenarios": {"default": {"executor": "ramping-vus", "startTime": null,
              "gracefulStop": null, "env": null, "exec": null, "tags": null, "options": null,
              "startVUs": null, "stages": [{"duration": "10s", "target": 5},
              {"duration": "10s", "target": 0}], "gracefulRampDown": null}},
            "totalDuration": "50s", "maxVUs": 5}"#,
    )
    .unwrap();
    let o = surge(&["import", "k6", p.to_str().unwrap()], &root());
    assert!(o.status.success(), "{}", stderr(&o));
    let y = stdout(&o);
    assert!(
        y.contains("executor: ramping-vus\n    startVUs: 0\n    stages:\n      - {duration: 10s, target: 5}\n"),
        "{y}"
    );
    // A written scenario's unset startVUs keeps k6's default (no 0 inserted).
    std::fs::write(
        &p,
        r#"{"vus": null, "stages": null, "scenarios": {"default": {"executor": "ramping-vus",
            "startVUs": null, "stages": [{"duration": "10s", "target": 5}]}}}"#,
    )
    .unwrap();
    let o = surge(&["import", "k6", p.to_str().unwrap()], &root());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("startVUs"), "{}", stdout(&o));
}

/// `{vus: 4, stages: []}`: k6's bare-`vus` case needs `Stages == nil` (not only empty), and a
/// JSON `[]` decodes to an empty, non-nil slice, so k6 runs 1 iteration in 1 VU and warns.
#[test]
fn vus_with_empty_stages_is_one_iteration_as_k6() {
    let dir = tmpdir("import_k6", "vus-empty-stages");
    let o = import_text(
        &dir,
        "s.js",
        "import http from 'k6/http';\nexport const options = { vus: 4, stages: [] };\nexport default function () { http.get('https://x.test/get'); }\n",
        Some(&data("model.yaml")),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("executor: per-vu-iterations\n"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("`stages` was explicitly set to an empty value"));
}

/// `options.rps` becomes the scenario's `rps` (one token bucket, simulated), and the imported
/// scenario runs with it; 0 means no limit, as in k6.
#[test]
fn rps_is_imported_and_simulated() {
    let dir = tmpdir("import_k6", "rps");
    let script = |rps: &str| {
        format!("import http from 'k6/http';\nexport const options = {{ vus: 5, duration: '10s', rps: {rps} }};\nexport default function () {{ http.get('https://x.test/get'); }}\n")
    };
    let o = import_text(&dir, "r.js", &script("20"), Some(&data("model.yaml")));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\nrps: 20"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("rps"), "{}", stderr(&o));
    let o = import_text(&dir, "z.js", &script("0"), Some(&data("model.yaml")));
    assert!(
        o.status.success() && !stdout(&o).contains("rps:"),
        "{}",
        stdout(&o)
    );
    let o = import_text(&dir, "f.js", &script("2.5"), Some(&data("model.yaml")));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("options.rps"), "{}", stderr(&o));
}

/// `options.minIterationDuration` becomes the scenario's `min_iteration_duration` (simulated),
/// in any of k6's duration forms; zero or negative is no pad, and a bad value names the option.
#[test]
fn min_iteration_duration_is_imported() {
    let dir = tmpdir("import_k6", "miniter");
    let script = |d: &str| {
        format!("import http from 'k6/http';\nexport const options = {{ vus: 2, duration: '10s', minIterationDuration: {d} }};\nexport default function () {{ http.get('https://x.test/get'); }}\n")
    };
    for (i, (d, want)) in [
        ("'2s'", Some("2s")),
        ("1500", Some("1.5s")),
        ("'1m30s'", Some("1m30s")),
        ("'0s'", None),
        ("'-1s'", None),
    ]
    .into_iter()
    .enumerate()
    {
        let o = import_text(
            &dir,
            &format!("m{i}.js"),
            &script(d),
            Some(&data("model.yaml")),
        );
        assert!(o.status.success(), "{d}: {}", stderr(&o));
        match want {
            Some(w) => assert!(
                stdout(&o).contains(&format!("\nmin_iteration_duration: {w}")),
                "{d}: {}",
                stdout(&o)
            ),
            None => assert!(!stdout(&o).contains("min_iteration_duration"), "{d}"),
        }
        assert!(!stderr(&o).contains("not simulated"), "{}", stderr(&o));
    }
    let o = import_text(
        &dir,
        "bad.js",
        &script("'banana'"),
        Some(&data("model.yaml")),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("options.minIterationDuration"),
        "{}",
        stderr(&o)
    );
}

/// A default export bound through a top-level alias is the function it names (goja runs any
/// exported binding); one bound to a run-time value is refused at the export, naming it.
#[test]
fn default_exports_through_aliases() {
    let d = tmpdir("import-k6", "aliases");
    let head = "import http from 'k6/http';\nexport const options = { vus: 1, duration: '10s' };\n";
    for (name, body) in [
        (
            "specifier.js",
            "const r = () => { http.get('http://x/a'); };\nvar t = r;\nexport { t as default };\n",
        ),
        (
            "ident.js",
            "function main() { http.get('http://x/a'); }\nconst t = main;\nconst u = t;\nexport default u;\n",
        ),
    ] {
        let o = import_text(&d, name, &format!("{head}{body}"), None);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert_eq!(steps(&stdout(&o)), ["- get: \"/a\""], "{name}");
    }
    // webpack's bundle tail (k6's examples/source_map): the binding is a property read.
    let o = import_text(
        &d,
        "bundle.js",
        &format!(
            "{head}var e = {{}};\nconst r = () => {{ http.get('http://x/a'); }};\nvar t = e.Z;\nexport {{ t as default }};\n"
        ),
        None,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("bundle.js: line 6, column 10, export default")
            && e.contains("`e.Z` (line 5)")
            && !e.contains("no `export default"),
        "{e}"
    );
    // A cycle of aliases ends, refused.
    let o = import_text(
        &d,
        "cycle.js",
        &format!("{head}var a = b;\nvar b = a;\nexport default a;\n"),
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("export default"), "{}", stderr(&o));
}

/// `for` loops with literal bounds become `loop`s whatever their step, with the count the
/// loop's own arithmetic gives; one that never ends (or runs past 65,535) is left as a TODO.
#[test]
fn for_loops_with_any_literal_step_are_counted() {
    let d = tmpdir("import-k6", "loops");
    // (header, iterations counted by hand).
    let cases = [
        ("let i = 0; i < 10; i++", Some(10)),
        ("let i = 1; i <= 10; ++i", Some(10)),
        ("let i = 5; i > 0; i -= 2", Some(3)),
        ("let i = 10; i >= 0; i--", Some(11)),
        ("let j = 0; j < 10; j += 3", Some(4)),
        ("let i = 1; i < 100; i *= 2", Some(7)),
        ("let i = 64; i > 1; i /= 2", Some(6)),
        ("let i = 0; i < 10; i = i + 4", Some(3)),
        ("let i = 0; i < 10; i = 2 + i", Some(5)),
        ("let i = 0.5; i < 3; i++", Some(3)),
        ("let i = 0; i !== 10; i += 2", Some(5)),
        ("let i = 3; i < 3; i++", Some(0)),
        ("let i = 0; i != 10; i += 3", None),
        ("let i = 0; i < 10; i -= 1", None),
        ("let i = 0; i < 1e6; i++", None),
    ];
    for (k, (header, want)) in cases.iter().enumerate() {
        let script = format!(
            "import http from 'k6/http';\nexport const options = {{ vus: 1, duration: '10s' }};\n\
             export default function () {{ for ({header}) {{ http.get('http://x/a'); }} }}\n"
        );
        let o = import_text(&d, &format!("l{k}.js"), &script, None);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{header}: {}", stderr(&o));
        match want {
            Some(0) => assert!(steps(&out).is_empty(), "{header}: {out}"),
            Some(n) => {
                assert_eq!(steps(&out), ["- loop:", "- get: \"/a\""], "{header}: {out}");
                assert!(out.contains(&format!("count: {n}\n")), "{header}: {out}");
            }
            None => {
                assert_eq!(steps(&out), ["- get: \"/a\""], "{header}: {out}");
                assert!(out.contains("known only at run time"), "{header}: {out}");
            }
        }
    }
}

/// Flat code is not deep code: a long `+` chain or `else if` ladder reads (the parser's tree
/// is as deep as the chain is long, so reading happens on a thread with a large stack), and
/// nested `if`s make one note for their conditions.
#[test]
fn long_flat_chains_and_nested_ifs_read() {
    let d = tmpdir("import-k6", "chains");
    let head = "import http from 'k6/http';\nexport const options = { vus: 1, duration: '10s' };\n";
    let sum = format!(
        "{head}export default function () {{ const b = 'x'{}; http.get('http://x/a'); }}\n",
        " + 'y'".repeat(1500)
    );
    let ladder = format!(
        "{head}export default function () {{ const x = 1; {} http.get('http://x/a'); }}\n",
        (0..4000)
            .map(|i| format!("if (x === {i}) {{ }}"))
            .collect::<Vec<_>>()
            .join(" else ")
    );
    for (name, text) in [("sum.js", sum), ("ladder.js", ladder)] {
        let o = import_text(&d, name, &text, None);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert_eq!(steps(&stdout(&o)), ["- get: \"/a\""], "{name}");
    }
    let nested = format!(
        "{head}export default function () {{ {} http.get('http://x/a'); {} }}\n",
        "if (a) { if (b === 2) {".repeat(100),
        "} }".repeat(100)
    );
    let o = import_text(&d, "nested.js", &nested, None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let notes: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("runs the next steps only when"))
        .collect();
    assert_eq!(notes.len(), 1, "{out}");
    assert!(
        notes[0].contains("`a` and `b === 2` and `a`") && notes[0].contains("further nested"),
        "{out}"
    );
}

/// Sleeps as k6 takes them: 0 or less returns at once (no step), one that may be negative or
/// is longer than a Go Duration is a TODO saying so.
#[test]
fn sleeps_out_of_range_follow_k6() {
    let d = tmpdir("import-k6", "sleeps");
    let script = "import http from 'k6/http';\nimport { sleep } from 'k6';\n\
                  export const options = { vus: 1, duration: '10s' };\n\
                  export default function () { http.get('http://x/a'); sleep(-1); sleep(0); \
                  sleep(-2 + Math.random()); sleep(1e308); sleep(-0.5 + Math.random()); \
                  sleep(1 + Math.random()); }\n";
    let o = import_text(&d, "s.js", script, None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        steps(&out),
        ["- get: \"/a\"", "- sleep: uniform(1s,2s)"],
        "{out}"
    );
    assert!(
        out.contains("`sleep(1e308)` is longer than k6 can sleep"),
        "{out}"
    );
    assert!(
        out.contains("`sleep(-0.5 + Math.random())` may be negative"),
        "{out}"
    );
}

/// k6 runs CommonJS scripts and hands its modules to `require` as to `import` (k6
/// `js/modules/require_impl.go`; `var http = require("k6/http")` and `var sleep =
/// require('k6').sleep` in `internal/js/runner_test.go`): each form reads as its ES import.
#[test]
fn commonjs_require_reads_as_import() {
    let d = tmpdir("import-k6", "require");
    let opts = "exports.options = { vus: 1, duration: '10s' };\n";
    for (name, head, body) in [
        (
            "whole.js",
            "const http = require('k6/http');\nconst { sleep } = require('k6');\n",
            "http.get('http://x/a'); http.post('http://x/b'); sleep(1);",
        ),
        (
            "named.js",
            "const { get, post: send } = require('k6/http');\nvar sleep = require(\"k6\").sleep;\n",
            "get('http://x/a'); send('http://x/b'); sleep(1);",
        ),
        (
            "member.js",
            "var web = require('k6/http');\nvar post = require('k6/http').post;\n\
             var sleep = require('k6').sleep;\n",
            "web.get('http://x/a'); post('http://x/b'); sleep(1);",
        ),
    ] {
        let script = format!("{head}{opts}exports.default = function () {{ {body} }};\n");
        let o = import_text(&d, name, &script, None);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert_eq!(
            steps(&out),
            ["- get: \"/a\"", "- post: \"/b\"", "- sleep: const(1s)"],
            "{name}: {out}"
        );
    }
}

/// `surge args` with its address space capped at 2 GB where `prlimit` exists (util-linux), so
/// a runaway allocation fails the test instead of exhausting the machine; and its time.
fn surge_capped(args: &[&str], cwd: &Path) -> (Output, std::time::Duration) {
    let t = std::time::Instant::now();
    let has_prlimit = std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let o = if has_prlimit {
        std::process::Command::new("prlimit")
            .arg("--as=2000000000")
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_surge"))
            .args(args)
            .current_dir(cwd)
            .output()
            .expect("run surge")
    } else {
        surge(args, cwd)
    };
    (o, t.elapsed())
}

/// Helpers `f0`..`f{depth}`, each calling the next `n` times; the last runs `leaf`; the
/// default function calls `f0` once.
fn fan_out(n: usize, depth: usize, leaf: &str) -> String {
    let mut s = String::from("import http from 'k6/http';\n");
    for i in 0..depth {
        s += &format!(
            "function f{i}() {{ {} }}\n",
            format!("f{}(); ", i + 1).repeat(n)
        );
    }
    s += &format!("function f{depth}() {{ {leaf} }}\nexport default function () {{ f0(); }}\n");
    s
}

/// Each call of a helper is expanded in place, so helpers that call helpers multiply: ten
/// calls five deep are 10^5 requests, past the 65,535 steps a flow holds (a VU's program
/// counter is 16 bits, `config::validate`), and seven deep (10^7) once exhausted memory
/// (`memory allocation of 1280000000 bytes failed`, exit 134). The walk counts steps as it
/// makes them and stops at that limit, naming the call in the exported function that leads
/// there and the path to the request, with bounded memory and time.
#[test]
fn helper_fan_out_stops_at_the_flow_limit() {
    let d = tmpdir("import-k6", "fan-out");
    let get = "http.get('http://x/a');";
    for (name, n, depth) in [
        ("fan5.js", 10, 5),
        ("fan7.js", 10, 7),
        ("fan100x4.js", 100, 4),
    ] {
        std::fs::write(d.join(name), fan_out(n, depth, get)).unwrap();
        let (o, took) = surge_capped(&["import", "k6", name], &d);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        let call = format!("{name}: line {}, column 30: ", depth + 3);
        // The lines of the calls on the way: the exported function's, then each helper's.
        let lines: Vec<usize> = e
            .split_once("through the calls at line:column ")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(at, _)| {
                at.split(", ")
                    .map(|lc| lc.split(':').next().unwrap().parse().unwrap())
            })
            .map(|l| l.collect())
            .unwrap_or_default();
        let want: Vec<usize> = std::iter::once(depth + 3).chain(2..=depth + 1).collect();
        assert!(
            e.contains(&call)
                && e.contains("flow \"default\" grows past 65535 steps")
                && lines == want
                && e.contains(&format!("to line {}, column 17", depth + 2))
                && !e.contains("values")
                && !e.contains("breached"),
            "{name}: {e}"
        );
        assert!(took.as_secs() < 60, "{name} took {took:?}");
    }
    // Within the limit every request is kept: 255 calls of 257 requests are 65,535 steps.
    let f1 = format!("function f1() {{ {} }}\n", get.repeat(257));
    let f0 = format!("function f0() {{ {} }}\n", "f1(); ".repeat(255));
    let full =
        format!("import http from 'k6/http';\n{f1}{f0}export default function () {{ f0(); }}\n");
    let o = import_text(&d, "full.js", &full, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(steps(&stdout(&o)).len(), 65535);
    // One more is one too many, said at the request itself when no call leads there.
    let over = full.replace("{ f0(); }", "{ f0(); http.get('http://x/b'); }");
    let o = import_text(&d, "over.js", &over, None);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("over.js: line 4, column 36: flow \"default\" grows past 65535"),
        "{e}"
    );
}

/// Fan-outs that make no requests are bounded too: calls whose functions do nothing by the
/// work of reading them, calls that make only TODOs by the notes and TODOs in all, and calls
/// whose callbacks assign to the caller's variables (so their scopes stay) by those scopes.
#[test]
fn fan_outs_without_requests_are_bounded() {
    let d = tmpdir("import-k6", "fan-quiet");
    for (name, leaf, want) in [
        (
            "quiet.js",
            "console.log('x');",
            "takes more than 5000000 steps of reading",
        ),
        (
            "todos.js",
            "helper();",
            "grow past 262144 steps, notes and TODOs in all",
        ),
        (
            "scopes.js",
            "let r = 0; group('g', () => { r = 1; });",
            "keeps more than 262144 of their scopes",
        ),
    ] {
        std::fs::write(d.join(name), fan_out(10, 9, leaf)).unwrap();
        let (o, took) = surge_capped(&["import", "k6", name], &d);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        assert!(
            e.contains(&format!("{name}: line 12, column 30: ")) && e.contains(want),
            "{name}: {e}"
        );
        assert!(took.as_secs() < 60, "{name} took {took:?}");
    }
}

/// Flows that each fit but together make a scenario larger than surge's YAML reader takes
/// (250,000 values) are refused naming the flows, not as if the script had too many values;
/// loops nested past surge's 4 levels deeper than the reader's 64 are named where they start.
#[test]
fn an_imported_scenario_past_the_reader_limits_says_why() {
    let d = tmpdir("import-k6", "yaml-limits");
    let mut s = String::from(
        "import http from 'k6/http';\nexport const options = { scenarios: {\n  \
         a: { executor: 'constant-vus', vus: 1, duration: '5s', exec: 'a' },\n  \
         b: { executor: 'constant-vus', vus: 1, duration: '5s', exec: 'b' } } };\n",
    );
    s += &format!(
        "function f1() {{ {} }}\n",
        "http.get('http://x/a'); ".repeat(1000)
    );
    s += &format!("export function a() {{ {} }}\n", "f1(); ".repeat(60));
    s += &format!("export function b() {{ {} }}\n", "f1(); ".repeat(60));
    let o = import_text(&d, "two.js", &s, None);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(
            "two.js: the scenario imported from this file would have more than 250000 values"
        ) && e.contains("flow \"a\" has 60000 steps, flow \"b\" has 60000 steps")
            && !e.contains("the file has"),
        "{e}"
    );
    let nest = "for (let i = 0; i < 2; i++) { ".repeat(25);
    let s = format!(
        "import http from 'k6/http';\nexport default function () {{\n  {nest}http.get('http://x/'); {} }}\n",
        "}".repeat(25)
    );
    let o = import_text(&d, "nest.js", &s, None);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("nest.js: line 3, column 3: flow \"default\" nests loops 25 deep")
            && e.contains("at most 4 deep"),
        "{e}"
    );
}

/// Only a function already on the call stack is a recursive call: a chain of sixteen helpers
/// was once taken for one and its request dropped. Chains are followed 1000 calls deep (a
/// bound on the stack the walk takes), and a deeper call is a TODO that says so.
#[test]
fn chains_of_helpers_are_followed_and_recursion_is_a_cycle() {
    let d = tmpdir("import-k6", "chains");
    let chain = |n: usize| {
        let mut s = String::from("import http from 'k6/http';\n");
        for i in 0..n {
            s += &format!("function f{i}() {{ f{}(); }}\n", i + 1);
        }
        s + &format!("function f{n}() {{ http.get('http://x/'); }}\nexport default function () {{ f0(); }}\n")
    };
    for n in [16, 999] {
        let o = import_text(&d, &format!("chain{n}.js"), &chain(n), None);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{n}: {}", stderr(&o));
        assert_eq!(steps(&out), ["- get: \"/\""], "{n}: {out}");
        assert!(!stderr(&o).contains("recursive"), "{n}: {}", stderr(&o));
    }
    let o = import_text(&d, "chain1000.js", &chain(1000), None);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{e}");
    assert!(steps(&stdout(&o)).is_empty());
    assert!(
        e.contains(
            "line 1001, column 19: TODO in flow \"default\": calls nested more than 1000 deep"
        ),
        "{e}"
    );
    let cycle = "import http from 'k6/http';\nfunction a() { http.get('http://x/a'); b(); }\n\
                 function b() { a(); }\nexport default function () { a(); }\n";
    let o = import_text(&d, "cycle.js", cycle, None);
    let e = stderr(&o);
    assert_eq!(steps(&stdout(&o)), ["- get: \"/a\""]);
    assert!(
        e.contains("line 3, column 16: TODO in flow \"default\": a recursive call"),
        "{e}"
    );
}

/// An object literal that writes a key twice keeps the last value at the first key's place
/// (ECMAScript object initialisers); k6 exports the options object from JavaScript and reads
/// its JSON (k6 `internal/js/bundle.go`: `json.MarshalIndent(v.Export(), ...)`), so two
/// scenarios named `a` are one, the second. It was refused as a duplicate YAML key.
#[test]
fn a_key_written_twice_keeps_the_last_value_as_javascript() {
    let d = tmpdir("import-k6", "dup-key");
    let s = "import http from 'k6/http';\nexport const options = { scenarios: {\n  \
             a: { executor: 'constant-vus', vus: 1, duration: '5s' },\n  \
             b: { executor: 'constant-vus', vus: 3, duration: '5s' },\n  \
             a: { executor: 'constant-vus', vus: 2, duration: '5s' } } };\n\
             export default function () { http.get('http://x/'); }\n";
    let o = import_text(&d, "dup.js", s, Some(&data("model.yaml")));
    let (out, e) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{e}");
    let a = out.find("\n  a:").expect("scenario a");
    let b = out.find("\n  b:").expect("scenario b");
    assert!(
        a < b && out[a..b].contains("vus: 2") && !out[a..b].contains("vus: 1"),
        "{out}"
    );
    assert_eq!(out.matches("\n  a:").count(), 1, "{out}");
    assert!(
        e.contains("dup.js: line 5, column 3: the key \"a\" is written again")
            && e.contains("before at line 3, column 3"),
        "{e}"
    );
}

/// Inputs are read up to 256 MiB (`config::MAX_INPUT_BYTES`): a device that never ends is
/// refused, not read until memory runs out, and so is an archive entry that expands past
/// it (a sparse file, whose tar is a few KiB).
#[test]
fn endless_inputs_are_refused() {
    let d = tmpdir("import-k6", "endless");
    let (o, took) = surge_capped(&["import", "k6", "/dev/zero"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("/dev/zero: larger than 256 MiB"), "{e}");
    assert!(took.as_secs() < 60, "took {took:?}");
    // GNU tar writes the sparse archive; skipped where it is missing.
    let src = d.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("metadata.json"),
        r#"{"filename": "file:///x/script.js", "options": {"vus": 1, "duration": "10s"}}"#,
    )
    .unwrap();
    let data_file = std::fs::File::create(src.join("data")).unwrap();
    data_file.set_len(64 << 30).unwrap();
    let tar = std::process::Command::new("tar")
        .args(["--sparse", "-cf", "../sparse.tar", "metadata.json", "data"])
        .current_dir(&src)
        .output();
    if !tar.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped the sparse archive: no GNU tar");
        return;
    }
    let (o, took) = surge_capped(&["import", "k6", "sparse.tar"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("sparse.tar: entry \"data\": larger than 256 MiB"),
        "{e}"
    );
    assert!(took.as_secs() < 60, "took {took:?}");
}

/// `group(name, fnRef)` (upstream `examples/pantheon.js`: `group("front page", doFrontPage)`)
/// dropped the named function's requests without a note; an inline callback was followed.
#[test]
fn group_with_a_function_reference_follows_it() {
    let dir = common::tmpdir("import-k6", "group-ref");
    let script = "import http from 'k6/http';\nimport { group, sleep } from 'k6';\n\
                  function front() { http.get('https://example.com/'); }\n\
                  const back = () => { http.post('https://example.com/orders'); };\n\
                  export default function () {\n  group('front page', front);\n  group('back', back);\n\
                  group('elsewhere', notHere);\n  sleep(1);\n}\n";
    let o = import_text(&dir, "group.js", script, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let y = stdout(&o);
    assert_eq!(
        steps(&y),
        vec!["- get: \"/\"", "- post: \"/orders\"", "- sleep: const(1s)"],
        "{y}"
    );
    let notes = stderr(&o);
    assert!(
        notes.contains("notHere"),
        "an unknown function is a TODO: {notes}"
    );
}

/// A script without a default export was blamed on `options`, which it may not even have.
#[test]
fn a_missing_default_export_is_blamed_on_the_file() {
    let dir = common::tmpdir("import-k6", "no-default");
    let o = import_text(
        &dir,
        "nodef.js",
        "import http from 'k6/http';\nexport function f() { http.get('http://x/'); }\n",
        None,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("no `export default function`"), "{e}");
    assert!(!e.contains("options"), "{e}");
}

/// Issue 15: `export { apiTest } from './api.js'` used as a scenario's `exec` was refused; k6
/// follows ES module re-exports. Named, renamed (`default as`), `export *`, chained and
/// imported-then-exported functions are read from their files, relative to the script.
#[test]
fn functions_re_exported_from_local_files_are_read() {
    let dir = common::tmpdir("import-k6", "reexport");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(
        dir.join("api.js"),
        "import http from 'k6/http';\nimport { sleep } from 'k6';\n\
         function helper() { http.get('https://x/api/helper'); }\n\
         export function apiTest() {\n  http.get('https://x/api/a');\n  helper();\n  sleep(1);\n}\n\
         export default function () { http.get('https://x/d'); }\n\
         export const notFn = { a: 1 };\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("more.js"),
        "import http from 'k6/http';\nexport { moreFn as deeper } from './lib/deep.js';\n\
         export function moreFn() { http.post('https://x/more'); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("lib/deep.js"),
        "import http from 'k6/http';\nexport function moreFn() { http.put('https://x/deep'); }\n",
    )
    .unwrap();
    let sc = |exec: &str| {
        format!("    {exec}: {{ executor: 'per-vu-iterations', vus: 1, iterations: 1, exec: '{exec}' }},\n")
    };
    let script = format!(
        "export {{ apiTest }} from './api.js';\nexport {{ default as other }} from './api.js';\n\
         export * from './more.js';\nimport {{ apiTest as viaImport }} from './api.js';\n\
         export {{ viaImport }};\nexport const options = {{\n  scenarios: {{\n{}{}{}{}{}  }},\n}};\n",
        sc("apiTest"),
        sc("other"),
        sc("moreFn"),
        sc("deeper"),
        sc("viaImport")
    );
    let o = import_text(&dir, "main.js", &script, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let y = stdout(&o);
    assert_eq!(
        steps(&y),
        vec![
            "- get: \"/api/a\"",
            "- get: \"/api/helper\"",
            "- sleep: const(1s)",
            "- get: \"/d\"",
            "- post: \"/more\"",
            "- put: \"/deep\"",
            "- get: \"/api/a\"",
            "- get: \"/api/helper\"",
            "- sleep: const(1s)",
        ],
        "{y}"
    );
    // The flow says which file its lines are in.
    assert!(y.contains("of api.js (re-exported"), "{y}");
    assert!(y.contains("of lib/deep.js (re-exported"), "{y}");

    // What cannot be read: a refusal at the re-export, naming what was expected.
    for (from, needles) in [
        (
            "export { f } from 'https://jslib.k6.io/x.js';",
            &["line 1, column 10, export f", "not a local file"][..],
        ),
        (
            "export { f } from './nope.js';",
            &["line 1", "nope.js", "file not found"][..],
        ),
        (
            "export { zz as f } from './api.js';",
            &["api.js exports no function \"zz\""][..],
        ),
        (
            "export { notFn as f } from './api.js';",
            &["api.js: line 10", "is an object", "not a function"][..],
        ),
        ("export { f } from './bad.js';", &["in a cycle"][..]),
    ] {
        let script = format!(
            "{from}\nexport const options = {{ scenarios: {{ a: {{ executor: 'per-vu-iterations', exec: 'f' }} }} }};\n"
        );
        let o = import_text(&dir, "bad.js", &script, None);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{from}: {e}");
        for n in needles {
            assert!(e.contains(n), "{from}: expected {n:?} in: {e}");
        }
    }
}

/// Issue 15: k6 wraps a script without `import`/`export` in a function (CommonJS), so a
/// top-level `return` is legal there; an ES module still cannot have one. Statements after an
/// unconditional top-level return never run.
#[test]
fn commonjs_scripts_may_return_at_the_top_level() {
    let dir = common::tmpdir("import-k6", "cjs-return");
    let o = import_text(
        &dir,
        "cjs.js",
        "var http = require(\"k6/http\");\nif (false) {\n  return;\n}\n\
         exports.default = function () { http.get(\"https://test.k6.io/\"); };\n",
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(steps(&stdout(&o)), vec!["- get: \"/\""]);
    // After `return;` only hoisted functions count: the options below it are never set.
    let o = import_text(
        &dir,
        "cjs2.js",
        "var http = require('k6/http');\nexports.default = main;\nreturn;\n\
         exports.options = { vus: 7, duration: '5s' };\n\
         function main() { http.get('https://x/m'); }\n",
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let y = stdout(&o);
    assert_eq!(steps(&y), vec!["- get: \"/m\""], "{y}");
    assert!(!y.contains("vus: 7"), "{y}");
    let o = import_text(
        &dir,
        "esm.js",
        "import http from 'k6/http';\nif (false) { return; }\n\
         export default function () { http.get('https://x/m'); }\n",
        None,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("esm.js: line 2") && e.contains("'return'"),
        "{e}"
    );
}

/// Issue 15: `exports.options = options` (a variable holding the object) was refused while
/// `export { opts as options }` was read. A top-level variable declared before is followed,
/// in every form, and a later change to it is still refused.
#[test]
fn options_through_a_variable_are_read_in_every_module_form() {
    let dir = common::tmpdir("import-k6", "options-var");
    let get = "http.get('https://x/m');";
    for (name, script) in [
        (
            "cjs.js",
            format!("var http = require('k6/http');\nvar options = {{ vus: 3, duration: '10s' }};\nexports.options = options;\nexports.default = function () {{ {get} }};\n"),
        ),
        (
            "cjs_module.js",
            format!("var http = require('k6/http');\nvar options = {{ vus: 3, duration: '10s' }};\nmodule.exports.options = options;\nmodule.exports.default = function () {{ {get} }};\n"),
        ),
        (
            "cjs_object.js",
            format!("var http = require('k6/http');\nvar options = {{ vus: 3, duration: '10s' }};\nfunction main() {{ {get} }}\nmodule.exports = {{ options, default: main }};\n"),
        ),
        (
            "esm_const.js",
            format!("import http from 'k6/http';\nconst opts = {{ vus: 3, duration: '10s' }};\nexport const options = opts;\nexport default function () {{ {get} }}\n"),
        ),
    ] {
        let o = import_text(&dir, name, &script, None);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let y = stdout(&o);
        assert!(y.contains("vus: 3") && y.contains("duration: 10s"), "{name}: {y}");
        assert_eq!(steps(&y), vec!["- get: \"/m\""], "{name}: {y}");
    }
    for (name, script, change) in [
        (
            "cjs_changed.js",
            format!("var http = require('k6/http');\nvar options = {{ vus: 3, duration: '10s' }};\nexports.options = options;\noptions.vus = 5;\nexports.default = function () {{ {get} }};\n"),
            "options.vus = 5",
        ),
        (
            "esm_changed.js",
            format!("import http from 'k6/http';\nconst opts = {{ vus: 3, duration: '10s' }};\nexport const options = opts;\nopts.vus = 9;\nexport default function () {{ {get} }}\n"),
            "opts.vus = 9",
        ),
    ] {
        let o = import_text(&dir, name, &script, None);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        assert!(e.contains("line 4, column 1") && e.contains(change), "{name}: {e}");
    }
}

/// Issue 15: `export default { ... }` (an object) was explained as "a value known only when
/// the script runs"; it is a static object, and k6 runs only exported functions.
#[test]
fn a_default_export_that_is_an_object_says_k6_needs_a_function() {
    let dir = common::tmpdir("import-k6", "default-object");
    let o = import_text(
        &dir,
        "obj.js",
        "import http from 'k6/http';\nexport const options = { vus: 1, iterations: 1 };\n\
         export default {\n  run() { http.get('https://x/'); },\n};\n",
        None,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    for n in [
        "obj.js: line 3, column 1, export default",
        "is an object",
        "not a function",
        "function 'default' not found in exports",
        "export default function",
    ] {
        assert!(e.contains(n), "expected {n:?} in: {e}");
    }
    assert!(!e.contains("known only when the script runs"), "{e}");
}
