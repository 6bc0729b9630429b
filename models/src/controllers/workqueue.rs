//! controller-runtime's workqueue: dirty/processing sets, per-item backoff, delayed adds.
//!
//! Copies client-go `util/workqueue/queue.go` and controller-runtime's priority queue
//! (`pkg/controller/priorityqueue`):
//! - an item is queued at most once (the dirty set); an item added while a worker
//!   processes it is marked dirty and queued once more when the worker calls `done`,
//!   so the same key is never processed twice at once;
//! - `add_rate_limited` delays by the per-item exponential backoff
//!   (`ItemExponentialFailureRateLimiter`: base·2^failures, capped), combined in the
//!   legacy queue with an overall token bucket (10 qps, burst 100) by taking the longer
//!   wait (`MaxOfRateLimiter`); `forget` resets the item's failures;
//! - `add_after` holds an item until its time; of several pending delays for one item the
//!   earliest wins, as in client-go's delaying queue;
//! - the priority queue (controller-runtime ≥ v0.23 default) serves normal events before
//!   initial-list and resync events (priority −100); the legacy queue is one FIFO.
//!
//! Keys are dense indices (a Machine's index in the fleet, say), so the sets are vectors.
//! Left out: the fairness of the priority queue among items of equal priority beyond FIFO.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::stats::{LatencyHistogram, TimeWeightedGauge};
use sim_core::{SimDuration, SimTime};

use crate::apiserver::client_limiter::TokenBucket;
use crate::scenario::config::QueueKind;

/// The queue's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkQueueConfig {
    /// Implementation.
    pub kind: QueueKind,
    /// First backoff delay [s] (client-go: 0.005).
    pub base_delay_s: f64,
    /// Longest backoff delay [s] (client-go: 1000).
    pub max_delay_s: f64,
    /// Overall bucket of the legacy limiter [qps] (client-go: 10).
    pub overall_qps: f64,
    /// Overall bucket size of the legacy limiter [count] (client-go: 100).
    pub overall_burst: u32,
}

impl WorkQueueConfig {
    /// client-go's defaults for the given implementation.
    pub fn default_for(kind: QueueKind) -> Self {
        WorkQueueConfig {
            kind,
            base_delay_s: 0.005,
            max_delay_s: 1000.0,
            overall_qps: 10.0,
            overall_burst: 100,
        }
    }
}

/// Priority of an add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// A watch event or an explicit requeue.
    Normal,
    /// An initial list or a resync (priority −100 in controller-runtime).
    Low,
}

/// A workqueue of dense integer keys.
pub struct WorkQueue {
    cfg: WorkQueueConfig,
    normal: VecDeque<(u32, u32)>,
    low: VecDeque<(u32, u32)>,
    /// Per key: queued-or-to-be-queued, being processed, token of its live queue entry.
    dirty: Vec<bool>,
    processing: Vec<bool>,
    token: Vec<u32>,
    queued_priority: Vec<Option<Priority>>,
    added_at: Vec<SimTime>,
    /// When the item last became available to a worker (its add, or the `done` of the
    /// reconcile it waited behind).
    ready_at: Vec<SimTime>,
    failures: Vec<u32>,
    /// Earliest pending `add_after` time per key.
    delayed_until: Vec<Option<SimTime>>,
    overall: Option<TokenBucket>,
    depth: usize,
    /// Items waiting in the queue [count], over time.
    pub depth_gauge: TimeWeightedGauge,
    /// Time from add to a worker taking the item.
    pub queue_latency: LatencyHistogram,
    /// Items added with backoff after an error or `Requeue: true` [count].
    pub retries: u64,
}

