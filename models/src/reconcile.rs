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

use crate::controllers::Controller;
use crate::fleet::{ClusterState, MachineState, ObjKind, OldMachineSet};

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
    /// Prism Central work before the writes.
    pub pc: Option<PcWork>,
    /// The result.
    pub outcome: Outcome,
}

impl Plan {
    fn new() -> Self {
        Plan {
            writes: Vec::new(),
            events: 0,
            event_repeats: 0,
            records_unhealthy_event: false,
            pc: None,
            outcome: Outcome::Done,
        }
    }

    fn write(&mut self, kind: ObjKind, verb: Verb, target: Target, effect: Effect) {
        self.writes.push(Write {
            kind,
            verb,
            target,
            effect,
        });
    }

    fn done(self) -> Self {
        self
    }

    fn after(mut self, secs: u64) -> Self {
        self.outcome = Outcome::RequeueAfter(SimDuration::from_secs(secs));
        self
    }
}

/// A status as a small integer signature: the controller patches when it changes.
fn sig(parts: &[u64]) -> u64 {
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
}

/// The reconcile of `controller` for `key` (a cluster or machine index).
pub fn plan(
    controller: Controller,
    key: u32,
    clusters: &[ClusterState],
    machines: &[MachineState],
    ctx: &Ctx,
) -> Plan {
    match controller {
        Controller::MachineHealthCheck => {
            machine_health_check(key, &clusters[key as usize], machines, ctx)
        }
        Controller::Cluster => cluster(key, &clusters[key as usize]),
        Controller::ClusterTopology => topology(key, &clusters[key as usize], ctx),
        Controller::NutanixCluster => nutanix_cluster(key, &clusters[key as usize]),
        Controller::KubeadmControlPlane => kcp(key, &clusters[key as usize], machines),
        Controller::MachineDeployment => {
            machine_deployment(key, &clusters[key as usize], machines, ctx)
        }
        Controller::MachineSet => machine_set(key, &clusters[key as usize], machines),
        Controller::Machine => {
            let m = &machines[key as usize];
            machine(key, m, &clusters[m.cluster as usize])
        }
        Controller::KubeadmConfig => {
            let m = &machines[key as usize];
            kubeadm_config(key, m, &clusters[m.cluster as usize])
        }
        Controller::NutanixMachine => nutanix_machine(key, &machines[key as usize]),
    }
}

fn cluster(c: u32, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if !cl.exists {
        return p;
    }
    if cl.deleting {
        return cluster_delete(c, cl);
    }
    if !cl.finalizer {
        p.write(ObjKind::Cluster, Verb::Patch, t, Effect::ClusterFinalizer);
        return p;
    }
    if !cl.paused {
        p.write(
            ObjKind::Cluster,
            Verb::StatusPatch,
            t,
            Effect::ClusterPaused,
        );
        return p;
    }
    if cl.topology_applied {
        if cl.nc_exists && !cl.nc_owned {
            p.write(ObjKind::NutanixCluster, Verb::Patch, t, Effect::NcOwned);
        }
        if cl.kcp_exists && !cl.kcp_owned {
            p.write(
                ObjKind::KubeadmControlPlane,
                Verb::Patch,
                t,
                Effect::KcpOwned,
            );
        }
        if cl.nc_ready && !cl.endpoint {
            p.write(ObjKind::Cluster, Verb::Patch, t, Effect::ClusterEndpoint);
        }
    }
    let infra = cl.nc_ready;
    let cp_init = cl.kcp_init_reported;
    let ready = cl.running == cl.machines() && cl.kcp_init_reported;
    let phase: u8 = match (cl.topology_applied, infra && cl.endpoint) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    };
    let s = sig(&[
        u64::from(phase),
        infra as u64,
        cp_init as u64,
        cl.cp_running as u64,
        cl.workers_running as u64,
    ]);
    if s != cl.status_sig {
        // One event per phase change (Pending, Provisioning, Provisioned) and per
        // condition that turned true (InfrastructureReady, ControlPlaneInitialized).
        p.events += u32::from(cl.status_sig == 0 || phase != cl.phase_reported)
            + u32::from(infra && !cl.infra_reported)
            + u32::from(cp_init && !cl.cp_init_reported);
        let effect = Effect::ClusterStatus {
            sig: s,
            phase,
            infra,
            cp_init,
            ready,
        };
        p.write(ObjKind::Cluster, Verb::StatusPatch, t, effect);
    }
    p.done()
}

fn topology(c: u32, cl: &ClusterState, ctx: &Ctx) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if !cl.exists {
        return p;
    }
    if cl.deleting {
        // The managed topology stops; without RuntimeSDK hooks only TopologyReconciled
        // turns False (Deleting) in the deferred patch.
        if !cl.topology_delete_reported {
            p.write(
                ObjKind::Cluster,
                Verb::StatusPatch,
                t,
                Effect::TopologyDeleteReported,
            );
        }
        return p;
    }
    // The desired state is computed whole each time: only what is missing is created,
    // so a reconcile whose writes failed part-way picks up where it stopped.
    let applying = !cl.topology_applied;
    if applying {
        if !cl.shim {
            p.write(ObjKind::Secret, Verb::Create, t, Effect::ShimCreated);
        }
        if !cl.nc_exists {
            p.write(ObjKind::NutanixCluster, Verb::Create, t, Effect::NcCreated);
        }
        if !cl.cp_template {
            p.write(
                ObjKind::Template,
                Verb::Create,
                t,
                Effect::CpTemplateCreated,
            );
        }
        if !cl.kcp_exists {
            p.write(
                ObjKind::KubeadmControlPlane,
                Verb::Create,
                t,
                Effect::KcpCreated,
            );
        }
        p.write(ObjKind::Cluster, Verb::Patch, t, Effect::TopologyApplied);
    } else if cl.shim && cl.nc_owned && cl.kcp_owned {
        p.write(ObjKind::Secret, Verb::Delete, t, Effect::ShimDeleted);
    }
    if applying || !cl.md_exists {
        for _ in cl.md_templates..2 {
            p.write(
                ObjKind::Template,
                Verb::Create,
                t,
                Effect::MdTemplateCreated,
            );
        }
        if !cl.md_exists {
            p.write(
                ObjKind::MachineDeployment,
                Verb::Create,
                t,
                Effect::MdCreated,
            );
        }
    }
    if applying {
        p.write(ObjKind::Cluster, Verb::StatusPatch, t, Effect::None);
        p.events = 7; // TopologyCreate ×6, TopologyUpdate ×1
    }
    if ctx.mhc_timeout.is_some() && !cl.mhc_exists {
        // The ClusterClass's machineHealthCheck for the MachineDeployment.
        p.write(
            ObjKind::MachineHealthCheck,
            Verb::Create,
            t,
            Effect::MhcCreated,
        );
        p.events += 1;
    }
    if cl.topology_applied && cl.md_exists && cl.md_replicas != cl.topology_workers {
        // A changed replica count in the topology: one patch of the MachineDeployment
        // (server-side apply of spec.replicas), then the Cluster's TopologyReconciled.
        p.write(
            ObjKind::MachineDeployment,
            Verb::Patch,
            t,
            Effect::MdReplicas {
                replicas: cl.topology_workers,
            },
        );
        p.events += 1; // TopologyUpdate
    }
    if cl.topology_applied && cl.kcp_exists && cl.md_exists {
        topology_upgrade(&mut p, t, cl);
    }
    p.done()
}

