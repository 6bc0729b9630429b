//! The figures a sweep tracks per replica, by name, drawn from a run's report: the fleet's
//! times, the API server's and etcd's latencies and sizes, Prism Central's queue, the
//! controllers' queues and CPU, the nodes' CPU and memory, the lifecycle phases, waiting by
//! resource, the operations after the create, and the bill of materials. docs/outputs.md
//! gives their units.

use std::collections::BTreeMap;

use crate::run::report::RunReport;

/// The figures a sweep tracks, by name, from a run's report: one line per figure, which
/// is why it is long. `watched` names the controllers whose queues the checklist's
/// workqueue item watches.
pub fn figures_of(r: &RunReport, watched: &[String]) -> BTreeMap<String, f64> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: f64| {
        f.insert(k.to_string(), v);
    };
    put(
        "fleet_time_to_ready_s",
        r.fleet.time_to_ready_s.unwrap_or(f64::NAN),
    );
    put("cluster_ready_p50_s", r.fleet.cluster_ready_p50_s);
    put("cluster_ready_p95_s", r.fleet.cluster_ready_p95_s);
    put("machine_ready_p95_s", r.fleet.machine_ready_p95_s);
    put("clusters_ready", f64::from(r.fleet.clusters_ready));
    put("machines_remediated", r.fleet.machines_remediated as f64);
    put("node_failures", r.fleet.node_failures as f64);
    put("api_mutating_p99_s", r.apiserver.mutating_p99_s);
    put("api_readonly_p99_s", r.apiserver.readonly_p99_s);
    put("api_429", r.apiserver.requests_429 as f64);
    put("etcd_db_peak_bytes", r.etcd.db_peak_bytes as f64);
    put("etcd_db_peak_fraction", r.etcd.db_peak_fraction);
    put("etcd_fsync_p99_s", r.etcd.fsync_p99_s);
    put("etcd_commit_p99_s", r.etcd.commit_p99_s);
    put("etcd_writes_per_s", r.etcd.writes_per_s);
    put("pc_vm_create_p95_s", r.prism_central.vm_create_p95_s);
    put("pc_queue_depth_max", r.prism_central.queue_depth_max);
    put("pc_429", r.prism_central.rate_limited as f64);
    let max = |v: Vec<f64>| v.into_iter().fold(0.0, f64::max);
    put(
        "workqueue_depth_max",
        max(r.controllers.iter().map(|c| c.depth_max).collect()),
    );
    // The queues the checklist's item watches, and the others, apart: a deep queue of a
    // controller the alert does not watch is not a checklist failure.
    let (mine, others): (Vec<_>, Vec<_>) = r
        .controllers
        .iter()
        .partition(|c| watched.contains(&c.name));
    put(
        "workqueue_depth_max_watched",
        max(mine.iter().map(|c| c.depth_max).collect()),
    );
    put(
        "workqueue_depth_max_other",
        max(others.iter().map(|c| c.depth_max).collect()),
    );
    // The checklist's item nearest its threshold, or furthest past it (below 1 passes).
    let margins = r.checklist.iter().filter_map(|c| c.margin());
    put("checklist_worst_margin", margins.fold(f64::NAN, f64::max));
    if let Some(t) = r.etcd.nospace_at_s {
        put("etcd_nospace_at_s", t);
    }
    if r.fleet.time_to_ready_s.is_none() {
        // Where a run that never got its fleet ready stopped: the time limit, or 30 min
        // after etcd's NOSPACE alarm.
        put("stopped_not_ready_s", r.fleet.simulated_s);
    }
    put(
        "reconcile_p99_max_s",
        max(r.controllers.iter().map(|c| c.reconcile_p99_s).collect()),
    );
    put(
        "controller_cpu_fraction_max",
        max(r
            .managers
            .iter()
            .map(|m| m.cpu_peak_cores / m.cpu_limit_cores)
            .collect()),
    );
    put(
        "controller_memory_fraction_max",
        max(r
            .managers
            .iter()
            .map(|m| m.memory_peak_bytes / m.memory_limit_bytes)
            .collect()),
    );
    put(
        "oom_kills",
        r.managers.iter().map(|m| f64::from(m.oom_kills)).sum(),
    );
    let ph = &r.phases;
    for (name, p50, p95) in [
        (
            "control_plane_initialized",
            ph.control_plane_initialized_p50_s,
            ph.control_plane_initialized_p95_s,
        ),
        (
            "control_plane_ready",
            ph.control_plane_ready_p50_s,
            ph.control_plane_ready_p95_s,
        ),
        (
            "machine_bootstrap",
            ph.machine_bootstrap_p50_s,
            ph.machine_bootstrap_p95_s,
        ),
        ("machine_vm", ph.machine_vm_p50_s, ph.machine_vm_p95_s),
        ("machine_boot", ph.machine_boot_p50_s, ph.machine_boot_p95_s),
        ("machine_join", ph.machine_join_p50_s, ph.machine_join_p95_s),
    ] {
        put(&format!("phase_{name}_p50_s"), p50);
        put(&format!("phase_{name}_p95_s"), p95);
    }
    put(
        "controller_cpu_throttled_s_max",
        max(r.managers.iter().map(|m| m.cpu_throttled_s).collect()),
    );
    // Each node role's busiest node, where the components share their nodes' CPU.
    for c in &r.capacity {
        let role = c.role.replace('-', "_");
        if let Some(u) = c.cpu_peak_utilisation {
            put(&format!("node_cpu_peak_fraction_{role}"), u);
            put(&format!("node_saturated_s_{role}"), c.saturated_s);
        }
        put(
            &format!("node_memory_peak_bytes_{role}"),
            c.memory_demand_bytes,
        );
    }
    // The checklist's own values, where they differ from the figures above: the reconcile
    // p99 of the controllers it watches, and the longest stretch above the depth threshold.
    for (prefix, name) in [
        ("Controller reconcile time", "reconcile_p99_checklist_s"),
        (
            "Work queue depth",
            "workqueue_depth_above_threshold_longest_s",
        ),
    ] {
        if let Some(c) = r.checklist.iter().find(|c| c.name.starts_with(prefix)) {
            put(name, c.value);
        }
    }
    // Waiting per machine by resource: the bottleneck attribution, on a common scale.
    let machines = f64::from(r.fleet.clusters * r.fleet.machines_per_cluster).max(1.0);
    for w in &r.waiting {
        put(
            &format!("wait_per_machine_{}_s", w.resource.replace('-', "_")),
            w.seconds / machines,
        );
    }
    for op in ["scale", "upgrade", "delete"] {
        let ops: Vec<&crate::scenario::operations::OpTiming> =
            r.operations.iter().filter(|o| o.op == op).collect();
        if !ops.is_empty() {
            // Every such operation's duration, summed; unknown if one did not finish.
            put(
                &format!("{op}_time_s"),
                ops.iter()
                    .map(|o| o.finished_s.map(|f| f - o.started_s))
                    .sum::<Option<f64>>()
                    .unwrap_or(f64::NAN),
            );
        }
    }
    if let Some(st) = &r.steady {
        put("steady_api_requests_per_s", st.api_requests_per_s);
        put("steady_etcd_writes_per_s", st.etcd_writes_per_s);
        put(
            "steady_cpu_max_cores",
            st.cpu_mean_cores.values().fold(0.0, |a, &b| f64::max(a, b)),
        );
    }
    // Each of the guide's alerts: 1 if it fired in the run; its mean over the replicas is
    // the probability it fires at that size.
    for a in &r.alerts {
        put(
            &format!("alert_fired_{}", a.name),
            f64::from(u8::from(!a.fired.is_empty())),
        );
    }
    put(
        "management_clusters",
        r.management_clusters.len().max(1) as f64,
    );
    // The bill of materials' totals, provisioned and needed at peak, and the guide's tier
    // whose data it uses (1 small to 5 extreme), so charts can mark where it changes.
    for (which, t) in [
        ("provisioned", &r.bom.provisioned),
        ("needed", &r.bom.needed),
    ] {
        put(&format!("bom_{which}_nodes"), f64::from(t.nodes));
        put(&format!("bom_{which}_vcpu"), t.vcpu);
        put(&format!("bom_{which}_memory_bytes"), t.memory_bytes);
        put(&format!("bom_{which}_disk_bytes"), t.disk_bytes);
    }
    put(
        "bom_prism_centrals",
        f64::from(r.bom.provisioned.prism_centrals),
    );
    let tier = crate::run::report::bom::tier_of(&r.bom.tier);
    let rank = crate::scenario::presets::Tier::ALL
        .iter()
        .position(|t| *t == tier);
    put("tier_rank", rank.map_or(0.0, |i| i as f64 + 1.0));
    put("sim_events", r.sim_events as f64);
    if let Some(h) = &r.federation {
        // The hub's figures, where it measured them.
        let mut maybe = |k: &str, v: Option<f64>| {
            if let Some(v) = v {
                f.insert(k.to_string(), v);
            }
        };
        maybe("federation_heartbeat_p99_s", h.heartbeat.p99_s);
        maybe("federation_distribution_p99_s", h.distribution.p99_s);
        maybe("federation_registration_p99_s", h.registration.p99_s);
        f.insert("federation_members".into(), f64::from(h.members_peak));
        f.insert(
            "federation_etcd_write_rate_peak".into(),
            h.etcd_write_rate_peak,
        );
        f.insert(
            "federation_etcd_db_peak_bytes".into(),
            h.etcd_db_peak_bytes as f64,
        );
        let fraction = h.etcd_db_peak_bytes as f64 / h.etcd_quota_bytes.max(1) as f64;
        f.insert("federation_etcd_db_peak_fraction".into(), fraction);
        let cpu = h.apiserver_cpu_peak_cores + h.controllers_cpu_peak_cores;
        f.insert("federation_cpu_peak_cores".into(), cpu);
    }
    f
}
