//! What-if sweeps (`surge sweep`), cost-optimal planning (`surge plan`) and combining shards
//! (`surge merge`).
//!
//! A sweep runs every point of a design × R replications in parallel. Replication r of every
//! point uses the same seed and replication index, hence the same random streams (common random
//! numbers), so differences between points are the parameters' doing, not noise. Each finished
//! run is saved as its own file under `rows/`; the tables are rebuilt from those files, so a
//! killed sweep resumes where it stopped and the output never depends on thread count,
//! sharding or interruptions.

pub mod decided;
pub mod design;
pub mod exec;
pub mod params;
pub mod plan;
pub mod plots;
pub mod points;
pub mod precision;
pub mod row;
pub mod shard;
pub mod shared;
pub mod spec;
pub mod stats;
pub mod table;

use crate::config::{self, Loaded};
use crate::error::{Error, Result};
use crate::report::write_atomic;
use design::Design;
use exec::Context;
use params::Param;
use points::{aggregate, PointStats};
use row::Row;
use shard::Shard;
use spec::{PlanSpec, Precision, Spec};

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The most runs (points × replications) one sweep or plan holds.
pub const MAX_RUNS: u64 = 1_000_000;

/// The options `surge sweep` and `surge plan` share.
#[derive(Clone, Debug)]
pub struct SweepArgs {
    pub scenario: PathBuf,
    pub params: Vec<String>,
    pub design: String,
    pub replications: u64,
    pub jobs: Option<usize>,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub shard: Option<String>,
    /// Relative half-width to replicate until (e.g. 0.05), with a cap on replications.
    pub precision: Option<f64>,
    pub max_replications: u64,
    /// Run length by precision (relative half-width within each run, e.g. 0.05).
    pub run_precision: Option<f64>,
    /// The metric the charts show.
    pub metric: String,
    pub progress: bool,
    /// Share runs between points that differ only in their HPAs and pool sizes (`shared`).
    pub share_runs: bool,
    /// What the runs may use together (each of the parallel runs gets its share).
    pub budget: crate::config::budget::Budget,
}

/// What a finished sweep wrote and found.
pub struct Finished {
    pub out: PathBuf,
    pub files: Vec<String>,
    pub text: String,
}

fn build_spec(a: &SweepArgs, base: &Loaded, plan: Option<PlanSpec>) -> Result<Spec> {
    let params: Vec<Param> = a
        .params
        .iter()
        .map(|p| params::parse(p))
        .collect::<Result<_>>()?;
    params::check(&params, base)?;
    let design = Design::parse(&a.design)?;
    if plan.is_some() && design != Design::Grid {
        return Err(Error::Usage(
            "--design: surge plan searches the grid; leave --design out".into(),
        ));
    }
    if a.replications == 0 {
        return Err(Error::Usage("--replications: expected at least 1".into()));
    }
    let precision = match a.precision {
        None => None,
        Some(r) if r > 0.0 && r.is_finite() => {
            if a.max_replications < a.replications {
                return Err(Error::Usage(format!(
                    "--max-replications {} is below --replications {}",
                    a.max_replications, a.replications
                )));
            }
            Some(Precision {
                relative: r,
                max_replications: a.max_replications,
            })
        }
        Some(r) => {
            return Err(Error::Usage(format!(
                "--precision {r}: expected a positive fraction, e.g. 0.05 for ±5 %"
            )))
        }
    };
    if let Some(r) = a.run_precision {
        if !(r > 0.0 && r < 1.0) {
            return Err(Error::Usage(format!(
                "--run-precision {r}: expected a fraction in (0, 1), e.g. 0.05 for ±5 %"
            )));
        }
        precision::check_stationary(&base.scenario)
            .map_err(|m| Error::input(&base.scenario_path, "field scenarios", m))?;
    }
    // Points and runs are held in memory and each run writes a row file: bound them before
    // building any (a grid of three 10,000-value ranges, `--design lhs:100000000` or
    // `--replications 18446744073709551615` aborted on allocation).
    let n_points = design::size(design, &params);
    let reps = precision
        .as_ref()
        .map_or(a.replications, |p| p.max_replications.max(a.replications));
    let runs = n_points as u128 * u128::from(reps);
    if runs > MAX_RUNS as u128 {
        let what = if design == Design::Grid {
            "the grid of the --param values".to_string()
        } else {
            format!("--design {}", a.design)
        };
        return Err(Error::Usage(format!(
            "{what} has {n_points} points; with up to {reps} replications each that is {runs} runs, \
             more than a sweep runs ({MAX_RUNS}): use fewer values, points or replications"
        )));
    }
    let seed = a.seed.unwrap_or(base.scenario.seed);
    let idx = design::points(design, &params, seed);
    let points = idx
        .iter()
        .map(|ix| {
            ix.iter()
                .zip(&params)
                .map(|(&i, p)| p.values[i].clone())
                .collect()
        })
        .collect();
    let shard = a.shard.as_deref().map(Shard::parse).transpose()?;
    Ok(Spec {
        surge_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: a.scenario.display().to_string(),
        inputs_hash: spec::inputs_hash(base)?,
        params,
        design,
        seed,
        replications: a.replications,
        precision,
        run_precision: a.run_precision,
        plan,
        points,
        shard,
    })
}

