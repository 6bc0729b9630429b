//! The `workload:` list of a scenario file: what is done to the management cluster, in
//! order (create, then scale, upgrade, steady, delete), as written and checked. The world
//! runs it as [`super::operations`].

use serde::Serialize;
use serde_json::{Map, Value};

use super::config::ConfigError;
use super::{Ctx, scalar_text};
use crate::units::{Secs, parse_secs};

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
    /// Propagate resources through the federation hub to its members.
    Propagate(PropagateOp),
}

/// Apply `resources` templates on the federation hub with a PropagationPolicy that
/// places each on `fraction` of its members.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PropagateOp {
    /// Resource templates [count].
    pub resources: u32,
    /// Share of the members each is placed on, in (0, 1].
    pub fraction: f64,
    /// Start no earlier than this, from the start of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Secs>,
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
    /// `wait: ready`: each batch after the first is applied when every cluster of the
    /// one before is ready, instead of on a clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitFor>,
    /// A later create's start: no earlier than this, from the start of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Secs>,
    /// `topology: false`: classic clusters, their objects applied by the user, no
    /// ClusterClass (default true).
    #[serde(skip_serializing_if = "is_true")]
    pub topology: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

/// What a batched create waits for between batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitFor {
    /// Every cluster of the previous batch reports ready.
    Ready,
    /// A sliding window: at most `batch` clusters being created at a time, the next
    /// applied as soon as one of them is ready (CAPI's scale test,
    /// `CAPI_SCALE_CONCURRENCY`: `workConcurrentlyAndWait` in `test/e2e/scale.go`).
    Window,
}

