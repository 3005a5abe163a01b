//! The total speed c(n) of a station with n jobs present (calibration.md §1). The completion
//! rate is μ(n) = c(n)/S.

/// Total speed of a station as a function of the number of jobs present.
#[derive(Clone, Debug, PartialEq)]
pub enum Capacity {
    /// A fixed-rate queue: c(n) = 1 for n ≥ 1.
    Fixed,
    /// c(n) = min(n, c); `c` may be fractional (processor sharing over fractional cores).
    MultiServer { c: f64 },
    /// Gunther's Universal Scalability Law: c(n) = n / (1 + σ(n−1) + κ·n(n−1)).
    Usl { sigma: f64, kappa: f64 },
    /// Demand inflated by concurrency: c(n) = min(n, c) / (1 + α(n−1) + β·n(n−1)). With β = 0
    /// this is S(n) = S0·(1 + α(n−1)); with c ≥ n it is the USL (σ = α, κ = β).
    Inflated { c: f64, alpha: f64, beta: f64 },
    /// Points (n, c(n)) of a measured curve, linearly interpolated, flat beyond the last point.
    /// The n are strictly increasing, all ≥ 1, and one of them is exactly 1.
    Table(Vec<(f64, f64)>),
}

impl Capacity {
    /// c(n), the total speed with n jobs present (0 for n = 0).
    pub fn at(&self, n: u32) -> f64 {
        if n == 0 {
            return 0.0;
        }
        let x = n as f64;
        match self {
            Capacity::Fixed => 1.0,
            Capacity::MultiServer { c } => x.min(*c),
            Capacity::Usl { sigma, kappa } => x / (1.0 + sigma * (x - 1.0) + kappa * x * (x - 1.0)),
            Capacity::Inflated { c, alpha, beta } => {
                x.min(*c) / (1.0 + alpha * (x - 1.0) + beta * x * (x - 1.0))
            }
            Capacity::Table(pts) => table_at(pts, x),
        }
    }

    /// Occupied servers min(n, c) where the form has servers (fixed-rate: c = 1, multi-server,
    /// inflated demand); `None` for the USL and tables, whose c(n) is a speed, not a server count.
    pub fn busy(&self, n: u32) -> Option<f64> {
        let x = n as f64;
        match self {
            Capacity::Fixed => Some(x.min(1.0)),
            Capacity::MultiServer { c } | Capacity::Inflated { c, .. } => Some(x.min(*c)),
            Capacity::Usl { .. } | Capacity::Table(_) => None,
        }
    }

