//! The management-cluster model end to end (issue 3): each test runs a small fleet and
//! checks a property that follows from the real mechanisms, not from the model's output.

mod common;

use std::collections::BTreeMap;

use common::{assert_live_bytes_are_the_objects, make_plan, report};
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
