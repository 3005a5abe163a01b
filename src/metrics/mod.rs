//! What a run measures: k6's built-in metrics (trends, counters, rates, gauges) overall and per
//! endpoint, errors by cause, and a time series per interval.

pub mod submetric;
mod trend;
mod tx;

use crate::engine::{Nanos, SEC};
use crate::system::Cause;
pub use trend::{Sample, Trend};
pub use tx::{TxStats, Values};

const N_CAUSES: usize = Cause::ALL.len();

fn cause_index(c: Cause) -> usize {
    Cause::ALL.iter().position(|x| *x == c).expect("listed")
}

pub struct EndpointStats {
    pub label: String,
    pub duration: Trend,
    pub failed: u64,
    pub by_cause: [u64; N_CAUSES],
}

impl EndpointStats {
    fn new(label: String) -> Self {
        EndpointStats {
            label,
            duration: Trend::default(),
            failed: 0,
            by_cause: [0; N_CAUSES],
        }
    }
}

/// A table of f64 columns, one row per interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeSeries {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl TimeSeries {
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| r[i]).collect())
    }
}

/// A k6 gauge (`metrics/sink.go` GaugeSink): the last sample and the extremes of all samples;
/// all 0 without samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gauge {
    pub value: f64,
    pub min: f64,
    pub max: f64,
    pub samples: u64,
}

impl Gauge {
    pub fn add(&mut self, v: f64) {
        if self.samples == 0 || v < self.min {
            self.min = v;
        }
        if self.samples == 0 || v > self.max {
            self.max = v;
        }
        self.value = v;
        self.samples += 1;
    }
}

/// How often k6 samples its `vus` and `vus_max` gauges.
pub const VUS_EVERY: Nanos = 1_000_000_000;

pub struct Metrics {
    pub http: Trend,
    /// Indexed by system endpoint id; only endpoints clients call get samples.
    pub endpoints: Vec<EndpointStats>,
    pub failed: u64,
    pub by_cause: [u64; N_CAUSES],
    pub iterations: u64,
    pub iteration_duration: Trend,
    pub dropped_iterations: u64,
    pub interrupted_iterations: u64,
    pub vus: u32,
    pub vus_max_seen: u32,
    /// k6's `vus` and `vus_max` gauges: sampled every simulated second while the test runs
    /// (k6 `internal/execution/scheduler.go` emitVUsAndVUsMax), as the summary reports them.
    pub vus_gauge: Gauge,
    pub vus_max_gauge: Gauge,
    pub vus_allocated: u32,
    /// Client requests outstanding, and ∫ of it over time (for Little's law).
    pub inflight: u32,
    /// Requests sent, and those whose client gave up without any response (VU hard-stopped).
    pub sent: u64,
    pub abandoned: u64,
    /// When the first request was sent.
    pub first_send: Option<Nanos>,
    inflight_area: f64,
    inflight_last: Nanos,
    // Current interval.
    iv_sent: u64,
    iv_done: u64,
    iv_failed: u64,
    iv_by_cause: [u64; N_CAUSES],
    iv_iterations: u64,
    iv_dropped: u64,
    iv_hist: Trend,
    iv_inflight_area_start: f64,
    pub ts: TimeSeries,
    /// On-chain outcome of the transactions the system submitted (filled in at the end of a run).
    pub tx: TxStats,
    /// k6-tagged HTTP submetrics (`{expected_response:true}`, `{status:503}`, ...).
    pub subs: submetric::Submetrics,
    /// Artillery's VU counters, when the run has an Artillery executor.
    pub vusers: Option<Vusers>,
    /// Per scenario, whether it is an `artillery` executor (empty when none is): Artillery's
    /// response counters count only those scenarios' requests.
    pub artillery_scenarios: Vec<bool>,
    /// Responses of Artillery scenarios: successes, then failures by cause.
    artillery_ok: u64,
    artillery_by_cause: [u64; N_CAUSES],
}

/// Artillery's VU counters (art `lib/core/runner.ts` run, runScenario): `vusers.created`
/// (arrivals that started a VU), `vusers.skipped` (arrivals refused because `maxVusers` were
/// already running; not k6 `dropped_iterations`), `vusers.completed` and `vusers.failed` (a VU
/// ends at a transport error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vusers {
    pub created: u64,
    pub skipped: u64,
    pub completed: u64,
    pub failed: u64,
}