/// A Kubernetes upgrade through the managed topology (CAPI v1.12
/// `computeControlPlaneVersion`, `computeMachineDeploymentVersion`): one SSA patch of the
/// KubeadmControlPlane's version; the MachineDeployment's only once the control plane's
/// status reports the new version (its lowest Machine's) everywhere, in a later reconcile
/// brought by the KubeadmControlPlane's status change. No requeue in between.
/// TopologyReconciled is False (ClusterUpgrading) for the whole upgrade: one Cluster
/// status patch each way.
fn topology_upgrade(p: &mut Plan, t: Target, cl: &ClusterState) {
    if cl.kcp_version != cl.version {
        p.write(
            ObjKind::KubeadmControlPlane,
            Verb::Patch,
            t,
            Effect::KcpVersion {
                version: cl.version,
            },
        );
        p.events += 1; // TopologyUpdate
    } else if cl.md_version != cl.version && cl.kcp_rolled_out == cl.version {
        p.write(
            ObjKind::MachineDeployment,
            Verb::Patch,
            t,
            Effect::MdVersion {
                version: cl.version,
            },
        );
        p.events += 1; // TopologyUpdate
    }
    // TopologyReconciled False (ClusterUpgrading) from the version bump until the
    // MachineDeployment has no Machine of another version left.
    let upgrading = cl.kcp_version != cl.version
        || cl.kcp_rolled_out != cl.version
        || cl.md_version != cl.version
        || cl.old_ms.is_some();
    let state = u8::from(upgrading);
    if state != cl.upgrade_reported {
        p.write(
            ObjKind::Cluster,
            Verb::StatusPatch,
            t,
            Effect::UpgradeReported { state },
        );
    }
}

fn nutanix_cluster(c: u32, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if cl.nc_deleting && cl.nc_exists {
        // CAPX reconcileDelete: the credential Secret's unconditional Update, the
        // categories' deletion, then the finalizer and conditions. (The credential Secret
        // is not an object of the model, so its finalizer update and delete are left out.)
        p.pc = Some(PcWork::ClusterCategoryDelete);
        p.write(ObjKind::Secret, Verb::NoopUpdate, t, Effect::None);
        p.write(
            ObjKind::NutanixCluster,
            Verb::FinalizerRemoved,
            t,
            Effect::NcGone,
        );
        return p;
    }
    if !cl.nc_exists || !cl.nc_owned {
        return p; // "Waiting for Cluster Controller to set OwnerRef"
    }
    if !cl.nc_ready {
        p.pc = Some(PcWork::ClusterCategory);
        p.write(ObjKind::Secret, Verb::Patch, t, Effect::None); // credential Secret ownerRef
        p.write(ObjKind::NutanixCluster, Verb::Patch, t, Effect::None); // finalizer
        p.write(ObjKind::NutanixCluster, Verb::StatusPatch, t, Effect::None); // conditions
        p.write(
            ObjKind::NutanixCluster,
            Verb::StatusPatch,
            t,
            Effect::NcReady,
        );
    } else {
        p.write(ObjKind::Secret, Verb::NoopUpdate, t, Effect::None);
    }
    p.done()
}

/// A Machine's place in name order: its generated name suffix is random, so a hash of
/// its slot stands for it.
fn name_order(m: u32) -> u64 {
    sim_core::rng::splitmix64(u64::from(m))
}

/// The five writes that create one machine's objects (CAPI v1.12): apply + managedFields
/// patch for the bootstrap and infrastructure objects, then the Machine.
fn create_machine_objects(p: &mut Plan, m: u32, infra_first: bool, version: u8) {
    let t = Target::Machine(m);
    let kc = |p: &mut Plan| {
        p.write(ObjKind::KubeadmConfig, Verb::Create, t, Effect::KcCreated);
        p.write(ObjKind::KubeadmConfig, Verb::Patch, t, Effect::None);
    };
    let nm = |p: &mut Plan| {
        p.write(ObjKind::NutanixMachine, Verb::Create, t, Effect::NmCreated);
        p.write(ObjKind::NutanixMachine, Verb::Patch, t, Effect::None);
    };
    if infra_first {
        nm(p);
        kc(p);
    } else {
        kc(p);
        nm(p);
    }
    p.write(
        ObjKind::Machine,
        Verb::Create,
        t,
        Effect::MachineCreated { version },
    );
}