fn default_out(base: &Loaded, what: &str) -> PathBuf {
    Path::new("results").join(format!("{}-{what}", base.name()))
}

/// The base scenario under the sweep's budget, shared by the runs that go on at once.
fn load_base(a: &SweepArgs) -> Result<Loaded> {
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    config::load_with(&a.scenario, &[], a.budget.shared(jobs))
}

/// `surge sweep`.
pub fn sweep(a: &SweepArgs) -> Result<Finished> {
    let base = load_base(a)?;
    let spec = build_spec(a, &base, None)?;
    let out = a.out.clone().unwrap_or_else(|| default_out(&base, "sweep"));
    spec.claim(&out, "--out")?;
    crate::stale::remove_stale_temp_files(&out);
    crate::stale::remove_stale_temp_files(&out.join("rows"));
    let mine = spec.my_points();
    let mut ctx = Context::new(&spec, &out, &base, &mine, a.jobs, a.progress)?;
    ctx.share = a.share_runs;
    ctx.control.run_precision = spec.run_precision;
    let rows = ctx.run_points(&mine)?;
    finish(&out, &spec, &rows, &a.metric, stats::LEVEL, None)
}

/// `surge plan`'s own options.
#[derive(Clone, Debug)]
pub struct PlanArgs {
    /// Probability, across replications, of meeting every target.
    pub confidence: f64,
    pub monotone: Vec<String>,
    /// `total`, `infrastructure`, or a summary.json path / runs-table column to minimise.
    pub objective: String,
    /// Stop runs whose verdict is decided.
    pub early_stop: bool,
    /// Multi-fidelity: screen at this fraction of the run length first.
    pub screen: Option<f64>,
    pub screen_margin: f64,
    /// After confirming, run at full length the rejected points that could beat the answer.
    pub screen_verify: bool,
}

impl Default for PlanArgs {
    fn default() -> Self {
        PlanArgs {
            confidence: 0.95,
            monotone: Vec::new(),
            objective: "total".into(),
            early_stop: true,
            screen: None,
            screen_margin: 0.25,
            screen_verify: false,
        }
    }
}

