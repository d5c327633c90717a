//! Retry policy: which failures are retried, how long to wait, and when a
//! failed request must be reported as [`OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown).
//!
//! # Policy
//!
//! Every request is tagged with an [`Idempotency`]:
//!
//! | failure | [`Idempotency::Idempotent`] | [`Idempotency::NonIdempotent`] |
//! |---|---|---|
//! | 429 / `APIG.0308` (gateway throttling) | retry | retry (the gateway rejected it before the service saw it) |
//! | connection could not be established | retry | retry (nothing was sent) |
//! | 5xx (except 501, 505) | retry | **outcome unknown** (the service may have committed) |
//! | timeout, connection lost after sending, body cut off | retry | **outcome unknown** |
//! | any other 4xx, 501, 505 | fail | fail |
//!
//! Delays use exponential backoff with full jitter (`uniform(0, min(max_delay,
//! base_delay * 2^retry))`). A `Retry-After` header (delta-seconds or HTTP date)
//! replaces the jittered delay, capped at `max_delay` so a hostile or huge value
//! cannot stall a run; after `max_retries` retries the last error is returned.

use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;

/// How safe it is to send the same request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the same effect as once: GET, PUT, DELETE, and
    /// POSTs that overwrite a whole value (speed-limit set).
    Idempotent,
    /// Each send may create or change something: creates (task, source,
    /// template, DCS online task) and state-changing actions. Repeated only when
    /// the service certainly did not process the first attempt.
    NonIdempotent,
}

/// Retry limits and backoff. Tests use tiny delays; see [`RetryPolicy::fast`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` requests).
    pub max_retries: u32,
    /// Backoff base: the cap of the first retry's jittered delay.
    pub base_delay: Duration,
    /// Upper bound of any delay, including one asked for by `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 retries, 250 ms base, 20 s cap.
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Millisecond delays for tests against a local emulator.
    pub fn fast(max_retries: u32) -> Self {
        Self {
            max_retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        }
    }

    /// Upper bound of the jittered delay before retry number `retry` (0-based).
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Delay before retry number `retry` (0-based): full jitter over
    /// [`backoff_cap`](Self::backoff_cap), or `retry_after` capped at `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, rng: &mut impl Rng) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let cap = self.backoff_cap(retry);
        let cap_nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if cap_nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rng.random_range(0..=cap_nanos))
    }
}

/// A retry about to happen, handed to [`CloudConfig::with_on_retry`](crate::CloudConfig::with_on_retry)'s
/// hook before the wait, so a user sees why a command is slow while it is. Holds the method
/// and path only (never the query, headers or body).
///
/// `Display`: `retrying GET /v3/tasks (attempt 2 of 5, after 503 Service Unavailable; waiting 1.0 s)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryNotice {
    /// The service called.
    pub service: crate::Service,
    /// HTTP method.
    pub method: String,
    /// Concrete path, e.g. `/v3/tasks`.
    pub path: String,
    /// The attempt about to be made (2 for the first retry).
    pub attempt: u32,
    /// Attempts at most (retries + 1).
    pub max_attempts: u32,
    /// What the last attempt ran into: `503 Service Unavailable`, `429 Too Many Requests
    /// (APIG.0308)`, `no answer within 1.0 s`, `could not connect`, ...
    pub after: String,
    /// The wait before the attempt.
    pub wait: Duration,
}

impl std::fmt::Display for RetryNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "retrying {} {} (attempt {} of {}, after {}; waiting {:.1} s)",
            self.method,
            self.path,
            self.attempt,
            self.max_attempts,
            self.after,
            self.wait.as_secs_f64()
        )
    }
}

/// The hook called with each [`RetryNotice`].
#[derive(Clone)]
pub struct OnRetry(pub std::sync::Arc<dyn Fn(&RetryNotice) + Send + Sync>);

impl std::fmt::Debug for OnRetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnRetry(..)")
    }
}

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure<'a> {
    /// The service answered with a non-success status.
    Status { status: u16, code: Option<&'a str> },
    /// The connection could not be established: the request was never sent.
    Connect,
    /// The request may have been sent but no complete response arrived
    /// (timeout, connection reset or closed, body cut off).
    Lost,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Try again (if attempts are left).
    Retry,
    /// Return the error as it is.
    Fail,
    /// Do not repeat: the service may have applied the request.
    OutcomeUnknown,
}

/// Whether a status/code pair is gateway throttling.
pub(crate) fn is_throttle(status: u16, code: Option<&str>) -> bool {
    status == 429 || code.is_some_and(|c| c.eq_ignore_ascii_case("APIG.0308"))
}

/// Whether a status is a server error worth retrying (501 and 505 will not improve).
pub(crate) fn is_retryable_server_error(status: u16) -> bool {
    (500..=599).contains(&status) && status != 501 && status != 505
}

