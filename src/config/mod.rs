//! Loading scenario and model files: YAML parsing with line numbers, `--set path=value`
//! overrides, and semantic validation that names the field at fault.

pub mod artillery;
pub mod budget;
pub mod contention;
pub mod cost;
pub mod metric_source;
pub mod model;
pub mod overrides;
pub mod quantity;
pub mod routes;
pub mod scenario;
mod validate;
/// Semantic checks of a parsed scenario against its model: `(field, message)` on failure.
pub use validate::scenario as validate_scenario;
pub use validate::{artillery_phase, resolve_call, resolve_endpoint, MAX_SIM_NS};

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
    /// The resources a run of it may use (checked at load, enforced by the engine).
    pub budget: budget::Budget,
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
        l.check_budget(None)?;
        Ok(l)
    }

    /// This scenario under another budget, checked against it.
    pub fn with_budget(mut self, b: budget::Budget) -> Result<Loaded> {
        self.budget = b;
        self.check_budget(None)?;
        Ok(self)
    }

    /// Refuse a configuration whose estimated memory or event count is over its budget;
    /// the error names the field that contributes most. `texts`: (scenario, model) YAML,
    /// to give the field's line.
    fn check_budget(&self, texts: Option<(&str, &str)>) -> Result<budget::Estimate> {
        let est = budget::estimate(&self.scenario, &self.model);
        if let Err((src, field, msg)) = est.check(&self.budget) {
            let (path, text) = match src {
                budget::Source::Scenario => (&self.scenario_path, texts.map(|t| t.0)),
                budget::Source::Model => (&self.model_path, texts.map(|t| t.1)),
            };
            return Err(match text {
                Some(t) => located(path, t, &field, msg),
                None => Error::input(path, format!("field {field}"), msg),
            });
        }
        Ok(est)
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

/// Input files past this size are refused: a device such as `/dev/zero` never ends, and no
/// scenario, model, manifest or measurement file comes near it.
pub const MAX_INPUT_BYTES: u64 = 256 << 20;

/// An input file that cannot be opened or read: bad input (exit 2), naming the file.
pub fn cannot_read(path: &Path, e: std::io::Error) -> Error {
    let what = if e.kind() == std::io::ErrorKind::NotFound {
        "file not found".to_string()
    } else {
        format!("cannot read: {e}")
    };
    Error::input(path, "", what)
}

/// An input file opened for reading, with located errors (exit 2): a missing file, a
/// directory, no permission. A named pipe (FIFO) is opened without waiting for a writer, so
/// one that nobody writes to reads as empty instead of blocking for ever; reads then block
/// as usual. `expected` says what the file should be.
pub fn open_input(path: &Path, expected: &str) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let f = opts.open(path).map_err(|e| cannot_read(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let fd = f.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns, changing only O_NONBLOCK.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::input(
            path,
            "",
            format!("a directory; expected {expected}"),
        ));
    }
    Ok(f)
}

/// Whether an open file is a named pipe (FIFO) or a pipe.
pub fn is_fifo(f: &std::fs::File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        f.metadata().is_ok_and(|m| m.file_type().is_fifo())
    }
    #[cfg(not(unix))]
    {
        let _ = f;
        false
    }
}

/// The file's bytes, at most [`MAX_INPUT_BYTES`] of them: a device that never ends
/// (`/dev/zero`) or a huge file is refused, not read into memory. `expected` says what the
/// file should be.
pub fn read_bytes(path: &Path, expected: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = open_input(path, expected)?;
    let fifo = is_fifo(&f);
    let mut bytes = Vec::new();
    f.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot_read(path, e))?;
    if bytes.is_empty() && fifo {
        return Err(Error::input(
            path,
            "",
            format!("a named pipe (FIFO) that nothing was written to; expected {expected}"),
        ));
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::input(
            path,
            "",
            format!(
                "larger than {} MiB; expected {expected}",
                MAX_INPUT_BYTES >> 20
            ),
        ));
    }
    Ok(bytes)
}

pub fn read_text(path: &Path) -> Result<String> {
    let bytes = read_bytes(
        path,
        "a text file (a scenario, model, manifest or measurements)",
    )?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, col, at) = utf8_position(e.as_bytes(), e.utf8_error().valid_up_to());
        Error::input(
            path,
            format!("line {line}, column {col} (byte offset {at})"),
            format!(
                "not valid UTF-8: byte 0x{:02x} cannot start or continue a character; \
                 save the file as UTF-8",
                e.as_bytes()[at]
            ),
        )
    })
}

/// (1-based line, 1-based column in characters, byte offset) of byte `at`.
fn utf8_position(bytes: &[u8], at: usize) -> (usize, usize, usize) {
    let before = &bytes[..at];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    // The prefix is valid UTF-8 (it is what decoded), so characters can be counted.
    let col = std::str::from_utf8(&before[line_start..])
        .map_or(at - line_start, |t| t.chars().count())
        + 1;
    (line, col, at)
}

