//! API Priority and Fairness (APF): priority levels with seats, queues with shuffle
//! sharding, queue length limit, rejection with 429.
//!
//! Copies k8s.io/apiserver `pkg/util/flowcontrol`: each priority level gets a nominal
//! concurrency limit of ceil(total · shares / Σ shares) seats, where total is
//! `--max-requests-inflight` + `--max-mutating-requests-inflight` (400 + 200 by default);
//! a request of a flow is dealt a hand of `hand_size` queues from the flow's hash
//! (`shufflesharding.Dealer`) and joins the shortest; a full queue (`queue_length_limit`)
//! rejects it with 429; a queued request waits at most the queue-wait timeout
//! (min(request timeout/4, 1 m) = 15 s by default) and is then rejected. A request occupies
//! its width in seats while it executes.
//!
//! Simplified: queues are served round-robin (equal-share fair queuing for requests of
//! equal cost) instead of by virtual finish time; seats are not borrowed between levels
//! (`lendablePercent`). The pieces for both, copied from k8s.io/apiserver v0.33, are
//! [`work_estimate`] (seats and seat-seconds), [`integrator`] (a level's seat demand)
//! and [`conc_alloc`] (the fair division of a server's seats).

pub mod conc_alloc;
pub mod integrator;
pub mod work_estimate;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::SimTime;
use sim_core::stats::TimeWeightedGauge;

/// One priority level's settings, as in a `PriorityLevelConfiguration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriorityLevelConfig {
    /// Name (e.g. `workload-low`).
    pub name: String,
    /// `nominalConcurrencyShares`.
    pub shares: u32,
    /// `queuing.queues`; zero means `limitResponse: Reject`.
    pub queues: u32,
    /// `queuing.handSize`.
    pub hand_size: u32,
    /// `queuing.queueLengthLimit`.
    pub queue_length_limit: u32,
}

/// The default limited priority levels of Kubernetes 1.29+
/// (`pkg/apis/flowcontrol/bootstrap/default.go`), exempt left out.
pub fn default_levels() -> Vec<PriorityLevelConfig> {
    let level = |name: &str, shares, queues, hand_size, queue_length_limit| PriorityLevelConfig {
        name: name.to_string(),
        shares,
        queues,
        hand_size,
        queue_length_limit,
    };
    vec![
        level("system", 30, 64, 6, 50),
        level("node-high", 40, 64, 6, 50),
        level("leader-election", 10, 16, 4, 50),
        level("workload-high", 40, 128, 6, 50),
        level("workload-low", 100, 128, 6, 50),
        level("global-default", 20, 128, 6, 50),
        level("catch-all", 5, 0, 0, 0),
    ]
}

/// Nominal concurrency limits [seats] of `levels` sharing `total_seats`:
/// ceil(total · shares / Σ shares), as `apf_controller.go` computes them.
pub fn nominal_limits(total_seats: u32, levels: &[PriorityLevelConfig]) -> Vec<u32> {
    let sum: u64 = levels.iter().map(|l| u64::from(l.shares)).sum();
    levels
        .iter()
        .map(|l| (u64::from(total_seats) * u64::from(l.shares)).div_ceil(sum.max(1)) as u32)
        .collect()
}

/// The queue indices dealt to a flow: `hand_size` distinct cards from a deck of `deck`
/// queues, drawn from the flow's hash as shuffle sharding's dealer draws them (mixed
/// radix digits of the hash, each card skipping those already dealt).
pub fn deal_hand(hash: u64, deck: u32, hand_size: u32) -> Vec<u32> {
    let hand_size = hand_size.min(deck);
    let mut value = hash;
    let mut remainders = Vec::with_capacity(hand_size as usize);
    for i in 0..hand_size {
        let base = u64::from(deck - i);
        remainders.push((value % base) as u32);
        value /= base;
    }
    let mut hand: Vec<u32> = Vec::with_capacity(hand_size as usize);
    for i in 0..remainders.len() {
        let mut card = remainders[i];
        for j in (0..i).rev() {
            if card >= remainders[j] {
                card += 1;
            }
        }
        hand.push(card);
    }
    hand
}

/// What happened to a request on arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// It holds its seats and executes now.
    Dispatched,
    /// It waits in this queue.
    Queued(u32),
    /// 429 Too Many Requests: the queue was full (or the level rejects when busy).
    Rejected,
}

