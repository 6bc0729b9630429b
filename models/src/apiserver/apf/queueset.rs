//! One priority level of one API server: its seats and its queues (a `queueSet`).
//!
//! With fair queuing (`kube-apiserver.apf-fair-queuing`) it copies k8s.io/apiserver v0.33
//! `pkg/util/flowcontrol/fairqueuing/queueset/queueset.go`. Every request joins a queue:
//! the one of its flow's hand with the least waiting work, looked at from a rotating
//! offset (`shuffleShardLocked`); it is refused only when every seat is taken and that
//! queue holds `queueLengthLimit` requests. The level's virtual clock R (seat-seconds per
//! queue) advances at min(seats in use + seats waiting, limit) / active queues, a queue
//! being active while it holds a waiting or executing request (`getVirtualTimeRatioLocked`).
//! A queue that becomes active starts at R; dispatch takes the queue whose head would
//! finish first in virtual time, next dispatch R + its work, scanning round-robin from the
//! last queue served so ties go to the others (`findDispatchQueueToBoundLocked`), and
//! stops when that head does not fit. A request wider than the whole limit goes when
//! nothing else executes. A dispatch adds the request's work, initial seats × the 3 ms
//! estimated service duration plus its final work, to its queue's next dispatch R; when it
//! finishes, the queue gets back initial seats × (3 ms − actual duration), and no queue's
//! next dispatch R falls behind its oldest request's arrival R (`boundNextDispatchLocked`).
//! A request holds its max seats from dispatch until its additional latency after it
//! finishes. A request whose queue wait ends leaves its queue without a dispatch.
//!
//! Without it, the queues are served round-robin, each request dispatched as soon as
//! it fits (equal shares for requests of equal cost), and an arriving request executes at
//! once when no request waits.
//!
//! Left out: the epoch advance that keeps R from overflowing (u64 at 10⁻⁸ seat-seconds
//! lasts longer than any run), queue count changes. The queues' bookkeeping is
//! [`super::queues`].

use sim_core::stats::TimeWeightedGauge;
use sim_core::{SimDuration, SimTime};

use super::integrator::Integrator;
pub use super::queues::ESTIMATED_SERVICE_DURATION;
use super::queues::{Queues, Waiting};
use super::work_estimate::{self, SeatSeconds, WorkEstimate};
use super::{Admission, PriorityLevelConfig};

/// What a dispatched request holds: the caller keeps it and hands it back when the
/// request finishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seated {
    /// The queue it came from (none at a level without queues).
    pub queue: Option<u32>,
    /// When it was dispatched.
    pub started: SimTime,
    /// Its work estimate, final seats cut to the limit when they exceeded it.
    pub work: WorkEstimate,
    /// Seats it occupies until its additional latency ends [seats].
    pub seats: u32,
}

/// Seats a finished request keeps for its additional latency; handed back to
/// [`PriorityLevel::release_lingering`] when `after` has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lingering {
    /// Its queue.
    pub queue: Option<u32>,
    /// Seats it keeps [seats].
    pub seats: u32,
    /// For how long.
    pub after: SimDuration,
}

/// One priority level of one API server.
pub struct PriorityLevel<R> {
    fair: bool,
    nominal: u32,
    max_seats: u32,
    limit: u32,
    in_use: u32,
    executing: u32,
    queues: Queues<R>,
    queue_length_limit: usize,
    /// Round-robin: the next queue to look at. Fair queuing: the last one served.
    cursor: usize,
    enqueues: usize,
    /// Fair queuing's virtual time R.
    r: SeatSeconds,
    last_sync: SimTime,
    /// Seats in use plus seats waiting over time, for borrowing [seats].
    pub demand: Integrator,
    /// Seats in use over time [seats].
    pub seats_gauge: TimeWeightedGauge,
    /// Requests waiting over time [requests].
    pub queued_gauge: TimeWeightedGauge,
    /// Requests rejected with 429 [count].
    pub rejected: u64,
    /// Requests dispatched [count].
    pub dispatched: u64,
}

impl<R: Copy + PartialEq> PriorityLevel<R> {
    /// A level with `seats` nominal seats and the queues of `cfg`, served by fair
    /// queuing when `fair`, else round-robin.
    pub fn new(cfg: &PriorityLevelConfig, seats: u32, fair: bool) -> Self {
        PriorityLevel {
            fair,
            nominal: seats.max(1),
            max_seats: work_estimate::level_max_seats(seats, cfg.hand_size),
            limit: seats.max(1),
            in_use: 0,
            executing: 0,
            queues: Queues::new(cfg.queues),
            queue_length_limit: cfg.queue_length_limit as usize,
            cursor: 0,
            enqueues: 0,
            r: SeatSeconds(0),
            last_sync: SimTime::ZERO,
            demand: Integrator::default(),
            seats_gauge: TimeWeightedGauge::default(),
            queued_gauge: TimeWeightedGauge::default(),
            rejected: 0,
            dispatched: 0,
        }
    }

    /// Nominal seats of this level [seats].
    pub fn seats(&self) -> u32 {
        self.nominal
    }

