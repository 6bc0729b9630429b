//! The management-cluster model end to end (issue 3): each test runs a small fleet and
//! checks a property that follows from the real mechanisms, not from the model's output.

mod common;

use std::collections::BTreeMap;

use common::{
    FAILING_WRITES, assert_live_bytes_are_the_objects, assert_only_leases_and_events, make_plan,
    report,
};
use models::run::report::RunReport;
use models::run::{Finished, run, simulate};
use models::scenario::operations::AfterOp;
use models::scenario::presets::Tier;
use sim_core::SimDuration;

fn item<'a>(r: &'a RunReport, name: &str) -> &'a models::run::report::ChecklistItem {
    r.checklist
        .iter()
        .find(|c| c.name.starts_with(name))
        .expect("checklist item")
}

/// Writes of one cluster with 1 control-plane machine and 1 worker, by kind and verb, as
/// CAPI v1.12.3 and CAPX v1.10.0 make them (docs/model.md, "Writes of one cluster").
#[test]
fn one_cluster_makes_exactly_the_recipes_writes() {
    let r = report(&make_plan(Tier::Small, 1, 2, 1, &[]));
    assert_eq!((r.fleet.clusters_ready, r.fleet.machines_running), (1, 2));
    let w = |k: &str| r.writes_by_verb.get(k).copied().unwrap_or(0);
    let exact: BTreeMap<&str, u64> = [
        // Creates: the user's Cluster; topology's shim, NutanixCluster, KCP, 3 templates,
        // MD; MD's MS; KCP's 4 CA Secrets + kubeconfig; per machine a KubeadmConfig,
        // NutanixMachine, Machine and bootstrap-data Secret; the init lock; 4 Leases.
        ("Cluster/create", 1),
        ("Secret/create", 8),
        ("NutanixCluster/create", 1),
        ("KubeadmControlPlane/create", 1),
        ("Template/create", 3),
        ("MachineDeployment/create", 1),
        ("MachineSet/create", 1),
        ("KubeadmConfig/create", 2),
        ("NutanixMachine/create", 2),
        ("Machine/create", 2),
        ("ConfigMap/create", 1),
        ("Lease/create", 4),
        // Deletes: the shim once both refs are owned; the lock by the joining worker.
        ("Secret/delete", 1),
        ("ConfigMap/delete", 1),
        // Metadata and spec patches.
        ("Cluster/patch", 3), // finalizer, topology refs, control-plane endpoint
        ("NutanixCluster/patch", 2), // owner ref (Cluster ctrl), finalizer (CAPX)
        ("KubeadmControlPlane/patch", 2), // owner ref, finalizer
        ("MachineDeployment/patch", 3), // two finalizers, revision annotation
        ("MachineSet/patch", 2), // two finalizers
        ("Machine/patch", 5), // CP finalizer, 2× dataSecretName, 2× providerID
        // managedFields ×2, metadata ×2, owner ×2, join spec (worker), cert expiry (CP)
        ("KubeadmConfig/patch", 8),
        // managedFields ×2, metadata ×2, owner ×2, finalizer ×2, providerID spec ×2
        ("NutanixMachine/patch", 10),
        ("Secret/patch", 1), // CAPX's credential Secret, first reconcile only
    ]
    .into_iter()
    .collect();
    for (key, want) in &exact {
        assert_eq!(w(key), *want, "{key}");
    }
    // Status patches depend on how reconciles interleave; each controller makes at least
    // the Paused-condition patch and one per state it reports. With every latency a
    // constant, `one_cluster_makes_exactly_the_recipes_status_patches` (mechanisms.rs)
    // pins them exactly.
    assert!(
        w("Cluster/status") >= 3,
        "topology condition, Paused, status"
    );
    assert!(w("Machine/status") >= 4, "Paused and Running, per machine");
    assert!(
        w("KubeadmConfig/status") >= 6,
        "Paused, conditions, ready, per config"
    );
    assert!(w("NutanixMachine/status") >= 6);
    assert_eq!(w("NutanixCluster/status"), 2);
}

