//! The in-memory provider's cloud: the provisioning delays of each machine's VM, Node,
//! API server and etcd member, as its machine template (`DevMachineTemplate`'s
//! `backend.inMemory`) states them. CAPI v1.12 `test/infrastructure/docker/api/v1beta2`
//! `CommonProvisioningSettings`; the phases run in
//! `internal/controllers/backends/inmemory/inmemorymachine_backend.go`.

use serde::{Deserialize, Serialize};

use crate::units::Secs;

/// One provisioning phase of an in-memory machine: it takes `startup-duration` plus a
/// uniform draw of up to `startup-jitter` × that (`CommonProvisioningSettings`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Phase {
    /// `provisioning.startupDuration`.
    pub startup_duration: Secs,
    /// `provisioning.startupJitter`: a fraction of the duration.
    pub startup_jitter: f64,
}

impl Phase {
    /// The phase's length for a uniform draw `u` in [0, 1) [s].
    pub fn duration(self, u: f64) -> f64 {
        self.startup_duration.0 * (1.0 + u * self.startup_jitter)
    }
}

/// The in-memory provider's machine template (`DevMachineTemplate`'s
/// `backend.inMemory`): the VM, then its Node, then (control-plane machines) etcd and
/// the API server together.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct InMemorySettings {
    /// The cloud VM.
    pub vm: Phase,
    /// The Node in the workload cluster, from the VM provisioned.
    pub node: Phase,
    /// The API server's static pod, from the Node provisioned.
    pub api_server: Phase,
    /// The etcd member's static pod, from the Node provisioned.
    pub etcd: Phase,
}
