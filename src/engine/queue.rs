use super::fel::{Fel, Node};
use super::time::Nanos;

/// Handle to a cancellable timer. Slots are recycled, so memory is bounded by live timers, not run length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId {
    slot: u32,
    gen: u32,
}

const NOT_CANCELLABLE: u32 = u32::MAX;
/// Below this many stale entries, compaction is not worth a pass over the heap.
const COMPACT_MIN: usize = 1024;
#[derive(Clone, Copy)]
struct Payload<E> {
    event: E,
    slot: u32,
    gen: u32,
}

/// Future-event list: (time, sequence) keys in a heap or calendar queue ([`Fel`]), each entry
/// holding its event and timer slot. Events are plain `Copy` values, so scheduling never
/// allocates once the list has grown to the run's working size.
pub struct EventQueue<E> {
    heap: Fel<Payload<E>>,
    now: Nanos,
    seq: u64,
    slot_gen: Vec<u32>,
    free_slots: Vec<u32>,
    popped: u64,
    /// Cancelled entries still in the heap. Processor-sharing stations cancel a timer on every
    /// arrival, so under overload stale entries would otherwise outnumber live ones many times over.
    stale: usize,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: Fel::with_capacity(1024),
            now: 0,
            seq: 0,
            slot_gen: Vec::new(),
            free_slots: Vec::new(),
            popped: 0,
            stale: 0,
        }
    }

    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Events delivered so far (cancelled timers excluded).
    pub fn delivered(&self) -> u64 {
        self.popped
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.len() == 0
    }

    /// Not inlined (the list's push is large), but the event and key arrive as scalars: passed
    /// by pointer, the event was written field by field and reloaded as one 16-byte word, which
    /// stalled on store forwarding at every push.
    #[inline(never)]
    fn push(&mut self, time: Nanos, slot: u32, gen: u32, event: E) {
        debug_assert!(time >= self.now, "event scheduled in the past");
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Node {
            time: time.max(self.now),
            seq,
            data: Payload { event, slot, gen },
        });
    }

    pub fn schedule_at(&mut self, time: Nanos, event: E) {
        self.push(time, NOT_CANCELLABLE, 0, event);
    }

    pub fn schedule_in(&mut self, delay: Nanos, event: E) {
        self.push(self.now.saturating_add(delay), NOT_CANCELLABLE, 0, event);
    }

    pub fn timer_at(&mut self, time: Nanos, event: E) -> TimerId {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slot_gen.push(0);
                (self.slot_gen.len() - 1) as u32
            }
        };
        let gen = self.slot_gen[slot as usize];
        self.push(time, slot, gen, event);
        TimerId { slot, gen }
    }

    pub fn timer_in(&mut self, delay: Nanos, event: E) -> TimerId {
        self.timer_at(self.now.saturating_add(delay), event)
    }

    /// Cancel a pending timer. Cancelling one that already fired or was cancelled is a no-op.
    pub fn cancel(&mut self, t: TimerId) {
        let g = &mut self.slot_gen[t.slot as usize];
        if *g == t.gen {
            *g = g.wrapping_add(1);
            self.free_slots.push(t.slot);
            self.stale += 1;
            if self.stale > COMPACT_MIN && self.stale * 2 > self.heap.len() {
                self.compact();
            }
        }
    }

    /// Drop cancelled entries in one O(n) pass. Order is by (time, seq), a total order, so the
    /// sequence of delivered events is unchanged.
    fn compact(&mut self) {
        let gens = &self.slot_gen;
        self.heap.retain(|n| {
            let p = &n.data;
            p.slot == NOT_CANCELLABLE || gens[p.slot as usize] == p.gen
        });
        self.stale = 0;
    }

    /// Next live event, advancing the clock. Cancelled timers are dropped here, lazily.
    #[inline]
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        while let Some(n) = self.heap.pop_min() {
            let p = n.data;
            if p.slot != NOT_CANCELLABLE {
                let g = &mut self.slot_gen[p.slot as usize];
                if *g != p.gen {
                    self.stale -= 1;
                    continue;
                }
                *g = g.wrapping_add(1);
                self.free_slots.push(p.slot);
            }
            self.now = n.time;
            self.popped += 1;
            return Some((n.time, p.event));
        }
        None
    }

    /// The next event (possibly a cancelled timer), when the list knows it without work, so the
    /// caller can ask for the state its handler will touch. The calendar's current day is a
    /// sorted run, so the next event is known; by the time its turn comes, its cache lines have
    /// arrived instead of stalling the handler.
    #[inline(always)]
    pub fn prefetch_next(&self) -> Option<&E> {
        self.heap.upcoming(0).map(|n| &n.data.event)
    }

    /// Time of the next entry (possibly a cancelled one); used to stop a run at a horizon.
    pub fn peek_time(&self) -> Option<Nanos> {
        self.heap.peek_time()
    }

    pub fn set_now(&mut self, t: Nanos) {
        self.now = self.now.max(t);
    }
}

