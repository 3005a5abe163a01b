//! The scenario file (`scenarios/*.yaml`): the model it runs against, user flows, load
//! executors with k6 / Artillery semantics, and targets in k6 threshold syntax.

use super::routes::{Call, Method};
use crate::dist::{Dist, Duration};
use crate::threshold::Thresholds;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Path of the model file, relative to this scenario file.
    pub model: String,
    #[serde(default)]
    pub seed: u64,
    /// Time-series resolution.
    #[serde(default = "one_second")]
    pub sample_interval: Duration,
    /// Client-side timeout per request (k6's default is 60 s).
    #[serde(default = "sixty_seconds")]
    pub request_timeout: Duration,
    /// Optional hard cap on simulated time.
    #[serde(default)]
    pub duration: Option<Duration>,
    /// k6's `rps`: at most this many requests per second across all VUs (one token bucket of
    /// burst 1, k6 `internal/js/runner.go`); requests wait for it before they are sent. 0: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rps: Option<u64>,
    /// k6's `minIterationDuration`: a completed iteration shorter than this is padded, the VU
    /// waiting out the rest before its next iteration (or before it is free again); the pad is
    /// not part of `iteration_duration`, and a hard stop cuts it (k6 `internal/js/runner.go`
    /// RunOnce). Applies to k6 executors, not to Artillery's one-flow VUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_iteration_duration: Option<Duration>,
    pub flows: BTreeMap<String, FlowCfg>,
    pub scenarios: BTreeMap<String, ExecutorCfg>,
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Artillery ensure checks: filtrex expressions over Artillery's metric names, evaluated
    /// once at the end of the run (`crate::ensure`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<crate::ensure::Condition>,
    /// Targets beyond k6 thresholds (surge extension), e.g. a cost ratio against a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<TargetsCfg>,
    /// What-if changes to the model for this scenario: `--set` paths to YAML values, applied
    /// in path order when the scenario is loaded (so they are not `--set` paths themselves).
    #[serde(default, skip_serializing)]
    pub model_overrides: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsCfg {
    #[serde(default)]
    pub cost_ratio: Option<CostRatioCfg>,
}

/// cost(this scenario) / cost(baseline) must stay below `max` ("< 50 % more for 10x" is 1.5).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CostRatioCfg {
    /// The baseline scenario, relative to this scenario file.
    pub baseline: String,
    pub max: f64,
    #[serde(default)]
    pub basis: CostBasis,
}

/// Which cost figure a ratio compares.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CostBasis {
    /// Mean $/hour over the run: independent of how long each scenario runs.
    #[default]
    PerHour,
    PeakPerHour,
    Total,
    PerMillionRequests,
    /// Mean $/hour of capacity only (pods, nodes, databases, caches, the load balancer's hourly
    /// charge), leaving out what is paid per request (RPC calls, gas, LB requests).
    InfrastructurePerHour,
}

fn one_second() -> Duration {
    Duration(crate::engine::SEC)
}
fn sixty_seconds() -> Duration {
    Duration(60 * crate::engine::SEC)
}
fn thirty_seconds() -> Duration {
    Duration(30 * crate::engine::SEC)
}
fn one() -> f64 {
    1.0
}
fn one_u32() -> u32 {
    1
}
fn one_u64() -> u64 {
    1
}
fn ten_minutes() -> Duration {
    Duration(600 * crate::engine::SEC)
}

/// What a flow's `weight` holds, for the reader's messages.
pub const WEIGHT_RANGE: &str = "a positive number (weights are relative: flows of weight 1 and \
                                3 run one and three times in four), the flows' weights adding \
                                up to less than 1.8e308";

/// A flow's weight: a number. The YAML reader's own message for a scalar that is no number
/// (`1e308e308`, or `1e400`, past the largest) was "invalid floating point", with no field and
/// no range. Infinity and NaN (`.inf`, `.nan`) are read, and refused by validation.
fn de_weight<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(WEIGHT_RANGE)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                ".inf" | ".Inf" | ".INF" | "+.inf" => Ok(f64::INFINITY),
                "-.inf" | "-.Inf" | "-.INF" => Ok(f64::NEG_INFINITY),
                ".nan" | ".NaN" | ".NAN" => Ok(f64::NAN),
                _ => {
                    let why = match v.trim().parse::<f64>() {
                        Ok(x) if x.is_infinite() => " (past the largest number, 1.8e308)",
                        _ => " (not a number)",
                    };
                    Err(E::custom(format!(
                        "expected {WEIGHT_RANGE}; got `{v}`{why}"
                    )))
                }
            }
        }
    }
    d.deserialize_any(V)
}

