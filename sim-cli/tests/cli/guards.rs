//! Issue 13, item 4 ("Guards"): bounds on simulated and wall-clock time, the memory
//! estimate before a run, and the progress line.

use predicates::prelude::*;

use super::capsim;

/// A run of one tiny cluster with `extra` arguments.
fn tiny_run(extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = capsim();
    cmd.args(["run", "--clusters", "1", "--machines-per-cluster", "2"])
        .args(["--control-plane-replicas", "1"])
        .args(extra);
    cmd
}

#[test]
fn max_time_is_bounded_at_30_days_for_run_and_sweep() {
    for cmd in ["run", "sweep"] {
        capsim()
            .args([cmd, "--clusters", "10", "--max-time", "1000000h"])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("--max-time"))
            .stderr(predicate::str::contains("'1000000h'"))
            .stderr(predicate::str::contains("from 1m to 720h (30 days)"));
    }
    tiny_run(&["--max-time", "721h"]).assert().code(2);
    tiny_run(&["--max-time", "720h", "--format", "json"])
        .assert()
        .success();
}

#[test]
fn steady_names_its_own_range() {
    tiny_run(&["--steady", "1000h"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--steady"))
        .stderr(predicate::str::contains("from 1m to 168h"));
}

#[test]
fn a_fleet_that_would_not_fit_in_memory_is_refused_before_the_run() {
    // The case, against a stated limit so that the test does not depend on the
    // machine: it used to abort with a backtrace allocating 14 GB.
    capsim()
        .args([
            "run",
            "--clusters",
            "100000",
            "--machines-per-cluster",
            "1000",
        ])
        .args(["--management-clusters", "1", "--memory-limit", "8Gi"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("this run would need about "))
        .stderr(predicate::str::contains(
            "(100000 clusters × 1000 machines on one management cluster)",
        ))
        .stderr(predicate::str::contains(
            "more than --memory-limit allows (8.0 GiB)",
        ))
        .stderr(predicate::str::contains("give --memory-limit "));
    tiny_run(&["--memory-limit", "1Gi", "--format", "json"])
        .assert()
        .success();
    tiny_run(&["--memory-limit", "lots"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--memory-limit"))
        .stderr(predicate::str::contains("e.g. 32Gi"));
}

#[test]
fn a_sweep_that_would_not_fit_in_memory_is_refused_before_its_outputs() {
    let out = std::env::temp_dir().join(format!("capsim-guards-{}", std::process::id()));
    capsim()
        .args(["sweep", "--clusters", "100,200", "--threads", "2"])
        .args(["--memory-limit", "10Mi", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("this sweep would need about "))
        .stderr(predicate::str::contains(
            "(2 management clusters simulated at once on 2 threads",
        ))
        .stderr(predicate::str::contains("lower --threads"));
    assert!(!out.exists(), "the sweep created {}", out.display());
}
