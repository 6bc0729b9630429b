//! Scenario files: a management cluster and what is done to it, in YAML, with the real
//! components' own names.
//!
//! ```yaml
//! name: medium-baseline
//! defaults: capi-1.12          # or capi-1.13: fills every knob left out
//! tier: medium                 # optional: the guide's tier on top of the defaults
//! capi-controller-manager:     # the guide's "Controller Configuration" blocks paste as-is
//!   kube-api-qps: 100
//!   machine-concurrency: 100
//!   sync-period: 20m
//!   resources:
//!     limits: { cpu: "8", memory: "16Gi" }
//! etcd:
//!   quota-backend-bytes: 8Gi
//! workload:
//!   - create: { clusters: 100, machines-per-cluster: 25, batch: 10, every: 5m }
//! ```
//!
//! Layers, each over the one before: built-in defaults, the profile, the tier, the file,
//! then `--set`. Unknown keys are errors that name the file, the line and the nearest
//! valid keys.

pub mod config;
pub mod dist;
pub mod faults;
pub mod import;
pub mod operations;
pub mod presets;
pub mod units;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::scenario::config::{ConfigError, ModelConfig};
use crate::scenario::faults::Fault;
use crate::scenario::units::{Secs, parse_secs};
use presets::{Override, Profile, Tier};

/// A scenario, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// A name for reports.
    pub name: Option<String>,
    /// The defaults profile.
    pub defaults: Profile,
    /// The guide's tier applied over the defaults, if any.
    pub tier: Option<Tier>,
    /// Every knob.
    pub config: ModelConfig,
    /// What is done to the management cluster, in order.
    pub workload: Vec<Operation>,
    /// Faults injected at given times.
    pub faults: Vec<Fault>,
    /// Identical, independent management clusters the fleet is split among.
    /// Given explicitly (`topology.management-clusters`); otherwise the configuration's
    /// `topology.clusters-per-management-cluster` decides per fleet size.
    pub management_clusters: Option<u32>,
}

/// One operation of a workload.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Create workload clusters.
    Create(CreateOp),
    /// Keep the ready fleet running: resyncs, lease renewals and requeues only.
    Steady(SteadyOp),
    /// Add workers to every cluster's MachineDeployment.
    Scale(ScaleOp),
    /// Upgrade every cluster's Kubernetes version, in waves.
    Upgrade(UpgradeOp),
    /// Delete every cluster (`delete: {}`).
    Delete(DeleteOp),
}

/// A rolling Kubernetes upgrade of every cluster: the control plane, then the workers.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct UpgradeOp {
    /// Clusters upgraded at a time; all at once when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<u32>,
    /// The MachineDeployments' rolling-update maxSurge [machines] (CAPI's default 1).
    pub max_surge: u32,
    /// Their maxUnavailable [machines] (CAPI's default 0).
    pub max_unavailable: u32,
    /// Start no earlier than this, from the start of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Secs>,
}

/// Delete every cluster of the fleet.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DeleteOp {
    /// Start no earlier than this, from the start of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Secs>,
}

/// Grow (or shrink, if negative) every cluster's MachineDeployment by `by` workers.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ScaleOp {
    /// Workers added per cluster; negative removes.
    pub by: i32,
    /// Start no earlier than this, from the start of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Secs>,
}

/// Run the ready fleet for `duration` with no change: the management cluster's idle load.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SteadyOp {
    /// How long [s].
    pub duration: Secs,
    /// Start no earlier than this, from the start of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Secs>,
}

/// Create `clusters` clusters, all at once or in batches.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CreateOp {
    /// Workload clusters [count].
    pub clusters: u32,
    /// Machines per cluster, control plane included [count].
    pub machines_per_cluster: u32,
    /// Control-plane machines per cluster: 1, 3 or 5.
    pub control_plane_replicas: u32,
    /// Clusters applied together; all at once when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// Time between batches (the guide's scale-test script waits 5m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<Secs>,
}

/// Deployment names and the guide's names for the managers.
const MANAGER_ALIASES: &[(&str, &str)] = &[
    (
        "kubeadm-control-plane-controller",
        "capi-kubeadm-control-plane",
    ),
    (
        "capi-kubeadm-control-plane-controller-manager",
        "capi-kubeadm-control-plane",
    ),
    ("kubeadm-bootstrap-controller", "capi-kubeadm-bootstrap"),
    (
        "capi-kubeadm-bootstrap-controller-manager",
        "capi-kubeadm-bootstrap",
    ),
];

const MANAGERS: &[&str] = &[
    "capi-controller-manager",
    "capi-kubeadm-bootstrap",
    "capi-kubeadm-control-plane",
    "capx-controller-manager",
];

