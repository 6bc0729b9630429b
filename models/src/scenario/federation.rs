//! The federation hub's knobs (scenario section `federation:`): a Karmada control plane
//! above the management clusters (the guide's Extreme tier, "Hierarchical Fleet with
//! Karmada-Style Federation"). Each knob is named by the Karmada flag that sets it; the
//! defaults are Karmada v1.19's (docs/model.md, "Federation hub"). The model itself is
//! [`crate::federation`].

use serde::{Deserialize, Serialize};

use super::node_pools::NodePool;
use super::values::{DiskClass, Qps};
use crate::dist::Dist;
use crate::units::{Bytes, Secs};

/// How member clusters are registered: Karmada's two cluster sync modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncMode {
    /// karmada-controller-manager reaches every member itself: its cluster-status and
    /// execution controllers, through its own client and one client per member.
    Push,
    /// A `karmada-agent` in each member watches the hub and writes back through its own
    /// client: heartbeats, Work applies and statuses.
    Pull,
}

/// A client's `--kube-api-qps` and `--kube-api-burst`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientSettings {
    /// `--kube-api-qps`: sustained requests per second, or `off`.
    pub kube_api_qps: Qps,
    /// `--kube-api-burst`.
    pub kube_api_burst: u32,
}

/// karmada-controller-manager's flags.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ControllerManagerSettings {
    /// `--kube-api-qps`: its client to the hub's API server.
    pub kube_api_qps: Qps,
    /// `--kube-api-burst`.
    pub kube_api_burst: u32,
    /// `--cluster-api-qps`: each of its clients to a member's API server (push mode).
    pub cluster_api_qps: Qps,
    /// `--cluster-api-burst`.
    pub cluster_api_burst: u32,
    /// `--concurrent-cluster-syncs`: the cluster controller's workers.
    pub concurrent_cluster_syncs: u32,
    /// `--concurrent-resourcetemplate-syncs`: the resource detector's workers.
    pub concurrent_resourcetemplate_syncs: u32,
    /// `--concurrent-resource-binding-syncs`: the binding controller's workers.
    pub concurrent_resource_binding_syncs: u32,
    /// `--concurrent-work-syncs`: the execution controller's workers (push mode).
    pub concurrent_work_syncs: u32,
}

/// karmada-agent's flags (pull mode; one agent per member).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AgentSettings {
    /// `--kube-api-qps`: its client to the hub's API server.
    pub kube_api_qps: Qps,
    /// `--kube-api-burst`.
    pub kube_api_burst: u32,
    /// `--cluster-api-qps`: its client to its own member's API server.
    pub cluster_api_qps: Qps,
    /// `--cluster-api-burst`.
    pub cluster_api_burst: u32,
    /// `--concurrent-work-syncs`: its execution controller's workers.
    pub concurrent_work_syncs: u32,
    /// `--cluster-lease-duration`.
    pub cluster_lease_duration: Secs,
    /// `--cluster-lease-renew-interval-fraction`: the member's Lease is renewed every
    /// duration × this (the pull-mode heartbeat).
    pub cluster_lease_renew_interval_fraction: f64,
    /// `--leader-elect`: the agent holds a leader-election Lease, kept on the hub.
    pub leader_elect: bool,
}

/// The hub's API server and etcd: a kube-apiserver and an etcd like the management
/// cluster's, so their per-request costs are the management cluster's (`kube-apiserver`,
/// `etcd`); these are the knobs a hub sets apart.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HubControlPlane {
    /// karmada-apiserver replicas.
    pub replicas: u32,
    /// `--max-requests-inflight`.
    pub max_requests_inflight: u32,
    /// `--max-mutating-requests-inflight`.
    pub max_mutating_requests_inflight: u32,
    /// karmada-etcd's disk class.
    pub etcd_disk: DiskClass,
    /// karmada-etcd's `--quota-backend-bytes`.
    pub etcd_quota_backend_bytes: Bytes,
}

/// Sizes of the hub's objects as etcd stores them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HubObjectSizes {
    /// A Cluster with its status (API enablements, node and resource summaries).
    pub cluster: Bytes,
    /// A Lease.
    pub lease: Bytes,
    /// A Namespace (each member's execution namespace `karmada-es-<member>`).
    pub namespace: Bytes,
    /// A propagated resource template (a Deployment, say), and its copy in each Work.
    pub template: Bytes,
    /// A PropagationPolicy.
    pub policy: Bytes,
    /// A ResourceBinding without its target list and aggregated status.
    pub binding: Bytes,
    /// What each target member adds to a ResourceBinding (its name and replicas in
    /// `spec.clusters`, its entry in `status.aggregatedStatus`).
    pub binding_per_member: Bytes,
    /// A Work around its manifest (metadata, conditions, manifest status).
    pub work_overhead: Bytes,
    /// A Kubernetes Event.
    pub event: Bytes,
}

