//! The management cluster's nodes as a scenario states them: pools of identical nodes
//! and what the kubelet keeps from pods on each.

use serde::{Deserialize, Serialize};

use crate::units::{Bytes, Cores};

/// A group of identical nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NodePool {
    /// Nodes [count].
    pub count: u32,
    /// vCPU per node.
    pub vcpu: f64,
    /// Memory per node.
    pub memory: Bytes,
}

/// The management cluster's nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NodesConfig {
    /// Whether every component shares its node's CPU (CFS). Off: a manager's reconciles
    /// take slots of its CPU limit; the nodes' CPU is only reported as demand.
    pub cpu_sharing: bool,
    /// Whether a thread with a core of its own (its node not full, its pod below its
    /// limit) is scheduled to its end when it starts, instead of through the
    /// processor-sharing server's events. The same model, about a tenth faster: only
    /// the rounding of the instants differs. Off: every thread through the server.
    pub cpu_direct_threads: bool,
    /// Whether a node out of memory acts: a control-plane node's kernel OOM-kills its API
    /// server, a worker's kubelet evicts a manager's pod. Off: memory is only demand.
    pub memory_kills: bool,
    /// CPU kept from pods on every node (kube- and system-reserved, DaemonSets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_cpu: Option<Cores>,
    /// Memory kept from pods on every node (as `reserved-cpu`).
    pub reserved_memory: Bytes,
    /// The kubelet's hard eviction threshold `memory.available`, also kept from pods.
    pub eviction_hard_memory: Bytes,
    /// Control-plane nodes (API server; etcd too unless dedicated).
    pub control_plane: NodePool,
    /// Dedicated etcd nodes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<NodePool>,
    /// Worker nodes running the controllers.
    pub workers: NodePool,
}
