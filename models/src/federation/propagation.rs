//! Propagation: a resource template with a PropagationPolicy reaches its members.
//!
//! Karmada v1.19's path (docs/model.md, "Federation hub", for the sources): the user
//! applies the policy and the templates; the resource detector claims each template for
//! the policy (a label update) and creates its ResourceBinding; karmada-scheduler (one
//! goroutine) patches the binding's target clusters and its Scheduled condition, and
//! once more its status when the spec patch's new generation brings the binding back;
//! the binding controller creates one Work per target in the target's execution
//! namespace; the execution controller (the controller-manager's in push mode, the
//! member's agent's in pull mode) writes the Work's Dispatching condition, applies its
//! manifest to the member and writes its Applied condition; the work-status controller
//! writes each status change of the member's resource into the Work; the binding-status
//! controller, woken by every Work status change (its queue merges them), reads the
//! template, writes the binding's aggregated status and the template's. Each controller
//! records its Events, which are writes too (through the same client's bucket).
//!
//! The distribution latency of a member is the time from the template's create to the
//! resource applied on that member, as Karmada's scale test measures it.

use sim_core::{Scheduler, SimDuration, SimTime};

use super::members::write;
use super::requests::{Effect, HubKind, HubVerb, HubWrite, Step};
use super::{CtrlId, Event, Hub, Runner, USER};

/// Work states, per resource and member: not a target; a target without a Work, its
/// create sent, created, applied, then one more per status reflected; gone (deleted, or
/// never to be made: its member left, or the resource was refused).
const NOT_TARGET: u8 = u8::MAX - 1;
const NO_WORK: u8 = 0;
const CREATING: u8 = 1;
const CREATED: u8 = 2;
const APPLIED: u8 = 3;
const DELETED: u8 = u8::MAX;

/// One propagated resource.
pub(super) struct Resource {
    /// Members it is placed on.
    pub(super) targets: Vec<u32>,
    /// When its template's create committed.
    pub(super) created_at: Option<SimTime>,
    /// Each member's Work state (indexed by member).
    pub(super) work: Vec<u8>,
    /// Its binding's stored size [bytes].
    pub(super) binding_size: u64,
    /// Scheduling passes so far.
    pub(super) scheduled: u8,
    /// Targets whose Work reached its final state (every status reflected, or gone).
    pub(super) settled: u32,
}

impl Hub {
    /// Members, at least 1: a Work's number divides by it.
    fn members_n(&self) -> u32 {
        (self.members.len() as u32).max(1)
    }

    /// A Work's number: resource × members + member.
    pub(super) fn work_id(&self, k: u32, m: u32) -> u32 {
        k * self.members_n() + m
    }

    pub(super) fn work_of(&self, w: u32) -> (u32, u32) {
        (w / self.members_n(), w % self.members_n())
    }

    fn work_size(&self) -> u64 {
        let s = self.fed.object_sizes;
        s.template.0 + s.work_overhead.0
    }

    /// The final state of a Work: applied and every status change reflected.
    fn settled_state(&self) -> u8 {
        APPLIED + self.fed.status_reflections.min(200) as u8
    }

    /// The user applies propagation `i`: its policy, then its templates. Its targets are
    /// the first `fraction` of the schedulable members (a label selector's pick).
    pub(super) fn propagation_applied(&mut self, sched: &mut Scheduler<Event>, i: u16) {
        let p = self.propagations[i as usize];
        let ready: Vec<u32> = (0..self.members_n())
            .filter(|&m| {
                let x = &self.members[m as usize];
                x.schedulable && !x.leaving
            })
            .collect();
        let take = ((ready.len() as f64 * p.fraction).ceil() as usize).min(ready.len());
        let targets: Vec<u32> = ready[..take].to_vec();
        let s = self.fed.object_sizes;
        let policy = write(
            HubKind::Policy,
            HubVerb::Create,
            0,
            s.policy.0,
            Effect::None,
        );
        self.send(sched, USER, policy);
        let mut work = vec![NOT_TARGET; self.members.len()];
        for &m in &targets {
            work[m as usize] = NO_WORK;
        }
        for _ in 0..p.resources {
            let k = self.resources.len() as u32;
            self.resources.push(Resource {
                targets: targets.clone(),
                created_at: None,
                work: work.clone(),
                binding_size: s.binding.0,
                scheduled: 0,
                settled: 0,
            });
            let e = Effect::TemplateCreated(k);
            self.send(
                sched,
                USER,
                write(HubKind::Template, HubVerb::Create, 0, s.template.0, e),
            );
        }
    }

