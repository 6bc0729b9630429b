//! CAPI's ClusterTopology controller (`internal/controllers/topology/cluster`): it
//! creates and patches the objects a ClusterClass topology describes (NutanixCluster,
//! KubeadmControlPlane, MachineDeployment, templates, MachineHealthCheck) by server-side
//! apply, and during an upgrade moves the control plane's version, then the
//! MachineDeployments'.

use crate::kinds::ObjKind;
use crate::objects::ClusterState;
use sim_core::{SimDuration, SimTime};

use crate::recipe::{Ctx, Effect, Plan, Target, Verb};

/// A ClusterTopology reconcile (`reconcile`, `computeDesiredState`,
/// `reconcileState`): the NutanixCluster, templates, KubeadmControlPlane,
/// MachineDeployment and MachineHealthCheck the topology describes, applied when missing
/// or different; versions moved during an upgrade; the TopologyReconciled condition.
/// One function follows the real reconcile step by step, in its order, which is why it
/// is long: split, the order of the steps would be harder to check against CAPI's.
pub(crate) fn reconcile(c: u32, cl: &ClusterState, ctx: &Ctx) -> Plan {
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
    if let Some(ttl) = ctx.ssa_ttl
        && cl.topology_applied
    {
        dry_runs(&mut p, cl, ctx.now, ttl);
    }
    p.done()
}

/// The dry-runs of `reconcileState` for the objects that exist (CAPI v1.12.11
/// `structuredmerge.NewServerSidePatchHelper`, `dryRunSSAPatch`): an object whose entry is
/// in the dry-run cache (`internal/util/ssa/cache.go`: keyed on its resourceVersion and
/// the desired state, a 10-minute TTL from when it was added) costs nothing; any other
/// takes two dry-run PATCHes (the modified object, then the original).
fn dry_runs(p: &mut Plan, cl: &ClusterState, now: SimTime, ttl: SimDuration) {
    let exists = [
        cl.exists,
        cl.nc_exists,
        cl.kcp_exists,
        cl.cp_template,
        cl.md_exists,
        cl.md_templates >= 1,
        cl.md_templates >= 2,
        cl.mhc_exists,
    ];
    for (i, &there) in exists.iter().enumerate() {
        let cached = cl.ssa_cache[i].is_some_and(|added| now < added + ttl);
        if there && !cached {
            p.dry_runs += 2;
            p.dry_run_misses |= 1 << i;
        }
    }
}

/// A Kubernetes upgrade through the managed topology (CAPI v1.12
/// `computeControlPlaneVersion`, `computeMachineDeploymentVersion`): one SSA patch of the
/// KubeadmControlPlane's version; the MachineDeployment's only once the control plane's
/// status reports the new version (its lowest Machine's) everywhere, in a later reconcile
/// brought by the KubeadmControlPlane's status change. No requeue in between.
/// TopologyReconciled is False (ClusterUpgrading) for the whole upgrade: one Cluster
/// status patch each way.
pub(crate) fn topology_upgrade(p: &mut Plan, t: Target, cl: &ClusterState) {
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
