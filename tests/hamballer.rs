//! The HamBaller model's mechanics against analytic oracles and properties, the calibration of
//! the baseline to the Phase-9 figures, and a verdict from every seed scenario. Seeds are fixed,
//! so every test is deterministic; no expected number here was copied from a run.

mod common;
use common::erlang_c;

use serde_json::Value;
use std::path::Path;
use surge::config::{self, Loaded};
use surge::report::Report;
use surge::sim::{self, RunOptions, RunResult};
use surge::system::cache::{ttl_hit_ratio, zipf_hit_ratio};
use surge::system::Cause;

const SEED: u64 = 77;

fn load(scenario: &str, model: &str) -> Loaded {
    config::from_strs(scenario, model).unwrap_or_else(|e| panic!("invalid test scenario: {e}"))
}

fn run(loaded: &Loaded) -> RunResult {
    sim::run(
        loaded,
        RunOptions {
            seed: SEED,
            replication: 0,
        },
        &mut |_, _| {},
    )
}

/// Poisson arrivals of one request to `endpoint` at `lambda`/s for `secs` seconds.
fn poisson(endpoint: &str, lambda: f64, secs: u64) -> String {
    format!(
        "model: m.yaml\nsample_interval: 10s\nrequest_timeout: 1000h\n\
         flows:\n  one:\n    steps:\n      - request: {endpoint}\n\
         scenarios:\n  open:\n    executor: poisson-arrivals\n    rate: {lambda}\n    duration: {secs}s\n    gracefulStop: 1000h\n"
    )
}

fn causes(r: &RunResult, c: Cause) -> u64 {
    r.metrics
        .cause_counts()
        .find(|(x, _)| *x == c)
        .map(|(_, n)| n)
        .unwrap_or(0)
}

fn report(r: &RunResult) -> Value {
    r.system.queue_report(r.end)
}

