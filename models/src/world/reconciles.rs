//! Workqueues and workers: a key is added, a worker takes it, the reconcile waits for a
//! CPU slot of its manager's pod, runs its recipe (the controller's or provider's
//! `reconcile`, a pure function of the cached objects), then its Prism Central work, then
//! its writes one after another; it ends done, requeued after a delay, or with backoff.

use sim_core::{EventId, Scheduler, SimDuration, SimTime};

use super::attribution::Owner;
use super::attribution::{Resource, Service};
use super::pc_calls::PcProgress;
use super::requests::Op;
use super::{Event, World};
use crate::controllers;
use crate::controllers::cpu;
use crate::controllers::manager::ctrl_advance;
use crate::controllers::workqueue::Priority;
use crate::kinds::{Controller, KeySpace, ObjKind};
use crate::objects::MachineState;
use crate::providers::capx;
use crate::recipe::{self, Outcome, Plan};
use crate::scenario::config::{CpuModel, Provider};

pub(super) struct Reconcile {
    pub(super) ctrl: Controller,
    /// Controller instance (index into `ctrls`).
    pub(super) ci: usize,
    /// Manager instance (index into `managers`).
    pub(super) mi: usize,
    pub(super) key: u32,
    pub(super) epoch: u32,
    pub(super) started: SimTime,
    pub(super) cpu: SimDuration,
    pub(super) cpu_queued_at: SimTime,
    pub(super) plan: Plan,
    pub(super) next_write: usize,
    pub(super) pc: Option<PcProgress>,
    pub(super) failed: bool,
    /// What its worker is doing now, as a [`Resource`] index (`Workqueue`: in service).
    pub(super) activity: u8,
    /// The end of its CPU, scheduled while its thread runs direct on its node.
    pub(super) direct_end: Option<EventId>,
}

impl World {
    pub(super) fn enqueue(
        &mut self,
        sched: &mut Scheduler<Event>,
        ctrl: Controller,
        key: u32,
        prio: Priority,
    ) {
        let now = sched.now();
        if ctrl == Controller::MachineHealthCheck && !self.clusters[key as usize].mhc_exists {
            return; // a change maps to the MachineHealthChecks that target it: none yet
        }
        if ctrl == Controller::ClusterTopology && self.clusters[key as usize].classic {
            return; // its `For` watch passes only Clusters with a topology (ClusterHasTopology)
        }
        let c = self.ci(ctrl, key);
        if !self.managers[self.ctrls[c].mi].up {
            return; // a dead process has no queue; the relist after restart catches up
        }
        if self.ctrls[c].queue.add(key, now, prio) {
            self.mark_ready(now, c, key);
            self.dispatch(sched, c);
        }
    }

    pub(super) fn schedule_delay(
        &mut self,
        sched: &mut Scheduler<Event>,
        ci: usize,
        key: u32,
        at: Option<SimTime>,
    ) {
        if let Some(at) = at {
            sched.schedule_at(
                at,
                Event::QueueDelayElapsed {
                    ci: ci as u16,
                    key,
                    at,
                },
            );
        }
    }

    pub(super) fn dispatch(&mut self, sched: &mut Scheduler<Event>, c: usize) {
        let now = sched.now();
        let mg = &self.managers[self.ctrls[c].mi];
        if mg.lists_pending > 0 || !mg.leading {
            return; // workers start once the caches have synced and the process leads
        }
        while self.ctrls[c].busy < self.ctrls[c].workers {
            let Some((key, waited)) = self.ctrls[c].queue.get(now) else {
                break;
            };
            self.ctrls[c].busy += 1;
            self.charge_queue_wait(now, c, key, waited);
            self.start_reconcile(sched, c, key);
        }
    }

