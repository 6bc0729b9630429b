use crate::time::{SimDuration, SimTime};

/// A level that changes at discrete instants and holds in between (queue length, seats in
/// use, bytes stored). Integrates the level over simulated time for its time-average, and
/// tracks its maximum and the time it spends strictly above a threshold.
#[derive(Clone, Debug)]
pub struct TimeWeightedGauge {
    value: f64,
    max: f64,
    /// Start of the observation window.
    start: SimTime,
    /// When `value` last changed (or the window started).
    last: SimTime,
    /// ∫ value dt over [start, last] [value·ns].
    integral: f64,
    threshold: f64,
    /// Time with value > threshold over [start, last].
    above: SimDuration,
    /// Start of the current stretch above the threshold, if the level is above it.
    above_since: Option<SimTime>,
    /// Longest finished stretch above the threshold.
    longest_above: SimDuration,
}

impl Default for TimeWeightedGauge {
    fn default() -> Self {
        Self::new(f64::INFINITY)
    }
}

impl TimeWeightedGauge {
    /// A gauge at zero from time zero that also measures time spent above `threshold`.
    pub fn new(threshold: f64) -> Self {
        TimeWeightedGauge {
            value: 0.0,
            max: 0.0,
            start: SimTime::ZERO,
            last: SimTime::ZERO,
            integral: 0.0,
            threshold,
            above: SimDuration::ZERO,
            above_since: None,
            longest_above: SimDuration::ZERO,
        }
    }

    #[inline]
    fn advance(&mut self, now: SimTime) {
        debug_assert!(now >= self.last, "gauge updated out of order");
        let dt = now.saturating_since(self.last);
        if dt > SimDuration::ZERO {
            self.integral += self.value * dt.as_nanos() as f64;
            if self.value > self.threshold {
                self.above += dt;
            }
            self.last = now;
        }
    }

    /// Sets the level to `value` from `now` on.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: f64) {
        self.advance(now);
        match (self.above_since, value > self.threshold) {
            (None, true) => self.above_since = Some(now),
            (Some(since), false) => {
                self.longest_above = self.longest_above.max(now.saturating_since(since));
                self.above_since = None;
            }
            _ => {}
        }
        self.value = value;
        self.max = self.max.max(value);
    }

    /// Changes the level by `delta` from `now` on.
    #[inline]
    pub fn add(&mut self, now: SimTime, delta: f64) {
        let v = self.value + delta;
        self.set(now, v);
    }

    /// Forgets everything before `now` (e.g. a warm-up period); keeps the current level,
    /// which also becomes the maximum so far.
    pub fn restart_window(&mut self, now: SimTime) {
        self.start = now;
        self.last = now;
        self.integral = 0.0;
        self.above = SimDuration::ZERO;
        self.longest_above = SimDuration::ZERO;
        self.above_since = (self.value > self.threshold).then_some(now);
        self.max = self.value;
    }

    /// The current level.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The highest level reached in the window.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// The time-average level over the window up to `now`; the current level if the
    /// window is empty.
    pub fn mean(&self, now: SimTime) -> f64 {
        let span = now.saturating_since(self.start).as_nanos() as f64;
        if span == 0.0 {
            return self.value;
        }
        let tail = now.saturating_since(self.last).as_nanos() as f64;
        (self.integral + self.value * tail) / span
    }

    /// The longest unbroken stretch, up to `now`, during which the level stayed above the
    /// threshold (an alert's `for:` clause compares this).
    pub fn longest_above(&self, now: SimTime) -> SimDuration {
        let current = self
            .above_since
            .map_or(SimDuration::ZERO, |s| now.saturating_since(s));
        self.longest_above.max(current)
    }

    /// Time in the window up to `now` during which the level was above the threshold.
    pub fn time_above(&self, now: SimTime) -> SimDuration {
        let tail = now.saturating_since(self.last);
        if self.value > self.threshold {
            self.above + tail
        } else {
            self.above
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_weights_each_level_by_how_long_it_held() {
        let mut g = TimeWeightedGauge::new(5.0);
        g.set(SimTime::from_secs(0), 2.0); // 2 for 1 s
        g.set(SimTime::from_secs(1), 10.0); // 10 for 3 s
        g.set(SimTime::from_secs(4), 0.0); // 0 for 6 s
        let end = SimTime::from_secs(10);
        assert!((g.mean(end) - (2.0 + 30.0) / 10.0).abs() < 1e-12);
        assert_eq!(g.max(), 10.0);
        assert_eq!(g.time_above(end), SimDuration::from_secs(3));
        assert_eq!(g.longest_above(end), SimDuration::from_secs(3));
    }

    #[test]
    fn longest_stretch_above_is_not_the_total_above() {
        let mut g = TimeWeightedGauge::new(10.0);
        let t = SimTime::from_secs;
        g.set(t(0), 20.0);
        g.set(t(4), 0.0); // 4 s above
        g.set(t(5), 50.0);
        g.set(t(6), 11.0); // still above: one stretch from 5 s
        g.set(t(12), 1.0); // 7 s above
        assert_eq!(g.time_above(t(20)), SimDuration::from_secs(11));
        assert_eq!(g.longest_above(t(20)), SimDuration::from_secs(7));
        g.set(t(30), 99.0);
        assert_eq!(
            g.longest_above(t(40)),
            SimDuration::from_secs(10),
            "open stretch counts"
        );
    }

    #[test]
    fn time_above_counts_an_open_interval_up_to_now() {
        let mut g = TimeWeightedGauge::new(1.0);
        g.add(SimTime::from_secs(2), 3.0);
        assert_eq!(
            g.time_above(SimTime::from_secs(7)),
            SimDuration::from_secs(5)
        );
        assert!((g.mean(SimTime::from_secs(7)) - 15.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn restarting_the_window_drops_the_past() {
        let mut g = TimeWeightedGauge::default();
        g.set(SimTime::ZERO, 100.0);
        g.set(SimTime::from_secs(5), 4.0);
        g.restart_window(SimTime::from_secs(5));
        assert_eq!(g.mean(SimTime::from_secs(10)), 4.0);
        assert_eq!(g.max(), 4.0);
    }
}
