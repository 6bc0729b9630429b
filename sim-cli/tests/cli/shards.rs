//! Issue 15, item 5: a sweep run as N shards (`--shard I/N`, each its own process) and
//! merged (`capsim merge`) writes the same CSV and JSON, byte for byte, as the sweep run
//! whole with the same seed; shards that do not make one sweep are refused.

use predicates::prelude::*;

use super::{capsim, scratch};

/// A grid small enough for seconds: 3 sizes × 2 values of a knob × 2 replicas.
const SWEEP: [&str; 14] = [
    "sweep",
    "--clusters",
    "2,3,4",
    "--replicas",
    "2",
    "--tier",
    "small",
    "--machines-per-cluster",
    "3",
    "--control-plane-replicas",
    "1",
    "--set",
    "capx-controller-manager.nutanixmachine-concurrency=5,10",
    "--seed=4",
];

const FILES: [&str; 3] = ["replicas.csv", "summary.csv", "summary.json"];

#[test]
fn shards_merged_write_what_the_whole_sweep_writes() {
    let base = scratch("shards-base");
    let whole = base.join("whole");
    capsim()
        .args(SWEEP)
        .arg("--out")
        .arg(&whole)
        .assert()
        .success();
    for n in 1..=3u32 {
        let dirs: Vec<_> = (0..n)
            .map(|i| base.join(format!("n{n}-shard{i}")))
            .collect();
        for (i, d) in dirs.iter().enumerate() {
            capsim()
                .args(SWEEP)
                .args(["--shard", &format!("{i}/{n}"), "--out"])
                .arg(d)
                .assert()
                .success()
                .stdout(predicate::str::contains(format!("Shard {i}/{n}:")));
        }
        // The shards split the 12 runs: each has some, none twice.
        let runs: Vec<u64> = dirs
            .iter()
            .map(|d| {
                let f: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(d.join("shard.json")).unwrap())
                        .unwrap();
                f["runs"].as_u64().unwrap()
            })
            .collect();
        assert_eq!(runs.iter().sum::<u64>(), 12, "{runs:?}");
        assert!(runs.iter().all(|&r| r > 0), "{runs:?}");
        let merged = base.join(format!("n{n}-merged"));
        capsim()
            .arg("merge")
            .args(&dirs)
            .arg("--out")
            .arg(&merged)
            .assert()
            .success();
        for f in FILES {
            let (a, b) = (
                std::fs::read(whole.join(f)).unwrap(),
                std::fs::read(merged.join(f)).unwrap(),
            );
            assert!(a == b, "{f} differs with {n} shards");
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn shards_that_do_not_make_one_sweep_are_refused() {
    let base = scratch("shards-bad");
    let (a, b) = (base.join("a"), base.join("b"));
    capsim()
        .args(SWEEP)
        .args(["--shard", "0/2", "--out"])
        .arg(&a)
        .assert()
        .success();
    // The other shard missing.
    capsim()
        .arg("merge")
        .arg(&a)
        .arg("--out")
        .arg(base.join("m1"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shards 1 of 2 are missing"));
    // A shard of another sweep (another seed).
    let mut other: Vec<&str> = SWEEP.to_vec();
    other[13] = "--seed=5";
    capsim()
        .args(&other)
        .args(["--shard", "1/2", "--out"])
        .arg(&b)
        .assert()
        .success();
    capsim()
        .arg("merge")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(base.join("m2"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a shard of another sweep"));
    // Not a shard at all; a bad --shard.
    capsim()
        .arg("merge")
        .arg(&base)
        .arg("--out")
        .arg(base.join("m3"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a shard's --out folder"));
    capsim()
        .args(SWEEP)
        .args(["--shard", "2/2", "--out"])
        .arg(base.join("c"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("I must be below N"));
    let _ = std::fs::remove_dir_all(&base);
}
