//! Every knob of the simulated management cluster, named as the real components name them.
//!
//! The built-in defaults live in `models/presets/defaults.yaml` (CAPI v1.12 and Kubernetes
//! defaults, plus documented estimates where no source gives a number); the guide's tiers
//! are partial overrides in `models/presets/<tier>.yaml`. Knobs are addressed by dotted
//! kebab-case paths (`capx-controller-manager.nutanixmachine-concurrency`,
//! `etcd.quota-backend-bytes`), which `--set` and scenario files share.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::values::{DiskClass, Qps};
use crate::apiserver::watch_cache::WatchCacheMemory;
use crate::dist::Dist;
use crate::etcd::{EtcdConfig, EtcdMemory};
use crate::kinds::ObjKind;
use crate::prism_central::{PcSize, PrismCentralConfig};
use crate::units::{Bytes, Cores, Secs};

/// The whole management cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ModelConfig {
    /// CAPI core: Cluster, ClusterTopology, MachineDeployment, MachineSet, Machine.
    pub capi_controller_manager: ManagerConfig,
    /// Kubeadm bootstrap provider (CABPK): KubeadmConfig.
    pub capi_kubeadm_bootstrap: ManagerConfig,
    /// Kubeadm control plane provider: KubeadmControlPlane.
    pub capi_kubeadm_control_plane: ManagerConfig,
    /// Which infrastructure provider creates the machines.
    #[serde(default)]
    pub infrastructure_provider: Provider,
    /// CAPX: NutanixCluster, NutanixMachine (with `infrastructure-provider: capx`).
    pub capx_controller_manager: ManagerConfig,
    /// CAPD running the in-memory backend: DevCluster, DevMachine (with
    /// `infrastructure-provider: in-memory`).
    pub capd_controller_manager: ManagerConfig,
    /// The in-memory provider's machine template: its provisioning delays.
    pub in_memory: InMemorySettings,
    /// The management cluster's API servers.
    pub kube_apiserver: ApiServerConfig,
    /// The management cluster's etcd.
    pub etcd: EtcdSettings,
    /// Prism Central.
    pub prism_central: PrismCentralSettings,
    /// Workload machines from power-on to node ready.
    pub machine_boot: BootSettings,
    /// The management cluster's nodes, by role.
    pub nodes: NodesConfig,
    /// Costs and sizes that no flag sets: CPU per reconcile, object sizes, memory.
    pub costs: Costs,
    /// CAPI's ClusterCache: the managers' connections to the workload clusters.
    pub cluster_cache: ClusterCacheSettings,
    /// The workload clusters as those connections see them.
    pub workload_clusters: WorkloadClusterSettings,
    /// The ClusterTopology controller's server-side applies.
    pub cluster_topology: ClusterTopologySettings,
    /// What the managers' caches leave out.
    pub manager_cache: ManagerCacheSettings,
    /// The scale-testing checklist's thresholds.
    pub thresholds: Thresholds,
    /// How a fleet is laid out over management clusters.
    #[serde(default)]
    pub topology: TopologySettings,
    /// NKP itself: the edition the bill of materials adds the overhead of.
    #[serde(default)]
    pub nkp: NkpSettings,
    /// How the guide's alerting rules are evaluated.
    #[serde(default)]
    pub alerts: super::alerts::AlertSettings,
    /// What the management layer's resources cost (`capsim recommend`).
    pub prices: super::prices::Prices,
    /// The federation hub above the management clusters (the Extreme tier's).
    pub federation: super::federation::FederationSettings,
}

/// How a fleet is laid out over management clusters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TopologySettings {
    /// Workload clusters one management cluster holds at most; a larger fleet is split
    /// over ⌈clusters / this⌉ identical management clusters (the guide's XL and Extreme
    /// tiers: regional management clusters of ~600 and ~500 clusters). `unlimited`: one
    /// management cluster, whatever the fleet size.
    pub clusters_per_management_cluster: Limit,
}

