//! A service centre: `c` servers first come, first served, or processor sharing over `c` cores,
//! optionally load-dependent. Pod CPUs, database instances, cache nodes and shared hosts are all
//! stations. The station owns "rate as a function of what is present": with n jobs present it
//! works at total speed c(n) = min(n, c) · m(n), where m(n) is the contention multiplier
//! (`config::contention`); a job alone on a server runs at speed 1.

use crate::config::contention::{ContentionCfg, CpuAccounting};
use crate::engine::{DaryHeap, EventQueue, Keyed, Nanos, TimerId};
use crate::event::{Event, ReqRef};
use std::collections::VecDeque;
use std::mem;

/// `x as f64`, through i64 below 2^63 (one instruction instead of the unsigned conversion's
/// fix-up); the same value for every `x`.
#[inline(always)]
pub(crate) fn real(x: u64) -> f64 {
    match i64::try_from(x) {
        Ok(i) => i as f64,
        Err(_) => x as f64,
    }
}

/// The contention multiplier m(n).
#[derive(Clone, Debug)]
pub enum Speed {
    Flat,
    Usl {
        sigma: f64,
        kappa: f64,
    },
    Linear {
        alpha: f64,
    },
    /// Measured (n, factor) points, first at n = 1; flat beyond the last.
    Table(Box<[(f64, f64)]>),
}

impl Speed {
    pub fn from_cfg(c: Option<&ContentionCfg>) -> Speed {
        let Some(c) = c else { return Speed::Flat };
        if let Some(u) = c.usl {
            Speed::Usl {
                sigma: u.sigma,
                kappa: u.kappa,
            }
        } else if let Some(l) = c.linear {
            Speed::Linear { alpha: l.alpha }
        } else if let Some(t) = &c.table {
            Speed::Table(t.iter().map(|p| (p[0], p[1])).collect())
        } else {
            Speed::Flat
        }
    }

    /// A table's last point (n, factor): beyond it the speed is held flat.
    pub fn table_end(&self) -> Option<(f64, f64)> {
        match self {
            Speed::Table(t) => t.last().copied(),
            _ => None,
        }
    }

    /// m(n) for n ≥ 1 jobs present.
    #[inline]
    pub fn factor(&self, n: usize) -> f64 {
        let x = n as f64;
        match self {
            Speed::Flat => 1.0,
            Speed::Usl { sigma, kappa } => 1.0 / (1.0 + sigma * (x - 1.0) + kappa * x * (x - 1.0)),
            Speed::Linear { alpha } => 1.0 / (1.0 + alpha * (x - 1.0)),
            Speed::Table(t) => {
                let i = t.partition_point(|p| p.0 <= x);
                if i == 0 {
                    t[0].1
                } else if i == t.len() {
                    t[i - 1].1
                } else {
                    let (a, b) = (t[i - 1], t[i]);
                    a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)
                }
            }
        }
    }

    /// Total speed c(n) of a station with `c` servers and n jobs present.
    #[inline(always)]
    pub fn capacity(&self, c: f64, n: usize) -> f64 {
        if n == 0 {
            0.0
        } else if let Speed::Flat = self {
            // m(n) = 1: the same value as the product below, without the call.
            real(n as u64).min(c)
        } else {
            real(n as u64).min(c) * self.factor(n)
        }
    }
}

/// A job in service, ordered by its finish tag in virtual time (earliest first), then by
/// arrival.
#[derive(Clone, Copy)]
struct VJob {
    finish_tag: f64,
    seq: u64,
    req: ReqRef,
    tenant: u32,
}

impl Keyed for VJob {
    /// (finish tag, sequence) as one integer. A tag is a sum of non-negative terms, so it is
    /// +0 or positive, where the bits of an f64 order as its value does.
    #[inline(always)]
    fn key(&self) -> u128 {
        debug_assert!(self.finish_tag >= 0.0 && self.finish_tag.is_sign_positive());
        (u128::from(self.finish_tag.to_bits()) << 64) | u128::from(self.seq)
    }
}

