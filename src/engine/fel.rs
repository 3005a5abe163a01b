//! Future-event list structures behind [`super::EventQueue`]: priority queues of [`Node`]s keyed
//! by (time, sequence). Three are kept so they can be measured against each other
//! (`cargo bench`, the "hold" model): a 4-ary heap, a radix heap and a calendar queue
//! (`calendar.rs`). The queue uses [`Fel`]: the heap while few events are pending, the calendar
//! once many are; all are checked against an ordered set here and a reference queue in
//! `queue.rs`'s property tests.

use super::calendar::Calendar;
use super::time::Nanos;

/// One entry: the ordering key and its payload (the event queue's event and timer slot, held in
/// the entry itself so a pop reads one contiguous record and no slab is kept beside the list).
#[derive(Clone, Copy, Debug, Default)]
pub struct Node<P = u32> {
    pub time: Nanos,
    pub seq: u64,
    pub data: P,
}

impl<P> Node<P> {
    /// (time, seq) as one integer: ties break first in, first out, with one branch-free compare.
    #[inline(always)]
    pub fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }
}

/// An entry of a [`DaryHeap`]: ordered by one integer key, least first.
pub trait Keyed: Copy {
    fn key(&self) -> u128;
}

impl<P: Copy> Keyed for Node<P> {
    #[inline(always)]
    fn key(&self) -> u128 {
        Node::key(self)
    }
}

/// Pending events above which [`Fel`] moves to the calendar. The 4-ary heap is fastest with a
/// few dozen events; with HamBaller 10x's 4,000 the calendar beat the radix heap by 1.16x over
/// the whole run, the radix heap having beaten the heap (8.0 against 8.8 s).
const GROW: usize = 1024;

/// The event queue's list: a 4-ary heap while the list is short (an M/M/c station's dozen
/// events), a calendar queue once it passes [`GROW`] (thousands of sleeping VUs), never switching
/// back. Both order by the same (time, sequence) keys, so the switch changes no output.
pub enum Fel<P = u32> {
    Small(SmallQueue<P>),
    Large(Calendar<P>),
}

impl<P: Copy> Fel<P> {
    pub fn with_capacity(n: usize) -> Self {
        Fel::Small(SmallQueue::with_capacity(n))
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Fel::Small(h) => h.len(),
            Fel::Large(h) => h.len(),
        }
    }

    #[inline(always)]
    pub fn push(&mut self, node: Node<P>) {
        match self {
            Fel::Small(h) => {
                h.push(node);
                if h.len() > GROW {
                    self.grow();
                }
            }
            Fel::Large(h) => h.push(node),
        }
    }

    #[cold]
    fn grow(&mut self) {
        if let Fel::Small(h) = self {
            let now = h.peek_time().unwrap_or(0);
            let nodes = h.take();
            *self = Fel::Large(Calendar::from_nodes(nodes, now));
        }
    }

    #[inline]
    pub fn pop_min(&mut self) -> Option<Node<P>> {
        match self {
            Fel::Small(h) => h.pop_min(),
            Fel::Large(h) => h.pop_min(),
        }
    }

    #[inline]
    pub fn peek_time(&self) -> Option<Nanos> {
        match self {
            Fel::Small(h) => h.peek_time(),
            Fel::Large(h) => h.peek_time(),
        }
    }

    /// The `k`-th entry to come (0: the next), when the list knows it without work.
    #[inline(always)]
    pub fn upcoming(&self, k: usize) -> Option<&Node<P>> {
        match self {
            Fel::Small(h) => h.upcoming(k),
            Fel::Large(h) => h.upcoming(k),
        }
    }

    pub fn retain(&mut self, keep: impl FnMut(&Node<P>) -> bool) {
        match self {
            Fel::Small(h) => h.retain(keep),
            Fel::Large(h) => h.retain(keep),
        }
    }
}

