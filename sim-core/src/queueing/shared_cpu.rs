//! A node's CPU shared by the threads of the processes on it, as Linux's CFS shares it.
//!
//! Each process (a class) has a weight (its CPU request, as `cpu.weight`) and a limit (its
//! CFS quota, cores); each job is one runnable thread and runs on at most one core. The
//! node's cores go to the classes by weighted max-min fairness: no class gets more than
//! its limit or its runnable threads, and what one cannot use goes to the others in
//! proportion to their weights. Within a class the threads share equally (processor
//! sharing). With one class and no limit this is the M/M/c-PS server: each of n jobs runs
//! at min(1, cores / n).
//!
//! A fluid model: CFS's time slices, its quota periods (the throttling bursts of a 100 ms
//! period) and wake-up latency are left out. Each class keeps a virtual clock (CPU seconds
//! each of its threads has had); a job finishes when its class's clock passes its start
//! plus its work, so a change of the allocation costs one recomputation, not one per job.
//!
//! Direct threads ([`SharedCpu::with_direct`]): while every runnable thread has a core of
//! its own (no more threads than cores, no pod above its limit), each runs at one core,
//! so its end is known when it starts and its owner can schedule it; the node needs no
//! event for it. When a thread arrives that would share a core, the running ones become
//! shared jobs with the work they have left ([`Moved::Shared`]); when the node has a core
//! for every thread again, the shared jobs become direct ([`Moved::Direct`]). The same
//! model, fewer events: only the rounding of the instants (to the nanosecond) differs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::{SimDuration, SimTime};

/// Work below this is done [CPU seconds]: rounding of the completion instants.
const EPSILON: f64 = 1e-9;

/// A job's finish on its class's virtual clock, ordered for a min-heap.
#[derive(Clone, Copy, Debug)]
struct Finish(f64);

impl PartialEq for Finish {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Finish {}

impl PartialOrd for Finish {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Finish {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

struct Class<J> {
    weight: f64,
    /// Its direct threads: each at one core, ending at a known instant.
    direct: usize,
    limit: f64,
    /// CPU seconds each of its threads has had since the class was created.
    clock: f64,
    /// Its current allocation [cores].
    cores: f64,
    /// Runnable threads by finish on `clock`, with their start order (FIFO among equals).
    jobs: BinaryHeap<Reverse<(Finish, u64, JobSlot<J>)>>,
    /// The finish of its background thread, if it has work: work nobody waits for
    /// queues on one thread, so adding some is one update, not one job.
    background: Option<f64>,
    /// Seconds its quota held it back: more runnable threads than its limit, and the
    /// limit reached (CFS throttling; the node's own saturation is not counted).
    throttled_s: f64,
    /// CPU seconds it has had.
    done: f64,
}

impl<J> Class<J> {
    /// Runnable threads, the background one included.
    fn threads(&self) -> usize {
        self.jobs.len() + self.direct + usize::from(self.background.is_some())
    }
}

/// A job, ordered only by the fields before it in the heap tuple.
struct JobSlot<J>(J);

impl<J> PartialEq for JobSlot<J> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<J> Eq for JobSlot<J> {}
impl<J> PartialOrd for JobSlot<J> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<J> Ord for JobSlot<J> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// A direct thread: its end, start order, class and job.
type DirectThread<J> = (SimTime, u64, usize, JobSlot<J>);

/// A job that changed between direct and shared ([`SharedCpu::with_direct`]): its owner
/// reschedules its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moved<J> {
    /// The job shares the node now: the end its owner scheduled is void, and the job ends
    /// when [`SharedCpu::finish`] returns it.
    Shared(J),
    /// The job runs on a core of its own now, and ends at the instant given.
    Direct(J, SimTime),
}

/// One node's CPU; `J` identifies a job to its owner.
pub struct SharedCpu<J> {
    cores: f64,
    classes: Vec<Class<J>>,
    /// Whether threads run direct while each has a core of its own.
    direct_allowed: bool,
    /// The direct threads by end, with their start order and class.
    direct: BinaryHeap<Reverse<DirectThread<J>>>,
    /// Jobs moved between direct and shared since the owner last took them.
    moved: Vec<Moved<J>>,
    /// Shared jobs, all classes (the lengths of their `jobs`).
    shared: usize,
    last: SimTime,
    seq: u64,
    /// CPU seconds done, all classes.
    done: f64,
    /// Seconds with every core busy.
    saturated_s: f64,
}

impl<J: Copy> SharedCpu<J> {
    /// A node of `cores` cores, with no process yet.
    pub fn new(cores: f64) -> Self {
        SharedCpu {
            cores,
            classes: Vec::new(),
            direct_allowed: false,
            direct: BinaryHeap::new(),
            moved: Vec::new(),
            shared: 0,
            last: SimTime::ZERO,
            seq: 0,
            done: 0.0,
            saturated_s: 0.0,
        }
    }

