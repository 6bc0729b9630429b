//! What the end-to-end tests share (`lifecycle.rs`, `day2.rs`, `properties.rs`): plans, runs, and
//! the checks of what etcd holds and of how an upgrade replaces the Machines.

// Each test binary compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

use models::kinds::ObjKind;
use models::objects::MachineState;
use models::run::report::{self, RunReport};
use models::run::{Finished, RunPlan, run, simulate};
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};
use models::world::World;

/// No client retries and a tiny API server: with etcd's disk slowed down, writes fail
/// (timeouts, 429s) and the reconciles and the user must send them again.
pub const FAILING_WRITES: [&str; 4] = [
    "kube-apiserver.client-max-retries=0",
    "kube-apiserver.max-requests-inflight=5",
    "kube-apiserver.max-mutating-requests-inflight=5",
    "kube-apiserver.request-timeout=4s",
];

/// `clusters` clusters of `machines` machines, `cp` of them control plane, created at
/// once on the `tier` preset with `sets` applied, under seed 1.
pub fn make_plan(tier: Tier, clusters: u32, machines: u32, cp: u32, sets: &[&str]) -> RunPlan {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    RunPlan::new(
        presets::resolve(tier, &overrides).unwrap(),
        tier.name(),
        FleetSpec::all_at_once(clusters, machines, cp),
        1,
    )
}

/// The plan's report.
pub fn report(plan: &RunPlan) -> RunReport {
    run(plan).expect("run completes").report
}

/// One run of a single management cluster's plan: its world at the end and its report,
/// built from that world as [`run`] builds it.
pub fn simulate_and_report(plan: &RunPlan) -> (World, RunReport) {
    assert_eq!(plan.management_clusters, 1, "one world to inspect");
    let Finished { world, now, steps } = simulate(plan).expect("run completes");
    let fleet = FleetSpec {
        clusters: plan.total_clusters(),
        ..plan.fleet
    };
    let r = report::build(
        &world,
        &plan.config,
        &plan.tier,
        plan.seed,
        fleet,
        now,
        steps,
    );
    (world, r)
}

/// Writes of `key` (`Kind/verb`) in the report.
pub fn writes(r: &RunReport, key: &str) -> u64 {
    r.writes_by_verb.get(key).copied().unwrap_or(0)
}

/// Runs `plan` and checks etcd's live bytes against the objects `n` ready clusters of `m`
/// machines (one control plane) must hold.
pub fn assert_live_bytes_are_the_objects(plan: &RunPlan, n: u64, m: u64) {
    let Finished { world, .. } = simulate(plan).unwrap();
    assert_world_holds_the_objects(&world, plan, n, m);
}

/// etcd's live bytes in `world` are the objects `n` ready clusters of `m` machines each
/// must hold, and its database size is live, history and free bytes.
pub fn assert_world_holds_the_objects(world: &World, plan: &RunPlan, n: u64, m: u64) {
    let cfg = &plan.config;
    let expected = [
        (ObjKind::Cluster, n),
        (ObjKind::NutanixCluster, n),
        (ObjKind::KubeadmControlPlane, n),
        (ObjKind::MachineDeployment, n),
        (ObjKind::MachineSet, n),
        (ObjKind::Template, 3 * n),
        (ObjKind::Machine, n * m),
        (ObjKind::KubeadmConfig, n * m),
        (ObjKind::NutanixMachine, n * m),
        // CA ×4 + kubeconfig per cluster; shim deleted. Bootstrap data is counted below.
        (ObjKind::Secret, 5 * n),
        // The init lock is deleted by the first joining node.
        (ObjKind::ConfigMap, 0),
        (ObjKind::Lease, leases(world)),
        (ObjKind::Event, world.metrics.events_alive),
    ];
    let overhead = cfg.etcd.revision_overhead.0;
    let sizes = &cfg.costs.object_size;
    let bootstrap = n * m * (sizes.bootstrap_secret.0 + overhead);
    let want: u64 = expected
        .iter()
        .map(|(k, count)| count * (sizes.of(*k) + overhead))
        .sum::<u64>()
        + bootstrap;
    assert_eq!(world.store.live_bytes(), want, "live bytes are the objects");
    assert_eq!(
        world.store.db_size(),
        world.store.live_bytes() + world.store.history_bytes() + world.store.free_bytes()
    );
}

/// The leader-election Leases: one per manager instance (a sharded manager's shards each
/// hold their own).
pub fn leases(world: &World) -> u64 {
    world.manager_figures().len() as u64
}

/// etcd's live bytes are exactly the managers' Leases and the Events not yet expired.
pub fn assert_only_leases_and_events(world: &World, plan: &RunPlan) {
    let cfg = &plan.config;
    let overhead = cfg.etcd.revision_overhead.0;
    let sizes = &cfg.costs.object_size;
    let want = leases(world) * (sizes.of(ObjKind::Lease) + overhead)
        + world.metrics.events_alive * (sizes.of(ObjKind::Event) + overhead);
    assert_eq!(
        world.store.live_bytes(),
        want,
        "only Leases and Events are left"
    );
}

