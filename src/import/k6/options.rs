//! k6 `options` → surge scenarios: values decoded as k6 decodes its JSON options (k6
//! `lib/types/types.go` ParseExtendedDuration, guregu `null.Int`), the shortcuts `vus`,
//! `duration`, `iterations` and `stages` derived as k6 `lib/executor/
//! execution_config_shortcuts.go` DeriveScenariosFromShortcuts derives them, and
//! `options.scenarios` read with k6's field names (strict, as k6 `lib/executors.go` is).

use super::value::{Here, Loc, Node, V};
use crate::dist::format_duration;
use crate::error::Result;

/// A surge executor, ready to write: its name, fields as YAML text, and where each came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub executor: String,
    /// (key, YAML value) in the order k6 documents them.
    pub fields: Vec<(String, String)>,
    /// The exported function it runs (k6 `exec`, default `default`).
    pub exec: String,
    pub loc: Option<Loc>,
    /// Generated YAML field (below `scenarios.NAME`) -> (options path, where).
    pub origins: Vec<(String, String, Option<Loc>)>,
}

impl Scenario {
    fn new(name: &str, executor: &str, loc: Option<Loc>, path: &str) -> Scenario {
        Scenario {
            name: name.into(),
            executor: executor.into(),
            fields: Vec::new(),
            exec: "default".into(),
            loc,
            origins: vec![(String::new(), path.into(), loc)],
        }
    }

    fn set(&mut self, key: &str, yaml: String, path: &str, loc: Option<Loc>) {
        self.fields.push((key.into(), yaml));
        self.origins.push((key.into(), path.into(), loc));
    }

    #[cfg(test)]
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What the options give: the scenarios, and notes for the user.
pub struct Derived {
    pub scenarios: Vec<Scenario>,
    pub notes: Vec<String>,
    /// `options.rps` when positive (k6 limits only then).
    pub rps: Option<u64>,
    /// `options.minIterationDuration` in ns, when positive.
    pub min_iteration: Option<u64>,
}

/// k6's duration decoding (`types.Duration.UnmarshalJSON`): a number or numeric string is
/// milliseconds, otherwise a Go duration with an optional `Nd` days prefix. Nanoseconds,
/// negative allowed (validation refuses it where k6 does).
pub fn k6_duration(s: &str) -> std::result::Result<i128, String> {
    if let Ok(ms) = s.trim().parse::<f64>() {
        if s.trim()
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
        {
            return Ok((ms * 1e6) as i128);
        }
    }
    match s.find('d') {
        None => go_duration(s),
        Some(p) => {
            let days: i64 = s[..p].parse().map_err(|_| {
                format!(
                    "invalid duration {s:?}: {:?} is not a number of days",
                    &s[..p]
                )
            })?;
            let mut rest: i128 = 0;
            if p + 1 < s.len() {
                rest = go_duration(&s[p + 1..])?;
                if rest < 0 {
                    return Err(format!("invalid time format '{}'", &s[p + 1..]));
                }
            }
            if days < 0 {
                rest = -rest;
            }
            Ok(i128::from(days) * 86_400_000_000_000 + rest)
        }
    }
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
pub fn go_duration(s: &str) -> std::result::Result<i128, String> {
    let bad = || format!("invalid duration {s:?}: expected e.g. 30s, 1m30s, 1.5h or 2d (k6)");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." {
            return Err(bad());
        }
        let v: f64 = num.parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("invalid duration {s:?}: missing unit")),
            u => return Err(format!("invalid duration {s:?}: unknown unit {u:?}")),
        };
        rest = &rest[unit_end..];
        total += v * unit;
    }
    if total > i64::MAX as f64 {
        return Err(format!("invalid duration {s:?}: too large"));
    }
    Ok(if neg {
        -(total.round() as i128)
    } else {
        total.round() as i128
    })
}

pub struct Reader<'p> {
    pub here: Here<'p>,
}