/// A hint that `p` will be read soon. It never faults and changes no state, whatever `p` is.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint to the cache: it does not dereference `p` and cannot
    // fault, so any address is sound. `sse` is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbtest::arbitrary::{self, Unstructured};

    /// An entry holds the event inline: 40 bytes for surge's 16-byte events, within what the
    /// resource model charges per pending event.
    #[test]
    fn an_entry_fits_the_budgeted_bytes() {
        let entry = std::mem::size_of::<Node<Payload<crate::event::Event>>>();
        assert_eq!(entry, 40);
        assert!(entry as u64 <= crate::config::budget::EVENT_BYTES);
    }

    #[test]
    fn ties_are_first_in_first_out() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.schedule_at(5, i);
        }
        q.schedule_at(1, 1000);
        assert_eq!(q.pop(), Some((1, 1000)));
        for i in 0..100 {
            assert_eq!(q.pop(), Some((5, i)));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn cancelled_timers_never_fire_and_slots_recycle() {
        let mut q = EventQueue::new();
        let a = q.timer_at(10, 'a');
        let _b = q.timer_at(20, 'b');
        q.cancel(a);
        q.cancel(a); // idempotent
        let c = q.timer_at(15, 'c');
        assert_eq!(c.slot, a.slot, "slot reused");
        assert_eq!(q.pop(), Some((15, 'c')));
        q.cancel(c); // already fired: no effect on the recycled slot's next user
        assert_eq!(q.pop(), Some((20, 'b')));
        assert_eq!(q.pop(), None);
        assert_eq!(q.delivered(), 2);
    }

    #[test]
    fn cancelled_entries_are_compacted_without_changing_order() {
        // A PS-like pattern: every step cancels the pending timer and sets a later one.
        let mut q = EventQueue::new();
        let mut timer = q.timer_at(1_000_000, u64::MAX);
        for i in 0..100_000u64 {
            if i % 100 == 0 {
                q.schedule_at(10 + i, i);
            }
            q.cancel(timer);
            timer = q.timer_at(1_000_000 + i, u64::MAX - 1 - i);
            let live = (i / 100 + 2) as usize;
            assert!(
                q.len() <= 2 * live + COMPACT_MIN + 1,
                "{} entries for {live} live",
                q.len()
            );
        }
        for i in (0..100_000u64).step_by(100) {
            assert_eq!(q.pop(), Some((10 + i, i)));
        }
        assert_eq!(q.pop(), Some((1_099_999, u64::MAX - 100_000)));
        assert_eq!(q.pop(), None);
    }

    /// The obvious queue: a list of pending (time, sequence, id), popped by linear search for the
    /// least (time, sequence); cancelling removes the timer's entry if it is still pending.
    #[derive(Default)]
    struct Reference {
        pending: Vec<(Nanos, u64, u32)>,
        seq: u64,
        now: Nanos,
    }

    impl Reference {
        fn push(&mut self, time: Nanos, id: u32) {
            self.pending.push((time, self.seq, id));
            self.seq += 1;
        }
        fn cancel(&mut self, id: u32) {
            self.pending.retain(|e| e.2 != id);
        }
        fn pop(&mut self) -> Option<(Nanos, u32)> {
            let i =
                (0..self.pending.len()).min_by_key(|&i| (self.pending[i].0, self.pending[i].1))?;
            let (t, _, id) = self.pending.remove(i);
            self.now = t;
            Some((t, id))
        }
    }

    /// Random schedules, timers, cancellations (of pending, fired and already cancelled timers)
    /// and pops, checked step by step against [`Reference`]. Delays are mostly tiny, so equal
    /// times are common and FIFO order among them is exercised; `cancel_heavy` makes cancelled
    /// entries pile up past `COMPACT_MIN`, so compaction runs mid-sequence.
    fn matches_reference(
        u: &mut Unstructured<'_>,
        cancel_heavy: bool,
        prefill: u32,
    ) -> arbitrary::Result<bool> {
        let mut q = EventQueue::new();
        let mut r = Reference::default();
        let mut timers: Vec<(TimerId, u32)> = Vec::new();
        let mut next = 0u32;
        let mut compacted = false;
        // Enough pending events to move the list from the heap to the calendar.
        for i in 0..prefill {
            let t = u64::from(i.wrapping_mul(2_654_435_761) % 5_000_000);
            timers.push((q.timer_at(t, next), next));
            r.push(t, next);
            next += 1;
        }
        let delay = |u: &mut Unstructured<'_>| -> arbitrary::Result<Nanos> {
            Ok(match u.int_in_range(0..=9u8)? {
                0..=3 => 0,
                4..=7 => u.int_in_range(1..=3)?,
                _ => u.int_in_range(0..=1_000_000)?,
            })
        };
        // Upper bounds of the schedule, timer and cancel ranges of a 0..=9 draw; the rest pop.
        let (sched, timer, cancel) = if cancel_heavy { (0, 4, 8) } else { (2, 4, 6) };
        while !u.is_empty() {
            let op = u.int_in_range(0..=9u8)?;
            if op <= sched {
                let t = q.now() + delay(u)?;
                q.schedule_at(t, next);
                r.push(t, next);
                next += 1;
            } else if op <= timer {
                let t = q.now() + delay(u)?;
                timers.push((q.timer_at(t, next), next));
                r.push(t, next);
                next += 1;
            } else if op <= cancel && !timers.is_empty() {
                let i = u.choose_index(timers.len())?;
                let (h, id) = timers[i];
                let stale = q.stale;
                q.cancel(h);
                compacted |= q.stale < stale;
                r.cancel(id);
                if u.ratio(3, 4)? {
                    timers.swap_remove(i);
                }
            } else {
                assert_eq!(q.pop(), r.pop());
                assert_eq!(q.now(), r.now);
            }
        }
        loop {
            let got = q.pop();
            assert_eq!(got, r.pop());
            if got.is_none() {
                return Ok(compacted);
            }
        }
    }

    fn for_seeds(size: u32, mut prop: impl FnMut(&mut Unstructured<'_>) -> arbitrary::Result<()>) {
        for i in 1..=64u64 {
            let seed = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) << 32) | u64::from(size);
            arbtest::arbtest(&mut prop).seed(seed).run();
        }
    }

    #[test]
    fn property_fifo_and_cancellation_match_a_reference_queue() {
        for_seeds(4_000, |u| matches_reference(u, false, 0).map(|_| ()));
    }

    #[test]
    fn property_compaction_keeps_the_reference_order() {
        // Many cancellations: more than COMPACT_MIN stale entries accumulate and are compacted.
        let mut compactions = 0;
        for_seeds(60_000, |u| {
            compactions += usize::from(matches_reference(u, true, 0)?);
            Ok(())
        });
        assert!(compactions > 0, "no sequence compacted the heap");
    }

    #[test]
    fn property_the_calendar_matches_the_reference_queue() {
        // 2,000 pending from the start: the list is the calendar queue throughout.
        let mut compactions = 0;
        for_seeds(40_000, |u| {
            compactions += usize::from(matches_reference(u, true, 2_000)?);
            Ok(())
        });
        assert!(compactions > 0, "no sequence compacted the calendar");
    }

    #[test]
    fn clock_is_monotone() {
        let mut q = EventQueue::new();
        q.schedule_at(30, 3);
        q.schedule_at(10, 1);
        q.schedule_at(20, 2);
        let mut last = 0;
        while let Some((t, _)) = q.pop() {
            assert!(t >= last);
            assert_eq!(q.now(), t);
            last = t;
        }
    }
}
