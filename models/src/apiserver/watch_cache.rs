//! The API server's memory: its watch cache and its watchers (k8s.io/apiserver v0.34
//! `pkg/storage/cacher`).
//!
//! Every resource has a cacher that holds every object decoded (`store.go`), and a ring
//! of recent events (`watch_cache.go`): it starts with 100 slots, doubles when full while
//! its oldest event is younger than `eventFreshDuration` (75 s: a 1-minute bookmark
//! period plus 15 s), and is capped at 102,400 (`resizeCacheLocked`). So a resource
//! written at r events/s keeps about r × 75 s of them, no fewer than 100. Each event
//! holds its object version decoded, and the serialized form the watchers were sent
//! (`cachingObject`). Every watch, one per informer of every client, costs its
//! goroutines and buffers (`cache_watcher.go`).

/// How the watch cache and the watchers take memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WatchCacheMemory {
    /// Memory of a decoded object per byte stored.
    pub bytes_per_stored_byte: f64,
    /// `eventFreshDuration`: how long the ring keeps events at a steady rate [s]; 0 leaves
    /// the ring out.
    pub event_window_s: f64,
    /// Slots the ring never shrinks below.
    pub min_events: u64,
    /// Slots the ring never grows past.
    pub max_events: u64,
    /// One watch's goroutines and buffers [bytes].
    pub bytes_per_watch: u64,
}

impl WatchCacheMemory {
    /// Events one resource's ring holds at `rate` events/s, after `seen` events.
    pub fn ring_events(&self, rate: f64, seen: u64) -> f64 {
        if self.event_window_s <= 0.0 {
            return 0.0;
        }
        (rate * self.event_window_s)
            .clamp(self.min_events as f64, self.max_events as f64)
            .min(seen as f64)
    }

    /// One ring's memory: each event holds its object decoded and serialized [bytes].
    pub fn ring_bytes(&self, events: f64, object_bytes: f64) -> f64 {
        events * object_bytes * (self.bytes_per_stored_byte + 1.0)
    }

    /// The objects' memory, decoded, for `stored` bytes in etcd [bytes].
    pub fn store_bytes(&self, stored: f64) -> f64 {
        self.bytes_per_stored_byte * stored
    }

    /// `watches` open watches [bytes].
    pub fn watchers_bytes(&self, watches: u64) -> f64 {
        (watches * self.bytes_per_watch) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_75_seconds_of_events_between_its_bounds() {
        let m = WatchCacheMemory {
            bytes_per_stored_byte: 3.0,
            event_window_s: 75.0,
            min_events: 100,
            max_events: 102_400,
            bytes_per_watch: 32 << 10,
        };
        assert_eq!(m.ring_events(10.0, 1_000_000), 750.0);
        assert_eq!(m.ring_events(0.1, 1_000_000), 100.0); // never below 100 slots
        assert_eq!(m.ring_events(0.1, 40), 40.0); // only what happened
        assert_eq!(m.ring_events(5_000.0, u64::MAX), 102_400.0);
        // 750 events of 4 KiB objects: decoded (3×) and serialized (1×).
        assert_eq!(m.ring_bytes(750.0, 4096.0), 750.0 * 4096.0 * 4.0);
        let off = WatchCacheMemory {
            event_window_s: 0.0,
            ..m
        };
        assert_eq!(off.ring_events(10.0, 1_000_000), 0.0);
    }
}
