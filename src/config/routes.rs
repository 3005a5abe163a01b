//! HTTP routes: a service's `routes:` map templates such as `GET /api/badges/{wallet}` to its
//! endpoints, so flows can be written as requests (`- get: /api/leaderboard`) and imported k6 or
//! Artillery files map to endpoints without hand editing.
//!
//! Matching: the URL loses its scheme, host, query and fragment; template expressions in it
//! (`{{ $randomWallet() }}`, `${id}`, `{id}`) stand for values unknown until run time, so they
//! only match a parameter. Route segments are literals, `{name}` (one segment) or a final
//! `{name*}` (the rest, possibly empty). The most specific route wins, comparing segment by
//! segment: literal before parameter before rest. Two routes of equal shape are refused when the
//! model is validated, so a match is never ambiguous.

use super::model::ModelFile;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }

    /// Case-insensitive; k6's `del` is DELETE.
    pub fn parse(s: &str) -> Option<Method> {
        let u = s.trim().to_ascii_uppercase();
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == u)
            .or((u == "DEL").then_some(Method::Delete))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a flow step calls: an endpoint by name (`request: claim`, `request: api.claim`) or an
/// HTTP request resolved through the routes (`get: /api/leaderboard`).
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub method: Option<Method>,
    pub target: String,
}

impl Call {
    pub fn endpoint(name: impl Into<String>) -> Call {
        Call {
            method: None,
            target: name.into(),
        }
    }
    pub fn http(method: Method, url: impl Into<String>) -> Call {
        Call {
            method: Some(method),
            target: url.into(),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.method {
            Some(m) => write!(f, "{m} {}", self.target),
            None => f.write_str(&self.target),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Param,
    Rest,
}

/// A parsed route key: `METHOD /path/{param}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    segs: Vec<Seg>,
}

impl Route {
    pub fn parse(spec: &str) -> Result<Route, String> {
        let expected = "expected \"METHOD /path\" such as \"GET /api/badges/{wallet}\"";
        let (m, path) = spec
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("{expected}, got {spec:?}"))?;
        let method = Method::parse(m).ok_or_else(|| {
            format!(
                "unknown HTTP method {m:?} in {spec:?}; expected one of {}",
                Method::ALL.map(Method::as_str).join(", ")
            )
        })?;
        let path = path.trim();
        if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
            return Err(format!(
                "{expected}: the path must start with '/' and have no query, got {path:?}"
            ));
        }
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let mut segs = Vec::with_capacity(parts.len());
        for (i, p) in parts.iter().enumerate() {
            let seg = match p.strip_prefix('{').and_then(|q| q.strip_suffix('}')) {
                Some(name) if name.ends_with('*') && valid_name(&name[..name.len() - 1]) => {
                    if i + 1 != parts.len() {
                        return Err(format!(
                            "{p} in {spec:?} takes the rest of the path, so it must come last"
                        ));
                    }
                    Seg::Rest
                }
                Some(name) if valid_name(name) => Seg::Param,
                _ if p.contains(['{', '}']) => {
                    return Err(format!(
                        "segment {p:?} in {spec:?}: a parameter is a whole segment, {{name}} or {{name*}}"
                    ))
                }
                _ => Seg::Lit(p.to_string()),
            };
            segs.push(seg);
        }
        Ok(Route { method, segs })
    }