/// The `workload:` list: one operation per entry, each checked against the operations
/// before it (a create first; later creates add clusters of its shape). One arm per operation, which is why it is long.
pub(super) fn parse_workload(ctx: &Ctx, v: &Value) -> Result<Vec<Operation>, ConfigError> {
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
            _ if matches!(ops.last(), Some(Operation::Delete(_))) => {
                let why = "nothing can follow a delete: the fleet is gone";
                return Err(ctx.err(op, &format!("{field}.{op}"), "", why.into()));
            }
            "create" => {
                let mut c = parse_create(ctx, &field, body)?;
                let before: u64 = ops
                    .iter()
                    .map(|o| match o {
                        Operation::Create(c) => u64::from(c.clusters),
                        _ => 0,
                    })
                    .sum();
                if before + u64::from(c.clusters) > 100_000 {
                    let why = format!(
                        "would make the fleet {} clusters; every create together may add at \
                         most 100000",
                        before + u64::from(c.clusters)
                    );
                    return Err(ctx.err(
                        "clusters",
                        &format!("{field}.create.clusters"),
                        &c.clusters.to_string(),
                        why,
                    ));
                }
                if let Some(Operation::Create(first)) = ops.first() {
                    // Clusters added later take the first create's shape.
                    for (key, given, first) in [
                        (
                            "machines-per-cluster",
                            c.machines_per_cluster,
                            first.machines_per_cluster,
                        ),
                        (
                            "control-plane-replicas",
                            c.control_plane_replicas,
                            first.control_plane_replicas,
                        ),
                    ] {
                        if body.get(key).is_some() && given != first {
                            let why = format!(
                                "clusters added to the fleet take the first create's {key} ({first}) in this \
                                 version: leave it out"
                            );
                            return Err(ctx.err(
                                key,
                                &format!("{field}.create.{key}"),
                                &given.to_string(),
                                why,
                            ));
                        }
                    }
                    if body.get("topology").is_some() && c.topology != first.topology {
                        let why = format!(
                            "clusters added to the fleet take the first create's topology ({}) \
                             in this version: leave it out",
                            first.topology
                        );
                        let given = c.topology.to_string();
                        return Err(ctx.err(
                            "topology",
                            &format!("{field}.create.topology"),
                            &given,
                            why,
                        ));
                    }
                    c.machines_per_cluster = first.machines_per_cluster;
                    c.control_plane_replicas = first.control_plane_replicas;
                    c.topology = first.topology;
                } else if c.at.is_some() {
                    let why = "the first create starts the run: at is for a later create";
                    return Err(ctx.err("at", &format!("{field}.create.at"), "", why.into()));
                }
                ops.push(Operation::Create(c))
            }
            "steady" | "scale" | "upgrade" | "delete" | "propagate" if ops.is_empty() => {
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
                // (A later create adds clusters; the next scale sets every cluster's count.)
                let mut workers = 0i64;
                for (j, o) in ops.iter().enumerate() {
                    match o {
                        Operation::Create(c) if j == 0 => {
                            workers = i64::from(c.machines_per_cluster - c.control_plane_replicas)
                        }
                        Operation::Create(_) => {}
                        Operation::Scale(s) => workers += i64::from(s.by),
                        Operation::Steady(_)
                        | Operation::Upgrade(_)
                        | Operation::Delete(_)
                        | Operation::Propagate(_) => {}
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
            "propagate" => ops.push(Operation::Propagate(parse_propagate(ctx, &field, body)?)),
            "fault" | "faults" => {
                let why = "faults are not operations: list them under the top-level faults key";
                return Err(ctx.err(op, &format!("{field}.{op}"), "", why.into()));
            }
            other => {
                return Err(ctx.err(
                    other,
                    &format!("{field}.{other}"),
                    "",
                    "unknown operation; choose from create, scale, upgrade, steady, delete, propagate"
                        .into(),
                ));
            }
        }
    }
    Ok(ops)
}

/// An operation's optional `at:` (a duration from the start of the run).
pub(super) fn parse_at(
    ctx: &Ctx,
    f: &str,
    m: &Map<String, Value>,
) -> Result<Option<Secs>, ConfigError> {
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

pub(super) fn parse_scale(ctx: &Ctx, field: &str, body: &Value) -> Result<ScaleOp, ConfigError> {
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

pub(super) fn parse_upgrade(
    ctx: &Ctx,
    field: &str,
    body: &Value,
) -> Result<UpgradeOp, ConfigError> {
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

pub(super) fn parse_steady(ctx: &Ctx, field: &str, body: &Value) -> Result<SteadyOp, ConfigError> {
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

/// A `propagate:` entry: `resources` (1 to 10000), `fraction` (in (0, 1], default 1),
/// `at`.
pub(super) fn parse_propagate(
    ctx: &Ctx,
    field: &str,
    body: &Value,
) -> Result<PropagateOp, ConfigError> {
    let f = format!("{field}.propagate");
    let hint = "must be a mapping, e.g. propagate: {resources: 10, fraction: 1}";
    let Value::Object(m) = body else {
        return Err(ctx.err("propagate", &f, &scalar_text(body), hint.into()));
    };
    if let Some(k) = m
        .keys()
        .find(|k| !["resources", "fraction", "at"].contains(&k.as_str()))
    {
        let why = "unknown key; expected resources, fraction, at";
        return Err(ctx.err(k, &format!("{f}.{k}"), "", why.into()));
    }
    let at = parse_at(ctx, &f, m)?;
    let Some(v) = m.get("resources") else {
        let why = "is required: the resource templates to propagate, 1 to 10000";
        return Err(ctx.err("propagate", &format!("{f}.resources"), "", why.into()));
    };
    let text = scalar_text(v);
    let resources = match v.as_u64() {
        Some(n @ 1..=10_000) => n as u32,
        _ => {
            let why = "must be a whole number from 1 to 10000";
            return Err(ctx.err("resources", &format!("{f}.resources"), &text, why.into()));
        }
    };
    let fraction = match m.get("fraction") {
        None => 1.0,
        Some(v) => match v.as_f64() {
            Some(x) if x > 0.0 && x <= 1.0 => x,
            _ => {
                let text = scalar_text(v);
                let why = "must be a share of the members in (0, 1], e.g. 0.5";
                return Err(ctx.err("fraction", &format!("{f}.fraction"), &text, why.into()));
            }
        },
    };
    Ok(PropagateOp {
        resources,
        fraction,
        at,
    })
}

/// A `create:` entry: clusters, machines, control-plane replicas, batches. One check per
/// field with its range, which is why it is long.
pub(super) fn parse_create(ctx: &Ctx, field: &str, body: &Value) -> Result<CreateOp, ConfigError> {
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
            "wait",
            "at",
            "topology",
        ]
        .contains(&k.as_str())
        {
            return Err(ctx.err(k, &format!("{field}.create.{k}"), "", "unknown key; expected clusters, machines-per-cluster, control-plane-replicas, batch, every, wait, at, topology".into()));
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
    let wait = match m.get("wait") {
        None => None,
        Some(Value::String(s)) if s == "ready" => Some(WaitFor::Ready),
        Some(Value::String(s)) if s == "window" => Some(WaitFor::Window),
        Some(v) => {
            return Err(ctx.err(
                "wait",
                &format!("{field}.create.wait"),
                &scalar_text(v),
                "must be ready (the next batch starts when the previous one's clusters are \
                 ready) or window (at most batch clusters in creation at a time)"
                    .into(),
            ));
        }
    };
    if batch.is_some() != (every.is_some() || wait.is_some()) || (every.is_some() && wait.is_some())
    {
        return Err(ctx.err(
            "create",
            &format!("{field}.create"),
            "",
            "batch goes with either every or wait: ready (e.g. batch: 10, every: 5m, or \
             batch: 10, wait: ready)"
                .into(),
        ));
    }
    Ok(CreateOp {
        clusters,
        machines_per_cluster: machines,
        control_plane_replicas: cp,
        batch,
        every,
        wait,
        at: parse_at(ctx, &format!("{field}.create"), m)?,
        topology: match m.get("topology") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                return Err(ctx.err(
                    "topology",
                    &format!("{field}.create.topology"),
                    &scalar_text(v),
                    "must be true (a ClusterClass topology, the default) or false (classic \
                     clusters: the user applies each object)"
                        .into(),
                ));
            }
        },
    })
}
