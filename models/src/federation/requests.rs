//! A hub request's path, as a management cluster's ([`crate::world`]'s `requests.rs`):
//! its client's token bucket (client-go), API Priority and Fairness on the replica its
//! client's connection is pinned to, the write's processing, etcd's group commit; at the
//! commit its effect lands, then its seats are released, or kept while its watch events
//! go out. A 429 is retried after Retry-After, up to client-go's retries.
//!
//! Left out (docs/model.md, "Federation hub"): APF's queue-wait timeout (a request waits
//! in its queue until it is served); cached reads (Karmada's controllers read from their
//! informers' caches); a request's failure after client-go's retries of 429s (it is sent
//! again, as the controller's next reconcile would write it again).

use sim_core::{Scheduler, SimDuration};

use super::{Event, Hub};
use crate::apiserver::apf::work_estimate;
use crate::apiserver::apf::{Admission, Lingering, Seated};

/// The hub's object kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HubKind {
    Cluster = 0,
    Lease = 1,
    Namespace = 2,
    Template = 3,
    Policy = 4,
    Binding = 5,
    Work = 6,
    Event = 7,
}

impl HubKind {
    pub(crate) const ALL: [HubKind; 8] = [
        HubKind::Cluster,
        HubKind::Lease,
        HubKind::Namespace,
        HubKind::Template,
        HubKind::Policy,
        HubKind::Binding,
        HubKind::Work,
        HubKind::Event,
    ];

    /// The kind's name as the report gives it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            HubKind::Cluster => "Cluster",
            HubKind::Lease => "Lease",
            HubKind::Namespace => "Namespace",
            HubKind::Template => "Template",
            HubKind::Policy => "PropagationPolicy",
            HubKind::Binding => "ResourceBinding",
            HubKind::Work => "Work",
            HubKind::Event => "Event",
        }
    }
}

/// What a write does to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HubVerb {
    Create = 0,
    Update = 1,
    Status = 2,
    Delete = 3,
}

/// etcd's `--max-request-bytes` default (1.5 MiB, `embed.DefaultMaxRequestBytes`): a
/// larger write is refused ("etcdserver: request is too large").
pub(super) const MAX_REQUEST_BYTES: u32 = 3 << 19;

/// The API server's `--event-ttl` (1 h).
const EVENT_TTL: SimDuration = SimDuration::from_hours(1);

impl HubVerb {
    pub(super) const ALL: [HubVerb; 4] = [
        HubVerb::Create,
        HubVerb::Update,
        HubVerb::Status,
        HubVerb::Delete,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            HubVerb::Create => "create",
            HubVerb::Update => "update",
            HubVerb::Status => "status",
            HubVerb::Delete => "delete",
        }
    }
}

/// What a committed write changes beyond the store, and which watcher it wakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Effect {
    None,
    /// Member `.0`'s Cluster was created: the cluster controller reconciles it.
    ClusterCreated(u32),
    /// Member `.0`'s finalizer is on and its execution namespace exists: it has joined.
    ClusterJoined(u32),
    /// Member `.0`'s status was written: the cluster controller reconciles it.
    ClusterStatusWritten(u32),
    /// Member `.0`'s NotReady taint was removed.
    ClusterSchedulable(u32),
    /// Member `.0`'s Lease was renewed (or created), due at `.1` [ns since start].
    LeaseRenewed(u32, u64),
    /// Client `.0`'s leader-election Lease was renewed.
    LeaderLeaseRenewed(u32),
    /// Member `.0`'s Cluster is being deleted: the cluster controller cleans up.
    ClusterDeleting(u32),
    /// Member `.0`'s Cluster is gone.
    ClusterGone(u32),
    /// Resource `.0`'s template was created: the detector reconciles it.
    TemplateCreated(u32),
    /// Resource `.0`'s ResourceBinding was created: the scheduler places it.
    BindingCreated(u32),
    /// Resource `.0`'s binding was placed.
    BindingScheduled(u32),
    /// Work `.0` was created: its execution controller applies it.
    WorkCreated(u32),
    /// Work `.0`'s Dispatching condition was written.
    WorkDispatching(u32),
    /// Work `.0`'s Applied condition was written.
    WorkApplied(u32),
    /// A status change of Work `.0`'s resource was written into it.
    WorkStatusReflected(u32),
}

