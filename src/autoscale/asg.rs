//! EC2 Auto Scaling group decision logic driven by CloudWatch alarms.
//!
//! Pure and deterministic: no clocks, no randomness, no I/O. The simulator
//! owns time and metrics and calls [`AsgController::tick`] every 10 s.
//!
//! # Call contract
//! * `tick(now, metric)` with non-decreasing `now` (seconds, f64), ideally at
//!   multiples of 10 s starting at or after the construction time. A tick
//!   with an earlier `now` is ignored.
//! * Alarm periods are aligned to multiples of `period` from t = 0, as
//!   CloudWatch aligns periods to the clock. When a tick crosses the end of a
//!   period, the controller asks `metric(name, period)` for the aggregate over
//!   `[end - period, end)`; with 10-s ticks at multiples of 10, `end == now`.
//!   Return `None` when there is no data (e.g. no instance contributes).
//!   If ticks skip whole periods, the skipped periods are recorded as missing.
//! * The aggregate should only cover instances that have finished warming up
//!   (AWS excludes warming instances from the group's aggregated metrics).
//!   Use [`AsgController::tick_with`] to receive the contributing instance ids
//!   with each query, or call [`AsgController::contributing_instances_at`]
//!   with the same `now` before the tick.
//! * Each tick returns the desired-capacity changes it made (at most one).
//!   Instance launches/terminations follow from `desired` and the lifecycle
//!   timings in [`AsgSimParams`].
//!
//! # Model (AWS docs unless marked *inferred*)
//! * Alarms: M (`DatapointsToAlarm`) of the last N (`EvaluationPeriods`)
//!   datapoints, not necessarily consecutive. Evaluated every minute, or
//!   every 10 s for 10/30-s periods. While an alarm stays in ALARM its Auto
//!   Scaling action is re-invoked every minute (AWS Cooldown docs: "continue
//!   to fire every minute for any standard resolution alarm").
//! * Missing data: see [`Alarm::evaluate`].
//! * Simple scaling: an invocation is ignored while any scaling activity is
//!   in progress or before the cooldown ends; the cooldown (`Cooldown` ??
//!   `DefaultCooldown`) starts when the last instance of the activity
//!   finishes launching (InService) or terminating. Only activities started
//!   by simple policies set the cooldown (*inferred*: AWS says step/target
//!   tracking ignore cooldowns; it does not say they start one).
//! * Step and target tracking ignore cooldowns. Instances launched by them
//!   warm up for `EstimatedInstanceWarmup` ?? `DefaultInstanceWarmup` ??
//!   `DefaultCooldown`, counted from InService (*inferred*: the docs define
//!   `DefaultInstanceWarmup` from InService and let the policy value override
//!   it). Instances launched by simple policies warm up for
//!   `DefaultInstanceWarmup` ?? 0. Warming (and pending) instances count
//!   toward desired capacity, are excluded from metrics and block scale-in.
//! * Scale-out base (step, target tracking) is the capacity that is not
//!   warming: `new = capacity_not_warming + adj`, applied only if
//!   `new > desired` (*inferred* from AWS's 10 → 11 → 13 example).
//!   Scale-in base is desired + terminating instances ("we consider
//!   instances that are terminating as part of the current capacity"),
//!   applied only if `new < desired`.
//! * Target tracking (*inferred* model): two alarms per policy (see
//!   [`TT_HIGH_DATAPOINTS`]); the high alarm proposes
//!   `ceil(capacity_not_warming * metric / target)`, the low alarm
//!   `ceil((desired + terminating) * metric / target)`. Proportional because
//!   AWS requires metrics that scale inversely with capacity; `ceil` because
//!   AWS rounds up when adding and down when removing, which both reduce to
//!   it. Out if any policy asks; in only if every policy with scale-in
//!   enabled has its low alarm in ALARM, taking the largest proposal.
//!   INSUFFICIENT_DATA never triggers anything.
//! * When several policies act in one tick, the one giving the largest
//!   capacity wins (AWS "multiple scaling policies" rule).
//! * Termination order (*simplification*): not-yet-InService first, then
//!   newest launch; AWS's default policy balances AZs and then picks by
//!   launch template age and billing hour, none of which is modelled.

use crate::autoscale::asg_config::{
    AdjustmentType, AlarmConfig, AsgGroupConfig, ComparisonOperator, NamedPolicy, PolicyConfig,
    ReplicaPolicyConfig, SimplePolicyConfig, StepAdjustment, StepPolicyConfig,
    TargetTrackingConfig, TreatMissingData,
};
use std::collections::VecDeque;

/// Tolerance for comparing simulation times.
const EPS: f64 = 1e-6;
/// Alarms on periods >= 60 s are evaluated once a minute.
pub const STANDARD_EVALUATION_SECS: f64 = 60.0;
/// High-resolution alarms (10/30-s periods) are evaluated every 10 s.
pub const HIGH_RESOLUTION_EVALUATION_SECS: f64 = 10.0;
/// Interval at which an alarm in ALARM re-invokes its Auto Scaling action.
pub const ACTION_REPEAT_SECS: f64 = 60.0;
/// Datapoints retrieved beyond N. *Inferred*: AWS says the evaluation range
/// "depends on the length of the alarm period"; its worked tables retrieve
/// 5 datapoints for N = 3.
pub const EXTRA_EVALUATION_RANGE: usize = 2;

/// Target tracking alarms. *Inferred* (user write-ups, not AWS docs): the
/// high alarm is 3 of 3 one-minute datapoints above the target, the low
/// alarm 15 of 15 below 0.9 x target (write-ups report 0.7-0.9).
pub const TT_PERIOD_SECS: u32 = 60;
pub const TT_HIGH_DATAPOINTS: u32 = 3;
pub const TT_LOW_DATAPOINTS: u32 = 15;
pub const TT_LOW_FACTOR: f64 = 0.9;

fn bucket(t: f64, width: f64) -> i64 {
    ((t + EPS) / width).floor() as i64
}

// ---------------------------------------------------------------------------
// CloudWatch alarm
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    pub metric_name: String,
    pub threshold: f64,
    pub comparison: ComparisonOperator,
    /// Seconds.
    pub period: f64,
    /// N.
    pub evaluation_periods: usize,
    /// M.
    pub datapoints_to_alarm: usize,
    pub treat_missing: TreatMissingData,
}

impl AlarmSpec {
    pub fn from_config(c: &AlarmConfig) -> Self {
        AlarmSpec {
            metric_name: c.metric_name.clone(),
            threshold: c.threshold,
            comparison: c.comparison_operator,
            period: f64::from(c.period),
            evaluation_periods: c.evaluation_periods as usize,
            datapoints_to_alarm: c.datapoints_to_alarm as usize,
            treat_missing: c.treat_missing_data,
        }
    }

    pub fn evaluation_interval(&self) -> f64 {
        if self.period < 60.0 {
            HIGH_RESOLUTION_EVALUATION_SECS
        } else {
            STANDARD_EVALUATION_SECS
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.metric_name,
            self.comparison.symbol(),
            self.threshold
        )
    }
}

/// What happened to an alarm during one [`Alarm::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlarmTick {
    /// The alarm was evaluated (its evaluation interval elapsed).
    pub evaluated: bool,
    /// The alarm is in ALARM and its action is due (on entering ALARM, then
    /// every [`ACTION_REPEAT_SECS`]).
    pub invoke: bool,
}

/// A metric alarm fed one aggregate datapoint per period.
#[derive(Debug, Clone)]
pub struct Alarm {
    spec: AlarmSpec,
    /// Oldest first; at most N + [`EXTRA_EVALUATION_RANGE`] entries.
    history: VecDeque<Option<f64>>,
    state: AlarmState,
    last_period: i64,
    last_eval: i64,
    last_action: Option<f64>,
}

impl Alarm {
    /// A new alarm starts in INSUFFICIENT_DATA (as `PutMetricAlarm` does);
    /// its first datapoint is the first period ending after `now`.
    pub fn new(spec: AlarmSpec, now: f64) -> Self {
        let last_period = bucket(now, spec.period);
        let last_eval = bucket(now, spec.evaluation_interval());
        Alarm {
            history: VecDeque::with_capacity(spec.evaluation_periods + EXTRA_EVALUATION_RANGE),
            spec,
            state: AlarmState::InsufficientData,
            last_period,
            last_eval,
            last_action: None,
        }
    }

    pub fn spec(&self) -> &AlarmSpec {
        &self.spec
    }

    pub fn state(&self) -> AlarmState {
        self.state
    }

    /// Like `SetAlarmState`: lasts until the next evaluation.
    pub fn set_state(&mut self, state: AlarmState) {
        self.state = state;
    }

    /// Most recent non-missing datapoint in the evaluation range; step and
    /// target tracking size their adjustment from it (*simplification* of
    /// "applies the aggregation type to the most recent metric data points").
    pub fn latest(&self) -> Option<f64> {
        self.history.iter().rev().find_map(|v| *v)
    }

    /// Appends the datapoint of the next period (`None` = missing).
    pub fn record(&mut self, value: Option<f64>) {
        if self.history.len() == self.spec.evaluation_periods + EXTRA_EVALUATION_RANGE {
            self.history.pop_front();
        }
        self.history.push_back(value);
    }

