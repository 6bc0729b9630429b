use serde::{Deserialize, Serialize};

/// A count of occurrences (requests, errors, restarts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Counter(u64);

impl Counter {
    /// Counts one occurrence.
    #[inline]
    pub fn incr(&mut self) {
        self.0 += 1;
    }

    /// Counts `n` occurrences.
    #[inline]
    pub fn add(&mut self, n: u64) {
        self.0 += n;
    }

    /// Occurrences so far.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Adds another counter's occurrences, e.g. from another shard.
    pub fn merge(&mut self, other: Counter) {
        self.0 += other.0;
    }
}