    pub(super) fn start_reconcile(&mut self, sched: &mut Scheduler<Event>, ci: usize, key: u32) {
        let ctrl = self.ctrls[ci].ctrl;
        let now = sched.now();
        if ctrl == Controller::MachineSet {
            let cl = &self.clusters[key as usize];
            let alive = cl.new_ms_alive(&self.machines);
            let mut needed = cl.workers_created + cl.workers.saturating_sub(alive);
            if let Some(old) = &cl.old_ms {
                // The old MachineSet's replacements take slots too.
                let old_alive = cl.workers_alive_at(&self.machines, old.version);
                needed += old.replicas.saturating_sub(old_alive);
            }
            self.ensure_worker_slots(key as usize, needed);
        } else if ctrl == Controller::KubeadmControlPlane {
            let cl = &self.clusters[key as usize];
            if cl.kcp_version > 0 {
                // A rollout creates one control-plane Machine at a time.
                self.ensure_cp_slots(key as usize, cl.cp_created + 1);
            }
        }
        let ctx =
            recipe::Ctx {
                now,
                mhc_timeout: self.mhc_timeout,
                mhc_unhealthy_timeout: self.mhc_unhealthy_timeout,
                rollout: self.rollout,
                ssa_ttl: self.cfg.cluster_topology.dry_run_applies.then(|| {
                    SimDuration::from_secs_f64(self.cfg.cluster_topology.dry_run_cache_ttl.0)
                }),
                provider: self.cfg.infrastructure_provider,
                in_memory: self.cfg.in_memory,
                draws: self.in_memory_draws(ctrl),
            };
        let mut plan = controllers::reconcile(ctrl, key, &self.clusters, &self.machines, &ctx);
        if plan.dry_run_misses != 0 {
            // The entries are added once the dry-runs show no change; the model adds them
            // as the reconcile starts, and a write to the object removes them.
            let cache = &mut self.clusters[key as usize].ssa_cache;
            for (i, entry) in cache.iter_mut().enumerate() {
                if plan.dry_run_misses & (1 << i) != 0 {
                    *entry = Some(now);
                }
            }
        }
        if plan.token_written && self.cfg.cluster_cache.enabled {
            self.machines[key as usize].token_at = Some(now);
        }
        self.in_memory_cloud(sched, key, &plan);
        let wl = &self.cfg.workload_clusters;
        let kcp = ctrl == Controller::KubeadmControlPlane;
        if kcp && !wl.kcp_checks {
            plan.uncached_list = None;
        }
        if (kcp && !wl.kcp_checks) || !self.cfg.cluster_cache.enabled {
            plan.workload_calls = 0;
        }
        if !self.cfg.manager_cache.uncached_secret_reads {
            plan.uncached_gets = 0;
        }
        let mgr = self.ctrls[ci].mi;
        let cpu = self.reconcile_cpu(ctrl, key, mgr, &plan, now);
        let rec = self.recs.insert(Reconcile {
            ctrl,
            ci,
            mi: mgr,
            key,
            epoch: self.managers[mgr].epoch,
            started: now,
            cpu: SimDuration::from_secs_f64(cpu),
            cpu_queued_at: now,
            plan,
            next_write: 0,
            pc: None,
            failed: false,
            activity: Resource::Cpu as u8,
            direct_end: None,
        });
        let ct = &mut self.ctrls[ci];
        ctrl_advance(ct, now);
        ct.activity[Resource::Cpu as usize] += 1;
        if self.nodes.is_some() {
            // A thread of the manager's pod, sharing its node's cores: its worker counts
            // as held by the CPU until the thread's work is done.
            self.manager_cpu(sched, mgr, SimDuration::from_secs_f64(cpu), rec);
            return;
        }
        let m = &mut self.managers[mgr];
        if m.cpu_busy < m.cores {
            m.cpu_busy += 1;
            self.run_cpu(sched, rec);
        } else {
            m.cpu_queue.push_back(rec);
        }
    }

    /// Reconcile `rec`'s CPU on its node is done: what it took beyond its CPU was the
    /// wait for cores (its node busy, or its pod at its quota).
    pub(super) fn reconcile_cpu_done(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let Some(r) = self.recs.get_mut(rec) else {
            return;
        };
        r.direct_end = None;
        let r = &*r;
        if r.epoch != self.managers[r.mi].epoch {
            self.drop_orphan(rec);
            return;
        }
        let wall = sched.now() - r.cpu_queued_at;
        let (owner, work) = (Self::owner_of(r.ctrl, r.key), r.cpu);
        self.metrics.service[Service::Reconcile as usize] += work.as_secs_f64();
        self.wait(owner, Resource::Cpu, wall.saturating_sub(work));
        self.set_activity(sched.now(), rec, Resource::Workqueue);
        self.reads_then_work(sched, rec);
    }

