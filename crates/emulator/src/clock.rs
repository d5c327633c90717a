//! The virtual clock: simulated time = start time + real elapsed × `time_scale` + manual
//! advances. Every state machine reads time from here, lazily, so idle tasks cost nothing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

/// A virtual clock in epoch milliseconds.
#[derive(Debug)]
pub struct VirtualClock {
    real_start: Instant,
    virtual_start_ms: i64,
    scale: f64,
    advanced_ms: AtomicI64,
}

impl VirtualClock {
    /// A clock that starts at `virtual_start_ms` and runs `scale` times faster than real time.
    pub fn new(virtual_start_ms: i64, scale: f64) -> Self {
        let scale = if scale.is_finite() && scale >= 0.0 {
            scale
        } else {
            1.0
        };
        VirtualClock {
            real_start: Instant::now(),
            virtual_start_ms,
            scale,
            advanced_ms: AtomicI64::new(0),
        }
    }

    /// The clock never goes past this, so `now + duration` arithmetic cannot overflow.
    pub const MAX_MS: i64 = i64::MAX / 4;

    /// The current real time in epoch milliseconds.
    pub fn real_epoch_ms() -> i64 {
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
    }

    /// Virtual "now", epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        let real = self.real_start.elapsed().as_secs_f64() * 1000.0 * self.scale;
        // Saturating float→int conversion; a clock running for centuries is not a concern.
        self.virtual_start_ms
            .saturating_add(real as i64)
            .saturating_add(self.advanced_ms.load(Ordering::Relaxed))
            .min(Self::MAX_MS)
    }

    /// Jumps the clock forward by `ms` milliseconds (negative values are ignored).
    pub fn advance_ms(&self, ms: i64) {
        if ms > 0 {
            // Saturate instead of wrapping: an absurd advance pins the clock at the far future.
            let _ = self
                .advanced_ms
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |a| {
                    Some(a.saturating_add(ms))
                });
        }
    }

    /// The time scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let c = VirtualClock::new(1_000, 0.0);
        assert_eq!(c.now_ms(), 1_000);
        c.advance_ms(5_000);
        assert_eq!(c.now_ms(), 6_000);
        c.advance_ms(-10);
        assert_eq!(c.now_ms(), 6_000);
    }

    #[test]
    fn huge_advances_saturate() {
        let c = VirtualClock::new(1_000, 0.0);
        c.advance_ms(i64::MAX);
        c.advance_ms(i64::MAX);
        assert_eq!(c.now_ms(), VirtualClock::MAX_MS);
    }

    #[test]
    fn bad_scales_fall_back_to_real_time() {
        assert_eq!(VirtualClock::new(0, f64::NAN).scale(), 1.0);
        assert_eq!(VirtualClock::new(0, -3.0).scale(), 1.0);
    }
}
