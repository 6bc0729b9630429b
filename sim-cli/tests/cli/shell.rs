//! Issue 15, item 4: completions, the man page, the version with its commit, `--quiet`,
//! `sweep --format json`, and the provenance every output records.

use predicates::prelude::*;

use super::{capsim, scratch};

#[test]
fn completions_cover_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = capsim()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        for command in ["sweep", "recommend", "sensitivity", "until-slo-violation"] {
            assert!(text.contains(command), "{shell}: {command} missing");
        }
    }
    capsim()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values"));
}

#[test]
fn the_man_pages_are_roff_and_name_their_options() {
    capsim()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(".ie"))
        .stdout(predicate::str::contains(".TH capsim 1"))
        .stdout(predicate::str::contains("recommend"));
    capsim()
        .args(["man", "sweep"])
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH capsim-sweep 1"))
        .stdout(predicate::str::contains("until\\-slo\\-violation"));
    capsim()
        .args(["man", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "nope: not a command; one of run, sweep",
        ));
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let out = capsim()
        .arg("--version")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(commit) => assert_eq!(
            text.trim(),
            format!("capsim {} (commit {commit})", env!("CARGO_PKG_VERSION"))
        ),
        None => assert!(text.contains("(commit unknown)"), "{text}"),
    }
}

#[test]
fn quiet_leaves_stderr_to_errors() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/manifests.yaml");
    capsim()
        .args(["import", "--quiet"])
        .arg(&data)
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    capsim()
        .args(["-q", "run", "--clusters", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--clusters"));
}

#[test]
fn a_sweep_prints_its_summary_as_json_and_records_what_made_it() {
    let dir = scratch("shell");
    let out = capsim()
        .args([
            "sweep",
            "--clusters",
            "2,3",
            "--replicas",
            "2",
            "--tier",
            "small",
        ])
        .args([
            "--machines-per-cluster",
            "3",
            "--control-plane-replicas",
            "1",
        ])
        .args(["--seed", "9", "--format", "json", "--out"])
        .arg(&dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["points"].as_array().unwrap().len(), 2);
    assert_eq!(doc["provenance"]["seed"], 9);
    // The file holds the same summary, without the provenance, which sits beside it.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let mut printed = doc.clone();
    printed.as_object_mut().unwrap().remove("provenance");
    assert_eq!(printed, file);
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("provenance.json")).unwrap())
            .unwrap();
    assert_eq!(p["seed"], 9);
    assert!(p["capsim"].as_str().unwrap().starts_with("capsim "));
    assert!(
        p["command"]
            .as_str()
            .unwrap()
            .starts_with("capsim sweep --clusters 2,3")
    );
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("Made by capsim "), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reader_that_stops_reading_ends_capsim_quietly() {
    // `capsim run | head -1`: stdout closes while capsim still prints.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("capsim"))
        .args(["run", "--clusters", "2", "--machines-per-cluster", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}
