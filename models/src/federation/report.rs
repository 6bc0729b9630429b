//! The hub's figures, as the run report gives them (`federation` in the JSON).

use std::collections::BTreeMap;

use serde::Serialize;
use sim_core::SimTime;
use sim_core::stats::LatencyHistogram;

use super::requests::{HubKind, HubVerb};
use super::{CtrlId, Hub};
use crate::scenario::federation::SyncMode;

/// p50, p95 and p99 of a latency [s]; absent when nothing was measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Quantiles {
    /// Samples [count].
    pub count: u64,
    /// Median [s].
    pub p50_s: Option<f64>,
    /// 95th percentile [s].
    pub p95_s: Option<f64>,
    /// 99th percentile [s].
    pub p99_s: Option<f64>,
}

impl Quantiles {
    fn of(h: &LatencyHistogram) -> Self {
        let q = |p: f64| (!h.is_empty()).then(|| h.quantile(p).as_secs_f64());
        Quantiles {
            count: h.count(),
            p50_s: q(0.50),
            p95_s: q(0.95),
            p99_s: q(0.99),
        }
    }
}

/// One hub controller's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HubControllerFigures {
    /// `cluster`, `cluster-status`, `resource-detector`, `scheduler`, `binding`,
    /// `execution`, `binding-status`; `agent-execution` for the agents' together.
    pub name: String,
    /// Workers [count] (per agent for `agent-execution`).
    pub workers: u32,
    /// Reconciles finished [count].
    pub reconciles: u64,
    /// Time from add to a worker taking the item, 99th percentile [s].
    pub queue_latency_p99_s: Option<f64>,
    /// Longest queue [items].
    pub depth_peak: f64,
    /// Reconcile duration, 99th percentile [s].
    pub duration_p99_s: Option<f64>,
}

/// The federation hub's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HubReport {
    /// `push` or `pull`.
    pub mode: SyncMode,
    /// Members schedulable at once, at most [count].
    pub members_peak: u32,
    /// From a workload cluster ready to its member schedulable on the hub (Cluster
    /// created, execution namespace, finalizer, first status, taint removed).
    pub registration: Quantiles,
    /// A member's heartbeat: a pull member's Lease renewal from due to committed, a
    /// push member's probe by the controller-manager from due to answered. The guide's
    /// target: < 5 s.
    pub heartbeat: Quantiles,
    /// Longest time between two heartbeats of one member [s].
    pub longest_heartbeat_gap_s: f64,
    /// Pull members whose Lease went unrenewed past `cluster-monitor-grace-period`
    /// (marked NotReady meanwhile), a Lease still unrenewed at the end included [count].
    pub lease_expiries: u64,
    /// From a template created on the hub to its resource applied on a member, over
    /// every target of every propagation. The guide's target: < 2 s at the 99th
    /// percentile.
    pub distribution: Quantiles,
    /// Targets of every propagation: each resource's members, summed [count].
    pub distribution_targets: u64,
    /// Those it reached (applied on the member) before the run ended [count].
    pub distribution_reached: u64,
    /// Resources applied to members [count].
    pub member_applies: u64,
    /// Calls to members' API servers (probes, applies, deletes) [count].
    pub member_calls: u64,
    /// Mutating API latency at the hub's API servers, 99th percentile [s].
    pub api_mutating_p99_s: Option<f64>,
    /// Read latency, 99th percentile [s].
    pub api_readonly_p99_s: Option<f64>,
    /// 429s from the hub's API servers [count].
    pub api_429: u64,
    /// The controller-manager's client-side rate-limiter wait, 99th percentile [s].
    pub controller_manager_limiter_wait_p99_s: Option<f64>,
    /// etcd writes per second over the busiest 15 s [writes/s].
    pub etcd_write_rate_peak: f64,
    /// etcd's database at its largest [bytes].
    pub etcd_db_peak_bytes: u64,
    /// Its `--quota-backend-bytes` [bytes].
    pub etcd_quota_bytes: u64,
    /// When the NOSPACE alarm was raised [s], if it was.
    pub etcd_nospace_at_s: Option<f64>,
    /// Writes refused because the object exceeded etcd's request limit (1.5 MiB): a
    /// ResourceBinding whose status lists too many members [count].
    pub etcd_oversized_writes: u64,
    /// WAL fsync, 99th percentile [s].
    pub etcd_fsync_p99_s: Option<f64>,
    /// The busiest API server's CPU over the busiest 15 s [cores].
    pub apiserver_cpu_peak_cores: f64,
    /// The controllers' CPU over the busiest 15 s [cores].
    pub controllers_cpu_peak_cores: f64,
    /// The hub's nodes as provisioned [count] and their vCPU each.
    pub nodes: u32,
    /// vCPU of each hub node.
    pub node_vcpu: f64,
    /// Each controller's figures.
    pub controllers: Vec<HubControllerFigures>,
    /// Writes committed by kind and verb (`Work/create`) [count].
    pub writes_by_verb: BTreeMap<String, u64>,
    /// Objects at the end, by kind [count].
    pub objects_live: BTreeMap<String, u64>,
    /// Objects at their most, by kind [count].
    pub objects_peak: BTreeMap<String, u64>,
    /// Simulated time [s].
    pub simulated_s: f64,
    /// Simulation events handled [count].
    pub sim_events: u64,
}

