use hdrhistogram::Histogram;

use crate::time::SimDuration;

/// Significant decimal digits kept by the histogram: quantiles are within 0.1 % of the
/// exact value (HdrHistogram's guarantee for 3 digits).
const SIGNIFICANT_DIGITS: u8 = 3;
/// Values below this are indistinguishable from each other [ns]; 1 µs is far below any
/// latency the models care about and saves a third of the memory.
const LOWEST_DISCERNIBLE_NS: u64 = 1_000;
/// Initial range [ns]: one second. Longer values grow the histogram on demand.
const INITIAL_HIGHEST_NS: u64 = 1_000_000_000;

/// Durations recorded as a High Dynamic Range histogram: quantiles with a bounded relative
/// error, exact count, mean, minimum and maximum, and exact merging across shards or
/// replicas (integer bucket counts, so the merge order does not matter).
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
    /// Exact sum of every recorded value [ns]; the bucketed mean would carry the 0.1 %
    /// bucket error, and the engine's validation compares means against theory.
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram that grows to any duration it is given.
    pub fn new() -> Self {
        let mut hist = Histogram::new_with_bounds(
            LOWEST_DISCERNIBLE_NS,
            INITIAL_HIGHEST_NS,
            SIGNIFICANT_DIGITS,
        )
        .expect("constant histogram bounds are valid");
        hist.auto(true);
        LatencyHistogram {
            hist,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        let ns = d.as_nanos();
        // Auto-resize grows the range; `saturating_record` would clamp instead of growing.
        if self.hist.record(ns).is_err() {
            self.hist.saturating_record(ns);
        }
        self.sum_ns += ns as u128;
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The exact mean, or zero when empty.
    pub fn mean(&self) -> SimDuration {
        match self.count() {
            0 => SimDuration::ZERO,
            n => SimDuration::from_nanos((self.sum_ns / n as u128) as u64),
        }
    }

    /// The exact mean in seconds, unrounded, or zero when empty.
    pub fn mean_secs(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum_ns as f64 / n as f64 / 1e9,
        }
    }

    /// The exact sum of all recorded values.
    pub fn sum(&self) -> SimDuration {
        SimDuration::from_nanos(u64::try_from(self.sum_ns).unwrap_or(u64::MAX))
    }

    /// The value below which a fraction `q` (0 ≤ q ≤ 1) of the records fall, within 0.1 %;
    /// zero when empty. `q` outside [0, 1] is clamped.
    pub fn quantile(&self, q: f64) -> SimDuration {
        if self.is_empty() {
            return SimDuration::ZERO;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        // The bucket's representative value can exceed the true maximum slightly.
        SimDuration::from_nanos(self.hist.value_at_quantile(q).min(self.max_ns))
    }

    /// The smallest value recorded, or zero when empty.
    pub fn min(&self) -> SimDuration {
        if self.is_empty() {
            SimDuration::ZERO
        } else {
            SimDuration::from_nanos(self.min_ns)
        }
    }

    /// The largest value recorded, or zero when empty.
    pub fn max(&self) -> SimDuration {
        SimDuration::from_nanos(self.max_ns)
    }

    /// Adds every record of `other` to this histogram.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.hist
            .add(&other.hist)
            .expect("auto-resizing histograms always merge");
        self.sum_ns += other.sum_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::quantile_sorted;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn quantiles_are_within_the_relative_error_bound() {
        let mut rng = crate::rng::SimRng::seed_from_u64(1);
        let mut h = LatencyHistogram::new();
        let mut exact: Vec<f64> = Vec::new();
        for _ in 0..200_000 {
            // Log-uniform from 10 µs to 100 s, like a mix of API calls and VM creates.
            let ns = 10f64.powf(rng.random_range(4.0..11.0)) as u64;
            h.record(SimDuration::from_nanos(ns));
            exact.push(ns as f64);
        }
        exact.sort_by(f64::total_cmp);
        for q in [0.01, 0.5, 0.9, 0.95, 0.99, 0.999] {
            let want = quantile_sorted(&exact, q);
            let got = h.quantile(q).as_nanos() as f64;
            assert!((got - want).abs() / want < 2e-3, "q={q}: {got} vs {want}");
        }
        let mean = exact.iter().sum::<f64>() / exact.len() as f64;
        assert!((h.mean().as_nanos() as f64 - mean).abs() / mean < 1e-9);
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (
            LatencyHistogram::new(),
            LatencyHistogram::new(),
            LatencyHistogram::new(),
        );
        for i in 1..=10_000u64 {
            let d = SimDuration::from_micros(i * 37 % 9_973 + 1);
            if i % 3 == 0 {
                a.record(d)
            } else {
                b.record(d)
            }
            all.record(d);
        }
        let mut ba = b.clone();
        ba.merge(&a);
        a.merge(&b);
        for h in [&a, &ba] {
            assert_eq!(h.count(), all.count());
            assert_eq!(h.mean(), all.mean());
            assert_eq!(h.max(), all.max());
            assert_eq!(h.min(), all.min());
            for q in [0.5, 0.99] {
                assert_eq!(h.quantile(q), all.quantile(q));
            }
        }
    }

    #[test]
    fn empty_histogram_reports_zeros() {
        let h = LatencyHistogram::new();
        assert_eq!(h.quantile(0.99), SimDuration::ZERO);
        assert_eq!(h.mean(), SimDuration::ZERO);
        assert_eq!(h.min(), SimDuration::ZERO);
    }
}