impl Default for TopologySettings {
    fn default() -> Self {
        TopologySettings {
            clusters_per_management_cluster: Limit(None),
        }
    }
}

impl TopologySettings {
    /// Management clusters a fleet of `clusters` needs: ⌈clusters / cap⌉, at least 1.
    pub fn management_clusters_for(&self, clusters: u32) -> u32 {
        match self.clusters_per_management_cluster.0 {
            Some(cap) => clusters.div_ceil(cap as u32).max(1),
            None => 1,
        }
    }
}

/// A limit that can be lifted: a number, or `unlimited`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit(pub Option<f64>);

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => s.serialize_f64(v),
            None => s.serialize_str("unlimited"),
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(v) if v > 0.0 && v.is_finite() => Ok(Limit(Some(v))),
            Raw::Str(s) if s == "unlimited" => Ok(Limit(None)),
            Raw::Str(s) => match s.parse::<f64>() {
                Ok(v) if v > 0.0 && v.is_finite() => Ok(Limit(Some(v))),
                _ => Err(serde::de::Error::custom(format!(
                    "'{s}': a number > 0, or \"unlimited\""
                ))),
            },
            Raw::Num(v) => Err(serde::de::Error::custom(format!(
                "{v}: must be > 0, or \"unlimited\""
            ))),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("unlimited"),
        }
    }
}

/// One controller manager process (a Deployment's container).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ManagerConfig {
    /// `--kube-api-qps`: sustained client requests per second, or `off`.
    pub kube_api_qps: Qps,
    /// `--kube-api-burst`.
    pub kube_api_burst: u32,
    /// `--sync-period`: every object is re-enqueued this often (with up to 10 % jitter).
    pub sync_period: Secs,
    /// Workqueue implementation: `legacy` (controller-runtime ≤ v0.22) or `priority`.
    pub queue: QueueKind,
    /// `resources.limits.cpu`.
    pub cpu_limit: Cores,
    /// `resources.limits.memory`.
    pub memory_limit: Bytes,
    /// Memory of the process with empty caches.
    pub memory_base: Bytes,
    /// Time from an OOM kill to the restarted process running again.
    pub restart_delay: Secs,
    /// `--leader-elect-lease-duration`: how long a Lease not renewed keeps another
    /// process from leading (the leader does not release it when it exits).
    pub leader_elect_lease_duration: Secs,
    /// `--leader-elect-renew-deadline`: renewals failing this long lose the leadership,
    /// and the process exits.
    pub leader_elect_renew_deadline: Secs,
    /// `--leader-elect-retry-period`: time between renewals, and between attempts to
    /// acquire.
    pub leader_elect_retry_period: Secs,
    /// Instances of this manager, each watching its share of the workload clusters'
    /// namespaces (the guide's namespace or label sharding), each with its own client rate
    /// limiter, workers, CPU and memory limits and leader-election Lease.
    pub shards: u32,
    /// `resources.requests.cpu`: where the scheduler may place the pod, and its CFS
    /// weight on a busy node; unset: its limit (as the API server defaults it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_request: Option<Cores>,
    /// `resources.requests.memory`: where the scheduler may place the pod; unset: its
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_request: Option<Bytes>,
    /// `--cluster-concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_concurrency: Option<u32>,
    /// `--clustertopology-concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustertopology_concurrency: Option<u32>,
    /// `--machinedeployment-concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machinedeployment_concurrency: Option<u32>,
    /// `--machineset-concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machineset_concurrency: Option<u32>,
    /// `--machine-concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_concurrency: Option<u32>,
    /// `--kubeadmconfig-concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeadmconfig_concurrency: Option<u32>,
    /// `--kubeadmcontrolplane-concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeadmcontrolplane_concurrency: Option<u32>,
    /// CAPX `--max-concurrent-reconciles` for NutanixCluster (the guide's
    /// `nutanixcluster-concurrency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nutanixcluster_concurrency: Option<u32>,
    /// CAPX `--max-concurrent-reconciles` for NutanixMachine (the guide's
    /// `nutanixmachine-concurrency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nutanixmachine_concurrency: Option<u32>,
    /// CAPI `--machinehealthcheck-concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machinehealthcheck_concurrency: Option<u32>,
    /// CAPD `--concurrency`: its DevMachine workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
}

