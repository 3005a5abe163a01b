//! HPA manifests as kubectl accepts them: older apiVersions converted to autoscaling/v2 as
//! the API server converts them (kubernetes `pkg/apis/autoscaling/v1/conversion.go`,
//! `pkg/apis/autoscaling/v2beta1/conversion.go`), multi-document files, Helm templates.

mod common;

use common::{root, stderr, surge};
use std::path::PathBuf;
use surge::autoscale::hpa_config::{MetricSpec, MetricTargetType, ScalingPolicyType, SelectPolicy};
use surge::autoscale::hpa_import::{load_all, load_for_service, Imported};

fn data(name: &str) -> PathBuf {
    root().join("tests/data/hpa").join(name)
}

fn load(name: &str, service: &str) -> Imported {
    let p = data(name);
    let text = std::fs::read_to_string(&p).unwrap();
    load_for_service(&p, &text, service).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (type, average utilization, average value milli, value milli) of a metric's target.
fn target(m: &MetricSpec) -> (MetricTargetType, Option<i32>, Option<i64>, Option<i64>) {
    let t = match m {
        MetricSpec::Resource { resource } => &resource.target,
        MetricSpec::ContainerResource { container_resource } => &container_resource.target,
        MetricSpec::Pods { pods } => &pods.target,
        MetricSpec::Object { object } => &object.target,
        MetricSpec::External { external } => &external.target,
    };
    (
        t.target_type,
        t.average_utilization,
        t.average_value.as_ref().map(|q| q.milli_value()),
        t.value.as_ref().map(|q| q.milli_value()),
    )
}

fn resource_name(m: &MetricSpec) -> &str {
    match m {
        MetricSpec::Resource { resource } => &resource.name,
        other => panic!("expected a Resource metric, got {other:?}"),
    }
}

#[test]
fn v1_target_cpu_becomes_a_utilization_metric() {
    let i = load("v1-php-apache.yaml", "php-apache");
    assert_eq!(i.source_api_version, "autoscaling/v1");
    assert_eq!(i.hpa.api_version, "autoscaling/v2");
    let s = &i.hpa.spec;
    assert_eq!((s.min_replicas(), s.max_replicas), (1, 10));
    assert_eq!(s.metrics.len(), 1);
    assert_eq!(resource_name(&s.metrics[0]), "cpu");
    assert_eq!(
        target(&s.metrics[0]),
        (MetricTargetType::Utilization, Some(50), None, None)
    );
    assert!(s.behavior.is_none(), "v1 has no behavior");
}

#[test]
fn v1_without_target_gets_cpu_80() {
    let i = load("v1-default-target.yaml", "frontend");
    let s = &i.hpa.spec;
    // minReplicas defaults to 1; the conversion writes CPU 80 % explicitly.
    assert_eq!((s.min_replicas(), s.max_replicas), (1, 6));
    assert_eq!(s.metrics.len(), 1);
    assert_eq!(resource_name(&s.metrics[0]), "cpu");
    assert_eq!(
        target(&s.metrics[0]),
        (MetricTargetType::Utilization, Some(80), None, None)
    );
}

#[test]
fn v1_annotations_carry_other_metrics_and_behavior() {
    let i = load("v1-annotations.yaml", "checkout");
    let s = &i.hpa.spec;
    // Annotation metrics first, then targetCPUUtilizationPercentage.
    assert_eq!(s.metrics.len(), 2);
    assert_eq!(resource_name(&s.metrics[0]), "memory");
    assert_eq!(
        target(&s.metrics[0]),
        (
            MetricTargetType::AverageValue,
            None,
            Some(512 * 1024 * 1024 * 1000),
            None
        )
    );
    assert_eq!(resource_name(&s.metrics[1]), "cpu");
    assert_eq!(
        target(&s.metrics[1]),
        (MetricTargetType::Utilization, Some(60), None, None)
    );
    // Go-cased behavior JSON ("ScaleUp", "PeriodSeconds") read as the API server reads it.
    let b = s
        .effective_behavior(300)
        .expect("behavior from the annotation");
    assert_eq!(b.scale_down.stabilization_window_s, 300);
    assert_eq!(b.scale_down.policies.len(), 1);
    assert_eq!(
        b.scale_down.policies[0].policy_type,
        ScalingPolicyType::Percent
    );
    assert_eq!(
        (
            b.scale_down.policies[0].value,
            b.scale_down.policies[0].period_seconds
        ),
        (10, 60)
    );
    assert_eq!(b.scale_up.policies.len(), 2);
}

#[test]
fn v2beta1_metrics_convert_by_source_type() {
    let i = load("v2beta1-multiple-metrics.yaml", "php-apache");
    assert_eq!(i.source_api_version, "autoscaling/v2beta1");
    let m = &i.hpa.spec.metrics;
    assert_eq!(m.len(), 5);
    // Resource: targetAverageUtilization -> Utilization.
    assert_eq!(
        target(&m[0]),
        (MetricTargetType::Utilization, Some(50), None, None)
    );
    // Resource: targetAverageValue only -> AverageValue.
    assert_eq!(
        target(&m[1]),
        (
            MetricTargetType::AverageValue,
            None,
            Some(200 * 1024 * 1024 * 1000),
            None
        )
    );
    // Pods: metricName -> metric.name, always AverageValue.
    match &m[2] {
        MetricSpec::Pods { pods } => assert_eq!(pods.metric.name, "packets-per-second"),
        o => panic!("{o:?}"),
    }
    assert_eq!(
        target(&m[2]),
        (MetricTargetType::AverageValue, None, Some(1_000_000), None)
    );
    // Object: `target` -> describedObject, targetValue -> Value.
    match &m[3] {
        MetricSpec::Object { object } => {
            assert_eq!(object.described_object.kind, "Ingress");
            assert_eq!(object.described_object.name, "main-route");
            assert_eq!(object.metric.name, "requests-per-second");
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(
        target(&m[3]),
        (MetricTargetType::Value, None, None, Some(10_000_000))
    );
    // External: metricSelector -> metric.selector; no targetValue -> AverageValue.
    match &m[4] {
        MetricSpec::External { external } => {
            assert_eq!(external.metric.name, "queue_messages_ready");
            let sel = external.metric.selector.as_ref().unwrap();
            assert_eq!(sel.match_labels["queue"], "worker_tasks");
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(
        target(&m[4]),
        (MetricTargetType::AverageValue, None, Some(30_000), None)
    );
    assert!(
        i.hpa.spec.behavior.is_none(),
        "v2beta1 has no behavior field"
    );
}

#[test]
fn v2beta2_reads_as_v2_with_behavior() {
    let i = load("v2beta2-behavior.yaml", "worker");
    assert_eq!(i.source_api_version, "autoscaling/v2beta2");
    let s = &i.hpa.spec;
    assert_eq!((s.min_replicas(), s.max_replicas), (3, 30));
    assert_eq!(
        target(&s.metrics[0]),
        (MetricTargetType::AverageValue, None, Some(30_000), None)
    );
    let b = s.effective_behavior(300).unwrap();
    assert_eq!(b.scale_down.stabilization_window_s, 600);
    assert_eq!(b.scale_down.select_policy, SelectPolicy::Min);
    assert_eq!(b.scale_down.policies.len(), 2);
    // scaleUp absent: the v2 defaults.
    assert_eq!(b.scale_up.stabilization_window_s, 0);
    assert_eq!(b.scale_up.policies.len(), 2);
}

#[test]
fn multi_document_file_selects_the_service_hpa() {
    // One HPA among other kinds: taken whatever the service is called.
    let i = load("app-bundle.yaml", "web");
    assert_eq!(i.hpa.metadata.name, "web");
    assert_eq!(
        i.line, 40,
        "the HPA's document starts after `--- # the autoscaler`"
    );
    let (hpas, ignored) = {
        let p = data("app-bundle.yaml");
        load_all(&p, &std::fs::read_to_string(&p).unwrap()).unwrap()
    };
    assert_eq!(hpas.len(), 1);
    assert_eq!(ignored, ["Deployment at line 1", "Service at line 30"]);
    // Several HPAs: the one whose scaleTargetRef names the service.
    let api = load("two-hpas.yaml", "api");
    assert_eq!(api.hpa.metadata.name, "api-hpa");
    let worker = load("two-hpas.yaml", "worker");
    assert_eq!(worker.hpa.metadata.name, "worker-hpa");
    assert_eq!(
        target(&worker.hpa.spec.metrics[0]),
        (MetricTargetType::Utilization, Some(75), None, None)
    );
}

#[test]
fn ambiguous_or_missing_hpa_is_a_located_error() {
    let p = data("two-hpas.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    let e = load_for_service(&p, &text, "web").unwrap_err().to_string();
    for needle in [
        "two-hpas.yaml",
        "Deployment/web",
        "\"api-hpa\" (line 1",
        "\"worker-hpa\" (line 22",
    ] {
        assert!(e.contains(needle), "{needle} in {e}");
    }
    let p = data("no-hpa.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    let e = load_for_service(&p, &text, "web").unwrap_err().to_string();
    assert!(
        e.contains("no-hpa.yaml") && e.contains("Deployment at line 1"),
        "{e}"
    );
    // A bad separator and a bad field are located in the whole file.
    let bad = text.replace("---", "--- x");
    let e = load_for_service(&p, &bad, "web").unwrap_err().to_string();
    assert!(e.contains("line 16") && e.contains("separator"), "{e}");
    let p = data("two-hpas.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    let bad = text.replace("maxReplicas: 4", "maxReplicas: 0");
    let e = load_for_service(&p, &bad, "worker")
        .unwrap_err()
        .to_string();
    assert!(e.contains("spec.maxReplicas"), "{e}");
    let bad = text.replace(
        "targetCPUUtilizationPercentage",
        "targetCPUUtilisationPercentage",
    );
    let e = load_for_service(&p, &bad, "worker")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 33") && e.contains("targetCPUUtilisationPercentage"),
        "{e}"
    );
}

#[test]
fn cli_validate_prints_the_v2_meaning() {
    let o = surge(
        &["validate", "tests/data/hpa/v1-default-target.yaml"],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "autoscaling/v1 converted to autoscaling/v2",
        "replicas 1..6",
        "cpu utilization 80%",
    ] {
        assert!(out.contains(needle), "{needle} in {out}");
    }
    let o = surge(&["validate", "tests/data/hpa/app-bundle.yaml"], &root());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("replicas 2..8") && out.contains("ignored Deployment"),
        "{out}"
    );
    let o = surge(
        &["validate", "tests/data/hpa/v2beta1-multiple-metrics.yaml"],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("not served since Kubernetes 1.25"), "{out}");
    // `kubectl get -o json` output is a manifest too.
    let o = surge(&["validate", "tests/data/hpa/v2-json.json"], &root());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("replicas 1..10") && out.contains("cpu utilization 50%"),
        "{out}"
    );
    let o = surge(&["validate", "tests/data/hpa/no-hpa.yaml"], &root());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected a HorizontalPodAutoscaler"));
}

#[test]
fn cli_refuses_a_helm_template() {
    let o = surge(&["validate", "tests/data/hpa/helm-hpa.yaml"], &root());
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("helm-hpa.yaml: line 1")
            && e.contains("this is a Helm template; render it first with `helm template`"),
        "{e}"
    );
}

#[test]
fn model_loads_a_multi_document_manifest_for_its_service() {
    let d = common::tmpdir("hpa_import", "model");
    std::fs::copy(data("two-hpas.yaml"), d.join("hpas.yaml")).unwrap();
    std::fs::copy(data("helm-hpa.yaml"), d.join("helm.yaml")).unwrap();
    let model = "entry: worker
services:
  worker:
    replicas: 1
    pod: {cores: 1}
    autoscaler: hpas.yaml
    endpoints:
      home:
        - cpu: exp(mean=5ms)
";
    std::fs::write(d.join("model.yaml"), model).unwrap();
    let o = surge(&["validate", "model.yaml"], &d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The same file for a service no HPA targets: the ambiguity, naming the manifest.
    std::fs::write(d.join("model.yaml"), model.replace("worker", "web")).unwrap();
    let o = surge(&["validate", "model.yaml"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("hpas.yaml") && e.contains("Deployment/web"),
        "{e}"
    );
    std::fs::write(
        d.join("model.yaml"),
        model.replace("hpas.yaml", "helm.yaml"),
    )
    .unwrap();
    let o = surge(&["validate", "model.yaml"], &d);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("helm.yaml: line 1") && e.contains("Helm template"),
        "{e}"
    );
}

fn load_file(name: &str) -> (Vec<Imported>, Vec<String>) {
    let p = data(name);
    load_all(&p, &std::fs::read_to_string(&p).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn json_stream_reads_every_object() {
    // Input starting with `{` is a JSON stream (kubectl StreamVisitor): every object is read,
    // not only the first, and a Deployment before the HPA is skipped.
    let (hpas, ignored) = load_file("stream.json");
    let names: Vec<(&str, usize)> = hpas
        .iter()
        .map(|i| (i.hpa.metadata.name.as_str(), i.line))
        .collect();
    assert_eq!(names, [("web-hpa", 2), ("api-hpa", 3)]);
    assert_eq!(ignored, ["Deployment at line 1"]);
    let api = load("stream.json", "api");
    assert_eq!(api.source_api_version, "autoscaling/v1");
    assert_eq!(
        target(&api.hpa.spec.metrics[0]),
        (MetricTargetType::Utilization, Some(65), None, None)
    );
    assert_eq!(load("stream.json", "web").hpa.spec.max_replicas, 6);
    // Objects back to back without a line break, and a null between them.
    let p = data("stream.json");
    let (hpas, _) = load_all(&p, "{\"kind\":\"Service\"}null{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"a\"},\"maxReplicas\":2}}").unwrap();
    assert_eq!(hpas.len(), 1);
    // A broken second object: the line and column in the file.
    let text = std::fs::read_to_string(&p).unwrap();
    let bad = text.replacen("\"minReplicas\": 2,", "\"minReplicas\": 2,,", 1);
    let e = load_all(&p, &bad).unwrap_err().to_string();
    assert!(
        e.contains("stream.json: line 2, column") && e.contains("JSON stream"),
        "{e}"
    );
    // A field error in an object of the stream names the object's line.
    let bad = text.replacen("\"maxReplicas\": 9", "\"maxReplicas\": \"nine\"", 1);
    let e = load_all(&p, &bad).unwrap_err().to_string();
    assert!(
        e.contains("stream.json: line 3") && e.contains("nine"),
        "{e}"
    );
}

#[test]
fn lists_are_expanded() {
    // `kind: List` (and `HorizontalPodAutoscalerList`) items are objects (FlattenListVisitor).
    let (hpas, ignored) = load_file("list.yaml");
    let names: Vec<&str> = hpas.iter().map(|i| i.hpa.metadata.name.as_str()).collect();
    assert_eq!(names, ["web-hpa", "api-hpa"]);
    assert_eq!(ignored, ["Deployment at line 1, items[0]"]);
    let web = load("list.yaml", "web");
    assert_eq!(
        (web.hpa.spec.min_replicas(), web.hpa.spec.max_replicas),
        (2, 5)
    );
    assert_eq!(
        target(&web.hpa.spec.metrics[0]),
        (MetricTargetType::Utilization, Some(60), None, None)
    );
    let api = load("list.yaml", "api");
    assert_eq!(api.source_api_version, "autoscaling/v1");
    assert_eq!(api.line, 31);
    // An item's error names the document and the item.
    let p = data("list.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    let bad = text.replace("maxReplicas: 4", "maxReplicas: four");
    let e = load_all(&p, &bad).unwrap_err().to_string();
    assert!(e.contains("list.yaml: line 31, items[0]"), "{e}");
    let e = load_all(&p, "kind: List\nitems: 3\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 2, field items") && e.contains("list"),
        "{e}"
    );
}

#[test]
fn malformed_or_empty_annotations_are_ignored_as_the_api_server_does() {
    // kubernetes#89963: a metrics annotation that does not decode is ignored, and a behavior
    // annotation that decodes to `{}` leaves the HPA without behavior.
    let i = load("v1-bad-annotations.yaml", "web");
    let s = &i.hpa.spec;
    assert_eq!(s.metrics.len(), 1);
    assert_eq!(
        target(&s.metrics[0]),
        (MetricTargetType::Utilization, Some(80), None, None)
    );
    assert!(s.behavior.is_none());
    let d = surge::autoscale::hpa_import::describe(&i);
    assert!(
        d.contains("no behavior")
            && d.contains("\"autoscaling.alpha.kubernetes.io/metrics\" ignored")
            && d.contains("empty behavior"),
        "{d}"
    );
}

#[test]
fn separator_followed_by_a_tab_is_accepted() {
    // YAMLReader.Read trims the rest of a `---` line with strings.TrimSpace.
    let p = data("two-hpas.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("---\n", "---\t \r\n");
    let (hpas, _) = load_all(&p, &text).unwrap();
    assert_eq!(hpas.len(), 2);
}
