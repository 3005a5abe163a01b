//! `surge import artillery`: an Artillery test script (YAML or JSON), read as Artillery reads
//! it, turned into a surge scenario (spec: `shared/reference/importing-load-tests.md` §2).
//!
//! - `config.phases` are copied as written: the `artillery` executor reads them with
//!   Artillery's own rules (`config::artillery`), and each is checked here so that an error
//!   names this file's line.
//! - Each entry of `scenarios` becomes a flow with its `weight` (parseInt, default 1); its
//!   requests become method steps (`- get: /api/leaderboard`) resolved through the model's
//!   routes, `think` a constant sleep, `loop` with a fixed `count` (or a literal `over` list) a
//!   loop.
//! - `config.ensure` (or `config.plugins.ensure`) becomes the scenario's `conditions`, each
//!   check as ensure builds it (`crate::ensure`);
//!   `config.timeout` / `config.http.timeout` the executor's request timeout (default 10 s).
//! - What surge cannot simulate (other engines, JavaScript hooks and functions, random loop
//!   counts, conditional requests) is an error naming it and its line; what has no effect on
//!   load (bodies, headers, captures, payload files, most plugins) is listed as a note.

use crate::config::artillery::{js_display, js_number, ms, to_number, truthy};
use crate::config::scenario::ArtilleryPhaseCfg;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::path::Path;

/// HTTP methods Artillery's http engine takes as request steps.
const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// A surge scenario made from an Artillery script.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The scenario document (as `ScenarioFile` reads it).
    pub scenario: Value,
    /// What was read and has no effect on the simulation, one line each.
    pub notes: Vec<String>,
    /// Where each flow part came from: (surge field, Artillery field), e.g.
    /// (`flows.checkout.steps[1]`, `scenarios[0].flow[2]`), so that an error in the imported
    /// scenario names the script's own field and line.
    pub origins: Vec<(String, String)>,
}

impl Imported {
    /// The scenario as YAML, with a header naming the source and the notes.
    pub fn to_yaml(&self, source: &Path) -> Result<String> {
        let mut out = format!(
            "# Imported from {} by `surge import artillery`.\n",
            source.display()
        );
        for n in &self.notes {
            out.push_str(&format!("# note: {n}\n"));
        }
        let body = serde_saphyr::to_string(&self.scenario)
            .map_err(|e| Error::input(source, "", format!("cannot write the scenario: {e}")))?;
        out.push_str(&body);
        Ok(out)
    }
}

/// Whether a file is an Artillery script: a top-level `config:` mapping and a `scenarios:`
/// list (a surge scenario has a `scenarios:` mapping and no `config:`).
pub fn looks_like(doc: &Value) -> bool {
    doc.get("config").is_some_and(Value::is_object)
        && doc.get("scenarios").is_some_and(Value::is_array)
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    notes: Vec<String>,
    origins: Vec<(String, String)>,
}

impl Ctx<'_> {
    fn err(&self, field: &str, msg: impl Into<String>) -> Error {
        if field.is_empty() {
            return Error::input(self.path, "", msg);
        }
        let loc = match crate::config::find_line(self.text, field) {
            Some(l) => format!("line {l}, field {field}"),
            None => format!("field {field}"),
        };
        Error::input(self.path, loc, msg)
    }

    fn note(&mut self, field: &str, what: impl Into<String>) {
        let line = crate::config::find_line(self.text, field)
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        self.notes.push(format!("{field}{line}: {}", what.into()));
    }
}

