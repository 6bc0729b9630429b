//! Real manifests as input: the Deployments of the CAPI, kubeadm and CAPX managers and the
//! static pods of kube-apiserver and etcd, as `kubectl get -o yaml` prints them, turned
//! into a scenario.
//!
//! Container args (`--kube-api-qps=100`, `--cluster-concurrency=50`, ...) and resources
//! become knobs; every flag the model does not use is listed as ignored, never dropped
//! silently.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::kinds::Controller;
use crate::scenario::Scenario;
use crate::scenario::config::ConfigError;

/// A manager's Deployment name and the scenario key it becomes.
const DEPLOYMENTS: &[(&str, &str)] = &[
    ("capi-controller-manager", "capi-controller-manager"),
    (
        "capi-kubeadm-bootstrap-controller-manager",
        "capi-kubeadm-bootstrap",
    ),
    (
        "capi-kubeadm-control-plane-controller-manager",
        "capi-kubeadm-control-plane",
    ),
    ("capx-controller-manager", "capx-controller-manager"),
];

/// Flags of the managers that become knobs (the same name in the scenario), besides every
/// controller's concurrency flag ([`Controller::concurrency_flag`]).
const MANAGER_FLAGS: &[&str] = &[
    "kube-api-qps",
    "kube-api-burst",
    "sync-period",
    "leader-elect-lease-duration",
    "leader-elect-renew-deadline",
    "leader-elect-retry-period",
];

/// What an import produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The scenario's knobs, as a value tree.
    pub knobs: Value,
    /// Flags and fields seen but not modelled: `object: --flag=value`.
    pub ignored: Vec<String>,
    /// Objects read, by name.
    pub objects: Vec<String>,
    /// Where each knob's value came from, by its dotted path: the file, the object and the
    /// flag or field (`capi.yaml: Deployment/capi-controller-manager --kube-api-qps=100`).
    pub origins: BTreeMap<String, String>,
}

/// What a static pod's flag becomes.
enum Take {
    /// The knob `section.key`.
    Knob(&'static str, &'static str),
    /// Nothing to set: the model already does what the flag says.
    Modelled,
    /// Nothing: the flag is listed as ignored.
    Ignored,
}

fn split_flag(arg: &str) -> Option<(&str, &str)> {
    let flag = arg.strip_prefix("--")?;
    Some(flag.split_once('=').unwrap_or((flag, "true")))
}

/// Numbers stay numbers, so that `--kube-api-qps=100` reads as 100, not "100".
fn flag_value(v: &str) -> Value {
    if let Ok(n) = v.parse::<u64>() {
        return Value::from(n);
    }
    // NaN and infinities stay text: as JSON numbers they would become null.
    if let Ok(x) = v.parse::<f64>()
        && x.is_finite()
    {
        return Value::from(x);
    }
    Value::String(v.to_string())
}

fn objects_of(doc: Value) -> Vec<Value> {
    match doc {
        Value::Object(ref m) if m.get("kind").and_then(Value::as_str) == Some("List") => m
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        Value::Object(_) => vec![doc],
        _ => Vec::new(),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |cur, k| cur.get(*k))?.as_str()
}

/// The containers of a Deployment or a Pod.
fn containers(obj: &Value) -> Vec<Value> {
    let spec = match str_at(obj, &["kind"]) {
        Some("Deployment") => obj
            .get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec")),
        Some("Pod") => obj.get("spec"),
        _ => None,
    };
    spec.and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn args_of(container: &Value) -> Vec<String> {
    let list = |k: &str| -> Vec<String> {
        container
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all = list("command");
    all.extend(list("args"));
    all
}

fn section<'a>(knobs: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    match knobs
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(m) => m,
        _ => unreachable!("sections are objects"),
    }
}

