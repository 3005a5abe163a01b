/// Simulated time in integer nanoseconds: exact, totally ordered, no float drift over long runs.
pub type Nanos = u64;

pub const MS: Nanos = 1_000_000;
pub const SEC: Nanos = 1_000_000_000;

pub fn ns_to_secs(t: Nanos) -> f64 {
    t as f64 / SEC as f64
}

pub fn ns_to_ms(t: Nanos) -> f64 {
    t as f64 / MS as f64
}

pub fn secs_to_ns(s: f64) -> Nanos {
    if s <= 0.0 {
        0
    } else {
        (s * SEC as f64).round() as Nanos
    }
}
