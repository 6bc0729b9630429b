//! The federation hub of the guide's Extreme tier: a Karmada control plane above the
//! management clusters, simulated request by request like a management cluster.
//!
//! Its parts, each Karmada v1.19's (docs/model.md, "Federation hub", cites the source of
//! each mechanism and default):
//! - **karmada-apiserver** replicas with API Priority and Fairness, and **karmada-etcd**'s
//!   group commit and size: the management cluster's models ([`crate::apiserver`],
//!   [`crate::etcd`]) with the hub's replicas, seats, disk and quota;
//! - **karmada-controller-manager**: one client (`--kube-api-qps/-burst`) shared by its
//!   cluster controller (execution namespace, finalizer, unjoin clean-up), its resource
//!   detector (template → ResourceBinding), binding controller (binding → a Work per
//!   target member), binding-status controller (Work statuses → the binding's), and in
//!   push mode its cluster-status controller (its probes are a push member's heartbeat:
//!   push members have no Lease) and the execution and work-status controllers, with one
//!   member client each (`--cluster-api-qps/-burst`); its leader-election Lease;
//! - **karmada-scheduler**: places each ResourceBinding on its members;
//! - **karmada-agent** (pull mode): one per member, its own client to the hub, renewing
//!   its member's Lease and its own leader-election Lease, writing its status, applying
//!   the Works of its member's execution namespace and writing their status back.
//!
//! Members join when their workload cluster becomes ready in any management cluster and
//! leave when its deletion starts; the management clusters' runs give those times
//! ([`HubInput`]). The hub does not act back on the management clusters: Karmada talks
//! to the members' API servers, which capsim does not simulate (their latency is a knob).

mod members;
mod propagation;
pub mod report;
mod requests;

use sim_core::{SimError, Simulation};

pub use report::HubReport;
use sim_core::stats::LatencyHistogram;
use sim_core::{Model, RngStreams, Scheduler, SimDuration, SimRng, SimTime, StreamId};

use crate::apiserver::apf::{self, PriorityLevels};
use crate::apiserver::client_limiter::{ClientLimiter, ClientRateLimit};
use crate::controllers::workqueue::{Priority, WorkQueue, WorkQueueConfig};
use crate::etcd::{EtcdConfig, EtcdStore, GroupCommit};
use crate::scenario::config::{ModelConfig, Qps, QueueKind};
use crate::scenario::federation::{FederationSettings, SyncMode};
use crate::world::slab::Slab;
use members::Member;
use propagation::Resource;
use requests::{HubKind, HubRequest, Step};

/// A member's time in the fleet, from the management clusters' run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemberSpan {
    /// When its workload cluster became ready, from the start of the run [s].
    pub ready_s: f64,
    /// When its deletion started, if it did [s].
    pub leave_s: Option<f64>,
}

/// A `propagate` operation: `resources` templates with a PropagationPolicy placing each
/// on `fraction` of the members joined by then.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Propagation {
    /// When the user applies them, from the start of the run [s].
    pub at_s: f64,
    /// Resource templates [count].
    pub resources: u32,
    /// Share of the joined members each is placed on, in (0, 1].
    pub fraction: f64,
}

/// What the hub is fed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HubInput {
    /// Every workload cluster that became ready.
    pub members: Vec<MemberSpan>,
    /// The workload's `propagate` operations.
    pub propagations: Vec<Propagation>,
    /// When the management clusters' run ended [s]: the hub runs as long, and on until
    /// its propagations have reached every target.
    pub until_s: f64,
}

/// Events one hub run may handle before it is stopped as a runaway.
const STEP_BUDGET: u64 = 2_000_000_000;

