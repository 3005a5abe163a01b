//! HPA manifests as `kubectl apply` accepts them: multi-document files, the older
//! `autoscaling/v1`, `v2beta1` and `v2beta2` versions converted to `autoscaling/v2` the
//! way the API server converts them, and a clear refusal of un-rendered Helm templates.
//!
//! Conversion follows kubernetes/kubernetes `pkg/apis/autoscaling/v1/conversion.go`
//! (`Convert_v1_HorizontalPodAutoscaler[Spec]_To_autoscaling_…`) and
//! `pkg/apis/autoscaling/v2beta1/conversion.go` (`Convert_v2beta1_*MetricSource_To_autoscaling_*`);
//! `v2beta2` has v2's field names (`pkg/apis/autoscaling/v2beta2/conversion.go`). Document
//! splitting follows `k8s.io/apimachinery/pkg/util/yaml/decoder.go` (`YAMLReader.Read`).

use super::hpa_config::{
    ContainerResourceMetricSource, CrossVersionObjectReference, ExternalMetricSource,
    HorizontalPodAutoscaler, HpaBehavior, HpaSpec, LabelSelector, MetricIdentifier, MetricSpec,
    MetricTarget, MetricTargetType, ObjectMeta, ObjectMetricSource, PodsMetricSource, Quantity,
    ResourceMetricSource, DEFAULT_CPU_UTILIZATION,
};
use crate::config::{find_line, parse_yaml};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

/// Annotation in which v1 carries the metrics it cannot express (v2beta1-shaped list).
pub const OTHER_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
/// Annotation in which v1 and v2beta1 carry `behavior` (v2 shape).
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";

/// One HPA read from a manifest file, converted to `autoscaling/v2`.
#[derive(Debug, Clone)]
pub struct Imported {
    pub hpa: HorizontalPodAutoscaler,
    /// The apiVersion it was written in.
    pub source_api_version: String,
    /// 1-based line where its document starts.
    pub line: usize,
    /// What conversion ignored, as the API server does (a malformed annotation).
    pub notes: Vec<String>,
}

/// One object read from a file: a YAML document, an object of a JSON stream, or an item of a
/// `kind: List`.
struct Object {
    /// 1-based line where its document (or JSON object) starts.
    line: usize,
    /// Where it is, for messages: `line 3`, or `line 3, items[1]`.
    at: String,
    value: serde_json::Value,
    /// A top-level YAML document, padded with blank lines so parser errors give the line in
    /// the whole file. `None` for JSON objects and List items, read from `value`.
    yaml: Option<String>,
}

impl Object {
    fn typed<T: serde::de::DeserializeOwned>(&self, path: &Path) -> Result<T> {
        match &self.yaml {
            Some(padded) => parse_yaml(path, padded),
            None => serde_json::from_value(self.value.clone())
                .map_err(|e| Error::input(path, self.at.clone(), e.to_string())),
        }
    }

    /// The line of `field` when the object is a YAML document, else where the object is.
    fn field_at(&self, field: &str) -> String {
        match self.yaml.as_deref().and_then(|y| find_line(y, field)) {
            Some(l) => format!("line {l}, field {field}"),
            None => format!("{}, field {field}", self.at),
        }
    }
}

/// The objects of a file as kubectl reads them (StreamVisitor, FlattenListVisitor): input
/// starting with `{` is a JSON stream, else YAML documents; empty and `null` documents are
/// skipped, and the `items` of `kind: List` (or any `…List`) are expanded.
fn objects(path: &Path, text: &str) -> Result<Vec<Object>> {
    let mut top = Vec::new();
    if text.trim_start().starts_with('{') {
        let lines = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
        let mut end = 0;
        while let Some(next) = stream.next() {
            let v = next.map_err(|e| {
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                Error::input(
                    path,
                    format!("line {}, column {}", e.line(), e.column()),
                    format!(
                        "not a valid JSON stream (input starting with `{{` is read as JSON): {msg}"
                    ),
                )
            })?;
            let start = end + (text[end..].len() - text[end..].trim_start().len());
            end = stream.byte_offset();
            let line = lines(start);
            top.push(Object {
                line,
                at: format!("line {line}"),
                value: v,
                yaml: None,
            });
        }
    } else {
        for (line, doc) in split_documents(path, text)? {
            let padded = format!("{}{doc}", "\n".repeat(line - 1));
            let value: serde_json::Value = parse_yaml(path, &padded)?;
            top.push(Object {
                line,
                at: format!("line {line}"),
                value,
                yaml: Some(padded),
            });
        }
    }
    let mut out = Vec::new();
    for o in top {
        flatten(path, o, &mut out)?;
    }
    Ok(out)
}