/// One write a job makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct HubWrite {
    pub(super) kind: HubKind,
    pub(super) verb: HubVerb,
    /// The object's stored size before (0 for a create) and after (0 for a delete)
    /// [bytes].
    pub(super) old: u32,
    pub(super) new: u32,
    pub(super) effect: Effect,
}

/// One step of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// A call to a member's API server.
    Member { member: u32 },
    /// A write to the hub.
    Write(HubWrite),
    /// A GET the API server serves from etcd (the binding-status controller's live read
    /// of the template).
    Read,
    /// A Kubernetes Event, sent by the recorder's goroutine through the same client:
    /// the job does not wait for it.
    Event,
}

/// A request under way: a write, or a read (`write` is `None`).
pub(super) struct HubRequest {
    pub(super) job: Option<u32>,
    pub(super) client: u32,
    pub(super) write: Option<HubWrite>,
    pub(super) attempts: u32,
    pub(super) arrived: sim_core::SimTime,
    pub(super) seated: Option<Seated>,
}

impl Hub {
    /// Sends `write` (none: a read) for `job` through `client`.
    pub(super) fn issue(
        &mut self,
        sched: &mut Scheduler<Event>,
        job: Option<u32>,
        client: u32,
        write: Option<HubWrite>,
    ) {
        let req = self.reqs.insert(HubRequest {
            job,
            client,
            write,
            attempts: 0,
            arrived: sched.now(),
            seated: None,
        });
        self.through_limiter(sched, req);
    }

    /// Sends a write no job waits for: a Lease renewal, a user's command, a status.
    pub(super) fn send(&mut self, sched: &mut Scheduler<Event>, client: u32, step: Step) {
        if let Step::Write(w) = step {
            self.issue(sched, None, client, Some(w));
        }
    }

    /// Records an Event through `client` (it expires an hour later: etcd's lease of the
    /// API server's `--event-ttl`).
    pub(super) fn send_event(&mut self, sched: &mut Scheduler<Event>, client: u32) {
        let size = self.fed.object_sizes.event.0 as u32;
        let w = HubWrite {
            kind: HubKind::Event,
            verb: HubVerb::Create,
            old: 0,
            new: size,
            effect: Effect::None,
        };
        self.issue(sched, None, client, Some(w));
    }

    /// The request waits for its client's token (the user's kubectl is not limited).
    pub(super) fn through_limiter(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let client = self.reqs.get(req).expect("live request").client;
        let wait = self.clients[client as usize].limiter.reserve(now);
        if client == super::CONTROLLER_MANAGER {
            self.figures.cm_limiter_wait.record(wait);
        }
        if wait > SimDuration::ZERO {
            sched.schedule_in(wait, Event::TokenGranted(req));
        } else {
            self.admit(sched, req);
        }
    }

    /// The request reaches its API server: APF dispatches, queues or rejects it. A
    /// write's final seats come from the watches its event reaches (`apf-watcher-seats`):
    /// the controller-manager's informer, and in pull mode the agent of the member whose
    /// execution namespace holds a Work.
    pub(super) fn admit(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let pull = self.pull();
        let r = self.reqs.get_mut(req).expect("live request");
        r.arrived = now;
        let c = &self.clients[r.client as usize];
        let (replica, level) = (c.replica as usize, c.level as usize);
        let lv = &mut self.levels[replica][level];
        let work = match r.write {
            Some(w) => {
                let watchers = 1 + u32::from(pull && w.kind == HubKind::Work);
                work_estimate::mutating(watchers, lv.max_seats())
            }
            None => work_estimate::WorkEstimate::seats(1),
        };
        let mut others = Vec::new();
        let admission = lv.arrive(now, req, &c.hand, work, |q, s| others.push((q, s)));
        match admission {
            Admission::Dispatched(seated) => self.execute(sched, req, seated),
            Admission::Queued(_) => {}
            Admission::Rejected => self.rejected(sched, req),
        }
        for (q, s) in others {
            self.execute(sched, q, s);
        }
    }

