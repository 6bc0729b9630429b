//! Day-2 operations and faults end to end: scale, upgrade, delete, MachineHealthCheck
//! remediation, VM-create failures, and each of them through failing writes; every test
//! runs a small fleet and checks a property of the real mechanisms (objects conserved,
//! each Machine replaced once, nothing left behind a delete).

mod common;

use common::{
    FAILING_WRITES, assert_live_bytes_are_the_objects, assert_only_leases_and_events, make_plan,
    report,
};
use models::run::report::RunReport;
use models::run::{Finished, simulate};
use models::scenario::operations::AfterOp;
use models::scenario::presets::Tier;
use sim_core::SimDuration;

/// Issue 4, VM-create failures: CAPX retries a failed create task (the reconcile errors,
/// the NutanixMachine backs off, the next reconcile creates the VM again), so with each
/// task failing independently with probability p the creates per machine follow a
/// geometric law with mean 1/(1 − p). With p = 0.5 and 200 machines: 400 creates, 200
/// failures, standard deviation √(200 · p/(1 − p)²) = 20.
#[test]
fn failed_vm_creates_are_retried_until_every_machine_runs() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 50, 4, 1, &[]);
    plan.faults = vec![Fault::VmCreateFailures {
        probability: 0.5,
        at: SimDuration::ZERO,
        duration: None,
    }];
    let r = report(&plan);
    assert_eq!(
        r.fleet.machines_running, 200,
        "every machine runs in the end"
    );
    let failures = r.prism_central.vm_create_failures as f64;
    assert!(
        (failures - 200.0).abs() < 80.0,
        "{failures} failures, expected 200 ± 80 (4 sd)"
    );
    assert!(
        r.controllers
            .iter()
            .find(|c| c.name == "nutanixmachine")
            .unwrap()
            .errors
            >= r.prism_central.vm_create_failures,
        "each failure is a reconcile error"
    );
    let clean = report(&make_plan(Tier::Small, 50, 4, 1, &[]));
    assert_eq!(clean.prism_central.vm_create_failures, 0);
    let (slow, fast) = (
        r.fleet.time_to_ready_s.unwrap(),
        clean.fleet.time_to_ready_s.unwrap(),
    );
    assert!(slow > fast, "retries cost time: {slow} vs {fast}");
}

/// Issue 4, `scale`: adding k workers to each cluster's MachineDeployment makes, per
/// cluster, one topology patch by the user, one MachineDeployment replicas patch (the
/// topology controller), one MachineSet replicas patch (the MachineDeployment controller)
/// and then exactly k more of each machine object and k more VMs, as at creation.
#[test]
fn scaling_up_adds_exactly_k_machines_per_cluster() {
    let (clusters, k) = (3u32, 2u32);
    let base = make_plan(Tier::Small, clusters, 3, 1, &[]);
    let mut scaled = base.clone();
    scaled.after = vec![AfterOp::Scale { by: k as i32 }];
    let (a, b) = (report(&base), report(&scaled));
    assert_eq!(a.fleet.machines_running, clusters * 3);
    assert_eq!(
        b.fleet.machines_running,
        clusters * (3 + k),
        "every new worker runs"
    );
    let w = |r: &RunReport, key: &str| r.writes_by_verb.get(key).copied().unwrap_or(0);
    for kind in ["Machine", "KubeadmConfig", "NutanixMachine"] {
        let key = format!("{kind}/create");
        assert_eq!(
            w(&b, &key) - w(&a, &key),
            u64::from(clusters * k),
            "{key}: k more per cluster"
        );
    }
    // The scale's own patches: Cluster (user), MachineDeployment, MachineSet.
    for key in [
        "Cluster/patch",
        "MachineDeployment/patch",
        "MachineSet/patch",
    ] {
        assert_eq!(w(&b, key) - w(&a, key), u64::from(clusters), "{key}");
    }
    let ops: Vec<&str> = b.operations.iter().map(|o| o.op.as_str()).collect();
    assert_eq!(ops, ["create", "scale"]);
    let scale = &b.operations[1];
    let took = scale.finished_s.expect("finished") - scale.started_s;
    assert!(
        took > 60.0,
        "a VM takes minutes to create and boot: {took} s"
    );
    assert_eq!(b.prism_central.vm_create_failures, 0);
}