impl WorkQueue {
    /// An empty queue; `depth_threshold` is the depth above which time is counted (the
    /// guide's alert fires above 100).
    pub fn new(cfg: WorkQueueConfig, depth_threshold: f64) -> Self {
        WorkQueue {
            cfg,
            normal: VecDeque::new(),
            low: VecDeque::new(),
            dirty: Vec::new(),
            processing: Vec::new(),
            token: Vec::new(),
            queued_priority: Vec::new(),
            added_at: Vec::new(),
            ready_at: Vec::new(),
            failures: Vec::new(),
            delayed_until: Vec::new(),
            overall: (cfg.kind == QueueKind::Legacy)
                .then(|| TokenBucket::new(cfg.overall_qps, cfg.overall_burst)),
            depth: 0,
            depth_gauge: TimeWeightedGauge::new(depth_threshold),
            queue_latency: LatencyHistogram::new(),
            retries: 0,
        }
    }

    fn ensure(&mut self, key: u32) {
        let k = key as usize;
        if k >= self.dirty.len() {
            let n = (k + 1).max(self.dirty.len() * 2);
            self.dirty.resize(n, false);
            self.processing.resize(n, false);
            self.token.resize(n, 0);
            self.queued_priority.resize(n, None);
            self.added_at.resize(n, SimTime::ZERO);
            self.ready_at.resize(n, SimTime::ZERO);
            self.failures.resize(n, 0);
            self.delayed_until.resize(n, None);
        }
    }

    fn push(&mut self, key: u32, priority: Priority) {
        let k = key as usize;
        self.token[k] = self.token[k].wrapping_add(1);
        let entry = (key, self.token[k]);
        match (self.cfg.kind, priority) {
            (QueueKind::Priority, Priority::Low) => self.low.push_back(entry),
            _ => self.normal.push_back(entry),
        }
        self.queued_priority[k] = Some(priority);
    }

    /// Adds `key` now. Returns `true` if it became available to a worker (it was neither
    /// queued already nor being processed).
    pub fn add(&mut self, key: u32, now: SimTime, priority: Priority) -> bool {
        self.ensure(key);
        let k = key as usize;
        if self.dirty[k] {
            // Already queued: a normal add raises a low-priority entry (priority queue).
            if self.cfg.kind == QueueKind::Priority
                && priority == Priority::Normal
                && self.queued_priority[k] == Some(Priority::Low)
            {
                self.push(key, Priority::Normal);
            }
            return false;
        }
        self.dirty[k] = true;
        self.added_at[k] = now;
        if self.processing[k] {
            self.queued_priority[k] = Some(priority);
            return false;
        }
        self.push(key, priority);
        self.ready_at[k] = now;
        self.depth += 1;
        self.depth_gauge.set(now, self.depth as f64);
        true
    }

    /// Adds `key` after `delay`. Returns the instant at which the caller must call
    /// [`WorkQueue::delay_elapsed`], or `None` if nothing is to be scheduled (no delay:
    /// added at once; or an earlier delayed add is already pending).
    pub fn add_after(&mut self, key: u32, now: SimTime, delay: SimDuration) -> Option<SimTime> {
        self.ensure(key);
        if delay == SimDuration::ZERO {
            self.add(key, now, Priority::Normal);
            return None;
        }
        let at = now + delay;
        let k = key as usize;
        match self.delayed_until[k] {
            Some(pending) if pending <= at => None,
            _ => {
                self.delayed_until[k] = Some(at);
                Some(at)
            }
        }
    }

    /// A delay scheduled by `add_after` for `at` is over. Stale wake-ups (superseded by an
    /// earlier delay) are ignored. Returns `true` if the key became available.
    pub fn delay_elapsed(&mut self, key: u32, now: SimTime, at: SimTime) -> bool {
        let k = key as usize;
        if self.delayed_until.get(k).copied().flatten() != Some(at) {
            return false;
        }
        self.delayed_until[k] = None;
        self.add(key, now, Priority::Normal)
    }

    /// The backoff for one more failure of `key`, and counts the failure.
    pub fn next_backoff(&mut self, key: u32, now: SimTime) -> SimDuration {
        self.ensure(key);
        let k = key as usize;
        let exp = self.failures[k].min(62);
        self.failures[k] = self.failures[k].saturating_add(1);
        let per_item = (self.cfg.base_delay_s * 2f64.powi(exp as i32)).min(self.cfg.max_delay_s);
        let per_item = SimDuration::from_secs_f64(per_item);
        match &mut self.overall {
            Some(bucket) => per_item.max(bucket.reserve(now)),
            None => per_item,
        }
    }

