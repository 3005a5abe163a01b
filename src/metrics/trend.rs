//! A k6 "trend": latency samples in an HDR histogram plus exact sum, min and max.

/// Highest trackable value in µs (1 hour), as the HDR histogram's upper bound.
const HIGHEST_US: u64 = 3_600_000_000;

/// A k6 trend: latencies in µs in an HDR histogram, plus the exact sum, min and max in ns.
///
/// The histogram is HdrHistogram's (bucket layout, clamping, quantile and equivalence rules of
/// the `hdrhistogram` crate for lowest value 1, highest 1 hour), kept as a plain count array:
/// recording is an index computation and one increment, where the crate's generic `record`
/// paid for resizing, overflow and min/max checks on every sample. `tests` check every
/// quantile against the crate itself.
pub struct Trend {
    counts: Vec<u64>,
    /// log2 of half the sub-bucket count (HDR's `sub_bucket_half_count_magnitude`).
    half_mag: u32,
    /// HDR's `leading_zero_count_base`: 64 minus the sub-bucket count magnitude.
    lz_base: u32,
    /// Sub-bucket count minus one.
    sub_mask: u64,
    /// Lowest and highest count indices touched since the last reset (reset clears only these).
    lo: usize,
    hi: usize,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    count: u64,
}

impl Default for Trend {
    fn default() -> Self {
        Self::new(3)
    }
}

impl Trend {
    /// `sigfig` significant decimal digits (HDR's precision), 1 to 5.
    pub fn new(sigfig: u8) -> Self {
        let largest = 2 * 10u64.pow(u32::from(sigfig.clamp(1, 5)));
        let sub_mag = (largest as f64).log2().ceil() as u32;
        let sub_count = 1u64 << sub_mag;
        // HDR's buckets_to_cover(HIGHEST_US) and num_bins.
        let mut buckets = 1u32;
        let mut untrackable = sub_count;
        while untrackable <= HIGHEST_US {
            untrackable <<= 1;
            buckets += 1;
        }
        let half_mag = sub_mag - 1;
        Trend {
            counts: vec![0; ((buckets + 1) as usize) << half_mag],
            half_mag,
            lz_base: 64 - sub_mag,
            sub_mask: sub_count - 1,
            lo: usize::MAX,
            hi: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            count: 0,
        }
    }

    #[inline(always)]
    fn bucket_for(&self, v: u64) -> u32 {
        self.lz_base - (v | self.sub_mask).leading_zeros()
    }

    /// HDR's index_for.
    #[inline(always)]
    fn index_for(&self, v: u64) -> usize {
        let b = self.bucket_for(v);
        let sub = v >> b;
        (((b + 1) as usize) << self.half_mag) + sub as usize - (1usize << self.half_mag)
    }

    /// HDR's value_for: the lowest value counted at `index`.
    fn value_for(&self, index: usize) -> u64 {
        let half = 1u64 << self.half_mag;
        let mut bucket = (index >> self.half_mag) as i64 - 1;
        let mut sub = (index as u64 & (half - 1)) + half;
        if bucket < 0 {
            sub -= half;
            bucket = 0;
        }
        sub << bucket
    }

    /// HDR's highest_equivalent: the highest value counted with `v`.
    fn highest_equivalent(&self, v: u64) -> u64 {
        if v == u64::MAX {
            return u64::MAX;
        }
        let b = self.bucket_for(v);
        let lowest = (v >> b) << b;
        lowest.saturating_add(1u64 << b) - 1
    }

    #[inline]
    fn count_us(&mut self, us: u64, n: u64) {
        let mut i = self.index_for(us);
        if i >= self.counts.len() {
            // HDR's saturating record: past the last bin, the value is clamped to the highest.
            i = self.index_for(HIGHEST_US);
        }
        self.counts[i] += n;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.count_us((ns / 1000).max(1), 1);
        self.sum_ns += ns as u128;
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
        self.count += 1;
    }

    /// Fold another trend's samples into this one.
    pub fn add(&mut self, o: &Trend) {
        if o.count == 0 {
            return;
        }
        for i in o.lo..=o.hi {
            let c = o.counts[i];
            if c == 0 {
                continue;
            }
            if o.half_mag == self.half_mag {
                self.counts[i] += c;
                self.lo = self.lo.min(i);
                self.hi = self.hi.max(i);
            } else {
                self.count_us(o.value_for(i), c);
            }
        }
        self.sum_ns += o.sum_ns;
        self.min_ns = self.min_ns.min(o.min_ns);
        self.max_ns = self.max_ns.max(o.max_ns);
        self.count += o.count;
    }

