//! The simulated management cluster: managers, controllers, API servers, etcd and Prism
//! Central, wired together, creating a fleet object by object.
//!
//! A reconcile takes a worker, waits for a CPU slot of its manager's pod, runs its recipe
//! ([`crate::recipe`]): Prism Central calls, then writes one after another. Each write
//! waits for a token of the manager's rate limiter, is admitted by API Priority and
//! Fairness on the API server replica the manager's connection is pinned to (client-go
//! keeps one HTTP/2 connection), is processed, joins etcd's next group commit, and when it
//! commits its effect lands on the fleet state and every watching controller's queue
//! receives the change. The reconcile then finishes: done, requeue-after or requeue with
//! backoff.

pub mod attribution;
mod commits;
mod effects;
mod managers;
pub mod metrics;
mod operations;
mod pc_calls;
mod reconciles;
mod requests;
pub mod slab;

use std::collections::VecDeque;

use sim_core::stats::LatencyHistogram;
use sim_core::{Model, RngStreams, Scheduler, SimDuration, SimRng, SimTime, StreamId};

use self::attribution::{Owner, Resource};
use self::metrics::{ControlPlanePeaks, Metrics, Snapshot};
use self::reconciles::Reconcile;
use self::requests::{Op, Request};
use self::slab::Slab;
use crate::apiserver::ApiServerRt;
use crate::apiserver::apf::{self, PriorityLevel};
use crate::controllers::manager::{ControllerRt, ManagerRt, concurrency, manager_rt};
use crate::controllers::watches::cached_kinds;
use crate::controllers::workqueue::{Priority, WorkQueue, WorkQueueConfig};
use crate::etcd::{EtcdConfig, EtcdStore, GroupCommit};
use crate::kinds::{Controller, KeySpace, ObjKind};
use crate::objects::{ClusterState, MachineState, make_fleet};
use crate::prism_central::{PrismCentral, PrismCentralConfig};
use crate::recipe::{Effect, Target, Verb, Write};
use crate::scenario::config::ModelConfig;
use crate::scenario::faults::Fault;
use crate::scenario::operations::{AfterOp, FleetSpec, OpTiming};

/// The world's events: past-tense facts.
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)] // variant fields are named for what the variant's doc says
pub enum Event {
    /// The user applied Cluster `.0`.
    ClusterApplied(u32),
    /// A delayed add of a controller instance's workqueue is due.
    QueueDelayElapsed { ci: u16, key: u32, at: SimTime },
    /// A reconcile got its CPU time.
    CpuDone(u32),
    /// A request's rate-limiter token is due.
    TokenGranted(u32),
    /// A request waited in an APF queue longer than the queue-wait limit.
    ApfQueueTimedOut(u32),
    /// Retry-After of a 429 elapsed.
    RetryAfterElapsed(u32),
    /// The API server finished processing a request.
    RequestProcessed(u32),
    /// etcd committed the batch in flight.
    EtcdBatchCommitted,
    /// A Prism Central API call answered.
    PcCallAnswered(u32),
    /// The SDK's wait after a Prism Central 429 elapsed.
    PcRetryElapsed(u32),
    /// CAPX's task poll interval elapsed.
    PcPollDue(u32),
    /// A Prism Central task finished: machine, kind.
    PcTaskFinished { machine: u32, kind: u8 },
    /// A machine's node joined its workload cluster.
    NodeJoined(u32),
    /// A manager's informer resync period elapsed.
    ResyncDue { manager: u8, kind: u8 },
    /// A manager renews its leader-election Lease.
    LeaseRenewalDue(u8),
    /// A user command that failed is run again (index into the pending retries).
    UserRetry(u32),
    /// The API server's etcd compaction runs.
    CompactionDue,
    /// etcd's periodic auto-compaction runs.
    AutoCompactionDue,
    /// Expired Events are deleted (1 h TTL).
    EventTtlSweep,
    /// An OOM-killed manager runs again.
    ManagerRestarted(u8),
    /// Metrics are sampled.
    SampleDue,
    /// Fault `.0` of the run's list begins.
    FaultBegan(u8),
    /// Fault `.0` of the run's list ends.
    FaultEnded(u8),
}

/// Index of the priority levels used (in [`apf::default_levels`] order).
pub(crate) const LEVEL_WORKLOAD_LOW: u8 = 4;
pub(crate) const LEVEL_GLOBAL_DEFAULT: u8 = 5;
/// The "manager" number of the user applying Clusters.
pub(crate) const USER: u8 = u8::MAX;

