use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// One figure across independent replicas: its mean, spread, quantiles and a confidence
/// interval for the mean.
///
/// The interval is mean ± t(1 − α/2, n − 1) · s / √n, from Student's t distribution with
/// n − 1 degrees of freedom: exact for normally distributed replica values, and a good
/// approximation for replica means of long runs (central limit theorem).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Replicas summarised [count].
    pub n: usize,
    /// Arithmetic mean, summed in replica order so that it is bit-reproducible.
    pub mean: f64,
    /// Sample standard deviation (n − 1 denominator); zero for one replica.
    pub sd: f64,
    /// Smallest value.
    pub min: f64,
    /// 5th percentile (linear interpolation between order statistics).
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest value.
    pub max: f64,
    /// Confidence level of the interval, e.g. 0.95.
    pub confidence: f64,
    /// Lower end of the confidence interval for the mean; absent with fewer than two
    /// replicas.
    pub ci_low: Option<f64>,
    /// Upper end of the confidence interval for the mean; absent with fewer than two
    /// replicas.
    pub ci_high: Option<f64>,
}

impl Summary {
    /// Summarises `values` (one per replica, in replica order) with a `confidence`-level
    /// interval (0 < confidence < 1). Returns `None` for no values, for any NaN, or for a
    /// confidence outside (0, 1).
    pub fn of(values: &[f64], confidence: f64) -> Option<Summary> {
        let n = values.len();
        if n == 0 || values.iter().any(|v| v.is_nan()) || !(confidence > 0.0 && confidence < 1.0) {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (ci_low, ci_high) = match t_half_width(sd, n, confidence) {
            Some(h) => (Some(mean - h), Some(mean + h)),
            None => (None, None),
        };
        Some(Summary {
            n,
            mean,
            sd,
            min: sorted[0],
            p5: quantile_sorted(&sorted, 0.05),
            p50: quantile_sorted(&sorted, 0.50),
            p95: quantile_sorted(&sorted, 0.95),
            max: sorted[n - 1],
            confidence,
            ci_low,
            ci_high,
        })
    }

    /// Whether `value` lies inside the confidence interval (inclusive).
    pub fn ci_contains(&self, value: f64) -> bool {
        match (self.ci_low, self.ci_high) {
            (Some(lo), Some(hi)) => lo <= value && value <= hi,
            _ => false,
        }
    }
}

/// The `p`-quantile of the standard normal distribution (NaN outside (0, 1)).
pub fn normal_quantile(p: f64) -> f64 {
    statrs::distribution::Normal::new(0.0, 1.0).map_or(f64::NAN, |d| {
        if p > 0.0 && p < 1.0 {
            d.inverse_cdf(p)
        } else {
            f64::NAN
        }
    })
}

/// Half-width of the t interval for the mean, or `None` below two samples.
fn t_half_width(sd: f64, n: usize, confidence: f64) -> Option<f64> {
    if n < 2 {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
    let quantile = t.inverse_cdf(0.5 + confidence / 2.0);
    Some(quantile * sd / (n as f64).sqrt())
}

/// The `q`-quantile of ascending `sorted` values by linear interpolation between order
/// statistics (Hyndman & Fan type 7, the default of R and NumPy). NaN when empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_interval_matches_tabulated_critical_values() {
        // n = 10, s = 1: the 95 % two-sided t value with 9 df is 2.262 (standard tables).
        let values = [-1.5, -1.0, -0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.5];
        let s = Summary::of(&values, 0.95).unwrap();
        let half = s.ci_high.unwrap() - s.mean;
        let want = 2.2622 * s.sd / 10f64.sqrt();
        assert!((half - want).abs() < 1e-3, "{half} vs {want}");
        assert!(s.ci_contains(0.0));
        // 99 % with 29 df: 2.756.
        let thirty: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let s = Summary::of(&thirty, 0.99).unwrap();
        let half = s.ci_high.unwrap() - s.mean;
        assert!((half - 2.7564 * s.sd / 30f64.sqrt()).abs() < 1e-3);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        assert_eq!(quantile_sorted(&v, 0.25), 2.0);
        assert!((quantile_sorted(&v, 0.95) - 4.8).abs() < 1e-12);
        let s = Summary::of(&[5.0, 1.0, 4.0, 2.0, 3.0], 0.95).unwrap();
        assert_eq!((s.min, s.p50, s.max), (1.0, 3.0, 5.0));
        assert!((s.sd - 2.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs_are_refused_or_flagged() {
        assert!(Summary::of(&[], 0.95).is_none());
        assert!(Summary::of(&[1.0, f64::NAN], 0.95).is_none());
        assert!(Summary::of(&[1.0, 2.0], 1.0).is_none());
        let one = Summary::of(&[7.0], 0.95).unwrap();
        assert_eq!((one.mean, one.sd, one.ci_low), (7.0, 0.0, None));
        assert!(!one.ci_contains(7.0));
        // Found by cargo-mutants: the edges of the rules were not exercised.
        assert!(Summary::of(&[1.0, 2.0], 0.0).is_none());
        // Two values have an interval: t(0.975, 1) = 12.706, s = √0.5, n = 2.
        let two = Summary::of(&[1.0, 2.0], 0.95).unwrap();
        assert!(
            (two.ci_high.unwrap() - (1.5 + 12.7062 * 0.5f64.sqrt() / 2f64.sqrt())).abs() < 1e-3
        );
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0], 1.0), 3.0);
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0], 0.0), 1.0);
    }

    #[test]
    fn normal_quantiles_match_tables() {
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-6);
        assert!((normal_quantile(0.05) + 1.644_854).abs() < 1e-6);
        assert_eq!(normal_quantile(0.5), 0.0);
        assert!(normal_quantile(0.0).is_nan() && normal_quantile(1.0).is_nan());
    }
}
