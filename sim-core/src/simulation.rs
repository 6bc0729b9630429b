//! The event loop: a [`Model`] reacts to its own events through a [`Scheduler`].
//!
//! The model is a plain struct and its events a plain enum, dispatched by one `match` in
//! [`Model::handle`]: no boxing, no dynamic dispatch per event. The loop pops the earliest
//! event, advances the clock to its time and hands it to the model, which may schedule or
//! cancel further events. A step budget stops a runaway model with an error instead of a
//! hang.

use crate::error::SimError;
use crate::queue::{EventId, EventQueue};
use crate::time::{SimDuration, SimTime};

/// A simulated system: its state, and how it reacts to each of its events.
pub trait Model {
    /// The events of this model, usually an enum of past-tense facts.
    type Event;

    /// Reacts to `event`, which is due now (`sched.now()`).
    fn handle(&mut self, event: Self::Event, sched: &mut Scheduler<Self::Event>);
}

/// The clock and the future event list, as a model sees them.
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
    steps: u64,
}

impl<E> Scheduler<E> {
    fn new() -> Self {
        Scheduler {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            steps: 0,
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at the absolute instant `time`.
    ///
    /// # Panics
    /// If `time` is before now: a model that schedules into the past has a bug, and
    /// running on would silently reorder causality.
    #[inline]
    pub fn schedule_at(&mut self, time: SimTime, event: E) -> EventId {
        assert!(
            time >= self.now,
            "event scheduled in the past: at {time}, now {}",
            self.now
        );
        self.queue.push(time, event)
    }

    /// Schedules `event` after `delay` from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        self.queue.push(self.now + delay, event)
    }

    /// Cancels a scheduled event; `false` if it already fired or was cancelled before.
    pub fn cancel(&mut self, id: EventId) -> bool {
        self.queue.cancel(id)
    }

    /// Whether the event `id` is still due to fire.
    pub fn is_pending(&self, id: EventId) -> bool {
        self.queue.is_pending(id)
    }

    /// Events still due to fire.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Events handled so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

/// How a call to [`Simulation::run`] or [`Simulation::run_until`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// No event is left to run.
    Exhausted,
    /// The bound was reached; events after it remain queued.
    ReachedBound,
}

/// A model together with its clock and event list.
///
/// ```
/// use sim_core::{Model, Scheduler, SimDuration, SimTime, Simulation};
///
/// /// Counts ticks of a clock that ticks every second.
/// struct Clock { ticks: u32 }
/// enum Tick { Ticked }
///
/// impl Model for Clock {
///     type Event = Tick;
///     fn handle(&mut self, Tick::Ticked: Tick, sched: &mut Scheduler<Tick>) {
///         self.ticks += 1;
///         sched.schedule_in(SimDuration::from_secs(1), Tick::Ticked);
///     }
/// }
///
/// let mut sim = Simulation::new(Clock { ticks: 0 });
/// sim.scheduler_mut().schedule_at(SimTime::ZERO, Tick::Ticked);
/// sim.run_until(SimTime::from_secs(10)).unwrap();
/// assert_eq!(sim.model().ticks, 11); // at 0 s, 1 s, …, 10 s
/// assert_eq!(sim.now(), SimTime::from_secs(10));
/// ```
pub struct Simulation<M: Model> {
    model: M,
    sched: Scheduler<M::Event>,
    step_budget: u64,
}

impl<M: Model> Simulation<M> {
    /// A simulation at time zero with no events and no step budget.
    pub fn new(model: M) -> Self {
        Simulation {
            model,
            sched: Scheduler::new(),
            step_budget: u64::MAX,
        }
    }

