//! [`Call`]: the one API call a step makes, typed, with what it needs from the plan. The
//! executor dispatches on it once; the displayed [`ApiCall`] is derived from it.

use migplan_wire::sms::{MigrationCycle, Operation, SourceState};

use crate::step::{ApiCall, Service};

/// The API call a step makes (for a wait: the service it polls). Derived from the step's kind
/// ([`KindSpec::call`](crate::kinds::KindSpec::call)); apply dispatches on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// No call (a wave barrier).
    None,
    /// No call of its own: wait on the service's shared poll until the postcondition holds.
    Poll {
        /// The service polled.
        service: Service,
        /// What is waited for, for display (`MIGRATE_SUCCESS`).
        until: String,
    },
    /// `POST /v3/tasks` (body from the plan file's entry).
    SmsCreateTask {
        /// Resolved source server id.
        source_id: Option<String>,
        /// Resolved template id.
        template_id: Option<String>,
    },
    /// `PUT /v3/tasks/{task_id}` with these fields `(field, plan value)`.
    SmsUpdateTask {
        /// Fields set.
        fields: Vec<(String, String)>,
    },
    /// `POST /v3/tasks/{task_id}/action`.
    SmsAction {
        /// The `operation`.
        operation: Operation,
        /// `template_id` (for `clone_test`).
        template_id: Option<String>,
    },
    /// `PUT /v3/sources/{source_id}/changestate`.
    SmsChangeState {
        /// The source server.
        source_id: Option<String>,
        /// New `copystate`.
        copystate: SourceState,
        /// New `migrationcycle`.
        migrationcycle: Option<MigrationCycle>,
    },
    /// `POST /v2/{project_id}/migration/instance`, then wait for the task to exist.
    DcsCreate,
    /// `POST /v2/{project_id}/migration/{task_id}/task` (passwords resolved at call time).
    DcsConfigure,
    /// `PUT /v2/{project_id}/migration-task/{task_id}` (resume mode).
    DcsUpdateResumeMode,
    /// `POST /v2/{project_id}/migration-task/{task_id}/stop`.
    DcsStop,
    /// Action `start` for a final sync round, sent only when the last finished round is older
    /// than `max_age_seconds` by the cloud's clock.
    SmsFinalSync {
        /// The greatest age allowed.
        max_age_seconds: u32,
    },
    /// `GET /v3/tasks/{task_id}/consistency-result`: the cutover gate of
    /// `consistency_check: true`.
    SmsConsistency,
    /// Compare source and target Redis (stage `verified`): migplan connects to both; an
    /// instance id's address is read from the DCS instance API first.
    RedisVerify(Box<crate::kinds::Verify>),
}

fn api(service: Service, method: &str, path: &str, operation: &str) -> ApiCall {
    ApiCall {
        service,
        method: method.into(),
        path: path.into(),
        operation: operation.into(),
        action: None,
    }
}

impl Call {
    /// The service it goes to (`None` for no call).
    pub fn service(&self) -> Option<Service> {
        self.api().map(|a| a.service)
    }

    /// The call as shown: method, path template, SDK operation, action.
    pub fn api(&self) -> Option<ApiCall> {
        use Service::{Dcs, Sms};
        Some(match self {
            Call::None => return None,
            // No write: at most `GET /v2/{project_id}/instances/{instance_id}` for an address.
            Call::RedisVerify(v) if v.source.address.is_some() && v.target.address.is_some() => {
                return None;
            }
            Call::RedisVerify(_) => api(
                Dcs,
                "GET",
                "/v2/{project_id}/instances/{instance_id}",
                "ShowInstance",
            ),
            Call::Poll { service: Sms, .. } => api(Sms, "GET", "/v3/tasks", "ListTasks"),
            Call::Poll { service: Dcs, .. } => api(
                Dcs,
                "GET",
                "/v2/{project_id}/migration-tasks",
                "ListMigrationTasks",
            ),
            Call::SmsCreateTask { .. } => api(Sms, "POST", "/v3/tasks", "CreateTask"),
            Call::SmsUpdateTask { .. } => api(Sms, "PUT", "/v3/tasks/{task_id}", "UpdateTask"),
            Call::SmsFinalSync { .. } => ApiCall {
                action: Some(Operation::Start.as_str().to_string()),
                ..api(
                    Sms,
                    "POST",
                    "/v3/tasks/{task_id}/action",
                    "UpdateTaskStatus",
                )
            },
            Call::SmsConsistency => api(
                Sms,
                "GET",
                "/v3/tasks/{task_id}/consistency-result",
                "ShowConsistencyResult",
            ),
            Call::SmsAction { operation, .. } => ApiCall {
                action: Some(operation.as_str().to_string()),
                ..api(
                    Sms,
                    "POST",
                    "/v3/tasks/{task_id}/action",
                    "UpdateTaskStatus",
                )
            },
            Call::SmsChangeState { .. } => api(
                Sms,
                "PUT",
                "/v3/sources/{source_id}/changestate",
                "UpdateCopyState",
            ),
            Call::DcsCreate => api(
                Dcs,
                "POST",
                "/v2/{project_id}/migration/instance",
                "CreateOnlineMigrationTask",
            ),
            Call::DcsConfigure => api(
                Dcs,
                "POST",
                "/v2/{project_id}/migration/{task_id}/task",
                "SetOnlineMigrationTask",
            ),
            Call::DcsUpdateResumeMode => api(
                Dcs,
                "PUT",
                "/v2/{project_id}/migration-task/{task_id}",
                "UpdateMigrationTask",
            ),
            Call::DcsStop => api(
                Dcs,
                "POST",
                "/v2/{project_id}/migration-task/{task_id}/stop",
                "StopMigrationTask",
            ),
        })
    }
}
