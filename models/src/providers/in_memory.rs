//! CAPI's in-memory infrastructure provider (v1.12): the in-memory backend of CAPD's
//! DevCluster and DevMachine, which CAPI's own scale test runs (`test/e2e/scale.go`). Its
//! "cloud" lives in the provider's process: no Prism Central, no VM tasks. A machine's
//! VM, Node, etcd member and API server each take their `startupDuration` plus a jitter,
//! and the reconcile waits for them with `RequeueAfter`, freeing its worker.
//!
//! - DevCluster (`devcluster_controller.go`, `backends/inmemory/inmemorycluster_backend.go`):
//!   its finalizer (patch, return), then, once its Cluster owns it, its Paused condition
//!   (patch, return), then one patch of the listener annotation and control-plane
//!   endpoint and one of its status, provisioned at once; on delete, the finalizer goes
//!   at once.
//! - DevMachine (`devmachine_controller.go`, `backends/inmemory/inmemorymachine_backend.go`):
//!   its finalizer, then, once its Machine owns it, its Paused condition; then it waits
//!   (no requeue: the watches bring it back) for the Cluster's infrastructure and the
//!   Machine's bootstrap data; then the VM phase (the cloud VM created, `RequeueAfter`
//!   the time left), at its end the providerID and status provisioned; the Node phase
//!   from then; for a control-plane machine its etcd and API server phases from the
//!   Node's, together. Each condition change is a status patch; a reconcile that changes
//!   nothing writes nothing. The jitter is drawn afresh in every reconcile, as the backend
//!   does. On delete, every phase's object goes at once and the finalizer with them.
//!
//! Simplified: a control-plane machine's etcd and API server phases end in one reconcile
//! (the later of the two), and its node counts as up then (its Node exists 2 s earlier,
//! which nothing in the model reads sooner); the conditions' one-second timestamps are
//! taken at full precision; a restarted CAPD keeps its cloud (the real process loses it).

use crate::kinds::ObjKind;
use crate::objects::{ClusterState, MachineState};
use crate::recipe::{Ctx, Effect, Plan, Target, Verb};
use sim_core::SimDuration;

/// DevMachine status reasons, as signatures: the Paused condition, waiting for the
/// cluster's infrastructure, for the control plane's initialization, for the bootstrap
/// data, for the VM's startup.
const PAUSED: u64 = 1;
const WAITING_FOR_INFRASTRUCTURE: u64 = 2;
const WAITING_FOR_CONTROL_PLANE: u64 = 3;
const WAITING_FOR_BOOTSTRAP_DATA: u64 = 4;
const WAITING_FOR_VM: u64 = 5;

/// The DevCluster's reconcile.
pub(crate) fn dev_cluster(c: u32, cl: &ClusterState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Cluster(c);
    if cl.nc_deleting && cl.nc_exists {
        p.write(
            ObjKind::NutanixCluster,
            Verb::FinalizerRemoved,
            t,
            Effect::NcGone,
        );
        return p;
    }
    if !cl.nc_exists || cl.nc_ready {
        return p;
    }
    // The finalizer comes before the owner check; the rest waits for the owner.
    match cl.ic_step {
        0 => p.write(ObjKind::NutanixCluster, Verb::Patch, t, Effect::IcStep(1)),
        _ if !cl.nc_owned => {} // "Waiting for Cluster Controller to set OwnerRef"
        1 => p.write(
            ObjKind::NutanixCluster,
            Verb::StatusPatch,
            t,
            Effect::IcStep(2),
        ),
        _ => {
            // The listener annotation and endpoint, then the status: provisioned.
            p.write(ObjKind::NutanixCluster, Verb::Patch, t, Effect::None);
            p.write(
                ObjKind::NutanixCluster,
                Verb::StatusPatch,
                t,
                Effect::NcReady,
            );
        }
    }
    p
}