    /// Recomputes the state from the evaluation range, following CloudWatch's
    /// "How alarm state is evaluated when data is missing":
    /// * at least N datapoints present: the N most recent present ones are
    ///   evaluated and missing ones do not matter;
    /// * fewer: the gaps are filled per `TreatMissingData`. `breaching` /
    ///   `notBreaching` fill literally. For `missing` (default) and `ignore`,
    ///   M real breaching points give ALARM, any real non-breaching point
    ///   gives OK, and otherwise (no data, or only breaching points but fewer
    ///   than M) `missing` gives INSUFFICIENT_DATA and `ignore` keeps the
    ///   state. This reproduces every cell of AWS's two worked tables but one
    ///   (3-of-3, `X - - - -` under `missing`, which the docs list as ALARM
    ///   while listing `- - - - X` as INSUFFICIENT_DATA).
    pub fn evaluate(&mut self) -> AlarmState {
        let n = self.spec.evaluation_periods;
        let m = self.spec.datapoints_to_alarm;
        let present: Vec<bool> = self
            .history
            .iter()
            .rev()
            .filter_map(|v| v.map(|x| self.spec.comparison.breaches(x, self.spec.threshold)))
            .collect();
        let state = if present.len() >= n {
            if present[..n].iter().filter(|&&b| b).count() >= m {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            }
        } else {
            let breaching = present.iter().filter(|&&b| b).count();
            let fill = n - present.len();
            let verdict = |b: usize| {
                if b >= m {
                    AlarmState::Alarm
                } else {
                    AlarmState::Ok
                }
            };
            match self.spec.treat_missing {
                TreatMissingData::Breaching => verdict(breaching + fill),
                TreatMissingData::NotBreaching => verdict(breaching),
                TreatMissingData::Missing | TreatMissingData::Ignore => {
                    if breaching >= m {
                        AlarmState::Alarm
                    } else if present.len() > breaching {
                        AlarmState::Ok
                    } else if self.spec.treat_missing == TreatMissingData::Missing {
                        AlarmState::InsufficientData
                    } else {
                        self.state
                    }
                }
            }
        };
        self.state = state;
        state
    }

    /// Moves the alarm to `now`: records the datapoint of every period that
    /// ended since the last call (`sample(name, period, start, end)` for the
    /// latest one, missing for any skipped), evaluates if an evaluation
    /// instant passed, and reports whether the action is due.
    pub fn advance(
        &mut self,
        now: f64,
        sample: &mut dyn FnMut(&str, f64, f64, f64) -> Option<f64>,
    ) -> AlarmTick {
        let period = self.spec.period;
        let k = bucket(now, period);
        if k > self.last_period {
            let cap = (self.spec.evaluation_periods + EXTRA_EVALUATION_RANGE) as i64;
            for _ in 0..(k - self.last_period - 1).min(cap) {
                self.record(None);
            }
            let end = k as f64 * period;
            let v = sample(&self.spec.metric_name, period, end - period, end);
            self.record(v.filter(|x| x.is_finite()));
            self.last_period = k;
        }
        let mut tick = AlarmTick::default();
        let e = bucket(now, self.spec.evaluation_interval());
        if e > self.last_eval {
            self.last_eval = e;
            let prev = self.state;
            tick.evaluated = true;
            if self.evaluate() == AlarmState::Alarm {
                let due = prev != AlarmState::Alarm
                    || self
                        .last_action
                        .is_none_or(|t| now - t >= ACTION_REPEAT_SECS - EPS);
                if due {
                    self.last_action = Some(now);
                    tick.invoke = true;
                }
            }
        }
        tick
    }
}

// ---------------------------------------------------------------------------
// Adjustment arithmetic
// ---------------------------------------------------------------------------

/// `PercentChangeInCapacity` of `base` in whole instances, rounded as AWS
/// documents: above 1 down, (0, 1) to 1, (-1, 0) to -1, below -1 toward 0.
/// Integer arithmetic, so e.g. 10 % of 30 is exactly 3.
pub fn percent_adjustment(base: u32, percent: i32) -> i64 {
    let prod = i64::from(base) * i64::from(percent);
    match prod {
        0 => 0,
        1..=99 => 1,
        -99..=-1 => -1,
        _ => prod / 100, // truncates toward zero
    }
}

/// Unclamped new capacity from applying `scaling_adjustment` to `base`.
/// `MinAdjustmentMagnitude` only applies to `PercentChangeInCapacity`
/// (validated in config); a non-zero percentage of 0 instances scales by it.
pub fn apply_adjustment(
    kind: AdjustmentType,
    scaling_adjustment: i32,
    base: u32,
    min_adjustment_magnitude: Option<u32>,
) -> i64 {
    let base_i = i64::from(base);
    match kind {
        AdjustmentType::ChangeInCapacity => base_i + i64::from(scaling_adjustment),
        AdjustmentType::ExactCapacity => i64::from(scaling_adjustment),
        AdjustmentType::PercentChangeInCapacity => {
            let adj = percent_adjustment(base, scaling_adjustment);
            let min = i64::from(min_adjustment_magnitude.unwrap_or(0));
            let magnitude = adj.abs().max(min);
            base_i + i64::from(scaling_adjustment.signum()) * magnitude
        }
    }
}

/// The step whose interval contains `metric - threshold`. Above the
/// threshold (`upper` alarms) the lower bound is inclusive and the upper
/// exclusive; below it the reverse.
pub fn select_step(
    steps: &[StepAdjustment],
    metric: f64,
    threshold: f64,
    upper: bool,
) -> Option<&StepAdjustment> {
    let d = metric - threshold;
    steps.iter().find(|s| {
        let lo = s.metric_interval_lower_bound.unwrap_or(f64::NEG_INFINITY);
        let hi = s.metric_interval_upper_bound.unwrap_or(f64::INFINITY);
        if upper {
            lo <= d && d < hi
        } else {
            lo < d && d <= hi
        }
    })
}

/// `desired = ceil(capacity * metric / target)` (*inferred*). AWS documents
/// only that target tracking scales proportionally, rounding up when adding
/// and down when removing ("removing 1.5 instances ... we remove just one");
/// both reduce to `ceil` of the proportional capacity. The small epsilon
/// keeps float noise (10 * 55 / 50 = 11.000000000000002) from adding one.
pub fn target_tracking_capacity(capacity: u32, metric: f64, target: f64) -> i64 {
    (f64::from(capacity) * metric / target - 1e-9)
        .ceil()
        .max(0.0) as i64
}

fn clamp_size(v: i64, min: u32, max: u32) -> u32 {
    v.clamp(i64::from(min), i64::from(max)) as u32
}

// ---------------------------------------------------------------------------
// Controller
// ---------------------------------------------------------------------------

/// Simulator timings that AWS JSON does not carry.
#[derive(Debug, Clone, PartialEq)]
pub struct AsgSimParams {
    /// Launch to InService (boot, user data, lifecycle hooks).
    pub boot_secs: f64,
    /// Termination request to terminated, including ELB deregistration delay
    /// (ALB default 300 s, ending early once in-flight requests finish).
    pub termination_secs: f64,
}

impl Default for AsgSimParams {
    fn default() -> Self {
        AsgSimParams {
            boot_secs: 60.0,
            termination_secs: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    Pending,
    InService,
    Terminating,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: u64,
    pub launched_at: f64,
    pub in_service_at: f64,
    /// End of warm-up; metrics include the instance from then on.
    pub warm_at: f64,
    /// End of `HealthCheckGracePeriod` (counted from InService).
    pub health_check_grace_until: f64,
    pub terminate_requested_at: Option<f64>,
    pub terminated_at: Option<f64>,
}

impl Instance {
    pub fn state(&self, now: f64) -> InstanceState {
        if self.terminate_requested_at.is_some() {
            InstanceState::Terminating
        } else if now + EPS < self.in_service_at {
            InstanceState::Pending
        } else {
            InstanceState::InService
        }
    }

    /// Pending or in warm-up, and not terminating.
    pub fn is_warming(&self, now: f64) -> bool {
        self.terminate_requested_at.is_none() && now + EPS < self.warm_at
    }

    /// InService, warmed up and not terminating.
    pub fn contributes_to_metrics(&self, now: f64) -> bool {
        self.terminate_requested_at.is_none() && now + EPS >= self.warm_at
    }

    /// Health checks would not mark the instance unhealthy yet.
    pub fn in_health_check_grace(&self, now: f64) -> bool {
        now + EPS < self.health_check_grace_until
    }
}

/// One desired-capacity change.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleEvent {
    pub time: f64,
    pub from: u32,
    pub to: u32,
    /// Policy, alarm, value and arithmetic, plus any limit that applied
    /// (MinSize/MaxSize clamp, warm-up).
    pub reason: String,
}

/// A metric aggregate request handed to [`AsgController::tick_with`].
#[derive(Debug, Clone, Copy)]
pub struct MetricQuery<'a> {
    pub name: &'a str,
    pub period: f64,
    /// Window `[start, end)`.
    pub start: f64,
    pub end: f64,
    /// Instances whose data belongs in the aggregate (warmed up, InService).
    pub contributing_instances: &'a [u64],
}

#[derive(Debug, Clone)]
enum PolicyKind {
    Simple {
        cfg: SimplePolicyConfig,
        alarm: Alarm,
    },
    Step {
        cfg: StepPolicyConfig,
        alarm: Alarm,
    },
    Target {
        cfg: TargetTrackingConfig,
        high: Alarm,
        low: Alarm,
    },
}

#[derive(Debug, Clone)]
struct Policy {
    name: String,
    kind: PolicyKind,
}

struct Candidate {
    new: u32,
    warmup: f64,
    /// Set for simple policies: the cooldown their activity starts.
    cooldown: Option<f64>,
    reason: String,
}

/// Decision logic of one Auto Scaling group and its scaling policies.
#[derive(Debug, Clone)]
pub struct AsgController {
    group: AsgGroupConfig,
    params: AsgSimParams,
    policies: Vec<Policy>,
    instances: Vec<Instance>,
    desired: u32,
    next_id: u64,
    cooldown_end: f64,
    now: f64,
    notes: Vec<String>,
}

