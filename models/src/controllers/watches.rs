//! The controllers, the manager process each runs in, and who watches what.
//!
//! Managers as deployed: `capi-controller-manager` (Cluster, ClusterTopology,
//! MachineDeployment, MachineSet, Machine), `capi-kubeadm-bootstrap` (KubeadmConfig),
//! `capi-kubeadm-control-plane` (KubeadmControlPlane), `capx-controller-manager`
//! (NutanixCluster, NutanixMachine). Each manager has one client rate limiter shared by its
//! controllers, and informers for the kinds its controllers watch.
//!
//! The watch table says which workqueues a change of each kind reaches and under which
//! key (the object itself, its owner, or every machine of its cluster), after the
//! `Watches(...)` and map functions of each controller's `SetupWithManager` in CAPI v1.12
//! and CAPX v1.10. Cluster changes reach the machine-level controllers only on the
//! transitions their predicates let through (infrastructure provisioned, control plane
//! initialized).
//!
//! An informer's resync redelivers every cached object as an update whose old and new
//! objects are the same. The `For` watch passes it to its controller. CAPI builds its
//! controllers through its own builder (`internal/util/controller/builder.go`), which
//! prepends `ResourceIsChanged` to every `Owns` and `Watches` and so drops resyncs there.
//! CAPX uses controller-runtime's builder directly: its mapped watches receive them.

use crate::kinds::{Controller, ObjKind, Provider};

/// Which key of a watching controller a change maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapTo {
    /// The changed object's own key (cluster or machine).
    Same,
    /// The cluster the changed machine-level object belongs to.
    OwningCluster,
    /// Every machine of the changed cluster.
    MachinesOfCluster,
}

/// When a watch passes a Cluster change on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Every change.
    Always,
    /// Only when the Cluster reports its infrastructure provisioned.
    InfraProvisioned,
    /// Only when the Cluster reports its control plane initialized.
    ControlPlaneInitialized,
    /// Only for control-plane Machines (KCP owns them) or only for workers (the MS does).
    ControlPlaneMachine,
    /// Only for worker Machines.
    WorkerMachine,
}

/// One watch: a change of `kind` enqueues `controller` at `map_to`, `when` allows.
#[derive(Clone, Copy, Debug)]
pub struct Watch {
    /// The kind whose changes are watched.
    pub kind: ObjKind,
    /// The controller whose queue receives them.
    pub controller: Controller,
    /// Which key.
    pub map_to: MapTo,
    /// Filter.
    pub when: When,
    /// A mapped watch without `ResourceIsChanged`: its manager's resyncs of `kind` reach
    /// `controller` too (a `When::Always` watch only; a transition predicate drops them).
    pub resyncs: bool,
}

/// A CAPI watch: CAPI's builder drops resyncs on every watch but `For`.
const fn w(kind: ObjKind, controller: Controller, map_to: MapTo, when: When) -> Watch {
    Watch {
        kind,
        controller,
        map_to,
        when,
        resyncs: false,
    }
}

/// A CAPX watch, set up with controller-runtime's builder: no `ResourceIsChanged`.
const fn capx(kind: ObjKind, controller: Controller, map_to: MapTo, when: When) -> Watch {
    Watch {
        kind,
        controller,
        map_to,
        when,
        resyncs: true,
    }
}

/// Who watches what (data, after the controllers' `SetupWithManager`).
pub const WATCHES: &[Watch] = &[
    // MachineHealthCheck: its own object, the Cluster, and the Machines it targets
    // (CAPI machinehealthcheck_controller.go SetupWithManager; Node watches are on the
    // workload cluster).
    w(
        ObjKind::MachineHealthCheck,
        Controller::MachineHealthCheck,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::Cluster,
        Controller::MachineHealthCheck,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::Machine,
        Controller::MachineHealthCheck,
        MapTo::OwningCluster,
        When::WorkerMachine,
    ),
    w(
        ObjKind::Cluster,
        Controller::Cluster,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::Cluster,
        Controller::ClusterTopology,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::Cluster,
        Controller::KubeadmControlPlane,
        MapTo::Same,
        When::InfraProvisioned,
    ),
    w(
        ObjKind::Cluster,
        Controller::KubeadmConfig,
        MapTo::MachinesOfCluster,
        When::InfraProvisioned,
    ),
    w(
        ObjKind::Cluster,
        Controller::KubeadmConfig,
        MapTo::MachinesOfCluster,
        When::ControlPlaneInitialized,
    ),
    w(
        ObjKind::Cluster,
        Controller::Machine,
        MapTo::MachinesOfCluster,
        When::ControlPlaneInitialized,
    ),
    // CAPX v1.10.3 `NutanixMachineReconciler.SetupWithManager`: the Cluster through
    // `ClusterPausedTransitionsOrInfrastructureProvisioned`, the NutanixCluster through
    // `mapNutanixClusterToNutanixMachines` (every Machine of its Cluster), the Machine
    // through `MachineToInfrastructureMapFunc`; `NutanixClusterReconciler`'s: the Cluster
    // through `ClusterToInfrastructureMapFunc` with the same predicate.
    capx(
        ObjKind::Cluster,
        Controller::NutanixMachine,
        MapTo::MachinesOfCluster,
        When::InfraProvisioned,
    ),
    capx(
        ObjKind::Cluster,
        Controller::NutanixCluster,
        MapTo::Same,
        When::InfraProvisioned,
    ),
    capx(
        ObjKind::NutanixCluster,
        Controller::NutanixMachine,
        MapTo::MachinesOfCluster,
        When::Always,
    ),
    capx(
        ObjKind::NutanixCluster,
        Controller::NutanixCluster,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::NutanixCluster,
        Controller::Cluster,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::NutanixCluster,
        Controller::ClusterTopology,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::KubeadmControlPlane,
        Controller::KubeadmControlPlane,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::KubeadmControlPlane,
        Controller::Cluster,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::KubeadmControlPlane,
        Controller::ClusterTopology,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::MachineDeployment,
        Controller::MachineDeployment,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::MachineDeployment,
        Controller::ClusterTopology,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::MachineDeployment,
        Controller::Cluster,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::MachineSet,
        Controller::MachineSet,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::MachineSet,
        Controller::MachineDeployment,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::Machine,
        Controller::Machine,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::Machine,
        Controller::KubeadmControlPlane,
        MapTo::OwningCluster,
        When::ControlPlaneMachine,
    ),
    w(
        ObjKind::Machine,
        Controller::MachineSet,
        MapTo::OwningCluster,
        When::WorkerMachine,
    ),
    w(
        ObjKind::Machine,
        Controller::Cluster,
        MapTo::OwningCluster,
        When::Always,
    ),
    w(
        ObjKind::Machine,
        Controller::KubeadmConfig,
        MapTo::Same,
        When::Always,
    ),
    capx(
        ObjKind::Machine,
        Controller::NutanixMachine,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::KubeadmConfig,
        Controller::KubeadmConfig,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::KubeadmConfig,
        Controller::Machine,
        MapTo::Same,
        When::Always,
    ),
    capx(
        ObjKind::NutanixMachine,
        Controller::NutanixMachine,
        MapTo::Same,
        When::Always,
    ),
    w(
        ObjKind::NutanixMachine,
        Controller::Machine,
        MapTo::Same,
        When::Always,
    ),
];