#[test]
fn kcp_creates_the_next_control_plane_machine_only_after_the_previous_is_ready() {
    let Finished { world, .. } = simulate(&make_plan(Tier::Small, 2, 5, 3, &[])).unwrap();
    for c in &world.clusters {
        let first = c.first_machine as usize;
        for i in 1..3 {
            let prev = &world.machines[first + i - 1];
            let next = &world.machines[first + i];
            let ready = prev.running_at.expect("previous CP machine ran");
            assert!(
                next.created_at.expect("created") >= ready,
                "CP {i} created before CP {} was ready",
                i - 1
            );
        }
    }
}

#[test]
fn prism_central_never_runs_more_tasks_than_its_limit() {
    let plan = make_plan(
        Tier::Small,
        8,
        5,
        1,
        &["prism-central.max-concurrent-tasks=3"],
    );
    let Finished { world, .. } = simulate(&plan).unwrap();
    assert_eq!(
        world.pcs[0].running_gauge.max(),
        3.0,
        "saturated, never above"
    );
    assert!(world.pcs[0].queue_gauge.max() > 0.0, "tasks had to queue");
}

#[test]
fn a_starved_rate_limiter_is_named_the_bottleneck() {
    let sets = [
        "capi-controller-manager.kube-api-qps=0.2",
        "capi-controller-manager.kube-api-burst=1",
    ];
    let r = report(&make_plan(Tier::Small, 10, 5, 3, &sets));
    assert_eq!(r.bottleneck.resource, "rate-limiter", "{:?}", r.waiting);
    assert!(r.bottleneck.share > 0.5);
}

#[test]
fn a_single_prism_central_task_slot_is_named_the_bottleneck() {
    let r = report(&make_plan(
        Tier::Small,
        10,
        5,
        3,
        &["prism-central.max-concurrent-tasks=1"],
    ));
    assert_eq!(r.bottleneck.resource, "prism-central", "{:?}", r.waiting);
}

#[test]
fn a_quota_below_the_fleets_needs_raises_nospace_with_its_time() {
    let r = report(&make_plan(
        Tier::Small,
        20,
        5,
        3,
        &["etcd.quota-backend-bytes=1Mi"],
    ));
    let at = r.etcd.nospace_at_s.expect("NOSPACE alarm raised");
    assert!(at > 0.0 && at < r.fleet.simulated_s);
    assert!(!item(&r, "No etcd alarms").pass);
    assert!(
        r.fleet.time_to_ready_s.is_none(),
        "the fleet cannot finish without writes"
    );
    assert!(
        r.apiserver.requests_failed > 0,
        "writes refused under the alarm"
    );
}

#[test]
fn etcd_live_bytes_are_the_objects_of_the_fleet() {
    // 3 clusters of 1 CP + 3 workers: count the objects a ready fleet must hold.
    assert_live_bytes_are_the_objects(&make_plan(Tier::Small, 3, 4, 1, &[]), 3, 4);
}

/// After a scale-down by 2, etcd holds exactly the objects of 3 machines per cluster: the
/// deleted Machines, KubeadmConfigs, NutanixMachines and bootstrap Secrets are gone.
#[test]
fn etcd_live_bytes_after_a_scale_down_are_the_remaining_objects() {
    let mut plan = make_plan(Tier::Small, 3, 5, 1, &[]);
    plan.after = vec![AfterOp::Scale { by: -2 }];
    assert_live_bytes_are_the_objects(&plan, 3, 3);
}