/// CAPI v1.12 Cluster `reconcileDelete`: delete the MachineDeployment (the only child
/// the Cluster owns) and wait, requeueing every 5 s, until no MachineDeployment,
/// MachineSet or worker Machine is left; then delete the KubeadmControlPlane and wait for
/// the watch; then the NutanixCluster; then remove the finalizer ("Deleted" event). Each
/// new phase changes the Deleting condition: one status patch.
fn cluster_delete(c: u32, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    let workers_left = cl.md_exists || cl.ms_exists || cl.workers_created > cl.workers_gone;
    let phase = if workers_left {
        1
    } else if cl.kcp_exists {
        2
    } else if cl.nc_exists {
        3
    } else {
        4
    };
    if phase != cl.delete_phase && phase < 4 {
        p.write(
            ObjKind::Cluster,
            Verb::StatusPatch,
            t,
            Effect::ClusterDeletePhase { phase },
        );
    }
    match phase {
        1 => {
            if cl.md_exists && !cl.md_deleting {
                p.write(
                    ObjKind::MachineDeployment,
                    Verb::MarkDeleted,
                    t,
                    Effect::MdDeleting,
                );
            }
            p.after(5)
        }
        2 => {
            if !cl.kcp_deleting {
                p.write(
                    ObjKind::KubeadmControlPlane,
                    Verb::MarkDeleted,
                    t,
                    Effect::KcpDeleting,
                );
            }
            p
        }
        3 => {
            if !cl.nc_deleting {
                p.write(
                    ObjKind::NutanixCluster,
                    Verb::MarkDeleted,
                    t,
                    Effect::NcDeleting,
                );
            }
            p
        }
        _ => {
            p.write(
                ObjKind::Cluster,
                Verb::FinalizerRemoved,
                t,
                Effect::ClusterGone,
            );
            p.events += 1; // Deleted
            p
        }
    }
}

/// CAPI v1.12 KCP `reconcileDelete`: with no worker left, remove the `kcp-cleanup`
/// pre-terminate hook from every control-plane Machine and delete them all at once (no
/// etcd member work while the control plane goes); requeue every 30 s; remove the
/// finalizer once none is left.
fn kcp_delete(c: u32, cl: &ClusterState, machines: &[MachineState]) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if cl.workers_created > cl.workers_gone {
        return p.after(30); // WaitingForWorkersDeletion
    }
    let mut left = false;
    for i in 0..cl.cp_created {
        let m = cl.cp_slot(i);
        let ms = &machines[m as usize];
        if ms.exists {
            left = true;
            if !ms.deleting {
                let mt = Target::Machine(m);
                p.write(ObjKind::Machine, Verb::Patch, mt, Effect::HookRemoved);
                p.write(
                    ObjKind::Machine,
                    Verb::MarkDeleted,
                    mt,
                    Effect::MachineDeleting,
                );
            }
        }
    }
    if left {
        return p.after(30);
    }
    p.write(
        ObjKind::KubeadmControlPlane,
        Verb::FinalizerRemoved,
        t,
        Effect::KcpGone,
    );
    p
}

fn kcp(c: u32, cl: &ClusterState, machines: &[MachineState]) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if !cl.kcp_exists {
        return p;
    }
    if !cl.kcp_finalizer {
        p.write(
            ObjKind::KubeadmControlPlane,
            Verb::Patch,
            t,
            Effect::KcpFinalizer,
        );
        return p;
    }
    if cl.kcp_deleting {
        return kcp_delete(c, cl, machines);
    }
    if !cl.kcp_owned {
        return p; // "Cluster Controller has not yet set OwnerRef"
    }
    if !cl.kcp_paused {
        p.write(
            ObjKind::KubeadmControlPlane,
            Verb::StatusPatch,
            t,
            Effect::KcpPaused,
        );
        return p;
    }
    let cp = |i: u32| &machines[cl.cp_slot(i) as usize];
    let version = cl.cp_created > 0;
    let init = cl.cp_api_up;
    let ready = (0..cl.cp_created).filter(|&i| cp(i).running).count() as u64;
    // A rollout is due while a Machine's version is not the spec's (deleting ones aside).
    let outdated = (0..cl.cp_created)
        .filter(|&i| cp(i).exists && !cp(i).deleting && cp(i).version != cl.kcp_version)
        .count() as u64;
    let alive = cl.cp_alive();
    let updated_ready = (0..cl.cp_created)
        .filter(|&i| {
            let m = cp(i);
            m.exists && !m.deleting && m.running && m.version == cl.kcp_version
        })
        .count() as u32;
    let rolled_out = if alive == cl.cp_replicas && updated_ready == cl.cp_replicas {
        cl.kcp_version
    } else {
        cl.kcp_rolled_out
    };
    let status = |p: &mut Plan| {
        let s = sig(&[
            version as u64,
            init as u64,
            cl.cp_created as u64,
            ready,
            outdated,
            u64::from(rolled_out),
        ]);
        if s != cl.kcp_status_sig {
            p.write(
                ObjKind::KubeadmControlPlane,
                Verb::StatusPatch,
                t,
                Effect::KcpStatus {
                    sig: s,
                    version,
                    init,
                    rolled_out,
                },
            );
        }
    };
    if !cl.infra_reported {
        status(&mut p);
        return p.after(20);
    }
    // ca, sa, proxy, etcd, then the kubeconfig: those not created yet.
    for _ in cl.cert_secrets..5 {
        p.write(ObjKind::Secret, Verb::Create, t, Effect::CertSecretCreated);
    }
    if cl.cp_created == 0 {
        create_machine_objects(&mut p, cl.cp_slot(0), true, cl.kcp_version);
        status(&mut p);
        p.outcome = Outcome::Requeue;
        return p;
    }
    for i in 0..cl.cp_created {
        let m = cp(i);
        let mt = Target::Machine(cl.cp_slot(i));
        if m.exists && !m.metadata_applied {
            p.write(ObjKind::NutanixMachine, Verb::Patch, mt, Effect::None);
            p.write(
                ObjKind::KubeadmConfig,
                Verb::Patch,
                mt,
                Effect::MetadataApplied,
            );
        }
        if m.kc_exists && m.node_joined && m.kc_ready && !m.kc_cert_expiry {
            p.write(
                ObjKind::KubeadmConfig,
                Verb::Patch,
                mt,
                Effect::KcCertExpiry,
            );
        }
    }
    if !init {
        status(&mut p);
        return p.after(20);
    }
    let unhealthy = |p: &mut Plan| {
        // Warning ControlPlaneUnhealthy: recorded once, then its count is patched.
        if cl.kcp_unhealthy_event {
            p.event_repeats += 1;
        } else {
            p.events += 1;
            p.records_unhealthy_event = true;
        }
        status(p);
    };
    if cl.cp_created < cl.cp_replicas {
        // Scale-up preflight: every existing CP machine has its node and healthy pods.
        let healthy = (0..cl.cp_created).all(|i| cp(i).node_joined && cp(i).running);
        if healthy {
            create_machine_objects(&mut p, cl.cp_slot(cl.cp_created), true, cl.kcp_version);
            status(&mut p);
            p.outcome = Outcome::Requeue;
            return p;
        }
        unhealthy(&mut p);
        return p.after(15);
    }
    if outdated > 0 || alive > cl.cp_replicas {
        return kcp_rolling_update(p, cl, machines, status, unhealthy);
    }
    status(&mut p);
    if ready < u64::from(cl.cp_replicas) {
        p.after(20)
    } else {
        p.done()
    }
}

