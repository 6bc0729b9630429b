//! Guards around a run (issue 13, "Guards"): a stop from outside ends the run with the
//! reason and the simulated time it reached, watching a run changes none of its figures,
//! and the memory estimate made before a run is close to what the run takes.
//!
//! Each test stops its runs through a flag of its own, never the process-wide one, so the
//! tests of this binary cannot stop each other's runs.

use std::sync::Arc;
use std::time::Duration;

use models::run::memory;
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

/// Peak resident memory of this process so far (Linux: `VmHWM` in /proc/self/status).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A plan whose memory is mostly its world: ten machines per cluster, the CAPI manager
/// split into 16 shards (each with its own queues and caches).
fn memory_plan() -> RunPlan {
    let sets = ["capi-controller-manager.shards=16".parse().unwrap()];
    RunPlan::new(
        presets::resolve(Tier::Medium, &sets).unwrap(),
        Tier::Medium.name(),
        FleetSpec::all_at_once(100, 10, 3),
        1,
    )
}

/// Runs `memory_plan` in a child process of this test binary (so that no other test's
/// memory counts) and compares its peak memory with the estimate.
#[test]
fn a_run_takes_about_the_memory_estimated_before_it() {
    const CHILD: &str = "CAPSIM_MEMORY_CHILD";
    if std::env::var_os(CHILD).is_some() {
        run(&memory_plan()).unwrap();
        if let Some(peak) = peak_rss_bytes() {
            println!("peak-rss-bytes {peak}");
        }
        return;
    }
    if peak_rss_bytes().is_none() {
        return; // Not Linux: nothing to measure with.
    }
    let name = "a_run_takes_about_the_memory_estimated_before_it";
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let peak: f64 = stdout
        .split("peak-rss-bytes ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the child printed no figure: {stdout}"))
        .parse()
        .unwrap();
    let estimate = memory::estimate(&[memory_plan()], 1, 1).total_bytes as f64;
    let ratio = peak / estimate;
    assert!(
        (0.67..1.5).contains(&ratio),
        "measured {:.1} MiB, estimated {:.1} MiB",
        peak / 1048576.0,
        estimate / 1048576.0
    );
}
