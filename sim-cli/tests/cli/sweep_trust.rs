//! Issue 13: what a sweep claims and keeps. Its verdicts say no more than the replicas
//! show, it adds replicas only where a size is undecided, it loses no finished run to a
//! kill, and at the breaking point it shows and explains sizes that never got ready.

use predicates::prelude::*;

use super::capsim;

/// Issue 13: the verdict claims no more than the replicas show, and --fail-on-checklist
/// fails a size that is not shown to pass, refuted or undecided.
#[test]
fn sweep_fail_on_checklist_exits_1_unless_every_size_is_shown_to_pass() {
    let dir = std::env::temp_dir().join(format!("capsim-fail-on-{}", std::process::id()));
    let sweep = |threshold: &str, pass_rate: &str, flag: bool| {
        let mut c = capsim();
        c.args(["sweep", "--clusters", "2", "--replicas", "3"])
            .args([
                "--machines-per-cluster",
                "2",
                "--control-plane-replicas",
                "1",
            ])
            .args(["--set", &format!("thresholds.api-mutating-p99={threshold}")])
            .args(["--pass-rate", pass_rate])
            .arg("--out")
            .arg(&dir);
        if flag {
            c.arg("--fail-on-checklist");
        }
        c.assert()
    };
    // A 1 ms API target no run meets: 0 of 3 show a pass rate below 0.63, so below 0.9.
    sweep("1ms", "0.9", true)
        .code(1)
        .stdout(predicate::str::contains(
            "Fails at 2 clusters: 0/3 replicas passed",
        ));
    sweep("1ms", "0.9", false).success();
    // 3 of 3 show a pass rate ≥ 0.37 at 95 % confidence: enough for 0.3 ...
    sweep("1s", "0.3", true)
        .success()
        .stdout(predicate::str::contains("Checklist shown to pass"));
    // ... and not for 0.95: undecided, which a gate must not let through.
    sweep("1s", "0.95", true)
        .code(1)
        .stdout(predicate::str::contains("Undecided at 2 (3/3 each)"))
        .stdout(predicate::str::contains("--replicas 59"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 13: --max-replicas adds replicas, doubling, only while a size is undecided.
#[test]
fn a_grid_adds_replicas_only_where_a_size_is_undecided() {
    let dir = std::env::temp_dir().join(format!("capsim-adaptive-{}", std::process::id()));
    let replicas = |threshold: &str| {
        capsim()
            .args(["sweep", "--clusters", "2", "--replicas", "2"])
            .args(["--max-replicas", "8", "--pass-rate", "0.9"])
            .args([
                "--machines-per-cluster",
                "2",
                "--control-plane-replicas",
                "1",
            ])
            .args(["--set", &format!("thresholds.api-mutating-p99={threshold}")])
            .arg("--out")
            .arg(&dir)
            .assert()
            .success();
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        let p = &summary["points"][0];
        let csv = std::fs::read_to_string(dir.join("replicas.csv")).unwrap();
        assert_eq!(
            csv.lines().count() as u64,
            1 + p["replicas"].as_u64().unwrap()
        );
        (p["replicas"].as_u64().unwrap(), p["verdict"].clone())
    };
    // 0 of 2 already refute 0.9 (upper bound 1 − (0.05/3)^(1/2) ≈ 0.87): no more runs.
    assert_eq!(replicas("1ms"), (2, "fails".into()));
    // 8 of 8 show only ≈ 0.60 over three looks: undecided at the most allowed.
    assert_eq!(replicas("1s"), (8, "undecided".into()));
    std::fs::remove_dir_all(&dir).ok();
}

/// The search claims its answer by the grid's rule (issue 13): a grid with the same
/// replicas and looks reaches the same verdict there, and sees the failure above it. The
/// replicas that claim costs go to the answer alone; the other sizes get a probe.
#[test]
fn until_slo_violation_finds_a_breaking_point_that_a_grid_confirms() {
    let dir = std::env::temp_dir().join(format!("capsim-search-{}", std::process::id()));
    let common = [
        "--tier",
        "small",
        "--set",
        "capi-controller-manager.cpu-limit=20m",
        "--set",
        "capi-controller-manager.cpu-request=20m",
        "--machines-per-cluster",
        "4",
        "--pass-rate",
        "0.5",
    ];
    let sampling = ["--replicas", "2", "--max-replicas", "8"];
    capsim()
        .args(["sweep", "--clusters", "2..60", "--until-slo-violation"])
        .args(common)
        .args(sampling)
        .arg("--out")
        .arg(dir.join("search"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Largest fleet shown to pass the checklist (pass rate ≥ 0.5 at 95 % confidence)",
        ));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("search/search.json")).unwrap()).unwrap();
    let search = &doc["searches"][0];
    let good = search["passing"].as_u64().expect("a passing size");
    let bad = search["not_passing"].as_u64().expect("a size not passing");
    assert!(good < bad);
    let verdict_at = |c: u64| {
        search["evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["clusters"] == c)
            .unwrap()["verdict"]
            .clone()
    };
    assert_eq!(verdict_at(good), "passes");
    assert_ne!(verdict_at(bad), "passes");
    let replicas_at = |c: u64| {
        search["evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["clusters"] == c)
            .unwrap()["replicas"]
            .as_u64()
            .unwrap()
    };
    // 8 of 8 show 0.60 ≥ 0.5 over the three looks (2, 4, 8); the others are probes of 2.
    assert_eq!(replicas_at(good), 8);
    let probes = search["evaluated"].as_array().unwrap();
    assert!(
        probes
            .iter()
            .filter(|p| p["clusters"] != good)
            .all(|p| p["replicas"] == 2),
        "{probes:?}"
    );
    // A grid with the sampling of the search reaches the same verdict at the answer ...
    let grid = |size: u64, extra: &[&str]| {
        let out = dir.join(format!("grid-{size}"));
        capsim()
            .args(["sweep", "--clusters", &size.to_string()])
            .args(common)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        summary["points"][0].clone()
    };
    assert_eq!(grid(good, &sampling)["verdict"], "passes", "grid at {good}");
    // ... and, with the replicas the search gave it, sees the failure above it.
    let n = replicas_at(bad).to_string();
    let above = grid(bad, &["--replicas", &n, "--max-replicas", &n]);
    assert!(
        above["checklist_passes"].as_u64() < above["replicas"].as_u64(),
        "grid at {bad}: {above}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 13: a sweep killed part-way keeps every finished run in its checkpoint, and
/// `--resume` runs only the rest and writes what an uninterrupted sweep writes, byte for
/// byte.
#[test]
fn a_killed_sweep_resumes_to_the_outputs_of_one_never_interrupted() {
    let base = std::env::temp_dir().join(format!("capsim-resume-{}", std::process::id()));
    std::fs::remove_dir_all(&base).ok();
    let args = forty_runs;
    let whole = base.join("whole");
    capsim().args(args(&whole)).assert().success();
    assert!(
        !whole.join("checkpoint.jsonl").exists(),
        "removed when done"
    );
    // Kill a second sweep once a few runs are in its checkpoint.
    let cut = base.join("cut");
    let mut child = start_forty_runs(&cut, 3);
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = checkpoint_lines(&cut);
    assert!((3..40).contains(&kept), "killed part-way: {kept} runs kept");
    assert!(
        !cut.join("summary.csv").exists(),
        "no output before the end"
    );
    capsim()
        .args(args(&cut))
        .arg("--resume")
        .assert()
        .success()
        .stderr(predicate::str::contains("resuming:"));
    for f in [
        "replicas.csv",
        "summary.csv",
        "summary.json",
        "charts/fleet-time-to-ready.svg",
    ] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(cut.join(f)).unwrap(),
            "{f}"
        );
    }
    // Nothing to resume once done.
    capsim()
        .args(args(&cut))
        .arg("--resume")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no checkpoint to resume"));
    std::fs::remove_dir_all(&base).ok();
}

/// Issue 13: at the breaking point a size whose fleet never got ready is drawn as such,
/// its quantiles of no cluster are absent (not 0), the verdict says why the runs stopped,
/// and "Relieve with" follows the root cause (etcd full: its quota, not a client's QPS).
#[test]
fn a_size_stopped_by_a_full_etcd_is_charted_explained_and_relieved_at_its_cause() {
    let dir = std::env::temp_dir().join(format!("capsim-nospace-{}", std::process::id()));
    let out = capsim()
        .args([
            "sweep",
            "--clusters",
            "60",
            "--replicas",
            "1",
            "--tier",
            "medium",
        ])
        .args(["--set", "etcd.quota-backend-bytes=100Mi", "--out"])
        .arg(&dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("First to fail at 60: No etcd alarms triggered"),
        "{text}"
    );
    assert!(
        text.contains(
            "1/1 replicas ended with the fleet not ready: stopped 30 min after etcd's NOSPACE alarm"
        ),
        "{text}"
    );
    let relief = text
        .lines()
        .find(|l| l.starts_with("Relieve with"))
        .unwrap();
    assert!(relief.contains("etcd.quota-backend-bytes"), "{relief}");
    assert!(!relief.contains("kube-api-qps"), "{relief}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let figures = &summary["points"][0]["figures"];
    assert!(
        figures.get("cluster_ready_p50_s").is_none(),
        "no quantile of no cluster"
    );
    assert!(figures.get("stopped_not_ready_s").is_some());
    let svg = std::fs::read_to_string(dir.join("charts/fleet-time-to-ready.svg")).unwrap();
    assert!(
        svg.contains("1/1 not ready, stopped at"),
        "the size is drawn"
    );
    // The deepest queue, split into the checklist's watched queues and the others.
    let csv = std::fs::read_to_string(dir.join("replicas.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let col = |name: &str| -> f64 {
        row[header.iter().position(|h| *h == name).unwrap()]
            .parse()
            .unwrap()
    };
    assert_eq!(
        col("workqueue_depth_max"),
        col("workqueue_depth_max_watched").max(col("workqueue_depth_max_other"))
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The 40 small runs of the interruption tests, into `out`.
fn forty_runs(out: &std::path::Path) -> Vec<String> {
    [
        "sweep",
        "--clusters",
        "2..40",
        "--points",
        "10",
        "--replicas",
        "4",
        "--machines-per-cluster",
        "3",
        "--control-plane-replicas",
        "1",
        "--threads",
        "1",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([out.display().to_string()])
    .collect()
}

/// Runs in `out`'s checkpoint.
fn checkpoint_lines(out: &std::path::Path) -> usize {
    std::fs::read_to_string(out.join("checkpoint.jsonl")).map_or(0, |t| t.lines().count())
}

/// [`forty_runs`] started in the background, returned once `runs` are in its checkpoint.
fn start_forty_runs(out: &std::path::Path, runs: usize) -> std::process::Child {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("capsim"))
        .args(forty_runs(out))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while checkpoint_lines(out) < runs && start.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child
}

/// Issue 13: Ctrl-C stops a sweep cleanly (status 130): what finished stays in the
/// checkpoint, the message says how to resume, and no half-written output is left.
#[test]
fn ctrl_c_stops_a_sweep_keeping_its_finished_runs_and_saying_how_to_resume() {
    let out = std::env::temp_dir().join(format!("capsim-sigint-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let child = start_forty_runs(&out, 2);
    let lines = || checkpoint_lines(&out);
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("the sweep stopped by an interrupt (Ctrl-C)"),
        "{stderr}"
    );
    assert!(stderr.contains("--resume runs only the rest"), "{stderr}");
    assert!(lines() >= 2, "the finished runs are kept");
    assert!(
        !out.join("summary.csv").exists(),
        "no output of a partial sweep"
    );
    let scratch = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(".capsim-"));
    assert!(!scratch, "the staging folder is gone");
    std::fs::remove_dir_all(&out).ok();
}

/// Issue 13: --timeout bounds a sweep's wall-clock time; its finished runs are kept.
#[test]
fn a_sweep_stops_at_its_wall_clock_limit_and_keeps_what_finished() {
    let out = std::env::temp_dir().join(format!("capsim-sweep-timeout-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    capsim()
        .args(forty_runs(&out))
        .args(["--timeout", "1ms"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the sweep stopped after the wall-clock limit of 1ms",
        ))
        .stderr(predicate::str::contains("--resume"));
    assert!(out.join("checkpoint.jsonl").exists());
    std::fs::remove_dir_all(&out).ok();
}
