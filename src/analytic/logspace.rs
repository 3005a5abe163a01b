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
        // terms below e⁻⁵⁰ of the largest change the sum by < N·2e-22 relative: skip their exp
        let mut s = 0.0;
        for j in lo..=hi {
            let d = a[j] + b[n - j] - m;
            if d > -50.0 {
                s += d.exp();
            }
        }
        *o = m + s.ln();
    }
}

/// The convolution of `a` with a sequence f that is geometric from index m on: `head` holds
/// ln f(0..=m) and f(j+1) = r·f(j) for j ≥ m (ln r = `ln_r`). The tail part
/// h(n) = Σ_{j≥m} f(j)·a(n−j) obeys h(n) = f(m)·a(n−m) + r·h(n−1), so the cost is O(N·m);
/// with m = 1 this is Buzen's recursion.
pub(crate) fn convolve_flat_tail(a: &[f64], head: &[f64], ln_r: f64, out: &mut [f64]) {
    let m = head.len() - 1;
    let mut h = NEG_INF;
    for (n, o) in out.iter_mut().enumerate() {
        if n >= m {
            h = add(head[m] + a[n - m], ln_r + h);
        }
        let terms = 0..m.min(n + 1);
        let mut mx = h;
        for j in terms.clone() {
            mx = mx.max(head[j] + a[n - j]);
        }
        if mx == NEG_INF {
            *o = NEG_INF;
            continue;
        }
        let mut s = (h - mx).exp();
        for j in terms {
            s += (head[j] + a[n - j] - mx).exp();
        }
        *o = mx + s.ln();
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
        // f = 4^j, declared geometric from m = 1, 2, 3 and 4: the same result each time
        let a5 = [1.0f64, 2.0, 3.0, 0.0, 5.0].map(f64::ln);
        let want = {
            let f = [1.0, 4.0, 16.0, 64.0, 256.0];
            let a = [1.0, 2.0, 3.0, 0.0, 5.0];
            (0..5)
                .map(|n| (0..=n).map(|j| f[j] * a[n - j]).sum::<f64>())
                .collect::<Vec<f64>>()
        };
        for m in 1..=4 {
            let head: Vec<f64> = (0..=m).map(|j| 4f64.powi(j).ln()).collect();
            let mut g = [0.0; 5];
            convolve_flat_tail(&a5, &head, 4f64.ln(), &mut g);
            for (n, (o, w)) in g.iter().zip(&want).enumerate() {
                assert!(
                    (o.exp() - w).abs() < 1e-12 * w,
                    "m={m} n={n}: {} vs {w}",
                    o.exp()
                );
            }
        }
        // a non-geometric head: f = 1, 1, 3, 6, 12, … (r = 2 from m = 2)
        let head = [1.0f64, 1.0, 3.0].map(f64::ln);
        let mut g = [0.0; 4];
        convolve_flat_tail(&a5[..4], &head, 2f64.ln(), &mut g);
        let f = [1.0, 1.0, 3.0, 6.0];
        let a = [1.0, 2.0, 3.0, 0.0];
        for n in 0..4 {
            let w: f64 = (0..=n).map(|j| f[j] * a[n - j]).sum();
            assert!((g[n].exp() - w).abs() < 1e-12 * w, "n={n}");
        }
    }
}
