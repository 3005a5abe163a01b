//! Measured points from a k6 time-series output (`k6 run --out json=FILE` or `--out csv=FILE`):
//! one closed point per plateau of the `vus` gauge. A stepped `ramping-vus` test (ramp, hold,
//! ramp, hold, ...) measures several load levels in one run; an end-of-test summary of it mixes
//! them (calibration.md §4: "reject it unless windows are given"), while its time series gives
//! each hold its own window.
//!
//! The file is read twice, line by line, so its size is not bounded by memory (k6 writes about
//! ten samples per request): first the `vus` samples, which give the windows, then the request
//! and iteration samples that fall inside a window.

use super::measured::{LoadKind, Point, Role};
use crate::error::{Error, Result};
use crate::metrics::Trend;
use serde::Deserialize;
use std::borrow::Cow;
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
}

/// One sample: (metric, time in ns since the epoch, value).
type Sample<'a> = (Cow<'a, str>, i64, f64);

/// A hold of the `vus` gauge: its level and the window measured (ns since the epoch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub vus: f64,
    pub from: i64,
    pub to: i64,
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
fn sample<'a>(path: &Path, format: Format, n: usize, line: &'a str) -> Result<Option<Sample<'a>>> {
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
            Ok(Some((e.metric, t, v)))
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
            Ok(Some((Cow::Borrowed(metric.trim()), t, v)))
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
        let len_s = (t1 - t0) as f64 / 1e9;
        if v > 0.0 && len_s >= MIN_PLATEAU_S {
            let warm = WARMUP_S.max(len_s / 10.0);
            out.push(Window {
                vus: v,
                from: t0 + (warm * 1e9) as i64,
                to: t1,
            });
        }
        i = j + 1;
    }
    out
}

#[derive(Default)]
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
}

/// One closed point per hold of the `vus` gauge in a k6 `--out json` or `--out csv` file.
pub fn from_stream(path: &Path, format: Format) -> Result<Vec<Point>> {
    let mut vus: Vec<(i64, f64)> = Vec::new();
    each_line(path, |n, line| {
        // Only `vus` samples matter on this pass: skip the others before parsing them.
        if format == Format::Json && !line.contains("\"vus\"") {
            return Ok(());
        }
        if let Some((m, t, v)) = sample(path, format, n, line)? {
            if m == "vus" {
                if vus.len() == MAX_VUS_SAMPLES {
                    return Err(Error::input(
                        path,
                        format!("line {n}"),
                        format!(
                            "more than {MAX_VUS_SAMPLES} `vus` samples: expected one a second \
                             (k6's own rate); split the run into files"
                        ),
                    ));
                }
                vus.push((t, v));
            }
        }
        Ok(())
    })?;
    if vus.is_empty() {
        return Err(Error::input(
            path,
            "",
            "no `vus` samples: expected the output of `k6 run --out json=FILE` or `--out csv=FILE`, \
             whose `vus` gauge gives the load levels",
        ));
    }
    vus.sort_by_key(|s| s.0);
    let wins = windows(&vus);
    if wins.is_empty() {
        return Err(Error::input(
            path,
            "vus",
            format!(
                "no hold of at least {MIN_PLATEAU_S} s at one VU count: expected a constant-vus \
                 run or a stepped ramping-vus run (ramp, hold, ramp, hold); for an arrival-rate \
                 test give its end-of-test summary as FILE@R/s"
            ),
        ));
    }
    if wins.len() > MAX_HOLDS {
        return Err(Error::input(
            path,
            "vus",
            format!(
                "{} holds of the `vus` gauge: expected at most {MAX_HOLDS} load levels in one run",
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
        let Some((m, t, v)) = sample(path, format, n, line)? else {
            return Ok(());
        };
        // Holds are disjoint and in time order: the first ending at or after `t` is the only
        // one that can hold it.
        let w = wins.partition_point(|w| w.to < t);
        if wins.get(w).is_none_or(|w| w.from > t) {
            return Ok(());
        }
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
    for (w, a) in wins.iter().zip(acc) {
        let secs = (w.to - w.from) as f64 / 1e9;
        if a.duration.count() == 0 || secs <= 0.0 {
            continue; // a hold without requests measured nothing
        }
        let iterations =
            (a.iter_n > 0.0).then(|| (w.vus, a.iterations / secs, a.iter_dur_ms / a.iter_n / 1e3));
        out.push(Point {
            source: format!("{name} hold at {} VUs ({:.0} s window):", w.vus, secs),
            kind: LoadKind::Closed,
            load: w.vus,
            throughput: a.reqs / secs,
            lat_mean: a.duration.avg_ms() / 1e3,
            lat_p95: Some(a.duration.percentile_ms(95.0) / 1e3),
            error_rate: (a.failed_n > 0.0).then(|| a.failed / a.failed_n),
            think: None,
            util: Vec::new(),
            cpu_s: Vec::new(),
            role: Role::Fit,
            iterations,
            dropped: a.saw_dropped.then_some(a.dropped),
        });
    }
    if out.is_empty() {
        return Err(Error::input(
            path,
            "http_req_duration",
            "no request samples inside any hold of the `vus` gauge: nothing was measured",
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
                vus: 10.0,
                from: 19 * s,
                to: 69 * s
            }
        );
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
        let e = from_stream(&f, Format::Csv).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("holds.csv") && e.contains("at most 1000"), "{e}");
    }
}
