//! Running sweep points in parallel. Every point × replication is an independent task on a
//! rayon pool of `--jobs` threads; each finished task is saved at once (atomically), so the
//! results depend only on (point, seed, replication) and never on scheduling.

use super::decided::Decider;
use super::precision::RunPrecision;
use super::row::{self, Row};
use super::shared;
use super::spec::Spec;
use super::stats::{interval, LEVEL};
use crate::config::Loaded;
use crate::cost::Baseline;
use crate::error::{Error, Result};
use crate::sim::{self, RunOptions};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How each run may end before its planned end (both off for a plain sweep).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Control {
    /// Stop a run once a target has provably failed (`super::decided`).
    pub early_stop: bool,
    /// Stop a run once every target's steady-state interval is within this fraction of its
    /// mean (`super::precision`).
    pub run_precision: Option<f64>,
}

/// What the tasks share.
pub struct Context<'a> {
    pub spec: &'a Spec,
    pub out: &'a Path,
    /// The loaded scenario of each point (by point index; `None` for points not run here).
    pub loads: Vec<Option<Loaded>>,
    pub baseline: Option<Baseline>,
    pub pool: rayon::ThreadPool,
    pub progress: bool,
    pub control: Control,
    /// Share runs between points that differ only in their HPAs and pool sizes (`shared`).
    pub share: bool,
    /// The baseline's value per replication, computed once.
    baseline_values: Mutex<BTreeMap<u64, f64>>,
    /// Runs followed by points of another pool size, and how many of those shared the run.
    pool_tries: AtomicUsize,
    pool_shares: AtomicUsize,
}

impl<'a> Context<'a> {
    /// Load every point this directory may run; a bad parameter combination fails here,
    /// before anything runs.
    pub fn new(
        spec: &'a Spec,
        out: &'a Path,
        base: &Loaded,
        points: &[usize],
        jobs: Option<usize>,
        progress: bool,
    ) -> Result<Self> {
        let mut loads: Vec<Option<Loaded>> = vec![None; spec.points.len()];
        for &p in points {
            let l = base.with_sets(&spec.sets(p)).map_err(|e| {
                Error::Usage(format!(
                    "--param: point {p} ({}) is not a valid configuration: {e}",
                    spec.label(p)
                ))
            })?;
            loads[p] = Some(l);
        }
        let jobs = jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        if jobs == 0 {
            return Err(Error::Usage("--jobs: expected at least 1".into()));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|e| Error::Usage(format!("--jobs {jobs}: cannot start threads: {e}")))?;
        Ok(Context {
            spec,
            out,
            loads,
            baseline: Baseline::load(base)?,
            pool,
            progress,
            control: Control::default(),
            share: true,
            baseline_values: Mutex::new(BTreeMap::new()),
            pool_tries: AtomicUsize::new(0),
            pool_shares: AtomicUsize::new(0),
        })
    }

    fn opts(&self, replication: u64) -> RunOptions {
        RunOptions {
            seed: self.spec.seed,
            replication,
        }
    }

    /// Run `tasks` (point, replication) in parallel, saving each row as it finishes.
    fn run_tasks(&self, tasks: &[(usize, u64)], bar: &ProgressBar) -> Result<()> {
        // The baseline's cost per replication (common random numbers with the points).
        let known = self.baseline_values.lock().expect("baseline cache").clone();
        let reps: BTreeSet<u64> = tasks
            .iter()
            .map(|t| t.1)
            .filter(|r| !known.contains_key(r))
            .collect();
        let fresh: BTreeMap<u64, f64> = match &self.baseline {
            Some(b) => self.pool.install(|| {
                reps.par_iter()
                    .map(|&r| b.value(self.opts(r)).map(|v| (r, v)))
                    .collect::<Result<_>>()
            })?,
            None => BTreeMap::new(),
        };
        let base = {
            let mut cache = self.baseline_values.lock().expect("baseline cache");
            cache.extend(fresh);
            cache.clone()
        };
        let mut left: BTreeMap<usize, AtomicUsize> = BTreeMap::new();
        for t in tasks {
            left.entry(t.0)
                .or_insert_with(|| AtomicUsize::new(0))
                .fetch_add(1, Ordering::Relaxed);
        }
        let points_total = left.len();
        let points_done = AtomicUsize::new(0);
        bar.set_message(format!("points 0/{points_total}"));
        let groups = if self.share {
            // Grouping across pool sizes makes a group's runs follow one another; once pools
            // have kept diverging (at least 16 tries, under 1 in 20 shared), stop paying for it.
            let (tries, shares) = (
                self.pool_tries.load(Ordering::Relaxed),
                self.pool_shares.load(Ordering::Relaxed),
            );
            let pools = tries < 16 || shares * 20 >= tries;
            let groups = shared::groups(tasks, &self.loads, pools);
            shared::spread(groups, self.pool.current_num_threads())
        } else {
            tasks.iter().map(|&t| vec![t]).collect()
        };
        let results: Vec<Result<()>> = self.pool.install(|| {
            groups
                .par_iter()
                .map(|group| {
                    let rep = group[0].1;
                    let b = self.baseline.as_ref().map(|b| (b, base[&rep]));
                    let points: Vec<usize> = group.iter().map(|t| t.0).collect();
                    self.run_group(&points, rep, b, &mut |row| {
                        row::save(self.out, &row)?;
                        bar.inc(1);
                        if left[&row.point].fetch_sub(1, Ordering::AcqRel) == 1 {
                            let d = points_done.fetch_add(1, Ordering::AcqRel) + 1;
                            bar.set_message(format!("points {d}/{points_total}"));
                        }
                        Ok(())
                    })
                })
                .collect()
        });
        results.into_iter().collect()
    }

