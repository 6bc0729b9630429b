//! A request's work estimate: the seats it holds while it executes, the seats it keeps
//! afterwards for its watch events and for how long, and the seat-seconds fair queuing
//! charges it.
//!
//! Copies k8s.io/apiserver v0.33 `pkg/util/flowcontrol/request`: `config.go` (1 seat at
//! least, 10 at most, 100 objects or 10 watches a seat, 5 ms of event work),
//! `width.go` (`WorkEstimate`, `MaxSeats`), `list_work_estimator.go` (a LIST served from
//! the watch cache, as informers' relists and, with `ConsistentListFromCache`, consistent
//! reads are: ⌈objects stored of the resource / 100⌉ seats), `mutating_work_estimator.go`
//! (no extra seats below 10 watchers, else ⌈watchers/10⌉ final seats, the 5 ms of work
//! reshaped when capped) and `seat_seconds.go` (seat-seconds in units of 10⁻⁸); and
//! `apf_controller.go`'s cap per level, max(1, min(⌈0.15 · nominal⌉, nominal / handSize)).
//!
//! Left out: the object count tracker's one-minute staleness (the count is the live one),
//! LISTs with a `limit` or served from etcd, and the size-based LIST estimate of 1.34+.

use sim_core::SimDuration;

/// The fewest seats a request holds (`MinimumSeats`).
pub const MINIMUM_SEATS: u32 = 1;
/// The most seats any estimate gives (`MaximumSeatsLimit`, v0.33).
pub const MAXIMUM_SEATS_LIMIT: u32 = 10;
/// Objects a LIST processes per seat (`objectsPerSeat`).
pub const OBJECTS_PER_SEAT: u64 = 100;
/// Watchers a write's event reaches per final seat (`watchesPerSeat`).
pub const WATCHES_PER_SEAT: u32 = 10;
/// A write event's work per final seat (`eventAdditionalDuration`).
pub const EVENT_ADDITIONAL_DURATION: SimDuration = SimDuration::from_millis(5);
/// Share of a level's nominal seats one request may take (`priorityLevelMaxSeatsPercent`).
const MAX_SEATS_FRACTION: f64 = 0.15;

/// Seat-seconds, in units of 10⁻⁸ (`SeatSeconds`, `ssScale`): fair queuing's virtual time
/// and a request's work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeatSeconds(pub u64);

impl SeatSeconds {
    /// `seats` held for `d` (`SeatsTimesDuration`): round(seats · ns / 10).
    pub fn of(seats: f64, d: SimDuration) -> Self {
        SeatSeconds(Self::signed(seats, d.as_nanos() as i64) as u64)
    }

    /// `seats` held for `ns` nanoseconds, which may be negative.
    pub fn signed(seats: f64, ns: i64) -> i64 {
        (seats * ns as f64 / 10.0).round() as i64
    }

    /// The time `seats` take to do this work (`DurationPerSeat`).
    pub fn per_seat(self, seats: u32) -> SimDuration {
        SimDuration::from_nanos((self.0 as f64 / f64::from(seats.max(1)) * 10.0) as u64)
    }

    /// In seat-seconds.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1e8
    }
}

/// A request's work estimate (`WorkEstimate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkEstimate {
    /// Seats while it executes [seats].
    pub initial_seats: u32,
    /// Seats after it executes, for its watch events [seats].
    pub final_seats: u32,
    /// How long it keeps its seats after it executes.
    pub additional_latency: SimDuration,
}

impl WorkEstimate {
    /// `seats` while executing, nothing after.
    pub const fn seats(seats: u32) -> Self {
        WorkEstimate {
            initial_seats: seats,
            final_seats: 0,
            additional_latency: SimDuration::ZERO,
        }
    }

    /// The seats it occupies from dispatch until its additional latency ends (`MaxSeats`:
    /// the larger of its initial and final seats).
    pub fn max_seats(&self) -> u32 {
        self.initial_seats.max(self.final_seats)
    }

    /// Its final seats' work: final seats × additional latency.
    pub fn final_work(&self) -> SeatSeconds {
        SeatSeconds::of(f64::from(self.final_seats), self.additional_latency)
    }

    /// What fair queuing charges its queue at dispatch: its initial seats × the estimated
    /// service duration `g`, plus its final work (`completeWorkEstimate`).
    pub fn total_work(&self, g: SimDuration) -> SeatSeconds {
        SeatSeconds(SeatSeconds::of(f64::from(self.initial_seats), g).0 + self.final_work().0)
    }
}

