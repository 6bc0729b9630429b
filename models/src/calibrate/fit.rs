//! A lognormal fitted by maximum likelihood (the mean and standard deviation of the
//! logarithms), with the Kolmogorov–Smirnov distance between the data and the fit.

use statrs::distribution::{ContinuousCDF, Normal};

/// z of the 95th percentile of the standard normal.
pub(crate) const Z95: f64 = 1.644_853_626_951_472_2;

/// A lognormal fit of durations [s].
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Durations fitted [count].
    pub n: usize,
    /// Mean of the logarithms.
    pub mu: f64,
    /// Standard deviation of the logarithms (maximum likelihood: divided by n).
    pub sigma: f64,
    /// The fit's median [s].
    pub p50: f64,
    /// The fit's 95th percentile [s].
    pub p95: f64,
    /// The data's own median [s].
    pub data_p50: f64,
    /// The data's own 95th percentile [s].
    pub data_p95: f64,
    /// Kolmogorov–Smirnov distance: the largest gap between the data's empirical CDF
    /// and the fit's.
    pub ks: f64,
    /// The data fitted, sorted [s].
    pub sample: Vec<f64>,
}

impl Fit {
    /// The QQ plot's points: each datum against the fit's quantile at its plotting
    /// position (i + ½)/n, as (fit, data) [s].
    pub fn qq(&self) -> Vec<(f64, f64)> {
        let n = self.sample.len() as f64;
        let std = Normal::new(0.0, 1.0).expect("the standard normal");
        self.sample
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let p = (i as f64 + 0.5) / n;
                ((self.mu + self.sigma * std.inverse_cdf(p)).exp(), x)
            })
            .collect()
    }
}

/// The fit of `d` (durations > 0; others are left out), or `None` with fewer than two.
pub fn fit_lognormal(d: &[f64]) -> Option<Fit> {
    let mut x: Vec<f64> = d
        .iter()
        .copied()
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    if x.len() < 2 {
        return None;
    }
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    let logs: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let mu = logs.iter().sum::<f64>() / n;
    let sigma = (logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / n).sqrt();
    let ks = if sigma > 1e-9 {
        let normal = Normal::new(mu, sigma).expect("sigma > 0");
        logs.iter()
            .enumerate()
            .map(|(i, &l)| {
                let f = normal.cdf(l);
                (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max)
    } else {
        0.0
    };
    Some(Fit {
        n: x.len(),
        mu,
        sigma,
        p50: mu.exp(),
        p95: (mu + Z95 * sigma).exp(),
        data_p50: sim_core::stats::quantile_sorted(&x, 0.5),
        data_p95: sim_core::stats::quantile_sorted(&x, 0.95),
        ks,
        sample: x,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, LogNormal};

    /// Samples of a known lognormal give back its median and 95th percentile (n = 5,000:
    /// within 3 %), and a small KS distance; a uniform sample fits worse.
    #[test]
    fn a_known_lognormal_is_recovered() {
        let mut rng = sim_core::SimRng::seed_from_u64(3);
        let (mu, sigma) = (90f64.ln(), (150f64 / 90.0).ln() / Z95);
        let d = LogNormal::new(mu, sigma).unwrap();
        let x: Vec<f64> = (0..5000).map(|_| d.sample(&mut rng)).collect();
        let f = fit_lognormal(&x).unwrap();
        assert!((f.p50 / 90.0 - 1.0).abs() < 0.03, "{f:?}");
        assert!((f.p95 / 150.0 - 1.0).abs() < 0.03, "{f:?}");
        assert!(f.ks < 0.03, "{f:?}");
        let uniform: Vec<f64> = (1..=5000).map(f64::from).collect();
        assert!(fit_lognormal(&uniform).unwrap().ks > 0.1);
        assert!(fit_lognormal(&[5.0]).is_none());
        // The QQ points of a good fit lie near the diagonal: the middle half within 5 %.
        let qq = f.qq();
        assert_eq!(qq.len(), 5000);
        for &(fit, data) in &qq[1250..3750] {
            assert!((data / fit - 1.0).abs() < 0.05, "{fit} {data}");
        }
    }
}
