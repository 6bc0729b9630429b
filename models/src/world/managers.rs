//! The manager processes' periodic and failure behaviour: informer resyncs (every cached
//! object re-enqueued at low priority), leader-election Lease renewals, OOM kills and
//! restarts (a new process relists every kind before its workers start).

use sim_core::{Scheduler, SimDuration};

use super::attribution::Owner;
use super::requests::Op;
use super::{Event, World};
use crate::controllers::manager::client_limiter;
use crate::controllers::manager::ctrl_advance;
use crate::controllers::watches::When;
use crate::controllers::workqueue::Priority;
use crate::kinds::{Controller, KeySpace, ObjKind};
use crate::recipe::Target;

impl World {
    pub(super) fn resync_delay(&mut self, manager: usize) -> SimDuration {
        // controller-runtime's informer resync: the period times a factor in [0.9, 1.0).
        use rand::RngExt;
        let f: f64 = self.rng_resync.random_range(0.9..1.0);
        SimDuration::from_secs_f64(self.managers[manager].sync_period * f)
    }

    pub(super) fn resync(&mut self, sched: &mut Scheduler<Event>, manager: u8, kind: ObjKind) {
        let d = self.resync_delay(manager as usize);
        sched.schedule_in(
            d,
            Event::ResyncDue {
                manager,
                kind: kind as u8,
            },
        );
        // The informer redelivers every cached object of the kind to the manager's
        // handlers: the `For` watch of the kind's own controller, and the mapped watches
        // that do not filter resyncs out (CAPX's).
        let mi = manager as usize;
        self.enqueue_shard(sched, mi, |c| c.kind() == kind);
        let mk = self.managers[mi].kind;
        let watches = std::mem::take(&mut self.watches);
        for watch in watches.iter().filter(|w| {
            w.kind == kind
                && w.resyncs
                && w.when == When::Always
                && w.controller.manager() == mk
                && w.controller.kind() != kind
        }) {
            match kind {
                ObjKind::Machine | ObjKind::KubeadmConfig | ObjKind::NutanixMachine => {
                    for m in 0..self.machines.len() as u32 {
                        let c = self.machines[m as usize].cluster;
                        if self.in_shard(mi, c) && self.machine_kind_exists(kind, m) {
                            self.map_watch(sched, watch, Target::Machine(m), Priority::Low);
                        }
                    }
                }
                _ => {
                    for c in 0..self.clusters.len() as u32 {
                        if self.in_shard(mi, c) && self.cluster_object_exists(kind, c) {
                            self.map_watch(sched, watch, Target::Cluster(c), Priority::Low);
                        }
                    }
                }
            }
        }
        self.watches = watches;
    }

    /// Enqueues at low priority every existing object of instance `mi`'s shard, for each
    /// of its controllers that `pick` selects (a resync, or the initial list after a
    /// restart).
    pub(super) fn enqueue_shard(
        &mut self,
        sched: &mut Scheduler<Event>,
        mi: usize,
        pick: impl Fn(Controller) -> bool,
    ) {
        let ctrls: Vec<Controller> = self
            .ctrls
            .iter()
            .filter(|c| c.mi == mi && pick(c.ctrl))
            .map(|c| c.ctrl)
            .collect();
        for ctrl in ctrls {
            match ctrl.key_space() {
                KeySpace::Cluster => {
                    for c in 0..self.clusters.len() as u32 {
                        if self.in_shard(mi, c) && self.cluster_object_exists(ctrl.kind(), c) {
                            self.enqueue(sched, ctrl, c, Priority::Low);
                        }
                    }
                }
                KeySpace::Machine => {
                    for m in 0..self.machines.len() as u32 {
                        let c = self.machines[m as usize].cluster;
                        if self.in_shard(mi, c) && self.machine_object_exists(ctrl, m) {
                            self.enqueue(sched, ctrl, m, Priority::Low);
                        }
                    }
                }
            }
        }
    }

