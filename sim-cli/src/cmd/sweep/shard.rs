//! `capsim sweep --shard I/N`: one share of a sweep's runs, for sweeps that outgrow one
//! machine (a Kubernetes Indexed Job runs shard `$JOB_COMPLETION_INDEX` of N). A shard
//! runs its runs into its checkpoint and writes `shard.json` (the sweep's arguments, which
//! shard it is); `capsim merge` gathers the shards' checkpoints and writes what the
//! unsharded sweep writes, byte for byte, since every run is keyed by what decides it.
//!
//! The runs (every fleet size × every value of the swept knobs × every replica) are dealt
//! longest first to the least loaded shard (LPT scheduling), a run's length taken as its
//! machines (clusters × machines per cluster): within 4/3 of the best split.

use anyhow::bail;
use models::run::sweep::{Knobs, run_replicas};
use serde::{Deserialize, Serialize};
use sim_core::monte_carlo::in_pool;

use super::checkpoint::Checkpoint;
use super::plan::Plan;

/// Shard `index` (from 0) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// Shards in all.
    pub count: u32,
}

/// Parses `--shard I/N`: 0 ≤ I < N ≤ 10,000.
pub fn parse(s: &str) -> Result<Shard, String> {
    let bad =
        || format!("'{s}': give I/N, shard I (from 0) of N, e.g. 0/4 ($JOB_COMPLETION_INDEX/4)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count) = (
        i.trim().parse::<u32>().map_err(|_| bad())?,
        n.trim().parse::<u32>().map_err(|_| bad())?,
    );
    if count == 0 || count > 10_000 {
        return Err(format!("'{s}': N must be from 1 to 10000"));
    }
    if index >= count {
        return Err(format!(
            "'{s}': I must be below N (shards are numbered from 0)"
        ));
    }
    Ok(Shard { index, count })
}

/// What a shard writes beside its checkpoint: `shard.json`.
#[derive(Serialize, Deserialize)]
pub struct ShardFile {
    /// Which shard.
    pub shard: Shard,
    /// The sweep's arguments as given (after `capsim`), `--shard` and `--out` included.
    pub args: Vec<String>,
    /// Runs dealt to this shard [count].
    pub runs: usize,
}

/// Deals `weights` (a run's length) longest first to the least loaded of `count` shards;
/// the shard of each run.
pub fn deal(weights: &[u64], count: u32) -> Vec<u32> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].cmp(&weights[a]).then(a.cmp(&b)));
    let mut load = vec![0u64; count as usize];
    let mut shard_of = vec![0u32; weights.len()];
    for i in order {
        let s = (0..load.len())
            .min_by_key(|&s| (load[s], s))
            .expect("at least one shard");
        load[s] += weights[i];
        shard_of[i] = s as u32;
    }
    shard_of
}

/// Runs this shard's runs of `plan` into `ledger`; returns how many.
pub(super) fn run(
    plan: &Plan,
    shard: Shard,
    threads: Option<usize>,
    ledger: &Checkpoint,
) -> anyhow::Result<usize> {
    if plan.sampling.max_replicas > plan.sampling.replicas {
        bail!(
            "--shard with --max-replicas: which sizes get more replicas depends on every \
             shard's results; shard a grid of fixed replicas (--replicas only)"
        );
    }
    let runs: Vec<(u32, &Knobs, u64)> = plan
        .variants
        .iter()
        .flat_map(|k| plan.axis.0.iter().map(move |&c| (c, k)))
        .flat_map(|(c, k)| (0..plan.sampling.replicas).map(move |r| (c, k, r)))
        .collect();
    let weights: Vec<u64> = runs
        .iter()
        .map(|&(c, k, _)| {
            let p = plan.run_plan(c, k);
            u64::from(p.total_clusters()) * u64::from(p.fleet.machines_per_cluster)
        })
        .collect();
    let mine: Vec<(u32, &Knobs, u64)> = deal(&weights, shard.count)
        .into_iter()
        .zip(&runs)
        .filter(|(s, _)| *s == shard.index)
        .map(|(_, r)| *r)
        .collect();
    let bar = crate::progress::Bar::new(mine.len() as u64, "runs");
    // A shard's runs that have a management cluster in common simulate it once.
    in_pool(threads, || {
        let make = |c: u32, k: &Knobs| plan.run_plan(c, k);
        run_replicas(&mine, &make, ledger, |_| bar.tick())
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
    })??;
    bar.finish();
    Ok(mine.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_dealt_longest_first_to_the_least_loaded_shard() {
        // 6 runs of 8, 7, 6, 5, 4, 4 on 2 shards: 8+5+4 = 17 and 7+6+4 = 17.
        let shards = deal(&[4, 8, 6, 5, 7, 4], 2);
        let load = |s: u32| -> u64 {
            shards
                .iter()
                .zip([4, 8, 6, 5, 7, 4])
                .filter(|(x, _)| **x == s)
                .map(|(_, w)| w)
                .sum()
        };
        assert_eq!((load(0), load(1)), (17, 17));
        // One shard takes everything; every run has a shard below the count.
        assert!(deal(&[3, 1, 2], 1).iter().all(|&s| s == 0));
        assert!(deal(&[1; 10], 3).iter().all(|&s| s < 3));
    }

    #[test]
    fn a_shard_is_i_of_n_from_zero() {
        assert_eq!(parse("0/3"), Ok(Shard { index: 0, count: 3 }));
        assert!(parse("3/3").unwrap_err().contains("below N"));
        assert!(parse("1/0").unwrap_err().contains("from 1 to 10000"));
        assert!(parse("a/b").unwrap_err().contains("give I/N"));
    }
}