/// `surge plan`. Returns the finished output and whether a configuration met the confidence.
pub fn plan(a: &SweepArgs, pa: &PlanArgs) -> Result<(Finished, bool)> {
    let confidence = pa.confidence;
    let monotone = &pa.monotone;
    if !(confidence > 0.0 && confidence <= 1.0) {
        return Err(Error::Usage(format!(
            "--confidence {confidence}: expected a probability in (0, 1]"
        )));
    }
    if a.shard.is_some() {
        return Err(Error::Usage(
            "--shard: surge plan chooses points as it goes and cannot be sharded; \
             shard a `surge sweep` of the grid instead"
                .into(),
        ));
    }
    let screen = match pa.screen {
        None => None,
        Some(f) if f > 0.0 && f < 1.0 => {
            if !(pa.screen_margin >= 0.0 && pa.screen_margin.is_finite()) {
                return Err(Error::Usage(format!(
                    "--screen-margin {}: expected a non-negative fraction, e.g. 0.25",
                    pa.screen_margin
                )));
            }
            Some(spec::Screen {
                fraction: f,
                margin: pa.screen_margin,
            })
        }
        Some(f) => {
            return Err(Error::Usage(format!(
                "--screen {f}: expected a fraction of the run length in (0, 1), e.g. 0.25"
            )))
        }
    };
    let objective = plan::objective_metric(&pa.objective)?;
    let base = load_base(a)?;
    if screen.is_some() {
        // A total (count) over a shortened run is not the same target: refuse rather than
        // screen on it.
        for set in &base.scenario.thresholds.0 {
            for t in &set.thresholds {
                if t.expr.agg == crate::threshold::Aggregation::Count {
                    return Err(Error::input(
                        &base.scenario_path,
                        format!("field thresholds.{}", set.key),
                        format!(
                            "--screen shortens the runs, so the total `{}` means something else \
                             in a screening run; state it as a rate (e.g. rate>=...) or plan \
                             without --screen",
                            t.expr.source
                        ),
                    ));
                }
            }
        }
        // The same for an ensure condition reading a counter (`vusers.created < 100`).
        for (i, c) in base.scenario.conditions.iter().enumerate() {
            let names = c.compile().map(|e| e.names().to_vec()).unwrap_or_default();
            let count = names.iter().find(|(n, _)| {
                crate::ensure::metric_of(n)
                    .is_ok_and(|(_, agg)| agg == crate::threshold::Aggregation::Count)
            });
            if let Some((name, _)) = count {
                return Err(Error::input(
                    &base.scenario_path,
                    format!("field conditions[{i}].expression"),
                    format!(
                        "--screen shortens the runs, so the total {name} means something else \
                         in a screening run; plan without --screen, or compare a rate \
                         (http.request_rate) instead"
                    ),
                ));
            }
        }
    }
    if base.model.cost.is_none() && objective.starts_with("cost.") {
        return Err(Error::input(
            &base.model_path,
            "",
            "surge plan looks for the cheapest configuration: the model needs a `cost:` section",
        ));
    }
    let paths: Vec<String> = a
        .params
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|x| x.0.trim())
                .unwrap_or(p)
                .to_string()
        })
        .collect();
    for m in monotone {
        if !paths.contains(m) {
            return Err(Error::Usage(format!(
                "--monotone {m:?}: not one of the --param paths ({})",
                paths.join(", ")
            )));
        }
    }
    let plan = PlanSpec {
        confidence,
        monotone: monotone.to_vec(),
        early_stop: pa.early_stop,
        objective: objective.clone(),
        screen: screen.clone(),
    };
    let spec = build_spec(a, &base, Some(plan))?;
    let out = a.out.clone().unwrap_or_else(|| default_out(&base, "plan"));
    spec.claim(&out, "--out")?;
    crate::stale::remove_stale_temp_files(&out);
    crate::stale::remove_stale_temp_files(&out.join("rows"));
    let all: Vec<usize> = (0..spec.points.len()).collect();
    let control = exec::Control {
        early_stop: pa.early_stop,
        run_precision: spec.run_precision,
    };
    let mut screening = match &screen {
        None => None,
        Some(sc) => {
            let dir = out.join("screen");
            let rows_dir = row::rows_dir(&dir);
            std::fs::create_dir_all(&rows_dir).map_err(|e| Error::io(&rows_dir, e))?;
            crate::stale::remove_stale_temp_files(&rows_dir);
            let mut sctx = Context::new(&spec, &dir, &base, &all, a.jobs, a.progress)?;
            sctx.share = a.share_runs;
            sctx.control = control;
            for l in sctx.loads.iter_mut().flatten() {
                plan::shorten(l, sc.fraction);
            }
            let s = plan::search(&sctx, &all, confidence, plan::Order::Bisect)?;
            Some(plan::Screening::new(&spec, s, sc))
        }
    };
    let points = screening
        .as_ref()
        .map(|s| s.candidates.clone())
        .unwrap_or(all);
    let mut ctx = Context::new(&spec, &out, &base, &points, a.jobs, a.progress)?;
    ctx.share = a.share_runs;
    ctx.control = control;
    // After screening, the candidates' lowest points lie near the frontier: climb from there.
    let order = match screening {
        Some(_) => plan::Order::BottomUp,
        None => plan::Order::Bisect,
    };
    let mut search = plan::search(&ctx, &points, confidence, order)?;
    if let (true, Some(sc)) = (pa.screen_verify, screening.as_mut()) {
        // Run at full length the rejected points that could still beat the answer.
        let best = plan::best_value(&search, &objective, confidence);
        let set = sc.could_beat(&objective, best);
        if !set.is_empty() {
            let mut vctx = Context::new(&spec, &out, &base, &set, a.jobs, a.progress)?;
            vctx.share = a.share_runs;
            vctx.control = control;
            plan::merge_search(
                &mut search,
                plan::search(&vctx, &set, confidence, plan::Order::BottomUp)?,
            );
        }
        sc.verified = set;
    }
    let outcome = plan::decide(&spec, &search, confidence, screening.as_ref())?;
    let json = serde_json::to_string_pretty(&outcome.json).expect("plan json");
    write_atomic(&out.join("plan.json"), json.as_bytes())?;
    let mut done = finish(
        &out,
        &spec,
        &search.rows,
        &a.metric,
        confidence,
        outcome.best,
    )?;
    done.files.insert(0, "plan.json".into());
    done.text = plan_text(&spec, &outcome, &search, confidence);
    Ok((done, outcome.best.is_some()))
}