fn flatten(path: &Path, o: Object, out: &mut Vec<Object>) -> Result<()> {
    if o.value.is_null() {
        return Ok(()); // an empty document, as kubectl skips it
    }
    let kind = o.value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if !kind.ends_with("List") {
        out.push(o);
        return Ok(());
    }
    let items = match o.value.get("items") {
        None | Some(serde_json::Value::Null) => return Ok(()),
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(Error::input(
                path,
                o.field_at("items"),
                format!("expected `items` of this {kind} to be a list of Kubernetes objects"),
            ))
        }
    };
    for (i, value) in items.into_iter().enumerate() {
        flatten(
            path,
            Object {
                line: o.line,
                at: format!("{}, items[{i}]", o.at),
                value,
                yaml: None,
            },
            out,
        )?;
    }
    Ok(())
}

/// Every HPA in the file (other kinds skipped), converted and validated, plus the ignored kinds.
pub fn load_all(path: &Path, text: &str) -> Result<(Vec<Imported>, Vec<String>)> {
    refuse_helm(path, text)?;
    let mut hpas = Vec::new();
    let mut ignored = Vec::new();
    for obj in objects(path, text)? {
        let (line, at) = (obj.line, obj.at.clone());
        let Some(o) = obj.value.as_object() else {
            return Err(Error::input(
                path,
                at,
                "expected a Kubernetes object (a mapping with `apiVersion` and `kind`)",
            ));
        };
        let kind = o.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        if kind != "HorizontalPodAutoscaler" {
            ignored.push(if kind.is_empty() {
                format!("(no kind) at {at}")
            } else {
                format!("{kind} at {at}")
            });
            continue;
        }
        let api = o
            .get("apiVersion")
            .and_then(|k| k.as_str())
            .unwrap_or("")
            .to_string();
        let (hpa, notes) = match api.as_str() {
            "autoscaling/v2" | "autoscaling/v2beta2" => {
                let mut h: HorizontalPodAutoscaler = obj.typed(path)?;
                h.api_version = "autoscaling/v2".into();
                (h, Vec::new())
            }
            "autoscaling/v2beta1" => {
                let h: V2beta1Hpa = obj.typed(path)?;
                h.into_v2()
            }
            "autoscaling/v1" => {
                let h: V1Hpa = obj.typed(path)?;
                h.into_v2()
            }
            other => {
                return Err(Error::input(
                    path,
                    obj.field_at("apiVersion"),
                    format!(
                        "unsupported HorizontalPodAutoscaler apiVersion {other:?}: expected \
                         autoscaling/v2, autoscaling/v2beta2, autoscaling/v2beta1 or autoscaling/v1"
                    ),
                ));
            }
        };
        if let Err(mut msg) = hpa.validate() {
            let mut field = msg.split(':').next().unwrap_or("").trim().to_string();
            // Older versions are checked in the autoscaling/v2 form Kubernetes converts them
            // to: name the field the file has (v1's one CPU target), and say so.
            if api != "autoscaling/v2" && api != "autoscaling/v2beta2" {
                msg = format!("{msg} (checked as the autoscaling/v2 object {api} converts to)");
                let cpu_target = hpa
                    .spec
                    .metrics
                    .len()
                    .checked_sub(1)
                    .map(|i| format!("spec.metrics[{i}]"));
                if api == "autoscaling/v1"
                    && cpu_target.is_some_and(|t| field.starts_with(&t))
                    && text_has(obj.yaml.as_deref(), "targetCPUUtilizationPercentage")
                {
                    field = "spec.targetCPUUtilizationPercentage".into();
                }
            }
            let field = field.as_str();
            let loc = match obj.yaml.as_deref().and_then(|y| find_line(y, field)) {
                Some(l) => format!("line {l}, field {field}"),
                None => format!("HPA {:?} at {at}", hpa.metadata.name),
            };
            return Err(Error::input(path, loc, msg));
        }
        hpas.push(Imported {
            hpa,
            source_api_version: api,
            line,
            notes,
        });
    }
    Ok((hpas, ignored))
}

fn text_has(yaml: Option<&str>, key: &str) -> bool {
    yaml.is_some_and(|y| y.contains(key))
}

