//! The guide's alerts (issue 14, item 5): "an alert fires exactly when its condition has
//! held for its `for:`", `histogram_quantile` as Prometheus computes it from buckets, and
//! runs in which an alert fires and in which none does.

use models::prometheus::{AlertState, RECONCILE_TIME_BUCKETS, Transition, histogram_quantile};
use models::run::report::{AlertReport, RunReport};
use models::run::{RunPlan, run};
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};
use sim_core::{SimDuration, SimTime};

const EVERY_S: u64 = 30;
const FOR_5M: SimDuration = SimDuration::from_mins(5);

fn at(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

/// Evaluates an alert every 30 s from 0 to `until_s`, its expression true from `from_s`
/// for `held_s` (those evaluations included), and returns each evaluation's transition.
fn evaluate(from_s: u64, held_s: u64, until_s: u64) -> Vec<(u64, Transition)> {
    let mut st = AlertState::default();
    (0..=until_s)
        .step_by(EVERY_S as usize)
        .map(|t| {
            let holds = t >= from_s && t <= from_s + held_s;
            (t, st.evaluate(at(t), holds, FOR_5M))
        })
        .filter(|(_, tr)| *tr != Transition::Unchanged)
        .collect()
}

#[test]
fn an_alert_true_for_less_than_its_for_is_pending_and_never_fires() {
    // True at 60, 90, ..., 330 (4 m 30 s after the first true evaluation), false at 360.
    assert_eq!(
        evaluate(60, 270, 900),
        [(60, Transition::Pending), (360, Transition::Dropped)]
    );
}

#[test]
fn an_alert_fires_at_the_evaluation_its_for_after_the_first_true_one_and_resolves_at_the_first_false()
 {
    // True at 60..=360: pending at 60, firing at exactly 60 + 5 m, resolved at 390.
    assert_eq!(
        evaluate(60, 300, 900),
        [
            (60, Transition::Pending),
            (360, Transition::Fired),
            (390, Transition::Resolved)
        ]
    );
}

#[test]
fn an_alert_with_for_zero_fires_at_its_first_true_evaluation() {
    let mut st = AlertState::default();
    assert_eq!(
        st.evaluate(at(30), true, SimDuration::ZERO),
        Transition::Fired
    );
    assert_eq!(
        st.evaluate(at(60), true, SimDuration::ZERO),
        Transition::Unchanged
    );
    assert!(st.firing());
}

#[test]
fn a_false_evaluation_restarts_the_for_count() {
    let mut st = AlertState::default();
    for t in (0..=270).step_by(30) {
        st.evaluate(at(t), true, FOR_5M);
    }
    assert_eq!(st.evaluate(at(300), false, FOR_5M), Transition::Dropped);
    assert_eq!(st.evaluate(at(330), true, FOR_5M), Transition::Pending);
    assert_eq!(st.evaluate(at(600), true, FOR_5M), Transition::Unchanged);
    assert_eq!(st.evaluate(at(630), true, FOR_5M), Transition::Fired);
}

#[test]
fn histogram_quantile_interpolates_linearly_within_the_bucket_of_the_rank() {
    let bounds = [1.0, 2.0, 5.0];
    // 10 in (0, 1], 20 in (1, 2], 10 in (2, 5], none above: 40 observations.
    let counts = [10, 20, 10, 0];
    // Rank 20 falls 10 into (1, 2]'s 20: 1 + 1 × 10/20.
    assert_eq!(histogram_quantile(0.5, &bounds, &counts), Some(1.5));
    // Rank 36 falls 6 into (2, 5]'s 10: 2 + 3 × 6/10.
    let p90 = histogram_quantile(0.9, &bounds, &counts).unwrap();
    assert!((p90 - 3.8).abs() < 1e-12, "{p90}");
    // Rank 5 falls 5 into (0, 1]'s 10: the first bucket starts at 0.
    assert_eq!(histogram_quantile(0.125, &bounds, &counts), Some(0.5));
}

#[test]
fn histogram_quantile_in_the_inf_bucket_is_the_largest_finite_bound() {
    let bounds = [1.0, 2.0, 5.0];
    // 1 of 100 at most 5 s, 99 above: rank 99 is in +Inf.
    assert_eq!(histogram_quantile(0.99, &bounds, &[0, 0, 1, 99]), Some(5.0));
    assert_eq!(histogram_quantile(0.99, &bounds, &[0, 0, 0, 0]), None);
}

#[test]
fn the_reconcile_latency_alert_cannot_exceed_60_seconds_however_slow_the_reconciles() {
    // Every reconcile of the window took longer than 60 s: the p99 reads 60, and
    // `> 60` does not hold.
    let mut counts = vec![0u64; RECONCILE_TIME_BUCKETS.len() + 1];
    counts[RECONCILE_TIME_BUCKETS.len()] = 1_000;
    let p99 = histogram_quantile(0.99, &RECONCILE_TIME_BUCKETS, &counts).unwrap();
    assert_eq!(p99, 60.0);
    assert!(p99 <= 60.0);
}

fn plan(clusters: u32, machines: u32, sets: &[&str]) -> RunPlan {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    let mut p = RunPlan::new(
        presets::resolve(Tier::Small, &overrides).unwrap(),
        "small",
        FleetSpec::all_at_once(clusters, machines, 1),
        1,
    );
    p.timeline = true;
    p
}

fn alert<'a>(r: &'a RunReport, name: &str) -> &'a AlertReport {
    r.alerts
        .iter()
        .find(|a| a.name == name)
        .expect("a rule of the guide")
}

