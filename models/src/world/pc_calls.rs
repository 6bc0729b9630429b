//! Prism Central as the provider's reconciles use it: each API call through Prism
//! Central's rate limit (429s retried by the SDK), each task through its task slots,
//! polled by the reconcile that holds its worker until it ends. The calls each recipe
//! makes are the provider's ([`crate::providers::capx`]); Prism Central's own model is
//! [`crate::prism_central`].

use sim_core::{Scheduler, SimDuration, SimTime};

use super::attribution::{Owner, Resource, Service};
use super::{Event, World};
use crate::kinds::{Controller, KeySpace};
use crate::prism_central::{TaskKind, TaskRecord};
use crate::providers::capx::{
    PcOp, task_code, task_flag, task_flag_clear, task_flag_set, task_kind,
};
use crate::scenario::config::CpuModel;

pub(super) struct PcProgress {
    /// Look-up calls still to make before `ops`.
    pub(super) lookups: u32,
    pub(super) ops: &'static [PcOp],
    pub(super) idx: usize,
    pub(super) attempts: u32,
    pub(super) polling: bool,
    pub(super) task_submitted_at: SimTime,
}

impl World {
    /// The Prism Central serving a cluster: clusters are spread over them round-robin.
    pub(super) fn pc_of_cluster(&self, c: u32) -> usize {
        c as usize % self.pcs.len()
    }

    /// The Prism Central a reconcile talks to.
    pub(super) fn pc_of(&self, ctrl: Controller, key: u32) -> usize {
        match ctrl.key_space() {
            KeySpace::Cluster => self.pc_of_cluster(key),
            KeySpace::Machine => self.pc_of_cluster(self.machines[key as usize].cluster),
        }
    }

    /// Prism Central downtime within [from, to].
    pub(super) fn outage_overlap(&self, from: SimTime, to: SimTime) -> SimDuration {
        self.outages
            .iter()
            .map(|&(a, b)| {
                let (lo, hi) = (a.max(from), b.min(to));
                if hi > lo { hi - lo } else { SimDuration::ZERO }
            })
            .fold(SimDuration::ZERO, |x, y| x + y)
    }

    pub(super) fn pc_next(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let r = self.recs.get_mut(rec).expect("live reconcile");
        let p = r.pc.as_mut().expect("pc work in progress");
        if p.lookups == 0 && p.idx >= p.ops.len() {
            r.pc = None;
            self.next_write(sched, rec);
            return;
        }
        p.attempts = 0;
        p.polling = false;
        self.pc_call(sched, rec);
    }

    /// Sends one Prism Central API call for the reconcile's current operation (its POST,
    /// or a poll of its task).
    pub(super) fn pc_call(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let now = sched.now();
        let pc = match self.recs.get(rec) {
            Some(r) => self.pc_of(r.ctrl, r.key),
            None => 0,
        };
        match self.pcs[pc].request(now, &mut self.rng_pc) {
            Some(latency) => {
                self.metrics.service[Service::PrismCentral as usize] += latency.as_secs_f64();
                self.alerts.pc_call(latency);
                // A poll of a task still waiting for its slot leaves the worker blocked on
                // Prism Central; any other call is service.
                let task_queued = self.recs.get(rec).is_some_and(|r| {
                    r.ctrl == Controller::NutanixMachine && self.poll_rec[r.key as usize] == rec
                });
                if !task_queued {
                    self.set_activity(now, rec, Resource::Workqueue);
                }
                sched.schedule_in(latency, Event::PcCallAnswered(rec));
            }
            None => {
                let max = self.cfg.prism_central.retry_attempts;
                let retry = SimDuration::from_secs_f64(self.cfg.prism_central.retry_interval.0);
                let r = self.recs.get_mut(rec).expect("live reconcile");
                let p = r.pc.as_mut().expect("pc work");
                p.attempts += 1;
                let owner = Self::owner_of(r.ctrl, r.key);
                if p.attempts >= max {
                    // ErrRateLimit: the reconcile fails and backs off.
                    r.failed = true;
                    r.pc = None;
                    self.finish(sched, rec);
                } else {
                    self.wait(owner, Resource::PrismCentral, retry);
                    self.set_activity(now, rec, Resource::PrismCentral);
                    sched.schedule_in(retry, Event::PcRetryElapsed(rec));
                }
            }
        }
    }

