//! A k6 "trend": latency samples in an HDR histogram plus exact sum, min and max.

use hdrhistogram::Histogram;

/// Microsecond resolution, up to 1 hour, 3 significant digits (0.1 % relative error).
pub struct Trend {
    hist: Histogram<u64>,
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
    pub fn new(sigfig: u8) -> Self {
        Trend {
            hist: Histogram::new_with_bounds(1, 3_600_000_000, sigfig).expect("valid bounds"),
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            count: 0,
        }
    }

    pub fn record(&mut self, ns: u64) {
        self.hist.saturating_record((ns / 1000).max(1));
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
        let _ = self.hist.add(&o.hist);
        self.sum_ns += o.sum_ns;
        self.min_ns = self.min_ns.min(o.min_ns);
        self.max_ns = self.max_ns.max(o.max_ns);
        self.count += o.count;
    }

    pub fn reset(&mut self) {
        self.hist.reset();
        self.sum_ns = 0;
        self.min_ns = u64::MAX;
        self.max_ns = 0;
        self.count = 0;
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
        let us = self.hist.value_at_quantile((p / 100.0).clamp(0.0, 1.0));
        let ms = self.hist.highest_equivalent(us) as f64 / 1000.0;
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