/// The most seats a request of a level with `nominal` seats and hands of `hand_size` may
/// take (`apf_controller.go`); 0 for a level without queues, which sets none.
pub fn level_max_seats(nominal: u32, hand_size: u32) -> u32 {
    if hand_size == 0 {
        return 0;
    }
    let by_share = (f64::from(nominal) * MAX_SEATS_FRACTION).ceil();
    by_share.min(f64::from(nominal / hand_size)).max(1.0) as u32
}

/// The estimators' cap: the level's max seats, or the limit when the level sets none or
/// more.
fn cap(level_max: u32) -> u32 {
    if level_max == 0 || level_max > MAXIMUM_SEATS_LIMIT {
        MAXIMUM_SEATS_LIMIT
    } else {
        level_max
    }
}

/// A LIST served from the watch cache of a resource with `stored` objects: it processes
/// every stored object, whatever its selector returns.
pub fn list(stored: u64, level_max: u32) -> WorkEstimate {
    let seats = stored.div_ceil(OBJECTS_PER_SEAT);
    WorkEstimate::seats(seats.clamp(u64::from(MINIMUM_SEATS), u64::from(cap(level_max))) as u32)
}

/// A create, update, patch or delete whose event `watchers` watches on this API server
/// will receive.
pub fn mutating(watchers: u32, level_max: u32) -> WorkEstimate {
    if watchers < WATCHES_PER_SEAT {
        return WorkEstimate::seats(1);
    }
    let seats = watchers.div_ceil(WATCHES_PER_SEAT);
    let work = SeatSeconds::of(f64::from(seats), EVENT_ADDITIONAL_DURATION);
    let final_seats = seats.min(cap(level_max));
    WorkEstimate {
        initial_seats: 1,
        final_seats,
        additional_latency: work.per_seat(final_seats),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_levels_cap_requests_at_ten_seats() {
        // At 600 seats workload-low's 245 give min(37, 40): the 10-seat limit applies, as
        // the comment in apf_controller.go says it was chosen to preserve.
        assert_eq!(cap(level_max_seats(245, 6)), 10);
        // global-default's 49: min(⌈7.35⌉, 49/6 = 8) = 8.
        assert_eq!(level_max_seats(49, 6), 8);
        // A small server: 25 seats, hands of 6 → min(4, 4) = 4.
        assert_eq!(level_max_seats(25, 6), 4);
        assert_eq!(level_max_seats(3, 6), 1);
        assert_eq!(cap(level_max_seats(13, 0)), 10);
    }

    #[test]
    fn a_list_takes_a_seat_per_hundred_stored_objects_up_to_the_cap() {
        assert_eq!(list(0, 37).initial_seats, 1);
        assert_eq!(list(100, 37).initial_seats, 1);
        assert_eq!(list(101, 37).initial_seats, 2);
        assert_eq!(list(2500, 37).initial_seats, 10);
        assert_eq!(list(2500, 4).initial_seats, 4);
    }

    #[test]
    fn writes_hold_final_seats_only_from_ten_watchers() {
        assert_eq!(mutating(9, 37), WorkEstimate::seats(1));
        let ten = mutating(10, 37);
        assert_eq!((ten.initial_seats, ten.final_seats), (1, 1));
        assert_eq!(ten.additional_latency, SimDuration::from_millis(5));
        let e = mutating(35, 37);
        assert_eq!((e.final_seats, e.max_seats()), (4, 4));
        assert_eq!(e.additional_latency, SimDuration::from_millis(5));
        // 250 watchers want 25 seats for 5 ms; capped at 10 they hold them 12.5 ms.
        let e = mutating(250, 37);
        assert_eq!(e.final_seats, 10);
        assert_eq!(e.additional_latency, SimDuration::from_micros(12_500));
        assert_eq!(e.final_work().as_f64(), 0.125);
    }

    #[test]
    fn total_work_is_initial_seats_times_the_guess_plus_final_work() {
        let g = SimDuration::from_millis(3);
        // 3 seats × 3 ms = 0.009 seat-seconds; plus 2 × 5 ms = 0.01.
        let e = WorkEstimate {
            initial_seats: 3,
            final_seats: 2,
            additional_latency: SimDuration::from_millis(5),
        };
        assert_eq!(e.total_work(g), SeatSeconds(1_900_000));
    }
}
