//! The user's operations after the create (scale, upgrade, steady, delete) and the
//! scenario's faults, as the world runs them, and when the run stops.

use sim_core::{Scheduler, SimDuration, SimTime};

use super::attribution::Owner;
use super::metrics::Snapshot;
use super::requests::Op;
use super::{Event, USER, World, exponential_gap};
use crate::controllers::workqueue::Priority;
use crate::kinds::{Controller, ObjKind};
use crate::objects::add_clusters;
use crate::recipe::{Effect, Target, Verb, Write};
use crate::scenario::faults::Fault;
use crate::scenario::operations::{AfterOp, OpTiming};
use crate::scenario::workload::WaitFor;

impl World {
    /// Injects `faults` (call before [`World::start`]).
    pub fn set_faults(&mut self, faults: Vec<Fault>) {
        self.outages = faults
            .iter()
            .filter_map(|f| match *f {
                Fault::PrismCentralOutage { at, duration } => {
                    Some((SimTime::ZERO + at, SimTime::ZERO + at + duration))
                }
                _ => None,
            })
            .collect();
        self.mhc_timeout = faults.iter().find_map(|f| match *f {
            Fault::MachineHealthCheck {
                node_startup_timeout,
                ..
            } => Some(node_startup_timeout),
            _ => None,
        });
        self.mhc_unhealthy_timeout = faults
            .iter()
            .find_map(|f| match *f {
                Fault::MachineHealthCheck {
                    unhealthy_timeout, ..
                } => Some(unhealthy_timeout),
                _ => None,
            })
            .unwrap_or(SimDuration::ZERO);
        self.faults = faults;
    }

    /// The operations to run after the create, in order (call before [`World::start`]).
    /// The clusters later creates add are laid out now, not yet applied.
    pub fn set_after(&mut self, after: Vec<AfterOp>) {
        let cp = self.fleet.control_plane_replicas;
        let workers = self.fleet.machines_per_cluster.saturating_sub(cp);
        for op in &after {
            if let AfterOp::Create { clusters, .. } = *op {
                let first = self.clusters.len();
                add_clusters(
                    &mut self.clusters,
                    &mut self.machines,
                    clusters,
                    cp,
                    workers,
                );
                // A later create's clusters have the first create's shape.
                for cl in &mut self.clusters[first..] {
                    cl.classic = self.fleet.classic;
                }
            }
        }
        let n = self.clusters.len();
        self.metrics.cluster_waits.resize(n, [0.0; 6]);
        self.connected.resize(n, false);
        self.grow_machine_figures();
        self.after = after;
    }

    /// Whether the clusters have a MachineHealthCheck.
    pub fn mhc_enabled(&self) -> bool {
        self.mhc_timeout.is_some()
    }

    /// How long the workload's `steady` operation asks for, if it has one.
    pub fn steady_requested(&self) -> Option<SimDuration> {
        self.after.iter().find_map(|op| match op {
            AfterOp::Steady(d) => Some(*d),
            AfterOp::Create { .. }
            | AfterOp::Scale { .. }
            | AfterOp::Upgrade { .. }
            | AfterOp::Delete
            | AfterOp::Propagate { .. }
            | AfterOp::WaitUntil(_) => None,
        })
    }

    /// Starts or checks the operations after the create; true when all have finished.
    pub(super) fn advance_ops(&mut self, sched: &mut Scheduler<Event>, now: SimTime) -> bool {
        while let Some(&op) = self.after.get(self.after_i) {
            let fresh = self.op_started.is_none();
            let started = *self.op_started.get_or_insert(now);
            if let AfterOp::WaitUntil(t) = op {
                if now < SimTime::ZERO + t {
                    return false;
                }
                self.after_i += 1;
                self.op_started = None;
                continue;
            }
            let finished = match op {
                AfterOp::WaitUntil(_) => unreachable!("handled above"),
                AfterOp::Create {
                    clusters,
                    batch,
                    every,
                    wait,
                } => self.create_op(sched, fresh, clusters, (batch, every), wait),
                AfterOp::Steady(d) => self.steady_op(now, started, d),
                AfterOp::Delete => self.delete_op(sched, fresh),
                AfterOp::Upgrade {
                    wave,
                    max_surge,
                    max_unavailable,
                } => self.upgrade_op(sched, fresh, wave, (max_surge, max_unavailable)),
                AfterOp::Scale { by } => self.scale_op(sched, fresh, by),
                // The federation hub's work ([`crate::federation`]); the management
                // cluster only marks when it started.
                AfterOp::Propagate { .. } => true,
            };
            if !finished {
                return false;
            }
            self.op_timings.push(OpTiming {
                op: op.name().into(),
                started_s: started.as_secs_f64(),
                finished_s: Some(now.as_secs_f64()),
            });
            self.after_i += 1;
            self.op_started = None;
        }
        true
    }

