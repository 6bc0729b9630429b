//! Machines as `kubectl get machines -A -o json` prints them: per Machine, its role and
//! the times of its phases from its conditions' `lastTransitionTime`s. Malformed input is
//! an error naming the file and where; a Machine that cannot give a time is excluded and
//! counted by reason, never guessed.

use serde_json::Value;

use super::Phase;

/// Which kind of Machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A cluster's first control-plane Machine (`kubeadm init`).
    ControlPlaneInit,
    /// The other control-plane Machines (`kubeadm join --control-plane`).
    ControlPlaneJoin,
    /// Workers.
    Worker,
}

impl Role {
    /// The role's name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Role::ControlPlaneInit => "control-plane-init",
            Role::ControlPlaneJoin => "control-plane-join",
            Role::Worker => "worker",
        }
    }
}

/// One Machine's times [s since the Unix epoch].
#[derive(Clone, Debug, PartialEq)]
pub struct MachineTimes {
    /// `namespace/name`.
    pub name: String,
    /// Its cluster (`spec.clusterName`).
    pub cluster: String,
    /// Its role.
    pub role: Role,
    /// `metadata.creationTimestamp`.
    pub created: f64,
    /// The same, as written.
    pub created_text: String,
    /// When its bootstrap data was ready.
    pub bootstrap: Option<f64>,
    /// When its infrastructure was ready.
    pub infrastructure: Option<f64>,
    /// When its node was healthy.
    pub node: Option<f64>,
}

impl MachineTimes {
    /// The duration of `phase` [s], if both its ends are known.
    pub fn phase(&self, phase: Phase) -> Option<f64> {
        let (a, b) = match phase {
            Phase::Bootstrap => (Some(self.created), self.bootstrap),
            Phase::Infrastructure => (self.bootstrap, self.infrastructure),
            Phase::Boot => (self.infrastructure, self.node),
        };
        Some(b? - a?)
    }
}

/// Machines left out, by reason [count].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exclusions {
    /// Not provisioned yet: a condition not True (or absent), so some phase has no end.
    pub unfinished: u64,
    /// A transition before the Machine's creation or before the previous phase's end:
    /// clock skew between the controllers and the API server.
    pub clock_skew: u64,
    /// Being deleted.
    pub deleting: u64,
}

impl Exclusions {
    /// Adds another file's.
    pub fn add(&mut self, other: Exclusions) {
        self.unfinished += other.unfinished;
        self.clock_skew += other.clock_skew;
        self.deleting += other.deleting;
    }
}

/// The condition types that end each phase, v1beta1's name first, then v1beta2's.
const BOOTSTRAP: [&str; 2] = ["BootstrapReady", "BootstrapConfigReady"];
const INFRASTRUCTURE: [&str; 1] = ["InfrastructureReady"];
const NODE: [&str; 2] = ["NodeHealthy", "NodeReady"];