impl AsgController {
    /// Starts with `DesiredCapacity` warmed-up InService instances at `now`.
    pub fn new(
        group: &AsgGroupConfig,
        policies: &[NamedPolicy],
        params: AsgSimParams,
        now: f64,
    ) -> Result<Self, String> {
        group.validate("")?;
        if !(params.boot_secs >= 0.0 && params.termination_secs >= 0.0) {
            return Err("AsgSimParams: boot_secs and termination_secs must be >= 0".into());
        }
        let mut out = Vec::with_capacity(policies.len());
        for (i, p) in policies.iter().enumerate() {
            if policies[..i].iter().any(|q| q.name == p.name) {
                return Err(format!("{}: duplicate policy name", p.name));
            }
            let kind = match &p.policy {
                PolicyConfig::Simple(cfg) => PolicyKind::Simple {
                    alarm: Alarm::new(AlarmSpec::from_config(&cfg.alarm), now),
                    cfg: cfg.clone(),
                },
                PolicyConfig::Step(cfg) => PolicyKind::Step {
                    alarm: Alarm::new(AlarmSpec::from_config(&cfg.alarm), now),
                    cfg: cfg.clone(),
                },
                PolicyConfig::TargetTracking(cfg) => {
                    // AWS: several target tracking policies must use different metrics.
                    let clash = policies[..i].iter().any(|q| {
                        matches!(&q.policy, PolicyConfig::TargetTracking(o) if o.metric_name == cfg.metric_name)
                    });
                    if clash {
                        return Err(format!(
                            "{}.metricName: another target tracking policy already tracks {}",
                            p.name, cfg.metric_name
                        ));
                    }
                    let spec = |threshold, comparison, n| AlarmSpec {
                        metric_name: cfg.metric_name.clone(),
                        threshold,
                        comparison,
                        period: f64::from(TT_PERIOD_SECS),
                        evaluation_periods: n,
                        datapoints_to_alarm: n,
                        treat_missing: TreatMissingData::Missing,
                    };
                    PolicyKind::Target {
                        high: Alarm::new(
                            spec(
                                cfg.target_value,
                                ComparisonOperator::GreaterThanThreshold,
                                TT_HIGH_DATAPOINTS as usize,
                            ),
                            now,
                        ),
                        low: Alarm::new(
                            spec(
                                cfg.target_value * TT_LOW_FACTOR,
                                ComparisonOperator::LessThanThreshold,
                                TT_LOW_DATAPOINTS as usize,
                            ),
                            now,
                        ),
                        cfg: cfg.clone(),
                    }
                }
            };
            out.push(Policy {
                name: p.name.clone(),
                kind,
            });
        }
        let mut c = AsgController {
            group: group.clone(),
            params,
            policies: out,
            instances: Vec::new(),
            desired: group.desired_capacity,
            next_id: 0,
            cooldown_end: f64::NEG_INFINITY,
            now,
            notes: Vec::new(),
        };
        for _ in 0..group.desired_capacity {
            let id = c.next_id;
            c.next_id += 1;
            c.instances.push(Instance {
                id,
                launched_at: now,
                in_service_at: now,
                warm_at: now,
                health_check_grace_until: now,
                terminate_requested_at: None,
                terminated_at: None,
            });
        }
        Ok(c)
    }

    /// Advances to `now` with a metric source keyed by name and period; see
    /// the module docs for the contract.
    pub fn tick(
        &mut self,
        now: f64,
        metric_by_name: &dyn Fn(&str, f64) -> Option<f64>,
    ) -> Vec<ScaleEvent> {
        self.tick_with(now, &|q: &MetricQuery| metric_by_name(q.name, q.period))
    }

    /// As [`tick`](Self::tick), but the metric source gets the exact window
    /// and the contributing instances.
    pub fn tick_with(
        &mut self,
        now: f64,
        metric: &dyn Fn(&MetricQuery) -> Option<f64>,
    ) -> Vec<ScaleEvent> {
        if now + EPS < self.now {
            return Vec::new();
        }
        self.now = now;
        self.instances
            .retain(|i| i.terminated_at.is_none_or(|t| now + EPS < t));

        // 1. Sample and evaluate every alarm; one query per metric window.
        let contributing = self.contributing_instances();
        let mut cache: Vec<(String, f64, f64, Option<f64>)> = Vec::new();
        let mut sample = |name: &str, period: f64, start: f64, end: f64| {
            if let Some(c) = cache
                .iter()
                .find(|c| c.0 == name && c.1 == period && c.2 == end)
            {
                return c.3;
            }
            let v = metric(&MetricQuery {
                name,
                period,
                start,
                end,
                contributing_instances: &contributing,
            });
            cache.push((name.to_string(), period, end, v));
            v
        };
        let ticks: Vec<(AlarmTick, AlarmTick)> = self
            .policies
            .iter_mut()
            .map(|p| match &mut p.kind {
                PolicyKind::Simple { alarm, .. } | PolicyKind::Step { alarm, .. } => {
                    (alarm.advance(now, &mut sample), AlarmTick::default())
                }
                PolicyKind::Target { high, low, .. } => (
                    high.advance(now, &mut sample),
                    low.advance(now, &mut sample),
                ),
            })
            .collect();

        // 2. Turn invoked policies into candidate capacities.
        let mut cands = Vec::new();
        let mut notes = Vec::new();
        for (p, (t, _)) in self.policies.iter().zip(&ticks) {
            if !t.invoke {
                continue;
            }
            let c = match &p.kind {
                PolicyKind::Simple { cfg, alarm } => {
                    self.simple_candidate(&mut notes, &p.name, cfg, alarm)
                }
                PolicyKind::Step { cfg, alarm } => {
                    self.step_candidate(&mut notes, &p.name, cfg, alarm)
                }
                PolicyKind::Target { cfg, high, .. } => {
                    self.target_out_candidate(&mut notes, &p.name, cfg, high)
                }
            };
            cands.extend(c);
        }
        cands.extend(self.target_in_candidate(&mut notes, &ticks));
        self.notes = notes;

        // 3. Largest capacity wins; ties keep policy order.
        let Some(best) = cands
            .into_iter()
            .reduce(|a, b| if b.new > a.new { b } else { a })
        else {
            return Vec::new();
        };
        if best.new == self.desired {
            return Vec::new();
        }
        let from = self.desired;
        let done = self.set_desired(now, best.new, best.warmup);
        if let Some(cd) = best.cooldown {
            self.cooldown_end = done + cd;
        }
        vec![ScaleEvent {
            time: now,
            from,
            to: best.new,
            reason: best.reason,
        }]
    }

    fn clamp_note(&self, raw: i64) -> (u32, String) {
        let v = clamp_size(raw, self.group.min_size, self.group.max_size);
        let note = if raw > i64::from(self.group.max_size) {
            format!(
                " (wanted {raw}, limited by MaxSize {})",
                self.group.max_size
            )
        } else if raw < i64::from(self.group.min_size) {
            format!(
                " (wanted {raw}, limited by MinSize {})",
                self.group.min_size
            )
        } else {
            String::new()
        };
        (v, note)
    }

    fn launch_warmup(&self, estimated: Option<u32>) -> f64 {
        f64::from(
            estimated
                .or(self.group.default_instance_warmup)
                .unwrap_or(self.group.default_cooldown),
        )
    }

    fn simple_candidate(
        &self,
        notes: &mut Vec<String>,
        name: &str,
        cfg: &SimplePolicyConfig,
        alarm: &Alarm,
    ) -> Option<Candidate> {
        let now = self.now;
        if self.activity_in_progress() {
            notes.push(format!(
                "{name}: invocation ignored, scaling activity in progress"
            ));
            return None;
        }
        if now + EPS < self.cooldown_end {
            notes.push(format!(
                "{name}: invocation ignored, cooldown until {}",
                self.cooldown_end
            ));
            return None;
        }
        let raw = apply_adjustment(
            cfg.adjustment_type,
            cfg.scaling_adjustment,
            self.desired,
            cfg.min_adjustment_magnitude,
        );
        let (new, note) = self.clamp_note(raw);
        Some(Candidate {
            new,
            warmup: f64::from(self.group.default_instance_warmup.unwrap_or(0)),
            cooldown: Some(f64::from(
                cfg.cooldown.unwrap_or(self.group.default_cooldown),
            )),
            reason: format!(
                "{name} (SimpleScaling, alarm {} = {}): {:?} {:+} on desired {} -> {new}{note}",
                alarm.spec().describe(),
                fmt_opt(alarm.latest()),
                cfg.adjustment_type,
                cfg.scaling_adjustment,
                self.desired
            ),
        })
    }

    fn step_candidate(
        &self,
        notes: &mut Vec<String>,
        name: &str,
        cfg: &StepPolicyConfig,
        alarm: &Alarm,
    ) -> Option<Candidate> {
        let spec = alarm.spec();
        let value = alarm.latest()?;
        let Some(step) = select_step(
            &cfg.step_adjustments,
            value,
            spec.threshold,
            spec.comparison.is_upper(),
        ) else {
            notes.push(format!("{name}: no step interval contains {value}"));
            return None;
        };
        let adj = step.scaling_adjustment;
        let head = format!(
            "{name} (StepScaling, alarm {} = {value}, step {}..{} {:?} {adj:+})",
            spec.describe(),
            fmt_opt(step.metric_interval_lower_bound),
            fmt_opt(step.metric_interval_upper_bound),
            cfg.adjustment_type,
        );
        let warmup = self.launch_warmup(cfg.estimated_instance_warmup);
        let desired = self.desired;
        // ExactCapacity's direction comes from the target; the others' from the sign.
        let (scale_out, scale_in) = match cfg.adjustment_type {
            AdjustmentType::ExactCapacity => (
                i64::from(adj) > i64::from(desired),
                i64::from(adj) < i64::from(desired),
            ),
            _ => (adj > 0, adj < 0),
        };
        let unchanged = |reason: String| Candidate {
            new: desired,
            warmup,
            cooldown: None,
            reason,
        };
        if scale_out {
            let base = self.capacity_not_warming();
            let raw =
                apply_adjustment(cfg.adjustment_type, adj, base, cfg.min_adjustment_magnitude);
            let (new, note) = self.clamp_note(raw);
            let why = format!("{head}: capacity_not_warming {base} -> {new}{note}");
            if new > desired {
                Some(Candidate {
                    new,
                    warmup,
                    cooldown: None,
                    reason: why,
                })
            } else {
                notes.push(format!(
                    "{why}; not above desired {desired} (warm-up or limit), no change"
                ));
                Some(unchanged(why))
            }
        } else if scale_in {
            if self.warming() > 0 {
                notes.push(format!(
                    "{head}: scale-in blocked, {} instance(s) warming up",
                    self.warming()
                ));
                return None;
            }
            let base = desired + self.terminating();
            let raw =
                apply_adjustment(cfg.adjustment_type, adj, base, cfg.min_adjustment_magnitude);
            let (new, note) = self.clamp_note(raw);
            let why = format!("{head}: capacity incl. terminating {base} -> {new}{note}");
            if new < desired {
                Some(Candidate {
                    new,
                    warmup,
                    cooldown: None,
                    reason: why,
                })
            } else {
                Some(unchanged(why))
            }
        } else {
            Some(unchanged(format!("{head}: no change")))
        }
    }

