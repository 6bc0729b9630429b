//! The terminal report of `capsim run`: the fleet's times, the API server, controllers,
//! managers, etcd and Prism Central, the management cluster's demand, the bill of
//! materials, the scale-testing checklist, where the machines waited and the bottleneck,
//! then the operations and the steady state when there are any. One function per section,
//! in report order.

use models::run::report::RunReport;
use sim_core::SimDuration;

use super::table::{Align, Table};

/// A duration in words.
pub(super) fn secs(s: f64) -> String {
    SimDuration::from_secs_f64(s).to_string()
}

/// Bytes in GiB, or MiB below one GiB.
fn bytes(b: f64) -> String {
    const GI: f64 = (1u64 << 30) as f64;
    const MI: f64 = (1u64 << 20) as f64;
    if b >= GI {
        format!("{:.2} GiB", b / GI)
    } else {
        format!("{:.0} MiB", b / MI)
    }
}

/// A fraction as a whole percentage.
fn pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

/// The terminal report.
pub fn render(r: &RunReport) -> String {
    let mut o = String::new();
    let f = &r.fleet;
    o.push_str(&format!(
        "capsim run: {} clusters × {} machines ({} control plane), tier {}, seed {}\n\n",
        f.clusters, f.machines_per_cluster, f.control_plane_replicas, r.tier, r.seed
    ));
    if !r.management_clusters.is_empty() {
        o.push_str(&split_section(r));
    }
    o.push_str(&fleet_section(r));
    o.push_str(&apiserver_section(r));
    o.push_str(&controllers_section(r));
    o.push_str(&managers_section(r));
    o.push_str(&etcd_section(r));
    o.push_str(&prism_central_section(r));
    o.push_str(&capacity_section(r));
    if let Some(h) = &r.federation {
        o.push_str(&super::federation::section(h));
    }
    o.push_str(&super::bom::section(&r.bom));
    o.push_str(&checklist_section(r));
    o.push_str(&alerts_section(r));
    o.push_str(&waiting_section(r));
    if r.operations.len() > 1 {
        o.push_str(&operations_section(r));
    }
    if let Some(st) = &r.steady {
        o.push_str(&steady_section(st));
    }
    o
}

/// A fleet split among management clusters: one row per management cluster.
fn split_section(r: &RunReport) -> String {
    let mut o = String::new();
    let mut t = Table::new(&[
        ("management cluster", Align::Left),
        ("clusters", Align::Right),
        ("time to ready", Align::Right),
        ("checklist", Align::Left),
        ("bottleneck", Align::Left),
    ]);
    for (i, p) in r.management_clusters.iter().enumerate() {
        let failed = p.checklist.iter().filter(|c| !c.pass).count();
        t.row(vec![
            format!("#{}", i + 1),
            p.fleet.clusters.to_string(),
            p.fleet.time_to_ready_s.map_or("not ready".into(), secs),
            if failed == 0 {
                "pass".into()
            } else {
                format!("{failed} FAIL")
            },
            format!(
                "{}, {} ({})",
                p.bottleneck.resource,
                p.bottleneck.at,
                pct(p.bottleneck.share)
            ),
        ]);
    }
    o.push_str(&format!(
        "The fleet is split among {} independent management clusters; below, fleet-wide \
         times, and for every other figure the worst management cluster's.\n\n",
        r.management_clusters.len()
    ));
    o.push_str(&indent(&t.render()));
    o.push('\n');
    o
}