/// Classifies one failed attempt (see the module docs for the table).
pub(crate) fn classify(idempotency: Idempotency, failure: Failure<'_>) -> Decision {
    match failure {
        Failure::Status { status, code } if is_throttle(status, code) => Decision::Retry,
        Failure::Status { status, .. } if is_retryable_server_error(status) => match idempotency {
            Idempotency::Idempotent => Decision::Retry,
            Idempotency::NonIdempotent => Decision::OutcomeUnknown,
        },
        Failure::Status { .. } => Decision::Fail,
        Failure::Connect => Decision::Retry,
        Failure::Lost => match idempotency {
            Idempotency::Idempotent => Decision::Retry,
            Idempotency::NonIdempotent => Decision::OutcomeUnknown,
        },
    }
}

/// Parses a `Retry-After` value: delta-seconds, or an HTTP date (RFC 7231
/// IMF-fixdate, as RFC 2822 with `GMT`) relative to `now`. Dates in the past
/// give zero; anything unparseable gives `None`.
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    if let Ok(secs) = value.parse::<f64>() {
        // Not in the RFC, but some gateways send fractions; accept them.
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let when = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let delta = when - now;
    Some(if delta.is_negative() {
        Duration::ZERO
    } else {
        delta.unsigned_abs()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use time::macros::datetime;

    const I: Idempotency = Idempotency::Idempotent;
    const N: Idempotency = Idempotency::NonIdempotent;

    fn st(status: u16, code: Option<&str>) -> Failure<'_> {
        Failure::Status { status, code }
    }

    #[test]
    fn throttling_is_retried_for_every_request() {
        assert_eq!(classify(I, st(429, None)), Decision::Retry);
        assert_eq!(classify(N, st(429, Some("APIG.0308"))), Decision::Retry);
        // The gateway code alone counts, whatever the status.
        assert_eq!(classify(N, st(400, Some("APIG.0308"))), Decision::Retry);
    }

    #[test]
    fn server_errors_retry_only_idempotent_requests() {
        for s in [500, 502, 503, 504] {
            assert_eq!(classify(I, st(s, None)), Decision::Retry, "{s}");
            assert_eq!(classify(N, st(s, None)), Decision::OutcomeUnknown, "{s}");
        }
        assert_eq!(classify(I, st(501, None)), Decision::Fail);
        assert_eq!(classify(N, st(505, None)), Decision::Fail);
    }

    #[test]
    fn client_errors_are_not_retried() {
        for s in [400, 401, 403, 404, 409] {
            assert_eq!(classify(I, st(s, Some("SMS.1038"))), Decision::Fail);
            assert_eq!(classify(N, st(s, None)), Decision::Fail);
        }
    }

    #[test]
    fn transport_failures() {
        assert_eq!(classify(I, Failure::Connect), Decision::Retry);
        assert_eq!(classify(N, Failure::Connect), Decision::Retry);
        assert_eq!(classify(I, Failure::Lost), Decision::Retry);
        assert_eq!(classify(N, Failure::Lost), Decision::OutcomeUnknown);
    }

    #[test]
    fn backoff_caps_grow_then_saturate() {
        let p = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(p.backoff_cap(0), Duration::from_millis(100));
        assert_eq!(p.backoff_cap(1), Duration::from_millis(200));
        assert_eq!(p.backoff_cap(3), Duration::from_millis(800));
        assert_eq!(p.backoff_cap(4), Duration::from_secs(1));
        assert_eq!(p.backoff_cap(40), Duration::from_secs(1));
        assert_eq!(p.backoff_cap(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jittered_delay_stays_within_bounds_and_varies() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 0..12 {
            let cap = p.backoff_cap(retry);
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..200 {
                let d = p.delay(retry, None, &mut rng);
                assert!(d <= cap, "retry {retry}: {d:?} > {cap:?}");
                seen.insert(d);
            }
            assert!(seen.len() > 100, "full jitter should spread delays");
        }
    }

    #[test]
    fn retry_after_replaces_jitter_and_is_capped() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let d = p.delay(0, Some(Duration::from_secs(3)), &mut rng);
        assert_eq!(d, Duration::from_secs(3));
        let d = p.delay(0, Some(Duration::from_secs(3600)), &mut rng);
        assert_eq!(d, p.max_delay);
    }

    #[test]
    fn zero_base_gives_zero_delay() {
        let p = RetryPolicy {
            base_delay: Duration::ZERO,
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.delay(3, None, &mut StdRng::seed_from_u64(0)),
            Duration::ZERO
        );
    }

    #[test]
    fn retry_after_parsing() {
        let now = datetime!(2015-10-21 07:28:00 UTC);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("99999999999999999999999", now), None);
    }
}
