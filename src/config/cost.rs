//! The model's `cost:` section: what each resource costs, with user-supplied prices.
//! The arithmetic lives in `crate::cost`; this file is the schema and its checks.

use super::model::ModelFile;
use super::quantity::Quantity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CostCfg {
    /// Default pricing of every service's pods.
    #[serde(default)]
    pub pods: Option<PodPrice>,
    /// Per-service pricing, overriding `pods`.
    #[serde(default)]
    pub services: BTreeMap<String, PodPrice>,
    /// Machine types that pods or nodes can be priced by.
    #[serde(default)]
    pub node_types: BTreeMap<String, NodeType>,
    /// Pods run on cluster nodes of this type: nodes are billed, pods are not.
    #[serde(default)]
    pub nodes: Option<NodesPrice>,
    /// $ per hour of each database / cache instance type (e.g. db.r6g.2xlarge: 0.519).
    #[serde(default)]
    pub instance_types: BTreeMap<String, f64>,
    #[serde(default)]
    pub databases: BTreeMap<String, DatabasePrice>,
    /// Cache (Redis) nodes, each billed at its instance type's price.
    #[serde(default)]
    pub caches: BTreeMap<String, InstancePrice>,
    #[serde(default)]
    pub load_balancer: Option<LoadBalancerPrice>,
    /// External providers (RPC, payments): per request, plus a fixed gas per call for models
    /// without a `chains:` entry.
    #[serde(default)]
    pub externals: BTreeMap<String, ExternalPrice>,
    /// Chains: the gas each transaction actually burned in the run, at this price.
    #[serde(default)]
    pub chains: BTreeMap<String, GasPrice>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GasPrice {
    /// Gas price in gwei (1e-9 of the chain's native token).
    pub gas_price_gwei: f64,
    /// $ per native token (e.g. ETH in USD).
    pub native_token_usd: f64,
}

impl GasPrice {
    /// $ for `gas` units.
    pub fn usd(&self, gas: f64) -> f64 {
        gas * self.gas_price_gwei * 1e-9 * self.native_token_usd
    }
}

/// Exactly one way of pricing a pod: by its requests, a flat $/hour, or a node type's $/hour.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PodPrice {
    /// $ per vCPU-hour of the pod's `cpu_request` (its `cores` when it has no request).
    #[serde(default)]
    pub vcpu_hour: Option<f64>,
    /// $ per GiB-hour of the pod's `memory_request`.
    #[serde(default)]
    pub gb_hour: Option<f64>,
    #[serde(default)]
    pub per_hour: Option<f64>,
    /// One pod per node of this type.
    #[serde(default)]
    pub node_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeType {
    pub per_hour: f64,
    /// Allocatable CPU, for packing pods onto nodes.
    #[serde(default)]
    pub vcpu: Option<f64>,
    #[serde(default)]
    pub memory: Option<Quantity>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodesPrice {
    pub node_type: String,
    /// Nodes kept even when empty.
    #[serde(default)]
    pub min: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabasePrice {
    /// The primary's instance type.
    pub instance: String,
    /// Read replicas' instance type (default: the primary's).
    #[serde(default)]
    pub replica_instance: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstancePrice {
    pub instance: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerPrice {
    #[serde(default)]
    pub per_hour: f64,
    #[serde(default)]
    pub per_million_requests: f64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalPrice {
    /// $ per call (e.g. an RPC provider's price per request).
    #[serde(default)]
    pub per_request: f64,
    /// Gas units each call spends on chain (0 for calls that are not transactions).
    #[serde(default)]
    pub gas_per_call: f64,
    /// Gas price in gwei (1e-9 of the chain's native token).
    #[serde(default)]
    pub gas_price_gwei: f64,
    /// $ per native token (e.g. ETH in USD).
    #[serde(default)]
    pub native_token_usd: f64,
}

impl ExternalPrice {
    /// $ of gas per call: gas units × gas price.
    pub fn gas_usd_per_call(&self) -> f64 {
        GasPrice {
            gas_price_gwei: self.gas_price_gwei,
            native_token_usd: self.native_token_usd,
        }
        .usd(self.gas_per_call)
    }
}

type Check = Result<(), (String, String)>;

fn price(field: String, v: f64) -> Check {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err((field, format!("expected a non-negative price, got {v}")))
    }
}

fn known<T>(field: String, map: &BTreeMap<String, T>, key: &str, what: &str) -> Check {
    if map.contains_key(key) {
        Ok(())
    } else {
        let names: Vec<&str> = map.keys().map(|s| s.as_str()).collect();
        Err((
            field,
            format!(
                "unknown {what} {key:?}; declared: {}",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ),
        ))
    }
}

fn pod_price(at: &str, p: &PodPrice, c: &CostCfg) -> Check {
    let by_request = p.vcpu_hour.is_some() || p.gb_hour.is_some();
    let ways = usize::from(by_request)
        + usize::from(p.per_hour.is_some())
        + usize::from(p.node_type.is_some());
    if ways != 1 {
        return Err((
            at.to_string(),
            "price pods one way: vcpu_hour/gb_hour, per_hour, or node_type".into(),
        ));
    }
    for (k, v) in [
        ("vcpu_hour", p.vcpu_hour),
        ("gb_hour", p.gb_hour),
        ("per_hour", p.per_hour),
    ] {
        if let Some(v) = v {
            price(format!("{at}.{k}"), v)?;
        }
    }
    if let Some(t) = &p.node_type {
        known(format!("{at}.node_type"), &c.node_types, t, "node type")?;
    }
    Ok(())
}

/// Every name refers to something declared, and every price is a non-negative number.
pub fn validate(c: &CostCfg, m: &ModelFile) -> Check {
    if let Some(p) = &c.pods {
        pod_price("cost.pods", p, c)?;
    }
    for (s, p) in &c.services {
        known(format!("cost.services.{s}"), &m.services, s, "service")?;
        pod_price(&format!("cost.services.{s}"), p, c)?;
    }
    for (n, t) in &c.node_types {
        price(format!("cost.node_types.{n}.per_hour"), t.per_hour)?;
        if t.vcpu.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
            return Err((
                format!("cost.node_types.{n}.vcpu"),
                "expected a positive number of vCPUs".into(),
            ));
        }
    }
    if let Some(n) = &c.nodes {
        known(
            "cost.nodes.node_type".into(),
            &c.node_types,
            &n.node_type,
            "node type",
        )?;
        let t = &c.node_types[&n.node_type];
        if t.vcpu.is_none() && t.memory.is_none() {
            return Err((
                format!("cost.node_types.{}", n.node_type),
                "a node type that pods are packed onto needs vcpu or memory".into(),
            ));
        }
    }
    for (n, v) in &c.instance_types {
        price(format!("cost.instance_types.{n}"), *v)?;
    }
    for (d, p) in &c.databases {
        known(format!("cost.databases.{d}"), &m.databases, d, "database")?;
        known(
            format!("cost.databases.{d}.instance"),
            &c.instance_types,
            &p.instance,
            "instance type",
        )?;
        if let Some(r) = &p.replica_instance {
            known(
                format!("cost.databases.{d}.replica_instance"),
                &c.instance_types,
                r,
                "instance type",
            )?;
        }
    }
    for (k, p) in &c.caches {
        known(format!("cost.caches.{k}"), &m.caches, k, "cache")?;
        known(
            format!("cost.caches.{k}.instance"),
            &c.instance_types,
            &p.instance,
            "instance type",
        )?;
    }
    if let Some(lb) = &c.load_balancer {
        price("cost.load_balancer.per_hour".into(), lb.per_hour)?;
        price(
            "cost.load_balancer.per_million_requests".into(),
            lb.per_million_requests,
        )?;
    }
    for (e, p) in &c.externals {
        known(
            format!("cost.externals.{e}"),
            &m.externals,
            e,
            "external provider",
        )?;
        for (k, v) in [
            ("per_request", p.per_request),
            ("gas_per_call", p.gas_per_call),
            ("gas_price_gwei", p.gas_price_gwei),
            ("native_token_usd", p.native_token_usd),
        ] {
            price(format!("cost.externals.{e}.{k}"), v)?;
        }
    }
    for (ch, p) in &c.chains {
        known(format!("cost.chains.{ch}"), &m.chains, ch, "chain")?;
        price(format!("cost.chains.{ch}.gas_price_gwei"), p.gas_price_gwei)?;
        price(
            format!("cost.chains.{ch}.native_token_usd"),
            p.native_token_usd,
        )?;
    }
    Ok(())
}
