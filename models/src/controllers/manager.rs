//! The manager processes and the controllers in them, as controller-runtime runs them: a
//! manager has one client-go rate limiter shared by its controllers, a pod CPU limit
//! (reconciles wait for a CPU slot; a fractional limit slows them), a memory that grows
//! with its informer caches, and a process epoch (a killed process forgets its work). A
//! controller has its workqueue and `concurrency` workers.

use std::collections::VecDeque;

use sim_core::SimTime;
use sim_core::stats::LatencyHistogram;

use crate::apiserver::client_limiter::{ClientLimiter, ClientRateLimit};
use sim_core::StreamId;

use crate::apiserver::apf::{self, PriorityLevelConfig};
use crate::controllers::workqueue::{WorkQueue, WorkQueueConfig};
use crate::kinds::Controller;
use crate::scenario::config::{ManagerConfig, ModelConfig, Provider};

pub(crate) struct ManagerRt {
    pub(crate) name: String,
    /// Which manager (index in the configuration's order); several instances share it.
    pub(crate) kind: usize,
    /// Which shard of that manager.
    pub(crate) shard: u32,
    pub(crate) limiter: ClientLimiter,
    pub(crate) cores: u32,
    pub(crate) speed: f64,
    pub(crate) cpu_busy: u32,
    pub(crate) cpu_queue: VecDeque<u32>,
    pub(crate) epoch: u32,
    pub(crate) up: bool,
    pub(crate) replica: u8,
    pub(crate) hand: Vec<u32>,
    pub(crate) memory_limit: f64,
    pub(crate) memory_base: f64,
    pub(crate) memory: f64,
    pub(crate) memory_peak: f64,
    /// Memory of its informer caches of the management cluster's objects [bytes].
    pub(crate) cache_memory: f64,
    /// Memory of its workload-cluster connections and remote caches [bytes].
    pub(crate) remote_memory: f64,
    pub(crate) cpu_seconds: f64,
    pub(crate) cpu_window: VecDeque<f64>,
    pub(crate) cpu_peak_cores: f64,
    pub(crate) cpu_limit: f64,
    pub(crate) oom_kills: u32,
    /// Evictions by its worker's kubelet, the node short of memory [count].
    pub(crate) evictions: u32,
    pub(crate) limiter_wait: LatencyHistogram,
    pub(crate) limiter_wait_total: f64,
    pub(crate) sync_period: f64,
    /// LISTs of a restarted process still running; its workers wait for them.
    pub(crate) lists_pending: u32,
    /// Restarts injected by a fault [count].
    pub(crate) restarts: u32,
    /// Whether it holds its leader-election Lease (its controllers run only then).
    pub(crate) leading: bool,
    /// When its last Lease write succeeded.
    pub(crate) renewed_at: SimTime,
    /// Whether its last Lease write failed.
    pub(crate) renew_failed: bool,
    /// Leaderships lost (renewals failing past the renew deadline) [count].
    pub(crate) leader_losses: u32,
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
    pub(crate) workers: u32,
    pub(crate) busy: u32,
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
    pub(crate) activity: [u32; 6],
    /// ∫ of `activity` over time [worker-seconds].
    pub(crate) activity_integral: [f64; 6],
    pub(crate) activity_at: SimTime,
    /// `activity_integral` when each key last became ready for a worker.
    pub(crate) ready_snap: Vec<[f64; 6]>,
}

pub(crate) fn ctrl_advance(ct: &mut ControllerRt, now: SimTime) {
    let dt = now.saturating_since(ct.activity_at).as_secs_f64();
    if dt > 0.0 {
        for i in 0..6 {
            ct.activity_integral[i] += f64::from(ct.activity[i]) * dt;
        }
        ct.activity_at = now;
    }
}

/// A new process's client-go token bucket: full, at `--kube-api-qps` and
/// `--kube-api-burst`, or none when the QPS is off.
pub(crate) fn client_limiter(m: &ManagerConfig) -> ClientLimiter {
    ClientLimiter::new(match m.kube_api_qps.0 {
        Some(qps) => ClientRateLimit::Limited {
            qps,
            burst: m.kube_api_burst,
        },
        None => ClientRateLimit::Off,
    })
}

pub(crate) fn manager_rt(
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
        limiter: client_limiter(m),
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
        cache_memory: 0.0,
        remote_memory: 0.0,
        cpu_seconds: 0.0,
        cpu_window: VecDeque::new(),
        cpu_peak_cores: 0.0,
        cpu_limit: limit,
        oom_kills: 0,
        evictions: 0,
        limiter_wait: LatencyHistogram::new(),
        limiter_wait_total: 0.0,
        sync_period: m.sync_period.0,
        lists_pending: 0,
        restarts: 0,
        leading: true,
        renewed_at: SimTime::ZERO,
        renew_failed: false,
        leader_losses: 0,
    }
}

