//! What the executor reports while it runs: [`Event`]s pushed into an [`EventSink`].
//!
//! # Wire format
//!
//! `migplan apply --format json` writes one event per line, serialized with a `type` tag and
//! these stable names: `apply_start`, `step_started`, `step_progress`, `step_waiting`,
//! `step_completed`, `step_failed`, `step_skipped`, `forecast`, `apply_summary`. Fields are added over
//! time, never renamed. Secrets never appear in events. The CLI adds `request_retried` lines
//! to the same stream (a retry of an API request, from the cloud client's hook: see
//! `crates/cli/src/retries.rs`); they are not executor events.

use serde::Serialize;

/// One thing that happened during an apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The run begins.
    ApplyStart {
        /// The plan's name.
        plan: String,
        /// Steps to run (wave barriers not counted, as in the summary).
        steps: usize,
        /// Resources with steps.
        resources: usize,
        /// `--parallelism`.
        parallelism: usize,
    },
    /// A step was dispatched.
    StepStarted {
        /// Step id, e.g. `server.db-01#start`.
        step: String,
        /// Resource address, e.g. `server.db-01`.
        resource: Option<String>,
        /// Human label, e.g. `start`.
        label: String,
        /// Stable symbol (`+ ~ > … |`).
        symbol: String,
    },
    /// Progress of a waiting step, from the shared poll.
    StepProgress {
        /// Step id.
        step: String,
        /// Resource address.
        resource: Option<String>,
        /// Progress read from the API.
        progress: Progress,
    },
    /// A step made its call (if any) and now waits for its postcondition.
    StepWaiting {
        /// Step id.
        step: String,
        /// Resource address.
        resource: Option<String>,
        /// What it waits for (`MIGRATE_SUCCESS`, `source finished`, ...).
        until: String,
    },
    /// A step reached its postcondition.
    StepCompleted {
        /// Step id.
        step: String,
        /// Resource address.
        resource: Option<String>,
        /// How it ended when not by the plain call (`already done`, `adopted task ...`).
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// Live id learned by a create.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// A step failed.
    StepFailed {
        /// Step id.
        step: String,
        /// Resource address.
        resource: Option<String>,
        /// The failure.
        error: StepError,
    },
    /// A step was not run because a step it depends on failed.
    StepSkipped {
        /// Step id.
        step: String,
        /// Resource address.
        resource: Option<String>,
        /// The failed step (the root cause, named once).
        because: String,
    },
    /// A step was held at a gate: its maintenance window closed (`start_before`), its data
    /// comparison did not pass, or a step it waits for was held.
    StepHeld {
        /// Step id.
        step: String,
        /// Resource address.
        resource: Option<String>,
        /// Why, e.g. `its maintenance window closed at 2026-11-28T05:00+01:00`.
        reason: String,
    },
    /// The end of the run, re-estimated from live progress (the forecast's simulation from
    /// where the run stands): at the start, then as polls and steps move it.
    Forecast {
        /// Seconds of the cloud's clock until the last step ends; `None` when the run cannot
        /// end on its own (the quota is held by migrations that do not end).
        eta_seconds: Option<u64>,
        /// Copies waiting now for a slot of the SMS quota.
        queued: usize,
    },
    /// The run ended.
    ApplySummary(Summary),
}

/// Why a step failed: the API's error code and message when the API said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepError {
    /// API error code (`SMS.1039`, `DCS.4957`, ...), when there is one.
    pub code: Option<String>,
    /// The message.
    pub message: String,
    /// The API's request id (`X-Request-Id`) of the failed call, when there was one: what
    /// the provider's support asks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl StepError {
    /// An error without an API code.
    pub fn new(message: impl Into<String>) -> Self {
        StepError {
            code: None,
            message: message.into(),
            request_id: None,
        }
    }

    /// From a cloud error: its code and its display text.
    pub(crate) fn from_cloud(e: &migplan_cloud::Error) -> Self {
        let message = match &*e.kind {
            migplan_cloud::ErrorKind::Api { message, .. } => message.clone(),
            _ => e.to_string(),
        };
        StepError {
            code: e.code().map(str::to_owned),
            message,
            request_id: e.request_id.clone(),
        }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Progress of a resource, read from the list calls the pollers make.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Progress {
    /// Live state (`RUNNING`, `FULLMIGRATING`, `testing`, ...).
    pub state: String,
    /// Percent done while copying: the planner's one definition
    /// ([`percent_done`](migplan_planner::current::percent_done)), the figure `plan` and
    /// `status` show in the current stage too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    /// The running subtask, e.g. `MIGRATE_BLOCK`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtask: Option<String>,
    /// `migrate_speed`, Mbit/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<f64>,
    /// `remain_seconds`: the service's estimate of the time left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<i64>,
}

/// A step in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRef {
    /// Step id.
    pub step: String,
    /// Resource address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// A failed step in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedStep {
    /// Step id.
    pub step: String,
    /// Resource address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The failure.
    pub error: StepError,
}

