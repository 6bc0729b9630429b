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
