//! [`RateLimiter`]: a per-service request rate limit (a leaky bucket with a small burst).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests `1 / rate` apart, letting `burst` go at once after a quiet spell.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// At most `per_second` requests per second on average (`<= 0` or non-finite: unlimited),
    /// with bursts of `burst`.
    pub(crate) fn new(per_second: f64, burst: u32) -> Self {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::ZERO
        };
        RateLimiter {
            interval,
            tolerance: interval * burst.saturating_sub(1),
            next: Mutex::new(None),
        }
    }

    /// No limit.
    #[cfg(test)]
    pub(crate) fn unlimited() -> Self {
        RateLimiter::new(0.0, 1)
    }

    /// Waits for this request's slot.
    pub(crate) async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            let now = Instant::now();
            let earliest = now.checked_sub(self.tolerance).unwrap_or(now);
            let slot = match *next {
                Some(n) if n > earliest => n,
                _ => earliest,
            };
            *next = Some(slot + self.interval);
            slot
        };
        if slot > Instant::now() {
            tokio::time::sleep_until(slot).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_after_the_burst() {
        let r = RateLimiter::new(10.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            r.acquire().await;
        }
        assert_eq!(Instant::now(), t0, "the burst goes at once");
        r.acquire().await;
        r.acquire().await;
        assert_eq!(Instant::now() - t0, Duration::from_millis(200));
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let r = RateLimiter::unlimited();
        let t0 = Instant::now();
        for _ in 0..100 {
            r.acquire().await;
        }
        assert_eq!(Instant::now(), t0);
    }
}