    /// `create` after the first: the user applies `clusters` more Clusters, `batch` every
    /// `every` or each batch once the one before is ready (when `fresh`); finished when
    /// every cluster of the fleet is ready.
    fn create_op(
        &mut self,
        sched: &mut Scheduler<Event>,
        fresh: bool,
        clusters: u32,
        (batch, every): (u32, SimDuration),
        wait: Option<WaitFor>,
    ) -> bool {
        if fresh {
            // A Cluster applied after an upgrade asks for the current version from the
            // start: its control plane and workers are created at it.
            let v = self.upgrade_version;
            for cl in &mut self.clusters[self.applied as usize..(self.applied + clusters) as usize]
            {
                (cl.version, cl.kcp_version, cl.kcp_rolled_out) = (v, v, v);
                (cl.md_version, cl.ms_version) = (v, v);
            }
        }
        if let (true, Some(wait), 1..) = (fresh, wait, batch) {
            let first = self.applied;
            self.applied += clusters;
            self.apply_batches(sched, first, first + clusters, batch, wait);
        } else if fresh {
            let now = sched.now();
            for i in 0..clusters {
                let wait = i
                    .checked_div(batch)
                    .map_or(SimDuration::ZERO, |b| every * u64::from(b));
                sched.schedule_at(now + wait, Event::ClusterApplied(self.applied + i));
            }
            self.applied += clusters;
        }
        self.clusters_ready == self.applied
    }

    /// Applies clusters `from..end` in batches of `batch`: with `wait: ready` each batch
    /// when every cluster of the one before is ready, the first now; with `wait: window`
    /// the first `batch` now and then one more each time one of those being created is
    /// ready.
    pub(super) fn apply_batches(
        &mut self,
        sched: &mut Scheduler<Event>,
        from: u32,
        end: u32,
        batch: u32,
        wait: WaitFor,
    ) {
        let next = (from + batch).min(end);
        for c in from..next {
            sched.schedule_in(SimDuration::ZERO, Event::ClusterApplied(c));
        }
        self.waiting_batches = (next < end).then_some(Batches {
            from,
            next,
            end,
            batch,
            wait,
        });
    }

    /// A cluster's status changed: if it completes the batch under way, the next one
    /// goes; in a window, as many as became ready.
    pub(super) fn batch_ready(&mut self, sched: &mut Scheduler<Event>) {
        let Some(mut b) = self.waiting_batches else {
            return;
        };
        let ready = |w: &World, c: u32| w.clusters[c as usize].ready_at.is_some();
        match b.wait {
            WaitFor::Ready => {
                if (b.from..b.next).all(|c| ready(self, c)) {
                    self.apply_batches(sched, b.next, b.end, b.batch, b.wait);
                }
            }
            WaitFor::Window => {
                while b.from < b.next && ready(self, b.from) {
                    b.from += 1;
                }
                let mut creating = (b.from..b.next).filter(|&c| !ready(self, c)).count() as u32;
                while creating < b.batch && b.next < b.end {
                    sched.schedule_in(SimDuration::ZERO, Event::ClusterApplied(b.next));
                    b.next += 1;
                    creating += 1;
                }
                self.waiting_batches = (b.next < b.end).then_some(b);
            }
        }
    }

    /// The `steady` window: counters at its start and end; finished `d` after it began.
    fn steady_op(&mut self, now: SimTime, started: SimTime, d: SimDuration) -> bool {
        if self.steady_start.is_none() {
            self.steady_start = {
                self.sync_manager_cpu(now);
                Some(Snapshot::take(self, now))
            };
        }
        let done = now >= started + d;
        if done {
            self.steady_end = {
                self.sync_manager_cpu(now);
                Some(Snapshot::take(self, now))
            };
        }
        done
    }