fn column_max(r: &RunResult, name: &str) -> f64 {
    r.timeseries()
        .column(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .into_iter()
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------------------------
// Connection pools
// ---------------------------------------------------------------------------------------------

/// One pod, a pool of `max` connections; each query holds its connection for a constant `hold`.
fn pool_model(pods: u32, pool_max: u32, max_connections: u32, hold: &str) -> String {
    format!(
        "entry: app\nservices:\n  app:\n    replicas: {pods}\n    pod: {{cores: 64}}\n    endpoints:\n      q:\n        \
         - db: {{database: pg, query: write, time: const(1us), latency: {hold}}}\n\
         databases:\n  pg:\n    cores: 64\n    max_connections: {max_connections}\n    \
         pool: {{min: 0, max: {pool_max}, acquire_timeout: 100ms}}\n"
    )
}

/// Demand beyond the pool: a pool of 2 connections each held 50 ms serves at most 40 queries/s;
/// offered 100/s, the other 60 % wait out the acquire timeout.
#[test]
fn demand_beyond_the_pool_gives_acquire_timeouts() {
    let l = load(
        &poisson("q", 100.0, 600),
        &pool_model(1, 2, 100, "const(50ms)"),
    );
    let r = run(&l);
    let n = r.metrics.requests() as f64;
    let frac = causes(&r, Cause::PoolTimeout) as f64 / n;
    assert!((frac - 0.6).abs() < 0.03, "acquire-timeout fraction {frac}");
    assert_eq!(causes(&r, Cause::DbConnections), 0);
    // A pool big enough for the demand: no timeouts at all.
    let l = load(
        &poisson("q", 100.0, 600),
        &pool_model(1, 50, 100, "const(50ms)"),
    );
    assert_eq!(causes(&run(&l), Cause::PoolTimeout), 0);
}

/// 4 pods x 100 = 400 pool slots against max_connections 50: with each query holding its
/// connection 1 s, at most 50 queries/s get a connection; offered 200/s, 75 % are refused, and
/// the database never sees more than 50 connections.
#[test]
fn exceeding_max_connections_gives_connection_errors() {
    let l = load(
        &poisson("q", 200.0, 300),
        &pool_model(4, 100, 50, "const(1s)"),
    );
    let r = run(&l);
    let n = r.metrics.requests() as f64;
    let frac = causes(&r, Cause::DbConnections) as f64 / n;
    assert!((frac - 0.75).abs() < 0.03, "refused fraction {frac}");
    assert!(column_max(&r, "pg_connections") <= 50.0);
    assert_eq!(report(&r)["database:pg"]["pool_max_total"], 400);
}

/// Idle connections above min close after the idle timeout and must be reopened.
#[test]
fn idle_timeout_closes_connections_that_must_reconnect() {
    let model = "entry: app\nservices:\n  app:\n    replicas: 1\n    pod: {cores: 8}\n    endpoints:\n      q:\n        \
        - db: {database: pg, query: read, time: const(1ms)}\n\
        databases:\n  pg:\n    cores: 8\n    max_connections: 100\n    connect_time: const(20ms)\n    \
        pool: {min: 0, max: 10, acquire_timeout: 2s, idle_timeout: 1s}\n";
    // One query every 5 s: each finds its connection closed (idle > 1 s) and reconnects.
    let scen =
        "model: m.yaml\nflows:\n  one:\n    steps:\n      - request: q\n      - sleep: const(5s)\n\
        scenarios:\n  s:\n    executor: constant-vus\n    vus: 1\n    duration: 100s\n";
    let r = run(&load(scen, model));
    let v = &report(&r)["database:pg"];
    let iterations = r.metrics.iterations;
    assert_eq!(v["pool_connects"].as_u64().unwrap(), iterations);
    // Each request pays the 20 ms connect on top of the 1 ms query.
    let avg = r.metrics.http.avg_ms();
    assert!((avg - 21.0).abs() < 0.5, "avg {avg}");
}

// ---------------------------------------------------------------------------------------------
// TTL cache
// ---------------------------------------------------------------------------------------------

fn cache_model(keys: u32, s: f64, ttl: &str) -> String {
    format!(
        "entry: app\nservices:\n  app:\n    replicas: 1\n    pod: {{cores: 64}}\n    endpoints:\n      get:\n        \
         - cache_read: {{cache: redis, keyspace: k, time: const(1us), miss: {{database: pg, query: read, time: const(1us)}}}}\n\
         databases:\n  pg:\n    cores: 64\n    max_connections: 1000\n    pool: {{min: 0, max: 500, acquire_timeout: 2s}}\n\
         caches:\n  redis:\n    nodes: 4\n    keyspaces:\n      k: {{keys: {keys}, zipf_s: {s}, ttl: {ttl}, strategy: cache_aside}}\n"
    )
}

fn hit_ratio(r: &RunResult) -> f64 {
    report(r)["keyspace:redis_k"]["hit_ratio"].as_f64().unwrap()
}

/// One key read by Poisson requests, set on a miss, expiring after T: hit ratio λT/(1+λT).
#[test]
fn ttl_hit_ratio_per_key_matches_renewal_formula() {
    for (lambda, ttl) in [(2.0, 1.0), (0.5, 2.0), (5.0, 4.0)] {
        let l = load(
            &poisson("get", lambda, 20_000),
            &cache_model(1, 1.0, &format!("{ttl}s")),
        );
        let measured = hit_ratio(&run(&l));
        let expected = ttl_hit_ratio(lambda, ttl);
        assert!(
            (measured - expected).abs() < 0.02,
            "λ={lambda} T={ttl}: {measured} vs {expected}"
        );
    }
}

/// Under Zipf popularity the aggregate is the popularity-weighted sum of the per-key ratios,
/// and the cold start shows as a lower hit ratio in the first interval.
#[test]
fn zipf_aggregate_hit_ratio_and_cold_start() {
    let (keys, s, ttl, lambda) = (500, 1.0, 20.0, 40.0);
    let l = load(
        &poisson("get", lambda, 3000),
        &cache_model(keys, s, &format!("{ttl}s")),
    );
    let r = run(&l);
    let measured = hit_ratio(&r);
    let expected = zipf_hit_ratio(lambda, ttl, keys, s);
    assert!(
        (measured - expected).abs() < 0.03 * expected,
        "{measured} vs {expected}"
    );
    let col = r.timeseries().column("redis_k_hit_ratio").unwrap();
    assert!(
        col[0] < expected - 0.1,
        "cold first interval {} vs steady {expected}",
        col[0]
    );
}

// ---------------------------------------------------------------------------------------------
// Read replicas
// ---------------------------------------------------------------------------------------------

fn replica_model(ryw: bool, lag: &str) -> String {
    format!(
        "entry: app\nservices:\n  app:\n    replicas: 1\n    pod: {{cores: 64}}\n    endpoints:\n      \
         write:\n        - db: {{database: pg, query: write, time: const(1ms)}}\n      \
         read:\n        - db: {{database: pg, query: read, time: const(1ms)}}\n\
         databases:\n  pg:\n    cores: 8\n    max_connections: 1000\n    read_replicas: 2\n    \
         replication_lag: {lag}\n    read_your_writes: {ryw}\n    pool: {{min: 0, max: 50, acquire_timeout: 2s}}\n"
    )
}

/// Each user writes, then reads at once (within the lag), then reads again after it: the first
/// read is routed as configured, the second always goes to a replica.
#[test]
fn reads_within_the_lag_of_a_write_are_routed_as_configured() {
    let scen = "model: m.yaml\nflows:\n  f:\n    steps:\n      - request: write\n      - request: read\n      \
        - sleep: const(1s)\n      - request: read\n      - sleep: const(1s)\n\
        scenarios:\n  s:\n    executor: constant-vus\n    vus: 20\n    duration: 60s\n";
    for ryw in [true, false] {
        let r = run(&load(scen, &replica_model(ryw, "const(500ms)")));
        let v = &report(&r)["database:pg"];
        let iters = r.metrics.iterations;
        let (prim, rep) = (
            v["reads_primary"].as_u64().unwrap(),
            v["reads_replica"].as_u64().unwrap(),
        );
        let (ryw_n, stale) = (
            v["read_your_writes_to_primary"].as_u64().unwrap(),
            v["stale_replica_reads"].as_u64().unwrap(),
        );
        let reads = prim + rep;
        assert!(reads >= 2 * iters);
        if ryw {
            // Every immediate read follows the user's own write: exactly half the reads.
            assert_eq!(ryw_n, prim);
            assert!(
                (prim as f64 / reads as f64 - 0.5).abs() < 0.01,
                "{prim}/{reads}"
            );
            assert_eq!(stale, 0);
        } else {
            assert_eq!(prim, 0);
            assert!(
                (stale as f64 / reads as f64 - 0.5).abs() < 0.01,
                "{stale}/{reads}"
            );
        }
    }
    // No lag: nothing is pending, everything reads a replica.
    let r = run(&load(scen, &replica_model(true, "const(0s)")));
    assert_eq!(report(&r)["database:pg"]["reads_primary"], 0);
}

// ---------------------------------------------------------------------------------------------
// External RPC
// ---------------------------------------------------------------------------------------------

/// Offered 100 calls/s against a 40/s limit: 60 % are answered 429 (RateLimited).
#[test]
fn rpc_rate_limit_answers_429_for_the_excess() {
    let model = "entry: app\nservices:\n  app:\n    replicas: 1\n    pod: {cores: 64}\n    endpoints:\n      \
        call:\n        - external: {provider: rpc}\n\
        externals:\n  rpc:\n    latency: const(50ms)\n    rate_limit: 40\n    burst: 10\n";
    let r = run(&load(&poisson("call", 100.0, 1000), model));
    let frac = causes(&r, Cause::RateLimited) as f64 / r.metrics.requests() as f64;
    assert!((frac - 0.6).abs() < 0.01, "429 fraction {frac}");
}

// ---------------------------------------------------------------------------------------------
// Job queue
// ---------------------------------------------------------------------------------------------

fn queue_model(failure: f64) -> String {
    format!(
        "entry: app\nservices:\n  app:\n    replicas: 1\n    pod: {{cores: 64}}\n    endpoints:\n      \
         claim:\n        - enqueue: {{queue: jobs}}\n  \
         worker:\n    replicas: 2\n    pod: {{cores: 64}}\n    endpoints:\n      \
         run:\n        - delay: exp(mean=100ms)\n        - external: {{provider: rpc}}\n\
         externals:\n  rpc:\n    latency: const(0s)\n    failure: {failure}\n\
         queues:\n  jobs:\n    service: worker\n    endpoint: run\n    concurrency: 2\n    retries: 2\n    backoff: const(1s)\n"
    )
}

/// 2 workers x concurrency 2 with exponential 100 ms jobs is M/M/4: Little's law holds on the
/// queue (L = λW) and the mean wait matches Erlang C. Requests answer at once (202).
#[test]
fn job_queue_obeys_littles_law_and_erlang_c() {
    let (lambda, mu, c) = (30.0, 10.0, 4);
    let r = run(&load(&poisson("claim", lambda, 20_000), &queue_model(0.0)));
    let v = &report(&r)["queue:jobs"];
    let l = v["mean_queue_len"].as_f64().unwrap();
    let w = v["mean_wait_s"].as_f64().unwrap();
    let rate = v["attempts_per_s"].as_f64().unwrap();
    assert!((l - rate * w).abs() < 0.01 * l, "L={l} λW={}", rate * w);
    let a: f64 = lambda / mu;
    let wq = erlang_c(c, a) / (c as f64 * mu - lambda);
    assert!((w - wq).abs() < 0.05 * wq, "W={w} vs Erlang C {wq}");
    // The enqueueing request itself is immediate.
    assert!(r.metrics.http.max_ms() < 1.0);
}

/// Jobs that fail half the time: each is retried at most twice, none is lost, and the dead
/// fraction is the chance of three failures in a row.
#[test]
fn failed_jobs_retry_at_most_n_times_and_are_never_lost() {
    let r = run(&load(&poisson("claim", 10.0, 3000), &queue_model(0.5)));
    let v = &report(&r)["queue:jobs"];
    let n = |k: &str| v[k].as_u64().unwrap();
    let (enq, done, dead, retried) = (n("enqueued"), n("completed"), n("dead"), n("retried"));
    let outstanding = n("waiting_at_end") + n("running_at_end");
    // Runs end when the clients finish; backoffs still pending are the remainder.
    assert!(done + dead + outstanding <= enq);
    assert!(
        enq - (done + dead + outstanding) <= 20,
        "jobs unaccounted for"
    );
    assert!(retried <= 2 * enq);
    assert_eq!(
        n("attempts"),
        n("failed_attempts") + done + n("running_at_end")
    );
    let dead_frac = dead as f64 / (done + dead) as f64;
    assert!((dead_frac - 0.125).abs() < 0.02, "dead {dead_frac}");
}

// ---------------------------------------------------------------------------------------------
// The HamBaller model: calibration and every seed scenario
// ---------------------------------------------------------------------------------------------

fn scenario_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("hamballer-{name}.yaml"))
}