    /// Adds a process with CPU request `weight` and limit `limit` cores (infinite: none);
    /// returns its class index.
    pub fn add_class(&mut self, weight: f64, limit: f64) -> usize {
        assert!(
            self.classes.len() < 128,
            "a node holds at most 128 processes"
        );
        self.classes.push(Class {
            weight: weight.max(1e-6),
            direct: 0,
            limit,
            clock: 0.0,
            cores: 0.0,
            jobs: BinaryHeap::new(),
            background: None,
            throttled_s: 0.0,
            done: 0.0,
        });
        self.classes.len() - 1
    }

    /// The node with direct threads: [`SharedCpu::start`] returns a thread's end when it
    /// has a core of its own, and the jobs that move between direct and shared wait in
    /// [`SharedCpu::take_moved`].
    pub fn with_direct(mut self) -> Self {
        self.direct_allowed = true;
        self
    }

    /// The jobs moved between direct and shared since the last call, in the order they
    /// moved.
    pub fn take_moved(&mut self) -> Vec<Moved<J>> {
        std::mem::take(&mut self.moved)
    }

    /// Whether jobs moved since [`SharedCpu::take_moved`] was last called.
    pub fn has_moved(&self) -> bool {
        !self.moved.is_empty()
    }

    /// Cores the node has.
    pub fn cores(&self) -> f64 {
        self.cores
    }

    /// Cores in use now, all classes.
    pub fn busy_cores(&self) -> f64 {
        self.classes.iter().map(|c| c.cores).sum()
    }

    /// Cores class `k` has now.
    pub fn class_cores(&self, k: usize) -> f64 {
        self.classes[k].cores
    }

    /// Runnable threads of class `k`, its background thread included.
    pub fn class_jobs(&self, k: usize) -> usize {
        self.classes[k].threads()
    }

    /// Seconds class `k`'s CFS quota held it back, up to the last event.
    pub fn class_throttled_s(&self, k: usize) -> f64 {
        self.classes[k].throttled_s
    }

    /// CPU seconds class `k` has had, up to `now`.
    pub fn class_cpu_seconds(&mut self, now: SimTime, k: usize) -> f64 {
        self.advance(now);
        self.classes[k].done
    }

    /// The process of class `k` is killed at `now`: its threads go, unfinished; returns
    /// their jobs.
    pub fn kill_class(&mut self, now: SimTime, k: usize) -> Vec<J> {
        self.advance(now);
        let c = &mut self.classes[k];
        c.background = None;
        c.direct = 0;
        let jobs = std::mem::take(&mut c.jobs);
        self.shared -= jobs.len();
        let mut out: Vec<J> = jobs
            .into_iter()
            .map(|Reverse((_, _, JobSlot(j)))| j)
            .collect();
        if self
            .direct
            .iter()
            .any(|Reverse((_, _, class, _))| *class == k)
        {
            let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.direct)
                .into_vec()
                .into_iter()
                .partition(|Reverse((_, _, class, _))| *class == k);
            self.direct = kept.into();
            out.extend(gone.into_iter().map(|Reverse((_, _, _, JobSlot(j)))| j));
        }
        self.allocate();
        self.settle(now);
        out
    }