/// Parse YAML into `T`, mapping parser errors to "file: line L, column C: message".
pub fn parse_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    // YAML 1.2 booleans (`true`/`false`) only: with YAML 1.1's `y`, `n`, `yes`, `off`..., a key
    // or value `n` inside an internally tagged enum (buffered by serde) reached a string map as
    // a boolean and was refused. `--set` values read YAML 1.2 too (overrides.rs).
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| {
        // An empty file (or comments only) has no document: the reader's "unexpected end of
        // input at line 1, column 1" does not say that.
        if no_yaml_content(text) {
            return Error::input(
                path,
                "",
                "the file has no YAML content (it is empty or only comments): expected its \
                 fields, such as `flows:` and `scenarios:` for a scenario or `services:` for a \
                 model",
            );
        }
        yaml_error(path, text, &e)
    })
}

/// Whether `text` holds nothing but blank lines, comments and document markers.
fn no_yaml_content(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

/// A YAML reader error as "file: line L, column C: message".
pub fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> Error {
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
    // A scalar of the wrong kind (`1e308e308`, `1e400` past the largest number, `yes` in a
    // boolean field): the reader says only "invalid floating point" or names its option; name
    // the field, the value and what is accepted, in plain words.
    let expected = match e.without_snippet() {
        serde_saphyr::Error::InvalidScalar { ty, .. } => Some(match *ty {
            "floating point" => "a number".to_string(),
            other => {
                let p = plain(&format!("expected {other}"));
                p.strip_prefix("expected ").unwrap_or(&p).to_string()
            }
        }),
        serde_saphyr::Error::InvalidBooleanStrict { .. } => Some("true or false".to_string()),
        _ => None,
    };
    if let (Some(expected), Some(l)) = (expected, e.location()) {
        if let Some((key, value)) = scalar_at(text, l.line() as usize, l.column() as usize) {
            let why = match value.parse::<f64>() {
                Ok(x) if x.is_infinite() => " (past the largest number, 1.8e308)",
                _ => "",
            };
            let location = match key {
                Some(k) => format!("line {}, field {k}", l.line()),
                None => format!("line {}, column {}", l.line(), l.column()),
            };
            return Error::input(
                path,
                location,
                format!("expected {expected}, got `{value}`{why}"),
            );
        }
    }
    let alias_bomb = matches!(e.without_snippet(), serde_saphyr::Error::AliasError { .. });
    let first = match yaml_limit(e) {
        Some(_) if alias_bomb => "the file's aliases (`*name`) expand to more than surge reads \
                                  (an alias bomb); surge stops reading there so that no input \
                                  can exhaust memory"
            .to_string(),
        Some(what) => format!(
            "the file has {what}; surge stops reading there so that no input can exhaust \
             memory (a large data set belongs in a CSV file the scenario names)"
        ),
        None => plain(first),
    };
    // A value inside a buffered enum (an HPA metric's `type`, ...) is reported at its
    // enclosing item: point at the line that holds the offending value instead.
    let location = match (e.location(), offending_value(&first)) {
        (Some(l), Some(v)) => match line_with_value(text, l.line() as usize, &v) {
            Some(n) => {
                let line = text.lines().nth(n - 1).unwrap_or("");
                match line.trim_start().trim_start_matches("- ").split_once(':') {
                    Some((k, _)) if !k.contains([' ', '{', '[']) && !k.is_empty() => {
                        format!("line {n}, field {}", k.trim_matches(['"', '\'']))
                    }
                    _ => format!("line {n}"),
                }
            }
            None => location,
        },
        _ => location,
    };
    Error::input(path, location, first)
}

/// The plain scalar at 1-based `line` and `column` (in characters), with the key it is the
/// value of when that key is on the same line (`weight: 1e308e308`, `{count: 1e400}`).
fn scalar_at(text: &str, line: usize, column: usize) -> Option<(Option<String>, String)> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let at = l
        .char_indices()
        .nth(column.checked_sub(1)?)
        .map(|(i, _)| i)?;
    let (before, rest) = l.split_at(at);
    let value = rest
        .split([',', '}', ']'])
        .next()
        .unwrap_or("")
        .split(" #")
        .next()
        .unwrap_or("")
        .trim();
    if value.is_empty() || value.len() > 200 {
        return None;
    }
    let key = before
        .trim_end()
        .strip_suffix(':')
        .map(|k| {
            k.rsplit(['{', ',', ' '])
                .next()
                .unwrap_or("")
                .trim_matches(['"', '\''])
                .to_string()
        })
        .filter(|k| !k.is_empty() && !k.starts_with('-'));
    Some((key, value.to_string()))
}

