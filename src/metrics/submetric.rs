//! k6's tags on HTTP metrics, as submetrics (k6 `metrics/metric.go` AddSubmetric,
//! `lib/netext/httpext/request.go` tags, `js/modules/k6/http/response_callback.go`):
//! `http_req_duration{expected_response:true}`, `http_reqs{status:503}`,
//! `http_req_failed{scenario:spike}`, `http_req_duration{name:claim}`, also combined with
//! `endpoint` and `cause`.
//!
//! What each tag means here:
//! - `expected_response`: k6's default expected statuses are 200–399, and surge answers 200
//!   exactly when the request succeeded, so `true` is "no failure cause". So
//!   `http_req_duration{expected_response:true}` is the latency of successful requests only.
//! - `status`: the HTTP status a k6 client would see, from the failure cause ([`status_of`]).
//! - `scenario`: the scenario whose VU sent the request.
//! - `name`: k6's request name (by default the URL); in surge the endpoint label, as `endpoint`.
//!
//! The submetrics that thresholds name are built before the run, each with a filter of
//! integer ids; recording is a scan of that short list with no allocation. The
//! `{expected_response:true}` submetric always exists, as in k6.

use super::{Metrics, Sample, Trend};
use crate::engine::Nanos;
use crate::system::Cause;
use crate::threshold::{Aggregation, MetricSelector, Thresholds};

/// HTTP metrics the tags apply to.
pub const HTTP_METRICS: [&str; 3] = ["http_req_duration", "http_reqs", "http_req_failed"];
/// Tags surge records as submetrics (beyond `endpoint` / `cause`, kept per endpoint).
pub const SUBMETRIC_TAGS: [&str; 4] = ["expected_response", "status", "scenario", "name"];

/// The HTTP status a k6 client sees for a response with this outcome. k6 reports status 0
/// for a request timeout (no response); the others are what the failing component returns.
pub fn status_of(cause: Option<Cause>) -> u16 {
    match cause {
        None => 200,
        Some(Cause::Timeout) => 0,
        Some(Cause::RateLimited) => 429,
        Some(Cause::Rejected) => 503,
        Some(Cause::External) | Some(Cause::Terminated) => 502,
        Some(Cause::PoolTimeout)
        | Some(Cause::DbConnections)
        | Some(Cause::StatementTimeout)
        | Some(Cause::CacheTimeout)
        | Some(Cause::TxReverted) => 500,
    }
}

/// k6's default `expected_response`: a status in 200–399.
pub fn expected(status: u16) -> bool {
    (200..400).contains(&status)
}

/// Which responses a submetric keeps; `None` = any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub endpoint: Option<u32>,
    pub scenario: Option<u16>,
    pub status: Option<u16>,
    pub expected: Option<bool>,
    pub cause: Option<Option<Cause>>,
    /// A tag value that names nothing (e.g. an unknown scenario): nothing matches.
    pub never: bool,
}

impl Filter {
    /// Whether a response of this outcome passes the tags that depend on the outcome alone.
    fn passes_outcome(&self, cause: Option<Cause>) -> bool {
        let status = status_of(cause);
        !self.never
            && self.status.is_none_or(|s| s == status)
            && self.expected.is_none_or(|x| x == expected(status))
            && self.cause.is_none_or(|c| c == cause)
    }

    #[cfg(test)]
    fn matches(&self, ep: u32, sc: u16, cause: Option<Cause>) -> bool {
        self.passes_outcome(cause)
            && self.endpoint.is_none_or(|e| e == ep)
            && self.scenario.is_none_or(|s| s == sc)
    }
}

impl Submetric {
    /// Whether a response of outcome `k` (see [`outcome`]) to endpoint `ep` from scenario
    /// `sc` counts here: the outcome table, then the two tags that depend on the request.
    #[inline(always)]
    fn takes(&self, k: usize, ep: u32, sc: u16) -> bool {
        self.outcomes[k]
            && self.filter.endpoint.is_none_or(|e| e == ep)
            && self.filter.scenario.is_none_or(|x| x == sc)
    }
}

/// Outcomes of a response: success, then each cause in `Cause::ALL` order.
const OUTCOMES: usize = Cause::ALL.len() + 1;

/// A response's outcome as an index into [`OUTCOMES`] (`Cause::ALL` is in declaration order).
#[inline(always)]
fn outcome(cause: Option<Cause>) -> usize {
    match cause {
        None => 0,
        Some(c) => c as usize + 1,
    }
}

