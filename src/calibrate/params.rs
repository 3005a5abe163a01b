//! Free parameters: `--fit PATH[=LO..HI]`, any numeric field or distribution named with the
//! `--set` path syntax. A distribution is fitted through its mean: every duration inside it is
//! rescaled by one factor, so the shape is kept and, with common random numbers, each draw is
//! the same unit variate times a new scale.

use crate::config::{overrides, Loaded};
use crate::dist::{format_duration, parse_duration, Dist};
use crate::error::{Error, Result};
use serde_json::Value;

#[derive(Clone, Debug)]
pub enum Form {
    Number,
    /// A whole-number field (a pool size, replicas, cores): tried at the nearest integer, since
    /// the model cannot take `2.5` connections.
    Count,
    /// A distribution string; the parameter is its mean in seconds.
    Dist(String),
    /// A wildcard path (`services.*.endpoints.*[*].db.time`): one factor scales every field it
    /// matches, each from its own current value (numbers and distributions alike).
    Scale(Vec<(String, Value)>),
}

#[derive(Clone, Debug)]
pub struct FreeParam {
    /// The full path (shorthands resolved).
    pub path: String,
    pub form: Form,
    pub initial: f64,
    pub lo: f64,
    pub hi: f64,
    /// Searched on a log scale (both bounds positive).
    pub log: bool,
}

fn usage(spec: &str, msg: impl std::fmt::Display) -> Error {
    Error::Usage(format!("--fit {spec:?}: {msg}"))
}

/// A bound: a number, or a duration (in seconds) for a distribution parameter.
fn bound(spec: &str, raw: &str, form: &Form) -> Result<f64> {
    let raw = raw.trim();
    if let Ok(v) = raw.parse::<f64>() {
        if v.is_finite() {
            return Ok(v);
        }
    }
    match form {
        Form::Dist(_) => parse_duration(raw)
            .map(|ns| ns as f64 / 1e9)
            .map_err(|e| usage(spec, format!("bound {raw:?}: {e}"))),
        _ => Err(usage(spec, format!("bound {raw:?} is not a number"))),
    }
}

/// The last key of a path (`services.db.pod.contention.usl.kappa` → `kappa`).
fn last_key(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The lowest κ searched, as a fraction of the range's top: κ is searched on a log scale
/// (κ = e^w, calibration.md §3), and a range from 0 starts at this floor instead. A fit that
/// ends on the floor is reported at its bound, which reads "κ ≈ 0".
pub const KAPPA_FLOOR: f64 = 1e-6;

/// Default range when none is given: contention parameters by their meaning, anything else
/// a factor of 10 either side of its current value.
fn default_range(path: &str, v: f64) -> Option<(f64, f64)> {
    match last_key(path) {
        "sigma" => Some((0.0, 0.99)),
        "kappa" => Some((0.1 * KAPPA_FLOOR, 0.1)),
        "alpha" => Some((0.0, 2.0)),
        _ if v > 0.0 => Some((v / 10.0, v * 10.0)),
        _ => None,
    }
}

/// Does a leaf path match a pattern where `*` is any run of one key's characters, `[*]` any
/// list index, `**` any number of segments and `|` separates alternatives?
pub fn glob(pattern: &str, path: &str) -> bool {
    pattern.split('|').any(|p| glob_one(p, path))
}

fn glob_one(pattern: &str, path: &str) -> bool {
    #[derive(Clone, Copy)]
    enum Tok {
        Byte(u8),
        Star,
        Stars,
    }
    let p = pattern.as_bytes();
    let mut toks = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        match (p[i], p.get(i + 1)) {
            (b'*', Some(b'*')) => {
                toks.push(Tok::Stars);
                i += 2;
            }
            (b'*', _) => {
                toks.push(Tok::Star);
                i += 1;
            }
            (c, _) => {
                toks.push(Tok::Byte(c));
                i += 1;
            }
        }
    }
    // Dynamic programming over the path's positions, one pattern token at a time from the end:
    // `m[j]` = the tokens from here on match `s[j..]`. Trying every split of every `*` (the
    // backtracking this replaces) took minutes for `--fit` `************************z`.
    let s = path.as_bytes();
    let n = s.len();
    let mut next = vec![false; n + 1];
    next[n] = true;
    let mut cur = vec![false; n + 1];
    for t in toks.iter().rev() {
        for j in (0..=n).rev() {
            cur[j] = match *t {
                Tok::Byte(c) => j < n && s[j] == c && next[j + 1],
                // Empty, or one more character of the same key.
                Tok::Star => {
                    next[j] || (j < n && !matches!(s[j], b'.' | b'[' | b']') && cur[j + 1])
                }
                Tok::Stars => next[j] || (j < n && cur[j + 1]),
            };
        }
        std::mem::swap(&mut next, &mut cur);
    }
    next[0]
}