impl Reader<'_> {
    /// A duration field: `None` when unset.
    pub fn duration(&self, n: &Node, path: &str) -> Result<Option<i128>> {
        match &n.v {
            V::Null | V::Undef => Ok(None),
            V::Num(ms) => Ok(Some((ms * 1e6) as i128)),
            V::Str(s) => k6_duration(s)
                .map(Some)
                .map_err(|e| self.here.err(n, path, e)),
            V::Dyn { .. } => Err(self.here.dynamic(n, path)),
            _ => Err(self.here.err(
                n,
                path,
                format!(
                    "expected a duration such as \"30s\" (or milliseconds), got {}",
                    n.kind()
                ),
            )),
        }
    }

    /// An integer field (guregu `null.Int`: an integer or a numeric string; `10.5` is refused).
    pub fn int(&self, n: &Node, path: &str) -> Result<Option<i64>> {
        match &n.v {
            V::Null | V::Undef => Ok(None),
            V::Num(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => Ok(Some(*x as i64)),
            V::Num(x) => Err(self.here.err(
                n,
                path,
                format!("expected an integer, got {x} (k6 refuses fractions here)"),
            )),
            V::Str(s) if s.is_empty() => Ok(None),
            V::Str(s) => s.parse::<i64>().map(Some).map_err(|_| {
                self.here.err(
                    n,
                    path,
                    format!("expected an integer, got the string {s:?}"),
                )
            }),
            V::Dyn { .. } => Err(self.here.dynamic(n, path)),
            _ => Err(self
                .here
                .err(n, path, format!("expected an integer, got {}", n.kind()))),
        }
    }

    fn string(&self, n: &Node, path: &str) -> Result<Option<String>> {
        match &n.v {
            V::Null | V::Undef => Ok(None),
            V::Str(s) => Ok(Some(s.clone())),
            V::Dyn { .. } => Err(self.here.dynamic(n, path)),
            _ => Err(self
                .here
                .err(n, path, format!("expected a string, got {}", n.kind()))),
        }
    }

    /// A value that must be static to be read (an object or array as a whole).
    fn static_node<'n>(&self, n: &'n Node, path: &str) -> Result<&'n Node> {
        match n.v {
            V::Dyn { .. } => Err(self.here.dynamic(n, path)),
            _ => Ok(n),
        }
    }

    /// Non-negative ns as a surge duration string; negative refused with k6's wording.
    fn dur_yaml(&self, ns: i128, n: &Node, path: &str, what: &str) -> Result<String> {
        if ns < 0 {
            return Err(self
                .here
                .err(n, path, format!("the {what} can't be negative")));
        }
        u64::try_from(ns)
            .map(format_duration)
            .map_err(|_| self.here.err(n, path, "duration too large"))
    }

    fn count_yaml(&self, v: i64, n: &Node, path: &str, what: &str) -> Result<String> {
        if v < 0 {
            return Err(self
                .here
                .err(n, path, format!("the number of {what} can't be negative")));
        }
        if v > i64::from(u32::MAX) {
            return Err(self.here.err(
                n,
                path,
                format!("{v} {what} is more than surge can simulate ({})", u32::MAX),
            ));
        }
        Ok(v.to_string())
    }

    /// Stages `[{duration, target}]`. `shortcut`: the top-level `stages`, whose entries
    /// without a duration k6 drops (getRampingVUsScenario); in a scenario they are an error.
    fn stages(
        &self,
        n: &Node,
        path: &str,
        shortcut: bool,
        sc: &mut Scenario,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let n = self.static_node(n, path)?;
        let V::Arr(items) = &n.v else {
            return Err(self.here.err(
                n,
                path,
                format!("expected an array of stages, got {}", n.kind()),
            ));
        };
        let mut out = Vec::new();
        for (i, st) in items.iter().enumerate() {
            let sp = format!("{path}[{i}]");
            let st = self.static_node(st, &sp)?;
            let V::Obj(kv) = &st.v else {
                return Err(self.here.err(
                    st,
                    &sp,
                    format!("expected a stage {{duration, target}}, got {}", st.kind()),
                ));
            };
            if !shortcut {
                if let Some((k, v)) = kv.iter().find(|(k, _)| k != "duration" && k != "target") {
                    return Err(self.here.err(
                        v,
                        &format!("{sp}.{k}"),
                        format!("json: unknown field {k:?} (a stage has duration and target)"),
                    ));
                }
            }
            let none = Node::new(V::Undef, st.loc);
            let dn = st.get("duration").unwrap_or(&none);
            let tn = st.get("target").unwrap_or(&none);
            let dur = self.duration(dn, &format!("{sp}.duration"))?;
            let target = self.int(tn, &format!("{sp}.target"))?;
            let Some(dur) = dur else {
                if shortcut {
                    notes.push(format!(
                        "{}: k6 drops a stage without a duration; so does the import",
                        Here::location(st.loc, &sp)
                    ));
                    continue;
                }
                return Err(self.here.err(
                    st,
                    &sp,
                    format!("stage {} doesn't have a duration", i + 1),
                ));
            };
            let Some(target) = target else {
                return Err(self.here.err(
                    st,
                    &sp,
                    format!("stage {} doesn't have a target", i + 1),
                ));
            };
            if dur < 0 {
                return Err(self.here.err(
                    dn,
                    &format!("{sp}.duration"),
                    format!("the duration for stage {} can't be negative", i + 1),
                ));
            }
            if target < 0 {
                return Err(self.here.err(
                    tn,
                    &format!("{sp}.target"),
                    format!("the target for stage {} can't be negative", i + 1),
                ));
            }
            let d = self.dur_yaml(dur, dn, &format!("{sp}.duration"), "stage duration")?;
            sc.origins
                .push((format!("stages[{}]", out.len()), sp.clone(), st.loc));
            out.push(format!("{{duration: {d}, target: {target}}}"));
        }
        let yaml = if out.is_empty() {
            "[]".to_string()
        } else {
            out.iter()
                .map(|s| format!("\n      - {s}"))
                .collect::<String>()
        };
        sc.fields.push(("stages".into(), yaml));
        Ok(())
    }
}

