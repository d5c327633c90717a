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
//!   rate grows e-fold, ×2.7, per second: from 10 to 100 in 2.3 s); after it, +1 req/s per
//!   second-equivalent of requests (`+1 / rate` each), and only +0.2 req/s per second within
//!   5 % below the limit the last throttling answer showed (that limit is probed slowly, as
//!   every probe past it costs a `Retry-After`; past it, +1 req/s per second again).
//! - **Decrease**, on a throttling answer (429 / `APIG.0308`): the limit it shows is the
//!   number of requests accepted in the second before it (the rate, if that is lower); the
//!   rate becomes ×0.9 that limit, at least 1 req/s. Cutting from what the gateway accepted,
//!   not from the rate asked, makes one cut enough after a slow-start overshoot or a limit
//!   that dropped. Once per episode: answers to requests admitted before the last cut do not
//!   cut again.
//! - **`Retry-After`**: no request to the service is admitted before it has passed (each
//!   throttling answer thus costs a pause of the whole service, hence the slow probing).
//! - **Ceiling**: the rate never exceeds `--rate-limit` (default 100). A ceiling of 0 paces
//!   nothing (requests are still counted and `Retry-After` still honoured).

use std::collections::VecDeque;
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
/// What a decrease multiplies the limit a throttling answer showed by.
const DECREASE: f64 = 0.9;
/// Below the known limit by at most this share, the rate grows slowly ...
const NEAR: f64 = 0.05;
/// ... by this many req/s per second at full pace.
const PROBE: f64 = 0.2;
/// The window the accepted requests are counted in.
const SECOND: Duration = Duration::from_secs(1);

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

/// The AIMD arithmetic of one service, apart from pacing and clocks (see the module docs).
#[derive(Debug, Clone, PartialEq)]
struct Aimd {
    rate: f64,
    ceiling: f64,
    slow_start: bool,
    /// The limit the last throttling answer showed.
    limit: Option<f64>,
}

impl Aimd {
    /// An accepted request that waited for its slot.
    fn accepted(&mut self) {
        let step = if self.slow_start {
            1.0
        } else if self
            .limit
            .is_some_and(|l| self.rate >= l * (1.0 - NEAR) && self.rate < l)
        {
            PROBE / self.rate
        } else {
            1.0 / self.rate
        };
        self.rate = (self.rate + step).min(self.ceiling);
    }

    /// A throttling answer, `accepted` requests having been accepted in the second before it.
    fn throttled(&mut self, accepted: usize) {
        let shown = if accepted > 0 {
            self.rate.min(accepted as f64)
        } else {
            self.rate
        };
        self.slow_start = false;
        self.limit = Some(shown);
        self.rate = (shown * DECREASE).max(FLOOR.min(self.rate));
    }
}

#[derive(Debug)]
struct State {
    aimd: Aimd,
    /// When the requests accepted in the last second were answered.
    accepted: VecDeque<Instant>,
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

/// Drops the instants more than a second before `now`.
fn forget_before(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|t| *t + SECOND <= now) {
        times.pop_front();
    }
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
                aimd: Aimd {
                    rate,
                    ceiling: ceiling.unwrap_or(0.0),
                    slow_start: true,
                    limit: None,
                },
                accepted: VecDeque::new(),
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
        let slot = loop {
            let now = Instant::now();
            // The earliest instant allowed: after `Retry-After`, one interval after the last.
            let slot = {
                let s = lock(&self.state);
                let paced = match (self.ceiling, s.last) {
                    (Some(_), Some(last)) => {
                        Some(last + Duration::from_secs_f64(1.0 / s.aimd.rate))
                    }
                    _ => None,
                };
                match (s.hold_until, paced) {
                    (Some(h), Some(p)) => h.max(p),
                    (h, p) => h.or(p).unwrap_or(now),
                }
            };
            if slot <= now {
                // A request that waited takes its slot as scheduled: the timer wakes up to a
                // millisecond late, and that lateness must not add up into a slower pace.
                break if waited { slot } else { now };
            }
            waited = true;
            // Woken at the slot of the rate of the moment; a `Retry-After` or a cut that came
            // meanwhile moves it, so look again.
            tokio::time::sleep_until(slot).await;
        };
        let mut s = lock(&self.state);
        s.last = Some(slot);
        s.stats.requests += 1;
        (s.epoch << 1) | u64::from(waited)
    }

    /// The answer to the request admitted with `ticket`.
    pub(crate) fn answered(&self, ticket: u64, answer: GateAnswer) {
        let (epoch, waited) = (ticket >> 1, ticket & 1 == 1);
        let mut s = lock(&self.state);
        match answer {
            GateAnswer::Accepted => {
                if self.ceiling.is_none() {
                    return;
                }
                let now = Instant::now();
                s.accepted.push_back(now);
                forget_before(&mut s.accepted, now);
                if !waited {
                    return;
                }
                s.aimd.accepted();
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
                forget_before(&mut s.accepted, Instant::now());
                let accepted = s.accepted.len();
                s.aimd.throttled(accepted);
            }
            GateAnswer::Other => return,
        }
        let rate = s.aimd.rate;
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