/// The reader's message in a planner's words: no Rust type names or library advice.
fn plain(msg: &str) -> String {
    if msg.starts_with("multiple YAML documents detected") {
        return "the file holds more than one YAML document (separated by `---`); expected one"
            .into();
    }
    // serde-saphyr's advice names its own options, which a user of surge cannot set.
    if let Some(rest) = msg.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("duplicate key {key}: expected each key once in a mapping");
    }
    // A number literal past f64's range (`1e400`) reaches serde as a string.
    if let Some(v) = offending_value(msg).filter(|_| msg.starts_with("invalid type: string")) {
        if v.parse::<f64>().is_ok_and(f64::is_infinite) {
            return format!("expected a number, got `{v}` (past the largest number, 1.8e308)");
        }
    }
    // `flag: off` inside a tagged enum (buffered, so not the reader's strict-boolean error).
    if let Some(v) = offending_value(msg)
        .filter(|_| msg.starts_with("invalid type: string") && msg.ends_with("expected a boolean"))
    {
        return format!("expected true or false, got `{v}`");
    }
    let mut m = msg.replace("floating point `", "number `");
    for (rust, said) in [
        ("expected i8", "expected a whole number"),
        ("expected i16", "expected a whole number"),
        ("expected i32", "expected a whole number (up to 2147483647)"),
        ("expected i64", "expected a whole number"),
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected usize", "expected a whole number of 0 or more"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("invalid i32", "not a whole number up to 2147483647"),
        ("invalid u32", "not a whole number from 0 to 4294967295"),
        ("invalid u64", "not a whole number of 0 or more"),
        ("unknown variant", "unknown value"),
    ] {
        if let Some(i) = m.find(rust) {
            let end = i + rust.len();
            // Whole words only (`expected i32` but not `expected i32x`).
            if !m[end..].starts_with(|c: char| c.is_alphanumeric()) {
                m.replace_range(i..end, said);
            }
        }
    }
    m
}

/// The value a type or variant error is about: the first `backticked` token, or the quoted
/// text of serde's `invalid type: string "abc", ...`.
fn offending_value(msg: &str) -> Option<String> {
    let v = match msg.split_once("invalid type: string \"") {
        Some((_, rest)) => rest.split_once('"')?.0,
        None => msg.split_once('`')?.1.split_once('`')?.0,
    };
    (!v.is_empty() && v.len() <= 200).then(|| v.to_string())
}

/// The first line at or after `from` (1-based) where `v` stands as a whole YAML scalar.
fn line_with_value(text: &str, from: usize, v: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| {
            let code = l.split(" #").next().unwrap_or(l);
            code.match_indices(v).any(|(i, _)| {
                let before = code[..i].chars().next_back();
                let after = code[i + v.len()..].chars().next();
                let edge = |c: Option<char>| {
                    c.is_none_or(|c| {
                        matches!(c, ' ' | ':' | ',' | '[' | ']' | '{' | '}' | '"' | '\'')
                    })
                };
                edge(before) && edge(after)
            })
        })
        .map(|(i, _)| i + 1)
}

/// The YAML reader limit `e` reports, said as what the text has too much of ("more than
/// 250000 values ..."); none for other errors. The limits (the reader's defaults) bound the
/// memory and time a file can take, against alias bombs and runaway input.
pub fn yaml_limit(e: &serde_saphyr::Error) -> Option<String> {
    match e.without_snippet() {
        serde_saphyr::Error::Budget { breach, .. } => Some(over_budget(breach)),
        // A limit crossed while expanding aliases (the library reports it as text).
        serde_saphyr::Error::AliasError { msg, .. } if msg.starts_with("budget breached") => Some(
            "aliases (`*name`) that expand to more than surge reads (an alias bomb)".to_string(),
        ),
        _ => None,
    }
}

/// A YAML reader limit, said as what the file has too much of. Each breach carries the count
/// that crossed its limit, one past it.
fn over_budget(b: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let past = |n: usize| n.saturating_sub(1);
    let what = match b {
        B::Nodes { nodes } => format!(
            "more than {} values (list items, keys and scalars)",
            past(*nodes)
        ),
        B::Events { events } => format!("more than {} YAML parser events", past(*events)),
        B::Depth { depth } => format!("lists or mappings nested more than {} deep", past(*depth)),
        B::Aliases { aliases } => format!("more than {} aliases (`*name`)", past(*aliases)),
        B::Anchors { anchors } => format!("more than {} anchors (`&name`)", past(*anchors)),
        B::AliasAnchorRatio { aliases, anchors } => format!(
            "{aliases} aliases of only {anchors} anchors: aliases that expand to far more \
             than the file holds (an alias bomb)"
        ),
        B::Documents { documents } => format!("more than {} YAML documents", past(*documents)),
        B::ScalarBytes { .. } => "more text in its values than surge reads".to_string(),
        B::CommentBytes { .. } => "more comment text than surge reads".to_string(),
        B::MergeKeys { merge_keys } => format!("more than {} merge keys (`<<`)", past(*merge_keys)),
        B::InputBytes { .. } => "more bytes than surge reads".to_string(),
        other => format!("more than the YAML reader's limits allow ({other:?})"),
    };
    what
}