/// Reads manifests (`files`: name and YAML text, each possibly several documents or a
/// `List`) into scenario knobs.
pub fn import(files: &[(String, String)]) -> Result<Imported, ConfigError> {
    let mut out = Imported {
        knobs: Value::Object(Map::new()),
        ignored: Vec::new(),
        objects: Vec::new(),
        origins: BTreeMap::new(),
    };
    for (file, text) in files {
        let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| ConfigError {
            source_name: file.clone(),
            field: "(file)".into(),
            value: String::new(),
            reason: format!(
                "not valid YAML: {}",
                super::presets::plain_yaml_error(&e.to_string())
            ),
        })?;
        for obj in docs.into_iter().flat_map(objects_of) {
            let name = str_at(&obj, &["metadata", "name"]).unwrap_or("");
            let kind = str_at(&obj, &["kind"]).unwrap_or("");
            let component = str_at(&obj, &["metadata", "labels", "component"]).unwrap_or("");
            let label = format!("{kind}/{name}");
            if let Some((_, key)) = DEPLOYMENTS.iter().find(|(d, _)| *d == name) {
                out.import_manager(&obj, key, file, &label);
            } else if kind == "Pod"
                && (component == "kube-apiserver" || name.starts_with("kube-apiserver"))
            {
                out.import_flags(&obj, file, &label, |flag, _| match flag {
                    "max-requests-inflight" => {
                        Take::Knob("kube-apiserver", "max-requests-inflight")
                    }
                    "max-mutating-requests-inflight" => {
                        Take::Knob("kube-apiserver", "max-mutating-requests-inflight")
                    }
                    "request-timeout" => Take::Knob("kube-apiserver", "request-timeout"),
                    "etcd-compaction-interval" => Take::Knob("etcd", "compaction-interval"),
                    _ => Take::Ignored,
                });
            } else if kind == "Pod" && (component == "etcd" || name.starts_with("etcd")) {
                out.import_flags(&obj, file, &label, |flag, v| match flag {
                    "quota-backend-bytes" => Take::Knob("etcd", "quota-backend-bytes"),
                    "auto-compaction-retention" => Take::Knob("etcd", "auto-compaction-retention"),
                    // Periodic is the mode the model copies; note any other.
                    "auto-compaction-mode" if v == "periodic" => Take::Modelled,
                    _ => Take::Ignored,
                });
            } else if !kind.is_empty() {
                out.ignored.push(format!(
                    "{label}: not a manager, kube-apiserver or etcd; skipped"
                ));
            }
        }
    }
    Ok(out)
}

impl Imported {
    /// Sets the knob `section.key` to `v`, which came from `origin`.
    fn set(&mut self, section_name: &str, key: &str, v: Value, origin: String) {
        let Value::Object(knobs) = &mut self.knobs else {
            unreachable!("the knobs are a mapping")
        };
        section(knobs, section_name).insert(key.to_string(), v);
        self.origins.insert(format!("{section_name}.{key}"), origin);
    }

    /// Reads a static pod's flags (of object `label` in `file`), each as `take` says.
    fn import_flags(
        &mut self,
        obj: &Value,
        file: &str,
        label: &str,
        take: impl Fn(&str, &str) -> Take,
    ) {
        self.objects.push(label.to_string());
        for c in containers(obj) {
            for arg in args_of(&c) {
                // No flag: the command itself (kube-apiserver, etcd).
                let Some((flag, v)) = split_flag(&arg) else {
                    continue;
                };
                match take(flag, v) {
                    Take::Knob(section, key) => self.set(
                        section,
                        key,
                        flag_value(v),
                        format!("{file}: {label} {arg}"),
                    ),
                    Take::Modelled => {}
                    Take::Ignored => self.ignored.push(format!("{label}: {arg}")),
                }
            }
        }
    }

