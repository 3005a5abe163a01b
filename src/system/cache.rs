//! A TTL cache over a key space. Keys are drawn from a Zipf popularity (or are the user's own),
//! an entry lives `ttl` after it is set, and the hit ratio is whatever the request stream makes
//! of that, not a configured constant. The strategy decides what a write does (see
//! `CacheStrategy`); write-behind writes are batched into one background database write per
//! flush interval.

use crate::config::model::{CacheStrategy, KeyChoice, KeyspaceCfg};
use crate::engine::{Nanos, Rng64, SEC};
use rand::Rng;

pub struct Keyspace {
    pub name: String,
    pub cache: u32,
    pub strategy: CacheStrategy,
    keys: u32,
    choice: KeyChoice,
    zipf: Alias,
    ttl: Nanos,
    /// Per key: when its entry expires (0: never set).
    expires: Vec<Nanos>,
    rng: Rng64,
    pub hits: u64,
    pub misses: u64,
    pub sets: u64,
    /// Write-behind: writes waiting for the flusher, and their summed database work.
    pub pending_writes: u64,
    pub pending_work: Nanos,
    pub flush_interval: Nanos,
    pub flush_armed: bool,
    pub flushed_writes: u64,
    pub flushes: u64,
}

impl Keyspace {
    pub fn new(name: String, cache: u32, k: &KeyspaceCfg, rng: Rng64) -> Result<Self, String> {
        if k.keys == 0 || !(k.zipf_s.is_finite() && k.zipf_s >= 0.0) {
            return Err(format!(
                "Zipf over {} keys with s = {}: expected keys >= 1 and s >= 0",
                k.keys, k.zipf_s
            ));
        }
        let zipf = Alias::zipf(k.keys, k.zipf_s);
        Ok(Keyspace {
            name,
            cache,
            strategy: k.strategy,
            keys: k.keys,
            choice: k.key,
            zipf,
            ttl: k.ttl.0,
            expires: vec![0; k.keys as usize],
            rng,
            hits: 0,
            misses: 0,
            sets: 0,
            pending_writes: 0,
            pending_work: 0,
            flush_interval: k.flush_interval.map(|t| t.0).unwrap_or(SEC),
            flush_armed: false,
            flushed_writes: 0,
            flushes: 0,
        })
    }

    /// The key a request by `user` touches (0-based; key 0 is the most popular).
    pub fn pick_key(&mut self, user: u32) -> u32 {
        match self.choice {
            KeyChoice::User if user != u32::MAX => user % self.keys,
            _ => self.zipf.sample(&mut self.rng).min(self.keys - 1),
        }
    }

    /// The cluster node that owns `key` (a fixed hash, like Redis hash slots).
    pub fn node_of(&self, key: u32, nodes: usize) -> usize {
        let h = (key as u64 ^ ((self.cache as u64) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((h >> 32) % nodes as u64) as usize
    }

    /// A GET at `now`: counts a hit or a miss.
    pub fn lookup(&mut self, key: u32, now: Nanos) -> bool {
        let hit = now < self.expires[key as usize];
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        hit
    }

    pub fn set(&mut self, key: u32, now: Nanos) {
        self.sets += 1;
        self.expires[key as usize] = now + self.ttl;
    }

    pub fn invalidate(&mut self, key: u32) {
        self.expires[key as usize] = 0;
    }

    /// Queue a write-behind database write of `work`; true if the flusher must be armed.
    pub fn defer_write(&mut self, work: Nanos) -> bool {
        self.pending_writes += 1;
        self.pending_work += work;
        !std::mem::replace(&mut self.flush_armed, true)
    }

    /// Take the batch for the flusher: (writes, summed work).
    pub fn take_batch(&mut self) -> (u64, Nanos) {
        self.flush_armed = false;
        self.flushes += 1;
        self.flushed_writes += self.pending_writes;
        let b = (self.pending_writes, self.pending_work);
        self.pending_writes = 0;
        self.pending_work = 0;
        b
    }
}

/// Walker's alias table (Vose's construction) for a discrete distribution: one uniform index and
/// one comparison per draw, where rejection-inversion Zipf sampling needs `powf`, `exp` and `ln`.
/// Built once per keyspace, the same size as its expiry table.
struct Alias {
    /// Per column, together so that a draw misses the cache once, not twice (a 100,000-key
    /// table does not stay in cache between draws).
    cols: Vec<Column>,
}

#[derive(Clone, Copy)]
struct Column {
    /// The probability of keeping the column's own outcome, as a 53-bit threshold.
    keep: u64,
    alias: u32,
}

impl Alias {
    /// Zipf(s) over `n` outcomes: outcome k (0-based) has probability ∝ 1/(k+1)^s.
    fn zipf(n: u32, s: f64) -> Alias {
        let w: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        Alias::new(&w)
    }

    fn new(weights: &[f64]) -> Alias {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        // Scaled so the mean column is exactly 1.
        let mut p: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<u32>, Vec<u32>) =
            (0..n as u32).partition(|&i| p[i as usize] < 1.0);
        while let (Some(&l), Some(&g)) = (small.last(), large.last()) {
            small.pop();
            alias[l as usize] = g;
            p[g as usize] -= 1.0 - p[l as usize];
            if p[g as usize] < 1.0 {
                large.pop();
                small.push(g);
            }
        }
        // What is left is 1 up to rounding: keep the column's own outcome.
        for i in small.into_iter().chain(large) {
            p[i as usize] = 1.0;
        }
        const ONE: f64 = (1u64 << 53) as f64;
        let cols = p
            .iter()
            .zip(alias)
            .map(|(&x, alias)| Column {
                keep: (x.clamp(0.0, 1.0) * ONE) as u64,
                alias,
            })
            .collect();
        Alias { cols }
    }

    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let i = rng.gen_range(0..self.cols.len());
        let c = self.cols[i];
        // 53 uniform bits against the threshold: P(keep) = keep / 2^53.
        if rng.next_u64() >> 11 < c.keep {
            i as u32
        } else {
            c.alias
        }
    }
}

