//! An API request's path: the manager's client-side token bucket (client-go), API
//! Priority and Fairness on the API server replica its connection is pinned to (its work
//! estimated as the API server estimates it), the request's processing, and for a write
//! etcd's group commit ([`super::commits`]); then its answer goes back to the reconcile
//! that sent it, and its seats are released, or kept for its watch events' additional
//! latency. 429s are retried after Retry-After, up to client-go's retries.

use sim_core::{EventId, Scheduler, SimDuration, SimTime};

use super::attribution::{Owner, Resource, Service};
use super::{Event, LEVEL_GLOBAL_DEFAULT, LEVEL_WORKLOAD_LOW, USER, USER_RETRY_S, World};
use crate::apiserver::apf::borrowing::ADJUSTMENT_PERIOD;
use crate::apiserver::apf::work_estimate::{self, WorkEstimate};
use crate::apiserver::apf::{Admission, Lingering, Seated};
use crate::kinds::ObjKind;
use crate::recipe::{Effect, Target, Verb, Write};

/// What a request asks of the API server.
#[derive(Clone, Copy, Debug)]
pub(super) enum Op {
    Write(Write),
    /// A GET served from etcd (the Lease read before a renewal).
    Read,
    /// A LIST of every object of a kind (a relist after a restart), returning `objects`.
    List {
        kind: ObjKind,
        objects: u32,
    },
    /// A reconcile's GET of a Secret or ConfigMap, which its manager does not cache:
    /// through its limiter; the API server's quorum read from etcd is part of its
    /// `read-processing` time.
    GetUncached,
    /// A reconcile's LIST through the API reader (uncached), returning `objects`.
    ListUncached {
        kind: ObjKind,
        objects: u32,
    },
    /// A dry-run server-side apply: a PATCH the API server admits and processes, and
    /// etcd never sees.
    DryRun,
    /// A Lease renewal.
    LeaseUpdate,
    /// A Kubernetes Event create.
    EventCreate,
    /// A Kubernetes Event count patch (a repeat).
    EventPatch,
}

pub(super) struct Request {
    pub(super) rec: Option<u32>,
    pub(super) manager: u8,
    pub(super) op: Op,
    pub(super) owner: Owner,
    pub(super) level: u8,
    pub(super) replica: u8,
    pub(super) attempts: u32,
    /// When this attempt reached the API server.
    pub(super) arrived: SimTime,
    /// When this attempt started waiting (for its token, or its Retry-After).
    pub(super) waiting_since: SimTime,
    pub(super) apf_queue: u32,
    pub(super) timeout: Option<EventId>,
    /// The APF seats it holds while it executes.
    pub(super) seated: Option<Seated>,
    /// When it reached etcd's leader.
    pub(super) etcd_at: SimTime,
    /// The epoch of the manager process that sent it.
    pub(super) epoch: u32,
    /// Processing left after its CPU work on its node (when nodes share their CPU).
    pub(super) after_cpu: SimDuration,
    /// Its answer, scheduled while its CPU thread runs direct on its node (read only then,
    /// to cancel it if the thread comes to share its node; stale once the thread ended).
    pub(super) direct_end: Option<EventId>,
}

impl World {
    pub(super) fn issue(
        &mut self,
        sched: &mut Scheduler<Event>,
        rec: Option<u32>,
        manager: u8,
        op: Op,
        owner: Owner,
    ) {
        let now = sched.now();
        // The CAPI and CAPX service accounts match the `service-accounts` FlowSchema, so
        // their Lease traffic shares workload-low with their other requests (only
        // kube-system users reach the leader-election level).
        let (level, replica) = match op {
            _ if manager == USER => {
                // The load balancer sends the user's commands to a replica that serves.
                let n = self.apiservers.len() as u8;
                let mut r = self.next_user_replica;
                for _ in 0..n {
                    if self.apiservers[r as usize].up {
                        break;
                    }
                    r = (r + 1) % n;
                }
                self.next_user_replica = (r + 1) % n;
                (LEVEL_GLOBAL_DEFAULT, r)
            }
            _ => (LEVEL_WORKLOAD_LOW, self.managers[manager as usize].replica),
        };
        let req = self.reqs.insert(Request {
            rec,
            manager,
            op,
            owner,
            level,
            replica,
            attempts: 0,
            arrived: now,
            waiting_since: now,
            apf_queue: 0,
            timeout: None,
            seated: None,
            etcd_at: now,
            after_cpu: SimDuration::ZERO,
            direct_end: None,
            epoch: if manager == USER {
                0
            } else {
                self.managers[manager as usize].epoch
            },
        });
        self.through_limiter(sched, req);
    }