/// Issue 4, scaling down: the MachineSet deletes the surplus Machines, each through
/// CAPI's deletion (drain, delete the NutanixMachine, wait, delete the KubeadmConfig,
/// remove the finalizer) and CAPX's (DELETE the VM, wait for it to be gone, remove the
/// finalizer); the garbage collector deletes each bootstrap Secret. Exactly k of each
/// per cluster, and the running count falls by k.
#[test]
fn scaling_down_deletes_exactly_k_machines_per_cluster() {
    let (clusters, k) = (3u32, 2u32);
    let base = make_plan(Tier::Small, clusters, 5, 1, &[]);
    let mut down = base.clone();
    down.after = vec![AfterOp::Scale { by: -(k as i32) }];
    let (a, b) = (report(&base), report(&down));
    assert_eq!(a.fleet.machines_running, clusters * 5);
    assert_eq!(b.fleet.machines_running, clusters * (5 - k));
    let w = |r: &RunReport, key: &str| r.writes_by_verb.get(key).copied().unwrap_or(0);
    for key in [
        "Machine/delete",
        "NutanixMachine/delete",
        "KubeadmConfig/delete",
    ] {
        assert_eq!(w(&b, key) - w(&a, key), u64::from(clusters * k), "{key}");
    }
    // The bootstrap Secrets: the garbage collector's deletes.
    assert_eq!(
        w(&b, "Secret/delete") - w(&a, "Secret/delete"),
        u64::from(clusters * k)
    );
    // Finalizer removals are PATCHes: one per deleted Machine and NutanixMachine, plus
    // the scale's own Cluster, MachineDeployment and MachineSet patches.
    assert_eq!(
        w(&b, "NutanixMachine/patch") - w(&a, "NutanixMachine/patch"),
        u64::from(clusters * k)
    );
    assert_eq!(
        w(&b, "Machine/patch") - w(&a, "Machine/patch"),
        u64::from(clusters * k)
    );
    let scale = b.operations.iter().find(|o| o.op == "scale").unwrap();
    assert!(scale.finished_s.is_some(), "the scale-down finished");
}

/// Up then down by the same k: the fleet ends as it began, having created and deleted k
/// workers per cluster; the deletions pick the new ones or old ones alike.
#[test]
fn scaling_up_then_down_returns_to_the_fleet_it_began_with() {
    let (clusters, k) = (2u32, 3u32);
    let mut plan = make_plan(Tier::Small, clusters, 3, 1, &[]);
    plan.after = vec![
        AfterOp::Scale { by: k as i32 },
        AfterOp::Scale { by: -(k as i32) },
    ];
    let r = report(&plan);
    assert_eq!(r.fleet.machines_running, clusters * 3);
    let w = |key: &str| r.writes_by_verb.get(key).copied().unwrap_or(0);
    assert_eq!(w("Machine/create"), u64::from(clusters * (3 + k)));
    assert_eq!(w("Machine/delete"), u64::from(clusters * k));
    let ops: Vec<&str> = r.operations.iter().map(|o| o.op.as_str()).collect();
    assert_eq!(ops, ["create", "scale", "scale"]);
}