/// The line (1-based) where `key` is first written as a mapping key, in block or flow
/// style (`key: v` or `{a: 1, key: v}`), if found.
fn line_of(text: &str, key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    let is_key_at = |line: &str, at: usize| {
        let before = line[..at].chars().next_back();
        let boundary = before.is_none_or(|c| c == ' ' || c == '{' || c == ',' || c == '-');
        boundary && line[at + key.len()..].trim_start().starts_with(':')
    };
    text.lines()
        .position(|l| l.match_indices(key).any(|(at, _)| is_key_at(l, at)))
        .map(|i| i + 1)
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, key_for_line: &str, field: &str, value: &str, reason: String) -> ConfigError {
        let source_name = match line_of(self.text, key_for_line) {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.to_string(),
        };
        ConfigError {
            source_name,
            field: field.to_string(),
            value: value.to_string(),
            reason,
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Rewrites the guide's spellings into the model's: manager aliases, and
/// `resources: {limits, requests}` into `cpu-limit`, `memory-limit`, `cpu-request`,
/// `memory-request`.
fn normalise(ctx: &Ctx, knobs: &mut Map<String, Value>) -> Result<(), ConfigError> {
    for (alias, name) in MANAGER_ALIASES {
        if let Some(v) = knobs.remove(*alias) {
            if knobs.contains_key(*name) {
                return Err(ctx.err(
                    alias,
                    alias,
                    "",
                    format!("{name} is given twice (as {alias} too)"),
                ));
            }
            knobs.insert(name.to_string(), v);
        }
    }
    for manager in MANAGERS {
        let Some(Value::Object(m)) = knobs.get_mut(*manager) else {
            continue;
        };
        let Some(resources) = m.remove("resources") else {
            continue;
        };
        let Value::Object(resources) = resources else {
            return Err(ctx.err(
                "resources",
                &format!("{manager}.resources"),
                "",
                "must be a mapping with limits and requests".into(),
            ));
        };
        for (section, suffix) in [("limits", "limit"), ("requests", "request")] {
            let Some(part) = resources.get(section) else {
                continue;
            };
            let Value::Object(part) = part else {
                return Err(ctx.err(
                    section,
                    &format!("{manager}.resources.{section}"),
                    "",
                    "must be a mapping of cpu and memory".into(),
                ));
            };
            for (k, v) in part {
                if k != "cpu" && k != "memory" {
                    return Err(ctx.err(
                        k,
                        &format!("{manager}.resources.{section}.{k}"),
                        &scalar_text(v),
                        "only cpu and memory are modelled".into(),
                    ));
                }
                m.insert(format!("{k}-{suffix}"), v.clone());
            }
        }
        if let Some(k) = resources
            .keys()
            .find(|k| *k != "limits" && *k != "requests")
        {
            return Err(ctx.err(
                k,
                &format!("{manager}.resources.{k}"),
                "",
                "expected limits or requests".into(),
            ));
        }
    }
    Ok(())
}

/// Checks every key of the knob tree against the settable paths.
fn check_keys(ctx: &Ctx, v: &Value, prefix: &str, paths: &[String]) -> Result<(), ConfigError> {
    let Value::Object(map) = v else { return Ok(()) };
    for (k, child) in map {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if !paths.contains(&path) {
            let near = presets::nearest_paths(&path, 3);
            return Err(ctx.err(
                k,
                &path,
                &scalar_text(child),
                format!("unknown key; did you mean {}?", near.join(", ")),
            ));
        }
        let has_children = paths.iter().any(|p| {
            p.len() > path.len() && p.starts_with(&path) && p.as_bytes()[path.len()] == b'.'
        });
        if has_children {
            check_keys(ctx, child, &path, paths)?;
        }
    }
    Ok(())
}

fn parse_workload(ctx: &Ctx, v: &Value) -> Result<Vec<Operation>, ConfigError> {
    let Value::Array(items) = v else {
        return Err(ctx.err(
            "workload",
            "workload",
            &scalar_text(v),
            "must be a list of operations, e.g. - create: {clusters: 100}".into(),
        ));
    };
    let mut ops = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("workload[{i}]");
        let Value::Object(m) = item else {
            return Err(ctx.err(
                "workload",
                &field,
                &scalar_text(item),
                "each operation is a mapping like create: {...}".into(),
            ));
        };
        if m.len() != 1 {
            return Err(ctx.err(
                "workload",
                &field,
                "",
                "each list item holds exactly one operation".into(),
            ));
        }
        let (op, body) = m.iter().next().expect("one entry");
        match op.as_str() {
            "create" => {
                if !ops.is_empty() {
                    let why = "this version runs one create, first in the workload";
                    return Err(ctx.err(op, &format!("{field}.create"), "", why.into()));
                }
                ops.push(Operation::Create(parse_create(ctx, &field, body)?))
            }
            _ if matches!(ops.last(), Some(Operation::Delete(_))) => {
                let why = "nothing can follow a delete: the fleet is gone";
                return Err(ctx.err(op, &format!("{field}.{op}"), "", why.into()));
            }
            "steady" | "scale" | "upgrade" | "delete" if ops.is_empty() => {
                let why = format!("{op} acts on a fleet: put a create before it");
                return Err(ctx.err(op, &format!("{field}.{op}"), "", why));
            }
            "steady" => {
                if ops.iter().any(|o| matches!(o, Operation::Steady(_))) {
                    let why = "this version measures one steady window per workload";
                    return Err(ctx.err(op, &format!("{field}.steady"), "", why.into()));
                }
                ops.push(Operation::Steady(parse_steady(ctx, &field, body)?))
            }
            "scale" => {
                let op = parse_scale(ctx, &field, body)?;
                // Workers per cluster after every scale so far must stay within 0..=1000.
                let mut workers = 0i64;
                for o in ops.iter() {
                    match o {
                        Operation::Create(c) => {
                            workers = i64::from(c.machines_per_cluster - c.control_plane_replicas)
                        }
                        Operation::Scale(s) => workers += i64::from(s.by),
                        Operation::Steady(_) | Operation::Upgrade(_) | Operation::Delete(_) => {}
                    }
                }
                let after = workers + i64::from(op.by);
                if !(0..=1000).contains(&after) {
                    return Err(ctx.err(
                        "by",
                        &format!("{field}.scale.by"),
                        &op.by.to_string(),
                        format!(
                            "would leave {after} workers per cluster (from {workers}); \
                             the count must stay from 0 to 1000"
                        ),
                    ));
                }
                ops.push(Operation::Scale(op))
            }
            "delete" => {
                let f = format!("{field}.delete");
                let at = match body {
                    Value::Null => None,
                    Value::Object(m) if m.keys().all(|k| k == "at") => parse_at(ctx, &f, m)?,
                    _ => {
                        let why =
                            "its only setting is at; write delete: {} to delete every cluster";
                        return Err(ctx.err("delete", &f, &scalar_text(body), why.into()));
                    }
                };
                ops.push(Operation::Delete(DeleteOp { at }))
            }
            "upgrade" => {
                let upgrades = ops
                    .iter()
                    .filter(|o| matches!(o, Operation::Upgrade(_)))
                    .count();
                if upgrades >= MAX_UPGRADES {
                    let why = format!("a workload holds at most {MAX_UPGRADES} upgrades");
                    return Err(ctx.err(op, &format!("{field}.upgrade"), "", why));
                }
                ops.push(Operation::Upgrade(parse_upgrade(ctx, &field, body)?))
            }
            "fault" | "faults" => {
                let why = "faults are not operations: list them under the top-level faults key";
                return Err(ctx.err(op, &format!("{field}.{op}"), "", why.into()));
            }
            other => {
                return Err(ctx.err(
                    other,
                    &format!("{field}.{other}"),
                    "",
                    "unknown operation; choose from create, scale, upgrade, steady, delete".into(),
                ));
            }
        }
    }
    Ok(ops)
}

const MANAGER_NAMES: [&str; 4] = [
    "capi-controller-manager",
    "capi-kubeadm-bootstrap",
    "capi-kubeadm-control-plane",
    "capx-controller-manager",
];

fn parse_faults(ctx: &Ctx, v: &Value) -> Result<Vec<Fault>, ConfigError> {
    let Value::Array(items) = v else {
        let hint = "must be a list, e.g. - prism-central-outage: {at: 30m, duration: 10m}";
        return Err(ctx.err("faults", "faults", &scalar_text(v), hint.into()));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("faults[{i}]");
        let Value::Object(m) = item else {
            let hint = "each fault is a mapping like prism-central-outage: {...}";
            return Err(ctx.err("faults", &field, &scalar_text(item), hint.into()));
        };
        let Some((kind, body)) = m.iter().next().filter(|_| m.len() == 1) else {
            let hint = "each list item holds exactly one fault";
            return Err(ctx.err("faults", &field, "", hint.into()));
        };
        let kf = format!("{field}.{kind}");
        let Value::Object(b) = body else {
            let hint = "must be a mapping with at, duration, ...";
            return Err(ctx.err(kind, &kf, &scalar_text(body), hint.into()));
        };
        let dur = |key: &str| -> Result<sim_core::SimDuration, ConfigError> {
            let f = format!("{kf}.{key}");
            let Some(v) = b.get(key) else {
                return Err(ctx.err(kind, &f, "", "is required (a duration such as 30m)".into()));
            };
            let text = scalar_text(v);
            parse_secs(&text)
                .map(sim_core::SimDuration::from_secs_f64)
                .map_err(|e| ctx.err(key, &f, &text, e))
        };
        let allowed: &[&str] = match kind.as_str() {
            "prism-central-outage" => &["at", "duration"],
            "etcd-disk-latency-spike" => &["at", "duration", "factor"],
            "controller-restart" => &["at", "manager", "every"],
            "vm-create-failures" => &["probability", "at", "duration"],
            "machine-health-check" => &["node-startup-timeout", "unhealthy-timeout"],
            "node-failures" => &["every", "at"],
            other => {
                let why = "unknown fault; choose from prism-central-outage, \
                           etcd-disk-latency-spike, controller-restart, vm-create-failures, \
                           machine-health-check, node-failures";
                return Err(ctx.err(other, &kf, "", why.into()));
            }
        };
        if let Some(k) = b.keys().find(|k| !allowed.contains(&k.as_str())) {
            let why = format!("unknown key; expected {}", allowed.join(", "));
            return Err(ctx.err(k, &format!("{kf}.{k}"), "", why));
        }
        out.push(match kind.as_str() {
            "prism-central-outage" => Fault::PrismCentralOutage {
                at: dur("at")?,
                duration: dur("duration")?,
            },
            "etcd-disk-latency-spike" => {
                let f = format!("{kf}.factor");
                let Some(v) = b.get("factor") else {
                    let why = "is required (e.g. 20 for twenty times slower)";
                    return Err(ctx.err(kind, &f, "", why.into()));
                };
                let factor = v
                    .as_f64()
                    .filter(|x| (1.0..=10_000.0).contains(x))
                    .ok_or_else(|| {
                        ctx.err(
                            "factor",
                            &f,
                            &scalar_text(v),
                            "must be a number from 1 to 10000".into(),
                        )
                    })?;
                Fault::EtcdDiskLatencySpike {
                    at: dur("at")?,
                    duration: dur("duration")?,
                    factor,
                }
            }
            "machine-health-check" => {
                let timeout = if b.contains_key("node-startup-timeout") {
                    dur("node-startup-timeout")?
                } else {
                    sim_core::SimDuration::from_secs(600)
                };
                if timeout < sim_core::SimDuration::from_secs(60) {
                    let f = format!("{kf}.node-startup-timeout");
                    let why = "must be at least 1m (CAPI's default is 10m)";
                    return Err(ctx.err(
                        "node-startup-timeout",
                        &f,
                        &timeout.to_string(),
                        why.into(),
                    ));
                }
                let unhealthy_timeout = if b.contains_key("unhealthy-timeout") {
                    dur("unhealthy-timeout")?
                } else {
                    sim_core::SimDuration::from_secs(300)
                };
                if unhealthy_timeout < sim_core::SimDuration::from_secs(10) {
                    let why = "must be at least 10s (CAPI's examples use 300s)";
                    return Err(ctx.err(
                        "unhealthy-timeout",
                        &format!("{kf}.unhealthy-timeout"),
                        &unhealthy_timeout.to_string(),
                        why.into(),
                    ));
                }
                Fault::MachineHealthCheck {
                    node_startup_timeout: timeout,
                    unhealthy_timeout,
                }
            }
            "node-failures" => {
                let every = dur("every")?;
                if every < sim_core::SimDuration::from_secs(60) {
                    let why = "must be at least 1m (the mean time between node failures)";
                    return Err(ctx.err(
                        "every",
                        &format!("{kf}.every"),
                        &every.to_string(),
                        why.into(),
                    ));
                }
                let at = if b.contains_key("at") {
                    dur("at")?
                } else {
                    sim_core::SimDuration::ZERO
                };
                Fault::NodeFailures { at, every }
            }
            "vm-create-failures" => {
                let f = format!("{kf}.probability");
                let Some(v) = b.get("probability") else {
                    let why = "is required (e.g. 0.05 for one create in twenty)";
                    return Err(ctx.err(kind, &f, "", why.into()));
                };
                let probability = v.as_f64().filter(|x| (0.0..=0.95).contains(x)).ok_or_else(
                    || {
                        let why = "must be a number from 0 to 0.95 (CAPX retries every failure, \
                                   so 1 would never finish)";
                        ctx.err("probability", &f, &scalar_text(v), why.into())
                    },
                )?;
                Fault::VmCreateFailures {
                    probability,
                    at: if b.contains_key("at") {
                        dur("at")?
                    } else {
                        sim_core::SimDuration::ZERO
                    },
                    duration: if b.contains_key("duration") {
                        Some(dur("duration")?)
                    } else {
                        None
                    },
                }
            }
            _ => {
                let f = format!("{kf}.manager");
                let name = b.get("manager").map(scalar_text).unwrap_or_default();
                let manager = MANAGER_NAMES
                    .iter()
                    .position(|m| *m == name)
                    .ok_or_else(|| {
                        let why = format!("choose from {}", MANAGER_NAMES.join(", "));
                        ctx.err("manager", &f, &name, why)
                    })?;
                let every = if b.contains_key("every") {
                    let every = dur("every")?;
                    if every < sim_core::SimDuration::from_secs(60) {
                        let why = "must be at least 1m (the mean time between restarts)";
                        return Err(ctx.err(
                            "every",
                            &format!("{kf}.every"),
                            &every.to_string(),
                            why.into(),
                        ));
                    }
                    Some(every)
                } else {
                    None
                };
                let at = if every.is_some() && !b.contains_key("at") {
                    sim_core::SimDuration::ZERO
                } else {
                    dur("at")?
                };
                Fault::ControllerRestart { manager, at, every }
            }
        });
    }
    Ok(out)
}

/// A fault as a scenario file writes it.
fn fault_value(f: &Fault) -> Value {
    let d = |x: sim_core::SimDuration| Value::String(Secs(x.as_secs_f64()).to_string());
    match *f {
        Fault::PrismCentralOutage { at, duration } => {
            serde_json::json!({ "prism-central-outage": { "at": d(at), "duration": d(duration) } })
        }
        Fault::EtcdDiskLatencySpike {
            at,
            duration,
            factor,
        } => serde_json::json!({
            "etcd-disk-latency-spike": { "at": d(at), "duration": d(duration), "factor": factor }
        }),
        Fault::VmCreateFailures {
            probability,
            at,
            duration,
        } => {
            let mut body = serde_json::json!({ "probability": probability, "at": d(at) });
            if let Some(len) = duration {
                body["duration"] = d(len);
            }
            serde_json::json!({ "vm-create-failures": body })
        }
        Fault::MachineHealthCheck {
            node_startup_timeout,
            unhealthy_timeout,
        } => serde_json::json!({
            "machine-health-check": {
                "node-startup-timeout": d(node_startup_timeout),
                "unhealthy-timeout": d(unhealthy_timeout),
            }
        }),
        Fault::NodeFailures { at, every } => serde_json::json!({
            "node-failures": { "at": d(at), "every": d(every) }
        }),
        Fault::ControllerRestart { manager, at, every } => {
            let mut body = serde_json::json!({ "manager": MANAGER_NAMES[manager], "at": d(at) });
            if let Some(every) = every {
                body["every"] = d(every);
            }
            serde_json::json!({ "controller-restart": body })
        }
    }
}

/// Topology: management clusters, Prism Centrals, shards per manager, and the knobs of
/// the configuration's own `topology` section.
type TopologySpec = (
    Option<u32>,
    Option<u32>,
    Vec<(String, u32)>,
    Map<String, Value>,
);

fn parse_topology(ctx: &Ctx, v: &Value) -> Result<TopologySpec, ConfigError> {
    let Value::Object(m) = v else {
        let hint = "must be a mapping, e.g. topology: {management-clusters: 3}";
        return Err(ctx.err("topology", "topology", &scalar_text(v), hint.into()));
    };
    let (mut n, mut pcs, mut shards, mut knobs) = (None, None, Vec::new(), Map::new());
    for (k, val) in m {
        let f = format!("topology.{k}");
        match k.as_str() {
            "clusters-per-management-cluster" => {
                knobs.insert(k.clone(), val.clone());
            }
            "management-clusters" => match val.as_u64() {
                Some(x) if (1..=100).contains(&x) => n = Some(x as u32),
                _ => {
                    let why = "must be a whole number from 1 to 100";
                    return Err(ctx.err(k, &f, &scalar_text(val), why.into()));
                }
            },
            "prism-centrals" => match val.as_u64() {
                Some(x) if (1..=64).contains(&x) => pcs = Some(x as u32),
                _ => {
                    let why = "must be a whole number from 1 to 64";
                    return Err(ctx.err(k, &f, &scalar_text(val), why.into()));
                }
            },
            "controller-shards" => {
                let Value::Object(per) = val else {
                    let why =
                        "must map managers to shard counts, e.g. {capi-controller-manager: 3}";
                    return Err(ctx.err(k, &f, &scalar_text(val), why.into()));
                };
                for (mgr, count) in per {
                    let g = format!("{f}.{mgr}");
                    if !MANAGER_NAMES.contains(&mgr.as_str()) {
                        let why =
                            format!("not a manager; choose from {}", MANAGER_NAMES.join(", "));
                        return Err(ctx.err(mgr, &g, &scalar_text(count), why));
                    }
                    match count.as_u64() {
                        Some(x) if (1..=16).contains(&x) => shards.push((mgr.clone(), x as u32)),
                        _ => {
                            let why = "must be a whole number from 1 to 16";
                            return Err(ctx.err(mgr, &g, &scalar_text(count), why.into()));
                        }
                    }
                }
            }
            other => {
                let why = "unknown key; expected management-clusters, clusters-per-management-cluster, prism-centrals or controller-shards";
                return Err(ctx.err(other, &f, &scalar_text(val), why.into()));
            }
        }
    }
    Ok((n, pcs, shards, knobs))
}

/// An operation's optional `at:` (a duration from the start of the run).
fn parse_at(ctx: &Ctx, f: &str, m: &Map<String, Value>) -> Result<Option<Secs>, ConfigError> {
    let Some(v) = m.get("at") else {
        return Ok(None);
    };
    let text = scalar_text(v);
    let field = format!("{f}.at");
    let secs = parse_secs(&text).map_err(|e| ctx.err("at", &field, &text, e))?;
    if secs > 30.0 * 86_400.0 {
        let why = "must be at most 720h from the start of the run";
        return Err(ctx.err("at", &field, &text, why.into()));
    }
    Ok(Some(Secs(secs)))
}

fn parse_scale(ctx: &Ctx, field: &str, body: &Value) -> Result<ScaleOp, ConfigError> {
    let f = format!("{field}.scale");
    let hint = "must be a mapping, e.g. scale: {by: 5} (workers added per cluster)";
    let Value::Object(m) = body else {
        return Err(ctx.err("scale", &f, &scalar_text(body), hint.into()));
    };
    if let Some(k) = m.keys().find(|k| !["by", "at"].contains(&k.as_str())) {
        return Err(ctx.err(
            k,
            &format!("{f}.{k}"),
            "",
            "unknown key; expected by, at".into(),
        ));
    }
    let at = parse_at(ctx, &f, m)?;
    let Some(v) = m.get("by") else {
        return Err(ctx.err("scale", &format!("{f}.by"), "", "is required".into()));
    };
    match v.as_i64() {
        Some(n) if n != 0 && (-1000..=1000).contains(&n) => Ok(ScaleOp { by: n as i32, at }),
        _ => Err(ctx.err(
            "by",
            &format!("{f}.by"),
            &scalar_text(v),
            "must be a whole number of workers per cluster, -1000 to 1000 and not 0 \
             (negative scales down)"
                .into(),
        )),
    }
}

/// Upgrades one workload may hold.
const MAX_UPGRADES: usize = 20;

fn parse_upgrade(ctx: &Ctx, field: &str, body: &Value) -> Result<UpgradeOp, ConfigError> {
    let f = format!("{field}.upgrade");
    let keys = ["wave", "max-surge", "max-unavailable", "at"];
    let m = match body {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => {
            let hint = "must be a mapping, e.g. upgrade: {wave: 10} (clusters at a time), or \
                        upgrade: {} for all at once";
            return Err(ctx.err("upgrade", &f, &scalar_text(body), hint.into()));
        }
    };
    if let Some(k) = m.keys().find(|k| !keys.contains(&k.as_str())) {
        let why = if k == "version" {
            "versions are not named: an upgrade takes every Machine to the next version; \
             expected wave, max-surge, max-unavailable, at"
                .to_string()
        } else {
            format!("unknown key; expected {}", keys.join(", "))
        };
        return Err(ctx.err(k, &format!("{f}.{k}"), "", why));
    }
    let at = parse_at(ctx, &f, &m)?;
    let count = |key: &str, default: Option<u32>, lo: u32, hi: u32| match m.get(key) {
        None => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if (u64::from(lo)..=u64::from(hi)).contains(&n) => Ok(Some(n as u32)),
            _ => Err(ctx.err(
                key,
                &format!("{f}.{key}"),
                &scalar_text(v),
                format!("must be a whole number from {lo} to {hi}"),
            )),
        },
    };
    let wave = count("wave", None, 1, 100_000)?;
    let max_surge = count("max-surge", Some(1), 0, 1000)?.expect("default");
    let max_unavailable = count("max-unavailable", Some(0), 0, 1000)?.expect("default");
    if max_surge == 0 && max_unavailable == 0 {
        let why = "max-surge and max-unavailable cannot both be 0: the rollout could not \
                   start (CAPI's webhook rejects it)";
        return Err(ctx.err("max-surge", &format!("{f}.max-surge"), "0", why.into()));
    }
    Ok(UpgradeOp {
        wave,
        max_surge,
        max_unavailable,
        at,
    })
}