    /// `delete`: the user deletes every Cluster (when `fresh`); finished when none is left
    /// and the garbage collector has no delete outstanding.
    fn delete_op(&mut self, sched: &mut Scheduler<Event>, fresh: bool) -> bool {
        if fresh {
            for c in 0..self.applied {
                let w = Write {
                    kind: ObjKind::Cluster,
                    verb: Verb::MarkDeleted,
                    target: Target::Cluster(c),
                    effect: Effect::ClusterDeleting,
                };
                self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
            }
            false
        } else {
            // Done when no Cluster is left and the garbage collector has deleted what
            // their objects owned.
            self.clusters.iter().all(|c| !c.exists) && self.gc_pending == 0
        }
    }

    /// `upgrade`: a wave of Cluster version patches whenever the last wave has finished;
    /// finished with the last wave. `rollout`: the MachineDeployments' maxSurge and
    /// maxUnavailable.
    fn upgrade_op(
        &mut self,
        sched: &mut Scheduler<Event>,
        fresh: bool,
        wave: u32,
        rollout: (u32, u32),
    ) -> bool {
        if fresh {
            self.upgrade_version += 1;
            self.upgrade_started = 0;
            self.upgrade_wave_start = 0;
            self.upgrade_seen_done = vec![false; self.clusters.len()];
            self.rollout = rollout;
        }
        let v = self.upgrade_version;
        let n = self.applied;
        for c in self.upgrade_wave_start..self.upgrade_started {
            if !self.upgrade_seen_done[c as usize] && self.upgraded(c as usize, v) {
                self.upgrade_seen_done[c as usize] = true;
            }
        }
        let busy = (self.upgrade_wave_start..self.upgrade_started)
            .any(|c| !self.upgrade_seen_done[c as usize]);
        if busy {
            // A classic cluster's MachineDeployment, once its control plane runs the new
            // version: the user's script sees it at its next look (every 15 s).
            for c in self.upgrade_wave_start..self.upgrade_started {
                let cl = &mut self.clusters[c as usize];
                if cl.classic && cl.kcp_rolled_out == v && cl.md_version != v && cl.md_patched != v
                {
                    cl.md_patched = v;
                    let w = Write {
                        kind: ObjKind::MachineDeployment,
                        verb: Verb::Patch,
                        target: Target::Cluster(c),
                        effect: Effect::MdVersion { version: v },
                    };
                    self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
                }
            }
            false
        } else if self.upgrade_started < n {
            // The next wave: the user patches each Cluster topology's version.
            let wave = if wave == 0 { n } else { wave };
            let end = (self.upgrade_started + wave).min(n);
            for c in self.upgrade_started..end {
                // A classic cluster: the user patches its KubeadmControlPlane's version
                // (and, once the control plane runs it, its MachineDeployment's: below).
                let (kind, effect) = if self.clusters[c as usize].classic {
                    (
                        ObjKind::KubeadmControlPlane,
                        Effect::KcpVersion { version: v },
                    )
                } else {
                    (ObjKind::Cluster, Effect::ClusterVersion { version: v })
                };
                let w = Write {
                    kind,
                    verb: Verb::Patch,
                    target: Target::Cluster(c),
                    effect,
                };
                self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
            }
            self.upgrade_wave_start = self.upgrade_started;
            self.upgrade_started = end;
            false
        } else {
            true
        }
    }

