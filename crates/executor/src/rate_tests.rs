//! The adaptive pace on tokio's paused clock: every figure is exact, no wall-clock timing.

use super::*;
use migplan_cloud::GateAnswer::{Accepted, Other, Throttled};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Admits `n` requests back to back and answers each as `answer` right away; returns the
/// instants they were admitted at, from `t0`.
async fn run(r: &AdaptiveRate, n: usize, answer: GateAnswer) -> Vec<Duration> {
    let t0 = Instant::now();
    let mut at = Vec::new();
    for _ in 0..n {
        let ticket = r.admit().await;
        at.push(Instant::now() - t0);
        r.answered(ticket, answer);
    }
    at
}

#[tokio::test(start_paused = true)]
async fn starts_at_ten_per_second_and_grows_e_fold_per_second_in_slow_start() {
    let r = AdaptiveRate::new(100.0, START_RATE);
    assert_eq!(r.stats().rate, 10.0);
    let at = run(&r, 4, Accepted).await;
    // The first goes at once (it waited for nothing: no increase); then 1/10, 1/11, 1/12 s
    // (the timer rounds up to the millisecond).
    assert_eq!(at[0], Duration::ZERO);
    assert_eq!(at[1], ms(100));
    assert_eq!(at[2] - at[1], ms(91));
    assert_eq!(at[3] - at[2], ms(84));
    assert_eq!(r.stats().rate, 13.0);
    // +1 per request at full pace: dr/dt = r, so a second of traffic multiplies it by e.
    let t0 = Instant::now();
    let mut n = 0;
    while Instant::now() - t0 < Duration::from_secs(1) {
        run(&r, 1, Accepted).await;
        n += 1;
    }
    let s = r.stats();
    assert_eq!(s.rate, 13.0 + f64::from(n));
    assert!((33.0..=37.0).contains(&s.rate), "{s:?}");
    assert_eq!((s.requests, s.throttled), (4 + n as u64, 0));
}

