//! Measured points from a k6 time-series output (`k6 run --out json=FILE` or `--out csv=FILE`):
//! one point per level the run held. A stepped run (ramp, hold, ramp, hold, ...) measures several
//! load levels at once; an end-of-test summary of it mixes them (calibration.md §4: "reject it
//! unless windows are given"), while its time series gives each hold its own window.
//!
//! - A closed test (`constant-vus`, stepped `ramping-vus`) holds its `vus` gauge: each hold is a
//!   closed point at that many VUs.
//! - An open test (`constant-arrival-rate`, stepped `ramping-arrival-rate`) holds its offered
//!   iteration rate: every scheduled iteration either starts (its `iteration_duration` sample,
//!   written when it ends, dates its start) or is dropped (`dropped_iterations`, written when
//!   it was due). Each hold of started + dropped per second is an open point at that rate. (Its
//!   `vus` gauge counts the VUs busy in an iteration, which wanders with the response time.)
//!
//! Which kind a run is: an `@open`/`@closed` suffix on the file says so; a run that dropped
//! iterations is open; otherwise open only if its rate holds cover more than twice the time its
//! `vus` holds do. Scenarios that ran one after the other (k6 `startTime`), each tagged, are
//! each judged so over their own stretch of the run, so a closed warm-up followed by an open
//! test gives points of both kinds; concurrent ones are refused unless a kind is given.
//!
//! The file is read twice, line by line, so its size is not bounded by memory (k6 writes about
//! ten samples per request): first the `vus` samples and the iteration starts, which give the
//! windows, then the request and iteration samples that fall inside a window.

use super::measured::{LoadKind, Point, Role};
use crate::error::{Error, Result};
use crate::metrics::Trend;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A hold shorter than this is a ramp step, not a level.
pub const MIN_PLATEAU_S: f64 = 30.0;
/// Warm-up cut from the start of each hold: this much, or a tenth of the hold if longer.
pub const WARMUP_S: f64 = 10.0;
/// Longest line accepted (k6 writes a few hundred bytes per sample).
const MAX_LINE: usize = 1 << 20;
/// Most `vus` samples kept (k6 writes one a second: 115 days), and most holds measured (each
/// keeps a latency histogram of about 200 KB): bounds on memory whatever the file holds.
const MAX_VUS_SAMPLES: usize = 10_000_000;
const MAX_HOLDS: usize = 1000;
/// Cut from the end of an open hold (see [`rate_windows`]).
const COOL_DOWN_S: i64 = 2;
/// The longest span of iteration starts and drops (11.5 days): a bound on the per-second counts
/// of an open test (a map entry and a bucket per second, about 40 MB at most).
const MAX_SECONDS: i64 = 1_000_000;
/// Two seconds of one open hold differ by at most this many iterations, or this fraction of the
/// hold's rate if more: k6 starts an arrival-rate executor's iterations on a fixed schedule, so
/// a hold's per-bucket counts differ only where a start falls on a bucket edge.
const RATE_TOL_ABS: f64 = 1.5;
const RATE_TOL_REL: f64 = 0.02;
/// Fewest iterations a bucket should hold at the run's mean rate: slow runs are counted in
/// buckets of 2, 5 or 10 s, so that one more start is not a new level.
const BUCKET_MIN_COUNT: f64 = 20.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `--out json`: one JSON object per line.
    Json,
    /// `--out csv`: `metric_name,timestamp,metric_value,...`.
    Csv,
}

/// Whether a file's first bytes are a k6 time-series output, and which.
pub fn detect(head: &str) -> Option<Format> {
    let head = head.strip_prefix('\u{feff}').unwrap_or(head);
    let first = head.lines().map(str::trim).find(|l| !l.is_empty())?;
    if first.starts_with("metric_name,timestamp,metric_value") {
        return Some(Format::Csv);
    }
    let compact: String = first.chars().filter(|c| !c.is_whitespace()).collect();
    let is_sample = compact.starts_with('{')
        && (compact.contains("\"type\":\"Metric\"") || compact.contains("\"type\":\"Point\""));
    // A whole-file summary is one object spread over many lines; a sample is one line.
    (is_sample && compact.ends_with('}')).then_some(Format::Json)
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    metric: Cow<'a, str>,
    data: Option<Data<'a>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    value: Option<f64>,
    #[serde(borrow)]
    tags: Option<Tags<'a>>,
}

#[derive(Deserialize)]
struct Tags<'a> {
    #[serde(borrow)]
    scenario: Option<Cow<'a, str>>,
}

/// One sample: (metric, time in ns since the epoch, value, the k6 scenario it is tagged with).
type Sample<'a> = (Cow<'a, str>, i64, f64, Option<Cow<'a, str>>);

/// Cell `i` of a CSV row (RFC 4180: a quoted cell may hold commas and doubled quotes).
fn csv_cell(line: &str, i: usize) -> Option<Cow<'_, str>> {
    let mut rest = line;
    for k in 0.. {
        let (cell, next) = if let Some(q) = rest.strip_prefix('"') {
            // The closing quote is one not doubled.
            let b = q.as_bytes();
            let mut j = 0;
            loop {
                match b.get(j) {
                    Some(b'"') if b.get(j + 1) == Some(&b'"') => j += 2,
                    Some(b'"') => break,
                    Some(_) => j += 1,
                    None => return None,
                }
            }
            let after = &q[j + 1..];
            let cell = Cow::Owned(q[..j].replace("\"\"", "\""));
            (cell, after.strip_prefix(','))
        } else {
            match rest.split_once(',') {
                Some((c, r)) => (Cow::Borrowed(c), Some(r)),
                None => (Cow::Borrowed(rest), None),
            }
        };
        if k == i {
            return Some(cell);
        }
        rest = next?;
    }
    None
}

/// Most distinct scenarios followed (k6 names a handful): a bound on memory.
const MAX_SCENARIOS: usize = 1000;

/// Iteration starts of each scenario: (first, last), ns since the epoch.
type Spans = BTreeMap<String, (i64, i64)>;
/// One scenario's name and its first and last iteration start.
type Span<'a> = (&'a str, i64, i64);

