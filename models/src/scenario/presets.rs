//! Built-in configurations: the defaults and the guide's five tiers, embedded as YAML, and
//! `--set key=value` overrides by dotted path.
//!
//! A configuration is resolved in layers: `presets/defaults.yaml`, then the tier's file,
//! then each `--set`, merged key by key, then validated as a whole.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::scenario::config::{ConfigError, ModelConfig};

/// The guide's scale tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// 1–20 clusters.
    Small,
    /// 21–100 clusters.
    Medium,
    /// 101–500 clusters.
    Large,
    /// 501–2,000 clusters.
    Xl,
    /// More than 2,000 clusters.
    Extreme,
}

const DEFAULTS_YAML: &str = include_str!("../../presets/defaults.yaml");

/// A named set of defaults: the version of CAPI (and controller-runtime) whose defaults
/// fill in every knob a scenario leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Profile {
    /// CAPI v1.12, controller-runtime v0.22: QPS 20/30, every controller 10 workers,
    /// legacy workqueue.
    #[serde(rename = "capi-1.12")]
    Capi112,
    /// CAPI v1.13, controller-runtime v0.23: QPS 100/200, concurrency 50/100, priority
    /// queue, client-side limit off where controller-runtime turns it off.
    #[serde(rename = "capi-1.13")]
    Capi113,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 2] = [Profile::Capi112, Profile::Capi113];

    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Capi112 => "capi-1.12",
            Profile::Capi113 => "capi-1.13",
        }
    }

    /// The profile called `name`.
    pub fn parse(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    fn overrides_yaml(self) -> Option<&'static str> {
        match self {
            Profile::Capi112 => None,
            Profile::Capi113 => Some(include_str!("../../presets/capi-1.13.yaml")),
        }
    }
}

impl Tier {
    /// All tiers, smallest first.
    pub const ALL: [Tier; 5] = [
        Tier::Small,
        Tier::Medium,
        Tier::Large,
        Tier::Xl,
        Tier::Extreme,
    ];

    /// The tier's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Small => "small",
            Tier::Medium => "medium",
            Tier::Large => "large",
            Tier::Xl => "xl",
            Tier::Extreme => "extreme",
        }
    }

    /// The fleet sizes [clusters] the guide gives the tier, inclusive; `None` for no upper
    /// bound.
    pub fn fleet_range(self) -> (u32, Option<u32>) {
        match self {
            Tier::Small => (1, Some(20)),
            Tier::Medium => (21, Some(100)),
            Tier::Large => (101, Some(500)),
            Tier::Xl => (501, Some(2000)),
            Tier::Extreme => (2001, None),
        }
    }

    /// The tier whose fleet range holds `clusters`.
    pub fn for_fleet(clusters: u32) -> Tier {
        Tier::ALL
            .into_iter()
            .find(|t| t.fleet_range().1.is_none_or(|hi| clusters <= hi))
            .unwrap_or(Tier::Extreme)
    }

    /// The tier called `name`.
    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.name() == name)
    }

    fn overrides_yaml(self) -> &'static str {
        match self {
            Tier::Small => include_str!("../../presets/small.yaml"),
            Tier::Medium => include_str!("../../presets/medium.yaml"),
            Tier::Large => include_str!("../../presets/large.yaml"),
            Tier::Xl => include_str!("../../presets/xl.yaml"),
            Tier::Extreme => include_str!("../../presets/extreme.yaml"),
        }
    }
}

/// Paths that are valid although the defaults leave them unset.
const OPTIONAL_PATHS: &[&str] = &[
    "etcd.fsync",
    "prism-central.api-rate-limit",
    "prism-central.max-concurrent-tasks",
    "nodes.etcd",
    "nodes.etcd.count",
    "nodes.etcd.vcpu",
    "nodes.etcd.memory",
    "nodes.reserved-cpu",
    "capi-controller-manager.cpu-request",
    "capi-controller-manager.memory-request",
    "capi-kubeadm-bootstrap.cpu-request",
    "capi-kubeadm-bootstrap.memory-request",
    "capi-kubeadm-control-plane.cpu-request",
    "capi-kubeadm-control-plane.memory-request",
    "capx-controller-manager.cpu-request",
    "capx-controller-manager.memory-request",
];

