//! Which estimates a sweep's verdict turns on: with `--uncertainty`, at the size nearest
//! its threshold, the rank correlation (Spearman's ρ) between each estimate's draws and
//! the checklist's worst margin over the replicas there.

use serde::Serialize;

use sim_core::stats::normal_quantile;

use crate::run::sweep::{Knobs, ReplicaRecord, SweepResult};

/// Replicas a size needs before its rank correlations are reported: with some 45
/// estimates, fewer than 20 put the noise bound (below) near or above 1, so that no
/// correlation could stand out.
pub const MIN_REPLICAS: usize = 20;

/// The figure the estimates are ranked against.
pub const MARGIN: &str = "checklist_worst_margin";

/// One estimate's rank correlation with the worst margin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Effect {
    /// The estimate's dotted path.
    pub knob: String,
    /// Spearman's ρ between its draws and the worst margin: positive when a larger value
    /// moves the checklist towards failing.
    pub rho: f64,
}

/// The estimates ranked at one size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sensitivity {
    /// Fleet size [clusters].
    pub clusters: u32,
    /// The swept knobs' values there.
    pub knobs: Knobs,
    /// Replicas the correlations rest on [count].
    pub replicas: u64,
    /// Median of the worst margin there (value ÷ threshold of the item nearest it).
    pub margin_p50: f64,
    /// |ρ| a correlation must exceed to stand out of noise: with no effect, ρ·√(n−1) is
    /// about standard normal, so z/√(n−1) with z the normal quantile that leaves 5 % to
    /// all the estimates together (Bonferroni: 0.05/K two-sided for K estimates).
    pub noise: f64,
    /// Every estimate, by |ρ|, largest first.
    pub effects: Vec<Effect>,
}

/// Ranks of `v`, 1-based, ties given their mean rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut out = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = mean;
        }
        i = j + 1;
    }
    out
}

/// Spearman's rank correlation of `x` and `y`: Pearson's of their ranks. NaN when either
/// is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The estimates ranked over a sweep's points (see [`rank`]).
pub fn of_sweep(r: &SweepResult) -> Option<Sensitivity> {
    let mut points: Vec<Vec<ReplicaRecord>> = Vec::new();
    for rec in &r.replicas {
        match points.last_mut() {
            Some(p) if p[0].clusters == rec.clusters && p[0].knobs == rec.knobs => {
                p.push(rec.clone())
            }
            _ => points.push(vec![rec.clone()]),
        }
    }
    rank(&points)
}

/// The estimates ranked at the point nearest its threshold (median worst margin nearest 1,
/// by ratio) among `points` (each point's replicas) with at least [`MIN_REPLICAS`] replicas
/// that drew estimates; `None` when no point has as many.
pub fn rank(points: &[Vec<ReplicaRecord>]) -> Option<Sensitivity> {
    let usable = |recs: &&Vec<ReplicaRecord>| {
        recs.iter()
            .filter(|r| !r.draws.is_empty() && r.figures.get(MARGIN).is_some_and(|m| *m > 0.0))
            .count()
            >= MIN_REPLICAS
    };
    let nearest = points
        .iter()
        .filter(usable)
        .map(|recs| {
            let m = median(
                recs.iter()
                    .filter_map(|r| r.figures.get(MARGIN).copied())
                    .collect(),
            );
            (recs, m)
        })
        .min_by(|a, b| a.1.ln().abs().total_cmp(&b.1.ln().abs()))?;
    let (recs, margin_p50) = nearest;
    let recs: Vec<&ReplicaRecord> = recs
        .iter()
        .filter(|r| !r.draws.is_empty() && r.figures.get(MARGIN).is_some_and(|m| *m > 0.0))
        .collect();
    let margins: Vec<f64> = recs.iter().map(|r| r.figures[MARGIN]).collect();
    let mut effects: Vec<Effect> = recs[0]
        .draws
        .keys()
        .map(|knob| {
            let draws: Vec<f64> = recs.iter().map(|r| r.draws[knob]).collect();
            Effect {
                knob: knob.clone(),
                rho: spearman(&draws, &margins),
            }
        })
        .filter(|e| e.rho.is_finite())
        .collect();
    effects.sort_by(|a, b| {
        b.rho
            .abs()
            .total_cmp(&a.rho.abs())
            .then(a.knob.cmp(&b.knob))
    });
    let n = recs.len();
    let z = normal_quantile(1.0 - 0.05 / (2.0 * effects.len().max(1) as f64));
    Some(Sensitivity {
        clusters: recs[0].clusters,
        knobs: recs[0].knobs.clone(),
        replicas: n as u64,
        margin_p50,
        noise: z / ((n - 1) as f64).sqrt(),
        effects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn spearman_is_one_for_any_increasing_relation_and_handles_ties() {
        let x: Vec<f64> = (1..=12).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| v.powi(3) + 5.0).collect();
        assert!((spearman(&x, &y) - 1.0).abs() < 1e-12);
        let rev: Vec<f64> = x.iter().map(|v| -v.exp()).collect();
        assert!((spearman(&x, &rev) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        // The textbook example: d² sums to 2 over n = 5, so ρ = 1 − 6·2/(5·24) = 0.9.
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 3.0, 4.0, 5.0]);
        assert!((rho - 0.9).abs() < 1e-12);
        assert!(spearman(&[1.0, 2.0], &[4.0, 4.0]).is_nan());
    }

    fn record(clusters: u32, margin: f64, draws: &[(&str, f64)]) -> ReplicaRecord {
        ReplicaRecord {
            clusters,
            knobs: Knobs::new(),
            replica: 0,
            ready: true,
            figures: [(MARGIN.to_string(), margin)].into_iter().collect(),
            checks: BTreeMap::new(),
            checklist_pass: margin < 1.0,
            bottleneck: String::new(),
            bottleneck_at: String::new(),
            bottleneck_share: 0.0,
            draws: draws.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn the_point_nearest_its_threshold_ranks_the_knob_that_drives_the_margin_first() {
        // At 200 clusters the margin is 0.5·slowdown + noise from another knob; at 100
        // it is far from the threshold.
        let near: Vec<ReplicaRecord> = (0..24)
            .map(|i| {
                let slowdown = 0.05 * f64::from(i);
                let other = f64::from((i * 7) % 24);
                record(
                    200,
                    0.7 + 0.5 * slowdown + 0.0005 * other,
                    &[
                        ("prism-central.load-slowdown", slowdown),
                        ("etcd.key-bytes", other),
                    ],
                )
            })
            .collect();
        let far: Vec<ReplicaRecord> = (0..24)
            .map(|i| record(100, 0.1, &[("prism-central.load-slowdown", f64::from(i))]))
            .collect();
        let s = rank(&[far, near.clone()]).unwrap();
        assert_eq!((s.clusters, s.replicas), (200, 24));
        // Two estimates: z = Φ⁻¹(1 − 0.05/4) = 2.2414 over √23.
        assert!((s.noise - 2.2414 / 23f64.sqrt()).abs() < 1e-3);
        assert_eq!(s.effects[0].knob, "prism-central.load-slowdown");
        assert!((s.effects[0].rho - 1.0).abs() < 1e-12);
        assert!(s.effects[1].rho.abs() < s.noise);
        // Below twenty replicas nothing is ranked.
        assert_eq!(rank(&[near[..19].to_vec()]), None);
    }
}
