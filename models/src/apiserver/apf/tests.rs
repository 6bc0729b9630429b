//! One level's queueing, round-robin and fair, checked against what each discipline
//! promises: seats never over the limit, 429s from full queues, equal seat-seconds for
//! backlogged flows (fair queuing's definition, `queueset/doc.go`), final seats held for
//! the additional latency.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use sim_core::{SimDuration, SimTime};

use super::work_estimate::{self, WorkEstimate};
use super::*;

const T: SimTime = SimTime::ZERO;
const ONE: WorkEstimate = WorkEstimate::seats(1);

fn config(queues: u32, qlen: u32) -> PriorityLevelConfig {
    PriorityLevelConfig {
        name: "test".into(),
        shares: 1,
        queues,
        hand_size: 2,
        queue_length_limit: qlen,
        lendable_percent: 0,
        borrowing_limit_percent: None,
    }
}

fn level(seats: u32, queues: u32, qlen: u32, fair: bool) -> PriorityLevel<u32> {
    PriorityLevel::new(&config(queues, qlen), seats, fair)
}

fn dispatched(a: Admission) -> Seated {
    match a {
        Admission::Dispatched(s) => s,
        other => panic!("not dispatched: {other:?}"),
    }
}

fn none(_: u32, _: Seated) {
    panic!("nothing should be dispatched")
}

#[test]
fn default_levels_get_the_documented_seats() {
    // 600 seats: workload-low 245, global-default 49, workload-high 98 (defaults.md).
    let levels = default_levels();
    let limits = nominal_limits(600, &levels);
    let seats = |name: &str| limits[levels.iter().position(|l| l.name == name).unwrap()];
    assert_eq!(seats("workload-low"), 245);
    assert_eq!(seats("global-default"), 49);
    assert_eq!(seats("workload-high"), 98);
    assert_eq!(seats("leader-election"), 25);
}

#[test]
fn a_hand_is_distinct_queues_within_the_deck() {
    for hash in [0u64, 1, 12345, u64::MAX, 0xdead_beef_cafe] {
        let mut hand = deal_hand(hash, 128, 6);
        assert!(hand.iter().all(|&q| q < 128));
        hand.sort_unstable();
        hand.dedup();
        assert_eq!(hand.len(), 6, "hash {hash}");
    }
}

#[test]
fn never_more_seats_in_use_than_configured() {
    for fair in [false, true] {
        let mut l = level(4, 8, 1000, fair);
        let hand = deal_hand(7, 8, 2);
        let mut running = Vec::new();
        for r in 0..100u32 {
            if let Admission::Dispatched(s) = l.arrive(T, r, &hand, ONE, none) {
                running.push(s);
            }
            assert!(l.in_use() <= 4);
        }
        assert_eq!(running.len(), 4);
        assert_eq!(l.queued(), 96);
        // Each release lets exactly one queued request in.
        let mut let_in = Vec::new();
        for _ in 0..10 {
            let s = running.pop().unwrap();
            l.release(T, s, |r, s| {
                let_in.push(r);
                running.push(s);
            });
            assert!(l.in_use() <= 4);
        }
        assert_eq!(let_in.len(), 10);
        assert_eq!(l.seats_gauge.max(), 4.0);
    }
}

#[test]
fn a_full_queue_gives_429s() {
    // One seat, hand of 2 queues of 3: 1 executes, 6 wait, the rest are rejected.
    for fair in [false, true] {
        let mut l = level(1, 4, 3, fair);
        let hand = deal_hand(99, 4, 2);
        let results: Vec<Admission> = (0..10u32)
            .map(|r| l.arrive(T, r, &hand, ONE, none))
            .collect();
        assert!(matches!(results[0], Admission::Dispatched(_)));
        let queued = results.iter().filter(|a| matches!(a, Admission::Queued(_)));
        assert_eq!(queued.count(), 6);
        let rejected = results.iter().filter(|a| **a == Admission::Rejected);
        assert_eq!(rejected.count(), 3);
        assert_eq!(l.rejected, 3);
    }
}

