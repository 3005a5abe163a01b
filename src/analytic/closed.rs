//! Closed single-class networks: a think time Z plus stations, solved exactly by convolution
//! (calibration.md §2.3) in log space.
//!
//! f₀(j) = Z^j/j! (the delay), f_k(j) = D_k^j / ∏_{i≤j} c_k(i), G = f₀ ⊛ … ⊛ f_K,
//! X(N) = G(N−1)/G(N), p_k(j | N) = f_k(j)·G₋ₖ(N−j)/G(N).

use super::logspace;
use super::Station;

/// One station's figures at population N.
#[derive(Clone, Debug, PartialEq)]
pub struct StationPoint {
    /// Mean number present (queued and in service), Q_k = Σ j·p_k(j | N).
    pub q: f64,
    /// Mean time per request at the station (all visits), Q_k/X.
    pub residence: f64,
    /// Mean occupied servers E[min(n, c)] (what a CPU monitor sees when contention burns CPU);
    /// `None` for the USL and tables, whose c(n) has no server count.
    pub busy: Option<f64>,
    /// Mean useful speed E[c(n)] (= X·D_k by the utilisation law).
    pub speed: f64,
    /// Probability that the station is empty, p_k(0 | N).
    pub idle: f64,
}

/// The network at population N.
#[derive(Clone, Debug, PartialEq)]
pub struct ClosedPoint {
    pub n: u32,
    /// Throughput X(N), requests per second.
    pub x: f64,
    /// Response time R(N) = N/X − Z.
    pub r: f64,
    /// Mean number thinking, X·Z.
    pub thinking: f64,
    /// Per station, in the order given.
    pub stations: Vec<StationPoint>,
}

fn check(z: f64, stations: &[Station]) -> Result<(), String> {
    if !(z.is_finite() && z >= 0.0) {
        return Err(format!(
            "think time Z must be a finite number ≥ 0 seconds, got {z}"
        ));
    }
    for (k, st) in stations.iter().enumerate() {
        st.validate(&format!("station {}", k + 1))?;
    }
    if z == 0.0 && stations.iter().all(|s| s.demand == 0.0) {
        return Err(
            "the think time and every station's demand are 0: no time is spent anywhere, so \
             throughput is unbounded"
                .into(),
        );
    }
    Ok(())
}

/// ln f(j) for j = 0..=n_max.
fn station_log_factor(st: &Station, n_max: u32) -> Vec<f64> {
    let ln_d = st.demand.ln();
    let mut out = Vec::with_capacity(n_max as usize + 1);
    let mut acc = 0.0;
    out.push(acc);
    for j in 1..=n_max {
        acc += ln_d - st.cap.at(j).ln();
        out.push(acc);
    }
    out
}

/// ln (Z^j / j!) for j = 0..=n_max.
fn delay_log_factor(z: f64, n_max: u32) -> Vec<f64> {
    let ln_z = z.ln();
    let mut out = Vec::with_capacity(n_max as usize + 1);
    let mut acc = 0.0;
    out.push(acc);
    for j in 1..=n_max {
        acc += ln_z - (j as f64).ln();
        out.push(acc);
    }
    out
}

/// Convolves `a` with station `st`'s factor (`lf`, or computed here when `None`). Where c(n) is
/// constant from n = m on, the factor is geometric beyond m and the convolution costs O(N·m)
/// (Buzen's recursion when m = 1); otherwise O(N²).
fn convolve_station(a: &[f64], st: &Station, lf: Option<&[f64]>, out: &mut [f64]) {
    let n_max = out.len() - 1;
    let flat = st
        .cap
        .flat_from()
        .map(|m| m as usize)
        .filter(|&m| m <= n_max);
    let need = flat.unwrap_or(n_max);
    let owned;
    let lf = match lf {
        Some(lf) => lf,
        None => {
            owned = station_log_factor(st, need as u32);
            &owned
        }
    };
    match flat {
        Some(m) => {
            let ln_r = st.demand.ln() - st.cap.at(m as u32).ln();
            logspace::convolve_flat_tail(a, &lf[..=m], ln_r, out)
        }
        None => logspace::convolve(a, lf, out),
    }
}

