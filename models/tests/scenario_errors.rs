//! Error messages for malformed scenario files (issue 4), pinned as snapshots: each names
//! the file, the line, the field, the value and what is allowed. Issue 13: none shows the
//! YAML library's words, and each names the layer (file or `--set`) it comes from.

use models::scenario::load;
use models::scenario::presets::{
    Override, Profile, Tier, plain_decode_error, plain_yaml_error, resolve, resolve_layers,
};
use serde_json::Value;

fn error_of(text: &str) -> String {
    load("scenario.yaml", text, &[])
        .expect_err("malformed")
        .to_string()
}

#[test]
fn malformed_scenarios_are_explained() {
    let cases = [
        (
            "unknown knob",
            "capi-controller-manager:\n  machine-concurency: 10\n",
        ),
        (
            "unknown manager",
            "capi-controller-manager-shard-a:\n  kube-api-qps: 100\n",
        ),
        ("bad quantity", "etcd:\n  quota-backend-bytes: 8Gb\n"),
        (
            "duplicate key",
            "name: a\nname: b\nworkload:\n  - create: {clusters: 5}\n",
        ),
        (
            "scalar for a manager",
            "capi-controller-manager: 5\nworkload:\n  - create: {clusters: 5}\n",
        ),
        (
            "bad duration",
            "capi-controller-manager:\n  sync-period: ten minutes\n",
        ),
        (
            "out of range",
            "capx-controller-manager:\n  nutanixmachine-concurrency: 0\n",
        ),
        (
            "bad qps",
            "capi-controller-manager:\n  kube-api-qps: fast\n",
        ),
        (
            "bad distribution",
            "prism-central:\n  vm-create: {lognormal: {p50: 120, p95: 60}}\n",
        ),
        ("unknown profile", "defaults: capi-1.11\n"),
        ("unknown tier", "tier: huge\n"),
        ("workload not a list", "workload: {create: {clusters: 5}}\n"),
        (
            "missing clusters",
            "workload:\n  - create: {machines-per-cluster: 5}\n",
        ),
        (
            "even control plane",
            "workload:\n  - create: {clusters: 5, control-plane-replicas: 2}\n",
        ),
        (
            "batch without every",
            "workload:\n  - create: {clusters: 5, batch: 2}\n",
        ),
        (
            "upgrade before any create",
            "workload:\n  - upgrade: {wave: 10}\n",
        ),
        (
            "upgrade to a named version",
            "workload:\n  - create: {clusters: 5}\n  - upgrade: {version: v1.31.0}\n",
        ),
        (
            "upgrade wave of zero",
            "workload:\n  - create: {clusters: 5}\n  - upgrade: {wave: 0}\n",
        ),
        (
            "rollout that cannot start",
            "workload:\n  - create: {clusters: 5}\n  - upgrade: {max-surge: 0}\n",
        ),
        (
            "operation that is a fault",
            "workload:\n  - create: {clusters: 5}\n  - faults: {}\n",
        ),
        (
            "steady before any create",
            "workload:\n  - steady: {duration: 1h}\n",
        ),
        (
            "scale below zero workers",
            "workload:\n  - create: {clusters: 5, machines-per-cluster: 5}\n  - scale: {by: -5}\n",
        ),
        ("scale before any create", "workload:\n  - scale: {by: 2}\n"),
        (
            "delete with settings",
            "workload:\n  - create: {clusters: 5}\n  - delete: {clusters: 2}\n",
        ),
        (
            "scale after delete",
            "workload:\n  - create: {clusters: 5}\n  - delete: {}\n  - scale: {by: 1}\n",
        ),
        (
            "steady too short",
            "workload:\n  - create: {clusters: 5}\n  - steady: {duration: 10s}\n",
        ),
        (
            "steady without duration",
            "workload:\n  - create: {clusters: 5}\n  - steady: {}\n",
        ),
        ("unknown fault", "faults:\n  - disk-full: {at: 5m}\n"),
        (
            "health check timeout too short",
            "faults:\n  - machine-health-check: {node-startup-timeout: 10s}\n",
        ),
        (
            "certain VM-create failure",
            "faults:\n  - vm-create-failures: {probability: 1}\n",
        ),
        (
            "fault without duration",
            "faults:\n  - prism-central-outage: {at: 5m}\n",
        ),
        (
            "restart of unknown manager",
            "faults:\n  - controller-restart: {manager: capi, at: 5m}\n",
        ),
        (
            "node failures without a rate",
            "faults:\n  - node-failures: {at: 1h}\n",
        ),
        (
            "restart rate too high",
            "faults:\n  - controller-restart: {manager: capi-controller-manager, every: 10s}\n",
        ),
        (
            "too many management clusters",
            "topology:\n  management-clusters: 1000\n",
        ),
        ("not a mapping", "- just\n- a list\n"),
        (
            "resources with a GPU",
            "capi-controller-manager:\n  resources:\n    limits: {nvidia.com/gpu: 1}\n",
        ),
    ];
    let text: String = cases
        .iter()
        .map(|(what, yaml)| format!("## {what}\n{}\n", error_of(yaml)))
        .collect();
    insta::assert_snapshot!(text);
}