    /// Whether every propagated resource has settled on every target.
    pub(super) fn propagations_done(&self) -> bool {
        self.resources
            .iter()
            .all(|r| r.settled as usize >= r.targets.len())
    }

    /// The plan of a reconcile of `key` by controller `c`.
    pub(super) fn plan(&mut self, c: CtrlId, key: u32) -> Vec<Step> {
        let s = self.fed.object_sizes;
        let t = s.template.0;
        match c {
            CtrlId::Cluster => self.plan_cluster(key),
            CtrlId::ClusterStatus => self.plan_status(key),
            CtrlId::Detector => {
                let b = self.resources[key as usize].binding_size;
                vec![
                    write(HubKind::Template, HubVerb::Update, t, t, Effect::None),
                    write(
                        HubKind::Binding,
                        HubVerb::Create,
                        0,
                        b,
                        Effect::BindingCreated(key),
                    ),
                    Step::Event,
                ]
            }
            CtrlId::Scheduler => {
                let r = &mut self.resources[key as usize];
                r.scheduled += 1;
                match r.scheduled {
                    1 => {
                        let old = r.binding_size;
                        r.binding_size += s.binding_per_member.0 * r.targets.len() as u64;
                        let new = r.binding_size;
                        let e = Effect::BindingScheduled(key);
                        vec![
                            write(HubKind::Binding, HubVerb::Update, old, new, e),
                            write(HubKind::Binding, HubVerb::Status, new, new, Effect::None),
                            Step::Event,
                            Step::Event,
                        ]
                    }
                    2 => {
                        let b = r.binding_size;
                        vec![write(HubKind::Binding, HubVerb::Status, b, b, Effect::None)]
                    }
                    _ => Vec::new(),
                }
            }
            CtrlId::Binding => {
                let size = self.work_size();
                let mut steps = Vec::new();
                for i in 0..self.resources[key as usize].targets.len() {
                    let m = self.resources[key as usize].targets[i];
                    let member = self.members[m as usize];
                    let r = &mut self.resources[key as usize];
                    let state = &mut r.work[m as usize];
                    if *state != NO_WORK {
                        continue;
                    }
                    if member.leaving || member.gone {
                        // Its execution namespace is going: no Work for it.
                        *state = DELETED;
                        r.settled += 1;
                        continue;
                    }
                    *state = CREATING;
                    let e = Effect::WorkCreated(self.work_id(key, m));
                    steps.push(write(HubKind::Work, HubVerb::Create, 0, size, e));
                }
                steps.extend([Step::Event, Step::Event]);
                steps
            }
            CtrlId::Execution => {
                let (k, m) = self.work_of(key);
                self.plan_execution(m, k)
            }
            CtrlId::BindingStatus => {
                let b = self.resources[key as usize].binding_size;
                vec![
                    Step::Read,
                    write(HubKind::Binding, HubVerb::Status, b, b, Effect::None),
                    write(HubKind::Template, HubVerb::Status, t, t, Effect::None),
                    Step::Event,
                ]
            }
        }
    }

    /// The execution controller's reconcile of resource `k`'s Work for member `m`: its
    /// Dispatching condition, the apply on the member, its Applied condition.
    pub(super) fn plan_execution(&mut self, m: u32, k: u32) -> Vec<Step> {
        let member = self.members[m as usize];
        if member.leaving || member.gone || self.resources[k as usize].work[m as usize] != CREATED {
            return Vec::new();
        }
        let size = self.work_size();
        let w = self.work_id(k, m);
        vec![
            write(
                HubKind::Work,
                HubVerb::Status,
                size,
                size,
                Effect::WorkDispatching(w),
            ),
            Step::Member { member: m },
            write(
                HubKind::Work,
                HubVerb::Status,
                size,
                size,
                Effect::WorkApplied(w),
            ),
            Step::Event,
            Step::Event,
            Step::Event,
        ]
    }

