//! Gunther's USL regression (Guerrilla Capacity Planning ch. 5; calibration.md §1 "USL
//! pitfalls"): a starting point for a fit, not the fit itself. X(N) = X(1)·C(N) with
//! C(N) = N/(1 + σ(N−1) + κN(N−1)) describes a system's throughput only when one station is
//! alone with Z = 0; otherwise fit c(n) through the model.

/// σ is clamped below 1 to this value.
const SIGMA_MAX: f64 = 1.0 - 1e-9;

/// A USL seed: X(N) ≈ x1·N/(1 + σ(N−1) + κN(N−1)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UslSeed {
    pub x1: f64,
    pub sigma: f64,
    pub kappa: f64,
    /// The unconstrained regression gave σ ∉ [0, 1) or κ < 0: the values are the least-squares
    /// fit on the boundary instead. Such a fit is an artefact of the data: warn.
    pub clamped: bool,
    /// No point at N = 1 was given, so X(1) was estimated (see [`usl_seed`]).
    pub x1_estimated: bool,
}

/// The USL's peak N* = √((1−σ)/κ) (the derivative's numerator is 1 − σ − κN²); the integer
/// peak is ⌊N*⌋ or ⌈N*⌉. `None` when κ ≤ 0 (no peak) or σ ≥ 1.
pub fn usl_peak(sigma: f64, kappa: f64) -> Option<f64> {
    (kappa > 0.0 && sigma < 1.0).then(|| ((1.0 - sigma) / kappa).sqrt())
}

