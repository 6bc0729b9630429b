//! A committed write's effect on the fleet's objects, and the watch fan-out: every
//! controller watching the kind receives the change in its workqueue (after the watch
//! table of [`crate::controllers::watches`]), mapped to its own key.

use sim_core::{Scheduler, SimTime};

use super::attribution::Owner;
use super::requests::Op;
use super::{Event, USER, World};
use crate::controllers::watches::{MapTo, Watch, When};
use crate::controllers::workqueue::Priority;
use crate::kinds::{Controller, KeySpace, ObjKind};
use crate::objects::{OldMachineSet, OwnerRemediated};
use crate::recipe::{Effect, SSA_OBJECTS, Target, Verb, Write};

/// What a cluster-level effect changed that the watches and the garbage collector act on.
#[derive(Default)]
struct ClusterChange {
    /// The infrastructure became provisioned (the Cluster's status said so first now).
    infra_transition: bool,
    /// The control plane became initialized.
    init_transition: bool,
    /// Objects the garbage collector deletes once their owner is gone.
    gc: Vec<ObjKind>,
}

impl World {
    /// Lands a committed write's effect on the objects, sends the garbage collector's
    /// deletes it causes, and fans the change out to the watching controllers.
    pub(super) fn apply(&mut self, sched: &mut Scheduler<Event>, w: Write) {
        let now = sched.now();
        let (change, gc_secret) = match w.target {
            Target::Cluster(c) => (self.apply_to_cluster(c, w.effect, now), false),
            Target::Machine(m) => (
                ClusterChange::default(),
                self.apply_to_machine(m, w.effect, now),
            ),
        };
        let ClusterChange {
            infra_transition,
            init_transition,
            gc,
        } = change;
        if let Target::Cluster(c) = w.target {
            // The object's resourceVersion changed: its dry-run cache entry no longer
            // matches.
            let cache = &mut self.clusters[c as usize].ssa_cache;
            for (i, kind) in SSA_OBJECTS.iter().enumerate() {
                if *kind == w.kind {
                    cache[i] = None;
                }
            }
        }
        if self.waiting_batches.is_some() && matches!(w.effect, Effect::ClusterStatus { .. }) {
            self.batch_ready(sched);
        }
        match w.target {
            Target::Cluster(c) if infra_transition => self.connect_cluster(c),
            Target::Cluster(c) if w.effect == Effect::ClusterGone => self.disconnect_cluster(c),
            Target::Machine(m) if w.effect == Effect::MachineGone => self.node_forgotten(m),
            _ => {}
        }
        self.gc_pending += gc.len() as u32 + u32::from(gc_secret);
        for kind in gc {
            let w = Write {
                kind,
                verb: Verb::Delete,
                target: w.target,
                effect: Effect::None,
            };
            self.issue(sched, None, USER, Op::Write(w), Owner::None);
        }
        if gc_secret {
            let secret = Write {
                kind: ObjKind::Secret,
                verb: Verb::Delete,
                target: w.target,
                effect: Effect::None,
            };
            self.issue(sched, None, USER, Op::Write(secret), Owner::None);
        }
        if w.verb == Verb::Delete && matches!(w.kind, ObjKind::Secret | ObjKind::ConfigMap) {
            return; // nobody watches these deletions
        }
        self.fan_out(
            sched,
            w.kind,
            w.target,
            infra_transition,
            init_transition,
            Priority::Normal,
        );
    }

