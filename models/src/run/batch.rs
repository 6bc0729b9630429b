//! A batch of runs whose identical management clusters are simulated once.
//!
//! A fleet split among management clusters runs management cluster `i` on stream `i` of
//! its seed and replica ([`crate::run::topology`]), whatever the fleet's size. So in a
//! sweep, replica r of 1,000 clusters on two management clusters of 500 and replica r of
//! 1,500 on three of 500 share their first two management clusters: the same plan on
//! the same streams, hence the same simulation. A batch runs each distinct management
//! cluster once and hands it to every run that has it; the reports are the ones each run
//! would have produced alone, byte for byte.
//!
//! The batch's units of parallel work are whole runs (one management cluster) and the
//! distinct management clusters of split runs. A split run is put together by the thread
//! that finishes its last management cluster, so that a run is reported as it finishes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use rayon::prelude::*;
use sim_core::SimError;

use crate::run::topology::{Part, assemble, part_plans, run_part, same_part};
use crate::run::{RunOutput, RunPlan, run};

/// What one unit of a batch simulates.
enum Unit {
    /// Run `.0` of the batch, on one management cluster.
    Whole(usize),
    /// Management cluster `index` of every run in `runs`.
    Part {
        plan: Box<RunPlan>,
        index: usize,
        runs: Vec<usize>,
    },
}

/// The batch's units and, for each split run, the units of its management clusters in order.
fn units_of(plans: &[RunPlan]) -> (Vec<Unit>, Vec<Vec<usize>>) {
    let mut units = Vec::new();
    let mut parts_of = vec![Vec::new(); plans.len()];
    // Candidates by the cheap part of the key; `same_part` settles it.
    let mut by_key: HashMap<(usize, u64, u64, u32), Vec<usize>> = HashMap::new();
    for (i, plan) in plans.iter().enumerate() {
        let parts = if plan.management_clusters > 1 {
            part_plans(plan)
        } else {
            Vec::new()
        };
        if parts.is_empty() {
            units.push(Unit::Whole(i));
            continue;
        }
        for (index, part) in parts.into_iter().enumerate() {
            let key = (index, part.seed, part.replica, part.fleet.clusters);
            let candidates = by_key.entry(key).or_default();
            let found = candidates
                .iter()
                .copied()
                .find(|&u| matches!(&units[u], Unit::Part { plan, .. } if same_part(plan, &part)));
            let u = found.unwrap_or_else(|| {
                units.push(Unit::Part {
                    plan: Box::new(part),
                    index,
                    runs: Vec::new(),
                });
                candidates.push(units.len() - 1);
                units.len() - 1
            });
            if let Unit::Part { runs, .. } = &mut units[u] {
                runs.push(i);
            }
            parts_of[i].push(u);
        }
    }
    (units, parts_of)
}

/// Management clusters a batch of `plans` simulates: each distinct one once [count].
pub fn simulations(plans: &[RunPlan]) -> usize {
    units_of(plans).0.len()
}

