//! The API gateway's request rate limit (`--fault ratelimit=N`), because a fleet-sized apply
//! meets one on the real cloud (429 `APIG.0308`, "policy user over ratelimit").
//!
//! At most N requests per service (SMS and DCS counted apart) in any **sliding window** of one
//! second of real time (the virtual clock's scale does not change it: the gateway counts the
//! requests it receives). A request past the limit is answered 429 with the gateway body
//! `{"error_msg": "The throttling threshold has been reached: policy user over ratelimit,
//! limit:N,time:1 second", "error_code": "APIG.0308", "request_id"}` and `Retry-After`: the
//! whole seconds (at least 1) until the oldest request in the window leaves it. Refused
//! requests are not counted, so a client that keeps asking still gets N answers a second.

use crate::api_error::Flavor;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The window.
const WINDOW: Duration = Duration::from_secs(1);

/// The admitted requests of the last second, per service.
#[derive(Debug)]
pub struct RateLimit {
    limit: u32,
    sms: VecDeque<Instant>,
    dcs: VecDeque<Instant>,
}

impl RateLimit {
    /// At most `limit` requests per second per service (at least 1).
    pub fn new(limit: u32) -> Self {
        RateLimit {
            limit: limit.max(1),
            sms: VecDeque::new(),
            dcs: VecDeque::new(),
        }
    }

    /// The limit, requests per second.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Admits (and counts) a request to the service of `flavor` arriving at `now`, or answers
    /// how long until the window has room. Paths of no service are never limited.
    pub fn admit(&mut self, flavor: Flavor, now: Instant) -> Result<(), Duration> {
        let window = match flavor {
            Flavor::Sms => &mut self.sms,
            Flavor::Dcs => &mut self.dcs,
            Flavor::Apig | Flavor::Admin => return Ok(()),
        };
        while window.front().is_some_and(|t| *t + WINDOW <= now) {
            window.pop_front();
        }
        if window.len() < self.limit as usize {
            window.push_back(now);
            return Ok(());
        }
        Err(window
            .front()
            .map_or(WINDOW, |t| (*t + WINDOW).saturating_duration_since(now)))
    }

    /// Forgets every request (reset).
    pub fn clear(&mut self) {
        self.sms.clear();
        self.dcs.clear();
    }
}

/// The `Retry-After` value for a wait: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn n_per_sliding_second_per_service() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(3);
        for i in 0..3 {
            assert_eq!(r.admit(Flavor::Sms, t0 + ms(100 * i)), Ok(()));
        }
        // The fourth within the second waits for the first to leave the window.
        assert_eq!(r.admit(Flavor::Sms, t0 + ms(250)), Err(ms(750)));
        // Refused requests are not counted; DCS has its own window.
        assert_eq!(r.admit(Flavor::Sms, t0 + ms(900)), Err(ms(100)));
        assert_eq!(r.admit(Flavor::Dcs, t0 + ms(900)), Ok(()));
        // Sliding, not fixed: at 1.0 s the first left, the two others still count.
        assert_eq!(r.admit(Flavor::Sms, t0 + ms(1000)), Ok(()));
        assert_eq!(r.admit(Flavor::Sms, t0 + ms(1050)), Err(ms(50)));
        assert_eq!(r.admit(Flavor::Sms, t0 + ms(1100)), Ok(()));
        // Admin and gateway paths are not limited.
        assert_eq!(r.admit(Flavor::Admin, t0 + ms(1100)), Ok(()));
        r.clear();
        assert_eq!(r.admit(Flavor::Sms, t0 + ms(1100)), Ok(()));
        assert_eq!(RateLimit::new(0).limit(), 1);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(ms(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(ms(1000)), 1);
        assert_eq!(retry_after_secs(ms(1001)), 2);
    }
}