/// Issue 4, MachineHealthCheck: a worker whose node does not appear within the node
/// startup timeout is marked unhealthy, and its MachineSet deletes and replaces it. With
/// VM creates taking 20 minutes every worker outlives a 10-minute timeout, so every one
/// is remediated (and so is each replacement: the fleet never gets ready); with a
/// 60-minute timeout none is. Each remediation is exactly one Machine DELETE.
#[test]
fn a_machine_health_check_replaces_workers_without_a_node_in_time() {
    use models::scenario::faults::Fault;
    let slow = ["prism-central.vm-create={constant: 1200}"];
    let run_with = |timeout_min: u64| {
        let mut plan = make_plan(Tier::Small, 2, 3, 1, &slow);
        plan.max_simulated = SimDuration::from_hours(3);
        plan.faults = vec![Fault::MachineHealthCheck {
            node_startup_timeout: SimDuration::from_mins(timeout_min),
            unhealthy_timeout: SimDuration::from_mins(5),
        }];
        report(&plan)
    };
    let strict = run_with(10);
    let workers = 2 * 2;
    assert!(
        strict.fleet.machines_remediated >= workers,
        "every worker remediated at least once: {}",
        strict.fleet.machines_remediated
    );
    assert!(
        strict.fleet.time_to_ready_s.is_none(),
        "replacements time out too"
    );
    assert_eq!(
        strict
            .writes_by_verb
            .get("Machine/delete")
            .copied()
            .unwrap_or(0),
        strict.fleet.machines_remediated,
        "one DELETE per remediation"
    );
    let lenient = run_with(60);
    assert_eq!(lenient.fleet.machines_remediated, 0);
    assert_eq!(lenient.fleet.machines_running, 2 * 3);
}

/// Issue 4, `delete`: deleting every cluster removes every object the fleet made:
/// afterwards etcd holds only the managers' Leases and the Events not yet expired. Each
/// cluster's objects are deleted exactly once: the Cluster, its MachineDeployment,
/// MachineSet, KubeadmControlPlane and NutanixCluster by their controllers; every
/// Machine, NutanixMachine and KubeadmConfig; the three templates (two by the topology
/// MachineDeployment controller, one by the garbage collector); the certificate and
/// kubeconfig Secrets and each machine's bootstrap Secret by the garbage collector.
#[test]
fn deleting_the_fleet_leaves_only_leases_and_events() {
    let (n, m) = (3u64, 4u64);
    let mut plan = make_plan(Tier::Small, n as u32, m as u32, 1, &[]);
    plan.after = vec![AfterOp::Delete];
    let Finished { world, .. } = simulate(&plan).unwrap();
    assert_only_leases_and_events(&world, &plan);
    assert_eq!(world.machines_running, 0);
    let r = report(&plan);
    let w = |key: &str| r.writes_by_verb.get(key).copied().unwrap_or(0);
    for (key, count) in [
        ("Cluster/delete", n),
        ("MachineDeployment/delete", n),
        ("MachineSet/delete", n),
        ("KubeadmControlPlane/delete", n),
        ("NutanixCluster/delete", n),
        ("Machine/delete", n * m),
        ("NutanixMachine/delete", n * m),
        ("KubeadmConfig/delete", n * m),
        ("Template/delete", 3 * n),
        // The topology shim at creation, five certificate Secrets, bootstrap data.
        ("Secret/delete", n * (1 + 5 + m)),
    ] {
        assert_eq!(w(key), count, "{key}");
    }
    let delete = r.operations.iter().find(|o| o.op == "delete").unwrap();
    assert!(delete.finished_s.is_some(), "the delete finished");
}

