//! NKP itself, as a scenario states it: the edition, whose management-cluster overhead the
//! bill of materials adds (the guide's "NKP Management Cluster Overhead by Edition"). The
//! simulation does not run the edition's services; only the bill of materials reads it.

use serde::{Deserialize, Serialize};

/// The NKP edition (the guide's "NKP Edition Considerations").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Edition {
    /// 1-5 clusters, no fleet management: the guide's baseline overhead.
    #[default]
    Starter,
    /// 20-50 clusters, fleet management and Insights: +20-30 %.
    Pro,
    /// 50-100+ clusters per management cluster, multi-cloud: +40-50 %.
    Ultimate,
}

impl Edition {
    /// Every edition, smallest first.
    pub const ALL: [Edition; 3] = [Edition::Starter, Edition::Pro, Edition::Ultimate];

    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            Edition::Starter => "starter",
            Edition::Pro => "pro",
            Edition::Ultimate => "ultimate",
        }
    }
}

/// NKP's own settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NkpSettings {
    /// The edition: `starter`, `pro` or `ultimate`.
    pub edition: Edition,
}
