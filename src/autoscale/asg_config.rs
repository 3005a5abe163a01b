//! Configuration for EC2 Auto Scaling groups, their scaling policies and the
//! read-replica policy, in the shapes customers already have:
//!
//! * the group exactly as AWS `CreateAutoScalingGroup` JSON (PascalCase), and
//! * policies shaped like a `scaling-policies.js` object (camelCase): a flat
//!   block with `threshold`/`scalingAdjustment` is a *simple* scaling policy
//!   plus its CloudWatch alarm; `policyType: StepScaling` and
//!   `policyType: TargetTrackingScaling` select the other two policy types.
//!
//! Parsing goes through `serde_json::Value` with hand-written field readers so
//! that every error names the offending field path (e.g.
//! `api.scaleUp.evaluationPeriods: must be >= 1`); the `Deserialize` impls use
//! the same readers, so YAML (or any serde format) gives identical messages.
//! Unknown keys are rejected everywhere except inside the passthrough values
//! `LaunchTemplate` and `Tags`, which the simulator does not interpret.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `DefaultCooldown` when the group JSON omits it (AWS API default).
pub const DEFAULT_COOLDOWN_SECS: u32 = 300;
/// CloudWatch limit: `EvaluationPeriods * Period` may not exceed one day.
pub const MAX_EVALUATION_SECS: u64 = 86_400;

// ---------------------------------------------------------------------------
// Field readers
// ---------------------------------------------------------------------------

/// A JSON object being read field by field, remembering its path for errors.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Obj<'a> {
    /// Wraps `v`, rejecting non-objects and keys outside `allowed`.
    fn new(v: &'a Value, path: &str, allowed: &[&str]) -> Result<Self, String> {
        let map = v.as_object().ok_or_else(|| {
            let what = if path.is_empty() { "document" } else { path };
            format!("{what}: expected an object, got {v}")
        })?;
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "{}: unknown field (expected one of: {})",
                join(path, k),
                allowed.join(", ")
            ));
        }
        Ok(Obj {
            map,
            path: path.to_string(),
        })
    }

    fn p(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Present and not JSON `null`.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn req(&self, key: &str) -> Result<&'a Value, String> {
        self.get(key)
            .ok_or_else(|| format!("{}: required field missing", self.p(key)))
    }

    fn opt_i64(&self, key: &str) -> Result<Option<i64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(i) => Ok(Some(i)),
                // Accept 2.0 from YAML/JS-ish sources, reject 2.5.
                None => match v.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                    _ => Err(format!("{}: expected an integer, got {v}", self.p(key))),
                },
            },
        }
    }

    fn opt_u32(&self, key: &str) -> Result<Option<u32>, String> {
        match self.opt_i64(key)? {
            None => Ok(None),
            Some(i) => u32::try_from(i)
                .map(Some)
                .map_err(|_| format!("{}: expected a non-negative integer, got {i}", self.p(key))),
        }
    }

    fn req_u32(&self, key: &str) -> Result<u32, String> {
        self.req(key)?;
        Ok(self.opt_u32(key)?.expect("checked present"))
    }

    fn req_i32(&self, key: &str) -> Result<i32, String> {
        self.req(key)?;
        let i = self.opt_i64(key)?.expect("checked present");
        i32::try_from(i).map_err(|_| format!("{}: integer out of range: {i}", self.p(key)))
    }

    fn opt_f64(&self, key: &str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(f) if f.is_finite() => Ok(Some(f)),
                _ => Err(format!("{}: expected a number, got {v}", self.p(key))),
            },
        }
    }

    fn req_f64(&self, key: &str) -> Result<f64, String> {
        self.req(key)?;
        Ok(self.opt_f64(key)?.expect("checked present"))
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(format!("{}: expected true/false, got {v}", self.p(key))),
        }
    }

    fn opt_str(&self, key: &str) -> Result<Option<&'a str>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(format!("{}: expected a string, got {v}", self.p(key))),
        }
    }

    fn req_str(&self, key: &str) -> Result<&'a str, String> {
        self.req(key)?;
        let s = self.opt_str(key)?.expect("checked present");
        if s.trim().is_empty() {
            return Err(format!("{}: must not be empty", self.p(key)));
        }
        Ok(s)
    }

    /// Parses a string field into an enum via `parse`, listing the choices on error.
    fn enum_field<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Option<T>,
        choices: &[&str],
    ) -> Result<Option<T>, String> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) => parse(s).map(Some).ok_or_else(|| {
                format!(
                    "{}: unknown value {s:?} (expected one of: {})",
                    self.p(key),
                    choices.join(", ")
                )
            }),
        }
    }
}

/// Implements `Deserialize` by reading a `Value` and handing it to `from_value`.
macro_rules! deserialize_via_value {
    ($t:ty) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = Value::deserialize(d)?;
                <$t>::from_value(&v, "").map_err(D::Error::custom)
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Auto Scaling group
// ---------------------------------------------------------------------------

/// `HealthCheckType` values accepted by `CreateAutoScalingGroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthCheckType {
    Ec2,
    Elb,
    Ebs,
    VpcLattice,
}

impl HealthCheckType {
    const CHOICES: &'static [&'static str] = &["EC2", "ELB", "EBS", "VPC_LATTICE"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "EC2" => Self::Ec2,
            "ELB" => Self::Elb,
            "EBS" => Self::Ebs,
            "VPC_LATTICE" => Self::VpcLattice,
            _ => return None,
        })
    }
}

