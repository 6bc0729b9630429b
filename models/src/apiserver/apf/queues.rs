//! A priority level's queues and their bookkeeping: each queue's waiting requests in
//! arrival order, the work waiting in it and its next dispatch in virtual time, the
//! requests it has executing and the seats they hold; and over all queues the requests
//! and seats waiting and the number of active queues (a queue is active while it has a
//! request waiting or executing).
//!
//! Copies k8s.io/apiserver v0.33 `fairqueuing/queueset/types.go` (`queue`, `queueSum`) and
//! `fifo_list.go`. A bitmap of the queues with waiting requests lets dispatch look only at
//! those, in the round-robin order the API server scans all of them in.

use std::collections::VecDeque;

use sim_core::SimDuration;

use super::work_estimate::{SeatSeconds, WorkEstimate};

/// The queueset's guess of a request's service duration (`estimatedServiceDuration`).
pub const ESTIMATED_SERVICE_DURATION: SimDuration = SimDuration::from_millis(3);

/// A request in a queue.
pub(super) struct Waiting<R> {
    pub(super) req: R,
    pub(super) work: WorkEstimate,
    /// Seats it counts for while it waits [seats].
    pub(super) seats: u32,
    /// The level's virtual time when it arrived.
    pub(super) arrival_r: SeatSeconds,
    /// Its work as fair queuing charges it, worked out once: dispatch reads every
    /// waiting queue's head each time.
    total: SeatSeconds,
}

impl<R> Waiting<R> {
    /// `req`, of `work` and counting `seats` while it waits, arrived at `arrival_r`.
    pub(super) fn new(req: R, work: WorkEstimate, seats: u32, arrival_r: SeatSeconds) -> Self {
        Waiting {
            req,
            work,
            seats,
            arrival_r,
            total: work.total_work(ESTIMATED_SERVICE_DURATION),
        }
    }

    /// Its work as fair queuing charges it.
    pub(super) fn total_work(&self) -> SeatSeconds {
        self.total
    }
}

/// One queue (`queue`).
pub(super) struct Queue<R> {
    pub(super) waiting: VecDeque<Waiting<R>>,
    /// When its next request is dispatched in virtual time (`nextDispatchR`).
    pub(super) next_dispatch_r: SeatSeconds,
    /// Its requests executing [count].
    executing: u32,
    /// Seats they hold, lingering ones included [seats].
    seats_in_use: u32,
    /// Work of its waiting requests (`TotalWorkSum`).
    pub(super) waiting_work: SeatSeconds,
}

impl<R> Queue<R> {
    fn active(&self) -> bool {
        !self.waiting.is_empty() || self.executing > 0
    }

    /// Its oldest request's finish in virtual time, if a request waits.
    pub(super) fn head_finish(&self) -> Option<u64> {
        let head = self.waiting.front()?;
        Some(self.next_dispatch_r.0 + head.total_work().0)
    }

    /// No dispatch precedes its oldest request's arrival in virtual time (the anti-windup
    /// of `boundNextDispatchLocked`).
    pub(super) fn bound_next_dispatch(&mut self) {
        if let Some(head) = self.waiting.front() {
            self.next_dispatch_r = self.next_dispatch_r.max(head.arrival_r);
        }
    }
}

/// A level's queues.
pub(super) struct Queues<R> {
    queues: Vec<Queue<R>>,
    /// One bit per queue, set while requests wait in it.
    bits: Vec<u64>,
    /// Requests waiting [count].
    pub(super) waiting: usize,
    /// Seats of the requests waiting [seats].
    pub(super) seats_waiting: u32,
    /// Queues with a request waiting or executing [count].
    pub(super) active: u32,
}

