//! What k successes in n independent trials say about the success probability p: exact
//! one-sided Clopper–Pearson bounds, and the rule a Monte Carlo sweep uses to call a pass
//! rate shown, refuted or undecided.
//!
//! The lower bound L at confidence c is the p at which k or more successes have
//! probability 1 − c: the β(1 − c; k, n − k + 1) quantile (Clopper and Pearson, 1934). It
//! is conservative: over repeated experiments, p ≥ L holds in at least a fraction c of
//! them, whatever p is. Three passes in three give L = 0.05^(1/3) ≈ 0.37 at c = 0.95.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF};

/// The one-sided lower `confidence` bound on p from `k` successes in `n` trials: 0 when
/// k = 0 (or n = 0), (1 − c)^(1/n) when k = n.
pub fn lower_bound(k: u64, n: u64, confidence: f64) -> f64 {
    let alpha = 1.0 - confidence;
    if k == 0 || n == 0 {
        return 0.0;
    }
    if k >= n {
        return alpha.powf(1.0 / n as f64);
    }
    beta_quantile(k as f64, (n - k + 1) as f64, alpha)
}

/// The one-sided upper `confidence` bound on p from `k` successes in `n` trials: 1 when
/// k = n (or n = 0), 1 − (1 − c)^(1/n) when k = 0.
pub fn upper_bound(k: u64, n: u64, confidence: f64) -> f64 {
    if n == 0 || k >= n {
        return 1.0;
    }
    1.0 - lower_bound(n - k, n, confidence)
}

/// The β(a, b) quantile at `q`; both shapes are positive here.
fn beta_quantile(a: f64, b: f64, q: f64) -> f64 {
    Beta::new(a, b).map_or(f64::NAN, |d| d.inverse_cdf(q))
}

/// What the replicas show about a pass rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The lower bound reaches the rate: the pass rate is at least it, at the confidence.
    Passes,
    /// The upper bound is below the rate: the pass rate is below it, at the confidence.
    Fails,
    /// Neither: more replicas are needed to tell.
    Undecided,
}

impl Verdict {
    /// Its name, as serialized: `passes`, `fails` or `undecided`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passes => "passes",
            Verdict::Fails => "fails",
            Verdict::Undecided => "undecided",
        }
    }
}

/// The rule that turns k passes in n replicas into a [`Verdict`]: the pass rate asked
/// for, the confidence of the bounds, and how many times the replicas are looked at
/// before the last (each look that may stop early spends part of the error budget).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassRule {
    /// The pass rate a point must be shown to reach [fraction].
    pub pass_rate: f64,
    /// The confidence of the claim, over all looks together [fraction].
    pub confidence: f64,
    /// How many times the replicas of one point may be looked at (1: once, at the end).
    pub looks: u32,
}

impl PassRule {
    /// The confidence of each look's bounds: with L looks, each spends (1 − c)/L of the
    /// error budget, so that by Bonferroni's inequality the claim made at whichever look
    /// stops is wrong with probability at most 1 − c.
    pub fn confidence_per_look(&self) -> f64 {
        1.0 - (1.0 - self.confidence) / f64::from(self.looks.max(1))
    }

    /// The lower and upper bounds on the pass rate from `k` passes in `n` replicas.
    pub fn bounds(&self, k: u64, n: u64) -> (f64, f64) {
        let c = self.confidence_per_look();
        (lower_bound(k, n, c), upper_bound(k, n, c))
    }

    /// What `k` passes in `n` replicas show.
    pub fn verdict(&self, k: u64, n: u64) -> Verdict {
        let (low, high) = self.bounds(k, n);
        if low >= self.pass_rate {
            Verdict::Passes
        } else if high < self.pass_rate {
            Verdict::Fails
        } else {
            Verdict::Undecided
        }
    }