/// The executors k6 has, with their own fields (k6 `lib/executor/*.go` json tags).
fn executor_fields(executor: &str) -> Option<&'static [&'static str]> {
    Some(match executor {
        "constant-vus" => &["vus", "duration"],
        "ramping-vus" => &["startVUs", "stages", "gracefulRampDown"],
        "constant-arrival-rate" => &["rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"],
        "ramping-arrival-rate" => &[
            "startRate",
            "timeUnit",
            "stages",
            "preAllocatedVUs",
            "maxVUs",
        ],
        "shared-iterations" | "per-vu-iterations" => &["vus", "iterations", "maxDuration"],
        _ => return None,
    })
}

const BASE_FIELDS: &[&str] = &[
    "executor",
    "startTime",
    "gracefulStop",
    "env",
    "exec",
    "tags",
    "options",
];

/// Read the options: the shortcuts derived, or `scenarios` as written.
pub fn derive(r: &Reader, opts: &Node, derived_already: bool) -> Result<Derived> {
    let mut notes = Vec::new();
    let opts = r.static_node(opts, "options")?;
    if !matches!(opts.v, V::Obj(_)) {
        return Err(r.here.err(
            opts,
            "options",
            format!("expected an object, got {}", opts.kind()),
        ));
    }
    let none = Node::new(V::Undef, opts.loc);
    let get = |k: &str| opts.get(k).unwrap_or(&none);
    let scenarios_node = get("scenarios");
    let scenarios_set = !r
        .static_node(scenarios_node, "options.scenarios")?
        .is_unset();
    let scenarios_len = match &scenarios_node.v {
        V::Obj(kv) => kv.len(),
        V::Null | V::Undef => 0,
        _ => {
            return Err(r.here.err(
                scenarios_node,
                "options.scenarios",
                format!(
                    "expected an object of scenarios, got {}",
                    scenarios_node.kind()
                ),
            ))
        }
    };
    let read_scenarios = |notes: &mut Vec<String>| -> Result<Vec<Scenario>> {
        let V::Obj(kv) = &scenarios_node.v else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, n) in kv {
            out.push(scenario(r, name, n, notes)?);
        }
        Ok(out)
    };
    // `k6 inspect --execution-requirements` prints the derived scenarios beside the shortcuts.
    if derived_already && scenarios_len > 0 {
        let mut scenarios = read_scenarios(&mut notes)?;
        // Top-level stages beside the scenarios: the `default` ramping-vus was derived from
        // them with the unset `vus`, which is 0 in that output (not the CLI's 1), so it
        // starts at 0 VUs; its `startVUs` prints as null.
        let vus_n = get("vus");
        let from_stages = matches!(&get("stages").v, V::Arr(a) if !a.is_empty());
        if from_stages && vus_n.is_unset() {
            for sc in scenarios.iter_mut().filter(|s| {
                s.name == "default"
                    && s.executor == "ramping-vus"
                    && !s.fields.iter().any(|(k, _)| k == "startVUs")
            }) {
                let at = sc
                    .fields
                    .iter()
                    .position(|(k, _)| k == "stages")
                    .unwrap_or(sc.fields.len());
                sc.fields.insert(at, ("startVUs".into(), "0".into()));
                sc.origins
                    .push(("startVUs".into(), "options.vus".into(), vus_n.loc));
            }
        }
        return Ok(Derived {
            scenarios,
            notes,
            rps: rps(r, opts)?,
            min_iteration: min_iteration(r, opts)?,
        });
    }
    let (vus_n, dur_n, iter_n, stages_n) = (
        get("vus"),
        get("duration"),
        get("iterations"),
        get("stages"),
    );
    let vus = r.int(vus_n, "options.vus")?;
    let duration = r.duration(dur_n, "options.duration")?;
    let iterations = r.int(iter_n, "options.iterations")?;
    let stages_set = !r.static_node(stages_n, "options.stages")?.is_unset();
    let stages_len = match &stages_n.v {
        V::Arr(a) => a.len(),
        V::Null | V::Undef => 0,
        _ => {
            return Err(r.here.err(
                stages_n,
                "options.stages",
                format!("expected an array of stages, got {}", stages_n.kind()),
            ))
        }
    };
    let conflict = |n: &Node, path: &str, msg: &str| {
        Err(r.here.err(
            n,
            path,
            format!("{msg} (k6 refuses this combination; keep one of them)"),
        ))
    };
    let vus_field = |sc: &mut Scenario, key: &str| -> Result<()> {
        if let Some(v) = vus {
            let y = r.count_yaml(v, vus_n, "options.vus", "VUs")?;
            sc.set(key, y, "options.vus", vus_n.loc);
        }
        Ok(())
    };
    let scenarios = if let Some(it) = iterations {
        if stages_len > 0 {
            return conflict(
                iter_n,
                "options.iterations",
                "using `iterations` and `stages` options simultaneously is not allowed",
            );
        }
        if scenarios_set {
            return conflict(
                iter_n,
                "options.iterations",
                "using `iterations` and `scenarios` options simultaneously is not allowed",
            );
        }
        let mut sc = Scenario::new(
            "default",
            "shared-iterations",
            iter_n.loc,
            "options.iterations",
        );
        vus_field(&mut sc, "vus")?;
        let y = r.count_yaml(it, iter_n, "options.iterations", "iterations")?;
        sc.set("iterations", y, "options.iterations", iter_n.loc);
        if let Some(d) = duration {
            let y = r.dur_yaml(d, dur_n, "options.duration", "maxDuration")?;
            sc.set("maxDuration", y, "options.duration", dur_n.loc);
        }
        vec![sc]
    } else if let Some(d) = duration {
        if stages_len > 0 {
            return conflict(
                dur_n,
                "options.duration",
                "using `duration` and `stages` options simultaneously is not allowed",
            );
        }
        if scenarios_set {
            return conflict(
                dur_n,
                "options.duration",
                "using `duration` and `scenarios` options simultaneously is not allowed",
            );
        }
        if d <= 0 {
            return Err(r.here.err(dur_n, "options.duration", "`duration` option should be more than 0, for infinite duration use the externally-controlled executor (k6 v2 removed it: give a finite duration)"));
        }
        let mut sc = Scenario::new("default", "constant-vus", dur_n.loc, "options.duration");
        vus_field(&mut sc, "vus")?;
        let y = r.dur_yaml(d, dur_n, "options.duration", "duration")?;
        sc.set("duration", y, "options.duration", dur_n.loc);
        vec![sc]
    } else if stages_len > 0 {
        if scenarios_set {
            return conflict(
                stages_n,
                "options.stages",
                "using `stages` and `scenarios` options simultaneously is not allowed",
            );
        }
        let mut sc = Scenario::new("default", "ramping-vus", stages_n.loc, "options.stages");
        vus_field(&mut sc, "startVUs")?;
        r.stages(stages_n, "options.stages", true, &mut sc, &mut notes)?;
        vec![sc]
    } else if let (Some(v), false) = (vus, stages_set) {
        if scenarios_set {
            notes.push(format!(
                "{}: `vus={v}` overrides scenarios configuration (as in k6 >= 2.1: the scenarios are \
                 replaced by {v} VUs sharing {v} iterations)",
                Here::location(vus_n.loc, "options.vus")
            ));
        }
        let mut sc = Scenario::new("default", "shared-iterations", vus_n.loc, "options.vus");
        vus_field(&mut sc, "vus")?;
        let y = r.count_yaml(v, vus_n, "options.vus", "iterations")?;
        sc.set("iterations", y, "options.vus", vus_n.loc);
        vec![sc]
    } else if scenarios_len > 0 {
        read_scenarios(&mut notes)?
    } else {
        if stages_set {
            notes.push("`stages` was explicitly set to an empty value, running the script with 1 iteration in 1 VU".into());
        }
        if scenarios_set {
            notes.push("`scenarios` was explicitly set to an empty value, running the script with 1 iteration in 1 VU".into());
        }
        vec![Scenario::new(
            "default",
            "per-vu-iterations",
            opts.loc,
            "options",
        )]
    };
    Ok(Derived {
        scenarios,
        notes,
        rps: rps(r, opts)?,
        min_iteration: min_iteration(r, opts)?,
    })
}

