//! Autoscalers: controllers that change replica counts during a run.

pub mod asg;
pub mod asg_config;
pub mod driver;
pub mod hpa;
pub mod hpa_config;
pub mod hpa_import;
pub mod prometheus;
pub mod replay;
pub mod signals;

/// A tiny deterministic generator (Knuth's MMIX constants) for the controllers' property tests:
/// their inputs must not depend on the simulator's own streams.
#[cfg(test)]
pub(crate) mod test_lcg {
    pub struct Lcg(pub u64);

    impl Lcg {
        pub fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        pub fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        pub fn f(&mut self) -> f64 {
            self.next() as f64 / (1u64 << 31) as f64
        }
    }
}
