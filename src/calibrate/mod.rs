//! `surge calibrate`: fit free model parameters to measured load levels with the simulator
//! itself as the function (calibration.md §3), report how well the fit predicts levels it was
//! not fitted on, and write a calibrated overlay that `run`, `sweep` and `plan` take as is.
//!
//! - `measured.rs`: measured points (CSV, k6 summaries) and their load levels.
//! - `params.rs`: free parameters (`--set` paths, bounds, search coordinates).
//! - `optimize.rs`: Nelder–Mead and a small matrix inverse.
//! - `checks.rs`: what the data says before any fit (operational-law warnings).
//! - `output.rs`: calibration.json, points.csv, prediction.png and the overlay scenario.

mod chart;
mod checks;
pub mod measured;
pub mod optimize;
mod output;
pub mod params;
pub mod stream;
mod surrogate;

use crate::config::scenario::ExecutorCfg;
use crate::config::{self, Loaded};
use crate::error::{Error, Result};
use crate::sim::{self, RunOptions};
use measured::{LoadKind, Point, Role};
use params::FreeParam;
use rayon::prelude::*;
use std::path::PathBuf;

pub struct Args {
    pub scenario: PathBuf,
    pub measured: Vec<String>,
    pub fit: Vec<String>,
    pub holdout: Vec<f64>,
    pub out: Option<PathBuf>,
    pub replications: u64,
    pub seed: Option<u64>,
    pub jobs: Option<usize>,
    pub load_path: Option<String>,
    pub max_evals: usize,
    pub weights: Weights,
    pub sets: Vec<String>,
    pub progress: bool,
    /// The budget of each simulation (`--max-memory`, `--max-events`).
    pub budget: crate::config::budget::Budget,
}

/// Loss weights per term (calibration.md §3): throughput, mean latency, p95, utilization and
/// CPU-seconds per request.
#[derive(Clone, Copy, Debug)]
pub struct Weights {
    pub x: f64,
    pub r: f64,
    pub p95: f64,
    pub util: f64,
    pub cpu: f64,
}

impl Default for Weights {
    fn default() -> Self {
        // p95 is out of the loss unless asked for (`--weights p95=0.25`): percentiles depend on
        // the service-time shape as well as the demands, so they validate the fit (calibration.md
        // §3: fit means) and are reported beside it.
        Weights {
            x: 1.0,
            r: 1.0,
            p95: 0.0,
            util: 1.0,
            cpu: 1.0,
        }
    }
}

impl Weights {
    /// `x=1,r=1,p95=0.5,util=1,cpu=1` (any subset).
    pub fn parse(s: &str) -> Result<Weights> {
        let mut w = Weights::default();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "--weights {s:?}: expected NAME=VALUE pairs, e.g. x=1,r=1,p95=0.5"
                ))
            })?;
            let v: f64 = v
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "--weights {s:?}: {k} needs a number >= 0, found {v:?}"
                    ))
                })?;
            match k.trim() {
                "x" => w.x = v,
                "r" => w.r = v,
                "p95" => w.p95 = v,
                "util" => w.util = v,
                "cpu" => w.cpu = v,
                other => {
                    return Err(Error::Usage(format!(
                        "--weights: unknown term {other:?}; expected x, r, p95, util or cpu"
                    )))
                }
            }
        }
        Ok(w)
    }
}

/// What the simulator predicts at one point (means over replications).
#[derive(Clone, Debug, Default)]
pub struct Pred {
    pub x: f64,
    pub r: f64,
    pub p95: f64,
    pub error_rate: f64,
    /// Aligned with the point's `util` and `cpu_s` lists.
    pub util: Vec<f64>,
    pub cpu_s: Vec<f64>,
    /// Half-widths (95 %) of X and R over replications.
    pub x_half: f64,
    pub r_half: f64,
}

/// The most replications per point and loss evaluations a calibration runs.
const MAX_REPLICATIONS: u64 = 1_000;
const MAX_EVALS: usize = 1_000_000;