/// An Auto Scaling group as the customer's `CreateAutoScalingGroup` JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct AsgGroupConfig {
    pub auto_scaling_group_name: String,
    pub min_size: u32,
    pub max_size: u32,
    /// AWS defaults an omitted `DesiredCapacity` to `MinSize`.
    pub desired_capacity: u32,
    /// Seconds; 300 when omitted.
    pub default_cooldown: u32,
    /// `EC2` when omitted (AWS default).
    pub health_check_type: HealthCheckType,
    /// Seconds; 0 when omitted, as with the CLI/SDK (the console uses 300).
    pub health_check_grace_period: u32,
    /// Seconds; `None` when omitted or `-1` (AWS's "unset" value).
    pub default_instance_warmup: Option<u32>,
    /// Passthrough, not interpreted.
    pub launch_template: Option<Value>,
    /// Passthrough; a non-empty list means instances are behind a load balancer.
    pub target_group_arns: Vec<String>,
    /// Passthrough, not interpreted.
    pub tags: Vec<Value>,
}

impl AsgGroupConfig {
    const FIELDS: &'static [&'static str] = &[
        "AutoScalingGroupName",
        "MinSize",
        "MaxSize",
        "DesiredCapacity",
        "DefaultCooldown",
        "HealthCheckType",
        "HealthCheckGracePeriod",
        "DefaultInstanceWarmup",
        "LaunchTemplate",
        "TargetGroupARNs",
        "Tags",
    ];

    pub fn from_json(s: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}"))?;
        Self::from_value(&v, "")
    }

    pub fn from_value(v: &Value, path: &str) -> Result<Self, String> {
        let o = Obj::new(v, path, Self::FIELDS)?;
        let min_size = o.req_u32("MinSize")?;
        let warmup = match o.opt_i64("DefaultInstanceWarmup")? {
            None | Some(-1) => None,
            Some(w) => Some(u32::try_from(w).map_err(|_| {
                format!(
                    "{}: must be >= 0 (or -1 to unset), got {w}",
                    o.p("DefaultInstanceWarmup")
                )
            })?),
        };
        let target_group_arns = match o.get("TargetGroupARNs") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    x.as_str().map(str::to_string).ok_or_else(|| {
                        format!(
                            "{}[{i}]: expected a string, got {x}",
                            o.p("TargetGroupARNs")
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(x) => {
                return Err(format!(
                    "{}: expected an array, got {x}",
                    o.p("TargetGroupARNs")
                ))
            }
        };
        let tags = match o.get("Tags") {
            None => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(x) => return Err(format!("{}: expected an array, got {x}", o.p("Tags"))),
        };
        let g = AsgGroupConfig {
            auto_scaling_group_name: o.req_str("AutoScalingGroupName")?.to_string(),
            min_size,
            max_size: o.req_u32("MaxSize")?,
            desired_capacity: o.opt_u32("DesiredCapacity")?.unwrap_or(min_size),
            default_cooldown: o
                .opt_u32("DefaultCooldown")?
                .unwrap_or(DEFAULT_COOLDOWN_SECS),
            health_check_type: o
                .enum_field(
                    "HealthCheckType",
                    HealthCheckType::parse,
                    HealthCheckType::CHOICES,
                )?
                .unwrap_or(HealthCheckType::Ec2),
            health_check_grace_period: o.opt_u32("HealthCheckGracePeriod")?.unwrap_or(0),
            default_instance_warmup: warmup,
            launch_template: o.get("LaunchTemplate").cloned(),
            target_group_arns,
            tags,
        };
        g.validate(path)?;
        Ok(g)
    }

    /// The size invariants `CreateAutoScalingGroup` enforces.
    pub fn validate(&self, path: &str) -> Result<(), String> {
        if self.max_size < self.min_size {
            return Err(format!(
                "{}: MaxSize {} is below MinSize {}",
                join(path, "MaxSize"),
                self.max_size,
                self.min_size
            ));
        }
        if self.desired_capacity < self.min_size || self.desired_capacity > self.max_size {
            return Err(format!(
                "{}: {} is outside [MinSize {}, MaxSize {}]",
                join(path, "DesiredCapacity"),
                self.desired_capacity,
                self.min_size,
                self.max_size
            ));
        }
        Ok(())
    }
}

deserialize_via_value!(AsgGroupConfig);

// ---------------------------------------------------------------------------
// Alarms and policies
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonOperator {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl ComparisonOperator {
    const CHOICES: &'static [&'static str] = &[
        "GreaterThanThreshold",
        "GreaterThanOrEqualToThreshold",
        "LessThanThreshold",
        "LessThanOrEqualToThreshold",
    ];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "GreaterThanThreshold" => Self::GreaterThanThreshold,
            "GreaterThanOrEqualToThreshold" => Self::GreaterThanOrEqualToThreshold,
            "LessThanThreshold" => Self::LessThanThreshold,
            "LessThanOrEqualToThreshold" => Self::LessThanOrEqualToThreshold,
            _ => return None,
        })
    }

    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::GreaterThanThreshold => value > threshold,
            Self::GreaterThanOrEqualToThreshold => value >= threshold,
            Self::LessThanThreshold => value < threshold,
            Self::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    /// True for the "greater" operators: breaches lie above the threshold,
    /// which decides step-bound inclusivity.
    pub fn is_upper(self) -> bool {
        matches!(
            self,
            Self::GreaterThanThreshold | Self::GreaterThanOrEqualToThreshold
        )
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::GreaterThanThreshold => ">",
            Self::GreaterThanOrEqualToThreshold => ">=",
            Self::LessThanThreshold => "<",
            Self::LessThanOrEqualToThreshold => "<=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentType {
    ChangeInCapacity,
    ExactCapacity,
    PercentChangeInCapacity,
}

