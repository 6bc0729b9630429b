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

pub mod alerts;
pub mod config;
pub mod faults;
pub mod federation;
pub mod import;
mod nkp;
mod node_pools;
pub mod operations;
pub mod placement;
pub mod presets;
pub mod prices;
pub mod steps;
mod thresholds;
pub mod uncertainty;
mod validate;
pub mod values;
pub mod workload;

use serde_json::{Map, Value};

use crate::scenario::config::{ConfigError, ModelConfig};
use crate::scenario::faults::Fault;
use crate::units::Secs;
use faults::{MANAGER_NAMES, fault_value, parse_faults};
use presets::{Override, Profile, Tier};
use workload::{Operation, parse_workload};

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
    /// The knobs a calibration fitted (`capsim calibrate ... --out`), if the file is one.
    pub calibration: Option<Calibration>,
}

/// A calibration's record in a scenario: where its fits came from, and their ranges,
/// which replace the built-in ones under `capsim sweep --uncertainty`.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The data (`calibrated-from`).
    pub from: String,
    /// The fitted knobs' ranges (`uncertainty`).
    pub ranges: uncertainty::Estimates,
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
    "capd-controller-manager",
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

/// Reads a scenario from `text` (named `file` in errors), with `overrides` on top: the
/// layers in order (defaults, profile, tier, file, `--set`), each checked as it lands,
/// which is why it is long.
pub fn load(file: &str, text: &str, overrides: &[Override]) -> Result<Scenario, ConfigError> {
    let ctx = Ctx { file, text };
    let root: Value = serde_saphyr::from_str(text).map_err(|e| ConfigError {
        source_name: file.to_string(),
        field: "(file)".into(),
        value: String::new(),
        reason: format!(
            "not valid YAML: {}",
            presets::plain_yaml_error(&e.to_string())
        ),
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
    let calibration = match (root.remove("calibrated-from"), root.remove("uncertainty")) {
        (None, None) => None,
        (from, ranges) => {
            let from = from.map_or_else(|| file.to_string(), |v| scalar_text(&v));
            let ranges = match ranges {
                None | Some(Value::Null) => uncertainty::Estimates(Vec::new()),
                Some(v) => {
                    let text = serde_saphyr::to_string(&v).expect("a parsed value re-serialises");
                    uncertainty::Estimates::parse(&text).map_err(|e| {
                        // "<knob>: why" names the entry; a type error names none.
                        let paths = presets::settable_paths();
                        match e.split_once(": ") {
                            Some((path, why)) if paths.iter().any(|p| p == path) => {
                                let field = format!("uncertainty.{path}");
                                ctx.err(path, &field, "", why.to_string())
                            }
                            _ => ctx.err("uncertainty", "uncertainty", "", e.clone()),
                        }
                    })?
                }
            };
            Some(Calibration { from, ranges })
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
    if !config.federation.enabled
        && let Some(i) = workload
            .iter()
            .position(|o| matches!(o, Operation::Propagate(_)))
    {
        let why = "needs a federation hub: set federation.enabled: true, or use tier: extreme";
        let field = format!("workload[{i}].propagate");
        return Err(ctx.err("propagate", &field, "", why.into()));
    }
    Ok(Scenario {
        name,
        defaults,
        tier,
        config,
        workload,
        faults,
        management_clusters,
        calibration,
    })
}

impl Scenario {
    /// The operations after the create, in order, as the simulation runs them.
    pub fn after_ops(&self) -> Vec<crate::scenario::operations::AfterOp> {
        use crate::scenario::operations::AfterOp;
        let d = |s: &Secs| sim_core::SimDuration::from_secs_f64(s.0);
        let mut out = Vec::new();
        for (i, op) in self.workload.iter().enumerate() {
            let (at, after) = match op {
                Operation::Create(_) if i == 0 => continue,
                Operation::Create(c) => (
                    &c.at,
                    AfterOp::Create {
                        clusters: c.clusters,
                        batch: c.batch.unwrap_or(0),
                        every: c.every.as_ref().map_or(sim_core::SimDuration::ZERO, d),
                        wait: c.wait,
                    },
                ),
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
                Operation::Propagate(p) => (
                    &p.at,
                    AfterOp::Propagate {
                        resources: p.resources,
                        fraction: p.fraction,
                    },
                ),
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
        // Through the YAML writer, which quotes what needs it (a newline, `: `, `#`).
        out.push_str(&yaml_line("name", name));
    }
    out.push_str(&format!("defaults: {}\n", s.defaults.name()));
    if let Some(t) = s.tier {
        out.push_str(&format!("tier: {}\n", t.name()));
    }
    let mut cfg = serde_json::to_value(&s.config).expect("configuration serialises");
    // A knob the file unset (`~`) over its profile or tier is written as such.
    if let Ok(layers) = presets::layered_value(s.defaults, s.tier, None) {
        presets::null_where_unset(&layers, &mut cfg);
    }
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
    if let Some(c) = &s.calibration {
        out.push_str(&yaml_line("calibrated-from", &c.from));
        out.push_str(&c.ranges.to_yaml("uncertainty"));
    }
    out
}

/// `key: value` as a line of YAML that reads back to `value`, whatever it holds.
pub fn yaml_line(key: &str, value: &str) -> String {
    serde_saphyr::to_string(&serde_json::json!({ key: value })).expect("a string is valid YAML")
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
    fn a_later_create_adds_clusters_of_the_first_ones_shape() {
        let text = "workload:\n  - create: {clusters: 40, machines-per-cluster: 7}\n\
                    \x20 - steady: {duration: 1h}\n\
                    \x20 - create: {clusters: 10, batch: 5, every: 2m}\n";
        let a = load("grow.yaml", text, &[]).unwrap();
        let b = load("resolved.yaml", &to_yaml(&a), &[]).unwrap();
        assert_eq!(a, b);
        use crate::scenario::operations::AfterOp;
        assert_eq!(
            a.after_ops()[1],
            AfterOp::Create {
                clusters: 10,
                batch: 5,
                every: sim_core::SimDuration::from_mins(2),
                wait: None,
            }
        );
        let other = text.replace("{clusters: 10,", "{clusters: 10, machines-per-cluster: 9,");
        let e = load("grow.yaml", &other, &[]).unwrap_err();
        assert_eq!(e.field, "workload[2].create.machines-per-cluster");
        assert!(
            e.reason.contains("first create's machines-per-cluster (7)"),
            "{e}"
        );
        // A later create's at: a wait before it; on the first create, an error.
        let later = text.replace("{clusters: 10,", "{clusters: 10, at: 3h,");
        let l = load("grow.yaml", &later, &[]).unwrap();
        assert_eq!(l, load("resolved.yaml", &to_yaml(&l), &[]).unwrap());
        assert_eq!(
            l.after_ops()[1],
            AfterOp::WaitUntil(sim_core::SimDuration::from_hours(3))
        );
        let first = text.replace("{clusters: 40,", "{clusters: 40, at: 1h,");
        let e = load("grow.yaml", &first, &[]).unwrap_err();
        assert_eq!(e.field, "workload[0].create.at");
        // Batches that wait for readiness read back the same; with a clock too, an error.
        let waits = text.replace("every: 2m", "wait: ready");
        let w = load("grow.yaml", &waits, &[]).unwrap();
        assert_eq!(w, load("resolved.yaml", &to_yaml(&w), &[]).unwrap());
        assert!(matches!(
            w.after_ops()[1],
            AfterOp::Create {
                wait: Some(crate::scenario::workload::WaitFor::Ready),
                ..
            }
        ));
        let both = text.replace("every: 2m", "every: 2m, wait: ready");
        let e = load("grow.yaml", &both, &[]).unwrap_err();
        assert!(e.reason.contains("either every or wait: ready"), "{e}");
        let huge = text.replace("{clusters: 10,", "{clusters: 99999,");
        let e = load("grow.yaml", &huge, &[]).unwrap_err();
        assert_eq!(e.field, "workload[2].create.clusters");
        assert!(e.reason.contains("100039 clusters"), "{e}");
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

    /// Issue 13 (found by tests/fuzz_scenario_files.rs): a knob unset with `~` over the
    /// tier's value stays unset in the written file, instead of taking the tier's again.
    #[test]
    fn a_knob_unset_over_the_tier_stays_unset_when_written() {
        let text = "tier: xl\nnodes: {etcd: ~}\ncapi-controller-manager:\n  \
                    machinedeployment-concurrency: ~\n  cpu-request: ~\n";
        let a = load("unset.yaml", text, &[]).unwrap();
        assert_eq!(a.config.nodes.etcd, None);
        assert_eq!(
            a.config
                .capi_controller_manager
                .machinedeployment_concurrency,
            None
        );
        let written = to_yaml(&a);
        assert_eq!(
            a,
            load("resolved.yaml", &written, &[]).unwrap(),
            "{written}"
        );
        let plain = load("plain.yaml", "tier: xl\n", &[]).unwrap();
        assert!(!to_yaml(&plain).contains("~") && !to_yaml(&plain).contains("null"));
    }

    /// Issue 13: a name that YAML would read otherwise is written quoted.
    #[test]
    fn a_name_with_yaml_syntax_in_it_reads_back() {
        for name in [
            "line one\nkey: value # not a comment 'quoted' \"too\"",
            "- a list item?",
            "null",
            "8Gi",
            " padded ",
            "trailing newline\n",
            "",
        ] {
            let text = format!("{}defaults: capi-1.12\n", yaml_line("name", name));
            let a = load("n.yaml", &text, &[]).unwrap();
            assert_eq!(a.name.as_deref(), Some(name), "{text}");
            let written = to_yaml(&a);
            let b = load("resolved.yaml", &written, &[]).unwrap();
            assert_eq!(a, b, "{written}");
        }
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