pub(crate) fn concurrency(cfg: &ModelConfig, c: Controller) -> u32 {
    let m = cfg.managers()[c.manager()].1;
    let v = match c {
        Controller::Cluster => m.cluster_concurrency,
        Controller::ClusterTopology => m.clustertopology_concurrency,
        Controller::MachineDeployment => m.machinedeployment_concurrency,
        Controller::MachineSet => m.machineset_concurrency,
        Controller::Machine => m.machine_concurrency,
        Controller::KubeadmConfig => m.kubeadmconfig_concurrency,
        Controller::KubeadmControlPlane => m.kubeadmcontrolplane_concurrency,
        // CAPD runs its DevCluster controller with controller-runtime's default, its
        // DevMachines with `--concurrency`.
        Controller::NutanixCluster if cfg.infrastructure_provider == Provider::InMemory => None,
        Controller::NutanixMachine if cfg.infrastructure_provider == Provider::InMemory => {
            m.concurrency
        }
        Controller::NutanixCluster => m.nutanixcluster_concurrency,
        Controller::NutanixMachine => m.nutanixmachine_concurrency,
        Controller::MachineHealthCheck => m.machinehealthcheck_concurrency,
    };
    // controller-runtime's MaxConcurrentReconciles default.
    v.unwrap_or(1)
}

impl ManagerRt {
    /// Sets its memory from its parts, and the peak.
    pub(crate) fn update_memory(&mut self) {
        self.memory = self.memory_base + self.cache_memory + self.remote_memory;
        self.memory_peak = self.memory_peak.max(self.memory);
    }
}

/// The manager processes and controllers of a management cluster: each manager's shards
/// (a Deployment each), and each controller's instance in every shard of its manager.
pub(crate) struct Instances {
    /// Manager instances, each manager's shards in configuration order.
    pub(crate) managers: Vec<ManagerRt>,
    /// Index of each manager's first instance in `managers`.
    pub(crate) mgr_base: [usize; 4],
    /// Shards of each manager.
    pub(crate) shards: [u32; 4],
    /// Controller instances: each controller's shards, in [`Controller::ALL`] order.
    pub(crate) ctrls: Vec<ControllerRt>,
    /// Index of each controller's first instance in `ctrls`.
    pub(crate) ctrl_base: [usize; 10],
}

impl Instances {
    /// The instances `cfg` deploys, spread round-robin over `api_replicas` API servers,
    /// each manager's flow dealt its hand of `wl`'s (workload-low's) queues.
    pub(crate) fn new(cfg: &ModelConfig, api_replicas: u32, wl: &PriorityLevelConfig) -> Self {
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
                let replica = (i % api_replicas) as u8;
                managers.push(manager_rt(label, k, s, m, replica, hand.clone()));
            }
        }
        let mut ctrl_base = [0usize; 10];
        let mut ctrls = Vec::new();
        for &c in &Controller::ALL {
            ctrl_base[c.index()] = ctrls.len();
            for s in 0..shards[c.manager()] {
                let mi = mgr_base[c.manager()] + s as usize;
                ctrls.push(ControllerRt::new(cfg, c, mi, managers[mi].name.clone()));
            }
        }
        Instances {
            managers,
            mgr_base,
            shards,
            ctrls,
            ctrl_base,
        }
    }
}

impl ControllerRt {
    /// Controller `c`'s instance in manager instance `mi`, idle.
    fn new(cfg: &ModelConfig, c: Controller, mi: usize, manager_name: String) -> Self {
        let mcfg = cfg.managers()[c.manager()].1;
        let mut q = WorkQueueConfig::default_for(mcfg.queue);
        if c == Controller::NutanixMachine {
            // CAPX main.go hard-codes the machine controller's limiter: per-item backoff
            // 1 ms to 1000 s, max-of 10 qps / 100.
            q.base_delay_s = 0.001;
        }
        ControllerRt {
            ctrl: c,
            mi,
            manager_name,
            queue: WorkQueue::new(q, cfg.thresholds.workqueue_depth),
            workers: concurrency(cfg, c),
            busy: 0,
            reconcile_time: LatencyHistogram::new(),
            reconciles: 0,
            errors: 0,
            limiter_wait: 0.0,
            activity: [0; 6],
            activity_integral: [0.0; 6],
            activity_at: SimTime::ZERO,
            ready_snap: Vec::new(),
        }
    }
}