    /// The most seats the work estimator gives one of its requests (0: it sets none).
    pub fn max_seats(&self) -> u32 {
        self.max_seats
    }

    /// Its current concurrency limit: the nominal seats, or what borrowing gave it [seats].
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Seats held by executing (and lingering) requests [seats].
    pub fn in_use(&self) -> u32 {
        self.in_use
    }

    /// Requests waiting in its queues [count].
    pub fn queued(&self) -> usize {
        self.queues.waiting
    }

    /// Fair queuing's virtual time R [seat-seconds per queue].
    pub fn virtual_time(&self) -> SeatSeconds {
        self.r
    }

    /// Sets the concurrency limit (borrowing) and dispatches what now fits.
    pub fn set_limit(&mut self, now: SimTime, limit: u32, dispatch: impl FnMut(R, Seated)) {
        self.sync_time(now);
        self.limit = limit;
        self.dispatch_queued(now, dispatch);
    }

    /// The seats a request of `work` occupies here.
    fn seats_of(&self, work: &WorkEstimate) -> u32 {
        if self.fair {
            work.max_seats()
        } else {
            work.max_seats().clamp(1, self.limit.max(1))
        }
    }

    /// Whether a request of `seats` may start now (`canAccommodateSeatsLocked`).
    fn can_accommodate(&self, seats: u32) -> bool {
        if self.fair && seats > self.limit {
            return self.executing == 0;
        }
        self.in_use + seats <= self.limit
    }

    fn note(&mut self, now: SimTime) {
        self.seats_gauge.set(now, f64::from(self.in_use));
        self.queued_gauge.set(now, self.queues.waiting as f64);
        let demand = self.in_use + self.queues.seats_waiting;
        self.demand.set(now, f64::from(demand));
    }

    fn occupy(&mut self, now: SimTime, queue: Option<u32>, work: WorkEstimate) -> Seated {
        let seats = self.seats_of(&work);
        self.in_use += seats;
        self.executing += 1;
        self.dispatched += 1;
        self.seats_gauge.set(now, f64::from(self.in_use));
        Seated {
            queue,
            started: now,
            work,
            seats,
        }
    }

    /// A request of `work` arrives from the flow dealt `hand`. Requests it lets go first
    /// (fair queuing dispatches by virtual time) are handed to `dispatch`.
    pub fn arrive(
        &mut self,
        now: SimTime,
        req: R,
        hand: &[u32],
        work: WorkEstimate,
        mut dispatch: impl FnMut(R, Seated),
    ) -> Admission {
        self.sync_time(now);
        let seats = self.seats_of(&work);
        if self.queues.is_empty() || (!self.fair && self.queues.waiting == 0) {
            if self.can_accommodate(seats) {
                let seated = self.occupy(now, None, work);
                self.note(now);
                return Admission::Dispatched(seated);
            }
            if self.queues.is_empty() {
                self.rejected += 1;
                return Admission::Rejected;
            }
        }
        let q = if self.fair {
            let offset = self.enqueues % hand.len();
            self.enqueues += 1;
            (0..hand.len())
                .map(|i| hand[(offset + i) % hand.len()])
                .min_by_key(|&q| self.queues.get(q as usize).waiting_work)
        } else {
            hand.iter()
                .copied()
                .min_by_key(|&q| (self.queues.get(q as usize).waiting.len(), q))
        };
        let q = q.expect("a hand has at least one queue");
        let full = self.queues.get(q as usize).waiting.len() >= self.queue_length_limit;
        if full && (!self.fair || self.in_use >= self.limit) {
            self.rejected += 1;
            return Admission::Rejected;
        }
        let w = Waiting::new(req, work, seats, self.r);
        self.queues.enqueue(q as usize, w, self.r);
        if !self.fair {
            self.note(now);
            return Admission::Queued(q);
        }
        let mut mine = None;
        self.dispatch_queued(now, |r, s| {
            if r == req {
                mine = Some(s);
            } else {
                dispatch(r, s);
            }
        });
        match mine {
            Some(s) => Admission::Dispatched(s),
            None => Admission::Queued(q),
        }
    }

    /// A request finished executing: it gives back its seats, or keeps them for its
    /// additional latency (returned: hand them to [`Self::release_lingering`] then).
    /// Queued requests that now fit are handed to `dispatch`.
    pub fn release(
        &mut self,
        now: SimTime,
        seated: Seated,
        dispatch: impl FnMut(R, Seated),
    ) -> Option<Lingering> {
        self.sync_time(now);
        self.executing -= 1;
        if let Some(q) = seated.queue {
            let queue = self.queues.get_mut(q as usize);
            if self.fair {
                // Fair queuing's estimate was 3 ms a seat; the queue pays the difference.
                let actual = (now - seated.started).as_nanos() as i64;
                let guess = ESTIMATED_SERVICE_DURATION.as_nanos() as i64;
                let initial = f64::from(seated.work.initial_seats);
                let back = SeatSeconds::signed(initial, guess - actual);
                queue.next_dispatch_r.0 = queue.next_dispatch_r.0.saturating_add_signed(-back);
                queue.bound_next_dispatch();
            }
            self.queues.finished(q as usize);
        }
        let lingering = Lingering {
            queue: seated.queue,
            seats: seated.seats,
            after: seated.work.additional_latency,
        };
        if lingering.after > SimDuration::ZERO {
            // One request fewer executing lets a request wider than the limit go.
            self.dispatch_queued(now, dispatch);
            return Some(lingering);
        }
        self.release_lingering(now, lingering, dispatch);
        None
    }

