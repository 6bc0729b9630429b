//! Workload shapes (issue 12): batches that wait for readiness, and later creates.

use models::run::{RunPlan, simulate};
use models::scenario::operations::{AfterOp, FleetSpec};
use models::scenario::presets::{self, Tier};
use models::scenario::workload::WaitFor;
use sim_core::SimDuration;

#[test]
fn a_batch_that_waits_for_ready_starts_only_when_the_one_before_is_ready() {
    // 6 clusters in batches of 2, each batch when the last is ready; then a second
    // create of 4 in batches of 2 the same way.
    let mut fleet = FleetSpec::all_at_once(6, 2, 1);
    fleet.batch = Some(2);
    fleet.wait = Some(WaitFor::Ready);
    let mut plan = RunPlan::new(
        presets::resolve(Tier::Small, &[]).unwrap(),
        "small",
        fleet,
        1,
    );
    plan.after = vec![AfterOp::Create {
        clusters: 4,
        batch: 2,
        every: SimDuration::ZERO,
        wait: Some(WaitFor::Ready),
    }];
    let world = simulate(&plan).expect("run completes").world;
    assert_eq!(world.clusters_ready, 10);
    let batches: Vec<std::ops::Range<usize>> = vec![0..2, 2..4, 4..6, 6..8, 8..10];
    for pair in batches.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        let last_ready = world.clusters[before.clone()]
            .iter()
            .map(|c| c.ready_at.expect("ready"))
            .max()
            .unwrap();
        let first_created = world.clusters[after.clone()]
            .iter()
            .map(|c| c.created_at.expect("created"))
            .min()
            .unwrap();
        assert!(
            first_created >= last_ready,
            "clusters {after:?} created at {first_created} before {before:?} were ready at {last_ready}"
        );
    }
    // And the batch starts as soon as it may: no later than a minute after.
    let ready = world.clusters[0..2]
        .iter()
        .map(|c| c.ready_at.unwrap())
        .max()
        .unwrap();
    let next = world.clusters[2..4]
        .iter()
        .map(|c| c.created_at.unwrap())
        .min()
        .unwrap();
    assert!(next.saturating_since(ready) < SimDuration::from_mins(1));
}

#[test]
fn one_machines_phases_add_up_to_its_time_to_running() {
    // One cluster of one control-plane machine: each phase has one sample, and the
    // machine's four phases are its whole way from created to Running.
    let plan = RunPlan::new(
        presets::resolve(Tier::Small, &[]).unwrap(),
        "small",
        FleetSpec::all_at_once(1, 1, 1),
        1,
    );
    let r = models::run::run(&plan).expect("run completes").report;
    let ph = &r.phases;
    let parts = [
        ph.machine_bootstrap_p50_s,
        ph.machine_vm_p50_s,
        ph.machine_boot_p50_s,
        ph.machine_join_p50_s,
    ];
    let machine: f64 = parts.iter().sum();
    assert!(
        (machine - r.fleet.machine_ready_p95_s).abs() < 1e-6,
        "{ph:?}"
    );
    assert!(parts.iter().all(|&p| p > 0.0), "{ph:?}");
    // The boot is the machine-boot distribution's draw for a first control plane.
    assert!(ph.machine_boot_p50_s > 60.0, "{ph:?}");
    // Its one control-plane machine running is its control plane ready: after the
    // machine's own way (it is created after the Cluster), before the Cluster's status
    // reports it ready.
    let cp = ph.control_plane_ready_p50_s;
    assert!(
        cp >= r.fleet.machine_ready_p95_s && cp <= r.fleet.cluster_ready_p50_s,
        "{ph:?}"
    );
    // The control plane is initialized before the cluster is ready.
    assert!(ph.control_plane_initialized_p50_s > 0.0);
    assert!(ph.control_plane_initialized_p50_s <= r.fleet.cluster_ready_p50_s);
}

