//! What the system shows while it runs: the time-series columns per interval, utilization over
//! the run, and the per-component statistics of the summary.

use super::station::Station;
use super::{PodState, System};
use crate::engine::{Nanos, MS, SEC};
use serde_json::{json, Value};

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

impl System {
    fn ws_service(&self) -> Option<u32> {
        self.ws.as_ref().map(|w| w.service)
    }

    /// Column names of `sample`, in order.
    pub fn columns(&self) -> Vec<String> {
        let mut c = Vec::new();
        for (si, s) in self.services.iter().enumerate() {
            c.push(format!("{}_ready_pods", s.name));
            c.push(format!("{}_cpu_util", s.name));
            c.push(format!("{}_inflight", s.name));
            if self.services[si].memory_request > 0.0 {
                c.push(format!("{}_mem_util", s.name));
            }
            if self.ws_service() == Some(si as u32) {
                c.push(format!("{}_ws_connections", s.name));
            }
        }
        for d in &self.databases {
            let n = &d.name;
            for x in [
                "pool_in_use",
                "pool_waiting",
                "connections",
                "primary_connections",
                "util",
            ] {
                c.push(format!("{n}_{x}"));
            }
            if !d.replicas.is_empty() {
                c.push(format!("{n}_primary_util"));
                c.push(format!("{n}_replicas_util"));
            }
            for x in [
                "qps",
                "query_ms",
                "connects_per_s",
                "pool_timeouts_per_s",
                "refused_per_s",
                "reads_primary_per_s",
                "reads_replica_per_s",
                "ryw_primary_per_s",
                "stale_reads_per_s",
            ] {
                c.push(format!("{n}_{x}"));
            }
        }
        for x in &self.caches {
            c.push(format!("{}_util", x.name));
            c.push(format!("{}_hot_node_util", x.name));
        }
        for k in &self.keyspaces {
            c.push(format!("{}_hit_ratio", k.name));
        }
        for e in &self.rpcs {
            for x in [
                "inflight",
                "calls_per_s",
                "429_per_s",
                "errors_per_s",
                "retries_per_s",
            ] {
                c.push(format!("{}_{x}", e.name));
            }
        }
        for q in &self.queues {
            for x in [
                "queue_len",
                "oldest_age_s",
                "running",
                "slots_util",
                "enqueued_per_s",
                "done_per_s",
                "dead_per_s",
            ] {
                c.push(format!("{}_{x}", q.name));
            }
        }
        for ch in &self.chains {
            c.push(format!("{}_tx_per_s", ch.name));
            c.push(format!("{}_tx_failed_per_s", ch.name));
        }
        c
    }

