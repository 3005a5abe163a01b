//! Open stations with state-dependent rates (calibration.md §2.5): a birth–death chain with
//! birth rate λ and death rate c(n)/S. Also each station of an open product-form network, with
//! λ_k = V_k·λ.

use super::logspace::LogSum;
use super::Capacity;

/// Steady state of an open station.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenPoint {
    /// Mean number present, L = Σ n·p(n).
    pub l: f64,
    /// Mean response time, R = L/λ (S/c(1) at λ = 0).
    pub r: f64,
    /// Probability that the station is empty.
    pub p0: f64,
}

/// Terms are summed one by one up to this many states; past it the chain is reported as not
/// converging (only a capacity that keeps changing and is barely stable gets near it).
const MAX_STATES: u32 = 10_000_000;

/// Relative size below which the rest of a tail is dropped when c(n) is nondecreasing.
const TAIL_EPS: f64 = 1e-18;

/// The birth–death steady state of one station: arrivals at rate `lambda`, mean work `s` per
/// visit at unit speed, total speed `cap.at(n)`; with `n_cap`, the speed is held at c(n_cap) for
/// n ≥ n_cap (a pool or max_connections: at most n_cap in service, the rest wait).
///
/// p(n) ∝ w_n = ∏_{j≤n} λS/c(j). Where c is constant (c_m) from n = m on, the tail is summed
/// exactly: Σ_{n≥m} w_n = w_m/(1−ρ) and Σ_{n≥m} n·w_n = w_m(m/(1−ρ) + ρ/(1−ρ)²), ρ = λS/c_m.
/// Where c keeps growing (USL with κ = 0) terms are summed until the rest is below 1e-18 of the
/// total (a geometric bound, valid because c is nondecreasing).
///
/// Errors: bad numbers; no steady state when c(n) → 0 without a cap (USL with κ > 0, inflated
/// demand), or when ρ = λS/lim c(n) ≥ 1.
pub fn open_birth_death(
    lambda: f64,
    s: f64,
    cap: &Capacity,
    n_cap: Option<u32>,
) -> Result<OpenPoint, String> {
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(format!(
            "arrival rate λ must be a finite number ≥ 0 per second, got {lambda}"
        ));
    }
    if !(s.is_finite() && s > 0.0) {
        return Err(format!(
            "mean work S must be a finite number > 0 seconds, got {s}"
        ));
    }
    cap.validate()?;
    if n_cap == Some(0) {
        return Err("the concurrency cap must be ≥ 1".into());
    }
    let c = |n: u32| cap.at(n_cap.map_or(n, |k| n.min(k)));
    if lambda == 0.0 {
        return Ok(OpenPoint {
            l: 0.0,
            r: s / c(1),
            p0: 1.0,
        });
    }
    let (flat, limit) = match n_cap {
        Some(k) => (Some(cap.flat_from().map_or(k, |m| m.min(k))), c(k)),
        None => (cap.flat_from(), cap.limit()),
    };
    if limit == 0.0 {
        return Err(format!(
            "no steady state: the station's speed c(n) falls to 0 as n grows ({cap:?}), so the \
             queue grows without bound for any λ > 0; cap the concurrency (a pool or \
             max_connections) to hold c flat beyond the cap"
        ));
    }
    let rho_inf = lambda * s / limit;
    if rho_inf >= 1.0 {
        return Err(format!(
            "no steady state: λ·S = {} is not below the station's limiting speed {limit} \
             (ρ = {rho_inf} ≥ 1)",
            lambda * s
        ));
    }
    let nondecreasing = cap.nondecreasing();
    let ln_a = (lambda * s).ln();
    let mut sum_w = LogSum::new(); // ln Σ w_n
    let mut sum_nw = LogSum::new(); // ln Σ n·w_n
    sum_w.push(0.0);
    let mut lw = 0.0;
    let mut n = 1u32;
    loop {
        let cn = c(n);
        lw += ln_a - cn.ln();
        if flat == Some(n) {
            let rho = lambda * s / cn;
            let m = n as f64;
            sum_w.push(lw - (1.0 - rho).ln());
            sum_nw.push(lw + (m / (1.0 - rho) + rho / ((1.0 - rho) * (1.0 - rho))).ln());
            break;
        }
        sum_w.push(lw);
        sum_nw.push(lw + (n as f64).ln());
        if nondecreasing {
            // later ratios are ≤ r = λS/c(n+1): the rest is at most w_n·r/(1−r) and
            // Σ_{i>n} i·w_i ≤ w_n(n·r/(1−r) + r/(1−r)²)
            let r = lambda * s / c(n + 1);
            if r < 1.0 {
                let rest_w = lw + (r / (1.0 - r)).ln();
                let rest_nw = lw + (n as f64 * r / (1.0 - r) + r / ((1.0 - r) * (1.0 - r))).ln();
                if rest_w < sum_w.ln() + TAIL_EPS.ln() && rest_nw < sum_nw.ln() + TAIL_EPS.ln() {
                    break;
                }
            }
        }
        if n >= MAX_STATES {
            return Err(format!(
                "the birth–death sums did not converge within {MAX_STATES} states (ρ = {rho_inf})"
            ));
        }
        n += 1;
    }
    let l = (sum_nw.ln() - sum_w.ln()).exp();
    Ok(OpenPoint {
        l,
        r: l / lambda,
        p0: (-sum_w.ln()).exp(),
    })
}

