//! The federation hub's section of `capsim run`'s report: its members, heartbeats,
//! distribution latency, API server, etcd and CPU, and its controllers.

use super::run_report::secs;
use super::table::{Align, Table};
use models::federation::HubReport;
use models::federation::report::Quantiles;

fn maybe(s: Option<f64>) -> String {
    s.map_or_else(|| "-".into(), secs)
}

/// p50 / p95 / p99 of a latency, or why there is none.
fn quantiles(q: &Quantiles, none: &str) -> String {
    match (q.p50_s, q.p95_s, q.p99_s) {
        (Some(a), Some(b), Some(c)) => format!(
            "p50 {}   p95 {}   p99 {}   ({} samples)",
            secs(a),
            secs(b),
            secs(c),
            q.count
        ),
        _ => none.to_string(),
    }
}

/// The section, after the management clusters' figures.
pub fn section(h: &HubReport) -> String {
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    let mode = serde_json::to_value(h.mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut o = format!(
        "\nFederation hub (Karmada, {mode} mode, on {} nodes of {} vCPU)\n",
        h.nodes, h.node_vcpu
    );
    o.push_str(&format!(
        "  members        {} at most; registration {}\n",
        h.members_peak,
        quantiles(&h.registration, "none registered")
    ));
    o.push_str(&format!(
        "  heartbeat      {}\n                 longest gap between a member's heartbeats {}; leases expired {}\n",
        quantiles(&h.heartbeat, "none"),
        secs(h.longest_heartbeat_gap_s),
        h.lease_expiries
    ));
    let none = if h.distribution_targets == 0 {
        "nothing propagated (add a propagate operation to the workload)"
    } else {
        "no resource reached a member"
    };
    o.push_str(&format!(
        "  distribution   {}\n",
        quantiles(&h.distribution, none)
    ));
    if h.distribution_reached < h.distribution_targets {
        o.push_str(&format!(
            "                 reached {} of {} targets before the run ended\n",
            h.distribution_reached, h.distribution_targets
        ));
    }
    o.push_str(&format!(
        "  API server     mutating p99 {}   read p99 {}   429s {}   controller-manager token wait p99 {}\n",
        maybe(h.api_mutating_p99_s),
        maybe(h.api_readonly_p99_s),
        h.api_429,
        maybe(h.controller_manager_limiter_wait_p99_s)
    ));
    o.push_str(&format!(
        "  etcd           peak {:.0} writes/s   database peak {:.2} GiB of {:.0} GiB quota   fsync p99 {}{}\n",
        h.etcd_write_rate_peak,
        gib(h.etcd_db_peak_bytes),
        gib(h.etcd_quota_bytes),
        maybe(h.etcd_fsync_p99_s),
        match h.etcd_nospace_at_s {
            Some(t) => format!("   NOSPACE alarm at {}", secs(t)),
            None => String::new(),
        }
    ));
    if h.etcd_oversized_writes > 0 {
        o.push_str(&format!(
            "  etcd refused {} writes larger than its 1.5 MiB request limit: a ResourceBinding \
             placed on too many members\n",
            h.etcd_oversized_writes
        ));
    }
    o.push_str(&format!(
        "  CPU at peak    busiest API server {:.2} cores, controllers {:.2} cores\n",
        h.apiserver_cpu_peak_cores, h.controllers_cpu_peak_cores
    ));
    let mut t = Table::new(&[
        ("controller", Align::Left),
        ("workers", Align::Right),
        ("depth max", Align::Right),
        ("queue p99", Align::Right),
        ("reconcile p99", Align::Right),
        ("reconciles", Align::Right),
    ]);
    for c in &h.controllers {
        t.row(vec![
            c.name.clone(),
            c.workers.to_string(),
            format!("{:.0}", c.depth_peak),
            maybe(c.queue_latency_p99_s),
            maybe(c.duration_p99_s),
            c.reconciles.to_string(),
        ]);
    }
    for line in t.render().lines() {
        o.push_str(&format!("  {line}\n"));
    }
    let objects: Vec<String> = h
        .objects_peak
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    o.push_str(&format!("  objects at most: {}\n", objects.join(", ")));
    o
}
