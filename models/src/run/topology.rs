//! Several management clusters: the fleet split among M identical, independent
//! management clusters (the guide's XL and Extreme architectures: regional management
//! clusters of ~500–600 workload clusters each, and their own Prism Central each).
//!
//! Each management cluster is simulated on its own, in parallel, with its own random
//! streams; the report gives each one's figures and a fleet-wide view: times over every
//! cluster of the fleet, counts summed, and for every other figure the worst management
//! cluster's value, since a capacity plan has to hold for each of them.

use rayon::prelude::*;
use sim_core::{RngStreams, SimError};

use crate::run::report::{self, Bottleneck, RunReport, WaitShare, quantile_of};
use crate::run::{RunOutput, RunPlan, simulate_part};
use crate::scenario::operations::{AfterOp, FleetSpec, OpTiming};

/// The clusters each of `parts` management clusters gets: as even as possible, the first
/// ones one more when it does not divide.
pub fn split(clusters: u32, parts: u32) -> Vec<u32> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| clusters / parts + u32::from(i < clusters % parts))
        .filter(|&n| n > 0)
        .collect()
}

/// One management cluster's report and its clusters' and machines' times to ready [s].
#[derive(Clone)]
pub struct Part {
    report: RunReport,
    cluster_times: Vec<f64>,
    machine_times: Vec<f64>,
    members: Vec<crate::federation::MemberSpan>,
}

/// The plans of the management clusters `plan` is split among, in order: management
/// cluster `i` runs its plan on stream `i` of the plan's seed and replica ([`run_part`]).
pub fn part_plans(plan: &RunPlan) -> Vec<RunPlan> {
    let shares = split(plan.fleet.clusters, plan.management_clusters);
    let parts = shares.len() as u32;
    shares
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mut part = plan.clone();
            part.fleet.clusters = n;
            part.management_clusters = 1;
            // Clusters added later are spread over the same management clusters, each
            // create's remainder where the last one's left off, so the parts stay even.
            let even = |n: u32| n / parts + u32::from((i as u32) < n % parts);
            let mut before = plan.fleet.clusters;
            for op in &mut part.after {
                if let AfterOp::Create { clusters, .. } = op {
                    let after = before + *clusters;
                    *clusters = even(after) - even(before);
                    before = after;
                }
            }
            part
        })
        .collect()
}

/// Whether management cluster `a` of one split run and `b` of another are the same
/// simulation: the same plan and the same streams. Every field is named, so that a field
/// added to [`RunPlan`] has to be placed here: compared, or shown not to matter.
pub fn same_part(a: &RunPlan, b: &RunPlan) -> bool {
    let RunPlan {
        config,
        tier,
        fleet,
        seed,
        replica,
        timeline,
        max_simulated,
        faults,
        management_clusters,
        after,
        // How a run is stopped or watched changes no figure of a run that finishes.
        stop: _,
        progress: _,
        // Applied to `config` before the plan is split (`sweep::replica_plan`).
        uncertainty: _,
    } = a;
    // The cheap fields first.
    *replica == b.replica
        && *seed == b.seed
        && *fleet == b.fleet
        && *management_clusters == b.management_clusters
        && *timeline == b.timeline
        && *max_simulated == b.max_simulated
        && *after == b.after
        && *faults == b.faults
        && *tier == b.tier
        && *config == b.config
}

/// Runs management cluster `index` of a split run, planned by [`part_plans`].
pub fn run_part(part: &RunPlan, index: usize) -> Result<Part, SimError> {
    let whole = RngStreams::new(part.seed, part.replica);
    let finished = simulate_part(part, whole.part(index as u64))?;
    let (cluster_times, machine_times) = report::fleet_times(&finished.world);
    let members = crate::run::hub::member_spans(&finished.world);
    let (now, steps) = (finished.now, finished.steps);
    let fleet = FleetSpec {
        clusters: part.total_clusters(),
        ..part.fleet
    };
    let report = report::build(
        &finished.world,
        &part.config,
        &part.tier,
        part.seed,
        fleet,
        now,
        steps,
    );
    Ok(Part {
        report,
        cluster_times,
        machine_times,
        members,
    })
}

/// Runs `plan` split among its management clusters and combines their reports.
pub fn run_split(plan: &RunPlan) -> Result<RunOutput, SimError> {
    // Every part runs to its end; the first error in part order is the run's.
    let parts: Vec<Result<Part, SimError>> = part_plans(plan)
        .par_iter()
        .enumerate()
        .map(|(i, part)| run_part(part, i))
        .collect();
    assemble(plan, parts.into_iter().collect::<Result<_, _>>()?)
}

