//! Prometheus range queries against capsim's own series: the metrics the guide's alerts
//! use, read from `/api/v1/query_range` answers (one file per query), and the same
//! queries evaluated over a run's timeline, compared point by point.
//!
//! Each metric is one PromQL query (docs/calibration.md lists them) whose series carry
//! one label that names what capsim simulates separately (a controller, a verb, a
//! manager's namespace), or none. capsim evaluates the query as Prometheus does over its
//! samples (every 15 s of simulated time): a gauge is read at the step; a `rate()` is the
//! window's increase over its length; `histogram_quantile` interpolates in the bucket
//! (the alerts' code, [`crate::prometheus`]). Left out, as in the alerts: scrape timing and
//! `rate()`'s extrapolation at the window's edges.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::kinds::{Controller, Provider};
use crate::prometheus::{
    APISERVER_REQUEST_DURATION_BUCKETS, RECONCILE_TIME_BUCKETS, histogram_quantile,
};
use crate::world::alerts::API_VERBS;
use crate::world::metrics::TimelineRow;

/// The rate window of the quantile and CPU queries [s] (`[5m]`).
pub const RATE_WINDOW_S: f64 = 300.0;

/// A metric capsim compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Each controller's workqueue depth.
    WorkqueueDepth,
    /// Each controller's reconcile time, p99 over 5 minutes.
    ReconcileP99,
    /// Each verb's API request duration, p99 over 5 minutes.
    ApiserverP99,
    /// etcd's database size.
    EtcdDbSize,
    /// Each manager's CPU [cores], over 5 minutes.
    Cpu,
    /// Each manager's memory [bytes].
    Memory,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 6] = [
        Metric::WorkqueueDepth,
        Metric::ReconcileP99,
        Metric::ApiserverP99,
        Metric::EtcdDbSize,
        Metric::Cpu,
        Metric::Memory,
    ];

    /// Its name: the file's stem, and `METRIC=FILE`'s left side.
    pub fn name(self) -> &'static str {
        match self {
            Metric::WorkqueueDepth => "workqueue_depth",
            Metric::ReconcileP99 => "reconcile_time_p99",
            Metric::ApiserverP99 => "apiserver_request_duration_p99",
            Metric::EtcdDbSize => "etcd_db_size",
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
        }
    }

    /// The metric named `name`.
    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The label that tells its series apart, if it has several.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Metric::WorkqueueDepth => Some("name"),
            Metric::ReconcileP99 => Some("controller"),
            Metric::ApiserverP99 => Some("verb"),
            Metric::EtcdDbSize => None,
            Metric::Cpu | Metric::Memory => Some("namespace"),
        }
    }

    /// The PromQL query whose answer the file holds.
    pub fn promql(self) -> &'static str {
        match self {
            Metric::WorkqueueDepth => "sum by (name) (workqueue_depth)",
            Metric::ReconcileP99 => {
                "histogram_quantile(0.99, sum by (controller, le) \
                 (rate(controller_runtime_reconcile_time_seconds_bucket[5m])))"
            }
            Metric::ApiserverP99 => {
                "histogram_quantile(0.99, sum by (verb, le) \
                 (rate(apiserver_request_duration_seconds_bucket{verb!~\"WATCH|CONNECT\"}[5m])))"
            }
            Metric::EtcdDbSize => "max(etcd_mvcc_db_total_size_in_bytes)",
            Metric::Cpu => {
                "sum by (namespace) (rate(container_cpu_usage_seconds_total{container=\"manager\"}[5m]))"
            }
            Metric::Memory => {
                "sum by (namespace) (container_memory_working_set_bytes{container=\"manager\"})"
            }
        }
    }

    /// Its unit, for tables and charts.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::WorkqueueDepth => "items",
            Metric::ReconcileP99 | Metric::ApiserverP99 => "s",
            Metric::EtcdDbSize | Metric::Memory => "bytes",
            Metric::Cpu => "cores",
        }
    }
}

/// The namespaces the managers run in (clusterctl's and CAPX's defaults), and their
/// deployments' names in capsim.
pub const MANAGER_NAMESPACES: [(&str, &str); 5] = [
    ("capi-system", "capi-controller-manager"),
    ("capi-kubeadm-bootstrap-system", "capi-kubeadm-bootstrap"),
    (
        "capi-kubeadm-control-plane-system",
        "capi-kubeadm-control-plane",
    ),
    ("capx-system", "capx-controller-manager"),
    ("capd-system", "capd-controller-manager"),
];

