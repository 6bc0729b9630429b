//! Simulated time as integers.
//!
//! [`SimTime`] is an instant and [`SimDuration`] a span, both whole nanoseconds in a `u64`
//! (enough for 584 years of simulated time). Integer time makes event order exact: two
//! events scheduled for the same instant compare equal, and the event queue breaks the tie
//! by scheduling order instead of by floating-point noise.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

use serde::{Deserialize, Serialize};

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MIN: u64 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MIN;

/// 2^63: below it a count of nanoseconds converts through `i64`.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// `nanos as f64`, through the signed conversion where it gives the same value.
#[inline]
fn nanos_f64(nanos: u64) -> f64 {
    if nanos <= i64::MAX as u64 {
        nanos as i64 as f64
    } else {
        nanos as f64
    }
}

/// An instant of simulated time, counted from the start of the run [ns].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(u64);

/// A span of simulated time [ns].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimDuration(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable instant; `run_until(SimTime::MAX)` runs to exhaustion.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    /// The instant `millis` milliseconds after the start.
    pub const fn from_millis(millis: u64) -> Self {
        SimTime(millis * NANOS_PER_MILLI)
    }

    /// The instant `secs` seconds after the start.
    pub const fn from_secs(secs: u64) -> Self {
        SimTime(secs * NANOS_PER_SEC)
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start, as a float for reporting.
    pub fn as_secs_f64(self) -> f64 {
        nanos_f64(self.0) / NANOS_PER_SEC as f64
    }

    /// The span from the start of the run to this instant.
    pub const fn since_start(self) -> SimDuration {
        SimDuration(self.0)
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, or `None` if it overflows.
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(t) => Some(SimTime(t)),
            None => None,
        }
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The largest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A span of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimDuration(nanos)
    }

    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        SimDuration(micros * NANOS_PER_MICRO)
    }

    /// A span of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        SimDuration(millis * NANOS_PER_MILLI)
    }

    /// A span of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        SimDuration(secs * NANOS_PER_SEC)
    }

    /// A span of `mins` minutes.
    pub const fn from_mins(mins: u64) -> Self {
        SimDuration(mins * NANOS_PER_MIN)
    }

    /// A span of `hours` hours.
    pub const fn from_hours(hours: u64) -> Self {
        SimDuration(hours * NANOS_PER_HOUR)
    }

    /// A span of `secs` seconds, rounded to the nearest nanosecond. Negative and NaN
    /// inputs give zero; inputs beyond the range saturate. Sampled latencies come through
    /// here, so it never panics.
    pub fn from_secs_f64(secs: f64) -> Self {
        let x = secs * NANOS_PER_SEC as f64;
        // `x.round()` (half away from zero) without its libm call, which was 4 % of a
        // run's time: the truncation's fraction is exact below 2^53, and above it every
        // f64 is whole. NaN and x ≤ 0 give zero, as the rounded value did.
        if x.is_nan() || x <= 0.0 {
            SimDuration(0)
        } else if x < I64_LIMIT {
            // The signed conversions are one instruction each on x86-64; the unsigned ones
            // a branch and several (2 % of a run). Below 2^63 they give the same values.
            let whole = x as i64;
            let up = x - whole as f64 >= 0.5;
            SimDuration(whole as u64 + u64::from(up))
        } else if x >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else {
            let whole = x as u64;
            let up = x - whole as f64 >= 0.5;
            SimDuration(whole + u64::from(up))
        }
    }

    /// Nanoseconds in this span.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds in this span, as a float for reporting.
    pub fn as_secs_f64(self) -> f64 {
        nanos_f64(self.0) / NANOS_PER_SEC as f64
    }

    /// Milliseconds in this span, as a float for reporting.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_MILLI as f64
    }

    /// `self + other`, saturating at [`SimDuration::MAX`].
    pub const fn saturating_add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }

    /// `self - other`, or zero if `other` is longer.
    pub const fn saturating_sub(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(other.0))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Panics on overflow: a model that schedules 584 years ahead has a bug.
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.checked_add(d.0).expect("SimTime overflow"))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Panics if `earlier` is later than `self`; use [`SimTime::saturating_since`] when
    /// the order is not known.
    fn sub(self, earlier: SimTime) -> SimDuration {
        SimDuration(
            self.0
                .checked_sub(earlier.0)
                .expect("SimTime subtraction went negative"),
        )
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.checked_add(other.0).expect("SimDuration overflow"))
    }
}

impl AddAssign for SimDuration {
    fn add_assign(&mut self, other: SimDuration) {
        *self = *self + other;
    }
}

impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, other: SimDuration) -> SimDuration {
        SimDuration(
            self.0
                .checked_sub(other.0)
                .expect("SimDuration subtraction went negative"),
        )
    }
}

impl Mul<u64> for SimDuration {
    type Output = SimDuration;
    fn mul(self, k: u64) -> SimDuration {
        SimDuration(self.0.checked_mul(k).expect("SimDuration overflow"))
    }
}

