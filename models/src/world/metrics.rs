//! Figures collected during the run: latency histograms, counters, the waits of every
//! machine's path, 15-second samples of the gauges (the timeline and the 1-minute CPU
//! peaks), and the read-outs the report takes from them.

use sim_core::stats::LatencyHistogram;
use sim_core::{Scheduler, SimDuration, SimTime};

use super::{Event, LEVEL_WORKLOAD_LOW, NodeRole, SAMPLE_INTERVAL_S, World};
use crate::kinds::{Controller, ObjKind};

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
    /// What the background mechanisms did.
    pub mechanisms: Mechanisms,
}

/// What the background mechanisms did, each counted [count].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mechanisms {
    /// ClusterCache health probes sent, every manager's.
    pub health_probes: u64,
    /// Node status updates the remote Node informers delivered.
    pub node_updates: u64,
    /// KCP's uncached LISTs of its Machines through the API reader.
    pub uncached_lists: u64,
    /// Reconciles' GETs of Secrets and ConfigMaps, which the managers do not cache.
    pub uncached_gets: u64,
    /// CABPK's bootstrap-token calls to workload clusters (create, refresh).
    pub token_calls: u64,
    /// KCP's calls to workload clusters.
    pub workload_calls: u64,
    /// The topology controller's dry-run applies.
    pub dry_runs: u64,
}

impl Mechanisms {
    /// Each count by the name the reports give it, and whether it is a request the
    /// management cluster's API server or a workload cluster answers (a remote Node
    /// update is an event received, not a request sent).
    pub fn named(&self) -> [(&'static str, u64, bool); 7] {
        [
            ("cluster-cache-health-probes", self.health_probes, true),
            ("remote-node-updates", self.node_updates, false),
            ("kcp-uncached-lists", self.uncached_lists, true),
            ("kcp-workload-calls", self.workload_calls, true),
            ("topology-dry-runs", self.dry_runs, true),
            ("uncached-gets", self.uncached_gets, true),
            ("cabpk-token-calls", self.token_calls, true),
        ]
    }
}

impl Metrics {
    /// Nothing counted yet, for `machines` machines and `clusters` clusters.
    pub(super) fn new(machines: usize, clusters: usize) -> Self {
        Metrics {
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
            machine_waits: vec![[0.0; 6]; machines],
            cluster_waits: vec![[0.0; 6]; clusters],
            service: [0.0; 4],
            queue_wait_by_ctrl: [0.0; 10],
            timeline: Vec::new(),
            fleet_ready_at: None,
            events_alive: 0,
            mechanisms: Mechanisms::default(),
        }
    }
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
    /// The busiest node's busy fraction over the last 15 s, per role in
    /// [`NodeRole::ALL`] order; empty when the nodes' CPU is not shared.
    pub node_utilisation: Vec<f64>,
    /// Whether each of the guide's alerts is firing, in the rules' order (as of the last
    /// evaluation).
    pub alerts_firing: Vec<bool>,
    /// `controller_runtime_reconcile_time_seconds`' bucket counts since the start (not
    /// cumulative over buckets), per controller in [`Controller::ALL`] order.
    pub reconcile_counts: Vec<Vec<u64>>,
    /// `apiserver_request_duration_seconds`' bucket counts since the start, per verb in
    /// [`crate::world::alerts::API_VERBS`] order.
    pub api_counts: Vec<Vec<u64>>,
    /// Each manager instance's CPU since the start [s], in [`World::manager_figures`]'s
    /// order.
    pub manager_cpu_s: Vec<f64>,
    /// Each manager instance's memory now [bytes], in the same order.
    pub manager_memory: Vec<f64>,
}

impl World {
    pub(super) fn sample(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        sched.schedule_in(SimDuration::from_secs(SAMPLE_INTERVAL_S), Event::SampleDue);
        self.sync_manager_cpu(now);
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
        self.kind_window.push_back(self.metrics.writes_by_kind);
        if self.kind_window.len() > 5 {
            self.kind_window.pop_front();
        }
        self.record_control_plane_memory();
        for r in 0..self.apiservers.len() {
            self.node_memory_check(sched, r);
        }
        if let Some(nodes) = self.nodes.as_mut() {
            nodes.sample(now, SAMPLE_INTERVAL_S as f64);
        }
        self.oom_check(sched);
        self.worker_memory_check(sched);
        self.evaluate_alerts(now);
        if self.timeline {
            self.record_timeline_row(now);
        }
        self.check_finished(sched, now);
    }

