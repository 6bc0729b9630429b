//! The objects of a fleet of workload clusters, as the management cluster stores them.
//!
//! One workload cluster is a `Cluster` with its NutanixCluster, KubeadmControlPlane,
//! MachineDeployment and MachineSet (one each: ClusterClass topology with one worker
//! class), templates, Secrets and a lock ConfigMap; each of its machines is a `Machine`
//! with a KubeadmConfig, a NutanixMachine, a bootstrap-data Secret and a VM. Objects are
//! flags and counters on [`ClusterState`] and [`MachineState`]: which exist, which
//! finalizers and owner references are set, what each status last reported.

use sim_core::SimTime;

/// One workload cluster's cluster-level objects.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    /// Index of its first machine; control-plane machines come first, then the workers it
    /// was created with.
    pub first_machine: u32,
    /// Control-plane machines wanted.
    pub cp_replicas: u32,
    /// Worker machines wanted: the MachineSet's `spec.replicas`.
    pub workers: u32,
    /// Workers it was created with (their slots follow the control plane's).
    pub initial_workers: u32,
    /// Slots of the workers created after the first ones (scale-ups, replacements), in
    /// creation order.
    pub extra: Vec<u32>,
    /// When the Cluster reported its control plane initialized.
    pub cp_init_at: Option<SimTime>,
    /// A classic cluster: its Cluster, NutanixCluster, KubeadmControlPlane,
    /// MachineDeployment and templates applied by the user, no ClusterClass topology.
    pub classic: bool,
    /// A classic cluster's MachineDeployment version the user has patched in.
    pub md_patched: u8,
    /// The MachineHealthCheck exists.
    pub mhc_exists: bool,
    /// The Cluster is being deleted (deletionTimestamp set).
    pub deleting: bool,
    /// The Cluster controller's last reported deletion phase (1 workers, 2 control
    /// plane, 3 infrastructure, 4 done).
    pub delete_phase: u8,
    /// The topology controller reported TopologyReconciled False (Deleting).
    pub topology_delete_reported: bool,
    /// The MachineDeployment is being deleted.
    pub md_deleting: bool,
    /// The MachineDeployment's templates deleted so far (of two).
    pub md_templates_deleted: u8,
    /// The topology MachineDeployment controller cleaned up (templates, health check)
    /// and removed its finalizer.
    pub md_topology_cleaned: bool,
    /// The MachineSet is being deleted.
    pub ms_deleting: bool,
    /// The topology MachineSet controller removed its finalizer.
    pub ms_topology_cleaned: bool,
    /// The KubeadmControlPlane is being deleted.
    pub kcp_deleting: bool,
    /// The NutanixCluster is being deleted.
    pub nc_deleting: bool,
    /// Control-plane Machines deleted and gone.
    pub cp_gone: u32,
    /// Last status the MachineHealthCheck controller wrote.
    pub mhc_status_sig: u64,
    /// Workers the Cluster's topology asks for (a scale operation changes it).
    pub topology_workers: u32,
    /// The MachineDeployment's `spec.replicas`.
    pub md_replicas: u32,
    /// When the user applied the Cluster.
    pub created_at: Option<SimTime>,
    /// When the Cluster's status first reported every machine running.
    pub ready_at: Option<SimTime>,
    /// When the user's delete of the Cluster committed.
    pub deleting_at: Option<SimTime>,

    // Cluster
    /// The Cluster exists.
    pub exists: bool,
    /// Cluster controller: finalizer.
    pub finalizer: bool,
    /// Cluster controller: Paused condition.
    pub paused: bool,
    /// ClusterTopology: refs and templates applied.
    pub topology_applied: bool,
    /// The topology shim Secret exists.
    pub shim: bool,
    /// Cluster spec: control-plane endpoint copied from the NutanixCluster.
    pub endpoint: bool,
    /// Last status the Cluster controller wrote.
    pub status_sig: u64,
    /// Cluster status: phase last reported (0 Pending, 1 Provisioning, 2 Provisioned).
    pub phase_reported: u8,
    /// Cluster status: InfrastructureReady reported.
    pub infra_reported: bool,
    /// Cluster status: ControlPlaneInitialized reported.
    pub cp_init_reported: bool,

    // NutanixCluster
    /// Exists.
    pub nc_exists: bool,
    /// Cluster owner reference set by the Cluster controller.
    pub nc_owned: bool,
    /// Ready (CAPX).
    pub nc_ready: bool,
    /// The in-memory provider's DevCluster reconciles done before it is provisioned: 1
    /// its finalizer, 2 its Paused condition.
    pub ic_step: u8,

    // KubeadmControlPlane
    /// Exists.
    pub kcp_exists: bool,
    /// Owner reference set by the Cluster controller.
    pub kcp_owned: bool,
    /// Finalizer.
    pub kcp_finalizer: bool,
    /// Paused condition.
    pub kcp_paused: bool,
    /// Certificate and kubeconfig Secrets created (of 5).
    pub cert_secrets: u8,
    /// The control plane's machine template exists.
    pub cp_template: bool,
    /// The MachineDeployment's templates created (of 2).
    pub md_templates: u8,
    /// Control-plane machines created.
    pub cp_created: u32,
    /// The first control-plane node answers (kubeadm init finished).
    pub cp_api_up: bool,
    /// Last status KCP wrote.
    pub kcp_status_sig: u64,
    /// KCP status: `version` set (unblocks the MachineSet preflight check).
    pub kcp_version_reported: bool,
    /// KCP status: initialized.
    pub kcp_init_reported: bool,

    // MachineDeployment and MachineSet
    /// MD exists.
    pub md_exists: bool,
    /// MD finalizers (topology and MD controller).
    pub md_finalizer: bool,
    /// MD Paused condition.
    pub md_paused: bool,
    /// Last status the MD controller wrote.
    pub md_status_sig: u64,
    /// MS exists.
    pub ms_exists: bool,
    /// MS finalizers.
    pub ms_finalizer: bool,
    /// MS Paused condition.
    pub ms_paused: bool,
    /// Worker machines created by the MS.
    pub workers_created: u32,
    /// Worker Machines deleted and gone.
    pub workers_gone: u32,
    /// Last status the MS controller wrote.
    pub ms_status_sig: u64,

    /// KCP's event recorder has recorded ControlPlaneUnhealthy for this cluster.
    pub kcp_unhealthy_event: bool,
    /// The topology controller's dry-run cache: when the entry of each object it manages
    /// was added ([`crate::recipe::SSA_OBJECTS`] order), or `None` (no entry, or the
    /// object changed since).
    pub ssa_cache: [Option<SimTime>; 8],
    /// KCP's etcd client certificate for this cluster (`ClientCertCache`, in the KCP
    /// process): the process epoch that generated it, and when.
    pub etcd_client_cert: Option<(u32, SimTime)>,
    /// The kubeadm init lock ConfigMap exists.
    pub init_lock: bool,
    /// Machines whose Machine status reports Running.
    pub running: u32,
    /// Control-plane machines whose status reports Running.
    pub cp_running: u32,
    /// Workers whose status reports Running.
    pub workers_running: u32,

    // Upgrades
    /// Kubernetes version the Cluster's topology asks for: 0 at creation, one more per
    /// upgrade.
    pub version: u8,
    /// The KubeadmControlPlane's `spec.version`.
    pub kcp_version: u8,
    /// The version the KubeadmControlPlane's status reports as rolled out: every machine
    /// at it, the replica count met, all ready.
    pub kcp_rolled_out: u8,
    /// The MachineDeployment's `spec.template.spec.version`.
    pub md_version: u8,
    /// The version of the newest MachineSet's template (the MachineSet the fields
    /// `ms_*` and `workers` describe).
    pub ms_version: u8,
    /// Slots of the control-plane machines created after the first `cp_replicas` (by
    /// rollouts), in creation order.
    pub cp_extra: Vec<u32>,
    /// The MachineSet a rolling update is replacing.
    pub old_ms: Option<OldMachineSet>,
    /// The topology's upgrade state last written to the Cluster's TopologyReconciled
    /// condition (0 reconciled, 1 ClusterUpgrading).
    pub upgrade_reported: u8,
}

