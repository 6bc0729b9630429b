//! KubeadmControlPlane's controller (`controlplane/kubeadm/internal/controllers`): the
//! certificates, one control-plane Machine at a time with its KubeadmConfig and
//! NutanixMachine, the status, the rolling update (a new Machine first, then the oldest
//! out behind its pre-terminate hook) and the delete.

use super::create_machine_objects;
use crate::kinds::ObjKind;
use crate::objects::{ClusterState, MachineState};
use crate::recipe::{Effect, Outcome, Plan, Target, Verb, sig};

/// Calls to the workload cluster in every reconcile of an initialized control plane
/// (CAPI v1.12.11 `updateStatus`, `reconcileControlPlaneAndMachinesConditions`,
/// `reconcileKubeProxy`, `reconcileCoreDNS`): a port-forward to an etcd pod through the
/// workload API server and the etcd client's Status, MemberList and AlarmList
/// (`UpdateEtcdConditions`); GETs of the `kubeadm-config` ConfigMap, the `kube-proxy`
/// DaemonSet, and CoreDNS's ConfigMap and Deployment. The Node and static-Pod reads come
/// from KCP's own cache of the workload cluster.
const WORKLOAD_CALLS: u32 = 8;

/// A KubeadmControlPlane reconcile (`reconcile`, `reconcileClusterCertificates`,
/// `initializeControlPlane`, `scaleUpControlPlane`, `updateStatus`): finalizer and
/// Paused condition, certificates and kubeconfig, the first Machine, then one Machine at
/// a time behind the preflight checks, the rolling update, the status.
/// One function follows the real reconcile step by step, in its order, which is why it
/// is long: split, the order of the steps would be harder to check against CAPI's.
pub(crate) fn reconcile(c: u32, cl: &ClusterState, machines: &[MachineState]) -> Plan {
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
        return reconcile_delete(c, cl, machines);
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
    if cl.infra_reported && cl.endpoint {
        // `initControlPlaneScope`: the control plane's Machines, read uncached.
        p.uncached_list = Some(cl.cp_alive());
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
    // ca, sa, proxy, etcd, then the kubeconfig: those not created yet. Each CA is looked
    // up first (`LookupOrGenerateCached`): a miss in the cache is read again uncached.
    p.uncached_gets = 4u32.saturating_sub(u32::from(cl.cert_secrets));
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
    p.workload_calls = WORKLOAD_CALLS;
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
pub(crate) fn kcp_rolling_update(
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

/// CAPI v1.12 KCP `reconcileDelete`: with no worker left, remove the `kcp-cleanup`
/// pre-terminate hook from every control-plane Machine that has it, deleting ones
/// included, and delete those not deleting yet, all at once (no
/// etcd member work while the control plane goes); requeue every 30 s; remove the
/// finalizer once none is left.
pub(crate) fn reconcile_delete(c: u32, cl: &ClusterState, machines: &[MachineState]) -> Plan {
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
            let mt = Target::Machine(m);
            // The hook goes first, from every Machine that has it: one already deleting
            // (a rollout's victim) is waiting at it.
            if ms.hook {
                p.write(ObjKind::Machine, Verb::Patch, mt, Effect::HookRemoved);
            }
            if !ms.deleting {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::{Effect, Verb};

    /// Issue 17, finding 4(a): KCP's delete removes the `kcp-cleanup` pre-terminate hook
    /// from every control-plane Machine, the one a rollout was already deleting (waiting
    /// at its hook) included, and marks only the others deleted.
    #[test]
    fn the_delete_releases_the_hook_of_a_machine_already_deleting() {
        let cl = ClusterState {
            first_machine: 0,
            cp_replicas: 2,
            cp_created: 2,
            ..ClusterState::default()
        };
        let machine = |deleting| MachineState {
            exists: true,
            hook: true,
            deleting,
            ..MachineState::default()
        };
        let machines = vec![machine(true), machine(false)];
        let p = reconcile_delete(0, &cl, &machines);
        let on = |m: u32| -> Vec<Effect> {
            p.writes
                .iter()
                .filter(|w| w.target == Target::Machine(m))
                .map(|w| w.effect)
                .collect()
        };
        assert_eq!(on(0), vec![Effect::HookRemoved]);
        assert_eq!(on(1), vec![Effect::HookRemoved, Effect::MachineDeleting]);
        assert!(p.writes.iter().all(|w| w.verb != Verb::FinalizerRemoved));
    }
}
