//! Issue 13, item 6: what `capsim scenario check` and `capsim import` write reads back to
//! the same scenario, whatever its name holds.

use super::capsim;

/// A name with every character YAML would read otherwise: a line break, `: `, `#`, quotes
/// and a leading `-`.
const NAME: &str = "- first line\nsecond: line # not a comment, 'single' \"double\"";

fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

#[test]
fn scenario_check_writes_a_name_that_reads_back() {
    let dir = std::env::temp_dir().join(format!("capsim-name-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("named.yaml");
    let quoted = serde_json::to_string(NAME).unwrap();
    std::fs::write(
        &file,
        format!("name: {quoted}\nworkload:\n  - create: {{clusters: 5}}\n"),
    )
    .unwrap();
    let written = stdout_of(capsim().args(["scenario", "check"]).arg(&file));
    let original =
        models::scenario::load("named.yaml", &std::fs::read_to_string(&file).unwrap(), &[])
            .unwrap();
    let back = models::scenario::load("written.yaml", &written, &[]).unwrap();
    assert_eq!(back.name.as_deref(), Some(NAME), "{written}");
    assert_eq!(back, original, "{written}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn import_writes_a_name_that_reads_back() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/manifests.yaml");
    let written = stdout_of(
        capsim()
            .arg("import")
            .arg(&data)
            .arg(format!("--name={NAME}")),
    );
    let back = models::scenario::load("imported.yaml", &written, &[]).unwrap();
    assert_eq!(back.name.as_deref(), Some(NAME), "{written}");
}
