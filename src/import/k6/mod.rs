//! `surge import k6 FILE`: a k6 test as it is — a script with a static `options` export,
//! the JSON `k6 inspect` prints, or a `k6 archive` tar — turned into a surge scenario.
//!
//! - `js.rs` reads a script with a JavaScript parser (never running it), `value.rs` holds the
//!   options as located static values;
//! - `options.rs` derives scenarios from the shortcuts and reads `options.scenarios`;
//! - `thresholds.rs` maps thresholds; `flows.rs` turns HTTP calls into flow steps.

mod flows;
mod js;
mod options;
mod reexport;
mod thresholds;
mod value;
mod writes;

pub use options::{go_duration, k6_duration};

use super::{check, comment, yaml_key, Check, Imported, Target};
use crate::config::MAX_INPUT_BYTES;
use crate::error::{Error, Result};
use flows::{Flow, Step};
use options::{Reader, Scenario};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;
use value::{Here, Loc, Node};

/// The inputs `surge import k6` reads.
enum Input {
    Script(js::Script),
    /// `k6 inspect` output; `derived` when it has the execution requirements
    /// (`--execution-requirements`: scenarios already derived from the shortcuts).
    Inspect {
        options: Node,
        derived: bool,
    },
    /// `k6 archive`: metadata options, and the script in it (for flows).
    Archive {
        options: Node,
        script: Option<js::Script>,
    },
}

/// Import `file` for `target` (see [`Target`]): the scenario's YAML and notes, validated.
pub fn import(file: &Path, target: &Target) -> Result<Imported> {
    let bytes = read_capped(file)?;
    let input = read_input(file, &bytes)?;
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "k6".into());
    convert(file, &stem, input, target)
}

/// What an over-large k6 input should have been.
const EXPECTED: &str = "a k6 script, `k6 inspect` JSON or a `k6 archive` tar";

fn read_capped(file: &Path) -> Result<Vec<u8>> {
    crate::config::read_bytes(file, EXPECTED)
}

fn too_large(file: &Path, what: &str) -> Error {
    Error::input(
        file,
        what,
        format!(
            "larger than {} MiB; expected {EXPECTED}",
            MAX_INPUT_BYTES >> 20
        ),
    )
}

fn read_input(file: &Path, bytes: &[u8]) -> Result<Input> {
    if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        return read_archive(file, bytes);
    }
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        Error::input(
            file,
            format!("byte {}", e.utf8_error().valid_up_to()),
            "not valid UTF-8; expected a k6 script, `k6 inspect` JSON or a `k6 archive` tar",
        )
    })?;
    let is_json =
        file.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    if is_json {
        let j: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::input(
                file,
                format!("line {}, column {}", e.line(), e.column()),
                format!("not valid JSON ({e}); expected the output of `k6 inspect`"),
            )
        })?;
        let derived = j.get("totalDuration").is_some() || j.get("maxVUs").is_some();
        return Ok(Input::Inspect {
            options: Node::from_json(&j),
            derived,
        });
    }
    Ok(Input::Script(js::read(file, &text)?))
}

/// A `k6 archive` (k6 `lib/archive.go`): `metadata.json` has the consolidated options (not
/// derived), `data` the script.
fn read_archive(file: &Path, bytes: &[u8]) -> Result<Input> {
    let bad = |e: &dyn std::fmt::Display| {
        Error::input(file, "", format!("not a readable k6 archive (tar): {e}"))
    };
    let mut ar = tar::Archive::new(bytes);
    let mut meta: Option<String> = None;
    let mut data: Option<String> = None;
    for entry in ar.entries().map_err(|e| bad(&e))? {
        let mut entry = entry.map_err(|e| bad(&e))?;
        let name = entry
            .path()
            .map_err(|e| bad(&e))?
            .to_string_lossy()
            .into_owned();
        let slot = match name.trim_start_matches("./") {
            "metadata.json" => &mut meta,
            "data" => &mut data,
            _ => continue,
        };
        // An entry may be larger than the archive (a sparse file): read it capped too.
        let mut s = String::new();
        (&mut entry)
            .take(MAX_INPUT_BYTES + 1)
            .read_to_string(&mut s)
            .map_err(|e| bad(&e))?;
        if s.len() as u64 > MAX_INPUT_BYTES {
            return Err(too_large(file, &format!("entry {name:?}")));
        }
        *slot = Some(s);
    }
    let meta = meta.ok_or_else(|| bad(&"it has no metadata.json"))?;
    let j: serde_json::Value = serde_json::from_str(&meta).map_err(|e| {
        Error::input(
            file,
            format!("metadata.json line {}, column {}", e.line(), e.column()),
            format!("not valid JSON: {e}"),
        )
    })?;
    let options = Node::from_json(j.get("options").unwrap_or(&serde_json::Value::Null));
    let script = match data {
        Some(text) => {
            let name = j
                .get("filename")
                .and_then(|f| f.as_str())
                .unwrap_or("script.js");
            let inner = Path::new(file).join(name.rsplit('/').next().unwrap_or(name));
            Some(js::read(&inner, &text)?)
        }
        None => None,
    };
    Ok(Input::Archive { options, script })
}