/// CAPI v1.12 KCP `rollingUpdate` with maxSurge 1 (the only surge KCP's webhook accepts
/// besides 0, and its default): while fewer than replicas + 1 Machines exist, create one
/// at the spec's version (`scaleUpControlPlane`, then requeue); at replicas + 1, delete the
/// oldest outdated Machine (`scaleDownControlPlane`; forwarding etcd leadership is a
/// workload-cluster call). Both steps wait behind `preflightChecks`: a deleting Machine
/// requeues after 30 s, a Machine without its node or healthy components after 15 s. A
/// deleting Machine that stopped at the `kcp-cleanup` pre-terminate hook gets its etcd
/// member removed (workload cluster) and the hook patched away
/// (`reconcilePreTerminateHook`), then 30 s.
fn kcp_rolling_update(
    mut p: Plan,
    cl: &ClusterState,
    machines: &[MachineState],
    status: impl Fn(&mut Plan),
    unhealthy: impl Fn(&mut Plan),
) -> Plan {
    let alive: Vec<u32> = (0..cl.cp_created)
        .map(|i| cl.cp_slot(i))
        .filter(|&m| machines[m as usize].exists)
        .collect();
    let at = |m: &u32| &machines[*m as usize];
    if let Some(&m) = alive
        .iter()
        .find(|m| at(m).deleting && at(m).hook && at(m).drain_started)
    {
        p.write(
            ObjKind::Machine,
            Verb::Patch,
            Target::Machine(m),
            Effect::HookRemoved,
        );
        status(&mut p);
        return p.after(30);
    }
    if alive.iter().any(|m| at(m).deleting) {
        status(&mut p);
        return p.after(30);
    }
    if !alive.iter().all(|m| at(m).node_joined && at(m).running) {
        unhealthy(&mut p);
        return p.after(15);
    }
    if alive.len() as u32 <= cl.cp_replicas {
        create_machine_objects(&mut p, cl.cp_slot(cl.cp_created), true, cl.kcp_version);
        status(&mut p);
        p.outcome = Outcome::Requeue;
        return p;
    }
    // The oldest outdated Machine (slots are in creation order), else the oldest.
    let victim = alive
        .iter()
        .find(|m| at(m).version != cl.kcp_version)
        .or(alive.first())
        .copied()
        .expect("a control plane with more machines than replicas has one");
    p.write(
        ObjKind::Machine,
        Verb::MarkDeleted,
        Target::Machine(victim),
        Effect::MachineDeleting,
    );
    status(&mut p);
    p.outcome = Outcome::Requeue;
    p
}

fn machine_deployment(c: u32, cl: &ClusterState, machines: &[MachineState], ctx: &Ctx) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if !cl.md_exists {
        return p;
    }
    if cl.md_deleting {
        // The topology MD controller deletes the MD's two templates and its health check
        // and drops its finalizer, without waiting; the MD controller deletes the
        // MachineSet and drops its own finalizer once it is gone.
        if !cl.md_topology_cleaned {
            p.write(
                ObjKind::Template,
                Verb::Delete,
                t,
                Effect::MdTemplateDeleted,
            );
            p.write(
                ObjKind::Template,
                Verb::Delete,
                t,
                Effect::MdTemplateDeleted,
            );
            if cl.mhc_exists {
                p.write(
                    ObjKind::MachineHealthCheck,
                    Verb::Delete,
                    t,
                    Effect::MhcGone,
                );
            }
            p.write(
                ObjKind::MachineDeployment,
                Verb::Patch,
                t,
                Effect::MdTopologyCleaned,
            );
        }
        if cl.ms_exists && !cl.ms_deleting {
            p.write(
                ObjKind::MachineSet,
                Verb::MarkDeleted,
                t,
                Effect::MsDeleting,
            );
        } else if !cl.ms_exists && cl.md_topology_cleaned {
            p.write(
                ObjKind::MachineDeployment,
                Verb::FinalizerRemoved,
                t,
                Effect::MdGone,
            );
        }
        return p;
    }
    if !cl.md_finalizer {
        // The topology MD controller's finalizer, then the MD controller's.
        p.write(ObjKind::MachineDeployment, Verb::Patch, t, Effect::None);
        p.write(
            ObjKind::MachineDeployment,
            Verb::Patch,
            t,
            Effect::MdFinalizer,
        );
        return p;
    }
    if !cl.md_paused {
        p.write(
            ObjKind::MachineDeployment,
            Verb::StatusPatch,
            t,
            Effect::MdPaused,
        );
        return p;
    }
    if !cl.ms_exists {
        p.write(ObjKind::MachineSet, Verb::Create, t, Effect::MsCreated);
        p.write(ObjKind::MachineDeployment, Verb::Patch, t, Effect::None); // revision annotation
        p.events += 1; // SuccessfulCreate
    } else if cl.md_version != cl.ms_version && cl.old_ms.is_none() {
        // A new template: its MachineSet, created with what the surge allows.
        let (surge, _) = ctx.rollout;
        let replicas = (cl.md_replicas + surge)
            .saturating_sub(cl.workers)
            .min(cl.md_replicas);
        p.write(
            ObjKind::MachineSet,
            Verb::Create,
            t,
            Effect::NewMsCreated {
                version: cl.md_version,
                replicas,
            },
        );
        p.write(ObjKind::MachineDeployment, Verb::Patch, t, Effect::None); // revision annotation
        p.events += 1; // SuccessfulCreate
    } else if let Some(old) = &cl.old_ms {
        rolling_update(&mut p, t, cl, old, machines, ctx.rollout);
    } else if cl.workers != cl.md_replicas {
        // Rolling update with one MachineSet: its replicas go to the target in one step,
        // a server-side-apply patch (CAPI reconcileNewMachineSet).
        p.write(
            ObjKind::MachineSet,
            Verb::Patch,
            t,
            Effect::MsReplicas {
                replicas: cl.md_replicas,
            },
        );
    }
    // During a rolling update the status also counts the old MachineSet's Machines.
    let old_machines = cl.old_ms.as_ref().map_or(0, |o| {
        1 + u64::from(cl.workers_alive_at(machines, o.version))
    });
    let s = sig(&[
        cl.ms_exists as u64,
        cl.workers_created as u64,
        cl.workers_running as u64,
        old_machines,
    ]);
    if s != cl.md_status_sig {
        p.write(
            ObjKind::MachineDeployment,
            Verb::StatusPatch,
            t,
            Effect::MdStatus { sig: s },
        );
    }
    p.done()
}