/// `LO..HI` (or the default when absent), checked to be a non-empty range.
fn parse_range(
    spec: &str,
    range: Option<&str>,
    form: &Form,
    default: Option<(f64, f64)>,
    what: &str,
) -> Result<(f64, f64)> {
    let (lo, hi) = match range {
        Some(r) => {
            let (a, b) = r.split_once("..").ok_or_else(|| {
                usage(
                    spec,
                    format!("expected a range LO..HI after '=', found {r:?}"),
                )
            })?;
            (bound(spec, a, form)?, bound(spec, b, form)?)
        }
        None => default.ok_or_else(|| usage(spec, what.to_string()))?,
    };
    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        return Err(usage(
            spec,
            format!("empty or reversed range {lo}..{hi}: expected LO < HI"),
        ));
    }
    Ok((lo, hi))
}

/// A wildcard parameter: the scale factor of every numeric or distribution field it matches.
fn parse_tied(
    spec: &str,
    pattern: &str,
    range: Option<&str>,
    s_img: &Value,
    m_img: &Value,
) -> Result<FreeParam> {
    let mut found = Vec::new();
    for (img, prefix_ok) in [(s_img, true), (m_img, false)] {
        let mut all = Vec::new();
        overrides::leaves(img, "", &mut all);
        for (path, v) in all {
            if !glob(pattern, &path) || (prefix_ok && !overrides::in_scenario(s_img, &path)) {
                continue;
            }
            let ok = match v {
                Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
                Value::String(t) => Dist::parse(t).is_ok_and(|d| d.mean_ns() > 0.0),
                _ => false,
            };
            if ok {
                found.push((path, v.clone()));
            }
        }
    }
    if found.is_empty() {
        return Err(usage(
            spec,
            format!("the pattern {pattern:?} matches no numeric or distribution field (`*` is one key, `[*]` any index, `**` any depth)"),
        ));
    }
    let (lo, hi) = parse_range(spec, range, &Form::Number, Some((0.1, 10.0)), "")?;
    if lo <= 0.0 {
        return Err(usage(
            spec,
            "a scale factor must stay above zero: expected LO > 0",
        ));
    }
    Ok(FreeParam {
        path: pattern.to_string(),
        form: Form::Scale(found),
        initial: 1.0f64.clamp(lo, hi),
        lo,
        hi,
        log: hi / lo > 20.0,
    })
}

