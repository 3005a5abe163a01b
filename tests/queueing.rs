//! surge against queueing theory: every simulated number here is compared with an analytic
//! oracle computed in this file (Erlang C, M/M/1 and M/G/1 processor sharing,
//! Pollaczek–Khinchine, exact MVA for a closed network), or with an operational law
//! (Little, utilization). Seeds are fixed, so every test is deterministic; run lengths and
//! tolerances are sized so that a real modelling error of a few per cent makes a test fail.

mod common;
use common::erlang_c;

use serde_json::Value;
use statrs::distribution::{ContinuousCDF, StudentsT};
use surge::config::{self, Loaded};
use surge::engine::ns_to_secs;
use surge::report::Report;
use surge::sim::{self, RunOptions, RunResult};

const SEED: u64 = 20_240_611;

// ---------------------------------------------------------------------------------------------
// Scenario and model builders
// ---------------------------------------------------------------------------------------------

/// One service `station` with endpoint `serve` = one CPU step with the given service time.
fn station_model(pod: &str, service: &str) -> String {
    format!(
        "entry: station\n\
         services:\n  station:\n    replicas: 1\n    pod: {pod}\n    endpoints:\n      serve:\n        - cpu: {service}\n"
    )
}

/// Open Poisson arrivals at `lambda`/s for `secs` simulated seconds; nothing is ever cut off.
fn open_scenario(lambda: f64, secs: f64) -> String {
    format!(
        "model: m.yaml\nsample_interval: {si}s\nrequest_timeout: 1000h\n\
         flows:\n  one:\n    steps:\n      - request: serve\n\
         scenarios:\n  open:\n    executor: poisson-arrivals\n    rate: {lambda}\n    duration: {secs:.0}s\n    gracefulStop: 1000h\n",
        si = (secs / 20.0).ceil().max(1.0),
    )
}

/// `vus` closed users looping [request, think] for `secs` seconds, sampled every `interval` s.
fn closed_scenario(vus: u32, think: &str, secs: u64, interval: u64) -> String {
    format!(
        "model: m.yaml\nsample_interval: {interval}s\nrequest_timeout: 1000h\n\
         flows:\n  loop:\n    steps:\n      - request: serve\n      - sleep: {think}\n\
         scenarios:\n  closed:\n    executor: constant-vus\n    vus: {vus}\n    duration: {secs}s\n    gracefulStop: 1000h\n"
    )
}

fn load(scenario: &str, model: &str) -> Loaded {
    config::from_strs(scenario, model).unwrap_or_else(|e| panic!("invalid test scenario: {e}"))
}

fn run(loaded: &Loaded, seed: u64, replication: u64) -> RunResult {
    let r = sim::run(loaded, RunOptions { seed, replication }, &mut |_, _| {});
    assert_eq!(r.metrics.failed, 0, "no request may fail in these runs");
    assert_eq!(
        r.metrics.interrupted_iterations, 0,
        "no iteration may be cut off in these runs"
    );
    r
}

fn station_queue(r: &RunResult) -> Value {
    r.system.queue_report(r.end)["service:station"].clone()
}

fn station_util(r: &RunResult) -> f64 {
    r.utilization
        .iter()
        .find(|(k, _)| k == "service:station")
        .map(|(_, u)| *u)
        .expect("utilization of service:station")
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} missing or not a number: {v}"))
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

/// Mean and Student-t confidence half-width at `level` over independent replications.
struct Ci {
    mean: f64,
    half: f64,
    n: usize,
}

fn ci(xs: &[f64], level: f64) -> Ci {
    let n = xs.len();
    assert!(n >= 2);
    let nf = n as f64;
    let mean = xs.iter().sum::<f64>() / nf;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    let t = StudentsT::new(0.0, 1.0, nf - 1.0)
        .expect("valid t distribution")
        .inverse_cdf(0.5 + level / 2.0);
    Ci {
        mean,
        half: t * (var / nf).sqrt(),
        n,
    }
}

