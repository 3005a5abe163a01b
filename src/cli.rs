//! Command-line interface: argument parsing and dispatch. The work lives in the library.

use crate::config;
use crate::error::{Error, Result, EXIT_TARGETS_FAILED};
use crate::report::{self, Report};
use crate::sim::{self, RunOptions};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "surge",
    version,
    about = "Discrete-event capacity simulator and planner"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario: print a k6-style summary and verdict, write summary.json, CSVs and plots.
    Run {
        scenario: PathBuf,
        /// Seed for every random stream (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Replication index: independent streams under the same seed.
        #[arg(long, default_value_t = 0)]
        replication: u64,
        /// Output directory (default: results/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a field: --set services.api.replicas=8 (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Do not print the summary.
        #[arg(long, short)]
        quiet: bool,
        /// Write one CSV row per iteration (start_ns, end_ns, vu, scenario, flow, outcome).
        #[arg(long, value_name = "FILE")]
        iterations_log: Option<PathBuf>,
        /// Also write the summary in k6's `--summary-export` format (metrics flattened,
        /// thresholds as `expr: failed`), for tools that read k6's export.
        #[arg(long, value_name = "FILE")]
        summary_export: Option<PathBuf>,
        #[command(flatten)]
        budget: BudgetOpts,
        /// The model to run an Artillery script against (when SCENARIO is one).
        #[arg(long, value_name = "MODEL")]
        model: Option<PathBuf>,
    },
    /// Turn another tool's load test into a surge scenario.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Print a scenario's planned execution without running it, like `k6 inspect
    /// --execution-requirements`: VU steps, max VUs, arrival schedules, total duration.
    Inspect {
        scenario: PathBuf,
        /// Override a field: --set services.api.replicas=8 (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check scenario or model files and report what is wrong, with its location.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        budget: BudgetOpts,
    },
    /// Run a scenario at many parameter values, with replications and confidence intervals.
    Sweep {
        scenario: PathBuf,
        #[command(flatten)]
        opts: SweepOpts,
        /// Sampling design: grid, random:N or lhs:N.
        #[arg(long, default_value = "grid")]
        design: String,
        /// Run only the K-th of N disjoint slices of the points (merge them with `surge merge`).
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
    },
    /// Find the cheapest configuration that meets every target with the given confidence.
    Plan {
        scenario: PathBuf,
        #[command(flatten)]
        opts: SweepOpts,
        /// Probability, across replications, of meeting every target.
        #[arg(long, default_value_t = 0.95)]
        confidence: f64,
        /// A --param path where larger values mean more capacity and more cost (repeatable):
        /// lets the search skip points it can infer.
        #[arg(long, value_name = "PATH")]
        monotone: Vec<String>,
        /// What to minimise: total ($/hour, gas included), infrastructure ($/hour of capacity),
        /// or a summary.json path / runs.csv column (e.g. metrics.http_req_duration.values.p(95)).
        #[arg(long, default_value = "total")]
        objective: String,
        /// Run every run to its end, even when a target has already provably failed.
        #[arg(long)]
        no_early_stop: bool,
        /// Multi-fidelity: screen every point at this fraction of the run length, then confirm
        /// the survivors at full length.
        #[arg(long, value_name = "FRACTION")]
        screen: Option<f64>,
        /// Confirm a point that failed screening when it missed each target by less than this
        /// fraction of the target's limit.
        #[arg(long, value_name = "FRACTION", default_value_t = 0.25)]
        screen_margin: f64,
        /// After --screen: also run at full length every rejected point that could beat the
        /// answer, so the answer is the exhaustive one (given the --monotone parameters).
        #[arg(long)]
        screen_verify: bool,
    },
    /// Combine sweep shards (directories written with --shard) into one result set.
    Merge {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// The metric the charts show.
        #[arg(long, default_value = "http_req_duration.p(95)")]
        metric: String,
    },
    /// Fit model parameters to measured load levels and report the hold-out prediction error.
    Calibrate(CalibrateOpts),
    /// Write report.html for a run, sweep or plan directory: one self-contained page.
    Report { dir: PathBuf },
    /// Compare run or sweep directories: targets side by side, deltas, changed verdicts.
    Compare {
        #[arg(required = true, num_args = 2..)]
        dirs: Vec<PathBuf>,
        /// Where compare.csv, compare.png and compare.html go.
        #[arg(long, default_value = "results/compare")]
        out: PathBuf,
    },
    /// HPA tools: `surge hpa replay` replays a recorded metric trace through HPA configurations.
    Hpa {
        #[command(subcommand)]
        command: HpaCommand,
    },
    /// Measure simulator speed: an M/M/c run and the quickstart scenario.
    Bench {
        /// Customers in the M/M/c benchmark.
        #[arg(long, default_value_t = 1_000_000)]
        customers: u64,
        /// The quickstart scenario to time as well [default: scenarios/quickstart.yaml, when
        /// it is there]. A file named here must exist.
        #[arg(long)]
        quickstart: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// A k6 script (static `export const options`, read without running it), the JSON
    /// `k6 inspect` prints, or a `k6 archive` tar: scenarios, thresholds and flows
    /// (docs/importing.md).
    K6 {
        file: PathBuf,
        /// The model to run on: flows are resolved against its routes and the result validated.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Where to write the scenario (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// An Artillery script (YAML or JSON): phases, weighted scenarios and their flows, ensure
    /// checks and the HTTP timeout (docs/importing.md).
    Artillery {
        file: PathBuf,
        /// Check the requests against this model's routes and reference it.
        #[arg(long, value_name = "MODEL")]
        model: Option<PathBuf>,
        /// Write the scenario here (default: print it).
        #[arg(long, value_name = "SCENARIO.yaml")]
        out: Option<PathBuf>,
    },
}

/// The resources a run may use: validation refuses a configuration estimated to need more,
/// and the engine stops a run that grows past them (exit 2, nothing written).
#[derive(clap::Args, Debug)]
pub struct BudgetOpts {
    /// Memory budget, e.g. 4Gi or 512Mi (default: half of this machine's RAM). A sweep's
    /// parallel runs share it.
    #[arg(long, value_name = "SIZE")]
    max_memory: Option<String>,
    /// Most events a run may process, e.g. 1e9 (default: 1e10).
    #[arg(long, value_name = "N")]
    max_events: Option<String>,
}

impl BudgetOpts {
    fn budget(&self) -> Result<config::budget::Budget> {
        config::budget::Budget::from_flags(self.max_memory.as_deref(), self.max_events.as_deref())
            .map_err(Error::Usage)
    }
}

#[derive(Subcommand, Debug)]
pub enum HpaCommand {
    /// Replay a metric trace (CSV: t_s plus per-metric columns; a run's timeseries.csv works)
    /// through one or more HPA manifests; write replicas, scale events and a plot side by side.
    Replay {
        /// An HPA manifest (autoscaling/v2), repeatable: each replays on its own.
        #[arg(long = "hpa", value_name = "FILE", required = true)]
        hpas: Vec<PathBuf>,
        /// The metric trace (docs/autoscaling.md, "Replaying a metric trace").
        #[arg(long, value_name = "TRACE")]
        metrics: PathBuf,
        /// Output directory (default: results/hpa-replay).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A new pod is Pending this long (image pull, start, readiness).
        #[arg(long, default_value = "30s", value_parser = secs)]
        pod_startup: f64,
        /// Then ready without metrics this long (metrics-server's two scrapes).
        #[arg(long, default_value = "15s", value_parser = secs)]
        metrics_delay: f64,
        /// HPA sync period.
        #[arg(long, default_value = "15s", value_parser = secs)]
        sync: f64,
        /// Replicas at the start (default: the trace's recorded replicas, else minReplicas).
        #[arg(long)]
        initial: Option<u32>,
        /// Which service's `<service>_hpa_*` columns to read when the trace has several.
        #[arg(long)]
        service: Option<String>,
    },
}

fn secs(s: &str) -> std::result::Result<f64, String> {
    let d: crate::dist::Duration = s.parse()?;
    Ok(crate::engine::ns_to_secs(d.0))
}

/// `surge calibrate` (docs/calibration.md).
#[derive(clap::Args, Debug)]
pub struct CalibrateOpts {
    scenario: PathBuf,
    /// Measured points: a CSV (one row per load level); a k6 summary JSON, as FILE@N (VUs) or
    /// FILE@R/s (arrivals per second) when the file does not say; or a k6 `--out json`/`--out
    /// csv` time series, a point per hold (FILE@open or FILE@closed to say which kind,
    /// FILE@scenario=NAME for one scenario of several) (repeatable).
    #[arg(long, value_name = "FILE[@LOAD]", required = true)]
    measured: Vec<String>,
    /// A free parameter by --set path, with optional bounds: PATH=LO..HI (repeatable).
    #[arg(long, value_name = "PATH[=LO..HI]", required = true)]
    fit: Vec<String>,
    /// Load levels kept out of the fit and predicted (comma-separated).
    #[arg(long, value_delimiter = ',')]
    holdout: Vec<f64>,
    /// Output directory (default: results/<scenario>-calibrated).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replications per point and evaluation (common random numbers across evaluations).
    #[arg(long, default_value_t = 3)]
    replications: u64,
    #[arg(long)]
    seed: Option<u64>,
    /// Parallel simulations (default: the number of CPUs). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// The --set path that takes a point's load (default: the one constant-vus or
    /// arrival-rate executor's `vus` or `rate`).
    #[arg(long, value_name = "PATH")]
    load_path: Option<String>,
    /// Budget of loss evaluations.
    #[arg(long, default_value_t = 150)]
    max_evals: usize,
    /// Loss weights: x, r, p95, util, cpu (e.g. x=1,r=1,p95=0.5).
    #[arg(long, default_value = "")]
    weights: String,
    /// Fixed overrides applied before fitting: --set PATH=VALUE (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    #[arg(long, short)]
    quiet: bool,
    /// Each simulation of a point (every load, replication and evaluation) is held to this
    /// budget, checked up front against its estimate.
    #[command(flatten)]
    budget: BudgetOpts,
}

impl CalibrateOpts {
    fn args(self) -> Result<crate::calibrate::Args> {
        Ok(crate::calibrate::Args {
            budget: self.budget.budget()?,
            weights: crate::calibrate::Weights::parse(&self.weights)?,
            progress: !self.quiet,
            scenario: self.scenario,
            measured: self.measured,
            fit: self.fit,
            holdout: self.holdout,
            out: self.out,
            replications: self.replications,
            seed: self.seed,
            jobs: self.jobs,
            load_path: self.load_path,
            max_evals: self.max_evals,
            sets: self.sets,
        })
    }
}

/// Options shared by `sweep` and `plan`.
#[derive(clap::Args, Debug)]
pub struct SweepOpts {
    /// PATH=V1,V2,... or PATH=START..END:STEP, where PATH is a --set path (repeatable).
    #[arg(long = "param", value_name = "PATH=VALUES")]
    params: Vec<String>,
    /// Replications per point (replication r uses the same random streams at every point).
    #[arg(long, default_value_t = 5)]
    replications: u64,
    /// Parallel runs (default: the number of CPUs). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory; rerunning into it resumes the sweep.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Add replications until every target's 95 % interval is within this fraction of its mean.
    #[arg(long, value_name = "REL")]
    precision: Option<f64>,
    /// Cap on replications per point with --precision.
    #[arg(long, default_value_t = 50)]
    max_replications: u64,
    /// Run length by precision (stationary scenarios): end each run once every target's 95 %
    /// interval (MSER-5 warm-up deletion, batch means) is within this fraction of its mean.
    #[arg(long, value_name = "REL")]
    run_precision: Option<f64>,
    /// The metric the charts and console table show.
    #[arg(long, default_value = "http_req_duration.p(95)")]
    metric: String,
    /// Do not print the results table.
    #[arg(long, short)]
    quiet: bool,
    /// Run every point itself, even when points that differ only in their HPAs and pool sizes
    /// could share a run (they share it only when every HPA and pool decided alike throughout;
    /// results are the same).
    #[arg(long)]
    no_shared_runs: bool,
    #[command(flatten)]
    budget: BudgetOpts,
}

impl SweepOpts {
    fn args(
        self,
        scenario: PathBuf,
        design: String,
        shard: Option<String>,
    ) -> Result<crate::sweep::SweepArgs> {
        Ok(crate::sweep::SweepArgs {
            budget: self.budget.budget()?,
            scenario,
            params: self.params,
            design,
            replications: self.replications,
            jobs: self.jobs,
            seed: self.seed,
            out: self.out,
            shard,
            precision: self.precision,
            max_replications: self.max_replications,
            run_precision: self.run_precision,
            metric: self.metric,
            progress: !self.quiet,
            share_runs: !self.no_shared_runs,
        })
    }
}

fn print_finished(f: &crate::sweep::Finished, quiet: bool) {
    if !quiet {
        print!("{}", f.text);
        println!("\n  wrote {}: {}", f.out.display(), f.files.join(", "));
    }
}

/// Run the CLI; returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn progress_bar(planned_ns: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(planned_ns / 1_000_000_000);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} simulated {pos}/{len}s [{bar:40}] {elapsed_precise} eta {eta}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    pb
}