    /// Effect `effect` of a write on cluster `c`'s objects, committed at `now`. One arm per
    /// cluster-level [`Effect`], which is why the function is long.
    fn apply_to_cluster(&mut self, c: u32, effect: Effect, now: SimTime) -> ClusterChange {
        let mut change = ClusterChange::default();
        let cl = &mut self.clusters[c as usize];
        match effect {
            Effect::ClusterCreated => {
                cl.exists = true;
                cl.created_at = Some(now);
                if cl.classic {
                    // Its references are in its spec from the start, and no topology
                    // controller puts finalizers on its MachineDeployment and
                    // MachineSets.
                    cl.topology_applied = true;
                    cl.md_topology_cleaned = true;
                    cl.ms_topology_cleaned = true;
                }
            }
            Effect::ClusterFinalizer => cl.finalizer = true,
            Effect::ClusterPaused => cl.paused = true,
            Effect::TopologyApplied => cl.topology_applied = true,
            Effect::ShimCreated => cl.shim = true,
            Effect::ShimDeleted => cl.shim = false,
            Effect::ClusterEndpoint => cl.endpoint = true,
            Effect::ClusterStatus {
                sig,
                phase,
                infra,
                cp_init,
                ready,
            } => {
                change.infra_transition = infra && !cl.infra_reported;
                change.init_transition = cp_init && !cl.cp_init_reported;
                if change.init_transition {
                    cl.cp_init_at = Some(now);
                }
                cl.status_sig = sig;
                cl.phase_reported = phase;
                cl.infra_reported |= infra;
                cl.cp_init_reported |= cp_init;
                if ready && cl.ready_at.is_none() {
                    cl.ready_at = Some(now);
                    self.clusters_ready += 1;
                    // The fleet's time to ready is the first create's: a later create's
                    // clusters have their own operation timing.
                    if self.clusters_ready == self.applied && self.metrics.fleet_ready_at.is_none()
                    {
                        self.metrics.fleet_ready_at = Some(now);
                    }
                }
            }
            Effect::NcCreated => cl.nc_exists = true,
            Effect::NcOwned => cl.nc_owned = true,
            Effect::NcReady => cl.nc_ready = true,
            Effect::IcStep(step) => cl.ic_step = step,
            Effect::KcpCreated => cl.kcp_exists = true,
            Effect::KcpOwned => cl.kcp_owned = true,
            Effect::KcpFinalizer => cl.kcp_finalizer = true,
            Effect::KcpPaused => cl.kcp_paused = true,
            Effect::CertSecretCreated => cl.cert_secrets += 1,
            Effect::CpTemplateCreated => cl.cp_template = true,
            Effect::MdTemplateCreated => cl.md_templates += 1,
            Effect::KcpStatus {
                sig,
                version,
                init,
                rolled_out,
            } => {
                cl.kcp_status_sig = sig;
                cl.kcp_version_reported |= version;
                cl.kcp_init_reported |= init;
                cl.kcp_rolled_out = rolled_out;
            }
            Effect::ClusterVersion { version } => cl.version = version,
            Effect::KcpVersion { version } => cl.kcp_version = version,
            Effect::MdVersion { version } => cl.md_version = version,
            Effect::UpgradeReported { state } => cl.upgrade_reported = state,
            Effect::NewMsCreated { version, replicas } => {
                cl.old_ms = Some(OldMachineSet {
                    version: cl.ms_version,
                    replicas: cl.workers,
                    status_sig: cl.ms_status_sig,
                    deleting: false,
                    topology_cleaned: false,
                });
                cl.ms_version = version;
                cl.workers = replicas;
                cl.ms_finalizer = false;
                cl.ms_paused = false;
                cl.ms_status_sig = 0;
            }
            Effect::OldMsReplicas { replicas } => {
                if let Some(o) = cl.old_ms.as_mut() {
                    o.replicas = replicas;
                }
            }
            Effect::OldMsStatus { sig } => {
                if let Some(o) = cl.old_ms.as_mut() {
                    o.status_sig = sig;
                }
            }
            Effect::OldMsDeleting => {
                if let Some(o) = cl.old_ms.as_mut() {
                    o.deleting = true;
                }
            }
            Effect::OldMsTopologyCleaned => {
                if let Some(o) = cl.old_ms.as_mut() {
                    o.topology_cleaned = true;
                }
            }
            Effect::OldMsGone => cl.old_ms = None,
            Effect::MdCreated => cl.md_exists = true,
            Effect::ClusterDeleting => {
                cl.deleting = true;
                cl.deleting_at.get_or_insert(now);
            }
            Effect::ClusterDeletePhase { phase } => cl.delete_phase = phase,
            Effect::ClusterGone => {
                cl.exists = false;
                change.gc.push(ObjKind::Template); // the control plane's machine template
            }
            Effect::TopologyDeleteReported => cl.topology_delete_reported = true,
            Effect::MdDeleting => cl.md_deleting = true,
            Effect::MdTopologyCleaned => cl.md_topology_cleaned = true,
            Effect::MdTemplateDeleted => cl.md_templates_deleted += 1,
            Effect::MhcGone => cl.mhc_exists = false,
            Effect::MdGone => cl.md_exists = false,
            Effect::MsDeleting => cl.ms_deleting = true,
            Effect::MsTopologyCleaned => cl.ms_topology_cleaned = true,
            Effect::MsGone => cl.ms_exists = false,
            Effect::KcpDeleting => cl.kcp_deleting = true,
            Effect::KcpGone => {
                cl.kcp_exists = false;
                // The certificate Secrets and the kubeconfig the KCP owned.
                change.gc.extend([ObjKind::Secret; 5]);
            }
            Effect::NcDeleting => cl.nc_deleting = true,
            Effect::NcGone => cl.nc_exists = false,
            Effect::MhcCreated => cl.mhc_exists = true,
            Effect::MhcStatus { sig } => cl.mhc_status_sig = sig,
            Effect::TopologyWorkers { workers } => cl.topology_workers = workers,
            Effect::MdReplicas { replicas } => cl.md_replicas = replicas,
            Effect::MsReplicas { replicas } => cl.workers = replicas,
            Effect::MdFinalizer => cl.md_finalizer = true,
            Effect::MdPaused => cl.md_paused = true,
            Effect::MdStatus { sig } => cl.md_status_sig = sig,
            Effect::MsCreated => cl.ms_exists = true,
            Effect::MsFinalizer => cl.ms_finalizer = true,
            Effect::MsPaused => cl.ms_paused = true,
            Effect::MsStatus { sig } => cl.ms_status_sig = sig,
            Effect::LockCreated => cl.init_lock = true,
            Effect::LockDeleted => cl.init_lock = false,
            _ => {}
        }
        change
    }

