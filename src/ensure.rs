//! Artillery's ensure checks (art `packages/artillery-plugin-ensure/plugin.ts`): filtrex
//! expressions over Artillery's metric names, evaluated once on the run's final metrics.
//!
//! A scenario's `conditions:` holds them; `surge import artillery` turns every form of
//! `config.ensure` into one (`thresholds` → `metric < N`, legacy `p95: N` →
//! `http.response_time.p95 < N`, `maxErrorRate: X` → `((vusers.created -
//! vusers.completed)/vusers.created * 100) <= X`), as plugin.ts's runChecks does.
//!
//! As in plugin.ts: a check passes only when its result `=== 1`; a strict check that does not
//! fails the run, a non-strict one is reported `fail: … (optional)` and does not; the console
//! prints `Checks:`, then `ok:` lines, then `fail:` lines. A metric is read as Artillery's final
//! report has it: a counter exists once it has counted (`vusers.failed` once a VU ended), a
//! summary once it has a sample, so `errors.ETIMEDOUT < 1` *fails* when no request timed out
//! (the name is `undefined` in filtrex, and `undefined < 1` is false).

use crate::filtrex::{self, Value};
use crate::metrics::Metrics;
use crate::threshold::{Aggregation, MetricSelector, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

/// One check of the scenario's `conditions:` (Artillery's `conditions` item, plus the name
/// the console prints).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// A filtrex expression over Artillery metric names.
    pub expression: String,
    /// A failed strict check fails the run; a non-strict one is only reported.
    #[serde(default = "strict_default", skip_serializing_if = "is_true")]
    pub strict: bool,
    /// What `ok:` / `fail:` print; the expression when absent (ensure prints `p95 < 200` and
    /// `maxErrorRate < 1` for its legacy checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn strict_default() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Condition {
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.expression)
    }

    /// Parses the expression and checks that every name is a metric surge simulates.
    pub fn compile(&self) -> Result<filtrex::Expr, String> {
        let e = filtrex::Expr::parse(&self.expression)
            .map_err(|e| format!("{:?}: {e}", self.expression))?;
        for (name, col) in e.names() {
            metric_of(name).map_err(|m| format!("{:?}: column {col}: {m}", self.expression))?;
        }
        Ok(e)
    }
}

/// The scenario's `conditions`, each compiled; the first error names `conditions[i]`.
pub fn validate(conditions: &[Condition]) -> Result<(), (String, String)> {
    for (i, c) in conditions.iter().enumerate() {
        c.compile()
            .map_err(|e| (format!("conditions[{i}].expression"), e))?;
    }
    Ok(())
}

/// k6 aggregation of an Artillery summary statistic (`lib/core/ssms.ts`).
fn agg_of(stat: &str) -> Aggregation {
    match stat {
        "median" | "p50" => Aggregation::Med,
        "mean" => Aggregation::Avg,
        "min" => Aggregation::Min,
        "max" => Aggregation::Max,
        "count" => Aggregation::Count,
        "p999" => Aggregation::Percentile(99.9),
        p => Aggregation::Percentile(p[1..].parse().unwrap_or(f64::NAN)),
    }
}

/// An Artillery metric name as the surge (k6) metric and aggregation that measure it.
pub fn metric_of(name: &str) -> Result<(String, Aggregation), String> {
    const STATS: [&str; 11] = [
        "min", "max", "count", "mean", "p50", "median", "p75", "p90", "p95", "p99", "p999",
    ];
    let summary = |prefix: &str| {
        name.strip_prefix(prefix)
            .filter(|s| STATS.contains(s))
            .map(agg_of)
    };
    if let Some(agg) = summary("http.response_time.") {
        return Ok(if agg == Aggregation::Count {
            ("http_reqs".into(), agg)
        } else {
            ("http_req_duration".into(), agg)
        });
    }
    if let Some(agg) = summary("vusers.session_length.") {
        return Ok(if agg == Aggregation::Count {
            ("iterations".into(), agg)
        } else {
            ("iteration_duration".into(), agg)
        });
    }
    Ok(match name {
        "http.requests" => ("http_reqs".into(), Aggregation::Count),
        "http.request_rate" => ("http_reqs".into(), Aggregation::Rate),
        "vusers.created" | "vusers.skipped" | "vusers.completed" => {
            (name.into(), Aggregation::Count)
        }
        // Artillery's own counters, measured under their own names.
        n if crate::metrics::is_artillery_counter(n) => (name.into(), Aggregation::Count),
        _ => {
            return Err(format!(
                "metric {name:?} is not simulated; expected http.response_time.<stat>, \
                 vusers.session_length.<stat>, http.requests, http.responses, \
                 http.request_rate, http.codes.<status>, errors.ETIMEDOUT, errors.ECONNRESET, \
                 vusers.created, vusers.skipped, vusers.completed or vusers.failed"
            ))
        }
    })
}

