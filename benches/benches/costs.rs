//! CPU cost of the work a Cluster API reconcile does in its Go process, measured here with
//! Rust stand-ins so the simulator's `costs.cpu` knobs have a basis (docs/model.md,
//! "CPU", says how each figure was scaled to the Go controllers).
//!
//! * `json/*`: decode, encode and deep-copy (clone) of Kubernetes-like objects of 2, 4 and
//!   8 KiB, as a `serde_json::Value`. The informer cache deep-copies every Get/List result;
//!   `patch.Helper` and `client.MergeFrom` marshal objects to JSON.
//! * `merge_patch_4k/*`: a JSON merge patch (RFC 7386) between two 4 KiB objects, alone and
//!   as controller-runtime's `client.MergeFrom(..).Data(obj)` does it (marshal both objects,
//!   then `jsonpatch.CreateMergePatch`: unmarshal both, diff, marshal the patch).
//! * `crypto/*`: RSA-2048 and ECDSA P-256 key generation and X.509 signing, what KCP does
//!   when it creates a cluster's CAs, kubeconfig and etcd client certificate.
//!
//! `cargo bench -p capsim-benches --bench costs`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::SysRng;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rsa::Generate;
use rsa::pkcs8::EncodePrivateKey;
use serde_json::{Map, Value, json};

/// Object sizes (compact JSON bytes) the JSON cases are built to.
const SIZES: [usize; 3] = [2 * 1024, 4 * 1024, 8 * 1024];

/// A CAPI v1beta2 Machine as the API server returns it: metadata with labels, annotations,
/// owner references, finalizers and managedFields; spec; status with node info, addresses
/// and (once [`grow`] pads it) v1beta2 conditions.
fn base_machine() -> Value {
    json!({
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Machine",
        "metadata": {
            "name": "wc-0042-md-0-x7k2p-9fz4q",
            "namespace": "fleet-0042",
            "uid": "6f1c2e0a-8d3b-4c5e-9a7f-1b2c3d4e5f60",
            "resourceVersion": "184467302",
            "generation": 3,
            "creationTimestamp": "2025-11-03T09:14:27Z",
            "labels": {
                "cluster.x-k8s.io/cluster-name": "wc-0042",
                "cluster.x-k8s.io/deployment-name": "wc-0042-md-0",
                "cluster.x-k8s.io/set-name": "wc-0042-md-0-x7k2p",
                "machine-template-hash": "3518940127"
            },
            "annotations": {
                "controlplane.cluster.x-k8s.io/remediation-for": "",
                "cluster.x-k8s.io/cloned-from-name": "wc-0042-md-0-tmpl-5d8f2"
            },
            "ownerReferences": [{
                "apiVersion": "cluster.x-k8s.io/v1beta2",
                "kind": "MachineSet",
                "name": "wc-0042-md-0-x7k2p",
                "uid": "0d6e9b1a-2f3c-4a5b-8c7d-9e0f1a2b3c4d",
                "controller": true,
                "blockOwnerDeletion": true
            }],
            "finalizers": ["machine.cluster.x-k8s.io"],
            "managedFields": [{
                "manager": "manager",
                "operation": "Update",
                "apiVersion": "cluster.x-k8s.io/v1beta2",
                "time": "2025-11-03T09:14:27Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {
                        "f:finalizers": {".": {}, "v:\"machine.cluster.x-k8s.io\"": {}},
                        "f:labels": {".": {}, "f:cluster.x-k8s.io/cluster-name": {}},
                        "f:ownerReferences": {".": {}, "k:{\"uid\":\"0d6e9b1a\"}": {}}
                    },
                    "f:spec": {
                        ".": {},
                        "f:bootstrap": {".": {}, "f:configRef": {}},
                        "f:clusterName": {},
                        "f:infrastructureRef": {}
                    }
                }
            }]
        },
        "spec": {
            "clusterName": "wc-0042",
            "bootstrap": {
                "configRef": {
                    "apiGroup": "bootstrap.cluster.x-k8s.io",
                    "kind": "KubeadmConfig",
                    "name": "wc-0042-md-0-x7k2p-9fz4q"
                },
                "dataSecretName": "wc-0042-md-0-x7k2p-9fz4q"
            },
            "infrastructureRef": {
                "apiGroup": "infrastructure.cluster.x-k8s.io",
                "kind": "NutanixMachine",
                "name": "wc-0042-md-0-x7k2p-9fz4q"
            },
            "providerID": "nutanix://4b1f3c2a-9d8e-4f7a-b6c5-d4e3f2a1b0c9",
            "version": "v1.33.4",
            "deletion": {"nodeDrainTimeoutSeconds": 600}
        },
        "status": {
            "phase": "Running",
            "observedGeneration": 3,
            "nodeRef": {"name": "wc-0042-md-0-x7k2p-9fz4q"},
            "nodeInfo": {
                "kernelVersion": "5.14.0-503.el9.x86_64",
                "osImage": "Rocky Linux 9.5",
                "kubeletVersion": "v1.33.4",
                "containerRuntimeVersion": "containerd://1.7.27",
                "architecture": "amd64"
            },
            "addresses": [
                {"type": "InternalIP", "address": "10.40.12.117"},
                {"type": "Hostname", "address": "wc-0042-md-0-x7k2p-9fz4q"}
            ],
            "initialization": {"bootstrapDataSecretCreated": true, "infrastructureProvisioned": true},
            "conditions": []
        }
    })
}

