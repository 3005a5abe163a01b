//! Load-dependent stations and shared hosts against their exact solutions
//! (`shared/reference/calibration.md` §2): a closed network of a think-time delay and one
//! load-dependent station (product form, §2.1), an open station with state-dependent rates
//! (birth–death, §2.5), and two components on one processor-sharing host.
//! The oracles are computed here from c(n) alone, independently of the simulator.

use statrs::distribution::{ContinuousCDF, StudentsT};
use surge::config::{self, Loaded};
use surge::sim::{self, RunOptions, RunResult};

const SEED: u64 = 7_310_001;

fn load(scenario: &str, model: &str) -> Loaded {
    config::from_strs(scenario, model).unwrap_or_else(|e| panic!("invalid test scenario: {e}"))
}

fn run(l: &Loaded, rep: u64) -> RunResult {
    let r = sim::run(
        l,
        RunOptions {
            seed: SEED,
            replication: rep,
        },
        &mut |_, _| {},
    );
    assert_eq!(r.metrics.failed, 0, "no request may fail in these runs");
    r
}

/// Exact closed network of a delay Z and one station with capacity c(n) and mean work S
/// (§2.1): p(n) ∝ Z^(N−n)/(N−n)! · S^n/∏c(j), summed in log space. Returns (X, R).
fn closed_exact(n_users: usize, s: f64, z: f64, c: &dyn Fn(usize) -> f64) -> (f64, f64) {
    let mut logs = Vec::with_capacity(n_users + 1);
    let mut log_prod_c = 0.0;
    let ln_fact = |k: usize| (1..=k).map(|i| (i as f64).ln()).sum::<f64>();
    for n in 0..=n_users {
        if n > 0 {
            log_prod_c += c(n).ln();
        }
        let k = n_users - n;
        logs.push(k as f64 * z.ln() - ln_fact(k) + n as f64 * s.ln() - log_prod_c);
    }
    let m = logs.iter().cloned().fold(f64::MIN, f64::max);
    let w: Vec<f64> = logs.iter().map(|l| (l - m).exp()).collect();
    let g: f64 = w.iter().sum();
    let x: f64 = (1..=n_users).map(|n| w[n] / g * c(n) / s).sum();
    (x, n_users as f64 / x - z)
}

/// Open birth–death station (§2.5): p(n) ∝ ∏ λS/c(j), c constant from `m` on (exact tail).
fn open_exact(lambda: f64, s: f64, c: &dyn Fn(usize) -> f64, m: usize) -> (f64, f64) {
    let mut w = vec![1.0];
    for j in 1..=m {
        w.push(w[j - 1] * lambda * s / c(j));
    }
    let rho = lambda * s / c(m);
    assert!(rho < 1.0);
    let head: f64 = w[..m].iter().sum();
    let head_n: f64 = w[..m].iter().enumerate().map(|(n, w)| n as f64 * w).sum();
    let tail = w[m] / (1.0 - rho);
    let tail_n = w[m] * (m as f64 / (1.0 - rho) + rho / (1.0 - rho).powi(2));
    let l = (head_n + tail_n) / (head + tail);
    (l, l / lambda)
}

fn usl(sigma: f64, kappa: f64) -> impl Fn(usize) -> f64 {
    move |n| {
        let x = n as f64;
        x / (1.0 + sigma * (x - 1.0) + kappa * x * (x - 1.0))
    }
}

/// The oracle must lie inside the replications' 99 % confidence interval, and the interval
/// must be tight (half-width ≤ `max_rel_half` of the oracle) so the check has teeth.
fn assert_ci(what: &str, xs: &[f64], oracle: f64, max_rel_half: f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .unwrap()
        .inverse_cdf(0.995);
    let half = t * (var / n).sqrt();
    let msg = format!(
        "{what}: simulated {mean:.5} ± {half:.5} vs exact {oracle:.5} ({:+.2} %)",
        100.0 * (mean / oracle - 1.0)
    );
    println!("{msg}");
    assert!(half <= max_rel_half * oracle, "{msg}: CI too wide");
    assert!(
        (mean - oracle).abs() <= half,
        "{msg}: exact value outside the CI"
    );
}

