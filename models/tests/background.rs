//! The load that grows with the fleet (issue 11): CAPI's ClusterCache connections and
//! health probes, and the remote Node watches they carry. Each test runs a ready fleet
//! through a `steady` window and checks a property that follows from the mechanism.

use models::run::report::RunReport;
use models::run::steady::SteadyFigures;
use models::run::{RunPlan, run};
use models::scenario::faults::Fault;
use models::scenario::operations::{AfterOp, FleetSpec};
use models::scenario::presets::{self, Override, Tier};
use sim_core::SimDuration;

/// Every manager resyncs only every 10 h, so a steady window sees the background
/// mechanisms alone.
const NO_RESYNC: [&str; 4] = [
    "capi-controller-manager.sync-period=10h",
    "capi-kubeadm-bootstrap.sync-period=10h",
    "capi-kubeadm-control-plane.sync-period=10h",
    "capx-controller-manager.sync-period=10h",
];

fn steady_plan(clusters: u32, machines: u32, window: SimDuration, sets: &[&str]) -> RunPlan {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    let mut plan = RunPlan::new(
        presets::resolve(Tier::Small, &overrides).unwrap(),
        "small",
        FleetSpec::all_at_once(clusters, machines, 1),
        1,
    );
    plan.after = vec![AfterOp::Steady(window)];
    plan
}

fn run_report(plan: &RunPlan) -> RunReport {
    run(plan).expect("run completes").report
}

fn steady(r: &RunReport) -> &SteadyFigures {
    r.steady.as_ref().expect("a steady window")
}

/// Events of a per-second rate over the window, as a count.
fn count(st: &SteadyFigures, per_s: f64) -> u64 {
    (per_s * st.duration_s).round() as u64
}

fn reconciles(st: &SteadyFigures, controller: &str) -> u64 {
    count(
        st,
        st.reconciles_per_s.get(controller).copied().unwrap_or(0.0),
    )
}

fn background(st: &SteadyFigures, name: &str) -> u64 {
    count(st, st.background_per_s.get(name).copied().unwrap_or(0.0))
}

#[test]
fn a_node_status_update_enqueues_exactly_its_machine_and_its_health_check() {
    // The same fleet with kubelets reporting every 5 minutes and never: the difference
    // is what the Node updates caused.
    let at = |report: &str| {
        let mut sets = NO_RESYNC.to_vec();
        let report = format!("workload-clusters.node-status-report={report}");
        sets.push(&report);
        let mut plan = steady_plan(2, 4, SimDuration::from_hours(1), &sets);
        plan.faults = vec![Fault::MachineHealthCheck {
            node_startup_timeout: SimDuration::from_mins(60),
            unhealthy_timeout: SimDuration::from_mins(5),
        }];
        run_report(&plan)
    };
    let (on, off) = (at("5m"), at("0s"));
    let (on, off) = (steady(&on), steady(&off));
    // 8 nodes, each reporting every 5 minutes for an hour: 12 each, give or take the
    // report that falls on the window's edge.
    let updates = background(on, "remote-node-updates");
    assert!(
        (8 * 11..=8 * 13).contains(&updates),
        "{updates} Node updates"
    );
    assert_eq!(background(off, "remote-node-updates"), 0);
    // `nodeToMachine` maps each update to its Machine; `nodeToMachineHealthCheck` to the
    // cluster's MachineHealthCheck. Nothing else reconciles more.
    assert_eq!(reconciles(off, "machine"), 0);
    assert_eq!(reconciles(on, "machine"), updates);
    assert_eq!(
        reconciles(on, "machinehealthcheck") - reconciles(off, "machinehealthcheck"),
        updates
    );
    for other in on.reconciles_per_s.keys() {
        if other != "machine" && other != "machinehealthcheck" {
            assert_eq!(reconciles(on, other), reconciles(off, other), "{other}");
        }
    }
    // A status-only Node update changes nothing on the Machine: no write follows.
    assert_eq!(on.etcd_writes_per_s, off.etcd_writes_per_s);
}

#[test]
fn every_cluster_cache_probes_each_connected_cluster_at_its_interval() {
    let r = run_report(&steady_plan(3, 2, SimDuration::from_mins(30), &NO_RESYNC));
    let st = steady(&r);
    // capi-controller-manager, CABPK and KCP each probe 3 clusters every 10 s.
    let probes = background(st, "cluster-cache-health-probes");
    let expected = 3 * 3 * 30 * 6;
    assert!(
        probes.abs_diff(expected) <= 9,
        "{probes} probes, {expected} expected"
    );
}