impl AdjustmentType {
    const CHOICES: &'static [&'static str] = &[
        "ChangeInCapacity",
        "ExactCapacity",
        "PercentChangeInCapacity",
    ];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ChangeInCapacity" => Self::ChangeInCapacity,
            "ExactCapacity" => Self::ExactCapacity,
            "PercentChangeInCapacity" => Self::PercentChangeInCapacity,
            _ => return None,
        })
    }
}

/// CloudWatch `TreatMissingData`; AWS default is `missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TreatMissingData {
    #[default]
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

impl TreatMissingData {
    const CHOICES: &'static [&'static str] = &["missing", "notBreaching", "breaching", "ignore"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "missing" => Self::Missing,
            "notBreaching" => Self::NotBreaching,
            "breaching" => Self::Breaching,
            "ignore" => Self::Ignore,
            _ => return None,
        })
    }
}

/// A CloudWatch metric alarm (one metric, static threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmConfig {
    pub metric_name: String,
    pub threshold: f64,
    pub comparison_operator: ComparisonOperator,
    /// N.
    pub evaluation_periods: u32,
    /// Seconds: 10, 30 or a multiple of 60.
    pub period: u32,
    /// M; defaults to N.
    pub datapoints_to_alarm: u32,
    /// Extension (not in the customer file); defaults to `missing`.
    pub treat_missing_data: TreatMissingData,
}

impl AlarmConfig {
    const FIELDS: &'static [&'static str] = &[
        "metricName",
        "threshold",
        "comparisonOperator",
        "evaluationPeriods",
        "period",
        "datapointsToAlarm",
        "treatMissingData",
    ];

    fn read(o: &Obj) -> Result<Self, String> {
        let n = o.req_u32("evaluationPeriods")?;
        let a = AlarmConfig {
            metric_name: o.req_str("metricName")?.to_string(),
            threshold: o.req_f64("threshold")?,
            comparison_operator: o
                .enum_field(
                    "comparisonOperator",
                    ComparisonOperator::parse,
                    ComparisonOperator::CHOICES,
                )?
                .ok_or_else(|| format!("{}: required field missing", o.p("comparisonOperator")))?,
            evaluation_periods: n,
            period: o.req_u32("period")?,
            datapoints_to_alarm: o.opt_u32("datapointsToAlarm")?.unwrap_or(n),
            treat_missing_data: o
                .enum_field(
                    "treatMissingData",
                    TreatMissingData::parse,
                    TreatMissingData::CHOICES,
                )?
                .unwrap_or_default(),
        };
        a.validate(&o.path)?;
        Ok(a)
    }

    /// `PutMetricAlarm` constraints.
    pub fn validate(&self, path: &str) -> Result<(), String> {
        let p = self.period;
        if !(p == 10 || p == 30 || (p > 0 && p.is_multiple_of(60))) {
            return Err(format!(
                "{}: must be 10, 30 or a multiple of 60 seconds, got {p}",
                join(path, "period")
            ));
        }
        if self.evaluation_periods == 0 {
            return Err(format!("{}: must be >= 1", join(path, "evaluationPeriods")));
        }
        if u64::from(self.evaluation_periods) * u64::from(p) > MAX_EVALUATION_SECS {
            return Err(format!(
                "{}: evaluationPeriods * period must not exceed one day",
                join(path, "evaluationPeriods")
            ));
        }
        if self.datapoints_to_alarm == 0 || self.datapoints_to_alarm > self.evaluation_periods {
            return Err(format!(
                "{}: must be in 1..=evaluationPeriods ({}), got {}",
                join(path, "datapointsToAlarm"),
                self.evaluation_periods,
                self.datapoints_to_alarm
            ));
        }
        Ok(())
    }
}

fn check_min_adjustment_magnitude(
    o: &Obj,
    adjustment_type: AdjustmentType,
) -> Result<Option<u32>, String> {
    let mam = o.opt_u32("minAdjustmentMagnitude")?;
    if let Some(m) = mam {
        // AWS accepts MinAdjustmentMagnitude only with PercentChangeInCapacity.
        if adjustment_type != AdjustmentType::PercentChangeInCapacity {
            return Err(format!(
                "{}: only valid with adjustmentType PercentChangeInCapacity",
                o.p("minAdjustmentMagnitude")
            ));
        }
        if m == 0 {
            return Err(format!("{}: must be >= 1", o.p("minAdjustmentMagnitude")));
        }
    }
    Ok(mam)
}

fn req_adjustment_type(o: &Obj) -> Result<AdjustmentType, String> {
    o.enum_field(
        "adjustmentType",
        AdjustmentType::parse,
        AdjustmentType::CHOICES,
    )?
    .ok_or_else(|| format!("{}: required field missing", o.p("adjustmentType")))
}

