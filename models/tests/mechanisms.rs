//! Single mechanisms of the model, each checked against a figure derived from the real
//! component's behaviour (issue 19, item 3: an audit found that each of these could be
//! broken with every other test still green). Where timing matters, every latency is a
//! constant so that the reconciles interleave the same way in every run.

use std::collections::BTreeMap;

use models::controllers::workqueue::{WorkQueue, WorkQueueConfig};
use models::kinds::Controller;
use models::run::report::{self, RunReport};
use models::run::{Finished, RunPlan, run, simulate};
use models::scenario::config::QueueKind;
use models::scenario::faults::Fault;
use models::scenario::operations::{AfterOp, FleetSpec};
use models::scenario::presets::{self, Override, Tier};
use sim_core::{SimDuration, SimTime};

fn make_plan(tier: Tier, clusters: u32, machines: u32, cp: u32, sets: &[&str]) -> RunPlan {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    RunPlan::new(
        presets::resolve(tier, &overrides).unwrap(),
        tier.name(),
        FleetSpec::all_at_once(clusters, machines, cp),
        1,
    )
}

fn report(plan: &RunPlan) -> RunReport {
    run(plan).expect("run completes").report
}

fn reconciles(r: &RunReport, controller: &str) -> u64 {
    r.controllers
        .iter()
        .filter(|c| c.name == controller)
        .map(|c| c.reconciles)
        .sum()
}

/// Every latency, duration and CPU variation of the model as a constant (the medians of
/// the defaults, roughly), so that a run's reconciles interleave deterministically; the
/// load slowdown of Prism Central's tasks off, so a task takes exactly its latency.
const CONSTANT: &[&str] = &[
    "kube-apiserver.write-processing={constant: 0.003}",
    "kube-apiserver.read-processing={constant: 0.001}",
    "kube-apiserver.write-cpu={constant: 0.001}",
    "etcd.disk=custom",
    "etcd.fsync={constant: 0.002}",
    "etcd.raft-rtt={constant: 0.001}",
    "prism-central.api-latency={constant: 0.15}",
    "prism-central.vm-create={constant: 60}",
    "prism-central.vm-power-on={constant: 8}",
    "prism-central.vm-update={constant: 2}",
    "prism-central.vm-delete={constant: 20}",
    "prism-central.load-slowdown=0",
    "machine-boot.control-plane-init={constant: 180}",
    "machine-boot.control-plane-join={constant: 150}",
    "machine-boot.worker-join={constant: 90}",
    "costs.cpu.variation={constant: 1}",
    "costs.cpu.rsa-keygen={constant: 0.08}",
    "workload-clusters.apiserver-latency={constant: 0.005}",
];

fn constant_plan(clusters: u32, machines: u32, cp: u32, more: &[&str]) -> RunPlan {
    let sets: Vec<&str> = CONSTANT.iter().chain(more).copied().collect();
    make_plan(Tier::Small, clusters, machines, cp, &sets)
}

/// Status patches of one cluster with 1 control-plane machine and 1 worker, per kind,
/// exactly (docs/model.md, "What each reconcile writes"). With constant latencies the
/// reconciles interleave the same way every time, so each controller sees each state its
/// status reports once. Each count below follows from its controller's recipe:
/// `patch.Helper` patches status only when what the controller computes changed.
#[test]
fn one_cluster_makes_exactly_the_recipes_status_patches() {
    let r = report(&constant_plan(1, 2, 1, &[]));
    assert_eq!((r.fleet.clusters_ready, r.fleet.machines_running), (1, 2));
    // Ready before the first resync (9 min at the earliest): no resync in the counts.
    assert!(r.fleet.time_to_ready_s.unwrap() < 540.0);
    let w = |k: &str| r.writes_by_verb.get(k).copied().unwrap_or(0);
    let exact: BTreeMap<&str, u64> = [
        // The topology controller's TopologyReconciled (1); the Cluster controller's
        // Paused (1), then one per status (phase, InfrastructureReady,
        // ControlPlaneInitialized, running control-plane machines, running workers) it
        // sees: Pending (its first pass after Paused comes before the topology's refs,
        // which follow four creates), Provisioning (the refs), InfrastructureReady (the
        // pass that also patches the endpoint), Provisioned (the endpoint),
        // ControlPlaneInitialized, 1 control-plane machine running, 1 worker running (7).
        ("Cluster/status", 2 + 7),
        // CAPX: conditions, then ready, in its one provisioning pass.
        ("NutanixCluster/status", 2),
        // Paused; waiting for the infrastructure (nothing created, no version); the first
        // Machine created (version reported; the creating pass still saw none);
        // initialized; 1 ready.
        ("KubeadmControlPlane/status", 5),
        // Paused; no MachineSet (the pass that creates it); the MachineSet; 1 Machine
        // created; 1 running.
        ("MachineDeployment/status", 5),
        // Paused; the preflight failing (KCP has no version yet: it waits for the
        // NutanixCluster's Prism Central calls); the creating pass (0 Machines in its
        // cache); 1 Machine; 1 running.
        ("MachineSet/status", 5),
        // Per Machine: Paused; its first status (bootstrap and infrastructure objects
        // not yet owned; the same pass patches both owner refs); both owned (the pass the
        // owner patches bring back); bootstrap ready; infrastructure ready; node ref
        // (Running). 6 × 2.
        ("Machine/status", 12),
        // The first control-plane machine's config: Paused, then conditions and ready in
        // its one init pass (3). The worker's: Paused, WaitingForControlPlane (once, while
        // the control plane is not initialized), then conditions and ready (4).
        ("KubeadmConfig/status", 3 + 4),
        // Per NutanixMachine: the conditions with the finalizer; the reason it waits for
        // (bootstrap data), once; then conditions and ready after the VM's tasks. 4 × 2.
        ("NutanixMachine/status", 8),
    ]
    .into_iter()
    .collect();
    for (key, want) in &exact {
        assert_eq!(w(key), *want, "{key}");
    }
}