    fn load(&self, p: usize) -> Result<&Loaded> {
        self.loads[p]
            .as_ref()
            .ok_or_else(|| Error::Usage(format!("internal: sweep point {p} was not loaded")))
    }

    /// Replication `rep` of `points`, which differ only in their HPAs and pool sizes (or are one
    /// point): each run follows the points still waiting, and gives its row to every one of them
    /// whose HPAs and pools decided as its own (`shared`). Each row goes to `save` when measured.
    fn run_group(
        &self,
        points: &[usize],
        rep: u64,
        baseline: Option<(&Baseline, f64)>,
        save: &mut dyn FnMut(Row) -> Result<()>,
    ) -> Result<()> {
        let mut waiting = points.to_vec();
        while let Some((&p, rest)) = waiting.split_first() {
            let alternatives = rest
                .iter()
                .map(|&q| Ok(&self.load(q)?.model))
                .collect::<Result<Vec<_>>>()?;
            let run = self.run_one(self.load(p)?, rep, &alternatives)?;
            save(run.row(self.load(p)?, p, rep, baseline, None))?;
            let mut next = Vec::new();
            for (i, &q) in rest.iter().enumerate() {
                let same = run.result.alternatives_same.get(i) == Some(&true);
                if shared::pools_differ(self.load(p)?, self.load(q)?) {
                    self.pool_tries.fetch_add(1, Ordering::Relaxed);
                    self.pool_shares
                        .fetch_add(usize::from(same), Ordering::Relaxed);
                }
                if same {
                    save(run.row(self.load(q)?, q, rep, baseline, Some(p)))?;
                } else {
                    next.push(q);
                }
            }
            waiting = next;
        }
        Ok(())
    }

    /// One run under this context's [`Control`], following `alternatives`' HPAs.
    fn run_one(
        &self,
        loaded: &Loaded,
        rep: u64,
        alternatives: &[&crate::config::ModelFile],
    ) -> Result<Finished> {
        let decider = if self.control.early_stop {
            Decider::for_scenario(&loaded.scenario)
        } else {
            Decider::default()
        };
        let mut prec = self
            .control
            .run_precision
            .map(|rel| RunPrecision::new(&loaded.scenario, rel));
        let mut why: Option<String> = None;
        let r = sim::try_run_shared(
            loaded,
            self.opts(rep),
            alternatives,
            &mut |_, _| {},
            &mut |t, planned, m, sys| {
                if t >= planned {
                    return false;
                }
                if let Some(name) = decider.failed(m) {
                    why = Some(format!("decided: {name}"));
                    return true;
                }
                if prec.as_mut().is_some_and(|p| p.sample(t, m, sys)) {
                    why = Some("precision".into());
                    return true;
                }
                false
            },
        )?;
        Ok(Finished {
            result: r,
            why,
            prec,
        })
    }