/// The oracle must lie inside the confidence interval, and the interval must be tight
/// (half-width at most `max_rel_half` of the oracle) so that the check has teeth.
///
/// A test making `checks` such comparisons uses simultaneous 95 % intervals (Bonferroni: each
/// at 1 - 0.05/checks), so a correct simulator fails a test for an unlucky seed at most 5 % of
/// the time rather than 5 % per comparison; this matters when a harmless change reshuffles the
/// random numbers.
fn assert_ci(what: &str, xs: &[f64], oracle: f64, max_rel_half: f64, checks: usize) {
    let level = 1.0 - 0.05 / checks as f64;
    let ci = ci(xs, level);
    let msg = format!(
        "{what}: simulated {:.4} ± {:.4} ({:.2} % CI, {} replications) vs analytic {:.4} \
         (rel. error {:+.2} %)",
        ci.mean,
        ci.half,
        100.0 * level,
        ci.n,
        oracle,
        100.0 * (ci.mean / oracle - 1.0)
    );
    println!("{msg}");
    assert!(
        ci.half <= max_rel_half * oracle,
        "{msg}: CI too wide to be a meaningful check (limit {:.1} %)",
        100.0 * max_rel_half
    );
    assert!(
        (ci.mean - oracle).abs() <= ci.half,
        "{msg}: oracle outside CI"
    );
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn assert_rel(what: &str, simulated: f64, oracle: f64, tol: f64) {
    let rel = simulated / oracle - 1.0;
    let msg = format!(
        "{what}: simulated {simulated:.5} vs analytic {oracle:.5} (rel. error {:+.2} %, tolerance {:.1} %)",
        100.0 * rel,
        100.0 * tol
    );
    println!("{msg}");
    assert!(rel.abs() <= tol, "{msg}");
}

// ---------------------------------------------------------------------------------------------
// Analytic oracles
// ---------------------------------------------------------------------------------------------

/// Exact MVA for a closed network of one delay station (think time `z` > 0) and one
/// load-dependent station of `c` identical FCFS exponential servers (service time `s`), by the
/// marginal probability recursion. Returns (X, R, Q) for 1..=n_max users (index n-1).
///
/// p(j|n) = X(n)/μ(j) · p(j-1|n-1) for j ≥ 1. The textbook p(0|n) = 1 - Σ_{j≥1} p(j|n)
/// cancels catastrophically beyond saturation, so p(0|n) comes from the delay station instead:
/// p(0|n) = Z^n/n! / G(n) and X(n) = G(n-1)/G(n) give p(0|n) = p(0|n-1) · X(n) · Z / n.
/// The probabilities must then still sum to one, which is checked.
fn mva_multiserver(n_max: u32, c: u32, s: f64, z: f64) -> Vec<(f64, f64, f64)> {
    assert!(z > 0.0 && s > 0.0 && c > 0);
    let mu = |j: usize| (j.min(c as usize) as f64) / s; // service rate with j jobs present
    let mut p = vec![1.0]; // p[j] = P(j jobs at the station | n-1 users)
    let mut out = Vec::new();
    for n in 1..=n_max as usize {
        let r: f64 = (1..=n).map(|j| j as f64 / mu(j) * p[j - 1]).sum();
        let x = n as f64 / (z + r);
        let mut next = vec![0.0; n + 1];
        next[0] = p[0] * x * z / n as f64;
        for j in 1..=n {
            next[j] = x / mu(j) * p[j - 1];
        }
        let total: f64 = next.iter().sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "MVA marginals sum to {total} at n={n}"
        );
        let q: f64 = (1..=n).map(|j| j as f64 * next[j]).sum();
        out.push((x, r, q));
        p = next;
    }
    out
}

