//! A FIFO queue with `c` identical servers, Poisson arrivals and exponential or
//! deterministic service: M/M/c and M/D/1, the systems the engine is validated on.
//!
//! The station's logic is separate from scheduling: [`Station::on_arrival`] and
//! [`Station::on_departure`] say which delays to schedule, so the same logic drives the
//! engine (through [`Model`]) and the bare binary-heap loop of the benchmarks.
//!
//! Customers before `warmup_customers` load the system but are not measured, which removes
//! the bias of starting empty. The time-average queue length is measured over the window
//! from the first measured arrival to the last departure, for Little's law.

use std::collections::VecDeque;

use rand_distr::{Distribution, Exp};
use serde::Serialize;

use crate::rng::{RngStreams, SimRng, StreamId};
use crate::simulation::{Model, Scheduler, Simulation};
use crate::stats::{LatencyHistogram, TimeWeightedGauge};
use crate::time::{SimDuration, SimTime};

/// How long one service takes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum ServiceTime {
    /// Exponentially distributed with this mean [s].
    Exponential {
        /// Mean service time [s].
        mean_s: f64,
    },
    /// Always exactly this long [s].
    Deterministic {
        /// Service time [s].
        mean_s: f64,
    },
}

impl ServiceTime {
    /// Mean service time [s].
    pub fn mean_s(self) -> f64 {
        match self {
            ServiceTime::Exponential { mean_s } | ServiceTime::Deterministic { mean_s } => mean_s,
        }
    }
}

/// The station's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StationConfig {
    /// Identical servers [count].
    pub servers: u32,
    /// Poisson arrival rate λ [1/s].
    pub arrival_rate: f64,
    /// Service time distribution.
    pub service: ServiceTime,
    /// Customers that arrive in total, warm-up included [count].
    pub customers: u64,
    /// Leading customers left out of the measurements [count].
    pub warmup_customers: u64,
}

impl StationConfig {
    /// Utilisation ρ = λ·E[S]/c.
    pub fn utilisation(&self) -> f64 {
        self.arrival_rate * self.service.mean_s() / self.servers as f64
    }
}

/// The station's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StationEvent {
    /// A customer arrived.
    CustomerArrived,
    /// A server finished serving a customer.
    ServiceCompleted,
}

/// What the station wants scheduled after an arrival.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArrivalReaction {
    /// Delay to the next arrival, if more customers are to come.
    pub next_arrival: Option<SimDuration>,
    /// Service time of the customer who just arrived, if a server was free.
    pub service: Option<SimDuration>,
}

/// What one replica measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StationResult {
    /// Mean time in queue of measured customers [s].
    pub mean_wait_s: f64,
    /// 99th percentile of time in queue of measured customers [s].
    pub wait_p99_s: f64,
    /// Fraction of measured customers who found every server busy.
    pub p_wait: f64,
    /// Time-average number waiting over the measurement window [customers].
    pub mean_queue_len: f64,
    /// Measured arrivals per second of the window [1/s].
    pub window_arrival_rate: f64,
    /// Customers measured [count].
    pub measured: u64,
    /// Events the run handled [count].
    pub events: u64,
}

/// A c-server FIFO queue.
pub struct Station {
    cfg: StationConfig,
    arrivals_rng: SimRng,
    service_rng: SimRng,
    interarrival: Exp<f64>,
    exp_service: Option<Exp<f64>>,
    arrived: u64,
    busy: u32,
    /// Waiting customers: arrival time and arrival index.
    waiting: VecDeque<(SimTime, u64)>,
    waits: LatencyHistogram,
    waited: u64,
    queue_len: TimeWeightedGauge,
    window_start: SimTime,
    last_departure: SimTime,
}

/// Random stream of the inter-arrival times.
pub const ARRIVALS_STREAM: StreamId = StreamId::named("station/arrivals");
/// Random stream of the service times.
pub const SERVICE_STREAM: StreamId = StreamId::named("station/service");

impl Station {
    /// A station drawing from `streams`. Rates and means must be positive and finite
    /// (the validation plan builds only such configurations).
    pub fn new(cfg: StationConfig, streams: &RngStreams) -> Self {
        let exp_service = match cfg.service {
            ServiceTime::Exponential { mean_s } => {
                Some(Exp::new(1.0 / mean_s).expect("service rate is positive"))
            }
            ServiceTime::Deterministic { .. } => None,
        };
        Station {
            cfg,
            arrivals_rng: streams.stream(ARRIVALS_STREAM),
            service_rng: streams.stream(SERVICE_STREAM),
            interarrival: Exp::new(cfg.arrival_rate).expect("arrival rate is positive"),
            exp_service,
            arrived: 0,
            busy: 0,
            waiting: VecDeque::new(),
            waits: LatencyHistogram::new(),
            waited: 0,
            queue_len: TimeWeightedGauge::default(),
            window_start: SimTime::ZERO,
            last_departure: SimTime::ZERO,
        }
    }

    /// Delay from time zero to the first arrival.
    pub fn first_arrival(&mut self) -> SimDuration {
        self.draw_interarrival()
    }

    #[inline]
    fn draw_interarrival(&mut self) -> SimDuration {
        SimDuration::from_secs_f64(self.interarrival.sample(&mut self.arrivals_rng))
    }