/// Read an Artillery script. `model` is the scenario's `model:` value (a path relative to
/// where the scenario will live).
pub fn import(path: &Path, text: &str, model: &str) -> Result<Imported> {
    let doc: Value = crate::config::parse_yaml(path, text)?;
    let mut cx = Ctx {
        path,
        text,
        notes: Vec::new(),
        origins: Vec::new(),
    };
    let Some(top) = doc.as_object() else {
        return Err(cx.err(
            "",
            "expected an Artillery script: a mapping with `config` and `scenarios`",
        ));
    };
    for (k, _) in top {
        match k.as_str() {
            "config" | "scenarios" => {}
            "before" | "after" => {
                return Err(cx.err(
                    k,
                    format!(
                        "`{k}` runs a flow once around the whole test; surge cannot represent \
                         it: remove it (its requests are not part of the load)"
                    ),
                ))
            }
            _ => cx.note(k, "ignored (not part of Artillery's load definition)"),
        }
    }
    let config = match top.get("config") {
        Some(Value::Object(c)) => c.clone(),
        Some(_) => return Err(cx.err("config", "expected a mapping")),
        None => Map::new(),
    };
    let Some(Value::Array(scenarios)) = top.get("scenarios") else {
        return Err(cx.err(
            "scenarios",
            "expected a list of scenarios (Artillery's `scenarios:`, each with a `flow`)",
        ));
    };
    let target = read_config(&mut cx, &config)?;
    let phases = read_phases(&mut cx, &config)?;
    let timeout = read_timeout(&cx, &config)?;
    let conditions = read_ensure(&mut cx, &config)?;
    let default_jitter = config
        .get("defaults")
        .and_then(|d| d.get("think"))
        .and_then(|t| t.get("jitter"))
        .cloned();

    let mut flows = Map::new();
    let mut weights = Vec::new();
    for (i, sc) in scenarios.iter().enumerate() {
        let at = format!("scenarios[{i}]");
        let Some(sc) = sc.as_object() else {
            return Err(cx.err(&at, "expected a mapping with a `flow` list"));
        };
        for (k, v) in sc {
            match k.as_str() {
                "name" | "weight" | "flow" => {}
                "engine" => {
                    if v.as_str() != Some("http") {
                        return Err(cx.err(
                            &format!("{at}.engine"),
                            format!(
                                "engine {} is not representable: surge imports Artillery's \
                                 http engine only (not playwright, ws, socketio or others)",
                                js_display(v)
                            ),
                        ));
                    }
                }
                "beforeScenario" | "afterScenario" | "beforeRequest" | "afterResponse"
                | "onError" => {
                    return Err(cx.err(
                        &format!("{at}.{k}"),
                        format!(
                            "`{k}` runs processor JavaScript, which surge does not execute; \
                             remove the hook (its effect on load cannot be represented)"
                        ),
                    ))
                }
                _ => cx.note(
                    &format!("{at}.{k}"),
                    "ignored (no effect on simulated load)",
                ),
            }
        }
        if sc.get("engine").is_none() {
            if let Some(e) = config.get("engine").filter(|e| e.as_str() != Some("http")) {
                return Err(cx.err(
                    "config.engine",
                    format!(
                        "engine {} is not representable: surge imports Artillery's http \
                         engine only",
                        js_display(e)
                    ),
                ));
            }
        }
        let weight = match sc.get("weight") {
            None => 1,
            Some(w) => {
                if js_display(w).contains("{{") {
                    return Err(cx.err(
                        &format!("{at}.weight"),
                        "a templated weight is not representable; expected a number",
                    ));
                }
                parse_int(&js_display(w)).unwrap_or(0)
            }
        };
        let name = unique_name(
            &flows,
            &sc.get("name")
                .map(js_display)
                .unwrap_or_else(|| format!("scenario_{i}")),
        );
        if weight <= 0 {
            // weighted-pick: weight × 100 entries, none for 0 (and parseInt(0.5) is 0).
            cx.note(
                &format!("{at}.weight"),
                format!("weight {weight}: Artillery never picks this scenario; left out"),
            );
            continue;
        }
        let Some(Value::Array(flow)) = sc.get("flow") else {
            return Err(cx.err(&format!("{at}.flow"), "expected a list of steps (`flow:`)"));
        };
        let to = format!("flows.{name}");
        let steps = read_steps(
            &mut cx,
            flow,
            (&format!("{to}.steps"), &format!("{at}.flow")),
            &target,
            default_jitter.as_ref(),
        )?;
        if !has_request(&steps) {
            return Err(cx.err(
                &format!("{at}.flow"),
                "expected at least one request (get, post, put, patch, delete, head or \
                 options) in the flow",
            ));
        }
        weights.push(weight);
        cx.origins
            .push((format!("{to}.steps"), format!("{at}.flow")));
        cx.origins
            .push((format!("{to}.weight"), format!("{at}.weight")));
        cx.origins.push((to, at));
        flows.insert(name, json!({"weight": weight, "steps": steps}));
    }
    if flows.is_empty() {
        return Err(cx.err(
            "scenarios",
            "expected at least one scenario with a positive weight",
        ));
    }
    let mut exec = json!({"executor": "artillery", "phases": phases});
    exec["request_timeout"] = json!(fmt_ms(timeout * 1000.0));
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "artillery".into());
    let mut scenario = json!({
        "name": name,
        "description": format!("Artillery script {} imported by surge", path.display()),
        "model": model,
        "flows": flows,
        "scenarios": {"artillery": exec},
    });
    if !conditions.is_empty() {
        scenario["conditions"] = Value::Array(conditions);
    }
    Ok(Imported {
        scenario,
        notes: cx.notes,
        origins: cx.origins,
    })
}

