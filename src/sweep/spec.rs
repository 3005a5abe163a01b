//! `sweep.json`: everything needed to reproduce a sweep (scenario, parameters, design, seed,
//! replications, the expanded points) plus a hash of the input files, so that resuming into a
//! directory that holds a different sweep is refused instead of mixing results.

use super::design::Design;
use super::params::{PValue, Param};
use super::shard::Shard;
use crate::config::{self, Loaded};
use crate::error::{Error, Result};
use crate::report::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Replicate until every target's interval is within `relative` of its mean (JMT's rule).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Precision {
    pub relative: f64,
    pub max_replications: u64,
}

/// `surge plan`'s settings (absent for plain sweeps).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanSpec {
    pub confidence: f64,
    /// Parameters where a larger value means more capacity and more cost.
    pub monotone: Vec<String>,
    /// Stop runs whose verdict is decided (`sweep::decided`).
    #[serde(default)]
    pub early_stop: bool,
    /// The runs-table metric minimised (`--objective`; `cost.per_hour` for `total`).
    #[serde(default = "total_cost")]
    pub objective: String,
    /// Multi-fidelity: screen at a fraction of the run length first (`--screen`).
    #[serde(default)]
    pub screen: Option<Screen>,
}

fn total_cost() -> String {
    "cost.per_hour".into()
}

/// The screening stage of a multi-fidelity plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Screen {
    /// Screening runs last this fraction of the scenario's planned end.
    pub fraction: f64,
    /// A point failing screening is still confirmed at full length when every target it
    /// missed was missed by less than this fraction of the target's limit.
    pub margin: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub surge_version: String,
    /// The scenario as given on the command line.
    pub scenario: String,
    /// FNV-1a of the scenario, model and baseline files' bytes.
    pub inputs_hash: String,
    pub params: Vec<Param>,
    pub design: Design,
    pub seed: u64,
    pub replications: u64,
    pub precision: Option<Precision>,
    /// Run length by precision: stop each run when every target's steady-state interval is
    /// within this fraction of its mean (`--run-precision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_precision: Option<f64>,
    #[serde(default)]
    pub plan: Option<PlanSpec>,
    /// Every point of the design: one value per parameter.
    pub points: Vec<Vec<PValue>>,
    /// Which slice of the points this directory holds (absent: all of them).
    #[serde(default)]
    pub shard: Option<Shard>,
}

fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// A fingerprint of the files a sweep reads; editing any of them makes it a different sweep.
pub fn inputs_hash(base: &Loaded) -> Result<String> {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut files = vec![base.scenario_path.clone(), base.model_path.clone()];
    if let Some(b) = base.cost_baseline() {
        files.push(b);
    }
    for f in files {
        h = fnv1a(h, config::read_text(&f)?.as_bytes());
        h = fnv1a(h, &[0xff]);
    }
    Ok(format!("{h:016x}"))
}

impl Spec {
    /// The `--set` strings of point `i`.
    pub fn sets(&self, i: usize) -> Vec<String> {
        self.params
            .iter()
            .zip(&self.points[i])
            .map(|(p, v)| format!("{}={v}", p.path))
            .collect()
    }

    /// Human-readable `path=value` list of point `i`.
    pub fn label(&self, i: usize) -> String {
        let s = self.sets(i);
        if s.is_empty() {
            "(base scenario)".into()
        } else {
            s.join(" ")
        }
    }

    /// The points this directory runs, in order.
    pub fn my_points(&self) -> Vec<usize> {
        (0..self.points.len())
            .filter(|&i| self.shard.is_none_or(|s| s.owns(i)))
            .collect()
    }

    /// Write `sweep.json` into a fresh `out`, or check that the one there is this sweep.
    pub fn claim(&self, out: &Path, flag: &str) -> Result<()> {
        let rows = super::row::rows_dir(out);
        std::fs::create_dir_all(&rows).map_err(|e| Error::io(&rows, e))?;
        let path = out.join("sweep.json");
        if path.exists() {
            let text = config::read_text(&path)?;
            let old: Spec = serde_json::from_str(&text)
                .map_err(|e| Error::input(&path, "", format!("not a sweep specification: {e}")))?;
            if &old != self {
                let what = if old.inputs_hash != self.inputs_hash {
                    "the scenario or model files changed since"
                } else {
                    "its parameters, design, seed, replications or shard differ"
                };
                return Err(Error::Usage(format!(
                    "{flag} {}: it holds a different sweep ({what}); use another {flag} or delete it",
                    out.display()
                )));
            }
            return Ok(());
        }
        self.write(out)
    }

    pub fn write(&self, out: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("spec serializes");
        write_atomic(&out.join("sweep.json"), json.as_bytes())
    }

    pub fn read(dir: &Path) -> Result<Spec> {
        let path = dir.join("sweep.json");
        let text = config::read_text(&path)?;
        let spec: Spec = serde_json::from_str(&text)
            .map_err(|e| Error::input(&path, "", format!("not a sweep specification: {e}")))?;
        // Points are indexed by the rows and zipped with the parameters: check their shape.
        if spec.points.is_empty() {
            return Err(Error::input(&path, "points", "expected at least one point"));
        }
        if let Some(i) = spec
            .points
            .iter()
            .position(|p| p.len() != spec.params.len())
        {
            return Err(Error::input(
                &path,
                format!("points[{i}]"),
                format!(
                    "expected one value for each of the {} parameters, found {}",
                    spec.params.len(),
                    spec.points[i].len()
                ),
            ));
        }
        Ok(spec)
    }
}
