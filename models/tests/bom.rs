//! The bill of materials (issue 14, item 1): its totals are the sums of their parts, and
//! for each tier preset what it provisions is the guide's table. The expected numbers are
//! worked out here from the guide's text (reference/nkp-capi-scaling-guide.md, "Detailed
//! Resource Sizing by Tier", "Prism Central Sizing for Scale", "NKP Management Cluster
//! Overhead by Edition"), not read off the code. The guide's "GB" is GiB, its "TB" 1000 GiB.

use models::run::report::NodeRoleDemand;
use models::run::report::bom::{self, Bom, BomLine, Kind};
use models::run::{RunPlan, run};
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};

const GI: f64 = (1u64 << 30) as f64;

/// The bill of `tier`'s preset over `mc` management clusters with no measured demand.
fn bom_of(tier: Tier, mc: usize, sets: &[&str]) -> Bom {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    let cfg = presets::resolve(tier, &overrides).unwrap();
    let none: Vec<&[NodeRoleDemand]> = vec![&[]; mc];
    bom::build(&cfg, tier.name(), &none)
}

fn line<'a>(b: &'a Bom, item: &str) -> &'a BomLine {
    b.lines
        .iter()
        .find(|l| l.item.starts_with(item))
        .unwrap_or_else(|| panic!("no line {item} in {:?}", b.lines))
}

/// A line's provisioned units, vCPU, memory [GiB] and disk [GiB].
fn provisioned(b: &Bom, item: &str) -> (u32, f64, f64, f64) {
    let a = line(b, item).provisioned;
    (a.count, a.vcpu, a.memory_bytes / GI, a.disk_bytes / GI)
}

/// The management clusters' nodes: units, vCPU, memory and disk summed over the roles.
fn management_nodes(b: &Bom) -> (u32, f64, f64, f64) {
    [
        "control-plane",
        "etcd",
        "worker nodes",
        "observability workers",
    ]
    .iter()
    .filter(|r| b.lines.iter().any(|l| l.item.starts_with(*r)))
    .map(|r| provisioned(b, r))
    .fold((0, 0.0, 0.0, 0.0), |a, x| {
        (a.0 + x.0, a.1 + x.1, a.2 + x.2, a.3 + x.3)
    })
}

fn assert_totals_are_sums(b: &Bom) {
    for (total, pick) in [
        (
            &b.provisioned,
            (|l: &BomLine| l.provisioned) as fn(&BomLine) -> _,
        ),
        (&b.needed, |l: &BomLine| l.needed),
    ] {
        let sum = |f: fn(&bom::Amount) -> f64| b.lines.iter().map(|l| f(&pick(l))).sum::<f64>();
        assert_eq!(total.vcpu, sum(|a| a.vcpu));
        assert_eq!(total.memory_bytes, sum(|a| a.memory_bytes));
        assert_eq!(total.disk_bytes, sum(|a| a.disk_bytes));
        let units = |k: Kind| -> u32 {
            b.lines
                .iter()
                .filter(|l| l.kind == k)
                .map(|l| pick(l).count)
                .sum()
        };
        assert_eq!(total.nodes, units(Kind::Node));
        assert_eq!(total.prism_centrals, units(Kind::PrismCentral));
    }
}

#[test]
fn bom_totals_equal_the_sum_of_their_parts() {
    for (tier, mc) in [
        (Tier::Small, 1),
        (Tier::Medium, 1),
        (Tier::Large, 2),
        (Tier::Xl, 3),
        (Tier::Extreme, 20),
    ] {
        for edition in ["starter", "pro", "ultimate"] {
            let b = bom_of(tier, mc, &[&format!("nkp.edition={edition}")]);
            assert_totals_are_sums(&b);
        }
    }
    // And a simulated run's, whose needed figures come from measured demand.
    let plan = RunPlan::new(
        presets::resolve(Tier::Small, &[]).unwrap(),
        "small",
        FleetSpec::all_at_once(10, 5, 1),
        1,
    );
    let r = run(&plan).expect("run completes").report;
    assert_totals_are_sums(&r.bom);
    assert!(r.bom.needed.vcpu > 0.0 && r.bom.provisioned.vcpu > 0.0);
}