    #[inline]
    fn draw_service(&mut self) -> SimDuration {
        match (self.exp_service, self.cfg.service) {
            (Some(exp), _) => SimDuration::from_secs_f64(exp.sample(&mut self.service_rng)),
            (None, service) => SimDuration::from_secs_f64(service.mean_s()),
        }
    }

    #[inline]
    fn measured(&self, index: u64) -> bool {
        index >= self.cfg.warmup_customers
    }

    /// A customer arrives at `now`.
    #[inline]
    pub fn on_arrival(&mut self, now: SimTime) -> ArrivalReaction {
        let index = self.arrived;
        self.arrived += 1;
        if index == self.cfg.warmup_customers {
            self.queue_len.restart_window(now);
            self.window_start = now;
        }
        let next_arrival = (self.arrived < self.cfg.customers).then(|| self.draw_interarrival());
        let service = if self.busy < self.cfg.servers {
            self.busy += 1;
            if self.measured(index) {
                self.waits.record(SimDuration::ZERO);
            }
            Some(self.draw_service())
        } else {
            self.waiting.push_back((now, index));
            self.queue_len.add(now, 1.0);
            None
        };
        ArrivalReaction {
            next_arrival,
            service,
        }
    }

    /// A server finishes at `now`; returns the service time of the next customer it
    /// takes, if anyone is waiting.
    #[inline]
    pub fn on_departure(&mut self, now: SimTime) -> Option<SimDuration> {
        self.last_departure = now;
        match self.waiting.pop_front() {
            Some((arrived_at, index)) => {
                self.queue_len.add(now, -1.0);
                if self.measured(index) {
                    self.waits.record(now - arrived_at);
                    self.waited += 1;
                }
                Some(self.draw_service())
            }
            None => {
                self.busy -= 1;
                None
            }
        }
    }

    /// The measurements, once every customer has left.
    pub fn result(&self, events: u64) -> StationResult {
        let window = self
            .last_departure
            .saturating_since(self.window_start)
            .as_secs_f64();
        let measured = self.waits.count();
        StationResult {
            mean_wait_s: self.waits.mean_secs(),
            wait_p99_s: self.waits.quantile(0.99).as_secs_f64(),
            p_wait: if measured == 0 {
                0.0
            } else {
                self.waited as f64 / measured as f64
            },
            mean_queue_len: self.queue_len.mean(self.last_departure),
            window_arrival_rate: if window > 0.0 {
                measured as f64 / window
            } else {
                0.0
            },
            measured,
            events,
        }
    }
}

impl Model for Station {
    type Event = StationEvent;

    #[inline]
    fn handle(&mut self, event: StationEvent, sched: &mut Scheduler<StationEvent>) {
        match event {
            StationEvent::CustomerArrived => {
                let reaction = self.on_arrival(sched.now());
                if let Some(d) = reaction.next_arrival {
                    sched.schedule_in(d, StationEvent::CustomerArrived);
                }
                if let Some(s) = reaction.service {
                    sched.schedule_in(s, StationEvent::ServiceCompleted);
                }
            }
            StationEvent::ServiceCompleted => {
                if let Some(s) = self.on_departure(sched.now()) {
                    sched.schedule_in(s, StationEvent::ServiceCompleted);
                }
            }
        }
    }
}

/// Runs one replica of the station on the engine until every customer has left.
pub fn simulate(cfg: StationConfig, streams: &RngStreams) -> StationResult {
    let mut station = Station::new(cfg, streams);
    let first = station.first_arrival();
    let mut sim = Simulation::new(station);
    sim.scheduler_mut()
        .schedule_in(first, StationEvent::CustomerArrived);
    // A station with finite customers always drains; no step budget is needed.
    sim.run().expect("no step budget is set");
    let events = sim.steps();
    sim.model().result(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queueing::analytic::mmc_mean_wait;

    fn mm1(customers: u64) -> StationConfig {
        StationConfig {
            servers: 1,
            arrival_rate: 0.5,
            service: ServiceTime::Exponential { mean_s: 1.0 },
            customers,
            warmup_customers: customers / 10,
        }
    }

    #[test]
    fn every_customer_is_served_and_counted_once() {
        let r = simulate(mm1(10_000), &RngStreams::new(1, 0));
        assert_eq!(r.measured, 9_000);
        assert_eq!(r.events, 20_000, "one arrival and one departure each");
    }

    #[test]
    fn a_lightly_loaded_single_server_waits_about_as_theory_says() {
        // ρ = 0.5: Wq = 1 s. 200k customers put the estimate within a few percent.
        let r = simulate(mm1(200_000), &RngStreams::new(3, 0));
        let want = mmc_mean_wait(1, 0.5, 1.0);
        assert!(
            (r.mean_wait_s - want).abs() / want < 0.05,
            "{} vs {want}",
            r.mean_wait_s
        );
        assert!(
            (r.p_wait - 0.5).abs() < 0.01,
            "P(wait) = ρ for M/M/1, got {}",
            r.p_wait
        );
    }

    #[test]
    fn deterministic_service_takes_exactly_its_mean() {
        let cfg = StationConfig {
            servers: 2,
            arrival_rate: 0.001, // so sparse that nobody ever waits
            service: ServiceTime::Deterministic { mean_s: 0.5 },
            customers: 100,
            warmup_customers: 0,
        };
        let r = simulate(cfg, &RngStreams::new(5, 0));
        assert_eq!(r.mean_wait_s, 0.0);
        assert_eq!(r.p_wait, 0.0);
    }
}
