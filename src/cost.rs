//! What a run costs: the model's `cost:` prices applied to what the run used.
//!
//! Capacity (pods or nodes, database instances and replicas, cache nodes, the load balancer) is
//! billed by the hour. Pod counts are read from the time series (`<svc>_ready_pods`, weighted by
//! each interval's length), so the bill follows replica counts that change during a run. Usage
//! (load-balancer requests, provider calls, on-chain gas) is billed per request.

use crate::config::cost::{CostCfg, PodPrice};
use crate::config::model::ModelFile;
use crate::config::scenario::{CostBasis, CostRatioCfg};
use crate::config::{self, Loaded};
use crate::engine::ns_to_secs;
use crate::error::{Error, Result};
use crate::metrics::TimeSeries;
use crate::sim::{self, RunOptions, RunResult};
use crate::threshold::Verdict;
use serde_json::{json, Value};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A run's bill.
#[derive(Clone, Debug, PartialEq)]
pub struct Cost {
    /// $ over the run per item (`pods:web`, `database:main`, `external:rpc`, `gas:rpc`, ...).
    pub items: Vec<(String, f64)>,
    /// Pod-hours (or node-hours) per service, for the record.
    pub hours_used: Vec<(String, f64)>,
    pub total: f64,
    pub hours: f64,
    /// Mean $/hour: `total / hours`.
    pub per_hour: f64,
    /// Capacity $/hour at its highest plus per-request charges at the peak request rate.
    pub peak_per_hour: f64,
    /// Mean $/hour of capacity alone, without per-request charges.
    pub infrastructure_per_hour: f64,
    pub per_million_requests: f64,
}

impl Cost {
    pub fn value(&self, basis: CostBasis) -> f64 {
        match basis {
            CostBasis::PerHour => self.per_hour,
            CostBasis::PeakPerHour => self.peak_per_hour,
            CostBasis::Total => self.total,
            CostBasis::PerMillionRequests => self.per_million_requests,
            CostBasis::InfrastructurePerHour => self.infrastructure_per_hour,
        }
    }

    pub fn json(&self) -> Value {
        let map = |v: &[(String, f64)]| {
            Value::Object(v.iter().map(|(k, x)| (k.clone(), json!(x))).collect())
        };
        json!({
            "total": self.total,
            "per_hour": self.per_hour,
            "peak_per_hour": self.peak_per_hour,
            "infrastructure_per_hour": self.infrastructure_per_hour,
            "per_million_requests": self.per_million_requests,
            "hours": self.hours,
            "items": map(&self.items),
            "hours_used": map(&self.hours_used),
        })
    }
}

/// $/hour of one pod of `svc` under `p`.
fn pod_rate(p: &PodPrice, c: &CostCfg, m: &ModelFile, svc: &str) -> f64 {
    let pod = &m.services[svc].pod;
    if let Some(t) = &p.node_type {
        return c.node_types[t].per_hour;
    }
    if let Some(h) = p.per_hour {
        return h;
    }
    let vcpu = pod.cpu_request.map(|q| q.0).unwrap_or(pod.cores);
    let gib = pod.memory_request.map(|q| q.0 / GIB).unwrap_or(0.0);
    p.vcpu_hour.unwrap_or(0.0) * vcpu + p.gb_hour.unwrap_or(0.0) * gib
}

/// Each row's length in hours (the last row may be a partial interval).
fn row_hours(ts: &TimeSeries) -> Vec<f64> {
    let t = ts.column("t_s").unwrap_or_default();
    let mut prev = 0.0;
    t.iter()
        .map(|&x| {
            let d = (x - prev).max(0.0) / 3600.0;
            prev = x;
            d
        })
        .collect()
}

