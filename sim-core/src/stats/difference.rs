//! The difference B − A between two designs' means, with a confidence interval: paired
//! when replica r of both ran on the same random streams (common random numbers), Welch's
//! two-sample interval when they ran on independent ones.
//!
//! Common random numbers make A's and B's replicas move together (the same VM that draws a
//! slow create in A draws it in B), so the paired differences vary less than either design
//! does, and the interval is narrower for the same replicas.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::Summary;

/// B − A with its interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// Mean of A.
    pub mean_a: f64,
    /// Mean of B.
    pub mean_b: f64,
    /// Mean difference B − A.
    pub mean: f64,
    /// Lower end of its confidence interval.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
    /// Confidence of the interval.
    pub confidence: f64,
    /// Replicas per design [count].
    pub n: usize,
    /// `paired` or `welch`.
    pub method: &'static str,
}

impl Difference {
    /// Whether the interval excludes zero: the designs differ at the confidence.
    pub fn significant(&self) -> bool {
        self.ci_low > 0.0 || self.ci_high < 0.0
    }

    /// Half the interval's width.
    pub fn half_width(&self) -> f64 {
        (self.ci_high - self.ci_low) / 2.0
    }
}

/// The paired difference of `b` and `a` (replica r of each on the same streams): the
/// t interval of the mean of bᵣ − aᵣ. `None` below two pairs, for unequal lengths or NaN.
pub fn paired(a: &[f64], b: &[f64], confidence: f64) -> Option<Difference> {
    if a.len() != b.len() {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let s = Summary::of(&d, confidence)?;
    Some(Difference {
        mean_a: Summary::of(a, confidence)?.mean,
        mean_b: Summary::of(b, confidence)?.mean,
        mean: s.mean,
        ci_low: s.ci_low?,
        ci_high: s.ci_high?,
        confidence,
        n: d.len(),
        method: "paired",
    })
}

/// Welch's interval for mean(b) − mean(a) from independent samples, with the
/// Welch–Satterthwaite degrees of freedom. `None` below two values each or for NaN.
pub fn welch(a: &[f64], b: &[f64], confidence: f64) -> Option<Difference> {
    let (sa, sb) = (Summary::of(a, confidence)?, Summary::of(b, confidence)?);
    if sa.n < 2 || sb.n < 2 {
        return None;
    }
    let (va, vb) = (sa.sd * sa.sd / sa.n as f64, sb.sd * sb.sd / sb.n as f64);
    let se = (va + vb).sqrt();
    let df = if se > 0.0 {
        (va + vb).powi(2) / (va * va / (sa.n - 1) as f64 + vb * vb / (sb.n - 1) as f64)
    } else {
        (sa.n + sb.n - 2) as f64
    };
    let t = StudentsT::new(0.0, 1.0, df)
        .ok()?
        .inverse_cdf(0.5 + confidence / 2.0);
    let mean = sb.mean - sa.mean;
    Some(Difference {
        mean_a: sa.mean,
        mean_b: sb.mean,
        mean,
        ci_low: mean - t * se,
        ci_high: mean + t * se,
        confidence,
        n: sa.n.min(sb.n),
        method: "welch",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_shift_on_common_streams_is_known_exactly() {
        // B is A plus 2 replica by replica: the paired interval is 2 ± 0; Welch's sees
        // both samples' spread and stays wide.
        let a = [10.0, 14.0, 9.0, 20.0, 12.0];
        let b: Vec<f64> = a.iter().map(|x| x + 2.0).collect();
        let p = paired(&a, &b, 0.95).unwrap();
        assert_eq!((p.mean, p.ci_low, p.ci_high), (2.0, 2.0, 2.0));
        assert!(p.significant());
        let w = welch(&a, &b, 0.95).unwrap();
        assert!((w.mean - 2.0).abs() < 1e-12);
        assert!(!w.significant() && w.half_width() > 4.0);
    }

    #[test]
    fn an_interval_touching_zero_is_not_significant() {
        // Found by cargo-mutants: the edges of `significant`, the half width, and the
        // smallest samples Welch's interval takes.
        let d = |lo: f64, hi: f64| Difference {
            mean_a: 0.0,
            mean_b: 0.0,
            mean: (lo + hi) / 2.0,
            ci_low: lo,
            ci_high: hi,
            confidence: 0.95,
            n: 2,
            method: "paired",
        };
        assert!(!d(0.0, 1.0).significant() && !d(-1.0, 0.0).significant());
        assert!(d(0.5, 1.0).significant() && d(-1.0, -0.5).significant());
        assert_eq!(d(1.0, 5.0).half_width(), 2.0);
        assert!(welch(&[1.0], &[2.0, 3.0], 0.95).is_none());
        assert!(welch(&[1.0, 2.0], &[3.0], 0.95).is_none());
        assert!(welch(&[1.0, 2.0], &[3.0, 5.0], 0.95).is_some());
        // No spread at all: the difference is exact.
        let w = welch(&[1.0, 1.0], &[3.0, 3.0], 0.95).unwrap();
        assert_eq!((w.ci_low, w.ci_high), (2.0, 2.0));
    }

    #[test]
    fn welch_matches_the_textbook_example() {
        // Equal sizes and variances: df = 2n − 2 and se = s·√(2/n).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [3.0, 4.0, 5.0, 6.0, 7.0];
        let w = welch(&a, &b, 0.95).unwrap();
        // s² = 2.5, se = √(2·2.5/5) = 1, t(0.975, 8) = 2.306004.
        assert!((w.ci_low - (2.0 - 2.306004)).abs() < 1e-5);
        assert!((w.ci_high - (2.0 + 2.306004)).abs() < 1e-5);
        assert!(paired(&a, &b[..4], 0.95).is_none());
        // Unequal variances and sizes: Welch–Satterthwaite gives 3.0479 degrees of freedom
        // and t(0.975, 3.0479) = 3.15434 (the t density integrated numerically), not the
        // pooled 5 degrees of freedom's 2.571.
        let w = welch(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0, 40.0], 0.95).unwrap();
        assert!((w.ci_low - 2.557_549).abs() < 1e-4, "{}", w.ci_low);
        assert!((w.ci_high - 43.442_451).abs() < 1e-4, "{}", w.ci_high);
    }
}