fn within(measured: f64, target: f64, tol: f64, what: &str) {
    assert!(
        (measured - target).abs() <= tol * target,
        "{what}: simulated {measured:.4} vs Phase-9 {target} (more than {:.0} % off)",
        tol * 100.0
    );
}

/// The baseline scenario, as written, reproduces seed 001's Phase-9 figures within 10 %.
#[test]
fn baseline_reproduces_phase9_within_ten_percent() {
    let loaded = config::load(&scenario_path("baseline"), &[]).expect("loads");
    let r = sim::run(
        &loaded,
        RunOptions {
            seed: loaded.scenario.seed,
            replication: 0,
        },
        &mut |_, _| {},
    );
    let secs = surge::engine::ns_to_secs(r.end);
    let m = &r.metrics;
    let q = report(&r);
    within(m.requests() as f64 / secs, 209.0, 0.1, "throughput (ops/s)");
    within(m.http.avg_ms(), 380.0, 0.1, "average response (ms)");
    within(
        m.failed as f64 / m.requests() as f64,
        0.007,
        0.1,
        "error rate",
    );
    within(m.vus_max_seen as f64, 500.0, 0.0, "concurrent users");
    let db = &q["database:pg"];
    within(
        db["queries_per_s"].as_f64().unwrap(),
        2000.0,
        0.1,
        "DB queries/s",
    );
    within(
        db["mean_query_ms"].as_f64().unwrap(),
        15.0,
        0.1,
        "DB query time (ms)",
    );
    within(
        q["external:rpc"]["mean_ok_latency_ms"].as_f64().unwrap(),
        120.0,
        0.1,
        "RPC latency (ms)",
    );
    within(
        q["cache_hit_ratio"].as_f64().unwrap(),
        0.85,
        0.1,
        "cache hit rate",
    );
    within(
        m.tx.success_rate().unwrap(),
        0.993,
        0.01,
        "transaction success",
    );
}