/// Issue 4, `at:`: an operation with a start time starts at the first sample at or after
/// it, even though the previous one finished long before; one without waits only for the
/// previous one.
#[test]
fn an_operation_with_a_start_time_waits_for_it() {
    let mut plan = make_plan(Tier::Small, 2, 3, 1, &[]);
    plan.after = vec![
        AfterOp::WaitUntil(SimDuration::from_hours(4)),
        AfterOp::Scale { by: 1 },
        AfterOp::Steady(SimDuration::from_mins(10)),
    ];
    let r = report(&plan);
    let ops: Vec<&str> = r.operations.iter().map(|o| o.op.as_str()).collect();
    assert_eq!(
        ops,
        ["create", "scale", "steady"],
        "the wait is not an operation"
    );
    let create_end = r.operations[0].finished_s.unwrap();
    assert!(
        create_end < 3600.0,
        "the create takes under an hour: {create_end}"
    );
    let scale = &r.operations[1];
    assert!(
        (4.0 * 3600.0..4.0 * 3600.0 + 15.0).contains(&scale.started_s),
        "scale starts at 4h: {}",
        scale.started_s
    );
    let steady = &r.operations[2];
    assert!(steady.started_s - scale.finished_s.unwrap() <= 15.0);
}

/// A reconcile that fails part-way through its writes is retried and repeats the deletes
/// it had already made; the API server answers those with 404 and etcd stores nothing.
/// Here a slow disk and no client retries make writes fail while the fleet is deleted,
/// the user's own DELETEs included (run again 10 s later, as a script would): the delete
/// still finishes and etcd's accounting stays whole (a second delete of the same bytes
/// would trip the store's check).
#[test]
fn deletes_repeated_after_failed_writes_are_404s() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 40, 3, 1, &FAILING_WRITES);
    plan.after = vec![
        AfterOp::WaitUntil(SimDuration::from_hours(2)),
        AfterOp::Delete,
    ];
    plan.faults = vec![Fault::EtcdDiskLatencySpike {
        at: SimDuration::from_secs(7190),
        duration: SimDuration::from_hours(1),
        factor: 200.0,
    }];
    let r = report(&plan);
    let w = |key: &str| r.writes_by_verb.get(key).copied().unwrap_or(0);
    assert!(r.apiserver.requests_failed > 0, "writes did fail");
    assert!(
        w("Template/delete") <= 3 * 40,
        "each template deleted once at most"
    );
    let delete = r.operations.iter().find(|o| o.op == "delete").unwrap();
    assert!(
        delete.finished_s.is_some(),
        "every cluster is deleted in the end"
    );
    assert_eq!(r.fleet.machines_running, 0);
    // The garbage collector's deletes that failed were retried too, and the delete is
    // finished only once they are done: nothing is left, whatever the seed (issue 19:
    // seeds 11, 42 and 58 once left Secrets and a Template behind).
    for seed in [1, 2, 3, 11, 42, 58] {
        plan.seed = seed;
        let Finished { world, .. } = simulate(&plan).unwrap();
        assert_only_leases_and_events(&world, &plan);
    }
}

/// A DELETE of an object already being deleted keeps its deletionTimestamp: the API
/// server's update changes nothing, and nothing is written to etcd (apiserver
/// `markAsDeleting`, then a no-op `GuaranteedUpdate`). Here an upgrade's writes fail: a
/// Machine's first deletion pass DELETEs its NutanixMachine but its drain-start patch
/// fails, and the next pass DELETEs the NutanixMachine again. Still one DELETE written
/// per object (issue 19: with seeds 56, 74 and 110 the model wrote some twice).
#[test]
fn a_delete_of_an_object_already_being_deleted_writes_nothing() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 15, 3, 1, &FAILING_WRITES);
    plan.seed = 74;
    plan.after = vec![
        AfterOp::WaitUntil(SimDuration::from_hours(2)),
        AfterOp::Upgrade {
            wave: 0,
            max_surge: 1,
            max_unavailable: 0,
        },
    ];
    plan.faults = vec![Fault::EtcdDiskLatencySpike {
        at: SimDuration::from_secs(7190),
        duration: SimDuration::from_mins(20),
        factor: 200.0,
    }];
    let r = report(&plan);
    assert!(r.apiserver.requests_failed > 0, "writes did fail");
    for kind in ["Machine", "KubeadmConfig", "NutanixMachine"] {
        let key = format!("{kind}/delete");
        assert_eq!(common::writes(&r, &key), 15 * 3, "{key}: once per object");
    }
}

