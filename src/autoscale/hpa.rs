//! Decision logic of the Kubernetes HorizontalPodAutoscaler controller (autoscaling/v2).
//!
//! A pure, deterministic port of `reconcileAutoscaler` and the replica calculator
//! (kubernetes `pkg/controller/podautoscaler/horizontal.go`, `replica_calculator.go`,
//! v1.33+ with per-direction tolerances). The caller supplies simulated time and the
//! observed pod/metric state on each sync; the controller keeps only the in-memory
//! history the real one keeps (recommendations and scale events).
//!
//! Time is in seconds (f64). A history item whose age equals a window or period counts
//! as expired: in a real cluster the stored timestamp is always slightly older than
//! `now` by the next sync, so "exactly 60 s" behaves like "more than 60 s".

use crate::autoscale::hpa_config::{
    EffectiveBehavior, EffectiveScalingRules, HpaSpec, MetricSpec, MetricTargetType,
    ScalingPolicyType, SelectPolicy,
};

/// Ages within this much of a window boundary count as on the boundary (float noise).
const EPS: f64 = 1e-9;

/// kube-controller-manager flags (`RecommendedDefaultHPAControllerConfiguration`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControllerOptions {
    /// `--horizontal-pod-autoscaler-tolerance`.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`; legacy window and the
    /// default `behavior.scaleDown.stabilizationWindowSeconds`.
    pub downscale_stabilization_s: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`.
    pub cpu_initialization_period_s: f64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`.
    pub initial_readiness_delay_s: f64,
    /// `HPAConfigurableTolerance` feature gate: honour `behavior.*.tolerance`.
    pub configurable_tolerance: bool,
    /// `--horizontal-pod-autoscaler-sync-period`; informational, the caller schedules syncs.
    pub sync_period_s: f64,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        ControllerOptions {
            tolerance: 0.1,
            downscale_stabilization_s: 300.0,
            cpu_initialization_period_s: 300.0,
            initial_readiness_delay_s: 30.0,
            configurable_tolerance: true,
            sync_period_s: 15.0,
        }
    }
}

/// One metrics-server CPU sample: a rate over `window_s` ending at `timestamp_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuSample {
    /// Cores.
    pub value: f64,
    pub timestamp_s: f64,
    pub window_s: f64,
}

/// What the controller sees of one pod matched by the target's selector.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodSample {
    /// Phase Pending: always treated as unready.
    pub phase_pending: bool,
    /// Phase Failed: ignored entirely.
    pub failed: bool,
    /// deletionTimestamp set: ignored by the calculators (still counted as
    /// Running&Ready for Object/External Value targets, as upstream does).
    pub deleting: bool,
    /// Ready condition status (the condition is assumed present once Running).
    pub ready: bool,
    pub start_time_s: f64,
    /// Ready condition lastTransitionTime.
    pub ready_transition_s: f64,
    /// Sum of container requests, cores. `None` makes a CPU Utilization metric fail.
    pub cpu_request: Option<f64>,
    /// Sum of container requests, bytes.
    pub memory_request: Option<f64>,
    /// `None` = no metric for this pod yet (missing).
    pub cpu: Option<CpuSample>,
    /// Working set, bytes.
    pub memory: Option<f64>,
    /// Values of `type: Pods` metrics, indexed like `HpaController::metric_labels()`;
    /// other entries are ignored. A short vector means missing.
    pub pod_metrics: Vec<Option<f64>>,
}

/// Observed state at one sync.
#[derive(Debug, Clone, Copy)]
pub struct HpaInput<'a> {
    pub now_s: f64,
    /// scale.spec.replicas: the controller's "current replicas".
    pub spec_replicas: u32,
    /// scale.status.replicas: divisor for Object/External AverageValue targets.
    pub status_replicas: u32,
    pub pods: &'a [PodSample],
    /// Object/External metric values (External: already summed over series), indexed
    /// like `HpaController::metric_labels()`. `None` or out of range = fetch failed.
    pub metric_values: &'a [Option<f64>],
}

/// Outcome of one sync.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Replica count the controller writes (equals `current` when it does not scale).
    pub desired: u32,
    pub current: u32,
    /// Whether the scale subresource is updated (`desired != current`).
    pub scaled: bool,
    /// Max over metric proposals before stabilization/limits, if computed.
    pub metric_recommendation: Option<u32>,
    /// Per metric in spec order: label and proposal (`None` = metric failed).
    pub proposals: Vec<(String, Option<u32>)>,
    pub driving_metric: Option<String>,
    /// Why `desired` differs from `metric_recommendation`, or why nothing happened.
    pub limited_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Res {
    Cpu,
    Memory,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    ResourceUtilization {
        res: Res,
        target: i32,
    },
    ResourceAverage {
        res: Res,
        target_milli: i64,
    },
    PodsAverage {
        target_milli: i64,
    },
    ObjectValue {
        target_milli: i64,
    },
    ObjectAverage {
        target_milli: i64,
    },
    ExternalValue {
        target_milli: i64,
    },
    ExternalAverage {
        target_milli: i64,
    },
    /// The controller errors on this metric every sync.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Metric {
    label: String,
    kind: Kind,
}

fn resolve_metric(m: &MetricSpec) -> Metric {
    let res_of = |name: &str| match name {
        "cpu" => Some(Res::Cpu),
        "memory" => Some(Res::Memory),
        _ => None,
    };
    match m {
        MetricSpec::Resource { resource } => {
            let label = format!("resource/{}", resource.name);
            let t = &resource.target;
            // computeStatusForResourceMetric: averageValue wins, else averageUtilization.
            let kind = match (res_of(&resource.name), &t.average_value, t.average_utilization) {
                (None, _, _) => Kind::Invalid(format!("unsupported resource {:?}", resource.name)),
                (Some(res), Some(v), _) => Kind::ResourceAverage {
                    res,
                    target_milli: v.milli_value(),
                },
                (Some(res), None, Some(u)) => Kind::ResourceUtilization { res, target: u },
                (Some(_), None, None) => Kind::Invalid(
                    "invalid resource metric source: neither a utilization target nor a value target was set".into(),
                ),
            };
            Metric { label, kind }
        }
        MetricSpec::ContainerResource { container_resource } => Metric {
            label: format!(
                "containerResource/{}/{}",
                container_resource.container, container_resource.name
            ),
            kind: Kind::Invalid("ContainerResource metrics are not modelled".into()),
        },
        MetricSpec::Pods { pods } => Metric {
            label: format!("pods/{}", pods.metric.name),
            kind: match &pods.target.average_value {
                Some(v) => Kind::PodsAverage {
                    target_milli: v.milli_value(),
                },
                None => Kind::Invalid("pods metric without averageValue".into()),
            },
        },
        MetricSpec::Object { object } => {
            let t = &object.target;
            // computeStatusForObjectMetric keys on target.type, then the matching field.
            let kind = match (t.target_type, &t.value, &t.average_value) {
                (MetricTargetType::Value, Some(v), _) => Kind::ObjectValue {
                    target_milli: v.milli_value(),
                },
                (MetricTargetType::AverageValue, _, Some(v)) => Kind::ObjectAverage {
                    target_milli: v.milli_value(),
                },
                _ => Kind::Invalid(
                    "invalid object metric source: neither a value target nor an average value target was set".into(),
                ),
            };
            Metric {
                label: format!("object/{}", object.metric.name),
                kind,
            }
        }
        MetricSpec::External { external } => {
            let t = &external.target;
            // computeStatusForExternalMetric: averageValue first, then value.
            let kind = match (&t.average_value, &t.value) {
                (Some(v), _) => Kind::ExternalAverage {
                    target_milli: v.milli_value(),
                },
                (None, Some(v)) => Kind::ExternalValue {
                    target_milli: v.milli_value(),
                },
                (None, None) => Kind::Invalid(
                    "invalid external metric source: neither a value target nor an average value target was set".into(),
                ),
            };
            Metric {
                label: format!("external/{}", external.metric.name),
                kind,
            }
        }
    }
}

/// Upstream `Tolerances`: both ends of the band are inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tolerances {
    down: f64,
    up: f64,
}

impl Tolerances {
    fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.down) <= ratio && ratio <= (1.0 + self.up)
    }
}

/// Why a calculator returned the current count unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hold {
    No,
    Tolerance,
    /// Missing/unready pods flipped or reversed the scale direction.
    DirectionGuard,
}

/// (max proposal, index of the driving metric, why it held) or the first error.
type MetricsOutcome = Result<(i64, Option<usize>, Hold), String>;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Proposal {
    replicas: i64,
    hold: Hold,
}

fn moved(replicas: i64) -> Result<Proposal, String> {
    Ok(Proposal {
        replicas,
        hold: Hold::No,
    })
}

fn held(replicas: i64, hold: Hold) -> Result<Proposal, String> {
    Ok(Proposal { replicas, hold })
}

/// `int32(math.Ceil(x))`, saturating instead of Go's undefined overflow.
fn ceil_replicas(x: f64) -> i64 {
    (x.ceil() as i64).clamp(0, i64::from(i32::MAX))
}

/// Metric values reach the controller as integer milli-units (`Quantity.MilliValue()`,
/// which rounds up). Snap float noise first so 0.55 becomes 550, not 551.
pub fn to_milli(v: f64) -> i64 {
    let m = v * 1000.0;
    let r = m.round();
    if (m - r).abs() <= 1e-6 * r.abs().max(1.0) {
        r as i64
    } else {
        m.ceil() as i64
    }
}

/// Alive iff younger than the window; age == window is expired.
fn alive(age: f64, window: f64) -> bool {
    age < window - EPS
}

struct Groups {
    /// (pod index, milli value) of ready pods with metrics.
    metrics: Vec<(usize, i64)>,
    unready: Vec<usize>,
    missing: Vec<usize>,
}

