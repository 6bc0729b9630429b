//! Prometheus as the guide's alerting rules meet it: classic histograms with their
//! published bucket lists, `histogram_quantile` over a window's increases, counters
//! sampled at each rule evaluation, and an alerting rule's `for:` (pending, firing,
//! resolved).
//!
//! Copied from Prometheus v3 (`promql/quantile.go` `BucketQuantile`, `rules/alerting.go`
//! `AlertingRule.Eval`), controller-runtime v0.22
//! (`pkg/internal/controller/metrics/metrics.go`) and k8s.io/apiserver v0.33
//! (`pkg/endpoints/metrics/metrics.go`). Left out: scrapes (every series is read exactly
//! at the evaluation, as if scraped then), `rate()`'s extrapolation at the window's edges
//! (a rate is the window's increase over its length), native histograms,
//! `keep_firing_for`, the rule group's evaluation offset.

use sim_core::{SimDuration, SimTime};

/// `controller_runtime_reconcile_time_seconds`' upper bounds [s] (controller-runtime
/// v0.22). The largest finite bound is 60: a quantile above it reads as 60.
pub const RECONCILE_TIME_BUCKETS: [f64; 40] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
    1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0,
    25.0, 30.0, 40.0, 50.0, 60.0,
];

/// `apiserver_request_duration_seconds`' upper bounds [s] (k8s.io/apiserver v0.33).
pub const APISERVER_REQUEST_DURATION_BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// A classic histogram's counters: observations per bucket since the start, the last
/// entry the +Inf bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Observations per bucket (not cumulative), `bounds.len() + 1` of them [count].
    counts: Vec<u64>,
}

impl Histogram {
    /// No observations, over the upper bounds `bounds` (ascending, finite).
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
        }
    }

    /// Counts `v` in the first bucket whose upper bound it does not exceed (`le`).
    pub fn observe(&mut self, v: f64) {
        // A scan from the smallest bound: most observations (reconciles, requests) fall in
        // the first buckets, where it ends after a comparison or two and predicts well; a
        // binary search's dependent loads were 2 % of a run's samples. The same bucket.
        let i = self
            .bounds
            .iter()
            .position(|&b| b >= v || v.is_nan())
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
    }

    /// The upper bounds.
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// Observations per bucket since the start [count].
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }
}

/// `histogram_quantile(q, ...)` over per-bucket counts `counts` (not cumulative, the
/// last the +Inf bucket) of upper bounds `bounds`, as Prometheus computes it: the bucket
/// the rank falls in, linearly interpolated from its lower to its upper bound; in the
/// +Inf bucket, the largest finite bound. `None` (NaN in Prometheus, which no comparison
/// passes) with no observations. A rate's common divisor cancels, so increases do.
pub fn histogram_quantile(q: f64, bounds: &[f64], counts: &[u64]) -> Option<f64> {
    debug_assert_eq!(counts.len(), bounds.len() + 1);
    let total: u64 = counts.iter().sum();
    if total == 0 || bounds.is_empty() {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, &bound) in bounds.iter().enumerate() {
        let cum = below + counts[i];
        if cum as f64 >= rank {
            if i == 0 && bound <= 0.0 {
                return Some(bound);
            }
            let start = if i == 0 { 0.0 } else { bounds[i - 1] };
            let in_bucket = counts[i] as f64;
            let into = rank - below as f64;
            return Some(start + (bound - start) * (into / in_bucket));
        }
        below = cum;
    }
    Some(bounds[bounds.len() - 1])
}

/// Counters sampled at each evaluation: the increase over a window is the value now less
/// the value a window ago (the start's zero while the run is younger than the window).
#[derive(Clone, Debug)]
pub struct CounterWindow {
    /// Samples, oldest first, at most `span + 1` of them.
    samples: std::collections::VecDeque<Vec<u64>>,
    /// Evaluations per window.
    span: usize,
}