/// The problem: a base scenario, its measured points and how to set their load.
pub struct Problem {
    pub base: Loaded,
    pub points: Vec<Point>,
    pub params: Vec<FreeParam>,
    /// --set path of the load for closed and for open points, and the rate multiplier (timeUnit).
    load_closed: Option<String>,
    load_open: Option<(String, f64)>,
    pub seed: u64,
    pub replications: u64,
    pub weights: Weights,
    /// Resource name in the model for each distinct util./cpu_s. column name.
    resources: Vec<(String, String)>,
    /// The fixed `--set` overrides the fit was made under.
    pub sets: Vec<String>,
    /// The scenario's flows never sleep: Z = 0 at a closed point without `think_s`.
    scenario_zero_think: bool,
}

impl Problem {
    /// The `--set` overrides that put θ into the model.
    fn param_sets(&self, theta: &[f64]) -> Vec<String> {
        self.params
            .iter()
            .zip(theta)
            .flat_map(|(fp, v)| fp.render(*v))
            .map(|(path, v)| format!("{path}={}", value_text(&v)))
            .collect()
    }

    fn sets_for(&self, theta: &[f64], p: &Point) -> Vec<String> {
        let mut sets = self.param_sets(theta);
        match p.kind {
            LoadKind::Closed => {
                if let Some(path) = &self.load_closed {
                    sets.push(format!("{path}={}", p.load.round().max(1.0) as u64));
                }
            }
            LoadKind::Open => {
                if let Some((path, unit)) = &self.load_open {
                    sets.push(format!("{path}={}", p.load * unit));
                }
            }
        }
        sets
    }

    fn resource_of<'a>(&'a self, column: &'a str) -> &'a str {
        self.resources
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, r)| r.as_str())
            .unwrap_or(column)
    }

    /// Simulate every (point, replication) at θ; common random numbers: the seed of a
    /// (point, replication) is the same for every θ.
    pub fn predict(&self, theta: &[f64], points: &[Point]) -> Result<Vec<Pred>> {
        let tasks: Vec<(usize, u64)> = (0..points.len())
            .flat_map(|i| (0..self.replications).map(move |r| (i, r)))
            .collect();
        let runs: Vec<Result<RunOut>> = tasks
            .par_iter()
            .map(|&(i, rep)| self.simulate(theta, &points[i], rep))
            .collect();
        let mut by_point: Vec<Vec<RunOut>> = vec![Vec::new(); points.len()];
        for ((i, _), r) in tasks.iter().zip(runs) {
            by_point[*i].push(r?);
        }
        Ok(by_point
            .into_iter()
            .zip(points)
            .map(|(runs, p)| aggregate(&runs, p))
            .collect())
    }

    fn simulate(&self, theta: &[f64], p: &Point, rep: u64) -> Result<RunOut> {
        let l = self.base.with_sets(&self.sets_for(theta, p))?;
        let mut r = sim::try_run(
            &l,
            RunOptions {
                seed: self.seed,
                replication: rep,
            },
            &mut |_, _| {},
        )?;
        let secs = crate::engine::ns_to_secs(r.end).max(1e-9);
        let n = r.metrics.http.count();
        let usage = r.system.resource_usage(r.end);
        let find = |col: &str| {
            let want = self.resource_of(col);
            usage.iter().find(|(name, _, _)| name == want).cloned()
        };
        let util = p
            .util
            .iter()
            .map(|(c, _)| find(c).map(|u| u.1).unwrap_or(0.0))
            .collect();
        let cpu_s = p
            .cpu_s
            .iter()
            .map(|(c, _)| find(c).map(|u| u.2 / n.max(1) as f64).unwrap_or(0.0))
            .collect();
        Ok(RunOut {
            x: n as f64 / secs,
            r: r.metrics.http.avg_ms() / 1000.0,
            p95: r.metrics.http.percentile_ms(95.0) / 1000.0,
            err: if n > 0 {
                r.metrics.failed as f64 / n as f64
            } else {
                1.0
            },
            util,
            cpu_s,
        })
    }

    /// Weighted log residuals of the fit terms at `points` (calibration.md §3's loss is their
    /// sum of squares). With Z = 0, ln R = ln N − ln X, so X and R count half each.
    pub fn residuals(&self, preds: &[Pred], points: &[Point]) -> Vec<f64> {
        let mut out = Vec::new();
        let ln = |a: f64, b: f64| (a.max(1e-300)).ln() - b.ln();
        for (p, q) in points.iter().zip(preds) {
            // Z from the measurement, else from the scenario's own flows.
            let zero_think = match p.think {
                Some(z) => z == 0.0,
                None => self.scenario_zero_think,
            };
            let half = if p.kind == LoadKind::Closed && zero_think {
                0.5
            } else {
                1.0
            };
            let w = self.weights;
            out.push((w.x * half).sqrt() * ln(q.x, p.throughput));
            out.push((w.r * half).sqrt() * ln(q.r, p.lat_mean));
            if let (Some(m), true) = (p.lat_p95, w.p95 > 0.0) {
                out.push(w.p95.sqrt() * ln(q.p95, m));
            }
            for ((_, m), s) in p.util.iter().zip(&q.util) {
                out.push(w.util.sqrt() * ln(*s, *m));
            }
            for ((_, m), s) in p.cpu_s.iter().zip(&q.cpu_s) {
                out.push(w.cpu.sqrt() * ln(*s, *m));
            }
        }
        out
    }
}

pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Clone, Debug)]
struct RunOut {
    x: f64,
    r: f64,
    p95: f64,
    err: f64,
    util: Vec<f64>,
    cpu_s: Vec<f64>,
}

/// The mean of `xs` and the half-width of its 95 % confidence interval: Student t with n − 1
/// degrees of freedom (the replications are few, so the normal 1.96 is too narrow: at n = 3
/// the quantile is 4.30). 0 with fewer than two values.
fn mean_half(xs: &[f64]) -> (f64, f64) {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (m, 0.0);
    }
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .map(|d| d.inverse_cdf(0.975))
        .unwrap_or(f64::NAN);
    (m, t * (var / n).sqrt())
}

/// Think seconds of one pass over `steps` (sleeps, loops multiplied out).
fn flow_think(steps: &[crate::config::scenario::FlowStep]) -> f64 {
    use crate::config::scenario::FlowStep;
    steps
        .iter()
        .map(|s| match s {
            FlowStep::Request(_) => 0.0,
            FlowStep::Sleep(d) => d.mean_ns() / 1e9,
            FlowStep::Loop(l) => l.count as f64 * flow_think(&l.steps),
        })
        .sum()
}

fn aggregate(runs: &[RunOut], p: &Point) -> Pred {
    let col = |f: &dyn Fn(&RunOut) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
    let (x, x_half) = mean_half(&col(&|r| r.x));
    let (r, r_half) = mean_half(&col(&|r| r.r));
    Pred {
        x,
        r,
        p95: mean_half(&col(&|r| r.p95)).0,
        error_rate: mean_half(&col(&|r| r.err)).0,
        util: (0..p.util.len())
            .map(|k| mean_half(&col(&|r| r.util[k])).0)
            .collect(),
        cpu_s: (0..p.cpu_s.len())
            .map(|k| mean_half(&col(&|r| r.cpu_s[k])).0)
            .collect(),
        x_half,
        r_half,
    }
}