/// The API server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ApiServerConfig {
    /// API server replicas, one per control-plane node.
    pub replicas: u32,
    /// `--max-requests-inflight`.
    pub max_requests_inflight: u32,
    /// `--max-mutating-requests-inflight`.
    pub max_mutating_requests_inflight: u32,
    /// `--request-timeout`; APF's queue wait limit is min(timeout/4, 1m).
    pub request_timeout: Secs,
    /// Retry-After of a 429; client-go waits this long before retrying.
    pub retry_after: Secs,
    /// client-go's retries of a 429 before the request fails (`maxRetries`, 10).
    pub client_max_retries: u32,
    /// Time to process a write before it reaches etcd: authn/z, admission (CAPI's
    /// webhooks included), conversion, encoding [s].
    pub write_processing: Dist,
    /// Time to serve a GET that reads through to etcd (a Lease, an uncached read) [s].
    pub read_processing: Dist,
    /// API server CPU per write [s].
    pub write_cpu: Dist,
    /// The part of a GET's processing time that is CPU (decoding, conversion, encoding);
    /// the rest waits on etcd or the network [fraction].
    pub read_cpu_fraction: f64,
    /// API server CPU per object returned by a LIST [s].
    pub list_cpu_per_object: f64,
    /// API server CPU to send one watch event to one watcher [s].
    pub watch_event_cpu: f64,
    /// Memory of one API server with an empty cache.
    pub memory_base: Bytes,
    /// The static pod's CPU request: its weight on its node.
    pub cpu_request: Cores,
    /// Watch-cache memory per byte stored in etcd (decoded objects are larger).
    pub memory_per_stored_byte: f64,
    /// `eventFreshDuration`: the watch cache's event ring keeps this long of events at
    /// a steady rate; `0s` leaves the ring out.
    pub watch_cache_event_window: Secs,
    /// The ring's smallest size per resource [events].
    pub watch_cache_min_events: u64,
    /// The ring's largest size per resource [events].
    pub watch_cache_max_events: u64,
    /// One open watch's goroutines and buffers.
    pub memory_per_watch: Bytes,
    /// Memory a LIST response holds while it is built and sent, per byte of the objects
    /// it returns; `0` leaves it out.
    pub list_memory_per_byte: f64,
    /// From an OOM kill to the replica serving again (the kubelet's first back-off,
    /// doubled per kill up to 5 minutes, plus its start).
    pub restart_delay: Secs,
    /// APF serves a level's queues by fair queuing (`queueset.go`); off, round-robin.
    pub apf_fair_queuing: bool,
    /// APF's levels lend and borrow seats every 10 s (`apf_controller.go`).
    pub apf_borrowing: bool,
    /// A write whose event reaches 10+ watches holds ⌈watches/10⌉ APF seats 5 ms more.
    pub apf_watcher_seats: bool,
    /// A LIST's APF seats count its resource's stored objects; off, those it returns.
    pub apf_list_stored_count: bool,
}

impl ApiServerConfig {
    /// How its watch cache and watchers take memory.
    pub fn watch_cache_memory(&self) -> WatchCacheMemory {
        WatchCacheMemory {
            bytes_per_stored_byte: self.memory_per_stored_byte,
            event_window_s: self.watch_cache_event_window.0,
            min_events: self.watch_cache_min_events,
            max_events: self.watch_cache_max_events,
            bytes_per_watch: self.memory_per_watch.0,
        }
    }
}

