//! Property tests of `capsim import` (issue 13, item 7): manifests built from the flags and
//! resources it reads with hostile values, random text, and mutations of the kubectl output
//! in sim-cli/tests/data. No panic, no hang; an error names the manifest file (and, for a
//! value, the object and flag it came from); a scenario it writes reads back.

mod fuzzing;

use std::path::Path;

use fuzzing::{config, hostile_value, within_deadline};
use models::scenario::import;
use proptest::prelude::*;

/// Flags the managers' Deployments and the static pods carry, read or ignored.
const FLAGS: &[&str] = &[
    "kube-api-qps",
    "kube-api-burst",
    "sync-period",
    "leader-elect-lease-duration",
    "leader-elect-renew-deadline",
    "leader-elect-retry-period",
    "cluster-concurrency",
    "machine-concurrency",
    "machineset-concurrency",
    "machinedeployment-concurrency",
    "kubeadmconfig-concurrency",
    "kubeadmcontrolplane-concurrency",
    "max-concurrent-reconciles",
    "max-requests-inflight",
    "max-mutating-requests-inflight",
    "request-timeout",
    "etcd-compaction-interval",
    "quota-backend-bytes",
    "auto-compaction-retention",
    "auto-compaction-mode",
    "leader-elect",
    "metrics-bind-addr",
];

/// The objects import reads, by kind and name (and a label for the static pods).
const OBJECTS: &[(&str, &str)] = &[
    ("Deployment", "capi-controller-manager"),
    ("Deployment", "capi-kubeadm-bootstrap-controller-manager"),
    (
        "Deployment",
        "capi-kubeadm-control-plane-controller-manager",
    ),
    ("Deployment", "capx-controller-manager"),
    ("Pod", "kube-apiserver-cp-0"),
    ("Pod", "etcd-cp-0"),
    ("Service", "capi-webhook-service"),
];

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

/// One manifest: an object import reads, with flags and resources of hostile values.
fn manifest() -> impl Strategy<Value = String> {
    let flag = (0..FLAGS.len(), hostile_value(), any::<bool>()).prop_map(|(i, v, bare)| {
        if bare {
            format!("--{}", FLAGS[i])
        } else {
            format!("--{}={v}", FLAGS[i])
        }
    });
    let resources = prop::collection::vec(
        (
            prop::sample::select(&["limits", "requests"][..]),
            prop::sample::select(&["cpu", "memory", "gpu"][..]),
            hostile_value(),
        ),
        0..4,
    );
    (
        0..OBJECTS.len(),
        prop::collection::vec(flag, 0..6),
        resources,
    )
        .prop_map(|(i, flags, resources)| {
            let (kind, name) = OBJECTS[i];
            let args: Vec<String> = flags.iter().map(|f| quoted(f)).collect();
            let mut res = String::new();
            for (section, what, v) in resources {
                res.push_str(&format!("{section}: {{{what}: {v}}}, "));
            }
            let container = format!(
                "{{name: manager, command: [/manager], args: [{}], resources: {{{res}}}}}",
                args.join(", ")
            );
            let spec = if kind == "Deployment" {
                format!("spec: {{template: {{spec: {{containers: [{container}]}}}}}}")
            } else {
                format!("spec: {{containers: [{container}]}}")
            };
            format!("apiVersion: v1\nkind: {kind}\nmetadata: {{name: {name}}}\n{spec}\n")
        })
}

/// Manifests in one file, or several, as kubectl writes them.
fn manifest_files() -> impl Strategy<Value = Vec<(String, String)>> {
    let file = prop::collection::vec(manifest(), 1..4).prop_map(|docs| docs.join("---\n"));
    prop::collection::vec(file, 1..3).prop_map(|files| {
        files
            .into_iter()
            .enumerate()
            .map(|(i, text)| (format!("manifest-{i}.yaml"), text))
            .collect()
    })
}

fn kubectl_output() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim-cli/tests/data/manifests.yaml");
    std::fs::read_to_string(path).expect("the CLI tests' manifests")
}

/// Imports `files`; checks that an error names one of them and that a scenario it makes
/// reads back, or that its error names a manifest.
fn check_import(files: Vec<(String, String)>) {
    within_deadline("import", move || {
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        let named = |msg: &str, source: &str| {
            assert!(
                names.iter().any(|n| source.starts_with(n)),
                "the error does not name a manifest: {msg}\n--- files: {files:?}"
            );
            if let Some(w) = fuzzing::library_word_in(msg) {
                panic!("the error shows the library's '{w}': {msg}\n--- files: {files:?}");
            }
        };
        match import::import(&files) {
            Err(e) => named(&e.to_string(), &e.source_name),
            Ok(imp) => match import::scenario(&imp, "fuzzed") {
                Err(e) => named(&e.to_string(), &e.source_name),
                Ok((text, s)) => {
                    let back = models::scenario::load("again.yaml", &text, &[]).unwrap();
                    assert!(back == s, "it reads back otherwise:\n{text}");
                }
            },
        }
    });
}

/// A mutation of the kubectl output: a byte flipped, the text cut, or a value replaced.
fn mutated_kubectl_output() -> impl Strategy<Value = String> {
    let text = kubectl_output();
    let n = text.len();
    prop_oneof![
        (0..n, 1..=255u8).prop_map({
            let text = text.clone();
            move |(at, xor)| {
                let mut b = text.clone().into_bytes();
                b[at] ^= xor;
                String::from_utf8_lossy(&b).into_owned()
            }
        }),
        (0..n).prop_map({
            let text = text.clone();
            move |at| String::from_utf8_lossy(&text.as_bytes()[..at]).into_owned()
        }),
        (any::<usize>(), hostile_value()).prop_map(move |(nth, v)| {
            // Replace the value of the n-th flag (`--name=value`).
            let flags: Vec<(usize, &str)> = text.match_indices("=").collect();
            let (at, _) = flags[nth % flags.len()];
            let end = text[at..].find(['\n', ',', ']']).map_or(n, |e| at + e);
            format!("{}={}{}", &text[..at], v, &text[end..])
        }),
    ]
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn manifests_with_hostile_values_import_or_name_the_manifest(files in manifest_files()) {
        check_import(files);
    }

    #[test]
    fn mutated_kubectl_output_imports_or_names_the_manifest(text in mutated_kubectl_output()) {
        check_import(vec![("manifests.yaml".into(), text)]);
    }

    #[test]
    fn random_text_imports_or_names_the_manifest(text in "(?s).{0,300}") {
        check_import(vec![("random.yaml".into(), text)]);
    }
}

#[test]
fn the_kubectl_output_imports_and_reads_back() {
    check_import(vec![("manifests.yaml".into(), kubectl_output())]);
}