/// k6's `minIterationDuration` in ns. k6 pads only by a positive remainder, so zero or a
/// negative duration is no pad.
fn min_iteration(r: &Reader, opts: &Node) -> Result<Option<u64>> {
    match opts.get("minIterationDuration") {
        Some(n) => Ok(r
            .duration(n, "options.minIterationDuration")?
            .filter(|&ns| ns > 0)
            .map(|ns| ns.min(i128::from(u64::MAX)) as u64)),
        None => Ok(None),
    }
}

/// k6's `rps` (guregu `null.Int`): a limiter exists only when it is positive
/// (k6 `internal/js/runner.go` SetOptions).
fn rps(r: &Reader, opts: &Node) -> Result<Option<u64>> {
    match opts.get("rps") {
        Some(n) => Ok(r
            .int(n, "options.rps")?
            .filter(|&v| v > 0)
            .map(|v| v as u64)),
        None => Ok(None),
    }
}

fn scenario(r: &Reader, name: &str, n: &Node, notes: &mut Vec<String>) -> Result<Scenario> {
    let path = format!("options.scenarios.{name}");
    let n = r.static_node(n, &path)?;
    let V::Obj(kv) = &n.v else {
        return Err(r.here.err(
            n,
            &path,
            format!("expected a scenario object, got {}", n.kind()),
        ));
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(r.here.err(
            n,
            &path,
            "the scenario name should contain only numbers, latin letters, underscores, and dashes",
        ));
    }
    let none = Node::new(V::Undef, n.loc);
    let exec_n = n.get("executor").unwrap_or(&none);
    let Some(executor) = r.string(exec_n, &format!("{path}.executor"))? else {
        return Err(r.here.err(
            n,
            &path,
            format!("scenario '{name}' doesn't have a specified executor type"),
        ));
    };
    let Some(own) = executor_fields(&executor) else {
        let hint = if executor == "externally-controlled" {
            "; k6 v2.0.0 removed externally-controlled (#5846): use constant-vus with a duration"
        } else {
            ""
        };
        return Err(r.here.err(
            exec_n,
            &format!("{path}.executor"),
            format!(
                "unknown executor type {executor:?}; expected constant-vus, ramping-vus, \
                 constant-arrival-rate, ramping-arrival-rate, shared-iterations or \
                 per-vu-iterations{hint}"
            ),
        ));
    };
    let mut sc = Scenario::new(name, &executor, n.loc, &path);
    for (k, v) in kv {
        let fp = format!("{path}.{k}");
        if !own.contains(&k.as_str()) && !BASE_FIELDS.contains(&k.as_str()) {
            return Err(r.here.err(
                v,
                &fp,
                format!(
                    "json: unknown field {k:?} for a {executor} scenario; its fields are {}, {}",
                    own.join(", "),
                    BASE_FIELDS.join(", ")
                ),
            ));
        }
        match k.as_str() {
            "executor" => {}
            "startTime" | "gracefulStop" | "gracefulRampDown" | "duration" | "timeUnit"
            | "maxDuration" => {
                if let Some(d) = r.duration(v, &fp)? {
                    let y = r.dur_yaml(d, v, &fp, k)?;
                    sc.set(k, y, &fp, v.loc);
                }
            }
            "vus" | "startVUs" | "preAllocatedVUs" | "maxVUs" | "iterations" | "rate"
            | "startRate" => {
                if let Some(i) = r.int(v, &fp)? {
                    let what = match k.as_str() {
                        "iterations" => "iterations",
                        "rate" | "startRate" => "iterations per time unit",
                        _ => "VUs",
                    };
                    let y = r.count_yaml(i, v, &fp, what)?;
                    sc.set(k, y, &fp, v.loc);
                }
            }
            "stages" => r.stages(v, &fp, false, &mut sc, notes)?,
            "exec" => {
                if let Some(e) = r.string(v, &fp)? {
                    if e.is_empty() {
                        return Err(r.here.err(v, &fp, "exec value cannot be empty"));
                    }
                    sc.exec = e;
                    sc.origins.push(("flows".into(), fp.clone(), v.loc));
                }
            }
            _ => {
                if !v.is_unset() {
                    notes.push(format!(
                        "{}: scenario {k} are not simulated (ignored)",
                        Here::location(v.loc, &fp)
                    ));
                }
            }
        }
    }
    if let Some((field, msg, how)) = missing_field(&sc) {
        return Err(r.here.err(
            n,
            &format!("{path}.{field}"),
            format!(
                "{msg} (k6: scenario {name} has configuration errors; a {executor} scenario \
                 needs {field}: {how})"
            ),
        ));
    }
    Ok(sc)
}

