//! Issue 15, item 5: the Kubernetes manifests under `deploy/kubernetes/` read into the
//! Kubernetes API's own types (k8s-openapi, v1.33), every field kept: a misspelt or
//! misplaced field, which the types would drop, fails. And the Job runs the sweep as
//! shards the merge Job then gathers.

use std::path::PathBuf;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn manifest(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/kubernetes")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `value` read as `T` and written back: equal when `T` knows every field (the API's
/// types skip unknown fields, so a lost one is a field Kubernetes does not have).
fn typed<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let value = manifest(name);
    let t: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(
        back, value,
        "{name}: a field the Kubernetes API does not have (it was dropped on reading)"
    );
    t
}

#[test]
fn the_manifests_are_kubernetes_objects_with_no_unknown_field() {
    let sweep: Job = typed("sweep-job.yaml");
    let merge: Job = typed("merge-job.yaml");
    let pvc: PersistentVolumeClaim = typed("pvc.yaml");
    let spec = sweep.spec.unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    let n = spec.completions.unwrap();
    let pod = spec.template.spec.unwrap();
    let c = &pod.containers[0];
    let line = c.args.as_ref().unwrap().join(" ");
    assert!(
        line.contains(&format!("--shard \"${{JOB_COMPLETION_INDEX}}/{n}\"")),
        "{line}"
    );
    assert!(pod.security_context.unwrap().run_as_non_root == Some(true));
    // The merge Job gathers every shard the sweep Job writes, into one volume.
    let margs = merge.spec.unwrap().template.spec.unwrap().containers[0]
        .args
        .clone()
        .unwrap();
    assert_eq!(margs[0], "merge");
    for i in 0..n {
        assert!(margs.contains(&format!("/data/shard-{i}")), "{margs:?}");
    }
    assert_eq!(
        pvc.spec.unwrap().access_modes.unwrap(),
        vec!["ReadWriteMany".to_string()]
    );
}

#[test]
fn a_misspelt_field_is_caught() {
    let mut v = manifest("sweep-job.yaml");
    v["spec"]["completionsMode"] = serde_json::json!("Indexed");
    let job: Job = serde_json::from_value(v.clone()).unwrap();
    assert_ne!(serde_json::to_value(&job).unwrap(), v);
}
