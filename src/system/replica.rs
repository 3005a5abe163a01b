//! Read replicas: routing by query kind, replication lag, and read-your-writes. Writes go to the
//! primary; a write becomes visible on the replicas after a lag drawn per write. A read by the
//! same user before that moment goes to the primary when read-your-writes is on, and is a stale
//! read on a replica when it is off.

use crate::dist::Dist;
use crate::engine::{Nanos, Rng64};

/// Which side of the database a query runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Primary,
    Replicas,
}

pub struct Replication {
    replicas: u32,
    lag: Option<Dist>,
    read_your_writes: bool,
    /// Per user: when their last write becomes visible on the replicas.
    visible_at: Vec<Nanos>,
    rr: u32,
    /// When the last write committed so far becomes visible on the replicas.
    catch_up_at: Nanos,
    pub reads_primary: u64,
    pub reads_replica: u64,
    /// Reads sent to the primary because the user's write had not replicated yet.
    pub ryw_routed: u64,
    /// Reads served by a replica that had not yet applied the user's last write.
    pub stale_reads: u64,
}

pub const NO_USER: u32 = u32::MAX;

impl Replication {
    pub fn new(replicas: u32, lag: Option<Dist>, read_your_writes: bool) -> Self {
        Replication {
            replicas,
            lag,
            read_your_writes,
            visible_at: Vec::new(),
            rr: 0,
            catch_up_at: 0,
            reads_primary: 0,
            reads_replica: 0,
            ryw_routed: 0,
            stale_reads: 0,
        }
    }

    /// Record a committed write by `user` at `now`.
    pub fn on_write(&mut self, user: u32, now: Nanos, rng: &mut Rng64) {
        if self.replicas == 0 || user == NO_USER {
            return;
        }
        let lag = self.lag.as_ref().map(|d| d.sample_ns(rng)).unwrap_or(0);
        let u = user as usize;
        if u >= self.visible_at.len() {
            // Grows to the number of users once; no per-event allocation after that.
            self.visible_at.resize(u + 1, 0);
        }
        self.visible_at[u] = self.visible_at[u].max(now + lag);
        self.catch_up_at = self.catch_up_at.max(now + lag);
    }

    /// When the replicas will have applied every write recorded so far (the replica-lag gauge).
    pub fn catch_up_at(&self) -> Nanos {
        self.catch_up_at
    }

    /// Where a read by `user` at `now` runs.
    pub fn route_read(&mut self, user: u32, now: Nanos) -> Side {
        if self.replicas == 0 {
            self.reads_primary += 1;
            return Side::Primary;
        }
        let pending =
            user != NO_USER && self.visible_at.get(user as usize).is_some_and(|&t| now < t);
        if pending && self.read_your_writes {
            self.ryw_routed += 1;
            self.reads_primary += 1;
            return Side::Primary;
        }
        if pending {
            self.stale_reads += 1;
        }
        self.reads_replica += 1;
        Side::Replicas
    }

    /// The replica the next replica query runs on (round-robin).
    /// Replicas added or removed while running.
    pub fn set_replicas(&mut self, n: u32) {
        self.replicas = n;
        self.rr %= n.max(1);
    }

    pub fn next_replica(&mut self) -> u32 {
        self.rr = (self.rr + 1) % self.replicas.max(1);
        self.rr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{stream, MS};

    #[test]
    fn reads_within_the_lag_follow_the_read_your_writes_setting() {
        let mut rng = stream(1, 0, "t");
        for ryw in [true, false] {
            let mut r = Replication::new(3, Some(Dist::constant_ns(100 * MS)), ryw);
            r.on_write(7, 1000 * MS, &mut rng);
            // Same user, inside the lag.
            let inside = r.route_read(7, 1050 * MS);
            // Another user, inside the lag: never affected.
            assert_eq!(r.route_read(8, 1050 * MS), Side::Replicas);
            // Same user, after the lag.
            assert_eq!(r.route_read(7, 1100 * MS), Side::Replicas);
            if ryw {
                assert_eq!(inside, Side::Primary);
                assert_eq!((r.ryw_routed, r.stale_reads), (1, 0));
            } else {
                assert_eq!(inside, Side::Replicas);
                assert_eq!((r.ryw_routed, r.stale_reads), (0, 1));
            }
        }
    }

    #[test]
    fn without_replicas_everything_reads_the_primary() {
        let mut r = Replication::new(0, None, false);
        assert_eq!(r.route_read(1, 0), Side::Primary);
        assert_eq!(r.route_read(NO_USER, 0), Side::Primary);
    }
}
