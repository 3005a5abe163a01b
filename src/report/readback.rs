//! Reading surge's own output files back (for `surge report` and `surge compare`): the
//! time series, the scale-event log and the run summary. Each error names the file and line.

use crate::error::{Error, Result};
use crate::metrics::TimeSeries;
use serde_json::Value;
use std::path::Path;

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
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
                    "expected the summary.json a surge run writes: an object with a `{key}`                      object"
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

pub fn parse_timeseries(path: &Path, text: &str) -> Result<TimeSeries> {
    let mut lines = text.lines();
    let header = lines
        .next()
        .ok_or_else(|| Error::input(path, "line 1", "expected a header of column names"))?;
    let columns: Vec<String> = header.split(',').map(|s| s.to_string()).collect();
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let row: Vec<f64> = line
            .split(',')
            .map(|f| {
                if f.is_empty() {
                    Ok(f64::NAN)
                } else {
                    f.parse::<f64>().map_err(|_| {
                        Error::input(
                            path,
                            format!("line {}", i + 2),
                            format!("expected a number, found {f:?}"),
                        )
                    })
                }
            })
            .collect::<Result<_>>()?;
        if row.len() != columns.len() {
            return Err(Error::input(
                path,
                format!("line {}", i + 2),
                format!(
                    "expected {} fields like the header, found {}",
                    columns.len(),
                    row.len()
                ),
            ));
        }
        rows.push(row);
    }
    Ok(TimeSeries { columns, rows })
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
}
