//! Issue 14, item 4: `capsim sensitivity` steps each knob down and up on common random
//! numbers; a knob whose effect is known moves the fleet time the known way.

use predicates::prelude::*;

use super::capsim;

/// CAPX's NutanixMachine workers are held while Prism Central creates each VM: with half
/// as many, machines wait longer for a worker and the fleet takes longer; with twice as
/// many, less long (the queue of machines waiting for workers is what the bottleneck
/// names at this size).
#[test]
fn fewer_capx_workers_slow_the_fleet_and_more_speed_it() {
    let out = capsim()
        .args([
            "sensitivity",
            "--clusters",
            "20",
            "--tier",
            "small",
            "--replicas",
            "3",
        ])
        .args([
            "--machines-per-cluster",
            "5",
            "--control-plane-replicas",
            "1",
        ])
        .args([
            "--knob",
            "capx-controller-manager.nutanixmachine-concurrency",
        ])
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let knob = &doc["knobs"][0];
    assert_eq!(
        knob["knob"],
        "capx-controller-manager.nutanixmachine-concurrency"
    );
    assert_eq!(
        (knob["down"]["value"].as_str(), knob["up"]["value"].as_str()),
        (Some("5"), Some("20"))
    );
    let change = |side: &str| &knob[side]["fleet_time"];
    // Slower with 5, faster with 20, each beyond its interval.
    assert!(
        change("down")["ci_low"].as_f64().unwrap() > 0.0,
        "{}",
        change("down")
    );
    assert!(
        change("up")["ci_high"].as_f64().unwrap() < 0.0,
        "{}",
        change("up")
    );
}

#[test]
fn an_unknown_knob_is_refused_with_the_list() {
    capsim()
        .args(["sensitivity", "--clusters", "5", "--knob", "etcd.nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--knob etcd.nope: not a stepped knob; one of",
        ))
        .stderr(predicate::str::contains("prism-central.size"));
}
