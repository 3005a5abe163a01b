//! k6 threshold syntax: parsing, validation and evaluation.
//!
//! Follows k6 `metrics/thresholds_parser.go` (expressions), `ParseMetricName`
//! / `AddSubmetric` (selectors such as `http_req_duration{status:200}`) and
//! `metrics/thresholds.go` (config shape, evaluation).
//!
//! Expression grammar: `aggregation ws* op ws* float`, where the operator is
//! found by trying `<= < >= > === == !=` in that order and splitting on its
//! first occurrence (exactly as k6 scans), so `p(95)<<500` fails on the
//! right-hand side. Aggregations are case-sensitive; `p(N)` takes no inner
//! whitespace (k6 hands the raw text to `ParseFloat`). Both numbers are read as Go's
//! `strconv.ParseFloat` reads them ([`crate::gofloat`]): `1_000`, `0x1p-7`; `1e400` is refused.

use std::fmt;

use crate::gofloat::{self, GoFloatError};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The k6 metric types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Rate,
    Trend,
}

impl MetricKind {
    /// Lower-case name as k6 prints it ("counter", "trend", ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Rate => "rate",
            MetricKind::Trend => "trend",
        }
    }

    /// Aggregations k6 accepts for this kind, for error messages.
    pub fn valid_aggregations(&self) -> &'static str {
        match self {
            MetricKind::Counter => "count, rate",
            MetricKind::Gauge => "value",
            MetricKind::Rate => "rate",
            MetricKind::Trend => "avg, min, max, med, p(N)",
        }
    }
}

/// Left-hand side of a threshold expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregation {
    Count,
    Rate,
    Value,
    Avg,
    Min,
    Max,
    Med,
    /// `p(N)` with `0 <= N <= 100`.
    Percentile(f64),
}

impl Aggregation {
    /// The stat name as k6 prints it (its sink key): `avg`, `p(95)`, `p(99.9)`.
    pub fn label(&self) -> String {
        match self {
            Aggregation::Count => "count".into(),
            Aggregation::Rate => "rate".into(),
            Aggregation::Value => "value".into(),
            Aggregation::Avg => "avg".into(),
            Aggregation::Min => "min".into(),
            Aggregation::Max => "max".into(),
            Aggregation::Med => "med".into(),
            Aggregation::Percentile(p) => format!("p({})", go_g(*p)),
        }
    }

    /// Whether k6 accepts this aggregation on a metric of `kind`.
    pub fn is_valid_for(&self, kind: MetricKind) -> bool {
        use Aggregation as A;
        match kind {
            MetricKind::Counter => matches!(self, A::Count | A::Rate),
            MetricKind::Gauge => matches!(self, A::Value),
            MetricKind::Rate => matches!(self, A::Rate),
            MetricKind::Trend => {
                matches!(self, A::Avg | A::Min | A::Max | A::Med | A::Percentile(_))
            }
        }
    }
}

/// Formats like Go's `%g` (shortest repr; exponent form below 1e-4 or from 1e6).
fn go_g(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if (-4..6).contains(&exp) {
        format!("{x}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Comparison operator: `> >= <= < == === !=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Le,
    Lt,
    Eq,
    StrictEq,
    Ne,
}

/// Scan order matters: longer tokens sharing a prefix come first (as in k6).
const OP_TOKENS: [(&str, Op); 7] = [
    ("<=", Op::Le),
    ("<", Op::Lt),
    (">=", Op::Ge),
    (">", Op::Gt),
    ("===", Op::StrictEq),
    ("==", Op::Eq),
    ("!=", Op::Ne),
];

impl Op {
    pub fn symbol(&self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Eq => "==",
            Op::StrictEq => "===",
            Op::Ne => "!=",
        }
    }

    /// `lhs op rhs`; `==` and `===` are both plain float equality.
    #[allow(clippy::float_cmp)]
    pub fn holds(&self, lhs: f64, rhs: f64) -> bool {
        match self {
            Op::Gt => lhs > rhs,
            Op::Ge => lhs >= rhs,
            Op::Le => lhs <= rhs,
            Op::Lt => lhs < rhs,
            Op::Eq | Op::StrictEq => lhs == rhs,
            Op::Ne => lhs != rhs,
        }
    }
}

/// A threshold key: metric name plus optional submetric tags.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSelector {
    pub metric: String,
    /// Tags in the order written; quotes around keys/values are stripped.
    pub tags: Vec<(String, String)>,
}

/// A parsed expression; `source` is the text exactly as written (k6 uses it
/// verbatim as the threshold's name in summaries).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub source: String,
    pub agg: Aggregation,
    pub op: Op,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub expr: Expr,
    pub abort_on_fail: bool,
    /// k6 duration string (e.g. "10s"), kept verbatim.
    pub delay_abort_eval: Option<String>,
}