    /// Append one time-series row; utilizations are averages over the interval since `last_area`.
    pub fn sample(
        &mut self,
        now: Nanos,
        interval: Nanos,
        last_area: &mut Vec<f64>,
        row: &mut Vec<f64>,
    ) {
        last_area.resize(self.stations.len(), 0.0);
        let area_delta = |st: u32, stations: &mut Vec<Station>, last_area: &mut Vec<f64>| {
            let busy = super::host::acct_at(stations, st, now).busy_area;
            let d = busy - last_area[st as usize];
            last_area[st as usize] = busy;
            (d, stations[st as usize].capacity)
        };
        let iv = interval.max(1) as f64;
        let secs = iv / SEC as f64;
        // Counters are cumulative; `last` holds their values at the previous sample, in push order.
        // Two buffers swapped each sample, so sampling allocates nothing once warm.
        let last = std::mem::take(&mut self.last);
        let mut counters = std::mem::take(&mut self.counters);
        counters.clear();
        let delta = |v: u64, counters: &mut Vec<u64>| {
            let prev = last.get(counters.len()).copied().unwrap_or(0);
            counters.push(v);
            v - prev
        };
        let ws = self.ws_service();
        for si in 0..self.services.len() {
            let (mut busy, mut cap, mut inflight, mut mem, mut pods) = (0.0, 0.0, 0u32, 0.0, 0);
            for (pi, p) in self.pods.iter().enumerate() {
                if p.service as usize != si || p.state == PodState::Gone {
                    continue;
                }
                let (d, c) = area_delta(p.cpu, &mut self.stations, last_area);
                busy += d;
                inflight += p.inflight;
                if p.state == PodState::Ready {
                    cap += c;
                    pods += 1;
                    mem += self.pod_memory(pi as u32);
                }
            }
            row.push(self.services[si].ready.len() as f64);
            row.push(ratio(busy, cap * iv));
            row.push(inflight as f64);
            if self.services[si].memory_request > 0.0 {
                row.push(ratio(mem, pods as f64 * self.services[si].memory_request));
            }
            if ws == Some(si as u32) {
                row.push(self.ws.as_ref().map(|w| w.open).unwrap_or(0) as f64);
            }
        }
        for (di, d) in self.databases.iter_mut().enumerate() {
            let (mut in_use, mut waiting) = (0u64, 0u64);
            let (mut connects, mut timeouts, mut refused) = (0u64, 0u64, 0u64);
            for p in self.pools.iter_mut().filter(|p| p.db as usize == di) {
                // Idle timeouts close connections lazily; bring the count up to date.
                let side = if p.side_replicas {
                    &mut d.conns_replicas
                } else {
                    &mut d.conns_primary
                };
                p.close_idle(now, side);
                in_use += p.in_use as u64;
                waiting += p.waiting() as u64;
                connects += p.connects;
                timeouts += p.acquire_timeouts;
                refused += p.refused;
            }
            let (pb, pc) = area_delta(d.primary, &mut self.stations, last_area);
            let (mut rb, mut rc) = (0.0, 0.0);
            for &st in &d.replicas {
                let (b, c) = area_delta(st, &mut self.stations, last_area);
                rb += b;
                rc += c;
            }
            row.push(in_use as f64);
            row.push(waiting as f64);
            row.push(d.open_connections() as f64);
            row.push(d.conns_primary.open as f64);
            row.push(ratio(pb + rb, (pc + rc) * iv));
            if !d.replicas.is_empty() {
                row.push(ratio(pb, pc * iv));
                row.push(ratio(rb, rc * iv));
            }
            let n = delta(d.queries, &mut counters);
            let ms = delta((d.query_ns / MS as u128) as u64, &mut counters);
            row.push(n as f64 / secs);
            row.push(if n > 0 {
                ms as f64 / n as f64
            } else {
                f64::NAN
            });
            for v in [
                connects,
                timeouts,
                refused,
                d.replication.reads_primary,
                d.replication.reads_replica,
                d.replication.ryw_routed,
                d.replication.stale_reads,
            ] {
                row.push(delta(v, &mut counters) as f64 / secs);
            }
        }
        for c in &self.caches {
            let (mut busy, mut cap, mut hot) = (0.0, 0.0, 0.0f64);
            for &st in &c.nodes {
                let (b, k) = area_delta(st, &mut self.stations, last_area);
                busy += b;
                cap += k;
                hot = hot.max(ratio(b, k * iv));
            }
            row.push(ratio(busy, cap * iv));
            row.push(hot);
        }
        for k in &self.keyspaces {
            let h = delta(k.hits, &mut counters);
            let m = delta(k.misses, &mut counters);
            row.push(if h + m > 0 {
                h as f64 / (h + m) as f64
            } else {
                f64::NAN
            });
        }
        for e in &self.rpcs {
            row.push(e.inflight() as f64);
            let attempts: u64 = e.providers.iter().map(|p| p.attempts).sum();
            let errors: u64 = e.providers.iter().map(|p| p.errors).sum();
            for v in [
                attempts,
                e.limited(),
                errors,
                e.retries_sent + e.hedges_sent,
            ] {
                row.push(delta(v, &mut counters) as f64 / secs);
            }
        }
        for jq in &mut self.queues {
            jq.advance(now);
            let workers = self.services[jq.service as usize].ready.len() as f64;
            row.push(jq.len() as f64);
            row.push(jq.oldest_age(now) as f64 / SEC as f64);
            row.push(jq.running as f64);
            row.push(ratio(jq.running as f64, workers * jq.concurrency as f64));
            for v in [jq.enqueued, jq.completed, jq.dead] {
                row.push(delta(v, &mut counters) as f64 / secs);
            }
        }
        for ch in &self.chains {
            for v in [ch.tx.attempts(), ch.tx.failed + ch.tx.reverted] {
                row.push(delta(v, &mut counters) as f64 / secs);
            }
        }
        self.counters = last;
        self.last = counters;
    }

    /// Per-resource utilization over the whole run (for the summary and bottleneck report).
    pub fn resource_utilization(&mut self, now: Nanos) -> Vec<(String, f64)> {
        self.resource_usage(now)
            .into_iter()
            .map(|(n, u, _)| (n, u))
            .collect()
    }