/// One series: its labels and its (time [s since the Unix epoch], value) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Points, oldest first.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// The value of `label`, or "" when it has none.
    pub fn label(&self, label: Option<&str>) -> &str {
        label
            .and_then(|l| self.labels.get(l))
            .map_or("", String::as_str)
    }
}

/// The series of one `/api/v1/query_range` answer `text` (file `source`). NaN and
/// infinite values (a quantile with no observation in its window) are left out.
pub fn parse_query_range(text: &str, source: &str) -> Result<Vec<Series>, String> {
    if text.trim().is_empty() {
        return Err(format!(
            "{source}: empty; expected Prometheus' /api/v1/query_range answer"
        ));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{source}: not JSON ({e}); expected a query_range answer"))?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        return Err(format!(
            "{source}: status is not \"success\" (the query failed: {})",
            v.get("error")
                .map_or("no error given".into(), Value::to_string)
        ));
    }
    match v.pointer("/data/resultType").and_then(Value::as_str) {
        Some("matrix") => {}
        other => {
            return Err(format!(
                "{source}: data.resultType is {other:?}; a range query answers \"matrix\""
            ));
        }
    }
    let Some(Value::Array(result)) = v.pointer("/data/result") else {
        return Err(format!("{source}: data.result: missing or not an array"));
    };
    let mut out = Vec::new();
    for (i, r) in result.iter().enumerate() {
        let at = |f: &str| format!("{source}: data.result[{i}].{f}");
        let labels: BTreeMap<String, String> = match r.get("metric") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            _ => return Err(format!("{}: missing or not an object", at("metric"))),
        };
        let Some(Value::Array(values)) = r.get("values") else {
            return Err(format!("{}: missing or not an array", at("values")));
        };
        let mut points = Vec::with_capacity(values.len());
        for (j, p) in values.iter().enumerate() {
            let bad = || format!("{}: not [time, \"value\"]", at(&format!("values[{j}]")));
            let (Some(t), Some(v)) = (p.get(0).and_then(Value::as_f64), p.get(1)) else {
                return Err(bad());
            };
            let v = match v {
                Value::String(s) => s.parse::<f64>().map_err(|_| bad())?,
                _ => return Err(bad()),
            };
            if v.is_finite() {
                points.push((t, v));
            }
        }
        out.push(Series { labels, points });
    }
    Ok(out)
}

/// `series` as a `/api/v1/query_range` answer (values as Prometheus prints them).
pub fn to_query_range(series: &[Series]) -> String {
    let result: Vec<Value> = series
        .iter()
        .map(|s| {
            let values: Vec<Value> = s
                .points
                .iter()
                .map(|&(t, v)| json!([t, format!("{v}")]))
                .collect();
            json!({"metric": s.labels, "values": values})
        })
        .collect();
    json!({"status": "success", "data": {"resultType": "matrix", "result": result}}).to_string()
}

