//! The model's layout as a specification (issue 10): each file imports only from its own
//! layer or the ones below it, no two files import each other in a circle, and no file
//! grows past the size at which a mechanism stops being findable by its file name.
//!
//! Layers, lowest first (docs/model.md, "Where things are"):
//! 0. the vocabulary: `kinds` (object kinds, controllers), `units`, `dist`;
//! 1. the components: `objects`, `recipe`, `apiserver`, `etcd`, `prism_central`,
//!    `prometheus`;
//! 2. `scenario`: every knob, presets, scenario files;
//! 3. `controllers` and `providers`: the reconciles;
//! 4. `world`: the wiring that runs them; `federation`: the hub above the management
//!    clusters, wired the same way;
//! 5. `run`: runs, sweeps and reports;
//! 6. `recommend`: the search for the cheapest passing configuration.
//!
//! The files of one module directory (`world/`, `controllers/`) may import their `mod.rs`
//! and be imported by it: the children add to the state the parent defines and the parent
//! holds their records or dispatches to them. That bond is the module itself. Any other
//! circle is an error: between directories, or between two children.

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

/// Module paths a file refers to: `crate::a::b`, `super::c`, `super::super::d`,
/// `self::e`, with `use` trees (`crate::{a, b::{c, D}}`) expanded.
fn references(file: &str) -> Vec<Vec<String>> {
    let here = module_of(file);
    // A `mod.rs` is its module; a leaf file's `super` is its parent.
    let parent: Vec<String> = here[..here.len().saturating_sub(1)].to_vec();
    let text = code_only(file);
    let mut out = Vec::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", parent),
        ("self::", here.clone()),
    ] {
        let mut at = 0;
        while let Some(i) = text[at..].find(prefix) {
            let start = at + i;
            at = start + prefix.len();
            let before = text[..start].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let chars: Vec<char> = text[at..].chars().collect();
            use_tree(&chars, &mut 0, base.clone(), &mut out);
        }
    }
    out
}

