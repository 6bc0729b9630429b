//! The federation hub of a run: fed by the management clusters' worlds (when each
//! workload cluster became ready, when its deletion started) and by the workload's
//! `propagate` operations, simulated after them ([`crate::federation`]), its figures
//! and its two checklist items added to the run's report.

use sim_core::{RngStreams, SimError};

use crate::federation::{self, HubInput, MemberSpan, Propagation};
use crate::run::RunPlan;
use crate::run::report::{self, RunReport};
use crate::scenario::operations::AfterOp;
use crate::world::World;

/// The part number of the hub's random streams: apart from every management cluster's.
const HUB_PART: u64 = 0xFED0_0000;

/// The hub runs at least this long after its last member's workload cluster became
/// ready [s]: the management clusters' run ends when the fleet is ready, when most
/// members have only just joined, and the heartbeat target is about the whole fleet's
/// steady beat (30 periods of 10 s).
const SETTLE_S: f64 = 300.0;

/// Every workload cluster of `world` that became ready: when, and when its deletion
/// started.
pub fn member_spans(world: &World) -> Vec<MemberSpan> {
    world
        .clusters
        .iter()
        .filter_map(|c| {
            Some(MemberSpan {
                ready_s: c.ready_at?.as_secs_f64(),
                leave_s: c.deleting_at.map(|t| t.as_secs_f64()),
            })
        })
        .collect()
}

/// Simulates the hub of `plan` over `members` and adds its figures and checklist items
/// to `report`. Nothing when the configuration has no hub.
pub fn attach(
    plan: &RunPlan,
    report: &mut RunReport,
    members: Vec<MemberSpan>,
) -> Result<(), SimError> {
    let cfg = &plan.config;
    if !cfg.federation.enabled {
        return Ok(());
    }
    // Each propagation starts when every management cluster has reached it (the latest
    // of their starts; the combined report's is the earliest).
    let starts_of = |r: &RunReport| -> Vec<f64> {
        let ops = r.operations.iter().filter(|o| o.op == "propagate");
        ops.map(|o| o.started_s).collect()
    };
    let mut starts = starts_of(report);
    for part in &report.management_clusters {
        for (s, p) in starts.iter_mut().zip(starts_of(part)) {
            *s = s.max(p);
        }
    }
    let ops = plan.after.iter().filter_map(|op| match op {
        AfterOp::Propagate {
            resources,
            fraction,
        } => Some((*resources, *fraction)),
        _ => None,
    });
    let propagations = ops
        .zip(starts)
        .map(|((resources, fraction), at_s)| Propagation {
            at_s,
            resources,
            fraction,
        })
        .collect();
    let last_ready = members.iter().map(|m| m.ready_s).fold(0.0, f64::max);
    let input = HubInput {
        members,
        propagations,
        until_s: report.fleet.simulated_s.max(last_ready + SETTLE_S),
    };
    let streams = RngStreams::new(plan.seed, plan.replica).part(HUB_PART);
    let hub = federation::simulate(cfg, &input, &streams)?;
    fold_hub_into_checklist(report, &hub);
    report.checklist.extend(report::federation_checklist(
        &hub,
        &cfg.thresholds,
        !input.propagations.is_empty(),
    ));
    report::bom::add_hub(&mut report.bom, cfg, &hub);
    report.federation = Some(hub);
    Ok(())
}

/// The hub's etcd and API server are one more etcd and API server of the fleet's
/// management layer: the checklist's items on etcd's size, fsync and alarms and on the
/// mutating API latency take the worse of the management clusters' and the hub's.
fn fold_hub_into_checklist(report: &mut RunReport, hub: &federation::HubReport) {
    let fraction = hub.etcd_db_peak_bytes as f64 / hub.etcd_quota_bytes.max(1) as f64;
    let alarm = f64::from(u8::from(hub.etcd_nospace_at_s.is_some()));
    let worse = [
        (report::CHECKLIST_ORDER[6], fraction),
        (
            report::CHECKLIST_ORDER[7],
            hub.etcd_fsync_p99_s.unwrap_or(0.0),
        ),
        (report::CHECKLIST_ORDER[8], alarm),
        (
            report::CHECKLIST_ORDER[10],
            hub.api_mutating_p99_s.unwrap_or(0.0),
        ),
    ];
    for (name, value) in worse {
        if let Some(item) = report.checklist.iter_mut().find(|c| c.name == name)
            && value > item.value
        {
            item.value = value;
            item.pass = if item.threshold > 0.0 {
                value < item.threshold
            } else {
                value == 0.0
            };
        }
    }
}
