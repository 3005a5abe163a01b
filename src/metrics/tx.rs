//! The on-chain outcome: transaction success, gas per transaction, and time to confirmation.

use super::Trend;
use crate::threshold::Aggregation;
use hdrhistogram::Histogram;

/// A trend of plain numbers (gas), not durations: same aggregations, no unit conversion.
#[derive(Clone)]
pub struct Values {
    hist: Histogram<u64>,
    sum: u128,
    count: u64,
    min: u64,
    max: u64,
}

impl Default for Values {
    fn default() -> Self {
        Values {
            hist: Histogram::new(3).expect("valid sigfig"),
            sum: 0,
            count: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

impl Values {
    pub fn record(&mut self, v: u64) {
        self.hist.saturating_record(v);
        self.sum += v as u128;
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> u128 {
        self.sum
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// Percentile `p` in [0, 100] as k6's TrendSink.P: linear interpolation between the
    /// sorted values at ranks floor and ceil of p/100 · (n − 1) (each rank's value the middle of
    /// its histogram bin, the exact min and max at the ends).
    pub fn percentile(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let i = (p / 100.0).clamp(0.0, 1.0) * (self.count - 1) as f64;
        let lo = i.floor();
        let at = |rank: u64| -> f64 {
            if rank == 0 {
                return self.min as f64;
            }
            if rank + 1 >= self.count {
                return self.max as f64;
            }
            let mut cum = 0;
            let v = self
                .hist
                .iter_recorded()
                .find(|b| {
                    cum += b.count_at_value();
                    cum > rank
                })
                .map_or(self.max, |b| {
                    self.hist.median_equivalent(b.value_iterated_to())
                });
            (v as f64).clamp(self.min as f64, self.max as f64)
        };
        let j = at(lo as u64);
        if i > lo {
            j + (at(lo as u64 + 1) - j) * (i - lo)
        } else {
            j
        }
    }

    pub fn value(&self, agg: &Aggregation) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        Some(match agg {
            Aggregation::Avg => self.avg(),
            Aggregation::Min => self.min as f64,
            Aggregation::Max => self.max as f64,
            Aggregation::Med => self.percentile(50.0),
            Aggregation::Percentile(p) => self.percentile(*p),
            _ => return None,
        })
    }

    pub fn stats(&self) -> [(&'static str, f64); 6] {
        [
            ("avg", self.avg()),
            (
                "min",
                if self.count == 0 {
                    0.0
                } else {
                    self.min as f64
                },
            ),
            ("med", self.percentile(50.0)),
            ("max", self.max as f64),
            ("p(90)", self.percentile(90.0)),
            ("p(95)", self.percentile(95.0)),
        ]
    }

    pub fn add(&mut self, o: &Values) {
        if o.count == 0 {
            return;
        }
        let _ = self.hist.add(&o.hist);
        self.sum += o.sum;
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

#[derive(Default)]
pub struct TxStats {
    /// Included and succeeded.
    pub ok: u64,
    /// Included but reverted.
    pub reverted: u64,
    /// Never included: the provider failed or refused the submission.
    pub failed: u64,
    pub gas: Values,
    /// From submission to confirmation.
    pub confirmation: Trend,
}

impl TxStats {
    pub fn record_included(&mut self, gas: u64, confirm_ns: u64, ok: bool) {
        self.gas.record(gas);
        self.confirmation.record(confirm_ns);
        if ok {
            self.ok += 1;
        } else {
            self.reverted += 1;
        }
    }

    pub fn attempts(&self) -> u64 {
        self.ok + self.reverted + self.failed
    }

    pub fn success_rate(&self) -> Option<f64> {
        let n = self.attempts();
        (n > 0).then(|| self.ok as f64 / n as f64)
    }

    pub fn add(&mut self, o: &TxStats) {
        self.ok += o.ok;
        self.reverted += o.reverted;
        self.failed += o.failed;
        self.gas.add(&o.gas);
        self.confirmation.add(&o.confirmation);
    }
}