impl Vusers {
    /// ensure's `maxErrorRate` quantity as a fraction: (created − completed) / created.
    pub fn failed_rate(&self) -> Option<f64> {
        (self.created > 0)
            .then(|| self.created.saturating_sub(self.completed) as f64 / self.created as f64)
    }

    /// The same quotient as ensure computes it on Artillery's final report (art
    /// `packages/artillery-plugin-ensure/plugin.ts` runChecks, maxErrorRate): a counter that
    /// never counted is not in the report, so filtrex reads it as undefined and the quotient is
    /// NaN when no VU was created or none completed (every comparison with it then fails).
    pub fn reported_failed_rate(&self) -> f64 {
        if self.created == 0 || self.completed == 0 {
            return f64::NAN;
        }
        self.created.saturating_sub(self.completed) as f64 / self.created as f64
    }
}

/// Artillery's error code for a transport failure (`errors.<code>`); `None` for an outcome with
/// an HTTP status (`http.codes.<status>`). A client timeout is got's `ETIMEDOUT`; a pod killed
/// at its grace period resets the connection (`ECONNRESET`). These are the outcomes that end an
/// Artillery VU (`vusers.failed`).
pub fn artillery_error(cause: Option<Cause>) -> Option<&'static str> {
    match cause {
        Some(Cause::Timeout) => Some("ETIMEDOUT"),
        Some(Cause::Terminated) => Some("ECONNRESET"),
        _ => None,
    }
}

/// Whether `name` is one of Artillery's counters that [`Metrics::artillery_counter`] measures:
/// `http.responses`, `http.codes.<3 digits>` (a status the model never returns reads 0),
/// `errors.<simulated code>` or `vusers.failed`.
pub fn is_artillery_counter(name: &str) -> bool {
    name == "http.responses"
        || name == "vusers.failed"
        || name
            .strip_prefix("http.codes.")
            .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        || name
            .strip_prefix("errors.")
            .is_some_and(|c| SIMULATED_ERRORS.contains(&c))
}

/// The `errors.<code>` surge produces ([`artillery_error`]); other codes (`ECONNREFUSED`,
/// `EAI_AGAIN`, capture failures) are not simulated, so a threshold on one is refused rather
/// than passing on a count that is always 0.
pub const SIMULATED_ERRORS: [&str; 2] = ["ETIMEDOUT", "ECONNRESET"];

impl Metrics {
    /// Artillery's response counters as its report names them (art `lib/core/engine_http.ts`:
    /// one `http.codes.<status>` per response, one `errors.<code>` per transport error, and
    /// `http.responses`), in name order, only those that occurred, as Artillery prints them.
    /// Only `artillery` scenarios' requests count (a k6 executor beside them has its own).
    pub fn artillery_counters(&self) -> Vec<(String, u64)> {
        let mut out = std::collections::BTreeMap::new();
        let ok = self.artillery_ok;
        let mut responses = 0;
        let mut add = |name: String, n: u64| *out.entry(name).or_insert(0) += n;
        if ok > 0 {
            add(format!("http.codes.{}", submetric::status_of(None)), ok);
            responses += ok;
        }
        for (c, &n) in Cause::ALL.iter().zip(&self.artillery_by_cause) {
            if n == 0 {
                continue;
            }
            match artillery_error(Some(*c)) {
                Some(code) => add(format!("errors.{code}"), n),
                None => {
                    add(format!("http.codes.{}", submetric::status_of(Some(*c))), n);
                    responses += n;
                }
            }
        }
        if responses > 0 {
            add("http.responses".into(), responses);
        }
        out.into_iter().collect()
    }

    /// A response to a request of scenario `sc`, for Artillery's counters when it is one.
    #[inline]
    fn count_artillery(&mut self, sc: u16, cause: Option<Cause>) {
        if self.artillery_scenarios.get(sc as usize) == Some(&true) {
            match cause {
                None => self.artillery_ok += 1,
                Some(c) => self.artillery_by_cause[cause_index(c)] += 1,
            }
        }
    }

    /// One Artillery counter by name (see [`is_artillery_counter`]); 0 when it never occurred.
    pub fn artillery_counter(&self, name: &str) -> Option<u64> {
        if !is_artillery_counter(name) {
            return None;
        }
        if name == "vusers.failed" {
            return Some(self.vusers.unwrap_or_default().failed);
        }
        Some(
            self.artillery_counters()
                .into_iter()
                .find(|(k, _)| k == name)
                .map_or(0, |(_, n)| n),
        )
    }