    /// Work that nobody waits for, on class `class`'s background thread (after what it
    /// already has queued).
    pub fn add_background(&mut self, now: SimTime, class: usize, work: SimDuration) {
        self.advance(now);
        let c = &mut self.classes[class];
        if let Some(f) = c.background {
            // The thread runs on with more work: no thread starts, so the allocation
            // stays as it is.
            c.background = Some(f.max(c.clock) + work.as_secs_f64());
            self.settle(now);
            return;
        }
        if !self.fits_one_more(class) {
            self.share_direct_threads(now); // one more thread, and not a core for each
        }
        let c = &mut self.classes[class];
        c.background = Some(c.clock + work.as_secs_f64());
        self.allocate();
        self.settle(now);
    }

    /// Seconds every core was busy, up to `now`.
    pub fn saturated_s(&mut self, now: SimTime) -> f64 {
        self.advance(now);
        self.saturated_s
    }

    /// CPU seconds done up to `now`, all classes.
    pub fn cpu_seconds(&mut self, now: SimTime) -> f64 {
        self.advance(now);
        self.done
    }

    /// A thread of class `class` becomes runnable at `now` with `work` of CPU to do. With
    /// direct threads, its end if it has a core of its own (its owner schedules it);
    /// otherwise it ends when [`SharedCpu::finish`] returns it.
    pub fn start(
        &mut self,
        now: SimTime,
        class: usize,
        work: SimDuration,
        job: J,
    ) -> Option<SimTime> {
        self.advance(now);
        self.seq += 1;
        if self.direct_allowed && self.shared == 0 {
            if self.fits_one_more(class) {
                let end = now + work;
                self.direct
                    .push(Reverse((end, self.seq, class, JobSlot(job))));
                self.classes[class].direct += 1;
                self.allocate();
                return Some(end);
            }
            self.share_direct_threads(now);
        }
        let c = &mut self.classes[class];
        let finish = Finish(c.clock + work.as_secs_f64());
        c.jobs.push(Reverse((finish, self.seq, JobSlot(job))));
        self.shared += 1;
        self.allocate();
        self.settle(now);
        None
    }

    /// Whether one more thread of class `k` would leave each runnable thread a core of
    /// its own: no class above its limit, no more threads than cores.
    fn fits_one_more(&self, k: usize) -> bool {
        let mut total = 0.0;
        for (i, c) in self.classes.iter().enumerate() {
            let threads = (c.threads() + usize::from(i == k)) as f64;
            if threads > c.limit + 1e-9 {
                return false;
            }
            total += threads;
        }
        // The tolerance `settle` allows: a node it would make direct takes direct threads.
        total <= self.cores + 1e-9
    }

    /// The direct threads become shared jobs with the work they have left, at `now`
    /// (the clocks moved there).
    fn share_direct_threads(&mut self, now: SimTime) {
        let mut direct = std::mem::take(&mut self.direct);
        while let Some(Reverse((end, seq, k, JobSlot(job)))) = direct.pop() {
            let c = &mut self.classes[k];
            c.direct -= 1;
            let finish = Finish(c.clock + end.saturating_since(now).as_secs_f64());
            c.jobs.push(Reverse((finish, seq, JobSlot(job))));
            self.shared += 1;
            self.moved.push(Moved::Shared(job));
        }
        self.direct = direct; // empty, its buffer kept
    }

    /// With direct threads, the shared jobs become direct at `now` (the clocks moved
    /// there) once each thread has a core of its own again.
    fn settle(&mut self, now: SimTime) {
        if !self.direct_allowed
            || self.shared == 0
            || self.busy_cores() < self.threads() as f64 - 1e-9
        {
            return;
        }
        for (k, c) in self.classes.iter_mut().enumerate() {
            while let Some(Reverse((Finish(f), seq, JobSlot(job)))) = c.jobs.pop() {
                let end = now + SimDuration::from_secs_f64((f - c.clock).max(0.0));
                c.direct += 1;
                self.direct.push(Reverse((end, seq, k, JobSlot(job))));
                self.moved.push(Moved::Direct(job, end));
            }
        }
        self.shared = 0;
    }

    /// Runnable threads, all classes.
    fn threads(&self) -> usize {
        self.classes.iter().map(Class::threads).sum()
    }