/// One MachineDeployment rolling-update step (CAPI v1.12 `rolloutRollingUpdate`), both
/// moves planned in one reconcile:
/// - scale up (`NewMSNewReplicas`): while Σ max(spec, status) replicas over both
///   MachineSets is below replicas + maxSurge, the new MachineSet grows by the room
///   left, up to replicas (deleting Machines still count in status);
/// - scale down (`reconcileOldMachineSetsRollingUpdate`): the old MachineSet shrinks by
///   Σ spec − pending deletions − (replicas − maxUnavailable) − the new MachineSet's
///   unavailable Machines, never taking availability below replicas − maxUnavailable;
/// - clean up (`cleanupDeployment`): once the new MachineSet has all its replicas
///   available, the old one, at 0 replicas with no Machine left, is deleted.
///
/// A Machine is available once it runs (the default minReadySeconds is 0).
fn rolling_update(
    p: &mut Plan,
    t: Target,
    cl: &ClusterState,
    old: &OldMachineSet,
    machines: &[MachineState],
    (surge, unavailable): (u32, u32),
) {
    let desired = cl.md_replicas;
    let workers = (0..cl.workers_created).map(|i| &machines[cl.worker_slot(i) as usize]);
    let count = |f: &dyn Fn(&MachineState) -> bool| workers.clone().filter(|m| f(m)).count() as u32;
    let new_alive = cl.workers_alive_at(machines, cl.ms_version);
    let new_ready = count(&|m| m.exists && !m.deleting && m.running && m.version == cl.ms_version);
    let old_alive = cl.workers_alive_at(machines, old.version);
    let old_ready = count(&|m| m.exists && !m.deleting && m.running && m.version == old.version);
    let mut new = cl.workers;
    let max_total = desired + surge;
    let current = new.max(new_alive) + old.replicas.max(old_alive);
    if current < max_total && new < desired {
        new += (max_total - current).min(desired - new);
        p.write(
            ObjKind::MachineSet,
            Verb::Patch,
            t,
            Effect::MsReplicas { replicas: new },
        );
    }
    if old.replicas > 0 {
        let min_available = desired.saturating_sub(unavailable);
        let pending = old_alive.saturating_sub(old.replicas) + new_alive.saturating_sub(new);
        let down = (new + old.replicas)
            .saturating_sub(pending)
            .saturating_sub(min_available)
            .saturating_sub(new.saturating_sub(new_ready))
            .min((old_ready + new_ready).saturating_sub(min_available))
            .min(old.replicas);
        if down > 0 {
            p.write(
                ObjKind::MachineSet,
                Verb::Patch,
                t,
                Effect::OldMsReplicas {
                    replicas: old.replicas - down,
                },
            );
        }
    } else if old_alive == 0 && !old.deleting && new == desired && new_ready == desired {
        p.write(
            ObjKind::MachineSet,
            Verb::MarkDeleted,
            t,
            Effect::OldMsDeleting,
        );
        p.events += 1; // SuccessfulDelete
    }
}

/// A MachineSet's scale-down: DELETE `surplus` of `candidates` (its Machines not already
/// deleting), those without a node first, then in name order (the "Random" deletion
/// order sorts ties by name, which is random with respect to creation).
fn delete_surplus(p: &mut Plan, machines: &[MachineState], mut candidates: Vec<u32>, surplus: u32) {
    candidates.sort_by_key(|&m| (machines[m as usize].running, name_order(m)));
    for &m in candidates.iter().take(surplus as usize) {
        p.write(
            ObjKind::Machine,
            Verb::MarkDeleted,
            Target::Machine(m),
            Effect::MachineDeleting,
        );
        p.events += 1; // SuccessfulDelete
    }
}