/// capsim's series of `metric` over a run's `timeline`, at simulated time t shown as
/// `start + t`. `managers` names each manager instance (the timeline's order).
pub fn simulated(
    metric: Metric,
    timeline: &[TimelineRow],
    managers: &[String],
    provider: Provider,
    start: f64,
) -> Vec<Series> {
    let one = |label: Option<(&str, &str)>, f: &dyn Fn(usize) -> Option<f64>| Series {
        labels: label
            .map(|(k, v)| BTreeMap::from([(k.to_string(), v.to_string())]))
            .unwrap_or_default(),
        points: (0..timeline.len())
            .filter_map(|i| Some((start + timeline[i].t_s, f(i)?)))
            .collect(),
    };
    // The sample a window before sample i; none while the run is younger than the
    // window (a quantile then uses every count since the start; a CPU rate has no value,
    // as Prometheus' rate() has none before it has two samples in the window).
    let back = |i: usize| {
        let t0 = timeline[i].t_s - RATE_WINDOW_S;
        timeline[..i]
            .iter()
            .rposition(|r| r.t_s <= t0 + 1e-9)
            .filter(|&j| (timeline[j].t_s - t0).abs() < 1e-6)
    };
    let quantile = |bounds: &[f64], now: &[u64], then: Option<&[u64]>| {
        let window: Vec<u64> = match then {
            Some(t) => now.iter().zip(t).map(|(a, b)| a - b).collect(),
            None => now.to_vec(),
        };
        histogram_quantile(0.99, bounds, &window)
    };
    match metric {
        Metric::WorkqueueDepth => Controller::ALL
            .iter()
            .map(|&c| {
                one(Some(("name", c.name_in(provider))), &|i| {
                    Some(timeline[i].queue_depth[c.index()] as f64)
                })
            })
            .collect(),
        Metric::ReconcileP99 => Controller::ALL
            .iter()
            .map(|&c| {
                let k = c.index();
                one(Some(("controller", c.name_in(provider))), &|i| {
                    let then = back(i).map(|j| timeline[j].reconcile_counts[k].as_slice());
                    quantile(
                        &RECONCILE_TIME_BUCKETS,
                        &timeline[i].reconcile_counts[k],
                        then,
                    )
                })
            })
            .collect(),
        Metric::ApiserverP99 => API_VERBS
            .iter()
            .enumerate()
            .map(|(v, verb)| {
                one(Some(("verb", verb)), &|i| {
                    let then = back(i).map(|j| timeline[j].api_counts[v].as_slice());
                    quantile(
                        &APISERVER_REQUEST_DURATION_BUCKETS,
                        &timeline[i].api_counts[v],
                        then,
                    )
                })
            })
            .collect(),
        Metric::EtcdDbSize => vec![one(None, &|i| Some(timeline[i].etcd_db_bytes as f64))],
        Metric::Cpu | Metric::Memory => MANAGER_NAMESPACES
            .iter()
            .filter(|(_, m)| managers.iter().any(|n| n.starts_with(m)))
            .map(|&(ns, m)| {
                let of = |i: usize| -> f64 {
                    let row = &timeline[i];
                    let v = if metric == Metric::Cpu {
                        &row.manager_cpu_s
                    } else {
                        &row.manager_memory
                    };
                    (0..managers.len())
                        .filter(|&k| managers[k].starts_with(m))
                        .map(|k| v[k])
                        .sum()
                };
                one(Some(("namespace", ns)), &|i| match metric {
                    Metric::Cpu => {
                        let j = back(i)?;
                        Some((of(i) - of(j)) / RATE_WINDOW_S)
                    }
                    _ => Some(of(i)),
                })
            })
            .collect(),
    }
}

/// How far capsim's series is from a measured one.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesError {
    /// The label's value ("" for a metric with one series).
    pub series: String,
    /// Measured points compared [count].
    pub n: usize,
    /// Measured points left out: zero (no percentage error), or with no capsim sample
    /// in the 15 s before them (outside the run, or where capsim's query has no value)
    /// [count].
    pub skipped: usize,
    /// Mean absolute percentage error over the compared points [fraction]; NaN when
    /// every measured point inside the run was 0.
    pub mape: f64,
    /// The measured series' peak.
    pub measured_peak: f64,
    /// capsim's peak over the same span.
    pub simulated_peak: f64,
    /// (simulated − measured) / measured peak [fraction].
    pub peak_error: f64,
    /// When capsim's peak came, less when the measured one did [s].
    pub peak_shift_s: f64,
}

/// Each measured series against capsim's series with the same `label` value: capsim's
/// value at each measured time is its latest sample at or before it (its samples are
/// 15 s apart, so a step that falls between two reads the earlier). `None` for a
/// measured series capsim has no counterpart of, or with no point inside the run.
pub fn compare(
    measured: &[Series],
    simulated: &[Series],
    label: Option<&str>,
) -> Vec<(Series, Option<SeriesError>)> {
    measured
        .iter()
        .map(|m| {
            let key = m.label(label);
            let sim = simulated.iter().find(|s| s.label(label) == key);
            (m.clone(), sim.and_then(|s| error_of(key, m, s)))
        })
        .collect()
}

