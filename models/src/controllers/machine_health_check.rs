//! CAPI's MachineHealthCheck controller (`internal/controllers/machinehealthcheck`):
//! marks workers whose node has not joined within the node startup timeout, or whose
//! node is NotReady beyond the unhealthy timeout, for remediation by their MachineSet.

use sim_core::{SimDuration, SimTime};

use crate::kinds::ObjKind;
use crate::objects::{ClusterState, MachineState};
use crate::recipe::{Ctx, Effect, Outcome, Plan, Target, Verb, sig};

/// CAPI v1.12 MachineHealthCheck over a cluster's workers, with a node startup timeout
/// only (`needsRemediation`'s nodeChecks): a worker with no node `timeout` after the
/// latest of its creation, the control plane's initialization and its infrastructure
/// becoming ready is unhealthy. Each
/// Machine whose verdict changes gets one status patch (HealthCheckSucceeded, and
/// OwnerRemediated False when unhealthy, with a MachineMarkedUnhealthy event); the
/// MachineHealthCheck's status is patched when its counts change. While a worker waits,
/// it requeues for the moment the first one could time out, plus 1 s.
pub(crate) fn reconcile(c: u32, cl: &ClusterState, machines: &[MachineState], ctx: &Ctx) -> Plan {
    let mut p = Plan::new();
    let (Some(timeout), true) = (ctx.mhc_timeout, cl.mhc_exists) else {
        return p;
    };
    // Nothing is judged before the control plane is initialized.
    let Some(cp_init) = cl.cp_init_at else {
        return p;
    };
    let (mut healthy, mut targets, mut next) = (0u64, 0u64, None::<SimDuration>);
    for i in 0..cl.workers_created {
        let m = cl.worker_slot(i);
        let ms = &machines[m as usize];
        if !ms.exists || ms.deleting {
            continue;
        }
        targets += 1;
        let t = Target::Machine(m);
        if let (true, Some(failed)) = (ms.running, ms.node_failed_at) {
            // unhealthyNodeConditions: Ready False/Unknown for longer than its timeout.
            let due = failed + ctx.mhc_unhealthy_timeout;
            if ctx.now >= due {
                if !ms.hc_failed {
                    p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::HcFailed);
                    p.events += 1; // MachineMarkedUnhealthy
                }
            } else {
                let wait = due - ctx.now + SimDuration::from_secs(1);
                next = Some(next.map_or(wait, |n| n.min(wait)));
            }
            continue;
        }
        if ms.running {
            healthy += 1;
            if !ms.hc_healthy {
                p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::HcHealthy);
            }
            continue;
        }
        let since = [ms.created_at, ms.nm_ready_at]
            .into_iter()
            .flatten()
            .fold(cp_init, SimTime::max);
        let due = since + timeout;
        if ctx.now >= due {
            if !ms.hc_failed {
                p.write(ObjKind::Machine, Verb::StatusPatch, t, Effect::HcFailed);
                p.events += 1; // MachineMarkedUnhealthy
            }
        } else {
            let wait = due - ctx.now + SimDuration::from_secs(1);
            next = Some(next.map_or(wait, |n| n.min(wait)));
        }
    }
    let s = sig(&[targets, healthy]);
    if s != cl.mhc_status_sig {
        p.write(
            ObjKind::MachineHealthCheck,
            Verb::StatusPatch,
            Target::Cluster(c),
            Effect::MhcStatus { sig: s },
        );
    }
    if let Some(wait) = next {
        p.outcome = Outcome::RequeueAfter(wait);
    }
    p
}
