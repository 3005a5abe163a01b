//! Autoscaling in the loop: pods start and stop as the controllers decide, traffic only reaches
//! ready pods, and scale-down never loses a request.

use surge::config;
use surge::engine::{ns_to_secs, EventQueue, SEC};
use surge::event::Event;
use surge::sim::{run, RunOptions};
use surge::system::service::PodState;
use surge::system::System;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn shop_spike_scales_up_in_time_and_stays_within_bounds() {
    let loaded = config::load(&root().join("scenarios/shop-spike.yaml"), &[]).unwrap();
    for seed in [1, 2, 3] {
        let r = run(
            &loaded,
            RunOptions {
                seed,
                replication: 0,
            },
            &mut |_, _| {},
        );
        let ts = r.timeseries();
        let replicas = ts.column("web_replicas").unwrap();
        let desired = ts.column("web_desired").unwrap();
        let ready = ts.column("web_ready_pods").unwrap();
        // minReplicas 2, maxReplicas 12 in models/hpa/web-hpa.yaml.
        for i in 0..replicas.len() {
            assert!(
                (2.0..=12.0).contains(&replicas[i]),
                "replicas {} at row {i}",
                replicas[i]
            );
            assert!((2.0..=12.0).contains(&desired[i]));
            assert!(
                ready[i] <= replicas[i],
                "more ready pods than replicas at row {i}"
            );
        }
        assert!(r.scale_events.iter().any(|e| e.to > e.from), "no scale-up");
        for e in &r.scale_events {
            assert!(e.from != e.to && (2..=12).contains(&e.to));
        }
        let report = surge::report::scaling::autoscaling_report(&r, Some(500.0));
        let web = &report["web"];
        let surge_s = web["surge_start_s"].as_f64().expect("surge found");
        // The spike ramps from 5 min; the 10-s mean reacts within its window.
        assert!((280.0..=320.0).contains(&surge_s), "surge at {surge_s}");
        let reaction = web["first_scale_up_after_surge_s"].as_f64().unwrap();
        // Seed 001: "Auto-Scaling: triggers within 3 minutes".
        assert!(
            reaction <= 180.0,
            "first scale-up {reaction}s after the surge"
        );
        assert!(web["time_to_needed_capacity_s"].as_f64().unwrap() >= reaction);
        assert!(web["max_replicas"].as_f64().unwrap() > 2.0);
        // No request is lost: every one sent got a response, a timeout, or was abandoned by a
        // hard-stopped VU; none remain unaccounted for.
        let m = &r.metrics;
        assert_eq!(
            m.sent,
            m.requests() + m.abandoned + m.inflight as u64,
            "requests lost"
        );
    }
}

const MODEL: &str = "
entry: web
services:
  web:
    replicas: 1
    pod: {cores: 1, cpu_request: 500m}
    lifecycle:
      image_pull: const(10s)
      container_start: const(1s)
      app_start: const(3s)
      readiness: {initialDelaySeconds: 0, periodSeconds: 5, successThreshold: 2}
      terminationGracePeriodSeconds: 30
    endpoints:
      work:
        - cpu: const(100ms)
";

fn system(model: &str) -> System {
    let scenario = "model: x\nflows:\n  f:\n    steps:\n      - request: work\nscenarios:\n  s:\n    executor: constant-vus\n    vus: 1\n    duration: 1s\n";
    let l = config::from_strs(scenario, model).unwrap();
    System::build(&l.model, 1, 0).unwrap()
}

/// Drive the system alone: deliver events up to `until`.
fn advance(sys: &mut System, q: &mut EventQueue<Event>, until: u64) {
    while q.peek_time().is_some_and(|t| t <= until) {
        let (_, ev) = q.pop().unwrap();
        sys.handle(ev, q);
    }
    q.set_now(until);
}

#[test]
fn only_ready_pods_receive_traffic() {
    let mut sys = system(MODEL);
    let mut q = EventQueue::new();
    sys.scale_to(0, 3, &mut q);
    assert_eq!(sys.replicas(0), 3);
    assert_eq!(sys.services[0].ready.len(), 1);
    // Container starts at 11 s, app answers at 14 s; probes every 5 s from 11 s succeed at 16 s
    // and 21 s, so with successThreshold 2 the pods are ready at 21 s.
    advance(&mut sys, &mut q, 20 * SEC);
    for t in 0..40 {
        sys.submit(0, t, &mut q);
    }
    assert!(sys.pods[1..]
        .iter()
        .all(|p| p.state == PodState::Starting && p.inflight == 0));
    advance(&mut sys, &mut q, 21 * SEC);
    assert!(sys.pods.iter().all(|p| p.state == PodState::Ready));
    assert_eq!(sys.services[0].ready.len(), 3);
    for t in 0..30 {
        sys.submit(0, t, &mut q);
    }
    assert!(
        sys.pods[1..].iter().all(|p| p.inflight == 10),
        "round robin over ready pods"
    );
    sys.outbox.clear();
}