impl Threshold {
    /// `delayAbortEval` in ns (validated when the thresholds were read); none: abort at once.
    pub fn abort_delay_ns(&self) -> Option<i128> {
        self.delay_abort_eval
            .as_deref()
            .and_then(|d| abort_delay(d).ok())
    }
}

/// A `delayAbortEval` value: a k6 duration (a number is milliseconds), not negative.
pub(crate) fn abort_delay(d: &str) -> Result<i128, String> {
    let ns = crate::import::k6::k6_duration(d)?;
    if ns < 0 {
        return Err(format!(
            "{d:?} is negative: expected a duration such as 10s"
        ));
    }
    Ok(ns)
}

#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdSet {
    /// The key as written in the config.
    pub key: String,
    pub selector: MetricSelector,
    pub thresholds: Vec<Threshold>,
}

/// All thresholds of a test, in the config file's key order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Thresholds(pub Vec<ThresholdSet>);

/// What a threshold may not mean what its author meant: `vusers.failed` with `rate` was ensure's
/// maxErrorRate (a fraction of VUs) until session 12; it is now Artillery's counter, whose
/// `rate` is per second.
pub fn notes(t: &Thresholds) -> Vec<String> {
    t.0.iter()
        .filter(|s| s.selector.metric == "vusers.failed")
        .flat_map(|s| &s.thresholds)
        .filter(|t| t.expr.agg == Aggregation::Rate)
        .map(|t| {
            format!(
                "thresholds.vusers.failed: {:?}: vusers.failed is Artillery's counter, so `rate` \
                 is failed VUs per second; for the fraction of VUs that failed (ensure's \
                 maxErrorRate) use vusers.error_rate",
                t.expr.source
            )
        })
        .collect()
}

/// Outcome of one expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub key: String,
    pub expr: String,
    pub measured: Option<f64>,
    pub pass: bool,
    /// No samples: k6 skips the threshold, so it counts as passing.
    pub no_data: bool,
    /// What the verdict table shows instead of `measured`, when the number alone would not
    /// say what was measured (an ensure condition's value is its 1 or 0: the table shows the
    /// metrics it read).
    pub shown: Option<String>,
}

impl Verdict {
    /// The MEASURED cell: `shown`, else the number, else `no data`.
    pub fn measured_text(&self) -> String {
        match (&self.shown, self.measured) {
            (Some(s), _) => s.clone(),
            (None, Some(x)) => format!("{x:.4}"),
            (None, None) => "no data".into(),
        }
    }

    /// The `surge.verdict` record of summary.json (`shown` only where set).
    pub fn json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({"target": self.key, "expr": self.expr,
            "measured": self.measured, "pass": self.pass, "no_data": self.no_data});
        if let Some(s) = &self.shown {
            v["shown"] = serde_json::json!(s);
        }
        v
    }
}

const EXPR_SHAPE: &str = "expected <aggregation> <op> <number>, e.g. p(95)<500";

/// Parses a selector such as `http_req_duration{endpoint:claim,scenario:spike}`, accepting
/// exactly what k6 accepts: `ParseMetricName` (k6 `metrics/metric.go`, run on every threshold
/// key by `Thresholds.Validate`) and then `AddSubmetric` (the metrics engine's
/// `getThresholdMetricOrSubmetric`).
///
/// - The tag block runs from the first `{` to the last `}`, which must end the key, so braces
///   inside values are fine (`{name:http://${}.com}`, k6's `http.url` names).
/// - Each comma-separated tag needs a `:` followed by something (before trimming): `{a}`,
///   `{a:}` and `{a:b,}` are errors, `{a: }` and `{a:''}` give `a` the value "".
/// - Keys and values are split at their first `:` (`{group:::checkout}` is group
///   `::checkout`), trimmed of whitespace and then of `"` and `'`.
/// - A key given twice keeps its last value (k6's tag set).
/// - The metric name is taken as written (not trimmed): k6 then finds no metric named
///   `"http_reqs "`.
pub fn parse_selector(key: &str) -> Result<MetricSelector, String> {
    let (open, close) = (key.find('{'), key.rfind('}'));
    let (open, close) = match (open, close) {
        (None, None) => {
            if key.is_empty() {
                return Err("empty metric name".into());
            }
            return Ok(MetricSelector {
                metric: key.to_string(),
                tags: Vec::new(),
            });
        }
        (Some(o), Some(c)) => (o, c),
        _ => return Err("unmatched opening/closing curly brace in metric selector".into()),
    };
    if close < open {
        return Err("closing curly brace before the opening one in metric selector".into());
    }
    if close != key.len() - 1 {
        return Err("metric selector must end with its {tag:value,...} block".into());
    }
    let metric = &key[..open];
    if metric.is_empty() {
        return Err("empty metric name".into());
    }
    let body = &key[open + 1..close];
    let unquote = |s: &str| s.trim().trim_matches(['"', '\'']).to_string();
    let mut tags: Vec<(String, String)> = Vec::new();
    for part in body.split(',') {
        let value = part.split_once(':').map_or("", |(_, v)| v);
        if value.is_empty() {
            return Err(format!(
                "tag {:?} is not of the form name:value",
                part.trim()
            ));
        }
        let (k, v) = part.split_once(':').expect("checked above");
        let (k, v) = (unquote(k), unquote(v));
        match tags.iter_mut().find(|(t, _)| *t == k) {
            Some(slot) => slot.1 = v,
            None => tags.push((k, v)),
        }
    }
    Ok(MetricSelector {
        metric: metric.to_string(),
        tags,
    })
}

