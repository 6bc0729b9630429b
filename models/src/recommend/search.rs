//! The search `capsim recommend` runs: coordinate descent over discrete knobs for the
//! cheapest configuration that passes, with swaps where no single step down does.
//!
//! A point gives each knob one of its settings, listed in order of capacity (each later
//! setting gives the fleet more). Screening a point runs its first `replicas` replicas on
//! the screening streams (the same for every point: common random numbers), and more, up
//! to four times as many, where the answer is close: replicas that disagree, or a score
//! within 10 % of its threshold. A point is feasible when the share of its screened
//! replicas that pass reaches the pass rate.
//!
//! 1. Repair, while the point is not feasible: every knob one step up in capacity is
//!    screened; the cheapest feasible one is taken, else the one whose score (the worst
//!    margin, value ÷ threshold) falls most per unit of cost added, if it falls
//!    significantly (a paired interval on the common replicas); none: unreachable.
//! 2. Descent, from a feasible point: every knob's nearest cheaper setting, largest saving
//!    first, the first feasible taken; one with no more of any knob than a configuration
//!    that already failed is taken to fail and not screened (capacity is monotone: the
//!    knob lists stop short of values past which more is worse, docs/model.md). Where
//!    none passes, swaps: from each cheaper setting that failed, nearest to passing
//!    first (then those skipped, screened now), the repair's steps on the other knobs
//!    while the cost stays below the current point's. It ends when nothing cheaper passes
//!    or the budget (configurations screened) is spent.
//!
//! Greedy and local: a cheaper configuration two or more steps away on several knobs at
//! once can be missed. The tests compare it with an exhaustive search of small grids.

use std::collections::HashMap;

use serde::Serialize;
use sim_core::stats::difference;

/// A setting per knob, by index into the knob's settings.
pub type Point = Vec<usize>;

/// One replica's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// Whether the checklist and every target passed.
    pub pass: bool,
    /// The worst margin: the highest value ÷ threshold over the checklist and the
    /// targets (at most 1 passes; a failed count scores 2).
    pub score: f64,
}

/// What the search asks of the configurations.
pub trait Oracle: Sync {
    /// The cost of the configuration at `point`, or why it is refused (an invalid value,
    /// pods that fit no node).
    fn cost(&self, point: &[usize]) -> Result<f64, String>;
    /// Replicas `from..to` of the configuration at `point` on the screening streams.
    fn screen(&self, point: &[usize], from: u64, to: u64) -> Result<Vec<Outcome>, String>;
    /// What identifies the configuration at `point`: two points with the same key are
    /// one configuration (a limit above the fleet, say), screened once.
    fn key(&self, point: &[usize]) -> String {
        format!("{point:?}")
    }
    /// Told of each configuration screened, the `n`-th (from 1), as it is.
    fn screened(&self, _n: usize, _s: &Screened) {}
}

/// The search's settings.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Settings per knob [count], in knob order.
    pub sizes: Vec<usize>,
    /// Replicas each point is screened with first [count].
    pub replicas: u64,
    /// The share of replicas that must pass [fraction].
    pub pass_rate: f64,
    /// Confidence of the paired intervals that call a score change real [fraction].
    pub confidence: f64,
    /// Points screened at most [count].
    pub budget: usize,
}

/// Why a point was screened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Move {
    /// The configuration given.
    Start,
    /// One knob one step up, towards passing.
    Repair,
    /// One knob to its nearest cheaper setting.
    Descent,
    /// One knob cheaper and another one step up.
    Swap,
}

/// One screened point.
#[derive(Clone, Debug, Serialize)]
pub struct Screened {
    /// Its settings.
    pub point: Point,
    /// Why it was screened.
    pub step: Move,
    /// Its cost, or why it was refused (serialized as the number, or the reason).
    #[serde(serialize_with = "cost_or_reason")]
    pub cost: Result<f64, String>,
    /// Its replicas' outcomes (none when refused).
    pub outcomes: Vec<Outcome>,
    /// Whether it passed at the pass rate.
    pub feasible: bool,
    /// Whether the search moved to it.
    pub taken: bool,
}

fn cost_or_reason<S: serde::Serializer>(c: &Result<f64, String>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Ok(x) => s.serialize_f64(*x),
        Err(why) => s.serialize_str(why),
    }
}