/// Simulates the hub of `cfg.federation` over `input`, drawing from `streams`.
pub fn simulate(
    cfg: &ModelConfig,
    input: &HubInput,
    streams: &RngStreams,
) -> Result<HubReport, SimError> {
    let world = Hub::new(cfg, input, streams);
    let mut sim = Simulation::new(world).with_step_budget(STEP_BUDGET);
    {
        let (w, s) = sim.parts_mut();
        w.start(s, input);
    }
    let until = SimTime::ZERO + SimDuration::from_secs_f64(input.until_s.max(0.0));
    sim.run_until(until)?;
    // Propagations still under way run on (heartbeats go on meanwhile), at most a day,
    // and at most 30 minutes after a NOSPACE alarm (as a management cluster's run).
    let limit = until + SimDuration::from_hours(24);
    let after_alarm = |h: &Hub, now: SimTime| {
        h.figures
            .nospace_at_s
            .is_some_and(|t| SimTime::ZERO + SimDuration::from_secs_f64(t + 1800.0) <= now)
    };
    while !sim.model().propagations_done()
        && sim.now() < limit
        && !after_alarm(sim.model(), sim.now())
    {
        let next = sim.now() + SimDuration::from_secs(60);
        sim.run_until(next)?;
    }
    let now = sim.now();
    let steps = sim.steps();
    Ok(sim.into_model().report(now, steps))
}

/// The hub's events: past-tense facts.
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
enum Event {
    /// Member `.0`'s workload cluster became ready: it is registered.
    MemberReady(u32),
    /// Member `.0`'s workload cluster's deletion started: it is unjoined.
    MemberLeaving(u32),
    /// Member `.0`'s Lease renewal is due.
    LeaseDue(u32),
    /// Member `.0`'s status collection is due.
    StatusDue(u32),
    /// Client `.0`'s leader-election Lease renewal is due.
    LeaderLeaseDue(u32),
    /// Propagation `.0` of the workload is applied by the user.
    PropagationApplied(u16),
    /// A request's rate-limiter token is due.
    TokenGranted(u32),
    /// Retry-After of a 429 elapsed.
    RetryAfterElapsed(u32),
    /// The API server finished processing a request.
    RequestProcessed(u32),
    /// A finished write's watch events are sent: its seats are free.
    ApfFinalSeatsElapsed {
        replica: u8,
        level: u8,
        queue: u32,
        seats: u32,
    },
    /// APF's borrowing adjustment period elapsed.
    ApfBorrowingDue,
    /// etcd committed the batch in flight.
    EtcdBatchCommitted,
    /// A job with nothing to do is finished.
    JobFinished(u32),
    /// A job's call to a member's API server got its client's token.
    MemberTokenGranted(u32),
    /// A job's call to a member's API server answered.
    MemberCallAnswered(u32),
    /// Work `.0`'s resource changed status on its member.
    MemberStatusChanged(u32),
    /// The API server's compaction of etcd runs.
    CompactionDue,
    /// Figures are sampled.
    SampleDue,
}

/// Who sends a request: its client-side bucket, replica and APF flow.
struct Client {
    limiter: ClientLimiter,
    replica: u8,
    level: u8,
    hand: Vec<u32>,
    /// Its leader-election Lease exists.
    leader_lease: bool,
}

/// Client numbers: the user, karmada-controller-manager, karmada-scheduler, then one
/// agent per member.
const USER: u32 = 0;
const CONTROLLER_MANAGER: u32 = 1;
const SCHEDULER: u32 = 2;
const FIRST_AGENT: u32 = 3;

/// APF levels ([`apf::default_levels`] order): service accounts match `workload-low`;
/// the user and the agents (certificate users outside kube-system) `global-default`.
const LEVEL_WORKLOAD_LOW: u8 = 4;
const LEVEL_GLOBAL_DEFAULT: u8 = 5;

/// The hub's controllers with a workqueue on the controller-manager or scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CtrlId {
    /// Cluster controller: a member's execution namespace, finalizer and clean-up.
    Cluster = 0,
    /// Cluster-status controller (push mode): collects each member's status.
    ClusterStatus = 1,
    /// Resource detector: a template matched by a policy gets its ResourceBinding.
    Detector = 2,
    /// karmada-scheduler: places a binding on its members.
    Scheduler = 3,
    /// Binding controller: a Work per target member.
    Binding = 4,
    /// Execution controller (push mode): applies a Work to its member.
    Execution = 5,
    /// Binding-status controller: aggregates the Works' statuses into the binding's.
    BindingStatus = 6,
}

impl CtrlId {
    const ALL: [CtrlId; 7] = [
        CtrlId::Cluster,
        CtrlId::ClusterStatus,
        CtrlId::Detector,
        CtrlId::Scheduler,
        CtrlId::Binding,
        CtrlId::Execution,
        CtrlId::BindingStatus,
    ];