/// The fleet's times to ready, node failures and remediations.
fn fleet_section(r: &RunReport) -> String {
    let mut o = String::new();
    let f = &r.fleet;
    o.push_str("Fleet\n");
    match f.time_to_ready_s {
        Some(t) => o.push_str(&format!("  time to ready          {}\n", secs(t))),
        None => o.push_str(&format!(
            "  time to ready          NOT READY after {} ({} of {} clusters, {} machines running){}\n",
            secs(f.simulated_s),
            f.clusters_ready,
            f.clusters,
            f.machines_running,
            // Why the run stopped: etcd full, or the simulated-time limit.
            match r.etcd.nospace_at_s {
                Some(t) => format!(
                    "; stopped 30 min after etcd's NOSPACE alarm at {}",
                    secs(t)
                ),
                None => "; stopped at the simulated-time limit (--max-time)".into(),
            }
        )),
    }
    // A figure over no cluster or machine is shown as "-", not 0.
    let over = |v: f64, n: u32| if n == 0 { "-".to_string() } else { secs(v) };
    o.push_str(&format!(
        "  per cluster            p50 {}  p95 {}\n  per machine            p95 {}\n",
        over(f.cluster_ready_p50_s, f.clusters_ready),
        over(f.cluster_ready_p95_s, f.clusters_ready),
        over(f.machine_ready_p95_s, f.machines_running)
    ));
    let ph = &r.phases;
    let shown = |v: f64| if v > 0.0 { secs(v) } else { "-".to_string() };
    let pair = |a: f64, b: f64| format!("{} / {}", shown(a), shown(b));
    o.push_str(&format!(
        "  phases (p50 / p95)     cluster: control plane initialized {}, ready {}\n                         machine: bootstrap data {}, VM {}, boot and join {}, node seen {}\n",
        pair(ph.control_plane_initialized_p50_s, ph.control_plane_initialized_p95_s),
        pair(ph.control_plane_ready_p50_s, ph.control_plane_ready_p95_s),
        pair(ph.machine_bootstrap_p50_s, ph.machine_bootstrap_p95_s),
        pair(ph.machine_vm_p50_s, ph.machine_vm_p95_s),
        pair(ph.machine_boot_p50_s, ph.machine_boot_p95_s),
        pair(ph.machine_join_p50_s, ph.machine_join_p95_s),
    ));
    if f.node_failures > 0 {
        o.push_str(&format!(
            "  node failures          {} workers' nodes went NotReady\n",
            f.node_failures
        ));
    }
    if f.machines_remediated > 0 {
        o.push_str(&format!(
            "  remediated             {} machines (the MachineHealthCheck found no node \
             within its startup timeout, or a node NotReady past its unhealthy timeout: \
             deleted and replaced)\n",
            f.machines_remediated
        ));
    }
    o.push('\n');
    o
}

/// The API server's latencies, refusals and seats.
fn apiserver_section(r: &RunReport) -> String {
    let mut o = String::new();
    let a = &r.apiserver;
    o.push_str(&format!(
        "API server ({} replicas)\n  mutating p99 {}   read-only p99 {}   429s {}   failed {}   seats peak {:.0} of {} (workload-low, one replica){}\n\n",
        a.replicas,
        secs(a.mutating_p99_s),
        secs(a.readonly_p99_s),
        a.requests_429,
        a.requests_failed,
        a.seats_peak,
        a.seats_limit,
        if a.oom_kills > 0 {
            format!(
                "\n  OOM-killed {} times: its control-plane node ran out of memory",
                a.oom_kills
            )
        } else {
            String::new()
        }
    ));
    o
}

/// One row per controller: workers, queue, reconciles and errors.
fn controllers_section(r: &RunReport) -> String {
    let mut o = String::new();
    let mut t = Table::new(&[
        ("controller", Align::Left),
        ("workers", Align::Right),
        ("depth max", Align::Right),
        ("queue p99", Align::Right),
        ("reconcile p99", Align::Right),
        ("token wait", Align::Right),
        ("reconciles", Align::Right),
        ("errors", Align::Right),
    ]);
    for c in &r.controllers {
        t.row(vec![
            c.name.clone(),
            c.workers.to_string(),
            format!("{:.0}", c.depth_max),
            secs(c.queue_latency_p99_s),
            secs(c.reconcile_p99_s),
            secs(c.rate_limiter_wait_s),
            c.reconciles.to_string(),
            c.errors.to_string(),
        ]);
    }
    o.push_str("Controllers\n");
    o.push_str(&indent(&t.render()));
    o
}

