//! `--set path=value`: dotted paths (with `[i]` for list items) into the scenario or model,
//! applied on a JSON image of the parsed files and parsed back, so every override is type-checked.
//! The same paths name sweep parameters.

use super::{ModelFile, ScenarioFile};
use crate::error::{Error, Result};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> std::result::Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() && (rest.is_empty() || segs.is_empty()) {
            return Err(format!("empty segment in path {path:?}"));
        }
        if !key.is_empty() {
            segs.push(Seg::Key(key.to_string()));
        }
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .ok_or_else(|| format!("unclosed '[' in path {path:?}"))?;
            let idx = rest[1..close]
                .parse::<usize>()
                .map_err(|_| format!("expected a list index like [0] in path {path:?}"))?;
            segs.push(Seg::Index(idx));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!(
                    "unexpected {rest:?} after an index in path {path:?}"
                ));
            }
        }
    }
    Ok(segs)
}

/// Every leaf of a JSON image with its path (`a.b[0].c`).
pub fn leaves<'a>(v: &'a Value, prefix: &str, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(c, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                leaves(c, &format!("{prefix}[{i}]"), out);
            }
        }
        _ => out.push((prefix.to_string(), v)),
    }
}

/// Every settable leaf path of a JSON image (for "did you mean" lists and sweep validation).
pub fn leaf_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    let mut all = Vec::new();
    leaves(v, prefix, &mut all);
    out.extend(all.into_iter().map(|(p, _)| p));
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub fn nearest(candidates: &[String], path: &str, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> = candidates
        .iter()
        .map(|c| (levenshtein(c, path), c))
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, c)| c.clone()).collect()
}

fn set_in(root: &mut Value, segs: &[Seg], value: Value) -> std::result::Result<(), ()> {
    let mut cur = root;
    for s in segs {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k).ok_or(())?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i).ok_or(())?,
            _ => return Err(()),
        };
    }
    *cur = value;
    Ok(())
}