    /// When the next thread finishes at the current allocation, if a job (a thread
    /// someone waits for) runs on the node: a background thread's end is then an instant
    /// too, since the jobs speed up. With only background work there is none: its ends
    /// are taken as the clocks move.
    pub fn next_finish(&self) -> Option<SimTime> {
        debug_assert_eq!(
            self.shared,
            self.classes.iter().map(|c| c.jobs.len()).sum::<usize>()
        );
        if self.shared == 0 {
            return None;
        }
        self.classes
            .iter()
            .filter(|c| c.cores > 0.0)
            .filter_map(|c| {
                let job = c.jobs.peek().map(|Reverse((Finish(f), _, _))| *f);
                let f = match (job, c.background) {
                    (Some(a), Some(b)) => a.min(b),
                    (a, b) => a.or(b)?,
                };
                let rate = c.cores / c.threads() as f64;
                Some(((f - c.clock).max(0.0) / rate).max(0.0))
            })
            .min_by(f64::total_cmp)
            .map(|dt| self.last + SimDuration::from_secs_f64(dt))
    }

    /// The threads whose work is done at `now` (call at [`SharedCpu::next_finish`]), by
    /// class, then in finishing order.
    pub fn finish(&mut self, now: SimTime) -> Vec<J> {
        self.advance(now);
        let mut out = Vec::new();
        for c in &mut self.classes {
            if c.background.is_some_and(|f| f <= c.clock + EPSILON) {
                c.background = None;
            }
            while let Some(Reverse((Finish(f), _, _))) = c.jobs.peek() {
                if *f > c.clock + EPSILON {
                    break;
                }
                let Reverse((_, _, JobSlot(j))) = c.jobs.pop().expect("peeked");
                self.shared -= 1;
                out.push(j);
            }
        }
        self.allocate();
        self.settle(now);
        out
    }

    /// Moves every class's clock to `now` at the current allocation.
    fn advance(&mut self, now: SimTime) {
        if self.direct_allowed
            && now > self.last
            && self.shared == 0
            && self.direct_only_with_a_core_free()
        {
            // Direct threads only, no pod above its limit (a background thread alone may
            // be, under a limit below one core), and a core free: no thread starts before
            // `now`, so every one keeps a core to itself until then.
            self.advance_direct(now);
            return;
        }
        // Background threads that finish before `now` change the allocation there, and so
        // do direct threads: the clocks move piecewise, so such ends need no event.
        loop {
            if let Some(&Reverse((end, ..))) = self.direct.peek()
                && end <= now
            {
                let bg = self.first_background();
                let to_end = end.saturating_since(self.last).as_secs_f64();
                if bg.is_none_or(|(_, dt)| dt >= to_end) {
                    self.step(to_end);
                    self.last = self.last.max(end);
                    while let Some(&Reverse((e, _, k, _))) = self.direct.peek()
                        && e <= self.last
                    {
                        self.direct.pop();
                        self.classes[k].direct -= 1;
                    }
                    self.end_backgrounds();
                    self.allocate();
                    continue;
                }
            }
            let left = now.saturating_since(self.last).as_secs_f64();
            if left <= 0.0 {
                self.last = self.last.max(now);
                return;
            }
            match self.first_background() {
                Some((k, dt)) if dt < left => {
                    self.step(dt);
                    self.last = (self.last + SimDuration::from_secs_f64(dt)).min(now);
                    self.end_backgrounds();
                    self.classes[k].background = None;
                    self.allocate();
                }
                _ => {
                    self.step(left);
                    self.last = now;
                    return;
                }
            }
        }
    }

    /// Whether no pod is above its limit and a core is free (with no shared job, every
    /// thread is direct or a background one).
    fn direct_only_with_a_core_free(&self) -> bool {
        let mut total = 0;
        for c in &self.classes {
            let threads = c.threads();
            if threads as f64 > c.limit + 1e-9 {
                return false;
            }
            total += threads;
        }
        (total as f64) < self.cores - 1e-9
    }