fn error_of(key: &str, m: &Series, s: &Series) -> Option<SeriesError> {
    // capsim's latest sample at or before t, if t is within one sample interval of it
    // (past the run's end, or in a gap where the query had no value, nothing).
    let at = |t: f64| {
        let i = s.points.partition_point(|p| p.0 <= t + 1e-6);
        (i > 0)
            .then(|| s.points[i - 1])
            .filter(|p| t - p.0 < crate::world::SAMPLE_INTERVAL_S as f64 - 1e-6)
    };
    let (mut sum, mut n, mut skipped) = (0.0, 0, 0);
    let (mut mp, mut sp) = ((f64::NEG_INFINITY, 0.0), (f64::NEG_INFINITY, 0.0));
    for &(t, v) in &m.points {
        let Some((ts, sv)) = at(t) else {
            skipped += 1;
            continue;
        };
        if v > mp.0 {
            mp = (v, t);
        }
        if sv > sp.0 {
            sp = (sv, ts);
        }
        if v == 0.0 {
            skipped += 1;
            continue;
        }
        sum += ((sv - v) / v).abs();
        n += 1;
    }
    (mp.0.is_finite()).then(|| SeriesError {
        series: key.to_string(),
        n,
        skipped,
        mape: if n > 0 { sum / n as f64 } else { f64::NAN },
        measured_peak: mp.0,
        simulated_peak: sp.0,
        peak_error: if mp.0 != 0.0 {
            (sp.0 - mp.0) / mp.0
        } else {
            f64::NAN
        },
        peak_shift_s: sp.1 - mp.1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, pts: &[(f64, f64)]) -> Series {
        Series {
            labels: BTreeMap::from([("verb".to_string(), label.to_string())]),
            points: pts.to_vec(),
        }
    }

    /// A series compared with itself has no error; one 10 % higher everywhere has a MAPE
    /// of exactly 0.1/1.1 against the higher one and a peak error of -1/11; one shifted a
    /// step later moves its peak by that step.
    #[test]
    fn errors_of_known_series_are_exact() {
        let base = series("GET", &[(0.0, 1.0), (15.0, 4.0), (30.0, 2.0), (45.0, 0.0)]);
        let e = compare(
            std::slice::from_ref(&base),
            std::slice::from_ref(&base),
            Some("verb"),
        );
        let e = e[0].1.clone().unwrap();
        assert_eq!((e.mape, e.peak_error, e.peak_shift_s), (0.0, 0.0, 0.0));
        assert_eq!((e.n, e.skipped), (3, 1));
        let high = series("GET", &[(0.0, 1.1), (15.0, 4.4), (30.0, 2.2), (45.0, 0.0)]);
        let e = compare(&[high], std::slice::from_ref(&base), Some("verb"))[0]
            .1
            .clone()
            .unwrap();
        assert!((e.mape - 0.1 / 1.1).abs() < 1e-12, "{e:?}");
        assert!((e.peak_error + 1.0 / 11.0).abs() < 1e-12, "{e:?}");
        let later: Vec<(f64, f64)> = base.points.iter().map(|&(t, v)| (t + 15.0, v)).collect();
        let e = compare(
            &[series("GET", &later)],
            std::slice::from_ref(&base),
            Some("verb"),
        )[0]
        .1
        .clone()
        .unwrap();
        assert_eq!(e.peak_shift_s, -15.0);
        assert!(
            compare(&[series("PUT", &later)], &[base], Some("verb"))[0]
                .1
                .is_none()
        );
    }

    #[test]
    fn query_range_answers_round_trip_and_bad_ones_are_refused_by_name() {
        let s = vec![series("GET", &[(1.5e9, 0.25), (1.5e9 + 15.0, 3.0)])];
        assert_eq!(parse_query_range(&to_query_range(&s), "q.json").unwrap(), s);
        for (text, says) in [
            ("", "empty"),
            ("[1", "not JSON"),
            (r#"{"status":"error","error":"bad"}"#, "status is not"),
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
                "matrix",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}}"#,
                "data.result[0].values[0]",
            ),
        ] {
            let e = parse_query_range(text, "q.json").unwrap_err();
            assert!(e.starts_with("q.json: ") && e.contains(says), "{e}");
        }
        let nan = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"3"]]}]}}"#;
        assert_eq!(
            parse_query_range(nan, "q.json").unwrap()[0].points,
            vec![(2.0, 3.0)]
        );
    }
}
