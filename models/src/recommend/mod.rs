//! `capsim recommend`: the cheapest configuration that passes the checklist and the
//! user's targets, searched over the knobs an operator can change before a purchase
//! (`presets/recommend.yaml`), priced by the scenario's `prices`, then verified on fresh
//! random streams.
//!
//! The search ([`search`]) screens each configuration with a few replicas on common
//! streams; the configurations it moves to, each cheaper than the one before, are then
//! re-run on fresh streams from the cheapest back ([`fleet::verify`]) until one shows the
//! pass rate at the confidence (every replica of as many as that takes passing).

pub mod apply;
pub mod cost;
pub mod fleet;
pub mod search;
pub mod space;

use serde::Serialize;
use sim_core::stats::binomial::PassRule;

use crate::run::RunPlan;
use crate::scenario::presets::Override;
use fleet::{Fleet, Verification, verify};
use search::{SearchResult, Settings, search};

/// What `recommend` found.
#[derive(Clone, Debug, Serialize)]
pub struct Recommendation {
    /// The search.
    pub search: SearchResult,
    /// The configurations verified, cheapest first: index into the search's trace, and
    /// what the fresh replicas showed.
    pub verifications: Vec<(usize, Verification)>,
    /// The recommended configuration (index into the trace): the cheapest verified.
    pub chosen: Option<usize>,
}

/// How the found configurations are verified.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct VerifyPlan {
    /// The pass rate and confidence to show.
    pub rule: PassRule,
    /// The fresh streams' seed.
    pub seed: u64,
    /// Replicas run at once [count].
    pub batch: u64,
    /// Configurations verified at most, from the cheapest back [count].
    pub at_most: usize,
}

/// Searches, then verifies from the cheapest configuration back.
pub fn recommend<F>(
    fleet: &Fleet<'_, F>,
    settings: &Settings,
    verify_plan: &VerifyPlan,
) -> Result<Recommendation, String>
where
    F: Fn(&[Override], u64) -> Result<RunPlan, String> + Sync,
{
    let start: Vec<usize> = fleet.knobs.iter().map(|k| k.start).collect();
    let found = search(fleet, settings, &start)?;
    let mut verifications = Vec::new();
    let mut chosen = None;
    for &i in found.chain.iter().rev().take(verify_plan.at_most) {
        let v = verify(
            fleet,
            &found.trace[i].point,
            verify_plan.seed,
            &verify_plan.rule,
            verify_plan.batch,
        )?;
        let shown = v.shown;
        verifications.push((i, v));
        if shown {
            chosen = Some(i);
            break;
        }
    }
    Ok(Recommendation {
        search: found,
        verifications,
        chosen,
    })
}