/// A skipped step in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedStep {
    /// Step id.
    pub step: String,
    /// Resource address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The failed step it depends on.
    pub because: String,
}

/// A step still running in the cloud when the run stopped watching it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InProgressStep {
    /// Step id.
    pub step: String,
    /// Resource address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Last progress seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

/// A step not started (it waits on a step in progress, or the run was stopped).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingStep {
    /// Step id.
    pub step: String,
    /// Resource address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The unfinished step it waits for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
}

/// A step held at a gate: its maintenance window closed, a data comparison did not pass, or
/// a step it waits for was held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldStep {
    /// Step id.
    pub step: String,
    /// Resource address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Why.
    pub reason: String,
}

/// How the run ended overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step reached its postcondition.
    Complete,
    /// Some step failed.
    Failed,
    /// `--wait-timeout` elapsed with work still in progress.
    TimedOut,
    /// Ctrl-C: dispatching stopped, in-flight calls finished.
    Interrupted,
    /// Everything else ended; some steps were held at a gate (a closed maintenance window, a
    /// data comparison that failed or could not tell).
    Held,
}

/// The end of a run: what was done, failed, skipped, and is still in progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Overall status (drives the exit code).
    pub status: RunStatus,
    /// Steps done (barriers not counted).
    pub done: Vec<StepRef>,
    /// Steps failed, with the API's code and message.
    pub failed: Vec<FailedStep>,
    /// Steps skipped because a dependency failed.
    pub skipped: Vec<SkippedStep>,
    /// Steps held at a gate (drives exit code 3).
    pub held: Vec<HeldStep>,
    /// Steps still running in the cloud.
    pub in_progress: Vec<InProgressStep>,
    /// Steps not started.
    pub not_started: Vec<PendingStep>,
    /// API calls made by this run, all routes (pollers included).
    pub api_calls: u64,
    /// Wall-clock duration of the run, in seconds.
    pub elapsed_seconds: f64,
    /// The request pace of each service the run sent requests to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<RateSummary>,
}

/// One service's request pace over a run: adaptive, under the `--rate-limit` ceiling (see the
/// executor's `rate` module).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateSummary {
    /// `SMS` or `DCS`.
    pub service: String,
    /// HTTP requests sent (list pages and retries included).
    pub requests: u64,
    /// Of which answered 429 (throttled).
    pub throttled: u64,
    /// Requests per second at the end of the run (0: not paced).
    pub rate: f64,
    /// The highest rate of the run.
    pub peak_rate: f64,
    /// The lowest rate of the run.
    pub min_rate: f64,
    /// The ceiling, requests per second (`--rate-limit`; 0: none).
    pub ceiling: f64,
}

/// Receives events. Implementations render them (bars, log lines, JSON Lines) or count them.
///
/// The executor calls it from its single owner loop, in order, never concurrently.
pub trait EventSink {
    /// One event.
    fn on_event(&self, event: &Event);
}

/// A sink that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl EventSink for NullSink {
    fn on_event(&self, _: &Event) {}
}

/// A sink that keeps every event (for tests).
#[derive(Debug, Default)]
pub struct VecSink(pub std::sync::Mutex<Vec<Event>>);

impl VecSink {
    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl EventSink for VecSink {
    fn on_event(&self, event: &Event) {
        if let Ok(mut v) = self.0.lock() {
            v.push(event.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cloud_error_keeps_its_request_id_for_the_journal() {
        let mut e = migplan_cloud::Error::new(migplan_cloud::ErrorKind::Api {
            status: 400,
            code: Some("SMS.1038".into()),
            message: "bad".into(),
        });
        e.request_id = Some("rid-42".into());
        let s = StepError::from_cloud(&e);
        assert_eq!(s.request_id.as_deref(), Some("rid-42"));
        assert_eq!(s.code.as_deref(), Some("SMS.1038"));
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["request_id"], "rid-42");
        // Absent, it is left out of the event (fields are added, never renamed).
        let json = serde_json::to_value(StepError::new("x")).expect("json");
        assert!(json.get("request_id").is_none());
    }

    #[test]
    fn events_have_stable_snake_case_type_tags() {
        let e = Event::StepFailed {
            step: "server.a#start".into(),
            resource: Some("server.a".into()),
            error: StepError {
                code: Some("SMS.1039".into()),
                message: "no".into(),
                request_id: None,
            },
        };
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["type"], "step_failed");
        assert_eq!(v["error"]["code"], "SMS.1039");
        let s = Event::ApplySummary(Summary {
            status: RunStatus::TimedOut,
            done: vec![],
            failed: vec![],
            skipped: vec![],
            held: vec![],
            in_progress: vec![],
            not_started: vec![],
            api_calls: 3,
            elapsed_seconds: 0.5,
            rates: vec![],
        });
        let v = serde_json::to_value(&s).expect("json");
        assert_eq!(v["type"], "apply_summary");
        assert_eq!(v["status"], "timed_out");
    }
}
