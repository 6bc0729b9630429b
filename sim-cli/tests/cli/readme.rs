//! Issue 19, item 5: the README's sample outputs are pinned. A change that moves a figure
//! the README shows fails here, so the README is updated in the same commit.

use super::capsim;

/// The README, as committed.
fn readme() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(path).expect("README.md is readable")
}

/// The lines of the first ```text block after the line holding `after`.
fn sample_after(readme: &str, after: &str) -> Vec<String> {
    let start = readme.find(after).expect("the README shows the sample");
    readme[start..]
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a text block follows")
        .lines()
        .map(str::to_string)
        .collect()
}

/// What `capsim` prints to stdout with `args`.
fn stdout_of(args: &[&str]) -> Vec<String> {
    let out = capsim()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every line the README shows (but the "..." of an abridged table) is one that capsim
/// prints, word for word (an abridged table's columns may be narrower than the whole's).
fn assert_shown_lines_are_printed(shown: &[String], printed: &[String], what: &str) {
    let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let printed: Vec<Vec<String>> = printed.iter().map(|l| words(l)).collect();
    for line in shown.iter().filter(|l| l.trim() != "...") {
        assert!(
            printed.contains(&words(line)),
            "README's {what} shows a line capsim no longer prints (update the README):\n{line}"
        );
    }
}

#[test]
fn the_readme_run_sample_is_what_capsim_run_prints() {
    let shown = sample_after(&readme(), "`capsim run` prints:");
    assert!(shown.len() > 40, "the whole report is shown");
    let printed = stdout_of(&["run", "--clusters", "100"]);
    assert_shown_lines_are_printed(&shown, &printed, "`capsim run --clusters 100`");
}

/// A size's replicas are the same runs whatever the other sizes (common random numbers),
/// so a sweep of 100 and 200 reproduces the default sweep's first two rows.
#[test]
fn the_readme_sweep_rows_at_100_and_200_are_what_capsim_sweep_prints() {
    let shown = sample_after(&readme(), "The sweep prints a table per fleet size");
    let rows: Vec<String> = shown
        .iter()
        .filter(|l| {
            let c = l.split_whitespace().next().unwrap_or("");
            c == "100" || c == "200"
        })
        .cloned()
        .collect();
    assert_eq!(rows.len(), 2, "{shown:?}");
    let out = std::env::temp_dir().join(format!("capsim-readme-{}", std::process::id()));
    let printed = stdout_of(&[
        "sweep",
        "--clusters",
        "100,200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_shown_lines_are_printed(&rows, &printed, "default sweep");
    std::fs::remove_dir_all(&out).ok();
}

/// The README's other samples, each with the command it shows.
#[test]
fn the_readme_samples_of_one_vcpu_and_of_the_scale_test_are_what_capsim_prints() {
    let readme = readme();
    for (after, args) in [
        (
            "--set nodes.control-plane.vcpu=1",
            &[
                "run",
                "--clusters",
                "100",
                "--set",
                "nodes.control-plane.vcpu=1",
            ][..],
        ),
        (
            "--scenario scenarios/capi-scale-test-in-memory.yaml",
            &[
                "run",
                "--scenario",
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../scenarios/capi-scale-test-in-memory.yaml"
                ),
            ][..],
        ),
    ] {
        let shown = sample_after(&readme, after);
        assert!(shown.len() >= 4, "{after}: {shown:?}");
        assert_shown_lines_are_printed(&shown, &stdout_of(args), after);
    }
}