pub struct Submetric {
    /// Its tags, sorted: the identity shared by the three HTTP metrics.
    pub tags: Vec<(String, String)>,
    pub filter: Filter,
    /// Per outcome, whether the filter's outcome tags (status, expected response, cause, and
    /// a tag that names nothing) let it through, decided once here rather than per response.
    outcomes: [bool; OUTCOMES],
    pub duration: Trend,
    pub failed: u64,
}

impl Submetric {
    pub fn count(&self) -> u64 {
        self.duration.count()
    }
}

#[derive(Default)]
pub struct Submetrics {
    pub subs: Vec<Submetric>,
}

fn sorted(tags: &[(String, String)]) -> Vec<(String, String)> {
    let mut t = tags.to_vec();
    t.sort();
    t
}

/// Does this selector need a submetric (a tag beyond `endpoint` / `cause`)?
pub fn is_submetric(sel: &MetricSelector) -> bool {
    HTTP_METRICS.contains(&sel.metric.as_str())
        && sel
            .tags
            .iter()
            .any(|(k, _)| SUBMETRIC_TAGS.contains(&k.as_str()))
}

impl Submetrics {
    /// The submetrics `thresholds` need, plus `{expected_response:true}`. `endpoints` are the
    /// metric labels by endpoint id; `scenarios` the scenario names by index.
    pub fn build(thresholds: &Thresholds, endpoints: &[String], scenarios: &[String]) -> Self {
        let mut out = Submetrics::default();
        out.add(
            &[("expected_response".into(), "true".into())],
            endpoints,
            scenarios,
        );
        for set in &thresholds.0 {
            if is_submetric(&set.selector) {
                out.add(&set.selector.tags, endpoints, scenarios);
            }
        }
        out
    }

    fn add(&mut self, tags: &[(String, String)], endpoints: &[String], scenarios: &[String]) {
        let tags = sorted(tags);
        if self.subs.iter().any(|s| s.tags == tags) {
            return;
        }
        let mut f = Filter::default();
        for (k, v) in &tags {
            match k.as_str() {
                "endpoint" | "name" => match endpoints.iter().position(|l| l == v) {
                    Some(i) if f.endpoint.is_none_or(|e| e == i as u32) => {
                        f.endpoint = Some(i as u32)
                    }
                    _ => f.never = true,
                },
                "scenario" => match scenarios.iter().position(|s| s == v) {
                    Some(i) => f.scenario = Some(i as u16),
                    None => f.never = true,
                },
                "status" => match v.parse::<u16>() {
                    Ok(s) => f.status = Some(s),
                    Err(_) => f.never = true,
                },
                "expected_response" => match v.as_str() {
                    "true" => f.expected = Some(true),
                    "false" => f.expected = Some(false),
                    _ => f.never = true,
                },
                "cause" => match Cause::ALL.iter().find(|c| c.name() == v) {
                    Some(c) => f.cause = Some(Some(*c)),
                    None => f.never = true,
                },
                _ => f.never = true,
            }
        }
        let mut outcomes = [false; OUTCOMES];
        outcomes[0] = f.passes_outcome(None);
        for c in Cause::ALL {
            outcomes[outcome(Some(c))] = f.passes_outcome(Some(c));
        }
        self.subs.push(Submetric {
            tags,
            filter: f,
            outcomes,
            duration: Trend::default(),
            failed: 0,
        });
    }

    pub fn record(&mut self, ep: u32, sc: u16, latency: Nanos, cause: Option<Cause>) {
        self.record_sample(ep, sc, Sample::new(latency), cause);
    }

    #[inline]
    fn record_sample(&mut self, ep: u32, sc: u16, latency: Sample, cause: Option<Cause>) {
        let k = outcome(cause);
        for s in &mut self.subs {
            if s.takes(k, ep, sc) {
                s.duration.record_sample(latency);
                s.failed += u64::from(cause.is_some());
            }
        }
    }

    pub fn find(&self, tags: &[(String, String)]) -> Option<&Submetric> {
        let t = sorted(tags);
        self.subs.iter().find(|s| s.tags == t)
    }
}

impl Metrics {
    /// A response (or client timeout) of a request a VU of scenario `sc` sent: the metrics
    /// and the tagged submetrics.
    #[inline]
    pub fn on_response_in(
        &mut self,
        now: Nanos,
        ep: u32,
        sc: u16,
        latency: Nanos,
        cause: Option<Cause>,
    ) {
        // One conversion to µs and one magnitude for the three trends the response goes to.
        let latency = Sample::new(latency);
        self.on_response_sample(now, ep, latency, cause);
        self.subs.record_sample(ep, sc, latency, cause);
        if !self.artillery_scenarios.is_empty() {
            self.count_artillery(sc, cause);
        }
    }

