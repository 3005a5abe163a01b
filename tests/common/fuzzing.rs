//! What tests/fuzz.rs and tests/fuzz_import.rs share: how many cases, their seeds, a replay,
//! the nodes a structure mutation can pick.

use serde_json::Value;
use std::time::{Duration, Instant};
use surge::config::{budget::Budget, Loaded};
use surge::sim::{self, RunOptions};

/// Cases per property (override with SURGE_FUZZ_CASES), and the first seed (SURGE_FUZZ_SEED).
pub fn cases(default: u64) -> (u64, u64) {
    let n = std::env::var("SURGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let first = std::env::var("SURGE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (n, first)
}

/// The arbtest seed of case `i`: (random part << 32) | bytes of entropy. The random part is
/// the case number mixed (splitmix64), so no case gets arbtest's all-zero stream.
pub fn seed_of(i: u64, size: u32) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((z | 1) << 32) | u64::from(size)
}

/// SURGE_FUZZ_REPLAY=0x...: the one seed to run, with its input and panic shown.
pub fn replay_seed() -> Option<u64> {
    std::env::var("SURGE_FUZZ_REPLAY")
        .ok()
        .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
}

/// JSON pointers of every node under `v` (the root excluded).
pub fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        _ => {}
    }
}

/// The run of a case that validates: `secs` simulated seconds (one for most, a minute where
/// autoscalers should act) under a 200k-event, 256 MiB budget, and a wall-clock bound.
pub fn run_short(mut l: Loaded, secs: u64) {
    l.scenario.duration = Some(surge::dist::Duration(secs * 1_000_000_000));
    l.budget = Budget {
        max_memory: 256 << 20,
        max_events: 200_000,
    };
    let t0 = Instant::now();
    let _ = sim::try_run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "a {secs}-second run under a 200k-event budget took {:?}",
        t0.elapsed()
    );
}

/// Remove the node at JSON pointer `ptr` (a key of an object, an item of an array).
pub fn remove(doc: &mut Value, ptr: &str) {
    let (parent, last) = ptr.rsplit_once('/').unwrap();
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&last);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < a.len() {
                    a.remove(i);
                }
            }
        }
        _ => {}
    }
}
