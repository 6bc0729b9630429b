//! Issue 20, the federation hub: each test feeds the hub a fleet of members (and
//! propagations) and checks a count or a rate that follows from Karmada's mechanisms:
//! objects per member, Lease renewals at the agent's period, a binding and a Work per
//! target, a token bucket's rate, a single worker's service time.

use models::dist::Dist;
use models::federation::{self, HubInput, HubReport, MemberSpan, Propagation};
use models::scenario::config::{ModelConfig, Qps};
use models::scenario::federation::SyncMode;
use models::scenario::presets::{self, Tier};
use sim_core::RngStreams;

/// The Extreme preset's hub in `mode`, with a constant member latency of `latency_s`.
fn config(mode: SyncMode, latency_s: f64) -> ModelConfig {
    let mut cfg = presets::resolve(Tier::Extreme, &[]).unwrap();
    cfg.federation.mode = mode;
    cfg.federation.member_api_latency = Dist::Constant(latency_s);
    cfg
}

/// `n` members ready one every 0.1 s from t = 0, staying; `propagations`; run to `until_s`.
fn run(cfg: &ModelConfig, n: u32, propagations: Vec<Propagation>, until_s: f64) -> HubReport {
    let members = (0..n)
        .map(|i| MemberSpan {
            ready_s: f64::from(i) * 0.1,
            leave_s: None,
        })
        .collect();
    let input = HubInput {
        members,
        propagations,
        until_s,
    };
    federation::simulate(cfg, &input, &RngStreams::new(7, 0)).unwrap()
}

fn writes(r: &HubReport, key: &str) -> u64 {
    r.writes_by_verb.get(key).copied().unwrap_or(0)
}

fn live(r: &HubReport, kind: &str) -> u64 {
    r.objects_live[kind]
}

/// Registration (pull mode): each member gets one Cluster (created by its agent), one
/// execution namespace and one Lease; the cluster controller updates its Cluster three
/// times (NotReady taint, finalizer, taint removed once its status reports). Its agent
/// renews the Lease every 40 s × 0.25 = 10 s plus up to 4 % jitter after the previous
/// renewal returned: over T seconds between ⌊T / 10.4⌋ and ⌈T / 10⌉ renewals a member.
#[test]
fn pull_members_register_once_and_renew_their_lease_every_ten_seconds() {
    let cfg = config(SyncMode::Pull, 0.02);
    let (n, t) = (200u32, 600.0);
    let r = run(&cfg, n, Vec::new(), t);
    let n64 = u64::from(n);
    assert_eq!(writes(&r, "Cluster/create"), n64);
    assert_eq!(writes(&r, "Namespace/create"), n64);
    assert_eq!(writes(&r, "Cluster/update"), 3 * n64);
    assert_eq!(live(&r, "Cluster"), n64);
    assert_eq!(live(&r, "Namespace"), n64);
    // A Lease per member, a leader-election Lease per agent, the controller-manager's and
    // the scheduler's.
    assert_eq!(live(&r, "Lease"), 2 * n64 + 2);
    assert_eq!(r.members_peak, n);
    // Member i joined at about 0.1 i s: it renews over about T − 0.1 i − registration.
    let lease_renewals = writes(&r, "Lease/create") + writes(&r, "Lease/update");
    let leader = lease_renewals - r.heartbeat.count; // the rest are leader-election renewals
    let life: f64 = (0..n).map(|i| t - f64::from(i) * 0.1 - 1.0).sum();
    let (lo, hi) = (life / 10.45 - f64::from(n), life / 10.0 + f64::from(n));
    let beats = r.heartbeat.count as f64;
    assert!(
        lo <= beats && beats <= hi,
        "{beats} renewals, expected {lo:.0}..{hi:.0}"
    );
    // Leader election: every 2 s after the previous renewal returned.
    let (lo, hi) = (
        life / 2.2 - f64::from(n),
        (life + 2.0 * t) / 2.0 + f64::from(n),
    );
    assert!(
        (lo..=hi).contains(&(leader as f64)),
        "{leader} leader renewals, {lo:.0}..{hi:.0}"
    );
    assert!(r.heartbeat.p99_s.unwrap() < 1.0, "{:?}", r.heartbeat);
    assert_eq!(r.lease_expiries, 0);
}