    /// The CPU of a reconcile of `ctrl` for `key` that makes `plan` in manager instance
    /// `mgr` [s].
    fn reconcile_cpu(
        &mut self,
        ctrl: Controller,
        key: u32,
        mgr: usize,
        plan: &Plan,
        now: SimTime,
    ) -> f64 {
        let costs = &self.cfg.costs;
        if costs.cpu_model == CpuModel::Flat {
            let base = if ctrl == Controller::ClusterTopology {
                costs.topology_reconcile_cpu
            } else {
                costs.reconcile_cpu
            };
            let mut cpu = base.sample(&mut self.rng_cpu);
            for _ in 0..plan.writes.len() {
                cpu += costs.cpu_per_write.sample(&mut self.rng_cpu);
            }
            return cpu;
        }
        let c = match ctrl.key_space() {
            KeySpace::Cluster => key,
            KeySpace::Machine => self.machines[key as usize].cluster,
        };
        let cl = &self.clusters[c as usize];
        let machines =
            cpu::machines_handled(ctrl, cl.workers_created - cl.workers_gone, cl.cp_alive());
        let cost = self.reconcile_costs[ctrl as usize];
        let mut s = cpu::reconcile_cpu(cost, machines, plan, ctrl, &costs.cpu, &costs.object_size);
        let mut keys = cpu::keys_generated(plan);
        if ctrl == Controller::KubeadmControlPlane && plan.workload_calls > 0 {
            // The etcd client certificate, generated at the first connection and kept in
            // the process for its TTL: a new process generates one per cluster.
            let epoch = self.managers[mgr].epoch;
            let ttl = SimDuration::from_secs_f64(costs.cpu.etcd_client_cert_ttl.0);
            let cert = &mut self.clusters[c as usize].etcd_client_cert;
            if !matches!(*cert, Some((e, at)) if e == epoch && now < at + ttl) {
                *cert = Some((epoch, now));
                keys += 1;
                s += costs.cpu.rsa_sign;
            }
        }
        for _ in 0..keys {
            s += costs.cpu.rsa_keygen.sample(&mut self.rng_cpu);
        }
        s * costs.cpu.variation.sample(&mut self.rng_cpu)
    }

    pub(super) fn run_cpu(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        self.set_activity(sched.now(), rec, Resource::Workqueue);
        let r = self.recs.get(rec).expect("live reconcile");
        let m = &mut self.managers[r.mi];
        let wall = SimDuration::from_secs_f64(r.cpu.as_secs_f64() / m.speed);
        m.cpu_seconds += r.cpu.as_secs_f64();
        let (owner, queued_at) = (Self::owner_of(r.ctrl, r.key), r.cpu_queued_at);
        self.metrics.service[Service::Reconcile as usize] += wall.as_secs_f64();
        self.wait(owner, Resource::Cpu, sched.now() - queued_at);
        sched.schedule_in(wall, Event::CpuDone(rec));
    }

    pub(super) fn cpu_done(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let Some(r) = self.recs.get(rec) else { return };
        let mgr = r.mi;
        if r.epoch != self.managers[mgr].epoch {
            self.drop_orphan(rec); // the process that ran it was killed
            return;
        }
        match self.managers[mgr].cpu_queue.pop_front() {
            Some(next) => self.run_cpu(sched, next),
            None => self.managers[mgr].cpu_busy -= 1,
        }
        self.reads_then_work(sched, rec);
    }