/// ln G(n) for n = 0..=n_max.
fn log_g(z: f64, stations: &[Station], n_max: u32) -> Vec<f64> {
    let mut g = delay_log_factor(z, n_max);
    let mut next = vec![0.0; g.len()];
    for st in stations {
        convolve_station(&g, st, None, &mut next);
        std::mem::swap(&mut g, &mut next);
    }
    g
}

/// Throughput X(N) for N = 1..=n_max only: the fast path for fitting (no per-station figures).
pub fn closed_x(z: f64, stations: &[Station], n_max: u32) -> Result<Vec<f64>, String> {
    check(z, stations)?;
    let g = log_g(z, stations, n_max);
    Ok(g.windows(2).map(|w| (w[0] - w[1]).exp()).collect())
}

/// ln G, and for each station its ln f_k and ln G₋ₖ, by prefix and suffix convolutions.
struct Solved {
    g: Vec<f64>,
    lf: Vec<Vec<f64>>,
    g_minus: Vec<Vec<f64>>,
}

fn solve(z: f64, stations: &[Station], n_max: u32) -> Solved {
    let len = n_max as usize + 1;
    let k = stations.len();
    let lf: Vec<Vec<f64>> = stations
        .iter()
        .map(|s| station_log_factor(s, n_max))
        .collect();
    // prefix[i] = delay ⊛ stations[0..i]
    let mut prefix = Vec::with_capacity(k + 1);
    prefix.push(delay_log_factor(z, n_max));
    for (i, st) in stations.iter().enumerate() {
        let mut out = vec![0.0; len];
        convolve_station(&prefix[i], st, Some(&lf[i]), &mut out);
        prefix.push(out);
    }
    // suffix[i] = stations[i..k] (suffix[k] = the identity), kept only while needed.
    let mut identity = vec![f64::NEG_INFINITY; len];
    identity[0] = 0.0;
    let mut g_minus = vec![Vec::new(); k];
    let mut suffix = identity;
    for i in (0..k).rev() {
        // G₋ᵢ = prefix[i] ⊛ suffix[i+1]
        g_minus[i] = if i + 1 == k {
            prefix[i].clone()
        } else {
            let mut out = vec![0.0; len];
            logspace::convolve(&prefix[i], &suffix, &mut out);
            out
        };
        if i > 0 {
            let mut out = vec![0.0; len];
            convolve_station(&suffix, &stations[i], Some(&lf[i]), &mut out);
            suffix = out;
        }
    }
    Solved {
        g: prefix.pop().unwrap_or_default(),
        lf,
        g_minus,
    }
}

/// Solves the closed network for N = 1..=n_max: think time `z` (plus any pure delays) and
/// `stations`. Exact for product form; stable for any N (log space).
pub fn closed(z: f64, stations: &[Station], n_max: u32) -> Result<Vec<ClosedPoint>, String> {
    check(z, stations)?;
    let sol = solve(z, stations, n_max);
    let len = n_max as usize + 1;
    let caps: Vec<Vec<f64>> = stations
        .iter()
        .map(|s| (0..len as u32).map(|j| s.cap.at(j)).collect())
        .collect();
    let busy: Vec<Option<Vec<f64>>> = stations
        .iter()
        .map(|s| {
            s.cap.busy(1)?;
            Some(
                (0..len as u32)
                    .map(|j| s.cap.busy(j).unwrap_or(0.0))
                    .collect(),
            )
        })
        .collect();
    let mut points = Vec::with_capacity(n_max as usize);
    for n in 1..len {
        let x = (sol.g[n - 1] - sol.g[n]).exp();
        let per_station = (0..stations.len())
            .map(|k| {
                let (mut q, mut speed, mut b, mut idle) = (0.0, 0.0, 0.0, 0.0);
                for j in 0..=n {
                    let p = (sol.lf[k][j] + sol.g_minus[k][n - j] - sol.g[n]).exp();
                    q += j as f64 * p;
                    speed += caps[k][j] * p;
                    if let Some(bk) = &busy[k] {
                        b += bk[j] * p;
                    }
                    if j == 0 {
                        idle = p;
                    }
                }
                StationPoint {
                    q,
                    residence: q / x,
                    busy: busy[k].as_ref().map(|_| b),
                    speed,
                    idle,
                }
            })
            .collect();
        points.push(ClosedPoint {
            n: n as u32,
            x,
            r: n as f64 / x - z,
            thinking: x * z,
            stations: per_station,
        });
    }
    Ok(points)
}

