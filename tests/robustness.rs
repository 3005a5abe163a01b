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