#[test]
fn same_seed_same_report() {
    let plan = make_plan(Tier::Medium, 25, 6, 3, &[]);
    let a = serde_json::to_string(&report(&plan)).unwrap();
    let b = serde_json::to_string(&report(&plan)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_cache_larger_than_the_memory_limit_crash_loops_the_manager() {
    // capi-controller-manager caches every CAPI object; 132Mi leaves 4 MiB for caches
    // that need more: OOM kill, restart, relist, killed again (CrashLoopBackOff).
    let mut plan = make_plan(
        Tier::Small,
        20,
        10,
        1,
        &[
            "capi-controller-manager.memory-limit=132Mi",
            "capi-controller-manager.memory-request=132Mi",
        ],
    );
    plan.max_simulated = SimDuration::from_hours(2);
    let r = report(&plan);
    let capi = r
        .managers
        .iter()
        .find(|m| m.name == "capi-controller-manager")
        .unwrap();
    assert!(
        capi.oom_kills >= 2,
        "killed and killed again after its restart: {}",
        capi.oom_kills
    );
    assert!(!item(&r, "No OOM kills").pass);
    assert!(r.fleet.time_to_ready_s.is_none());
    // The other managers were not affected.
    assert!(
        r.managers
            .iter()
            .filter(|m| m.name != "capi-controller-manager")
            .all(|m| m.oom_kills == 0)
    );
}

#[test]
fn a_prism_central_outage_stalls_vm_tasks_for_its_window_then_they_resume() {
    use models::scenario::faults::Fault;
    let (start, end) = (600.0, 1800.0); // 10 min to 30 min
    let mut plan = make_plan(Tier::Small, 5, 5, 3, &[]);
    let baseline = report(&plan);
    plan.timeline = true;
    plan.faults = vec![Fault::PrismCentralOutage {
        at: SimDuration::from_secs(600),
        duration: SimDuration::from_secs(1200),
    }];
    let out = run(&plan).unwrap();
    let rows = &out.timeline;
    let at = |t: f64| {
        rows.iter()
            .find(|r| r.t_s >= t)
            .expect("sampled")
            .pc_tasks_finished
    };
    assert!(at(start) > 0, "tasks ran before the outage");
    assert_eq!(
        at(start + 15.0),
        at(end),
        "no task finished while Prism Central was down"
    );
    assert!(
        out.report.prism_central.unavailable > 0,
        "CAPX's calls failed meanwhile"
    );
    assert_eq!(
        out.report.fleet.clusters_ready, 5,
        "VM creates resumed and the fleet became ready"
    );
    let delayed = out.report.fleet.time_to_ready_s.unwrap();
    assert!(
        delayed > baseline.fleet.time_to_ready_s.unwrap() + 600.0,
        "{delayed}"
    );
}

#[test]
fn a_controller_restart_loses_its_queues_and_recovers() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 5, 5, 3, &[]);
    plan.faults = vec![Fault::ControllerRestart {
        manager: 3,
        at: SimDuration::from_secs(900),
        every: None,
    }];
    let r = report(&plan);
    let capx = r
        .managers
        .iter()
        .find(|m| m.name == "capx-controller-manager")
        .unwrap();
    assert_eq!((capx.restarts, capx.oom_kills), (1, 0));
    assert_eq!(
        r.fleet.clusters_ready, 5,
        "it relisted and finished the work"
    );
}

/// Restarts as a rate: a Poisson process with a 10-minute mean gap over a run of T
/// seconds restarts the manager T/600 times on average (sd √(T/600)); the count lies
/// within 4 sd of it, and the fleet still gets ready.
#[test]
fn restarts_as_a_rate_come_at_their_mean_rate() {
    use models::scenario::faults::Fault;
    let mut plan = make_plan(Tier::Small, 5, 5, 3, &[]);
    plan.faults = vec![Fault::ControllerRestart {
        manager: 1,
        at: SimDuration::ZERO,
        every: Some(SimDuration::from_secs(600)),
    }];
    plan.after = vec![AfterOp::Steady(SimDuration::from_hours(48))];
    let Finished { now, .. } = simulate(&plan).unwrap();
    let r = report(&plan);
    let cabpk = r
        .managers
        .iter()
        .find(|m| m.name == "capi-kubeadm-bootstrap")
        .unwrap();
    let mean = now.as_secs_f64() / 600.0;
    let n = f64::from(cabpk.restarts);
    assert!(
        (n - mean).abs() <= 4.0 * mean.sqrt(),
        "{n} restarts against {mean:.1} expected"
    );
    assert_eq!(r.fleet.clusters_ready, 5);
}