    /// `scale`: the user patches every Cluster's worker replicas (when `fresh`); finished
    /// when every cluster runs exactly the new count.
    fn scale_op(&mut self, sched: &mut Scheduler<Event>, fresh: bool, by: i32) -> bool {
        if fresh {
            // The user patches each Cluster's topology replicas.
            // Every cluster was created with the same workers; each scale moves
            // the target from the last one, never below 0.
            let prev = self
                .scale_target
                .unwrap_or_else(|| self.clusters.first().map_or(0, |c| c.initial_workers));
            let target = (prev as i64 + i64::from(by)).max(0) as u32;
            self.scale_target = Some(target);
            for c in 0..self.applied {
                let workers = target;
                // A classic cluster's MachineDeployment is patched directly.
                let (kind, effect) = if self.clusters[c as usize].classic {
                    let replicas = workers;
                    (ObjKind::MachineDeployment, Effect::MdReplicas { replicas })
                } else {
                    (ObjKind::Cluster, Effect::TopologyWorkers { workers })
                };
                let w = Write {
                    kind,
                    verb: Verb::Patch,
                    target: Target::Cluster(c),
                    effect,
                };
                self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
            }
            false
        } else {
            let target = self.scale_target.unwrap_or(0);
            self.clusters[..self.applied as usize].iter().all(|c| {
                (c.classic || c.topology_workers == target)
                    && c.md_replicas == target
                    && c.workers == target
                    && c.workers_created - c.workers_gone == target
                    && c.workers_running == target
            })
        }
    }

    /// A running worker, drawn uniformly, loses its node (NotReady). The Machine
    /// controller and the MachineHealthCheck see it through the workload cluster's Node
    /// watch (the ClusterCache).
    pub(super) fn fail_a_node(&mut self, sched: &mut Scheduler<Event>) {
        use rand::RngExt;
        let candidates: Vec<u32> = (0..self.machines.len() as u32)
            .filter(|&m| {
                let x = &self.machines[m as usize];
                x.exists && x.running && !x.deleting && !x.is_cp() && x.node_failed_at.is_none()
            })
            .collect();
        if candidates.is_empty() {
            return;
        }
        let m = candidates[self.rng_node_failures.random_range(0..candidates.len())];
        let now = sched.now();
        self.machines[m as usize].node_failed_at = Some(now);
        self.metrics.node_failures += 1;
        self.enqueue(sched, Controller::Machine, m, Priority::Normal);
        if self.mhc_enabled() {
            let c = self.machines[m as usize].cluster;
            self.enqueue(sched, Controller::MachineHealthCheck, c, Priority::Normal);
        }
    }

    /// Whether cluster `c` has finished its upgrade to `v`: every Machine runs version `v`,
    /// as many as wanted, every worker available (a NotReady one is not), and the old
    /// MachineSet is gone.
    pub(super) fn upgraded(&self, c: usize, v: u8) -> bool {
        let cl = &self.clusters[c];
        (cl.classic || cl.version == v)
            && cl.kcp_version == v
            && cl.kcp_rolled_out == v
            && cl.md_version == v
            && cl.ms_version == v
            && cl.old_ms.is_none()
            && cl.cp_alive() == cl.cp_replicas
            && cl.cp_running == cl.cp_replicas
            && cl.workers == cl.md_replicas
            && cl.workers_created - cl.workers_gone == cl.workers
            && (0..cl.workers_created)
                .filter(|&i| self.machines[cl.worker_slot(i) as usize].available())
                .count() as u32
                == cl.workers
    }

    /// A user command that failed is run again.
    pub(super) fn user_retry(&mut self, sched: &mut Scheduler<Event>, i: u32) {
        let w = self.user_retries[i as usize];
        let owner = match w.target {
            // The garbage collector's deletes are nobody's wait.
            Target::Cluster(_) if w.effect == Effect::None => Owner::None,
            Target::Cluster(c) => Owner::Cluster(c),
            Target::Machine(_) => Owner::None,
        };
        self.issue(sched, None, USER, Op::Write(w), owner);
    }

    /// The user applies Cluster `c` (its topology: the ClusterClass does the rest).
    pub(super) fn cluster_applied(&mut self, sched: &mut Scheduler<Event>, c: u32) {
        let mut manifests = vec![(ObjKind::Cluster, Effect::ClusterCreated)];
        if self.clusters[c as usize].classic {
            // A classic cluster's manifests, in the order a file lists them: the Cluster,
            // its NutanixCluster, KubeadmControlPlane and its machine template, the
            // MachineDeployment and its two templates (and its MachineHealthCheck).
            manifests.extend([
                (ObjKind::NutanixCluster, Effect::NcCreated),
                (ObjKind::KubeadmControlPlane, Effect::KcpCreated),
                (ObjKind::Template, Effect::CpTemplateCreated),
                (ObjKind::MachineDeployment, Effect::MdCreated),
                (ObjKind::Template, Effect::MdTemplateCreated),
                (ObjKind::Template, Effect::MdTemplateCreated),
            ]);
            if self.mhc_timeout.is_some() {
                manifests.push((ObjKind::MachineHealthCheck, Effect::MhcCreated));
            }
        }
        for (kind, effect) in manifests {
            let w = Write {
                kind,
                verb: Verb::Create,
                target: Target::Cluster(c),
                effect,
            };
            self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
        }
    }