    /// The reconcile's reads after its CPU: its uncached GETs and LIST, then its calls to
    /// the workload cluster, one at a time; then its Prism Central work and its writes.
    pub(super) fn reads_then_work(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let r = self.recs.get_mut(rec).expect("live reconcile");
        if r.plan.uncached_gets > 0 {
            r.plan.uncached_gets -= 1;
            let (mgr, owner) = (r.mi as u8, Self::owner_of(r.ctrl, r.key));
            self.metrics.mechanisms.uncached_gets += 1;
            self.issue(sched, Some(rec), mgr, Op::GetUncached, owner);
            return;
        }
        if let Some(objects) = r.plan.uncached_list.take() {
            let (mgr, owner) = (r.mi as u8, Self::owner_of(r.ctrl, r.key));
            self.metrics.mechanisms.uncached_lists += 1;
            let kind = ObjKind::Machine; // the plan's uncached LIST is of Machines
            self.issue(
                sched,
                Some(rec),
                mgr,
                Op::ListUncached { kind, objects },
                owner,
            );
            return;
        }
        if r.plan.workload_calls > 0 {
            // The calls go one after another and nothing else sees them in between: one
            // event at the end of them all.
            let calls = std::mem::take(&mut r.plan.workload_calls);
            if r.ctrl == Controller::KubeadmControlPlane {
                self.metrics.mechanisms.workload_calls += u64::from(calls);
            } else {
                self.metrics.mechanisms.token_calls += u64::from(calls);
            }
            let latency = &self.cfg.workload_clusters.apiserver_latency;
            let total = (0..calls).fold(SimDuration::ZERO, |t, _| {
                t + latency.sample_duration(&mut self.rng_workload)
            });
            sched.schedule_in(total, Event::WorkloadCallAnswered(rec));
            return;
        }
        if r.plan.dry_runs > 0 {
            r.plan.dry_runs -= 1;
            self.metrics.mechanisms.dry_runs += 1;
            let (mgr, owner) = (r.mi as u8, Self::owner_of(r.ctrl, r.key));
            self.issue(sched, Some(rec), mgr, Op::DryRun, owner);
            return;
        }
        let work = r.plan.pc.map(|work| {
            capx::pc_ops(
                work,
                r.key,
                &self.machines,
                self.cfg.prism_central.lookups_per_vm_create,
            )
        });
        match work {
            Some((lookups, ops)) => {
                r.pc = Some(PcProgress {
                    lookups,
                    ops,
                    idx: 0,
                    attempts: 0,
                    polling: false,
                    task_submitted_at: SimTime::ZERO,
                });
                self.pc_next(sched, rec);
            }
            None => self.next_write(sched, rec),
        }
    }

    pub(super) fn next_write(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let r = self.recs.get_mut(rec).expect("live reconcile");
        if r.next_write < r.plan.writes.len() {
            let w = r.plan.writes[r.next_write];
            let mgr = r.mi as u8;
            self.issue(sched, Some(rec), mgr, Op::Write(w), w.target.into());
        } else {
            self.finish(sched, rec);
        }
    }

    pub(super) fn finish(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let now = sched.now();
        let r = self.recs.remove(rec).expect("live reconcile");
        if r.ctrl == Controller::NutanixMachine && self.poll_rec[r.key as usize] == rec {
            self.poll_rec[r.key as usize] = u32::MAX;
        }
        let mgr = r.mi;
        if r.epoch != self.managers[mgr].epoch {
            return;
        }
        // Events are sent asynchronously by the recorder: nothing waits for them.
        for _ in 0..r.plan.events {
            self.issue(sched, None, mgr as u8, Op::EventCreate, Owner::None);
        }
        for _ in 0..r.plan.event_repeats {
            self.issue(sched, None, mgr as u8, Op::EventPatch, Owner::None);
        }
        if r.plan.records_unhealthy_event {
            self.clusters[r.key as usize].kcp_unhealthy_event = true;
        }
        let c = r.ci;
        let ct = &mut self.ctrls[c];
        ctrl_advance(ct, now);
        ct.activity[r.activity as usize] -= 1;
        ct.reconciles += 1;
        ct.reconcile_time.record(now - r.started);
        let ctrl = ct.ctrl;
        ct.busy -= 1;
        // An add during the reconcile puts the key back in the queue here.
        if ct.queue.done(r.key, now) {
            self.mark_ready(now, c, r.key);
        }
        self.alerts.reconcile_finished(ctrl, now - r.started);
        let ct = &mut self.ctrls[c];
        let delay = if r.failed {
            ct.errors += 1;
            ct.queue.add_rate_limited(r.key, now)
        } else {
            match r.plan.outcome {
                Outcome::Done => {
                    ct.queue.forget(r.key);
                    None
                }
                Outcome::RequeueAfter(d) => {
                    ct.queue.forget(r.key);
                    ct.queue.add_after(r.key, now, d)
                }
                Outcome::Requeue => ct.queue.add_rate_limited(r.key, now),
            }
        };
        self.schedule_delay(sched, c, r.key, delay);
        self.dispatch(sched, c);
    }

