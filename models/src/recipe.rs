//! What one reconcile of each controller does, given what its informer cache shows.
//!
//! A reconcile is a recipe: CPU time, then Prism Central work (CAPX), then writes in order,
//! then a result (done, requeue-after, or requeue with backoff). This module decides the
//! recipe from the objects' state; the world executes it: the writes go through the
//! manager's rate limiter, the API server and etcd, and each one's effect lands on the
//! state when etcd commits it. The steps and their order follow CAPI v1.12.3 and CAPX
//! v1.10.0 (docs/model.md lists each with its source function):
//!
//! - every CAPI object: finalizer patch and return, then a Paused-condition patch and
//!   return (`EnsureFinalizer`, `EnsurePausedCondition`);
//! - status patches only when the status the controller computes differs from the last one
//!   it wrote (`patch.Helper` sends nothing when nothing changed);
//! - MachineSet and KCP create each machine's KubeadmConfig and NutanixMachine by
//!   server-side apply plus a managedFields patch, then the Machine, and apply labels and
//!   annotations with their metadata field manager on the next reconcile;
//! - requeue intervals from the code: KCP 20 s until initialized and 15 s on a failed
//!   scale-up preflight; MachineSet 15 s on preflight failure and until all replicas are
//!   ready; KubeadmConfig 30 s while the control plane is not initialized and 5 min token
//!   refresh; NutanixMachine 5 s while the Machine lacks its providerID.

use sim_core::{SimDuration, SimTime};

use crate::in_memory_cloud::InMemorySettings;
use crate::kinds::{ObjKind, Provider};

/// How a write changes the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// POST, or a server-side apply that creates.
    Create,
    /// PATCH or APPLY of metadata or spec.
    Patch,
    /// PATCH of the status subresource.
    StatusPatch,
    /// DELETE of an object without finalizers: etcd removes it.
    Delete,
    /// DELETE of an object that has finalizers: etcd stores its deletionTimestamp.
    MarkDeleted,
    /// PATCH that removes the last finalizer of an object being deleted: the API server
    /// deletes it from etcd.
    FinalizerRemoved,
    /// An UPDATE that changes nothing: an API request, no etcd write (CAPX's credential
    /// Secret on every NutanixCluster reconcile).
    NoopUpdate,
}