    /// Fault `i` of the run's list begins (or, for a rate, strikes again).
    pub(super) fn fault_began(&mut self, sched: &mut Scheduler<Event>, i: u8) {
        match self.faults[i as usize] {
            Fault::PrismCentralOutage { .. } => self.pcs.iter_mut().for_each(|p| p.down = true),
            Fault::EtcdDiskLatencySpike { factor, .. } => self.etcd.fsync_factor = factor,
            Fault::ControllerRestart { manager, every, .. } => {
                if let Some(mean) = every {
                    let next = sched.now() + exponential_gap(&mut self.rng_restarts, mean);
                    sched.schedule_at(next, Event::FaultBegan(i));
                }
                // Every shard of the manager restarts (a rollout of its Deployments).
                let delay = self.cfg.managers()[manager].1.restart_delay.0;
                let first = self.mgr_base[manager];
                for mi in first..first + self.shards[manager] as usize {
                    if self.managers[mi].up {
                        self.managers[mi].restarts += 1;
                        self.kill(sched, mi, delay);
                    }
                }
            }
            Fault::NodeFailures { every, .. } => {
                self.fail_a_node(sched);
                let next = sched.now() + exponential_gap(&mut self.rng_node_failures, every);
                sched.schedule_at(next, Event::FaultBegan(i));
            }
            Fault::VmCreateFailures { .. } | Fault::MachineHealthCheck { .. } => {}
        }
    }

    /// Fault `i` of the run's list ends.
    pub(super) fn fault_ended(&mut self, i: u8) {
        match self.faults[i as usize] {
            Fault::PrismCentralOutage { .. } => self.pcs.iter_mut().for_each(|p| p.down = false),
            Fault::EtcdDiskLatencySpike { .. } => self.etcd.fsync_factor = 1.0,
            Fault::ControllerRestart { .. }
            | Fault::VmCreateFailures { .. }
            | Fault::MachineHealthCheck { .. }
            | Fault::NodeFailures { .. } => {}
        }
    }

    /// Marks the run finished when every operation has finished, 30 minutes after a
    /// NOSPACE alarm, or at the deadline; records the operation cut short, if any.
    pub(super) fn check_finished(&mut self, sched: &mut Scheduler<Event>, now: SimTime) {
        let all_ready = self.clusters_ready == self.applied;
        let stuck_on_quota = self
            .store
            .nospace_at
            .is_some_and(|t| now > t + SimDuration::from_mins(30));
        let mut done = all_ready;
        if all_ready {
            if self.op_timings.is_empty() {
                self.op_timings.push(OpTiming {
                    op: "create".into(),
                    started_s: 0.0,
                    finished_s: self.metrics.fleet_ready_at.map(|t| t.as_secs_f64()),
                });
            }
            done = self.advance_ops(sched, now);
        }
        if done || stuck_on_quota || now >= self.deadline {
            if self.steady_start.is_some() && self.steady_end.is_none() {
                self.steady_end = {
                    self.sync_manager_cpu(now);
                    Some(Snapshot::take(self, now))
                };
            }
            if let (Some(op), Some(t)) = (self.after.get(self.after_i), self.op_started)
                && !matches!(op, AfterOp::WaitUntil(_))
            {
                self.op_timings.push(OpTiming {
                    op: op.name().into(),
                    started_s: t.as_secs_f64(),
                    finished_s: None,
                });
            }
            self.finished = true;
        }
    }
}

/// A create whose batches wait for readiness: clusters `from..next` applied (for a
/// window, `from` is the first not yet ready), up to `end`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Batches {
    from: u32,
    next: u32,
    end: u32,
    batch: u32,
    wait: WaitFor,
}