/// The HPA for `service`: the only HPA in the file, else the one whose `scaleTargetRef`
/// names a Deployment called `service`. Errors list the candidates.
pub fn load_for_service(path: &Path, text: &str, service: &str) -> Result<Imported> {
    let (mut hpas, ignored) = load_all(path, text)?;
    if hpas.is_empty() {
        let what = if ignored.is_empty() {
            "the file holds no objects".to_string()
        } else {
            format!("found only {}", ignored.join(", "))
        };
        return Err(Error::input(
            path,
            "",
            format!("expected a HorizontalPodAutoscaler (kind: HorizontalPodAutoscaler); {what}"),
        ));
    }
    if hpas.len() == 1 {
        return Ok(hpas.remove(0));
    }
    let matching: Vec<usize> = hpas
        .iter()
        .enumerate()
        .filter(|(_, i)| {
            let r = &i.hpa.spec.scale_target_ref;
            r.kind == "Deployment" && r.name == service
        })
        .map(|(k, _)| k)
        .collect();
    if matching.len() == 1 {
        return Ok(hpas.swap_remove(matching[0]));
    }
    let list = hpas
        .iter()
        .map(|i| {
            let r = &i.hpa.spec.scale_target_ref;
            format!(
                "{:?} (line {}, target {}/{})",
                i.hpa.metadata.name, i.line, r.kind, r.name
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let why = if matching.is_empty() {
        "none has"
    } else {
        "several have"
    };
    Err(Error::input(
        path,
        "",
        format!(
            "{} HorizontalPodAutoscalers and {why} scaleTargetRef Deployment/{service} \
             (the service's name): {list}; keep one per file or make exactly one target the service",
            hpas.len()
        ),
    ))
}

/// A one-line statement of what the HPA means after conversion and defaulting.
pub fn describe(i: &Imported) -> String {
    let s = &i.hpa.spec;
    let mut out = format!(
        "HorizontalPodAutoscaler {:?} (line {}, {}",
        i.hpa.metadata.name, i.line, i.source_api_version
    );
    // Deprecation guide: v2beta1 unserved from 1.25, v2beta2 from 1.26.
    match i.source_api_version.as_str() {
        "autoscaling/v2" => {}
        "autoscaling/v2beta1" => out.push_str(" (not served since Kubernetes 1.25)"),
        "autoscaling/v2beta2" => out.push_str(" (not served since Kubernetes 1.26)"),
        _ => {}
    }
    if i.source_api_version != "autoscaling/v2" {
        out.push_str(" converted to autoscaling/v2");
    }
    let _ = write!(
        out,
        "): target {}/{}, replicas {}..{}, metrics: ",
        s.scale_target_ref.kind,
        s.scale_target_ref.name,
        s.min_replicas(),
        s.max_replicas
    );
    let metrics = s.effective_metrics();
    let ms: Vec<String> = metrics.iter().map(describe_metric).collect();
    out.push_str(&ms.join(", "));
    if s.metrics.is_empty() {
        out.push_str(" (default)");
    }
    out.push_str(if s.behavior.is_some() {
        "; behavior set"
    } else {
        "; no behavior (controller defaults)"
    });
    for n in &i.notes {
        let _ = write!(out, "; {n}");
    }
    out
}

fn describe_target(t: &MetricTarget) -> String {
    match t.target_type {
        MetricTargetType::Utilization => {
            format!("utilization {}%", t.average_utilization.unwrap_or(0))
        }
        MetricTargetType::AverageValue => format!(
            "average value {}",
            t.average_value.as_ref().map_or("?", |q| q.as_str())
        ),
        MetricTargetType::Value => {
            format!("value {}", t.value.as_ref().map_or("?", |q| q.as_str()))
        }
    }
}

fn describe_metric(m: &MetricSpec) -> String {
    match m {
        MetricSpec::Resource { resource } => {
            format!("{} {}", resource.name, describe_target(&resource.target))
        }
        MetricSpec::ContainerResource { container_resource } => format!(
            "{} of container {} {}",
            container_resource.name,
            container_resource.container,
            describe_target(&container_resource.target)
        ),
        MetricSpec::Pods { pods } => {
            format!(
                "pods {} {}",
                pods.metric.name,
                describe_target(&pods.target)
            )
        }
        MetricSpec::Object { object } => format!(
            "object {}/{} {} {}",
            object.described_object.kind,
            object.described_object.name,
            object.metric.name,
            describe_target(&object.target)
        ),
        MetricSpec::External { external } => format!(
            "external {} {}",
            external.metric.name,
            describe_target(&external.target)
        ),
    }
}

/// `{{` anywhere means an un-rendered Helm (Go) template.
fn refuse_helm(path: &Path, text: &str) -> Result<()> {
    if let Some((n, _)) = text.lines().enumerate().find(|(_, l)| l.contains("{{")) {
        return Err(Error::input(
            path,
            format!("line {}", n + 1),
            "this is a Helm template; render it first with `helm template` \
             (e.g. `helm template RELEASE CHART > rendered.yaml`) and give surge the output",
        ));
    }
    Ok(())
}

/// Documents with their 1-based first line. A separator is a line starting with `---`
/// followed only by whitespace or a `#` comment (YAMLReader.Read trims with `TrimSpace`).
fn split_documents<'a>(path: &Path, text: &'a str) -> Result<Vec<(usize, &'a str)>> {
    let mut docs = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        let line = l.trim_end_matches(['\n', '\r']);
        if let Some(rest) = line.strip_prefix("---") {
            // `strings.TrimSpace`: spaces, tabs and other whitespace.
            let rest = rest.trim();
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err(Error::input(
                    path,
                    format!("line {}", n + 1),
                    "invalid YAML document separator: `---` must be followed only by whitespace or a comment",
                ));
            }
            docs.push((start_line, &text[start_byte..offset]));
            start_byte = offset + l.len();
            start_line = n + 2;
        }
        offset += l.len();
    }
    docs.push((start_line, &text[start_byte..]));
    Ok(docs
        .into_iter()
        .filter(|(_, d)| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect())
}

/// JSON from an annotation, keys in camelCase. The API server writes `behavior` from an
/// untagged internal type (`"ScaleUp"`, `"StabilizationWindowSeconds"`) and reads it with Go's
/// case-insensitive `encoding/json`, so a leading capital is lowered here. Since Kubernetes 1.18
/// (kubernetes#89963) conversion ignores an annotation that does not decode (`err == nil`
/// checks in `v1`/`v2beta1` conversion.go) instead of failing: so does this, with a note.
fn annotation_json<T: serde::de::DeserializeOwned>(
    meta: &ObjectMeta,
    key: &str,
) -> (Option<T>, Option<String>) {
    fn camel(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(o) => o
                .into_iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let k = match c.next() {
                        Some(f) => f.to_lowercase().chain(c).collect(),
                        None => k,
                    };
                    // Map keys (label names) are data, not field names: keep them.
                    let v = if k == "matchLabels" { v } else { camel(v) };
                    (k, v)
                })
                .collect(),
            serde_json::Value::Array(a) => a.into_iter().map(camel).collect(),
            v => v,
        }
    }
    let Some(j) = meta.annotations.get(key) else {
        return (None, None);
    };
    let ignored = |why: String| {
        Some(format!(
            "annotation {key:?} ignored, as the API server ignores it: {why}"
        ))
    };
    let v: serde_json::Value = match serde_json::from_str(j) {
        Ok(v) => v,
        Err(e) => return (None, ignored(format!("not JSON ({e})"))),
    };
    match serde_json::from_value(camel(v)) {
        Ok(t) => (Some(t), None),
        Err(e) => (None, ignored(e.to_string())),
    }
}