/// Seconds before a user command that failed is run again [I]: a script's retry.
pub(crate) const USER_RETRY_S: u64 = 10;
/// Interval of metric samples [s].
pub const SAMPLE_INTERVAL_S: u64 = 15;

/// The simulated management cluster.
pub struct World {
    cfg: ModelConfig,
    etcd_cfg: EtcdConfig,
    /// Workload clusters' objects.
    pub clusters: Vec<ClusterState>,
    /// Machines' objects.
    pub machines: Vec<MachineState>,
    managers: Vec<ManagerRt>,
    /// Controller instances: each controller's shards, in [`Controller::ALL`] order.
    pub ctrls: Vec<ControllerRt>,
    /// Shards of each manager.
    shards: [u32; 4],
    /// Index of each manager's first instance in `managers`.
    mgr_base: [usize; 4],
    /// Index of each controller's first instance in `ctrls`.
    ctrl_base: [usize; 10],
    recs: Slab<Reconcile>,
    reqs: Slab<Request>,
    apiservers: Vec<ApiServerRt>,
    /// etcd's group commit (fsync and commit figures inside).
    pub etcd: GroupCommit<u32>,
    /// etcd's size accounting.
    pub store: EtcdStore,
    /// Prism Central (queue and rate-limit figures inside).
    pub pcs: Vec<PrismCentral<u32>>,
    rng_etcd: SimRng,
    rng_api: SimRng,
    rng_pc: SimRng,
    rng_boot: SimRng,
    rng_cpu: SimRng,
    rng_resync: SimRng,
    rng_vm_failure: SimRng,
    rng_restarts: SimRng,
    /// Figures.
    pub metrics: Metrics,
    stored_by_kind: [u64; ObjKind::ALL.len()],
    count_by_kind: [u64; ObjKind::ALL.len()],
    event_expiry: VecDeque<SimTime>,
    compaction_mark: SimTime,
    lease_created: Vec<bool>,
    /// The reconcile polling each machine's queued task, or `u32::MAX`.
    poll_rec: Vec<u32>,
    /// When each machine's VM create task was submitted.
    vm_create_submitted: Vec<SimTime>,
    /// (busiest API server's CPU seconds, etcd writes) at the last samples.
    cp_window: VecDeque<(f64, f64)>,
    /// Peaks of the control plane's demand.
    pub peaks: ControlPlanePeaks,
    /// Faults of the run.
    faults: Vec<Fault>,
    /// Prism Central outage windows.
    outages: Vec<(SimTime, SimTime)>,
    /// When each machine's task of each kind last started (or was last shifted).
    task_started: Vec<[SimTime; 4]>,
    /// Prism Central tasks finished [count].
    pub tasks_finished: u64,
    queue_wait_limit: SimDuration,
    next_user_replica: u8,
    /// Clusters ready [count].
    pub clusters_ready: u32,
    /// Machines running [count].
    pub machines_running: u32,
    timeline: bool,
    /// Set when the run has nothing left to do.
    pub finished: bool,
    fleet: FleetSpec,
    /// Simulated time limit.
    pub deadline: SimTime,
    /// The operations after the create, in order.
    after: Vec<AfterOp>,
    /// The next of them to finish.
    after_i: usize,
    /// When the current one started.
    op_started: Option<SimTime>,
    /// Workers per cluster the last scale operation asked for.
    scale_target: Option<u32>,
    /// The version the current (or last) upgrade goes to.
    upgrade_version: u8,
    /// Clusters the current upgrade has started, in index order.
    upgrade_started: u32,
    /// The first cluster of its current wave.
    upgrade_wave_start: u32,
    /// The MachineDeployments' rolling-update maxSurge and maxUnavailable.
    rollout: (u32, u32),
    /// User commands waiting to be run again after a failure.
    user_retries: Vec<Write>,
    /// The MachineHealthCheck's node startup timeout, if the scenario sets one.
    mhc_timeout: Option<SimDuration>,
    /// Its unhealthy-node-condition timeout.
    mhc_unhealthy_timeout: SimDuration,
    rng_node_failures: SimRng,
    /// When each operation ran.
    pub op_timings: Vec<OpTiming>,
    /// Counters when the steady window opened.
    pub steady_start: Option<Snapshot>,
    /// Counters when it closed.
    pub steady_end: Option<Snapshot>,
}

