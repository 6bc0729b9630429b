//! The guide's alerting rules (PrometheusRule `capi-scale-alerts`), as data:
//! `models/presets/alerts.yaml`, one rule per alert with its expression, selector,
//! threshold, window, `for:` and severity. And `alerts.evaluation-interval`, how often
//! Prometheus evaluates them.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::units::Secs;

/// The model's gauge samples are 15 s apart (`world::SAMPLE_INTERVAL_S`, asserted equal
/// there): rules are evaluated at samples, so the interval is a multiple of it [s].
pub const SAMPLE_INTERVAL_S: u64 = 15;

const ALERTS_YAML: &str = include_str!("../../presets/alerts.yaml");

/// How Prometheus evaluates the rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AlertSettings {
    /// Time between rule evaluations: the Prometheus Operator's `evaluationInterval`
    /// (30 s by default; Prometheus's own `evaluation_interval` is 1 m). A multiple of
    /// the model's 15-second samples.
    pub evaluation_interval: Secs,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            evaluation_interval: Secs(30.0),
        }
    }
}

/// How the model computes a rule's expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertExpr {
    /// `histogram_quantile` of controller-runtime's reconcile-time buckets over the
    /// window, per controller (shards summed).
    ReconcileQuantile,
    /// Each selected queue's depth (each shard's its own series) at the evaluation.
    WorkqueueDepth,
    /// Machines whose `status.phase` is Provisioning.
    MachinesProvisioning,
    /// Cluster creates per second over the window.
    ClusterCreateRate,
    /// `histogram_quantile` of the API server's request-duration buckets over the
    /// window, per verb (replicas summed).
    ApiserverQuantile,
    /// The exact quantile of Prism Central's API call latencies over the window.
    PrismCentralQuantile,
    /// Failed VM create tasks per second over the window.
    VmCreateErrorRate,
}

/// How bad the guide says an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// `severity: info`.
    Info,
    /// `severity: warning`.
    Warning,
    /// `severity: critical`.
    Critical,
}

impl Severity {
    /// The label's value.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One alerting rule.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AlertRule {
    /// `alert:`.
    pub name: String,
    /// What the expression computes.
    pub expr: AlertExpr,
    /// The quantile of a `*-quantile` expression.
    #[serde(default)]
    pub quantile: Option<f64>,
    /// The label values selected (`controller=~"..."`, `name=~"..."`); empty: all.
    #[serde(default)]
    pub selector: Vec<String>,
    /// The expression fires above this, in its unit (s, items, machines, 1/s).
    pub threshold: f64,
    /// The range of a `rate(...[5m])`.
    #[serde(default)]
    pub window: Option<Secs>,
    /// `for:`: how long the expression must hold at every evaluation.
    #[serde(rename = "for")]
    pub hold: Secs,
    /// `labels.severity`.
    pub severity: Severity,
}

impl AlertRule {
    /// Why the rule can never fire, if it cannot: a bucketed quantile whose threshold is
    /// at or above the histogram's largest finite bucket (`histogram_quantile` returns at
    /// most that bound, so `> threshold` never holds).
    pub fn cannot_fire(&self) -> Option<String> {
        use crate::prometheus::{APISERVER_REQUEST_DURATION_BUCKETS, RECONCILE_TIME_BUCKETS};
        let (histogram, top) = match self.expr {
            AlertExpr::ReconcileQuantile => (
                "controller-runtime v0.22's reconcile-time histogram",
                RECONCILE_TIME_BUCKETS[RECONCILE_TIME_BUCKETS.len() - 1],
            ),
            AlertExpr::ApiserverQuantile => (
                "the API server's request-duration histogram",
                APISERVER_REQUEST_DURATION_BUCKETS[APISERVER_REQUEST_DURATION_BUCKETS.len() - 1],
            ),
            _ => return None,
        };
        (self.threshold >= top).then(|| {
            format!(
                "the largest finite bucket of {histogram} is {top} s, and histogram_quantile never exceeds it"
            )
        })
    }
}

/// The guide's rules, in its order (parsed once; a test checks the file).
pub fn guide_rules() -> &'static [AlertRule] {
    static RULES: OnceLock<Vec<AlertRule>> = OnceLock::new();
    RULES.get_or_init(|| parse_rules(ALERTS_YAML).expect("presets/alerts.yaml is valid"))
}

/// Rules from YAML: a list of rules, each checked for what its expression needs.
pub fn parse_rules(text: &str) -> Result<Vec<AlertRule>, String> {
    let rules: Vec<AlertRule> =
        serde_saphyr::from_str(text).map_err(|e| format!("alerts.yaml: {e}"))?;
    for r in &rules {
        let windowed = !matches!(
            r.expr,
            AlertExpr::WorkqueueDepth | AlertExpr::MachinesProvisioning
        );
        if windowed && r.window.is_none_or(|w| w.0 <= 0.0) {
            return Err(format!(
                "alerts.yaml: {}: a `{:?}` expression needs a positive `window` (the guide's rate ranges are 5m)",
                r.name, r.expr
            ));
        }
        let quantile = matches!(
            r.expr,
            AlertExpr::ReconcileQuantile
                | AlertExpr::ApiserverQuantile
                | AlertExpr::PrismCentralQuantile
        );
        if quantile && !r.quantile.is_some_and(|q| (0.0..=1.0).contains(&q)) {
            return Err(format!(
                "alerts.yaml: {}: a quantile expression needs `quantile` in [0, 1] (the guide's is 0.99)",
                r.name
            ));
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_has_seven_rules() {
        let names: Vec<&str> = guide_rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "CAPIControllerHighReconcileLatency",
                "CAPIWorkQueueBacklog",
                "MachineProvisioningStuck",
                "HighClusterCreationRate",
                "APIServerHighLatency",
                "PrismCentralAPILatency",
                "NutanixVMCreationFailures"
            ]
        );
    }

    #[test]
    fn only_the_reconcile_latency_rule_cannot_fire() {
        let cannot: Vec<&str> = guide_rules()
            .iter()
            .filter(|r| r.cannot_fire().is_some())
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(cannot, ["CAPIControllerHighReconcileLatency"]);
    }

    #[test]
    fn a_rate_without_a_window_is_refused() {
        let e = parse_rules(
            "- {name: X, expr: cluster-create-rate, threshold: 1, for: 5m, severity: info}",
        )
        .unwrap_err();
        assert!(e.contains("window"), "{e}");
    }
}