impl Hub {
    /// The hub's figures at `now`, after `steps` events.
    pub(super) fn report(&self, now: SimTime, steps: u64) -> HubReport {
        let f = &self.figures;
        let p99 = |h: &LatencyHistogram| (!h.is_empty()).then(|| h.quantile(0.99).as_secs_f64());
        let mut controllers: Vec<HubControllerFigures> = CtrlId::ALL
            .iter()
            .filter(|&&c| !(self.pull() && matches!(c, CtrlId::ClusterStatus | CtrlId::Execution)))
            .map(|&c| {
                let ctrl = &self.ctrls[c as usize];
                HubControllerFigures {
                    name: c.name().to_string(),
                    workers: ctrl.workers,
                    reconciles: ctrl.reconciles,
                    queue_latency_p99_s: p99(&ctrl.queue.queue_latency),
                    depth_peak: ctrl.queue.depth_gauge.max(),
                    duration_p99_s: p99(&ctrl.duration),
                }
            })
            .collect();
        if self.pull() {
            let mut queue = LatencyHistogram::new();
            let mut duration = LatencyHistogram::new();
            let (mut reconciles, mut depth) = (0, 0.0_f64);
            for c in self.agent_exec.iter().flatten() {
                queue.merge(&c.queue.queue_latency);
                duration.merge(&c.duration);
                reconciles += c.reconciles;
                depth = depth.max(c.queue.depth_gauge.max());
            }
            controllers.push(HubControllerFigures {
                name: "agent-execution".into(),
                workers: self.fed.karmada_agent.concurrent_work_syncs,
                reconciles,
                queue_latency_p99_s: p99(&queue),
                depth_peak: depth,
                duration_p99_s: p99(&duration),
            });
        }
        // A Lease still unrenewed at the end counts too (NOSPACE refuses renewals).
        let (mut longest_gap, mut expiries) = (f.longest_heartbeat_gap_s, f.lease_expiries);
        if self.pull() {
            let grace = self.fed.cluster_monitor_grace_period.0;
            for m in self
                .members
                .iter()
                .filter(|m| m.joined && !m.leaving && !m.gone)
            {
                if let Some(last) = m.last_renewal {
                    let gap = (now - last).as_secs_f64();
                    longest_gap = longest_gap.max(gap);
                    expiries += u64::from(gap > grace);
                }
            }
        }
        let mut writes_by_verb = BTreeMap::new();
        for kind in HubKind::ALL {
            for verb in HubVerb::ALL {
                let n = f.writes[kind as usize][verb as usize];
                if n > 0 {
                    writes_by_verb.insert(format!("{}/{}", kind.name(), verb.name()), n);
                }
            }
        }
        let by_kind = |v: &[u64]| -> BTreeMap<String, u64> {
            HubKind::ALL
                .iter()
                .map(|k| (k.name().to_string(), v[*k as usize]))
                .collect()
        };
        HubReport {
            mode: self.fed.mode,
            members_peak: f.members_peak,
            registration: Quantiles::of(&f.registration),
            heartbeat: Quantiles::of(&f.heartbeat),
            longest_heartbeat_gap_s: longest_gap,
            lease_expiries: expiries,
            distribution: Quantiles::of(&f.distribution),
            distribution_targets: self.resources.iter().map(|r| r.targets.len() as u64).sum(),
            // Each target is applied once (an execution reconcile needs its Work created).
            distribution_reached: f.member_applies,
            member_applies: f.member_applies,
            member_calls: f.member_calls,
            api_mutating_p99_s: p99(&f.api_mutating),
            api_readonly_p99_s: p99(&f.api_readonly),
            api_429: f.api_429,
            controller_manager_limiter_wait_p99_s: p99(&f.cm_limiter_wait),
            etcd_write_rate_peak: f.write_rate_peak,
            etcd_db_peak_bytes: f.db_peak.max(self.store.db_size()),
            etcd_quota_bytes: self.store.quota(),
            etcd_nospace_at_s: f.nospace_at_s,
            etcd_oversized_writes: f.oversized_writes,
            etcd_fsync_p99_s: p99(&self.etcd.fsync),
            apiserver_cpu_peak_cores: f.api_cpu_peak,
            controllers_cpu_peak_cores: f.ctrl_cpu_peak,
            nodes: self.fed.nodes.count,
            node_vcpu: self.fed.nodes.vcpu,
            controllers,
            writes_by_verb,
            objects_live: by_kind(&f.live),
            objects_peak: by_kind(&f.live_peak),
            simulated_s: now.as_secs_f64(),
            sim_events: steps,
        }
    }
}
