//! The sweep's per-replica figures are the run report's (issue 19, item 4: cargo-mutants
//! found `figures_of` tested only through the CLI). Each figure is read back from the
//! report section it names, or recomputed from the checklist it summarises.

use models::run::figures::figures_of;
use models::run::run;
use models::scenario::operations::{AfterOp, FleetSpec};
use models::scenario::presets::{self, Override, Tier};

#[test]
fn a_replicas_figures_are_its_reports() {
    // Every manager's CPU limit above one core, so that a fraction differs from its peak.
    let limits: Vec<Override> = [
        "capi-controller-manager",
        "capi-kubeadm-bootstrap",
        "capi-kubeadm-control-plane",
        "capx-controller-manager",
    ]
    .iter()
    .map(|m| format!("{m}.cpu-limit=4").parse().unwrap())
    .collect();
    let mut plan = models::run::RunPlan::new(
        presets::resolve(Tier::Small, &limits).unwrap(),
        "small",
        FleetSpec::all_at_once(4, 4, 1),
        3,
    );
    plan.after = vec![AfterOp::Scale { by: 1 }, AfterOp::Scale { by: -1 }];
    let r = run(&plan).unwrap().report;
    let watched = &plan.config.thresholds.workqueue_depth_controllers;
    let f = figures_of(&r, watched);
    assert_eq!(f["fleet_time_to_ready_s"], r.fleet.time_to_ready_s.unwrap());
    assert_eq!(f["clusters_ready"], 4.0);
    assert_eq!(f["api_mutating_p99_s"], r.apiserver.mutating_p99_s);
    assert_eq!(f["etcd_db_peak_bytes"], r.etcd.db_peak_bytes as f64);
    assert_eq!(f["pc_vm_create_p95_s"], r.prism_central.vm_create_p95_s);
    let depth = r
        .controllers
        .iter()
        .map(|c| c.depth_max)
        .fold(0.0, f64::max);
    assert_eq!(f["workqueue_depth_max"], depth);
    assert!(f["workqueue_depth_max_watched"] <= depth && f["workqueue_depth_max_other"] <= depth);
    assert_eq!(
        depth,
        f["workqueue_depth_max_watched"].max(f["workqueue_depth_max_other"])
    );
    // The worst margin is the checklist item nearest its threshold, value over threshold.
    let worst = r
        .checklist
        .iter()
        .filter(|c| c.threshold > 0.0 && c.unit != "clusters")
        .map(|c| c.value / c.threshold)
        .fold(f64::NAN, f64::max);
    assert_eq!(f["checklist_worst_margin"], worst);
    assert!(worst > 0.0 && worst < 1.0, "a small fleet passes: {worst}");
    // A ready fleet has no stop time and no NOSPACE.
    assert!(!f.contains_key("stopped_not_ready_s") && !f.contains_key("etcd_nospace_at_s"));
    // Waiting per machine: the report's waiting over the fleet's 16 machines.
    for w in &r.waiting {
        let key = format!("wait_per_machine_{}_s", w.resource.replace('-', "_"));
        assert_eq!(f[&key], w.seconds / 16.0, "{key}");
    }
    assert_eq!(f["management_clusters"], 1.0);
    // Both scales' durations, summed.
    let scales: f64 = r
        .operations
        .iter()
        .filter(|o| o.op == "scale")
        .map(|o| o.finished_s.unwrap() - o.started_s)
        .sum();
    assert_eq!(r.operations.iter().filter(|o| o.op == "scale").count(), 2);
    assert!(scales > 0.0);
    assert_eq!(f["scale_time_s"], scales);
    assert!(!f.contains_key("upgrade_time_s"));
    let peak = |frac: fn(&models::run::report::ManagerReport) -> f64| {
        r.managers.iter().map(frac).fold(0.0, f64::max)
    };
    assert_eq!(
        f["controller_cpu_fraction_max"],
        peak(|m| m.cpu_peak_cores / m.cpu_limit_cores)
    );
    assert_eq!(
        f["controller_memory_fraction_max"],
        peak(|m| m.memory_peak_bytes / m.memory_limit_bytes)
    );
    assert!(f["controller_cpu_fraction_max"] > 0.0 && f["controller_cpu_fraction_max"] < 1.0);
    // The checklist holds the same fraction, and a fleet whose every role fits and that
    // nothing OOM-kills has no kills to count.
    let item = |prefix: &str| {
        r.checklist
            .iter()
            .find(|c| c.name.starts_with(prefix))
            .unwrap()
    };
    assert_eq!(
        item("Controller CPU").value,
        f["controller_cpu_fraction_max"]
    );
    assert!(r.capacity.iter().all(|c| c.fits));
    assert_eq!(
        (item("No OOM kills").value, item("No OOM kills").pass),
        (0.0, true)
    );
}