/// etcd.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EtcdSettings {
    /// Disk class; sets the WAL fsync latency unless `custom`.
    pub disk: DiskClass,
    /// WAL fsync latency for `disk: custom` [s].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsync: Option<Dist>,
    /// Raft round trip to a quorum, followers' fsync included [s].
    pub raft_rtt: Dist,
    /// Backend apply cost per write [s].
    pub apply_per_write: f64,
    /// `--quota-backend-bytes`.
    pub quota_backend_bytes: Bytes,
    /// `--auto-compaction-retention` (periodic mode); 0s disables it.
    pub auto_compaction_retention: Secs,
    /// The API server's `--etcd-compaction-interval`.
    pub compaction_interval: Secs,
    /// Bytes a revision costs beyond its value (key, index, bbolt overhead).
    pub revision_overhead: Bytes,
    /// etcd's memory with an empty database.
    pub memory_base: Bytes,
    /// The static pod's CPU request: its weight on its node when stacked.
    pub cpu_request: Cores,
    /// Key-index memory per live key, the key aside.
    pub index_bytes_per_key: Bytes,
    /// A key's length.
    pub key_bytes: Bytes,
    /// Key-index memory per revision kept until compaction.
    pub index_bytes_per_revision: Bytes,
    /// `--snapshot-count`; 0 leaves the raft log's memory out.
    pub snapshot_count: u64,
    /// Raft entries kept after a snapshot for slow followers.
    pub snapshot_catch_up_entries: u64,
    /// etcd CPU per write (raft, WAL, backend) [s].
    pub cpu_per_write: f64,
}

impl EtcdSettings {
    /// What it keeps in memory besides the database's pages.
    pub fn memory(&self) -> EtcdMemory {
        EtcdMemory {
            index_bytes_per_key: self.index_bytes_per_key.0,
            key_bytes: self.key_bytes.0,
            index_bytes_per_revision: self.index_bytes_per_revision.0,
            snapshot_count: self.snapshot_count,
            catch_up_entries: self.snapshot_catch_up_entries,
        }
    }

    /// WAL fsync latency of the configured disk [s]. Estimates for the classes: SATA SSD
    /// p50 2 ms / p95 8 ms, NVMe 0.4 / 1.5 ms, NVMe RAID-1 0.6 / 2 ms (see docs/model.md).
    pub fn fsync_dist(&self) -> Dist {
        match (self.disk, self.fsync) {
            (DiskClass::Custom, Some(d)) | (_, Some(d)) => d,
            (DiskClass::Ssd, None) | (DiskClass::Custom, None) => Dist::lognormal(0.002, 0.008),
            (DiskClass::Nvme, None) => Dist::lognormal(0.0004, 0.0015),
            (DiskClass::NvmeRaid1, None) => Dist::lognormal(0.0006, 0.002),
        }
    }
}

/// Prism Central.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PrismCentralSettings {
    /// Prism Central instances; the workload clusters are spread over them round-robin
    /// (each NutanixCluster names its PC).
    pub count: u32,
    /// PC size: `x-small`, `small`, `large` or `x-large`.
    pub size: PcSize,
    /// Requests/s before 429s; default from the size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_rate_limit: Option<Limit>,
    /// Concurrent tasks; default from the size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_tasks: Option<Limit>,
    /// Latency of one API call [s].
    pub api_latency: Dist,
    /// VM create (clone) task [s].
    pub vm_create: Dist,
    /// VM power-on task [s].
    pub vm_power_on: Dist,
    /// VM delete task [s].
    pub vm_delete: Dist,
    /// VM update task (CAPX's custom attributes) [s].
    pub vm_update: Dist,
    /// Task latency growth with every slot busy.
    pub load_slowdown: f64,
    /// Attempts of a request answered 429 before the call fails (v4 SDK: 5).
    pub retry_attempts: u32,
    /// Wait between those attempts (v4 SDK: 3s).
    pub retry_interval: Secs,
    /// CAPX's task polling interval (1s).
    pub task_poll_interval: Secs,
    /// Lookup calls CAPX makes before a VM create (find VM by name, cluster, subnet,
    /// categories, image) [count].
    pub lookups_per_vm_create: u32,
}

