//! The guide's alerting rules (`models/presets/alerts.yaml`) evaluated over the simulated
//! series every `alerts.evaluation-interval`, as Prometheus evaluates a PrometheusRule:
//! each label set of a rule is an alert instance, pending while its expression holds and
//! firing once it has held at every evaluation for `for:`; it resolves at the first
//! evaluation where it does not hold. The run's timeline of an alert is when any of its
//! instances fired.
//!
//! The series, recorded as the world runs (cumulative counters, read at each
//! evaluation; a window's increase is the counters now less a window ago):
//! - `controller_runtime_reconcile_time_seconds`: each finished reconcile into its
//!   controller's classic histogram (controller-runtime's buckets; shards summed, as
//!   `sum by (controller, le)` does);
//! - `apiserver_request_duration_seconds`: each answered API request attempt (429s too)
//!   into its verb's histogram (the API server's buckets; replicas summed);
//! - Prism Central's API calls (CAPX's SDK has no published buckets): the calls, and the
//!   calls slower than each quantile rule's threshold, from which the window's exact
//!   (nearest-rank) quantile exceeds the threshold exactly when fewer than ⌈q·n⌉ calls
//!   were at or below it. A call counts when it is sent (its latency is drawn then); 429s
//!   are not calls that answered;
//! - Cluster creates (etcd's commits of `Cluster/create`) and failed VM create tasks,
//!   the counters the world keeps;
//! - gauges read at the evaluation: each queue's depth (each shard its own series), and
//!   Machines whose `status.phase` is Provisioning: bootstrap data secret set,
//!   infrastructure not provisioned (no providerID), not deleting (CAPI v1.12
//!   `setMachinePhaseAndLastUpdated`).
//!
//! Left out: scrape timing (a series is read exactly at the evaluation), `rate()`'s
//! extrapolation, Alertmanager.

use sim_core::{SimDuration, SimTime};

use super::World;
use crate::kinds::{Controller, ObjKind};
use crate::prometheus::{
    APISERVER_REQUEST_DURATION_BUCKETS, AlertState, CounterWindow, Histogram,
    RECONCILE_TIME_BUCKETS, histogram_quantile,
};
use crate::recipe::Verb;
use crate::scenario::alerts::{AlertExpr, AlertRule, Severity, guide_rules};

/// The API server's `verb` label values the model's requests carry.
pub const API_VERBS: [&str; 6] = ["GET", "LIST", "POST", "PUT", "PATCH", "DELETE"];

/// The `verb` label (index into [`API_VERBS`]) of a write of `verb`.
pub(super) fn write_verb(verb: Verb) -> usize {
    match verb {
        Verb::Create => 2,
        Verb::NoopUpdate => 3,
        Verb::Patch | Verb::StatusPatch | Verb::FinalizerRemoved => 4,
        Verb::Delete | Verb::MarkDeleted => 5,
    }
}

/// One rule while the run goes.
struct RuleRt {
    rule: &'static AlertRule,
    /// The rule's windowed counters, when its expression has a window.
    window: Option<CounterWindow>,
    /// Each label set's alert.
    instances: Vec<AlertState>,
    /// When any instance fired, and when the last one resolved (`None`: still firing).
    fired: Vec<(SimTime, Option<SimTime>)>,
}

/// The recorded series and the rules' state.
pub struct Alerts {
    rules: Vec<RuleRt>,
    /// Evaluations happen at multiples of this [s].
    every_s: u64,
    /// Reconcile durations by controller, in [`Controller::ALL`] order.
    reconcile: Vec<Histogram>,
    /// API request durations by verb, in [`API_VERBS`] order.
    api: Vec<Histogram>,
    /// Prism Central API calls answered [count].
    pc_calls: u64,
    /// Of them, those slower than each rule's threshold (0 for a rule that is not a
    /// Prism Central quantile) [count].
    pc_slow: Vec<u64>,
}

/// An alert's record over the run.
#[derive(Clone, Debug)]
pub struct AlertRecord {
    /// The rule.
    pub rule: &'static AlertRule,
    /// When it fired and resolved (`None`: firing when the run ended).
    pub fired: Vec<(SimTime, Option<SimTime>)>,
}

impl AlertRecord {
    /// The alert's name.
    pub fn name(&self) -> &'static str {
        &self.rule.name
    }

    /// Its severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }
}

