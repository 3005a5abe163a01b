//! Property tests for the importers and the other input readers: "bad input never panics,
//! aborts or hangs; it is refused with an error naming the file". tests/fuzz.rs covers
//! scenarios, models, distributions and thresholds; this file covers what users bring from
//! other tools:
//! - k6 scripts (`surge import k6`), `k6 inspect` JSON and `k6 archive` tars;
//! - Artillery scripts (`surge import artillery`, `surge run SCRIPT --model M`);
//! - HPA manifests (multi-document YAML, autoscaling/v1, v2beta1, v2beta2, v2) and the metric
//!   traces of `surge hpa replay` (replay CSV, Prometheus CSV, query_range JSON);
//! - AWS Auto Scaling group and scaling-policy JSON (through the model that names them);
//! - calibration measurements (`surge calibrate --measured`: CSV and k6 summaries).
//!
//! Each property takes the repository's corpus for its format (tests/data, scenarios, models,
//! and the fenced blocks of ../shared/seeds when present), mutates it (byte level: truncation,
//! lines deleted, duplicated or swapped, characters flipped, edge values spliced in — 0, -1,
//! 1e308, NaN, 2^31, 20-digit integers, "", huge repeat counts, deeply nested brackets, invalid
//! UTF-8 where the reader takes bytes — and structure-aware: the YAML/JSON parsed, leaves and keys
//! mutated), and calls the reader. A case passes when it returns Ok or Err within a few
//! seconds; what imports is validated and, when it validates, run for one simulated second
//! under a small budget. A panic fails the test with the seed that reproduces it:
//! `SURGE_FUZZ_REPLAY=0x... cargo test --test fuzz_import NAME -- --nocapture` prints that
//! case's input and its panic. A long campaign (docs/robustness.md):
//! `SURGE_FUZZ_CASES=20000 cargo test --release --test fuzz_import -- --nocapture`.

mod common;

use arbtest::arbitrary::{Result as AResult, Unstructured};
use common::fuzzing::{cases, pointers, remove, replay_seed, run_short, seed_of};
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use surge::config::{self, budget::Budget};

// ------------------------------------------------------------------------------ the harness

thread_local! {
    /// Panics of fuzz cases are expected to be caught; this thread's stay quiet.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// One panic hook for the whole binary (the tests run in parallel): quiet on fuzzing threads.
fn install_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// The case each property is running and since when: a watchdog ends the process, naming
/// the seed, when one runs past SURGE_FUZZ_HANG seconds (default 120): a hang cannot be caught.
fn running() -> &'static Mutex<HashMap<String, (u64, Instant)>> {
    static RUNNING: OnceLock<Mutex<HashMap<String, (u64, Instant)>>> = OnceLock::new();
    RUNNING.get_or_init(|| {
        let limit: u64 = std::env::var("SURGE_FUZZ_HANG")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(120);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let m = running().lock().unwrap_or_else(|e| e.into_inner());
            for (name, (seed, t0)) in m.iter() {
                if t0.elapsed() > Duration::from_secs(limit) {
                    eprintln!(
                        "{name}: seed {seed:#x} has run for {:?}: a hang \
                         (SURGE_FUZZ_REPLAY={seed:#x} to replay it)",
                        t0.elapsed()
                    );
                    std::process::exit(3);
                }
            }
        });
        Mutex::new(HashMap::new())
    })
}

/// A reader call may take this long (a one-second simulated run gets 20 s, as in tests/fuzz.rs).
const CASE_LIMIT: Duration = Duration::from_secs(5);

/// Run `prop` once per seed, on a thread with the 8 MiB stack of the binary's main thread.
/// `prop` gets the arbtest input and whether this is a replay (then it prints its input).
fn fuzz(
    name: &str,
    default: u64,
    size: u32,
    prop: impl Fn(&mut Unstructured<'_>, bool) -> AResult<()> + Sync,
) {
    install_hook();
    let replay = replay_seed();
    let (n, first) = match replay {
        Some(_) => (1, 0),
        None => cases(default),
    };
    let trace = std::env::var_os("SURGE_FUZZ_TRACE").is_some();
    let t0 = Instant::now();
    let failures = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name(name.into())
            .stack_size(8 << 20)
            .spawn_scoped(s, || {
                QUIET.with(|q| q.set(replay.is_none()));
                let mut failures = Vec::new();
                for i in first..first + n {
                    let seed = replay.unwrap_or_else(|| seed_of(i, size));
                    if trace {
                        eprintln!("{name}: case {i}, seed {seed:#x}");
                    }
                    running()
                        .lock()
                        .unwrap()
                        .insert(name.into(), (seed, Instant::now()));
                    let c0 = Instant::now();
                    let r = catch_unwind(AssertUnwindSafe(|| {
                        arbtest::arbtest(|u| prop(u, replay.is_some()))
                            .seed(seed)
                            .run();
                    }));
                    if r.is_err() {
                        failures.push(format!("{seed:#x} (panic)"));
                    } else if c0.elapsed() > CASE_LIMIT * 5 {
                        failures.push(format!("{seed:#x} (took {:?})", c0.elapsed()));
                    }
                }
                running().lock().unwrap().remove(name);
                failures
            })
            .unwrap()
            .join()
            .unwrap()
    });
    eprintln!("{name}: {n} cases in {:.1?}", t0.elapsed());
    assert!(
        failures.is_empty(),
        "{name}: failing seeds (replay with SURGE_FUZZ_REPLAY=SEED): {failures:?}"
    );
}

