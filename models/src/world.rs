//! The simulated management cluster: managers, controllers, API servers, etcd and Prism
//! Central, wired together, creating a fleet object by object.
//!
//! A reconcile takes a worker, waits for a CPU slot of its manager's pod, runs its recipe
//! ([`crate::reconcile`]): Prism Central calls, then writes one after another. Each write
//! waits for a token of the manager's rate limiter, is admitted by API Priority and
//! Fairness on the API server replica the manager's connection is pinned to (client-go
//! keeps one HTTP/2 connection), is processed, joins etcd's next group commit, and when it
//! commits its effect lands on the fleet state and every watching controller's queue
//! receives the change. The reconcile then finishes: done, requeue-after or requeue with
//! backoff.

use std::collections::VecDeque;

use sim_core::stats::LatencyHistogram;
use sim_core::{EventId, Model, RngStreams, Scheduler, SimDuration, SimRng, SimTime, StreamId};

use crate::apiserver::apf::{self, Admission, PriorityLevel};
use crate::config::{ManagerConfig, ModelConfig};
use crate::controllers::{Controller, KeySpace, MapTo, WATCHES, When, cached_kinds, watchers_of};
use crate::etcd::{EtcdConfig, EtcdStore, GroupCommit};
use crate::faults::Fault;
use crate::fleet::{ClusterState, MachineState, ObjKind, OldMachineSet, make_fleet};
use crate::operations::{AfterOp, OpTiming};
use crate::prism_central::{PrismCentral, PrismCentralConfig, TaskKind};
use crate::rate_limiter::{ClientLimiter, ClientRateLimit};
use crate::reconcile::{self, Effect, Outcome, PcWork, Plan, Target, Verb, Write};
use crate::slab::Slab;
use crate::steady::Snapshot;
use crate::workqueue::{Priority, WorkQueue, WorkQueueConfig};

/// Where time is spent waiting, for bottleneck attribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The manager's client-side token bucket.
    RateLimiter,
    /// A controller's workqueue, waiting for a worker.
    Workqueue,
    /// The controller pod's CPU limit (throttling).
    Cpu,
    /// APF queues of the API server, 429 retries included.
    ApfQueue,
    /// etcd: waiting for the next group commit and the commit itself.
    Etcd,
    /// Prism Central: task slots and 429 retries.
    PrismCentral,
}

impl Resource {
    /// Every resource, in report order.
    pub const ALL: [Resource; 6] = [
        Resource::RateLimiter,
        Resource::Workqueue,
        Resource::Cpu,
        Resource::ApfQueue,
        Resource::Etcd,
        Resource::PrismCentral,
    ];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Resource::RateLimiter => "rate-limiter",
            Resource::Workqueue => "workqueue",
            Resource::Cpu => "controller-cpu",
            Resource::ApfQueue => "apf-queue",
            Resource::Etcd => "etcd",
            Resource::PrismCentral => "prism-central",
        }
    }
}

/// Time in service, for the attribution's other half.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Reconcile CPU.
    Reconcile,
    /// API server processing.
    ApiServer,
    /// Prism Central calls and tasks.
    PrismCentral,
    /// VM boot and kubeadm.
    Boot,
}

/// Who a wait is on behalf of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    None,
    Cluster(u32),
    Machine(u32),
}

impl From<Target> for Owner {
    fn from(t: Target) -> Self {
        match t {
            Target::Cluster(c) => Owner::Cluster(c),
            Target::Machine(m) => Owner::Machine(m),
        }
    }
}

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

/// What a request asks of the API server.
#[derive(Clone, Copy, Debug)]
enum Op {
    Write(Write),
    /// A GET served from etcd (the Lease read before a renewal).
    Read,
    /// A LIST of every object of a kind (a relist after a restart).
    List {
        objects: u32,
    },
    /// A Lease renewal.
    LeaseUpdate,
    /// A Kubernetes Event create.
    EventCreate,
    /// A Kubernetes Event count patch (a repeat).
    EventPatch,
}

struct Request {
    rec: Option<u32>,
    manager: u8,
    op: Op,
    owner: Owner,
    level: u8,
    replica: u8,
    width: u32,
    attempts: u32,
    /// When this attempt reached the API server.
    arrived: SimTime,
    /// When this attempt started waiting (for its token, or its Retry-After).
    waiting_since: SimTime,
    apf_queue: u32,
    timeout: Option<EventId>,
    /// Whether it holds APF seats (it is executing).
    executing: bool,
    /// When it reached etcd's leader.
    etcd_at: SimTime,
    /// The epoch of the manager process that sent it.
    epoch: u32,
}

/// A Prism Central operation of a recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PcOp {
    Call,
    /// POST that starts a task, then poll it until done.
    Task(TaskKind),
    /// A call that starts a task nobody waits for.
    Submit(TaskKind),
}

struct PcProgress {
    /// Look-up calls still to make before `ops`.
    lookups: u32,
    ops: &'static [PcOp],
    idx: usize,
    attempts: u32,
    polling: bool,
    task_submitted_at: SimTime,
}

struct Reconcile {
    ctrl: Controller,
    /// Controller instance (index into `ctrls`).
    ci: usize,
    /// Manager instance (index into `managers`).
    mi: usize,
    key: u32,
    epoch: u32,
    started: SimTime,
    cpu: SimDuration,
    cpu_queued_at: SimTime,
    plan: Plan,
    next_write: usize,
    pc: Option<PcProgress>,
    failed: bool,
    /// What its worker is doing now, as a [`Resource`] index (`Workqueue`: in service).
    activity: u8,
}

struct ManagerRt {
    name: String,
    /// Which manager (index in the configuration's order); several instances share it.
    kind: usize,
    /// Which shard of that manager.
    shard: u32,
    limiter: ClientLimiter,
    cores: u32,
    speed: f64,
    cpu_busy: u32,
    cpu_queue: VecDeque<u32>,
    epoch: u32,
    up: bool,
    replica: u8,
    hand: Vec<u32>,
    memory_limit: f64,
    memory_base: f64,
    memory: f64,
    memory_peak: f64,
    cpu_seconds: f64,
    cpu_window: VecDeque<f64>,
    cpu_peak_cores: f64,
    cpu_limit: f64,
    oom_kills: u32,
    limiter_wait: LatencyHistogram,
    limiter_wait_total: f64,
    sync_period: f64,
    /// LISTs of a restarted process still running; its workers wait for them.
    lists_pending: u32,
    /// Restarts injected by a fault [count].
    restarts: u32,
}

/// One controller's runtime state and figures.
pub struct ControllerRt {
    /// Which controller.
    pub ctrl: Controller,
    /// Its manager instance (index into the world's managers).
    pub mi: usize,
    /// Its manager instance's name (`capi-controller-manager`, or `...-shard-2`).
    pub manager_name: String,
    /// Its workqueue (depth and latency figures inside).
    pub queue: WorkQueue,
    workers: u32,
    busy: u32,
    /// Reconcile durations, dequeue to result.
    pub reconcile_time: LatencyHistogram,
    /// Reconciles finished [count].
    pub reconciles: u64,
    /// Reconciles ended by an error [count].
    pub errors: u64,
    /// Time this controller's requests waited for the manager's rate limiter [s].
    pub limiter_wait: f64,
    /// Busy workers by what they are doing now, indexed by [`Resource`] (`Workqueue`
    /// stands for "in service").
    activity: [u32; 6],
    /// ∫ of `activity` over time [worker-seconds].
    activity_integral: [f64; 6],
    activity_at: SimTime,
    /// `activity_integral` when each key last became ready for a worker.
    ready_snap: Vec<[f64; 6]>,
}

fn ctrl_advance(ct: &mut ControllerRt, now: SimTime) {
    let dt = now.saturating_since(ct.activity_at).as_secs_f64();
    if dt > 0.0 {
        for i in 0..6 {
            ct.activity_integral[i] += f64::from(ct.activity[i]) * dt;
        }
        ct.activity_at = now;
    }
}

struct ApiServerRt {
    levels: Vec<PriorityLevel<u32>>,
    cpu_seconds: f64,
}

/// Figures collected during the run.
pub struct Metrics {
    /// Mutating request latency, APF arrival to response.
    pub api_mutating: LatencyHistogram,
    /// Read-only request latency.
    pub api_readonly: LatencyHistogram,
    /// Requests answered 429 by APF [count].
    pub api_429: u64,
    /// Requests that failed after client-go's retries, or with NOSPACE [count].
    pub api_failed: u64,
    /// Writes committed by kind [count].
    pub writes_by_kind: [u64; ObjKind::ALL.len()],
    /// Writes committed by kind and verb: create, patch, status patch, delete [count].
    pub writes_by_verb: [[u64; 4]; ObjKind::ALL.len()],
    /// API requests by kind, no-op updates included [count].
    pub requests_by_kind: [u64; ObjKind::ALL.len()],
    /// VM create: task submitted to task finished (slot wait plus execution).
    pub vm_create: LatencyHistogram,
    /// VM create tasks that failed (the `vm-create-failures` fault) [count].
    pub vm_create_failures: u64,
    /// Machines the MachineHealthCheck marked for remediation [count].
    pub remediations: u64,
    /// Workers whose node failed (`node-failures`).
    pub node_failures: u64,
    /// Waiting time by resource, summed over every machine's path [s].
    pub machine_waits: Vec<[f64; 6]>,
    /// Waiting time by resource on cluster-level objects, per cluster [s].
    pub cluster_waits: Vec<[f64; 6]>,
    /// Waiting for a worker charged to the workqueue itself (workers busy in service), by
    /// controller [s].
    pub queue_wait_by_ctrl: [f64; 10],
    /// Service time by kind, summed over the fleet [s].
    pub service: [f64; 4],
    /// Timeline rows, if sampling was asked for.
    pub timeline: Vec<TimelineRow>,
    /// Time the last cluster became ready.
    pub fleet_ready_at: Option<SimTime>,
    /// Kubernetes Events alive [count].
    pub events_alive: u64,
}