/// One row per manager pod: its node, CPU and throttling, memory, OOM kills, restarts and
/// token waits.
fn managers_section(r: &RunReport) -> String {
    let mut o = String::new();
    // Where the pods share their nodes' CPU: which worker, and time held by the quota.
    let placed = r.managers.iter().any(|m| m.worker_node.is_some());
    let mut cols = vec![("manager", Align::Left)];
    if placed {
        cols.push(("node", Align::Right));
    }
    cols.extend([("CPU peak", Align::Right), ("limit", Align::Right)]);
    if placed {
        cols.push(("throttled", Align::Right));
    }
    cols.extend([
        ("memory peak", Align::Right),
        ("limit", Align::Right),
        ("OOM", Align::Right),
        ("restarts", Align::Right),
        ("token wait p99", Align::Right),
        ("token wait total", Align::Right),
    ]);
    let mut t = Table::new(&cols);
    for m in &r.managers {
        let mut row = vec![m.name.clone()];
        if placed {
            row.push(m.worker_node.map_or("-".into(), |n| format!("worker {n}")));
        }
        row.extend([
            format!("{:.2}", m.cpu_peak_cores),
            format!("{}", m.cpu_limit_cores),
        ]);
        if placed {
            row.push(secs(m.cpu_throttled_s));
        }
        row.extend([
            bytes(m.memory_peak_bytes),
            bytes(m.memory_limit_bytes),
            m.oom_kills.to_string(),
            (m.restarts + m.leader_elections_lost + m.evictions).to_string(),
            secs(m.rate_limiter_wait_p99_s),
            secs(m.rate_limiter_wait_total_s),
        ]);
        t.row(row);
    }
    o.push_str(if placed {
        "\nManagers (CPU: peak 1-minute average, cores; throttled: time held at the CPU limit)\n"
    } else {
        "\nManagers (CPU: peak 1-minute average, cores)\n"
    });
    o.push_str(&indent(&t.render()));
    o
}

/// etcd's database size, latencies and writes, and a NOSPACE alarm if raised.
fn etcd_section(r: &RunReport) -> String {
    let mut o = String::new();
    let e = &r.etcd;
    o.push_str(&format!(
        "\netcd\n  database peak {} of {} quota ({})   live {}   fsync p99 {}   commit p99 {}   writes {} ({:.1}/s)   largest batch {}{}\n",
        bytes(e.db_peak_bytes as f64),
        bytes(e.quota_bytes as f64),
        pct(e.db_peak_fraction),
        bytes(e.live_bytes as f64),
        secs(e.fsync_p99_s),
        secs(e.commit_p99_s),
        e.writes,
        e.writes_per_s,
        e.max_batch,
        match e.nospace_at_s {
            Some(t) => format!("\n  NOSPACE alarm at {}: every write refused from then on", secs(t)),
            None => String::new(),
        }
    ));
    o
}

/// Prism Central's task queue, VM creates and refusals; with the in-memory provider, its
/// VMs' startup instead (no Prism Central).
fn prism_central_section(r: &RunReport) -> String {
    let mut o = String::new();
    if r.infrastructure_provider == models::kinds::Provider::InMemory {
        o.push_str(&format!(
            "\nIn-memory provider (no Prism Central)\n  VM startup p95 {}\n",
            secs(r.prism_central.vm_create_p95_s)
        ));
        return o;
    }
    let p = &r.prism_central;
    o.push_str(&format!(
        "\nPrism Central{}\n  task queue max {:.0}   tasks running max {:.0} of {}   VM create p95 {}   429s {}   requests {}{}\n",
        if p.instances > 1 {
            format!(" ({} instances: the busiest one's queue and tasks, all requests)", p.instances)
        } else {
            String::new()
        },
        p.queue_depth_max,
        p.tasks_running_max,
        p.task_slots.map_or("unlimited".to_string(), |s| s.to_string()),
        secs(p.vm_create_p95_s),
        p.rate_limited,
        p.requests,
        if p.unavailable > 0 {
            format!("   failed while down {}", p.unavailable)
        } else {
            String::new()
        } + &if p.vm_create_failures > 0 {
            format!("   VM creates failed and retried {}", p.vm_create_failures)
        } else {
            String::new()
        }
    ));
    o
}

