//! [`AdaptiveRate`]: one service's request pace, found as the run goes (AIMD), because the
//! API gateway's limit is not published and differs per account: a fixed rate is either
//! slower than it must be or answered 429 again and again.
//!
//! - **Pacing**: requests are spaced `1 / rate` apart, in arrival order, with no burst.
//! - **Start**: 10 requests per second (or the ceiling, if lower): well under the gateway
//!   limits seen in practice, and reached again within a second of slow start.
//! - **Increase**, only on an accepted request that had to wait for its slot (the pace, not
//!   the demand, was the limit; an idle service does not talk itself into a rate it never
//!   tried): until the first throttling answer, +1 per request (slow start: at full pace the
//!   rate grows e-fold, ×2.7, per second: from 10 to 100 in 2.3 s); after it, +1 per
//!   second-equivalent of requests (`+1 / rate` each: +1 req/s per second at full pace).
//! - **Decrease**: ×0.5 on a throttling answer (429 / `APIG.0308`), at least 1 req/s; once per
//!   episode: answers to requests admitted before the last cut do not cut again.
//! - **`Retry-After`**: no request to the service is admitted before it has passed.
//! - **Ceiling**: the rate never exceeds `--rate-limit` (default 100). A ceiling of 0 paces
//!   nothing (requests are still counted and `Retry-After` still honoured).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use migplan_cloud::{GateAnswer, RequestGate, Service};
use tokio::time::Instant;

use crate::event::RateSummary;

/// The starting rate, requests per second.
pub(crate) const START_RATE: f64 = 10.0;
/// The lowest rate a decrease goes to.
const FLOOR: f64 = 1.0;
/// What a decrease multiplies the rate by.
const DECREASE: f64 = 0.5;

/// A service's pace over a run, as reported in the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct RateStats {
    /// Requests admitted (pages and retries included).
    pub requests: u64,
    /// Throttling answers (429).
    pub throttled: u64,
    /// The rate now, requests per second (0: not paced).
    pub rate: f64,
    /// The highest rate reached.
    pub peak_rate: f64,
    /// The lowest rate reached.
    pub min_rate: f64,
}

#[derive(Debug)]
struct State {
    rate: f64,
    slow_start: bool,
    /// When the last request was admitted.
    last: Option<Instant>,
    /// No request before this (`Retry-After`).
    hold_until: Option<Instant>,
    /// Decreases so far: a request admitted in an earlier epoch does not cut again.
    epoch: u64,
    stats: RateStats,
}