    /// Moves to `now` a node whose threads are all direct, with fewer than its cores: each
    /// thread runs at one core until it ends, so the threads that end before `now` need
    /// no step of their own.
    fn advance_direct(&mut self, now: SimTime) {
        let dt = now.saturating_since(self.last).as_secs_f64();
        // Classes that ran a thread since `last`, as bits.
        let mut ran: u128 = 0;
        while let Some(&Reverse((end, _, k, _))) = self.direct.peek()
            && end <= now
        {
            self.direct.pop();
            let cpu = end.saturating_since(self.last).as_secs_f64();
            let c = &mut self.classes[k];
            c.direct -= 1;
            c.done += cpu;
            self.done += cpu;
            ran |= 1 << k;
        }
        // Whether a thread ended: only then does the allocation change.
        let mut ended = ran != 0;
        for (k, c) in self.classes.iter_mut().enumerate() {
            let mut cpu = c.direct as f64 * dt;
            if let Some(f) = c.background {
                let left = (f - c.clock).max(0.0);
                cpu += left.min(dt);
                if left <= dt + EPSILON {
                    c.background = None;
                    ended = true;
                }
            }
            if cpu > 0.0 || ran & (1 << k) != 0 {
                // An idle class's clock may move too: only differences on it count.
                c.clock += dt;
                c.done += cpu;
                self.done += cpu;
            }
        }
        self.last = now;
        if ended {
            self.allocate();
        }
    }