/// The run of `plan` from its management clusters' parts, in order.
pub fn assemble(plan: &RunPlan, parts: Vec<Part>) -> Result<RunOutput, SimError> {
    let mut reports = Vec::new();
    let (mut cluster_times, mut machine_times) = (Vec::new(), Vec::new());
    let mut members = Vec::new();
    for p in parts {
        cluster_times.extend(p.cluster_times);
        machine_times.extend(p.machine_times);
        members.extend(p.members);
        reports.push(p.report);
    }
    let mut report = combine(plan, reports, cluster_times, machine_times);
    crate::run::hub::attach(plan, &mut report, members)?;
    Ok(RunOutput {
        report,
        timeline: Vec::new(),
    })
}

fn max_f(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(0.0, f64::max)
}

/// The fleet-wide report of several management clusters' reports.
fn combine(
    plan: &RunPlan,
    parts: Vec<RunReport>,
    cluster_times: Vec<f64>,
    machine_times: Vec<f64>,
) -> RunReport {
    let mut r = parts[0].clone();
    let all = &parts;
    combine_fleet(&mut r, all, plan, cluster_times, machine_times);
    combine_apiserver(&mut r, all);
    combine_controllers(&mut r, all);
    combine_managers(&mut r, all);
    combine_etcd(&mut r, all);
    combine_prism_central(&mut r, all);
    combine_capacity(&mut r, all);
    combine_checklist(&mut r, all, plan);
    combine_waiting(&mut r, all);
    combine_counts(&mut r, all);
    combine_operations(&mut r, all);
    let demand: Vec<&[_]> = all.iter().map(|p| p.capacity.as_slice()).collect();
    r.bom = report::bom::build(&plan.config, &plan.tier, &demand);
    r.alerts = crate::run::report::combine_alerts(all, r.fleet.simulated_s);
    r.management_clusters = parts;
    r
}

/// Fleet figures: counts summed, times over every cluster of the fleet.
fn combine_fleet(
    r: &mut RunReport,
    all: &[RunReport],
    plan: &RunPlan,
    cluster_times: Vec<f64>,
    machine_times: Vec<f64>,
) {
    r.fleet.clusters = plan.total_clusters();
    r.fleet.clusters_ready = all.iter().map(|p| p.fleet.clusters_ready).sum();
    r.fleet.machines_running = all.iter().map(|p| p.fleet.machines_running).sum();
    r.fleet.machines_remediated = all.iter().map(|p| p.fleet.machines_remediated).sum();
    r.fleet.node_failures = all.iter().map(|p| p.fleet.node_failures).sum();
    r.fleet.time_to_ready_s = all
        .iter()
        .map(|p| p.fleet.time_to_ready_s)
        .try_fold(0.0, |acc: f64, t| t.map(|t| acc.max(t)));
    r.fleet.cluster_ready_p50_s = quantile_of(cluster_times.clone(), 0.5);
    r.fleet.cluster_ready_p95_s = quantile_of(cluster_times, 0.95);
    r.fleet.machine_ready_p95_s = quantile_of(machine_times, 0.95);
    r.fleet.simulated_s = max_f(all.iter().map(|p| p.fleet.simulated_s));
}

/// API server: the worst latency and seats, counts summed.
fn combine_apiserver(r: &mut RunReport, all: &[RunReport]) {
    let a = &mut r.apiserver;
    a.mutating_p99_s = max_f(all.iter().map(|p| p.apiserver.mutating_p99_s));
    a.readonly_p99_s = max_f(all.iter().map(|p| p.apiserver.readonly_p99_s));
    a.requests_429 = all.iter().map(|p| p.apiserver.requests_429).sum();
    a.requests_failed = all.iter().map(|p| p.apiserver.requests_failed).sum();
    a.seats_peak = max_f(all.iter().map(|p| p.apiserver.seats_peak));
    for (k, v) in a.requests_by_kind.iter_mut() {
        *v = all
            .iter()
            .map(|p| p.apiserver.requests_by_kind.get(k).copied().unwrap_or(0))
            .sum();
    }
}

/// Controllers: the worst depth and latencies, counts summed.
fn combine_controllers(r: &mut RunReport, all: &[RunReport]) {
    for (i, c) in r.controllers.iter_mut().enumerate() {
        let each = || all.iter().map(move |p| &p.controllers[i]);
        c.depth_max = max_f(each().map(|x| x.depth_max));
        c.depth_above_threshold_longest_s =
            max_f(each().map(|x| x.depth_above_threshold_longest_s));
        c.queue_latency_p99_s = max_f(each().map(|x| x.queue_latency_p99_s));
        c.reconcile_p99_s = max_f(each().map(|x| x.reconcile_p99_s));
        c.reconciles = each().map(|x| x.reconciles).sum();
        c.errors = each().map(|x| x.errors).sum();
        c.retries = each().map(|x| x.retries).sum();
        c.rate_limiter_wait_s = each().map(|x| x.rate_limiter_wait_s).sum();
    }
}

