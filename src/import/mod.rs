//! `surge import`: users' load-test files as they are (k6 scripts, inspect JSON and archives; Artillery scripts)
//! turned into surge scenarios. What the formats share lives here: the result, YAML quoting,
//! the model path written into the scenario, and checking the scenario with surge's own
//! validation before it is written.

pub mod artillery;
pub mod k6;

use crate::config::{self, ModelFile, ScenarioFile};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// An imported scenario: its YAML text and what the user should know about it.
#[derive(Debug)]
pub struct Imported {
    pub yaml: String,
    /// Warnings and things left for the user to fill in, one line each, printed on stderr.
    pub notes: Vec<String>,
}

/// Where the scenario will be written and which model it runs on.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--model`: flows are resolved against its routes and the result is validated.
    pub model: Option<PathBuf>,
    /// `--out`: the scenario file (stdout when absent; paths are then relative to the cwd).
    pub out: Option<PathBuf>,
}

impl Target {
    /// The `model:` value of the scenario: the model's path relative to the scenario's folder.
    pub fn model_ref(&self) -> Option<String> {
        let model = self.model.as_ref()?;
        let dir = self
            .out
            .as_ref()
            .and_then(|o| o.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        Some(
            relative_path(model, dir)
                .to_string_lossy()
                .replace('\\', "/"),
        )
    }

    /// The path the scenario is (or would be) at, for resolving its `model:`.
    pub fn scenario_path(&self, stem: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{stem}.yaml")))
    }

    /// Write `yaml` atomically to `--out`, or print it on stdout.
    pub fn emit(&self, yaml: &str) -> Result<()> {
        match &self.out {
            Some(p) => {
                crate::report::check_output_file("--out", p)?;
                crate::report::write_atomic(p, yaml.as_bytes())
            }
            None => {
                print!("{yaml}");
                Ok(())
            }
        }
    }
}

/// `path` relative to `dir` (both resolved against the cwd; symlinks followed when they exist).
pub fn relative_path(path: &Path, dir: &Path) -> PathBuf {
    let abs = |p: &Path| {
        std::fs::canonicalize(p).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|c| c.join(p))
                .unwrap_or_else(|_| p.to_path_buf())
        })
    };
    let (p, d) = (abs(path), abs(dir));
    let pc: Vec<_> = p.components().collect();
    let dc: Vec<_> = d.components().collect();
    let common = pc.iter().zip(&dc).take_while(|(a, b)| a == b).count();
    // Only the root in common: the absolute path reads better than a climb to it.
    if common <= 1 {
        return p;
    }
    let mut out = PathBuf::new();
    for _ in common..dc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c);
    }
    out
}

/// A YAML mapping key: plain when it cannot be read as anything but that string.
pub fn yaml_key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        k.to_string()
    } else {
        yaml_str(k)
    }
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
pub fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A YAML comment: one line, never closing the comment early.
pub fn comment(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Parse the generated scenario back and run surge's scenario validation on it, against the
/// model when one is given (else against `stub`, a one-endpoint model, with the flows left
/// out, so executors and thresholds are still checked). The error is (field, message).
pub fn check(
    text: &str,
    scenario_path: &Path,
    model: Option<&ModelFile>,
) -> std::result::Result<ScenarioFile, Check> {
    let s: ScenarioFile =
        serde_saphyr::from_str(text).map_err(|e| match config::yaml_limit(&e) {
            Some(what) => Check::Limit(what),
            None => Check::Parse(config::yaml_error(scenario_path, text, &e)),
        })?;
    match model {
        Some(m) => config::validate_scenario(&s, m).map_err(|(f, m)| Check::Field(f, m))?,
        None => {
            let stub: ModelFile = config::parse_yaml(Path::new("<stub model>"), STUB_MODEL)
                .expect("the stub model parses");
            let mut t = s.clone();
            let stub_flow: crate::config::scenario::FlowCfg =
                config::parse_yaml(Path::new("<stub flow>"), "steps: [{request: e}]")
                    .expect("the stub flow parses");
            for f in t.flows.values_mut() {
                *f = stub_flow.clone();
            }
            config::validate_scenario(&t, &stub).map_err(|(f, m)| Check::Field(f, m))?;
        }
    }
    Ok(s)
}

/// Why a generated scenario was refused.
#[derive(Debug)]
pub enum Check {
    /// It does not parse as a scenario (an executor surge lacks, say).
    Parse(Error),
    /// It is past a limit of the YAML reader: what it has too much of
    /// (`config::yaml_limit`), a size of the input rather than a mistake in it.
    Limit(String),
    /// surge's validation names a field and says what was expected.
    Field(String, String),
}

const STUB_MODEL: &str = "name: stub\nentry: s\nservices:\n  s:\n    replicas: 1\n    \
                          pod: {cores: 1}\n    endpoints:\n      e:\n        - cpu: const(1ms)\n";

/// Load a model for `--model` (validated, autoscalers resolved).
pub fn load_model(path: &Path) -> Result<ModelFile> {
    config::load_model(path)
}
