//! Independent random streams, one per component.
//!
//! Each component draws from its own generator, seeded from (master seed, replica index,
//! stream id) by a SplitMix64 mixing chain. A stream's draws depend on nothing else: adding a
//! component, or changing a knob that makes one component draw more often, leaves every
//! other component's draws unchanged. That gives common random numbers when two scenarios
//! are compared, so their difference comes from the change and not from reshuffled noise.
//!
//! The generator is xoshiro256++ (fast, 256 bits of state, passes BigCrush); SplitMix64 is
//! the seeding function its authors recommend.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator every component uses.
pub type SimRng = Xoshiro256PlusPlus;

/// Names one random stream within a replica. Build it from a stable name, so that the
/// stream survives reordering of components in the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(u64);

impl StreamId {
    /// The stream called `name` (hashed with 64-bit FNV-1a, stable across builds).
    pub const fn named(name: &str) -> Self {
        StreamId(fnv1a(name.as_bytes()))
    }

    /// The `index`-th stream of a family called `name`, e.g. one per API server replica.
    pub const fn indexed(name: &str, index: u64) -> Self {
        StreamId(splitmix64(fnv1a(name.as_bytes()) ^ splitmix64(index)))
    }

    /// A stream given by a raw number.
    pub const fn from_raw(id: u64) -> Self {
        StreamId(id)
    }

    /// The stream's number.
    pub const fn raw(self) -> u64 {
        self.0
    }
}

/// The streams of one replica of one run.
#[derive(Clone, Copy, Debug)]
pub struct RngStreams {
    base: u64,
}

impl RngStreams {
    /// The streams of replica `replica` under `master_seed`.
    pub const fn new(master_seed: u64, replica: u64) -> Self {
        RngStreams {
            base: splitmix64(splitmix64(master_seed) ^ replica.wrapping_mul(GOLDEN)),
        }
    }

    /// The streams of an independent part of the same replica (one of several
    /// management clusters, say): every stream differs from this one's and from the
    /// other parts'.
    pub const fn part(&self, index: u64) -> Self {
        RngStreams {
            base: splitmix64(self.base ^ splitmix64(index.wrapping_add(GOLDEN))),
        }
    }

    /// A fresh generator for stream `id`; the same id always gives the same draws.
    pub fn stream(&self, id: StreamId) -> SimRng {
        SimRng::seed_from_u64(splitmix64(self.base ^ splitmix64(id.0)))
    }
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective, well-mixed hash of a 64-bit word.
pub const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn draws(mut rng: SimRng, n: usize) -> Vec<u64> {
        (0..n).map(|_| rng.random::<u64>()).collect()
    }

    #[test]
    fn same_seed_replica_and_stream_give_the_same_draws() {
        let a = RngStreams::new(42, 3).stream(StreamId::named("etcd"));
        let b = RngStreams::new(42, 3).stream(StreamId::named("etcd"));
        assert_eq!(draws(a, 100), draws(b, 100));
    }

    #[test]
    fn streams_differ_by_seed_replica_and_id() {
        let base = draws(RngStreams::new(42, 3).stream(StreamId::named("etcd")), 8);
        let others = [
            RngStreams::new(43, 3).stream(StreamId::named("etcd")),
            RngStreams::new(42, 4).stream(StreamId::named("etcd")),
            RngStreams::new(42, 3).stream(StreamId::named("apiserver")),
            RngStreams::new(42, 3).stream(StreamId::indexed("etcd", 0)),
        ];
        for other in others {
            assert_ne!(draws(other, 8), base);
        }
    }

    #[test]
    fn using_another_stream_leaves_this_one_unchanged() {
        // Common random numbers: how much another component draws must not matter.
        let streams = RngStreams::new(7, 0);
        let alone = draws(streams.stream(StreamId::named("prism-central")), 50);
        let mut noisy = streams.stream(StreamId::named("apiserver"));
        let _ = (0..10_000).map(|_| noisy.random::<u64>()).count();
        let _added = streams.stream(StreamId::named("a-new-component"));
        assert_eq!(
            draws(streams.stream(StreamId::named("prism-central")), 50),
            alone
        );
    }

    #[test]
    fn parts_have_their_own_streams() {
        let whole = RngStreams::new(9, 2);
        let a = draws(whole.part(0).stream(StreamId::named("etcd")), 8);
        let b = draws(whole.part(1).stream(StreamId::named("etcd")), 8);
        assert_ne!(a, b);
        assert_ne!(a, draws(whole.stream(StreamId::named("etcd")), 8));
        assert_eq!(
            a,
            draws(
                RngStreams::new(9, 2)
                    .part(0)
                    .stream(StreamId::named("etcd")),
                8
            )
        );
    }

    #[test]
    fn indexed_streams_are_distinct_across_many_indices() {
        let mut firsts: Vec<u64> = (0..10_000)
            .map(|i| {
                RngStreams::new(1, 0)
                    .stream(StreamId::indexed("worker", i))
                    .random::<u64>()
            })
            .collect();
        firsts.sort_unstable();
        firsts.dedup();
        assert_eq!(firsts.len(), 10_000);
    }
}
