//! API Priority and Fairness (APF): priority levels with seats, queues with shuffle
//! sharding, queue length limit, rejection with 429.
//!
//! Copies k8s.io/apiserver v0.33 `pkg/util/flowcontrol`: each priority level gets a
//! nominal concurrency limit of ceil(total · shares / Σ shares) seats, where total is
//! `--max-requests-inflight` + `--max-mutating-requests-inflight` (400 + 200 by default);
//! a request of a flow is dealt a hand of `hand_size` queues from the flow's hash
//! (`shufflesharding.Dealer`) and joins one of them; a full queue (`queue_length_limit`)
//! rejects it with 429; a queued request waits at most the queue-wait timeout
//! (min(request timeout/4, 1 m) = 15 s by default) and is then rejected. The parts:
//! - [`work_estimate`]: the seats a request holds and for how long;
//! - [`queueset`]: one level's seats and queues, served by fair queuing or
//!   round-robin;
//! - [`borrowing`]: a server's levels, lending and borrowing seats every 10 s by the
//!   seat demand each [`integrator`] saw ([`conc_alloc`] divides them).

pub mod borrowing;
pub mod conc_alloc;
pub mod integrator;
mod queues;
pub mod queueset;
pub mod work_estimate;

use serde::{Deserialize, Serialize};

pub use borrowing::PriorityLevels;
pub use queueset::{Lingering, PriorityLevel, Seated};
pub use work_estimate::WorkEstimate;

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
    /// `lendablePercent`: the share of its nominal seats it may lend [%].
    pub lendable_percent: u32,
    /// `borrowingLimitPercent`: how much beyond its nominal seats it may borrow [%];
    /// none sets no limit.
    pub borrowing_limit_percent: Option<u32>,
}

/// The default limited priority levels of Kubernetes 1.29+
/// (`pkg/apis/flowcontrol/bootstrap/default.go`), exempt left out. None sets a
/// borrowing limit.
pub fn default_levels() -> Vec<PriorityLevelConfig> {
    let level = |name: &str, shares, lendable_percent, queues, hand_size, queue_length_limit| {
        PriorityLevelConfig {
            name: name.to_string(),
            shares,
            queues,
            hand_size,
            queue_length_limit,
            lendable_percent,
            borrowing_limit_percent: None,
        }
    };
    vec![
        level("system", 30, 33, 64, 6, 50),
        level("node-high", 40, 25, 64, 6, 50),
        level("leader-election", 10, 0, 16, 4, 50),
        level("workload-high", 40, 50, 128, 6, 50),
        level("workload-low", 100, 90, 128, 6, 50),
        level("global-default", 20, 50, 128, 6, 50),
        level("catch-all", 5, 0, 0, 0, 0),
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
    /// It holds these seats and executes now.
    Dispatched(Seated),
    /// It waits in this queue.
    Queued(u32),
    /// 429 Too Many Requests: the queue was full (or the level rejects when busy).
    Rejected,
}

#[cfg(test)]
mod tests;