/// What kind of file a path holds, judged by its top-level keys.
pub enum FileKind {
    Scenario,
    Model,
    /// A Kubernetes manifest (top-level `apiVersion:`/`kind:`), possibly multi-document
    /// or a Helm template: read with `autoscale::hpa_import`.
    Kubernetes,
}

pub fn sniff(path: &Path, text: &str) -> Result<FileKind> {
    if text.lines().any(|l| {
        let t = l.trim_start_matches([' ', '{']);
        l.starts_with("apiVersion:")
            || l.starts_with("kind:")
            || t.starts_with("\"apiVersion\":")
            || t.starts_with("\"kind\":")
    }) {
        return Ok(FileKind::Kubernetes);
    }
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
            if !path.is_file() {
                return Err(Error::input(
                    model_path,
                    format!("field services.{name}.autoscaler"),
                    format!(
                        "HPA manifest {} {} (expected a file, relative to the model file)",
                        path.display(),
                        if path.exists() {
                            "is not a file"
                        } else {
                            "not found"
                        }
                    ),
                ));
            }
            let text = read_text(&path)?;
            let imported = crate::autoscale::hpa_import::load_for_service(&path, &text, name)?;
            s.autoscaler = Some(AutoscalerRef::Inline(Box::new(imported.hpa)));
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
        if !path.is_file() {
            return Err(Error::input(
                model_path,
                format!("field {field}"),
                format!(
                    "{} {} (expected a JSON file, relative to the model file)",
                    path.display(),
                    if path.exists() {
                        "is not a file"
                    } else {
                        "not found"
                    }
                ),
            ));
        }
        let text = read_text(&path)?;
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

/// Load a scenario and its model, apply `--set` overrides, and validate both, under the
/// default budget.
pub fn load(path: &Path, sets: &[String]) -> Result<Loaded> {
    load_with(path, sets, budget::Budget::default())
}

/// [`load`] under an explicit budget (`--max-memory`, `--max-events`).
pub fn load_with(path: &Path, sets: &[String], b: budget::Budget) -> Result<Loaded> {
    let text = read_text(path)?;
    load_text(path, &text, sets, b)
}

/// [`load_with`] on a scenario's text (e.g. one imported in memory); `path` names it in
/// errors and anchors its relative `model` path.
pub fn load_text(path: &Path, text: &str, sets: &[String], b: budget::Budget) -> Result<Loaded> {
    let text = text.to_string();
    let mut scenario: ScenarioFile = parse_yaml(path, &text)?;
    if let Some(m) = overrides::model_set(sets) {
        scenario.model = m.to_string();
    }
    let model_path = path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(&scenario.model);
    if !model_path.exists() {
        let msg = format!(
            "model file {} not found (the path is relative to the scenario file)",
            model_path.display()
        );
        return Err(match overrides::model_set(sets) {
            Some(m) => Error::Usage(format!("--set model={m}: {msg}")),
            None => located(path, &text, "model", msg),
        });
    }
    let model_text = read_text(&model_path)?;
    let mut model: ModelFile = parse_yaml(&model_path, &model_text)?;
    resolve_autoscalers(&mut model, &model_path)?;
    if !sets.is_empty() || !scenario.model_overrides.is_empty() {
        // Overrides re-serialise both files; a NaN or infinity would then fail there and be
        // blamed on the override. Blame the file instead.
        finite_numbers(path, &text, &scenario)?;
        finite_numbers(&model_path, &model_text, &model)?;
    }
    let written = overrides::apply_to_model(&mut model, &scenario.model_overrides)
        .map_err(|(field, msg)| override_error(path, &text, &field, msg))?;
    if !sets.is_empty() {
        overrides::apply(&mut scenario, &mut model, sets)?;
    }
    override_manifests(&mut model, &model_path, path, &text, sets)?;
    // A field a `--set` wrote is blamed on that flag: the file's line holds the old value.
    let by_set = |field: &str, msg: &str| {
        sets.iter()
            .rev()
            .find(|x| {
                x.split_once('=').is_some_and(|(k, _)| {
                    let k = k.trim();
                    field == k || field.ends_with(&format!(".{k}"))
                })
            })
            .map(|x| Error::Usage(format!("--set {x:?}: field {field}: {msg}")))
    };
    // A field a `model_overrides` entry wrote is blamed on that entry, at the line of the
    // field inside it: the model file's line holds the value the entry replaced.
    let by_override = |field: &str, msg: &str| {
        written
            .iter()
            .rev()
            .find(|(_, full)| {
                field
                    .strip_prefix(full.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .map(|(key, full)| override_field_error(path, &text, key, &field[full.len()..], msg))
    };
    validate::model(&model).map_err(|(field, msg)| {
        by_set(&field, &msg)
            .or_else(|| by_override(&field, &msg))
            .unwrap_or_else(|| located(&model_path, &model_text, &field, msg))
    })?;
    validate::scenario(&scenario, &model).map_err(|(field, msg)| {
        by_set(&field, &msg).unwrap_or_else(|| located(path, &text, &field, msg))
    })?;
    let l = Loaded {
        scenario,
        model,
        scenario_path: path.to_path_buf(),
        model_path,
        budget: b,
    };
    l.check_budget(Some((&text, &model_text)))?;
    Ok(l)
}

/// An override that points `services.X.autoscaler` at a manifest file: read it as the model's
/// own reference would be (relative to the model file), or say which override names a missing
/// file. Left unread, the service would silently run without its autoscaler.
fn override_manifests(
    model: &mut ModelFile,
    model_path: &Path,
    scenario_path: &Path,
    scenario_text: &str,
    sets: &[String],
) -> Result<()> {
    use model::AutoscalerRef;
    let dir = model_path.parent().unwrap_or_else(|| Path::new("."));
    for (name, s) in &model.services {
        let Some(AutoscalerRef::Path(p)) = &s.autoscaler else {
            continue;
        };
        let file = dir.join(p);
        if file.is_file() {
            continue;
        }
        let msg = format!(
            "expected an HPA manifest file (relative to the model file {}); {} {}",
            model_path.display(),
            file.display(),
            if file.exists() {
                "is not a file"
            } else {
                "does not exist"
            }
        );
        let field = format!("services.{name}.autoscaler");
        let set = sets.iter().rev().find(|x| {
            x.split_once('=')
                .is_some_and(|(k, _)| k.trim().ends_with(&field))
        });
        return Err(match set {
            Some(x) => Error::Usage(format!("--set {x:?}: {msg}")),
            None => override_error(
                scenario_path,
                scenario_text,
                &format!("model_overrides.{field}"),
                msg,
            ),
        });
    }
    resolve_autoscalers(model, model_path)
}

/// A serialisable file image that does not survive a round trip holds a NaN or an infinity
/// (JSON has neither): report the line where the file writes one.
fn finite_numbers<T: serde::Serialize + DeserializeOwned>(
    path: &Path,
    text: &str,
    v: &T,
) -> Result<()> {
    let img = serde_json::to_value(v).map_err(|e| Error::input(path, "", e.to_string()))?;
    if serde_json::from_value::<T>(img).is_ok() {
        return Ok(());
    }
    let non_finite = |tok: &str| {
        matches!(
            tok.trim_start_matches(['+', '-'])
                .to_ascii_lowercase()
                .as_str(),
            ".nan" | "nan" | ".inf" | "inf" | "infinity"
        )
    };
    for (i, line) in text.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        let mut key = "";
        for tok in code.split([',', '{', '}', '[', ']']) {
            let (k, val) = match tok.split_once(": ") {
                Some((k, v)) => (k.trim().trim_start_matches("- "), v),
                None => (key, tok.trim_start_matches([' ', '-'])),
            };
            if !k.is_empty() {
                key = k;
            }
            if non_finite(val.trim()) {
                return Err(Error::input(
                    path,
                    format!("line {}, field {key}", i + 1),
                    format!("expected a finite number, got {}", val.trim()),
                ));
            }
        }
    }
    Err(Error::input(
        path,
        "",
        "a number in this file is not finite (NaN or infinity); expected finite numbers",
    ))
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
    let l = Loaded {
        scenario,
        model,
        scenario_path: sp.to_path_buf(),
        model_path: mp.to_path_buf(),
        budget: budget::Budget::default(),
    };
    l.check_budget(Some((scenario_yaml, model_yaml)))?;
    Ok(l)
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

/// A value a `model_overrides` entry (`key`) wrote, refused at `rest` inside it (`.retries`,
/// `.providers[0].failure`, or empty for the entry's own value): the line of that field within
/// the entry's block, else the entry's line.
fn override_field_error(path: &Path, text: &str, key: &str, rest: &str, msg: &str) -> Error {
    let field = format!("model_overrides.{key}{rest}");
    let entry = override_error(path, text, &format!("model_overrides.{key}"), String::new());
    let Error::Input { location, .. } = entry else {
        return Error::input(path, format!("field {field}"), msg);
    };
    let key_line: usize = location
        .strip_prefix("line ")
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '-']).len();
    let inner = rest.trim_start_matches('.');
    let line = (!inner.is_empty() && key_line <= lines.len())
        .then(|| {
            // The entry's block: the lines after its key, indented deeper than the key.
            let own = indent(lines[key_line - 1]);
            let block: Vec<&str> = lines[key_line..]
                .iter()
                .take_while(|l| {
                    let t = l.trim();
                    t.is_empty() || t.starts_with('#') || indent(l) > own
                })
                .copied()
                .collect();
            find_line(&block.join("\n"), inner).map(|n| key_line + n)
        })
        .flatten()
        .unwrap_or(key_line);
    Error::input(path, format!("line {line}, field {field}"), msg)
}

fn located(path: &Path, text: &str, field: &str, msg: String) -> Error {
    let loc = match find_line(text, field) {
        Some(line) => format!("line {line}, field {field}"),
        None => format!("field {field}"),
    };
    Error::input(path, loc, msg)
}

/// Best-effort line of a dotted field path in YAML (1-based). List indices (`stages[1]`)
/// select the item, block (`- a: 1`) or flow (`- {a: 1}`) style. A JSON document (YAML's
/// flow style, one token per line or not) is walked token by token instead; a leading
/// byte-order mark is skipped.
pub fn find_line(text: &str, field: &str) -> Option<usize> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with(['{', '[']) {
        return find_line_json(text, field);
    }
    let lines: Vec<&str> = text.lines().collect();
    fn content(l: &str) -> Option<&str> {
        let t = l.trim_start_matches([' ', '-']);
        (!t.is_empty() && !t.starts_with('#')).then_some(t)
    }
    let spaces = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let key_of = |t: &str| {
        t.split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(['"', '\''])
            .to_string()
    };
    let inline_has = |t: &str, key: &str| {
        t.starts_with('{')
            && t.split([',', '{']).any(|part| {
                part.split_once(':')
                    .is_some_and(|(k, _)| k.trim().trim_matches(['"', '\'']) == key)
            })
    };
    // The scope of the next key: lines [from, to) deeper than `parent`.
    let (mut from, mut to, mut parent): (usize, usize, isize) = (0, lines.len(), -1);
    let mut found = None;
    for seg in field.split('.') {
        let (key, rest) = seg.split_once('[').unwrap_or((seg, ""));
        let indices: Vec<usize> = rest
            .split(['[', ']'])
            .filter_map(|x| x.parse().ok())
            .collect();
        if !key.is_empty() {
            let mut hit = None;
            // Keys of this level share the indentation of the scope's first one: a same-named
            // key nested deeper (an earlier sibling's child) is not this one.
            let mut level = None;
            for (i, l) in lines.iter().enumerate().take(to).skip(from) {
                let Some(t) = content(l) else { continue };
                let ind = (l.len() - t.len()) as isize;
                if ind <= parent && i > from {
                    break;
                }
                let level = *level.get_or_insert(ind);
                if ind > level && !inline_has(t, key) {
                    continue;
                }
                if (key_of(t) == key && t.contains(':')) || inline_has(t, key) {
                    hit = Some((i, ind));
                    break;
                }
            }
            let Some((i, ind)) = hit else { return found };
            found = Some(i + 1);
            from = i + 1;
            parent = ind;
            if content(lines[i]).is_some_and(|t| inline_has(t, key)) {
                return found;
            }
        }
        for n in indices {
            let mut item_indent = None;
            let mut items = Vec::new();
            for (i, l) in lines.iter().enumerate().take(to).skip(from) {
                if content(l).is_none() {
                    continue;
                }
                let sp = spaces(l);
                let dash = l.trim_start_matches(' ').starts_with('-');
                match item_indent {
                    None if dash => item_indent = Some(sp),
                    None => break,
                    Some(ii) if sp < ii || (sp == ii && !dash) => break,
                    _ => {}
                }
                if dash && Some(sp) == item_indent {
                    items.push(i);
                }
            }
            let Some(&j) = items.get(n) else { return found };
            found = Some(j + 1);
            to = items.get(n + 1).copied().unwrap_or(to);
            from = j;
            parent = item_indent.unwrap_or(0) as isize;
            // A key on the item's own line (`- {a: 1}` or `- a: 1`) is searched from it.
            parent -= 1;
        }
    }
    found
}

/// One step of a field path: a key (`phases`) or a list index (`[0]`).
#[derive(PartialEq, Debug)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(field: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in field.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        out.extend(
            rest.split(['[', ']'])
                .filter_map(|x| x.parse().ok())
                .map(Seg::Index),
        );
    }
    out
}