/// The previous MachineSet during a rolling update. The model reconciles it in the same
/// reconcile as the new one (CAPI reconciles each MachineSet under its own key): it
/// deletes its surplus Machines as the MachineDeployment lowers its replicas, as a
/// scale-down does, replaces Machines it lost below its replicas (a remediation) at its
/// own version, and reports its status; once deleted, the topology MachineSet controller
/// drops its finalizer, and the MachineSet controller drops its own when no Machine is
/// left. Returns the Machines it created: their slots come first.
fn old_machine_set(
    p: &mut Plan,
    t: Target,
    cl: &ClusterState,
    old: &OldMachineSet,
    machines: &[MachineState],
) -> u32 {
    let mine: Vec<u32> = (0..cl.workers_created)
        .map(|i| cl.worker_slot(i))
        .filter(|&m| machines[m as usize].exists && machines[m as usize].version == old.version)
        .collect();
    let at = |m: &u32| &machines[*m as usize];
    if old.deleting {
        if !old.topology_cleaned {
            p.write(
                ObjKind::MachineSet,
                Verb::Patch,
                t,
                Effect::OldMsTopologyCleaned,
            );
        } else if mine.is_empty() {
            p.write(
                ObjKind::MachineSet,
                Verb::FinalizerRemoved,
                t,
                Effect::OldMsGone,
            );
        }
        return 0;
    }
    let alive = mine.len() as u32;
    let mut created = 0;
    if alive < old.replicas && cl.kcp_version_reported {
        for i in cl.workers_created..cl.workers_created + (old.replicas - alive) {
            create_machine_objects(p, cl.worker_slot(i), false, old.version);
            p.events += 1; // SuccessfulCreate
            created += 1;
        }
    }
    if alive > old.replicas {
        let candidates: Vec<u32> = mine.iter().copied().filter(|m| !at(m).deleting).collect();
        let deleting = alive - candidates.len() as u32;
        let surplus = (alive - old.replicas).saturating_sub(deleting);
        delete_surplus(p, machines, candidates, surplus);
    }
    let running = mine.iter().filter(|m| at(m).running).count() as u64;
    let s = sig(&[u64::from(alive), running, u64::from(old.replicas)]);
    if s != old.status_sig {
        p.write(
            ObjKind::MachineSet,
            Verb::StatusPatch,
            t,
            Effect::OldMsStatus { sig: s },
        );
    }
    created
}

fn machine_set(c: u32, cl: &ClusterState, machines: &[MachineState]) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if !cl.ms_exists {
        return p;
    }
    if cl.ms_deleting {
        // The topology MS controller drops its finalizer; the MS controller deletes every
        // Machine, and drops its own finalizer once none is left.
        if !cl.ms_topology_cleaned {
            p.write(
                ObjKind::MachineSet,
                Verb::Patch,
                t,
                Effect::MsTopologyCleaned,
            );
        }
        let mut left = false;
        for i in 0..cl.workers_created {
            let m = cl.worker_slot(i);
            let ms = &machines[m as usize];
            if ms.exists {
                left = true;
                if !ms.deleting {
                    let mt = Target::Machine(m);
                    p.write(
                        ObjKind::Machine,
                        Verb::MarkDeleted,
                        mt,
                        Effect::MachineDeleting,
                    );
                }
            }
        }
        if !left && cl.ms_topology_cleaned {
            p.write(
                ObjKind::MachineSet,
                Verb::FinalizerRemoved,
                t,
                Effect::MsGone,
            );
        }
        return p;
    }
    if !cl.ms_finalizer {
        p.write(ObjKind::MachineSet, Verb::Patch, t, Effect::None);
        p.write(ObjKind::MachineSet, Verb::Patch, t, Effect::MsFinalizer);
        return p;
    }
    if !cl.ms_paused {
        p.write(ObjKind::MachineSet, Verb::StatusPatch, t, Effect::MsPaused);
        return p;
    }
    // reconcileUnhealthyMachines: a Machine the MachineHealthCheck marked for its owner
    // gets OwnerRemediated (MachineDeleting) and a DELETE; its replacement comes with the
    // replica count once it is gone.
    let mut remediated = false;
    for i in 0..cl.workers_created {
        let m = cl.worker_slot(i);
        let ms = &machines[m as usize];
        if ms.exists && ms.hc_failed && !ms.deleting {
            let t = Target::Machine(m);
            p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::None);
            p.write(
                ObjKind::Machine,
                Verb::MarkDeleted,
                t,
                Effect::MachineDeleting,
            );
            remediated = true;
        }
    }
    if remediated {
        return p;
    }
    // Slots taken by the old MachineSet's replacements in this reconcile.
    let taken = match &cl.old_ms {
        Some(old) => old_machine_set(&mut p, t, cl, old, machines),
        None => 0,
    };
    // This MachineSet's Machines: every worker, but during a rolling update those of its
    // version.
    let ours = |m: u32| cl.old_ms.is_none() || machines[m as usize].version == cl.ms_version;
    // Deleting Machines still count (getAndAdoptMachinesForMachineSet): a replacement
    // is created only once the old Machine is gone.
    let alive = cl.new_ms_alive(machines);
    let running = if cl.old_ms.is_none() {
        cl.workers_running
    } else {
        (0..cl.workers_created)
            .map(|i| cl.worker_slot(i))
            .filter(|&m| ours(m) && machines[m as usize].running)
            .count() as u32
    };
    let status = |p: &mut Plan, preflight: bool| {
        let s = sig(&[preflight as u64, alive as u64, running as u64]);
        if s != cl.ms_status_sig {
            p.write(
                ObjKind::MachineSet,
                Verb::StatusPatch,
                t,
                Effect::MsStatus { sig: s },
            );
        }
    };
    if alive < cl.workers {
        // controlPlaneStablePreflightCheck: the KCP must report a version.
        if !cl.kcp_version_reported {
            status(&mut p, true);
            return p.after(15);
        }
        let first = cl.workers_created + taken;
        for i in first..first + (cl.workers - alive) {
            create_machine_objects(&mut p, cl.worker_slot(i), false, cl.ms_version);
            p.events += 1; // SuccessfulCreate
        }
        status(&mut p, false);
        return p;
    }
    if alive > cl.workers {
        // Scale down: delete the surplus, Machines without a node first, then by name
        // (the "Random" deletion order sorts ties by name, which is random with respect
        // to creation).
        let candidates: Vec<u32> = (0..cl.workers_created)
            .map(|i| cl.worker_slot(i))
            .filter(|&m| ours(m) && machines[m as usize].exists && !machines[m as usize].deleting)
            .collect();
        let deleting = alive - candidates.len() as u32;
        delete_surplus(
            &mut p,
            machines,
            candidates,
            (alive - cl.workers).saturating_sub(deleting),
        );
        status(&mut p, false);
        return p;
    }
    for i in 0..cl.workers_created {
        let m = cl.worker_slot(i);
        if machines[m as usize].exists && !machines[m as usize].metadata_applied {
            p.write(
                ObjKind::NutanixMachine,
                Verb::Patch,
                Target::Machine(m),
                Effect::None,
            );
            p.write(
                ObjKind::KubeadmConfig,
                Verb::Patch,
                Target::Machine(m),
                Effect::MetadataApplied,
            );
        }
    }
    status(&mut p, false);
    if running < cl.workers {
        // shouldRequeueForReplicaCountersRefresh: until readyReplicas == replicas.
        p.after(15)
    } else {
        p.done()
    }
}