/// Gauges sampled over simulated time.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TimelineRow {
    /// Simulated time [s].
    pub t_s: f64,
    /// Workqueue depth per controller, in [`Controller::ALL`] order [items].
    pub queue_depth: Vec<usize>,
    /// APF seats in use, all levels and replicas [seats].
    pub seats_in_use: u32,
    /// Requests waiting in APF queues [count].
    pub apf_queued: usize,
    /// etcd database size [bytes].
    pub etcd_db_bytes: u64,
    /// VM tasks running in Prism Central [count].
    pub pc_tasks_running: u32,
    /// VM tasks waiting for a Prism Central slot [count].
    pub pc_tasks_waiting: f64,
    /// VM tasks finished since the start [count].
    pub pc_tasks_finished: u64,
    /// Machines whose status reports Running [count].
    pub machines_running: u32,
    /// Clusters ready [count].
    pub clusters_ready: u32,
}

/// The fleet to create.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct FleetSpec {
    /// Workload clusters [count].
    pub clusters: u32,
    /// Machines per cluster, control plane included [count].
    pub machines_per_cluster: u32,
    /// Control-plane machines per cluster (1, 3 or 5).
    pub control_plane_replicas: u32,
    /// Clusters applied together, a batch every `batch_interval_s`; all at once if `None`.
    pub batch: Option<u32>,
    /// Time between batches [s].
    pub batch_interval_s: f64,
}

impl FleetSpec {
    /// `clusters` clusters of `machines_per_cluster` machines, `control_plane_replicas` of
    /// them control plane, all applied at once.
    pub fn all_at_once(
        clusters: u32,
        machines_per_cluster: u32,
        control_plane_replicas: u32,
    ) -> Self {
        FleetSpec {
            clusters,
            machines_per_cluster,
            control_plane_replicas,
            batch: None,
            batch_interval_s: 0.0,
        }
    }

    /// When cluster `c` is applied.
    pub fn applied_at(&self, c: u32) -> SimTime {
        match self.batch {
            Some(b) if b > 0 => {
                SimTime::ZERO + SimDuration::from_secs_f64(f64::from(c / b) * self.batch_interval_s)
            }
            _ => SimTime::ZERO,
        }
    }
}

/// Index of the priority levels used (in [`apf::default_levels`] order).
const LEVEL_WORKLOAD_LOW: u8 = 4;
const LEVEL_GLOBAL_DEFAULT: u8 = 5;
/// The "manager" number of the user applying Clusters.
const USER: u8 = u8::MAX;

/// Seconds before a user command that failed is run again [I]: a script's retry.
const USER_RETRY_S: u64 = 10;
/// Interval of metric samples [s].
pub const SAMPLE_INTERVAL_S: u64 = 15;

const CLUSTER_CATEGORY_OPS: &[PcOp] = &[PcOp::Call, PcOp::Call];
/// CAPX deleting a cluster's two category values: per value a filtered LIST, a GET for
/// the ETag and a DELETE (`DeleteCategories`, prism-go-client `Categories.Delete`).
const CLUSTER_CATEGORY_DELETE_OPS: &[PcOp] = &[PcOp::Call; 6];
/// CAPX deleting a VM: GET it, LIST its running tasks, GET it for its ETag, DELETE.
const DELETE_SUBMIT_OPS: &[PcOp] = &[
    PcOp::Call,
    PcOp::Call,
    PcOp::Call,
    PcOp::Submit(TaskKind::VmDelete),
];
/// The delete task still runs: GET the VM, LIST its tasks.
const DELETE_WAIT_OPS: &[PcOp] = &[PcOp::Call, PcOp::Call];
/// The VM is gone: the GET answers 404.
const DELETE_GONE_OPS: &[PcOp] = &[PcOp::Call];

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
fn exponential_gap(rng: &mut SimRng, mean: SimDuration) -> SimDuration {
    use rand::RngExt;
    let u: f64 = rng.random();
    SimDuration::from_secs_f64(-mean.as_secs_f64() * (1.0f64 - u).ln())
}

fn manager_rt(
    name: String,
    kind: usize,
    shard: u32,
    m: &ManagerConfig,
    replica: u8,
    hand: Vec<u32>,
) -> ManagerRt {
    let limit = m.cpu_limit.0;
    let cores = limit.ceil().max(1.0) as u32;
    ManagerRt {
        name,
        kind,
        shard,
        limiter: ClientLimiter::new(match m.kube_api_qps.0 {
            Some(qps) => ClientRateLimit::Limited {
                qps,
                burst: m.kube_api_burst,
            },
            None => ClientRateLimit::Off,
        }),
        cores,
        speed: limit / f64::from(cores),
        cpu_busy: 0,
        cpu_queue: VecDeque::new(),
        epoch: 0,
        up: true,
        replica,
        hand,
        memory_limit: m.memory_limit.0 as f64,
        memory_base: m.memory_base.0 as f64,
        memory: m.memory_base.0 as f64,
        memory_peak: m.memory_base.0 as f64,
        cpu_seconds: 0.0,
        cpu_window: VecDeque::new(),
        cpu_peak_cores: 0.0,
        cpu_limit: limit,
        oom_kills: 0,
        limiter_wait: LatencyHistogram::new(),
        limiter_wait_total: 0.0,
        sync_period: m.sync_period.0,
        lists_pending: 0,
        restarts: 0,
    }
}

