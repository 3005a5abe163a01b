//! Reading surge's own output files back (for `surge report` and `surge compare`): the
//! time series, the scale-event log and the run summary. Each error names the file and line.

use crate::error::{Error, Result};
use crate::metrics::TimeSeries;
use serde_json::Value;
use std::path::Path;

/// A file surge wrote, read back through the capped, UTF-8-checked read of input files: a
/// missing, huge or binary file is bad input (exit 2), named with its line and column.
fn read(path: &Path) -> Result<String> {
    crate::config::read_text(path)
}

/// `summary.json` of a run directory.
pub fn summary(dir: &Path) -> Result<Value> {
    let path = dir.join("summary.json");
    let text = read(&path)?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Error::input(&path, format!("line {}", e.line()), e.to_string()))?;
    // Valid JSON of another shape would otherwise render as an empty page.
    for key in ["metrics", "surge"] {
        if !v.get(key).is_some_and(Value::is_object) {
            return Err(Error::input(
                &path,
                format!("field {key}"),
                format!(
                    "expected the summary.json a surge run writes: an object with a `{key}` object"
                ),
            ));
        }
    }
    Ok(v)
}

/// Splits one CSV record written by surge: fields separated by commas, optionally quoted
/// (surge's writers never put a quote inside a quoted field).
pub fn split_record(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    out.push(cur);
    out
}

/// `timeseries.csv`: a header of column names, then numbers; an empty field is "no data" (NaN).
pub fn timeseries(path: &Path) -> Result<TimeSeries> {
    let text = read(path)?;
    parse_timeseries(path, &text)
}

/// The time series a surge run writes: a header of column names starting with `t_s`, then
/// rows of finite numbers (empty: no data in that interval), `t_s` never going back. Anything
/// else (another file, a truncated or edited one) is refused at its line and column.
pub fn parse_timeseries(path: &Path, text: &str) -> Result<TimeSeries> {
    let mut lines = text.lines();
    let header = lines
        .next()
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| {
            Error::input(
                path,
                "line 1",
                "expected the header of a surge timeseries.csv (column names, starting with t_s)",
            )
        })?;
    let columns: Vec<String> = header.split(',').map(|s| s.to_string()).collect();
    if columns[0] != "t_s" {
        return Err(Error::input(
            path,
            "line 1, column 1",
            format!(
                "expected the header of a surge timeseries.csv, starting with t_s; found {:?}",
                short(&columns[0])
            ),
        ));
    }
    // Where each name was first seen: a header of 100,000 columns took seconds per pass when
    // each column searched the ones before it.
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (k, c) in columns.iter().enumerate() {
        let name_ok = !c.is_empty()
            && c.chars()
                .all(|ch| !ch.is_control() && !ch.is_whitespace() && ch != '"');
        if !name_ok {
            return Err(Error::input(
                path,
                format!("line 1, column {}", k + 1),
                format!("expected a column name, found {:?}", short(c)),
            ));
        }
        if let Some(&first) = seen.get(c.as_str()) {
            return Err(Error::input(
                path,
                format!("line 1, column {}", k + 1),
                format!(
                    "the column {c:?} appears twice (columns {} and {}); expected each once",
                    first + 1,
                    k + 1
                ),
            ));
        }
        seen.insert(c, k);
    }
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let at = i + 2;
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != columns.len() {
            return Err(Error::input(
                path,
                format!("line {at}"),
                format!(
                    "expected {} fields like the header, found {}",
                    columns.len(),
                    fields.len()
                ),
            ));
        }
        let mut row = Vec::with_capacity(fields.len());
        for (k, f) in fields.iter().enumerate() {
            let where_ = || format!("line {at}, column {} ({})", k + 1, columns[k]);
            let x = if f.is_empty() {
                f64::NAN
            } else {
                match f.parse::<f64>() {
                    Ok(x) if x.is_finite() => x,
                    _ => {
                        return Err(Error::input(
                            path,
                            where_(),
                            format!(
                                "expected a finite number (or an empty field: no data), found \
                                 {:?}",
                                short(f)
                            ),
                        ))
                    }
                }
            };
            row.push(x);
        }
        let t = row[0];
        let prev = rows.last().map(|r| r[0]);
        if !(t >= 0.0 && prev.is_none_or(|p| t >= p)) {
            return Err(Error::input(
                path,
                format!("line {at}, column 1 (t_s)"),
                match prev {
                    _ if t.is_nan() => "expected the interval's end time in seconds, found an \
                                        empty field"
                        .to_string(),
                    Some(p) if t >= 0.0 => {
                        format!("expected times that never go back: {t} s is before {p} s")
                    }
                    _ => format!("expected a time in seconds, 0 or more; found {t}"),
                },
            ));
        }
        rows.push(row);
    }
    Ok(TimeSeries { columns, rows })
}

/// A field as quoted in a message: at most 60 characters.
fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s.to_string()
    }
}

/// A CSV file with a header, as (header, records) of text fields.
pub fn records(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let text = read(path)?;
    let mut lines = text.lines().filter(|l| !l.is_empty());
    let header = lines.next().map(split_record).unwrap_or_default();
    Ok((header, lines.map(split_record).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas() {
        assert_eq!(
            split_record("1.5,api,2,4,\"a, b\",\"\""),
            vec!["1.5", "api", "2", "4", "a, b", ""]
        );
    }

    #[test]
    fn timeseries_round_trips_and_names_bad_lines() {
        let p = Path::new("x/timeseries.csv");
        let ts = parse_timeseries(p, "t_s,a\n1,2\n2,\n").unwrap();
        assert_eq!(ts.columns, vec!["t_s", "a"]);
        assert!(ts.rows[1][1].is_nan());
        let e = parse_timeseries(p, "t_s,a\n1,zz\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x/timeseries.csv") && e.contains("line 2"),
            "{e}"
        );
        let e = parse_timeseries(p, "t_s,a\n1\n").unwrap_err().to_string();
        assert!(e.contains("expected 2 fields"), "{e}");
    }

    /// A header of 200,000 columns took tens of seconds (each column searched the ones before
    /// it for a duplicate): now one pass, and the repeated column is still named.
    #[test]
    fn a_wide_header_is_checked_in_linear_time() {
        let p = Path::new("x/timeseries.csv");
        let n = 200_000;
        let mut text = String::from("t_s");
        for i in 0..n {
            text.push_str(&format!(",c{i}"));
        }
        let t = std::time::Instant::now();
        let e = parse_timeseries(p, &format!("{text},c7\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("line 1, column {}", n + 2)) && e.contains("columns 9 and"),
            "{e}"
        );
        assert!(parse_timeseries(p, &format!("{text}\n")).is_ok());
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
    }
}
