//! `cargo bench`: events and simulated requests per second on an M/M/c run and the quickstart.

fn main() {
    let customers = std::env::var("SURGE_BENCH_CUSTOMERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    // Best of three, to damp noise from other processes.
    let best = (0..3)
        .map(|_| surge::bench::mmc(customers))
        .min_by(|a, b| a.wall_s.total_cmp(&b.wall_s))
        .expect("three runs");
    println!("{best}");
    let qs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.yaml");
    match surge::bench::scenario(&qs) {
        Ok(r) => println!("{r}"),
        Err(e) => eprintln!("quickstart: {e}"),
    }
}