/// The YAML parser's phrases that speak of the library (its types, its options, its
/// functions), each with the user's words for the same.
const YAML_PHRASES: &[(&str, &str)] = &[
    (
        "cannot deserialize null into string; use Option<String>",
        "a key is empty or null (~); every key is a name",
    ),
    (
        "expected string scalar",
        "a key is a list or a mapping; every key is a name",
    ),
    (
        "multiple YAML documents detected; use from_str_multiple or from_str_multiple_with_options",
        "a second YAML document (after a line ---); a scenario is one document",
    ),
    (
        "recursive references require weak recursion types",
        "an alias (*name) refers to the node that holds it",
    ),
    ("recursion limit exceeded", "nested too deeply"),
    ("invalid u64", "not a whole number"),
    ("invalid i64", "not a whole number"),
    ("invalid f64", "not a number"),
];

/// A YAML parser's error in the user's words: its first line, without the library's own
/// advice ("set DuplicateKeyPolicy in Options", "use Option<String>") or its types.
pub fn plain_yaml_error(e: &str) -> String {
    let first = e.lines().next().unwrap_or(e).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 3 column 7: " stays in front of the user's words.
    let (at, what) = match first.find(": ") {
        Some(i) if first.starts_with("line ") => first.split_at(i + 2),
        _ => ("", first),
    };
    if let Some(rest) = what.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("{at}the key {key} is given twice");
    }
    if let Some(plain) = YAML_PHRASES.iter().find(|(lib, _)| what == *lib) {
        return format!("{at}{}", plain.1);
    }
    if let Some(rest) = what.strip_prefix("non-finite float ") {
        let value = rest
            .split(" rejected")
            .next()
            .unwrap_or(rest)
            .trim_matches('`');
        return format!("{at}{value} is not a finite number (NaN and infinities are refused)");
    }
    if let Some(rest) = what.strip_prefix("budget breached: ") {
        // `Depth { depth: 65 }`: the parser's limit, in its own type's words.
        let count = rest
            .split(|c: char| !c.is_ascii_digit())
            .find(|d| !d.is_empty())
            .unwrap_or("?");
        return match rest.split_whitespace().next() {
            Some("Depth") => format!("{at}nested deeper than 64 levels"),
            kind => format!(
                "{at}too large to read: {count} {} (YAML's limits guard against runaway input)",
                kind.unwrap_or("items").to_lowercase()
            ),
        };
    }
    first.to_string()
}

/// Rust's names for what serde expected, and the user's.
const EXPECTED_TYPES: &[(&str, &str)] = &[
    ("expected f64", "expected a number"),
    ("expected f32", "expected a number"),
    ("expected u8", "expected a whole number ≥ 0"),
    ("expected u16", "expected a whole number ≥ 0"),
    ("expected u32", "expected a whole number ≥ 0"),
    ("expected u64", "expected a whole number ≥ 0"),
    ("expected usize", "expected a whole number ≥ 0"),
    ("expected i32", "expected a whole number"),
    ("expected i64", "expected a whole number"),
];

/// A decoding error in the user's words: a mapping where a struct is expected is named
/// as such, and the program's types (`u32`, an untagged enum) by what they hold.
pub fn plain_decode_error(e: &str) -> String {
    if let Some((got, _)) = e.split_once(", expected struct ") {
        return format!(
            "{}, expected a mapping of knobs (e.g. {{kube-api-qps: 100}})",
            got.trim()
        );
    }
    // serde's "unknown variant `gold`, expected one of `starter`, `pro`, `ultimate`".
    if let Some((got, allowed)) = e
        .strip_prefix("unknown variant ")
        .and_then(|rest| rest.split_once(", expected one of "))
    {
        return format!("{got} is not one of the choices: {allowed}");
    }
    if e.starts_with("data did not match any variant of untagged enum") {
        return "expected one value (a number or a word), not a list, a mapping or null".into();
    }
    match EXPECTED_TYPES.iter().find(|(rust, _)| e.ends_with(rust)) {
        Some((rust, plain)) => format!("{}{plain}", &e[..e.len() - rust.len()]),
        None => e.to_string(),
    }
}

