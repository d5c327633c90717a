//! The cloud's clock as its answers tell it (the HTTP `Date` header), so that time-based
//! decisions can use the cloud's "now" rather than this host's.
//!
//! Every response (success or error) that carries an IMF-fixdate `Date` is observed; the
//! newest Date is kept, with the local instant it was received at (of equal Dates, the one
//! received last). The estimate of the cloud's now is that Date plus the local time elapsed
//! since. Its limits:
//!
//! - `Date` has whole seconds, and the answer spent time on the way: the estimate lags the
//!   cloud by up to a second plus the answer's latency.
//! - The estimate advances at this host's speed. Against the emulator with a time scale `s`
//!   the cloud's clock runs `s` times faster, so the estimate lags by up to the time since the
//!   last answer (one poll interval, for a poller) times `s`; each answer catches it up.
//! - An older Date than the kept one is ignored (concurrent answers arrive out of order), so a
//!   cloud clock that jumps back is not followed.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use migplan_wire::http_date::parse_http_date;

/// The newest `Date` seen and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    server_ms: i64,
    at: Instant,
}

/// Shared by the clients built together (like the counters), so every answer counts.
#[derive(Debug, Default)]
pub(crate) struct ServerClock {
    seen: Mutex<Option<Seen>>,
}

impl ServerClock {
    /// Observes the `Date` value of an answer received at `at`; values that are not an
    /// IMF-fixdate are ignored.
    pub(crate) fn observe(&self, date: &str, at: Instant) {
        let Some(server_ms) = parse_http_date(date) else {
            return;
        };
        let new = Seen { server_ms, at };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let newer = match *seen {
            None => true,
            Some(old) => (server_ms, at) > (old.server_ms, old.at),
        };
        if newer {
            *seen = Some(new);
        }
    }

    /// The estimate at local instant `at`, epoch ms; `None` before any `Date` was seen.
    pub(crate) fn estimate_ms(&self, at: Instant) -> Option<i64> {
        let seen = (*self.seen.lock().unwrap_or_else(PoisonError::into_inner))?;
        let elapsed = at.saturating_duration_since(seen.at).as_millis();
        Some(
            seen.server_ms
                .saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX)),
        )
    }

    /// The estimate now, as a time; `None` before any `Date` was seen.
    pub(crate) fn now(&self) -> Option<SystemTime> {
        let ms = self.estimate_ms(Instant::now())?;
        if ms >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms.unsigned_abs()))
        } else {
            SystemTime::UNIX_EPOCH.checked_sub(Duration::from_millis(ms.unsigned_abs()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const RFC_MS: i64 = 784_111_777_000;

    #[test]
    fn nothing_is_known_before_a_date_and_garbage_is_ignored() {
        let c = ServerClock::default();
        let t0 = Instant::now();
        assert_eq!(c.estimate_ms(t0), None);
        assert_eq!(c.now(), None);
        for bad in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "1994-11-06",
        ] {
            c.observe(bad, t0);
        }
        assert_eq!(c.estimate_ms(t0), None);
    }

    #[test]
    fn the_estimate_is_the_date_plus_local_time_since_it_arrived() {
        let c = ServerClock::default();
        let t0 = Instant::now();
        c.observe(RFC, t0);
        assert_eq!(c.estimate_ms(t0), Some(RFC_MS));
        assert_eq!(
            c.estimate_ms(t0 + Duration::from_millis(2_500)),
            Some(RFC_MS + 2_500)
        );
        // An instant before the observation is not extrapolated backwards.
        let c2 = ServerClock::default();
        c2.observe(RFC, t0 + Duration::from_secs(1));
        assert_eq!(c2.estimate_ms(t0), Some(RFC_MS));
        let now = c.now().unwrap();
        let ms = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert!(ms >= RFC_MS as u128);
    }

    #[test]
    fn the_newest_date_wins_and_older_ones_are_ignored() {
        let c = ServerClock::default();
        let t0 = Instant::now();
        let later = "Mon, 07 Nov 1994 08:49:37 GMT";
        c.observe(later, t0);
        // An older Date received afterwards (a slow concurrent answer) changes nothing.
        c.observe(RFC, t0 + Duration::from_secs(5));
        assert_eq!(
            c.estimate_ms(t0 + Duration::from_secs(5)),
            Some(RFC_MS + 86_400_000 + 5_000)
        );
        // The clock jumped a day ahead (an advanced emulator): followed at once.
        c.observe("Tue, 08 Nov 1994 08:49:37 GMT", t0 + Duration::from_secs(6));
        assert_eq!(
            c.estimate_ms(t0 + Duration::from_secs(6)),
            Some(RFC_MS + 2 * 86_400_000)
        );
    }

    #[test]
    fn of_equal_dates_the_last_received_is_kept() {
        // A frozen cloud clock keeps answering the same Date: the estimate stays near it.
        let c = ServerClock::default();
        let t0 = Instant::now();
        c.observe(RFC, t0 + Duration::from_secs(10));
        c.observe(RFC, t0);
        assert_eq!(c.estimate_ms(t0 + Duration::from_secs(10)), Some(RFC_MS));
        c.observe(RFC, t0 + Duration::from_secs(30));
        assert_eq!(
            c.estimate_ms(t0 + Duration::from_secs(31)),
            Some(RFC_MS + 1_000)
        );
    }
}