/// The scenario `surge run` runs: a surge scenario file, or an Artillery script imported in
/// memory against `--model`.
fn load_run(
    path: &Path,
    model: Option<&Path>,
    sets: &[String],
    budget: config::budget::Budget,
) -> Result<config::Loaded> {
    let text = config::read_text(path)?;
    let doc: Option<serde_json::Value> = serde_saphyr::from_str(&text).ok();
    // Unreadable YAML with --model goes to the importer, which reports where it breaks.
    // With --model, a `scenarios:` list is Artillery's even without `config:` (a scenario-only
    // file, as `surge import artillery` also reads).
    let artillery = doc.as_ref().map_or(model.is_some(), |d| {
        crate::import::artillery::looks_like(d)
            || (model.is_some() && d.get("scenarios").is_some_and(|v| v.is_array()))
    });
    let loaded = match (artillery, model) {
        (true, Some(m)) => {
            let (mut loaded, notes) = crate::import::artillery::load(path, &text, m, sets, budget)?;
            for n in notes {
                eprintln!("note: {n}");
            }
            if std::env::var_os("ARTILLERY_DISABLE_ENSURE").is_some() {
                if let Some(n) = crate::import::artillery::disable_ensure(&mut loaded, path, &text)
                {
                    eprintln!("note: {n}");
                }
            }
            loaded
        }
        (true, None) => {
            return Err(Error::Usage(format!(
                "{} is an Artillery script: give the model to run it against with --model MODEL",
                path.display()
            )))
        }
        (false, Some(_)) => {
            let surge = doc.as_ref().is_some_and(|d| d.get("model").is_some());
            return Err(Error::Usage(if surge {
                format!(
                    "--model is for Artillery scripts; {} is a surge scenario (its `model:` \
                     names the model)",
                    path.display()
                )
            } else {
                format!(
                    "{}: expected an Artillery script (a `scenarios:` list of flows, with \
                     `config:`) to run with --model; this file has neither",
                    path.display()
                )
            }));
        }
        (false, None) => config::load_text(path, &text, sets, budget)?,
    };
    print_notes(&loaded);
    Ok(loaded)
}

