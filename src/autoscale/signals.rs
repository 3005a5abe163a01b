//! Where each HPA metric's numbers come from. Resource metrics (cpu, memory) are the simulated
//! metrics-server's; every `Pods`, `Object` and `External` metric must be mapped by the model's
//! `metric_sources:` to a simulated signal (`config::metric_source::Signal`), and the HPA itself
//! picks the component: a `Pods` metric reads each pod of the scaled service, an `Object` metric
//! reads its `describedObject`, an `External` metric the component its selector names
//! (`matchLabels` key `service`, `deployment`, `app`, `queue`, `database` or `component`),
//! falling back to the entry's `component:` and then to the scaled service.
//!
//! This module only resolves names (model validation calls [`check_model`]); the driver reads
//! the values at each metrics scrape.

use super::hpa_config::{HorizontalPodAutoscaler, MetricSpec};
use crate::config::metric_source::Signal;
use crate::config::model::{AutoscalerRef, ModelFile};

/// A component of the model, by its index in model (key) order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Service(u32),
    Queue(u32),
    Database(u32),
}

/// One term of a signal expression: a signal on a component, with its weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Term {
    pub signal: Signal,
    pub component: Component,
    pub weight: f64,
}

/// A weighted sum of signals plus a constant.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub terms: Vec<Term>,
    pub constant: f64,
}

impl Expr {
    /// Σ weight × reading + constant; `None` if any reading is missing.
    pub fn eval(&self, mut read: impl FnMut(&Term) -> Option<f64>) -> Option<f64> {
        let mut v = self.constant;
        for t in &self.terms {
            v += t.weight * read(t)?;
        }
        Some(v)
    }
}

/// How one metric of an HPA is read.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricRead {
    /// cpu or memory from metrics-server, on each pod (the controller does the arithmetic).
    Resource,
    /// A per-pod value for a `Pods` metric: the terms are read on each pod.
    PerPod(Expr),
    /// One value for an `Object` or `External` metric (External: the sum over its series).
    Value(Expr),
    /// A metric type surge does not model (`ContainerResource`): the controller reports it failed.
    Unsupported,
}

/// Names of the model's components, in model order.
pub struct Names<'a> {
    pub services: Vec<&'a str>,
    pub queues: Vec<&'a str>,
    pub databases: Vec<&'a str>,
}

impl<'a> Names<'a> {
    pub fn of(m: &'a ModelFile) -> Self {
        Names {
            services: m.services.keys().map(|s| s.as_str()).collect(),
            queues: m.queues.keys().map(|s| s.as_str()).collect(),
            databases: m.databases.keys().map(|s| s.as_str()).collect(),
        }
    }

    fn find(list: &[&str], name: &str) -> Option<u32> {
        list.iter().position(|x| *x == name).map(|i| i as u32)
    }

    /// The component `name` that offers `signal`.
    fn component(&self, signal: Signal, name: &str) -> Result<Component, String> {
        let svc = Self::find(&self.services, name).map(Component::Service);
        let queue = Self::find(&self.queues, name).map(Component::Queue);
        let db = Self::find(&self.databases, name).map(Component::Database);
        let found = match signal {
            Signal::QueueLength | Signal::QueueOldestAge => queue,
            Signal::ReplicaLag => db,
            Signal::PoolWaiters => svc.or(db),
            _ => svc,
        };
        found.ok_or_else(|| {
            let list = |l: &[&str]| {
                if l.is_empty() {
                    "none".to_string()
                } else {
                    l.join(", ")
                }
            };
            let known = match signal {
                Signal::QueueLength | Signal::QueueOldestAge => {
                    format!("queues: {}", list(&self.queues))
                }
                Signal::ReplicaLag => format!("databases: {}", list(&self.databases)),
                Signal::PoolWaiters => format!(
                    "services: {}; databases: {}",
                    list(&self.services),
                    list(&self.databases)
                ),
                _ => format!("services: {}", list(&self.services)),
            };
            format!(
                "signal {signal} is read from {}, and {name:?} is not one ({known})",
                signal.owner()
            )
        })
    }
}

