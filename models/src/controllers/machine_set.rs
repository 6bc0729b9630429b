//! CAPI's MachineSet controller (`internal/controllers/machineset`): creates each
//! Machine with its KubeadmConfig and NutanixMachine, deletes the surplus on a scale
//! down (unhealthy Machines first), remediates unhealthy Machines and replaces them, and
//! scales an old MachineSet down during a rollout. Creates and remediation wait behind
//! the preflight checks ([`ClusterState::ms_preflight`]); an old MachineSet neither
//! creates nor remediates.

use super::{create_machine_objects, name_order};
use crate::kinds::ObjKind;
use crate::objects::{ClusterState, MachineState, OldMachineSet, OwnerRemediated};
use crate::recipe::{Effect, Plan, Target, Verb, sig};

/// A MachineSet's scale-down: DELETE `surplus` of `candidates` (its Machines not already
/// deleting), unhealthy ones first ([`MachineState::unhealthy`]: CAPI v1.12
/// `randomDeletionOrder` gives them priority 50 over 20), then in name order (the
/// "Random" deletion order sorts ties by name, which is random with respect to
/// creation).
pub(crate) fn delete_surplus(
    p: &mut Plan,
    machines: &[MachineState],
    mut candidates: Vec<u32>,
    surplus: u32,
) {
    candidates.sort_by_key(|&m| (!machines[m as usize].unhealthy(), name_order(m)));
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
/// scale-down does, and reports its status; once deleted, the topology MachineSet
/// controller drops its finalizer, and the MachineSet controller drops its own when no
/// Machine is left. It creates nothing: its version is not the control plane's, so its
/// preflight checks fail (`kubeadmVersionPreflightCheck`), and it does not remediate
/// (`reconcileUnhealthyMachines`: not the MachineDeployment's revision).
pub(crate) fn old_machine_set(
    p: &mut Plan,
    t: Target,
    cl: &ClusterState,
    old: &OldMachineSet,
    machines: &[MachineState],
) {
    let mine: Vec<u32> = (0..cl.workers_created)
        .map(|i| cl.worker_slot(i))
        .filter(|&m| machines[m as usize].exists && machines[m as usize].version == old.version)
        .collect();
    let at = |m: &u32| &machines[*m as usize];
    if old.deleting {
        if !old.topology_cleaned && !cl.classic {
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
        return;
    }
    let alive = mine.len() as u32;
    if alive > old.replicas {
        let candidates: Vec<u32> = mine.iter().copied().filter(|m| !at(m).deleting).collect();
        let deleting = alive - candidates.len() as u32;
        let surplus = (alive - old.replicas).saturating_sub(deleting);
        delete_surplus(p, machines, candidates, surplus);
    }
    let available = mine.iter().filter(|m| at(m).available()).count() as u64;
    let s = sig(&[u64::from(alive), available, u64::from(old.replicas)]);
    if s != old.status_sig {
        p.write(
            ObjKind::MachineSet,
            Verb::StatusPatch,
            t,
            Effect::OldMsStatus { sig: s },
        );
    }
}

/// A MachineSet reconcile (`Reconcile`, `reconcileNormal`, `syncReplicas`,
/// `getAndAdoptMachinesForMachineSet`): finalizer and Paused condition, machine creation
/// up to the replicas (preflight checks first), deletion of the surplus, remediation of
/// unhealthy Machines, the old MachineSet during a rollout, the status.
/// One function follows the real reconcile step by step, in its order, which is why it
/// is long: split, the order of the steps would be harder to check against CAPI's.
pub(crate) fn reconcile(c: u32, cl: &ClusterState, machines: &[MachineState]) -> Plan {
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
    // This MachineSet's Machines: every worker, but during a rolling update those of its
    // version.
    let ours = |m: u32| cl.old_ms.is_none() || machines[m as usize].version == cl.ms_version;
    let preflight = cl.ms_preflight(machines, cl.ms_version);
    // reconcileUnhealthyMachines: a Machine the MachineHealthCheck marked for its owner
    // gets OwnerRemediated (MachineDeleting) and a DELETE; its replacement comes with the
    // replica count once it is gone. While the preflight checks fail, each gets
    // OwnerRemediated False (RemediationDeferred) instead and the MachineSet requeues
    // after 15 s; the old MachineSet's get CannotBeRemediated and stay until the rollout
    // removes them.
    let (mut remediated, mut deferred) = (false, false);
    for i in 0..cl.workers_created {
        let m = cl.worker_slot(i);
        let ms = &machines[m as usize];
        if !(ms.exists && ms.hc_failed && !ms.deleting) {
            continue;
        }
        let mt = Target::Machine(m);
        let reason = if !ours(m) {
            OwnerRemediated::CannotBeRemediated
        } else if !preflight {
            deferred = true;
            OwnerRemediated::Deferred
        } else {
            OwnerRemediated::Remediated
        };
        if reason != ms.owner_remediated || reason == OwnerRemediated::Remediated {
            p.write(
                ObjKind::Machine,
                Verb::StatusPatch,
                mt,
                Effect::OwnerRemediated(reason),
            );
        }
        if reason == OwnerRemediated::Remediated {
            p.write(
                ObjKind::Machine,
                Verb::MarkDeleted,
                mt,
                Effect::MachineDeleting,
            );
            remediated = true;
        }
    }
    if remediated {
        return p;
    }
    if let Some(old) = &cl.old_ms {
        old_machine_set(&mut p, t, cl, old, machines);
    }
    // Deleting Machines still count (getAndAdoptMachinesForMachineSet): a replacement
    // is created only once the old Machine is gone.
    let alive = cl.new_ms_alive(machines);
    let available = (0..cl.workers_created)
        .map(|i| cl.worker_slot(i))
        .filter(|&m| ours(m) && machines[m as usize].available())
        .count() as u32;
    let status = |p: &mut Plan, preflight: bool| {
        let s = sig(&[preflight as u64, alive as u64, available as u64]);
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
        if !preflight {
            status(&mut p, true);
            return p.after(15);
        }
        let first = cl.workers_created;
        for i in first..first + (cl.workers - alive) {
            create_machine_objects(&mut p, cl.worker_slot(i), false, cl.ms_version);
            p.events += 1; // SuccessfulCreate
        }
        status(&mut p, false);
        return if deferred { p.after(15) } else { p };
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
        return if deferred { p.after(15) } else { p };
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
    if available < cl.workers || deferred {
        // shouldRequeueForReplicaCountersRefresh: until readyReplicas == replicas.
        p.after(15)
    } else {
        p.done()
    }
}
