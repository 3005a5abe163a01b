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

/// Warnings about the data itself.
pub fn before_fit(points: &[Point], params: &[FreeParam]) -> Vec<String> {
    let mut w = Vec::new();
    let closed = closed_sorted(points);
    let has_contention = params.iter().any(|p| {
        let last = p.path.rsplit('.').next().unwrap_or("");
        matches!(last, "sigma" | "kappa" | "alpha") || p.path.contains("contention")
    });
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
    // CPU per request drifting across levels: a load-dependent station or background work.
    let mut names: Vec<&str> = Vec::new();
    for p in points {
        for (n, _) in &p.cpu_s {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    for n in names {
        let vals: Vec<(f64, f64)> = closed
            .iter()
            .filter_map(|p| {
                p.cpu_s
                    .iter()
                    .find(|(c, _)| c == n)
                    .map(|(_, v)| (p.load, *v))
            })
            .collect();
        let lo = vals.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
        let hi = vals.iter().map(|v| v.1).fold(0.0, f64::max);
        if vals.len() >= 2 && hi > 1.2 * lo {
            w.push(format!(
                "cpu_s.{n} drifts from {} to {} core-s per request across load levels: a \
                 load-dependent station (contention that burns CPU) or background work",
                fmt_num(lo),
                fmt_num(hi)
            ));
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
    if let Some((sigma, kappa)) = usl_regression(fit) {
        for (k, p) in problem.params.iter().enumerate() {
            match p.path.rsplit('.').next() {
                Some("sigma") => seed[k] = sigma.clamp(p.lo, p.hi),
                Some("kappa") => seed[k] = kappa.clamp(p.lo, p.hi),
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

/// Gunther's regression: with C(N) = X(N)/X(1), y = N/C − 1 = (σ+κ)x + κx² for x = N − 1,
/// fitted through the origin. Needs a measured N = 1.
pub fn usl_regression(points: &[Point]) -> Option<(f64, f64)> {
    let closed = closed_sorted(points);
    let x1 = closed.iter().find(|p| p.load == 1.0)?.throughput;
    let (mut sxx, mut sxx2, mut sx2x2, mut sxy, mut sx2y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut n = 0;
    for p in &closed {
        let x = p.load - 1.0;
        if x <= 0.0 {
            continue;
        }
        let y = p.load / (p.throughput / x1) - 1.0;
        sxx += x * x;
        sxx2 += x * x * x;
        sx2x2 += x * x * x * x;
        sxy += x * y;
        sx2y += x * x * y;
        n += 1;
    }
    if n < 2 {
        return None;
    }
    let det = sxx * sx2x2 - sxx2 * sxx2;
    if det.abs() < 1e-300 {
        return None;
    }
    let a = (sxy * sx2x2 - sx2y * sxx2) / det;
    let b = (sxx * sx2y - sxx2 * sxy) / det;
    let kappa = b.max(0.0);
    let sigma = (a - kappa).clamp(0.0, 0.99);
    Some((sigma, kappa))
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
        let (sigma, kappa) = usl_regression(&pts).unwrap();
        assert!((sigma - s).abs() < 1e-9 && (kappa - k).abs() < 1e-12);
        assert!(before_fit(&pts, &[])
            .iter()
            .any(|w| w.contains("throughput falls")));
    }

    #[test]
    fn falling_cycle_time_is_flagged() {
        let pts = vec![closed(1.0, 100.0, 0.010), closed(4.0, 500.0, 0.008)];
        let w = before_fit(&pts, &[]);
        assert!(
            w.iter()
                .any(|w| w.contains("contradicts every fixed-demand model")),
            "{w:?}"
        );
        let fine = vec![closed(1.0, 100.0, 0.010), closed(4.0, 300.0, 0.0133)];
        assert!(before_fit(&fine, &[]).is_empty());
    }
}
