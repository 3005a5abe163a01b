//! Which parameter combinations a sweep runs: the full grid, N random picks, or a Latin
//! hypercube of N points. A point is a list of indices, one into each parameter's values.

use super::params::Param;
use crate::engine::stream;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Design {
    Grid,
    Random { n: usize },
    Lhs { n: usize },
}

impl Design {
    pub fn parse(s: &str) -> Result<Design> {
        let bad = || {
            Error::Usage(format!(
                "--design {s:?}: expected grid, random:N or lhs:N (N a positive integer)"
            ))
        };
        let count = |n: &str| n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad);
        match s.split_once(':') {
            None if s == "grid" => Ok(Design::Grid),
            Some(("random", n)) => Ok(Design::Random { n: count(n)? }),
            Some(("lhs", n)) => Ok(Design::Lhs { n: count(n)? }),
            _ => Err(bad()),
        }
    }
}

fn grid_size(params: &[Param]) -> usize {
    params
        .iter()
        .map(|p| p.values.len())
        .fold(1usize, |a, n| a.saturating_mul(n))
}

/// How many points `design` materialises before dropping repeats (saturating).
pub fn size(design: Design, params: &[Param]) -> usize {
    match design {
        Design::Grid => grid_size(params),
        Design::Random { n } => n.min(grid_size(params)),
        Design::Lhs { n } => n,
    }
}

/// Every combination, the last parameter varying fastest.
pub fn grid(params: &[Param]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for p in params {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..p.values.len()).map(move |i| {
                    let mut v = prefix.clone();
                    v.push(i);
                    v
                })
            })
            .collect();
    }
    out
}

/// The design's points, in a fixed order determined by `seed` alone. Random and LHS designs
/// drop repeated points (a small grid cannot hold N distinct ones).
pub fn points(design: Design, params: &[Param], seed: u64) -> Vec<Vec<usize>> {
    let mut rng = stream(seed, 0, "sweep:design");
    let lens: Vec<usize> = params.iter().map(|p| p.values.len()).collect();
    let raw: Vec<Vec<usize>> = match design {
        Design::Grid => return grid(params),
        Design::Random { n } => {
            let n = n.min(grid_size(params));
            let mut seen = BTreeSet::new();
            let mut out = Vec::new();
            // Redraw repeats until N distinct points (N is capped at the grid size).
            while out.len() < n {
                let p: Vec<usize> = lens.iter().map(|&l| rng.gen_range(0..l)).collect();
                if seen.insert(p.clone()) {
                    out.push(p);
                }
            }
            return out;
        }
        Design::Lhs { n } => {
            // Each parameter's range is cut into N strata; each stratum is used exactly once.
            let cols: Vec<Vec<usize>> = lens
                .iter()
                .map(|&l| {
                    let mut strata: Vec<usize> = (0..n).collect();
                    strata.shuffle(&mut rng);
                    strata
                        .into_iter()
                        .map(|s| {
                            let u: f64 = rng.gen();
                            (((s as f64 + u) / n as f64) * l as f64).floor() as usize
                        })
                        .map(|i| i.min(l - 1))
                        .collect()
                })
                .collect();
            (0..n)
                .map(|i| cols.iter().map(|c| c[i]).collect())
                .collect()
        }
    };
    let mut seen = BTreeSet::new();
    raw.into_iter().filter(|p| seen.insert(p.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::params::parse;

    fn params() -> Vec<Param> {
        vec![parse("a=1..10").unwrap(), parse("b=1..20").unwrap()]
    }

    #[test]
    fn grid_is_the_cartesian_product() {
        let p = vec![parse("a=1,2").unwrap(), parse("b=x,y,z").unwrap()];
        let g = points(Design::Grid, &p, 1);
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], vec![0, 0]);
        assert_eq!(g[1], vec![0, 1]);
        assert_eq!(g[5], vec![1, 2]);
    }

    #[test]
    fn random_is_distinct_seeded_and_capped() {
        let p = params();
        let a = points(Design::Random { n: 30 }, &p, 7);
        assert_eq!(a.len(), 30);
        assert_eq!(a, points(Design::Random { n: 30 }, &p, 7));
        assert_ne!(a, points(Design::Random { n: 30 }, &p, 8));
        let set: BTreeSet<_> = a.iter().collect();
        assert_eq!(set.len(), 30);
        assert_eq!(points(Design::Random { n: 999 }, &p, 7).len(), 200);
    }

    #[test]
    fn lhs_uses_every_stratum_of_every_parameter_once() {
        // With N equal to each parameter's number of values, every value appears exactly once.
        let p = vec![parse("a=1..10").unwrap(), parse("b=101..110").unwrap()];
        let pts = points(Design::Lhs { n: 10 }, &p, 3);
        assert_eq!(pts.len(), 10);
        for k in 0..2 {
            let mut col: Vec<usize> = pts.iter().map(|x| x[k]).collect();
            col.sort();
            assert_eq!(col, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn design_syntax() {
        assert_eq!(Design::parse("grid").unwrap(), Design::Grid);
        assert_eq!(Design::parse("lhs:12").unwrap(), Design::Lhs { n: 12 });
        for bad in ["", "lhs", "lhs:0", "random:x", "sobol:4"] {
            assert!(Design::parse(bad).is_err(), "{bad}");
        }
    }
}
