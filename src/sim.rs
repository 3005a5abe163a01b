//! One simulation run: builds the system and workload from a loaded scenario, drives the event
//! loop, and returns everything the reports need.

use crate::autoscale::driver::{Autoscaling, ScaleEvent};
use crate::config::budget::{Meter, Source};
use crate::config::model::ModelFile;
use crate::config::Loaded;
use crate::engine::{EventQueue, Nanos};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::metrics::{Metrics, TimeSeries, VUS_EVERY};
use crate::system::{Response, System};
use crate::threshold::{Aggregation, MetricKind, MetricSelector, Thresholds};
use crate::workload::Workload;

#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    pub seed: u64,
    pub replication: u64,
}

/// Everything a finished run measured.
pub struct RunResult {
    pub metrics: Metrics,
    pub system: System,
    pub end: Nanos,
    pub events: u64,
    pub scenario_names: Vec<String>,
    pub utilization: Vec<(String, f64)>,
    pub mean_inflight: f64,
    pub scale_events: Vec<ScaleEvent>,
    /// The iterations log as CSV (`--iterations-log`), when asked for.
    pub iterations_csv: Option<String>,
    /// When a [`Watch`] stopped the run before its planned end (the sample time it stopped at).
    pub stopped_at: Option<Nanos>,
    /// When a threshold with `abortOnFail` stopped the test, as k6 would.
    pub aborted: Option<Aborted>,
    /// Per alternative model of [`try_run_shared`]: whether its HPAs and its pools decided
    /// exactly as this run's at every step, so that its own run would have been this one, event
    /// for event (only the reasons `scale_events` gives for a scale, and figures computed from
    /// the pool size itself, such as `pool_max_total`, may differ).
    pub alternatives_same: Vec<bool>,
}

/// A test stopped by thresholds with `abortOnFail` (k6 `AbortedByThreshold`).
#[derive(Clone, Debug, PartialEq)]
pub struct Aborted {
    pub at: Nanos,
    /// The threshold keys (metric selectors) that failed with `abortOnFail`.
    pub keys: Vec<String>,
}

impl Aborted {
    /// k6's message (`internal/metrics/engine/engine.go` StartThresholdCalculations).
    pub fn message(&self) -> String {
        format!(
            "thresholds on metrics '{}' were crossed; at least one has abortOnFail enabled, \
             stopping test prematurely (at {})",
            self.keys.join(", "),
            crate::dist::format_duration(self.at)
        )
    }
}

/// What k6 does on wall-clock tickers while a test runs, at the same simulated instants: sample
/// the `vus` and `vus_max` gauges every second, and check the thresholds that may abort every
/// two (`thresholdsRate`). Checked before each event, so an instant's gauges see the state
/// the events before it left.
struct Ticks {
    next: Nanos,
    next_vus: Nanos,
    next_abort: Nanos,
}

/// k6's `thresholdsRate`.
const ABORT_EVERY: Nanos = 2_000_000_000;

impl Ticks {
    fn new(can_abort: bool) -> Self {
        let next_abort = if can_abort { ABORT_EVERY } else { Nanos::MAX };
        Ticks {
            next: VUS_EVERY.min(next_abort),
            next_vus: VUS_EVERY,
            next_abort,
        }
    }

    /// Every tick up to `t`; the abort, if a check calls for one.
    #[cold]
    fn run_to(
        &mut self,
        t: Nanos,
        thresholds: &Thresholds,
        wl: &Workload,
        m: &mut Metrics,
    ) -> Option<Aborted> {
        while self.next <= t {
            let now = self.next;
            if self.next_vus == now {
                m.vus_gauge.add(f64::from(wl.active_vus()));
                m.vus_max_gauge.add(f64::from(wl.vus_max()));
                self.next_vus += VUS_EVERY;
            }
            if self.next_abort == now {
                m.finish();
                let secs = crate::engine::ns_to_secs(now);
                let keys =
                    thresholds.abort_check(now, &|sel, agg| running_value(m, sel, agg, secs));
                if !keys.is_empty() {
                    return Some(Aborted { at: now, keys });
                }
                self.next_abort += ABORT_EVERY;
            }
            self.next = self.next_vus.min(self.next_abort);
        }
        None
    }
}