/// How far the cases got (read, validated, ran), printed after each property.
#[derive(Default)]
struct Reached(Vec<(&'static str, AtomicU64)>);

impl Reached {
    fn new(names: &[&'static str]) -> Self {
        Reached(names.iter().map(|n| (*n, AtomicU64::new(0))).collect())
    }
    fn hit(&self, name: &str) {
        if let Some((_, c)) = self.0.iter().find(|(n, _)| *n == name) {
            c.fetch_add(1, Relaxed);
        }
    }
    fn get(&self, name: &str) -> u64 {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| c.load(Relaxed))
    }
    fn print(&self, what: &str) {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(n, c)| format!("{} {n}", c.load(Relaxed)))
            .collect();
        eprintln!("{what}: {}", parts.join(", "));
    }
    /// Print how far the cases got, and fail unless some reached `stage` (a replay runs one).
    fn report(&self, what: &str, stage: &str, none: &str) {
        self.print(what);
        assert!(replay_seed().is_some() || self.get(stage) > 0, "{none}");
    }
}

/// Time one reader call: it must return within CASE_LIMIT.
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t0 = Instant::now();
    let r = f();
    assert!(
        t0.elapsed() < CASE_LIMIT,
        "{what} took {:?} (limit {CASE_LIMIT:?})",
        t0.elapsed()
    );
    r
}