/// Push mode has no member Lease (Karmada: "no need to set up lease syncing for Push
/// clusters"); the controller-manager's probe is the heartbeat, every status collection
/// is a probe, and with no status change the Cluster's status is written exactly once
/// (its first report).
#[test]
fn push_members_have_no_lease_and_write_their_status_only_when_it_changes() {
    let mut cfg = config(SyncMode::Push, 0.02);
    cfg.federation.status_change_fraction = 0.0;
    let n = 100u32;
    let r = run(&cfg, n, Vec::new(), 300.0);
    assert_eq!(live(&r, "Lease"), 2, "only the leader-election Leases");
    assert_eq!(writes(&r, "Cluster/status"), u64::from(n));
    assert_eq!(writes(&r, "Cluster/create"), u64::from(n));
    // Probes: each collection makes `member-calls-per-status` calls, the first of which
    // is the heartbeat.
    let calls = u64::from(cfg.federation.member_calls_per_status);
    assert_eq!(r.member_calls, r.heartbeat.count * calls);
    // Every 10 s plus the collection's own time (4 calls of 20 ms): about 27 per member.
    let per_member = r.heartbeat.count as f64 / f64::from(n);
    assert!(
        (26.0..=30.0).contains(&per_member),
        "{per_member} probes a member"
    );
}

/// Propagating one resource to every one of N members makes exactly one
/// ResourceBinding and N Works, applies the resource on each member once, and writes
/// each Work's status 2 + `status-reflections` times (Dispatching, Applied, each
/// reflected change).
#[test]
fn one_resource_to_n_members_makes_one_binding_and_n_works() {
    let cfg = config(SyncMode::Pull, 0.02);
    let n = 150u32;
    let p = Propagation {
        at_s: 60.0,
        resources: 1,
        fraction: 1.0,
    };
    let r = run(&cfg, n, vec![p], 120.0);
    let n64 = u64::from(n);
    assert_eq!(writes(&r, "ResourceBinding/create"), 1);
    assert_eq!(writes(&r, "Template/create"), 1);
    assert_eq!(writes(&r, "PropagationPolicy/create"), 1);
    assert_eq!(writes(&r, "Work/create"), n64);
    assert_eq!(live(&r, "Work"), n64);
    assert_eq!(r.member_applies, n64);
    assert_eq!(r.distribution.count, n64);
    let reflections = u64::from(cfg.federation.status_reflections);
    assert_eq!(writes(&r, "Work/status"), n64 * (2 + reflections));
    // The scheduler: its spec patch, its status patch, and the status patch of the pass
    // the new generation brings.
    assert_eq!(writes(&r, "ResourceBinding/update"), 1);
    // Each binding-status reconcile writes the binding's status once.
    let aggregations = r
        .controllers
        .iter()
        .find(|c| c.name == "binding-status")
        .unwrap()
        .reconciles;
    assert_eq!(writes(&r, "ResourceBinding/status"), 2 + aggregations);
    assert_eq!(writes(&r, "Template/status"), aggregations);
    assert_eq!(r.distribution_targets, n64);
    assert_eq!(r.distribution_reached, n64);
}

/// Push mode, one resource to N members: every write of the controller-manager shares
/// its 40-QPS bucket, so the last members wait for the tokens of everything before
/// them and the distribution latency grows with N. With the bucket off and workers
/// to spare, latency still grows, but only by the binding controller's sequential Work
/// creates (one write's round trip each, Karmada's ensureWork loop).
#[test]
fn distribution_latency_grows_with_members_under_the_qps_limit_only() {
    let p = |_| Propagation {
        at_s: 200.0,
        resources: 1,
        fraction: 1.0,
    };
    let limited = config(SyncMode::Push, 0.02);
    let mut ample = limited.clone();
    let cm = &mut ample.federation.karmada_controller_manager;
    cm.kube_api_qps = Qps(None);
    cm.concurrent_work_syncs = 1000;
    cm.concurrent_cluster_syncs = 1000;
    let p99 = |cfg: &ModelConfig, n: u32| {
        let r = run(cfg, n, vec![p(())], 260.0);
        assert_eq!(r.distribution.count, u64::from(n));
        r.distribution.p99_s.unwrap()
    };
    let (small, large) = (p99(&limited, 50), p99(&limited, 400));
    // At least the Work creates and their two status writes through 40 tokens a second.
    let floor = (0.99 * 400.0 * 3.0 - 60.0) / 40.0;
    assert!(
        large >= floor,
        "limited: p99 {large:.1} s at 400 members, floor {floor:.1} s"
    );
    assert!(
        large > 4.0 * small,
        "limited: {small:.2} s at 50, {large:.2} s at 400"
    );
    let (small, large) = (p99(&ample, 50), p99(&ample, 400));
    // 350 more sequential creates of at most 50 ms each.
    assert!(
        large < small + 350.0 * 0.05,
        "ample: {small:.2} s at 50, {large:.2} s at 400"
    );
    assert!(
        large < floor / 2.0,
        "ample {large:.2} s against the limited floor {floor:.1} s"
    );
}

