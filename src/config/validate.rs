//! Semantic checks after parsing. Each failure is (field path, what was expected).

use super::model::{CacheStrategy, DbStepCfg, ModelFile, StepCfg};
use super::routes::Call;
use super::scenario::{ExecutorCfg, FlowStep, ScenarioFile, StageCfg};
use std::collections::BTreeSet;

type Check = Result<(), (String, String)>;

fn fail<T>(field: impl Into<String>, msg: impl Into<String>) -> Result<T, (String, String)> {
    Err((field.into(), msg.into()))
}

fn positive(field: String, v: f64, what: &str) -> Check {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        fail(field, format!("expected a positive {what}, got {v}"))
    }
}

pub fn model(m: &ModelFile) -> Check {
    super::contention::check_model(m)?;
    super::routes::check_model(m)?;
    crate::autoscale::signals::check_model(m)?;
    if !m.services.contains_key(&m.entry) {
        return fail(
            "entry",
            format!(
                "entry service {:?} is not defined; services are: {}",
                m.entry,
                m.services.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    for (sname, s) in &m.services {
        let f = |x: &str| format!("services.{sname}.{x}");
        positive(f("pod.cores"), s.pod.cores, "number of cores")?;
        if let Some(q) = s.pod.cpu_request {
            positive(f("pod.cpu_request"), q.0, "CPU request")?;
        }
        if s.pod.max_inflight == Some(0) {
            return fail(f("pod.max_inflight"), "expected at least 1");
        }
        if s.pod.workers == Some(0) {
            return fail(f("pod.workers"), "expected at least 1 worker");
        }
        if let Some(super::model::AutoscalerRef::Inline(h)) = &s.autoscaler {
            if h.kind != "HorizontalPodAutoscaler" {
                return fail(
                    f("autoscaler.kind"),
                    format!("expected HorizontalPodAutoscaler, got {:?}", h.kind),
                );
            }
            h.spec.validate().map_err(|e| (f("autoscaler"), e))?;
        }
        if let Some(aws) = &s.aws_autoscaling {
            if s.autoscaler.is_some() {
                return fail(f("aws_autoscaling"), "a service takes either an HPA (`autoscaler`) or an Auto Scaling group, not both");
            }
            use crate::autoscale::asg_config::{AsgGroupConfig, ServicePolicies};
            AsgGroupConfig::from_value(&aws.group, "group")
                .map_err(|e| (f("aws_autoscaling.group"), e))?;
            let set = aws.policies.get(&aws.policy_set).ok_or_else(|| {
                (
                    f("aws_autoscaling.policy_set"),
                    format!("the policies have no entry {:?}", aws.policy_set),
                )
            })?;
            ServicePolicies::from_value(set, &aws.policy_set)
                .map_err(|e| (f("aws_autoscaling.policies"), e))?;
            crate::autoscale::driver::asg_controller(aws, s.replicas)
                .map_err(|e| (f("aws_autoscaling"), e))?;
        }
        let lc = &s.lifecycle;
        if lc.readiness.period_seconds <= 0.0 || lc.readiness.success_threshold == 0 {
            return fail(
                f("lifecycle.readiness"),
                "expected periodSeconds > 0 and successThreshold >= 1",
            );
        }
        // Kubernetes holds these as int32 seconds (and a count).
        let int32 = f64::from(i32::MAX);
        for (name, v) in [
            ("periodSeconds", lc.readiness.period_seconds),
            ("initialDelaySeconds", lc.readiness.initial_delay_seconds),
            (
                "successThreshold",
                f64::from(lc.readiness.success_threshold),
            ),
        ] {
            if !(v.is_finite() && (0.0..=int32).contains(&v)) {
                return fail(
                    f(&format!("lifecycle.readiness.{name}")),
                    format!("expected 0 to {} (a Kubernetes int32), got {v}", i32::MAX),
                );
            }
        }
        if lc.termination_grace_period_seconds > int32 {
            return fail(
                f("lifecycle.terminationGracePeriodSeconds"),
                format!("expected at most {} seconds", i32::MAX),
            );
        }
        if lc.termination_grace_period_seconds.is_nan() || lc.termination_grace_period_seconds < 0.0
        {
            return fail(
                f("lifecycle.terminationGracePeriodSeconds"),
                "expected a non-negative number of seconds",
            );
        }
        if s.endpoints.is_empty() {
            return fail(f("endpoints"), "a service needs at least one endpoint");
        }
        for (ename, steps) in &s.endpoints {
            for (i, st) in steps.iter().enumerate() {
                let at = f(&format!("endpoints.{ename}[{i}]"));
                match st {
                    StepCfg::Cpu(_) => {}
                    StepCfg::Call(c) => match m.services.get(&c.service) {
                        None => return fail(at, format!("unknown service {:?}", c.service)),
                        Some(t) if !t.endpoints.contains_key(&c.endpoint) => {
                            return fail(
                                at,
                                format!("service {:?} has no endpoint {:?}", c.service, c.endpoint),
                            )
                        }
                        _ => {}
                    },
                    StepCfg::Db(d) if !m.databases.contains_key(&d.database) => {
                        return fail(at, format!("unknown database {:?}", d.database))
                    }
                    StepCfg::Cache(c) if !m.caches.contains_key(&c.cache) => {
                        return fail(at, format!("unknown cache {:?}", c.cache))
                    }
                    StepCfg::External(e) if !m.externals.contains_key(&e.provider) => {
                        return fail(at, format!("unknown external provider {:?}", e.provider))
                    }
                    StepCfg::Db(d) => db_step(m, d, &at)?,
                    StepCfg::CacheRead(c) => {
                        keyspace(m, &c.cache, &c.keyspace, &at)?;
                        db_step(m, &c.miss, &format!("{at}.cache_read.miss"))?;
                    }
                    StepCfg::CacheWrite(c) => {
                        keyspace(m, &c.cache, &c.keyspace, &at)?;
                        db_step(m, &c.db, &format!("{at}.cache_write.db"))?;
                    }
                    StepCfg::Enqueue(e) if !m.queues.contains_key(&e.queue) => {
                        return fail(at, format!("unknown queue {:?}", e.queue))
                    }
                    StepCfg::Transaction(t) => {
                        if !m.chains.contains_key(&t.chain) {
                            return fail(at, format!("unknown chain {:?}", t.chain));
                        }
                        if !m.externals.contains_key(&t.provider) {
                            return fail(at, format!("unknown external provider {:?}", t.provider));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    check_call_cycles(m)?;
    for (field, d) in [
        ("cluster.metrics_resolution", m.cluster.metrics_resolution.0),
        ("cluster.hpa_sync_period", m.cluster.hpa_sync_period.0),
    ] {
        if d == 0 {
            return fail(field, "expected a positive period");
        }
    }
    if m.cluster
        .nodes
        .as_ref()
        .is_some_and(|n| n.scan_interval.0 == 0)
    {
        return fail("cluster.nodes.scan_interval", "expected a positive period");
    }
    if let Some(n) = &m.cluster.nodes {
        if n.max == 0 || n.min > n.max || n.initial > n.max {
            return fail(
                "cluster.nodes",
                "expected min <= initial <= max and max >= 1",
            );
        }
        for (sname, s) in &m.services {
            let cpu = s.pod.cpu_request.map(|q| q.0).unwrap_or(s.pod.cores);
            let mem = s.pod.memory_request.map(|q| q.0).unwrap_or(0.0);
            if cpu > n.cpu.0 || mem > n.memory.0 {
                return fail(
                    format!("services.{sname}.pod"),
                    "the pod's requests exceed a node's allocatable CPU or memory; it could never be scheduled",
                );
            }
        }
    }
    for (n, d) in &m.databases {
        let f = |x: &str| format!("databases.{n}.{x}");
        if d.cores == 0 && d.host.is_none() {
            return fail(f("cores"), "expected at least 1 core");
        }
        if d.pool.max == 0 {
            return fail(f("pool.max"), "expected at least 1 connection");
        }
        if d.pool.min > d.pool.max {
            return fail(
                f("pool.min"),
                format!("min ({}) exceeds max ({})", d.pool.min, d.pool.max),
            );
        }
    }
    for (n, d) in &m.databases {
        if d.read_your_writes && d.read_replicas == 0 {
            return fail(
                format!("databases.{n}.read_your_writes"),
                "read_your_writes needs read_replicas > 0",
            );
        }
        if d.pool.idle_timeout.is_some_and(|t| t.0 == 0) {
            return fail(
                format!("databases.{n}.pool.idle_timeout"),
                "expected a positive duration",
            );
        }
    }
    for (n, c) in &m.caches {
        if c.nodes == 0 {
            return fail(format!("caches.{n}.nodes"), "expected at least 1 node");
        }
        for (k, ks) in &c.keyspaces {
            let f = |x: &str| format!("caches.{n}.keyspaces.{k}.{x}");
            if ks.keys == 0 {
                return fail(f("keys"), "expected at least 1 key");
            }
            if !(ks.zipf_s.is_finite() && ks.zipf_s >= 0.0) {
                return fail(f("zipf_s"), format!("expected s >= 0, got {}", ks.zipf_s));
            }
            if ks.ttl.0 == 0 {
                return fail(f("ttl"), "expected a positive TTL");
            }
            if ks.flush_interval.is_some() && ks.strategy != CacheStrategy::WriteBehind {
                return fail(f("flush_interval"), "only write_behind keyspaces flush");
            }
            if ks.flush_interval.is_some_and(|t| t.0 == 0) {
                return fail(f("flush_interval"), "expected a positive interval");
            }
        }
    }
    for (n, e) in &m.externals {
        let f = |x: &str| format!("externals.{n}.{x}");
        probability(f("failure"), e.failure)?;
        if e.providers.is_empty() {
            if e.latency.is_none() {
                return fail(f("latency"), "expected a latency (or a list of providers)");
            }
            rate(f("rate_limit"), e.rate_limit)?;
            rate(f("burst"), e.burst)?;
        } else {
            if e.latency.is_some() || e.rate_limit.is_some() || e.burst.is_some() {
                return fail(
                    f("providers"),
                    "with providers, give latency, failure and rate_limit per provider",
                );
            }
            for (i, p) in e.providers.iter().enumerate() {
                probability(f(&format!("providers[{i}].failure")), p.failure)?;
                rate(f(&format!("providers[{i}].rate_limit")), p.rate_limit)?;
                rate(f(&format!("providers[{i}].burst")), p.burst)?;
            }
        }
        if let Some(b) = e.retry_budget {
            if !(b.is_finite() && b >= 0.0) {
                return fail(f("retry_budget"), format!("expected a ratio >= 0, got {b}"));
            }
        }
        if !(e.retry_budget_min.is_finite() && e.retry_budget_min >= 0.0) {
            return fail(f("retry_budget_min"), "expected a number >= 0");
        }
        if e.retries > 16 {
            return fail(f("retries"), "expected at most 16 retries");
        }
        if e.hedge_after.is_some() && e.providers.len() < 2 {
            return fail(f("hedge_after"), "hedging needs at least 2 providers");
        }
    }
    for (n, q) in &m.queues {
        let f = |x: &str| format!("queues.{n}.{x}");
        match m.services.get(&q.service) {
            None => return fail(f("service"), format!("unknown service {:?}", q.service)),
            Some(s) if !s.endpoints.contains_key(&q.endpoint) => {
                return fail(
                    f("endpoint"),
                    format!("service {:?} has no endpoint {:?}", q.service, q.endpoint),
                )
            }
            _ => {}
        }
        if q.concurrency == 0 {
            return fail(f("concurrency"), "expected at least 1");
        }
        if q.retries > 100 {
            return fail(f("retries"), "expected at most 100 retries");
        }
    }
    for (n, c) in &m.chains {
        let f = |x: &str| format!("chains.{n}.{x}");
        if c.block_time.0 == 0 {
            return fail(f("block_time"), "expected a positive block time");
        }
        if c.confirmations == 0 {
            return fail(f("confirmations"), "expected at least 1");
        }
        if !(c.gas.mean.is_finite() && c.gas.mean >= 0.0 && c.gas.sd.is_finite() && c.gas.sd >= 0.0)
        {
            return fail(f("gas"), "expected a non-negative mean and sd");
        }
        probability(f("revert"), c.revert)?;
    }
    for (n, d) in &m.databases {
        let Some(r) = &d.replica_autoscaling else {
            continue;
        };
        let f = |x: &str| format!("databases.{n}.replica_autoscaling.{x}");
        if d.read_replicas == 0 {
            return fail(
                f("policies"),
                "replica autoscaling needs read_replicas >= 1 to start from",
            );
        }
        if r.min > r.max || r.max == 0 {
            return fail(f("max"), "expected min <= max and max >= 1");
        }
        if d.read_replicas < r.min.max(1) || d.read_replicas > r.max {
            return fail(
                format!("databases.{n}.read_replicas"),
                format!(
                    "the {} read replicas to start from are outside replica_autoscaling's \
                     [min, max] = [{}, {}]",
                    d.read_replicas,
                    r.min.max(1),
                    r.max
                ),
            );
        }
        if r.policies.get(&r.policy_set).is_none() {
            return fail(
                f("policy_set"),
                format!("the policies have no entry {:?}", r.policy_set),
            );
        }
        crate::autoscale::driver::replica_policy(d, r).map_err(|e| (f("policies"), e))?;
    }
    if let Some(c) = &m.cost {
        super::cost::validate(c, m)?;
    }
    Ok(())
}

fn probability(field: String, p: f64) -> Check {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        fail(field, format!("expected a probability in [0, 1], got {p}"))
    }
}

fn rate(field: String, r: Option<f64>) -> Check {
    match r {
        Some(v) => positive(field, v, "rate"),
        None => Ok(()),
    }
}

fn db_step(m: &ModelFile, d: &DbStepCfg, at: &str) -> Check {
    if !m.databases.contains_key(&d.database) {
        return fail(at, format!("unknown database {:?}", d.database));
    }
    if d.repeat == 0 || d.repeat > 1000 {
        return fail(format!("{at}.repeat"), "expected 1 to 1000 queries");
    }
    Ok(())
}

fn keyspace(m: &ModelFile, cache: &str, ks: &str, at: &str) -> Check {
    match m.caches.get(cache) {
        None => fail(at, format!("unknown cache {cache:?}")),
        Some(c) if !c.keyspaces.contains_key(ks) => {
            fail(at, format!("cache {cache:?} has no keyspace {ks:?}"))
        }
        _ => Ok(()),
    }
}

fn check_call_cycles(m: &ModelFile) -> Check {
    fn visit(
        m: &ModelFile,
        node: (String, String),
        stack: &mut Vec<(String, String)>,
        done: &mut BTreeSet<(String, String)>,
    ) -> Check {
        if done.contains(&node) {
            return Ok(());
        }
        if stack.contains(&node) {
            return fail(
                format!("services.{}.endpoints.{}", node.0, node.1),
                "synchronous calls form a cycle, which would never complete",
            );
        }
        stack.push(node.clone());
        for st in &m.services[&node.0].endpoints[&node.1] {
            if let StepCfg::Call(c) = st {
                visit(m, (c.service.clone(), c.endpoint.clone()), stack, done)?;
            }
        }
        stack.pop();
        done.insert(node);
        Ok(())
    }
    let mut done = BTreeSet::new();
    for (s, svc) in &m.services {
        for e in svc.endpoints.keys() {
            visit(m, (s.clone(), e.clone()), &mut Vec::new(), &mut done)?;
        }
    }
    Ok(())
}

/// The labels the metrics give endpoints: the entry service's by name, the others as
/// `service.endpoint` (what a threshold's `{endpoint:...}` tag matches).
fn endpoint_labels(m: &ModelFile) -> Vec<String> {
    let mut out = Vec::new();
    for (sname, s) in &m.services {
        for e in s.endpoints.keys() {
            out.push(if *sname == m.entry {
                e.clone()
            } else {
                format!("{sname}.{e}")
            });
        }
    }
    out
}

/// Resolve a flow's call to (service, endpoint): `claim` means the entry service's endpoint,
/// `api.claim` names the service, and an HTTP call goes through the model's routes.
pub fn resolve_call<'a>(m: &'a ModelFile, call: &Call) -> Result<(&'a str, &'a str), String> {
    if let Some(method) = call.method {
        return super::routes::resolve(m, method, &call.target);
    }
    let target = call.target.as_str();
    let (svc, ep) = match target.split_once('.') {
        Some((s, e)) if m.services.contains_key(s) => (s, e),
        _ => (m.entry.as_str(), target),
    };
    match m
        .services
        .get(svc)
        .and_then(|s| s.endpoints.get_key_value(ep))
    {
        Some((ep, _)) => {
            let svc = m.services.get_key_value(svc).map(|(k, _)| k.as_str());
            Ok((svc.unwrap_or_default(), ep.as_str()))
        }
        None => {
            let eps: Vec<_> = m.services[&m.entry].endpoints.keys().cloned().collect();
            Err(format!(
                "unknown endpoint {target:?}; the entry service {:?} has: {}",
                m.entry,
                eps.join(", ")
            ))
        }
    }
}

/// `resolve_call` without the message.
pub fn resolve_endpoint<'a>(m: &'a ModelFile, call: &Call) -> Option<(&'a str, &'a str)> {
    resolve_call(m, call).ok()
}

fn flow_steps(m: &ModelFile, steps: &[FlowStep], at: &str, depth: usize) -> Check {
    for (i, st) in steps.iter().enumerate() {
        let here = format!("{at}[{i}]");
        match st {
            FlowStep::Request(c) => {
                resolve_call(m, c).map_err(|e| (here, e))?;
            }
            FlowStep::Sleep(_) => {}
            FlowStep::Loop(_) if depth >= crate::workload::flow::MAX_LOOP_DEPTH => {
                return fail(
                    here,
                    format!(
                        "loops nest deeper than {} levels",
                        crate::workload::flow::MAX_LOOP_DEPTH
                    ),
                );
            }
            FlowStep::Loop(l) => {
                if l.count == 0 {
                    return fail(format!("{here}.loop.count"), "expected at least 1");
                }
                if l.steps.is_empty() {
                    return fail(
                        format!("{here}.loop.steps"),
                        "a loop needs at least one step",
                    );
                }
                flow_steps(m, &l.steps, &format!("{here}.loop.steps"), depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Compiled length of a flow (a loop adds a start and an end).
fn ops(steps: &[FlowStep]) -> usize {
    steps
        .iter()
        .map(|s| match s {
            FlowStep::Loop(l) => 2 + ops(&l.steps),
            _ => 1,
        })
        .sum()
}

/// `vus_targets`: the targets are VU counts (ramping-vus), so whole numbers within k6's bound.
fn stages(at: &str, st: &[StageCfg], vus_targets: bool) -> Check {
    if st.is_empty() {
        return fail(format!("{at}.stages"), "expected at least one stage");
    }
    for (i, s) in st.iter().enumerate() {
        let field = format!("{at}.stages[{i}].target");
        if !(s.target.is_finite() && s.target >= 0.0) {
            return fail(
                field,
                format!("expected a non-negative target, got {}", s.target),
            );
        }
        if vus_targets {
            if s.target.fract() != 0.0 {
                return fail(
                    field,
                    format!("expected a whole number of VUs, got {}", s.target),
                );
            }
            vu_count(field, s.target as u64)?;
        }
    }
    Ok(())
}

/// A VU count within k6's bound (validateTargetShifts: 100,000,000).
fn vu_count(field: String, n: u64) -> Check {
    let max = super::budget::MAX_VUS;
    if n > max {
        return fail(
            field,
            format!("expected at most {max} VUs (k6's limit), got {n}"),
        );
    }
    Ok(())
}

/// Simulated times are u64 nanoseconds: keep every instant a run can reach far from overflow.
pub const MAX_SIM_NS: u64 = 1 << 62;

fn time_unit(at: &str, tu: u64) -> Check {
    if tu == 0 {
        return fail(format!("{at}.timeUnit"), "expected a positive time unit");
    }
    Ok(())
}

/// k6's shortest executor duration (`lib/executor/constant_vus.go` minDuration).
const K6_MIN_DURATION: u64 = crate::engine::SEC;

/// A k6 `duration` / `maxDuration`: at least 1 s (constant_vus.go, constant_arrival_rate.go,
/// shared_iterations.go, per_vu_iterations.go Validate).
fn k6_duration(field: String, d: u64) -> Check {
    if d < K6_MIN_DURATION {
        return fail(
            field,
            format!(
                "expected at least 1s (k6's minimum), got {}",
                crate::dist::format_duration(d)
            ),
        );
    }
    Ok(())
}

/// A k6 scenario name (`lib/executor/base_config.go` scenarioNameWhitelist `^[0-9a-zA-Z_-]+$`).
fn scenario_name(n: &str) -> Check {
    if n.is_empty()
        || !n
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return fail(
            format!("scenarios.{n}"),
            format!(
                "scenario name {n:?} must be non-empty and contain only ASCII letters, digits, \
                 `_` and `-` (as in k6)"
            ),
        );
    }
    Ok(())
}

fn at_least_one_vu(field: String, n: u64) -> Check {
    if n == 0 {
        return fail(
            field,
            "expected at least 1 VU (k6: the number of VUs must be more than 0)",
        );
    }
    vu_count(field, n)
}

fn positive_duration(field: String, d: u64) -> Check {
    if d == 0 {
        return fail(field, "expected a positive duration");
    }
    Ok(())
}

pub fn scenario(s: &ScenarioFile, m: &ModelFile) -> Check {
    if s.flows.is_empty() {
        return fail("flows", "expected at least one flow");
    }
    let mut total = 0.0;
    for (n, f) in &s.flows {
        if !(f.weight.is_finite() && f.weight > 0.0) {
            return fail(
                format!("flows.{n}.weight"),
                format!(
                    "expected {}, got {}",
                    super::scenario::WEIGHT_RANGE,
                    if f.weight.abs() >= 1e15 {
                        format!("{:e}", f.weight)
                    } else {
                        f.weight.to_string()
                    }
                ),
            );
        }
        total += f.weight;
        // A VU draws a flow by a uniform number times the total: an infinite total always
        // drew the last flow.
        if !total.is_finite() {
            return fail(
                format!("flows.{n}.weight"),
                format!(
                    "the flows' weights add up to more than 1.8e308 here (this flow's is {:e}); \
                     expected {}",
                    f.weight,
                    super::scenario::WEIGHT_RANGE
                ),
            );
        }
        if f.steps.is_empty() {
            return fail(format!("flows.{n}.steps"), "a flow needs at least one step");
        }
        flow_steps(m, &f.steps, &format!("flows.{n}.steps"), 0)?;
        // A VU's program counter is 16 bits.
        if ops(&f.steps) > usize::from(u16::MAX) {
            return fail(format!("flows.{n}.steps"), "expected at most 65535 steps");
        }
    }
    if s.flows.len() > usize::from(u16::MAX) || s.scenarios.len() > usize::from(u16::MAX) {
        return fail("flows", "expected at most 65535 flows and 65535 scenarios");
    }
    if s.scenarios.is_empty() {
        return fail("scenarios", "expected at least one scenario");
    }
    if s.sample_interval.0 == 0 {
        return fail("sample_interval", "expected a positive interval");
    }
    positive_duration("request_timeout".into(), s.request_timeout.0)?;
    if let Some(d) = s.duration {
        positive_duration("duration".into(), d.0)?;
    }
    thresholds(s, m)?;
    crate::ensure::validate(&s.conditions)?;
    if let Some(c) = s.targets.as_ref().and_then(|t| t.cost_ratio.as_ref()) {
        positive("targets.cost_ratio.max".into(), c.max, "ratio")?;
        if m.cost.is_none() {
            return fail(
                "targets.cost_ratio",
                "a cost_ratio target needs a `cost:` section in the model file",
            );
        }
    }
    for (n, e) in &s.scenarios {
        let at = format!("scenarios.{n}");
        scenario_name(n)?;
        if let (_, _, Some(fl), _) = e.common() {
            for f in fl {
                if !s.flows.contains_key(f) {
                    return fail(format!("{at}.flows"), format!("unknown flow {f:?}"));
                }
            }
        }
        if let (_, _, _, Some(t)) = e.common() {
            positive_duration(format!("{at}.request_timeout"), t.0)?;
        }
        let (start, grace, _, _) = e.common();
        let length: u64 = match e {
            ExecutorCfg::ConstantVus(c) => c.duration.0,
            ExecutorCfg::ConstantArrivalRate(c) => c.duration.0,
            ExecutorCfg::PoissonArrivals(c) => c.duration.0,
            ExecutorCfg::SharedIterations(c) => c.max_duration.0,
            ExecutorCfg::PerVuIterations(c) => c.max_duration.0,
            ExecutorCfg::RampingVus(c) => c
                .stages
                .iter()
                .fold(0u64, |a, x| a.saturating_add(x.duration.0)),
            ExecutorCfg::RampingArrivalRate(c) => c
                .stages
                .iter()
                .fold(0u64, |a, x| a.saturating_add(x.duration.0)),
            ExecutorCfg::Artillery(c) => c.phases.iter().fold(0u64, |a, p| {
                a.saturating_add(p.duration.map_or(0, |d| d.0))
                    .saturating_add(p.pause.map_or(0, |d| d.0))
            }),
        };
        if start
            .0
            .saturating_add(length)
            .saturating_add(grace.0)
            .saturating_add(s.request_timeout.0)
            > MAX_SIM_NS
        {
            return fail(
                at,
                "startTime + duration + gracefulStop is too long to simulate (over 146 years)",
            );
        }
        match e {
            ExecutorCfg::ConstantVus(c) => {
                at_least_one_vu(format!("{at}.vus"), u64::from(c.vus))?;
                k6_duration(format!("{at}.duration"), c.duration.0)?;
            }
            ExecutorCfg::RampingVus(c) => {
                vu_count(format!("{at}.startVUs"), u64::from(c.start_vus))?;
                stages(&at, &c.stages, true)?;
                // ramping_vus.go Validate: some VUs must run at some point.
                if c.start_vus == 0 && c.stages.iter().all(|s| s.target == 0.0) {
                    return fail(
                        format!("{at}.startVUs"),
                        "either startVUs or one of the stages' targets must be greater than 0 \
                         (as in k6)",
                    );
                }
            }
            ExecutorCfg::SharedIterations(c) => {
                at_least_one_vu(format!("{at}.vus"), u64::from(c.vus))?;
                if c.iterations < u64::from(c.vus) {
                    return fail(
                        format!("{at}.iterations"),
                        format!(
                            "the number of iterations ({}) can't be less than the number of \
                             VUs ({}) (as in k6)",
                            c.iterations, c.vus
                        ),
                    );
                }
                k6_duration(format!("{at}.maxDuration"), c.max_duration.0)?;
            }
            ExecutorCfg::PerVuIterations(c) => {
                at_least_one_vu(format!("{at}.vus"), u64::from(c.vus))?;
                if c.iterations == 0 {
                    return fail(
                        format!("{at}.iterations"),
                        "expected at least 1 iteration per VU (as in k6)",
                    );
                }
                k6_duration(format!("{at}.maxDuration"), c.max_duration.0)?;
            }
            ExecutorCfg::ConstantArrivalRate(c) => {
                positive(format!("{at}.rate"), c.rate, "rate")?;
                time_unit(&at, c.time_unit.0)?;
                k6_duration(format!("{at}.duration"), c.duration.0)?;
                vu_count(
                    format!("{at}.preAllocatedVUs"),
                    u64::from(c.pre_allocated_vus),
                )?;
                if let Some(m) = c.max_vus {
                    vu_count(format!("{at}.maxVUs"), u64::from(m))?;
                }
                if c.max_vus.is_some_and(|m| m < c.pre_allocated_vus) {
                    return fail(format!("{at}.maxVUs"), "maxVUs must be >= preAllocatedVUs");
                }
            }
            ExecutorCfg::RampingArrivalRate(c) => {
                stages(&at, &c.stages, false)?;
                time_unit(&at, c.time_unit.0)?;
                vu_count(
                    format!("{at}.preAllocatedVUs"),
                    u64::from(c.pre_allocated_vus),
                )?;
                if let Some(m) = c.max_vus {
                    vu_count(format!("{at}.maxVUs"), u64::from(m))?;
                }
                if !(c.start_rate.is_finite() && c.start_rate >= 0.0) {
                    return fail(
                        format!("{at}.startRate"),
                        format!("expected a non-negative rate, got {}", c.start_rate),
                    );
                }
                if c.max_vus.is_some_and(|m| m < c.pre_allocated_vus) {
                    return fail(format!("{at}.maxVUs"), "maxVUs must be >= preAllocatedVUs");
                }
            }
            ExecutorCfg::PoissonArrivals(c) => {
                positive(format!("{at}.rate"), c.rate, "rate")?;
                time_unit(&at, c.time_unit.0)?;
                positive_duration(format!("{at}.duration"), c.duration.0)?;
                if let Some(m) = c.max_vus {
                    vu_count(format!("{at}.maxVUs"), u64::from(m))?;
                }
                // The gap between arrivals must be representable: at least 1 ns on average.
                if c.rate > c.time_unit.0 as f64 {
                    return fail(
                        format!("{at}.rate"),
                        format!(
                            "expected at most one arrival per nanosecond on average, got {} per {}",
                            c.rate, c.time_unit
                        ),
                    );
                }
            }
            ExecutorCfg::Artillery(c) => {
                if c.phases.is_empty() {
                    return fail(format!("{at}.phases"), "expected at least one phase");
                }
                for (i, p) in c.phases.iter().enumerate() {
                    let here = format!("{at}.phases[{i}]");
                    for (name, v) in [("arrivalRate", p.arrival_rate), ("rampTo", p.ramp_to)] {
                        if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                            return fail(
                                format!("{here}.{name}"),
                                format!("expected a non-negative rate, got {}", v.unwrap_or(0.0)),
                            );
                        }
                    }
                    if let Some(m) = p.max_vusers {
                        vu_count(format!("{here}.maxVusers"), u64::from(m))?;
                    }
                    artillery_phase(p).map_err(|msg| (here.clone(), msg))?;
                }
            }
        }
    }
    Ok(())
}

/// An Artillery phase as the workload will build it (its field precedence and errors).
pub fn artillery_phase(
    p: &super::scenario::ArtilleryPhaseCfg,
) -> Result<crate::workload::schedule::Phase, String> {
    if p.skipped() {
        // Dropped by Artillery's local runner: no arrivals and no time.
        return Ok(crate::workload::schedule::Phase {
            duration: 0,
            kind: crate::workload::schedule::PhaseKind::Count(0),
            max_vusers: None,
        });
    }
    crate::workload::schedule::artillery_phase(
        p.duration.map(|d| d.0),
        p.arrival_rate,
        p.ramp_to,
        p.arrival_count,
        p.pause.map(|d| d.0),
        p.max_vusers,
    )
}

/// `queue_wait{service:x}` (or database/cache) names one existing station and only has a mean.
fn queue_wait(set: &crate::threshold::ThresholdSet, m: &ModelFile) -> Check {
    let at = format!("thresholds.{}", set.key);
    let [(kind, name)] = set.selector.tags.as_slice() else {
        return fail(
            at,
            "queue_wait needs exactly one tag: {service:NAME}, {database:NAME} or {cache:NAME}",
        );
    };
    let exists = match kind.as_str() {
        "service" => m.services.contains_key(name),
        "database" => m.databases.contains_key(name),
        "cache" => m.caches.contains_key(name),
        _ => true, // reported by the tag check below
    };
    if !exists {
        return fail(at, format!("queue_wait: the model has no {kind} {name:?}"));
    }
    for t in &set.thresholds {
        if t.expr.agg != crate::threshold::Aggregation::Avg {
            return fail(
                at,
                format!(
                    "{:?}: queue_wait only has a mean; use avg, e.g. 'avg<50'",
                    t.expr.source
                ),
            );
        }
    }
    Ok(())
}

fn thresholds(s: &ScenarioFile, m: &ModelFile) -> Check {
    use crate::metrics::{allowed_tags, kind_of};
    s.thresholds
        .validate(&kind_of)
        .map_err(|e| ("thresholds".to_string(), e))?;
    for set in &s.thresholds.0 {
        if set.selector.metric == "queue_wait" {
            queue_wait(set, m)?;
        }
        let allowed = allowed_tags(&set.selector.metric);
        for (k, v) in &set.selector.tags {
            let at = format!("thresholds.{}", set.key);
            if k == "endpoint" && allowed.contains(&"endpoint") {
                let labels = endpoint_labels(m);
                if !labels.contains(v) {
                    return fail(
                        at,
                        format!(
                            "{:?}: no endpoint {v:?}; the endpoints are: {}",
                            set.key,
                            labels.join(", ")
                        ),
                    );
                }
            }
            if k == "name" && allowed.contains(&"name") && !endpoint_labels(m).contains(v) {
                return fail(
                    at,
                    format!(
                        "{:?}: no request name {v:?}; names are the endpoints: {}",
                        set.key,
                        endpoint_labels(m).join(", ")
                    ),
                );
            }
            if k == "scenario" && allowed.contains(&"scenario") && !s.scenarios.contains_key(v) {
                let names: Vec<&str> = s.scenarios.keys().map(|k| k.as_str()).collect();
                return fail(
                    at,
                    format!(
                        "{:?}: no scenario {v:?}; the scenarios are: {}",
                        set.key,
                        names.join(", ")
                    ),
                );
            }
            if k == "status" && allowed.contains(&"status") && v.parse::<u16>().is_err() {
                return fail(
                    at,
                    format!("{:?}: expected an HTTP status code, got {v:?}", set.key),
                );
            }
            if k == "expected_response" && v != "true" && v != "false" {
                return fail(
                    at,
                    format!(
                        "{:?}: expected_response is true or false, got {v:?}",
                        set.key
                    ),
                );
            }
            if k == "cause" && allowed.contains(&"cause") {
                let causes: Vec<&str> =
                    crate::system::Cause::ALL.iter().map(|c| c.name()).collect();
                if !causes.contains(&v.as_str()) {
                    return fail(
                        at,
                        format!(
                            "{:?}: no cause {v:?}; the causes are: {}",
                            set.key,
                            causes.join(", ")
                        ),
                    );
                }
            }
            if !allowed.contains(&k.as_str()) {
                return fail(
                    format!("thresholds.{}", set.selector.metric),
                    format!(
                        "{:?}: tag {k:?} is not supported for {}; supported: {}",
                        set.key,
                        set.selector.metric,
                        if allowed.is_empty() {
                            "none".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                );
            }
        }
    }
    Ok(())
}