/// Mean response time per class of jobs sharing one processor-sharing host with `cores` cores,
/// each job served at speed min(1, cores/n) with n jobs present (class k: Poisson arrivals at
/// `lambdas[k]`, mean work `sizes[k]` at unit speed, any distribution).
///
/// This is a symmetric queue (Kelly), hence insensitive: the class configuration has the product
/// form π(n₁…n_K) ∝ (n!/∏n_k!)·∏ρ_k^{n_k} / ∏_{j≤n} min(j, cores) with ρ_k = λ_k·S_k, so the
/// total count is the birth–death chain of [`open_birth_death`] with λ = Σλ_k, S̄ = ρ/λ,
/// ρ = Σρ_k, c(n) = min(n, cores); given n the classes are multinomial with weights ρ_k/ρ, so
/// E[N_k] = (ρ_k/ρ)·E[N], and by Little R_k = E[N_k]/λ_k = S_k·E[N]/ρ.
/// One core: R_k = S_k/(1−ρ). One class: the M/M/c mean response.
pub fn open_ps_host(lambdas: &[f64], sizes: &[f64], cores: f64) -> Result<Vec<f64>, String> {
    if lambdas.is_empty() || lambdas.len() != sizes.len() {
        return Err(format!(
            "a shared host needs one arrival rate per job size and at least one class; got {} \
             rates and {} sizes",
            lambdas.len(),
            sizes.len()
        ));
    }
    for (k, (&l, &sz)) in lambdas.iter().zip(sizes).enumerate() {
        if !(l.is_finite() && l >= 0.0) {
            return Err(format!(
                "class {}: arrival rate must be a finite number ≥ 0 per second, got {l}",
                k + 1
            ));
        }
        if !(sz.is_finite() && sz > 0.0) {
            return Err(format!(
                "class {}: job size must be a finite number > 0 seconds, got {sz}",
                k + 1
            ));
        }
    }
    if !(cores.is_finite() && cores > 0.0) {
        return Err(format!("cores must be a finite number > 0, got {cores}"));
    }
    let lambda: f64 = lambdas.iter().sum();
    let rho: f64 = lambdas.iter().zip(sizes).map(|(l, s)| l * s).sum();
    if lambda == 0.0 || rho == 0.0 {
        // an arrival to an empty host runs at speed min(1, cores)
        return Ok(sizes.iter().map(|s| s / cores.min(1.0)).collect());
    }
    let total = open_birth_death(
        lambda,
        rho / lambda,
        &Capacity::MultiServer { c: cores },
        None,
    )
    .map_err(|e| format!("shared host with {cores} cores: {e}"))?;
    Ok(sizes.iter().map(|s| s * total.l / rho).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    /// Erlang C mean response of M/M/c (independent closed form).
    fn mmc_response(lambda: f64, s: f64, c: u32) -> f64 {
        let a = lambda * s;
        let rho = a / c as f64;
        let mut term = 1.0;
        let mut sum = 1.0; // Σ_{k<c} a^k/k!
        for k in 1..c {
            term *= a / k as f64;
            sum += term;
        }
        let last = term * a / c as f64 / (1.0 - rho); // a^c/c! · 1/(1−ρ)
        let p_wait = last / (sum + last);
        s + p_wait * s / (c as f64 * (1.0 - rho))
    }

    /// §2.5: M/M/2, λ = 1.5, S = 1: p(0) = 1/7, L = 24/7, R = 16/7.
    #[test]
    fn mm2_matches_reference() {
        let p = open_birth_death(1.5, 1.0, &Capacity::MultiServer { c: 2.0 }, None).unwrap();
        assert!(close(p.p0, 1.0 / 7.0, 1e-12), "{p:?}");
        assert!(close(p.l, 24.0 / 7.0, 1e-12), "{p:?}");
        assert!(close(p.r, 16.0 / 7.0, 1e-12), "{p:?}");
    }

    /// §2.5: USL(0.1, 0.01) capped at n = 10, S = 1.
    #[test]
    fn capped_usl_matches_reference_table() {
        let cap = Capacity::Usl {
            sigma: 0.1,
            kappa: 0.01,
        };
        for (lambda, l, r) in [
            (1.0, 1.1537466441, 1.1537466441),
            (2.0, 2.8965919996, 1.4482959998),
            (3.0, 7.7951158240, 2.5983719413),
        ] {
            let p = open_birth_death(lambda, 1.0, &cap, Some(10)).unwrap();
            assert!((p.l - l).abs() < 1e-9, "λ={lambda}: {p:?}");
            assert!((p.r - r).abs() < 1e-9, "λ={lambda}: {p:?}");
        }
        // c(10) = 25/7: stable only for λ < 25/7
        assert!(open_birth_death(3.6, 1.0, &cap, Some(10)).is_err());
    }

    /// M/M/1 and M/M/c against their closed forms, fractional-free and fractional servers, with
    /// a multi-server's exact geometric tail and a large c that stops early.
    #[test]
    fn multi_server_matches_erlang_c() {
        for (lambda, s, c) in [
            (0.5, 1.0, 1),
            (3.0, 0.5, 2),
            (7.0, 1.0, 8),
            (30.0, 1.0, 1000),
        ] {
            let p =
                open_birth_death(lambda, s, &Capacity::MultiServer { c: c as f64 }, None).unwrap();
            let want = mmc_response(lambda, s, c);
            assert!(
                close(p.r, want, 1e-12),
                "λ={lambda} c={c}: {} vs {want}",
                p.r
            );
            assert!(close(p.l, lambda * want, 1e-12));
        }
        let p = open_birth_death(0.8, 1.0, &Capacity::Fixed, None).unwrap();
        assert!(close(p.r, 1.0 / 0.2, 1e-12) && close(p.p0, 0.2, 1e-12));
        // c = 1.5: rates 1, 1.5, 1.5, …; by hand with ρ = λ/1.5 from n = 2 on
        let (lambda, rho) = (1.2, 0.8);
        let w1 = lambda;
        let total = 1.0 + w1 + w1 * rho / (1.0 - rho);
        let nw = w1 + w1 * rho * (2.0 / (1.0 - rho) + rho / ((1.0 - rho) * (1.0 - rho)));
        let p = open_birth_death(lambda, 1.0, &Capacity::MultiServer { c: 1.5 }, None).unwrap();
        assert!(
            close(p.p0, 1.0 / total, 1e-12) && close(p.l, nw / total, 1e-12),
            "{p:?}"
        );
    }

    /// c(n) = n (USL with σ = κ = 0) is an infinite-server station: Poisson, L = λS; and a
    /// growing c (σ > 0, κ = 0) summed with the tail bound agrees with the same capacity capped
    /// far out (exact tail).
    #[test]
    fn growing_capacity_sums_to_the_limit() {
        let is = Capacity::Usl {
            sigma: 0.0,
            kappa: 0.0,
        };
        let p = open_birth_death(40.0, 0.5, &is, None).unwrap();
        assert!(
            close(p.l, 20.0, 1e-12) && close(p.p0, (-20f64).exp(), 1e-10),
            "{p:?}"
        );
        assert!(close(p.r, 0.5, 1e-12));
        let grow = Capacity::Usl {
            sigma: 0.2,
            kappa: 0.0,
        };
        let a = open_birth_death(4.0, 1.0, &grow, None).unwrap();
        // c(2000) ≈ 4.99: capped so far out that the exact tail changes nothing visible
        let b = open_birth_death(4.0, 1.0, &grow, Some(2000)).unwrap();
        assert!(
            close(a.l, b.l, 1e-12) && close(a.p0, b.p0, 1e-12),
            "{a:?} {b:?}"
        );
        assert!(open_birth_death(5.0, 1.0, &grow, None).is_err());
    }

    /// A table is flat beyond its last point: its tail is geometric.
    #[test]
    fn table_tail_is_geometric() {
        let t = Capacity::Table(vec![(1.0, 1.0), (2.0, 2.0)]);
        let m = Capacity::MultiServer { c: 2.0 };
        let a = open_birth_death(1.5, 1.0, &t, None).unwrap();
        let b = open_birth_death(1.5, 1.0, &m, None).unwrap();
        assert!(close(a.l, b.l, 1e-13) && close(a.p0, b.p0, 1e-13));
    }

    #[test]
    fn no_steady_state_is_an_error() {
        let usl = Capacity::Usl {
            sigma: 0.1,
            kappa: 1e-4,
        };
        let e = open_birth_death(0.01, 1.0, &usl, None).unwrap_err();
        assert!(e.contains("falls to 0"), "{e}");
        let inf = Capacity::Inflated {
            c: 4.0,
            alpha: 0.1,
            beta: 0.0,
        };
        assert!(open_birth_death(0.01, 1.0, &inf, None).is_err());
        assert!(open_birth_death(0.01, 1.0, &inf, Some(30)).is_ok());
        let e = open_birth_death(2.0, 1.0, &Capacity::MultiServer { c: 2.0 }, None).unwrap_err();
        assert!(e.contains("ρ = 1"), "{e}");
        assert!(open_birth_death(-1.0, 1.0, &Capacity::Fixed, None).is_err());
        assert!(open_birth_death(1.0, 0.0, &Capacity::Fixed, None).is_err());
        assert!(open_birth_death(0.5, 1.0, &Capacity::Fixed, Some(0)).is_err());
        let p = open_birth_death(0.0, 2.0, &Capacity::MultiServer { c: 0.5 }, None).unwrap();
        assert_eq!((p.l, p.r, p.p0), (0.0, 4.0, 1.0));
    }

    /// Shared PS host: one core gives S_k/(1−ρ) per class; one class on two cores is M/M/2.
    #[test]
    fn shared_host_matches_processor_sharing_theory() {
        let r = open_ps_host(&[2.0, 1.0], &[0.1, 0.4], 1.0).unwrap();
        let rho = 2.0 * 0.1 + 1.0 * 0.4;
        assert!(close(r[0], 0.1 / (1.0 - rho), 1e-12), "{r:?}");
        assert!(close(r[1], 0.4 / (1.0 - rho), 1e-12), "{r:?}");
        let r = open_ps_host(&[1.5], &[1.0], 2.0).unwrap();
        assert!(close(r[0], mmc_response(1.5, 1.0, 2), 1e-12) && close(r[0], 16.0 / 7.0, 1e-12));
        // two classes on four cores: the total is M/M/4 with the mixed mean size, and
        // Little's law per class adds up to the total count
        let (l, s) = ([3.0, 5.0], [0.5, 0.2]);
        let r = open_ps_host(&l, &s, 4.0).unwrap();
        let lam = 8.0;
        let sbar = (1.5 + 1.0) / lam;
        let total = lam * mmc_response(lam, sbar, 4);
        assert!(close(l[0] * r[0] + l[1] * r[1], total, 1e-12));
        assert!(close(r[0] / r[1], 0.5 / 0.2, 1e-12));
        assert!(open_ps_host(&[1.0], &[1.0], 1.0).is_err());
        assert!(open_ps_host(&[1.0, 2.0], &[1.0], 2.0).is_err());
        assert_eq!(open_ps_host(&[0.0], &[0.3], 0.5).unwrap(), vec![0.6]);
    }
}