/// An Artillery metric's value in the run's final report, or None where Artillery's report
/// has no such key: a counter that never counted (`vusers.failed` exists once a VU ended, as
/// runner.ts counts it 0 for a completed VU), a rate without events, a summary without
/// samples.
pub fn value_of(m: &Metrics, secs: f64, name: &str) -> Option<f64> {
    let (metric, agg) = metric_of(name).ok()?;
    let sel = MetricSelector {
        metric,
        tags: Vec::new(),
    };
    let v = m.measure(&sel, &agg, secs)?;
    let present = match name {
        "vusers.failed" => m.vusers.is_some_and(|u| u.completed + u.failed > 0),
        _ if matches!(agg, Aggregation::Count | Aggregation::Rate) => v != 0.0,
        _ => true,
    };
    present.then_some(v)
}

/// A check's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub condition: Condition,
    /// The expression's value (`undefined` when it could not be compiled, as ensure's
    /// fallback `() => {}` returns).
    pub value: Value,
    /// Each name the expression reads, with its value (None: not in Artillery's report).
    pub metrics: Vec<(String, Option<f64>)>,
    /// Why ensure could not compile the expression on this run's report, when it could not
    /// ([`mangled_by`]).
    pub note: Option<String>,
}

impl Outcome {
    /// ensure: `check.result === 1`.
    pub fn ok(&self) -> bool {
        self.value.is_one()
    }

    /// Whether this outcome fails the run.
    pub fn fails_run(&self) -> bool {
        self.condition.strict && !self.ok()
    }

    /// plugin.ts's console line: `ok: …`, `fail: …`, `fail: … (optional)`.
    pub fn line(&self) -> String {
        let label = self.condition.label();
        match (self.ok(), self.condition.strict) {
            (true, _) => format!("ok: {label}"),
            (false, true) => format!("fail: {label}"),
            (false, false) => format!("fail: {label} (optional)"),
        }
    }

    /// A strict check as a target of the run's verdict (`conditions <name>`); the table shows
    /// what it read ([`Outcome::shown`]), not the expression's 1 or 0.
    pub fn verdict(&self) -> Option<Verdict> {
        self.condition.strict.then(|| Verdict {
            key: "conditions".into(),
            expr: self.condition.label().to_string(),
            measured: Some(self.value.number()).filter(|x| x.is_finite()),
            pass: self.ok(),
            no_data: false,
            shown: Some(self.shown()),
        })
    }

    /// Each metric the expression read with its value (`http.response_time.p99 = 412.3`,
    /// `vusers.completed absent` when Artillery's report would not have it), or the
    /// expression's value when it reads none.
    pub fn shown(&self) -> String {
        if let Some(n) = &self.note {
            return n.clone();
        }
        if self.metrics.is_empty() {
            return format!("= {}", self.value);
        }
        let each: Vec<String> = self
            .metrics
            .iter()
            .map(|(k, v)| match v {
                // Four decimals at most: the table is for reading, summary.json has the value.
                Some(x) => format!(
                    "{k} = {}",
                    crate::config::artillery::js_number((x * 1e4).round() / 1e4)
                ),
                None => format!("{k} absent"),
            })
            .collect();
        each.join(", ")
    }

    /// The summary.json record.
    pub fn json(&self) -> serde_json::Value {
        let metrics: Map<String, serde_json::Value> = self
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let finite = Some(self.value.number()).filter(|x| x.is_finite());
        json!({
            "name": self.condition.label(),
            "expression": self.condition.expression,
            "strict": self.condition.strict,
            "value": finite,
            "result": self.value.to_string(),
            "ok": self.ok(),
            "line": self.line(),
            "metrics": metrics,
            "shown": self.shown(),
            "note": self.note,
        })
    }
}