    /// The name the report gives.
    fn name(self) -> &'static str {
        match self {
            CtrlId::Cluster => "cluster",
            CtrlId::ClusterStatus => "cluster-status",
            CtrlId::Detector => "resource-detector",
            CtrlId::Scheduler => "scheduler",
            CtrlId::Binding => "binding",
            CtrlId::Execution => "execution",
            CtrlId::BindingStatus => "binding-status",
        }
    }
}

/// Who runs a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runner {
    /// A controller of the controller-manager or the scheduler.
    Ctrl(CtrlId),
    /// Member `.0`'s agent (pull mode): its status collection (`key` = member) or its
    /// execution controller (`key` = resource).
    AgentStatus(u32),
    AgentExecution(u32),
}

/// A controller: its workqueue and workers.
struct Ctrl {
    queue: WorkQueue,
    workers: u32,
    busy: u32,
    /// Reconciles finished [count].
    reconciles: u64,
    /// Reconcile durations.
    duration: LatencyHistogram,
}

impl Ctrl {
    fn new(workers: u32) -> Self {
        Ctrl {
            queue: WorkQueue::new(WorkQueueConfig::default_for(QueueKind::Legacy), 100.0),
            workers,
            busy: 0,
            reconciles: 0,
            duration: LatencyHistogram::new(),
        }
    }
}

/// A reconcile under way: its steps, one after another.
struct Job {
    runner: Runner,
    key: u32,
    steps: Vec<Step>,
    next: usize,
    started: SimTime,
}

/// The simulated hub.
struct Hub {
    fed: FederationSettings,
    cfg: ModelConfig,
    etcd_cfg: EtcdConfig,
    clients: Vec<Client>,
    /// Each member's client to its API server: the controller-manager's (push) or its
    /// agent's (pull).
    member_limiters: Vec<ClientLimiter>,
    ctrls: Vec<Ctrl>,
    /// Pull mode: each member's agent execution controller, made at its first Work.
    agent_exec: Vec<Option<Box<Ctrl>>>,
    jobs: Slab<Job>,
    reqs: Slab<HubRequest>,
    levels: Vec<PriorityLevels<u32>>,
    /// API server CPU per replica [s].
    api_cpu: Vec<f64>,
    etcd: GroupCommit<u32>,
    store: EtcdStore,
    members: Vec<Member>,
    propagations: Vec<Propagation>,
    resources: Vec<Resource>,
    rng_api: SimRng,
    rng_etcd: SimRng,
    rng_member: SimRng,
    rng_status: SimRng,
    rng_jitter: SimRng,
    figures: Figures,
    /// Each API server's CPU seconds and the controllers' at the last sample.
    last_api_cpu: Vec<f64>,
    last_ctrl_cpu: f64,
    /// When each Event expires, oldest first.
    event_expiry: std::collections::VecDeque<SimTime>,
    /// The revision the API server's next compaction compacts to.
    compaction_mark: SimTime,
}