fn set_arg(s: &str) -> Override {
    s.parse().expect("KEY=VALUE")
}

/// Issue 13 (found by the property tests in tests/fuzz_*.rs): no error shows the
/// parser's types, options or functions.
#[test]
fn parser_errors_are_in_the_users_words() {
    let deep = format!("a: {}1{}\n", "[".repeat(100), "]".repeat(100));
    for (text, plain) in [
        (
            "~: 1\n",
            "1 column 1: a key is empty or null (~); every key is a name",
        ),
        (
            "{[a]: 1}\n",
            "a key is a list or a mapping; every key is a name",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "a second YAML document (after a line ---); a scenario is one document",
        ),
        (
            "a: &x [*x]\n",
            "an alias (*name) refers to the node that holds it",
        ),
        ("a: !!int x\n", "not a whole number"),
        (
            "a: .nan\n",
            ".nan is not a finite number (NaN and infinities are refused)",
        ),
        (
            "a: 1e309\n",
            "1e309 is not a finite number (NaN and infinities are refused)",
        ),
        (&deep, "nested deeper than 64 levels"),
    ] {
        let e = serde_saphyr::from_str::<Value>(text)
            .unwrap_err()
            .to_string();
        assert!(
            plain_yaml_error(&e).ends_with(plain),
            "{text}: {}",
            plain_yaml_error(&e)
        );
    }
    assert_eq!(
        plain_yaml_error("line 2 column 1: budget breached: Aliases { aliases: 50001 }"),
        "line 2 column 1: too large to read: 50001 aliases (YAML's limits guard against runaway input)"
    );
    for (rust, plain) in [
        (
            "invalid type: string \"x\", expected f64",
            "invalid type: string \"x\", expected a number",
        ),
        (
            "invalid value: integer `-1`, expected u32",
            "invalid value: integer `-1`, expected a whole number ≥ 0",
        ),
        (
            "data did not match any variant of untagged enum Raw",
            "expected one value (a number or a word), not a list, a mapping or null",
        ),
    ] {
        assert_eq!(plain_decode_error(rust), plain);
    }
    let e = resolve(Tier::Small, &[set_arg("etcd.quota-backend-bytes=a: b: c")]).unwrap_err();
    assert!(!e.reason.contains('\n'), "one line: {e}");
}

/// Issue 13 (found by tests/fuzz_set_overrides.rs): a problem the `--set` of another
/// knob causes names that `--set`; a problem of the layers below it names them.
#[test]
fn a_problem_names_the_layer_it_comes_from() {
    let e = resolve(Tier::Small, &[set_arg("nodes.workers.memory=1")]).unwrap_err();
    assert_eq!(e.source_name, "--set nodes.workers.memory=1", "{e}");
    assert!(e.field.ends_with(".cpu-request"), "{e}");
    let e = resolve(Tier::Small, &[set_arg("capi-controller-manager.shards=17")]).unwrap_err();
    assert_eq!(e.source_name, "--set", "{e}");
    assert_eq!(e.field, "capi-controller-manager.shards", "{e}");
    let file = serde_json::json!({"capi-controller-manager": {"shards": 17}});
    let e = resolve_layers(
        Profile::Capi112,
        None,
        Some(("f.yaml", file)),
        &[set_arg("etcd.quota-backend-bytes=8Gi")],
    )
    .unwrap_err();
    assert_eq!(
        e.source_name, "f.yaml",
        "the file's problem, not the --set's: {e}"
    );
}