fn machine(m: u32, ms: &MachineState, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Machine(m);
    if !ms.exists {
        return p;
    }
    if ms.deleting {
        return machine_delete(m, ms, cl);
    }
    if !ms.finalizer {
        p.write(ObjKind::Machine, Verb::Patch, t, Effect::MachineFinalizer);
        return p;
    }
    if !ms.paused {
        p.write(
            ObjKind::Machine,
            Verb::StatusPatch,
            t,
            Effect::MachinePaused,
        );
        return p;
    }
    if ms.kc_exists && !ms.kc_owned {
        p.write(ObjKind::KubeadmConfig, Verb::Patch, t, Effect::KcOwned);
    }
    if ms.nm_exists && !ms.nm_owned {
        p.write(ObjKind::NutanixMachine, Verb::Patch, t, Effect::NmOwned);
    }
    if ms.kc_ready && !ms.bootstrap_ref {
        p.write(ObjKind::Machine, Verb::Patch, t, Effect::BootstrapRef);
    }
    if ms.nm_ready && !ms.provider_id {
        p.write(ObjKind::Machine, Verb::Patch, t, Effect::ProviderId);
    }
    // The node is seen through the ClusterCache once the workload API server answers.
    let node_ref = ms.provider_id && ms.node_joined && cl.cp_api_up;
    let phase = if node_ref {
        3
    } else if ms.nm_ready {
        2
    } else if ms.kc_ready {
        1
    } else {
        0
    };
    // NodeHealthy False once the node went NotReady.
    let node_failed = ms.node_failed_at.is_some();
    let s = sig(&[
        phase,
        ms.kc_owned as u64,
        ms.nm_owned as u64,
        node_failed as u64,
    ]);
    if s != ms.status_sig {
        if node_ref && !ms.running {
            p.events += 1; // SuccessfulSetNodeRef
        }
        p.write(
            ObjKind::Machine,
            Verb::StatusPatch,
            t,
            Effect::MachineStatus {
                sig: s,
                running: node_ref,
            },
        );
    }
    p.done()
}

fn kubeadm_config(m: u32, ms: &MachineState, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Machine(m);
    let ct = Target::Cluster(ms.cluster);
    if !ms.kc_exists || !ms.kc_owned {
        return p; // no Machine owner yet
    }
    if !ms.kc_paused {
        p.write(
            ObjKind::KubeadmConfig,
            Verb::StatusPatch,
            t,
            Effect::KcPaused,
        );
        return p;
    }
    if ms.kc_ready {
        // Token refresh every TokenTTL/3 until the node joins: workload-cluster writes only.
        return if ms.node_joined {
            p.done()
        } else {
            p.after(300)
        };
    }
    if !cl.infra_reported {
        return p; // the Cluster watch brings it back
    }
    if ms.is_init() {
        if !cl.init_lock {
            p.write(ObjKind::ConfigMap, Verb::Create, ct, Effect::LockCreated);
        }
    } else {
        if !cl.cp_init_reported {
            if !ms.kc_waiting_reported {
                p.write(
                    ObjKind::KubeadmConfig,
                    Verb::StatusPatch,
                    t,
                    Effect::KcWaiting,
                );
            }
            return p.after(30);
        }
        if cl.init_lock {
            p.write(ObjKind::ConfigMap, Verb::Delete, ct, Effect::LockDeleted);
        }
        p.write(ObjKind::KubeadmConfig, Verb::Patch, t, Effect::None); // join token in spec
    }
    if !ms.kc_secret {
        p.write(
            ObjKind::Secret,
            Verb::Create,
            t,
            Effect::BootstrapSecretCreated,
        );
    }
    p.write(ObjKind::KubeadmConfig, Verb::StatusPatch, t, Effect::None); // conditions
    p.write(
        ObjKind::KubeadmConfig,
        Verb::StatusPatch,
        t,
        Effect::KcReady,
    );
    if ms.is_init() { p.done() } else { p.after(300) }
}

/// CAPI v1.12 MachineHealthCheck over a cluster's workers, with a node startup timeout
/// only (`needsRemediation`'s nodeChecks): a worker with no node `timeout` after the
/// latest of its creation, the control plane's initialization and its infrastructure
/// becoming ready is unhealthy. Each
/// Machine whose verdict changes gets one status patch (HealthCheckSucceeded, and
/// OwnerRemediated False when unhealthy, with a MachineMarkedUnhealthy event); the
/// MachineHealthCheck's status is patched when its counts change. While a worker waits,
/// it requeues for the moment the first one could time out, plus 1 s.
fn machine_health_check(c: u32, cl: &ClusterState, machines: &[MachineState], ctx: &Ctx) -> Plan {
    let mut p = Plan::new();
    let (Some(timeout), true) = (ctx.mhc_timeout, cl.mhc_exists) else {
        return p;
    };
    // Nothing is judged before the control plane is initialized.
    let Some(cp_init) = cl.cp_init_at else {
        return p;
    };
    let (mut healthy, mut targets, mut next) = (0u64, 0u64, None::<SimDuration>);
    for i in 0..cl.workers_created {
        let m = cl.worker_slot(i);
        let ms = &machines[m as usize];
        if !ms.exists || ms.deleting {
            continue;
        }
        targets += 1;
        let t = Target::Machine(m);
        if let (true, Some(failed)) = (ms.running, ms.node_failed_at) {
            // unhealthyNodeConditions: Ready False/Unknown for longer than its timeout.
            let due = failed + ctx.mhc_unhealthy_timeout;
            if ctx.now >= due {
                if !ms.hc_failed {
                    p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::HcFailed);
                    p.events += 1; // MachineMarkedUnhealthy
                }
            } else {
                let wait = due - ctx.now + SimDuration::from_secs(1);
                next = Some(next.map_or(wait, |n| n.min(wait)));
            }
            continue;
        }
        if ms.running {
            healthy += 1;
            if !ms.hc_healthy {
                p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::HcHealthy);
            }
            continue;
        }
        let since = [ms.created_at, ms.nm_ready_at]
            .into_iter()
            .flatten()
            .fold(cp_init, SimTime::max);
        let due = since + timeout;
        if ctx.now >= due {
            if !ms.hc_failed {
                p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::HcFailed);
                p.events += 1; // MachineMarkedUnhealthy
            }
        } else {
            let wait = due - ctx.now + SimDuration::from_secs(1);
            next = Some(next.map_or(wait, |n| n.min(wait)));
        }
    }
    let s = sig(&[targets, healthy]);
    if s != cl.mhc_status_sig {
        p.write(
            ObjKind::MachineHealthCheck,
            Verb::StatusPatch,
            Target::Cluster(c),
            Effect::MhcStatus { sig: s },
        );
    }
    if let Some(wait) = next {
        p.outcome = Outcome::RequeueAfter(wait);
    }
    p
}

