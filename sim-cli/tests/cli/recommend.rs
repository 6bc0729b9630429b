//! Issue 14, item 2: `capsim recommend` finds a configuration that passes, writes it as a
//! scenario that passes again on other streams, says what failed when nothing passes, and
//! refuses bad prices and targets by name.

use predicates::prelude::*;

use super::{capsim, scratch};

/// A fleet small enough to search in seconds: 6 clusters of 4 machines (1 control plane).
const FLEET: [&str; 8] = [
    "recommend",
    "--clusters",
    "6",
    "--machines-per-cluster",
    "4",
    "--control-plane-replicas",
    "1",
    "--pass-rate",
];

#[test]
fn a_recommended_configuration_passes_again_on_other_streams() {
    let dir = scratch("rec-out");
    let out = capsim()
        .args(FLEET)
        .args(["0.8", "--budget", "12", "--target", "fleet-time=40m"])
        .args(["--format", "json", "--out"])
        .arg(&dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["recommended"], true);
    let v = &doc["verifications"].as_array().unwrap().last().unwrap()[1];
    // 0.8 at 95 % takes 14 replicas, every one passing: 0.05^(1/14) = 0.807.
    assert_eq!(v["replicas_to_show"], 14);
    assert_eq!(v["passes"], 14);
    let start = doc["start_cost"]["total"].as_f64().unwrap();
    let cost = doc["configuration"]["cost"]["total"].as_f64().unwrap();
    assert!(cost <= start + 1e-9, "{cost} > {start}");
    // The scenario file it wrote, on streams neither the search nor the verification
    // used: the checklist and the target hold.
    let scenario = dir.join("recommended.yaml");
    assert!(dir.join("apply.sh").exists());
    let run = capsim()
        .args(["run", "--scenario"])
        .arg(&scenario)
        .args(["--seed", "77", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r: serde_json::Value = serde_json::from_slice(&run).unwrap();
    let fleet_time = r["fleet"]["time_to_ready_s"].as_f64().unwrap();
    assert!(fleet_time <= 40.0 * 60.0, "{fleet_time}");
    assert!(
        r["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["pass"] == true)
    );
}

#[test]
fn an_unreachable_target_names_the_closest_configuration_and_what_failed() {
    capsim()
        .args(FLEET)
        .args(["0.8", "--budget", "6", "--target", "fleet-time=1m"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "No configuration was shown to pass. The closest found",
        ))
        .stdout(predicate::str::contains(
            "failed: fleet time to ready ≤ target (0/3 passed)",
        ));
}

#[test]
fn bad_prices_and_targets_are_refused_by_name() {
    capsim()
        .args(FLEET)
        .args(["0.8", "--set", "prices.vcpu=-3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("prices.vcpu"))
        .stderr(predicate::str::contains("must be a price ≥ 0"));
    let dir = scratch("rec-prices");
    let file = dir.join("prices.yaml");
    std::fs::write(&file, "tier: small\nprices:\n  memory-gib: ~\n").unwrap();
    capsim()
        .args(FLEET)
        .args(["0.8", "--scenario"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("prices.memory-gib"));
    capsim()
        .args(FLEET)
        .args(["0.8", "--target", "fleet-speed=8h"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "fleet-speed: not a target; one of fleet-time, cluster-ready-p95",
        ));
    capsim()
        .args(FLEET)
        .args(["1.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--pass-rate 1.5"));
}
