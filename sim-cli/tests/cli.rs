//! End-to-end tests of the `capsim` binary: one integration test binary for the CLI.

use assert_cmd::Command;
use predicates::prelude::*;

#[path = "cli/calibrate.rs"]
mod calibrate;
#[path = "cli/charts.rs"]
mod charts;
#[path = "cli/compare.rs"]
mod compare;
#[path = "cli/exit_status.rs"]
mod exit_status;
#[path = "cli/guards.rs"]
mod guards;
#[path = "cli/input_limits.rs"]
mod input_limits;
#[path = "cli/readme.rs"]
mod readme;
#[path = "cli/recommend.rs"]
mod recommend;
#[path = "cli/round_trip.rs"]
mod round_trip;
#[path = "cli/run.rs"]
mod run;
#[path = "cli/sensitivity.rs"]
mod sensitivity;
#[path = "cli/shards.rs"]
mod shards;
#[path = "cli/shell.rs"]
mod shell;
#[path = "cli/sweep_trust.rs"]
mod sweep_trust;
#[path = "cli/uncertainty.rs"]
mod uncertainty;

/// A fresh, empty folder under the system's temporary one, named after the test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("capsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn capsim() -> Command {
    Command::cargo_bin("capsim").expect("the capsim binary is built")
}

/// A CSV line's fields (quoted fields may hold commas).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Issue 2: `capsim validate` passes every check, and `--json` gives the same as JSON.
#[test]
fn validate_json_reports_every_check_passing() {
    let out = capsim()
        .args([
            "validate",
            "--replicas",
            "8",
            "--customers",
            "30000",
            "--seed",
            "3",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["passed"], true);
    let checks = doc["checks"].as_array().expect("checks is a list");
    assert_eq!(checks.len(), 10);
    for check in checks {
        assert_eq!(check["pass"], true, "{check}");
        for field in [
            "id",
            "name",
            "simulated",
            "analytic",
            "rel_error",
            "unit",
            "criterion",
        ] {
            assert!(!check[field].is_null(), "{field} missing in {check}");
        }
    }
}

#[test]
fn validate_prints_a_table_and_a_verdict() {
    capsim()
        .args([
            "validate",
            "--replicas",
            "4",
            "--customers",
            "20000",
            "--threads",
            "2",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("rel. error"))
        .stdout(predicate::str::contains("Erlang C"))
        .stdout(predicate::str::contains("All 10 checks pass."));
}

#[test]
fn validate_rejects_out_of_range_replicas_with_the_allowed_range() {
    capsim()
        .args(["validate", "--replicas", "1"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--replicas"))
        .stderr(predicate::str::contains("2..=10000"));
}

#[test]
fn help_shows_examples() {
    capsim()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("capsim validate"));
    capsim()
        .args(["validate", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("capsim validate --json"));
}

#[test]
fn a_sweep_whose_outputs_cannot_be_written_is_refused_before_any_run() {
    // A regular file as --out: the sweep stops at once, before its runs (no table), and
    // says why; a directory that does not exist yet is created.
    let dir = std::env::temp_dir().join(format!("capsim-out-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    capsim()
        .args(["sweep", "--clusters", "2..4", "--replicas", "1", "--out"])
        .arg(&file)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("exists and is not a directory"));
    let fresh = dir.join("new/nested");
    capsim()
        .args([
            "sweep",
            "--clusters",
            "2",
            "--replicas",
            "1",
            "--machines-per-cluster",
            "2",
        ])
        .args(["--control-plane-replicas", "1", "--out"])
        .arg(&fresh)
        .assert()
        .success();
    assert!(fresh.join("summary.json").is_file());
    assert!(!fresh.join(".capsim-write-check").exists());
}

/// Issue 4 (first slice): scenario files.
#[test]
fn scenario_check_prints_the_resolved_scenario_and_it_reads_back() {
    let out = capsim()
        .args(["scenario", "check"])
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../scenarios/guide-medium-batches.yaml"),
        )
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("nutanixmachine-concurrency: 50"), "{text}");
    assert!(text.contains("quota-backend-bytes: 4Gi"), "{text}");
    let dir = std::env::temp_dir().join(format!("capsim-scn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let resolved = dir.join("resolved.yaml");
    std::fs::write(&resolved, &text).unwrap();
    let again = capsim()
        .args(["scenario", "check"])
        .arg(&resolved)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        text,
        "resolve → write → read gives the same"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn scenario_errors_name_file_line_field_and_suggest() {
    let dir = std::env::temp_dir().join(format!("capsim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "tier: medium\ncapx-controller-manager:\n  nutanixmachine-concurency: 50\n",
    )
    .unwrap();
    capsim()
        .args(["scenario", "check"])
        .arg(&bad)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "bad.yaml:3: capx-controller-manager.nutanixmachine-concurency = 50",
        ))
        .stderr(predicate::str::contains(
            "did you mean capx-controller-manager.nutanixmachine-concurrency",
        ));
    capsim()
        .args(["run", "--scenario"])
        .arg(dir.join("missing.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "missing.yaml: cannot read the scenario file",
        ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_example_scenario_runs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            // Shrunk to a few clusters: the file's knobs and workload shape are what is tested.
            capsim()
                .args(["run", "--format", "json", "--clusters", "4", "--scenario"])
                .arg(&path)
                .assert()
                .success();
            n += 1;
        }
    }
    assert!(n >= 1);
}

#[test]
fn the_xl_tier_splits_the_fleet_into_management_clusters_of_at_most_600() {
    let out = capsim()
        .args(["run", "--clusters", "1201", "--machines-per-cluster", "1"])
        .args(["--control-plane-replicas", "1", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parts = v["management_clusters"].as_array().expect("an array");
    let sizes: Vec<u64> = parts
        .iter()
        .map(|p| p["fleet"]["clusters"].as_u64().unwrap())
        .collect();
    // ⌈1201 / 600⌉ = 3 management clusters, as even as possible.
    assert_eq!(sizes, vec![401, 400, 400]);
    assert_eq!(v["fleet"]["clusters"], 1201);
}

#[test]
fn tiers_lists_the_five_tiers() {
    capsim()
        .arg("tiers")
        .assert()
        .success()
        .stdout(predicate::str::contains("small"))
        .stdout(predicate::str::contains("extreme"))
        .stdout(predicate::str::contains("2001+"))
        .stdout(predicate::str::contains("≤ 600"));
    capsim()
        .args(["scenario", "show", "--tier", "large"])
        .assert()
        .success()
        .stdout(predicate::str::contains("tier: large"))
        .stdout(predicate::str::contains("quota-backend-bytes: 8Gi"));
}

#[test]
fn import_turns_manifests_into_a_scenario_and_lists_ignored_flags() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/manifests.yaml");
    let out = capsim()
        .arg("import")
        .arg(&data)
        .assert()
        .success()
        .stderr(predicate::str::contains("ignored"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("#   Deployment/capi-controller-manager: --leader-elect"),
        "{text}"
    );
    assert!(text.contains("machine-concurrency: 100"), "{text}");
    assert!(text.contains("nutanixmachine-concurrency: 30"), "{text}");
    // Nothing importable is an error, not an empty scenario.
    let dir = std::env::temp_dir().join(format!("capsim-imp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let other = dir.join("svc.yaml");
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
    )
    .unwrap();
    capsim()
        .arg("import")
        .arg(&other)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("nothing to import"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 5 (first slice): `capsim sweep`.
#[test]
fn sweep_output_is_identical_on_one_and_two_threads() {
    let base = std::env::temp_dir().join(format!("capsim-sweep-{}", std::process::id()));
    let mut csvs = Vec::new();
    for threads in ["1", "2"] {
        let dir = base.join(threads);
        capsim()
            .args([
                "sweep",
                "--clusters",
                "2,5",
                "--replicas",
                "2",
                "--machines-per-cluster",
                "4",
            ])
            .args(["--threads", threads, "--out"])
            .arg(&dir)
            .assert()
            .success()
            .stdout(predicate::str::contains("verdict"));
        let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
        csvs.push((
            read("replicas.csv"),
            read("summary.csv"),
            read("summary.json"),
        ));
    }
    assert_eq!(csvs[0], csvs[1]);
    let summary: serde_json::Value = serde_json::from_slice(&csvs[0].2).unwrap();
    assert_eq!(summary["schema_version"], 3);
    assert_eq!(summary["points"].as_array().unwrap().len(), 2);
    let replicas = String::from_utf8(csvs[0].0.clone()).unwrap();
    assert_eq!(
        replicas.lines().count(),
        1 + 2 * 2,
        "a header and one row per point and replica"
    );
    std::fs::remove_dir_all(&base).ok();
}

#[test]
fn a_knob_with_several_values_is_a_sweep_axis_with_one_line_per_value() {
    let dir = std::env::temp_dir().join(format!("capsim-knob-{}", std::process::id()));
    let key = "capx-controller-manager.nutanixmachine-concurrency";
    capsim()
        .args(["sweep", "--clusters", "2,4", "--replicas", "1"])
        .args(["--machines-per-cluster", "4", "--tier", "small"])
        .args(["--set", &format!("{key}=1,20"), "--out"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "With nutanixmachine-concurrency=1:",
        ))
        .stdout(predicate::str::contains(
            "With nutanixmachine-concurrency=20:",
        ));
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines = summary.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("clusters,{key},replicas,"))
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "2 values × 2 sizes");
    assert!(
        rows[0].starts_with("2,1,") && rows[3].starts_with("4,20,"),
        "{rows:?}"
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let time = |i: usize| {
        doc["points"][i]["figures"]["fleet_time_to_ready_s"]["p50"]
            .as_f64()
            .unwrap()
    };
    // One CAPX worker serialises every VM create of the fleet; twenty do not.
    assert!(
        time(1) > 1.5 * time(3),
        "concurrency 1: {}, 20: {}",
        time(1),
        time(3)
    );
    let svg = std::fs::read_to_string(dir.join("charts/fleet-time-to-ready.svg")).unwrap();
    assert!(
        svg.contains("\nnutanixmachine-concurrency=1\n")
            && svg.contains("\nnutanixmachine-concurrency=20\n"),
        "a legend entry per value"
    );
    assert!(
        dir.join("charts/checklist-heatmap-2.svg").exists(),
        "one heat map per value"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sweep_rejects_bad_ranges() {
    for (axis, says) in [
        ("2000..100", "backwards"),
        ("0..10", "start at 1"),
        ("", "empty"),
        ("a..b", "not a whole number"),
    ] {
        capsim()
            .args(["sweep", "--clusters", axis])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn sweep_draws_png_and_svg_charts_with_axis_labels() {
    let dir = std::env::temp_dir().join(format!("capsim-charts-{}", std::process::id()));
    capsim()
        .args([
            "sweep",
            "--clusters",
            "2,4",
            "--replicas",
            "2",
            "--machines-per-cluster",
            "4",
            "--out",
        ])
        .arg(&dir)
        .assert()
        .success();
    for name in [
        "fleet-time-to-ready",
        "api-mutating-p99",
        "etcd-size",
        "workqueue-depth",
        "reconcile-p99",
        "vm-create-p95",
        "controller-cpu",
        "controller-memory",
        "waiting-by-resource",
        "checklist-heatmap",
    ] {
        let png = std::fs::read(dir.join("charts").join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png is a PNG");
        let svg = std::fs::read_to_string(dir.join("charts").join(format!("{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{name}.svg is an SVG");
        assert!(
            svg.contains("fleet size [workload clusters]"),
            "{name}.svg has its x axis label"
        );
    }
    let svg = std::fs::read_to_string(dir.join("charts/api-mutating-p99.svg")).unwrap();
    assert!(
        svg.contains("latency p99 [ms]") && svg.contains("checklist: &lt; 1s"),
        "labels and threshold"
    );
    // Issue 19: two replicas have no p5 or p95 worth the name; the band is their range.
    assert!(svg.contains("range of 2 runs") && !svg.contains("p5–p95"));
    let svg = std::fs::read_to_string(dir.join("charts/waiting-by-resource.svg")).unwrap();
    assert!(
        svg.contains("waiting per machine [min]") && svg.contains("prism-central"),
        "stacked waiting: axis and a resource in the legend"
    );
    let svg = std::fs::read_to_string(dir.join("charts/checklist-heatmap.svg")).unwrap();
    assert!(
        svg.contains("No OOM kills") && svg.contains("\n2/2\n"),
        "heat map: an item as a row label and a cell's replicas passed"
    );
    // The reports: Markdown linking the charts, HTML with them inlined and nothing external.
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("## Verdict") && md.contains("](charts/fleet-time-to-ready.svg)"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.matches("<svg").count() >= 5, "charts inlined");
    for external in [
        "src=", "href=", "http:", "https:", "<link", "@import", "url(",
    ] {
        assert!(
            !html.contains(external),
            "report.html refers outside itself: {external}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 11: with the background mechanisms switched off (the ClusterCache, and with it
/// its health probes and remote Node watches; KCP's per-reconcile reads; the topology
/// controller's dry-run applies; the uncached Secret and ConfigMap GETs; the API server's
/// event rings and watchers and etcd's key index and raft log in memory; per-controller
/// CPU costs; the managers' Secret caches; the control-plane nodes' shared CPU; APF's
/// fair queuing, borrowing between levels, watchers' seats and LIST seats by stored
/// objects), `capsim run
/// --clusters 100` gives value for value what it gave before they existed, the fields
/// added since aside (the file is that
/// output, from commit 4e2203a, regenerated once when CAPX's watches were corrected to
/// v1.10.3's `SetupWithManager`: the NutanixCluster reconcile the Cluster's
/// infrastructure-provisioned transition now brings sends one more credential Secret
/// PUT per cluster, and the changed interleaving two more lock ConfigMap requests; and
/// again when the first control-plane machine's KubeadmConfig stopped requeueing for a
/// token refresh it does not do, as in CAPI), so each mechanism's effect can be shown
/// alone.
#[test]
fn without_the_background_mechanisms_a_run_is_what_it_was_before_them() {
    let out = capsim()
        .args(["run", "--clusters", "100", "--format", "json"])
        .args(["--set", "cluster-cache.enabled=false"])
        .args(["--set", "workload-clusters.kcp-checks=false"])
        .args(["--set", "cluster-topology.dry-run-applies=false"])
        .args(["--set", "manager-cache.uncached-secret-reads=false"])
        .args(["--set", "kube-apiserver.watch-cache-event-window=0s"])
        .args(["--set", "kube-apiserver.memory-per-watch=0"])
        .args(["--set", "kube-apiserver.list-memory-per-byte=0"])
        .args(["--set", "nodes.memory-kills=false"])
        .args(["--set", "etcd.index-bytes-per-key=0"])
        .args(["--set", "etcd.key-bytes=0"])
        .args(["--set", "etcd.index-bytes-per-revision=0"])
        .args(["--set", "etcd.snapshot-count=0"])
        .args(["--set", "costs.cpu-model=flat"])
        .args(["--set", "manager-cache.cached-secrets=false"])
        .args(["--set", "nodes.cpu-sharing=false"])
        .args(["--set", "kube-apiserver.apf-fair-queuing=false"])
        .args(["--set", "kube-apiserver.apf-borrowing=false"])
        .args(["--set", "kube-apiserver.apf-watcher-seats=false"])
        .args(["--set", "kube-apiserver.apf-list-stored-count=false"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let before = include_str!("data/run-100-before-the-cluster-cache.json");
    // Every value the same (numbers to the last digit as printed), but for the fields
    // added since: the phase timings, the bill of materials, the alerts and the
    // provenance.
    let mut now: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(now.as_object_mut().unwrap().remove("provenance").is_some());
    assert!(now.as_object_mut().unwrap().remove("phases").is_some());
    assert!(now.as_object_mut().unwrap().remove("bom").is_some());
    assert!(now.as_object_mut().unwrap().remove("alerts").is_some());
    let before: serde_json::Value = serde_json::from_str(before).unwrap();
    assert!(
        now == before,
        "the run differs from the one before the ClusterCache"
    );
}

/// Issue 12: a sweep of a scenario sweeps that scenario. Each point replaces only the
/// first create's cluster count; its batches, machines per cluster and control-plane
/// replicas hold, so the sweep's point is the run of the same scenario.
#[test]
fn a_sweep_of_a_scenario_keeps_its_creates_shape_and_batches() {
    let dir = std::env::temp_dir().join(format!("capsim-sweep-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("batches.yaml");
    std::fs::write(
        &file,
        "tier: small\nworkload:\n  - create: {clusters: 4, machines-per-cluster: 2, \
         control-plane-replicas: 1, batch: 2, every: 10m}\n",
    )
    .unwrap();
    let run = capsim()
        .args(["run", "--format", "json", "--scenario"])
        .arg(&file)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let run: serde_json::Value = serde_json::from_slice(&run).unwrap();
    let out = dir.join("sweep");
    capsim()
        .args(["sweep", "--clusters", "4", "--replicas", "1", "--scenario"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let csv = std::fs::read_to_string(out.join("replicas.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    // The second batch is applied 10 minutes in: the fleet takes longer than that.
    let fleet: f64 = col("fleet_time_to_ready_s").parse().unwrap();
    assert!(fleet > 600.0, "{fleet}");
    assert_eq!(fleet, run["fleet"]["time_to_ready_s"].as_f64().unwrap());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("2 machines per cluster, 1 of them control plane"),
        "{report}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