/// A simple scaling policy together with the alarm that invokes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimplePolicyConfig {
    pub alarm: AlarmConfig,
    pub scaling_adjustment: i32,
    pub adjustment_type: AdjustmentType,
    /// Seconds; falls back to the group's `DefaultCooldown`.
    pub cooldown: Option<u32>,
    pub min_adjustment_magnitude: Option<u32>,
}

impl SimplePolicyConfig {
    fn read(v: &Value, path: &str) -> Result<Self, String> {
        let mut allowed = AlarmConfig::FIELDS.to_vec();
        allowed.extend([
            "policyType",
            "scalingAdjustment",
            "adjustmentType",
            "cooldown",
            "minAdjustmentMagnitude",
        ]);
        let o = Obj::new(v, path, &allowed)?;
        let adjustment_type = req_adjustment_type(&o)?;
        let scaling_adjustment = o.req_i32("scalingAdjustment")?;
        if adjustment_type == AdjustmentType::ExactCapacity && scaling_adjustment < 0 {
            return Err(format!(
                "{}: must be >= 0 with ExactCapacity",
                o.p("scalingAdjustment")
            ));
        }
        Ok(SimplePolicyConfig {
            alarm: AlarmConfig::read(&o)?,
            scaling_adjustment,
            adjustment_type,
            cooldown: o.opt_u32("cooldown")?,
            min_adjustment_magnitude: check_min_adjustment_magnitude(&o, adjustment_type)?,
        })
    }
}

/// One step; bounds are relative to the alarm threshold (`None` = infinite).
#[derive(Debug, Clone, PartialEq)]
pub struct StepAdjustment {
    pub metric_interval_lower_bound: Option<f64>,
    pub metric_interval_upper_bound: Option<f64>,
    pub scaling_adjustment: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepPolicyConfig {
    pub alarm: AlarmConfig,
    pub step_adjustments: Vec<StepAdjustment>,
    pub adjustment_type: AdjustmentType,
    pub min_adjustment_magnitude: Option<u32>,
    /// Seconds; falls back to `DefaultInstanceWarmup`, then `DefaultCooldown`.
    pub estimated_instance_warmup: Option<u32>,
}

impl StepPolicyConfig {
    fn read(v: &Value, path: &str) -> Result<Self, String> {
        let o = Obj::new(
            v,
            path,
            &[
                "policyType",
                "alarm",
                "stepAdjustments",
                "adjustmentType",
                "minAdjustmentMagnitude",
                "estimatedInstanceWarmup",
            ],
        )?;
        let alarm_path = o.p("alarm");
        let alarm = AlarmConfig::read(&Obj::new(
            o.req("alarm")?,
            &alarm_path,
            AlarmConfig::FIELDS,
        )?)?;
        let adjustment_type = req_adjustment_type(&o)?;
        let steps_path = o.p("stepAdjustments");
        let raw = o
            .req("stepAdjustments")?
            .as_array()
            .ok_or_else(|| format!("{steps_path}: expected an array"))?;
        let mut steps = Vec::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            let so = Obj::new(
                s,
                &format!("{steps_path}[{i}]"),
                &[
                    "metricIntervalLowerBound",
                    "metricIntervalUpperBound",
                    "scalingAdjustment",
                ],
            )?;
            let adj = so.req_i32("scalingAdjustment")?;
            if adjustment_type == AdjustmentType::ExactCapacity && adj < 0 {
                return Err(format!(
                    "{}: must be >= 0 with ExactCapacity",
                    so.p("scalingAdjustment")
                ));
            }
            steps.push(StepAdjustment {
                metric_interval_lower_bound: so.opt_f64("metricIntervalLowerBound")?,
                metric_interval_upper_bound: so.opt_f64("metricIntervalUpperBound")?,
                scaling_adjustment: adj,
            });
        }
        validate_steps(&steps, &steps_path)?;
        Ok(StepPolicyConfig {
            alarm,
            step_adjustments: steps,
            adjustment_type,
            min_adjustment_magnitude: check_min_adjustment_magnitude(&o, adjustment_type)?,
            estimated_instance_warmup: o.opt_u32("estimatedInstanceWarmup")?,
        })
    }
}

