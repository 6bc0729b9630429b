//! Membership: a member registers when its workload cluster is ready, the cluster
//! controller gives it its execution namespace and finalizer, its Lease is renewed and
//! its status collected for as long as it stays, and it is unjoined when its workload
//! cluster's deletion starts.
//!
//! Karmada v1.19 (docs/model.md, "Federation hub", for the sources):
//! - a push member is registered by `karmadactl join` (the user), a pull member by its
//!   agent; the cluster controller creates its execution namespace, taints it NotReady
//!   and adds its finalizer, and removes the taint when its status first reports Ready;
//! - the cluster-status controller (the controller-manager's for push members, the
//!   agent's for pull members) probes the member (`/readyz`, `/version`, discovery),
//!   writes the Cluster's status only when it changed, and requeues the member
//!   `--cluster-status-update-frequency` later. Every Cluster write reaches the cluster
//!   controller, which has nothing to do then;
//! - only a pull member has a Lease: its agent renews it every `--cluster-lease-duration`
//!   × `--cluster-lease-renew-interval-fraction` (40 s × 0.25), the period restarting when
//!   a renewal returns, with up to 4 % jitter (component-helpers' lease controller). A
//!   push member's heartbeat is the controller-manager's probe;
//! - each agent also renews its leader-election Lease, which lives on the hub.

use rand::RngExt;
use sim_core::{Scheduler, SimDuration, SimTime};

use super::requests::{Effect, HubKind, HubVerb, HubWrite, Step};
use super::{CONTROLLER_MANAGER, CtrlId, Event, FIRST_AGENT, Hub, Runner, USER};

/// One member cluster as the hub sees it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Member {
    /// When its workload cluster became ready.
    pub(super) ready_at: Option<SimTime>,
    /// Its Cluster object exists.
    pub(super) cluster_exists: bool,
    /// Its execution namespace and finalizer are in place: its status is collected.
    pub(super) joined: bool,
    /// Its status has reported Ready once.
    pub(super) reported: bool,
    /// Its NotReady taint is gone: the scheduler may place resources on it.
    pub(super) schedulable: bool,
    /// Its unjoin has started.
    pub(super) leaving: bool,
    /// Its Cluster's delete has been sent.
    pub(super) gone: bool,
    /// Its Lease exists (pull mode).
    pub(super) lease_exists: bool,
    /// Its last committed Lease renewal.
    pub(super) last_renewal: Option<SimTime>,
    /// When its current status collection became due.
    pub(super) status_due_at: SimTime,
}

/// How much a renewal period is stretched at most (component-helpers' lease controller
/// runs `wait.JitterUntil(sync, renewInterval, 0.04, ...)`).
const LEASE_JITTER: f64 = 0.04;

/// A write of `kind`.
pub(super) fn write(kind: HubKind, verb: HubVerb, old: u64, new: u64, effect: Effect) -> Step {
    Step::Write(HubWrite {
        kind,
        verb,
        old: old as u32,
        new: new as u32,
        effect,
    })
}

impl Hub {
    /// Member `m`'s workload cluster is ready: `karmadactl join` (push) or its agent
    /// (pull) creates its Cluster.
    pub(super) fn member_ready(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        self.members[m as usize].ready_at = Some(sched.now());
        let size = self.fed.object_sizes.cluster.0;
        let client = if self.pull() { FIRST_AGENT + m } else { USER };
        let w = write(
            HubKind::Cluster,
            HubVerb::Create,
            0,
            size,
            Effect::ClusterCreated(m),
        );
        self.send(sched, client, w);
        if self.pull() && self.fed.karmada_agent.leader_elect {
            sched.schedule_at(sched.now(), Event::LeaderLeaseDue(FIRST_AGENT + m));
        }
    }

    /// Member `m`'s workload cluster is being deleted: it is unjoined first (its Cluster
    /// deleted; the cluster controller removes what it made).
    pub(super) fn member_leaving(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        let member = &mut self.members[m as usize];
        if member.leaving {
            return;
        }
        member.leaving = true;
        if member.cluster_exists {
            let size = self.fed.object_sizes.cluster.0;
            let w = write(
                HubKind::Cluster,
                HubVerb::Update,
                size,
                size,
                Effect::ClusterDeleting(m),
            );
            self.send(sched, USER, w);
        }
    }