    /// Prism Central accepted machine `key`'s task of `kind`: it runs now (true) or
    /// queues for a slot (false).
    pub(super) fn submit_task(
        &mut self,
        sched: &mut Scheduler<Event>,
        key: u32,
        kind: TaskKind,
    ) -> bool {
        let now = sched.now();
        if kind == TaskKind::VmCreate {
            self.vm_create_submitted[key as usize] = now;
        }
        let ms = &mut self.machines[key as usize];
        task_flag_clear(ms, kind);
        ms.task_failed &= !(1 << task_code(kind));
        ms.tasks_pending |= 1 << task_code(kind);
        let task = key * 4 + task_code(kind) as u32;
        let pc = self.pc_of_cluster(self.machines[key as usize].cluster);
        let started = self.pcs[pc].submit(now, task, kind, &mut self.rng_pc);
        if self.timeline {
            let m = key as usize;
            if self.task_submitted.len() <= m {
                self.task_submitted
                    .resize(self.machines.len().max(m + 1), Default::default());
            }
            let at = if started.is_some() { now } else { SimTime::MAX };
            self.task_submitted[m][task_code(kind) as usize] = (now, at);
        }
        match started {
            Some(d) => {
                self.task_started[key as usize][task_code(kind) as usize] = now;
                sched.schedule_in(
                    d,
                    Event::PcTaskFinished {
                        machine: key,
                        kind: task_code(kind),
                    },
                );
                true
            }
            None => false,
        }
    }

    pub(super) fn pc_answered(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let now = sched.now();
        let Some(r) = self.recs.get(rec) else {
            return;
        };
        let mi = r.mi;
        if r.epoch != self.managers[mi].epoch {
            self.drop_orphan(rec);
            return;
        }
        if self.cfg.costs.cpu_model == CpuModel::PerController {
            // CAPX decodes the answer (the SDK's models) while its worker waits.
            self.manager_background_cpu(sched, mi, self.cfg.costs.cpu.pc_call);
        }
        let r = self.recs.get_mut(rec).expect("live reconcile");
        let key = r.key;
        let p = r.pc.as_mut().expect("pc work");
        // Each answered call starts the SDK's retry count afresh.
        p.attempts = 0;
        if p.lookups > 0 {
            p.lookups -= 1;
            self.pc_next(sched, rec);
            return;
        }
        match p.ops[p.idx] {
            PcOp::Call => {
                p.idx += 1;
                self.pc_next(sched, rec);
            }
            PcOp::Task(kind) if !p.polling => {
                // The POST returned a task id: the task queues for a slot; CAPX polls.
                p.polling = true;
                p.task_submitted_at = now;
                if !self.submit_task(sched, key, kind) {
                    // Waiting for a task slot: the worker is blocked on Prism Central.
                    self.poll_rec[key as usize] = rec;
                    self.set_activity(now, rec, Resource::PrismCentral);
                }
                let poll = SimDuration::from_secs_f64(self.cfg.prism_central.task_poll_interval.0);
                sched.schedule_in(poll, Event::PcPollDue(rec));
            }
            PcOp::Submit(kind) => {
                // The task runs on its own; nothing waits for it.
                p.idx += 1;
                self.submit_task(sched, key, kind);
                self.pc_next(sched, rec);
            }
            PcOp::Task(kind) => {
                let bit = 1 << task_code(kind);
                if self.machines[key as usize].task_failed & bit != 0 {
                    // The poll answered FAILED: the reconcile returns an error and the
                    // NutanixMachine backs off; the next one creates the VM again.
                    self.machines[key as usize].task_failed &= !bit;
                    r.failed = true;
                    r.pc = None;
                    self.finish(sched, rec);
                } else if task_flag(&self.machines[key as usize], kind) {
                    p.idx += 1;
                    self.pc_next(sched, rec);
                } else {
                    let poll =
                        SimDuration::from_secs_f64(self.cfg.prism_central.task_poll_interval.0);
                    sched.schedule_in(poll, Event::PcPollDue(rec));
                }
            }
        }
    }