/// A threshold's value while the test runs: as at the end, except that a metric without samples
/// yet has none, so it is skipped (k6 evaluates with `ignoreEmptySinks` while running,
/// `internal/metrics/engine/engine.go`). Trends, rates and gauges already have no value when
/// empty; a counter reads 0, so it is asked for its count.
fn running_value(m: &Metrics, sel: &MetricSelector, agg: &Aggregation, secs: f64) -> Option<f64> {
    let counter = crate::metrics::kind_of(&sel.metric) == Some(MetricKind::Counter);
    if counter && m.measure(sel, &Aggregation::Count, secs) == Some(0.0) {
        return None;
    }
    m.measure(sel, agg, secs)
}

/// Asked after every `Sample` event (the interval just closed) whether the run may stop now:
/// `(now, planned end, metrics so far, system)`. Used by `surge plan` to end runs whose verdict is
/// already decided, or whose estimates are precise enough (`sweep::decided`, `sweep::precision`).
pub type Watch<'a> = dyn FnMut(Nanos, Nanos, &Metrics, &System) -> bool + 'a;

impl RunResult {
    pub fn timeseries(&self) -> &TimeSeries {
        &self.metrics.ts
    }

    /// The value a threshold compares. Client-side metrics come from `Metrics::measure`;
    /// `queue_wait{service:x}` (mean wait in ms) from the system's queue statistics.
    pub fn measure(&self, sel: &MetricSelector, agg: &Aggregation) -> Option<f64> {
        if sel.metric == "queue_wait" {
            let (kind, name) = sel.tags.first()?;
            let q = self.system.queue_report(self.end);
            return match agg {
                Aggregation::Avg => q.get(format!("{kind}:{name}"))?["mean_wait_ms"].as_f64(),
                _ => None,
            };
        }
        if sel.metric == "vusers.error_rate" {
            // maxErrorRate's quantity, judged as ensure judges it at the end (NaN fails), not
            // as a k6 rate without samples (skipped, so passing).
            let v = self.metrics.vusers.unwrap_or_default();
            return Some(v.reported_failed_rate());
        }
        let v = self
            .metrics
            .measure(sel, agg, crate::engine::ns_to_secs(self.end));
        // At the end of the test k6 evaluates empty sinks too (`evaluateThresholds(false)`):
        // an empty trend, counter or gauge reads 0; an empty rate has no value and is skipped.
        match crate::metrics::kind_of(&sel.metric) {
            Some(MetricKind::Rate) | None => v,
            Some(_) => v.or(Some(0.0)),
        }
    }
}

/// Run to completion; panics where [`try_run`] returns an error (for tests and benchmarks).
pub fn run(loaded: &Loaded, opts: RunOptions, progress: &mut dyn FnMut(Nanos, Nanos)) -> RunResult {
    try_run(loaded, opts, progress).unwrap_or_else(|e| panic!("{e}"))
}

/// Events between two checks of the memory budget.
const METER_EVERY: u64 = 4096;

/// Run to completion. `progress` is told the simulated time (and planned end) once per interval.
/// The run is stopped with an input error (exit 2) when it exceeds its budget
/// (`loaded.budget`), or when a VU loops without simulated time passing.
pub fn try_run(
    loaded: &Loaded,
    opts: RunOptions,
    progress: &mut dyn FnMut(Nanos, Nanos),
) -> Result<RunResult> {
    try_run_with(loaded, opts, false, &[], progress, &mut |_, _, _, _| false)
}