    /// Adds `key` after its backoff (an error result, or `Requeue: true`); returns the
    /// wake-up to schedule, as `add_after` does.
    pub fn add_rate_limited(&mut self, key: u32, now: SimTime) -> Option<SimTime> {
        self.retries += 1;
        let delay = self.next_backoff(key, now);
        self.add_after(key, now, delay)
    }

    /// Resets the backoff of `key` (a successful reconcile, or `RequeueAfter`).
    pub fn forget(&mut self, key: u32) {
        if let Some(f) = self.failures.get_mut(key as usize) {
            *f = 0;
        }
    }

    /// Failures counted for `key` since its last `forget`.
    pub fn failures(&self, key: u32) -> u32 {
        self.failures.get(key as usize).copied().unwrap_or(0)
    }

    /// Hands the next item to a worker, with the time it waited for a worker: from when it
    /// became available, so time spent behind its own reconcile is not counted. (The queue
    /// latency histogram counts from the add, as client-go's `queue_duration` does.)
    pub fn get(&mut self, now: SimTime) -> Option<(u32, SimDuration)> {
        loop {
            let (key, token) = match self.normal.pop_front() {
                Some(e) => e,
                None => self.low.pop_front()?,
            };
            let k = key as usize;
            if self.token[k] != token || !self.dirty[k] || self.processing[k] {
                continue; // superseded by a later entry for the same key
            }
            self.dirty[k] = false;
            self.processing[k] = true;
            self.queued_priority[k] = None;
            self.depth -= 1;
            self.depth_gauge.set(now, self.depth as f64);
            self.queue_latency
                .record(now.saturating_since(self.added_at[k]));
            return Some((key, now.saturating_since(self.ready_at[k])));
        }
    }

    /// The worker is done with `key`. Returns `true` if the key was added meanwhile and is
    /// now queued again.
    pub fn done(&mut self, key: u32, now: SimTime) -> bool {
        let k = key as usize;
        self.processing[k] = false;
        if self.dirty[k] {
            let priority = self.queued_priority[k].unwrap_or(Priority::Normal);
            self.push(key, priority);
            self.ready_at[k] = now;
            self.depth += 1;
            self.depth_gauge.set(now, self.depth as f64);
            return true;
        }
        false
    }

    /// Whether `key` is being processed now.
    pub fn is_processing(&self, key: u32) -> bool {
        self.processing.get(key as usize).copied().unwrap_or(false)
    }

    /// Items waiting for a worker [count].
    pub fn len(&self) -> usize {
        self.depth
    }

    /// Whether no item waits for a worker.
    pub fn is_empty(&self) -> bool {
        self.depth == 0
    }

