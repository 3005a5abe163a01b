//! Statistics across replications: the mean with a Student-t confidence interval, and the
//! relative-precision rule that decides whether a point needs more replications (as JMT does).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval surge reports.
pub const LEVEL: f64 = 0.95;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Replications with a value (missing values are skipped).
    pub n: usize,
    pub mean: f64,
    /// Half-width of the interval; NaN with fewer than two values.
    pub half_width: f64,
}

impl Interval {
    pub fn lo(&self) -> f64 {
        self.mean - self.half_width
    }
    pub fn hi(&self) -> f64 {
        self.mean + self.half_width
    }

    /// Whether the half-width is within `rel` of the mean. An interval of width 0 always is
    /// (a metric that never varies); one of fewer than two values never is.
    pub fn precise(&self, rel: f64) -> bool {
        self.half_width == 0.0 || self.half_width <= rel * self.mean.abs()
    }
}

/// The two-sided `level` quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(level: f64, df: usize) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64)
        .expect("df >= 1")
        .inverse_cdf(0.5 + level / 2.0)
}

/// Mean and `level` confidence interval of the finite values in `xs`.
pub fn interval(xs: impl IntoIterator<Item = f64>, level: f64) -> Interval {
    let v: Vec<f64> = xs.into_iter().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return Interval {
            n,
            mean: f64::NAN,
            half_width: f64::NAN,
        };
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Interval {
            n,
            mean,
            half_width: f64::NAN,
        };
    }
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let half_width = if var == 0.0 {
        0.0
    } else {
        t_quantile(level, n - 1) * (var / n as f64).sqrt()
    };
    Interval {
        n,
        mean,
        half_width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Exp};

    #[test]
    fn t_quantiles_match_tables() {
        // Standard tables: t(0.975; 1) = 12.706, t(0.975; 4) = 2.776, t(0.975; 30) = 2.042.
        assert!((t_quantile(0.95, 1) - 12.706).abs() < 1e-3);
        assert!((t_quantile(0.95, 4) - 2.776).abs() < 1e-3);
        assert!((t_quantile(0.95, 30) - 2.042).abs() < 1e-3);
    }

    #[test]
    fn interval_by_hand() {
        // 1..5: mean 3, s² = 2.5, hw = t(4) · sqrt(2.5 / 5).
        let i = interval([1.0, 2.0, 3.0, 4.0, 5.0], LEVEL);
        assert_eq!(i.n, 5);
        assert_eq!(i.mean, 3.0);
        assert!((i.half_width - 2.776_445 * 0.5f64.sqrt()).abs() < 1e-5);
        let c = interval([7.0, 7.0, f64::NAN], LEVEL);
        assert_eq!((c.n, c.mean, c.half_width), (2, 7.0, 0.0));
        assert!(c.precise(0.0));
        assert!(!interval([1.0], LEVEL).precise(1.0));
    }

    #[test]
    fn covers_a_known_mean_95_percent_of_the_time() {
        // Exponential samples (skewed) of mean 10, averaged in batches of 50, 5 batches per
        // interval: the t interval should cover 10 in about 95 % of 2000 trials (sd 0.5 %).
        let mut rng = crate::engine::stream(1, 0, "coverage");
        let exp = Exp::new(0.1).unwrap();
        let trials = 2000;
        let mut hits = 0;
        for _ in 0..trials {
            let means = (0..5).map(|_| (0..50).map(|_| exp.sample(&mut rng)).sum::<f64>() / 50.0);
            let i = interval(means, LEVEL);
            if i.lo() <= 10.0 && 10.0 <= i.hi() {
                hits += 1;
            }
        }
        let cover = hits as f64 / trials as f64;
        assert!((0.93..=0.97).contains(&cover), "coverage {cover}");
    }
}
