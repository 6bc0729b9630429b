//! Distributions of latencies and sizes, as scenarios write them.
//!
//! A constant, `uniform {min, max}`, `lognormal {p50, p95}` (the form operators quote
//! latencies in), and `normal {mean, sd}` truncated at zero. Values are plain `f64` in the
//! unit of the field that holds the distribution (seconds for latencies, bytes for sizes).

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimRng};

/// z-score of the 95th percentile of the standard normal distribution.
pub(crate) const Z95: f64 = 1.644_853_626_951_472_2;

/// A distribution of non-negative values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "Spec", into = "Spec")]
pub enum Dist {
    /// Always this value.
    Constant(f64),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
    },
    /// Log-normal with this median and 95th percentile (p95 ≥ p50 > 0); build it with
    /// [`Dist::lognormal`].
    Lognormal {
        /// Median.
        p50: f64,
        /// 95th percentile.
        p95: f64,
        /// The standard deviation of its logarithm, ln(p95 / p50) / z₀.₉₅: kept, so that
        /// a draw takes no logarithm (2 % of a run).
        sigma: f64,
    },
    /// Normal with this mean and standard deviation, negative draws clamped to zero.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
}

/// [`Dist`] as scenarios write it.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename = "Dist", rename_all = "kebab-case")]
enum Spec {
    Constant(f64),
    Uniform { min: f64, max: f64 },
    Lognormal { p50: f64, p95: f64 },
    Normal { mean: f64, sd: f64 },
}

impl From<Spec> for Dist {
    fn from(s: Spec) -> Dist {
        match s {
            Spec::Constant(v) => Dist::Constant(v),
            Spec::Uniform { min, max } => Dist::Uniform { min, max },
            Spec::Lognormal { p50, p95 } => Dist::lognormal(p50, p95),
            Spec::Normal { mean, sd } => Dist::Normal { mean, sd },
        }
    }
}

impl From<Dist> for Spec {
    fn from(d: Dist) -> Spec {
        match d {
            Dist::Constant(v) => Spec::Constant(v),
            Dist::Uniform { min, max } => Spec::Uniform { min, max },
            Dist::Lognormal { p50, p95, .. } => Spec::Lognormal { p50, p95 },
            Dist::Normal { mean, sd } => Spec::Normal { mean, sd },
        }
    }
}

impl Dist {
    /// The log-normal distribution with median `p50` and 95th percentile `p95`.
    pub fn lognormal(p50: f64, p95: f64) -> Dist {
        Dist::Lognormal {
            p50,
            p95,
            sigma: (p95 / p50).ln() / Z95,
        }
    }

    /// One draw.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        match *self {
            Dist::Constant(v) => v,
            Dist::Uniform { min, max } => {
                if max > min {
                    rng.random_range(min..max)
                } else {
                    min
                }
            }
            Dist::Lognormal { p50, sigma, .. } => {
                let z: f64 = StandardNormal.sample(rng);
                p50 * (sigma * z).exp()
            }
            Dist::Normal { mean, sd } => {
                let z: f64 = StandardNormal.sample(rng);
                (mean + sd * z).max(0.0)
            }
        }
    }

    /// One draw, read as seconds.
    #[inline]
    pub fn sample_duration(&self, rng: &mut SimRng) -> SimDuration {
        SimDuration::from_secs_f64(self.sample(rng))
    }

    /// The median, for reports and documentation.
    pub fn median(&self) -> f64 {
        match *self {
            Dist::Constant(v) => v,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Lognormal { p50, .. } => p50,
            Dist::Normal { mean, .. } => mean.max(0.0),
        }
    }

    /// Whether the parameters describe a valid distribution of non-negative values; the
    /// message says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let finite = |v: f64| v.is_finite();
        match *self {
            Dist::Constant(v) if finite(v) && v >= 0.0 => Ok(()),
            Dist::Constant(v) => Err(format!("constant {v} must be a finite number ≥ 0")),
            Dist::Uniform { min, max }
                if finite(min) && finite(max) && 0.0 <= min && min <= max =>
            {
                Ok(())
            }
            Dist::Uniform { min, max } => Err(format!(
                "uniform {{min: {min}, max: {max}}} needs 0 ≤ min ≤ max"
            )),
            Dist::Lognormal { p50, p95, .. }
                if finite(p50) && finite(p95) && 0.0 < p50 && p50 <= p95 =>
            {
                Ok(())
            }
            Dist::Lognormal { p50, p95, .. } => Err(format!(
                "lognormal {{p50: {p50}, p95: {p95}}} needs 0 < p50 ≤ p95"
            )),
            Dist::Normal { mean, sd } if finite(mean) && finite(sd) && sd >= 0.0 => Ok(()),
            Dist::Normal { mean, sd } => {
                Err(format!("normal {{mean: {mean}, sd: {sd}}} needs sd ≥ 0"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use sim_core::stats::quantile_sorted;

    fn draws(d: Dist, n: usize) -> Vec<f64> {
        let mut rng = SimRng::seed_from_u64(3);
        let mut v: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn lognormal_hits_its_median_and_p95() {
        let v = draws(Dist::lognormal(60.0, 110.0), 200_000);
        assert!((quantile_sorted(&v, 0.5) / 60.0 - 1.0).abs() < 0.01);
        assert!((quantile_sorted(&v, 0.95) / 110.0 - 1.0).abs() < 0.015);
    }

    #[test]
    fn uniform_stays_in_range_with_the_right_mean() {
        let v = draws(
            Dist::Uniform {
                min: 30.0,
                max: 120.0,
            },
            100_000,
        );
        assert!(v[0] >= 30.0 && v[v.len() - 1] < 120.0);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean - 75.0).abs() < 0.5);
    }

    #[test]
    fn normal_never_goes_negative() {
        let v = draws(Dist::Normal { mean: 1.0, sd: 2.0 }, 10_000);
        assert!(v[0] >= 0.0);
    }

    #[test]
    fn invalid_parameters_are_explained() {
        assert!(
            Dist::lognormal(10.0, 5.0)
                .check()
                .unwrap_err()
                .contains("p50 ≤ p95")
        );
        assert!(Dist::Uniform { min: 3.0, max: 1.0 }.check().is_err());
        assert!(Dist::Constant(-1.0).check().is_err());
        assert!(Dist::Constant(2.0).check().is_ok());
    }
}