impl CounterWindow {
    /// `width` counters, the window `span` evaluations long; the start's zeros sampled.
    pub fn new(width: usize, span: usize) -> Self {
        let mut samples = std::collections::VecDeque::with_capacity(span + 2);
        samples.push_back(vec![0; width]);
        CounterWindow { samples, span }
    }

    /// Samples the counters `now` and returns each one's increase over the window.
    pub fn increase(&mut self, now: &[u64]) -> Vec<u64> {
        self.samples.push_back(now.to_vec());
        if self.samples.len() > self.span + 1 {
            self.samples.pop_front();
        }
        let first = &self.samples[0];
        now.iter().zip(first).map(|(n, f)| n - f).collect()
    }
}

/// One alert instance (a rule and a label set) as Prometheus tracks it between
/// evaluations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlertState {
    /// When the expression first held in the current unbroken run of evaluations.
    pub active_at: Option<SimTime>,
    /// Since when it has fired, if it has.
    pub fired_at: Option<SimTime>,
}

/// What an evaluation did to an alert instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changed (inactive and false, pending and still short of `for:`, or
    /// firing and still true).
    Unchanged,
    /// It became pending.
    Pending,
    /// It fired (after `for:` of true evaluations; with `for: 0`, at once).
    Fired,
    /// It was firing and its expression is false: resolved.
    Resolved,
    /// It was pending and its expression is false: dropped without firing.
    Dropped,
}

impl AlertState {
    /// Evaluates the instance at `now` with its expression `holds`, `hold` being the
    /// rule's `for:`. A pending alert fires at the first evaluation at least `hold` after
    /// the one that made it pending; a false evaluation resolves or drops it.
    pub fn evaluate(&mut self, now: SimTime, holds: bool, hold: SimDuration) -> Transition {
        if !holds {
            let was = (self.active_at.is_some(), self.fired_at.is_some());
            *self = AlertState::default();
            return match was {
                (_, true) => Transition::Resolved,
                (true, false) => Transition::Dropped,
                _ => Transition::Unchanged,
            };
        }
        let mut t = Transition::Unchanged;
        let active = *self.active_at.get_or_insert_with(|| {
            t = Transition::Pending;
            now
        });
        if self.fired_at.is_none() && now.saturating_since(active) >= hold {
            self.fired_at = Some(now);
            t = Transition::Fired;
        }
        t
    }

    /// Whether it is firing.
    pub fn firing(&self) -> bool {
        self.fired_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observe_counts_a_value_on_a_bound_in_that_bucket() {
        let mut h = Histogram::new(&RECONCILE_TIME_BUCKETS);
        h.observe(60.0);
        h.observe(61.0);
        h.observe(0.0);
        assert_eq!(h.counts()[39], 1);
        assert_eq!(h.counts()[40], 1);
        assert_eq!(h.counts()[0], 1);
    }

    #[test]
    fn observe_picks_the_bucket_a_binary_search_of_le_picks() {
        let mut probes = vec![f64::NAN, f64::NEG_INFINITY, f64::INFINITY, -1.0, 0.0, 1e9];
        for &b in RECONCILE_TIME_BUCKETS
            .iter()
            .chain(&APISERVER_REQUEST_DURATION_BUCKETS)
        {
            probes.extend([b, b.next_down(), b.next_up(), b * 0.999, b * 1.001]);
        }
        for bounds in [
            &RECONCILE_TIME_BUCKETS[..],
            &APISERVER_REQUEST_DURATION_BUCKETS[..],
        ] {
            for &v in &probes {
                let mut h = Histogram::new(bounds);
                h.observe(v);
                let want = bounds.partition_point(|&b| b < v);
                assert_eq!(h.counts()[want], 1, "{v} over {} bounds", bounds.len());
            }
        }
    }

    #[test]
    fn counter_window_subtracts_the_sample_a_window_ago() {
        let mut w = CounterWindow::new(1, 2);
        assert_eq!(w.increase(&[3]), vec![3]);
        assert_eq!(w.increase(&[5]), vec![5]);
        assert_eq!(w.increase(&[9]), vec![6]);
        assert_eq!(w.increase(&[9]), vec![4]);
    }
}