/// Who watches what with `provider`'s infrastructure controllers. CAPD sets up its
/// DevCluster and DevMachine controllers through CAPI's builder (its mapped watches drop
/// resyncs), with the same map functions as CAPX's, except that the DevCluster's Cluster
/// watch passes only paused transitions (`ClusterPausedTransitions`), which the model
/// never makes (CAPI v1.12 `devcluster_controller.go`, `devmachine_controller.go`
/// `SetupWithManager`).
pub fn watches(provider: Provider) -> Vec<Watch> {
    let infra =
        |c: Controller| matches!(c, Controller::NutanixCluster | Controller::NutanixMachine);
    WATCHES
        .iter()
        .filter(|w| {
            provider == Provider::Capx
                || !(w.kind == ObjKind::Cluster && w.controller == Controller::NutanixCluster)
        })
        .map(|w| Watch {
            resyncs: w.resyncs && (provider == Provider::Capx || !infra(w.controller)),
            ..*w
        })
        .collect()
}

/// The kinds each manager keeps in its informer cache (index as in
/// [`crate::scenario::config::ModelConfig::managers`]). CAPI core tracks the bootstrap and
/// infrastructure objects it references through its external-object tracker.
pub fn cached_kinds(manager: usize) -> &'static [ObjKind] {
    match manager {
        0 => &[
            ObjKind::Cluster,
            ObjKind::MachineDeployment,
            ObjKind::MachineSet,
            ObjKind::Machine,
            ObjKind::NutanixCluster,
            ObjKind::KubeadmControlPlane,
            ObjKind::KubeadmConfig,
            ObjKind::NutanixMachine,
            ObjKind::Template,
            ObjKind::MachineHealthCheck,
        ],
        1 => &[ObjKind::KubeadmConfig, ObjKind::Machine, ObjKind::Cluster],
        2 => &[
            ObjKind::KubeadmControlPlane,
            ObjKind::Machine,
            ObjKind::Cluster,
            ObjKind::KubeadmConfig,
        ],
        _ => &[
            ObjKind::NutanixCluster,
            ObjKind::NutanixMachine,
            ObjKind::Cluster,
            ObjKind::Machine,
        ],
    }
}

/// Kinds a manager's informers hold that none of its controllers reconciles, one entry
/// per informer: the CAPI managers cache the Secrets labelled with their cluster's name
/// (each `main.go`: `cache.Options{ByObject: Secret: clusterSecretCacheSelector}`), CAPX
/// every Secret twice (its own client-go informer for credentials, `createInformers`,
/// and controller-runtime's) and every ConfigMap (CAPX v1.10.3 `main.go`).
/// CAPD caches neither (`DisableFor: Secret, ConfigMap`, CAPD v1.12 `main.go`).
pub fn cached_only_kinds(manager: usize, provider: Provider) -> &'static [ObjKind] {
    match (manager, provider) {
        (0..=2, _) => &[ObjKind::Secret],
        (_, Provider::Capx) => &[ObjKind::Secret, ObjKind::Secret, ObjKind::ConfigMap],
        (_, Provider::InMemory) => &[],
    }
}

/// Number of managers whose informers watch `kind` (the watch fan-out of a write).
pub fn watchers_of(kind: ObjKind) -> u32 {
    (0..4).filter(|&m| cached_kinds(m).contains(&kind)).count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_controller_watches_its_own_kind() {
        for c in Controller::ALL {
            assert!(
                WATCHES
                    .iter()
                    .any(|w| w.controller == c && w.kind == c.kind() && w.map_to == MapTo::Same),
                "{} does not watch {}",
                c.name(),
                c.kind().name()
            );
            assert!(
                cached_kinds(c.manager()).contains(&c.kind()),
                "{} caches its kind",
                c.name()
            );
        }
    }
}
