//! Issue 11: every HPA metric source scales end to end, metrics are as stale as a real
//! cluster's, pods pulling their image are Pending, the AWS example reacts to its spike, a run
//! that never recovers says so, and `surge hpa replay` reproduces a run decision for decision.

mod common;

use common::{root, stderr, surge, tmpdir};
use surge::autoscale::driver::{scrape_phase, Autoscaling};
use surge::config;
use surge::engine::{EventQueue, SEC};
use surge::event::Event;
use surge::sim::{run, RunOptions, RunResult};
use surge::system::System;

/// A web tier that enqueues a job per request; a worker tier runs the jobs. One web pod (1 core)
/// serves at most 20 requests/s of 50 ms; one worker (concurrency 1) 5 jobs/s of 200 ms.
const MODEL: &str = "
entry: web
services:
  web:
    replicas: 1
    pod: {cores: 1, cpu_request: 500m, memory_request: 100Mi, memory_base: 50Mi, memory_per_request: 2Mi, max_inflight: 200}
    lifecycle: {image_pull: const(5s), container_start: const(1s), app_start: const(2s)}
    endpoints:
      work:
        - cpu: const(50ms)
        - enqueue: {queue: jobs}
  worker:
    replicas: 1
    pod: {cores: 1, cpu_request: 500m}
    lifecycle: {image_pull: const(5s), container_start: const(1s), app_start: const(2s)}
    endpoints:
      job:
        - cpu: const(200ms)
queues:
  jobs: {service: worker, endpoint: job, concurrency: 1}
metric_sources:
  http_rps: {signal: requests_per_second}
  web_inflight: {signal: inflight}
  web_rps: {signal: requests_per_second}
  jobs_oldest_age: {signal: queue_oldest_age}
  jobs_waiting: {signal: queue_length}
cluster: {metrics_phase: 0s}
";

/// 30 requests/s for three minutes: more than one web pod and one worker can take.
const SCENARIO: &str = "model: x\nsample_interval: 5s\nflows:\n  f:\n    steps:\n      - request: work\nscenarios:\n  s:\n    executor: constant-arrival-rate\n    rate: 30\n    timeUnit: 1s\n    duration: 3m\n    preAllocatedVUs: 50\n    maxVUs: 400\n";

fn with_hpa(service: &str, metric: &str) -> String {
    let hpa = format!(
        "    autoscaler:\n      apiVersion: autoscaling/v2\n      kind: HorizontalPodAutoscaler\n      metadata: {{name: {service}}}\n      spec:\n        scaleTargetRef: {{kind: Deployment, name: {service}}}\n        minReplicas: 1\n        maxReplicas: 10\n        metrics:\n        - {metric}\n"
    );
    let anchor = format!("  {service}:\n    replicas: 1\n");
    MODEL.replace(&anchor, &format!("{anchor}{hpa}"))
}

fn run_model(model: &str, seed: u64) -> RunResult {
    let l = config::from_strs(SCENARIO, model).unwrap_or_else(|e| panic!("{e}"));
    run(
        &l,
        RunOptions {
            seed,
            replication: 0,
        },
        &mut |_, _| {},
    )
}