/// One execution worker (push mode, bucket off): each Work's reconcile holds it for at
/// least its member call (0.1 s), so N Works take at least N × 0.1 s: the 99th
/// percentile of the distribution is at least 0.99 N × 0.1 s.
#[test]
fn a_single_execution_worker_serves_the_works_one_after_another() {
    let mut cfg = config(SyncMode::Push, 0.1);
    let cm = &mut cfg.federation.karmada_controller_manager;
    cm.kube_api_qps = Qps(None);
    cm.concurrent_work_syncs = 1;
    cm.concurrent_cluster_syncs = 1000;
    let n = 200u32;
    let p = Propagation {
        at_s: 100.0,
        resources: 1,
        fraction: 1.0,
    };
    let r = run(&cfg, n, vec![p], 200.0);
    let p99 = r.distribution.p99_s.unwrap();
    assert!(p99 >= 0.99 * f64::from(n) * 0.1 - 0.1, "p99 {p99:.1} s");
    let exec = r
        .controllers
        .iter()
        .find(|c| c.name == "execution")
        .unwrap();
    assert_eq!(exec.workers, 1);
    assert!(exec.reconciles >= u64::from(n));
}

/// Pull mode: the hub's requests are the agents' together, each agent's bounded by its
/// own bucket. Unlimited, an agent renews its Lease every ~10.2 s and its leader Lease
/// every ~2 s; at 0.05 QPS (burst 1) it gets at most 1 + 0.05 T writes through.
#[test]
fn pull_mode_requests_are_the_agents_each_bounded_by_its_qps() {
    let n = 100u32;
    let t = 400.0;
    let mut cfg = config(SyncMode::Pull, 0.02);
    cfg.federation.status_change_fraction = 0.0;
    cfg.federation.karmada_agent.kube_api_qps = Qps(Some(0.05));
    cfg.federation.karmada_agent.kube_api_burst = 1;
    let r = run(&cfg, n, Vec::new(), t);
    let agent_writes = writes(&r, "Lease/update")
        + writes(&r, "Lease/create")
        + writes(&r, "Cluster/create")
        + writes(&r, "Cluster/status");
    // The controller-manager's and the scheduler's leader renewals are not the agents'.
    let others = 2.0 * t / 2.0 + 4.0;
    let bound = f64::from(n) * (1.0 + 0.05 * t) + others;
    assert!(
        (agent_writes as f64) <= bound,
        "{agent_writes} writes through {n} agents at 0.05 QPS, bound {bound:.0}"
    );
    // Unlimited: each agent writes its Lease ~every 10.2 s and its leader Lease ~every 2 s.
    cfg.federation.karmada_agent.kube_api_qps = Qps(None);
    let r = run(&cfg, n, Vec::new(), t);
    let lease = (writes(&r, "Lease/update") + writes(&r, "Lease/create")) as f64;
    let life: f64 = (0..n).map(|i| t - f64::from(i) * 0.1).sum();
    let expected = life / 10.2 + life / 2.0;
    assert!(
        (lease - expected).abs() < 0.06 * expected,
        "{lease} Lease writes, expected about {expected:.0}"
    );
}

