//! Loading scenario and model files: YAML parsing with line numbers, `--set path=value`
//! overrides, and semantic validation that names the field at fault.

pub mod cost;
pub mod metric_source;
pub mod model;
pub mod overrides;
pub mod quantity;
pub mod scenario;
mod validate;
pub use validate::resolve_endpoint;

use crate::error::{Error, Result};
pub use model::ModelFile;
pub use scenario::ScenarioFile;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A scenario with its model, both validated.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub scenario: ScenarioFile,
    pub model: ModelFile,
    pub scenario_path: PathBuf,
    pub model_path: PathBuf,
}

impl Loaded {
    /// This scenario with `path=value` overrides applied and both files re-validated
    /// (one sweep point). Errors name the file and field.
    pub fn with_sets(&self, sets: &[String]) -> Result<Loaded> {
        let mut l = self.clone();
        overrides::apply(&mut l.scenario, &mut l.model, sets)?;
        let at = |file: &Path, (field, msg): (String, String)| {
            Error::input(file, format!("field {field}"), msg)
        };
        validate::model(&l.model).map_err(|e| at(&l.model_path, e))?;
        validate::scenario(&l.scenario, &l.model).map_err(|e| at(&l.scenario_path, e))?;
        Ok(l)
    }

    /// The baseline scenario of a `targets.cost_ratio`, resolved against this scenario's folder.
    pub fn cost_baseline(&self) -> Option<PathBuf> {
        let c = self.scenario.targets.as_ref()?.cost_ratio.as_ref()?;
        Some(
            self.scenario_path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join(&c.baseline),
        )
    }

    /// The run's name: the scenario's `name`, else its file stem.
    pub fn name(&self) -> String {
        self.scenario.name.clone().unwrap_or_else(|| {
            self.scenario_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into())
        })
    }
}

pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        let what = if e.kind() == std::io::ErrorKind::NotFound {
            "file not found".to_string()
        } else {
            format!("cannot read: {e}")
        };
        Error::input(path, "", what)
    })
}

/// Parse YAML into `T`, mapping parser errors to "file: line L, column C: message".
pub fn parse_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let location = e
            .location()
            .map(|l| format!("line {}, column {}", l.line(), l.column()))
            .unwrap_or_default();
        let msg = e.to_string();
        // The library's text repeats the location and draws a snippet; keep the first line only.
        let mut first = msg.lines().next().unwrap_or("").trim();
        first = first.strip_prefix("error:").unwrap_or(first).trim();
        // Drop the library's own "line L column C:" prefix; the location is reported separately.
        if let Some(rest) = first.strip_prefix("line ") {
            if let Some((_, tail)) = rest.split_once(": ") {
                first = tail;
            }
        }
        let first = first.to_string();
        Error::input(path, location, first)
    })
}

/// What kind of file a path holds, judged by its top-level keys.
pub enum FileKind {
    Scenario,
    Model,
}

pub fn sniff(path: &Path, text: &str) -> Result<FileKind> {
    let v: serde_json::Value = parse_yaml(path, text)?;
    match v.as_object() {
        Some(o) if o.contains_key("scenarios") || o.contains_key("flows") => Ok(FileKind::Scenario),
        Some(o) if o.contains_key("services") => Ok(FileKind::Model),
        _ => Err(Error::input(
            path,
            "",
            "expected a scenario (with `scenarios:` and `flows:`) or a model (with `services:`)",
        )),
    }
}

/// Replace autoscaler file references with the manifests they name (paths relative to the model).
fn resolve_autoscalers(m: &mut ModelFile, model_path: &Path) -> Result<()> {
    use model::AutoscalerRef;
    for (name, s) in m.services.iter_mut() {
        if let Some(AutoscalerRef::Path(p)) = &s.autoscaler {
            let path = model_path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join(p);
            let text = read_text(&path).map_err(|_| {
                Error::input(
                    model_path,
                    format!("field services.{name}.autoscaler"),
                    format!(
                        "HPA manifest {} not found (relative to the model file)",
                        path.display()
                    ),
                )
            })?;
            let hpa = parse_yaml(&path, &text)?;
            s.autoscaler = Some(AutoscalerRef::Inline(Box::new(hpa)));
        }
        if let Some(aws) = &mut s.aws_autoscaling {
            resolve_json(
                &mut aws.group,
                model_path,
                &format!("services.{name}.aws_autoscaling.group"),
            )?;
            resolve_json(
                &mut aws.policies,
                model_path,
                &format!("services.{name}.aws_autoscaling.policies"),
            )?;
        }
    }
    for (name, d) in m.databases.iter_mut() {
        if let Some(r) = &mut d.replica_autoscaling {
            resolve_json(
                &mut r.policies,
                model_path,
                &format!("databases.{name}.replica_autoscaling.policies"),
            )?;
        }
    }
    Ok(())
}

/// A JSON value given as a path (relative to the model file) is replaced by the file's content.
fn resolve_json(v: &mut serde_json::Value, model_path: &Path, field: &str) -> Result<()> {
    if let serde_json::Value::String(p) = v {
        let path = model_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&*p);
        let text = read_text(&path).map_err(|_| {
            Error::input(
                model_path,
                format!("field {field}"),
                format!("{} not found (relative to the model file)", path.display()),
            )
        })?;
        *v = serde_json::from_str(&text).map_err(|e| {
            Error::input(
                &path,
                format!("line {}, column {}", e.line(), e.column()),
                e.to_string(),
            )
        })?;
    }
    Ok(())
}

