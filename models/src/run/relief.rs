//! What relieves a bottleneck: the knobs to turn, by resource and where (data, shown in
//! verdicts and reports). These are the guide's levers for each component.

/// Knobs that relieve waiting at `resource` (as the report names it) `at` a place (a
/// controller's workers, a manager's client or CPU limit, Prism Central's task slots).
pub fn relieve(resource: &str, at: &str) -> String {
    let manager = at
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    let manager = manager.strip_suffix("-shard").unwrap_or(manager);
    match resource {
        "workqueue" => {
            let ctrl = at.split_whitespace().next().unwrap_or("");
            let owner = match ctrl {
                "nutanixmachine" | "nutanixcluster" => "capx-controller-manager",
                // CAPD: --concurrency sets the DevMachine workers; its DevCluster
                // controller has no flag (one worker).
                "devmachine" => {
                    return "raise capd-controller-manager.concurrency, or shard capd-controller-manager (topology.controller-shards)".into();
                }
                "devcluster" => {
                    return "shard capd-controller-manager (topology.controller-shards): its DevCluster controller runs one worker".into();
                }
                "kubeadmconfig" => "capi-kubeadm-bootstrap",
                "kubeadmcontrolplane" => "capi-kubeadm-control-plane",
                _ => "capi-controller-manager",
            };
            let flag = ctrl.replace("topology/cluster", "clustertopology");
            format!("raise {owner}.{flag}-concurrency, or shard {owner} (topology.controller-shards)")
        }
        "rate-limiter" => format!(
            "raise {manager}.kube-api-qps and kube-api-burst, or shard {manager} (topology.controller-shards)"
        ),
        "controller-cpu" if at.contains("worker node") => format!(
            "larger or more worker nodes (nodes.workers.vcpu, nodes.workers.count), or raise {manager}.cpu-request (its share of a busy node)"
        ),
        "controller-cpu" => format!("raise {manager}.cpu-limit, or shard {manager}"),
        "prism-central" if at.contains("429") => {
            "a larger prism-central.size (a higher API rate limit), or more Prism Centrals (topology.prism-centrals)".to_string()
        }
        "prism-central" => "a larger prism-central.size or prism-central.max-concurrent-tasks, or more Prism Centrals (topology.prism-centrals)".to_string(),
        "apf-queue" => "raise kube-apiserver.max-requests-inflight and max-mutating-requests-inflight".to_string(),
        "etcd" => "a faster etcd disk (etcd.disk: nvme or nvme-raid1)".to_string(),
        _ => String::new(),
    }
}

/// The checklist items whose failure causes the others, by the start of their names, the
/// first the deepest: etcd's NOSPACE alarm refuses every write (clusters stop getting
/// ready, whatever the bottleneck), and an OOM kill restarts a manager. When one failed,
/// its remedy is the one to give.
pub const ROOT_CAUSES: [&str; 3] = ["No etcd alarms", "etcd database size", "No OOM kills"];

/// Knobs that bring a failing checklist item back within its threshold.
pub fn relieve_item(item: &str) -> String {
    if item.starts_with("Controller CPU") {
        "raise the busiest manager's cpu-limit, or shard it (topology.controller-shards)".into()
    } else if item.starts_with("Controller memory") || item.starts_with("No OOM") {
        "raise the manager's memory-limit, or shard it so each instance caches less".into()
    } else if item.starts_with("etcd database size") || item.starts_with("No etcd alarms") {
        "raise etcd.quota-backend-bytes (8Gi is etcd's suggested maximum) and shorten etcd.auto-compaction-retention, or split the fleet (topology.management-clusters)".into()
    } else if item.starts_with("WAL fsync") {
        "a faster etcd disk (etcd.disk: nvme or nvme-raid1)".into()
    } else if item.starts_with("VM creation") {
        "more Prism Central task slots (prism-central.size, max-concurrent-tasks) or more Prism Centrals".into()
    } else if item.starts_with("API call latency") {
        "raise kube-apiserver inflight limits, or a faster etcd disk".into()
    } else if item.starts_with("Work queue depth") || item.starts_with("Controller reconcile") {
        "raise capi-controller-manager.cluster-concurrency and machine-concurrency, or shard it"
            .into()
    } else if item.starts_with("Federation: resource distribution") {
        "raise federation.karmada-controller-manager.kube-api-qps and kube-api-burst (its Works, statuses and Events share one bucket) and concurrent-resource-binding-syncs (a binding's Works are created one after another), or place each resource on fewer members".into()
    } else if item.starts_with("Federation: member heartbeat") {
        "pull mode: raise federation.karmada-agent.kube-api-qps or give the hub's API server more inflight seats; push mode: raise federation.karmada-controller-manager.concurrent-cluster-syncs, or register the members in pull mode".into()
    } else if item.starts_with("All clusters ready") {
        "relieve the bottleneck below, or split the fleet (topology.management-clusters)".into()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bottleneck_names_its_knob() {
        assert!(
            relieve("workqueue", "devmachine workers")
                .contains("capd-controller-manager.concurrency")
        );
        assert!(
            relieve("workqueue", "nutanixmachine workers")
                .contains("capx-controller-manager.nutanixmachine-concurrency")
        );
        assert!(
            relieve("rate-limiter", "capi-controller-manager-shard-2 client")
                .contains("capi-controller-manager.kube-api-qps")
        );
        assert!(
            relieve("controller-cpu", "capi-kubeadm-bootstrap CPU limit")
                .contains("capi-kubeadm-bootstrap.cpu-limit")
        );
        assert!(
            relieve(
                "controller-cpu",
                "capi-kubeadm-bootstrap CPU (worker node saturated)"
            )
            .contains("nodes.workers.vcpu")
        );
        assert!(relieve("prism-central", "task slots").contains("max-concurrent-tasks"));
        assert!(relieve_item("Controller CPU < 80% of limits").contains("cpu-limit"));
        assert!(
            relieve_item("Federation: resource distribution latency < 2s p99")
                .contains("karmada-controller-manager.kube-api-qps")
        );
    }
}
