//! An asynchronous job queue (Bull semantics): endpoints enqueue and answer at once; worker
//! processes (the pods of a service) each run up to `concurrency` jobs; a failed job is queued
//! again after a backoff up to `retries` times, then dead-lettered. Jobs are never dropped: every
//! job is waiting, running, backing off, completed or dead.

use crate::config::model::QueueCfg;
use crate::dist::Dist;
use crate::engine::{Nanos, Rng64};
use std::collections::VecDeque;

#[derive(Clone, Copy)]
struct Job {
    user: u32,
    created: Nanos,
    queued_at: Nanos,
    attempts: u32,
}

/// What happens to a job after an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    Completed,
    /// Queue it again after this delay.
    Retry(Nanos),
    Dead,
}

pub struct JobQueue {
    pub name: String,
    pub service: u32,
    pub endpoint: u32,
    pub concurrency: u32,
    retries: u32,
    backoff: Option<Dist>,
    rng: Rng64,
    jobs: Vec<Job>,
    free: Vec<u32>,
    /// Waiting jobs in FIFO order, each with its push sequence number.
    waiting: VecDeque<(u32, u64)>,
    /// Sliding-window minimum of `created` over `waiting` (increasing from the front), so the
    /// oldest job is known in O(1) even though retries re-enter at the back.
    oldest: VecDeque<(Nanos, u64)>,
    pushes: u64,
    pub running: u32,
    pub backing_off: u32,
    pub enqueued: u64,
    pub started: u64,
    pub completed: u64,
    pub failed_attempts: u64,
    pub retried: u64,
    pub dead: u64,
    /// ∫ waiting jobs dt, and the summed wait of every dequeued job, for Little's law.
    pub len_area: f64,
    /// ∫ running jobs dt (worker-slot occupancy).
    pub running_area: f64,
    len_last: Nanos,
    pub wait_ns: u128,
    pub max_len: usize,
    /// Summed time from first enqueue to completion.
    pub sojourn_ns: u128,
}

impl JobQueue {
    pub fn new(name: &str, q: &QueueCfg, service: u32, endpoint: u32, rng: Rng64) -> Self {
        JobQueue {
            name: name.to_string(),
            service,
            endpoint,
            concurrency: q.concurrency,
            retries: q.retries,
            backoff: q.backoff.clone(),
            rng,
            jobs: Vec::new(),
            free: Vec::new(),
            waiting: VecDeque::new(),
            oldest: VecDeque::new(),
            pushes: 0,
            running: 0,
            backing_off: 0,
            enqueued: 0,
            started: 0,
            completed: 0,
            failed_attempts: 0,
            retried: 0,
            dead: 0,
            len_area: 0.0,
            running_area: 0.0,
            len_last: 0,
            wait_ns: 0,
            max_len: 0,
            sojourn_ns: 0,
        }
    }

