//! A service centre: `c` servers first come, first served, or processor sharing over `c` cores.
//! Pod CPUs, database instances and cache nodes are all stations.

use crate::engine::{EventQueue, Nanos, TimerId};
use crate::event::{Event, ReqRef};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

#[derive(Clone, Copy)]
struct PsJob {
    finish_tag: f64,
    seq: u64,
    req: ReqRef,
}
impl PartialEq for PsJob {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for PsJob {}
impl PartialOrd for PsJob {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for PsJob {
    fn cmp(&self, o: &Self) -> Ordering {
        o.finish_tag
            .total_cmp(&self.finish_tag)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

enum Kind {
    Fcfs {
        servers: u32,
        busy: u32,
        queue: VecDeque<(ReqRef, Nanos, Nanos)>,
    },
    /// Egalitarian PS via virtual time: each job advances at min(1, cores/n), so a job's finish is
    /// fixed in virtual time at arrival and only the earliest finish needs a (cancellable) timer.
    Ps {
        cores: f64,
        vtime: f64,
        heap: BinaryHeap<PsJob>,
        seq: u64,
        timer: Option<TimerId>,
    },
}

pub struct Station {
    kind: Kind,
    last: Nanos,
    /// ∫ busy servers dt, in server-nanoseconds.
    pub busy_area: f64,
    /// ∫ jobs present dt.
    pub jobs_area: f64,
    pub served: u64,
    /// Total time jobs spent queued before service (FCFS only).
    pub wait_ns: u128,
    pub capacity: f64,
}

impl Station {
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

    pub fn ps(cores: f64) -> Self {
        Self::with(
            Kind::Ps {
                cores,
                vtime: 0.0,
                heap: BinaryHeap::new(),
                seq: 0,
                timer: None,
            },
            cores,
        )
    }

    fn with(kind: Kind, capacity: f64) -> Self {
        Station {
            kind,
            last: 0,
            busy_area: 0.0,
            jobs_area: 0.0,
            served: 0,
            wait_ns: 0,
            capacity,
        }
    }

    /// Processor sharing (else first come, first served).
    pub fn is_ps(&self) -> bool {
        matches!(self.kind, Kind::Ps { .. })
    }

    pub fn jobs(&self) -> usize {
        match &self.kind {
            Kind::Fcfs { busy, queue, .. } => *busy as usize + queue.len(),
            Kind::Ps { heap, .. } => heap.len(),
        }
    }

    pub fn busy(&self) -> f64 {
        match &self.kind {
            Kind::Fcfs { busy, .. } => *busy as f64,
            Kind::Ps { cores, heap, .. } => (heap.len() as f64).min(*cores),
        }
    }

    /// Bring the integrals (and PS virtual time) up to `now`.
    pub fn advance(&mut self, now: Nanos) {
        let dt = (now - self.last) as f64;
        if dt > 0.0 {
            self.busy_area += self.busy() * dt;
            self.jobs_area += self.jobs() as f64 * dt;
            if let Kind::Ps {
                cores, vtime, heap, ..
            } = &mut self.kind
            {
                if !heap.is_empty() {
                    *vtime += dt * (*cores / heap.len() as f64).min(1.0);
                }
            }
        }
        self.last = now;
    }

    pub fn arrive(&mut self, id: u32, req: ReqRef, work: Nanos, q: &mut EventQueue<Event>) {
        let now = q.now();
        self.advance(now);
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
            }
            Kind::Ps {
                vtime, heap, seq, ..
            } => {
                let finish_tag = *vtime + work as f64;
                heap.push(PsJob {
                    finish_tag,
                    seq: *seq,
                    req,
                });
                *seq += 1;
                self.reschedule_ps(id, q);
            }
        }
    }

    /// An FCFS job finished: start the next queued one.
    pub fn fcfs_done(&mut self, id: u32, q: &mut EventQueue<Event>) {
        let now = q.now();
        self.advance(now);
        self.served += 1;
        if let Kind::Fcfs { busy, queue, .. } = &mut self.kind {
            if let Some((req, work, since)) = queue.pop_front() {
                self.wait_ns += (now - since) as u128;
                q.schedule_in(work, Event::FcfsDone { station: id, req });
            } else {
                *busy -= 1;
            }
        }
    }

    /// The earliest PS job(s) reached their finish tag; completed requests go to `out`.
    pub fn ps_done(&mut self, id: u32, q: &mut EventQueue<Event>, out: &mut Vec<ReqRef>) {
        self.advance(q.now());
        if let Kind::Ps {
            vtime, heap, timer, ..
        } = &mut self.kind
        {
            *timer = None;
            // Half a nanosecond absorbs the rounding of the timer to whole nanoseconds.
            while heap.peek().is_some_and(|j| j.finish_tag <= *vtime + 0.5) {
                let j = heap.pop().expect("peeked");
                out.push(j.req);
                self.served += 1;
            }
            if heap.is_empty() {
                *vtime = 0.0; // keeps virtual time small, so f64 precision never erodes
            }
        }
        self.reschedule_ps(id, q);
    }

    fn reschedule_ps(&mut self, id: u32, q: &mut EventQueue<Event>) {
        if let Kind::Ps {
            cores,
            vtime,
            heap,
            timer,
            ..
        } = &mut self.kind
        {
            if let Some(t) = timer.take() {
                q.cancel(t);
            }
            if let Some(j) = heap.peek() {
                let rate = (*cores / heap.len() as f64).min(1.0);
                let dt = ((j.finish_tag - *vtime) / rate).max(0.0).ceil() as Nanos;
                *timer = Some(q.timer_in(dt, Event::PsDone { station: id }));
            }
        }
    }

    /// Jobs waiting for a server (FCFS queue length; 0 for PS, where nobody waits).
    pub fn queued(&self) -> usize {
        match &self.kind {
            Kind::Fcfs { queue, .. } => queue.len(),
            Kind::Ps { .. } => 0,
        }
    }
}