/// The `StepAdjustment` rules from the EC2 Auto Scaling API reference.
fn validate_steps(steps: &[StepAdjustment], path: &str) -> Result<(), String> {
    if steps.is_empty() {
        return Err(format!("{path}: at least one step adjustment is required"));
    }
    let lo = |s: &StepAdjustment| s.metric_interval_lower_bound.unwrap_or(f64::NEG_INFINITY);
    let hi = |s: &StepAdjustment| s.metric_interval_upper_bound.unwrap_or(f64::INFINITY);
    for (i, s) in steps.iter().enumerate() {
        if s.metric_interval_lower_bound.is_none() && s.metric_interval_upper_bound.is_none() {
            return Err(format!(
                "{path}[{i}]: lower and upper bound can't both be null"
            ));
        }
        if lo(s) >= hi(s) {
            return Err(format!(
                "{path}[{i}].metricIntervalUpperBound: must be greater than the lower bound"
            ));
        }
    }
    let null_lo = steps
        .iter()
        .filter(|s| s.metric_interval_lower_bound.is_none())
        .count();
    let null_hi = steps
        .iter()
        .filter(|s| s.metric_interval_upper_bound.is_none())
        .count();
    if null_lo > 1 {
        return Err(format!(
            "{path}: at most one step may have a null metricIntervalLowerBound"
        ));
    }
    if null_hi > 1 {
        return Err(format!(
            "{path}: at most one step may have a null metricIntervalUpperBound"
        ));
    }
    if null_lo == 0 && steps.iter().any(|s| lo(s) < 0.0) {
        return Err(format!(
            "{path}: a negative metricIntervalLowerBound requires a step with a null lower bound"
        ));
    }
    if null_hi == 0 && steps.iter().any(|s| hi(s) > 0.0) {
        return Err(format!(
            "{path}: a positive metricIntervalUpperBound requires a step with a null upper bound"
        ));
    }
    let mut sorted: Vec<&StepAdjustment> = steps.iter().collect();
    sorted.sort_by(|a, b| lo(a).total_cmp(&lo(b)));
    for w in sorted.windows(2) {
        if hi(w[0]) != lo(w[1]) {
            return Err(format!(
                "{path}: step ranges must not overlap or leave a gap (upper {} vs next lower {})",
                hi(w[0]),
                lo(w[1])
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetTrackingConfig {
    pub metric_name: String,
    pub target_value: f64,
    pub disable_scale_in: bool,
    /// Seconds; falls back to `DefaultInstanceWarmup`, then `DefaultCooldown`.
    pub estimated_instance_warmup: Option<u32>,
}

impl TargetTrackingConfig {
    fn read(v: &Value, path: &str) -> Result<Self, String> {
        let o = Obj::new(
            v,
            path,
            &[
                "policyType",
                "metricName",
                "targetValue",
                "disableScaleIn",
                "estimatedInstanceWarmup",
            ],
        )?;
        let target_value = o.req_f64("targetValue")?;
        if target_value <= 0.0 {
            return Err(format!("{}: must be > 0", o.p("targetValue")));
        }
        Ok(TargetTrackingConfig {
            metric_name: o.req_str("metricName")?.to_string(),
            target_value,
            disable_scale_in: o.opt_bool("disableScaleIn")?.unwrap_or(false),
            estimated_instance_warmup: o.opt_u32("estimatedInstanceWarmup")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyConfig {
    Simple(SimplePolicyConfig),
    Step(StepPolicyConfig),
    TargetTracking(TargetTrackingConfig),
}

impl PolicyConfig {
    /// Dispatches on `policyType`; absent means `SimpleScaling`, as for
    /// policies created before step/target tracking existed.
    pub fn from_value(v: &Value, path: &str) -> Result<Self, String> {
        let kind = v
            .get("policyType")
            .filter(|k| !k.is_null())
            .map(|k| {
                k.as_str().ok_or_else(|| {
                    format!("{}: expected a string, got {k}", join(path, "policyType"))
                })
            })
            .transpose()?
            .unwrap_or("SimpleScaling");
        match kind {
            "SimpleScaling" => SimplePolicyConfig::read(v, path).map(Self::Simple),
            "StepScaling" => StepPolicyConfig::read(v, path).map(Self::Step),
            "TargetTrackingScaling" => TargetTrackingConfig::read(v, path).map(Self::TargetTracking),
            other => Err(format!(
                "{}: unknown value {other:?} (expected one of: SimpleScaling, StepScaling, TargetTrackingScaling)",
                join(path, "policyType")
            )),
        }
    }
}

deserialize_via_value!(PolicyConfig);

/// A policy with the name it had in the policies file (e.g. `scaleUp`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    pub name: String,
    pub policy: PolicyConfig,
}

// ---------------------------------------------------------------------------
// Read replicas
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaAction {
    AddReadReplica,
    RemoveReadReplica,
}

impl ReplicaAction {
    const CHOICES: &'static [&'static str] = &["addReadReplica", "removeReadReplica"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "addReadReplica" => Self::AddReadReplica,
            "removeReadReplica" => Self::RemoveReadReplica,
            _ => return None,
        })
    }
}

/// One rule of the `database.readReplicas` block.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaRule {
    pub metric_name: String,
    pub threshold: f64,
    pub comparison_operator: ComparisonOperator,
    pub action: ReplicaAction,
}

impl ReplicaRule {
    fn read(v: &Value, path: &str, expect: ReplicaAction) -> Result<Self, String> {
        let o = Obj::new(
            v,
            path,
            &["metricName", "threshold", "comparisonOperator", "action"],
        )?;
        let action = o
            .enum_field("action", ReplicaAction::parse, ReplicaAction::CHOICES)?
            .ok_or_else(|| format!("{}: required field missing", o.p("action")))?;
        if action != expect {
            return Err(format!(
                "{}: {action:?} does not belong in this rule",
                o.p("action")
            ));
        }
        Ok(ReplicaRule {
            metric_name: o.req_str("metricName")?.to_string(),
            threshold: o.req_f64("threshold")?,
            comparison_operator: o
                .enum_field(
                    "comparisonOperator",
                    ComparisonOperator::parse,
                    ComparisonOperator::CHOICES,
                )?
                .ok_or_else(|| format!("{}: required field missing", o.p("comparisonOperator")))?,
            action,
        })
    }
}

/// `database.readReplicas` from the customer's policies file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaPolicyConfig {
    pub scale_up: ReplicaRule,
    pub scale_down: ReplicaRule,
}

impl ReplicaPolicyConfig {
    pub fn from_value(v: &Value, path: &str) -> Result<Self, String> {
        let o = Obj::new(v, path, &["scaleUp", "scaleDown"])?;
        Ok(ReplicaPolicyConfig {
            scale_up: ReplicaRule::read(
                o.req("scaleUp")?,
                &o.p("scaleUp"),
                ReplicaAction::AddReadReplica,
            )?,
            scale_down: ReplicaRule::read(
                o.req("scaleDown")?,
                &o.p("scaleDown"),
                ReplicaAction::RemoveReadReplica,
            )?,
        })
    }
}

deserialize_via_value!(ReplicaPolicyConfig);

// ---------------------------------------------------------------------------
// The whole policies file
// ---------------------------------------------------------------------------

/// Policies of one service (`api`, `backend`, `database`, ...).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServicePolicies {
    /// In key order of the file's object (serde_json sorts keys, so this is
    /// alphabetical and therefore deterministic).
    pub policies: Vec<NamedPolicy>,
    /// The `readReplicas` entry, if any.
    pub read_replicas: Option<ReplicaPolicyConfig>,
}

impl ServicePolicies {
    pub fn from_value(v: &Value, path: &str) -> Result<Self, String> {
        let map = v
            .as_object()
            .ok_or_else(|| format!("{path}: expected an object, got {v}"))?;
        let mut out = ServicePolicies::default();
        for (name, pv) in map {
            let p = join(path, name);
            if name == "readReplicas" {
                out.read_replicas = Some(ReplicaPolicyConfig::from_value(pv, &p)?);
            } else {
                out.policies.push(NamedPolicy {
                    name: name.clone(),
                    policy: PolicyConfig::from_value(pv, &p)?,
                });
            }
        }
        Ok(out)
    }
}

deserialize_via_value!(ServicePolicies);

/// The `SCALING_POLICIES` object: service name -> policies.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScalingPolicies {
    pub services: BTreeMap<String, ServicePolicies>,
}

impl ScalingPolicies {
    pub fn from_json(s: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}"))?;
        Self::from_value(&v, "")
    }

    pub fn from_value(v: &Value, path: &str) -> Result<Self, String> {
        let map = v.as_object().ok_or_else(|| {
            format!(
                "{}: expected an object, got {v}",
                if path.is_empty() { "document" } else { path }
            )
        })?;
        let services = map
            .iter()
            .map(|(k, sv)| Ok((k.clone(), ServicePolicies::from_value(sv, &join(path, k))?)))
            .collect::<Result<_, String>>()?;
        Ok(ScalingPolicies { services })
    }

    pub fn service(&self, name: &str) -> Option<&ServicePolicies> {
        self.services.get(name)
    }
}