/// Parses an aggregation token: a keyword or `p(N)`.
fn parse_aggregation(s: &str) -> Result<Aggregation, String> {
    Ok(match s {
        "count" => Aggregation::Count,
        "rate" => Aggregation::Rate,
        "value" => Aggregation::Value,
        "avg" => Aggregation::Avg,
        "min" => Aggregation::Min,
        "max" => Aggregation::Max,
        "med" => Aggregation::Med,
        _ => {
            let inner = s
                .strip_prefix("p(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| {
                    if s.is_empty() {
                        format!("missing aggregation; {EXPR_SHAPE}")
                    } else {
                        format!(
                            "unknown aggregation {s:?}; expected count, rate, value, \
                             avg, min, max, med or p(N)"
                        )
                    }
                })?;
            let p = gofloat::parse_f64(inner).map_err(|e| match e {
                GoFloatError::Syntax => {
                    format!("malformed percentile {s:?}; expected p(N), 0 <= N <= 100")
                }
                GoFloatError::Range { negative } => format!(
                    "malformed percentile {s:?}: {}; expected p(N), 0 <= N <= 100",
                    past_range(inner, negative)
                ),
            })?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!(
                    "percentile {s:?} out of range; expected 0 <= N <= 100"
                ));
            }
            Aggregation::Percentile(p)
        }
    })
}

/// k6's `scanThresholdExpression`: the first operator of `<= < >= > === == !=` (in that order)
/// that occurs with something after it splits the expression; both sides are trimmed and
/// returned unchecked.
pub fn scan_expr(s: &str) -> Result<(&str, Op, &str), String> {
    OP_TOKENS
        .iter()
        .find_map(|(tok, op)| {
            s.split_once(tok)
                .filter(|(_, r)| !r.is_empty())
                .map(|(l, r)| (l.trim(), *op, r.trim()))
        })
        .ok_or_else(|| EXPR_SHAPE.to_string())
}

/// Says that a literal Go's ParseFloat refuses with a range error lies past f64's range.
fn past_range(literal: &str, negative: bool) -> String {
    if negative {
        format!("`{literal}` is past the smallest number (-1.8e308)")
    } else {
        format!("`{literal}` is past the largest number (1.8e308)")
    }
}

/// Parses `aggregation op number`, e.g. `p(95) < 500`, `rate<0.01`, `count>=1e3`.
pub fn parse_expr(s: &str) -> Result<Expr, String> {
    let (lhs, op, rhs) = scan_expr(s)?;
    let agg = parse_aggregation(lhs)?;
    // k6 reads the number with Go's ParseFloat: `1_000` and `0x1p-7` are numbers, `500ms` is
    // not, and `1e400` is an error rather than infinity.
    let value = gofloat::parse_f64(rhs).map_err(|e| match e {
        GoFloatError::Syntax => EXPR_SHAPE.to_string(),
        GoFloatError::Range { negative } => past_range(rhs, negative),
    })?;
    if value.is_nan() {
        return Err("threshold value must be a number, not NaN".into());
    }
    Ok(Expr {
        source: s.to_string(),
        agg,
        op,
        value,
    })
}