    pub fn reset(&mut self) {
        if self.lo <= self.hi {
            self.counts[self.lo..=self.hi].fill(0);
        }
        self.lo = usize::MAX;
        self.hi = 0;
        self.sum_ns = 0;
        self.min_ns = u64::MAX;
        self.max_ns = 0;
        self.count = 0;
    }

    /// HDR's value_at_quantile, in µs: the highest value equivalent to the bin where the
    /// cumulative count first reaches ceil(q · count) (at least 1); the lowest for q = 0.
    fn value_at_quantile(&self, q: f64) -> u64 {
        let q = q.min(1.0);
        let target = ((q * self.count as f64).ceil() as u64).max(1);
        let mut cum = 0u64;
        for i in self.lo..=self.hi.min(self.counts.len() - 1) {
            cum += self.counts[i];
            if cum >= target {
                let v = self.value_for(i);
                return if q == 0.0 {
                    let b = self.bucket_for(v);
                    (v >> b) << b
                } else {
                    self.highest_equivalent(v)
                };
            }
        }
        0
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn avg_ms(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.sum_ns as f64 / self.count as f64 / 1e6
    }

    pub fn min_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.min_ns as f64 / 1e6
        }
    }

    pub fn max_ms(&self) -> f64 {
        self.max_ns as f64 / 1e6
    }

    /// Percentile `p` in [0, 100], in ms; clamped to the exact min and max.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let us = self.value_at_quantile((p / 100.0).clamp(0.0, 1.0));
        let ms = self.highest_equivalent(us) as f64 / 1000.0;
        ms.clamp(self.min_ms(), self.max_ms())
    }

    /// k6's default summaryTrendStats plus p(99).
    pub fn stats(&self) -> [(&'static str, f64); 7] {
        [
            ("avg", self.avg_ms()),
            ("min", self.min_ms()),
            ("med", self.percentile_ms(50.0)),
            ("max", self.max_ms()),
            ("p(90)", self.percentile_ms(90.0)),
            ("p(95)", self.percentile_ms(95.0)),
            ("p(99)", self.percentile_ms(99.0)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use hdrhistogram::Histogram;
    use rand::Rng;

    /// The crate's histogram as the oracle: the same samples give the same quantiles, at both
    /// precisions in use, over values from sub-µs to past the highest trackable value.
    #[test]
    fn quantiles_equal_the_hdrhistogram_crate() {
        for sigfig in [2u8, 3] {
            let mut rng = stream(11, u64::from(sigfig), "trend");
            let mut t = Trend::new(sigfig);
            let mut h = Histogram::<u64>::new_with_bounds(1, HIGHEST_US, sigfig).unwrap();
            let mut merged = Trend::new(3);
            for round in 0..3 {
                t.reset();
                h.reset();
                for _ in 0..20_000 {
                    // Log-uniform from 1 ns to about 5e12 ns (past the 1 h bound).
                    let ns = 10f64.powf(rng.gen_range(0.0..12.7)) as u64;
                    t.record(ns);
                    h.saturating_record((ns / 1000).max(1));
                }
                for i in 0..=1000 {
                    let q = f64::from(i) / 1000.0;
                    let want = h.highest_equivalent(h.value_at_quantile(q));
                    let got = t.highest_equivalent(t.value_at_quantile(q));
                    assert_eq!(got, want, "sigfig {sigfig} round {round} q {q}");
                }
                merged.add(&t);
            }
            assert_eq!(merged.count(), 60_000);
        }
    }

    #[test]
    fn add_and_reset_keep_the_counts() {
        let mut a = Trend::default();
        let mut b = Trend::default();
        let mut h = Histogram::<u64>::new_with_bounds(1, HIGHEST_US, 3).unwrap();
        for ns in [1_500u64, 2_000_000, 7_000_000_000, 30_000] {
            a.record(ns);
            h.saturating_record((ns / 1000).max(1));
        }
        for ns in [900u64, 250_000_000] {
            b.record(ns);
            h.saturating_record((ns / 1000).max(1));
        }
        a.add(&b);
        assert_eq!(a.count(), 6);
        for p in [0.0, 10.0, 50.0, 90.0, 99.0, 100.0] {
            let want = (h.highest_equivalent(h.value_at_quantile(p / 100.0)) as f64 / 1000.0)
                .clamp(a.min_ms(), a.max_ms());
            assert_eq!(a.percentile_ms(p), want, "p{p}");
        }
        a.reset();
        assert_eq!(a.count(), 0);
        assert!(a.counts.iter().all(|&c| c == 0));
    }
}
