//! What the management layer's resources cost: the price model `capsim recommend`
//! minimises, a scenario section (`prices:`) whose defaults are relative weights, not a
//! quote (docs/model.md, "Prices"). Users put their own.
//!
//! A configuration's cost is its bill of materials as provisioned, priced line by line:
//! vCPU, memory and disk, the etcd nodes' disk at the price of `etcd.disk`'s class (two
//! NVMe drives for `nvme-raid1`), plus a price per Prism Central instance on top of its
//! VM's resources.

use serde::{Deserialize, Serialize};

/// Prices per unit and period (`currency` says which).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Prices {
    /// What the prices are in, as printed beside a cost (`USD/month`).
    pub currency: String,
    /// One vCPU.
    pub vcpu: f64,
    /// One GiB of memory.
    pub memory_gib: f64,
    /// One GiB of SSD: every disk but etcd's on NVMe.
    pub disk_gib: f64,
    /// One GiB of NVMe, for etcd's disk when `etcd.disk` is `nvme` (twice over for
    /// `nvme-raid1`, whose mirror holds every GiB twice).
    pub nvme_gib: f64,
    /// One Prism Central instance beyond its VM's resources (a licence or support fee).
    pub prism_central: f64,
}

impl Prices {
    /// The first price that is not a finite number ≥ 0 (or a blank currency): its field,
    /// value and what is allowed.
    pub fn problem(&self) -> Option<(String, String, &'static str)> {
        let fields = [
            ("vcpu", self.vcpu),
            ("memory-gib", self.memory_gib),
            ("disk-gib", self.disk_gib),
            ("nvme-gib", self.nvme_gib),
            ("prism-central", self.prism_central),
        ];
        for (name, v) in fields {
            if !(v.is_finite() && v >= 0.0) {
                return Some((
                    format!("prices.{name}"),
                    v.to_string(),
                    "must be a price ≥ 0 (0 leaves the resource out of the cost)",
                ));
            }
        }
        if self.currency.trim().is_empty() {
            return Some((
                "prices.currency".into(),
                String::new(),
                "must name what the prices are in, e.g. USD/month",
            ));
        }
        None
    }
}
