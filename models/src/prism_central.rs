//! Prism Central: an API gateway with a request rate limit, and a task engine with a
//! limit on concurrent tasks.
//!
//! What it copies: the v4 API answers 429 above a request rate that depends on the PC
//! size (X-Small 30, Small 40, Large 60, X-Large 80 requests/s, from the nutanix.dev
//! pc.2024.1 post as transcribed second-hand; see docs/model.md); VM operations run as
//! tasks, which queue for the task engine's slots and take the guide's latencies (VM create
//! 30–120 s, delete 10–30 s, list 1–5 s). Task latencies stretch with load: a task started
//! while k of the n slots are busy takes (1 + slowdown · k/n) times its drawn latency.
//!
//! Estimates, not published figures: the task-slot counts per PC size, the power-on
//! latency, the API call latency, and the load slowdown. Left out: PC's own CPU and
//! memory, Prism Element, image and volume operations.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::stats::{LatencyHistogram, TimeWeightedGauge};
use sim_core::{SimDuration, SimRng, SimTime};

use crate::apiserver::client_limiter::TokenBucket;
use crate::dist::Dist;

/// Prism Central VM sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PcSize {
    /// 4 vCPU / 18 GB.
    XSmall,
    /// 6 vCPU / 26 GB.
    Small,
    /// 10 vCPU / 44 GB.
    Large,
    /// 14 vCPU / 60 GB.
    XLarge,
}

impl PcSize {
    /// v4 API rate limit [requests/s] (nutanix.dev, pc.2024.1; second-hand).
    pub fn api_rate_limit(self) -> f64 {
        match self {
            PcSize::XSmall => 30.0,
            PcSize::Small => 40.0,
            PcSize::Large => 60.0,
            PcSize::XLarge => 80.0,
        }
    }

    /// Concurrent tasks the task engine runs [count]. An estimate: no published figure;
    /// scaled with the vCPU count from the guide's advice of ~10–20 concurrent creates.
    pub fn max_concurrent_tasks(self) -> u32 {
        match self {
            PcSize::XSmall => 10,
            PcSize::Small => 16,
            PcSize::Large => 32,
            PcSize::XLarge => 48,
        }
    }
}

/// Prism Central's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrismCentralConfig {
    /// Requests per second before 429s; `None` for unlimited.
    pub api_rate_limit: Option<f64>,
    /// Tasks run at once; `None` for unlimited.
    pub max_concurrent_tasks: Option<u32>,
    /// Latency of one API call (create request, task poll, get) [s].
    pub api_latency: Dist,
    /// VM create (clone) task [s].
    pub vm_create: Dist,
    /// VM power-on task [s].
    pub vm_power_on: Dist,
    /// VM delete task [s].
    pub vm_delete: Dist,
    /// VM update task [s].
    pub vm_update: Dist,
    /// Latency growth at full task concurrency (0.5: 50 % slower with every slot busy).
    pub load_slowdown: f64,
}

/// The kind of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// Clone a VM from its image.
    VmCreate,
    /// Power a VM on.
    VmPowerOn,
    /// Delete a VM.
    VmDelete,
    /// Update a VM (CAPX sets custom attributes after the create).
    VmUpdate,
}

/// One task as Prism Central's task list records it: when it was created (the POST),
/// when it got a slot and started, and when it completed. Recorded only on runs that keep
/// a timeline (`capsim calibrate` reads the same fields from a real Prism Central).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskRecord {
    /// Which Prism Central (index).
    pub pc: u32,
    /// The VM's machine.
    pub machine: u32,
    /// What it did.
    pub kind: TaskKind,
    /// Whether it succeeded (a `vm-create-failures` fault fails some creates).
    pub succeeded: bool,
    /// Submitted.
    pub created: SimTime,
    /// Given a slot.
    pub started: SimTime,
    /// Finished.
    pub completed: SimTime,
}

/// Prism Central's state.
pub struct PrismCentral<T> {
    cfg: PrismCentralConfig,
    gateway: Option<TokenBucket>,
    running: u32,
    waiting: VecDeque<(T, TaskKind, SimTime)>,
    /// Tasks waiting for a slot [count], over time.
    pub queue_gauge: TimeWeightedGauge,
    /// Tasks running [count], over time.
    pub running_gauge: TimeWeightedGauge,
    /// Time tasks waited for a slot.
    pub slot_wait: LatencyHistogram,
    /// API requests answered 429 [count].
    pub rate_limited: u64,
    /// API requests accepted [count].
    pub requests: u64,
    /// Whether Prism Central is down (an outage fault): every request fails.
    pub down: bool,
    /// API requests that failed because Prism Central was down [count].
    pub unavailable: u64,
}