/// Reads one use tree (or a plain path) at `chars[*pos..]` below `prefix`, pushing every
/// leaf path to `out`.
fn use_tree(chars: &[char], pos: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let skip_ws = |pos: &mut usize| {
        while *pos < chars.len() && chars[*pos].is_whitespace() {
            *pos += 1;
        }
    };
    loop {
        skip_ws(pos);
        if *pos < chars.len() && chars[*pos] == '{' {
            *pos += 1;
            loop {
                use_tree(chars, pos, prefix.clone(), out);
                skip_ws(pos);
                match chars.get(*pos) {
                    Some(',') => *pos += 1,
                    Some('}') => {
                        *pos += 1;
                        return;
                    }
                    _ => return,
                }
                skip_ws(pos);
                if chars.get(*pos) == Some(&'}') {
                    *pos += 1;
                    return;
                }
            }
        }
        let ident: String = chars[*pos..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect();
        *pos += ident.chars().count();
        match ident.as_str() {
            "" | "self" => {}
            "super" => {
                prefix.pop();
            }
            _ => prefix.push(ident),
        }
        if chars.get(*pos) == Some(&':') && chars.get(*pos + 1) == Some(&':') {
            *pos += 2;
            continue;
        }
        // The rest of an item (`as X`, generics, a call) names no module.
        out.push(prefix);
        return;
    }
}

/// The layer of a file, by its top-level module.
fn layer(file: &str) -> usize {
    match module_of(file).first().map(String::as_str) {
        None => usize::MAX, // lib.rs declares every module
        Some("kinds" | "units" | "dist") => 0,
        Some("calibrate") => 5,
        Some(
            "objects" | "recipe" | "apiserver" | "etcd" | "prism_central" | "in_memory_cloud"
            | "prometheus",
        ) => 1,
        Some("scenario") => 2,
        Some("controllers" | "providers") => 3,
        Some("world" | "federation") => 4,
        Some("run") => 5,
        Some("recommend") => 6,
        Some(other) => panic!("{other}: a new top-level module needs its layer here"),
    }
}

/// The directory of a file (`world` for `world/requests.rs`, `` for `lib.rs`).
fn dir_of(f: &str) -> &str {
    f.rsplit_once('/').map_or("", |(d, _)| d)
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

/// The strongly connected components of `g` with more than one file (Tarjan).
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, f: &'a str) {
        let i = t.index.len();
        t.index.insert(f, i);
        t.low.insert(f, i);
        t.stack.push(f);
        t.on.insert(f);
        for d in &t.g[f] {
            let d = d.as_str();
            if !t.index.contains_key(d) {
                visit(t, d);
                let l = t.low[d].min(t.low[f]);
                t.low.insert(f, l);
            } else if t.on.contains(d) {
                let l = t.index[d].min(t.low[f]);
                t.low.insert(f, l);
            }
        }
        if t.low[f] == t.index[f] {
            let mut scc = Vec::new();
            while let Some(x) = t.stack.pop() {
                t.on.remove(x);
                scc.push(x.to_string());
                if x == f {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for f in g.keys() {
        if !t.index.contains_key(f.as_str()) {
            visit(&mut t, f);
        }
    }
    t.out
}

/// Whether a circle is one module's own bond: its files in one directory with that
/// directory's `mod.rs`, and no circle left among the children once `mod.rs` is out.
fn is_one_module(scc: &[String], g: &BTreeMap<String, BTreeSet<String>>) -> bool {
    let dir = dir_of(&scc[0]);
    let parent = format!("{dir}/mod.rs");
    if dir.is_empty() || !scc.iter().all(|f| dir_of(f) == dir) || !scc.contains(&parent) {
        return false;
    }
    let children: BTreeMap<String, BTreeSet<String>> = scc
        .iter()
        .filter(|f| **f != parent)
        .map(|f| {
            let deps = g[f]
                .iter()
                .filter(|d| scc.contains(d) && **d != parent)
                .cloned()
                .collect();
            (f.clone(), deps)
        })
        .collect();
    circles(&children).is_empty()
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let g = graph();
    let wrong: Vec<String> = circles(&g)
        .into_iter()
        .filter(|scc| !is_one_module(scc, &g))
        .map(|scc| scc.join(", "))
        .collect();
    assert!(wrong.is_empty(), "files in a circle:\n{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_imports_and_circles() {
    // The graph must see what the files say, or the tests above pass vacuously.
    let g = graph();
    assert!(g["world/requests.rs"].contains("world/attribution.rs"));
    assert!(g["world/reconciles.rs"].contains("providers/capx.rs"));
    assert!(g["controllers/machine_set.rs"].contains("recipe.rs"));
    assert!(g["controllers/machine_set.rs"].contains("controllers/mod.rs"));
    assert!(g["run/report/mod.rs"].contains("world/mod.rs"));
    assert_eq!(layer("world/commits.rs"), 4);
    // Use trees, `super::super` and nested groups resolve to their files.
    let mut out = Vec::new();
    let tree: Vec<char> = "{kinds::X, run::{report::{A, B}, sweep::Y}};"
        .chars()
        .collect();
    use_tree(&tree, &mut 0, Vec::new(), &mut out);
    let paths: Vec<String> = out.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "kinds::X",
            "run::report::A",
            "run::report::B",
            "run::sweep::Y"
        ]
    );
    let mut out = Vec::new();
    let up: Vec<char> = "super::run::report::R;".chars().collect();
    use_tree(&up, &mut 0, vec!["world".into(), "x".into()], &mut out);
    assert_eq!(out, [vec!["world", "run", "report", "R"]]);
    // A circle through two directories is not one module's bond.
    let toy: BTreeMap<String, BTreeSet<String>> = [
        ("a/mod.rs", vec!["b/x.rs"]),
        ("b/x.rs", vec!["a/y.rs"]),
        ("a/y.rs", vec!["a/mod.rs"]),
    ]
    .into_iter()
    .map(|(f, d)| (f.to_string(), d.into_iter().map(str::to_string).collect()))
    .collect();
    let found = circles(&toy);
    assert_eq!(found.len(), 1);
    assert!(!is_one_module(&found[0], &toy));
    let bond: BTreeMap<String, BTreeSet<String>> =
        [("a/mod.rs", vec!["a/y.rs"]), ("a/y.rs", vec!["a/mod.rs"])]
            .into_iter()
            .map(|(f, d)| (f.to_string(), d.into_iter().map(str::to_string).collect()))
            .collect();
    assert!(is_one_module(&circles(&bond)[0], &bond));
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
