//! What the measurements say before any fit (calibration.md §3, "Reject or flag"), a seed from
//! the operational laws, and checks of a finished fit.

use super::measured::{LoadKind, Point, Role};
use super::params::{Form, FreeParam};
use super::{fmt_num, Problem};

fn closed_sorted(points: &[Point]) -> Vec<&Point> {
    let mut v: Vec<&Point> = points
        .iter()
        .filter(|p| p.kind == LoadKind::Closed)
        .collect();
    v.sort_by(|a, b| a.load.total_cmp(&b.load));
    v
}

/// Warnings about the data itself. `cores` gives the cores of the resource a measured
/// `util.`/`cpu_s.` column names, when the model says.
pub fn before_fit(
    points: &[Point],
    params: &[FreeParam],
    cores: &dyn Fn(&str) -> Option<f64>,
) -> Vec<String> {
    let mut w = Vec::new();
    let closed = closed_sorted(points);
    let has_contention = params.iter().any(|p| {
        let last = p.path.rsplit('.').next().unwrap_or("");
        matches!(last, "sigma" | "kappa" | "alpha") || p.path.contains("contention")
    });
    let fits_usl = params.iter().any(|p| {
        let last = p.path.rsplit('.').next().unwrap_or("");
        matches!(last, "sigma" | "kappa")
    });
    if let Some(u) = usl_regression(points).filter(|u| fits_usl && u.clamped) {
        w.push(format!(
            "Gunther's regression on throughput against users gives a negative σ or κ, an \
             artefact of the data (noise, or Z > 0); its seed is clamped to σ = {}, κ = {}",
            fmt_num(u.sigma),
            fmt_num(u.kappa)
        ));
    }
    for pair in closed.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let cycle = |p: &Point| p.load / p.throughput;
        // 3 % slack: measurement noise, not a trend.
        if b.lat_mean < a.lat_mean * 0.97 || cycle(b) < cycle(a) * 0.97 {
            w.push(format!(
                "contradicts every fixed-demand model: from {} to {} users the response time goes \
                 {} → {} s and the cycle time N/X {} → {} s; both must rise with load when each \
                 station's speed per job falls with the jobs present (warm-up, unequal windows, \
                 errors or a saturated client?)",
                fmt_num(a.load),
                fmt_num(b.load),
                fmt_num(a.lat_mean),
                fmt_num(b.lat_mean),
                fmt_num(cycle(a)),
                fmt_num(cycle(b))
            ));
        }
        if b.throughput < a.throughput * 0.97 {
            w.push(format!(
                "throughput falls from {} to {} req/s between {} and {} users: only a retrograde \
                 (load-dependent) station fits this{}",
                fmt_num(a.throughput),
                fmt_num(b.throughput),
                fmt_num(a.load),
                fmt_num(b.load),
                if has_contention {
                    ""
                } else {
                    "; no fitted parameter is a contention parameter (sigma, kappa, alpha)"
                }
            ));
        }
    }
    for p in points {
        for (n, u) in &p.util {
            if *u > 1.0 {
                w.push(format!(
                    "load {}: util.{n} = {} is above 1: utilization is a busy fraction of all the resource's cores",
                    fmt_num(p.load),
                    fmt_num(*u)
                ));
            }
        }
        if p.kind == LoadKind::Closed && p.throughput * p.lat_mean > 1.05 * p.load {
            w.push(format!(
                "load {}: violates Little's law: {} users can complete at most N/R = {} requests/s at a mean latency of {} s, but {} were measured (the load, the latency and the throughput cannot all describe one closed test)",
                fmt_num(p.load),
                fmt_num(p.load),
                fmt_num(p.load / p.lat_mean),
                fmt_num(p.lat_mean),
                fmt_num(p.throughput)
            ));
        }
        if let Some(e) = p.error_rate.filter(|e| *e > 0.01) {
            w.push(format!(
                "load {}: error rate {:.2} % is above 1 %: fast failures lower the mean latency, so \
                 this point biases the fit",
                fmt_num(p.load),
                100.0 * e
            ));
        }
        if let (LoadKind::Closed, Some(z)) = (p.kind, p.think) {
            let eff = p.load / p.throughput - p.lat_mean;
            if (eff - z).abs() > 0.1 * (z + p.lat_mean) {
                w.push(format!(
                    "load {}: the effective think time N/X − R = {} s differs from think_s = {} s: \
                     client overhead, a saturated client, or a window that is not steady",
                    fmt_num(p.load),
                    fmt_num(eff),
                    fmt_num(z)
                ));
            }
        }
        if let Some(d) = p.dropped.filter(|d| *d > 0.0) {
            w.push(format!(
                "load {}: {} iterations were dropped: the load generator could not start the \
                 arrivals asked for, so the offered load is not the measured one",
                fmt_num(p.load),
                fmt_num(d)
            ));
        }
        // Operational bounds from the measured demands (cpu_s is D_k itself): R ≥ ΣD,
        // X ≤ N/(ΣD + Z) and X ≤ c_k/D_k, each with 3 % slack for noise.
        let sum_d: f64 = p.cpu_s.iter().map(|(_, d)| d).sum();
        if sum_d > 0.0 && p.lat_mean < 0.97 * sum_d {
            w.push(format!(
                "load {}: the mean latency {} s is below the measured demand per request ΣD = {} \
                 s: a request cannot finish faster than its own work (bounds broken)",
                fmt_num(p.load),
                fmt_num(p.lat_mean),
                fmt_num(sum_d)
            ));
        }
        if let (LoadKind::Closed, Some(z), true) = (p.kind, p.think, sum_d > 0.0) {
            let bound = p.load / (sum_d + z);
            if p.throughput > 1.03 * bound {
                w.push(format!(
                    "load {}: throughput {} req/s is above the bound N/(ΣD + Z) = {} req/s \
                     (bounds broken)",
                    fmt_num(p.load),
                    fmt_num(p.throughput),
                    fmt_num(bound)
                ));
            }
        }
        for (n, d) in &p.cpu_s {
            if let Some(c) = cores(n).filter(|c| *c > 0.0) {
                if p.throughput > 1.03 * c / d {
                    w.push(format!(
                        "load {}: throughput {} req/s is above c/D = {} req/s for cpu_s.{n} \
                         ({} cores at {} core-s per request): bounds broken",
                        fmt_num(p.load),
                        fmt_num(p.throughput),
                        fmt_num(c / d),
                        fmt_num(c),
                        fmt_num(*d)
                    ));
                }
            }
        }
        if let Some((vus, rate, dur)) = p.iterations {
            let n = rate * dur;
            if (n - vus).abs() > 0.1 * vus {
                w.push(format!(
                    "load {}: Little's law check fails: iterations.rate × iteration_duration.avg = \
                     {} but {} VUs ran (ramps or a run that was not steady)",
                    fmt_num(p.load),
                    fmt_num(n),
                    fmt_num(vus)
                ));
            }
        }
    }
    // The effective think time N/X − R changing between levels when no think_s says what it
    // should be: client overhead or a saturated client (calibration.md §3, item 5).
    let eff: Vec<(f64, f64, f64)> = closed
        .iter()
        .filter(|p| p.think.is_none())
        .map(|p| {
            (
                p.load,
                p.load / p.throughput - p.lat_mean,
                p.load / p.throughput,
            )
        })
        .collect();
    if eff.len() >= 2 {
        let lo = eff
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(&eff[0]);
        let hi = eff
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(&eff[0]);
        let cycle = eff.iter().map(|e| e.2).fold(0.0, f64::max);
        if hi.1 - lo.1 > 0.1 * cycle {
            w.push(format!(
                "the effective think time N/X − R changes between levels: {} s at {} users, {} s \
                 at {} users: client overhead or a saturated client (give think_s if it is known)",
                fmt_num(lo.1),
                fmt_num(lo.0),
                fmt_num(hi.1),
                fmt_num(hi.0)
            ));
        }
    }
    // Demand per request drifting across levels, from CPU per request (D itself) or from a
    // utilization (D = c·U/X, where c cancels): a load-dependent station or background work.
    for per_request in [true, false] {
        let cols = |p: &Point| -> Vec<(String, f64)> {
            if per_request {
                p.cpu_s.clone()
            } else {
                p.util
                    .iter()
                    .map(|(n, u)| (n.clone(), u / p.throughput))
                    .collect()
            }
        };
        let mut names: Vec<String> = Vec::new();
        for p in points {
            for (n, _) in cols(p) {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        for n in names {
            let vals: Vec<f64> = closed
                .iter()
                .filter_map(|p| cols(p).into_iter().find(|(c, _)| *c == n).map(|c| c.1))
                .collect();
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vals.iter().copied().fold(0.0, f64::max);
            if vals.len() >= 2 && hi > 1.2 * lo {
                w.push(if per_request {
                    format!(
                        "cpu_s.{n} drifts from {} to {} core-s per request across load levels: a \
                         load-dependent station (contention that burns CPU) or background work",
                        fmt_num(lo),
                        fmt_num(hi)
                    )
                } else {
                    format!(
                        "util.{n} / throughput drifts by a factor {} across load levels, so the \
                         demand D = c·U/X is not constant: a load-dependent station (contention \
                         that burns CPU) or background work",
                        fmt_num(hi / lo)
                    )
                });
            }
        }
    }
    w
}

/// Seeds from the operational laws: a distribution parameter of a component whose CPU per
/// request (cpu_s) or utilization was measured is scaled by measured ÷ simulated demand at the
/// current values (utilization law, D = U·c/X); σ and κ from Gunther's regression on closed
/// points (usable only when the station dominates and think time is 0, hence only a seed).
pub fn operational_seed(problem: &Problem, fit: &[Point]) -> Option<Vec<f64>> {
    let theta0: Vec<f64> = problem.params.iter().map(|p| p.initial).collect();
    let mut seed = theta0.clone();
    let mut changed = false;
    let needs_sim = problem
        .params
        .iter()
        .any(|p| matches!(p.form, Form::Dist(_) | Form::Scale(_)));
    if needs_sim {
        if let Ok(preds) = problem.predict(&theta0, fit) {
            for (k, p) in problem.params.iter().enumerate() {
                let owner = match &p.form {
                    Form::Dist(_) => component_of(&p.path),
                    Form::Scale(fields) => {
                        let owners: Vec<Option<String>> =
                            fields.iter().map(|(f, _)| component_of(f)).collect();
                        if owners.windows(2).all(|w| w[0] == w[1]) {
                            owners.into_iter().next().flatten()
                        } else {
                            None
                        }
                    }
                    Form::Number | Form::Count => continue,
                };
                let mut logs = Vec::new();
                for (pt, pr) in fit.iter().zip(&preds) {
                    for ((col, m), s) in pt.cpu_s.iter().zip(&pr.cpu_s) {
                        if owner.as_deref() == Some(problem.resource_of(col)) && *s > 0.0 {
                            logs.push((m / s).ln());
                        }
                    }
                    for ((col, m), s) in pt.util.iter().zip(&pr.util) {
                        if owner.as_deref() == Some(problem.resource_of(col)) && *s > 0.0 {
                            // Utilization is X·D/c: correct for the throughput mismatch too.
                            logs.push((m / s * pr.x / pt.throughput).ln());
                        }
                    }
                }
                if !logs.is_empty() {
                    let f = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
                    seed[k] = (theta0[k] * f).clamp(p.lo, p.hi);
                    changed = true;
                }
            }
        }
    }
    if let Some(u) = usl_regression(fit) {
        for (k, p) in problem.params.iter().enumerate() {
            match p.path.rsplit('.').next() {
                Some("sigma") => seed[k] = u.sigma.clamp(p.lo, p.hi),
                Some("kappa") => seed[k] = u.kappa.clamp(p.lo, p.hi),
                _ => continue,
            }
            changed = true;
        }
    }
    changed.then_some(seed)
}

/// `services.api....` → `service:api`, `databases.pg....` → `database:pg`, and so on.
fn component_of(path: &str) -> Option<String> {
    let mut it = path.split('.');
    let kind = match it.next()? {
        "services" => "service",
        "databases" => "database",
        "caches" => "cache",
        "hosts" => "host",
        _ => return None,
    };
    let name = it.next()?.split('[').next()?;
    Some(format!("{kind}:{name}"))
}

/// Gunther's regression (`analytic::usl_seed`): with C(N) = X(N)/X(1), y = N/C − 1 =
/// (σ+κ)x + κx² for x = N − 1, a least-squares quadratic through the origin constrained to
/// σ ∈ [0, 1), κ ≥ 0; X(1) is measured or estimated. `clamped` says the unconstrained fit was
/// negative (an artefact of the data): the seed is then clamped and a warning given.
pub fn usl_regression(points: &[Point]) -> Option<crate::analytic::UslSeed> {
    let xs: Vec<(f64, f64)> = closed_sorted(points)
        .iter()
        .map(|p| (p.load, p.throughput))
        .collect();
    crate::analytic::usl_seed(&xs)
}

/// After the fit: is the retrograde part pinned by the data?
pub fn after_fit(problem: &Problem, theta: &[f64]) -> Vec<String> {
    let mut w = Vec::new();
    let get = |name: &str| {
        problem
            .params
            .iter()
            .zip(theta)
            .find(|(p, _)| p.path.ends_with(name))
            .map(|(_, v)| *v)
    };
    if let (Some(kappa), sigma) = (get(".kappa"), get(".sigma").unwrap_or(0.0)) {
        let max_fit = problem
            .points
            .iter()
            .filter(|p| p.role == Role::Fit && p.kind == LoadKind::Closed)
            .map(|p| p.load)
            .fold(0.0, f64::max);
        if kappa > 0.0 {
            let peak = ((1.0 - sigma) / kappa).sqrt();
            if max_fit < peak {
                w.push(format!(
                    "the fitted USL peaks at N* = {} but the fit points stop at {}: κ is poorly \
                     pinned and predictions beyond the peak are unreliable; measure near N* and beyond",
                    fmt_num(peak),
                    fmt_num(max_fit)
                ));
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(n: f64, x: f64, r: f64) -> Point {
        Point {
            source: String::new(),
            kind: LoadKind::Closed,
            load: n,
            throughput: x,
            lat_mean: r,
            lat_p95: None,
            error_rate: None,
            think: Some(0.0),
            util: vec![],
            cpu_s: vec![],
            role: Role::Fit,
            iterations: None,
            dropped: None,
        }
    }

    #[test]
    fn regression_recovers_exact_usl() {
        let (s, k) = (0.05, 0.002);
        let pts: Vec<Point> = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
            .iter()
            .map(|&n: &f64| {
                let x = 100.0 * n / (1.0 + s * (n - 1.0) + k * n * (n - 1.0));
                closed(n, x, n / x)
            })
            .collect();
        let u = usl_regression(&pts).unwrap();
        assert!((u.sigma - s).abs() < 1e-9 && (u.kappa - k).abs() < 1e-12);
        assert!(!u.clamped);
        assert!(before_fit(&pts, &[], &|_| None)
            .iter()
            .any(|w| w.contains("throughput falls")));
    }

    #[test]
    fn falling_cycle_time_is_flagged() {
        let pts = vec![closed(1.0, 100.0, 0.010), closed(4.0, 500.0, 0.008)];
        let w = before_fit(&pts, &[], &|_| None);
        assert!(
            w.iter()
                .any(|w| w.contains("contradicts every fixed-demand model")),
            "{w:?}"
        );
        let fine = vec![closed(1.0, 100.0, 0.010), closed(4.0, 300.0, 0.0133)];
        assert!(before_fit(&fine, &[], &|_| None).is_empty());
    }

    /// Exact points of case A (calibration.md §2.1: c = min(n, 2), S = Z = 1) pass every check;
    /// each broken law is flagged.
    #[test]
    fn operational_bounds_drift_and_think_time_are_flagged() {
        let a = |n: f64, x: f64, r: f64| {
            let mut p = closed(n, x, r);
            p.think = Some(1.0);
            p.cpu_s = vec![("db".into(), 1.0)];
            p.util = vec![("db".into(), x / 2.0)];
            p
        };
        let cores = |_: &str| Some(2.0);
        let exact = vec![
            a(1.0, 0.5, 1.0),
            a(2.0, 1.0, 1.0),
            a(3.0, 24.0 / 17.0, 9.0 / 8.0),
            a(4.0, 1.7, 23.0 / 17.0),
        ];
        let w = before_fit(&exact, &[], &cores);
        assert!(w.is_empty(), "{w:?}");
        // X > c/D = 2 (and X > N/(D + Z)), R < D.
        let mut bad = exact.clone();
        bad[3].throughput = 2.5;
        bad[3].lat_mean = 0.5;
        bad[3].util = vec![];
        let w = before_fit(&bad, &[], &cores).join("\n");
        assert!(w.contains("c/D = 2"), "{w}");
        assert!(w.contains("N/(ΣD + Z)"), "{w}");
        assert!(w.contains("below the measured demand"), "{w}");
        // D = c·U/X drifting across levels.
        let mut drift = exact.clone();
        drift[3].util = vec![("db".into(), 0.85 * 1.5)];
        let w = before_fit(&drift, &[], &cores).join("\n");
        assert!(w.contains("util.db / throughput drifts"), "{w}");
        // Without think_s, N/X − R must stay put: 1 s, then 0.3 s.
        let mut z: Vec<Point> = exact.clone();
        for p in &mut z {
            p.think = None;
        }
        assert!(before_fit(&z, &[], &cores).is_empty());
        z[3].lat_mean = 4.0 / 1.7 - 0.3;
        let w = before_fit(&z, &[], &cores).join("\n");
        assert!(w.contains("effective think time N/X − R changes"), "{w}");
        // Dropped iterations.
        let mut d = exact.clone();
        d[0].dropped = Some(3.0);
        let w = before_fit(&d, &[], &cores).join("\n");
        assert!(w.contains("3 iterations were dropped"), "{w}");
    }
}
