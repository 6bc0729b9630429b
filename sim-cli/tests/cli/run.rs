//! `capsim run`: its JSON and table report, a run that stops before ready, the timeline
//! file, and bad input refused by name.

use predicates::prelude::*;

use super::{capsim, scratch};

/// Issue 3: `capsim run --format json` carries the documented fields.
#[test]
fn run_json_has_the_documented_fields() {
    let out = capsim()
        .args([
            "run",
            "--clusters",
            "3",
            "--machines-per-cluster",
            "4",
            "--seed",
            "1",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(doc["schema_version"], 1);
    assert!(doc["fleet"]["time_to_ready_s"].as_f64().unwrap() > 0.0);
    let checklist = doc["checklist"].as_array().unwrap();
    assert!(checklist.len() >= 10);
    for item in checklist {
        for field in ["name", "value", "threshold", "pass"] {
            assert!(!item[field].is_null(), "{field} missing in {item}");
        }
    }
    assert!(doc["bottleneck"]["resource"].is_string());
    assert!(doc["bottleneck"]["share"].as_f64().unwrap() > 0.0);
}

#[test]
fn run_prints_a_report_with_the_checklist_and_the_bottleneck() {
    capsim()
        .args(["run", "--clusters", "2", "--machines-per-cluster", "4"])
        .assert()
        .success()
        .stdout(predicate::str::contains("time to ready"))
        .stdout(predicate::str::contains("Scale-testing checklist"))
        .stdout(predicate::str::contains("Bottleneck: "));
}

#[test]
fn run_with_an_unknown_set_key_lists_the_nearest_keys() {
    capsim()
        .args([
            "run",
            "--clusters",
            "2",
            "--set",
            "capx-controller-manager.nutanixmachine-concurency=50",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("did you mean"))
        .stderr(predicate::str::contains(
            "capx-controller-manager.nutanixmachine-concurrency",
        ));
}

#[test]
fn a_run_that_stops_before_ready_says_why_and_shows_no_zero_times() {
    capsim()
        .args(["run", "--clusters", "2", "--machines-per-cluster", "2"])
        .args(["--control-plane-replicas", "1", "--max-time", "1m"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "NOT READY after 1m00s (0 of 2 clusters",
        ))
        .stdout(predicate::str::contains(
            "stopped at the simulated-time limit",
        ))
        .stdout(predicate::str::contains(
            "per cluster            p50 -  p95 -",
        ));
}

#[test]
fn a_timeline_path_that_cannot_take_the_file_is_refused_before_the_run() {
    for (path, why) in [
        ("-", "standard output carries the report"),
        ("/nonexistent-folder/t.csv", "does not exist"),
    ] {
        capsim()
            .args(["run", "--clusters", "2", "--timeline", path])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(why));
    }
}

#[test]
fn a_negative_cluster_count_is_named_as_such() {
    capsim()
        .args(["run", "--clusters", "-5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "whole number of clusters from 1 to 100000",
        ));
    capsim()
        .args(["sweep", "--clusters", "-5..10"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "'-5' is not a whole number of clusters",
        ));
}

#[test]
fn run_rejects_a_bad_value_naming_the_field() {
    capsim()
        .args([
            "run",
            "--clusters",
            "2",
            "--set",
            "etcd.quota-backend-bytes=lots",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("etcd.quota-backend-bytes = lots"));
    capsim()
        .args([
            "run",
            "--clusters",
            "2",
            "--machines-per-cluster",
            "2",
            "--control-plane-replicas",
            "3",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--machines-per-cluster 2 is below --control-plane-replicas 3",
        ));
    capsim()
        .args(["run", "--clusters", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("from 1 to 100000"));
}

#[test]
fn run_writes_the_timeline_and_leaves_no_partial_file() {
    let dir = std::env::temp_dir().join(format!("capsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("timeline.csv");
    capsim()
        .args([
            "run",
            "--clusters",
            "2",
            "--machines-per-cluster",
            "4",
            "--format",
            "json",
            "--timeline",
        ])
        .arg(&path)
        .assert()
        .success();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("t_s,depth_cluster,"), "{header}");
    assert!(header.contains("etcd_db_bytes"));
    assert!(lines.count() > 10);
    assert!(!dir.join("timeline.csv.partial").exists());
    // An unwritable path fails with a clear error and writes nothing.
    capsim()
        .args([
            "run",
            "--clusters",
            "1",
            "--machines-per-cluster",
            "2",
            "--control-plane-replicas",
            "1",
        ])
        .args(["--timeline", "/nonexistent-dir/t.csv"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("/nonexistent-dir/t.csv"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 20: a federation knob out of its range, and a `propagate` without a hub, are
/// refused before any run, naming the field and what is allowed.
#[test]
fn federation_knobs_and_propagations_are_checked() {
    capsim()
        .args(["run", "--clusters", "2", "--tier", "extreme"])
        .args(["--set", "federation.status-change-fraction=2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "federation.status-change-fraction = 2: must lie in [0, 1]",
        ));
    capsim()
        .args(["run", "--clusters", "2", "--tier", "extreme"])
        .args([
            "--set",
            "federation.karmada-agent.cluster-lease-renew-interval-fraction=1",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must lie in (0, 1)"));
    let dir = scratch("propagate-without-hub");
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        "tier: medium\nworkload:\n  - create: {clusters: 5}\n  - propagate: {resources: 3}\n",
    )
    .unwrap();
    capsim()
        .args(["run", "--scenario"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "workload[1].propagate = : needs a federation hub",
        ));
    std::fs::write(
        &file,
        "tier: extreme\nworkload:\n  - create: {clusters: 5}\n  - propagate: {resources: 3, fraction: 1.5}\n",
    )
    .unwrap();
    capsim()
        .args(["run", "--scenario"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "workload[1].propagate.fraction = 1.5",
        ));
}

/// Issue 20: an Extreme-tier run prints the hub's section and its checklist item.
#[test]
fn an_extreme_run_reports_its_federation_hub() {
    capsim()
        .args(["run", "--clusters", "20", "--machines-per-cluster", "2"])
        .args(["--control-plane-replicas", "1", "--tier", "extreme"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Federation hub (Karmada, pull mode",
        ))
        .stdout(predicate::str::contains(
            "Federation: member heartbeat < 5s p99",
        ))
        .stdout(predicate::str::contains("federation hub nodes"));
}
