//! Property tests of scenario parsing (issue 13, item 7): random YAML-like text and
//! mutations of the example scenarios (flipped bytes, truncations, inserted keys, hostile
//! values, deep nesting). Whatever the text, `load` answers within the deadline, without a
//! panic; an error names the file; a scenario it accepts is written out and reads back the
//! same.

mod fuzzing;

use std::sync::OnceLock;

use fuzzing::{config, hostile_value, nested, nested_block, within_deadline};
use models::scenario::{self, load, presets};
use proptest::prelude::*;

const FILE: &str = "fuzzed.yaml";

/// Loads `text` as [`FILE`] and checks the answer: an error names the file and no library
/// internals; a scenario reads back the same from what `to_yaml` writes.
fn check_load(text: String) {
    within_deadline("load", move || match load(FILE, &text, &[]) {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                e.source_name == FILE || e.source_name.starts_with(&format!("{FILE}:")),
                "the error does not name the file: {msg}\n--- text:\n{text}"
            );
            if let Some(w) = fuzzing::library_word_in(&msg) {
                panic!("the error shows the library's '{w}': {msg}\n--- text:\n{text}");
            }
        }
        Ok(s) => {
            s.after_ops();
            let written = scenario::to_yaml(&s);
            let back = load("resolved.yaml", &written, &[]).unwrap_or_else(|e| {
                panic!("accepted, but what it writes is refused: {e}\n--- text:\n{text}\n--- written:\n{written}")
            });
            assert!(
                back == s,
                "accepted, but it reads back otherwise\n--- text:\n{text}\n--- written:\n{written}"
            );
        }
    });
}

/// The words scenario files are made of: top-level keys, every segment of a knob's path,
/// operations, faults and their fields.
fn words() -> &'static [String] {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut w: Vec<String> = [
            "name",
            "description",
            "defaults",
            "tier",
            "workload",
            "faults",
            "topology",
            "management-clusters",
            "prism-centrals",
            "controller-shards",
            "resources",
            "limits",
            "requests",
            "cpu",
            "memory",
            "create",
            "scale",
            "upgrade",
            "steady",
            "delete",
            "fault",
            "clusters",
            "machines-per-cluster",
            "control-plane-replicas",
            "batch",
            "every",
            "wait",
            "at",
            "by",
            "wave",
            "max-surge",
            "max-unavailable",
            "duration",
            "version",
            "prism-central-outage",
            "etcd-disk-latency-spike",
            "controller-restart",
            "vm-create-failures",
            "machine-health-check",
            "node-failures",
            "node-startup-timeout",
            "unhealthy-timeout",
            "probability",
            "factor",
            "manager",
            "kubeadm-control-plane-controller",
            "capi-kubeadm-bootstrap-controller-manager",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        for path in presets::settable_paths() {
            w.extend(path.split('.').map(String::from));
        }
        w.sort();
        w.dedup();
        w
    })
}

fn word() -> impl Strategy<Value = String> {
    (0..words().len()).prop_map(|i| words()[i].clone())
}

/// One piece of YAML-like text.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => word(),
        3 => hostile_value(),
        2 => proptest::sample::select(&[
            ": ", ":", "\n", "\n  ", "\n    ", "- ", "{", "}", "[", "]", ", ", "#", "&a ",
            "*a", "---\n", "...\n", "? ", "|\n  ", ">\n  ", "'", "\"", "\t", "!!map ",
        ][..])
        .prop_map(String::from),
    ]
}

/// Text that looks like YAML: words, values and YAML's punctuation in random order.
fn yaml_like() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..60).prop_map(|t| t.concat())
}

/// Text that is a mapping of known keys to values, some nested: more of it gets past the
/// YAML parser to the model's own checks.
fn mapping_like() -> impl Strategy<Value = String> {
    let entry = (
        word(),
        prop::collection::vec((word(), hostile_value()), 0..4),
        hostile_value(),
    );
    prop::collection::vec(entry, 1..6).prop_map(|entries| {
        let mut out = String::new();
        for (key, children, value) in entries {
            if children.is_empty() {
                out.push_str(&format!("{key}: {value}\n"));
            } else {
                out.push_str(&format!("{key}:\n"));
                for (k, v) in children {
                    out.push_str(&format!("  {k}: {v}\n"));
                }
            }
        }
        out
    })
}

