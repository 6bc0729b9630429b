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
    for (i, plan) in plans.iter().enumerate() {
        if plan.management_clusters <= 1 {
            units.push(Unit::Whole(i));
            continue;
        }
        for (index, part) in part_plans(plan).into_iter().enumerate() {
            let found = units.iter_mut().position(|u| {
                matches!(u, Unit::Part { plan, index: k, .. } if *k == index && same_part(plan, &part))
            });
            let u = found.unwrap_or_else(|| {
                units.push(Unit::Part {
                    plan: Box::new(part),
                    index,
                    runs: Vec::new(),
                });
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
    units
        .par_iter()
        .enumerate()
        .for_each(|(u, unit)| match unit {
            Unit::Whole(i) => put(*i, run(&plans[*i])),
            Unit::Part { plan, index, runs } => {
                *lock(u) = Some(run_part(plan, *index));
                for &i in runs {
                    // The last of run i's management clusters to finish puts it together.
                    if left[i].fetch_sub(1, Ordering::AcqRel) != 1 {
                        continue;
                    }
                    let parts = parts_of[i]
                        .iter()
                        .map(|&p| {
                            let mut slot = lock(p);
                            let last = users[p].fetch_sub(1, Ordering::AcqRel) == 1;
                            let part = if last { slot.take() } else { slot.clone() };
                            part.expect("every part finished")
                        })
                        .collect::<Result<Vec<Part>, SimError>>();
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
    use crate::scenario::operations::FleetSpec;
    use crate::scenario::presets::{self, Tier};

    fn plan(clusters: u32, management_clusters: u32, replica: u64, sets: &[&str]) -> RunPlan {
        let overrides: Vec<_> = sets.iter().map(|s| s.parse().unwrap()).collect();
        let config = presets::resolve(Tier::Small, &overrides).unwrap();
        let mut p = RunPlan::new(config, "small", FleetSpec::all_at_once(clusters, 2, 1), 1);
        p.management_clusters = management_clusters;
        p.replica = replica;
        p
    }

    fn json(out: &Result<RunOutput, SimError>) -> String {
        serde_json::to_string(&out.as_ref().expect("a finished run").report).unwrap()
    }

    #[test]
    fn a_batch_simulates_each_distinct_management_cluster_once_and_reports_as_runs_alone() {
        let plans = [
            // Two management clusters of 2, then three of 2: the first two are shared.
            plan(4, 2, 0, &[]),
            plan(6, 3, 0, &[]),
            // Another replica draws other streams; another knob is another plan.
            plan(6, 3, 1, &[]),
            plan(4, 2, 0, &["prism-central.max-concurrent-tasks=4"]),
            // 5 on 2 is 3 + 2: its second management cluster is the first run's second.
            plan(5, 2, 0, &[]),
            // One management cluster runs whole, on the run's own streams.
            plan(2, 1, 0, &[]),
        ];
        assert_eq!(simulations(&plans), 2 + 1 + 3 + 2 + 1 + 1);
        let finished = AtomicUsize::new(0);
        let batch = run_batch(&plans, |_, out| {
            finished.fetch_add(1, Ordering::Relaxed);
            json(&out)
        });
        assert_eq!(finished.into_inner(), plans.len());
        for (p, got) in plans.iter().zip(&batch) {
            assert_eq!(*got, json(&run(p)), "{} clusters", p.fleet.clusters);
        }
        // The shared management clusters are the same simulation in both runs.
        let of = |i: usize| -> Vec<serde_json::Value> {
            let v: serde_json::Value = serde_json::from_str(&batch[i]).unwrap();
            v["management_clusters"].as_array().unwrap().clone()
        };
        assert_eq!(of(0)[..], of(1)[..2]);
        assert_eq!(of(0)[1], of(4)[1]);
        assert_ne!(of(1), of(2), "another replica, other streams");
    }

    #[test]
    fn a_failed_management_cluster_fails_every_run_that_has_it() {
        let mut stopped = plan(4, 2, 0, &[]);
        let flag = std::sync::Arc::new(sim_core::cancel::StopFlag::new());
        flag.request(sim_core::cancel::StopReason::Interrupted);
        stopped.stop = sim_core::cancel::Stop::from_flag(flag);
        let plans = [stopped, plan(2, 1, 0, &[])];
        let batch = run_batch(&plans, |_, out| out.is_ok());
        assert_eq!(batch, [false, true]);
    }
}