#[test]
fn an_hpa_on_each_metric_type_scales_end_to_end() {
    let cases = [
        ("web", "resource/cpu", "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}"),
        ("web", "resource/memory", "{type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 70}}}"),
        ("web", "pods/http_rps", "{type: Pods, pods: {metric: {name: http_rps}, target: {type: AverageValue, averageValue: 8}}}"),
        ("web", "object/web_inflight", "{type: Object, object: {describedObject: {kind: Service, name: web}, metric: {name: web_inflight}, target: {type: Value, value: 5}}}"),
        ("web", "object/web_rps", "{type: Object, object: {describedObject: {kind: Service, name: web}, metric: {name: web_rps}, target: {type: AverageValue, averageValue: 8}}}"),
        ("worker", "external/jobs_oldest_age", "{type: External, external: {metric: {name: jobs_oldest_age, selector: {matchLabels: {queue: jobs}}}, target: {type: Value, value: 5}}}"),
        ("worker", "external/jobs_waiting", "{type: External, external: {metric: {name: jobs_waiting, selector: {matchLabels: {queue: jobs}}}, target: {type: AverageValue, averageValue: 3}}}"),
    ];
    for (service, label, metric) in cases {
        let r = run_model(&with_hpa(service, metric), 1);
        let ups: Vec<_> = r
            .scale_events
            .iter()
            .filter(|e| e.service == service && e.to > e.from)
            .collect();
        assert!(
            !ups.is_empty(),
            "{label}: no scale-up: {:?}",
            r.scale_events
        );
        assert!(
            ups.iter().all(|e| e.driving_metric == label),
            "{label}: driven by {:?}",
            ups.iter().map(|e| &e.driving_metric).collect::<Vec<_>>()
        );
        let reps = r
            .timeseries()
            .column(&format!("{service}_replicas"))
            .unwrap();
        let max = reps.iter().copied().fold(0.0, f64::max);
        assert!((2.0..=10.0).contains(&max), "{label}: max replicas {max}");
        // The value the controller used is in the time series, and was above its target.
        let col = format!("{service}_hpa_{}", label.replace('/', "_"));
        let seen = r.timeseries().column(&col).unwrap();
        assert!(
            seen.iter().any(|v| v.is_finite()),
            "{label}: {col} never set"
        );
    }
}

#[test]
fn an_object_average_value_proposes_the_value_over_the_target() {
    // `GetObjectPerPodMetricReplicas`: ceil(value / averageValue) whatever the pod count (the
    // tolerance is checked against value / (target × status.replicas)). Every scale event's
    // proposal must be that of the value its sync recorded.
    let m = with_hpa(
        "web",
        "{type: Object, object: {describedObject: {kind: Service, name: web}, metric: {name: web_rps}, target: {type: AverageValue, averageValue: 8}}}",
    );
    let r = run_model(&m, 2);
    let ts = r.timeseries();
    let (sync, seen) = (
        ts.column("web_hpa_sync_s").unwrap(),
        ts.column("web_hpa_object_web_rps").unwrap(),
    );
    let events: Vec<_> = r
        .scale_events
        .iter()
        .filter(|e| e.service == "web")
        .collect();
    assert!(!events.is_empty());
    for e in events {
        let t = e.t as f64 / 1e9;
        let i = sync.iter().position(|&s| s == t).expect("recorded sync");
        // status.replicas: every pod exists here at once, so it is the count before the event.
        let ratio = seen[i] / (8.0 * f64::from(e.from));
        let want = if (0.9..=1.1).contains(&ratio) {
            e.from
        } else {
            (seen[i] / 8.0).ceil() as u32
        };
        assert_eq!(
            e.proposals,
            format!("object/web_rps={want}"),
            "value {} at {t}",
            seen[i]
        );
    }
}

#[test]
fn an_unmapped_custom_metric_is_refused_with_its_location() {
    let dir = tmpdir("autoscaling-metrics", "unmapped");
    let model = with_hpa(
        "web",
        "{type: Pods, pods: {metric: {name: phpfpm_active_processes}, target: {type: AverageValue, averageValue: 8}}}",
    );
    std::fs::write(dir.join("model.yaml"), &model).unwrap();
    let o = surge(&["validate", "model.yaml"], &dir);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    let line = model
        .lines()
        .position(|l| l.trim_start().starts_with("autoscaler:"))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!(
            "model.yaml: line {line}, field services.web.autoscaler"
        )),
        "{e}"
    );
    assert!(
        e.contains("spec.metrics[0] (Pods metric \"phpfpm_active_processes\") has no entry in the model's metric_sources"),
        "{e}"
    );
    for s in [
        "requests_per_second",
        "inflight",
        "queue_length",
        "queue_oldest_age",
        "pool_waiters",
        "replica_lag",
        "cpu",
        "memory",
        "linear",
    ] {
        assert!(e.contains(s), "signal {s} not listed: {e}");
    }
}