    /// Reads a manager's container (of object `label` in `file`): its flags and its
    /// resources, into the knobs of manager `key`.
    fn import_manager(&mut self, obj: &Value, key: &str, file: &str, label: &str) {
        self.objects.push(label.to_string());
        let at = format!("{file}: {label}");
        let conts = containers(obj);
        let manager = conts
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some("manager"))
            .or(conts.first())
            .cloned();
        let Some(c) = manager else {
            self.ignored.push(format!("{label}: no container found"));
            return;
        };
        // A manager with no flag read still has its section.
        if let Value::Object(knobs) = &mut self.knobs {
            section(knobs, key);
        }
        let knobs = crate::scenario::presets::settable_paths();
        // Only a flag of this manager: another's controller flag is listed as ignored.
        let is_knob = |flag: &str| knobs.contains(&format!("{key}.{flag}"));
        for arg in args_of(&c) {
            let Some((flag, v)) = split_flag(&arg) else {
                continue;
            };
            let origin = format!("{at} {arg}");
            if (MANAGER_FLAGS.contains(&flag)
                || Controller::ALL.iter().any(|c| c.concurrency_flag() == flag))
                && is_knob(flag)
            {
                self.set(key, flag, flag_value(v), origin);
            } else if flag == "max-concurrent-reconciles" && key == "capx-controller-manager" {
                // CAPX's one flag sets both of its controllers.
                self.set(
                    key,
                    "nutanixcluster-concurrency",
                    flag_value(v),
                    origin.clone(),
                );
                self.set(key, "nutanixmachine-concurrency", flag_value(v), origin);
            } else {
                self.ignored.push(format!("{label}: {arg}"));
            }
        }
        if let Some(res) = c.get("resources") {
            for (section_name, suffix) in [("limits", "limit"), ("requests", "request")] {
                for res_kind in ["cpu", "memory"] {
                    if let Some(v) = res.get(section_name).and_then(|s| s.get(res_kind)) {
                        let origin = format!("{at} resources.{section_name}.{res_kind}");
                        self.set(key, &format!("{res_kind}-{suffix}"), v.clone(), origin);
                    }
                }
            }
        }
    }
}

/// The imported knobs as a scenario file, and that file read back: a problem in it names
/// the manifest, the object and the flag its value came from.
pub fn scenario(imp: &Imported, name: &str) -> Result<(String, Scenario), ConfigError> {
    let text = to_scenario(imp, name);
    match crate::scenario::load("(imported)", &text, &[]) {
        Ok(s) => Ok((text, s)),
        Err(mut e) => {
            // The flag's own knob, else one of the same manager or component, else all.
            let section = e.field.split('.').next().unwrap_or("");
            let origin = imp.origins.get(&e.field).or_else(|| {
                imp.origins
                    .iter()
                    .find(|(path, _)| path.split('.').next() == Some(section))
                    .map(|(_, o)| o)
            });
            e.source_name = match origin {
                Some(o) => o.clone(),
                None => imp.origins.values().cloned().collect::<Vec<_>>().join("; "),
            };
            Err(e)
        }
    }
}

