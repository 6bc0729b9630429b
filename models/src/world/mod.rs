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

pub mod alerts;
pub mod attribution;
mod cluster_cache;
mod commits;
mod effects;
mod managers;
pub mod metrics;
mod node_memory;
pub(crate) mod nodes;
pub use nodes::NodeRole;
mod operations;
mod pc_calls;
mod reconciles;
mod requests;
pub mod slab;

use std::collections::VecDeque;

use sim_core::{Model, RngStreams, Scheduler, SimDuration, SimRng, SimTime, StreamId};

use self::metrics::{ControlPlanePeaks, Metrics, Snapshot};
use self::reconciles::Reconcile;
use self::requests::Request;
use self::slab::Slab;
use crate::apiserver::ApiServerRt;
use crate::apiserver::apf::{self};
use crate::controllers::manager::{ControllerRt, Instances, ManagerRt};
use crate::controllers::watches::cached_kinds;
use crate::etcd::{EtcdConfig, EtcdStore, GroupCommit};
use crate::kinds::{Controller, KeySpace, ObjKind};
use crate::objects::{ClusterState, MachineState, make_fleet};
use crate::prism_central::PrismCentral;
use crate::recipe::Write;
use crate::scenario::config::{ModelConfig, ReconcileCost};
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
    /// A thread on control-plane node `.0` finished its CPU work.
    NodeCpuDone(u8),
    /// A request's rate-limiter token is due.
    TokenGranted(u32),
    /// A request waited in an APF queue longer than the queue-wait limit.
    ApfQueueTimedOut(u32),
    /// A finished write's additional latency elapsed: the seats it kept in `queue`
    /// (`u32::MAX`: none) of `level` on `replica` are free.
    ApfFinalSeatsElapsed {
        replica: u8,
        level: u8,
        queue: u32,
        seats: u32,
    },
    /// APF's borrowing adjustment period elapsed.
    ApfBorrowingDue,
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
    /// An OOM-killed API server replica serves again.
    ApiServerRestarted(u8),
    /// Metrics are sampled.
    SampleDue,
    /// Fault `.0` of the run's list begins.
    FaultBegan(u8),
    /// Fault `.0` of the run's list ends.
    FaultEnded(u8),
    /// The ClusterCaches' health probes are due.
    HealthProbesDue,
    /// Machine `.0`'s kubelet reports its Node's status.
    NodeStatusReported(u32),
    /// Reconcile `.0`'s calls to its workload cluster answered.
    WorkloadCallAnswered(u32),
}

impl Event {
    /// The kinds' names, in [`Event::kind`] order.
    pub const KINDS: [&'static str; 30] = [
        "UserRetry",
        "ClusterApplied",
        "QueueDelayElapsed",
        "CpuDone",
        "TokenGranted",
        "ApfQueueTimedOut",
        "ApfFinalSeatsElapsed",
        "ApfBorrowingDue",
        "RetryAfterElapsed",
        "RequestProcessed",
        "NodeCpuDone",
        "EtcdBatchCommitted",
        "PcCallAnswered",
        "PcRetryElapsed",
        "PcPollDue",
        "PcTaskFinished",
        "NodeJoined",
        "ResyncDue",
        "LeaseRenewalDue",
        "CompactionDue",
        "AutoCompactionDue",
        "EventTtlSweep",
        "ManagerRestarted",
        "ApiServerRestarted",
        "SampleDue",
        "FaultBegan",
        "FaultEnded",
        "HealthProbesDue",
        "NodeStatusReported",
        "WorkloadCallAnswered",
    ];

