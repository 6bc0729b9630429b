//! Error messages for malformed scenario files (issue 4), pinned as snapshots: each names
//! the file, the line, the field, the value and what is allowed.

use models::scenario::load;

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
