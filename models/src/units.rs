//! Quantities as Kubernetes writes them: bytes (`16Gi`, `8G`, `512Mi`), CPU (`500m`, `4`)
//! and durations (`30s`, `15m`, `1h30m`, `250ms`). Each reads from a string or a plain
//! number and writes back in the same human form, so scenarios round-trip.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A number of bytes, read from a Kubernetes quantity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

/// CPU in cores, read from a Kubernetes quantity (`500m` = 0.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Cores(pub f64);

/// A duration in seconds, read from a Go-style duration string.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Secs(pub f64);

/// Parses a Kubernetes byte quantity: a number with an optional suffix Ki, Mi, Gi, Ti
/// (powers of 1024) or k, M, G, T (powers of 1000).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        None => (s, 1u64),
        Some(i) => {
            let mult = match &s[i..] {
                "Ki" => 1 << 10,
                "Mi" => 1 << 20,
                "Gi" => 1 << 30,
                "Ti" => 1 << 40,
                "k" => 1_000,
                "M" => 1_000_000,
                "G" => 1_000_000_000,
                "T" => 1_000_000_000_000,
                other => {
                    return Err(format!(
                        "unknown unit '{other}' in '{s}': use Ki, Mi, Gi, Ti, k, M, G or T"
                    ));
                }
            };
            (&s[..i], mult)
        }
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a byte quantity (e.g. 8Gi)"))?;
    if !v.is_finite() {
        return Err(format!("'{s}' is not a finite number of bytes"));
    }
    if v < 0.0 {
        return Err(format!("'{s}' must be ≥ 0"));
    }
    Ok((v * mult as f64).round() as u64)
}

/// Parses a CPU quantity: cores (`2`, `0.5`) or millicores (`500m`).
pub fn parse_cores(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let v = match s.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().map(|m| m / 1000.0),
        None => s.parse::<f64>(),
    }
    .map_err(|_| format!("'{s}' is not a CPU quantity (e.g. 500m or 2)"))?;
    if !v.is_finite() {
        return Err(format!("'{s}' is not a finite number of cores"));
    }
    if v <= 0.0 {
        return Err(format!("'{s}' must be > 0 cores"));
    }
    Ok(v)
}

/// Parses a Go duration: a sequence of number+unit (h, m, s, ms, us, ns), e.g. `1h30m`,
/// `10m`, `2.5s`; a bare number is seconds.
pub fn parse_secs(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return if !v.is_finite() {
            Err(format!("'{s}' is not a finite duration"))
        } else if v < 0.0 {
            Err(format!("'{s}' must be ≥ 0"))
        } else {
            Ok(v)
        };
    }
    let bad = || format!("'{s}' is not a duration (e.g. 30s, 15m, 1h30m, 250ms)");
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_end == 0 {
            return Err(bad());
        }
        let v: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        let unit_end = rest[num_end..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .map_or(rest.len(), |i| num_end + i);
        let unit = match &rest[num_end..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
        total += v * unit;
        rest = &rest[unit_end..];
    }
    Ok(total)
}

/// A duration as Go writes it (`1h30m`, `250ms`) when that reads back to the same value,
/// else the exact number of seconds (`0.0001234567s`): what is written always reads back.
fn format_secs(v: f64) -> String {
    let human = human_secs(v);
    if parse_secs(&human) == Ok(v) {
        human
    } else {
        format!("{v}s")
    }
}

fn human_secs(v: f64) -> String {
    if v == 0.0 {
        return "0s".into();
    }
    if v < 1.0 {
        return format!("{}ms", (v * 1000.0 * 1000.0).round() / 1000.0);
    }
    let whole = v.round();
    if (v - whole).abs() > 1e-9 {
        return format!("{v}s");
    }
    let secs = whole as u64;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

fn format_bytes(v: u64) -> String {
    for (suffix, shift) in [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
        if v >= 1 << shift && v.is_multiple_of(1 << shift) {
            return format!("{}{suffix}", v >> shift);
        }
    }
    v.to_string()
}

/// A number or a string, as quantities arrive from YAML, JSON or `--set`.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Num(f64),
    Str(String),
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Num(v) if v >= 0.0 && v.is_finite() => Ok(Bytes(v.round() as u64)),
            NumOrStr::Num(v) => Err(serde::de::Error::custom(format!("{v} must be ≥ 0 bytes"))),
            NumOrStr::Str(s) => parse_bytes(&s).map(Bytes).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_bytes(self.0))
    }
}