/// The --set path that sets a closed (VUs) or open (rate, and its timeUnit factor) load.
fn load_paths(base: &Loaded, given: Option<&str>) -> (Option<String>, Option<(String, f64)>) {
    if let Some(g) = given {
        return (Some(g.to_string()), Some((g.to_string(), 1.0)));
    }
    let execs = &base.scenario.scenarios;
    if execs.len() != 1 {
        return (None, None);
    }
    let (name, e) = execs.iter().next().expect("one executor");
    match e {
        ExecutorCfg::ConstantVus(_) => (Some(format!("scenarios.{name}.vus")), None),
        ExecutorCfg::ConstantArrivalRate(c) => (
            None,
            Some((format!("scenarios.{name}.rate"), c.time_unit.0 as f64 / 1e9)),
        ),
        ExecutorCfg::PoissonArrivals(c) => (
            None,
            Some((format!("scenarios.{name}.rate"), c.time_unit.0 as f64 / 1e9)),
        ),
        _ => (None, None),
    }
}

/// Match util./cpu_s. column names to the simulator's resources: an exact name
/// (`database:pg`, `host:box`) or a unique suffix (`pg`).
fn resolve_resources(
    base: &Loaded,
    points: &[Point],
    origins: &[PathBuf],
) -> Result<Vec<(String, String)>> {
    // In first-seen order; the set keeps a file of 20,000 `util.` columns from taking seconds
    // per row (each name searched among the names before it).
    let mut names: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in points {
        for (c, _) in p.util.iter().chain(&p.cpu_s) {
            if seen.insert(c.as_str()) {
                names.push(c.clone());
            }
        }
    }
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut sys = crate::system::System::build(&base.model, 0, 0)
        .map_err(|(f, m)| Error::input(&base.model_path, format!("field {f}"), m))?;
    let available: Vec<String> = sys.resource_usage(0).into_iter().map(|u| u.0).collect();
    names
        .into_iter()
        .map(|c| {
            let hits: Vec<&String> = available
                .iter()
                .filter(|a| *a == &c || a.ends_with(&format!(":{c}")))
                .collect();
            match hits.as_slice() {
                [one] => Ok((c.clone(), (*one).clone())),
                _ => {
                    // The first point that measures it, and its column's name there.
                    let (p, file) = points
                        .iter()
                        .zip(origins)
                        .find(|(p, _)| p.util.iter().chain(&p.cpu_s).any(|(n, _)| n == &c))
                        .expect("a point measures every collected column");
                    let col = if p.util.iter().any(|(n, _)| n == &c) {
                        format!("util.{c}")
                    } else {
                        format!("cpu_s.{c}")
                    };
                    Err(Error::input(
                        file,
                        format!("{} column {col}", p.source.trim_end_matches(':')),
                        format!(
                            "{} resource {c:?} in the model {}; expected one of: {} (or a unique \
                             suffix such as the part after ':')",
                            if hits.is_empty() {
                                "no"
                            } else {
                                "more than one"
                            },
                            base.model_path.display(),
                            available.join(", ")
                        ),
                    ))
                }
            }
        })
        .collect()
}

/// Everything a calibration found.
pub struct Fit {
    pub theta: Vec<f64>,
    pub std_err: Vec<Option<f64>>,
    pub corr: Vec<Vec<f64>>,
    pub loss: f64,
    pub evals: usize,
    pub preds: Vec<Pred>,
    /// Bootstrap 90 % bands of predicted X and R per point (linearised refits).
    pub bands: Vec<[(f64, f64); 2]>,
    /// Leave-one-out prediction errors of X and R for each fit point (linearised refits).
    pub loo: Vec<Option<(f64, f64)>>,
    pub warnings: Vec<String>,
    pub curve: Vec<(Point, Pred)>,
    pub seconds: f64,
    /// The analytic first guess: θ, its product-form loss and the simulator's loss there.
    pub surrogate: Option<(Vec<f64>, f64, f64)>,
}