fn convert(file: &Path, stem: &str, input: Input, target: &Target) -> Result<Imported> {
    let here = Here { file };
    let r = Reader {
        here: Here { file },
    };
    let empty = Node::new(value::V::Obj(Vec::new()), None);
    let (opts, derived, script) = match &input {
        Input::Script(s) => (s.options.as_ref().unwrap_or(&empty), false, Some(s)),
        Input::Inspect { options, derived } => (options, *derived, None),
        Input::Archive { options, script } => (options, false, script.as_ref()),
    };
    let mut d = options::derive(&r, opts, derived)?;
    let mut notes: Vec<String> = script.map(|s| s.notes.clone()).unwrap_or_default();
    notes.append(&mut d.notes);
    let no_metrics = BTreeMap::new();
    let metrics = script.map_or(&no_metrics, |s| &s.metrics);
    let none = Node::new(value::V::Undef, opts.loc);
    let (entries, tnotes) =
        thresholds::read(&here, opts.get("thresholds").unwrap_or(&none), metrics)?;
    notes.extend(tnotes);

    // The flows the scenarios run (k6 `exec`, default `default`), in first-use order.
    let mut flow_names: Vec<String> = Vec::new();
    for sc in &d.scenarios {
        if !flow_names.contains(&sc.exec) {
            flow_names.push(sc.exec.clone());
        }
    }
    let mut flows: Vec<(String, Option<Flow>)> = Vec::new();
    // Re-exports are read from files beside the script; an archive's script has none here.
    let beside = matches!(input, Input::Script(_));
    for name in &flow_names {
        match script {
            Some(s) => {
                let found = match s.flows.get(name) {
                    Some(f) => Some(f.clone()),
                    None => reexport::flow(file, s, name, beside)?,
                };
                match found {
                    Some(f) => flows.push((name.clone(), Some(f))),
                    None => {
                        let sc = d
                            .scenarios
                            .iter()
                            .find(|s| &s.exec == name)
                            .expect("a user");
                        let (path, loc) = sc
                            .origins
                            .iter()
                            .find(|(f, _, _)| f == "flows")
                            .map(|(_, p, l)| (p.clone(), *l))
                            // The default scenario (no `options.scenarios`): the whole file.
                            .unwrap_or_else(|| (String::new(), None));
                        if let Some((at, why)) = s.unreadable.get(name) {
                            let export = if name == "default" {
                                "the default export".to_string()
                            } else {
                                format!("the export {name:?}")
                            };
                            return Err(here.at(
                                Some(*at),
                                &format!("export {name}"),
                                format!("{export} {why}"),
                            ));
                        }
                        let what = if name == "default" {
                            "the script has no `export default function`".to_string()
                        } else {
                            format!(
                                "the script exports no function {name:?} (surge reads the \
                                 functions declared in this file, and those re-exported from \
                                 local files: `export {{ {name} }} from './x.js'`)"
                            )
                        };
                        return Err(here.at(loc, &path, format!("{what}; k6 requires the function a scenario executes to be exported")));
                    }
                }
            }
            None => flows.push((name.clone(), None)),
        }
    }
    for (name, f) in &flows {
        match f {
            None => notes.push(format!(
                "flow {name:?}: the input has no script, so its requests are left for you to write"
            )),
            Some(f) => {
                let mut todos = Vec::new();
                collect_todos(&f.steps, &mut todos);
                // A helper called many times repeats its TODOs: print each once, with a count.
                let mut seen: Vec<((Loc, String), usize)> = Vec::new();
                let mut index: std::collections::HashMap<(Loc, String), usize> =
                    std::collections::HashMap::new();
                for t in todos {
                    match index.get(&t) {
                        Some(&i) => seen[i].1 += 1,
                        None => {
                            index.insert(t.clone(), seen.len());
                            seen.push((t, 1));
                        }
                    }
                }
                for ((loc, msg), n) in seen {
                    let times = if n > 1 {
                        format!(" (reached {n} times)")
                    } else {
                        String::new()
                    };
                    let inside = f
                        .file
                        .as_ref()
                        .map(|x| format!(" of {x}"))
                        .unwrap_or_default();
                    notes.push(format!(
                        "line {}, column {}{inside}: TODO in flow {name:?}: {msg}{times}",
                        loc.line, loc.col
                    ));
                }
                if !f
                    .steps
                    .iter()
                    .any(|s| !matches!(s, Step::Note { .. } | Step::Todo { .. }))
                {
                    let inside = f
                        .file
                        .as_ref()
                        .map(|x| format!(" of {x}"))
                        .unwrap_or_default();
                    notes.push(format!(
                        "flow {name:?} (line {}{inside}): no static request or sleep was found; its steps are left for you to write",
                        f.loc.line
                    ));
                }
            }
        }
    }
    let complete = flows.iter().all(|(_, f)| {
        f.as_ref().is_some_and(|f| {
            f.steps
                .iter()
                .any(|s| !matches!(s, Step::Note { .. } | Step::Todo { .. }))
        })
    });

    let yaml = emit(file, stem, target, &d, &flows, &entries, opts.loc);
    let scenario_path = target.scenario_path(stem);
    let model = match (&target.model, complete) {
        (Some(m), true) => Some(super::load_model(m)?),
        (Some(_), false) => {
            notes.push("not checked against the model: some flows have no steps yet; fill them in, then `surge validate` the scenario".into());
            None
        }
        (None, _) => None,
    };
    match check(&yaml, &scenario_path, model.as_ref()) {
        Ok(_) => {}
        Err(Check::Parse(e)) => {
            // The scenario does not parse: an executor this surge lacks, most likely.
            let msg = match &e {
                Error::Input { message, .. } => message.clone(),
                other => other.to_string(),
            };
            if let Some(sc) = d
                .scenarios
                .iter()
                .find(|s| msg.contains(&format!("`{}`", s.executor)))
            {
                let path = sc.origins.first().map_or("options".into(), |o| o.1.clone());
                return Err(here.at(
                    sc.loc,
                    &path,
                    format!("this surge has no {} executor ({msg})", sc.executor),
                ));
            }
            // A field surge requires that the options leave unset: name the scenario lacking it.
            let missing = msg
                .split_once("missing field `")
                .and_then(|(_, rest)| rest.split('`').next());
            if let Some(field) = missing {
                if let Some(sc) = d
                    .scenarios
                    .iter()
                    .find(|s| !s.fields.iter().any(|(k, _)| k == field))
                {
                    let path = sc.origins.first().map_or("options".into(), |o| o.1.clone());
                    return Err(here.at(
                        sc.loc,
                        &format!("{path}.{field}"),
                        format!(
                            "a {} scenario needs {field}, and the options leave it unset ({msg})",
                            sc.executor
                        ),
                    ));
                }
            }
            return Err(Error::input(
                file,
                "",
                format!("the scenario imported from this file is not one surge reads: {msg}"),
            ));
        }
        Err(Check::Limit(what)) => {
            // The flows are what grows without bound; say how large each is.
            let sizes: Vec<String> = flows
                .iter()
                .filter_map(|(n, f)| {
                    let f = f.as_ref()?;
                    let n_steps = ops(&f.steps);
                    (n_steps > 0).then(|| format!("flow {n:?} has {n_steps} steps"))
                })
                .collect();
            let deep = flows.iter().find_map(|(n, f)| {
                let (depth, loc) = loop_depth(&f.as_ref()?.steps)?;
                (depth > crate::workload::flow::MAX_LOOP_DEPTH).then_some((n, depth, loc))
            });
            let max = crate::workload::flow::MAX_LOOP_DEPTH;
            return Err(match deep {
                Some((n, depth, loc)) => Error::input(
                    file,
                    format!("line {}, column {}", loc.line, loc.col),
                    format!(
                        "flow {n:?} nests loops {depth} deep from here, so the scenario \
                         imported from this file would have {what}; surge flows nest loops at \
                         most {max} deep: unroll or drop the inner ones"
                    ),
                ),
                None => Error::input(
                    file,
                    "",
                    format!(
                        "the scenario imported from this file would have {what}, more than \
                         surge reads from one scenario file{}; import fewer requests, or split \
                         the flows across several scripts",
                        if sizes.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", sizes.join(", "))
                        }
                    ),
                ),
            });
        }
        Err(Check::Field(field, msg)) => {
            let (path, loc) = origin(&field, &d.scenarios, &flows, &entries);
            return Err(Error::input(
                file,
                Here::location(loc, &path),
                format!("{msg} (field {field} of the imported scenario)"),
            ));
        }
    }
    Ok(Imported { yaml, notes })
}

