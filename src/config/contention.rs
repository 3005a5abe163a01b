//! Load-dependent service: how a station's speed changes with the number of jobs present.
//! The station (`system::station`) owns the arithmetic; this is the schema and its checks.

use super::model::ModelFile;
use serde::{Deserialize, Serialize};

/// `contention:` on a pod, a database, a cache or a host. With n jobs present the station works
/// at total speed c(n) = min(n, servers) · m(n) (in units of one job alone on one server),
/// where m(n) is this multiplier:
/// - `usl`: m(n) = 1 / (1 + σ(n−1) + κ·n(n−1)). With servers ≥ n this is Gunther's USL
///   C(n) = n / (1 + σ(n−1) + κ·n(n−1)); with c servers it is the "inflated demand" form.
/// - `linear`: m(n) = 1 / (1 + α(n−1)), i.e. each job's demand grows as S0·(1 + α(n−1)).
/// - `table`: m(n) by linear interpolation of measured `[n, factor]` pairs; it must contain
///   n = 1 and is held flat beyond its last point. On a one-server station the table is c(n).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContentionCfg {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usl: Option<UslCfg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearCfg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Vec<[f64; 2]>>,
    /// What the station reports as its CPU utilization: `busy` (occupied servers min(n, c):
    /// contention burns CPU, as spinning locks and cache misses do) or `useful` (c(n): the lost
    /// speed is spent waiting on locks, off CPU).
    #[serde(default)]
    pub cpu: CpuAccounting,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UslCfg {
    pub sigma: f64,
    pub kappa: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LinearCfg {
    pub alpha: f64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CpuAccounting {
    #[default]
    Busy,
    Useful,
}

impl ContentionCfg {
    /// The single form given, or a message naming what is wrong (field relative to `contention`).
    pub fn check(&self) -> Result<(), (String, String)> {
        let forms = [
            self.usl.is_some(),
            self.linear.is_some(),
            self.table.is_some(),
        ];
        let n = forms.iter().filter(|f| **f).count();
        if n != 1 {
            return Err((
                String::new(),
                format!(
                    "expected exactly one of `usl: {{sigma, kappa}}`, `linear: {{alpha}}` or \
                     `table: [[n, factor], ...]`, found {n}"
                ),
            ));
        }
        if let Some(u) = self.usl {
            if !(u.sigma.is_finite() && (0.0..1.0).contains(&u.sigma)) {
                return Err((
                    "usl.sigma".into(),
                    format!("expected 0 <= sigma < 1, found {}", u.sigma),
                ));
            }
            if !(u.kappa.is_finite() && u.kappa >= 0.0) {
                return Err((
                    "usl.kappa".into(),
                    format!("expected kappa >= 0, found {}", u.kappa),
                ));
            }
        }
        if let Some(l) = self.linear {
            if !(l.alpha.is_finite() && l.alpha >= 0.0) {
                return Err((
                    "linear.alpha".into(),
                    format!("expected alpha >= 0, found {}", l.alpha),
                ));
            }
        }
        if let Some(t) = &self.table {
            if t.first().map(|p| p[0]) != Some(1.0) {
                return Err((
                    "table".into(),
                    "expected the first point at n = 1, e.g. [[1, 1.0], [8, 0.7]]".into(),
                ));
            }
            for (i, w) in t.windows(2).enumerate() {
                if w[1][0].partial_cmp(&w[0][0]) != Some(std::cmp::Ordering::Greater) {
                    return Err((
                        format!("table[{}]", i + 1),
                        format!("expected n increasing, found {} after {}", w[1][0], w[0][0]),
                    ));
                }
            }
            for (i, p) in t.iter().enumerate() {
                if !(p[1].is_finite() && p[1] > 0.0 && p[0].is_finite()) {
                    return Err((
                        format!("table[{i}]"),
                        format!("expected a finite factor > 0, found {}", p[1]),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Contention settings and host placements across a model: (field, message) on the first fault.
pub fn check_model(m: &ModelFile) -> Result<(), (String, String)> {
    let contention = |at: String, c: &Option<ContentionCfg>| match c {
        Some(c) => c.check().map_err(|(f, msg)| {
            let f = if f.is_empty() {
                format!("{at}.contention")
            } else {
                format!("{at}.contention.{f}")
            };
            (f, msg)
        }),
        None => Ok(()),
    };
    let host = |at: String, h: &Option<String>| match h {
        Some(h) if !m.hosts.contains_key(h) => Err((
            format!("{at}.host"),
            format!(
                "host {h:?} is not defined; hosts are: {}",
                if m.hosts.is_empty() {
                    "(none: add a `hosts:` section)".to_string()
                } else {
                    m.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ),
        )),
        _ => Ok(()),
    };
    for (n, h) in &m.hosts {
        if !(h.cores.is_finite() && h.cores > 0.0) {
            return Err((
                format!("hosts.{n}.cores"),
                format!("expected a positive number of cores, got {}", h.cores),
            ));
        }
        contention(format!("hosts.{n}"), &h.contention)?;
    }
    for (n, s) in &m.services {
        contention(format!("services.{n}.pod"), &s.pod.contention)?;
        host(format!("services.{n}"), &s.host)?;
        if s.host.is_some() && s.pod.contention.is_some() {
            return Err((
                format!("services.{n}.pod.contention"),
                "pods on a shared host run at the host's speed: put `contention` on the host"
                    .into(),
            ));
        }
    }
    for (n, d) in &m.databases {
        contention(format!("databases.{n}"), &d.contention)?;
        host(format!("databases.{n}"), &d.host)?;
        if d.host.is_some() {
            if d.read_replicas > 0 || d.replica_autoscaling.is_some() {
                return Err((
                    format!("databases.{n}.host"),
                    "a database on a shared host has no read replicas (they would be other machines)".into(),
                ));
            }
            if d.contention.is_some() || d.discipline.is_some() {
                return Err((
                    format!("databases.{n}.host"),
                    "a database on a shared host is served by processor sharing at the host's speed: \
                     put `contention` on the host and drop `discipline`"
                        .into(),
                ));
            }
        }
    }
    for (n, c) in &m.caches {
        contention(format!("caches.{n}"), &c.contention)?;
        host(format!("caches.{n}"), &c.host)?;
    }
    Ok(())
}
