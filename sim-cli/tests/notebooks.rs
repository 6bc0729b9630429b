//! The notebooks in `notebooks/` run headless on their committed sample data (issue 15):
//! each executes top to bottom in a fresh Jupyter kernel (nbclient, through
//! `notebooks/run_all.py`), and a failing cell, its closing asserts among them, fails its
//! test with the cell's error. The committed files are not written: outputs stay in memory.
//!
//! The kernel runs in a virtual environment with `notebooks/requirements.txt`, made once
//! per test binary under cargo's scratch folder for integration tests
//! (`<target>/tmp/notebooks-venv`, which follows `CARGO_TARGET_DIR`) and reused while a
//! stamp file records the same requirements and base Python; otherwise it is recreated.
//! Making it needs `python3` (3.11 or newer, with its `venv` module) and PyPI, or a
//! configured mirror; where Python or its venv module is missing, the test installs
//! Debian's (`apt-get install -y python3 python3-venv`), as the browser test installs
//! chromium. Later runs need neither network nor changes.
//!
//! Also checked: every notebook has its test here, the committed notebooks carry no
//! outputs, and the sample data stays small.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The notebooks, each run by its own test below.
const NOTEBOOKS: [&str; 3] = [
    "calibrate-from-measurements.ipynb",
    "compare-designs.ipynb",
    "sweep-analysis.ipynb",
];

/// Largest file allowed under `notebooks/data/` [bytes]: samples, not archives.
const SAMPLE_FILE_MAX_BYTES: u64 = 100_000;

/// The oldest Python the pinned requirements install on (pandas 3 needs 3.11).
const PYTHON_MIN: (u32, u32) = (3, 11);

fn notebooks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../notebooks")
        .canonicalize()
        .expect("notebooks/ sits beside sim-cli/")
}

fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("notebooks-venv")
}

fn python_in(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Runs a command to its end; an error says what was run.
fn output(command: &mut Command) -> Result<Output, String> {
    command
        .output()
        .map_err(|e| format!("could not start {command:?}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The first of `python3`, `python` on PATH that is Python 3.11 or newer, with its
/// `--version` line.
fn find_python() -> Result<(String, String), String> {
    let mut seen = Vec::new();
    for name in ["python3", "python"] {
        let Ok(out) = Command::new(name).arg("--version").output() else {
            continue;
        };
        let version = text(&out.stdout).trim().to_owned() + text(&out.stderr).trim();
        let number = version.strip_prefix("Python ").unwrap_or("");
        let mut parts = number.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if out.status.success() && (major, minor) >= PYTHON_MIN {
            return Ok((name.to_owned(), version));
        }
        seen.push(format!("`{name}` is {version:?}"));
    }
    let found = if seen.is_empty() {
        "neither `python3` nor `python` is on PATH".to_owned()
    } else {
        seen.join(", ")
    };
    Err(format!(
        "the notebook tests need Python {}.{} or newer with its venv module: {found}. \
         Install it (Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install \
         python) and put python3 on PATH",
        PYTHON_MIN.0, PYTHON_MIN.1
    ))
}

/// Installs Debian's `packages` with apt-get (after `apt-get update` if the first try
/// fails), as the browser test installs chromium: `cargo test --workspace` on a machine
/// with only Rust needs nothing else. Whether it worked.
fn apt_install(packages: &[&str]) -> bool {
    let apt_get = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut install = vec!["install", "-y"];
    install.extend_from_slice(packages);
    apt_get(&install) || (apt_get(&["update"]) && apt_get(&install))
}

/// `python -m venv --clear venv`, installing Debian's python3-venv once if it fails.
fn venv_with(python: &str, venv: &Path) -> Result<std::process::Output, String> {
    let run = || {
        output(
            Command::new(python)
                .args(["-m", "venv", "--clear"])
                .arg(venv),
        )
    };
    let out = run()?;
    if out.status.success() || !apt_install(&["python3-venv"]) {
        return Ok(out);
    }
    run()
}

/// Makes (or reuses) the virtual environment and returns its Python.
fn make_venv() -> Result<PathBuf, String> {
    let requirements = notebooks_dir().join("requirements.txt");
    let pinned = fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    // No Python 3.11 on the machine: Debian's (3.11 in bookworm), installed here.
    let (python, version) = match find_python() {
        Ok(found) => found,
        Err(e) if apt_install(&["python3", "python3-venv"]) => find_python().map_err(|_| e)?,
        Err(e) => return Err(e),
    };
    let venv = venv_dir();
    let python_venv = python_in(&venv);
    let stamp = venv.join("capsim-requirements.stamp");
    let wanted = format!("{version}\n{pinned}");
    if python_venv.is_file() && fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python_venv);
    }

    // The stamp is written last, so an interrupted install is redone from scratch.
    let _ = fs::remove_file(&stamp);
    let out = venv_with(&python, &venv)?;
    if !out.status.success() {
        return Err(format!(
            "`{python} -m venv {}` failed (Debian/Ubuntu: apt-get install python3-venv):\n{}",
            venv.display(),
            text(&out.stderr)
        ));
    }
    let out = output(
        Command::new(&python_venv)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-q",
                "-r",
            ])
            .arg(&requirements),
    )?;
    if !out.status.success() {
        return Err(format!(
            "pip could not install {} into {} (it needs PyPI or a mirror set in pip's \
             configuration):\n{}",
            requirements.display(),
            venv.display(),
            text(&out.stderr)
        ));
    }
    fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(python_venv)
}

