//! A calendar queue (Brown 1988) with a sorted run for the current day, for thousands of pending
//! events.
//!
//! Time is cut into days of 2^`shift` ns. Entries of the current day (or earlier) sit in a
//! [`SmallQueue`] (a sorted run, a heap if a day overflows it) ordered by the full (time,
//! sequence) key; entries of the next `N - 1` days sit unsorted in a ring of day slots; later
//! ones wait in an overflow heap. A push is one append; a day's entries move once, into the run
//! (one sort), when the clock reaches that day. Unlike the radix heap, an entry moves a constant
//! number of times whatever its delay, so the cost per event does not grow with how far ahead
//! events are scheduled. Day width and ring size are re-tuned from what the queue observes
//! (entries per day, overflow share), which changes no order: every structure
//! orders by the same keys.

use super::fel::{DaryHeap, Node, SmallQueue};
use super::time::Nanos;

/// Entries a day should hold on average: enough to amortise finding the next day, few enough
/// that the day's run stays short.
const PER_DAY: u64 = 16;
/// Re-tune when a window's mean entries per day leaves [PER_DAY / 2, PER_DAY * 2]: days of up to
/// 64 entries (the old bound) overflow the day's sorted run into a heap; this bound measured 7 %
/// faster on HamBaller 10x than [PER_DAY / 4, PER_DAY * 4].
const RETUNE_EVERY: u32 = 1024;
const MIN_DAYS: usize = 64;
const MAX_DAYS: usize = 1 << 16;

pub struct Calendar<P = u32> {
    /// Entries with day ≤ `cur`, in key order.
    near: SmallQueue<P>,
    /// Day `d` with `cur < d < cur + days.len()` lives in slot `d & mask`, unsorted.
    days: Vec<Vec<Node<P>>>,
    /// Bit `s` set: slot `s` is not empty.
    occupied: Vec<u64>,
    /// Entries with day ≥ `cur + days.len()`.
    far: DaryHeap<Node<P>>,
    shift: u32,
    mask: u64,
    cur: u64,
    len: usize,
    // Observations since the last tuning.
    advances: u32,
    moved: u64,
    pushes: u64,
    far_pushes: u64,
}

impl<P: Copy> Calendar<P> {
    /// A calendar holding `nodes`, tuned to their spread after the clock `now`.
    pub fn from_nodes(nodes: Vec<Node<P>>, now: Nanos) -> Self {
        let (shift, n_days) = tune(&nodes, now);
        Self::with_days(nodes, now, shift, n_days)
    }

    fn with_days(nodes: Vec<Node<P>>, now: Nanos, shift: u32, n_days: usize) -> Self {
        let mut c = Calendar {
            near: SmallQueue::with_capacity(4 * PER_DAY as usize),
            days: (0..n_days).map(|_| Vec::new()).collect(),
            occupied: vec![0; n_days.div_ceil(64)],
            far: DaryHeap::default(),
            shift,
            mask: n_days as u64 - 1,
            cur: now >> shift,
            len: 0,
            advances: 0,
            moved: 0,
            pushes: 0,
            far_pushes: 0,
        };
        for n in nodes {
            c.push(n);
        }
        c
    }

    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn horizon(&self) -> u64 {
        self.cur.saturating_add(self.mask + 1)
    }

    #[inline(always)]
    pub fn push(&mut self, node: Node<P>) {
        let day = node.time >> self.shift;
        self.len += 1;
        self.pushes += 1;
        if day <= self.cur {
            self.moved += 1;
            self.near.push(node);
        } else if day < self.horizon() {
            let s = (day & self.mask) as usize;
            self.days[s].push(node);
            self.occupied[s / 64] |= 1 << (s % 64);
        } else {
            self.far_pushes += 1;
            self.far.push(node);
        }
    }

    #[inline]
    pub fn pop_min(&mut self) -> Option<Node<P>> {
        if self.near.len() == 0 && !self.advance() {
            return None;
        }
        self.len -= 1;
        self.near.pop_min()
    }

    /// The `k`-th entry to come within the current day (0: the next), if the day holds it.
    #[inline(always)]
    pub fn upcoming(&self, k: usize) -> Option<&Node<P>> {
        self.near.upcoming(k)
    }

    /// The next non-empty slot after the current day's, as a day number.
    #[inline]
    fn next_day(&self) -> Option<u64> {
        let n = self.days.len();
        let start = ((self.cur + 1) & self.mask) as usize;
        let words = self.occupied.len();
        // Scan words circularly from the start slot's word; the first word is masked below
        // `start`, and revisited unmasked at the end for the slots before `start`.
        let mut w = start / 64;
        let mut bits = self.occupied[w] & (!0u64 << (start % 64));
        for _ in 0..=words {
            if bits != 0 {
                let s = w * 64 + bits.trailing_zeros() as usize;
                let ahead = (s as u64).wrapping_sub(self.cur) & self.mask;
                debug_assert!(s < n && ahead != 0);
                return Some(self.cur + ahead);
            }
            w = (w + 1) % words;
            bits = self.occupied[w];
        }
        None
    }