    /// A finished request's additional latency is over: its seats are free and queued
    /// requests that now fit are handed to `dispatch`.
    pub fn release_lingering(
        &mut self,
        now: SimTime,
        lingering: Lingering,
        dispatch: impl FnMut(R, Seated),
    ) {
        self.sync_time(now);
        self.in_use -= lingering.seats;
        if let Some(q) = lingering.queue {
            self.queues.released(q as usize, lingering.seats);
        }
        self.seats_gauge.set(now, f64::from(self.in_use));
        self.dispatch_queued(now, dispatch);
    }

    /// Removes a request whose queue wait timed out from queue `q`; `false` if it was not
    /// there (already dispatched). Round-robin dispatches the requests it was blocking
    /// that now fit; fair queuing waits for the next arrival or finish, as the API
    /// server's request does when its context ends.
    pub fn time_out(
        &mut self,
        now: SimTime,
        q: u32,
        req: R,
        dispatch: impl FnMut(R, Seated),
    ) -> bool {
        self.sync_time(now);
        if self.queues.remove(q as usize, req).is_none() {
            return false;
        }
        self.rejected += 1;
        if self.fair {
            self.note(now);
        } else {
            self.dispatch_queued(now, dispatch);
        }
        true
    }

    /// Advances the virtual clock to `now` at the rate of the state since the last
    /// change (`syncTimeLocked`, `getVirtualTimeRatioLocked`).
    fn sync_time(&mut self, now: SimTime) {
        let dt = now.saturating_since(self.last_sync);
        self.last_sync = now;
        if self.queues.active > 0 {
            let requested = (self.in_use + self.queues.seats_waiting).min(self.limit);
            let ratio = f64::from(requested) / f64::from(self.queues.active);
            self.r.0 += SeatSeconds::of(ratio, dt).0;
        }
    }

    fn dispatch_queued(&mut self, now: SimTime, mut dispatch: impl FnMut(R, Seated)) {
        if self.fair {
            while self.queues.waiting > 0 && self.in_use < self.limit {
                let Some((seated, req)) = self.dispatch_fair(now) else {
                    break;
                };
                dispatch(req, seated);
            }
        } else {
            self.dispatch_round_robin(now, &mut dispatch);
        }
        self.note(now);
    }

    /// The head of the queue whose head finishes first in virtual time, if it fits
    /// (`findDispatchQueueToBoundLocked`, `dispatchLocked`).
    fn dispatch_fair(&mut self, now: SimTime) -> Option<(Seated, R)> {
        let mut best: Option<(usize, u64)> = None;
        for q in self.queues.waiting_from(self.cursor + 1) {
            let finish = self.queues.get(q).head_finish().expect("a request waits");
            if best.is_none_or(|(_, f)| finish < f) {
                best = Some((q, finish));
            }
        }
        let (q, _) = best?;
        let head = self.queues.get(q).waiting.front().expect("a request waits");
        if !self.can_accommodate(head.work.max_seats()) {
            return None;
        }
        let mut work = head.work;
        if work.final_seats > self.limit {
            // Final seats beyond the limit are cut to it, keeping their work.
            let final_work = work.final_work();
            work.final_seats = self.limit;
            work.additional_latency = final_work.per_seat(self.limit);
        }
        self.cursor = q;
        let seats = self.seats_of(&work);
        let w = self.queues.dispatch(q, seats);
        let seated = self.occupy(now, Some(q as u32), work);
        let queue = self.queues.get_mut(q);
        queue.next_dispatch_r.0 += w.total_work().0;
        queue.bound_next_dispatch();
        Some((seated, w.req))
    }

    fn dispatch_round_robin(&mut self, now: SimTime, dispatch: &mut impl FnMut(R, Seated)) {
        while self.queues.waiting > 0 {
            let Some(q) = self.queues.waiting_from(self.cursor).next() else {
                break;
            };
            let work = self
                .queues
                .get(q)
                .waiting
                .front()
                .expect("a request waits")
                .work;
            let seats = self.seats_of(&work);
            if self.in_use + seats > self.limit {
                break;
            }
            let w = self.queues.dispatch(q, seats);
            self.cursor = (q + 1) % self.queues.len();
            let seated = self.occupy(now, Some(q as u32), work);
            dispatch(w.req, seated);
        }
    }

    /// Panics unless the level's counters agree with its queues.
    #[cfg(test)]
    pub(crate) fn check(&self) {
        self.queues.check(self.in_use);
    }
}