impl<T: Copy> PrismCentral<T> {
    /// An idle Prism Central.
    pub fn new(cfg: PrismCentralConfig) -> Self {
        PrismCentral {
            cfg,
            // The gateway allows one second's worth of requests at once.
            gateway: cfg
                .api_rate_limit
                .map(|r| TokenBucket::new(r, r.ceil().max(1.0) as u32)),
            running: 0,
            waiting: VecDeque::new(),
            queue_gauge: TimeWeightedGauge::default(),
            running_gauge: TimeWeightedGauge::default(),
            slot_wait: LatencyHistogram::new(),
            rate_limited: 0,
            requests: 0,
            down: false,
            unavailable: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &PrismCentralConfig {
        &self.cfg
    }

    /// An API request reaches the gateway at `now`: `Some(latency)` if accepted, `None`
    /// for 429 Too Many Requests.
    pub fn request(&mut self, now: SimTime, rng: &mut SimRng) -> Option<SimDuration> {
        if self.down {
            self.unavailable += 1;
            return None;
        }
        let admitted = self.gateway.as_mut().is_none_or(|g| g.try_take(now));
        if admitted {
            self.requests += 1;
            Some(self.cfg.api_latency.sample_duration(rng))
        } else {
            self.rate_limited += 1;
            None
        }
    }

    /// Tasks running now [count].
    pub fn running(&self) -> u32 {
        self.running
    }

    /// A task is submitted at `now`. Returns its duration if a slot was free; otherwise it
    /// waits, and a later [`PrismCentral::task_finished`] starts it.
    pub fn submit(
        &mut self,
        now: SimTime,
        task: T,
        kind: TaskKind,
        rng: &mut SimRng,
    ) -> Option<SimDuration> {
        let free = self
            .cfg
            .max_concurrent_tasks
            .is_none_or(|n| self.running < n);
        if free {
            self.slot_wait.record(SimDuration::ZERO);
            Some(self.start(now, kind, rng))
        } else {
            self.waiting.push_back((task, kind, now));
            self.queue_gauge.set(now, self.waiting.len() as f64);
            None
        }
    }

    fn start(&mut self, now: SimTime, kind: TaskKind, rng: &mut SimRng) -> SimDuration {
        let load = match self.cfg.max_concurrent_tasks {
            Some(n) => f64::from(self.running) / f64::from(n.max(1)),
            None => 0.0,
        };
        self.running += 1;
        self.running_gauge.set(now, f64::from(self.running));
        let base = match kind {
            TaskKind::VmCreate => self.cfg.vm_create.sample(rng),
            TaskKind::VmPowerOn => self.cfg.vm_power_on.sample(rng),
            TaskKind::VmDelete => self.cfg.vm_delete.sample(rng),
            TaskKind::VmUpdate => self.cfg.vm_update.sample(rng),
        };
        SimDuration::from_secs_f64(base * (1.0 + self.cfg.load_slowdown * load))
    }

    /// A task finished at `now`; if one was waiting it starts, and its id, its duration
    /// and how long it waited for the slot are returned.
    pub fn task_finished(
        &mut self,
        now: SimTime,
        rng: &mut SimRng,
    ) -> Option<(T, SimDuration, SimDuration)> {
        self.running -= 1;
        self.running_gauge.set(now, f64::from(self.running));
        let (task, kind, queued_at) = self.waiting.pop_front()?;
        self.queue_gauge.set(now, self.waiting.len() as f64);
        let waited = now - queued_at;
        self.slot_wait.record(waited);
        Some((task, self.start(now, kind, rng), waited))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn pc(rate: Option<f64>, slots: Option<u32>) -> PrismCentral<u32> {
        PrismCentral::new(PrismCentralConfig {
            api_rate_limit: rate,
            max_concurrent_tasks: slots,
            api_latency: Dist::Constant(0.1),
            vm_create: Dist::Constant(60.0),
            vm_power_on: Dist::Constant(10.0),
            vm_delete: Dist::Constant(20.0),
            vm_update: Dist::Constant(2.0),
            load_slowdown: 0.0,
        })
    }

    #[test]
    fn never_runs_more_tasks_than_its_limit() {
        let mut p = pc(None, Some(3));
        let mut rng = SimRng::seed_from_u64(1);
        let started = (0..10)
            .filter(|&t| {
                p.submit(SimTime::ZERO, t, TaskKind::VmCreate, &mut rng)
                    .is_some()
            })
            .count();
        assert_eq!(started, 3);
        assert_eq!(p.running(), 3);
        // As each finishes, exactly one waiting task takes its slot, in FIFO order.
        let (next, d, waited) = p.task_finished(SimTime::from_secs(60), &mut rng).unwrap();
        assert_eq!(
            (next, d, waited),
            (3, SimDuration::from_secs(60), SimDuration::from_secs(60))
        );
        assert_eq!(p.running(), 3);
        assert_eq!(p.running_gauge.max(), 3.0);
        assert_eq!(p.slot_wait.max(), SimDuration::from_secs(60));
    }

    #[test]
    fn requests_above_the_rate_limit_get_429() {
        let mut p = pc(Some(40.0), None);
        let mut rng = SimRng::seed_from_u64(1);
        let ok = (0..100)
            .filter(|_| p.request(SimTime::ZERO, &mut rng).is_some())
            .count();
        assert_eq!(ok, 40);
        assert_eq!(p.rate_limited, 60);
        // A second later the bucket has refilled.
        assert!(p.request(SimTime::from_secs(1), &mut rng).is_some());
    }

    #[test]
    fn tasks_slow_down_with_load() {
        let mut p = pc(None, Some(4));
        p.cfg.load_slowdown = 1.0;
        let mut rng = SimRng::seed_from_u64(1);
        let first = p
            .submit(SimTime::ZERO, 0, TaskKind::VmCreate, &mut rng)
            .unwrap();
        let fourth = (1..4)
            .map(|t| {
                p.submit(SimTime::ZERO, t, TaskKind::VmCreate, &mut rng)
                    .unwrap()
            })
            .last()
            .unwrap();
        assert_eq!(first, SimDuration::from_secs(60));
        assert_eq!(fourth, SimDuration::from_secs(105)); // 3 of 4 busy: ×1.75
    }
}
