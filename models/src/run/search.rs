//! The breaking point: the largest fleet size in a range shown to pass the checklist at
//! the rate asked for, by bisection.
//!
//! Showing a pass rate takes many replicas (59 passing ones for 95 % at 95 % confidence),
//! and a bisection visits several sizes, so the search spends them only where the claim is
//! made:
//!
//! 1. **Probe.** Each size the bisection visits gets the first look's replicas
//!    ([`Sampling::replicas`]). A size where every replica passed leads the bisection up;
//!    a size where one failed, down. A probe is a direction, not a claim.
//! 2. **Confirm.** The largest size the probes leave is then judged by the same
//!    [`PassRule`] as a grid point: its replicas grow on the doubling schedule of
//!    [`Sampling::looks`] until the Clopper–Pearson bounds decide, or the maximum. Shown to
//!    pass, it is the answer; otherwise it becomes the upper end and the bisection goes on
//!    below it.
//!
//! So the answer never claims more than its replicas support, and a size counted as not
//! passing is one where a replica failed or that could not be shown to pass. The pass rate
//! is assumed to fall as the fleet grows (bisection needs a monotone answer); every size
//! evaluated is reported, so a violation shows.

use std::collections::BTreeMap;

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
    /// The smallest size evaluated above it that was not shown to pass, if any: a replica
    /// failed there, or its replicas could not show the rate (its verdict says which).
    pub not_passing: Option<u32>,
    /// Every size evaluated, in the order first evaluated, with all its replicas.
    pub evaluated: Vec<PointSummary>,
}

/// The sizes a search has run, and how to run more.
struct Sizes<'a, M, P> {
    sampling: &'a Sampling,
    rule: PassRule,
    knobs: &'a Knobs,
    make: M,
    ledger: &'a dyn Ledger,
    progress: P,
    /// Each size's replicas, in replica order.
    runs: BTreeMap<u32, Vec<ReplicaRecord>>,
    /// The sizes in the order first evaluated.
    order: Vec<u32>,
}

impl<M: Fn(u32) -> RunPlan + Sync, P: Fn(Progress) + Sync> Sizes<'_, M, P> {
    /// Runs size `c`'s replicas up to `n`; returns (passes, replicas).
    fn grow(&mut self, c: u32, n: u64) -> Result<(u64, u64), SimError> {
        if !self.runs.contains_key(&c) {
            self.order.push(c);
        }
        let have = self.runs.get(&c).map_or(0, |r| r.len() as u64);
        if have < n {
            (self.progress)(Progress::Planned(n - have));
            let (make, knobs, ledger, progress) =
                (&self.make, self.knobs, self.ledger, &self.progress);
            let more: Vec<Result<ReplicaRecord, SimError>> = (have..n)
                .into_par_iter()
                .map(|r| {
                    let record = run_replica(make, c, knobs, r, ledger);
                    progress(Progress::Finished { point: 0 });
                    record
                })
                .collect();
            let records = self.runs.entry(c).or_default();
            for m in more {
                records.push(m?);
            }
        }
        let records = &self.runs[&c];
        let passed = records.iter().filter(|r| r.checklist_pass).count() as u64;
        Ok((passed, records.len() as u64))
    }

    /// The first look at `c`: whether every replica passed.
    fn probe(&mut self, c: u32) -> Result<bool, SimError> {
        let (k, n) = self.grow(c, self.sampling.replicas.max(1))?;
        Ok(k == n)
    }

    /// Whether `c` is shown to pass, its replicas grown look by look until decided.
    fn confirm(&mut self, c: u32) -> Result<bool, SimError> {
        for n in self.sampling.looks() {
            let (k, n) = self.grow(c, n)?;
            match self.rule.verdict(k, n) {
                Verdict::Passes => return Ok(true),
                Verdict::Fails => return Ok(false),
                Verdict::Undecided => {}
            }
        }
        Ok(false)
    }
}

/// Finds the largest fleet size in `lo..=hi` shown to pass the checklist at
/// `sampling.pass_rate` with `sampling.confidence`, to within `resolution` clusters.
///
/// Replica r is the same run as replica r of a grid sweep, so a grid with the replicas a
/// size got reproduces its verdict.
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
    let mut s = Sizes {
        sampling,
        rule,
        knobs,
        make,
        ledger,
        progress,
        runs: BTreeMap::new(),
        order: Vec::new(),
    };
    let resolution = resolution.max(1);
    let (mut passing, mut not_passing) = (None, None);
    // Sizes whose probe passed in every replica: where the bisection may stand.
    let mut probed_good = vec![];
    if s.probe(lo)? {
        probed_good.push(lo);
        let mut good = lo;
        if s.probe(hi)? {
            good = hi;
            probed_good.push(hi);
        } else {
            not_passing = Some(hi);
        }
        loop {
            // Probes: narrow down to `resolution` between a size whose replicas all
            // passed and one where one failed.
            while let Some(bad) = not_passing.filter(|&b| b - good > resolution) {
                let mid = good + (bad - good) / 2;
                if s.probe(mid)? {
                    good = mid;
                    probed_good.push(mid);
                } else {
                    not_passing = Some(mid);
                }
            }
            // The claim, at that size alone.
            if s.confirm(good)? {
                passing = Some(good);
                break;
            }
            not_passing = Some(good);
            // Below it, from the largest size whose probe passed.
            match probed_good.iter().copied().filter(|&c| c < good).max() {
                Some(below) => good = below,
                None => break,
            }
        }
    } else {
        not_passing = Some(lo);
    }
    let evaluated = s
        .order
        .iter()
        .map(|c| summarise(*c, &s.runs[c], &rule))
        .collect();
    Ok(SearchResult {
        knobs: knobs.clone(),
        rule,
        passing,
        not_passing,
        evaluated,
    })
}
