//! [`RetryPolicy`]: how many times a step sends a call and how long it pauses between two
//! sends; one value for the whole run, used by every call site.
//!
//! Which errors are worth another attempt is the caller's rule (an action resolves an unknown
//! outcome by re-reading, a create by listing its name, an idempotent update just sends
//! again): the caller says it per error with [`Retry`], the policy counts and pauses.

use std::time::Duration;

/// What a failed attempt deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Never again (the error is final).
    No,
    /// Again at once: the next attempt starts by reading the live state anyway.
    Now,
    /// Again after a pause that grows with the attempts (throttling, refused connection).
    Later,
}

/// Why [`RetryPolicy::run`] stopped without a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GaveUp<E> {
    /// The error was not worth another attempt.
    Final(E),
    /// Every attempt was spent; the last one failed with this (retryable) error.
    Exhausted(E),
}

impl<E> GaveUp<E> {
    /// The last error.
    pub(crate) fn into_inner(self) -> E {
        match self {
            GaveUp::Final(e) | GaveUp::Exhausted(e) => e,
        }
    }
}

/// Attempts per call and the pause unit between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts at most, the first one included (at least 1).
    pub max_attempts: u32,
    /// The pause after the n-th attempt is `n × backoff`.
    pub backoff: Duration,
}

impl RetryPolicy {
    /// A policy of `max_attempts` (raised to 1) attempts, pausing `n × backoff`.
    pub(crate) fn new(max_attempts: u32, backoff: Duration) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            backoff,
        }
    }

    /// A fresh count of attempts for one call.
    pub(crate) fn attempts(&self) -> Attempts {
        Attempts {
            policy: *self,
            made: 0,
        }
    }

    /// The pause after the `attempt`-th attempt.
    pub(crate) async fn pause(&self, attempt: u32) {
        tokio::time::sleep(self.backoff * attempt).await;
    }
}

/// The attempts of one call under a [`RetryPolicy`]. A call site loops on its attempt and
/// hands each error to [`Attempts::retry`], which decides and pauses. (A loop rather than a
/// method taking the attempt as an async closure: a step's future must be `Send`, and the
/// compiler cannot prove it for a future holding an async closure's borrowing call,
/// rust-lang/rust#110338.)
#[derive(Debug)]
pub(crate) struct Attempts {
    policy: RetryPolicy,
    made: u32,
}

impl Attempts {
    /// Attempts that failed so far.
    pub(crate) fn made(&self) -> u32 {
        self.made
    }

    /// After a failed attempt: `Ok` when another attempt is due (after the pause `rule` asks
    /// for), else why not, with the error.
    pub(crate) async fn retry<E>(
        &mut self,
        error: E,
        rule: impl FnOnce(&E) -> Retry,
    ) -> Result<(), GaveUp<E>> {
        self.made += 1;
        match rule(&error) {
            Retry::No => Err(GaveUp::Final(error)),
            _ if self.made >= self.policy.max_attempts => Err(GaveUp::Exhausted(error)),
            Retry::Now => Ok(()),
            Retry::Later => {
                self.policy.pause(self.made).await;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(3, Duration::from_millis(100))
    }

    /// The loop every call site writes.
    async fn run<T, E>(
        policy: RetryPolicy,
        mut attempt: impl FnMut(u32) -> Result<T, E>,
        rule: impl Fn(&E) -> Retry,
    ) -> Result<T, GaveUp<E>> {
        let mut attempts = policy.attempts();
        loop {
            match attempt(attempts.made() + 1) {
                Ok(t) => return Ok(t),
                Err(e) => attempts.retry(e, &rule).await?,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_later_with_growing_pauses_until_the_attempts_are_spent() {
        let t0 = Instant::now();
        let mut seen = Vec::new();
        let r: Result<(), _> = run(
            policy(),
            |n| {
                seen.push((n, Instant::now() - t0));
                Err("throttled")
            },
            |_| Retry::Later,
        )
        .await;
        assert_eq!(r, Err(GaveUp::Exhausted("throttled")));
        let ms = |m| Duration::from_millis(m);
        assert_eq!(seen, vec![(1, ms(0)), (2, ms(100)), (3, ms(300))]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_error_stops_at_once_and_now_does_not_pause() {
        let t0 = Instant::now();
        let mut calls = 0;
        let r: Result<(), _> = run(
            policy(),
            |n| {
                calls += 1;
                Err(n)
            },
            |&n| if n < 2 { Retry::Now } else { Retry::No },
        )
        .await;
        assert_eq!(r, Err(GaveUp::Final(2)));
        assert_eq!(calls, 2);
        assert_eq!(Instant::now(), t0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_ends_the_attempts_and_at_least_one_is_made() {
        let once = RetryPolicy::new(0, Duration::from_secs(1));
        let r: Result<u32, GaveUp<()>> = run(once, |_| Err(()), |_| Retry::Now).await;
        assert_eq!(r, Err(GaveUp::Exhausted(())));
        let r: Result<u32, _> = run(
            policy(),
            |n| if n < 3 { Err(()) } else { Ok(n) },
            |_| Retry::Now,
        )
        .await;
        assert_eq!(r, Ok(3));
    }
}