    /// Stops any run with [`SimError::StepBudgetExceeded`] once this many events have been
    /// handled in total.
    pub fn with_step_budget(mut self, max_steps: u64) -> Self {
        self.step_budget = max_steps;
        self
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.sched.now
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, to change its state between runs.
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// The scheduler, to seed initial events.
    pub fn scheduler_mut(&mut self) -> &mut Scheduler<M::Event> {
        &mut self.sched
    }

    /// Both the model and the scheduler, for a model method that schedules.
    pub fn parts_mut(&mut self) -> (&mut M, &mut Scheduler<M::Event>) {
        (&mut self.model, &mut self.sched)
    }

    /// Events handled so far.
    pub fn steps(&self) -> u64 {
        self.sched.steps
    }

    /// Events ever scheduled, cancelled ones included.
    pub fn events_scheduled(&self) -> u64 {
        self.sched.queue.scheduled_total()
    }

    /// Consumes the simulation and returns the model, for its results.
    pub fn into_model(self) -> M {
        self.model
    }

    /// Runs every event due at or before `bound`, then sets the clock to `bound`
    /// (unless `bound` is [`SimTime::MAX`] and the queue ran dry, in which case the clock
    /// stays at the last event).
    pub fn run_until(&mut self, bound: SimTime) -> Result<RunEnd, SimError> {
        while let Some((time, event)) = self.sched.queue.pop_until(bound) {
            if self.sched.steps >= self.step_budget {
                // Put it back so the state stays consistent for inspection.
                self.sched.queue.push(time, event);
                return Err(SimError::StepBudgetExceeded {
                    budget: self.step_budget,
                    at: time,
                });
            }
            self.sched.steps += 1;
            self.sched.now = time;
            self.model.handle(event, &mut self.sched);
        }
        if bound == SimTime::MAX {
            return Ok(RunEnd::Exhausted);
        }
        self.sched.now = bound;
        if self.sched.queue.is_empty() {
            Ok(RunEnd::Exhausted)
        } else {
            Ok(RunEnd::ReachedBound)
        }
    }

    /// Runs until no event is left.
    pub fn run(&mut self) -> Result<RunEnd, SimError> {
        self.run_until(SimTime::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what fired and when; `Spawn` schedules a child at a delay.
    #[derive(Default)]
    struct Recorder {
        log: Vec<(SimTime, u32)>,
    }

    enum Ev {
        Mark(u32),
        Spawn { delay: SimDuration, child: u32 },
        Forever,
    }

    impl Model for Recorder {
        type Event = Ev;
        fn handle(&mut self, event: Ev, sched: &mut Scheduler<Ev>) {
            match event {
                Ev::Mark(n) => self.log.push((sched.now(), n)),
                Ev::Spawn { delay, child } => {
                    sched.schedule_in(delay, Ev::Mark(child));
                }
                Ev::Forever => {
                    sched.schedule_in(SimDuration::from_secs(1), Ev::Forever);
                }
            }
        }
    }

    #[test]
    fn run_until_stops_exactly_at_the_bound() {
        let mut sim = Simulation::new(Recorder::default());
        let s = sim.scheduler_mut();
        s.schedule_at(SimTime::from_secs(10), Ev::Mark(1));
        s.schedule_at(SimTime::from_nanos(10_000_000_001), Ev::Mark(2));
        let end = sim.run_until(SimTime::from_secs(10)).unwrap();
        assert_eq!(end, RunEnd::ReachedBound);
        assert_eq!(sim.model().log, vec![(SimTime::from_secs(10), 1)]);
        assert_eq!(sim.now(), SimTime::from_secs(10));
        assert_eq!(sim.run().unwrap(), RunEnd::Exhausted);
        assert_eq!(
            sim.model().log.last(),
            Some(&(SimTime::from_nanos(10_000_000_001), 2))
        );
    }

    #[test]
    fn run_until_advances_the_clock_when_nothing_is_due() {
        let mut sim = Simulation::new(Recorder::default());
        assert_eq!(
            sim.run_until(SimTime::from_secs(3)).unwrap(),
            RunEnd::Exhausted
        );
        assert_eq!(sim.now(), SimTime::from_secs(3));
    }

    #[test]
    fn events_scheduled_by_handlers_run_in_order() {
        let mut sim = Simulation::new(Recorder::default());
        let s = sim.scheduler_mut();
        s.schedule_at(
            SimTime::ZERO,
            Ev::Spawn {
                delay: SimDuration::from_secs(2),
                child: 2,
            },
        );
        s.schedule_at(
            SimTime::ZERO,
            Ev::Spawn {
                delay: SimDuration::from_secs(1),
                child: 1,
            },
        );
        s.schedule_at(SimTime::from_secs(2), Ev::Mark(3));
        sim.run().unwrap();
        // Mark(3) was scheduled before the spawned Mark(2), so at t = 2 s it runs first.
        let log = &sim.model().log;
        assert_eq!(
            log,
            &vec![
                (SimTime::from_secs(1), 1),
                (SimTime::from_secs(2), 3),
                (SimTime::from_secs(2), 2)
            ]
        );
    }

    #[test]
    fn cancelled_timer_does_not_fire() {
        let mut sim = Simulation::new(Recorder::default());
        let s = sim.scheduler_mut();
        let timeout = s.schedule_at(SimTime::from_secs(30), Ev::Mark(30));
        s.schedule_at(SimTime::from_secs(5), Ev::Mark(5));
        assert!(s.cancel(timeout));
        sim.run().unwrap();
        assert_eq!(sim.model().log, vec![(SimTime::from_secs(5), 5)]);
    }

    #[test]
    fn step_budget_stops_a_runaway_model() {
        let mut sim = Simulation::new(Recorder::default()).with_step_budget(1000);
        sim.scheduler_mut().schedule_at(SimTime::ZERO, Ev::Forever);
        let err = sim.run().unwrap_err();
        assert_eq!(
            err,
            SimError::StepBudgetExceeded {
                budget: 1000,
                at: SimTime::from_secs(1000)
            }
        );
        assert_eq!(sim.steps(), 1000);
    }

    #[test]
    #[should_panic(expected = "scheduled in the past")]
    fn scheduling_in_the_past_is_a_bug() {
        let mut sim = Simulation::new(Recorder::default());
        sim.run_until(SimTime::from_secs(5)).unwrap();
        sim.scheduler_mut()
            .schedule_at(SimTime::from_secs(1), Ev::Mark(0));
    }
}