fn parse_steady(ctx: &Ctx, field: &str, body: &Value) -> Result<SteadyOp, ConfigError> {
    let f = format!("{field}.steady");
    let hint = "must be a mapping with a duration, e.g. steady: {duration: 1h}";
    let Value::Object(m) = body else {
        return Err(ctx.err("steady", &f, &scalar_text(body), hint.into()));
    };
    if let Some(k) = m.keys().find(|k| !["duration", "at"].contains(&k.as_str())) {
        let why = "unknown key; expected duration, at";
        return Err(ctx.err(k, &format!("{f}.{k}"), "", why.into()));
    }
    let at = parse_at(ctx, &f, m)?;
    let Some(v) = m.get("duration") else {
        return Err(ctx.err("steady", &format!("{f}.duration"), "", "is required".into()));
    };
    let text = scalar_text(v);
    let field = format!("{f}.duration");
    let secs = parse_secs(&text).map_err(|e| ctx.err("duration", &field, &text, e))?;
    if !(60.0..=7.0 * 86_400.0).contains(&secs) {
        let why = "must be from 1m to 168h";
        return Err(ctx.err("duration", &field, &text, why.into()));
    }
    Ok(SteadyOp {
        duration: Secs(secs),
        at,
    })
}

fn parse_create(ctx: &Ctx, field: &str, body: &Value) -> Result<CreateOp, ConfigError> {
    let Value::Object(m) = body else {
        return Err(ctx.err(
            "create",
            &format!("{field}.create"),
            &scalar_text(body),
            "must be a mapping with clusters, machines-per-cluster, ...".into(),
        ));
    };
    let count =
        |key: &str, default: Option<u32>, range: (u32, u32)| -> Result<Option<u32>, ConfigError> {
            let f = format!("{field}.create.{key}");
            match m.get(key) {
                None => Ok(default),
                Some(v) => match v.as_u64() {
                    Some(n) if (range.0 as u64..=range.1 as u64).contains(&n) => Ok(Some(n as u32)),
                    _ => Err(ctx.err(
                        key,
                        &f,
                        &scalar_text(v),
                        format!("must be a whole number from {} to {}", range.0, range.1),
                    )),
                },
            }
        };
    for k in m.keys() {
        if ![
            "clusters",
            "machines-per-cluster",
            "control-plane-replicas",
            "batch",
            "every",
        ]
        .contains(&k.as_str())
        {
            return Err(ctx.err(k, &format!("{field}.create.{k}"), "", "unknown key; expected clusters, machines-per-cluster, control-plane-replicas, batch, every".into()));
        }
    }
    let clusters = count("clusters", None, (1, 100_000))?.ok_or_else(|| {
        ctx.err(
            "create",
            &format!("{field}.create.clusters"),
            "",
            "is required".into(),
        )
    })?;
    let machines = count("machines-per-cluster", Some(25), (1, 1000))?.expect("default");
    let cp = count("control-plane-replicas", Some(3), (1, 5))?.expect("default");
    if ![1, 3, 5].contains(&cp) {
        return Err(ctx.err(
            "control-plane-replicas",
            &format!("{field}.create.control-plane-replicas"),
            &cp.to_string(),
            "must be 1, 3 or 5".into(),
        ));
    }
    if cp > machines {
        return Err(ctx.err(
            "machines-per-cluster",
            &format!("{field}.create.machines-per-cluster"),
            &machines.to_string(),
            format!("is below control-plane-replicas {cp}: the count includes the control plane"),
        ));
    }
    let batch = count("batch", None, (1, 100_000))?;
    let every = match m.get("every") {
        None => None,
        Some(v) => {
            let text = scalar_text(v);
            let secs = parse_secs(&text)
                .map_err(|e| ctx.err("every", &format!("{field}.create.every"), &text, e))?;
            Some(Secs(secs))
        }
    };
    if batch.is_some() != every.is_some() {
        return Err(ctx.err(
            "create",
            &format!("{field}.create"),
            "",
            "batch and every go together (e.g. batch: 10, every: 5m)".into(),
        ));
    }
    Ok(CreateOp {
        clusters,
        machines_per_cluster: machines,
        control_plane_replicas: cp,
        batch,
        every,
    })
}