/// The state change a write makes once etcd commits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Effect {
    None,
    ClusterCreated,
    ClusterFinalizer,
    ClusterPaused,
    TopologyApplied,
    ShimCreated,
    ShimDeleted,
    ClusterEndpoint,
    ClusterStatus {
        sig: u64,
        phase: u8,
        infra: bool,
        cp_init: bool,
        ready: bool,
    },
    NcCreated,
    NcOwned,
    NcReady,
    /// The in-memory DevCluster's step before it is provisioned (finalizer, Paused).
    IcStep(u8),
    KcpCreated,
    /// The topology controller created the control plane's machine template.
    CpTemplateCreated,
    /// The topology controller created one of the MachineDeployment's two templates.
    MdTemplateCreated,
    /// KCP created one of the five certificate and kubeconfig Secrets.
    CertSecretCreated,
    /// CABPK created a machine's bootstrap data Secret.
    BootstrapSecretCreated,
    KcpOwned,
    KcpFinalizer,
    KcpPaused,
    KcpStatus {
        sig: u64,
        version: bool,
        init: bool,
        rolled_out: u8,
    },
    /// The user set the Cluster topology's version (an upgrade).
    ClusterVersion {
        version: u8,
    },
    /// The topology controller set the KubeadmControlPlane's version.
    KcpVersion {
        version: u8,
    },
    /// The topology controller set the MachineDeployment's version.
    MdVersion {
        version: u8,
    },
    /// The topology controller reported an upgrade state in TopologyReconciled.
    UpgradeReported {
        state: u8,
    },
    /// The MachineDeployment controller created the MachineSet of a new template: the
    /// current one becomes the old one.
    NewMsCreated {
        version: u8,
        replicas: u32,
    },
    /// The MachineDeployment controller set the old MachineSet's replicas.
    OldMsReplicas {
        replicas: u32,
    },
    /// The MachineSet controller patched the old MachineSet's status.
    OldMsStatus {
        sig: u64,
    },
    /// The MachineDeployment controller deleted the old MachineSet.
    OldMsDeleting,
    /// The topology MachineSet controller removed its finalizer from the old MachineSet.
    OldMsTopologyCleaned,
    /// The old MachineSet is gone.
    OldMsGone,
    /// KCP removed the `kcp-cleanup` pre-terminate hook from a Machine.
    HookRemoved,
    MdCreated,
    /// The Cluster's topology asks for `workers` workers (a user's scale patch).
    TopologyWorkers {
        workers: u32,
    },
    /// The topology controller set the MachineDeployment's replicas.
    MdReplicas {
        replicas: u32,
    },
    /// The MachineDeployment controller set the MachineSet's replicas.
    MsReplicas {
        replicas: u32,
    },
    /// The MachineSet deleted a Machine (deletionTimestamp set).
    MachineDeleting,
    /// The user deleted the Cluster (deletionTimestamp set).
    ClusterDeleting,
    /// The Cluster controller reported a deletion phase.
    ClusterDeletePhase {
        phase: u8,
    },
    /// The Cluster's finalizer is removed: it is gone.
    ClusterGone,
    /// The topology controller reported the Cluster deleting.
    TopologyDeleteReported,
    /// The Cluster controller deleted the MachineDeployment.
    MdDeleting,
    /// The topology MachineDeployment controller removed its finalizer.
    MdTopologyCleaned,
    /// One of the MachineDeployment's two templates is deleted.
    MdTemplateDeleted,
    /// The MachineHealthCheck is deleted.
    MhcGone,
    /// The MachineDeployment is gone.
    MdGone,
    /// The MachineDeployment controller deleted the MachineSet.
    MsDeleting,
    /// The topology MachineSet controller removed its finalizer.
    MsTopologyCleaned,
    /// The MachineSet is gone.
    MsGone,
    /// The Cluster controller deleted the KubeadmControlPlane.
    KcpDeleting,
    /// The KubeadmControlPlane is gone.
    KcpGone,
    /// The Cluster controller deleted the NutanixCluster.
    NcDeleting,
    /// The NutanixCluster is gone.
    NcGone,
    /// The topology controller created the MachineHealthCheck.
    MhcCreated,
    /// The MachineHealthCheck controller patched its status.
    MhcStatus {
        sig: u64,
    },
    /// HealthCheckSucceeded True on a Machine.
    HcHealthy,
    /// HealthCheckSucceeded False and OwnerRemediated False on a Machine.
    HcFailed,
    /// The MachineSet's OwnerRemediated reason on a Machine.
    OwnerRemediated(crate::objects::OwnerRemediated),
    /// The Machine controller recorded the drain start.
    DrainStarted,
    /// The Machine controller deleted the NutanixMachine (deletionTimestamp set).
    NmDeleting,
    /// The Machine controller deleted the KubeadmConfig (no finalizer: gone).
    KcDeleted,
    /// The Machine's finalizer is removed: the Machine is gone.
    MachineGone,
    /// CAPX removed the NutanixMachine's finalizer: it is gone.
    NmGone,
    MdFinalizer,
    MdPaused,
    MdStatus {
        sig: u64,
    },
    MsCreated,
    MsFinalizer,
    MsPaused,
    MsStatus {
        sig: u64,
    },
    LockCreated,
    LockDeleted,
    KcCreated,
    NmCreated,
    MachineCreated {
        version: u8,
    },
    MetadataApplied,
    MachineFinalizer,
    MachinePaused,
    KcOwned,
    NmOwned,
    BootstrapRef,
    ProviderId,
    MachineStatus {
        sig: u64,
        running: bool,
    },
    KcPaused,
    KcWaiting,
    KcReady,
    KcCertExpiry,
    NmFinalizer,
    NmReason {
        sig: u64,
    },
    NmReady,
}

/// The object a write is about: a cluster's or a machine's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A cluster-level object of cluster `.0`.
    Cluster(u32),
    /// A machine-level object of machine `.0`.
    Machine(u32),
}

/// One API write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    /// Kind of the object written.
    pub kind: ObjKind,
    /// How.
    pub verb: Verb,
    /// Whose.
    pub target: Target,
    /// What it changes.
    pub effect: Effect,
}

/// Prism Central work a reconcile does before its writes, holding its worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcWork {
    /// NutanixCluster: list the cluster's category, create it.
    ClusterCategory,
    /// NutanixMachine: look-ups, create the VM, set its custom attributes, power it on,
    /// each task polled every second until done.
    ProvisionVm,
    /// NutanixCluster being deleted: for each of its two categories, a filtered LIST,
    /// then a GET for the ETag and a DELETE.
    ClusterCategoryDelete,
    /// NutanixMachine being deleted: get the VM, list its running tasks, get it again
    /// for its ETag and DELETE it (not waiting for the task); later passes get the VM
    /// (and list its tasks) until it is gone.
    DeleteVm,
}

/// How a reconcile ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `ctrl.Result{}`: forget the backoff.
    Done,
    /// `RequeueAfter`: forget the backoff, add the key again after the delay.
    RequeueAfter(SimDuration),
    /// `Requeue: true`: add the key again after the per-item backoff.
    Requeue,
}