/// Flow A holds the only seat and floods its queue; flow B's request arrives later on
/// another queue. Served round-robin, B's request comes second, after A's next. Fair
/// queuing counts the seat A's first request used, so B's comes first: the tie in
/// virtual finish time goes to the queue after the one last served.
#[test]
fn flows_are_served_round_robin() {
    for (fair, first_two) in [(false, [1, 100]), (true, [100, 1])] {
        let mut l = level(1, 2, 100, fair);
        let mut seated = vec![dispatched(l.arrive(T, 0, &[0], ONE, none))];
        for r in 1..=5 {
            l.arrive(T, r, &[0], ONE, none);
        }
        l.arrive(T, 100, &[1], ONE, none);
        let mut order = Vec::new();
        for _ in 0..6 {
            let s = seated.pop().unwrap();
            l.release(T, s, |r, s| {
                order.push(r);
                seated.push(s);
            });
        }
        assert_eq!(order[..2], first_two, "fair queuing {fair}");
    }
}

#[test]
fn timed_out_requests_leave_the_queue() {
    for fair in [false, true] {
        let mut l = level(1, 1, 10, fair);
        l.arrive(T, 1, &[0], ONE, none);
        assert_eq!(l.arrive(T, 2, &[0], ONE, none), Admission::Queued(0));
        assert!(l.time_out(T, 0, 2, none));
        assert!(!l.time_out(T, 0, 2, none));
        assert_eq!((l.queued(), l.rejected), (0, 1));
    }
}

#[test]
fn a_timed_out_wide_request_unblocks_the_ones_behind_it() {
    // 4 seats, 3 in use; a 4-seat LIST waits at the head, a 1-seat write behind it.
    // Round-robin lets the write go at once; fair queuing at the next arrival or finish.
    for fair in [false, true] {
        let mut l = level(4, 1, 10, fair);
        let held = dispatched(l.arrive(T, 1, &[0], WorkEstimate::seats(3), none));
        assert_eq!(
            l.arrive(T, 2, &[0], WorkEstimate::seats(4), none),
            Admission::Queued(0)
        );
        assert_eq!(l.arrive(T, 3, &[0], ONE, none), Admission::Queued(0));
        let mut went = Vec::new();
        assert!(l.time_out(T, 0, 2, |r, _| went.push(r)));
        if fair {
            assert!(went.is_empty());
            l.release(T, held, |r, _| went.push(r));
            assert_eq!(l.in_use(), 1);
        } else {
            assert_eq!(l.in_use(), 4);
        }
        assert_eq!(went, vec![3]);
    }
}

#[test]
fn a_request_wider_than_the_limit_waits_until_nothing_executes() {
    // queueset.go's canAccommodateSeatsLocked: 6 seats on a 4-seat level go alone.
    let mut l = level(4, 1, 10, true);
    let held = dispatched(l.arrive(T, 1, &[0], ONE, none));
    assert_eq!(
        l.arrive(T, 2, &[0], WorkEstimate::seats(6), none),
        Admission::Queued(0)
    );
    let mut went = Vec::new();
    l.release(T, held, |r, s| went.push((r, s.seats)));
    assert_eq!(went, vec![(2, 6)]);
    assert_eq!(l.in_use(), 6);
}

#[test]
fn virtual_time_advances_by_the_seats_each_active_queue_could_use() {
    // 10 seats taken by two queues' requests for one second: R = min(10, 10) / 2 · 1 s.
    let mut l = level(10, 4, 50, true);
    for r in 0..10 {
        l.arrive(T, r, &[r % 2], ONE, none);
    }
    l.arrive(T + SimDuration::from_secs(1), 10, &[0], ONE, none);
    assert_eq!(l.virtual_time().as_f64(), 5.0);
}

/// A mutating request whose event N watchers will receive holds ⌈N/10⌉ seats for the
/// 5 ms after it executes, from 10 watchers on (mutating_work_estimator.go); a request
/// behind it gets its seat only then.
#[test]
fn a_write_holds_its_watchers_seats_for_the_additional_latency() {
    let done = T + SimDuration::from_millis(20);
    let later = done + SimDuration::from_millis(5);
    for (watchers, held) in [(5, 0), (10, 1), (25, 3), (95, 10)] {
        for fair in [false, true] {
            let mut l = level(10, 2, 50, fair);
            let work = work_estimate::mutating(watchers, 37);
            let s = dispatched(l.arrive(T, 1, &[0], work, none));
            assert_eq!(s.seats, held.max(1), "{watchers} watchers");
            let lingering = l.release(done, s, none);
            assert_eq!(l.in_use(), held, "{watchers} watchers, after executing");
            match lingering {
                None => assert_eq!(held, 0),
                Some(g) => {
                    assert_eq!((g.seats, g.after), (held, SimDuration::from_millis(5)));
                    l.release_lingering(later, g, none);
                    assert_eq!(l.in_use(), 0);
                }
            }
        }
    }
    // Only the lingering release lets a request waiting for those seats in.
    let mut l = level(3, 2, 50, true);
    let s = dispatched(l.arrive(T, 1, &[0], work_estimate::mutating(30, 37), none));
    assert_eq!(l.arrive(T, 2, &[1], ONE, none), Admission::Queued(1));
    let g = l.release(done, s, none).expect("3 seats for 5 ms");
    let mut went = Vec::new();
    l.release_lingering(later, g, |r, _| went.push(r));
    assert_eq!(went, vec![2]);
}

