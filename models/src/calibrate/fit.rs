//! A distribution fitted by maximum likelihood to durations: a lognormal (the mean and
//! standard deviation of the logarithms), a normal (the mean and standard deviation), or
//! a uniform (the smallest and the largest), the shapes scenarios accept; with the
//! Kolmogorov–Smirnov distance between the data and the fit, and the QQ plot's points.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::dist::Z95;

/// The shape fitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Log-normal (the default: durations of work that varies by factors).
    Lognormal,
    /// Normal.
    Normal,
    /// Uniform.
    Uniform,
}

impl Shape {
    /// The shape's name in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Lognormal => "lognormal",
            Shape::Normal => "normal",
            Shape::Uniform => "uniform",
        }
    }
}

/// A fit of durations [s].
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Its shape.
    pub shape: Shape,
    /// Durations fitted [count].
    pub n: usize,
    /// The first parameter: the logarithms' mean (lognormal), the mean (normal), the
    /// smallest value (uniform).
    pub a: f64,
    /// The second: the logarithms' standard deviation (lognormal), the standard
    /// deviation (normal; both by maximum likelihood, divided by n), the largest value
    /// (uniform).
    pub b: f64,
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
    /// The fit's CDF at `x`.
    fn cdf(&self, x: f64) -> f64 {
        match self.shape {
            Shape::Lognormal | Shape::Normal if self.b <= 1e-12 => {
                let at = if self.shape == Shape::Lognormal {
                    x.ln()
                } else {
                    x
                };
                if at < self.a { 0.0 } else { 1.0 }
            }
            Shape::Lognormal => normal_cdf((x.ln() - self.a) / self.b),
            Shape::Normal => normal_cdf((x - self.a) / self.b),
            Shape::Uniform if self.b > self.a => ((x - self.a) / (self.b - self.a)).clamp(0.0, 1.0),
            Shape::Uniform => f64::from(u8::from(x >= self.a)),
        }
    }

    /// The fit's quantile at `p` in (0, 1).
    pub fn quantile(&self, p: f64) -> f64 {
        let z = Normal::new(0.0, 1.0)
            .expect("the standard normal")
            .inverse_cdf(p);
        match self.shape {
            Shape::Lognormal => (self.a + self.b * z).exp(),
            Shape::Normal => self.a + self.b * z,
            Shape::Uniform => self.a + p * (self.b - self.a),
        }
    }

    /// The QQ plot's points: each datum against the fit's quantile at its plotting
    /// position (i + ½)/n, as (fit, data) [s].
    pub fn qq(&self) -> Vec<(f64, f64)> {
        let n = self.sample.len() as f64;
        self.sample
            .iter()
            .enumerate()
            .map(|(i, &x)| (self.quantile((i as f64 + 0.5) / n), x))
            .collect()
    }

    /// The fit as a scenario value (`{lognormal: {p50: .., p95: ..}}`), to 3 decimals.
    pub fn value(&self) -> String {
        let r = |x: f64| (x * 1000.0).round() / 1000.0;
        match self.shape {
            Shape::Lognormal => format!(
                "{{lognormal: {{p50: {}, p95: {}}}}}",
                r(self.p50),
                r(self.p95)
            ),
            Shape::Normal => format!("{{normal: {{mean: {}, sd: {}}}}}", r(self.a), r(self.b)),
            Shape::Uniform => format!("{{uniform: {{min: {}, max: {}}}}}", r(self.a), r(self.b)),
        }
    }
}

fn normal_cdf(z: f64) -> f64 {
    Normal::new(0.0, 1.0).expect("the standard normal").cdf(z)
}

/// The lognormal fit of `d` (durations > 0; others are left out), or `None` with fewer
/// than two.
pub fn fit_lognormal(d: &[f64]) -> Option<Fit> {
    fit(d, Shape::Lognormal)
}

/// The fit of `shape` to `d` (durations > 0; others are left out), or `None` with fewer
/// than two.
pub fn fit(d: &[f64], shape: Shape) -> Option<Fit> {
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
    let mean_sd = |v: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = v.collect();
        let m = v.iter().sum::<f64>() / n;
        (
            m,
            (v.iter().map(|l| (l - m).powi(2)).sum::<f64>() / n).sqrt(),
        )
    };
    let (a, b) = match shape {
        Shape::Lognormal => mean_sd(&mut x.iter().map(|v| v.ln())),
        Shape::Normal => mean_sd(&mut x.iter().copied()),
        Shape::Uniform => (x[0], x[x.len() - 1]),
    };
    let mut f = Fit {
        shape,
        n: x.len(),
        a,
        b,
        p50: 0.0,
        p95: 0.0,
        data_p50: sim_core::stats::quantile_sorted(&x, 0.5),
        data_p95: sim_core::stats::quantile_sorted(&x, 0.95),
        ks: 0.0,
        sample: Vec::new(),
    };
    (f.p50, f.p95) = match shape {
        Shape::Lognormal => (a.exp(), (a + Z95 * b).exp()),
        Shape::Normal => (a, a + Z95 * b),
        Shape::Uniform => (a + 0.5 * (b - a), a + 0.95 * (b - a)),
    };
    f.ks = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = f.cdf(v);
            (c - i as f64 / n).abs().max((c - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max);
    f.sample = x;
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, LogNormal};

    /// Samples of a known lognormal give back its median and 95th percentile (n = 5,000:
    /// within 3 %), and a small KS distance; a uniform sample fits it worse, and fits a
    /// uniform exactly.
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
        // The uniform fits the uniform exactly; the lognormal's KS is far better than
        // the normal's on skewed data.
        let u = fit(&uniform, Shape::Uniform).unwrap();
        assert!(u.ks <= 1.0 / 5000.0 + 1e-12, "{}", u.ks);
        assert_eq!(
            (u.a, u.b, u.value().as_str()),
            (1.0, 5000.0, "{uniform: {min: 1, max: 5000}}")
        );
        assert!(fit(&x, Shape::Normal).unwrap().ks > 3.0 * f.ks);
        // The QQ points of a good fit lie near the diagonal: the middle half within 5 %.
        let qq = f.qq();
        assert_eq!(qq.len(), 5000);
        for &(fit, data) in &qq[1250..3750] {
            assert!((data / fit - 1.0).abs() < 0.05, "{fit} {data}");
        }
    }
}
