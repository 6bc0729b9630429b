//! The bill of materials: what the fleet's management layer is provisioned with, and what
//! the simulation shows it needs at peak with the checklist's headroom.
//!
//! "Provisioned" is the run's configuration (its nodes per role, times the management
//! clusters the fleet is split over; its Prism Centrals, each management cluster with its
//! own, as the simulation runs them), plus what the guide's tier provisions beyond the
//! nodes capsim simulates (observability workers and stacks, fleet and federation
//! controllers) and the NKP edition's overhead, all from `models/presets/bom.yaml`.
//!
//! "Needed at peak" differs only where the simulation measures demand: each management
//! cluster's node roles. A role needs as many nodes of the same size as keep its peak
//! demand below the checklist's headroom (`thresholds.controller-cpu-fraction`, `-memory-
//! fraction`: 80 %), and at least the role's minimum (3 control-plane, 3 etcd, 2 workers).
//! Demand that spreads over a role's nodes (the API servers' and managers' CPU, the
//! managers' memory) is the per-node peak times the nodes; demand every node carries
//! whole (an etcd member's CPU and memory, an API server's watch cache) does not fall
//! with more nodes, so it only says whether the node size fits. Everything the simulation
//! does not run (Prism Central's VMs, observability, fleet controllers) is needed as
//! provisioned. Totals are the sums of the lines.
//!
//! Left out: the workload clusters' own nodes, the hosts under the VMs, licences.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::NodeRoleDemand;
use crate::scenario::config::{Edition, ModelConfig, NodePool};
use crate::scenario::presets::Tier;
use crate::units::Bytes;

const BOM_YAML: &str = include_str!("../../../presets/bom.yaml");

/// The data of `models/presets/bom.yaml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BomData {
    /// Overhead per NKP edition, a fraction of the management clusters' vCPU and memory.
    pub editions: BTreeMap<Edition, f64>,
    /// One Prism Central VM per size (`x-small`, `small`, `large`, `x-large`).
    pub prism_central: BTreeMap<String, Vm>,
    /// The fewest nodes a role may come down to, by role.
    pub minimum_nodes: BTreeMap<String, u32>,
    /// Per tier name.
    pub tiers: BTreeMap<String, TierData>,
}

/// One VM's size.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Vm {
    /// vCPU.
    pub vcpu: f64,
    /// Memory.
    pub memory: Bytes,
    /// Disk.
    pub disk: Bytes,
}

/// What one tier provisions besides the scenario's nodes.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TierData {
    /// Disk per node, by role.
    pub disk: BTreeMap<String, Bytes>,
    /// Management clusters that share one region's stacks.
    pub management_clusters_per_region: u32,
    /// Where the tier's observability runs, in words.
    pub observability: String,
    /// The items beyond the nodes.
    pub items: Vec<Item>,
}

/// One item a tier provisions beyond the scenario's nodes.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Item {
    /// What it is.
    pub name: String,
    /// What it is counted per.
    pub per: Per,
    /// Whether its units are nodes.
    pub node: bool,
    /// Units per `per` [count].
    pub count: u32,
    /// vCPU per unit.
    pub vcpu: f64,
    /// Memory per unit.
    pub memory: Bytes,
    /// Disk per unit.
    pub disk: Bytes,
}

/// What a line is counted per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Per {
    /// Each management cluster.
    ManagementCluster,
    /// Each region (`management-clusters-per-region` management clusters).
    Region,
    /// The whole fleet, once.
    Fleet,
}

/// The built-in data; the file is part of the program, so a malformed one is a bug that
/// `bom_data_loads` catches.
pub fn data() -> &'static BomData {
    static DATA: OnceLock<BomData> = OnceLock::new();
    DATA.get_or_init(|| serde_saphyr::from_str(BOM_YAML).expect("presets/bom.yaml is valid"))
}

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Nodes (VMs of the management layer).
    Node,
    /// Prism Central VMs.
    PrismCentral,
    /// A service or storage the tier provisions (not counted as nodes).
    Service,
    /// The NKP edition's overhead (no units).
    Overhead,
}

/// What limits a role's nodes needed at peak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NeededBy {
    /// Its CPU with the headroom.
    Cpu,
    /// Its memory with the headroom.
    Memory,
    /// The role's minimum (high availability).
    Minimum,
    /// Not simulated: needed as provisioned.
    Provisioned,
}