/// One priority level of one API server.
pub struct PriorityLevel<R> {
    seats: u32,
    in_use: u32,
    queues: Vec<VecDeque<(R, u32)>>,
    queue_length_limit: usize,
    cursor: usize,
    queued: usize,
    /// Seats in use over time [seats].
    pub seats_gauge: TimeWeightedGauge,
    /// Requests waiting over time [requests].
    pub queued_gauge: TimeWeightedGauge,
    /// Requests rejected with 429 [count].
    pub rejected: u64,
    /// Requests dispatched [count].
    pub dispatched: u64,
}

impl<R: Copy + PartialEq> PriorityLevel<R> {
    /// A level with `seats` seats and the queues of `cfg`.
    pub fn new(cfg: &PriorityLevelConfig, seats: u32) -> Self {
        PriorityLevel {
            seats: seats.max(1),
            in_use: 0,
            queues: (0..cfg.queues).map(|_| VecDeque::new()).collect(),
            queue_length_limit: cfg.queue_length_limit as usize,
            cursor: 0,
            queued: 0,
            seats_gauge: TimeWeightedGauge::default(),
            queued_gauge: TimeWeightedGauge::default(),
            rejected: 0,
            dispatched: 0,
        }
    }

    /// Seats of this level [seats].
    pub fn seats(&self) -> u32 {
        self.seats
    }

    /// Seats held by executing requests [seats].
    pub fn in_use(&self) -> u32 {
        self.in_use
    }

    /// Requests waiting in its queues [count].
    pub fn queued(&self) -> usize {
        self.queued
    }

    fn occupy(&mut self, now: SimTime, width: u32) {
        self.in_use += width;
        self.dispatched += 1;
        self.seats_gauge.set(now, f64::from(self.in_use));
    }

    /// A request of `width` seats arrives from the flow dealt `hand`.
    pub fn arrive(&mut self, now: SimTime, req: R, hand: &[u32], width: u32) -> Admission {
        let width = width.clamp(1, self.seats);
        if self.queued == 0 && self.in_use + width <= self.seats {
            self.occupy(now, width);
            return Admission::Dispatched;
        }
        if self.queues.is_empty() {
            self.rejected += 1;
            return Admission::Rejected;
        }
        let q = *hand
            .iter()
            .min_by_key(|&&q| (self.queues[q as usize].len(), q))
            .expect("a hand has at least one queue");
        if self.queues[q as usize].len() >= self.queue_length_limit {
            self.rejected += 1;
            return Admission::Rejected;
        }
        self.queues[q as usize].push_back((req, width));
        self.queued += 1;
        self.queued_gauge.set(now, self.queued as f64);
        Admission::Queued(q)
    }

    /// A request releases `width` seats; queued requests that now fit are dispatched,
    /// round-robin over the queues, and handed to `dispatch`.
    pub fn release(&mut self, now: SimTime, width: u32, dispatch: impl FnMut(R)) {
        let width = width.clamp(1, self.seats);
        self.in_use -= width;
        self.seats_gauge.set(now, f64::from(self.in_use));
        self.dispatch_queued(now, dispatch);
    }

    fn dispatch_queued(&mut self, now: SimTime, mut dispatch: impl FnMut(R)) {
        let n = self.queues.len();
        while self.queued > 0 {
            // Next non-empty queue from the cursor.
            let q = (0..n)
                .map(|i| (self.cursor + i) % n)
                .find(|&q| !self.queues[q].is_empty());
            let Some(q) = q else { break };
            let (req, width) = *self.queues[q].front().expect("non-empty");
            if self.in_use + width > self.seats {
                break;
            }
            self.queues[q].pop_front();
            self.queued -= 1;
            self.cursor = (q + 1) % n;
            self.occupy(now, width);
            dispatch(req);
        }
        self.queued_gauge.set(now, self.queued as f64);
    }