/// CAPI's ClusterCache (`controllers/clustercache`): capi-controller-manager,
/// capi-kubeadm-control-plane and capi-kubeadm-bootstrap each keep one connection per
/// workload cluster whose infrastructure is provisioned, probe it, and run the remote
/// informers (Nodes) through it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClusterCacheSettings {
    /// Whether the managers connect to the workload clusters at all; `false` leaves out
    /// every mechanism below and the remote Node watches.
    pub enabled: bool,
    /// Period of the health probe (`GET /`) of each connection; `0s`: no probes.
    pub health_probe_interval: Secs,
    /// CPU of one probe in its manager: the request, TLS and the answer [s].
    pub probe_cpu: f64,
    /// Memory of one connection in its manager: REST client, mapper, cache bookkeeping.
    pub connection_memory: Bytes,
}

/// What the CAPI managers' caches leave out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ManagerCacheSettings {
    /// Whether the managers' GETs of Secrets and ConfigMaps go to the API server (CAPI
    /// v1.12 `main.go`: `client.CacheOptions{DisableFor: ConfigMap, Secret}`): KCP's
    /// look-ups of the CA Secrets before it creates them, CABPK's of the init lock.
    pub uncached_secret_reads: bool,
    /// Whether the managers' informers cache Secrets (and CAPX's ConfigMaps) besides their
    /// controllers' kinds: memory, the relist after a restart, and each change's decode
    /// and watch event.
    pub cached_secrets: bool,
}

/// The ClusterTopology controller's server-side applies of the objects it manages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClusterTopologySettings {
    /// Whether it dry-runs its applies of existing objects to find what changed.
    pub dry_run_applies: bool,
    /// How long an object's dry-run result is reused while the object is unchanged.
    pub dry_run_cache_ttl: Secs,
}

/// The workload clusters' side of the connections: what their Nodes send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WorkloadClusterSettings {
    /// kubelet's `nodeStatusReportFrequency`: each Node's status is PATCHed this often
    /// when nothing changed, and the remote Node informers see the update; `0s`: never.
    pub node_status_report: Secs,
    /// CPU of one remote Node event in capi-controller-manager: decode and cache [s].
    pub node_event_cpu: f64,
    /// A Node object as the remote informer caches it, before the cache factor [bytes].
    pub node_size: Bytes,
    /// Whether KCP reads what its reconcile reads on every pass: its Machines uncached
    /// from the management cluster, and the workload cluster's etcd, kubeadm, kube-proxy
    /// and CoreDNS state.
    pub kcp_checks: bool,
    /// A call to a workload cluster's API server, as the management cluster sees it:
    /// request to answer [s].
    pub apiserver_latency: Dist,
}

/// Workload machines from power-on to node ready.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BootSettings {
    /// First control-plane machine: boot and `kubeadm init` until the API server answers [s].
    pub control_plane_init: Dist,
    /// Other control-plane machines: boot and `kubeadm join --control-plane` [s].
    pub control_plane_join: Dist,
    /// Workers: boot and `kubeadm join` until the node is registered [s].
    pub worker_join: Dist,
}

/// Costs that no flag sets. Estimates unless docs/model.md gives a source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Costs {
    /// How a reconcile's CPU is found: `per-controller` (from [`Costs::cpu`]) or `flat`
    /// (`reconcile-cpu`, `cpu-per-write` and `topology-reconcile-cpu`, the model before
    /// per-controller costs).
    pub cpu_model: CpuModel,
    /// The per-controller CPU model's costs.
    pub cpu: ControllerCpu,
    /// CPU of one reconcile that writes nothing, in the flat model [s].
    pub reconcile_cpu: Dist,
    /// Extra CPU per write a reconcile makes (building the object, the patch) [s].
    pub cpu_per_write: Dist,
    /// CPU of a ClusterTopology reconcile (it computes the desired state and dry-runs) [s].
    pub topology_reconcile_cpu: Dist,
    /// Controller memory per cached object, as a multiple of its stored size.
    pub cache_bytes_per_stored_byte: f64,
    /// Object sizes as stored in etcd.
    pub object_size: ObjectSizes,
}