/// [`try_run`], also keeping one row per iteration when `iterations_log` is set
/// (`RunResult::iterations_csv`).
pub fn try_run_logged(
    loaded: &Loaded,
    opts: RunOptions,
    iterations_log: bool,
    progress: &mut dyn FnMut(Nanos, Nanos),
) -> Result<RunResult> {
    try_run_with(
        loaded,
        opts,
        iterations_log,
        &[],
        progress,
        &mut |_, _, _, _| false,
    )
}

/// [`try_run`], stopping at the first sample at which `watch` says so.
pub fn try_run_watched(
    loaded: &Loaded,
    opts: RunOptions,
    progress: &mut dyn FnMut(Nanos, Nanos),
    watch: &mut Watch,
) -> Result<RunResult> {
    try_run_with(loaded, opts, false, &[], progress, watch)
}

/// [`try_run_watched`], also following `alternatives`: models that differ from
/// `loaded.model` only in their HPA specs and pool sizes (the caller's promise;
/// `sweep::shared` checks it).
/// `RunResult::alternatives_same` says which of them would have run exactly this run.
pub fn try_run_shared(
    loaded: &Loaded,
    opts: RunOptions,
    alternatives: &[&ModelFile],
    progress: &mut dyn FnMut(Nanos, Nanos),
    watch: &mut Watch,
) -> Result<RunResult> {
    try_run_with(loaded, opts, false, alternatives, progress, watch)
}