/// Read an Artillery script file and load it against `model` for a run (`surge run FILE
/// --model MODEL`): the scenario stays in memory. Errors in the imported scenario name the
/// Artillery file. Returns the loaded scenario and the import notes.
pub fn load(
    path: &Path,
    text: &str,
    model: &Path,
    sets: &[String],
    budget: crate::config::budget::Budget,
) -> Result<(crate::config::Loaded, Vec<String>)> {
    let abs = std::path::absolute(model).map_err(|e| Error::io(model, e))?;
    if !abs.exists() {
        return Err(Error::Usage(format!(
            "--model {}: file not found",
            model.display()
        )));
    }
    let imported = import(path, text, &abs.to_string_lossy())?;
    let loaded = check(path, text, &imported, path, sets, budget)?;
    Ok((loaded, imported.notes))
}

/// Artillery's `ARTILLERY_DISABLE_ENSURE`: with the variable set, to any value, ensure's
/// beforeExit hook returns before evaluating a check (art
/// `packages/artillery-plugin-ensure/plugin.ts`: `typeof process.env.ARTILLERY_DISABLE_ENSURE
/// !== 'undefined'`). Drops the conditions `load` made from the script's ensure block; the note
/// to print, or None when there were none.
pub fn disable_ensure(
    loaded: &mut crate::config::Loaded,
    path: &Path,
    text: &str,
) -> Option<String> {
    let n = std::mem::take(&mut loaded.scenario.conditions).len();
    if n == 0 {
        return None;
    }
    // ensure reads `config.ensure || config.plugins.ensure`.
    let field = ["config.ensure", "config.plugins.ensure"]
        .into_iter()
        .find_map(|f| crate::config::find_line(text, f).map(|l| format!("{f} (line {l})")))
        .unwrap_or_else(|| "config.ensure".into());
    Some(format!(
        "{}: ensure checks disabled by ARTILLERY_DISABLE_ENSURE: the {n} check{} of {field} \
         {} not evaluated and decide nothing, as in Artillery",
        path.display(),
        if n == 1 { "" } else { "s" },
        if n == 1 { "is" } else { "are" },
    ))
}