#[tokio::test(start_paused = true)]
async fn the_timer_s_millisecond_rounding_does_not_slow_the_pace() {
    // 1/48 s is 20.83 ms; woken at 21 ms each time, a pace counted from the wake-ups would
    // need 10.08 s for 481 requests instead of 10.
    let r = AdaptiveRate::new(48.0, 48.0);
    let at = run(&r, 481, Accepted).await;
    let last = at[480];
    assert!(
        last >= Duration::from_secs(10) && last <= Duration::from_millis(10_001),
        "{last:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn never_above_the_ceiling_and_a_lower_ceiling_is_the_start() {
    let r = AdaptiveRate::new(20.0, START_RATE);
    run(&r, 50, Accepted).await;
    assert_eq!(r.stats().rate, 20.0);
    assert_eq!(r.stats().peak_rate, 20.0);
    let at = run(&r, 3, Accepted).await;
    assert_eq!(at[2] - at[1], ms(50));
    let r = AdaptiveRate::new(4.0, START_RATE);
    assert_eq!(r.stats().rate, 4.0);
}

fn aimd(rate: f64) -> Aimd {
    Aimd {
        rate,
        ceiling: 100.0,
        slow_start: false,
        limit: None,
    }
}

#[test]
fn a_429_cuts_to_nine_tenths_of_what_the_gateway_accepted() {
    // Slow start overshot to 84/s; the gateway took 50 in the last second.
    let mut a = Aimd {
        slow_start: true,
        ..aimd(84.0)
    };
    a.accepted();
    assert_eq!(a.rate, 85.0, "slow start: +1 per request");
    a.throttled(50);
    assert_eq!((a.rate, a.limit, a.slow_start), (45.0, Some(50.0), false));
    // Nothing accepted in the last second (or more than the rate): the rate is what it showed.
    let mut a = aimd(40.0);
    a.throttled(0);
    assert_eq!(a.rate, 36.0);
    a.throttled(70);
    assert_eq!(a.rate, 36.0 * 0.9);
    // Never below 1 req/s.
    let mut a = aimd(3.0);
    for _ in 0..20 {
        a.throttled(1);
    }
    assert_eq!(a.rate, 1.0);
}

#[test]
fn after_a_cut_the_rate_grows_one_per_second_and_slowly_near_the_limit_shown() {
    let mut a = aimd(45.0);
    a.limit = Some(50.0);
    // A second of requests at full pace: +1 req/s.
    let mut n = 0;
    while a.rate < 46.0 {
        a.accepted();
        n += 1;
    }
    assert!((45..=46).contains(&n), "{n}");
    // Within 5 % below 50: +0.2 req/s per second, so 2.5 req/s take about 12 s of traffic.
    while a.rate < 47.5 {
        a.accepted();
    }
    let mut n = 0;
    while a.rate < 50.0 {
        a.accepted();
        n += 1;
    }
    assert!((590..=610).contains(&n), "{n}");
    // Past the limit shown, +1 req/s per second again; never above the ceiling.
    let mut n = 0;
    while a.rate < 51.0 {
        a.accepted();
        n += 1;
    }
    assert!((50..=51).contains(&n), "{n}");
    a.rate = 99.99;
    a.accepted();
    assert_eq!(a.rate, 100.0);
}

#[tokio::test(start_paused = true)]
async fn answers_in_flight_cut_once_and_the_limit_is_counted_over_the_last_second() {
    let r = AdaptiveRate::new(100.0, 40.0);
    // 20 accepted over half a second, then three in flight meet the gateway's limit.
    run(&r, 20, Accepted).await;
    let tickets = [r.admit().await, r.admit().await, r.admit().await];
    for t in tickets {
        r.answered(t, Throttled { retry_after: None });
    }
    let s = r.stats();
    assert_eq!((s.rate, s.min_rate, s.throttled), (18.0, 18.0, 3));
    // A second later nothing was accepted in the last second: the next cut starts from the rate.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = r.admit().await;
    r.answered(t, Throttled { retry_after: None });
    assert_eq!(r.stats().rate, 18.0 * 0.9);
    assert_eq!(r.stats().peak_rate, 40.0 + 19.0);
}

#[tokio::test(start_paused = true)]
async fn retry_after_holds_every_request_until_it_has_passed() {
    let r = AdaptiveRate::new(100.0, 50.0);
    let t0 = Instant::now();
    let t = r.admit().await;
    r.answered(
        t,
        Throttled {
            retry_after: Some(Duration::from_secs(3)),
        },
    );
    let t = r.admit().await;
    assert_eq!(Instant::now() - t0, Duration::from_secs(3));
    r.answered(t, Accepted);
    // An unpaced service honours it too.
    let r = AdaptiveRate::new(0.0, START_RATE);
    let t = r.admit().await;
    r.answered(
        t,
        Throttled {
            retry_after: Some(ms(1500)),
        },
    );
    let t0 = Instant::now();
    run(&r, 1, Accepted).await;
    assert_eq!(Instant::now() - t0, ms(1500));
}

#[tokio::test(start_paused = true)]
async fn idle_requests_and_other_answers_do_not_move_the_rate() {
    let r = AdaptiveRate::new(100.0, START_RATE);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        run(&r, 1, Accepted).await; // never had to wait for its slot
    }
    run(&r, 3, Other).await;
    assert_eq!(r.stats().rate, 10.0);
    assert_eq!(r.stats().requests, 8);
}

#[tokio::test(start_paused = true)]
async fn without_a_ceiling_nothing_waits() {
    let r = AdaptiveRate::new(0.0, START_RATE);
    let at = run(&r, 100, Accepted).await;
    assert_eq!(at[99], Duration::ZERO);
    assert_eq!(r.stats().rate, 0.0);
    assert_eq!(r.ceiling(), 0.0);
}

#[tokio::test(start_paused = true)]
async fn the_gate_keeps_one_pace_per_service_and_reports_the_used_ones() {
    let rates = Rates::new(100.0, START_RATE);
    let t = rates.admit(Service::Sms).await;
    rates.answered(Service::Sms, t, Throttled { retry_after: None });
    let t = rates.admit(Service::Sms).await;
    rates.answered(Service::Sms, t, Accepted);
    let summary = rates.summary();
    assert_eq!(summary.len(), 1, "DCS sent nothing: {summary:?}");
    let sms = &summary[0];
    // Cut to 9 (nothing was accepted before: the limit shown is the rate, 10), then +1/9 for
    // the request that waited its slot.
    assert_eq!(
        (sms.service.as_str(), sms.requests, sms.throttled),
        ("SMS", 2, 1)
    );
    assert!((sms.rate - (9.0 + 1.0 / 9.0)).abs() < 1e-9, "{sms:?}");
    assert_eq!(
        (sms.peak_rate, sms.min_rate, sms.ceiling),
        (10.0, 9.0, 100.0)
    );
    assert_eq!(rates.dcs.stats().rate, 10.0);
}