/// Units and resources.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Amount {
    /// Units: nodes, VMs or instances [count].
    pub count: u32,
    /// vCPU.
    pub vcpu: f64,
    /// Memory [bytes].
    pub memory_bytes: f64,
    /// Disk [bytes].
    pub disk_bytes: f64,
}

impl Amount {
    fn of(count: u32, vcpu: f64, memory: f64, disk: f64) -> Amount {
        let n = f64::from(count);
        Amount {
            count,
            vcpu: n * vcpu,
            memory_bytes: n * memory,
            disk_bytes: n * disk,
        }
    }

    fn add(&mut self, o: &Amount) {
        self.count += o.count;
        self.vcpu += o.vcpu;
        self.memory_bytes += o.memory_bytes;
        self.disk_bytes += o.disk_bytes;
    }
}

/// One line of the bill.
#[derive(Clone, Debug, Serialize)]
pub struct BomLine {
    /// What: `control-plane nodes`, `Prometheus`, `Prism Central (x-large)`, ...
    pub item: String,
    /// What kind of thing it is.
    pub kind: Kind,
    /// What it is counted per.
    pub per: Per,
    /// Where its figures come from.
    pub source: String,
    /// What the configuration and the guide's tier provision, over the whole fleet.
    pub provisioned: Amount,
    /// What the simulation shows is needed at peak with the headroom.
    pub needed: Amount,
    /// What sets the needed count.
    pub needed_by: NeededBy,
    /// Whether one node of the role's size holds the demand each node carries whole
    /// (an etcd member, an API server's cache) within the headroom; absent where the
    /// simulation does not measure demand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fits_node_size: Option<bool>,
}

/// Totals of the lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct BomTotals {
    /// Nodes of the management layer (lines of kind `node`) [count].
    pub nodes: u32,
    /// Prism Central VMs [count].
    pub prism_centrals: u32,
    /// vCPU, every line.
    pub vcpu: f64,
    /// Memory, every line [bytes].
    pub memory_bytes: f64,
    /// Disk, every line [bytes].
    pub disk_bytes: f64,
}

/// The bill of materials of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Bom {
    /// The guide's tier whose data the bill uses.
    pub tier: String,
    /// The NKP edition (`nkp.edition`).
    pub edition: Edition,
    /// The edition's overhead on the management clusters' vCPU and memory [fraction].
    pub edition_overhead: f64,
    /// Management clusters [count].
    pub management_clusters: u32,
    /// Regions the management clusters are grouped in [count].
    pub regions: u32,
    /// The CPU headroom: peak demand stays below this fraction of the nodes' vCPU.
    pub cpu_headroom: f64,
    /// The memory headroom, as `cpu_headroom`.
    pub memory_headroom: f64,
    /// Where the tier's observability runs, in words.
    pub observability: String,
    /// The lines.
    pub lines: Vec<BomLine>,
    /// Sum of the lines' provisioned figures.
    pub provisioned: BomTotals,
    /// Sum of the lines' needed figures.
    pub needed: BomTotals,
}

/// The sums of `lines`, provisioned and needed.
pub fn totals(lines: &[BomLine]) -> (BomTotals, BomTotals) {
    let sum = |pick: fn(&BomLine) -> &Amount| {
        let mut t = BomTotals::default();
        for l in lines {
            let a = pick(l);
            match l.kind {
                Kind::Node => t.nodes += a.count,
                Kind::PrismCentral => t.prism_centrals += a.count,
                Kind::Service | Kind::Overhead => {}
            }
            t.vcpu += a.vcpu;
            t.memory_bytes += a.memory_bytes;
            t.disk_bytes += a.disk_bytes;
        }
        t
    };
    (sum(|l| &l.provisioned), sum(|l| &l.needed))
}

/// One node role's size and peak demand, for [`nodes_needed`].
#[derive(Clone, Copy, Debug)]
pub struct RoleSizing {
    /// Nodes provisioned [count].
    pub count: u32,
    /// vCPU per node.
    pub vcpu: f64,
    /// Memory per node [bytes].
    pub memory_bytes: f64,
    /// Peak CPU demand per node [cores].
    pub cpu_per_node: f64,
    /// Peak memory demand per node [bytes].
    pub memory_per_node: f64,
    /// Whether the CPU demand spreads over the nodes (else each node carries it whole).
    pub cpu_spreads: bool,
    /// Whether the memory demand spreads over the nodes.
    pub memory_spreads: bool,
    /// The fewest nodes [count].
    pub minimum: u32,
    /// Whether the count must be odd (etcd's quorum).
    pub odd: bool,
}