#[test]
fn a_window_keeps_at_most_its_size_in_creation_and_refills_as_each_is_ready() {
    // 8 clusters, a window of 3 (CAPI's scale test's concurrency): at every moment at most
    // 3 applied and not yet ready; each cluster after the third is applied when one of
    // those before it became ready, not later than a minute after.
    let mut fleet = FleetSpec::all_at_once(8, 2, 1);
    fleet.batch = Some(3);
    fleet.wait = Some(WaitFor::Window);
    let plan = RunPlan::new(
        presets::resolve(Tier::Small, &[]).unwrap(),
        "small",
        fleet,
        1,
    );
    let world = simulate(&plan).expect("run completes").world;
    assert_eq!(world.clusters_ready, 8);
    let created: Vec<_> = world
        .clusters
        .iter()
        .map(|c| c.created_at.unwrap())
        .collect();
    let ready: Vec<_> = world.clusters.iter().map(|c| c.ready_at.unwrap()).collect();
    for &t in &created {
        let creating = (0..8).filter(|&c| created[c] <= t && ready[c] > t).count();
        assert!(creating <= 3, "{creating} clusters in creation at {t}");
    }
    for c in 3..8 {
        // The (c-2)th readiness among the clusters before it frees its slot.
        let mut before: Vec<_> = ready[..c].to_vec();
        before.sort();
        let freed = before[c - 3];
        assert!(
            created[c] >= freed && created[c] - freed < SimDuration::from_mins(1),
            "cluster {c} created at {} for a slot freed at {freed}",
            created[c]
        );
    }
}

#[test]
fn a_classic_cluster_stores_exactly_its_manifests_and_gets_ready() {
    // 4 classic clusters (topology: false) against the same fleet through the
    // ClusterClass: each classic cluster stores its Cluster, NutanixCluster,
    // KubeadmControlPlane, MachineDeployment and three templates as the user applied
    // them; no topology controller reconciles it, no dry-run is sent, and no shim Secret
    // is created.
    let run = |classic: bool| {
        let mut fleet = FleetSpec::all_at_once(4, 3, 1);
        fleet.classic = classic;
        let plan = RunPlan::new(
            presets::resolve(Tier::Small, &[]).unwrap(),
            "small",
            fleet,
            1,
        );
        models::run::run(&plan).expect("run completes").report
    };
    let (classic, topology) = (run(true), run(false));
    assert_eq!(classic.fleet.clusters_ready, 4);
    let creates = |r: &models::run::report::RunReport, kind: &str| {
        r.writes_by_verb
            .get(&format!("{kind}/create"))
            .copied()
            .unwrap_or(0)
    };
    for (kind, per_cluster) in [
        ("Cluster", 1),
        ("NutanixCluster", 1),
        ("KubeadmControlPlane", 1),
        ("MachineDeployment", 1),
        ("Template", 3),
    ] {
        assert_eq!(creates(&classic, kind), 4 * per_cluster, "{kind}");
        assert_eq!(creates(&topology, kind), 4 * per_cluster, "{kind}");
    }
    // The topology's shim Secret, one per cluster, is the only Secret of difference.
    assert_eq!(
        creates(&topology, "Secret") - creates(&classic, "Secret"),
        4
    );
    let topology_reconciles = |r: &models::run::report::RunReport| {
        r.controllers
            .iter()
            .find(|c| c.name == "topology/cluster")
            .map_or(0, |c| c.reconciles)
    };
    assert_eq!(topology_reconciles(&classic), 0);
    assert!(topology_reconciles(&topology) > 0);
    let dry_runs = |r: &models::run::report::RunReport| {
        r.requests_by_mechanism
            .get("topology-dry-runs")
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(dry_runs(&classic), 0);
    assert!(dry_runs(&topology) > 0);
    // The Cluster carries no topology: no TopologyApplied patch, no TopologyReconciled.
    let cluster_writes = |r: &models::run::report::RunReport| -> u64 {
        ["patch", "status"]
            .iter()
            .map(|v| {
                r.writes_by_verb
                    .get(&format!("Cluster/{v}"))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    assert!(cluster_writes(&classic) < cluster_writes(&topology));
}