/// A count field (VUs, iterations) read as k6 reads its integers: a whole number; a negative,
/// fractional or too large value is refused naming the field (serde's own message would only
/// say "expected u32").
macro_rules! count_field {
    ($fn:ident, $opt:ident, $t:ty, $field:literal) => {
        fn $fn<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
            let v = f64::deserialize(d)?;
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= <$t>::MAX as f64 {
                Ok(v as $t)
            } else {
                Err(serde::de::Error::custom(format!(
                    "{}: expected a whole number from 0 to {}, got {v}",
                    $field,
                    <$t>::MAX
                )))
            }
        }
        /// The same for an optional field (`null` = unset, as k6 reads it).
        #[allow(dead_code)]
        fn $opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<$t>, D::Error> {
            match Option::<serde_json::Value>::deserialize(d)? {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => $fn(v).map(Some).map_err(serde::de::Error::custom),
            }
        }
    };
}
count_field!(de_vus, de_vus_opt, u32, "vus");
count_field!(de_iterations, de_iterations_opt, u64, "iterations");
count_field!(de_start_vus, de_start_vus_opt, u32, "startVUs");
count_field!(
    de_pre_allocated,
    de_pre_allocated_opt,
    u32,
    "preAllocatedVUs"
);
count_field!(de_max_vus, de_max_vus_opt, u32, "maxVUs");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlowCfg {
    #[serde(default = "one", deserialize_with = "de_weight")]
    pub weight: f64,
    pub steps: Vec<FlowStep>,
}

/// A flow step: `- request: claim`, `- get: /api/leaderboard` (through the model's routes),
/// `- sleep: uniform(1s,3s)`, `- loop: {count: 3, steps: [...]}`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(from = "RawStep", into = "RawStep")]
pub enum FlowStep {
    /// An endpoint of the model's entry service (or `service.endpoint`), or an HTTP request.
    Request(Call),
    Sleep(Dist),
    Loop(LoopCfg),
}

/// The YAML form of a step: one key naming what it does.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum RawStep {
    Request(String),
    Get(String),
    Post(String),
    Put(String),
    Patch(String),
    Delete(String),
    Head(String),
    Options(String),
    Sleep(Dist),
    Loop(LoopCfg),
}

impl From<RawStep> for FlowStep {
    fn from(r: RawStep) -> Self {
        let http = |m, u| FlowStep::Request(Call::http(m, u));
        match r {
            RawStep::Request(t) => FlowStep::Request(Call::endpoint(t)),
            RawStep::Get(u) => http(Method::Get, u),
            RawStep::Post(u) => http(Method::Post, u),
            RawStep::Put(u) => http(Method::Put, u),
            RawStep::Patch(u) => http(Method::Patch, u),
            RawStep::Delete(u) => http(Method::Delete, u),
            RawStep::Head(u) => http(Method::Head, u),
            RawStep::Options(u) => http(Method::Options, u),
            RawStep::Sleep(d) => FlowStep::Sleep(d),
            RawStep::Loop(l) => FlowStep::Loop(l),
        }
    }
}