    pub(super) fn through_limiter(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let r = self.reqs.get_mut(req).expect("live request");
        r.waiting_since = now;
        // The manager's own clients share its bucket; Events go through the recorder's
        // own client (not modelled) and the user's kubectl is not limited here.
        let limited = r.manager != USER
            && !matches!(
                r.op,
                Op::EventCreate | Op::EventPatch | Op::LeaseUpdate | Op::Read
            );
        let wait = if limited {
            self.managers[r.manager as usize].limiter.reserve(now)
        } else {
            SimDuration::ZERO
        };
        if wait > SimDuration::ZERO {
            let m = &mut self.managers[r.manager as usize];
            m.limiter_wait.record(wait);
            m.limiter_wait_total += wait.as_secs_f64();
            let (owner, rec) = (r.owner, r.rec);
            self.wait(owner, Resource::RateLimiter, wait);
            if let Some(rec) = rec {
                self.set_activity(now, rec, Resource::RateLimiter);
                let c = self.recs.get(rec).expect("live reconcile").ci;
                self.ctrls[c].limiter_wait += wait.as_secs_f64();
            }
            sched.schedule_in(wait, Event::TokenGranted(req));
        } else {
            if limited {
                self.managers[r.manager as usize]
                    .limiter_wait
                    .record(SimDuration::ZERO);
            }
            self.admit(sched, req);
        }
    }

    pub(super) fn admit(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let replica = self.reqs.get(req).expect("live request").replica as usize;
        if !self.apiservers[replica].up {
            // Connection refused: the replica is restarting after an OOM kill.
            self.fail_request(sched, req);
            return;
        }
        let now = sched.now();
        let r = self.reqs.get_mut(req).expect("live request");
        r.arrived = now;
        let (replica, level) = (r.replica as usize, r.level as usize);
        let work = self.work_estimate(req);
        let r = self.reqs.get(req).expect("live request");
        let hand: &[u32] = if r.manager == USER || level != LEVEL_WORKLOAD_LOW as usize {
            &[0, 1, 2, 3]
        } else {
            &self.managers[r.manager as usize].hand
        };
        let mut others = Vec::new();
        let admission =
            self.apiservers[replica].levels[level]
                .arrive(now, req, hand, work, |q, s| others.push((q, s)));
        match admission {
            Admission::Dispatched(seated) => self.execute(sched, req, seated),
            Admission::Queued(q) => {
                let id = sched.schedule_in(self.queue_wait_limit, Event::ApfQueueTimedOut(req));
                let r = self.reqs.get_mut(req).expect("live request");
                r.apf_queue = q;
                r.timeout = Some(id);
                if let Some(rec) = r.rec {
                    self.set_activity(now, rec, Resource::ApfQueue);
                }
            }
            Admission::Rejected => self.rejected(sched, req),
        }
        for (q, s) in others {
            self.execute(sched, q, s);
        }
    }

    /// The request's work as its API server estimates it on arrival: a LIST's seats
    /// from its resource's stored objects, a write's final seats from the watches of its
    /// replica that its event reaches, each capped by the level's max seats
    /// (`apf-list-stored-count`, `apf-watcher-seats`); otherwise one seat, or one per
    /// 100 objects returned for a LIST, up to 10.
    fn work_estimate(&self, req: u32) -> WorkEstimate {
        let r = self.reqs.get(req).expect("live request");
        let api = &self.cfg.kube_apiserver;
        let level = &self.apiservers[r.replica as usize].levels[r.level as usize];
        let max_seats = level.max_seats();
        match r.op {
            Op::List { kind, objects } | Op::ListUncached { kind, objects } => {
                if api.apf_list_stored_count {
                    work_estimate::list(self.count_by_kind[kind.index()], max_seats)
                } else {
                    WorkEstimate::seats(objects.div_ceil(100).clamp(1, 10))
                }
            }
            Op::Write(w) if api.apf_watcher_seats => {
                let watches = self.watches_on(r.replica as usize, w.kind, w.target);
                work_estimate::mutating(watches, max_seats)
            }
            // Leases and Events have no watches here; a dry-run's kind is not tracked.
            _ => WorkEstimate::seats(1),
        }
    }

