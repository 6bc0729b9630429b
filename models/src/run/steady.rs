//! The `steady` operation: the ready fleet kept running with nothing changing, so what the
//! management cluster does is its idle load: leader-election Lease renewals, informer
//! resyncs (each re-enqueues every cached object), periodic requeues and their reads, and
//! the background mechanisms that grow with the fleet (`background_per_s`).
//!
//! The window opens at the first metrics sample (every 15 s) after the last cluster is
//! ready and closes `duration` later. The figures are counter differences over the window
//! divided by its length.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::kinds::{ObjKind, Provider};
use crate::world::World;
use crate::world::metrics::Snapshot;

/// The idle load over a steady window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SteadyFigures {
    /// Length of the window [s]; shorter than asked if the run's time limit cut it.
    pub duration_s: f64,
    /// Length asked for [s].
    pub requested_s: f64,
    /// API requests answered, read-only and mutating [1/s].
    pub api_requests_per_s: f64,
    /// Read-only API requests answered (GET, LIST) [1/s].
    pub api_reads_per_s: f64,
    /// Mutating API requests answered [1/s].
    pub api_writes_per_s: f64,
    /// API requests by the object kind they name [1/s]; a Lease GET names none.
    pub api_requests_per_s_by_kind: BTreeMap<String, f64>,
    /// Writes etcd committed [1/s].
    pub etcd_writes_per_s: f64,
    /// Writes etcd committed, by object kind [1/s].
    pub etcd_writes_per_s_by_kind: BTreeMap<String, f64>,
    /// Reconciles by controller, shards summed [1/s].
    pub reconciles_per_s: BTreeMap<String, f64>,
    /// Mean CPU by manager, shards summed [cores].
    pub cpu_mean_cores: BTreeMap<String, f64>,
    /// Memory by manager at the window's end, shards summed [bytes].
    pub memory_bytes: BTreeMap<String, f64>,
    /// Mean CPU of the busiest API server replica [cores].
    pub apiserver_cpu_mean_cores: f64,
    /// Highest memory of an API server replica until the window's end: its watch cache,
    /// event rings and watchers [bytes].
    pub apiserver_memory_bytes: f64,
    /// Highest memory of an etcd member until the window's end: pages, key index, raft
    /// log [bytes].
    pub etcd_memory_bytes: f64,
    /// Prism Central API calls [1/s].
    pub pc_requests_per_s: f64,
    /// Change of the etcd database size over the window [bytes].
    pub etcd_growth_bytes: i64,
    /// The background mechanisms that load the managers while nothing changes, by name
    /// [1/s]: `cluster-cache-health-probes` (every manager's `GET /` to each workload
    /// cluster) and `remote-node-updates` (Node status updates the remote informers
    /// deliver, each enqueueing a Machine), `kcp-uncached-lists` (KCP's LIST of its
    /// Machines on every reconcile), `kcp-workload-calls` (its etcd, kubeadm,
    /// kube-proxy and CoreDNS reads of the workload cluster), `topology-dry-runs`,
    /// `uncached-gets` (Secret and ConfigMap GETs, which the managers do not cache) and
    /// `cabpk-token-calls` (bootstrap-token creates and refreshes in workload clusters).
    /// Absent when none ran.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub background_per_s: BTreeMap<String, f64>,
}

fn by_kind(a: &[u64], b: &[u64], secs: f64, p: Provider) -> BTreeMap<String, f64> {
    ObjKind::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| b[*i] > a[*i])
        .map(|(i, k)| (k.name_in(p).to_string(), (b[i] - a[i]) as f64 / secs))
        .collect()
}

/// The figures between two snapshots of `world` (for its controller and manager names).
pub fn figures(world: &World, start: &Snapshot, end: &Snapshot, requested_s: f64) -> SteadyFigures {
    let secs = (end.at - start.at).as_secs_f64().max(1e-9);
    let p = world.config().infrastructure_provider;
    let total = |v: &[u64]| v.iter().sum::<u64>();
    let mut reconciles = BTreeMap::new();
    for (i, c) in world.ctrls.iter().enumerate() {
        if c.ctrl == crate::kinds::Controller::MachineHealthCheck && !world.mhc_enabled() {
            continue;
        }
        *reconciles
            .entry(c.ctrl.name_in(p).to_string())
            .or_insert(0.0) += (end.reconciles[i] - start.reconciles[i]) as f64 / secs;
    }
    let mut cpu = BTreeMap::new();
    let mut memory = BTreeMap::new();
    for (i, m) in world.manager_figures().iter().enumerate() {
        // Shards are named `<manager>-shard-<n>`; their CPU adds up under the manager.
        let name = m
            .name
            .split("-shard-")
            .next()
            .unwrap_or(&m.name)
            .to_string();
        *memory.entry(name.clone()).or_insert(0.0) += end.memory[i];
        *cpu.entry(name).or_insert(0.0) += (end.cpu_seconds[i] - start.cpu_seconds[i]) / secs;
    }
    let apiserver_cpu = end
        .apiserver_cpu_seconds
        .iter()
        .zip(&start.apiserver_cpu_seconds)
        .map(|(b, a)| (b - a) / secs)
        .fold(0.0, f64::max);
    SteadyFigures {
        duration_s: secs,
        requested_s,
        api_requests_per_s: (end.api_reads + end.api_writes - start.api_reads - start.api_writes)
            as f64
            / secs,
        api_reads_per_s: (end.api_reads - start.api_reads) as f64 / secs,
        api_writes_per_s: (end.api_writes - start.api_writes) as f64 / secs,
        api_requests_per_s_by_kind: by_kind(
            &start.requests_by_kind,
            &end.requests_by_kind,
            secs,
            p,
        ),
        etcd_writes_per_s: (total(&end.writes_by_kind) - total(&start.writes_by_kind)) as f64
            / secs,
        etcd_writes_per_s_by_kind: by_kind(&start.writes_by_kind, &end.writes_by_kind, secs, p),
        reconciles_per_s: reconciles,
        cpu_mean_cores: cpu,
        memory_bytes: memory,
        apiserver_cpu_mean_cores: apiserver_cpu,
        apiserver_memory_bytes: end.apiserver_memory_peak,
        etcd_memory_bytes: end.etcd_memory_peak,
        pc_requests_per_s: (end.pc_requests - start.pc_requests) as f64 / secs,
        etcd_growth_bytes: end.db_bytes as i64 - start.db_bytes as i64,
        background_per_s: end
            .mechanisms
            .named()
            .into_iter()
            .zip(start.mechanisms.named())
            .map(|((name, b, _), (_, a, _))| (name, b - a))
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| (name.to_string(), n as f64 / secs))
            .collect(),
    }
}