/// The marginal distributions p_k(j | N), j = 0..=N, of every station at population `n`.
pub fn marginals(z: f64, stations: &[Station], n: u32) -> Result<Vec<Vec<f64>>, String> {
    check(z, stations)?;
    let sol = solve(z, stations, n);
    let n = n as usize;
    Ok((0..stations.len())
        .map(|k| {
            (0..=n)
                .map(|j| (sol.lf[k][j] + sol.g_minus[k][n - j] - sol.g[n]).exp())
                .collect()
        })
        .collect())
}

/// Reiser–Lavenberg LD-MVA (calibration.md §2.2): X(N) for N = 1..=n_max. A cross-check only:
/// it computes p(0 | n) as 1 − Σ_{j≥1} p(j | n), which cancels catastrophically once p(0) is
/// tiny (a multi-server station near saturation). With S = 4, Z = 10, c = 8 (calibration.md
/// §2.2) p(0) is 3 % off at N = 40 and negative at N = 50, and R is negative by N = 80. Use
/// [`closed`] or [`closed_x`].
pub fn ld_mva(z: f64, stations: &[Station], n_max: u32) -> Result<Vec<f64>, String> {
    ld_mva_with_marginals(z, stations, n_max).map(|(xs, _)| xs)
}

/// LD-MVA's throughputs and its marginals p_k(j | n_max) (j = 0..=n_max) of every station.
fn ld_mva_with_marginals(
    z: f64,
    stations: &[Station],
    n_max: u32,
) -> Result<(Vec<f64>, Vec<Vec<f64>>), String> {
    check(z, stations)?;
    let len = n_max as usize + 1;
    let mut p: Vec<Vec<f64>> = stations
        .iter()
        .map(|_| {
            let mut v = vec![0.0; len];
            v[0] = 1.0;
            v
        })
        .collect();
    let mut q = vec![0.0; stations.len()];
    let mut res = vec![0.0; stations.len()];
    let mut xs = Vec::with_capacity(n_max as usize);
    for n in 1..len {
        for (k, st) in stations.iter().enumerate() {
            res[k] = if matches!(st.cap, super::Capacity::Fixed) {
                st.demand * (1.0 + q[k])
            } else {
                (1..=n)
                    .map(|j| j as f64 * st.demand / st.cap.at(j as u32) * p[k][j - 1])
                    .sum()
            };
        }
        let x = n as f64 / (z + res.iter().sum::<f64>());
        for (k, st) in stations.iter().enumerate() {
            q[k] = x * res[k];
            let pk = &mut p[k];
            for j in (1..=n).rev() {
                pk[j] = st.demand / st.cap.at(j as u32) * x * pk[j - 1];
            }
            pk[0] = 1.0 - pk[1..=n].iter().sum::<f64>();
        }
        xs.push(x);
    }
    Ok((xs, p))
}

/// The flow-equivalent server of a subnetwork (calibration.md §2.4): its throughput X_sub(n)
/// with the rest of the network shorted (Z = 0), for n = 1..=n_max.
pub fn flow_equivalent(stations: &[Station], n_max: u32) -> Result<Vec<f64>, String> {
    closed_x(0.0, stations, n_max)
}

/// The flow-equivalent server as one station: demand 1 and capacity c(n) = X_sub(n) as a table.
/// Replacing `stations` by it is exact for populations up to `n_max` (the table is flat beyond).
pub fn flow_equivalent_station(stations: &[Station], n_max: u32) -> Result<Station, String> {
    if n_max == 0 {
        return Err("the flow-equivalent server needs n_max ≥ 1".into());
    }
    let xs = flow_equivalent(stations, n_max)?;
    let table = xs
        .iter()
        .enumerate()
        .map(|(i, &x)| (i as f64 + 1.0, x))
        .collect();
    Ok(Station::new(1.0, super::Capacity::Table(table)))
}

/// ln Σ of a sequence of log terms (used by tests).
#[cfg(test)]
fn log_sum(ts: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = logspace::LogSum::new();
    ts.into_iter().for_each(|t| s.push(t));
    s.ln()
}