/// Serves `flows` (arrivals per second, seats per request), each from its own queue, on
/// a level of `seats` seats for 60 s, every request executing 20 ms: the seat-seconds and
/// requests each flow got.
fn serve(fair: bool, seats: u32, flows: &[(u64, u32)]) -> Vec<(f64, u64)> {
    const SERVICE: SimDuration = SimDuration::from_millis(20);
    let mut l = level(seats, flows.len() as u32, 50, fair);
    // (time, 0 = finish / 1 = arrival, flow or request).
    let mut events = BinaryHeap::new();
    for (f, &(rate, _)) in flows.iter().enumerate() {
        events.push(Reverse((SimTime::ZERO, 1, f as u32)));
        assert!(rate > 0);
    }
    let (mut got, mut seated) = (vec![(0.0, 0u64); flows.len()], HashMap::new());
    let (mut next_id, mut steps) = (0u32, 0u64);
    let end = SimTime::ZERO + SimDuration::from_secs(60);
    while let Some(Reverse((now, kind, x))) = events.pop() {
        if now >= end {
            break;
        }
        let mut started = Vec::new();
        if kind == 1 {
            let (rate, width) = flows[x as usize];
            events.push(Reverse((
                now + SimDuration::from_nanos(1_000_000_000 / rate),
                1,
                x,
            )));
            let id = next_id * flows.len() as u32 + x;
            next_id += 1;
            let work = WorkEstimate::seats(width);
            if let Admission::Dispatched(s) =
                l.arrive(now, id, &[x], work, |r, s| started.push((r, s)))
            {
                started.push((id, s));
            }
        } else {
            let s = seated.remove(&x).expect("executing");
            assert!(l.release(now, s, |r, s| started.push((r, s))).is_none());
        }
        for (r, s) in started {
            let f = r as usize % flows.len();
            got[f].0 += f64::from(s.seats) * SERVICE.as_secs_f64();
            got[f].1 += 1;
            seated.insert(r, s);
            events.push(Reverse((now + SERVICE, 0, r)));
        }
        assert!(l.in_use() <= seats.max(flows.iter().map(|f| f.1).max().unwrap()));
        steps += 1;
        if steps % 1000 == 0 {
            l.check();
        }
    }
    got
}

/// Two flows asking 12 and 8 seat-seconds a second of a level that serves 10: both
/// backlogged, fair queuing gives each half, whatever their arrival rates.
#[test]
fn backlogged_flows_get_equal_seat_shares_whatever_their_rates() {
    let got = serve(true, 10, &[(600, 1), (400, 1)]);
    let (a, b) = (got[0].0, got[1].0);
    assert!((a - b).abs() / (a + b) < 0.01, "seat-seconds {a} and {b}");
    // The level was busy throughout: 10 seats for 60 s, shared.
    assert!(a + b > 0.99 * 600.0, "{}", a + b);
}

/// A flow of 4-seat requests and one of 1-seat requests, both backlogged: fair queuing
/// gives them equal seat-seconds, so the narrow flow gets about 4 times the requests;
/// round-robin gives them equal requests, so the wide flow gets 4 times the seats.
#[test]
fn wide_and_narrow_flows_get_equal_seat_seconds_not_equal_requests() {
    let got = serve(true, 10, &[(400, 4), (800, 1)]);
    let ((wide, n_wide), (narrow, n_narrow)) = (got[0], got[1]);
    assert!(
        (wide - narrow).abs() / (wide + narrow) < 0.02,
        "seat-seconds {wide} and {narrow}"
    );
    let ratio = n_narrow as f64 / n_wide as f64;
    assert!((ratio - 4.0).abs() < 0.1, "requests {n_narrow} / {n_wide}");
    let got = serve(false, 10, &[(400, 4), (800, 1)]);
    let ratio = got[0].1 as f64 / got[1].1 as f64;
    assert!((ratio - 1.0).abs() < 0.01, "round-robin requests {ratio}");
}