    fn rejected(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        self.figures.api_429 += 1;
        let api = &self.cfg.kube_apiserver;
        let (max, after) = (api.client_max_retries, api.retry_after.0);
        let now = sched.now();
        let r = self.reqs.get_mut(req).expect("live request");
        let (write, latency) = (r.write.is_some(), now - r.arrived);
        r.attempts += 1;
        if r.attempts > max {
            // client-go gives up: the controller's reconcile errs, and its next sync
            // writes again; the request is sent once more after the wait.
            r.attempts = 0;
        }
        self.figures.api_latency(write, latency);
        sched.schedule_in(
            SimDuration::from_secs_f64(after),
            Event::RetryAfterElapsed(req),
        );
    }

    /// Seated: the API server processes the write (the management cluster's processing
    /// time and CPU per write, and its watch fan-out).
    pub(super) fn execute(&mut self, sched: &mut Scheduler<Event>, req: u32, seated: Seated) {
        let pull = self.pull();
        let r = self.reqs.get_mut(req).expect("live request");
        r.seated = Some(seated);
        let replica = self.clients[r.client as usize].replica as usize;
        let api = &self.cfg.kube_apiserver;
        let cpu = if r.write.is_some() {
            let d = api.write_processing.sample_duration(&mut self.rng_api);
            // The watches its event reaches, as APF counts them (`admit`).
            let agent = pull && r.write.is_some_and(|w| w.kind == HubKind::Work);
            let watchers = if agent { 2.0 } else { 1.0 };
            let cpu = api.write_cpu.sample(&mut self.rng_api) + api.watch_event_cpu * watchers;
            sched.schedule_in(d, Event::RequestProcessed(req));
            cpu
        } else {
            let d = api.read_processing.sample_duration(&mut self.rng_api);
            sched.schedule_in(d, Event::RequestProcessed(req));
            d.as_secs_f64() * api.read_cpu_fraction
        };
        self.api_cpu[replica] += cpu;
    }

    /// Processed: a write joins etcd's next batch; a read is answered.
    pub(super) fn processed(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        if self.reqs.get(req).expect("live request").write.is_none() {
            let r = self.reqs.remove(req).expect("live request");
            self.answered(sched, r);
            return;
        }
        if let Some(d) = self
            .etcd
            .submit(req, now, &self.etcd_cfg, &mut self.rng_etcd)
        {
            sched.schedule_in(d, Event::EtcdBatchCommitted);
        }
    }

    pub(super) fn batch_committed(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let mut batch = Vec::new();
        let next = self
            .etcd
            .batch_committed(now, &self.etcd_cfg, &mut self.rng_etcd, |r| batch.push(r));
        if let Some(d) = next {
            sched.schedule_in(d, Event::EtcdBatchCommitted);
        }
        for req in batch {
            self.commit(sched, req);
        }
    }