    /// The fewest replicas, all passing, that show the pass rate (at most 100,000).
    pub fn replicas_to_show(&self) -> u64 {
        let c = self.confidence_per_look();
        (1..=100_000)
            .find(|&n| lower_bound(n, n, c) >= self.pass_rate)
            .unwrap_or(100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(X ≥ k) for X ~ Binomial(n, p), summed term by term.
    fn tail_at_least(k: u64, n: u64, p: f64) -> f64 {
        let mut total = 0.0;
        for j in k..=n {
            let mut choose = 1.0;
            for i in 0..j {
                choose *= (n - i) as f64 / (j - i) as f64;
            }
            total += choose * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32);
        }
        total
    }

    #[test]
    fn more_successes_than_trials_bound_nothing_and_verdicts_read_as_serialized() {
        // Found by cargo-mutants: the k ≥ n guard was never exercised with k > n.
        assert_eq!(upper_bound(4, 3, 0.95), 1.0);
        assert_eq!(upper_bound(0, 0, 0.95), 1.0);
        for v in [Verdict::Passes, Verdict::Fails, Verdict::Undecided] {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
        }
    }

    #[test]
    fn all_passes_bound_is_the_closed_form() {
        // n of n: P(all pass | p = L) = L^n = 1 − c.
        assert!((lower_bound(3, 3, 0.95) - 0.05f64.powf(1.0 / 3.0)).abs() < 1e-12);
        assert!((lower_bound(3, 3, 0.95) - 0.368).abs() < 1e-3);
        assert!((upper_bound(0, 3, 0.95) - (1.0 - 0.05f64.powf(1.0 / 3.0))).abs() < 1e-12);
        assert_eq!(lower_bound(0, 5, 0.95), 0.0);
        assert_eq!(upper_bound(5, 5, 0.95), 1.0);
    }

    #[test]
    fn lower_bound_makes_the_observed_tail_equal_the_error_rate() {
        // Clopper–Pearson: at p = L, seeing k or more successes has probability 1 − c.
        for (k, n, c) in [(7, 12, 0.95), (1, 10, 0.9), (29, 30, 0.99), (50, 100, 0.95)] {
            let l = lower_bound(k, n, c);
            assert!(
                (tail_at_least(k, n, l) - (1.0 - c)).abs() < 1e-6,
                "k={k} n={n}: L={l}"
            );
            // and the upper bound: seeing k or fewer at p = U has probability 1 − c.
            let u = upper_bound(k, n, c);
            let at_most = 1.0 - tail_at_least(k + 1, n, u);
            assert!((at_most - (1.0 - c)).abs() < 1e-6, "k={k} n={n}: U={u}");
        }
    }

    #[test]
    fn three_of_three_cannot_show_ninety_five_percent() {
        let rule = PassRule {
            pass_rate: 0.95,
            confidence: 0.95,
            looks: 1,
        };
        assert_eq!(rule.verdict(3, 3), Verdict::Undecided);
        assert_eq!(rule.verdict(59, 59), Verdict::Passes);
        assert_eq!(rule.verdict(58, 58), Verdict::Undecided);
        assert_eq!(rule.replicas_to_show(), 59);
        // None in two already shows the rate is below 95 %: U = 1 − √0.05 ≈ 0.78.
        assert_eq!(rule.verdict(0, 2), Verdict::Fails);
        assert_eq!(rule.verdict(0, 1), Verdict::Undecided);
        // A lower rate asks fewer: 0.05^(1/n) ≥ 0.7 from n = 9.
        let lenient = PassRule {
            pass_rate: 0.7,
            ..rule
        };
        assert_eq!(lenient.replicas_to_show(), 9);
    }

    #[test]
    fn looks_share_the_error_budget() {
        let rule = PassRule {
            pass_rate: 0.9,
            confidence: 0.95,
            looks: 3,
        };
        assert!((rule.confidence_per_look() - (1.0 - 0.05 / 3.0)).abs() < 1e-15);
        // More looks, stricter bounds: more replicas to show the same rate.
        let once = PassRule { looks: 1, ..rule };
        assert!(rule.replicas_to_show() > once.replicas_to_show());
    }
}
