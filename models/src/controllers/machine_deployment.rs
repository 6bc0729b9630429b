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

#[cfg(test)]
mod tests {
    //! Issue 17: the rolling update's terms one at a time, on a hand-made cluster: one
    //! control-plane Machine, then the workers, the new MachineSet at version 2 and the
    //! old one at version 1.

    use super::*;
    use crate::recipe::{Effect, Plan};

    /// A cluster whose MachineDeployment wants `desired` workers, its new MachineSet at
    /// `new_spec`, with `workers` (version, available, deleting) in slot order.
    fn fixture(
        desired: u32,
        new_spec: u32,
        workers: &[(u8, bool, bool)],
    ) -> (ClusterState, Vec<MachineState>) {
        let cl = ClusterState {
            first_machine: 0,
            cp_replicas: 1,
            initial_workers: workers.len() as u32,
            workers_created: workers.len() as u32,
            workers: new_spec,
            md_replicas: desired,
            ms_version: 2,
            ..ClusterState::default()
        };
        let mut machines = vec![MachineState::default()];
        for &(version, available, deleting) in workers {
            machines.push(MachineState {
                exists: true,
                running: available || deleting,
                deleting,
                version,
                ..MachineState::default()
            });
        }
        (cl, machines)
    }

    /// The replicas the plan gives the new and the old MachineSet, if it changes them.
    fn intents(p: &Plan) -> (Option<u32>, Option<u32>) {
        let (mut new, mut old) = (None, None);
        for w in &p.writes {
            match w.effect {
                Effect::MsReplicas { replicas } => new = Some(replicas),
                Effect::OldMsReplicas { replicas } => old = Some(replicas),
                _ => {}
            }
        }
        (new, old)
    }

    fn roll(cl: &ClusterState, old: u32, m: &[MachineState], surge: u32, unav: u32) -> Plan {
        let mut p = Plan::new();
        let old = OldMachineSet {
            version: 1,
            replicas: old,
            ..OldMachineSet::default()
        };
        rolling_update(&mut p, Target::Cluster(0), cl, &old, m, (surge, unav));
        p
    }

    /// `reconcileDeadlockBreaker`: with maxSurge and maxUnavailable 0 nothing may move,
    /// but an old MachineSet holding an unavailable Machine while the new one is fully
    /// available goes down by one. Not while the new one is short of availability.
    #[test]
    fn the_deadlock_breaker_alone_scales_the_old_machine_set_down_by_one() {
        // 3 wanted: 1 new available, 2 old of which 1 unavailable (its node NotReady).
        let (cl, m) = fixture(
            3,
            1,
            &[(2, true, false), (1, true, false), (1, false, false)],
        );
        assert_eq!(intents(&roll(&cl, 2, &m, 0, 0)), (None, Some(1)));
        // The new Machine not available: no breaker.
        let (cl, m) = fixture(
            3,
            1,
            &[(2, false, false), (1, true, false), (1, false, false)],
        );
        assert_eq!(intents(&roll(&cl, 2, &m, 0, 0)), (None, None));
    }

    /// v1.12's `newMSUnavailableMachineCount`: the new MachineSet's unavailable Machines
    /// reduce the old one's scale-down. 3 wanted, maxUnavailable 1, the old MachineSet's
    /// 3 all unavailable (so no availability guard applies), the new one at 1 not
    /// available yet: Σ spec 4 − minAvailable 2 − 1 unavailable new = 1 to remove (2
    /// without the term).
    #[test]
    fn unavailable_new_machines_hold_the_old_ones() {
        let old = [(1, false, false); 3];
        let (cl, m) = fixture(3, 1, &[&[(2, false, false)], &old[..]].concat());
        assert_eq!(intents(&roll(&cl, 3, &m, 0, 1)).1, Some(2));
        // Once the new Machine is available the term is 0: down by 2.
        let (cl, m) = fixture(3, 1, &[&[(2, true, false)], &old[..]].concat());
        assert_eq!(intents(&roll(&cl, 3, &m, 0, 1)).1, Some(1));
    }

    /// Finding 4(b): the new MachineSet's growth counts the old MachineSet's Machines
    /// still being deleted (its status.replicas includes them), so maxSurge holds while
    /// they go. 3 wanted, maxSurge 1, the old MachineSet scaled to 2 with a third
    /// Machine still deleting: Σ max(spec, status) = 0 + 3, room 1; not 2.
    #[test]
    fn deleting_machines_count_against_max_surge() {
        let (cl, m) = fixture(
            3,
            0,
            &[(1, true, false), (1, true, false), (1, false, true)],
        );
        assert_eq!(intents(&roll(&cl, 2, &m, 1, 0)).0, Some(1));
        // Once it is gone, the room is 2.
        let (cl, m) = fixture(3, 0, &[(1, true, false), (1, true, false)]);
        assert_eq!(intents(&roll(&cl, 2, &m, 1, 0)).0, Some(2));
    }
}