/// A change to a scenario's text.
#[derive(Clone, Debug)]
enum Mutation {
    /// XOR one byte (the text is then read as UTF-8, invalid bytes replaced).
    FlipByte { at: usize, xor: u8 },
    /// Cut the text there.
    Truncate { at: usize },
    /// Add `key: value` as a line, indented.
    InsertLine {
        at: usize,
        indent: usize,
        key: String,
        value: String,
    },
    /// Replace the value after the n-th `: ` (block or flow style).
    ReplaceValue { nth: usize, value: String },
    /// Replace the value after the n-th `: ` with one nested `depth` deep.
    Nest {
        nth: usize,
        depth: usize,
        mapping: bool,
        block: bool,
    },
    /// Write a line twice.
    DuplicateLine { at: usize },
    /// Remove a line.
    DeleteLine { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (any::<usize>(), 1..=255u8).prop_map(|(at, xor)| Mutation::FlipByte { at, xor }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        3 => (any::<usize>(), 0..4usize, word(), hostile_value()).prop_map(
            |(at, indent, key, value)| Mutation::InsertLine { at, indent: indent * 2, key, value }
        ),
        6 => (any::<usize>(), hostile_value())
            .prop_map(|(nth, value)| Mutation::ReplaceValue { nth, value }),
        1 => (any::<usize>(), prop_oneof![1..50usize, 100..3000usize], any::<bool>(), any::<bool>())
            .prop_map(|(nth, depth, mapping, block)| Mutation::Nest { nth, depth, mapping, block }),
        1 => any::<usize>().prop_map(|at| Mutation::DuplicateLine { at }),
        1 => any::<usize>().prop_map(|at| Mutation::DeleteLine { at }),
    ]
}

/// Where each value after `: ` starts and ends (at a line end, `,` or `}` outside quotes).
fn value_spans(text: &str) -> Vec<(usize, usize)> {
    text.match_indices(": ")
        .map(|(i, _)| {
            let start = i + 2;
            let len = text[start..]
                .find(['\n', ',', '}'])
                .unwrap_or(text.len() - start);
            (start, start + len)
        })
        .collect()
}

fn apply(text: &str, m: &Mutation) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let line_at = |at: usize| at % (lines.len() + 1);
    match m {
        Mutation::FlipByte { at, xor } => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= xor;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Mutation::Truncate { at } => {
            let mut i = at % (text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            text[..i].to_string()
        }
        Mutation::InsertLine {
            at,
            indent,
            key,
            value,
        } => {
            let i = line_at(*at);
            let line = format!("{}{key}: {value}\n", " ".repeat(*indent));
            let mut out: Vec<&str> = lines.clone();
            out.insert(i, &line);
            out.concat()
        }
        Mutation::ReplaceValue { nth, value } => replace_value(text, *nth, value),
        Mutation::Nest {
            nth,
            depth,
            mapping,
            block,
        } => {
            let value = if *block {
                nested_block(*depth, 2)
            } else {
                nested(*depth, *mapping)
            };
            replace_value(text, *nth, &value)
        }
        Mutation::DuplicateLine { at } | Mutation::DeleteLine { at } => {
            let mut out = lines.clone();
            if !out.is_empty() {
                let i = at % out.len();
                if matches!(m, Mutation::DuplicateLine { .. }) {
                    out.insert(i, lines[i]);
                } else {
                    out.remove(i);
                }
            }
            out.concat()
        }
    }
}

fn replace_value(text: &str, nth: usize, value: &str) -> String {
    let spans = value_spans(text);
    if spans.is_empty() {
        return text.to_string();
    }
    let (start, end) = spans[nth % spans.len()];
    format!("{}{value}{}", &text[..start], &text[end..])
}

fn example_and_mutations() -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    let n = fuzzing::example_scenarios().len();
    (0..n, prop::collection::vec(mutation(), 1..4))
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn yaml_like_text_loads_or_the_error_names_the_file(text in yaml_like()) {
        check_load(text);
    }

    #[test]
    fn a_mapping_of_known_keys_loads_or_the_error_names_the_file(text in mapping_like()) {
        check_load(text);
    }
}

proptest! {
    #![proptest_config(config(800))]

    #[test]
    fn a_mutated_example_loads_or_the_error_names_the_file(
        (which, mutations) in example_and_mutations()
    ) {
        let examples = fuzzing::example_scenarios();
        let mut text = examples[which].1.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        check_load(text);
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// Issue 13, item 6: whatever the name holds, `scenario check`'s output keeps it.
    #[test]
    fn any_name_reads_back(name in any::<String>()) {
        let text = format!("{}defaults: capi-1.12\n", scenario::yaml_line("name", &name));
        let s = load(FILE, &text, &[]).unwrap();
        prop_assert_eq!(s.name.as_deref(), Some(name.as_str()));
        check_load(scenario::to_yaml(&s));
    }
}

#[test]
fn every_example_scenario_loads_and_reads_back() {
    for (name, text) in fuzzing::example_scenarios() {
        load(&name, &text, &[]).unwrap_or_else(|e| panic!("{e}"));
        check_load(text);
    }
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    for depth in [10, 1_000, 100_000] {
        for mapping in [false, true] {
            check_load(format!("name: {}\n", nested(depth, mapping)));
            check_load(format!("etcd: {}\n", nested(depth, mapping)));
        }
        check_load(format!("workload:{}\n", nested_block(depth.min(5_000), 2)));
    }
}