/// The management cluster's peak demand per node role against its nodes; where the
/// components share the nodes' CPU, the busiest node's peak use and time saturated.
fn capacity_section(r: &RunReport) -> String {
    let mut o = String::new();
    let shared = r.capacity.iter().any(|c| c.cpu_peak_utilisation.is_some());
    let mut cols = vec![
        ("node role", Align::Left),
        ("runs", Align::Left),
        ("nodes", Align::Right),
        ("CPU/node", Align::Right),
        ("vCPU", Align::Right),
    ];
    if shared {
        cols.extend([("busiest", Align::Right), ("saturated", Align::Right)]);
    }
    cols.extend([
        ("memory/node", Align::Right),
        ("RAM", Align::Right),
        ("", Align::Left),
    ]);
    let mut t = Table::new(&cols);
    for c in &r.capacity {
        let mut row = vec![
            c.role.clone(),
            c.runs.clone(),
            c.nodes.to_string(),
            format!("{:.2}", c.cpu_demand_cores),
            format!("{}", c.cpu_capacity_cores),
        ];
        if shared {
            row.push(c.cpu_peak_utilisation.map_or("-".into(), pct));
            row.push(secs(c.saturated_s));
        }
        row.extend([
            bytes(c.memory_demand_bytes),
            bytes(c.memory_capacity_bytes),
            if c.fits { "ok".into() } else { "OOM".into() },
        ]);
        t.row(row);
    }
    o.push_str(if shared {
        "\nManagement cluster demand (peak, per node; busiest: the busiest node's peak CPU use over 15 s)\n"
    } else {
        "\nManagement cluster demand (peak, per node)\n"
    });
    o.push_str(&indent(&t.render()));
    o
}

/// The scale-testing checklist: each item's value, threshold and result.
fn checklist_section(r: &RunReport) -> String {
    let mut o = String::new();
    let mut t = Table::new(&[
        ("check", Align::Left),
        ("value", Align::Right),
        ("threshold", Align::Right),
        ("result", Align::Left),
    ]);
    for c in &r.checklist {
        let show = |v: f64| match c.unit.as_str() {
            "s" => secs(v),
            "fraction" => pct(v),
            _ => format!("{v:.0}"),
        };
        t.row(vec![
            c.name.clone(),
            show(c.value),
            show(c.threshold),
            if c.pass { "pass".into() } else { "FAIL".into() },
        ]);
    }
    o.push_str("\nScale-testing checklist\n");
    o.push_str(&indent(&t.render()));
    o
}

/// The guide's alerts: which fired, when and for how long; the rules that cannot fire.
fn alerts_section(r: &RunReport) -> String {
    let mut o = String::from("\nAlerts (the guide's PrometheusRule capi-scale-alerts)\n");
    let fired: Vec<_> = r.alerts.iter().filter(|a| !a.fired.is_empty()).collect();
    if fired.is_empty() {
        o.push_str("  none fired\n");
    } else {
        let mut t = Table::new(&[
            ("alert", Align::Left),
            ("severity", Align::Left),
            ("first fired", Align::Right),
            ("firing", Align::Right),
            ("times", Align::Right),
            ("still firing", Align::Left),
        ]);
        for a in fired {
            let open = a.fired.last().is_some_and(|f| f.to_s.is_none());
            t.row(vec![
                a.name.clone(),
                a.severity.clone(),
                a.first_fired_s.map_or("-".into(), secs),
                secs(a.firing_s),
                a.fired.len().to_string(),
                if open { "yes".into() } else { "no".into() },
            ]);
        }
        o.push_str(&indent(&t.render()));
    }
    for a in r.alerts.iter().filter(|a| a.cannot_fire.is_some()) {
        o.push_str(&format!(
            "  {} cannot fire: {}\n",
            a.name,
            a.cannot_fire.as_deref().unwrap_or_default()
        ));
    }
    o
}