/// The venv's Python, made once for all the tests of this binary.
fn venv_python() -> &'static Path {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match VENV.get_or_init(make_venv) {
        Ok(python) => python,
        Err(why) => panic!("{why}"),
    }
}

/// Executes one notebook headless; panics with its failing cell's error.
fn execute(notebook: &str) {
    let python = venv_python();
    let dir = notebooks_dir();
    let before = fs::read(dir.join(notebook)).expect("the notebook is committed");
    let out = output(
        Command::new(python)
            .arg("run_all.py")
            .arg(notebook)
            .current_dir(&dir),
    )
    .unwrap_or_else(|why| panic!("{why}"));
    assert!(
        out.status.success(),
        "notebooks/{notebook} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stderr),
        text(&out.stdout)
    );
    let after = fs::read(dir.join(notebook)).expect("the notebook is still there");
    assert!(before == after, "running notebooks/{notebook} rewrote it");
}

#[test]
fn sweep_analysis_runs_and_its_checks_pass() {
    execute("sweep-analysis.ipynb");
}

#[test]
fn compare_designs_runs_and_its_checks_pass() {
    execute("compare-designs.ipynb");
}

#[test]
fn calibrate_from_measurements_runs_and_its_checks_pass() {
    execute("calibrate-from-measurements.ipynb");
}

#[test]
fn every_notebook_has_a_test() {
    let mut found: Vec<String> = fs::read_dir(notebooks_dir())
        .expect("notebooks/ is readable")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".ipynb"))
        .collect();
    found.sort();
    assert_eq!(
        found, NOTEBOOKS,
        "add a test (and an entry in NOTEBOOKS) for each notebook in notebooks/"
    );
}

#[test]
fn committed_notebooks_carry_no_outputs() {
    for notebook in NOTEBOOKS {
        let path = notebooks_dir().join(notebook);
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("readable"))
                .unwrap_or_else(|e| panic!("{notebook} is not JSON: {e}"));
        let cells = json["cells"].as_array().expect("a notebook has cells");
        for (i, cell) in cells.iter().enumerate() {
            if cell["cell_type"] != "code" {
                continue;
            }
            assert!(
                cell["outputs"].as_array().is_some_and(Vec::is_empty)
                    && cell["execution_count"].is_null(),
                "{notebook}, cell {i}: outputs committed; clear them \
                 (jupyter nbconvert --clear-output --inplace notebooks/{notebook})"
            );
        }
    }
}

#[test]
fn sample_data_stays_small() {
    let mut stack = vec![notebooks_dir().join("data")];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("notebooks/data is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = fs::metadata(&path).expect("a file").len();
            assert!(
                bytes <= SAMPLE_FILE_MAX_BYTES,
                "{} is {bytes} bytes, over {SAMPLE_FILE_MAX_BYTES}: keep the samples small",
                path.display()
            );
            files += 1;
        }
    }
    assert!(
        files > 0,
        "notebooks/data holds the notebooks' sample inputs"
    );
}