/// The same network solved independently by its product-form normalisation constant:
/// P(k at the station) ∝ Z^(N-k)/(N-k)! · S^k / Π_{j≤k} min(j,c). Returns (X, R, Q) at N users.
fn product_form(n: u32, c: u32, s: f64, z: f64) -> (f64, f64, f64) {
    let ln_fact = |m: u32| (1..=m).map(|i| (i as f64).ln()).sum::<f64>();
    let log_terms = |n: u32| -> Vec<f64> {
        let mut ln_beta = 0.0;
        (0..=n)
            .map(|k| {
                if k > 0 {
                    ln_beta += (k.min(c) as f64).ln();
                }
                (n - k) as f64 * z.ln() - ln_fact(n - k) + k as f64 * s.ln() - ln_beta
            })
            .collect()
    };
    let log_sum = |v: &[f64]| {
        let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    };
    let t_n = log_terms(n);
    let t_n1 = log_terms(n - 1);
    let ln_g = log_sum(&t_n);
    let x = (log_sum(&t_n1) - ln_g).exp();
    let q: f64 = t_n
        .iter()
        .enumerate()
        .map(|(k, t)| k as f64 * (t - ln_g).exp())
        .sum();
    (x, q / x, q)
}

#[test]
fn oracles_are_self_consistent() {
    // Erlang C reduces to ρ for one server, and matches a textbook value (M/M/2, a = 1: 1/3).
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // The MVA recursion and the normalisation constant agree, and X never exceeds c/S.
    for &(c, s, z) in &[(2u32, 0.1, 1.0), (1, 0.2, 0.5), (4, 0.3, 2.0)] {
        let mva = mva_multiserver(80, c, s, z);
        for n in [1u32, 5, 22, 60, 80] {
            let (x, r, q) = mva[n as usize - 1];
            let (x2, r2, q2) = product_form(n, c, s, z);
            assert!((x / x2 - 1.0).abs() < 1e-9, "X at N={n}: {x} vs {x2}");
            assert!((r / r2 - 1.0).abs() < 1e-9, "R at N={n}: {r} vs {r2}");
            assert!((q / q2 - 1.0).abs() < 1e-9, "Q at N={n}: {q} vs {q2}");
            assert!(x <= c as f64 / s * (1.0 + 1e-12));
            assert!((x * (r + z) - n as f64).abs() < 1e-9); // Little on the whole loop
        }
    }
    // One user, one server: no queueing at all.
    let (x1, r1, _) = mva_multiserver(1, 2, 0.1, 1.0)[0];
    assert!((r1 - 0.1).abs() < 1e-12 && (x1 - 1.0 / 1.1).abs() < 1e-12);
}

// ---------------------------------------------------------------------------------------------
// 1. M/M/c FCFS against Erlang C
// ---------------------------------------------------------------------------------------------

#[test]
fn mmc_fcfs_matches_erlang_c() {
    let (lambda, mu, c) = (9.0, 1.0, 10u32);
    let a = lambda / mu;
    let p_wait = erlang_c(c, a);
    let wq = p_wait / (c as f64 * mu - lambda);
    let w = wq + 1.0 / mu;
    let rho = lambda / (c as f64 * mu);

    let model = station_model("{cores: 10, discipline: fcfs, workers: 10}", "exp(mean=1s)");
    let customers_per_rep = 250_000.0;
    let loaded = load(&open_scenario(lambda, customers_per_rep / lambda), &model);
    let reps = 40;
    let (mut waits, mut resps, mut utils) = (Vec::new(), Vec::new(), Vec::new());
    let mut total = 0;
    for rep in 0..reps {
        let r = run(&loaded, SEED, rep);
        let q = station_queue(&r);
        waits.push(num(&q["mean_wait_ms"], "mean_wait_ms") / 1000.0);
        resps.push(r.metrics.http.avg_ms() / 1000.0);
        utils.push(station_util(&r));
        assert_eq!(num(&q["served"], "served") as u64, r.metrics.requests());
        total += r.metrics.requests();
    }
    println!("M/M/{c}: λ={lambda}, μ={mu}, P(wait)={p_wait:.5}, {total} customers");
    assert!(total >= 9_000_000);
    assert_ci("M/M/10 mean wait Wq (s)", &waits, wq, 0.035, 3);
    assert_ci("M/M/10 mean response W (s)", &resps, w, 0.015, 3);
    assert_ci("M/M/10 utilization", &utils, rho, 0.005, 3);
}