    /// Forgets a reconcile whose process was killed.
    pub(super) fn drop_orphan(&mut self, rec: u32) {
        if let Some(r) = self.recs.remove(rec)
            && r.ctrl == Controller::NutanixMachine
            && self.poll_rec[r.key as usize] == rec
        {
            self.poll_rec[r.key as usize] = u32::MAX;
        }
    }

    /// Gives cluster `c` at least `n` worker slots: a Machine a MachineSet creates after
    /// the first ones (a scale-up, a replacement) gets a new slot after every existing
    /// machine; a deleted Machine keeps its own.
    pub(super) fn ensure_worker_slots(&mut self, c: usize, n: u32) {
        if self.clusters[c].worker_slots() >= n {
            return;
        }
        while self.clusters[c].worker_slots() < n {
            let m = self.machines.len() as u32;
            self.machines.push(MachineState {
                cluster: c as u32,
                ..MachineState::default()
            });
            self.clusters[c].extra.push(m);
        }
        self.grow_machine_figures();
    }

    /// Gives cluster `c` at least `n` control-plane slots, new ones after every existing
    /// machine.
    pub(super) fn ensure_cp_slots(&mut self, c: usize, n: u32) {
        if self.clusters[c].cp_slots() >= n {
            return;
        }
        while self.clusters[c].cp_slots() < n {
            let m = self.machines.len() as u32;
            let i = self.clusters[c].cp_slots();
            self.machines.push(MachineState {
                cluster: c as u32,
                cp_index: Some(i),
                ..MachineState::default()
            });
            self.clusters[c].cp_extra.push(m);
        }
        self.grow_machine_figures();
    }

    pub(super) fn grow_machine_figures(&mut self) {
        let n = self.machines.len();
        self.metrics.machine_waits.resize(n, [0.0; 6]);
        self.poll_rec.resize(n, u32::MAX);
        self.vm_create_submitted.resize(n, SimTime::ZERO);
        self.task_started.resize(n, [SimTime::ZERO; 4]);
    }

    /// A delayed add (requeue-after, backoff) of `key` to instance `ci`'s queue is due.
    pub(super) fn queue_delay_elapsed(
        &mut self,
        sched: &mut Scheduler<Event>,
        ci: u16,
        key: u32,
        at: SimTime,
    ) {
        let c = ci as usize;
        let now = sched.now();
        if self.managers[self.ctrls[c].mi].up && self.ctrls[c].queue.delay_elapsed(key, now, at) {
            self.mark_ready(now, c, key);
            self.dispatch(sched, c);
        }
    }

    /// The reconcile's calls to the workload cluster answered: it goes on.
    pub(super) fn workload_call_answered(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let Some(r) = self.recs.get(rec) else { return };
        if r.epoch != self.managers[r.mi].epoch {
            self.drop_orphan(rec);
            return;
        }
        self.reads_then_work(sched, rec);
    }
}

impl World {
    /// This reconcile's jitter draws for the in-memory provider's phases: only its
    /// machine controller draws, from its own stream (no other figure shifts).
    fn in_memory_draws(&mut self, ctrl: Controller) -> [f64; 4] {
        use rand::RngExt;
        if self.cfg.infrastructure_provider != Provider::InMemory
            || ctrl != Controller::NutanixMachine
        {
            return [0.0; 4];
        }
        std::array::from_fn(|_| self.rng_in_memory.random::<f64>())
    }

    /// What an in-memory provider's reconcile does in its own process: creates the
    /// machine's cloud VM or its Node, and brings the node up in the workload cluster.
    fn in_memory_cloud(&mut self, sched: &mut Scheduler<Event>, key: u32, plan: &Plan) {
        if !(plan.cloud_machine || plan.node_provisioned || plan.node_up) {
            return; // not an in-memory machine's reconcile (its key may be a cluster)
        }
        let now = sched.now();
        let ms = &mut self.machines[key as usize];
        if plan.node_up && ms.joined_at.is_none() {
            ms.joined_at = Some(now);
            sched.schedule_in(SimDuration::ZERO, Event::NodeJoined(key));
        }
        if plan.cloud_machine {
            ms.vm_started_at = Some(now);
        }
        if plan.node_provisioned {
            ms.node_provisioned_at = Some(now);
        }
    }
}