/// The MachineSet of the previous template while a MachineDeployment rolls out: its
/// Machines are those of its version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OldMachineSet {
    /// Its template's version.
    pub version: u8,
    /// `spec.replicas`.
    pub replicas: u32,
    /// Last status the MachineSet controller wrote.
    pub status_sig: u64,
    /// Being deleted.
    pub deleting: bool,
    /// The topology MachineSet controller removed its finalizer.
    pub topology_cleaned: bool,
}

impl ClusterState {
    /// Machines wanted in total.
    pub fn machines(&self) -> u32 {
        self.cp_replicas + self.workers
    }

    /// Indices of every machine slot of the cluster, used or not yet.
    pub fn machine_slots(&self) -> impl Iterator<Item = u32> + use<> {
        let first = self.first_machine;
        (first..first + self.cp_replicas + self.initial_workers)
            .chain(self.extra.clone())
            .chain(self.cp_extra.clone())
    }

    /// Index of the cluster's `i`-th control-plane machine (in creation order).
    pub fn cp_slot(&self, i: u32) -> u32 {
        if i < self.cp_replicas {
            self.first_machine + i
        } else {
            self.cp_extra[(i - self.cp_replicas) as usize]
        }
    }

    /// Control-plane slots it has: the first ones and the extra.
    pub fn cp_slots(&self) -> u32 {
        self.cp_replicas + self.cp_extra.len() as u32
    }

