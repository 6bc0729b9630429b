//! Issue 13, item 4: every input file is read with a limit of 16 MiB. A larger file, an
//! endless one, or a directory is refused with exit status 2, an error that names the file
//! and the limit, and no output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use predicates::prelude::*;

use super::{capsim, scratch};

/// A file of `mib` MiB of zero bytes, sparse so that the test writes nothing.
fn sparse(dir: &Path, name: &str, mib: u64) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .set_len(mib << 20)
        .unwrap();
    path
}

/// Each command that reads a scenario file, with the file.
fn scenario_readers(file: &Path) -> Vec<Vec<String>> {
    let f = file.display().to_string();
    [
        vec!["scenario", "check", &f],
        vec!["run", "--scenario", &f],
        vec!["sweep", "--clusters", "10", "--scenario", &f],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect()
}

#[test]
fn an_endless_input_is_refused_at_the_limit() {
    let dev_zero = Path::new("/dev/zero");
    let mut commands = scenario_readers(dev_zero);
    commands.push(vec!["import".into(), "/dev/zero".into()]);
    for args in commands {
        capsim()
            .args(&args)
            .timeout(std::time::Duration::from_secs(20))
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(
                "/dev/zero: does not end within the limit of 16 MiB for a",
            ))
            .stderr(predicate::str::contains(
                "check that this is the file you meant",
            ));
    }
}

#[test]
fn an_endless_pipe_is_refused_at_the_limit() {
    let mut child = Process::new(env!("CARGO_BIN_EXE_capsim"))
        .args(["scenario", "check", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Writes until capsim stops reading and the pipe breaks.
    let writer = std::thread::spawn(move || {
        let block = vec![b'#'; 1 << 16];
        while stdin.write_all(&block).is_ok() {}
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/dev/stdin: does not end within the limit of 16 MiB for a scenario file"),
        "{stderr}"
    );
}

#[test]
fn a_file_over_the_limit_is_refused_by_its_size() {
    let dir = scratch("big-input");
    let big = sparse(&dir, "big.yaml", 17);
    let mut commands = scenario_readers(&big);
    commands.push(vec!["import".into(), big.display().to_string()]);
    for args in commands {
        capsim()
            .args(&args)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(
                "big.yaml: 17 MiB is over the limit of 16 MiB for a",
            ));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_manifests_of_one_import_share_the_limit() {
    let dir = scratch("import-total");
    sparse(&dir, "a.yaml", 9);
    sparse(&dir, "b.yaml", 9);
    capsim()
        .arg("import")
        .arg(&dir)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "b.yaml: 9 MiB is over the 7 MiB left of the limit of 16 MiB for all the \
             manifests of one command",
        ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_directory_given_as_a_scenario_file_is_refused() {
    let dir = scratch("dir-input");
    for args in scenario_readers(&dir) {
        capsim()
            .args(&args)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!(
                "{}: is a directory, not a scenario file",
                dir.display()
            )));
    }
    // In a folder given to import, a subfolder named like a manifest is refused too.
    std::fs::create_dir_all(dir.join("nested.yaml")).unwrap();
    capsim()
        .arg("import")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "nested.yaml: is a directory, not a manifest",
        ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_that_is_not_utf8_is_named() {
    let dir = scratch("binary-input");
    let bin = dir.join("bin.yaml");
    std::fs::write(&bin, b"name: a\n\xff\xfe").unwrap();
    capsim()
        .args(["scenario", "check"])
        .arg(&bin)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bin.yaml: not UTF-8 text (invalid at byte 8), so not a scenario file",
        ));
    std::fs::remove_dir_all(&dir).ok();
}