/// KCP's scale-up preflight (`preflightChecks`): a control-plane Machine is created only
/// once every existing one has its node and is healthy, so each of a cluster's
/// control-plane Machines is created after the previous one runs. At 30 clusters the
/// KCP reconciles interleave with many more Machine reconciles than at 2.
#[test]
fn kcp_creates_each_control_plane_machine_after_the_previous_runs_at_30_clusters() {
    let Finished { world, .. } = simulate(&make_plan(Tier::Small, 30, 4, 3, &[])).unwrap();
    assert_one_control_plane_machine_at_a_time(&world, 3);
}

/// The same property with capi-controller-manager slowed by its rate limiter (2 writes
/// per second for 30 clusters): a node that has joined waits seconds for its Machine to
/// report Running, and KCP's 15 s requeues and watches bring KCP back meanwhile. A
/// preflight that checked only the node would create the next Machine in that gap.
#[test]
fn kcp_waits_for_the_previous_machine_to_run_not_only_for_its_node() {
    let slow = ["capi-controller-manager.kube-api-qps=2"];
    let Finished { world, .. } = simulate(&make_plan(Tier::Small, 30, 4, 3, &slow)).unwrap();
    assert_one_control_plane_machine_at_a_time(&world, 3);
}

fn assert_one_control_plane_machine_at_a_time(world: &models::world::World, cp: usize) {
    let mut checked = 0;
    for (ci, c) in world.clusters.iter().enumerate() {
        let first = c.first_machine as usize;
        for i in 1..cp {
            let created = world.machines[first + i].created_at.expect("created");
            for j in 0..i {
                let ready = world.machines[first + j].running_at.expect("ran");
                assert!(
                    created >= ready,
                    "cluster {ci}: CP {i} created at {created:?}, before CP {j} ran at {ready:?}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, world.clusters.len() * (cp - 1));
}

/// Informer resyncs (controller-runtime `SyncPeriod`): every period × a factor drawn in
/// [0.9, 1.0) for each period, each informer redelivers every cached object, and its
/// own controller reconciles each (CAPI's mapped watches drop resyncs). In an idle fleet
/// nothing else reaches the Cluster, MachineDeployment, KCP and MachineSet controllers,
/// so over a window of W seconds each reconciles its N objects n times, n the resyncs of
/// its informer in the window: gaps in [0.9 P, P) give n ≥ ⌊W/P⌋ and
/// n ≤ ⌊W/(0.9 P)⌋ + 1, and n ≈ W/(0.95 P) on average.
#[test]
fn an_idle_fleet_reconciles_each_object_once_per_jittered_sync_period() {
    let n_clusters = 2.0;
    let mut plan = make_plan(Tier::Small, 2, 2, 1, &[]);
    plan.after = vec![AfterOp::Steady(SimDuration::from_hours(2))];
    let period = 600.0; // the Small tier's sync-period, every CAPI manager
    let r = report(&plan);
    let st = r.steady.expect("a steady window");
    let w = st.duration_s;
    let (lo, hi) = ((w / period).floor(), (w / (0.9 * period)).floor() + 1.0);
    let mut resyncs = Vec::new();
    // Besides: a MachineSet's 15 s requeue until its workers run may still be pending
    // when the fleet turns ready, and fire once inside the window (client-go's delaying
    // queue keeps an `AddAfter` past a later successful reconcile). KCP's 20 s requeue
    // ends with the control plane, long before the workers.
    for (ctrl, late) in [
        ("cluster", 0.0),
        ("machinedeployment", 0.0),
        ("kubeadmcontrolplane", 0.0),
        ("machineset", 1.0),
    ] {
        let count = (st.reconciles_per_s[ctrl] * w).round();
        assert!(
            count >= lo * n_clusters && count <= (hi + late) * n_clusters,
            "{ctrl}: {count} reconciles of {n_clusters} objects in {w} s with a {period} s \
             sync period, expected {lo}..={hi} resyncs each"
        );
        if late == 0.0 {
            assert_eq!(count % n_clusters, 0.0, "{ctrl}: {count}");
            resyncs.push(count / n_clusters);
        }
    }
    // Independent informers: their mean lies near W/(0.95 P) (each gap has sd 0.029 P,
    // so n has sd ≈ 0.4 here).
    let mean = w / (0.95 * period);
    let got = resyncs.iter().sum::<f64>() / resyncs.len() as f64;
    assert!(
        (got - mean).abs() <= 1.0,
        "{resyncs:?} resyncs per informer, expected {mean:.2} on average"
    );
}

/// CAPX's NutanixMachine requeues every 5 s while a task of its VM is pending
/// (`RequeueAfter: 5s` in `getOrCreateVM`'s pending-task path). A restarted CAPX finds
/// its VM create still running in Prism Central: the new process's reconciles of that
/// NutanixMachine come every 5 s until the task ends. With a 1200 s create started in
/// the first seconds and CAPX restarted at 100 s (back 10 s later, leading 15 s after
/// its last renewal at the latest, relisting), the task is pending for W ∈ [1070, 1130] s
/// of the new process: W/5 more reconciles than without the restart, give or take the
/// relist's one per NutanixMachine.
#[test]
fn a_restarted_capx_rechecks_a_pending_vm_create_every_5_seconds() {
    let sets = ["prism-central.vm-create={constant: 1200}"];
    let mut plan = constant_plan(1, 2, 1, &sets);
    let baseline = reconciles(&report(&plan), "nutanixmachine");
    plan.faults = vec![Fault::ControllerRestart {
        manager: 3,
        at: SimDuration::from_secs(100),
        every: None,
    }];
    let r = report(&plan);
    assert_eq!(r.fleet.machines_running, 2);
    let extra = reconciles(&r, "nutanixmachine") as f64 - baseline as f64;
    let (lo, hi) = (1070.0 / 5.0 - 1.0, 1130.0 / 5.0 + 3.0);
    assert!(
        (lo..=hi).contains(&extra),
        "{extra} more NutanixMachine reconciles, expected {lo}..={hi}"
    );
}

/// The API server compacts etcd every `--etcd-compaction-interval` (5 min) to the
/// revision of its previous run, so at time t the history holds exactly the revisions
/// superseded after the compaction before the last: within the last L = t − (⌊t/300⌋ −
/// 1)·300 ∈ [300, 600) s. In a steady fleet only the Lease renewals write (three
/// managers every 2 s, KCP every 5 s; docs/model.md), each superseding a 512 B Lease
/// plus the 256 B revision overhead. The Events of the fleet's creation expired (1 h TTL)
/// long before the window's end.
#[test]
fn compaction_keeps_only_the_history_since_the_previous_compaction() {
    let mut plan = make_plan(Tier::Small, 2, 2, 1, &[]);
    plan.after = vec![AfterOp::Steady(SimDuration::from_hours(2))];
    let Finished { world, now, .. } = simulate(&plan).unwrap();
    let cfg = &plan.config;
    let interval = cfg.etcd.compaction_interval.0;
    let t = now.as_secs_f64();
    let l = t - ((t / interval).floor() - 1.0) * interval;
    let entry = cfg.costs.object_size.lease.0 + cfg.etcd.revision_overhead.0;
    let history = world.store.history_bytes();
    assert_eq!(history % entry, 0, "only Lease revisions: {history}");
    let renewals = history / entry;
    // Each manager's renewals in a window of L s: ⌊L/period⌋ or one more, and one more
    // again for a write caught in flight at either edge.
    let lo: f64 = [2.0, 2.0, 2.0, 5.0]
        .iter()
        .map(|p| (l / p).floor() - 1.0)
        .sum();
    let hi: f64 = [2.0, 2.0, 2.0, 5.0]
        .iter()
        .map(|p| (l / p).ceil() + 1.0)
        .sum();
    assert!(
        (lo..=hi).contains(&(renewals as f64)),
        "{renewals} revisions in history over the last {l} s, expected {lo}..={hi}"
    );
    // The database then holds the live objects, that history and the pages compaction
    // freed, and its size has not grown over the steady window.
    assert_eq!(
        world.store.db_size(),
        world.store.live_bytes() + history + world.store.free_bytes()
    );
}

/// The checklist's "VM creation time" runs from the create task's submission to its
/// end: the wait for a task slot plus the task (docs/model.md, Prism Central). With one
/// slot and a constant 600 s create, N VM creates submitted within the first's 600 s run
/// one after another (the first VMs' update and power-on tasks queue behind them): the
/// k-th to start ends k × 600 s after the first's submission, so its create time lies in
/// ((k − 1) × 600, k × 600]; the first takes exactly 600 s.
#[test]
fn vm_create_time_counts_the_wait_for_a_task_slot() {
    let (n, create) = (10, 600.0);
    let sets = [
        "prism-central.max-concurrent-tasks=1",
        "prism-central.vm-create={constant: 600}",
    ];
    let plan = constant_plan(n, 1, 1, &sets);
    let Finished { world, .. } = simulate(&plan).unwrap();
    let h = &world.metrics.vm_create;
    assert_eq!(h.count(), u64::from(n));
    assert_eq!(h.min().as_secs_f64(), create);
    let within = |k: f64, v: f64| v > (k - 1.0) * create && v <= k * create;
    let max = h.max().as_secs_f64();
    assert!(within(f64::from(n), max), "the last create took {max} s");
    // The mean is that of ((k − 1) × 600, k × 600], k = 1..N.
    let mean = h.mean_secs();
    let top = create * f64::from(n + 1) / 2.0;
    assert!(mean > top - create && mean <= top, "mean {mean} s");
    // The report's p95 is the ⌈0.95 N⌉-th (HdrHistogram's rank), within its 0.1 %.
    let r = report(&plan);
    let k = (0.95 * f64::from(n)).ceil();
    let p95 = r.prism_central.vm_create_p95_s;
    assert!(within(k, p95 / 1.001) || within(k, p95), "p95 {p95} s");
}

/// The checklist's work-queue item is the guide's `CAPIWorkQueueBacklog` alert: depth
/// above 100 `for: 5m`, so it fires on one unbroken stretch of 5 minutes, not on several
/// shorter ones adding up to more. Checked on the report built from a finished world
/// whose Cluster queue is given a known depth history.
#[test]
fn the_workqueue_depth_alert_needs_one_unbroken_stretch_of_5_minutes() {
    let plan = make_plan(Tier::Small, 1, 2, 1, &[]);
    let t = SimTime::from_secs;
    // Two 3-minute stretches (6 minutes above in all), then one of 6 minutes.
    for (stretches, longest, fires) in [
        (&[(0, 180), (181, 361)][..], 180.0, false),
        (&[(0, 360)][..], 360.0, true),
    ] {
        let Finished {
            mut world,
            now,
            steps,
        } = simulate(&plan).unwrap();
        assert!(now >= t(361));
        let cfg = plan.config.clone();
        let threshold = cfg.thresholds.workqueue_depth;
        let ct = world
            .ctrls
            .iter_mut()
            .find(|c| c.ctrl == Controller::Cluster)
            .unwrap();
        let mut q = WorkQueue::new(WorkQueueConfig::default_for(QueueKind::Legacy), threshold);
        let keys = threshold as u32 + 1;
        for &(from, to) in stretches {
            for k in 0..keys {
                q.add(k, t(from), models::controllers::workqueue::Priority::Normal);
            }
            for _ in 0..keys {
                let (k, _) = q.get(t(to)).unwrap();
                q.done(k, t(to));
            }
        }
        ct.queue = q;
        let r = report::build(&world, &cfg, "small", 1, plan.fleet, now, steps);
        let c = r.controllers.iter().find(|c| c.name == "cluster").unwrap();
        assert_eq!(c.depth_above_threshold_longest_s, longest);
        let item = r
            .checklist
            .iter()
            .find(|c| c.name.starts_with("Work queue depth"))
            .unwrap();
        assert_eq!((item.value, item.pass), (longest, !fires), "{stretches:?}");
    }
}
