//! The uncertainty of the estimates: every knob tagged [I] in the presets has a plausible
//! range in `presets/uncertainty.yaml`, and `capsim sweep --uncertainty` draws each varied
//! knob per replica and applies the draws to the replica's configuration, so that a pass
//! rate carries the uncertainty of the estimates as well as Monte Carlo noise.
//!
//! The draws are a Latin hypercube over each look's replicas: a sweep's first look of n
//! replicas splits every knob's range into n equal strata and puts one replica in each, in
//! an order shuffled per knob; each later look (the replicas an undecided size adds) is a
//! hypercube of its own. Replica r draws the same values at every fleet size.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::scenario::config::{ConfigError, Limit, ModelConfig};
use crate::units::{parse_bytes, parse_secs};

const UNCERTAINTY_YAML: &str = include_str!("../../presets/uncertainty.yaml");

/// How one estimate may vary.
#[derive(Clone, Debug, PartialEq)]
pub enum Spread {
    /// Not varied (a setting the operator chooses, or a reading of code).
    Hold,
    /// The value itself, uniform in [lo, hi].
    Range(f64, f64),
    /// Every number of the value times one factor, log-uniform in [lo, hi].
    Scale(f64, f64),
}

/// One estimated knob and its plausible range.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The knob's dotted path.
    pub path: String,
    /// How it varies.
    pub spread: Spread,
    /// The reasoning behind the range (or why it is held).
    pub why: String,
}

impl Estimate {
    /// The range as the user reads it: `×0.5–2`, `0.25–0.9`, or `held`.
    pub fn range_text(&self) -> String {
        match self.spread {
            Spread::Hold => "held".into(),
            Spread::Range(lo, hi) => format!("{lo}–{hi}"),
            Spread::Scale(lo, hi) => format!("×{lo}–{hi}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    scale: Option<[f64; 2]>,
    range: Option<[f64; 2]>,
    hold: Option<String>,
    why: Option<String>,
}

/// The estimates with their ranges, sorted by path.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimates(pub Vec<Estimate>);

impl Estimates {
    /// The built-in ranges (`presets/uncertainty.yaml`).
    pub fn builtin() -> Estimates {
        Estimates::parse(UNCERTAINTY_YAML).expect("built-in presets/uncertainty.yaml is valid")
    }

    /// Reads ranges in the format of `presets/uncertainty.yaml`.
    pub fn parse(text: &str) -> Result<Estimates, String> {
        let entries: BTreeMap<String, Entry> = crate::scenario::presets::entries_by_knob(text)?;
        let mut out = Vec::new();
        for (path, e) in entries {
            let why = |w: Option<String>| w.filter(|w| !w.trim().is_empty());
            let (spread, why) = match (e.scale, e.range, e.hold) {
                (Some([lo, hi]), None, None) if lo > 0.0 && lo <= hi && hi.is_finite() => {
                    (Spread::Scale(lo, hi), why(e.why))
                }
                (None, Some([lo, hi]), None) if lo >= 0.0 && lo <= hi && hi.is_finite() => {
                    (Spread::Range(lo, hi), why(e.why))
                }
                (None, None, Some(reason)) if e.why.is_none() => (Spread::Hold, why(Some(reason))),
                _ => {
                    return Err(format!(
                        "{path}: give one of scale: [lo, hi] (0 < lo ≤ hi), range: [lo, hi] \
                         (0 ≤ lo ≤ hi) with a why, or hold: reason"
                    ));
                }
            };
            let why = why.ok_or_else(|| format!("{path}: the range needs its reasoning (why)"))?;
            out.push(Estimate { path, spread, why });
        }
        Ok(Estimates(out))
    }

    /// These ranges with `narrowed`'s in place of theirs (a calibration's), and its
    /// knobs that had none added; sorted by path.
    pub fn calibrated(&self, narrowed: &Estimates) -> Estimates {
        let mut out: Vec<Estimate> = self
            .0
            .iter()
            .filter(|e| !narrowed.0.iter().any(|n| n.path == e.path))
            .cloned()
            .collect();
        out.extend(narrowed.0.iter().cloned());
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Estimates(out)
    }

    /// The ranges as the block `key:` of a YAML file, in `presets/uncertainty.yaml`'s
    /// format (empty when there are none).
    pub fn to_yaml(&self, key: &str) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let mut out = format!("{key}:\n");
        for e in &self.0 {
            let why = serde_json::to_string(&e.why).expect("a string serialises");
            let entry = match e.spread {
                Spread::Hold => format!("{{hold: {why}}}"),
                Spread::Range(lo, hi) => format!("{{range: [{lo}, {hi}], why: {why}}}"),
                Spread::Scale(lo, hi) => format!("{{scale: [{lo}, {hi}], why: {why}}}"),
            };
            out.push_str(&format!("  {}: {entry}\n", e.path));
        }
        out
    }

    /// The estimates that vary.
    pub fn varied(&self) -> impl Iterator<Item = &Estimate> {
        self.0.iter().filter(|e| e.spread != Spread::Hold)
    }
}

/// The estimates drawn per replica of one sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Uncertainty {
    /// The ranges.
    pub estimates: Estimates,
    /// The sweep's master seed.
    pub seed: u64,
    /// Replicas after each look (the hypercubes' ends): `[3, 6, 12]` makes hypercubes of
    /// replicas 0–2, 3–5 and 6–11; each replica after the last is drawn on its own.
    pub looks: Vec<u64>,
}

/// One replica's draws: per varied knob, its value (a range) or factor (a scale).
pub type Draws = BTreeMap<String, f64>;

/// SplitMix64's output function: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) from `key`.
fn unit(key: u64) -> f64 {
    (mix(key) >> 11) as f64 / (1u64 << 53) as f64
}

impl Uncertainty {
    /// The ranges of `estimates` drawn under `seed` in hypercubes ending at `looks`.
    pub fn new(estimates: Estimates, seed: u64, looks: Vec<u64>) -> Self {
        Uncertainty {
            estimates,
            seed,
            looks,
        }
    }