impl Alerts {
    /// Each controller's reconcile-time bucket counts since the start.
    pub fn reconcile_counts(&self) -> Vec<Vec<u64>> {
        self.reconcile.iter().map(|h| h.counts().to_vec()).collect()
    }

    /// Each verb's request-duration bucket counts since the start.
    pub fn api_counts(&self) -> Vec<Vec<u64>> {
        self.api.iter().map(|h| h.counts().to_vec()).collect()
    }

    /// The guide's rules, evaluated every `every_s` seconds; `queues` is the number of
    /// queue instances per controller, in [`Controller::ALL`] order.
    pub(super) fn new(every_s: u64, queues: &[usize]) -> Self {
        let rules = guide_rules()
            .iter()
            .map(|rule| {
                let span = rule
                    .window
                    .map(|w| ((w.0 / every_s as f64).round() as usize).max(1));
                let (width, instances) = match rule.expr {
                    AlertExpr::ReconcileQuantile => {
                        let n = selected(rule).count();
                        (n * (RECONCILE_TIME_BUCKETS.len() + 1), n)
                    }
                    AlertExpr::ApiserverQuantile => (
                        API_VERBS.len() * (APISERVER_REQUEST_DURATION_BUCKETS.len() + 1),
                        API_VERBS.len(),
                    ),
                    AlertExpr::PrismCentralQuantile => (2, 1),
                    AlertExpr::ClusterCreateRate | AlertExpr::VmCreateErrorRate => (1, 1),
                    AlertExpr::WorkqueueDepth => {
                        (0, selected(rule).map(|c| queues[c.index()]).sum())
                    }
                    AlertExpr::MachinesProvisioning => (0, 1),
                };
                RuleRt {
                    rule,
                    window: span.map(|s| CounterWindow::new(width, s)),
                    instances: vec![AlertState::default(); instances],
                    fired: Vec::new(),
                }
            })
            .collect();
        Alerts {
            pc_slow: vec![0; guide_rules().len()],
            rules,
            every_s,
            reconcile: (0..Controller::ALL.len())
                .map(|_| Histogram::new(&RECONCILE_TIME_BUCKETS))
                .collect(),
            api: (0..API_VERBS.len())
                .map(|_| Histogram::new(&APISERVER_REQUEST_DURATION_BUCKETS))
                .collect(),
            pc_calls: 0,
        }
    }

    /// A reconcile of `ctrl` took `d`.
    pub(super) fn reconcile_finished(&mut self, ctrl: Controller, d: SimDuration) {
        self.reconcile[ctrl.index()].observe(d.as_secs_f64());
    }

    /// An API request attempt of verb `verb` (index into [`API_VERBS`]) was answered
    /// after `d`.
    pub(super) fn api_answered(&mut self, verb: usize, d: SimDuration) {
        self.api[verb].observe(d.as_secs_f64());
    }

    /// A Prism Central API call takes `d`.
    pub(super) fn pc_call(&mut self, d: SimDuration) {
        self.pc_calls += 1;
        let s = d.as_secs_f64();
        for (slow, r) in self.pc_slow.iter_mut().zip(&self.rules) {
            if r.rule.expr == AlertExpr::PrismCentralQuantile && s > r.rule.threshold {
                *slow += 1;
            }
        }
    }

    /// Whether `now` is an evaluation.
    pub(super) fn due(&self, now: SimTime) -> bool {
        now.as_nanos().is_multiple_of(self.every_s * 1_000_000_000)
    }

    /// Each alert's record so far.
    pub fn records(&self) -> Vec<AlertRecord> {
        self.rules
            .iter()
            .map(|r| AlertRecord {
                rule: r.rule,
                fired: r.fired.clone(),
            })
            .collect()
    }

    /// Whether each rule is firing now, in the rules' order.
    pub fn firing(&self) -> Vec<bool> {
        self.rules
            .iter()
            .map(|r| r.fired.last().is_some_and(|f| f.1.is_none()))
            .collect()
    }
}

/// The controllers a rule's selector names (all when it names none).
fn selected(rule: &AlertRule) -> impl Iterator<Item = Controller> + '_ {
    Controller::ALL
        .into_iter()
        .filter(|c| rule.selector.is_empty() || rule.selector.iter().any(|s| s == c.name()))
}