impl Thresholds {
    /// Checks each aggregation against its metric's kind (counter: count|rate;
    /// gauge: value; rate: rate; trend: avg|min|max|med|p(N)). All problems
    /// are reported, one per line.
    pub fn validate(&self, kind_of: &dyn Fn(&str) -> Option<MetricKind>) -> Result<(), String> {
        let mut errors = Vec::new();
        for set in &self.0 {
            let metric = &set.selector.metric;
            let Some(kind) = kind_of(metric) else {
                // The closure cannot be enumerated: list the k6 built-ins it knows.
                let known: Vec<&str> = BUILTIN_METRICS
                    .iter()
                    .copied()
                    .filter(|m| kind_of(m).is_some())
                    .collect();
                let known = if known.is_empty() {
                    "none of the k6 built-ins".to_string()
                } else {
                    known.join(", ")
                };
                errors.push(format!(
                    "thresholds.{:?}: unknown metric {metric:?} (known: {known})",
                    set.key
                ));
                continue;
            };
            for t in &set.thresholds {
                if !t.expr.agg.is_valid_for(kind) {
                    errors.push(format!(
                        "thresholds.{:?}: {:?}: aggregation {} is not valid for {} metric {metric:?}; valid: {}",
                        set.key,
                        t.expr.source,
                        t.expr.agg.label(),
                        kind.as_str(),
                        kind.valid_aggregations()
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }

    /// Evaluates every expression in order. `measure` gives the value of
    /// (selector, aggregation), or None when the metric has no samples; such
    /// thresholds are not evaluated by k6 and are reported as passing with
    /// `no_data = true`.
    pub fn evaluate(
        &self,
        measure: &dyn Fn(&MetricSelector, &Aggregation) -> Option<f64>,
    ) -> Vec<Verdict> {
        let mut out = Vec::new();
        for set in &self.0 {
            for t in &set.thresholds {
                let measured = measure(&set.selector, &t.expr.agg);
                let pass = measured.is_none_or(|v| t.expr.op.holds(v, t.expr.value));
                out.push(Verdict {
                    key: set.key.clone(),
                    expr: t.expr.source.clone(),
                    measured,
                    pass,
                    no_data: measured.is_none(),
                    shown: None,
                });
            }
        }
        out
    }

    /// k6's check while the test runs (metrics/engine `evaluateThresholds(true)`, every 2 s):
    /// metrics without samples are skipped (`measure` gives None); a failing threshold with
    /// `abortOnFail` whose `delayAbortEval` is shorter than `elapsed_ns` aborts the test. The
    /// keys of the failing sets that abort, in config order.
    pub fn abort_check(
        &self,
        elapsed_ns: u64,
        measure: &dyn Fn(&MetricSelector, &Aggregation) -> Option<f64>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for set in &self.0 {
            let aborts = set.thresholds.iter().any(|t| {
                t.abort_on_fail
                    && t.abort_delay_ns()
                        .is_none_or(|d| d < i128::from(elapsed_ns))
                    && measure(&set.selector, &t.expr.agg)
                        .is_some_and(|v| !t.expr.op.holds(v, t.expr.value))
            });
            if aborts {
                out.push(set.key.clone());
            }
        }
        out
    }

    /// Whether any threshold can abort the test.
    pub fn can_abort(&self) -> bool {
        self.0
            .iter()
            .flat_map(|s| &s.thresholds)
            .any(|t| t.abort_on_fail)
    }

    /// True when any threshold failed (k6 then exits with code 99).
    pub fn any_failed(verdicts: &[Verdict]) -> bool {
        verdicts.iter().any(|v| !v.pass)
    }
}

/// k6 built-in metric names, probed to list known metrics in errors.
const BUILTIN_METRICS: [&str; 17] = [
    "checks",
    "data_received",
    "data_sent",
    "dropped_iterations",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_duration",
    "http_req_failed",
    "http_req_receiving",
    "http_req_sending",
    "http_req_tls_handshaking",
    "http_req_waiting",
    "http_reqs",
    "iteration_duration",
    "iterations",
    "vus",
    "vus_max",
];

// ---- serde -----------------------------------------------------------------

/// Object form of one threshold, as in k6's JSON config (k6 `thresholdConfig`): a `null`
/// `abortOnFail` is false and `delayAbortEval` is a duration string or a number of
/// milliseconds (k6 `types.NullDuration`), as in k6. Unknown keys are refused (k6 ignores
/// them), so that a misspelt `abortOnFial` does not silently never abort.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawObject {
    threshold: String,
    #[serde(
        default,
        deserialize_with = "null_is_false",
        skip_serializing_if = "std::ops::Not::not"
    )]
    abort_on_fail: bool,
    #[serde(
        default,
        deserialize_with = "duration_or_millis",
        skip_serializing_if = "Option::is_none"
    )]
    delay_abort_eval: Option<String>,
}