impl<'de> Deserialize<'de> for Cores {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Num(v) if v > 0.0 && v.is_finite() => Ok(Cores(v)),
            NumOrStr::Num(v) => Err(serde::de::Error::custom(format!("{v} must be > 0 cores"))),
            NumOrStr::Str(s) => parse_cores(&s).map(Cores).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Cores {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let human = if self.0.fract() == 0.0 {
            format!("{}", self.0)
        } else {
            format!("{}m", (self.0 * 1000.0).round())
        };
        // Millicores when they read back to the same value, else the exact number of cores.
        if parse_cores(&human) == Ok(self.0) {
            s.serialize_str(&human)
        } else {
            s.serialize_str(&self.0.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Num(v) if v >= 0.0 && v.is_finite() => Ok(Secs(v)),
            NumOrStr::Num(v) => Err(serde::de::Error::custom(format!("{v} must be ≥ 0 seconds"))),
            NumOrStr::Str(s) => parse_secs(&s).map(Secs).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_secs(self.0))
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_bytes(self.0))
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_secs(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_quantities_read_like_kubernetes() {
        assert_eq!(parse_bytes("8Gi"), Ok(8 << 30));
        assert_eq!(parse_bytes("2G"), Ok(2_000_000_000));
        assert_eq!(parse_bytes("512Mi"), Ok(512 << 20));
        assert_eq!(parse_bytes("4294967296"), Ok(4_294_967_296));
        assert!(parse_bytes("8Gb").unwrap_err().contains("unknown unit"));
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn cpu_quantities_read_millicores() {
        assert_eq!(parse_cores("500m"), Ok(0.5));
        assert_eq!(parse_cores("4"), Ok(4.0));
        assert!(parse_cores("0").is_err());
    }

    #[test]
    fn durations_read_like_go() {
        assert_eq!(parse_secs("30s"), Ok(30.0));
        assert_eq!(parse_secs("15m"), Ok(900.0));
        assert_eq!(parse_secs("1h30m"), Ok(5400.0));
        assert_eq!(parse_secs("250ms"), Ok(0.25));
        assert_eq!(parse_secs("10"), Ok(10.0));
        assert!(parse_secs("10 minutes").is_err());
        assert!(parse_secs("").is_err());
    }

    #[test]
    fn quantities_round_trip_through_their_written_form() {
        for s in ["8Gi", "30s", "10m", "1h30m", "250ms"] {
            let written = if s.ends_with('i') {
                format_bytes(parse_bytes(s).unwrap())
            } else {
                format_secs(parse_secs(s).unwrap())
            };
            assert_eq!(written, s);
        }
    }

    /// Issue 13 (found by tests/fuzz_scenario_files.rs): a value the human form would round
    /// (below a microsecond, or a millicore) is written exactly, so it reads back the same.
    #[test]
    fn a_value_the_human_form_would_round_is_written_exactly() {
        for v in [3.3175e-56, 1e-7, 0.000123456, 1.0000000001, 1e30] {
            assert_eq!(parse_secs(&format_secs(v)), Ok(v), "{}", format_secs(v));
        }
        assert_eq!(format_secs(0.25), "250ms");
        let written = |c: f64| serde_json::to_value(Cores(c)).unwrap();
        for c in [0.0004, 0.0015, 1e-9] {
            let text = written(c);
            assert_eq!(parse_cores(text.as_str().unwrap()), Ok(c), "{text}");
        }
        assert_eq!(written(0.5), "500m");
        assert_eq!(written(4.0), "4");
    }
}