    pub fn new(endpoint_labels: Vec<String>) -> Self {
        Metrics {
            http: Trend::default(),
            endpoints: endpoint_labels
                .into_iter()
                .map(EndpointStats::new)
                .collect(),
            failed: 0,
            by_cause: [0; N_CAUSES],
            iterations: 0,
            iteration_duration: Trend::default(),
            dropped_iterations: 0,
            interrupted_iterations: 0,
            vus: 0,
            vus_max_seen: 0,
            vus_gauge: Gauge::default(),
            vus_max_gauge: Gauge::default(),
            vus_allocated: 0,
            inflight: 0,
            first_send: None,
            sent: 0,
            abandoned: 0,
            inflight_area: 0.0,
            inflight_last: 0,
            iv_sent: 0,
            iv_done: 0,
            iv_failed: 0,
            iv_by_cause: [0; N_CAUSES],
            iv_iterations: 0,
            iv_dropped: 0,
            iv_hist: Trend::new(2),
            iv_inflight_area_start: 0.0,
            ts: TimeSeries::default(),
            tx: TxStats::default(),
            subs: submetric::Submetrics::default(),
            vusers: None,
            artillery_scenarios: Vec::new(),
            artillery_ok: 0,
            artillery_by_cause: [0; N_CAUSES],
        }
    }

    /// An Artillery arrival started a VU.
    pub fn on_vuser_created(&mut self) {
        self.vusers.get_or_insert_default().created += 1;
    }

    /// An Artillery arrival was skipped (`maxVusers` reached).
    pub fn on_vuser_skipped(&mut self) {
        self.vusers.get_or_insert_default().skipped += 1;
    }

    pub fn on_vuser_completed(&mut self) {
        self.vusers.get_or_insert_default().completed += 1;
    }

    pub fn on_vuser_failed(&mut self) {
        self.vusers.get_or_insert_default().failed += 1;
    }

    /// Called at every send and response: the elapsed time converts through `real`, which
    /// gives the same f64 as `as f64` in fewer instructions.
    #[inline(always)]
    fn integrate(&mut self, now: Nanos) {
        let dt = crate::system::station::real(now - self.inflight_last);
        self.inflight_area += self.inflight as f64 * dt;
        self.inflight_last = now;
    }

    pub fn on_send(&mut self, now: Nanos) {
        self.integrate(now);
        self.first_send.get_or_insert(now);
        self.sent += 1;
        self.inflight += 1;
        self.iv_sent += 1;
    }

    /// A response (or a client-side timeout) reached the client after `latency`.
    pub fn on_response(&mut self, now: Nanos, ep: u32, latency: Nanos, cause: Option<Cause>) {
        self.on_response_sample(now, ep, Sample::new(latency), cause);
    }

    #[inline(always)]
    fn on_response_sample(&mut self, now: Nanos, ep: u32, latency: Sample, cause: Option<Cause>) {
        self.integrate(now);
        self.inflight -= 1;
        self.iv_done += 1;
        self.iv_hist.record_sample(latency);
        let e = &mut self.endpoints[ep as usize];
        e.duration.record_sample(latency);
        if let Some(c) = cause {
            let i = cause_index(c);
            self.failed += 1;
            self.by_cause[i] += 1;
            self.iv_failed += 1;
            self.iv_by_cause[i] += 1;
            e.failed += 1;
            e.by_cause[i] += 1;
        }
    }

    /// The client abandoned a request without a response (its VU was hard-stopped).
    pub fn on_abandon(&mut self, now: Nanos) {
        self.integrate(now);
        self.abandoned += 1;
        self.inflight -= 1;
    }

    pub fn on_iteration(&mut self, duration: Nanos) {
        self.iterations += 1;
        self.iv_iterations += 1;
        self.iteration_duration.record(duration);
    }

    pub fn on_dropped(&mut self) {
        self.dropped_iterations += 1;
        self.iv_dropped += 1;
    }

    /// `n` iterations dropped at once (an iteration executor's remainder at its end).
    pub fn on_dropped_many(&mut self, n: u64) {
        self.dropped_iterations += n;
        self.iv_dropped += n;
    }

