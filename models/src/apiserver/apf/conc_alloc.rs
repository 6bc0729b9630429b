//! The fair division of a server's seats among priority levels, within each level's
//! bounds: every level gets `fair_prop` × its target, unless that falls outside its
//! bounds, where it gets the bound.
//!
//! Copies k8s.io/apiserver v0.33 `pkg/util/flowcontrol/conc_alloc.go`
//! (`computeConcurrencyAllocation`): targets below 0.001 count as 0.001, and the fair
//! proportion is found by walking the levels' relative bounds in ascending order.

/// One level's part of the problem (`allocProblemItem`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AllocItem {
    /// What it would get at a fair proportion of 1 [seats].
    pub target: f64,
    /// The least it may get [seats].
    pub lower: f64,
    /// The most it may get [seats].
    pub upper: f64,
}

const MIN_TARGET: f64 = 0.001;
const EPSILON: f64 = 0.000_000_1;

/// Allocations summing to `required` within every item's bounds, and the fair
/// proportion; an error (as the Go code's) if the bounds make that impossible.
pub fn allocate(required: u32, items: &[AllocItem]) -> Result<(Vec<f64>, f64), String> {
    let required = f64::from(required);
    let (mut low_sum, mut high_sum, mut target_sum) = (0.0, 0.0, 0.0);
    let (mut lb_min, mut lb_max) = (f64::from(f32::MAX), f64::MIN);
    let (mut ub_min, mut ub_max) = (f64::from(f32::MAX), f64::MIN);
    // Each item's (target, lower / target, upper / target).
    let mut rel = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        if it.lower < 0.0 || it.target < it.lower || it.upper < it.lower {
            return Err(format!("item {i} has bounds out of order: {it:?}"));
        }
        let target = it.target.max(MIN_TARGET);
        low_sum += it.lower;
        high_sum += it.upper;
        target_sum += target;
        let (lo, hi) = (it.lower / target, it.upper / target);
        (lb_min, lb_max) = (lb_min.min(lo), lb_max.max(lo));
        (ub_min, ub_max) = (ub_min.min(hi), ub_max.max(hi));
        rel.push((target, lo, hi));
    }
    if lb_max > 1.0 {
        return Err(format!("a lower bound exceeds its target ({lb_max})"));
    }
    if low_sum - required > EPSILON {
        return Err(format!("lower bounds sum to {low_sum} > {required}"));
    }
    if required - high_sum > EPSILON {
        return Err(format!("upper bounds sum to {high_sum} < {required}"));
    }
    if required == 0.0 {
        return Ok((vec![0.0; items.len()], 0.0));
    }
    if low_sum - required > -EPSILON {
        return Ok((items.iter().map(|it| it.lower).collect(), lb_min));
    }
    if required - high_sum > -EPSILON {
        return Ok((items.iter().map(|it| it.upper).collect(), ub_max));
    }
    let mut fair = required / target_sum;
    if lb_max <= fair && fair <= ub_min {
        return Ok((rel.iter().map(|r| r.0 * fair).collect(), fair));
    }
    // Some bounds matter: raise the proportion past the sorted relative bounds, each
    // lower bound adding its item to those that follow the proportion and each upper
    // bound removing it, until the sum is reached.
    let mut bounds: Vec<(f64, usize, bool)> = rel
        .iter()
        .enumerate()
        .flat_map(|(i, r)| [(r.1, i, true), (r.2, i, false)])
        .collect();
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut sum = low_sum;
    fair = lb_min;
    // The targets of the items that follow the proportion, and how many they are.
    let (mut sensitive, mut delta, mut count, mut delta_count) = (0.0, 0.0, 0i32, 0i32);
    let mut next = 0;
    while sum < required {
        let next_bound = loop {
            sensitive += delta;
            count += delta_count;
            let Some(&(bound, i, lower)) = bounds.get(next) else {
                return Err("ran out of bounds to consider".into());
            };
            (delta, delta_count) = if lower {
                (rel[i].0, 1)
            } else {
                (-rel[i].0, -1)
            };
            next += 1;
            if bound > fair {
                break bound;
            }
        };
        if count == 0 {
            fair = next_bound;
            continue;
        }
        let proposed = fair + (required - sum) / sensitive;
        if proposed <= next_bound {
            fair = proposed;
            break;
        }
        sum += (next_bound - fair) * sensitive;
        fair = next_bound;
    }
    let allocs = items
        .iter()
        .zip(&rel)
        .map(|(it, r)| it.lower.max(it.upper.min(fair * r.0)))
        .collect();
    Ok((allocs, fair))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(target: f64, lower: f64, upper: f64) -> AllocItem {
        AllocItem {
            target,
            lower,
            upper,
        }
    }

    #[test]
    fn without_binding_bounds_seats_follow_the_targets() {
        let (a, fair) = allocate(100, &[item(10.0, 0.0, 1e9), item(30.0, 0.0, 1e9)]).unwrap();
        assert_eq!((a[0], a[1], fair), (25.0, 75.0, 2.5));
    }

    #[test]
    fn a_level_held_at_its_bound_leaves_the_rest_to_the_others() {
        // Targets 10 and 30 at proportion 2.5 would give 25 and 75, but the first may
        // have at most 15: it gets 15, the other 85 (85/30 of its target).
        let (a, fair) = allocate(100, &[item(10.0, 5.0, 15.0), item(30.0, 0.0, 1e9)]).unwrap();
        assert!(
            (a[0] - 15.0).abs() < 1e-9 && (a[1] - 85.0).abs() < 1e-9,
            "{a:?}"
        );
        assert!((fair - 85.0 / 30.0).abs() < 1e-9);
        // And from below: a level whose lower bound is above its share keeps it.
        let (a, _) = allocate(100, &[item(60.0, 60.0, 1e9), item(60.0, 10.0, 1e9)]).unwrap();
        assert!(
            (a[0] - 60.0).abs() < 1e-9 && (a[1] - 40.0).abs() < 1e-9,
            "{a:?}"
        );
    }

    #[test]
    fn impossible_bounds_are_an_error() {
        assert!(allocate(10, &[item(5.0, 5.0, 5.0), item(5.0, 5.0, 5.0)]).is_ok());
        assert!(allocate(11, &[item(5.0, 5.0, 5.0), item(5.0, 5.0, 5.0)]).is_err());
        assert!(allocate(9, &[item(5.0, 5.0, 5.0), item(5.0, 5.0, 5.0)]).is_err());
    }
}