impl Screened {
    /// Replicas that passed [count].
    pub fn passes(&self) -> usize {
        self.outcomes.iter().filter(|o| o.pass).count()
    }

    /// Mean score over its replicas (infinite when refused).
    pub fn mean_score(&self) -> f64 {
        if self.outcomes.is_empty() {
            return f64::INFINITY;
        }
        self.outcomes.iter().map(|o| o.score).sum::<f64>() / self.outcomes.len() as f64
    }
}

/// How the search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// No cheaper neighbour passes.
    Converged,
    /// The budget was spent first.
    BudgetSpent,
    /// No step up made the failing configuration pass or come significantly closer.
    Unreachable,
}

/// What the search found.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResult {
    /// Every point screened, in order.
    pub trace: Vec<Screened>,
    /// The feasible points moved to, each cheaper than the one before (indices into
    /// `trace`); empty when none was feasible.
    pub chain: Vec<usize>,
    /// The point screened with the lowest mean score (index into `trace`).
    pub closest: usize,
    /// How it ended.
    pub ending: Ending,
}

/// The search's state: its oracle, settings and what it has screened.
struct Search<'a, O: Oracle> {
    oracle: &'a O,
    settings: Settings,
    trace: Vec<Screened>,
    seen: HashMap<String, usize>,
}

impl<O: Oracle> Search<'_, O> {
    /// Whether the budget is spent: configurations screened (a refused one runs nothing
    /// and costs none of it).
    fn spent(&self) -> bool {
        self.trace.iter().filter(|t| t.cost.is_ok()).count() >= self.settings.budget
    }

    /// Screens `point` (once: a configuration seen before, under any point, is looked
    /// up), its replicas extended where the answer is close. Returns its trace index.
    fn screen(&mut self, point: &[usize], step: Move) -> Result<usize, String> {
        let key = self.oracle.key(point);
        if let Some(&i) = self.seen.get(&key) {
            return Ok(i);
        }
        self.trace
            .push(screen(self.oracle, &self.settings, point, step)?);
        let i = self.trace.len() - 1;
        self.oracle.screened(i + 1, &self.trace[i]);
        self.seen.insert(key, i);
        Ok(i)
    }

    fn cost(&self, i: usize) -> f64 {
        self.trace[i].cost.clone().unwrap_or(f64::INFINITY)
    }

    /// Whether `b`'s scores are significantly below `a`'s on their common replicas, and
    /// by how much.
    fn improvement(&self, a: usize, b: usize) -> Option<f64> {
        let (a, b) = (&self.trace[a].outcomes, &self.trace[b].outcomes);
        let n = a.len().min(b.len());
        let score = |o: &[Outcome]| o[..n].iter().map(|o| o.score).collect::<Vec<f64>>();
        let d = difference::paired(&score(a), &score(b), self.settings.confidence)?;
        (d.ci_high < 0.0).then_some(-d.mean)
    }

    /// `point` with knob `k` at setting `s`.
    fn with(point: &[usize], moves: &[(usize, usize)]) -> Point {
        let mut p = point.to_vec();
        for &(k, s) in moves {
            p[k] = s;
        }
        p
    }

    /// The setting of knob `k` nearest `point`'s that costs less, if any.
    fn cheaper(&self, point: &[usize], k: usize, base: f64) -> Option<(usize, f64)> {
        (0..self.settings.sizes[k])
            .filter(|&s| s != point[k])
            .filter_map(|s| {
                let c = self.oracle.cost(&Self::with(point, &[(k, s)])).ok()?;
                (c < base - 1e-9).then_some((s, c))
            })
            .min_by(|a, b| b.1.total_cmp(&a.1))
    }

    /// Whether `q` has no more of any knob than a configuration that failed its screening:
    /// with each knob's settings in order of capacity, it is taken to fail too.
    fn dominated(&self, q: &[usize]) -> bool {
        self.trace
            .iter()
            .any(|t| t.cost.is_ok() && !t.feasible && q.iter().zip(&t.point).all(|(a, b)| a <= b))
    }

    fn take(&mut self, i: usize, chain: &mut Vec<usize>) {
        self.trace[i].taken = true;
        if self.trace[i].feasible {
            chain.push(i);
        }
    }

    /// One step up from `from`: every knob but `frozen` one step up in capacity, if it
    /// costs less than `below`, screened; the cheapest feasible, else the one whose score
    /// falls most per unit of cost added, if significantly; `None` when neither.
    fn step_up(
        &mut self,
        from: usize,
        below: f64,
        frozen: Option<usize>,
        step: Move,
    ) -> Result<Option<usize>, String> {
        let base = self.cost(from);
        let p = self.trace[from].point.clone();
        let mut ups = Vec::new();
        for k in (0..p.len()).filter(|&k| Some(k) != frozen) {
            if p[k] + 1 >= self.settings.sizes[k] || self.spent() {
                continue;
            }
            let q = Self::with(&p, &[(k, p[k] + 1)]);
            if self.oracle.cost(&q).is_ok_and(|c| c < below) {
                ups.push(self.screen(&q, step)?);
            }
        }
        let feasible = ups
            .iter()
            .copied()
            .filter(|&i| self.trace[i].feasible)
            .min_by(|&a, &b| {
                self.cost(a).total_cmp(&self.cost(b)).then(
                    self.trace[a]
                        .mean_score()
                        .total_cmp(&self.trace[b].mean_score()),
                )
            });
        if feasible.is_some() {
            return Ok(feasible);
        }
        Ok(ups
            .iter()
            .copied()
            .filter(|&i| self.trace[i].cost.is_ok())
            .filter_map(|i| {
                let gain = self.improvement(from, i)?;
                let added = (self.cost(i) - base).max(0.0) + 0.01 * base.max(1e-9);
                Some((i, gain / added))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i))
    }
}

