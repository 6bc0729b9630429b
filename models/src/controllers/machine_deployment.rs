//! CAPI's MachineDeployment controller (`internal/controllers/machinedeployment`): its
//! MachineSet, replicas, status, and the rolling update (a new MachineSet scaled up within
//! `maxSurge`, the old one down within `maxUnavailable`).

use crate::kinds::ObjKind;
use crate::objects::{ClusterState, MachineState, OldMachineSet};
use crate::recipe::{Ctx, Effect, Plan, Target, Verb, sig};

/// A MachineDeployment reconcile (`reconcile`, `getMachineSetsForDeployment`,
/// `rolloutRolling`, `sync`, `syncDeploymentStatus`): finalizer and Paused condition, its
/// MachineSet, replicas, the rolling update between the old and new MachineSets, status.
/// One function follows the real reconcile step by step, in its order, which is why it
/// is long: split, the order of the steps would be harder to check against CAPI's.
pub(crate) fn reconcile(c: u32, cl: &ClusterState, machines: &[MachineState], ctx: &Ctx) -> Plan {
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
pub(crate) fn rolling_update(
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