impl fmt::Display for SimDuration {
    /// Human form, as an operator reads it: `4m12s`, `1h02m03s`, `12.5s`, `250ms`,
    /// `1.25ms`, `40µs`, `12ns`. Spans of a minute or more are rounded to whole seconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n >= NANOS_PER_MIN {
            let secs = (n + NANOS_PER_SEC / 2) / NANOS_PER_SEC;
            let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
            if h > 0 {
                write!(f, "{h}h{m:02}m{s:02}s")
            } else {
                write!(f, "{m}m{s:02}s")
            }
        } else if n >= NANOS_PER_SEC {
            write_decimal(f, n, NANOS_PER_SEC, "s")
        } else if n >= NANOS_PER_MILLI {
            write_decimal(f, n, NANOS_PER_MILLI, "ms")
        } else if n >= NANOS_PER_MICRO {
            write_decimal(f, n, NANOS_PER_MICRO, "µs")
        } else {
            write!(f, "{n}ns")
        }
    }
}

/// Writes `n / unit` with at most three decimals, trailing zeros trimmed ("12.5s").
fn write_decimal(f: &mut fmt::Formatter<'_>, n: u64, unit: u64, suffix: &str) -> fmt::Result {
    let thousandths = (n as u128 * 1000 + unit as u128 / 2) / unit as u128;
    let (whole, frac) = (thousandths / 1000, thousandths % 1000);
    if frac == 0 {
        write!(f, "{whole}{suffix}")
    } else {
        let digits = format!("{frac:03}");
        write!(f, "{whole}.{}{suffix}", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for SimTime {
    /// The time since the start of the run, in the same form as [`SimDuration`]'s.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.since_start(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_agree_on_units() {
        assert_eq!(SimDuration::from_secs(1), SimDuration::from_millis(1000));
        assert_eq!(SimDuration::from_millis(1), SimDuration::from_micros(1000));
        assert_eq!(SimDuration::from_mins(2), SimDuration::from_secs(120));
        assert_eq!(SimDuration::from_hours(1), SimDuration::from_mins(60));
        assert_eq!(
            SimDuration::from_secs_f64(0.25),
            SimDuration::from_millis(250)
        );
        assert_eq!(SimTime::from_secs(3).as_nanos(), 3_000_000_000);
    }

    #[test]
    fn from_secs_f64_rounds_as_f64_round_does() {
        let mut x: f64 = 1e-12;
        let mut probes: Vec<f64> = vec![
            0.0,
            4e-10,
            5e-10,
            6e-10,
            1.5e-9,
            2.5e-9,
            4503599.6274969,
            9.1e9,
        ];
        while x < 1e10 {
            probes.extend([x, x * 1.000_000_1, x + 5e-10, x - 5e-10]);
            x *= 1.37;
        }
        for s in probes {
            let r = (s * 1e9).round();
            let want = if r <= 0.0 { 0 } else { r as u64 };
            assert_eq!(SimDuration::from_secs_f64(s).as_nanos(), want, "{s}");
        }
    }

    #[test]
    fn as_secs_f64_converts_as_the_unsigned_conversion_does() {
        let mut probes = vec![0, 1, 999, i64::MAX as u64 - 1, i64::MAX as u64];
        probes.extend([i64::MAX as u64 + 1, u64::MAX - 1, u64::MAX]);
        let mut n: u64 = 1;
        while let Some(next) = n.checked_mul(3) {
            probes.extend([n, n + 1, next - 1]);
            n = next;
        }
        for n in probes {
            let want = n as f64 / 1e9;
            assert_eq!(SimDuration::from_nanos(n).as_secs_f64(), want, "{n}");
            assert_eq!(SimTime::from_nanos(n).as_secs_f64(), want, "{n}");
        }
    }

    #[test]
    fn from_secs_f64_never_panics_on_odd_input() {
        assert_eq!(SimDuration::from_secs_f64(-1.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::INFINITY), SimDuration::MAX);
    }

    #[test]
    fn human_formatting_reads_like_an_operator_writes() {
        let cases = [
            (SimDuration::from_secs(252), "4m12s"),
            (SimDuration::from_secs(3723), "1h02m03s"),
            (SimDuration::from_millis(12_500), "12.5s"),
            (SimDuration::from_secs(7), "7s"),
            (SimDuration::from_millis(250), "250ms"),
            (SimDuration::from_micros(1250), "1.25ms"),
            (SimDuration::from_micros(40), "40µs"),
            (SimDuration::from_nanos(12), "12ns"),
            (SimDuration::ZERO, "0ns"),
            // Rounds to whole seconds above a minute, carrying into the minutes.
            (SimDuration::from_millis(119_600), "2m00s"),
        ];
        for (d, want) in cases {
            assert_eq!(d.to_string(), want, "{d:?}");
        }
        assert_eq!(SimTime::from_secs(252).to_string(), "4m12s");
    }

    #[test]
    fn arithmetic_moves_time_forward() {
        let t = SimTime::from_secs(1) + SimDuration::from_millis(500);
        assert_eq!(t - SimTime::from_secs(1), SimDuration::from_millis(500));
        assert_eq!(SimTime::ZERO.saturating_since(t), SimDuration::ZERO);
        assert_eq!(SimTime::MAX.checked_add(SimDuration::from_nanos(1)), None);
    }
}