/// How a reconcile's CPU is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CpuModel {
    /// Per controller, per machine it handles and per operation ([`ControllerCpu`]).
    PerController,
    /// One distribution per reconcile and one per write, for every controller.
    Flat,
}

/// One reconcile's CPU before its writes, requests and keys: the cache reads and their
/// deep copies, the patch helper's diff, the status computation, the SSA checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReconcileCost {
    /// Whatever the cluster's size [s].
    pub fixed: f64,
    /// Per Machine the reconcile handles: a MachineSet's workers, KCP's control-plane
    /// Machines, a MachineHealthCheck's targets [s].
    pub per_machine: f64,
}

/// CPU of the controllers' operations, as Go spends it (docs/model.md, "CPU").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ControllerCpu {
    /// One reconcile of each controller, by controller name.
    pub reconcile: std::collections::BTreeMap<String, ReconcileCost>,
    /// Factor drawn per reconcile on its total (garbage collection, cache contention).
    pub variation: Dist,
    /// One API request: building it, TLS and HTTP/2 framing, the answer [s].
    pub request: f64,
    /// A write's encode, patch computation and answer decode, per KiB of the object [s].
    pub write_per_kib: f64,
    /// Decoding an object (a watch event, an uncached read), per KiB [s].
    pub decode_per_kib: f64,
    /// One dry-run server-side apply: encode, answer decode, diff [s].
    pub dry_run: f64,
    /// Rendering a machine's bootstrap data (cloud-init, kubeadm configuration) [s].
    pub bootstrap_render: f64,
    /// One RSA-2048 key generation (CAPI's default certificate algorithm) [s].
    pub rsa_keygen: Dist,
    /// One RSA-2048 signature (a certificate signed by a CA) [s].
    pub rsa_sign: f64,
    /// One TLS client handshake with an RSA-2048 client certificate [s].
    pub tls_handshake: f64,
    /// How long KCP keeps a cluster's etcd client certificate (`ClientCertCache`).
    pub etcd_client_cert_ttl: Secs,
    /// Decoding one Prism Central answer in CAPX [s].
    pub pc_call: f64,
}

/// Bytes of each kind of object as stored (JSON or protobuf, metadata included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ObjectSizes {
    pub cluster: Bytes,
    pub nutanix_cluster: Bytes,
    pub kubeadm_control_plane: Bytes,
    pub machine_deployment: Bytes,
    pub machine_set: Bytes,
    pub machine: Bytes,
    pub kubeadm_config: Bytes,
    pub nutanix_machine: Bytes,
    pub template: Bytes,
    pub secret: Bytes,
    pub bootstrap_secret: Bytes,
    pub config_map: Bytes,
    pub event: Bytes,
    pub lease: Bytes,
    /// One MachineHealthCheck.
    pub machine_health_check: Bytes,
}

/// Which implementation the controller uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueKind {
    /// client-go's FIFO queue with `DefaultTypedControllerRateLimiter` (max of per-item
    /// backoff 5 ms→1000 s and an overall 10 qps / 100 bucket).
    Legacy,
    /// controller-runtime's priority queue with per-item backoff only.
    Priority,
}

impl EtcdSettings {
    /// The etcd model's settings from this block.
    pub fn etcd_config(&self) -> EtcdConfig {
        let e = self;
        EtcdConfig {
            fsync: e.fsync_dist(),
            raft_rtt: e.raft_rtt,
            apply_per_write_s: e.apply_per_write,
            quota_backend_bytes: e.quota_backend_bytes.0,
            auto_compaction_retention_s: e.auto_compaction_retention.0,
            apiserver_compaction_interval_s: e.compaction_interval.0,
            revision_overhead_bytes: e.revision_overhead.0,
        }
    }
}