    /// The stations behind each named resource, in report order: services (their pods' CPUs),
    /// databases (all instances, then primary and replicas apart), caches; queues and hosts
    /// are added by the callers that report them.
    fn station_groups(&self) -> Vec<(String, Vec<u32>)> {
        let mut out = Vec::new();
        for (si, s) in self.services.iter().enumerate() {
            let ids = self
                .pods
                .iter()
                .filter(|p| p.service as usize == si)
                .map(|p| p.cpu);
            out.push((format!("service:{}", s.name), ids.collect()));
        }
        for d in &self.databases {
            let all = std::iter::once(d.primary).chain(d.replicas.iter().copied());
            out.push((format!("database:{}", d.name), all.collect()));
            if !d.replicas.is_empty() {
                out.push((format!("database:{}:primary", d.name), vec![d.primary]));
                out.push((format!("database:{}:replicas", d.name), d.replicas.clone()));
            }
        }
        for c in &self.caches {
            out.push((format!("cache:{}", c.name), c.nodes.clone()));
        }
        out
    }

    /// Per resource: (name, utilization over the run, busy core-seconds). Busy core-seconds per
    /// completed request is the resource's measured demand (the utilization law's D = B/X).
    pub fn resource_usage(&mut self, now: Nanos) -> Vec<(String, f64, f64)> {
        for s in &mut self.stations {
            s.advance(now);
        }
        let t = now.max(1) as f64;
        let util = |ids: &[u32], st: &[Station]| {
            let (mut b, mut c) = (0.0, 0.0);
            for &i in ids {
                b += super::host::acct_of(st, i).busy_area;
                c += st[i as usize].capacity;
            }
            (ratio(b, c * t), b / SEC as f64)
        };
        let mut out: Vec<(String, f64, f64)> = self
            .station_groups()
            .into_iter()
            .map(|(n, ids)| {
                let (u, b) = util(&ids, &self.stations);
                (n, u, b)
            })
            .collect();
        // Queues sit between databases and hosts in the report, after the caches.
        for jq in &mut self.queues {
            jq.advance(now);
            let slots =
                self.services[jq.service as usize].ready.len() as f64 * jq.concurrency as f64;
            out.push((
                format!("queue:{}", jq.name),
                ratio(jq.running_area, slots * t),
                0.0,
            ));
        }
        for (name, st) in self.hosts.iter() {
            let (u, b) = util(&[st], &self.stations);
            out.push((format!("host:{name}"), u, b));
        }
        out
    }

    /// Load-dependent resources over the run (calibration.md §1, "Utilisation"): the CPU
    /// utilization as reported (`cpu: busy` or `useful`) beside the useful speed E[c(n)]/c,
    /// the most jobs present at once, and for a `table` law whether the run went past its last
    /// point, where the speed is held flat (an extrapolation the user should know about).
    /// Reads the stations as they stand: call it after the run has advanced them to `now`
    /// (`resource_utilization` at the end of `sim::run` does).
    pub fn contention_report(&self, now: Nanos) -> Vec<Value> {
        let t = now.max(1) as f64;
        let mut out = Vec::new();
        for (name, ids) in self.station_groups() {
            // Work on a shared host runs on the host's station, which holds the law.
            let runs_on = |i: u32| self.stations[i as usize].seat.map_or(i, |(h, _)| h);
            let law: Vec<u32> = ids
                .iter()
                .map(|&i| runs_on(i))
                .filter(|&h| self.stations[h as usize].contention().is_some())
                .collect();
            let Some(&first) = law.first() else {
                continue;
            };
            let speed = self.stations[first as usize]
                .contention()
                .expect("filtered");
            let (mut busy, mut useful, mut cap, mut peak) = (0.0, 0.0, 0.0, 0);
            for &i in &ids {
                let a = super::host::acct_of(&self.stations, i);
                busy += a.busy_area;
                useful += a.useful_area;
                cap += self.stations[i as usize].capacity;
            }
            for &h in &law {
                peak = peak.max(self.stations[h as usize].peak_jobs);
            }
            let mut v = json!({
                "resource": name,
                "law": match speed {
                    super::station::Speed::Usl { .. } => "usl",
                    super::station::Speed::Linear { .. } => "linear",
                    super::station::Speed::Table(_) => "table",
                    super::station::Speed::Flat => "flat",
                },
                "cpu_util": ratio(busy, cap * t),
                "useful_util": ratio(useful, cap * t),
                "peak_jobs": peak,
            });
            if let Some((n, f)) = speed.table_end() {
                v["table_last_n"] = json!(n);
                v["table_last_factor"] = json!(f);
                v["beyond_table"] = json!(f64::from(peak) > n);
            }
            out.push(v);
        }
        out
    }

