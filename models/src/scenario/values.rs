//! Value types of knobs that several sections share: a client's `--kube-api-qps` (the
//! management cluster's managers, the federation hub's components) and etcd's disk class
//! (the management cluster's etcd, the hub's).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `--kube-api-qps`: a rate, or off (controller-runtime's QPS = −1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Qps(pub Option<f64>);

impl Serialize for Qps {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => s.serialize_f64(v),
            None => s.serialize_str("off"),
        }
    }
}

impl<'de> Deserialize<'de> for Qps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Str(String),
            // YAML 1.1 reads a bare `off` as the boolean false.
            Bool(bool),
        }
        let raw = match Raw::deserialize(d)? {
            // A quoted number reads as the number.
            Raw::Str(s) if s.trim().parse::<f64>().is_ok() => {
                Raw::Num(s.trim().parse::<f64>().expect("checked"))
            }
            other => other,
        };
        match raw {
            Raw::Bool(false) => Ok(Qps(None)),
            Raw::Bool(true) => Err(serde::de::Error::custom(
                "kube-api-qps: true is not a rate; give a number > 0, or \"off\"",
            )),
            // client-go: a negative QPS disables the limiter; zero means "use the default".
            Raw::Num(v) if v < 0.0 => Ok(Qps(None)),
            Raw::Num(v) if v > 0.0 && v.is_finite() => Ok(Qps(Some(v))),
            Raw::Num(v) => Err(serde::de::Error::custom(format!(
                "kube-api-qps {v}: must be > 0, or -1 / \"off\" to disable the client-side limiter"
            ))),
            Raw::Str(s) if s == "off" => Ok(Qps(None)),
            Raw::Str(s) => Err(serde::de::Error::custom(format!(
                "kube-api-qps '{s}': a number > 0, or \"off\""
            ))),
        }
    }
}

/// The disk under etcd's WAL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiskClass {
    /// SATA/SAS SSD.
    Ssd,
    /// NVMe SSD.
    Nvme,
    /// Two NVMe SSDs in RAID-1.
    NvmeRaid1,
    /// The distribution given in `etcd.fsync`.
    Custom,
}