    fn target_out_candidate(
        &self,
        notes: &mut Vec<String>,
        name: &str,
        cfg: &TargetTrackingConfig,
        high: &Alarm,
    ) -> Option<Candidate> {
        let value = high.latest()?;
        let base = self.capacity_not_warming();
        if base == 0 {
            // No warmed-up instance to extrapolate from (AWS: while
            // instances warm, scale out only on non-warming instances' data).
            notes.push(format!(
                "{name}: scale-out skipped, every instance is warming up"
            ));
            return None;
        }
        let raw = target_tracking_capacity(base, value, cfg.target_value);
        let (new, note) = self.clamp_note(raw);
        let why = format!(
            "{name} (TargetTracking {} = {value} > target {}): ceil({base} * {value} / {}) -> {new}{note}",
            cfg.metric_name, cfg.target_value, cfg.target_value
        );
        let warmup = self.launch_warmup(cfg.estimated_instance_warmup);
        if new <= self.desired {
            notes.push(format!(
                "{why}; not above desired {} (warm-up or limit), no change",
                self.desired
            ));
        }
        Some(Candidate {
            new: new.max(self.desired),
            warmup,
            cooldown: None,
            reason: why,
        })
    }

    /// Scale in only when every target tracking policy with scale-in enabled
    /// has its low alarm in ALARM; the most conservative proposal wins.
    fn target_in_candidate(
        &self,
        notes: &mut Vec<String>,
        ticks: &[(AlarmTick, AlarmTick)],
    ) -> Option<Candidate> {
        let enabled: Vec<(usize, &TargetTrackingConfig, &Alarm)> = self
            .policies
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match &p.kind {
                PolicyKind::Target { cfg, low, .. } if !cfg.disable_scale_in => Some((i, cfg, low)),
                _ => None,
            })
            .collect();
        if enabled.is_empty()
            || !enabled
                .iter()
                .all(|(_, _, low)| low.state() == AlarmState::Alarm)
            || !enabled.iter().any(|(i, _, _)| ticks[*i].1.invoke)
        {
            return None;
        }
        let warming = self.warming();
        let base = self.desired + self.terminating();
        let mut parts = Vec::new();
        let mut proposal = i64::MIN;
        for (i, cfg, low) in &enabled {
            let value = low.latest()?;
            let p = target_tracking_capacity(base, value, cfg.target_value);
            parts.push(format!(
                "{}: ceil({base} * {value} / {}) = {p}",
                self.policies[*i].name, cfg.target_value
            ));
            proposal = proposal.max(p);
        }
        let head = format!(
            "TargetTracking scale-in agreed by all ({})",
            parts.join("; ")
        );
        if warming > 0 {
            notes.push(format!("{head}: blocked, {warming} instance(s) warming up"));
            return None;
        }
        let (new, note) = self.clamp_note(proposal);
        if new >= self.desired {
            return None;
        }
        let warmup = self.launch_warmup(None);
        Some(Candidate {
            new,
            warmup,
            cooldown: None,
            reason: format!("{head} -> {new}{note}"),
        })
    }

    /// Launches or terminates to reach `new`; returns when the last affected
    /// instance finishes launching or terminating.
    fn set_desired(&mut self, now: f64, new: u32, warmup: f64) -> f64 {
        let mut done = now;
        if new > self.desired {
            for _ in self.desired..new {
                let id = self.next_id;
                self.next_id += 1;
                let in_service_at = now + self.params.boot_secs;
                self.instances.push(Instance {
                    id,
                    launched_at: now,
                    in_service_at,
                    warm_at: in_service_at + warmup,
                    health_check_grace_until: in_service_at
                        + f64::from(self.group.health_check_grace_period),
                    terminate_requested_at: None,
                    terminated_at: None,
                });
                done = done.max(in_service_at);
            }
        } else {
            let mut victims: Vec<usize> = (0..self.instances.len())
                .filter(|&i| self.instances[i].terminate_requested_at.is_none())
                .collect();
            let rank = |i: &Instance| match i.state(now) {
                InstanceState::Pending => 0,
                _ => 1,
            };
            victims.sort_by(|&a, &b| {
                let (x, y) = (&self.instances[a], &self.instances[b]);
                rank(x)
                    .cmp(&rank(y))
                    .then(y.launched_at.total_cmp(&x.launched_at))
                    .then(y.id.cmp(&x.id))
            });
            for &v in victims.iter().take((self.desired - new) as usize) {
                let inst = &mut self.instances[v];
                // Pending instances are not registered with the load balancer yet.
                let t = if inst.state(now) == InstanceState::Pending {
                    now
                } else {
                    now + self.params.termination_secs
                };
                inst.terminate_requested_at = Some(now);
                inst.terminated_at = Some(t);
                done = done.max(t);
            }
        }
        self.desired = new;
        done
    }

    pub fn desired(&self) -> u32 {
        self.desired
    }

    /// InService, non-terminating instances (warming ones included) as of
    /// the last tick.
    pub fn in_service(&self) -> u32 {
        self.count(|i| i.state(self.now) == InstanceState::InService)
    }

    pub fn pending(&self) -> u32 {
        self.count(|i| i.state(self.now) == InstanceState::Pending)
    }

    /// Pending or warming, non-terminating.
    pub fn warming(&self) -> u32 {
        self.count(|i| i.is_warming(self.now))
    }

    pub fn terminating(&self) -> u32 {
        self.count(|i| i.terminate_requested_at.is_some())
    }

    /// Instances counted as current capacity for scale-out decisions.
    pub fn capacity_not_warming(&self) -> u32 {
        self.count(|i| i.contributes_to_metrics(self.now))
    }

    /// Ids of instances whose metrics belong in the aggregate, as of the
    /// last tick.
    pub fn contributing_instances(&self) -> Vec<u64> {
        self.contributing_instances_at(self.now)
    }

    /// The same at `now`; called just before `tick(now)` it gives the set
    /// that tick samples with (launches and terminations come after sampling).
    pub fn contributing_instances_at(&self, now: f64) -> Vec<u64> {
        self.instances
            .iter()
            .filter(|i| i.contributes_to_metrics(now))
            .map(|i| i.id)
            .collect()
    }

    /// Includes terminating instances until they finish terminating.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// Any launch or termination not yet finished (blocks simple scaling).
    pub fn activity_in_progress(&self) -> bool {
        let now = self.now;
        self.instances.iter().any(|i| match i.terminated_at {
            Some(t) => now + EPS < t,
            None => now + EPS < i.in_service_at,
        })
    }

    /// End of the simple-scaling cooldown (`-inf` before the first one).
    pub fn cooldown_end(&self) -> f64 {
        self.cooldown_end
    }

    pub fn group(&self) -> &AsgGroupConfig {
        &self.group
    }

    /// Alarm states by name: the policy name, or `name/high` and `name/low`
    /// for target tracking.
    pub fn alarm_states(&self) -> Vec<(String, AlarmState)> {
        let mut out = Vec::new();
        for p in &self.policies {
            match &p.kind {
                PolicyKind::Simple { alarm, .. } | PolicyKind::Step { alarm, .. } => {
                    out.push((p.name.clone(), alarm.state()))
                }
                PolicyKind::Target { high, low, .. } => {
                    out.push((format!("{}/high", p.name), high.state()));
                    out.push((format!("{}/low", p.name), low.state()));
                }
            }
        }
        out
    }

    /// Why invoked policies did not act in the last tick (cooldown, activity
    /// in progress, warm-up, ...).
    pub fn tick_notes(&self) -> &[String] {
        &self.notes
    }

    fn count(&self, f: impl Fn(&Instance) -> bool) -> u32 {
        self.instances.iter().filter(|i| f(i)).count() as u32
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "none".to_string(), |x| x.to_string())
}

// ---------------------------------------------------------------------------
// Read replicas
// ---------------------------------------------------------------------------

/// Settings of [`ReplicaPolicy`] that the customer's block does not carry.
/// The defaults are placeholders, not AWS figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaParams {
    /// Seed 001 plans 3 read replicas.
    pub initial_replicas: u32,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Creation to available.
    pub provisioning_delay_minutes: f64,
    /// Alarm period, seconds (10, 30 or a multiple of 60).
    pub period_secs: u32,
    /// N = M for both alarms; 1 acts on the first breaching period.
    pub evaluation_periods: u32,
    /// Pause after a replica becomes available or is removed.
    pub cooldown_secs: f64,
}

impl Default for ReplicaParams {
    fn default() -> Self {
        ReplicaParams {
            initial_replicas: 3,
            min_replicas: 1,
            max_replicas: 5,
            provisioning_delay_minutes: 15.0,
            period_secs: 60,
            evaluation_periods: 1,
            cooldown_secs: 300.0,
        }
    }
}

/// Read-replica autoscaling from the `database.readReplicas` block: add one
/// replica while the scale-up alarm (DatabaseConnections % > 80) is in
/// ALARM, remove one while the scale-down alarm (< 30) is. *Inferred*
/// pacing: one change at a time (nothing while a replica is provisioning)
/// and a cooldown after each change completes. The metric is taken as a
/// percentage of the connection limit, as the thresholds imply.
#[derive(Debug, Clone)]
pub struct ReplicaPolicy {
    params: ReplicaParams,
    up: Alarm,
    down: Alarm,
    available: u32,
    /// Ready times of replicas being created.
    provisioning: Vec<f64>,
    cooldown_end: f64,
    now: f64,
}