/// Two scenarios whose iteration starts overlap in time by more than a second: both loads add
/// up in the `vus` gauge and the iteration starts, so no hold measures one scenario (a closed
/// and an open one at once can be read as neither).
fn concurrent(spans: &Spans) -> Option<(Span<'_>, Span<'_>)> {
    let mut by_start: Vec<Span> = spans
        .iter()
        .map(|(n, &(a, b))| (n.as_str(), a, b))
        .collect();
    by_start.sort_by_key(|s| (s.1, s.2));
    // Sorted by first start, a scenario overlaps an earlier one iff it starts before the
    // latest last start so far.
    let mut latest: Option<Span> = None;
    for s in by_start {
        if let Some(l) = latest {
            if s.1 < l.2.saturating_sub(1_000_000_000) {
                return Some((l, s));
            }
        }
        if latest.is_none_or(|l| s.2 > l.2) {
            latest = Some(s);
        }
    }
    None
}

/// A hold: its kind and level (VUs, or offered iterations per second) and the window measured
/// (ns since the epoch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub kind: LoadKind,
    pub level: f64,
    pub from: i64,
    pub to: i64,
}

/// The warm-up cut from a hold of `len_s` seconds.
fn warm_up_s(len_s: f64) -> f64 {
    WARMUP_S.max(len_s / 10.0)
}

/// Every line of the file through `f(line number, line)`, with located I/O and size errors.
fn each_line(path: &Path, mut f: impl FnMut(usize, &str) -> Result<()>) -> Result<()> {
    let file = crate::config::open_input(path, "a k6 time series (`k6 run --out json|csv`)")?;
    let mut r = BufReader::new(file);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let got = (&mut r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| crate::config::cannot_read(path, e))?;
        if got == 0 {
            return Ok(());
        }
        n += 1;
        if buf.len() > MAX_LINE {
            return Err(Error::input(
                path,
                format!("line {n}"),
                format!("longer than {MAX_LINE} bytes: expected one k6 sample per line"),
            ));
        }
        let line = std::str::from_utf8(&buf).map_err(|_| {
            Error::input(
                path,
                format!("line {n}"),
                "not UTF-8 text: expected a k6 sample",
            )
        })?;
        f(n, line.trim_end_matches(['\n', '\r']))?;
    }
}

