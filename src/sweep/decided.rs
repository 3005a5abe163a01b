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

use crate::config::scenario::{ExecutorCfg, FlowStep, ScenarioFile};
use crate::metrics::{kind_of, Metrics};
use crate::threshold::{Aggregation, MetricKind, MetricSelector, Op, Thresholds};
use crate::workload::inspect::ScenarioPlan;
use crate::workload::requirements::Step;

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
    /// A ratio over all requests, bounded below through the run's request cap.
    capped: bool,
}

/// The rules of a scenario's thresholds (those that can be decided early).
#[derive(Clone, Debug, Default)]
pub struct Decider {
    rules: Vec<Rule>,
    /// An upper bound on the HTTP requests the whole run can send, when one is provable.
    cap: Option<f64>,
}

/// Ratios over all requests that cannot fall below `so far / cap`: the numerator only grows
/// (failures, durations are never negative) and the final denominator is at most the cap.
fn capped_failure(sel: &MetricSelector, agg: &Aggregation, op: &Op) -> bool {
    let upper = matches!(op, Op::Lt | Op::Le);
    sel.tags.is_empty()
        && upper
        && matches!(
            (sel.metric.as_str(), agg),
            ("http_req_failed", Aggregation::Rate) | ("http_req_duration", Aggregation::Avg)
        )
}

/// The thresholds `pick` accepts, as rules.
fn rules_where(
    t: &Thresholds,
    capped: bool,
    pick: impl Fn(&MetricSelector, &Aggregation, &Op) -> bool,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    for set in &t.0 {
        for th in &set.thresholds {
            let e = &th.expr;
            if pick(&set.selector, &e.agg, &e.op) {
                rules.push(Rule {
                    name: format!("{} {}", set.key, e.source),
                    selector: set.selector.clone(),
                    agg: e.agg.clone(),
                    op: e.op,
                    limit: e.value,
                    capped,
                });
            }
        }
    }
    rules
}

/// Requests one pass over `steps` sends, and the least simulated time its sleeps take.
fn flow_bounds(steps: &[FlowStep]) -> (f64, f64) {
    steps.iter().fold((0.0, 0.0), |(r, t), st| match st {
        FlowStep::Request(_) => (r + 1.0, t),
        FlowStep::Sleep(d) => (r, t + d.min_ns() as f64),
        FlowStep::Loop(l) => {
            let (lr, lt) = flow_bounds(&l.steps);
            (r + lr * l.count as f64, t + lt * l.count as f64)
        }
    })
}

/// VU-time planned before `end` and VU activations, from k6's execution steps.
fn vu_time_and_activations(steps: &[Step], end: u64) -> (f64, f64) {
    let (mut area, mut acts, mut prev) = (0.0, 0.0, 0u64);
    for (i, st) in steps.iter().enumerate() {
        acts += st.planned.saturating_sub(prev) as f64;
        prev = st.planned;
        let next = steps.get(i + 1).map_or(end, |n| n.t).min(end);
        area += st.planned as f64 * next.saturating_sub(st.t) as f64;
    }
    (area, acts)
}

/// An upper bound on the HTTP requests a run of `s` can send, or None when none is provable.
/// Arrival-driven and iteration executors plan their iterations exactly; a looping VU starts at
/// most `active time / least iteration time + 1` iterations per activation, where the least
/// iteration time is the flow's minimum sleep (requests take no less than zero). Each iteration
/// sends at most the largest flow's requests.
pub fn request_cap(s: &ScenarioFile) -> Option<f64> {
    let mut total = 0.0;
    for (name, e) in &s.scenarios {
        let (_, _, names, _) = e.common();
        let flows: Vec<_> = match names {
            Some(v) => v.iter().filter_map(|f| s.flows.get(f)).collect(),
            None => s.flows.values().collect(),
        };
        let bounds: Vec<(f64, f64)> = flows.iter().map(|f| flow_bounds(&f.steps)).collect();
        let per_iteration = bounds.iter().map(|b| b.0).fold(0.0, f64::max);
        let least_time = bounds.iter().map(|b| b.1).fold(f64::INFINITY, f64::min);
        let plan = ScenarioPlan::of(name, e);
        let iterations = match (plan.planned_iterations, e) {
            (Some(n), _) => n as f64,
            (None, ExecutorCfg::ConstantVus(_) | ExecutorCfg::RampingVus(_))
                if least_time > 0.0 && least_time.is_finite() =>
            {
                let (area, acts) = vu_time_and_activations(&plan.steps, plan.regular_end);
                (area / least_time).floor() + acts
            }
            _ => return None,
        };
        total += iterations * per_iteration;
    }
    Some(total)
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
        Decider {
            rules: rules_where(t, false, |sel, agg, op| {
                monotone_failure(&sel.metric, agg, op)
            }),
            cap: None,
        }
    }

    /// The rules of a scenario, with the ratio rules when its requests have a provable cap.
    pub fn for_scenario(s: &ScenarioFile) -> Self {
        let mut d = Decider::new(&s.thresholds);
        let ratios = rules_where(&s.thresholds, true, capped_failure);
        if !ratios.is_empty() {
            d.cap = request_cap(s);
            if d.cap.is_some() {
                d.rules.extend(ratios);
            }
        }
        d
    }

    /// Whether any threshold can be decided early.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first target that has provably failed by now, if any.
    pub fn failed(&self, m: &Metrics) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| {
                let v = if r.capped {
                    self.cap.and_then(|cap| lower_bound(m, &r.agg, cap))
                } else {
                    now(m, &r.selector, &r.agg)
                };
                v.is_some_and(|v| !r.op.holds(v, r.limit))
            })
            .map(|r| r.name.as_str())
    }
}