/// `surge merge`.
pub fn merge(dirs: &[PathBuf], out: &Path, metric: &str) -> Result<Finished> {
    let (spec, rows) = shard::merge(dirs, out)?;
    finish(out, &spec, &rows, metric, stats::LEVEL, None)
}

/// Write the tables and charts of `rows` into `out` and describe them.
pub fn finish(
    out: &Path,
    spec: &Spec,
    rows: &[Row],
    metric: &str,
    confidence: f64,
    bands_point: Option<usize>,
) -> Result<Finished> {
    let stats = aggregate(rows);
    let mut files = Vec::new();
    let mut runs = table::runs_frame(&spec.params, &spec.points, rows)?;
    files.extend(table::write_both(out, "runs", &mut runs)?);
    let mut pts = table::points_frame(&spec.params, &spec.points, &stats)?;
    files.extend(table::write_both(out, "points", &mut pts)?);
    let mut bands = table::bands_frame(rows)?;
    files.extend(table::write_both(out, "bands", &mut bands)?);
    // Bands of the point with the worst mean of the chart metric, unless told which.
    let bands_point = bands_point.or_else(|| {
        stats
            .iter()
            .filter(|s| s.mean(metric).is_finite())
            .max_by(|a, b| a.mean(metric).total_cmp(&b.mean(metric)))
            .map(|s| s.point)
    });
    files.extend(plots::write_all(
        out,
        spec,
        &stats,
        rows,
        metric,
        confidence,
        bands_point,
    )?);
    files.push("sweep.json".into());
    files.push(crate::report::html::write_sweep(out, spec, rows)?);
    Ok(Finished {
        out: out.to_path_buf(),
        files,
        text: sweep_text(spec, &stats, metric, rows.len()),
    })
}

fn fmt_ci(s: &PointStats, name: &str) -> String {
    match s.get(name) {
        Some(i) if i.mean.is_finite() && i.half_width.is_finite() => {
            format!("{:.2} ± {:.2}", i.mean, i.half_width)
        }
        Some(i) if i.mean.is_finite() => format!("{:.2}", i.mean),
        _ => "-".into(),
    }
}

const SHOWN: usize = 20;

fn sweep_text(spec: &Spec, stats: &[PointStats], metric: &str, runs: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n  sweep of {}: {} point(s) here, {} run(s), seed {}{}",
        spec.scenario,
        stats.len(),
        runs,
        spec.seed,
        spec.shard
            .map(|s| format!(", shard {}/{}", s.k, s.n))
            .unwrap_or_default()
    );
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "POINT".to_string(),
        "PARAMETERS".into(),
        "N".into(),
        metric.to_string(),
        "COST $/h".into(),
        "P(PASS)".into(),
    ]);
    for s in stats.iter().take(SHOWN) {
        t.add_row(vec![
            s.point.to_string(),
            spec.label(s.point),
            s.replications.to_string(),
            fmt_ci(s, metric),
            fmt_ci(s, plots::COST),
            format!("{:.2}", s.p_all),
        ]);
    }
    for k in [0usize, 2, 3, 4, 5] {
        if let Some(c) = t.column_mut(k) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    o.push('\n');
    for line in t.to_string().lines() {
        let _ = writeln!(o, "  {line}");
    }
    if stats.len() > SHOWN {
        let _ = writeln!(o, "  ... {} more in points.csv", stats.len() - SHOWN);
    }
    o
}