/// The selector label naming the component of an `External` metric.
const SELECTOR_KEYS: [&str; 6] = [
    "service",
    "deployment",
    "app",
    "queue",
    "database",
    "component",
];

/// How each metric of the HPA on `service` is read, in spec order (after defaulting). Errors
/// name the metric (`spec.metrics[i]`) and what is available.
pub fn resolve(
    m: &ModelFile,
    service: &str,
    hpa: &HorizontalPodAutoscaler,
) -> Result<Vec<MetricRead>, String> {
    let names = Names::of(m);
    let own = names
        .services
        .iter()
        .position(|s| *s == service)
        .unwrap_or(0) as u32;
    let mut out = Vec::new();
    for (i, spec) in hpa.spec.effective_metrics().iter().enumerate() {
        let (kind, metric) = match spec {
            MetricSpec::Resource { .. } => {
                out.push(MetricRead::Resource);
                continue;
            }
            MetricSpec::ContainerResource { .. } => {
                out.push(MetricRead::Unsupported);
                continue;
            }
            MetricSpec::Pods { pods } => ("Pods", &pods.metric),
            MetricSpec::Object { object } => ("Object", &object.metric),
            MetricSpec::External { external } => ("External", &external.metric),
        };
        let at = format!("spec.metrics[{i}] ({kind} metric {:?})", metric.name);
        let Some(src) = m.metric_sources.get(&metric.name) else {
            let mapped: Vec<&str> = m.metric_sources.keys().map(|k| k.as_str()).collect();
            return Err(format!(
                "{at} has no entry in the model's metric_sources{}; map it, e.g. `metric_sources: {{{}: {{signal: requests_per_second}}}}`; available signals: {}",
                if mapped.is_empty() {
                    String::new()
                } else {
                    format!(" (mapped: {})", mapped.join(", "))
                },
                metric.name,
                Signal::catalogue()
            ));
        };
        let (terms, constant) = src
            .terms()
            .map_err(|e| format!("{at}: metric_sources.{}: {e}", metric.name))?;
        let name: String = match spec {
            MetricSpec::Object { object } => object.described_object.name.clone(),
            MetricSpec::External { external } => external
                .metric
                .selector
                .as_ref()
                .and_then(|s| {
                    SELECTOR_KEYS
                        .iter()
                        .find_map(|k| s.match_labels.get(*k).cloned())
                })
                .or_else(|| src.component.clone())
                .unwrap_or_else(|| service.to_string()),
            _ => service.to_string(),
        };
        let mut expr = Expr {
            terms: Vec::new(),
            constant,
        };
        for (signal, weight) in terms {
            let component = if kind == "Pods" {
                if !signal.per_pod() {
                    return Err(format!(
                        "{at}: a Pods metric needs a per-pod signal, and {signal} is read from {}; use an Object or External metric for it",
                        signal.owner()
                    ));
                }
                Component::Service(own)
            } else {
                names
                    .component(signal, &name)
                    .map_err(|e| format!("{at}: {e}"))?
            };
            expr.terms.push(Term {
                signal,
                component,
                weight,
            });
        }
        out.push(if kind == "Pods" {
            MetricRead::PerPod(expr)
        } else {
            MetricRead::Value(expr)
        });
    }
    Ok(out)
}

