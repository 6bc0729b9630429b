//! The operations that follow a fleet's creation, run one after the other: each starts
//! when the previous one has finished.
//!
//! - `create`: more clusters, of the first create's shape, join the ready fleet; it has
//!   finished when every cluster is ready.
//! - `steady`: the ready fleet runs unchanged for a while ([`crate::run::steady`]).
//! - `scale`: every cluster's MachineDeployment grows (or shrinks) by `by` workers. The
//!   user patches the Cluster's topology; the topology controller patches the
//!   MachineDeployment's replicas; the MachineDeployment controller patches its
//!   MachineSet's; the MachineSet creates the new Machines as at creation, or deletes the
//!   surplus. It has finished when every cluster runs exactly its new count.
//! - `upgrade`: a rolling Kubernetes upgrade of every cluster, `wave` clusters at a time.
//!   The user patches the Cluster topology's version; the topology controller patches the
//!   KubeadmControlPlane's, which replaces its Machines one at a time (a new one first);
//!   once the control plane has rolled out, the topology controller patches the
//!   MachineDeployment's, which rolls a new MachineSet in and the old one out within
//!   `max-surge` and `max-unavailable`. A cluster has finished when every Machine runs the
//!   new version and the old MachineSet is gone; the next wave starts then, and the
//!   operation has finished with the last wave.
//! - `delete`: the user deletes every Cluster; CAPI deletes the MachineDeployment (and so
//!   the MachineSet and the workers), then the KubeadmControlPlane (and the control-plane
//!   Machines), then the NutanixCluster, then the Cluster itself. It has finished when no
//!   Cluster is left and the garbage collector has deleted what their objects owned.

use serde::Serialize;

use crate::scenario::workload::{CreateOp, WaitFor};
use sim_core::{SimDuration, SimTime};

/// One operation after the create.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AfterOp {
    /// Add `clusters` clusters of the first create's shape to the fleet, `batch` every
    /// `every` (all at once if `batch` is 0); finished when every cluster is ready.
    Create {
        /// Clusters added [count].
        clusters: u32,
        /// Clusters applied together; 0: all at once.
        batch: u32,
        /// Time between batches.
        every: SimDuration,
        /// What each batch after the first waits for; `None`: the clock.
        wait: Option<WaitFor>,
    },
    /// Keep the ready fleet running this long.
    Steady(SimDuration),
    /// Add `by` workers to every cluster's MachineDeployment (remove, if negative).
    Scale {
        /// Workers added per cluster.
        by: i32,
    },
    /// Upgrade every cluster's Kubernetes version.
    Upgrade {
        /// Clusters upgraded at a time; the next wave starts when the last one has
        /// finished. 0: all at once.
        wave: u32,
        /// The MachineDeployments' rolling-update maxSurge [machines].
        max_surge: u32,
        /// Their maxUnavailable [machines].
        max_unavailable: u32,
    },
    /// Delete every cluster.
    Delete,
    /// Propagate `resources` templates to `fraction` of the federation hub's members:
    /// the hub's work, so a management cluster finishes it at once.
    Propagate {
        /// Resource templates [count].
        resources: u32,
        /// Share of the members each is placed on.
        fraction: f64,
    },
    /// An operation's `at:`: the next one starts no earlier than this, from the start of
    /// the run (not an operation of its own: it is not reported).
    WaitUntil(SimDuration),
}

impl AfterOp {
    /// The name scenarios use.
    pub fn name(&self) -> &'static str {
        match self {
            AfterOp::Create { .. } => "create",
            AfterOp::Steady(_) => "steady",
            AfterOp::Scale { .. } => "scale",
            AfterOp::Upgrade { .. } => "upgrade",
            AfterOp::Delete => "delete",
            AfterOp::Propagate { .. } => "propagate",
            AfterOp::WaitUntil(_) => "wait",
        }
    }
}

/// When one operation of the workload ran.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpTiming {
    /// `create`, `scale`, `upgrade`, `steady` or `delete`.
    pub op: String,
    /// Start, from the beginning of the run [s].
    pub started_s: f64,
    /// End [s]; absent if the run stopped first.
    pub finished_s: Option<f64>,
}

/// The fleet to create.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FleetSpec {
    /// Workload clusters [count].
    pub clusters: u32,
    /// Machines per cluster, control plane included [count].
    pub machines_per_cluster: u32,
    /// Control-plane machines per cluster (1, 3 or 5).
    pub control_plane_replicas: u32,
    /// Clusters applied together, a batch every `batch_interval_s`; all at once if `None`.
    pub batch: Option<u32>,
    /// Time between batches [s].
    pub batch_interval_s: f64,
    /// What each batch after the first waits for (`wait: ready` or `window`) instead of
    /// the clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitFor>,
    /// Classic clusters (`topology: false`): the user applies each cluster's objects,
    /// no ClusterClass.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub classic: bool,
}

impl FleetSpec {
    /// `clusters` clusters of `machines_per_cluster` machines, `control_plane_replicas` of
    /// them control plane, all applied at once.
    pub fn all_at_once(
        clusters: u32,
        machines_per_cluster: u32,
        control_plane_replicas: u32,
    ) -> Self {
        FleetSpec {
            clusters,
            machines_per_cluster,
            control_plane_replicas,
            batch: None,
            batch_interval_s: 0.0,
            wait: None,
            classic: false,
        }
    }

    /// The scenario file's `create` that makes this fleet (at the start of the run).
    pub fn create_op(&self) -> CreateOp {
        CreateOp {
            clusters: self.clusters,
            machines_per_cluster: self.machines_per_cluster,
            control_plane_replicas: self.control_plane_replicas,
            batch: self.batch,
            every: (self.batch_interval_s > 0.0)
                .then_some(crate::units::Secs(self.batch_interval_s)),
            wait: self.wait,
            at: None,
            topology: !self.classic,
        }
    }

    /// When cluster `c` is applied.
    pub fn applied_at(&self, c: u32) -> SimTime {
        match self.batch {
            Some(b) if b > 0 => {
                SimTime::ZERO + SimDuration::from_secs_f64(f64::from(c / b) * self.batch_interval_s)
            }
            _ => SimTime::ZERO,
        }
    }
}