#[test]
fn a_small_default_run_fires_no_alert() {
    let r = run(&plan(5, 5, &[])).expect("run").report;
    assert_eq!(r.alerts.len(), 7);
    for a in &r.alerts {
        assert!(a.fired.is_empty(), "{} fired: {:?}", a.name, a.fired);
        assert_eq!((a.firing_s, a.first_fired_s), (0.0, None));
    }
    let reconcile = alert(&r, "CAPIControllerHighReconcileLatency");
    assert!(reconcile.cannot_fire.as_deref().unwrap().contains("60 s"));
}

/// One machine worker for a fleet of 1,500 machines: the machine queue stays far above
/// 100 items. The alert fires at the first evaluation at which the sampled depth had
/// been above 100 at every evaluation for 5 minutes, and its spans are exactly those of
/// the rule replayed on the run's own depth series.
#[test]
fn a_forced_machine_backlog_fires_the_workqueue_alert_exactly_when_it_has_held_for_5m() {
    let out = run(&plan(
        50,
        30,
        &["capi-controller-manager.machine-concurrency=1"],
    ))
    .expect("run");
    let machine = models::kinds::Controller::Machine.index();
    let cluster = models::kinds::Controller::Cluster.index();
    let rule = 1; // CAPIWorkQueueBacklog, in the guide's order
    // Replays the rule on the sampled depths at the evaluations (one shard per queue).
    let mut states = [AlertState::default(); 2];
    let mut expected: Vec<(f64, Option<f64>)> = Vec::new();
    for row in &out.timeline {
        let t = row.t_s as u64;
        if !t.is_multiple_of(EVERY_S) {
            continue;
        }
        let was = states.iter().any(AlertState::firing);
        for (st, c) in states.iter_mut().zip([cluster, machine]) {
            st.evaluate(at(t), row.queue_depth[c] > 100, FOR_5M);
        }
        let now = states.iter().any(AlertState::firing);
        match (was, now) {
            (false, true) => expected.push((row.t_s, None)),
            (true, false) => expected.last_mut().unwrap().1 = Some(row.t_s),
            _ => {}
        }
        assert_eq!(row.alerts_firing[rule], now, "timeline at {t} s");
    }
    let a = alert(&out.report, "CAPIWorkQueueBacklog");
    let got: Vec<(f64, Option<f64>)> = a.fired.iter().map(|f| (f.from_s, f.to_s)).collect();
    assert!(!got.is_empty(), "the backlog alert did not fire");
    assert_eq!(got, expected);
    // The first firing: the first evaluation 5 min into an unbroken run of depth > 100.
    let first = a.first_fired_s.unwrap() as u64;
    let rows: Vec<_> = out
        .timeline
        .iter()
        .filter(|r| (r.t_s as u64).is_multiple_of(EVERY_S))
        .collect();
    let above = |t: u64| {
        rows.iter()
            .find(|r| r.t_s as u64 == t)
            .is_some_and(|r| r.queue_depth[machine] > 100 || r.queue_depth[cluster] > 100)
    };
    assert!((first - 300..=first).step_by(30).all(above));
    assert!(first < 330 || !above(first - 330));
    // The checklist's longest stretch above 100 is at least the alert's 5 minutes.
    let longest = out
        .report
        .controllers
        .iter()
        .filter(|c| c.name == "machine" || c.name == "cluster")
        .map(|c| c.depth_above_threshold_longest_s)
        .fold(0.0, f64::max);
    assert!(longest >= 300.0, "{longest}");
}

#[test]
fn an_evaluation_interval_off_the_15_second_samples_is_refused_with_the_fix() {
    let bad: Override = "alerts.evaluation-interval=20s".parse().unwrap();
    let e = presets::resolve(Tier::Small, &[bad])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("alerts.evaluation-interval") && e.contains("30s"),
        "{e}"
    );
    let ok: Override = "alerts.evaluation-interval=1m".parse().unwrap();
    assert!(presets::resolve(Tier::Small, &[ok]).is_ok());
}
