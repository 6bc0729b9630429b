//! How an operator applies a recommended change: the `kubectl patch` of each manager's
//! Deployment (appending flags, as the guide's "Actionable Steps" do: the last of a
//! repeated flag wins), etcd's flag, and the hardware in words.
//!
//! Flags are the managers' own: CAPI v1.12's `main.go` of each manager (`--kube-api-qps`,
//! `--kube-api-burst`, `--<kind>-concurrency`); CAPX v1.10 has one
//! `--max-concurrent-reconciles` for both of its controllers and no flag for its
//! client's QPS. The namespaces and Deployments are those `clusterctl init` creates.

use serde::Serialize;

use crate::scenario::presets::Override;
use crate::units::parse_bytes;

/// Each manager's namespace and Deployment.
const DEPLOYMENTS: &[(&str, &str, &str)] = &[
    (
        "capi-controller-manager",
        "capi-system",
        "capi-controller-manager",
    ),
    (
        "capi-kubeadm-bootstrap",
        "capi-kubeadm-bootstrap-system",
        "capi-kubeadm-bootstrap-controller-manager",
    ),
    (
        "capi-kubeadm-control-plane",
        "capi-kubeadm-control-plane-system",
        "capi-kubeadm-control-plane-controller-manager",
    ),
    (
        "capx-controller-manager",
        "capx-system",
        "capx-controller-manager",
    ),
];

/// One way to apply part of a configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// What it changes: a manager, etcd, or the hardware.
    pub component: String,
    /// The command, or what to do in words.
    pub action: String,
}

/// The flag a manager's knob is set with, if any.
fn flag(manager: &str, knob: &str) -> Option<String> {
    match (manager, knob) {
        (
            "capx-controller-manager",
            "nutanixmachine-concurrency" | "nutanixcluster-concurrency",
        ) => Some("max-concurrent-reconciles".into()),
        ("capx-controller-manager", _) => None,
        (_, k) if k == "kube-api-qps" || k == "kube-api-burst" || k.ends_with("-concurrency") => {
            Some(k.to_string())
        }
        _ => None,
    }
}

/// The steps that apply `sets` (the overrides of the changed knobs).
pub fn steps(sets: &[Override]) -> Vec<Step> {
    let mut out = Vec::new();
    for &(manager, ns, deploy) in DEPLOYMENTS {
        let mut args: Vec<String> = Vec::new();
        let mut words = Vec::new();
        for o in sets {
            let Some(knob) = o.key.strip_prefix(&format!("{manager}.")) else {
                continue;
            };
            match flag(manager, knob) {
                Some(f) => {
                    let arg = format!("--{f}={}", o.value);
                    if !args.contains(&arg) {
                        args.push(arg);
                    }
                }
                None if knob == "shards" => words.push(format!(
                    "run {} instances of {deploy}, each with its own --watch-filter label \
                     (or namespace), the clusters labelled evenly among them",
                    o.value
                )),
                None => words.push(format!("set {knob} to {}", o.value)),
            }
        }
        if !args.is_empty() {
            let ops: Vec<String> = args
                .iter()
                .map(|a| {
                    format!(
                        "  {{\"op\": \"add\", \"path\": \"/spec/template/spec/containers/0/args/-\", \"value\": \"{a}\"}}"
                    )
                })
                .collect();
            out.push(Step {
                component: manager.to_string(),
                action: format!(
                    "kubectl -n {ns} patch deployment {deploy} --type=json -p='[\n{}\n]'",
                    ops.join(",\n")
                ),
            });
        }
        for w in words {
            out.push(Step {
                component: manager.to_string(),
                action: w,
            });
        }
    }
    for o in sets {
        let (component, action) = match o.key.as_str() {
            "etcd.quota-backend-bytes" => (
                "etcd",
                format!(
                    "on every etcd member's static pod (/etc/kubernetes/manifests/etcd.yaml): \
                     --quota-backend-bytes={}",
                    parse_bytes(&o.value).map_or(o.value.clone(), |b| b.to_string())
                ),
            ),
            "etcd.disk" => ("etcd", format!("put etcd's data directory on {}", o.value)),
            "prism-central.size" => (
                "Prism Central",
                format!("deploy Prism Central at size {}", o.value),
            ),
            "prism-central.count" => (
                "Prism Central",
                format!(
                    "{} Prism Centrals per management cluster, the workload clusters spread \
                     evenly over them (each NutanixCluster's prismCentral)",
                    o.value
                ),
            ),
            "topology.clusters-per-management-cluster" => (
                "management clusters",
                format!(
                    "at most {} workload clusters per management cluster",
                    o.value
                ),
            ),
            k if k.starts_with("nodes.") => {
                let (role, what) = k["nodes.".len()..].rsplit_once('.').unwrap_or((k, ""));
                (
                    "nodes",
                    format!(
                        "{role} nodes: {what} {} (every management cluster)",
                        o.value
                    ),
                )
            }
            _ => continue,
        };
        out.push(Step {
            component: component.into(),
            action,
        });
    }
    out
}

