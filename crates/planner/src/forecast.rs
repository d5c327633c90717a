//! What the plan records about the account's quota (drives apply), and the forecast of how
//! long apply takes (display only). Types only: the quota figures are decided in
//! [`plan`](crate::plan()); the forecast is computed by the executor's pure simulation of its
//! own scheduler (`migplan_executor::forecast`) and attached to the plan by the CLI.
//!
//! Every time in a forecast is in seconds of the cloud's clock from the start of apply.

use migplan_wire::sms::TaskState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::snapshot::LiveSnapshot;
use crate::step::StepId;

/// The account limit apply runs under, and what already uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaPlan {
    /// `cloud.quotas.sms_concurrent_migrations`: SMS migrations (full copies, sync rounds)
    /// the account runs at once. Drives apply: a `start`, sync round or `restart` is sent only
    /// while fewer run, counting every task the polls show migrating.
    pub sms_concurrent_migrations: u32,
    /// SMS migrations that ran in the account when the plan was made and are not this plan's
    /// (tasks `RUNNING`, `SYNCING` or `SKIPPING` that no resource of the plan matched).
    /// Display only (apply counts again from its own polls).
    pub sms_running_elsewhere: u32,
}

/// Whether an SMS task in `state` is a running migration: it holds one of the account's
/// concurrent migrations (a full copy, a sync round, or the few seconds a skipped
/// consistency check takes).
pub fn is_migrating(state: Option<&TaskState>) -> bool {
    matches!(
        state,
        Some(TaskState::Running | TaskState::Syncing | TaskState::Skipping)
    )
}

impl QuotaPlan {
    /// The quota and the migrations in `live` whose task id is not one of `ours`.
    pub fn of<'a>(
        sms_concurrent_migrations: u32,
        live: &LiveSnapshot,
        ours: impl IntoIterator<Item = &'a str>,
    ) -> QuotaPlan {
        let ours: std::collections::HashSet<&str> = ours.into_iter().collect();
        let elsewhere = live
            .tasks
            .iter()
            .filter(|t| is_migrating(t.state.as_ref()) && !ours.contains(t.id.as_str()))
            .count();
        QuotaPlan {
            sms_concurrent_migrations,
            sms_running_elsewhere: u32::try_from(elsewhere).unwrap_or(u32::MAX),
        }
    }
}

/// How long apply is expected to take. Display only: apply never reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Forecast {
    /// Seconds of the cloud's clock from the start of apply until the last step ends, under
    /// the dependencies, waves and their caps, `--parallelism`, the SMS quota and the request
    /// rate. `None` when apply cannot finish on its own: the quota is taken by migrations that
    /// do not end (see `waits_on_quota`).
    pub makespan_seconds: Option<u64>,
    /// When apply would end if it started now (RFC 3339, the cloud's clock as its answers'
    /// `Date` headers tell it), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_at: Option<String>,
    /// The steps the end waits on, first to last: each one started when the one before it
    /// ended (a dependency, the same resource, or the quota slot it freed).
    pub critical_path: Vec<CriticalStep>,
    /// Resources whose copy waits for a free slot of the SMS quota at some point.
    #[serde(default)]
    pub queued: u32,
    /// What the figures assume.
    pub assumptions: Assumptions,
    /// Where apply stops watching under `--wait-timeout`, when it comes before the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach: Option<Detach>,
}

/// One step of the critical path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CriticalStep {
    /// The step.
    pub step: StepId,
    /// Its label (`wait for MIGRATE_SUCCESS`).
    pub label: String,
    /// When it starts.
    pub start_seconds: u64,
    /// When it ends.
    pub end_seconds: u64,
    /// What it waited for besides its dependencies: `quota` (a free SMS migration slot),
    /// `parallelism`, `wave` (its wave's cap) or `rate` (the request rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited_for: Option<String>,
}

/// The settings a forecast was computed under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Assumptions {
    /// Steps in flight at most (`--parallelism`).
    pub parallelism: u32,
    /// API requests per second of the cloud's clock per service (`None`: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// Seconds between two polls of a service.
    pub poll_interval_seconds: f64,
    /// The SMS quota, and the migrations running elsewhere when planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaPlan>,
}

/// Apply stops watching at `--wait-timeout`; the next run re-attaches and continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Detach {
    /// `--wait-timeout`, in seconds: when apply detaches.
    pub at_seconds: u64,
    /// Steps expected to be under way at that point (left running in the cloud).
    pub in_progress: Vec<StepId>,
    /// Steps that take longer than the timeout on their own: no single run sees them end.
    pub longer_than_timeout: Vec<StepId>,
    /// Runs of `apply` expected until the end (each continues where the last left).
    pub runs: u32,
    /// The limit is the CI job's own timeout (GitLab's `CI_JOB_TIMEOUT`), not
    /// `--wait-timeout`: the job is ended there, so apply should be told to detach earlier.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub job_limit: bool,
}

/// A resource's expected finish and, when its copy waits for the SMS quota, its place in the
/// queue. Display only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QueuePlace {
    /// 1 for the first to get a slot, in the order apply admits copies (longest remaining
    /// critical path first).
    pub place: u32,
    /// When its copy is expected to start.
    pub expected_start_seconds: u64,
}