/// A member that leaves takes its Cluster, execution namespace, Lease and Works with it;
/// the propagation counts it as settled.
#[test]
fn a_leaving_member_takes_its_objects_with_it() {
    let cfg = config(SyncMode::Pull, 0.02);
    let n = 60u32;
    let members = (0..n)
        .map(|i| MemberSpan {
            ready_s: f64::from(i) * 0.1,
            leave_s: Some(400.0 + f64::from(i)),
        })
        .collect();
    let p = Propagation {
        at_s: 60.0,
        resources: 3,
        fraction: 1.0,
    };
    let input = HubInput {
        members,
        propagations: vec![p],
        until_s: 600.0,
    };
    let r = federation::simulate(&cfg, &input, &RngStreams::new(3, 0)).unwrap();
    assert_eq!(writes(&r, "Work/create"), 3 * u64::from(n));
    for kind in ["Cluster", "Namespace", "Work"] {
        assert_eq!(live(&r, kind), 0, "{kind} left after every member left");
        assert_eq!(writes(&r, &format!("{kind}/delete")), r.objects_peak[kind]);
    }
    // The leader-election Leases stay: the agents' and two.
    assert_eq!(live(&r, "Lease"), u64::from(n) + 2);
}

/// A member whose deletion starts before its registration has committed leaves nothing
/// behind either (the cluster controller deletes only what it made).
#[test]
fn a_member_leaving_while_it_registers_leaves_nothing() {
    let cfg = config(SyncMode::Push, 0.02);
    let members = (0..40)
        .map(|i| MemberSpan {
            ready_s: f64::from(i),
            leave_s: Some(f64::from(i) + 0.001),
        })
        .collect();
    let input = HubInput {
        members,
        propagations: Vec::new(),
        until_s: 120.0,
    };
    let r = federation::simulate(&cfg, &input, &RngStreams::new(5, 0)).unwrap();
    for kind in ["Cluster", "Namespace", "Work"] {
        assert_eq!(live(&r, kind), 0, "{kind} left");
    }
    assert_eq!(writes(&r, "Cluster/create"), 40);
}

/// End to end: an Extreme-tier run over two management clusters feeds the hub every
/// workload cluster it made ready; a propagation, started when both management clusters
/// reached it, reaches each of them, and the delete that ends the workload takes every
/// member's objects off the hub. (A management cluster does not wait for the hub's
/// propagation: the steady window keeps the delete from overtaking it.)
#[test]
fn a_run_registers_every_ready_cluster_and_its_delete_unjoins_them() {
    use models::scenario::operations::{AfterOp, FleetSpec};
    let cfg = presets::resolve(Tier::Extreme, &[]).unwrap();
    let mut plan = models::run::RunPlan::new(cfg, "extreme", FleetSpec::all_at_once(30, 2, 1), 1);
    plan.management_clusters = 2;
    plan.after = vec![
        AfterOp::Propagate {
            resources: 2,
            fraction: 1.0,
        },
        AfterOp::Steady(sim_core::SimDuration::from_mins(10)),
        AfterOp::Delete,
    ];
    let r = models::run::run(&plan).unwrap().report;
    assert_eq!(r.fleet.clusters_ready, 30);
    let hub = r.federation.as_ref().expect("the Extreme preset has a hub");
    assert_eq!(writes(hub, "Cluster/create"), 30);
    assert_eq!(hub.objects_peak["Cluster"], 30);
    assert_eq!(writes(hub, "Work/create"), 60);
    assert_eq!(hub.distribution.count, 60);
    for kind in ["Cluster", "Namespace", "Work"] {
        assert_eq!(live(hub, kind), 0, "{kind} left after the delete");
    }
    let names: Vec<&str> = r.checklist.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"Federation: resource distribution latency < 2s p99"));
    assert!(r.bom.lines.iter().any(|l| l.item == "federation hub nodes"));
}

/// The hub's etcd is one more etcd of the management layer: a quota too small for its
/// Leases' history fails the checklist's etcd items though the management cluster's
/// own etcd is far from its quota.
#[test]
fn the_hubs_etcd_counts_in_the_checklist() {
    use models::scenario::operations::FleetSpec;
    use models::units::Bytes;
    let mut cfg = presets::resolve(Tier::Extreme, &[]).unwrap();
    cfg.federation.control_plane.etcd_quota_backend_bytes = Bytes(4 << 20);
    let plan = models::run::RunPlan::new(cfg, "extreme", FleetSpec::all_at_once(30, 2, 1), 1);
    let r = models::run::run(&plan).unwrap().report;
    let hub = r.federation.as_ref().unwrap();
    assert!(hub.etcd_nospace_at_s.is_some(), "a 4 MiB hub etcd fills up");
    assert!(r.etcd.nospace_at_s.is_none());
    assert!(r.etcd.db_peak_fraction < 0.75);
    let item = |name: &str| r.checklist.iter().find(|c| c.name == name).unwrap();
    assert!(!item("No etcd alarms triggered").pass);
    let size = item("etcd database size < 75% of quota");
    assert!(!size.pass && size.value > 0.75, "{size:?}");
}