impl ReplicaPolicy {
    pub fn new(cfg: &ReplicaPolicyConfig, params: ReplicaParams, now: f64) -> Result<Self, String> {
        if params.min_replicas > params.max_replicas {
            return Err("ReplicaParams.max_replicas: below min_replicas".into());
        }
        if params.initial_replicas < params.min_replicas
            || params.initial_replicas > params.max_replicas
        {
            return Err(
                "ReplicaParams.initial_replicas: outside [min_replicas, max_replicas]".into(),
            );
        }
        if !(params.provisioning_delay_minutes >= 0.0 && params.cooldown_secs >= 0.0) {
            return Err(
                "ReplicaParams: provisioning_delay_minutes and cooldown_secs must be >= 0".into(),
            );
        }
        let alarm = |r: &crate::autoscale::asg_config::ReplicaRule| -> Result<Alarm, String> {
            let c = AlarmConfig {
                metric_name: r.metric_name.clone(),
                threshold: r.threshold,
                comparison_operator: r.comparison_operator,
                evaluation_periods: params.evaluation_periods,
                period: params.period_secs,
                datapoints_to_alarm: params.evaluation_periods,
                treat_missing_data: TreatMissingData::Missing,
            };
            c.validate("ReplicaParams")?;
            Ok(Alarm::new(AlarmSpec::from_config(&c), now))
        };
        Ok(ReplicaPolicy {
            up: alarm(&cfg.scale_up)?,
            down: alarm(&cfg.scale_down)?,
            available: params.initial_replicas,
            params,
            provisioning: Vec::new(),
            cooldown_end: f64::NEG_INFINITY,
            now,
        })
    }

    /// Same contract as [`AsgController::tick`].
    pub fn tick(
        &mut self,
        now: f64,
        metric_by_name: &dyn Fn(&str, f64) -> Option<f64>,
    ) -> Vec<ScaleEvent> {
        if now + EPS < self.now {
            return Vec::new();
        }
        self.now = now;
        let cooldown = self.params.cooldown_secs;
        let before = self.provisioning.len();
        let mut ready_at = f64::NEG_INFINITY;
        self.provisioning.retain(|&t| {
            let ready = now + EPS >= t;
            if ready {
                ready_at = ready_at.max(t);
            }
            !ready
        });
        let became_ready = (before - self.provisioning.len()) as u32;
        if became_ready > 0 {
            self.available += became_ready;
            self.cooldown_end = self.cooldown_end.max(ready_at + cooldown);
        }
        let mut cache: Vec<(String, f64, Option<f64>)> = Vec::new();
        let mut sample = |name: &str, period: f64, _s: f64, end: f64| {
            if let Some(c) = cache.iter().find(|c| c.0 == name && c.1 == end) {
                return c.2;
            }
            let v = metric_by_name(name, period);
            cache.push((name.to_string(), end, v));
            v
        };
        let up = self.up.advance(now, &mut sample);
        let down = self.down.advance(now, &mut sample);
        let idle = self.provisioning.is_empty() && now + EPS >= self.cooldown_end;
        let target = self.target();
        if up.invoke && idle && target < self.params.max_replicas {
            let ready = now + self.params.provisioning_delay_minutes * 60.0;
            self.provisioning.push(ready);
            return vec![ScaleEvent {
                time: now,
                from: target,
                to: target + 1,
                reason: format!(
                    "readReplicas.scaleUp ({} = {}): addReadReplica, available at {ready}",
                    self.up.spec().describe(),
                    fmt_opt(self.up.latest())
                ),
            }];
        }
        if down.invoke && idle && self.available > self.params.min_replicas {
            self.available -= 1;
            self.cooldown_end = now + cooldown;
            return vec![ScaleEvent {
                time: now,
                from: target,
                to: target - 1,
                reason: format!(
                    "readReplicas.scaleDown ({} = {}): removeReadReplica",
                    self.down.spec().describe(),
                    fmt_opt(self.down.latest())
                ),
            }];
        }
        Vec::new()
    }

    /// Replicas serving reads.
    pub fn replicas(&self) -> u32 {
        self.available
    }

    pub fn provisioning(&self) -> u32 {
        self.provisioning.len() as u32
    }