/// The DevMachine's reconcile.
pub(crate) fn dev_machine(m: u32, ms: &MachineState, cl: &ClusterState, ctx: &Ctx) -> Plan {
    let mut p = Plan::new();
    let t = Target::Machine(m);
    if !ms.nm_exists {
        return p;
    }
    if ms.nm_deleting {
        p.write(
            ObjKind::NutanixMachine,
            Verb::FinalizerRemoved,
            t,
            Effect::NmGone,
        );
        return p;
    }
    // The finalizer comes before the owner check.
    if !ms.nm_finalizer {
        p.write(ObjKind::NutanixMachine, Verb::Patch, t, Effect::NmFinalizer);
        return p;
    }
    if !ms.nm_owned {
        return p; // "Waiting for Machine Controller to set OwnerRef"
    }
    let reason = |p: &mut Plan, sig: u64| {
        if ms.nm_reason_sig != sig {
            p.write(
                ObjKind::NutanixMachine,
                Verb::StatusPatch,
                t,
                Effect::NmReason { sig },
            );
        }
    };
    if ms.nm_reason_sig == 0 {
        reason(&mut p, PAUSED);
        return p;
    }
    if !cl.infra_reported {
        reason(&mut p, WAITING_FOR_INFRASTRUCTURE);
        return p;
    }
    if !ms.bootstrap_ref {
        let waiting = if !ms.is_cp() && !cl.cp_init_reported {
            WAITING_FOR_CONTROL_PLANE
        } else {
            WAITING_FOR_BOOTSTRAP_DATA
        };
        reason(&mut p, waiting);
        return p;
    }
    let im = &ctx.in_memory;
    let secs = SimDuration::from_secs_f64;
    if !ms.nm_ready {
        let Some(vm_at) = ms.vm_started_at else {
            // The cloud VM is created now; its startup is ahead.
            p.cloud_machine = true;
            reason(&mut p, WAITING_FOR_VM);
            return p.after_d(secs(im.vm.duration(ctx.draws[0])));
        };
        let end = vm_at + secs(im.vm.duration(ctx.draws[0]));
        if ctx.now < end {
            reason(&mut p, WAITING_FOR_VM);
            return p.after_d(end - ctx.now);
        }
        // The VM is provisioned: providerID, then status provisioned and VMProvisioned
        // True. The Node phase starts now, and this reconcile returns its wait.
        p.write(ObjKind::NutanixMachine, Verb::Patch, t, Effect::None);
        p.write(
            ObjKind::NutanixMachine,
            Verb::StatusPatch,
            t,
            Effect::NmReady,
        );
        return p.after_d(secs(im.node.duration(ctx.draws[1])));
    }
    let Some(node_at) = ms.node_provisioned_at else {
        let vm_done = ms.nm_ready_at.unwrap_or(ctx.now);
        let end = vm_done + secs(im.node.duration(ctx.draws[1]));
        if ctx.now < end {
            return p.after_d(end - ctx.now);
        }
        // The Node is created in the workload cluster: NodeProvisioned True.
        p.node_provisioned = true;
        p.write(ObjKind::NutanixMachine, Verb::StatusPatch, t, Effect::None);
        if !ms.is_cp() {
            p.node_up = true;
            return p;
        }
        let pods = im
            .etcd
            .duration(ctx.draws[3])
            .max(im.api_server.duration(ctx.draws[2]));
        return p.after_d(secs(pods));
    };
    if ms.is_cp() && !ms.node_joined && ms.joined_at.is_none() {
        let etcd = node_at + secs(im.etcd.duration(ctx.draws[3]));
        let api = node_at + secs(im.api_server.duration(ctx.draws[2]));
        let end = etcd.max(api);
        if ctx.now < end {
            return p.after_d(end - ctx.now);
        }
        // EtcdProvisioned and APIServerProvisioned True: the member and the API server
        // answer.
        p.node_up = true;
        p.write(ObjKind::NutanixMachine, Verb::StatusPatch, t, Effect::None);
    }
    p
}
