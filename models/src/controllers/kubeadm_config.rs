//! CABPK's KubeadmConfig controller (`bootstrap/kubeadm/internal/controllers`): waits
//! for the control plane's initialization (the init lock for the first control-plane
//! machine), then writes the bootstrap data Secret; refreshes join tokens.

use sim_core::{SimDuration, SimTime};

use crate::kinds::ObjKind;
use crate::objects::{ClusterState, MachineState};
use crate::recipe::{Effect, Plan, Target, Verb};

/// A bootstrap token is refreshed when less than TokenTTL × 5/6 of it is left: 2.5
/// minutes after it was last written, with CAPI's 15-minute TTL
/// (`skipTokenRefreshIfExpiringAfter`).
const TOKEN_REFRESH_AGE: SimDuration = SimDuration::from_secs(150);

/// A KubeadmConfig reconcile for key `m` at `now`, from what the cache shows; see the
/// module's header.
pub(crate) fn reconcile(m: u32, ms: &MachineState, cl: &ClusterState, now: SimTime) -> Plan {
    let mut p = Plan::new();
    let t = Target::Machine(m);
    let ct = Target::Cluster(ms.cluster);
    if !ms.kc_exists || !ms.kc_owned {
        return p; // no Machine owner yet
    }
    if !ms.kc_paused {
        p.write(
            ObjKind::KubeadmConfig,
            Verb::StatusPatch,
            t,
            Effect::KcPaused,
        );
        return p;
    }
    if ms.kc_ready {
        // Token refresh every TokenTTL/3 (5 min) until the node joins
        // (`refreshBootstrapTokenIfNeeded`): the token Secret is read from the workload
        // cluster and, with less than TokenTTL·5/6 left, updated there. The first
        // control-plane machine has no join token (its JoinConfiguration is empty).
        return if ms.node_joined || ms.is_init() {
            p.done()
        } else {
            let due = ms
                .token_at
                .is_none_or(|t| now.saturating_since(t) >= TOKEN_REFRESH_AGE);
            p.workload_calls = 1 + u32::from(due);
            p.token_written = due;
            p.after(300)
        };
    }
    if !cl.infra_reported {
        return p; // the Cluster watch brings it back
    }
    if ms.is_init() {
        // `ControlPlaneInitMutex.Lock`: a GET of the lock ConfigMap, then its create.
        p.uncached_gets = 1;
        if !cl.init_lock {
            p.write(ObjKind::ConfigMap, Verb::Create, ct, Effect::LockCreated);
        }
    } else {
        if !cl.cp_init_reported {
            if ms.is_cp() {
                p.uncached_gets = 1; // `Lock` finds the first machine's lock
            }
            if !ms.kc_waiting_reported {
                p.write(
                    ObjKind::KubeadmConfig,
                    Verb::StatusPatch,
                    t,
                    Effect::KcWaiting,
                );
            }
            return p.after(30);
        }
        // `Unlock` GETs the lock on every join; the first joining machine deletes it.
        p.uncached_gets = 1;
        if cl.init_lock {
            p.write(ObjKind::ConfigMap, Verb::Delete, ct, Effect::LockDeleted);
        }
        // The join token: created in the workload cluster (`createToken`), then in spec.
        p.workload_calls = 1;
        p.token_written = true;
        p.write(ObjKind::KubeadmConfig, Verb::Patch, t, Effect::None);
    }
    if !ms.kc_secret {
        p.write(
            ObjKind::Secret,
            Verb::Create,
            t,
            Effect::BootstrapSecretCreated,
        );
    }
    p.write(ObjKind::KubeadmConfig, Verb::StatusPatch, t, Effect::None); // conditions
    p.write(
        ObjKind::KubeadmConfig,
        Verb::StatusPatch,
        t,
        Effect::KcReady,
    );
    if ms.is_init() { p.done() } else { p.after(300) }
}
