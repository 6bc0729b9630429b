//! Independent replicas of a model, run in parallel, returned in replica order.
//!
//! Each replica gets its own [`RngStreams`] from (master seed, replica index), so a
//! replica's result depends on nothing but those two numbers. Rayon distributes replicas
//! over threads; results are collected by index, so the output is bit-identical whatever
//! the thread count or scheduling. Reductions over the results (sums, means) must then run
//! sequentially in replica order: a parallel floating-point sum is not reproducible.

use rayon::prelude::*;
use thiserror::Error;

use crate::rng::RngStreams;

/// One replica's identity, handed to the replica function.
#[derive(Clone, Copy, Debug)]
pub struct Replica {
    /// Position of this replica, from 0 [count].
    pub index: u64,
    /// Its random streams.
    pub streams: RngStreams,
}

/// Why a Monte Carlo run could not start.
#[derive(Debug, Error)]
pub enum MonteCarloError {
    /// The thread pool could not be built.
    #[error("could not start {threads} worker threads: {source}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// What rayon reported.
        source: rayon::ThreadPoolBuildError,
    },
}

/// A plan to run `replicas` replicas under `seed`, on a given number of threads.
#[derive(Clone, Copy, Debug)]
pub struct MonteCarlo {
    seed: u64,
    replicas: u64,
    threads: Option<usize>,
}

impl MonteCarlo {
    /// `replicas` replicas under master seed `seed`, on rayon's global pool.
    pub fn new(seed: u64, replicas: u64) -> Self {
        MonteCarlo {
            seed,
            replicas,
            threads: None,
        }
    }

    /// Runs on a private pool of `threads` threads instead of the global pool.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    /// Runs `replica` once per replica and returns the results in replica order.
    pub fn run<R, F>(&self, replica: F) -> Result<Vec<R>, MonteCarloError>
    where
        R: Send,
        F: Fn(Replica) -> R + Sync + Send,
    {
        let seed = self.seed;
        let work = || {
            (0..self.replicas)
                .into_par_iter()
                .map(|index| {
                    replica(Replica {
                        index,
                        streams: RngStreams::new(seed, index),
                    })
                })
                .collect::<Vec<R>>()
        };
        in_pool(self.threads, work)
    }
}

/// Runs `work` on a private pool of `threads` threads, or on rayon's global pool when
/// `threads` is `None`. Anything inside that uses rayon (nested `par_iter`s included)
/// runs on that pool.
pub fn in_pool<R: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> R + Send,
) -> Result<R, MonteCarloError> {
    match threads {
        None => Ok(work()),
        Some(threads) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|source| MonteCarloError::ThreadPool { threads, source })?;
            Ok(pool.install(work))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::StreamId;
    use rand::RngExt;

    fn draw(r: Replica) -> (u64, u64) {
        let mut rng = r.streams.stream(StreamId::named("test"));
        // Uneven work per replica, so threads finish out of order.
        let n = 1 + (r.index * 7919) % 5000;
        (
            r.index,
            (0..n).fold(0u64, |acc, _| acc.wrapping_add(rng.random::<u64>())),
        )
    }

    #[test]
    fn results_come_back_in_replica_order_whatever_the_threads() {
        let one = MonteCarlo::new(11, 64).threads(1).run(draw).unwrap();
        let two = MonteCarlo::new(11, 64).threads(2).run(draw).unwrap();
        let four = MonteCarlo::new(11, 64).threads(4).run(draw).unwrap();
        assert_eq!(one, two);
        assert_eq!(one, four);
        assert!(one.iter().enumerate().all(|(i, (idx, _))| *idx == i as u64));
    }

    #[test]
    fn another_seed_gives_other_results() {
        let a = MonteCarlo::new(11, 8).run(draw).unwrap();
        let b = MonteCarlo::new(12, 8).run(draw).unwrap();
        assert_ne!(a, b);
    }
}