/// Runs every plan, in parallel, each distinct management cluster once, and returns
/// `finish(i, output of plans[i])` for each, in order. `finish` is called as each run
/// completes, on the thread that completed it.
///
/// A shared management cluster runs under the `stop` and `progress` of the first plan
/// that has it, so the plans of one batch should share one [`sim_core::cancel::Stop`] (a
/// sweep's do): then each output is the one `run(&plans[i])` gives. A run whose
/// management cluster fails gets the first error in management-cluster order.
pub fn run_batch<T: Send + Sync>(
    plans: &[RunPlan],
    finish: impl Fn(usize, Result<RunOutput, SimError>) -> T + Sync,
) -> Vec<T> {
    let (units, parts_of) = units_of(plans);
    // A part is kept until the last run that has it is put together, then dropped.
    let done: Vec<Mutex<Option<Result<Part, SimError>>>> =
        units.iter().map(|_| Mutex::new(None)).collect();
    let users: Vec<AtomicUsize> = units
        .iter()
        .map(|u| match u {
            Unit::Whole(_) => AtomicUsize::new(0),
            Unit::Part { runs, .. } => AtomicUsize::new(runs.len()),
        })
        .collect();
    let left: Vec<AtomicUsize> = parts_of.iter().map(|p| AtomicUsize::new(p.len())).collect();
    let results: Vec<OnceLock<T>> = plans.iter().map(|_| OnceLock::new()).collect();
    let put = |i: usize, out| {
        let _ = results[i].set(finish(i, out));
    };
    let lock = |u: usize| done[u].lock().unwrap_or_else(PoisonError::into_inner);
    // Replica by replica: the runs that share a management cluster are one replica's, so
    // each part is dropped soon after it is made, however many replicas the batch has.
    let replica = |u: &Unit| match u {
        Unit::Whole(i) => plans[*i].replica,
        Unit::Part { plan, .. } => plan.replica,
    };
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&u| replica(&units[u]));
    order.par_iter().for_each(|&u| match &units[u] {
        Unit::Whole(i) => put(*i, run(&plans[*i])),
        Unit::Part { plan, index, runs } => {
            *lock(u) = Some(run_part(plan, *index));
            for &i in runs {
                // The last of run i's management clusters to finish puts it together.
                if left[i].fetch_sub(1, Ordering::AcqRel) != 1 {
                    continue;
                }
                let parts: Vec<Result<Part, SimError>> = parts_of[i]
                    .iter()
                    .map(|&p| {
                        let mut slot = lock(p);
                        let last = users[p].fetch_sub(1, Ordering::AcqRel) == 1;
                        let part = if last { slot.take() } else { slot.clone() };
                        part.expect("every part finished")
                    })
                    .collect();
                let parts = parts.into_iter().collect::<Result<Vec<Part>, SimError>>();
                put(i, parts.and_then(|parts| assemble(&plans[i], parts)));
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().expect("every run finished"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::config::Limit;
    use crate::scenario::operations::{AfterOp, FleetSpec};
    use crate::scenario::presets::{self, Tier};
    use sim_core::SimDuration;
    use sim_core::cancel::{Stop, StopFlag, StopReason};

    fn plan_on(tier: Tier, clusters: u32, management_clusters: u32, replica: u64) -> RunPlan {
        let config = presets::resolve(tier, &[]).unwrap();
        let fleet = FleetSpec::all_at_once(clusters, 2, 1);
        let mut p = RunPlan::new(config, tier.name(), fleet, 1);
        p.management_clusters = management_clusters;
        p.replica = replica;
        p
    }

    fn plan(clusters: u32, management_clusters: u32, replica: u64) -> RunPlan {
        plan_on(Tier::Small, clusters, management_clusters, replica)
    }

    fn json(out: &Result<RunOutput, SimError>) -> String {
        serde_json::to_string(&out.as_ref().expect("a finished run").report).unwrap()
    }

    /// Runs `plans` as a batch and alone, and checks that every report is the same.
    fn same_as_alone(plans: &[RunPlan]) -> Vec<String> {
        let finished = AtomicUsize::new(0);
        let batch = run_batch(plans, |_, out| {
            finished.fetch_add(1, Ordering::Relaxed);
            json(&out)
        });
        assert_eq!(finished.into_inner(), plans.len());
        for (p, got) in plans.iter().zip(&batch) {
            assert_eq!(*got, json(&run(p)), "{} clusters", p.fleet.clusters);
        }
        batch
    }

    #[test]
    fn a_batch_simulates_each_distinct_management_cluster_once_and_reports_as_runs_alone() {
        let other = |f: fn(&mut RunPlan)| {
            let mut p = plan(4, 2, 0);
            f(&mut p);
            p
        };
        let plans = [
            // Two management clusters of 2, then three of 2: the first two are shared.
            plan(4, 2, 0),
            plan(6, 3, 0),
            // 5 on 2 is 3 + 2: its second management cluster is the first run's second.
            plan(5, 2, 0),
            // One management cluster runs whole, on the run's own streams.
            plan(2, 1, 0),
            // Anything else that differs makes another simulation of both parts.
            plan(6, 3, 1),
            other(|p| p.seed = 2),
            other(|p| p.config.prism_central.max_concurrent_tasks = Some(Limit(Some(4.0)))),
            other(|p| p.tier = "small-2".into()),
            other(|p| p.timeline = true),
            other(|p| p.max_simulated = SimDuration::from_hours(12)),
            other(|p| {
                p.faults = vec![crate::scenario::faults::Fault::PrismCentralOutage {
                    at: SimDuration::from_mins(1),
                    duration: SimDuration::from_mins(1),
                }]
            }),
            // A later create gives each management cluster one more cluster.
            other(|p| {
                p.after = vec![AfterOp::Create {
                    clusters: 2,
                    batch: 0,
                    every: SimDuration::ZERO,
                    wait: None,
                }]
            }),
        ];
        assert_eq!(simulations(&plans), 2 + 1 + 1 + 1 + 3 + 7 * 2);
        same_as_alone(&plans);
    }

    #[test]
    fn runs_put_together_from_shared_management_clusters_carry_the_hub() {
        // The Extreme tier registers every ready cluster with its federation hub.
        let plans = [
            plan_on(Tier::Extreme, 4, 2, 0),
            plan_on(Tier::Extreme, 6, 3, 0),
        ];
        assert_eq!(simulations(&plans), 3);
        let batch = same_as_alone(&plans);
        let report: serde_json::Value = serde_json::from_str(&batch[1]).unwrap();
        assert!(report["federation"].is_object(), "the hub's report");
    }

    #[test]
    fn a_failed_management_cluster_fails_every_run_that_has_it() {
        let flag = std::sync::Arc::new(StopFlag::new());
        flag.request(StopReason::Interrupted);
        let stopped = |clusters, parts| {
            let mut p = plan(clusters, parts, 0);
            p.stop = Stop::from_flag(flag.clone());
            p
        };
        let plans = [stopped(4, 2), stopped(6, 3), plan(2, 1, 0)];
        assert_eq!(simulations(&plans), 3 + 1);
        let batch = run_batch(&plans, |_, out| out.err());
        assert!(matches!(batch[0], Some(SimError::Stopped { .. })));
        assert!(matches!(batch[1], Some(SimError::Stopped { .. })));
        assert_eq!(batch[2], None);
    }
}