/// The time to the next event of a Poisson process with mean gap `mean`: exponential.
pub(crate) fn exponential_gap(rng: &mut SimRng, mean: SimDuration) -> SimDuration {
    use rand::RngExt;
    let u: f64 = rng.random();
    SimDuration::from_secs_f64(-mean.as_secs_f64() * (1.0f64 - u).ln())
}

impl World {
    /// A management cluster configured by `cfg`, about to create `fleet`, drawing from
    /// `streams`. `timeline` turns on sampling of gauges.
    pub fn new(cfg: ModelConfig, fleet: FleetSpec, streams: &RngStreams, timeline: bool) -> Self {
        let workers = fleet
            .machines_per_cluster
            .saturating_sub(fleet.control_plane_replicas);
        let (clusters, machines) =
            make_fleet(fleet.clusters, fleet.control_plane_replicas, workers);
        let api = &cfg.kube_apiserver;
        let levels = apf::default_levels();
        let seats = apf::nominal_limits(
            api.max_requests_inflight + api.max_mutating_requests_inflight,
            &levels,
        );
        let apiservers = (0..api.replicas)
            .map(|_| ApiServerRt {
                levels: levels
                    .iter()
                    .zip(&seats)
                    .map(|(l, &s)| PriorityLevel::new(l, s))
                    .collect(),
                cpu_seconds: 0.0,
            })
            .collect();
        let wl = &levels[LEVEL_WORKLOAD_LOW as usize];
        // Manager instances: each manager's shards, in configuration order.
        let mut managers: Vec<ManagerRt> = Vec::new();
        let mut mgr_base = [0usize; 4];
        let mut shards = [1u32; 4];
        for (k, (name, m)) in cfg.managers().iter().enumerate() {
            mgr_base[k] = managers.len();
            shards[k] = m.shards.max(1);
            // Flow distinguisher: the manager's service account, shared by its shards.
            let hash = sim_core::rng::splitmix64(StreamId::named(name).raw());
            let hand = apf::deal_hand(hash, wl.queues, wl.hand_size);
            for s in 0..shards[k] {
                let i = managers.len() as u32;
                let label = if shards[k] == 1 {
                    name.to_string()
                } else {
                    format!("{name}-shard-{}", s + 1)
                };
                let replica = (i % api.replicas) as u8;
                managers.push(manager_rt(label, k, s, m, replica, hand.clone()));
            }
        }
        let thresholds = &cfg.thresholds;
        let mut ctrl_base = [0usize; 10];
        let mut ctrls = Vec::new();
        for &c in &Controller::ALL {
            ctrl_base[c.index()] = ctrls.len();
            let mcfg = cfg.managers()[c.manager()].1;
            for s in 0..shards[c.manager()] {
                let mi = mgr_base[c.manager()] + s as usize;
                ctrls.push(ControllerRt {
                    ctrl: c,
                    mi,
                    manager_name: managers[mi].name.clone(),
                    queue: WorkQueue::new(
                        {
                            let mut q = WorkQueueConfig::default_for(mcfg.queue);
                            if c == Controller::NutanixMachine {
                                // CAPX main.go hard-codes the machine controller's limiter:
                                // per-item backoff 1 ms to 1000 s, max-of 10 qps / 100.
                                q.base_delay_s = 0.001;
                            }
                            q
                        },
                        thresholds.workqueue_depth,
                    ),
                    workers: concurrency(&cfg, c),
                    busy: 0,
                    reconcile_time: LatencyHistogram::new(),
                    reconciles: 0,
                    errors: 0,
                    limiter_wait: 0.0,
                    activity: [0; 6],
                    activity_integral: [0.0; 6],
                    activity_at: SimTime::ZERO,
                    ready_snap: Vec::new(),
                });
            }
        }
        let e = &cfg.etcd;
        let etcd_cfg = EtcdConfig {
            fsync: e.fsync_dist(),
            raft_rtt: e.raft_rtt,
            apply_per_write_s: e.apply_per_write,
            quota_backend_bytes: e.quota_backend_bytes.0,
            auto_compaction_retention_s: e.auto_compaction_retention.0,
            apiserver_compaction_interval_s: e.compaction_interval.0,
            revision_overhead_bytes: e.revision_overhead.0,
        };
        let store = EtcdStore::new(
            &etcd_cfg,
            thresholds.etcd_size_fraction * e.quota_backend_bytes.0 as f64,
        );
        let p = &cfg.prism_central;
        let pc_cfg = PrismCentralConfig {
            api_rate_limit: match p.api_rate_limit {
                Some(l) => l.0,
                None => Some(p.size.api_rate_limit()),
            },
            max_concurrent_tasks: match p.max_concurrent_tasks {
                Some(l) => l.0.map(|v| v.round().max(1.0) as u32),
                None => Some(p.size.max_concurrent_tasks()),
            },
            api_latency: p.api_latency,
            vm_create: p.vm_create,
            vm_power_on: p.vm_power_on,
            vm_delete: p.vm_delete,
            vm_update: p.vm_update,
            load_slowdown: p.load_slowdown,
        };
        let pcs = (0..p.count.max(1))
            .map(|_| PrismCentral::new(pc_cfg))
            .collect();
        let queue_wait_limit = SimDuration::from_secs_f64((api.request_timeout.0 / 4.0).min(60.0));
        let n_clusters = clusters.len();
        let n_managers = managers.len();
        let n_machines = machines.len();
        World {
            etcd_cfg,
            clusters,
            machines,
            managers,
            ctrls,
            shards,
            mgr_base,
            ctrl_base,
            recs: Slab::default(),
            reqs: Slab::default(),
            apiservers,
            etcd: GroupCommit::default(),
            store,
            pcs,
            rng_etcd: streams.stream(StreamId::named("etcd")),
            rng_api: streams.stream(StreamId::named("kube-apiserver")),
            rng_pc: streams.stream(StreamId::named("prism-central")),
            rng_boot: streams.stream(StreamId::named("machine-boot")),
            rng_cpu: streams.stream(StreamId::named("reconcile-cpu")),
            rng_resync: streams.stream(StreamId::named("resync-jitter")),
            rng_vm_failure: streams.stream(StreamId::named("vm-create-failure")),
            rng_restarts: streams.stream(StreamId::named("controller-restarts")),
            metrics: Metrics {
                api_mutating: LatencyHistogram::new(),
                api_readonly: LatencyHistogram::new(),
                api_429: 0,
                api_failed: 0,
                writes_by_kind: [0; ObjKind::ALL.len()],
                writes_by_verb: [[0; 4]; ObjKind::ALL.len()],
                requests_by_kind: [0; ObjKind::ALL.len()],
                vm_create: LatencyHistogram::new(),
                vm_create_failures: 0,
                remediations: 0,
                node_failures: 0,
                machine_waits: vec![[0.0; 6]; n_machines],
                cluster_waits: vec![[0.0; 6]; n_clusters],
                service: [0.0; 4],
                queue_wait_by_ctrl: [0.0; 10],
                timeline: Vec::new(),
                fleet_ready_at: None,
                events_alive: 0,
            },
            stored_by_kind: [0; ObjKind::ALL.len()],
            count_by_kind: [0; ObjKind::ALL.len()],
            event_expiry: VecDeque::new(),
            compaction_mark: SimTime::ZERO,
            lease_created: vec![false; n_managers],
            poll_rec: vec![u32::MAX; n_machines],
            vm_create_submitted: vec![SimTime::ZERO; n_machines],
            cp_window: VecDeque::new(),
            peaks: ControlPlanePeaks::default(),
            faults: Vec::new(),
            outages: Vec::new(),
            task_started: vec![[SimTime::ZERO; 4]; n_machines],
            tasks_finished: 0,
            queue_wait_limit,
            next_user_replica: 0,
            clusters_ready: 0,
            machines_running: 0,
            timeline,
            finished: false,
            fleet,
            deadline: SimTime::MAX,
            after: Vec::new(),
            after_i: 0,
            op_started: None,
            scale_target: None,
            upgrade_version: 0,
            upgrade_started: 0,
            upgrade_wave_start: 0,
            rollout: (1, 0),
            user_retries: Vec::new(),
            mhc_timeout: None,
            mhc_unhealthy_timeout: SimDuration::ZERO,
            rng_node_failures: streams.stream(StreamId::named("node-failures")),
            op_timings: Vec::new(),
            steady_start: None,
            steady_end: None,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// Schedules the periodic events and the user's applies: every Cluster at `at`.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        for c in 0..self.clusters.len() as u32 {
            sched.schedule_at(self.fleet.applied_at(c), Event::ClusterApplied(c));
        }
        for i in 0..self.faults.len() {
            let (at, end) = match self.faults[i] {
                Fault::PrismCentralOutage { at, duration } => (at, Some(at + duration)),
                Fault::EtcdDiskLatencySpike { at, duration, .. } => (at, Some(at + duration)),
                Fault::ControllerRestart { at, every, .. } => {
                    let first = match every {
                        Some(mean) => at + exponential_gap(&mut self.rng_restarts, mean),
                        None => at,
                    };
                    (first, None)
                }
                // Looked up when each VM create task finishes, or by the MHC controller.
                Fault::NodeFailures { at, every } => {
                    let first = at + exponential_gap(&mut self.rng_node_failures, every);
                    (first, None)
                }
                Fault::VmCreateFailures { .. } | Fault::MachineHealthCheck { .. } => continue,
            };
            sched.schedule_at(SimTime::ZERO + at, Event::FaultBegan(i as u8));
            if let Some(end) = end {
                sched.schedule_at(SimTime::ZERO + end, Event::FaultEnded(i as u8));
            }
        }
        for m in 0..self.managers.len() as u8 {
            let kinds = cached_kinds(self.managers[m as usize].kind);
            for &k in kinds {
                if k == ObjKind::MachineHealthCheck && !self.mhc_enabled() {
                    continue; // an informer with nothing in it: its resync delivers nothing
                }
                let d = self.resync_delay(m as usize);
                sched.schedule_in(
                    d,
                    Event::ResyncDue {
                        manager: m,
                        kind: k as u8,
                    },
                );
            }
            sched.schedule_in(SimDuration::ZERO, Event::LeaseRenewalDue(m));
        }
        let compaction = SimDuration::from_secs_f64(self.cfg.etcd.compaction_interval.0);
        sched.schedule_in(compaction, Event::CompactionDue);
        if self.cfg.etcd.auto_compaction_retention.0 > 0.0 {
            let every = self.cfg.etcd.auto_compaction_retention.0.min(3600.0);
            sched.schedule_in(SimDuration::from_secs_f64(every), Event::AutoCompactionDue);
        }
        sched.schedule_in(SimDuration::from_secs(60), Event::EventTtlSweep);
        sched.schedule_in(SimDuration::from_secs(SAMPLE_INTERVAL_S), Event::SampleDue);
    }