/// One service's adaptive pace (see the module docs).
#[derive(Debug)]
pub(crate) struct AdaptiveRate {
    /// `None`: not paced.
    ceiling: Option<f64>,
    /// Taken by the one request computing its slot, so slots follow the rate of the moment.
    turn: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AdaptiveRate {
    /// A pace starting at `start` (capped at the ceiling), never above `ceiling` requests per
    /// second (`<= 0` or not finite: not paced).
    pub(crate) fn new(ceiling: f64, start: f64) -> Self {
        let ceiling = (ceiling.is_finite() && ceiling > 0.0).then_some(ceiling);
        let rate = match ceiling {
            Some(c) => start.clamp(FLOOR.min(c), c),
            None => 0.0,
        };
        AdaptiveRate {
            ceiling,
            turn: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                rate,
                slow_start: true,
                last: None,
                hold_until: None,
                epoch: 0,
                stats: RateStats {
                    rate,
                    peak_rate: rate,
                    min_rate: rate,
                    ..RateStats::default()
                },
            }),
        }
    }

    /// Waits for this request's slot; the ticket goes back to [`AdaptiveRate::answered`].
    pub(crate) async fn admit(&self) -> u64 {
        let _turn = self.turn.lock().await;
        let mut waited = false;
        loop {
            let now = Instant::now();
            let slot = {
                let s = lock(&self.state);
                let mut at = s.hold_until.filter(|h| *h > now).unwrap_or(now);
                if let (Some(_), Some(last)) = (self.ceiling, s.last) {
                    at = at.max(last + Duration::from_secs_f64(1.0 / s.rate));
                }
                at
            };
            if slot <= now {
                break;
            }
            waited = true;
            // Woken at the slot of the rate of the moment; a `Retry-After` or a cut that came
            // meanwhile moves it, so look again.
            tokio::time::sleep_until(slot).await;
        }
        let mut s = lock(&self.state);
        s.last = Some(Instant::now());
        s.stats.requests += 1;
        (s.epoch << 1) | u64::from(waited)
    }

    /// The answer to the request admitted with `ticket`.
    pub(crate) fn answered(&self, ticket: u64, answer: GateAnswer) {
        let (epoch, waited) = (ticket >> 1, ticket & 1 == 1);
        let mut s = lock(&self.state);
        match answer {
            GateAnswer::Accepted => {
                let Some(ceiling) = self.ceiling.filter(|_| waited) else {
                    return;
                };
                let step = if s.slow_start { 1.0 } else { 1.0 / s.rate };
                s.rate = (s.rate + step).min(ceiling);
            }
            GateAnswer::Throttled { retry_after } => {
                s.stats.throttled += 1;
                if let Some(wait) = retry_after {
                    let until = Instant::now() + wait;
                    s.hold_until = Some(s.hold_until.map_or(until, |h| h.max(until)));
                }
                if self.ceiling.is_none() || epoch != s.epoch {
                    return;
                }
                s.epoch += 1;
                s.slow_start = false;
                s.rate = (s.rate * DECREASE).max(FLOOR.min(s.rate));
            }
            GateAnswer::Other => return,
        }
        let rate = s.rate;
        s.stats.rate = rate;
        s.stats.peak_rate = s.stats.peak_rate.max(rate);
        s.stats.min_rate = s.stats.min_rate.min(rate);
    }

    /// The figures so far.
    pub(crate) fn stats(&self) -> RateStats {
        lock(&self.state).stats
    }

    /// The ceiling, requests per second (0: not paced).
    pub(crate) fn ceiling(&self) -> f64 {
        self.ceiling.unwrap_or(0.0)
    }
}

/// The run's pace per service: the gate every HTTP request of the run's cloud client goes
/// through, its pollers' lists and its steps' calls alike (one account per run, so one pace
/// per service is one per account).
#[derive(Debug)]
pub(crate) struct Rates {
    sms: AdaptiveRate,
    dcs: AdaptiveRate,
}

impl Rates {
    /// Each service starting at `start` requests per second, never above `ceiling`.
    pub(crate) fn new(ceiling: f64, start: f64) -> Self {
        Rates {
            sms: AdaptiveRate::new(ceiling, start),
            dcs: AdaptiveRate::new(ceiling, start),
        }
    }

    fn of(&self, service: Service) -> &AdaptiveRate {
        match service {
            Service::Sms => &self.sms,
            Service::Dcs => &self.dcs,
        }
    }

    /// The figures of each service that was sent requests.
    pub(crate) fn summary(&self) -> Vec<RateSummary> {
        [Service::Sms, Service::Dcs]
            .into_iter()
            .filter_map(|service| {
                let r = self.of(service);
                let s = r.stats();
                (s.requests > 0).then(|| RateSummary {
                    service: service.to_string(),
                    requests: s.requests,
                    throttled: s.throttled,
                    rate: s.rate,
                    peak_rate: s.peak_rate,
                    min_rate: s.min_rate,
                    ceiling: r.ceiling(),
                })
            })
            .collect()
    }
}

impl RequestGate for Rates {
    fn admit(&self, service: Service) -> Pin<Box<dyn Future<Output = u64> + Send + '_>> {
        Box::pin(self.of(service).admit())
    }

    fn answered(&self, service: Service, ticket: u64, answer: GateAnswer) {
        self.of(service).answered(ticket, answer);
    }
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