    /// The current day is exhausted: move to the next day holding entries, bring its entries
    /// into the heap, and the overflow's entries that now fall inside the ring into the ring.
    fn advance(&mut self) -> bool {
        let next = match self.next_day() {
            Some(d) => d,
            None => match self.far.peek_time() {
                Some(t) => t >> self.shift,
                None => return false,
            },
        };
        self.cur = next;
        let s = (next & self.mask) as usize;
        if self.occupied[s / 64] & (1 << (s % 64)) != 0 {
            self.occupied[s / 64] &= !(1 << (s % 64));
            let mut day = std::mem::take(&mut self.days[s]);
            self.moved += day.len() as u64;
            self.near.append(&mut day);
            // Keep the slot's capacity for the next day that lands on it.
            self.days[s] = day;
        }
        let horizon = self.horizon();
        while let Some(t) = self.far.peek_time() {
            let day = t >> self.shift;
            if day >= horizon {
                break;
            }
            let n = self.far.pop_min().expect("peeked");
            if day <= self.cur {
                self.near.push(n);
            } else {
                let s = (day & self.mask) as usize;
                self.days[s].push(n);
                self.occupied[s / 64] |= 1 << (s % 64);
            }
        }
        self.advances += 1;
        if self.advances >= RETUNE_EVERY {
            self.retune();
        }
        true
    }

    /// Rebuild when the last window's days held too many or too few entries (scale the day
    /// width by the miss, keeping the ring's reach), or too much went to the overflow (reach
    /// twice as far).
    #[cold]
    fn retune(&mut self) {
        let per_day = self.moved / u64::from(self.advances);
        let too_far = self.far_pushes * 8 > self.pushes;
        self.advances = 0;
        self.moved = 0;
        self.pushes = 0;
        self.far_pushes = 0;
        let fits = (PER_DAY / 2..=PER_DAY * 2).contains(&per_day);
        if fits && !too_far {
            return;
        }
        // log2(PER_DAY / per_day), rounded: positive widens days.
        let wider = if fits {
            0
        } else {
            ((PER_DAY as f64 / per_day.max(1) as f64).log2().round() as i32).clamp(-16, 16)
        };
        let (min_log2, max_log2) = (
            MIN_DAYS.trailing_zeros() as i32,
            MAX_DAYS.trailing_zeros() as i32,
        );
        let reach_log2 =
            (self.mask + 1).trailing_zeros() as i32 + self.shift as i32 + i32::from(too_far);
        // A ring already at its largest reaches further with wider days.
        let shift = (self.shift as i32 + wider)
            .max(reach_log2 - max_log2)
            .clamp(0, 48);
        let days_log2 = (reach_log2 - shift).clamp(min_log2, max_log2);
        let shift = shift as u32;
        let now = self.cur << self.shift;
        let mut all = Vec::with_capacity(self.len);
        self.drain_into(&mut all);
        *self = Self::with_days(all, now, shift, 1 << days_log2);
    }

    fn drain_into(&mut self, all: &mut Vec<Node<P>>) {
        while let Some(n) = self.near.pop_min() {
            all.push(n);
        }
        for d in &mut self.days {
            all.append(d);
        }
        while let Some(n) = self.far.pop_min() {
            all.push(n);
        }
    }

    /// The least time present.
    pub fn peek_time(&self) -> Option<Nanos> {
        if let Some(t) = self.near.peek_time() {
            return Some(t);
        }
        if let Some(d) = self.next_day() {
            let s = (d & self.mask) as usize;
            return self.days[s].iter().map(|n| n.time).min();
        }
        self.far.peek_time()
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Node<P>) -> bool) {
        self.near.retain(&mut keep);
        self.far.retain(&mut keep);
        self.len = self.near.len() + self.far.len();
        for (s, d) in self.days.iter_mut().enumerate() {
            d.retain(&mut keep);
            self.len += d.len();
            if d.is_empty() {
                self.occupied[s / 64] &= !(1 << (s % 64));
            }
        }
    }
}