/// Expected hit ratio of one key read as a Poisson stream of rate `lambda` (per second) when a
/// miss sets the entry for `ttl_s` seconds: each cycle is one miss then λT hits on average.
pub fn ttl_hit_ratio(lambda: f64, ttl_s: f64) -> f64 {
    let x = lambda * ttl_s;
    x / (1.0 + x)
}

/// Expected aggregate hit ratio of a Zipf(s) keyspace of `keys` keys read at total rate `lambda`.
pub fn zipf_hit_ratio(lambda: f64, ttl_s: f64, keys: u32, s: f64) -> f64 {
    let h: f64 = (1..=keys).map(|k| (k as f64).powf(-s)).sum();
    (1..=keys)
        .map(|k| {
            let p = (k as f64).powf(-s) / h;
            p * ttl_hit_ratio(lambda * p, ttl_s)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Duration;
    use crate::engine::stream;
    use rand::Rng;
    use rand_distr::Exp;

    fn ks(keys: u32, s: f64, ttl_s: u64) -> Keyspace {
        let cfg = KeyspaceCfg {
            keys,
            zipf_s: s,
            ttl: Duration(ttl_s * SEC),
            strategy: CacheStrategy::CacheAside,
            key: KeyChoice::Zipf,
            flush_interval: None,
        };
        Keyspace::new("t".into(), 0, &cfg, stream(3, 0, "cache:test")).unwrap()
    }

    /// Each key's frequency over many draws is within 5 standard errors of its Zipf probability,
    /// including a flat (s = 0) and a steep popularity.
    #[test]
    fn alias_draws_follow_the_zipf_probabilities() {
        for (n, s) in [(20u32, 1.0), (7, 0.0), (1000, 0.8), (3, 2.5)] {
            let a = Alias::zipf(n, s);
            let h: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
            let mut rng = stream(5, 0, "alias");
            let draws = 400_000u32;
            let mut count = vec![0u32; n as usize];
            for _ in 0..draws {
                count[a.sample(&mut rng) as usize] += 1;
            }
            for (k, &c) in count.iter().enumerate() {
                let p = ((k + 1) as f64).powf(-s) / h;
                let se = (p * (1.0 - p) / draws as f64).sqrt();
                let f = c as f64 / draws as f64;
                assert!(
                    (f - p).abs() <= 5.0 * se + 1e-12,
                    "n {n} s {s} key {k}: {f} vs {p}"
                );
            }
        }
    }

    /// Poisson reads; a miss sets the entry at once. Per-key hit ratio is λT/(1+λT).
    #[test]
    fn single_key_hit_ratio_matches_renewal_formula() {
        for (lambda, ttl) in [(0.1, 5u64), (1.0, 2), (2.0, 10)] {
            let mut c = ks(1, 1.0, ttl);
            let mut rng = stream(9, 0, "arrivals");
            let gap = Exp::new(lambda).unwrap();
            let mut t = 0.0;
            for _ in 0..200_000 {
                t += rng.sample(gap);
                let now = (t * SEC as f64) as Nanos;
                if !c.lookup(0, now) {
                    c.set(0, now);
                }
            }
            let measured = c.hits as f64 / (c.hits + c.misses) as f64;
            let expected = ttl_hit_ratio(lambda, ttl as f64);
            assert!(
                (measured - expected).abs() < 0.01,
                "λ={lambda} T={ttl}: {measured} vs {expected}"
            );
        }
    }

    /// Under Zipf popularity the aggregate is the popularity-weighted sum of per-key ratios.
    #[test]
    fn zipf_aggregate_matches_weighted_sum() {
        let (keys, s, ttl, lambda) = (2000, 0.9, 30, 50.0);
        let mut c = ks(keys, s, ttl);
        let mut rng = stream(9, 0, "arrivals");
        let gap = Exp::new(lambda).unwrap();
        let mut t = 0.0;
        // Warm up past the TTL, then measure.
        let mut warm = true;
        for _ in 0..600_000 {
            t += rng.sample(gap);
            if warm && t > 3.0 * ttl as f64 {
                warm = false;
                c.hits = 0;
                c.misses = 0;
            }
            let now = (t * SEC as f64) as Nanos;
            let k = c.pick_key(u32::MAX);
            if !c.lookup(k, now) {
                c.set(k, now);
            }
        }
        let measured = c.hits as f64 / (c.hits + c.misses) as f64;
        let expected = zipf_hit_ratio(lambda, ttl as f64, keys, s);
        assert!(
            (measured - expected).abs() < 0.02 * expected,
            "{measured} vs {expected}"
        );
    }

    #[test]
    fn user_keys_and_node_spread() {
        let mut c = ks(100, 1.0, 1);
        c.choice = KeyChoice::User;
        assert_eq!(c.pick_key(205), 5);
        let mut per_node = [0u32; 6];
        for k in 0..600 {
            per_node[c.node_of(k, 6)] += 1;
        }
        assert!(per_node.iter().all(|&n| n > 60), "{per_node:?}");
    }
}