/// `sets` as the knobs of a scenario file, nested by their dotted paths.
pub fn as_yaml(sets: &[Override]) -> String {
    let mut tree = serde_json::Map::new();
    for o in sets {
        let parts: Vec<&str> = o.key.split('.').collect();
        let (last, sections) = parts.split_last().expect("a path has a name");
        let mut at = &mut tree;
        for p in sections {
            at = at
                .entry(p.to_string())
                .or_insert_with(|| serde_json::Value::Object(Default::default()))
                .as_object_mut()
                .expect("a section holds sections");
        }
        let v = match o.value.parse::<f64>() {
            Ok(x) if x.fract() == 0.0 && x.abs() < 1e15 => serde_json::Value::from(x as i64),
            Ok(x) => serde_json::Value::from(x),
            Err(_) => serde_json::Value::from(o.value.clone()),
        };
        at.insert(last.to_string(), v);
    }
    serde_saphyr::to_string(&serde_json::Value::Object(tree)).expect("a JSON tree is valid YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> Override {
        s.parse().unwrap()
    }

    #[test]
    fn flags_become_one_patch_per_deployment_and_capx_takes_its_real_flag() {
        let s = steps(&[
            set("capi-controller-manager.kube-api-qps=200"),
            set("capi-controller-manager.kube-api-burst=400"),
            set("capx-controller-manager.nutanixmachine-concurrency=50"),
            set("capx-controller-manager.nutanixcluster-concurrency=50"),
            set("etcd.quota-backend-bytes=8Gi"),
            set("nodes.workers.count=6"),
        ]);
        assert_eq!(s.len(), 4, "{s:#?}");
        assert!(s[0].action.starts_with(
            "kubectl -n capi-system patch deployment capi-controller-manager --type=json"
        ));
        assert!(s[0].action.contains("\"--kube-api-qps=200\""));
        assert!(s[0].action.contains("\"--kube-api-burst=400\""));
        // One flag for both CAPX controllers, once.
        assert_eq!(
            s[1].action
                .matches("--max-concurrent-reconciles=50")
                .count(),
            1
        );
        assert!(s[2].action.ends_with("--quota-backend-bytes=8589934592"));
        assert_eq!(
            s[3].action,
            "workers nodes: count 6 (every management cluster)"
        );
    }

    #[test]
    fn the_changes_read_back_as_a_scenario_with_the_same_knobs() {
        let sets = [
            set("prism-central.count=2"),
            set("nodes.workers.vcpu=24"),
            set("nodes.workers.memory=96Gi"),
            set("etcd.disk=nvme"),
        ];
        let text = format!("tier: small\n{}", as_yaml(&sets));
        let s = crate::scenario::load("r.yaml", &text, &[]).unwrap();
        let want = crate::scenario::presets::resolve(crate::scenario::presets::Tier::Small, &sets)
            .unwrap();
        assert_eq!(s.config, want);
    }
}
