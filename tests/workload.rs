//! Load generation follows k6's and Artillery's semantics, observed through a whole run.

mod common;

use surge::config;
use surge::engine::{ns_to_secs, SEC};
use surge::sim::{run, RunOptions};
use surge::workload::schedule::{ramping_vus_plan, vus_at};

use common::PING_MODEL as MODEL;

fn scenario(executor: &str, extra: &str) -> String {
    format!(
        "model: x\nsample_interval: 1s\nflows:\n  f:\n    steps:\n      - request: ping\n{extra}scenarios:\n  s:\n{executor}"
    )
}

/// The seed's gradual ramp, scaled down in time: the VU count sampled each second equals k6's plan
/// while ramping up, and lies between the plan and the plan 50 ms earlier while ramping down
/// (a stopping VU finishes its ~11 ms iteration first).
#[test]
fn ramping_vus_follow_the_k6_plan() {
    let stages = [
        (50u64, 100u32),
        (100, 500),
        (150, 1000),
        (100, 200),
        (100, 0),
    ];
    let mut ex = String::from(
        "    executor: ramping-vus\n    startVUs: 0\n    gracefulRampDown: 1s\n    stages:\n",
    );
    for (d, t) in stages {
        ex.push_str(&format!("      - {{duration: {d}s, target: {t}}}\n"));
    }
    let l = config::from_strs(&scenario(&ex, "      - sleep: const(10ms)\n"), MODEL).unwrap();
    let r = run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let plan = ramping_vus_plan(0, &stages.map(|(d, t)| (d * SEC, t)));
    let ts = r.timeseries();
    let (t, vus) = (ts.column("t_s").unwrap(), ts.column("vus").unwrap());
    let mut checked = 0;
    for (i, &ts) in t.iter().enumerate() {
        let now = (ts * 1e9).round() as u64;
        if now > 500 * SEC {
            break;
        }
        let want = vus_at(&plan, now) as f64;
        let earlier = vus_at(&plan, now.saturating_sub(50_000_000)) as f64;
        assert!(
            vus[i] >= want.min(earlier) && vus[i] <= want.max(earlier),
            "t={ts}s: {} VUs, plan {want} (50 ms earlier {earlier})",
            vus[i]
        );
        checked += 1;
    }
    assert!(checked >= 490);
    assert_eq!(r.metrics.vus_max_seen, 1000);
}

#[test]
fn ramping_arrival_rate_first_iteration_at_sqrt_10() {
    let ex = "    executor: ramping-arrival-rate\n    startRate: 0\n    timeUnit: 1s\n    preAllocatedVUs: 2\n    stages:\n      - {duration: 5s, target: 1}\n";
    let l = config::from_strs(&scenario(ex, ""), MODEL).unwrap();
    let r = run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let first = ns_to_secs(r.metrics.first_send.unwrap());
    assert!(
        (first - 10f64.sqrt()).abs() < 1e-6,
        "first iteration at {first}s"
    );
    // The area under 0→1/s over 5 s is 2.5: two iterations (at √10 s and √20 s).
    assert_eq!(r.metrics.iterations, 2);
}

#[test]
fn constant_arrival_rate_drops_when_vus_run_out() {
    // 100 iterations/s of a 1 s flow need ~100 VUs; with maxVUs 20, most are dropped, none queued.
    let ex = "    executor: constant-arrival-rate\n    rate: 100\n    timeUnit: 1s\n    duration: 10s\n    preAllocatedVUs: 10\n    maxVUs: 20\n";
    let l = config::from_strs(&scenario(ex, "      - sleep: const(1s)\n"), MODEL).unwrap();
    let r = run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let m = &r.metrics;
    assert_eq!(
        m.iterations + m.dropped_iterations,
        1000,
        "every scheduled iteration is run or dropped"
    );
    assert!(m.vus_allocated <= 20);
    // 20 VUs, each busy ~1.001 s per iteration, over 10 s: at most ~200 iterations.
    assert!(
        m.iterations <= 200 && m.iterations >= 180,
        "{} iterations",
        m.iterations
    );
}

#[test]
fn artillery_phases_arrive_on_their_ticks() {
    let ex = "    executor: artillery\n    phases:\n      - {duration: 60, arrivalRate: 10, name: warm up}\n      - {pause: 10}\n      - {duration: 10, arrivalCount: 50}\n";
    let l = config::from_strs(&scenario(ex, ""), MODEL).unwrap();
    let r = run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    // 10/s for 60 s = 600 arrivals, the first one tick (100 ms) in; then 50 evenly spaced.
    assert_eq!(r.metrics.iterations, 650);
    assert!((ns_to_secs(r.metrics.first_send.unwrap()) - 0.1).abs() < 1e-9);
}

#[test]
fn client_timeout_fails_the_request_and_the_flow_continues() {
    let model = MODEL
        .replace("cpu: const(1ms)", "cpu: const(5s)")
        .replace("cores: 64", "cores: 1")
        .replace("replicas: 4", "replicas: 1");
    let ex = "    executor: constant-vus\n    vus: 1\n    duration: 10s\n    gracefulStop: 0s\n";
    let s = scenario(ex, "      - request: ping\n").replace(
        "sample_interval: 1s",
        "sample_interval: 1s\nrequest_timeout: 2s",
    );
    let l = config::from_strs(&s, &model).unwrap();
    let r = run(
        &l,
        RunOptions {
            seed: 1,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let m = &r.metrics;
    // Each request times out at 2 s and the VU moves on: requests go out at 0, 2, 4, 6 and 8 s.
    // The fifth would time out at 10 s, exactly when gracefulStop 0 cuts the iteration: the
    // hard stop (scheduled first) wins, so it is abandoned, not recorded, as in k6.
    assert_eq!(m.sent, 5);
    assert_eq!(m.failed, m.requests());
    assert_eq!(m.requests(), 4);
    assert_eq!(m.abandoned, 1);
    let timeouts = m
        .cause_counts()
        .find(|(c, _)| c.name() == "timeout")
        .unwrap()
        .1;
    assert_eq!(timeouts, 4);
    assert!((r.metrics.http.avg_ms() - 2000.0).abs() < 1e-6);
}

#[test]
fn memory_does_not_grow_with_run_length() {
    let slots = |minutes: u64| {
        let ex =
            format!("    executor: poisson-arrivals\n    rate: 200\n    duration: {minutes}m\n");
        let l = config::from_strs(&scenario(&ex, ""), MODEL).unwrap();
        let r = run(
            &l,
            RunOptions {
                seed: 1,
                replication: 0,
            },
            &mut |_, _| {},
        );
        (r.system.request_slots(), r.metrics.requests())
    };
    let (short, n_short) = slots(1);
    let (long, n_long) = slots(20);
    assert!(n_long > 15 * n_short);
    assert!(
        long <= short + 16,
        "request slab grew from {short} to {long}"
    );
}