// ------------------------------------------------------------------------------- the corpus

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// (name, bytes) of the files in `dir` (relative to the repository) ending in one of `exts`.
fn files(dir: &str, exts: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.to_string_lossy();
            exts.iter().any(|x| n.ends_with(x))
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            (
                format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// The fenced code blocks of the users' documents in ../shared/seeds (when that folder is
/// there) whose info string is one of `langs`.
fn seed_blocks(langs: &[&str]) -> Vec<(String, Vec<u8>)> {
    let dir = root().join("../shared/seeds");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned();
        let mut block: Option<(String, usize, String)> = None;
        for (i, line) in text.lines().enumerate() {
            match (&mut block, line.trim_start().strip_prefix("```")) {
                (None, Some(info)) => block = Some((info.trim().to_string(), i + 1, String::new())),
                (Some((lang, at, body)), Some(_)) => {
                    if langs.contains(&lang.as_str()) {
                        let name =
                            format!("seeds/{}:{at}", p.file_name().unwrap().to_string_lossy());
                        out.push((name, std::mem::take(body).into_bytes()));
                    }
                    block = None;
                }
                (Some((_, _, body)), None) => {
                    body.push_str(line);
                    body.push('\n');
                }
                (None, None) => {}
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------- edge values

/// Tokens spliced into text: numbers at the edges of every integer and float type, the
/// empty string, YAML and JSON specials, template and comment openers.
const TOKENS: &[&str] = &[
    "0",
    "-1",
    "1",
    "0.5",
    "-0",
    "1e308",
    "-1e308",
    "1e309",
    "1e-320",
    "NaN",
    ".nan",
    "-.inf",
    "Infinity",
    "2147483647",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "99999999999999999999",
    "0x7fffffff",
    "1_000",
    "\"\"",
    "''",
    "``",
    "null",
    "~",
    "true",
    "[]",
    "{}",
    "{{ x }}",
    "${x}",
    "&a",
    "*a",
    "<<: *a",
    "!!binary",
    "---",
    "...",
    "#",
    "//",
    "/*",
    "\\",
    "\\u0000",
    "%",
    "0s",
    "-1s",
    "1ns",
    "99999999999999999999h",
    "1e308s",
    "1000000d",
    "p(95)<1",
    "p(101)<1",
    "rate<",
    "9999999999999999999999999999999999999m",
    "é",
    "🏗️",
    "\u{feff}",
    "\u{2028}",
    "\t",
    "\r",
    "\0",
];

const JSON_NUMBERS: &[f64] = &[
    0.0,
    -1.0,
    1.0,
    0.5,
    1e-9,
    1e6,
    2_147_483_648.0,
    4_294_967_296.0,
    9.3e18,
    1e20,
    1e308,
    -1e308,
];

const JSON_STRINGS: &[&str] = &[
    "",
    "0",
    "-1",
    "x",
    "0s",
    "1s",
    "-1s",
    "1ns",
    "1m0s",
    "1h2m3.5s",
    "1e308",
    "1e308s",
    "NaN",
    "Infinity",
    "99999999999999999999",
    "99999999999999999999s",
    "9223372036854775807ns",
    "2147483648",
    "1000000d",
    "500ms",
    "{{ x }}",
    "p(95)<500",
    "p(99.9)<1",
    "avg<NaN",
    "rate>=1e308",
    "count>-1",
    "http_req_duration{a:b}",
    "constant-vus",
    "ramping-arrival-rate",
    "shared-iterations",
    "externally-controlled",
    "100m",
    "1Ki",
    "1e3",
    "-1Gi",
    "Utilization",
    "AverageValue",
    "Value",
    "Percent",
    "Pods",
    "ChangeInCapacity",
    "PercentChangeInCapacity",
    "ExactCapacity",
    "GreaterThanThreshold",
    "é",
    "\u{0}",
];

fn edge_json(u: &mut Unstructured<'_>) -> AResult<Value> {
    Ok(match u.int_in_range(0..=9)? {
        0..=2 => json!(*u.choose(JSON_NUMBERS)?),
        3 => json!(u.int_in_range(0u64..=u64::MAX)?),
        4 => json!(*u.choose(&[i64::MIN, -2_147_483_649, i64::MAX, u32::MAX as i64])?),
        5..=7 => json!(*u.choose(JSON_STRINGS)?),
        8 => u
            .choose(&[Value::Null, json!(true), json!(false), json!([]), json!({})])?
            .clone(),
        // NaN and infinities, which only YAML (and JavaScript) hold: written by `to_text`.
        _ => json!(*u.choose(&["__NAN__", "__INF__", "__NINF__"])?),
    })
}

// ----------------------------------------------------------------------- byte mutations

fn line_spans(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in b.iter().enumerate() {
        if *c == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < b.len() {
        out.push((start, b.len()));
    }
    out
}

/// Runs of digits (with '.', 'e', '-') and of identifier characters: the numbers and words a
/// mutation replaces.
fn token_spans(b: &[u8], numeric: bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if numeric && b[i].is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e') {
                i += 1;
            }
            out.push((start, i));
        } else if !numeric && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// One byte-level mutation of `b`. `bytes`: the reader takes bytes, so invalid UTF-8 is fair.
fn mutate_bytes(u: &mut Unstructured<'_>, b: &mut Vec<u8>, bytes: bool) -> AResult<()> {
    let len = b.len();
    let pos = |u: &mut Unstructured<'_>| -> AResult<usize> { u.int_in_range(0..=len) };
    match u.int_in_range(0..=13)? {
        0 => {
            let at = pos(u)?;
            b.truncate(at);
        }
        1..=3 => {
            let lines = line_spans(b);
            if lines.is_empty() {
                return Ok(());
            }
            let (s, e) = *u.choose(&lines)?;
            let line = b[s..e].to_vec();
            match u.int_in_range(0..=3)? {
                0 => {
                    b.drain(s..e);
                }
                1 => {
                    let times = *u.choose(&[1usize, 2, 10, 1000])?;
                    let mut ins = Vec::new();
                    for _ in 0..times {
                        ins.extend_from_slice(&line);
                    }
                    b.splice(e..e, ins);
                }
                2 => {
                    let (s2, e2) = *u.choose(&lines)?;
                    if e2 <= s {
                        let other = b[s2..e2].to_vec();
                        b.splice(s..e, other);
                        b.splice(s2..e2, line);
                    }
                }
                _ => {
                    // Indentation changed (YAML structure).
                    if u.ratio(1, 2)? {
                        b.splice(
                            s..s,
                            u.choose(&[&b" "[..], b"  ", b"\t", b"- "])?.iter().copied(),
                        );
                    } else if b.get(s) == Some(&b' ') {
                        b.remove(s);
                    }
                }
            }
        }
        4..=5 => {
            if len == 0 {
                return Ok(());
            }
            let at = u.int_in_range(0..=len - 1)?;
            let c = *u.choose(b"{}[]()\"':,-#\n &*!|>%`$\\/0.;=")?;
            b[at] = c;
        }
        6..=8 => {
            let numeric = u.ratio(2, 3)?;
            let spans = token_spans(b, numeric);
            if spans.is_empty() {
                return Ok(());
            }
            let (s, e) = *u.choose(&spans)?;
            let t = *u.choose(TOKENS)?;
            b.splice(s..e, t.bytes());
        }
        9 => {
            let at = pos(u)?;
            let t = *u.choose(TOKENS)?;
            b.splice(at..at, t.bytes());
        }
        10 => {
            // Deep nesting, closed or not.
            let at = pos(u)?;
            let depth = *u.choose(&[64usize, 200, 1000, 10_000, 100_000])?;
            let (open, close) = *u.choose(&[
                ("[", "]"),
                ("{", "}"),
                ("(", ")"),
                ("- ", ""),
                ("[{a: ", "}]"),
            ])?;
            let mut ins = open.repeat(depth);
            if u.ratio(1, 2)? {
                ins.push_str(&close.repeat(depth));
            }
            b.splice(at..at, ins.into_bytes());
        }
        11 => {
            // A long run of one character or token (huge scalars, repeat counts).
            let at = pos(u)?;
            let t = *u.choose(&["9", "a", " ", "\n", "0.", "&a ", "*a ", "- "])?;
            let n = *u.choose(&[100usize, 10_000, 200_000])?;
            b.splice(at..at, t.repeat(n).into_bytes());
        }
        12 => {
            let at = pos(u)?;
            if bytes {
                let bad = *u.choose(&[
                    &b"\xff"[..],
                    b"\xc3",
                    b"\xed\xa0\x80",
                    b"\xf4\x90\x80\x80",
                    b"\x80",
                ])?;
                b.splice(at..at, bad.iter().copied());
            } else {
                // Text readers get a multi-byte character split by nothing worse.
                let c = *u.choose(&["é", "日本", "🏗️", "\u{feff}", "\u{85}", "\u{2029}"])?;
                b.splice(at..at, c.bytes());
            }
        }
        _ => {
            // Two parts of the input spliced together.
            if len == 0 {
                return Ok(());
            }
            let a = u.int_in_range(0..=len - 1)?;
            let e = u.int_in_range(a..=len)?;
            let chunk = b[a..e].to_vec();
            let at = pos(u)?;
            b.splice(at..at, chunk);
        }
    }
    Ok(())
}

/// For the readers of text: invalid UTF-8 is replaced as `config::read_text` refuses it.
fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ------------------------------------------------------------------ structure mutations

fn split_ptr(ptr: &str) -> (&str, String) {
    let (parent, last) = ptr.rsplit_once('/').unwrap();
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

/// One structure-aware mutation of a document: a leaf set to an edge value, a key or item
/// removed, renamed or duplicated, a value wrapped in a list or nested deeply.
fn mutate_value(u: &mut Unstructured<'_>, doc: &mut Value) -> AResult<()> {
    let mut ptrs = Vec::new();
    pointers(doc, String::new(), &mut ptrs);
    if ptrs.is_empty() {
        *doc = edge_json(u)?;
        return Ok(());
    }
    let p = u.choose(&ptrs)?.clone();
    let (parent, last) = split_ptr(&p);
    let parent = parent.to_string();
    match u.int_in_range(0..=11)? {
        0..=4 => {
            let v = edge_json(u)?;
            if let Some(slot) = doc.pointer_mut(&p) {
                *slot = v;
            }
        }
        5 => remove(doc, &p),
        6 => {
            // Rename a key (a typo, a known key of a sibling, an empty key).
            if let Some(Value::Object(m)) = doc.pointer_mut(&parent) {
                if let Some(v) = m.remove(&last) {
                    let k = match u.int_in_range(0..=3)? {
                        0 => String::new(),
                        1 => format!("{last}x"),
                        2 => last.to_uppercase(),
                        _ => m.keys().next().cloned().unwrap_or_default(),
                    };
                    m.insert(k, v);
                }
            }
        }
        7 => {
            if let Some(slot) = doc.pointer_mut(&p) {
                match slot {
                    Value::Array(a) => {
                        if let Some(x) = a.first().cloned() {
                            let n = *u.choose(&[1usize, 3, 100, 3000])?;
                            for _ in 0..n {
                                a.push(x.clone());
                            }
                        }
                    }
                    other => {
                        let x = other.take();
                        *other = if u.ratio(1, 2)? {
                            json!([x])
                        } else {
                            json!({ "x": x })
                        };
                    }
                }
            }
        }
        8 => {
            // Nested lists or mappings, deeper than any reader should follow.
            let depth = *u.choose(&[10usize, 100, 600])?;
            let mut v = edge_json(u)?;
            let obj = u.ratio(1, 2)?;
            for _ in 0..depth {
                v = if obj { json!({ "a": v }) } else { json!([v]) };
            }
            if let Some(slot) = doc.pointer_mut(&p) {
                *slot = v;
            }
        }
        9 => {
            // A copy of another node here (a scenario where a stage was, a mapping for a list).
            let src = u.choose(&ptrs)?.clone();
            if let Some(v) = doc.pointer(&src).cloned() {
                if let Some(slot) = doc.pointer_mut(&p) {
                    *slot = v;
                }
            }
        }
        10 => {
            // A new key on a mapping.
            if let Some(Value::Object(m)) = doc.pointer_mut(&p) {
                let k = *u.choose(&[
                    "x",
                    "",
                    "scenarios",
                    "stages",
                    "executor",
                    "duration",
                    "target",
                    "rate",
                    "metrics",
                    "behavior",
                    "policies",
                    "apiVersion",
                    "kind",
                    "loop",
                    "count",
                    "think",
                    "get",
                    "url",
                    "phases",
                    "arrivalRate",
                    "rampTo",
                ])?;
                let v = edge_json(u)?;
                m.insert(k.into(), v);
            }
        }
        _ => {
            // A string leaf with its text extended or cut.
            if let Some(Value::String(s)) = doc.pointer_mut(&p) {
                match u.int_in_range(0..=2)? {
                    0 => s.push_str(u.choose(TOKENS)?),
                    1 => {
                        let cut = u.int_in_range(0..=s.len())?;
                        let cut = (0..=cut)
                            .rev()
                            .find(|i| s.is_char_boundary(*i))
                            .unwrap_or(0);
                        s.truncate(cut);
                    }
                    _ => *s = s.repeat(*u.choose(&[2usize, 100])?),
                }
            }
        }
    }
    Ok(())
}

/// A document as JSON text (YAML reads it), with the NaN and infinity markers written as
/// YAML (`js`: as JavaScript).
fn to_text(v: &Value, js: bool) -> String {
    let (nan, inf, ninf) = if js {
        ("NaN", "Infinity", "-Infinity")
    } else {
        (".nan", ".inf", "-.inf")
    };
    serde_json::to_string(v)
        .unwrap()
        .replace("\"__NAN__\"", nan)
        .replace("\"__INF__\"", inf)
        .replace("\"__NINF__\"", ninf)
}

/// Parse a YAML (or JSON) text for structure-aware mutation; `None` when it is not YAML.
fn yaml_value(b: &[u8]) -> Option<Value> {
    serde_saphyr::from_str::<Value>(std::str::from_utf8(b).ok()?).ok()
}

/// Mutate a (possibly multi-document) YAML corpus file: structure-aware on one document
/// when it parses, else (and sometimes anyway) byte-level.
fn mutate_yaml(u: &mut Unstructured<'_>, b: &[u8], bytes: bool) -> AResult<Vec<u8>> {
    let text = lossy(b);
    let mut docs: Vec<String> = text.split("\n---").map(str::to_string).collect();
    let mut out: Vec<u8>;
    if u.ratio(1, 2)? {
        let i = u.choose_index(docs.len())?;
        if let Some(mut v) = yaml_value(docs[i].as_bytes()) {
            for _ in 0..u.int_in_range(1..=3)? {
                mutate_value(u, &mut v)?;
            }
            docs[i] = format!("\n{}\n", to_text(&v, false));
        }
        out = docs.join("\n---").into_bytes();
        if u.ratio(1, 4)? {
            mutate_bytes(u, &mut out, bytes)?;
        }
    } else {
        out = b.to_vec();
        for _ in 0..u.int_in_range(1..=4)? {
            mutate_bytes(u, &mut out, bytes)?;
        }
    }
    Ok(out)
}

fn show(name: &str, b: &[u8]) {
    eprintln!("--- {name} ({} bytes):\n{}\n---", b.len(), lossy(b));
}

// --------------------------------------------------------------------------------------- k6

/// k6 option objects, for structure-aware mutation: every executor, stages, thresholds.
const K6_OPTIONS: &[&str] = &[
    r#"{"vus": 10, "duration": "30s", "thresholds": {"http_req_duration": ["p(95)<500"]}}"#,
    r#"{"stages": [{"duration": "30s", "target": 20}, {"duration": "1m30s", "target": 10},
        {"duration": "20s", "target": 0}],
        "thresholds": {"http_req_failed": ["rate<0.01"], "http_req_duration": ["p(95)<200", "avg<100"],
                       "checks": ["rate>0.9"], "iterations": ["count>10"]}}"#,
    r#"{"iterations": 100, "vus": 5, "maxDuration": "1m"}"#,
    r#"{"scenarios": {
        "a": {"executor": "constant-arrival-rate", "rate": 30, "timeUnit": "1s", "duration": "1m",
              "preAllocatedVUs": 10, "maxVUs": 50},
        "b": {"executor": "ramping-arrival-rate", "startRate": 1, "timeUnit": "1s",
              "preAllocatedVUs": 5, "maxVUs": 20, "stages": [{"target": 10, "duration": "30s"},
              {"target": 0, "duration": "10s"}], "startTime": "10s", "exec": "default"},
        "c": {"executor": "per-vu-iterations", "vus": 2, "iterations": 3, "maxDuration": "1m"},
        "d": {"executor": "shared-iterations", "vus": 2, "iterations": 10},
        "e": {"executor": "ramping-vus", "startVUs": 0, "stages": [{"duration": "10s", "target": 5}],
              "gracefulRampDown": "0s"},
        "f": {"executor": "constant-vus", "vus": 3, "duration": "20s", "gracefulStop": "5s",
              "tags": {"t": "x"}, "env": {"A": "1"}},
        "g": {"executor": "externally-controlled", "vus": 1, "maxVUs": 5, "duration": "1m"}},
       "thresholds": {"http_req_duration{endpoint:home}": [{"threshold": "p(99)<1500",
              "abortOnFail": true, "delayAbortEval": "10s"}], "http_reqs": ["rate>1"],
              "http_req_duration{scenario:a}": ["med<300"]}}"#,
];

/// A k6 script around an options object: requests, sleeps, groups, loops and checks.
fn k6_script(options: &str) -> String {
    format!(
        "import http from 'k6/http';\nimport {{ sleep, check, group }} from 'k6';\n\
         import {{ Trend }} from 'k6/metrics';\nconst t = new Trend('waiting');\n\
         export const options = {options};\n\
         export default function () {{\n  group('g', function () {{\n    \
         const r = http.get('https://x.test/a?q=1');\n    check(r, {{ ok: (r) => r.status === 200 }});\n  }});\n  \
         for (let i = 0; i < 3; i++) {{\n    http.post('https://x.test/b/' + i, JSON.stringify({{a: 1}}));\n  }}\n  \
         http.batch([['GET', 'https://x.test/c'], ['PUT', 'https://x.test/d']]);\n  \
         sleep(Math.random() * 2 + 1);\n}}\nexport function other() {{ http.del('https://x.test/e'); sleep(0.5); }}\n"
    )
}

fn k6_corpus() -> Vec<(String, Vec<u8>)> {
    let mut c = files("tests/data/k6", &[".js"]);
    c.extend(files("scenarios/imported", &[".js"]));
    c.extend(seed_blocks(&["javascript", "js"]));
    for (i, o) in K6_OPTIONS.iter().enumerate() {
        c.push((format!("options{i}.js"), k6_script(o).into_bytes()));
    }
    c
}

/// What `surge import k6` reads, and what the CLI does with it: the scenario checked against
/// the model when one is given, then (in the test) loaded as written next to it and run.
fn k6_case(dir: &Path, file: &str, bytes: &[u8], with_model: bool, r: &Reached) {
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    let model = root().join("tests/data/k6/model.yaml");
    let target = surge::import::Target {
        model: with_model.then(|| model.clone()),
        out: Some(dir.join("imported.yaml")),
    };
    let imp = timed("import k6", || surge::import::k6::import(&path, &target));
    if let Ok(imp) = imp {
        r.hit("imported");
        let yaml = if with_model {
            imp.yaml
        } else {
            // The model the scenario runs on, as a user would fill it in.
            imp.yaml.replacen(
                "model: model.yaml",
                &format!(
                    "model: {}",
                    serde_json::to_string(&model.to_string_lossy()).unwrap()
                ),
                1,
            )
        };
        let l = timed("load the imported k6 scenario", || {
            config::load_text(&dir.join("imported.yaml"), &yaml, &[], Budget::default())
        });
        if let Ok(l) = l {
            r.hit("ran");
            run_short(l, 1);
        }
    }
}

#[test]
fn k6_scripts_never_panic() {
    let corpus = k6_corpus();
    assert!(
        corpus.len() >= 8,
        "the k6 corpus: tests/data/k6 and scenarios/imported"
    );
    let dir = tempfile::tempdir().unwrap();
    let r = Reached::new(&["imported", "ran"]);
    fuzz("k6 scripts", 400, 1024, |u, replay| {
        let (name, base) = u.choose(&corpus)?;
        let mut b = base.clone();
        if name.starts_with("options") && u.ratio(1, 2)? {
            // Structure-aware: the options object mutated, written back as a script.
            let i = u.choose_index(K6_OPTIONS.len())?;
            let mut v: Value = serde_json::from_str(K6_OPTIONS[i]).unwrap();
            for _ in 0..u.int_in_range(1..=3)? {
                mutate_value(u, &mut v)?;
            }
            b = k6_script(&to_text(&v, true)).into_bytes();
        } else {
            for _ in 0..u.int_in_range(1..=4)? {
                mutate_bytes(u, &mut b, true)?;
            }
        }
        let file = *u.choose(&["script.js", "script.ts", "script"])?;
        let with_model = u.ratio(1, 2)?;
        if replay {
            show(&format!("{name} as {file}, model: {with_model}"), &b);
        }
        k6_case(dir.path(), file, &b, with_model, &r);
        Ok(())
    });
    r.report("k6", "ran", "no imported k6 scenario ran");
}

/// A `k6 archive` tar holding `metadata.json` and the script as `data`.
fn k6_tar(meta: &[u8], data: Option<&[u8]>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut entries = vec![("metadata.json", meta)];
    if let Some(d) = data {
        entries.push(("data", d));
    }
    for (name, body) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, body).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn k6_inspect_json_and_archives_never_panic() {
    let scripts = k6_corpus();
    let dir = tempfile::tempdir().unwrap();
    let r = Reached::new(&["imported", "ran"]);
    fuzz("k6 inspect and archives", 300, 1024, |u, replay| {
        let i = u.choose_index(K6_OPTIONS.len())?;
        let mut v: Value = serde_json::from_str(K6_OPTIONS[i]).unwrap();
        if u.ratio(1, 3)? {
            // `k6 inspect --execution-requirements`.
            v["totalDuration"] = json!("1m30s");
            v["maxVUs"] = json!(5);
        }
        for _ in 0..u.int_in_range(0..=3)? {
            mutate_value(u, &mut v)?;
        }
        let archive = u.ratio(1, 2)?;
        let (file, mut b) = if archive {
            let meta = to_text(
                &json!({"type": "js", "filename": *u.choose(&["file:///home/u/test.js", "", "/", "a/../../b.js"])?,
                        "options": v}),
                true,
            );
            let data = if u.ratio(3, 4)? {
                let (_, s) = u.choose(&scripts)?;
                let mut s = s.clone();
                if u.ratio(1, 2)? {
                    mutate_bytes(u, &mut s, true)?;
                }
                Some(s)
            } else {
                None
            };
            ("test.tar", k6_tar(meta.as_bytes(), data.as_deref()))
        } else {
            ("inspect.json", to_text(&v, true).into_bytes())
        };
        if u.ratio(1, 3)? {
            // The container itself damaged (a tar's headers, the JSON text).
            mutate_bytes(u, &mut b, true)?;
        }
        let with_model = u.ratio(1, 3)?;
        if replay {
            show(file, &b);
        }
        k6_case(dir.path(), file, &b, with_model, &r);
        Ok(())
    });
    r.report("k6", "ran", "no imported k6 scenario ran");
}

// -------------------------------------------------------------------------------- Artillery

#[test]
fn artillery_scripts_never_panic() {
    let mut corpus = files("tests/data/artillery", &[".yml"]);
    corpus.extend(files("scenarios/imported", &[".yml"]));
    corpus.extend(seed_blocks(&["yaml", "yml"]).into_iter().filter(|(_, b)| {
        yaml_value(b)
            .as_ref()
            .is_some_and(surge::import::artillery::looks_like)
    }));
    assert!(
        corpus.len() >= 5,
        "the Artillery corpus: tests/data/artillery"
    );
    let model = root().join("tests/data/artillery/model.yaml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.yml");
    let r = Reached::new(&["imported", "ran"]);
    fuzz("artillery scripts", 600, 1024, |u, replay| {
        let (name, base) = u.choose(&corpus)?;
        let b = mutate_yaml(u, base, false)?;
        if replay {
            show(name, &b);
        }
        let text = lossy(&b);
        if let Some(v) = yaml_value(&b) {
            let _ = surge::import::artillery::looks_like(&v);
        }
        // `surge import artillery` (no model), then `surge run SCRIPT --model M`.
        let imp = timed("import artillery", || {
            surge::import::artillery::import(&path, &text, "MODEL.yaml")
        });
        if let Ok(imp) = imp {
            r.hit("imported");
            let _ = imp.to_yaml(&path);
            let loaded = timed("load artillery", || {
                surge::import::artillery::load(&path, &text, &model, &[], Budget::default())
            });
            if let Ok((l, _)) = loaded {
                r.hit("ran");
                run_short(l, 1);
            }
        }
        Ok(())
    });
    r.report("artillery", "ran", "no imported Artillery script ran");
}

// ------------------------------------------------------------------------------------- HPA

fn hpa_corpus() -> Vec<(String, Vec<u8>)> {
    let mut c = files("tests/data/hpa", &[".yaml", ".json"]);
    c.extend(files("models/hpa", &[".yaml"]));
    c.extend(
        seed_blocks(&["yaml", "yml"])
            .into_iter()
            .filter(|(_, b)| lossy(b).contains("HorizontalPodAutoscaler")),
    );
    c
}

/// A copy of models/ in `dir` (the model files and the autoscaler files they name), so that
/// one autoscaler file can be replaced by a mutant and the model loaded and run with it.
fn models_copy(dir: &Path) -> PathBuf {
    let m = dir.join("models");
    for sub in ["", "hpa", "aws"] {
        std::fs::create_dir_all(m.join(sub)).unwrap();
        for (name, b) in files(
            format!("models/{sub}").trim_end_matches('/'),
            &[".yaml", ".json"],
        ) {
            let file = Path::new(&name).file_name().unwrap().to_owned();
            std::fs::write(m.join(sub).join(file), b).unwrap();
        }
    }
    m
}

#[test]
fn hpa_manifests_never_panic() {
    let corpus = hpa_corpus();
    assert!(
        corpus.len() >= 10,
        "the HPA corpus: tests/data/hpa and models/hpa"
    );
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    let scenario = dir.path().join("scenario.yaml");
    // scenarios/shop-spike.yaml runs models/shop-hpa.yaml, whose web service's autoscaler is
    // models/hpa/web-hpa.yaml: the mutant goes there.
    let sc_text = std::fs::read_to_string(root().join("scenarios/shop-spike.yaml"))
        .unwrap()
        .replace("../models/", "models/");
    std::fs::write(&scenario, &sc_text).unwrap();
    let original = std::fs::read(models.join("hpa/web-hpa.yaml")).unwrap();
    let r = Reached::new(&["read", "ran"]);
    fuzz("hpa manifests", 500, 1024, |u, replay| {
        let (name, base) = u.choose(&corpus)?;
        let b = mutate_yaml(u, base, true)?;
        if replay {
            show(name, &b);
        }
        let path = models.join("hpa/web-hpa.yaml");
        let text = lossy(&b);
        // `surge validate` on a manifest; a model's `autoscaler:` file; `surge hpa replay --hpa`.
        if let Ok((hpas, _)) = timed("hpa load_all", || {
            surge::autoscale::hpa_import::load_all(&path, &text)
        }) {
            r.hit("read");
            for h in &hpas {
                let _ = surge::autoscale::hpa_import::describe(h);
            }
        }
        let _ = timed("hpa load_for_service", || {
            surge::autoscale::hpa_import::load_for_service(&path, &text, "web")
        });
        std::fs::write(&path, &b).unwrap();
        let _ = timed("hpa load_hpa", || surge::autoscale::replay::load_hpa(&path));
        if u.ratio(1, 3)? {
            let l = timed("load the model with the HPA", || {
                config::load_with(&scenario, &[], Budget::default())
            });
            if let Ok(l) = l {
                r.hit("ran");
                run_short(l, 60);
            }
        }
        std::fs::write(&path, &original).unwrap();
        Ok(())
    });
    r.report("hpa", "ran", "no model with a mutated HPA ran");
}

/// Metric traces `surge hpa replay --metrics` reads: the replay CSV, a Prometheus/Grafana CSV
/// with epoch times, and a query_range JSON result.
/// `keys`: the metric columns the HPAs read (their labels, `/` as `_`).
fn trace_corpus(keys: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut replay = format!("t_s,ready_pods,replicas,{}\n", keys.join(","));
    for k in 0..=20 {
        let t = f64::from(k) * 15.0;
        let v = if t < 120.0 { 40.0 } else { 5.0 };
        let vals = vec![format!("{v}"); keys.len()].join(",");
        replay.push_str(&format!("{t},3,3,{vals}\n"));
    }
    // The same as a simulator run writes it: `<service>_hpa_<key>` columns.
    let svc = replay
        .replacen("ready_pods,replicas,", "web_hpa_pods,web_replicas,", 1)
        .replace(",cpu", ",web_hpa_cpu")
        .replace(",pods_", ",web_hpa_pods_");
    let mut prom = String::from("\"Time\",\"pods_http_rps\",\"ready_pods\"\n");
    for k in 0..=20 {
        prom.push_str(&format!(
            "{},{},{}\n",
            1_700_000_000_000u64 + k * 15_000,
            30 + k,
            3
        ));
    }
    let query = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"http_rps","pod":"web-1"},"values":[[1700000000,"30"],[1700000015,"45.5"],[1700000030,"NaN"]]},
        {"metric":{"__name__":"http_rps","pod":"web-2"},"values":[[1700000000,"10"],[1700000015,"12"]]},
        {"metric":{"column":"cpu_utilization"},"values":[[1700000000,"0.5"],[1700000030,"0.9"]]},
        {"metric":{"__name__":"kube/replicas"},"values":[[1700000000,"2"],[1700000015,"3"],[1700000030,"3"]]}]}}"#;
    vec![
        ("replay.csv".into(), replay.into_bytes()),
        ("service.csv".into(), svc.into_bytes()),
        ("prometheus.csv".into(), prom.into_bytes()),
        ("query_range.json".into(), query.as_bytes().to_vec()),
    ]
}