/// What a loaded scenario may not do as its author expects, before it runs.
fn print_notes(loaded: &config::Loaded) {
    for n in crate::autoscale::driver::notes(&loaded.model) {
        eprintln!("note: {}: {n}", loaded.model_path.display());
    }
    for n in crate::threshold::notes(&loaded.scenario.thresholds) {
        eprintln!("note: {}: {n}", loaded.scenario_path.display());
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run {
            scenario,
            seed,
            replication,
            out,
            sets,
            quiet,
            iterations_log,
            summary_export,
            budget,
            model,
        } => {
            let loaded = load_run(&scenario, model.as_deref(), &sets, budget.budget()?)?;
            let seed = seed.unwrap_or(loaded.scenario.seed);
            let out = out.unwrap_or_else(|| Path::new("results").join(loaded.name()));
            report::check_output_dir("--out", &out)?;
            if let Some(p) = &iterations_log {
                report::check_output_file("--iterations-log", p)?;
            }
            if let Some(p) = &summary_export {
                report::check_output_file("--summary-export", p)?;
            }
            let mut pb: Option<ProgressBar> = None;
            let result = sim::try_run_logged(
                &loaded,
                RunOptions { seed, replication },
                iterations_log.is_some(),
                &mut |t, planned| {
                    let bar = pb.get_or_insert_with(|| progress_bar(planned));
                    bar.set_position(t / 1_000_000_000);
                },
            );
            if let Some(bar) = pb {
                bar.finish_and_clear();
            }
            let mut result = result?;
            if let (Some(path), Some(csv)) = (&iterations_log, result.iterations_csv.take()) {
                report::write_atomic(path, csv.as_bytes())?;
            }
            let mut rep = Report::new(&loaded, result, seed);
            if let Some(b) = crate::cost::Baseline::load(&loaded)? {
                let base = b.value(RunOptions { seed, replication })?;
                let v = b.verdict(rep.cost.as_ref(), base);
                rep.push_verdict(v);
            }
            crate::stale::remove_stale_temp_files(&out);
            let files = report::write_run(&out, &rep)?;
            if let Some(path) = &summary_export {
                report::write_atomic(path, report::summary_export(&rep.json).as_bytes())?;
            }
            if !quiet {
                print!("{}", report::console_summary(&rep));
                println!("\n  wrote {}: {}", out.display(), files.join(", "));
            } else if !rep.passed() {
                print!("{}", report::failed_targets(&rep));
            }
            Ok(if rep.passed() { 0 } else { EXIT_TARGETS_FAILED })
        }
        Command::Inspect {
            scenario,
            sets,
            json,
        } => {
            let loaded = config::load(&scenario, &sets)?;
            let plan = crate::workload::inspect::Plan::of(&loaded.scenario);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&plan.to_json()).unwrap_or_default()
                );
            } else {
                print!("{}", plan.to_text());
            }
            Ok(0)
        }
        Command::Import {
            command: ImportCommand::Artillery { file, model, out },
        } => {
            use crate::import::artillery;
            let text = config::read_text(&file)?;
            let model_ref = match (&model, &out) {
                (Some(m), Some(o)) => {
                    crate::import::relative_path(m, o.parent().unwrap_or_else(|| Path::new(".")))
                        .to_string_lossy()
                        .replace('\\', "/")
                }
                (Some(m), None) => m.display().to_string(),
                (None, _) => "MODEL.yaml".to_string(),
            };
            let imported = artillery::import(&file, &text, &model_ref)?;
            if let Some(dir) = out
                .as_ref()
                .and_then(|o| o.parent())
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            if model.is_some() {
                let at = out
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("imported.yaml"));
                artillery::check(&file, &text, &imported, &at, &[], Default::default())?;
            }
            for n in &imported.notes {
                eprintln!("note: {n}");
            }
            let yaml = imported.to_yaml(&file)?;
            match out {
                Some(o) => {
                    report::write_atomic(&o, yaml.as_bytes())?;
                    println!("wrote {}", o.display());
                    if model.is_none() {
                        println!("set its `model:` to your model file (or import with --model)");
                    }
                }
                None => print!("{yaml}"),
            }
            Ok(0)
        }
        Command::Validate { files, budget } => {
            let budget = budget.budget()?;
            for f in &files {
                let text = config::read_text(f)?;
                let doc: Option<serde_json::Value> = serde_saphyr::from_str(&text).ok();
                if doc
                    .as_ref()
                    .is_some_and(crate::import::artillery::looks_like)
                {
                    // Phases, steps and ensure as the importer reads them; routes need a model.
                    let imp = crate::import::artillery::import(f, &text, "MODEL.yaml")?;
                    for n in &imp.notes {
                        eprintln!("note: {n}");
                    }
                    println!(
                        "{}: ok (Artillery script, {} flow(s); run it with --model MODEL)",
                        f.display(),
                        imp.scenario["flows"].as_object().map_or(0, |m| m.len())
                    );
                    continue;
                }
                match config::sniff(f, &text)? {
                    config::FileKind::Scenario => {
                        let l = config::load_with(f, &[], budget)?;
                        print_notes(&l);
                        let est = config::budget::estimate(&l.scenario, &l.model);
                        println!(
                            "{}: ok (scenario {:?}, {} executor(s), {} flow(s), model {}; \
                             estimated {} of memory and {} events, budget {} and {})",
                            f.display(),
                            l.name(),
                            l.scenario.scenarios.len(),
                            l.scenario.flows.len(),
                            l.model_path.display(),
                            config::budget::fmt_bytes(est.memory()),
                            est.events(),
                            config::budget::fmt_bytes(budget.max_memory),
                            budget.max_events
                        );
                    }
                    config::FileKind::Model => {
                        let m = config::load_model(f)?;
                        for n in crate::autoscale::driver::notes(&m) {
                            eprintln!("note: {}: {n}", f.display());
                        }
                        println!(
                            "{}: ok (model, {} service(s), {} database(s))",
                            f.display(),
                            m.services.len(),
                            m.databases.len()
                        );
                    }
                    config::FileKind::Kubernetes => {
                        use crate::autoscale::hpa_import;
                        let (hpas, ignored) = hpa_import::load_all(f, &text)?;
                        if hpas.is_empty() {
                            return Err(Error::input(
                                f,
                                "",
                                format!(
                                    "expected a HorizontalPodAutoscaler; found {}",
                                    if ignored.is_empty() {
                                        "no objects".into()
                                    } else {
                                        ignored.join(", ")
                                    }
                                ),
                            ));
                        }
                        for h in &hpas {
                            println!("{}: ok ({})", f.display(), hpa_import::describe(h));
                        }
                        if !ignored.is_empty() {
                            println!("{}: ignored {}", f.display(), ignored.join(", "));
                        }
                    }
                }
            }
            Ok(0)
        }
        Command::Sweep {
            scenario,
            opts,
            design,
            shard,
        } => {
            let quiet = opts.quiet;
            let f = crate::sweep::sweep(&opts.args(scenario, design, shard)?)?;
            print_finished(&f, quiet);
            Ok(0)
        }
        Command::Plan {
            scenario,
            opts,
            confidence,
            monotone,
            objective,
            no_early_stop,
            screen,
            screen_margin,
            screen_verify,
        } => {
            let quiet = opts.quiet;
            let args = opts.args(scenario, "grid".into(), None)?;
            let pa = crate::sweep::PlanArgs {
                confidence,
                monotone,
                objective,
                early_stop: !no_early_stop,
                screen,
                screen_margin,
                screen_verify,
            };
            let (f, found) = crate::sweep::plan(&args, &pa)?;
            print_finished(&f, quiet);
            if quiet && !found {
                println!(
                    "verdict: TARGETS FAILED: no configuration meets every target with probability >= {confidence}"
                );
            }
            Ok(if found { 0 } else { EXIT_TARGETS_FAILED })
        }
        Command::Merge { dirs, out, metric } => {
            let f = crate::sweep::merge(&dirs, &out, &metric)?;
            print_finished(&f, false);
            Ok(0)
        }
        Command::Calibrate(opts) => {
            let quiet = opts.quiet;
            let o = crate::calibrate::calibrate(&opts.args()?)?;
            if !quiet {
                print!("{}", o.text);
            }
            println!("\n  wrote {}: {}", o.out.display(), o.files.join(", "));
            Ok(0)
        }
        Command::Report { dir } => {
            let f = report::html::write(&dir)?;
            println!("wrote {}", dir.join(f).display());
            Ok(0)
        }
        Command::Compare { dirs, out } => {
            let c = crate::compare::compare(&dirs, &out)?;
            print!("{}", c.text);
            println!("\n  wrote {}: {}", c.out.display(), c.files.join(", "));
            Ok(0)
        }
        Command::Hpa {
            command:
                HpaCommand::Replay {
                    hpas,
                    metrics,
                    out,
                    pod_startup,
                    metrics_delay,
                    sync,
                    initial,
                    service,
                },
        } => {
            use crate::autoscale::replay;
            if sync <= 0.0 {
                return Err(Error::Usage("--sync must be more than 0s".into()));
            }
            let trace =
                crate::autoscale::prometheus::load_trace(&metrics, &config::read_text(&metrics)?)?;
            if let Some(s) = &service {
                trace.check_service(s)?;
            }
            let opts = replay::ReplayOptions {
                sync_s: sync,
                pod_startup_s: pod_startup,
                metrics_delay_s: metrics_delay,
                initial,
                service: service.clone(),
            };
            let mut runs = Vec::new();
            for (i, f) in hpas.iter().enumerate() {
                let h = replay::load_hpa(f)?;
                let stem = f
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| format!("hpa{i}"));
                // Names must be unique columns: the file stem, numbered when repeated.
                let name = if hpas[..i].iter().any(|g| g.file_stem() == f.file_stem()) {
                    format!("{stem}_{i}")
                } else {
                    stem
                };
                runs.push(replay::replay(&h, &name, &trace, &opts)?);
            }
            let recorded = replay::recorded_replicas(&trace, service.as_deref());
            let out = out.unwrap_or_else(|| Path::new("results").join("hpa-replay"));
            let files = report::scaling::write_replay(&out, &runs, recorded.as_ref())?;
            for r in &runs {
                println!(
                    "  {}: {} scale events, replicas {} -> {} (max {})",
                    r.name,
                    r.events.len(),
                    r.replicas.first().copied().unwrap_or(0),
                    r.replicas.last().copied().unwrap_or(0),
                    r.replicas.iter().copied().max().unwrap_or(0)
                );
            }
            println!("\n  wrote {}: {}", out.display(), files.join(", "));
            Ok(0)
        }
        Command::Import {
            command: ImportCommand::K6 { file, model, out },
        } => {
            let target = crate::import::Target { model, out };
            let imported = crate::import::k6::import(&file, &target)?;
            for n in &imported.notes {
                eprintln!("note: {}: {n}", file.display());
            }
            target.emit(&imported.yaml)?;
            if let Some(o) = &target.out {
                eprintln!("wrote {}", o.display());
            }
            Ok(0)
        }
        Command::Bench {
            customers,
            quickstart,
        } => {
            // A scenario named on the command line must be there; the default one is timed
            // when the command runs from the repository.
            let quickstart = match quickstart {
                Some(q) if !q.is_file() => {
                    let what = if q.exists() {
                        "not a file"
                    } else {
                        "file not found"
                    };
                    return Err(Error::input(
                        &q,
                        "",
                        format!("{what}; expected a scenario file to time (--quickstart)"),
                    ));
                }
                Some(q) => Some(q),
                None => {
                    let q = PathBuf::from("scenarios/quickstart.yaml");
                    if q.is_file() {
                        Some(q)
                    } else {
                        eprintln!(
                            "note: {} is not here (run from the repository, or name a scenario \
                             with --quickstart): only the M/M/c benchmark is timed",
                            q.display()
                        );
                        None
                    }
                }
            };
            let b = crate::bench::try_mmc(customers)?;
            println!("{b}");
            if let Some(q) = quickstart {
                println!("{}", crate::bench::scenario(&q)?);
            }
            Ok(0)
        }
    }
}

impl From<clap::Error> for Error {
    fn from(e: clap::Error) -> Self {
        Error::Usage(e.to_string())
    }
}
