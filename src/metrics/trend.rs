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
    /// Where a value past the last bin is counted: the index of [`HIGHEST_US`].
    top: usize,
    /// Indices touched by [`Trend::add`] at another precision since the last reset (empty
    /// when `lo > hi`). A recorded sample needs no such bookkeeping: its bin lies in the range
    /// [`Trend::range`] derives from the exact min and max.
    lo: usize,
    hi: usize,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    count: u64,
}

/// A latency made ready once for several trends (a response goes to the interval, endpoint
/// and submetric trends): the µs value a histogram counts and its binary magnitude, which
/// together give the bin at any precision with two shifts.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    ns: u64,
    us: u64,
    /// floor(log2(us)); `us` is at least 1.
    log2: u32,
}

impl Sample {
    #[inline(always)]
    pub fn new(ns: u64) -> Self {
        let us = (ns / 1000).max(1);
        Sample {
            ns,
            us,
            log2: us.ilog2(),
        }
    }
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
        let mut t = Trend {
            counts: vec![0; ((buckets + 1) as usize) << half_mag],
            half_mag,
            top: 0,
            lo: usize::MAX,
            hi: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            count: 0,
        };
        t.top = t.index_for(HIGHEST_US);
        t
    }

    /// HDR's bucket: log2 of the bin width, for a value of binary magnitude `log2`
    /// (`lz_base - lzcnt(v | sub_mask)` in HDR's terms, which is this).
    #[inline(always)]
    fn bucket_of_log2(&self, log2: u32) -> u32 {
        log2.saturating_sub(self.half_mag)
    }

    #[inline(always)]
    fn bucket_for(&self, v: u64) -> u32 {
        self.bucket_of_log2(v.max(1).ilog2())
    }

    /// HDR's index_for: `((b + 1) << half_mag) + (v >> b) - (1 << half_mag)`, which is this.
    #[inline(always)]
    fn index_of(&self, v: u64, log2: u32) -> usize {
        let b = self.bucket_of_log2(log2);
        ((b as usize) << self.half_mag) + (v >> b) as usize
    }

    #[inline(always)]
    fn index_for(&self, v: u64) -> usize {
        self.index_of(v, v.max(1).ilog2())
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

    /// The count index of `us`: HDR's saturating record clamps a value past the last bin to
    /// the highest trackable one.
    #[inline(always)]
    fn slot(&self, us: u64, log2: u32) -> usize {
        let i = self.index_of(us, log2);
        if i < self.counts.len() {
            i
        } else {
            self.top
        }
    }

    /// Count `n` samples of `us` (from [`Trend::add`], so the touched range is kept).
    fn count_us(&mut self, us: u64, n: u64) {
        let i = self.slot(us, us.max(1).ilog2());
        self.counts[i] += n;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.record_sample(Sample::new(ns));
    }

    /// [`Trend::record`] of a sample made ready once for several trends.
    #[inline(always)]
    pub fn record_sample(&mut self, s: Sample) {
        let i = self.index_of(s.us, s.log2);
        match self.counts.get_mut(i) {
            Some(c) => *c += 1,
            None => self.counts[self.top] += 1,
        }
        self.sum_ns += s.ns as u128;
        self.min_ns = self.min_ns.min(s.ns);
        self.max_ns = self.max_ns.max(s.ns);
        self.count += 1;
    }

    /// The count indices that may be non-zero, as (lo, hi), empty when lo > hi: those of the
    /// recorded samples, between the bins of the exact min and max (the index grows with the
    /// value up to the last bin; past it a value counts at `top`, and a value between
    /// [`HIGHEST_US`] and the last bin may lie above `top`), and those [`Trend::add`] touched.
    fn range(&self) -> (usize, usize) {
        if self.count == 0 {
            return (self.lo, self.hi);
        }
        let at = |ns: u64| {
            let us = (ns / 1000).max(1);
            self.index_of(us, us.ilog2())
        };
        let (lo_i, hi_i) = (at(self.min_ns), at(self.max_ns));
        let last = self.counts.len() - 1;
        let lo = if lo_i <= last {
            lo_i.min(self.top)
        } else {
            self.top
        };
        let hi = if hi_i <= last { hi_i } else { last };
        (
            lo.min(self.lo),
            hi.max(if self.lo <= self.hi { self.hi } else { 0 }),
        )
    }

    /// Fold another trend's samples into this one.
    pub fn add(&mut self, o: &Trend) {
        if o.count == 0 {
            return;
        }
        let (lo, hi) = o.range();
        for i in lo..=hi {
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
        let (lo, hi) = self.range();
        if lo <= hi {
            self.counts[lo..=hi].fill(0);
        }
        self.lo = usize::MAX;
        self.hi = 0;
        self.sum_ns = 0;
        self.min_ns = u64::MAX;
        self.max_ns = 0;
        self.count = 0;
    }

    /// The `k`-th and `k+1`-th smallest samples (0-based), in ns: the exact min and max at the
    /// ends, otherwise the middle of the histogram bin holding that rank (HDR's
    /// median_equivalent, within half a bin: 0.05 % at 3 significant digits), clamped to them.
    fn ranks_ns(&self, k: u64) -> (f64, f64) {
        let mut out = [0.0; 2];
        let mut want = 0;
        let mut cum = 0u64;
        let (lo, hi) = self.range();
        for i in lo..=hi.min(self.counts.len() - 1) {
            cum += self.counts[i];
            while want < 2 && cum > k + want as u64 {
                out[want] = self.rank_value_ns(k + want as u64, i);
                want += 1;
            }
            if want == 2 {
                break;
            }
        }
        if want < 2 {
            // k + 1 is past the last sample: it only weighs when k itself is the last.
            out[1] = self.max_ns as f64;
        }
        (out[0], out[1])
    }

    fn rank_value_ns(&self, rank: u64, bin: usize) -> f64 {
        if rank == 0 {
            return self.min_ns as f64;
        }
        if rank + 1 >= self.count {
            return self.max_ns as f64;
        }
        let lowest = self.value_for(bin);
        let mid = lowest + (self.highest_equivalent(lowest) - lowest).div_ceil(2);
        ((mid * 1000) as f64).clamp(self.min_ns as f64, self.max_ns as f64)
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

    /// Percentile `p` in [0, 100], in ms, as k6's TrendSink.P (metrics/sink.go): linear
    /// interpolation between the sorted samples at ranks floor and ceil of p/100 · (n − 1);
    /// 0 when there are none.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let i = (p / 100.0).clamp(0.0, 1.0) * (self.count - 1) as f64;
        let lo = i.floor();
        let (j, k) = self.ranks_ns(lo as u64);
        let ns = if i > lo { j + (k - j) * (i - lo) } else { j };
        ns / 1e6
    }

    /// [`Trend::percentile_ms`] of each of `ps`, the same values, in one pass over the bins
    /// when `ps` ascend (an interval's p50, p95 and p99; the summary's stats): the bins are
    /// found by a cursor that only moves on, where each percentile alone scanned from the
    /// lowest bin.
    pub fn percentiles_ms<const N: usize>(&self, ps: [f64; N]) -> [f64; N] {
        let mut out = [0.0; N];
        if self.count == 0 {
            return out;
        }
        let (lo, hi) = self.range();
        let end = hi.min(self.counts.len() - 1);
        // The first bin whose cumulative count passes `rank` (as `ranks_ns` finds it), for
        // ranks asked in order; `cum` counts the bins before `i`.
        let (mut i, mut cum) = (lo, 0u64);
        let mut find = |rank: u64| -> Option<usize> {
            while i <= end {
                let c = self.counts[i];
                if cum + c > rank {
                    return Some(i);
                }
                cum += c;
                i += 1;
            }
            None
        };
        let mut last: Option<(u64, (f64, f64))> = None;
        for (o, p) in out.iter_mut().zip(ps) {
            let x = (p / 100.0).clamp(0.0, 1.0) * (self.count - 1) as f64;
            let fl = x.floor();
            let k = fl as u64;
            let (j, m) = match last {
                Some((lk, v)) if lk == k => v,
                // Out of order: this rank lies behind the cursor.
                Some((lk, _)) if k < lk => self.ranks_ns(k),
                _ => {
                    // As `ranks_ns`: a rank past the last sample is 0 for k, the max for k + 1.
                    let j = find(k).map_or(0.0, |b| self.rank_value_ns(k, b));
                    let m =
                        find(k + 1).map_or(self.max_ns as f64, |b| self.rank_value_ns(k + 1, b));
                    (j, m)
                }
            };
            if last.is_none_or(|(lk, _)| k >= lk) {
                last = Some((k, (j, m)));
            }
            let ns = if x > fl { j + (m - j) * (x - fl) } else { j };
            *o = ns / 1e6;
        }
        out
    }

    /// The summary's trend stats: k6's default summaryTrendStats plus p(99).
    pub const STATS: [&'static str; 7] = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"];

    /// [`Self::STATS`] with their values, in ms.
    pub fn stats(&self) -> [(&'static str, f64); 7] {
        let [med, p90, p95, p99] = self.percentiles_ms([50.0, 90.0, 95.0, 99.0]);
        [
            ("avg", self.avg_ms()),
            ("min", self.min_ms()),
            ("med", med),
            ("max", self.max_ms()),
            ("p(90)", p90),
            ("p(95)", p95),
            ("p(99)", p99),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use hdrhistogram::Histogram;
    use rand::Rng;

    /// k6's TrendSink.P over the exact samples (metrics/sink.go).
    fn k6_percentile(sorted: &[u64], p: f64) -> f64 {
        let i = p / 100.0 * (sorted.len() - 1) as f64;
        let (j, k) = (sorted[i.floor() as usize], sorted[i.ceil() as usize]);
        j as f64 + (k as f64 - j as f64) * (i - i.floor())
    }

    /// The bins are the hdrhistogram crate's, at both precisions in use, from sub-µs to past
    /// the highest trackable value.
    #[test]
    fn bins_equal_the_hdrhistogram_crate() {
        for sigfig in [2u8, 3] {
            let mut rng = stream(11, u64::from(sigfig), "trend");
            let t = Trend::new(sigfig);
            let h = Histogram::<u64>::new_with_bounds(1, HIGHEST_US, sigfig).unwrap();
            for _ in 0..20_000 {
                let us = 10f64.powf(rng.gen_range(0.0..9.5)) as u64;
                assert_eq!(t.highest_equivalent(us), h.highest_equivalent(us), "{us}");
                assert_eq!(
                    t.value_for(t.index_for(us)),
                    h.lowest_equivalent(us),
                    "{us}"
                );
            }
        }
    }

    /// Percentiles are k6's interpolation between sorted samples, within half a bin.
    #[test]
    fn percentiles_interpolate_as_k6_within_a_bin() {
        let mut rng = stream(12, 0, "trend");
        for round in 0..40 {
            let n = [1usize, 2, 3, 10, 20, 101, 5_000][round % 7];
            let mut t = Trend::default();
            let mut v: Vec<u64> = (0..n)
                .map(|_| match round % 3 {
                    // Two clusters far apart: where nearest-rank and interpolation disagree.
                    0 => [10_000_000u64, 20_000_000][rng.gen_range(0..2)],
                    1 => 10f64.powf(rng.gen_range(3.0..10.0)) as u64,
                    _ => rng.gen_range(1_000_000..2_000_000),
                })
                .collect();
            for &x in &v {
                t.record(x);
            }
            v.sort_unstable();
            for p in [0.0, 1.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
                let want = k6_percentile(&v, p) / 1e6;
                let got = t.percentile_ms(p);
                assert!(
                    (got - want).abs() <= want * 5.1e-4 + 1e-3,
                    "round {round} n {n} p{p}: {got} vs k6 {want}"
                );
            }
        }
        // The case nearest rank got wrong: 10 samples of 10 ms and 10 of 20 ms have a median
        // of 15 ms in k6.
        let mut t = Trend::default();
        for _ in 0..10 {
            t.record(10_000_000);
            t.record(20_000_000);
        }
        assert!((t.percentile_ms(50.0) - 15.0).abs() < 0.01);
        assert_eq!(Trend::default().percentile_ms(95.0), 0.0);
    }

    /// One pass gives each percentile exactly as alone, in any order, with repeated and
    /// equal ranks, few samples and values past the highest trackable one.
    #[test]
    fn percentiles_in_one_pass_equal_each_alone() {
        let mut rng = stream(13, 0, "trend");
        for round in 0..60 {
            let n = [1usize, 2, 3, 7, 100, 2_000][round % 6];
            let mut t = Trend::new(if round % 2 == 0 { 2 } else { 3 });
            for _ in 0..n {
                let ns = match round % 3 {
                    0 => 10f64.powf(rng.gen_range(2.0..13.5)) as u64,
                    1 => [5_000_000u64, 9_000_000][rng.gen_range(0..2)],
                    _ => rng.gen_range(1_000_000..1_100_000),
                };
                t.record(ns);
            }
            let ps = [
                0.0, 1.0, 50.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0, 20.0, 150.0,
            ];
            let got = t.percentiles_ms(ps);
            for (p, g) in ps.iter().zip(got) {
                assert_eq!(
                    g.to_bits(),
                    t.percentile_ms(*p).to_bits(),
                    "round {round} p{p}"
                );
            }
        }
        assert_eq!(Trend::default().percentiles_ms([50.0, 99.0]), [0.0, 0.0]);
    }

    /// The range derived from the min and max holds every count, past the highest trackable
    /// value too (counted at `top`, or in a bin above it), so a reset clears them all.
    #[test]
    fn the_derived_range_holds_every_count() {
        for sigfig in [2u8, 3] {
            let mut t = Trend::new(sigfig);
            for ns in [
                3_700_000_000_000u64,
                500,
                3_600_000_000_000,
                9_000_000_000_000,
                u64::MAX / 2,
                4_000_000_000_000,
            ] {
                t.record(ns);
                let (lo, hi) = t.range();
                let inside: u64 = t.counts[lo..=hi].iter().sum();
                assert_eq!(inside, t.count(), "sigfig {sigfig} after {ns}");
            }
            t.reset();
            assert!(t.counts.iter().all(|&c| c == 0));
        }
    }

    #[test]
    fn add_and_reset_keep_the_counts() {
        let mut a = Trend::default();
        let mut b = Trend::default();
        let mut all = vec![1_500u64, 2_000_000, 7_000_000_000, 30_000, 900, 250_000_000];
        for &ns in &all[..4] {
            a.record(ns);
        }
        for &ns in &all[4..] {
            b.record(ns);
        }
        a.add(&b);
        assert_eq!(a.count(), 6);
        all.sort_unstable();
        for p in [0.0, 10.0, 50.0, 90.0, 99.0, 100.0] {
            let want = k6_percentile(&all, p) / 1e6;
            let got = a.percentile_ms(p);
            assert!(
                (got - want).abs() <= want * 5.1e-4 + 1e-3,
                "p{p}: {got} vs {want}"
            );
        }
        a.reset();
        assert_eq!(a.count(), 0);
        assert!(a.counts.iter().all(|&c| c == 0));
    }
}