    pub(super) fn pc_task_finished(
        &mut self,
        sched: &mut Scheduler<Event>,
        machine: u32,
        kind: u8,
    ) {
        let now = sched.now();
        // No task progresses while Prism Central is down: one that was running then
        // finishes that much later.
        let started = self.task_started[machine as usize][kind as usize];
        let lost = self.outage_overlap(started, now);
        if lost > SimDuration::ZERO {
            self.task_started[machine as usize][kind as usize] = now;
            sched.schedule_in(lost, Event::PcTaskFinished { machine, kind });
            return;
        }
        self.tasks_finished += 1;
        let code = kind;
        let kind = task_kind(kind);
        let mut failed = false;
        if kind == TaskKind::VmCreate {
            let since_start = now - SimTime::ZERO;
            let p = self
                .faults
                .iter()
                .map(|f| f.vm_create_failure_at(since_start))
                .fold(0.0, f64::max);
            // The fault's own stream: drawing it shifts no other random figure.
            use rand::RngExt;
            failed = p > 0.0 && self.rng_vm_failure.random::<f64>() < p;
        }
        let ms = &mut self.machines[machine as usize];
        match kind {
            TaskKind::VmCreate if failed => self.metrics.vm_create_failures += 1,
            TaskKind::VmCreate => {
                let submitted = self.vm_create_submitted[machine as usize];
                self.metrics.vm_create.record(now - submitted);
            }
            TaskKind::VmPowerOn => {
                let boot = &self.cfg.machine_boot;
                let d = match ms.cp_index {
                    Some(0) => boot.control_plane_init,
                    Some(_) => boot.control_plane_join,
                    None => boot.worker_join,
                }
                .sample_duration(&mut self.rng_boot);
                self.metrics.service[Service::Boot as usize] += d.as_secs_f64();
                sched.schedule_in(d, Event::NodeJoined(machine));
            }
            TaskKind::VmUpdate | TaskKind::VmDelete => {}
        }
        if self.timeline {
            let (created, started) = self.task_submitted[machine as usize][code as usize];
            self.task_log.push(TaskRecord {
                pc: self.pc_of_cluster(self.machines[machine as usize].cluster) as u32,
                machine,
                kind,
                succeeded: !failed,
                created,
                started,
                completed: now,
            });
        }
        let ms = &mut self.machines[machine as usize];
        if failed {
            // The task ends in FAILED: the polling reconcile returns CAPX's error.
            ms.task_failed |= 1 << task_code(kind);
        } else {
            task_flag_set(ms, kind);
        }
        ms.tasks_pending &= !(1 << task_code(kind));
        let pc = self.pc_of_cluster(self.machines[machine as usize].cluster);
        if let Some((next, d, waited)) = self.pcs[pc].task_finished(now, &mut self.rng_pc) {
            let (m, k) = (next / 4, (next % 4) as u8);
            self.task_started[m as usize][k as usize] = now;
            if self.timeline {
                self.task_submitted[m as usize][k as usize].1 = now;
            }
            let poller = std::mem::replace(&mut self.poll_rec[m as usize], u32::MAX);
            if poller != u32::MAX {
                self.set_activity(now, poller, Resource::Workqueue);
            }
            self.wait(Owner::Machine(m), Resource::PrismCentral, waited);
            sched.schedule_in(
                d,
                Event::PcTaskFinished {
                    machine: m,
                    kind: k,
                },
            );
        }
    }

    /// The SDK's wait after a 429, or CAPX's task poll interval, elapsed: the next call.
    pub(super) fn pc_call_due(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let Some(r) = self.recs.get(rec) else { return };
        if r.epoch != self.managers[r.mi].epoch {
            self.drop_orphan(rec);
            return;
        }
        self.pc_call(sched, rec);
    }
}