impl From<FlowStep> for RawStep {
    fn from(s: FlowStep) -> Self {
        match s {
            FlowStep::Request(Call { method, target: t }) => match method {
                None => RawStep::Request(t),
                Some(Method::Get) => RawStep::Get(t),
                Some(Method::Post) => RawStep::Post(t),
                Some(Method::Put) => RawStep::Put(t),
                Some(Method::Patch) => RawStep::Patch(t),
                Some(Method::Delete) => RawStep::Delete(t),
                Some(Method::Head) => RawStep::Head(t),
                Some(Method::Options) => RawStep::Options(t),
            },
            FlowStep::Sleep(d) => RawStep::Sleep(d),
            FlowStep::Loop(l) => RawStep::Loop(l),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoopCfg {
    pub count: u32,
    pub steps: Vec<FlowStep>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StageCfg {
    pub duration: Duration,
    pub target: f64,
}

/// Fields every executor has (k6 base_config.go), repeated per variant because serde cannot
/// combine `flatten` with `deny_unknown_fields`.
macro_rules! executor_struct {
    ($name:ident { $($(#[$m:meta])* pub $f:ident : $t:ty,)* }) => {
        #[derive(Clone, Debug, Deserialize, Serialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[serde(default, rename = "startTime")]
            pub start_time: Duration,
            #[serde(default = "thirty_seconds", rename = "gracefulStop")]
            pub graceful_stop: Duration,
            /// Flows this scenario runs (default: all flows), picked by weight per iteration.
            #[serde(default)]
            pub flows: Option<Vec<String>>,
            /// Overrides the file-level `request_timeout`.
            #[serde(default)]
            pub request_timeout: Option<Duration>,
            $($(#[$m])* pub $f: $t,)*
        }
    };
}

executor_struct!(ConstantVusCfg {
    #[serde(default = "one_u32", deserialize_with = "de_vus")]
    pub vus: u32,
    pub duration: Duration,
});

executor_struct!(RampingVusCfg {
    #[serde(default = "one_u32", rename = "startVUs", deserialize_with = "de_start_vus")]
    pub start_vus: u32,
    pub stages: Vec<StageCfg>,
    #[serde(default = "thirty_seconds", rename = "gracefulRampDown")]
    pub graceful_ramp_down: Duration,
});

executor_struct!(ConstantArrivalRateCfg {
    pub rate: f64,
    #[serde(default = "one_second", rename = "timeUnit")]
    pub time_unit: Duration,
    pub duration: Duration,
    #[serde(rename = "preAllocatedVUs", deserialize_with = "de_pre_allocated")]
    pub pre_allocated_vus: u32,
    #[serde(default, rename = "maxVUs", deserialize_with = "de_max_vus_opt")]
    pub max_vus: Option<u32>,
});

executor_struct!(RampingArrivalRateCfg {
    #[serde(default, rename = "startRate")]
    pub start_rate: f64,
    #[serde(default = "one_second", rename = "timeUnit")]
    pub time_unit: Duration,
    pub stages: Vec<StageCfg>,
    #[serde(rename = "preAllocatedVUs", deserialize_with = "de_pre_allocated")]
    pub pre_allocated_vus: u32,
    #[serde(default, rename = "maxVUs", deserialize_with = "de_max_vus_opt")]
    pub max_vus: Option<u32>,
});

executor_struct!(PoissonArrivalsCfg {
    pub rate: f64,
    #[serde(default = "one_second", rename = "timeUnit")]
    pub time_unit: Duration,
    pub duration: Duration,
    /// Unbounded when absent: every arrival gets a VU (a pure open model).
    #[serde(default, rename = "maxVUs", deserialize_with = "de_max_vus_opt")]
    pub max_vus: Option<u32>,
});

// k6 shared-iterations (`lib/executor/shared_iterations.go`): `vus` VUs share `iterations`
// iterations; nothing starts after `maxDuration`.
executor_struct!(SharedIterationsCfg {
    #[serde(default = "one_u32", deserialize_with = "de_vus")]
    pub vus: u32,
    #[serde(default = "one_u64", deserialize_with = "de_iterations")]
    pub iterations: u64,
    #[serde(default = "ten_minutes", rename = "maxDuration")]
    pub max_duration: Duration,
});

// k6 per-vu-iterations (`lib/executor/per_vu_iterations.go`): each of `vus` VUs runs
// `iterations` iterations; after `maxDuration` each VU drops its remainder.
executor_struct!(PerVuIterationsCfg {
    #[serde(default = "one_u32", deserialize_with = "de_vus")]
    pub vus: u32,
    #[serde(default = "one_u64", deserialize_with = "de_iterations")]
    pub iterations: u64,
    #[serde(default = "ten_minutes", rename = "maxDuration")]
    pub max_duration: Duration,
});

executor_struct!(ArtilleryCfg {
    pub phases: Vec<ArtilleryPhaseCfg>,
});

/// One Artillery phase, normalised as Artillery's local runner reads it (see
/// `config::artillery`): quoted numbers and `ms` duration strings converted, the phase type
/// decided (divideWork's routing, then the phaser's precedence), and exactly the fields of
/// that type kept, so that serialising and reading back gives the same phase:
/// - pause: `pause`;
/// - arrivalCount: `arrivalCount` (>= 1) and `duration`;
/// - ramp: `arrivalRate` (0 when absent) and `rampTo`, `duration` optional (1 s period);
/// - constant: `arrivalRate` (>= 1) and `duration`;
/// - skipped by the runner (no truthy rate, count or pause): `arrivalCount: 0` alone.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(try_from = "RawArtilleryPhase")]
pub struct ArtilleryPhaseCfg {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<ArtilleryDuration>,
    #[serde(
        default,
        rename = "arrivalRate",
        skip_serializing_if = "Option::is_none"
    )]
    pub arrival_rate: Option<f64>,
    #[serde(default, rename = "rampTo", skip_serializing_if = "Option::is_none")]
    pub ramp_to: Option<f64>,
    #[serde(
        default,
        rename = "arrivalCount",
        skip_serializing_if = "Option::is_none"
    )]
    pub arrival_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<ArtilleryDuration>,
    #[serde(default, rename = "maxVusers", skip_serializing_if = "Option::is_none")]
    pub max_vusers: Option<u32>,
}

impl ArtilleryPhaseCfg {
    /// Artillery's local runner drops this phase (divideWork: "Unknown phase spec definition,
    /// skipping"): it takes no time.
    pub fn skipped(&self) -> bool {
        self.arrival_count == Some(0) && self.pause.is_none() && self.arrival_rate.is_none()
    }
}

/// A phase as written: every numeric field a number or a string, as Artillery takes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArtilleryPhase {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub duration: Option<serde_json::Value>,
    #[serde(default, rename = "arrivalRate")]
    pub arrival_rate: Option<serde_json::Value>,
    #[serde(default, rename = "rampTo")]
    pub ramp_to: Option<serde_json::Value>,
    #[serde(default, rename = "arrivalCount")]
    pub arrival_count: Option<serde_json::Value>,
    #[serde(default)]
    pub pause: Option<serde_json::Value>,
    #[serde(default, rename = "maxVusers")]
    pub max_vusers: Option<serde_json::Value>,
    /// `uniform` (the default) or `poisson` (not modelled).
    #[serde(default)]
    pub mode: Option<String>,
}

impl TryFrom<RawArtilleryPhase> for ArtilleryPhaseCfg {
    type Error = String;

    fn try_from(r: RawArtilleryPhase) -> Result<Self, String> {
        use super::artillery::{phase_seconds, route, to_number, Route};
        let secs = |key: &str,
                    v: &Option<serde_json::Value>|
         -> Result<Option<ArtilleryDuration>, String> {
            let Some(v) = v else { return Ok(None) };
            let s = phase_seconds(key, v)?;
            // `"0"` passes the phaser (a non-empty string is truthy) as 0 s; what a zero
            // length means is the phase type's business (`artillery_phase`).
            if s == 0.0 {
                return Ok(Some(ArtilleryDuration(0)));
            }
            if !(s > 0.0 && s.is_finite()) {
                return Err(format!(
                    "{key}: expected a positive duration, got {} ({s} s)",
                    super::artillery::js_display(v)
                ));
            }
            Ok(Some(ArtilleryDuration(crate::engine::secs_to_ns(s).max(1))))
        };
        let num = |key: &str, v: &Option<serde_json::Value>| -> Result<Option<f64>, String> {
            let Some(v) = v else { return Ok(None) };
            let n = to_number(v);
            if !(n.is_finite() && n >= 0.0) {
                return Err(format!(
                    "{key}: expected a number >= 0 (or a string holding one), got {}",
                    super::artillery::js_display(v)
                ));
            }
            Ok(Some(n))
        };
        let whole =
            |key: &str, v: &Option<serde_json::Value>, why: &str| -> Result<Option<u64>, String> {
                match num(key, v)? {
                    Some(n) if n.fract() != 0.0 || n > 1e15 => {
                        Err(format!("{key}: expected a whole number, got {n} ({why})"))
                    }
                    n => Ok(n.map(|n| n as u64)),
                }
            };
        if let Some(m) = r.mode.as_deref() {
            if m != "uniform" {
                return Err(format!(
                    "mode: {m:?} is not modelled; surge runs Artillery's default `uniform` mode"
                ));
            }
        }
        // The phaser converts every field present, so a bad one is an error even when unused.
        let duration = secs("duration", &r.duration)?;
        let pause = secs("pause", &r.pause)?;
        let rate = num("arrivalRate", &r.arrival_rate)?;
        let ramp_to = num("rampTo", &r.ramp_to)?;
        let count = whole(
            "arrivalCount",
            &r.arrival_count,
            "arrivals are spread one every duration/count",
        )?;
        let max_vusers = whole(
            "maxVusers",
            &r.max_vusers,
            "Artillery's integer split of maxVusers over workers asserts on fractions",
        )?
        .map(|m| {
            u32::try_from(m)
                .map_err(|_| format!("maxVusers: expected at most {}, got {m}", u32::MAX))
        })
        .transpose()?;
        let base = ArtilleryPhaseCfg {
            name: r.name,
            duration: None,
            arrival_rate: None,
            ramp_to: None,
            arrival_count: None,
            pause: None,
            max_vusers,
        };
        let skipped = ArtilleryPhaseCfg {
            arrival_count: Some(0),
            max_vusers: None,
            ..base.clone()
        };
        let as_pause = |p: Option<ArtilleryDuration>| ArtilleryPhaseCfg {
            pause: p,
            ..base.clone()
        };
        let route = route(
            r.ramp_to.as_ref(),
            r.arrival_rate.as_ref(),
            r.arrival_count.as_ref(),
            r.pause.as_ref(),
        );
        if route == Route::Skipped {
            return Ok(skipped);
        }
        if route == Route::Rate {
            if let Some(a) = rate.filter(|a| a.fract() != 0.0) {
                return Err(format!(
                    "arrivalRate: expected a whole number per second, got {a} (Artillery's local \
                     runner splits arrivalRate over workers as integers and asserts on a \
                     fraction; use rampTo or arrivalCount for a fractional rate)"
                ));
            }
        }
        // divideWork: a ramp gets `arrivalRate ||= 0`.
        let rate = if route == Route::Ramp {
            Some(rate.unwrap_or(0.0))
        } else {
            rate
        };
        // The phaser's precedence on the (whole) spec.
        if pause.is_some() {
            return Ok(as_pause(pause));
        }
        if let Some(n) = count {
            if n == 0 {
                return Ok(skipped);
            }
            return Ok(ArtilleryPhaseCfg {
                arrival_count: Some(n),
                duration,
                ..base
            });
        }
        let Some(a) = rate else {
            return Err("expected one of pause, arrivalCount, arrivalRate or rampTo".into());
        };
        match ramp_to {
            // A ramp from 0 to 0 has no arrivals and lasts its periods: a pause.
            Some(t) if a == 0.0 && t == 0.0 => Ok(as_pause(Some(
                duration.unwrap_or(ArtilleryDuration(crate::engine::SEC)),
            ))),
            Some(t) => Ok(ArtilleryPhaseCfg {
                arrival_rate: Some(a),
                ramp_to: Some(t),
                duration,
                ..base
            }),
            None if a == 0.0 => match duration {
                Some(d) => Ok(as_pause(Some(d))),
                None => Err("arrivalRate 0 is a pause of `duration`: expected a duration".into()),
            },
            None => Ok(ArtilleryPhaseCfg {
                arrival_rate: Some(a),
                duration,
                ..base
            }),
        }
    }
}

/// A duration in ns, written back as whole seconds or an `ms` string (`"1500ms"`) so that
/// Artillery's rules read it back unchanged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArtilleryDuration(pub u64);

impl Serialize for ArtilleryDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sec = crate::engine::SEC;
        if self.0 == 0 {
            // A number 0 is falsy to the phaser (an error); the string is 0 s.
            s.serialize_str("0")
        } else if self.0.is_multiple_of(sec) {
            s.serialize_u64(self.0 / sec)
        } else {
            s.serialize_str(&format!("{}ms", self.0 as f64 / 1e6))
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "executor", rename_all = "kebab-case")]
pub enum ExecutorCfg {
    ConstantVus(ConstantVusCfg),
    RampingVus(RampingVusCfg),
    ConstantArrivalRate(ConstantArrivalRateCfg),
    RampingArrivalRate(RampingArrivalRateCfg),
    SharedIterations(SharedIterationsCfg),
    PerVuIterations(PerVuIterationsCfg),
    /// surge extension: Poisson arrivals (M/M/c-style open load).
    PoissonArrivals(PoissonArrivalsCfg),
    /// Artillery `config.phases` semantics: each arrival is a new VU that runs one flow and exits.
    Artillery(ArtilleryCfg),
}

impl ExecutorCfg {
    pub fn common(&self) -> (Duration, Duration, Option<&Vec<String>>, Option<Duration>) {
        macro_rules! c {
            ($c:expr) => {
                (
                    $c.start_time,
                    $c.graceful_stop,
                    $c.flows.as_ref(),
                    $c.request_timeout,
                )
            };
        }
        match self {
            ExecutorCfg::ConstantVus(x) => c!(x),
            ExecutorCfg::RampingVus(x) => c!(x),
            ExecutorCfg::ConstantArrivalRate(x) => c!(x),
            ExecutorCfg::RampingArrivalRate(x) => c!(x),
            ExecutorCfg::SharedIterations(x) => c!(x),
            ExecutorCfg::PerVuIterations(x) => c!(x),
            ExecutorCfg::PoissonArrivals(x) => c!(x),
            ExecutorCfg::Artillery(x) => c!(x),
        }
    }
}
