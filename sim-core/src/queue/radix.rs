//! A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990): a monotone priority queue for
//! integer keys, which holds [`super::EventQueue`]'s events.
//!
//! Every key pushed is at or after the last key taken out (a simulation never schedules
//! into its past), so an entry can be kept in the bucket named by the highest bit in
//! which its time differs from that last time; entries at that very time wait in a queue
//! of their own. Pushing is a bit scan and an append, with no comparison. When that queue
//! runs dry, the first non-empty bucket is emptied into lower ones around its earliest
//! time: an entry only ever moves down, at most 64 times and in practice a few. Entries
//! at the same time come out by sequence number, as from a heap ordered by `(time, seq)`.

use std::collections::VecDeque;

use super::Entry;
use crate::time::SimTime;

/// The largest allocation (in entries) a bucket keeps when it is emptied.
const KEPT_CAPACITY: usize = 4096;

/// Entries by the highest bit in which their time differs from `last`.
pub(super) struct RadixHeap<E> {
    /// Entries at exactly `last`, in sequence order.
    current: VecDeque<Entry<E>>,
    /// `buckets[i]`: entries whose time differs from `last` first in bit `i` (from 0).
    buckets: [Vec<Entry<E>>; 64],
    /// Bit `i` set when `buckets[i]` is not empty.
    occupied: u64,
    /// The time of the entries in `current` [ns]; no entry is earlier.
    last: u64,
    len: usize,
}

impl<E> RadixHeap<E> {
    pub(super) fn new() -> Self {
        RadixHeap {
            current: VecDeque::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
            last: 0,
            len: 0,
        }
    }

    /// Entries held, cancelled ones included.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Adds an entry. An entry due before the last one taken out costs a rebuild: that
    /// happens only when a cancelled event was skipped ahead of the caller's clock.
    #[inline]
    pub(super) fn push(&mut self, entry: Entry<E>) {
        let t = entry.time.as_nanos();
        if t < self.last {
            self.rebase(t);
        }
        self.len += 1;
        // Its sequence number is the largest yet: it goes after every entry queued.
        self.place(entry);
    }

    /// Puts `entry` (not before `last`) after the others at its time, or in its bucket.
    #[inline]
    fn place(&mut self, entry: Entry<E>) {
        let t = entry.time.as_nanos();
        if t == self.last {
            self.current.push_back(entry);
        } else {
            let b = 63 - (t ^ self.last).leading_zeros() as usize;
            self.buckets[b].push(entry);
            self.occupied |= 1 << b;
        }
    }

    /// The earliest `(time, seq)`, without taking it out.
    #[inline]
    pub(super) fn peek_key(&self) -> Option<(SimTime, u64)> {
        if let Some(e) = self.current.front() {
            return Some((e.time, e.seq));
        }
        let b = self.first_bucket()?;
        let earliest = self.earliest(b);
        // A bucket is in sequence order: the first entry at that time is the earliest.
        self.buckets[b]
            .iter()
            .find(|e| e.time.as_nanos() == earliest)
            .map(|e| (e.time, e.seq))
    }

    /// Takes out the earliest entry if it is due at or before `bound`.
    #[inline]
    pub(super) fn pop_until(&mut self, bound: SimTime) -> Option<Entry<E>> {
        if self.current.is_empty() {
            let b = self.first_bucket()?;
            let earliest = self.earliest(b);
            if earliest > bound.as_nanos() {
                return None;
            }
            self.spill(b, earliest);
        } else if self.current.front()?.time > bound {
            return None;
        }
        self.len -= 1;
        self.current.pop_front()
    }

    /// Moves `last` back to `t`, before every entry: they are put in their buckets
    /// again, in sequence order so that every bucket stays in it.
    #[cold]
    fn rebase(&mut self, t: u64) {
        let mut all: Vec<Entry<E>> = self.current.drain(..).collect();
        for bucket in &mut self.buckets {
            all.append(bucket);
        }
        all.sort_unstable_by_key(|e| e.seq);
        self.occupied = 0;
        self.len = 0;
        self.last = t;
        for entry in all {
            self.push(entry);
        }
    }

    /// The earliest time in occupied bucket `b` [ns].
    fn earliest(&self, b: usize) -> u64 {
        self.buckets[b]
            .iter()
            .map(|e| e.time.as_nanos())
            .min()
            .expect("an occupied bucket has entries")
    }

    fn first_bucket(&self) -> Option<usize> {
        (self.occupied != 0).then(|| self.occupied.trailing_zeros() as usize)
    }

    /// Empties bucket `b` around its earliest time `earliest`, the new `last`: entries at
    /// that time become current, the others go to lower buckets.
    ///
    /// Every bucket is in sequence order, so `current` is too: a push appends the largest
    /// sequence number yet, and a spill goes from the first occupied bucket into lower
    /// ones, which are all empty then, keeping the order it finds.
    fn spill(&mut self, b: usize, earliest: u64) {
        let mut entries = std::mem::take(&mut self.buckets[b]);
        self.occupied &= !(1 << b);
        self.last = earliest;
        for entry in entries.drain(..) {
            self.place(entry);
        }
        // Keep a small allocation for the bucket's next entries; a large one held on to
        // would keep every bucket at its high-water mark.
        if entries.capacity() <= KEPT_CAPACITY {
            self.buckets[b] = entries;
        }
        debug_assert!(self.current.iter().is_sorted_by_key(|e| e.seq));
    }
}