    /// Watches on API server `replica` that a change of a `kind` object of `target`
    /// reaches (its watch tracker's count): the informers of the running manager
    /// instances pinned to it whose shard holds the object.
    fn watches_on(&self, replica: usize, kind: ObjKind, target: Target) -> u32 {
        let c = match target {
            Target::Cluster(c) => c,
            Target::Machine(m) => self.machines[m as usize].cluster,
        };
        (0..self.managers.len())
            .filter(|&mi| {
                let m = &self.managers[mi];
                m.up && m.replica as usize == replica && self.in_shard(mi, c)
            })
            .map(|mi| {
                let informers = self.informer_kinds(self.managers[mi].kind);
                informers.filter(|&k| k == kind).count() as u32
            })
            .sum()
    }

    pub(super) fn rejected(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        self.metrics.api_429 += 1;
        let r = self.reqs.get(req).expect("live request");
        let (op, latency) = (r.op, sched.now() - r.arrived);
        self.record_latency(op, latency);
        let max = self.cfg.kube_apiserver.client_max_retries;
        let r = self.reqs.get_mut(req).expect("live request");
        r.attempts += 1;
        if r.attempts > max {
            self.fail_request(sched, req);
        } else {
            r.waiting_since = sched.now();
            let rec = r.rec;
            let d = SimDuration::from_secs_f64(self.cfg.kube_apiserver.retry_after.0);
            sched.schedule_in(d, Event::RetryAfterElapsed(req));
            if let Some(rec) = rec {
                self.set_activity(sched.now(), rec, Resource::ApfQueue);
            }
        }
    }

    pub(super) fn execute(&mut self, sched: &mut Scheduler<Event>, req: u32, seated: Seated) {
        let now = sched.now();
        let r = self.reqs.get_mut(req).expect("live request");
        if let Some(id) = r.timeout.take() {
            sched.cancel(id);
        }
        r.seated = Some(seated);
        let (owner, waited, rec, op) = (r.owner, now - r.arrived, r.rec, r.op);
        let replica = r.replica as usize;
        if let Some(rec) = rec {
            self.set_activity(now, rec, Resource::Workqueue);
        }
        let api = &self.cfg.kube_apiserver;
        let (d, cpu) = match op {
            Op::Write(_) | Op::LeaseUpdate | Op::EventCreate | Op::EventPatch | Op::DryRun => (
                api.write_processing.sample_duration(&mut self.rng_api),
                api.write_cpu.sample(&mut self.rng_api),
            ),
            Op::Read | Op::GetUncached => {
                let d = api.read_processing.sample_duration(&mut self.rng_api);
                (d, d.as_secs_f64() * api.read_cpu_fraction)
            }
            Op::List { kind, objects } | Op::ListUncached { kind, objects } => {
                let object_bytes = self.cfg.costs.object_size.of(kind) as u32;
                let cpu = api.list_cpu_per_object * f64::from(objects);
                self.list_response_held(replica, objects, object_bytes, 1.0);
                self.node_memory_check(sched, replica);
                (SimDuration::from_secs_f64(cpu), cpu)
            }
        };
        self.metrics.service[Service::ApiServer as usize] += d.as_secs_f64();
        self.wait(owner, Resource::ApfQueue, waited);
        if self.nodes.is_some() {
            // Its CPU is work on the node, shared with everything else there; the rest of
            // its processing (webhooks, waits) follows. On an idle node it takes `d`, as
            // without sharing: its CPU is part of its processing time.
            let work = SimDuration::from_secs_f64(cpu).min(d);
            self.apiservers[replica].cpu_seconds += work.as_secs_f64();
            self.reqs.get_mut(req).expect("live request").after_cpu = d.saturating_sub(work);
            self.api_cpu(sched, replica, work, req);
        } else {
            self.apiservers[replica].cpu_seconds += cpu;
            sched.schedule_in(d, Event::RequestProcessed(req));
        }
    }

