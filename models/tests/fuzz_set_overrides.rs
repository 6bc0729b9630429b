//! Property tests of `--set KEY=VALUE` (issue 13, item 7): parsing any argument, and
//! applying hostile values to every knob, of a tier or over an example scenario. No panic,
//! no hang; an error names the `--set` and its key; what `scenario check --set` writes reads
//! back the same without the `--set`.

mod fuzzing;

use std::sync::OnceLock;

use fuzzing::{config, hostile_value, within_deadline};
use models::scenario::presets::{self, Override, Tier};
use models::scenario::{self, load};
use proptest::prelude::*;

fn paths() -> &'static [String] {
    static PATHS: OnceLock<Vec<String>> = OnceLock::new();
    PATHS.get_or_init(presets::settable_paths)
}

/// A knob's path, most often a real one, sometimes misspelt or cut.
fn key() -> impl Strategy<Value = String> {
    let real = (0..paths().len()).prop_map(|i| paths()[i].clone());
    prop_oneof![
        8 => real.clone(),
        1 => (real.clone(), any::<usize>()).prop_map(|(p, at)| {
            let cut = at % (p.len() + 1);
            p.chars().take(cut).collect()
        }),
        1 => (real, "[a-z.-]{0,3}").prop_map(|(p, extra)| format!("{p}{extra}")),
    ]
}

/// `--set` arguments as a user might type them, and some as no one would.
fn set_argument() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (key(), hostile_value()).prop_map(|(k, v)| format!("{k}={v}")),
        2 => (key(), prop::collection::vec(hostile_value(), 2..4))
            .prop_map(|(k, vs)| format!("{k}={}", vs.join(","))),
        1 => any::<String>(),
        1 => "[ -~]{0,20}",
    ]
}

/// The `--set`s parsed from `args`, each list of values split into one `--set` per value
/// (as a sweep applies them); arguments that do not parse are left out.
fn overrides(args: &[String]) -> Vec<Override> {
    args.iter()
        .filter_map(|a| a.parse::<Override>().ok())
        .flat_map(|o| {
            o.values().into_iter().map(move |value| Override {
                key: o.key.clone(),
                value,
            })
        })
        .collect()
}

/// An error caused by `sets` names `--set` and the key of one of them.
fn assert_names_a_set(msg: &str, source: &str, sets: &[Override]) {
    assert!(
        source.starts_with("--set") && sets.iter().any(|o| msg.contains(&o.key)),
        "the error does not name the --set that caused it: {msg}\n--- sets: {sets:?}"
    );
    if let Some(w) = fuzzing::library_word_in(msg) {
        panic!("the error shows the library's '{w}': {msg}\n--- sets: {sets:?}");
    }
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn any_set_argument_parses_or_is_refused_naming_it(arg in set_argument()) {
        match arg.parse::<Override>() {
            Ok(o) => {
                prop_assert!(!o.key.is_empty() && !o.value.is_empty());
                prop_assert!(!o.values().is_empty());
            }
            Err(msg) => prop_assert!(msg.contains(&arg), "{msg}"),
        }
    }

    #[test]
    fn a_set_on_a_tier_applies_or_the_error_names_its_key(
        tier in 0..Tier::ALL.len(),
        args in prop::collection::vec(set_argument(), 1..4),
    ) {
        let sets = overrides(&args);
        within_deadline("resolve", move || {
            if let Err(e) = presets::resolve(Tier::ALL[tier], &sets) {
                assert_names_a_set(&e.to_string(), &e.source_name, &sets);
            }
        });
    }

    #[test]
    fn a_set_over_a_scenario_applies_and_reads_back_or_names_its_key(
        which in 0..fuzzing::example_scenarios().len(),
        args in prop::collection::vec(set_argument(), 1..4),
    ) {
        let sets = overrides(&args);
        let (name, text) = fuzzing::example_scenarios().swap_remove(which);
        within_deadline("load", move || match load(&name, &text, &sets) {
            Err(e) => assert_names_a_set(&e.to_string(), &e.source_name, &sets),
            Ok(s) => {
                // `scenario check --set ... > resolved.yaml` keeps what the --set did.
                let written = scenario::to_yaml(&s);
                let back = load("resolved.yaml", &written, &[]).unwrap_or_else(|e| {
                    panic!("accepted, but what it writes is refused: {e}\n--- sets: {sets:?}")
                });
                assert!(back == s, "it reads back otherwise\n--- sets: {sets:?}\n{written}");
            }
        });
    }
}
