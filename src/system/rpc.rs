//! External RPC: one or more providers, each with a latency distribution, a failure rate and a
//! token-bucket rate limit beyond which it answers 429 at once. A failed attempt is retried after
//! a backoff on the next provider (failover), within a per-call retry count and a global retry
//! budget (each call earns `ratio` tokens, each retry or hedge spends one). With `hedge_after`, a
//! call still unanswered then is duplicated to the next provider; the first success wins.

use super::Cause;
use crate::config::model::ExternalCfg;
use crate::dist::Dist;
use crate::engine::{EventQueue, Nanos, Rng64, SEC};
use crate::event::{Event, ReqRef};
use rand::Rng;

/// An attempt's result.
pub const OK: u8 = 0;
pub const ERROR: u8 = 1;
pub const LIMITED: u8 = 2;

pub struct TokenBucket {
    per_ns: f64,
    burst: f64,
    tokens: f64,
    last: Nanos,
}

impl TokenBucket {
    pub fn new(rate_per_s: f64, burst: f64) -> Self {
        TokenBucket {
            per_ns: rate_per_s / SEC as f64,
            burst,
            tokens: burst,
            last: 0,
        }
    }

    pub fn take(&mut self, now: Nanos) -> bool {
        self.tokens = (self.tokens + (now - self.last) as f64 * self.per_ns).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub struct Provider {
    pub name: String,
    latency: Dist,
    failure: f64,
    bucket: Option<TokenBucket>,
    pub attempts: u64,
    pub errors: u64,
    pub limited: u64,
    pub inflight: u32,
}

#[derive(Clone, Copy)]
struct Call {
    req: ReqRef,
    gen: u32,
    outstanding: u8,
    retried: u8,
    hedged: u8,
    next: u8,
    last: u8,
    settled: bool,
    t0: Nanos,
}

pub struct Rpc {
    pub name: String,
    pub providers: Vec<Provider>,
    retries: u8,
    backoff: Option<Dist>,
    budget_ratio: Option<f64>,
    budget_tokens: f64,
    budget_cap: f64,
    hedge_after: Option<Nanos>,
    rng: Rng64,
    calls: Vec<Call>,
    free: Vec<u32>,
    /// Settled calls: the request and its failure cause, if any.
    pub done: Vec<(ReqRef, Option<Cause>)>,
    pub started: u64,
    pub retries_sent: u64,
    pub hedges_sent: u64,
    pub failed: u64,
    pub failed_limited: u64,
    /// Retries or hedges refused because the budget was empty.
    pub budget_denied: u64,
    /// Summed call latency (first send to settlement) of successful calls.
    pub ok_latency_ns: u128,
}

fn bucket(rate: Option<f64>, burst: Option<f64>) -> Option<TokenBucket> {
    rate.map(|r| TokenBucket::new(r, burst.unwrap_or((r / 10.0).max(1.0))))
}

impl Rpc {
    pub fn new(name: &str, e: &ExternalCfg, rng: Rng64) -> Result<Self, String> {
        let providers = if e.providers.is_empty() {
            vec![Provider {
                name: name.to_string(),
                latency: e
                    .latency
                    .clone()
                    .ok_or("expected a `latency` (or `providers`)")?,
                failure: e.failure,
                bucket: bucket(e.rate_limit, e.burst),
                attempts: 0,
                errors: 0,
                limited: 0,
                inflight: 0,
            }]
        } else {
            e.providers
                .iter()
                .map(|p| Provider {
                    name: p.name.clone(),
                    latency: p.latency.clone(),
                    failure: p.failure,
                    bucket: bucket(p.rate_limit, p.burst),
                    attempts: 0,
                    errors: 0,
                    limited: 0,
                    inflight: 0,
                })
                .collect()
        };
        Ok(Rpc {
            name: name.to_string(),
            providers,
            retries: e.retries as u8,
            backoff: e.backoff.clone(),
            budget_ratio: e.retry_budget,
            budget_tokens: e.retry_budget_min,
            budget_cap: e.retry_budget_min.max(1.0),
            hedge_after: e.hedge_after.map(|t| t.0),
            rng,
            calls: Vec::new(),
            free: Vec::new(),
            done: Vec::new(),
            started: 0,
            retries_sent: 0,
            hedges_sent: 0,
            failed: 0,
            failed_limited: 0,
            budget_denied: 0,
            ok_latency_ns: 0,
        })
    }

    pub fn inflight(&self) -> u32 {
        self.providers.iter().map(|p| p.inflight).sum()
    }

    pub fn limited(&self) -> u64 {
        self.providers.iter().map(|p| p.limited).sum()
    }

    /// Start a call for `req`; its outcome lands in `done`.
    pub fn call(&mut self, id: u16, req: ReqRef, q: &mut EventQueue<Event>) {
        self.started += 1;
        if let Some(r) = self.budget_ratio {
            // The cap keeps a quiet period from banking unlimited retries for the next outage.
            self.budget_tokens = (self.budget_tokens + r).min(self.budget_cap);
        }
        let c = Call {
            req,
            gen: 0,
            outstanding: 0,
            retried: 0,
            hedged: 0,
            next: 0,
            last: OK,
            settled: false,
            t0: q.now(),
        };
        let slot = match self.free.pop() {
            Some(s) => {
                let gen = self.calls[s as usize].gen;
                self.calls[s as usize] = Call { gen, ..c };
                s
            }
            None => {
                self.calls.push(c);
                (self.calls.len() - 1) as u32
            }
        };
        self.send(id, slot, q);
        if let Some(h) = self.hedge_after {
            let gen = self.calls[slot as usize].gen;
            q.schedule_in(
                h,
                Event::RpcHedge {
                    ext: id,
                    call: slot,
                    gen,
                },
            );
        }
    }

    fn spend_budget(&mut self) -> bool {
        match self.budget_ratio {
            None => true,
            Some(_) if self.budget_tokens >= 1.0 => {
                self.budget_tokens -= 1.0;
                true
            }
            Some(_) => {
                self.budget_denied += 1;
                false
            }
        }
    }

    fn send(&mut self, id: u16, slot: u32, q: &mut EventQueue<Event>) {
        let now = q.now();
        let c = &mut self.calls[slot as usize];
        let pi = c.next as usize % self.providers.len();
        c.next = c.next.wrapping_add(1);
        c.outstanding += 1;
        let gen = c.gen;
        let p = &mut self.providers[pi];
        p.attempts += 1;
        p.inflight += 1;
        let (delay, result) = if p.bucket.as_mut().is_some_and(|b| !b.take(now)) {
            p.limited += 1;
            (0, LIMITED)
        } else {
            let lat = p.latency.sample_ns(&mut self.rng);
            let err = p.failure > 0.0 && self.rng.gen_bool(p.failure);
            if err {
                p.errors += 1;
            }
            (lat, if err { ERROR } else { OK })
        };
        q.schedule_in(
            delay,
            Event::RpcReply {
                ext: id,
                call: slot,
                gen,
                provider: pi as u8,
                result,
            },
        );
    }

    fn settle(&mut self, slot: u32, cause: Option<Cause>, now: Nanos) {
        let c = &mut self.calls[slot as usize];
        if cause.is_none() {
            self.ok_latency_ns += (now - c.t0) as u128;
        }
        c.settled = true;
        self.done.push((c.req, cause));
        if cause.is_some() {
            self.failed += 1;
            if cause == Some(Cause::RateLimited) {
                self.failed_limited += 1;
            }
        }
        self.recycle(slot);
    }

    fn recycle(&mut self, slot: u32) {
        let c = &mut self.calls[slot as usize];
        if c.settled && c.outstanding == 0 {
            c.gen = c.gen.wrapping_add(1);
            self.free.push(slot);
        }
    }

    pub fn on_reply(
        &mut self,
        id: u16,
        slot: u32,
        gen: u32,
        provider: u8,
        result: u8,
        q: &mut EventQueue<Event>,
    ) {
        self.providers[provider as usize].inflight -= 1;
        let c = &mut self.calls[slot as usize];
        debug_assert_eq!(c.gen, gen, "replies arrive before their call is recycled");
        c.outstanding -= 1;
        if c.settled {
            // A hedge lost the race.
            return self.recycle(slot);
        }
        if result == OK {
            return self.settle(slot, None, q.now());
        }
        c.last = result;
        if c.outstanding > 0 {
            return; // a hedge may still succeed
        }
        if c.retried < self.retries && self.spend_budget() {
            let c = &mut self.calls[slot as usize];
            c.retried += 1;
            let wait = self
                .backoff
                .as_ref()
                .map(|d| d.sample_ns(&mut self.rng))
                .unwrap_or(0);
            // Keeps the slot alive until the retry is sent.
            c.outstanding += 1;
            q.schedule_in(
                wait,
                Event::RpcRetry {
                    ext: id,
                    call: slot,
                    gen: c.gen,
                },
            );
        } else {
            let cause = if result == LIMITED {
                Cause::RateLimited
            } else {
                Cause::External
            };
            self.settle(slot, Some(cause), q.now());
        }
    }

    pub fn on_retry(&mut self, id: u16, slot: u32, gen: u32, q: &mut EventQueue<Event>) {
        let c = &mut self.calls[slot as usize];
        debug_assert_eq!(c.gen, gen);
        c.outstanding -= 1;
        self.retries_sent += 1;
        self.send(id, slot, q);
    }

    pub fn on_hedge(&mut self, id: u16, slot: u32, gen: u32, q: &mut EventQueue<Event>) {
        let c = self.calls[slot as usize];
        if c.gen != gen || c.settled || c.outstanding == 0 {
            return;
        }
        if (c.hedged as usize) + 1 >= self.providers.len() || !self.spend_budget() {
            return;
        }
        self.calls[slot as usize].hedged += 1;
        self.hedges_sent += 1;
        self.send(id, slot, q);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::ProviderCfg;
    use crate::engine::{stream, MS};
    use rand_distr::{Distribution, Exp};

    fn cfg(
        rate_limit: Option<f64>,
        failure: f64,
        retries: u32,
        budget: Option<f64>,
    ) -> ExternalCfg {
        ExternalCfg {
            latency: Some(Dist::constant_ns(50 * MS)),
            failure,
            rate_limit,
            burst: Some(5.0),
            providers: Vec::new(),
            retries,
            backoff: Some(Dist::constant_ns(10 * MS)),
            retry_budget: budget,
            retry_budget_min: 10.0,
            hedge_after: None,
        }
    }

    /// Drive Poisson calls at `rate`/s for `secs`; returns (rpc, failures by cause).
    fn drive(e: &ExternalCfg, rate: f64, secs: f64) -> (Rpc, u64, u64) {
        let mut rpc = Rpc::new("rpc", e, stream(1, 0, "external:rpc")).unwrap();
        let mut q: EventQueue<Event> = EventQueue::new();
        let mut arr = stream(1, 0, "arrivals");
        let gap = Exp::new(rate).unwrap();
        let mut t = 0.0;
        let (mut ext, mut lim) = (0, 0);
        let mut next_arrival = 0;
        loop {
            t += gap.sample(&mut arr);
            if t > secs {
                break;
            }
            next_arrival = (t * SEC as f64) as Nanos;
            while q.peek_time().is_some_and(|pt| pt <= next_arrival) {
                let (_, ev) = q.pop().unwrap();
                dispatch(&mut rpc, ev, &mut q);
            }
            q.set_now(next_arrival);
            rpc.call(0, ReqRef { idx: 0, gen: 0 }, &mut q);
        }
        let _ = next_arrival;
        while let Some((_, ev)) = q.pop() {
            dispatch(&mut rpc, ev, &mut q);
        }
        for (_, c) in rpc.done.drain(..) {
            match c {
                Some(Cause::RateLimited) => lim += 1,
                Some(_) => ext += 1,
                None => {}
            }
        }
        (rpc, ext, lim)
    }

    fn dispatch(rpc: &mut Rpc, ev: Event, q: &mut EventQueue<Event>) {
        match ev {
            Event::RpcReply {
                call,
                gen,
                provider,
                result,
                ..
            } => rpc.on_reply(0, call, gen, provider, result, q),
            Event::RpcRetry { call, gen, .. } => rpc.on_retry(0, call, gen, q),
            Event::RpcHedge { call, gen, .. } => rpc.on_hedge(0, call, gen, q),
            _ => unreachable!(),
        }
    }

    /// Offered λ above a limit R: in the long run the bucket admits R/s, so 1 − R/λ get 429.
    #[test]
    fn fraction_of_429s_matches_offered_rate_above_the_limit() {
        for (limit, offered) in [(100.0, 150.0), (100.0, 400.0), (20.0, 30.0)] {
            let (rpc, _, lim) = drive(&cfg(Some(limit), 0.0, 0, None), offered, 400.0);
            let frac = lim as f64 / rpc.started as f64;
            let expected = (1.0 - limit / offered).max(0.0);
            assert!(
                (frac - expected).abs() < 0.01,
                "limit {limit} offered {offered}: {frac} vs {expected}"
            );
        }
    }

    /// However many attempts fail, retries stay within both the per-call count and the budget.
    #[test]
    fn retries_never_exceed_the_budget() {
        for ratio in [0.0, 0.05, 0.2] {
            let e = cfg(None, 0.5, 3, Some(ratio));
            let (rpc, _, _) = drive(&e, 200.0, 100.0);
            let budget = e.retry_budget_min + ratio * rpc.started as f64;
            assert!(
                rpc.retries_sent as f64 <= budget + 1e-9,
                "ratio {ratio}: {} retries > budget {budget}",
                rpc.retries_sent
            );
            assert!(rpc.retries_sent <= 3 * rpc.started);
            if ratio > 0.0 {
                // Half the attempts fail, so the budget, not the count, is what binds.
                assert!(rpc.retries_sent as f64 > 0.9 * budget, "budget is used");
            }
        }
        // Without a budget, only the per-call count limits: 0.5 + 0.25 + 0.125 retries per call.
        let (rpc, ext, _) = drive(&cfg(None, 0.5, 3, None), 200.0, 100.0);
        let per_call = rpc.retries_sent as f64 / rpc.started as f64;
        assert!((per_call - 0.875).abs() < 0.03, "{per_call}");
        let fail = ext as f64 / rpc.started as f64;
        assert!((fail - 0.0625).abs() < 0.01, "{fail}");
    }

    #[test]
    fn failover_and_hedging_use_the_next_provider() {
        let p = |name: &str, ms: u64, failure: f64| ProviderCfg {
            name: name.into(),
            latency: Dist::constant_ns(ms * MS),
            failure,
            rate_limit: None,
            burst: None,
        };
        let mut e = cfg(None, 0.0, 1, None);
        e.latency = None;
        e.burst = None;
        // The primary always fails: every call succeeds on the backup after one retry.
        e.providers = vec![p("a", 10, 1.0), p("b", 10, 0.0)];
        let (rpc, ext, _) = drive(&e, 50.0, 20.0);
        assert_eq!(ext, 0);
        assert_eq!(rpc.retries_sent, rpc.started);
        assert_eq!(rpc.providers[1].attempts, rpc.started);
        // A slow primary with a hedge after 20 ms: the fast backup answers every call.
        e.providers = vec![p("slow", 500, 0.0), p("fast", 10, 0.0)];
        e.retries = 0;
        e.hedge_after = Some(crate::dist::Duration(20 * MS));
        let (rpc, ext, _) = drive(&e, 50.0, 20.0);
        assert_eq!(ext, 0);
        assert_eq!(rpc.hedges_sent, rpc.started);
    }
}