/// The bill for run `r` of `model`; `None` when the model declares no prices.
pub fn of_run(model: &ModelFile, r: &RunResult) -> Option<Cost> {
    let c = model.cost.as_ref()?;
    let ts = r.timeseries();
    let secs = ns_to_secs(r.end);
    let mut dt = row_hours(ts);
    // Pods per service per row; a run without rows counts its configured replicas throughout.
    let mut pods: Vec<(String, Vec<f64>)> = Vec::new();
    for (name, s) in &model.services {
        let col = ts
            .column(&format!("{name}_ready_pods"))
            .filter(|v| !v.is_empty());
        pods.push((name.clone(), col.unwrap_or_else(|| vec![s.replicas as f64])));
    }
    if dt.is_empty() {
        dt = vec![secs / 3600.0];
    }
    let rows = dt.len();
    let at = |v: &[f64], i: usize| v.get(i).or(v.last()).copied().unwrap_or(0.0);

    let mut items: Vec<(String, f64)> = Vec::new();
    let mut hours_used = Vec::new();
    let mut rate = vec![0.0; rows];
    // Pods billed on their own: services with their own price, or all when there are no nodes.
    let mut packed: Vec<&str> = Vec::new();
    for (name, v) in &pods {
        let price = c.services.get(name).or(if c.nodes.is_none() {
            c.pods.as_ref()
        } else {
            None
        });
        let Some(p) = price else {
            if c.nodes.is_some() {
                packed.push(name);
            }
            continue;
        };
        let r = pod_rate(p, c, model, name);
        let pod_hours: f64 = (0..rows).map(|i| at(v, i) * dt[i]).sum();
        for (i, x) in rate.iter_mut().enumerate() {
            *x += at(v, i) * r;
        }
        hours_used.push((format!("pods:{name}"), pod_hours));
        items.push((format!("pods:{name}"), pod_hours * r));
    }
    if let Some(n) = &c.nodes {
        let t = &c.node_types[&n.node_type];
        let explicit = ts.column("nodes").filter(|v| !v.is_empty());
        let mut node_hours = 0.0;
        for (i, x) in rate.iter_mut().enumerate() {
            let count = match &explicit {
                Some(v) => at(v, i),
                None => {
                    // Without a Cluster Autoscaler column: the fewest nodes the pods' requests fit on.
                    let (mut cpu, mut mem) = (0.0, 0.0);
                    for (name, v) in pods.iter().filter(|(n, _)| packed.contains(&n.as_str())) {
                        let pod = &model.services[name].pod;
                        cpu += at(v, i) * pod.cpu_request.map(|q| q.0).unwrap_or(pod.cores);
                        mem += at(v, i) * pod.memory_request.map(|q| q.0).unwrap_or(0.0);
                    }
                    let by_cpu = t.vcpu.map(|c| (cpu / c - 1e-9).ceil()).unwrap_or(0.0);
                    let by_mem = t.memory.map(|m| (mem / m.0 - 1e-9).ceil()).unwrap_or(0.0);
                    by_cpu.max(by_mem).max(0.0)
                }
            };
            let count = count.max(n.min as f64);
            node_hours += count * dt[i];
            *x += count * t.per_hour;
        }
        hours_used.push(("nodes".into(), node_hours));
        items.push(("nodes".into(), node_hours * t.per_hour));
    }
    let hours: f64 = dt.iter().sum();
    let fixed = |name: String, per_hour: f64, rate: &mut [f64], items: &mut Vec<_>| {
        for x in rate.iter_mut() {
            *x += per_hour;
        }
        items.push((name, per_hour * hours));
    };
    for (name, p) in &c.databases {
        let Some(db) = model.databases.get(name) else {
            continue;
        };
        let primary = c.instance_types[&p.instance];
        let replica = c.instance_types[p.replica_instance.as_ref().unwrap_or(&p.instance)];
        // Replicas follow the time series when a replica policy changes their number.
        let replicas = ts
            .column(&format!("{name}_read_replicas"))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec![db.read_replicas as f64]);
        let mut replica_hours = 0.0;
        for (i, x) in rate.iter_mut().enumerate() {
            *x += primary + at(&replicas, i) * replica;
            replica_hours += at(&replicas, i) * dt[i];
        }
        hours_used.push((format!("read_replicas:{name}"), replica_hours));
        items.push((
            format!("database:{name}"),
            primary * hours + replica_hours * replica,
        ));
    }
    for (name, p) in &c.caches {
        let Some(cache) = model.caches.get(name) else {
            continue;
        };
        let per_node = c.instance_types[&p.instance];
        fixed(
            format!("cache:{name}"),
            cache.nodes as f64 * per_node,
            &mut rate,
            &mut items,
        );
    }
    let requests = r.metrics.requests() as f64;
    let mut usage = 0.0;
    if let Some(lb) = &c.load_balancer {
        fixed("load_balancer".into(), lb.per_hour, &mut rate, &mut items);
        let u = requests / 1e6 * lb.per_million_requests;
        usage += u;
        items.push(("load_balancer:requests".into(), u));
    }
    for (name, calls) in r.system.external_calls() {
        let Some(p) = c.externals.get(&name) else {
            continue;
        };
        let (req, gas) = (
            calls as f64 * p.per_request,
            calls as f64 * p.gas_usd_per_call(),
        );
        usage += req + gas;
        items.push((format!("external:{name}"), req));
        if p.gas_per_call > 0.0 {
            items.push((format!("gas:{name}"), gas));
        }
    }
    for (chain, gas) in r.system.gas_used() {
        let Some(p) = c.chains.get(&chain) else {
            continue;
        };
        let usd = p.usd(gas as f64);
        usage += usd;
        items.push((format!("gas:{chain}"), usd));
    }
    let total: f64 = items.iter().map(|(_, x)| x).sum();
    let peak_capacity = rate.iter().copied().fold(0.0, f64::max);
    let peak_rps = ts
        .column("completions_per_s")
        .unwrap_or_default()
        .into_iter()
        .fold(0.0, f64::max);
    let usage_per_request = if requests > 0.0 {
        usage / requests
    } else {
        0.0
    };
    Some(Cost {
        items,
        hours_used,
        total,
        hours,
        per_hour: if hours > 0.0 { total / hours } else { 0.0 },
        peak_per_hour: peak_capacity + usage_per_request * peak_rps * 3600.0,
        infrastructure_per_hour: if hours > 0.0 {
            (total - usage) / hours
        } else {
            0.0
        },
        per_million_requests: if requests > 0.0 {
            total / requests * 1e6
        } else {
            f64::NAN
        },
    })
}