/// Day width (as a shift) and ring size for `nodes` after `now`: days of about [`PER_DAY`]
/// entries at the density of the nearer half of them, and a ring reaching past the 90th
/// percentile of their delays, twice over.
fn tune<P>(nodes: &[Node<P>], now: Nanos) -> (u32, usize) {
    if nodes.len() < 2 {
        return (20, MIN_DAYS);
    }
    let mut ahead: Vec<u64> = nodes.iter().map(|n| n.time.saturating_sub(now)).collect();
    let n = ahead.len();
    let p50 = *ahead.select_nth_unstable(n / 2).1;
    let p90 = *ahead.select_nth_unstable(n * 9 / 10).1;
    // n/2 entries within p50 ns: a day of PER_DAY entries is PER_DAY * p50 / (n/2) ns.
    let width = (PER_DAY as u128 * u128::from(p50.max(1)) * 2 / n as u128).max(1);
    let shift = (127 - width.leading_zeros()).min(48);
    let span_days = (((2 * u128::from(p90)) >> shift) + 1).min(MAX_DAYS as u128) as usize;
    let n_days = span_days.next_power_of_two().clamp(MIN_DAYS, MAX_DAYS);
    (shift, n_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use rand::Rng;
    use std::collections::BTreeSet;

    /// Pops exactly what an ordered set pops under random pushes (monotone clock, many equal
    /// times, delays from 0 to hours so the overflow and re-tuning are exercised) and pops, with
    /// a retain midway.
    #[test]
    fn pops_in_key_order_through_retuning_and_overflow() {
        let mut retuned = 0;
        for case in 0..60u64 {
            let mut rng = stream(case, 0, "calendar");
            let mut want: BTreeSet<(Nanos, u64)> = BTreeSet::new();
            let (mut now, mut seq) = (0u64, 0u64);
            let mut initial = Vec::new();
            for _ in 0..rng.gen_range(0..3000) {
                let n = Node {
                    time: rng.gen_range(0..10_000_000),
                    seq,
                    data: 0,
                };
                seq += 1;
                want.insert((n.time, n.seq));
                initial.push(n);
            }
            let mut c = Calendar::from_nodes(initial, 0);
            let shift0 = c.shift;
            for step in 0..40_000 {
                let phase = step / 10_000;
                if rng.gen_bool(if phase == 2 { 0.3 } else { 0.52 }) {
                    let dt = match rng.gen_range(0..5) {
                        0 => 0,
                        1 => rng.gen_range(0..4),
                        2 => rng.gen_range(0..1_000_000),
                        3 if phase == 1 => rng.gen_range(0..1_000),
                        _ => rng.gen_range(0..u64::from(u32::MAX)) << rng.gen_range(0..12),
                    };
                    let n = Node {
                        time: now + dt,
                        seq,
                        data: 0,
                    };
                    seq += 1;
                    c.push(n);
                    want.insert((n.time, n.seq));
                } else {
                    let w = want.pop_first();
                    assert_eq!(c.peek_time(), w.map(|x| x.0), "case {case} step {step}");
                    let got = c.pop_min();
                    assert_eq!(got.map(|n| (n.time, n.seq)), w, "case {case} step {step}");
                    if let Some((t, _)) = w {
                        now = t;
                    }
                }
                if step == 25_000 {
                    c.retain(|n| n.seq % 3 != 0);
                    want.retain(|x| x.1 % 3 != 0);
                }
                assert_eq!(c.len(), want.len());
            }
            retuned += usize::from(c.shift != shift0);
            while let Some(w) = want.pop_first() {
                assert_eq!(c.pop_min().map(|n| (n.time, n.seq)), Some(w));
            }
            assert!(c.pop_min().is_none());
        }
        assert!(retuned > 0, "no case re-tuned its day width");
    }

    /// Times at the very end of the clock (a "never" timer) build, tune and pop without overflow.
    #[test]
    fn times_near_the_end_of_the_clock() {
        let node = |time, seq| Node { time, seq, data: 0 };
        let mut nodes: Vec<Node> = (0..100).map(|i| node(i * 1000, i)).collect();
        nodes.extend((0..100).map(|i| node(Nanos::MAX - 100 + i, 100 + i)));
        let mut c = Calendar::from_nodes(nodes, 0);
        c.push(node(Nanos::MAX, 200));
        let got: Vec<_> = std::iter::from_fn(|| c.pop_min().map(|n| n.seq)).collect();
        assert_eq!(got, (0..=200).collect::<Vec<_>>());
    }

    /// A push below the current day (the clock stayed behind a discarded cancelled timer) still
    /// comes out first.
    #[test]
    fn a_key_below_the_current_day_comes_out_first() {
        let node = |time, seq| Node { time, seq, data: 0 };
        let mut c = Calendar::from_nodes(vec![node(1 << 30, 0), node(1 << 31, 1)], 0);
        assert_eq!(c.pop_min().map(|n| n.time), Some(1 << 30));
        c.push(node(5, 2));
        c.push(node(5, 3));
        let order: Vec<_> = std::iter::from_fn(|| c.pop_min().map(|n| (n.time, n.seq))).collect();
        assert_eq!(order, [(5, 2), (5, 3), (1 << 31, 1)]);
    }
}