/// Longest sorted run [`SmallQueue`] keeps before it becomes a heap, and the length at which it
/// goes back. Below about this size an insertion's shift of a few hundred bytes costs less than a
/// heap's sift-down through four children per level, and a pop is a plain `Vec::pop`.
const RUN_MAX: usize = 32;
const RUN_BACK: usize = 8;

/// A short queue: entries sorted by key, descending (the least is last, so a pop is `Vec::pop`),
/// while there are at most [`RUN_MAX`]; a 4-ary heap beyond that, until it shrinks to
/// [`RUN_BACK`]. An M/M/c station's dozen events and a calendar day's few dozen live in the run;
/// a burst (thousands of events at one instant) gets the heap's O(log n).
pub struct SmallQueue<P = u32> {
    /// Sorted descending while `!heap`; in heap order while `heap`.
    v: DaryHeap<Node<P>>,
    heap: bool,
}

impl<P> Default for SmallQueue<P> {
    fn default() -> Self {
        SmallQueue {
            v: DaryHeap::default(),
            heap: false,
        }
    }
}

impl<P: Copy> SmallQueue<P> {
    pub fn with_capacity(n: usize) -> Self {
        SmallQueue {
            v: DaryHeap::with_capacity(n),
            heap: false,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.v.len()
    }

    #[inline(always)]
    pub fn push(&mut self, node: Node<P>) {
        if self.heap {
            return self.v.push(node);
        }
        let run = &mut self.v.heap;
        if run.len() >= RUN_MAX {
            self.become_heap();
            return self.v.push(node);
        }
        // Shift from the least end one entry at a time (an insertion sort's last step): for a
        // few dozen entries this beats a binary search and a `memmove` call.
        let key = node.key();
        run.push(node);
        let mut i = run.len() - 1;
        while i > 0 && run[i - 1].key() < key {
            run[i] = run[i - 1];
            i -= 1;
        }
        run[i] = node;
    }

    /// Take `nodes` (emptying it, keeping its capacity): one sort when they fit in the run.
    pub fn append(&mut self, nodes: &mut Vec<Node<P>>) {
        // The calendar's usual case, a new day into an empty run: each entry is copied once,
        // straight to its sorted place.
        if !self.heap && self.v.heap.is_empty() && sort_into(nodes, &mut self.v.heap) {
            nodes.clear();
            return;
        }
        if !self.heap && self.v.heap.len() + nodes.len() <= RUN_MAX {
            self.v.heap.append(nodes);
            sort_run(&mut self.v.heap);
        } else {
            for n in nodes.drain(..) {
                self.push(n);
            }
        }
    }

    /// Ascending order is heap order, so the run becomes a heap by reversing it.
    /// (Takes no node: a node passed by reference anywhere on the push path kept the compiler
    /// from holding it in registers, and its reload from the stack stalled on store forwarding.)
    #[cold]
    fn become_heap(&mut self) {
        self.v.heap.reverse();
        self.heap = true;
    }

    #[inline]
    pub fn pop_min(&mut self) -> Option<Node<P>> {
        if !self.heap {
            return self.v.heap.pop();
        }
        let n = self.v.pop_min();
        if self.v.len() <= RUN_BACK {
            self.become_run();
        }
        n
    }

    #[cold]
    fn become_run(&mut self) {
        sort_run(&mut self.v.heap);
        self.heap = false;
    }

    #[inline]
    pub fn peek_time(&self) -> Option<Nanos> {
        if self.heap {
            self.v.peek_time()
        } else {
            self.v.heap.last().map(|n| n.time)
        }
    }

    /// The `k`-th entry to come (0: the next): a sorted run knows each; a heap only its root.
    #[inline(always)]
    pub fn upcoming(&self, k: usize) -> Option<&Node<P>> {
        let v = &self.v.heap;
        if self.heap {
            if k == 0 {
                v.first()
            } else {
                None
            }
        } else {
            v.len().checked_sub(k + 1).map(|i| &v[i])
        }
    }

    pub fn retain(&mut self, keep: impl FnMut(&Node<P>) -> bool) {
        if self.heap {
            self.v.retain(keep);
        } else {
            // Removing entries keeps a sorted run sorted.
            self.v.heap.retain(keep);
        }
    }

    /// The entries, in no particular order.
    pub fn take(&mut self) -> Vec<Node<P>> {
        self.heap = false;
        std::mem::take(&mut self.v.heap)
    }
}

/// Sort a run descending by key (a run merged with more entries, a heap shrunk back to a run:
/// both rare; a new day goes through [`sort_into`]).
fn sort_run<P: Copy>(v: &mut [Node<P>]) {
    v.sort_unstable_by_key(|n| std::cmp::Reverse(n.key()));
}

/// Append `src` to the empty `dst` sorted descending by key; false (and `dst` untouched) when
/// `src` is longer than [`RUN_MAX`] or its keys do not pack. A calendar day's entries arrive in
/// random order, and an insertion sort of them mispredicted about once per entry (9 % of
/// HamBaller's time went to the day sorts). Instead each entry's (time, sequence) key is packed
/// into one word relative to the day's least time and sequence, with its position in the low
/// bits; the words are unique, so the library's small-integer sort (branch-free sorting
/// networks) orders them, and the positions then copy each entry once, to its place. The
/// spans of a day fit in 64 bits in practice; when they do not, the caller's library sort of
/// the nodes decides. Either way the order is the key order.
#[inline]
fn sort_into<P: Copy>(src: &[Node<P>], dst: &mut Vec<Node<P>>) -> bool {
    debug_assert!(dst.is_empty());
    if src.len() < 2 {
        dst.extend_from_slice(src);
        return true;
    }
    if src.len() > RUN_MAX {
        return false;
    }
    let Some(mut keys) = packed_keys(src) else {
        return false;
    };
    let keys = &mut keys[..src.len()];
    keys.sort_unstable();
    // Ascending words, descending run.
    dst.extend(keys.iter().rev().map(|&k| src[(k & POS_MASK) as usize]));
    true
}

/// Low bits of a packed key that hold the entry's position in the run (`RUN_MAX` = 32).
const POS_BITS: u32 = 5;
const POS_MASK: u64 = (1 << POS_BITS) - 1;
const _: () = assert!(RUN_MAX <= 1 << POS_BITS);

/// Each entry's (time, sequence) as one u64 in the same order, relative to the least time and
/// sequence of `v` (at most [`RUN_MAX`] entries), shifted over its position in `v`; `None` when
/// the two spans and the position need over 64 bits.
#[inline]
fn packed_keys<P>(v: &[Node<P>]) -> Option<[u64; RUN_MAX]> {
    let (mut t0, mut t1, mut s0, mut s1) = (u64::MAX, 0, u64::MAX, 0);
    for n in v {
        t0 = t0.min(n.time);
        t1 = t1.max(n.time);
        s0 = s0.min(n.seq);
        s1 = s1.max(n.seq);
    }
    let seq_bits = u64::BITS - (s1 - s0).leading_zeros();
    let time_bits = u64::BITS - (t1 - t0).leading_zeros();
    if seq_bits + time_bits + POS_BITS > u64::BITS {
        return None;
    }
    let mut keys = [0u64; RUN_MAX];
    for (i, (k, n)) in keys.iter_mut().zip(v).enumerate() {
        // A shift by 64 only comes with time_bits = 0, where every time offset is 0.
        let key = (n.time - t0).checked_shl(seq_bits).unwrap_or(0) | (n.seq - s0);
        *k = (key << POS_BITS) | i as u64;
    }
    Some(keys)
}

/// Children per node of [`DaryHeap`]: half as deep as a binary heap, and a node's children share
/// a cache line or two.
const ARITY: usize = 4;

/// A 4-ary min-heap (sift with a hole: one write per level) of keyed entries: the event list's
/// [`Node`]s, or a processor-sharing station's jobs in service.
pub struct DaryHeap<T = Node> {
    heap: Vec<T>,
}

impl<T> Default for DaryHeap<T> {
    fn default() -> Self {
        DaryHeap { heap: Vec::new() }
    }
}

impl<P> DaryHeap<Node<P>> {
    pub fn peek_time(&self) -> Option<Nanos> {
        self.heap.first().map(|n| n.time)
    }
}

impl<T: Keyed> DaryHeap<T> {
    pub fn with_capacity(n: usize) -> Self {
        DaryHeap {
            heap: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    #[inline(always)]
    pub fn push(&mut self, node: T) {
        let key = node.key();
        let h = &mut self.heap;
        h.push(node);
        let mut i = h.len() - 1;
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if h[parent].key() <= key {
                break;
            }
            h[i] = h[parent];
            i = parent;
        }
        h[i] = node;
    }

    #[inline(always)]
    fn sift_down(&mut self, mut i: usize, node: T) {
        let key = node.key();
        let h = &mut self.heap;
        let n = h.len();
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let last = (first + ARITY).min(n);
            let mut best = first;
            let mut best_key = h[first].key();
            for (c, child) in h[first + 1..last].iter().enumerate() {
                let k = child.key();
                if k < best_key {
                    best = first + 1 + c;
                    best_key = k;
                }
            }
            if key <= best_key {
                break;
            }
            h[i] = h[best];
            i = best;
        }
        h[i] = node;
    }

