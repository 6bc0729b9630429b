//! The model's invariants over seeds and fleet sizes (issue 19, item 2). The tests in
//! `lifecycle.rs` and `day2.rs` each run one seed; a delete that left Secrets behind showed only on
//! seeds 11, 42 and 58. Here every invariant runs over [`seeds`] (20, in parallel),
//! most on a fleet whose size the seed picks ([`shape`]), and on a Medium-tier fleet of
//! [`MEDIUM`] clusters and a Large-tier one of [`LARGE`]. A claim about size ("more
//! clusters never finish sooner") compares means over the seeds: one seed's draws can
//! finish a larger fleet sooner.
//!
//! A failure names every failing seed with its assertion; `shape(seed)` gives its fleet.
//! Each test takes 0.2–9 s on 2 cores (the Medium and Large fleets the longest), the file
//! about 30 s.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;

use common::{
    FAILING_WRITES, assert_only_leases_and_events, assert_world_holds_the_objects, make_plan,
    simulate_and_report, upgrade_once, writes,
};
use models::objects::MachineState;
use models::run::RunPlan;
use models::scenario::faults::Fault;
use models::scenario::operations::AfterOp;
use models::scenario::presets::Tier;
use models::world::World;
use sim_core::SimDuration;

/// The seeds every property runs over: 1 to 20, or to `$CAPSIM_PROPERTY_SEEDS` (a wider
/// search: `CAPSIM_PROPERTY_SEEDS=200 cargo test -p models --release --test properties`).
fn seeds() -> std::ops::RangeInclusive<u64> {
    let last = std::env::var("CAPSIM_PROPERTY_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    1..=last
}

/// Clusters of the Large-tier fleet (the tier is 101–500 clusters).
const LARGE: u32 = 120;

/// Clusters of the Medium-tier fleet (the tier is 21–100 clusters).
const MEDIUM: u32 = 100;

/// The fleet seed `s` runs on: (clusters, machines per cluster, control-plane machines),
/// 2–6 clusters of 1 or 3 control-plane machines and 1–4 workers.
fn shape(s: u64) -> (u32, u32, u32) {
    let n = 2 + (s % 5) as u32;
    let cp = if s.is_multiple_of(2) { 1 } else { 3 };
    let m = cp + 1 + ((s / 2) % 4) as u32;
    (n, m, cp)
}

/// Runs `check` on every seed of [`seeds`] in parallel, and fails naming every seed whose
/// check failed, with its message.
fn for_every_seed(check: impl Fn(u64) + Sync) {
    let failed: Vec<String> = seeds()
        .into_par_iter()
        .filter_map(|seed| {
            let err = catch_unwind(AssertUnwindSafe(|| check(seed))).err()?;
            let msg = err
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Some(format!("seed {seed}: {msg}"))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} seeds failed:\n{}",
        failed.len(),
        seeds().count(),
        failed.join("\n")
    );
}

/// A Small-tier plan of `(n, m, cp)` under `seed`.
fn seeded(seed: u64, (n, m, cp): (u32, u32, u32), sets: &[&str]) -> RunPlan {
    let mut plan = make_plan(Tier::Small, n, m, cp, sets);
    plan.seed = seed;
    plan
}

/// KCP's scale-up preflight: each control-plane Machine of the fleet's creation is created
/// only once every one before it runs (one at a time).
fn assert_control_planes_created_one_at_a_time(world: &World) {
    for (c, cl) in world.clusters.iter().enumerate() {
        let mut all_running = None;
        for i in 0..cl.cp_replicas {
            let x = &world.machines[cl.cp_slot(i) as usize];
            let created = x.created_at.expect("created");
            if let Some(ready) = all_running {
                assert!(
                    created >= ready,
                    "cluster {c}: CP {i} created at {created:?}, before CP 0..{i} ran ({ready:?})"
                );
            }
            let ran = x.running_at.expect("ran");
            all_running = Some(all_running.map_or(ran, |r: sim_core::SimTime| r.max(ran)));
        }
    }
}

/// A Machine is available from its Running status to its deletionTimestamp.
fn available_at(x: &MachineState, t: f64) -> bool {
    x.running_at.is_some_and(|r| r.as_secs_f64() <= t)
        && x.deleting_at.is_none_or(|d| d.as_secs_f64() > t)
}

/// Rollout bounds from `from` [s] on, at every instant a Machine changed: each cluster's
/// workers available never fall below replicas − maxUnavailable (the MachineDeployment's
/// rolling update), and its control-plane Machines available never below its replicas
/// (KCP's rollout is surge-only: a new Machine first, the old one deleted once it runs).
fn assert_availability_kept(world: &World, from: f64, max_unavailable: u32) {
    for (c, cl) in world.clusters.iter().enumerate() {
        let mine: Vec<&MachineState> = world
            .machines
            .iter()
            .filter(|x| x.cluster == c as u32 && x.created_at.is_some())
            .collect();
        let mut instants: Vec<f64> = mine
            .iter()
            .flat_map(|x| [x.running_at, x.deleting_at, x.gone_at])
            .flatten()
            .map(|t| t.as_secs_f64())
            .filter(|t| *t >= from)
            .collect();
        instants.push(from);
        for t in instants {
            let available = |cp: bool| {
                mine.iter()
                    .filter(|x| x.is_cp() == cp && available_at(x, t))
                    .count() as u32
            };
            let workers = cl.workers.saturating_sub(max_unavailable);
            assert!(
                available(false) >= workers,
                "cluster {c} at {t} s: {} workers available < {workers}",
                available(false)
            );
            assert!(
                available(true) >= cl.cp_replicas,
                "cluster {c} at {t} s: {} control-plane Machines available < {}",
                available(true),
                cl.cp_replicas
            );
        }
    }
}

/// Every cluster ready and etcd holding exactly the fleet's objects: nothing stored
/// twice, nothing missing, the init lock and the topology shim gone. So too when a manager
/// restarts every 5 minutes on average (its queues lost, its caches relisted), when VM
/// creates fail (CAPX creates them again), and after scaling the workers up and down.
#[test]
fn a_ready_fleet_holds_exactly_its_objects_whatever_the_seed() {
    for_every_seed(|seed| {
        let (n, m, cp) = shape(seed);
        let restarts = Fault::ControllerRestart {
            manager: (seed % 4) as usize,
            at: SimDuration::ZERO,
            every: Some(SimDuration::from_mins(5)),
        };
        let vm_failures = Fault::VmCreateFailures {
            probability: 0.3,
            at: SimDuration::ZERO,
            duration: None,
        };
        let up_down = vec![AfterOp::Scale { by: 2 }, AfterOp::Scale { by: -1 }];
        for (case, faults, after, machines) in [
            ("create", vec![], vec![], m),
            ("restarts", vec![restarts], vec![], m),
            ("vm-create-failures", vec![vm_failures], vec![], m),
            ("scale down", vec![], vec![AfterOp::Scale { by: -1 }], m - 1),
            ("scale up and down", vec![], up_down, m + 1),
        ] {
            let mut plan = seeded(seed, (n, m, cp), &[]);
            plan.faults = faults;
            plan.after = after;
            let (world, r) = simulate_and_report(&plan);
            assert!(
                r.operations.iter().all(|o| o.finished_s.is_some()),
                "{case}: {n}×{m} (cp {cp}) finished"
            );
            assert_eq!(r.fleet.machines_running, n * machines, "{case}");
            assert_world_holds_the_objects(&world, &plan, u64::from(n), u64::from(machines));
        }
    });
}

/// KCP creates the control-plane Machines one at a time: each once the ones before it
/// run (with 3 and 5 replicas).
#[test]
fn kcp_creates_control_plane_machines_one_at_a_time_whatever_the_seed() {
    for_every_seed(|seed| {
        let cp = if seed.is_multiple_of(2) { 3 } else { 5 };
        let plan = seeded(seed, (3, cp + 1, cp), &[]);
        let (world, r) = simulate_and_report(&plan);
        assert_eq!(r.fleet.clusters_ready, 3);
        assert_control_planes_created_one_at_a_time(&world);
    });
}

/// An upgrade replaces every Machine exactly once within its rollout bounds (maxSurge at
/// each creation, maxUnavailable at every instant), for three rolling-update strategies,
/// and leaves etcd holding exactly the fleet's objects.
#[test]
fn an_upgrade_replaces_every_machine_once_within_its_bounds_whatever_the_seed() {
    for (max_surge, max_unavailable) in [(1, 0), (0, 2), (2, 1)] {
        for_every_seed(|seed| {
            let (n, m, cp) = shape(seed);
            let m = m.max(cp + 2); // at least two workers, for maxUnavailable 2
            let mut plan = seeded(seed, (n, m, cp), &[]);
            let wave = if seed.is_multiple_of(3) { 2 } else { 0 };
            let rollout = (max_surge, max_unavailable);
            let (world, r) = upgrade_once(&mut plan, (n, m, cp), wave, rollout);
            let start = r.operations[1].started_s;
            assert_availability_kept(&world, start, max_unavailable);
            assert_world_holds_the_objects(&world, &plan, u64::from(n), u64::from(m));
        });
    }
}

/// An upgrade whose writes fail (no client retries, a tiny API server, a slow disk as it
/// starts) still finishes with every Machine replaced exactly once, and etcd holds
/// exactly the fleet's objects: the user's version patches and the controllers' writes
/// are sent again, and nothing is created twice. The objects are counted 5 minutes
/// later: the upgrade is done when every Machine runs the new version, and a garbage
/// collector's delete of an old bootstrap Secret that failed may still be waiting for its
/// retry then (seed 4 ends the upgrade with one pending).
#[test]
fn an_upgrade_through_failing_writes_replaces_each_machine_once_whatever_the_seed() {
    for_every_seed(|seed| {
        let (n, m, cp) = (5 + (seed % 3) as u32 * 5, 3u32, 1u32);
        let mut plan = seeded(seed, (n, m, cp), &FAILING_WRITES);
        plan.after = vec![
            AfterOp::WaitUntil(SimDuration::from_hours(2)),
            AfterOp::Upgrade {
                wave: 0,
                max_surge: 1,
                max_unavailable: 0,
            },
            AfterOp::Steady(SimDuration::from_mins(5)),
        ];
        plan.faults = vec![Fault::EtcdDiskLatencySpike {
            at: SimDuration::from_secs(7190),
            duration: SimDuration::from_mins(20),
            factor: 200.0,
        }];
        let (world, r) = simulate_and_report(&plan);
        assert!(world.metrics.api_failed > 0, "writes did fail");
        let upgrade = r.operations.iter().find(|o| o.op == "upgrade").unwrap();
        assert!(upgrade.finished_s.is_some(), "the upgrade finished");
        let created: Vec<_> = world
            .machines
            .iter()
            .filter(|x| x.created_at.is_some())
            .collect();
        assert_eq!(
            created.len() as u32,
            2 * n * m,
            "one replacement per Machine"
        );
        assert!(
            created
                .iter()
                .all(|x| (x.version == 1) == x.exists && x.exists == x.running)
        );
        for kind in ["Machine", "KubeadmConfig", "NutanixMachine"] {
            let key = format!("{kind}/delete");
            assert_eq!(writes(&r, &key), u64::from(n * m), "{key}: once each");
        }
        assert_world_holds_the_objects(&world, &plan, u64::from(n), u64::from(m));
    });
}

/// The fleet of [`upgrade_through_node_failures`]: (clusters, machines per cluster,
/// control-plane machines).
const NODE_FAILURE_FLEET: (u32, u32, u32) = (3, 5, 1);

/// An upgrade (maxSurge 1, maxUnavailable 0) of [`NODE_FAILURE_FLEET`] under `seed`, a
/// worker's node failing every 3 minutes on average from the start, a
/// MachineHealthCheck marking it unhealthy a minute later.
fn upgrade_through_node_failures(seed: u64) -> (World, models::run::report::RunReport) {
    let mut plan = seeded(seed, NODE_FAILURE_FLEET, &[]);
    plan.faults = vec![
        Fault::MachineHealthCheck {
            node_startup_timeout: SimDuration::from_hours(4),
            unhealthy_timeout: SimDuration::from_mins(1),
        },
        Fault::NodeFailures {
            at: SimDuration::ZERO,
            every: SimDuration::from_mins(3),
        },
    ];
    plan.after = vec![AfterOp::Upgrade {
        wave: 0,
        max_surge: 1,
        max_unavailable: 0,
    }];
    simulate_and_report(&plan)
}

/// `t` as seconds.
fn secs(t: sim_core::SimTime) -> f64 {
    t.as_secs_f64()
}

/// Cluster `c`'s Machines that were created.
fn created_in(world: &World, c: u32) -> Vec<&MachineState> {
    world
        .machines
        .iter()
        .filter(|x| x.cluster == c && x.created_at.is_some())
        .collect()
}

/// When cluster `c`'s control plane rolled: from its first new-version Machine's
/// creation to the moment its last outdated one was gone [s].
fn control_plane_roll(world: &World, c: u32) -> (f64, f64) {
    let mine = created_in(world, c);
    let first_new = mine
        .iter()
        .filter(|x| x.is_cp() && x.version == 1)
        .map(|x| secs(x.created_at.unwrap()))
        .fold(f64::MAX, f64::min);
    let last_old = mine
        .iter()
        .filter(|x| x.is_cp() && x.version == 0)
        .map(|x| secs(x.gone_at.expect("every outdated CP Machine is gone")))
        .fold(0.0, f64::max);
    (first_new, last_old)
}

/// Issue 17, item 1: the MachineSet's preflight checks (control plane stable, version
/// skew) fail while KCP rolls, and they gate both `createMachines` and
/// `reconcileUnhealthyMachines`: no worker is created or remediated from the first new
/// control-plane Machine until the last outdated one is gone.
#[test]
fn no_worker_is_created_or_remediated_while_the_control_plane_rolls_whatever_the_seed() {
    for_every_seed(|seed| {
        let (world, _) = upgrade_through_node_failures(seed);
        for c in 0..NODE_FAILURE_FLEET.0 {
            let (from, to) = control_plane_roll(&world, c);
            let during =
                |t: Option<sim_core::SimTime>| t.is_some_and(|t| (from..=to).contains(&secs(t)));
            for x in created_in(&world, c).iter().filter(|x| !x.is_cp()) {
                assert!(
                    !during(x.created_at),
                    "cluster {c}: created in [{from}, {to}]: {x:?}"
                );
                assert!(
                    !during(x.remediated_at),
                    "cluster {c}: remediated in [{from}, {to}]: {x:?}"
                );
            }
        }
    });
}

/// Issue 17, item 1: an old-revision MachineSet never remediates (CannotBeRemediated,
/// "pending removal due to rollout") and its version fails the skew check, so it never
/// creates: once the upgrade reached a cluster (its first new control-plane Machine), no
/// outdated worker is created or remediated; one whose node failed stays until the
/// rollout removes it.
#[test]
fn the_old_machine_set_never_remediates_or_replaces_whatever_the_seed() {
    for_every_seed(|seed| {
        let (world, _) = upgrade_through_node_failures(seed);
        for c in 0..NODE_FAILURE_FLEET.0 {
            let (from, _) = control_plane_roll(&world, c);
            let after = |t: Option<sim_core::SimTime>| t.is_some_and(|t| secs(t) >= from);
            for x in created_in(&world, c)
                .iter()
                .filter(|x| !x.is_cp() && x.version == 0)
            {
                assert!(
                    !after(x.created_at),
                    "cluster {c}: outdated, created at {from}+: {x:?}"
                );
                assert!(
                    !after(x.remediated_at),
                    "cluster {c}: outdated, remediated: {x:?}"
                );
            }
        }
    });
}

/// Whether worker `x` is available at `t` [s]: running, not deleting, its node Ready
/// (issue 17, item 3: a NotReady node is not available).
fn worker_available_at(x: &MachineState, t: f64) -> bool {
    available_at(x, t) && x.node_failed_at.is_none_or(|f| secs(f) > t)
}

/// Issue 17, items 2 and 3: during the rollout, the MachineSet scales down unavailable
/// Machines first (`randomDeletionOrder`: a Machine whose node is not healthy before the
/// others), and the MachineDeployment counts a NotReady worker as unavailable: an
/// available outdated worker is deleted only when no NotReady outdated worker is left
/// undeleted, and never takes the cluster's available workers below replicas −
/// maxUnavailable (here, all of them).
#[test]
fn a_rollout_deletes_notready_workers_first_and_keeps_the_rest_available_whatever_the_seed() {
    for_every_seed(|seed| {
        let (world, _) = upgrade_through_node_failures(seed);
        let (_, m, cp) = NODE_FAILURE_FLEET;
        for c in 0..NODE_FAILURE_FLEET.0 {
            let mine = created_in(&world, c);
            let workers: Vec<_> = mine.iter().filter(|x| !x.is_cp()).collect();
            let (from, _) = control_plane_roll(&world, c);
            for x in workers
                .iter()
                .filter(|x| x.version == 0 && x.remediated_at.is_none())
            {
                let Some(t) = x.deleting_at.map(secs) else {
                    continue;
                };
                if t < from || !worker_available_at(x, t - 1e-6) {
                    continue;
                }
                let notready = workers.iter().find(|y| {
                    y.version == 0
                        && y.node_failed_at.is_some_and(|f| secs(f) < t)
                        && y.deleting_at.is_none_or(|d| secs(d) > t)
                        && y.gone_at.is_none_or(|g| secs(g) > t)
                });
                assert!(
                    notready.is_none(),
                    "cluster {c} at {t} s: {x:?} deleted before {notready:?}"
                );
                let available = workers.iter().filter(|y| worker_available_at(y, t)).count() as u32;
                assert!(
                    available >= m - cp,
                    "cluster {c} at {t} s: deleting {x:?} left {available} available < {}",
                    m - cp
                );
            }
        }
    });
}

/// Nodes failing during an upgrade, a MachineHealthCheck remediating them: the rollout
/// still completes, every Machine ends at the new version, and no Machine is replaced
/// twice. The control plane (whose nodes do not fail) is replaced exactly once; a
/// deleted Machine is either outdated or one the health check found unhealthy; each
/// Machine's objects are deleted once; and an outdated worker is created after the
/// fleet's creation only to replace a remediated one.
#[test]
fn an_upgrade_through_node_failures_replaces_each_machine_once_whatever_the_seed() {
    for_every_seed(|seed| {
        let (n, m, cp) = NODE_FAILURE_FLEET;
        let (world, r) = upgrade_through_node_failures(seed);
        let upgrade = r.operations.iter().find(|o| o.op == "upgrade").unwrap();
        assert!(upgrade.finished_s.is_some(), "the upgrade finished");
        assert!(world.metrics.node_failures > 0, "nodes failed");
        let created: Vec<&MachineState> = world
            .machines
            .iter()
            .filter(|x| x.created_at.is_some())
            .collect();
        for c in 0..n {
            let alive: Vec<_> = created
                .iter()
                .filter(|x| x.cluster == c && x.exists)
                .collect();
            assert_eq!(alive.len() as u32, m, "cluster {c}: as many Machines");
            assert!(alive.iter().all(|x| x.version == 1), "cluster {c}");
            let cps: Vec<_> = created
                .iter()
                .filter(|x| x.cluster == c && x.is_cp())
                .collect();
            assert_eq!(cps.len() as u32, 2 * cp, "cluster {c}: one new per CP");
        }
        let deleted: Vec<_> = created.iter().filter(|x| x.deleting_at.is_some()).collect();
        for x in &deleted {
            assert!(
                x.version == 0 || x.hc_failed,
                "an up-to-date healthy Machine was deleted: {x:?}"
            );
        }
        let deleted = deleted.len() as u64;
        assert_eq!(writes(&r, "Machine/delete"), deleted, "each deleted once");
        // A remediation may still be under way when the upgrade finishes: count the
        // deletes made, not the objects gone.
        let count = |f: &dyn Fn(&MachineState) -> bool| created.iter().filter(|x| f(x)).count();
        let nm = count(&|x| x.nm_deleting) as u64;
        assert_eq!(writes(&r, "NutanixMachine/delete"), nm, "each deleted once");
        let kc = count(&|x| !x.kc_exists) as u64;
        assert_eq!(writes(&r, "KubeadmConfig/delete"), kc, "each deleted once");
        let old_workers = created
            .iter()
            .filter(|x| x.version == 0 && !x.is_cp())
            .count() as u32;
        let old_remediated = created
            .iter()
            .filter(|x| x.version == 0 && x.hc_failed)
            .count() as u32;
        assert!(
            old_workers <= n * (m - cp) + old_remediated,
            "{old_workers} outdated workers for {} and {old_remediated} remediated",
            n * (m - cp)
        );
        let remediated = created.iter().filter(|x| x.hc_failed).count() as u64;
        assert_eq!(world.metrics.remediations, remediated);
    });
}

/// Nodes failing on a ready fleet for 6 hours, a MachineHealthCheck remediating them:
/// only Machines whose node failed are remediated, each once, with one Machine DELETE
/// each; no healthy Machine is deleted; each deleted Machine is replaced once, so every
/// cluster keeps its Machines (but for a replacement not yet created in the run's last
/// minute).
#[test]
fn failed_nodes_are_remediated_once_each_whatever_the_seed() {
    for_every_seed(|seed| {
        let (n, m, cp) = shape(seed);
        let mut plan = seeded(seed, (n, m, cp), &[]);
        plan.faults = vec![
            Fault::MachineHealthCheck {
                node_startup_timeout: SimDuration::from_hours(1),
                unhealthy_timeout: SimDuration::from_mins(5),
            },
            Fault::NodeFailures {
                at: SimDuration::ZERO,
                every: SimDuration::from_mins(10),
            },
        ];
        plan.after = vec![AfterOp::Steady(SimDuration::from_hours(6))];
        let (world, r) = simulate_and_report(&plan);
        assert!(world.metrics.node_failures > 0, "nodes failed");
        let created: Vec<&MachineState> = world
            .machines
            .iter()
            .filter(|x| x.created_at.is_some())
            .collect();
        for x in &created {
            assert!(!x.hc_failed || x.node_failed_at.is_some(), "{x:?}");
            assert!(
                x.deleting_at.is_none() || x.hc_failed,
                "healthy, deleted: {x:?}"
            );
        }
        let count = |f: &dyn Fn(&MachineState) -> bool| created.iter().filter(|x| f(x)).count();
        let remediated = count(&|x| x.hc_failed) as u64;
        assert_eq!(world.metrics.remediations, remediated, "each once");
        let deleted = count(&|x| x.deleting_at.is_some()) as u64;
        assert_eq!(writes(&r, "Machine/delete"), deleted, "one DELETE each");
        let end = r.fleet.simulated_s;
        for c in 0..n {
            let mine = |f: &dyn Fn(&MachineState) -> bool| {
                count(&|x: &MachineState| x.cluster == c && f(x)) as u32
            };
            let gone = mine(&|x| x.gone_at.is_some());
            let late = mine(&|x| x.gone_at.is_some_and(|g| g.as_secs_f64() > end - 60.0));
            let made = mine(&|_| true);
            assert!(
                (m + gone - late..=m + gone).contains(&made),
                "cluster {c}: {made} Machines made for {m} and {gone} deleted"
            );
        }
    });
}

/// Deleting the fleet leaves only the Leases and the unexpired Events: after a plain
/// create, after an upgrade, and after nodes failed and were remediated.
#[test]
fn deleting_a_fleet_leaves_only_leases_and_events_whatever_the_seed() {
    for_every_seed(|seed| {
        let (n, m, cp) = shape(seed);
        let upgrade = AfterOp::Upgrade {
            wave: 0,
            max_surge: 1,
            max_unavailable: 0,
        };
        let failures = vec![
            Fault::MachineHealthCheck {
                node_startup_timeout: SimDuration::from_hours(1),
                unhealthy_timeout: SimDuration::from_mins(5),
            },
            Fault::NodeFailures {
                at: SimDuration::ZERO,
                every: SimDuration::from_mins(10),
            },
        ];
        let steady = AfterOp::Steady(SimDuration::from_hours(2));
        for (case, after, faults) in [
            ("create", vec![AfterOp::Delete], vec![]),
            ("upgrade", vec![upgrade, AfterOp::Delete], vec![]),
            ("remediation", vec![steady, AfterOp::Delete], failures),
        ] {
            let mut plan = seeded(seed, (n, m, cp), &[]);
            plan.after = after;
            plan.faults = faults;
            let (world, r) = simulate_and_report(&plan);
            assert!(
                r.operations.iter().all(|o| o.finished_s.is_some()),
                "{case}: every operation finished"
            );
            assert!(world.clusters.iter().all(|c| !c.exists), "{case}");
            assert_eq!(world.machines_running, 0, "{case}");
            assert_only_leases_and_events(&world, &plan);
        }
    });
}

/// Writes failing (a slow disk, no client retries, a tiny API server) while the fleet is
/// created, or while it is deleted: the reconciles, the garbage collector and the user
/// send them again. The fleet gets ready holding exactly its objects (a create of an
/// object that exists is a 409), and once the delete has finished etcd holds only the
/// Leases and the unexpired Events: nothing stored twice, nothing left behind.
#[test]
fn failed_writes_leave_nothing_behind_a_delete_whatever_the_seed() {
    for_every_seed(|seed| {
        let n = 10 + (seed % 4) as u32 * 5;
        let spike = |at: u64| {
            vec![Fault::EtcdDiskLatencySpike {
                at: SimDuration::from_secs(at),
                duration: SimDuration::from_mins(30),
                factor: 200.0,
            }]
        };
        let mut plan = seeded(seed, (n, 3, 1), &FAILING_WRITES);
        plan.faults = spike(60);
        let (world, r) = simulate_and_report(&plan);
        assert!(world.metrics.api_failed > 0, "writes did fail");
        assert_eq!(r.fleet.clusters_ready, n);
        assert_world_holds_the_objects(&world, &plan, u64::from(n), 3);
        for (case, wait, spike_at) in [("create", 0, 60), ("delete", 2, 7190)] {
            let mut plan = seeded(seed, (n, 3, 1), &FAILING_WRITES);
            plan.after = vec![AfterOp::Delete];
            if wait > 0 {
                plan.after
                    .insert(0, AfterOp::WaitUntil(SimDuration::from_hours(wait)));
            }
            plan.faults = spike(spike_at);
            let (world, r) = simulate_and_report(&plan);
            assert!(world.metrics.api_failed > 0, "{case}: writes did fail");
            let delete = r.operations.iter().find(|o| o.op == "delete").unwrap();
            assert!(delete.finished_s.is_some(), "{case}: the delete finished");
            assert!(world.clusters.iter().all(|c| !c.exists), "{case}");
            assert_only_leases_and_events(&world, &plan);
        }
    });
}

/// More clusters never finish sooner or store less, on average: the mean time to a ready
/// fleet and the mean etcd database peak over the seeds grow with the fleet. One seed is
/// not enough: of seeds 1–100, three (6, 35, 76) get a fleet of 8 clusters ready before
/// one of 2 (the slowest of a few lognormal VM creates can be slower than the slowest
/// of more); the database peak grew on every one.
#[test]
fn more_clusters_never_finish_sooner_or_store_less_on_average() {
    let sizes = [2u32, 8, 24];
    let means: Vec<(f64, f64)> = sizes
        .iter()
        .map(|&n| {
            let runs: Vec<(f64, f64)> = seeds()
                .into_par_iter()
                .map(|seed| {
                    let (_, r) = simulate_and_report(&seeded(seed, (n, 5, 3), &[]));
                    let ready = r.fleet.time_to_ready_s.expect("ready");
                    (ready, r.etcd.db_peak_bytes as f64)
                })
                .collect();
            let k = runs.len() as f64;
            let sum = runs.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            (sum.0 / k, sum.1 / k)
        })
        .collect();
    for (pair, n) in means.windows(2).zip(sizes.windows(2)) {
        let ((t_a, db_a), (t_b, db_b)) = (pair[0], pair[1]);
        assert!(
            t_b >= t_a,
            "{} clusters: {t_b} s < {} clusters: {t_a} s",
            n[1],
            n[0]
        );
        assert!(
            db_b >= db_a,
            "{} clusters: {db_b} B < {} clusters: {db_a} B",
            n[1],
            n[0]
        );
    }
}

/// A Large-tier fleet of [`LARGE`] clusters (1 control plane, 3 workers; the tier shards
/// capi-controller-manager in three, each shard with its own Lease): upgraded with every
/// Machine replaced once within its bounds, holding exactly its objects.
#[test]
fn a_large_fleet_is_upgraded_once_within_its_bounds_whatever_the_seed() {
    let (n, m, cp) = (LARGE, 4u32, 1u32);
    let (max_surge, max_unavailable) = (1, 1);
    for_every_seed(|seed| {
        let mut plan = make_plan(Tier::Large, n, m, cp, &[]);
        plan.seed = seed;
        let (world, r) = upgrade_once(&mut plan, (n, m, cp), 0, (max_surge, max_unavailable));
        assert_availability_kept(&world, r.operations[1].started_s, max_unavailable);
        assert_world_holds_the_objects(&world, &plan, u64::from(n), u64::from(m));
    });
}

/// A Medium-tier fleet of [`MEDIUM`] clusters of 3 control-plane Machines and a worker:
/// ready with exactly its objects, each control plane created one Machine at a time, and
/// deleted to nothing but Leases and Events.
#[test]
fn a_medium_fleet_is_created_and_deleted_cleanly_whatever_the_seed() {
    let (n, m, cp) = (MEDIUM, 4u32, 3u32);
    for_every_seed(|seed| {
        let mut plan = make_plan(Tier::Medium, n, m, cp, &[]);
        plan.seed = seed;
        let (world, r) = simulate_and_report(&plan);
        assert_eq!(r.fleet.clusters_ready, n);
        assert_control_planes_created_one_at_a_time(&world);
        assert_world_holds_the_objects(&world, &plan, u64::from(n), u64::from(m));
        plan.after = vec![AfterOp::Delete];
        let (world, r) = simulate_and_report(&plan);
        assert!(r.operations.iter().all(|o| o.finished_s.is_some()));
        assert_only_leases_and_events(&world, &plan);
    });
}

/// Issue 17, finding 4: a wave is done once each of its clusters has been seen upgraded,
/// as a user's script remembers each cluster it saw finish. With nodes failing every
/// 2 minutes across 12 clusters in one wave, some cluster is nearly always replacing a
/// NotReady worker, so a wave that needed every cluster healthy at the same 15-s look
/// rarely ended.
#[test]
fn an_upgrade_wave_ends_once_each_cluster_was_seen_upgraded_whatever_the_seed() {
    for_every_seed(|seed| {
        let mut plan = seeded(seed, (12, 5, 1), &[]);
        plan.faults = vec![
            Fault::MachineHealthCheck {
                node_startup_timeout: SimDuration::from_hours(4),
                unhealthy_timeout: SimDuration::from_mins(1),
            },
            Fault::NodeFailures {
                at: SimDuration::ZERO,
                every: SimDuration::from_secs(20),
            },
        ];
        plan.after = vec![AfterOp::Upgrade {
            wave: 0,
            max_surge: 1,
            max_unavailable: 0,
        }];
        plan.max_simulated = SimDuration::from_hours(12);
        let (_, r) = simulate_and_report(&plan);
        let up = r.operations.iter().find(|o| o.op == "upgrade").unwrap();
        assert!(
            up.finished_s.is_some(),
            "the upgrade never finished: {up:?}"
        );
    });
}