    /// The steps that remove member `m`'s Works at its unjoin: each deleted, its resource
    /// deleted on the member, its finalizer removed.
    pub(super) fn delete_works_of(&mut self, m: u32) -> Vec<Step> {
        let size = self.work_size();
        let settled = self.settled_state();
        let mut steps = Vec::new();
        for r in &mut self.resources {
            let st = &mut r.work[m as usize];
            match *st {
                NOT_TARGET | DELETED => continue,
                // A Work not made yet will not be: the create in flight is refused in
                // the terminating namespace (see `work_refused`).
                NO_WORK => {
                    *st = DELETED;
                    r.settled += 1;
                    continue;
                }
                CREATING => continue,
                _ => {}
            }
            if *st != settled {
                r.settled += 1;
            }
            *st = DELETED;
            steps.extend([
                write(HubKind::Work, HubVerb::Update, size, size, Effect::None),
                Step::Member { member: m },
                write(HubKind::Work, HubVerb::Delete, size, 0, Effect::None),
            ]);
        }
        steps
    }

    /// A member answered a job's call. The first call of a push member's status
    /// collection is the controller-manager's probe; the call of an execution job is
    /// the apply.
    pub(super) fn member_answered(&mut self, sched: &mut Scheduler<Event>, job: u32) {
        let now = sched.now();
        let j = self.jobs.get(job).expect("live job");
        let first = j.next == 1;
        match j.runner {
            Runner::Ctrl(CtrlId::ClusterStatus) if first => self.probed(now, j.key),
            Runner::Ctrl(CtrlId::Execution) => {
                let (k, _) = self.work_of(j.key);
                self.applied_on_member(now, k);
            }
            Runner::AgentExecution(_) => self.applied_on_member(now, j.key),
            _ => {}
        }
        self.next_step(sched, job);
    }

    fn applied_on_member(&mut self, now: SimTime, k: u32) {
        self.figures.member_applies += 1;
        if let Some(at) = self.resources[k as usize].created_at {
            self.figures.distribution.record(now - at);
        }
    }

    /// Work `w`'s resource changed status on its member: the work-status controller
    /// writes it into the Work, and waits for the next change.
    pub(super) fn member_status_changed(&mut self, sched: &mut Scheduler<Event>, w: u32) {
        let (k, m) = self.work_of(w);
        let st = self.resources[k as usize].work[m as usize];
        if st < APPLIED || st >= self.settled_state() {
            return;
        }
        let size = self.work_size();
        let client = self.member_client(m);
        let e = Effect::WorkStatusReflected(w);
        self.send(
            sched,
            client,
            write(HubKind::Work, HubVerb::Status, size, size, e),
        );
        self.send_event(sched, client);
        self.send_event(sched, client);
    }

    /// The next status change of Work `w`'s resource, if one is left.
    fn next_status_change(&mut self, sched: &mut Scheduler<Event>, w: u32) {
        let (k, m) = self.work_of(w);
        if self.resources[k as usize].work[m as usize] < self.settled_state() {
            let d = self
                .fed
                .member_status_delay
                .sample_duration(&mut self.rng_member);
            sched.schedule_in(d, Event::MemberStatusChanged(w));
        }
    }