/// Parses YAML text into a JSON value tree.
pub fn yaml_value(text: &str, source: &str) -> Result<Value, ConfigError> {
    serde_saphyr::from_str::<Value>(text).map_err(|e| ConfigError {
        source_name: source.to_string(),
        field: "(file)".into(),
        value: String::new(),
        reason: plain_yaml_error(&e.to_string()),
    })
}

/// The names that tag a distribution (`{lognormal: {p50, p95}}`).
const DIST_TAGS: [&str; 4] = ["constant", "uniform", "lognormal", "normal"];

fn is_dist(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 1 && m.keys().all(|k| DIST_TAGS.contains(&k.as_str())))
}

/// Merges `over` into `base`, key by key; non-mapping values, and distributions, replace.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (slot, over) if is_dist(&over) => *slot = over,
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Writes `null` into `resolved` wherever `layers` (the defaults, profile and tier under
/// it) set a value that `resolved` leaves out: read back over the same layers, it unsets
/// them again. A distribution is one value, not a mapping of knobs.
pub fn null_where_unset(layers: &Value, resolved: &mut Value) {
    let (Value::Object(below), Value::Object(out)) = (layers, resolved) else {
        return;
    };
    if is_dist(layers) {
        return;
    }
    for (k, v) in below {
        match out.get_mut(k) {
            None if !v.is_null() => {
                out.insert(k.clone(), Value::Null);
            }
            None => {}
            Some(slot) => null_where_unset(v, slot),
        }
    }
}

/// A data file keyed by knob (`presets/uncertainty.yaml`, `presets/sensitivity.yaml`): its
/// entries by dotted path, each path checked to be a knob.
pub fn entries_by_knob<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<std::collections::BTreeMap<String, T>, String> {
    let entries: std::collections::BTreeMap<String, T> =
        serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let paths = settable_paths();
    match entries.keys().find(|k| !paths.contains(k)) {
        Some(k) => Err(format!("{k}: not a knob")),
        None => Ok(entries),
    }
}

/// Every dotted path a value can be set at.
pub fn settable_paths() -> Vec<String> {
    let base = yaml_value(DEFAULTS_YAML, "presets/defaults.yaml").expect("built-in defaults parse");
    let mut paths = Vec::new();
    collect_paths(&base, String::new(), &mut paths);
    paths.extend(OPTIONAL_PATHS.iter().map(|s| s.to_string()));
    paths.sort();
    paths.dedup();
    paths
}

fn collect_paths(v: &Value, prefix: String, out: &mut Vec<String>) {
    if let Value::Object(map) = v {
        if !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (k, child) in map {
            // A distribution's inner keys ({lognormal: {p50, p95}}) are values, not knobs.
            let is_dist = DIST_TAGS.contains(&k.as_str());
            if is_dist {
                continue;
            }
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            collect_paths(child, path, out);
        }
        if map.keys().any(|k| DIST_TAGS.contains(&k.as_str())) && !prefix.is_empty() {
            out.push(prefix);
        }
    } else {
        out.push(prefix);
    }
}

/// Edit distance between two strings (Levenshtein), for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The settable paths nearest to `key`, best first.
pub fn nearest_paths(key: &str, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, String)> = settable_paths()
        .into_iter()
        .map(|p| {
            // Score by the whole path and by its last segment, so a right knob under the
            // wrong manager still comes up.
            let last = p.rsplit('.').next().unwrap_or(&p).to_string();
            let key_last = key.rsplit('.').next().unwrap_or(key);
            let prefix = if last.starts_with(key_last) || p.starts_with(key) {
                1
            } else {
                usize::MAX
            };
            (
                edit_distance(key, &p)
                    .min(edit_distance(key_last, &last) + 2)
                    .min(prefix),
                p,
            )
        })
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, p)| p).collect()
}