    pub fn set_vus(&mut self, active: u32, allocated: u32) {
        self.vus = active;
        self.vus_max_seen = self.vus_max_seen.max(active);
        self.vus_allocated = self.vus_allocated.max(allocated);
    }

    pub fn requests(&self) -> u64 {
        self.endpoints.iter().map(|e| e.duration.count()).sum()
    }

    /// Merge the per-endpoint trends into `http` once the run is over (one record per response
    /// instead of two in the hot path).
    pub fn finish(&mut self) {
        self.http.reset();
        for e in &self.endpoints {
            self.http.add(&e.duration);
        }
    }

    /// Time-averaged client requests in flight over [0, now].
    pub fn mean_inflight(&mut self, now: Nanos) -> f64 {
        self.integrate(now);
        if now == 0 {
            0.0
        } else {
            self.inflight_area / now as f64
        }
    }

    pub const BASE_COLUMNS: [&'static str; 13 + N_CAUSES] = [
        "t_s",
        "vus",
        "arrivals_per_s",
        "completions_per_s",
        "errors_per_s",
        "error_rate",
        "inflight",
        "inflight_avg",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "iterations_per_s",
        "dropped_per_s",
        // Errors per second by cause, in `Cause::ALL` order.
        "errors_timeout_per_s",
        "errors_pool_timeout_per_s",
        "errors_rejected_per_s",
        "errors_external_per_s",
        "errors_db_connections_per_s",
        "errors_rate_limited_per_s",
        "errors_statement_timeout_per_s",
        "errors_cache_timeout_per_s",
        "errors_tx_reverted_per_s",
        "errors_terminated_per_s",
    ];

    /// Close the interval ending at `now` (of length `interval`); `extra` are system columns.
    pub fn close_interval(&mut self, now: Nanos, interval: Nanos, extra: &[f64]) {
        self.integrate(now);
        let secs = interval as f64 / SEC as f64;
        let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let (p50, p95, p99) = if self.iv_hist.count() == 0 {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            let [p50, p95, p99] = self.iv_hist.percentiles_ms([50.0, 95.0, 99.0]);
            (p50, p95, p99)
        };
        let inflight_avg = if interval > 0 {
            (self.inflight_area - self.iv_inflight_area_start) / interval as f64
        } else {
            self.inflight as f64
        };
        let mut row = vec![
            now as f64 / SEC as f64,
            self.vus as f64,
            per_s(self.iv_sent),
            per_s(self.iv_done),
            per_s(self.iv_failed),
            if self.iv_done > 0 {
                self.iv_failed as f64 / self.iv_done as f64
            } else {
                0.0
            },
            self.inflight as f64,
            inflight_avg,
            p50,
            p95,
            p99,
            per_s(self.iv_iterations),
            per_s(self.iv_dropped),
        ];
        row.extend(self.iv_by_cause.iter().map(|&n| per_s(n)));
        row.extend_from_slice(extra);
        self.ts.rows.push(row);
        self.iv_sent = 0;
        self.iv_done = 0;
        self.iv_failed = 0;
        self.iv_by_cause = [0; N_CAUSES];
        self.iv_iterations = 0;
        self.iv_dropped = 0;
        self.iv_hist.reset();
        self.iv_inflight_area_start = self.inflight_area;
    }

    pub fn cause_counts(&self) -> impl Iterator<Item = (Cause, u64)> + '_ {
        Cause::ALL
            .iter()
            .map(|c| (*c, self.by_cause[cause_index(*c)]))
    }
}

use crate::threshold::{Aggregation, MetricKind, MetricSelector};

/// The metrics thresholds may name, with their k6 kinds.
pub fn kind_of(name: &str) -> Option<MetricKind> {
    Some(match name {
        // queue_wait{service:x}: mean wait in x's queue (surge extension, measured by the system).
        "http_req_duration" | "iteration_duration" | "queue_wait" => MetricKind::Trend,
        "http_req_failed" => MetricKind::Rate,
        "http_reqs" | "iterations" | "dropped_iterations" => MetricKind::Counter,
        "vusers.created" | "vusers.skipped" | "vusers.completed" => MetricKind::Counter,
        // ensure's maxErrorRate: (created − completed) / created, as a k6 rate.
        "vusers.error_rate" => MetricKind::Rate,
        n if is_artillery_counter(n) => MetricKind::Counter,
        "vus" | "vus_max" => MetricKind::Gauge,
        "tx_success" => MetricKind::Rate,
        "tx_gas" | "tx_confirmation" => MetricKind::Trend,
        "tx_count" => MetricKind::Counter,
        _ => return None,
    })
}