/// A v1beta2 (metav1) condition, the kind `status.conditions` holds.
fn condition(i: usize, status: &str) -> Value {
    const TYPES: [&str; 8] = [
        "Available",
        "Ready",
        "UpToDate",
        "BootstrapConfigReady",
        "InfrastructureReady",
        "NodeReady",
        "NodeHealthy",
        "Deleting",
    ];
    let suffix = if i < TYPES.len() {
        String::new()
    } else {
        i.to_string()
    };
    json!({
        "type": format!("{}{suffix}", TYPES[i % TYPES.len()]),
        "status": status,
        "observedGeneration": 3,
        "lastTransitionTime": "2025-11-03T09:21:05Z",
        "reason": "NotDeleting",
        "message": ""
    })
}

/// A further managedFields entry (a status writer), as the controllers' Status().Patch leaves.
fn managed_fields_entry(i: usize) -> Value {
    json!({
        "manager": format!("manager-{i}"),
        "operation": "Update",
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "time": "2025-11-03T09:21:05Z",
        "fieldsType": "FieldsV1",
        "subresource": "status",
        "fieldsV1": {
            "f:status": {
                ".": {},
                "f:conditions": {".": {}, "k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}}},
                "f:observedGeneration": {}
            }
        }
    })
}

/// Serialized size of `v` in compact JSON.
fn size_of(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

/// Pads a [`base_machine`] to at least `target` bytes, rotating through the parts that grow
/// on real objects: conditions, managedFields entries, labels and annotations.
fn grow(target: usize) -> Value {
    let mut obj = base_machine();
    let mut i = 0;
    while size_of(&obj) < target {
        match i % 4 {
            0 => push(
                &mut obj,
                &["status", "conditions"],
                condition(i / 4, "True"),
            ),
            1 => push(
                &mut obj,
                &["metadata", "managedFields"],
                managed_fields_entry(i / 4),
            ),
            2 => insert(
                &mut obj,
                &["metadata", "labels"],
                format!("topology.cluster.x-k8s.io/label-{i}"),
                json!(format!("value-{i}")),
            ),
            _ => insert(
                &mut obj,
                &["metadata", "annotations"],
                format!("example.com/annotation-{i}"),
                json!(format!("a fairly ordinary annotation value number {i}")),
            ),
        }
        i += 1;
    }
    obj
}

/// The node at `path` in `v`, if every step is an object key.
fn at<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |node, key| node.get_mut(*key))
}

fn push(v: &mut Value, path: &[&str], item: Value) {
    if let Some(Value::Array(items)) = at(v, path) {
        items.push(item);
    }
}

fn insert(v: &mut Value, path: &[&str], key: String, item: Value) {
    if let Some(Value::Object(map)) = at(v, path) {
        map.insert(key, item);
    }
}

/// What one reconcile typically changes: the resourceVersion, a condition's status and
/// transition time, the phase and an annotation.
fn mutated(before: &Value) -> Value {
    let mut after = before.clone();
    insert(
        &mut after,
        &["metadata"],
        "resourceVersion".into(),
        json!("184467399"),
    );
    insert(
        &mut after,
        &["status"],
        "phase".into(),
        json!("Provisioned"),
    );
    insert(
        &mut after,
        &["metadata", "annotations"],
        "cluster.x-k8s.io/paused".into(),
        json!(""),
    );
    if let Some(Value::Array(conds)) = at(&mut after, &["status", "conditions"])
        && let Some(Value::Object(c)) = conds.first_mut()
    {
        c.insert("status".into(), json!("False"));
        c.insert("lastTransitionTime".into(), json!("2025-11-03T09:30:41Z"));
    }
    after
}