/// Nodes of the role's size that hold its peak demand below `cpu_f` of their vCPU and
/// `mem_f` of their memory: spread demand (per node × nodes) over ⌈total / (f × size)⌉
/// nodes, at least the minimum, odd where asked; with what set the count and whether the
/// demand each node carries whole fits one node within the headroom.
pub fn nodes_needed(s: &RoleSizing, cpu_f: f64, mem_f: f64) -> (u32, NeededBy, bool) {
    // Whole nodes: a tolerance keeps a demand of exactly k nodes' worth at k.
    let whole = |total: f64, per: f64| {
        if per > 0.0 {
            (total / per - 1e-9).ceil().max(0.0) as u32
        } else {
            0
        }
    };
    let n = f64::from(s.count);
    let cpu = if s.cpu_spreads {
        whole(s.cpu_per_node * n, cpu_f * s.vcpu)
    } else {
        0
    };
    let mem = if s.memory_spreads {
        whole(s.memory_per_node * n, mem_f * s.memory_bytes)
    } else {
        0
    };
    let (mut count, mut by) = (s.minimum, NeededBy::Minimum);
    if cpu > count {
        (count, by) = (cpu, NeededBy::Cpu);
    }
    if mem > count {
        (count, by) = (mem, NeededBy::Memory);
    }
    if s.odd && count % 2 == 0 {
        count += 1;
    }
    let fits = (s.cpu_spreads || s.cpu_per_node <= cpu_f * s.vcpu)
        && (s.memory_spreads || s.memory_per_node <= mem_f * s.memory_bytes);
    (count, by, fits)
}

/// The tier whose data a run's label picks: the tier it names, else (a profile without a
/// tier, whose nodes are the Small tier's) Small.
pub fn tier_of(label: &str) -> Tier {
    Tier::parse(label).unwrap_or(Tier::Small)
}

