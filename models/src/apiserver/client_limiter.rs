//! client-go's client-side rate limiter: a token bucket shared by every controller of one
//! manager process.
//!
//! Copies `flowcontrol.NewTokenBucketRateLimiter(qps, burst)`, which wraps
//! `golang.org/x/time/rate.NewLimiter(qps, burst)` (client-go `util/flowcontrol/throttle.go`,
//! `rest/request.go`): the bucket starts full with `burst` tokens and refills at `qps` per
//! second up to `burst`; a request that finds no token *reserves* one and waits until it is
//! due (`Limiter.Wait`), so waiting requests are served in arrival order at exactly `qps`.
//! "Off" is a valid setting: controller-runtime ≥ v0.21 sets QPS = −1, which disables the
//! client-side limiter and leaves throttling to the API server's Priority and Fairness.
//!
//! Left out: the 50 ms "waited" log line and context cancellation of a waiting request.

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

/// The limiter's settings, by their flag names.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientRateLimit {
    /// No client-side limit (controller-runtime ≥ v0.21 default, QPS = −1).
    Off,
    /// `--kube-api-qps` and `--kube-api-burst`.
    Limited {
        /// Sustained requests per second [1/s].
        qps: f64,
        /// Requests that may go at once from a full bucket [count].
        burst: u32,
    },
}

/// A token bucket in the state `rate.Limiter` keeps: tokens at the last update.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Refill rate [tokens/ns].
    rate_per_ns: f64,
    /// Bucket size [tokens].
    burst: f64,
    /// Tokens at `last`; negative when requests have reserved future tokens.
    tokens: f64,
    last: SimTime,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilling at `qps` per second.
    pub fn new(qps: f64, burst: u32) -> Self {
        TokenBucket {
            rate_per_ns: qps / 1e9,
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: SimTime::ZERO,
        }
    }

    /// Takes a token for a request made at `now` and returns how long the request must
    /// wait for it (zero if a token was in the bucket). Like `Limiter.Wait`, the token is
    /// reserved at once, so later requests queue behind it.
    #[inline]
    pub fn reserve(&mut self, now: SimTime) -> SimDuration {
        if now > self.last {
            let elapsed = (now - self.last).as_nanos() as f64;
            self.tokens = (self.tokens + elapsed * self.rate_per_ns).min(self.burst);
            self.last = now;
        }
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            SimDuration::ZERO
        } else {
            SimDuration::from_nanos((-self.tokens / self.rate_per_ns).ceil() as u64)
        }
    }

    /// Takes a token only if one is in the bucket now; a server-side limiter that answers
    /// 429 instead of making the caller wait (Prism Central's API gateway).
    #[inline]
    pub fn try_take(&mut self, now: SimTime) -> bool {
        if now > self.last {
            let elapsed = (now - self.last).as_nanos() as f64;
            self.tokens = (self.tokens + elapsed * self.rate_per_ns).min(self.burst);
            self.last = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A manager's limiter: off, or a token bucket.
#[derive(Clone, Debug)]
pub struct ClientLimiter(Option<TokenBucket>);

impl ClientLimiter {
    /// The limiter for `setting`.
    pub fn new(setting: ClientRateLimit) -> Self {
        match setting {
            ClientRateLimit::Off => ClientLimiter(None),
            ClientRateLimit::Limited { qps, burst } => {
                ClientLimiter(Some(TokenBucket::new(qps, burst)))
            }
        }
    }

    /// How long a request made at `now` waits for its token.
    #[inline]
    pub fn reserve(&mut self, now: SimTime) -> SimDuration {
        match &mut self.0 {
            None => SimDuration::ZERO,
            Some(bucket) => bucket.reserve(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_served_at_once() {
        let mut b = TokenBucket::new(20.0, 30);
        for _ in 0..30 {
            assert_eq!(b.reserve(SimTime::ZERO), SimDuration::ZERO);
        }
        // The 31st waits one token's worth: 1/20 s.
        assert_eq!(b.reserve(SimTime::ZERO), SimDuration::from_millis(50));
    }

    #[test]
    fn long_run_rate_equals_qps() {
        // 10,000 requests at once through 20 QPS / burst 30: the last one is served at
        // (10,000 − 30) / 20 s, so the long-run rate is the QPS.
        let mut b = TokenBucket::new(20.0, 30);
        let last = (0..10_000)
            .map(|_| b.reserve(SimTime::ZERO))
            .last()
            .unwrap();
        let rate = 10_000.0 / last.as_secs_f64();
        assert!((last.as_secs_f64() - 9_970.0 / 20.0).abs() < 1e-6, "{last}");
        assert!((rate / 20.0 - 1.0).abs() < 0.005, "rate {rate}");
    }

    #[test]
    fn offered_load_above_qps_is_served_at_qps() {
        // 100 requests/s offered for 60 s against 20 QPS: completions over the run
        // approach 20/s once the burst is spent.
        let mut b = TokenBucket::new(20.0, 30);
        let mut served_by = Vec::new();
        for i in 0..6000u64 {
            let now = SimTime::from_millis(i * 10);
            served_by.push(now + b.reserve(now));
        }
        let span = served_by.last().unwrap().as_secs_f64();
        assert!(((6000.0 - 30.0) / span / 20.0 - 1.0).abs() < 0.001);
        assert!(served_by.windows(2).all(|w| w[0] <= w[1]), "FIFO order");
    }

    #[test]
    fn tokens_refill_up_to_burst_only() {
        let mut b = TokenBucket::new(10.0, 5);
        for _ in 0..5 {
            b.reserve(SimTime::ZERO);
        }
        // An hour later the bucket holds 5, not 36,000.
        let later = SimTime::from_secs(3600);
        for _ in 0..5 {
            assert_eq!(b.reserve(later), SimDuration::ZERO);
        }
        assert!(b.reserve(later) > SimDuration::ZERO);
    }

    #[test]
    fn try_take_refuses_instead_of_waiting() {
        let mut b = TokenBucket::new(1.0, 2);
        assert!(b.try_take(SimTime::ZERO) && b.try_take(SimTime::ZERO));
        assert!(!b.try_take(SimTime::ZERO));
        assert!(b.try_take(SimTime::from_secs(1)));
    }

    #[test]
    fn off_never_waits() {
        let mut l = ClientLimiter::new(ClientRateLimit::Off);
        assert!((0..100_000).all(|_| l.reserve(SimTime::ZERO) == SimDuration::ZERO));
    }
}
