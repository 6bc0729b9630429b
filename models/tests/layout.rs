//! The model's layout as a specification (issue 10): each file imports only from its own
//! layer or the ones below it, no two files import each other in a circle, and no file
//! grows past the size at which a mechanism stops being findable by its file name.
//!
//! Layers, lowest first (docs/model.md, "Where things are"):
//! 0. `kinds`: the object kinds and controllers every layer names;
//! 1. the scenario and the components: `scenario`, `objects`, `recipe`, `apiserver`,
//!    `etcd`, `prism_central`;
//! 2. `controllers` and `providers`: the reconciles;
//! 3. `world`: the wiring that runs them;
//! 4. `run`: runs, sweeps and reports.
//!
//! The files of one module directory (`world/`, `run/report/`) add to the state their
//! `mod.rs` defines, which holds their records: those parent–child imports are the module
//! itself, not a circle between rooms. Every other circle is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest non-test part of a source file [lines] (the "about 800").
const MAX_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as paths relative to `src()` with `/` separators.
fn files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(src()).expect("under src");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The file's code, comments left out (a doc link to a higher layer is not an import).
fn code_only(file: &str) -> String {
    code(file)
        .lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The file's text before its unit tests.
fn code(file: &str) -> String {
    let text = std::fs::read_to_string(src().join(file)).expect("readable file");
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The module path of a file: `world/mod.rs` → `["world"]`, `world/requests.rs` →
/// `["world", "requests"]`, `lib.rs` → `[]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The file that defines module path `m`, or of its longest prefix that is a file.
fn file_of(m: &[String], known: &BTreeSet<String>) -> Option<String> {
    (1..=m.len()).rev().find_map(|n| {
        let base = m[..n].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .find(|f| known.contains(f))
    })
}

/// Module paths a file refers to: `crate::a::b`, `super::c`, `self::d`, with `use`
/// groups (`crate::a::{b, c::D}`) expanded one level.
fn references(file: &str) -> Vec<Vec<String>> {
    let here = module_of(file);
    // A `mod.rs` is its module; a leaf file's `super` is its parent.
    let parent: Vec<String> = if file.ends_with("mod.rs") || file == "lib.rs" {
        here[..here.len().saturating_sub(1)].to_vec()
    } else {
        here[..here.len() - 1].to_vec()
    };
    let text = code_only(file);
    let mut out = Vec::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", parent),
        ("self::", here.clone()),
    ] {
        let mut rest = text.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
                .collect();
            let (head, group) = match path.find("::{") {
                Some(g) => (&path[..g], Some(&rest[g + 3..])),
                None => (path.as_str(), None),
            };
            let mut m = base.clone();
            m.extend(
                head.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            match group {
                Some(g) => {
                    let inner = &g[..g.find('}').unwrap_or(g.len())];
                    for item in inner.split(',') {
                        let first = item.trim().split("::").next().unwrap_or("");
                        let mut mm = m.clone();
                        if !first.is_empty() && first != "self" {
                            mm.push(first.to_string());
                        }
                        out.push(mm);
                    }
                }
                None => out.push(m),
            }
        }
    }
    out
}

/// The layer of a file, by its top-level module.
fn layer(file: &str) -> usize {
    match module_of(file).first().map(String::as_str) {
        None => usize::MAX, // lib.rs declares every module
        Some("kinds") => 0,
        Some("scenario" | "objects" | "recipe" | "apiserver" | "etcd" | "prism_central") => 1,
        Some("controllers" | "providers") => 2,
        Some("world") => 3,
        Some("run") => 4,
        Some(other) => panic!("{other}: a new top-level module needs its layer here"),
    }
}

/// Whether `a` is `b`'s `mod.rs` or `b` is `a`'s (one module directory).
fn parent_and_child(a: &str, b: &str) -> bool {
    let dir = |f: &str| {
        f.rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string())
    };
    (a.ends_with("/mod.rs") && dir(a) == dir(b)) || (b.ends_with("/mod.rs") && dir(b) == dir(a))
}

/// The file-level import graph of the models crate.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let known: BTreeSet<String> = all.iter().cloned().collect();
    all.iter()
        .map(|f| {
            let deps = references(f)
                .iter()
                .filter_map(|m| file_of(m, &known))
                .filter(|d| d != f)
                .collect();
            (f.clone(), deps)
        })
        .collect()
}

#[test]
fn every_file_imports_only_from_its_layer_or_below() {
    let mut wrong = Vec::new();
    for (file, deps) in graph() {
        for dep in deps {
            if layer(&dep) > layer(&file) {
                wrong.push(format!(
                    "{file} (layer {}) imports {dep} (layer {})",
                    layer(&file),
                    layer(&dep)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layer order:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let g = graph();
    // Depth-first search for a back edge, skipping a module's own parent–child bonds.
    fn visit(
        f: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(f.to_string(), 1);
        stack.push(f.to_string());
        for d in &g[f] {
            if parent_and_child(f, d) {
                continue;
            }
            match state.get(d.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == d).expect("on the stack");
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(d, g, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(f.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for f in g.keys() {
        if !state.contains_key(f.as_str()) {
            let cycle = visit(f, &g, &mut state, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "files in a circle: {}",
                cycle.unwrap_or_default().join(" → ")
            );
        }
    }
}

#[test]
fn the_checker_sees_imports_and_circles() {
    // The graph must see what the files say, or the two tests above pass vacuously.
    let g = graph();
    assert!(g["world/requests.rs"].contains("world/attribution.rs"));
    assert!(g["world/reconciles.rs"].contains("providers/capx.rs"));
    assert!(g["controllers/machine_set.rs"].contains("recipe.rs"));
    assert!(g["controllers/machine_set.rs"].contains("controllers/mod.rs"));
    assert!(g["run/report/mod.rs"].contains("world/mod.rs"));
    assert_eq!(layer("world/commits.rs"), 3);
    assert!(parent_and_child("world/mod.rs", "world/commits.rs"));
    assert!(!parent_and_child("world/mod.rs", "run/mod.rs"));
}

#[test]
fn no_file_is_longer_than_800_lines_outside_its_tests() {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let long: Vec<String> = all
        .iter()
        .map(|f| (f, code(f).lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(f, n)| format!("{f}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "split these by mechanism:\n{}",
        long.join("\n")
    );
}