/// A scale below zero stops at zero workers, and the next scale counts from there.
#[test]
fn a_scale_counts_from_the_last_target_not_below_zero() {
    let mut plan = make_plan(Tier::Small, 2, 4, 1, &[]);
    plan.after = vec![AfterOp::Scale { by: -5 }, AfterOp::Scale { by: 2 }];
    let r = report(&plan);
    assert_eq!(
        r.fleet.machines_running,
        2 * (1 + 2),
        "3 workers, down to 0, up to 2"
    );
    assert!(r.operations.iter().all(|o| o.finished_s.is_some()));
}

/// Writes that fail while the fleet is created (a slow disk, no client retries) are
/// retried by their reconciles and the user; once the fleet is deleted, etcd again holds
/// only the Leases and the unexpired Events: no object was stored twice or left behind.
#[test]
fn failed_writes_during_the_create_leave_nothing_behind_a_delete() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 30, 3, 1, &FAILING_WRITES);
    plan.after = vec![AfterOp::Delete];
    plan.faults = vec![Fault::EtcdDiskLatencySpike {
        at: SimDuration::from_secs(60),
        duration: SimDuration::from_mins(20),
        factor: 200.0,
    }];
    let Finished { world, .. } = simulate(&plan).unwrap();
    assert!(world.metrics.api_failed > 0, "writes did fail");
    assert!(
        world.clusters.iter().all(|c| !c.exists),
        "the fleet is gone"
    );
    assert_only_leases_and_events(&world, &plan);
}

/// Issue 4, `upgrade`: every Machine of every cluster is replaced exactly once. Each
/// cluster ends with as many Machines as before, all at the new version and running, and
/// every original Machine is gone: as many Machine DELETEs as Machines, twice as many
/// creates as at the start, one new MachineSet per cluster and the old one deleted.
/// While it rolls, KCP never runs more than replicas + 1 control-plane Machines (its
/// maxSurge) and the MachineDeployment never more than replicas + maxSurge workers; the
/// second wave starts only once the first has finished.
#[test]
fn an_upgrade_replaces_every_machine_exactly_once() {
    upgrade_replaces_every_machine_once(1, 0);
}

/// The same with maxSurge 0 and maxUnavailable 2: the MachineDeployment deletes before
/// it creates and never has more workers than replicas.
#[test]
fn an_upgrade_without_surge_replaces_every_machine_exactly_once() {
    upgrade_replaces_every_machine_once(0, 2);
}

fn upgrade_replaces_every_machine_once(max_surge: u32, max_unavailable: u32) {
    let (n, m, cp) = (3u32, 6u32, 3u32);
    let base = make_plan(Tier::Small, n, m, cp, &[]);
    let a = report(&base);
    for kind in ["Machine", "KubeadmConfig", "NutanixMachine"] {
        let create = format!("{kind}/create");
        assert_eq!(common::writes(&a, &create), u64::from(n * m), "{create}");
    }
    common::upgrade_once(
        &mut base.clone(),
        (n, m, cp),
        2,
        (max_surge, max_unavailable),
    );
}

/// After an upgrade, etcd holds exactly the objects of the fleet it began with: the old
/// Machines' objects, bootstrap Secrets and the old MachineSet are gone.
#[test]
fn etcd_live_bytes_after_an_upgrade_are_the_fleets_objects() {
    let mut plan = make_plan(Tier::Small, 3, 4, 1, &[]);
    plan.after = vec![AfterOp::Upgrade {
        wave: 0,
        max_surge: 2,
        max_unavailable: 1,
    }];
    assert_live_bytes_are_the_objects(&plan, 3, 4);
}