/// Evaluates every condition on the final metrics of a run of `secs` seconds, in order.
pub fn evaluate(conditions: &[Condition], m: &Metrics, secs: f64) -> Vec<Outcome> {
    conditions
        .iter()
        .map(|c| {
            let Ok(e) = c.compile() else {
                // Validated when loaded; ensure logs a compile error and the check fails.
                return Outcome {
                    condition: c.clone(),
                    value: Value::Undefined,
                    metrics: Vec::new(),
                    note: None,
                };
            };
            let metrics: Vec<(String, Option<f64>)> = e
                .names()
                .iter()
                .map(|(n, _)| (n.clone(), value_of(m, secs, n)))
                .collect();
            let in_report = |k: &str| value_of(m, secs, k).is_some();
            if let Some((short, long)) = mangled_by(&e, &in_report) {
                return Outcome {
                    condition: c.clone(),
                    value: Value::Undefined,
                    metrics,
                    note: Some(format!(
                        "does not compile in ensure: {short} is replaced inside {long}"
                    )),
                };
            }
            let lookup = |n: &str| metrics.iter().find(|(k, _)| k == n).and_then(|(_, v)| *v);
            Outcome {
                condition: c.clone(),
                value: e.eval(&lookup),
                metrics,
                note: None,
            }
        })
        .collect()
}

/// Whether ensure's `replaceMetricsWithHashes` (art `packages/artillery-plugin-ensure/
/// utils.ts`) breaks the expression on this report: before compiling, ensure replaces each key
/// of the report, in the report's order, wherever its text occurs in the expression, by a
/// quoted hash. A key that is a prefix of a longer name the expression reads, and comes before
/// it, is replaced inside it: of the names surge simulates, only a summary's `p99`, which
/// summarizeHistogram (art `lib/core/ssms.ts`) lists before `p999`. `X.p999` becomes
/// `'<hash of X.p99>'9`, filtrex refuses to compile it, and the check's result is `undefined`
/// (a failure), whenever `X` has samples. The pair (replaced key, name it was found in).
pub fn mangled_by(e: &filtrex::Expr, in_report: &dyn Fn(&str) -> bool) -> Option<(String, String)> {
    const STATS: [&str; 11] = [
        "min", "max", "count", "mean", "p50", "median", "p75", "p90", "p95", "p99", "p999",
    ];
    for (name, _) in e.names() {
        for prefix in ["http.response_time.", "vusers.session_length."] {
            let Some(stat) = name.strip_prefix(prefix) else {
                continue;
            };
            let Some(at) = STATS.iter().position(|s| *s == stat) else {
                continue;
            };
            for earlier in &STATS[..at] {
                let key = format!("{prefix}{earlier}");
                if stat.starts_with(earlier) && in_report(&key) {
                    return Some((key, name.clone()));
                }
            }
        }
    }
    None
}