    /// Control-plane Machines that exist (deleting ones included).
    pub fn cp_alive(&self) -> u32 {
        self.cp_created - self.cp_gone
    }

    /// Machines of the newest MachineSet that exist (deleting ones included): every
    /// worker, unless a rolling update is under way.
    pub fn new_ms_alive(&self, machines: &[MachineState]) -> u32 {
        if self.old_ms.is_none() {
            return self.workers_created - self.workers_gone;
        }
        self.workers_alive_at(machines, self.ms_version)
    }

    /// Workers of version `version` that exist (deleting ones included).
    pub fn workers_alive_at(&self, machines: &[MachineState], version: u8) -> u32 {
        (0..self.workers_created)
            .map(|i| &machines[self.worker_slot(i) as usize])
            .filter(|m| m.exists && m.version == version)
            .count() as u32
    }

    /// The KubeadmControlPlane's `status.version`: the lowest version among its
    /// Machines, deleting ones included (`None` while it has none).
    pub fn cp_status_version(&self, machines: &[MachineState]) -> Option<u8> {
        (0..self.cp_created)
            .map(|i| &machines[self.cp_slot(i) as usize])
            .filter(|m| m.exists)
            .map(|m| m.version)
            .min()
    }

    /// CAPI v1.12 MachineSet preflight checks (`runPreflightChecks`, on by default) for a
    /// MachineSet at `version`: the control plane is stable
    /// (`controlPlaneStablePreflightCheck`: KCP reports a version, is not provisioning,
    /// is not upgrading, that is its lowest Machine runs its spec's version, and the
    /// topology's version is the control plane's) and the MachineSet's version is the
    /// control plane's (`kubeadmVersionPreflightCheck`,
    /// `controlPlaneVersionPreflightCheck`; the model's versions are minor versions).
    pub fn ms_preflight(&self, machines: &[MachineState], version: u8) -> bool {
        self.kcp_version_reported
            && self.cp_status_version(machines) == Some(self.kcp_version)
            && (self.classic || self.version == self.kcp_version)
            && version == self.kcp_version
    }