#[test]
fn small_tier_provisions_the_guides_small_table() {
    // "Tier: Small": control plane 3 × 4-6 vCPU, 16-24 GB, 100-150 GB; workers 2-3 × 4-8
    // vCPU, 16-32 GB, 150-200 GB; "Total Management 5-6 nodes, 20-42 vCPU, 80-168 GB RAM,
    // 650-1050 GB". The preset takes each top: 3 × 6 + 3 × 8 = 42 vCPU, 3 × 24 + 3 × 32 =
    // 168 GB, 3 × 150 + 3 × 200 = 1050 GB, 6 nodes: the table's top total.
    let b = bom_of(Tier::Small, 1, &[]);
    assert_eq!(provisioned(&b, "control-plane"), (3, 18.0, 72.0, 450.0));
    assert_eq!(provisioned(&b, "worker nodes"), (3, 24.0, 96.0, 600.0));
    assert_eq!(management_nodes(&b), (6, 42.0, 168.0, 1050.0));
    // "Prism Central Sizing for Scale": Small → Small (6 vCPU, 26 GB).
    assert_eq!(
        provisioned(&b, "Prism Central (small)"),
        (1, 6.0, 26.0, 500.0)
    );
    // Starter: "Baseline", no overhead; no observability beyond the workers.
    assert_eq!(provisioned(&b, "NKP starter").1, 0.0);
    assert_eq!(b.lines.len(), 4);
    assert_eq!(b.provisioned.vcpu, 42.0 + 6.0);
    assert_eq!(b.provisioned.nodes, 6);
}

#[test]
fn medium_tier_provisions_the_guides_medium_table() {
    // "Tier: Medium": control plane 3-5 × 8-12 vCPU, 32-48 GB, 200 GB NVMe → 5 × 12 = 60
    // vCPU, 5 × 48 = 240 GB, 1000 GB. The preset pools the observability workers (3-5 ×
    // 12-16 vCPU, 32-64 GB, 300-500 GB) and controller workers (2-3) into 5 + 3 = 8 at the
    // observability top: 8 × 16 = 128 vCPU, 8 × 64 = 512 GB, 8 × 500 = 4000 GB. That is 12
    // vCPU and 96 GB above the table's top (176 vCPU, 656 GB), whose 3 controller workers
    // are 12 vCPU, 32 GB: the pool sizes them as observability workers.
    let b = bom_of(Tier::Medium, 1, &[]);
    assert_eq!(provisioned(&b, "control-plane"), (5, 60.0, 240.0, 1000.0));
    assert_eq!(provisioned(&b, "worker nodes"), (8, 128.0, 512.0, 4000.0));
    assert_eq!(management_nodes(&b), (13, 188.0, 752.0, 5000.0));
    // Medium → Large Prism Central (10 vCPU, 44 GB).
    assert_eq!(provisioned(&b, "Prism Central (large)").1, 10.0);
}

