//! Stopping a run from outside and watching its progress (issue 13, "Guards"): a stop
//! ends the run with the reason and the simulated time it reached, and watching a run
//! changes none of its figures.
//!
//! Each test stops its runs through a flag of its own, never the process-wide one, so the
//! tests of this binary cannot stop each other's runs.

use std::sync::Arc;
use std::time::Duration;

use models::run::progress::RunProgress;
use models::run::{RunPlan, run};
use models::scenario::operations::{AfterOp, FleetSpec};
use models::scenario::presets::{self, Tier};
use sim_core::cancel::{Stop, StopFlag, StopReason};
use sim_core::{SimDuration, SimError, SimTime};

fn make_plan(clusters: u32, machines: u32) -> RunPlan {
    RunPlan::new(
        presets::resolve(Tier::Medium, &[]).unwrap(),
        Tier::Medium.name(),
        FleetSpec::all_at_once(clusters, machines, 1),
        1,
    )
}

fn stopped(result: Result<models::run::RunOutput, SimError>) -> (StopReason, SimTime) {
    match result {
        Err(SimError::Stopped { reason, at }) => (reason, at),
        Err(e) => panic!("stopped for another reason: {e}"),
        Ok(_) => panic!("the run finished"),
    }
}

#[test]
fn a_stop_requested_before_the_run_stops_it_at_time_zero() {
    let flag = Arc::new(StopFlag::new());
    flag.request(StopReason::Interrupted);
    let mut plan = make_plan(10, 5);
    plan.stop = Stop::from_flag(flag);
    assert_eq!(
        stopped(run(&plan)),
        (StopReason::Interrupted, SimTime::ZERO)
    );
}

#[test]
fn a_stop_requested_while_the_run_goes_stops_it_where_it_got_to() {
    let flag = Arc::new(StopFlag::new());
    let progress = Arc::new(RunProgress::new());
    let mut plan = make_plan(5, 3);
    // A week of steady state after the fleet is ready: far longer than the watcher needs.
    plan.max_simulated = SimDuration::from_hours(720);
    plan.after = vec![AfterOp::Steady(SimDuration::from_hours(168))];
    plan.stop = Stop::from_flag(flag.clone());
    plan.progress = Some(progress.clone());
    let mark = SimDuration::from_mins(10);
    let watcher = std::thread::spawn(move || {
        while progress.simulated() < mark {
            std::thread::sleep(Duration::from_millis(1));
        }
        flag.request(StopReason::Interrupted);
    });
    let (reason, at) = stopped(run(&plan));
    watcher.join().unwrap();
    assert_eq!(reason, StopReason::Interrupted);
    assert!(at >= SimTime::ZERO + mark, "stopped at {at}");
    assert!(
        at < SimTime::ZERO + SimDuration::from_hours(168),
        "stopped at {at}"
    );
    // Between 60-s steps: on a whole minute.
    assert_eq!(at.as_nanos() % SimDuration::from_secs(60).as_nanos(), 0);
}

#[test]
fn a_passed_wall_clock_deadline_stops_every_management_cluster() {
    let mut plan = make_plan(6, 3);
    plan.management_clusters = 3;
    let limit = Duration::from_secs(600);
    plan.stop =
        Stop::from_flag(Arc::new(StopFlag::new())).with_deadline(std::time::Instant::now(), limit);
    assert_eq!(
        stopped(run(&plan)),
        (StopReason::WallClockLimit(limit), SimTime::ZERO)
    );
}

#[test]
fn the_error_says_why_and_when() {
    let e = SimError::Stopped {
        reason: StopReason::WallClockLimit(Duration::from_secs(600)),
        at: SimTime::from_secs(3 * 3600 + 12 * 60),
    };
    assert_eq!(
        e.to_string(),
        "the run stopped after the wall-clock limit of 10m00s at simulated time 3h12m00s"
    );
}

#[test]
fn watching_a_run_changes_none_of_its_figures_and_ends_at_its_totals() {
    let plain = run(&make_plan(20, 5)).unwrap().report;
    for parts in [1, 2] {
        let progress = Arc::new(RunProgress::new());
        let mut plan = make_plan(20, 5);
        plan.management_clusters = parts;
        plan.progress = Some(progress.clone());
        let watched = run(&plan).unwrap().report;
        let mut unwatched = make_plan(20, 5);
        unwatched.management_clusters = parts;
        let unwatched = run(&unwatched).unwrap().report;
        assert_eq!(
            serde_json::to_string(&watched).unwrap(),
            serde_json::to_string(&unwatched).unwrap()
        );
        assert_eq!(
            progress.clusters_ready(),
            u64::from(watched.fleet.clusters_ready)
        );
        assert_eq!(progress.events(), watched.sim_events);
        let simulated = progress.simulated().as_secs_f64();
        assert!((simulated - watched.fleet.simulated_s).abs() < 1e-6);
        if parts == 1 {
            assert_eq!(
                serde_json::to_string(&watched).unwrap(),
                serde_json::to_string(&plain).unwrap()
            );
        }
    }
}