/// The Machines of one kubectl output `text` (file `source`), and those excluded.
pub fn parse_machines(text: &str, source: &str) -> Result<(Vec<MachineTimes>, Exclusions), String> {
    if text.trim().is_empty() {
        return Err(format!(
            "{source}: empty; expected the output of kubectl get machines -A -o json"
        ));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{source}: not JSON ({e}); expected kubectl get ... -o json"))?;
    let items = match (v.get("kind").and_then(Value::as_str), v.get("items")) {
        (Some("List" | "MachineList"), Some(Value::Array(items))) => items,
        (Some("Machine"), _) => std::slice::from_ref(&v),
        _ => {
            return Err(format!(
                "{source}: not a kubectl List (kind: List with items); got kind {}",
                v.get("kind").map_or("none".to_string(), Value::to_string)
            ));
        }
    };
    let mut out = Vec::new();
    let mut ex = Exclusions::default();
    for (i, item) in items.iter().enumerate() {
        if item.get("kind").and_then(Value::as_str) != Some("Machine") {
            continue;
        }
        let at = |path: &str| format!("{source}: items[{i}].{path}");
        let meta = item
            .get("metadata")
            .ok_or_else(|| format!("{}: missing", at("metadata")))?;
        let text_of = |v: Option<&Value>, path: &str| -> Result<String, String> {
            v.and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{}: missing or not a string", at(path)))
        };
        let name = text_of(meta.get("name"), "metadata.name")?;
        let ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let created_text = text_of(meta.get("creationTimestamp"), "metadata.creationTimestamp")?;
        let created = parse_time(&created_text).ok_or_else(|| {
            format!(
                "{}: {created_text:?} is not an RFC 3339 time",
                at("metadata.creationTimestamp")
            )
        })?;
        if meta.get("deletionTimestamp").is_some() {
            ex.deleting += 1;
            continue;
        }
        let cluster = item
            .pointer("/spec/clusterName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let control_plane = meta
            .pointer("/labels/cluster.x-k8s.io~1control-plane")
            .is_some();
        let conditions = conditions_of(item);
        let when = |types: &[&str]| -> Result<Option<f64>, String> {
            for c in &conditions {
                let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
                if !types.contains(&ty) || c.get("status").and_then(Value::as_str) != Some("True") {
                    continue;
                }
                let t = c
                    .get("lastTransitionTime")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return parse_time(t).map(Some).ok_or_else(|| {
                    format!(
                        "{}: condition {ty}: lastTransitionTime {t:?} is not an RFC 3339 time",
                        at("status.conditions")
                    )
                });
            }
            Ok(None)
        };
        let m = MachineTimes {
            name: format!("{ns}/{name}"),
            cluster,
            role: if control_plane {
                Role::ControlPlaneJoin
            } else {
                Role::Worker
            },
            created,
            created_text,
            bootstrap: when(&BOOTSTRAP)?,
            infrastructure: when(&INFRASTRUCTURE)?,
            node: when(&NODE)?,
        };
        let ends = [Some(m.created), m.bootstrap, m.infrastructure, m.node];
        if ends.iter().any(Option::is_none) {
            ex.unfinished += 1;
            continue;
        }
        if ends.windows(2).any(|w| w[1] < w[0]) {
            ex.clock_skew += 1;
            continue;
        }
        out.push(m);
    }
    // Each cluster's first control-plane Machine ran `kubeadm init`.
    let mut firsts: std::collections::BTreeMap<&str, usize> = Default::default();
    for (i, m) in out.iter().enumerate() {
        if m.role == Role::ControlPlaneJoin {
            let e = firsts.entry(m.cluster.as_str()).or_insert(i);
            if out[*e].created > m.created {
                *e = i;
            }
        }
    }
    let firsts: Vec<usize> = firsts.into_values().collect();
    for i in firsts {
        out[i].role = Role::ControlPlaneInit;
    }
    Ok((out, ex))
}

/// One Cluster's control-plane initialization [s since the Unix epoch].
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterTimes {
    /// `namespace/name`.
    pub name: String,
    /// `metadata.creationTimestamp`.
    pub created: f64,
    /// `ControlPlaneInitialized` True.
    pub initialized: f64,
}

/// The Clusters of one kubectl output (`kubectl get clusters -A -o json`, or a List
/// with other kinds) that have initialized their control plane; those without it, being
/// deleted, or initialized before their creation are counted in `ex`.
pub fn parse_clusters(
    text: &str,
    source: &str,
    ex: &mut Exclusions,
) -> Result<Vec<ClusterTimes>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{source}: not JSON ({e})"))?;
    let Some(Value::Array(items)) = v.get("items") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item.get("kind").and_then(Value::as_str) != Some("Cluster") {
            continue;
        }
        let at = |f: &str| format!("{source}: items[{i}].{f}");
        let meta = item.get("metadata");
        let text_at = |p: &str| meta.and_then(|m| m.pointer(p)).and_then(Value::as_str);
        if text_at("/deletionTimestamp").is_some() {
            ex.deleting += 1;
            continue;
        }
        let created_text = text_at("/creationTimestamp").unwrap_or_default();
        let created = parse_time(created_text).ok_or_else(|| {
            format!(
                "{}: {created_text:?} is not an RFC 3339 time",
                at("metadata.creationTimestamp")
            )
        })?;
        let init = conditions_of(item).into_iter().find(|c| {
            c.get("type").and_then(Value::as_str) == Some("ControlPlaneInitialized")
                && c.get("status").and_then(Value::as_str) == Some("True")
        });
        let Some(c) = init else {
            ex.unfinished += 1;
            continue;
        };
        let t = c
            .get("lastTransitionTime")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let initialized = parse_time(t).ok_or_else(|| {
            format!(
                "{}: condition ControlPlaneInitialized: lastTransitionTime {t:?} is not an RFC \
                 3339 time",
                at("status.conditions")
            )
        })?;
        if initialized < created {
            ex.clock_skew += 1;
            continue;
        }
        let ns = text_at("/namespace").unwrap_or("default");
        out.push(ClusterTimes {
            name: format!("{ns}/{}", text_at("/name").unwrap_or_default()),
            created,
            initialized,
        });
    }
    Ok(out)
}

/// A Machine's conditions: v1beta1's `status.conditions`, or in v1beta2 (CAPI ≥ v1.11)
/// `status.conditions` and the v1beta1 ones under `status.deprecated.v1beta1.conditions`.
fn conditions_of(item: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for path in [
        "/status/conditions",
        "/status/deprecated/v1beta1/conditions",
        "/status/v1beta2/conditions",
    ] {
        if let Some(Value::Array(cs)) = item.pointer(path) {
            out.extend(cs.iter());
        }
    }
    out
}

/// Seconds since the Unix epoch of an RFC 3339 time as Kubernetes writes it
/// (`2026-11-30T04:00:00Z`, optionally with fractional seconds or an offset).
pub fn parse_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        frac = format!("0.{}", &r[..digits]).parse().ok()?;
        rest = &r[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (
                rest.get(1..3)?.parse::<i64>().ok()?,
                rest.get(4..6)?.parse::<i64>().ok()?,
            );
            sign * (oh * 3600 + om * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + se - offset) as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_read_as_kubernetes_writes_them() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_time("2026-11-30T04:00:00Z"), Some(1_796_011_200.0));
        assert_eq!(
            parse_time("2026-11-30T05:00:00+01:00"),
            Some(1_796_011_200.0)
        );
        assert_eq!(
            parse_time("2026-11-30T04:00:00.25Z"),
            Some(1_796_011_200.25)
        );
        assert_eq!(parse_time("2026-13-30T04:00:00Z"), None);
        assert_eq!(parse_time("yesterday"), None);
    }
}
