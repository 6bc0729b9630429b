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
        // A new template: its MachineSet, created at 0 and scaled in the same reconcile to
        // what the surge allows (`NewMSNewReplicas`: Σ max(spec, status.replicas) over
        // the MachineSets, deleting Machines included).
        let (surge, _) = ctx.rollout;
        let current = cl.workers.max(cl.workers_created - cl.workers_gone);
        let replicas = (cl.md_replicas + surge)
            .saturating_sub(current)
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

/// One MachineDeployment rolling-update step (CAPI v1.12 `rolloutRollingUpdate`,
/// `planRollingUpdate`), every move planned in one reconcile on the MachineSets' status
/// (status.replicas: their Machines, deleting ones included; availableReplicas: those
/// [`MachineState::available`]):
/// - scale up (`reconcileNewMachineSet`, `NewMSNewReplicas`): while Σ max(spec,
///   status.replicas) over both MachineSets is below replicas + maxSurge, the new
///   MachineSet grows by the room left, up to replicas;
/// - scale down (`reconcileOldMachineSetsRollingUpdate`, `scaleDownOldMSs`): at most
///   Σ spec − pending scale-downs − (replicas − maxUnavailable) − the new MachineSet's
///   unavailable Machines (spec − available: a broken new revision stops the rollout),
///   first only the old
///   MachineSet's unavailable replicas, then any; when the old MachineSet has available
///   Machines, the existing Machines the step deletes are capped so that, assuming the
///   worst (available ones go first), availability stays at replicas − maxUnavailable;
/// - `reconcileDeadlockBreaker`: when the old MachineSet has unavailable Machines, no
///   MachineSet is scaling (spec = status.replicas, no move planned above) and the new
///   one is fully available, the old one goes down by 1 (its MachineSet deletes an
///   unhealthy Machine first);
/// - clean up (`cleanupDeployment`): once the new MachineSet has all its replicas
///   available, the old one, at 0 replicas with no Machine left, is deleted.
pub(crate) fn rolling_update(
    p: &mut Plan,
    t: Target,
    cl: &ClusterState,
    old: &OldMachineSet,
    machines: &[MachineState],
    (surge, unavailable): (u32, u32),
) {
    let desired = i64::from(cl.md_replicas);
    let workers = (0..cl.workers_created).map(|i| &machines[cl.worker_slot(i) as usize]);
    let available_at = |v: u8| {
        i64::try_from(
            workers
                .clone()
                .filter(|m| m.available() && m.version == v)
                .count(),
        )
        .expect("fits")
    };
    let new_spec = i64::from(cl.workers);
    let new_status = i64::from(cl.workers_alive_at(machines, cl.ms_version));
    let new_available = available_at(cl.ms_version);
    let old_spec = i64::from(old.replicas);
    let old_status = i64::from(cl.workers_alive_at(machines, old.version));
    let old_available = available_at(old.version);

    // reconcileNewMachineSet
    let mut new_intent = None;
    if new_spec > desired {
        new_intent = Some(desired);
    } else if new_spec < desired {
        let max_total = desired + i64::from(surge);
        let current = new_spec.max(new_status) + old_spec.max(old_status);
        if current < max_total {
            new_intent = Some(new_spec + (max_total - current).min(desired - new_spec));
        }
    }

    // reconcileOldMachineSetsRollingUpdate
    let mut old_intent = None;
    if old_spec > 0 {
        let min_available = (desired - i64::from(unavailable)).max(0);
        let mut total_available = new_available + old_available;
        let new_scale = new_intent.map_or(new_spec, |i| i.min(new_spec));
        let pending = (new_status - new_scale).max(0) + (old_status - old_spec).max(0);
        // v1.12's newMSUnavailableMachineCount: unavailable new Machines hold the old ones.
        let new_unavailable = (new_spec - new_available).max(0);
        let mut total_down =
            (new_spec + old_spec - pending - min_available - new_unavailable).max(0);
        for only_unavailable in [true, false] {
            let replicas = old_intent.unwrap_or(old_spec);
            if total_down <= 0 || replicas <= 0 {
                break;
            }
            let max_down = if only_unavailable {
                (replicas - old_available).max(0)
            } else {
                replicas
            };
            let mut down = max_down.min(total_down);
            if down == 0 {
                continue;
            }
            if old_available > 0 {
                let mut existing = (old_status - (replicas - down).max(0)).max(0);
                if existing > 0 {
                    if total_available - min_available < existing {
                        let can = (total_available - min_available).max(0);
                        let revisited = (old_status - can).min(replicas);
                        down = (replicas - revisited).max(0);
                        existing = (old_status - revisited).max(0);
                    }
                    total_available -= old_available.min(existing);
                }
            }
            if down > 0 {
                old_intent = Some((replicas - down).max(0));
                total_down = (total_down - down).max(0);
            }
        }
    }

    // reconcileDeadlockBreaker
    if old_status > 0
        && old_status != old_available
        && new_spec == new_status
        && old_spec == old_status
        && new_intent.is_none()
        && old_intent.is_none()
        && new_available == new_status
        && old_spec > 0
    {
        old_intent = Some(old_spec - 1);
    }

    let replicas = |r: i64| u32::try_from(r).expect("replicas are never negative");
    if let Some(r) = new_intent {
        p.write(
            ObjKind::MachineSet,
            Verb::Patch,
            t,
            Effect::MsReplicas {
                replicas: replicas(r),
            },
        );
    }
    if let Some(r) = old_intent {
        p.write(
            ObjKind::MachineSet,
            Verb::Patch,
            t,
            Effect::OldMsReplicas {
                replicas: replicas(r),
            },
        );
    } else if old_spec == 0
        && old_status == 0
        && !old.deleting
        && new_spec == desired
        && new_available == desired
    {
        p.write(
            ObjKind::MachineSet,
            Verb::MarkDeleted,
            t,
            Effect::OldMsDeleting,
        );
        p.events += 1; // SuccessfulDelete
    }
}