    /// Index of the cluster's `i`-th worker (in creation order).
    pub fn worker_slot(&self, i: u32) -> u32 {
        if i < self.initial_workers {
            self.first_machine + self.cp_replicas + i
        } else {
            self.extra[(i - self.initial_workers) as usize]
        }
    }

    /// Worker slots it has: the first ones and the extra.
    pub fn worker_slots(&self) -> u32 {
        self.initial_workers + self.extra.len() as u32
    }
}

/// One machine's objects.
#[derive(Clone, Debug, Default)]
pub struct MachineState {
    /// Its cluster.
    pub cluster: u32,
    /// When CABPK last created or refreshed its join token in the workload cluster.
    pub token_at: Option<SimTime>,
    /// Position among its cluster's control-plane machines, if it is one.
    pub cp_index: Option<u32>,
    /// When its Machine was created.
    pub created_at: Option<SimTime>,
    /// When its Machine status first reported Running.
    pub running_at: Option<SimTime>,
    /// When its Machine was deleted from etcd (its finalizer removed).
    pub gone_at: Option<SimTime>,

    // Machine
    /// Exists.
    pub exists: bool,
    /// Finalizer.
    pub finalizer: bool,
    /// Paused condition.
    pub paused: bool,
    /// spec.bootstrap.dataSecretName set.
    pub bootstrap_ref: bool,
    /// spec.providerID set.
    pub provider_id: bool,
    /// Last status the Machine controller wrote.
    pub status_sig: u64,
    /// Status reports Running (nodeRef set).
    pub running: bool,

    // KubeadmConfig
    /// Exists.
    pub kc_exists: bool,
    /// Machine owner reference set.
    pub kc_owned: bool,
    /// Paused condition.
    pub kc_paused: bool,
    /// Waiting-for-control-plane condition reported.
    pub kc_waiting_reported: bool,
    /// Bootstrap data Secret created and status ready.
    pub kc_ready: bool,
    /// Bootstrap data Secret created.
    pub kc_secret: bool,
    /// Certificate-expiry annotation set by KCP.
    pub kc_cert_expiry: bool,
    /// Labels and annotations applied by the owner's metadata field manager.
    pub metadata_applied: bool,

    // NutanixMachine and the VM
    /// Exists.
    pub nm_exists: bool,
    /// Machine owner reference set.
    pub nm_owned: bool,
    /// Finalizer and first conditions.
    pub nm_finalizer: bool,
    /// Waiting reason last reported.
    pub nm_reason_sig: u64,
    /// Prism Central tasks of this VM submitted and not finished, one bit per task kind.
    pub tasks_pending: u8,
    /// Ready with providerID and addresses.
    pub nm_ready: bool,
    /// The node joined the workload cluster.
    pub node_joined: bool,
    /// Prism Central tasks of this VM that finished, one bit per task kind.
    pub task_done: u8,
    /// Prism Central tasks of this VM that failed and whose failure no poll has seen
    /// yet, one bit per task kind.
    pub task_failed: u8,
    /// The Machine is being deleted (deletionTimestamp set).
    pub deleting: bool,
    /// When its deletionTimestamp was set: from then on it is not available.
    pub deleting_at: Option<SimTime>,
    /// Its drain was recorded as started.
    pub drain_started: bool,
    /// The NutanixMachine is being deleted.
    pub nm_deleting: bool,
    /// When the NutanixMachine reported ready (the Machine's InfrastructureReady).
    pub nm_ready_at: Option<SimTime>,
    /// When the Machine got its bootstrap data secret (`spec.bootstrap.dataSecretName`).
    pub bootstrap_at: Option<SimTime>,
    /// When its node joined the workload cluster (kubeadm init or join done).
    pub joined_at: Option<SimTime>,
    /// In-memory provider: when its cloud VM was created.
    pub vm_started_at: Option<SimTime>,
    /// In-memory provider: when its Node was provisioned (control-plane machines then
    /// start their etcd member and API server).
    pub node_provisioned_at: Option<SimTime>,
    /// The MachineHealthCheck reported it healthy (HealthCheckSucceeded True).
    pub hc_healthy: bool,
    /// The MachineHealthCheck found it unhealthy (HealthCheckSucceeded False,
    /// OwnerRemediated False).
    pub hc_failed: bool,
    /// Kubernetes version of its spec (see [`ClusterState::version`]).
    pub version: u8,
    /// When its node went NotReady (`node-failures`), if it did.
    pub node_failed_at: Option<SimTime>,
    /// Carries KCP's `kcp-cleanup` pre-terminate hook annotation: its deletion stops
    /// before the infrastructure until KCP has removed the etcd member and the hook.
    pub hook: bool,
    /// Its OwnerRemediated condition as its MachineSet last wrote it.
    pub owner_remediated: OwnerRemediated,
    /// When its MachineSet remediated it (OwnerRemediated, then its DELETE).
    pub remediated_at: Option<SimTime>,
}