    /// The workload cluster a key belongs to.
    pub(crate) fn cluster_of(&self, ctrl: Controller, key: u32) -> u32 {
        match ctrl.key_space() {
            KeySpace::Cluster => key,
            KeySpace::Machine => self.machines[key as usize].cluster,
        }
    }

    /// The controller instance (shard) that owns `key`: clusters are spread over a
    /// manager's shards as namespaces are.
    pub(crate) fn ci(&self, ctrl: Controller, key: u32) -> usize {
        let shard = self.cluster_of(ctrl, key) % self.shards[ctrl.manager()];
        self.ctrl_base[ctrl.index()] + shard as usize
    }

    /// Whether cluster `c` belongs to manager instance `mi`'s shard.
    pub(crate) fn in_shard(&self, mi: usize, c: u32) -> bool {
        let m = &self.managers[mi];
        c % self.shards[m.kind] == m.shard
    }
}

impl Model for World {
    type Event = Event;

    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::UserRetry(i) => {
                let w = self.user_retries[i as usize];
                let owner = match w.target {
                    // The garbage collector's deletes are nobody's wait.
                    Target::Cluster(_) if w.effect == Effect::None => Owner::None,
                    Target::Cluster(c) => Owner::Cluster(c),
                    Target::Machine(_) => Owner::None,
                };
                self.issue(sched, None, USER, Op::Write(w), owner);
            }
            Event::ClusterApplied(c) => {
                let w = Write {
                    kind: ObjKind::Cluster,
                    verb: Verb::Create,
                    target: Target::Cluster(c),
                    effect: Effect::ClusterCreated,
                };
                self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
            }
            Event::QueueDelayElapsed { ci, key, at } => {
                let c = ci as usize;
                let now = sched.now();
                if self.managers[self.ctrls[c].mi].up
                    && self.ctrls[c].queue.delay_elapsed(key, now, at)
                {
                    self.mark_ready(now, c, key);
                    self.dispatch(sched, c);
                }
            }
            Event::CpuDone(rec) => self.cpu_done(sched, rec),
            Event::TokenGranted(req) => {
                if self.sender_dead(req) {
                    self.reqs.remove(req);
                } else {
                    self.admit(sched, req);
                }
            }
            Event::ApfQueueTimedOut(req) => {
                let now = sched.now();
                let r = self.reqs.get(req).expect("queued request");
                let (replica, level, q) = (r.replica as usize, r.level as usize, r.apf_queue);
                let owner = r.owner;
                let mut unblocked = Vec::new();
                let level = &mut self.apiservers[replica].levels[level];
                if level.time_out(now, q, req, |d| unblocked.push(d)) {
                    self.wait(owner, Resource::ApfQueue, self.queue_wait_limit);
                    self.reqs.get_mut(req).expect("live").timeout = None;
                    self.rejected(sched, req);
                }
                for d in unblocked {
                    self.execute(sched, d);
                }
            }
            Event::RetryAfterElapsed(req) => {
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
            Event::RequestProcessed(req) => self.processed(sched, req),
            Event::EtcdBatchCommitted => self.batch_committed(sched),
            Event::PcCallAnswered(rec) => self.pc_answered(sched, rec),
            Event::PcRetryElapsed(rec) | Event::PcPollDue(rec) => {
                let Some(r) = self.recs.get(rec) else { return };
                if r.epoch != self.managers[r.mi].epoch {
                    self.drop_orphan(rec);
                    return;
                }
                self.pc_call(sched, rec);
            }
            Event::PcTaskFinished { machine, kind } => self.pc_task_finished(sched, machine, kind),
            Event::NodeJoined(m) => {
                let ms = &mut self.machines[m as usize];
                ms.node_joined = true;
                let c = ms.cluster;
                if ms.is_init() {
                    self.clusters[c as usize].cp_api_up = true;
                    self.enqueue(sched, Controller::KubeadmControlPlane, c, Priority::Normal);
                }
                // The ClusterCache's node watch maps the node to its Machine.
                self.enqueue(sched, Controller::Machine, m, Priority::Normal);
            }
            Event::ResyncDue { manager, kind } => {
                self.resync(sched, manager, ObjKind::ALL[kind as usize])
            }
            Event::LeaseRenewalDue(m) => self.lease(sched, m),
            Event::CompactionDue => {
                // Compacts to the revision of the previous run.
                let every = SimDuration::from_secs_f64(self.cfg.etcd.compaction_interval.0);
                sched.schedule_in(every, Event::CompactionDue);
                self.store.compact(self.compaction_mark);
                self.compaction_mark = sched.now();
            }
            Event::AutoCompactionDue => {
                let retention = self.cfg.etcd.auto_compaction_retention.0;
                let every = SimDuration::from_secs_f64(retention.min(3600.0));
                sched.schedule_in(every, Event::AutoCompactionDue);
                let point = sched
                    .now()
                    .saturating_since(SimTime::ZERO)
                    .saturating_sub(SimDuration::from_secs_f64(retention));
                self.store.compact(SimTime::ZERO + point);
            }
            Event::EventTtlSweep => {
                let now = sched.now();
                sched.schedule_in(SimDuration::from_secs(60), Event::EventTtlSweep);
                let size = self.cfg.costs.object_size.of(ObjKind::Event);
                while self.event_expiry.front().is_some_and(|&t| t <= now) {
                    self.event_expiry.pop_front();
                    self.store.delete(now, size);
                    self.object_created(ObjKind::Event, size, false);
                    self.metrics.events_alive -= 1;
                }
            }
            Event::ManagerRestarted(m) => self.restarted(sched, m),
            Event::SampleDue => self.sample(sched),
            Event::FaultBegan(i) => match self.faults[i as usize] {
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
            },
            Event::FaultEnded(i) => match self.faults[i as usize] {
                Fault::PrismCentralOutage { .. } => {
                    self.pcs.iter_mut().for_each(|p| p.down = false)
                }
                Fault::EtcdDiskLatencySpike { .. } => self.etcd.fsync_factor = 1.0,
                Fault::ControllerRestart { .. }
                | Fault::VmCreateFailures { .. }
                | Fault::MachineHealthCheck { .. }
                | Fault::NodeFailures { .. } => {}
            },
        }
    }
}