/// `behavior` from its annotation: one that does not decode, or decodes to an empty behavior
/// (`{}`), leaves the HPA without behavior (`behavior != HorizontalPodAutoscalerBehavior{}`).
fn behavior_from_annotation(meta: &ObjectMeta, notes: &mut Vec<String>) -> Option<HpaBehavior> {
    let (b, note) = annotation_json::<HpaBehavior>(meta, BEHAVIOR_ANNOTATION);
    notes.extend(note);
    match b {
        Some(b) if b == HpaBehavior::default() => {
            notes.push(format!(
                "annotation {BEHAVIOR_ANNOTATION:?} is an empty behavior, which the API server \
                 drops"
            ));
            None
        }
        b => b,
    }
}

// ---------------------------------------------------------------------------
// autoscaling/v1
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct V1Hpa {
    #[allow(dead_code)]
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: V1Spec,
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct V1Spec {
    scale_target_ref: CrossVersionObjectReference,
    #[serde(default)]
    min_replicas: Option<i32>,
    max_replicas: i32,
    #[serde(default, rename = "targetCPUUtilizationPercentage")]
    target_cpu_utilization_percentage: Option<i32>,
}

impl V1Hpa {
    /// `Convert_v1_HorizontalPodAutoscaler[Spec]_To_autoscaling_…`: metrics from the
    /// annotation (v2beta1 shape, `autoscalingv1.MetricSpec`), then the CPU target as a
    /// Resource/Utilization metric; with none at all, CPU at `DefaultCPUUtilization` (80 %).
    fn into_v2(self) -> (HorizontalPodAutoscaler, Vec<String>) {
        // Annotation metrics first, then the one from targetCPUUtilizationPercentage.
        let mut metrics = Vec::new();
        let (other, note): (Option<Vec<V2beta1Metric>>, _) =
            annotation_json(&self.metadata, OTHER_METRICS_ANNOTATION);
        let mut notes: Vec<String> = note.into_iter().collect();
        metrics.extend(other.into_iter().flatten().map(V2beta1Metric::into_v2));
        if let Some(u) = self.spec.target_cpu_utilization_percentage {
            metrics.push(resource_metric("cpu", Some(u), None));
        }
        // "autoscaling/v1 formerly had an implicit default applied in the controller ...
        // We apply it here, explicitly".
        if metrics.is_empty() {
            metrics.push(resource_metric("cpu", Some(DEFAULT_CPU_UTILIZATION), None));
        }
        let behavior = behavior_from_annotation(&self.metadata, &mut notes);
        let hpa = HorizontalPodAutoscaler {
            api_version: "autoscaling/v2".into(),
            kind: self.kind,
            metadata: self.metadata,
            spec: HpaSpec {
                scale_target_ref: self.spec.scale_target_ref,
                min_replicas: self.spec.min_replicas,
                max_replicas: self.spec.max_replicas,
                metrics,
                behavior,
            },
            status: None,
        };
        (hpa, notes)
    }
}

fn resource_metric(name: &str, utilization: Option<i32>, avg: Option<Quantity>) -> MetricSpec {
    MetricSpec::Resource {
        resource: ResourceMetricSource {
            name: name.into(),
            target: resource_target(utilization, avg),
        },
    }
}

/// Utilization when `targetAverageUtilization` is set, else AverageValue (v2beta1 conversion).
fn resource_target(utilization: Option<i32>, avg: Option<Quantity>) -> MetricTarget {
    MetricTarget {
        target_type: if utilization.is_some() {
            MetricTargetType::Utilization
        } else {
            MetricTargetType::AverageValue
        },
        value: None,
        average_value: avg,
        average_utilization: utilization,
    }
}

// ---------------------------------------------------------------------------
// autoscaling/v2beta1
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct V2beta1Hpa {
    #[allow(dead_code)]
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: V2beta1Spec,
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct V2beta1Spec {
    scale_target_ref: CrossVersionObjectReference,
    #[serde(default)]
    min_replicas: Option<i32>,
    max_replicas: i32,
    #[serde(default)]
    metrics: Vec<V2beta1Metric>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum V2beta1Metric {
    Resource {
        resource: B1Resource,
    },
    ContainerResource {
        #[serde(rename = "containerResource")]
        container_resource: B1ContainerResource,
    },
    Pods {
        pods: B1Pods,
    },
    Object {
        object: B1Object,
    },
    External {
        external: B1External,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct B1Resource {
    name: String,
    #[serde(default)]
    target_average_utilization: Option<i32>,
    #[serde(default)]
    target_average_value: Option<Quantity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct B1ContainerResource {
    name: String,
    container: String,
    #[serde(default)]
    target_average_utilization: Option<i32>,
    #[serde(default)]
    target_average_value: Option<Quantity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct B1Pods {
    metric_name: String,
    target_average_value: Quantity,
    #[serde(default)]
    selector: Option<LabelSelector>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct B1Object {
    target: CrossVersionObjectReference,
    metric_name: String,
    #[serde(default)]
    target_value: Option<Quantity>,
    #[serde(default)]
    selector: Option<LabelSelector>,
    #[serde(default)]
    average_value: Option<Quantity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct B1External {
    metric_name: String,
    #[serde(default)]
    metric_selector: Option<LabelSelector>,
    #[serde(default)]
    target_value: Option<Quantity>,
    #[serde(default)]
    target_average_value: Option<Quantity>,
}

impl V2beta1Metric {
    /// `Convert_v2beta1_*MetricSource_To_autoscaling_*MetricSource`.
    fn into_v2(self) -> MetricSpec {
        match self {
            V2beta1Metric::Resource { resource: r } => resource_metric(
                &r.name,
                r.target_average_utilization,
                r.target_average_value,
            ),
            V2beta1Metric::ContainerResource {
                container_resource: r,
            } => MetricSpec::ContainerResource {
                container_resource: ContainerResourceMetricSource {
                    name: r.name,
                    container: r.container,
                    target: resource_target(r.target_average_utilization, r.target_average_value),
                },
            },
            // Pods: always AverageValue.
            V2beta1Metric::Pods { pods: p } => MetricSpec::Pods {
                pods: PodsMetricSource {
                    metric: MetricIdentifier {
                        name: p.metric_name,
                        selector: p.selector,
                    },
                    target: MetricTarget {
                        target_type: MetricTargetType::AverageValue,
                        value: None,
                        average_value: Some(p.target_average_value),
                        average_utilization: None,
                    },
                },
            },
            // Object: AverageValue if `averageValue` is set, else Value; `target` is the
            // described object.
            V2beta1Metric::Object { object: o } => MetricSpec::Object {
                object: ObjectMetricSource {
                    described_object: o.target,
                    metric: MetricIdentifier {
                        name: o.metric_name,
                        selector: o.selector,
                    },
                    target: MetricTarget {
                        target_type: if o.average_value.is_some() {
                            MetricTargetType::AverageValue
                        } else {
                            MetricTargetType::Value
                        },
                        value: o.target_value,
                        average_value: o.average_value,
                        average_utilization: None,
                    },
                },
            },
            // External: Value if `targetValue` is set, else AverageValue.
            V2beta1Metric::External { external: e } => MetricSpec::External {
                external: ExternalMetricSource {
                    metric: MetricIdentifier {
                        name: e.metric_name,
                        selector: e.metric_selector,
                    },
                    target: MetricTarget {
                        target_type: if e.target_value.is_some() {
                            MetricTargetType::Value
                        } else {
                            MetricTargetType::AverageValue
                        },
                        value: e.target_value,
                        average_value: e.target_average_value,
                        average_utilization: None,
                    },
                },
            },
        }
    }
}

impl V2beta1Hpa {
    fn into_v2(self) -> (HorizontalPodAutoscaler, Vec<String>) {
        let mut notes = Vec::new();
        let behavior = behavior_from_annotation(&self.metadata, &mut notes);
        let hpa = HorizontalPodAutoscaler {
            api_version: "autoscaling/v2".into(),
            kind: self.kind,
            metadata: self.metadata,
            spec: HpaSpec {
                scale_target_ref: self.spec.scale_target_ref,
                min_replicas: self.spec.min_replicas,
                max_replicas: self.spec.max_replicas,
                metrics: self
                    .spec
                    .metrics
                    .into_iter()
                    .map(V2beta1Metric::into_v2)
                    .collect(),
                behavior,
            },
            status: None,
        };
        (hpa, notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_at_separator_lines_only() {
        let p = Path::new("m.yaml");
        let text = "---\na: 1\n--- # two\r\nb: '---'\n  ---\n---   \n# only a comment\n---\nc: 3";
        let docs = split_documents(p, text).unwrap();
        let lines: Vec<usize> = docs.iter().map(|d| d.0).collect();
        // The leading and the comment-only documents are skipped; `  ---` is content.
        assert_eq!(lines, [2, 4, 9]);
        assert!(docs[1].1.contains("b: '---'") && docs[1].1.contains("  ---"));
        let e = split_documents(p, "a: 1\n---x\nb: 2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("separator"), "{e}");
    }

    #[test]
    fn helm_braces_anywhere_are_refused_with_their_line() {
        let p = Path::new("t.yaml");
        let e = load_all(p, "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {{ .Release.Name }}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.yaml: line 4") && e.contains("helm template"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_api_version_names_the_field() {
        let p = Path::new("h.yaml");
        let text =
            "kind: HorizontalPodAutoscaler\napiVersion: autoscaling/v3\nmetadata: {name: x}\n";
        let e = load_all(p, text).unwrap_err().to_string();
        assert!(
            e.contains("line 2, field apiVersion") && e.contains("autoscaling/v3"),
            "{e}"
        );
    }
}
