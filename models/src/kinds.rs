//! The vocabulary every layer shares: the kinds of object the management cluster stores
//! and the controllers that reconcile them, with the manager process each runs in.
//!
//! Managers as deployed: `capi-controller-manager` (Cluster, ClusterTopology,
//! MachineDeployment, MachineSet, Machine, MachineHealthCheck), `capi-kubeadm-bootstrap`
//! (KubeadmConfig), `capi-kubeadm-control-plane` (KubeadmControlPlane),
//! `capx-controller-manager` (NutanixCluster, NutanixMachine). The infrastructure
//! controllers and kinds are the provider's: with the in-memory provider they are CAPD's
//! DevCluster and DevMachine in `capd-controller-manager` (the same slots, other names).

use serde::{Deserialize, Serialize};

/// The infrastructure provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// CAPX, the Nutanix provider: VMs through Prism Central (`capx-controller-manager`).
    #[default]
    Capx,
    /// CAPI's in-memory provider, the backend of CAPD's DevCluster and DevMachine that
    /// CAPI's own scale test runs (`capd-controller-manager`): no VMs, timers instead.
    InMemory,
}

impl Provider {
    /// Name in scenarios and reports.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Capx => "capx",
            Provider::InMemory => "in-memory",
        }
    }
}

/// The kinds of object the management cluster stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjKind {
    /// cluster.x-k8s.io Cluster.
    Cluster,
    /// NutanixCluster.
    NutanixCluster,
    /// KubeadmControlPlane.
    KubeadmControlPlane,
    /// MachineDeployment.
    MachineDeployment,
    /// MachineSet.
    MachineSet,
    /// Machine.
    Machine,
    /// KubeadmConfig.
    KubeadmConfig,
    /// NutanixMachine.
    NutanixMachine,
    /// NutanixMachineTemplate and KubeadmConfigTemplate.
    Template,
    /// Secrets: certificates, kubeconfig, bootstrap data, the topology shim.
    Secret,
    /// ConfigMaps: the kubeadm init lock.
    ConfigMap,
    /// core/v1 Event.
    Event,
    /// coordination.k8s.io Lease (leader election).
    Lease,
    /// MachineHealthCheck (one per cluster's workers, when the scenario sets one).
    MachineHealthCheck,
}

impl ObjKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ObjKind; 14] = [
        ObjKind::Cluster,
        ObjKind::NutanixCluster,
        ObjKind::KubeadmControlPlane,
        ObjKind::MachineDeployment,
        ObjKind::MachineSet,
        ObjKind::Machine,
        ObjKind::KubeadmConfig,
        ObjKind::NutanixMachine,
        ObjKind::Template,
        ObjKind::Secret,
        ObjKind::ConfigMap,
        ObjKind::Event,
        ObjKind::Lease,
        ObjKind::MachineHealthCheck,
    ];

    /// Position in [`ObjKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The kind's name with `provider`'s infrastructure kinds.
    pub fn name_in(self, provider: Provider) -> &'static str {
        match (self, provider) {
            (ObjKind::NutanixCluster, Provider::InMemory) => "DevCluster",
            (ObjKind::NutanixMachine, Provider::InMemory) => "DevMachine",
            _ => self.name(),
        }
    }

    /// The kind's name as `kubectl` prints it (CAPX's infrastructure kinds).
    pub fn name(self) -> &'static str {
        match self {
            ObjKind::Cluster => "Cluster",
            ObjKind::NutanixCluster => "NutanixCluster",
            ObjKind::KubeadmControlPlane => "KubeadmControlPlane",
            ObjKind::MachineDeployment => "MachineDeployment",
            ObjKind::MachineSet => "MachineSet",
            ObjKind::Machine => "Machine",
            ObjKind::KubeadmConfig => "KubeadmConfig",
            ObjKind::NutanixMachine => "NutanixMachine",
            ObjKind::Template => "Template",
            ObjKind::Secret => "Secret",
            ObjKind::ConfigMap => "ConfigMap",
            ObjKind::Event => "Event",
            ObjKind::Lease => "Lease",
            ObjKind::MachineHealthCheck => "MachineHealthCheck",
        }
    }
}

