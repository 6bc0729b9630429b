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

#[test]
fn a_run_past_its_wall_clock_limit_stops_says_so_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("capsim-timeout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let timeline = dir.join("t.csv");
    // 300 clusters take seconds; 1 ms has passed by the run's first check, between steps.
    capsim()
        .args(["run", "--clusters", "300", "--timeout", "1ms", "--timeline"])
        .arg(&timeline)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::is_match(
                "the run stopped after the wall-clock limit of 1ms at simulated time \
             [0-9hms]+ of 24h00m00s; raise --timeout or lower --max-time \\(no report or \
             timeline was written\\)",
            )
            .unwrap(),
        );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    std::fs::remove_dir_all(&dir).ok();
    for bad in ["0s", "soon"] {
        tiny_run(&["--timeout", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--timeout"));
    }
    // A limit the run stays within changes nothing but the command it records.
    let report = |extra: &[&str]| {
        let out = tiny_run(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let mut doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let p = doc.as_object_mut().unwrap().remove("provenance").unwrap();
        (doc, p["command"].as_str().unwrap().to_string())
    };
    let (plain, _) = report(&["--format", "json"]);
    let (limited, command) = report(&["--format", "json", "--timeout", "10m"]);
    assert_eq!(plain, limited);
    assert!(command.ends_with("--timeout 10m"), "{command}");
}

#[test]
fn a_run_prints_no_progress_when_stderr_is_not_a_terminal() {
    tiny_run(&["--format", "json"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}