// ---------------------------------------------------------------------------------------------
// 2. M/G/1 processor sharing (insensitive) versus FCFS (Pollaczek–Khinchine)
// ---------------------------------------------------------------------------------------------

/// Per-replication (mean response s, mean FCFS wait s, utilization) of an M/G/1 station.
fn mg1(pod: &str, service: &str, lambda: f64, customers: f64, reps: u64) -> Vec<[f64; 3]> {
    let loaded = load(
        &open_scenario(lambda, customers / lambda),
        &station_model(pod, service),
    );
    (0..reps)
        .map(|rep| {
            let r = run(&loaded, SEED, rep);
            let q = station_queue(&r);
            [
                r.metrics.http.avg_ms() / 1000.0,
                num(&q["mean_wait_ms"], "mean_wait_ms") / 1000.0,
                station_util(&r),
            ]
        })
        .collect()
}

fn col(rows: &[[f64; 3]], i: usize) -> Vec<f64> {
    rows.iter().map(|r| r[i]).collect()
}

#[test]
fn mg1_processor_sharing_is_insensitive_and_fcfs_is_not() {
    let (lambda, s) = (7.0, 0.1);
    let mu = 1.0 / s;
    let rho = lambda * s;
    let ps_oracle = 1.0 / (mu - lambda); // M/G/1-PS: S/(1-ρ) for any service distribution
    let (customers, reps) = (150_000.0, 20);

    let ps_exp = mg1(
        "{cores: 1, discipline: ps}",
        "exp(mean=100ms)",
        lambda,
        customers,
        reps,
    );
    assert_ci(
        "M/M/1-PS mean response (s)",
        &col(&ps_exp, 0),
        ps_oracle,
        0.02,
        6,
    );
    assert_ci("M/M/1-PS utilization", &col(&ps_exp, 2), rho, 0.01, 6);

    let ps_det = mg1(
        "{cores: 1, discipline: ps}",
        "const(100ms)",
        lambda,
        customers,
        reps,
    );
    assert_ci(
        "M/D/1-PS mean response (s)",
        &col(&ps_det, 0),
        ps_oracle,
        0.02,
        6,
    );

    // The same deterministic service under FCFS: Pollaczek–Khinchine,
    // Wq = λ E[S²] / (2(1-ρ)) with E[S²] = S², which is far below the PS response.
    let fcfs_det = mg1(
        "{cores: 1, discipline: fcfs, workers: 1}",
        "const(100ms)",
        lambda,
        customers,
        reps,
    );
    let pk_wq = lambda * s * s / (2.0 * (1.0 - rho));
    let pk_w = pk_wq + s;
    assert_ci(
        "M/D/1-FCFS mean wait Wq (s)",
        &col(&fcfs_det, 1),
        pk_wq,
        0.02,
        6,
    );
    assert_ci(
        "M/D/1-FCFS mean response (s)",
        &col(&fcfs_det, 0),
        pk_w,
        0.02,
        6,
    );
    let fcfs_mean = mean(&col(&fcfs_det, 0));
    let ps_mean = mean(&col(&ps_det, 0));
    println!(
        "discipline matters for deterministic service: PS {ps_mean:.4} s vs FCFS {fcfs_mean:.4} s \
         (analytic {ps_oracle:.4} vs {pk_w:.4})"
    );
    assert!(
        ps_mean > 1.4 * fcfs_mean,
        "M/D/1: PS ({ps_mean:.4} s) should be much slower than FCFS ({fcfs_mean:.4} s)"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Closed network (constant-vus with think time) against exact MVA
// ---------------------------------------------------------------------------------------------

struct Closed {
    x: f64,
    r: f64,
    util: f64,
    mean_inflight: f64,
}

/// A closed run of `n` users for `secs` seconds; X is measured on the time series after
/// `warmup` seconds (and before the regular end, excluding the drain).
fn closed_run(loaded: &Loaded, secs: u64, interval: u64, warmup: u64, rep: u64) -> Closed {
    let r = run(loaded, SEED, rep);
    let ts = &r.metrics.ts;
    let t = ts.column("t_s").expect("t_s column");
    let done = ts
        .column("completions_per_s")
        .expect("completions_per_s column");
    let steady: Vec<f64> = t
        .iter()
        .zip(&done)
        .filter(|(t, _)| **t > warmup as f64 + 1e-9 && **t <= secs as f64 + 1e-9)
        .map(|(_, d)| *d)
        .collect();
    assert_eq!(
        steady.len() as u64,
        (secs - warmup) / interval,
        "unexpected sampling grid"
    );
    Closed {
        x: steady.iter().sum::<f64>() / steady.len() as f64,
        r: r.metrics.http.avg_ms() / 1000.0,
        util: station_util(&r),
        mean_inflight: r.mean_inflight,
    }
}

#[test]
fn closed_multiserver_matches_exact_mva() {
    let (c, s, z) = (2u32, 0.1, 1.0);
    // Saturation population N* = (D + Z) / D_max with D = S and D_max = S / c.
    let n_star = ((s + z) / (s / c as f64)).round() as u32;
    assert_eq!(n_star, 22);
    let model = station_model(
        "{cores: 2, discipline: fcfs, workers: 2}",
        "exp(mean=100ms)",
    );
    let mva = mva_multiserver(60, c, s, z);
    let (secs, interval, warmup) = (30_000u64, 100u64, 200u64);
    for n in [5u32, n_star, 60] {
        let (x, r, q) = mva[n as usize - 1];
        let loaded = load(&closed_scenario(n, "exp(mean=1s)", secs, interval), &model);
        let reps: Vec<Closed> = (0..4)
            .map(|rep| closed_run(&loaded, secs, interval, warmup, rep))
            .collect();
        let xs: Vec<f64> = reps.iter().map(|c| c.x).collect();
        let rs: Vec<f64> = reps.iter().map(|c| c.r).collect();
        println!("closed N={n}: per-replication X {xs:.4?}, R {rs:.4?}");
        assert_rel(
            &format!("closed N={n} throughput X (1/s)"),
            mean(&xs),
            x,
            0.01,
        );
        assert_rel(&format!("closed N={n} response R (s)"), mean(&rs), r, 0.02);
        let util: Vec<f64> = reps.iter().map(|c| c.util).collect();
        assert_rel(
            &format!("closed N={n} utilization = X S / c"),
            mean(&util),
            x * s / c as f64,
            0.01,
        );
        let inflight: Vec<f64> = reps.iter().map(|c| c.mean_inflight).collect();
        assert_rel(
            &format!("closed N={n} mean requests in flight Q"),
            mean(&inflight),
            q,
            0.02,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Little's law on surge's own outputs
// ---------------------------------------------------------------------------------------------

fn check_littles_law(what: &str, loaded: &Loaded, seed: u64) -> Value {
    let r = run(loaded, seed, 0);
    let station_jobs = num(&station_queue(&r)["mean_jobs"], "mean_jobs");
    let rep = Report::new(loaded, r, seed);
    let ll = &rep.json["surge"]["littles_law"];
    let l = num(&ll["mean_inflight"], "littles_law.mean_inflight");
    let x = num(&ll["throughput_per_s"], "littles_law.throughput_per_s");
    let w = num(&ll["mean_response_s"], "littles_law.mean_response_s");
    let lw = num(&ll["lambda_times_w"], "littles_law.lambda_times_w");
    // The summary's pieces agree with the run itself.
    let secs = num(
        &rep.json["surge"]["simulated_seconds"],
        "surge.simulated_seconds",
    );
    let reqs = num(
        &rep.json["metrics"]["http_reqs"]["values"]["count"],
        "http_reqs.count",
    );
    let avg_ms = num(
        &rep.json["metrics"]["http_req_duration"]["values"]["avg"],
        "http_req_duration.avg",
    );
    assert!((x - reqs / secs).abs() <= 1e-9 * x, "{what}: throughput");
    assert!(
        (w - avg_ms / 1000.0).abs() <= 1e-9 * w,
        "{what}: mean response"
    );
    assert!((lw - x * w).abs() <= 1e-9 * lw, "{what}: λW");
    assert_rel(&format!("{what}: L = λW (mean in flight)"), l, x * w, 0.02);
    // Every client request in flight sits at the single station, so the station's own
    // time-averaged job count is the same L.
    assert_rel(
        &format!("{what}: station mean jobs = client mean in flight"),
        station_jobs,
        l,
        0.02,
    );
    rep.json
}

#[test]
fn littles_law_holds_on_surge_outputs() {
    // Open: M/M/10 at ρ = 0.9. Every arrival is served, so the throughput is the offered λ
    // (up to the Poisson count's ±0.16 % standard deviation over 400k arrivals).
    let lambda = 9.0;
    let open = load(
        &open_scenario(lambda, 400_000.0 / lambda),
        &station_model("{cores: 10, discipline: fcfs, workers: 10}", "exp(mean=1s)"),
    );
    let json = check_littles_law("open M/M/10", &open, SEED);
    let ll = &json["surge"]["littles_law"];
    assert_rel(
        "open M/M/10: throughput = offered λ",
        num(&ll["throughput_per_s"], "throughput_per_s"),
        lambda,
        0.01,
    );

    // Closed: 22 users on two exponential servers with 1 s mean think time. Little's law on the
    // think "station" too: N = L(in flight) + X·Z, so L = N - X·Z, an independent route to L.
    let (n, z) = (22.0, 1.0);
    let closed = load(
        &closed_scenario(22, "exp(mean=1s)", 30_000, 100),
        &station_model(
            "{cores: 2, discipline: fcfs, workers: 2}",
            "exp(mean=100ms)",
        ),
    );
    let json = check_littles_law("closed N=22", &closed, SEED);
    let ll = &json["surge"]["littles_law"];
    let x = num(&ll["throughput_per_s"], "throughput_per_s");
    assert_rel(
        "closed N=22: L = N - X·Z",
        num(&ll["mean_inflight"], "mean_inflight"),
        n - x * z,
        0.03,
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Utilization law in the summary
// ---------------------------------------------------------------------------------------------

#[test]
fn utilization_law_in_summary() {
    // (pod, service time, λ, c): U = λ S / c, for FCFS multi-server and PS on several cores.
    let cases = [
        (
            "{cores: 4, discipline: fcfs, workers: 4}",
            "exp(mean=200ms)",
            0.2,
            12.0,
            4.0,
        ),
        (
            "{cores: 2, discipline: ps}",
            "exp(mean=50ms)",
            0.05,
            30.0,
            2.0,
        ),
        ("{cores: 1, discipline: ps}", "const(20ms)", 0.02, 25.0, 1.0),
    ];
    for (pod, service, s, lambda, c) in cases {
        let loaded = load(
            &open_scenario(lambda, 500_000.0 / lambda),
            &station_model(pod, service),
        );
        let r = run(&loaded, SEED, 0);
        let rep = Report::new(&loaded, r, SEED);
        let u = num(
            &rep.json["surge"]["utilization"]["service:station"],
            "surge.utilization[service:station]",
        );
        assert_rel(
            &format!("utilization {pod} {service} λ={lambda}"),
            u,
            lambda * s / c,
            0.01,
        );
        // The per-interval utilization column averages to the same value.
        let ts = rep.result.timeseries();
        let col = ts.column("station_cpu_util").expect("station_cpu_util");
        let dt: Vec<f64> = {
            let t = ts.column("t_s").expect("t_s");
            t.iter()
                .scan(0.0, |prev, &x| {
                    let d = x - *prev;
                    *prev = x;
                    Some(d)
                })
                .collect()
        };
        let weighted =
            col.iter().zip(&dt).map(|(u, d)| u * d).sum::<f64>() / ns_to_secs(rep.result.end);
        assert_rel(
            &format!("time-series utilization {pod} {service}"),
            weighted,
            u,
            0.001,
        );
    }
}
