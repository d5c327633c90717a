//! The forecast `plan`, `apply` and `status` show: the executor's pure simulation
//! ([`migplan_executor::forecast`]) under the apply flags given, in the target's clock (the
//! `--local` emulator's runs faster than this host's: flags in real time are scaled to it).

use std::time::{Duration, SystemTime};

use migplan_executor::forecast::ForecastOptions;
use migplan_parser::Spec;
use migplan_planner::{LiveSnapshot, Plan};

/// The apply a forecast assumes, as its flags say (real time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assumed {
    pub parallelism: u32,
    pub wait_timeout: Option<Duration>,
    pub poll_interval: Duration,
    pub rate_limit: f64,
    /// `wait_timeout` is the CI job's own limit (`CI_JOB_TIMEOUT`), no `--wait-timeout` given.
    pub job_limit: bool,
}

impl Assumed {
    /// What `plan`'s and `status`' flags say (`local`: the `--local` defaults).
    pub fn of(f: &crate::cli::ForecastArgs, local: bool) -> Assumed {
        let (wait_timeout, job_limit) = limit(f.wait_timeout);
        Assumed {
            parallelism: f.parallelism,
            job_limit,
            wait_timeout,
            poll_interval: f
                .poll_interval
                .unwrap_or_else(|| default_poll_interval(local)),
            rate_limit: f.rate_limit,
        }
    }
}

/// The limit a run works under: `--wait-timeout`, else a declared CI job limit (GitLab's
/// `CI_JOB_TIMEOUT`, seconds, where the job is ended: `true`).
pub fn limit(wait_timeout: Option<Duration>) -> (Option<Duration>, bool) {
    if wait_timeout.is_some() {
        return (wait_timeout, false);
    }
    let job = std::env::var("CI_JOB_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(Duration::from_secs);
    (job, job.is_some())
}

/// Apply's poll interval when not given: 10 s, 200 ms with `--local`.
pub fn default_poll_interval(local: bool) -> Duration {
    if local {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(10)
    }
}

/// Fills `plan.forecast` and its resources' ETAs and queue places. `time_scale`: seconds of
/// the target's clock per second here; `now`: the target's time, when its answers said it.
pub fn attach(
    plan: &mut Plan,
    spec: &Spec,
    live: &LiveSnapshot,
    assumed: &Assumed,
    time_scale: f64,
    now: Option<SystemTime>,
) {
    let scaled_ms = |d: Duration| (d.as_secs_f64() * 1000.0 * time_scale) as u64;
    let opts = ForecastOptions {
        parallelism: assumed.parallelism as usize,
        requests_per_second: assumed.rate_limit / time_scale,
        poll_interval_ms: scaled_ms(assumed.poll_interval),
        wait_timeout_ms: assumed.wait_timeout.map(scaled_ms),
        now: now.and_then(|t| jiff::Timestamp::try_from(t).ok()),
    };
    // Only a plan whose steps point at missing steps cannot be simulated; a planner's never
    // does, and a forecast is only shown: without one, the plan is shown without it.
    let _ = migplan_executor::forecast::attach(plan, spec, live, &opts);
    if let Some(d) = plan.forecast.as_mut().and_then(|f| f.detach.as_mut()) {
        d.job_limit = assumed.job_limit;
    }
}