    /// The write is stored (or refused under NOSPACE); its effect lands, then its
    /// answer goes back.
    fn commit(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let r = self.reqs.remove(req).expect("live request");
        let w = r.write.expect("a write");
        if w.new > MAX_REQUEST_BYTES {
            self.figures.oversized_writes += 1;
            self.refused(sched, w.effect);
            self.answered(sched, r);
            return;
        }
        if self.work_refused(&w) {
            self.answered(sched, r);
            return;
        }
        let stored = match w.verb {
            HubVerb::Delete => {
                self.store.delete(now, u64::from(w.old));
                Ok(())
            }
            HubVerb::Create => self.store.put(now, None, u64::from(w.new)),
            HubVerb::Update | HubVerb::Status => {
                self.store
                    .put(now, Some(u64::from(w.old)), u64::from(w.new))
            }
        };
        let k = w.kind as usize;
        match stored {
            Err(_) => {
                self.figures.nospace_at_s.get_or_insert(now.as_secs_f64());
                self.refused(sched, w.effect);
            }
            Ok(()) => {
                let f = &mut self.figures;
                match w.verb {
                    HubVerb::Create => {
                        f.live[k] += 1;
                        f.live_peak[k] = f.live_peak[k].max(f.live[k]);
                        if w.kind == HubKind::Event {
                            self.event_expiry.push_back(now + EVENT_TTL);
                        }
                    }
                    HubVerb::Delete => f.live[k] = f.live[k].saturating_sub(1),
                    HubVerb::Update | HubVerb::Status => {}
                }
                f.writes[k][w.verb as usize] += 1;
                self.effect(sched, w.effect);
            }
        }
        self.answered(sched, r);
    }

    /// The API server answered: the request's seats go back (or stay for its watch
    /// events), and its job goes on.
    fn answered(&mut self, sched: &mut Scheduler<Event>, r: HubRequest) {
        self.figures
            .api_latency(r.write.is_some(), sched.now() - r.arrived);
        if let Some(seated) = r.seated {
            let c = &self.clients[r.client as usize];
            let (replica, level) = (c.replica as usize, c.level as usize);
            self.release(sched, replica, level, seated);
        }
        if let Some(job) = r.job {
            self.next_step(sched, job);
        }
    }

    /// Events older than their TTL expire (etcd deletes them with their lease).
    pub(super) fn expire_events(&mut self, now: sim_core::SimTime) {
        let size = self.fed.object_sizes.event.0;
        while self.event_expiry.front().is_some_and(|&at| at <= now) {
            self.event_expiry.pop_front();
            self.store.delete(now, size);
            let k = HubKind::Event as usize;
            self.figures.live[k] = self.figures.live[k].saturating_sub(1);
        }
    }

    fn release(
        &mut self,
        sched: &mut Scheduler<Event>,
        replica: usize,
        level: usize,
        seated: Seated,
    ) {
        let now = sched.now();
        let mut dispatched = Vec::new();
        let lingering =
            self.levels[replica][level].release(now, seated, |q, s| dispatched.push((q, s)));
        if let Some(Lingering {
            queue,
            seats,
            after,
        }) = lingering
        {
            sched.schedule_in(
                after,
                Event::ApfFinalSeatsElapsed {
                    replica: replica as u8,
                    level: level as u8,
                    queue: queue.unwrap_or(u32::MAX),
                    seats,
                },
            );
        }
        for (q, s) in dispatched {
            self.execute(sched, q, s);
        }
    }

    pub(super) fn final_seats(
        &mut self,
        sched: &mut Scheduler<Event>,
        replica: u8,
        level: u8,
        queue: u32,
        seats: u32,
    ) {
        let lingering = Lingering {
            queue: (queue != u32::MAX).then_some(queue),
            seats,
            after: SimDuration::ZERO,
        };
        let mut dispatched = Vec::new();
        self.levels[replica as usize][level as usize].release_lingering(
            sched.now(),
            lingering,
            |q, s| dispatched.push((q, s)),
        );
        for (q, s) in dispatched {
            self.execute(sched, q, s);
        }
    }

    pub(super) fn borrowing_due(&mut self, sched: &mut Scheduler<Event>) {
        sched.schedule_in(
            crate::apiserver::apf::borrowing::ADJUSTMENT_PERIOD,
            Event::ApfBorrowingDue,
        );
        let mut dispatched = Vec::new();
        for l in &mut self.levels {
            l.adjust(sched.now(), |_, q, s| dispatched.push((q, s)));
        }
        for (q, s) in dispatched {
            self.execute(sched, q, s);
        }
    }
}