fn model_one(pod: &str) -> String {
    format!(
        "entry: st\nservices:\n  st:\n    replicas: 1\n    pod: {pod}\n    endpoints:\n      serve:\n        - cpu: exp(mean=10ms)\n"
    )
}

fn closed(vus: usize, secs: u64) -> String {
    format!(
        "model: m.yaml\nsample_interval: 100s\nrequest_timeout: 1000h\n\
         flows:\n  loop:\n    steps:\n      - request: serve\n      - sleep: exp(mean=10ms)\n\
         scenarios:\n  closed:\n    executor: constant-vus\n    vus: {vus}\n    duration: {secs}s\n    gracefulStop: 1000h\n"
    )
}

/// X and R measured over replications (R from the client, X = completions / time).
fn closed_xr(l: &Loaded, reps: u64) -> (Vec<f64>, Vec<f64>) {
    (0..reps)
        .map(|rep| {
            let r = run(l, rep);
            let secs = surge::engine::ns_to_secs(r.end);
            (
                r.metrics.http.count() as f64 / secs,
                r.metrics.http.avg_ms() / 1000.0,
            )
        })
        .unzip()
}

#[test]
fn closed_usl_station_matches_product_form_below_at_and_beyond_the_peak() {
    // USL(0.1, 0.01): peak at N* = 9.49. PS with more cores than users, so c(n) is the USL.
    let model = model_one("{cores: 1000, contention: {usl: {sigma: 0.1, kappa: 0.01}}}");
    let (s, z) = (0.01, 0.01);
    let c = usl(0.1, 0.01);
    let mut xs_seen = Vec::new();
    for n in [5usize, 9, 40] {
        let (x, r) = closed_exact(n, s, z, &c);
        let l = load(&closed(n, 600), &model);
        let (xs, rs) = closed_xr(&l, 5);
        assert_ci(&format!("USL N={n} X"), &xs, x, 0.01);
        assert_ci(&format!("USL N={n} R"), &rs, r, 0.02);
        xs_seen.push(x);
    }
    // The oracle itself is retrograde here: beyond the peak throughput falls.
    assert!(xs_seen[2] < closed_exact(20, s, z, &c).0);
}

#[test]
fn closed_table_station_matches_product_form() {
    // A measured curve on one server: c(n) is the table itself (flat beyond the last point).
    let model =
        model_one("{cores: 1, contention: {table: [[1, 1.0], [2, 1.6], [4, 2.0], [8, 1.5]]}}");
    let table = [(1.0, 1.0), (2.0, 1.6), (4.0, 2.0), (8.0, 1.5)];
    let c = move |n: usize| {
        let x = n as f64;
        let i = table.iter().position(|p| p.0 > x).unwrap_or(table.len());
        if i == table.len() {
            table[i - 1].1
        } else {
            let (a, b) = (table[i - 1], table[i]);
            a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)
        }
    };
    for n in [3usize, 12] {
        let (x, r) = closed_exact(n, 0.01, 0.01, &c);
        let l = load(&closed(n, 600), &model);
        let (xs, rs) = closed_xr(&l, 5);
        assert_ci(&format!("table N={n} X"), &xs, x, 0.01);
        assert_ci(&format!("table N={n} R"), &rs, r, 0.02);
    }
}

