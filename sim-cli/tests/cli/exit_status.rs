//! Issue 13, item 6: every command's `--help` says what its exit codes mean.

use predicates::prelude::*;

use super::capsim;

/// Every command and subcommand, as typed after `capsim`.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["run"],
    &["sweep"],
    &["scenario"],
    &["scenario", "check"],
    &["scenario", "show"],
    &["import"],
    &["recommend"],
    &["completions"],
    &["man"],
    &["merge"],
    &["tiers"],
    &["validate"],
];

#[test]
fn every_commands_help_gives_its_exit_status() {
    for args in COMMANDS {
        capsim()
            .args(*args)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Exit status: 0 "));
    }
}