/// Fit the product-form surrogate from several starts (microseconds per evaluation).
fn surrogate_fit(problem: &Problem, fit: &[Point], starts: &[Vec<f64>]) -> Option<(Vec<f64>, f64)> {
    use rand::Rng;
    let resource = |c: &str| problem.resource_of(c).to_string();
    let eval = |u: &[f64]| -> Option<f64> {
        let theta: Vec<f64> = problem
            .params
            .iter()
            .zip(u)
            .map(|(p, u)| p.from_u(*u))
            .collect();
        let l = problem.base.with_sets(&problem.param_sets(&theta)).ok()?;
        let s = surrogate::build(&l)?;
        let preds: Option<Vec<Pred>> = fit.iter().map(|p| s.predict(p, &resource)).collect();
        Some(problem.residuals(&preds?, fit).iter().map(|r| r * r).sum())
    };
    eval(&starts[0])?;
    let mut rng = crate::engine::stream(problem.seed, 0, "calibrate:surrogate");
    let mut all: Vec<Vec<f64>> = starts.to_vec();
    for _ in 0..6 {
        all.push(
            (0..problem.params.len())
                .map(|_| rng.gen_range(-3.0..3.0))
                .collect(),
        );
    }
    let mut batch = |us: &[Vec<f64>]| -> Vec<f64> {
        us.iter()
            .map(|u| eval(u).unwrap_or(f64::INFINITY))
            .collect()
    };
    all.iter()
        .map(|s| optimize::nelder_mead(&mut batch, s, 1.0, 400, 1e-12, 1e-6))
        .filter(|o| o.f.is_finite())
        .min_by(|a, b| a.f.total_cmp(&b.f))
        .map(|o| (o.x, o.f))
}

pub struct Outcome {
    pub problem: Problem,
    pub fit: Fit,
    pub out: PathBuf,
    pub files: Vec<String>,
    pub text: String,
}