#[test]
fn fcfs_with_inflated_demand_matches_case_c() {
    // calibration.md §2.1 case C: c(n) = min(n,2)/(1+0.1(n−1)), S0 = Z; X(5) = 61670/40279 / S,
    // and CPU-s per request (occupied servers / X) = 1.249522 S.
    let model =
        model_one("{cores: 2, discipline: fcfs, workers: 2, contention: {linear: {alpha: 0.1}}}");
    let l = load(&closed(5, 1200), &model);
    let s = 0.01;
    let reps: Vec<(f64, f64)> = (0..5)
        .map(|rep| {
            let mut r = run(&l, rep);
            let secs = surge::engine::ns_to_secs(r.end);
            let x = r.metrics.http.count() as f64 / secs;
            let (_, u, busy) = r
                .system
                .resource_usage(r.end)
                .into_iter()
                .find(|(n, _, _)| n == "service:st")
                .unwrap();
            assert!(u <= 1.0);
            (x, busy / r.metrics.http.count() as f64)
        })
        .collect();
    let xs: Vec<f64> = reps.iter().map(|p| p.0).collect();
    let cpu: Vec<f64> = reps.iter().map(|p| p.1).collect();
    assert_ci("case C X(5)", &xs, 61670.0 / 40279.0 / s, 0.01);
    assert_ci("case C CPU-s per request", &cpu, 1.249522 * s, 0.01);
}

#[test]
fn open_state_dependent_station_matches_birth_death() {
    // USL(0.1, 0.01) capped at n = 10 (§2.5): a PS pod with 10 cores and the table of USL(n)/n
    // for n = 1..10, flat beyond, has c(n) = USL(n) up to 10 and USL(10) after.
    let u = usl(0.1, 0.01);
    let table: Vec<String> = (1..=10)
        .map(|n| format!("[{n}, {}]", u(n) / n as f64))
        .collect();
    let model = model_one(&format!(
        "{{cores: 10, contention: {{table: [{}]}}}}",
        table.join(", ")
    ));
    let scen = "model: m.yaml\nsample_interval: 100s\nrequest_timeout: 1000h\n\
        flows:\n  one:\n    steps:\n      - request: serve\n\
        scenarios:\n  open:\n    executor: poisson-arrivals\n    rate: 200\n    duration: 1500s\n    gracefulStop: 1000h\n";
    let (_, r_exact) = open_exact(2.0, 1.0, &u, 10);
    // The reference's table: λ=2, S=1 gives R = 1.4482959998; here S = 10 ms and λ = 200/s.
    assert!((r_exact - 1.4482959998).abs() < 1e-9);
    let l = load(scen, &model);
    let rs: Vec<f64> = (0..5)
        .map(|rep| run(&l, rep).metrics.http.avg_ms() / 1000.0)
        .collect();
    assert_ci("open USL-capped R", &rs, r_exact * 0.01, 0.02);
}

#[test]
fn two_components_on_one_host_share_it_by_processor_sharing() {
    // A service's CPU (10 ms) and a database query (5 ms) on one 1-core host, Poisson 40/s:
    // the host is one PS station with demand D = 15 ms per request (ρ = 0.6), so the mean time
    // a request spends there is D/(1−ρ) = 37.5 ms, whatever the split; utilization splits by
    // demand: 0.4 and 0.2.
    let model = "entry: app\nhosts:\n  box: {cores: 1}\n\
        services:\n  app:\n    replicas: 1\n    host: box\n    pod: {cores: 1}\n    endpoints:\n      serve:\n        - cpu: exp(mean=10ms)\n        - db: {database: pg, query: read, time: exp(mean=5ms)}\n\
        databases:\n  pg:\n    host: box\n    max_connections: 10000\n    pool: {max: 10000, acquire_timeout: 1000s}\n";
    let scen = "model: m.yaml\nsample_interval: 100s\nrequest_timeout: 1000h\n\
        flows:\n  one:\n    steps:\n      - request: serve\n\
        scenarios:\n  open:\n    executor: poisson-arrivals\n    rate: 40\n    duration: 3000s\n    gracefulStop: 1000h\n";
    let l = load(scen, model);
    let mut rs = Vec::new();
    let mut ua = Vec::new();
    let mut ub = Vec::new();
    let mut uh = Vec::new();
    for rep in 0..5 {
        let r = run(&l, rep);
        rs.push(r.metrics.http.avg_ms() / 1000.0);
        let u = |k: &str| {
            r.utilization
                .iter()
                .find(|(n, _)| n == k)
                .unwrap_or_else(|| panic!("no utilization for {k}"))
                .1
        };
        ua.push(u("service:app"));
        ub.push(u("database:pg"));
        uh.push(u("host:box"));
    }
    assert_ci("shared host R", &rs, 0.015 / (1.0 - 0.6), 0.03);
    assert_ci("app's share of the host", &ua, 0.4, 0.02);
    assert_ci("database's share of the host", &ub, 0.2, 0.03);
    assert_ci("host utilization", &uh, 0.6, 0.02);
}