/// Deliver system events and metrics scrapes (no HPA syncs) up to `until`.
fn advance(sys: &mut System, auto: &mut Autoscaling, q: &mut EventQueue<Event>, until: u64) {
    while q.peek_time().is_some_and(|t| t <= until) {
        let (_, ev) = q.pop().unwrap();
        match ev {
            Event::MetricsScrape => auto.handle(ev, q, sys),
            Event::HpaSync { .. } | Event::Sample => {}
            ev if ev.is_system() => sys.handle(ev, q),
            _ => {}
        }
    }
    q.set_now(until);
}

#[test]
fn pods_pulling_their_image_are_pending_without_metrics() {
    let m = with_hpa(
        "web",
        "{type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 70}}}",
    )
    .replace(
        "    lifecycle: {image_pull: const(5s), container_start: const(1s), app_start: const(2s)}\n    endpoints:\n      work:",
        "    lifecycle: {image_pull: const(40s), container_start: const(1s), app_start: const(10s)}\n    endpoints:\n      work:",
    );
    let l = config::from_strs(SCENARIO, &m).unwrap();
    let mut sys = System::build(&l.model, 1, 0).unwrap();
    let mut auto = Autoscaling::build(&l.model, &sys, 1, 0).unwrap();
    let mut q = EventQueue::new();
    auto.schedule_first(&mut q);
    sys.scale_to(0, 3, &mut q);
    // Scrapes every 15 s from 0. The new pods pull until 40 s, run from 41 s, are ready at 51 s
    // (probe every 10 s from 41 s) and have two scrapes (45 s, 60 s) at 60 s.
    advance(&mut sys, &mut auto, &mut q, 30 * SEC);
    let (pods, _, existing) = auto.hpa_input(0, &sys, 30 * SEC);
    assert_eq!(existing, 3, "status.replicas counts every pod that exists");
    assert!(pods[0].memory.is_some(), "the initial pod has metrics");
    for p in &pods[1..] {
        assert!(p.phase_pending, "pulling its image: phase Pending");
        assert!(
            p.memory.is_none() && p.cpu.is_none(),
            "no metrics while pulling"
        );
    }
    advance(&mut sys, &mut auto, &mut q, 45 * SEC);
    let (pods, _, _) = auto.hpa_input(0, &sys, 45 * SEC);
    for p in &pods[1..] {
        assert!(!p.phase_pending && !p.ready, "running, not ready");
        assert!(p.memory.is_none(), "one scrape is not enough");
    }
    advance(&mut sys, &mut auto, &mut q, 60 * SEC);
    let (pods, _, _) = auto.hpa_input(0, &sys, 60 * SEC);
    for p in &pods[1..] {
        assert!(p.ready && p.memory.is_some(), "ready with metrics");
    }
}

/// Kolmogorov–Smirnov distance of `x` (values in [0, 1)) from the uniform distribution.
fn ks_uniform(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    x.iter()
        .enumerate()
        .map(|(i, &v)| (v - i as f64 / n).abs().max(((i + 1) as f64 / n - v).abs()))
        .fold(0.0, f64::max)
}