    pub(super) fn record_latency(&mut self, op: Op, latency: SimDuration) {
        let verb = match op {
            Op::Write(w) => super::alerts::write_verb(w.verb),
            Op::Read | Op::GetUncached => 0,
            Op::List { .. } | Op::ListUncached { .. } => 1,
            Op::EventCreate => 2,
            Op::LeaseUpdate => 3,
            Op::DryRun | Op::EventPatch => 4,
        };
        self.alerts.api_answered(verb, latency);
        match op {
            Op::Read | Op::GetUncached | Op::List { .. } | Op::ListUncached { .. } => {
                self.metrics.api_readonly.record(latency)
            }
            _ => self.metrics.api_mutating.record(latency),
        }
    }

    /// The API server answered: releases the request's seats (dispatching what now
    /// fits) and hands the answer to its reconcile.
    pub(super) fn complete(&mut self, sched: &mut Scheduler<Event>, req: u32, ok: bool) {
        let now = sched.now();
        let r = self.reqs.remove(req).expect("live request");
        self.record_latency(r.op, now - r.arrived);
        if !ok {
            self.metrics.api_failed += 1;
        }
        if let (true, Op::List { kind, objects } | Op::ListUncached { kind, objects }) =
            (r.seated.is_some(), r.op)
        {
            let object_bytes = self.cfg.costs.object_size.of(kind) as u32;
            self.list_response_held(r.replica as usize, objects, object_bytes, -1.0);
        }
        if let Some(seated) = r.seated {
            let (replica, level) = (r.replica as usize, r.level as usize);
            let mut dispatched = Vec::new();
            let lingering = self.apiservers[replica].levels[level]
                .release(now, seated, |q, s| dispatched.push((q, s)));
            if let Some(Lingering {
                queue,
                seats,
                after,
            }) = lingering
            {
                let (replica, level) = (replica as u8, level as u8);
                let queue = queue.unwrap_or(u32::MAX);
                let e = Event::ApfFinalSeatsElapsed {
                    replica,
                    level,
                    queue,
                    seats,
                };
                sched.schedule_in(after, e);
            }
            for (q, s) in dispatched {
                self.execute(sched, q, s);
            }
        }
        if let Op::List { .. } = r.op
            && r.manager != USER
            && r.epoch == self.managers[r.manager as usize].epoch
        {
            let mg = &mut self.managers[r.manager as usize];
            mg.lists_pending = mg.lists_pending.saturating_sub(1);
            if mg.lists_pending == 0 {
                let m = r.manager as usize;
                for c in 0..self.ctrls.len() {
                    if self.ctrls[c].mi == m {
                        self.dispatch(sched, c);
                    }
                }
            }
        }
        if let Op::LeaseUpdate = r.op
            && r.manager != USER
            && r.epoch == self.managers[r.manager as usize].epoch
        {
            self.lease_answered(sched, r.manager as usize, ok);
        }
        if let Some(rec) = r.rec {
            let read = matches!(r.op, Op::GetUncached | Op::ListUncached { .. } | Op::DryRun);
            self.request_done(sched, rec, ok, read);
        }
        if let (true, USER, Op::Write(w)) = (ok, r.manager, r.op)
            && w.verb == Verb::Delete
            && w.effect == Effect::None
        {
            self.gc_pending -= 1; // the garbage collector's delete is done
        }
        // The user's own commands (create, scale, upgrade, delete a Cluster) that failed
        // after the client's retries are run again a little later, as a script would; so
        // are the garbage collector's deletes, which its workqueue retries.
        if let (false, USER, Op::Write(w)) = (ok, r.manager, r.op)
            && (matches!(
                w.effect,
                Effect::ClusterCreated
                    | Effect::NcCreated
                    | Effect::KcpCreated
                    | Effect::CpTemplateCreated
                    | Effect::MdCreated
                    | Effect::MdTemplateCreated
                    | Effect::MhcCreated
                    | Effect::MdReplicas { .. }
                    | Effect::KcpVersion { .. }
                    | Effect::MdVersion { .. }
                    | Effect::TopologyWorkers { .. }
                    | Effect::ClusterVersion { .. }
                    | Effect::ClusterDeleting
            ) || (w.verb == Verb::Delete && w.effect == Effect::None))
        {
            self.user_retries.push(w);
            let i = (self.user_retries.len() - 1) as u32;
            sched.schedule_in(SimDuration::from_secs(USER_RETRY_S), Event::UserRetry(i));
        }
    }