    /// The hypercube of `replica`: its index, first replica and size.
    fn cube(&self, replica: u64) -> (u64, u64, u64) {
        let mut start = 0;
        for (i, &end) in self.looks.iter().enumerate() {
            if replica < end {
                return (i as u64, start, end - start);
            }
            start = end;
        }
        (self.looks.len() as u64 + replica - start, replica, 1)
    }

    /// The stratum of `replica` among the `size` of its hypercube for knob `knob`: a
    /// Fisher–Yates shuffle of 0..size keyed by (seed, cube, knob).
    fn stratum(&self, cube: u64, knob: u64, size: u64, at: u64) -> u64 {
        let key = mix(self.seed ^ mix(cube ^ mix(knob)));
        let mut order: Vec<u64> = (0..size).collect();
        for i in (1..size as usize).rev() {
            let j = (unit(key ^ mix(i as u64)) * (i + 1) as f64) as usize;
            order.swap(i, j.min(i));
        }
        order[at as usize]
    }

    /// The draws of replica `replica`.
    pub fn draws(&self, replica: u64) -> Draws {
        let (cube, start, size) = self.cube(replica);
        self.estimates
            .varied()
            .enumerate()
            .map(|(j, e)| {
                let knob = j as u64 + 1;
                let s = self.stratum(cube, knob, size, replica - start);
                let u = unit(mix(self.seed ^ mix(replica.wrapping_add(knob << 32))) ^ cube);
                let q = (s as f64 + u) / size as f64;
                let value = match e.spread {
                    Spread::Range(lo, hi) => lo + q * (hi - lo),
                    Spread::Scale(lo, hi) => lo * (hi / lo).powf(q),
                    Spread::Hold => unreachable!("varied() leaves out held estimates"),
                };
                (e.path.clone(), value)
            })
            .collect()
    }

    /// The configuration of one replica: `config` with `draws` applied, validated.
    pub fn apply(&self, config: &ModelConfig, draws: &Draws) -> Result<ModelConfig, ConfigError> {
        let err = |field: &str, value: String, reason: String| ConfigError {
            source_name: "--uncertainty".into(),
            field: field.to_string(),
            value,
            reason,
        };
        let mut base = config.clone();
        // The size's task slots, written out, so that a scale has a number to scale.
        let pc = &mut base.prism_central;
        if pc.max_concurrent_tasks.is_none() {
            pc.max_concurrent_tasks = Some(Limit(Some(f64::from(pc.size.max_concurrent_tasks()))));
        }
        let mut v = serde_json::to_value(&base)
            .map_err(|e| err("(configuration)", String::new(), e.to_string()))?;
        for e in self.estimates.varied() {
            let Some(&d) = draws.get(&e.path) else {
                continue;
            };
            let pointer = format!("/{}", e.path.replace('.', "/"));
            let slot = v
                .pointer_mut(&pointer)
                .ok_or_else(|| err(&e.path, String::new(), "not in the configuration".into()))?;
            match e.spread {
                Spread::Range(..) => *slot = number_like(slot, d),
                Spread::Scale(..) => {
                    scale(slot, d).map_err(|text| err(&e.path, text, "cannot be scaled".into()))?
                }
                Spread::Hold => {}
            }
        }
        let cfg: ModelConfig = serde_json::from_value(v)
            .map_err(|e| err("(configuration)", String::new(), e.to_string()))?;
        cfg.validate("--uncertainty")?;
        Ok(cfg)
    }

