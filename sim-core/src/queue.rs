//! The future event list: a priority queue ordered by `(time, sequence)`.
//!
//! Events scheduled for the same instant come out in the order they were scheduled
//! (first in, first out): every push takes the next sequence number, and the queue
//! orders by time, then by sequence. Models rely on this for reproducible tie-breaking.
//!
//! The events are kept in a radix heap (`radix`): a simulation never schedules into its
//! past, so a bit scan places an event, and the far timers (requeues minutes ahead) sit
//! in a few high buckets until the clock comes near them.
//!
//! Cancellation is lazy: a cancelled event stays in the heap and is skipped when it
//! reaches the top. Because events leave the heap in strictly increasing `(time, seq)`
//! order, whether an event has already fired is known from its key alone, so cancelling
//! costs one hash-set insert and an uncancelled run pays one `is_empty` test per pop.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::time::SimTime;

mod radix;

use radix::RadixHeap;

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

/// A priority queue of events of type `E`, earliest first, FIFO among equal times.
pub struct EventQueue<E> {
    heap: RadixHeap<E>,
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
            heap: RadixHeap::new(),
            next_seq: 0,
            cancelled: HashSet::default(),
            last_popped: None,
        }
    }

    /// Adds `event` at `time`; it runs after every event already queued for that time.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, event });
        EventId { time, seq }
    }

    /// Removes and returns the earliest pending event if it is due at or before `bound`.
    #[inline]
    pub fn pop_until(&mut self, bound: SimTime) -> Option<(SimTime, E)> {
        loop {
            let Entry { time, seq, event } = self.heap.pop_until(bound)?;
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
            let (time, seq) = self.heap.peek_key()?;
            if self.cancelled.remove(&seq) {
                self.heap.pop_until(time).expect("peeked entry exists");
                self.last_popped = Some((time, seq));
            } else {
                return Some(time);
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
        self.heap.len() - self.cancelled.len()
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

    /// Pushes, bounded pops and cancels at random, many at equal times and some far
    /// ahead, checked against a sorted map of `(time, seq)`: the order the queue promises.
    fn matches_a_sorted_map(seed: u64) {
        use rand::{RngExt, SeedableRng};
        use std::collections::BTreeMap;
        let mut rng = crate::rng::SimRng::seed_from_u64(seed);
        let mut q = EventQueue::new();
        let mut reference: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut now = 0u64;
        let mut ids = Vec::new();
        for i in 0..50_000u64 {
            // Mostly near, on a coarse grid so that times collide; one in 50 far ahead.
            let ahead = if rng.random_range(0..50) == 0 {
                rng.random_range(0..1u64 << 40)
            } else {
                rng.random_range(0..20_000) / 7 * 7
            };
            let t = now + ahead;
            let id = q.push(SimTime::from_nanos(t), i);
            reference.insert((t, id.seq), i);
            ids.push(id);
            if i % 3 == 0 {
                let bound = now + rng.random_range(0..600);
                let want = match reference.first_key_value() {
                    Some((&(t, seq), _)) if t <= bound => {
                        reference.remove(&(t, seq)).map(|e| (t, e))
                    }
                    _ => None,
                };
                let got = q.pop_until(SimTime::from_nanos(bound));
                assert_eq!(got, want.map(|(t, e)| (SimTime::from_nanos(t), e)));
                // The clock moves as `Simulation::run_until` moves it.
                now = got.map_or(bound, |(t, _)| t.as_nanos());
            }
            if i % 11 == 0 {
                let id = ids[rng.random_range(0..ids.len())];
                let live = reference.remove(&(id.time.as_nanos(), id.seq)).is_some();
                assert_eq!(q.cancel(id), live);
            }
            assert_eq!(q.len(), reference.len());
        }
        for ((t, _), e) in reference {
            assert_eq!(q.pop(), Some((SimTime::from_nanos(t), e)));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn events_come_out_by_time_then_sequence() {
        for seed in 1..=4 {
            matches_a_sorted_map(seed);
        }
    }

    #[test]
    fn equal_times_pushed_before_and_after_a_pop_keep_their_push_order() {
        // The first 1,000 ns event is pushed while the queue's last time is 0, the others
        // after it moved to 512, which moves the first to another bucket.
        let mut q = EventQueue::new();
        let t = SimTime::from_nanos(1000);
        q.push(t, 'a');
        q.push(SimTime::from_nanos(512), 'x');
        assert_eq!(q.pop(), Some((SimTime::from_nanos(512), 'x')));
        q.push(t, 'b');
        q.push(SimTime::from_nanos(999), 'y');
        q.push(t, 'c');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['y', 'a', 'b', 'c']);
    }

    #[test]
    fn an_event_before_a_skipped_cancelled_one_still_comes_first() {
        // `peek_time` takes the cancelled event at 100 out; the clock is still before it.
        let mut q = EventQueue::new();
        let a = q.push(SimTime::from_nanos(100), 'a');
        q.push(SimTime::from_nanos(200), 'b');
        assert!(q.cancel(a));
        assert_eq!(q.peek_time(), Some(SimTime::from_nanos(200)));
        q.push(SimTime::from_nanos(50), 'c');
        q.push(SimTime::from_nanos(200), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['c', 'b', 'd']);
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