/// Compiled length of steps, as `config::validate` counts it (a loop adds a start and an end).
fn ops(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| match s {
            Step::Http { .. } | Step::Sleep { .. } => 1,
            Step::Loop { steps, .. } => 2 + ops(steps),
            Step::Note { .. } | Step::Todo { .. } => 0,
        })
        .sum()
}

/// The deepest nesting of loops in `steps`, with the outermost loop of that nest.
fn loop_depth(steps: &[Step]) -> Option<(usize, Loc)> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Loop { steps, loc, .. } => {
                Some((1 + loop_depth(steps).map_or(0, |(d, _)| d), *loc))
            }
            _ => None,
        })
        .max_by_key(|(d, _)| *d)
}

fn collect_todos(steps: &[Step], out: &mut Vec<(Loc, String)>) {
    for s in steps {
        match s {
            Step::Todo { loc, msg } => out.push((*loc, msg.clone())),
            Step::Loop { steps, .. } => collect_todos(steps, out),
            _ => {}
        }
    }
}

/// The options path and script location behind a field of the generated scenario.
fn origin(
    field: &str,
    scenarios: &[Scenario],
    flows: &[(String, Option<Flow>)],
    entries: &[thresholds::Entry],
) -> (String, Option<Loc>) {
    if let Some(rest) = field.strip_prefix("scenarios.") {
        for sc in scenarios {
            let Some(sub) = rest.strip_prefix(sc.name.as_str()) else {
                continue;
            };
            let sub = sub.trim_start_matches('.');
            if !(sub.is_empty() || rest.as_bytes().get(sc.name.len()) == Some(&b'.')) {
                continue;
            }
            let best = sc
                .origins
                .iter()
                .filter(|(f, _, _)| {
                    f.is_empty()
                        || sub == f
                        || sub.starts_with(&format!("{f}."))
                        || sub.starts_with(&format!("{f}["))
                })
                .max_by_key(|(f, _, _)| f.len());
            if let Some((_, p, l)) = best {
                return (p.clone(), *l);
            }
        }
    }
    if let Some(rest) = field.strip_prefix("flows.") {
        for (name, f) in flows {
            if rest == name || rest.starts_with(&format!("{name}.")) {
                let loc = f.as_ref().map(|f| f.loc);
                let mut path = format!("function {name}");
                // flows.NAME.steps[i]: the i-th written step.
                if let (Some(f), Some(i)) = (f, step_index(rest)) {
                    if let Some(l) = written_steps(&f.steps).get(i) {
                        path = format!("{path}, step {}", i + 1);
                        return (path, Some(*l));
                    }
                }
                return (path, loc);
            }
        }
    }
    if let Some(rest) = field.strip_prefix("thresholds") {
        let key = rest.trim_start_matches('.');
        if let Some(e) = entries.iter().find(|e| e.key == key || key.is_empty()) {
            return (format!("options.thresholds[{:?}]", e.key), e.loc);
        }
        return ("options.thresholds".into(), None);
    }
    ("options".into(), None)
}

