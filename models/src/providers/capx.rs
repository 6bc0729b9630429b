//! CAPX, the Nutanix infrastructure provider (v1.10): its two controllers and the
//! Prism Central calls each makes.
//!
//! - NutanixCluster (`controllers/nutanixcluster_controller.go`): finalizer, the cluster's
//!   categories in Prism Central, ready; on delete, the categories' deletion.
//! - NutanixMachine (`controllers/nutanixmachine_controller.go`): `getOrCreateVM` (look-ups,
//!   then create, update and power-on tasks, each polled to its end while the worker
//!   waits), the providerID and addresses, ready; on delete, the VM's deletion.
//!
//! The recipes say which Prism Central work a reconcile does ([`PcWork`]); the op tables
//! below spell out each call and task, and [`crate::world`] sends them.

use crate::kinds::ObjKind;
use crate::objects::{ClusterState, MachineState};
use crate::prism_central::TaskKind;
use crate::recipe::{Effect, PcWork, Plan, Target, Verb};

pub(crate) fn nutanix_cluster(c: u32, cl: &ClusterState) -> Plan {
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

/// CAPX v1.10.0 NutanixMachine `reconcileDelete`: no power-off. First pass: GET the VM,
/// LIST its running tasks, GET it for its ETag, DELETE it (the task is not waited for),
/// patch the conditions, requeue after 5 s. While the delete task runs: GET and LIST,
/// 5 s again. Then the GET answers 404 and the finalizer is removed.
pub(crate) fn nutanix_machine_delete(m: u32, ms: &MachineState) -> Plan {
    let mut p = Plan::new();
    let t = Target::Machine(m);
    use crate::prism_central::TaskKind;
    let create = 1 << task_code(TaskKind::VmCreate);
    let delete = 1 << task_code(TaskKind::VmDelete);
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

pub(crate) fn nutanix_machine(m: u32, ms: &MachineState) -> Plan {
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

/// A Prism Central operation of a recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PcOp {
    Call,
    /// POST that starts a task, then poll it until done.
    Task(TaskKind),
    /// A call that starts a task nobody waits for.
    Submit(TaskKind),
}

const CLUSTER_CATEGORY_OPS: &[PcOp] = &[PcOp::Call, PcOp::Call];

/// CAPX deleting a cluster's two category values: per value a filtered LIST, a GET for
/// the ETag and a DELETE (`DeleteCategories`, prism-go-client `Categories.Delete`).
const CLUSTER_CATEGORY_DELETE_OPS: &[PcOp] = &[PcOp::Call; 6];

/// CAPX deleting a VM: GET it, LIST its running tasks, GET it for its ETag, DELETE.
const DELETE_SUBMIT_OPS: &[PcOp] = &[
    PcOp::Call,
    PcOp::Call,
    PcOp::Call,
    PcOp::Submit(TaskKind::VmDelete),
];

/// The delete task still runs: GET the VM, LIST its tasks.
const DELETE_WAIT_OPS: &[PcOp] = &[PcOp::Call, PcOp::Call];

/// The VM is gone: the GET answers 404.
const DELETE_GONE_OPS: &[PcOp] = &[PcOp::Call];

/// CAPX's `getOrCreateVM` after its look-ups (`prism-central.lookups-per-vm-create`):
/// create, custom attributes, power on, each a POST, a task polled to its end, and GETs.
const PROVISION_OPS: &[PcOp] = &[
    PcOp::Task(TaskKind::VmCreate),
    PcOp::Call,
    PcOp::Call,
    PcOp::Task(TaskKind::VmUpdate),
    PcOp::Call,
    PcOp::Call,
    PcOp::Task(TaskKind::VmPowerOn),
    PcOp::Call,
    PcOp::Call,
];

/// The Prism Central operations a VM-provisioning reconcile still has to do: look-up
/// calls first, then the rest of [`PROVISION_OPS`]. After a restart or an error, CAPX finds
/// the VM by name (one call) and goes on from the first task not yet done.
fn provision_ops(m: &MachineState, lookups: u32) -> (u32, &'static [PcOp]) {
    let from = |kind: TaskKind| {
        let at = PROVISION_OPS
            .iter()
            .position(|op| *op == PcOp::Task(kind))
            .expect("listed task");
        // Two GETs (the VM, then its etag) come before each task's POST.
        at.saturating_sub(2)
    };
    if task_flag(m, TaskKind::VmPowerOn) {
        (1, &[])
    } else if task_flag(m, TaskKind::VmUpdate) {
        (1, &PROVISION_OPS[from(TaskKind::VmPowerOn)..])
    } else if task_flag(m, TaskKind::VmCreate) {
        (1, &PROVISION_OPS[from(TaskKind::VmUpdate)..])
    } else {
        (lookups, PROVISION_OPS)
    }
}

/// A task kind's bit in [`MachineState::tasks_pending`], `task_done` and `task_failed`.
pub(crate) fn task_code(kind: TaskKind) -> u8 {
    match kind {
        TaskKind::VmCreate => 0,
        TaskKind::VmUpdate => 1,
        TaskKind::VmPowerOn => 2,
        TaskKind::VmDelete => 3,
    }
}

pub(crate) fn task_kind(code: u8) -> TaskKind {
    match code {
        0 => TaskKind::VmCreate,
        1 => TaskKind::VmUpdate,
        2 => TaskKind::VmPowerOn,
        _ => TaskKind::VmDelete,
    }
}

/// Whether the machine's task of `kind` has finished (the poll's answer).
pub(crate) fn task_flag(ms: &MachineState, kind: TaskKind) -> bool {
    ms.task_done & (1 << task_code(kind)) != 0
}

pub(crate) fn task_flag_set(ms: &mut MachineState, kind: TaskKind) {
    ms.task_done |= 1 << task_code(kind);
}

pub(crate) fn task_flag_clear(ms: &mut MachineState, kind: TaskKind) {
    ms.task_done &= !(1 << task_code(kind));
}

/// The Prism Central calls and tasks `work` takes for reconcile key `key`, after its
/// look-up calls (the first figure). CAPX finds an existing VM by name: a restarted
/// reconcile skips what is done.
pub(crate) fn pc_ops(
    work: PcWork,
    key: u32,
    machines: &[MachineState],
    lookups_per_vm_create: u32,
) -> (u32, &'static [PcOp]) {
    match work {
        PcWork::ProvisionVm => provision_ops(&machines[key as usize], lookups_per_vm_create),
        PcWork::DeleteVm => {
            let m = &machines[key as usize];
            let delete = 1 << task_code(TaskKind::VmDelete);
            let ops: &'static [PcOp] = if m.task_done & delete != 0 {
                DELETE_GONE_OPS
            } else if m.tasks_pending != 0 {
                DELETE_WAIT_OPS
            } else {
                DELETE_SUBMIT_OPS
            };
            (0, ops)
        }
        PcWork::ClusterCategory => (0, CLUSTER_CATEGORY_OPS),
        PcWork::ClusterCategoryDelete => (0, CLUSTER_CATEGORY_DELETE_OPS),
    }
}