    /// The request failed for good: retries exhausted, or etcd refused it.
    pub(super) fn fail_request(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        self.complete(sched, req, false);
    }

    /// Whether the process that sent `req` has been killed since (its pending requests
    /// are never sent).
    pub(super) fn sender_dead(&self, req: u32) -> bool {
        let r = self.reqs.get(req).expect("live request");
        r.manager != USER && r.epoch != self.managers[r.manager as usize].epoch
    }

    pub(super) fn request_done(
        &mut self,
        sched: &mut Scheduler<Event>,
        rec: u32,
        ok: bool,
        read: bool,
    ) {
        let Some(r) = self.recs.get_mut(rec) else {
            return;
        };
        if r.epoch != self.managers[r.mi].epoch {
            self.drop_orphan(rec);
            return;
        }
        if ok && read {
            self.set_activity(sched.now(), rec, Resource::Workqueue);
            self.reads_then_work(sched, rec);
        } else if ok {
            r.next_write += 1;
            self.set_activity(sched.now(), rec, Resource::Workqueue);
            self.next_write(sched, rec);
        } else {
            // The request failed: the reconcile returns the error.
            r.failed = true;
            self.finish(sched, rec);
        }
    }

    /// The request's rate-limiter token is due: on to APF, unless its sender died.
    pub(super) fn token_granted(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        if self.sender_dead(req) {
            self.reqs.remove(req);
        } else {
            self.admit(sched, req);
        }
    }

    /// The request waited in its APF queue longer than the queue-wait limit: a 429.
    pub(super) fn apf_queue_timed_out(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let r = self.reqs.get(req).expect("queued request");
        let (replica, level, q) = (r.replica as usize, r.level as usize, r.apf_queue);
        let owner = r.owner;
        let mut unblocked = Vec::new();
        let level = &mut self.apiservers[replica].levels[level];
        if level.time_out(now, q, req, |d, s| unblocked.push((d, s))) {
            self.wait(owner, Resource::ApfQueue, self.queue_wait_limit);
            self.reqs.get_mut(req).expect("live").timeout = None;
            self.rejected(sched, req);
        }
        for (d, s) in unblocked {
            self.execute(sched, d, s);
        }
    }

    /// A finished write's additional latency is over: its final seats are free.
    pub(super) fn apf_final_seats_elapsed(
        &mut self,
        sched: &mut Scheduler<Event>,
        (replica, level): (u8, u8),
        lingering: Lingering,
    ) {
        let mut dispatched = Vec::new();
        self.apiservers[replica as usize].levels[level as usize].release_lingering(
            sched.now(),
            lingering,
            |q, s| dispatched.push((q, s)),
        );
        for (q, s) in dispatched {
            self.execute(sched, q, s);
        }
    }

    /// The borrowing adjustment period ended: every replica divides its seats among its
    /// levels again, and what the new limits let go executes.
    pub(super) fn apf_borrowing_due(&mut self, sched: &mut Scheduler<Event>) {
        sched.schedule_in(ADJUSTMENT_PERIOD, Event::ApfBorrowingDue);
        let mut dispatched = Vec::new();
        for a in &mut self.apiservers {
            a.levels
                .adjust(sched.now(), |_, q, s| dispatched.push((q, s)));
        }
        for (q, s) in dispatched {
            self.execute(sched, q, s);
        }
    }

    /// Retry-After of a 429 elapsed: the client sends the request again.
    pub(super) fn retry_after_elapsed(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        if self.sender_dead(req) {
            self.reqs.remove(req);
            return;
        }
        let now = sched.now();
        let r = self.reqs.get(req).expect("live request");
        let owner = r.owner;
        self.wait(owner, Resource::ApfQueue, now - r.waiting_since);
        self.through_limiter(sched, req);
    }
}