/// An upgraded fleet deletes as cleanly as a new one: the rolled-in Machines and the new
/// MachineSet go, and etcd keeps only the Leases and Events.
#[test]
fn an_upgraded_fleet_deletes_to_only_leases_and_events() {
    let mut plan = make_plan(Tier::Small, 2, 4, 1, &[]);
    plan.after = vec![
        AfterOp::Upgrade {
            wave: 0,
            max_surge: 1,
            max_unavailable: 0,
        },
        AfterOp::Delete,
    ];
    let Finished { world, .. } = simulate(&plan).unwrap();
    assert_only_leases_and_events(&world, &plan);
    let ops: Vec<_> = world.op_timings.iter().map(|o| o.op.as_str()).collect();
    assert_eq!(ops, ["create", "upgrade", "delete"]);
    assert!(world.op_timings.iter().all(|o| o.finished_s.is_some()));
}

/// An upgrade whose writes fail (no client retries, a tiny API server, a slow disk as it
/// starts) still finishes: the user's version patches are run again, and the
/// controllers requeue. Every Machine ends at the new version, once each.
#[test]
fn an_upgrade_through_failing_writes_still_replaces_every_machine_once() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 30, 3, 1, &FAILING_WRITES);
    plan.after = vec![
        AfterOp::WaitUntil(SimDuration::from_hours(2)),
        AfterOp::Upgrade {
            wave: 0,
            max_surge: 1,
            max_unavailable: 0,
        },
    ];
    plan.faults = vec![Fault::EtcdDiskLatencySpike {
        at: SimDuration::from_secs(7190),
        duration: SimDuration::from_mins(20),
        factor: 200.0,
    }];
    let Finished { world, .. } = simulate(&plan).unwrap();
    assert!(world.metrics.api_failed > 0, "writes did fail");
    let upgrade = world.op_timings.iter().find(|o| o.op == "upgrade").unwrap();
    assert!(upgrade.finished_s.is_some(), "the upgrade finished");
    let created: Vec<_> = world
        .machines
        .iter()
        .filter(|m| m.created_at.is_some())
        .collect();
    assert_eq!(created.len(), 2 * 30 * 3, "one replacement per Machine");
    assert!(
        created
            .iter()
            .all(|m| (m.version == 1) == m.exists && m.exists == m.running)
    );
}

/// Issue 4, node failures: workers' nodes go NotReady at random, 20 minutes apart on
/// average, over 24 hours of a ready fleet. Without a MachineHealthCheck nothing replaces
/// them: all 20 workers end NotReady. With one (5-minute unhealthy timeout) each failed
/// worker is remediated exactly once: one Machine DELETE each, and the fleet ends with
/// every worker running a healthy node; the failure count lies within 4 sd of T/20 min.
#[test]
fn failed_nodes_are_remediated_once_each_by_a_machine_health_check() {
    use models::scenario::faults::Fault;
    let failures = Fault::NodeFailures {
        at: SimDuration::ZERO,
        every: SimDuration::from_mins(20),
    };
    let mhc = Fault::MachineHealthCheck {
        node_startup_timeout: SimDuration::from_mins(60),
        unhealthy_timeout: SimDuration::from_mins(5),
    };
    let (n, m) = (4u32, 6u32);
    let mut plan = make_plan(Tier::Small, n, m, 1, &[]);
    plan.after = vec![AfterOp::Steady(SimDuration::from_hours(24))];

    plan.faults = vec![failures];
    let Finished { world, .. } = simulate(&plan).unwrap();
    let workers = u64::from(n * (m - 1));
    assert_eq!(
        world.metrics.node_failures, workers,
        "every worker failed, once"
    );
    assert_eq!(world.metrics.remediations, 0);
    let down = world
        .machines
        .iter()
        .filter(|x| x.exists && x.node_failed_at.is_some())
        .count() as u64;
    assert_eq!(down, workers, "nothing replaces them");

    plan.faults = vec![mhc, failures];
    let Finished { world, now, .. } = simulate(&plan).unwrap();
    let r = report(&plan);
    let failed = world.metrics.node_failures;
    let mean = now.as_secs_f64() / 1200.0;
    assert!(
        (failed as f64 - mean).abs() <= 4.0 * mean.sqrt(),
        "{failed} node failures against {mean:.1} expected"
    );
    // Failures in the last unhealthy timeout before the end are not yet remediated.
    let late = world
        .machines
        .iter()
        .filter(|x| {
            x.node_failed_at
                .is_some_and(|t| t + SimDuration::from_mins(6) > now)
        })
        .count() as u64;
    assert!(
        (failed - late..=failed).contains(&world.metrics.remediations),
        "{} remediations for {failed} failures ({late} late)",
        world.metrics.remediations
    );
    let deletes = r.writes_by_verb.get("Machine/delete").copied().unwrap_or(0);
    assert_eq!(
        deletes, world.metrics.remediations,
        "one DELETE per remediation"
    );
    let healthy_workers = world
        .machines
        .iter()
        .filter(|x| x.exists && !x.is_cp() && x.running && x.node_failed_at.is_none())
        .count() as u64;
    assert!(healthy_workers + late >= workers);
}

