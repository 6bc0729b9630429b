//! The bill of materials as people read it: `capsim run`'s section (one row per line of
//! the bill, provisioned beside needed at peak) and the sweep's table (the totals per
//! fleet size, medians over the replicas).

use models::run::report::bom::{Amount, Bom, BomTotals, Kind, NeededBy, Per};
use models::run::sweep::PointSummary;

use super::table::{Align, Table};

const GI: f64 = (1u64 << 30) as f64;

/// A count of vCPU: whole, or to one decimal where an overhead makes it fractional.
pub fn vcpu(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Bytes in whole GiB, or TiB from 10 TiB.
pub fn gib(b: f64) -> String {
    let g = b / GI;
    if g >= 10_240.0 {
        format!("{:.1} TiB", g / 1024.0)
    } else {
        format!("{g:.0} GiB")
    }
}

fn per(p: Per) -> &'static str {
    match p {
        Per::ManagementCluster => "mgmt cluster",
        Per::Region => "region",
        Per::Fleet => "fleet",
    }
}

fn by(b: NeededBy, fits: Option<bool>) -> String {
    let what = match b {
        NeededBy::Cpu => "CPU",
        NeededBy::Memory => "memory",
        NeededBy::Minimum => "minimum",
        NeededBy::Provisioned => "as provisioned",
    };
    match fits {
        Some(false) => format!("{what}; node too small"),
        _ => what.to_string(),
    }
}

fn units(a: &Amount, shown: bool) -> String {
    if shown {
        a.count.to_string()
    } else {
        "-".into()
    }
}

/// `capsim run`'s section: each line provisioned and needed at peak, then the totals.
pub fn section(b: &Bom) -> String {
    let mut t = Table::new(&[
        ("item", Align::Left),
        ("per", Align::Left),
        ("provisioned", Align::Right),
        ("vCPU", Align::Right),
        ("RAM", Align::Right),
        ("disk", Align::Right),
        ("needed", Align::Right),
        ("vCPU", Align::Right),
        ("RAM", Align::Right),
        ("disk", Align::Right),
        ("needed by", Align::Left),
    ]);
    for l in &b.lines {
        let shown = l.provisioned.count > 0 || l.needed.count > 0;
        let (p, n) = (&l.provisioned, &l.needed);
        t.row(vec![
            l.item.clone(),
            per(l.per).into(),
            units(p, shown),
            vcpu(p.vcpu),
            gib(p.memory_bytes),
            gib(p.disk_bytes),
            units(n, shown),
            vcpu(n.vcpu),
            gib(n.memory_bytes),
            gib(n.disk_bytes),
            if l.kind == Kind::Overhead {
                "on the nodes".into()
            } else {
                by(l.needed_by, l.fits_node_size)
            },
        ]);
    }
    let total = |x: &BomTotals| {
        [
            format!("{} + {} PC", x.nodes, x.prism_centrals),
            vcpu(x.vcpu),
            gib(x.memory_bytes),
            gib(x.disk_bytes),
        ]
    };
    let mut row = vec!["total".to_string(), String::new()];
    row.extend(total(&b.provisioned));
    row.extend(total(&b.needed));
    row.push(String::new());
    t.row(row);
    let mut o = format!(
        "\nBill of materials (the {} tier's data, {} management cluster{}, NKP {}; needed: \
         peak demand under {:.0} % of vCPU and {:.0} % of memory, in whole nodes)\n",
        b.tier,
        b.management_clusters,
        if b.management_clusters == 1 { "" } else { "s" },
        b.edition.name(),
        b.cpu_headroom * 100.0,
        b.memory_headroom * 100.0,
    );
    o.push_str(&indent(&t.render()));
    o.push_str(&format!("  observability: {}\n", b.observability));
    o
}

/// The sweep's table: per fleet size, the medians over replicas of the totals,
/// provisioned beside needed.
pub fn sweep_table(points: &[PointSummary]) -> String {
    let mut t = Table::new(&[
        ("clusters", Align::Right),
        ("mgmt", Align::Right),
        ("tier", Align::Left),
        ("nodes", Align::Right),
        ("needed", Align::Right),
        ("vCPU", Align::Right),
        ("needed", Align::Right),
        ("RAM", Align::Right),
        ("needed", Align::Right),
        ("disk", Align::Right),
        ("PCs", Align::Right),
    ]);
    let p50 = |p: &PointSummary, k: &str| p.figures.get(k).map_or(f64::NAN, |f| f.p50);
    for p in points {
        let tier = models::scenario::presets::Tier::ALL
            .get((p50(p, "tier_rank") as usize).wrapping_sub(1))
            .map_or("-", |t| t.name());
        t.row(vec![
            p.clusters.to_string(),
            super::management_clusters(p).to_string(),
            tier.into(),
            format!("{:.0}", p50(p, "bom_provisioned_nodes")),
            format!("{:.0}", p50(p, "bom_needed_nodes")),
            vcpu(p50(p, "bom_provisioned_vcpu")),
            vcpu(p50(p, "bom_needed_vcpu")),
            gib(p50(p, "bom_provisioned_memory_bytes")),
            gib(p50(p, "bom_needed_memory_bytes")),
            gib(p50(p, "bom_provisioned_disk_bytes")),
            format!("{:.0}", p50(p, "bom_prism_centrals")),
        ]);
    }
    t.render()
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_whole_gib_or_tib() {
        assert_eq!(gib(64.0 * GI), "64 GiB");
        assert_eq!(gib(100_000.0 * GI), "97.7 TiB");
        assert_eq!(vcpu(12.0), "12");
        assert_eq!(vcpu(12.6), "12.6");
    }
}