/// Parse the right-hand side as a YAML scalar (number, bool, string) or flow collection.
fn parse_value(raw: &str) -> Value {
    // YAML 1.2 booleans, as files are read (`parse_yaml`): `y`, `no`, `on`... are names and
    // paths here, `true` and `True` are booleans.
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Value>(raw, options)
        .unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// The value of the last `--set model=PATH`: the model file is read before the other overrides
/// apply, so this one is taken first.
pub fn model_set(sets: &[String]) -> Option<&str> {
    sets.iter()
        .rev()
        .find_map(|s| s.split_once('=').filter(|(k, _)| k.trim() == "model"))
        .map(|(_, v)| v.trim())
}

/// Which document a path belongs to: the scenario's own keys win, everything else is the model.
fn targets_scenario(scenario: &Value, first: &Seg) -> bool {
    matches!(first, Seg::Key(k) if scenario.get(k).is_some())
}

fn render(segs: &[Seg]) -> String {
    let mut out = String::new();
    for s in segs {
        match s {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Every way `segs` names a leaf under `v`, with two shorthands a planner would type:
/// a Kubernetes manifest's fields without `spec` (`autoscaler.maxReplicas` for
/// `autoscaler.spec.maxReplicas`), and at the root a singular collection name standing for its
/// only matching entry (`database.pool.max` for `databases.pg.pool.max`).
fn resolve_in(v: &Value, segs: &[Seg], root: bool, out: &mut Vec<Vec<Seg>>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push(Vec::new());
        return;
    };
    let mut found = Vec::new();
    match (first, v) {
        (Seg::Key(k), Value::Object(m)) => {
            if let Some(c) = m.get(k) {
                resolve_in(c, rest, false, &mut found);
                for f in &mut found {
                    f.insert(0, first.clone());
                }
            } else if let Some(spec @ Value::Object(_)) = m.get("spec") {
                resolve_in(spec, segs, false, &mut found);
                for f in &mut found {
                    f.insert(0, Seg::Key("spec".into()));
                }
            } else if root {
                for plural in [format!("{k}s"), format!("{k}es")] {
                    if let Some(Value::Object(entries)) = m.get(&plural) {
                        for (name, e) in entries {
                            let mut sub = Vec::new();
                            resolve_in(e, rest, false, &mut sub);
                            for mut f in sub {
                                f.insert(0, Seg::Key(name.clone()));
                                f.insert(0, Seg::Key(plural.clone()));
                                found.push(f);
                            }
                        }
                    }
                }
            }
        }
        (Seg::Index(i), Value::Array(a)) => {
            if let Some(c) = a.get(*i) {
                resolve_in(c, rest, false, &mut found);
                for f in &mut found {
                    f.insert(0, first.clone());
                }
            }
        }
        _ => {}
    }
    out.extend(found);
}

/// The full path that `path` names in the scenario or model images. An unknown path lists the
/// nearest valid ones; a shorthand that fits several entries lists them.
pub fn canonical(
    scenario: &Value,
    model: &Value,
    path: &str,
) -> std::result::Result<String, String> {
    let segs = parse_path(path.trim())?;
    let mut found = Vec::new();
    let doc = if targets_scenario(scenario, &segs[0]) {
        scenario
    } else {
        model
    };
    resolve_in(doc, &segs, true, &mut found);
    match found.len() {
        1 => Ok(render(&found[0])),
        0 => {
            let mut all = Vec::new();
            leaf_paths(scenario, "", &mut all);
            leaf_paths(model, "", &mut all);
            Err(format!(
                "unknown path {path:?}; nearest valid paths: {}",
                nearest(&all, path, 5).join(", ")
            ))
        }
        _ => Err(format!(
            "path {path:?} is ambiguous; it could be any of: {}",
            found
                .iter()
                .map(|f| render(f))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The full path that `path` names, and the value found there now.
pub fn get(
    scenario: &Value,
    model: &Value,
    path: &str,
) -> std::result::Result<(String, Value), String> {
    let full = canonical(scenario, model, path)?;
    let segs = parse_path(&full)?;
    let doc = if targets_scenario(scenario, &segs[0]) {
        scenario
    } else {
        model
    };
    let mut cur = doc;
    for s in &segs {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(k),
            (Seg::Index(i), Value::Array(a)) => a.get(*i),
            _ => None,
        }
        .ok_or_else(|| format!("internal: {full:?} resolved but cannot be read"))?;
    }
    Ok((full, cur.clone()))
}

/// Set a full path inside one document's image.
pub fn set_value(img: &mut Value, full: &str, v: Value) -> std::result::Result<(), String> {
    let segs = parse_path(full)?;
    set_in(img, &segs, v).map_err(|_| format!("{full:?} is not a field of this document"))
}

/// Whether a full path lands in the scenario (else the model).
pub fn in_scenario(scenario: &Value, full: &str) -> bool {
    parse_path(full).is_ok_and(|segs| targets_scenario(scenario, &segs[0]))
}

/// Set one field, resolving shorthands, and re-parse the document it landed in so a bad value
/// is blamed on its own override.
fn set_one(
    s_img: &mut Value,
    m_img: &mut Value,
    path: &str,
    value: Value,
) -> std::result::Result<(), String> {
    let full = canonical(s_img, m_img, path)?;
    let segs = parse_path(&full)?;
    let in_scenario = targets_scenario(s_img, &segs[0]);
    let target = if in_scenario { s_img } else { m_img };
    set_in(target, &segs, value)
        .map_err(|_| format!("internal: {full:?} resolved but cannot be set"))?;
    let check = if in_scenario {
        serde_json::from_value::<ScenarioFile>(target.clone()).map(|_| ())
    } else {
        serde_json::from_value::<ModelFile>(target.clone()).map(|_| ())
    };
    check.map_err(|e| e.to_string())
}

/// Apply a scenario's `model_overrides` to its model; an error names the path at fault.
/// Returns each entry's key with the full path it wrote (shorthands resolved), so that a
/// value it wrote which the model's validation refuses is blamed on the entry.
pub fn apply_to_model(
    model: &mut ModelFile,
    overrides: &std::collections::BTreeMap<String, Value>,
) -> std::result::Result<Vec<(String, String)>, (String, String)> {
    if overrides.is_empty() {
        return Ok(Vec::new());
    }
    let internal = |e: serde_json::Error| (String::new(), e.to_string());
    let mut img = serde_json::to_value(&*model).map_err(internal)?;
    // An empty scenario image: every path lands in the model.
    let mut none = Value::Object(Default::default());
    let mut written = Vec::new();
    for (path, value) in overrides {
        let at = |e| (format!("model_overrides.{path}"), e);
        let full = canonical(&none, &img, path).map_err(at)?;
        set_one(&mut none, &mut img, path, value.clone()).map_err(at)?;
        written.push((path.clone(), full));
    }
    *model = serde_json::from_value(img).map_err(internal)?;
    Ok(written)
}

/// Apply `path=value` overrides in order; an unknown path lists the nearest valid ones.
pub fn apply(scenario: &mut ScenarioFile, model: &mut ModelFile, sets: &[String]) -> Result<()> {
    let ser = |e: serde_json::Error| Error::Usage(format!("internal: {e}"));
    let mut s_img = serde_json::to_value(&*scenario).map_err(ser)?;
    let mut m_img = serde_json::to_value(&*model).map_err(ser)?;
    for set in sets {
        let (path, raw) = set.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--set {set:?}: expected PATH=VALUE, e.g. --set services.api.replicas=4"
            ))
        })?;
        set_one(&mut s_img, &mut m_img, path, parse_value(raw.trim()))
            .map_err(|e| Error::Usage(format!("--set {set:?}: {e}")))?;
    }
    *scenario = serde_json::from_value(s_img)
        .map_err(|e| Error::Usage(format!("--set: the scenario no longer parses: {e}")))?;
    *model = serde_json::from_value(m_img)
        .map_err(|e| Error::Usage(format!("--set: the model no longer parses: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse() {
        assert_eq!(
            parse_path("a.b[0].c").unwrap(),
            vec![
                Seg::Key("a".into()),
                Seg::Key("b".into()),
                Seg::Index(0),
                Seg::Key("c".into())
            ]
        );
        assert!(parse_path("a..b").is_err());
        assert!(parse_path("a[x]").is_err());
        assert!(parse_path("a[0").is_err());
    }

    fn images() -> (Value, Value) {
        let scenario = serde_json::json!({"seed": 1, "scenarios": {"s": {"vus": 5}}});
        let model = serde_json::json!({
            "services": {
                "api": {"replicas": 2, "autoscaler": {"kind": "HorizontalPodAutoscaler",
                    "spec": {"maxReplicas": 20, "metrics": [{"resource": {"target": {"averageUtilization": 70}}}]}}},
                "web": {"replicas": 3}
            },
            "databases": {"pg": {"pool": {"max": 100}}}
        });
        (scenario, model)
    }

    #[test]
    fn shorthand_paths_resolve_to_one_field() {
        let (s, m) = images();
        let c = |p: &str| canonical(&s, &m, p);
        assert_eq!(c("seed").unwrap(), "seed");
        assert_eq!(c("scenarios.s.vus").unwrap(), "scenarios.s.vus");
        assert_eq!(
            c("services.api.autoscaler.maxReplicas").unwrap(),
            "services.api.autoscaler.spec.maxReplicas"
        );
        assert_eq!(
            c("services.api.autoscaler.metrics[0].resource.target.averageUtilization").unwrap(),
            "services.api.autoscaler.spec.metrics[0].resource.target.averageUtilization"
        );
        assert_eq!(c("database.pool.max").unwrap(), "databases.pg.pool.max");
        // Only the api has an autoscaler, so the singular names it.
        assert_eq!(
            c("service.autoscaler.maxReplicas").unwrap(),
            "services.api.autoscaler.spec.maxReplicas"
        );
    }

    #[test]
    fn ambiguous_and_unknown_shorthands_are_errors_that_list_choices() {
        let (s, m) = images();
        let e = canonical(&s, &m, "service.replicas").unwrap_err();
        assert!(e.contains("ambiguous"), "{e}");
        assert!(
            e.contains("services.api.replicas") && e.contains("services.web.replicas"),
            "{e}"
        );
        let e = canonical(&s, &m, "services.api.autoscaler.maxReplica").unwrap_err();
        assert!(
            e.contains("services.api.autoscaler.spec.maxReplicas"),
            "{e}"
        );
        assert!(canonical(&s, &m, "database.pool.maxx").is_err());
        assert!(canonical(&s, &m, "services.api.autoscaler.metrics[3].resource").is_err());
    }

    #[test]
    fn nearest_prefers_small_edits() {
        let c = vec![
            "services.api.replicas".to_string(),
            "services.api.pod.cores".to_string(),
            "seed".to_string(),
        ];
        assert_eq!(
            nearest(&c, "services.api.replica", 1),
            vec!["services.api.replicas"]
        );
    }

    /// `--set` values read as files are (YAML 1.2): only true/false spellings are booleans.
    #[test]
    fn set_values_read_yaml_1_2_booleans() {
        use serde_json::json;
        for (raw, want) in [
            ("true", json!(true)),
            ("True", json!(true)),
            ("false", json!(false)),
            ("y", json!("y")),
            ("no", json!("no")),
            ("on", json!("on")),
            ("12", json!(12)),
            ("2.5", json!(2.5)),
            ("[1, 2]", json!([1, 2])),
            ("exp(mean=2ms)", json!("exp(mean=2ms)")),
        ] {
            assert_eq!(parse_value(raw), want, "{raw}");
        }
    }
}
