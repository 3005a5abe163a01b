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

/// Every settable leaf path of a JSON image (for "did you mean" lists and sweep validation).
pub fn leaf_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_paths(c, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                leaf_paths(c, &format!("{prefix}[{i}]"), out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
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
    serde_saphyr::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// Which document a path belongs to: the scenario's own keys win, everything else is the model.
fn targets_scenario(scenario: &Value, first: &Seg) -> bool {
    matches!(first, Seg::Key(k) if scenario.get(k).is_some())
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
        let segs =
            parse_path(path.trim()).map_err(|e| Error::Usage(format!("--set {set:?}: {e}")))?;
        let value = parse_value(raw.trim());
        let in_scenario = targets_scenario(&s_img, &segs[0]);
        let target = if in_scenario { &mut s_img } else { &mut m_img };
        if set_in(target, &segs, value).is_err() {
            let mut all = Vec::new();
            leaf_paths(&s_img, "", &mut all);
            leaf_paths(&m_img, "", &mut all);
            let near = nearest(&all, path, 5);
            return Err(Error::Usage(format!(
                "--set {set:?}: unknown path {path:?}; nearest valid paths: {}",
                near.join(", ")
            )));
        }
        // Re-parse after each override so a bad value is blamed on its own flag.
        let check = if in_scenario {
            serde_json::from_value::<ScenarioFile>(s_img.clone()).map(|_| ())
        } else {
            serde_json::from_value::<ModelFile>(m_img.clone()).map(|_| ())
        };
        if let Err(e) = check {
            return Err(Error::Usage(format!("--set {set:?}: {e}")));
        }
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
}
