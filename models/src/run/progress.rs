//! How far a run has got, for a progress bar: the simulated time reached, the clusters
//! ready and the events handled, updated by the run loop after each 60-s step.
//!
//! The loop writes a few relaxed atomics per step of simulated time and reads nothing
//! back, so watching a run cannot change its results. With several management clusters
//! every part adds to the same counters.

use std::sync::atomic::{AtomicU64, Ordering};

use sim_core::{SimDuration, SimTime};

/// A run's progress, shared between the run loop (the writer) and a display (the reader).
#[derive(Debug, Default)]
pub struct RunProgress {
    /// The furthest simulated time any management cluster has reached [ns].
    simulated_ns: AtomicU64,
    /// Workload clusters ready, summed over the management clusters [count].
    clusters_ready: AtomicU64,
    /// Events handled, summed over the management clusters [count].
    events: AtomicU64,
}

impl RunProgress {
    /// Nothing done yet.
    pub fn new() -> RunProgress {
        RunProgress::default()
    }

    /// The furthest simulated time any management cluster has reached.
    pub fn simulated(&self) -> SimDuration {
        SimDuration::from_nanos(self.simulated_ns.load(Ordering::Relaxed))
    }

    /// Workload clusters ready now [count].
    pub fn clusters_ready(&self) -> u64 {
        self.clusters_ready.load(Ordering::Relaxed)
    }

    /// Events handled so far [count].
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Records one management cluster's state after a step: its clock `now`, its clusters
    /// ready and its events handled in total; `last` holds what it recorded before, so
    /// only the change is added to the shared sums.
    pub(crate) fn record(&self, last: &mut PartProgress, now: SimTime, ready: u32, events: u64) {
        self.simulated_ns
            .fetch_max(now.as_nanos(), Ordering::Relaxed);
        let ready = u64::from(ready);
        // Clusters ready falls when a delete removes them: the counter wraps back.
        self.clusters_ready
            .fetch_add(ready.wrapping_sub(last.ready), Ordering::Relaxed);
        self.events
            .fetch_add(events - last.events, Ordering::Relaxed);
        *last = PartProgress { ready, events };
    }
}

/// What one management cluster last added to a [`RunProgress`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PartProgress {
    /// Clusters ready [count].
    ready: u64,
    /// Events handled [count].
    events: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_their_changes_and_the_clock_keeps_the_furthest() {
        let p = RunProgress::new();
        let (mut a, mut b) = (PartProgress::default(), PartProgress::default());
        p.record(&mut a, SimTime::from_secs(60), 2, 100);
        p.record(&mut b, SimTime::from_secs(120), 3, 50);
        p.record(&mut a, SimTime::from_secs(180), 5, 300);
        assert_eq!(p.clusters_ready(), 8);
        assert_eq!(p.events(), 350);
        assert_eq!(p.simulated(), SimDuration::from_secs(180));
        // A delete takes clusters away.
        p.record(&mut b, SimTime::from_secs(240), 1, 60);
        assert_eq!(p.clusters_ready(), 6);
        assert_eq!(p.events(), 360);
    }
}
