//! The guide's alerts over the run: which fired, when, for how long
//! ([`crate::world::alerts`] evaluates them).

use super::{AlertReport, FiredSpan};
use crate::world::World;
use crate::world::alerts::AlertRecord;

/// Every rule's record, in the guide's order, the run having ended at `end_s`.
pub(super) fn alerts(world: &World, end_s: f64) -> Vec<AlertReport> {
    world
        .alerts
        .records()
        .iter()
        .map(|r| report(r, end_s))
        .collect()
}

fn report(r: &AlertRecord, end_s: f64) -> AlertReport {
    let fired: Vec<FiredSpan> = r
        .fired
        .iter()
        .map(|&(from, to)| FiredSpan {
            from_s: from.as_secs_f64(),
            to_s: to.map(|t| t.as_secs_f64()),
        })
        .collect();
    summarise(
        r.name().to_string(),
        r.severity().name().to_string(),
        r.rule.cannot_fire(),
        fired,
        end_s,
    )
}

/// An alert's report from its spans.
pub(crate) fn summarise(
    name: String,
    severity: String,
    cannot_fire: Option<String>,
    fired: Vec<FiredSpan>,
    end_s: f64,
) -> AlertReport {
    let firing_s = fired
        .iter()
        .map(|f| f.to_s.unwrap_or(end_s) - f.from_s)
        .sum();
    AlertReport {
        name,
        severity,
        first_fired_s: fired.first().map(|f| f.from_s),
        firing_s,
        fired,
        cannot_fire,
    }
}

/// The union of several management clusters' spans of one alert: when it fired in any.
pub(crate) fn union(mut spans: Vec<FiredSpan>) -> Vec<FiredSpan> {
    spans.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
    let mut out: Vec<FiredSpan> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(last) if last.to_s.is_none_or(|t| s.from_s <= t) => {
                last.to_s = match (last.to_s, s.to_s) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(from_s: f64, to_s: Option<f64>) -> FiredSpan {
        FiredSpan { from_s, to_s }
    }

    #[test]
    fn union_merges_overlapping_spans_and_keeps_an_open_one_open() {
        let u = union(vec![
            span(100.0, Some(200.0)),
            span(400.0, None),
            span(150.0, Some(300.0)),
            span(500.0, Some(600.0)),
        ]);
        assert_eq!(u, vec![span(100.0, Some(300.0)), span(400.0, None)]);
    }
}