fn try_run_with(
    loaded: &Loaded,
    opts: RunOptions,
    iterations_log: bool,
    alternatives: &[&ModelFile],
    progress: &mut dyn FnMut(Nanos, Nanos),
    watch: &mut Watch,
) -> Result<RunResult> {
    let s = &loaded.scenario;
    let at = |(field, msg): (String, String)| {
        Error::input(&loaded.scenario_path, format!("field {field}"), msg)
    };
    let estimate = crate::config::budget::estimate(s, &loaded.model);
    estimate
        .check(&loaded.budget)
        .map_err(|(src, field, msg)| {
            let file = match src {
                Source::Scenario => &loaded.scenario_path,
                Source::Model => &loaded.model_path,
            };
            Error::input(file, format!("field {field}"), msg)
        })?;
    let mut meter = Meter::new(loaded.budget, &estimate);
    let in_model = |(field, msg): (String, String)| {
        Error::input(&loaded.model_path, format!("field {field}"), msg)
    };
    let mut sys = System::build(&loaded.model, opts.seed, opts.replication).map_err(in_model)?;
    let mut wl =
        Workload::build(s, &loaded.model, &sys, opts.seed, opts.replication).map_err(at)?;
    if iterations_log {
        wl.log_iterations();
    }
    let labels = sys
        .endpoints
        .iter()
        .map(|e| {
            if e.service == sys.entry {
                e.name.clone()
            } else {
                format!("{}.{}", sys.services[e.service as usize].name, e.name)
            }
        })
        .collect();
    let mut m = Metrics::new(labels);
    let labels: Vec<String> = m.endpoints.iter().map(|e| e.label.clone()).collect();
    m.subs =
        crate::metrics::submetric::Submetrics::build(&s.thresholds, &labels, &wl.scenario_names());
    if s.scenarios
        .values()
        .any(|e| matches!(e, crate::config::scenario::ExecutorCfg::Artillery(_)))
    {
        m.vusers = Some(Default::default());
        m.artillery_scenarios = wl.artillery_scenarios();
    }
    m.ts.columns = Metrics::BASE_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .collect();
    m.ts.columns.extend(sys.columns());
    let mut auto =
        Autoscaling::build(&loaded.model, &sys, opts.seed, opts.replication).map_err(in_model)?;
    m.ts.columns.extend(auto.columns(&sys));
    for alt in alternatives {
        auto.follow(alt, &sys);
    }
    meter.columns = m.ts.columns.len() as u64;

    let mut q: EventQueue<Event> = EventQueue::new();
    let interval = s.sample_interval.0;
    let horizon = s.duration.map(|d| d.0).unwrap_or(Nanos::MAX);
    let planned = wl.planned_end().min(horizon);
    wl.schedule_starts(&mut q);
    auto.schedule_first(&mut q);
    q.schedule_at(interval, Event::Sample);

    let mut last_sample: Nanos = 0;
    let mut last_area = Vec::new();
    let mut row = Vec::new();
    let mut responses: Vec<Response> = Vec::new();
    let mut end = 0;
    let mut stopped_at = None;
    let mut ticks = Ticks::new(s.thresholds.can_abort());
    let mut aborted = None;
    while let Some((t, ev)) = q.pop() {
        if t > horizon {
            end = horizon;
            break;
        }
        if t >= ticks.next {
            if let Some(a) = ticks.run_to(t, &s.thresholds, &wl, &mut m) {
                end = a.at;
                aborted = Some(a);
                break;
            }
        }
        end = t;
        if let Some(next) = q.prefetch_next() {
            sys.prefetch(next);
        }
        match ev {
            Event::Sample => {
                row.clear();
                sys.sample(t, t - last_sample, &mut last_area, &mut row);
                auto.sample(&sys, &mut row);
                m.close_interval(t, t - last_sample, &row);
                last_sample = t;
                progress(t, planned);
                if watch(t, planned, &m, &sys) {
                    stopped_at = Some(t);
                    break;
                }
                q.schedule_in(interval, Event::Sample);
            }
            Event::MetricsScrape
            | Event::HpaSync { .. }
            | Event::ClusterScan
            | Event::AsgTick { .. }
            | Event::ReplicaTick { .. } => auto.handle(ev, &mut q, &mut sys),
            // The commonest system events go straight to their handlers: one dispatch on the
            // event, not a second in `System::handle` behind its larger frame.
            Event::FcfsDone { station, req } => sys.fcfs_event(station, req, &mut q),
            Event::Resume { req } => sys.resume(req, &mut q),
            Event::PsDone { station } => sys.ps_event(station, &mut q),
            ev if ev.is_system() => sys.handle(ev, &mut q),
            _ => wl.handle(ev, &mut q, &mut sys, &mut m),
        }
        while !sys.outbox.is_empty() {
            std::mem::swap(&mut responses, &mut sys.outbox);
            for r in &responses {
                wl.on_response(r, &mut q, &mut sys, &mut m);
            }
            responses.clear();
        }
        // Tested before taken: taking moves the whole Option out and back on every event.
        if wl.error.is_some() {
            if let Some(e) = wl.error.take() {
                return Err(at(e));
            }
        }
        if wl.done_at.is_some() {
            break;
        }
        let n = q.delivered();
        if n.is_multiple_of(METER_EVERY) || n > meter.budget.max_events {
            meter
                .check(
                    n,
                    u64::from(wl.allocated_vus()),
                    q.len() as u64,
                    m.ts.rows.len() as u64,
                )
                .map_err(|msg| Error::input(&loaded.scenario_path, "", msg))?;
        }
    }
    if end > last_sample {
        row.clear();
        sys.sample(end, end - last_sample, &mut last_area, &mut row);
        auto.sample(&sys, &mut row);
        m.close_interval(end, end - last_sample, &row);
    }
    progress(end, planned);
    m.finish();
    // k6's vus_max: VUs initialised over the run (planned up front + added mid-run).
    m.vus_allocated = wl.vus_max();
    let iterations_csv = wl.iterations_csv();
    let utilization = sys.resource_utilization(end);
    m.tx = sys.tx_stats();
    let mean_inflight = m.mean_inflight(end);
    let alternatives_same = auto
        .followed_same()
        .into_iter()
        .zip(alternatives)
        .map(|(hpas, alt)| hpas && sys.pools_admit(alt))
        .collect();
    Ok(RunResult {
        events: q.delivered(),
        metrics: m,
        system: sys,
        end,
        scenario_names: wl.scenario_names(),
        utilization,
        mean_inflight,
        scale_events: auto.events,
        iterations_csv,
        stopped_at,
        aborted,
        alternatives_same,
    })
}