/// plugin.ts's block: `Checks:`, the passed checks, then the failed ones (each group in the
/// scenario's order: ensure sorts by result with a comparator that leaves the order within a
/// group to the JavaScript engine).
pub fn console_block(outcomes: &[Outcome]) -> String {
    if outcomes.is_empty() {
        return String::new();
    }
    let mut o = String::from("Checks:\n");
    for want in [true, false] {
        for x in outcomes.iter().filter(|x| x.ok() == want) {
            o.push_str(&x.line());
            o.push('\n');
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(expression: &str, strict: bool) -> Condition {
        Condition {
            expression: expression.into(),
            strict,
            name: None,
        }
    }

    #[test]
    fn metric_names_map_to_k6() {
        let m = |n: &str| metric_of(n).unwrap();
        assert_eq!(
            m("http.response_time.p95"),
            ("http_req_duration".into(), Aggregation::Percentile(95.0))
        );
        assert_eq!(
            m("http.response_time.median"),
            ("http_req_duration".into(), Aggregation::Med)
        );
        assert_eq!(
            m("http.response_time.p999"),
            ("http_req_duration".into(), Aggregation::Percentile(99.9))
        );
        assert_eq!(
            m("http.request_rate"),
            ("http_reqs".into(), Aggregation::Rate)
        );
        // Artillery's counters keep their names; what surge does not simulate is refused.
        for n in [
            "http.codes.200",
            "errors.ETIMEDOUT",
            "vusers.failed",
            "http.responses",
        ] {
            assert_eq!(m(n), (n.into(), Aggregation::Count));
        }
        assert!(metric_of("http.codes.20").is_err());
        // Only the error codes surge produces: another would always be absent.
        assert!(metric_of("errors.ECONNREFUSED").is_err());
        assert!(metric_of("http.downloaded_bytes").is_err());
    }

    #[test]
    fn compile_names_the_unsimulated_metric_and_its_column() {
        let e = cond("vusers.created > 0 or http.downloaded_bytes > 0", true)
            .compile()
            .unwrap_err();
        assert!(e.contains("column 23"), "{e}");
        assert!(
            e.contains("\"http.downloaded_bytes\" is not simulated"),
            "{e}"
        );
        let bad = [cond("vusers.created > 0", true), cond("x ==", false)];
        let (field, msg) = validate(&bad).unwrap_err();
        assert_eq!(field, "conditions[1].expression");
        assert!(msg.contains("column 5"), "{msg}");
    }

    /// Artillery's report: counters once counted, `vusers.failed` once a VU ended.
    #[test]
    fn values_are_absent_until_artillery_reports_them() {
        let mut m = Metrics::new(Vec::new());
        m.vusers = Some(Default::default());
        for n in ["vusers.created", "vusers.failed", "http.requests"] {
            assert_eq!(value_of(&m, 1.0, n), None, "{n}");
        }
        m.on_vuser_created();
        m.on_vuser_completed();
        assert_eq!(value_of(&m, 1.0, "vusers.created"), Some(1.0));
        assert_eq!(value_of(&m, 1.0, "vusers.failed"), Some(0.0));
        assert_eq!(value_of(&m, 1.0, "http.response_time.p95"), None);
    }

    /// index.spec.js "passes and fails correctly multiple conditions and thresholds" with
    /// strict: false: ok lines first, the optional failure marked, only strict ones fail.
    #[test]
    fn lines_and_order_follow_plugin_ts() {
        let mut m = Metrics::new(Vec::new());
        m.vusers = Some(Default::default());
        for _ in 0..3 {
            m.on_vuser_created();
            m.on_vuser_completed();
        }
        let conds = [
            cond("vusers.created < 2 and vusers.failed == 0", false),
            cond(
                "vusers.completed > 0 or http.response_time.min > 1000",
                true,
            ),
            Condition {
                name: Some("maxErrorRate < 0".into()),
                ..cond(
                    "((vusers.created - vusers.completed)/vusers.created * 100) <= 0",
                    true,
                )
            },
        ];
        let out = evaluate(&conds, &m, 1.0);
        assert_eq!(
            console_block(&out),
            "Checks:\nok: vusers.completed > 0 or http.response_time.min > 1000\n\
             ok: maxErrorRate < 0\nfail: vusers.created < 2 and vusers.failed == 0 (optional)\n"
        );
        assert!(!out.iter().any(Outcome::fails_run));
        assert_eq!(out[0].metrics[1], ("vusers.failed".into(), Some(0.0)));
        assert_eq!(out[0].verdict(), None, "an optional check is no target");
        // With no VU at all, maxErrorRate's expression is NaN: a strict failure.
        let none = evaluate(&conds[2..], &Metrics::new(Vec::new()), 1.0);
        assert_eq!(none[0].line(), "fail: maxErrorRate < 0");
        assert!(none[0].fails_run());
        assert_eq!(none[0].json()["result"], "0", "NaN <= 0 is false");
        assert_eq!(none[0].json()["metrics"]["vusers.created"], json!(null));
        assert_eq!(none[0].verdict().map(|v| v.pass), Some(false));
        // The verdict table shows what each check read, not its 1 or 0.
        assert_eq!(
            none[0].verdict().and_then(|v| v.shown).as_deref(),
            Some("vusers.created absent, vusers.completed absent")
        );
        assert_eq!(
            out[2].verdict().map(|v| v.measured_text()).as_deref(),
            Some("vusers.created = 3, vusers.completed = 3")
        );
        let constant = evaluate(&[cond("2 > 1", true)], &m, 1.0);
        assert_eq!(constant[0].shown(), "= 1");
    }
    /// A report with 3 VUs created, 2 completed, 1 skipped, and 4 requests of 50 ms.
    fn report() -> Metrics {
        let mut m = Metrics::new(vec!["ping".into()]);
        for _ in 0..3 {
            m.on_vuser_created();
        }
        m.on_vuser_completed();
        m.on_vuser_completed();
        m.on_vuser_skipped();
        let ms = crate::engine::MS;
        for i in 0..4 {
            m.on_send(100 * i * ms);
            m.on_response((100 * i + 50) * ms, 0, 50 * ms, None);
        }
        m.finish();
        m
    }

    /// art packages/artillery-plugin-ensure/test/utils.unit.js (@5bcfa94): ensure replaces
    /// each metric name of the expression by a quoted hash before filtrex compiles it, so
    /// that any name can be written bare. surge's filtrex reads the names themselves; what a
    /// row shows is that its expression reads the named metrics. Rows naming metrics surge
    /// does not simulate keep their shape with simulated names (someMetricA/B →
    /// vusers.created/vusers.completed); skipped: 'works with built-in functions, even if a
    /// metric name includes it' (`random()` is not supported: a run's verdict would not
    /// repeat), 'works with complex url expressions' (browser.page.* metrics), 'works with
    /// space in name' and 'works when metric names include special named operators …'
    /// (vusers.created_by_name.*, custom.* counters: not simulated, and a name with a space
    /// cannot be written without ensure's replacement).
    #[test]
    fn upstream_replace_metrics_with_hashes() {
        let m = report();
        let rows: &[(&str, &str, f64)] = &[
            (
                "works with boolean operators",
                "vusers.created < 20 and vusers.completed < 30",
                1.0,
            ),
            (
                "works with boolean operators without spaces",
                "vusers.created<20 and vusers.completed<3",
                1.0,
            ),
            (
                "works with ternary boolean operator",
                "vusers.created<20 ? 30 : 40",
                30.0,
            ),
            (
                "works with explicit operator precedence (parentheses) with spaces",
                "( ( ( vusers.created - vusers.completed) / floor(vusers.created) * 100 ) + vusers.skipped ) <= 0 or http.request_rate > 0",
                1.0,
            ),
            (
                "works with explicit operator precedence (parentheses) without spaces",
                "(((vusers.created-vusers.completed)/floor(vusers.created)*100)+vusers.skipped)<= 0 or http.request_rate>0",
                1.0,
            ),
        ];
        for (name, expr, want) in rows {
            let out = evaluate(&[cond(expr, true)], &m, 2.0);
            assert_eq!(out[0].value.number(), *want, "{name}: {expr}");
            assert!(out[0].metrics.iter().all(|(_, v)| v.is_some()), "{name}");
        }
    }

    /// utils.ts replaceMetricsWithHashes on the report's keys in order: `http.response_time.p99`
    /// (listed before `p999` by summarizeHistogram) is replaced inside `…p999`, so a check
    /// reading a p999 does not compile, and fails, whenever the summary has samples.
    #[test]
    fn a_p999_check_is_mangled_by_the_p99_key_as_in_ensure() {
        let m = report();
        for expr in [
            "http.response_time.p999 < 100000",
            "http.response_time.p99 < 100000 and http.response_time.p999 < 100000",
        ] {
            let out = evaluate(&[cond(expr, true)], &m, 2.0);
            assert_eq!(out[0].value, Value::Undefined, "{expr}");
            assert!(out[0].fails_run(), "{expr}");
            assert_eq!(
                out[0].shown(),
                "does not compile in ensure: http.response_time.p99 is replaced inside \
                 http.response_time.p999"
            );
        }
        let ok = evaluate(&[cond("http.response_time.p99 < 100000", true)], &m, 2.0);
        assert!(ok[0].ok());
        // No iteration has ended: vusers.session_length has no key to replace, and its p999 is
        // simply absent (undefined < 1 is false; `or 1` passes).
        let absent = evaluate(
            &[cond("vusers.session_length.p999 < 1 or 1", true)],
            &m,
            2.0,
        );
        assert!(absent[0].ok(), "{:?}", absent[0]);
        let mut with_sessions = report();
        with_sessions.on_iteration(crate::engine::SEC);
        with_sessions.finish();
        let out = evaluate(
            &[cond("vusers.session_length.p999 < 1 or 1", true)],
            &with_sessions,
            2.0,
        );
        assert!(!out[0].ok());
    }
}