pub fn parse(spec: &str, base: &Loaded) -> Result<FreeParam> {
    let (path, range) = match spec.split_once('=') {
        Some((p, r)) => (p.trim(), Some(r.trim())),
        None => (spec.trim(), None),
    };
    let ser = |e: serde_json::Error| Error::Usage(format!("internal: {e}"));
    let s_img = serde_json::to_value(&base.scenario).map_err(ser)?;
    let m_img = serde_json::to_value(&base.model).map_err(ser)?;
    if path.contains('*') {
        return parse_tied(spec, path, range, &s_img, &m_img);
    }
    let (full, cur) = overrides::get(&s_img, &m_img, path).map_err(|e| usage(spec, e))?;
    let (form, initial) = match &cur {
        Value::Number(n) if is_whole(n) => (Form::Count, n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => (Form::Number, n.as_f64().unwrap_or(0.0)),
        Value::String(s) => match Dist::parse(s) {
            Ok(d) => (Form::Dist(s.clone()), d.mean_ns() / 1e9),
            Err(_) => {
                return Err(usage(
                    spec,
                    format!("{full} is {s:?}, which is neither a number nor a distribution"),
                ))
            }
        },
        other => {
            return Err(usage(
                spec,
                format!("{full} is {other}, not a number or a distribution: name a numeric field"),
            ))
        }
    };
    if let Form::Dist(_) = form {
        if initial <= 0.0 {
            return Err(usage(
                spec,
                format!("{full} has mean 0; a zero distribution cannot be rescaled"),
            ));
        }
    }
    let default = default_range(&full, initial);
    let hint = format!("{full} is {initial}: give a range, e.g. {path}=0.001..1");
    let (mut lo, hi) = parse_range(spec, range, &form, default, &hint)?;
    check_valid(spec, &full, lo, hi)?;
    let kappa = last_key(&full) == "kappa";
    if kappa && lo == 0.0 {
        lo = hi * KAPPA_FLOOR;
    }
    if let Form::Dist(_) = form {
        if lo <= 0.0 {
            return Err(usage(
                spec,
                "a distribution's mean must stay above zero: expected LO > 0",
            ));
        }
    }
    Ok(FreeParam {
        path: full,
        form,
        initial: initial.clamp(lo, hi),
        lo,
        hi,
        log: lo > 0.0 && (kappa || hi / lo > 20.0),
    })
}

/// The range must lie where the field is valid: σ ∈ [0, 1), κ and α ≥ 0, cores > 0, and a
/// time (`*_time`, `*_s`, `*_ms`) > 0; the model would refuse anything else mid-fit.
fn check_valid(spec: &str, full: &str, lo: f64, hi: f64) -> Result<()> {
    let key = last_key(full);
    let (ok, valid) = match key {
        "sigma" => (lo >= 0.0 && hi < 1.0, "0 <= sigma < 1, e.g. 0..0.99"),
        "kappa" => (lo >= 0.0, "kappa >= 0, e.g. 0..0.1"),
        "alpha" | "beta" => (lo >= 0.0, "a value >= 0, e.g. 0..2"),
        "cores" => (lo > 0.0, "cores > 0, e.g. 0.5..16"),
        k if k == "time" || k.ends_with("_time") || k.ends_with("_s") || k.ends_with("_ms") => {
            (lo > 0.0, "a time > 0")
        }
        _ => (true, ""),
    };
    if ok {
        Ok(())
    } else {
        Err(usage(
            spec,
            format!("the range {lo}..{hi} leaves the valid values of {full}: expected {valid}"),
        ))
    }
}

/// An integer in the scenario's image: the field is a count (serde writes integer types so).
fn is_whole(n: &serde_json::Number) -> bool {
    n.is_u64() || n.is_i64()
}

/// `v` rounded to a whole number for an integer field (nearest, ties away from zero; a
/// negative value stays negative so the field's own validation names it).
fn whole(v: f64) -> Value {
    let r = v.round();
    if r >= 0.0 {
        serde_json::json!(r as u64)
    } else {
        serde_json::json!(r as i64)
    }
}

impl FreeParam {
    /// The `--set` path/value pairs for `v`.
    pub fn render(&self, v: f64) -> Vec<(String, Value)> {
        let dist = |template: &str, f: f64| Value::String(scale_durations(template, f));
        match &self.form {
            Form::Number => vec![(self.path.clone(), serde_json::json!(v))],
            Form::Count => vec![(self.path.clone(), whole(v))],
            Form::Dist(template) => {
                let mean0 = Dist::parse(template)
                    .map(|d| d.mean_ns() / 1e9)
                    .unwrap_or(1.0);
                vec![(self.path.clone(), dist(template, v / mean0))]
            }
            Form::Scale(fields) => fields
                .iter()
                .map(|(p, base)| {
                    let val = match base {
                        Value::String(t) => dist(t, v),
                        Value::Number(n) if is_whole(n) => whole(n.as_f64().unwrap_or(0.0) * v),
                        other => serde_json::json!(other.as_f64().unwrap_or(0.0) * v),
                    };
                    (p.clone(), val)
                })
                .collect(),
        }
    }

    /// How the value reads in reports.
    pub fn describe(&self, v: f64) -> String {
        match &self.form {
            Form::Number => super::fmt_num(v),
            Form::Count => super::value_text(&whole(v)),
            Form::Dist(_) => self
                .render(v)
                .first()
                .map(|(_, x)| super::value_text(x))
                .unwrap_or_default(),
            Form::Scale(f) => format!("×{} ({} fields)", super::fmt_num(v), f.len()),
        }
    }

    /// Search coordinate u ∈ ℝ → value in (lo, hi), through a logistic (on a log scale when
    /// `log`), so the optimiser never leaves the bounds.
    pub fn from_u(&self, u: f64) -> f64 {
        let s = 1.0 / (1.0 + (-u).exp());
        if self.log {
            (self.lo.ln() + (self.hi.ln() - self.lo.ln()) * s).exp()
        } else {
            self.lo + (self.hi - self.lo) * s
        }
    }

    pub fn to_u(&self, v: f64) -> f64 {
        let s = if self.log {
            (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        let s = s.clamp(1e-6, 1.0 - 1e-6);
        (s / (1.0 - s)).ln()
    }

    /// Within 0.1 % of the range of a bound.
    pub fn at_bound(&self, v: f64) -> bool {
        let span = if self.log {
            (self.hi / self.lo).ln()
        } else {
            self.hi - self.lo
        };
        let (dl, dh) = if self.log {
            ((v / self.lo).ln(), (self.hi / v).ln())
        } else {
            (v - self.lo, self.hi - v)
        };
        dl.min(dh) < 1e-3 * span
    }
}

/// Every duration token inside a distribution string (`20ms`, `1m30s`), multiplied by `f`.
pub fn scale_durations(s: &str, f: f64) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '.'));
        if starts {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '.' || chars[j] == 'µ')
            {
                j += 1;
            }
            let tok: String = chars[i..j].iter().collect();
            if tok.chars().any(|c| c.is_alphabetic()) {
                if let Ok(ns) = parse_duration(&tok) {
                    out.push_str(&format_duration((ns as f64 * f).round().max(0.0) as u64));
                    i = j;
                    continue;
                }
            }
            out.push_str(&tok);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_inside_distributions_rescale_and_shape_parameters_do_not() {
        let f = |s: &str, k: f64| Dist::parse(&scale_durations(s, k)).unwrap().mean_ns();
        for s in [
            "exp(mean=10ms)",
            "lognormal(p50=20ms, p99=100ms)",
            "uniform(1s,3s)",
            "const(1m30s)",
            "lognormal(mean=120ms, cv=0.5)",
        ] {
            let m0 = Dist::parse(s).unwrap().mean_ns();
            let m1 = f(s, 2.5);
            assert!((m1 / m0 - 2.5).abs() < 1e-3, "{s}: {m0} -> {m1}");
        }
        assert!(scale_durations("lognormal(mean=120ms, cv=0.5)", 2.0).contains("cv=0.5"));
    }

    #[test]
    fn wildcards_match_one_key_any_index_or_any_depth() {
        assert!(glob(
            "services.*.endpoints.*[*].db.time",
            "services.backend.endpoints.status[3].db.time"
        ));
        assert!(!glob(
            "services.*.endpoints.*[*].db.time",
            "services.backend.endpoints.status[3].cache_read.miss.time"
        ));
        assert!(glob(
            "services.**.time",
            "services.backend.endpoints.status[3].cache_read.miss.time"
        ));
        assert!(!glob("services.*.pod.cores", "services.a.b.pod.cores"));
        assert!(glob(
            "services.api.endpoints.*[*].delay",
            "services.api.endpoints.status[0].delay"
        ));
        assert!(glob("a.*.x|b.**.y", "b.c.d.y") && !glob("a.*.x|b.**.y", "a.c.d.x"));
        assert!(glob("**", "") && glob("*", "") && !glob("a", "") && glob("", ""));
        assert!(glob("a***.z", "a.b.c.z") && glob("*[*]", "tx[0]") && !glob("*", "a.b"));
    }

    /// `--fit '************************z'` took minutes (every split of every `*` tried, and
    /// `**` chains were exponential in the path's length): now linear in pattern × path.
    #[test]
    fn many_stars_match_in_linear_time() {
        let t = std::time::Instant::now();
        let path = "services.db.endpoints.tx[0].cpu.mean.of.a.rather.long.path[12]";
        for pat in [
            "*".repeat(24) + "z",
            "**".repeat(5000) + "z",
            "*.".repeat(3000) + "z",
        ] {
            assert!(!glob(&pat, path), "{pat}");
        }
        assert!(glob(&("**".repeat(5000) + "path[12]"), path));
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
    }

    /// A whole-number field (replicas, a pool size) is tried at the nearest integer: the model
    /// refuses `2.6` replicas, which made `--fit services.web.replicas` fail outright.
    #[test]
    fn integer_fields_are_fitted_at_whole_numbers() {
        let qs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.yaml");
        let base = crate::config::load(&qs, &[]).unwrap();
        let p = parse("services.web.replicas=1..6", &base).unwrap();
        assert!(matches!(p.form, Form::Count));
        let set = p.render(2.6);
        assert_eq!(set, vec![(p.path.clone(), serde_json::json!(3))]);
        assert_eq!(p.describe(2.4), "2");
        let sets: Vec<String> = set
            .iter()
            .map(|(k, v)| format!("{k}={}", super::super::value_text(v)))
            .collect();
        assert_eq!(
            base.with_sets(&sets).unwrap().model.services["web"].replicas,
            3
        );
        // A tied scale over integer and fractional fields rounds only the integer ones.
        let t = parse("services.*.replicas=0.5..4", &base).unwrap();
        for (_, v) in t.render(1.7) {
            assert!(v.is_u64(), "{v}");
        }
        assert!(base
            .with_sets(
                &t.render(1.7)
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
            )
            .is_ok());
        // A fractional field stays fractional.
        let f = parse("services.web.endpoints.home[0].cpu=1ms..10ms", &base).unwrap();
        assert!(matches!(f.form, Form::Dist(_)));
    }

    #[test]
    fn search_coordinates_stay_inside_bounds_and_invert() {
        let p = FreeParam {
            path: "x".into(),
            form: Form::Number,
            initial: 0.01,
            lo: 1e-4,
            hi: 1.0,
            log: true,
        };
        for v in [2e-4, 0.01, 0.5] {
            assert!((p.from_u(p.to_u(v)) / v - 1.0).abs() < 1e-9);
        }
        assert!(p.from_u(-800.0) >= p.lo && p.from_u(800.0) <= p.hi);
    }

    fn usl_base() -> Loaded {
        let model = "entry: db\nservices:\n  db:\n    replicas: 1\n    pod: {cores: 4, contention: {usl: {sigma: 0.2, kappa: 0.01}}}\n    endpoints:\n      tx:\n        - cpu: exp(mean=25ms)\n";
        let scen = "model: m.yaml\nflows:\n  loop:\n    steps:\n      - request: tx\n\
            scenarios:\n  clients:\n    executor: constant-vus\n    vus: 1\n    duration: 60s\n";
        crate::config::from_strs(scen, model).unwrap()
    }

    /// Audit c6: κ is searched on a log scale with a floor (κ = e^w), so 5e-5 is well inside
    /// the default range and not "at a bound" of [0, 0.1]; a range from 0 starts at the floor.
    #[test]
    fn kappa_is_searched_on_a_log_scale() {
        let base = usl_base();
        for spec in [
            "services.db.pod.contention.usl.kappa",
            "services.db.pod.contention.usl.kappa=0..0.1",
            "services.db.pod.contention.usl.kappa=0.00001..0.0001",
        ] {
            let k = parse(spec, &base).unwrap();
            assert!(k.log && k.lo > 0.0, "{spec}: {k:?}");
            assert!(!k.at_bound(5e-5), "{spec}: {k:?}");
            assert!(k.at_bound(k.lo) && k.at_bound(k.hi));
        }
        let k = parse("services.db.pod.contention.usl.kappa=0..0.1", &base).unwrap();
        assert!((k.lo - 0.1 * KAPPA_FLOOR).abs() < 1e-18);
    }

    /// `--fit` ranges outside the valid values are refused, naming the argument and the
    /// valid interval.
    #[test]
    fn ranges_outside_valid_values_are_refused() {
        let base = usl_base();
        let usl = "services.db.pod.contention.usl";
        for (spec, want) in [
            (format!("{usl}.sigma=0..1"), "0 <= sigma < 1"),
            (format!("{usl}.sigma=-0.5..0.5"), "0 <= sigma < 1"),
            (format!("{usl}.kappa=-1..1"), "kappa >= 0"),
            ("services.db.pod.cores=0..8".into(), "cores > 0"),
            ("services.db.pod.cores=-2..8".into(), "cores > 0"),
            (
                "services.db.endpoints.tx[0].cpu=0ms..5ms".into(),
                "above zero",
            ),
        ] {
            let e = parse(&spec, &base).unwrap_err().to_string();
            assert!(e.contains(&spec) && e.contains(want), "{spec}: {e}");
        }
        assert!(parse(&format!("{usl}.sigma=0..0.99"), &base).is_ok());
        assert!(parse("services.db.pod.cores=1..8", &base).is_ok());
    }
}