#[test]
fn large_tier_provisions_the_guides_large_table_with_its_observability_workers() {
    // "Tier: Large": control plane 5 × 16 vCPU, 64 GB, 100 GB; etcd (dedicated) 5 × 8-16,
    // 32-64 GB, 300 GB; observability workers 5-8 × 16-24, 64-96 GB, 500 GB-1 TB;
    // controller workers 4-6 × 16, 32-64 GB, 200 GB. At the tops: 80 + 80 + 192 + 96 = 448
    // vCPU, 320 + 320 + 768 + 384 = 1792 GB, 5 + 5 + 8 + 6 = 24 nodes: the table's "Total
    // Management 19-24, 264-448 vCPU, 928-1792 GB" at its top. Disk 500 + 1500 + 8000 +
    // 1200 = 11200 GB (the guide's "5-9 TB" total is below its own rows' top).
    let b = bom_of(Tier::Large, 1, &[]);
    assert_eq!(provisioned(&b, "control-plane"), (5, 80.0, 320.0, 500.0));
    assert_eq!(provisioned(&b, "etcd"), (5, 80.0, 320.0, 1500.0));
    assert_eq!(
        provisioned(&b, "observability workers"),
        (8, 192.0, 768.0, 8000.0)
    );
    assert_eq!(provisioned(&b, "worker nodes"), (6, 96.0, 384.0, 1200.0));
    assert_eq!(management_nodes(&b), (24, 448.0, 1792.0, 11200.0));
    // Large+ → X-Large Prism Central (14 vCPU, 60 GB).
    assert_eq!(provisioned(&b, "Prism Central (x-large)").1, 14.0);
}

#[test]
fn xl_tier_provisions_three_regions_and_the_federated_observability_stack() {
    // "Per-Regional Management Cluster Resources": control plane 5 × 16-24 vCPU, 64-96 GB,
    // 150 GB; etcd 5 × 16, 64 GB, 500 GB; platform workers 8-12 × 24-32, 96-128 GB,
    // 500 GB-1 TB. The preset: tops, 10 workers: 120 + 80 + 320 = 520 vCPU (in "352-584"),
    // 480 + 320 + 1280 = 2080 GB, 20 nodes (in "18-22"). Three regions (1,800 clusters of
    // ~600): 60 nodes (in "54-66"), 1560 vCPU (in "1056-1752").
    let b = bom_of(Tier::Xl, 3, &[]);
    assert_eq!((b.management_clusters, b.regions), (3, 3));
    assert_eq!(
        management_nodes(&b),
        (60, 1560.0, 6240.0, 3.0 * (750.0 + 2500.0 + 10000.0))
    );
    // "Fleet Controller Resources": 3 × 8 vCPU, 32 GB, 200 GB and 3 × 8-16, 32-64 GB,
    // 300 GB: "Total Fleet Controller 6, 48-72 vCPU, 192-288 GB RAM, 1.5 TB" at the top.
    let (fc, fw) = (
        provisioned(&b, "fleet control plane"),
        provisioned(&b, "fleet workers"),
    );
    assert_eq!(
        (fc.0 + fw.0, fc.1 + fw.1, fc.2 + fw.2, fc.3 + fw.3),
        (6, 72.0, 288.0, 1500.0)
    );
    // "Federated Observability Stack", column "Total (3 Regions)".
    assert_eq!(provisioned(&b, "Prometheus"), (3, 24.0, 96.0, 6000.0));
    assert_eq!(provisioned(&b, "Thanos sidecar"), (3, 6.0, 12.0, 0.0));
    assert_eq!(provisioned(&b, "Thanos query"), (1, 8.0, 16.0, 0.0));
    assert_eq!(provisioned(&b, "Thanos store"), (1, 4.0, 16.0, 500.0));
    assert_eq!(provisioned(&b, "object storage").3, 100_000.0);
    assert_eq!(provisioned(&b, "Prism Central (x-large)").0, 3);
}