#[test]
fn contention_is_validated_with_its_field() {
    let bad = [
        (
            "{cores: 1, contention: {usl: {sigma: 1.0, kappa: 0.0}}}",
            "sigma",
        ),
        (
            "{cores: 1, contention: {usl: {sigma: 0.1, kappa: -1}}}",
            "kappa",
        ),
        ("{cores: 1, contention: {table: [[2, 1.0]]}}", "n = 1"),
        (
            "{cores: 1, contention: {table: [[1, 1.0], [1, 0.5]]}}",
            "increasing",
        ),
        ("{cores: 1, contention: {table: [[1, 0.0]]}}", "factor"),
        ("{cores: 1, contention: {}}", "exactly one"),
    ];
    for (pod, want) in bad {
        let e = config::from_strs(&closed(1, 1), &model_one(pod))
            .err()
            .unwrap_or_else(|| panic!("{pod} accepted"))
            .to_string();
        assert!(e.contains("contention") && e.contains(want), "{pod}: {e}");
    }
    let unknown_host = "entry: a\nservices:\n  a:\n    replicas: 1\n    host: nope\n    pod: {cores: 1}\n    endpoints:\n      serve:\n        - cpu: const(1ms)\n";
    let e = config::from_strs(&closed(1, 1), unknown_host)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("services.a.host") && e.contains("nope"), "{e}");
}

/// The run reports a load-dependent station's useful speed beside its CPU (calibration.md §1,
/// "Utilisation"): useful speed E[c(n)] = X·S by the utilization law, checked against the
/// exact X; and a table station run past its last point says so (its speed was held flat
/// there), in summary.json and on the console, while one that stayed inside it does not.
#[test]
fn contention_report_gives_useful_speed_and_flags_runs_past_the_table() {
    let table = "[[1, 1.0], [2, 1.6], [4, 2.0], [8, 1.5]]";
    let model = model_one(&format!("{{cores: 1, contention: {{table: {table}}}}}"));
    let c = |n: usize| match n {
        1 => 1.0,
        2 => 1.6,
        3 => 1.8,
        _ => unreachable!("N = 3 only"),
    };
    for (n, beyond) in [(3usize, false), (12, true)] {
        let l = load(&closed(n, 600), &model);
        let r = run(&l, 0);
        let rep = surge::report::Report::new(&l, r, SEED);
        let list = rep.json["surge"]["contention"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        let st = &list[0];
        assert_eq!(st["resource"], "service:st");
        assert_eq!(st["law"], "table");
        assert_eq!(st["table_last_n"], 8.0);
        let peak = st["peak_jobs"].as_u64().unwrap();
        assert!(peak <= n as u64, "{peak} jobs with {n} users");
        assert_eq!(st["beyond_table"], beyond, "peak {peak}");
        let note = surge::report::console_summary(&rep).contains("beyond its contention table");
        assert_eq!(note, beyond);
        if n == 3 {
            // One core: capacity 1, so useful_util is E[c(n)] itself, = X·S.
            let (x, _) = closed_exact(n, 0.01, 0.01, &c);
            let useful = st["useful_util"].as_f64().unwrap();
            assert!(
                (useful / (x * 0.01) - 1.0).abs() < 0.02,
                "useful {useful} vs X·S {}",
                x * 0.01
            );
            // Occupied servers min(n, 1) is the busy probability, below the useful speed here
            // (the table speeds one server up past 1).
            assert!(st["cpu_util"].as_f64().unwrap() < useful);
        }
    }
}
