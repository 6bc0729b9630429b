//! The knobs `capsim recommend` searches (`presets/recommend.yaml`) as settings of one
//! configuration: each knob's values in order of capacity, the configuration's own value
//! among them.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::scenario::config::ModelConfig;
use crate::scenario::presets::Override;
use crate::scenario::steps;
use crate::units::{Bytes, parse_bytes};

const SPACE_YAML: &str = include_str!("../../presets/recommend.yaml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    values: Vec<String>,
    #[serde(default)]
    also: BTreeMap<String, String>,
}

/// One value of a knob: what it is called and the overrides that set it.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The knob's value as a `--set` writes it.
    pub value: String,
    /// The overrides (none for the configuration's own value).
    pub sets: Vec<Override>,
}

/// One searched knob.
#[derive(Clone, Debug, PartialEq)]
pub struct Knob {
    /// Its dotted path.
    pub name: String,
    /// Its settings in order of capacity.
    pub settings: Vec<Setting>,
    /// The configuration's own setting.
    pub start: usize,
}

/// A value as a number to order by: a count, a size in bytes, `unlimited` as infinite;
/// `None` for a word (a class).
fn number(v: &str) -> Option<f64> {
    if v == "unlimited" {
        return Some(f64::INFINITY);
    }
    v.parse::<f64>()
        .ok()
        .or_else(|| parse_bytes(v).ok().map(|b| b as f64))
}

/// `v` as a `--set` writes it: whole numbers without a fraction.
fn tidy(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        _ => v.to_string(),
    }
}

/// The overrides `also` adds for `value`.
fn also(entry: &Entry, value: &str) -> Result<Vec<Override>, String> {
    let x = number(value).ok_or_else(|| format!("{value}: `also` needs a number"))?;
    entry
        .also
        .iter()
        .map(|(key, m)| {
            let v = match m.parse::<f64>() {
                Ok(f) => tidy(&(f * x).to_string()),
                Err(_) => {
                    let size = parse_bytes(m).map_err(|e| format!("also {key}: {m}: {e}"))?;
                    Bytes((size as f64 * x).round() as u64).to_string()
                }
            };
            Ok(Override {
                key: key.clone(),
                value: v,
            })
        })
        .collect()
}

/// The knobs of `text` (the format of `presets/recommend.yaml`) as settings of `config`,
/// and the knobs left out with why.
pub fn parse(text: &str, config: &ModelConfig) -> Result<(Vec<Knob>, Vec<String>), String> {
    let entries: BTreeMap<String, Entry> = crate::scenario::presets::entries_by_knob(text)?;
    // The file's order, which the output follows.
    let order: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(':'))
        .filter_map(|l| l.split(':').next())
        .collect();
    let mut knobs = Vec::new();
    let mut left_out = Vec::new();
    for name in order {
        let Some(entry) = entries.get(name) else {
            continue;
        };
        if entry.values.len() < 2 {
            return Err(format!("{name}: give two or more values"));
        }
        let current = steps::current(config, name);
        if current == "(unset)" {
            left_out.push(format!("{name}: not set in this configuration"));
            continue;
        }
        let mut values: Vec<String> = entry.values.iter().map(|v| tidy(v)).collect();
        let same = |a: &str, b: &str| match (number(a), number(b)) {
            (Some(x), Some(y)) => {
                x == y || (x.is_finite() && (x - y).abs() <= 1e-9 * x.abs().max(1.0))
            }
            _ => a == b,
        };
        let start = match values.iter().position(|v| same(v, &current)) {
            Some(i) => i,
            None => {
                let Some(x) = number(&current) else {
                    left_out.push(format!("{name}: {current} is not one of its values"));
                    continue;
                };
                let nums: Vec<f64> = values.iter().filter_map(|v| number(v)).collect();
                if nums.len() != values.len() {
                    return Err(format!("{name}: mixes numbers and words"));
                }
                let rising = nums[nums.len() - 1] > nums[0];
                let at = nums
                    .iter()
                    .position(|&n| if rising { n > x } else { n < x })
                    .unwrap_or(nums.len());
                values.insert(at, current.clone());
                at
            }
        };
        let mut settings = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let sets = if i == start {
                Vec::new()
            } else {
                let mut sets = vec![Override {
                    key: name.to_string(),
                    value: v.clone(),
                }];
                if !entry.also.is_empty() {
                    sets.extend(also(entry, v).map_err(|e| format!("{name}: {e}"))?);
                }
                sets
            };
            settings.push(Setting {
                value: if i == start {
                    current.clone()
                } else {
                    v.clone()
                },
                sets,
            });
        }
        knobs.push(Knob {
            name: name.to_string(),
            settings,
            start,
        });
    }
    Ok((knobs, left_out))
}

/// The built-in knobs as settings of `config`.
pub fn builtin(config: &ModelConfig) -> (Vec<Knob>, Vec<String>) {
    parse(SPACE_YAML, config).expect("built-in presets/recommend.yaml is valid")
}

/// The overrides of `point` (a setting per knob).
pub fn overrides(knobs: &[Knob], point: &[usize]) -> Vec<Override> {
    knobs
        .iter()
        .zip(point)
        .flat_map(|(k, &s)| k.settings[s].sets.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::presets::{self, Tier};

    #[test]
    fn each_tiers_own_values_are_among_its_settings_and_a_stacked_etcd_is_left_out() {
        for tier in Tier::ALL {
            let c = presets::resolve(tier, &[]).unwrap();
            let (knobs, left_out) = builtin(&c);
            for k in &knobs {
                assert_eq!(
                    k.settings[k.start].value,
                    steps::current(&c, &k.name),
                    "{tier:?} {}",
                    k.name
                );
                assert!(k.settings[k.start].sets.is_empty());
            }
            let stacked = c.nodes.etcd.is_none();
            assert_eq!(
                left_out.iter().any(|l| l.starts_with("nodes.etcd")),
                stacked,
                "{tier:?}: {left_out:?}"
            );
        }
        let xl = presets::resolve(Tier::Xl, &[]).unwrap();
        let (knobs, _) = builtin(&xl);
        let workers = knobs
            .iter()
            .find(|k| k.name == "nodes.workers.vcpu")
            .unwrap();
        assert_eq!(workers.settings[workers.start].value, "32");
        let down = &workers.settings[workers.start - 1];
        assert_eq!(down.value, "24");
        assert_eq!(down.sets[1].key, "nodes.workers.memory");
        assert_eq!(down.sets[1].value, "96Gi");
        // 10 workers is not listed between 8 and 12: it stays, in its place.
        let count = knobs
            .iter()
            .find(|k| k.name == "nodes.workers.count")
            .unwrap();
        assert_eq!(count.settings[count.start].value, "10");
        let mcs = knobs
            .iter()
            .find(|k| k.name == "topology.clusters-per-management-cluster")
            .unwrap();
        assert_eq!(mcs.settings[mcs.start].value, "600");
        assert_eq!(mcs.settings[mcs.start + 1].value, "500");
        let qps = knobs
            .iter()
            .find(|k| k.name == "capi-controller-manager.kube-api-qps")
            .unwrap();
        assert_eq!(qps.settings[qps.start + 1].sets[1].value, "400");
    }

    #[test]
    fn bad_knob_lists_are_refused() {
        let c = presets::resolve(Tier::Small, &[]).unwrap();
        assert!(
            parse("etcd.nope: {values: [1, 2]}", &c)
                .unwrap_err()
                .contains("not a knob")
        );
        assert!(
            parse("etcd.disk: {values: [ssd]}", &c)
                .unwrap_err()
                .contains("two or more")
        );
    }
}
