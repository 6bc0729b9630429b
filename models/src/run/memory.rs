//! How much memory runs will need, estimated from their plans before they start, so that
//! a fleet too large for the machine is refused with a clear message instead of aborting
//! part-way (a 100,000 × 1,000-machine fleet asks for 14 GB in its first allocation).
//!
//! A management cluster's world holds per-object state that grows with its machines and
//! clusters (the objects, their etcd records, every controller's workqueue slots), and
//! each extra shard of a manager adds its own caches and queues. The figures below are a
//! linear fit to measured peak memory; see [`PROCESS_BASE_BYTES`].
//!
//! Concurrent runs multiply the need: with several management clusters a run simulates
//! its parts in parallel, and a sweep runs several points at once. At most one world is
//! alive per worker thread, so the estimate adds up the largest worlds that can be alive
//! together.

use crate::run::RunPlan;
use crate::run::topology::split;
use crate::scenario::operations::AfterOp;

// The constants below were fitted by least squares to the peak resident memory
// (`/usr/bin/time -v`, "Maximum resident set size") of 36 release-build runs of
// `capsim run --format json` on one management cluster (Linux, glibc malloc, 2 cores;
// the commit before this module): 1 to 1,000 machines per cluster, 1 to 800 clusters,
// 25 to 100,000 machines in all, every tier, and capi, capx and kubeadm-bootstrap shards
// from 1 to 16. The fit is within 18 % of every run (e.g. 100 × 1,000 machines, large
// tier: 119 MiB measured, 121 MiB estimated; 100 × 25, medium: 13.9 and 14.9 MiB).
// A `--timeline` row was measured at 210 bytes (a 170-h run with and without it) before
// it carried the Prometheus histograms' counts (`capsim calibrate prometheus`): those add
// 41 counts per controller and 24 per API verb, about 4.9 kB more, counted from the row's
// fields. A timeline run also logs Prism Central's tasks (40 bytes each, up to four per
// machine) and keeps each machine's submission times (64 bytes).

/// Memory of the process before any world: code, allocator, configuration [bytes].
pub const PROCESS_BASE_BYTES: u64 = 12_800_000;
/// Memory per machine of a world with one instance of each manager [bytes].
pub const MACHINE_BYTES: u64 = 850;
/// Memory per workload cluster, beyond its machines' [bytes].
pub const CLUSTER_BYTES: u64 = 7_100;
/// Memory of each manager shard beyond the first of its manager [bytes].
pub const EXTRA_SHARD_BYTES: u64 = 960_000;
/// Memory per machine of each manager shard beyond the first [bytes].
pub const EXTRA_SHARD_MACHINE_BYTES: u64 = 130;
/// Memory of a timeline row, one per 15 s of simulated time [bytes].
pub const TIMELINE_ROW_BYTES: u64 = 5_200;
/// Memory per machine of a timeline run's task log [bytes].
pub const TIMELINE_MACHINE_BYTES: u64 = 224;

/// The memory a set of runs needs, and how it adds up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Everything together: the process and the worlds alive at once [bytes].
    pub total_bytes: u64,
    /// The largest single world (one management cluster of one run) [bytes].
    pub largest_world_bytes: u64,
    /// Worlds that may be alive at once [count].
    pub worlds_at_once: u64,
}

/// The memory one management cluster's world of `plan` needs at its largest, holding
/// `clusters` workload clusters.
fn world_bytes(plan: &RunPlan, clusters: u32) -> u64 {
    let machines = u64::from(clusters) * machine_slots_per_cluster(plan);
    let extra_shards: u64 = plan
        .config
        .managers()
        .iter()
        .map(|(_, m)| u64::from(m.shards.saturating_sub(1)))
        .sum();
    let timeline = if plan.timeline {
        plan.max_simulated.as_nanos() / 15_000_000_000 * TIMELINE_ROW_BYTES
            + machines * TIMELINE_MACHINE_BYTES
    } else {
        0
    };
    machines * (MACHINE_BYTES + extra_shards * EXTRA_SHARD_MACHINE_BYTES)
        + u64::from(clusters) * CLUSTER_BYTES
        + extra_shards * EXTRA_SHARD_BYTES
        + timeline
}

/// The machine slots a cluster of `plan` ends with: a Machine created after the first
/// ones (a scale-up, an upgrade's replacement) gets a new slot, and a deleted one keeps
/// its own.
fn machine_slots_per_cluster(plan: &RunPlan) -> u64 {
    let mut now = i64::from(plan.fleet.machines_per_cluster);
    let mut slots = now;
    for op in &plan.after {
        match op {
            AfterOp::Scale { by } => {
                now = (now + i64::from(*by)).max(0);
                slots += i64::from((*by).max(0));
            }
            AfterOp::Upgrade { .. } => slots += now,
            AfterOp::Create { .. }
            | AfterOp::Steady(_)
            | AfterOp::WaitUntil(_)
            | AfterOp::Propagate { .. }
            | AfterOp::Delete => {}
        }
    }
    slots as u64
}

/// The worlds of `plan`: one per management cluster, each with its share of the fleet at
/// its largest (later creates included).
fn worlds(plan: &RunPlan) -> Vec<u64> {
    split(plan.total_clusters(), plan.management_clusters)
        .into_iter()
        .map(|n| world_bytes(plan, n))
        .collect()
}

