//! `autoscaling/v2` HorizontalPodAutoscaler manifest types.
//!
//! Field names and shapes follow the Kubernetes API (camelCase) so a manifest that
//! `kubectl apply` accepts parses here unchanged. Unknown fields are rejected
//! everywhere except `metadata`, where server-populated fields are common.
//! Defaults that the API server applies (`minReplicas` 1, behavior policies, the
//! CPU 80 % metric when `metrics` is empty) are exposed through accessor methods
//! rather than written back, so serialization round-trips the user's input.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// Kubernetes API limit on `stabilizationWindowSeconds` (validation.go).
pub const MAX_STABILIZATION_WINDOW_S: i32 = 3600;
/// Kubernetes API limit on a policy's `periodSeconds` (validation.go).
pub const MAX_PERIOD_S: i32 = 1800;
/// Target used when `spec.metrics` is empty (`autoscaling.DefaultCPUUtilization`).
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

// ---------------------------------------------------------------------------
// Quantities
// ---------------------------------------------------------------------------

/// Parses a Kubernetes quantity ("500m", "100", "1Gi", "512Mi", "1.5", "2e3") into base units.
pub fn parse_quantity(s: &str) -> Result<f64, String> {
    let q = split_quantity(s)?;
    let mut v: f64 = format!(
        "{}{}e{}",
        if q.negative { "-" } else { "" },
        q.digits,
        q.exp10 - q.frac_len
    )
    .parse()
    .map_err(|e| format!("invalid quantity {s:?}: {e}"))?;
    v *= 2f64.powi(q.exp2);
    Ok(v)
}

/// Exact `ceil(quantity * 1000)`, like `resource.Quantity.MilliValue()`, saturating at i64 bounds.
/// The controller compares metric targets in integer milli-units, so this must not go via f64.
pub fn parse_quantity_milli(s: &str) -> Result<i64, String> {
    let q = split_quantity(s)?;
    let mut num: u128 = 0;
    for b in q.digits.bytes() {
        num = num.saturating_mul(10).saturating_add(u128::from(b - b'0'));
    }
    let shift2 = |mut n: u128, e2: i32| -> (u128, u128) {
        // returns (numerator, denominator) after applying 2^e2
        let mut den: u128 = 1;
        if e2 >= 0 {
            for _ in 0..e2 {
                n = n.saturating_mul(2);
            }
        } else {
            for _ in 0..(-e2) {
                den = den.saturating_mul(2);
            }
        }
        (n, den)
    };
    let (mut n, mut den) = shift2(num, q.exp2);
    let e10 = q.exp10 - q.frac_len + 3;
    if e10 >= 0 {
        for _ in 0..e10.min(40) {
            n = n.saturating_mul(10);
        }
    } else {
        for _ in 0..(-e10).min(40) {
            den = den.saturating_mul(10);
        }
    }
    // Magnitude rounded away from zero for positives (ceil), toward zero for negatives (also ceil).
    let mag = if q.negative { n / den } else { n.div_ceil(den) };
    let mag = i64::try_from(mag).unwrap_or(i64::MAX);
    Ok(if q.negative { -mag } else { mag })
}

struct SplitQuantity {
    negative: bool,
    digits: String, // all mantissa digits, no dot
    frac_len: i32,  // how many of `digits` were after the dot
    exp10: i32,
    exp2: i32,
}

fn split_quantity(s: &str) -> Result<SplitQuantity, String> {
    let err = || format!("invalid quantity {s:?}");
    let mut rest = s;
    let mut negative = false;
    if let Some(r) = rest.strip_prefix('-') {
        negative = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (num, suffix) = rest.split_at(num_end);
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return Err(err());
    }
    let (exp10, exp2) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            // Decimal exponent form: e<int> / E<int>.
            let e = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .ok_or_else(err)?;
            let body = e.strip_prefix(['+', '-']).unwrap_or(e);
            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) || body.len() > 4 {
                return Err(err());
            }
            (e.parse::<i32>().map_err(|_| err())?, 0)
        }
    };
    let mut digits = format!("{int_part}{frac_part}");
    if digits.is_empty() {
        digits.push('0');
    }
    Ok(SplitQuantity {
        negative,
        digits,
        frac_len: frac_part.len() as i32,
        exp10,
        exp2,
    })
}

