//! CAPI's Cluster controller (`internal/controllers/cluster`): finalizer, Paused
//! condition, the infrastructure and control-plane references, the status and phase, and
//! `reconcileDelete`, which deletes the descendants in order (MachineDeployments, then the
//! control plane, then the infrastructure cluster) before removing its finalizer.

use crate::kinds::ObjKind;
use crate::objects::ClusterState;
use crate::recipe::{Effect, Plan, Target, Verb, sig};

/// A Cluster reconcile for key `c`, from what the cache shows; see the module's header.
pub(crate) fn reconcile(c: u32, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if !cl.exists {
        return p;
    }
    if cl.deleting {
        return reconcile_delete(c, cl);
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

/// CAPI v1.12 Cluster `reconcileDelete`: delete the MachineDeployment (the only child
/// the Cluster owns) and wait, requeueing every 5 s, until no MachineDeployment,
/// MachineSet or worker Machine is left; then delete the KubeadmControlPlane and wait for
/// the watch; then the NutanixCluster; then remove the finalizer ("Deleted" event). Each
/// new phase changes the Deleting condition: one status patch.
pub(crate) fn reconcile_delete(c: u32, cl: &ClusterState) -> Plan {
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
