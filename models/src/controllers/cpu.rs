//! The CPU a reconcile spends in its Go process, per controller and per operation: the
//! reconcile itself (cache reads and their deep copies, the patch helper's diff, status
//! computation, SSA checks: a fixed part and a part per Machine it handles), then each
//! request it sends (writes encoded and their answers decoded, uncached reads decoded,
//! dry-run applies), the bootstrap data it renders and the keys it generates. The figures
//! and their basis are in `models/presets/defaults.yaml` and docs/model.md ("CPU").

use crate::kinds::{Controller, ObjKind};
use crate::recipe::{Effect, Plan, Target};
use crate::scenario::config::{ControllerCpu, ObjectSizes, ReconcileCost};

const KIB: f64 = 1024.0;

/// Each controller's [`ReconcileCost`], in [`Controller::ALL`] order.
pub(crate) fn reconcile_costs(cpu: &ControllerCpu) -> [ReconcileCost; Controller::ALL.len()] {
    Controller::ALL.map(|c| cpu.reconcile.get(c.name()).copied().unwrap_or_default())
}

/// Machines a reconcile of `ctrl` handles one by one: a MachineSet's workers, KCP's
/// control-plane Machines, a MachineHealthCheck's targets.
pub(crate) fn machines_handled(ctrl: Controller, workers: u32, control_plane: u32) -> u32 {
    match ctrl {
        Controller::MachineSet | Controller::MachineHealthCheck => workers,
        Controller::KubeadmControlPlane => control_plane,
        _ => 0,
    }
}

/// RSA keys `plan` generates: one per certificate Secret KCP creates (the 4 CAs' and
/// service-account keys, the kubeconfig's client key), each with one signature.
pub(crate) fn keys_generated(plan: &Plan) -> u32 {
    plan.writes
        .iter()
        .filter(|w| w.effect == Effect::CertSecretCreated)
        .count() as u32
}

/// The CPU of a reconcile that makes `plan`, keys and variation aside [s].
pub(crate) fn reconcile_cpu(
    cost: ReconcileCost,
    machines: u32,
    plan: &Plan,
    ctrl: Controller,
    cpu: &ControllerCpu,
    sizes: &ObjectSizes,
) -> f64 {
    let mut s = cost.fixed + cost.per_machine * f64::from(machines);
    for w in &plan.writes {
        let bytes = match (w.kind, w.target) {
            (ObjKind::Secret, Target::Machine(_)) => sizes.bootstrap_secret.0,
            (kind, _) => sizes.of(kind),
        };
        s += cpu.request + cpu.write_per_kib * bytes as f64 / KIB;
        if w.effect == Effect::BootstrapSecretCreated {
            s += cpu.bootstrap_render;
        }
    }
    let reads = f64::from(plan.uncached_gets) + f64::from(plan.uncached_list.is_some() as u8);
    s += cpu.request * reads;
    s += f64::from(plan.uncached_gets) * cpu.decode_per_kib * sizes.secret.0 as f64 / KIB;
    if let Some(n) = plan.uncached_list {
        s += f64::from(n) * cpu.decode_per_kib * sizes.machine.0 as f64 / KIB;
    }
    s += f64::from(plan.dry_runs) * cpu.dry_run;
    s += f64::from(plan.events + plan.event_repeats) * cpu.request;
    if ctrl == Controller::KubeadmControlPlane && plan.workload_calls > 0 {
        // A new etcd client through a port-forward: a TLS handshake with the workload API
        // server, then one with etcd (`etcdClientGenerator.forFirstAvailableNode`).
        s += 2.0 * cpu.tls_handshake;
    }
    s += f64::from(plan.workload_calls) * cpu.request;
    s + f64::from(keys_generated(plan)) * cpu.rsa_sign
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::Verb;
    use crate::scenario::presets::{self, Tier};

    #[test]
    fn a_reconciles_cpu_adds_up_its_operations() {
        let cfg = presets::resolve(Tier::Small, &[]).unwrap();
        let (cpu, sizes) = (&cfg.costs.cpu, &cfg.costs.object_size);
        let ms = reconcile_costs(cpu)[Controller::MachineSet as usize];
        // A MachineSet of 20 workers that writes nothing.
        let idle = reconcile_cpu(ms, 20, &Plan::new(), Controller::MachineSet, cpu, sizes);
        assert!((idle - (ms.fixed + 20.0 * ms.per_machine)).abs() < 1e-12);
        // Two status patches of a 3 KiB MachineSet and one Event.
        let mut p = Plan::new();
        for _ in 0..2 {
            p.write(
                ObjKind::MachineSet,
                Verb::StatusPatch,
                Target::Cluster(0),
                Effect::None,
            );
        }
        p.events = 1;
        let busy = reconcile_cpu(ms, 20, &p, Controller::MachineSet, cpu, sizes);
        let write = cpu.request + cpu.write_per_kib * sizes.machine_set.0 as f64 / KIB;
        assert!((busy - idle - 2.0 * write - cpu.request).abs() < 1e-12);
        // Every controller has a cost, and none is free.
        for c in Controller::ALL {
            assert!(cpu.reconcile[c.name()].fixed > 0.0, "{}", c.name());
        }
    }
}
