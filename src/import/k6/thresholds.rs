//! k6 thresholds → surge thresholds. Every k6 form is read (k6 `metrics/thresholds.go`
//! UnmarshalJSON: an array of strings and `{threshold, abortOnFail, delayAbortEval}` objects)
//! and parsed with surge's k6 syntax (`crate::threshold`). What surge cannot measure (a custom
//! metric, a k6 metric surge does not simulate, a tag it cannot filter by) is not an error:
//! the import goes on, the threshold is kept in the file as a comment, and the note says how
//! to map it. A planner wants the rest of the test imported; k6's own syntax errors still stop
//! the import.

use super::value::{Here, Loc, Node, V};
use crate::error::Result;
use crate::threshold::{parse_expr, parse_selector, MetricKind};
use std::collections::BTreeMap;

/// One threshold key as it will be written.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    /// YAML flow list of the items (`['p(95)<500', {threshold: ..., abortOnFail: true}]`).
    pub yaml: String,
    /// Why surge cannot evaluate it (the entry is then written as a comment).
    pub skipped: Option<String>,
    pub loc: Option<Loc>,
}

/// k6's built-in metrics (k6 `metrics/builtin.go`) and their types.
fn k6_builtin(name: &str) -> Option<MetricKind> {
    use MetricKind::*;
    Some(match name {
        "vus" | "vus_max" => Gauge,
        "iterations"
        | "dropped_iterations"
        | "http_reqs"
        | "data_sent"
        | "data_received"
        | "ws_msgs_sent"
        | "ws_msgs_received"
        | "ws_sessions"
        | "grpc_streams"
        | "grpc_streams_msgs_sent"
        | "grpc_streams_msgs_received" => Counter,
        "checks" | "http_req_failed" => Rate,
        "iteration_duration"
        | "group_duration"
        | "http_req_duration"
        | "http_req_blocked"
        | "http_req_connecting"
        | "http_req_tls_handshaking"
        | "http_req_sending"
        | "http_req_waiting"
        | "http_req_receiving"
        | "ws_connecting"
        | "ws_session_duration"
        | "ws_ping"
        | "grpc_req_duration" => Trend,
        _ => return None,
    })
}

fn kind_name(k: MetricKind) -> &'static str {
    k.as_str()
}

/// How to map a metric surge does not have, by its type.
fn mapping_hint(kind: Option<&str>) -> &'static str {
    match kind {
        Some("rate") => {
            "a Rate usually counts failed requests or checks: the closest surge metric is \
             http_req_failed (e.g. `http_req_failed: ['rate<0.01']`)"
        }
        Some("trend") => {
            "a Trend usually records response times: map it to http_req_duration, or to \
             http_req_duration{endpoint:NAME} for one endpoint"
        }
        Some("counter") => "a Counter: map it to http_reqs or iterations (count or rate)",
        Some("gauge") => "a Gauge: surge has the gauges vus and vus_max",
        _ => {
            "map it to a surge metric: http_req_duration, http_req_failed, http_reqs, \
             iterations, iteration_duration, dropped_iterations, vus, vus_max"
        }
    }
}