/// What the hub counts and measures as it runs.
#[derive(Default)]
struct Figures {
    /// A member's heartbeat: a pull member's Lease renewal from its due time to its
    /// commit; a push member's probe by the controller-manager from its due time to the
    /// answer.
    heartbeat: LatencyHistogram,
    /// Longest time between two heartbeats of one member [s].
    longest_heartbeat_gap_s: f64,
    /// Pull-mode renewals later than the monitor's grace period after the previous one:
    /// the member was marked NotReady meanwhile [count].
    lease_expiries: u64,
    /// From a template's create committing to the resource applied on a member.
    distribution: LatencyHistogram,
    /// From a member's workload cluster being ready to its NotReady taint removed.
    registration: LatencyHistogram,
    /// Mutating requests' latency at the API server (429s included).
    api_mutating: LatencyHistogram,
    /// Reads' latency at the API server.
    api_readonly: LatencyHistogram,
    /// Client-side rate limiter waits of the controller-manager.
    cm_limiter_wait: LatencyHistogram,
    /// 429s [count].
    api_429: u64,
    /// Writes committed, by kind ([`HubKind`] order) and verb ([`HubVerb`] order)
    /// [count].
    writes: [[u64; 4]; HubKind::ALL.len()],
    /// Calls to members' API servers [count].
    member_calls: u64,
    /// Objects live, by kind [count].
    live: [u64; HubKind::ALL.len()],
    /// Peak of the live objects by kind.
    live_peak: [u64; HubKind::ALL.len()],
    /// etcd's database at its largest [bytes].
    db_peak: u64,
    /// The NOSPACE alarm, when it was raised [s].
    nospace_at_s: Option<f64>,
    /// Writes of objects larger than etcd's request limit, refused [count].
    oversized_writes: u64,
    /// Busiest API server's CPU over the busiest sample interval [cores].
    api_cpu_peak: f64,
    /// Controllers' CPU over the busiest sample interval [cores].
    ctrl_cpu_peak: f64,
    /// Controllers' CPU so far [s].
    ctrl_cpu_seconds: f64,
    /// Members schedulable now, and at most [count].
    members_now: u32,
    members_peak: u32,
    /// Resources applied to members [count].
    member_applies: u64,
    /// etcd writes per second over the busiest sample interval.
    write_rate_peak: f64,
    /// etcd writes at the last sample [count].
    last_committed: u64,
}

impl Figures {
    fn api_latency(&mut self, write: bool, d: SimDuration) {
        if write {
            self.api_mutating.record(d);
        } else {
            self.api_readonly.record(d);
        }
    }
}

/// Interval of the hub's samples [s].
const SAMPLE_S: u64 = 15;

fn limiter(qps: Qps, burst: u32) -> ClientLimiter {
    ClientLimiter::new(match qps.0 {
        Some(qps) => ClientRateLimit::Limited { qps, burst },
        None => ClientRateLimit::Off,
    })
}

impl Hub {
    fn new(cfg: &ModelConfig, input: &HubInput, streams: &RngStreams) -> Self {
        let fed = cfg.federation.clone();
        let cp = fed.control_plane;
        let replicas = cp.replicas.max(1);
        let seats = cp.max_requests_inflight + cp.max_mutating_requests_inflight;
        let level_cfgs = apf::default_levels();
        let levels = (0..replicas)
            .map(|_| PriorityLevels::new(&level_cfgs, seats, true, true))
            .collect();
        let mut etcd_settings = cfg.etcd.clone();
        etcd_settings.disk = cp.etcd_disk;
        etcd_settings.fsync = None;
        etcd_settings.quota_backend_bytes = cp.etcd_quota_backend_bytes;
        let etcd_cfg = etcd_settings.etcd_config();
        let store = EtcdStore::new(&etcd_cfg, cfg.thresholds.etcd_size_fraction);
        let n = input.members.len();
        let hand = |flow: u64, level: u8| {
            let l = &level_cfgs[level as usize];
            apf::deal_hand(sim_core::rng::splitmix64(flow), l.queues, l.hand_size)
        };
        let cm = fed.karmada_controller_manager;
        let mut clients = vec![
            Client {
                limiter: ClientLimiter::new(ClientRateLimit::Off),
                replica: 0,
                level: LEVEL_GLOBAL_DEFAULT,
                hand: hand(0, LEVEL_GLOBAL_DEFAULT),
                leader_lease: false,
            },
            Client {
                limiter: limiter(cm.kube_api_qps, cm.kube_api_burst),
                replica: 1 % replicas as u8,
                level: LEVEL_WORKLOAD_LOW,
                hand: hand(1, LEVEL_WORKLOAD_LOW),
                leader_lease: false,
            },
            Client {
                limiter: limiter(
                    fed.karmada_scheduler.kube_api_qps,
                    fed.karmada_scheduler.kube_api_burst,
                ),
                replica: 2 % replicas as u8,
                level: LEVEL_WORKLOAD_LOW,
                hand: hand(2, LEVEL_WORKLOAD_LOW),
                leader_lease: false,
            },
        ];
        let agent = fed.karmada_agent;
        let pull = fed.mode == SyncMode::Pull;
        if pull {
            clients.extend((0..n as u32).map(|m| Client {
                limiter: limiter(agent.kube_api_qps, agent.kube_api_burst),
                replica: ((FIRST_AGENT + m) % replicas) as u8,
                level: LEVEL_GLOBAL_DEFAULT,
                hand: hand(u64::from(FIRST_AGENT + m), LEVEL_GLOBAL_DEFAULT),
                leader_lease: false,
            }));
        }
        let member_limiters = (0..n)
            .map(|_| match fed.mode {
                SyncMode::Push => limiter(cm.cluster_api_qps, cm.cluster_api_burst),
                SyncMode::Pull => limiter(agent.cluster_api_qps, agent.cluster_api_burst),
            })
            .collect();
        let workers = |c: CtrlId| match c {
            CtrlId::Cluster | CtrlId::ClusterStatus => cm.concurrent_cluster_syncs,
            CtrlId::Detector => cm.concurrent_resourcetemplate_syncs,
            CtrlId::Scheduler => 1,
            CtrlId::Binding | CtrlId::BindingStatus => cm.concurrent_resource_binding_syncs,
            CtrlId::Execution => cm.concurrent_work_syncs,
        };
        let stream = |name: &str| streams.stream(StreamId::named(name));
        Hub {
            etcd_cfg,
            clients,
            member_limiters,
            ctrls: CtrlId::ALL.iter().map(|&c| Ctrl::new(workers(c))).collect(),
            agent_exec: (0..n).map(|_| None).collect(),
            jobs: Slab::default(),
            reqs: Slab::default(),
            levels,
            api_cpu: vec![0.0; replicas as usize],
            etcd: GroupCommit::default(),
            store,
            members: vec![Member::default(); n],
            propagations: input.propagations.clone(),
            resources: Vec::new(),
            rng_api: stream("hub-apiserver"),
            rng_etcd: stream("hub-etcd"),
            rng_member: stream("hub-member-api"),
            rng_status: stream("hub-status-change"),
            rng_jitter: stream("hub-jitter"),
            figures: Figures::default(),
            last_api_cpu: vec![0.0; replicas as usize],
            last_ctrl_cpu: 0.0,
            event_expiry: std::collections::VecDeque::new(),
            compaction_mark: SimTime::ZERO,
            fed,
            cfg: cfg.clone(),
        }
    }