/// An error [`check`] blamed on a field of the imported scenario, blamed instead on the part of
/// the Artillery script it came from, with its line: the executor's phases are `config.phases`;
/// the run's length (which the budget names through `duration`, or `sample_interval` for the
/// time series) is the phases' total; `conditions` are `config.ensure`; a flow, step or loop
/// is the `scenarios[i]`, `scenarios[i].flow[j]` or `….loop` it was read from (`origins`).
fn locate(e: Error, text: &str, origins: &[(String, String)]) -> Error {
    let Error::Input {
        file,
        location,
        message,
    } = e
    else {
        return e;
    };
    let Some(field) = location.strip_prefix("the imported scenario's field ") else {
        return Error::Input {
            file,
            location,
            message,
        };
    };
    let phase = field
        .strip_prefix("scenarios.")
        .and_then(|r| r.split_once(".phases"))
        .map(|(_, rest)| format!("config.phases{rest}"));
    // The longest recorded flow part that holds the field (`steps[1]` holds `steps[1].loop`).
    let origin = origins
        .iter()
        .filter(|(to, _)| {
            field
                .strip_prefix(to.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
        .max_by_key(|(to, _)| to.len())
        .map(|(_, from)| from.clone());
    let (source, why) = match (phase.or(origin), field) {
        (Some(p), _) => (p, String::new()),
        (None, "duration" | "sample_interval") => (
            "config.phases".to_string(),
            " (the phases' total length is the run's length)".to_string(),
        ),
        (None, f) if f.starts_with("conditions") => ("config.ensure".to_string(), String::new()),
        _ => {
            return Error::Input {
                file,
                location,
                message,
            }
        }
    };
    let at = match crate::config::find_line(text, &source) {
        Some(l) => format!("line {l}, field {source}"),
        None => format!("field {source}"),
    };
    Error::Input {
        file,
        location: format!("{at}{why}"),
        message,
    }
}

/// Load an imported scenario as if it were written at `at` (its `model` relative to there),
/// with errors naming the Artillery file `source`.
pub fn check(
    source: &Path,
    text: &str,
    imported: &Imported,
    at: &Path,
    sets: &[String],
    budget: crate::config::budget::Budget,
) -> Result<crate::config::Loaded> {
    let yaml = imported.to_yaml(source)?;
    let located = |e| locate(e, text, &imported.origins);
    crate::config::load_text(at, &yaml, sets, budget).map_err(|e| {
        located(match e {
            Error::Input {
                file,
                location,
                message,
            } if Path::new(&file) == at => Error::input(
                source,
                if location.is_empty() {
                    "the imported scenario".to_string()
                } else {
                    format!("the imported scenario's {}", location_field(&location))
                },
                message,
            ),
            other => other,
        })
    })
}

/// "line 12, field flows.x.steps[0]" → "field flows.x.steps[0]" (the line is the generated
/// YAML's, not the Artillery file's).
fn location_field(loc: &str) -> String {
    match loc.find("field ") {
        Some(i) => loc[i..].to_string(),
        None => loc.to_string(),
    }
}

/// `config`'s keys: the target, and what is refused or ignored. Returns the target's path
/// prefix (`https://host/v1` → `/v1`).
fn read_config(cx: &mut Ctx, config: &Map<String, Value>) -> Result<String> {
    for (k, v) in config {
        let at = format!("config.{k}");
        match k.as_str() {
            "target" | "phases" | "http" | "timeout" | "ensure" | "plugins" | "defaults" => {}
            "processor" => {
                return Err(cx.err(
                    &at,
                    "a processor is JavaScript that surge does not execute; remove it together \
                     with the hooks and `function` steps that use it",
                ))
            }
            "engine" => {}
            "engines" => {
                if let Some(m) = v.as_object() {
                    for e in m.keys() {
                        cx.note(&format!("{at}.{e}"), "engine configuration ignored");
                    }
                }
            }
            "mode" => {
                if v.as_str() != Some("uniform") {
                    return Err(cx.err(
                        &at,
                        format!(
                            "mode {} is not modelled; surge runs Artillery's default uniform \
                             arrivals",
                            js_display(v)
                        ),
                    ));
                }
            }
            "environments" => cx.note(
                &at,
                "environments are applied only with `artillery run -e NAME`; not applied here",
            ),
            _ => cx.note(&at, "ignored (no effect on simulated load)"),
        }
    }
    match config.get("target") {
        Some(Value::String(t)) => {
            if t.contains("{{") {
                return Err(cx.err(
                    "config.target",
                    "a templated target is not representable; write the URL",
                ));
            }
            Ok(split_url(t).map(|(_, p)| p).unwrap_or_default())
        }
        Some(_) => Err(cx.err("config.target", "expected a URL string")),
        None => Ok(String::new()),
    }
}

/// `config.phases` as written, each checked with Artillery's rules; absent means
/// `[{duration: 1, arrivalCount: 1}]` (art `lib/util/prepare-test-execution-plan.ts`).
fn read_phases(cx: &mut Ctx, config: &Map<String, Value>) -> Result<Vec<Value>> {
    let list = match config.get("phases") {
        None => {
            cx.note(
                "config",
                "no phases: Artillery runs one arrival ({duration: 1, arrivalCount: 1})",
            );
            return Ok(vec![json!({"duration": 1, "arrivalCount": 1})]);
        }
        Some(Value::Array(l)) => l.clone(),
        Some(_) => return Err(cx.err("config.phases", "expected a list of phases")),
    };
    if list.is_empty() {
        return Err(cx.err("config.phases", "expected at least one phase"));
    }
    for (i, p) in list.iter().enumerate() {
        let at = format!("config.phases[{i}]");
        let Some(obj) = p.as_object() else {
            return Err(cx.err(&at, "expected a mapping (duration, arrivalRate, ...)"));
        };
        let mut obj = obj.clone();
        if let (None, Some(m)) = (obj.get("mode"), config.get("mode")) {
            obj.insert("mode".into(), m.clone());
        }
        let phase: ArtilleryPhaseCfg =
            serde_json::from_value(Value::Object(obj)).map_err(|e| cx.err(&at, e.to_string()))?;
        crate::config::artillery_phase(&phase).map_err(|e| cx.err(&at, e))?;
        if phase.skipped() {
            cx.note(
                &at,
                "no truthy arrivalRate, rampTo, arrivalCount or pause: Artillery's runner skips \
                 this phase (no time passes)",
            );
        }
    }
    Ok(list)
}

/// `config.timeout || config.http.timeout || 10`, seconds (art `engine_http.ts`).
fn read_timeout(cx: &Ctx, config: &Map<String, Value>) -> Result<f64> {
    let http_timeout = config.get("http").and_then(|h| h.get("timeout"));
    let (at, v) = match (config.get("timeout"), http_timeout) {
        (Some(v), _) if truthy(v) => ("config.timeout", v),
        (_, Some(v)) if truthy(v) => ("config.http.timeout", v),
        _ => return Ok(10.0),
    };
    let s = to_number(v);
    if !(s.is_finite() && s > 0.0) {
        return Err(cx.err(
            at,
            format!("expected a timeout in seconds, got {}", js_display(v)),
        ));
    }
    Ok(s)
}

/// ensure's checks (art `packages/artillery-plugin-ensure/plugin.ts` runChecks) as the
/// scenario's `conditions`, in runChecks' order: `thresholds`, `conditions`, the legacy keys,
/// `maxErrorRate`. Each expression is built as runChecks builds it and compiled here, so that a
/// mistake names this file's line.
fn read_ensure(cx: &mut Ctx, config: &Map<String, Value>) -> Result<Vec<Value>> {
    let plugin = config.get("plugins").and_then(|p| p.get("ensure"));
    if let Some(p) = config.get("plugins").and_then(Value::as_object) {
        for k in p.keys().filter(|k| *k != "ensure") {
            cx.note(&format!("config.plugins.{k}"), "plugin ignored");
        }
    }
    let (at, checks) = match (config.get("ensure"), plugin) {
        (Some(e), _) => {
            if plugin.is_none() {
                cx.note(
                    "config.ensure",
                    "Artillery loads its ensure plugin only when config.plugins.ensure is \
                     present; imported as conditions anyway",
                );
            }
            ("config.ensure", e)
        }
        (None, Some(p)) => ("config.plugins.ensure", p),
        (None, None) => return Ok(Vec::new()),
    };
    let Some(checks) = checks.as_object() else {
        return Err(cx.err(at, "expected a mapping of checks"));
    };
    for k in checks.keys() {
        if !ENSURE_KEYS.contains(&k.as_str()) {
            return Err(cx.err(
                &format!("{at}.{k}"),
                format!(
                    "unknown ensure check {k:?}; expected thresholds, conditions, \
                     maxErrorRate, p95, p99, max, min or median"
                ),
            ));
        }
    }
    let mut out: Vec<(String, crate::ensure::Condition)> = Vec::new();
    let mut add = |here: String, expression: String, strict: bool, name: Option<String>| {
        let c = crate::ensure::Condition {
            expression,
            strict,
            name,
        };
        out.push((here, c));
    };
    if let Some(v) = checks.get("thresholds") {
        let here = format!("{at}.thresholds");
        let Some(list) = v.as_array() else {
            return Err(cx.err(&here, "expected a list of {metric: value}"));
        };
        for (j, item) in list.iter().enumerate() {
            let at_j = format!("{here}[{j}]");
            let Some((name, val)) = item
                .as_object()
                .and_then(|o| (o.len() == 1).then(|| o.iter().next()).flatten())
            else {
                return Err(cx.err(&at_j, "expected one `metric: value` pair"));
            };
            if !to_number(val).is_finite() {
                return Err(cx.err(&at_j, format!("expected a number, got {}", js_display(val))));
            }
            // `${metricName} < ${maxValue}`, strict.
            add(at_j, format!("{name} < {}", js_display(val)), true, None);
        }
    }
    if let Some(v) = checks.get("conditions") {
        let here = format!("{at}.conditions");
        let Some(list) = v.as_array() else {
            return Err(cx.err(&here, "expected a list of {expression, strict}"));
        };
        for (j, item) in list.iter().enumerate() {
            let at_j = format!("{here}[{j}]");
            let Some(expr) = item.get("expression").and_then(Value::as_str) else {
                return Err(cx.err(&at_j, "expected an `expression` string"));
            };
            // `typeof o.strict === 'boolean' ? o.strict : true`.
            let strict = match item.get("strict") {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    cx.note(
                        &format!("{at_j}.strict"),
                        format!(
                            "{} is not a boolean: ensure then treats the condition as strict",
                            js_display(other)
                        ),
                    );
                    true
                }
            };
            add(at_j, expr.to_string(), strict, None);
        }
    }
    for (k, v) in checks {
        if !["p95", "p99", "max", "min", "median"].contains(&k.as_str()) {
            continue;
        }
        let here = format!("{at}.{k}");
        // `http.response_time.<k> < parseInt(v, 10)`, printed as `<k> < N`.
        let n = parse_int(&js_display(v)).ok_or_else(|| {
            cx.err(
                &here,
                format!("expected a number of ms, got {}", js_display(v)),
            )
        })?;
        add(
            here,
            format!("http.response_time.{k} < {n}"),
            true,
            Some(format!("{k} < {n}")),
        );
    }
    if let Some(v) = checks.get("maxErrorRate") {
        let here = format!("{at}.maxErrorRate");
        let x = to_number(v);
        if !x.is_finite() {
            return Err(cx.err(
                &here,
                format!("expected a percentage, got {}", js_display(v)),
            ));
        }
        let x = js_number(x);
        add(
            here,
            format!("((vusers.created - vusers.completed)/vusers.created * 100) <= {x}"),
            true,
            Some(format!("maxErrorRate < {x}")),
        );
    }
    let mut noted: Vec<String> = Vec::new();
    let mut conditions = Vec::new();
    for (here, c) in out {
        let e = c.compile().map_err(|e| cx.err(&here, e))?;
        for (name, _) in e.names() {
            let sometimes_absent = (crate::metrics::is_artillery_counter(name)
                && name != "vusers.failed")
                || name == "vusers.skipped";
            if sometimes_absent && !noted.contains(name) {
                cx.note(
                    &here,
                    format!(
                        "{name} is in Artillery's report only once it has counted: while it \
                         is 0 the check reads it as undefined, and a comparison with \
                         undefined is false (so `{name} < 1` fails)"
                    ),
                );
                noted.push(name.clone());
            }
        }
        conditions.push(serde_json::to_value(&c).expect("a condition serializes"));
    }
    Ok(conditions)
}

const ENSURE_KEYS: [&str; 8] = [
    "thresholds",
    "conditions",
    "maxErrorRate",
    "p95",
    "p99",
    "max",
    "min",
    "median",
];

/// The flow's steps as surge steps. `(to, at)`: the surge field the steps go to and the
/// Artillery field they come from; each step's origin is recorded (steps left out, such as
/// `log`, shift the indices).
fn read_steps(
    cx: &mut Ctx,
    flow: &[Value],
    (to, at): (&str, &str),
    target: &str,
    default_jitter: Option<&Value>,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (j, step) in flow.iter().enumerate() {
        let here = format!("{at}[{j}]");
        let origin = (format!("{to}[{}]", out.len()), here.clone());
        let Some(s) = step.as_object() else {
            return Err(cx.err(
                &here,
                "expected a step mapping (get, post, think, loop, ...)",
            ));
        };
        if let Some(body) = s.get("loop") {
            if let Some(l) = read_loop(cx, s, body, (&origin.0, &here), target, default_jitter)? {
                cx.origins.push(origin);
                out.push(l);
            }
            continue;
        }
        for (k, what) in [
            ("parallel", "runs requests concurrently within one VU"),
            ("function", "calls processor JavaScript"),
        ] {
            if s.contains_key(k) {
                return Err(cx.err(
                    &format!("{here}.{k}"),
                    format!("a `{k}` step {what}, which surge cannot represent"),
                ));
            }
        }
        if s.contains_key("log") {
            cx.note(&format!("{here}.log"), "log step ignored");
            continue;
        }
        if let Some(t) = s.get("think") {
            let jitter = s.get("jitter").or(default_jitter);
            out.push(json!({"sleep": think(cx, t, jitter, &format!("{here}.think"))?}));
            cx.origins.push(origin);
            continue;
        }
        let methods: Vec<&str> = METHODS
            .iter()
            .copied()
            .filter(|m| s.contains_key(*m))
            .collect();
        match methods.as_slice() {
            [m] => {
                out.push(request(cx, m, &s[*m], &format!("{here}.{m}"), target)?);
                cx.origins.push(origin);
            }
            [] => {
                let k = s.keys().next().cloned().unwrap_or_default();
                return Err(cx.err(
                    &format!("{here}.{k}"),
                    format!(
                        "unknown step {k:?}; surge imports get, post, put, patch, delete, head, \
                         options, think and loop steps"
                    ),
                ));
            }
            _ => {
                return Err(cx.err(
                    &here,
                    format!(
                        "one step has several requests ({}); expected one",
                        methods.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(out)
}

fn read_loop(
    cx: &mut Ctx,
    s: &Map<String, Value>,
    body: &Value,
    (to, here): (&str, &str),
    target: &str,
    default_jitter: Option<&Value>,
) -> Result<Option<Value>> {
    if s.contains_key("whileTrue") {
        return Err(cx.err(
            &format!("{here}.whileTrue"),
            "whileTrue calls processor JavaScript; surge needs a fixed `count`",
        ));
    }
    let Some(list) = body.as_array() else {
        return Err(cx.err(&format!("{here}.loop"), "expected a list of steps"));
    };
    let count: f64 = match (s.get("over"), s.get("count")) {
        (Some(Value::Array(a)), _) => a.len() as f64,
        (Some(o), _) => {
            return Err(cx.err(
                &format!("{here}.over"),
                format!(
                    "`over: {}` loops over a variable's values, whose length is not known \
                     statically; expected a literal list or a `count`",
                    js_display(o)
                ),
            ))
        }
        // `count || -1`: absent or 0 loops forever.
        (None, c) if !c.is_some_and(truthy) => {
            return Err(cx.err(
                &format!("{here}.loop"),
                "a loop without a `count` (or with count 0) repeats forever in Artillery; \
                 expected a positive count",
            ))
        }
        (None, Some(c)) => {
            // parseLoopCount: a number, a numeric string, "a-b" (random), else 0 passes.
            let text = js_display(c);
            if c.is_string() && to_number(c).is_nan() {
                if text
                    .as_bytes()
                    .windows(3)
                    .any(|w| w[0].is_ascii_digit() && w[1] == b'-' && w[2].is_ascii_digit())
                {
                    return Err(cx.err(
                        &format!("{here}.count"),
                        format!("count {text:?} is a random range; surge needs a fixed count"),
                    ));
                }
                0.0
            } else {
                to_number(c)
            }
        }
        (None, None) => unreachable!("handled above"),
    };
    // `i < to` from 0: ceil(count) passes; none when count <= 0.
    let passes = if count > 0.0 { count.ceil() } else { 0.0 };
    if passes == 0.0 {
        cx.note(&format!("{here}.loop"), "zero passes: the loop is left out");
        return Ok(None);
    }
    if passes > f64::from(u32::MAX) {
        return Err(cx.err(
            &format!("{here}.count"),
            format!("count {count} is too large"),
        ));
    }
    let steps = read_steps(
        cx,
        list,
        (&format!("{to}.loop.steps"), &format!("{here}.loop")),
        target,
        default_jitter,
    )?;
    let count_at = if s.contains_key("over") {
        "over"
    } else {
        "count"
    };
    cx.origins
        .push((format!("{to}.loop.count"), format!("{here}.{count_at}")));
    cx.origins
        .push((format!("{to}.loop.steps"), format!("{here}.loop")));
    Ok(Some(
        json!({"loop": {"count": passes as u32, "steps": steps}}),
    ))
}

/// A think step as a surge sleep distribution (art `engine_util.ts` createThink, `jitter.ts`).
fn think(cx: &mut Ctx, t: &Value, jitter: Option<&Value>, at: &str) -> Result<String> {
    let text = js_display(t);
    if text.contains("{{") {
        return Err(cx.err(
            at,
            "a templated think time is not representable; expected a number",
        ));
    }
    let n = to_number(t);
    let millis = if n.is_finite() && n.fract() == 0.0 {
        // An integer (or integer string) is seconds: ms(`${t}s`).
        ms(&format!("{text}s"))
    } else if t.is_string() {
        ms(&text)
    } else if n.is_finite() {
        // ms(1.5) formats instead of parsing ("1.5ms"); setTimeout then gets NaN, which
        // Node runs as 1 ms.
        cx.note(
            at,
            format!(
                "think {text} (a non-integer number) sleeps 1 ms in Artillery: ms() formats it"
            ),
        );
        Some(1.0)
    } else {
        None
    };
    let Some(millis) = millis.filter(|m| *m >= 0.0) else {
        return Err(cx.err(
            at,
            format!(
                "Invalid think time: {text} (Artillery's error); expected seconds (2) or an ms \
                 duration string (\"500ms\", \"1.5s\")"
            ),
        ));
    };
    let Some(j) = jitter.filter(|j| truthy(j)) else {
        return Ok(format!("const({})", fmt_ms(millis)));
    };
    // jitter("<ms>:<j>"): nb = parseInt(ms), j ms or j% of nb; uniform on [nb-j, nb+j], >= 0.
    let js = js_display(j);
    let nb = millis.trunc();
    let Some(raw) = parse_int(&js) else {
        return Err(cx.err(
            at,
            format!("jitter {js:?}: expected ms (\"200\") or a percentage (\"20%\")"),
        ));
    };
    let approx = if js.contains('%') {
        nb * raw as f64 / 100.0
    } else {
        raw as f64
    };
    if nb - approx < 0.0 {
        return Err(cx.err(
            at,
            format!(
                "jitter {js} on {nb} ms goes below 0, where Artillery clamps the sleep to 0; \
                 that mixture is not representable: expected a jitter of at most the think time"
            ),
        ));
    }
    Ok(format!(
        "uniform({},{})",
        fmt_ms(nb - approx.abs()),
        fmt_ms(nb + approx.abs())
    ))
}

/// A request step: `{method: path}` with `config.target` (and any absolute URL's host)
/// stripped; query strings dropped; `{{ ... }}` expressions kept (they match a route's
/// `{param}`).
fn request(cx: &mut Ctx, method: &str, spec: &Value, at: &str, target: &str) -> Result<Value> {
    let Some(spec) = spec.as_object() else {
        return Err(cx.err(at, "expected a mapping with a `url`"));
    };
    for (k, _) in spec {
        match k.as_str() {
            "url" => {}
            "beforeRequest" | "afterResponse" => {
                return Err(cx.err(
                    &format!("{at}.{k}"),
                    format!("`{k}` runs processor JavaScript, which surge does not execute"),
                ))
            }
            "ifTrue" | "probability" => {
                return Err(cx.err(
                    &format!("{at}.{k}"),
                    format!(
                        "`{k}` makes the request conditional; surge flows run every request: \
                         split the flow into weighted scenarios instead"
                    ),
                ))
            }
            _ => {}
        }
    }
    let Some(url) = spec.get("url").and_then(Value::as_str) else {
        return Err(cx.err(
            &format!("{at}.url"),
            "expected a `url` string (a request without one ends the VU in Artillery)",
        ));
    };
    let path = match split_url(url) {
        Some((_, p)) => p,
        None if url.starts_with("{{") => {
            return Err(cx.err(
                &format!("{at}.url"),
                format!("the URL {url:?} starts with a template; expected a path or a URL"),
            ))
        }
        // A relative URL is appended to config.target.
        None => format!("{target}{url}"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("").to_string();
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    Ok(json!({ method: path }))
}

/// `scheme://host[:port]/path` → (host, path); `None` when not an absolute http(s) URL.
fn split_url(u: &str) -> Option<(String, String)> {
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    Some((host.to_string(), path.trim_end_matches('/').to_string()))
}

fn has_request(steps: &[Value]) -> bool {
    steps.iter().any(|s| {
        METHODS.iter().any(|m| s.get(*m).is_some())
            || s.get("loop")
                .and_then(|l| l.get("steps"))
                .and_then(Value::as_array)
                .is_some_and(|l| has_request(l))
    })
}

/// JavaScript `parseInt(s, 10)`: leading whitespace, a sign, then digits; `None` for NaN.
fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let n: i64 = digits[..end].parse().ok()?;
    Some(if neg { -n } else { n })
}

/// A flow name from an Artillery scenario name: lower case, `_` for other characters,
/// numbered when taken.
fn unique_name(taken: &Map<String, Value>, name: &str) -> String {
    let mut slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    slug = slug.trim_matches('_').to_string();
    while slug.contains("__") {
        slug = slug.replace("__", "_");
    }
    if slug.is_empty() {
        slug = "scenario".into();
    }
    let mut out = slug.clone();
    let mut i = 2;
    while taken.contains_key(&out) {
        out = format!("{slug}_{i}");
        i += 1;
    }
    out
}

/// Milliseconds as a surge duration: whole seconds as `Ns`, else `Nms`.
fn fmt_ms(m: f64) -> String {
    if m >= 1000.0 && (m / 1000.0).fract() == 0.0 {
        format!("{}s", m / 1000.0)
    } else {
        format!("{}ms", fmt_num(m))
    }
}

fn fmt_num(x: f64) -> String {
    format!("{x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_as_javascript() {
        assert_eq!(parse_int("60"), Some(60));
        assert_eq!(parse_int("0.5"), Some(0));
        assert_eq!(parse_int(" 7abc"), Some(7));
        assert_eq!(parse_int("-3"), Some(-3));
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int(""), None);
    }

    #[test]
    fn urls_lose_host_and_query() {
        assert_eq!(
            split_url("https://hamballer.xyz"),
            Some(("hamballer.xyz".into(), "".into()))
        );
        assert_eq!(
            split_url("http://x:8080/v1/"),
            Some(("x:8080".into(), "/v1".into()))
        );
        assert_eq!(split_url("/api"), None);
    }

    #[test]
    fn names_are_slugs_and_unique() {
        let mut m = Map::new();
        assert_eq!(
            unique_name(&m, "Badge Minting Simulation"),
            "badge_minting_simulation"
        );
        m.insert("a_b".into(), Value::Null);
        assert_eq!(unique_name(&m, "A  b!"), "a_b_2");
        assert_eq!(unique_name(&m, "!!"), "scenario");
    }
}