    /// The longest any node of `role` had every core busy (exact, up to the last sample)
    /// [s]; 0 when the nodes' CPU is not shared.
    pub fn saturated_s(&self, role: NodeRole) -> f64 {
        self.nodes.as_ref().map_or(0.0, |n| n.saturated_s(role))
    }

    /// Worker node `w`'s (from 1) time with every core busy [s]; 0 when the nodes' CPU is
    /// not shared.
    pub fn worker_saturated_s(&self, w: usize) -> f64 {
        self.nodes.as_ref().map_or(0.0, |n| n.worker_saturated_s(w))
    }

    /// The highest busy fraction any node of `role` had over a 15-second window; `None`
    /// when the nodes' CPU is not shared.
    pub fn peak_utilisation(&self, role: NodeRole) -> Option<f64> {
        self.nodes.as_ref().map(|n| n.peak_utilisation(role))
    }

    /// The API servers' and etcd's memory now, into their peaks.
    pub(crate) fn record_control_plane_memory(&mut self) {
        let api = &self.cfg.kube_apiserver;
        let wc = api.watch_cache_memory();
        // Every replica caches every resource; each holds the watches of the managers
        // that talk to it.
        let mut mem = api.memory_base.0 as f64 + wc.store_bytes(self.store.live_bytes() as f64);
        if let (Some(first), Some(last)) = (self.kind_window.front(), self.kind_window.back()) {
            let span = ((self.kind_window.len() - 1) as u64 * SAMPLE_INTERVAL_S).max(1) as f64;
            for k in ObjKind::ALL {
                let i = k.index();
                let rate = (last[i] - first[i]) as f64 / span;
                let events = wc.ring_events(rate, last[i]);
                mem += wc.ring_bytes(events, self.cfg.costs.object_size.of(k) as f64);
            }
        }
        for r in 0..self.apiservers.len() {
            let watches = self
                .managers
                .iter()
                .filter(|m| m.up && m.replica as usize == r)
                .map(|m| self.informer_kinds(m.kind).count() as u64)
                .sum::<u64>();
            let a = &mut self.apiservers[r];
            if !a.up {
                continue; // restarting: its memory is gone
            }
            a.sampled_bytes = mem + wc.watchers_bytes(watches);
            let now = a.sampled_bytes + a.list_bytes;
            self.peaks.apiserver_memory_bytes = self.peaks.apiserver_memory_bytes.max(now);
        }
        let etcd = self.cfg.etcd.memory_base.0 + self.store.memory_bytes(&self.cfg.etcd.memory());
        self.peaks.etcd_memory_bytes = self.peaks.etcd_memory_bytes.max(etcd);
        self.etcd_memory_now = etcd as f64;
    }

    /// Replica `replica` starts (`sign` 1) or finishes (-1) a LIST response of `objects`
    /// of `object_bytes` each: it holds `list-memory-per-byte` of its bytes meanwhile.
    /// Responses come and go between samples, so the peak is taken here.
    pub(super) fn list_response_held(
        &mut self,
        replica: usize,
        objects: u32,
        object_bytes: u32,
        sign: f64,
    ) {
        let per = self.cfg.kube_apiserver.list_memory_per_byte;
        if per <= 0.0 {
            return;
        }
        let a = &mut self.apiservers[replica];
        a.list_bytes =
            (a.list_bytes + sign * per * f64::from(objects) * f64::from(object_bytes)).max(0.0);
        let now = a.sampled_bytes + a.list_bytes;
        self.peaks.apiserver_memory_bytes = self.peaks.apiserver_memory_bytes.max(now);
    }

    /// Appends the gauges' values now to the timeline.
    fn record_timeline_row(&mut self, now: SimTime) {
        let (mut seats, mut queued) = (0, 0);
        for a in &self.apiservers {
            for l in a.levels.iter() {
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
            node_utilisation: self.nodes.as_ref().map_or(Vec::new(), |n| {
                NodeRole::ALL.iter().map(|&r| n.utilisation(r)).collect()
            }),
            alerts_firing: self.alerts.firing(),
            reconcile_counts: self.alerts.reconcile_counts(),
            api_counts: self.alerts.api_counts(),
            manager_cpu_s: self.managers.iter().map(|m| m.cpu_seconds).collect(),
            manager_memory: self.managers.iter().map(|m| m.memory).collect(),
        });
    }