    /// A committed write's effect: state changes, and the controllers its watch event
    /// reaches.
    pub(super) fn effect(&mut self, sched: &mut Scheduler<Event>, e: Effect) {
        let now = sched.now();
        match e {
            Effect::None => {}
            Effect::ClusterCreated(m) => {
                self.members[m as usize].cluster_exists = true;
                self.enqueue(sched, CtrlId::Cluster, m);
            }
            Effect::ClusterJoined(m) => self.joined(sched, m),
            Effect::ClusterStatusWritten(m) => {
                self.members[m as usize].reported = true;
                self.enqueue(sched, CtrlId::Cluster, m);
            }
            Effect::ClusterSchedulable(m) => self.schedulable(sched, m),
            Effect::LeaseRenewed(m, due) => {
                self.lease_renewed(sched, m, SimTime::from_nanos(due), true);
            }
            Effect::LeaderLeaseRenewed(client) => {
                let every = SimDuration::from_secs_f64(self.fed.leader_elect_retry_period.0);
                sched.schedule_in(every, Event::LeaderLeaseDue(client));
            }
            Effect::ClusterDeleting(m) => self.enqueue(sched, CtrlId::Cluster, m),
            Effect::ClusterGone(m) => {
                let member = &mut self.members[m as usize];
                member.cluster_exists = false;
                if member.schedulable {
                    self.figures.members_now -= 1;
                }
            }
            Effect::TemplateCreated(k) => {
                self.resources[k as usize].created_at = Some(now);
                self.enqueue(sched, CtrlId::Detector, k);
            }
            Effect::BindingCreated(k) => self.enqueue(sched, CtrlId::Scheduler, k),
            Effect::BindingScheduled(k) => {
                // The spec patch's new generation brings the binding back to the
                // scheduler, and reaches the binding controller.
                self.enqueue(sched, CtrlId::Scheduler, k);
                self.enqueue(sched, CtrlId::Binding, k);
            }
            Effect::WorkCreated(w) => {
                let (k, m) = self.work_of(w);
                self.resources[k as usize].work[m as usize] = CREATED;
                if self.pull() {
                    self.enqueue_agent(sched, m, k);
                } else {
                    self.enqueue(sched, CtrlId::Execution, w);
                }
            }
            Effect::WorkDispatching(w) => {
                let (k, _) = self.work_of(w);
                self.enqueue(sched, CtrlId::BindingStatus, k);
            }
            Effect::WorkApplied(w) => {
                let (k, m) = self.work_of(w);
                let settled = self.settled_state();
                let r = &mut self.resources[k as usize];
                if r.work[m as usize] == CREATED {
                    r.work[m as usize] = APPLIED;
                    if settled == APPLIED {
                        r.settled += 1;
                    }
                    self.next_status_change(sched, w);
                }
                self.enqueue(sched, CtrlId::BindingStatus, k);
            }
            Effect::WorkStatusReflected(w) => {
                let (k, m) = self.work_of(w);
                let settled = self.settled_state();
                let r = &mut self.resources[k as usize];
                let st = &mut r.work[m as usize];
                if *st >= APPLIED && *st < settled {
                    *st += 1;
                    if *st == settled {
                        r.settled += 1;
                    }
                    self.next_status_change(sched, w);
                }
                self.enqueue(sched, CtrlId::BindingStatus, k);
            }
        }
    }

    /// Whether the API server admits write `w`: a Work create in the execution
    /// namespace of a member whose unjoin has started is refused (the namespace is
    /// terminating).
    pub(super) fn work_refused(&mut self, w: &HubWrite) -> bool {
        let Effect::WorkCreated(id) = w.effect else {
            return false;
        };
        let (k, m) = self.work_of(id);
        let member = self.members[m as usize];
        if !(member.leaving || member.gone) {
            return false;
        }
        let r = &mut self.resources[k as usize];
        r.work[m as usize] = DELETED;
        r.settled += 1;
        true
    }

    /// A write was refused (NOSPACE, or too large): what its effect would have started
    /// does not happen. A resource whose template, binding or placement was refused
    /// reaches none of its targets that have no Work yet; a Work that cannot progress
    /// counts as settled, unreached; the Leases are renewed again a period later.
    pub(super) fn refused(&mut self, sched: &mut Scheduler<Event>, e: Effect) {
        match e {
            Effect::LeaseRenewed(m, due) => {
                self.lease_renewed(sched, m, SimTime::from_nanos(due), false);
            }
            Effect::LeaderLeaseRenewed(client) => {
                let every = SimDuration::from_secs_f64(self.fed.leader_elect_retry_period.0);
                sched.schedule_in(every, Event::LeaderLeaseDue(client));
            }
            Effect::TemplateCreated(k)
            | Effect::BindingCreated(k)
            | Effect::BindingScheduled(k) => {
                let r = &mut self.resources[k as usize];
                for st in r.work.iter_mut().filter(|st| **st == NO_WORK) {
                    *st = DELETED;
                    r.settled += 1;
                }
            }
            Effect::WorkCreated(w) | Effect::WorkApplied(w) | Effect::WorkStatusReflected(w) => {
                let (k, m) = self.work_of(w);
                let settled = self.settled_state();
                let r = &mut self.resources[k as usize];
                let st = &mut r.work[m as usize];
                if *st != DELETED && *st != settled {
                    *st = DELETED;
                    r.settled += 1;
                }
            }
            _ => {}
        }
    }
}