pub fn read(
    here: &Here,
    n: &Node,
    custom: &BTreeMap<String, (String, Loc)>,
) -> Result<(Vec<Entry>, Vec<String>)> {
    let path = "options.thresholds";
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    let kv = match &n.v {
        V::Null | V::Undef => return Ok((entries, notes)),
        V::Obj(kv) => kv,
        V::Dyn { .. } => return Err(here.dynamic(n, path)),
        _ => {
            return Err(here.err(
                n,
                path,
                format!(
                    "expected an object of metric -> thresholds, got {}",
                    n.kind()
                ),
            ))
        }
    };
    for (key, list) in kv {
        let kp = format!("{path}[{key:?}]");
        let sel = parse_selector(key).map_err(|e| here.err(list, &kp, e))?;
        let items = match &list.v {
            V::Arr(a) => a,
            V::Dyn { .. } => return Err(here.dynamic(list, &kp)),
            _ => {
                return Err(here.err(
                    list,
                    &kp,
                    format!(
                        "expected an array of thresholds (e.g. ['p(95)<500']), got {}",
                        list.kind()
                    ),
                ))
            }
        };
        let mut out = Vec::new();
        let mut aggs = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let ip = format!("{kp}[{i}]");
            let (src, abort, delay) = match &it.v {
                V::Str(s) => (s.clone(), false, None),
                V::Obj(o) => {
                    let get = |k: &str| o.iter().rev().find(|(x, _)| x == k).map(|(_, v)| v);
                    let src =
                        match get("threshold").map(|v| &v.v) {
                            Some(V::Str(s)) => s.clone(),
                            Some(V::Dyn { .. }) => {
                                return Err(here.dynamic(get("threshold").unwrap(), &ip))
                            }
                            _ => return Err(here.err(
                                it,
                                &ip,
                                "expected {threshold: 'p(95)<500', abortOnFail, delayAbortEval}",
                            )),
                        };
                    let abort = match get("abortOnFail").map(|v| &v.v) {
                        None | Some(V::Null | V::Undef) => false,
                        Some(V::Bool(b)) => *b,
                        Some(V::Dyn { .. }) => {
                            return Err(here.dynamic(get("abortOnFail").unwrap(), &ip))
                        }
                        Some(_) => {
                            return Err(here.err(
                                it,
                                &format!("{ip}.abortOnFail"),
                                "expected true or false",
                            ))
                        }
                    };
                    let delay = match get("delayAbortEval").map(|v| &v.v) {
                        None | Some(V::Null | V::Undef) => None,
                        Some(V::Str(s)) if s.is_empty() => None,
                        Some(V::Str(s)) => {
                            // As surge's own thresholds take it: a k6 duration, not negative.
                            let at = get("delayAbortEval").unwrap_or(it);
                            crate::threshold::abort_delay(s)
                                .map_err(|e| here.err(at, &format!("{ip}.delayAbortEval"), e))?;
                            Some(s.clone())
                        }
                        Some(_) => {
                            return Err(here.err(
                                it,
                                &format!("{ip}.delayAbortEval"),
                                "expected a duration string such as \"10s\"",
                            ))
                        }
                    };
                    (src, abort, delay)
                }
                V::Dyn { .. } => return Err(here.dynamic(it, &ip)),
                _ => {
                    return Err(here.err(
                        it,
                        &ip,
                        format!("expected a threshold string or object, got {}", it.kind()),
                    ))
                }
            };
            let expr = parse_expr(&src).map_err(|e| here.err(it, &ip, format!("{src:?}: {e}")))?;
            aggs.push((expr.agg.clone(), src.clone(), it.loc, ip.clone()));
            out.push(if !abort && delay.is_none() {
                yaml_quote(&src)
            } else {
                let mut s = format!("{{threshold: {}, abortOnFail: {abort}", yaml_quote(&src));
                if let Some(d) = delay {
                    s.push_str(&format!(", delayAbortEval: {}", yaml_quote(&d)));
                }
                s.push('}');
                s
            });
        }
        let yaml = format!("[{}]", out.join(", "));
        let metric = sel.metric.as_str();
        let here_txt = Here::location(list.loc, &kp);
        // The type k6 would give the metric: built-in, or declared in the script.
        let k6_kind = k6_builtin(metric)
            .map(kind_name)
            .or_else(|| custom.get(metric).map(|(k, _)| k.as_str()));
        if let Some(kind) = k6_kind {
            for (agg, src, loc, ip) in &aggs {
                let k = match kind {
                    "counter" => MetricKind::Counter,
                    "gauge" => MetricKind::Gauge,
                    "rate" => MetricKind::Rate,
                    _ => MetricKind::Trend,
                };
                if !agg.is_valid_for(k) {
                    return Err(here.at(
                        *loc,
                        ip,
                        format!(
                            "{src:?}: the aggregation is not valid for {metric}, a {kind}; \
                             expected {} (k6 refuses it too)",
                            k.valid_aggregations()
                        ),
                    ));
                }
            }
        }
        let url_name = sel
            .tags
            .iter()
            .find(|(t, v)| t == "name" && (v.contains("://") || v.starts_with('/')));
        let skipped = match crate::metrics::kind_of(metric) {
            Some(_) if url_name.is_some() => Some(format!(
                "k6's name tag is the request's URL ({:?}); surge names requests by endpoint: \
                 write {metric}{{name:ENDPOINT}}",
                url_name.map(|(_, v)| v.as_str()).unwrap_or("")
            )),
            Some(_) => {
                let allowed = crate::metrics::allowed_tags(metric);
                sel.tags
                    .iter()
                    .find(|(t, _)| !allowed.contains(&t.as_str()))
                    .map(|(t, _)| {
                        format!(
                            "surge cannot filter {metric} by the tag {t:?} (it can by: {})",
                            if allowed.is_empty() {
                                "none".to_string()
                            } else {
                                allowed.join(", ")
                            }
                        )
                    })
            }
            None => Some(match (k6_builtin(metric), custom.get(metric)) {
                (Some(_), _) => format!(
                    "k6's built-in {metric} is not simulated by surge; {}",
                    mapping_hint(k6_kind)
                ),
                (None, Some((kind, at))) => format!(
                    "{metric} is a custom {kind} (declared at line {}) that surge does not \
                     simulate; {}",
                    at.line,
                    mapping_hint(Some(kind))
                ),
                (None, None) => format!(
                    "{metric} is neither a k6 built-in nor declared in this script; {}",
                    mapping_hint(None)
                ),
            }),
        };
        if let Some(why) = &skipped {
            notes.push(format!(
                "{here_txt}: threshold {key:?} left as a comment: {why}"
            ));
        }
        entries.push(Entry {
            key: key.clone(),
            yaml,
            skipped,
            loc: list.loc,
        });
    }
    Ok((entries, notes))
}

/// A single-quoted YAML scalar (thresholds contain `<`, `{` and `:`).
fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