/// Longest sorted run [`Serving`] keeps before it becomes a heap, and the length at which it
/// goes back: the event list's `SmallQueue` idea, with twice its bounds, which measured faster
/// on the k6 plan (a pod's jobs in service outnumber a calendar day's entries).
const RUN_MAX: usize = 64;
const RUN_BACK: usize = 16;

/// The jobs in service, least key first out: a run sorted descending by key (the earliest finish
/// last, so a pop is `Vec::pop`) while a pod holds a few jobs, a 4-ary heap over the same keys
/// past [`RUN_MAX`] (an overloaded station's hundreds). Both pop the least (finish tag,
/// sequence), so which form holds them changes no result.
enum Serving {
    Run(Vec<VJob>),
    Heap(DaryHeap<VJob>),
}

impl Serving {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Serving::Run(v) => v.len(),
            Serving::Heap(h) => h.len(),
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn peek(&self) -> Option<&VJob> {
        match self {
            Serving::Run(v) => v.last(),
            Serving::Heap(h) => h.peek(),
        }
    }

    #[inline]
    fn push(&mut self, j: VJob) {
        match self {
            Serving::Run(v) if v.len() < RUN_MAX => {
                // Shift from the earliest end, one entry at a time: a pod holds a few jobs.
                let key = j.key();
                v.push(j);
                let mut i = v.len() - 1;
                while i > 0 && v[i - 1].key() < key {
                    v[i] = v[i - 1];
                    i -= 1;
                }
                v[i] = j;
            }
            Serving::Run(v) => {
                let mut h = DaryHeap::from_vec(mem::take(v));
                h.push(j);
                *self = Serving::Heap(h);
            }
            Serving::Heap(h) => h.push(j),
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<VJob> {
        match self {
            Serving::Run(v) => v.pop(),
            Serving::Heap(h) => {
                let j = h.pop_min();
                if h.len() <= RUN_BACK {
                    let mut v = mem::take(h).into_vec();
                    v.sort_unstable_by_key(|j| std::cmp::Reverse(j.key()));
                    *self = Serving::Run(v);
                }
                j
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Waiting {
    req: ReqRef,
    work: Nanos,
    since: Nanos,
    tenant: u32,
}

/// What a station (or one tenant of a shared host) measured, as time integrals.
#[derive(Clone, Copy, Debug, Default)]
pub struct Acct {
    /// ∫ CPU in use dt (core-nanoseconds): occupied servers, or useful speed (`cpu: useful`).
    pub busy_area: f64,
    /// ∫ useful speed c(n) dt.
    pub useful_area: f64,
    /// ∫ jobs present dt.
    pub jobs_area: f64,
    pub served: u64,
    /// Total time jobs spent queued before service (FCFS only).
    pub wait_ns: u128,
    /// Work completed (ns at speed 1), for the mean service demand.
    pub work_ns: u128,
}

#[derive(Clone, Copy, Default)]
struct Tenant {
    present: u32,
    acct: Acct,
}

enum Kind {
    /// Plain FCFS on `servers`, load-independent: one completion event per job, no timers.
    Fcfs {
        servers: u32,
        busy: u32,
        queue: VecDeque<(ReqRef, Nanos, Nanos)>,
    },
    /// Virtual time over the jobs in service: processor sharing (`slots` unbounded) or FCFS on
    /// `slots` servers, at per-job speed c(n) / (jobs in service). A job's work w becomes the
    /// finish tag V + w when it enters service; V advances at the per-job speed, so only the
    /// earliest tag needs a (cancellable) timer, re-armed when the earliest finish moves earlier
    /// (a later one is left armed and re-armed when it fires). Exact: no stepping.
    Vt {
        slots: u32,
        speed: Speed,
        vtime: f64,
        serving: Serving,
        waiting: VecDeque<Waiting>,
        seq: u64,
        /// The armed completion timer and when it fires.
        timer: Option<(TimerId, Nanos)>,
    },
}

pub struct Station {
    kind: Kind,
    last: Nanos,
    cpu: CpuAccounting,
    /// Totals over all tenants.
    pub acct: Acct,
    /// Per-tenant accounts on a shared host (empty on a station with one owner).
    tenants: Vec<Tenant>,
    /// Servers (FCFS) or cores (PS): c in min(n, c), the denominator of utilization.
    pub capacity: f64,
    /// A seat on a shared host: (host station, tenant). Work sent here runs on the host, and
    /// this component's measurements are the host's account for that tenant.
    pub seat: Option<(u32, u32)>,
    /// Most jobs present at once (virtual-time stations): what a `table` speed's range is
    /// checked against.
    pub peak_jobs: u32,
}

impl Station {
    /// Plain FCFS on `servers`.
    pub fn fcfs(servers: u32) -> Self {
        Self::with(
            Kind::Fcfs {
                servers,
                busy: 0,
                queue: VecDeque::new(),
            },
            servers as f64,
        )
    }

    /// Processor sharing over `cores`.
    pub fn ps(cores: f64) -> Self {
        Self::vt(u32::MAX, cores, Speed::Flat)
    }

    /// FCFS (`fcfs` true: `c` servers) or PS (`c` cores) with optional contention.
    pub fn new(fcfs: bool, c: f64, contention: Option<&ContentionCfg>) -> Self {
        let speed = Speed::from_cfg(contention);
        let mut s = match (fcfs, &speed) {
            (true, Speed::Flat) => Self::fcfs(c as u32),
            (true, _) => Self::vt(c as u32, c.floor(), speed),
            (false, _) => Self::vt(u32::MAX, c, speed),
        };
        s.cpu = contention.map(|c| c.cpu).unwrap_or_default();
        s
    }

    fn vt(slots: u32, c: f64, speed: Speed) -> Self {
        Self::with(
            Kind::Vt {
                slots,
                speed,
                vtime: 0.0,
                serving: Serving::Run(Vec::new()),
                waiting: VecDeque::new(),
                seq: 0,
                timer: None,
            },
            c,
        )
    }

    fn with(kind: Kind, capacity: f64) -> Self {
        Station {
            kind,
            last: 0,
            cpu: CpuAccounting::Busy,
            acct: Acct::default(),
            tenants: Vec::new(),
            capacity,
            seat: None,
            peak_jobs: 0,
        }
    }

    /// A component's seat on host station `host` (whose cores are `cores`) as `tenant`.
    pub fn seat(host: u32, tenant: u32, cores: f64) -> Self {
        let mut s = Self::ps(cores);
        s.seat = Some((host, tenant));
        s
    }

    /// A new tenant sharing this station (a component placed on a host); its id for `arrive`.
    /// Ids start at 1: tenant 0 stands for the whole station.
    pub fn add_tenant(&mut self) -> u32 {
        if self.tenants.is_empty() {
            self.tenants.push(Tenant::default());
        }
        self.tenants.push(Tenant::default());
        (self.tenants.len() - 1) as u32
    }

    /// One tenant's account; tenant 0 is the whole station.
    pub fn tenant_acct(&self, tenant: u32) -> Acct {
        match self.tenants.get(tenant as usize) {
            Some(t) if tenant > 0 => t.acct,
            _ => self.acct,
        }
    }

    /// Processor sharing (else first come, first served).
    /// Processor sharing: every job present is in service.
    pub fn is_ps(&self) -> bool {
        matches!(
            self.kind,
            Kind::Vt {
                slots: u32::MAX,
                ..
            }
        )
    }

    pub fn jobs(&self) -> usize {
        match &self.kind {
            Kind::Fcfs { busy, queue, .. } => *busy as usize + queue.len(),
            Kind::Vt {
                serving, waiting, ..
            } => serving.len() + waiting.len(),
        }
    }

    /// Occupied servers min(n, c) and useful speed c(n).
    fn speeds(&self) -> (f64, f64) {
        match &self.kind {
            Kind::Fcfs { busy, .. } => (*busy as f64, *busy as f64),
            Kind::Vt { speed, .. } => {
                let n = self.jobs();
                let occupied = (n as f64).min(self.capacity);
                (occupied, speed.capacity(self.capacity, n))
            }
        }
    }

    /// The contention law of a virtual-time station (`None` for plain FCFS and flat speed).
    pub fn contention(&self) -> Option<&Speed> {
        match &self.kind {
            Kind::Vt { speed, .. } if !matches!(speed, Speed::Flat) => Some(speed),
            _ => None,
        }
    }

    /// CPU in use now, as `busy_area` integrates it.
    pub fn busy(&self) -> f64 {
        let (occupied, useful) = self.speeds();
        match self.cpu {
            CpuAccounting::Busy => occupied,
            CpuAccounting::Useful => useful,
        }
    }

    /// Bring the integrals (and virtual time) up to `now`. Called at every arrival and
    /// completion, so it reads the kind once and skips what an idle station or one without
    /// tenants does not need.
    #[inline(always)]
    pub fn advance(&mut self, now: Nanos) {
        if now == self.last {
            return;
        }
        let dt = real(now - self.last);
        self.last = now;
        let (n, occupied, useful) = match &self.kind {
            Kind::Fcfs { busy, queue, .. } => {
                if *busy == 0 {
                    return; // nobody waits while a server is free
                }
                let b = *busy as f64;
                let n = *busy as usize + queue.len();
                if self.tenants.is_empty() {
                    // Plain FCFS alone on its servers (the common case, two calls per job):
                    // occupied and useful speed are both `b`, so one product serves both
                    // areas, and there is no virtual time. The same sums as below.
                    let area = b * dt;
                    self.acct.busy_area += area;
                    self.acct.useful_area += area;
                    self.acct.jobs_area += real(n as u64) * dt;
                    return;
                }
                (n, b, b)
            }
            Kind::Vt {
                speed,
                serving,
                waiting,
                ..
            } => {
                let n = serving.len() + waiting.len();
                if n == 0 {
                    return;
                }
                (
                    n,
                    real(n as u64).min(self.capacity),
                    speed.capacity(self.capacity, n),
                )
            }
        };
        let busy = match self.cpu {
            CpuAccounting::Busy => occupied,
            CpuAccounting::Useful => useful,
        };
        self.acct.busy_area += busy * dt;
        self.acct.useful_area += useful * dt;
        self.acct.jobs_area += real(n as u64) * dt;
        if !self.tenants.is_empty() {
            for t in self.tenants.iter_mut().filter(|t| t.present > 0) {
                let share = t.present as f64 / real(n as u64);
                t.acct.busy_area += busy * share * dt;
                t.acct.useful_area += useful * share * dt;
                t.acct.jobs_area += t.present as f64 * dt;
            }
        }
        if let Kind::Vt { vtime, serving, .. } = &mut self.kind {
            *vtime += dt * useful / real(serving.len() as u64);
        }
    }

    pub fn arrive(
        &mut self,
        id: u32,
        req: ReqRef,
        work: Nanos,
        tenant: u32,
        q: &mut EventQueue<Event>,
    ) {
        let now = q.now();
        self.advance(now);
        if let Some(t) = self.tenants.get_mut(tenant as usize) {
            t.present += 1;
        }
        match &mut self.kind {
            Kind::Fcfs {
                servers,
                busy,
                queue,
            } => {
                if *busy < *servers {
                    *busy += 1;
                    q.schedule_in(work, Event::FcfsDone { station: id, req });
                } else {
                    queue.push_back((req, work, now));
                }
                self.acct.work_ns += work as u128;
            }
            Kind::Vt {
                slots,
                vtime,
                serving,
                waiting,
                seq,
                ..
            } => {
                if (serving.len() as u32) < *slots {
                    serving.push(VJob {
                        finish_tag: *vtime + real(work),
                        seq: *seq,
                        req,
                        tenant,
                    });
                    *seq += 1;
                } else {
                    waiting.push_back(Waiting {
                        req,
                        work,
                        since: now,
                        tenant,
                    });
                }
                self.acct.work_ns += work as u128;
                if let Some(t) = self.tenants.get_mut(tenant as usize) {
                    t.acct.work_ns += work as u128;
                }
                self.peak_jobs = self.peak_jobs.max((serving.len() + waiting.len()) as u32);
                self.reschedule(id, q);
            }
        }
    }

    /// A plain FCFS job finished: start the next queued one.
    pub fn fcfs_done(&mut self, id: u32, q: &mut EventQueue<Event>) {
        let now = q.now();
        self.advance(now);
        self.acct.served += 1;
        if let Kind::Fcfs { busy, queue, .. } = &mut self.kind {
            if let Some((req, work, since)) = queue.pop_front() {
                self.acct.wait_ns += (now - since) as u128;
                q.schedule_in(work, Event::FcfsDone { station: id, req });
            } else {
                *busy -= 1;
            }
        }
    }

    /// The earliest job(s) in service reached their finish tag; completed requests go to `out`.
    pub fn ps_done(&mut self, id: u32, q: &mut EventQueue<Event>, out: &mut Vec<ReqRef>) {
        let now = q.now();
        self.advance(now);
        let Kind::Vt {
            slots,
            vtime,
            serving,
            waiting,
            seq,
            timer,
            ..
        } = &mut self.kind
        else {
            return;
        };
        *timer = None;
        // Half a nanosecond absorbs the rounding of the timer to whole nanoseconds.
        while serving.peek().is_some_and(|j| j.finish_tag <= *vtime + 0.5) {
            let j = serving.pop().expect("peeked");
            out.push(j.req);
            self.acct.served += 1;
            if let Some(t) = self.tenants.get_mut(j.tenant as usize) {
                t.present = t.present.saturating_sub(1);
                t.acct.served += 1;
            }
        }
        while (serving.len() as u32) < *slots {
            let Some(w) = waiting.pop_front() else { break };
            let waited = (now - w.since) as u128;
            self.acct.wait_ns += waited;
            if let Some(t) = self.tenants.get_mut(w.tenant as usize) {
                t.acct.wait_ns += waited;
            }
            serving.push(VJob {
                finish_tag: *vtime + real(w.work),
                seq: *seq,
                req: w.req,
                tenant: w.tenant,
            });
            *seq += 1;
        }
        if serving.is_empty() {
            *vtime = 0.0; // keeps virtual time small, so f64 precision never erodes
        }
        self.reschedule(id, q);
    }

    /// Arm the one timer for the earliest finish tag at the current speed (re-arming only when
    /// the finish moved earlier than the armed time).
    fn reschedule(&mut self, id: u32, q: &mut EventQueue<Event>) {
        let n = self.jobs();
        let c = self.capacity;
        if let Kind::Vt {
            speed,
            vtime,
            serving,
            timer,
            ..
        } = &mut self.kind
        {
            let Some(j) = serving.peek() else {
                if let Some((t, _)) = timer.take() {
                    q.cancel(t);
                }
                return;
            };
            let per_job = speed.capacity(c, n) / real(serving.len() as u64);
            // A station slowed to a crawl still finishes, in at most ~146 years.
            let dt = ((j.finish_tag - *vtime) / per_job)
                .clamp(0.0, 4.6e18)
                .ceil() as Nanos;
            let at = q.now().saturating_add(dt);
            match *timer {
                // The armed timer fires no later than the new earliest finish: keep it. If it
                // fires early, `ps_done` finishes nobody and re-arms. An arrival at a busy
                // station then costs no queue operation instead of a cancel and a push.
                Some((_, armed)) if armed <= at => {}
                _ => {
                    if let Some((t, _)) = timer.take() {
                        q.cancel(t);
                    }
                    *timer = Some((q.timer_at(at, Event::PsDone { station: id }), at));
                }
            }
        }
    }

    /// Jobs waiting for a server (0 for PS, where nobody waits).
    pub fn queued(&self) -> usize {
        match &self.kind {
            Kind::Fcfs { queue, .. } => queue.len(),
            Kind::Vt { waiting, .. } => waiting.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_is_the_plain_conversion() {
        for x in [
            0,
            1,
            3,
            1 << 52,
            (1 << 53) + 1,
            i64::MAX as u64,
            1 << 63,
            u64::MAX,
        ] {
            assert_eq!(real(x).to_bits(), (x as f64).to_bits(), "{x}");
        }
    }

    /// `Serving` pops what a linear scan for the least (finish tag by value, then sequence)
    /// pops, through its run and heap forms (bursts past `RUN_MAX`, drains below `RUN_BACK`),
    /// with equal finish tags (broken by sequence), zero and fractional tags.
    #[test]
    fn serving_pops_the_least_finish_tag_then_sequence() {
        use crate::engine::stream;
        use rand::Rng;
        let mut rng = stream(7, 0, "serving");
        let (mut s, mut reference) = (Serving::Run(Vec::new()), Vec::<VJob>::new());
        let least = |r: &Vec<VJob>| {
            (0..r.len()).min_by(|&a, &b| {
                r[a].finish_tag
                    .partial_cmp(&r[b].finish_tag)
                    .unwrap()
                    .then(r[a].seq.cmp(&r[b].seq))
            })
        };
        let mut seq = 0;
        let mut was_heap = false;
        for _ in 0..20_000 {
            let burst = rng.gen_range(0..3) == 0;
            let pushes = if burst { rng.gen_range(0..80) } else { 1 };
            for _ in 0..pushes {
                let tag = match rng.gen_range(0..3) {
                    0 => f64::from(rng.gen_range(0..50u32)),
                    1 => rng.gen::<f64>() * 1e9,
                    _ => 0.0,
                };
                let j = VJob {
                    finish_tag: tag,
                    seq,
                    req: ReqRef {
                        idx: seq as u32,
                        gen: 0,
                    },
                    tenant: 0,
                };
                seq += 1;
                s.push(j);
                reference.push(j);
            }
            was_heap |= matches!(s, Serving::Heap(_));
            for _ in 0..rng.gen_range(0..60) {
                let want = least(&reference).map(|i| reference.swap_remove(i).seq);
                assert_eq!(s.peek().map(|j| j.seq), want);
                assert_eq!(s.pop().map(|j| j.seq), want);
                assert_eq!(s.len(), reference.len());
            }
        }
        assert!(was_heap, "the burst sizes never reached the heap form");
    }

    #[test]
    fn usl_factor_matches_the_reference_capacities() {
        // calibration.md §1: USL(0.1, 0.01) C(n) = 1, 25/14, 50/21, 200/71, 25/8, 10/3, ...
        let s = Speed::Usl {
            sigma: 0.1,
            kappa: 0.01,
        };
        let want = [
            1.0,
            25.0 / 14.0,
            50.0 / 21.0,
            200.0 / 71.0,
            25.0 / 8.0,
            10.0 / 3.0,
            350.0 / 101.0,
            400.0 / 113.0,
            25.0 / 7.0,
            25.0 / 7.0,
        ];
        for (i, w) in want.iter().enumerate() {
            let n = i + 1;
            assert!((s.capacity(1e9, n) - w).abs() < 1e-12, "n={n}");
        }
        assert!((s.capacity(1e9, 20) - 200.0 / 67.0).abs() < 1e-12);
    }

    #[test]
    fn table_interpolates_and_holds_flat() {
        let s = Speed::Table(vec![(1.0, 1.0), (3.0, 0.5)].into());
        assert_eq!(s.factor(1), 1.0);
        assert!((s.factor(2) - 0.75).abs() < 1e-15);
        assert_eq!(s.factor(3), 0.5);
        assert_eq!(s.factor(50), 0.5);
        // One server: the table is c(n) itself.
        assert!((s.capacity(1.0, 2) - 0.75).abs() < 1e-15);
    }

    #[test]
    fn linear_is_inflated_demand() {
        let s = Speed::Linear { alpha: 0.1 };
        // c(n) = min(n,2)/(1+0.1(n-1)) (calibration.md §2.1 case C).
        assert!((s.capacity(2.0, 3) - 2.0 / 1.2).abs() < 1e-15);
        assert!((s.capacity(2.0, 1) - 1.0).abs() < 1e-15);
    }
}
