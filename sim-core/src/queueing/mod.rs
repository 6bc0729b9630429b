//! Queueing stations with textbook answers, used to validate the engine.
//!
//! [`analytic`] holds the closed forms (Erlang C for M/M/c, Pollaczek–Khinchine for M/G/1);
//! [`station`] simulates the same systems on the engine. `capsim validate` and the tests
//! compare the two; the benchmarks run the same station on the engine and on a bare
//! binary-heap loop. [`shared_cpu`] is a node's CPU shared by its processes' threads
//! (CFS weights and quotas), checked against the M/M/1 processor-sharing closed form.

pub mod analytic;
pub mod shared_cpu;
pub mod station;