/// A worker's OwnerRemediated condition as its MachineSet writes it
/// (`reconcileUnhealthyMachines`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OwnerRemediated {
    /// Not written by the MachineSet (the MachineHealthCheck's False stands).
    #[default]
    Unset,
    /// RemediationDeferred: the MachineSet's preflight checks failed.
    Deferred,
    /// CannotBeRemediated: an old-revision MachineSet's Machine, pending removal by the
    /// rollout.
    CannotBeRemediated,
    /// MachineDeleting: the MachineSet deletes it.
    Remediated,
}

impl MachineState {
    /// Whether it is a control-plane machine.
    pub fn is_cp(&self) -> bool {
        self.cp_index.is_some()
    }

    /// Whether it runs `kubeadm init` (the first control-plane machine).
    pub fn is_init(&self) -> bool {
        self.cp_index == Some(0)
    }

    /// Whether it is Available as CAPI v1.12 counts it: Ready (its node Ready, so not a
    /// node gone NotReady nor one the health check failed), not deleting (the default
    /// minReadySeconds is 0).
    pub fn available(&self) -> bool {
        self.exists
            && !self.deleting
            && self.running
            && self.node_failed_at.is_none()
            && !self.hc_failed
    }

    /// Whether a MachineSet's scale-down takes it first (`randomDeletionOrder`'s
    /// `mustDelete` 50 over `couldDelete` 20): no node yet, its node not healthy, or its
    /// health check failed.
    pub fn unhealthy(&self) -> bool {
        !self.running || self.node_failed_at.is_some() || self.hc_failed
    }
}

/// Builds the fleet: `clusters` clusters of `cp_replicas` control-plane machines and
/// `workers` workers each, nothing created yet.
pub fn make_fleet(
    clusters: u32,
    cp_replicas: u32,
    workers: u32,
) -> (Vec<ClusterState>, Vec<MachineState>) {
    let mut cs = Vec::with_capacity(clusters as usize);
    let mut ms = Vec::with_capacity((clusters * (cp_replicas + workers)) as usize);
    add_clusters(&mut cs, &mut ms, clusters, cp_replicas, workers);
    (cs, ms)
}

/// Appends `clusters` clusters of `cp_replicas` control-plane machines and `workers`
/// workers, not created yet, to the fleet's state.
pub fn add_clusters(
    cs: &mut Vec<ClusterState>,
    ms: &mut Vec<MachineState>,
    clusters: u32,
    cp_replicas: u32,
    workers: u32,
) {
    let first = cs.len() as u32;
    for c in first..first + clusters {
        cs.push(ClusterState {
            first_machine: ms.len() as u32,
            cp_replicas,
            workers,
            initial_workers: workers,
            topology_workers: workers,
            md_replicas: workers,
            ..ClusterState::default()
        });
        for i in 0..cp_replicas + workers {
            ms.push(MachineState {
                cluster: c,
                cp_index: (i < cp_replicas).then_some(i),
                ..MachineState::default()
            });
        }
    }
}