    /// Removes a request whose queue wait timed out from queue `q`; `false` if it was not
    /// there (already dispatched). Requests it was blocking that now fit are dispatched.
    pub fn time_out(&mut self, now: SimTime, q: u32, req: R, dispatch: impl FnMut(R)) -> bool {
        let queue = &mut self.queues[q as usize];
        match queue.iter().position(|(r, _)| *r == req) {
            Some(i) => {
                queue.remove(i);
                self.queued -= 1;
                self.rejected += 1;
                self.dispatch_queued(now, dispatch);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: SimTime = SimTime::ZERO;

    fn level(seats: u32, queues: u32, qlen: u32) -> PriorityLevel<u32> {
        let cfg = PriorityLevelConfig {
            name: "test".into(),
            shares: 1,
            queues,
            hand_size: 2,
            queue_length_limit: qlen,
        };
        PriorityLevel::new(&cfg, seats)
    }

    #[test]
    fn default_levels_get_the_documented_seats() {
        // 600 seats: workload-low 245, global-default 49, workload-high 98 (defaults.md).
        let levels = default_levels();
        let limits = nominal_limits(600, &levels);
        let seats = |name: &str| limits[levels.iter().position(|l| l.name == name).unwrap()];
        assert_eq!(seats("workload-low"), 245);
        assert_eq!(seats("global-default"), 49);
        assert_eq!(seats("workload-high"), 98);
        assert_eq!(seats("leader-election"), 25);
    }

    #[test]
    fn a_hand_is_distinct_queues_within_the_deck() {
        for hash in [0u64, 1, 12345, u64::MAX, 0xdead_beef_cafe] {
            let mut hand = deal_hand(hash, 128, 6);
            assert!(hand.iter().all(|&q| q < 128));
            hand.sort_unstable();
            hand.dedup();
            assert_eq!(hand.len(), 6, "hash {hash}");
        }
    }

    #[test]
    fn never_more_seats_in_use_than_configured() {
        let mut l = level(4, 8, 1000);
        let hand = deal_hand(7, 8, 2);
        let mut running = Vec::new();
        for r in 0..100u32 {
            if l.arrive(T, r, &hand, 1) == Admission::Dispatched {
                running.push(r);
            }
            assert!(l.in_use() <= 4);
        }
        assert_eq!(running.len(), 4);
        assert_eq!(l.queued(), 96);
        // Each release lets exactly one queued request in.
        let mut let_in = Vec::new();
        for _ in 0..10 {
            l.release(T, 1, |r| let_in.push(r));
            assert!(l.in_use() <= 4);
        }
        assert_eq!(let_in.len(), 10);
        assert_eq!(l.seats_gauge.max(), 4.0);
    }

    #[test]
    fn a_full_queue_gives_429s() {
        // One seat, hand of 2 queues of 3: 1 executes, 6 wait, the rest are rejected.
        let mut l = level(1, 4, 3);
        let hand = deal_hand(99, 4, 2);
        let results: Vec<Admission> = (0..10u32).map(|r| l.arrive(T, r, &hand, 1)).collect();
        assert_eq!(results[0], Admission::Dispatched);
        assert_eq!(
            results
                .iter()
                .filter(|a| matches!(a, Admission::Queued(_)))
                .count(),
            6
        );
        assert_eq!(
            results
                .iter()
                .filter(|a| **a == Admission::Rejected)
                .count(),
            3
        );
        assert_eq!(l.rejected, 3);
    }

    #[test]
    fn flows_are_served_round_robin() {
        // Two flows on disjoint queues; flow A floods first, flow B arrives later: B's
        // request is served second, not after all of A's.
        let mut l = level(1, 2, 100);
        l.arrive(T, 0, &[0], 1);
        for r in 1..=5 {
            l.arrive(T, r, &[0], 1);
        }
        l.arrive(T, 100, &[1], 1);
        let mut order = Vec::new();
        for _ in 0..6 {
            l.release(T, 1, |r| order.push(r));
        }
        assert_eq!(order[..2], [1, 100]);
    }

    #[test]
    fn timed_out_requests_leave_the_queue() {
        let mut l = level(1, 1, 10);
        l.arrive(T, 1, &[0], 1);
        assert_eq!(l.arrive(T, 2, &[0], 1), Admission::Queued(0));
        assert!(l.time_out(T, 0, 2, |_| panic!("nothing fits")));
        assert!(!l.time_out(T, 0, 2, |_| {}));
        assert_eq!((l.queued(), l.rejected), (0, 1));
    }

    #[test]
    fn a_timed_out_wide_request_unblocks_the_ones_behind_it() {
        // 4 seats, 3 in use; a 4-seat LIST waits at the head, a 1-seat write behind it.
        let mut l = level(4, 1, 10);
        l.arrive(T, 1, &[0], 3);
        assert_eq!(l.arrive(T, 2, &[0], 4), Admission::Queued(0));
        assert_eq!(l.arrive(T, 3, &[0], 1), Admission::Queued(0));
        let mut went = Vec::new();
        assert!(l.time_out(T, 0, 2, |r| went.push(r)));
        assert_eq!(went, vec![3]);
        assert_eq!(l.in_use(), 4);
    }
}
