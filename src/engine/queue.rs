use super::time::Nanos;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Handle to a cancellable timer. Slots are recycled, so memory is bounded by live timers, not run length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId {
    slot: u32,
    gen: u32,
}

const NOT_CANCELLABLE: u32 = u32::MAX;
/// Below this many stale entries, compaction is not worth a pass over the heap.
const COMPACT_MIN: usize = 1024;

struct Entry<E> {
    time: Nanos,
    seq: u64,
    slot: u32,
    gen: u32,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time && self.seq == o.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed for a min-heap; the insertion sequence breaks ties first in, first out.
    fn cmp(&self, o: &Self) -> Ordering {
        o.time.cmp(&self.time).then_with(|| o.seq.cmp(&self.seq))
    }
}

/// Future-event list. Events are plain values (an enum, typically `Copy`), so scheduling never allocates
/// once the heap has grown to the run's working size.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    now: Nanos,
    seq: u64,
    slot_gen: Vec<u32>,
    free_slots: Vec<u32>,
    popped: u64,
    /// Cancelled entries still in the heap. Processor-sharing stations cancel a timer on every
    /// arrival, so under overload stale entries would otherwise outnumber live ones many times over.
    stale: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
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
        self.heap.is_empty()
    }

    fn push(&mut self, time: Nanos, slot: u32, gen: u32, event: E) {
        debug_assert!(time >= self.now, "event scheduled in the past");
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Entry {
            time: time.max(self.now),
            seq,
            slot,
            gen,
            event,
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
        self.heap
            .retain(|e| e.slot == NOT_CANCELLABLE || gens[e.slot as usize] == e.gen);
        self.stale = 0;
    }

    /// Next live event, advancing the clock. Cancelled timers are dropped here, lazily.
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        while let Some(e) = self.heap.pop() {
            if e.slot != NOT_CANCELLABLE {
                let g = &mut self.slot_gen[e.slot as usize];
                if *g != e.gen {
                    self.stale -= 1;
                    continue;
                }
                *g = g.wrapping_add(1);
                self.free_slots.push(e.slot);
            }
            self.now = e.time;
            self.popped += 1;
            return Some((e.time, e.event));
        }
        None
    }

    /// Time of the next entry (possibly a cancelled one); used to stop a run at a horizon.
    pub fn peek_time(&self) -> Option<Nanos> {
        self.heap.peek().map(|e| e.time)
    }

    pub fn set_now(&mut self, t: Nanos) {
        self.now = self.now.max(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