/// Managers: the highest CPU and memory, counts summed.
fn combine_managers(r: &mut RunReport, all: &[RunReport]) {
    for (i, m) in r.managers.iter_mut().enumerate() {
        let each = || all.iter().map(move |p| &p.managers[i]);
        m.cpu_peak_cores = max_f(each().map(|x| x.cpu_peak_cores));
        m.memory_peak_bytes = max_f(each().map(|x| x.memory_peak_bytes));
        m.oom_kills = each().map(|x| x.oom_kills).sum();
        m.restarts = each().map(|x| x.restarts).sum();
        m.leader_elections_lost = each().map(|x| x.leader_elections_lost).sum();
        m.rate_limiter_wait_p99_s = max_f(each().map(|x| x.rate_limiter_wait_p99_s));
        m.rate_limiter_wait_total_s = each().map(|x| x.rate_limiter_wait_total_s).sum();
    }
}

/// etcd: the fullest management cluster's, writes summed, the worst latencies, the first alarm.
fn combine_etcd(r: &mut RunReport, all: &[RunReport]) {
    // etcd and Prism Central: the fullest management cluster's, counts summed.
    let fullest = all
        .iter()
        .max_by(|x, y| x.etcd.db_peak_fraction.total_cmp(&y.etcd.db_peak_fraction))
        .expect("at least one part");
    r.etcd = fullest.etcd.clone();
    r.etcd.writes = all.iter().map(|p| p.etcd.writes).sum();
    r.etcd.writes_per_s = all.iter().map(|p| p.etcd.writes_per_s).sum();
    r.etcd.fsync_p99_s = max_f(all.iter().map(|p| p.etcd.fsync_p99_s));
    r.etcd.commit_p99_s = max_f(all.iter().map(|p| p.etcd.commit_p99_s));
    r.etcd.nospace_at_s = all
        .iter()
        .filter_map(|p| p.etcd.nospace_at_s)
        .reduce(f64::min);
}

/// Prism Central: the worst queue and latency, counts summed.
fn combine_prism_central(r: &mut RunReport, all: &[RunReport]) {
    let pc = &mut r.prism_central;
    pc.queue_depth_max = max_f(all.iter().map(|p| p.prism_central.queue_depth_max));
    pc.tasks_running_max = max_f(all.iter().map(|p| p.prism_central.tasks_running_max));
    pc.vm_create_p95_s = max_f(all.iter().map(|p| p.prism_central.vm_create_p95_s));
    pc.rate_limited = all.iter().map(|p| p.prism_central.rate_limited).sum();
    pc.requests = all.iter().map(|p| p.prism_central.requests).sum();
    pc.unavailable = all.iter().map(|p| p.prism_central.unavailable).sum();
    pc.vm_create_failures = all.iter().map(|p| p.prism_central.vm_create_failures).sum();
}

/// Node demand: the highest; fits only if it fits everywhere.
fn combine_capacity(r: &mut RunReport, all: &[RunReport]) {
    for (i, c) in r.capacity.iter_mut().enumerate() {
        let each = || all.iter().map(move |p| &p.capacity[i]);
        c.cpu_demand_cores = max_f(each().map(|x| x.cpu_demand_cores));
        c.memory_demand_bytes = max_f(each().map(|x| x.memory_demand_bytes));
        c.saturated_s = max_f(each().map(|x| x.saturated_s));
        c.fits = each().all(|x| x.fits);
    }
}

/// Checklist: an item passes only if it passes everywhere, at its worst value.
fn combine_checklist(r: &mut RunReport, all: &[RunReport], plan: &RunPlan) {
    for (i, item) in r.checklist.iter_mut().enumerate() {
        let each = || all.iter().map(move |p| &p.checklist[i]);
        item.pass = each().all(|x| x.pass);
        item.value = if i == 0 {
            // "All clusters ready": ready clusters of the whole fleet.
            f64::from(r.fleet.clusters_ready)
        } else {
            max_f(each().map(|x| x.value))
        };
        if i == 0 {
            item.threshold = f64::from(plan.total_clusters());
        }
    }
}

