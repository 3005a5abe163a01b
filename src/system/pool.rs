//! A per-pod database connection pool (node-postgres semantics): connections open lazily up to
//! `max`, counted against the database's `max_connections`; a request that finds none free
//! waits in FIFO order and fails after the acquire timeout.

use crate::engine::{EventQueue, Nanos};
use crate::event::{Event, ReqRef};
use std::collections::VecDeque;

pub enum Acquire {
    Granted,
    Queued,
    /// Opening one more connection would exceed the database's `max_connections`.
    Refused,
}

pub struct Pool {
    pub db: u32,
    pub max: u32,
    pub open: u32,
    pub in_use: u32,
    timeout: Nanos,
    /// Deadlines are enqueue time + a constant, so FIFO order is also deadline order:
    /// one timer for the head replaces a timer per waiter.
    waiters: VecDeque<(Nanos, ReqRef)>,
    armed: bool,
    pub acquire_timeouts: u64,
}

impl Pool {
    pub fn new(db: u32, max: u32, timeout: Nanos) -> Self {
        Pool {
            db,
            max,
            open: 0,
            in_use: 0,
            timeout,
            waiters: VecDeque::new(),
            armed: false,
            acquire_timeouts: 0,
        }
    }

    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// `db_open` is the database's total open connections, shared by every pool.
    pub fn acquire(
        &mut self,
        id: u32,
        req: ReqRef,
        db_open: &mut u32,
        db_max: u32,
        q: &mut EventQueue<Event>,
    ) -> Acquire {
        if self.in_use < self.open {
            self.in_use += 1;
            return Acquire::Granted;
        }
        if self.open < self.max {
            if *db_open >= db_max {
                return Acquire::Refused;
            }
            *db_open += 1;
            self.open += 1;
            self.in_use += 1;
            return Acquire::Granted;
        }
        let deadline = q.now() + self.timeout;
        self.waiters.push_back((deadline, req));
        if !self.armed {
            self.armed = true;
            q.schedule_at(deadline, Event::PoolTimeouts { pool: id });
        }
        Acquire::Queued
    }

    /// Pre-open `n` idle connections (pool `min`), as far as the database allows.
    pub fn warm(&mut self, n: u32, db_open: &mut u32, db_max: u32) {
        while self.open < n.min(self.max) && *db_open < db_max {
            self.open += 1;
            *db_open += 1;
        }
    }

    /// Return a connection; the oldest waiter, if any, takes it over.
    pub fn release(&mut self) -> Option<ReqRef> {
        match self.waiters.pop_front() {
            Some((_, r)) => Some(r),
            None => {
                self.in_use -= 1;
                None
            }
        }
    }

    /// Waiters whose acquire timeout has passed go to `out`; re-arm for the new head.
    pub fn expire(&mut self, id: u32, q: &mut EventQueue<Event>, out: &mut Vec<ReqRef>) {
        let now = q.now();
        self.armed = false;
        while let Some(&(deadline, r)) = self.waiters.front() {
            if deadline > now {
                break;
            }
            self.waiters.pop_front();
            self.acquire_timeouts += 1;
            out.push(r);
        }
        if let Some(&(deadline, _)) = self.waiters.front() {
            self.armed = true;
            q.schedule_at(deadline, Event::PoolTimeouts { pool: id });
        }
    }
}
