//! Property tests for issue 13: "if `surge validate` passes, `surge run` never panics, aborts or
//! loops at one instant". Thousands of generated inputs, deterministic (fixed arbtest seeds),
//! taking seconds:
//! - scenarios and models mutated from the repository's own (scenarios/*.yaml and the models
//!   they load): leaves set to edge values (0, -1, 2^31, 1e308, NaN, "0s", odd distributions),
//!   keys and list items removed or duplicated, Artillery phases and thresholds generated, and
//!   `--set` overrides applied on top; each is validated, and what validates is run for one
//!   simulated second under a small budget;
//! - distributions, durations, threshold expressions, ensure's filtrex expressions and Artillery
//!   phases on their own.
//!
//! A case passes when it is refused with an error or runs to its end; a panic fails the test
//! with the seed that reproduces it. Aborts (allocation failures) cannot be caught in-process:
//! the budget check keeps every run far below the memory of the machine. A longer campaign:
//! `SURGE_FUZZ_CASES=200000 cargo test --release --test fuzz` (see docs/robustness.md).

mod common;

use arbtest::arbitrary::{Result as AResult, Unstructured};
use common::fuzzing::{cases, pointers, remove, replay_seed, run_short, seed_of};
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;
use surge::config;

/// Run `prop` once per seed.
fn for_each_case(
    name: &str,
    default: u64,
    size: u32,
    mut prop: impl FnMut(&mut Unstructured<'_>) -> AResult<()>,
) {
    let (n, first) = cases(default);
    let t0 = Instant::now();
    for i in first..first + n {
        let seed = seed_of(i, size);
        let r = catch_unwind(AssertUnwindSafe(|| {
            arbtest::arbtest(&mut prop).seed(seed).run();
        }));
        assert!(r.is_ok(), "{name}: panicked with seed {seed:#x} (case {i})");
    }
    eprintln!("{name}: {n} cases in {:.1?}", t0.elapsed());
}

// ----------------------------------------------------------------------------- the corpus

struct Seed {
    name: String,
    scenario: Value,
    model: Value,
}

fn corpus() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(root.join("scenarios"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    for p in paths {
        let l = config::load(&p, &[]).unwrap_or_else(|e| panic!("seed {}: {e}", p.display()));
        out.push(Seed {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            scenario: serde_json::to_value(&l.scenario).unwrap(),
            model: serde_json::to_value(&l.model).unwrap(),
        });
    }
    assert!(out.len() >= 5, "the seed corpus is the repo's scenarios");
    out
}

// -------------------------------------------------------------------------- edge values

const NUMBERS: &[f64] = &[
    0.0,
    1.0,
    -1.0,
    0.5,
    2.5,
    3.0,
    1e-9,
    1e6,
    1e8,
    100_000_001.0,
    2_147_483_648.0,
    4_294_967_295.0,
    1e12,
    1e18,
    1e308,
    -1e308,
];

const STRINGS: &[&str] = &[
    "0s",
    "1ns",
    "1us",
    "1ms",
    "1s",
    "10m",
    "1000000d",
    "-1s",
    "",
    "x",
    "1e3",
    "const(0s)",
    "exp(mean=0s)",
    "exp(mean=1ns)",
    "uniform(2s,1s)",
    "uniform(0s,0s)",
    "normal(mean=1s,sd=10s)",
    "lognormal(p50=1ms,p99=1ms)",
    "lognormal(mean=1s,cv=0)",
    "lognormal(mean=1s,cv=1e9)",
    "empirical()",
    "empirical(1ms:0.5,2ms:0.5)",
];

fn edge_value(u: &mut Unstructured<'_>) -> AResult<Value> {
    Ok(match u.int_in_range(0..=9)? {
        0..=3 => json!(*u.choose(NUMBERS)?),
        4 => json!(u.int_in_range(0u64..=u64::MAX)?),
        5..=7 => json!(*u.choose(STRINGS)?),
        8 => u
            .choose(&[Value::Null, json!(true), json!(false), json!([]), json!({})])?
            .clone(),
        _ => json!(dist(u)?),
    })
}

fn duration(u: &mut Unstructured<'_>) -> AResult<String> {
    let n: f64 = *u.choose(&[0.0, 1.0, 0.5, 3.0, 1e3, 1e12, 1e20])?;
    let unit = *u.choose(&["ns", "us", "ms", "s", "m", "h", "d", ""])?;
    Ok(format!("{n}{unit}"))
}

fn dist(u: &mut Unstructured<'_>) -> AResult<String> {
    let a = duration(u)?;
    let b = duration(u)?;
    let x = *u.choose(NUMBERS)?;
    Ok(match u.int_in_range(0..=7)? {
        0 => format!("const({a})"),
        1 => format!("exp(mean={a})"),
        2 => format!("uniform({a},{b})"),
        3 => format!("normal(mean={a},sd={b})"),
        4 => format!("lognormal(mean={a},cv={x})"),
        5 => format!("lognormal(p50={a},p99={b})"),
        6 => format!("empirical({a}:{x},{b}:0.5)"),
        _ => format!("{}({a})", u.choose(&["pareto", "exp", "", "const"])?),
    })
}

// ---------------------------------------------------------------------------- mutations

fn artillery(u: &mut Unstructured<'_>) -> AResult<Value> {
    let mut phases = Vec::new();
    for _ in 0..u.int_in_range(1..=3)? {
        let mut p = serde_json::Map::new();
        let maybe = |p: &mut serde_json::Map<String, Value>,
                     u: &mut Unstructured<'_>,
                     k: &str,
                     v: Value|
         -> AResult<()> {
            if u.ratio(1, 2)? {
                p.insert(k.into(), v);
            }
            Ok(())
        };
        let rate = json!(*u.choose(&[0.0, 1.0, 2.5, 10.0, 1e6, 2e6, 1e9, -1.0])?);
        maybe(&mut p, u, "arrivalRate", rate)?;
        let to = json!(*u.choose(&[0.0, 3.0, 1e6, 1e300])?);
        maybe(&mut p, u, "rampTo", to)?;
        let d = match u.int_in_range(0..=4)? {
            0 => Value::Null,
            1 => json!(0),
            2 => json!(*u.choose(&[1, 2, 5, 3600])?),
            3 => json!(duration(u)?),
            _ => json!(0.5),
        };
        maybe(&mut p, u, "duration", d)?;
        let c = json!(*u.choose(&[0u64, 1, 10, 1_000_000_000_000])?);
        maybe(&mut p, u, "arrivalCount", c)?;
        let pause = json!(*u.choose(&["0s", "1s", "5"])?);
        if u.ratio(1, 6)? {
            p.insert("pause".into(), pause);
        }
        let mv = json!(*u.choose(&[0u32, 1, 100, 4_294_967_295])?);
        maybe(&mut p, u, "maxVusers", mv)?;
        phases.push(Value::Object(p));
    }
    Ok(json!({"executor": "artillery", "phases": phases}))
}

fn threshold(u: &mut Unstructured<'_>) -> AResult<(String, Value)> {
    let metric = *u.choose(&[
        "http_req_duration",
        "http_req_failed",
        "http_reqs",
        "iterations",
        "vus",
        "queue_wait",
        "nonsense",
        "",
    ])?;
    let tags = *u.choose(&[
        "",
        "{endpoint:home}",
        "{endpoint:nope}",
        "{cause:timeout}",
        "{cause:nope}",
        "{service:web}",
        "{a:b,a:c}",
        "{",
        "}{",
    ])?;
    let agg = *u.choose(&[
        "p(95)", "p(101)", "avg", "rate", "count", "med", "max", "value", "p()",
    ])?;
    let op = *u.choose(&["<", "<=", ">", "==", "!=", "=<", ""])?;
    let n = *u.choose(&["500", "0", "-1", "1e308", "NaN", "x"])?;
    Ok((format!("{metric}{tags}"), json!([format!("{agg}{op}{n}")])))
}

fn mutate(u: &mut Unstructured<'_>, s: &mut Value, m: &mut Value) -> AResult<()> {
    let in_model = u.ratio(1, 2)?;
    let doc = if in_model { &mut *m } else { &mut *s };
    let mut ptrs = Vec::new();
    pointers(doc, String::new(), &mut ptrs);
    if ptrs.is_empty() {
        return Ok(());
    }
    let p = u.choose(&ptrs)?.clone();
    match u.int_in_range(0..=9)? {
        0..=4 => {
            let v = edge_value(u)?;
            if let Some(slot) = doc.pointer_mut(&p) {
                *slot = v;
            }
        }
        5 => remove(doc, &p),
        6 => {
            if let Some(Value::Array(a)) = doc.pointer_mut(&p) {
                if let Some(x) = a.first().cloned() {
                    for _ in 0..u.int_in_range(1..=3)? {
                        a.push(x.clone());
                    }
                }
            }
        }
        7 => {
            let e = artillery(u)?;
            if let Some(Value::Object(sc)) = s.get_mut("scenarios") {
                if let Some(k) = sc.keys().next().cloned() {
                    sc.insert(k, e);
                }
            }
        }
        8 => {
            let (k, v) = threshold(u)?;
            if let Some(Value::Object(t)) = s.get_mut("thresholds") {
                t.insert(k, v);
            } else if let Value::Object(o) = s {
                o.insert("thresholds".into(), json!({ k: v }));
            }
        }
        _ => {
            // A NaN or an infinity, which only YAML can hold: marked here, written below.
            if let Some(slot) = doc.pointer_mut(&p) {
                if slot.is_number() {
                    *slot = json!(*u.choose(&["__NAN__", "__INF__"])?);
                }
            }
        }
    }
    Ok(())
}

fn yaml(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap()
        .replace("\"__NAN__\"", ".nan")
        .replace("\"__INF__\"", "-.inf")
}

/// A `--set` on a random leaf of either file, with an edge value as text.
fn set(u: &mut Unstructured<'_>, s: &Value, m: &Value) -> AResult<String> {
    let mut all = Vec::new();
    surge::config::overrides::leaves(s, "", &mut all);
    surge::config::overrides::leaves(m, "", &mut all);
    let path = if all.is_empty() || u.ratio(1, 10)? {
        "no.such.path".to_string()
    } else {
        u.choose(&all)?.0.clone()
    };
    let v = edge_value(u)?;
    let text = match v {
        Value::String(x) => x,
        other => other.to_string(),
    };
    Ok(format!("{path}={text}"))
}

#[test]
fn mutated_scenarios_and_models_never_panic() {
    let seeds = corpus();
    // SURGE_FUZZ_REPLAY=0x...: run that one seed, with the panic message and its mutant shown.
    let replay = replay_seed();
    let quiet = std::panic::take_hook();
    if replay.is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let mut validated = 0u64;
    let mut total = 0u64;
    let (n, first) = cases(1500);
    let (n, first) = if replay.is_some() { (1, 0) } else { (n, first) };
    let t0 = Instant::now();
    let mut failures = Vec::new();
    for i in first..first + n {
        let seed = replay.unwrap_or_else(|| seed_of(i, 4096));
        let r = catch_unwind(AssertUnwindSafe(|| {
            arbtest::arbtest(|u| {
                let base = &seeds[u.choose_index(seeds.len())?];
                let (mut s, mut m) = (base.scenario.clone(), base.model.clone());
                for _ in 0..u.int_in_range(1..=3)? {
                    mutate(u, &mut s, &mut m)?;
                }
                let sets: Vec<String> = if u.ratio(1, 4)? {
                    vec![set(u, &s, &m)?]
                } else {
                    Vec::new()
                };
                total += 1;
                if replay.is_some() {
                    eprintln!("{}: {sets:?}\n{}\n{}", base.name, yaml(&s), yaml(&m));
                }
                let loaded = config::from_strs(&yaml(&s), &yaml(&m)).and_then(|l| {
                    if sets.is_empty() {
                        Ok(l)
                    } else {
                        l.with_sets(&sets)
                    }
                });
                if let Ok(l) = loaded {
                    validated += 1;
                    run_short(l, 1);
                }
                Ok(())
            })
            .seed(seed)
            .run();
        }));
        if r.is_err() {
            failures.push(format!("{seed:#x}"));
        }
    }
    std::panic::set_hook(quiet);
    eprintln!(
        "{total} mutated configurations, {validated} validated and ran, in {:.1?}",
        t0.elapsed()
    );
    assert!(failures.is_empty(), "panics with seeds: {failures:?}");
    assert!(
        replay.is_some() || validated > total / 20,
        "too few mutants validate ({validated}/{total}): the runs are not exercised"
    );
}

#[test]
fn distributions_and_durations_never_panic() {
    use rand::SeedableRng;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let mut parsed = 0;
    for_each_case("dist", 4000, 256, |u| {
        let text = if u.ratio(1, 3)? {
            let bytes: Vec<u8> = u.arbitrary()?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            dist(u)?
        };
        if let Ok(d) = surge::dist::Dist::parse(&text) {
            parsed += 1;
            let mean = d.mean_ns();
            assert!(mean.is_finite() && mean >= 0.0, "{text}: mean {mean}");
            for _ in 0..8 {
                d.sample_ns(&mut rng);
            }
        }
        let _ = surge::dist::parse_duration(&duration(u)?);
        let _ = surge::dist::parse_duration(&text);
        Ok(())
    });
    assert!(
        parsed > 400,
        "only {parsed} distributions parsed: the sampling is not exercised"
    );
}

#[test]
fn threshold_expressions_never_panic() {
    for_each_case("thresholds", 4000, 128, |u| {
        let (key, v) = threshold(u)?;
        let expr = v[0].as_str().unwrap().to_string();
        let _ = surge::threshold::parse_selector(&key);
        let _ = surge::threshold::parse_expr(&expr);
        let raw: String = u.arbitrary()?;
        let _ = surge::threshold::parse_selector(&raw);
        let _ = surge::threshold::parse_expr(&raw);
        Ok(())
    });
}

/// ensure conditions: filtrex text built from its own tokens (and raw strings) parses or is
/// refused, and evaluates, without panicking.
#[test]
fn filtrex_expressions_never_panic() {
    const PIECES: [&str; 24] = [
        "vusers.created",
        "x",
        "1",
        "0.5",
        "(",
        ")",
        ",",
        "-",
        "+",
        "*",
        "/",
        "%",
        "^",
        "==",
        "<=",
        ">",
        "and ",
        "or ",
        "not ",
        "not(",
        " in ",
        " ? ",
        " : ",
        "max(",
    ];
    let mut parsed = 0;
    for_each_case("filtrex", 4000, 256, |u| {
        let mut text = String::new();
        for _ in 0..u.int_in_range(1..=24)? {
            text.push_str(u.choose(&PIECES)?);
        }
        let raw: String = u.arbitrary()?;
        for src in [text, raw] {
            if let Ok(e) = surge::filtrex::Expr::parse(&src) {
                parsed += 1;
                let v = e.eval(&|n| (n == "x").then_some(2.0));
                let _ = v.to_string();
            }
        }
        Ok(())
    });
    assert!(
        parsed > 200,
        "only {parsed} expressions parsed: evaluation is not exercised"
    );
}

#[test]
fn artillery_phases_never_panic_and_arrive_in_order() {
    use surge::workload::schedule::{artillery_phase, ArtilleryArrivals};
    for_each_case("artillery", 4000, 256, |u| {
        let mut phases = Vec::new();
        for _ in 0..u.int_in_range(1..=3)? {
            let opt_f = |u: &mut Unstructured<'_>| -> AResult<Option<f64>> {
                Ok(if u.ratio(1, 2)? {
                    Some(*u.choose(NUMBERS)?)
                } else {
                    None
                })
            };
            let opt_ns = |u: &mut Unstructured<'_>| -> AResult<Option<u64>> {
                Ok(if u.ratio(1, 2)? {
                    Some(*u.choose(&[
                        0,
                        1,
                        1_000_000,
                        1_000_000_000,
                        3_600_000_000_000,
                        u64::MAX,
                    ])?)
                } else {
                    None
                })
            };
            let d = opt_ns(u)?;
            let rate = opt_f(u)?;
            let to = opt_f(u)?;
            let count = if u.ratio(1, 3)? {
                Some(u.int_in_range(0..=1_000_000u64)?)
            } else {
                None
            };
            let pause = if u.ratio(1, 6)? { opt_ns(u)? } else { None };
            if let Ok(p) = artillery_phase(d, rate, to, count, pause, None) {
                phases.push(p);
            }
        }
        let mut last = 0;
        for (t, _) in ArtilleryArrivals::new(&phases).take(10_000) {
            assert!(t >= last, "arrivals out of order");
            last = t;
        }
        Ok(())
    });
}