/// Prism Central's size as scenarios spell it.
fn pc_size_name(cfg: &ModelConfig) -> String {
    serde_json::to_value(cfg.prism_central.size)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The bill of a run on `cfg` labelled `label`, whose management clusters' node demand is
/// `parts` (one entry per management cluster).
pub fn build(cfg: &ModelConfig, label: &str, parts: &[&[NodeRoleDemand]]) -> Bom {
    let d = data();
    let tier = tier_of(label);
    let td = &d.tiers[tier.name()];
    let mc = (parts.len() as u32).max(1);
    let regions = mc.div_ceil(td.management_clusters_per_region.max(1));
    let th = &cfg.thresholds;
    let (cpu_f, mem_f) = (th.controller_cpu_fraction, th.controller_memory_fraction);
    let mut lines = Vec::new();
    let n = &cfg.nodes;
    let stacked = n.etcd.is_none();
    let mut roles: Vec<(&str, &NodePool)> = vec![("control-plane", &n.control_plane)];
    if let Some(e) = &n.etcd {
        roles.push(("etcd", e));
    }
    roles.push(("workers", &n.workers));
    for (role, pool) in roles {
        let disk = td
            .disk
            .get(role)
            .or_else(|| td.disk.get("control-plane"))
            .map_or(0.0, |b| b.0 as f64);
        let (vcpu, mem) = (pool.vcpu, pool.memory.0 as f64);
        let mut needed = Amount::default();
        let (mut by, mut fits) = (NeededBy::Minimum, true);
        for part in parts {
            let demand = part.iter().find(|c| c.role == role);
            let s = RoleSizing {
                count: pool.count,
                vcpu,
                memory_bytes: mem,
                cpu_per_node: demand.map_or(0.0, |c| c.cpu_demand_cores),
                memory_per_node: demand.map_or(0.0, |c| c.memory_demand_bytes),
                // The API servers share the requests and the managers' pods share the
                // workers; every etcd member applies every write and holds the whole
                // database, and every API server caches every object.
                cpu_spreads: role != "etcd",
                memory_spreads: role == "workers",
                minimum: d.minimum_nodes.get(role).copied().unwrap_or(1),
                odd: role == "etcd" || (role == "control-plane" && stacked),
            };
            let (count, b, f) = nodes_needed(&s, cpu_f, mem_f);
            needed.add(&Amount::of(count, vcpu, mem, disk));
            by = by.max_of(b);
            fits &= f;
        }
        lines.push(BomLine {
            item: match role {
                "workers" => "worker nodes".to_string(),
                r => format!("{r} nodes"),
            },
            kind: Kind::Node,
            per: Per::ManagementCluster,
            source: format!(
                "scenario nodes.{role}; disk: bom.yaml tiers.{}",
                tier.name()
            ),
            provisioned: Amount::of(pool.count * mc, vcpu, mem, disk),
            needed,
            needed_by: by,
            fits_node_size: Some(fits),
        });
    }
    for it in &td.items {
        let times = match it.per {
            Per::ManagementCluster => mc,
            Per::Region => regions,
            Per::Fleet => 1,
        };
        let a = Amount::of(
            it.count * times,
            it.vcpu,
            it.memory.0 as f64,
            it.disk.0 as f64,
        );
        lines.push(as_provisioned(
            &it.name,
            if it.node { Kind::Node } else { Kind::Service },
            it.per,
            format!("bom.yaml tiers.{}", tier.name()),
            a,
        ));
    }
    // The edition's overhead on the management clusters' nodes, provisioned and needed.
    let edition = cfg.nkp.edition;
    let overhead = d.editions.get(&edition).copied().unwrap_or(0.0);
    let on = |pick: fn(&BomLine) -> &Amount| {
        let mut a = Amount::default();
        for l in lines
            .iter()
            .filter(|l| l.kind == Kind::Node && l.per == Per::ManagementCluster)
        {
            let x = pick(l);
            a.vcpu += overhead * x.vcpu;
            a.memory_bytes += overhead * x.memory_bytes;
        }
        a
    };
    let (over_p, over_n) = (on(|l| &l.provisioned), on(|l| &l.needed));
    let pc = pc_size_name(cfg);
    let vm = d.prism_central.get(&pc).copied().unwrap_or(Vm {
        vcpu: 0.0,
        memory: Bytes(0),
        disk: Bytes(0),
    });
    lines.push(as_provisioned(
        &format!("Prism Central ({pc})"),
        Kind::PrismCentral,
        Per::ManagementCluster,
        format!("scenario prism-central.count, .size; VM: bom.yaml prism-central.{pc}"),
        Amount::of(
            cfg.prism_central.count * mc,
            vm.vcpu,
            vm.memory.0 as f64,
            vm.disk.0 as f64,
        ),
    ));
    lines.push(BomLine {
        item: format!(
            "NKP {} edition overhead (+{:.0} %)",
            edition.name(),
            overhead * 100.0
        ),
        kind: Kind::Overhead,
        per: Per::ManagementCluster,
        source: format!("scenario nkp.edition; bom.yaml editions.{}", edition.name()),
        provisioned: over_p,
        needed: over_n,
        needed_by: NeededBy::Provisioned,
        fits_node_size: None,
    });
    let (provisioned, needed) = totals(&lines);
    Bom {
        tier: tier.name().to_string(),
        edition,
        edition_overhead: overhead,
        management_clusters: mc,
        regions,
        cpu_headroom: cpu_f,
        memory_headroom: mem_f,
        observability: td.observability.clone(),
        lines,
        provisioned,
        needed,
    }
}

/// A line the simulation does not measure: needed as provisioned.
fn as_provisioned(item: &str, kind: Kind, per: Per, source: String, a: Amount) -> BomLine {
    BomLine {
        item: item.to_string(),
        kind,
        per,
        source,
        provisioned: a,
        needed: a,
        needed_by: NeededBy::Provisioned,
        fits_node_size: None,
    }
}

impl NeededBy {
    /// The more telling of two reasons across management clusters: resources over the
    /// minimum.
    fn max_of(self, o: NeededBy) -> NeededBy {
        let rank = |b: NeededBy| match b {
            NeededBy::Provisioned | NeededBy::Minimum => 0,
            NeededBy::Memory => 1,
            NeededBy::Cpu => 2,
        };
        if rank(o) > rank(self) { o } else { self }
    }
}

/// The guide's item that the simulated federation hub's nodes replace.
const GUIDE_HUB_ITEM: &str = "federation controller";

/// Puts the simulated federation hub's nodes in `bom` (in place of the guide's
/// federation-controller item): provisioned as `federation.nodes`; needed, the fewest of
/// that size (3 at least, odd: etcd runs on them) whose vCPU within the headroom holds
/// the hub's peak CPU (its API servers' spread over the nodes, its controllers' on top).
/// The hub's memory is not simulated: needed memory is that of the needed nodes.
pub fn add_hub(bom: &mut Bom, cfg: &ModelConfig, hub: &crate::federation::HubReport) {
    let pool = &cfg.federation.nodes;
    let (vcpu, mem) = (pool.vcpu, pool.memory.0 as f64);
    let replicas = f64::from(cfg.federation.control_plane.replicas);
    let total = hub.apiserver_cpu_peak_cores * replicas + hub.controllers_cpu_peak_cores;
    let s = RoleSizing {
        count: pool.count,
        vcpu,
        memory_bytes: mem,
        cpu_per_node: total / f64::from(pool.count.max(1)),
        memory_per_node: 0.0,
        cpu_spreads: true,
        memory_spreads: true,
        minimum: 3,
        odd: true,
    };
    let (count, needed_by, fits) = nodes_needed(&s, bom.cpu_headroom, bom.memory_headroom);
    let disk = data().tiers[tier_of(&bom.tier).name()]
        .items
        .iter()
        .find(|i| i.name == GUIDE_HUB_ITEM)
        .map_or(0.0, |i| i.disk.0 as f64);
    let line = BomLine {
        item: "federation hub nodes".into(),
        kind: Kind::Node,
        per: Per::Fleet,
        source: "scenario federation.nodes; simulated hub's CPU".into(),
        provisioned: Amount::of(pool.count, vcpu, mem, disk),
        needed: Amount::of(count, vcpu, mem, disk),
        needed_by,
        fits_node_size: Some(fits),
    };
    match bom.lines.iter().position(|l| l.item == GUIDE_HUB_ITEM) {
        Some(i) => bom.lines[i] = line,
        None => {
            let at = bom
                .lines
                .iter()
                .rposition(|l| l.kind == Kind::Node)
                .map_or(0, |i| i + 1);
            bom.lines.insert(at, line);
        }
    }
    (bom.provisioned, bom.needed) = totals(&bom.lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(count: u32, cpu: f64, mem: f64) -> RoleSizing {
        RoleSizing {
            count,
            vcpu: 16.0,
            memory_bytes: 64.0,
            cpu_per_node: cpu,
            memory_per_node: mem,
            cpu_spreads: true,
            memory_spreads: true,
            minimum: 2,
            odd: false,
        }
    }

    #[test]
    fn bom_data_loads() {
        let d = data();
        for t in Tier::ALL {
            let td = &d.tiers[t.name()];
            assert!(td.disk.contains_key("control-plane") && td.disk.contains_key("workers"));
        }
        assert_eq!(d.editions.len(), Edition::ALL.len());
        assert_eq!(d.prism_central.len(), 4);
    }

    #[test]
    fn needed_nodes_round_up_to_whole_nodes_under_the_headroom() {
        // 6 nodes × 10.0 cores = 60 cores; 80 % of 16 vCPU = 12.8 per node: 60 / 12.8 =
        // 4.69 → 5 nodes.
        assert_eq!(
            nodes_needed(&role(6, 10.0, 1.0), 0.8, 0.8),
            (5, NeededBy::Cpu, true)
        );
        // Exactly 5 nodes' worth (5 × 12.8 = 64 = 4 × 16.0) stays at 5.
        assert_eq!(nodes_needed(&role(4, 16.0, 1.0), 0.8, 0.8).0, 5);
        // Memory: 3 × 40 = 120; 80 % of 64 = 51.2: 2.34 → 3 nodes.
        assert_eq!(
            nodes_needed(&role(3, 1.0, 40.0), 0.8, 0.8),
            (3, NeededBy::Memory, true)
        );
        // Light demand: the minimum.
        assert_eq!(
            nodes_needed(&role(6, 0.5, 1.0), 0.8, 0.8),
            (2, NeededBy::Minimum, true)
        );
    }

    #[test]
    fn demand_every_node_carries_whole_only_says_whether_the_size_fits() {
        let etcd = RoleSizing {
            cpu_spreads: false,
            memory_spreads: false,
            odd: true,
            minimum: 3,
            ..role(5, 13.0, 10.0)
        };
        // 13 cores > 12.8: no count of 16-vCPU members holds it within 80 %.
        assert_eq!(nodes_needed(&etcd, 0.8, 0.8), (3, NeededBy::Minimum, false));
        // An odd count: 4 nodes' worth of spread CPU becomes 5 for etcd's quorum.
        let stacked = RoleSizing {
            odd: true,
            minimum: 3,
            ..role(4, 12.8, 1.0)
        };
        assert_eq!(nodes_needed(&stacked, 0.8, 0.8).0, 5);
    }
}
