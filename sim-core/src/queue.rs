//! The future event list: a binary heap ordered by `(time, sequence)`.
//!
//! Events scheduled for the same instant come out in the order they were scheduled
//! (first in, first out): every push takes the next sequence number, and the heap orders
//! by time, then by sequence. Models rely on this for reproducible tie-breaking.
//!
//! Optionally the queue is two-tier (a calendar over a heap): events beyond the current
//! time slot wait in per-slot buckets and enter the heap only when their slot begins. A
//! model with tens of thousands of far timers (requeues minutes ahead) then keeps a small
//! heap. Order is unchanged: every event still comes out by (time, sequence).
//!
//! Cancellation is lazy: a cancelled event stays in the heap and is skipped when it
//! reaches the top. Because events leave the heap in strictly increasing `(time, seq)`
//! order, whether an event has already fired is known from its key alone, so cancelling
//! costs one hash-set insert and an uncancelled run pays one `is_empty` test per pop.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::time::SimTime;

/// The hash of a sequence number: one multiplication (Fibonacci hashing), which spreads
/// consecutive numbers over the table's high bits. The set is checked at every pop while
/// any event is cancelled, and std's SipHash cost more than the check's purpose
/// needs; the numbers are the queue's own, so no one can choose them to collide.
#[derive(Default)]
struct SeqHasher(u64);

impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A handle to a scheduled event, used to cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId {
    time: SimTime,
    seq: u64,
}

impl EventId {
    /// When the event is (or was) due.
    pub fn time(self) -> SimTime {
        self.time
    }
}

struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A priority queue of events of type `E`, earliest first, FIFO among equal times.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    /// Events at or after `near_end`, bucketed by slot (time / `slot_ns`).
    far: BTreeMap<u64, Vec<Entry<E>>>,
    far_len: usize,
    /// Width of a slot [ns]; `u64::MAX` keeps every event in the heap.
    slot_ns: u64,
    /// Every event before this instant is in the heap [ns].
    near_end: u64,
    next_seq: u64,
    /// Sequence numbers of events cancelled while still in the heap.
    cancelled: HashSet<u64, BuildHasherDefault<SeqHasher>>,
    /// Key of the last event popped: every key at or below it has fired.
    last_popped: Option<(SimTime, u64)>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            far: BTreeMap::new(),
            far_len: 0,
            slot_ns: u64::MAX,
            near_end: u64::MAX,
            next_seq: 0,
            cancelled: HashSet::default(),
            last_popped: None,
        }
    }

    /// An empty queue with room for `capacity` events before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(capacity),
            ..Self::new()
        }
    }

    /// A two-tier queue: events more than the current `slot` ahead wait in buckets of that
    /// width until their slot begins.
    pub fn with_slot(slot: crate::time::SimDuration) -> Self {
        let slot_ns = slot.as_nanos().max(1);
        EventQueue {
            slot_ns,
            near_end: slot_ns,
            ..Self::new()
        }
    }

    /// Adds `event` at `time`; it runs after every event already queued for that time.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { time, seq, event };
        if time.as_nanos() < self.near_end {
            self.heap.push(entry);
        } else {
            self.far
                .entry(time.as_nanos() / self.slot_ns)
                .or_default()
                .push(entry);
            self.far_len += 1;
        }
        EventId { time, seq }
    }

    /// With the heap empty, moves the next non-empty slot into it if that slot starts at or
    /// before `bound`. Returns whether the heap has events now.
    #[inline]
    fn refill(&mut self, bound: SimTime) -> bool {
        let Some(mut first) = self.far.first_entry() else {
            return false;
        };
        let slot = *first.key();
        if slot.saturating_mul(self.slot_ns) > bound.as_nanos() {
            return false;
        }
        let entries = std::mem::take(first.get_mut());
        first.remove();
        self.far_len -= entries.len();
        self.near_end = slot.saturating_add(1).saturating_mul(self.slot_ns);
        self.heap.extend(entries);
        true
    }

    /// Removes and returns the earliest pending event if it is due at or before `bound`.
    #[inline]
    pub fn pop_until(&mut self, bound: SimTime) -> Option<(SimTime, E)> {
        loop {
            if self.heap.is_empty() && !self.refill(bound) {
                return None;
            }
            if self.heap.peek()?.time > bound {
                return None;
            }
            let Entry { time, seq, event } = self.heap.pop()?;
            self.last_popped = Some((time, seq));
            if !self.cancelled.is_empty() && self.cancelled.remove(&seq) {
                continue;
            }
            return Some((time, event));
        }
    }

    /// Removes and returns the earliest pending event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_until(SimTime::MAX)
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        // Drop cancelled entries from the top so the answer is a live event's time.
        loop {
            if self.heap.is_empty() && !self.refill(SimTime::MAX) {
                return None;
            }
            let top = self.heap.peek().expect("refilled");
            if self.cancelled.remove(&top.seq) {
                let top = self.heap.pop().expect("peeked entry exists");
                self.last_popped = Some((top.time, top.seq));
            } else {
                return Some(top.time);
            }
        }
    }

    /// Cancels a pending event. Returns `false` if it already fired or was already
    /// cancelled, in which case nothing changes.
    pub fn cancel(&mut self, id: EventId) -> bool {
        if self.has_left_heap(id) {
            return false;
        }
        self.cancelled.insert(id.seq)
    }

    /// Whether `id` is still due to fire.
    pub fn is_pending(&self, id: EventId) -> bool {
        !self.has_left_heap(id) && !self.cancelled.contains(&id.seq)
    }

    fn has_left_heap(&self, id: EventId) -> bool {
        id.seq >= self.next_seq
            || self
                .last_popped
                .is_some_and(|last| (id.time, id.seq) <= last)
    }

    /// Events still due to fire.
    pub fn len(&self) -> usize {
        self.heap.len() + self.far_len - self.cancelled.len()
    }

    /// Whether no event is due to fire.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events ever pushed, a measure of the work a run did.
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_are_processed_fifo() {
        let mut q = EventQueue::new();
        let t = SimTime::from_secs(5);
        for i in 0..1000u32 {
            q.push(t, i);
        }
        q.push(SimTime::from_secs(1), 9999);
        assert_eq!(q.pop(), Some((SimTime::from_secs(1), 9999)));
        let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn the_two_tier_queue_pops_in_the_same_order_as_the_heap() {
        use rand::{RngExt, SeedableRng};
        let mut rng = crate::rng::SimRng::seed_from_u64(8);
        let mut plain = EventQueue::new();
        let mut tiered = EventQueue::with_slot(crate::time::SimDuration::from_nanos(1000));
        let mut now = 0u64;
        let mut ids = Vec::new();
        for i in 0..50_000u64 {
            // Near and far events, many at equal times, pops and cancels interleaved.
            let t = SimTime::from_nanos(now + rng.random_range(0..20_000) / 7 * 7);
            plain.push(t, i);
            ids.push(tiered.push(t, i));
            if i % 3 == 0 {
                let (a, b) = (
                    plain.pop_until(SimTime::from_nanos(now + 500)),
                    tiered.pop_until(SimTime::from_nanos(now + 500)),
                );
                assert_eq!(a, b);
                if let Some((t, _)) = a {
                    now = t.as_nanos();
                }
            }
            if i % 11 == 0 {
                let id = ids[(i / 2) as usize];
                let plain_id = EventId {
                    time: id.time,
                    seq: id.seq,
                };
                assert_eq!(plain.cancel(plain_id), tiered.cancel(id));
            }
        }
        assert_eq!(plain.len(), tiered.len());
        loop {
            let (a, b) = (plain.pop(), tiered.pop());
            assert_eq!(a, b);
            if a.is_none() {
                break;
            }
        }
    }

    #[test]
    fn earlier_times_come_first_whatever_the_push_order() {
        let mut q = EventQueue::new();
        for s in [9, 3, 7, 1, 5] {
            q.push(SimTime::from_secs(s), s);
        }
        let order: Vec<u64> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec![1, 3, 5, 7, 9]);
    }

    #[test]
    fn cancelled_events_never_fire() {
        let mut q = EventQueue::new();
        let a = q.push(SimTime::from_secs(1), 'a');
        let b = q.push(SimTime::from_secs(2), 'b');
        let c = q.push(SimTime::from_secs(2), 'c');
        assert!(q.cancel(b));
        assert!(!q.cancel(b), "second cancel is a no-op");
        assert_eq!(q.len(), 2);
        assert!(q.is_pending(a) && !q.is_pending(b) && q.is_pending(c));
        assert_eq!(q.pop(), Some((SimTime::from_secs(1), 'a')));
        assert!(!q.cancel(a), "a fired already");
        assert_eq!(q.pop(), Some((SimTime::from_secs(2), 'c')));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn cancelling_a_fired_event_leaves_no_residue() {
        let mut q = EventQueue::new();
        let t = SimTime::from_secs(1);
        let first = q.push(t, 1);
        let second = q.push(t, 2);
        assert_eq!(q.pop(), Some((t, 1)));
        // Same instant, earlier sequence: fired. Same instant, later sequence: pending.
        assert!(!q.cancel(first));
        assert!(q.cancel(second));
        assert_eq!(q.pop(), None);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn pop_until_respects_the_bound() {
        let mut q = EventQueue::new();
        q.push(SimTime::from_secs(1), 1);
        q.push(SimTime::from_secs(2), 2);
        assert_eq!(
            q.pop_until(SimTime::from_secs(1)),
            Some((SimTime::from_secs(1), 1))
        );
        assert_eq!(q.pop_until(SimTime::from_secs(1)), None);
        assert_eq!(q.peek_time(), Some(SimTime::from_secs(2)));
    }
}