/// [`find_line`] for JSON: the line of the member's key (or the list item's first token) at
/// `field`, or of its deepest ancestor present. Strings are read with their escapes; the walk
/// stops at the first byte that is not JSON.
fn find_line_json(text: &str, field: &str) -> Option<usize> {
    let want = segments(field);
    // Per open container: a list's next index, or an object's current key.
    enum Frame {
        List(usize),
        Object(Option<String>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let (mut line, mut best) = (1usize, None::<(usize, usize)>);
    let b = text.as_bytes();
    let mut i = 0;
    // A value starts here: compare the path to it with `want`.
    let mut at_value = |stack: &[Frame], line: usize| {
        let mut depth = 0;
        for (f, w) in stack.iter().zip(&want) {
            let same = match (f, w) {
                (Frame::List(n), Seg::Index(m)) => n == m,
                (Frame::Object(Some(k)), Seg::Key(w)) => k == w,
                _ => false,
            };
            if !same {
                return false;
            }
            depth += 1;
        }
        if depth > 0 && best.is_none_or(|(d, _)| depth > d) {
            best = Some((depth, line));
        }
        depth == want.len() && depth == stack.len()
    };
    let mut key_line = 1;
    while i < b.len() {
        match b[i] {
            b'\n' => line += 1,
            b'{' | b'[' => {
                if let Some(Frame::List(_)) = stack.last() {
                    if at_value(&stack, line) {
                        return Some(line);
                    }
                }
                stack.push(if b[i] == b'{' {
                    Frame::Object(None)
                } else {
                    Frame::List(0)
                });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::List(n)) => *n += 1,
                Some(Frame::Object(k)) => *k = None,
                None => return None,
            },
            b':' => {
                if let Some(Frame::Object(Some(_))) = stack.last() {
                    if at_value(&stack, key_line) {
                        return Some(key_line);
                    }
                }
            }
            b'"' => {
                let start_line = line;
                let mut s = String::new();
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    if let Some(&c) = b.get(i) {
                        if c == b'\n' {
                            line += 1;
                        }
                        s.push(c as char);
                    }
                    i += 1;
                }
                if matches!(stack.last(), Some(Frame::List(_))) && at_value(&stack, start_line) {
                    return Some(start_line);
                }
                if let Some(Frame::Object(k @ None)) = stack.last_mut() {
                    *k = Some(s);
                    key_line = start_line;
                }
            }
            c if c.is_ascii_whitespace() => {}
            _ => {
                // A bare scalar (number, true, false, null) as a list item, or a YAML flow
                // mapping's unquoted key.
                if let Some(Frame::List(_)) = stack.last() {
                    if at_value(&stack, line) {
                        return Some(line);
                    }
                }
                let start = i;
                while i + 1 < b.len()
                    && !matches!(b[i + 1], b',' | b']' | b'}' | b'\n' | b' ' | b':')
                {
                    i += 1;
                }
                if let Some(Frame::Object(k @ None)) = stack.last_mut() {
                    *k = Some(String::from_utf8_lossy(&b[start..=i]).into_owned());
                    key_line = line;
                }
            }
        }
        i += 1;
    }
    best.map(|(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::{find_line, parse_yaml};
    use std::path::Path;

    /// An empty file, or one of comments only, says so instead of "unexpected end of input".
    #[test]
    fn empty_files_say_they_are_empty() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct F {
            items: Vec<u32>,
        }
        for text in ["", "\n\n", "# a comment\n  # another\n", "---\n# c\n...\n"] {
            let e = parse_yaml::<F>(Path::new("f.yaml"), text)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("f.yaml") && e.contains("no YAML content"),
                "{text:?}: {e}"
            );
        }
        // Content with a missing field is not "empty".
        let e = parse_yaml::<F>(Path::new("f.yaml"), "# c\nother: 1\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("no YAML content"), "{e}");
    }

    /// A value inside an internally tagged enum was reported at the enclosing list item, in
    /// Rust's words (`expected i32`), and a second document as library advice.
    #[test]
    fn type_errors_point_at_the_value_in_plain_words() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(tag = "type")]
        #[allow(dead_code)]
        enum M {
            A { count: i32 },
            B,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct F {
            items: Vec<M>,
        }
        let err = |text: &str| {
            parse_yaml::<F>(Path::new("f.yaml"), text)
                .unwrap_err()
                .to_string()
        };
        let e = err("items:\n  - type: A\n    count: 50.5\n");
        assert!(e.contains("line 3, field count:"), "{e}");
        assert!(e.contains("whole number") && !e.contains("i32"), "{e}");
        let e = err("items:\n  - count: 1\n    type: C\n");
        assert!(e.contains("line 3, field type:"), "{e}");
        assert!(e.contains("unknown value `C`"), "{e}");
        let e = err("items: []\n---\nitems: []\n");
        assert!(e.contains("more than one YAML document"), "{e}");
        assert!(!e.contains("from_multiple"), "{e}");
        // A string where a number belongs, inside the tagged enum: at the value's line too.
        let e = err("items:\n  - type: A\n    count: abc\n");
        assert!(e.contains("line 3, field count:"), "{e}");
        // A number past f64's range is said to be out of range, not a string.
        let e = err("items:\n  - type: A\n    count: 1e400\n");
        assert!(e.contains("line 3, field count:"), "{e}");
        assert!(e.contains("`1e400` (past the largest number"), "{e}");
        assert!(!e.contains("invalid type"), "{e}");
        let e = err("items: []\nitems: []\n");
        assert!(
            e.contains("line 2") && e.contains("duplicate key items"),
            "{e}"
        );
        assert!(!e.contains("DuplicateKeyPolicy"), "{e}");
    }

    /// YAML 1.1 booleans (`n`, `yes`, `off`...) are strings, also where serde buffers an
    /// internally tagged enum: a key `n` in a string map was read as `false` and refused.
    #[test]
    fn yaml_1_1_booleans_are_strings_in_tagged_enums() {
        use std::collections::BTreeMap;
        #[derive(serde::Deserialize, Debug)]
        #[serde(tag = "type")]
        enum M {
            A {
                #[serde(default)]
                tags: BTreeMap<String, String>,
                #[serde(default)]
                flag: Option<bool>,
            },
        }
        #[derive(serde::Deserialize, Debug)]
        struct F {
            item: M,
            #[serde(default)]
            flag: Option<bool>,
        }
        let parse = |text: &str| parse_yaml::<F>(Path::new("f.yaml"), text);
        let f = parse("item:\n  type: A\n  tags: {n: x, y: n, yes: off, On: No}\n").unwrap();
        let M::A { tags, .. } = f.item;
        let want = [("n", "x"), ("y", "n"), ("yes", "off"), ("On", "No")];
        let want: BTreeMap<String, String> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(tags, want);
        // true/false stay booleans, inside the enum and out.
        for (t, b) in [("true", true), ("false", false), ("True", true)] {
            let f = parse(&format!("flag: {t}\nitem:\n  type: A\n  flag: {t}\n")).unwrap();
            let M::A { flag, .. } = f.item;
            assert_eq!((f.flag, flag), (Some(b), Some(b)), "{t}");
        }
        // A YAML 1.1 boolean in a boolean field is refused, naming the field and the value.
        let e = parse("flag: yes\nitem: {type: A}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 1, field flag: expected true or false, got `yes`"),
            "{e}"
        );
        let e = parse("item:\n  type: A\n  flag: off\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3, field flag: expected true or false, got `off`"),
            "{e}"
        );
    }

    #[test]
    fn finds_json_fields_and_skips_a_bom() {
        let j = "{\n  \"config\": {\n    \"target\": \"http://x\",\n    \"phases\": [\n      { \"duration\": 1 },\n      {\n        \"duration\": 2, \"arrivalRate\": \"x\"\n      }\n    ]\n  },\n  \"after\": {\"flow\": []}\n}\n";
        assert_eq!(find_line(j, "config"), Some(2));
        assert_eq!(find_line(j, "config.target"), Some(3));
        assert_eq!(find_line(j, "config.phases[0]"), Some(5));
        assert_eq!(find_line(j, "config.phases[1].arrivalRate"), Some(7));
        assert_eq!(find_line(j, "config.phases[1].rampTo"), Some(6));
        assert_eq!(find_line(j, "after"), Some(11));
        assert_eq!(find_line(j, "nope"), None);
        // A key inside a string value is not a key.
        let tricky = "{\"a\": \"\\\"b\\\": 1\",\n\"b\": 2}";
        assert_eq!(find_line(tricky, "b"), Some(2));
        let flow = "{config: {phases: [{duration: 1},\n {rate: 2}]}}";
        assert_eq!(find_line(flow, "config.phases[1].rate"), Some(2));
        let bom = "\u{feff}config:\n  processor: x.js\n";
        assert_eq!(find_line(bom, "config.processor"), Some(2));
    }

    #[test]
    fn finds_nested_field_lines() {
        let y = "a: 1\nscenarios:\n  x:\n    rate: 2\n  load:\n    executor: c\n    rate: -5\n";
        assert_eq!(find_line(y, "scenarios.load.rate"), Some(7));
        assert_eq!(find_line(y, "scenarios.x.rate"), Some(4));
        assert_eq!(find_line(y, "a"), Some(1));
    }

    #[test]
    fn finds_list_items_block_and_flow() {
        let y = "scenarios:\n  ramp:\n    stages:\n      - {duration: 5m, target: 1}\n      - {duration: 1m, target: 1e12}\n    startVUs: 3\n";
        assert_eq!(find_line(y, "scenarios.ramp.stages[1].target"), Some(5));
        assert_eq!(find_line(y, "scenarios.ramp.stages[0].target"), Some(4));
        assert_eq!(find_line(y, "scenarios.ramp.startVUs"), Some(6));
        let b = "flows:\n  f:\n    steps:\n    - request: a\n    - loop:\n        count: 2\n        steps:\n        - sleep: 1s\n";
        assert_eq!(find_line(b, "flows.f.steps[1].loop.count"), Some(6));
        assert_eq!(find_line(b, "flows.f.steps[1].loop.steps[0]"), Some(8));
        assert_eq!(find_line(b, "flows.f.steps[0]"), Some(4));
    }

    #[test]
    fn a_deeper_key_of_the_same_name_is_not_this_level() {
        let y = "config:\n  plugins:\n    apdex: {}\n  apdex:\n    threshold: 1\n";
        assert_eq!(find_line(y, "config.apdex"), Some(4));
        assert_eq!(find_line(y, "config.plugins.apdex"), Some(3));
        assert_eq!(find_line(y, "config.apdex.threshold"), Some(5));
    }

    #[test]
    fn utf8_positions() {
        assert_eq!(
            super::utf8_position(b"a: 1\nb: \xc3\xa9\xff", 10),
            (2, 5, 10)
        );
    }
}