#[test]
fn metric_age_at_sync_is_uniform_over_one_resolution() {
    // docs/autoscaling.md "Metric staleness": metrics-server scrapes every resolution R at a
    // phase drawn per replication, so the newest scrape a sync reads is (R - phase) mod R old:
    // uniform on [0, R) across replications (the reference's "0-15 s old, over a 15 s window").
    let m = with_hpa(
        "web",
        "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}",
    )
    .replace("cluster: {metrics_phase: 0s}\n", "");
    let short = SCENARIO
        .replace("duration: 3m", "duration: 40s")
        .replace("rate: 30", "rate: 2");
    let l = config::from_strs(&short, &m).unwrap();
    let r_s = 15.0;
    let mut ages = Vec::new();
    for rep in 0..60 {
        let r = run(
            &l,
            RunOptions {
                seed: 3,
                replication: rep,
            },
            &mut |_, _| {},
        );
        let col = r.timeseries().column("web_hpa_metric_age_s").unwrap();
        let phase = scrape_phase(&l.model, 3, rep) as f64 / 1e9;
        let want = (r_s - phase) % r_s;
        let got: Vec<f64> = col.into_iter().filter(|v| v.is_finite()).collect();
        assert!(!got.is_empty());
        for a in &got {
            assert!((0.0..r_s).contains(a), "age {a} outside [0, {r_s})");
            assert!((a - want).abs() < 1e-6, "rep {rep}: age {a}, phase {phase}");
        }
        ages.push(got[got.len() - 1] / r_s);
    }
    // 60 draws: the 5 % critical KS distance is 1.36/sqrt(60) = 0.176.
    let d = ks_uniform(ages.clone());
    assert!(d < 0.176, "KS distance {d} from uniform: {ages:?}");
    // A configured phase pins the age: 5 s after each sync, so 10 s old at the next one.
    let pinned = config::from_strs(
        &short,
        &m.replace("entry: web", "entry: web\ncluster: {metrics_phase: 5s}"),
    )
    .unwrap();
    let r = run(
        &pinned,
        RunOptions {
            seed: 3,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let col = r.timeseries().column("web_hpa_metric_age_s").unwrap();
    assert!(col
        .iter()
        .filter(|v| v.is_finite())
        .all(|&a| (a - 10.0).abs() < 1e-9));
}

#[test]
fn the_aws_example_scales_during_its_spike() {
    let loaded = config::load(&root().join("scenarios/shop-spike-aws.yaml"), &[]).unwrap();
    let r = run(
        &loaded,
        RunOptions {
            seed: 7,
            replication: 0,
        },
        &mut |_, _| {},
    );
    // The spike ramps from 300 s to 1,000 shoppers at 360 s and holds until 660 s.
    let ups: Vec<_> = r
        .scale_events
        .iter()
        .filter(|e| e.service == "web" && e.to > e.from)
        .collect();
    assert!(
        ups.iter()
            .any(|e| (300.0..=720.0).contains(&(e.t as f64 / 1e9))),
        "no scale-out during the spike: {:?}",
        r.scale_events
    );
    // It starts at the model's replicas: no event at 0 s from the group's DesiredCapacity.
    assert!(
        r.scale_events.iter().all(|e| e.t > 0),
        "{:?}",
        r.scale_events
    );
    let reps = r.timeseries().column("web_replicas").unwrap();
    assert_eq!(reps[0], 2.0);
    assert!(reps.iter().copied().fold(0.0, f64::max) >= 5.0);
}

#[test]
fn an_asg_desired_capacity_that_contradicts_replicas_is_refused() {
    let dir = tmpdir("autoscaling-metrics", "asg-desired");
    let text = std::fs::read_to_string(root().join("models/shop-aws.yaml"))
        .unwrap()
        .replace(
            "    replicas: 2\n    pod:\n      cores: 1",
            "    replicas: 3\n    pod:\n      cores: 1",
        )
        .replace("aws/", &format!("{}/models/aws/", root().display()));
    std::fs::write(dir.join("model.yaml"), text).unwrap();
    let o = surge(&["validate", "model.yaml"], &dir);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("services.web.aws_autoscaling"), "{e}");
    assert!(
        e.contains("DesiredCapacity (2) differs from the service's replicas (3)"),
        "{e}"
    );
}

#[test]
fn a_run_whose_p95_never_recovers_reports_not_recovered() {
    // Load from the first second, far above what two web pods can ever take: the surge is at
    // 0 s (the load starts with the run) and p95 never comes back under 500 ms.
    let m = with_hpa(
        "web",
        "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}",
    )
    .replace("maxReplicas: 10", "maxReplicas: 2");
    let sc = SCENARIO.replace("rate: 30", "rate: 80");
    let l = config::from_strs(&sc, &m).unwrap();
    let r = run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let rep = surge::report::scaling::autoscaling_report(&r, Some(500.0));
    let web = &rep["web"];
    assert_eq!(web["surge_start_s"].as_f64(), Some(0.0), "{web}");
    assert_eq!(web["p95_recovery"].as_str(), Some("not recovered"), "{web}");
    assert!(web["p95_recovery_s"].is_null(), "{web}");
    let line = surge::report::scaling::console_line("web", web);
    assert!(line.contains("p95 not recovered"), "{line}");
    assert!(!line.contains("recovered +"), "{line}");
}

/// The model and HPA of the replay tests: deterministic pod start-up (ready at once), metrics
/// scraped at each sync, a Pods metric with a `behavior`.
const REPLAY_MODEL: &str = "
entry: web
services:
  web:
    replicas: 2
    pod: {cores: 1, cpu_request: 1, max_inflight: 500}
    lifecycle:
      image_pull: const(0s)
      container_start: const(0s)
      app_start: const(0s)
      readiness: {initialDelaySeconds: 0, periodSeconds: 1, successThreshold: 1}
    autoscaler: hpa.yaml
    endpoints:
      work:
        - cpu: exp(mean=40ms)
metric_sources:
  http_rps: {signal: requests_per_second}
cluster: {metrics_phase: 0s}
";

const REPLAY_HPA: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 20
  metrics:
  - type: Pods
    pods: {metric: {name: http_rps}, target: {type: AverageValue, averageValue: 12}}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies: [{type: Pods, value: 2, periodSeconds: 15}]
    scaleDown:
      stabilizationWindowSeconds: 60
      policies: [{type: Pods, value: 1, periodSeconds: 30}]
";

/// Up to 120 requests/s and back down.
const REPLAY_SCENARIO: &str = "model: model.yaml\nseed: 5\nsample_interval: 5s\nflows:\n  f:\n    steps:\n      - request: work\nscenarios:\n  s:\n    executor: ramping-arrival-rate\n    startRate: 10\n    timeUnit: 1s\n    preAllocatedVUs: 50\n    maxVUs: 500\n    stages:\n      - {duration: 2m, target: 120}\n      - {duration: 2m, target: 120}\n      - {duration: 1m, target: 10}\n      - {duration: 4m, target: 10}\n";

fn csv_events(path: &std::path::Path, t_col: usize, from_col: usize) -> Vec<(f64, u32, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[t_col].parse().unwrap(),
                c[from_col].parse().unwrap(),
                c[from_col + 1].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn replaying_a_run_reproduces_its_scale_events_exactly() {
    let dir = tmpdir("autoscaling-metrics", "replay-self");
    std::fs::write(dir.join("model.yaml"), REPLAY_MODEL).unwrap();
    std::fs::write(dir.join("hpa.yaml"), REPLAY_HPA).unwrap();
    std::fs::write(dir.join("s.yaml"), REPLAY_SCENARIO).unwrap();
    let o = surge(&["run", "s.yaml", "--out", "run", "-q"], &dir);
    assert!(matches!(o.status.code(), Some(0 | 99)), "{}", stderr(&o));
    // Pods are ready at once; metrics need two scrapes, 30 s at a 15 s resolution.
    let o = surge(
        &[
            "hpa",
            "replay",
            "--hpa",
            "hpa.yaml",
            "--metrics",
            "run/timeseries.csv",
            "--pod-startup",
            "0s",
            "--metrics-delay",
            "30s",
            "--out",
            "replay",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // scale_events.csv: t_s,service,from,to,...; replay_events.csv: hpa,t_s,from,to,...
    let run_ev = csv_events(&dir.join("run/scale_events.csv"), 0, 2);
    let rep_ev = csv_events(&dir.join("replay/replay_events.csv"), 1, 2);
    assert!(run_ev.iter().any(|e| e.2 > e.1) && run_ev.iter().any(|e| e.2 < e.1));
    assert_eq!(run_ev, rep_ev);
    assert!(dir.join("replay/replay.png").exists());
    let rows = std::fs::read_to_string(dir.join("replay/replay_replicas.csv")).unwrap();
    assert!(
        rows.starts_with("t_s,recorded_replicas,hpa_replicas,hpa_ready\n"),
        "{rows}"
    );
}

#[test]
fn two_behaviors_on_one_trace_give_different_explained_trajectories() {
    let dir = tmpdir("autoscaling-metrics", "replay-two");
    // 3 pods recorded at 40/s each for 2 minutes (120/s of load), then 3 at 5/s.
    let mut trace = String::from("t_s,ready_pods,replicas,pods_http_rps\n");
    for k in 0..=40 {
        let t = k as f64 * 15.0;
        let v = if t < 120.0 { 40.0 } else { 5.0 };
        trace.push_str(&format!("{t},3,3,{v}\n"));
    }
    std::fs::write(dir.join("trace.csv"), trace).unwrap();
    std::fs::write(
        dir.join("fast.yaml"),
        REPLAY_HPA.replace("value: 2, periodSeconds: 15", "value: 8, periodSeconds: 15"),
    )
    .unwrap();
    std::fs::write(dir.join("slow.yaml"), REPLAY_HPA).unwrap();
    let o = surge(
        &[
            "hpa",
            "replay",
            "--hpa",
            "fast.yaml",
            "--hpa",
            "slow.yaml",
            "--metrics",
            "trace.csv",
            "--pod-startup",
            "20s",
            "--metrics-delay",
            "10s",
            "--out",
            "out",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = std::fs::read_to_string(dir.join("out/replay_replicas.csv")).unwrap();
    let header: Vec<&str> = rows.lines().next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "t_s",
            "recorded_replicas",
            "fast_replicas",
            "fast_ready",
            "slow_replicas",
            "slow_ready"
        ]
    );
    let col = |name: &str| -> Vec<f64> {
        let i = header.iter().position(|h| *h == name).unwrap();
        rows.lines()
            .skip(1)
            .map(|l| l.split(',').nth(i).unwrap().parse().unwrap())
            .collect()
    };
    let (fast, slow) = (col("fast_replicas"), col("slow_replicas"));
    assert_ne!(fast, slow);
    // 120/s at 12 per pod needs 10 pods: +8 per 15 s gets there in one sync, +2 needs four.
    assert_eq!(fast[0], 10.0);
    assert_eq!(slow[0], 5.0);
    assert_eq!(slow[3], 10.0);
    let ev = std::fs::read_to_string(dir.join("out/replay_events.csv")).unwrap();
    assert!(
        ev.contains("slow,0,3,5,pods/http_rps,\"scaleUp policy Pods 2/15s\""),
        "{ev}"
    );
    assert!(
        ev.lines()
            .any(|l| l.starts_with("slow,") && l.contains("scaleDown policy")),
        "{ev}"
    );
}

#[test]
fn bad_traces_exit_2_with_their_location() {
    let dir = tmpdir("autoscaling-metrics", "replay-bad");
    std::fs::write(dir.join("hpa.yaml"), REPLAY_HPA).unwrap();
    for (trace, want) in [
        (
            "t_s,ready_pods,pods_http_rps\n0,2,5\n15,2,fast\n",
            "trace.csv: line 3, column pods_http_rps: expected a number, got \"fast\"",
        ),
        (
            "t_s,ready_pods,pods_http_rps\n0,2,5\n0,2,6\n",
            "trace.csv: line 3, column t_s: times must increase",
        ),
        (
            "t_s,ready_pods,other\n0,2,5\n",
            "trace.csv: line 1: HPA hpa: no column for metric \"pods_http_rps\"",
        ),
        (
            "t_s,pods_http_rps\n0,5\n",
            "trace.csv: line 1: HPA hpa: per-pod metrics need the ready pods",
        ),
        // The audit's /tmp/audit-as/badt: each of these used to replay (or panic).
        (
            "t_s,ready_pods,pods_http_rps,resource_cpu\n0,2,5,10\n15,2,5,-50\n",
            "trace.csv: line 3, column resource_cpu: expected a resource usage (cores, bytes or \
             percent of requests), 0 or more, got -50",
        ),
        (
            "t_s,ready_pods,pods_http_rps\n0,-2,5\n",
            "trace.csv: line 2, column ready_pods: expected a whole number of pods from 0 to 150000 (Kubernetes' limit of pods per cluster), got -2",
        ),
        (
            "t_s,ready_pods,replicas,pods_http_rps\n0,2,2.7,5\n",
            "trace.csv: line 2, column replicas: expected a whole number of pods from 0 to 150000 (Kubernetes' limit of pods per cluster), got 2.7",
        ),
        (
            "t_s,web_hpa_pods,web_replicas,pods_http_rps\n0,2,-3,5\n",
            "trace.csv: line 2, column web_replicas: expected a whole number of pods from 0 to 150000 (Kubernetes' limit of pods per cluster), got -3",
        ),
        (
            "t_s,ready_pods,pods_http_rps,pods_http_rps\n0,2,5,6\n",
            "trace.csv: line 1, column pods_http_rps: the column \"pods_http_rps\" appears twice \
             (fields 3 and 4)",
        ),
    ] {
        std::fs::write(dir.join("trace.csv"), trace).unwrap();
        let o = surge(
            &[
                "hpa",
                "replay",
                "--hpa",
                "hpa.yaml",
                "--metrics",
                "trace.csv",
                "--out",
                "out",
            ],
            &dir,
        );
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
    }
}

#[test]
fn a_prometheus_range_query_replays_like_the_same_csv() {
    // The trace of `two_behaviors_...` as a /api/v1/query_range answer: three pods' series of
    // `http_rps` (named for the HPA's Pods metric by a `column` label), 15 s steps.
    let dir = tmpdir("autoscaling-metrics", "replay-prometheus");
    std::fs::write(dir.join("hpa.yaml"), REPLAY_HPA).unwrap();
    let mut csv = String::from("t_s,ready_pods,pods_http_rps\n");
    let mut series = Vec::new();
    for pod in 0..3 {
        let values: Vec<String> = (0..=40)
            .map(|k| {
                let t = 1_700_000_000 + k * 15;
                let v = if k * 15 < 120 { 40.0 } else { 5.0 };
                format!("[{t},\"{v}\"]")
            })
            .collect();
        series.push(format!(
            "{{\"metric\":{{\"column\":\"pods_http_rps\",\"pod\":\"web-{pod}\"}},\"values\":[{}]}}",
            values.join(",")
        ));
    }
    for k in 0..=40 {
        let v = if k * 15 < 120 { 40.0 } else { 5.0 };
        csv.push_str(&format!("{},3,{v}\n", k * 15));
    }
    let json = format!(
        "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{}]}}}}",
        series.join(",")
    );
    std::fs::write(dir.join("trace.json"), json).unwrap();
    std::fs::write(dir.join("trace.csv"), csv).unwrap();
    let replicas = |trace: &str, out: &str| {
        let o = surge(
            &[
                "hpa",
                "replay",
                "--hpa",
                "hpa.yaml",
                "--metrics",
                trace,
                "--initial",
                "3",
                "--out",
                out,
            ],
            &dir,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        std::fs::read_to_string(dir.join(out).join("replay_events.csv")).unwrap()
    };
    let (from_json, from_csv) = (replicas("trace.json", "a"), replicas("trace.csv", "b"));
    assert!(from_json.lines().count() > 2, "{from_json}");
    assert_eq!(from_json, from_csv);
}

/// Replays the trace through each manifest; the events (without the HPA's name column).
fn replay_events(dir: &std::path::Path, hpas: &[&str], trace: &str) -> Vec<String> {
    hpas.iter()
        .map(|h| {
            let out = format!("out-{h}");
            let o = surge(
                &[
                    "hpa",
                    "replay",
                    "--hpa",
                    h,
                    "--metrics",
                    trace,
                    "--pod-startup",
                    "0s",
                    "--metrics-delay",
                    "0s",
                    "--out",
                    &out,
                ],
                dir,
            );
            assert_eq!(o.status.code(), Some(0), "{h}: {}", stderr(&o));
            std::fs::read_to_string(dir.join(out).join("replay_events.csv"))
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| l.split_once(',').unwrap().1.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// `surge hpa replay` reads manifests as `run` and `validate` do: an `autoscaling/v1` HPA and
/// a multi-document file with a Deployment first replay exactly like the same HPA in v2.
#[test]
fn replay_reads_manifests_as_run_and_validate_do() {
    let dir = tmpdir("autoscaling-metrics", "replay-manifests");
    let head = "kind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 10\n";
    let v2 = format!(
        "apiVersion: autoscaling/v2\n{head}  metrics:\n  - type: Resource\n    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}\n"
    );
    std::fs::write(dir.join("v2.yaml"), &v2).unwrap();
    std::fs::write(
        dir.join("v1.yaml"),
        format!("apiVersion: autoscaling/v1\n{head}  targetCPUUtilizationPercentage: 50\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("multi.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec: {{}}\n---\n{v2}"
        ),
    )
    .unwrap();
    // 2 pods at 100 % of requests for a minute, then at 10 %.
    let mut trace = String::from("t_s,ready_pods,replicas,resource_cpu\n");
    for k in 0..=20 {
        trace.push_str(&format!(
            "{},2,2,{}\n",
            k * 15,
            if k < 4 { 100 } else { 10 }
        ));
    }
    std::fs::write(dir.join("c.csv"), trace).unwrap();
    for h in ["v2.yaml", "v1.yaml", "multi.yaml"] {
        let o = surge(&["validate", h], &dir);
        assert_eq!(o.status.code(), Some(0), "{h}: {}", stderr(&o));
    }
    let ev = replay_events(&dir, &["v2.yaml", "v1.yaml", "multi.yaml"], "c.csv");
    assert!(ev[0].starts_with("0,2,4,resource/cpu"), "{}", ev[0]);
    assert_eq!(ev[1], ev[0], "v1");
    assert_eq!(ev[2], ev[0], "multi-document");
    // Two HPAs in one file: which one to replay is refused with both named.
    std::fs::write(
        dir.join("two.yaml"),
        format!("{v2}---\n{}", v2.replace("name: web}", "name: api}")),
    )
    .unwrap();
    let o = surge(
        &["hpa", "replay", "--hpa", "two.yaml", "--metrics", "c.csv"],
        &dir,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("two.yaml: line 12: expected one HorizontalPodAutoscaler per file"),
        "{}",
        stderr(&o)
    );
}

/// `type: AverageValue` with only `averageUtilization` is a utilization target to the
/// controller (averageValue wins, else averageUtilization): the replay reads the column as
/// percent, as the simulator records it, not as cores. At 60 % on 4 pods with a 60 % target
/// it holds 4; read as 60 cores per pod it proposed 400 (capped at 50).
#[test]
fn an_average_value_type_with_a_utilization_target_replays_as_utilization() {
    let dir = tmpdir("autoscaling-metrics", "replay-mismatched-type");
    std::fs::write(
        dir.join("mism.yaml"),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: mism}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 50\n  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: AverageValue, averageUtilization: 60}}\n",
    )
    .unwrap();
    let mut trace = String::from("t_s,ready_pods,replicas,resource_cpu\n");
    for k in 0..=8 {
        trace.push_str(&format!("{},4,4,60\n", k * 15));
    }
    std::fs::write(dir.join("m60.csv"), trace).unwrap();
    let ev = replay_events(&dir, &["mism.yaml"], "m60.csv");
    assert_eq!(ev[0], "", "no scaling at the target: {}", ev[0]);
}

/// A spreadsheet's UTF-8 byte-order mark before the header is not part of `t_s`.
#[test]
fn a_trace_with_a_byte_order_mark_replays() {
    let dir = tmpdir("autoscaling-metrics", "replay-bom");
    std::fs::write(dir.join("hpa.yaml"), REPLAY_HPA).unwrap();
    let plain = "t_s,ready_pods,pods_http_rps\n0,3,40\n15,3,40\n30,3,40\n";
    std::fs::write(dir.join("plain.csv"), plain).unwrap();
    std::fs::write(dir.join("bom.csv"), format!("\u{feff}{plain}")).unwrap();
    let a = replay_events(&dir, &["hpa.yaml"], "plain.csv");
    std::fs::rename(dir.join("out-hpa.yaml"), dir.join("plain-out")).unwrap();
    let b = replay_events(&dir, &["hpa.yaml"], "bom.csv");
    assert!(!a[0].is_empty());
    assert_eq!(a, b);
}