/// Least squares of y = σ·u + κ·v (u = N − 1, v = N(N − 1), y = N/C(N) − 1) over σ ∈ [0, σmax],
/// κ ≥ 0. The objective is convex, so the minimum is the unconstrained one when feasible, else
/// the best of the minima on the faces σ = 0, σ = σmax and κ = 0.
/// Returns (σ, κ, clamped, sum of squares).
fn regress(points: &[(f64, f64)], x1: f64) -> (f64, f64, bool, f64) {
    let (mut suu, mut suv, mut svv, mut suy, mut svy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let rows: Vec<(f64, f64, f64)> = points
        .iter()
        .map(|&(n, x)| (n - 1.0, n * (n - 1.0), n * x1 / x - 1.0))
        .collect();
    for &(u, v, y) in &rows {
        suu += u * u;
        suv += u * v;
        svv += v * v;
        suy += u * y;
        svy += v * y;
    }
    let sse = |s: f64, k: f64| -> f64 {
        rows.iter()
            .map(|&(u, v, y)| (y - s * u - k * v).powi(2))
            .sum()
    };
    let det = suu * svv - suv * suv;
    if det > 1e-12 * suu * svv {
        let s = (suy * svv - svy * suv) / det;
        let k = (svy * suu - suy * suv) / det;
        if (0.0..=SIGMA_MAX).contains(&s) && k >= 0.0 {
            return (s, k, false, sse(s, k));
        }
    }
    let candidates = [
        ((suy / suu).clamp(0.0, SIGMA_MAX), 0.0),
        (0.0, (svy / svv).max(0.0)),
        (SIGMA_MAX, ((svy - SIGMA_MAX * suv) / svv).max(0.0)),
    ];
    let (s, k, e) = candidates
        .iter()
        .map(|&(s, k)| (s, k, sse(s, k)))
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap_or((0.0, 0.0, f64::INFINITY));
    (s, k, true, e)
}

/// Σ (ln X − ln X̂)² for the regression's σ, κ at this x1.
fn log_loss(points: &[(f64, f64)], x1: f64) -> (f64, (f64, f64, bool)) {
    let (s, k, clamped, _) = regress(points, x1);
    let loss = points
        .iter()
        .map(|&(n, x)| {
            let pred = x1 * n / (1.0 + s * (n - 1.0) + k * n * (n - 1.0));
            (x.ln() - pred.ln()).powi(2)
        })
        .sum();
    (loss, (s, k, clamped))
}

/// Gunther's regression on measured (N, X) points: with C(N) = X(N)/X(1) and
/// y = N/C(N) − 1 = σ(N−1) + κN(N−1), a least-squares quadratic through the origin in N − 1
/// (κ the x² coefficient, σ the x coefficient minus κ), constrained to σ ∈ [0, 1), κ ≥ 0
/// (`clamped` says the constraint was active).
///
/// X(1) is the (geometric mean) throughput of the points at N = 1. Without one it is estimated:
/// for each trial x1 the regression gives σ, κ, and x1 minimises Σ(ln X − ln X̂)² over
/// [max X/N, 2·max X] (a 61-point log grid, then golden-section search).
///
/// `None` when a point is not finite, has N < 1 or X ≤ 0, or there are too few distinct loads:
/// two besides N = 1 with X(1) measured, three without.
pub fn usl_seed(points: &[(f64, f64)]) -> Option<UslSeed> {
    if points
        .iter()
        .any(|&(n, x)| !(n.is_finite() && x.is_finite() && n >= 1.0 && x > 0.0))
    {
        return None;
    }
    let mut loads: Vec<f64> = points.iter().map(|p| p.0).filter(|&n| n != 1.0).collect();
    loads.sort_by(f64::total_cmp);
    loads.dedup();
    let ones: Vec<f64> = points.iter().filter(|p| p.0 == 1.0).map(|p| p.1).collect();
    if !ones.is_empty() {
        if loads.len() < 2 {
            return None;
        }
        let x1 = match ones[..] {
            [one] => one,
            _ => (ones.iter().map(|x| x.ln()).sum::<f64>() / ones.len() as f64).exp(),
        };
        let (sigma, kappa, clamped, _) = regress(points, x1);
        return Some(UslSeed {
            x1,
            sigma,
            kappa,
            clamped,
            x1_estimated: false,
        });
    }
    if loads.len() < 3 {
        return None;
    }
    let lo = points.iter().map(|p| p.1 / p.0).fold(0.0, f64::max).ln();
    let hi = (2.0 * points.iter().map(|p| p.1).fold(0.0, f64::max)).ln();
    let f = |t: f64| log_loss(points, t.exp()).0;
    const GRID: usize = 61;
    let grid: Vec<f64> = (0..GRID)
        .map(|i| lo + (hi - lo) * i as f64 / (GRID - 1) as f64)
        .collect();
    let best = (0..GRID)
        .map(|i| (i, f(grid[i])))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |b| b.0);
    let (mut a, mut b) = (grid[best.saturating_sub(1)], grid[(best + 1).min(GRID - 1)]);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..100 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
        if b - a < 1e-13 {
            break;
        }
    }
    let x1 = ((a + b) / 2.0).exp();
    let (_, (sigma, kappa, clamped)) = log_loss(points, x1);
    Some(UslSeed {
        x1,
        sigma,
        kappa,
        clamped,
        x1_estimated: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usl_x(x1: f64, s: f64, k: f64, n: f64) -> f64 {
        x1 * n / (1.0 + s * (n - 1.0) + k * n * (n - 1.0))
    }

    /// The reference's synthetic case (X(1) = 100, σ = 0.05, κ = 0.002) without noise is
    /// recovered exactly, with and without a measured X(1).
    #[test]
    fn recovers_exact_usl_parameters() {
        let (x1, s, k) = (100.0, 0.05, 0.002);
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
            .iter()
            .map(|&n| (n, usl_x(x1, s, k, n)))
            .collect();
        let seed = usl_seed(&pts).unwrap();
        assert!(!seed.clamped && !seed.x1_estimated);
        assert!((seed.x1 - x1).abs() < 1e-12 * x1);
        assert!((seed.sigma - s).abs() < 1e-12, "{seed:?}");
        assert!((seed.kappa - k).abs() < 1e-13, "{seed:?}");
        let seed = usl_seed(&pts[1..]).unwrap();
        assert!(seed.x1_estimated && !seed.clamped, "{seed:?}");
        assert!((seed.x1 - x1).abs() < 1e-6 * x1, "{seed:?}");
        assert!((seed.sigma - s).abs() < 1e-6, "{seed:?}");
        assert!((seed.kappa - k).abs() < 1e-7, "{seed:?}");
        let n_star = usl_peak(seed.sigma, seed.kappa).unwrap();
        assert!((n_star - (0.95f64 / 0.002).sqrt()).abs() < 1e-3);
    }

    /// Superlinear data (σ < 0) and a negative κ are clamped to the boundary least squares.
    #[test]
    fn negative_fits_are_clamped_and_flagged() {
        // superlinear at first: y = −0.02(N−1) + 0.01N(N−1) → σ clamped to 0, κ refitted alone
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 3.0, 5.0]
            .iter()
            .map(|&n| (n, usl_x(10.0, -0.02, 0.01, n)))
            .collect();
        let seed = usl_seed(&pts).unwrap();
        assert!(
            seed.clamped && seed.sigma == 0.0 && seed.kappa > 0.0,
            "{seed:?}"
        );
        // the refit on the face σ = 0: κ = Σvy/Σvv
        let rows: Vec<(f64, f64)> = pts[1..]
            .iter()
            .map(|&(n, x)| (n * (n - 1.0), n * 10.0 / x - 1.0))
            .collect();
        let k = rows.iter().map(|r| r.0 * r.1).sum::<f64>()
            / rows.iter().map(|r| r.0 * r.0).sum::<f64>();
        assert!((seed.kappa - k).abs() < 1e-12 * k, "{seed:?} vs {k}");
        // concave y: κ < 0 → κ = 0, σ = Σuy/Σuu
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 6.0, 10.0]
            .iter()
            .map(|&n| (n, usl_x(10.0, 0.3, -0.005, n)))
            .collect();
        let seed = usl_seed(&pts).unwrap();
        assert!(
            seed.clamped && seed.kappa == 0.0 && seed.sigma > 0.0,
            "{seed:?}"
        );
        assert_eq!(usl_peak(seed.sigma, seed.kappa), None);
    }

    #[test]
    fn too_few_or_bad_points_give_none() {
        assert_eq!(usl_seed(&[]), None);
        assert_eq!(usl_seed(&[(1.0, 5.0), (2.0, 9.0)]), None);
        assert_eq!(usl_seed(&[(1.0, 5.0), (2.0, 9.0), (2.0, 9.1)]), None);
        assert_eq!(usl_seed(&[(2.0, 9.0), (4.0, 15.0)]), None);
        assert_eq!(usl_seed(&[(1.0, 5.0), (2.0, 9.0), (0.5, 3.0)]), None);
        assert_eq!(usl_seed(&[(1.0, 5.0), (2.0, 0.0), (3.0, 9.0)]), None);
        assert_eq!(usl_seed(&[(1.0, 5.0), (2.0, f64::NAN), (3.0, 9.0)]), None);
        assert!(usl_seed(&[(1.0, 5.0), (2.0, 9.0), (3.0, 12.0)]).is_some());
    }
}