#[test]
fn background_load_doubles_with_the_fleet() {
    let window = SimDuration::from_hours(1);
    let at = |clusters| run_report(&steady_plan(clusters, 5, window, &[]));
    let (small, large) = (at(20), at(40));
    let (a, b) = (steady(&small), steady(&large));
    let total = |st: &SteadyFigures| st.reconciles_per_s.values().sum::<f64>();
    let ratio = total(b) / total(a);
    assert!(
        (1.6..=2.4).contains(&ratio),
        "reconciles/s grew {ratio:.2}×"
    );
    let cpu = |st: &SteadyFigures| st.cpu_mean_cores["capi-controller-manager"];
    let ratio = cpu(b) / cpu(a);
    assert!(
        (1.6..=2.4).contains(&ratio),
        "capi-controller-manager CPU grew {ratio:.2}×"
    );
    // API requests besides the Lease renewals (a GET and an UPDATE each, whatever the
    // fleet): KCP's LISTs and the topology controller's dry-runs.
    let background_api =
        |st: &SteadyFigures| st.api_requests_per_s - 2.0 * st.api_requests_per_s_by_kind["Lease"];
    let ratio = background_api(b) / background_api(a);
    assert!(
        (1.6..=2.4).contains(&ratio),
        "background API requests/s grew {ratio:.2}×"
    );
    for name in ["cluster-cache-health-probes", "remote-node-updates"] {
        let ratio = b.background_per_s[name] / a.background_per_s[name];
        assert!((1.8..=2.2).contains(&ratio), "{name} grew {ratio:.2}×");
    }
    // Memory: every connection and every cached Node adds to the managers.
    let mem = |r: &RunReport| r.managers[0].memory_peak_bytes;
    assert!(mem(&large) > mem(&small));
}

#[test]
fn without_the_background_mechanisms_an_idle_fleet_only_renews_its_leases_and_resyncs() {
    let r = run_report(&steady_plan(
        3,
        2,
        SimDuration::from_mins(30),
        &[
            "cluster-cache.enabled=false",
            "workload-clusters.kcp-checks=false",
            "cluster-topology.dry-run-applies=false",
        ],
    ));
    let st = steady(&r);
    assert!(st.background_per_s.is_empty());
    let on = run_report(&steady_plan(3, 2, SimDuration::from_mins(30), &[]));
    assert!(r.managers[0].memory_peak_bytes < on.managers[0].memory_peak_bytes);
}

#[test]
fn every_kcp_reconcile_reads_its_machines_uncached_and_checks_the_workload_cluster() {
    let at = |checks: &str| {
        let checks = format!("workload-clusters.kcp-checks={checks}");
        let plan = steady_plan(4, 3, SimDuration::from_hours(2), &[&checks]);
        run_report(&plan)
    };
    let (on, off) = (at("true"), at("false"));
    let (on, off) = (steady(&on), steady(&off));
    let kcp = reconciles(on, "kubeadmcontrolplane");
    // Resyncs every 10 minutes reach every KubeadmControlPlane: about 12 each in 2 h.
    assert!((4 * 11..=4 * 14).contains(&kcp), "{kcp} KCP reconciles");
    // `initControlPlaneScope` LISTs the Machines once per reconcile; the status update
    // makes 8 calls to the workload cluster.
    assert_eq!(background(on, "kcp-uncached-lists"), kcp);
    assert_eq!(background(on, "kcp-workload-calls"), 8 * kcp);
    assert_eq!(background(off, "kcp-uncached-lists"), 0);
    assert_eq!(background(off, "kcp-workload-calls"), 0);
    // Each LIST is a read-only request to the management cluster's API server.
    let extra = count(on, on.api_reads_per_s) - count(off, off.api_reads_per_s);
    assert_eq!(extra, kcp);
    assert_eq!(on.api_writes_per_s, off.api_writes_per_s);
}

