//! Sweep parameters: `--param PATH=50,60,70` (a list) or `--param PATH=10..30:5` (an inclusive
//! range with a step). PATH is a `--set` path into the scenario or model.

use crate::config::{overrides, Loaded};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most values one range may expand to (a typo like `1..1e9` should not allocate forever).
const MAX_RANGE_VALUES: usize = 10_000;

/// One value of a parameter: a number, or text for enumerated fields and durations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PValue {
    Num(f64),
    Text(String),
}

impl PValue {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PValue::Num(x) => Some(*x),
            PValue::Text(_) => None,
        }
    }
}

impl fmt::Display for PValue {
    /// Integral numbers print without a fraction so they can set integer fields (`replicas=4`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PValue::Num(x) if x.fract() == 0.0 && x.abs() < 1e15 => write!(f, "{}", *x as i64),
            PValue::Num(x) => write!(f, "{x}"),
            PValue::Text(s) => f.write_str(s),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub path: String,
    pub values: Vec<PValue>,
}

impl Param {
    pub fn numeric(&self) -> bool {
        self.values.iter().all(|v| v.as_f64().is_some())
    }

    /// The `--set` string for value `i`.
    pub fn set(&self, i: usize) -> String {
        format!("{}={}", self.path, self.values[i])
    }
}

fn usage(arg: &str, msg: impl fmt::Display) -> Error {
    Error::Usage(format!("--param {arg:?}: {msg}"))
}

fn number(arg: &str, s: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| usage(arg, format!("{s:?} is not a number")))
}

/// Rounds away the binary noise of `start + i * step` (0.1 + 0.2 ≠ 0.3).
fn tidy(x: f64) -> f64 {
    let r = (x * 1e9).round() / 1e9;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

fn parse_value(raw: &str) -> PValue {
    match raw.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => PValue::Num(x),
        _ => PValue::Text(raw.trim().to_string()),
    }
}

/// Parse one `--param` argument (syntax only; [`check`] validates it against the files).
pub fn parse(arg: &str) -> Result<Param> {
    let (path, rhs) = arg.split_once('=').ok_or_else(|| {
        usage(
            arg,
            "expected PATH=V1,V2,... or PATH=START..END:STEP, e.g. services.web.replicas=2..8:2",
        )
    })?;
    let path = path.trim().to_string();
    if path.is_empty() {
        return Err(usage(arg, "empty path"));
    }
    let rhs = rhs.trim();
    let values = if let Some((a, rest)) = rhs.split_once("..") {
        let (b, step) = match rest.split_once(':') {
            Some((b, s)) => (b, number(arg, s)?),
            None => (rest, 1.0),
        };
        let (a, b) = (number(arg, a)?, number(arg, b)?);
        if step <= 0.0 {
            return Err(usage(arg, "the step must be positive"));
        }
        if b < a {
            return Err(usage(
                arg,
                format!("the range end {b} is below its start {a}"),
            ));
        }
        // Counted in f64: a tiny step gives more values than any integer holds.
        let count = ((b - a) / step + 1e-9).floor() + 1.0;
        if count > MAX_RANGE_VALUES as f64 {
            return Err(usage(
                arg,
                format!("the range has {count:.3e} values; at most {MAX_RANGE_VALUES}"),
            ));
        }
        let n = count as usize;
        (0..n)
            .map(|i| PValue::Num(tidy(a + i as f64 * step)))
            .collect()
    } else {
        rhs.split(',').map(parse_value).collect::<Vec<_>>()
    };
    if values
        .iter()
        .any(|v| matches!(v, PValue::Text(s) if s.is_empty()))
    {
        return Err(usage(arg, "empty value in the list"));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(usage(arg, format!("value {v} is listed twice")));
        }
    }
    Ok(Param { path, values })
}

/// Each path names an existing field (shorthands resolved, see `overrides::canonical`), no field
/// is swept twice, and each value is valid there on its own.
pub fn check(params: &[Param], base: &Loaded) -> Result<()> {
    let ser = |e: serde_json::Error| Error::Usage(format!("internal: {e}"));
    let s_img = serde_json::to_value(&base.scenario).map_err(ser)?;
    let m_img = serde_json::to_value(&base.model).map_err(ser)?;
    let mut seen: Vec<String> = Vec::new();
    for p in params {
        let arg = format!("{}=...", p.path);
        let full = overrides::canonical(&s_img, &m_img, &p.path).map_err(|e| usage(&arg, e))?;
        if seen.contains(&full) {
            return Err(usage(&arg, format!("{full} is swept twice")));
        }
        seen.push(full);
        for j in 0..p.values.len() {
            base.with_sets(&[p.set(j)])
                .map_err(|e| usage(&arg, format!("value {}: {e}", p.values[j])))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(p: &Param) -> Vec<f64> {
        p.values.iter().map(|v| v.as_f64().unwrap()).collect()
    }

    #[test]
    fn lists_and_ranges() {
        assert_eq!(
            nums(&parse("a.b=50,60,70").unwrap()),
            vec![50.0, 60.0, 70.0]
        );
        assert_eq!(
            nums(&parse("a=10..30:5").unwrap()),
            vec![10.0, 15.0, 20.0, 25.0, 30.0]
        );
        assert_eq!(nums(&parse("a=1..3").unwrap()), vec![1.0, 2.0, 3.0]);
        // The end is included even when floating-point steps do not land on it exactly.
        assert_eq!(
            nums(&parse("a=0.1..0.5:0.1").unwrap()),
            vec![0.1, 0.2, 0.3, 0.4, 0.5]
        );
        // A step that overshoots stops before the end.
        assert_eq!(nums(&parse("a=0..10:4").unwrap()), vec![0.0, 4.0, 8.0]);
        let e = parse("x=round_robin,least_outstanding").unwrap();
        assert!(!e.numeric());
        assert_eq!(e.set(1), "x=least_outstanding");
        assert_eq!(parse("r=4").unwrap().set(0), "r=4");
        assert_eq!(parse("r=2.5").unwrap().set(0), "r=2.5");
    }

    #[test]
    fn bad_syntax_names_the_flag() {
        for bad in [
            "nopath",
            "=1,2",
            "a=3..1",
            "a=1..5:0",
            "a=1..x",
            "a=1,,2",
            "a=1,1",
            "a=0..1e9:1",
            // More values than a usize counts: once wrapped to an empty range.
            "a=1..2:1e-300",
            "a=-1e308..1e308:1",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("--param"), "{bad}: {e}");
        }
    }
}