/// The fleet's shape for [`assert_upgrade_replaced_every_machine_once`].
#[derive(Clone, Copy, Debug)]
pub struct Upgraded {
    /// Clusters.
    pub n: u32,
    /// Machines per cluster.
    pub m: u32,
    /// Control-plane machines per cluster.
    pub cp: u32,
    /// The MachineDeployment's maxSurge.
    pub max_surge: u32,
    /// Clusters per wave (0: all in one).
    pub wave: u32,
}

/// Runs `plan`, a fleet of `(n, m, cp)` (clusters, machines per cluster, control-plane
/// machines), with one upgrade after its create (`wave` clusters at a time, 0: all; the
/// MachineDeployments' maxSurge and maxUnavailable), checks that every Machine was
/// replaced once ([`assert_upgrade_replaced_every_machine_once`]) and returns the run.
pub fn upgrade_once(
    plan: &mut RunPlan,
    (n, m, cp): (u32, u32, u32),
    wave: u32,
    (max_surge, max_unavailable): (u32, u32),
) -> (World, RunReport) {
    plan.after = vec![models::scenario::operations::AfterOp::Upgrade {
        wave,
        max_surge,
        max_unavailable,
    }];
    let (world, r) = simulate_and_report(plan);
    let u = Upgraded {
        n,
        m,
        cp,
        max_surge,
        wave,
    };
    assert_upgrade_replaced_every_machine_once(&world, &r, u);
    (world, r)
}

/// Issue 4, `upgrade`, after one upgrade of a fleet created at version 0 without faults:
/// every Machine of every cluster was replaced exactly once. Each cluster ends with as
/// many Machines as before, all at the new version and running, and every original
/// Machine is gone: as many Machine DELETEs as Machines, twice as many creates, one new
/// MachineSet per cluster and the old one deleted. While it rolled, KCP never ran more
/// than replicas + 1 control-plane Machines (its maxSurge) and the MachineDeployment never
/// more than replicas + maxSurge workers; each wave started only once the one before had
/// finished.
pub fn assert_upgrade_replaced_every_machine_once(world: &World, r: &RunReport, u: Upgraded) {
    let Upgraded {
        n,
        m,
        cp,
        max_surge,
        wave,
    } = u;
    let machines = u64::from(n * m);
    for kind in ["Machine", "KubeadmConfig", "NutanixMachine"] {
        let create = format!("{kind}/create");
        assert_eq!(
            writes(r, &create),
            2 * machines,
            "{create}: one new per Machine"
        );
        assert_eq!(
            writes(r, &format!("{kind}/delete")),
            machines,
            "{kind}: every original deleted once"
        );
    }
    assert_eq!(writes(r, "MachineSet/create"), 2 * u64::from(n));
    assert_eq!(writes(r, "MachineSet/delete"), u64::from(n));
    let ops: Vec<&str> = r.operations.iter().map(|o| o.op.as_str()).collect();
    assert_eq!(ops, ["create", "upgrade"]);
    assert!(r.operations[1].finished_s.is_some(), "the upgrade finished");
    assert_eq!(r.fleet.machines_running, n * m);

    let waves = if wave == 0 { 1 } else { n.div_ceil(wave) } as usize;
    let mut wave_end = vec![0.0f64; waves];
    let mut wave_start = vec![f64::MAX; waves];
    for c in 0..n {
        let mine: Vec<_> = world.machines.iter().filter(|x| x.cluster == c).collect();
        let (old, new): (Vec<&MachineState>, Vec<&MachineState>) = mine
            .iter()
            .filter(|x| x.created_at.is_some())
            .partition(|x| x.version == 0);
        assert_eq!(old.len() as u32, m, "cluster {c}: its original Machines");
        assert!(old.iter().all(|x| !x.exists && x.gone_at.is_some()));
        assert_eq!(new.len() as u32, m, "cluster {c}: one replacement each");
        assert!(new.iter().all(|x| x.exists && x.running && x.version == 1));
        assert_eq!(new.iter().filter(|x| x.is_cp()).count() as u32, cp);
        // Machines alive at each creation, by role: never above replicas + maxSurge.
        for role_cp in [true, false] {
            let role: Vec<_> = mine
                .iter()
                .filter(|x| x.is_cp() == role_cp && x.created_at.is_some())
                .collect();
            let limit = if role_cp { cp + 1 } else { m - cp + max_surge };
            for x in &role {
                let t = x.created_at.unwrap();
                let alive = role
                    .iter()
                    .filter(|y| y.created_at.is_some_and(|s| s <= t))
                    .filter(|y| y.gone_at.is_none_or(|g| g > t))
                    .count() as u32;
                assert!(
                    alive <= limit,
                    "cluster {c} (control plane: {role_cp}): {alive} alive > {limit}"
                );
            }
        }
        let w = c.checked_div(wave).unwrap_or(0) as usize;
        for x in &new {
            wave_start[w] = wave_start[w].min(x.created_at.unwrap().as_secs_f64());
            wave_end[w] = wave_end[w].max(x.running_at.unwrap().as_secs_f64());
        }
        for x in &old {
            wave_end[w] = wave_end[w].max(x.gone_at.unwrap().as_secs_f64());
        }
    }
    for w in 1..waves {
        assert!(
            wave_start[w] > wave_end[w - 1],
            "wave {w} starts after wave {} ends: {} <= {}",
            w - 1,
            wave_start[w],
            wave_end[w - 1]
        );
    }
}