/// One `--set KEY=VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Dotted path.
    pub key: String,
    /// The value as written; read as YAML, so `50`, `8Gi`, `off` and
    /// `{lognormal: {p50: 60, p95: 110}}` all work.
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| format!("'{s}' is not KEY=VALUE (e.g. etcd.quota-backend-bytes=8Gi)"))?;
        if key.trim().is_empty() || value.trim().is_empty() {
            return Err(format!("'{s}': both KEY and VALUE are needed"));
        }
        Ok(Override {
            key: key.trim().to_string(),
            value: value.trim().to_string(),
        })
    }
}

impl Override {
    /// The values of a swept knob: the value split at its top-level commas, so
    /// `10,50,100` gives three values while `{min: 1, max: 2}` and `[a, b]` stay one.
    pub fn values(&self) -> Vec<String> {
        let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
        for (i, ch) in self.value.char_indices() {
            match ch {
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(self.value[start..i].trim().to_string());
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.push(self.value[start..].trim().to_string());
        out
    }
}

fn set_path(root: &mut Value, ov: &Override) -> Result<(), ConfigError> {
    let err = |reason: String| ConfigError {
        source_name: "--set".into(),
        field: ov.key.clone(),
        value: ov.value.clone(),
        reason,
    };
    if !settable_paths().contains(&ov.key) {
        let near = nearest_paths(&ov.key, 3);
        return Err(err(format!(
            "unknown key; did you mean {}?",
            near.join(", ")
        )));
    }
    let value: Value = serde_saphyr::from_str(&ov.value).map_err(|e| {
        err(format!(
            "not a valid value: {}",
            plain_yaml_error(&e.to_string())
        ))
    })?;
    let mut slot = root;
    for part in ov.key.split('.') {
        let map = match slot {
            Value::Object(m) => m,
            other => {
                *other = Value::Object(Map::new());
                match other {
                    Value::Object(m) => m,
                    _ => unreachable!("just made an object"),
                }
            }
        };
        slot = map.entry(part.to_string()).or_insert(Value::Null);
    }
    *slot = value;
    Ok(())
}

/// The configuration of `tier` with `overrides` applied, validated, on the capi-1.12
/// defaults.
pub fn resolve(tier: Tier, overrides: &[Override]) -> Result<ModelConfig, ConfigError> {
    resolve_layers(Profile::Capi112, Some(tier), None, overrides)
}

/// The value tree of a configuration in layers: the built-in defaults, the profile, the
/// tier, then `file` (a scenario's knobs, already checked against the settable paths).
pub fn layered_value(
    profile: Profile,
    tier: Option<Tier>,
    file: Option<(&str, Value)>,
) -> Result<Value, ConfigError> {
    let mut v = yaml_value(DEFAULTS_YAML, "presets/defaults.yaml")?;
    if let Some(text) = profile.overrides_yaml() {
        merge(
            &mut v,
            yaml_value(text, &format!("presets/{}.yaml", profile.name()))?,
        );
    }
    if let Some(tier) = tier {
        merge(
            &mut v,
            yaml_value(
                tier.overrides_yaml(),
                &format!("presets/{}.yaml", tier.name()),
            )?,
        );
    }
    if let Some((_, knobs)) = file {
        merge(&mut v, knobs);
    }
    Ok(v)
}

/// Decodes and validates a value tree, with `--set` overrides applied on top.
pub fn decode(
    mut v: Value,
    source: &str,
    overrides: &[Override],
) -> Result<ModelConfig, ConfigError> {
    // Decoding through serde_path_to_error names the field that failed.
    let decode = |v: &Value| serde_path_to_error::deserialize::<_, ModelConfig>(v.clone());
    let mut cfg = decode(&v).map_err(|e| {
        let field = e.path().to_string();
        ConfigError {
            source_name: source.to_string(),
            value: value_at(&v, &field),
            field,
            reason: plain_decode_error(&e.into_inner().to_string()),
        }
    })?;
    // The configuration before each override, to tell which layer a problem comes from.
    let mut before = Vec::with_capacity(overrides.len());
    for ov in overrides {
        set_path(&mut v, ov)?;
        // Decode after each override, so an error names the override that caused it.
        let next = decode(&v).map_err(|e| ConfigError {
            source_name: "--set".into(),
            field: ov.key.clone(),
            value: ov.value.clone(),
            reason: plain_decode_error(&e.into_inner().to_string()),
        })?;
        before.push(std::mem::replace(&mut cfg, next));
    }
    match cfg.validate(source) {
        Ok(()) => Ok(cfg),
        Err(e) => Err(blame(e, source, overrides, &before)),
    }
}

/// Names the layer a configuration's problem `e` comes from: the one after which every
/// layer has it. That is the file (or preset) `source`, or a `--set`, given with its key
/// and value when the problem is another knob's (a node too small for a request).
fn blame(
    e: ConfigError,
    source: &str,
    overrides: &[Override],
    before: &[ModelConfig],
) -> ConfigError {
    let has_it = |c: &ModelConfig| c.validate(source).is_err_and(|x| x.field == e.field);
    // before[i]: the configuration with the first i overrides.
    let layer = before.iter().rposition(|c| !has_it(c)).map_or(0, |i| i + 1);
    let source_name = match layer.checked_sub(1).map(|i| &overrides[i]) {
        None => source.to_string(),
        Some(ov) if ov.key == e.field => "--set".to_string(),
        Some(ov) => format!("--set {}={}", ov.key, ov.value),
    };
    ConfigError { source_name, ..e }
}

/// The value at a dotted path, as text for an error message.
fn value_at(v: &Value, path: &str) -> String {
    let mut cur = v;
    for part in path.split('.') {
        match cur.get(part) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The configuration from defaults, `profile`, `tier`, and `overrides`, validated.
pub fn resolve_layers(
    profile: Profile,
    tier: Option<Tier>,
    file: Option<(&str, Value)>,
    overrides: &[Override],
) -> Result<ModelConfig, ConfigError> {
    let source = match (&file, tier) {
        (Some((name, _)), _) => name.to_string(),
        (None, Some(t)) => format!("presets/{}.yaml", t.name()),
        (None, None) => format!("presets/{}.yaml", profile.name()),
    };
    let v = layered_value(profile, tier, file)?;
    decode(v, &source, overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> Override {
        s.parse().unwrap()
    }

    #[test]
    fn a_value_list_splits_at_top_level_commas_only() {
        assert_eq!(set("a.b=10, 50,100").values(), vec!["10", "50", "100"]);
        assert_eq!(set("a.b=8Gi").values(), vec!["8Gi"]);
        assert_eq!(
            set("a.b={uniform: {min: 1, max: 2}},{lognormal: {p50: 1, p95: 3}}").values(),
            vec![
                "{uniform: {min: 1, max: 2}}",
                "{lognormal: {p50: 1, p95: 3}}"
            ]
        );
        assert_eq!(
            set("a.b=[cluster, machine]").values(),
            vec!["[cluster, machine]"]
        );
    }

    #[test]
    fn every_tier_resolves_and_validates() {
        for tier in Tier::ALL {
            let cfg = resolve(tier, &[]).unwrap_or_else(|e| panic!("{}: {e}", tier.name()));
            assert!(cfg.capi_controller_manager.machine_concurrency.is_some());
        }
        let medium = resolve(Tier::Medium, &[]).unwrap();
        assert_eq!(
            medium.capx_controller_manager.nutanixmachine_concurrency,
            Some(50)
        );
        assert_eq!(medium.etcd.quota_backend_bytes.0, 4 << 30);
        // Values the tier leaves out come from the defaults.
        assert_eq!(medium.kube_apiserver.request_timeout.0, 60.0);
    }

    #[test]
    fn capi_1_13_profile_raises_qps_and_concurrency() {
        let cfg = resolve_layers(Profile::Capi113, None, None, &[]).unwrap();
        assert_eq!(cfg.capi_controller_manager.kube_api_qps.0, Some(100.0));
        assert_eq!(cfg.capi_controller_manager.machine_concurrency, Some(100));
        assert_eq!(
            cfg.capi_kubeadm_control_plane
                .kubeadmcontrolplane_concurrency,
            Some(100)
        );
        assert_eq!(
            cfg.capx_controller_manager.kube_api_qps.0, None,
            "client-side limit off"
        );
        let old = resolve_layers(Profile::Capi112, None, None, &[]).unwrap();
        assert_eq!(old.capi_controller_manager.kube_api_qps.0, Some(20.0));
        assert_eq!(old.capi_controller_manager.machine_concurrency, Some(10));
    }

    #[test]
    fn fleet_size_picks_the_guides_tier() {
        assert_eq!(Tier::for_fleet(1), Tier::Small);
        assert_eq!(Tier::for_fleet(20), Tier::Small);
        assert_eq!(Tier::for_fleet(21), Tier::Medium);
        assert_eq!(Tier::for_fleet(500), Tier::Large);
        assert_eq!(Tier::for_fleet(2000), Tier::Xl);
        assert_eq!(Tier::for_fleet(2001), Tier::Extreme);
    }

    #[test]
    fn set_overrides_knobs_by_their_flag_names() {
        let cfg = resolve(
            Tier::Medium,
            &[
                set("capx-controller-manager.nutanixmachine-concurrency=7"),
                set("etcd.quota-backend-bytes=8Gi"),
                set("prism-central.max-concurrent-tasks=20"),
                set("capi-controller-manager.kube-api-qps=off"),
                set("prism-central.vm-create={lognormal: {p50: 60, p95: 110}}"),
            ],
        )
        .unwrap();
        assert_eq!(
            cfg.capx_controller_manager.nutanixmachine_concurrency,
            Some(7)
        );
        assert_eq!(cfg.etcd.quota_backend_bytes.0, 8 << 30);
        assert_eq!(
            cfg.prism_central.max_concurrent_tasks.map(|l| l.0),
            Some(Some(20.0))
        );
        assert_eq!(cfg.capi_controller_manager.kube_api_qps.0, None);
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        let e = resolve(
            Tier::Small,
            &[set("capx-controller-manager.nutanixmachine-concurency=5")],
        )
        .unwrap_err();
        assert!(
            e.reason
                .contains("capx-controller-manager.nutanixmachine-concurrency"),
            "{e}"
        );
        let e = resolve(Tier::Small, &[set("etcd.quota=8Gi")]).unwrap_err();
        assert!(e.reason.contains("etcd.quota-backend-bytes"), "{e}");
    }

    #[test]
    fn bad_values_name_the_field_and_the_allowed_range() {
        let e = resolve(
            Tier::Small,
            &[set("capi-controller-manager.machine-concurrency=0")],
        )
        .unwrap_err();
        assert_eq!(e.field, "capi-controller-manager.machine-concurrency");
        assert!(e.reason.contains("between 1 and 10000"), "{e}");
        let e = resolve(
            Tier::Small,
            &[set("capi-controller-manager.kube-api-qps='0'")],
        )
        .unwrap_err();
        assert!(
            e.reason.contains("must be > 0"),
            "a quoted zero is still zero: {e}"
        );
        let e = resolve(Tier::Small, &[set("etcd.quota-backend-bytes=8Gb")]).unwrap_err();
        assert!(
            e.to_string().contains("etcd.quota-backend-bytes = 8Gb"),
            "{e}"
        );
        assert!("novalue".parse::<Override>().is_err());
    }
}