deserialize_via_value!(ScalingPolicies);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Verbatim from the customer's plan (seed 001, "AWS Auto Scaling Groups").
    pub(crate) const SEED_ASG_JSON: &str = r#"{
  "AutoScalingGroupName": "hamballer-api-asg",
  "MinSize": 4,
  "MaxSize": 20,
  "DesiredCapacity": 8,
  "DefaultCooldown": 300,
  "HealthCheckType": "ELB",
  "HealthCheckGracePeriod": 300,
  "LaunchTemplate": {
    "LaunchTemplateName": "hamballer-api-template",
    "Version": "$Latest"
  },
  "TargetGroupARNs": [
    "arn:aws:elasticloadbalancing:us-east-1:account:targetgroup/hamballer-api-tg"
  ],
  "Tags": [
    {
      "Key": "Name",
      "Value": "HamBaller API",
      "PropagateAtLaunch": true
    },
    {
      "Key": "Environment",
      "Value": "production",
      "PropagateAtLaunch": true
    }
  ]
}"#;

    /// `SCALING_POLICIES` from seed 001's `scaling-policies.js`, with the JS
    /// object keys quoted to make it JSON; values unchanged.
    pub(crate) const SEED_POLICIES_JSON: &str = r#"{
  "api": {
    "scaleUp": {
      "metricName": "CPUUtilization",
      "threshold": 70,
      "comparisonOperator": "GreaterThanThreshold",
      "evaluationPeriods": 2,
      "period": 300,
      "scalingAdjustment": 2,
      "adjustmentType": "ChangeInCapacity",
      "cooldown": 300
    },
    "scaleDown": {
      "metricName": "CPUUtilization",
      "threshold": 30,
      "comparisonOperator": "LessThanThreshold",
      "evaluationPeriods": 5,
      "period": 300,
      "scalingAdjustment": -1,
      "adjustmentType": "ChangeInCapacity",
      "cooldown": 600
    }
  },
  "backend": {
    "scaleUp": {
      "metricName": "RequestCount",
      "threshold": 1000,
      "comparisonOperator": "GreaterThanThreshold",
      "evaluationPeriods": 2,
      "period": 180,
      "scalingAdjustment": 3,
      "adjustmentType": "ChangeInCapacity",
      "cooldown": 180
    },
    "scaleDown": {
      "metricName": "RequestCount",
      "threshold": 200,
      "comparisonOperator": "LessThanThreshold",
      "evaluationPeriods": 3,
      "period": 300,
      "scalingAdjustment": -1,
      "adjustmentType": "ChangeInCapacity",
      "cooldown": 300
    }
  },
  "database": {
    "readReplicas": {
      "scaleUp": {
        "metricName": "DatabaseConnections",
        "threshold": 80,
        "comparisonOperator": "GreaterThanThreshold",
        "action": "addReadReplica"
      },
      "scaleDown": {
        "metricName": "DatabaseConnections",
        "threshold": 30,
        "comparisonOperator": "LessThanThreshold",
        "action": "removeReadReplica"
      }
    }
  }
}"#;

    #[test]
    fn seed_group_parses_with_defaults_and_passthrough() {
        let g = AsgGroupConfig::from_json(SEED_ASG_JSON).unwrap();
        assert_eq!(g.auto_scaling_group_name, "hamballer-api-asg");
        assert_eq!((g.min_size, g.max_size, g.desired_capacity), (4, 20, 8));
        assert_eq!(g.default_cooldown, 300);
        assert_eq!(g.health_check_type, HealthCheckType::Elb);
        assert_eq!(g.health_check_grace_period, 300);
        assert_eq!(g.default_instance_warmup, None);
        assert_eq!(g.target_group_arns.len(), 1);
        assert_eq!(g.tags.len(), 2);
        assert_eq!(
            g.launch_template.as_ref().unwrap()["LaunchTemplateName"],
            "hamballer-api-template"
        );
    }

    #[test]
    fn group_defaults_follow_aws_api() {
        let g = AsgGroupConfig::from_json(
            r#"{"AutoScalingGroupName":"g","MinSize":2,"MaxSize":5,"DefaultInstanceWarmup":-1}"#,
        )
        .unwrap();
        assert_eq!(g.desired_capacity, 2, "DesiredCapacity defaults to MinSize");
        assert_eq!(g.default_cooldown, 300);
        assert_eq!(g.health_check_grace_period, 0, "CLI/SDK default");
        assert_eq!(g.health_check_type, HealthCheckType::Ec2);
        assert_eq!(g.default_instance_warmup, None, "-1 means unset");
    }

    #[test]
    fn group_errors_name_the_field() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"AutoScalingGroupName":"g","MinSize":2,"MaxSize":5,"VPCZoneIdentifierX":"s"}"#,
                "VPCZoneIdentifierX",
            ),
            (
                r#"{"AutoScalingGroupName":"g","MinSize":6,"MaxSize":5}"#,
                "MaxSize",
            ),
            (
                r#"{"AutoScalingGroupName":"g","MinSize":1,"MaxSize":5,"DesiredCapacity":9}"#,
                "DesiredCapacity",
            ),
            (
                r#"{"AutoScalingGroupName":"g","MinSize":-1,"MaxSize":5}"#,
                "MinSize",
            ),
            (r#"{"MinSize":1,"MaxSize":5}"#, "AutoScalingGroupName"),
            (
                r#"{"AutoScalingGroupName":"g","MinSize":1,"MaxSize":5,"HealthCheckType":"PING"}"#,
                "HealthCheckType",
            ),
            (
                r#"{"AutoScalingGroupName":"g","MinSize":1,"MaxSize":5,"DefaultCooldown":"300"}"#,
                "DefaultCooldown",
            ),
        ];
        for (json, field) in cases {
            let err = AsgGroupConfig::from_json(json).unwrap_err();
            assert!(
                err.contains(field),
                "{json}: error {err:?} should name {field}"
            );
        }
    }

    #[test]
    fn seed_policies_parse() {
        let p = ScalingPolicies::from_json(SEED_POLICIES_JSON).unwrap();
        let api = p.service("api").unwrap();
        let names: Vec<_> = api.policies.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["scaleDown", "scaleUp"]);
        let PolicyConfig::Simple(up) = &api.policies[1].policy else {
            panic!("api.scaleUp should be simple scaling")
        };
        assert_eq!(up.alarm.metric_name, "CPUUtilization");
        assert_eq!(up.alarm.threshold, 70.0);
        assert_eq!(
            up.alarm.comparison_operator,
            ComparisonOperator::GreaterThanThreshold
        );
        assert_eq!(
            (up.alarm.evaluation_periods, up.alarm.datapoints_to_alarm),
            (2, 2)
        );
        assert_eq!(up.alarm.period, 300);
        assert_eq!(up.scaling_adjustment, 2);
        assert_eq!(up.adjustment_type, AdjustmentType::ChangeInCapacity);
        assert_eq!(up.cooldown, Some(300));
        assert_eq!(up.alarm.treat_missing_data, TreatMissingData::Missing);
        let backend = p.service("backend").unwrap();
        assert_eq!(backend.policies.len(), 2);
        let db = p.service("database").unwrap();
        assert!(db.policies.is_empty());
        let rr = db.read_replicas.as_ref().unwrap();
        assert_eq!(rr.scale_up.threshold, 80.0);
        assert_eq!(
            rr.scale_down.comparison_operator,
            ComparisonOperator::LessThanThreshold
        );
    }

    #[test]
    fn step_and_target_tracking_parse() {
        let v: Value = serde_json::from_str(
            r#"{
            "out": {"policyType":"StepScaling",
                    "alarm":{"metricName":"CPUUtilization","threshold":50,
                             "comparisonOperator":"GreaterThanOrEqualToThreshold",
                             "evaluationPeriods":3,"datapointsToAlarm":2,"period":60},
                    "stepAdjustments":[{"metricIntervalLowerBound":0,"metricIntervalUpperBound":10,"scalingAdjustment":0},
                                       {"metricIntervalLowerBound":10,"metricIntervalUpperBound":20,"scalingAdjustment":10},
                                       {"metricIntervalLowerBound":20,"scalingAdjustment":30}],
                    "adjustmentType":"PercentChangeInCapacity","minAdjustmentMagnitude":2,
                    "estimatedInstanceWarmup":120},
            "tt": {"policyType":"TargetTrackingScaling","metricName":"CPUUtilization",
                   "targetValue":60,"disableScaleIn":true}
        }"#,
        )
        .unwrap();
        let s = ServicePolicies::from_value(&v, "svc").unwrap();
        let PolicyConfig::Step(st) = &s.policies[0].policy else {
            panic!()
        };
        assert_eq!(st.alarm.datapoints_to_alarm, 2);
        assert_eq!(st.step_adjustments.len(), 3);
        assert_eq!(st.min_adjustment_magnitude, Some(2));
        let PolicyConfig::TargetTracking(tt) = &s.policies[1].policy else {
            panic!()
        };
        assert!(tt.disable_scale_in);
        assert_eq!(tt.target_value, 60.0);
    }

    #[test]
    fn policy_errors_name_the_field() {
        let base = r#""metricName":"m","threshold":1,"comparisonOperator":"GreaterThanThreshold","period":60,"scalingAdjustment":1,"adjustmentType":"ChangeInCapacity""#;
        let cases: Vec<(String, &str)> = vec![
            (format!(r#"{{{base},"evaluationPeriods":0}}"#), "svc.p.evaluationPeriods"),
            (format!(r#"{{{base},"evaluationPeriods":2,"datapointsToAlarm":3}}"#), "svc.p.datapointsToAlarm"),
            (format!(r#"{{{base},"evaluationPeriods":2,"bogus":1}}"#), "svc.p.bogus"),
            (format!(r#"{{{base},"evaluationPeriods":2,"minAdjustmentMagnitude":2}}"#), "svc.p.minAdjustmentMagnitude"),
            (
                r#"{"metricName":"m","threshold":1,"comparisonOperator":"GreaterThanThreshold","period":45,"evaluationPeriods":1,"scalingAdjustment":1,"adjustmentType":"ChangeInCapacity"}"#.into(),
                "svc.p.period",
            ),
            (
                r#"{"metricName":"m","threshold":1,"comparisonOperator":"Above","period":60,"evaluationPeriods":1,"scalingAdjustment":1,"adjustmentType":"ChangeInCapacity"}"#.into(),
                "svc.p.comparisonOperator",
            ),
            (
                r#"{"policyType":"StepScaling","alarm":{"metricName":"m","threshold":1,"comparisonOperator":"GreaterThanThreshold","period":60,"evaluationPeriods":1},"adjustmentType":"ChangeInCapacity","stepAdjustments":[{"metricIntervalLowerBound":0,"metricIntervalUpperBound":10,"scalingAdjustment":1},{"metricIntervalLowerBound":20,"scalingAdjustment":2}]}"#.into(),
                "svc.p.stepAdjustments",
            ),
            (
                r#"{"policyType":"StepScaling","alarm":{"metricName":"m","threshold":1,"comparisonOperator":"GreaterThanThreshold","period":60,"evaluationPeriods":1},"adjustmentType":"ChangeInCapacity","stepAdjustments":[{"scalingAdjustment":1}]}"#.into(),
                "svc.p.stepAdjustments[0]",
            ),
            (
                r#"{"policyType":"TargetTrackingScaling","metricName":"m","targetValue":0}"#.into(),
                "svc.p.targetValue",
            ),
            (r#"{"policyType":"Predictive"}"#.into(), "svc.p.policyType"),
        ];
        for (json, field) in cases {
            let v: Value = serde_json::from_str(&format!(r#"{{"p":{json}}}"#)).unwrap();
            let err = ServicePolicies::from_value(&v, "svc").unwrap_err();
            assert!(
                err.starts_with(field),
                "{json}: error {err:?} should start with {field}"
            );
        }
    }

    #[test]
    fn yaml_goes_through_the_same_readers() {
        let yaml = "api:\n  scaleUp:\n    metricName: CPUUtilization\n    threshold: 70\n    comparisonOperator: GreaterThanThreshold\n    evaluationPeriods: 2\n    period: 300\n    scalingAdjustment: 2\n    adjustmentType: ChangeInCapacity\n    cooldown: 300\n";
        let from_yaml: ScalingPolicies = serde_saphyr::from_str(yaml).unwrap();
        let from_json = ScalingPolicies::from_json(SEED_POLICIES_JSON).unwrap();
        assert_eq!(
            from_yaml.service("api").unwrap().policies[0],
            from_json.service("api").unwrap().policies[1]
        );
        let bad = yaml.replace("cooldown", "coolDown");
        let err = serde_saphyr::from_str::<ScalingPolicies>(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("api.scaleUp.coolDown"), "{err}");
        let g: AsgGroupConfig = serde_json::from_str(SEED_ASG_JSON).unwrap();
        assert_eq!(g.max_size, 20);
    }
}
