//! The configuration's allowed ranges: every knob checked before anything runs, the
//! first problem named with its path, its value and what is allowed.

use super::config::{ConfigError, ModelConfig, concurrency_fields};
use crate::dist::Dist;
use crate::kinds::Controller;
use crate::units::Secs;

impl ModelConfig {
    /// Checks every value against its allowed range; the first problem is returned with
    /// its path. One check per knob, in the file's order, which is why it is long.
    pub fn validate(&self, source_name: &str) -> Result<(), ConfigError> {
        let err = |field: String, value: String, reason: &str| ConfigError {
            source_name: source_name.to_string(),
            field,
            value,
            reason: reason.to_string(),
        };
        for (name, m) in self.managers() {
            let (lease, renew, retry) = (
                m.leader_elect_lease_duration.0,
                m.leader_elect_renew_deadline.0,
                m.leader_elect_retry_period.0,
            );
            // client-go's NewLeaderElector: lease > renew deadline > 1.2 × retry period > 0.
            if !(retry > 0.0 && renew > 1.2 * retry && lease > renew) {
                return Err(err(
                    format!("{name}.leader-elect-renew-deadline"),
                    format!(
                        "{} (lease {}, retry {})",
                        Secs(renew),
                        Secs(lease),
                        Secs(retry)
                    ),
                    "needs lease-duration > renew-deadline > 1.2 × retry-period > 0, as client-go (CAPI: 15s, 10s, 2s)",
                ));
            }
            if !(1..=16).contains(&m.shards) {
                return Err(err(
                    format!("{name}.shards"),
                    m.shards.to_string(),
                    "must be between 1 and 16",
                ));
            }
            if m.kube_api_burst == 0 {
                return Err(err(
                    format!("{name}.kube-api-burst"),
                    "0".into(),
                    "must be ≥ 1",
                ));
            }
            if m.sync_period.0 < 1.0 {
                return Err(err(
                    format!("{name}.sync-period"),
                    m.sync_period.to_string(),
                    "must be ≥ 1s",
                ));
            }
            for (field, v) in concurrency_fields(m) {
                if let Some(v) = v
                    && !(1..=10_000).contains(&v)
                {
                    return Err(err(
                        format!("{name}.{field}"),
                        v.to_string(),
                        "must be between 1 and 10000",
                    ));
                }
            }
            if m.memory_limit.0 <= m.memory_base.0 {
                return Err(err(
                    format!("{name}.memory-limit"),
                    m.memory_limit.to_string(),
                    "must exceed memory-base (the process's memory with empty caches)",
                ));
            }
            if let Some(req) = m.cpu_request
                && req.0 > m.cpu_limit.0
            {
                return Err(err(
                    format!("{name}.cpu-request"),
                    req.0.to_string(),
                    &format!(
                        "must be at most cpu-limit ({}), as Kubernetes requires; lower {name}.cpu-request with the limit",
                        m.cpu_limit.0
                    ),
                ));
            }
            if let Some(req) = m.memory_request
                && req.0 > m.memory_limit.0
            {
                return Err(err(
                    format!("{name}.memory-request"),
                    req.to_string(),
                    &format!(
                        "must be at most memory-limit ({}), as Kubernetes requires; lower {name}.memory-request with the limit",
                        m.memory_limit
                    ),
                ));
            }
        }
        if let Some(cap) = self.topology.clusters_per_management_cluster.0
            && (cap.fract() != 0.0 || !(1.0..=100_000.0).contains(&cap))
        {
            return Err(err(
                "topology.clusters-per-management-cluster".into(),
                cap.to_string(),
                "must be a whole number from 1 to 100000, or unlimited",
            ));
        }
        let every = self.alerts.evaluation_interval.0;
        let sample = crate::scenario::alerts::SAMPLE_INTERVAL_S as f64;
        if every < sample || (every / sample).fract() != 0.0 {
            return Err(err(
                "alerts.evaluation-interval".into(),
                self.alerts.evaluation_interval.to_string(),
                "must be a multiple of the model's 15s samples (the Prometheus Operator's default is 30s)",
            ));
        }
        let api = &self.kube_apiserver;
        if !(1..=15).contains(&api.replicas) {
            return Err(err(
                "kube-apiserver.replicas".into(),
                api.replicas.to_string(),
                "must be between 1 and 15",
            ));
        }
        if api.max_requests_inflight + api.max_mutating_requests_inflight < 7 {
            return Err(err(
                "kube-apiserver.max-requests-inflight".into(),
                api.max_requests_inflight.to_string(),
                "with max-mutating-requests-inflight must give at least 7 seats (one per priority level)",
            ));
        }
        if self.etcd.quota_backend_bytes.0 < (1 << 20) {
            return Err(err(
                "etcd.quota-backend-bytes".into(),
                self.etcd.quota_backend_bytes.to_string(),
                "must be at least 1Mi (etcd's default is 2Gi, suggested maximum 8Gi)",
            ));
        }
        if !(1.0..=20.0).contains(&api.memory_per_stored_byte) {
            return Err(err(
                "kube-apiserver.memory-per-stored-byte".into(),
                api.memory_per_stored_byte.to_string(),
                "must be between 1 and 20 (a decoded object is 2 to 5 times its stored bytes)",
            ));
        }
        if !(1.0..=3600.0).contains(&api.restart_delay.0) {
            return Err(err(
                "kube-apiserver.restart-delay".into(),
                api.restart_delay.to_string(),
                "must be from 1s to 1h",
            ));
        }
        if !(0.0..=1.0).contains(&api.read_cpu_fraction) {
            return Err(err(
                "kube-apiserver.read-cpu-fraction".into(),
                api.read_cpu_fraction.to_string(),
                "must be from 0 to 1 (the part of a GET's processing time that is CPU)",
            ));
        }
        if !(0.0..=20.0).contains(&api.list_memory_per_byte) {
            return Err(err(
                "kube-apiserver.list-memory-per-byte".into(),
                api.list_memory_per_byte.to_string(),
                "must be between 0 (left out) and 20",
            ));
        }
        let w = api.watch_cache_event_window.0;
        if !(w == 0.0 || (1.0..=3600.0).contains(&w)) {
            return Err(err(
                "kube-apiserver.watch-cache-event-window".into(),
                Secs(w).to_string(),
                "must be 0s (off) or between 1s and 1h (the API server keeps 75s)",
            ));
        }
        if api.watch_cache_min_events > api.watch_cache_max_events
            || api.watch_cache_max_events > 10_000_000
        {
            return Err(err(
                "kube-apiserver.watch-cache-max-events".into(),
                api.watch_cache_max_events.to_string(),
                "must be at least watch-cache-min-events and at most 10000000 (the API server: 100 to 102400)",
            ));
        }
        let e = &self.etcd;
        for (field, v) in [
            ("kube-apiserver.memory-per-watch", api.memory_per_watch.0),
            ("etcd.index-bytes-per-key", e.index_bytes_per_key.0),
            ("etcd.key-bytes", e.key_bytes.0),
            (
                "etcd.index-bytes-per-revision",
                e.index_bytes_per_revision.0,
            ),
        ] {
            if v > 16 << 20 {
                return Err(err(
                    field.into(),
                    v.to_string(),
                    "must be between 0 and 16Mi (etcd's index: 120 B per key, 30 B per revision)",
                ));
            }
        }
        if e.snapshot_count > 10_000_000
            || (e.snapshot_count > 0 && e.snapshot_catch_up_entries > e.snapshot_count)
        {
            return Err(err(
                "etcd.snapshot-catch-up-entries".into(),
                format!(
                    "{} (snapshot-count {})",
                    e.snapshot_catch_up_entries, e.snapshot_count
                ),
                "needs catch-up entries ≤ snapshot-count ≤ 10000000 (etcd v3.5: 5000 and 100000)",
            ));
        }
        if self.etcd.compaction_interval.0 <= 0.0 {
            return Err(err(
                "etcd.compaction-interval".into(),
                self.etcd.compaction_interval.to_string(),
                "must be > 0",
            ));
        }
        let cpu = &self.costs.cpu;
        for (name, cost) in &cpu.reconcile {
            if !Controller::ALL.iter().any(|c| c.name() == name) {
                let names: Vec<&str> = Controller::ALL.iter().map(|c| c.name()).collect();
                return Err(err(
                    format!("costs.cpu.reconcile.{name}"),
                    name.clone(),
                    &format!("not a controller; choose from {}", names.join(", ")),
                ));
            }
            for (part, v) in [("fixed", cost.fixed), ("per-machine", cost.per_machine)] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(err(
                        format!("costs.cpu.reconcile.{name}.{part}"),
                        v.to_string(),
                        "must be between 0 and 1 CPU-second",
                    ));
                }
            }
        }
        if let Some(c) = Controller::ALL
            .iter()
            .find(|c| !cpu.reconcile.contains_key(c.name()))
        {
            return Err(err(
                format!("costs.cpu.reconcile.{}", c.name()),
                "missing".into(),
                "every controller needs its cost (fixed and per-machine, CPU-seconds)",
            ));
        }
        for (field, v) in [
            ("costs.cpu.request", cpu.request),
            ("costs.cpu.write-per-kib", cpu.write_per_kib),
            ("costs.cpu.decode-per-kib", cpu.decode_per_kib),
            ("costs.cpu.dry-run", cpu.dry_run),
            ("costs.cpu.bootstrap-render", cpu.bootstrap_render),
            ("costs.cpu.rsa-sign", cpu.rsa_sign),
            ("costs.cpu.tls-handshake", cpu.tls_handshake),
            ("costs.cpu.pc-call", cpu.pc_call),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(err(
                    field.into(),
                    v.to_string(),
                    "must be between 0 and 1 CPU-second",
                ));
            }
        }
        if cpu.etcd_client_cert_ttl.0 < 60.0 {
            return Err(err(
                "costs.cpu.etcd-client-cert-ttl".into(),
                cpu.etcd_client_cert_ttl.to_string(),
                "must be at least 1m (KCP keeps the certificate 24h)",
            ));
        }
        let dists: [(&str, Dist); 19] = [
            ("costs.cpu.variation", cpu.variation),
            ("costs.cpu.rsa-keygen", cpu.rsa_keygen),
            ("kube-apiserver.read-processing", api.read_processing),
            ("prism-central.vm-update", self.prism_central.vm_update),
            (
                "machine-boot.control-plane-join",
                self.machine_boot.control_plane_join,
            ),
            ("costs.cpu-per-write", self.costs.cpu_per_write),
            ("kube-apiserver.write-processing", api.write_processing),
            ("kube-apiserver.write-cpu", api.write_cpu),
            ("etcd.raft-rtt", self.etcd.raft_rtt),
            ("etcd.fsync", self.etcd.fsync_dist()),
            ("prism-central.api-latency", self.prism_central.api_latency),
            ("prism-central.vm-create", self.prism_central.vm_create),
            ("prism-central.vm-power-on", self.prism_central.vm_power_on),
            ("prism-central.vm-delete", self.prism_central.vm_delete),
            (
                "machine-boot.control-plane-init",
                self.machine_boot.control_plane_init,
            ),
            ("machine-boot.worker-join", self.machine_boot.worker_join),
            ("costs.reconcile-cpu", self.costs.reconcile_cpu),
            (
                "workload-clusters.apiserver-latency",
                self.workload_clusters.apiserver_latency,
            ),
            (
                "costs.topology-reconcile-cpu",
                self.costs.topology_reconcile_cpu,
            ),
        ];
        for (field, d) in dists {
            let written = serde_json::to_string(&d).unwrap_or_default();
            d.check()
                .map_err(|reason| err(field.into(), written, &reason))?;
        }
        if self.prism_central.task_poll_interval.0 <= 0.0 {
            return Err(err(
                "prism-central.task-poll-interval".into(),
                self.prism_central.task_poll_interval.to_string(),
                "must be > 0 (CAPX polls every 1s)",
            ));
        }
        let ttl = self.cluster_topology.dry_run_cache_ttl.0;
        if !(1.0..=86_400.0).contains(&ttl) {
            return Err(err(
                "cluster-topology.dry-run-cache-ttl".into(),
                Secs(ttl).to_string(),
                "must be between 1s and 24h (CAPI caches dry-runs for 10m)",
            ));
        }
        let cc = &self.cluster_cache;
        let wl = &self.workload_clusters;
        for (field, v) in [
            (
                "cluster-cache.health-probe-interval",
                cc.health_probe_interval.0,
            ),
            (
                "workload-clusters.node-status-report",
                wl.node_status_report.0,
            ),
        ] {
            if !(v == 0.0 || (1.0..=86_400.0).contains(&v)) {
                return Err(err(
                    field.into(),
                    Secs(v).to_string(),
                    "must be 0s (off) or between 1s and 24h (CAPI probes every 10s; kubelet reports every 5m)",
                ));
            }
        }
        for (field, v) in [
            ("cluster-cache.probe-cpu", cc.probe_cpu),
            ("workload-clusters.node-event-cpu", wl.node_event_cpu),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(err(
                    field.into(),
                    v.to_string(),
                    "must be between 0 and 1 CPU-second",
                ));
            }
        }
        let th = &self.thresholds;
        for name in th
            .reconcile_p99_controllers
            .iter()
            .chain(&th.workqueue_depth_controllers)
        {
            if !Controller::ALL.iter().any(|c| c.name() == name) {
                let names: Vec<&str> = Controller::ALL.iter().map(|c| c.name()).collect();
                return Err(err(
                    "thresholds.reconcile-p99-controllers".into(),
                    name.clone(),
                    &format!("not a controller; choose from {}", names.join(", ")),
                ));
            }
        }
        let im = &self.in_memory;
        for (name, phase) in [
            ("vm", im.vm),
            ("node", im.node),
            ("api-server", im.api_server),
            ("etcd", im.etcd),
        ] {
            if phase.startup_duration.0 > 3600.0 {
                return Err(err(
                    format!("in-memory.{name}.startup-duration"),
                    phase.startup_duration.to_string(),
                    "must be from 0s to 1h",
                ));
            }
            if !(0.0..=10.0).contains(&phase.startup_jitter) {
                return Err(err(
                    format!("in-memory.{name}.startup-jitter"),
                    phase.startup_jitter.to_string(),
                    "must be from 0 to 10 (a fraction of the startup duration)",
                ));
            }
        }
        if !(1..=64).contains(&self.prism_central.count) {
            return Err(err(
                "prism-central.count".into(),
                self.prism_central.count.to_string(),
                "must be between 1 and 64",
            ));
        }
        let pools = [
            ("control-plane", Some(&self.nodes.control_plane)),
            ("etcd", self.nodes.etcd.as_ref()),
            ("workers", Some(&self.nodes.workers)),
        ];
        for (role, pool) in pools {
            if let Some(p) = pool
                && !(0.001..=1024.0).contains(&p.vcpu)
            {
                return Err(err(
                    format!("nodes.{role}.vcpu"),
                    p.vcpu.to_string(),
                    "must be from 0.001 to 1024 (fractions such as 0.5 are allowed)",
                ));
            }
            if let Some(p) = pool
                && p.count > 255
            {
                return Err(err(
                    format!("nodes.{role}.count"),
                    p.count.to_string(),
                    "must be at most 255",
                ));
            }
        }
        if self.nodes.control_plane.count == 0 {
            return Err(err(
                "nodes.control-plane.count".into(),
                "0".into(),
                "must be ≥ 1",
            ));
        }
        if self.nodes.workers.count == 0 {
            return Err(err(
                "nodes.workers.count".into(),
                "0".into(),
                "must be ≥ 1 (the managers' pods run there)",
            ));
        }
        let nodes = self.nodes.control_plane.count
            + self.nodes.etcd.as_ref().map_or(0, |p| p.count)
            + self.nodes.workers.count;
        if nodes > 255 {
            return Err(err(
                "nodes.workers.count".into(),
                self.nodes.workers.count.to_string(),
                &format!("all node pools together must be at most 255 nodes ({nodes} here)"),
            ));
        }
        let alloc = crate::scenario::placement::allocatable(self, &self.nodes.workers);
        if let Err(e) = crate::scenario::placement::place(
            &crate::scenario::placement::manager_pods(self),
            self.nodes.workers.count,
            alloc,
        ) {
            let m = self
                .managers()
                .into_iter()
                .find(|(n, _)| *n == e.pod.manager);
            let request = m.map_or(String::new(), |(_, m)| {
                m.cpu_request.unwrap_or(m.cpu_limit).0.to_string()
            });
            return Err(err(
                format!("{}.cpu-request", e.pod.manager),
                request,
                &format!(
                    "{}; lower the pod's requests, or add or enlarge nodes.workers",
                    e.reason
                ),
            ));
        }
        if let Some((field, value, reason)) = self.prices.problem() {
            return Err(err(field, value, reason));
        }
        if let Some((field, value, reason)) = self.federation.problem() {
            return Err(err(field, value, &reason));
        }
        Ok(())
    }
}
