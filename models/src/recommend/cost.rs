//! A configuration's cost: its bill of materials as provisioned, priced by `prices`
//! (docs/model.md, "Prices").

use serde::Serialize;

use crate::run::report::NodeRoleDemand;
use crate::run::report::bom::{self, Bom, Kind};
use crate::scenario::config::{DiskClass, ModelConfig};

const GIB: f64 = 1_073_741_824.0;

/// One line of the bill, priced.
#[derive(Clone, Debug, Serialize)]
pub struct PricedLine {
    /// The bill's line.
    pub item: String,
    /// Its price [`prices.currency`].
    pub cost: f64,
}

/// What a configuration costs.
#[derive(Clone, Debug, Serialize)]
pub struct Cost {
    /// What the prices are in.
    pub currency: String,
    /// Every line's price.
    pub lines: Vec<PricedLine>,
    /// Their sum.
    pub total: f64,
}

/// The bill of materials `cfg` provisions for `management_clusters` management clusters
/// (the run's tier label picks the guide's data).
pub fn provisioned(cfg: &ModelConfig, label: &str, management_clusters: u32) -> Bom {
    let none: &[NodeRoleDemand] = &[];
    bom::build(cfg, label, &vec![none; management_clusters.max(1) as usize])
}

/// `bill` priced by `cfg.prices`: vCPU, memory and disk on every line; the disk of the
/// nodes etcd runs on at the price of `etcd.disk`'s class; each Prism Central instance's
/// own price on top.
pub fn of(cfg: &ModelConfig, bill: &Bom) -> Cost {
    let p = &cfg.prices;
    let etcd_nodes = if cfg.nodes.etcd.is_some() {
        "etcd nodes"
    } else {
        "control-plane nodes"
    };
    let etcd_disk = match cfg.etcd.disk {
        DiskClass::Ssd => p.disk_gib,
        // A custom fsync distribution is priced as the NVMe it most often stands for.
        DiskClass::Nvme | DiskClass::Custom => p.nvme_gib,
        DiskClass::NvmeRaid1 => 2.0 * p.nvme_gib,
    };
    let lines: Vec<PricedLine> = bill
        .lines
        .iter()
        .map(|l| {
            let a = &l.provisioned;
            let disk = if l.kind == Kind::Node && l.item == etcd_nodes {
                etcd_disk
            } else {
                p.disk_gib
            };
            let mut cost =
                a.vcpu * p.vcpu + a.memory_bytes / GIB * p.memory_gib + a.disk_bytes / GIB * disk;
            if l.kind == Kind::PrismCentral {
                cost += f64::from(a.count) * p.prism_central;
            }
            PricedLine {
                item: l.item.clone(),
                cost,
            }
        })
        .collect();
    Cost {
        currency: p.currency.clone(),
        total: lines.iter().map(|l| l.cost).sum(),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::presets::{self, Override, Tier};

    fn set(s: &str) -> Override {
        s.parse().unwrap()
    }

    #[test]
    fn the_cost_is_the_bills_resources_times_their_prices() {
        // Small: 3 control-plane nodes of 6 vCPU, 24 GiB, 150 GiB on SSD (etcd stacked),
        // 3 workers of 8 vCPU, 32 GiB, 200 GiB; one small Prism Central: 6 vCPU, 26 GiB,
        // 500 GiB.
        let cfg = presets::resolve(
            Tier::Small,
            &[
                set("prices.vcpu=10"),
                set("prices.memory-gib=1"),
                set("prices.disk-gib=0.1"),
                set("prices.nvme-gib=0.5"),
                set("prices.prism-central=100"),
            ],
        )
        .unwrap();
        let bill = provisioned(&cfg, "small", 1);
        let c = of(&cfg, &bill);
        let want = 10.0 * (18.0 + 24.0 + 6.0)
            + (72.0 + 96.0 + 26.0)
            + 0.1 * (450.0 + 600.0 + 500.0)
            + 100.0;
        assert!((c.total - want).abs() < 1e-6, "{} vs {want}", c.total);
        let sum: f64 = c.lines.iter().map(|l| l.cost).sum();
        assert!((sum - c.total).abs() < 1e-9);
        // On NVMe in RAID-1 the control plane's 450 GiB cost 2 × 0.5 instead of 0.1.
        let raid = presets::resolve(
            Tier::Small,
            &[
                set("prices.disk-gib=0.1"),
                set("prices.nvme-gib=0.5"),
                set("etcd.disk=nvme-raid1"),
            ],
        )
        .unwrap();
        let ssd = presets::resolve(
            Tier::Small,
            &[set("prices.disk-gib=0.1"), set("prices.nvme-gib=0.5")],
        )
        .unwrap();
        let d = of(&raid, &provisioned(&raid, "small", 1)).total
            - of(&ssd, &provisioned(&ssd, "small", 1)).total;
        assert!((d - 450.0 * (1.0 - 0.1)).abs() < 1e-6, "{d}");
        // Two management clusters cost twice one, less what the fleet has once.
        let two = of(&cfg, &provisioned(&cfg, "small", 2)).total;
        assert!((two - 2.0 * c.total).abs() < 1e-6);
    }

    #[test]
    fn a_negative_or_missing_price_is_refused_by_name() {
        let e = presets::resolve(Tier::Small, &[set("prices.vcpu=-1")]).unwrap_err();
        assert_eq!(e.field, "prices.vcpu");
        assert!(e.reason.contains("≥ 0"), "{}", e.reason);
        let e = presets::resolve(Tier::Small, &[set("prices.memory-gib=~")]).unwrap_err();
        assert!(e.field.contains("prices.memory-gib"), "{e:?}");
    }
}