/// Reads a scenario from `text` (named `file` in errors), with `overrides` on top.
pub fn load(file: &str, text: &str, overrides: &[Override]) -> Result<Scenario, ConfigError> {
    let ctx = Ctx { file, text };
    let root: Value = serde_saphyr::from_str(text).map_err(|e| ConfigError {
        source_name: file.to_string(),
        field: "(file)".into(),
        value: String::new(),
        reason: format!("not valid YAML: {e}"),
    })?;
    let Value::Object(mut root) = root else {
        return Err(ctx.err(
            "",
            "(file)",
            "",
            "a scenario is a YAML mapping (name, defaults, tier, knobs, workload)".into(),
        ));
    };
    let name = root.remove("name").map(|v| scalar_text(&v));
    root.remove("description");
    let defaults = match root.remove("defaults") {
        None => Profile::Capi112,
        Some(v) => {
            let text = scalar_text(&v);
            Profile::parse(&text).ok_or_else(|| {
                ctx.err(
                    "defaults",
                    "defaults",
                    &text,
                    "choose from capi-1.12, capi-1.13".into(),
                )
            })?
        }
    };
    let tier = match root.remove("tier") {
        None => None,
        Some(v) => {
            let text = scalar_text(&v);
            Some(Tier::parse(&text).ok_or_else(|| {
                ctx.err(
                    "tier",
                    "tier",
                    &text,
                    "choose from small, medium, large, xl, extreme".into(),
                )
            })?)
        }
    };
    let workload = match root.remove("workload") {
        None => Vec::new(),
        Some(v) => parse_workload(&ctx, &v)?,
    };
    let faults = match root.remove("faults") {
        None => Vec::new(),
        Some(v) => parse_faults(&ctx, &v)?,
    };
    let (management_clusters, prism_centrals, shards, topology_knobs) =
        match root.remove("topology") {
            None => (None, None, Vec::new(), Map::new()),
            Some(v) => parse_topology(&ctx, &v)?,
        };
    if !topology_knobs.is_empty() {
        root.insert("topology".into(), Value::Object(topology_knobs));
    }
    for (mgr, n) in shards {
        // `topology.controller-shards.<manager>` is the knob `<manager>.shards`.
        let m = root
            .entry(mgr.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        match m {
            Value::Object(m) if !m.contains_key("shards") => {
                m.insert("shards".into(), Value::from(n));
            }
            _ => {
                let why = format!("given twice: here and as {mgr}.shards");
                let field = format!("topology.controller-shards.{mgr}");
                return Err(ctx.err(&mgr, &field, &n.to_string(), why));
            }
        }
    }
    if let Some(n) = prism_centrals {
        // `topology.prism-centrals` is the knob `prism-central.count`.
        let pc = root
            .entry("prism-central")
            .or_insert_with(|| Value::Object(Map::new()));
        match pc {
            Value::Object(m) if !m.contains_key("count") => {
                m.insert("count".into(), Value::from(n));
            }
            _ => {
                let why = "given twice: as topology.prism-centrals and as prism-central.count";
                let field = "topology.prism-centrals";
                return Err(ctx.err("prism-centrals", field, &n.to_string(), why.into()));
            }
        }
    }
    normalise(&ctx, &mut root)?;
    let knobs = Value::Object(root);
    check_keys(&ctx, &knobs, "", &presets::settable_paths())?;
    let v = presets::layered_value(defaults, tier, Some((file, knobs)))?;
    let config = presets::decode(v, file, overrides).map_err(|mut e| {
        if let Some(line) = line_of(text, e.field.rsplit('.').next().unwrap_or(&e.field))
            && e.source_name == file
        {
            e.source_name = format!("{file}:{line}");
        }
        e
    })?;
    Ok(Scenario {
        name,
        defaults,
        tier,
        config,
        workload,
        faults,
        management_clusters,
    })
}

impl Scenario {
    /// The operations after the create, in order, as the simulation runs them.
    pub fn after_ops(&self) -> Vec<crate::scenario::operations::AfterOp> {
        use crate::scenario::operations::AfterOp;
        let d = |s: &Secs| sim_core::SimDuration::from_secs_f64(s.0);
        let mut out = Vec::new();
        for op in &self.workload {
            let (at, after) = match op {
                Operation::Create(_) => continue,
                Operation::Steady(s) => (&s.at, AfterOp::Steady(d(&s.duration))),
                Operation::Scale(s) => (&s.at, AfterOp::Scale { by: s.by }),
                Operation::Upgrade(u) => (
                    &u.at,
                    AfterOp::Upgrade {
                        wave: u.wave.unwrap_or(0),
                        max_surge: u.max_surge,
                        max_unavailable: u.max_unavailable,
                    },
                ),
                Operation::Delete(s) => (&s.at, AfterOp::Delete),
            };
            if let Some(t) = at {
                out.push(AfterOp::WaitUntil(d(t)));
            }
            out.push(after);
        }
        out
    }
}

/// A scenario as a YAML file with every knob written out, which reads back to the same.
pub fn to_yaml(s: &Scenario) -> String {
    let mut out = String::new();
    out.push_str("# Resolved by capsim: every knob written out.\n");
    if let Some(name) = &s.name {
        out.push_str(&format!("name: {name}\n"));
    }
    out.push_str(&format!("defaults: {}\n", s.defaults.name()));
    if let Some(t) = s.tier {
        out.push_str(&format!("tier: {}\n", t.name()));
    }
    let mut cfg = serde_json::to_value(&s.config).expect("configuration serialises");
    if let (Some(n), Some(Value::Object(t))) = (s.management_clusters, cfg.get_mut("topology")) {
        t.insert("management-clusters".into(), Value::from(n));
    }
    out.push_str(&serde_saphyr::to_string(&cfg).expect("a JSON tree is valid YAML"));
    if !s.faults.is_empty() {
        let faults: Vec<Value> = s.faults.iter().map(fault_value).collect();
        let doc = serde_json::json!({ "faults": faults });
        out.push_str(&serde_saphyr::to_string(&doc).expect("valid YAML"));
    }
    if !s.workload.is_empty() {
        let w = serde_json::to_value(&s.workload).expect("workload serialises");
        out.push_str(
            &serde_saphyr::to_string(&serde_json::json!({ "workload": w })).expect("valid YAML"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE_MEDIUM_BLOCK: &str = r#"
# Medium tier - significant tuning
capi-controller-manager:
  kube-api-qps: 100
  kube-api-burst: 200
  cluster-concurrency: 50
  machine-concurrency: 100
  machinedeployment-concurrency: 50
  machineset-concurrency: 50
  sync-period: 20m
  resources:
    requests: { cpu: "4", memory: "8Gi" }
    limits: { cpu: "8", memory: "16Gi" }

kubeadm-control-plane-controller:
  kube-api-qps: 100
  kube-api-burst: 200
  kubeadmcontrolplane-concurrency: 50
  resources:
    requests: { cpu: "2", memory: "4Gi" }
    limits: { cpu: "4", memory: "8Gi" }

capx-controller-manager:
  kube-api-qps: 100
  kube-api-burst: 200
  nutanixcluster-concurrency: 30
  nutanixmachine-concurrency: 50
  resources:
    requests: { cpu: "2", memory: "4Gi" }
    limits: { cpu: "4", memory: "8Gi" }
"#;

    #[test]
    fn the_guides_controller_block_parses() {
        let s = load("guide.yaml", GUIDE_MEDIUM_BLOCK, &[]).unwrap();
        let c = &s.config;
        assert_eq!(c.capi_controller_manager.machine_concurrency, Some(100));
        assert_eq!(c.capi_controller_manager.sync_period.0, 1200.0);
        assert_eq!(c.capi_controller_manager.cpu_limit.0, 8.0);
        assert_eq!(c.capi_controller_manager.memory_limit.0, 16 << 30);
        assert_eq!(
            c.capi_kubeadm_control_plane.kubeadmcontrolplane_concurrency,
            Some(50)
        );
        assert_eq!(
            c.capx_controller_manager.nutanixmachine_concurrency,
            Some(50)
        );
        assert_eq!(s.defaults, Profile::Capi112);
    }

    #[test]
    fn resolve_write_read_gives_the_same() {
        let text = "name: rt\ndefaults: capi-1.13\ntier: large\netcd:\n  quota-backend-bytes: 6Gi\n\
                    workload:\n  - create: {clusters: 40, machines-per-cluster: 7, batch: 10, every: 5m}\n\
                    \x20 - scale: {by: 3, at: 4h}\n\
                    \x20 - steady: {duration: 90m}\n\
                    \x20 - delete: {}\n\
                    faults:\n  - prism-central-outage: {at: 30m, duration: 10m}\n\
                    \x20 - vm-create-failures: {probability: 0.1, at: 5m, duration: 1h}\n\
                    \x20 - machine-health-check: {node-startup-timeout: 20m}\n\
                    \x20 - etcd-disk-latency-spike: {at: 1h, duration: 5m, factor: 20}\n\
                    \x20 - controller-restart: {manager: capx-controller-manager, at: 45m}\n\
                    topology: {management-clusters: 3}\n";
        let a = load("rt.yaml", text, &[]).unwrap();
        let written = to_yaml(&a);
        let b = load("resolved.yaml", &written, &[]).unwrap();
        assert_eq!(a, b, "{written}");
        assert_eq!(a.config.etcd.quota_backend_bytes.0, 6 << 30);
        assert_eq!(a.faults.len(), 5);
        assert_eq!(a.workload.len(), 4);
        assert_eq!(a.after_ops().len(), 4, "scale's at: a wait before it");
        assert_eq!(a.management_clusters, Some(3));
    }

    #[test]
    fn a_cap_per_management_cluster_splits_the_fleet_and_reads_back() {
        let text = "topology: {clusters-per-management-cluster: 400}\n";
        let a = load("cap.yaml", text, &[]).unwrap();
        let b = load("resolved.yaml", &to_yaml(&a), &[]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.management_clusters, None);
        let t = &a.config.topology;
        assert_eq!(t.management_clusters_for(400), 1);
        assert_eq!(t.management_clusters_for(401), 2);
        assert_eq!(t.management_clusters_for(2000), 5);
        let e = load(
            "cap.yaml",
            "topology: {clusters-per-management-cluster: 0}\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.field, "topology.clusters-per-management-cluster", "{e}");
    }

    #[test]
    fn errors_name_the_file_line_field_and_nearest_keys() {
        let text = "capi-controller-manager:\n  kube-api-qps: 100\n  machine-concurency: 10\n";
        let e = load("s.yaml", text, &[]).unwrap_err();
        assert_eq!(e.source_name, "s.yaml:3");
        assert_eq!(e.field, "capi-controller-manager.machine-concurency");
        assert!(
            e.reason
                .contains("capi-controller-manager.machine-concurrency"),
            "{e}"
        );
        let e = load("s.yaml", "etcd:\n  quota-backend-bytes: 8Gb\n", &[]).unwrap_err();
        assert!(e.to_string().contains("8Gb"), "{e}");
        let e = load("s.yaml", "defaults: capi-1.11\n", &[]).unwrap_err();
        assert!(
            e.to_string()
                .contains("s.yaml:1: defaults = capi-1.11: choose from capi-1.12, capi-1.13"),
            "{e}"
        );
        let e = load("s.yaml", "workload:\n  - upgrade: {}\n", &[]).unwrap_err();
        assert!(e.reason.contains("put a create before it"), "{e}");
        let e = load("s.yaml", "workload:\n  - create: {clusters: 0}\n", &[]).unwrap_err();
        assert!(e.reason.contains("from 1 to 100000"), "{e}");
        let e = load("s.yaml", ": : :\n", &[]).unwrap_err();
        assert!(e.reason.contains("YAML"), "{e}");
    }
}