    /// Queueing statistics per service CPU and per database, and each component's counters,
    /// for the summary and analytic checks.
    pub fn queue_report(&self, now: Nanos) -> Value {
        let t = now.max(1) as f64;
        let stats = |ids: &mut dyn Iterator<Item = u32>| {
            let (mut served, mut wait, mut jobs, mut queued) = (0u64, 0f64, 0f64, 0usize);
            let (mut busy, mut ps) = (0f64, false);
            for i in ids {
                let s = &self.stations[i as usize];
                let a = super::host::acct_of(&self.stations, i);
                served += a.served;
                wait += a.wait_ns as f64;
                jobs += a.jobs_area;
                busy += a.work_ns as f64;
                queued += if s.seat.is_some() { 0 } else { s.queued() };
                ps |= s.is_ps();
            }
            // ∫jobs dt is the total time jobs spent at the stations and the work they brought is
            // the service they needed at full speed, so response = jobs/served,
            // service = work/served, and their ratio is
            // the slowdown. Under processor sharing nobody queues, but a job is slowed by the
            // others: its wait is the time beyond its own service.
            let per = |x: f64| {
                if served > 0 {
                    x / served as f64 / 1e6
                } else {
                    0.0
                }
            };
            let mean_wait_ms = if ps {
                per((jobs - busy).max(0.0))
            } else {
                per(wait)
            };
            json!({
                "served": served,
                "discipline": if ps { "ps" } else { "fcfs" },
                "mean_wait_ms": mean_wait_ms,
                "mean_response_ms": per(jobs),
                "mean_service_ms": per(busy),
                "slowdown": if busy > 0.0 { jobs / busy } else { 1.0 },
                "mean_jobs": jobs / t,
                "queued_at_end": queued,
            })
        };
        let mut out = serde_json::Map::new();
        for (si, s) in self.services.iter().enumerate() {
            let mut ids = self
                .pods
                .iter()
                .filter(|p| p.service as usize == si)
                .map(|p| p.cpu);
            out.insert(format!("service:{}", s.name), stats(&mut ids));
        }
        for (di, d) in self.databases.iter().enumerate() {
            let mut ids = std::iter::once(d.primary).chain(d.replicas.iter().copied());
            let mut v = stats(&mut ids);
            let pools: Vec<_> = self.pools.iter().filter(|p| p.db as usize == di).collect();
            let sum =
                |f: &dyn Fn(&super::pool::Pool) -> u64| pools.iter().map(|p| f(p)).sum::<u64>();
            v["pool_acquire_timeouts"] = sum(&|p| p.acquire_timeouts).into();
            v["pool_connects"] = sum(&|p| p.connects).into();
            v["pool_idle_closes"] = sum(&|p| p.closes).into();
            v["connections_refused"] = sum(&|p| p.refused).into();
            v["connections_open"] = d.open_connections().into();
            v["primary_connections_open"] = d.conns_primary.open.into();
            v["max_connections"] = d.conns_primary.max.into();
            // What the pools of the pods that query this database may open on one side.
            let users = self
                .pods
                .iter()
                .filter(|p| p.state != PodState::Gone && self.uses_db[p.service as usize][di])
                .count() as u64;
            v["pool_max_total"] = (users * d.pool_max as u64).into();
            v["queries"] = d.queries.into();
            v["queries_per_s"] = (d.queries as f64 / (t / SEC as f64)).into();
            v["mean_query_ms"] = ratio(d.query_ns as f64, d.queries as f64 * 1e6).into();
            v["statement_timeouts"] = d.statement_timeouts.into();
            let r = &d.replication;
            v["reads_primary"] = r.reads_primary.into();
            v["reads_replica"] = r.reads_replica.into();
            v["read_your_writes_to_primary"] = r.ryw_routed.into();
            v["stale_replica_reads"] = r.stale_reads.into();
            out.insert(format!("database:{}", d.name), v);
        }
        for c in &self.caches {
            let mut ids = c.nodes.iter().copied();
            let mut v = stats(&mut ids);
            v["command_timeouts"] = c.timeouts.into();
            out.insert(format!("cache:{}", c.name), v);
        }
        let (mut hits, mut lookups) = (0u64, 0u64);
        for k in &self.keyspaces {
            hits += k.hits;
            lookups += k.hits + k.misses;
            out.insert(
                format!("keyspace:{}", k.name),
                json!({
                    "strategy": format!("{:?}", k.strategy),
                    "hits": k.hits,
                    "misses": k.misses,
                    "hit_ratio": ratio(k.hits as f64, (k.hits + k.misses) as f64),
                    "sets": k.sets,
                    "write_behind_flushed": k.flushed_writes,
                    "write_behind_flushes": k.flushes,
                    "write_behind_pending": k.pending_writes,
                }),
            );
        }
        if !self.keyspaces.is_empty() {
            out.insert(
                "cache_hit_ratio".into(),
                ratio(hits as f64, lookups as f64).into(),
            );
        }
        for e in &self.rpcs {
            let providers: serde_json::Map<String, Value> = e
                .providers
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        json!({"attempts": p.attempts, "errors": p.errors, "rate_limited": p.limited}),
                    )
                })
                .collect();
            out.insert(
                format!("external:{}", e.name),
                json!({
                    "calls": e.started,
                    "retries": e.retries_sent,
                    "hedges": e.hedges_sent,
                    "retry_budget_denied": e.budget_denied,
                    "failed_calls": e.failed,
                    "failed_rate_limited": e.failed_limited,
                    "mean_ok_latency_ms": ratio(e.ok_latency_ns as f64, (e.started - e.failed) as f64 * 1e6),
                    "providers": providers,
                }),
            );
        }
        for jq in &self.queues {
            let dequeued = jq.started as f64;
            let secs = t / SEC as f64;
            let mean_wait_s = ratio(jq.wait_ns as f64, dequeued * SEC as f64);
            out.insert(
                format!("queue:{}", jq.name),
                json!({
                    "enqueued": jq.enqueued,
                    "attempts": jq.started,
                    "completed": jq.completed,
                    "failed_attempts": jq.failed_attempts,
                    "retried": jq.retried,
                    "dead": jq.dead,
                    "waiting_at_end": jq.len(),
                    "running_at_end": jq.running,
                    "max_queue_len": jq.max_len,
                    "oldest_age_at_end_s": jq.oldest_age(now) as f64 / SEC as f64,
                    "mean_wait_s": mean_wait_s,
                    "mean_queue_len": jq.len_area / t,
                    "attempts_per_s": dequeued / secs,
                    "mean_completion_s": ratio(jq.sojourn_ns as f64, jq.completed as f64 * SEC as f64),
                }),
            );
        }
        for ch in &self.chains {
            let tx = &ch.tx;
            out.insert(
                format!("chain:{}", ch.name),
                json!({
                    "transactions": tx.attempts(),
                    "succeeded": tx.ok,
                    "reverted": tx.reverted,
                    "submit_failed": tx.failed,
                    "success_rate": tx.success_rate(),
                    "gas_avg": tx.gas.avg(),
                    "confirmation_avg_ms": tx.confirmation.avg_ms(),
                    "confirmation_p95_ms": tx.confirmation.percentile_ms(95.0),
                }),
            );
        }
        Value::Object(out)
    }
}

