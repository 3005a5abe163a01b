//! Sums of positive terms held as natural logarithms (−∞ for zero).

const NEG_INF: f64 = f64::NEG_INFINITY;

/// ln(eᵃ + eᵇ).
pub(crate) fn add(a: f64, b: f64) -> f64 {
    if a == NEG_INF {
        return b;
    }
    if b == NEG_INF {
        return a;
    }
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// A running ln Σ eᵗ, rescaled whenever a larger term arrives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogSum {
    max: f64,
    scaled: f64,
}

impl LogSum {
    pub(crate) fn new() -> Self {
        LogSum {
            max: NEG_INF,
            scaled: 0.0,
        }
    }

    pub(crate) fn push(&mut self, t: f64) {
        if t == NEG_INF {
            return;
        }
        if t > self.max {
            self.scaled = self.scaled * (self.max - t).exp() + 1.0;
            self.max = t;
        } else {
            self.scaled += (t - self.max).exp();
        }
    }

    pub(crate) fn ln(&self) -> f64 {
        if self.max == NEG_INF {
            NEG_INF
        } else {
            self.max + self.scaled.ln()
        }
    }
}

/// out(n) = ln Σ_{j≤n} exp(a(j) + b(n−j)) for n < out.len(): the convolution of two sequences
/// in log space, two passes per n (the maximum, then the scaled sum).
pub(crate) fn convolve(a: &[f64], b: &[f64], out: &mut [f64]) {
    for (n, o) in out.iter_mut().enumerate() {
        let lo = n.saturating_sub(b.len() - 1);
        let hi = n.min(a.len() - 1);
        let mut m = NEG_INF;
        for j in lo..=hi {
            m = m.max(a[j] + b[n - j]);
        }
        if m == NEG_INF {
            *o = NEG_INF;
            continue;
        }
        let mut s = 0.0;
        for j in lo..=hi {
            s += (a[j] + b[n - j] - m).exp();
        }
        *o = m + s.ln();
    }
}

/// The convolution of `a` with the geometric sequence r^j (ln r = `ln_r`), by Buzen's recursion
/// out(n) = a(n) + r·out(n−1).
pub(crate) fn convolve_geometric(a: &[f64], ln_r: f64, out: &mut [f64]) {
    let mut prev = NEG_INF;
    for (n, o) in out.iter_mut().enumerate() {
        prev = add(a[n], ln_r + prev);
        *o = prev;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sums_match_direct_sums_and_survive_huge_exponents() {
        assert!((add(2f64.ln(), 3f64.ln()) - 5f64.ln()).abs() < 1e-15);
        assert_eq!(add(NEG_INF, 1.5), 1.5);
        let mut s = LogSum::new();
        for t in [1000.0, 1000.0 + 2f64.ln(), NEG_INF, 990.0] {
            s.push(t);
        }
        let want = 1000.0 + (3.0 + (-10f64).exp()).ln();
        assert!((s.ln() - want).abs() < 1e-12);
        assert_eq!(LogSum::new().ln(), NEG_INF);
    }

    #[test]
    fn convolutions_match_integer_arithmetic() {
        let a = [1.0f64, 2.0, 3.0].map(f64::ln);
        let b = [1.0f64, 4.0, 0.0].map(f64::ln);
        let mut out = [0.0; 3];
        convolve(&a, &b, &mut out);
        // (1 + 2x + 3x²)(1 + 4x) = 1 + 6x + 11x² + …
        for (o, w) in out.iter().zip([1.0, 6.0, 11.0]) {
            assert!((o.exp() - w).abs() < 1e-12);
        }
        let mut g = [0.0; 3];
        convolve_geometric(&a, 4f64.ln(), &mut g);
        // (1 + 2x + 3x²)(1 + 4x + 16x²) = 1 + 6x + 27x² + …
        for (o, w) in g.iter().zip([1.0, 6.0, 27.0]) {
            assert!((o.exp() - w).abs() < 1e-12);
        }
    }
}
