//! The knobs an operator can change, each with its step (`presets/sensitivity.yaml`), and
//! the values one step down and one step up from a configuration's: what `capsim
//! sensitivity` runs beside the configuration itself.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::scenario::config::ModelConfig;
use crate::scenario::presets::Override;
use crate::units::{Bytes, parse_cores};

const STEPS_YAML: &str = include_str!("../../presets/sensitivity.yaml");

/// How one knob steps.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Divided and multiplied by this factor.
    Factor(f64),
    /// The neighbours in this list.
    Values(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    factor: Option<f64>,
    values: Option<Vec<String>>,
}

/// The stepped knobs by dotted path.
pub fn builtin() -> BTreeMap<String, Step> {
    parse(STEPS_YAML).expect("built-in presets/sensitivity.yaml is valid")
}

/// Reads steps in the format of `presets/sensitivity.yaml`.
pub fn parse(text: &str) -> Result<BTreeMap<String, Step>, String> {
    let entries: BTreeMap<String, Entry> = crate::scenario::presets::entries_by_knob(text)?;
    let mut out = BTreeMap::new();
    for (path, e) in entries {
        let step = match (e.factor, e.values) {
            (Some(f), None) if f > 1.0 && f.is_finite() => Step::Factor(f),
            (None, Some(v)) if v.len() >= 2 => Step::Values(v),
            _ => {
                return Err(format!(
                    "{path}: give factor: n (n > 1) or values: [a, b, ...] (two or more)"
                ));
            }
        };
        out.insert(path, step);
    }
    Ok(out)
}

/// The knob's value in `config`, as the configuration writes it (`null` if unset).
fn value_at(config: &ModelConfig, path: &str) -> Value {
    let v = serde_json::to_value(config).unwrap_or(Value::Null);
    v.pointer(&format!("/{}", path.replace('.', "/")))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The text of `v` for a `--set` (JSON is YAML).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// The knob's value in `config` as a `--set` would write it (`(unset)` if unset).
pub fn current(config: &ModelConfig, path: &str) -> String {
    match value_at(config, path) {
        Value::Null => "(unset)".into(),
        v => text(&v),
    }
}

/// `v` times `factor`: cores by their own units, everything else as the uncertainty
/// ranges scale values. `None` when it cannot be scaled (`unlimited`, a word).
fn times(path: &str, v: &Value, factor: f64) -> Option<Value> {
    if path.ends_with("cpu-limit") || path.ends_with("cpu-request") {
        let cores = match v {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => parse_cores(s).ok()?,
            _ => return None,
        };
        return Some(Value::from(cores * factor));
    }
    if matches!(v, Value::String(s) if s == "unlimited" || s == "off") {
        return None;
    }
    let mut out = v.clone();
    crate::scenario::uncertainty::scale(&mut out, factor).ok()?;
    Some(out)
}

/// The overrides one step down and one step up from `config`'s value of `path` (`None`
/// for a step that does not exist or gives the same value back).
pub fn neighbours(config: &ModelConfig, path: &str, step: &Step) -> [Option<Override>; 2] {
    let base = value_at(config, path);
    // A size written with its unit (8Gi) keeps it.
    let sized = matches!(&base, Value::String(s) if s.ends_with('i'));
    let over = |v: Option<Value>| {
        v.filter(|v| *v != base && !v.is_null()).map(|v| Override {
            key: path.to_string(),
            value: match v.as_f64() {
                Some(x) if sized => Bytes(x.round() as u64).to_string(),
                _ => text(&v),
            },
        })
    };
    match step {
        Step::Factor(f) => [
            over(times(path, &base, 1.0 / f)),
            over(times(path, &base, *f)),
        ],
        Step::Values(list) => {
            let at = list.iter().position(|x| *x == text(&base));
            let pick =
                |i: Option<usize>| i.and_then(|i| list.get(i)).map(|s| Value::from(s.as_str()));
            match at {
                Some(i) => [over(pick(i.checked_sub(1))), over(pick(Some(i + 1)))],
                None => [None, None],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::presets::{self, Tier};

    #[test]
    fn a_step_halves_and_doubles_or_moves_along_its_list() {
        let c = presets::resolve(Tier::Small, &[]).unwrap();
        let steps = builtin();
        let n = |p: &str| neighbours(&c, p, &steps[p]).map(|o| o.map(|o| o.value));
        assert_eq!(
            n("capx-controller-manager.nutanixmachine-concurrency"),
            [Some("5".into()), Some("20".into())]
        );
        assert_eq!(
            n("prism-central.size"),
            [Some("x-small".into()), Some("large".into())]
        );
        assert_eq!(
            n("etcd.quota-backend-bytes"),
            [Some("1Gi".into()), Some("4Gi".into())]
        );
        // One Prism Central has no half; a single shard neither.
        assert_eq!(n("prism-central.count"), [None, Some("2".into())]);
        assert_eq!(
            n("capi-controller-manager.cpu-limit"),
            [Some("1".into()), Some("4".into())]
        );
        // Every step of every tier resolves to a valid configuration or is left out.
        for tier in Tier::ALL {
            let c = presets::resolve(tier, &[]).unwrap();
            for (path, step) in &steps {
                for o in neighbours(&c, path, step).into_iter().flatten() {
                    assert!(
                        presets::resolve(tier, std::slice::from_ref(&o)).is_ok()
                            || path.starts_with("nodes."),
                        "{tier:?} {path}={}",
                        o.value
                    );
                }
            }
        }
    }

    #[test]
    fn bad_steps_are_refused() {
        assert!(
            parse("etcd.no-such: {factor: 2}")
                .unwrap_err()
                .contains("not a knob")
        );
        assert!(
            parse("etcd.disk: {values: [ssd]}")
                .unwrap_err()
                .contains("two or more")
        );
        assert!(parse("etcd.quota-backend-bytes: {factor: 1}").is_err());
    }
}