#[test]
fn extreme_tier_provisions_the_guides_resource_summary() {
    // "Resource Summary for Extreme Tier": Federation Controller 3 × 16 vCPU, 64 GB,
    // 200 GB = 48 vCPU, 192 GB, 600 GB; Central Observability 96 vCPU, 384 GB, 10 TB;
    // Regional Observability 3-5 × 48 vCPU, 128 GB, 5 TB = 144-240 vCPU, 384-640 GB,
    // 15-25 TB, with 10-20 NKP management clusters of 500 clusters.
    let big = bom_of(Tier::Extreme, 20, &[]);
    assert_eq!(
        provisioned(&big, "federation controller"),
        (3, 48.0, 192.0, 600.0)
    );
    assert_eq!(
        provisioned(&big, "central observability"),
        (1, 96.0, 384.0, 10_000.0)
    );
    assert_eq!(
        provisioned(&big, "regional observability"),
        (5, 240.0, 640.0, 25_000.0)
    );
    let small = bom_of(Tier::Extreme, 10, &[]);
    assert_eq!(
        provisioned(&small, "regional observability"),
        (3, 144.0, 384.0, 15_000.0)
    );
    // The summary sizes each management cluster at 352 vCPU, 1.4 TB (the bottom of XL's
    // per-regional range); the preset is XL's at its top, 520 vCPU, 2080 GB, 20 nodes.
    assert_eq!(management_nodes(&big).1, 20.0 * 520.0);
    assert_eq!(management_nodes(&big).0, 20 * 20);
    // Nodes in all: the management clusters' and the federation controller's 3.
    assert_eq!(big.provisioned.nodes, 20 * 20 + 3);
}

#[test]
fn an_edition_adds_its_overhead_to_the_management_clusters_nodes() {
    // "Pro +20-30%", "Ultimate +40-50%": the tops, on the management clusters' nodes'
    // vCPU and memory (Small: 42 vCPU, 168 GB).
    for (edition, fraction) in [("pro", 0.30), ("ultimate", 0.50)] {
        let b = bom_of(Tier::Small, 1, &[&format!("nkp.edition={edition}")]);
        let (_, vcpu, mem, disk) = provisioned(&b, &format!("NKP {edition}"));
        assert!((vcpu - fraction * 42.0).abs() < 1e-9, "{edition}: {vcpu}");
        assert!((mem - fraction * 168.0).abs() < 1e-9, "{edition}: {mem}");
        assert_eq!(disk, 0.0);
    }
}

#[test]
fn an_unknown_edition_is_refused_naming_the_field_and_the_editions() {
    let e =
        presets::resolve(Tier::Small, &["nkp.edition=enterprise".parse().unwrap()]).unwrap_err();
    assert_eq!(e.field, "nkp.edition");
    for allowed in ["starter", "pro", "ultimate"] {
        assert!(e.to_string().contains(allowed), "{e}");
    }
    let e = models::scenario::load("s.yaml", "nkp:\n  edition: gold\n", &[])
        .expect_err("unknown edition")
        .to_string();
    assert!(e.contains("nkp.edition") && e.contains("ultimate"), "{e}");
}

#[test]
fn needed_at_peak_follows_the_measured_demand() {
    // Workers with a peak of 20 cores and 40 GiB per node, 3 nodes of 8 vCPU and 32 GiB
    // (Small): 60 cores / (0.8 × 8) = 9.4 → 10 nodes by CPU; 120 GiB / 25.6 = 4.7 → 5.
    let cfg = presets::resolve(Tier::Small, &[]).unwrap();
    let demand = |role: &str, cpu: f64, mem_gib: f64| NodeRoleDemand {
        role: role.into(),
        runs: String::new(),
        nodes: 3,
        cpu_demand_cores: cpu,
        cpu_capacity_cores: 0.0,
        memory_demand_bytes: mem_gib * GI,
        memory_capacity_bytes: 0.0,
        saturated_s: 0.0,
        cpu_peak_utilisation: None,
        fits: true,
    };
    let part = [
        demand("control-plane", 0.5, 4.0),
        demand("workers", 20.0, 40.0),
    ];
    let b = bom::build(&cfg, "small", &[&part]);
    let w = line(&b, "worker nodes");
    assert_eq!(w.needed.count, 10);
    assert_eq!(w.needed.vcpu, 80.0);
    assert_eq!(w.needed_by, bom::NeededBy::Cpu);
    // The control plane is light: the minimum, 3.
    assert_eq!(line(&b, "control-plane").needed.count, 3);
    assert_eq!(b.needed.nodes, 13);
}