/// Every seed scenario loads, runs (shortened) and yields a verdict for each of its targets;
/// the same seed gives byte-identical summaries.
#[test]
fn every_seed_scenario_runs_and_gives_a_verdict() {
    let names = [
        "baseline",
        "2x",
        "5x",
        "10x",
        "10x-multi-rpc",
        "spike",
        "stress",
        "endurance",
        "k6-plan",
        "artillery",
    ];
    for name in names {
        let sets = ["duration=90s".to_string()];
        let loaded = config::load(&scenario_path(name), &sets).expect("loads");
        assert!(
            !loaded.scenario.thresholds.0.is_empty(),
            "{name} has targets"
        );
        let opts = RunOptions {
            seed: loaded.scenario.seed,
            replication: 0,
        };
        let r = sim::run(&loaded, opts, &mut |_, _| {});
        assert!(r.metrics.requests() > 0, "{name} sent requests");
        let rep = Report::new(&loaded, r, opts.seed);
        assert!(!rep.verdicts.is_empty(), "{name} has a verdict");
        if name == "baseline" {
            let again = Report::new(&loaded, sim::run(&loaded, opts, &mut |_, _| {}), opts.seed);
            assert_eq!(
                serde_json::to_string(&rep.json).unwrap(),
                serde_json::to_string(&again.json).unwrap(),
                "same seed, same bytes"
            );
        }
    }
}