impl PrismCentralSettings {
    /// The Prism Central model's settings from this block: a limit left out is the
    /// size's.
    pub fn pc_config(&self) -> PrismCentralConfig {
        let p = self;
        PrismCentralConfig {
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
        }
    }
}

impl ObjectSizes {
    /// Stored size of one object of `kind` [bytes].
    pub fn of(&self, kind: ObjKind) -> u64 {
        match kind {
            ObjKind::Cluster => self.cluster.0,
            ObjKind::NutanixCluster => self.nutanix_cluster.0,
            ObjKind::KubeadmControlPlane => self.kubeadm_control_plane.0,
            ObjKind::MachineDeployment => self.machine_deployment.0,
            ObjKind::MachineSet => self.machine_set.0,
            ObjKind::Machine => self.machine.0,
            ObjKind::KubeadmConfig => self.kubeadm_config.0,
            ObjKind::NutanixMachine => self.nutanix_machine.0,
            ObjKind::Template => self.template.0,
            ObjKind::Secret => self.secret.0,
            ObjKind::ConfigMap => self.config_map.0,
            ObjKind::Event => self.event.0,
            ObjKind::Lease => self.lease.0,
            ObjKind::MachineHealthCheck => self.machine_health_check.0,
        }
    }
}

pub use super::nkp::{Edition, NkpSettings};
pub use super::node_pools::{NodePool, NodesConfig};
pub use super::thresholds::Thresholds;
pub use crate::in_memory_cloud::{InMemorySettings, Phase};
pub use crate::kinds::Provider;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{source_name}: {field} = {value}: {reason}")]
pub struct ConfigError {
    /// Where the value came from: a file name, a preset, or `--set`.
    pub source_name: String,
    /// The knob's dotted path.
    pub field: String,
    /// The value given.
    pub value: String,
    /// What is allowed.
    pub reason: String,
}

impl ModelConfig {
    /// The four managers that run, in a fixed order, with their names: CAPI's three and
    /// the infrastructure provider's.
    pub fn managers(&self) -> [(&'static str, &ManagerConfig); 4] {
        let infra = match self.infrastructure_provider {
            Provider::Capx => ("capx-controller-manager", &self.capx_controller_manager),
            Provider::InMemory => ("capd-controller-manager", &self.capd_controller_manager),
        };
        [
            ("capi-controller-manager", &self.capi_controller_manager),
            ("capi-kubeadm-bootstrap", &self.capi_kubeadm_bootstrap),
            (
                "capi-kubeadm-control-plane",
                &self.capi_kubeadm_control_plane,
            ),
            infra,
        ]
    }
}

/// A manager's concurrency flags by name.
pub fn concurrency_fields(m: &ManagerConfig) -> [(&'static str, Option<u32>); 11] {
    [
        ("cluster-concurrency", m.cluster_concurrency),
        ("clustertopology-concurrency", m.clustertopology_concurrency),
        (
            "machinedeployment-concurrency",
            m.machinedeployment_concurrency,
        ),
        ("machineset-concurrency", m.machineset_concurrency),
        ("machine-concurrency", m.machine_concurrency),
        ("kubeadmconfig-concurrency", m.kubeadmconfig_concurrency),
        (
            "kubeadmcontrolplane-concurrency",
            m.kubeadmcontrolplane_concurrency,
        ),
        ("nutanixcluster-concurrency", m.nutanixcluster_concurrency),
        ("nutanixmachine-concurrency", m.nutanixmachine_concurrency),
        (
            "machinehealthcheck-concurrency",
            m.machinehealthcheck_concurrency,
        ),
        ("concurrency", m.concurrency),
    ]
}