    /// Checks that c(n) > 0 for every n ≥ 1: c > 0; σ ∈ [0, 1), κ ≥ 0; α, β ≥ 0; a table sorted
    /// by n, every n ≥ 1 with n = 1 present, every factor > 0. All numbers must be finite.
    pub fn validate(&self) -> Result<(), String> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number, got {v}"))
            }
        };
        match self {
            Capacity::Fixed => Ok(()),
            Capacity::MultiServer { c } => {
                finite("servers c", *c)?;
                if *c > 0.0 {
                    Ok(())
                } else {
                    Err(format!("servers c must be > 0, got {c}"))
                }
            }
            Capacity::Usl { sigma, kappa } => {
                finite("USL sigma", *sigma)?;
                finite("USL kappa", *kappa)?;
                if !(0.0..1.0).contains(sigma) {
                    return Err(format!("USL sigma must be in [0, 1), got {sigma}"));
                }
                if *kappa < 0.0 {
                    return Err(format!("USL kappa must be ≥ 0, got {kappa}"));
                }
                Ok(())
            }
            Capacity::Inflated { c, alpha, beta } => {
                finite("servers c", *c)?;
                finite("alpha", *alpha)?;
                finite("beta", *beta)?;
                if *c <= 0.0 {
                    return Err(format!("servers c must be > 0, got {c}"));
                }
                if *alpha < 0.0 {
                    return Err(format!("alpha must be ≥ 0, got {alpha}"));
                }
                if *beta < 0.0 {
                    return Err(format!("beta must be ≥ 0, got {beta}"));
                }
                Ok(())
            }
            Capacity::Table(pts) => {
                if pts.is_empty() {
                    return Err("capacity table is empty; it needs a point at n = 1".into());
                }
                for (i, &(n, f)) in pts.iter().enumerate() {
                    if !(n.is_finite() && f.is_finite()) {
                        return Err(format!(
                            "capacity table point {} ([{n}, {f}]) must be finite numbers",
                            i + 1
                        ));
                    }
                    if n < 1.0 {
                        return Err(format!(
                            "capacity table point {} has n = {n}; n must be ≥ 1",
                            i + 1
                        ));
                    }
                    if f <= 0.0 {
                        return Err(format!(
                            "capacity table point {} has factor {f}; factors must be > 0",
                            i + 1
                        ));
                    }
                    if i > 0 && n <= pts[i - 1].0 {
                        return Err(format!(
                            "capacity table point {} has n = {n}, not above the previous n = {}; \
                             points must be sorted by strictly increasing n",
                            i + 1,
                            pts[i - 1].0
                        ));
                    }
                }
                if pts[0].0 != 1.0 {
                    return Err(format!(
                        "capacity table must contain n = 1 (its first point is n = {})",
                        pts[0].0
                    ));
                }
                Ok(())
            }
        }
    }

    /// Some m such that c(n) = c(m) for every n ≥ m (not necessarily the smallest), or `None`
    /// when c(n) keeps changing (USL, inflated demand with α or β > 0).
    pub fn flat_from(&self) -> Option<u32> {
        let ceil = |c: f64| c.ceil().clamp(1.0, u32::MAX as f64) as u32;
        match self {
            Capacity::Fixed => Some(1),
            Capacity::MultiServer { c } => Some(ceil(*c)),
            Capacity::Inflated { c, alpha, beta } if *alpha == 0.0 && *beta == 0.0 => {
                Some(ceil(*c))
            }
            Capacity::Inflated { .. } | Capacity::Usl { .. } => None,
            Capacity::Table(pts) => Some(ceil(pts.last().map_or(1.0, |p| p.0))),
        }
    }

    /// lim c(n) as n → ∞: 0 when c(n) → 0 (USL with κ > 0, inflated demand with α or β > 0),
    /// infinity for c(n) = n.
    pub fn limit(&self) -> f64 {
        match self {
            Capacity::Fixed => 1.0,
            Capacity::MultiServer { c } => *c,
            Capacity::Usl { sigma, kappa } => {
                if *kappa > 0.0 {
                    0.0
                } else if *sigma > 0.0 {
                    1.0 / sigma
                } else {
                    f64::INFINITY
                }
            }
            Capacity::Inflated { c, alpha, beta } => {
                if *alpha > 0.0 || *beta > 0.0 {
                    0.0
                } else {
                    *c
                }
            }
            Capacity::Table(pts) => pts.last().map_or(1.0, |p| p.1),
        }
    }

    /// Whether c(n) is nondecreasing in n.
    pub fn nondecreasing(&self) -> bool {
        match self {
            Capacity::Fixed | Capacity::MultiServer { .. } => true,
            Capacity::Usl { kappa, .. } => *kappa == 0.0,
            Capacity::Inflated { alpha, beta, .. } => *alpha == 0.0 && *beta == 0.0,
            Capacity::Table(pts) => pts.windows(2).all(|w| w[1].1 >= w[0].1),
        }
    }
}