/// One reconcile's recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Writes, in order.
    pub writes: Vec<Write>,
    /// Kubernetes Events recorded (new Event objects).
    pub events: u32,
    /// Repeats of an Event already recorded: client-go's correlator patches its count.
    pub event_repeats: u32,
    /// KCP recorded its first ControlPlaneUnhealthy event for this cluster (the event
    /// recorder remembers it in memory, so later ones are count patches).
    pub records_unhealthy_event: bool,
    /// GETs of Secrets and ConfigMaps, which the CAPI managers do not cache
    /// (`client.CacheOptions{DisableFor}` in each `main.go`), before anything else.
    pub uncached_gets: u32,
    /// An uncached LIST of Machines (KCP's of its control plane) through the manager's
    /// API reader after those GETs, returning this many objects.
    pub uncached_list: Option<u32>,
    /// Calls to the workload cluster (through its ClusterCache connection) after the
    /// LIST, one after another, each holding the worker for its answer.
    pub workload_calls: u32,
    /// The reconcile creates or refreshes its machine's bootstrap token (one of its
    /// workload calls is that write).
    pub token_written: bool,
    /// Dry-run server-side applies after the calls, each a PATCH to the API server that
    /// etcd never sees.
    pub dry_runs: u32,
    /// The dry-run cache entries these dry-runs add (bits in [`SSA_OBJECTS`] order).
    pub dry_run_misses: u8,
    /// Prism Central work before the writes.
    pub pc: Option<PcWork>,
    /// In-memory provider: the reconcile creates its machine's cloud VM (in the
    /// provider's process, no API call).
    pub cloud_machine: bool,
    /// In-memory provider: the reconcile creates its machine's Node in the fake
    /// workload cluster.
    pub node_provisioned: bool,
    /// In-memory provider: the machine's node is up and reachable (a worker's Node; a
    /// control-plane machine's etcd member and API server too).
    pub node_up: bool,
    /// The result.
    pub outcome: Outcome,
}

impl Plan {
    pub(crate) fn new() -> Self {
        Plan {
            writes: Vec::new(),
            events: 0,
            event_repeats: 0,
            records_unhealthy_event: false,
            uncached_gets: 0,
            uncached_list: None,
            workload_calls: 0,
            token_written: false,
            dry_runs: 0,
            dry_run_misses: 0,
            pc: None,
            cloud_machine: false,
            node_provisioned: false,
            node_up: false,
            outcome: Outcome::Done,
        }
    }

    pub(crate) fn write(&mut self, kind: ObjKind, verb: Verb, target: Target, effect: Effect) {
        self.writes.push(Write {
            kind,
            verb,
            target,
            effect,
        });
    }

    pub(crate) fn done(self) -> Self {
        self
    }

    pub(crate) fn after(mut self, secs: u64) -> Self {
        self.outcome = Outcome::RequeueAfter(SimDuration::from_secs(secs));
        self
    }

    pub(crate) fn after_d(mut self, d: SimDuration) -> Self {
        self.outcome = Outcome::RequeueAfter(d);
        self
    }
}

/// A status as a small integer signature: the controller patches when it changes.
pub(crate) fn sig(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9E37_79B9u64, |h, &p| {
        h.wrapping_mul(31).wrapping_add(p + 1)
    })
}

/// What a reconcile sees besides the objects: the time, and the scenario's
/// MachineHealthCheck.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// Now.
    pub now: SimTime,
    /// The MachineHealthCheck's node startup timeout, if the clusters have one.
    pub mhc_timeout: Option<SimDuration>,
    /// Its timeout for a node's Ready condition False or Unknown.
    pub mhc_unhealthy_timeout: SimDuration,
    /// The MachineDeployments' rolling-update `maxSurge` and `maxUnavailable` (CAPI's
    /// defaults are 1 and 0).
    pub rollout: (u32, u32),
    /// The topology controller's dry-run cache TTL, if it dry-runs its applies.
    pub ssa_ttl: Option<SimDuration>,
    /// The infrastructure provider.
    pub provider: Provider,
    /// The in-memory provider's provisioning delays.
    pub in_memory: InMemorySettings,
    /// Uniform draws in [0, 1) for this reconcile's jitter of the VM, Node, API server and
    /// etcd phases (the in-memory provider draws them afresh in every reconcile).
    pub draws: [f64; 4],
}

/// The objects the topology controller applies for a cluster, in its dry-run cache's
/// order: the Cluster, NutanixCluster, KubeadmControlPlane and its machine template, the
/// MachineDeployment, its infrastructure and bootstrap templates, its MachineHealthCheck.
pub const SSA_OBJECTS: [ObjKind; 8] = [
    ObjKind::Cluster,
    ObjKind::NutanixCluster,
    ObjKind::KubeadmControlPlane,
    ObjKind::Template,
    ObjKind::MachineDeployment,
    ObjKind::Template,
    ObjKind::Template,
    ObjKind::MachineHealthCheck,
];