fn plan_text(spec: &Spec, o: &plan::Outcome, s: &plan::Search, confidence: f64) -> String {
    let mut t = String::new();
    let evaluated = s
        .status
        .values()
        .filter(|x| matches!(x, plan::Status::Pass | plan::Status::Fail))
        .count();
    let objective = o.json["objective"]
        .as_str()
        .unwrap_or(plots::COST)
        .to_string();
    let stopped = o.json["search"]["stopped_early"].as_u64().unwrap_or(0);
    let shared = o.json["search"]["shared_runs"].as_u64().unwrap_or(0);
    let _ = writeln!(
        t,
        "\n  plan for {}: {} grid point(s), {} evaluated in {} round(s), confidence {}; \
         {} run(s) of a full grid's {} ({} point(s) left the race early, {} run(s) stopped \
         early, {} shared with a point whose HPAs decided alike); minimising {objective}",
        spec.scenario,
        spec.points.len(),
        evaluated,
        s.rounds,
        confidence,
        s.rows.len(),
        spec.points.len() as u64 * spec.replications,
        s.raced_out,
        stopped,
        shared,
    );
    let sc = &o.json["screening"];
    if sc.is_object() {
        let _ = writeln!(
            t,
            "  screening at {:.0} % of the run length: {} point(s) evaluated in {} run(s); {} \
             confirmed at full length, {} rejected (missed a target by more than {:.0} %), {} \
             inferred to fail",
            sc["fraction"].as_f64().unwrap_or(0.0) * 100.0,
            sc["evaluated"],
            sc["runs"],
            sc["candidates"],
            sc["rejected"],
            sc["margin"].as_f64().unwrap_or(0.0) * 100.0,
            sc["rejected_inferred"],
        );
        let cheaper = sc["rejected_cheaper"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0);
        let inferred = sc["rejected_inferred_unverified"].as_u64().unwrap_or(0);
        if sc["verified"].as_u64().unwrap_or(0) > 0 {
            let _ = writeln!(
                t,
                "  --screen-verify: {} rejected point(s) that could beat the answer were run at \
                 full length",
                sc["verified"]
            );
        }
        if cheaper > 0 || inferred > 0 {
            let _ = writeln!(
                t,
                "  note: the answer is exact among the points run at full length; {cheaper} \
                 rejected point(s) looked better at screening and {inferred} were inferred to \
                 fail from rejected ones, none run at full length (plan.json \
                 screening.rejected_cheaper). Add --screen-verify, or rerun without --screen, to \
                 rule them out."
            );
        }
    }
    let find = |p: usize| o.stats.iter().find(|x| x.point == p).expect("evaluated");
    let line_of = |t: &mut String, tag: &str, st: &PointStats| {
        let _ = writeln!(
            t,
            "  {tag:<10} point {:>4}  {:<40} {objective} {}  p95 {} ms  P(all targets) {:.2}",
            st.point,
            spec.label(st.point),
            fmt_ci(st, &objective),
            fmt_ci(st, plots::P95),
            st.p_all
        );
    };
    let line = |t: &mut String, tag: &str, p: usize| line_of(t, tag, find(p));
    match o.best {
        Some(b) => {
            line(&mut t, "cheapest", b);
            let st = find(b);
            let mut tab = comfy_table::Table::new();
            tab.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            tab.set_header(vec!["TARGET", "MEASURED", "MARGIN", "P(PASS)"]);
            for (name, p) in &st.p_pass {
                let mean = st.mean(&format!("target:{name}"));
                let m = o.json["best"]["targets"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["target"] == name.as_str()))
                    .and_then(|x| x["margin"].as_f64());
                tab.add_row(vec![
                    name.clone(),
                    format!("{mean:.3}"),
                    m.map(|m| format!("{:+.1}%", m * 100.0))
                        .unwrap_or_else(|| "-".into()),
                    format!("{p:.2}"),
                ]);
            }
            for k in 1..4 {
                if let Some(c) = tab.column_mut(k) {
                    c.set_cell_alignment(comfy_table::CellAlignment::Right);
                }
            }
            for l in tab.to_string().lines() {
                let _ = writeln!(t, "             {l}");
            }
            for &r in &o.runners_up {
                line(&mut t, "runner-up", r);
            }
        }
        None => {
            let _ = writeln!(
                t,
                "  no configuration meets every target with probability >= {confidence}"
            );
            if !o.closest.is_empty() {
                let from = o.json["closest"][0]["from"].as_str().unwrap_or("");
                let _ = writeln!(
                    t,
                    "\n  closest{}:",
                    if from == "screening" {
                        " (screening runs: nothing reached full length)"
                    } else {
                        ""
                    }
                );
                for st in &o.closest {
                    line_of(&mut t, "closest", st);
                    for (name, p) in &st.p_pass {
                        if *p >= 1.0 {
                            continue;
                        }
                        let mean = st.mean(&format!("target:{name}"));
                        let by = plan::miss(name, mean)
                            .map(|m| format!("missed by {:.1} % of the limit", m * 100.0))
                            .unwrap_or_else(|| "met on average".into());
                        let _ = writeln!(
                            t,
                            "             {name}: measured {mean:.3}, {by}, passed in {:.0} % of \
                             replications",
                            p * 100.0
                        );
                    }
                }
            }
        }
    }
    let _ = writeln!(t, "\n  Pareto front (cost against p95):");
    for &p in &o.front {
        line(&mut t, "front", p);
    }
    t
}