    /// Empties the queue, as a restarted process starts with an empty one; backoff state
    /// and pending delays are lost too.
    pub fn clear(&mut self, now: SimTime) {
        self.normal.clear();
        self.low.clear();
        self.dirty.iter_mut().for_each(|d| *d = false);
        self.processing.iter_mut().for_each(|p| *p = false);
        self.queued_priority.iter_mut().for_each(|p| *p = None);
        self.failures.iter_mut().for_each(|f| *f = 0);
        self.delayed_until.iter_mut().for_each(|d| *d = None);
        self.depth = 0;
        self.depth_gauge.set(now, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(kind: QueueKind) -> WorkQueue {
        WorkQueue::new(WorkQueueConfig::default_for(kind), 100.0)
    }

    const T0: SimTime = SimTime::ZERO;

    #[test]
    fn an_item_is_queued_once_however_often_it_is_added() {
        let mut q = queue(QueueKind::Legacy);
        assert!(q.add(7, T0, Priority::Normal));
        assert!(!q.add(7, T0, Priority::Normal));
        assert_eq!(q.len(), 1);
        assert_eq!(q.get(T0).map(|(k, _)| k), Some(7));
        assert_eq!(q.get(T0), None);
    }

    #[test]
    fn never_processes_the_same_key_twice_at_once_and_reruns_it_once() {
        let mut q = queue(QueueKind::Legacy);
        q.add(1, T0, Priority::Normal);
        let (k, _) = q.get(T0).unwrap();
        assert!(q.is_processing(k));
        // Added three times during processing: not handed out now...
        for _ in 0..3 {
            assert!(!q.add(1, T0, Priority::Normal));
        }
        assert_eq!(q.get(T0), None, "the key is in process");
        // ...and queued exactly once when the worker is done; its wait for a worker counts
        // from the done, not from the add.
        let t5 = SimTime::from_secs(5);
        assert!(q.done(1, t5));
        assert_eq!(
            q.get(SimTime::from_secs(6)),
            Some((1, SimDuration::from_secs(1)))
        );
        assert_eq!(
            q.queue_latency.max(),
            SimDuration::from_secs(6),
            "client-go counts from the add"
        );
        assert!(!q.done(1, SimTime::from_secs(6)));
        assert_eq!(q.get(SimTime::from_secs(6)), None);
    }

    #[test]
    fn fifo_order_and_queue_latency() {
        let mut q = queue(QueueKind::Legacy);
        for (t, k) in [(1, 3), (2, 1), (3, 2)] {
            q.add(k, SimTime::from_secs(t), Priority::Normal);
        }
        let now = SimTime::from_secs(10);
        let got: Vec<(u32, SimDuration)> = std::iter::from_fn(|| q.get(now)).collect();
        assert_eq!(
            got,
            vec![
                (3, SimDuration::from_secs(9)),
                (1, SimDuration::from_secs(8)),
                (2, SimDuration::from_secs(7))
            ]
        );
    }

    #[test]
    fn priority_queue_serves_resyncs_after_events() {
        let mut q = queue(QueueKind::Priority);
        q.add(1, T0, Priority::Low);
        q.add(2, T0, Priority::Low);
        q.add(3, T0, Priority::Normal);
        q.add(2, T0, Priority::Normal); // a watch event raises the queued resync
        let order: Vec<u32> = std::iter::from_fn(|| q.get(T0).map(|(k, _)| k)).collect();
        assert_eq!(order, vec![3, 2, 1]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn backoff_doubles_until_max_delay() {
        let mut q = queue(QueueKind::Priority);
        let delays: Vec<f64> = (0..20)
            .map(|_| q.next_backoff(5, T0).as_secs_f64())
            .collect();
        assert!((delays[0] - 0.005).abs() < 1e-9);
        assert!((delays[1] - 0.010).abs() < 1e-9);
        assert!((delays[10] - 0.005 * 1024.0).abs() < 1e-9);
        assert_eq!(delays[19], 1000.0);
        q.forget(5);
        assert!((q.next_backoff(5, T0).as_secs_f64() - 0.005).abs() < 1e-9);
    }

    #[test]
    fn legacy_limiter_takes_the_longer_of_backoff_and_overall_bucket() {
        let mut q = queue(QueueKind::Legacy);
        // 100 distinct keys fail at once: the overall bucket (burst 100) absorbs them...
        for k in 0..100 {
            assert!(q.next_backoff(k, T0) <= SimDuration::from_millis(5));
        }
        // ...the 101st waits for the 10 qps refill, far longer than its 5 ms backoff.
        assert_eq!(q.next_backoff(100, T0), SimDuration::from_millis(100));
    }

    #[test]
    fn earliest_delayed_add_wins() {
        let mut q = queue(QueueKind::Legacy);
        let late = q.add_after(4, T0, SimDuration::from_secs(30)).unwrap();
        let early = q.add_after(4, T0, SimDuration::from_secs(5)).unwrap();
        assert_eq!(q.add_after(4, T0, SimDuration::from_secs(60)), None);
        assert!(q.delay_elapsed(4, early, early));
        assert!(
            !q.delay_elapsed(4, late, late),
            "superseded wake-up is ignored"
        );
        assert_eq!(q.get(early).map(|(k, _)| k), Some(4));
    }
}