/// Tags each metric can be filtered by.
pub fn allowed_tags(name: &str) -> &'static [&'static str] {
    match name {
        "http_req_duration" | "http_reqs" => &[
            "endpoint",
            "name",
            "scenario",
            "status",
            "expected_response",
        ],
        "http_req_failed" => &[
            "endpoint",
            "cause",
            "name",
            "scenario",
            "status",
            "expected_response",
        ],
        "queue_wait" => &["service", "database", "cache"],
        _ => &[],
    }
}

fn trend_value(t: &Trend, agg: &Aggregation) -> Option<f64> {
    if t.count() == 0 {
        return None;
    }
    Some(match agg {
        Aggregation::Avg => t.avg_ms(),
        Aggregation::Min => t.min_ms(),
        Aggregation::Max => t.max_ms(),
        Aggregation::Med => t.percentile_ms(50.0),
        Aggregation::Percentile(p) => t.percentile_ms(*p),
        _ => return None,
    })
}

impl Metrics {
    /// The value a threshold compares: (selector, aggregation) over a run of `secs` seconds.
    pub fn measure(&self, sel: &MetricSelector, agg: &Aggregation, secs: f64) -> Option<f64> {
        if let Some(v) = self.measure_submetric(sel, agg, secs) {
            return v;
        }
        let tag = |k: &str| {
            sel.tags
                .iter()
                .find(|(t, _)| t == k)
                .map(|(_, v)| v.as_str())
        };
        let ep = match tag("endpoint") {
            Some(label) => Some(self.endpoints.iter().find(|e| e.label == label)?),
            None => None,
        };
        let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let counter = |n: u64| match agg {
            Aggregation::Count => Some(n as f64),
            Aggregation::Rate => Some(rate(n)),
            _ => None,
        };
        match sel.metric.as_str() {
            "http_req_duration" => trend_value(ep.map(|e| &e.duration).unwrap_or(&self.http), agg),
            "iteration_duration" => trend_value(&self.iteration_duration, agg),
            "http_reqs" => counter(ep.map(|e| e.duration.count()).unwrap_or(self.http.count())),
            "iterations" => counter(self.iterations),
            "dropped_iterations" => counter(self.dropped_iterations),
            "vusers.created" => counter(self.vusers.unwrap_or_default().created),
            "vusers.skipped" => counter(self.vusers.unwrap_or_default().skipped),
            "vusers.completed" => counter(self.vusers.unwrap_or_default().completed),
            "vusers.error_rate" => self.vusers?.failed_rate(),
            n if is_artillery_counter(n) => counter(self.artillery_counter(n)?),
            "vus" => (self.vus_gauge.samples > 0).then_some(self.vus_gauge.value),
            "tx_success" => self.tx.success_rate(),
            "tx_count" => counter(self.tx.attempts()),
            "tx_gas" => self.tx.gas.value(agg),
            "tx_confirmation" => trend_value(&self.tx.confirmation, agg),
            "vus_max" => (self.vus_max_gauge.samples > 0).then_some(self.vus_max_gauge.value),
            "http_req_failed" => {
                let total = ep.map(|e| e.duration.count()).unwrap_or(self.http.count());
                if total == 0 {
                    return None;
                }
                let failed = match tag("cause") {
                    Some(c) => {
                        let i = Cause::ALL.iter().position(|x| x.name() == c)?;
                        ep.map(|e| e.by_cause[i]).unwrap_or(self.by_cause[i])
                    }
                    None => ep.map(|e| e.failed).unwrap_or(self.failed),
                };
                Some(failed as f64 / total as f64)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod cause_column_tests {
    use super::*;

    #[test]
    fn per_cause_error_columns_follow_cause_order() {
        let base = Metrics::BASE_COLUMNS.len() - N_CAUSES;
        for (i, c) in Cause::ALL.iter().enumerate() {
            assert_eq!(
                Metrics::BASE_COLUMNS[base + i],
                format!("errors_{}_per_s", c.name())
            );
        }
    }
}