    /// Available plus provisioning.
    pub fn target(&self) -> u32 {
        self.available + self.provisioning()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::asg_config::tests::{SEED_ASG_JSON, SEED_POLICIES_JSON};
    use crate::autoscale::asg_config::{ReplicaPolicyConfig, ScalingPolicies};
    use serde_json::Value;

    /// (time, from, to) of a scale event.
    type Ev = (f64, u32, u32);
    /// A metric as a function of the window end.
    type MetricFn = fn(f64) -> f64;
    /// (time, replicas) checkpoint.
    type Check = (f64, u32);

    fn group(min: u32, max: u32, desired: u32) -> AsgGroupConfig {
        AsgGroupConfig::from_json(&format!(
            r#"{{"AutoScalingGroupName":"g","MinSize":{min},"MaxSize":{max},"DesiredCapacity":{desired}}}"#
        ))
        .unwrap()
    }

    fn policy(name: &str, json: &str) -> NamedPolicy {
        let v: Value = serde_json::from_str(json).unwrap();
        NamedPolicy {
            name: name.to_string(),
            policy: PolicyConfig::from_value(&v, name).unwrap(),
        }
    }

    fn params(boot: f64) -> AsgSimParams {
        AsgSimParams {
            boot_secs: boot,
            termination_secs: 0.0,
        }
    }

    /// Ticks every 10 s over [from, to]; `m(name, window_end)`.
    fn run(
        c: &mut AsgController,
        from: f64,
        to: f64,
        m: &dyn Fn(&str, f64) -> Option<f64>,
    ) -> Vec<ScaleEvent> {
        let mut out = Vec::new();
        let mut k = (from / 10.0).round() as i64;
        while k as f64 * 10.0 <= to + 1e-9 {
            let now = k as f64 * 10.0;
            out.extend(c.tick_with(now, &|q: &MetricQuery| m(q.name, q.end)));
            k += 1;
        }
        out
    }

    fn summary(ev: &[ScaleEvent]) -> Vec<Ev> {
        ev.iter().map(|e| (e.time, e.from, e.to)).collect()
    }

    // --- alarms -----------------------------------------------------------

    fn alarm(n: usize, m: usize, treat: TreatMissingData) -> Alarm {
        Alarm::new(
            AlarmSpec {
                metric_name: "m".into(),
                threshold: 50.0,
                comparison: ComparisonOperator::GreaterThanThreshold,
                period: 60.0,
                evaluation_periods: n,
                datapoints_to_alarm: m,
                treat_missing: treat,
            },
            0.0,
        )
    }

    /// `X` breaching, `0` not breaching, `-` missing; oldest first.
    fn feed(a: &mut Alarm, points: &str) {
        for ch in points.chars().filter(|c| !c.is_whitespace()) {
            a.record(match ch {
                'X' => Some(60.0),
                '0' => Some(40.0),
                '-' => None,
                _ => panic!("bad point {ch}"),
            });
        }
    }

    #[test]
    fn alarm_m_of_n_need_not_be_consecutive() {
        use AlarmState::*;
        let cases: &[(usize, usize, &str, AlarmState)] = &[
            (5, 3, "X0X0X", Alarm),
            (5, 3, "X0X00", Ok),
            (5, 3, "0XX0X", Alarm),
            (3, 3, "XX0XX", Ok), // 3 of 3 needs all of the last three
            (3, 3, "0XXX", Alarm),
            (3, 2, "X0X", Alarm),
            (3, 2, "XX00", Ok), // the older breaches fell out of the last three
            (1, 1, "X", Alarm),
        ];
        for &(n, m, pts, want) in cases {
            let mut a = alarm(n, m, TreatMissingData::Missing);
            feed(&mut a, pts);
            assert_eq!(a.evaluate(), want, "{m} of {n}: {pts}");
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Want {
        S(AlarmState),
        Retain,
    }

    #[test]
    fn alarm_missing_data_matches_cloudwatch_tables() {
        use AlarmState::*;
        use TreatMissingData as T;
        use Want::*;
        // AWS "How alarm state is evaluated when data is missing": columns
        // MISSING, IGNORE, BREACHING, NOT BREACHING; 5 datapoints retrieved.
        let table: &[(usize, usize, &str, [Option<Want>; 4])] = &[
            (
                3,
                3,
                "0 - X - X",
                [Some(S(Ok)), Some(S(Ok)), Some(S(Ok)), Some(S(Ok))],
            ),
            (
                3,
                3,
                "0 - - - -",
                [Some(S(Ok)), Some(S(Ok)), Some(S(Ok)), Some(S(Ok))],
            ),
            (
                3,
                3,
                "- - - - -",
                [
                    Some(S(InsufficientData)),
                    Some(Retain),
                    Some(S(Alarm)),
                    Some(S(Ok)),
                ],
            ),
            (
                3,
                3,
                "0 X X - X",
                [
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                ],
            ),
            (
                3,
                3,
                "- - - - X",
                [
                    Some(S(InsufficientData)),
                    Some(Retain),
                    Some(S(Alarm)),
                    Some(S(Ok)),
                ],
            ),
            // The docs list ALARM under MISSING here, contradicting the row
            // above; the model yields INSUFFICIENT_DATA (see Alarm::evaluate).
            (
                3,
                3,
                "X - - - -",
                [None, Some(Retain), Some(S(Alarm)), Some(S(Ok))],
            ),
            (
                3,
                2,
                "0 - X - X",
                [
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                ],
            ),
            (
                3,
                2,
                "0 0 X 0 X",
                [
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                    Some(S(Alarm)),
                ],
            ),
            (
                3,
                2,
                "0 - X - -",
                [Some(S(Ok)), Some(S(Ok)), Some(S(Alarm)), Some(S(Ok))],
            ),
            (
                3,
                2,
                "- - - - 0",
                [Some(S(Ok)), Some(S(Ok)), Some(S(Alarm)), Some(S(Ok))],
            ),
            (
                3,
                2,
                "- - - - X",
                [
                    Some(S(InsufficientData)),
                    Some(Retain),
                    Some(S(Alarm)),
                    Some(S(Ok)),
                ],
            ),
        ];
        let treatments = [T::Missing, T::Ignore, T::Breaching, T::NotBreaching];
        for &(n, m, pts, wants) in table {
            for (treat, want) in treatments.into_iter().zip(wants) {
                let Some(want) = want else { continue };
                for prior in [Ok, Alarm] {
                    let mut a = alarm(n, m, treat);
                    a.set_state(prior);
                    feed(&mut a, pts);
                    let expected = match want {
                        S(s) => s,
                        Retain => prior,
                    };
                    assert_eq!(
                        a.evaluate(),
                        expected,
                        "{m}/{n} {pts} {treat:?} prior {prior:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn alarm_evaluates_each_minute_and_reinvokes_each_minute() {
        // (period, first invoke, expected invoke times up to 400 s)
        let cases: &[(f64, Vec<f64>)] = &[
            // 5-min period: first datapoint at 300; evaluated on minutes only.
            (300.0, vec![300.0, 360.0]),
            // 10-s high-resolution: evaluated every 10 s, action every 60 s.
            (10.0, vec![10.0, 70.0, 130.0, 190.0, 250.0, 310.0, 370.0]),
            (60.0, vec![60.0, 120.0, 180.0, 240.0, 300.0, 360.0]),
        ];
        for (period, want) in cases {
            let mut a = Alarm::new(
                AlarmSpec {
                    metric_name: "m".into(),
                    threshold: 50.0,
                    comparison: ComparisonOperator::GreaterThanThreshold,
                    period: *period,
                    evaluation_periods: 1,
                    datapoints_to_alarm: 1,
                    treat_missing: TreatMissingData::Missing,
                },
                0.0,
            );
            let mut samples = Vec::new();
            let mut evals = Vec::new();
            let mut invokes = Vec::new();
            for k in 0..=40 {
                let now = f64::from(k) * 10.0;
                let t = a.advance(now, &mut |_, p, s, e| {
                    assert_eq!(e - s, p);
                    samples.push(e);
                    Some(60.0)
                });
                if t.evaluated {
                    evals.push(now);
                }
                if t.invoke {
                    invokes.push(now);
                }
            }
            assert_eq!(&invokes, want, "period {period}");
            let interval = if *period < 60.0 { 10.0 } else { 60.0 };
            assert!(
                evals.iter().all(|t| t % interval == 0.0),
                "period {period}: {evals:?}"
            );
            assert!(
                samples.iter().all(|t| t % period == 0.0),
                "period {period}: {samples:?}"
            );
            assert_eq!(
                samples.len(),
                (400.0 / period) as usize,
                "one sample per period"
            );
        }
    }

    // --- simple scaling ---------------------------------------------------

    const SIMPLE_UP: &str = r#"{"metricName":"m","threshold":50,"comparisonOperator":"GreaterThanThreshold",
        "evaluationPeriods":1,"period":60,"scalingAdjustment":1,"adjustmentType":"ChangeInCapacity"COOLDOWN}"#;

    #[test]
    fn simple_scaling_cooldown_and_activity() {
        struct Case {
            what: &'static str,
            cooldown: &'static str,
            boot: f64,
            metric: fn(f64) -> f64,
            until: f64,
            want: Vec<Ev>,
        }
        let cases = vec![
            Case {
                what: "second breach inside the 300 s DefaultCooldown is ignored; \
                       re-invoked every minute it acts once the cooldown ends",
                cooldown: "",
                boot: 60.0,
                // breach in [0,60), fine in [60,120), breach again from 120
                metric: |end| if end == 120.0 { 10.0 } else { 90.0 },
                until: 800.0,
                // 60: +1, InService 120, cooldown to 420; 180..360 ignored.
                want: vec![(60.0, 2, 3), (420.0, 3, 4), (780.0, 4, 5)],
            },
            Case {
                what: "policy Cooldown overrides DefaultCooldown",
                cooldown: r#","cooldown":120"#,
                boot: 60.0,
                metric: |_| 90.0,
                until: 400.0,
                // 60: +1, InService 120, cooldown 120 -> 240.
                want: vec![(60.0, 2, 3), (240.0, 3, 4)],
            },
            Case {
                what: "with zero cooldown, an activity in progress still blocks",
                cooldown: r#","cooldown":0"#,
                boot: 120.0,
                metric: |_| 90.0,
                until: 300.0,
                // 60: launch, InService 180; 120 ignored; 180: launch, InService 300.
                want: vec![(60.0, 2, 3), (180.0, 3, 4), (300.0, 4, 5)],
            },
        ];
        for c in cases {
            let p = policy("up", &SIMPLE_UP.replace("COOLDOWN", c.cooldown));
            let mut ctl = AsgController::new(&group(1, 10, 2), &[p], params(c.boot), 0.0).unwrap();
            let m = c.metric;
            let ev = run(&mut ctl, 0.0, c.until, &|_, end| Some(m(end)));
            assert_eq!(summary(&ev), c.want, "{}", c.what);
        }
    }

    #[test]
    fn simple_scaling_waits_for_activities_of_other_policies() {
        // A step policy launches at 60 (InService at 180, no cooldown); the
        // simple policy's first invocation at 120 must wait for it.
        let step = policy(
            "step",
            r#"{"policyType":"StepScaling","alarm":{"metricName":"s","threshold":50,
            "comparisonOperator":"GreaterThanOrEqualToThreshold","evaluationPeriods":1,"period":60},
            "stepAdjustments":[{"metricIntervalLowerBound":0,"scalingAdjustment":1}],
            "adjustmentType":"ChangeInCapacity"}"#,
        );
        let simple = policy("up", &SIMPLE_UP.replace("COOLDOWN", r#","cooldown":0"#));
        let mut ctl =
            AsgController::new(&group(1, 10, 2), &[step, simple], params(120.0), 0.0).unwrap();
        let ev = run(&mut ctl, 0.0, 180.0, &|name, end| {
            Some(match name {
                "s" if end == 60.0 => 90.0,
                "m" if end >= 120.0 => 90.0,
                _ => 0.0,
            })
        });
        assert_eq!(summary(&ev), vec![(60.0, 2, 3), (180.0, 3, 4)]);
        assert!(
            ev[1].reason.starts_with("up (SimpleScaling"),
            "{}",
            ev[1].reason
        );
    }

    #[test]
    fn simple_scaling_reports_ignored_invocations() {
        let p = policy("up", &SIMPLE_UP.replace("COOLDOWN", ""));
        let mut ctl = AsgController::new(&group(1, 10, 2), &[p], params(60.0), 0.0).unwrap();
        run(&mut ctl, 0.0, 170.0, &|_, _| Some(90.0));
        assert!(ctl.tick_notes().is_empty());
        assert!(ctl.tick(180.0, &|_, _| Some(90.0)).is_empty());
        assert!(
            ctl.tick_notes()
                .iter()
                .any(|n| n.contains("cooldown until 420")),
            "{:?}",
            ctl.tick_notes()
        );
        assert_eq!(ctl.cooldown_end(), 420.0);
    }

    #[test]
    fn seed_api_policy_first_scale_out() {
        let g = AsgGroupConfig::from_json(SEED_ASG_JSON).unwrap();
        let pols = ScalingPolicies::from_json(SEED_POLICIES_JSON).unwrap();
        let api = &pols.service("api").unwrap().policies;
        // (CPU by window end, expected events up to 1000 s)
        let cases: Vec<(&str, MetricFn, Vec<Ev>)> = vec![
            (
                // 2 of 2 five-minute periods above 70: ALARM when the second
                // period closes at 600 s; +2. InService at 660 (boot 60),
                // cooldown 300 -> 960, when the still-firing alarm acts again.
                "CPU 75% throughout",
                |_| 75.0,
                vec![(600.0, 8, 10), (960.0, 10, 12)],
            ),
            ("CPU 50%: between thresholds", |_| 50.0, vec![]),
            (
                "CPU 75% for one period only",
                |e| if e <= 300.0 { 75.0 } else { 50.0 },
                vec![],
            ),
            (
                "CPU 75% from the second period",
                |e| if e <= 300.0 { 50.0 } else { 75.0 },
                vec![(900.0, 8, 10)],
            ),
        ];
        for (what, cpu, want) in cases {
            let mut ctl = AsgController::new(&g, api, params(60.0), 0.0).unwrap();
            let mut ev = Vec::new();
            for k in 0..=100 {
                let now = f64::from(k) * 10.0;
                // The plain (name, period) API: the window ends at `now`.
                ev.extend(ctl.tick(now, &|name, period| {
                    assert_eq!((name, period), ("CPUUtilization", 300.0));
                    Some(cpu(now))
                }));
            }
            assert_eq!(summary(&ev), want, "{what}");
            if let Some(first) = ev.first() {
                assert!(first.reason.contains("scaleUp"), "{}", first.reason);
            }
        }
    }

    #[test]
    fn clamp_is_reported_in_the_reason() {
        let p = policy(
            "up",
            r#"{"metricName":"m","threshold":50,"comparisonOperator":"GreaterThanThreshold",
            "evaluationPeriods":1,"period":60,"scalingAdjustment":5,"adjustmentType":"ChangeInCapacity"}"#,
        );
        let mut ctl = AsgController::new(&group(1, 10, 8), &[p], params(0.0), 0.0).unwrap();
        let ev = run(&mut ctl, 0.0, 60.0, &|_, _| Some(90.0));
        assert_eq!(summary(&ev), vec![(60.0, 8, 10)]);
        assert!(ev[0].reason.contains("MaxSize 10"), "{}", ev[0].reason);
    }

    // --- step scaling -----------------------------------------------------

    fn steps(spec: &[(Option<f64>, Option<f64>, i32)]) -> Vec<StepAdjustment> {
        spec.iter()
            .map(|&(l, u, a)| StepAdjustment {
                metric_interval_lower_bound: l,
                metric_interval_upper_bound: u,
                scaling_adjustment: a,
            })
            .collect()
    }

    #[test]
    fn step_bounds_inclusivity() {
        // AWS example, threshold 50: out [0,10) 0, [10,20) +10, [20,inf) +30;
        // in (-10,0] 0, (-20,-10] -10, (-inf,-20] -30.
        let out = steps(&[
            (Some(0.0), Some(10.0), 0),
            (Some(10.0), Some(20.0), 10),
            (Some(20.0), None, 30),
        ]);
        let inn = steps(&[
            (Some(-10.0), Some(0.0), 0),
            (Some(-20.0), Some(-10.0), -10),
            (None, Some(-20.0), -30),
        ]);
        let cases: &[(bool, f64, Option<i32>)] = &[
            (true, 50.0, Some(0)),
            (true, 59.999, Some(0)),
            (true, 60.0, Some(10)), // lower bound inclusive above the threshold
            (true, 69.999, Some(10)),
            (true, 70.0, Some(30)),
            (true, 1e9, Some(30)),
            (true, 49.0, None),
            (false, 50.0, Some(0)), // upper bound inclusive below the threshold
            (false, 40.001, Some(0)),
            (false, 40.0, Some(-10)),
            (false, 30.001, Some(-10)),
            (false, 30.0, Some(-30)),
            (false, -1e9, Some(-30)),
            (false, 50.5, None),
        ];
        for &(upper, metric, want) in cases {
            let s = if upper { &out } else { &inn };
            let got = select_step(s, metric, 50.0, upper).map(|s| s.scaling_adjustment);
            assert_eq!(
                got,
                want,
                "metric {metric} ({})",
                if upper { "above" } else { "below" }
            );
        }
    }

    #[test]
    fn percent_change_rounding() {
        // (base, percent, adjustment): AWS's examples 12.7 -> 12, .67 -> 1,
        // -.58 -> -1, -6.67 -> -6, plus the step-scaling walkthrough.
        let cases: &[(u32, i32, i64)] = &[
            (127, 10, 12),
            (67, 1, 1),
            (58, -1, -1),
            (667, -1, -6),
            (10, 10, 1),
            (11, 30, 3),
            (14, -10, -1),
            (13, -30, -3),
            (30, 10, 3),
            (10, 100, 10),
            (100, -100, -100),
            (5, 10, 1),
            (5, -10, -1),
            (0, 50, 0),
            (7, 0, 0),
        ];
        for &(base, pct, want) in cases {
            assert_eq!(percent_adjustment(base, pct), want, "{pct}% of {base}");
        }
    }

    #[test]
    fn adjustment_types_and_min_adjustment_magnitude() {
        use AdjustmentType::*;
        let cases: &[(AdjustmentType, i32, u32, Option<u32>, i64)] = &[
            (PercentChangeInCapacity, 25, 4, Some(2), 6), // AWS: 25% of 4 is 1, min 2
            (PercentChangeInCapacity, 25, 4, None, 5),
            (PercentChangeInCapacity, -25, 4, Some(2), 2),
            (PercentChangeInCapacity, 50, 10, Some(2), 15), // above the minimum
            (PercentChangeInCapacity, 10, 0, Some(2), 2),
            (ChangeInCapacity, 3, 4, None, 7),
            (ChangeInCapacity, -3, 4, None, 1),
            (ExactCapacity, 6, 4, None, 6),
        ];
        for &(kind, adj, base, mam, want) in cases {
            assert_eq!(
                apply_adjustment(kind, adj, base, mam),
                want,
                "{kind:?} {adj} on {base} min {mam:?}"
            );
        }
    }

    const STEP_OUT: &str = r#"{"policyType":"StepScaling",
        "alarm":{"metricName":"cpu","threshold":50,"comparisonOperator":"GreaterThanOrEqualToThreshold","evaluationPeriods":1,"period":60},
        "stepAdjustments":[{"metricIntervalLowerBound":0,"metricIntervalUpperBound":10,"scalingAdjustment":0},
                           {"metricIntervalLowerBound":10,"metricIntervalUpperBound":20,"scalingAdjustment":10},
                           {"metricIntervalLowerBound":20,"scalingAdjustment":30}],
        "adjustmentType":"PercentChangeInCapacity","estimatedInstanceWarmup":300}"#;
    const STEP_IN: &str = r#"{"policyType":"StepScaling",
        "alarm":{"metricName":"cpu","threshold":40,"comparisonOperator":"LessThanOrEqualToThreshold","evaluationPeriods":1,"period":60},
        "stepAdjustments":[{"metricIntervalLowerBound":-10,"metricIntervalUpperBound":0,"scalingAdjustment":0},
                           {"metricIntervalLowerBound":-20,"metricIntervalUpperBound":-10,"scalingAdjustment":-10},
                           {"metricIntervalUpperBound":-20,"scalingAdjustment":-30}],
        "adjustmentType":"PercentChangeInCapacity","estimatedInstanceWarmup":300}"#;

    #[test]
    fn step_scaling_warm_up_uses_capacity_not_warming() {
        struct Case {
            what: &'static str,
            metric: fn(f64) -> f64,
            until: f64,
            want: Vec<Ev>,
        }
        let cases = vec![
            Case {
                // AWS walkthrough: 60 -> +10% of 10 = 11; 62 while warming ->
                // 10 + 1 = 11, no change; 70 while warming -> 10 + 3 = 13.
                // Once all are warm (480), 70 -> 13 + floor(3.9) = 16.
                what: "AWS warm-up walkthrough",
                metric: |e| match e as i64 {
                    60 => 60.0,
                    120 => 62.0,
                    180 => 70.0,
                    540 => 70.0,
                    _ => 55.0,
                },
                until: 540.0,
                want: vec![(60.0, 10, 11), (180.0, 11, 13), (540.0, 13, 16)],
            },
            Case {
                what: "without warm-up the second breach would add again; with it, none until warm",
                metric: |_| 62.0,
                until: 420.0,
                // warm at 360: capacity 11, +10% -> 12.
                want: vec![(60.0, 10, 11), (360.0, 11, 12)],
            },
            Case {
                what: "scale-in is blocked while instances warm up",
                metric: |e| if e <= 60.0 { 60.0 } else { 28.0 },
                until: 420.0,
                // out at 60 (warm until 360); in from 360: -10% of 11 -> 10, of 10 -> 9.
                want: vec![(60.0, 10, 11), (360.0, 11, 10), (420.0, 10, 9)],
            },
        ];
        for c in cases {
            let pols = [policy("out", STEP_OUT), policy("in", STEP_IN)];
            let mut ctl = AsgController::new(&group(1, 100, 10), &pols, params(0.0), 0.0).unwrap();
            let m = c.metric;
            let ev = run(&mut ctl, 0.0, c.until, &|_, e| Some(m(e)));
            assert_eq!(summary(&ev), c.want, "{}", c.what);
        }
    }

    #[test]
    fn step_scale_in_counts_terminating_instances() {
        // Termination takes 120 s. At 120 the instance removed at 60 still
        // counts as current capacity: 9 + 1 terminating = 10, -10% -> 9, no
        // change. Once it is gone (180): 9 -> 8.
        let mut ctl = AsgController::new(
            &group(1, 100, 10),
            &[policy("in", STEP_IN)],
            AsgSimParams {
                boot_secs: 0.0,
                termination_secs: 120.0,
            },
            0.0,
        )
        .unwrap();
        let ev = run(&mut ctl, 0.0, 180.0, &|_, _| Some(28.0));
        assert_eq!(summary(&ev), vec![(60.0, 10, 9), (180.0, 9, 8)]);
    }

    #[test]
    fn simultaneous_policies_largest_capacity_wins() {
        // AWS "Multiple scaling policies": out +1 vs +2 -> +2; in -3 vs -25%
        // of 8 (= -2) -> the group keeps 6.
        let simple = |name: &str, op: &str, adj: i32, kind: &str| {
            policy(
                name,
                &format!(
                    r#"{{"metricName":"{name}","threshold":50,"comparisonOperator":"{op}",
                    "evaluationPeriods":1,"period":60,"scalingAdjustment":{adj},"adjustmentType":"{kind}"}}"#
                ),
            )
        };
        let cases = vec![
            (
                vec![
                    simple("cpu", "GreaterThanThreshold", 1, "ChangeInCapacity"),
                    simple("sqs", "GreaterThanThreshold", 2, "ChangeInCapacity"),
                ],
                (60.0, 8, 10),
            ),
            (
                vec![
                    simple("three", "LessThanThreshold", -3, "ChangeInCapacity"),
                    simple(
                        "quarter",
                        "LessThanThreshold",
                        -25,
                        "PercentChangeInCapacity",
                    ),
                ],
                (60.0, 8, 6),
            ),
        ];
        for (pols, want) in cases {
            let mut ctl = AsgController::new(&group(1, 20, 8), &pols, params(0.0), 0.0).unwrap();
            let ev = run(&mut ctl, 0.0, 60.0, &|name, _| {
                Some(if ["cpu", "sqs"].contains(&name) {
                    90.0
                } else {
                    10.0
                })
            });
            assert_eq!(summary(&ev), vec![want]);
        }
    }

    #[test]
    fn step_scale_in_block_is_explained() {
        let pols = [policy("out", STEP_OUT), policy("in", STEP_IN)];
        let mut ctl = AsgController::new(&group(1, 100, 10), &pols, params(0.0), 0.0).unwrap();
        run(&mut ctl, 0.0, 290.0, &|_, e| {
            Some(if e <= 60.0 { 60.0 } else { 28.0 })
        });
        assert!(ctl.tick(300.0, &|_, _| Some(28.0)).is_empty());
        assert!(
            ctl.tick_notes().iter().any(|n| n.contains("warming")),
            "{:?}",
            ctl.tick_notes()
        );
        assert_eq!(
            (ctl.desired(), ctl.warming(), ctl.capacity_not_warming()),
            (11, 1, 10)
        );
    }

    #[test]
    fn metric_queries_exclude_warming_instances() {
        let mut ctl = AsgController::new(
            &group(1, 100, 10),
            &[policy("out", STEP_OUT)],
            params(30.0),
            0.0,
        )
        .unwrap();
        let seen = std::cell::RefCell::new(Vec::new());
        for k in 0..=60 {
            let now = f64::from(k) * 10.0;
            ctl.tick_with(now, &|q: &MetricQuery| {
                seen.borrow_mut()
                    .push((q.end, q.contributing_instances.len()));
                Some(65.0)
            });
        }
        // +10% at 60 -> 11; the new instance boots 30 s and warms 300 s.
        let seen = seen.into_inner();
        assert_eq!(seen.iter().find(|s| s.0 == 360.0).unwrap().1, 10);
        assert_eq!(seen.iter().find(|s| s.0 == 420.0).unwrap().1, 11);
    }

    // --- target tracking --------------------------------------------------

    fn tt(name: &str, metric: &str, target: f64, disable_in: bool) -> NamedPolicy {
        policy(
            name,
            &format!(
                r#"{{"policyType":"TargetTrackingScaling","metricName":"{metric}","targetValue":{target},
                   "disableScaleIn":{disable_in},"estimatedInstanceWarmup":300}}"#
            ),
        )
    }

    #[test]
    fn target_tracking_single_policy() {
        let cases: Vec<(&str, Option<f64>, f64, Vec<Ev>)> = vec![
            (
                // 3 of 3 minutes above 50: ALARM at 180, ceil(10*75/50) = 15.
                // New instances warm until 480; then ceil(15*1.5) = 23.
                "scale out fast, warm-up holds the next step",
                Some(75.0),
                480.0,
                vec![(180.0, 10, 15), (480.0, 15, 23)],
            ),
            (
                // 15 of 15 minutes below 45: ALARM at 900, ceil(10*30/50) = 6.
                "scale in slowly",
                Some(30.0),
                900.0,
                vec![(900.0, 10, 6)],
            ),
            (
                "between 0.9 x target and target: nothing",
                Some(47.0),
                1800.0,
                vec![],
            ),
            ("insufficient data: nothing", None, 1800.0, vec![]),
        ];
        for (what, v, until, want) in cases {
            let mut ctl = AsgController::new(
                &group(1, 40, 10),
                &[tt("cpu", "CPU", 50.0, false)],
                params(0.0),
                0.0,
            )
            .unwrap();
            let ev = run(&mut ctl, 0.0, until, &|_, _| v);
            assert_eq!(summary(&ev), want, "{what}");
            if v.is_none() {
                assert!(ctl
                    .alarm_states()
                    .iter()
                    .all(|(_, s)| *s == AlarmState::InsufficientData));
            }
        }
    }

    #[test]
    fn target_tracking_out_if_any_in_only_if_all() {
        // (desired, cpu, requests, requests policy disables scale-in, first event by 1000 s)
        let cases: &[(u32, f64, f64, bool, Option<Ev>)] = &[
            (10, 75.0, 10.0, false, Some((180.0, 10, 15))), // cpu asks
            (10, 30.0, 150.0, false, Some((180.0, 10, 15))), // requests ask
            (10, 75.0, 150.0, false, Some((180.0, 10, 15))), // max(15, 15)
            (10, 30.0, 50.0, false, Some((900.0, 10, 6))),  // both low: max(6, 5)
            // requests not below 0.9 x target: no scale-in, although its own
            // proportional capacity ceil(30 * 0.95) = 29 would allow one
            (30, 30.0, 95.0, false, None),
            (30, 30.0, 95.0, true, Some((900.0, 30, 18))), // requests opted out
            (10, 20.0, 95.0, true, Some((900.0, 10, 4))),
        ];
        for &(desired, cpu, req, disable, want) in cases {
            let pols = [
                tt("cpu", "CPU", 50.0, false),
                tt("req", "Req", 100.0, disable),
            ];
            let mut ctl =
                AsgController::new(&group(1, 40, desired), &pols, params(0.0), 0.0).unwrap();
            let ev = run(&mut ctl, 0.0, 1000.0, &|name, _| {
                Some(if name == "CPU" { cpu } else { req })
            });
            assert_eq!(
                summary(&ev).first().copied(),
                want,
                "cpu {cpu} req {req} disable {disable}"
            );
        }
    }

    #[test]
    fn target_tracking_policies_need_distinct_metrics() {
        let err = AsgController::new(
            &group(1, 40, 10),
            &[tt("a", "CPU", 50.0, false), tt("b", "CPU", 60.0, false)],
            params(0.0),
            0.0,
        )
        .unwrap_err();
        assert!(err.contains("b.metricName"), "{err}");
    }

    // --- property: clamp --------------------------------------------------

    use crate::autoscale::test_lcg::Lcg;

    fn hash(seed: u64, name: &str, end: f64) -> u64 {
        let mut h = Lcg(seed ^ (end as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for b in name.bytes() {
            h.0 ^= u64::from(b);
            h.next();
        }
        h.next()
    }

    #[test]
    fn desired_always_within_min_max() {
        let mut rng = Lcg(42);
        for case in 0..150 {
            let min = rng.below(5) as u32;
            let max = min + rng.below(15) as u32;
            let desired = min + rng.below(u64::from(max - min) + 1) as u32;
            let kinds = [
                "ChangeInCapacity",
                "PercentChangeInCapacity",
                "ExactCapacity",
            ];
            let mut pols = Vec::new();
            for i in 0..(1 + rng.below(4)) {
                let kind = kinds[rng.below(3) as usize];
                let mut adj = rng.below(60) as i32 - 30;
                if kind == "ExactCapacity" {
                    adj = adj.abs();
                }
                let up = rng.below(2) == 0;
                let op = if up {
                    "GreaterThanThreshold"
                } else {
                    "LessThanThreshold"
                };
                let thr = rng.below(100);
                let mam = if kind == "PercentChangeInCapacity" && rng.below(2) == 0 {
                    format!(r#","minAdjustmentMagnitude":{}"#, 1 + rng.below(3))
                } else {
                    String::new()
                };
                let json = match rng.below(3) {
                    0 => format!(
                        r#"{{"metricName":"m{i}","threshold":{thr},"comparisonOperator":"{op}","evaluationPeriods":2,
                        "datapointsToAlarm":1,"period":60,"scalingAdjustment":{adj},"adjustmentType":"{kind}",
                        "cooldown":{}{mam}}}"#,
                        rng.below(200)
                    ),
                    1 => {
                        let (lo, hi) = if up { ("0", "null") } else { ("null", "0") };
                        format!(
                            r#"{{"policyType":"StepScaling","alarm":{{"metricName":"m{i}","threshold":{thr},
                            "comparisonOperator":"{op}","evaluationPeriods":1,"period":60}},
                            "stepAdjustments":[{{"metricIntervalLowerBound":{lo},"metricIntervalUpperBound":{hi},
                            "scalingAdjustment":{adj}}}],"adjustmentType":"{kind}","estimatedInstanceWarmup":{}{mam}}}"#,
                            rng.below(200)
                        )
                    }
                    _ => format!(
                        r#"{{"policyType":"TargetTrackingScaling","metricName":"t{i}","targetValue":{},
                        "estimatedInstanceWarmup":{}}}"#,
                        1 + rng.below(99),
                        rng.below(200)
                    ),
                };
                pols.push(policy(&format!("p{i}"), &json));
            }
            let g = group(min, max, desired);
            let p = AsgSimParams {
                boot_secs: (rng.below(13) * 10) as f64,
                termination_secs: (rng.below(7) * 10) as f64,
            };
            let mut ctl = AsgController::new(&g, &pols, p, 0.0).unwrap();
            let seed = rng.next();
            let mut prev = desired;
            for k in 0..=360 {
                let now = f64::from(k) * 10.0;
                let ev = ctl.tick_with(now, &|q: &MetricQuery| {
                    let h = hash(seed, q.name, q.end);
                    (!h.is_multiple_of(13)).then_some((h % 120) as f64)
                });
                for e in &ev {
                    assert_eq!(e.from, prev, "case {case} t {now}: {}", e.reason);
                    assert!(
                        e.to >= min && e.to <= max,
                        "case {case}: {} not in [{min},{max}]: {}",
                        e.to,
                        e.reason
                    );
                    assert_ne!(e.from, e.to);
                    prev = e.to;
                }
                assert!(ctl.desired() >= min && ctl.desired() <= max);
                let live = ctl
                    .instances()
                    .iter()
                    .filter(|i| i.terminate_requested_at.is_none())
                    .count();
                assert_eq!(live as u32, ctl.desired(), "case {case} t {now}");
            }
        }
    }

    // --- read replicas ----------------------------------------------------

    fn replica_cfg() -> ReplicaPolicyConfig {
        ScalingPolicies::from_json(SEED_POLICIES_JSON)
            .unwrap()
            .service("database")
            .unwrap()
            .read_replicas
            .clone()
            .unwrap()
    }

    #[test]
    fn replica_policy_adds_and_removes_with_provisioning_delay() {
        // (connections %, expected events by 1600 s, replicas at checkpoints)
        let cases: Vec<(f64, Vec<Ev>, Vec<Check>)> = vec![
            (
                // > 80 at 60: create; 10-min delay -> available at 660;
                // cooldown 300 -> next create at 960, available 1560 = max.
                85.0,
                vec![(60.0, 3, 4), (960.0, 4, 5)],
                vec![
                    (650.0, 3),
                    (660.0, 4),
                    (1550.0, 4),
                    (1560.0, 5),
                    (1600.0, 5),
                ],
            ),
            (
                // < 30: remove at once, then after the 300 s cooldown, down to min 1.
                20.0,
                vec![(60.0, 3, 2), (360.0, 2, 1)],
                vec![(60.0, 2), (360.0, 1), (1600.0, 1)],
            ),
            (50.0, vec![], vec![(1600.0, 3)]),
        ];
        for (pct, want, checks) in cases {
            let p = ReplicaParams {
                initial_replicas: 3,
                min_replicas: 1,
                max_replicas: 5,
                provisioning_delay_minutes: 10.0,
                period_secs: 60,
                evaluation_periods: 1,
                cooldown_secs: 300.0,
            };
            let mut rp = ReplicaPolicy::new(&replica_cfg(), p, 0.0).unwrap();
            let mut ev = Vec::new();
            for k in 0..=160 {
                let now = f64::from(k) * 10.0;
                ev.extend(rp.tick(now, &|name, _| {
                    assert_eq!(name, "DatabaseConnections");
                    Some(pct)
                }));
                for &(t, n) in &checks {
                    if t == now {
                        assert_eq!(rp.replicas(), n, "{pct}% at {now}");
                    }
                }
            }
            assert_eq!(summary(&ev), want, "{pct}%");
        }
    }

    #[test]
    fn replica_params_are_validated() {
        let p = ReplicaParams {
            initial_replicas: 9,
            ..ReplicaParams::default()
        };
        assert!(ReplicaPolicy::new(&replica_cfg(), p, 0.0)
            .unwrap_err()
            .contains("initial_replicas"));
    }
}