fn concurrency(cfg: &ModelConfig, c: Controller) -> u32 {
    let m = cfg.managers()[c.manager()].1;
    let v = match c {
        Controller::Cluster => m.cluster_concurrency,
        Controller::ClusterTopology => m.clustertopology_concurrency,
        Controller::MachineDeployment => m.machinedeployment_concurrency,
        Controller::MachineSet => m.machineset_concurrency,
        Controller::Machine => m.machine_concurrency,
        Controller::KubeadmConfig => m.kubeadmconfig_concurrency,
        Controller::KubeadmControlPlane => m.kubeadmcontrolplane_concurrency,
        Controller::NutanixCluster => m.nutanixcluster_concurrency,
        Controller::NutanixMachine => m.nutanixmachine_concurrency,
        Controller::MachineHealthCheck => m.machinehealthcheck_concurrency,
    };
    // controller-runtime's MaxConcurrentReconciles default.
    v.unwrap_or(1)
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

    /// Injects `faults` (call before [`World::start`]).
    pub fn set_faults(&mut self, faults: Vec<Fault>) {
        self.outages = faults
            .iter()
            .filter_map(|f| match *f {
                Fault::PrismCentralOutage { at, duration } => {
                    Some((SimTime::ZERO + at, SimTime::ZERO + at + duration))
                }
                _ => None,
            })
            .collect();
        self.mhc_timeout = faults.iter().find_map(|f| match *f {
            Fault::MachineHealthCheck {
                node_startup_timeout,
                ..
            } => Some(node_startup_timeout),
            _ => None,
        });
        self.mhc_unhealthy_timeout = faults
            .iter()
            .find_map(|f| match *f {
                Fault::MachineHealthCheck {
                    unhealthy_timeout, ..
                } => Some(unhealthy_timeout),
                _ => None,
            })
            .unwrap_or(SimDuration::ZERO);
        self.faults = faults;
    }

    /// The operations to run after the create, in order (call before [`World::start`]).
    pub fn set_after(&mut self, after: Vec<AfterOp>) {
        self.after = after;
    }

    /// Gives cluster `c` at least `n` worker slots: a Machine a MachineSet creates after
    /// the first ones (a scale-up, a replacement) gets a new slot after every existing
    /// machine; a deleted Machine keeps its own.
    fn ensure_worker_slots(&mut self, c: usize, n: u32) {
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
    fn ensure_cp_slots(&mut self, c: usize, n: u32) {
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

    fn grow_machine_figures(&mut self) {
        let n = self.machines.len();
        self.metrics.machine_waits.resize(n, [0.0; 6]);
        self.poll_rec.resize(n, u32::MAX);
        self.vm_create_submitted.resize(n, SimTime::ZERO);
        self.task_started.resize(n, [SimTime::ZERO; 4]);
    }

    /// Whether the clusters have a MachineHealthCheck.
    pub fn mhc_enabled(&self) -> bool {
        self.mhc_timeout.is_some()
    }

    /// How long the workload's `steady` operation asks for, if it has one.
    pub fn steady_requested(&self) -> Option<SimDuration> {
        self.after.iter().find_map(|op| match op {
            AfterOp::Steady(d) => Some(*d),
            AfterOp::Scale { .. }
            | AfterOp::Upgrade { .. }
            | AfterOp::Delete
            | AfterOp::WaitUntil(_) => None,
        })
    }

    /// Starts or checks the operations after the create; true when all have finished.
    fn advance_ops(&mut self, sched: &mut Scheduler<Event>, now: SimTime) -> bool {
        while let Some(&op) = self.after.get(self.after_i) {
            let fresh = self.op_started.is_none();
            let started = *self.op_started.get_or_insert(now);
            if let AfterOp::WaitUntil(t) = op {
                if now < SimTime::ZERO + t {
                    return false;
                }
                self.after_i += 1;
                self.op_started = None;
                continue;
            }
            let finished = match op {
                AfterOp::WaitUntil(_) => unreachable!("handled above"),
                AfterOp::Steady(d) => {
                    if self.steady_start.is_none() {
                        self.steady_start = Some(Snapshot::take(self, now));
                    }
                    let done = now >= started + d;
                    if done {
                        self.steady_end = Some(Snapshot::take(self, now));
                    }
                    done
                }
                AfterOp::Delete => {
                    if fresh {
                        for c in 0..self.clusters.len() as u32 {
                            let w = Write {
                                kind: ObjKind::Cluster,
                                verb: Verb::MarkDeleted,
                                target: Target::Cluster(c),
                                effect: Effect::ClusterDeleting,
                            };
                            self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
                        }
                        false
                    } else {
                        self.clusters.iter().all(|c| !c.exists)
                    }
                }
                AfterOp::Upgrade {
                    wave,
                    max_surge,
                    max_unavailable,
                } => {
                    if fresh {
                        self.upgrade_version += 1;
                        self.upgrade_started = 0;
                        self.upgrade_wave_start = 0;
                        self.rollout = (max_surge, max_unavailable);
                    }
                    let v = self.upgrade_version;
                    let n = self.clusters.len() as u32;
                    let busy = (self.upgrade_wave_start..self.upgrade_started)
                        .any(|c| !self.upgraded(c as usize, v));
                    if busy {
                        false
                    } else if self.upgrade_started < n {
                        // The next wave: the user patches each Cluster topology's version.
                        let wave = if wave == 0 { n } else { wave };
                        let end = (self.upgrade_started + wave).min(n);
                        for c in self.upgrade_started..end {
                            let w = Write {
                                kind: ObjKind::Cluster,
                                verb: Verb::Patch,
                                target: Target::Cluster(c),
                                effect: Effect::ClusterVersion { version: v },
                            };
                            self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
                        }
                        self.upgrade_wave_start = self.upgrade_started;
                        self.upgrade_started = end;
                        false
                    } else {
                        true
                    }
                }
                AfterOp::Scale { by } => {
                    if fresh {
                        // The user patches each Cluster's topology replicas.
                        // Every cluster was created with the same workers; each scale moves
                        // the target from the last one, never below 0.
                        let prev = self.scale_target.unwrap_or_else(|| {
                            self.clusters.first().map_or(0, |c| c.initial_workers)
                        });
                        let target = (prev as i64 + i64::from(by)).max(0) as u32;
                        self.scale_target = Some(target);
                        for c in 0..self.clusters.len() as u32 {
                            let workers = target;
                            let w = Write {
                                kind: ObjKind::Cluster,
                                verb: Verb::Patch,
                                target: Target::Cluster(c),
                                effect: Effect::TopologyWorkers { workers },
                            };
                            self.issue(sched, None, USER, Op::Write(w), Owner::Cluster(c));
                        }
                        false
                    } else {
                        let target = self.scale_target.unwrap_or(0);
                        self.clusters.iter().all(|c| {
                            c.topology_workers == target
                                && c.md_replicas == target
                                && c.workers == target
                                && c.workers_created - c.workers_gone == target
                                && c.workers_running == target
                        })
                    }
                }
            };
            if !finished {
                return false;
            }
            self.op_timings.push(OpTiming {
                op: op.name().into(),
                started_s: started.as_secs_f64(),
                finished_s: Some(now.as_secs_f64()),
            });
            self.after_i += 1;
            self.op_started = None;
        }
        true
    }

    /// A running worker, drawn uniformly, loses its node (NotReady). The Machine
    /// controller and the MachineHealthCheck see it through the workload cluster's Node
    /// watch (the ClusterCache).
    fn fail_a_node(&mut self, sched: &mut Scheduler<Event>) {
        use rand::RngExt;
        let candidates: Vec<u32> = (0..self.machines.len() as u32)
            .filter(|&m| {
                let x = &self.machines[m as usize];
                x.exists && x.running && !x.deleting && !x.is_cp() && x.node_failed_at.is_none()
            })
            .collect();
        if candidates.is_empty() {
            return;
        }
        let m = candidates[self.rng_node_failures.random_range(0..candidates.len())];
        let now = sched.now();
        self.machines[m as usize].node_failed_at = Some(now);
        self.metrics.node_failures += 1;
        self.enqueue(sched, Controller::Machine, m, Priority::Normal);
        if self.mhc_enabled() {
            let c = self.machines[m as usize].cluster;
            self.enqueue(sched, Controller::MachineHealthCheck, c, Priority::Normal);
        }
    }

    /// Whether cluster `c` has finished its upgrade to `v`: every Machine runs version `v`,
    /// as many as wanted, and the old MachineSet is gone.
    fn upgraded(&self, c: usize, v: u8) -> bool {
        let cl = &self.clusters[c];
        cl.version == v
            && cl.kcp_version == v
            && cl.kcp_rolled_out == v
            && cl.md_version == v
            && cl.ms_version == v
            && cl.old_ms.is_none()
            && cl.cp_alive() == cl.cp_replicas
            && cl.cp_running == cl.cp_replicas
            && cl.workers == cl.md_replicas
            && cl.workers_created - cl.workers_gone == cl.workers
            && cl.workers_running == cl.workers
    }

    /// The Prism Central serving a cluster: clusters are spread over them round-robin.
    fn pc_of_cluster(&self, c: u32) -> usize {
        c as usize % self.pcs.len()
    }

    /// The Prism Central a reconcile talks to.
    fn pc_of(&self, ctrl: Controller, key: u32) -> usize {
        match ctrl.key_space() {
            KeySpace::Cluster => self.pc_of_cluster(key),
            KeySpace::Machine => self.pc_of_cluster(self.machines[key as usize].cluster),
        }
    }

    /// Prism Central downtime within [from, to].
    fn outage_overlap(&self, from: SimTime, to: SimTime) -> SimDuration {
        self.outages
            .iter()
            .map(|&(a, b)| {
                let (lo, hi) = (a.max(from), b.min(to));
                if hi > lo { hi - lo } else { SimDuration::ZERO }
            })
            .fold(SimDuration::ZERO, |x, y| x + y)
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

    fn resync_delay(&mut self, manager: usize) -> SimDuration {
        // controller-runtime's informer resync: the period times a factor in [0.9, 1.0).
        use rand::RngExt;
        let f: f64 = self.rng_resync.random_range(0.9..1.0);
        SimDuration::from_secs_f64(self.managers[manager].sync_period * f)
    }

    fn wait(&mut self, owner: Owner, r: Resource, d: SimDuration) {
        self.wait_secs(owner, r, d.as_secs_f64());
    }

    /// Charges a wait to its owner's path to Running; waits after the machine runs (or
    /// the cluster is ready) are off that path.
    fn wait_secs(&mut self, owner: Owner, r: Resource, s: f64) {
        match owner {
            Owner::Machine(m) if self.machines[m as usize].running => {}
            Owner::Cluster(c) if self.clusters[c as usize].ready_at.is_some() => {}
            Owner::Machine(m) => self.metrics.machine_waits[m as usize][r as usize] += s,
            Owner::Cluster(c) => self.metrics.cluster_waits[c as usize][r as usize] += s,
            Owner::None => {}
        }
    }

    /// The reconcile's worker now waits at `cat` (or is in service: `Workqueue`).
    fn set_activity(&mut self, now: SimTime, rec: u32, cat: Resource) {
        let Some(r) = self.recs.get_mut(rec) else {
            return;
        };
        if r.epoch != self.managers[r.mi].epoch || r.activity == cat as u8 {
            return;
        }
        let ct = &mut self.ctrls[r.ci];
        ctrl_advance(ct, now);
        ct.activity[r.activity as usize] -= 1;
        ct.activity[cat as usize] += 1;
        r.activity = cat as u8;
    }

    /// Forgets a reconcile whose process was killed.
    fn drop_orphan(&mut self, rec: u32) {
        if let Some(r) = self.recs.remove(rec)
            && r.ctrl == Controller::NutanixMachine
            && self.poll_rec[r.key as usize] == rec
        {
            self.poll_rec[r.key as usize] = u32::MAX;
        }
    }

    /// `key` became ready for a worker of controller instance `ci` now.
    fn mark_ready(&mut self, now: SimTime, ci: usize, key: u32) {
        let ct = &mut self.ctrls[ci];
        ctrl_advance(ct, now);
        let k = key as usize;
        if k >= ct.ready_snap.len() {
            ct.ready_snap.resize(k + 1, [0.0; 6]);
        }
        ct.ready_snap[k] = ct.activity_integral;
    }

    /// The workload cluster a key belongs to.
    fn cluster_of(&self, ctrl: Controller, key: u32) -> u32 {
        match ctrl.key_space() {
            KeySpace::Cluster => key,
            KeySpace::Machine => self.machines[key as usize].cluster,
        }
    }

    /// The controller instance (shard) that owns `key`: clusters are spread over a
    /// manager's shards as namespaces are.
    fn ci(&self, ctrl: Controller, key: u32) -> usize {
        let shard = self.cluster_of(ctrl, key) % self.shards[ctrl.manager()];
        self.ctrl_base[ctrl.index()] + shard as usize
    }

    /// Whether cluster `c` belongs to manager instance `mi`'s shard.
    fn in_shard(&self, mi: usize, c: u32) -> bool {
        let m = &self.managers[mi];
        c % self.shards[m.kind] == m.shard
    }

    fn owner_of(ctrl: Controller, key: u32) -> Owner {
        match ctrl.key_space() {
            KeySpace::Cluster => Owner::Cluster(key),
            KeySpace::Machine => Owner::Machine(key),
        }
    }

    // ----- workqueues and workers -------------------------------------------------------

    fn enqueue(
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
        let c = self.ci(ctrl, key);
        if !self.managers[self.ctrls[c].mi].up {
            return; // a dead process has no queue; the relist after restart catches up
        }
        if self.ctrls[c].queue.add(key, now, prio) {
            self.mark_ready(now, c, key);
            self.dispatch(sched, c);
        }
    }

    fn schedule_delay(
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

    fn dispatch(&mut self, sched: &mut Scheduler<Event>, c: usize) {
        let now = sched.now();
        if self.managers[self.ctrls[c].mi].lists_pending > 0 {
            return; // workers start once the caches have synced
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

    /// An item waited `waited` for a worker because every worker was busy. The wait is
    /// charged to what those workers were doing meanwhile: waiting at a resource (that
    /// resource is the cause) or in service (too few workers: the workqueue).
    fn charge_queue_wait(&mut self, now: SimTime, ci: usize, key: u32, waited: SimDuration) {
        let w = waited.as_secs_f64();
        if w <= 0.0 {
            return;
        }
        let ctrl = self.ctrls[ci].ctrl;
        let ct = &mut self.ctrls[ci];
        ctrl_advance(ct, now);
        let snap = ct
            .ready_snap
            .get(key as usize)
            .copied()
            .unwrap_or(ct.activity_integral);
        let delta: [f64; 6] = std::array::from_fn(|i| (ct.activity_integral[i] - snap[i]).max(0.0));
        let total: f64 = delta.iter().sum();
        let owner = Self::owner_of(ctrl, key);
        if total > 0.0 {
            for r in Resource::ALL {
                let share = delta[r as usize] / total;
                if share > 0.0 {
                    self.wait_secs(owner, r, w * share);
                }
            }
            let in_service = w * delta[Resource::Workqueue as usize] / total;
            self.metrics.queue_wait_by_ctrl[ctrl.index()] += in_service;
        } else {
            self.wait_secs(owner, Resource::Workqueue, w);
            self.metrics.queue_wait_by_ctrl[ctrl.index()] += w;
        }
    }

    fn start_reconcile(&mut self, sched: &mut Scheduler<Event>, ci: usize, key: u32) {
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
        let ctx = reconcile::Ctx {
            now,
            mhc_timeout: self.mhc_timeout,
            mhc_unhealthy_timeout: self.mhc_unhealthy_timeout,
            rollout: self.rollout,
        };
        let plan = reconcile::plan(ctrl, key, &self.clusters, &self.machines, &ctx);
        let costs = &self.cfg.costs;
        let base = if ctrl == Controller::ClusterTopology {
            costs.topology_reconcile_cpu
        } else {
            costs.reconcile_cpu
        };
        let mut cpu = base.sample(&mut self.rng_cpu);
        for _ in 0..plan.writes.len() {
            cpu += costs.cpu_per_write.sample(&mut self.rng_cpu);
        }
        let mgr = self.ctrls[ci].mi;
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
        });
        let ct = &mut self.ctrls[ci];
        ctrl_advance(ct, now);
        ct.activity[Resource::Cpu as usize] += 1;
        let m = &mut self.managers[mgr];
        if m.cpu_busy < m.cores {
            m.cpu_busy += 1;
            self.run_cpu(sched, rec);
        } else {
            m.cpu_queue.push_back(rec);
        }
    }

    fn run_cpu(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
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

    fn cpu_done(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
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
        let r = self.recs.get_mut(rec).expect("checked above");
        let machine = || &self.machines[r.key as usize];
        let work = match r.plan.pc {
            // CAPX finds an existing VM by name: a restarted reconcile skips what is done.
            Some(PcWork::ProvisionVm) => Some(provision_ops(
                machine(),
                self.cfg.prism_central.lookups_per_vm_create,
            )),
            Some(PcWork::DeleteVm) => {
                let m = machine();
                let delete = 1 << task_code(TaskKind::VmDelete);
                let ops: &'static [PcOp] = if m.task_done & delete != 0 {
                    DELETE_GONE_OPS
                } else if m.tasks_pending != 0 {
                    DELETE_WAIT_OPS
                } else {
                    DELETE_SUBMIT_OPS
                };
                Some((0, ops))
            }
            Some(PcWork::ClusterCategory) => Some((0, CLUSTER_CATEGORY_OPS)),
            Some(PcWork::ClusterCategoryDelete) => Some((0, CLUSTER_CATEGORY_DELETE_OPS)),
            None => None,
        };
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

    fn next_write(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let r = self.recs.get_mut(rec).expect("live reconcile");
        if r.next_write < r.plan.writes.len() {
            let w = r.plan.writes[r.next_write];
            let mgr = r.mi as u8;
            self.issue(sched, Some(rec), mgr, Op::Write(w), w.target.into());
        } else {
            self.finish(sched, rec);
        }
    }

    fn finish(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
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
        ct.busy -= 1;
        // An add during the reconcile puts the key back in the queue here.
        if ct.queue.done(r.key, now) {
            self.mark_ready(now, c, r.key);
        }
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

    // ----- API requests -----------------------------------------------------------------

    fn issue(
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
                let r = self.next_user_replica;
                self.next_user_replica = (r + 1) % self.apiservers.len() as u8;
                (LEVEL_GLOBAL_DEFAULT, r)
            }
            _ => (LEVEL_WORKLOAD_LOW, self.managers[manager as usize].replica),
        };
        let width = match op {
            // LIST: one seat per 100 objects, capped at 10.
            Op::List { objects } => objects.div_ceil(100).clamp(1, 10),
            _ => 1,
        };
        let req = self.reqs.insert(Request {
            rec,
            manager,
            op,
            owner,
            level,
            replica,
            width,
            attempts: 0,
            arrived: now,
            waiting_since: now,
            apf_queue: 0,
            timeout: None,
            executing: false,
            etcd_at: now,
            epoch: if manager == USER {
                0
            } else {
                self.managers[manager as usize].epoch
            },
        });
        self.through_limiter(sched, req);
    }

    fn through_limiter(&mut self, sched: &mut Scheduler<Event>, req: u32) {
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

    fn admit(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let r = self.reqs.get_mut(req).expect("live request");
        r.arrived = now;
        let (replica, level, width) = (r.replica as usize, r.level as usize, r.width);
        let hand: &[u32] = if r.manager == USER || level != LEVEL_WORKLOAD_LOW as usize {
            &[0, 1, 2, 3]
        } else {
            &self.managers[r.manager as usize].hand
        };
        let admission = self.apiservers[replica].levels[level].arrive(now, req, hand, width);
        match admission {
            Admission::Dispatched => self.execute(sched, req),
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
    }

    fn rejected(&mut self, sched: &mut Scheduler<Event>, req: u32) {
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

    fn execute(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let r = self.reqs.get_mut(req).expect("live request");
        if let Some(id) = r.timeout.take() {
            sched.cancel(id);
        }
        r.executing = true;
        let (owner, waited, rec, op) = (r.owner, now - r.arrived, r.rec, r.op);
        let replica = r.replica as usize;
        if let Some(rec) = rec {
            self.set_activity(now, rec, Resource::Workqueue);
        }
        let api = &self.cfg.kube_apiserver;
        let (d, cpu) = match op {
            Op::Write(_) | Op::LeaseUpdate | Op::EventCreate | Op::EventPatch => (
                api.write_processing.sample_duration(&mut self.rng_api),
                api.write_cpu.sample(&mut self.rng_api),
            ),
            Op::Read => {
                let d = api.read_processing.sample_duration(&mut self.rng_api);
                (d, d.as_secs_f64() * 0.5)
            }
            Op::List { objects } => {
                let cpu = api.list_cpu_per_object * f64::from(objects);
                (SimDuration::from_secs_f64(cpu), cpu)
            }
        };
        self.apiservers[replica].cpu_seconds += cpu;
        self.metrics.service[Service::ApiServer as usize] += d.as_secs_f64();
        self.wait(owner, Resource::ApfQueue, waited);
        sched.schedule_in(d, Event::RequestProcessed(req));
    }

    fn processed(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let r = self.reqs.get(req).expect("live request");
        let kind = match r.op {
            Op::Write(w) => Some((w.kind, w.verb)),
            Op::LeaseUpdate => Some((ObjKind::Lease, Verb::Patch)),
            Op::EventCreate => Some((ObjKind::Event, Verb::Create)),
            Op::EventPatch => Some((ObjKind::Event, Verb::Patch)),
            Op::Read | Op::List { .. } => None,
        };
        let Some((kind, verb)) = kind else {
            self.complete(sched, req, true);
            return;
        };
        self.metrics.requests_by_kind[kind.index()] += 1;
        if verb == Verb::NoopUpdate {
            self.complete(sched, req, true);
            return;
        }
        // etcd's quota check happens before the proposal (quotaKVServer).
        if verb != Verb::Delete && self.store.nospace_at.is_some() {
            self.store.rejected_writes += 1;
            self.fail_request(sched, req);
            return;
        }
        let rec = r.rec;
        self.reqs.get_mut(req).expect("live request").etcd_at = now;
        if let Some(rec) = rec {
            self.set_activity(now, rec, Resource::Etcd);
        }
        if let Some(d) = self
            .etcd
            .submit(req, now, &self.etcd_cfg, &mut self.rng_etcd)
        {
            sched.schedule_in(d, Event::EtcdBatchCommitted);
        }
    }

    fn batch_committed(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let mut batch = Vec::new();
        let next = self
            .etcd
            .batch_committed(now, &self.etcd_cfg, &mut self.rng_etcd, |req| {
                batch.push(req)
            });
        if let Some(d) = next {
            sched.schedule_in(d, Event::EtcdBatchCommitted);
        }
        for req in batch {
            let ok = self.commit(sched, req);
            self.complete(sched, req, ok);
        }
    }

    /// Applies a committed write to the store and the fleet; `false` if etcd refused it.
    fn commit(&mut self, sched: &mut Scheduler<Event>, req: u32) -> bool {
        let now = sched.now();
        let r = self.reqs.get(req).expect("live request");
        let (owner, submitted) = (r.owner, r.etcd_at);
        let first_lease = r.manager != USER && !self.lease_created[r.manager as usize];
        let (kind, verb, write) = match r.op {
            Op::Write(w) => (w.kind, w.verb, Some(w)),
            // The first renewal creates the manager's Lease.
            Op::LeaseUpdate if first_lease => (ObjKind::Lease, Verb::Create, None),
            Op::LeaseUpdate => (ObjKind::Lease, Verb::Patch, None),
            Op::EventCreate => (ObjKind::Event, Verb::Create, None),
            Op::EventPatch => (ObjKind::Event, Verb::Patch, None),
            Op::Read | Op::List { .. } => unreachable!("reads do not reach etcd's write path"),
        };
        // A delete of an object already gone is a 404 and a create of one that exists a
        // 409: no write (two joining KubeadmConfigs both unlock the init lock; a reconcile
        // retried after a failed write repeats the deletes it had already made).
        if let Some(w) = write
            && self.changes_nothing(&w)
        {
            return true;
        }
        let sizes = &self.cfg.costs.object_size;
        let size = match write {
            // A machine's Secret is its bootstrap data (cloud-init with certificates).
            Some(Write {
                kind: ObjKind::Secret,
                target: Target::Machine(_),
                ..
            }) => sizes.bootstrap_secret.0,
            _ => kind.size(sizes),
        };
        let result = match verb {
            Verb::Create => self.store.put(now, None, size),
            Verb::Patch | Verb::StatusPatch | Verb::MarkDeleted => {
                self.store.put(now, Some(size), size)
            }
            Verb::Delete | Verb::FinalizerRemoved => {
                self.store.delete(now, size);
                Ok(())
            }
            Verb::NoopUpdate => Ok(()),
        };
        if result.is_err() {
            return false;
        }
        self.wait(owner, Resource::Etcd, now.saturating_since(submitted));
        self.metrics.writes_by_kind[kind.index()] += 1;
        // As the client sent it: a DELETE, a PATCH.
        let v = match verb {
            Verb::Create => 0,
            Verb::Patch | Verb::NoopUpdate | Verb::FinalizerRemoved => 1,
            Verb::StatusPatch => 2,
            Verb::Delete | Verb::MarkDeleted => 3,
        };
        self.metrics.writes_by_verb[kind.index()][v] += 1;
        match verb {
            Verb::Create => self.object_created(kind, size, true),
            Verb::Delete | Verb::FinalizerRemoved => self.object_created(kind, size, false),
            _ => {}
        }
        if let Op::LeaseUpdate = self.reqs.get(req).expect("live").op {
            self.lease_created[self.reqs.get(req).expect("live").manager as usize] = true;
        }
        if kind == ObjKind::Event && verb == Verb::Create {
            self.metrics.events_alive += 1;
            self.event_expiry
                .push_back(now + SimDuration::from_hours(1));
        }
        if let Some(w) = write {
            let apiserver_cpu =
                self.cfg.kube_apiserver.watch_event_cpu * f64::from(watchers_of(kind));
            let replica = self.reqs.get(req).expect("live").replica as usize;
            self.apiservers[replica].cpu_seconds += apiserver_cpu;
            self.apply(sched, w);
        }
        true
    }

    /// Whether `w` deletes an object that is already gone (404) or creates one that exists
    /// (409: a create retried after a failure, whose first try was stored).
    fn changes_nothing(&self, w: &Write) -> bool {
        match w.target {
            Target::Cluster(c) => {
                let cl = &self.clusters[c as usize];
                match w.effect {
                    Effect::LockDeleted => !cl.init_lock,
                    Effect::ClusterCreated => cl.exists,
                    Effect::NcCreated => cl.nc_exists,
                    Effect::KcpCreated => cl.kcp_exists,
                    Effect::MdCreated => cl.md_exists,
                    Effect::MsCreated => cl.ms_exists,
                    Effect::ShimCreated => cl.shim,
                    Effect::LockCreated => cl.init_lock,
                    Effect::CpTemplateCreated => cl.cp_template,
                    Effect::MdTemplateCreated => cl.md_templates >= 2,
                    Effect::CertSecretCreated => cl.cert_secrets >= 5,
                    Effect::NewMsCreated { version, .. } => cl.ms_version == version,
                    Effect::OldMsGone => cl.old_ms.is_none(),
                    Effect::MhcCreated => cl.mhc_exists,
                    Effect::MdTemplateDeleted => cl.md_templates_deleted >= 2,
                    Effect::MhcGone => !cl.mhc_exists,
                    Effect::MdGone => !cl.md_exists,
                    Effect::MsGone => !cl.ms_exists,
                    Effect::KcpGone => !cl.kcp_exists,
                    Effect::NcGone => !cl.nc_exists,
                    Effect::ClusterGone => !cl.exists,
                    _ => false,
                }
            }
            Target::Machine(m) => {
                let ms = &self.machines[m as usize];
                match w.effect {
                    // A create retried after a failure part-way: the object is there.
                    Effect::KcCreated => ms.kc_exists,
                    Effect::NmCreated => ms.nm_exists,
                    Effect::MachineCreated { .. } => ms.exists,
                    Effect::BootstrapSecretCreated => ms.kc_secret,
                    Effect::KcDeleted => !ms.kc_exists,
                    Effect::NmGone => !ms.nm_exists,
                    Effect::MachineGone => !ms.exists,
                    _ => false,
                }
            }
        }
    }

    fn object_created(&mut self, kind: ObjKind, size: u64, created: bool) {
        let k = kind.index();
        if created {
            self.stored_by_kind[k] += size;
            self.count_by_kind[k] += 1;
        } else {
            self.stored_by_kind[k] = self.stored_by_kind[k].saturating_sub(size);
            self.count_by_kind[k] = self.count_by_kind[k].saturating_sub(1);
        }
        for m in 0..self.managers.len() {
            let k = self.managers[m].kind;
            if cached_kinds(k).contains(&kind) {
                // A shard caches its namespaces' objects: the stored bytes split evenly.
                let cached: u64 = cached_kinds(k)
                    .iter()
                    .map(|k| self.stored_by_kind[k.index()])
                    .sum();
                let share = cached as f64 / f64::from(self.shards[k]);
                let mg = &mut self.managers[m];
                mg.memory = mg.memory_base + self.cfg.costs.cache_bytes_per_stored_byte * share;
                mg.memory_peak = mg.memory_peak.max(mg.memory);
            }
        }
    }

    fn record_latency(&mut self, op: Op, latency: SimDuration) {
        match op {
            Op::Read | Op::List { .. } => self.metrics.api_readonly.record(latency),
            _ => self.metrics.api_mutating.record(latency),
        }
    }

    /// The API server answered: releases the request's seats (dispatching what now
    /// fits) and hands the answer to its reconcile.
    fn complete(&mut self, sched: &mut Scheduler<Event>, req: u32, ok: bool) {
        let now = sched.now();
        let r = self.reqs.remove(req).expect("live request");
        self.record_latency(r.op, now - r.arrived);
        if !ok {
            self.metrics.api_failed += 1;
        }
        if r.executing {
            let (replica, level) = (r.replica as usize, r.level as usize);
            let mut dispatched = Vec::new();
            self.apiservers[replica].levels[level].release(now, r.width, |q| dispatched.push(q));
            for q in dispatched {
                self.execute(sched, q);
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
        if let Some(rec) = r.rec {
            self.request_done(sched, rec, ok);
        }
        // The user's own commands (create, scale, upgrade, delete a Cluster) that failed
        // after the client's retries are run again a little later, as a script would; so
        // are the garbage collector's deletes, which its workqueue retries.
        if let (false, USER, Op::Write(w)) = (ok, r.manager, r.op)
            && (matches!(
                w.effect,
                Effect::ClusterCreated
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
    fn fail_request(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        self.complete(sched, req, false);
    }

    /// Whether the process that sent `req` has been killed since (its pending requests
    /// are never sent).
    fn sender_dead(&self, req: u32) -> bool {
        let r = self.reqs.get(req).expect("live request");
        r.manager != USER && r.epoch != self.managers[r.manager as usize].epoch
    }

    fn request_done(&mut self, sched: &mut Scheduler<Event>, rec: u32, ok: bool) {
        let Some(r) = self.recs.get_mut(rec) else {
            return;
        };
        if r.epoch != self.managers[r.mi].epoch {
            self.drop_orphan(rec);
            return;
        }
        if ok {
            r.next_write += 1;
            self.set_activity(sched.now(), rec, Resource::Workqueue);
            self.next_write(sched, rec);
        } else {
            // The write failed: the reconcile returns the error.
            r.failed = true;
            self.finish(sched, rec);
        }
    }

    // ----- effects and watches ----------------------------------------------------------

    fn apply(&mut self, sched: &mut Scheduler<Event>, w: Write) {
        let now = sched.now();
        let mut infra_transition = false;
        let mut init_transition = false;
        let mut gc_secret = false;
        // Objects the garbage collector deletes once their owner is gone.
        let mut gc: Vec<ObjKind> = Vec::new();
        match w.target {
            Target::Cluster(c) => {
                let cl = &mut self.clusters[c as usize];
                match w.effect {
                    Effect::ClusterCreated => {
                        cl.exists = true;
                        cl.created_at = Some(now);
                    }
                    Effect::ClusterFinalizer => cl.finalizer = true,
                    Effect::ClusterPaused => cl.paused = true,
                    Effect::TopologyApplied => cl.topology_applied = true,
                    Effect::ShimCreated => cl.shim = true,
                    Effect::ShimDeleted => cl.shim = false,
                    Effect::ClusterEndpoint => cl.endpoint = true,
                    Effect::ClusterStatus {
                        sig,
                        phase,
                        infra,
                        cp_init,
                        ready,
                    } => {
                        infra_transition = infra && !cl.infra_reported;
                        init_transition = cp_init && !cl.cp_init_reported;
                        if init_transition {
                            cl.cp_init_at = Some(now);
                        }
                        cl.status_sig = sig;
                        cl.phase_reported = phase;
                        cl.infra_reported |= infra;
                        cl.cp_init_reported |= cp_init;
                        if ready && cl.ready_at.is_none() {
                            cl.ready_at = Some(now);
                            self.clusters_ready += 1;
                            if self.clusters_ready == self.clusters.len() as u32 {
                                self.metrics.fleet_ready_at = Some(now);
                            }
                        }
                    }
                    Effect::NcCreated => cl.nc_exists = true,
                    Effect::NcOwned => cl.nc_owned = true,
                    Effect::NcReady => cl.nc_ready = true,
                    Effect::KcpCreated => cl.kcp_exists = true,
                    Effect::KcpOwned => cl.kcp_owned = true,
                    Effect::KcpFinalizer => cl.kcp_finalizer = true,
                    Effect::KcpPaused => cl.kcp_paused = true,
                    Effect::CertSecretCreated => cl.cert_secrets += 1,
                    Effect::CpTemplateCreated => cl.cp_template = true,
                    Effect::MdTemplateCreated => cl.md_templates += 1,
                    Effect::KcpStatus {
                        sig,
                        version,
                        init,
                        rolled_out,
                    } => {
                        cl.kcp_status_sig = sig;
                        cl.kcp_version_reported |= version;
                        cl.kcp_init_reported |= init;
                        cl.kcp_rolled_out = rolled_out;
                    }
                    Effect::ClusterVersion { version } => cl.version = version,
                    Effect::KcpVersion { version } => cl.kcp_version = version,
                    Effect::MdVersion { version } => cl.md_version = version,
                    Effect::UpgradeReported { state } => cl.upgrade_reported = state,
                    Effect::NewMsCreated { version, replicas } => {
                        cl.old_ms = Some(OldMachineSet {
                            version: cl.ms_version,
                            replicas: cl.workers,
                            status_sig: cl.ms_status_sig,
                            deleting: false,
                            topology_cleaned: false,
                        });
                        cl.ms_version = version;
                        cl.workers = replicas;
                        cl.ms_finalizer = false;
                        cl.ms_paused = false;
                        cl.ms_status_sig = 0;
                    }
                    Effect::OldMsReplicas { replicas } => {
                        if let Some(o) = cl.old_ms.as_mut() {
                            o.replicas = replicas;
                        }
                    }
                    Effect::OldMsStatus { sig } => {
                        if let Some(o) = cl.old_ms.as_mut() {
                            o.status_sig = sig;
                        }
                    }
                    Effect::OldMsDeleting => {
                        if let Some(o) = cl.old_ms.as_mut() {
                            o.deleting = true;
                        }
                    }
                    Effect::OldMsTopologyCleaned => {
                        if let Some(o) = cl.old_ms.as_mut() {
                            o.topology_cleaned = true;
                        }
                    }
                    Effect::OldMsGone => cl.old_ms = None,
                    Effect::MdCreated => cl.md_exists = true,
                    Effect::ClusterDeleting => cl.deleting = true,
                    Effect::ClusterDeletePhase { phase } => cl.delete_phase = phase,
                    Effect::ClusterGone => {
                        cl.exists = false;
                        gc.push(ObjKind::Template); // the control plane's machine template
                    }
                    Effect::TopologyDeleteReported => cl.topology_delete_reported = true,
                    Effect::MdDeleting => cl.md_deleting = true,
                    Effect::MdTopologyCleaned => cl.md_topology_cleaned = true,
                    Effect::MdTemplateDeleted => cl.md_templates_deleted += 1,
                    Effect::MhcGone => cl.mhc_exists = false,
                    Effect::MdGone => cl.md_exists = false,
                    Effect::MsDeleting => cl.ms_deleting = true,
                    Effect::MsTopologyCleaned => cl.ms_topology_cleaned = true,
                    Effect::MsGone => cl.ms_exists = false,
                    Effect::KcpDeleting => cl.kcp_deleting = true,
                    Effect::KcpGone => {
                        cl.kcp_exists = false;
                        // The certificate Secrets and the kubeconfig the KCP owned.
                        gc.extend([ObjKind::Secret; 5]);
                    }
                    Effect::NcDeleting => cl.nc_deleting = true,
                    Effect::NcGone => cl.nc_exists = false,
                    Effect::MhcCreated => cl.mhc_exists = true,
                    Effect::MhcStatus { sig } => cl.mhc_status_sig = sig,
                    Effect::TopologyWorkers { workers } => cl.topology_workers = workers,
                    Effect::MdReplicas { replicas } => cl.md_replicas = replicas,
                    Effect::MsReplicas { replicas } => cl.workers = replicas,
                    Effect::MdFinalizer => cl.md_finalizer = true,
                    Effect::MdPaused => cl.md_paused = true,
                    Effect::MdStatus { sig } => cl.md_status_sig = sig,
                    Effect::MsCreated => cl.ms_exists = true,
                    Effect::MsFinalizer => cl.ms_finalizer = true,
                    Effect::MsPaused => cl.ms_paused = true,
                    Effect::MsStatus { sig } => cl.ms_status_sig = sig,
                    Effect::LockCreated => cl.init_lock = true,
                    Effect::LockDeleted => cl.init_lock = false,
                    _ => {}
                }
            }
            Target::Machine(m) => {
                let ms = &mut self.machines[m as usize];
                let c = ms.cluster as usize;
                match w.effect {
                    Effect::KcCreated => ms.kc_exists = true,
                    Effect::NmCreated => ms.nm_exists = true,
                    Effect::MachineCreated { version } => {
                        ms.exists = true;
                        ms.created_at = Some(now);
                        ms.version = version;
                        // MachineSet-created Machines carry the finalizer already; KCP's
                        // carry its pre-terminate hook.
                        ms.finalizer = !ms.is_cp();
                        ms.hook = ms.is_cp();
                        let cl = &mut self.clusters[c];
                        if ms.is_cp() {
                            cl.cp_created += 1;
                        } else {
                            cl.workers_created += 1;
                        }
                    }
                    Effect::MetadataApplied => ms.metadata_applied = true,
                    Effect::MachineFinalizer => ms.finalizer = true,
                    Effect::MachinePaused => ms.paused = true,
                    Effect::KcOwned => ms.kc_owned = true,
                    Effect::NmOwned => ms.nm_owned = true,
                    Effect::BootstrapRef => ms.bootstrap_ref = true,
                    Effect::ProviderId => ms.provider_id = true,
                    Effect::MachineStatus { sig, running } => {
                        ms.status_sig = sig;
                        if running && !ms.running {
                            ms.running = true;
                            ms.running_at = Some(now);
                            self.machines_running += 1;
                            let is_cp = ms.is_cp();
                            let cl = &mut self.clusters[c];
                            cl.running += 1;
                            if is_cp {
                                cl.cp_running += 1;
                            } else {
                                cl.workers_running += 1;
                            }
                        }
                    }
                    Effect::KcPaused => ms.kc_paused = true,
                    Effect::KcWaiting => ms.kc_waiting_reported = true,
                    Effect::KcReady => ms.kc_ready = true,
                    Effect::BootstrapSecretCreated => ms.kc_secret = true,
                    Effect::KcCertExpiry => ms.kc_cert_expiry = true,
                    Effect::NmFinalizer => ms.nm_finalizer = true,
                    Effect::NmReason { sig } => ms.nm_reason_sig = sig,
                    Effect::NmReady => {
                        ms.nm_ready = true;
                        ms.nm_ready_at = Some(now);
                    }
                    Effect::MachineDeleting => ms.deleting = true,
                    Effect::HookRemoved => ms.hook = false,
                    Effect::HcHealthy => ms.hc_healthy = true,
                    Effect::HcFailed => {
                        ms.hc_failed = true;
                        self.metrics.remediations += 1;
                    }
                    Effect::DrainStarted => ms.drain_started = true,
                    Effect::NmDeleting => ms.nm_deleting = true,
                    Effect::NmGone => ms.nm_exists = false,
                    Effect::KcDeleted => {
                        ms.kc_exists = false;
                        if std::mem::replace(&mut ms.kc_secret, false) {
                            // The garbage collector deletes the bootstrap data Secret the
                            // KubeadmConfig owned (a kube-controller-manager request).
                            gc_secret = true;
                        }
                    }
                    Effect::MachineGone => {
                        ms.exists = false;
                        ms.gone_at = Some(now);
                        let was_running = std::mem::replace(&mut ms.running, false);
                        let is_cp = ms.is_cp();
                        let cl = &mut self.clusters[c];
                        if is_cp {
                            cl.cp_gone += 1;
                        } else {
                            cl.workers_gone += 1;
                        }
                        if was_running {
                            cl.running -= 1;
                            if is_cp {
                                cl.cp_running -= 1;
                            } else {
                                cl.workers_running -= 1;
                            }
                            self.machines_running -= 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        for kind in gc {
            let w = Write {
                kind,
                verb: Verb::Delete,
                target: w.target,
                effect: Effect::None,
            };
            self.issue(sched, None, USER, Op::Write(w), Owner::None);
        }
        if gc_secret {
            let secret = Write {
                kind: ObjKind::Secret,
                verb: Verb::Delete,
                target: w.target,
                effect: Effect::None,
            };
            self.issue(sched, None, USER, Op::Write(secret), Owner::None);
        }
        if w.verb == Verb::Delete && matches!(w.kind, ObjKind::Secret | ObjKind::ConfigMap) {
            return; // nobody watches these deletions
        }
        self.fan_out(
            sched,
            w.kind,
            w.target,
            infra_transition,
            init_transition,
            Priority::Normal,
        );
    }

    /// Delivers a change of `kind` on `target` to every watching controller.
    fn fan_out(
        &mut self,
        sched: &mut Scheduler<Event>,
        kind: ObjKind,
        target: Target,
        infra_transition: bool,
        init_transition: bool,
        prio: Priority,
    ) {
        for watch in WATCHES.iter().filter(|w| w.kind == kind) {
            let pass = match (watch.when, target) {
                (When::Always, _) => true,
                (When::InfraProvisioned, _) => infra_transition,
                (When::ControlPlaneInitialized, _) => init_transition,
                (When::ControlPlaneMachine, Target::Machine(m)) => {
                    self.machines[m as usize].is_cp()
                }
                (When::WorkerMachine, Target::Machine(m)) => !self.machines[m as usize].is_cp(),
                _ => false,
            };
            if !pass {
                continue;
            }
            let ctrl = watch.controller;
            match (watch.map_to, target) {
                (MapTo::Same, Target::Cluster(c)) if ctrl.key_space() == KeySpace::Cluster => {
                    self.enqueue(sched, ctrl, c, prio)
                }
                (MapTo::Same, Target::Machine(m)) if ctrl.key_space() == KeySpace::Machine => {
                    self.enqueue(sched, ctrl, m, prio)
                }
                (MapTo::OwningCluster, Target::Machine(m)) => {
                    let c = self.machines[m as usize].cluster;
                    self.enqueue(sched, ctrl, c, prio)
                }
                (MapTo::MachinesOfCluster, Target::Cluster(c)) => {
                    for m in self.clusters[c as usize].machine_slots() {
                        if self.machine_object_exists(ctrl, m) {
                            self.enqueue(sched, ctrl, m, prio);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn machine_object_exists(&self, ctrl: Controller, m: u32) -> bool {
        let ms = &self.machines[m as usize];
        match ctrl {
            Controller::Machine => ms.exists,
            Controller::KubeadmConfig => ms.kc_exists,
            Controller::NutanixMachine => ms.nm_exists,
            _ => false,
        }
    }

    fn cluster_object_exists(&self, kind: ObjKind, c: u32) -> bool {
        let cl = &self.clusters[c as usize];
        match kind {
            ObjKind::Cluster => cl.exists,
            ObjKind::NutanixCluster => cl.nc_exists,
            ObjKind::KubeadmControlPlane => cl.kcp_exists,
            ObjKind::MachineDeployment => cl.md_exists,
            ObjKind::MachineSet => cl.ms_exists,
            ObjKind::MachineHealthCheck => cl.mhc_exists,
            _ => false,
        }
    }

    // ----- Prism Central ----------------------------------------------------------------

    fn pc_next(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
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
    fn pc_call(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let now = sched.now();
        let pc = match self.recs.get(rec) {
            Some(r) => self.pc_of(r.ctrl, r.key),
            None => 0,
        };
        match self.pcs[pc].request(now, &mut self.rng_pc) {
            Some(latency) => {
                self.metrics.service[Service::PrismCentral as usize] += latency.as_secs_f64();
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
    fn submit_task(&mut self, sched: &mut Scheduler<Event>, key: u32, kind: TaskKind) -> bool {
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
        match self.pcs[pc].submit(now, task, kind, &mut self.rng_pc) {
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

    fn pc_answered(&mut self, sched: &mut Scheduler<Event>, rec: u32) {
        let now = sched.now();
        let Some(r) = self.recs.get_mut(rec) else {
            return;
        };
        if r.epoch != self.managers[r.mi].epoch {
            self.drop_orphan(rec);
            return;
        }
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

    fn pc_task_finished(&mut self, sched: &mut Scheduler<Event>, machine: u32, kind: u8) {
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

    // ----- periodic work ----------------------------------------------------------------

    fn resync(&mut self, sched: &mut Scheduler<Event>, manager: u8, kind: ObjKind) {
        let d = self.resync_delay(manager as usize);
        sched.schedule_in(
            d,
            Event::ResyncDue {
                manager,
                kind: kind as u8,
            },
        );
        // The informer redelivers every cached object of the kind to the manager's
        // handlers; only its own controllers' queues receive them.
        self.enqueue_shard(sched, manager as usize, |c| c.kind() == kind);
    }

    /// Enqueues at low priority every existing object of instance `mi`'s shard, for each
    /// of its controllers that `pick` selects (a resync, or the initial list after a
    /// restart).
    fn enqueue_shard(
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

    fn lease(&mut self, sched: &mut Scheduler<Event>, manager: u8) {
        // client-go leader election renews every RetryPeriod: 2 s, KCP 5 s; a GET then
        // an UPDATE of the Lease.
        let period = if self.managers[manager as usize].kind == 2 {
            5
        } else {
            2
        };
        sched.schedule_in(
            SimDuration::from_secs(period),
            Event::LeaseRenewalDue(manager),
        );
        if !self.managers[manager as usize].up {
            return;
        }
        self.issue(sched, None, manager, Op::Read, Owner::None);
        self.issue(sched, None, manager, Op::LeaseUpdate, Owner::None);
    }

    fn oom_check(&mut self, sched: &mut Scheduler<Event>) {
        for m in 0..self.managers.len() {
            let mg = &self.managers[m];
            if mg.up && mg.memory > mg.memory_limit {
                self.oom_kill(sched, m);
            }
        }
    }

    fn oom_kill(&mut self, sched: &mut Scheduler<Event>, m: usize) {
        self.managers[m].oom_kills += 1;
        let kills = self.managers[m].oom_kills;
        // CrashLoopBackOff doubles the restart delay, capped at 5 minutes.
        let base = self.cfg.managers()[self.managers[m].kind].1.restart_delay.0;
        let delay = (base * 2f64.powi(kills as i32 - 1)).min(300.0);
        self.kill(sched, m, delay);
    }

    /// The manager's process dies; it runs again after `delay` seconds.
    fn kill(&mut self, sched: &mut Scheduler<Event>, m: usize, delay: f64) {
        let now = sched.now();
        let mg = &mut self.managers[m];
        mg.epoch += 1;
        mg.up = false;
        mg.cpu_busy = 0;
        let queued: Vec<u32> = mg.cpu_queue.drain(..).collect();
        for rec in queued {
            self.drop_orphan(rec);
        }
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

    fn restarted(&mut self, sched: &mut Scheduler<Event>, m: u8) {
        let mg = &mut self.managers[m as usize];
        if mg.memory > mg.memory_limit {
            // The caches fill up again during the initial list: killed again.
            mg.up = true;
            self.oom_kill(sched, m as usize);
            return;
        }
        mg.up = true;
        // A new process: a full token bucket, and no worker starts before every informer
        // has listed (controller-runtime waits for the caches to sync).
        let kind = mg.kind;
        let mcfg = self.cfg.managers()[kind].1;
        mg.limiter = ClientLimiter::new(match mcfg.kube_api_qps.0 {
            Some(qps) => ClientRateLimit::Limited {
                qps,
                burst: mcfg.kube_api_burst,
            },
            None => ClientRateLimit::Off,
        });
        mg.lists_pending = cached_kinds(kind).len() as u32;
        let shards = self.shards[kind];
        for &k in cached_kinds(kind) {
            let objects = (self.count_by_kind[k.index()] / u64::from(shards)) as u32;
            self.issue(sched, None, m, Op::List { objects }, Owner::None);
        }
        self.enqueue_shard(sched, m as usize, |_| true);
    }

    fn sample(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        sched.schedule_in(SimDuration::from_secs(SAMPLE_INTERVAL_S), Event::SampleDue);
        for mg in &mut self.managers {
            mg.cpu_window.push_back(mg.cpu_seconds);
            if mg.cpu_window.len() > 5 {
                mg.cpu_window.pop_front();
            }
            if mg.cpu_window.len() == 5 {
                let used = mg.cpu_window[4] - mg.cpu_window[0];
                mg.cpu_peak_cores = mg.cpu_peak_cores.max(used / (4 * SAMPLE_INTERVAL_S) as f64);
            }
        }
        // Control-plane demand: 1-minute windows, as for the managers.
        let api_cpu = self
            .apiservers
            .iter()
            .map(|a| a.cpu_seconds)
            .fold(0.0, f64::max);
        let writes: u64 = self.metrics.writes_by_kind.iter().sum();
        self.cp_window.push_back((api_cpu, writes as f64));
        if self.cp_window.len() > 5 {
            self.cp_window.pop_front();
        }
        if self.cp_window.len() == 5 {
            let span = (4 * SAMPLE_INTERVAL_S) as f64;
            let (first, last) = (self.cp_window[0], self.cp_window[4]);
            self.peaks.apiserver_cpu_cores = self
                .peaks
                .apiserver_cpu_cores
                .max((last.0 - first.0) / span);
            self.peaks.etcd_writes_per_s =
                self.peaks.etcd_writes_per_s.max((last.1 - first.1) / span);
        }
        self.peaks.live_bytes = self.peaks.live_bytes.max(self.store.live_bytes());
        self.oom_check(sched);
        if self.timeline {
            let (mut seats, mut queued) = (0, 0);
            for a in &self.apiservers {
                for l in &a.levels {
                    seats += l.in_use();
                    queued += l.queued();
                }
            }
            self.metrics.timeline.push(TimelineRow {
                t_s: now.as_secs_f64(),
                queue_depth: Controller::ALL
                    .iter()
                    .map(|&k| {
                        self.ctrls
                            .iter()
                            .filter(|c| c.ctrl == k)
                            .map(|c| c.queue.len())
                            .sum()
                    })
                    .collect(),
                seats_in_use: seats,
                apf_queued: queued,
                etcd_db_bytes: self.store.db_size(),
                pc_tasks_running: self.pcs.iter().map(|p| p.running()).sum(),
                pc_tasks_waiting: self.pcs.iter().map(|p| p.queue_gauge.value()).sum(),
                pc_tasks_finished: self.tasks_finished,
                machines_running: self.machines_running,
                clusters_ready: self.clusters_ready,
            });
        }
        let all_ready = self.clusters_ready == self.clusters.len() as u32;
        let stuck_on_quota = self
            .store
            .nospace_at
            .is_some_and(|t| now > t + SimDuration::from_mins(30));
        let mut done = all_ready;
        if all_ready {
            if self.op_timings.is_empty() {
                self.op_timings.push(OpTiming {
                    op: "create".into(),
                    started_s: 0.0,
                    finished_s: self.metrics.fleet_ready_at.map(|t| t.as_secs_f64()),
                });
            }
            done = self.advance_ops(sched, now);
        }
        if done || stuck_on_quota || now >= self.deadline {
            if self.steady_start.is_some() && self.steady_end.is_none() {
                self.steady_end = Some(Snapshot::take(self, now));
            }
            if let (Some(op), Some(t)) = (self.after.get(self.after_i), self.op_started)
                && !matches!(op, AfterOp::WaitUntil(_))
            {
                self.op_timings.push(OpTiming {
                    op: op.name().into(),
                    started_s: t.as_secs_f64(),
                    finished_s: None,
                });
            }
            self.finished = true;
        }
    }

    // ----- read-outs for the report -----------------------------------------------------

    /// Managers' figures: name, peak 1-minute CPU [cores], CPU limit [cores], peak memory,
    /// memory limit [bytes], OOM kills, rate-limiter waits.
    pub fn manager_figures(&self) -> Vec<ManagerFigures> {
        self.managers
            .iter()
            .map(|m| ManagerFigures {
                name: m.name.clone(),
                cpu_peak_cores: m.cpu_peak_cores,
                cpu_limit_cores: m.cpu_limit,
                cpu_seconds: m.cpu_seconds,
                memory_peak_bytes: m.memory_peak,
                memory_limit_bytes: m.memory_limit,
                oom_kills: m.oom_kills,
                restarts: m.restarts,
                limiter_wait_p99_s: m.limiter_wait.quantile(0.99).as_secs_f64(),
                limiter_wait_total_s: m.limiter_wait_total,
            })
            .collect()
    }

    /// Peak APF seats in use on any replica's workload-low level, and its seats.
    pub fn apf_peak_seats(&self) -> (f64, u32) {
        let l = LEVEL_WORKLOAD_LOW as usize;
        let peak = self
            .apiservers
            .iter()
            .map(|a| a.levels[l].seats_gauge.max())
            .fold(0.0, f64::max);
        (peak, self.apiservers[0].levels[l].seats())
    }

    /// Requests rejected by each level, summed over replicas.
    pub fn apf_rejected(&self) -> u64 {
        self.apiservers
            .iter()
            .flat_map(|a| a.levels.iter())
            .map(|l| l.rejected)
            .sum()
    }

    /// Objects stored per kind [count].
    pub fn objects_by_kind(&self) -> [u64; ObjKind::ALL.len()] {
        self.count_by_kind
    }
}

/// The control plane's highest demand, from 15-second samples.
#[derive(Clone, Copy, Debug, Default)]
pub struct ControlPlanePeaks {
    /// Highest 1-minute average CPU of the busiest API server [cores].
    pub apiserver_cpu_cores: f64,
    /// Highest 1-minute average etcd write rate [1/s].
    pub etcd_writes_per_s: f64,
    /// Highest live bytes in etcd (what the watch cache holds) [bytes].
    pub live_bytes: u64,
}

/// One manager's figures for the report.
#[derive(Clone, Debug)]
pub struct ManagerFigures {
    /// Deployment name (with `-shard-N` when sharded).
    pub name: String,
    /// Highest 1-minute average CPU use [cores].
    pub cpu_peak_cores: f64,
    /// CPU limit [cores].
    pub cpu_limit_cores: f64,
    /// CPU used over the run [core-seconds].
    pub cpu_seconds: f64,
    /// Highest memory [bytes].
    pub memory_peak_bytes: f64,
    /// Memory limit [bytes].
    pub memory_limit_bytes: f64,
    /// OOM kills [count].
    pub oom_kills: u32,
    /// Restarts injected by a fault [count].
    pub restarts: u32,
    /// 99th percentile of the wait for a rate-limiter token [s].
    pub limiter_wait_p99_s: f64,
    /// Total time requests waited for tokens [s].
    pub limiter_wait_total_s: f64,
}

/// CAPX's `getOrCreateVM` after its look-ups (`prism-central.lookups-per-vm-create`):
/// create, custom attributes, power on, each a POST, a task polled to its end, and GETs.
const PROVISION_OPS: &[PcOp] = &[
    PcOp::Task(TaskKind::VmCreate),
    PcOp::Call,
    PcOp::Call,
    PcOp::Task(TaskKind::VmUpdate),
    PcOp::Call,
    PcOp::Call,
    PcOp::Task(TaskKind::VmPowerOn),
    PcOp::Call,
    PcOp::Call,
];

/// The Prism Central operations a VM-provisioning reconcile still has to do: look-up
/// calls first, then the rest of [`PROVISION_OPS`]. After a restart or an error, CAPX finds
/// the VM by name (one call) and goes on from the first task not yet done.
fn provision_ops(m: &MachineState, lookups: u32) -> (u32, &'static [PcOp]) {
    let from = |kind: TaskKind| {
        let at = PROVISION_OPS
            .iter()
            .position(|op| *op == PcOp::Task(kind))
            .expect("listed task");
        // Two GETs (the VM, then its etag) come before each task's POST.
        at.saturating_sub(2)
    };
    if task_flag(m, TaskKind::VmPowerOn) {
        (1, &[])
    } else if task_flag(m, TaskKind::VmUpdate) {
        (1, &PROVISION_OPS[from(TaskKind::VmPowerOn)..])
    } else if task_flag(m, TaskKind::VmCreate) {
        (1, &PROVISION_OPS[from(TaskKind::VmUpdate)..])
    } else {
        (lookups, PROVISION_OPS)
    }
}

/// A task kind's bit in [`MachineState::tasks_pending`], `task_done` and `task_failed`.
pub(crate) fn task_code(kind: TaskKind) -> u8 {
    match kind {
        TaskKind::VmCreate => 0,
        TaskKind::VmUpdate => 1,
        TaskKind::VmPowerOn => 2,
        TaskKind::VmDelete => 3,
    }
}

fn task_kind(code: u8) -> TaskKind {
    match code {
        0 => TaskKind::VmCreate,
        1 => TaskKind::VmUpdate,
        2 => TaskKind::VmPowerOn,
        _ => TaskKind::VmDelete,
    }
}

/// Whether the machine's task of `kind` has finished (the poll's answer).
fn task_flag(ms: &MachineState, kind: TaskKind) -> bool {
    ms.task_done & (1 << task_code(kind)) != 0
}

fn task_flag_set(ms: &mut MachineState, kind: TaskKind) {
    ms.task_done |= 1 << task_code(kind);
}

fn task_flag_clear(ms: &mut MachineState, kind: TaskKind) {
    ms.task_done &= !(1 << task_code(kind));
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
                let size = ObjKind::Event.size(&self.cfg.costs.object_size);
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