/// CAPI v1.12 Machine `reconcileDelete` for a worker: record the drain start and drain
/// (workload-cluster writes, one pass for a node with only DaemonSet pods), delete the
/// NutanixMachine and wait for it through the watch, delete the KubeadmConfig (no
/// finalizer), delete the Node (workload) and remove the finalizer. Each pass that
/// changes a condition ends with the deferred status patch.
fn machine_delete(m: u32, ms: &MachineState, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Machine(m);
    if !ms.drain_started {
        // With the Cluster being deleted, isDeleteNodeAllowed says no: no drain (and no
        // drain-start patch), no volume wait, no Node delete.
        if !cl.deleting {
            p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::None);
        }
        // A pre-terminate hook stops it before the infrastructure (WaitingForPreTerminateHook).
        if ms.nm_exists && !ms.hook {
            p.write(
                ObjKind::NutanixMachine,
                Verb::MarkDeleted,
                t,
                Effect::NmDeleting,
            );
        }
        // The Deleting condition, in the deferred patch.
        p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::DrainStarted);
        return p;
    }
    if ms.hook {
        return p; // the hook's removal, a Machine patch, brings it back
    }
    if ms.nm_exists && !ms.nm_deleting {
        p.write(
            ObjKind::NutanixMachine,
            Verb::MarkDeleted,
            t,
            Effect::NmDeleting,
        );
        p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::None); // WaitingForInfrastructure
        return p;
    }
    if ms.nm_exists {
        return p; // waiting for the infrastructure to be gone (watch)
    }
    if ms.kc_exists {
        p.write(ObjKind::KubeadmConfig, Verb::Delete, t, Effect::KcDeleted);
        p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::None);
        return p;
    }
    p.write(
        ObjKind::Machine,
        Verb::FinalizerRemoved,
        t,
        Effect::MachineGone,
    );
    p
}

/// CAPX v1.10.0 NutanixMachine `reconcileDelete`: no power-off. First pass: GET the VM,
/// LIST its running tasks, GET it for its ETag, DELETE it (the task is not waited for),
/// patch the conditions, requeue after 5 s. While the delete task runs: GET and LIST,
/// 5 s again. Then the GET answers 404 and the finalizer is removed.
fn nutanix_machine_delete(m: u32, ms: &MachineState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Machine(m);
    use crate::prism_central::TaskKind;
    let create = 1 << crate::world::task_code(TaskKind::VmCreate);
    let delete = 1 << crate::world::task_code(TaskKind::VmDelete);
    if ms.task_done & create == 0 && ms.tasks_pending & create == 0 {
        // No VM was ever created: no UUID, so the finalizer goes at once.
        p.write(
            ObjKind::NutanixMachine,
            Verb::FinalizerRemoved,
            t,
            Effect::NmGone,
        );
        return p;
    }
    p.pc = Some(PcWork::DeleteVm);
    if ms.task_done & delete != 0 {
        p.write(
            ObjKind::NutanixMachine,
            Verb::FinalizerRemoved,
            t,
            Effect::NmGone,
        );
        return p;
    }
    if ms.tasks_pending == 0 {
        p.write(ObjKind::NutanixMachine, Verb::StatusPatch, t, Effect::None); // Deleting
    }
    p.after(5)
}

fn nutanix_machine(m: u32, ms: &MachineState) -> Plan {
    if !ms.nm_exists {
        return Plan::new(); // gone: the reconcile reads NotFound
    }
    if ms.nm_deleting {
        return nutanix_machine_delete(m, ms);
    }
    let mut p = Plan::new();
    let t = Target::Machine(m);
    if !ms.nm_exists || !ms.nm_owned {
        return p;
    }
    if !ms.nm_finalizer {
        p.write(ObjKind::NutanixMachine, Verb::Patch, t, Effect::NmFinalizer);
        p.write(
            ObjKind::NutanixMachine,
            Verb::StatusPatch,
            t,
            Effect::NmReason { sig: 1 },
        );
        return p;
    }
    if !ms.bootstrap_ref {
        // VMProvisioned=False: ControlplaneNotInitialized or BootstrapDataNotReady.
        let reason = if ms.kc_ready { 3 } else { 2 };
        if reason != ms.nm_reason_sig {
            p.write(
                ObjKind::NutanixMachine,
                Verb::StatusPatch,
                t,
                Effect::NmReason { sig: reason },
            );
        }
        return p;
    }
    if !ms.nm_ready {
        if ms.tasks_pending != 0 {
            return p.after(5); // a task of this VM is still pending
        }
        p.pc = Some(PcWork::ProvisionVm);
        p.write(ObjKind::NutanixMachine, Verb::Patch, t, Effect::None); // providerID, vmUUID
        p.write(ObjKind::NutanixMachine, Verb::StatusPatch, t, Effect::None); // conditions
        p.write(
            ObjKind::NutanixMachine,
            Verb::StatusPatch,
            t,
            Effect::NmReady,
        );
        return p;
    }
    if !ms.provider_id {
        return p.after(5);
    }
    p.done()
}
