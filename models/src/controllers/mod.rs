//! The CAPI controllers, one file each, named as CAPI names them; the controller-runtime
//! pieces they run on (the workqueue, the manager process); and the watch table.
//!
//! A controller's reconcile is a pure function from what its informer cache shows to a
//! recipe ([`crate::recipe::Plan`]): CPU, Prism Central work, writes in order, a result.
//! [`crate::world`] executes the recipe. The infrastructure provider's controllers live in
//! [`crate::providers`].

pub mod cluster;
pub mod cpu;
pub mod kubeadm_config;
pub mod kubeadm_control_plane;
pub mod machine;
pub mod machine_deployment;
pub mod machine_health_check;
pub mod machine_set;
pub mod manager;
pub mod topology;
pub mod watches;
pub mod workqueue;

use crate::kinds::{Controller, ObjKind, Provider};
use crate::objects::{ClusterState, MachineState};
use crate::providers;
use crate::recipe::{Ctx, Effect, Plan, Target, Verb};

/// A Machine's place in name order: its generated name suffix is random, so a hash of
/// its slot stands for it.
pub(crate) fn name_order(m: u32) -> u64 {
    sim_core::rng::splitmix64(u64::from(m))
}

/// The five writes that create one machine's objects (CAPI v1.12): apply + managedFields
/// patch for the bootstrap and infrastructure objects, then the Machine.
pub(crate) fn create_machine_objects(p: &mut Plan, m: u32, infra_first: bool, version: u8) {
    let t = Target::Machine(m);
    let kc = |p: &mut Plan| {
        p.write(ObjKind::KubeadmConfig, Verb::Create, t, Effect::KcCreated);
        p.write(ObjKind::KubeadmConfig, Verb::Patch, t, Effect::None);
    };
    let nm = |p: &mut Plan| {
        p.write(ObjKind::NutanixMachine, Verb::Create, t, Effect::NmCreated);
        p.write(ObjKind::NutanixMachine, Verb::Patch, t, Effect::None);
    };
    if infra_first {
        nm(p);
        kc(p);
    } else {
        kc(p);
        nm(p);
    }
    p.write(
        ObjKind::Machine,
        Verb::Create,
        t,
        Effect::MachineCreated { version },
    );
}

/// The reconcile of `controller` for `key` (a cluster or machine index).
pub fn reconcile(
    controller: Controller,
    key: u32,
    clusters: &[ClusterState],
    machines: &[MachineState],
    ctx: &Ctx,
) -> Plan {
    match controller {
        Controller::MachineHealthCheck => {
            machine_health_check::reconcile(key, &clusters[key as usize], machines, ctx)
        }
        Controller::Cluster => cluster::reconcile(key, &clusters[key as usize]),
        Controller::ClusterTopology => topology::reconcile(key, &clusters[key as usize], ctx),
        Controller::NutanixCluster => match ctx.provider {
            Provider::Capx => providers::capx::nutanix_cluster(key, &clusters[key as usize]),
            Provider::InMemory => providers::in_memory::dev_cluster(key, &clusters[key as usize]),
        },
        Controller::KubeadmControlPlane => {
            kubeadm_control_plane::reconcile(key, &clusters[key as usize], machines)
        }
        Controller::MachineDeployment => {
            machine_deployment::reconcile(key, &clusters[key as usize], machines, ctx)
        }
        Controller::MachineSet => machine_set::reconcile(key, &clusters[key as usize], machines),
        Controller::Machine => {
            let m = &machines[key as usize];
            machine::reconcile(key, m, &clusters[m.cluster as usize])
        }
        Controller::KubeadmConfig => {
            let m = &machines[key as usize];
            kubeadm_config::reconcile(key, m, &clusters[m.cluster as usize], ctx.now)
        }
        Controller::NutanixMachine => {
            let m = &machines[key as usize];
            match ctx.provider {
                Provider::Capx => providers::capx::nutanix_machine(key, m),
                Provider::InMemory => {
                    providers::in_memory::dev_machine(key, m, &clusters[m.cluster as usize], ctx)
                }
            }
        }
    }
}