    /// The class whose background thread ends first at the current allocation, and in
    /// how many seconds.
    fn first_background(&self) -> Option<(usize, f64)> {
        self.classes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.cores > 0.0)
            .filter_map(|(k, c)| {
                let f = c.background?;
                let rate = c.cores / c.threads() as f64;
                Some((k, ((f - c.clock).max(0.0) / rate).max(0.0)))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Background threads whose work is done on their clocks end.
    fn end_backgrounds(&mut self) {
        for c in &mut self.classes {
            if c.background.is_some_and(|f| f <= c.clock + EPSILON) {
                c.background = None;
            }
        }
    }

    /// Moves every class's clock `dt` seconds at the current allocation.
    fn step(&mut self, dt: f64) {
        if dt <= 0.0 {
            return;
        }
        if self.busy_cores() >= self.cores - 1e-9 {
            self.saturated_s += dt;
        }
        for c in &mut self.classes {
            let threads = c.threads() as f64;
            if threads > 0.0 {
                c.clock += dt * c.cores / threads;
                c.done += dt * c.cores;
                self.done += dt * c.cores;
                if threads > c.limit && c.cores >= c.limit - 1e-12 {
                    c.throttled_s += dt;
                }
            }
        }
    }

    /// Weighted max-min fair shares of the node's cores, each class capped by its limit
    /// and its runnable threads.
    fn allocate(&mut self) {
        // Enough cores for every runnable thread (the usual case): each class gets what
        // it can use.
        let mut wanted = 0.0;
        for c in &mut self.classes {
            c.cores = c.limit.min(c.threads() as f64);
            wanted += c.cores;
        }
        if wanted <= self.cores {
            return;
        }
        let mut left = self.cores;
        // Classes still sharing, as bits (a node holds a handful of processes).
        let mut open: u128 = 0;
        for (k, c) in self.classes.iter_mut().enumerate() {
            c.cores = 0.0;
            if c.threads() > 0 {
                open |= 1 << k;
            }
        }
        let cap = |c: &Class<J>| c.limit.min(c.threads() as f64);
        while open != 0 && left > 0.0 {
            let weights: f64 = self.members(open).map(|k| self.classes[k].weight).sum();
            // Classes whose fair share exceeds what they can use take their cap.
            let mut capped: u128 = 0;
            for k in self.members(open) {
                let c = &self.classes[k];
                if left * c.weight / weights >= cap(c) {
                    capped |= 1 << k;
                }
            }
            if capped == 0 {
                for k in self.members(open) {
                    let c = &mut self.classes[k];
                    c.cores = left * c.weight / weights;
                }
                return;
            }
            for k in self.members(capped) {
                let c = &mut self.classes[k];
                c.cores = cap(c);
                left -= c.cores;
            }
            open &= !capped;
        }
    }

    /// The class indices set in `bits`.
    fn members(&self, bits: u128) -> impl Iterator<Item = usize> + use<J> {
        (0..self.classes.len().min(128)).filter(move |k| bits & (1 << k) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(s)
    }

    #[test]
    fn background_work_added_while_its_thread_runs_lengthens_that_thread() {
        // One core; a 3 s job and 1 s of background work at 0, 1 s more background at 1.
        // Two threads at half a core each until the background's 2 s are done, at 4 s
        // (the job then has 2 s done); the job's last second alone ends at 5 s.
        for direct in [false, true] {
            let mut cpu = SharedCpu::new(1.0);
            if direct {
                cpu = cpu.with_direct();
            }
            let k = cpu.add_class(1.0, f64::INFINITY);
            cpu.start(t(0.0), k, SimDuration::from_secs(3), 7);
            cpu.add_background(t(0.0), k, SimDuration::from_secs(1));
            cpu.add_background(t(1.0), k, SimDuration::from_secs(1));
            assert_eq!(cpu.class_jobs(k), 2, "one job and one background thread");
            assert!((cpu.busy_cores() - 1.0).abs() < 1e-12);
            // The background thread's end is an instant (the job speeds up), then the job's.
            let end = cpu.next_finish().unwrap();
            assert!(
                (end.as_secs_f64() - 4.0).abs() < 1e-6,
                "direct {direct}: {end:?}"
            );
            assert_eq!(cpu.finish(end), Vec::<i32>::new());
            assert_eq!(cpu.class_jobs(k), 1);
            let end = if direct {
                // Alone on the core, the job runs direct: its owner is told its end.
                assert_eq!(cpu.next_finish(), None);
                let Some(&Moved::Direct(7, end)) = cpu.take_moved().last() else {
                    panic!("the job moves to a core of its own");
                };
                end
            } else {
                let end = cpu.next_finish().unwrap();
                assert_eq!(cpu.finish(end), vec![7]);
                end
            };
            assert!(
                (end.as_secs_f64() - 5.0).abs() < 1e-6,
                "direct {direct}: {end:?}"
            );
            assert!((cpu.cpu_seconds(end) - 5.0).abs() < 1e-6);
        }
    }

    #[test]
    fn one_class_shares_its_cores_equally_one_core_per_thread() {
        let mut cpu = SharedCpu::new(2.0);
        let k = cpu.add_class(1.0, f64::INFINITY);
        // Three threads of 1 s on 2 cores: each at 2/3 of a core.
        for j in 0..3 {
            cpu.start(t(0.0), k, SimDuration::from_secs(1), j);
        }
        assert!((cpu.busy_cores() - 2.0).abs() < 1e-12);
        let end = cpu.next_finish().unwrap();
        assert!((end.as_secs_f64() - 1.5).abs() < 1e-6);
        assert_eq!(cpu.finish(end), vec![0, 1, 2]);
        // One thread alone runs on one core, not two.
        cpu.start(t(2.0), k, SimDuration::from_secs(1), 9);
        assert!((cpu.busy_cores() - 1.0).abs() < 1e-12);
        assert!((cpu.next_finish().unwrap().as_secs_f64() - 3.0).abs() < 1e-6);
        // Background work is one more thread: 0.5 s queued twice runs as one 1 s thread,
        // beside the job, each at one core; nothing is returned for it.
        cpu.add_background(t(2.0), k, SimDuration::from_millis(500));
        cpu.add_background(t(2.0), k, SimDuration::from_millis(500));
        assert_eq!(cpu.class_jobs(k), 2);
        assert!((cpu.busy_cores() - 2.0).abs() < 1e-12);
        let end = cpu.next_finish().unwrap();
        assert!((end.as_secs_f64() - 3.0).abs() < 1e-6);
        assert_eq!(cpu.finish(end), vec![9]);
        assert_eq!(cpu.class_jobs(k), 0);
    }

    #[test]
    fn a_quota_throttles_only_a_class_that_wants_more_than_its_limit() {
        let mut cpu = SharedCpu::new(4.0);
        let capped = cpu.add_class(1.0, 0.5);
        let free = cpu.add_class(1.0, 2.0);
        // Two 1-s threads under a 0.5-core quota: 2 CPU-s at 0.5 cores, throttled 4 s.
        cpu.start(t(0.0), capped, SimDuration::from_secs(1), 0);
        cpu.start(t(0.0), capped, SimDuration::from_secs(1), 1);
        // One 1-s thread under a 2-core quota: it can use one core only, never throttled.
        cpu.start(t(0.0), free, SimDuration::from_secs(1), 2);
        let mut done = Vec::new();
        while let Some(at) = cpu.next_finish() {
            for j in cpu.finish(at) {
                done.push((j, at.as_secs_f64()));
            }
        }
        assert!((done[0].1 - 1.0).abs() < 1e-6 && done[0].0 == 2);
        assert!((done[2].1 - 4.0).abs() < 1e-6);
        assert!((cpu.class_throttled_s(capped) - 4.0).abs() < 1e-6);
        // 1.5 cores busy for 1 s, then 0.5: never all four.
        assert_eq!(cpu.saturated_s(t(4.0)), 0.0);
        assert_eq!(cpu.class_throttled_s(free), 0.0);
        assert!((cpu.class_cpu_seconds(t(5.0), capped) - 2.0).abs() < 1e-6);
    }

    #[test]
    fn background_work_alone_needs_no_event_and_is_accounted_exactly() {
        let mut cpu = SharedCpu::<u32>::new(1.0);
        let a = cpu.add_class(1.0, f64::INFINITY);
        let b = cpu.add_class(1.0, f64::INFINITY);
        // 1 s of background work in a, from 0: no job, so no finish to wait for.
        cpu.add_background(t(0.0), a, SimDuration::from_secs(1));
        assert_eq!(cpu.next_finish(), None);
        // A 1-s job in b at 0.5 s: a has done 0.5 s alone; then half a core each, so a's
        // work ends at 1.5 s, and the job, alone from there, at 2.0 s.
        cpu.start(t(0.5), b, SimDuration::from_secs(1), 7);
        let at = cpu.next_finish().unwrap();
        assert!((at.as_secs_f64() - 1.5).abs() < 1e-6, "{at}");
        assert!(cpu.finish(at).is_empty());
        let at = cpu.next_finish().unwrap();
        assert!((at.as_secs_f64() - 2.0).abs() < 1e-6, "{at}");
        assert_eq!(cpu.finish(at), vec![7]);
        // Background alone again, in both classes: half a core each, both done at 4 s;
        // the node is busy 2 s of the 3 from 2 s.
        cpu.add_background(t(2.0), a, SimDuration::from_secs(1));
        cpu.add_background(t(2.0), b, SimDuration::from_secs(1));
        assert_eq!(cpu.next_finish(), None);
        let before = cpu.cpu_seconds(t(2.0));
        assert!((cpu.cpu_seconds(t(5.0)) - before - 2.0).abs() < 1e-9);
        assert!((cpu.saturated_s(t(5.0)) - 4.0).abs() < 1e-9);
        assert_eq!(cpu.class_jobs(a) + cpu.class_jobs(b), 0);
    }

    #[test]
    fn a_killed_class_gives_its_cores_back_at_once() {
        let mut cpu = SharedCpu::new(1.0);
        let a = cpu.add_class(1.0, f64::INFINITY);
        let b = cpu.add_class(1.0, f64::INFINITY);
        cpu.start(t(0.0), a, SimDuration::from_secs(10), 7);
        cpu.start(t(0.0), b, SimDuration::from_secs(1), 8);
        // Half a core each until a is killed at 1 s; b then has the core: 0.5 CPU-s
        // left, done at 1.5 s.
        assert_eq!(cpu.kill_class(t(1.0), a), vec![7]);
        assert!((cpu.saturated_s(t(1.0)) - 1.0).abs() < 1e-9);
        assert_eq!(cpu.class_jobs(a), 0);
        let at = cpu.next_finish().unwrap();
        assert!((at.as_secs_f64() - 1.5).abs() < 1e-6);
        assert_eq!(cpu.finish(at), vec![8]);
    }

    #[test]
    fn weights_split_a_saturated_node_and_limits_cap_a_class() {
        // One core; requests 1 : 3; eight threads each, always runnable.
        let mut cpu = SharedCpu::new(1.0);
        let (a, b) = (
            cpu.add_class(1.0, f64::INFINITY),
            cpu.add_class(3.0, f64::INFINITY),
        );
        for j in 0..8 {
            cpu.start(t(0.0), a, SimDuration::from_secs(100), j);
            cpu.start(t(0.0), b, SimDuration::from_secs(100), j);
        }
        assert!((cpu.class_cores(a) - 0.25).abs() < 1e-12);
        assert!((cpu.class_cores(b) - 0.75).abs() < 1e-12);
        // A limit of 0.5 cores on the heavier class gives the rest to the other.
        let mut cpu = SharedCpu::new(1.0);
        let (a, b) = (cpu.add_class(1.0, f64::INFINITY), cpu.add_class(3.0, 0.5));
        for j in 0..8 {
            cpu.start(t(0.0), a, SimDuration::from_secs(100), j);
            cpu.start(t(0.0), b, SimDuration::from_secs(100), j);
        }
        assert!((cpu.class_cores(b) - 0.5).abs() < 1e-12);
        assert!((cpu.class_cores(a) - 0.5).abs() < 1e-12);
        // Work done adds up to what the node gave.
        assert!((cpu.cpu_seconds(t(10.0)) - 10.0).abs() < 1e-9);
    }
}

#[cfg(test)]
mod over_time {
    use super::*;

    fn t(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(s)
    }

    fn close(a: SimTime, b: f64) -> bool {
        (a.as_secs_f64() - b).abs() < 1e-6
    }

    #[test]
    fn finishes_follow_the_allocation_as_it_changes() {
        // One core, weights 1 : 3, a 1 s job in each: 0.25 and 0.75 of the core.
        let mut cpu = SharedCpu::new(1.0);
        let (a, b) = (
            cpu.add_class(1.0, f64::INFINITY),
            cpu.add_class(3.0, f64::INFINITY),
        );
        cpu.start(t(0.0), a, SimDuration::from_secs(1), "a1");
        cpu.start(t(0.0), b, SimDuration::from_secs(1), "b1");
        assert!(close(cpu.next_finish().unwrap(), 4.0 / 3.0));
        // At 0.5 s a 0.1 s job joins A: A's 0.25 core split in two.
        cpu.start(t(0.5), a, SimDuration::from_millis(100), "a2");
        assert!(close(cpu.next_finish().unwrap(), 1.3));
        // At 1 s, 0.2 s of background work in B: B's 0.75 split between two threads.
        cpu.add_background(t(1.0), b, SimDuration::from_millis(200));
        assert!(close(cpu.next_finish().unwrap(), 1.3));
        assert_eq!(cpu.finish(t(1.3)), vec!["a2"]);
        // B's job has 0.1375 s left at 0.375 core, its background 0.0875 s: that first.
        let bg = cpu.next_finish().unwrap();
        assert!(close(bg, 1.3 + 0.0875 / 0.375));
        assert!(cpu.finish(bg).is_empty());
        // Then B's job alone at 0.75 core: 0.05 s left.
        assert!(close(cpu.next_finish().unwrap(), 1.6));
        assert_eq!(cpu.finish(t(1.6)), vec!["b1"]);
    }

    #[test]
    fn a_class_gets_no_more_cores_than_threads() {
        // Two cores; A (weight 3) has one thread, B (weight 1) eight: 1 core each.
        let mut cpu = SharedCpu::new(2.0);
        let (a, b) = (
            cpu.add_class(3.0, f64::INFINITY),
            cpu.add_class(1.0, f64::INFINITY),
        );
        cpu.start(t(0.0), a, SimDuration::from_secs(10), 0);
        for j in 1..9 {
            cpu.start(t(0.0), b, SimDuration::from_secs(10), j);
        }
        assert!((cpu.class_cores(a) - 1.0).abs() < 1e-12);
        assert!((cpu.class_cores(b) - 1.0).abs() < 1e-12);
    }
}

#[cfg(test)]
mod validation;

#[cfg(test)]
mod direct;