/// Text for a `#` comment: line breaks and other control characters escaped (`\n`), so
/// that a manifest's name or flag cannot end the comment and add a key.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The imported knobs as a scenario file, with the ignored flags as comments.
pub fn to_scenario(imp: &Imported, name: &str) -> String {
    let mut out = String::from("# Imported by capsim from:\n");
    for o in &imp.objects {
        out.push_str(&format!("#   {}\n", one_line(o)));
    }
    if imp.ignored.is_empty() {
        out.push_str("# Every flag was used.\n");
    } else {
        out.push_str("# Ignored (not modelled):\n");
        for i in &imp.ignored {
            out.push_str(&format!("#   {}\n", one_line(i)));
        }
    }
    out.push_str(&super::yaml_line("name", name));
    out.push_str("defaults: capi-1.12\n");
    if imp.knobs.as_object().is_some_and(|m| !m.is_empty()) {
        out.push_str(&serde_saphyr::to_string(&imp.knobs).expect("a JSON tree is valid YAML"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFESTS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: capi-controller-manager
  namespace: capi-system
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: manager
        command: [/manager]
        args:
        - --leader-elect
        - --diagnostics-address=:8443
        - --kube-api-qps=100
        - --kube-api-burst=200
        - --cluster-concurrency=50
        - --machine-concurrency=100
        - --sync-period=20m
        resources:
          limits: {cpu: "8", memory: 16Gi}
          requests: {cpu: "4", memory: 8Gi}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: capx-controller-manager
spec:
  template:
    spec:
      containers:
      - name: manager
        args: [--max-concurrent-reconciles=30, --metrics-bind-addr=:8080]
---
apiVersion: v1
kind: Pod
metadata:
  name: etcd-cp-0
  labels: {component: etcd}
spec:
  containers:
  - name: etcd
    command: [etcd, --quota-backend-bytes=8589934592, --auto-compaction-retention=15m, --snapshot-count=5000]
"#;

    /// Issue 13: names and flags from a manifest, and the scenario's name, cannot break
    /// out of their lines in the file written.
    #[test]
    fn text_from_the_manifests_stays_in_its_comment() {
        let manifest = "kind: Service\nmetadata: {name: \"x\\netcd: {quota-backend-bytes: 1}\"}\n\
                        ---\nkind: Pod\nmetadata: {name: etcd-0}\n\
                        spec: {containers: [{command: [etcd, \"--a=1\\nname: injected\"]}]}\n";
        let imp = import(&[("m.yaml".into(), manifest.into())]).unwrap();
        let name = "ours\n# a: b";
        let text = to_scenario(&imp, name);
        let s = crate::scenario::load("imported.yaml", &text, &[]).unwrap();
        assert_eq!(s.name.as_deref(), Some(name), "{text}");
        assert!(text.contains("#   Service/x\\netcd:"), "{text}");
        assert!(text.contains("--a=1\\nname: injected"), "{text}");
        assert_eq!(s.config.etcd.quota_backend_bytes.0, 2 << 30, "{text}");
    }

    /// Issue 13 (found by tests/fuzz_import.rs): a value the scenario refuses is named by
    /// the manifest, the object and the flag it came from, not by the scenario written.
    #[test]
    fn a_bad_value_names_the_manifest_and_flag_it_came_from() {
        let bad = MANIFESTS.replace("--kube-api-qps=100", "--kube-api-qps=fast");
        let imp = import(&[("capi.yaml".into(), bad)]).unwrap();
        let e = scenario(&imp, "x").unwrap_err();
        assert_eq!(
            e.source_name, "capi.yaml: Deployment/capi-controller-manager --kube-api-qps=fast",
            "{e}"
        );
        assert_eq!(e.field, "capi-controller-manager.kube-api-qps", "{e}");
        let small = MANIFESTS.replace("cpu: \"4\"", "cpu: \"9\"");
        let imp = import(&[("capi.yaml".into(), small)]).unwrap();
        let e = scenario(&imp, "x").unwrap_err();
        assert_eq!(
            e.source_name, "capi.yaml: Deployment/capi-controller-manager resources.requests.cpu",
            "{e}"
        );
    }

    /// Issue 13 (found by tests/fuzz_import.rs): a controller's flag on a manager that
    /// does not run that controller is listed as ignored, and `nan` stays the text given.
    #[test]
    fn a_flag_of_another_manager_is_ignored_and_nan_stays_text() {
        let text = MANIFESTS
            .replace(
                "--sync-period=20m",
                "--sync-period=20m\n        - --kubeadmconfig-concurrency=5",
            )
            .replace(
                "--auto-compaction-retention=15m",
                "--auto-compaction-retention=nan",
            );
        let imp = import(&[("m.yaml".into(), text)]).unwrap();
        assert!(
            imp.ignored.contains(
                &"Deployment/capi-controller-manager: --kubeadmconfig-concurrency=5".into()
            ),
            "{:?}",
            imp.ignored
        );
        assert_eq!(imp.knobs["etcd"]["auto-compaction-retention"], "nan");
        let e = scenario(&imp, "x").unwrap_err();
        assert!(
            e.to_string().contains("'nan' is not a finite duration"),
            "{e}"
        );
    }

    #[test]
    fn manifests_become_knobs_and_unused_flags_are_listed() {
        let imp = import(&[("m.yaml".into(), MANIFESTS.into())]).unwrap();
        let k = &imp.knobs;
        assert_eq!(k["capi-controller-manager"]["kube-api-qps"], 100);
        assert_eq!(k["capi-controller-manager"]["sync-period"], "20m");
        assert_eq!(k["capi-controller-manager"]["cpu-limit"], "8");
        assert_eq!(
            k["capx-controller-manager"]["nutanixmachine-concurrency"],
            30
        );
        assert_eq!(k["etcd"]["quota-backend-bytes"], 8_589_934_592u64);
        let ignored = imp.ignored.join("\n");
        for flag in [
            "--leader-elect",
            "--diagnostics-address=:8443",
            "--metrics-bind-addr=:8080",
            "--snapshot-count=5000",
        ] {
            assert!(ignored.contains(flag), "{flag} not listed in {ignored}");
        }
        // The scenario it writes is valid.
        let text = to_scenario(&imp, "imported");
        let s = crate::scenario::load("imported.yaml", &text, &[]).unwrap();
        assert_eq!(
            s.config.capi_controller_manager.machine_concurrency,
            Some(100)
        );
        assert_eq!(s.config.etcd.quota_backend_bytes.0, 8 << 30);
    }
}