    fn pull(&self) -> bool {
        self.fed.mode == SyncMode::Pull
    }

    /// Schedules the input: members' readiness and departures, the propagations, the
    /// periodic work of the API server and the samples.
    fn start(&mut self, sched: &mut Scheduler<Event>, input: &HubInput) {
        let at = |s: f64| SimTime::ZERO + SimDuration::from_secs_f64(s.max(0.0));
        for (m, span) in input.members.iter().enumerate() {
            sched.schedule_at(at(span.ready_s), Event::MemberReady(m as u32));
            if let Some(leave) = span.leave_s {
                sched.schedule_at(at(leave), Event::MemberLeaving(m as u32));
            }
        }
        for (i, p) in input.propagations.iter().enumerate() {
            sched.schedule_at(at(p.at_s), Event::PropagationApplied(i as u16));
        }
        sched.schedule_in(
            crate::apiserver::apf::borrowing::ADJUSTMENT_PERIOD,
            Event::ApfBorrowingDue,
        );
        let compaction = self.etcd_cfg.apiserver_compaction_interval_s;
        if compaction > 0.0 {
            sched.schedule_in(SimDuration::from_secs_f64(compaction), Event::CompactionDue);
        }
        sched.schedule_in(SimDuration::from_secs(SAMPLE_S), Event::SampleDue);
        // The controller-manager and the scheduler hold their leader-election Leases.
        sched.schedule_in(SimDuration::ZERO, Event::LeaderLeaseDue(CONTROLLER_MANAGER));
        sched.schedule_in(SimDuration::ZERO, Event::LeaderLeaseDue(SCHEDULER));
    }

    /// Adds `key` to controller `c`'s queue and starts workers on what is queued.
    fn enqueue(&mut self, sched: &mut Scheduler<Event>, c: CtrlId, key: u32) {
        let now = sched.now();
        self.ctrls[c as usize].queue.add(key, now, Priority::Normal);
        self.start_workers(sched, c);
    }