/// Model validation: every HPA's custom metrics resolve. Err is (field path, message).
pub fn check_model(m: &ModelFile) -> Result<(), (String, String)> {
    for (name, entry) in &m.metric_sources {
        entry
            .terms()
            .map_err(|e| (format!("metric_sources.{name}"), e))?;
    }
    for (sname, s) in &m.services {
        if let Some(AutoscalerRef::Inline(h)) = &s.autoscaler {
            resolve(m, sname, h).map_err(|e| (format!("services.{sname}.autoscaler"), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    const MODEL: &str = "
entry: web
services:
  web:
    replicas: 2
    pod: {cores: 1, cpu_request: 500m}
    autoscaler:
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: web}
      spec:
        scaleTargetRef: {kind: Deployment, name: web}
        maxReplicas: 10
        metrics:
        - type: Pods
          pods: {metric: {name: busy}, target: {type: AverageValue, averageValue: 5}}
        - type: External
          external:
            metric: {name: backlog, selector: {matchLabels: {queue: jobs}}}
            target: {type: AverageValue, averageValue: 10}
        - type: Object
          object:
            describedObject: {kind: Service, name: web}
            metric: {name: score}
            target: {type: Value, value: 100}
    endpoints:
      work: [{cpu: const(10ms)}, {enqueue: {queue: jobs}}]
      job: [{cpu: const(10ms)}]
queues:
  jobs: {service: web, endpoint: job, concurrency: 2}
metric_sources:
  busy: {signal: inflight}
  backlog: {signal: queue_length}
  score: {linear: {requests_per_second: 1, inflight: 2}, constant: 1}
";

    fn load(model: &str) -> Result<ModelFile, String> {
        let sc = "model: x\nflows:\n  f:\n    steps:\n      - request: work\nscenarios:\n  s:\n    executor: constant-vus\n    vus: 1\n    duration: 1s\n";
        config::from_strs(sc, model)
            .map(|l| l.model)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_type_resolves_to_the_component_the_hpa_names() {
        let m = load(MODEL).unwrap();
        let Some(AutoscalerRef::Inline(h)) = &m.services["web"].autoscaler else {
            panic!()
        };
        let r = resolve(&m, "web", h).unwrap();
        let term = |signal, component, weight| Term {
            signal,
            component,
            weight,
        };
        assert_eq!(
            r[0],
            MetricRead::PerPod(Expr {
                terms: vec![term(Signal::Inflight, Component::Service(0), 1.0)],
                constant: 0.0
            })
        );
        assert_eq!(
            r[1],
            MetricRead::Value(Expr {
                terms: vec![term(Signal::QueueLength, Component::Queue(0), 1.0)],
                constant: 0.0
            })
        );
        // Terms in signal order (BTreeMap keyed by `Signal`).
        assert_eq!(
            r[2],
            MetricRead::Value(Expr {
                terms: vec![
                    term(Signal::RequestsPerSecond, Component::Service(0), 1.0),
                    term(Signal::Inflight, Component::Service(0), 2.0)
                ],
                constant: 1.0
            })
        );
    }

    #[test]
    fn unmapped_and_misplaced_signals_are_refused_with_their_location() {
        let e = load(&MODEL.replace("  backlog: {signal: queue_length}\n", "")).unwrap_err();
        assert!(e.contains("services.web.autoscaler"), "{e}");
        assert!(
            e.contains("spec.metrics[1] (External metric \"backlog\")"),
            "{e}"
        );
        assert!(
            e.contains("has no entry in the model's metric_sources"),
            "{e}"
        );
        for s in Signal::ALL {
            assert!(e.contains(s.name()), "{s} not listed: {e}");
        }
        let e = load(&MODEL.replace("busy: {signal: inflight}", "busy: {signal: queue_length}"))
            .unwrap_err();
        assert!(e.contains("a Pods metric needs a per-pod signal"), "{e}");
        let e = load(&MODEL.replace("queue: jobs", "queue: mail")).unwrap_err();
        assert!(e.contains("\"mail\" is not one (queues: jobs)"), "{e}");
        let e = load(&MODEL.replace("{signal: inflight}", "{signal: inflight, linear: {cpu: 1}}"))
            .unwrap_err();
        assert!(e.contains("metric_sources.busy"), "{e}");
        let e = load(&MODEL.replace("{signal: inflight}", "{signal: infligth}")).unwrap_err();
        assert!(
            e.contains("requests_per_second"),
            "unknown signal lists them: {e}"
        );
    }
}
