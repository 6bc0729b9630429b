//! The plausible ranges of the estimates (issue 19, item 6): every [I] knob has one, each
//! range reaches its knob, and a replica's configuration is the preset's with its draws.

use std::collections::BTreeSet;

use models::scenario::config::{Limit, ModelConfig};
use models::scenario::presets::{self, Tier};
use models::scenario::uncertainty::{Draws, Estimates, Spread, Uncertainty};

/// The dotted paths of the lines tagged `# [I]` in a preset file: the keys above a line,
/// by indentation, joined.
fn estimated_paths(yaml: &str) -> Vec<String> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out = Vec::new();
    for line in yaml.lines() {
        let body = line.split('#').next().unwrap_or("");
        let Some((key, _)) = body.split_once(':') else {
            continue;
        };
        if key.trim().is_empty() || key.trim_start().starts_with('-') {
            continue;
        }
        let indent = key.len() - key.trim_start().len();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key.trim().to_string()));
        if line.contains("# [I]") {
            out.push(
                stack
                    .iter()
                    .map(|(_, k)| k.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
            );
        }
    }
    out
}

#[test]
fn every_estimated_knob_of_the_presets_has_a_range() {
    let files = [
        include_str!("../presets/defaults.yaml"),
        include_str!("../presets/capi-1.13.yaml"),
        include_str!("../presets/small.yaml"),
        include_str!("../presets/medium.yaml"),
        include_str!("../presets/large.yaml"),
        include_str!("../presets/xl.yaml"),
        include_str!("../presets/extreme.yaml"),
    ];
    let mut tagged: BTreeSet<String> = files.iter().flat_map(|f| estimated_paths(f)).collect();
    // Estimates set in code rather than in a preset: Prism Central's task slots by size.
    assert!(
        include_str!("../src/prism_central.rs")
            .contains("Concurrent tasks the task engine runs [count]. An estimate")
    );
    tagged.insert("prism-central.max-concurrent-tasks".into());
    assert!(tagged.len() > 40, "the scan finds the tags: {tagged:?}");
    let ranged: BTreeSet<String> = Estimates::builtin()
        .0
        .iter()
        .map(|e| e.path.clone())
        .collect();
    let missing: Vec<_> = tagged.difference(&ranged).collect();
    assert!(missing.is_empty(), "[I] knobs without a range: {missing:?}");
    // Every range is of an estimate, or its entry says why it is there.
    let untagged: Vec<_> = ranged.difference(&tagged).collect();
    assert!(
        untagged.is_empty(),
        "ranges of knobs not tagged [I]: {untagged:?}"
    );
}

/// The configuration `apply` starts from: the preset's, its size's task slots written out.
fn written_out(c: &ModelConfig) -> ModelConfig {
    let mut c = c.clone();
    let pc = &mut c.prism_central;
    pc.max_concurrent_tasks = Some(Limit(Some(f64::from(pc.size.max_concurrent_tasks()))));
    c
}

fn uncertainty() -> Uncertainty {
    Uncertainty::new(Estimates::builtin(), 1, vec![3])
}

#[test]
fn no_draws_give_the_preset_back() {
    for tier in Tier::ALL {
        let c = presets::resolve(tier, &[]).unwrap();
        let back = uncertainty().apply(&c, &Draws::new()).unwrap();
        assert_eq!(back, written_out(&c), "{tier:?}");
        assert_eq!(back.prism_central.pc_config(), c.prism_central.pc_config());
    }
}

#[test]
fn every_range_reaches_its_knob_and_holds_at_both_ends_on_every_tier() {
    let u = uncertainty();
    for tier in Tier::ALL {
        let c = presets::resolve(tier, &[]).unwrap();
        u.check(&c).unwrap_or_else(|e| panic!("{tier:?}: {e}"));
        let base = written_out(&c);
        for e in u.estimates.varied() {
            let (lo, hi) = match e.spread {
                Spread::Range(lo, hi) | Spread::Scale(lo, hi) => (lo, hi),
                Spread::Hold => unreachable!(),
            };
            let at = |v: f64| u.apply(&c, &[(e.path.clone(), v)].into()).unwrap();
            // A range whose knob the configuration did not read back would leave it as is.
            assert_ne!(at(lo), at(hi), "{tier:?}: {} has no effect", e.path);
            assert!(at(lo) != base || at(hi) != base, "{}", e.path);
        }
    }
}

#[test]
fn a_scale_multiplies_every_number_of_its_value_and_a_range_sets_it() {
    let c = presets::resolve(Tier::Small, &[]).unwrap();
    let u = uncertainty();
    let draws: Draws = [
        ("costs.object-size".to_string(), 2.0),
        ("prism-central.vm-power-on".to_string(), 0.5),
        ("prism-central.max-concurrent-tasks".to_string(), 1.5),
        ("prism-central.load-slowdown".to_string(), 1.25),
        ("etcd.key-bytes".to_string(), 99.6),
        ("kube-apiserver.restart-delay".to_string(), 45.0),
    ]
    .into();
    let d = u.apply(&c, &draws).unwrap();
    let kinds = models::kinds::ObjKind::ALL;
    for k in kinds {
        assert_eq!(
            d.costs.object_size.of(k),
            2 * c.costs.object_size.of(k),
            "{k:?}"
        );
    }
    let halved = presets::resolve(
        Tier::Small,
        &["prism-central.vm-power-on={lognormal: {p50: 4, p95: 10}}"
            .parse()
            .unwrap()],
    )
    .unwrap();
    let after = d.prism_central.pc_config();
    assert_eq!(
        after.vm_power_on,
        halved.prism_central.pc_config().vm_power_on
    );
    // Small's 16 slots × 1.5.
    assert_eq!(after.max_concurrent_tasks, Some(24));
    assert_eq!(after.load_slowdown, 1.25);
    assert_eq!(d.etcd.key_bytes.0, 100);
    assert_eq!(d.kube_apiserver.restart_delay.0, 45.0);
}