    #[inline]
    pub fn pop_min(&mut self) -> Option<T> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last);
        }
        let top = self.heap[0];
        self.sift_down(0, last);
        Some(top)
    }

    /// The least entry.
    #[inline]
    pub fn peek(&self) -> Option<&T> {
        self.heap.first()
    }

    /// The entries, in heap order (the least first).
    pub fn into_vec(self) -> Vec<T> {
        self.heap
    }

    /// Keep the entries `keep` accepts, then rebuild the heap bottom-up.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.heap.retain(keep);
        self.heapify();
    }

    /// A heap of `v`'s entries (one bottom-up pass).
    pub fn from_vec(v: Vec<T>) -> Self {
        DaryHeap { heap: v }.heapified()
    }

    fn heapified(mut self) -> Self {
        self.heapify();
        self
    }

    fn heapify(&mut self) {
        let n = self.heap.len();
        if n > 1 {
            for i in (0..=(n - 2) / ARITY).rev() {
                let node = self.heap[i];
                self.sift_down(i, node);
            }
        }
    }
}

/// Buckets of a radix heap over 128-bit keys: bucket 0 holds the key equal to the last minimum,
/// bucket b ≥ 1 the keys whose highest bit differing from it is bit b - 1.
const BUCKETS: usize = 129;