#[test]
fn hpa_replay_traces_never_panic() {
    use surge::autoscale::{prometheus, replay};
    let dir = tempfile::tempdir().unwrap();
    // The HPAs to replay: the corpus's that load as `--hpa` reads them.
    let hpas: Vec<_> = hpa_corpus()
        .into_iter()
        .filter_map(|(name, b)| {
            let p = dir.path().join(Path::new(&name).file_name().unwrap());
            std::fs::write(&p, b).unwrap();
            replay::load_hpa(&p).ok()
        })
        .collect();
    assert!(hpas.len() >= 3, "HPAs to replay");
    let mut keys: Vec<String> = Vec::new();
    for h in &hpas {
        let ctl = surge::autoscale::hpa::HpaController::new(&h.spec, 0.0, Default::default());
        for l in ctl.metric_labels() {
            let k = l.replace('/', "_");
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let traces = trace_corpus(&keys);
    let r = Reached::new(&["read", "replayed"]);
    fuzz("hpa replay traces", 500, 1024, |u, show_it| {
        let (name, base) = u.choose(&traces)?;
        let mut b = base.clone();
        if name.ends_with(".json") && u.ratio(1, 2)? {
            let mut v: Value = serde_json::from_slice(&b).unwrap();
            for _ in 0..u.int_in_range(1..=3)? {
                mutate_value(u, &mut v)?;
            }
            b = to_text(&v, false).into_bytes();
        } else {
            for _ in 0..u.int_in_range(1..=4)? {
                mutate_bytes(u, &mut b, false)?;
            }
        }
        let mut h = u.choose(&hpas)?.clone();
        if u.ratio(1, 4)? {
            // An HPA's numbers at their edges too (what `--hpa` validates).
            let mut v = serde_json::to_value(&h).unwrap();
            mutate_value(u, &mut v)?;
            if let Ok(h2) =
                serde_json::from_value::<surge::autoscale::hpa_config::HorizontalPodAutoscaler>(v)
            {
                if h2.validate().is_ok() {
                    h = h2;
                }
            }
        }
        let secs = |u: &mut Unstructured<'_>| -> AResult<f64> {
            Ok(*u.choose(&[0.0, 0.001, 1.0, 15.0, 30.0, 1e6, 1e300])?)
        };
        let opts = replay::ReplayOptions {
            sync_s: *u.choose(&[15.0, 1.0, 0.001, 1e-9, 1e9])?,
            pod_startup_s: secs(u)?,
            metrics_delay_s: secs(u)?,
            initial: if u.ratio(1, 2)? {
                Some(*u.choose(&[0, 1, 3, 150_000, 150_001, u32::MAX])?)
            } else {
                None
            },
            service: if u.ratio(1, 3)? {
                Some((*u.choose(&["web", "", "nope"])?).to_string())
            } else {
                None
            },
        };
        if show_it {
            show(name, &b);
            eprintln!("{opts:?}\n{}", serde_json::to_string(&h).unwrap());
        }
        let path = dir.path().join(name);
        let text = lossy(&b);
        if let Ok(t) = timed("load a trace", || prometheus::load_trace(&path, &text)) {
            r.hit("read");
            if timed("replay", || replay::replay(&h, "hpa", &t, &opts)).is_ok() {
                r.hit("replayed");
            }
            let _ = replay::recorded_replicas(&t, opts.service.as_deref());
        }
        Ok(())
    });
    r.report("replay", "replayed", "no trace replayed");
}

// --------------------------------------------------------------------------------- AWS ASG

#[test]
fn aws_scaling_policies_never_panic() {
    use surge::autoscale::asg_config::{AsgGroupConfig, ScalingPolicies};
    let corpus = files("models/aws", &[".json"]);
    assert!(corpus.len() >= 4, "the AWS corpus: models/aws");
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path());
    // scenarios/shop-spike-aws.yaml runs models/shop-aws.yaml, whose web service's group and
    // policies are models/aws/shop-web-{asg,policies}.json: the mutant replaces one of them.
    let scenario = dir.path().join("scenario.yaml");
    let sc_text = std::fs::read_to_string(root().join("scenarios/shop-spike-aws.yaml"))
        .unwrap()
        .replace("../models/", "models/");
    std::fs::write(&scenario, &sc_text).unwrap();
    let r = Reached::new(&["ran"]);
    fuzz("aws scaling policies", 500, 1024, |u, replay| {
        let (name, base) = u.choose(&corpus)?;
        let mut b = base.clone();
        if u.ratio(2, 3)? {
            let mut v: Value = serde_json::from_slice(&b).unwrap();
            for _ in 0..u.int_in_range(1..=3)? {
                mutate_value(u, &mut v)?;
            }
            b = serde_json::to_vec(&v).unwrap();
        }
        if u.ratio(1, 3)? {
            mutate_bytes(u, &mut b, false)?;
        }
        if replay {
            show(name, &b);
        }
        let text = lossy(&b);
        let _ = timed("asg group", || {
            AsgGroupConfig::from_json(&text).and_then(|g| g.validate("group"))
        });
        let _ = timed("asg policies", || ScalingPolicies::from_json(&text));
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            let _ = timed("asg group value", || {
                AsgGroupConfig::from_value(&v, "group").and_then(|g| g.validate("group"))
            });
        }
        let target = if name.contains("policies") {
            "aws/shop-web-policies.json"
        } else {
            "aws/shop-web-asg.json"
        };
        // Both files as shipped (a panicking case may have left a mutant), then the mutant.
        for f in ["aws/shop-web-policies.json", "aws/shop-web-asg.json"] {
            std::fs::copy(root().join("models").join(f), models.join(f)).unwrap();
        }
        let path = models.join(target);
        std::fs::write(&path, &b).unwrap();
        let l = timed("load the model with the ASG", || {
            config::load_with(&scenario, &[], Budget::default())
        });
        if let Ok(l) = l {
            r.hit("ran");
            run_short(l, 60);
        }
        Ok(())
    });
    r.report("aws", "ran", "no model with mutated ASG files ran");
}

