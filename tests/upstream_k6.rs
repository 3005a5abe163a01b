//! k6's threshold tests, ported as tables against `surge::threshold` (and, where k6 reads a
//! metric's sink, against `surge::metrics::Metrics` or a run). Upstream: grafana/k6 @87883075
//! (v2.2.x): `metrics/thresholds_parser_test.go`, `metrics/thresholds_test.go`,
//! `metrics/metric_test.go`, `internal/metrics/engine/engine_test.go`. One test per upstream
//! test function, its rows as a table; rows surge cannot express say why they are skipped.
// Each table's row type is written out where it is declared, as upstream's struct is.
#![allow(clippy::type_complexity)]

mod common;

use std::collections::HashMap;

use surge::config;
use surge::engine::{MS, SEC};
use surge::metrics::Metrics;
use surge::sim::{try_run_logged, RunOptions};
use surge::threshold::{
    parse_expr, parse_selector, scan_expr, Aggregation, Expr, MetricKind, MetricSelector, Op,
    Threshold, ThresholdSet, Thresholds,
};

use Aggregation as A;

/// A one-key threshold config around a k6 list (`["rate<0.01", {...}]`).
fn one_key(list: &str) -> Result<Thresholds, String> {
    serde_json::from_str(&format!(r#"{{"m": {list}}}"#)).map_err(|e| e.to_string())
}

/// A set on metric `m` of already parsed expressions (k6 tests set `Threshold.parsed`).
fn parsed_set(exprs: &[(Aggregation, Op, f64)], abort: bool, delay: Option<&str>) -> Thresholds {
    let thresholds = exprs
        .iter()
        .map(|(agg, op, value)| Threshold {
            expr: Expr {
                source: format!("{}{}{value}", agg.label(), op.symbol()),
                agg: agg.clone(),
                op: *op,
                value: *value,
            },
            abort_on_fail: abort,
            delay_abort_eval: delay.map(str::to_string),
        })
        .collect();
    Thresholds(vec![ThresholdSet {
        key: "m".into(),
        selector: parse_selector("m").unwrap(),
        thresholds,
    }])
}

/// k6's `sinks` map: the value of each aggregation by its sink key (`rate`, `p(95)`, ...).
fn sinks(entries: &[(&str, f64)]) -> HashMap<String, f64> {
    entries.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn passes(t: &Thresholds, sinks: &HashMap<String, f64>) -> bool {
    !Thresholds::any_failed(&t.evaluate(&|_, agg| sinks.get(&agg.label()).copied()))
}

// ------------------------------------------------------ metrics/thresholds_parser_test.go

#[test]
fn test_parse_threshold_expression() {
    // k6 metrics/thresholds_parser_test.go TestParseThresholdExpression.
    let rows: &[(&str, &str, Option<(Aggregation, Op, f64)>)] = &[
        ("unknown expression's operator fails", "count!20", None),
        ("unknown expression's method fails", "foo>20", None),
        ("non numerical expression's value fails", "count>abc", None),
        (
            "valid threshold expression syntax",
            "count>20",
            Some((A::Count, Op::Gt, 20.0)),
        ),
    ];
    for (name, input, want) in rows {
        let got = parse_expr(input).ok().map(|e| (e.agg, e.op, e.value));
        assert_eq!(&got, want, "{name}: {input:?}");
    }
}

#[test]
fn test_parse_threshold_aggregation_method() {
    // k6 metrics/thresholds_parser_test.go TestParseThresholdAggregationMethod. k6 parses the
    // method alone (parseThresholdAggregationMethod); surge's method parser is reached through
    // a whole expression, `<method><1`.
    let rows: &[(&str, &str, Option<Aggregation>)] = &[
        ("count method is parsed", "count", Some(A::Count)),
        ("rate method is parsed", "rate", Some(A::Rate)),
        ("value method is parsed", "value", Some(A::Value)),
        ("avg method is parsed", "avg", Some(A::Avg)),
        ("min method is parsed", "min", Some(A::Min)),
        ("max method is parsed", "max", Some(A::Max)),
        ("med method is parsed", "med", Some(A::Med)),
        (
            "percentile method with integer value is parsed",
            "p(99)",
            Some(A::Percentile(99.0)),
        ),
        (
            "percentile method with floating point value is parsed",
            "p(99.9)",
            Some(A::Percentile(99.9)),
        ),
        (
            "percentile method with zero value is parsed",
            "p(0)",
            Some(A::Percentile(0.0)),
        ),
        (
            "percentile method with 100 value is parsed",
            "p(100)",
            Some(A::Percentile(100.0)),
        ),
        ("parsing invalid method fails", "foo", None),
        ("parsing empty percentile expression fails", "p()", None),
        (
            "parsing incomplete percentile expression fails",
            "p(99",
            None,
        ),
        (
            "parsing non-numerical percentile value fails",
            "p(foo)",
            None,
        ),
        ("parsing negative percentile value fails", "p(-1)", None),
        (
            "parsing percentile value greater than 100 fails",
            "p(101)",
            None,
        ),
        ("parsing NaN percentile value fails", "p(NaN)", None),
        ("parsing infinite percentile value fails", "p(+Inf)", None),
    ];
    for (name, input, want) in rows {
        let got = parse_expr(&format!("{input}<1")).ok().map(|e| e.agg);
        assert_eq!(&got, want, "{name}: {input:?}");
    }
    // The sink key k6 derives from a percentile (`p(%g)`) is surge's label.
    assert_eq!(A::Percentile(99.9).label(), "p(99.9)");
    assert_eq!(A::Percentile(99.0).label(), "p(99)");
}

#[test]
fn test_scan_threshold_expression() {
    // k6 metrics/thresholds_parser_test.go TestScanThresholdExpression.
    let rows: &[(&str, &str, Option<(&str, &str, &str)>)] = &[
        (
            "expression with <= operator is scanned",
            "foo<=bar",
            Some(("foo", "<=", "bar")),
        ),
        (
            "expression with < operator is scanned",
            "foo<bar",
            Some(("foo", "<", "bar")),
        ),
        (
            "expression with >= operator is scanned",
            "foo>=bar",
            Some(("foo", ">=", "bar")),
        ),
        (
            "expression with > operator is scanned",
            "foo>bar",
            Some(("foo", ">", "bar")),
        ),
        (
            "expression with === operator is scanned",
            "foo===bar",
            Some(("foo", "===", "bar")),
        ),
        (
            "expression with == operator is scanned",
            "foo==bar",
            Some(("foo", "==", "bar")),
        ),
        (
            "expression with != operator is scanned",
            "foo!=bar",
            Some(("foo", "!=", "bar")),
        ),
        (
            "expression's method is trimmed",
            "  foo  <=bar",
            Some(("foo", "<=", "bar")),
        ),
        (
            "expression's value is trimmed",
            "foo<=  bar  ",
            Some(("foo", "<=", "bar")),
        ),
        ("expression with unknown operator fails", "foo!bar", None),
    ];
    for (name, input, want) in rows {
        let got = scan_expr(input).ok().map(|(m, op, v)| (m, op.symbol(), v));
        assert_eq!(&got, want, "{name}: {input:?}");
    }
    // Beyond the table, from scanThresholdExpression's code: an operator with nothing after it
    // does not split; the scan goes on to the next operator in k6's order.
    assert_eq!(
        scan_expr("avg>1<").map(|(m, op, v)| (m, op.symbol(), v)),
        Ok(("avg", ">", "1<"))
    );
    assert!(scan_expr("avg<").is_err());
}

// ------------------------------------------------------------- metrics/thresholds_test.go

#[test]
fn test_new_threshold() {
    // k6 metrics/thresholds_test.go TestNewThreshold: source, abortOnFail and the grace period
    // are kept as given; nothing has failed yet.
    let t =
        one_key(r#"[{"threshold": "rate<0.01", "abortOnFail": false, "delayAbortEval": "2s"}]"#)
            .unwrap();
    let th = &t.0[0].thresholds[0];
    assert_eq!(th.expr.source, "rate<0.01");
    assert!(!th.abort_on_fail);
    assert_eq!(th.delay_abort_eval.as_deref(), Some("2s"));
    assert_eq!(th.abort_delay_ns(), Some(2 * i128::from(SEC)));
}

#[test]
fn test_threshold_run_no_taint() {
    // k6 metrics/thresholds_test.go TestThreshold_runNoTaint. The grace period plays no part
    // in a threshold's own verdict.
    let rows: &[(&str, (Aggregation, Op, f64), &str, &[(&str, f64)], bool)] = &[
        (
            "valid expression using the > operator over passing threshold",
            (A::Rate, Op::Gt, 0.01),
            "0s",
            &[("rate", 1.0)],
            true,
        ),
        (
            "valid expression using the > operator over passing threshold and defined abort grace period",
            (A::Rate, Op::Gt, 0.01),
            "2s",
            &[("rate", 1.0)],
            true,
        ),
        (
            "valid expression using the >= operator over passing threshold",
            (A::Rate, Op::Ge, 0.01),
            "0s",
            &[("rate", 0.01)],
            true,
        ),
        (
            "valid expression using the <= operator over passing threshold",
            (A::Rate, Op::Le, 0.01),
            "0s",
            &[("rate", 0.01)],
            true,
        ),
        (
            "valid expression using the < operator over passing threshold",
            (A::Rate, Op::Lt, 0.01),
            "0s",
            &[("rate", 0.00001)],
            true,
        ),
        (
            "valid expression using the == operator over passing threshold",
            (A::Rate, Op::Eq, 0.01),
            "0s",
            &[("rate", 0.01)],
            true,
        ),
        (
            "valid expression using the === operator over passing threshold",
            (A::Rate, Op::StrictEq, 0.01),
            "0s",
            &[("rate", 0.01)],
            true,
        ),
        (
            "valid expression using != operator over passing threshold",
            (A::Rate, Op::Ne, 0.01),
            "0s",
            &[("rate", 0.02)],
            true,
        ),
        (
            "valid expression over failing threshold",
            (A::Rate, Op::Gt, 0.01),
            "0s",
            &[("rate", 0.00001)],
            false,
        ),
        (
            "valid expression over non-existing sink",
            (A::Rate, Op::Gt, 0.01),
            "0s",
            &[("med", 27.2)],
            true,
        ),
        // Skipped: "invalid expression operator" (`&`): surge's `Op` cannot hold an operator
        // the parser did not accept, so the error k6 guards against cannot arise.
    ];
    for (name, expr, grace, sink, want) in rows {
        let t = parsed_set(std::slice::from_ref(expr), false, Some(*grace));
        assert_eq!(passes(&t, &sinks(sink)), *want, "{name}");
    }
}

#[test]
fn test_threshold_run() {
    // k6 metrics/thresholds_test.go TestThresholdRun: `rate<0.01` over a rate of 0.0001 holds
    // (LastFailed stays false), over 1 it fails (a tainting run sets LastFailed; surge's
    // verdict is that flag).
    let t = one_key(r#"["rate<0.01"]"#).unwrap();
    assert!(passes(&t, &sinks(&[("rate", 0.0001)])));
    assert!(!passes(&t, &sinks(&[("rate", 1.0)])));
}

#[test]
fn test_thresholds_parse() {
    // k6 metrics/thresholds_test.go TestThresholdsParse.
    let rows: &[(&str, &str, bool)] = &[
        ("valid threshold expressions", r#"["rate<1"]"#, true),
        ("invalid threshold expressions", r#"["foo&1"]"#, false),
        (
            "mixed valid/invalid threshold expressions",
            r#"["rate<1", "foo&1"]"#,
            false,
        ),
    ];
    for (name, list, ok) in rows {
        let got = one_key(list);
        assert_eq!(got.is_ok(), *ok, "{name}: {got:?}");
        if let Ok(t) = got {
            assert_eq!(t.0[0].thresholds[0].expr.agg, A::Rate, "{name}");
        }
    }
}

#[test]
fn test_thresholds_validate() {
    // k6 metrics/thresholds_test.go TestThresholdsValidate: a registry of test_counter (with
    // submetrics {foo:bar} and {abc:123,easyas:doremi}), test_rate, test_gauge, test_trend.
    let kind_of = |m: &str| match m {
        "test_counter" => Some(MetricKind::Counter),
        "test_rate" => Some(MetricKind::Rate),
        "test_gauge" => Some(MetricKind::Gauge),
        "test_trend" => Some(MetricKind::Trend),
        _ => None,
    };
    let validate = |key: &str, expr: &str| -> Result<(), String> {
        let t: Thresholds = serde_json::from_str(&format!(r#"{{"{key}": ["{expr}"]}}"#))
            .map_err(|e| e.to_string())?;
        t.validate(&kind_of)
    };
    // "validating thresholds applied to a non existing metric fails".
    assert!(validate("non-existing", "rate<1").is_err());
    // Skipped: "validating unparsed thresholds fails": surge parses every expression when it
    // reads the config, so no unparsed threshold reaches validation.
    let rows: &[(&str, &str, &str)] = &[
        (
            "threshold expression using 'count' is valid against a counter metric",
            "test_counter",
            "count==1",
        ),
        (
            "threshold expression using 'rate' is valid against a counter metric",
            "test_counter",
            "rate==1",
        ),
        (
            "threshold expression using 'rate' is valid against a counter single tag submetric",
            "test_counter{foo:bar}",
            "rate==1",
        ),
        (
            "threshold expression using 'rate' is valid against a counter multi-tag submetric",
            "test_counter{abc:123,easyas:doremi}",
            "rate==1",
        ),
        (
            "threshold expression using 'value' is valid against a gauge metric",
            "test_gauge",
            "value==1",
        ),
        (
            "threshold expression using 'rate' is valid against a rate metric",
            "test_rate",
            "rate==1",
        ),
        (
            "threshold expression using 'avg' is valid against a trend metric",
            "test_trend",
            "avg==1",
        ),
        (
            "threshold expression using 'min' is valid against a trend metric",
            "test_trend",
            "min==1",
        ),
        (
            "threshold expression using 'max' is valid against a trend metric",
            "test_trend",
            "max==1",
        ),
        (
            "threshold expression using 'med' is valid against a trend metric",
            "test_trend",
            "med==1",
        ),
        (
            "threshold expression using 'p(value)' is valid against a trend metric",
            "test_trend",
            "p(99)==1",
        ),
    ];
    for (name, key, expr) in rows {
        assert_eq!(validate(key, expr), Ok(()), "{name}");
    }
}

#[test]
fn test_new_thresholds() {
    // k6 metrics/thresholds_test.go TestNewThresholds: sources in order, none aborting.
    let t = one_key("[]").unwrap();
    assert!(t.0[0].thresholds.is_empty(), "empty");
    let sources = ["rate<0.01", "p(95)<200"];
    let t = one_key(r#"["rate<0.01", "p(95)<200"]"#).unwrap();
    assert_eq!(t.0[0].thresholds.len(), 2, "two");
    for (th, src) in t.0[0].thresholds.iter().zip(sources) {
        assert_eq!(th.expr.source, src);
        assert!(!th.abort_on_fail);
    }
}

#[test]
fn test_new_thresholds_with_config() {
    // k6 metrics/thresholds_test.go TestNewThresholdsWithConfig.
    let t = one_key(
        r#"[{"threshold": "rate<0.01", "abortOnFail": false, "delayAbortEval": null},
            {"threshold": "p(95)<200", "abortOnFail": true, "delayAbortEval": null}]"#,
    )
    .unwrap();
    let got: Vec<(&str, bool)> = t.0[0]
        .thresholds
        .iter()
        .map(|th| (th.expr.source.as_str(), th.abort_on_fail))
        .collect();
    assert_eq!(got, [("rate<0.01", false), ("p(95)<200", true)]);
}

#[test]
fn test_thresholds_run_all() {
    // k6 metrics/thresholds_test.go TestThresholdsRunAll: sinks {rate: 0.0001, p(95): 500},
    // 1.5 s into the test; the first threshold gets the row's abortOnFail and grace period
    // (zero = unset). k6 aborts when the threshold fails, aborts, and its grace period
    // (delayAbortEval) is shorter than the time spent.
    let run = 1500 * MS;
    let rows: &[(&str, bool, bool, Option<&str>, &[&str])] = &[
        ("one passing", true, false, None, &["rate<0.01"]),
        ("one failing", false, false, None, &["p(95)<200"]),
        ("two passing", true, false, None, &["rate<0.1", "rate<0.01"]),
        (
            "two failing",
            false,
            false,
            None,
            &["p(95)<200", "rate<0.1"],
        ),
        ("two mixed", false, false, None, &["rate<0.01", "p(95)<200"]),
        ("one aborting", false, true, None, &["p(95)<200"]),
        (
            "abort with grace period",
            false,
            true,
            Some("1s"),
            &["p(95)<200"],
        ),
        (
            "no abort with grace period",
            false,
            true,
            Some("2s"),
            &["p(95)<200"],
        ),
    ];
    let sink = sinks(&[("rate", 0.0001), ("p(95)", 500.0)]);
    let measure = |_: &MetricSelector, agg: &Aggregation| sink.get(&agg.label()).copied();
    for (name, succeeded, abort, grace, sources) in rows {
        let list = serde_json::to_string(sources).unwrap();
        let mut t = one_key(&list).unwrap();
        t.0[0].thresholds[0].abort_on_fail = *abort;
        t.0[0].thresholds[0].delay_abort_eval = grace.map(str::to_string);
        assert_eq!(
            !Thresholds::any_failed(&t.evaluate(&measure)),
            *succeeded,
            "{name}"
        );
        let grace_ns = grace.map_or(0, |g| if g == "1s" { SEC } else { 2 * SEC });
        let want_abort = *abort && grace_ns < run;
        assert_eq!(
            !t.abort_check(run, &measure).is_empty(),
            want_abort,
            "{name}"
        );
    }
}

/// A run of one 1 ms request per iteration for 3 s, with `thresholds`: its verdicts at the
/// end, as (expression, pass).
fn run_verdicts(thresholds: &str) -> Vec<(String, bool)> {
    let text = format!(
        "model: x\nflows:\n  f:\n    steps:\n      - request: ping\n\
         scenarios:\n  s: {{executor: constant-vus, vus: 1, duration: 3s}}\n\
         thresholds: {thresholds}\n"
    );
    let l = config::from_strs(&text, common::PING_MODEL).unwrap();
    let opts = RunOptions {
        seed: 1,
        replication: 0,
    };
    let r = try_run_logged(&l, opts, false, &mut |_, _| {}).unwrap();
    l.scenario
        .thresholds
        .evaluate(&|sel, agg| r.measure(sel, agg))
        .into_iter()
        .map(|v| (v.expr, v.pass))
        .collect()
}

#[test]
fn test_thresholds_run() {
    // k6 metrics/thresholds_test.go TestThresholdsRun: thresholds over one sink. Counters and
    // trends are surge's own (`Metrics`): a counter of whole events (1234 for k6's 1234.5),
    // a trend of iteration durations in ms.
    let counter = |n: u64| {
        let mut m = Metrics::new(vec![]);
        m.on_dropped_many(n);
        m
    };
    let trend = |ms: &[u64]| {
        let mut m = Metrics::new(vec![]);
        for v in ms {
            m.on_iteration(v * MS);
        }
        m
    };
    let eval = |m: &Metrics, metric: &str, expr: &str, secs: f64| -> bool {
        let t: Thresholds =
            serde_json::from_str(&format!(r#"{{"{metric}": ["{expr}"]}}"#)).unwrap();
        !Thresholds::any_failed(&t.evaluate(&|sel, agg| m.measure(sel, agg, secs)))
    };
    let c = "dropped_iterations";
    let it = "iteration_duration";
    // "Running thresholds of existing sink".
    assert!(eval(&counter(1234), c, "count<2000", 0.0));
    // "Running thresholds of existing sink but failing threshold".
    assert!(!eval(&counter(3000), c, "count<2000", 0.0));
    // Skipped: "Running threshold on non existing sink does not fail" (`p(95)` on a counter):
    // surge, like k6's validation before a run, refuses a trend aggregation on a counter.
    // "Running a counter rate threshold with zero duration does not divide by zero".
    assert!(eval(&counter(1234), c, "rate<100", 0.0));
    // "... trend sink with values and passing med statement succeeds" / "... failing ...".
    assert!(eval(&trend(&[70, 80, 90]), it, "med>39", 3.0));
    assert!(!eval(&trend(&[70, 80, 90]), it, "med<39", 3.0));
    // "... trend sink with no values and passing med statement succeeds" / "non passing ...
    // fails": an empty trend reads 0 at the end of a test (the engine's final
    // evaluateThresholds(false)), which surge applies to a run's result. A submetric of
    // responses with status 500 stays empty in a run where nothing fails.
    assert_eq!(
        run_verdicts("{'http_req_duration{status:500}': ['med<39', 'med>39']}"),
        [("med<39".to_string(), true), ("med>39".to_string(), false)]
    );
}

#[test]
fn test_thresholds_json() {
    // k6 metrics/thresholds_test.go TestThresholdsJSON: (JSON, sources, abortOnFail, grace
    // period, marshalled output if not the input). A k6 Thresholds value is one metric's list;
    // surge's is the map around it, so each row is the value of key "m".
    type Row<'a> = (&'a str, &'a [&'a str], bool, Option<&'a str>, &'a str);
    let rows: &[Row] = &[
        (r#"[]"#, &[], false, None, ""),
        (r#"["rate<0.01"]"#, &["rate<0.01"], false, None, ""),
        (
            r#"["rate<0.01"]"#,
            &["rate<0.01"],
            false,
            None,
            r#"["rate<0.01"]"#,
        ),
        (
            r#"["rate<0.01","p(95)<200"]"#,
            &["rate<0.01", "p(95)<200"],
            false,
            None,
            "",
        ),
        (
            r#"[{"threshold":"rate<0.01"}]"#,
            &["rate<0.01"],
            false,
            None,
            r#"["rate<0.01"]"#,
        ),
        (
            r#"[{"threshold":"rate<0.01","abortOnFail":true,"delayAbortEval":null}]"#,
            &["rate<0.01"],
            true,
            None,
            // k6 writes the unset grace period as null; surge leaves the key out (same value
            // when read back by either).
            r#"[{"threshold":"rate<0.01","abortOnFail":true}]"#,
        ),
        (
            r#"[{"threshold":"rate<0.01","abortOnFail":true,"delayAbortEval":"2s"}]"#,
            &["rate<0.01"],
            true,
            Some("2s"),
            "",
        ),
        (
            r#"[{"threshold":"rate<0.01","abortOnFail":false}]"#,
            &["rate<0.01"],
            false,
            None,
            r#"["rate<0.01"]"#,
        ),
        (
            r#"[{"threshold":"rate<0.01"}, "p(95)<200"]"#,
            &["rate<0.01", "p(95)<200"],
            false,
            None,
            r#"["rate<0.01","p(95)<200"]"#,
        ),
    ];
    for (json, sources, abort, grace, output) in rows {
        let t = one_key(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        let ths = &t.0[0].thresholds;
        assert_eq!(ths.len(), sources.len(), "{json}");
        for (th, src) in ths.iter().zip(sources.iter()) {
            assert_eq!(th.expr.source, *src, "{json}");
            assert_eq!(th.abort_on_fail, *abort, "{json}");
            assert_eq!(th.delay_abort_eval.as_deref(), *grace, "{json}");
        }
        // "marshal".
        let want = if output.is_empty() { json } else { output };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            format!(r#"{{"m":{want}}}"#),
            "{json}"
        );
    }
    // "bad JSON": 42 is not a threshold list.
    assert!(one_key("42").is_err());
    // From types.NullDuration (lib/types/types.go): a number is milliseconds.
    let t =
        one_key(r#"[{"threshold":"rate<0.01","abortOnFail":true,"delayAbortEval":2500}]"#).unwrap();
    assert_eq!(
        t.0[0].thresholds[0].abort_delay_ns(),
        Some(2500 * i128::from(MS))
    );
    let t = one_key(r#"[{"threshold":"rate<0.01","abortOnFail":null}]"#).unwrap();
    assert!(!t.0[0].thresholds[0].abort_on_fail);
}

// ------------------------------------------------------------------ metrics/metric_test.go

#[test]
fn test_add_submetric() {
    // k6 metrics/metric_test.go TestAddSubmetric: the tags of `metric{<name>}`. A threshold
    // key goes through ParseMetricName before AddSubmetric (k6 internal/cmd/test_load.go
    // validates every key with it), so the rows with a tag lacking `:value` ("a", "a,b"),
    // which AddSubmetric alone accepts with an empty value, are refused as k6 refuses those
    // keys.
    let rows: &[(&str, Option<&[(&str, &str)]>)] = &[
        ("", None),
        ("  ", None),
        ("a", None),
        ("a:1", Some(&[("a", "1")])),
        (" a : 1 ", Some(&[("a", "1")])),
        ("a,b", None),
        (r#" a:"",b: ''"#, Some(&[("a", ""), ("b", "")])),
        ("a:1,b:2", Some(&[("a", "1"), ("b", "2")])),
        (" a : 1, b : 2 ", Some(&[("a", "1"), ("b", "2")])),
        (r#"a : '1' , b : "2""#, Some(&[("a", "1"), ("b", "2")])),
        (
            r#"" a" : ' 1' , b : "2 " "#,
            Some(&[(" a", " 1"), ("b", "2 ")]),
        ),
    ];
    for (name, want) in rows {
        let got = parse_selector(&format!("metric{{{name}}}")).ok().map(|s| {
            let mut t = s.tags;
            t.sort();
            t
        });
        let want = want.map(|w| {
            let mut t: Vec<(String, String)> = w
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            t.sort();
            t
        });
        assert_eq!(got, want, "{name:?}");
    }
}

#[test]
fn test_parse_metric_name() {
    // k6 metrics/metric_test.go TestParseMetricName: (expression, metric, tags as
    // "key:value" strings) or an error. surge's tags are (key, value) pairs: joined back.
    let rows: &[(&str, &str, Option<(&str, &[&str])>)] = &[
        (
            "metric name without tags",
            "test_metric",
            Some(("test_metric", &[])),
        ),
        (
            "metric name with single tag",
            "test_metric{abc:123}",
            Some(("test_metric", &["abc:123"])),
        ),
        (
            "metric name with multiple tags",
            "test_metric{abc:123,easyas:doremi}",
            Some(("test_metric", &["abc:123", "easyas:doremi"])),
        ),
        (
            "metric name with multiple spaced tags",
            "test_metric{abc:123, easyas:doremi}",
            Some(("test_metric", &["abc:123", "easyas:doremi"])),
        ),
        (
            "metric name with group tag",
            "test_metric{group:::mygroup}",
            Some(("test_metric", &["group:::mygroup"])),
        ),
        (
            "metric name with valid name and repeated curly braces tokens in tags definition",
            "http_req_duration{name:http://${}.com}",
            Some(("http_req_duration", &["name:http://${}.com"])),
        ),
        (
            "metric name with valid name and repeated curly braces and colon tokens in tags definition",
            "http_req_duration{name:http://${}.com,url:ssh://github.com:grafana/k6}",
            Some((
                "http_req_duration",
                &["name:http://${}.com", "url:ssh://github.com:grafana/k6"],
            )),
        ),
        (
            "metric name with tag definition missing `:value`",
            "test_metric{easyas}",
            None,
        ),
        (
            "metric name with tag definition missing value",
            "test_metric{easyas:}",
            None,
        ),
        (
            "metric name with mixed valid and invalid tag definitions",
            "test_metric{abc:123,easyas:}",
            None,
        ),
        (
            "metric name with valid name and unmatched opening tags definition token",
            "test_metric{abc:123,easyas:doremi",
            None,
        ),
        (
            "metric name with valid name and unmatched closing tags definition token",
            "test_metricabc:123,easyas:doremi}",
            None,
        ),
        (
            "metric name with valid name and invalid starting tags definition token",
            "test_metric}abc:123,easyas:doremi}",
            None,
        ),
        (
            "metric name with valid name and invalid curly braces in tags definition",
            "test_metric}abc{bar",
            None,
        ),
        (
            "metric name with valid name and trailing characters after closing curly brace in tags definition",
            "test_metric{foo:ba}r",
            None,
        ),
    ];
    for (name, expr, want) in rows {
        let got = parse_selector(expr).ok().map(|s| {
            let tags: Vec<String> = s.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            (s.metric, tags)
        });
        let want = want.map(|(m, t)| (m.to_string(), t.iter().map(|s| s.to_string()).collect()));
        assert_eq!(got, want, "{name}");
    }
}

// ------------------------------------------------- internal/metrics/engine/engine_test.go

#[test]
fn test_metrics_engine_get_threshold_metric_or_submetric_error() {
    // k6 internal/metrics/engine/engine_test.go TestMetricsEngineGetThresholdMetricOrSubmetricError:
    // a registry holding only metric1 (a counter).
    let kind_of = |m: &str| (m == "metric1").then_some(MetricKind::Counter);
    let check = |key: &str| -> Result<(), String> {
        let t: Thresholds = serde_json::from_str(&format!(r#"{{"{key}": ["count>1"]}}"#))
            .map_err(|e| e.to_string())?;
        t.validate(&kind_of)
    };
    // "missing ending bracket".
    assert!(check("metric1{test:a").is_err());
    // "'metric2' does not exist in the script".
    assert!(check("metric2").unwrap_err().contains("unknown metric"));
    // "submetric criteria for metric 'metric1' cannot be empty".
    assert!(check("metric1{}").is_err());
    assert_eq!(check("metric1{test:a}"), Ok(()));
}

#[test]
fn test_metrics_engine_evaluate_threshold_no_abort() {
    // k6 internal/metrics/engine/engine_test.go TestMetricsEngineEvaluateThresholdNoAbort: m1,
    // a counter with one sample of 6, evaluated at the end with a zero test-run duration.
    let rows: &[(&str, bool, bool)] = &[
        ("count>5", false, false),
        ("count<5", false, true),
        ("count<5", true, true),
    ];
    let mut m = Metrics::new(vec![]);
    m.on_dropped_many(6);
    let measure = |sel: &MetricSelector, agg: &Aggregation| m.measure(sel, agg, 0.0);
    for (expr, abort_on_fail, breached) in rows {
        let mut t: Thresholds =
            serde_json::from_str(&format!(r#"{{"dropped_iterations": ["{expr}"]}}"#)).unwrap();
        t.0[0].thresholds[0].abort_on_fail = *abort_on_fail;
        assert_eq!(
            Thresholds::any_failed(&t.evaluate(&measure)),
            *breached,
            "{expr}"
        );
        assert_eq!(
            !t.abort_check(0, &measure).is_empty(),
            *abort_on_fail,
            "{expr} abortOnFail={abort_on_fail}"
        );
    }
}

#[test]
fn test_metrics_engine_evaluate_ignore_empty_sink() {
    // k6 internal/metrics/engine/engine_test.go TestMetricsEngineEvaluateIgnoreEmptySink, the
    // end-of-test half: an empty counter reads 0 in the final evaluation, so `count>5` fails
    // (breached) there. A run's counter of responses with status 500 stays empty when nothing
    // fails.
    assert_eq!(
        run_verdicts("{'http_reqs{status:500}': ['count>5']}"),
        [("count>5".to_string(), false)]
    );
    // The other half (while the test runs, ignoreEmptySinks = true, an empty counter is
    // skipped and does not abort) is `abort_check_skips_empty_counters_as_k6_does` below.
}

/// k6 evaluates thresholds every 2 s while the test runs with `ignoreEmptySinks = true`
/// (internal/metrics/engine/engine.go StartThresholdCalculations; TestMetricsEngineEvaluate-
/// IgnoreEmptySink): a counter that has no sample yet is not evaluated, so it cannot abort.
/// One VU, 10 s iterations: no iteration has ended at 2, 4, 6 or 8 s; k6 aborts at 10 s,
/// when `iterations` first has a sample (1, failing count>100).
///
/// (surge's run-time check used to read an empty counter as 0 and abort at the first check, 2 s.)
#[test]
fn abort_check_skips_empty_counters_as_k6_does() {
    let text = "model: x\nflows:\n  f:\n    steps:\n      - sleep: const(10s)\n\
                scenarios:\n  s: {executor: constant-vus, vus: 1, duration: 30s}\n\
                thresholds:\n  iterations: [{threshold: 'count>100', abortOnFail: true}]\n";
    let l = config::from_strs(text, common::PING_MODEL).unwrap();
    let opts = RunOptions {
        seed: 1,
        replication: 0,
    };
    let r = try_run_logged(&l, opts, false, &mut |_, _| {}).unwrap();
    let end_s = surge::engine::ns_to_secs(r.end);
    assert!(
        end_s >= 10.0,
        "aborted at {end_s} s, before the counter had a sample"
    );
}