    fn bar(&self, len: u64) -> ProgressBar {
        if !self.progress || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} runs  {msg}  {per_sec}  elapsed {elapsed_precise}  eta {eta}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        pb
    }

    /// Run `points` to their replication counts (adding replications while `--precision` asks
    /// for more), skipping runs already saved in `out`. Returns their rows, sorted.
    pub fn run_points(&self, points: &[usize]) -> Result<Vec<Row>> {
        let r0 = self.spec.replications;
        let mut want: BTreeMap<usize, u64> = points.iter().map(|&p| (p, r0)).collect();
        let bar = self.bar(0);
        loop {
            let tasks = self.missing(&want)?;
            bar.inc_length(tasks.len() as u64);
            self.run_tasks(&tasks, &bar)?;
            let Some(prec) = &self.spec.precision else {
                break;
            };
            // Decide on exactly the replications asked for so far, so a resumed sweep takes
            // the same decisions as an uninterrupted one.
            let rows = self.rows(&want)?;
            let mut more = false;
            for group in rows.chunk_by(|a, b| a.point == b.point) {
                let p = group[0].point;
                if want[&p] >= prec.max_replications || precise(group, prec.relative) {
                    continue;
                }
                let n = (want[&p] + r0).min(prec.max_replications);
                want.insert(p, n);
                more = true;
            }
            if !more {
                break;
            }
        }
        bar.finish_and_clear();
        self.rows(&want)
    }

    /// Run replications `0..want[p]` of each point `p` (skipping saved runs) and return them.
    pub fn run_replications(&self, want: &BTreeMap<usize, u64>) -> Result<Vec<Row>> {
        let tasks = self.missing(want)?;
        let bar = self.bar(tasks.len() as u64);
        self.run_tasks(&tasks, &bar)?;
        bar.finish_and_clear();
        self.rows(want)
    }

    /// The runs `(point, replication)` of `want` not yet saved in `out`.
    fn missing(&self, want: &BTreeMap<usize, u64>) -> Result<Vec<(usize, u64)>> {
        let have: BTreeSet<(usize, u64)> = row::load_all(self.out)?
            .iter()
            .map(|r| (r.point, r.replication))
            .collect();
        Ok(want
            .iter()
            .flat_map(|(&p, &n)| (0..n).map(move |r| (p, r)))
            .filter(|t| !have.contains(t))
            .collect())
    }

    pub fn rows(&self, want: &BTreeMap<usize, u64>) -> Result<Vec<Row>> {
        Ok(row::load_all(self.out)?
            .into_iter()
            .filter(|r| want.get(&r.point).is_some_and(|&n| r.replication < n))
            .collect())
    }
}

/// A finished run and how its end was decided.
struct Finished {
    result: sim::RunResult,
    /// Why a watch stopped it early.
    why: Option<String>,
    prec: Option<RunPrecision>,
}

impl Finished {
    /// The run measured as `point`'s row (under that point's configuration), noting the point
    /// whose run it was when it is shared.
    fn row(
        &self,
        loaded: &Loaded,
        point: usize,
        rep: u64,
        baseline: Option<(&Baseline, f64)>,
        shared_from: Option<usize>,
    ) -> Row {
        let r = &self.result;
        let mut row = row::measure(loaded, r, point, rep, baseline);
        row.shared_from = shared_from;
        if let (Some(at), Some(by)) = (r.stopped_at, &self.why) {
            row.stop = Some(row::Stop {
                at_s: crate::engine::ns_to_secs(at),
                by: by.clone(),
            });
        }
        if let Some(p) = &self.prec {
            for (name, e) in p.estimates() {
                let (mean, hw, warm) = match e {
                    Some(e) => (
                        Some(e.ci.mean),
                        Some(e.ci.half_width),
                        Some(
                            e.truncated_intervals as f64 * loaded.scenario.sample_interval.0 as f64
                                / 1e9,
                        ),
                    ),
                    None => (None, None, None),
                };
                row.metrics.push((format!("run_mean:{name}"), mean));
                row.metrics.push((format!("run_half_width:{name}"), hw));
                row.metrics.push((format!("run_warmup_s:{name}"), warm));
            }
        }
        row
    }
}

/// Whether every target's measured value (or, with no targets, the mean response time) has a
/// confidence interval within `rel` of its mean.
fn precise(group: &[Row], rel: f64) -> bool {
    let names: Vec<String> = group[0].targets.iter().map(|t| t.name.clone()).collect();
    let check = |xs: Vec<f64>| {
        let i = interval(xs, LEVEL);
        i.n == 0 || i.precise(rel)
    };
    if names.is_empty() {
        return check(
            group
                .iter()
                .map(|r| r.metric("http_req_duration.avg").unwrap_or(f64::NAN))
                .collect(),
        );
    }
    names.iter().all(|n| {
        check(
            group
                .iter()
                .map(|r| {
                    r.targets
                        .iter()
                        .find(|t| &t.name == n)
                        .and_then(|t| t.measured)
                        .unwrap_or(f64::NAN)
                })
                .collect(),
        )
    })
}
