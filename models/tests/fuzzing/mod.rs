//! What the property tests over capsim's inputs share (issue 13, item 7): a fixed seed and
//! case count, so that a run is the same on every machine; a deadline that turns a hang
//! into a failure; the values most likely to break a parser; the example scenarios.
//!
//! Each test file uses some of these, not all.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// The longest one case may take before it counts as a hang [s]. A case takes a few
/// milliseconds; the margin is for a loaded machine.
const HANG_AFTER_SECS: u64 = 10;

/// A deterministic configuration: `cases` cases from a fixed seed, no files of failures
/// written (a failure found is kept as a plain unit test instead), and shrinking bounded
/// so that a failure is reported in seconds.
///
/// For a longer search on one machine, `CAPSIM_FUZZ_FACTOR=100` runs a hundred times the
/// cases and `CAPSIM_FUZZ_SEED=7` starts from another seed; CI sets neither.
pub fn config(cases: u32) -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let factor = env("CAPSIM_FUZZ_FACTOR").unwrap_or(1);
    Config {
        cases: u32::try_from(u64::from(cases) * factor).unwrap_or(u32::MAX),
        rng_seed: RngSeed::Fixed(env("CAPSIM_FUZZ_SEED").unwrap_or(13)),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    }
}

/// Runs `f` on its own thread and returns what it returns; a panic in it panics here with
/// its message, and a run longer than [`HANG_AFTER_SECS`] fails as a hang.
pub fn within_deadline<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        // The receiver is gone only if the deadline passed; then nothing waits for this.
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(HANG_AFTER_SECS)) {
        Ok(v) => {
            worker.join().expect("the worker sent its result");
            v
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no answer within {HANG_AFTER_SECS} s (a hang?)")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("{what}: panicked: {msg}")
            }
            Ok(()) => unreachable!("the worker sends before it returns"),
        },
    }
}

/// Values that break parsers: extremes, signs, NaN and infinities, wrong types, YAML's
/// own syntax (aliases, tags, flow collections), units that do not exist.
pub const HOSTILE_VALUES: &[&str] = &[
    "0",
    "-1",
    "-5",
    "1",
    "2",
    "3",
    "5",
    "10000",
    "10001",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "-9223372036854775809",
    "1e308",
    "1e309",
    "-1e309",
    "1e-320",
    "0.0000001",
    "-0.0",
    "0.5",
    "1.5",
    ".nan",
    ".NaN",
    "NaN",
    "nan",
    ".inf",
    "-.inf",
    "inf",
    "-inf",
    "0x7fffffff",
    "0o17",
    "1_000",
    "+5",
    "~",
    "null",
    "''",
    "\"\"",
    "true",
    "false",
    "yes",
    "off",
    "on",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "[[[[[[[[]]]]]]]]",
    "8Gi",
    "8Gb",
    "-8Gi",
    "1e20Gi",
    "18446744073709551616Ki",
    "0.1Mi",
    "1Ei",
    "100m",
    "0.4m",
    "0.0004",
    "1.0000000001",
    "123.456789us",
    "1e30",
    "1e30s",
    "-100m",
    "0m",
    "1e400m",
    "5m",
    "1h",
    "99999999999h",
    "-5m",
    "0s",
    "1ns",
    "1e30s",
    "2562047h47m16.854775807s",
    "ready",
    "window",
    "capx",
    "in-memory",
    "nvme-raid1",
    "x-large",
    "&a [*a, *a]",
    "*undefined",
    "!!binary aGVsbG8=",
    "!custom 5",
    "!!float 5",
    "!!int x",
    "{lognormal: {p50: 1e308, p95: 1e309}}",
    "{lognormal: {p50: 0, p95: 0}}",
    "{lognormal: {p50: -1, p95: 1}}",
    "{uniform: {min: -1, max: .nan}}",
    "{uniform: {min: 5, max: 1}}",
    "{normal: {mean: .inf, sd: 1}}",
    "{normal: {mean: 1, sd: -1}}",
    "{constant: -1}",
    "{constant: .nan}",
    "{constant: 1e309}",
    "\"\\u0000\"",
    "\"a\\nb: c\"",
    "'#'",
    "-",
    ":",
    "?",
    "|",
    ">",
    "%",
    "@",
    "`",
];

/// A hostile value, or a random short one.
pub fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(HOSTILE_VALUES).prop_map(String::from),
        1 => "[ -~]{0,12}",
        1 => any::<f64>().prop_map(|x| x.to_string()),
        1 => any::<i64>().prop_map(|x| x.to_string()),
    ]
}

/// A value nested `depth` levels deep in flow style: `[[[...]]]` or `{a: {a: ...}}`.
pub fn nested(depth: usize, mapping: bool) -> String {
    if mapping {
        format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth))
    } else {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }
}

/// A value nested `depth` levels deep in block style, starting on its own line at
/// `indent` spaces.
pub fn nested_block(depth: usize, indent: usize) -> String {
    let mut out = String::new();
    for level in 0..depth {
        out.push('\n');
        out.push_str(&" ".repeat(indent + 2 * level));
        out.push_str("- ");
    }
    out.push('1');
    out
}

/// The repository's example scenarios: name and text.
pub fn example_scenarios() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the scenarios folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable scenario");
            let name = p
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned();
            (name, text)
        })
        .collect()
}

/// Words the model's messages must not show: a library's internals or its advice.
pub const LIBRARY_WORDS: &[&str] = &[
    "DuplicateKeyPolicy",
    "Options",
    "Option<",
    "expected struct",
    "untagged enum",
    "expected u",
    "expected i",
    "expected f",
    "from_str",
    "budget breached",
    "weak recursion",
    "configured policy",
    "serde",
    "saphyr",
    "Value::",
    "panicked",
];

/// Whether a message holds any of [`LIBRARY_WORDS`].
pub fn library_word_in(msg: &str) -> Option<&'static str> {
    LIBRARY_WORDS.iter().copied().find(|w| msg.contains(w))
}