impl<R: PartialEq> Queues<R> {
    /// `n` empty queues.
    pub(super) fn new(n: u32) -> Self {
        let queue = || Queue {
            waiting: VecDeque::new(),
            next_dispatch_r: SeatSeconds(0),
            executing: 0,
            seats_in_use: 0,
            waiting_work: SeatSeconds(0),
        };
        Queues {
            queues: (0..n).map(|_| queue()).collect(),
            bits: vec![0; (n as usize).div_ceil(64)],
            waiting: 0,
            seats_waiting: 0,
            active: 0,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.queues.len()
    }

    pub(super) fn get(&self, q: usize) -> &Queue<R> {
        &self.queues[q]
    }

    pub(super) fn get_mut(&mut self, q: usize) -> &mut Queue<R> {
        &mut self.queues[q]
    }

    /// Puts a request at the back of queue `q`, which starts at virtual time `r` if it
    /// was inactive.
    pub(super) fn enqueue(&mut self, q: usize, w: Waiting<R>, r: SeatSeconds) {
        let queue = &mut self.queues[q];
        if !queue.active() {
            queue.next_dispatch_r = r;
            self.active += 1;
        }
        queue.waiting_work.0 += w.total_work().0;
        self.waiting += 1;
        self.seats_waiting += w.seats;
        self.bits[q / 64] |= 1 << (q % 64);
        queue.waiting.push_back(w);
        queue.bound_next_dispatch();
    }

    /// Takes the request at the head of queue `q` to execute it with `seats`.
    pub(super) fn dispatch(&mut self, q: usize, seats: u32) -> Waiting<R> {
        let w = self.take(q, 0);
        let queue = &mut self.queues[q];
        queue.executing += 1;
        queue.seats_in_use += seats;
        w
    }

    /// Takes `req` out of queue `q`, if it waits there.
    pub(super) fn remove(&mut self, q: usize, req: R) -> Option<Waiting<R>> {
        let i = self.queues[q].waiting.iter().position(|w| w.req == req)?;
        let w = self.take(q, i);
        self.active -= u32::from(!self.queues[q].active());
        self.queues[q].bound_next_dispatch();
        Some(w)
    }

    fn take(&mut self, q: usize, i: usize) -> Waiting<R> {
        let queue = &mut self.queues[q];
        let w = queue.waiting.remove(i).expect("a waiting request");
        queue.waiting_work.0 -= w.total_work().0;
        if queue.waiting.is_empty() {
            self.bits[q / 64] &= !(1 << (q % 64));
        }
        self.waiting -= 1;
        self.seats_waiting -= w.seats;
        w
    }

    /// A request of queue `q` finished executing.
    pub(super) fn finished(&mut self, q: usize) {
        self.queues[q].executing -= 1;
        self.active -= u32::from(!self.queues[q].active());
    }

    /// A request of queue `q` gave back its `seats`.
    pub(super) fn released(&mut self, q: usize, seats: u32) {
        self.queues[q].seats_in_use -= seats;
    }

    /// The queues with waiting requests, in round-robin order from `start`.
    pub(super) fn waiting_from(&self, start: usize) -> impl Iterator<Item = usize> + '_ {
        let start = start.checked_rem(self.queues.len()).unwrap_or(0);
        let next = move |from: usize| {
            let mut w = from / 64;
            let mut bits = self.bits.get(w)? & (!0u64 << (from % 64));
            while bits == 0 {
                w += 1;
                bits = *self.bits.get(w)?;
            }
            Some(w * 64 + bits.trailing_zeros() as usize)
        };
        let after = std::iter::successors(next(start), move |&q| next(q + 1));
        let before = std::iter::successors(next(0), move |&q| next(q + 1));
        after.chain(before.take_while(move |&q| q < start))
    }

    /// Panics unless the counters agree with the queues; `in_use` bounds the seats the
    /// queues hold.
    #[cfg(test)]
    pub(super) fn check(&self, in_use: u32) {
        let active = self.queues.iter().filter(|q| q.active()).count();
        assert_eq!(self.active as usize, active, "active queues");
        let waiting: usize = self.queues.iter().map(|q| q.waiting.len()).sum();
        assert_eq!(self.waiting, waiting, "waiting requests");
        let seats: u32 = self
            .queues
            .iter()
            .flat_map(|q| &q.waiting)
            .map(|w| w.seats)
            .sum();
        assert_eq!(self.seats_waiting, seats, "waiting seats");
        for (i, q) in self.queues.iter().enumerate() {
            let bit = self.bits[i / 64] >> (i % 64) & 1 == 1;
            assert_eq!(bit, !q.waiting.is_empty(), "queue {i}'s bit");
            let work: u64 = q.waiting.iter().map(|w| w.total_work().0).sum();
            assert_eq!(q.waiting_work.0, work, "queue {i}'s work");
        }
        let held: u32 = self.queues.iter().map(|q| q.seats_in_use).sum();
        assert!(held <= in_use, "seats in use");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_queues_are_visited_round_robin_from_the_start() {
        let mut qs = Queues::<u32>::new(130);
        for q in [3, 64, 70, 129] {
            let work = WorkEstimate::seats(1);
            qs.enqueue(q, Waiting::new(0, work, 1, SeatSeconds(0)), SeatSeconds(0));
        }
        let from = |qs: &Queues<u32>, s| qs.waiting_from(s).collect::<Vec<_>>();
        assert_eq!(from(&qs, 0), [3, 64, 70, 129]);
        assert_eq!(from(&qs, 65), [70, 129, 3, 64]);
        assert_eq!(from(&qs, 129), [129, 3, 64, 70]);
        assert_eq!(from(&qs, 130), [3, 64, 70, 129]);
        qs.dispatch(64, 1);
        assert_eq!(from(&qs, 4), [70, 129, 3]);
        assert_eq!(qs.active, 4, "queue 64 executes");
        qs.check(1);
    }
}