/// The federation hub.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FederationSettings {
    /// Whether the fleet has a hub: every workload cluster that becomes ready joins it.
    pub enabled: bool,
    /// `push` or `pull` (Karmada's cluster sync modes).
    pub mode: SyncMode,
    /// `--cluster-status-update-frequency`: how often each member's status is collected
    /// and, if it changed, written to its Cluster (the push-mode heartbeat).
    pub cluster_status_update_frequency: Secs,
    /// `--cluster-monitor-grace-period`: a pull member's Lease older than this marks it
    /// NotReady.
    pub cluster_monitor_grace_period: Secs,
    /// `--leader-elect-retry-period` of the controller-manager, the scheduler and the
    /// agents: a leader renews its leader-election Lease this often.
    pub leader_elect_retry_period: Secs,
    /// Calls a status collection makes to its member: `/readyz`, `/version`, and the
    /// discovery of its API groups (aggregated discovery: 2).
    pub member_calls_per_status: u32,
    /// Fraction of status collections whose result differs from the Cluster's status,
    /// so that it is written (Karmada writes only a changed status; the resource summary
    /// sums every pod of the member, so pod churn changes it).
    pub status_change_fraction: f64,
    /// Status changes of a propagated resource on its member after the apply (a
    /// Deployment's replicas becoming updated, ready, available), each written into its
    /// Work by the work-status controller.
    pub status_reflections: u32,
    /// Latency of one call to a member's API server, network included [s].
    pub member_api_latency: Dist,
    /// Time from a member applying a resource to its status changing (a Deployment's
    /// pods starting), which the work-status controller writes back [s].
    pub member_status_delay: Dist,
    /// CPU of one reconcile of a Karmada controller on the hub's nodes (the agents'
    /// reconciles run in the members and are not counted) [s].
    pub reconcile_cpu: Dist,
    /// karmada-apiserver and karmada-etcd.
    pub control_plane: HubControlPlane,
    /// karmada-controller-manager.
    pub karmada_controller_manager: ControllerManagerSettings,
    /// karmada-scheduler's client.
    pub karmada_scheduler: ClientSettings,
    /// karmada-agent, in pull mode.
    pub karmada_agent: AgentSettings,
    /// The hub's nodes (its API servers, etcd and controllers run on them).
    pub nodes: NodePool,
    /// Its objects' sizes.
    pub object_sizes: HubObjectSizes,
}

impl FederationSettings {
    /// The pull-mode heartbeat: the agent's Lease renewal period [s].
    pub fn lease_renew_interval_s(&self) -> f64 {
        let a = &self.karmada_agent;
        a.cluster_lease_duration.0 * a.cluster_lease_renew_interval_fraction
    }

    /// The first knob outside its range: its field, value and what is allowed.
    pub fn problem(&self) -> Option<(String, String, String)> {
        let bad = |name: &str, v: String, why: &str| {
            Some((format!("federation.{name}"), v, why.to_string()))
        };
        let a = &self.karmada_agent;
        for (name, v) in [
            (
                "cluster-status-update-frequency",
                self.cluster_status_update_frequency.0,
            ),
            (
                "cluster-monitor-grace-period",
                self.cluster_monitor_grace_period.0,
            ),
            (
                "leader-elect-retry-period",
                self.leader_elect_retry_period.0,
            ),
            (
                "karmada-agent.cluster-lease-duration",
                a.cluster_lease_duration.0,
            ),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, format!("{v}s"), "must be a duration > 0, e.g. 10s");
            }
        }
        let fr = a.cluster_lease_renew_interval_fraction;
        if !(fr > 0.0 && fr < 1.0) {
            return bad(
                "karmada-agent.cluster-lease-renew-interval-fraction",
                fr.to_string(),
                "must lie in (0, 1): the Lease is renewed before it expires (Karmada: 0.25)",
            );
        }
        if !(0.0..=1.0).contains(&self.status_change_fraction) {
            let v = self.status_change_fraction.to_string();
            return bad("status-change-fraction", v, "must lie in [0, 1]");
        }
        for (name, d) in [
            ("member-api-latency", &self.member_api_latency),
            ("member-status-delay", &self.member_status_delay),
            ("reconcile-cpu", &self.reconcile_cpu),
        ] {
            if let Err(e) = d.check() {
                return bad(name, format!("{d:?}"), &e);
            }
        }
        let cp = &self.control_plane;
        let cm = &self.karmada_controller_manager;
        for (name, v, lo, hi) in [
            (
                "member-calls-per-status",
                self.member_calls_per_status,
                0,
                100,
            ),
            ("status-reflections", self.status_reflections, 0, 100),
            ("control-plane.replicas", cp.replicas, 1, 64),
            (
                "control-plane.max-requests-inflight",
                cp.max_requests_inflight,
                1,
                100_000,
            ),
            (
                "control-plane.max-mutating-requests-inflight",
                cp.max_mutating_requests_inflight,
                1,
                100_000,
            ),
            (
                "karmada-controller-manager.concurrent-cluster-syncs",
                cm.concurrent_cluster_syncs,
                1,
                10_000,
            ),
            (
                "karmada-controller-manager.concurrent-resourcetemplate-syncs",
                cm.concurrent_resourcetemplate_syncs,
                1,
                10_000,
            ),
            (
                "karmada-controller-manager.concurrent-resource-binding-syncs",
                cm.concurrent_resource_binding_syncs,
                1,
                10_000,
            ),
            (
                "karmada-controller-manager.concurrent-work-syncs",
                cm.concurrent_work_syncs,
                1,
                10_000,
            ),
            (
                "karmada-agent.concurrent-work-syncs",
                a.concurrent_work_syncs,
                1,
                10_000,
            ),
            ("nodes.count", self.nodes.count, 1, 1_000),
        ] {
            if v < lo || v > hi {
                return bad(name, v.to_string(), &format!("must lie in {lo}..={hi}"));
            }
        }
        if !(self.nodes.vcpu.is_finite() && self.nodes.vcpu > 0.0) {
            return bad("nodes.vcpu", self.nodes.vcpu.to_string(), "must be > 0");
        }
        if cp.etcd_quota_backend_bytes.0 == 0 {
            return bad(
                "control-plane.etcd-quota-backend-bytes",
                "0".into(),
                "must be > 0, e.g. 8Gi",
            );
        }
        None
    }
}