/// RFC 7386 merge patch taking `before` to `after`, as evanphx/json-patch's
/// `CreateMergePatch` computes it: objects recurse, everything else (arrays included) is
/// replaced whole, removed keys become `null`.
fn merge_patch(before: &Value, after: &Value) -> Value {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut patch = Map::new();
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            for (key, av) in a {
                match b.get(key) {
                    Some(bv) if bv == av => {}
                    Some(bv @ Value::Object(_)) if av.is_object() => {
                        patch.insert(key.clone(), merge_patch(bv, av));
                    }
                    _ => {
                        patch.insert(key.clone(), av.clone());
                    }
                }
            }
            Value::Object(patch)
        }
        _ => after.clone(),
    }
}

/// `jsonpatch.CreateMergePatch(originalJSON, modifiedJSON)`: unmarshal both, diff, marshal.
fn create_merge_patch(original: &[u8], modified: &[u8]) -> serde_json::Result<Vec<u8>> {
    let before: Value = serde_json::from_slice(original)?;
    let after: Value = serde_json::from_slice(modified)?;
    serde_json::to_vec(&merge_patch(&before, &after))
}

/// `client.MergeFrom(before).Data(after)`: marshal both objects, then [`create_merge_patch`].
fn merge_from_data(before: &Value, after: &Value) -> serde_json::Result<Vec<u8>> {
    let original = serde_json::to_vec(before)?;
    let modified = serde_json::to_vec(after)?;
    create_merge_patch(&original, &modified)
}

fn json_objects(c: &mut Criterion) {
    let mut group = c.benchmark_group("json");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for target in SIZES {
        let obj = grow(target);
        let bytes = serde_json::to_vec(&obj).expect("the object serializes");
        let label = format!("{}KiB", target / 1024);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("decode", &label), &bytes, |b, bytes| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(bytes)))
        });
        group.bench_with_input(BenchmarkId::new("encode", &label), &obj, |b, obj| {
            b.iter(|| serde_json::to_vec(black_box(obj)))
        });
        group.bench_with_input(BenchmarkId::new("deep_copy", &label), &obj, |b, obj| {
            b.iter(|| black_box(obj).clone())
        });
    }
    group.finish();
}

fn merge_patches(c: &mut Criterion) {
    let before = grow(4 * 1024);
    let after = mutated(&before);
    let before_json = serde_json::to_vec(&before).expect("the object serializes");
    let after_json = serde_json::to_vec(&after).expect("the object serializes");
    let mut group = c.benchmark_group("merge_patch_4k");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("diff_values", |b| {
        b.iter(|| merge_patch(black_box(&before), black_box(&after)))
    });
    group.bench_function("diff_values_unchanged", |b| {
        b.iter(|| merge_patch(black_box(&before), black_box(&before)))
    });
    group.bench_function("create_merge_patch", |b| {
        b.iter(|| create_merge_patch(black_box(&before_json), black_box(&after_json)))
    });
    group.bench_function("merge_from_data", |b| {
        b.iter(|| merge_from_data(black_box(&before), black_box(&after)))
    });
    group.finish();
}

/// A CA's parameters, as `util/certs` and `util/secret` set them for a cluster CA.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no SANs to parse");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params
}

fn crypto(c: &mut Criterion) {
    let mut group = c.benchmark_group("crypto");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("ecdsa_p256_keygen_rustcrypto", |b| {
        b.iter(|| p256::ecdsa::SigningKey::try_generate_from_rng(&mut SysRng))
    });
    group.bench_function("ecdsa_p256_keygen_ring", |b| {
        b.iter(|| KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256))
    });

    // One RSA CA key, made once, to sign leaf certificates with (KCP's kubeconfig client
    // certificate is signed by the cluster CA's RSA key).
    let rsa_key = rsa::PrivateKey::new(&mut SysRng, 2048).expect("RSA key generation");
    let rsa_der = rsa_key.to_pkcs8_der().expect("PKCS#8 encoding");
    let rsa_pair = KeyPair::try_from(rsa_der.as_bytes()).expect("ring accepts the key");
    let ca = Issuer::new(ca_params(), rsa_pair);
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    let leaf = CertificateParams::new(vec!["kubernetes-admin".to_string()]).expect("SAN");
    group.bench_function("x509_sign_leaf_by_rsa2048_ca", |b| {
        b.iter(|| leaf.signed_by(black_box(&leaf_key), &ca))
    });
    let ec_ca = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    let ec_ca_params = ca_params();
    group.bench_function("x509_self_signed_p256", |b| {
        b.iter(|| ec_ca_params.self_signed(black_box(&ec_ca)))
    });

    // Prime search makes RSA key generation's time vary by several times between runs.
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("rsa2048_keygen", |b| {
        b.iter(|| rsa::PrivateKey::new(&mut SysRng, 2048))
    });
    group.finish();
}

criterion_group!(benches, json_objects, merge_patches, crypto);
criterion_main!(benches);