#[test]
fn scale_down_drains_then_kills_after_the_grace_period() {
    let mut sys = system(&MODEL.replace("replicas: 1", "replicas: 3"));
    let mut q = EventQueue::new();
    // 60 requests of 100 ms on each pod: 6 s of work each under processor sharing.
    for t in 0..180 {
        sys.submit(0, t, &mut q);
    }
    sys.scale_to(0, 1, &mut q);
    // The newest pods go first; they take no new traffic but finish what they have.
    assert_eq!(sys.pods[1].state, PodState::Draining);
    assert_eq!(sys.pods[2].state, PodState::Draining);
    assert_eq!(sys.services[0].ready, vec![0]);
    advance(&mut sys, &mut q, 7 * SEC);
    assert!(
        sys.outbox.iter().all(|r| r.cause.is_none()),
        "draining must not fail requests"
    );
    assert_eq!(sys.outbox.len(), 180);
    assert_eq!(sys.pods[1].state, PodState::Gone);

    // With more work than the grace period allows, the rest fails as `terminated`, never silently.
    let mut sys = system(&MODEL.replace("replicas: 1", "replicas: 2").replace(
        "terminationGracePeriodSeconds: 30",
        "terminationGracePeriodSeconds: 2",
    ));
    let mut q = EventQueue::new();
    for t in 0..200 {
        sys.submit(0, t, &mut q);
    }
    sys.scale_to(0, 1, &mut q);
    advance(&mut sys, &mut q, 60 * SEC);
    let terminated = sys
        .outbox
        .iter()
        .filter(|r| r.cause == Some(surge::system::Cause::Terminated))
        .count();
    assert_eq!(sys.outbox.len(), 200, "every request answered");
    // Processor sharing finishes all 100 jobs on the draining pod together at 10 s, after the 2 s
    // grace: all of them fail as terminated; the 100 on the surviving pod succeed.
    assert_eq!(terminated, 100);
    assert_eq!(
        sys.pods[1].state,
        PodState::Gone,
        "gone once its last request failed"
    );
    assert!(sys.pods[1].killed);
    let _ = ns_to_secs(q.now());
}

#[test]
fn pending_pods_get_nodes_from_the_cluster_autoscaler() {
    let model = format!(
        "{MODEL}cluster:\n  nodes: {{cpu: 1, memory: 4Gi, initial: 1, min: 1, max: 3, provisioning: const(2m), scale_down_unneeded: 10m}}\n"
    );
    let mut scenario = String::from(
        "model: x\nflows:\n  f:\n    steps:\n      - request: work\n      - sleep: const(1s)\n",
    );
    scenario
        .push_str("scenarios:\n  s:\n    executor: constant-vus\n    vus: 1\n    duration: 30m\n");
    let l = config::from_strs(&scenario, &model).unwrap();
    let mut sys = System::build(&l.model, 1, 0).unwrap();
    let mut q = EventQueue::new();
    // Two 500m pods per 1-core node: scaling to 5 leaves three pending for two more nodes.
    sys.scale_to(0, 5, &mut q);
    assert_eq!(sys.lifecycle.pending.len(), 3);
    assert_eq!(sys.lifecycle.ready_nodes(), 1);
    sys.provision_node(&mut q);
    sys.provision_node(&mut q);
    advance(&mut sys, &mut q, 119 * SEC);
    assert_eq!(
        sys.lifecycle.pending.len(),
        3,
        "nodes not ready before 2 min"
    );
    advance(&mut sys, &mut q, 121 * SEC);
    assert_eq!(sys.lifecycle.ready_nodes(), 3);
    assert_eq!(
        sys.lifecycle.pending.len(),
        0,
        "pending pods placed once nodes are ready"
    );
}