/// Go's `json.Unmarshal` leaves a bool untouched on `null`.
fn null_is_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// A k6 duration: a string (`"10s"`, or a number of milliseconds written as a string), a
/// JSON number of milliseconds, or `null` (unset). Numbers are kept as their decimal text,
/// which `abort_delay` reads as milliseconds.
fn duration_or_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration such as \"10s\" or a number of milliseconds")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Some(s.to_string()))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_f64<E: de::Error>(self, x: f64) -> Result<Self::Value, E> {
            Ok(Some(x.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_option(V)
}

/// One list entry: a string or an object (parsed later, with the key known).
struct RawItem(RawObject);

impl RawItem {
    fn plain(s: &str) -> Self {
        RawItem(RawObject {
            threshold: s.to_string(),
            abort_on_fail: false,
            delay_abort_eval: None,
        })
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = RawItem;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a threshold string or {threshold, abortOnFail, delayAbortEval}")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<RawItem, E> {
        Ok(RawItem::plain(s))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawItem, A::Error> {
        RawObject::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawItem)
    }
}

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

/// A key's value: a list of items, or a single bare item.
struct RawList(Vec<RawItem>);

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = RawList;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of thresholds or a single threshold")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<RawList, E> {
        Ok(RawList(vec![RawItem::plain(s)]))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawList, A::Error> {
        ItemVisitor.visit_map(map).map(|i| RawList(vec![i]))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawList, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<RawItem>()? {
            items.push(item);
        }
        Ok(RawList(items))
    }
}

impl<'de> Deserialize<'de> for RawList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor)
    }
}

struct ThresholdsVisitor;

impl<'de> Visitor<'de> for ThresholdsVisitor {
    type Value = Thresholds;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of metric selector -> threshold expressions")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Thresholds, A::Error> {
        let mut sets: Vec<ThresholdSet> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let raw: RawList = map.next_value()?;
            if sets.iter().any(|s| s.key == key) {
                return Err(de::Error::custom(format!(
                    "thresholds.{key:?}: duplicate key"
                )));
            }
            let selector = parse_selector(&key)
                .map_err(|e| de::Error::custom(format!("thresholds.{key:?}: {e}")))?;
            let thresholds = raw
                .0
                .into_iter()
                .map(|RawItem(o)| {
                    let expr = parse_expr(&o.threshold).map_err(|e| {
                        de::Error::custom(format!("thresholds.{key:?}: {:?}: {e}", o.threshold))
                    })?;
                    if let Some(d) = &o.delay_abort_eval {
                        abort_delay(d).map_err(|e| {
                            de::Error::custom(format!(
                                "thresholds.{key:?}: {:?}: delayAbortEval: {e}",
                                o.threshold
                            ))
                        })?;
                    }
                    Ok(Threshold {
                        expr,
                        abort_on_fail: o.abort_on_fail,
                        delay_abort_eval: o.delay_abort_eval,
                    })
                })
                .collect::<Result<Vec<_>, A::Error>>()?;
            sets.push(ThresholdSet {
                key,
                selector,
                thresholds,
            });
        }
        Ok(Thresholds(sets))
    }
}

impl<'de> Deserialize<'de> for Thresholds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ThresholdsVisitor)
    }
}

/// Serialization form of one threshold: a plain string unless it has options.
#[derive(Serialize)]
#[serde(untagged)]
enum OutItem<'a> {
    Plain(&'a str),
    Object(RawObject),
}

impl Serialize for Thresholds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for set in &self.0 {
            let items: Vec<OutItem> = set
                .thresholds
                .iter()
                .map(|t| {
                    if !t.abort_on_fail && t.delay_abort_eval.is_none() {
                        OutItem::Plain(&t.expr.source)
                    } else {
                        OutItem::Object(RawObject {
                            threshold: t.expr.source.clone(),
                            abort_on_fail: t.abort_on_fail,
                            delay_abort_eval: t.delay_abort_eval.clone(),
                        })
                    }
                })
                .collect();
            map.serialize_entry(&set.key, &items)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Aggregation as A;