/// Waiting per machine by resource, the bottleneck and what relieves it.
fn waiting_section(r: &RunReport) -> String {
    let mut o = String::new();
    let f = &r.fleet;
    o.push_str("\nWaiting on the machines' paths to Running (mean per machine, share)\n");
    let machines = f64::from(f.clusters * f.machines_per_cluster).max(1.0);
    for w in &r.waiting {
        let per = secs(w.seconds / machines);
        o.push_str(&format!(
            "  {:<16} {:>10}  {:>5}\n",
            w.resource,
            per,
            pct(w.share)
        ));
    }
    o.push_str(&format!(
        "\nBottleneck: {}, {} ({} of all waiting)\n",
        r.bottleneck.resource,
        r.bottleneck.at,
        pct(r.bottleneck.share)
    ));
    let relief = models::run::relief::relieve(&r.bottleneck.resource, &r.bottleneck.at);
    if !relief.is_empty() {
        o.push_str(&format!("Relieve with: {relief}.\n"));
    }
    o
}

/// When each operation of the workload started and finished.
fn operations_section(r: &RunReport) -> String {
    let mut o = String::new();
    o.push_str("\nOperations (each starts when the previous one has finished)\n");
    let mut t = Table::new(&[
        ("operation", Align::Left),
        ("started", Align::Right),
        ("finished", Align::Right),
        ("took", Align::Right),
    ]);
    for op in &r.operations {
        t.row(vec![
            op.op.clone(),
            secs(op.started_s),
            op.finished_s.map_or("not by the end".into(), secs),
            op.finished_s.map_or("-".into(), |f| secs(f - op.started_s)),
        ]);
    }
    o.push_str(&indent(&t.render()));
    o
}

/// The idle load of a steady window.
fn steady_section(st: &models::run::steady::SteadyFigures) -> String {
    let mut o = String::new();
    let cut = if st.duration_s + 15.0 < st.requested_s {
        format!(" (cut short by --max-time; {} asked)", secs(st.requested_s))
    } else {
        String::new()
    };
    o.push_str(&format!(
        "\nSteady state: {} of the ready fleet, nothing changing{cut}\n",
        secs(st.duration_s)
    ));
    o.push_str(&format!(
        "  API requests {:.2}/s ({:.2} read-only, {:.2} mutating)   etcd writes {:.2}/s   Prism Central calls {:.2}/s   etcd growth {}\n",
        st.api_requests_per_s,
        st.api_reads_per_s,
        st.api_writes_per_s,
        st.etcd_writes_per_s,
        st.pc_requests_per_s,
        if st.etcd_growth_bytes >= 0 {
            format!("+{}", bytes(st.etcd_growth_bytes as f64))
        } else {
            format!("-{}", bytes(-st.etcd_growth_bytes as f64))
        }
    ));
    // "name value, name value" with `digits` decimals.
    let listed = |m: &std::collections::BTreeMap<String, f64>, digits: usize| {
        m.iter()
            .map(|(k, v)| format!("{k} {v:.digits$}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    o.push_str(&format!(
        "  writes/s by kind: {}\n",
        listed(&st.etcd_writes_per_s_by_kind, 2)
    ));
    if !st.background_per_s.is_empty() {
        o.push_str(&format!(
            "  background/s: {}\n",
            listed(&st.background_per_s, 2)
        ));
    }
    let mut t = Table::new(&[("controller", Align::Left), ("reconciles/s", Align::Right)]);
    for (k, v) in &st.reconciles_per_s {
        t.row(vec![k.clone(), format!("{v:.2}")]);
    }
    o.push_str(&indent(&t.render()));
    o.push_str(&format!(
        "  mean CPU [cores]: {}\n",
        listed(&st.cpu_mean_cores, 3)
    ));
    let memory: Vec<String> = st
        .memory_bytes
        .iter()
        .map(|(k, v)| format!("{k} {}", bytes(*v)))
        .collect();
    o.push_str(&format!("  memory: {}\n", memory.join(", ")));
    o.push_str(&format!(
        "  kube-apiserver (busiest replica): mean CPU {:.3} cores, memory {} (peak so far)   etcd: memory {} (peak so far)\n",
        st.apiserver_cpu_mean_cores,
        bytes(st.apiserver_memory_bytes),
        bytes(st.etcd_memory_bytes)
    ));
    o
}

/// Each line of `s`, indented by two spaces.
fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