/// A controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Controller {
    /// CAPI core, Cluster.
    Cluster,
    /// CAPI core, ClusterTopology (ClusterClass).
    ClusterTopology,
    /// CAPI core, MachineDeployment (and the topology MD controller).
    MachineDeployment,
    /// CAPI core, MachineSet (and the topology MS controller).
    MachineSet,
    /// CAPI core, Machine.
    Machine,
    /// CABPK, KubeadmConfig.
    KubeadmConfig,
    /// KCP, KubeadmControlPlane.
    KubeadmControlPlane,
    /// CAPX, NutanixCluster.
    NutanixCluster,
    /// CAPX, NutanixMachine.
    NutanixMachine,
    /// CAPI core, MachineHealthCheck (only with a `machine-health-check` in the scenario).
    MachineHealthCheck,
}

/// Whether a controller's keys are clusters or machines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpace {
    /// One key per workload cluster.
    Cluster,
    /// One key per machine.
    Machine,
}

impl Controller {
    /// Every controller, in a fixed order.
    pub const ALL: [Controller; 10] = [
        Controller::Cluster,
        Controller::ClusterTopology,
        Controller::MachineDeployment,
        Controller::MachineSet,
        Controller::Machine,
        Controller::KubeadmConfig,
        Controller::KubeadmControlPlane,
        Controller::NutanixCluster,
        Controller::NutanixMachine,
        Controller::MachineHealthCheck,
    ];

    /// Position in [`Controller::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The controller's name with `provider`'s infrastructure controllers.
    pub fn name_in(self, provider: Provider) -> &'static str {
        match (self, provider) {
            (Controller::NutanixCluster, Provider::InMemory) => "devcluster",
            (Controller::NutanixMachine, Provider::InMemory) => "devmachine",
            _ => self.name(),
        }
    }

    /// The controller's name, as in controller-runtime metrics (`controller` label), with
    /// CAPX's infrastructure controllers.
    pub fn name(self) -> &'static str {
        match self {
            Controller::Cluster => "cluster",
            Controller::ClusterTopology => "topology/cluster",
            Controller::MachineDeployment => "machinedeployment",
            Controller::MachineSet => "machineset",
            Controller::Machine => "machine",
            Controller::KubeadmConfig => "kubeadmconfig",
            Controller::KubeadmControlPlane => "kubeadmcontrolplane",
            Controller::NutanixCluster => "nutanixcluster",
            Controller::NutanixMachine => "nutanixmachine",
            Controller::MachineHealthCheck => "machinehealthcheck",
        }
    }

    /// The manager it runs in: index into [`crate::scenario::config::ModelConfig::managers`].
    pub fn manager(self) -> usize {
        match self {
            Controller::Cluster
            | Controller::ClusterTopology
            | Controller::MachineDeployment
            | Controller::MachineSet
            | Controller::Machine
            | Controller::MachineHealthCheck => 0,
            Controller::KubeadmConfig => 1,
            Controller::KubeadmControlPlane => 2,
            Controller::NutanixCluster | Controller::NutanixMachine => 3,
        }
    }

    /// Its keys.
    pub fn key_space(self) -> KeySpace {
        match self {
            Controller::Machine | Controller::KubeadmConfig | Controller::NutanixMachine => {
                KeySpace::Machine
            }
            _ => KeySpace::Cluster,
        }
    }

    /// The kind it reconciles.
    pub fn kind(self) -> ObjKind {
        match self {
            Controller::Cluster | Controller::ClusterTopology => ObjKind::Cluster,
            Controller::MachineDeployment => ObjKind::MachineDeployment,
            Controller::MachineSet => ObjKind::MachineSet,
            Controller::Machine => ObjKind::Machine,
            Controller::KubeadmConfig => ObjKind::KubeadmConfig,
            Controller::KubeadmControlPlane => ObjKind::KubeadmControlPlane,
            Controller::NutanixCluster => ObjKind::NutanixCluster,
            Controller::NutanixMachine => ObjKind::NutanixMachine,
            Controller::MachineHealthCheck => ObjKind::MachineHealthCheck,
        }
    }

    /// The flag that sets its worker count, by the guide's naming.
    pub fn concurrency_flag(self) -> &'static str {
        match self {
            Controller::Cluster => "cluster-concurrency",
            Controller::ClusterTopology => "clustertopology-concurrency",
            Controller::MachineDeployment => "machinedeployment-concurrency",
            Controller::MachineSet => "machineset-concurrency",
            Controller::Machine => "machine-concurrency",
            Controller::KubeadmConfig => "kubeadmconfig-concurrency",
            Controller::KubeadmControlPlane => "kubeadmcontrolplane-concurrency",
            Controller::NutanixCluster => "nutanixcluster-concurrency",
            Controller::NutanixMachine => "nutanixmachine-concurrency",
            Controller::MachineHealthCheck => "machinehealthcheck-concurrency",
        }
    }
}