    /// The cluster controller's reconcile of member `m`.
    pub(super) fn plan_cluster(&mut self, m: u32) -> Vec<Step> {
        let member = self.members[m as usize];
        let s = self.fed.object_sizes;
        let (cluster, ns, lease) = (s.cluster.0, s.namespace.0, s.lease.0);
        if !member.cluster_exists || member.gone {
            return Vec::new();
        }
        if member.leaving {
            // The execution namespace goes, and with it each Work: the namespace
            // controller deletes it, the execution controller deletes its resource on the
            // member and removes its finalizer. The Lease goes with its owner; then the
            // finalizer, and the Cluster is gone.
            let mut steps = Vec::new();
            if member.joined {
                let e = Effect::None;
                steps.push(write(HubKind::Namespace, HubVerb::Delete, ns, 0, e));
            }
            steps.extend(self.delete_works_of(m));
            if member.lease_exists {
                steps.push(write(
                    HubKind::Lease,
                    HubVerb::Delete,
                    lease,
                    0,
                    Effect::None,
                ));
                self.members[m as usize].lease_exists = false;
            }
            steps.push(write(
                HubKind::Cluster,
                HubVerb::Delete,
                cluster,
                0,
                Effect::ClusterGone(m),
            ));
            self.members[m as usize].gone = true;
            return steps;
        }
        if !member.joined {
            self.members[m as usize].joined = true;
            return vec![
                write(HubKind::Namespace, HubVerb::Create, 0, ns, Effect::None),
                write(
                    HubKind::Cluster,
                    HubVerb::Update,
                    cluster,
                    cluster,
                    Effect::None,
                ),
                write(
                    HubKind::Cluster,
                    HubVerb::Update,
                    cluster,
                    cluster,
                    Effect::ClusterJoined(m),
                ),
            ];
        }
        if member.reported && !member.schedulable {
            self.members[m as usize].schedulable = true;
            let e = Effect::ClusterSchedulable(m);
            return vec![write(
                HubKind::Cluster,
                HubVerb::Update,
                cluster,
                cluster,
                e,
            )];
        }
        Vec::new()
    }

    /// Member `m` has joined: its status collection (and in pull mode its Lease) start.
    pub(super) fn joined(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        let now = sched.now();
        sched.schedule_at(now, Event::StatusDue(m));
        if self.pull() {
            sched.schedule_at(now, Event::LeaseDue(m));
        }
    }

    /// Member `m`'s taint is gone: it is a member resources can be placed on.
    pub(super) fn schedulable(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        if let Some(ready) = self.members[m as usize].ready_at {
            self.figures.registration.record(sched.now() - ready);
        }
        self.figures.members_now += 1;
        self.figures.members_peak = self.figures.members_peak.max(self.figures.members_now);
    }

    /// Member `m`'s Lease renewal is due (its first creates the Lease).
    pub(super) fn lease_due(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        let member = self.members[m as usize];
        if member.leaving || member.gone {
            return;
        }
        let size = self.fed.object_sizes.lease.0;
        let due = sched.now().as_nanos();
        let verb = if member.lease_exists {
            HubVerb::Update
        } else {
            self.members[m as usize].lease_exists = true;
            HubVerb::Create
        };
        let old = if verb == HubVerb::Update { size } else { 0 };
        let w = write(
            HubKind::Lease,
            verb,
            old,
            size,
            Effect::LeaseRenewed(m, due),
        );
        self.send(sched, FIRST_AGENT + m, w);
    }