/// The sample a line holds, if it is one (`None` for metric declarations, the CSV header and
/// blank lines).
/// `scenario_col`: the CSV header's `scenario` column, when it has one.
fn sample<'a>(
    path: &Path,
    format: Format,
    n: usize,
    line: &'a str,
    scenario_col: Option<usize>,
) -> Result<Option<Sample<'a>>> {
    let at = |what: &str| Error::input(path, format!("line {n}"), what.to_string());
    let line = if n == 1 {
        line.trim_start_matches('\u{feff}')
    } else {
        line
    };
    if line.trim().is_empty() {
        return Ok(None);
    }
    match format {
        Format::Json => {
            let e: Envelope = serde_json::from_str(line).map_err(|e| {
                at(&format!(
                    "not a k6 JSON sample ({e}): expected {{\"type\":\"Point\",\"metric\":...,\"data\":{{\"time\":...,\"value\":...}}}}"
                ))
            })?;
            if e.kind != "Point" {
                return Ok(None);
            }
            let d = e.data.ok_or_else(|| at("a Point without `data`"))?;
            let time = d.time.ok_or_else(|| at("a Point without `data.time`"))?;
            let t = rfc3339_ns(&time).ok_or_else(|| {
                at(&format!(
                    "data.time {time:?}: expected an RFC 3339 time such as 2026-11-30T19:27:01.5Z"
                ))
            })?;
            let v = d.value.ok_or_else(|| at("a Point without `data.value`"))?;
            let scenario = d.tags.and_then(|t| t.scenario).filter(|s| !s.is_empty());
            Ok(Some((e.metric, t, v, scenario)))
        }
        Format::Csv => {
            if n == 1 || line.starts_with("metric_name,") {
                return Ok(None);
            }
            let mut cells = line.splitn(4, ',');
            let (Some(metric), Some(time), Some(value)) =
                (cells.next(), cells.next(), cells.next())
            else {
                return Err(at("expected metric_name,timestamp,metric_value,..."));
            };
            let t = csv_time_ns(time.trim()).ok_or_else(|| {
                at(&format!(
                    "timestamp {time:?}: expected Unix time (s, ms, µs or ns) or RFC 3339"
                ))
            })?;
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| at(&format!("metric_value {value:?}: expected a number")))?;
            let scenario = scenario_col
                .and_then(|c| csv_cell(line, c))
                .filter(|s| !s.is_empty());
            Ok(Some((Cow::Borrowed(metric.trim()), t, v, scenario)))
        }
    }
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` as ns since the epoch (Go's RFC3339Nano, which k6's
/// JSON output writes).
pub fn rfc3339_ns(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit())).then(|| t.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ns = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = s.get(start..i)?;
        if digits.is_empty() {
            return None;
        }
        let mut scale = 100_000_000i64;
        for c in digits.bytes().take(9) {
            frac_ns += i64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    let offset_s = match s.get(i..)? {
        "Z" | "z" => 0,
        // Bytes, not `&o[..1]`: a time such as `...10é:000` has no character boundary there.
        o if o.len() == 6 && matches!(o.as_bytes()[0], b'+' | b'-') && o.as_bytes()[3] == b':' => {
            let v = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

/// A k6 CSV timestamp: `unix` (s), `unix_milli`, `unix_micro`, `unix_nano` (told apart by size:
/// a time after 2001 has 10, 13, 16 or 19 digits), or `rfc3339`/`rfc3339_nano`.
fn csv_time_ns(s: &str) -> Option<i64> {
    if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
        let v: i64 = s.parse().ok()?;
        return match s.len() {
            1..=11 => v.checked_mul(1_000_000_000),
            12..=14 => v.checked_mul(1_000_000),
            15..=17 => v.checked_mul(1_000),
            18..=19 => Some(v),
            _ => None,
        };
    }
    rfc3339_ns(s)
}

/// The holds of a `vus` series (time-ordered samples): runs of one level above zero that last
/// at least [`MIN_PLATEAU_S`], each without its warm-up; disjoint and in time order.
pub fn windows(vus: &[(i64, f64)]) -> Vec<Window> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < vus.len() {
        let (t0, v) = vus[i];
        let mut j = i;
        while j + 1 < vus.len() && vus[j + 1].1 == v {
            j += 1;
        }
        let t1 = vus[j].0;
        // Saturating: samples of one level may be centuries apart in a crafted file.
        let len_s = t1.saturating_sub(t0) as f64 / 1e9;
        if v > 0.0 && len_s >= MIN_PLATEAU_S {
            out.push(Window {
                kind: LoadKind::Closed,
                level: v,
                from: t0.saturating_add((warm_up_s(len_s) * 1e9) as i64),
                to: t1,
            });
        }
        i = j + 1;
    }
    out
}

/// The holds of an open test's offered iterations (started + dropped) per second, keyed by the
/// second since the epoch: runs of buckets whose counts stay within the tolerance of their
/// running mean, lasting at least [`MIN_PLATEAU_S`], each without its warm-up and its last
/// [`COOL_DOWN_S`], at the mean rate over what is left. Buckets are 1, 2, 5 or 10 s, the
/// shortest that holds [`BUCKET_MIN_COUNT`] iterations at the run's mean rate. The caller
/// bounds the span.
pub fn rate_windows(offered: &BTreeMap<i64, u32>) -> Vec<Window> {
    let (Some((&first, _)), Some((&last, _))) =
        (offered.first_key_value(), offered.last_key_value())
    else {
        return Vec::new();
    };
    let span = last - first + 1;
    let total: f64 = offered.values().map(|&c| f64::from(c)).sum();
    let width = [1i64, 2, 5, 10]
        .into_iter()
        .find(|w| total / span as f64 * *w as f64 >= BUCKET_MIN_COUNT)
        .unwrap_or(10);
    let mut c = vec![0f64; ((span + width - 1) / width) as usize];
    for (&s, &n) in offered {
        c[((s - first) / width) as usize] += f64::from(n);
    }
    let tol = |mean: f64| RATE_TOL_ABS.max(RATE_TOL_REL * mean);
    let sec = 1_000_000_000i64;
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let mut sum = c[i];
        let mut j = i + 1;
        while j < c.len() && (c[j] - sum / (j - i) as f64).abs() <= tol(sum / (j - i) as f64) {
            sum += c[j];
            j += 1;
        }
        let len_s = ((j - i) as i64 * width) as f64;
        // The warm-up in whole buckets, so the rate is counted over exactly the window; and
        // the last 2 s, where the next ramp's first bucket can pass the tolerance.
        let warm = (warm_up_s(len_s) / width as f64).ceil() as usize;
        let end = j.saturating_sub((COOL_DOWN_S as usize).div_ceil(width as usize));
        if sum > 0.0 && len_s >= MIN_PLATEAU_S && i + warm < end {
            let kept = &c[i + warm..end];
            let secs = (kept.len() as i64 * width) as f64;
            out.push(Window {
                kind: LoadKind::Open,
                level: kept.iter().sum::<f64>() / secs,
                // Saturating: a crafted file may date its starts at the end of time.
                from: (first + (i + warm) as i64 * width).saturating_mul(sec),
                to: (first + end as i64 * width).saturating_mul(sec),
            });
        }
        i = j;
    }
    out
}

/// The iterations a sample says were due, and when: an `iteration_duration` dates its
/// iteration's start (its end less its duration); `dropped_iterations` counts starts k6 skipped
/// at the time they were due. Pass 1 has checked the durations.
fn offered(metric: &str, t: i64, v: f64) -> Option<(i64, u32)> {
    match metric {
        "iteration_duration" if v.is_finite() && v >= 0.0 => {
            Some((t.saturating_sub((v * 1e6) as i64), 1))
        }
        "dropped_iterations" if v.is_finite() && v >= 1.0 => {
            Some((t, v.min(f64::from(u32::MAX)) as u32))
        }
        _ => None,
    }
}

/// The window holding time `t`: windows are disjoint and in time order, so the first ending at
/// or after `t` is the only one that can.
fn window_of(wins: &[Window], t: i64) -> Option<usize> {
    let w = wins.partition_point(|w| w.to < t);
    wins.get(w).filter(|w| w.from <= t).map(|_| w)
}

/// `x` to `digits` significant digits.
fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The holds of a run (or of one scenario's stretch of it) and the kind they were read as:
/// `force`, or what the run shows. One that dropped iterations is open; otherwise open only if
/// its rate holds cover more than twice the time its `vus` holds do (a held `vus` gauge is the
/// stronger sign: open holds show in a closed run whose iterations take near-constant time,
/// but a gauge of busy VUs rarely holds).
fn holds(
    force: Option<LoadKind>,
    dropped: bool,
    vus: &[(i64, f64)],
    offered: &BTreeMap<i64, u32>,
) -> (LoadKind, Vec<Window>) {
    match force {
        Some(LoadKind::Closed) => (LoadKind::Closed, windows(vus)),
        Some(LoadKind::Open) => (LoadKind::Open, rate_windows(offered)),
        None if dropped => (LoadKind::Open, rate_windows(offered)),
        None => {
            let (closed, open) = (windows(vus), rate_windows(offered));
            if coverage(&open) > 2 * coverage(&closed) {
                (LoadKind::Open, open)
            } else {
                (LoadKind::Closed, closed)
            }
        }
    }
}

/// The holds of scenarios that ran one after the other, each read as its own kind over its own
/// stretch: from its first iteration start to the next scenario's first (the `vus` gauge and
/// the per-second starts are sums over scenarios, but only one runs at a time). Returns the
/// windows in time order with their scenario, and each scenario named with the kind it was
/// read as (for a message when no scenario held a level).
fn scenario_windows(
    spans: &Spans,
    dropped_in: &BTreeSet<String>,
    vus: &[(i64, f64)],
    per_second: &BTreeMap<i64, u32>,
) -> (Vec<(Window, String)>, Vec<String>) {
    let sec = 1_000_000_000i64;
    let mut order: Vec<Span> = spans
        .iter()
        .map(|(n, &(a, b))| (n.as_str(), a, b))
        .collect();
    order.sort_by_key(|s| (s.1, s.2));
    let mut wins = Vec::new();
    let mut names = Vec::new();
    for (i, &(name, first, _)) in order.iter().enumerate() {
        // The first scenario's stretch reaches back to the run's start (its ramp-up).
        let from = if i == 0 { i64::MIN } else { first };
        let to = order.get(i + 1).map_or(i64::MAX, |n| n.1);
        let v = &vus[vus.partition_point(|s| s.0 < from)..vus.partition_point(|s| s.0 < to)];
        let offered: BTreeMap<i64, u32> = per_second
            .range(from.div_euclid(sec)..to.div_euclid(sec))
            .map(|(&s, &c)| (s, c))
            .collect();
        let (kind, held) = holds(None, dropped_in.contains(name), v, &offered);
        names.push(format!("{name:?} read as {}", kind.name()));
        wins.extend(held.into_iter().map(|w| (w, name.to_string())));
    }
    wins.sort_by_key(|w| w.0.from);
    (wins, names)
}

/// Total length of some windows, in ns.
fn coverage(w: &[Window]) -> i64 {
    w.iter().fold(0i64, |acc, w| {
        acc.saturating_add(w.to.saturating_sub(w.from))
    })
}

struct Acc {
    reqs: f64,
    duration: Trend,
    failed: f64,
    failed_n: f64,
    iterations: f64,
    iter_dur_ms: f64,
    iter_n: f64,
    dropped: f64,
    saw_dropped: bool,
    /// Iterations due inside the window (started or dropped), the first and the last.
    starts: f64,
    first_start: i64,
    last_start: i64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            reqs: 0.0,
            duration: Trend::default(),
            failed: 0.0,
            failed_n: 0.0,
            iterations: 0.0,
            iter_dur_ms: 0.0,
            iter_n: 0.0,
            dropped: 0.0,
            saw_dropped: false,
            starts: 0.0,
            first_start: i64::MAX,
            last_start: i64::MIN,
        }
    }
}

/// The points of a k6 `--out json` or `--out csv` file: one per hold, of the kind `force` says
/// or the run shows (see the module's doc).
pub fn from_stream(path: &Path, format: Format, force: Option<LoadKind>) -> Result<Vec<Point>> {
    read_stream(path, format, force, None)
}

/// The points of one scenario of a k6 time series (`FILE@scenario=NAME`): the holds of its own
/// stretch of the run, read as its own kind.
pub fn scenario_from_stream(path: &Path, format: Format, name: &str) -> Result<Vec<Point>> {
    read_stream(path, format, None, Some(name))
}

fn read_stream(
    path: &Path,
    format: Format,
    force: Option<LoadKind>,
    only: Option<&str>,
) -> Result<Vec<Point>> {
    let mut vus: Vec<(i64, f64)> = Vec::new();
    // Offered iterations (started + dropped) per second since the epoch.
    let mut per_second: BTreeMap<i64, u32> = BTreeMap::new();
    let mut dropped_any = false;
    let mut spans: Spans = BTreeMap::new();
    // Scenarios that dropped iterations, and whether any start or drop carried no scenario tag.
    let mut dropped_in: BTreeSet<String> = BTreeSet::new();
    let mut untagged = false;
    let mut scenario_col: Option<usize> = None;
    let sec = 1_000_000_000i64;
    each_line(path, |n, line| {
        if format == Format::Csv && (n == 1 || line.starts_with("metric_name,")) {
            scenario_col = line
                .trim_start_matches('\u{feff}')
                .split(',')
                .position(|c| c.trim() == "scenario");
        }
        // Only these samples matter on this pass: skip the others before parsing them.
        if format == Format::Json
            && !(line.contains("\"vus\"")
                || line.contains("\"iteration_duration\"")
                || line.contains("\"dropped_iterations\""))
        {
            return Ok(());
        }
        let Some((m, t, v, scenario)) = sample(path, format, n, line, scenario_col)? else {
            return Ok(());
        };
        let at = |msg: String| Err(Error::input(path, format!("line {n}"), msg));
        match &*m {
            "vus" => {
                if vus.len() == MAX_VUS_SAMPLES {
                    return at(format!(
                        "more than {MAX_VUS_SAMPLES} `vus` samples: expected one a second \
                         (k6's own rate); split the run into files"
                    ));
                }
                vus.push((t, v));
                return Ok(());
            }
            "iteration_duration" if !(0.0..1e15).contains(&v) => {
                return at(format!(
                    "iteration_duration value {v}: expected a duration in ms >= 0"
                ));
            }
            "dropped_iterations" => dropped_any |= v > 0.0,
            _ => {}
        }
        let Some((start, count)) = offered(&m, t, v) else {
            return Ok(());
        };
        if let Some(name) = scenario {
            if m == "dropped_iterations" && !dropped_in.contains(&*name) {
                dropped_in.insert(name.to_string());
            }
            let full = spans.len() == MAX_SCENARIOS;
            match spans.get_mut(&*name) {
                Some(sp) => *sp = (sp.0.min(start), sp.1.max(start)),
                None if full => {
                    return at(format!(
                        "more than {MAX_SCENARIOS} scenarios: expected one k6 test run"
                    ));
                }
                None => {
                    spans.insert(name.into_owned(), (start, start));
                }
            }
        } else {
            untagged = true;
        }
        let second = start.div_euclid(sec);
        let spans_too_far = |s: i64| {
            per_second
                .first_key_value()
                .is_some_and(|(&a, _)| s - a >= MAX_SECONDS)
                || per_second
                    .last_key_value()
                    .is_some_and(|(&b, _)| b - s >= MAX_SECONDS)
        };
        if spans_too_far(second) {
            return at(format!(
                "iteration starts more than {MAX_SECONDS} s apart: expected one test run"
            ));
        }
        let c = per_second.entry(second).or_insert(0);
        *c = c.saturating_add(count);
        Ok(())
    })?;
    if vus.is_empty() && per_second.is_empty() {
        return Err(Error::input(
            path,
            "",
            "no `vus`, `iteration_duration` or `dropped_iterations` samples: expected the \
             output of `k6 run --out json=FILE` or `--out csv=FILE`",
        ));
    }
    if let (None, Some((a, b))) = (force, concurrent(&spans)) {
        let t0 = spans.values().map(|s| s.0).min().unwrap_or(0);
        let span = |s: Span| {
            format!(
                "{:?} (iterations starting from {} s to {} s)",
                s.0,
                (s.1 - t0) / sec,
                (s.2 - t0) / sec
            )
        };
        return Err(Error::input(
            path,
            "scenario",
            format!(
                "scenarios {} and {} ran at the same time: their loads add up in the `vus` \
                 gauge and the iteration starts, so no hold measures one scenario's load (a \
                 closed and an open scenario at once cannot be read as either). Calibrate from \
                 a run of one scenario at a time, or say how to read this one: FILE@closed \
                 (holds of the summed VUs) or FILE@open (holds of the summed arrival rate)",
                span(a),
                span(b)
            ),
        ));
    }
    vus.sort_by_key(|s| s.0);
    // Scenarios one after the other, each tagged: each is read as its own kind, over its own
    // stretch of the run. Otherwise (one scenario, untagged samples, or a kind given) the run
    // is read as one.
    if let Some(name) = only {
        if untagged || !spans.contains_key(name) {
            let have: Vec<String> = spans.keys().map(|n| format!("{n:?}")).collect();
            return Err(Error::input(
                path,
                "scenario",
                format!(
                    "no scenario {name:?}: expected one of the `scenario` tags of its \
                     iterations ({}){}",
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    },
                    if untagged {
                        "; some iterations carry no scenario tag, so no scenario's stretch \
                         of the run is known"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    let (wins, scenario_of): (Vec<Window>, Vec<Option<String>>) =
        if force.is_none() && !untagged && (spans.len() > 1 || only.is_some()) {
            let (mut wins, names) = scenario_windows(&spans, &dropped_in, &vus, &per_second);
            if let Some(name) = only {
                wins.retain(|w| w.1 == name);
            }
            if wins.is_empty() {
                return Err(Error::input(
                    path,
                    "scenario",
                    format!(
                        "no hold of at least {MIN_PLATEAU_S} s in {} ({}): expected a constant or \
                     stepped load (a closed scenario holds its `vus` gauge, an open one its \
                     offered iteration rate)",
                        if only.is_some() {
                            "the scenario"
                        } else {
                            "any scenario"
                        },
                        names.join(", ")
                    ),
                ));
            }
            wins.into_iter().map(|(w, name)| (w, Some(name))).unzip()
        } else {
            let (kind, wins) = holds(force, dropped_any, &vus, &per_second);
            if wins.is_empty() {
                let msg = match kind {
                    LoadKind::Closed => format!(
                        "no hold of at least {MIN_PLATEAU_S} s at one VU count: expected a \
                     constant-vus run or a stepped ramping-vus run (ramp, hold, ramp, hold); an \
                     arrival-rate run is read from its iteration starts (name it FILE@open)"
                    ),
                    LoadKind::Open => format!(
                        "no hold of at least {MIN_PLATEAU_S} s at one offered iteration rate \
                     (iterations started, dated by their `iteration_duration`, plus \
                     `dropped_iterations`): expected a constant-arrival-rate run or a stepped \
                     ramping-arrival-rate run"
                    ),
                };
                let field = if kind == LoadKind::Closed {
                    "vus"
                } else {
                    "iteration_duration"
                };
                return Err(Error::input(path, field, msg));
            }
            let n = wins.len();
            (wins, vec![None; n])
        };
    if wins.len() > MAX_HOLDS {
        return Err(Error::input(
            path,
            "",
            format!(
                "{} holds: expected at most {MAX_HOLDS} load levels in one run",
                wins.len()
            ),
        ));
    }
    let mut acc: Vec<Acc> = (0..wins.len()).map(|_| Acc::default()).collect();
    each_line(path, |n, line| {
        // Skip the timing breakdowns and data counters unparsed (most of the file).
        if format == Format::Json && !(line.contains("\"http_req") || line.contains("iteration")) {
            return Ok(());
        }
        let Some((m, t, v, _)) = sample(path, format, n, line, None)? else {
            return Ok(());
        };
        // An open hold's rate from the starts due inside it, by when they were due.
        if let Some((start, c)) = offered(&m, t, v) {
            if let Some(w) = window_of(&wins, start) {
                let a = &mut acc[w];
                a.starts += f64::from(c);
                a.first_start = a.first_start.min(start);
                a.last_start = a.last_start.max(start);
            }
        }
        // The rest by when it was measured.
        let Some(w) = window_of(&wins, t) else {
            return Ok(());
        };
        let a = &mut acc[w];
        let bad = |what: &str| {
            Err(Error::input(
                path,
                format!("line {n}"),
                format!("{m} value {v}: expected {what}"),
            ))
        };
        match &*m {
            "http_reqs" => a.reqs += v,
            "http_req_duration" => {
                if !(v.is_finite() && v >= 0.0) {
                    return bad("a duration in ms >= 0");
                }
                a.duration.record((v * 1e6).round() as u64);
            }
            "http_req_failed" => {
                a.failed += v;
                a.failed_n += 1.0;
            }
            "iterations" => a.iterations += v,
            "iteration_duration" => {
                a.iter_dur_ms += v;
                a.iter_n += 1.0;
            }
            "dropped_iterations" => {
                a.dropped += v;
                a.saw_dropped = true;
            }
            _ => {}
        }
        Ok(())
    })?;
    let name = path.display();
    let mut out = Vec::new();
    for (i, (w, a)) in wins.iter().zip(acc).enumerate() {
        let secs = w.to.saturating_sub(w.from) as f64 / 1e9;
        if a.duration.count() == 0 || secs <= 0.0 {
            continue; // a hold without requests measured nothing
        }
        // The Little check (VUs ≈ iterations/s × iteration duration) needs the VU count a
        // closed hold fixes; an open hold's sampled `vus` is too coarse for its 10 % bound.
        let iterations = (a.iter_n > 0.0 && w.kind == LoadKind::Closed)
            .then(|| (w.level, a.iterations / secs, a.iter_dur_ms / a.iter_n / 1e3));
        let (load, what) = match w.kind {
            LoadKind::Closed => (w.level, format!("{} VUs", w.level)),
            // k6 spaces an arrival-rate executor's starts evenly: (n − 1) gaps between the
            // first and the last start due in the window are the rate, whatever falls on the
            // window's edges (whole-bucket counts are off by one start there). To 4 significant
            // digits, so `--holdout` can name it.
            LoadKind::Open => {
                let span = (a.last_start - a.first_start) as f64 / 1e9;
                let rate = if a.starts >= 3.0 && span > 0.0 {
                    (a.starts - 1.0) / span
                } else {
                    w.level
                };
                let r = round_sig(rate, 4);
                (r, format!("{r} iterations/s"))
            }
        };
        let scenario = scenario_of[i]
            .as_ref()
            .map(|s| format!("scenario {s:?}, "))
            .unwrap_or_default();
        out.push(Point {
            source: format!("{name} hold at {what} ({scenario}{secs:.0} s window):"),
            kind: w.kind,
            load,
            throughput: a.reqs / secs,
            lat_mean: a.duration.avg_ms() / 1e3,
            lat_p95: Some(a.duration.percentile_ms(95.0) / 1e3),
            error_rate: (a.failed_n > 0.0).then(|| a.failed / a.failed_n),
            think: None,
            util: Vec::new(),
            cpu_s: Vec::new(),
            role: Role::Fit,
            iterations,
            dropped: (a.saw_dropped || w.kind == LoadKind::Open).then_some(a.dropped),
        });
    }
    if out.is_empty() {
        return Err(Error::input(
            path,
            "http_req_duration",
            "no request samples inside any hold: nothing was measured",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_match_their_epoch_values() {
        // `date -u -d 2021-02-24T13:37:10Z +%s` = 1614173830 (k6's json_test.go sample time).
        assert_eq!(
            rfc3339_ns("2021-02-24T13:37:10Z"),
            Some(1_614_173_830_000_000_000)
        );
        assert_eq!(
            rfc3339_ns("2021-02-24T14:37:10.25+01:00"),
            Some(1_614_173_830_250_000_000)
        );
        assert_eq!(
            rfc3339_ns("2021-02-24T13:37:10.123456789Z"),
            Some(1_614_173_830_123_456_789)
        );
        assert_eq!(rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_ns("2000-03-01T00:00:00Z"),
            Some(951_868_800_000_000_000)
        );
        for bad in [
            "",
            "2021-02-24",
            "2021-13-24T13:37:10Z",
            "2021-02-24T13:37:10",
            "2021-02-24T13:37:10.Z",
            "x021-02-24T13:37:10Z",
            // A multi-byte character where the offset's sign or colon belongs (was a panic:
            // "byte index 1 is not a char boundary").
            "2021-02-24T13:37:10é:000",
            "2021-02-24T13:37:10+0é:0",
            "2021-02-24T13:37:10+00é0",
            "2021-02-24T13:37:1é",
            "2021-02-24T13:37:10.é",
        ] {
            assert_eq!(rfc3339_ns(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_unix_timestamps_are_told_apart_by_size() {
        let s = 1_614_173_830_i64;
        assert_eq!(csv_time_ns("1614173830"), Some(s * 1_000_000_000));
        assert_eq!(
            csv_time_ns("1614173830250"),
            Some(s * 1_000_000_000 + 250_000_000)
        );
        assert_eq!(
            csv_time_ns("1614173830250000"),
            Some(s * 1_000_000_000 + 250_000_000)
        );
        assert_eq!(
            csv_time_ns("1614173830250000000"),
            Some(s * 1_000_000_000 + 250_000_000)
        );
        assert_eq!(csv_time_ns("2021-02-24T13:37:10Z"), Some(s * 1_000_000_000));
        assert_eq!(csv_time_ns("12345678901234567890123"), None);
    }

    #[test]
    fn holds_shorter_than_the_minimum_are_ramp_steps() {
        let s = 1_000_000_000i64;
        // 0..9 s ramping 1..10, then 60 s at 10, then 20 s at 20 (too short), then 0.
        let mut vus: Vec<(i64, f64)> = (0..10).map(|i| (i * s, (i + 1) as f64)).collect();
        vus.extend((10..70).map(|i| (i * s, 10.0)));
        vus.extend((70..90).map(|i| (i * s, 20.0)));
        vus.push((90 * s, 0.0));
        let w = windows(&vus);
        assert_eq!(w.len(), 1);
        // The hold runs from 9 s (the first sample at 10) to 69 s: 60 s, so 10 s of warm-up.
        assert_eq!(
            w[0],
            Window {
                kind: LoadKind::Closed,
                level: 10.0,
                from: 19 * s,
                to: 69 * s
            }
        );
    }

    /// Per-second counts from `(seconds, count)` runs, starting at second 1000.
    fn counts(runs: &[(i64, u32)]) -> BTreeMap<i64, u32> {
        let mut m = BTreeMap::new();
        let mut t = 1000;
        for &(len, c) in runs {
            for _ in 0..len {
                m.insert(t, c);
                t += 1;
            }
        }
        m
    }

    #[test]
    fn open_holds_are_runs_of_one_offered_rate() {
        let s = 1_000_000_000i64;
        // 100/s for 60 s, a 5-s ramp, 110/s for 60 s: a 10 % step is two levels.
        let mut runs = vec![(60, 100)];
        runs.extend((1..=5).map(|k| (1, 100 + 2 * k)));
        runs.push((60, 110));
        let w = rate_windows(&counts(&runs));
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!((w[0].kind, w[0].level), (LoadKind::Open, 100.0));
        // 10 s of warm-up; the ramp's first second (102, within 2 % of 100) joins the run and
        // the 2-s cut at its end takes it and the hold's last second off again.
        assert_eq!((w[0].from, w[0].to), (1010 * s, 1059 * s));
        assert_eq!(w[1].level, 110.0);
        // 2.5/s (starts alternate 2 and 3 a second) is one level, counted in 10-s buckets.
        let alt: Vec<(i64, u32)> = (0..120).map(|k| (1, 2 + (k % 2) as u32)).collect();
        let w = rate_windows(&counts(&alt));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].level, 2.5);
        // 0.5/s then 1/s: slow rates are told apart in 10-s buckets.
        let slow: Vec<(i64, u32)> = (0..120)
            .map(|k| (1, (k % 2) as u32))
            .chain(std::iter::repeat_n((1, 1), 120))
            .collect();
        let w = rate_windows(&counts(&slow));
        assert_eq!(
            w.iter().map(|w| w.level).collect::<Vec<_>>(),
            [0.5, 1.0],
            "{w:?}"
        );
        // A steady ramp has no hold; nothing offered has none.
        let ramp: Vec<(i64, u32)> = (0..300).map(|k| (1, k as u32)).collect();
        assert!(rate_windows(&counts(&ramp)).is_empty());
        assert!(rate_windows(&BTreeMap::new()).is_empty());
    }

    /// Iteration starts further apart than one run could be are refused at the line, before
    /// their per-second counts are allocated; so is a negative iteration duration.
    #[test]
    fn open_runs_are_bounded_and_checked() {
        let dir = std::env::temp_dir().join(format!("surge-stream-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run = |name: &str, text: &str| {
            let f = dir.join(name);
            std::fs::write(&f, text).unwrap();
            from_stream(&f, Format::Csv, None).unwrap_err().to_string()
        };
        let far = format!(
            "metric_name,timestamp,metric_value\niteration_duration,1700000000,5\n\
             iteration_duration,{},5\n",
            1_700_000_000 + MAX_SECONDS + 5
        );
        let e = run("far.csv", &far);
        assert!(
            e.contains("far.csv") && e.contains("line 3") && e.contains("apart"),
            "{e}"
        );
        let e = run(
            "neg.csv",
            "metric_name,timestamp,metric_value\niteration_duration,1700000000,-5\n",
        );
        assert!(e.contains("line 2") && e.contains(">= 0"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Samples of one level centuries apart (a crafted file) give one long hold, not an
    /// overflow.
    #[test]
    fn holds_spanning_any_times_do_not_overflow() {
        let vus = [(i64::MIN + 1, 5.0), (i64::MAX - 1, 5.0)];
        let w = windows(&vus);
        assert_eq!(w.len(), 1);
        assert!(w[0].from > vus[0].0 && w[0].to == vus[1].0, "{w:?}");
        assert!(coverage(&w) > 0);
        // Slow starts dated at the last representable seconds (10-s buckets reach past them):
        // a hold, not an overflow.
        let end = i64::MAX / 1_000_000_000;
        let w = rate_windows(&(end - 59..=end).map(|s| (s, 1)).collect());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].level == 1.0 && w[0].from < w[0].to, "{w:?}");
    }

    #[test]
    fn csv_cells_follow_rfc_4180_quoting() {
        let row = r#"iteration_duration,1700000000,5,"a,b","say ""hi""",,x"#;
        assert_eq!(csv_cell(row, 0).as_deref(), Some("iteration_duration"));
        assert_eq!(csv_cell(row, 3).as_deref(), Some("a,b"));
        assert_eq!(csv_cell(row, 4).as_deref(), Some(r#"say "hi""#));
        assert_eq!(csv_cell(row, 5).as_deref(), Some(""));
        assert_eq!(csv_cell(row, 6).as_deref(), Some("x"));
        assert_eq!(csv_cell(row, 7), None);
        assert_eq!(csv_cell(r#"a,"unclosed"#, 1), None);
    }

    /// A closed and an open scenario at once add up in every series k6 writes: refused, naming
    /// both and when they ran, unless `@closed`/`@open` says how to read the sums. Scenarios
    /// one after the other are not concurrent; a quoted URL name with a comma (before the
    /// `scenario` column) does not shift it.
    #[test]
    fn concurrent_scenarios_are_refused_unless_the_kind_is_given() {
        let dir = std::env::temp_dir().join(format!("surge-stream-mixed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = "metric_name,timestamp,metric_value,check,error,error_code,\
                      expected_response,group,method,name,proto,scenario,service,status\n";
        let t0 = 1_700_000_000i64;
        // `browse` starts iterations in the first minute, `api` in the second; `api` also
        // starts some during `overlap` (seconds).
        let csv = |overlap: (i64, i64)| {
            let mut text = String::from(header);
            for i in 0..120 {
                text.push_str(&format!("vus,{},10,,,,,,,,,,,\n", t0 + i));
                let sc = if i < 60 { "browse" } else { "api" };
                text.push_str(&format!(
                    "iteration_duration,{},100,,,,,,,\"GET /a,b\",,{sc},,\n",
                    t0 + i + 1
                ));
                if (overlap.0..overlap.1).contains(&i) {
                    text.push_str(&format!(
                        "iteration_duration,{},100,,,,,,,,,api,,\n",
                        t0 + i + 1
                    ));
                }
            }
            text
        };
        let f = dir.join("mixed.csv");
        std::fs::write(&f, csv((10, 40))).unwrap();
        let e = from_stream(&f, Format::Csv, None).unwrap_err().to_string();
        assert!(
            e.contains("mixed.csv") && e.contains("at the same time") && e.contains("\"api\""),
            "{e}"
        );
        assert!(
            e.contains("\"browse\" (iterations starting from 0 s to 59 s)"),
            "{e}"
        );
        for kind in [LoadKind::Closed, LoadKind::Open] {
            if let Err(e) = from_stream(&f, Format::Csv, Some(kind)) {
                assert!(!e.to_string().contains("at the same time"), "{e}");
            }
        }
        std::fs::write(&f, csv((0, 0))).unwrap();
        if let Err(e) = from_stream(&f, Format::Csv, None) {
            assert!(!e.to_string().contains("at the same time"), "{e}");
        }
        // JSON carries the scenario in `data.tags`.
        let line = |t: i64, sc: &str| {
            format!(
                "{{\"type\":\"Point\",\"metric\":\"iteration_duration\",\"data\":{{\"time\":\
                 \"2023-11-14T22:13:{t:02}Z\",\"value\":100,\"tags\":{{\"scenario\":\"{sc}\"}}}}}}\n"
            )
        };
        let mut json = String::new();
        for t in 0..50 {
            json.push_str(&line(t, "browse"));
            json.push_str(&line(t, "api"));
        }
        let j = dir.join("mixed.json");
        std::fs::write(&j, json).unwrap();
        let e = from_stream(&j, Format::Json, None).unwrap_err().to_string();
        assert!(e.contains("at the same time"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rates_round_to_four_significant_digits() {
        assert_eq!(round_sig(50.0037, 4), 50.0);
        assert_eq!(round_sig(33.3333, 4), 33.33);
        assert_eq!(round_sig(0.123456, 4), 0.1235);
        assert_eq!(round_sig(1234.56, 4), 1235.0);
    }

    #[test]
    fn detects_both_outputs_and_not_a_summary() {
        assert_eq!(
            detect("{\"type\":\"Metric\",\"data\":{\"name\":\"vus\"},\"metric\":\"vus\"}\n"),
            Some(Format::Json)
        );
        assert_eq!(
            detect("metric_name,timestamp,metric_value,check\nvus,1,2,\n"),
            Some(Format::Csv)
        );
        assert_eq!(detect("{\n  \"metrics\": {\n"), None);
        assert_eq!(detect("kind,load,throughput\n"), None);
    }

    /// Many short alternating holds would each keep a latency histogram: refused past
    /// `MAX_HOLDS`, before any is allocated, naming the file and the gauge.
    #[test]
    fn too_many_holds_are_refused_before_allocating() {
        let dir = std::env::temp_dir().join(format!("surge-stream-holds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("holds.csv");
        let mut text = String::from("metric_name,timestamp,metric_value\n");
        for i in 0..=(2 * MAX_HOLDS as i64 + 2) {
            // Two samples 31 s apart per level, alternating 1 and 2 VUs.
            let v = 1 + i % 2;
            text.push_str(&format!(
                "vus,{},{v}\nvus,{},{v}\n",
                1_700_000_000 + 62 * i,
                1_700_000_031 + 62 * i
            ));
        }
        std::fs::write(&f, text).unwrap();
        let e = from_stream(&f, Format::Csv, None).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("holds.csv") && e.contains("at most 1000"), "{e}");
    }

    /// A closed scenario, then an open one (k6 `startTime`), in one `--out csv` file: each is
    /// read as its own kind over its own stretch of the run, so the run gives a closed point at
    /// the VUs the first held and an open point at the rate the second offered. Read as one
    /// kind, one of the two would be lost (the first reads as open once the second drops
    /// iterations, and the second's wandering `vus` gauge holds nothing). A kind given with
    /// `@` still reads the whole run as that kind.
    #[test]
    fn scenarios_one_after_the_other_are_each_read_as_their_own_kind() {
        let dir = std::env::temp_dir().join(format!("surge-stream-seq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = "metric_name,timestamp,metric_value,check,error,error_code,\
                      expected_response,group,method,name,proto,scenario,service,status\n";
        let t0 = 1_700_000_000_000i64; // ms (k6's unix_milli)
        let row = |m: &str, ms: i64, v: f64, sc: &str| {
            let mut cells = vec![String::new(); 14];
            cells[0] = m.to_string();
            cells[1] = ms.to_string();
            cells[2] = v.to_string();
            cells[11] = sc.to_string();
            cells.join(",") + "\n"
        };
        let run = |drops: bool| {
            let mut text = String::from(header);
            // `warm`: 10 VUs for 120 s, each iteration one 50 ms request and 950 ms of sleep.
            for s in 0..=120 {
                text.push_str(&row("vus", t0 + s * 1000, 10.0, ""));
            }
            for s in 0..120 {
                for v in 0..10 {
                    let start = t0 + s * 1000 + v * 100;
                    text.push_str(&row("http_reqs", start + 50, 1.0, "warm"));
                    text.push_str(&row("http_req_duration", start + 50, 50.0, "warm"));
                    text.push_str(&row("iteration_duration", start + 1000, 1000.0, "warm"));
                }
            }
            // `load` from 125 s: 20 iterations/s for 120 s, each one 80 ms request; the `vus`
            // gauge counts the VUs busy at the second, which wanders.
            let t1 = t0 + 125_000;
            for s in 0..=120 {
                text.push_str(&row("vus", t1 + s * 1000, (s % 3) as f64, ""));
                if drops && s % 10 == 0 {
                    text.push_str(&row("dropped_iterations", t1 + s * 1000, 1.0, "load"));
                }
            }
            for k in 0..2400 {
                let start = t1 + k * 50;
                text.push_str(&row("http_reqs", start + 80, 1.0, "load"));
                text.push_str(&row("http_req_duration", start + 80, 80.0, "load"));
                text.push_str(&row("iteration_duration", start + 80, 80.0, "load"));
            }
            text
        };
        let f = dir.join("seq.csv");
        for drops in [false, true] {
            std::fs::write(&f, run(drops)).unwrap();
            let pts = from_stream(&f, Format::Csv, None).unwrap();
            let got: Vec<(LoadKind, f64)> = pts.iter().map(|p| (p.kind, p.load)).collect();
            assert_eq!(got.len(), 2, "{got:?}");
            assert_eq!(got[0], (LoadKind::Closed, 10.0), "{got:?}");
            assert_eq!(got[1].0, LoadKind::Open, "{got:?}");
            assert!((got[1].1 / 20.0 - 1.0).abs() < 0.02, "{got:?}");
            assert!(
                pts[0].source.contains("scenario \"warm\""),
                "{}",
                pts[0].source
            );
            assert!(
                pts[1].source.contains("scenario \"load\""),
                "{}",
                pts[1].source
            );
            // Each point measures its own scenario's requests only.
            assert!(
                (pts[0].lat_mean - 0.050).abs() < 0.001,
                "{}",
                pts[0].lat_mean
            );
            assert!(
                (pts[1].lat_mean - 0.080).abs() < 0.001,
                "{}",
                pts[1].lat_mean
            );
        }
        // Given a kind, the run is read as one: as closed, only `warm` holds its gauge.
        let pts = from_stream(&f, Format::Csv, Some(LoadKind::Closed)).unwrap();
        assert!(pts
            .iter()
            .all(|p| p.kind == LoadKind::Closed && p.load == 10.0));
        // No scenario held anything: the message names each and the kind it was read as.
        let mut short = String::from(header);
        for s in 0..20 {
            short.push_str(&row("vus", t0 + s * 1000, 5.0, ""));
            short.push_str(&row("iteration_duration", t0 + s * 1000, 100.0, "a"));
            short.push_str(&row(
                "iteration_duration",
                t0 + 30_000 + s * 1000,
                100.0,
                "b",
            ));
        }
        std::fs::write(&f, short).unwrap();
        let e = from_stream(&f, Format::Csv, None).unwrap_err().to_string();
        assert!(
            e.contains("seq.csv") && e.contains("\"a\" read as") && e.contains("\"b\" read as"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