/// The first field k6's `Validate` requires that the scenario leaves unset (it has no
/// default), in k6's order and wording (`lib/executor/*.go`, `helpers.go` validateStages),
/// with what to give.
fn missing_field(sc: &Scenario) -> Option<(&'static str, &'static str, &'static str)> {
    let has = |k: &str| sc.fields.iter().any(|(f, v)| f == k && v != "[]");
    let rate = (
        "rate",
        "the iteration rate isn't specified",
        "the iterations to start per timeUnit, e.g. `rate: 10`",
    );
    let duration = (
        "duration",
        "the duration is unspecified",
        "how long it runs, e.g. `duration: '1m'`",
    );
    let stages = (
        "stages",
        "at least one stage has to be specified",
        "e.g. `stages: [{ duration: '1m', target: 10 }]`",
    );
    let pre = (
        "preAllocatedVUs",
        "the number of preAllocatedVUs isn't specified",
        "the VUs k6 starts with, e.g. `preAllocatedVUs: 10`",
    );
    let order: &[_] = match sc.executor.as_str() {
        "constant-vus" => &[duration],
        "ramping-vus" => &[stages],
        "constant-arrival-rate" => &[rate, duration, pre],
        "ramping-arrival-rate" => &[stages, pre],
        _ => &[],
    };
    order.iter().find(|(f, _, _)| !has(f)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const S: i128 = 1_000_000_000;

    /// k6 `lib/types/types_test.go` TestParseExtendedDuration and Go's `time.ParseDuration`.
    #[test]
    fn durations_decode_as_k6() {
        for (s, ns) in [
            ("1s", S),
            ("1m30s", 90 * S),
            ("1.5h", 5400 * S),
            ("2d", 2 * 86_400 * S),
            ("1d2h", 86_400 * S + 7200 * S),
            ("10000", 10 * S), // a bare number is milliseconds
            ("1000.5", S + 500_000),
            ("0", 0),
            ("-1s", -S),
            ("1µs", 1000),
            ("500ms", S / 2),
        ] {
            assert_eq!(k6_duration(s), Ok(ns), "{s}");
        }
        for s in ["", "1", "s", "1x", "1d-1h", "abc", "1.2.3s"] {
            if s == "1" {
                continue; // "1" is 1 ms
            }
            assert!(k6_duration(s).is_err(), "{s:?} should be refused");
        }
    }

    fn derive_json(j: &str) -> Result<Derived> {
        let n = Node::from_json(&serde_json::from_str(j).unwrap());
        let r = Reader {
            here: Here {
                file: Path::new("t.js"),
            },
        };
        derive(&r, &n, false)
    }

    /// (executor, fields) of the single derived scenario, which must be named `default`.
    fn one(j: &str) -> (String, Vec<(String, String)>) {
        let d = derive_json(j).unwrap_or_else(|e| panic!("{j}: {e}"));
        assert_eq!(d.scenarios.len(), 1, "{j}");
        let s = &d.scenarios[0];
        assert_eq!(s.name, "default");
        (s.executor.clone(), s.fields.clone())
    }

    fn f(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// k6 `internal/cmd/config_consolidation_test.go` getConfigConsolidationTestCases, the
    /// cases of one configuration layer, given as the JSON options they amount to.
    #[test]
    fn shortcuts_derive_as_k6() {
        // {opts{}, exp{}, verifyOneIterPerOneVU}
        assert_eq!(one("{}"), ("per-vu-iterations".into(), vec![]));
        // --vus 1 --iterations 5 / -u 2 -i 6: verifySharedIters
        assert_eq!(
            one(r#"{"vus": 1, "iterations": 5}"#),
            (
                "shared-iterations".into(),
                f(&[("vus", "1"), ("iterations", "5")])
            )
        );
        // -d 123s: verifyConstLoopingVUs(null.NewInt(1, false), 123s): the default VU is unset
        assert_eq!(
            one(r#"{"duration": "123s"}"#),
            ("constant-vus".into(), f(&[("duration", "2m3s")]))
        );
        assert_eq!(
            one(r#"{"vus": 3, "duration": "30s"}"#),
            (
                "constant-vus".into(),
                f(&[("vus", "3"), ("duration", "30s")])
            )
        );
        // --stage 20s:10 -s 3m:5: verifyRampingVUs(null.NewInt(1, false), ...)
        let (e, fs) = one(
            r#"{"stages": [{"duration": "20s", "target": 10}, {"duration": "3m", "target": 5}]}"#,
        );
        assert_eq!(e, "ramping-vus");
        assert_eq!(
            fs,
            f(&[(
                "stages",
                "\n      - {duration: 20s, target: 10}\n      - {duration: 3m, target: 5}"
            )])
        );
        // -s 1m6s:5 --vus 10: startVUs 10
        let (e, fs) = one(r#"{"stages": [{"duration": "1m6s", "target": 5}], "vus": 10}"#);
        assert_eq!(e, "ramping-vus");
        assert_eq!(fs[0], ("startVUs".to_string(), "10".to_string()));
        // -u 1 -i 6 -d 10s: shared iterations with maxDuration 10s
        assert_eq!(
            one(r#"{"vus": 1, "iterations": 6, "duration": "10s"}"#),
            (
                "shared-iterations".into(),
                f(&[("vus", "1"), ("iterations", "6"), ("maxDuration", "10s")])
            )
        );
        // K6_VUS=10 K6_DURATION=10000: a bare number is milliseconds
        assert_eq!(
            one(r#"{"vus": 10, "duration": 10000}"#),
            (
                "constant-vus".into(),
                f(&[("vus", "10"), ("duration", "10s")])
            )
        );
        // K6_STAGES=100s:100,0m30s:0 K6_VUS=0: startVUs 0
        let (_, fs) = one(
            r#"{"stages": [{"duration": "100s", "target": 100}, {"duration": "0m30s", "target": 0}], "vus": 0}"#,
        );
        assert_eq!(fs[0], ("startVUs".to_string(), "0".to_string()));
        // {"iterations": 77, "vus": 7}
        assert_eq!(
            one(r#"{"iterations": 77, "vus": 7}"#),
            (
                "shared-iterations".into(),
                f(&[("vus", "7"), ("iterations", "77")])
            )
        );
        // --vus 10 alone: shared iterations 10 x 10
        assert_eq!(
            one(r#"{"vus": 10}"#),
            (
                "shared-iterations".into(),
                f(&[("vus", "10"), ("iterations", "10")])
            )
        );
        // {"vus": 8, "duration": "2m"} and {"duration": 20000}
        assert_eq!(
            one(r#"{"vus": 8, "duration": "2m"}"#),
            (
                "constant-vus".into(),
                f(&[("vus", "8"), ("duration", "2m")])
            )
        );
        assert_eq!(
            one(r#"{"duration": 20000}"#),
            ("constant-vus".into(), f(&[("duration", "20s")]))
        );
        // {"scenarios": {}}: logWarning, verifyOneIterPerOneVU
        let d = derive_json(r#"{"scenarios": {}}"#).unwrap();
        assert_eq!(d.scenarios[0].executor, "per-vu-iterations");
        assert!(d
            .notes
            .iter()
            .any(|n| n.contains("explicitly set to an empty value")));
        // scenarios + vus (+ iterations in another layer): `vus` overrides with a warning
        let d = derive_json(
            r#"{"vus": 12, "scenarios": {"someKey": {"executor": "constant-vus", "vus": 10, "duration": "60s"}}}"#,
        )
        .unwrap();
        assert_eq!(d.scenarios.len(), 1);
        assert_eq!(d.scenarios[0].executor, "shared-iterations");
        assert!(d.notes.iter().any(|n| n.contains("overrides scenarios")));
        // a stage without a duration is dropped by getRampingVUsScenario
        let d =
            derive_json(r#"{"stages": [{"target": 3}, {"duration": "5s", "target": 5}]}"#).unwrap();
        assert_eq!(
            d.scenarios[0].fields,
            f(&[("stages", "\n      - {duration: 5s, target: 5}")])
        );
    }

    /// The derivation errors of the same table (`derivationError: true`), with k6's messages.
    #[test]
    fn shortcut_conflicts_are_refused_as_k6_refuses_them() {
        for (j, msg) in [
            (
                r#"{"vus": 2, "duration": "10s", "stages": [{"duration": "10s", "target": 20}]}"#,
                "using `duration` and `stages` options simultaneously is not allowed",
            ),
            (
                r#"{"vus": 3, "iterations": 5, "stages": [{"duration": "10s", "target": 20}]}"#,
                "using `iterations` and `stages` options simultaneously is not allowed",
            ),
            (
                r#"{"vus": 3, "duration": "0"}"#,
                "`duration` option should be more than 0",
            ),
            (
                r#"{"iterations": 5, "scenarios": {}}"#,
                "using `iterations` and `scenarios` options simultaneously is not allowed",
            ),
            (
                r#"{"duration": "5s", "scenarios": {"a": {"executor": "constant-vus", "duration": "5s"}}}"#,
                "using `duration` and `scenarios` options simultaneously is not allowed",
            ),
            (
                r#"{"stages": [{"duration": "5s", "target": 1}], "scenarios": {}}"#,
                "using `stages` and `scenarios` options simultaneously is not allowed",
            ),
            // {"stages": [{"duration": "20s"}], "vus": 10}: validationErrors
            (
                r#"{"stages": [{"duration": "20s"}], "vus": 10}"#,
                "stage 1 doesn't have a target",
            ),
        ] {
            let e = derive_json(j)
                .err()
                .unwrap_or_else(|| panic!("{j} should be refused"))
                .to_string();
            assert!(e.contains(msg), "{j}: {e}");
            assert!(e.starts_with("t.js: options."), "{j}: {e}");
        }
    }

    /// The scenario of the same table's last JSON case: "1d", a numeric-string gracefulStop
    /// (ms) and a fractional-ms startTime.
    #[test]
    fn scenarios_keep_k6_fields() {
        let d = derive_json(
            r#"{"scenarios": {"foo": {"executor": "constant-vus", "vus": 2, "duration": "1d",
                "gracefulStop": "10000", "startTime": 1000.5}}}"#,
        )
        .unwrap();
        let s = &d.scenarios[0];
        assert_eq!(
            (s.name.as_str(), s.executor.as_str()),
            ("foo", "constant-vus")
        );
        assert_eq!(s.field("vus"), Some("2"));
        assert_eq!(s.field("duration"), Some("1d"));
        assert_eq!(s.field("gracefulStop"), Some("10s"));
        assert_eq!(s.field("startTime"), Some("1.0005s"));
    }

    #[test]
    fn scenario_errors_name_the_field() {
        for (j, path, msg) in [
            (
                r#"{"scenarios": {"a": {"vus": 1}}}"#,
                "options.scenarios.a",
                "doesn't have a specified executor type",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "externally-controlled"}}}"#,
                "options.scenarios.a.executor",
                "removed externally-controlled",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-vus", "vus": 1, "duration": "1m", "rate": 3}}}"#,
                "options.scenarios.a.rate",
                "unknown field",
            ),
            (
                r#"{"scenarios": {"a b": {"executor": "constant-vus"}}}"#,
                "options.scenarios.a b",
                "scenario name",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-vus", "vus": 1.5}}}"#,
                "options.scenarios.a.vus",
                "expected an integer",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-vus", "startTime": "-1s"}}}"#,
                "options.scenarios.a.startTime",
                "can't be negative",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "ramping-vus", "stages": [{"duration": "1s", "target": -1}]}}}"#,
                "options.scenarios.a.stages[0].target",
                "can't be negative",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "ramping-vus", "stages": [{"target": 1}]}}}"#,
                "options.scenarios.a.stages[0]",
                "doesn't have a duration",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 1, "duration": "1m"}}}"#,
                "options.scenarios.a.preAllocatedVUs",
                "the number of preAllocatedVUs isn't specified",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "preAllocatedVUs": 1}}}"#,
                "options.scenarios.a.rate",
                "the iteration rate isn't specified",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 1, "preAllocatedVUs": 1}}}"#,
                "options.scenarios.a.duration",
                "the duration is unspecified",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "ramping-arrival-rate", "stages": [{"duration": "1m", "target": 1}]}}}"#,
                "options.scenarios.a.preAllocatedVUs",
                "the number of preAllocatedVUs isn't specified",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "ramping-vus", "stages": []}}}"#,
                "options.scenarios.a.stages",
                "at least one stage has to be specified",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-vus", "vus": 2}}}"#,
                "options.scenarios.a.duration",
                "the duration is unspecified",
            ),
            (r#"{"vus": "ten"}"#, "options.vus", "expected an integer"),
            (
                r#"{"duration": "ten"}"#,
                "options.duration",
                "invalid duration",
            ),
        ] {
            let e = derive_json(j)
                .err()
                .unwrap_or_else(|| panic!("{j} should be refused"))
                .to_string();
            assert!(e.starts_with(&format!("t.js: {path}: ")), "{j}: {e}");
            assert!(e.contains(msg), "{j}: {e}");
        }
        // numeric strings are integers to k6 (guregu null.Int)
        assert_eq!(
            one(r#"{"vus": "4", "duration": "1m"}"#).1[0],
            ("vus".to_string(), "4".to_string())
        );
    }
}
