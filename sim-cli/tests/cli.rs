//! End-to-end tests of the `capsim` binary: one integration test binary for the CLI.

use assert_cmd::Command;
use predicates::prelude::*;

fn capsim() -> Command {
    Command::cargo_bin("capsim").expect("the capsim binary is built")
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