/// Members that leave while a propagation is under way: the Works not made yet are not
/// made (a create in a terminating namespace is refused), those made are deleted, every
/// target settles, so the hub stops when the management clusters' run does, and nothing
/// is left.
#[test]
fn members_leaving_during_a_propagation_settle_it_and_leave_nothing() {
    let cfg = config(SyncMode::Push, 0.02);
    let n = 300u32;
    let members = (0..n)
        .map(|i| MemberSpan {
            ready_s: f64::from(i) * 0.1,
            leave_s: Some(65.0 + f64::from(i) * 0.01),
        })
        .collect();
    let p = Propagation {
        at_s: 60.0,
        resources: 4,
        fraction: 1.0,
    };
    let until = 400.0;
    let input = HubInput {
        members,
        propagations: vec![p],
        until_s: until,
    };
    let r = federation::simulate(&cfg, &input, &RngStreams::new(9, 0)).unwrap();
    assert!(
        r.simulated_s <= until + 60.0,
        "ran on to {} s",
        r.simulated_s
    );
    for kind in ["Cluster", "Namespace", "Work"] {
        assert_eq!(live(&r, kind), 0, "{kind} left");
    }
    assert_eq!(writes(&r, "Work/create"), writes(&r, "Work/delete"));
    assert!(
        writes(&r, "Work/create") < 4 * u64::from(n),
        "some Works never made"
    );
    assert!(r.distribution_reached < r.distribution_targets);
}

/// Thousands of members joining faster than the controller-manager's 40 QPS admits
/// their writes: the cluster controller's queue fills with members whose status writes
/// woke it with nothing to do, and its workers go through them one after another (a
/// reconcile with nothing to do once nested a call per queued key, and overflowed the
/// stack here).
#[test]
fn thousands_of_members_run_without_nesting() {
    let cfg = config(SyncMode::Pull, 0.02);
    let n = 5000u32;
    let members = (0..n)
        .map(|i| MemberSpan {
            ready_s: f64::from(i) * 0.05,
            leave_s: None,
        })
        .collect();
    let input = HubInput {
        members,
        propagations: Vec::new(),
        until_s: 900.0,
    };
    let r = federation::simulate(&cfg, &input, &RngStreams::new(2, 0)).unwrap();
    assert_eq!(writes(&r, "Cluster/create"), u64::from(n));
    let cluster = r.controllers.iter().find(|c| c.name == "cluster").unwrap();
    assert!(cluster.depth_peak > 1000.0, "depth {}", cluster.depth_peak);
    assert!(cluster.reconciles >= u64::from(n), "{}", cluster.reconciles);
}

/// A binding too large for etcd's 1.5 MiB request limit is refused: its resource reaches
/// no member, the hub stops with the management clusters' run instead of waiting a day,
/// and the distribution item fails for the targets it left unreached.
#[test]
fn an_oversized_binding_is_refused_and_fails_the_distribution() {
    use models::units::Bytes;
    let mut cfg = config(SyncMode::Pull, 0.02);
    cfg.federation.object_sizes.binding_per_member = Bytes(16 << 10);
    let p = Propagation {
        at_s: 60.0,
        resources: 1,
        fraction: 1.0,
    };
    let r = run(&cfg, 200, vec![p], 120.0);
    assert!(r.etcd_oversized_writes >= 1);
    assert_eq!(writes(&r, "Work/create"), 0);
    assert_eq!(r.distribution_reached, 0);
    assert_eq!(r.distribution_targets, 200);
    assert!(r.simulated_s < 200.0, "ran on to {} s", r.simulated_s);
    let th = presets::resolve(Tier::Extreme, &[]).unwrap().thresholds;
    let items = models::run::report::federation_checklist(&r, &th, true);
    assert!(!items[0].pass, "{:?}", items[0]);
}