    fn start_workers(&mut self, sched: &mut Scheduler<Event>, c: CtrlId) {
        let now = sched.now();
        loop {
            let ctrl = &mut self.ctrls[c as usize];
            if ctrl.busy >= ctrl.workers {
                break;
            }
            let Some((key, _)) = ctrl.queue.get(now) else {
                break;
            };
            ctrl.busy += 1;
            let steps = self.plan(c, key);
            self.start_job(sched, Runner::Ctrl(c), key, steps);
        }
    }

    /// Pull mode: adds resource `key` to member `m`'s agent execution queue.
    fn enqueue_agent(&mut self, sched: &mut Scheduler<Event>, m: u32, key: u32) {
        let now = sched.now();
        let workers = self.fed.karmada_agent.concurrent_work_syncs;
        let ctrl = self.agent_exec[m as usize].get_or_insert_with(|| Box::new(Ctrl::new(workers)));
        ctrl.queue.add(key, now, Priority::Normal);
        self.start_agent_workers(sched, m);
    }

    fn start_agent_workers(&mut self, sched: &mut Scheduler<Event>, m: u32) {
        let now = sched.now();
        loop {
            let Some(ctrl) = self.agent_exec[m as usize].as_mut() else {
                return;
            };
            if ctrl.busy >= ctrl.workers {
                return;
            }
            let Some((key, _)) = ctrl.queue.get(now) else {
                return;
            };
            ctrl.busy += 1;
            let steps = self.plan_execution(m, key);
            self.start_job(sched, Runner::AgentExecution(m), key, steps);
        }
    }

    /// Starts a job of `steps` for `runner`; it charges its reconcile's CPU.
    fn start_job(
        &mut self,
        sched: &mut Scheduler<Event>,
        runner: Runner,
        key: u32,
        steps: Vec<Step>,
    ) {
        // The agents' reconciles run in the members, not on the hub's nodes.
        let cpu = self.fed.reconcile_cpu.sample(&mut self.rng_api);
        if matches!(runner, Runner::Ctrl(_)) {
            self.figures.ctrl_cpu_seconds += cpu;
        }
        let empty = steps.is_empty();
        let job = self.jobs.insert(Job {
            runner,
            key,
            steps,
            next: 0,
            started: sched.now(),
        });
        if empty {
            // Finished at once, but through the event list: finishing starts the next
            // queued reconcile, and a queue of reconciles with nothing to do would
            // otherwise nest one call per key.
            sched.schedule_in(SimDuration::ZERO, Event::JobFinished(job));
        } else {
            self.next_step(sched, job);
        }
    }

    /// Runs the job's next step, or finishes it.
    fn next_step(&mut self, sched: &mut Scheduler<Event>, job: u32) {
        let j = self.jobs.get_mut(job).expect("live job");
        let Some(&step) = j.steps.get(j.next) else {
            self.finish_job(sched, job);
            return;
        };
        j.next += 1;
        let runner = j.runner;
        let client = self.client_of(runner);
        match step {
            Step::Member { member } => self.member_call(sched, job, member),
            Step::Write(w) => self.issue(sched, Some(job), client, Some(w)),
            Step::Read => self.issue(sched, Some(job), client, None),
            Step::Event => {
                self.send_event(sched, client);
                self.next_step(sched, job);
            }
        }
    }

    /// The hub client a runner's writes go through.
    fn client_of(&self, runner: Runner) -> u32 {
        match runner {
            Runner::Ctrl(CtrlId::Scheduler) => SCHEDULER,
            Runner::Ctrl(_) => CONTROLLER_MANAGER,
            Runner::AgentStatus(m) | Runner::AgentExecution(m) => FIRST_AGENT + m,
        }
    }