#[test]
fn the_topology_controller_dry_runs_an_object_again_only_once_its_cache_entry_expired() {
    let at = |sync: &str, dry_runs: &str| {
        let sync = format!("capi-controller-manager.sync-period={sync}");
        let dry = format!("cluster-topology.dry-run-applies={dry_runs}");
        run_report(&steady_plan(
            3,
            2,
            SimDuration::from_hours(2),
            &[&sync, &dry],
        ))
    };
    // Resyncs every 20 minutes, past the 10-minute TTL: every reconcile finds every entry
    // expired and dry-runs each of the 7 objects twice; only a cluster's first reconcile
    // in the window may still find entries added before it.
    let slow = at("20m", "true");
    let st = steady(&slow);
    let topo = reconciles(st, "topology/cluster");
    assert!(topo >= 3 * 5, "{topo} topology reconciles");
    let dry = background(st, "topology-dry-runs");
    assert!(
        dry <= 14 * topo && 14 * topo - dry <= 14 * 3,
        "{dry} dry-runs, {topo} reconciles"
    );
    // Each is a PATCH to the API server that etcd never sees.
    let off = at("20m", "false");
    let st_off = steady(&off);
    assert_eq!(background(st_off, "topology-dry-runs"), 0);
    assert_eq!(
        count(st, st.api_writes_per_s) - count(st_off, st_off.api_writes_per_s),
        dry
    );
    assert_eq!(st.etcd_writes_per_s, st_off.etcd_writes_per_s);
    // Resyncs every 3 minutes: an entry serves the reconciles of its 10 minutes, so at
    // most one in three reconciles dry-runs.
    let fast = at("3m", "true");
    let st = steady(&fast);
    let topo = reconciles(st, "topology/cluster");
    let dry = background(st, "topology-dry-runs");
    assert!(
        dry > 0 && 3 * dry <= 14 * topo,
        "{dry} dry-runs, {topo} reconciles"
    );
}

#[test]
fn a_resync_reaches_capxs_mapped_watches_but_only_the_for_watch_in_capi() {
    // One manager resyncs every 10 minutes (×0.9–1.0), the others every 10 h; over one
    // hour each of its informers resyncs 6 or 7 times.
    let window = SimDuration::from_hours(1);
    let only = |manager: &str| {
        let mut sets: Vec<String> = NO_RESYNC
            .iter()
            .filter(|s| manager.is_empty() || !s.starts_with(manager))
            .map(|s| s.to_string())
            .collect();
        if !manager.is_empty() {
            sets.push(format!("{manager}.sync-period=10m"));
        }
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        let r = run_report(&steady_plan(3, 2, window, &sets));
        steady(&r).clone()
    };
    // CAPX: the NutanixMachine controller receives its own informer's resync (6
    // NutanixMachines), the Machine informer's through `MachineToInfrastructureMapFunc`
    // (6) and the NutanixCluster informer's through `mapNutanixClusterToNutanixMachines`
    // (every machine of each of the 3 clusters: 6). Three informers, 6–7 resyncs each.
    let capx = only("capx-controller-manager");
    let nm = reconciles(&capx, "nutanixmachine");
    assert!(
        (6 * 18..=6 * 21).contains(&nm),
        "{nm} NutanixMachine reconciles"
    );
    let nc = reconciles(&capx, "nutanixcluster");
    assert!(
        (3 * 6..=3 * 7).contains(&nc),
        "{nc} NutanixCluster reconciles"
    );
    // CAPI: its builder puts `ResourceIsChanged` on every `Owns` and `Watches`, so a
    // Machine resync does not reach the MachineSet or the Cluster controller.
    // Reconciles that come without any resync (a requeue still pending when the window
    // opens) are left out by comparing with every manager at 10 h.
    let capi = only("capi-controller-manager");
    let none = only("");
    for controller in ["machineset", "machinedeployment", "cluster"] {
        let n = reconciles(&capi, controller) - reconciles(&none, controller);
        assert!((3 * 6..=3 * 7).contains(&n), "{n} {controller} reconciles");
    }
}

#[test]
fn secrets_and_config_maps_are_read_uncached_exactly_where_capi_reads_them() {
    // 3 clusters of 1 control-plane machine and 4 workers, no failures: per cluster KCP
    // looks up its 4 CA Secrets once before creating them (`LookupOrGenerateCached`),
    // CABPK's first machine GETs the init lock (`Lock`) and each of the 4 joining
    // workers GETs it once more (`Unlock`).
    let plan = |sets: &[&str]| {
        let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
        RunPlan::new(
            presets::resolve(Tier::Small, &overrides).unwrap(),
            "small",
            FleetSpec::all_at_once(3, 5, 1),
            1,
        )
    };
    let on = run_report(&plan(&[]));
    assert_eq!(on.fleet.machines_running, 15);
    assert_eq!(on.requests_by_mechanism["uncached-gets"], 3 * (4 + 1 + 4));
    // Each joining worker creates its bootstrap token in the workload cluster, then
    // reads it every 5 minutes until its node joins, and updates it when less than 12.5
    // of its 15 minutes are left. The first control-plane machine has no join token.
    let tokens = on.requests_by_mechanism["cabpk-token-calls"];
    assert!(tokens >= 3 * 4, "{tokens}");
    let lone = run_report(&RunPlan::new(
        presets::resolve(Tier::Small, &[]).unwrap(),
        "small",
        FleetSpec::all_at_once(3, 1, 1),
        1,
    ));
    assert_eq!(lone.fleet.machines_running, 3);
    assert!(!lone.requests_by_mechanism.contains_key("cabpk-token-calls"));
    let off = run_report(&plan(&["manager-cache.uncached-secret-reads=false"]));
    assert!(!off.requests_by_mechanism.contains_key("uncached-gets"));
}