pub fn load_model(path: &Path) -> Result<ModelFile> {
    let text = read_text(path)?;
    let mut m: ModelFile = parse_yaml(path, &text)?;
    resolve_autoscalers(&mut m, path)?;
    validate::model(&m).map_err(|(field, msg)| located(path, &text, &field, msg))?;
    Ok(m)
}

/// Load a scenario and its model, apply `--set` overrides, and validate both.
pub fn load(path: &Path, sets: &[String]) -> Result<Loaded> {
    let text = read_text(path)?;
    let mut scenario: ScenarioFile = parse_yaml(path, &text)?;
    let model_path = path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(&scenario.model);
    let model_text = read_text(&model_path).map_err(|_| {
        located(
            path,
            &text,
            "model",
            format!(
                "model file {} not found (the path is relative to the scenario file)",
                model_path.display()
            ),
        )
    })?;
    let mut model: ModelFile = parse_yaml(&model_path, &model_text)?;
    resolve_autoscalers(&mut model, &model_path)?;
    overrides::apply_to_model(&mut model, &scenario.model_overrides)
        .map_err(|(field, msg)| override_error(path, &text, &field, msg))?;
    if !sets.is_empty() {
        overrides::apply(&mut scenario, &mut model, sets)?;
    }
    validate::model(&model)
        .map_err(|(field, msg)| located(&model_path, &model_text, &field, msg))?;
    validate::scenario(&scenario, &model)
        .map_err(|(field, msg)| located(path, &text, &field, msg))?;
    Ok(Loaded {
        scenario,
        model,
        scenario_path: path.to_path_buf(),
        model_path,
    })
}

/// Build from YAML text (tests, benchmarks, embedded examples); the scenario's `model` is ignored.
pub fn from_strs(scenario_yaml: &str, model_yaml: &str) -> Result<Loaded> {
    let sp = Path::new("<scenario>");
    let mp = Path::new("<model>");
    let scenario: ScenarioFile = parse_yaml(sp, scenario_yaml)?;
    let mut model: ModelFile = parse_yaml(mp, model_yaml)?;
    resolve_autoscalers(&mut model, mp)?;
    overrides::apply_to_model(&mut model, &scenario.model_overrides)
        .map_err(|(f, m)| override_error(sp, scenario_yaml, &f, m))?;
    validate::model(&model).map_err(|(f, m)| located(mp, model_yaml, &f, m))?;
    validate::scenario(&scenario, &model).map_err(|(f, m)| located(sp, scenario_yaml, &f, m))?;
    Ok(Loaded {
        scenario,
        model,
        scenario_path: sp.to_path_buf(),
        model_path: mp.to_path_buf(),
    })
}

/// An error at a field path, with the line where that field sits when it can be found.
/// A bad `model_overrides` entry: its keys contain dots, so it is found by its literal key line.
fn override_error(path: &Path, text: &str, field: &str, msg: String) -> Error {
    let key = field.strip_prefix("model_overrides.").unwrap_or(field);
    let start = find_line(text, "model_overrides").unwrap_or(1);
    let line = text
        .lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| {
            let t = l.trim_start().trim_start_matches(['\'', '"']);
            t.starts_with(key)
                && t[key.len()..]
                    .trim_start_matches(['\'', '"'])
                    .starts_with(':')
        })
        .map_or(start, |(i, _)| i + 1);
    Error::input(path, format!("line {line}, field {field}"), msg)
}

fn located(path: &Path, text: &str, field: &str, msg: String) -> Error {
    let loc = match find_line(text, field) {
        Some(line) => format!("line {line}, field {field}"),
        None => format!("field {field}"),
    };
    Error::input(path, loc, msg)
}

/// Best-effort line of a dotted field path in block-style YAML (1-based).
pub fn find_line(text: &str, field: &str) -> Option<usize> {
    let segs: Vec<&str> = field
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .filter(|s| !s.is_empty())
        .collect();
    let mut min_indent: isize = -1;
    let mut found = None;
    let mut lines = text.lines().enumerate();
    'seg: for seg in segs {
        for (i, line) in lines.by_ref() {
            let trimmed = line.trim_start_matches([' ', '-']);
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = (line.len() - trimmed.len()) as isize;
            if found.is_some() && indent <= min_indent {
                return found;
            }
            let key = trimmed
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            if key == seg && trimmed.contains(':') {
                min_indent = indent;
                found = Some(i + 1);
                continue 'seg;
            }
        }
        return found;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::find_line;

    #[test]
    fn finds_nested_field_lines() {
        let y = "a: 1\nscenarios:\n  x:\n    rate: 2\n  load:\n    executor: c\n    rate: -5\n";
        assert_eq!(find_line(y, "scenarios.load.rate"), Some(7));
        assert_eq!(find_line(y, "scenarios.x.rate"), Some(4));
        assert_eq!(find_line(y, "a"), Some(1));
    }
}