/// Estimates the memory of running `plans`, each `replicas` times, on `threads` worker
/// threads: the process, plus the largest worlds that can be alive at once (one per
/// thread at most). For `capsim run`, pass its plan, 1 and the thread pool's size; for a
/// sweep, every (size, knob values) plan once, its replicas and its threads.
pub fn estimate(plans: &[RunPlan], replicas: u64, threads: usize) -> MemoryEstimate {
    let mut sizes: Vec<u64> = plans.iter().flat_map(worlds).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let threads = threads.max(1) as u64;
    // Each plan's worlds, `replicas` times: the largest ones first.
    let mut left = threads;
    let mut total = PROCESS_BASE_BYTES;
    let mut at_once = 0;
    for &w in &sizes {
        let n = replicas.max(1).min(left);
        total = total.saturating_add(w.saturating_mul(n));
        at_once += n;
        left -= n;
        if left == 0 {
            break;
        }
    }
    MemoryEstimate {
        total_bytes: total,
        largest_world_bytes: sizes.first().copied().unwrap_or(0),
        worlds_at_once: at_once,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::operations::FleetSpec;
    use crate::scenario::presets::{self, Override, Tier};

    const MIB: f64 = 1024.0 * 1024.0;

    fn make_plan(tier: Tier, clusters: u32, machines: u32, sets: &[&str]) -> RunPlan {
        let sets: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
        RunPlan::new(
            presets::resolve(tier, &sets).unwrap(),
            tier.name(),
            FleetSpec::all_at_once(clusters, machines, 3.min(machines)),
            1,
        )
    }

    fn mib(plan: &RunPlan) -> f64 {
        estimate(std::slice::from_ref(plan), 1, 2).total_bytes as f64 / MIB
    }

    #[test]
    fn the_estimate_grows_with_clusters_machines_shards_and_threads() {
        let mut last = 0.0;
        for clusters in [1, 10, 100, 1_000, 10_000, 100_000] {
            let e = mib(&make_plan(Tier::Medium, clusters, 25, &[]));
            assert!(e > last, "{clusters} clusters: {e} MiB");
            last = e;
        }
        let mut last = 0.0;
        for machines in [1, 5, 25, 100, 1_000] {
            let e = mib(&make_plan(Tier::Medium, 100, machines, &[]));
            assert!(e > last, "{machines} machines: {e} MiB");
            last = e;
        }
        let one = mib(&make_plan(Tier::Medium, 100, 25, &[]));
        let sharded = mib(&make_plan(
            Tier::Medium,
            100,
            25,
            &["capi-controller-manager.shards=4"],
        ));
        assert!(sharded > one);
        let plans = [make_plan(Tier::Medium, 100, 25, &[])];
        let (a, b) = (estimate(&plans, 3, 1), estimate(&plans, 3, 2));
        assert!(b.total_bytes > a.total_bytes);
        assert_eq!((a.worlds_at_once, b.worlds_at_once), (1, 2));
        // More threads than runs: only the runs there are.
        assert_eq!(estimate(&plans, 3, 64).worlds_at_once, 3);
    }

    /// Peak memory of release-build runs, measured as the module's header says
    /// [clusters, machines per cluster, tier, --set, MiB].
    const MEASURED: [(u32, u32, Tier, &str, f64); 8] = [
        (100, 10, Tier::Large, "", 15.7),
        (100, 1_000, Tier::Large, "", 119.3),
        (800, 25, Tier::Large, "", 40.7),
        (100, 25, Tier::Medium, "", 13.9),
        (300, 100, Tier::Medium, "", 36.5),
        (100, 400, Tier::Medium, "", 45.3),
        (
            100,
            400,
            Tier::Medium,
            "capi-controller-manager.shards=16",
            135.4,
        ),
        (100, 100, Tier::Small, "", 19.2),
    ];

    #[test]
    fn the_estimate_is_within_a_fifth_of_measured_runs() {
        for (clusters, machines, tier, set, measured) in MEASURED {
            let sets: Vec<&str> = [set].into_iter().filter(|s| !s.is_empty()).collect();
            let e = mib(&make_plan(tier, clusters, machines, &sets));
            assert!(
                (e / measured - 1.0).abs() < 0.2,
                "{clusters} × {machines} {tier:?} {set}: estimated {e:.1} MiB, measured {measured} MiB"
            );
        }
    }

    #[test]
    fn a_split_fleet_counts_the_parts_alive_at_once() {
        // 2,000 clusters on the XL tier: four management clusters of 500; two threads
        // hold two of them at once (measured: 42.0 MiB).
        let plan = make_plan(Tier::Xl, 2_000, 25, &[]);
        let mut split = plan.clone();
        split.management_clusters = 4;
        let e = estimate(&[split], 1, 2);
        assert_eq!(e.worlds_at_once, 2);
        let mib = e.total_bytes as f64 / MIB;
        assert!((mib / 42.0 - 1.0).abs() < 0.2, "{mib} MiB");
        // One management cluster holds the whole fleet at once.
        assert!(estimate(&[plan], 1, 2).total_bytes > e.total_bytes);
    }

    #[test]
    fn the_largest_fleet_needs_about_a_hundred_gigabytes() {
        let plan = make_plan(Tier::Extreme, 100_000, 1_000, &[]);
        let e = estimate(&[plan], 1, 1);
        let gib = e.total_bytes as f64 / (1024.0 * MIB);
        assert!((70.0..120.0).contains(&gib), "{gib} GiB");
    }
}