    /// A threshold value from a submetric: `Some(value)` when the selector is one.
    pub fn measure_submetric(
        &self,
        sel: &MetricSelector,
        agg: &Aggregation,
        secs: f64,
    ) -> Option<Option<f64>> {
        if !is_submetric(sel) {
            return None;
        }
        let Some(s) = self.subs.find(&sel.tags) else {
            return Some(None);
        };
        let n = s.count();
        Some(match sel.metric.as_str() {
            "http_req_duration" => super::trend_value(&s.duration, agg),
            "http_reqs" => match agg {
                Aggregation::Count => Some(n as f64),
                Aggregation::Rate => Some(if secs > 0.0 { n as f64 / secs } else { 0.0 }),
                _ => None,
            },
            "http_req_failed" => (n > 0).then(|| s.failed as f64 / n as f64),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[(&str, &str)]) -> Vec<(String, String)> {
        t.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters_follow_k6_tags() {
        let th: Thresholds = serde_json::from_str(
            r#"{"http_reqs{status:503}": ["count<1"],
                "http_req_duration{scenario:b,name:claim}": ["p(95)<100"],
                "http_req_failed{expected_response:false}": ["rate<1"],
                "http_reqs{scenario:nope}": ["count<1"]}"#,
        )
        .unwrap();
        let eps = ["ping".to_string(), "claim".to_string()];
        let scs = ["a".to_string(), "b".to_string()];
        let mut s = Submetrics::build(&th, &eps, &scs);
        assert_eq!(s.subs.len(), 5);
        s.record(0, 0, 5_000_000, None); // a/ping ok
        s.record(1, 1, 7_000_000, None); // b/claim ok
        s.record(1, 1, 9_000_000, Some(Cause::Rejected)); // b/claim 503
        s.record(1, 0, 11_000_000, Some(Cause::Timeout)); // a/claim status 0
        let n = |t: &[(&str, &str)]| s.find(&tags(t)).unwrap().count();
        assert_eq!(n(&[("expected_response", "true")]), 2);
        assert_eq!(n(&[("status", "503")]), 1);
        assert_eq!(n(&[("name", "claim"), ("scenario", "b")]), 2);
        assert_eq!(n(&[("expected_response", "false")]), 2);
        assert_eq!(
            s.find(&tags(&[("expected_response", "false")]))
                .unwrap()
                .failed,
            2
        );
        assert_eq!(n(&[("scenario", "nope")]), 0);
        // Only successful latencies in {expected_response:true}.
        let ok = &s
            .find(&tags(&[("expected_response", "true")]))
            .unwrap()
            .duration;
        assert!((ok.max_ms() - 7.0).abs() < 0.01, "{}", ok.max_ms());
        assert!((ok.min_ms() - 5.0).abs() < 0.01, "{}", ok.min_ms());
    }

    /// The precomputed outcome table says what the full filter says, for every outcome and
    /// every filter of the k6 tags.
    #[test]
    fn outcome_table_matches_the_filter() {
        for (i, c) in Cause::ALL.iter().enumerate() {
            assert_eq!(outcome(Some(*c)), i + 1, "{c:?}");
        }
        let th: Thresholds = serde_json::from_str(
            r#"{"http_reqs{status:503}": ["count<1"],
                "http_reqs{status:0,scenario:a}": ["count<1"],
                "http_req_failed{expected_response:false,endpoint:claim}": ["rate<1"],
                "http_req_failed{cause:timeout}": ["rate<1"],
                "http_req_failed{cause:nope}": ["rate<1"],
                "http_reqs{scenario:nope}": ["count<1"]}"#,
        )
        .unwrap();
        let eps = ["ping".to_string(), "claim".to_string()];
        let scs = ["a".to_string(), "b".to_string()];
        let s = Submetrics::build(&th, &eps, &scs);
        let outcomes = std::iter::once(None).chain(Cause::ALL.iter().map(|c| Some(*c)));
        for cause in outcomes {
            for sub in &s.subs {
                for ep in 0..2 {
                    for sc in 0..2 {
                        let fast = sub.takes(outcome(cause), ep, sc);
                        assert_eq!(fast, sub.filter.matches(ep, sc, cause), "{:?}", sub.tags);
                    }
                }
            }
        }
    }

    #[test]
    fn expected_statuses_are_k6_defaults() {
        assert!(expected(status_of(None)));
        for c in Cause::ALL {
            assert!(!expected(status_of(Some(c))), "{c:?}");
        }
        assert_eq!(status_of(Some(Cause::Timeout)), 0);
        assert_eq!(status_of(Some(Cause::RateLimited)), 429);
    }
}