/// The baseline scenario of a `targets.cost_ratio`, loaded once.
pub struct Baseline {
    pub cfg: CostRatioCfg,
    pub loaded: Loaded,
}

impl Baseline {
    /// `None` when the scenario has no cost_ratio target. Errors name the scenario's field.
    pub fn load(loaded: &Loaded) -> Result<Option<Baseline>> {
        let (Some(path), Some(cfg)) = (
            loaded.cost_baseline(),
            loaded
                .scenario
                .targets
                .as_ref()
                .and_then(|t| t.cost_ratio.clone()),
        ) else {
            return Ok(None);
        };
        let field = "field targets.cost_ratio.baseline";
        let base = config::load(&path, &[]).map_err(|e| {
            Error::input(
                &loaded.scenario_path,
                field,
                format!("baseline {}: {e}", path.display()),
            )
        })?;
        if base.model.cost.is_none() {
            return Err(Error::input(
                &loaded.scenario_path,
                field,
                format!(
                    "the baseline's model {} has no `cost:` section",
                    base.model_path.display()
                ),
            ));
        }
        Ok(Some(Baseline { cfg, loaded: base }))
    }

    /// The baseline's cost (on the configured basis) for one replication: same seed and
    /// replication as the run it is compared with, so both see the same random streams.
    pub fn value(&self, opts: RunOptions) -> crate::error::Result<f64> {
        let r = sim::try_run(&self.loaded, opts, &mut |_, _| {})?;
        Ok(of_run(&self.loaded.model, &r)
            .map(|c| c.value(self.cfg.basis))
            .unwrap_or(f64::NAN))
    }

