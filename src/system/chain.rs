//! A blockchain as seen by a minting worker: blocks on a fixed grid of `block_time`, a submitted
//! transaction is confirmed `confirmations` blocks after the first block that follows its
//! submission, it reverts with a given probability, and it burns gas drawn per transaction.

use crate::config::model::ChainCfg;
use crate::engine::{Nanos, Rng64};
use crate::metrics::TxStats;
use rand::Rng;
use rand_distr::{Distribution, Normal};

pub struct Chain {
    pub name: String,
    block_time: Nanos,
    confirmations: u32,
    /// Where the block grid starts: the run begins at a random phase of a block.
    phase: Nanos,
    gas: Normal<f64>,
    revert: f64,
    rng: Rng64,
    pub tx: TxStats,
}

impl Chain {
    pub fn new(name: &str, c: &ChainCfg, mut rng: Rng64) -> Result<Self, String> {
        let gas = Normal::new(c.gas.mean, c.gas.sd)
            .map_err(|e| format!("gas mean {} sd {}: {e}", c.gas.mean, c.gas.sd))?;
        let phase = rng.gen_range(0..c.block_time.0.max(1));
        Ok(Chain {
            name: name.to_string(),
            block_time: c.block_time.0,
            confirmations: c.confirmations,
            phase,
            gas,
            revert: c.revert,
            rng,
            tx: TxStats::default(),
        })
    }

    /// When a transaction submitted at `now` is confirmed.
    pub fn confirmed_at(&self, now: Nanos) -> Nanos {
        let bt = self.block_time;
        let k = (now + bt - self.phase) / bt; // first block strictly after `now`
        let first = self.phase + k * bt;
        first + (self.confirmations as u64 - 1) * bt
    }

    /// The transaction submitted at `submitted` reached its confirmation at `now`; true if it
    /// succeeded (it burns gas either way).
    pub fn settle(&mut self, submitted: Nanos, now: Nanos) -> bool {
        let gas = self.gas.sample(&mut self.rng).max(21_000.0).round() as u64;
        let ok = !(self.revert > 0.0 && self.rng.gen_bool(self.revert));
        self.tx.record_included(gas, now - submitted, ok);
        ok
    }

    /// The transaction never made it on chain (the provider refused or failed it).
    pub fn submit_failed(&mut self) {
        self.tx.failed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::GasCfg;
    use crate::dist::Duration;
    use crate::engine::{stream, SEC};

    #[test]
    fn confirmation_waits_for_the_next_block_and_averages_half_a_block() {
        let cfg = ChainCfg {
            block_time: Duration(2 * SEC),
            confirmations: 1,
            gas: GasCfg {
                mean: 285_000.0,
                sd: 0.0,
            },
            revert: 0.0,
        };
        let c = Chain::new("c", &cfg, stream(1, 0, "chain:c")).unwrap();
        let mut sum = 0.0;
        let n = 10_000u64;
        for i in 0..n {
            let now = 10 * SEC + i * (2 * SEC) / n;
            let t = c.confirmed_at(now);
            assert!(t > now && t <= now + 2 * SEC);
            assert_eq!((t - c.phase) % (2 * SEC), 0, "on the block grid");
            sum += (t - now) as f64;
        }
        let mean = sum / n as f64 / SEC as f64;
        assert!((mean - 1.0).abs() < 0.01, "{mean}");
    }
}