/// The knobs that leave the API server's event rings and watchers and etcd's key index
/// and raft log out of the control plane's memory.
const NO_CONTROL_PLANE_CACHES: [&str; 6] = [
    "kube-apiserver.watch-cache-event-window=0s",
    "kube-apiserver.memory-per-watch=0",
    "etcd.index-bytes-per-key=0",
    "etcd.key-bytes=0",
    "etcd.index-bytes-per-revision=0",
    "etcd.snapshot-count=0",
];

#[test]
fn the_control_planes_memory_counts_its_caches_and_can_fail_the_checklist() {
    let run_with = |sets: &[&str]| {
        let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
        run_report(&RunPlan::new(
            presets::resolve(Tier::Small, &overrides).unwrap(),
            "small",
            FleetSpec::all_at_once(20, 5, 1),
            1,
        ))
    };
    let cp = |r: &RunReport| {
        r.capacity
            .iter()
            .find(|c| c.role == "control-plane")
            .expect("a control-plane role")
            .memory_demand_bytes
    };
    let (on, off) = (run_with(&[]), run_with(&NO_CONTROL_PLANE_CACHES));
    // The raft log alone holds every write until the first snapshot (100,000 entries),
    // each at least a Lease's 512 bytes and its key.
    let floor = on.etcd.writes.min(100_000) as f64 * (512.0 + 72.0);
    assert!(
        cp(&on) - cp(&off) >= floor,
        "{} vs {} (floor {floor})",
        cp(&on),
        cp(&off)
    );
    // Nodes with memory between the two: the caches make the difference between
    // passing and failing the checklist's memory item.
    let ram = format!(
        "nodes.control-plane.memory={}",
        ((cp(&on) + cp(&off)) / 2.0) as u64
    );
    let oom = |r: &RunReport| {
        r.checklist
            .iter()
            .find(|c| c.name.starts_with("No OOM kills"))
            .expect("the OOM item")
            .pass
    };
    let mut small = NO_CONTROL_PLANE_CACHES.to_vec();
    small.push(&ram);
    assert!(oom(&run_with(&small)));
    assert!(!oom(&run_with(&[&ram])));
}

#[test]
fn a_restarted_kcp_generates_a_new_etcd_client_key_for_every_cluster() {
    // A ready fleet held for 12 hours, KCP restarted at 8 h or not. The new process
    // relists and reconciles every KubeadmControlPlane; each opens an etcd client with a
    // certificate its `ClientCertCache` no longer holds: one RSA-2048 key per cluster
    // (lognormal p50 80 ms, mean 93 ms). Without the restart the certificates made at
    // creation stay valid (24 h).
    let clusters = 20;
    let kcp_cpu_s = |restart: bool, model: &str| {
        let mut sets = NO_RESYNC.to_vec();
        let model = format!("costs.cpu-model={model}");
        sets.push(&model);
        let mut plan = steady_plan(clusters, 2, SimDuration::from_hours(12), &sets);
        if restart {
            plan.faults = vec![Fault::ControllerRestart {
                manager: 2,
                at: SimDuration::from_hours(8),
                every: None,
            }];
        }
        let r = run_report(&plan);
        let st = steady(&r);
        assert!(
            st.duration_s >= 11.0 * 3600.0,
            "the window covers the restart"
        );
        st.cpu_mean_cores["capi-kubeadm-control-plane"] * st.duration_s
    };
    let n = f64::from(clusters);
    let extra = kcp_cpu_s(true, "per-controller") - kcp_cpu_s(false, "per-controller");
    assert!(
        (0.04 * n..=0.3 * n).contains(&extra),
        "the restart cost KCP {extra:.2} CPU-seconds"
    );
    // The flat model generates no keys: the restart costs only its reconciles (p50 2 ms).
    let extra = kcp_cpu_s(true, "flat") - kcp_cpu_s(false, "flat");
    assert!(
        extra < 0.02 * n,
        "the restart cost KCP {extra:.2} CPU-seconds"
    );
}

