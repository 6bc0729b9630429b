//! A level's seat demand integrated over time: its time-weighted average and standard
//! deviation and its highest value since the last reset.
//!
//! Copies k8s.io/apiserver v0.33 `pkg/util/flowcontrol/fairqueuing/integrator.go` (the
//! moments ∫dt, ∫x dt, ∫x² dt; a reset starts a new period at the current value).

use sim_core::SimTime;

/// The moments of a level over time since its last reset (`fairqueuing.Integrator`).
#[derive(Clone, Debug, Default)]
pub struct Integrator {
    last: SimTime,
    x: f64,
    elapsed: f64,
    integral: f64,
    integral_sq: f64,
    max: f64,
}

/// What an [`Integrator`] saw over a period (`IntegratorResults`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    /// Length of the period [s].
    pub duration: f64,
    /// Time-weighted average.
    pub average: f64,
    /// Time-weighted standard deviation (NaN when rounding makes the variance negative).
    pub deviation: f64,
    /// Highest value.
    pub max: f64,
}

impl Integrator {
    fn advance(&mut self, now: SimTime) {
        let dt = now.saturating_since(self.last).as_secs_f64();
        self.last = now;
        self.elapsed += dt;
        self.integral += self.x * dt;
        self.integral_sq += self.x * self.x * dt;
    }

    /// The level is `x` from `now` on.
    pub fn set(&mut self, now: SimTime, x: f64) {
        self.advance(now);
        self.x = x;
        self.max = self.max.max(x);
    }

    /// The period's moments up to `now`; a new period starts at the current value.
    pub fn reset(&mut self, now: SimTime) -> Moments {
        self.advance(now);
        let (average, deviation) = if self.elapsed > 0.0 {
            let avg = self.integral / self.elapsed;
            let var = self.integral_sq / self.elapsed - avg * avg;
            (avg, if var >= 0.0 { var.sqrt() } else { f64::NAN })
        } else {
            (f64::NAN, f64::NAN)
        };
        let m = Moments {
            duration: self.elapsed,
            average,
            deviation,
            max: self.max,
        };
        (self.elapsed, self.integral, self.integral_sq) = (0.0, 0.0, 0.0);
        self.max = self.x;
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    #[test]
    fn moments_are_time_weighted_and_a_reset_starts_at_the_current_value() {
        // 2 for 1 s, then 4 for 3 s: mean 3.5, variance 13 − 3.5² = 0.75.
        let mut i = Integrator::default();
        let t = |s| SimTime::ZERO + SimDuration::from_secs(s);
        i.set(t(0), 2.0);
        i.set(t(1), 4.0);
        let m = i.reset(t(4));
        assert_eq!((m.duration, m.average, m.max), (4.0, 3.5, 4.0));
        assert!((m.deviation - 0.75f64.sqrt()).abs() < 1e-12);
        i.set(t(5), 1.0);
        let m = i.reset(t(6));
        assert_eq!((m.average, m.max), (2.5, 4.0));
        assert!(
            i.reset(t(6)).average.is_nan(),
            "an empty period has no average"
        );
    }
}
