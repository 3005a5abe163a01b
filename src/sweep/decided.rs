//! Decided runs: `surge plan` stops a run as soon as one of its targets has provably failed,
//! because no outcome of the rest of the run can change that verdict.
//!
//! A target is decided early only when its measured quantity is monotone over the run, so the
//! value at the end lies on a known side of the value now:
//!
//! | quantity | direction | fixed failure |
//! |---|---|---|
//! | a counter's `count` (`http_reqs`, `iterations`, `dropped_iterations`, per endpoint too) | never decreases | `count < L` / `<= L` already false |
//! | a trend's `max` (`http_req_duration`, per endpoint, `iteration_duration`) | never decreases | `max < L` / `<= L` already false |
//! | a trend's `min` | never increases | `min > L` / `>= L` already false |
//! | `vus_max` (VUs allocated) | never decreases | `value < L` / `<= L` already false |
//!
//! The value now is computed exactly as the end-of-run measurement computes it (the same
//! histograms, merged the same way), so "false now" implies "false at the end". Ratios, means and
//! percentiles (`http_req_failed rate`, `avg`, `p(95)`) are never decided early: without a
//! provable cap on the number of requests still to come, later samples can move them either way.
//! Transaction metrics (`tx_*`) are only measured at the end of a run and are not decided either.
//!
//! Only failures stop a run. A run whose targets all passed early keeps running, because the
//! plan's objective (the run's cost per hour) is a whole-run figure; and a failed run cannot
//! become a passing one, so the point's pass probability, racing and the plan's answer are
//! exactly those of full-length runs. What a stopped run's row records besides its verdict
//! (latencies, cost) covers the part that ran; the runs table marks it (`stopped_at_s`,
//! `stopped_by`).

use crate::metrics::{kind_of, Metrics};
use crate::threshold::{Aggregation, MetricKind, MetricSelector, Op, Thresholds};

/// One threshold that can fail early: what to watch and the limit it must stay on the right
/// side of.
#[derive(Clone, Debug)]
struct Rule {
    /// `key expr`, as in the runs table.
    name: String,
    selector: MetricSelector,
    agg: Aggregation,
    op: Op,
    limit: f64,
}

/// The rules of a scenario's thresholds (those that can be decided early).
#[derive(Clone, Debug, Default)]
pub struct Decider {
    rules: Vec<Rule>,
}

/// Whether `(metric, aggregation, op)` is a quantity that only moves in the direction that keeps
/// a failure failed.
fn monotone_failure(metric: &str, agg: &Aggregation, op: &Op) -> bool {
    if metric.starts_with("tx_") {
        return false;
    }
    let upper = matches!(op, Op::Lt | Op::Le);
    let lower = matches!(op, Op::Gt | Op::Ge);
    match (kind_of(metric), agg) {
        (Some(MetricKind::Counter), Aggregation::Count) => upper,
        (Some(MetricKind::Trend), Aggregation::Max) => upper && metric != "queue_wait",
        (Some(MetricKind::Trend), Aggregation::Min) => lower && metric != "queue_wait",
        (Some(MetricKind::Gauge), Aggregation::Value) => upper && metric == "vus_max",
        _ => false,
    }
}

impl Decider {
    pub fn new(t: &Thresholds) -> Self {
        let mut rules = Vec::new();
        for set in &t.0 {
            for th in &set.thresholds {
                let e = &th.expr;
                if monotone_failure(&set.selector.metric, &e.agg, &e.op) {
                    rules.push(Rule {
                        name: format!("{} {}", set.key, e.source),
                        selector: set.selector.clone(),
                        agg: e.agg.clone(),
                        op: e.op,
                        limit: e.value,
                    });
                }
            }
        }
        Decider { rules }
    }

    /// Whether any threshold can be decided early.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first target that has provably failed by now, if any.
    pub fn failed(&self, m: &Metrics) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| now(m, &r.selector, &r.agg).is_some_and(|v| !r.op.holds(v, r.limit)))
            .map(|r| r.name.as_str())
    }
}

/// The value the end-of-run measurement would give if the run ended now, for the monotone
/// quantities above. During a run the per-endpoint trends hold the samples (`Metrics::http` is
/// their merge, made at the end), so untagged figures are taken over the endpoints.
fn now(m: &Metrics, sel: &MetricSelector, agg: &Aggregation) -> Option<f64> {
    let endpoint = sel
        .tags
        .iter()
        .find(|(k, _)| k == "endpoint")
        .map(|(_, v)| v.as_str());
    let eps = || {
        m.endpoints
            .iter()
            .filter(move |e| endpoint.is_none_or(|l| e.label == l))
            .filter(|e| e.duration.count() > 0)
    };
    if endpoint.is_some()
        && !m
            .endpoints
            .iter()
            .any(|e| Some(e.label.as_str()) == endpoint)
    {
        return None;
    }
    let fold = |f: fn(&crate::metrics::Trend) -> f64, max: bool| {
        eps()
            .map(|e| f(&e.duration))
            .reduce(|a, b| if max { a.max(b) } else { a.min(b) })
    };
    match (sel.metric.as_str(), agg) {
        ("http_reqs", Aggregation::Count) => {
            Some(eps().map(|e| e.duration.count()).sum::<u64>() as f64)
        }
        ("iterations", Aggregation::Count) => Some(m.iterations as f64),
        ("dropped_iterations", Aggregation::Count) => Some(m.dropped_iterations as f64),
        ("http_req_duration", Aggregation::Max) => fold(|t| t.max_ms(), true),
        ("http_req_duration", Aggregation::Min) => fold(|t| t.min_ms(), false),
        ("iteration_duration", Aggregation::Max) if m.iteration_duration.count() > 0 => {
            Some(m.iteration_duration.max_ms())
        }
        ("iteration_duration", Aggregation::Min) if m.iteration_duration.count() > 0 => {
            Some(m.iteration_duration.min_ms())
        }
        ("vus_max", Aggregation::Value) => Some(m.vus_allocated as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decider(json: &str) -> Decider {
        let t: Thresholds = serde_json::from_str(json).unwrap();
        Decider::new(&t)
    }

    #[test]
    fn only_monotone_failures_are_rules() {
        let d = decider(
            r#"{"http_req_duration": ["max<100", "p(95)<50", "avg<20", "min>1", "max>5"],
                "http_reqs": ["count<1000", "count>10", "rate<5"],
                "http_req_failed": ["rate<0.01"],
                "vus_max": ["value<=50"],
                "tx_count": ["count<3"]}"#,
        );
        let names: Vec<&str> = d.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "http_req_duration max<100",
                "http_req_duration min>1",
                "http_reqs count<1000",
                "vus_max value<=50"
            ]
        );
    }

    #[test]
    fn a_counter_over_its_limit_has_failed() {
        let d = decider(r#"{"iterations": ["count<3"], "dropped_iterations": ["count<=0"]}"#);
        let mut m = Metrics::new(vec!["e".into()]);
        assert_eq!(d.failed(&m), None);
        m.iterations = 3;
        assert_eq!(d.failed(&m), Some("iterations count<3"));
        m.iterations = 2;
        m.dropped_iterations = 1;
        assert_eq!(d.failed(&m), Some("dropped_iterations count<=0"));
    }
}