    /// Effect `effect` of a write on machine `m`'s objects, committed at `now`; true when
    /// the garbage collector is to delete its bootstrap data Secret. One arm per
    /// machine-level [`Effect`], which is why the function is long.
    fn apply_to_machine(&mut self, m: u32, effect: Effect, now: SimTime) -> bool {
        let mut gc_secret = false;
        let ms = &mut self.machines[m as usize];
        let c = ms.cluster as usize;
        match effect {
            Effect::KcCreated => ms.kc_exists = true,
            Effect::NmCreated => ms.nm_exists = true,
            Effect::MachineCreated { version } => {
                ms.exists = true;
                ms.created_at = Some(now);
                (ms.bootstrap_at, ms.joined_at) = (None, None);
                ms.version = version;
                // MachineSet-created Machines carry the finalizer already; KCP's
                // carry its pre-terminate hook.
                ms.finalizer = !ms.is_cp();
                ms.hook = ms.is_cp();
                let cl = &mut self.clusters[c];
                if ms.is_cp() {
                    cl.cp_created += 1;
                } else {
                    cl.workers_created += 1;
                }
            }
            Effect::MetadataApplied => ms.metadata_applied = true,
            Effect::MachineFinalizer => ms.finalizer = true,
            Effect::MachinePaused => ms.paused = true,
            Effect::KcOwned => ms.kc_owned = true,
            Effect::NmOwned => ms.nm_owned = true,
            Effect::BootstrapRef => {
                ms.bootstrap_ref = true;
                ms.bootstrap_at.get_or_insert(now);
            }
            Effect::ProviderId => ms.provider_id = true,
            Effect::MachineStatus { sig, running } => {
                ms.status_sig = sig;
                if running && !ms.running {
                    ms.running = true;
                    ms.running_at = Some(now);
                    self.machines_running += 1;
                    let is_cp = ms.is_cp();
                    let cl = &mut self.clusters[c];
                    cl.running += 1;
                    if is_cp {
                        cl.cp_running += 1;
                    } else {
                        cl.workers_running += 1;
                    }
                }
            }
            Effect::KcPaused => ms.kc_paused = true,
            Effect::KcWaiting => ms.kc_waiting_reported = true,
            Effect::KcReady => ms.kc_ready = true,
            Effect::BootstrapSecretCreated => ms.kc_secret = true,
            Effect::KcCertExpiry => ms.kc_cert_expiry = true,
            Effect::NmFinalizer => ms.nm_finalizer = true,
            Effect::NmReason { sig } => ms.nm_reason_sig = sig,
            Effect::NmReady => {
                ms.nm_ready = true;
                ms.nm_ready_at = Some(now);
                // The in-memory provider's VM creation: its cloud VM's startup.
                if let Some(started) = ms.vm_started_at {
                    self.metrics.vm_create.record(now - started);
                }
            }
            Effect::MachineDeleting => {
                ms.deleting = true;
                ms.deleting_at.get_or_insert(now);
            }
            Effect::HookRemoved => ms.hook = false,
            Effect::HcHealthy => ms.hc_healthy = true,
            Effect::HcFailed => {
                ms.hc_failed = true;
                self.metrics.remediations += 1;
            }
            Effect::OwnerRemediated(reason) => {
                ms.owner_remediated = reason;
                if reason == OwnerRemediated::Remediated {
                    ms.remediated_at.get_or_insert(now);
                }
            }
            Effect::DrainStarted => ms.drain_started = true,
            Effect::NmDeleting => ms.nm_deleting = true,
            Effect::NmGone => ms.nm_exists = false,
            Effect::KcDeleted => {
                ms.kc_exists = false;
                if std::mem::replace(&mut ms.kc_secret, false) {
                    // The garbage collector deletes the bootstrap data Secret the
                    // KubeadmConfig owned (a kube-controller-manager request).
                    gc_secret = true;
                }
            }
            Effect::MachineGone => {
                ms.exists = false;
                ms.gone_at = Some(now);
                let was_running = std::mem::replace(&mut ms.running, false);
                let is_cp = ms.is_cp();
                let cl = &mut self.clusters[c];
                if is_cp {
                    cl.cp_gone += 1;
                } else {
                    cl.workers_gone += 1;
                }
                if was_running {
                    cl.running -= 1;
                    if is_cp {
                        cl.cp_running -= 1;
                    } else {
                        cl.workers_running -= 1;
                    }
                    self.machines_running -= 1;
                }
            }
            _ => {}
        }
        gc_secret
    }

