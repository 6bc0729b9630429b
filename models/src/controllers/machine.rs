//! CAPI's Machine controller (`internal/controllers/machine`): bootstrap and
//! infrastructure references, the node's providerID and status, and `reconcileDelete`
//! (pre-terminate hooks, drain, the infrastructure and bootstrap objects, the finalizer).

use crate::kinds::ObjKind;
use crate::objects::{ClusterState, MachineState};
use crate::recipe::{Effect, Plan, Target, Verb, sig};

/// A Machine reconcile for key `m`, from what the cache shows; see the module's header.
pub(crate) fn reconcile(m: u32, ms: &MachineState, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Machine(m);
    if !ms.exists {
        return p;
    }
    if ms.deleting {
        return reconcile_delete(m, ms, cl);
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

/// CAPI v1.12 Machine `reconcileDelete` for a worker: record the drain start and drain
/// (workload-cluster writes, one pass for a node with only DaemonSet pods), delete the
/// NutanixMachine and wait for it through the watch, delete the KubeadmConfig (no
/// finalizer), delete the Node (workload) and remove the finalizer. Each pass that
/// changes a condition ends with the deferred status patch.
pub(crate) fn reconcile_delete(m: u32, ms: &MachineState, cl: &ClusterState) -> Plan {
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