    fn finish_job(&mut self, sched: &mut Scheduler<Event>, job: u32) {
        let now = sched.now();
        let j = self.jobs.remove(job).expect("live job");
        let took = now - j.started;
        match j.runner {
            Runner::Ctrl(c) => {
                let ctrl = &mut self.ctrls[c as usize];
                ctrl.busy -= 1;
                ctrl.reconciles += 1;
                ctrl.duration.record(took);
                ctrl.queue.done(j.key, now);
                if c == CtrlId::ClusterStatus {
                    self.status_collected(sched, j.key);
                }
                self.start_workers(sched, c);
            }
            Runner::AgentStatus(m) => self.status_collected(sched, m),
            Runner::AgentExecution(m) => {
                if let Some(ctrl) = self.agent_exec[m as usize].as_mut() {
                    ctrl.busy -= 1;
                    ctrl.reconciles += 1;
                    ctrl.duration.record(took);
                    ctrl.queue.done(j.key, now);
                }
                self.start_agent_workers(sched, m);
            }
        }
    }

    /// A call to member `member`'s API server: its client's token, then its latency.
    fn member_call(&mut self, sched: &mut Scheduler<Event>, job: u32, member: u32) {
        let now = sched.now();
        let wait = self.member_limiters[member as usize].reserve(now);
        if wait > SimDuration::ZERO {
            sched.schedule_in(wait, Event::MemberTokenGranted(job));
        } else {
            self.member_token(sched, job);
        }
    }

    fn member_token(&mut self, sched: &mut Scheduler<Event>, job: u32) {
        self.figures.member_calls += 1;
        let d = self
            .fed
            .member_api_latency
            .sample_duration(&mut self.rng_member);
        sched.schedule_in(d, Event::MemberCallAnswered(job));
    }

    fn sample(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let dt = SAMPLE_S as f64;
        // The busiest replica over this interval.
        let busiest = self
            .api_cpu
            .iter()
            .zip(&self.last_api_cpu)
            .map(|(now, last)| (now - last) / dt)
            .fold(0.0, f64::max);
        self.last_api_cpu.clone_from(&self.api_cpu);
        self.figures.api_cpu_peak = self.figures.api_cpu_peak.max(busiest);
        let ctrl = self.figures.ctrl_cpu_seconds;
        let peak = (ctrl - self.last_ctrl_cpu) / dt;
        self.figures.ctrl_cpu_peak = self.figures.ctrl_cpu_peak.max(peak);
        self.last_ctrl_cpu = ctrl;
        let committed = self.etcd.committed;
        let rate = (committed - self.figures.last_committed) as f64 / dt;
        self.figures.write_rate_peak = self.figures.write_rate_peak.max(rate);
        self.figures.last_committed = committed;
        self.figures.db_peak = self.figures.db_peak.max(self.store.db_size());
        self.expire_events(now);
        sched.schedule_in(SimDuration::from_secs(SAMPLE_S), Event::SampleDue);
    }
}

impl Model for Hub {
    type Event = Event;

    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::MemberReady(m) => self.member_ready(sched, m),
            Event::MemberLeaving(m) => self.member_leaving(sched, m),
            Event::LeaseDue(m) => self.lease_due(sched, m),
            Event::StatusDue(m) => self.status_due(sched, m),
            Event::LeaderLeaseDue(c) => self.leader_lease_due(sched, c),
            Event::PropagationApplied(i) => self.propagation_applied(sched, i),
            Event::TokenGranted(r) => self.admit(sched, r),
            Event::RetryAfterElapsed(r) => self.through_limiter(sched, r),
            Event::RequestProcessed(r) => self.processed(sched, r),
            Event::ApfFinalSeatsElapsed {
                replica,
                level,
                queue,
                seats,
            } => self.final_seats(sched, replica, level, queue, seats),
            Event::ApfBorrowingDue => self.borrowing_due(sched),
            Event::EtcdBatchCommitted => self.batch_committed(sched),
            Event::MemberTokenGranted(job) => self.member_token(sched, job),
            Event::JobFinished(job) => self.finish_job(sched, job),
            Event::MemberCallAnswered(job) => self.member_answered(sched, job),
            Event::MemberStatusChanged(w) => self.member_status_changed(sched, w),
            Event::CompactionDue => {
                // Compacts to the revision of the previous run, as the API server does.
                let every =
                    SimDuration::from_secs_f64(self.etcd_cfg.apiserver_compaction_interval_s);
                sched.schedule_in(every, Event::CompactionDue);
                self.store.compact(self.compaction_mark);
                self.compaction_mark = sched.now();
            }
            Event::SampleDue => self.sample(sched),
        }
    }
}