#[test]
fn a_fleet_split_among_management_clusters_is_reported_whole_and_per_cluster() {
    let mut plan = make_plan(Tier::Small, 7, 4, 1, &[]);
    plan.management_clusters = 2;
    let r = report(&plan);
    assert_eq!(r.management_clusters.len(), 2);
    let sizes: Vec<u32> = r
        .management_clusters
        .iter()
        .map(|p| p.fleet.clusters)
        .collect();
    assert_eq!(sizes, vec![4, 3]);
    assert_eq!(r.fleet.clusters, 7);
    assert_eq!(r.fleet.clusters_ready, 7);
    let slowest = r
        .management_clusters
        .iter()
        .filter_map(|p| p.fleet.time_to_ready_s)
        .fold(0.0, f64::max);
    assert_eq!(r.fleet.time_to_ready_s, Some(slowest));
    let writes: u64 = r.management_clusters.iter().map(|p| p.etcd.writes).sum();
    assert_eq!(r.etcd.writes, writes, "counts add up");
    // Each management cluster draws its own random numbers.
    assert_ne!(
        r.management_clusters[0].fleet.cluster_ready_p50_s,
        r.management_clusters[1].fleet.cluster_ready_p50_s
    );
    // And the split run is reproducible.
    assert_eq!(
        serde_json::to_string(&report(&plan)).unwrap(),
        serde_json::to_string(&r).unwrap()
    );
}

#[test]
fn clusters_spread_over_several_prism_centrals_each_within_its_limits() {
    let one = make_plan(
        Tier::Small,
        6,
        4,
        1,
        &["prism-central.max-concurrent-tasks=2"],
    );
    let two = make_plan(
        Tier::Small,
        6,
        4,
        1,
        &[
            "prism-central.max-concurrent-tasks=2",
            "prism-central.count=2",
        ],
    );
    let Finished { world, .. } = simulate(&two).unwrap();
    assert_eq!(world.pcs.len(), 2);
    for pc in &world.pcs {
        assert!(pc.requests > 0, "each Prism Central served its clusters");
        assert_eq!(
            pc.running_gauge.max(),
            2.0,
            "each within its own task limit"
        );
    }
    let (t1, t2) = (
        report(&one).fleet.time_to_ready_s.unwrap(),
        report(&two).fleet.time_to_ready_s.unwrap(),
    );
    assert!(t2 < t1, "twice the task slots finish sooner: {t2} vs {t1}");
}

#[test]
fn every_tier_preset_runs() {
    for tier in Tier::ALL {
        let r = report(&make_plan(tier, 3, 4, 1, &[]));
        assert_eq!(r.fleet.clusters_ready, 3, "tier {}", tier.name());
    }
}

#[test]
fn three_shards_give_a_rate_limited_manager_three_times_the_qps() {
    // capi-controller-manager starved at 0.2 QPS: its writes take ~W/0.2 s on one
    // instance; three shards, each with its own token bucket, take ~W/0.6 s.
    let base = [
        "capi-controller-manager.kube-api-qps=0.2",
        "capi-controller-manager.kube-api-burst=1",
    ];
    let sharded = [base[0], base[1], "capi-controller-manager.shards=3"];
    let one = report(&make_plan(Tier::Small, 12, 2, 1, &base));
    let three = report(&make_plan(Tier::Small, 12, 2, 1, &sharded));
    assert_eq!(one.bottleneck.resource, "rate-limiter");
    let speedup = one.fleet.time_to_ready_s.unwrap() / three.fleet.time_to_ready_s.unwrap();
    assert!((2.5..=3.2).contains(&speedup), "speed-up {speedup}");
    let shards: Vec<_> = three
        .managers
        .iter()
        .filter(|m| m.name.starts_with("capi-controller-manager-shard-"))
        .collect();
    assert_eq!(shards.len(), 3);
    assert!(
        shards.iter().all(|m| m.rate_limiter_wait_total_s > 0.0),
        "each shard uses its own bucket"
    );
}

