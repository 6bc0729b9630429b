//! CAPI's ClusterCache as the managers run it (`controllers/clustercache`, CAPI v1.12):
//! capi-controller-manager, capi-kubeadm-control-plane and capi-kubeadm-bootstrap each
//! connect to a workload cluster once its infrastructure is provisioned and probe the
//! connection (`GET /`) every `health-probe-interval`; capi-controller-manager's Machine
//! and MachineHealthCheck controllers watch the cluster's Nodes through it
//! (`watchClusterNodes`, handlers `nodeToMachine` and `nodeToMachineHealthCheck`, the
//! `TypedResourceIsChanged` predicate), once the control plane is initialized.
//!
//! Each kubelet PATCHes its Node's status every `node-status-report` when nothing
//! changed (kubelet `nodeStatusReportFrequency`; heartbeats go to the node's Lease, which
//! no informer here watches). Each such update reaches the remote informer and enqueues
//! its Machine and its MachineHealthCheck.
//!
//! Simplified: every probe of every connection runs at the same instants (one event
//! each interval, not one per connection, for speed); a probe's and a Node event's CPU
//! is counted in the manager's CPU use but takes no CPU slot from the reconciles; the
//! workload clusters always answer (no probe failures, no reconnects).

use rand::RngExt;
use sim_core::{Scheduler, SimDuration};

use super::{Event, World};
use crate::controllers::workqueue::Priority;
use crate::kinds::Controller;

/// The managers that run a ClusterCache, as indices into the configuration's managers:
/// capi-controller-manager, capi-kubeadm-bootstrap, capi-kubeadm-control-plane.
const CACHE_MANAGERS: [usize; 3] = [0, 1, 2];
/// capi-controller-manager, whose Machine and MachineHealthCheck controllers watch Nodes.
const NODE_WATCHER: usize = 0;

impl World {
    /// The instance of manager `kind` that serves cluster `c` (its shard).
    fn instance_for(&self, kind: usize, c: u32) -> usize {
        self.mgr_base[kind] + (c % self.shards[kind]) as usize
    }

    /// Cluster `c`'s infrastructure is provisioned: every ClusterCache connects to it.
    pub(super) fn connect_cluster(&mut self, c: u32) {
        let cc = &self.cfg.cluster_cache;
        if !cc.enabled || self.connected[c as usize] {
            return;
        }
        self.connected[c as usize] = true;
        let memory = cc.connection_memory.0 as f64;
        for kind in CACHE_MANAGERS {
            let mi = self.instance_for(kind, c);
            self.managers[mi].remote_memory += memory;
            self.managers[mi].update_memory();
        }
    }

    /// Starts the probes' clock, if the ClusterCaches probe.
    pub(super) fn start_health_probes(&mut self, sched: &mut Scheduler<Event>) {
        let cc = &self.cfg.cluster_cache;
        if cc.enabled && cc.health_probe_interval.0 > 0.0 {
            let every = SimDuration::from_secs_f64(cc.health_probe_interval.0);
            sched.schedule_in(every, Event::HealthProbesDue);
        }
    }

    /// Cluster `c` is deleted: every ClusterCache closes its connection.
    pub(super) fn disconnect_cluster(&mut self, c: u32) {
        if !std::mem::replace(&mut self.connected[c as usize], false) {
            return;
        }
        let memory = self.cfg.cluster_cache.connection_memory.0 as f64;
        for kind in CACHE_MANAGERS {
            let mi = self.instance_for(kind, c);
            self.managers[mi].remote_memory -= memory;
            self.managers[mi].update_memory();
        }
    }

    /// Every ClusterCache probes every cluster it is connected to. One event for all of
    /// them: a probe changes nothing but its manager's CPU, which the report reads in
    /// 1-minute windows.
    pub(super) fn health_probes_due(&mut self, sched: &mut Scheduler<Event>) {
        let cc = &self.cfg.cluster_cache;
        let cpu = cc.probe_cpu;
        let every = SimDuration::from_secs_f64(cc.health_probe_interval.0);
        sched.schedule_in(every, Event::HealthProbesDue);
        for c in 0..self.clusters.len() as u32 {
            if !self.connected[c as usize] {
                continue;
            }
            for kind in CACHE_MANAGERS {
                let mi = self.instance_for(kind, c);
                if self.managers[mi].up {
                    self.manager_background_cpu(sched, mi, cpu);
                    self.metrics.mechanisms.health_probes += 1;
                }
            }
        }
    }

    /// Machine `m`'s node registered: capi-controller-manager's remote informer caches it
    /// and its kubelet starts reporting.
    pub(super) fn node_registered(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        if !self.cfg.cluster_cache.enabled {
            return;
        }
        let c = self.machines[m as usize].cluster;
        let mi = self.instance_for(NODE_WATCHER, c);
        let bytes = self.node_cache_bytes();
        self.managers[mi].remote_memory += bytes;
        self.managers[mi].update_memory();
        let period = self.cfg.workload_clusters.node_status_report.0;
        if period > 0.0 {
            let phase: f64 = self.rng_kubelet.random();
            let first = SimDuration::from_secs_f64(period * phase);
            sched.schedule_in(first, Event::NodeStatusReported(m));
        }
    }

    /// Machine `m` is gone, and with it its Node from the remote cache.
    pub(super) fn node_forgotten(&mut self, m: u32) {
        if !self.cfg.cluster_cache.enabled || !self.machines[m as usize].node_joined {
            return;
        }
        let c = self.machines[m as usize].cluster;
        let mi = self.instance_for(NODE_WATCHER, c);
        let bytes = self.node_cache_bytes();
        self.managers[mi].remote_memory -= bytes;
        self.managers[mi].update_memory();
    }

    fn node_cache_bytes(&self) -> f64 {
        self.cfg.workload_clusters.node_size.0 as f64 * self.cfg.costs.cache_bytes_per_stored_byte
    }

    /// Machine `m`'s kubelet PATCHed its Node's status: the remote informer sees the update
    /// and maps it to the Machine and to its MachineHealthCheck.
    pub(super) fn node_status_reported(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        let ms = &self.machines[m as usize];
        // A deleted or failed node's kubelet reports no more.
        if !ms.exists || ms.deleting || ms.node_failed_at.is_some() {
            return;
        }
        let c = ms.cluster;
        let period = self.cfg.workload_clusters.node_status_report.0;
        sched.schedule_in(
            SimDuration::from_secs_f64(period),
            Event::NodeStatusReported(m),
        );
        let mi = self.instance_for(NODE_WATCHER, c);
        // The watch starts once the control plane is initialized (`watchClusterNodes`).
        if !self.clusters[c as usize].cp_init_reported || !self.managers[mi].up {
            return;
        }
        self.manager_background_cpu(sched, mi, self.cfg.workload_clusters.node_event_cpu);
        self.metrics.mechanisms.node_updates += 1;
        self.enqueue(sched, Controller::Machine, m, Priority::Normal);
        if self.mhc_enabled() {
            self.enqueue(sched, Controller::MachineHealthCheck, c, Priority::Normal);
        }
    }
}