/// Issue 4's end-to-end check: the HamBaller spike, driven by the seed's own HPAs, scales up and
/// reports its scale-up and recovery times.
#[test]
fn hamballer_spike_scales_up_and_reports_its_times() {
    let loaded = config::load(&root().join("scenarios/hamballer-spike.yaml"), &[]).unwrap();
    let r = run(
        &loaded,
        RunOptions {
            seed: 1001,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let report = surge::report::scaling::autoscaling_report(&r, Some(500.0));
    for (svc, min, max) in [("api", 4.0, 20.0), ("backend", 5.0, 25.0)] {
        let v = &report[svc];
        let reps = r.timeseries().column(&format!("{svc}_replicas")).unwrap();
        assert!(
            reps.iter().all(|x| (min..=max).contains(x)),
            "{svc} left [{min}, {max}]"
        );
        assert!(
            v["max_replicas"].as_f64().unwrap() > 10.0,
            "{svc} did not scale up: {v}"
        );
        let up = v["first_scale_up_after_surge_s"]
            .as_f64()
            .expect("scale-up time");
        assert!(up <= 180.0, "{svc}: first scale-up {up}s after the surge");
        assert!(
            v["p95_recovery_s"].as_f64().is_some(),
            "{svc}: no recovery time: {v}"
        );
    }
}

/// The audit's CA repro model: 2 pods of 500m that the HPA scales out past one node of 1 core
/// under load and back when it drops, on a node pool `nodes`.
fn ca_repro_model(nodes: &str) -> String {
    format!(
        "
entry: web
services:
  web:
    replicas: 2
    pod: {{cores: 1, cpu_request: 500m, memory_request: 256Mi}}
    lifecycle: {{image_pull: const(5s), container_start: const(1s), app_start: const(1s)}}
{hpa}
        behavior:
          scaleDown: {{stabilizationWindowSeconds: 60}}
    endpoints:
      home:
        - cpu: const(20ms)
cluster:
  nodes: {nodes}
",
        hpa = web_cpu_hpa(10)
    )
}

/// Service `web`'s HPA (autoscaling/v2): CPU at 50 % of requests, 2 to `max` replicas; the
/// lines end at its metrics, so a caller may add `behavior`.
fn web_cpu_hpa(max: u32) -> String {
    format!(
        "    autoscaler:
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {{name: web}}
      spec:
        scaleTargetRef: {{kind: Deployment, name: web}}
        minReplicas: 2
        maxReplicas: {max}
        metrics:
        - type: Resource
          resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}"
    )
}

/// The audit's CA repro (/tmp/audit-as/ca): the HPA scales up past one node, the nodes come,
/// the load drops and the HPA scales back to 2 pods, which fit one node. Nodes that had pods
/// must then be removed like never-used ones: each is empty from its last pod's going, and
/// removed `scale_down_unneeded` later (at a scan). Before the fix `pod_gone` never marked a
/// node empty, so nodes_ready stayed at its peak to the end.
#[test]
fn nodes_that_had_pods_are_removed_once_unneeded() {
    let model = ca_repro_model("{cpu: 1, memory: 16Gi, initial: 1, min: 1, max: 10, provisioning: const(1m), scale_down_unneeded: 2m, scale_down_delay_after_add: 2m}");
    let scenario = "model: x\nsample_interval: 5s\nflows:\n  f:\n    steps:\n      - request: home\nscenarios:\n  load:\n    executor: ramping-arrival-rate\n    startRate: 20\n    timeUnit: 1s\n    preAllocatedVUs: 500\n    stages:\n      - {duration: 1m, target: 20}\n      - {duration: 10s, target: 200}\n      - {duration: 4m, target: 200}\n      - {duration: 10s, target: 5}\n      - {duration: 10m, target: 5}\n";
    let l = config::from_strs(scenario, &model).unwrap_or_else(|e| panic!("{e}"));
    for seed in [1, 2] {
        let r = run(
            &l,
            RunOptions {
                seed,
                replication: 0,
            },
            &mut |_, _| {},
        );
        let ts = r.timeseries();
        let (t, nodes, replicas) = (
            ts.column("t_s").unwrap(),
            ts.column("nodes_ready").unwrap(),
            ts.column("web_replicas").unwrap(),
        );
        let peak = nodes.iter().copied().fold(0.0, f64::max);
        assert!(peak >= 3.0, "seed {seed}: the CA never scaled up: {peak}");
        let last_down = r
            .scale_events
            .iter()
            .filter(|e| e.to < e.from)
            .map(|e| ns_to_secs(e.t))
            .fold(f64::NAN, f64::max);
        assert!(
            last_down.is_finite(),
            "seed {seed}: the HPA never scaled down"
        );
        assert_eq!(*replicas.last().unwrap(), 2.0);
        // The last pods drain within seconds (20 ms requests); then unneeded (2 min), plus up
        // to one scan (10 s), plus one sample interval (5 s), and every spare node is gone.
        let by = last_down + 5.0 + 120.0 + 10.0 + 5.0;
        assert!(by < *t.last().unwrap() - 60.0, "run too short to tell");
        for (k, &tk) in t.iter().enumerate() {
            if tk >= by {
                assert_eq!(
                    nodes[k],
                    1.0,
                    "seed {seed}: {} nodes ready at {tk} s, {} s after the last scale-down \
                     (2 pods of 500m fit the min of 1 node)",
                    nodes[k],
                    tk - last_down
                );
            }
        }
    }
}

/// scale-down-delay-after-add is its own setting (10 min by default, as in the
/// cluster-autoscaler): the audit's CA repro with the default keeps every node until 10 min
/// after the last scale-up, although they are empty (unneeded) long before; then they go.
#[test]
fn no_node_is_removed_within_the_delay_after_a_scale_up() {
    let model = ca_repro_model("{cpu: 1, memory: 16Gi, initial: 1, min: 1, max: 10, provisioning: const(1m), scale_down_unneeded: 1m}");
    let scenario = "model: x\nsample_interval: 5s\nflows:\n  f:\n    steps:\n      - request: home\nscenarios:\n  load:\n    executor: ramping-arrival-rate\n    startRate: 20\n    timeUnit: 1s\n    preAllocatedVUs: 500\n    stages:\n      - {duration: 1m, target: 20}\n      - {duration: 10s, target: 200}\n      - {duration: 2m, target: 200}\n      - {duration: 10s, target: 5}\n      - {duration: 15m, target: 5}\n";
    let l = config::from_strs(scenario, &model).unwrap_or_else(|e| panic!("{e}"));
    let r = run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let ts = r.timeseries();
    let (t, nodes) = (ts.column("t_s").unwrap(), ts.column("nodes_ready").unwrap());
    // The last node arrival (sampled every 5 s) is 1 min (provisioning) after the last scale-up.
    let k_up = (1..nodes.len())
        .filter(|&k| nodes[k] > nodes[k - 1])
        .max()
        .unwrap();
    assert!(nodes[k_up] >= 3.0, "the CA never scaled up: {nodes:?}");
    let last_up = t[k_up] - 60.0; // at most 5 s after the real one
    let first_drop = (1..nodes.len()).find(|&k| nodes[k] < nodes[k - 1]).unwrap();
    assert!(
        t[first_drop] >= last_up - 5.0 + 600.0,
        "a node went at {} s, within 10 min of the scale-up at about {last_up} s",
        t[first_drop]
    );
    // Then every spare node goes within a scan and a sample: unneeded (1 min) is long past.
    let by = last_up + 600.0 + 10.0 + 5.0;
    assert!(by < *t.last().unwrap() - 30.0, "run too short to tell");
    for (k, &tk) in t.iter().enumerate() {
        if tk >= by {
            assert_eq!(nodes[k], 1.0, "{} nodes ready at {tk} s", nodes[k]);
        }
    }
}

/// A pod without a CPU request has no CPU utilization: Kubernetes fails the HPA's metric
/// ("missing request for cpu") and never scales on it. The same overloaded service scales
/// out once the request is declared, and the run's note names the missing field.
#[test]
fn no_cpu_request_no_cpu_utilization_scaling() {
    let model = |request: &str| {
        format!(
            "
entry: web
services:
  web:
    replicas: 2
    pod: {{cores: 1{request}}}
{hpa}
    endpoints:
      home:
        - cpu: const(20ms)
",
            hpa = web_cpu_hpa(8)
        )
    };
    let scenario = "model: x\nsample_interval: 5s\nflows:\n  f:\n    steps:\n      - request: home\nscenarios:\n  load:\n    executor: constant-arrival-rate\n    rate: 80\n    timeUnit: 1s\n    duration: 4m\n    preAllocatedVUs: 500\n";
    let peak = |m: &str| {
        let l = config::from_strs(scenario, m).unwrap_or_else(|e| panic!("{e}"));
        let r = run(
            &l,
            RunOptions {
                seed: 1,
                replication: 0,
            },
            &mut |_, _| {},
        );
        let reps = r.timeseries().column("web_replicas").unwrap();
        (reps.into_iter().fold(0.0, f64::max), l)
    };
    let (without, l) = peak(&model(""));
    assert_eq!(without, 2.0, "scaled without a CPU request");
    let notes = surge::autoscale::driver::notes(&l.model);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("services.web.pod.cpu_request"),
        "{notes:?}"
    );
    let (with, l) = peak(&model(", cpu_request: 500m"));
    assert!(
        with >= 4.0,
        "80 req/s × 20 ms on 2 pods of 500m is 160 %: {with}"
    );
    assert!(surge::autoscale::driver::notes(&l.model).is_empty());
}