/// Issue 4, `steady`: once the fleet is ready nothing changes, so the only writes left
/// are the leader-election Lease renewals: every manager renews every RetryPeriod, 2 s
/// (client-go's default, which CAPI, CABPK and CAPX keep) and KCP every 5 s (its
/// `--leader-elect-retry-period`), one UPDATE each. Three managers at 1/2 s and one at
/// 1/5 s make 1.7 Lease writes per second.
#[test]
fn a_steady_fleet_writes_only_its_lease_renewals() {
    let mut plan = make_plan(Tier::Small, 2, 4, 1, &[]);
    plan.after = vec![AfterOp::Steady(SimDuration::from_secs(3600))];
    let r = report(&plan);
    let st = r.steady.expect("a steady window");
    assert!((st.duration_s - 3600.0).abs() <= 15.0, "{}", st.duration_s);
    let lease = st.etcd_writes_per_s_by_kind["Lease"];
    assert!(
        (lease - 1.7).abs() < 0.01,
        "Lease writes {lease}/s, expected 1.7"
    );
    let others: f64 = st
        .etcd_writes_per_s_by_kind
        .iter()
        .filter(|(k, _)| k.as_str() != "Lease" && k.as_str() != "Event")
        .map(|(_, v)| v)
        .sum();
    assert!(
        others < 0.01,
        "no object changes: {:?}",
        st.etcd_writes_per_s_by_kind
    );
    // Each renewal is a GET then an UPDATE; controllers read from their caches, but for
    // KCP's uncached LISTs and the topology controller's dry-run PATCHes (issue 11).
    let bg = |name: &str| st.background_per_s.get(name).copied().unwrap_or(0.0);
    assert!(
        (st.api_writes_per_s - bg("topology-dry-runs") - 1.7).abs() < 0.01,
        "{}",
        st.api_writes_per_s
    );
    assert!(
        (st.api_reads_per_s - bg("kcp-uncached-lists") - 1.7).abs() < 0.01,
        "{}",
        st.api_reads_per_s
    );
    // Resyncs keep every controller reconciling: each cached object once per sync
    // period (10m in the Small tier) at least.
    let cluster = st.reconciles_per_s["cluster"];
    assert!(
        cluster >= 2.0 / 600.0 * 0.9,
        "cluster reconciles {cluster}/s"
    );
    assert_eq!(st.pc_requests_per_s, 0.0, "no VM work once every VM runs");
}

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

/// Issue 11, item 8: under NOSPACE every Lease renewal fails. Once a manager's renewals
/// have failed for longer than its renew deadline it loses the leadership and exits; the
/// new process waits for the old Lease to expire, cannot acquire it (the alarm still
/// refuses writes) and stands by. So every manager restarts exactly once; with a renew
/// deadline longer than the alarm lasts in the run, none does.
#[test]
fn nospace_longer_than_the_renew_deadline_restarts_every_manager_once() {
    let r = report(&make_plan(
        Tier::Small,
        20,
        5,
        3,
        &["etcd.quota-backend-bytes=1Mi"],
    ));
    let at = r.etcd.nospace_at_s.expect("NOSPACE alarm raised");
    // The run goes on 30 minutes after the alarm: far past every renew deadline.
    assert!(r.fleet.simulated_s - at > 30.0 * 60.0 - 15.0);
    for m in &r.managers {
        assert_eq!(m.leader_elections_lost, 1, "{}", m.name);
        assert_eq!(m.restarts, 0, "{}", m.name);
    }
    let patient = [
        "etcd.quota-backend-bytes=1Mi",
        "capi-controller-manager.leader-elect-lease-duration=3h",
        "capi-controller-manager.leader-elect-renew-deadline=2h",
    ];
    let r = report(&make_plan(Tier::Small, 20, 5, 3, &patient));
    assert_eq!(r.managers[0].leader_elections_lost, 0);
    assert_eq!(r.managers[1].leader_elections_lost, 1);
}