/// Whether a bucketed quantile holds above `threshold` for each label set: `groups`
/// consecutive runs of `bounds.len() + 1` bucket increases.
fn quantiles_above(q: f64, threshold: f64, bounds: &[f64], increases: &[u64]) -> Vec<bool> {
    increases
        .chunks(bounds.len() + 1)
        .map(|c| histogram_quantile(q, bounds, c).is_some_and(|v| v > threshold))
        .collect()
}

impl World {
    /// Evaluates every rule at `now`, if it is an evaluation.
    pub(super) fn evaluate_alerts(&mut self, now: SimTime) {
        if !self.alerts.due(now) {
            return;
        }
        let every = self.alerts.every_s as f64;
        for i in 0..self.alerts.rules.len() {
            let rule = self.alerts.rules[i].rule;
            let holds = self.alert_expression(i, every);
            let r = &mut self.alerts.rules[i];
            let hold = SimDuration::from_secs_f64(rule.hold.0);
            let was_firing = r.instances.iter().any(AlertState::firing);
            for (st, h) in r.instances.iter_mut().zip(holds) {
                st.evaluate(now, h, hold);
            }
            let firing = r.instances.iter().any(AlertState::firing);
            match (was_firing, firing) {
                (false, true) => r.fired.push((now, None)),
                (true, false) => {
                    if let Some(last) = r.fired.last_mut() {
                        last.1 = Some(now);
                    }
                }
                _ => {}
            }
        }
    }

    /// Rule `i`'s expression at this evaluation, per label set.
    fn alert_expression(&mut self, i: usize, every: f64) -> Vec<bool> {
        let a = &mut self.alerts;
        let rule = a.rules[i].rule;
        let q = rule.quantile.unwrap_or(0.99);
        let per_s = |increase: u64, r: &RuleRt| {
            let span = r.rule.window.map_or(every, |w| w.0);
            increase as f64 / span
        };
        match rule.expr {
            AlertExpr::ReconcileQuantile => {
                let now: Vec<u64> = selected(rule)
                    .flat_map(|c| a.reconcile[c.index()].counts().iter().copied())
                    .collect();
                let inc = a.rules[i].window.as_mut().expect("windowed").increase(&now);
                quantiles_above(q, rule.threshold, &RECONCILE_TIME_BUCKETS, &inc)
            }
            AlertExpr::ApiserverQuantile => {
                let now: Vec<u64> = a
                    .api
                    .iter()
                    .flat_map(|h| h.counts().iter().copied())
                    .collect();
                let inc = a.rules[i].window.as_mut().expect("windowed").increase(&now);
                quantiles_above(q, rule.threshold, &APISERVER_REQUEST_DURATION_BUCKETS, &inc)
            }
            AlertExpr::PrismCentralQuantile => {
                let now = [a.pc_calls, a.pc_slow[i]];
                let inc = a.rules[i].window.as_mut().expect("windowed").increase(&now);
                let (n, slow) = (inc[0], inc[1]);
                // The nearest-rank quantile: the ⌈q·n⌉-th smallest call.
                let rank = (q * n as f64).ceil().max(1.0) as u64;
                vec![n > 0 && n - slow < rank]
            }
            AlertExpr::ClusterCreateRate => {
                let created = self.metrics.writes_by_verb[ObjKind::Cluster.index()][0];
                let r = &mut a.rules[i];
                let inc = r.window.as_mut().expect("windowed").increase(&[created])[0];
                vec![per_s(inc, r) > rule.threshold]
            }
            AlertExpr::VmCreateErrorRate => {
                let failed = self.metrics.vm_create_failures;
                let r = &mut a.rules[i];
                let inc = r.window.as_mut().expect("windowed").increase(&[failed])[0];
                vec![per_s(inc, r) > rule.threshold]
            }
            AlertExpr::WorkqueueDepth => selected(rule)
                .flat_map(|c| {
                    let base = self.ctrl_base[c.index()];
                    let n = self.shards[c.manager()] as usize;
                    base..base + n
                })
                .map(|ci| self.ctrls[ci].queue.len() as f64 > rule.threshold)
                .collect(),
            AlertExpr::MachinesProvisioning => {
                let n = self
                    .machines
                    .iter()
                    .filter(|m| m.exists && !m.deleting && m.bootstrap_ref && !m.provider_id)
                    .count();
                vec![n as f64 > rule.threshold]
            }
        }
    }
}