#[cfg(test)]
mod tests {
    use super::super::Capacity;
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64Mcg;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(f64::MIN_POSITIVE)
    }

    macro_rules! assert_close {
        ($got:expr, $want:expr, $rel:expr, $($ctx:tt)*) => {{
            let (g, w) = ($got, $want);
            assert!(close(g, w, $rel), "got {g}, want {w}: {}", format!($($ctx)*));
        }};
    }

    fn usl_b() -> Capacity {
        Capacity::Usl {
            sigma: 0.1,
            kappa: 0.01,
        }
    }

    /// §2.1 table A: c = min(n, 2), S = Z = 1: X, R, Q, p(0) as exact fractions.
    #[test]
    fn repairman_table_a_two_servers() {
        let st = [Station::new(1.0, Capacity::MultiServer { c: 2.0 })];
        let pts = closed(1.0, &st, 5).unwrap();
        let x = [1.0 / 2.0, 1.0, 24.0 / 17.0, 17.0 / 10.0, 200.0 / 107.0];
        let r = [1.0, 1.0, 9.0 / 8.0, 23.0 / 17.0, 67.0 / 40.0];
        let q = [1.0 / 2.0, 1.0, 27.0 / 17.0, 23.0 / 10.0, 335.0 / 107.0];
        let p0 = [1.0 / 2.0, 1.0 / 4.0, 2.0 / 17.0, 1.0 / 20.0, 2.0 / 107.0];
        for (i, p) in pts.iter().enumerate() {
            assert_eq!(p.n, i as u32 + 1);
            assert_close!(p.x, x[i], 1e-12, "X({})", p.n);
            assert_close!(p.r, r[i], 1e-12, "R({})", p.n);
            assert_close!(p.stations[0].q, q[i], 1e-12, "Q({})", p.n);
            assert_close!(p.stations[0].idle, p0[i], 1e-12, "p0({})", p.n);
            // X = (N − Q)/Z and X = Σ p(n)c(n)/S
            assert_close!(p.x, p.n as f64 - p.stations[0].q, 1e-12, "X=(N-Q)/Z");
            assert_close!(p.stations[0].speed, p.x, 1e-12, "E[c]=X·S");
            assert_close!(p.stations[0].busy.unwrap(), p.x, 1e-12, "busy=X·S");
            assert_close!(
                p.thinking + p.stations[0].q,
                p.n as f64,
                1e-12,
                "population"
            );
        }
    }

    /// §2.1 table B: USL(0.1, 0.01), S = Z = 1.
    #[test]
    fn repairman_table_b_usl() {
        let st = [Station::new(1.0, usl_b())];
        let pts = closed(1.0, &st, 5).unwrap();
        let x = [
            1.0 / 2.0,
            100.0 / 103.0,
            7725.0 / 5482.0,
            137050.0 / 75659.0,
            7565900.0 / 3479513.0,
        ];
        let r = [1.0, 53.0 / 50.0, 1.128932, 1.208216, 1.299471];
        for (i, p) in pts.iter().enumerate() {
            assert_close!(p.x, x[i], 1e-12, "X({})", p.n);
            // the fractions' R exactly; the decimals as printed (6 places)
            assert_close!(p.r, p.n as f64 / x[i] - 1.0, 1e-12, "R({})", p.n);
            assert!((p.r - r[i]).abs() < 5e-7, "R({}) = {}", p.n, p.r);
            assert_eq!(p.stations[0].busy, None);
        }
        assert_close!(pts[2].x, 1.409157, 1e-6, "decimal X(3)");
        assert_close!(pts[3].x, 1.811417, 1e-6, "decimal X(4)");
        assert_close!(pts[4].x, 2.174413, 1e-6, "decimal X(5)");
    }

    /// §2.1 table C: inflated demand min(n, 2)/(1 + 0.1(n−1)), S0 = Z = 1, with CPU-s per
    /// request E[min(n, 2)]/X.
    #[test]
    fn repairman_table_c_inflated_demand_and_cpu_per_request() {
        let st = [Station::new(
            1.0,
            Capacity::Inflated {
                c: 2.0,
                alpha: 0.1,
                beta: 0.0,
            },
        )];
        let pts = closed(1.0, &st, 5).unwrap();
        let x = [
            1.0 / 2.0,
            40.0 / 41.0,
            615.0 / 464.0,
            9280.0 / 6167.0,
            61670.0 / 40279.0,
        ];
        let cpu = [1.0, 1.05, 1.102439, 1.167457, 1.249522];
        for (i, p) in pts.iter().enumerate() {
            assert_close!(p.x, x[i], 1e-12, "X({})", p.n);
            let cpu_s = p.stations[0].busy.unwrap() / p.x;
            assert!((cpu_s - cpu[i]).abs() < 5e-7, "CPU-s({}) = {cpu_s}", p.n);
            // useful speed stays at S0 per request
            assert_close!(p.stations[0].speed / p.x, 1.0, 1e-12, "E[c]/X");
        }
    }

    /// §2.1 scaling: X(N; S, Z) = X(N; 1, Z/S)/S.
    #[test]
    fn throughput_scales_with_demand() {
        let s = 0.37;
        let a = closed_x(2.0, &[Station::new(s, usl_b())], 30).unwrap();
        let b = closed_x(2.0 / s, &[Station::new(1.0, usl_b())], 30).unwrap();
        for (n, (a, b)) in a.iter().zip(&b).enumerate() {
            assert_close!(*a, b / s, 1e-12, "N={}", n + 1);
        }
    }

    /// §2.1: with Z = 0 a lone station runs at c(N): X = c(N)/S.
    #[test]
    fn single_station_without_think_time_runs_at_c_of_n() {
        for cap in [
            Capacity::MultiServer { c: 3.5 },
            usl_b(),
            Capacity::Table(vec![(1.0, 1.0), (4.0, 3.0), (9.0, 2.0)]),
        ] {
            let s = 0.25;
            let pts = closed(0.0, &[Station::new(s, cap.clone())], 40).unwrap();
            for p in &pts {
                assert_close!(p.x, cap.at(p.n) / s, 1e-12, "{cap:?} N={}", p.n);
                assert_close!(p.r, p.n as f64 / p.x, 1e-12, "R");
                assert_close!(p.stations[0].q, p.n as f64, 1e-12, "Q");
            }
        }
    }

    fn section_2_3_network() -> Vec<Station> {
        vec![
            Station::new(0.5, Capacity::MultiServer { c: 2.0 }),
            Station::fixed(0.2),
            Station::new(0.3, usl_b()),
        ]
    }

    /// §2.3: delay Z = 2 + 2-server D = 1/2 + fixed 1/5 + USL D = 3/10:
    /// X(1) = 1/3, X(2) = 15000/22627; marginals agree with LD-MVA.
    #[test]
    fn convolution_example_and_marginals() {
        let st = section_2_3_network();
        let pts = closed(2.0, &st, 2).unwrap();
        assert_close!(pts[0].x, 1.0 / 3.0, 1e-13, "X(1)");
        assert_close!(pts[1].x, 15000.0 / 22627.0, 1e-13, "X(2)");
        for p in &pts {
            let total: f64 = p.thinking + p.stations.iter().map(|s| s.q).sum::<f64>();
            assert_close!(total, p.n as f64, 1e-13, "population");
            for (s, k) in p.stations.iter().zip(&st) {
                assert_close!(s.speed, p.x * k.demand, 1e-12, "utilisation law");
            }
        }
        // N = 1: each station holds the job with probability D_k/(Z + ΣD) = D_k·X(1)
        let m1 = marginals(2.0, &st, 1).unwrap();
        for (m, s) in m1.iter().zip(&st) {
            assert_close!(m[1], s.demand / 3.0, 1e-13, "p(1|1)");
            assert_close!(m[0] + m[1], 1.0, 1e-14, "sum");
        }
        // Marginals by hand at N = 2 for the fixed station: P(n ≥ j) = D^j G(N−j)/G(N), so
        // p(2|2) = D²·G(0)/G(2) = D²·X(1)X(2) and p(1|2) = D·X(2) − p(2|2) (fixed-rate station).
        let m2 = marginals(2.0, &st, 2).unwrap();
        let (x1, x2) = (pts[0].x, pts[1].x);
        assert_close!(m2[1][2], 0.04 * x1 * x2, 1e-12, "p_fixed(2|2)");
        assert_close!(m2[1][1], 0.2 * x2 - 0.04 * x1 * x2, 1e-12, "p_fixed(1|2)");
        // LD-MVA, marginals included, equal in exact arithmetic (§2.3); here in f64 at small N
        for n in [2u32, 8] {
            let (mva, mva_p) = ld_mva_with_marginals(2.0, &st, n).unwrap();
            let conv = marginals(2.0, &st, n).unwrap();
            assert_close!(
                mva[n as usize - 1],
                closed_x(2.0, &st, n).unwrap()[n as usize - 1],
                1e-13,
                "LD-MVA X({n})"
            );
            for (k, (a, b)) in conv.iter().zip(&mva_p).enumerate() {
                assert_close!(a.iter().sum::<f64>(), 1.0, 1e-13, "sum");
                for j in 0..=n as usize {
                    assert!(
                        (a[j] - b[j]).abs() < 1e-13,
                        "N={n} station {k} j={j}: {} vs {}",
                        a[j],
                        b[j]
                    );
                }
            }
        }
        assert_close!(ld_mva(2.0, &st, 2).unwrap()[1], x2, 1e-13, "LD-MVA X(2)");
    }

    /// LD-MVA agrees with convolution (the marginals it carries included) while p(0) is not tiny.
    #[test]
    fn ld_mva_agrees_with_convolution_at_moderate_load() {
        let st = section_2_3_network();
        let conv = closed_x(2.0, &st, 25).unwrap();
        let mva = ld_mva(2.0, &st, 25).unwrap();
        for (n, (a, b)) in conv.iter().zip(&mva).enumerate() {
            assert_close!(*b, *a, 1e-11, "N={}", n + 1);
        }
    }

    /// §2.2's instability case: S = 4, Z = 10, c = 8, N up to 120. Convolution agrees with the
    /// direct log-space product form of §2.1 (a separate computation) and with the saturation
    /// asymptote, while LD-MVA breaks.
    #[test]
    fn stable_where_ld_mva_breaks() {
        let (s, z, c) = (4.0, 10.0, 8.0);
        let st = [Station::new(s, Capacity::MultiServer { c })];
        let pts = closed(z, &st, 120).unwrap();
        // §2.1 directly: ln of Z^(N−n)/(N−n)! · S^n/∏ min(j, c), n = 0..=N
        let ln_terms = |big_n: u32| -> Vec<f64> {
            (0..=big_n)
                .map(|n| {
                    let think: f64 = (1..=big_n - n).map(|i| (z / i as f64).ln()).sum();
                    let serve: f64 = (1..=n).map(|j| (s / (j as f64).min(c)).ln()).sum();
                    think + serve
                })
                .collect()
        };
        let mut ln_g_prev = 0.0; // G(0) = 1
        for p in &pts {
            let t = ln_terms(p.n);
            let ln_g = log_sum(t.iter().copied());
            let x = (ln_g_prev - ln_g).exp();
            ln_g_prev = ln_g;
            assert_close!(p.x, x, 1e-12, "X({})", p.n);
            assert_close!(
                p.stations[0].idle,
                (t[0] - ln_g).exp(),
                1e-11,
                "p0({})",
                p.n
            );
            assert!(p.r >= s * (1.0 - 1e-12) && p.stations[0].idle > 0.0);
        }
        // §2.2's exact figures
        assert_close!(pts[39].stations[0].idle, 6.68e-8, 1e-3, "p0(40)");
        assert_close!(pts[49].stations[0].idle, 1.8e-11, 3e-2, "p0(50)");
        // deep saturation: X = c/S, R = N·S/c − Z up to terms of order p(n < c) ≈ 1e-26
        for n in [80usize, 120] {
            assert_close!(pts[n - 1].r, n as f64 * s / c - z, 1e-12, "R({n})");
        }
        // LD-MVA in f64 has lost it by N = 80 (§2.2: R = −106.8 instead of 30)
        let mva = ld_mva(z, &st, 80).unwrap();
        let r80 = 80.0 / mva[79] - z;
        assert!(
            r80.is_nan() || (r80 - 30.0).abs() > 1.0,
            "LD-MVA R(80) = {r80}"
        );
        assert_close!(mva[9], pts[9].x, 1e-12, "LD-MVA fine at N=10");
    }

    /// §2.4: fixed-rate stations D = 1/2 and 1/4: X_sub, and the FES in a network with Z = 1.
    #[test]
    fn flow_equivalent_server_is_exact() {
        let sub = [Station::fixed(0.5), Station::fixed(0.25)];
        let xs = flow_equivalent(&sub, 5).unwrap();
        let want = [
            4.0 / 3.0,
            12.0 / 7.0,
            28.0 / 15.0,
            60.0 / 31.0,
            124.0 / 63.0,
        ];
        for (n, (g, w)) in xs.iter().zip(want).enumerate() {
            assert_close!(*g, w, 1e-13, "X_sub({})", n + 1);
        }
        let full = closed_x(1.0, &sub, 5).unwrap();
        let fes = closed_x(1.0, &[flow_equivalent_station(&sub, 5).unwrap()], 5).unwrap();
        let want = [
            4.0 / 7.0,
            28.0 / 27.0,
            324.0 / 233.0,
            932.0 / 569.0,
            11380.0 / 6333.0,
        ];
        for n in 0..5 {
            assert_close!(full[n], want[n], 1e-13, "full X({})", n + 1);
            assert_close!(fes[n], want[n], 1e-13, "FES X({})", n + 1);
        }
        // with load-dependent members too
        let sub = section_2_3_network();
        let full = closed_x(2.0, &sub, 60).unwrap();
        let fes = closed_x(2.0, &[flow_equivalent_station(&sub, 60).unwrap()], 60).unwrap();
        for n in 0..60 {
            assert_close!(fes[n], full[n], 1e-11, "FES X({})", n + 1);
        }
    }

    #[test]
    fn bad_networks_are_errors_not_panics() {
        let e = closed(-1.0, &[Station::fixed(1.0)], 3).unwrap_err();
        assert!(e.contains("think time"), "{e}");
        let e = closed_x(1.0, &[Station::fixed(1.0), Station::fixed(f64::NAN)], 3).unwrap_err();
        assert!(e.starts_with("station 2: demand"), "{e}");
        let e = closed(
            1.0,
            &[Station::new(1.0, Capacity::MultiServer { c: 0.0 })],
            3,
        );
        assert!(e.unwrap_err().contains("station 1: servers c must be > 0"));
        let e = closed(0.0, &[Station::fixed(0.0)], 3).unwrap_err();
        assert!(e.contains("unbounded"), "{e}");
        assert!(closed(1.0, &[], 0).unwrap().is_empty());
        // a think time alone is an infinite-server network
        let x = closed_x(2.0, &[], 4).unwrap();
        for (n, x) in x.iter().enumerate() {
            assert_close!(*x, (n + 1) as f64 / 2.0, 1e-14, "N={}", n + 1);
        }
        assert!(flow_equivalent_station(&[Station::fixed(1.0)], 0).is_err());
    }

    fn random_capacity(rng: &mut Pcg64Mcg, monotone: bool) -> Capacity {
        match rng.gen_range(0..5) {
            0 => Capacity::Fixed,
            1 => Capacity::MultiServer {
                c: if rng.gen_bool(0.5) {
                    rng.gen_range(1..8) as f64
                } else {
                    rng.gen_range(0.3..8.0)
                },
            },
            2 => Capacity::Usl {
                sigma: rng.gen_range(0.0..0.5),
                kappa: if monotone {
                    0.0
                } else {
                    rng.gen_range(0.0..0.05)
                },
            },
            3 => Capacity::Inflated {
                c: rng.gen_range(0.5..6.0),
                alpha: if monotone {
                    0.0
                } else {
                    rng.gen_range(0.0..0.3)
                },
                beta: if monotone {
                    0.0
                } else {
                    rng.gen_range(0.0..0.02)
                },
            },
            _ => {
                // concave through the origin (so c(n)/n is nonincreasing): slopes nonincreasing,
                // the first no larger than c(1); nonnegative slopes when `monotone`
                let mut pts = vec![(1.0, rng.gen_range(0.3..3.0))];
                let mut slope: f64 = pts[0].1 * rng.gen_range(0.0..1.0);
                let mut n = 1.0;
                for _ in 0..rng.gen_range(0..5) {
                    n += rng.gen_range(1..6) as f64;
                    let prev = pts.last().unwrap();
                    let f = prev.1 + slope * (n - prev.0);
                    if f <= 0.05 {
                        break;
                    }
                    pts.push((n, f));
                    slope = if monotone {
                        slope * rng.gen_range(0.0..1.0)
                    } else {
                        slope - rng.gen_range(0.0..0.5)
                    };
                }
                Capacity::Table(pts)
            }
        }
    }

    fn random_network(rng: &mut Pcg64Mcg, monotone: bool) -> (f64, Vec<Station>) {
        let z = if rng.gen_bool(0.2) {
            0.0
        } else {
            rng.gen_range(0.0..5.0)
        };
        let k = rng.gen_range(1..=4);
        let st = (0..k)
            .map(|_| Station::new(rng.gen_range(0.01..2.0), random_capacity(rng, monotone)))
            .collect();
        (z, st)
    }

    /// §2.6 on random networks: X(N) nondecreasing when every c(n) is; R(N) and N/X
    /// nondecreasing when every c(n)/n is nonincreasing (all the generated forms, retrograde
    /// ones included). Also: the population adds up and agrees with the throughput-only path.
    #[test]
    fn property_monotonicity_on_random_networks() {
        let mut rng = Pcg64Mcg::seed_from_u64(0x5eed_2006);
        let n_max = 40;
        for case in 0..300 {
            let monotone = case % 2 == 0;
            let (z, st) = random_network(&mut rng, monotone);
            let pts = closed(z, &st, n_max).unwrap();
            let fast = closed_x(z, &st, n_max).unwrap();
            for w in pts.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                let ctx = || format!("case {case} Z={z} {st:?} N={}", b.n);
                if monotone {
                    assert!(b.x >= a.x * (1.0 - 1e-12), "X fell: {}", ctx());
                }
                assert!(b.r >= a.r - 1e-10 * b.r.abs().max(1.0), "R fell: {}", ctx());
                let (ca, cb) = (a.n as f64 / a.x, b.n as f64 / b.x);
                assert!(cb >= ca * (1.0 - 1e-12), "N/X fell: {}", ctx());
            }
            for (p, f) in pts.iter().zip(&fast) {
                assert_close!(p.x, *f, 1e-12, "fast path, case {case}");
                let total = p.thinking + p.stations.iter().map(|s| s.q).sum::<f64>();
                assert_close!(total, p.n as f64, 1e-10, "population, case {case}");
                assert_close!(
                    p.r,
                    p.stations.iter().map(|s| s.residence).sum::<f64>(),
                    1e-9,
                    "R = Σ residence, case {case}"
                );
                for (s, k) in p.stations.iter().zip(&st) {
                    assert_close!(
                        s.speed,
                        p.x * k.demand,
                        1e-9,
                        "utilisation law, case {case}"
                    );
                }
            }
        }
    }

    /// §1: the USL's peak N* = √((1−σ)/κ); the integer peak of X with Z = 0 is ⌊N*⌋ or ⌈N*⌉.
    #[test]
    fn usl_throughput_peaks_at_n_star() {
        for (sigma, kappa) in [(0.1, 0.01), (0.05, 0.002), (0.0, 0.001), (0.3, 0.0004)] {
            let n_star = super::super::usl_peak(sigma, kappa).unwrap();
            let xs = closed_x(
                0.0,
                &[Station::new(0.5, Capacity::Usl { sigma, kappa })],
                200,
            )
            .unwrap();
            let best = xs.iter().copied().fold(f64::MIN, f64::max);
            let (lo, hi) = (n_star.floor() as usize, n_star.ceil() as usize);
            assert!(
                xs[lo - 1] == best || xs[hi - 1] == best,
                "σ={sigma} κ={kappa}: N*={n_star}, max {best} not at {lo} or {hi}"
            );
            // strictly retrograde past the peak
            assert!(xs[hi + 1] < xs[hi] && xs[199] < xs[hi]);
        }
    }
}