/// Upstream `groupPods` followed by dropping ignored and unready pods' metrics.
fn group_pods(
    pods: &[PodSample],
    value: impl Fn(&PodSample) -> Option<i64>,
    cpu: bool,
    now: f64,
    o: &ControllerOptions,
) -> Groups {
    let mut g = Groups {
        metrics: Vec::with_capacity(pods.len()),
        unready: Vec::new(),
        missing: Vec::new(),
    };
    for (i, p) in pods.iter().enumerate() {
        if p.deleting || p.failed {
            continue;
        }
        if p.phase_pending {
            g.unready.push(i);
            continue;
        }
        let Some(v) = value(p) else {
            g.missing.push(i);
            continue;
        };
        if cpu {
            if let Some(s) = p.cpu {
                let unready = if p.start_time_s + o.cpu_initialization_period_s > now {
                    // Within the init period: skip samples that cover any not-ready time.
                    !p.ready || s.timestamp_s < p.ready_transition_s + s.window_s
                } else {
                    // After it: skip only pods that have never become ready.
                    !p.ready && p.start_time_s + o.initial_readiness_delay_s > p.ready_transition_s
                };
                if unready {
                    g.unready.push(i);
                    continue;
                }
            }
        }
        g.metrics.push((i, v));
    }
    g
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rec {
    replicas: i64,
    t: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ScaleEvent {
    change: i64,
    t: f64,
    outdated: bool,
}

/// One HPA object as the controller holds it: spec plus in-memory history.
#[derive(Debug, Clone)]
pub struct HpaController {
    spec: HpaSpec,
    options: ControllerOptions,
    created_at_s: f64,
    min: i64,
    max: i64,
    metrics: Vec<Metric>,
    behavior: Option<EffectiveBehavior>,
    tolerances: Tolerances,
    /// `recordInitialRecommendation` has run (survives the list being pruned empty).
    initialized: bool,
    recommendations: Vec<Rec>,
    scale_up_events: Vec<ScaleEvent>,
    scale_down_events: Vec<ScaleEvent>,
}

impl HpaController {
    /// `cfg` should have passed `HpaSpec::validate`; invalid metric sources behave as
    /// permanently failing metrics, as in the real controller.
    pub fn new(cfg: &HpaSpec, created_at_s: f64, options: ControllerOptions) -> Self {
        let behavior = cfg.effective_behavior(options.downscale_stabilization_s.max(0.0) as u32);
        let mut tolerances = Tolerances {
            down: options.tolerance,
            up: options.tolerance,
        };
        // tolerancesForHpa reads the raw spec: tolerance has no API default.
        if options.configurable_tolerance {
            if let Some(b) = &cfg.behavior {
                if let Some(t) = b.scale_down.as_ref().and_then(|r| r.tolerance.as_ref()) {
                    tolerances.down = t.value();
                }
                if let Some(t) = b.scale_up.as_ref().and_then(|r| r.tolerance.as_ref()) {
                    tolerances.up = t.value();
                }
            }
        }
        HpaController {
            spec: cfg.clone(),
            options,
            created_at_s,
            min: i64::from(cfg.min_replicas().max(0)),
            max: i64::from(cfg.max_replicas.max(0)),
            metrics: cfg.effective_metrics().iter().map(resolve_metric).collect(),
            behavior,
            tolerances,
            initialized: false,
            recommendations: Vec::new(),
            scale_up_events: Vec::new(),
            scale_down_events: Vec::new(),
        }
    }

    pub fn spec(&self) -> &HpaSpec {
        &self.spec
    }
    pub fn options(&self) -> &ControllerOptions {
        &self.options
    }
    pub fn created_at_s(&self) -> f64 {
        self.created_at_s
    }
    pub fn min_replicas(&self) -> u32 {
        self.min as u32
    }
    pub fn max_replicas(&self) -> u32 {
        self.max as u32
    }
    /// Defaulted behavior, `None` on the legacy path.
    pub fn behavior(&self) -> Option<&EffectiveBehavior> {
        self.behavior.as_ref()
    }
    /// Metric labels in spec order (after defaulting); indexes for
    /// `PodSample::pod_metrics` and `HpaInput::metric_values`.
    pub fn metric_labels(&self) -> Vec<String> {
        self.metrics.iter().map(|m| m.label.clone()).collect()
    }
    /// Models a kube-controller-manager restart: all in-memory history is lost.
    pub fn reset_history(&mut self) {
        self.initialized = false;
        self.recommendations.clear();
        self.scale_up_events.clear();
        self.scale_down_events.clear();
    }
    /// Stored (recommendations, scale-up events, scale-down events).
    pub fn history_len(&self) -> (usize, usize, usize) {
        (
            self.recommendations.len(),
            self.scale_up_events.len(),
            self.scale_down_events.len(),
        )
    }

    /// One sync of `reconcileAutoscaler`.
    pub fn reconcile(&mut self, input: &HpaInput) -> Decision {
        let now = input.now_s;
        let cur = i64::from(input.spec_replicas);
        if !self.initialized {
            // recordInitialRecommendation: blocks scale-down for one window.
            self.recommendations.push(Rec {
                replicas: cur,
                t: now,
            });
            self.initialized = true;
        }
        let mut d = Decision {
            desired: input.spec_replicas,
            current: input.spec_replicas,
            scaled: false,
            metric_recommendation: None,
            proposals: Vec::new(),
            driving_metric: None,
            limited_by: None,
        };
        let desired;
        if cur == 0 && self.min != 0 {
            d.limited_by = Some("scaling disabled (target has 0 replicas)".into());
            return d;
        } else if cur > self.max {
            // Clamp at once: no stabilization, no rate limit, no recommendation stored.
            desired = self.max;
            d.limited_by = Some("maxReplicas".into());
        } else if cur < self.min {
            desired = self.min;
            d.limited_by = Some("minReplicas".into());
        } else {
            let (proposals, result) = self.compute_replicas_for_metrics(input);
            d.proposals = proposals;
            let (rec, driving, hold) = match result {
                Ok(r) => r,
                Err(e) => {
                    d.limited_by = Some(format!("metrics unavailable: {e}"));
                    return d;
                }
            };
            let rec = rec.max(0);
            d.metric_recommendation = Some(to_u32(rec));
            d.driving_metric = driving.map(|i| self.metrics[i].label.clone());
            // Taken out for the call so `self` can be borrowed mutably; put back below.
            let behavior = self.behavior.take();
            let (v, why) = match &behavior {
                None => self.normalize_legacy(cur, rec, now),
                Some(b) => self.normalize_with_behaviors(b, cur, rec, now),
            };
            self.behavior = behavior;
            desired = v;
            // Nothing downstream limited it: say why the metric itself held at current.
            d.limited_by = why.or_else(|| match hold {
                _ if v != cur || rec != cur => None,
                Hold::Tolerance => Some("tolerance".into()),
                Hold::DirectionGuard => Some("unready/missing pods direction guard".into()),
                Hold::No => None,
            });
        }
        if desired != cur {
            d.scaled = true;
            if let Some(b) = self.behavior.take() {
                self.store_scale_event(&b, cur, desired, now);
                self.behavior = Some(b);
            }
        }
        d.desired = to_u32(desired);
        d
    }

    /// `computeReplicasForMetrics`: max over proposals; Err if all fail, or if some
    /// fail and the valid ones would scale down.
    fn compute_replicas_for_metrics(
        &self,
        input: &HpaInput,
    ) -> (Vec<(String, Option<u32>)>, MetricsOutcome) {
        let spec_replicas = i64::from(input.spec_replicas);
        let mut proposals = Vec::with_capacity(self.metrics.len());
        let mut replicas = 0i64;
        let mut driving = None;
        let mut hold = Hold::No;
        let mut invalid = 0usize;
        let mut first_err: Option<String> = None;
        for (i, m) in self.metrics.iter().enumerate() {
            match self.metric_proposal(i, m, input) {
                Err(e) => {
                    invalid += 1;
                    first_err.get_or_insert_with(|| format!("{}: {e}", m.label));
                    proposals.push((m.label.clone(), None));
                }
                Ok(p) => {
                    proposals.push((m.label.clone(), Some(to_u32(p.replicas))));
                    if replicas == 0 || p.replicas > replicas {
                        replicas = p.replicas;
                        driving = Some(i);
                        hold = p.hold;
                    }
                }
            }
        }
        if invalid >= self.metrics.len() || (invalid > 0 && replicas < spec_replicas) {
            let e = format!(
                "invalid metrics ({invalid} invalid out of {}), first error is: {}",
                self.metrics.len(),
                first_err.unwrap_or_default()
            );
            return (proposals, Err(e));
        }
        (proposals, Ok((replicas, driving, hold)))
    }

    fn metric_proposal(
        &self,
        idx: usize,
        m: &Metric,
        input: &HpaInput,
    ) -> Result<Proposal, String> {
        let cur = i64::from(input.spec_replicas);
        let res_value = |res: Res| {
            move |p: &PodSample| match res {
                Res::Cpu => p.cpu.map(|s| to_milli(s.value)),
                Res::Memory => p.memory.map(to_milli),
            }
        };
        let external = || -> Result<i64, String> {
            input
                .metric_values
                .get(idx)
                .copied()
                .flatten()
                .map(to_milli)
                .ok_or_else(|| "unable to fetch metric".to_string())
        };
        match &m.kind {
            Kind::Invalid(e) => Err(e.clone()),
            Kind::ResourceUtilization { res, target } => {
                self.resource_replicas(input, *res, i64::from(*target), cur)
            }
            Kind::ResourceAverage { res, target_milli } => {
                self.plain_replicas(input, res_value(*res), *res == Res::Cpu, *target_milli, cur)
            }
            Kind::PodsAverage { target_milli } => self.plain_replicas(
                input,
                |p: &PodSample| p.pod_metrics.get(idx).copied().flatten().map(to_milli),
                false,
                *target_milli,
                cur,
            ),
            Kind::ObjectValue { target_milli } | Kind::ExternalValue { target_milli } => {
                let ratio = external()? as f64 / *target_milli as f64;
                self.usage_ratio_replicas(input, ratio, cur)
            }
            Kind::ObjectAverage { target_milli } | Kind::ExternalAverage { target_milli } => {
                let usage = external()?;
                self.per_pod_replicas(input, usage, *target_milli)
            }
        }
    }

    /// `GetResourceReplicas`: utilization is an integer percent of summed requests.
    fn resource_replicas(
        &self,
        input: &HpaInput,
        res: Res,
        target: i64,
        cur: i64,
    ) -> Result<Proposal, String> {
        let pods = input.pods;
        if pods.is_empty() {
            return Err("no pods returned by selector while calculating replica count".into());
        }
        let g = group_pods(
            pods,
            |p| match res {
                Res::Cpu => p.cpu.map(|s| to_milli(s.value)),
                Res::Memory => p.memory.map(to_milli),
            },
            res == Res::Cpu,
            input.now_s,
            &self.options,
        );
        // calculatePodRequests covers every listed pod; one without a request fails the metric.
        let mut requests = Vec::with_capacity(pods.len());
        for p in pods {
            let r = match res {
                Res::Cpu => p.cpu_request,
                Res::Memory => p.memory_request,
            };
            match r {
                Some(r) => requests.push(to_milli(r)),
                None => return Err(format!("missing request for {res:?}")),
            }
        }
        if g.metrics.is_empty() {
            return Err("did not receive metrics for targeted pods (pods might be unready)".into());
        }
        let utilization = |ms: &[(usize, i64)]| -> Result<i64, String> {
            let mt: i128 = ms.iter().map(|&(_, v)| i128::from(v)).sum();
            let rt: i128 = ms.iter().map(|&(i, _)| i128::from(requests[i])).sum();
            if rt == 0 {
                return Err("no metrics returned matched known pods".into());
            }
            Ok(i64::try_from(mt * 100 / rt)
                .unwrap_or(i64::MAX)
                .min(i64::from(i32::MAX)))
        };
        let ratio = utilization(&g.metrics)? as f64 / target as f64;
        let tol = self.tolerances;
        let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && g.missing.is_empty() {
            if tol.is_within(ratio) {
                return held(cur, Hold::Tolerance);
            }
            return moved(ceil_replicas(ratio * g.metrics.len() as f64));
        }
        let mut ms = g.metrics.clone();
        if !g.missing.is_empty() {
            if ratio < 1.0 {
                // Scale-down: missing pods use their request, or the target if above 100 %.
                let fallback = target.max(100);
                ms.extend(g.missing.iter().map(|&i| (i, requests[i] * fallback / 100)));
            } else if ratio > 1.0 {
                ms.extend(g.missing.iter().map(|&i| (i, 0)));
            }
        }
        if scale_up_with_unready {
            ms.extend(g.unready.iter().map(|&i| (i, 0)));
        }
        let new_ratio = utilization(&ms)? as f64 / target as f64;
        finish_rebalanced(tol, ratio, new_ratio, ms.len(), cur)
    }

    /// `calcPlainMetricReplicas`: average of integer milli-values.
    fn plain_replicas(
        &self,
        input: &HpaInput,
        value: impl Fn(&PodSample) -> Option<i64>,
        cpu: bool,
        target_milli: i64,
        cur: i64,
    ) -> Result<Proposal, String> {
        if input.pods.is_empty() {
            return Err("no pods returned by selector while calculating replica count".into());
        }
        let g = group_pods(input.pods, value, cpu, input.now_s, &self.options);
        if g.metrics.is_empty() {
            return Err("did not receive metrics for targeted pods (pods might be unready)".into());
        }
        let usage = |ms: &[(usize, i64)]| -> i64 {
            let total: i128 = ms.iter().map(|&(_, v)| i128::from(v)).sum();
            i64::try_from(total / ms.len() as i128).unwrap_or(i64::MAX)
        };
        let ratio = usage(&g.metrics) as f64 / target_milli as f64;
        let tol = self.tolerances;
        let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && g.missing.is_empty() {
            if tol.is_within(ratio) {
                return held(cur, Hold::Tolerance);
            }
            return moved(ceil_replicas(ratio * g.metrics.len() as f64));
        }
        let mut ms = g.metrics.clone();
        // replica_calculator.go `calcPlainMetricReplicas` (v1.33+): missing pods count as the
        // target on a scale-down and as 0 on a scale-up; at exactly 1 they are left out (`else if
        // usageRatio > 1.0`), so the recomputed ratio is 1 again and the count holds.
        if ratio < 1.0 {
            ms.extend(g.missing.iter().map(|&i| (i, target_milli)));
        } else if ratio > 1.0 {
            ms.extend(g.missing.iter().map(|&i| (i, 0)));
        }
        if scale_up_with_unready {
            ms.extend(g.unready.iter().map(|&i| (i, 0)));
        }
        let new_ratio = usage(&ms) as f64 / target_milli as f64;
        finish_rebalanced(tol, ratio, new_ratio, ms.len(), cur)
    }

    /// `getUsageRatioReplicaCount` (Object/External Value targets).
    fn usage_ratio_replicas(
        &self,
        input: &HpaInput,
        ratio: f64,
        cur: i64,
    ) -> Result<Proposal, String> {
        if cur == 0 {
            return moved(ceil_replicas(ratio));
        }
        if self.tolerances.is_within(ratio) {
            return held(cur, Hold::Tolerance);
        }
        if input.pods.is_empty() {
            return Err("unable to calculate ready pods: no pods returned by selector".into());
        }
        // Running and Ready; zero when all are unready (kubernetes#130130), as upstream.
        let ready = input
            .pods
            .iter()
            .filter(|p| !p.phase_pending && !p.failed && p.ready)
            .count();
        moved(ceil_replicas(ratio * ready as f64))
    }

    /// `Get{Object,External}PerPodMetricReplicas` (AverageValue targets).
    fn per_pod_replicas(
        &self,
        input: &HpaInput,
        usage: i64,
        target_milli: i64,
    ) -> Result<Proposal, String> {
        let status = i64::from(input.status_replicas);
        let ratio = usage as f64 / (target_milli as f64 * status as f64);
        if self.tolerances.is_within(ratio) {
            // Upstream returns status.replicas here, not spec.replicas.
            return held(status, Hold::Tolerance);
        }
        moved(ceil_replicas(usage as f64 / target_milli as f64))
    }

    /// Legacy path (`behavior == nil`): `stabilizeRecommendation` + `convertDesiredReplicasWithRules`.
    fn normalize_legacy(&mut self, cur: i64, desired: i64, now: f64) -> (i64, Option<String>) {
        let stabilized = self.stabilize_recommendation(desired, now);
        let stab_why =
            (stabilized != desired).then(|| "scaleDown stabilization window".to_string());
        let (v, why) = self.convert_desired_replicas_with_rules(cur, stabilized);
        (v, why.or(stab_why))
    }

    /// `stabilizeRecommendation`: the highest recommendation of the downscale window, the new
    /// one included. As upstream, the new recommendation takes the slot of the last one that
    /// has left the window, else is appended; old ones are never read again.
    fn stabilize_recommendation(&mut self, desired: i64, now: f64) -> i64 {
        let window = self.options.downscale_stabilization_s;
        let mut stabilized = desired;
        let mut old = None;
        for (i, r) in self.recommendations.iter().enumerate() {
            if !alive(now - r.t, window) {
                old = Some(i);
            } else if r.replicas > stabilized {
                stabilized = r.replicas;
            }
        }
        self.store_recommendation(old, desired, now);
        stabilized
    }

    fn store_recommendation(&mut self, old: Option<usize>, replicas: i64, t: f64) {
        let rec = Rec { replicas, t };
        match old {
            Some(i) => self.recommendations[i] = rec,
            None => self.recommendations.push(rec),
        }
    }

    /// `convertDesiredReplicasWithRules`: within [minReplicas, min(maxReplicas,
    /// scaleUpLimit)], scaleUpLimit = max(2 x current, 4) (scaleUpLimitFactor 2,
    /// scaleUpLimitMinimum 4). The label says what limited it, `None` when nothing did.
    fn convert_desired_replicas_with_rules(&self, cur: i64, desired: i64) -> (i64, Option<String>) {
        let limit = (2.0 * cur as f64).max(4.0) as i64;
        let (max_allowed, why) = if self.max > limit {
            (limit, "legacy 2x/4 cap")
        } else {
            (self.max, "maxReplicas")
        };
        if desired < self.min {
            (self.min, Some("minReplicas".into()))
        } else if desired > max_allowed {
            (max_allowed, Some(why.into()))
        } else {
            (desired, None)
        }
    }

    /// `stabilizeRecommendationWithBehaviors` + `convertDesiredReplicasWithBehaviorRate`.
    fn normalize_with_behaviors(
        &mut self,
        b: &EffectiveBehavior,
        cur: i64,
        desired: i64,
        now: f64,
    ) -> (i64, Option<String>) {
        let up_w = f64::from(b.scale_up.stabilization_window_s);
        let down_w = f64::from(b.scale_down.stabilization_window_s);
        let stabilized =
            self.stabilize_recommendation_with_behaviors(cur, desired, up_w, down_w, now);
        let stab_why = if stabilized > desired {
            Some("scaleDown stabilization window".to_string())
        } else if stabilized < desired {
            Some("scaleUp stabilization window".to_string())
        } else {
            None
        };
        let (v, why) = self.convert_desired_replicas_with_behavior_rate(b, cur, stabilized, now);
        (v, why.or(stab_why))
    }

    /// `stabilizeRecommendationWithBehaviors`: current replicas, raised to the lowest
    /// recommendation of the scale-up window and lowered to the highest of the scale-down
    /// window (the new one included in both). The new recommendation takes the slot of the
    /// last one outside both windows, else is appended, as upstream.
    fn stabilize_recommendation_with_behaviors(
        &mut self,
        cur: i64,
        desired: i64,
        up_w: f64,
        down_w: f64,
        now: f64,
    ) -> i64 {
        let mut up = desired;
        let mut down = desired;
        let mut old = None;
        for (i, r) in self.recommendations.iter().enumerate() {
            let age = now - r.t;
            let (in_up, in_down) = (alive(age, up_w), alive(age, down_w));
            if in_up {
                up = up.min(r.replicas);
            }
            if in_down {
                down = down.max(r.replicas);
            }
            if !in_up && !in_down {
                old = Some(i);
            }
        }
        let mut stabilized = cur;
        if stabilized < up {
            stabilized = up;
        }
        if stabilized > down {
            stabilized = down;
        }
        self.store_recommendation(old, desired, now);
        stabilized
    }

    /// `convertDesiredReplicasWithBehaviorRate`: the stabilized recommendation within the
    /// policies' limits and [minReplicas, maxReplicas]. The label says what limited it
    /// (`maxReplicas`, `minReplicas`, a scaleUp / scaleDown policy), `None` when nothing did.
    fn convert_desired_replicas_with_behavior_rate(
        &self,
        b: &EffectiveBehavior,
        cur: i64,
        desired: i64,
        now: f64,
    ) -> (i64, Option<String>) {
        if desired > cur {
            let (limit, label) = self.scale_up_limit(&b.scale_up, cur, now);
            // Do not scale up further until events age out.
            let limit = limit.max(cur);
            let (max_allowed, why) = if self.max > limit {
                (limit, label)
            } else {
                (self.max, "maxReplicas".to_string())
            };
            if desired > max_allowed {
                return (max_allowed, Some(why));
            }
        } else if desired < cur {
            let (limit, label) = self.scale_down_limit(&b.scale_down, cur, now);
            let limit = limit.min(cur);
            let (min_allowed, why) = if self.min < limit {
                (limit, label)
            } else {
                (self.min, "minReplicas".to_string())
            };
            if desired < min_allowed {
                return (min_allowed, Some(why));
            }
        }
        (desired, None)
    }

    /// `getReplicasChangePerPeriod` over both directions (PR #109058): replica count at
    /// the start of the policy's period.
    fn period_start(&self, cur: i64, period_s: i32, now: f64) -> i64 {
        let period = f64::from(period_s);
        let sum = |evs: &[ScaleEvent]| -> i64 {
            evs.iter()
                .filter(|e| alive(now - e.t, period))
                .map(|e| e.change)
                .sum()
        };
        cur - sum(&self.scale_up_events) + sum(&self.scale_down_events)
    }

    /// `calculateScaleUpLimitWithScalingRules`, returning the deciding policy's label.
    fn scale_up_limit(&self, rules: &EffectiveScalingRules, cur: i64, now: f64) -> (i64, String) {
        let use_min = match rules.select_policy {
            SelectPolicy::Disabled => return (cur, "scaleUp selectPolicy Disabled".into()),
            SelectPolicy::Min => true,
            SelectPolicy::Max => false,
        };
        let mut result = if use_min {
            i64::from(i32::MAX)
        } else {
            i64::from(i32::MIN)
        };
        let mut label = "scaleUp policies (none)".to_string();
        for p in &rules.policies {
            let start = self.period_start(cur, p.period_seconds, now);
            let proposed = match p.policy_type {
                ScalingPolicyType::Pods => start + i64::from(p.value),
                // Rounded up so a small percentage still allows +1; float64 as upstream.
                ScalingPolicyType::Percent => {
                    (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
                }
            };
            if (use_min && proposed < result) || (!use_min && proposed > result) {
                result = proposed;
                label = format!("scaleUp policy {p}");
            }
        }
        (result, label)
    }

    /// `calculateScaleDownLimitWithBehaviors`; Percent truncates toward zero like Go's int32().
    fn scale_down_limit(&self, rules: &EffectiveScalingRules, cur: i64, now: f64) -> (i64, String) {
        let use_min_change = match rules.select_policy {
            SelectPolicy::Disabled => return (cur, "scaleDown selectPolicy Disabled".into()),
            SelectPolicy::Min => true,
            SelectPolicy::Max => false,
        };
        // Min change on the way down = the highest floor.
        let mut result = if use_min_change {
            i64::from(i32::MIN)
        } else {
            i64::from(i32::MAX)
        };
        let mut label = "scaleDown policies (none)".to_string();
        for p in &rules.policies {
            let start = self.period_start(cur, p.period_seconds, now);
            let proposed = match p.policy_type {
                ScalingPolicyType::Pods => start - i64::from(p.value),
                ScalingPolicyType::Percent => {
                    (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64
                }
            };
            if (use_min_change && proposed > result) || (!use_min_change && proposed < result) {
                result = proposed;
                label = format!("scaleDown policy {p}");
            }
        }
        (result, label)
    }

    /// `storeScaleEvent`: mark events older than the direction's longest period as
    /// outdated and reuse the last outdated slot. Reuse (rather than pruning) is kept
    /// because the opposite direction still reads these events with its own periods.
    fn store_scale_event(&mut self, b: &EffectiveBehavior, prev: i64, new: i64, now: f64) {
        let (events, longest) = if new > prev {
            (&mut self.scale_up_events, b.scale_up.longest_period_s())
        } else {
            (&mut self.scale_down_events, b.scale_down.longest_period_s())
        };
        let longest = f64::from(longest);
        let mut slot = None;
        for (i, e) in events.iter_mut().enumerate() {
            if !alive(now - e.t, longest) {
                e.outdated = true;
            }
            if e.outdated {
                slot = Some(i);
            }
        }
        let ev = ScaleEvent {
            change: (new - prev).abs(),
            t: now,
            outdated: false,
        };
        match slot {
            Some(i) => events[i] = ev,
            None => events.push(ev),
        }
    }
}

/// Shared tail of both pod-based calculators after missing/unready pods were filled in.
fn finish_rebalanced(
    tol: Tolerances,
    ratio: f64,
    new_ratio: f64,
    n_metrics: usize,
    cur: i64,
) -> Result<Proposal, String> {
    if tol.is_within(new_ratio) {
        return held(cur, Hold::Tolerance);
    }
    if (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return held(cur, Hold::DirectionGuard);
    }
    let n = ceil_replicas(new_ratio * n_metrics as f64);
    if (new_ratio < 1.0 && n > cur) || (new_ratio > 1.0 && n < cur) {
        return held(cur, Hold::DirectionGuard);
    }
    moved(n)
}

fn to_u32(v: i64) -> u32 {
    v.clamp(0, i64::from(u32::MAX)) as u32
}

/// Kubernetes' own tables for the functions above (`horizontal_test.go`, `defaults_test.go`).
#[cfg(test)]
#[path = "hpa_upstream_tests.rs"]
mod upstream_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::hpa_config::HorizontalPodAutoscaler;

    const GI: f64 = 1073741824.0;
    /// Far past every pod's start, so the CPU initialization period is over.
    const NOW: f64 = 10_000.0;

    fn spec(body: &str) -> HpaSpec {
        let y = format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: t}}\nspec:\n  scaleTargetRef: {{kind: Deployment, name: web}}\n{body}"
        );
        let h: HorizontalPodAutoscaler = serde_saphyr::from_str(&y).unwrap();
        h.validate().unwrap();
        h.spec
    }

    /// One External AverageValue metric with target 1: with tolerance 0 the metric's
    /// proposal equals the value fed in, so tests can script raw recommendations.
    fn want_spec(min: u32, max: u32, behavior: &str) -> HpaSpec {
        spec(&format!(
            "  minReplicas: {min}\n  maxReplicas: {max}\n  metrics:\n  - type: External\n    external: {{metric: {{name: want}}, target: {{type: AverageValue, averageValue: 1}}}}\n{behavior}"
        ))
    }

    fn exact() -> ControllerOptions {
        ControllerOptions {
            tolerance: 0.0,
            ..Default::default()
        }
    }

    struct Run {
        c: HpaController,
        cur: u32,
    }

    impl Run {
        fn new(spec: &HpaSpec, cur: u32) -> Self {
            Run {
                c: HpaController::new(spec, 0.0, exact()),
                cur,
            }
        }
        fn at(&mut self, t: f64, want: u32) -> Decision {
            let vals = [Some(f64::from(want))];
            let d = self.c.reconcile(&HpaInput {
                now_s: t,
                spec_replicas: self.cur,
                status_replicas: self.cur,
                pods: &[],
                metric_values: &vals,
            });
            self.cur = d.desired;
            d
        }
        /// Syncs every 15 s from t=0 through `until`, returning (t, desired).
        fn every_15s(&mut self, until: f64, want: impl Fn(f64) -> u32) -> Vec<(f64, u32)> {
            let mut out = Vec::new();
            let mut t = 0.0;
            while t <= until {
                out.push((t, self.at(t, want(t)).desired));
                t += 15.0;
            }
            out
        }
    }

    /// A long-running, ready pod with fresh metrics.
    fn pod(cpu_req: f64, cpu_use: Option<f64>) -> PodSample {
        PodSample {
            ready: true,
            start_time_s: 0.0,
            ready_transition_s: 5.0,
            cpu_request: Some(cpu_req),
            memory_request: Some(GI),
            cpu: cpu_use.map(|value| CpuSample {
                value,
                timestamp_s: NOW - 5.0,
                window_s: 15.0,
            }),
            memory: Some(GI / 2.0),
            ..Default::default()
        }
    }

    fn cpu_spec(target: u32, behavior: &str) -> HpaSpec {
        spec(&format!(
            "  maxReplicas: 1000\n  metrics:\n  - type: Resource\n    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {target}}}}}\n{behavior}"
        ))
    }

    fn propose_with(
        spec: &HpaSpec,
        opts: ControllerOptions,
        pods: &[PodSample],
        cur: u32,
    ) -> Decision {
        let mut c = HpaController::new(spec, NOW, opts);
        c.reconcile(&HpaInput {
            now_s: NOW,
            spec_replicas: cur,
            status_replicas: cur,
            pods,
            metric_values: &[],
        })
    }

    /// First metric's proposal.
    fn propose(spec: &HpaSpec, pods: &[PodSample], cur: u32) -> Option<u32> {
        propose_with(spec, ControllerOptions::default(), pods, cur).proposals[0].1
    }

    #[test]
    fn tolerance_band_is_inclusive() {
        // (target %, per-pod usage in cores of a 1-core request, expected proposal from 10 pods)
        let cases = [
            (70, 0.77, 10),  // 77/70 == 1.1 exactly: within
            (70, 0.78, 12),  // 1.114 -> ceil(11.14)
            (70, 0.63, 10),  // 0.9 exactly: within
            (70, 0.62, 9),   // 0.886 -> ceil(8.86)
            (100, 1.11, 12), // 1.11 -> ceil(11.1)
            (100, 1.10, 10),
            (100, 0.90, 10),
            (100, 0.89, 9),
            (100, 0.779, 8), // truncated to 77 %, not 77.9 %
        ];
        for (target, usage, expect) in cases {
            let pods = vec![pod(1.0, Some(usage)); 10];
            let d = propose_with(
                &cpu_spec(target, ""),
                ControllerOptions::default(),
                &pods,
                10,
            );
            assert_eq!(
                d.proposals[0].1,
                Some(expect),
                "target {target} usage {usage}"
            );
            if expect == 10 {
                assert_eq!(d.limited_by.as_deref(), Some("tolerance"));
            }
        }
    }

    #[test]
    fn per_direction_tolerance_from_behavior() {
        let b = "  behavior:\n    scaleUp: {tolerance: 0.05}\n    scaleDown: {tolerance: 0.2}\n";
        let gate_off = ControllerOptions {
            configurable_tolerance: false,
            ..Default::default()
        };
        // (usage, with per-direction tolerances, with the global 0.1)
        // 0.735 truncates to 73 %: 1.043, inside even the tighter scale-up band.
        let cases = [
            (0.74, 11, 10),
            (0.75, 11, 10),
            (0.57, 10, 9),
            (0.55, 8, 8),
            (0.735, 10, 10),
        ];
        for (usage, per_dir, global) in cases {
            let pods = vec![pod(1.0, Some(usage)); 10];
            let s = cpu_spec(70, b);
            assert_eq!(
                propose_with(&s, ControllerOptions::default(), &pods, 10).proposals[0].1,
                Some(per_dir),
                "usage {usage}"
            );
            assert_eq!(
                propose_with(&s, gate_off, &pods, 10).proposals[0].1,
                Some(global)
            );
        }
    }

    #[test]
    fn percent_policy_scale_down_from_80() {
        let s = want_spec(1, 100, "  behavior:\n    scaleDown:\n      policies: [{type: Percent, value: 10, periodSeconds: 60}]\n");
        let mut r = Run::new(&s, 80);
        let got = r.every_15s(480.0, |_| 10);
        for (t, desired) in got {
            // Default 300 s window holds 80; then one 10 % step per 60 s, where an event
            // exactly 60 s old has expired.
            let expect = match t as u32 {
                0..=285 => 80,
                300..=345 => 72,
                360..=405 => 64,
                420..=465 => 57,
                _ => 51,
            };
            assert_eq!(desired, expect, "t={t}");
        }
        let mut r = Run::new(&s, 80);
        r.every_15s(285.0, |_| 10);
        let d = r.at(300.0, 10);
        assert_eq!(d.desired, 72);
        assert_eq!(
            d.limited_by.as_deref(),
            Some("scaleDown policy Percent 10/60s")
        );
        // Just before the event expires, still held.
        assert_eq!(r.at(359.999, 10).desired, 72);
        assert_eq!(r.at(360.0, 10).desired, 64);
    }

    #[test]
    fn percent_limits_reproduce_float64_artifacts() {
        let c = HpaController::new(&want_spec(1, 1000, "  behavior: {}\n"), 0.0, exact());
        let rules = |t: ScalingPolicyType, v: i32| EffectiveScalingRules {
            stabilization_window_s: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![crate::autoscale::hpa_config::HpaScalingPolicy {
                policy_type: t,
                value: v,
                period_seconds: 60,
            }],
            tolerance: None,
        };
        // (scale up?, percent, current, expected limit)
        let cases = [
            (true, 10, 100, 111), // 100 * 1.1 = 110.00000000000001
            (false, 90, 10, 0),   // 10 * (1 - 0.9) = 0.9999999999999998
            (false, 30, 90, 62),  // 90 * 0.7 = 62.99999999999999
            (false, 10, 80, 72),
            (false, 10, 57, 51),
            (true, 100, 7, 14),
        ];
        for (up, v, cur, expect) in cases {
            let r = rules(ScalingPolicyType::Percent, v);
            let (lim, _) = if up {
                c.scale_up_limit(&r, cur, 0.0)
            } else {
                c.scale_down_limit(&r, cur, 0.0)
            };
            assert_eq!(lim, expect, "up={up} {v}% of {cur}");
        }
        // End to end: Percent 10 up from 100 writes 111.
        let s = want_spec(1, 1000, "  behavior:\n    scaleUp:\n      policies: [{type: Percent, value: 10, periodSeconds: 60}]\n");
        assert_eq!(Run::new(&s, 100).at(0.0, 200).desired, 111);
        // Percent 90 down from 10 allows 0, so minReplicas decides.
        for (min, expect) in [(1, 1), (3, 3)] {
            let s = want_spec(min, 100, "  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 0\n      policies: [{type: Percent, value: 90, periodSeconds: 60}]\n");
            let d = Run::new(&s, 10).at(0.0, 0);
            assert_eq!(d.desired, expect);
            assert_eq!(d.limited_by.as_deref(), Some("minReplicas"));
        }
        // Percent 30 down from 90 writes 62.
        let s = want_spec(1, 100, "  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 0\n      policies: [{type: Percent, value: 30, periodSeconds: 60}]\n");
        assert_eq!(Run::new(&s, 90).at(0.0, 1).desired, 62);
    }

    #[test]
    fn default_scale_up_limit_is_max_of_4_pods_and_100_percent_per_15s() {
        let s = want_spec(1, 100, "  behavior: {}\n");
        let mut r = Run::new(&s, 2);
        let d = r.at(0.0, 100);
        assert_eq!(
            (d.desired, d.limited_by.as_deref()),
            (6, Some("scaleUp policy Pods 4/15s"))
        );
        // Same period: start is still 2.
        assert_eq!(r.at(5.0, 100).desired, 6);
        assert_eq!(r.at(14.0, 100).desired, 6);
        // The t=0 event is exactly 15 s old at t=15: expired.
        let d = r.at(15.0, 100);
        assert_eq!(
            (d.desired, d.limited_by.as_deref()),
            (12, Some("scaleUp policy Percent 100/15s"))
        );
        let rest: Vec<u32> = [30.0, 45.0, 60.0, 75.0]
            .iter()
            .map(|&t| r.at(t, 100).desired)
            .collect();
        assert_eq!(rest, vec![24, 48, 96, 100]);
        // At the target the metric is inside the (zero-width) tolerance band.
        assert_eq!(r.at(90.0, 100).limited_by.as_deref(), Some("tolerance"));
    }

    #[test]
    fn scale_down_stabilization_keeps_max_of_last_300s() {
        let s = want_spec(1, 100, "  behavior: {}\n");
        let mut r = Run::new(&s, 10);
        let want = |t: f64| match t as u32 {
            0 => 10,
            15 => 7,
            30 => 9,
            _ => 3,
        };
        for (t, desired) in r.every_15s(345.0, want) {
            let expect = match t as u32 {
                0..=285 => 10,  // initial recommendation and the t=0 one
                300 | 315 => 9, // the t=30 recommendation
                _ => 3,
            };
            assert_eq!(desired, expect, "t={t}");
        }
        let mut r = Run::new(&s, 10);
        r.every_15s(285.0, want);
        assert_eq!(
            r.at(300.0, 3).limited_by.as_deref(),
            Some("scaleDown stabilization window")
        );
    }

    #[test]
    fn scale_up_stabilization_takes_min_of_window() {
        let s = want_spec(
            1,
            100,
            "  behavior:\n    scaleUp: {stabilizationWindowSeconds: 60}\n",
        );
        let mut r = Run::new(&s, 5);
        // A 30 s burst asking for 20 never reaches the writer.
        let got = r.every_15s(120.0, |t| if t < 30.0 { 20 } else { 5 });
        assert!(got.iter().all(|&(_, d)| d == 5), "{got:?}");
        // Sustained demand: scale up once the window holds only high values.
        let mut r = Run::new(&s, 5);
        let got = r.every_15s(75.0, |_| 8);
        let d: Vec<u32> = got.iter().map(|&(_, d)| d).collect();
        // Initial recommendation 5 stays in the window until t=60.
        assert_eq!(d, vec![5, 5, 5, 5, 8, 8]);
    }

    #[test]
    fn legacy_path_spike_climbs_and_holds() {
        let s = want_spec(1, 100, "");
        let mut r = Run::new(&s, 4);
        let got = r.every_15s(330.0, |t| if t < 30.0 { 40 } else { 2 });
        for (t, desired) in got {
            let expect = match t as u32 {
                0 => 8,
                15 => 16,
                30 => 32,
                45..=300 => 40, // spike recommendation from t=15 is < 300 s old
                _ => 2,
            };
            assert_eq!(desired, expect, "t={t}");
        }
        let mut r = Run::new(&s, 4);
        assert_eq!(r.at(0.0, 40).limited_by.as_deref(), Some("legacy 2x/4 cap"));
        // Below 2 replicas the cap is 4.
        let mut r = Run::new(&s, 1);
        assert_eq!(r.at(0.0, 40).desired, 4);
        // The cap never exceeds maxReplicas.
        let s = want_spec(1, 6, "");
        let d = Run::new(&s, 4).at(0.0, 40);
        assert_eq!(
            (d.desired, d.limited_by.as_deref()),
            (6, Some("maxReplicas"))
        );
    }

    #[test]
    fn no_scale_down_in_first_300s_after_first_sync() {
        let legacy = want_spec(1, 100, "");
        let got = Run::new(&legacy, 10).every_15s(300.0, |_| 2);
        assert!(got[..20].iter().all(|&(_, d)| d == 10));
        assert_eq!(got[20], (300.0, 2));
        // Same with behavior and the default (flag) scale-down window.
        let b = want_spec(1, 100, "  behavior: {}\n");
        let got = Run::new(&b, 10).every_15s(300.0, |_| 2);
        assert_eq!(got[19], (285.0, 10));
        assert_eq!(got[20], (300.0, 2));
        // With an explicit 0 s window the initial recommendation is already outside it.
        let zero = want_spec(
            1,
            100,
            "  behavior:\n    scaleDown: {stabilizationWindowSeconds: 0}\n",
        );
        assert_eq!(Run::new(&zero, 10).at(0.0, 2).desired, 2);
        // The initial recommendation is taken at the first sync, as upstream.
        let mut r = Run::new(&legacy, 10);
        assert_eq!(r.at(15.0, 2).desired, 10);
        assert_eq!(r.at(300.0, 2).desired, 10);
        assert_eq!(r.at(315.0, 2).desired, 2);
        // A controller restart loses the history and blocks scale-down again.
        r.c.reset_history();
        r.cur = 8;
        assert_eq!(r.at(1000.0, 2).desired, 8);
        assert_eq!(r.at(1300.0, 2).desired, 2);
    }

    #[test]
    fn unready_pods_count_as_zero_on_cpu_scale_up() {
        // 2 ready pods at 80 % of 1 core, target 50, plus one pod that never became ready
        // (transition 10 s after start < 30 s delay). Ready-only ratio 1.6; with the unready
        // pod at 0: 1600*100/3000 = 53 % -> 1.06, within tolerance -> hold 3.
        let mut never_ready = pod(1.0, Some(1.0));
        never_ready.ready = false;
        never_ready.ready_transition_s = 10.0;
        let pods = vec![
            pod(1.0, Some(0.8)),
            pod(1.0, Some(0.8)),
            never_ready.clone(),
        ];
        assert_eq!(propose(&cpu_spec(50, ""), &pods, 3), Some(3));
        // Was ready once (transition 100 s after start): after the init period it counts,
        // with its metric: 2600*100/3000 = 86 % -> 1.72 -> ceil(5.16).
        let mut was_ready = never_ready.clone();
        was_ready.ready_transition_s = 100.0;
        let pods = vec![pod(1.0, Some(0.8)), pod(1.0, Some(0.8)), was_ready];
        assert_eq!(propose(&cpu_spec(50, ""), &pods, 3), Some(6));
        // Pending pods are unready too: 2 ready at 100 % + 2 pending, target 50:
        // 2000*100/4000 = 50 % -> 1.0 -> hold 4 (not ceil(2.0*2)=4 via a different route:
        // check with 3 pending, 2000*100/5000 = 40 % -> 0.8 flips direction -> hold 5).
        let mut pending = pod(1.0, None);
        pending.phase_pending = true;
        let pods = vec![
            pod(1.0, Some(1.0)),
            pod(1.0, Some(1.0)),
            pending.clone(),
            pending.clone(),
            pending,
        ];
        let d = propose_with(&cpu_spec(50, ""), ControllerOptions::default(), &pods, 5);
        assert_eq!(d.proposals[0].1, Some(5));
        assert_eq!(
            d.limited_by.as_deref(),
            Some("unready/missing pods direction guard")
        );
    }

    #[test]
    fn cpu_init_period_uses_metric_window_vs_ready_transition() {
        let now = NOW;
        // Pod started 100 s ago (inside the 300 s init period), Ready since 20 s ago.
        let young = |metric_ts: f64| PodSample {
            ready: true,
            start_time_s: now - 100.0,
            ready_transition_s: now - 20.0,
            cpu_request: Some(1.0),
            cpu: Some(CpuSample {
                value: 1.0,
                timestamp_s: metric_ts,
                window_s: 30.0,
            }),
            ..Default::default()
        };
        let s = cpu_spec(50, "");
        // ts < transition + window (now-5 < now+10): sample includes pre-ready time ->
        // unready; ready pod alone 100 % (ratio 2.0), rebalanced 1000*100/2000 = 50 % -> hold 2.
        let pods = vec![pod(1.0, Some(1.0)), young(now - 5.0)];
        assert_eq!(propose(&s, &pods, 2), Some(2));
        // ts == transition + window: counts as ready -> 200 %/50 % -> ceil(2.0*2) = 4.
        let pods = vec![pod(1.0, Some(1.0)), young(now + 10.0)];
        assert_eq!(propose(&s, &pods, 2), Some(4));
        // Inside the init period any Ready=False pod is unready, even if it was ready before.
        let mut flapped = young(now + 10.0);
        flapped.ready = false;
        let pods = vec![pod(1.0, Some(1.0)), flapped];
        assert_eq!(propose(&s, &pods, 2), Some(2));
    }

    #[test]
    fn memory_ignores_readiness() {
        let mem = spec("  maxReplicas: 100\n  metrics:\n  - type: Resource\n    resource: {name: memory, target: {type: Utilization, averageUtilization: 50}}\n");
        let mut unready = pod(1.0, Some(1.0));
        unready.ready = false;
        unready.ready_transition_s = 1.0;
        unready.memory = Some(GI);
        let mut full = pod(1.0, Some(1.0));
        full.memory = Some(GI);
        // Both count: 100 % of request / 50 % -> ceil(2.0*2) = 4.
        assert_eq!(propose(&mem, &[full.clone(), unready.clone()], 2), Some(4));
        // The same pods under a CPU metric: the unready one is zeroed -> hold 2.
        assert_eq!(
            propose(&cpu_spec(50, ""), &[full.clone(), unready], 2),
            Some(2)
        );
        // Pending is unready for every resource: 2048 Mi*100/(2 Gi) = 50 % -> 1.0 -> hold 2.
        let mut pending = full.clone();
        pending.phase_pending = true;
        assert_eq!(propose(&mem, &[full, pending], 2), Some(2));
    }

    #[test]
    fn missing_metrics_on_scale_down_and_scale_up() {
        let p = |u: f64| pod(1.0, Some(u));
        let missing = pod(1.0, None);
        // (target, pods, current, expected)
        let cases: Vec<(u32, Vec<PodSample>, u32, u32)> = vec![
            // Down: missing at 100 % of request: (300+1000)*100/4000 = 32 % -> 0.64 -> ceil(2.56).
            (50, vec![p(0.1), p(0.1), p(0.1), missing.clone()], 4, 3),
            // Down, target 150: missing at 150 %: 1800*100/4000 = 45 % -> 0.3 -> ceil(1.2).
            (150, vec![p(0.1), p(0.1), p(0.1), missing.clone()], 4, 2),
            // Down, but the count would rise above current (more pods than spec): hold.
            (50, vec![p(0.1), p(0.1), p(0.1), missing.clone()], 2, 2),
            // Up: missing at 0: 3000*100/5000 = 60 % / 60 -> 1.0 within -> hold 5
            // (ignoring them would give ceil(1.6667*3) = 6).
            (
                60,
                vec![p(1.0), p(1.0), p(1.0), missing.clone(), missing.clone()],
                5,
                5,
            ),
            // Up: 1200*100/3000 = 40 % -> 0.8, direction flips -> hold 3.
            (50, vec![p(0.6), p(0.6), missing.clone()], 3, 3),
            // Up: 3 at 100 %, 1 missing, target 40: 75 % / 40 -> 1.875 -> ceil(7.5) = 8.
            (40, vec![p(1.0), p(1.0), p(1.0), missing.clone()], 4, 8),
        ];
        for (i, (target, pods, cur, expect)) in cases.into_iter().enumerate() {
            assert_eq!(
                propose(&cpu_spec(target, ""), &pods, cur),
                Some(expect),
                "case {i}"
            );
        }
        // Pods metric: missing pods count as exactly the target on scale-down.
        let pods_spec = spec("  maxReplicas: 100\n  metrics:\n  - type: Pods\n    pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: \"100\"}}\n");
        let rps = |v: Option<f64>| PodSample {
            pod_metrics: vec![v],
            ..pod(1.0, None)
        };
        // (20+20+20+100)/4 = 40 -> 0.4 -> ceil(1.6) = 2 (not ceil(0.2*3) = 1).
        let pods = vec![rps(Some(20.0)), rps(Some(20.0)), rps(Some(20.0)), rps(None)];
        assert_eq!(propose(&pods_spec, &pods, 4), Some(2));
        // Scale-up: missing at 0: (300*3+0)/4 = 225 -> ceil(2.25*4) = 9.
        let pods = vec![
            rps(Some(300.0)),
            rps(Some(300.0)),
            rps(Some(300.0)),
            rps(None),
        ];
        assert_eq!(propose(&pods_spec, &pods, 4), Some(9));
    }

    /// The custom-metric cases of kubernetes
    /// `pkg/controller/podautoscaler/replica_calculator_test.go` (v1.33+), named after their
    /// tests: Pods (`podMetric`), Object and External with Value (`objectMetric`,
    /// `externalMetric`) and AverageValue (`objectPerPodMetric`, `externalPerPodMetric`) targets.
    /// Upstream passes currentReplicas as status.replicas; pods are Running and Ready unless
    /// `ready` says otherwise. Levels and targets are milli-values there (20000 = "20").
    #[test]
    fn upstream_custom_metric_table() {
        let src = |kind: &str, target: &str| {
            match kind {
            "pods" => format!("type: Pods\n    pods: {{metric: {{name: qps}}, target: {{type: AverageValue, averageValue: \"{target}\"}}}}"),
            "object" => format!("type: Object\n    object: {{describedObject: {{kind: Deployment, name: d}}, metric: {{name: qps}}, target: {{type: Value, value: \"{target}\"}}}}"),
            "object_avg" => format!("type: Object\n    object: {{describedObject: {{kind: Deployment, name: d}}, metric: {{name: qps}}, target: {{type: AverageValue, averageValue: \"{target}\"}}}}"),
            "external" => format!("type: External\n    external: {{metric: {{name: qps}}, target: {{type: Value, value: \"{target}\"}}}}"),
            _ => format!("type: External\n    external: {{metric: {{name: qps}}, target: {{type: AverageValue, averageValue: \"{target}\"}}}}"),
        }
        };
        // (test, kind, target, levels (per pod, or the one value), ready flags, current, expected)
        type Case = (
            &'static str,
            &'static str,
            &'static str,
            Vec<f64>,
            Vec<bool>,
            u32,
            u32,
        );
        let cases: Vec<Case> = vec![
            (
                "TestReplicaCalcScaleUpCM",
                "pods",
                "15",
                vec![20.0, 10.0, 30.0],
                vec![],
                3,
                4,
            ),
            (
                "TestReplicaCalcScaleUpCMObject",
                "object",
                "15",
                vec![20.0],
                vec![],
                3,
                4,
            ),
            (
                "TestReplicaCalcScaleUpCMPerPodObject",
                "object_avg",
                "5",
                vec![20.0],
                vec![],
                3,
                4,
            ),
            (
                "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods",
                "object",
                "10",
                vec![50.0],
                vec![false, true, false],
                3,
                5,
            ),
            (
                "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods",
                "external",
                "4400m",
                vec![8.6],
                vec![false, true, false],
                3,
                2,
            ),
            (
                "TestReplicaCalcScaleUpPerPodCMExternal",
                "external_avg",
                "2150m",
                vec![8.6],
                vec![],
                3,
                4,
            ),
            (
                "TestReplicaCalcScaleDownCM",
                "pods",
                "20",
                vec![12.0; 5],
                vec![],
                5,
                3,
            ),
            (
                "TestReplicaCalcScaleDownPerPodCMObject",
                "object_avg",
                "2",
                vec![6.0],
                vec![],
                5,
                3,
            ),
            (
                "TestReplicaCalcScaleDownCMObject",
                "object",
                "20",
                vec![12.0],
                vec![],
                5,
                3,
            ),
            (
                "TestReplicaCalcScaleDownCMExternal",
                "external",
                "14334m",
                vec![8.6],
                vec![],
                5,
                3,
            ),
            (
                "TestReplicaCalcScaleDownPerPodCMExternal",
                "external_avg",
                "2867m",
                vec![8.6],
                vec![],
                5,
                3,
            ),
            (
                "TestReplicaCalcToleranceCM",
                "pods",
                "20",
                vec![20.0, 21.0, 21.0],
                vec![],
                3,
                3,
            ),
            (
                "TestReplicaCalcToleranceCMObject",
                "object",
                "20",
                vec![20.666],
                vec![],
                3,
                3,
            ),
            (
                "TestReplicaCalcTolerancePerPodCMObject",
                "object_avg",
                "5",
                vec![20.166],
                vec![],
                4,
                4,
            ),
            (
                "TestReplicaCalcToleranceCMExternal",
                "external",
                "8888m",
                vec![8.6],
                vec![],
                3,
                3,
            ),
            (
                "TestReplicaCalcTolerancePerPodCMExternal",
                "external_avg",
                "2900m",
                vec![8.6],
                vec![],
                3,
                3,
            ),
        ];
        for (name, kind, target, levels, ready, cur, want) in cases {
            let sp = spec(&format!(
                "  maxReplicas: 100\n  metrics:\n  - {}\n",
                src(kind, target)
            ));
            let per_pod = kind == "pods";
            let pods: Vec<PodSample> = (0..cur as usize)
                .map(|i| PodSample {
                    ready: ready.get(i).copied().unwrap_or(true),
                    pod_metrics: if per_pod {
                        vec![levels.get(i).copied()]
                    } else {
                        vec![]
                    },
                    ..pod(1.0, None)
                })
                .collect();
            let vals = if per_pod {
                vec![]
            } else {
                vec![Some(levels[0])]
            };
            let mut c = HpaController::new(&sp, NOW, ControllerOptions::default());
            let d = c.reconcile(&HpaInput {
                now_s: NOW,
                spec_replicas: cur,
                status_replicas: cur,
                pods: &pods,
                metric_values: &vals,
            });
            assert_eq!(d.proposals[0].1, Some(want), "{name}");
        }
        // TestReplicaCalcConfigurableToleranceCM: scale-up tolerance 1 % (down 10 %): 20.666/20
        // is outside it -> ceil(1.0333 * 3) = 4.
        let sp = spec(&format!(
            "  maxReplicas: 100\n  metrics:\n  - {}\n  behavior: {{scaleUp: {{tolerance: \"0.01\"}}}}\n",
            src("pods", "20")
        ));
        let pods: Vec<PodSample> = [20.0, 21.0, 21.0]
            .iter()
            .map(|&v| PodSample {
                pod_metrics: vec![Some(v)],
                ..pod(1.0, None)
            })
            .collect();
        let mut c = HpaController::new(&sp, NOW, ControllerOptions::default());
        let d = c.reconcile(&HpaInput {
            now_s: NOW,
            spec_replicas: 3,
            status_replicas: 3,
            pods: &pods,
            metric_values: &[],
        });
        assert_eq!(
            d.proposals[0].1,
            Some(4),
            "TestReplicaCalcConfigurableToleranceCM"
        );
    }

    /// Issue 11 item 5. `calcPlainMetricReplicas` in kubernetes
    /// `pkg/controller/podautoscaler/replica_calculator.go` (v1.33+) fills missing pods only
    /// when the usage ratio is below 1 (with the target) or above 1 (with 0): `else if
    /// usageRatio > 1.0`. Four pods exactly at the target and one without metrics hold at 5;
    /// filling the missing pod with 0 would give 0.8 and scale 5 -> 4.
    #[test]
    fn pods_metric_exactly_at_target_with_a_missing_pod_holds() {
        let pods_spec = spec("  maxReplicas: 100\n  metrics:\n  - type: Pods\n    pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: \"100\"}}\n");
        let rps = |v: Option<f64>| PodSample {
            pod_metrics: vec![v],
            ..pod(1.0, None)
        };
        let mut pods = vec![rps(Some(100.0)); 4];
        pods.push(rps(None));
        assert_eq!(propose(&pods_spec, &pods, 5), Some(5));
        // Any tolerance: the recomputed ratio is exactly 1.
        assert_eq!(
            propose_with(&pods_spec, exact(), &pods, 5).proposals[0].1,
            Some(5)
        );
        // Off the target the missing pod is filled again: ratio (180+300)/4 = 120 -> 1.2 > 1, so
        // it counts as 0: 480/5 = 96 -> 0.96, within 10 %: hold.
        pods[0] = rps(Some(180.0));
        assert_eq!(propose(&pods_spec, &pods, 5), Some(5));
        // Without tolerance the fill flips the direction (1.2 -> 0.96): the guard holds at 5.
        assert_eq!(
            propose_with(&pods_spec, exact(), &pods, 5).proposals[0].1,
            Some(5)
        );
        // A whole controller run at the exact target never scales down, sync after sync.
        let mut c = HpaController::new(&pods_spec, 0.0, ControllerOptions::default());
        pods[0] = rps(Some(100.0));
        for k in 0..40 {
            let d = c.reconcile(&HpaInput {
                now_s: NOW + 15.0 * f64::from(k),
                spec_replicas: 5,
                status_replicas: 5,
                pods: &pods,
                metric_values: &[],
            });
            assert_eq!(d.desired, 5, "sync {k}: {d:?}");
        }
    }

    #[test]
    fn pods_average_value_uses_integer_milli_units() {
        let s = spec("  maxReplicas: 100\n  metrics:\n  - type: Pods\n    pods: {metric: {name: q}, target: {type: AverageValue, averageValue: 500m}}\n");
        let pm = |v: f64| PodSample {
            pod_metrics: vec![Some(v)],
            ..pod(1.0, None)
        };
        // 550m / 500m = 1.1 exactly in milli-units: within.
        assert_eq!(propose(&s, &[pm(0.55), pm(0.55)], 2), Some(2));
        // The average truncates: (550+551)/2 = 550 -> 1.1 -> hold (550.5 would scale);
        // (551+552)/2 = 551 -> 1.102 -> ceil(2.204) = 3.
        assert_eq!(propose(&s, &[pm(0.55), pm(0.551)], 2), Some(2));
        assert_eq!(propose(&s, &[pm(0.551), pm(0.552)], 2), Some(3));
        assert_eq!(propose(&s, &[pm(0.56), pm(0.561)], 2), Some(3));
        // Pods metrics ignore readiness (not CPU): unready pod still counts.
        let mut unready = pm(1.0);
        unready.ready = false;
        unready.ready_transition_s = 1.0;
        assert_eq!(propose(&s, &[pm(1.0), unready], 2), Some(4));
    }

    #[test]
    fn object_and_external_targets() {
        let ext_value = spec("  maxReplicas: 100\n  metrics:\n  - type: External\n    external: {metric: {name: q}, target: {type: Value, value: \"100\"}}\n");
        let run = |s: &HpaSpec, value: f64, pods: &[PodSample], spec_r: u32, status_r: u32| {
            let mut c = HpaController::new(s, 0.0, ControllerOptions::default());
            c.reconcile(&HpaInput {
                now_s: NOW,
                spec_replicas: spec_r,
                status_replicas: status_r,
                pods,
                metric_values: &[Some(value)],
            })
            .proposals[0]
                .1
        };
        let ready = pod(1.0, Some(0.1));
        let mut unready = ready.clone();
        unready.ready = false;
        // Value: ceil(ratio * Running&Ready pods).
        assert_eq!(
            run(&ext_value, 250.0, &vec![ready.clone(); 4], 4, 4),
            Some(10)
        );
        assert_eq!(
            run(
                &ext_value,
                250.0,
                &[
                    ready.clone(),
                    ready.clone(),
                    unready.clone(),
                    unready.clone()
                ],
                4,
                4
            ),
            Some(5)
        );
        // All pods unready: 0 ready -> proposal 0 (kubernetes#130130).
        assert_eq!(
            run(&ext_value, 250.0, &vec![unready.clone(); 4], 4, 4),
            Some(0)
        );
        // Within tolerance -> current.
        assert_eq!(
            run(&ext_value, 109.0, &vec![ready.clone(); 4], 4, 4),
            Some(4)
        );
        // AverageValue: tolerance vs status.replicas, result ceil(total/target).
        let ext_avg = spec("  maxReplicas: 100\n  metrics:\n  - type: External\n    external: {metric: {name: q}, target: {type: AverageValue, averageValue: \"30\"}}\n");
        assert_eq!(run(&ext_avg, 250.0, &[], 5, 5), Some(9));
        // 155/(30*5) = 1.033: within -> status.replicas (5), not spec.replicas (4).
        assert_eq!(run(&ext_avg, 155.0, &[], 4, 5), Some(5));
        // Object Value and AverageValue behave the same way.
        let obj = spec("  maxReplicas: 100\n  metrics:\n  - type: Object\n    object: {metric: {name: rps}, describedObject: {kind: Ingress, name: main}, target: {type: Value, value: 10k}}\n  - type: Object\n    object: {metric: {name: rps}, describedObject: {kind: Ingress, name: main}, target: {type: AverageValue, averageValue: 1k}}\n");
        let mut c = HpaController::new(&obj, 0.0, ControllerOptions::default());
        let d = c.reconcile(&HpaInput {
            now_s: NOW,
            spec_replicas: 3,
            status_replicas: 3,
            pods: &vec![ready.clone(); 3],
            metric_values: &[Some(25_000.0), Some(25_000.0)],
        });
        assert_eq!(
            d.proposals,
            vec![
                ("object/rps".into(), Some(8)),
                ("object/rps".into(), Some(25))
            ]
        );
        assert_eq!(d.metric_recommendation, Some(25));
        // Scale from zero (minReplicas 0 with an External metric): ceil(ratio).
        let zero = spec("  minReplicas: 0\n  maxReplicas: 100\n  metrics:\n  - type: External\n    external: {metric: {name: q}, target: {type: Value, value: \"100\"}}\n");
        assert_eq!(run(&zero, 250.0, &[], 0, 0), Some(3));
    }

    #[test]
    fn max_over_metrics_and_failed_metrics() {
        let two = spec("  maxReplicas: 100\n  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}\n  - type: External\n    external: {metric: {name: q}, target: {type: AverageValue, averageValue: \"10\"}}\n");
        let go = |ext: Option<f64>, cpu_use: f64, cur: u32, now: f64, c: &mut HpaController| {
            c.reconcile(&HpaInput {
                now_s: now,
                spec_replicas: cur,
                status_replicas: cur,
                pods: &vec![pod(1.0, Some(cpu_use)); cur as usize],
                metric_values: &[None, ext],
            })
        };
        // Max wins: CPU asks ceil(1.6*4)=7, external asks 12.
        let mut c = HpaController::new(&two, 0.0, ControllerOptions::default());
        let d = go(Some(120.0), 0.8, 4, 0.0, &mut c);
        assert_eq!(
            d.proposals,
            vec![
                ("resource/cpu".into(), Some(7)),
                ("external/q".into(), Some(12))
            ]
        );
        assert_eq!(
            (d.desired, d.driving_metric.as_deref()),
            (8, Some("external/q"))
        );
        // One failed, the other scales up: scale.
        let mut c = HpaController::new(&two, 0.0, ControllerOptions::default());
        let d = go(None, 0.8, 4, 0.0, &mut c);
        assert_eq!((d.desired, d.proposals[1].1), (7, None));
        // One failed, the other would scale down: no change, and no recommendation stored.
        let mut c = HpaController::new(&two, 0.0, ControllerOptions::default());
        let d = go(None, 0.1, 4, 1000.0, &mut c);
        assert_eq!(d.desired, 4);
        assert!(d.limited_by.unwrap().starts_with("metrics unavailable"));
        assert_eq!(c.history_len().0, 1, "only the initial recommendation");
        // All failed: no change. Pods without CPU requests also fail the CPU metric.
        let mut c = HpaController::new(&two, 0.0, ControllerOptions::default());
        let mut no_req = pod(1.0, Some(1.0));
        no_req.cpu_request = None;
        let d = c.reconcile(&HpaInput {
            now_s: 0.0,
            spec_replicas: 3,
            status_replicas: 3,
            pods: &[no_req.clone(), no_req.clone(), no_req],
            metric_values: &[],
        });
        assert_eq!((d.desired, d.scaled), (3, false));
        assert_eq!(
            d.proposals,
            vec![("resource/cpu".into(), None), ("external/q".into(), None)]
        );
    }

    #[test]
    fn select_policy_min_and_disabled() {
        let up_min = want_spec(1, 100, "  behavior:\n    scaleUp:\n      selectPolicy: Min\n      policies: [{type: Pods, value: 4, periodSeconds: 60}, {type: Percent, value: 100, periodSeconds: 60}]\n");
        let d = Run::new(&up_min, 10).at(0.0, 50);
        assert_eq!(
            (d.desired, d.limited_by.as_deref()),
            (14, Some("scaleUp policy Pods 4/60s"))
        );
        let down_min = want_spec(1, 100, "  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 0\n      selectPolicy: Min\n      policies: [{type: Pods, value: 2, periodSeconds: 60}, {type: Percent, value: 50, periodSeconds: 60}]\n");
        assert_eq!(Run::new(&down_min, 10).at(0.0, 1).desired, 8);
        let down_max = down_min.clone();
        let mut down_max = down_max;
        down_max
            .behavior
            .as_mut()
            .unwrap()
            .scale_down
            .as_mut()
            .unwrap()
            .select_policy = Some(SelectPolicy::Max);
        assert_eq!(Run::new(&down_max, 10).at(0.0, 1).desired, 5);
        let down_off = want_spec(1, 100, "  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 0\n      selectPolicy: Disabled\n");
        let mut r = Run::new(&down_off, 10);
        let d = r.at(0.0, 1);
        assert_eq!(
            (d.desired, d.limited_by.as_deref()),
            (10, Some("scaleDown selectPolicy Disabled"))
        );
        // Scale-up still follows the default policies.
        assert_eq!(r.at(15.0, 15).desired, 15);
        let up_off = want_spec(
            1,
            100,
            "  behavior:\n    scaleUp: {selectPolicy: Disabled}\n",
        );
        let d = Run::new(&up_off, 10).at(0.0, 50);
        assert_eq!(
            (d.desired, d.limited_by.as_deref()),
            (10, Some("scaleUp selectPolicy Disabled"))
        );
    }

    #[test]
    fn opposite_direction_events_move_the_period_start() {
        // PR #109058: start = current - ups in period + downs in period.
        let s = want_spec(1, 100, "  behavior:\n    scaleUp:\n      policies: [{type: Pods, value: 4, periodSeconds: 60}]\n    scaleDown:\n      stabilizationWindowSeconds: 0\n      policies: [{type: Pods, value: 2, periodSeconds: 60}]\n");
        let mut r = Run::new(&s, 10);
        assert_eq!(r.at(0.0, 20).desired, 14);
        // Down: start = 14 - 4 + 0 = 10 -> floor 8 (12 without counting the scale-up).
        let d = r.at(15.0, 1);
        assert_eq!(
            (d.desired, d.limited_by.as_deref()),
            (8, Some("scaleDown policy Pods 2/60s"))
        );
        // Up again: start = 8 - 4 + 6 = 10 -> ceiling 14.
        assert_eq!(r.at(30.0, 50).desired, 14);
    }

    #[test]
    fn out_of_range_current_is_clamped_at_once_and_recorded() {
        let s = want_spec(2, 20, "  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 0\n      policies: [{type: Pods, value: 2, periodSeconds: 60}]\n");
        let mut r = Run::new(&s, 30);
        let d = r.at(0.0, 1);
        assert_eq!(
            (d.desired, d.limited_by.as_deref(), d.metric_recommendation),
            (20, Some("maxReplicas"), None)
        );
        // The clamp was a 10-replica scale-down event: start = 20 + 10 = 30 -> floor 28,
        // above current, so no further scale-down until it is 60 s old.
        assert_eq!(r.at(15.0, 1).desired, 20);
        assert_eq!(r.at(45.0, 1).desired, 20);
        assert_eq!(r.at(60.0, 1).desired, 18);
        // Below min: straight to min, even with scale-up disabled.
        let up_off = want_spec(
            5,
            20,
            "  behavior:\n    scaleUp: {selectPolicy: Disabled}\n",
        );
        let d = Run::new(&up_off, 1).at(0.0, 1);
        assert_eq!(
            (d.desired, d.limited_by.as_deref()),
            (5, Some("minReplicas"))
        );
        // Zero replicas with minReplicas > 0: autoscaling is disabled.
        let d = Run::new(&up_off, 0).at(0.0, 50);
        assert_eq!((d.desired, d.scaled), (0, false));
        // Legacy path: no events are stored at all.
        let mut r = Run::new(&want_spec(2, 20, ""), 30);
        assert_eq!(r.at(0.0, 1).desired, 20);
        assert_eq!(r.c.history_len(), (1, 0, 0));
    }

    #[test]
    fn history_stays_bounded() {
        let s = want_spec(1, 500, "  behavior:\n    scaleUp:\n      stabilizationWindowSeconds: 120\n      policies: [{type: Percent, value: 50, periodSeconds: 60}, {type: Pods, value: 3, periodSeconds: 600}]\n    scaleDown:\n      policies: [{type: Pods, value: 5, periodSeconds: 120}]\n");
        let mut r = Run::new(&s, 10);
        let mut max_len = (0, 0, 0);
        for i in 0..20_000u32 {
            let want = if (i / 40) % 2 == 0 { 400 } else { 2 };
            r.at(f64::from(i) * 15.0, want);
            let l = r.c.history_len();
            max_len = (max_len.0.max(l.0), max_len.1.max(l.1), max_len.2.max(l.2));
        }
        // 300 s window / 15 s = 20 recommendations (+1 for the one just stored);
        // events: one per sync within the longest period (600 s up, 120 s down) plus a spare slot.
        assert!(max_len.0 <= 21, "{max_len:?}");
        assert!(max_len.1 <= 41 && max_len.2 <= 41, "{max_len:?}");
    }

    use crate::autoscale::test_lcg::Lcg;

    #[test]
    fn property_desired_within_bounds_after_first_clamp() {
        let mut rng = Lcg(42);
        let mut checked = 0;
        while checked < 10_000 {
            let min = 1 + rng.below(5) as u32;
            let max = min + rng.below(30) as u32;
            let behavior = match rng.below(3) {
                0 => String::new(),
                1 => "  behavior: {}\n".to_string(),
                _ => {
                    let sel = ["Max", "Min", "Disabled"];
                    let ty = ["Pods", "Percent"];
                    format!(
                        "  behavior:\n    scaleUp:\n      stabilizationWindowSeconds: {}\n      selectPolicy: {}\n      policies: [{{type: {}, value: {}, periodSeconds: {}}}]\n    scaleDown:\n      stabilizationWindowSeconds: {}\n      selectPolicy: {}\n      policies: [{{type: {}, value: {}, periodSeconds: {}}}, {{type: Pods, value: 1, periodSeconds: 30}}]\n",
                        rng.below(120),
                        sel[rng.below(3) as usize],
                        ty[rng.below(2) as usize],
                        1 + rng.below(150),
                        1 + rng.below(120),
                        rng.below(400),
                        sel[rng.below(3) as usize],
                        ty[rng.below(2) as usize],
                        1 + rng.below(150),
                        1 + rng.below(120),
                    )
                }
            };
            let s = spec(&format!(
                "  minReplicas: {min}\n  maxReplicas: {max}\n  metrics:\n  - type: Resource\n    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {}}}}}\n  - type: External\n    external: {{metric: {{name: q}}, target: {{type: Value, value: \"{}\"}}}}\n{behavior}",
                10 + rng.below(150),
                1 + rng.below(50)
            ));
            let opts = ControllerOptions::default();
            let mut c = HpaController::new(&s, 0.0, opts);
            let mut twin = HpaController::new(&s, 0.0, opts);
            let mut cur = 1 + rng.below(60) as u32;
            let mut t = 0.0;
            for step in 0..10 {
                let n = rng.below(40) as usize;
                let pods: Vec<PodSample> = (0..n)
                    .map(|_| PodSample {
                        phase_pending: rng.below(10) == 0,
                        failed: rng.below(30) == 0,
                        deleting: rng.below(30) == 0,
                        ready: rng.below(5) != 0,
                        start_time_s: t - rng.f() * 600.0,
                        ready_transition_s: t - rng.f() * 300.0,
                        cpu_request: (rng.below(50) != 0).then(|| 0.1 + rng.f()),
                        cpu: (rng.below(8) != 0).then(|| CpuSample {
                            value: rng.f() * 3.0,
                            timestamp_s: t - rng.f() * 30.0,
                            window_s: 15.0,
                        }),
                        ..Default::default()
                    })
                    .collect();
                let ext = (rng.below(6) != 0).then(|| rng.f() * 5000.0);
                let input = HpaInput {
                    now_s: t,
                    spec_replicas: cur,
                    status_replicas: cur,
                    pods: &pods,
                    metric_values: &[None, ext],
                };
                let d = c.reconcile(&input);
                assert_eq!(d, twin.reconcile(&input), "deterministic");
                if step == 0 && cur > max {
                    assert_eq!(d.desired, max);
                } else if step == 0 && cur < min {
                    assert_eq!(d.desired, min);
                } else {
                    assert!(
                        (min..=max).contains(&d.desired),
                        "{d:?} not in [{min}, {max}]"
                    );
                }
                cur = d.desired;
                t += 5.0 + rng.below(30) as f64;
                checked += 1;
            }
        }
    }
}