    /// Which kind it is (an index into [`Event::KINDS`]).
    pub fn kind(&self) -> usize {
        match self {
            Event::UserRetry(_) => 0,
            Event::ClusterApplied(_) => 1,
            Event::QueueDelayElapsed { .. } => 2,
            Event::CpuDone(_) => 3,
            Event::TokenGranted(_) => 4,
            Event::ApfQueueTimedOut(_) => 5,
            Event::ApfFinalSeatsElapsed { .. } => 6,
            Event::ApfBorrowingDue => 7,
            Event::RetryAfterElapsed(_) => 8,
            Event::RequestProcessed(_) => 9,
            Event::NodeCpuDone(_) => 10,
            Event::EtcdBatchCommitted => 11,
            Event::PcCallAnswered(_) => 12,
            Event::PcRetryElapsed(_) => 13,
            Event::PcPollDue(_) => 14,
            Event::PcTaskFinished { .. } => 15,
            Event::NodeJoined(_) => 16,
            Event::ResyncDue { .. } => 17,
            Event::LeaseRenewalDue(_) => 18,
            Event::CompactionDue => 19,
            Event::AutoCompactionDue => 20,
            Event::EventTtlSweep => 21,
            Event::ManagerRestarted(_) => 22,
            Event::ApiServerRestarted(_) => 23,
            Event::SampleDue => 24,
            Event::FaultBegan(_) => 25,
            Event::FaultEnded(_) => 26,
            Event::HealthProbesDue => 27,
            Event::NodeStatusReported(_) => 28,
            Event::WorkloadCallAnswered(_) => 29,
        }
    }
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
const _: () = assert!(SAMPLE_INTERVAL_S == crate::scenario::alerts::SAMPLE_INTERVAL_S);

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
    pub(crate) apiservers: Vec<ApiServerRt>,
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
    rng_in_memory: SimRng,
    /// Who watches what, with the provider's infrastructure controllers.
    watches: Vec<crate::controllers::watches::Watch>,
    rng_restarts: SimRng,
    /// Figures.
    pub metrics: Metrics,
    /// The guide's alerting rules and the series they read.
    pub alerts: alerts::Alerts,
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
    /// Writes by kind at the last 5 samples (the watch cache's event rates).
    kind_window: VecDeque<[u64; ObjKind::ALL.len()]>,
    /// Each controller's reconcile cost in the per-controller CPU model.
    reconcile_costs: [ReconcileCost; Controller::ALL.len()],
    /// The control-plane nodes' CPU, when components share it (`nodes.cpu-sharing`).
    nodes: Option<nodes::Nodes>,
    /// Clusters the workload has applied or scheduled so far (the first create's, then
    /// each later create's).
    applied: u32,
    /// A create whose batches wait for readiness: the first cluster of the batch under
    /// way, the first not applied yet, the end of the create, the batch size.
    waiting_batches: Option<operations::Batches>,
    /// Peaks of the control plane's demand.
    pub peaks: ControlPlanePeaks,
    /// An etcd member's memory at the last sample [bytes].
    etcd_memory_now: f64,
    /// Each manager instance's worker node (from 0), as the scheduler placed its pod.
    placement: Vec<usize>,
    /// Faults of the run.
    faults: Vec<Fault>,
    /// Prism Central outage windows.
    outages: Vec<(SimTime, SimTime)>,
    /// When each machine's task of each kind last started (or was last shifted).
    task_started: Vec<[SimTime; 4]>,
    /// Timeline runs only: each machine's task of each kind, when it was submitted and
    /// started, until it finishes.
    task_submitted: Vec<[(SimTime, SimTime); 4]>,
    /// Timeline runs only: Prism Central's finished tasks, as its task list shows them.
    pub task_log: Vec<crate::prism_central::TaskRecord>,
    /// Prism Central tasks finished [count].
    pub tasks_finished: u64,
    /// Events handled, by kind in [`Event::KINDS`] order [count].
    pub events_by_kind: [u64; Event::KINDS.len()],
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
    /// Per cluster, whether the current upgrade was seen done on it: a wave ends once each
    /// of its clusters was, as a user's script remembers the clusters it saw finish.
    upgrade_seen_done: Vec<bool>,
    /// The MachineDeployments' rolling-update maxSurge and maxUnavailable.
    rollout: (u32, u32),
    /// The garbage collector's deletes issued and not yet done [count].
    gc_pending: u32,
    /// User commands waiting to be run again after a failure.
    user_retries: Vec<Write>,
    /// The MachineHealthCheck's node startup timeout, if the scenario sets one.
    mhc_timeout: Option<SimDuration>,
    /// Its unhealthy-node-condition timeout.
    mhc_unhealthy_timeout: SimDuration,
    rng_node_failures: SimRng,
    rng_kubelet: SimRng,
    rng_workload: SimRng,
    /// Whether the ClusterCaches are connected to each cluster.
    connected: Vec<bool>,
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
    /// `streams`. `timeline` turns on sampling of gauges. Its parts are built where they
    /// belong; what is left is one line per field of the world, which is why it is long.
    pub fn new(cfg: ModelConfig, fleet: FleetSpec, streams: &RngStreams, timeline: bool) -> Self {
        let workers = fleet
            .machines_per_cluster
            .saturating_sub(fleet.control_plane_replicas);
        let (mut clusters, machines) =
            make_fleet(fleet.clusters, fleet.control_plane_replicas, workers);
        clusters.iter_mut().for_each(|c| c.classic = fleet.classic);
        let api = &cfg.kube_apiserver;
        let levels = apf::default_levels();
        let apiservers = ApiServerRt::replicas(
            api.replicas,
            api.max_requests_inflight + api.max_mutating_requests_inflight,
            &levels,
            (api.apf_fair_queuing, api.apf_borrowing),
        );
        let Instances {
            managers,
            mgr_base,
            shards,
            ctrls,
            ctrl_base,
        } = Instances::new(&cfg, api.replicas, &levels[LEVEL_WORKLOAD_LOW as usize]);
        // Each manager instance's worker node, as the scheduler places the pods.
        let placement = {
            use crate::scenario::placement::{allocatable, manager_pods, place};
            let alloc = allocatable(&cfg, &cfg.nodes.workers);
            place(&manager_pods(&cfg), cfg.nodes.workers.count, alloc)
                .expect("validated: every manager's pod fits on a worker")
        };
        let etcd_cfg = cfg.etcd.etcd_config();
        let store = EtcdStore::new(
            &etcd_cfg,
            cfg.thresholds.etcd_size_fraction * cfg.etcd.quota_backend_bytes.0 as f64,
        );
        let pc_cfg = cfg.prism_central.pc_config();
        let pcs = (0..cfg.prism_central.count.max(1))
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
            rng_in_memory: streams.stream(StreamId::named("in-memory-cloud")),
            watches: crate::controllers::watches::watches(cfg.infrastructure_provider),
            rng_restarts: streams.stream(StreamId::named("controller-restarts")),
            metrics: Metrics::new(n_machines, n_clusters),
            alerts: alerts::Alerts::new(
                cfg.alerts.evaluation_interval.0 as u64,
                &Controller::ALL.map(|c| shards[c.manager()] as usize),
            ),
            stored_by_kind: [0; ObjKind::ALL.len()],
            count_by_kind: [0; ObjKind::ALL.len()],
            event_expiry: VecDeque::new(),
            compaction_mark: SimTime::ZERO,
            lease_created: vec![false; n_managers],
            poll_rec: vec![u32::MAX; n_machines],
            vm_create_submitted: vec![SimTime::ZERO; n_machines],
            cp_window: VecDeque::new(),
            kind_window: VecDeque::new(),
            applied: fleet.clusters,
            waiting_batches: None,
            nodes: cfg
                .nodes
                .cpu_sharing
                .then(|| nodes::Nodes::new(&cfg, &placement)),
            placement,
            reconcile_costs: crate::controllers::cpu::reconcile_costs(&cfg.costs.cpu),
            peaks: ControlPlanePeaks::default(),
            etcd_memory_now: 0.0,
            faults: Vec::new(),
            outages: Vec::new(),
            task_started: vec![[SimTime::ZERO; 4]; n_machines],
            task_submitted: Vec::new(),
            task_log: Vec::new(),
            tasks_finished: 0,
            events_by_kind: [0; Event::KINDS.len()],
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
            upgrade_seen_done: Vec::new(),
            rollout: (1, 0),
            gc_pending: 0,
            user_retries: Vec::new(),
            mhc_timeout: None,
            mhc_unhealthy_timeout: SimDuration::ZERO,
            rng_node_failures: streams.stream(StreamId::named("node-failures")),
            rng_kubelet: streams.stream(StreamId::named("kubelet")),
            rng_workload: streams.stream(StreamId::named("workload-apiserver")),
            connected: vec![false; n_clusters],
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
        match self.fleet.batch {
            Some(b) if b > 0 && self.fleet.wait.is_some() => {
                let wait = self.fleet.wait.expect("checked");
                self.apply_batches(sched, 0, self.applied, b, wait)
            }
            _ => {
                for c in 0..self.applied {
                    sched.schedule_at(self.fleet.applied_at(c), Event::ClusterApplied(c));
                }
            }
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
        self.start_health_probes(sched);
        if self.cfg.kube_apiserver.apf_borrowing {
            sched.schedule_in(apf::borrowing::ADJUSTMENT_PERIOD, Event::ApfBorrowingDue);
        }
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
        self.events_by_kind[event.kind()] += 1;
        match event {
            Event::UserRetry(i) => self.user_retry(sched, i),
            Event::ClusterApplied(c) => self.cluster_applied(sched, c),
            Event::QueueDelayElapsed { ci, key, at } => {
                self.queue_delay_elapsed(sched, ci, key, at)
            }
            // A thread that ran direct on its node, or a CPU slot of the manager's own.
            Event::CpuDone(rec) if self.nodes.is_some() => self.reconcile_cpu_done(sched, rec),
            Event::CpuDone(rec) => self.cpu_done(sched, rec),
            Event::TokenGranted(req) => self.token_granted(sched, req),
            Event::ApfQueueTimedOut(req) => self.apf_queue_timed_out(sched, req),
            Event::ApfFinalSeatsElapsed {
                replica,
                level,
                queue,
                seats,
            } => {
                let queue = (queue != u32::MAX).then_some(queue);
                let lingering = apf::Lingering {
                    queue,
                    seats,
                    after: SimDuration::ZERO,
                };
                self.apf_final_seats_elapsed(sched, (replica, level), lingering)
            }
            Event::ApfBorrowingDue => self.apf_borrowing_due(sched),
            Event::RetryAfterElapsed(req) => self.retry_after_elapsed(sched, req),
            Event::RequestProcessed(req) => self.processed(sched, req),
            Event::NodeCpuDone(n) => self.node_cpu_done(sched, n as usize),
            Event::EtcdBatchCommitted => self.batch_committed(sched),
            Event::PcCallAnswered(rec) => self.pc_answered(sched, rec),
            Event::PcRetryElapsed(rec) | Event::PcPollDue(rec) => self.pc_call_due(sched, rec),
            Event::PcTaskFinished { machine, kind } => self.pc_task_finished(sched, machine, kind),
            Event::NodeJoined(m) => self.node_joined(sched, m),
            Event::ResyncDue { manager, kind } => {
                self.resync(sched, manager, ObjKind::ALL[kind as usize])
            }
            Event::LeaseRenewalDue(m) => self.lease(sched, m),
            Event::CompactionDue => self.compaction_due(sched),
            Event::AutoCompactionDue => self.auto_compaction_due(sched),
            Event::EventTtlSweep => self.event_ttl_sweep(sched),
            Event::ManagerRestarted(m) => self.restarted(sched, m),
            Event::ApiServerRestarted(r) => self.apiserver_restarted(sched, r as usize),
            Event::SampleDue => self.sample(sched),
            Event::FaultBegan(i) => self.fault_began(sched, i),
            Event::FaultEnded(i) => self.fault_ended(i),
            Event::HealthProbesDue => self.health_probes_due(sched),
            Event::NodeStatusReported(m) => self.node_status_reported(sched, m),
            Event::WorkloadCallAnswered(rec) => self.workload_call_answered(sched, rec),
        }
    }
}