    /// `cost_ratio` as a verdict: cost(this) / cost(baseline) < max.
    pub fn verdict(&self, this: Option<&Cost>, baseline_value: f64) -> Verdict {
        let ratio = this.map(|c| c.value(self.cfg.basis) / baseline_value);
        let measured = ratio.filter(|r| r.is_finite());
        Verdict {
            key: "cost_ratio".into(),
            expr: format!("<{}", self.cfg.max),
            measured,
            pass: measured.is_some_and(|r| r < self.cfg.max),
            no_data: measured.is_none(),
            shown: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_strs;

    const MODEL: &str = "
entry: web
services:
  web:
    replicas: 3
    pod: {cores: 2, cpu_request: 500m, memory_request: 2Gi}
    endpoints:
      buy:
        - cpu: const(1ms)
        - external: {provider: chain}
  worker:
    replicas: 2
    pod: {cores: 1}
    endpoints:
      x:
        - cpu: const(1ms)
databases:
  main: {cores: 2, max_connections: 10, read_replicas: 2, pool: {max: 2, acquire_timeout: 1s}}
caches:
  redis: {nodes: 3}
externals:
  chain: {latency: const(5ms)}
cost:
  PRICING
  services:
    worker: {per_hour: 0.1}
  instance_types: {db.big: 1.0, db.small: 0.25, cache.m: 0.2}
  databases: {main: {instance: db.big, replica_instance: db.small}}
  caches: {redis: {instance: cache.m}}
  load_balancer: {per_hour: 0.025, per_million_requests: 0.8}
  externals:
    chain: {per_request: 0.0001, gas_per_call: 230000, gas_price_gwei: 2, native_token_usd: 3000}
";

    const SCENARIO: &str = "
model: m.yaml
sample_interval: 10s
flows:
  f:
    steps:
      - request: buy
scenarios:
  load:
    executor: constant-arrival-rate
    rate: 10
    duration: 360s
    preAllocatedVUs: 20
";

    fn run(pricing: &str, replicas: u32) -> (Cost, u64, f64, f64) {
        let model = MODEL
            .replace("PRICING", pricing)
            .replace("replicas: 3", &format!("replicas: {replicas}"));
        let l = from_strs(SCENARIO, &model).unwrap();
        let r = sim::run(
            &l,
            RunOptions {
                seed: 1,
                replication: 0,
            },
            &mut |_, _| {},
        );
        let n = r.metrics.requests();
        let peak_rps = r
            .timeseries()
            .column("completions_per_s")
            .unwrap()
            .into_iter()
            .fold(0.0, f64::max);
        (
            of_run(&l.model, &r).unwrap(),
            n,
            ns_to_secs(r.end) / 3600.0,
            peak_rps,
        )
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn every_item_is_price_times_quantity() {
        let (c, n, hours, peak_rps) = run("pods: {vcpu_hour: 0.04, gb_hour: 0.005}", 3);
        assert!(n > 3000, "requests {n}");
        assert!(close(c.hours, hours), "{} vs {hours}", c.hours);
        let item = |k: &str| c.items.iter().find(|(n, _)| n == k).unwrap().1;
        // web: 3 pods × (0.5 vCPU × $0.04 + 2 GiB × $0.005); worker: 2 pods × $0.1.
        assert!(close(item("pods:web"), 3.0 * 0.03 * hours));
        assert!(close(item("pods:worker"), 2.0 * 0.1 * hours));
        // Primary plus two smaller replicas; three cache nodes.
        assert!(close(item("database:main"), (1.0 + 2.0 * 0.25) * hours));
        assert!(close(item("cache:redis"), 3.0 * 0.2 * hours));
        assert!(close(item("load_balancer"), 0.025 * hours));
        assert!(close(item("load_balancer:requests"), n as f64 * 0.8 / 1e6));
        // One provider call per request; gas: 230k units × 2 gwei × $3000 = $1.38 a call.
        assert!(close(item("external:chain"), n as f64 * 0.0001));
        assert!(close(item("gas:chain"), n as f64 * 1.38));
        let capacity = 0.09 + 0.2 + 1.5 + 0.6 + 0.025;
        let usage = n as f64 * (0.8e-6 + 0.0001 + 1.38);
        assert!(close(c.total, capacity * hours + usage));
        assert!(close(c.per_hour, c.total / hours));
        assert!(close(c.per_million_requests, c.total / n as f64 * 1e6));
        assert!(close(
            c.peak_per_hour,
            capacity + usage / n as f64 * peak_rps * 3600.0
        ));
        assert!(close(c.value(CostBasis::Total), c.total));
        assert!(close(c.infrastructure_per_hour, capacity));
    }

    #[test]
    fn gas_is_billed_from_what_each_transaction_burned() {
        let model = MODEL
            .replace("PRICING", "pods: {per_hour: 0.1}")
            .replace(
                "        - external: {provider: chain}",
                "        - transaction: {chain: l2, provider: chain}",
            )
            .replace(
                "cost:",
                "chains:\n  l2: {block_time: 1s, confirmations: 1, gas: {mean: 200000, sd: 30000}, revert: 0.1}\ncost:",
            )
            .replace(
                "  externals:\n    chain:",
                "  chains: {l2: {gas_price_gwei: 0.05, native_token_usd: 3000}}\n  externals:\n    chain:",
            );
        let l = from_strs(SCENARIO, &model).unwrap();
        let r = sim::run(
            &l,
            RunOptions {
                seed: 3,
                replication: 0,
            },
            &mut |_, _| {},
        );
        let c = of_run(&l.model, &r).unwrap();
        let tx = &r.metrics.tx;
        assert!(
            tx.ok > 1000 && tx.reverted > 50,
            "ok {} reverted {}",
            tx.ok,
            tx.reverted
        );
        // Reverted transactions burn gas too: the bill is the measured total, not calls × mean.
        let burned = tx.gas.sum() as f64;
        let n = (tx.ok + tx.reverted) as f64;
        let mean_err = (burned / n - 200_000.0).abs();
        assert!(
            mean_err < 4.0 * 30_000.0 / n.sqrt(),
            "mean gas off by {mean_err}"
        );
        let item = |k: &str| c.items.iter().find(|(n, _)| n == k).unwrap().1;
        assert!(close(item("gas:l2"), burned * 0.05e-9 * 3000.0));
        // The draws vary, so the measured total differs from a fixed gas per call.
        assert!(burned != 200_000.0 * (tx.ok + tx.reverted) as f64);
    }

    #[test]
    fn nodes_are_the_fewest_that_fit_the_pods_requests() {
        let nodes =
            "node_types: {m5: {per_hour: 0.2, vcpu: 2, memory: 8Gi}}\n  nodes: {node_type: m5}";
        // 3 web pods: 1.5 vCPU and 6 GiB fit on one node; the worker keeps its own price.
        let (c, _, hours, _) = run(nodes, 3);
        let item = |c: &Cost, k: &str| c.items.iter().find(|(n, _)| n == k).map(|x| x.1);
        assert!(close(item(&c, "nodes").unwrap(), 0.2 * hours));
        assert!(item(&c, "pods:web").is_none());
        assert!(close(item(&c, "pods:worker").unwrap(), 0.2 * hours));
        // 4 pods: 2 vCPU fits one node, but 8 GiB of requests... exactly one node's memory;
        // 5 pods need 2.5 vCPU and 10 GiB: two nodes.
        let (c4, _, h4, _) = run(nodes, 4);
        assert!(close(item(&c4, "nodes").unwrap(), 0.2 * h4));
        let (c5, _, h5, _) = run(nodes, 5);
        assert!(close(item(&c5, "nodes").unwrap(), 2.0 * 0.2 * h5));
    }
}
