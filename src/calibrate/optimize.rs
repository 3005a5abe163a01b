//! Nelder–Mead on an unconstrained space (the parameters' logistic coordinates), with the
//! standard coefficients (reflection 1, expansion 2, contraction ½, shrink ½). Written here
//! rather than taken from a crate because the loss is evaluated in parallel batches (the
//! initial simplex, the shrink step) and stops on the simulator's noise level, which the
//! general-purpose crates' solver loops do not expose.

pub struct Outcome {
    pub x: Vec<f64>,
    pub f: f64,
    pub evals: usize,
    pub iterations: usize,
}

/// Minimise `f` from `x0` with initial steps `step`. `batch` evaluates several points at once
/// (in parallel). Stops after `max_evals`, or when the simplex's loss spread is below `ftol`
/// and its size below `xtol`.
pub fn nelder_mead(
    batch: &mut dyn FnMut(&[Vec<f64>]) -> Vec<f64>,
    x0: &[f64],
    step: f64,
    max_evals: usize,
    ftol: f64,
    xtol: f64,
) -> Outcome {
    let n = x0.len();
    let mut pts: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step;
        pts.push(p);
    }
    let mut fs = batch(&pts);
    let mut evals = pts.len();
    let mut iterations = 0;
    let centroid = |pts: &[Vec<f64>], worst: usize| -> Vec<f64> {
        let mut c = vec![0.0; n];
        for (k, p) in pts.iter().enumerate() {
            if k != worst {
                for i in 0..n {
                    c[i] += p[i] / n as f64;
                }
            }
        }
        c
    };
    let along = |c: &[f64], w: &[f64], t: f64| -> Vec<f64> {
        c.iter().zip(w).map(|(c, w)| c + t * (w - c)).collect()
    };
    while evals < max_evals {
        iterations += 1;
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| fs[a].total_cmp(&fs[b]));
        let (best, worst, second) = (order[0], order[n], order[n - 1]);
        let size = pts
            .iter()
            .map(|p| {
                p.iter()
                    .zip(&pts[best])
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        if fs[worst] - fs[best] <= ftol && size <= xtol {
            break;
        }
        let c = centroid(&pts, worst);
        let xr = along(&c, &pts[worst], -1.0);
        let fr = batch(std::slice::from_ref(&xr))[0];
        evals += 1;
        if fr < fs[best] {
            let xe = along(&c, &pts[worst], -2.0);
            let fe = batch(std::slice::from_ref(&xe))[0];
            evals += 1;
            if fe < fr {
                (pts[worst], fs[worst]) = (xe, fe);
            } else {
                (pts[worst], fs[worst]) = (xr, fr);
            }
        } else if fr < fs[second] {
            (pts[worst], fs[worst]) = (xr, fr);
        } else {
            // Contract toward the better of the worst point and its reflection.
            let (toward, ft) = if fr < fs[worst] {
                (xr.clone(), fr)
            } else {
                (pts[worst].clone(), fs[worst])
            };
            let xc = along(&c, &toward, 0.5);
            let fc = batch(std::slice::from_ref(&xc))[0];
            evals += 1;
            if fc < ft {
                (pts[worst], fs[worst]) = (xc, fc);
            } else {
                // Shrink every point toward the best.
                let b = pts[best].clone();
                let idx: Vec<usize> = (0..=n).filter(|&k| k != best).collect();
                let moved: Vec<Vec<f64>> = idx.iter().map(|&k| along(&b, &pts[k], 0.5)).collect();
                let fm = batch(&moved);
                evals += moved.len();
                for ((k, p), f) in idx.into_iter().zip(moved).zip(fm) {
                    pts[k] = p;
                    fs[k] = f;
                }
            }
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| fs[a].total_cmp(&fs[b]))
        .unwrap_or(0);
    Outcome {
        x: pts[best].clone(),
        f: fs[best],
        evals,
        iterations,
    }
}

/// Solve the symmetric positive system (p ≤ a few dozen) by Gauss–Jordan with partial pivoting;
/// `None` when singular.
pub fn invert(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row = r.clone();
            row.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
            row
        })
        .collect();
    let scale = a
        .iter()
        .flat_map(|r| r.iter())
        .fold(0.0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let piv = (col..n).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))?;
        if m[piv][col].abs() <= 1e-13 * scale {
            return None;
        }
        m.swap(col, piv);
        let d = m[col][col];
        for v in m[col].iter_mut() {
            *v /= d;
        }
        let pivot = m[col].clone();
        for (r, row) in m.iter_mut().enumerate() {
            let f = row[col];
            if r != col && f != 0.0 {
                for (x, p) in row.iter_mut().zip(&pivot) {
                    *x -= f * p;
                }
            }
        }
    }
    Some(m.into_iter().map(|r| r[n..].to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let mut batch = |ps: &[Vec<f64>]| ps.iter().map(|p| rosen(p)).collect();
        let o = nelder_mead(&mut batch, &[-1.2, 1.0], 0.5, 2000, 1e-14, 1e-8);
        assert!(
            (o.x[0] - 1.0).abs() < 1e-3 && (o.x[1] - 1.0).abs() < 1e-3,
            "{:?}",
            o.x
        );
        assert!(o.evals <= 2000);
    }

    #[test]
    fn finds_a_shifted_quadratic_in_four_dimensions() {
        let c = [3.0, -2.0, 0.5, 10.0];
        let f = |x: &[f64]| {
            x.iter()
                .zip(c)
                .enumerate()
                .map(|(i, (x, c))| (i as f64 + 1.0) * (x - c).powi(2))
                .sum::<f64>()
        };
        let mut batch = |ps: &[Vec<f64>]| ps.iter().map(|p| f(p)).collect();
        let o = nelder_mead(&mut batch, &[0.0; 4], 1.0, 5000, 1e-16, 1e-9);
        for (x, c) in o.x.iter().zip(c) {
            assert!((x - c).abs() < 1e-3, "{:?}", o.x);
        }
    }

    #[test]
    fn inverts_and_detects_singular_matrices() {
        let a = vec![vec![4.0, 1.0], vec![1.0, 3.0]];
        let inv = invert(&a).unwrap();
        let det = 11.0;
        assert!((inv[0][0] - 3.0 / det).abs() < 1e-12 && (inv[0][1] + 1.0 / det).abs() < 1e-12);
        assert!(invert(&[vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
    }
}