/// A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan 1990) over the (time, sequence) keys. It needs
/// monotone keys, which a simulation gives: nothing is scheduled before the clock, and the
/// sequence grows. A push is one append; a pop takes bucket 0 or, when that is empty, redistributes
/// the lowest non-empty bucket into lower ones around its minimum. Every entry moves at most
/// once per bit of its key, and in practice a few times, with no comparisons against its
/// neighbours as in a heap.
pub struct RadixHeap {
    buckets: Vec<Vec<Node>>,
    /// Bit b set: bucket b is not empty.
    occupied: u128,
    /// Bucket 0 (checked separately from `occupied`, which covers buckets 1 to 128).
    last: u128,
    len: usize,
}

impl Default for RadixHeap {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl RadixHeap {
    pub fn with_capacity(n: usize) -> Self {
        let mut buckets: Vec<Vec<Node>> = (0..BUCKETS).map(|_| Vec::new()).collect();
        buckets[0].reserve(n.min(16));
        RadixHeap {
            buckets,
            occupied: 0,
            last: 0,
            len: 0,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn bucket_of(&self, key: u128) -> usize {
        128 - (key ^ self.last).leading_zeros() as usize
    }

    #[inline]
    pub fn push(&mut self, node: Node) {
        if node.key() < self.last {
            self.rebase(node.key());
        }
        let b = self.bucket_of(node.key());
        self.buckets[b].push(node);
        if b > 0 {
            self.occupied |= 1u128 << (b - 1);
        }
        self.len += 1;
    }

    /// A key below the last minimum: possible when the queue's clock did not reach that minimum
    /// (it was a cancelled timer, discarded, and the queue ran empty). Every entry is at least
    /// the last minimum, so at least `key`: re-bucket them all around `key`. Empty in practice.
    #[cold]
    fn rebase(&mut self, key: u128) {
        let mut all = Vec::with_capacity(self.len);
        for b in &mut self.buckets {
            all.append(b);
        }
        self.occupied = 0;
        self.len = 0;
        self.last = key;
        for n in all {
            self.push(n);
        }
    }

    /// Make bucket 0 hold the minimum: redistribute the lowest non-empty bucket around its
    /// minimum. Entries only move down.
    #[inline]
    fn refill(&mut self) -> bool {
        if !self.buckets[0].is_empty() {
            return true;
        }
        if self.occupied == 0 {
            return false;
        }
        let b = self.occupied.trailing_zeros() as usize + 1;
        let mut bucket = std::mem::take(&mut self.buckets[b]);
        self.occupied &= !(1u128 << (b - 1));
        let min = bucket.iter().map(Node::key).min().expect("occupied bucket");
        self.last = min;
        for n in bucket.drain(..) {
            let nb = self.bucket_of(n.key());
            debug_assert!(nb < b);
            self.buckets[nb].push(n);
            if nb > 0 {
                self.occupied |= 1u128 << (nb - 1);
            }
        }
        // Keep the emptied bucket's capacity for its next use.
        self.buckets[b] = bucket;
        true
    }

    #[inline]
    pub fn pop_min(&mut self) -> Option<Node> {
        if !self.refill() {
            return None;
        }
        self.len -= 1;
        self.buckets[0].pop()
    }

    /// The least time present: bucket 0, else the minimum of the lowest non-empty bucket.
    #[cfg(test)]
    pub fn peek_time(&self) -> Option<Nanos> {
        if let Some(n) = self.buckets[0].last() {
            return Some(n.time);
        }
        if self.occupied == 0 {
            return None;
        }
        let b = self.occupied.trailing_zeros() as usize + 1;
        self.buckets[b].iter().map(|n| n.time).min()
    }

    #[cfg(test)]
    pub fn retain(&mut self, mut keep: impl FnMut(&Node) -> bool) {
        self.len = 0;
        for (b, bucket) in self.buckets.iter_mut().enumerate() {
            bucket.retain(&mut keep);
            self.len += bucket.len();
            if b > 0 && bucket.is_empty() {
                self.occupied &= !(1u128 << (b - 1));
            }
        }
    }
}

/// The classic "hold" benchmark of event lists: `size` pending events, then `ops` times pop the
/// least and push one at its time plus an exponential increment (mean 1 ms, and one in ten at
/// 1 s, like a think time among service times). Returns a checksum so the work is not optimised
/// away. `radix` chooses the structure.
pub fn hold(kind: FelKind, size: usize, ops: u64) -> u64 {
    use rand::Rng;
    let mut rng = super::stream(1, 0, "hold");
    let draw = |rng: &mut super::Rng64| -> Nanos {
        let mean = if rng.gen_range(0..10) == 0 { 1e9 } else { 1e6 };
        (-rng.gen::<f64>().max(1e-300).ln() * mean) as Nanos
    };
    let initial: Vec<Node> = (0..size as u64)
        .map(|seq| Node {
            time: draw(&mut rng),
            seq,
            data: 0,
        })
        .collect();
    let mut q: Box<dyn HoldQueue> = match kind {
        FelKind::Heap => Box::new(DaryHeap { heap: initial }.heapified()),
        FelKind::Radix => {
            let mut r = RadixHeap::with_capacity(size);
            initial.into_iter().for_each(|n| r.push(n));
            Box::new(r)
        }
        FelKind::Calendar => Box::new(Calendar::from_nodes(initial, 0)),
    };
    let mut sum = 0u64;
    for seq in size as u64..size as u64 + ops {
        let top = q.pop().expect("never empty");
        sum = sum.wrapping_add(top.time);
        q.push(Node {
            time: top.time + draw(&mut rng),
            seq,
            data: 0,
        });
    }
    sum
}

/// The structures [`hold`] can measure.
#[derive(Clone, Copy, Debug)]
pub enum FelKind {
    Heap,
    Radix,
    Calendar,
}

impl FelKind {
    pub const ALL: [FelKind; 3] = [FelKind::Heap, FelKind::Radix, FelKind::Calendar];
}

/// What [`hold`] needs of a structure (a virtual call per operation costs all of them alike).
trait HoldQueue {
    fn push(&mut self, n: Node);
    fn pop(&mut self) -> Option<Node>;
}

impl HoldQueue for DaryHeap {
    fn push(&mut self, n: Node) {
        DaryHeap::push(self, n)
    }
    fn pop(&mut self) -> Option<Node> {
        self.pop_min()
    }
}

impl HoldQueue for RadixHeap {
    fn push(&mut self, n: Node) {
        RadixHeap::push(self, n)
    }
    fn pop(&mut self) -> Option<Node> {
        self.pop_min()
    }
}

impl HoldQueue for Calendar {
    fn push(&mut self, n: Node) {
        Calendar::push(self, n)
    }
    fn pop(&mut self) -> Option<Node> {
        self.pop_min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use rand::Rng;
    use std::collections::BTreeSet;

    /// The packed sort of a day (or the library sort, when it does not pack) gives the library sort's order: runs of every length up to past
    /// [`RUN_MAX`], keys that are close, equal in time, or spread so far that they cannot be
    /// packed into one word (the fallback).
    #[test]
    fn a_run_sorts_in_key_order_whatever_its_spread() {
        let mut rng = stream(7, 0, "sort_run");
        for case in 0..4_000 {
            let len = rng.gen_range(0..=RUN_MAX + 4);
            let (tspan, sspan): (u64, u64) = match case % 5 {
                0 => (1, 1 << 20),
                1 => (1 << 19, 1 << 30),
                2 => (u64::MAX / 2, 1 << 10),
                3 => (1 << 40, u64::MAX / 4),
                _ => (rng.gen_range(1..1 << 30), rng.gen_range(1..1 << 40)),
            };
            let t0 = rng.gen_range(0..u64::MAX / 2);
            let mut seqs = BTreeSet::new();
            while seqs.len() < len {
                seqs.insert(rng.gen_range(0..sspan));
            }
            let v: Vec<Node> = seqs
                .into_iter()
                .enumerate()
                .map(|(i, seq)| Node {
                    time: t0 + rng.gen_range(0..tspan),
                    seq,
                    data: i as u32,
                })
                .collect();
            let mut want = v.clone();
            want.sort_by_key(|n| std::cmp::Reverse(n.key()));
            let mut run = Vec::new();
            if !sort_into(&v, &mut run) {
                assert!(run.is_empty() && (len > RUN_MAX || packed_keys(&v).is_none()));
                run = v.clone();
                sort_run(&mut run);
            }
            let got: Vec<_> = run.iter().map(|n| (n.time, n.seq, n.data)).collect();
            let want: Vec<_> = want.iter().map(|n| (n.time, n.seq, n.data)).collect();
            assert_eq!(got, want, "case {case}: {len} entries");
        }
    }

    /// The structures, [`SmallQueue`] through its run and heap forms, and [`Fel`] as it moves
    /// from one to the other, pop exactly what an ordered set pops, under random interleavings
    /// of pushes (monotone keys, many equal times) and pops, growing past [`GROW`] then
    /// shrinking, with a retain late on.
    #[test]
    fn both_structures_pop_in_key_order() {
        for case in 0..40u64 {
            let mut rng = stream(case, 0, "fel");
            let mut d = DaryHeap::default();
            let mut r = RadixHeap::default();
            let mut f = Fel::with_capacity(0);
            let mut s = SmallQueue::default();
            let mut want: BTreeSet<(Nanos, u64)> = BTreeSet::new();
            let (mut now, mut seq) = (0u64, 0u64);
            for step in 0..3_000 {
                if rng.gen_bool(if step < 2_000 { 0.8 } else { 0.3 }) {
                    let dt = match rng.gen_range(0..4) {
                        0 => 0,
                        1 => rng.gen_range(0..4),
                        2 => rng.gen_range(0..1_000_000),
                        _ => rng.gen_range(0..u64::from(u32::MAX)) << rng.gen_range(0..20),
                    };
                    let n = Node {
                        time: now + dt,
                        seq,
                        data: 0,
                    };
                    seq += 1;
                    d.push(n);
                    r.push(n);
                    f.push(n);
                    s.push(n);
                    want.insert((n.time, n.seq));
                } else {
                    // What `upcoming` knows is what comes next, in order.
                    for k in 0..3 {
                        let nth = want.iter().nth(k).copied();
                        for up in [f.upcoming(k), s.upcoming(k)].into_iter().flatten() {
                            assert_eq!(Some((up.time, up.seq)), nth, "case {case} step {step}");
                        }
                    }
                    let w = want.pop_first();
                    assert_eq!(d.peek_time(), w.map(|x| x.0));
                    assert_eq!(r.peek_time(), w.map(|x| x.0));
                    assert_eq!(f.peek_time(), w.map(|x| x.0));
                    assert_eq!(s.peek_time(), w.map(|x| x.0));
                    let e = s.pop_min();
                    assert_eq!(e.map(|n| (n.time, n.seq)), w, "case {case} step {step}");
                    let (a, b) = (d.pop_min(), r.pop_min());
                    let c = f.pop_min();
                    assert_eq!(c.map(|n| (n.time, n.seq)), w, "case {case} step {step}");
                    assert_eq!(a.map(|n| (n.time, n.seq)), w, "case {case} step {step}");
                    assert_eq!(b.map(|n| (n.time, n.seq)), w, "case {case} step {step}");
                    if let Some((t, _)) = w {
                        now = t;
                    }
                }
                if step == 2_500 {
                    assert!(matches!(f, Fel::Large(_)), "case {case}: never grew");
                    d.retain(|n| n.seq % 3 != 0);
                    r.retain(|n| n.seq % 3 != 0);
                    f.retain(|n| n.seq % 3 != 0);
                    s.retain(|n| n.seq % 3 != 0);
                    want.retain(|x| x.1 % 3 != 0);
                }
                assert_eq!(d.len(), want.len());
                assert_eq!(r.len(), want.len());
                assert_eq!(f.len(), want.len());
                assert_eq!(s.len(), want.len());
            }
        }
    }

    /// The event queue's clock can stay below a discarded minimum (a cancelled timer popped as
    /// the queue ran empty), so a later push may sit below it; also with entries still present.
    #[test]
    fn radix_heap_takes_a_key_below_the_last_minimum() {
        let node = |time, seq| Node { time, seq, data: 0 };
        let mut r = RadixHeap::default();
        r.push(node(100, 0));
        assert_eq!(r.pop_min().map(|n| n.time), Some(100));
        r.push(node(40, 1));
        r.push(node(300, 2));
        assert_eq!(r.pop_min().map(|n| n.time), Some(40));
        r.push(node(20, 3)); // below the last minimum, with 300 still present
        r.push(node(20, 4));
        r.push(node(250, 5));
        let order: Vec<_> = std::iter::from_fn(|| r.pop_min().map(|n| (n.time, n.seq))).collect();
        assert_eq!(order, [(20, 3), (20, 4), (250, 5), (300, 2)]);
    }

    #[test]
    fn hold_model_agrees() {
        let sums = FelKind::ALL.map(|k| hold(k, 1000, 20_000));
        assert!(sums.iter().all(|&s| s == sums[0]), "{sums:?}");
    }
}