/// A validated Kubernetes quantity. Keeps the text it was written as, so it
/// serializes back unchanged; accepts YAML/JSON numbers as well as strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    raw: String,
    value: f64,
    milli: i64,
}

impl Quantity {
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(Quantity {
            raw: s.to_string(),
            value: parse_quantity(s)?,
            milli: parse_quantity_milli(s)?,
        })
    }
    /// Value in base units (cores, bytes, plain units).
    pub fn value(&self) -> f64 {
        self.value
    }
    /// `ceil(value * 1000)` in exact integer arithmetic.
    pub fn milli_value(&self) -> i64 {
        self.milli
    }
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as \"500m\", \"1Gi\" or 100")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                if !v.is_finite() {
                    return Err(E::custom("quantity must be finite"));
                }
                Quantity::parse(&format!("{v}")).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HorizontalPodAutoscaler {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: HpaSpec,
    /// Present in `kubectl get -o yaml` output; ignored by the simulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// Not `deny_unknown_fields`: exported objects carry uid, resourceVersion, etc.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaSpec {
    pub scale_target_ref: CrossVersionObjectReference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    pub max_replicas: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<HpaBehavior>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrossVersionObjectReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
}

/// `type` selects which sibling key holds the source, as in the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum MetricSpec {
    Resource {
        resource: ResourceMetricSource,
    },
    /// Accepted so real manifests parse; rejected by `validate` (no per-container model).
    ContainerResource {
        #[serde(rename = "containerResource")]
        container_resource: ContainerResourceMetricSource,
    },
    Pods {
        pods: PodsMetricSource,
    },
    Object {
        object: ObjectMetricSource,
    },
    External {
        external: ExternalMetricSource,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceMetricSource {
    pub name: String,
    pub target: MetricTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerResourceMetricSource {
    pub name: String,
    pub container: String,
    pub target: MetricTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodsMetricSource {
    pub metric: MetricIdentifier,
    pub target: MetricTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMetricSource {
    pub described_object: CrossVersionObjectReference,
    pub metric: MetricIdentifier,
    pub target: MetricTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalMetricSource {
    pub metric: MetricIdentifier,
    pub target: MetricTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricIdentifier {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetricTargetType {
    Utilization,
    Value,
    AverageValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricTarget {
    #[serde(rename = "type")]
    pub target_type: MetricTargetType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_value: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaBehavior {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<HpaScalingRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<HpaScalingRules>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaScalingRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<HpaScalingPolicy>>,
    /// KEP-4951 (1.33+): per-direction tolerance overriding the controller flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Quantity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScalingPolicyType {
    Pods,
    Percent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaScalingPolicy {
    #[serde(rename = "type")]
    pub policy_type: ScalingPolicyType,
    pub value: i32,
    pub period_seconds: i32,
}

impl fmt::Display for HpaScalingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let t = match self.policy_type {
            ScalingPolicyType::Pods => "Pods",
            ScalingPolicyType::Percent => "Percent",
        };
        write!(f, "{t} {}/{}s", self.value, self.period_seconds)
    }
}

// ---------------------------------------------------------------------------
// Defaults (pkg/apis/autoscaling/v2/defaults.go) and validation
// ---------------------------------------------------------------------------

/// One direction's rules after API defaulting and the controller's
/// scale-down window fill-in (`maybeInitScaleDownStabilizationWindow`).
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveScalingRules {
    pub stabilization_window_s: u32,
    pub select_policy: SelectPolicy,
    pub policies: Vec<HpaScalingPolicy>,
    pub tolerance: Option<f64>,
}

impl EffectiveScalingRules {
    pub fn longest_period_s(&self) -> i32 {
        self.policies
            .iter()
            .map(|p| p.period_seconds)
            .max()
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveBehavior {
    pub scale_up: EffectiveScalingRules,
    pub scale_down: EffectiveScalingRules,
}

fn default_scale_up_rules() -> HpaScalingRules {
    HpaScalingRules {
        stabilization_window_seconds: Some(0),
        select_policy: Some(SelectPolicy::Max),
        policies: Some(vec![
            HpaScalingPolicy {
                policy_type: ScalingPolicyType::Pods,
                value: 4,
                period_seconds: 15,
            },
            HpaScalingPolicy {
                policy_type: ScalingPolicyType::Percent,
                value: 100,
                period_seconds: 15,
            },
        ]),
        tolerance: None,
    }
}

fn default_scale_down_rules() -> HpaScalingRules {
    HpaScalingRules {
        // Left unset by the API; the controller fills in its flag value.
        stabilization_window_seconds: None,
        select_policy: Some(SelectPolicy::Max),
        policies: Some(vec![HpaScalingPolicy {
            policy_type: ScalingPolicyType::Percent,
            value: 100,
            period_seconds: 15,
        }]),
        tolerance: None,
    }
}

/// `copyHPAScalingRules`: every non-nil user field wins over the default.
fn merge_rules(user: Option<&HpaScalingRules>, mut d: HpaScalingRules) -> HpaScalingRules {
    if let Some(u) = user {
        if u.select_policy.is_some() {
            d.select_policy = u.select_policy;
        }
        if u.stabilization_window_seconds.is_some() {
            d.stabilization_window_seconds = u.stabilization_window_seconds;
        }
        if u.policies.is_some() {
            d.policies.clone_from(&u.policies);
        }
        if u.tolerance.is_some() {
            d.tolerance.clone_from(&u.tolerance);
        }
    }
    d
}

fn effective(r: HpaScalingRules, window_default_s: u32) -> EffectiveScalingRules {
    EffectiveScalingRules {
        // A negative window (rejected by validation) behaves as 0 in the controller.
        stabilization_window_s: r
            .stabilization_window_seconds
            .map(|w| w.max(0) as u32)
            .unwrap_or(window_default_s),
        select_policy: r.select_policy.unwrap_or(SelectPolicy::Max),
        policies: r.policies.unwrap_or_default(),
        tolerance: r.tolerance.map(|q| q.value()),
    }
}

impl HpaSpec {
    /// `minReplicas` defaults to 1.
    pub fn min_replicas(&self) -> i32 {
        self.min_replicas.unwrap_or(1)
    }

    /// Metrics after API defaulting: an empty list means CPU at 80 % utilization.
    pub fn effective_metrics(&self) -> Vec<MetricSpec> {
        if !self.metrics.is_empty() {
            return self.metrics.clone();
        }
        vec![MetricSpec::Resource {
            resource: ResourceMetricSource {
                name: "cpu".into(),
                target: MetricTarget {
                    target_type: MetricTargetType::Utilization,
                    value: None,
                    average_value: None,
                    average_utilization: Some(DEFAULT_CPU_UTILIZATION),
                },
            },
        }]
    }

    /// Behavior with API defaults applied, or `None` for the legacy path.
    /// Defaults are filled only when `behavior` is present, as in the API server.
    pub fn effective_behavior(
        &self,
        scale_down_window_default_s: u32,
    ) -> Option<EffectiveBehavior> {
        let b = self.behavior.as_ref()?;
        Some(EffectiveBehavior {
            scale_up: effective(
                merge_rules(b.scale_up.as_ref(), default_scale_up_rules()),
                0,
            ),
            scale_down: effective(
                merge_rules(b.scale_down.as_ref(), default_scale_down_rules()),
                scale_down_window_default_s,
            ),
        })
    }

    /// API-server validation subset relevant to the controller. Errors name the field.
    pub fn validate(&self) -> Result<(), String> {
        let mut errs: Vec<String> = Vec::new();
        if self.scale_target_ref.kind.is_empty() {
            errs.push("spec.scaleTargetRef.kind: Required value".into());
        }
        if self.scale_target_ref.name.is_empty() {
            errs.push("spec.scaleTargetRef.name: Required value".into());
        }
        if self.max_replicas < 1 {
            errs.push(format!(
                "spec.maxReplicas: Invalid value: {}: must be greater than or equal to 1",
                self.max_replicas
            ));
        }
        let metrics = self.effective_metrics();
        // minReplicas 0 needs the HPAScaleToZero gate and an Object or External metric.
        let can_scale_to_zero = metrics
            .iter()
            .any(|m| matches!(m, MetricSpec::Object { .. } | MetricSpec::External { .. }));
        let min = self.min_replicas();
        let lower = if can_scale_to_zero { 0 } else { 1 };
        if min < lower {
            errs.push(format!(
                "spec.minReplicas: Invalid value: {min}: must be greater than or equal to {lower}"
            ));
        }
        if min > self.max_replicas {
            errs.push(format!(
                "spec.maxReplicas: Invalid value: {}: must be greater than or equal to `minReplicas` ({min})",
                self.max_replicas
            ));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            validate_metric(m, &format!("spec.metrics[{i}]"), &mut errs);
        }
        if let Some(b) = &self.behavior {
            for (name, r) in [("scaleUp", &b.scale_up), ("scaleDown", &b.scale_down)] {
                if let Some(r) = r {
                    validate_rules(r, &format!("spec.behavior.{name}"), &mut errs);
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }
}

fn validate_target(t: &MetricTarget, path: &str, errs: &mut Vec<String>) {
    if let Some(u) = t.average_utilization {
        if u < 1 {
            errs.push(format!(
                "{path}.averageUtilization: Invalid value: {u}: must be greater than 0"
            ));
        }
    }
    for (name, q) in [("value", &t.value), ("averageValue", &t.average_value)] {
        if let Some(q) = q {
            if q.milli_value() <= 0 {
                errs.push(format!(
                    "{path}.{name}: Invalid value: {:?}: must be positive",
                    q.as_str()
                ));
            }
        }
    }
}

fn validate_metric(m: &MetricSpec, path: &str, errs: &mut Vec<String>) {
    match m {
        MetricSpec::Resource { resource } => {
            let p = format!("{path}.resource");
            if resource.name != "cpu" && resource.name != "memory" {
                errs.push(format!(
                    "{p}.name: Unsupported value: {:?}: surge models \"cpu\" and \"memory\"",
                    resource.name
                ));
            }
            let t = &resource.target;
            validate_target(t, &format!("{p}.target"), errs);
            match (t.average_utilization.is_some(), t.average_value.is_some()) {
                (false, false) => errs.push(format!(
                    "{p}.target.averageUtilization: Required value: must set either a target raw value or a target utilization"
                )),
                (true, true) => errs.push(format!(
                    "{p}.target.averageValue: Forbidden: may not set both a target raw value and a target utilization"
                )),
                _ => {}
            }
        }
        MetricSpec::ContainerResource { .. } => errs.push(format!(
            "{path}.type: Unsupported value: \"ContainerResource\": surge has no per-container usage model"
        )),
        MetricSpec::Pods { pods } => {
            let p = format!("{path}.pods");
            validate_target(&pods.target, &format!("{p}.target"), errs);
            if pods.metric.name.is_empty() {
                errs.push(format!("{p}.metric.name: Required value"));
            }
            if pods.target.average_value.is_none() {
                errs.push(format!(
                    "{p}.target.averageValue: Required value: must specify a positive target averageValue"
                ));
            }
        }
        MetricSpec::Object { object } => {
            let p = format!("{path}.object");
            validate_target(&object.target, &format!("{p}.target"), errs);
            if object.metric.name.is_empty() {
                errs.push(format!("{p}.metric.name: Required value"));
            }
            if object.target.value.is_none() && object.target.average_value.is_none() {
                errs.push(format!(
                    "{p}.target.value: Required value: must set either a target value or averageValue"
                ));
            }
        }
        MetricSpec::External { external } => {
            let p = format!("{path}.external");
            validate_target(&external.target, &format!("{p}.target"), errs);
            if external.metric.name.is_empty() {
                errs.push(format!("{p}.metric.name: Required value"));
            }
            if external.target.value.is_none() && external.target.average_value.is_none() {
                errs.push(format!(
                    "{p}.target.value: Required value: must set either a target value for metric or a per-pod target"
                ));
            }
        }
    }
}

fn validate_rules(r: &HpaScalingRules, path: &str, errs: &mut Vec<String>) {
    if let Some(w) = r.stabilization_window_seconds {
        if !(0..=MAX_STABILIZATION_WINDOW_S).contains(&w) {
            errs.push(format!(
                "{path}.stabilizationWindowSeconds: Invalid value: {w}: must be in 0..={MAX_STABILIZATION_WINDOW_S}"
            ));
        }
    }
    if let Some(t) = &r.tolerance {
        if t.value() < 0.0 {
            errs.push(format!(
                "{path}.tolerance: Invalid value: {:?}: must be greater than or equal to 0",
                t.as_str()
            ));
        }
    }
    if let Some(ps) = &r.policies {
        if ps.is_empty() {
            errs.push(format!(
                "{path}.policies: Required value: must specify at least one Policy"
            ));
        }
        for (i, p) in ps.iter().enumerate() {
            if p.value <= 0 {
                errs.push(format!(
                    "{path}.policies[{i}].value: Invalid value: {}: must be greater than zero",
                    p.value
                ));
            }
            if !(1..=MAX_PERIOD_S).contains(&p.period_seconds) {
                errs.push(format!(
                    "{path}.policies[{i}].periodSeconds: Invalid value: {}: must be in 1..={MAX_PERIOD_S}",
                    p.period_seconds
                ));
            }
        }
    }
}

impl HorizontalPodAutoscaler {
    /// Validates apiVersion/kind, metadata.name and the spec.
    pub fn validate(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        if self.api_version != "autoscaling/v2" && self.api_version != "autoscaling/v2beta2" {
            errs.push(format!(
                "apiVersion: Unsupported value: {:?}: expected \"autoscaling/v2\"",
                self.api_version
            ));
        }
        if self.kind != "HorizontalPodAutoscaler" {
            errs.push(format!(
                "kind: Unsupported value: {:?}: expected \"HorizontalPodAutoscaler\"",
                self.kind
            ));
        }
        if self.metadata.name.is_empty() {
            errs.push("metadata.name: Required value".into());
        }
        if let Err(e) = self.spec.validate() {
            errs.push(e);
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }

    /// Parses a JSON manifest and validates it.
    pub fn from_json(s: &str) -> Result<Self, String> {
        let h: Self = serde_json::from_str(s).map_err(|e| e.to_string())?;
        h.validate()?;
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verbatim from shared/seeds/000_630e7d967db0a6dd.txt (hamballer-backend-hpa).
    const SEED_000_YAML: &str = r#"apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: hamballer-backend-hpa
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: hamballer-backend
  minReplicas: 2
  maxReplicas: 20
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 70
  - type: Resource
    resource:
      name: memory
      target:
        type: Utilization
        averageUtilization: 80
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 60
      policies:
      - type: Percent
        value: 100
        periodSeconds: 15
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
      - type: Percent
        value: 10
        periodSeconds: 60
"#;

    /// Verbatim from shared/seeds/001_a26260aad4962b91.txt (k8s-autoscaling.yaml).
    const SEED_001_YAML: &str = r#"# k8s-autoscaling.yaml
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: hamballer-api-hpa
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: hamballer-api
  minReplicas: 4
  maxReplicas: 20
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 60
  - type: Resource
    resource:
      name: memory
      target:
        type: Utilization
        averageUtilization: 80
  - type: Pods
    pods:
      metric:
        name: http_requests_per_second
      target:
        type: AverageValue
        averageValue: "100"
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 60
      policies:
      - type: Percent
        value: 100
        periodSeconds: 15
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
      - type: Percent
        value: 10
        periodSeconds: 60

---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: hamballer-backend-hpa
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: hamballer-backend
  minReplicas: 5
  maxReplicas: 25
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 65
  - type: Resource
    resource:
      name: memory
      target:
        type: Utilization
        averageUtilization: 75
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 120
      policies:
      - type: Pods
        value: 4
        periodSeconds: 60
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
      - type: Pods
        value: 2
        periodSeconds: 60
"#;

    fn yaml(s: &str) -> Result<HorizontalPodAutoscaler, String> {
        let h: HorizontalPodAutoscaler = serde_saphyr::from_str(s).map_err(|e| e.to_string())?;
        h.validate()?;
        Ok(h)
    }

    fn policy(t: ScalingPolicyType, value: i32, period: i32) -> HpaScalingPolicy {
        HpaScalingPolicy {
            policy_type: t,
            value,
            period_seconds: period,
        }
    }

    #[test]
    fn quantities_parse_to_base_units() {
        let cases: &[(&str, f64, i64)] = &[
            ("500m", 0.5, 500),
            ("100", 100.0, 100_000),
            ("1Gi", 1073741824.0, 1_073_741_824_000),
            ("512Mi", 536870912.0, 536_870_912_000),
            ("1.5", 1.5, 1500),
            ("2k", 2000.0, 2_000_000),
            ("1e3", 1000.0, 1_000_000),
            ("1E3", 1000.0, 1_000_000),
            ("3E", 3e18, i64::MAX), // Exa, saturating in milli
            ("250u", 0.00025, 1),   // MilliValue rounds up
            ("0.1", 0.1, 100),
            (".5", 0.5, 500),
            ("-2", -2.0, -2000),
            ("1Ki", 1024.0, 1_024_000),
        ];
        for &(s, v, m) in cases {
            let got = parse_quantity(s).unwrap();
            assert!((got - v).abs() <= v.abs() * 1e-12, "{s}: {got} != {v}");
            assert_eq!(parse_quantity_milli(s).unwrap(), m, "{s} milli");
        }
        for bad in ["", "abc", "1.2.3", "5 m", "1Xi", "m", "1e", "--1"] {
            assert!(parse_quantity(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn seed_000_backend_hpa_parses() {
        let h = yaml(SEED_000_YAML).unwrap();
        assert_eq!(h.metadata.name, "hamballer-backend-hpa");
        assert_eq!(h.spec.scale_target_ref.name, "hamballer-backend");
        assert_eq!(h.spec.min_replicas(), 2);
        assert_eq!(h.spec.max_replicas, 20);
        assert_eq!(h.spec.metrics.len(), 2);
        let b = h.spec.effective_behavior(300).unwrap();
        assert_eq!(b.scale_up.stabilization_window_s, 60);
        assert_eq!(b.scale_up.select_policy, SelectPolicy::Max);
        assert_eq!(
            b.scale_up.policies,
            vec![policy(ScalingPolicyType::Percent, 100, 15)]
        );
        assert_eq!(b.scale_down.stabilization_window_s, 300);
        assert_eq!(
            b.scale_down.policies,
            vec![policy(ScalingPolicyType::Percent, 10, 60)]
        );
    }

    #[test]
    fn seed_001_two_documents_parse() {
        let docs: Vec<&str> = SEED_001_YAML.split("\n---\n").collect();
        assert_eq!(docs.len(), 2);
        let api = yaml(docs[0]).unwrap();
        assert_eq!(api.metadata.name, "hamballer-api-hpa");
        assert_eq!(api.spec.min_replicas(), 4);
        assert_eq!(api.spec.metrics.len(), 3);
        match &api.spec.metrics[2] {
            MetricSpec::Pods { pods } => {
                assert_eq!(pods.metric.name, "http_requests_per_second");
                assert_eq!(pods.target.target_type, MetricTargetType::AverageValue);
                assert_eq!(
                    pods.target.average_value.as_ref().unwrap().milli_value(),
                    100_000
                );
            }
            m => panic!("expected Pods metric, got {m:?}"),
        }
        let backend = yaml(docs[1]).unwrap();
        assert_eq!(backend.metadata.name, "hamballer-backend-hpa");
        assert_eq!(
            (backend.spec.min_replicas(), backend.spec.max_replicas),
            (5, 25)
        );
        let b = backend.spec.effective_behavior(300).unwrap();
        assert_eq!(b.scale_up.stabilization_window_s, 120);
        assert_eq!(
            b.scale_up.policies,
            vec![policy(ScalingPolicyType::Pods, 4, 60)]
        );
        assert_eq!(
            b.scale_down.policies,
            vec![policy(ScalingPolicyType::Pods, 2, 60)]
        );
        // JSON round trip keeps every field.
        for h in [api, backend] {
            let j = serde_json::to_string(&h).unwrap();
            assert_eq!(HorizontalPodAutoscaler::from_json(&j).unwrap(), h);
        }
    }

    const FULL: &str = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: full
  namespace: prod
  labels: {app: web}
  uid: 1234
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 512Mi}}
  - type: Object
    object:
      metric: {name: requests-per-second}
      describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main-route}
      target: {type: Value, value: 10k}
  - type: External
    external:
      metric:
        name: queue_messages_ready
        selector: {matchLabels: {queue: worker_tasks}}
      target: {type: AverageValue, averageValue: 30}
  behavior:
    scaleUp:
      selectPolicy: Disabled
      tolerance: 0.05
    scaleDown:
      tolerance: "200m"
"#;

    #[test]
    fn all_metric_types_and_defaults() {
        let h = yaml(FULL).unwrap();
        assert_eq!(h.spec.min_replicas(), 1, "minReplicas defaults to 1");
        assert_eq!(h.metadata.labels["app"], "web");
        let b = h.spec.effective_behavior(300).unwrap();
        // scaleUp: user selectPolicy, default window 0 and policies.
        assert_eq!(b.scale_up.select_policy, SelectPolicy::Disabled);
        assert_eq!(b.scale_up.stabilization_window_s, 0);
        assert_eq!(
            b.scale_up.policies,
            vec![
                policy(ScalingPolicyType::Pods, 4, 15),
                policy(ScalingPolicyType::Percent, 100, 15)
            ]
        );
        assert_eq!(b.scale_up.tolerance, Some(0.05));
        // scaleDown: window from the controller flag, Percent 100/15s.
        assert_eq!(b.scale_down.stabilization_window_s, 300);
        assert_eq!(
            b.scale_down.policies,
            vec![policy(ScalingPolicyType::Percent, 100, 15)]
        );
        assert_eq!(b.scale_down.tolerance, Some(0.2));
        let j = serde_json::to_string(&h).unwrap();
        assert_eq!(HorizontalPodAutoscaler::from_json(&j).unwrap(), h);
    }

    #[test]
    fn defaults_only_when_behavior_present() {
        let mut h = yaml(FULL).unwrap();
        h.spec.behavior = None;
        assert!(h.spec.effective_behavior(300).is_none());
        h.spec.behavior = Some(HpaBehavior::default());
        let b = h.spec.effective_behavior(120).unwrap();
        assert_eq!(b.scale_down.stabilization_window_s, 120);
        assert_eq!(b.scale_up.longest_period_s(), 15);
        h.spec.metrics.clear();
        match &h.spec.effective_metrics()[..] {
            [MetricSpec::Resource { resource }] => {
                assert_eq!(resource.name, "cpu");
                assert_eq!(resource.target.average_utilization, Some(80));
            }
            m => panic!("expected default CPU metric, got {m:?}"),
        }
    }

    #[test]
    fn unknown_fields_rejected_except_metadata() {
        let typo = FULL.replace("maxReplicas: 10", "maxReplicas: 10\n  maxReplica: 3");
        let e = yaml(&typo).unwrap_err();
        assert!(e.contains("maxReplica"), "{e}");
        let typo = FULL.replace(
            "selectPolicy: Disabled",
            "selectPolicy: Disabled\n      windowSeconds: 3",
        );
        assert!(yaml(&typo).is_err());
        let typo = FULL.replace(
            "averageValue: 512Mi}",
            "averageValue: 512Mi, averageUtilisation: 3}",
        );
        assert!(yaml(&typo).is_err());
        assert!(yaml(&FULL.replace("type: Value", "type: Values")).is_err());
        // A stray sibling key next to `type` in a metric item.
        let stray = FULL.replace(
            "    resource: {name: memory",
            "    pods: {metric: {name: x}, target: {type: AverageValue, averageValue: 1}}\n    resource: {name: memory",
        );
        assert!(yaml(&stray).is_err());
        assert!(yaml(&FULL.replace("selectPolicy: Disabled", "selectPolicy: Maximum")).is_err());
        // metadata tolerates server-populated fields (uid above).
        assert!(yaml(FULL).is_ok());
    }

    #[test]
    fn validation_names_the_field() {
        let base = yaml(SEED_000_YAML).unwrap();
        type Mutation = Box<dyn Fn(&mut HpaSpec)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|s| s.max_replicas = 0), "spec.maxReplicas"),
            (Box::new(|s| s.min_replicas = Some(30)), "spec.maxReplicas"),
            (Box::new(|s| s.min_replicas = Some(0)), "spec.minReplicas"),
            (
                Box::new(|s| {
                    s.behavior
                        .as_mut()
                        .unwrap()
                        .scale_up
                        .as_mut()
                        .unwrap()
                        .stabilization_window_seconds = Some(3601)
                }),
                "spec.behavior.scaleUp.stabilizationWindowSeconds",
            ),
            (
                Box::new(|s| {
                    s.behavior
                        .as_mut()
                        .unwrap()
                        .scale_down
                        .as_mut()
                        .unwrap()
                        .policies
                        .as_mut()
                        .unwrap()[0]
                        .period_seconds = 1801
                }),
                "spec.behavior.scaleDown.policies[0].periodSeconds",
            ),
            (
                Box::new(|s| {
                    s.behavior
                        .as_mut()
                        .unwrap()
                        .scale_down
                        .as_mut()
                        .unwrap()
                        .policies
                        .as_mut()
                        .unwrap()[0]
                        .period_seconds = 0
                }),
                "spec.behavior.scaleDown.policies[0].periodSeconds",
            ),
            (
                Box::new(|s| {
                    s.behavior
                        .as_mut()
                        .unwrap()
                        .scale_up
                        .as_mut()
                        .unwrap()
                        .policies = Some(vec![])
                }),
                "spec.behavior.scaleUp.policies",
            ),
            (
                Box::new(|s| {
                    if let MetricSpec::Resource { resource } = &mut s.metrics[0] {
                        resource.target.average_utilization = None;
                    }
                }),
                "spec.metrics[0].resource.target",
            ),
        ];
        for (mutate, field) in cases {
            let mut spec = base.spec.clone();
            mutate(&mut spec);
            let e = spec.validate().unwrap_err();
            assert!(e.contains(field), "expected {field} in {e}");
        }
        // Boundaries that are allowed.
        let mut spec = base.spec.clone();
        let b = spec.behavior.as_mut().unwrap();
        b.scale_up.as_mut().unwrap().stabilization_window_seconds = Some(3600);
        b.scale_down.as_mut().unwrap().policies.as_mut().unwrap()[0].period_seconds = 1800;
        spec.min_replicas = Some(20);
        assert_eq!(spec.validate(), Ok(()));
    }

    #[test]
    fn rejects_wrong_kind_and_v1_shape() {
        let e = yaml(&SEED_000_YAML.replace("autoscaling/v2", "autoscaling/v1")).unwrap_err();
        assert!(e.contains("apiVersion"), "{e}");
        let v1 = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {kind: Deployment, name: x}\n  maxReplicas: 3\n  targetCPUUtilizationPercentage: 50\n";
        assert!(yaml(v1).is_err());
    }
}
