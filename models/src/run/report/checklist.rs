//! The guide's scale-testing checklist ("During Scale"), evaluated on a run's report
//! against the configuration's thresholds.

use super::{ChecklistItem, RunReport};
use crate::scenario::config::Thresholds;

fn max_of(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(0.0, f64::max)
}

fn item(name: &str, value: f64, threshold: f64, unit: &str, pass: bool) -> ChecklistItem {
    ChecklistItem {
        name: name.to_string(),
        value,
        threshold,
        unit: unit.to_string(),
        pass,
    }
}

/// The items' names in the guide's order, as [`evaluate`] lists them: what charts and
/// tables that key items by name sort by.
pub const ORDER: [&str; 13] = [
    "All clusters ready",
    "Controller reconcile time < 60s p99",
    "Work queue depth < 100 (cluster and machine queues, for 5m)",
    "Controller CPU < 80% of limits",
    "Controller memory < 80% of limits",
    "No OOM kills",
    "etcd database size < 75% of quota",
    "WAL fsync latency < 25ms p99",
    "No etcd alarms triggered",
    "VM creation time < 5 minutes p95",
    "API call latency (mutating) < 1s p99",
    "Federation: resource distribution latency < 2s p99",
    "Federation: member heartbeat < 5s p99",
];

/// The federation hub's items (Karmada's targets, in the guide), after the others: the
/// heartbeat's, and the distribution latency's when the workload `propagated` anything.
/// A target with no sample fails (nothing reached a member, or no member joined), and so
/// does a distribution that left a target unreached, or a heartbeat that let a member's
/// Lease expire.
pub fn federation(
    hub: &crate::federation::HubReport,
    th: &Thresholds,
    propagated: bool,
) -> Vec<ChecklistItem> {
    let judged = |q: &crate::federation::report::Quantiles, limit: f64| match q.p99_s {
        Some(v) => (v, v < limit),
        None => (0.0, false),
    };
    let mut items = Vec::new();
    if propagated {
        // Every target must be reached: a p99 over those that were says nothing of
        // those that were not.
        let (v, pass) = judged(&hub.distribution, th.distribution_p99.0);
        let all = hub.distribution_reached >= hub.distribution_targets;
        items.push(item(ORDER[11], v, th.distribution_p99.0, "s", pass && all));
    }
    // A member marked NotReady for want of a heartbeat fails it whatever the p99.
    let (v, pass) = judged(&hub.heartbeat, th.heartbeat_p99.0);
    let none_expired = hub.lease_expiries == 0;
    items.push(item(
        ORDER[12],
        v,
        th.heartbeat_p99.0,
        "s",
        pass && none_expired,
    ));
    items
}

/// Every item of the checklist, in the guide's order. One `item` per line of the guide's
/// list, which is why the function is long.
pub(super) fn evaluate(r: &RunReport, th: &Thresholds) -> Vec<ChecklistItem> {
    let reconcile_p99 = max_of(
        r.controllers
            .iter()
            .filter(|c| th.reconcile_p99_controllers.contains(&c.name))
            .map(|c| c.reconcile_p99_s),
    );
    let depth_for = max_of(
        r.controllers
            .iter()
            .filter(|c| th.workqueue_depth_controllers.contains(&c.name))
            .map(|c| c.depth_above_threshold_longest_s),
    );
    let cpu_frac = max_of(
        r.managers
            .iter()
            .map(|x| x.cpu_peak_cores / x.cpu_limit_cores),
    );
    let mem_frac = max_of(
        r.managers
            .iter()
            .map(|x| x.memory_peak_bytes / x.memory_limit_bytes),
    );
    // A manager OOM-killed or evicted for memory, an API server OOM-killed, or a node role
    // whose memory demand exceeds its nodes'.
    let oom_total: u32 = r
        .managers
        .iter()
        .map(|x| x.oom_kills + x.evictions)
        .sum::<u32>()
        + r.apiserver.oom_kills
        + r.capacity.iter().filter(|c| !c.fits).count() as u32;
    let (etcd, pc, api) = (&r.etcd, &r.prism_central, &r.apiserver);
    let ready = r.fleet.clusters_ready;
    vec![
        item(
            "All clusters ready",
            f64::from(ready),
            f64::from(r.fleet.clusters),
            "clusters",
            ready == r.fleet.clusters,
        ),
        item(
            "Controller reconcile time < 60s p99",
            reconcile_p99,
            th.reconcile_p99.0,
            "s",
            reconcile_p99 < th.reconcile_p99.0,
        ),
        item(
            "Work queue depth < 100 (cluster and machine queues, for 5m)",
            depth_for,
            th.workqueue_depth_for.0,
            "s",
            depth_for < th.workqueue_depth_for.0,
        ),
        item(
            "Controller CPU < 80% of limits",
            cpu_frac,
            th.controller_cpu_fraction,
            "fraction",
            cpu_frac < th.controller_cpu_fraction,
        ),
        item(
            "Controller memory < 80% of limits",
            mem_frac,
            th.controller_memory_fraction,
            "fraction",
            mem_frac < th.controller_memory_fraction,
        ),
        item(
            "No OOM kills",
            f64::from(oom_total),
            0.0,
            "kills",
            oom_total == 0,
        ),
        item(
            "etcd database size < 75% of quota",
            etcd.db_peak_fraction,
            th.etcd_size_fraction,
            "fraction",
            etcd.db_peak_fraction < th.etcd_size_fraction,
        ),
        item(
            "WAL fsync latency < 25ms p99",
            etcd.fsync_p99_s,
            th.wal_fsync_p99.0,
            "s",
            etcd.fsync_p99_s < th.wal_fsync_p99.0,
        ),
        item(
            "No etcd alarms triggered",
            f64::from(u8::from(etcd.nospace_at_s.is_some())),
            0.0,
            "alarms",
            etcd.nospace_at_s.is_none(),
        ),
        item(
            "VM creation time < 5 minutes p95",
            pc.vm_create_p95_s,
            th.vm_create_p95.0,
            "s",
            pc.vm_create_p95_s < th.vm_create_p95.0,
        ),
        item(
            "API call latency (mutating) < 1s p99",
            api.mutating_p99_s,
            th.api_mutating_p99.0,
            "s",
            api.mutating_p99_s < th.api_mutating_p99.0,
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_order_is_the_order_items_are_evaluated_in() {
        let plan = crate::run::RunPlan::new(
            crate::scenario::presets::resolve(crate::scenario::presets::Tier::Small, &[]).unwrap(),
            "small",
            crate::scenario::operations::FleetSpec::all_at_once(1, 1, 1),
            1,
        );
        let r = crate::run::run(&plan).unwrap().report;
        let names: Vec<&str> = r.checklist.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, super::ORDER[..11]);
        // With a federation hub and a propagation, its two items follow.
        let mut plan = plan;
        plan.config.federation.enabled = true;
        plan.after = vec![crate::scenario::operations::AfterOp::Propagate {
            resources: 1,
            fraction: 1.0,
        }];
        let r = crate::run::run(&plan).unwrap().report;
        let names: Vec<&str> = r.checklist.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, super::ORDER);
    }
}
