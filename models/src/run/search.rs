//! The breaking point: the largest fleet size in a range shown to pass the checklist at
//! the rate asked for, by bisection.
//!
//! Each size is judged by the same [`PassRule`] as a grid point: its replicas are looked
//! at on the doubling schedule of [`Sampling::looks`], and it stops growing as soon as the
//! Clopper–Pearson bounds show it passes or fails. A size still undecided at the maximum
//! counts as not shown to pass: the answer never claims more than its replicas support.
//! The pass rate is assumed to fall as the fleet grows (bisection needs a monotone
//! answer); the sizes evaluated are all reported, so a violation shows.

use rayon::prelude::*;
use serde::Serialize;
use sim_core::SimError;
use sim_core::stats::binomial::{PassRule, Verdict};

use crate::run::RunPlan;
use crate::run::sweep::{
    Knobs, Ledger, PointSummary, Progress, ReplicaRecord, Sampling, run_replica, summarise,
};

/// The result of a search for the breaking point.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResult {
    /// The swept knobs' values this search held.
    pub knobs: Knobs,
    /// The rule the sizes were judged by.
    pub rule: PassRule,
    /// The largest size shown to pass the checklist at the rule's rate, if any.
    pub passing: Option<u32>,
    /// The smallest size evaluated that was not shown to pass, if any: shown to fail, or
    /// undecided at the most replicas allowed (its summary's verdict says which).
    pub not_passing: Option<u32>,
    /// Every size evaluated, in the order evaluated.
    pub evaluated: Vec<PointSummary>,
}

/// Finds the largest fleet size in `lo..=hi` shown to pass the checklist at
/// `sampling.pass_rate` with `sampling.confidence`, to within `resolution` clusters.
///
/// Replica r is the same run as replica r of a grid sweep, so a grid at the bracket's ends
/// reproduces the answer.
#[allow(clippy::too_many_arguments)]
pub fn search(
    lo: u32,
    hi: u32,
    resolution: u32,
    sampling: &Sampling,
    knobs: &Knobs,
    make: impl Fn(u32) -> RunPlan + Sync,
    ledger: &dyn Ledger,
    progress: impl Fn(Progress) + Sync,
) -> Result<SearchResult, SimError> {
    let rule = sampling.rule();
    let mut evaluated = Vec::new();
    let mut eval = |c: u32| -> Result<bool, SimError> {
        let mut records: Vec<ReplicaRecord> = Vec::new();
        for &n in &sampling.looks() {
            let have = records.len() as u64;
            progress(Progress::Planned(n - have));
            let more: Vec<Result<ReplicaRecord, SimError>> = (have..n)
                .into_par_iter()
                .map(|r| {
                    let record = run_replica(&make, c, knobs, r, ledger);
                    progress(Progress::Finished { point: 0 });
                    record
                })
                .collect();
            for m in more {
                records.push(m?);
            }
            let passed = records.iter().filter(|r| r.checklist_pass).count() as u64;
            if rule.verdict(passed, n) != Verdict::Undecided {
                break;
            }
        }
        let summary = summarise(c, &records, &rule);
        let pass = summary.verdict == Verdict::Passes;
        evaluated.push(summary);
        Ok(pass)
    };
    let result = |passing, not_passing, evaluated| SearchResult {
        knobs: knobs.clone(),
        rule,
        passing,
        not_passing,
        evaluated,
    };
    if !eval(lo)? {
        return Ok(result(None, Some(lo), evaluated));
    }
    if eval(hi)? {
        return Ok(result(Some(hi), None, evaluated));
    }
    let (mut good, mut bad) = (lo, hi);
    while bad - good > resolution.max(1) {
        let mid = good + (bad - good) / 2;
        if eval(mid)? {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Ok(result(Some(good), Some(bad), evaluated))
}