    /// Managers' figures: name, peak 1-minute CPU [cores], CPU limit [cores], peak memory,
    /// memory limit [bytes], OOM kills, rate-limiter waits.
    pub fn manager_figures(&self) -> Vec<ManagerFigures> {
        self.managers
            .iter()
            .enumerate()
            .map(|(mi, m)| ManagerFigures {
                name: m.name.clone(),
                worker_node: self.nodes.as_ref().map(|n| n.worker_of(mi)),
                cpu_throttled_s: self.nodes.as_ref().map_or(0.0, |n| n.throttled_s(mi)),
                cpu_peak_cores: m.cpu_peak_cores,
                cpu_limit_cores: m.cpu_limit,
                cpu_seconds: m.cpu_seconds,
                memory_peak_bytes: m.memory_peak,
                memory_limit_bytes: m.memory_limit,
                oom_kills: m.oom_kills,
                evictions: m.evictions,
                restarts: m.restarts,
                leader_losses: m.leader_losses,
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
    /// Highest memory of the fullest API server: base, watch cache, event rings and
    /// watchers [bytes].
    pub apiserver_memory_bytes: f64,
    /// Highest memory of an etcd member: base, pages, key index and raft log [bytes].
    pub etcd_memory_bytes: u64,
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
    /// The worker node (from 1) the scheduler placed its pod on, when the nodes share
    /// their CPU.
    pub worker_node: Option<usize>,
    /// Time its CFS quota held it back (more runnable threads than its limit) [s].
    pub cpu_throttled_s: f64,
    /// CPU used over the run [core-seconds].
    pub cpu_seconds: f64,
    /// Highest memory [bytes].
    pub memory_peak_bytes: f64,
    /// Memory limit [bytes].
    pub memory_limit_bytes: f64,
    /// OOM kills [count].
    pub oom_kills: u32,
    /// Evictions by its node's kubelet, the node short of memory [count].
    pub evictions: u32,
    /// Restarts injected by a fault [count].
    pub restarts: u32,
    /// Leaderships lost, each followed by the process exiting [count].
    pub leader_losses: u32,
    /// 99th percentile of the wait for a rate-limiter token [s].
    pub limiter_wait_p99_s: f64,
    /// Total time requests waited for tokens [s].
    pub limiter_wait_total_s: f64,
}

/// Counters at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// When.
    pub at: SimTime,
    /// Read-only API requests answered.
    pub api_reads: u64,
    /// Mutating API requests answered.
    pub api_writes: u64,
    /// API requests by object kind (those that name one).
    pub requests_by_kind: [u64; ObjKind::ALL.len()],
    /// Writes committed by etcd, by object kind.
    pub writes_by_kind: [u64; ObjKind::ALL.len()],
    /// Reconciles by controller instance.
    pub reconciles: Vec<u64>,
    /// CPU seconds by manager instance.
    pub cpu_seconds: Vec<f64>,
    /// Prism Central API calls.
    pub pc_requests: u64,
    /// etcd database size [bytes].
    pub db_bytes: u64,
    /// What the background mechanisms had done.
    pub mechanisms: Mechanisms,
    /// Each manager instance's memory [bytes].
    pub memory: Vec<f64>,
    /// Each API server replica's CPU seconds.
    pub apiserver_cpu_seconds: Vec<f64>,
    /// The highest memory of an API server replica so far [bytes].
    pub apiserver_memory_peak: f64,
    /// The highest memory of an etcd member so far [bytes].
    pub etcd_memory_peak: f64,
}

impl Snapshot {
    /// The world's counters now.
    pub fn take(world: &World, at: SimTime) -> Snapshot {
        Snapshot {
            at,
            api_reads: world.metrics.api_readonly.count(),
            api_writes: world.metrics.api_mutating.count(),
            requests_by_kind: world.metrics.requests_by_kind,
            writes_by_kind: world.metrics.writes_by_kind,
            reconciles: world.ctrls.iter().map(|c| c.reconciles).collect(),
            cpu_seconds: world
                .manager_figures()
                .iter()
                .map(|m| m.cpu_seconds)
                .collect(),
            pc_requests: world.pcs.iter().map(|p| p.requests).sum(),
            db_bytes: world.store.db_size(),
            mechanisms: world.metrics.mechanisms,
            memory: world.managers.iter().map(|m| m.memory).collect(),
            apiserver_cpu_seconds: world.apiservers.iter().map(|a| a.cpu_seconds).collect(),
            apiserver_memory_peak: world.peaks.apiserver_memory_bytes,
            etcd_memory_peak: world.peaks.etcd_memory_bytes as f64,
        }
    }
}