    fn integrate(&mut self, now: Nanos) {
        let dt = (now - self.len_last) as f64;
        self.len_area += self.waiting.len() as f64 * dt;
        self.running_area += self.running as f64 * dt;
        self.len_last = now;
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Jobs not yet finished one way or the other.
    pub fn outstanding(&self) -> u64 {
        self.waiting.len() as u64 + self.running as u64 + self.backing_off as u64
    }

    pub fn user(&self, job: u32) -> u32 {
        self.jobs[job as usize].user
    }

    pub fn enqueue(&mut self, user: u32, now: Nanos) -> u32 {
        let j = Job {
            user,
            created: now,
            queued_at: now,
            attempts: 0,
        };
        let id = match self.free.pop() {
            Some(i) => {
                self.jobs[i as usize] = j;
                i
            }
            None => {
                self.jobs.push(j);
                (self.jobs.len() - 1) as u32
            }
        };
        self.enqueued += 1;
        self.push(id, now);
        id
    }

    fn push(&mut self, job: u32, now: Nanos) {
        self.integrate(now);
        let j = &mut self.jobs[job as usize];
        j.queued_at = now;
        let created = j.created;
        let seq = self.pushes;
        self.pushes += 1;
        self.waiting.push_back((job, seq));
        while self.oldest.back().is_some_and(|&(c, _)| c >= created) {
            self.oldest.pop_back();
        }
        self.oldest.push_back((created, seq));
        self.max_len = self.max_len.max(self.waiting.len());
    }

    /// A retried job's backoff ended.
    pub fn requeue(&mut self, job: u32, now: Nanos) {
        self.backing_off -= 1;
        self.push(job, now);
    }

    /// The next job for a free worker slot.
    pub fn take(&mut self, now: Nanos) -> Option<u32> {
        self.integrate(now);
        let (job, seq) = self.waiting.pop_front()?;
        if self.oldest.front().is_some_and(|&(_, s)| s == seq) {
            self.oldest.pop_front();
        }
        let j = &mut self.jobs[job as usize];
        j.attempts += 1;
        self.wait_ns += (now - j.queued_at) as u128;
        self.running += 1;
        self.started += 1;
        Some(job)
    }

    pub fn finished(&mut self, job: u32, ok: bool, now: Nanos) -> After {
        self.integrate(now);
        self.running -= 1;
        let j = self.jobs[job as usize];
        let after = if ok {
            self.completed += 1;
            self.sojourn_ns += (now - j.created) as u128;
            After::Completed
        } else {
            self.failed_attempts += 1;
            if j.attempts <= self.retries {
                self.retried += 1;
                self.backing_off += 1;
                let wait = self
                    .backoff
                    .as_ref()
                    .map(|d| d.sample_ns(&mut self.rng))
                    .unwrap_or(0);
                return After::Retry(wait);
            }
            self.dead += 1;
            After::Dead
        };
        self.free.push(job);
        after
    }

    /// Age of the oldest waiting job, since it was first enqueued.
    pub fn oldest_age(&self, now: Nanos) -> Nanos {
        self.oldest.front().map(|&(c, _)| now - c).unwrap_or(0)
    }

    /// Bring the queue-length integral up to `now` (before reading `len_area`).
    pub fn advance(&mut self, now: Nanos) {
        self.integrate(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{stream, SEC};
    use rand::Rng;

    fn queue(retries: u32) -> JobQueue {
        let cfg = QueueCfg {
            service: "w".into(),
            endpoint: "e".into(),
            concurrency: 1,
            retries,
            backoff: Some(Dist::constant_ns(SEC)),
        };
        JobQueue::new("q", &cfg, 0, 0, stream(1, 0, "queue:q"))
    }

    #[test]
    fn a_failing_job_is_retried_at_most_n_times_then_dead() {
        let mut q = queue(3);
        let j = q.enqueue(7, 0);
        let mut attempts = 0;
        let mut now = 0;
        loop {
            let got = q.take(now).expect("waiting");
            assert_eq!(got, j);
            attempts += 1;
            match q.finished(got, false, now) {
                After::Retry(w) => {
                    now += w;
                    q.requeue(got, now);
                }
                After::Dead => break,
                After::Completed => unreachable!(),
            }
        }
        assert_eq!(attempts, 4, "one attempt and 3 retries");
        assert_eq!((q.retried, q.dead, q.outstanding()), (3, 1, 0));
    }

    #[test]
    fn oldest_age_counts_a_retried_job_from_its_first_enqueue() {
        let mut q = queue(1);
        let a = q.enqueue(1, 0);
        q.enqueue(2, 5 * SEC);
        assert_eq!(q.oldest_age(6 * SEC), 6 * SEC);
        let got = q.take(6 * SEC).unwrap();
        assert_eq!(got, a);
        assert_eq!(q.oldest_age(6 * SEC), SEC, "the second job");
        assert!(matches!(q.finished(a, false, 6 * SEC), After::Retry(_)));
        q.requeue(a, 7 * SEC);
        q.enqueue(3, 8 * SEC);
        // `a` sits behind job 2 but was created first.
        assert_eq!(q.oldest_age(10 * SEC), 10 * SEC);
        q.take(10 * SEC);
        assert_eq!(q.oldest_age(10 * SEC), 10 * SEC);
        q.take(10 * SEC);
        assert_eq!(q.oldest_age(10 * SEC), 2 * SEC);
    }

    #[test]
    fn jobs_are_conserved_under_random_failures() {
        let mut q = queue(2);
        let mut rng = stream(5, 0, "t");
        let mut retry: Vec<(Nanos, u32)> = Vec::new();
        for step in 0..10_000u64 {
            let now = step * 1000;
            if rng.gen_bool(0.5) {
                q.enqueue(1, now);
            }
            retry.retain(|&(t, j)| {
                if t <= now {
                    q.requeue(j, now);
                    false
                } else {
                    true
                }
            });
            if let Some(j) = q.take(now) {
                if let After::Retry(w) = q.finished(j, rng.gen_bool(0.7), now) {
                    retry.push((now + w / 1_000_000, j));
                }
            }
            assert_eq!(q.enqueued, q.completed + q.dead + q.outstanding());
        }
    }
}