/// Waiting summed over the fleet; the bottleneck is the largest, at its worst part.
fn combine_waiting(r: &mut RunReport, all: &[RunReport]) {
    let totals: Vec<f64> = (0..r.waiting.len())
        .map(|i| all.iter().map(|p| p.waiting[i].seconds).sum())
        .collect();
    let sum: f64 = totals.iter().sum();
    r.waiting = r
        .waiting
        .iter()
        .zip(&totals)
        .map(|(w, &s)| WaitShare {
            resource: w.resource.clone(),
            seconds: s,
            share: if sum > 0.0 { s / sum } else { 0.0 },
        })
        .collect();
    let top = r
        .waiting
        .iter()
        .max_by(|x, y| x.seconds.total_cmp(&y.seconds))
        .expect("six resources")
        .clone();
    let at = all
        .iter()
        .filter(|p| p.bottleneck.resource == top.resource)
        .max_by(|x, y| x.bottleneck.share.total_cmp(&y.bottleneck.share))
        .map_or(String::new(), |p| p.bottleneck.at.clone());
    r.bottleneck = Bottleneck {
        resource: top.resource,
        share: top.share,
        at,
    };
}

/// Writes and events summed.
fn combine_counts(r: &mut RunReport, all: &[RunReport]) {
    // Every key of every part: a kind one management cluster never wrote still counts.
    r.writes_by_kind.clear();
    r.writes_by_verb.clear();
    r.requests_by_mechanism.clear();
    for p in all {
        for (k, v) in &p.writes_by_kind {
            *r.writes_by_kind.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &p.writes_by_verb {
            *r.writes_by_verb.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &p.requests_by_mechanism {
            *r.requests_by_mechanism.entry(k.clone()).or_insert(0) += v;
        }
    }
    r.sim_events = all.iter().map(|p| p.sim_events).sum();
    // Each phase: the slowest management cluster's (its quantiles are not merged).
    let ph = |f: fn(&RunReport) -> f64| all.iter().map(f).fold(f64::NAN, f64::max);
    r.phases = crate::run::report::PhaseFigures {
        control_plane_initialized_p50_s: ph(|p| p.phases.control_plane_initialized_p50_s),
        control_plane_initialized_p95_s: ph(|p| p.phases.control_plane_initialized_p95_s),
        control_plane_ready_p50_s: ph(|p| p.phases.control_plane_ready_p50_s),
        control_plane_ready_p95_s: ph(|p| p.phases.control_plane_ready_p95_s),
        machine_bootstrap_p50_s: ph(|p| p.phases.machine_bootstrap_p50_s),
        machine_bootstrap_p95_s: ph(|p| p.phases.machine_bootstrap_p95_s),
        machine_vm_p50_s: ph(|p| p.phases.machine_vm_p50_s),
        machine_vm_p95_s: ph(|p| p.phases.machine_vm_p95_s),
        machine_boot_p50_s: ph(|p| p.phases.machine_boot_p50_s),
        machine_boot_p95_s: ph(|p| p.phases.machine_boot_p95_s),
        machine_join_p50_s: ph(|p| p.phases.machine_join_p50_s),
        machine_join_p95_s: ph(|p| p.phases.machine_join_p95_s),
    };
}

/// Operations from the first start to the last end; the busiest steady window.
fn combine_operations(r: &mut RunReport, all: &[RunReport]) {
    // Each operation across the management clusters: from the first start to the last end.
    r.operations = (0..all.iter().map(|p| p.operations.len()).min().unwrap_or(0))
        .map(|i| OpTiming {
            op: all[0].operations[i].op.clone(),
            started_s: all
                .iter()
                .map(|p| p.operations[i].started_s)
                .fold(f64::INFINITY, f64::min),
            finished_s: all
                .iter()
                .map(|p| p.operations[i].finished_s)
                .try_fold(0.0, |acc: f64, t| t.map(|t| acc.max(t))),
        })
        .collect();
    // The idle load of the busiest management cluster (by API requests), if every one
    // had a steady window.
    r.steady = all
        .iter()
        .map(|p| p.steady.clone())
        .collect::<Option<Vec<_>>>()
        .and_then(|v| {
            v.into_iter()
                .max_by(|a, b| a.api_requests_per_s.total_cmp(&b.api_requests_per_s))
        });
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_is_even_and_complete() {
        assert_eq!(split(10, 3), vec![4, 3, 3]);
        assert_eq!(split(9, 3), vec![3, 3, 3]);
        assert_eq!(split(2, 5), vec![1, 1]);
        assert_eq!(split(2000, 3).iter().sum::<u32>(), 2000);
    }
}