pub fn calibrate(a: &Args) -> Result<Outcome> {
    let started = std::time::Instant::now();
    if a.measured.is_empty() {
        return Err(Error::Usage(
            "calibrate needs at least one --measured FILE".into(),
        ));
    }
    if a.fit.is_empty() {
        return Err(Error::Usage(
            "calibrate needs at least one --fit PATH[=LO..HI]".into(),
        ));
    }
    if a.replications == 0 {
        return Err(Error::Usage("--replications must be at least 1".into()));
    }
    // Each evaluation simulates every point this many times, and the fit runs up to
    // --max-evals evaluations: `--replications 18446744073709551615` overflowed a vector's
    // capacity and `--max-evals 18446744073709551615` an evaluation count (panics).
    if a.replications > MAX_REPLICATIONS {
        return Err(Error::Usage(format!(
            "--replications {}: expected at most {MAX_REPLICATIONS} per point",
            a.replications
        )));
    }
    if a.max_evals > MAX_EVALS {
        return Err(Error::Usage(format!(
            "--max-evals {}: expected at most {MAX_EVALS} evaluations",
            a.max_evals
        )));
    }
    let base = config::load_with(&a.scenario, &a.sets, a.budget)?;
    let mut points = Vec::new();
    // The file each point came from, to locate a load the scenario cannot take.
    let mut origins = Vec::new();
    for m in &a.measured {
        let pts = measured::load_file(m)?;
        let (file, _) = measured::parse_spec(m)?;
        origins.extend(std::iter::repeat_n(file, pts.len()));
        points.extend(pts);
    }
    for p in points.iter_mut() {
        if a.holdout.iter().any(|h| (h - p.load).abs() < 1e-9) {
            p.role = Role::Holdout;
        }
    }
    for h in &a.holdout {
        if !points.iter().any(|p| (p.load - h).abs() < 1e-9) {
            return Err(Error::Usage(format!(
                "--holdout {h}: no measured point has that load; loads are {}",
                points
                    .iter()
                    .map(|p| fmt_num(p.load))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let params: Vec<FreeParam> = a
        .fit
        .iter()
        .map(|f| params::parse(f, &base))
        .collect::<Result<_>>()?;
    for (i, p) in params.iter().enumerate() {
        if params[..i].iter().any(|q| q.path == p.path) {
            return Err(Error::Usage(format!("--fit {}: named twice", p.path)));
        }
    }
    let (load_closed, load_open) = load_paths(&base, a.load_path.as_deref());
    for (p, file) in points.iter().zip(&origins) {
        let ok = match p.kind {
            LoadKind::Closed => load_closed.is_some(),
            LoadKind::Open => load_open.is_some(),
        };
        if !ok {
            return Err(Error::Usage(format!(
                "{}: {} a {} point (load {}) needs the scenario to set its load: give one {} \
                 executor, or --load-path PATH naming the field that takes the load (a k6 time \
                 series of several scenarios of both kinds: FILE@scenario=NAME keeps one \
                 scenario's holds)",
                file.display(),
                p.source,
                p.kind.name(),
                fmt_num(p.load),
                if p.kind == LoadKind::Closed {
                    "constant-vus"
                } else {
                    "constant-arrival-rate or poisson-arrivals"
                }
            )));
        }
    }
    let fit_points: Vec<Point> = points
        .iter()
        .filter(|p| p.role == Role::Fit)
        .cloned()
        .collect();
    if fit_points.is_empty() {
        let files: Vec<String> = a.measured.iter().map(|m| m.to_string()).collect();
        return Err(Error::Usage(format!(
            "every measured point is a hold-out ({}): nothing to fit; give some points the \
             role `fit` (the CSV's role column) or hold out fewer loads (--holdout)",
            files.join(", ")
        )));
    }
    let resources = resolve_resources(&base, &points, &origins)?;
    let mut warnings = {
        let sur = surrogate::build(&base);
        let cores = |col: &str| -> Option<f64> {
            let res = resources.iter().find(|(c, _)| c == col).map(|(_, r)| r)?;
            sur.as_ref()?.cores(res)
        };
        checks::before_fit(&points, &params, &cores)
    };
    let terms: usize = fit_points
        .iter()
        .map(|p| 2 + p.util.len() + p.cpu_s.len() + usize::from(p.lat_p95.is_some()))
        .sum();
    if terms <= params.len() {
        warnings.push(format!(
            "unidentifiable: {} measured term(s) on the fit points (throughput, latency, \
             utilizations) for {} parameter(s)",
            terms,
            params.len()
        ));
    }
    if a.replications < 3 {
        warnings.push(format!(
            "--replications {}: fewer than the 3 the reference asks for; the fit follows one \
             or two runs' noise and the predictions' confidence intervals are {}",
            a.replications,
            if a.replications == 1 {
                "not given"
            } else {
                "very wide (Student t with 1 degree of freedom)"
            }
        ));
    }
    let scenario_zero_think = base
        .scenario
        .flows
        .values()
        .all(|f| flow_think(&f.steps) == 0.0);
    let problem = Problem {
        scenario_zero_think,
        seed: a.seed.unwrap_or(base.scenario.seed),
        base,
        points,
        params,
        load_closed,
        load_open,
        replications: a.replications,
        weights: a.weights,
        resources,
        sets: a.sets.clone(),
    };
    // Each point's load must give a valid scenario within the budget before anything is
    // simulated or solved there: the analytic surrogate allocates per VU, so a load of 1e308
    // VUs aborted on a 32 GiB allocation instead of being refused.
    let initial: Vec<f64> = problem.params.iter().map(|p| p.initial).collect();
    // The fitted values alone first, so that their own errors are not blamed on a point.
    problem.base.with_sets(&problem.param_sets(&initial))?;
    for (p, file) in problem.points.iter().zip(&origins) {
        if let Err(e) = problem.base.with_sets(&problem.sets_for(&initial, p)) {
            return Err(Error::input(
                file,
                format!("{} load", p.source.trim_end_matches(':')),
                format!(
                    "load {} cannot be simulated with {}: {e}",
                    fmt_num(p.load),
                    a.scenario.display()
                ),
            ));
        }
    }
    if let Some(j) = a.jobs {
        // A pool of the asked size for this command's parallel work.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(j.max(1))
            .build()
            .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;
        return pool.install(|| finish(problem, fit_points, warnings, a, started));
    }
    finish(problem, fit_points, warnings, a, started)
}

fn finish(
    problem: Problem,
    fit_points: Vec<Point>,
    mut warnings: Vec<String>,
    a: &Args,
    started: std::time::Instant,
) -> Result<Outcome> {
    let bar = output::bar(a.progress, a.max_evals as u64);
    let failure: std::cell::RefCell<Option<Error>> = std::cell::RefCell::new(None);
    let mut loss_of = |thetas: &[Vec<f64>]| -> Vec<f64> {
        thetas
            .iter()
            .map(|u| {
                let theta: Vec<f64> = problem
                    .params
                    .iter()
                    .zip(u)
                    .map(|(p, u)| p.from_u(*u))
                    .collect();
                bar.inc(1);
                match problem.predict(&theta, &fit_points) {
                    Ok(preds) => problem
                        .residuals(&preds, &fit_points)
                        .iter()
                        .map(|r| r * r)
                        .sum(),
                    Err(e) => {
                        failure.borrow_mut().get_or_insert(e);
                        f64::INFINITY
                    }
                }
            })
            .collect()
    };
    // Start from the current values and from the operational-law seed; keep the better.
    let u0: Vec<f64> = problem.params.iter().map(|p| p.to_u(p.initial)).collect();
    let seeded = checks::operational_seed(&problem, &fit_points);
    let mut starts = vec![u0.clone()];
    if let Some(s) = seeded {
        starts.push(
            problem
                .params
                .iter()
                .zip(&s)
                .map(|(p, v)| p.to_u(*v))
                .collect(),
        );
    }
    let surrogate = surrogate_fit(&problem, &fit_points, &starts);
    if let Some((u, _)) = &surrogate {
        starts.push(u.clone());
    }
    let f_starts = loss_of(&starts);
    if let Some(e) = failure.borrow_mut().take() {
        return Err(e);
    }
    let best_start = (0..starts.len())
        .min_by(|&x, &y| f_starts[x].total_cmp(&f_starts[y]))
        .unwrap_or(0);
    // The loss carries the replications' noise: stop refining once the simplex's spread is
    // below it (about one term's variance at 1 % noise per term).
    let terms: usize = fit_points
        .iter()
        .map(|p| 2 + p.util.len() + p.cpu_s.len() + usize::from(p.lat_p95.is_some()))
        .sum();
    let ftol = 1e-5 * terms as f64;
    let budget = a.max_evals.max(2 * problem.params.len() + 4);
    let first = optimize::nelder_mead(
        &mut loss_of,
        &starts[best_start],
        1.0,
        budget * 2 / 3,
        ftol,
        1e-3,
    );
    // Restart once from the best point with a fresh, smaller simplex (Nelder–Mead can stall).
    let second = optimize::nelder_mead(
        &mut loss_of,
        &first.x,
        0.3,
        budget - first.evals.min(budget),
        ftol,
        1e-4,
    );
    if let Some(e) = failure.borrow_mut().take() {
        return Err(e);
    }
    bar.finish_and_clear();
    let (best_u, loss) = if second.f <= first.f {
        (second.x, second.f)
    } else {
        (first.x, first.f)
    };
    let evals = f_starts.len() + first.evals + second.evals;
    let theta: Vec<f64> = problem
        .params
        .iter()
        .zip(&best_u)
        .map(|(p, u)| p.from_u(*u))
        .collect();
    let unc = output::uncertainty(&problem, &theta, &fit_points)?;
    warnings.extend(unc.warnings.iter().cloned());
    for (p, v) in problem.params.iter().zip(&theta) {
        if p.at_bound(*v) {
            warnings.push(format!(
                "{} = {} is at a bound of its range [{}, {}]: widen the range or question the model",
                p.path,
                fmt_num(*v),
                fmt_num(p.lo),
                fmt_num(p.hi)
            ));
        }
    }
    let preds = problem.predict(&theta, &problem.points)?;
    let curve = output::curve(&problem, &theta)?;
    let fit = Fit {
        theta,
        std_err: unc.std_err,
        corr: unc.corr,
        loss,
        evals,
        bands: unc.bands,
        loo: unc.loo,
        preds,
        warnings,
        curve,
        seconds: started.elapsed().as_secs_f64(),
        surrogate: surrogate.map(|(u, f)| {
            let theta = problem
                .params
                .iter()
                .zip(&u)
                .map(|(p, u)| p.from_u(*u))
                .collect();
            (theta, f, f_starts[f_starts.len() - 1])
        }),
    };
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!("{}-calibrated", problem.base.name()))
    });
    let (files, text) = output::write(&problem, &fit, &out)?;
    Ok(Outcome {
        problem,
        fit,
        out,
        files,
        text,
    })
}

pub fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
        format!("{v:.4e}")
    } else {
        format!("{}", (v * 1e4).round() / 1e4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Student t with n − 1 degrees of freedom: 4.303 at n = 3, not 1.96.
    #[test]
    fn replication_interval_is_student_t() {
        let (m, h) = mean_half(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((h - 4.302653 / 3f64.sqrt()).abs() < 1e-5, "{h}");
        assert_eq!(mean_half(&[5.0]), (5.0, 0.0));
    }

    /// Z = 0 from the scenario (no `think_s` measured) halves the X and R weights as a
    /// measured `think_s` of 0 does; a scenario that sleeps does not.
    #[test]
    fn zero_think_from_the_scenario_halves_the_weights() {
        let model = "entry: db\nservices:\n  db:\n    replicas: 1\n    pod: {cores: 1}\n    endpoints:\n      tx:\n        - cpu: exp(mean=10ms)\n";
        let scen = "model: m.yaml\nflows:\n  loop:\n    steps:\n      - request: tx\n\
            scenarios:\n  clients:\n    executor: constant-vus\n    vus: 1\n    duration: 60s\n";
        let point = |think: Option<f64>| Point {
            source: String::new(),
            kind: LoadKind::Closed,
            load: 4.0,
            throughput: 100.0,
            lat_mean: 0.04,
            lat_p95: None,
            error_rate: None,
            think,
            util: vec![],
            cpu_s: vec![],
            role: Role::Fit,
            iterations: None,
            dropped: None,
        };
        let residuals = |scen: &str, think: Option<f64>| {
            let base = config::from_strs(scen, model).unwrap();
            let zero = base
                .scenario
                .flows
                .values()
                .all(|f| flow_think(&f.steps) == 0.0);
            let p = Problem {
                base,
                points: vec![],
                params: vec![],
                load_closed: None,
                load_open: None,
                seed: 1,
                replications: 1,
                weights: Weights::default(),
                resources: vec![],
                sets: vec![],
                scenario_zero_think: zero,
            };
            let pred = Pred {
                x: 100.0 * 2f64.exp(),
                r: 0.04,
                ..Pred::default()
            };
            p.residuals(&[pred], &[point(think)])[0]
        };
        let half = 0.5f64.sqrt() * 2.0;
        assert!((residuals(scen, None) - half).abs() < 1e-12);
        assert!((residuals(scen, Some(0.0)) - half).abs() < 1e-12);
        assert!((residuals(scen, Some(1.0)) - 2.0).abs() < 1e-12);
        let sleeps = scen.replace(
            "      - request: tx\n",
            "      - request: tx\n      - sleep: const(1s)\n",
        );
        assert!((residuals(&sleeps, None) - 2.0).abs() < 1e-12);
    }
}