/// A lower bound on the final value of an untagged ratio rule: what has accumulated so far over
/// the most requests the run can send. None while the cap is not above what was counted (then
/// the cap was not an upper bound, and nothing is decided).
fn lower_bound(m: &Metrics, agg: &Aggregation, cap: f64) -> Option<f64> {
    let n: u64 = m.endpoints.iter().map(|e| e.duration.count()).sum();
    if cap < (n + u64::from(m.inflight)) as f64 || cap <= 0.0 {
        return None;
    }
    match agg {
        Aggregation::Rate => Some(m.failed as f64 / cap),
        Aggregation::Avg => {
            let sum: f64 = m
                .endpoints
                .iter()
                .filter(|e| e.duration.count() > 0)
                .map(|e| e.duration.avg_ms() * e.duration.count() as f64)
                .sum();
            Some(sum / cap)
        }
        _ => None,
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

    fn scenario(yaml: &str) -> ScenarioFile {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn request_cap_counts_planned_iterations_and_vu_time() {
        let flows = "flows:\n  a: {steps: [{request: x}, {sleep: const(1s)}, {loop: {count: 3, steps: [{request: y}]}}]}\n  b: {steps: [{request: x}, {sleep: 'uniform(2s,3s)'}]}\n";
        // 10/s for 10 s: k6 starts exactly 100 iterations; the larger flow sends 4 requests.
        let open = scenario(&format!("model: m.yaml\n{flows}scenarios:\n  s: {{executor: constant-arrival-rate, rate: 10, duration: 10s, preAllocatedVUs: 5}}\n"));
        assert_eq!(request_cap(&open), Some(400.0));
        // 10 VUs for 10 s, each iteration at least 1 s: at most 10 + 10 iterations per VU-start.
        let closed = scenario(&format!("model: m.yaml\n{flows}scenarios:\n  s: {{executor: constant-vus, vus: 10, duration: 10s}}\n"));
        assert_eq!(request_cap(&closed), Some((100.0 + 10.0) * 4.0));
        // An exponential sleep can be arbitrarily short: no cap for looping VUs.
        let unbounded = scenario("model: m.yaml\nflows:\n  a: {steps: [{request: x}, {sleep: exp(mean=1s)}]}\nscenarios:\n  s: {executor: constant-vus, vus: 10, duration: 10s}\n");
        assert_eq!(request_cap(&unbounded), None);
    }

    #[test]
    fn failures_over_the_cap_decide_a_rate_target() {
        let mut s = scenario("model: m.yaml\nflows:\n  a: {steps: [{request: x}]}\nscenarios:\n  s: {executor: constant-arrival-rate, rate: 10, duration: 10s, preAllocatedVUs: 5}\nthresholds:\n  http_req_failed: ['rate<0.01']\n  'http_req_failed{endpoint:x}': ['rate<0.01']\n");
        let d = Decider::for_scenario(&s);
        // Only the untagged rule is bounded by the cap (100 requests).
        assert_eq!(d.rules.len(), 1);
        let mut m = Metrics::new(vec!["x".into()]);
        for _ in 0..10 {
            m.endpoints[0].duration.record(1_000_000);
        }
        // One failure in at most 100 requests: the final rate is at least 0.01, so `< 0.01` fails.
        m.failed = 1;
        assert_eq!(d.failed(&m), Some("http_req_failed rate<0.01"));
        m.failed = 0;
        assert_eq!(d.failed(&m), None);
        // A cap below what was already counted is not a cap: nothing is decided.
        for _ in 0..100 {
            m.endpoints[0].duration.record(1_000_000);
        }
        m.failed = 50;
        assert_eq!(d.failed(&m), None);
        // Without a provable cap the rule is dropped.
        s.flows.get_mut("a").unwrap().steps.push(FlowStep::Sleep(
            crate::dist::Dist::parse("exp(mean=1s)").unwrap(),
        ));
        s.scenarios = scenario("model: m.yaml\nflows: {}\nscenarios:\n  s: {executor: constant-vus, vus: 1, duration: 1s}\n").scenarios;
        assert!(Decider::for_scenario(&s).is_empty());
    }

    #[test]
    fn a_run_never_sends_more_than_its_cap() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let l = crate::config::load(&root.join("scenarios/quickstart.yaml"), &[]).unwrap();
        let cap = request_cap(&l.scenario).expect("quickstart's flows sleep at least 1 s");
        let r = crate::sim::run(
            &l,
            crate::sim::RunOptions {
                seed: l.scenario.seed,
                replication: 0,
            },
            &mut |_, _| {},
        );
        let sent = r.metrics.http.count() as f64;
        assert!(sent > 0.0 && sent <= cap, "sent {sent}, cap {cap}");
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
