//! Speed measurements (`surge bench`, `cargo bench`): events and simulated requests per second.

use crate::config::{self, Loaded};
use crate::error::Result;
use crate::sim::{self, RunOptions};
use std::fmt;
use std::path::Path;
use std::time::Instant;

pub struct BenchResult {
    pub name: String,
    pub wall_s: f64,
    pub events: u64,
    pub requests: u64,
    pub simulated_s: f64,
}

impl fmt::Display for BenchResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<28} wall {:>8.3}s  {:>12.0} events/s  {:>12.0} requests/s  ({} events, {} requests, {:.0} simulated s)",
            self.name,
            self.wall_s,
            self.events as f64 / self.wall_s,
            self.requests as f64 / self.wall_s,
            self.events,
            self.requests,
            self.simulated_s
        )
    }
}

const MMC_MODEL: &str = "
entry: station
services:
  station:
    replicas: 1
    pod: {cores: 10, discipline: fcfs, workers: 10}
    endpoints:
      serve:
        - cpu: exp(mean=1s)
";

/// An M/M/c scenario (λ per second, μ = 1/s, c = 10) sized to about `customers` arrivals.
pub fn mmc_loaded(lambda: f64, customers: u64, seed: u64) -> Loaded {
    try_mmc_loaded(lambda, customers, seed).expect("bundled M/M/c scenario is valid")
}

/// [`mmc_loaded`], or why that size cannot run (over the budget).
pub fn try_mmc_loaded(lambda: f64, customers: u64, seed: u64) -> Result<Loaded> {
    let secs = customers as f64 / lambda;
    let scenario_yaml = format!(
        "model: mmc.yaml\nseed: {seed}\nsample_interval: {}s\nrequest_timeout: 1000h\n\
         flows:\n  one:\n    steps:\n      - request: serve\n\
         scenarios:\n  open:\n    executor: poisson-arrivals\n    rate: {lambda}\n    duration: {}s\n    gracefulStop: 1000h\n",
        (secs / 10.0).ceil().max(1.0),
        secs
    );
    config::from_strs(&scenario_yaml, MMC_MODEL)
}

fn timed(name: &str, loaded: &Loaded, seed: u64) -> Result<BenchResult> {
    let t0 = Instant::now();
    let r = sim::try_run(
        loaded,
        RunOptions {
            seed,
            replication: 0,
        },
        &mut |_, _| {},
    )?;
    Ok(BenchResult {
        name: name.to_string(),
        wall_s: t0.elapsed().as_secs_f64(),
        events: r.events,
        requests: r.metrics.requests(),
        simulated_s: crate::engine::ns_to_secs(r.end),
    })
}

/// Arrivals per second of the M/M/10 benchmark (ρ = 0.9).
const MMC_LAMBDA: f64 = 9.0;

/// The most customers whose run (customers / λ, plus the scenario's 1000-hour grace and
/// timeout) fits the longest simulated time a scenario may have.
fn most_customers() -> u64 {
    let slack = 2 * 1000 * 3600 * crate::engine::SEC;
    let secs = (crate::config::MAX_SIM_NS - slack) as f64 / crate::engine::SEC as f64;
    (secs * MMC_LAMBDA * 0.99) as u64
}

pub fn mmc(customers: u64) -> BenchResult {
    try_mmc(customers).expect("the M/M/c benchmark fits its budget")
}

/// [`mmc`], or why that many customers cannot run (over the budget).
pub fn try_mmc(customers: u64) -> Result<BenchResult> {
    if customers == 0 {
        return Err(crate::error::Error::Usage(
            "--customers 0: expected at least 1 customer".into(),
        ));
    }
    let most = most_customers();
    if customers > most {
        return Err(crate::error::Error::Usage(format!(
            "--customers {customers}: expected at most {most} (at {MMC_LAMBDA} arrivals/s a \
             longer run would pass the 146 years a run may simulate)"
        )));
    }
    let loaded = try_mmc_loaded(MMC_LAMBDA, customers, 1)?;
    timed(&format!("M/M/10 ({customers} customers)"), &loaded, 1)
}

pub fn scenario(path: &Path) -> Result<BenchResult> {
    let loaded = config::load(path, &[])?;
    let seed = loaded.scenario.seed;
    timed(&loaded.name(), &loaded, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A customer count whose run outlasts the nanosecond clock is a usage error naming the
    /// flag and the largest count; the largest count itself is refused by the event budget,
    /// before anything runs (not by a duration in a generated scenario the user never wrote).
    #[test]
    fn customer_counts_past_the_clock_name_the_flag() {
        let e = try_mmc(u64::MAX).err().expect("refused").to_string();
        assert!(e.contains("--customers") && e.contains("at most"), "{e}");
        let e = try_mmc(most_customers())
            .err()
            .expect("over the budget")
            .to_string();
        assert!(e.contains("events") && !e.contains("too large"), "{e}");
    }
}