    /// Specificity of a match (greater is more specific), or None.
    fn matches(&self, method: Method, url: &[UrlSeg<'_>]) -> Option<Vec<u8>> {
        if method != self.method {
            return None;
        }
        let mut rank = Vec::with_capacity(self.segs.len());
        for (i, s) in self.segs.iter().enumerate() {
            match s {
                Seg::Rest => {
                    rank.push(0);
                    return Some(rank);
                }
                Seg::Param => {
                    url.get(i)?;
                    rank.push(1);
                }
                Seg::Lit(l) => match url.get(i)? {
                    UrlSeg::Lit(u) if u == l => rank.push(2),
                    _ => return None,
                },
            }
        }
        (url.len() == self.segs.len()).then_some(rank)
    }

    /// Routes of one shape match the same URLs.
    fn same_shape(&self, o: &Route) -> bool {
        self.method == o.method && self.segs == o.segs
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

#[derive(Debug, PartialEq)]
enum UrlSeg<'a> {
    Lit(&'a str),
    /// Holds a template expression: its value is not known statically.
    Dynamic,
}

/// Template expressions (`{{ … }}`, `${ … }`, `{ … }`) replaced by a NUL sentinel so a `/`
/// inside one does not split segments.
fn mask_templates(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(i) = rest.find(['{', '$']) {
        let (open, close) = if rest[i..].starts_with("{{") {
            ("{{", "}}")
        } else if rest[i..].starts_with("${") {
            ("${", "}")
        } else if rest[i..].starts_with('{') {
            ("{", "}")
        } else {
            out.push_str(&rest[..=i]);
            rest = &rest[i + 1..];
            continue;
        };
        out.push_str(&rest[..i]);
        match rest[i + open.len()..].find(close) {
            Some(j) => {
                out.push('\0');
                rest = &rest[i + open.len() + j + close.len()..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The path of a URL as written in a flow or a load-test file: scheme, host, query and fragment
/// dropped; a path without a leading '/' is relative to the root.
fn path_of(masked: &str) -> &str {
    let mut p = masked;
    if let Some(i) = p.find("://") {
        p = &p[i + 3..];
        p = p.find('/').map_or("", |j| &p[j..]);
    }
    p.split(['?', '#']).next().unwrap_or("")
}

fn url_segments(masked: &str) -> Vec<UrlSeg<'_>> {
    path_of(masked)
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.contains('\0') {
                UrlSeg::Dynamic
            } else {
                UrlSeg::Lit(s)
            }
        })
        .collect()
}

/// Every route of the model: (service, key, parsed, endpoint). Keys were checked by `check_model`.
fn all_routes(m: &ModelFile) -> impl Iterator<Item = (&str, &str, Route, &str)> {
    m.services.iter().flat_map(|(svc, s)| {
        s.routes.iter().filter_map(move |(k, ep)| {
            Route::parse(k)
                .ok()
                .map(|r| (svc.as_str(), k.as_str(), r, ep.as_str()))
        })
    })
}

/// The (service, endpoint) an HTTP request reaches, or a message listing the routes.
pub fn resolve<'a>(
    m: &'a ModelFile,
    method: Method,
    url: &str,
) -> Result<(&'a str, &'a str), String> {
    let masked = mask_templates(url);
    let segs = url_segments(&masked);
    let mut best: Option<(Vec<u8>, &str, &str)> = None;
    for (svc, _, r, ep) in all_routes(m) {
        if let Some(rank) = r.matches(method, &segs) {
            if best.as_ref().is_none_or(|(b, _, _)| rank > *b) {
                best = Some((rank, svc, ep));
            }
        }
    }
    if let Some((_, svc, ep)) = best {
        return Ok((svc, ep));
    }
    let listed: Vec<String> = all_routes(m)
        .map(|(svc, k, _, ep)| format!("{k} → {svc}.{ep}"))
        .collect();
    Err(if listed.is_empty() {
        format!(
            "{method} {url}: the model declares no routes; add `routes: {{\"{method} /path\": endpoint}}` to a service, or use `request: ENDPOINT`"
        )
    } else {
        format!(
            "no route matches {method} {url}; the model's routes are: {}",
            listed.join("; ")
        )
    })
}

/// Model validation: each key parses, names an endpoint of its service, and no two routes share
/// a shape (which would make a match ambiguous).
pub fn check_model(m: &ModelFile) -> Result<(), (String, String)> {
    let mut seen: Vec<(String, Route)> = Vec::new();
    for (svc, s) in &m.services {
        for (k, ep) in &s.routes {
            let at = format!("services.{svc}.routes.{k:?}");
            let r = Route::parse(k).map_err(|e| (at.clone(), e))?;
            if !s.endpoints.contains_key(ep) {
                return Err((
                    at,
                    format!(
                        "unknown endpoint {ep:?}; service {svc:?} has: {}",
                        s.endpoints.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if let Some((other, _)) = seen.iter().find(|(_, o)| o.same_shape(&r)) {
                return Err((
                    at,
                    format!("matches exactly the same requests as {other}; a request would be ambiguous"),
                ));
            }
            seen.push((format!("services.{svc}.routes.{k:?}"), r));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(url: &str) -> Vec<String> {
        let m = mask_templates(url);
        url_segments(&m)
            .into_iter()
            .map(|s| match s {
                UrlSeg::Lit(l) => l.to_string(),
                UrlSeg::Dynamic => "?".into(),
            })
            .collect()
    }

    #[test]
    fn urls_lose_host_query_and_templates() {
        assert_eq!(
            segs("https://hamballer.xyz/api/leaderboard?x=1#f"),
            ["api", "leaderboard"]
        );
        assert_eq!(
            segs("/api/badges/{{ $randomWallet() }}"),
            ["api", "badges", "?"]
        );
        assert_eq!(segs("${BASE}/api/badges/${w}"), ["?", "api", "badges", "?"]);
        assert_eq!(segs("api//x/"), ["api", "x"]);
        assert_eq!(segs("http://h"), Vec::<String>::new());
        assert_eq!(segs("/a/{{ x/y }}/b"), ["a", "?", "b"]);
        assert_eq!(segs("/price$/x"), ["price$", "x"]);
    }

    #[test]
    fn most_specific_route_wins() {
        let r = |s: &str| Route::parse(s).unwrap();
        let u = |s: &'static str| {
            let m: &'static str = Box::leak(mask_templates(s).into_boxed_str());
            url_segments(m)
        };
        let lit = r("GET /api/badges/status");
        let par = r("GET /api/badges/{wallet}");
        let rest = r("GET /api/{path*}");
        let url = u("/api/badges/status");
        assert!(lit.matches(Method::Get, &url) > par.matches(Method::Get, &url));
        assert!(par.matches(Method::Get, &url) > rest.matches(Method::Get, &url));
        // A template value only matches a parameter.
        let dynamic = u("/api/badges/{{ w }}");
        assert_eq!(lit.matches(Method::Get, &dynamic), None);
        assert!(par.matches(Method::Get, &dynamic).is_some());
        assert_eq!(par.matches(Method::Post, &url), None);
        assert!(rest.matches(Method::Get, &u("/api")).is_some());
        assert_eq!(par.matches(Method::Get, &u("/api/badges")), None);
        assert_eq!(par.matches(Method::Get, &u("/api/badges/a/b")), None);
    }

    #[test]
    fn bad_route_keys_say_what_was_expected() {
        for (k, want) in [
            ("/api/x", "expected \"METHOD /path\""),
            ("FETCH /x", "unknown HTTP method"),
            ("GET api/x", "must start with '/'"),
            ("GET /x?y=1", "no query"),
            ("GET /{rest*}/x", "must come last"),
            ("GET /a{b}", "whole segment"),
        ] {
            let e = Route::parse(k).unwrap_err();
            assert!(e.contains(want), "{k}: {e}");
        }
        assert_eq!(Method::parse("del"), Some(Method::Delete));
    }
}