// ------------------------------------------------------------------------------ calibration

const K6_SUMMARIES: &[&str] = &[
    r#"{"metrics":{"http_reqs":{"count":1000,"rate":100},
        "http_req_duration":{"avg":20,"p(95)":45},"http_req_failed":{"value":0.01},
        "vus_max":{"value":8,"min":8,"max":8},
        "iterations":{"rate":50},"iteration_duration":{"avg":160}}}"#,
    r#"{"metrics":{"http_reqs":{"values":{"rate":100}},
        "http_req_duration":{"values":{"avg":20}}, "vus_max":{"values":{"value":4}}}}"#,
    r#"{"config":{"duration":50},"results":{"metrics":[
        {"name":"http_reqs","type":"counter","contains":"default","values":{"count":5000}},
        {"name":"http_req_duration","type":"trend","contains":"time","values":{"avg":12.5,"p(95)":30}},
        {"name":"http_req_failed","type":"rate","contains":"default","values":{"matches":5,"total":5000,"rate":0.001}},
        {"name":"vus_max","type":"gauge","contains":"default","values":{"value":16}}]}}"#,
];

/// A k6 `--out csv` time series of two scenarios one after the other: `warm` holds 4 VUs for
/// 60 s, then `load` offers 10 iterations/s for 60 s (its `vus` gauge wandering).
fn two_scenario_k6_csv() -> String {
    let mut t = String::from(
        "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,\
         method,name,proto,scenario,service,status\n",
    );
    let row = |m: &str, ms: i64, v: f64, sc: &str| format!("{m},{ms},{v},,,,,,,,,{sc},,\n");
    let t0 = 1_700_000_000_000i64;
    for s in 0..=60 {
        t.push_str(&row("vus", t0 + s * 1000, 4.0, ""));
        t.push_str(&row("vus", t0 + 65_000 + s * 1000, (s % 3) as f64, ""));
    }
    for k in 0..240 {
        let start = t0 + k * 250;
        t.push_str(&row("http_req_duration", start + 20, 20.0, "warm"));
        t.push_str(&row("iteration_duration", start + 1000, 1000.0, "warm"));
    }
    for k in 0..600 {
        let start = t0 + 65_000 + k * 100;
        t.push_str(&row("http_req_duration", start + 30, 30.0, "load"));
        t.push_str(&row("iteration_duration", start + 30, 30.0, "load"));
    }
    t
}