#[test]
fn the_next_100_clusters_take_longer_on_a_larger_fleet_because_of_its_dry_runs() {
    // CAPI ≤ 1.12 defaults (no tier: capi-controller-manager at 20 requests/s), clusters
    // of one control-plane machine and one worker; CAPX and Prism Central wide enough that
    // the management cluster's own work decides. A ready fleet, 30 minutes of steady
    // state, then 100 more clusters.
    let grow = |ready: u32, sets: &[&str]| {
        let mut sets = sets.to_vec();
        sets.extend([
            "capx-controller-manager.nutanixmachine-concurrency=200",
            "prism-central.size=x-large",
        ]);
        let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
        let config =
            presets::resolve_layers(presets::Profile::Capi112, None, None, &overrides).unwrap();
        let mut plan = RunPlan::new(config, "capi-1.12", FleetSpec::all_at_once(ready, 2, 1), 1);
        plan.max_simulated = SimDuration::from_hours(48);
        plan.after = vec![
            AfterOp::Steady(SimDuration::from_mins(30)),
            AfterOp::Create {
                clusters: 100,
                batch: 0,
                every: SimDuration::ZERO,
                wait: None,
            },
        ];
        let r = run_report(&plan);
        assert_eq!(r.fleet.clusters_ready, ready + 100);
        let added = r.operations.last().expect("the second create");
        assert_eq!(added.op, "create");
        let took = added.finished_s.expect("finished") - added.started_s;
        (r, took)
    };
    let (small, small_took) = grow(100, &[]);
    let (large, large_took) = grow(1000, &[]);
    assert!(
        large_took > 1.2 * small_took,
        "100 more took {large_took:.0} s on 1,000 and {small_took:.0} s on 100"
    );
    // Which mechanism: the topology controller's dry-runs grow with the fleet and fill
    // capi-controller-manager's client (20/s), where the new clusters' requests wait.
    let dry_runs = |r: &RunReport| steady(r).background_per_s["topology-dry-runs"];
    assert!(dry_runs(&large) > 8.0 * dry_runs(&small));
    assert_eq!(
        (
            large.bottleneck.resource.as_str(),
            large.bottleneck.at.as_str()
        ),
        ("rate-limiter", "capi-controller-manager client")
    );
    // Without the dry-runs the larger fleet no longer slows the next clusters down.
    let (_, without) = grow(1000, &["cluster-topology.dry-run-applies=false"]);
    assert!(
        without < large_took && without < 1.1 * small_took,
        "without dry-runs: {without:.0} s"
    );
}

#[test]
fn later_creates_are_spread_evenly_over_the_management_clusters() {
    // 3 clusters on 2 management clusters (2 + 1), then 1 more: it joins the second, so
    // each holds 2. The checklist counts the whole fleet.
    let mut plan = RunPlan::new(
        presets::resolve(Tier::Small, &[]).unwrap(),
        "small",
        FleetSpec::all_at_once(3, 2, 1),
        1,
    );
    plan.management_clusters = 2;
    plan.after = vec![AfterOp::Create {
        clusters: 1,
        batch: 0,
        every: SimDuration::ZERO,
        wait: None,
    }];
    let r = run_report(&plan);
    let parts: Vec<u32> = r
        .management_clusters
        .iter()
        .map(|p| p.fleet.clusters)
        .collect();
    assert_eq!(parts, vec![2, 2]);
    assert_eq!((r.fleet.clusters, r.fleet.clusters_ready), (4, 4));
    let all = r
        .checklist
        .iter()
        .find(|c| c.name == "All clusters ready")
        .expect("the item");
    assert_eq!((all.value, all.threshold, all.pass), (4.0, 4.0, true));
    // Counts add up over the parts, every key of every part.
    for p in &r.management_clusters {
        for k in p.writes_by_verb.keys() {
            let sum: u64 = r
                .management_clusters
                .iter()
                .map(|q| q.writes_by_verb.get(k).copied().unwrap_or(0))
                .sum();
            assert_eq!(r.writes_by_verb[k], sum, "{k}");
        }
    }
    // The fleet's time to ready is the first create's; the added one has its own timing.
    let ops: Vec<&str> = r.operations.iter().map(|o| o.op.as_str()).collect();
    assert_eq!(ops, ["create", "create"]);
    let first_done = r.operations[0].finished_s.expect("finished");
    assert!(r.fleet.time_to_ready_s.expect("ready") <= first_done + 15.0);
}