    /// Checks that `config` stays valid with every varied estimate at the low end of its
    /// range, and at the high end, so that a sweep fails before it runs.
    pub fn check(&self, config: &ModelConfig) -> Result<(), ConfigError> {
        for end in [0, 1] {
            let draws = self
                .estimates
                .varied()
                .map(|e| {
                    let (lo, hi) = match e.spread {
                        Spread::Range(lo, hi) | Spread::Scale(lo, hi) => (lo, hi),
                        Spread::Hold => (1.0, 1.0),
                    };
                    (e.path.clone(), if end == 0 { lo } else { hi })
                })
                .collect();
            self.apply(config, &draws)?;
        }
        Ok(())
    }
}

/// `value` as a JSON number shaped like `like`: whole if `like` is a whole number.
fn number_like(like: &Value, value: f64) -> Value {
    if like.is_u64() {
        Value::from(value.round() as u64)
    } else {
        Value::from(value)
    }
}

/// Multiplies every number in `v` by `factor`: numbers, sizes (`4Ki`) and durations
/// (`30s`); `unlimited` stays unlimited. Err: a text that is none of these.
pub(crate) fn scale(v: &mut Value, factor: f64) -> Result<(), String> {
    match v {
        Value::Number(_) => {
            let x = v.as_f64().unwrap_or(0.0) * factor;
            *v = number_like(v, x);
        }
        Value::String(s) if s == "unlimited" => {}
        Value::String(s) => {
            let ends_in_unit = s.ends_with('s') || s.ends_with('m') || s.ends_with('h');
            let x = if ends_in_unit {
                parse_secs(s).map_err(|_| s.clone())?
            } else {
                parse_bytes(s).map_err(|_| s.clone())? as f64
            };
            *v = Value::from(x * factor);
        }
        Value::Object(m) => {
            for child in m.values_mut() {
                scale(child, factor)?;
            }
        }
        Value::Array(a) => {
            for child in a {
                scale(child, factor)?;
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(est: &Estimates) -> Vec<String> {
        est.varied().map(|e| e.path.clone()).collect()
    }

    #[test]
    fn each_knobs_draws_of_a_look_fill_every_stratum_once() {
        let u = Uncertainty::new(Estimates::builtin(), 7, vec![10, 20]);
        for look in [0..10u64, 10..20] {
            let draws: Vec<Draws> = look.clone().map(|r| u.draws(r)).collect();
            for e in u.estimates.varied() {
                let mut strata: Vec<u64> = draws
                    .iter()
                    .map(|d| {
                        let q = match e.spread {
                            Spread::Range(lo, hi) => (d[&e.path] - lo) / (hi - lo),
                            Spread::Scale(lo, hi) => (d[&e.path] / lo).ln() / (hi / lo).ln(),
                            Spread::Hold => unreachable!(),
                        };
                        assert!((0.0..1.0).contains(&q), "{} drew {q}", e.path);
                        (q * 10.0) as u64
                    })
                    .collect();
                strata.sort();
                assert_eq!(strata, (0..10).collect::<Vec<_>>(), "{}", e.path);
            }
        }
        // The same replica draws the same values; another seed draws others.
        assert_eq!(u.draws(3), u.draws(3));
        let v = Uncertainty::new(Estimates::builtin(), 8, vec![10, 20]);
        assert_ne!(u.draws(3), v.draws(3));
        assert_eq!(u.draws(3).len(), all(&u.estimates).len());
    }

    #[test]
    fn knobs_are_shuffled_independently() {
        // Over 40 replicas, two knobs' strata agreeing in order would mean one shuffle.
        let u = Uncertainty::new(Estimates::builtin(), 1, vec![40]);
        let paths = all(&u.estimates);
        let order = |p: &str| -> Vec<f64> { (0..40).map(|r| u.draws(r)[p]).collect() };
        let (a, b) = (order(&paths[0]), order(&paths[1]));
        let rank = |v: &[f64]| -> Vec<usize> {
            v.iter()
                .map(|x| v.iter().filter(|y| *y < x).count())
                .collect()
        };
        assert_ne!(rank(&a), rank(&b));
    }

    #[test]
    fn bad_ranges_are_refused_with_the_knob_named() {
        let e = |t: &str| Estimates::parse(t).unwrap_err();
        assert!(e("etcd.key-bytes: {range: [120, 50], why: x}").contains("etcd.key-bytes"));
        assert!(e("etcd.key-bytes: {scale: [0, 2], why: x}").contains("0 < lo"));
        assert!(e("etcd.key-bytes: {scale: [1, 2]}").contains("why"));
        assert!(e("etcd.no-such: {hold: x}").contains("not a knob"));
        assert!(e("etcd.key-bytes: {scale: [1, 2], range: [1, 2], why: x}").contains("one of"));
    }
}
