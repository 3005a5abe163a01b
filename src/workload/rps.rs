//! k6's `rps` option: one token bucket of burst 1 (`rate.NewLimiter(rps, 1)`, k6
//! `internal/js/runner.go` SetOptions) shared by every VU. Each request waits on it after it
//! is prepared and before it is sent (k6 `lib/netext/httpext/request.go`), so the wait
//! lengthens the iteration but not `http_req_duration`. It caps the rate; it never adds load.

use crate::engine::Nanos;

pub struct RpsLimiter {
    /// ns between tokens.
    interval: f64,
    /// When the next token is free (Go's limiter with burst 1, as a theoretical arrival time:
    /// a full bucket is a `next` in the past).
    next: f64,
}

impl RpsLimiter {
    /// None for 0 (k6: no limit unless `rps > 0`).
    pub fn new(rps: u64) -> Option<Self> {
        (rps > 0).then(|| RpsLimiter {
            interval: 1e9 / rps as f64,
            next: 0.0,
        })
    }

    /// Reserve a token for a request ready at `now`: when it may be sent.
    pub fn reserve(&mut self, now: Nanos) -> Nanos {
        let at = self.next.max(now as f64);
        self.next = at + self.interval;
        at.ceil() as Nanos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SEC;

    /// Go's `rate.Limiter` with burst 1 starts full: the first request goes at once, a burst
    /// is spaced 1/rps apart, and an idle spell banks at most one token.
    #[test]
    fn a_burst_is_spaced_and_idle_time_banks_one_token() {
        assert!(RpsLimiter::new(0).is_none());
        let mut l = RpsLimiter::new(4).unwrap();
        let at: Vec<Nanos> = (0..4).map(|_| l.reserve(0)).collect();
        assert_eq!(at, [0, SEC / 4, SEC / 2, 3 * SEC / 4]);
        // Idle until 10 s: one token only.
        assert_eq!(l.reserve(10 * SEC), 10 * SEC);
        assert_eq!(l.reserve(10 * SEC), 10 * SEC + SEC / 4);
        // A request ready after its token is free is not held.
        assert_eq!(l.reserve(11 * SEC), 11 * SEC);
    }
}