/// Read-only gauges for the autoscalers' custom metrics (`crate::autoscale::signals`).
impl System {
    /// Requests waiting for a database connection in one pod's pools.
    pub fn pod_pool_waiters(&self, pod: u32) -> usize {
        let base = self.pods[pod as usize].pool_base as usize;
        let end = (base + self.pools_per_pod as usize).min(self.pools.len());
        self.pools[base..end].iter().map(|p| p.waiting()).sum()
    }

    /// Requests waiting for a connection to database `db`, over every pod's pools.
    pub fn db_pool_waiters(&self, db: u32) -> usize {
        self.pools
            .iter()
            .filter(|p| p.db == db)
            .map(|p| p.waiting())
            .sum()
    }

    /// Time until the read replicas have applied every write committed so far.
    pub fn db_replica_lag(&self, db: u32, now: Nanos) -> Nanos {
        self.databases[db as usize]
            .replication
            .catch_up_at()
            .saturating_sub(now)
    }

    /// Index of the job queue named `name` (model order).
    pub fn queue_index(&self, name: &str) -> Option<u32> {
        self.queues
            .iter()
            .position(|q| q.name == name)
            .map(|i| i as u32)
    }

    /// Index of the database named `name` (model order).
    pub fn db_index(&self, name: &str) -> Option<u32> {
        self.databases
            .iter()
            .position(|d| d.name == name)
            .map(|i| i as u32)
    }

    pub fn queue_count(&self) -> u32 {
        self.queues.len() as u32
    }

    pub fn db_count(&self) -> u32 {
        self.databases.len() as u32
    }

    /// Jobs waiting in queue `q`, and the age of the oldest one.
    pub fn queue_gauges(&self, q: u32, now: Nanos) -> (usize, Nanos) {
        let jq = &self.queues[q as usize];
        (jq.len(), jq.oldest_age(now))
    }
}
