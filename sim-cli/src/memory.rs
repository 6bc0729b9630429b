//! The memory check before `run` and `sweep`: the plan's estimate
//! ([`models::run::memory`]) against the memory the machine has available, or the
//! `--memory-limit` given; a plan that would not fit is refused with both figures and
//! the flag that overrides the check.

use anyhow::bail;
use models::run::RunPlan;
use models::run::memory::{MemoryEstimate, estimate};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// `--memory-limit`: what the runs may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLimit {
    /// At most this many bytes [bytes].
    Bytes(u64),
    /// No check.
    Unlimited,
}

/// Parses `--memory-limit`: a byte quantity (`32Gi`, `500M`) or `unlimited`.
pub fn parse_memory_limit(s: &str) -> Result<MemoryLimit, String> {
    if s.trim() == "unlimited" {
        return Ok(MemoryLimit::Unlimited);
    }
    match models::units::parse_bytes(s) {
        Ok(0) | Err(_) => Err(format!(
            "'{s}' is not a memory size: give e.g. 32Gi or 500M, or unlimited"
        )),
        Ok(n) => Ok(MemoryLimit::Bytes(n)),
    }
}

/// The memory this process may use [bytes]: /proc/meminfo's `MemAvailable`, lowered to a
/// container's cgroup limit when one is set. `None` when it cannot be read (not Linux).
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    // cgroup v2, then v1, as a container sees its own cgroup; "max" (v2) or a huge
    // number (v1) means no limit, which the minimum leaves out.
    let limits = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ];
    let cgroup = limits
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok())
        .min();
    Some(cgroup.map_or(kib * 1024, |c| c.min(kib * 1024)))
}

/// How the memory to compare with was found.
#[derive(Clone, Copy, Debug)]
enum Room {
    /// The machine's available memory [bytes].
    Available(u64),
    /// `--memory-limit` [bytes].
    Limit(u64),
}

impl Room {
    /// The memory [bytes].
    fn bytes(self) -> u64 {
        match self {
            Room::Available(b) | Room::Limit(b) => b,
        }
    }

    /// The end of the refusal's first sentence.
    fn describe(self) -> String {
        match self {
            Room::Available(b) => format!("and the machine has {} available", gib(b)),
            Room::Limit(b) => format!("more than --memory-limit allows ({})", gib(b)),
        }
    }
}

/// The memory to compare with: `--memory-limit`, else the machine's available memory;
/// `None` for no check.
fn room(limit: Option<MemoryLimit>, available: Option<u64>) -> Option<Room> {
    match limit {
        Some(MemoryLimit::Unlimited) => None,
        Some(MemoryLimit::Bytes(b)) => Some(Room::Limit(b)),
        None => available.map(Room::Available),
    }
}

/// `79.8 GiB`, or `512 MiB` under a GiB.
fn gib(bytes: u64) -> String {
    let b = bytes as f64;
    if b < GIB {
        format!("{:.0} MiB", (b / (1024.0 * 1024.0)).ceil())
    } else {
        format!("{:.1} GiB", b / GIB)
    }
}

/// A `--memory-limit` value above `bytes`, in whole GiB.
fn suggested_limit(bytes: u64) -> String {
    format!("{}Gi", (bytes as f64 * 1.25 / GIB).ceil().max(1.0))
}

/// Refuses `capsim run`'s plan when its estimate exceeds the memory available (or
/// `limit`); `available` is the machine's ([`available_bytes`]), injectable for tests.
pub fn check_run(
    plan: &RunPlan,
    limit: Option<MemoryLimit>,
    available: Option<u64>,
) -> anyhow::Result<()> {
    let Some(room) = room(limit, available) else {
        return Ok(());
    };
    let need = estimate(std::slice::from_ref(plan), 1, rayon::current_num_threads());
    if need.total_bytes <= room.bytes() {
        return Ok(());
    }
    let fleet = &plan.fleet;
    let split = match plan.management_clusters {
        1 => "on one management cluster".to_string(),
        n => format!(
            "on {n} management clusters, {} simulated at once",
            need.worlds_at_once
        ),
    };
    bail!(
        "this run would need about {} of memory ({} clusters × {} machines {split}), {}; \
         run a smaller fleet, or give --memory-limit {} to run anyway (the estimate is \
         within about 20 % of measured runs)",
        gib(need.total_bytes),
        plan.total_clusters(),
        fleet.machines_per_cluster,
        room.describe(),
        suggested_limit(need.total_bytes),
    )
}