    /// client-go's leader election (`leaderelection.go`): every retry period (CAPI 2 s,
    /// KCP 5 s) the leader renews its Lease, a GET then an UPDATE. When its renewals
    /// have failed for longer than the renew deadline it loses the leadership and the
    /// manager exits (`OnStoppedLeading`, then `os.Exit(1)` in each `main.go`). A process
    /// that does not lead waits for the Lease to expire (its holder did not release it),
    /// then tries to acquire it every retry period.
    pub(super) fn lease(&mut self, sched: &mut Scheduler<Event>, manager: u8) {
        let m = manager as usize;
        let mcfg = self.cfg.managers()[self.managers[m].kind].1;
        let period = SimDuration::from_secs_f64(mcfg.leader_elect_retry_period.0);
        let deadline = SimDuration::from_secs_f64(mcfg.leader_elect_renew_deadline.0);
        let lease = SimDuration::from_secs_f64(mcfg.leader_elect_lease_duration.0);
        let delay = mcfg.restart_delay.0;
        sched.schedule_in(period, Event::LeaseRenewalDue(manager));
        let now = sched.now();
        let mg = &mut self.managers[m];
        if !mg.up {
            return;
        }
        if mg.leading && mg.renew_failed && now.saturating_since(mg.renewed_at) > deadline {
            mg.leader_losses += 1;
            self.kill(sched, m, delay);
            return;
        }
        if !mg.leading && now < mg.renewed_at + lease {
            return; // the Lease of the process that exited has not expired yet
        }
        self.issue(sched, None, manager, Op::Read, Owner::None);
        self.issue(sched, None, manager, Op::LeaseUpdate, Owner::None);
    }

    /// Manager instance `m`'s Lease write answered: renewed (or acquired), or failed.
    pub(super) fn lease_answered(&mut self, sched: &mut Scheduler<Event>, m: usize, ok: bool) {
        let now = sched.now();
        let mg = &mut self.managers[m];
        mg.renew_failed = !ok;
        if !ok {
            return;
        }
        mg.renewed_at = now;
        if !mg.leading {
            mg.leading = true;
            for c in 0..self.ctrls.len() {
                if self.ctrls[c].mi == m {
                    self.dispatch(sched, c);
                }
            }
        }
    }

    pub(super) fn oom_check(&mut self, sched: &mut Scheduler<Event>) {
        for m in 0..self.managers.len() {
            let mg = &self.managers[m];
            if mg.up && mg.memory > mg.memory_limit {
                self.oom_kill(sched, m);
            }
        }
    }

    pub(super) fn oom_kill(&mut self, sched: &mut Scheduler<Event>, m: usize) {
        self.managers[m].oom_kills += 1;
        let kills = self.managers[m].oom_kills;
        // CrashLoopBackOff doubles the restart delay, capped at 5 minutes.
        let base = self.cfg.managers()[self.managers[m].kind].1.restart_delay.0;
        let delay = (base * 2f64.powi(kills as i32 - 1)).min(300.0);
        self.kill(sched, m, delay);
    }

    /// The manager's process dies; it runs again after `delay` seconds.
    pub(super) fn kill(&mut self, sched: &mut Scheduler<Event>, m: usize, delay: f64) {
        let now = sched.now();
        let mg = &mut self.managers[m];
        mg.epoch += 1;
        mg.up = false;
        mg.cpu_busy = 0;
        let queued: Vec<u32> = mg.cpu_queue.drain(..).collect();
        for rec in queued {
            self.drop_orphan(rec);
        }
        self.manager_cpu_killed(sched, m);
        for ct in self.ctrls.iter_mut().filter(|c| c.mi == m) {
            ct.queue.clear(now);
            ct.busy = 0;
            ctrl_advance(ct, now);
            ct.activity = [0; 6];
        }
        sched.schedule_in(
            SimDuration::from_secs_f64(delay),
            Event::ManagerRestarted(m as u8),
        );
    }

    pub(super) fn restarted(&mut self, sched: &mut Scheduler<Event>, m: u8) {
        let mg = &mut self.managers[m as usize];
        if mg.memory > mg.memory_limit {
            // The caches fill up again during the initial list: killed again.
            mg.up = true;
            self.oom_kill(sched, m as usize);
            return;
        }
        mg.up = true;
        // A new process: a full token bucket, and no worker starts before every informer
        // has listed (controller-runtime waits for the caches to sync) and it leads.
        mg.leading = false;
        let kind = mg.kind;
        mg.limiter = client_limiter(self.cfg.managers()[kind].1);
        let kinds: Vec<ObjKind> = self.informer_kinds(kind).collect();
        self.managers[m as usize].lists_pending = kinds.len() as u32;
        let shards = self.shards[kind];
        for k in kinds {
            let objects = (self.count_by_kind[k.index()] / u64::from(shards)) as u32;
            self.issue(sched, None, m, Op::List { kind: k, objects }, Owner::None);
        }
        self.enqueue_shard(sched, m as usize, |_| true);
    }
}