/// Linear interpolation of sorted points, flat beyond both ends.
fn table_at(pts: &[(f64, f64)], x: f64) -> f64 {
    let Some(&(n_last, f_last)) = pts.last() else {
        return 1.0;
    };
    if x >= n_last {
        return f_last;
    }
    let i = pts.partition_point(|p| p.0 <= x);
    if i == 0 {
        return pts[0].1;
    }
    let (n0, f0) = pts[i - 1];
    let (n1, f1) = pts[i];
    f0 + (x - n0) / (n1 - n0) * (f1 - f0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usl() -> Capacity {
        Capacity::Usl {
            sigma: 0.1,
            kappa: 0.01,
        }
    }

    /// calibration.md §1: USL(1/10, 1/100) at n = 1…10 and 20, as exact fractions.
    #[test]
    fn usl_values_match_reference_fractions() {
        let want = [
            1.0,
            25.0 / 14.0,
            50.0 / 21.0,
            200.0 / 71.0,
            25.0 / 8.0,
            10.0 / 3.0,
            350.0 / 101.0,
            400.0 / 113.0,
            25.0 / 7.0,
            25.0 / 7.0,
        ];
        let c = usl();
        for (i, w) in want.iter().enumerate() {
            let got = c.at(i as u32 + 1);
            assert!(
                (got - w).abs() <= 1e-14 * w,
                "n={} got {got} want {w}",
                i + 1
            );
        }
        assert!((c.at(20) - 200.0 / 67.0).abs() < 1e-14);
        assert_eq!(c.at(0), 0.0);
    }

    #[test]
    fn multi_server_with_fractional_c_is_min_n_c() {
        let c = Capacity::MultiServer { c: 2.5 };
        assert_eq!(
            (1..=5).map(|n| c.at(n)).collect::<Vec<_>>(),
            [1.0, 2.0, 2.5, 2.5, 2.5]
        );
        assert_eq!(c.busy(2), Some(2.0));
        assert_eq!(c.busy(7), Some(2.5));
        assert_eq!(c.flat_from(), Some(3));
        assert_eq!(Capacity::Fixed.at(9), 1.0);
        assert_eq!(Capacity::Fixed.busy(0), Some(0.0));
    }

    /// Inflated demand with c ≥ n is the USL with σ = α, κ = β (§1).
    #[test]
    fn inflated_with_many_servers_is_usl() {
        let inf = Capacity::Inflated {
            c: 1000.0,
            alpha: 0.1,
            beta: 0.01,
        };
        for n in 1..=50 {
            assert!((inf.at(n) - usl().at(n)).abs() < 1e-14);
        }
        let lin = Capacity::Inflated {
            c: 2.0,
            alpha: 0.1,
            beta: 0.0,
        };
        assert!((lin.at(3) - 2.0 / 1.2).abs() < 1e-15);
    }

    #[test]
    fn table_interpolates_and_is_flat_beyond_last_point() {
        let t = Capacity::Table(vec![(1.0, 1.0), (3.0, 2.0), (4.5, 1.5)]);
        t.validate().unwrap();
        assert_eq!(t.at(1), 1.0);
        assert_eq!(t.at(2), 1.5);
        assert_eq!(t.at(3), 2.0);
        assert!((t.at(4) - (2.0 - 0.5 / 1.5 * 1.0)).abs() < 1e-15);
        assert_eq!(t.at(5), 1.5);
        assert_eq!(t.at(500), 1.5);
        assert_eq!(t.flat_from(), Some(5));
        assert!(!t.nondecreasing());
        assert_eq!(t.busy(3), None);
    }

    #[test]
    fn validate_rejects_nonpositive_or_malformed_capacities() {
        let bad = [
            (Capacity::MultiServer { c: 0.0 }, "c must be > 0"),
            (Capacity::MultiServer { c: f64::NAN }, "finite"),
            (
                Capacity::Usl {
                    sigma: 1.0,
                    kappa: 0.0,
                },
                "sigma must be in [0, 1)",
            ),
            (
                Capacity::Usl {
                    sigma: -0.1,
                    kappa: 0.0,
                },
                "sigma",
            ),
            (
                Capacity::Usl {
                    sigma: 0.1,
                    kappa: -1e-3,
                },
                "kappa must be ≥ 0",
            ),
            (
                Capacity::Inflated {
                    c: 2.0,
                    alpha: -0.1,
                    beta: 0.0,
                },
                "alpha",
            ),
            (Capacity::Table(vec![]), "empty"),
            (Capacity::Table(vec![(2.0, 1.0)]), "must contain n = 1"),
            (Capacity::Table(vec![(1.0, 1.0), (1.0, 2.0)]), "sorted"),
            (Capacity::Table(vec![(1.0, 1.0), (2.0, 0.0)]), "> 0"),
            (Capacity::Table(vec![(0.5, 1.0), (1.0, 1.0)]), "≥ 1"),
        ];
        for (cap, want) in bad {
            let err = cap.validate().unwrap_err();
            assert!(err.contains(want), "{cap:?}: {err}");
        }
        for ok in [
            Capacity::Fixed,
            Capacity::MultiServer { c: 0.5 },
            usl(),
            Capacity::Table(vec![(1.0, 0.7)]),
        ] {
            ok.validate().unwrap();
        }
    }
}