    /// A renewal of member `m`'s Lease, due at `due`, committed (`ok`) or was refused:
    /// the lease controller renews again a period later either way.
    pub(super) fn lease_renewed(
        &mut self,
        sched: &mut Scheduler<Event>,
        m: u32,
        due: SimTime,
        ok: bool,
    ) {
        let now = sched.now();
        if ok {
            self.figures.heartbeat.record(now - due);
            let grace = self.fed.cluster_monitor_grace_period.0;
            let member = &mut self.members[m as usize];
            if let Some(last) = member.last_renewal {
                let gap = (now - last).as_secs_f64();
                self.figures.longest_heartbeat_gap_s =
                    self.figures.longest_heartbeat_gap_s.max(gap);
                if gap > grace {
                    self.figures.lease_expiries += 1;
                }
            }
            member.last_renewal = Some(now);
        }
        let period = self.fed.lease_renew_interval_s()
            * (1.0 + LEASE_JITTER * self.rng_jitter.random::<f64>());
        sched.schedule_in(SimDuration::from_secs_f64(period), Event::LeaseDue(m));
    }

    /// A leader renews its leader-election Lease (client-go's elector: an update every
    /// retry period after the last one returned).
    pub(super) fn leader_lease_due(&mut self, sched: &mut Scheduler<Event>, client: u32) {
        if client >= FIRST_AGENT {
            let member = self.members[(client - FIRST_AGENT) as usize];
            if member.leaving || member.gone {
                return;
            }
        }
        let size = self.fed.object_sizes.lease.0;
        let e = Effect::LeaderLeaseRenewed(client);
        // The first renewal creates the Lease; it stays when its holder leaves.
        let held = &mut self.clients[client as usize].leader_lease;
        let w = if *held {
            write(HubKind::Lease, HubVerb::Update, size, size, e)
        } else {
            *held = true;
            write(HubKind::Lease, HubVerb::Create, 0, size, e)
        };
        self.send(sched, client, w);
    }

    /// Member `m`'s status collection is due.
    pub(super) fn status_due(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        let member = self.members[m as usize];
        if member.leaving || member.gone {
            return;
        }
        self.members[m as usize].status_due_at = sched.now();
        if self.pull() {
            let steps = self.plan_status(m);
            self.start_job(sched, Runner::AgentStatus(m), m, steps);
        } else {
            self.enqueue(sched, CtrlId::ClusterStatus, m);
        }
    }

    /// The cluster-status controller's reconcile of member `m`: its health, version and
    /// API groups from the member's API server, then its status if it changed (always,
    /// the first time: its Ready condition appears).
    pub(super) fn plan_status(&mut self, m: u32) -> Vec<Step> {
        let member = self.members[m as usize];
        if member.leaving || member.gone {
            return Vec::new();
        }
        let calls = self.fed.member_calls_per_status as usize;
        let mut steps = vec![Step::Member { member: m }; calls];
        let changed = self.rng_status.random::<f64>() < self.fed.status_change_fraction;
        if changed || !member.reported {
            let size = self.fed.object_sizes.cluster.0;
            let e = Effect::ClusterStatusWritten(m);
            steps.push(write(HubKind::Cluster, HubVerb::Status, size, size, e));
        }
        steps
    }

    /// Member `m`'s status collection finished: the next is due a period later.
    pub(super) fn status_collected(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        let member = self.members[m as usize];
        if member.leaving || member.gone {
            return;
        }
        let period = SimDuration::from_secs_f64(self.fed.cluster_status_update_frequency.0);
        sched.schedule_in(period, Event::StatusDue(m));
    }

    /// A push member's probe answered: the controller-manager's heartbeat of it, from the
    /// collection's due time.
    pub(super) fn probed(&mut self, now: SimTime, m: u32) {
        let due = self.members[m as usize].status_due_at;
        self.figures.heartbeat.record(now - due);
        let member = &mut self.members[m as usize];
        if let Some(last) = member.last_renewal {
            let gap = (now - last).as_secs_f64();
            self.figures.longest_heartbeat_gap_s = self.figures.longest_heartbeat_gap_s.max(gap);
        }
        member.last_renewal = Some(now);
    }

    /// The client a member's writes go through: its agent (pull) or the
    /// controller-manager (push).
    pub(super) fn member_client(&self, m: u32) -> u32 {
        if self.pull() {
            FIRST_AGENT + m
        } else {
            CONTROLLER_MANAGER
        }
    }
}