/// Writes failing for 40 minutes from the start (etcd's disk 1000× slower, a tiny API
/// server, no client retries): every cluster still gets ready, then deleted to nothing
/// but Leases and Events. The topology controller creates only what is missing on its
/// next pass (a MachineDeployment whose create failed after the Cluster's topology patch
/// once stayed missing forever), and every create of an object that exists is a 409, so
/// no Secret or template is stored twice.
#[test]
fn a_fleet_created_through_failing_writes_gets_ready_and_deletes_cleanly() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 60, 3, 1, &FAILING_WRITES);
    plan.faults = vec![Fault::EtcdDiskLatencySpike {
        at: SimDuration::from_secs(30),
        duration: SimDuration::from_mins(40),
        factor: 1000.0,
    }];
    let ready = report(&plan);
    assert!(ready.apiserver.requests_failed > 1000, "writes did fail");
    assert_eq!(ready.fleet.clusters_ready, 60);
    assert_live_bytes_are_the_objects(&plan, 60, 3);
    plan.after = vec![AfterOp::Delete];
    let Finished { world, .. } = simulate(&plan).unwrap();
    assert!(
        world.clusters.iter().all(|c| !c.exists),
        "the fleet is gone"
    );
    assert_only_leases_and_events(&world, &plan);
}

/// Nodes failing during an upgrade (one every 2 minutes, a 1-minute unhealthy timeout):
/// the MachineHealthCheck remediates old and new workers alike, each MachineSet replaces
/// its own at its own version, and the rollout still completes with every Machine at the
/// new version. (When the old MachineSet did not replace its Machines, the rolling
/// update waited forever for the availability they took away.)
#[test]
fn an_upgrade_completes_while_nodes_fail_and_are_remediated() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 10, 8, 3, &[]);
    plan.faults = vec![
        Fault::MachineHealthCheck {
            node_startup_timeout: SimDuration::from_hours(4),
            unhealthy_timeout: SimDuration::from_mins(1),
        },
        Fault::NodeFailures {
            at: SimDuration::ZERO,
            every: SimDuration::from_mins(2),
        },
    ];
    plan.after = vec![AfterOp::Upgrade {
        wave: 3,
        max_surge: 1,
        max_unavailable: 0,
    }];
    let Finished { world, .. } = simulate(&plan).unwrap();
    assert!(
        world.metrics.remediations > 20,
        "nodes failed and were replaced"
    );
    let upgrade = world.op_timings.iter().find(|o| o.op == "upgrade").unwrap();
    assert!(upgrade.finished_s.is_some(), "the upgrade finished");
    let alive: Vec<_> = world.machines.iter().filter(|m| m.exists).collect();
    assert_eq!(alive.len(), 10 * 8);
    assert!(alive.iter().all(|m| m.version == 1));
}
