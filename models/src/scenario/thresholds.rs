//! The scale-testing checklist's thresholds: the guide's "During Scale" targets.

use serde::{Deserialize, Serialize};

use crate::units::Secs;

/// The scale-testing checklist of the guide ("During Scale").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Thresholds {
    /// Controller reconcile time p99 below this.
    pub reconcile_p99: Secs,
    /// Controllers the reconcile-time item applies to: the guide's alert selects
    /// `controller=~"cluster|machine|kubeadmcontrolplane"`.
    pub reconcile_p99_controllers: Vec<String>,
    /// Workqueue depth below this [items].
    pub workqueue_depth: f64,
    /// ...unless above it only for less than this: the guide's CAPIWorkQueueBacklog alert
    /// fires after `for: 5m`, so a resync burst that drains sooner does not count.
    pub workqueue_depth_for: Secs,
    /// Controllers the workqueue item applies to: the guide's alert selects
    /// `name=~"cluster|machine"`.
    pub workqueue_depth_controllers: Vec<String>,
    /// Controller CPU below this fraction of its limit.
    pub controller_cpu_fraction: f64,
    /// Controller memory below this fraction of its limit.
    pub controller_memory_fraction: f64,
    /// etcd database size below this fraction of the quota.
    pub etcd_size_fraction: f64,
    /// WAL fsync p99 below this.
    pub wal_fsync_p99: Secs,
    /// VM creation time p95 below this.
    pub vm_create_p95: Secs,
    /// Mutating API call latency p99 below this (Karmada's target, in the guide).
    pub api_mutating_p99: Secs,
    /// The federation hub's resource distribution latency p99 below this (Karmada's
    /// target, in the guide).
    pub distribution_p99: Secs,
    /// The federation hub's member heartbeat p99 below this ("cluster-to-controller
    /// heartbeat", Karmada's target, in the guide).
    pub heartbeat_p99: Secs,
}
