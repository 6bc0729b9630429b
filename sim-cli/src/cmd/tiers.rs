//! `capsim tiers`: the guide's scale tiers and their key settings.

use models::scenario::presets::{self, Tier};

use crate::Outcome;
use crate::render::table::{Align, Table};

/// Arguments of `capsim tiers` (none).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  capsim tiers\n  capsim scenario show --tier large\n\n\
Exit status: 0 when the table is printed, 2 on a bad argument."
)]
pub struct Args {}

/// Prints the table of tiers.
pub fn run(_args: &Args) -> anyhow::Result<Outcome> {
    let mut t = Table::new(&[
        ("tier", Align::Left),
        ("clusters", Align::Right),
        ("per mgmt cluster", Align::Right),
        ("control plane", Align::Left),
        ("etcd", Align::Left),
        ("CAPI QPS/burst", Align::Right),
        ("CAPI shards", Align::Right),
        ("machine workers", Align::Right),
        ("CAPX VM workers", Align::Right),
        ("inflight", Align::Right),
        ("Prism Central", Align::Left),
    ]);
    let mut hubs = String::new();
    for tier in Tier::ALL {
        let c = presets::resolve(tier, &[])?;
        if c.federation.enabled {
            hubs.push_str(&hub_line(tier.name(), &c.federation));
        }
        let (lo, hi) = tier.fleet_range();
        let n = &c.nodes;
        let gib = |b: u64| b >> 30;
        let etcd = match &n.etcd {
            Some(e) => format!(
                "{}× {} vCPU/{} GiB, {}",
                e.count,
                e.vcpu,
                gib(e.memory.0),
                spelled(&c.etcd.disk)
            ),
            None => format!("on control plane, {}", spelled(&c.etcd.disk)),
        };
        let qps = match c.capi_controller_manager.kube_api_qps.0 {
            Some(q) => format!("{q}/{}", c.capi_controller_manager.kube_api_burst),
            None => "off".into(),
        };
        t.row(vec![
            tier.name().into(),
            match hi {
                Some(hi) => format!("{lo}–{hi}"),
                None => format!("{lo}+"),
            },
            match c.topology.clusters_per_management_cluster.0 {
                Some(cap) => format!("≤ {cap}"),
                None => "all".into(),
            },
            format!(
                "{}× {} vCPU/{} GiB",
                n.control_plane.count,
                n.control_plane.vcpu,
                gib(n.control_plane.memory.0)
            ),
            format!("{etcd}, quota {} GiB", gib(c.etcd.quota_backend_bytes.0)),
            qps,
            c.capi_controller_manager.shards.to_string(),
            c.capi_controller_manager
                .machine_concurrency
                .unwrap_or(1)
                .to_string(),
            c.capx_controller_manager
                .nutanixmachine_concurrency
                .unwrap_or(1)
                .to_string(),
            format!(
                "{}+{}",
                c.kube_apiserver.max_requests_inflight,
                c.kube_apiserver.max_mutating_requests_inflight
            ),
            spelled(&c.prism_central.size),
        ]);
    }
    print!(
        "The NKP CAPI scaling guide's tiers, as built-in presets (capsim scenario show --tier T \
         prints one in full). Settings are per management cluster; a fleet above \
         \"per mgmt cluster\" is split over identical management clusters.\n\n{}{hubs}",
        t.render()
    );
    Ok(Outcome::Success)
}

/// A tier's federation hub in a sentence.
fn hub_line(tier: &str, f: &models::scenario::federation::FederationSettings) -> String {
    let qps = |q: models::scenario::config::Qps, b: u32| match q.0 {
        Some(q) => format!("{q}/{b}"),
        None => "off".into(),
    };
    let cm = &f.karmada_controller_manager;
    format!(
        "\n{tier}: a federation hub above the management clusters (Karmada, {} mode) on {}× {} \
         vCPU/{} GiB: karmada-apiserver ×{} ({}+{} inflight), etcd on {}, controller-manager \
         QPS/burst {}{}; every ready workload cluster joins it (docs/model.md, \"Federation \
         hub\").\n",
        spelled(&f.mode),
        f.nodes.count,
        f.nodes.vcpu,
        f.nodes.memory.0 >> 30,
        f.control_plane.replicas,
        f.control_plane.max_requests_inflight,
        f.control_plane.max_mutating_requests_inflight,
        spelled(&f.control_plane.etcd_disk),
        qps(cm.kube_api_qps, cm.kube_api_burst),
        match f.mode {
            models::scenario::federation::SyncMode::Pull => format!(
                ", a karmada-agent per member at QPS/burst {}",
                qps(f.karmada_agent.kube_api_qps, f.karmada_agent.kube_api_burst)
            ),
            models::scenario::federation::SyncMode::Push => String::new(),
        }
    )
}

/// An enum value as the scenario files spell it (`nvme-raid1`, `x-large`).
fn spelled<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