    fn ok(s: &str) -> (Aggregation, Op, f64) {
        let e = parse_expr(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"));
        assert_eq!(e.source, s);
        (e.agg, e.op, e.value)
    }

    #[test]
    fn valid_expressions() {
        let cases: &[(&str, Aggregation, Op, f64)] = &[
            ("p(95)<500", A::Percentile(95.0), Op::Lt, 500.0),
            ("p(95) < 500", A::Percentile(95.0), Op::Lt, 500.0),
            ("  p(95)\t<  500 ", A::Percentile(95.0), Op::Lt, 500.0),
            ("p(99.9)<1500", A::Percentile(99.9), Op::Lt, 1500.0),
            ("p(0)>=0", A::Percentile(0.0), Op::Ge, 0.0),
            ("p(100)<=2000", A::Percentile(100.0), Op::Le, 2000.0),
            ("rate<0.01", A::Rate, Op::Lt, 0.01),
            ("count>=10", A::Count, Op::Ge, 10.0),
            ("count > 10", A::Count, Op::Gt, 10.0),
            ("value==3", A::Value, Op::Eq, 3.0),
            ("value===3", A::Value, Op::StrictEq, 3.0),
            ("value!=0", A::Value, Op::Ne, 0.0),
            ("avg<=200.5", A::Avg, Op::Le, 200.5),
            ("min>-5", A::Min, Op::Gt, -5.0),
            ("max<1e3", A::Max, Op::Lt, 1000.0),
            ("med < 2.5E-1", A::Med, Op::Lt, 0.25),
            ("value >= -1e3", A::Value, Op::Ge, -1000.0),
            ("value==+7", A::Value, Op::Eq, 7.0),
            ("avg<.5", A::Avg, Op::Lt, 0.5),
        ];
        assert!(cases.len() >= 15);
        for (s, agg, op, v) in cases {
            assert_eq!(ok(s), (agg.clone(), *op, *v), "{s:?}");
        }
    }

    #[test]
    fn invalid_expressions() {
        let cases = [
            "",
            "   ",
            "p(95)",
            "p(95)<<500",
            "p(95)<500ms",
            "p(95)<500 600",
            "p()<500",
            "p(101)<500",
            "p(-1)<500",
            "p(nan)<500",
            "p( 95 )<500",
            "P(95)<500",
            "avgg<500",
            "<500",
            "avg<",
            "avg=500",
            "avg=>500",
            "avg<>500",
            "avg!==500",
            "avg<NaN",
            "avg<nan",
            "p(95<500",
            "p 95<500",
            "avg<5,0",
        ];
        assert!(cases.len() >= 15);
        for s in cases {
            assert!(parse_expr(s).is_err(), "{s:?} should be rejected");
        }
        assert_eq!(parse_expr("p(95)<<500").unwrap_err(), EXPR_SHAPE);
        assert!(parse_expr("foo<1")
            .unwrap_err()
            .contains("unknown aggregation"));
        assert!(parse_expr("p(101)<1").unwrap_err().contains("out of range"));
    }

    /// Numbers as Go's ParseFloat reads them (k6 thresholds_parser.go), not as Rust does.
    #[test]
    fn go_float_numbers() {
        assert_eq!(ok("p(95)<1_000"), (A::Percentile(95.0), Op::Lt, 1000.0));
        assert_eq!(ok("rate<0x1p-7"), (A::Rate, Op::Lt, 0.0078125));
        assert_eq!(ok("p(0x1.8p6)<5"), (A::Percentile(96.0), Op::Lt, 5.0));
        assert_eq!(ok("p(9_9.9)<1e1_0"), (A::Percentile(99.9), Op::Lt, 1e10));
        assert_eq!(ok("avg<1e-400"), (A::Avg, Op::Lt, 0.0));
        assert_eq!(ok("avg<-Infinity").2, f64::NEG_INFINITY);

        let err = parse_expr("p(95)<1e400").unwrap_err();
        assert_eq!(err, "`1e400` is past the largest number (1.8e308)");
        let err = parse_expr("min > -0x1p1024").unwrap_err();
        assert_eq!(err, "`-0x1p1024` is past the smallest number (-1.8e308)");
        let err = parse_expr("p(1e400)<5").unwrap_err();
        assert!(err.contains("`1e400` is past the largest number"), "{err}");

        for bad in [
            "avg<0x10",
            "avg<1p4",
            "avg<1_",
            "avg<1_.5",
            "avg<0x1.5e-2",
            "avg<-nan",
            "p(0x60)<5",
            "p(+nan)<5",
            "p(9_)<5",
        ] {
            assert!(parse_expr(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(parse_expr("avg<1_").unwrap_err(), EXPR_SHAPE);
        assert_eq!(
            parse_expr("avg<NaN").unwrap_err(),
            "threshold value must be a number, not NaN"
        );
    }

    #[test]
    fn labels_and_ops() {
        assert_eq!(A::Percentile(95.0).label(), "p(95)");
        assert_eq!(A::Percentile(99.9).label(), "p(99.9)");
        assert_eq!(A::Percentile(0.00001).label(), "p(1e-05)");
        assert_eq!(A::Med.label(), "med");
        assert_eq!(A::Rate.label(), "rate");
        assert_eq!(go_g(1e6), "1e+06");
        assert_eq!(go_g(123456.0), "123456");
        for (tok, op) in OP_TOKENS {
            assert_eq!(op.symbol(), tok);
        }
        assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0) && !Op::Le.holds(2.1, 2.0));
        assert!(Op::Gt.holds(3.0, 2.0) && !Op::Gt.holds(2.0, 2.0));
        assert!(Op::Ge.holds(2.0, 2.0) && !Op::Ge.holds(1.9, 2.0));
        assert!(Op::Eq.holds(2.0, 2.0) && !Op::Eq.holds(2.0, 2.5));
        assert!(Op::StrictEq.holds(2.0, 2.0) && !Op::StrictEq.holds(2.0, 2.5));
        assert!(Op::Ne.holds(2.0, 2.5) && !Op::Ne.holds(2.0, 2.0));
    }

    #[test]
    fn selectors() {
        let s = parse_selector("http_req_duration").unwrap();
        assert_eq!(s.metric, "http_req_duration");
        assert!(s.tags.is_empty());

        let s = parse_selector("http_req_duration{endpoint:claim,scenario:spike}").unwrap();
        assert_eq!(s.metric, "http_req_duration");
        let tags = vec![
            ("endpoint".to_string(), "claim".to_string()),
            ("scenario".to_string(), "spike".to_string()),
        ];
        assert_eq!(s.tags, tags);

        // Whitespace and quotes are stripped, as in k6's AddSubmetric.
        let s = parse_selector(r#"http_reqs{ status : "200" , 'name':'a:b' }"#).unwrap();
        assert_eq!(
            s.tags,
            vec![
                ("status".into(), "200".into()),
                ("name".into(), "a:b".into())
            ]
        );

        for bad in [
            "", "{a:b}", "m{", "m}", "m}a:b{", "m{a:b}x", "m{}", "m{ }", "m{a:b,}", "m{,a:b}",
            "m{a}", "m{a:}",
        ] {
            assert!(parse_selector(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_selector("m{a}").unwrap_err().contains("name:value"));

        // What k6 accepts, surge reads the same way (k6 ParseMetricName + AddSubmetric): the
        // block runs from the first `{` to the last `}`; a quoted empty value is ""; a key
        // given twice keeps its last value; the metric name is not trimmed.
        let tags = |k: &str| parse_selector(k).unwrap().tags;
        let t = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(tags("m{a:b}}"), t(&[("a", "b}")]));
        assert_eq!(tags("m{{a:b}"), t(&[("{a", "b")]));
        assert_eq!(tags("m{:b}"), t(&[("", "b")]));
        assert_eq!(tags("m{a:''}"), t(&[("a", "")]));
        assert_eq!(tags("m{a: }"), t(&[("a", "")]));
        assert_eq!(tags("m{a:1,b:2,a:3}"), t(&[("a", "3"), ("b", "2")]));
        assert_eq!(parse_selector(" m {a:b}").unwrap().metric, " m ");
    }

    const CONFIG: &str = r#"{
        "http_req_failed": "rate<0.01",
        "http_req_duration": [
            "p(95)<500",
            {"threshold": "p(99)<1500", "abortOnFail": true, "delayAbortEval": "10s"},
            {"threshold": "avg<200"}
        ],
        "http_req_duration{endpoint:claim,scenario:spike}": ["max<=2000"],
        "iterations": ["count>=10"]
    }"#;

    #[test]
    fn deserialize_forms_and_key_order() {
        let t: Thresholds = serde_json::from_str(CONFIG).unwrap();
        let keys: Vec<&str> = t.0.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "http_req_failed",
                "http_req_duration",
                "http_req_duration{endpoint:claim,scenario:spike}",
                "iterations"
            ]
        );
        assert_eq!(t.0[0].thresholds.len(), 1);
        assert_eq!(t.0[0].thresholds[0].expr.agg, A::Rate);

        let d = &t.0[1].thresholds;
        assert_eq!(d.len(), 3);
        assert!(!d[0].abort_on_fail && d[0].delay_abort_eval.is_none());
        assert!(d[1].abort_on_fail);
        assert_eq!(d[1].delay_abort_eval.as_deref(), Some("10s"));
        assert_eq!(d[1].expr.agg, A::Percentile(99.0));
        assert!(!d[2].abort_on_fail);

        assert_eq!(t.0[2].selector.metric, "http_req_duration");
        assert_eq!(t.0[2].selector.tags.len(), 2);

        // Reverse-alphabetical order survives too.
        let t: Thresholds =
            serde_json::from_str(r#"{"z":"avg<1","a":"avg<1","m":"avg<1"}"#).unwrap();
        let keys: Vec<&str> = t.0.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn a_rate_on_the_vusers_failed_counter_is_noted() {
        let t: Thresholds = serde_json::from_str(
            r#"{"vusers.failed": ["rate<=0.01", "count<5"], "vusers.error_rate": ["rate<0.1"]}"#,
        )
        .unwrap();
        let n = notes(&t);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].contains("rate<=0.01") && n[0].contains("vusers.error_rate"));
        let t: Thresholds = serde_json::from_str(r#"{"http_reqs": ["rate>10"]}"#).unwrap();
        assert!(notes(&t).is_empty());
    }

    #[test]
    fn deserialize_errors() {
        let err = serde_json::from_str::<Thresholds>(r#"{"http_req_duration":["p(95)<<500"]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                r#"thresholds."http_req_duration": "p(95)<<500": expected <aggregation> <op> <number>, e.g. p(95)<500"#
            ),
            "{err}"
        );
        let err = serde_json::from_str::<Thresholds>(r#"{"m{a}":["avg<1"]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(r#"thresholds."m{a}": "#), "{err}");
        for bad in [
            r#"{"m": 5}"#,
            r#"{"m": [5]}"#,
            r#"{"m": [{"abortOnFail": true}]}"#,
            r#"{"m": [{"threshold": "avg<1", "abortOnFial": true}]}"#,
            r#"{"m": "avg<1", "m": "avg<2"}"#,
            r#"["avg<1"]"#,
        ] {
            assert!(serde_json::from_str::<Thresholds>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serialize_round_trip() {
        let t: Thresholds = serde_json::from_str(CONFIG).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.starts_with(r#"{"http_req_failed":["rate<0.01"],"http_req_duration":["p(95)<500",{"threshold":"p(99)<1500","abortOnFail":true,"delayAbortEval":"10s"},"avg<200"]"#), "{json}");
        let back: Thresholds = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }

    fn kind_of(m: &str) -> Option<MetricKind> {
        match m {
            "http_req_duration" | "iteration_duration" => Some(MetricKind::Trend),
            "http_req_failed" => Some(MetricKind::Rate),
            "iterations" | "http_reqs" => Some(MetricKind::Counter),
            "vus" => Some(MetricKind::Gauge),
            _ => None,
        }
    }

    fn parse(json: &str) -> Thresholds {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn validation() {
        parse(CONFIG).validate(&kind_of).unwrap();
        parse(r#"{"iterations":["count>1","rate>0.5"],"vus":"value<=100","http_req_failed":"rate<0.1"}"#)
            .validate(&kind_of)
            .unwrap();

        let err = parse(r#"{"http_req_duration":"rate<0.01"}"#)
            .validate(&kind_of)
            .unwrap_err();
        assert!(err.contains("rate") && err.contains("trend"), "{err}");
        assert!(err.contains("avg, min, max, med, p(N)"), "{err}");

        let err = parse(r#"{"iterations":"p(95)<1"}"#)
            .validate(&kind_of)
            .unwrap_err();
        assert!(err.contains("p(95)") && err.contains("counter"), "{err}");

        for bad in [
            r#"{"vus":"avg<1"}"#,
            r#"{"http_req_failed":"count<1"}"#,
            r#"{"http_reqs{status:500}":"value<1"}"#,
        ] {
            assert!(parse(bad).validate(&kind_of).is_err(), "{bad}");
        }

        let err = parse(r#"{"nope{a:b}":"avg<1"}"#)
            .validate(&kind_of)
            .unwrap_err();
        assert!(err.contains(r#"unknown metric "nope""#), "{err}");
        assert!(
            err.contains("http_req_duration") && err.contains("vus"),
            "{err}"
        );

        // Every problem is reported.
        let err = parse(r#"{"vus":["avg<1","med<1"]}"#)
            .validate(&kind_of)
            .unwrap_err();
        assert_eq!(err.lines().count(), 2, "{err}");
    }

    #[test]
    fn evaluation() {
        let t = parse(
            r#"{
            "http_req_duration": ["p(95)<500", "p(95)<=500", "avg<100", "min>0"],
            "http_req_failed": "rate<0.01",
            "http_req_duration{endpoint:claim}": "max<1000",
            "iterations": "count>=10"
        }"#,
        );
        let measure = |sel: &MetricSelector, agg: &Aggregation| -> Option<f64> {
            match (sel.metric.as_str(), sel.tags.is_empty(), agg) {
                ("http_req_duration", true, A::Percentile(p)) if *p == 95.0 => Some(500.0),
                ("http_req_duration", true, A::Avg) => Some(150.0),
                ("http_req_duration", true, A::Min) => Some(1.0),
                ("http_req_duration", false, A::Max) => Some(999.0),
                ("http_req_failed", _, A::Rate) => Some(0.02),
                _ => None,
            }
        };
        let v = t.evaluate(&measure);
        let got: Vec<(&str, &str, Option<f64>, bool, bool)> = v
            .iter()
            .map(|v| {
                (
                    v.key.as_str(),
                    v.expr.as_str(),
                    v.measured,
                    v.pass,
                    v.no_data,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("http_req_duration", "p(95)<500", Some(500.0), false, false),
                ("http_req_duration", "p(95)<=500", Some(500.0), true, false),
                ("http_req_duration", "avg<100", Some(150.0), false, false),
                ("http_req_duration", "min>0", Some(1.0), true, false),
                ("http_req_failed", "rate<0.01", Some(0.02), false, false),
                (
                    "http_req_duration{endpoint:claim}",
                    "max<1000",
                    Some(999.0),
                    true,
                    false
                ),
                ("iterations", "count>=10", None, true, true),
            ]
        );
        assert!(Thresholds::any_failed(&v));
        // min>0 fails on a measured 0; no data at all never fails.
        assert!(Thresholds::any_failed(&t.evaluate(&|_, _| Some(0.0))));
        assert!(!Thresholds::any_failed(&t.evaluate(&|_, _| None)));
    }
}