/// Screens `point` as the search does: `settings.replicas` replicas, doubled up to four
/// times as many where the answer is close; feasible when the share passing reaches the
/// pass rate. A refused point has no replicas.
pub fn screen<O: Oracle>(
    oracle: &O,
    settings: &Settings,
    point: &[usize],
    step: Move,
) -> Result<Screened, String> {
    let cost = oracle.cost(point);
    let mut outcomes = Vec::new();
    let mut feasible = false;
    if cost.is_ok() {
        let first = settings.replicas.max(1);
        let mut n = first;
        outcomes = oracle.screen(point, 0, n)?;
        loop {
            let k = outcomes.iter().filter(|o| o.pass).count() as f64;
            feasible = k / outcomes.len() as f64 >= settings.pass_rate;
            let mixed = k > 0.0 && k < outcomes.len() as f64;
            let near = outcomes.iter().any(|o| (0.9..=1.1).contains(&o.score));
            if !(mixed || near) || n >= 4 * first {
                break;
            }
            outcomes.extend(oracle.screen(point, n, 2 * n)?);
            n *= 2;
        }
    }
    Ok(Screened {
        point: point.to_vec(),
        step,
        cost,
        outcomes,
        feasible,
        taken: false,
    })
}

/// Searches from `start` for the cheapest feasible point.
pub fn search<O: Oracle>(
    oracle: &O,
    settings: &Settings,
    start: &[usize],
) -> Result<SearchResult, String> {
    let mut s = Search {
        oracle,
        settings: settings.clone(),
        trace: Vec::new(),
        seen: HashMap::new(),
    };
    let mut chain = Vec::new();
    let mut cur = s.screen(start, Move::Start)?;
    if s.trace[cur].cost.is_err() {
        let why = s.trace[cur].cost.clone().unwrap_err();
        return Err(format!("the starting configuration is refused: {why}"));
    }
    s.take(cur, &mut chain);
    let mut ending = Ending::Converged;
    // 1. Repair.
    while !s.trace[cur].feasible {
        match s.step_up(cur, f64::INFINITY, None, Move::Repair)? {
            Some(i) => {
                cur = i;
                s.take(cur, &mut chain);
            }
            None => {
                ending = if s.spent() {
                    Ending::BudgetSpent
                } else {
                    Ending::Unreachable
                };
                break;
            }
        }
    }
    // 2. Descent.
    while s.trace[cur].feasible {
        if s.spent() {
            ending = Ending::BudgetSpent;
            break;
        }
        let base = s.cost(cur);
        let p = s.trace[cur].point.clone();
        let mut singles: Vec<(usize, usize, f64)> = (0..p.len())
            .filter_map(|k| s.cheaper(&p, k, base).map(|(st, c)| (k, st, c)))
            .collect();
        singles.sort_by(|a, b| a.2.total_cmp(&b.2));
        let mut failed = Vec::new();
        let mut deferred = Vec::new();
        let mut next = None;
        for &(k, st, _) in &singles {
            if s.spent() {
                break;
            }
            let q = Search::<O>::with(&p, &[(k, st)]);
            if s.dominated(&q) {
                // Screened only if a swap from it is tried.
                deferred.push((k, q));
                continue;
            }
            let i = s.screen(&q, Move::Descent)?;
            if s.trace[i].feasible {
                next = Some(i);
                break;
            }
            failed.push((k, i));
        }
        // Swaps: from the cheaper settings that failed, nearest to passing first, steps
        // up on the other knobs while the cost stays below the current point's.
        failed.sort_by(|a, b| {
            s.trace[a.1]
                .mean_score()
                .total_cmp(&s.trace[b.1].mean_score())
        });
        let mut starts = failed
            .into_iter()
            .map(|(k, i)| (k, Ok(i)))
            .collect::<Vec<_>>();
        starts.extend(deferred.into_iter().map(|(k, q)| (k, Err(q))));
        for (k, start) in starts {
            if next.is_some() || s.spent() {
                break;
            }
            let mut at = match start {
                Ok(i) => i,
                Err(q) => s.screen(&q, Move::Descent)?,
            };
            if s.trace[at].feasible {
                next = Some(at);
                break;
            }
            while let Some(i) = s.step_up(at, base - 1e-9, Some(k), Move::Swap)? {
                if s.trace[i].feasible {
                    next = Some(i);
                    break;
                }
                at = i;
            }
        }
        match next {
            Some(i) => {
                cur = i;
                s.take(cur, &mut chain);
            }
            None => {
                if s.spent() {
                    ending = Ending::BudgetSpent;
                }
                break;
            }
        }
    }
    let closest = (0..s.trace.len())
        .min_by(|&a, &b| s.trace[a].mean_score().total_cmp(&s.trace[b].mean_score()))
        .unwrap_or(0);
    Ok(SearchResult {
        trace: s.trace,
        chain,
        closest,
        ending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use sim_core::{RngStreams, StreamId};

    /// Knobs whose settings add capacity and cost; a point passes when its capacity
    /// reaches the need. Every replica sees the same, but for `noise`.
    struct Grid {
        capacity: Vec<Vec<f64>>,
        cost: Vec<Vec<f64>>,
        need: f64,
    }

    impl Grid {
        fn total(&self, p: &[usize], of: &[Vec<f64>]) -> f64 {
            p.iter().enumerate().map(|(k, &s)| of[k][s]).sum()
        }

        /// The cheapest passing point of every point, by enumeration.
        fn exhaustive(&self) -> Option<f64> {
            let sizes: Vec<usize> = self.capacity.iter().map(Vec::len).collect();
            let mut p = vec![0; sizes.len()];
            let mut best: Option<f64> = None;
            loop {
                if self.total(&p, &self.capacity) >= self.need {
                    let c = self.total(&p, &self.cost);
                    best = Some(best.map_or(c, |b: f64| b.min(c)));
                }
                let mut k = 0;
                loop {
                    if k == sizes.len() {
                        return best;
                    }
                    p[k] += 1;
                    if p[k] < sizes[k] {
                        break;
                    }
                    p[k] = 0;
                    k += 1;
                }
            }
        }
    }

    impl Oracle for Grid {
        fn cost(&self, p: &[usize]) -> Result<f64, String> {
            Ok(self.total(p, &self.cost))
        }
        fn screen(&self, p: &[usize], from: u64, to: u64) -> Result<Vec<Outcome>, String> {
            let score = self.need / self.total(p, &self.capacity);
            Ok((from..to)
                .map(|_| Outcome {
                    pass: score <= 1.0,
                    score,
                })
                .collect())
        }
    }

    fn settings(grid: &Grid, budget: usize) -> Settings {
        Settings {
            sizes: grid.capacity.iter().map(Vec::len).collect(),
            replicas: 3,
            pass_rate: 1.0,
            confidence: 0.95,
            budget,
        }
    }

    fn found(grid: &Grid, start: &[usize]) -> SearchResult {
        search(grid, &settings(grid, 1000), start).unwrap()
    }

    fn cost_of(grid: &Grid, r: &SearchResult) -> Option<f64> {
        r.chain
            .last()
            .map(|&i| grid.total(&r.trace[i].point, &grid.cost))
    }

    #[test]
    fn it_repairs_a_failing_start_then_descends_to_the_cheapest_passing_point() {
        // Prism Centrals (capacity 10 each, cost 5) and a free concurrency knob.
        let grid = Grid {
            capacity: vec![vec![10.0, 20.0, 30.0, 40.0], vec![0.0, 4.0, 8.0]],
            cost: vec![vec![5.0, 10.0, 15.0, 20.0], vec![0.0, 0.0, 0.0]],
            need: 27.0,
        };
        let r = found(&grid, &[0, 0]);
        assert_eq!(grid.exhaustive(), Some(10.0));
        assert_eq!(cost_of(&grid, &r), Some(10.0));
        let last = &r.trace[*r.chain.last().unwrap()];
        assert_eq!(last.point, vec![1, 2]);
        assert_eq!(r.ending, Ending::Converged);
        // From the most expensive corner it comes down to the same cost.
        assert_eq!(cost_of(&grid, &found(&grid, &[3, 0])), Some(10.0));
    }

    #[test]
    fn on_small_random_grids_it_finds_what_enumeration_finds() {
        // Two and three knobs of two to four settings, capacity and cost growing with the
        // setting (a free knob: cost 0), the need anywhere up to the top corner, from a
        // random start. Never below the optimum (it only takes passing points), and at it
        // on at least 97 % of the grids.
        let streams = RngStreams::new(7, 0);
        let mut rng = streams.stream(StreamId::named("grids"));
        let mut misses = 0;
        let trials = 300;
        for _ in 0..trials {
            let knobs = rng.random_range(2..=3);
            let mut capacity = Vec::new();
            let mut cost = Vec::new();
            for _ in 0..knobs {
                let n = rng.random_range(2..=4);
                let free = rng.random_bool(0.3);
                let (dc, dk) = (
                    rng.random_range(1..=5) as f64,
                    rng.random_range(1..=5) as f64,
                );
                capacity.push((0..n).map(|s| (s + 1) as f64 * dc).collect());
                cost.push(
                    (0..n)
                        .map(|s| if free { 0.0 } else { s as f64 * dk })
                        .collect(),
                );
            }
            let total_max: f64 = capacity.iter().map(|c: &Vec<f64>| c[c.len() - 1]).sum();
            let grid = Grid {
                capacity,
                cost,
                need: rng.random_range(0.0..=total_max),
            };
            let start: Vec<usize> = grid
                .capacity
                .iter()
                .map(|c| rng.random_range(0..c.len()))
                .collect();
            let r = found(&grid, &start);
            let best = grid.exhaustive().expect("the top corner passes");
            assert!(r.ending != Ending::Unreachable, "{start:?}");
            let got = cost_of(&grid, &r).expect("a passing point");
            assert!(got >= best - 1e-9, "below the optimum: {got} < {best}");
            if got > best + 1e-9 {
                misses += 1;
            }
        }
        // Seed 7 misses 4 of the 300: a local search, as documented.
        assert!(
            misses * 100 <= 3 * trials,
            "{misses} of {trials} grids missed"
        );
    }

    #[test]
    fn an_unreachable_need_names_the_closest_point_and_a_budget_stops_it() {
        let grid = Grid {
            capacity: vec![vec![1.0, 2.0], vec![1.0, 3.0]],
            cost: vec![vec![1.0, 2.0], vec![1.0, 2.0]],
            need: 10.0,
        };
        let r = found(&grid, &[0, 0]);
        assert_eq!(r.ending, Ending::Unreachable);
        assert!(r.chain.is_empty());
        assert_eq!(r.trace[r.closest].point, vec![1, 1]);
        let r = search(&grid, &settings(&grid, 2), &[0, 0]).unwrap();
        assert_eq!(r.ending, Ending::BudgetSpent);
        assert_eq!(r.trace.len(), 2);
    }
}
