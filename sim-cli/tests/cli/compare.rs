//! Issue 14, item 3: `capsim compare` runs two designs on common random numbers and
//! reports each headline figure's paired difference with its interval.

use predicates::prelude::*;

use super::{capsim, scratch};

fn compare(extra: &[&str]) -> serde_json::Value {
    let out = capsim()
        .args([
            "compare",
            "--clusters",
            "3",
            "--tier",
            "small",
            "--replicas",
            "10",
        ])
        .args([
            "--machines-per-cluster",
            "3",
            "--control-plane-replicas",
            "1",
        ])
        .args(["--set", "capi-controller-manager.kube-api-qps=20,30"])
        .args(["--format", "json"])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn fleet_time(doc: &serde_json::Value) -> &serde_json::Value {
    let figures = doc["sizes"][0]["figures"].as_array().unwrap();
    &figures
        .iter()
        .find(|f| f[0] == "fleet_time_to_ready_s")
        .unwrap()[1]
}

/// Common random numbers make the two designs' replicas move together: on the same pair,
/// the paired interval of the fleet-time difference is narrower than Welch's interval
/// from independent streams, and both estimate the same difference.
#[test]
fn common_random_numbers_narrow_the_interval_of_a_difference() {
    let crn = compare(&[]);
    let ind = compare(&["--independent"]);
    assert_eq!(crn["common_random_numbers"], true);
    let (c, i) = (fleet_time(&crn), fleet_time(&ind));
    assert_eq!(
        (c["method"].as_str(), i["method"].as_str()),
        (Some("paired"), Some("welch"))
    );
    let width =
        |d: &serde_json::Value| d["ci_high"].as_f64().unwrap() - d["ci_low"].as_f64().unwrap();
    assert!(
        width(c) < width(i),
        "paired {} vs welch {}",
        width(c),
        width(i)
    );
    // A's replicas are the same runs in both.
    assert_eq!(c["mean_a"], i["mean_a"]);
}

#[test]
fn compare_needs_exactly_two_designs() {
    let bad = |args: &[&str], why: &str| {
        capsim()
            .args(["compare", "--clusters", "3"])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(why));
    };
    bad(&[], "give the two designs");
    bad(&["a.yaml"], "give two scenario files");
    bad(
        &["--set", "etcd.quota-backend-bytes=2Gi,4Gi,8Gi"],
        "compare takes two values (A,B), not 3",
    );
    bad(
        &[
            "--set",
            "etcd.quota-backend-bytes=2Gi,4Gi",
            "--confidence",
            "1.5",
        ],
        "--confidence 1.5",
    );
}

#[test]
fn with_a_range_of_sizes_compare_draws_both_curves() {
    let dir = scratch("compare-out");
    let base = [
        "compare",
        "--tier",
        "small",
        "--replicas",
        "2",
        "--machines-per-cluster",
        "3",
        "--control-plane-replicas",
        "1",
        "--set",
        "capi-controller-manager.kube-api-qps=20,30",
    ];
    capsim()
        .args(base)
        .args(["--clusters", "2,3", "--out"])
        .arg(&dir)
        .assert()
        .success();
    for f in [
        "compare-fleet-time-to-ready",
        "compare-checklist-worst-margin",
    ] {
        assert!(dir.join(format!("{f}.png")).exists(), "{f}.png");
        let svg = std::fs::read_to_string(dir.join(format!("{f}.svg"))).unwrap();
        assert!(
            svg.contains("A: capi-controller-manager.kube-api-qps=20"),
            "{f}"
        );
        assert!(
            svg.contains("B: capi-controller-manager.kube-api-qps=30"),
            "{f}"
        );
    }
    capsim()
        .args(base)
        .args(["--clusters", "2", "--out"])
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("two or more sizes"));
    let _ = std::fs::remove_dir_all(&dir);
}