/// Refuses a sweep whose runs would not fit together: every fleet size in `sizes` with
/// every value of the swept knobs in `variants` (`make` builds each run's plan),
/// `replicas` each, on `threads` worker threads (`None`: one per core), against the
/// memory available or `limit`.
pub fn check_sweep<K>(
    sizes: &[u32],
    variants: &[K],
    make: impl Fn(u32, &K) -> RunPlan,
    replicas: u64,
    threads: Option<u64>,
    limit: Option<MemoryLimit>,
) -> anyhow::Result<()> {
    let Some(room) = room(limit, available_bytes()) else {
        return Ok(());
    };
    let plans: Vec<RunPlan> = sizes
        .iter()
        .flat_map(|&c| variants.iter().map(move |k| (c, k)))
        .map(|(c, k)| make(c, k))
        .collect();
    let threads = threads.map_or_else(rayon::current_num_threads, |t| t as usize);
    let need = estimate(&plans, replicas, threads);
    refuse_sweep(&plans, need, threads, room)
}

/// The refusal of a sweep that needs `need`, if it exceeds `room`.
fn refuse_sweep(
    plans: &[RunPlan],
    need: MemoryEstimate,
    threads: usize,
    room: Room,
) -> anyhow::Result<()> {
    if need.total_bytes <= room.bytes() {
        return Ok(());
    }
    let largest = plans.iter().map(|p| p.total_clusters()).max().unwrap_or(0);
    bail!(
        "this sweep would need about {} of memory ({} management clusters simulated at once \
         on {threads} threads, each of up to {}; the largest fleet has {largest} clusters), \
         {}; lower --threads or the largest fleet size, or give --memory-limit {} to run \
         anyway (the estimate is within about 20 % of measured runs)",
        gib(need.total_bytes),
        need.worlds_at_once,
        gib(need.largest_world_bytes),
        room.describe(),
        suggested_limit(need.total_bytes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::scenario::operations::FleetSpec;
    use models::scenario::presets::{self, Tier};

    const GI: u64 = 1 << 30;

    fn make_plan(clusters: u32, machines: u32) -> RunPlan {
        RunPlan::new(
            presets::resolve(Tier::Extreme, &[]).unwrap(),
            "extreme",
            FleetSpec::all_at_once(clusters, machines, 3),
            1,
        )
    }

    #[test]
    fn a_fleet_too_large_for_the_machine_is_refused_with_the_figures_and_the_flag() {
        let plan = make_plan(100_000, 1000);
        let err = check_run(&plan, None, Some(16 * GI))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("this run would need about "), "{err}");
        assert!(
            err.contains("(100000 clusters × 1000 machines on one management cluster)"),
            "{err}"
        );
        assert!(
            err.contains("and the machine has 16.0 GiB available"),
            "{err}"
        );
        assert!(err.contains("give --memory-limit "), "{err}");
        // The limit given is named as such.
        let err = check_run(&plan, Some(MemoryLimit::Bytes(GI)), Some(1 << 50))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("more than --memory-limit allows (1.0 GiB)"),
            "{err}"
        );
        let err = check_run(&plan, Some(MemoryLimit::Bytes(100 << 20)), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("more than --memory-limit allows (100 MiB)"),
            "{err}"
        );
    }

    #[test]
    fn a_fleet_that_fits_or_an_unknown_machine_or_no_limit_is_let_through() {
        let plan = make_plan(100, 25);
        assert!(check_run(&plan, None, Some(16 * GI)).is_ok());
        let huge = make_plan(100_000, 1000);
        assert!(check_run(&huge, None, None).is_ok());
        assert!(check_run(&huge, Some(MemoryLimit::Unlimited), Some(GI)).is_ok());
        assert!(check_run(&huge, Some(MemoryLimit::Bytes(1 << 50)), Some(GI)).is_ok());
    }

    #[test]
    fn a_sweep_counts_the_runs_alive_at_once() {
        let plans = [make_plan(500, 100), make_plan(1000, 100)];
        let need = estimate(&plans, 3, 4);
        let err = refuse_sweep(&plans, need, 4, Room::Available(100 << 20))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("(4 management clusters simulated at once on 4 threads, each of up to "),
            "{err}"
        );
        assert!(err.contains("the largest fleet has 1000 clusters"), "{err}");
        assert!(err.contains("lower --threads"), "{err}");
    }

    #[test]
    fn memory_limits_read_as_sizes_or_unlimited() {
        assert_eq!(parse_memory_limit("32Gi"), Ok(MemoryLimit::Bytes(32 * GI)));
        assert_eq!(parse_memory_limit("unlimited"), Ok(MemoryLimit::Unlimited));
        assert!(parse_memory_limit("0").is_err());
        assert!(parse_memory_limit("lots").is_err());
    }
}