fn step_index(rest: &str) -> Option<usize> {
    let i = rest.find(".steps[")? + 7;
    let j = rest[i..].find(']')? + i;
    rest[i..j].parse().ok()
}

/// Locations of the top-level steps as written (notes and TODOs are comments).
fn written_steps(steps: &[Step]) -> Vec<Loc> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Http { loc, .. } | Step::Sleep { loc, .. } | Step::Loop { loc, .. } => Some(*loc),
            _ => None,
        })
        .collect()
}

fn emit(
    file: &Path,
    stem: &str,
    target: &Target,
    derived: &options::Derived,
    flows: &[(String, Option<Flow>)],
    entries: &[thresholds::Entry],
    options_loc: Option<Loc>,
) -> String {
    let scenarios = &derived.scenarios;
    let mut y = String::new();
    let fname = file.file_name().map_or_else(
        || file.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let _ = writeln!(
        y,
        "# Imported by `surge import k6` from {}.",
        comment(&fname)
    );
    match options_loc {
        Some(l) => {
            let _ = writeln!(
                y,
                "# The k6 options are at line {}; re-run the import after changing them.",
                l.line
            );
        }
        None => {
            let _ = writeln!(y, "# Re-run the import after changing the k6 options.");
        }
    }
    let _ = writeln!(y, "name: {}", yaml_key(stem));
    if let Some(n) = derived.rps {
        let _ = writeln!(
            y,
            "rps: {n}  # k6 options.rps: one token bucket for all VUs"
        );
    }
    if let Some(ns) = derived.min_iteration {
        let _ = writeln!(
            y,
            "min_iteration_duration: {}  # k6 options.minIterationDuration",
            crate::dist::format_duration(ns)
        );
    }
    match target.model_ref() {
        Some(m) => {
            let _ = writeln!(y, "model: {}", super::yaml_str(&m));
        }
        None => {
            let _ = writeln!(y, "model: model.yaml  # TODO: the model to run on, relative to this file (or import with --model)");
        }
    }
    y.push_str("flows:\n");
    for (name, f) in flows {
        let _ = match f {
            Some(f) => writeln!(
                y,
                "  {}:  # {}, line {}{}",
                yaml_key(name),
                if name == "default" {
                    "export default function".to_string()
                } else {
                    format!("export function {name}")
                },
                f.loc.line,
                f.file
                    .as_ref()
                    .map(|x| format!(
                        " of {} (re-exported; the lines below are that file's)",
                        comment(x)
                    ))
                    .unwrap_or_default()
            ),
            None => writeln!(y, "  {}:", yaml_key(name)),
        };
        let steps = f.as_ref().map(|f| f.steps.as_slice()).unwrap_or(&[]);
        if written_steps(steps).is_empty() {
            y.push_str("    steps: []  # TODO: write this flow's requests, e.g. `- get: /path`, `- sleep: uniform(1s,3s)`\n");
            emit_steps(&mut y, steps, 6);
        } else {
            y.push_str("    steps:\n");
            emit_steps(&mut y, steps, 6);
        }
    }
    y.push_str("scenarios:\n");
    let many_flows = flows.len() > 1;
    for sc in scenarios {
        match sc.loc {
            Some(l) => {
                let _ = writeln!(y, "  {}:  # line {}", yaml_key(&sc.name), l.line);
            }
            None => {
                let _ = writeln!(y, "  {}:", yaml_key(&sc.name));
            }
        }
        let _ = writeln!(y, "    executor: {}", sc.executor);
        for (k, v) in &sc.fields {
            let sep = if v.starts_with('\n') { "" } else { " " };
            let _ = writeln!(y, "    {k}:{sep}{v}");
        }
        if many_flows {
            let _ = writeln!(y, "    flows: [{}]", yaml_key(&sc.exec));
        }
    }
    if !entries.is_empty() {
        y.push_str("thresholds:\n");
        for e in entries {
            let line = format!("{}: {}", super::yaml_str(&e.key), e.yaml);
            match &e.skipped {
                None => {
                    let _ = writeln!(y, "  {line}");
                }
                Some(why) => {
                    let _ = writeln!(y, "  # TODO: {}", comment(why));
                    let _ = writeln!(y, "  # {}", comment(&line));
                }
            }
        }
    }
    y
}

fn emit_steps(y: &mut String, steps: &[Step], indent: usize) {
    let pad = " ".repeat(indent);
    for s in steps {
        match s {
            Step::Http {
                method,
                path,
                loc,
                call,
            } => {
                let _ = writeln!(
                    y,
                    "{pad}- {method}: {}  # {call}, line {}",
                    super::yaml_str(path),
                    loc.line
                );
            }
            Step::Sleep { dist, loc } => {
                let _ = writeln!(y, "{pad}- sleep: {dist}  # line {}", loc.line);
            }
            Step::Loop { count, loc, steps } => {
                let _ = writeln!(y, "{pad}- loop:  # line {}", loc.line);
                let _ = writeln!(y, "{pad}    count: {count}");
                let _ = writeln!(y, "{pad}    steps:");
                emit_steps(y, steps, indent + 6);
            }
            Step::Note { loc, msg } => {
                let _ = writeln!(y, "{pad}# line {}: {}", loc.line, comment(msg));
            }
            Step::Todo { loc, msg } => {
                let _ = writeln!(y, "{pad}# TODO (line {}): {}", loc.line, comment(msg));
            }
        }
    }
}