#[test]
fn calibration_measurements_never_panic() {
    let mut corpus = files("models", &[".csv"]);
    corpus.extend(files("measure/pgbench", &[".csv"]));
    for (i, s) in K6_SUMMARIES.iter().enumerate() {
        corpus.push((format!("summary{i}.json"), s.as_bytes().to_vec()));
    }
    corpus.push(("series.csv".into(), two_scenario_k6_csv().into_bytes()));
    let dir = tempfile::tempdir().unwrap();
    let r = Reached::new(&["read"]);
    fuzz("calibration measurements", 800, 1024, |u, replay| {
        let (name, base) = u.choose(&corpus)?;
        let mut b = base.clone();
        let json = name.ends_with(".json");
        if json && u.ratio(2, 3)? {
            let mut v: Value = serde_json::from_slice(&b).unwrap();
            for _ in 0..u.int_in_range(1..=3)? {
                mutate_value(u, &mut v)?;
            }
            b = serde_json::to_vec(&v).unwrap();
        } else {
            for _ in 0..u.int_in_range(1..=4)? {
                mutate_bytes(u, &mut b, true)?;
            }
        }
        let file = dir.path().join(if json { "m.json" } else { "m.csv" });
        std::fs::write(&file, &b).unwrap();
        let suffix = if json {
            *u.choose(&[
                "", "@4", "@120/s", "@0", "@-1", "@NaN", "@1e308/s", "@", "@x",
            ])?
        } else if name == "series.csv" {
            *u.choose(&[
                "",
                "@closed",
                "@open",
                "@scenario=warm",
                "@scenario=load",
                "@scenario=",
                "@4",
            ])?
        } else {
            *u.choose(&["", "", "@4"])?
        };
        let spec = format!("{}{suffix}", file.display());
        if replay {
            show(&format!("{name} as {spec}"), &b);
        }
        if timed("measured", || surge::calibrate::measured::load_file(&spec)).is_ok() {
            r.hit("read");
        }
        Ok(())
    });
    r.report("calibration", "read", "no measurement read");
}