    /// Delivers a change of `kind` on `target` to every watching controller.
    pub(super) fn fan_out(
        &mut self,
        sched: &mut Scheduler<Event>,
        kind: ObjKind,
        target: Target,
        infra_transition: bool,
        init_transition: bool,
        prio: Priority,
    ) {
        let watches = std::mem::take(&mut self.watches);
        for watch in watches.iter().filter(|w| w.kind == kind) {
            let pass = match (watch.when, target) {
                (When::Always, _) => true,
                (When::InfraProvisioned, _) => infra_transition,
                (When::ControlPlaneInitialized, _) => init_transition,
                (When::ControlPlaneMachine, Target::Machine(m)) => {
                    self.machines[m as usize].is_cp()
                }
                (When::WorkerMachine, Target::Machine(m)) => !self.machines[m as usize].is_cp(),
                _ => false,
            };
            if pass {
                self.map_watch(sched, watch, target, prio);
            }
        }
        self.watches = watches;
    }

    /// Enqueues what `watch`'s map function makes of a change of `target`.
    pub(super) fn map_watch(
        &mut self,
        sched: &mut Scheduler<Event>,
        watch: &Watch,
        target: Target,
        prio: Priority,
    ) {
        let ctrl = watch.controller;
        match (watch.map_to, target) {
            (MapTo::Same, Target::Cluster(c)) if ctrl.key_space() == KeySpace::Cluster => {
                self.enqueue(sched, ctrl, c, prio)
            }
            (MapTo::Same, Target::Machine(m)) if ctrl.key_space() == KeySpace::Machine => {
                self.enqueue(sched, ctrl, m, prio)
            }
            (MapTo::OwningCluster, Target::Machine(m)) => {
                let c = self.machines[m as usize].cluster;
                self.enqueue(sched, ctrl, c, prio)
            }
            (MapTo::MachinesOfCluster, Target::Cluster(c)) => {
                for m in self.clusters[c as usize].machine_slots() {
                    if self.machine_object_exists(ctrl, m) {
                        self.enqueue(sched, ctrl, m, prio);
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn machine_object_exists(&self, ctrl: Controller, m: u32) -> bool {
        let ms = &self.machines[m as usize];
        match ctrl {
            Controller::Machine => ms.exists,
            Controller::KubeadmConfig => ms.kc_exists,
            Controller::NutanixMachine => ms.nm_exists,
            _ => false,
        }
    }

    /// Machine `m`'s object of machine-level `kind` exists.
    pub(super) fn machine_kind_exists(&self, kind: ObjKind, m: u32) -> bool {
        let ctrl = match kind {
            ObjKind::Machine => Controller::Machine,
            ObjKind::KubeadmConfig => Controller::KubeadmConfig,
            ObjKind::NutanixMachine => Controller::NutanixMachine,
            _ => return false,
        };
        self.machine_object_exists(ctrl, m)
    }

    pub(super) fn cluster_object_exists(&self, kind: ObjKind, c: u32) -> bool {
        let cl = &self.clusters[c as usize];
        match kind {
            ObjKind::Cluster => cl.exists,
            ObjKind::NutanixCluster => cl.nc_exists,
            ObjKind::KubeadmControlPlane => cl.kcp_exists,
            ObjKind::MachineDeployment => cl.md_exists,
            ObjKind::MachineSet => cl.ms_exists,
            ObjKind::MachineHealthCheck => cl.mhc_exists,
            _ => false,
        }
    }

    /// Machine `m`'s node joined its workload cluster.
    pub(super) fn node_joined(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        let ms = &mut self.machines[m as usize];
        ms.node_joined = true;
        ms.joined_at.get_or_insert(sched.now());
        let c = ms.cluster;
        if ms.is_init() {
            self.clusters[c as usize].cp_api_up = true;
            self.enqueue(sched, Controller::KubeadmControlPlane, c, Priority::Normal);
        }
        // The ClusterCache's node watch maps the node to its Machine.
        self.enqueue(sched, Controller::Machine, m, Priority::Normal);
        self.node_registered(sched, m);
    }
}
