//! Steps: one API call (or one wait) of one resource, with the live states before and after.

use std::fmt;

use migplan_parser::{ResourceAddr, Stage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A step's identity: `server.db-01#start`, `redis.sessions#wait.migrated`, `wave.a#barrier`.
/// Stable across plans of the same spec and live state.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct StepId(pub String);

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which service a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// SMS v3.
    Sms,
    /// DCS v2.
    Dcs,
}

/// The API call a step makes (for a wait: the list call it polls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApiCall {
    /// Service.
    pub service: Service,
    /// HTTP method.
    pub method: String,
    /// Path template with `{task_id}`, `{project_id}` placeholders.
    pub path: String,
    /// SDK operation name, e.g. `UpdateTaskStatus`.
    pub operation: String,
    /// `operation` field of an SMS action body (`start`, `test`, `cutover`, `clear`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

fn call(
    service: Service,
    method: &str,
    path: &str,
    operation: &str,
    action: Option<&str>,
) -> ApiCall {
    ApiCall {
        service,
        method: method.into(),
        path: path.into(),
        operation: operation.into(),
        action: action.map(Into::into),
    }
}

/// A live field a [`Condition`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiveField {
    /// SMS task `state`.
    TaskState,
    /// SMS source server `state`.
    SourceState,
    /// SMS source server `migration_cycle`.
    MigrationCycle,
    /// DCS migration task `status`.
    DcsStatus,
}

/// An expectation on live state: a step's precondition, or the postcondition it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// No expectation.
    Always,
    /// No live object with the resource's name exists.
    Absent,
    /// The field has one of these values.
    State {
        /// Which field.
        field: LiveField,
        /// Accepted values (wire spelling).
        any_of: Vec<String>,
    },
    /// Any of the conditions holds.
    AnyOf {
        /// The alternatives.
        conditions: Vec<Condition>,
    },
    /// The resource's current stage (derived from live state as `current` shows it) is `stage`
    /// or beyond: a task cut over has reached `tested`. What waits wait for.
    Reached {
        /// The stage.
        #[schemars(with = "String")]
        stage: Stage,
    },
    /// Work toward `stage` has started: it runs, is reached or passed, or failed on the way.
    /// What an action shows once it took effect.
    Toward {
        /// The stage.
        #[schemars(with = "String")]
        stage: Stage,
    },
}

impl Condition {
    /// `field ∈ values`.
    pub fn state(field: LiveField, values: &[&str]) -> Self {
        Condition::State {
            field,
            any_of: values.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    /// What shows that a call whose postcondition is `self` took effect: every stage it
    /// waits to be reached only needs to be under way.
    pub fn started(&self) -> Self {
        match self {
            Condition::Reached { stage } => Condition::Toward { stage: *stage },
            Condition::AnyOf { conditions } => Condition::AnyOf {
                conditions: conditions.iter().map(Condition::started).collect(),
            },
            other => other.clone(),
        }
    }
}

/// Payload of an SMS task action (`start`, `test`, `cutover`, `clear`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskAction {
    /// Live task id; `None` when the task is created earlier in this plan.
    pub task_id: Option<String>,
}

/// Payload of creating an SMS task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateTask {
    /// Task name (= server entry name).
    pub name: String,
    /// Resolved source server id.
    pub source_id: Option<String>,
    /// Resolved template id, when the target is a template.
    pub template_id: Option<String>,
}

/// Payload of an in-place task update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateTask {
    /// Live task id.
    pub task_id: Option<String>,
    /// Fields set, with their plan values.
    pub fields: Vec<(String, String)>,
}

/// Payload of a wait: the step completes when the postcondition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaitFor {
    /// What is waited for, for display (`MIGRATE_SUCCESS`, `TERMINATED`, ...).
    pub until: String,
    /// The service whose list call is polled.
    pub service: Service,
}

/// Payload of creating a DCS online migration task (then waiting for its job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateMigration {
    /// Task name (= Redis entry name).
    pub name: String,
}

/// Payload of a DCS task call (configure, update resume mode, stop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MigrationAction {
    /// Live task id; `None` when created earlier in this plan.
    pub task_id: Option<String>,
}

/// Payload of a wave barrier: waits for every member of `wave`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Barrier {
    /// The wave that must finish.
    pub wave: String,
    /// The wave that waits.
    pub next: String,
}

/// What a step does. Serialized with `"kind"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// `POST /v3/tasks`.
    CreateTask(CreateTask),
    /// `PUT /v3/tasks/{task_id}`.
    UpdateTask(UpdateTask),
    /// Action `start` (also resumes a paused task).
    Start(TaskAction),
    /// Action `start` on a finished copy with `syncing`: one incremental sync round.
    StartSync(TaskAction),
    /// Action `test`: launch the target for a test.
    Test(TaskAction),
    /// Action `cutover`: launch the target for good.
    Cutover(TaskAction),
    /// Action `clear`: clear snapshots and migration resources.
    Clear(TaskAction),
    /// Wait until the postcondition holds (shared poller).
    WaitFor(WaitFor),
    /// `POST /v2/{project_id}/migration/instance`, then wait for its job.
    CreateMigration(CreateMigration),
    /// `POST /v2/{project_id}/migration/{task_id}/task`.
    Configure(MigrationAction),
    /// `PUT /v2/{project_id}/migration-task/{task_id}` (resume mode).
    UpdateMigration(MigrationAction),
    /// `POST /v2/{project_id}/migration-task/{task_id}/stop`.
    StopMigration(MigrationAction),
    /// Wave barrier: no call.
    Barrier(Barrier),
}

/// How a step counts in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepClass {
    /// Creates an object.
    Create,
    /// Updates fields.
    Update,
    /// An action call.
    Action,
    /// A wait.
    Wait,
    /// A barrier (not counted).
    Barrier,
}

impl StepKind {
    /// Short name, also the id suffix.
    pub fn slug(&self) -> &'static str {
        match self {
            StepKind::CreateTask(_) => "create",
            StepKind::UpdateTask(_) => "update",
            StepKind::Start(_) => "start",
            StepKind::StartSync(_) => "start-sync",
            StepKind::Test(_) => "test",
            StepKind::Cutover(_) => "cutover",
            StepKind::Clear(_) => "clear",
            StepKind::WaitFor(_) => "wait",
            StepKind::CreateMigration(_) => "create",
            StepKind::Configure(_) => "configure",
            StepKind::UpdateMigration(_) => "update",
            StepKind::StopMigration(_) => "stop",
            StepKind::Barrier(_) => "barrier",
        }
    }

    /// Summary class.
    pub fn class(&self) -> StepClass {
        match self {
            StepKind::CreateTask(_) | StepKind::CreateMigration(_) => StepClass::Create,
            StepKind::UpdateTask(_) | StepKind::UpdateMigration(_) => StepClass::Update,
            StepKind::WaitFor(_) => StepClass::Wait,
            StepKind::Barrier(_) => StepClass::Barrier,
            _ => StepClass::Action,
        }
    }

    /// Stable symbol: `+` create, `~` update, `>` action, `…` wait, `|` barrier.
    pub fn symbol(&self) -> &'static str {
        match self.class() {
            StepClass::Create => "+",
            StepClass::Update => "~",
            StepClass::Action => ">",
            StepClass::Wait => "…",
            StepClass::Barrier => "|",
        }
    }

    /// Human label: `create task`, `start`, `wait for MIGRATE_SUCCESS`, ...
    pub fn label(&self) -> String {
        match self {
            StepKind::CreateTask(_) => "create SMS task".into(),
            StepKind::UpdateTask(u) => {
                let f: Vec<&str> = u.fields.iter().map(|(k, _)| k.as_str()).collect();
                format!("update {}", f.join(", "))
            }
            StepKind::Start(_) => "start".into(),
            StepKind::StartSync(_) => "start sync round".into(),
            StepKind::Test(_) => "test".into(),
            StepKind::Cutover(_) => "cutover".into(),
            StepKind::Clear(_) => "clear".into(),
            StepKind::WaitFor(w) => format!("wait for {}", w.until),
            StepKind::CreateMigration(_) => "create DCS migration task".into(),
            StepKind::Configure(_) => "configure migration".into(),
            StepKind::UpdateMigration(_) => "update resume_mode".into(),
            StepKind::StopMigration(_) => "stop migration".into(),
            StepKind::Barrier(b) => format!("wave {} done → {}", b.wave, b.next),
        }
    }

    /// The API call the step makes (for a wait: the list call it polls).
    pub fn api(&self) -> Option<ApiCall> {
        use Service::{Dcs, Sms};
        const ACTION: &str = "/v3/tasks/{task_id}/action";
        Some(match self {
            StepKind::CreateTask(_) => call(Sms, "POST", "/v3/tasks", "CreateTask", None),
            StepKind::UpdateTask(_) => call(Sms, "PUT", "/v3/tasks/{task_id}", "UpdateTask", None),
            StepKind::Start(_) | StepKind::StartSync(_) => {
                call(Sms, "POST", ACTION, "UpdateTaskStatus", Some("start"))
            }
            StepKind::Test(_) => call(Sms, "POST", ACTION, "UpdateTaskStatus", Some("test")),
            StepKind::Cutover(_) => call(Sms, "POST", ACTION, "UpdateTaskStatus", Some("cutover")),
            StepKind::Clear(_) => call(Sms, "POST", ACTION, "UpdateTaskStatus", Some("clear")),
            StepKind::WaitFor(w) => match w.service {
                Sms => call(Sms, "GET", "/v3/tasks", "ListTasks", None),
                Dcs => call(
                    Dcs,
                    "GET",
                    "/v2/{project_id}/migration-tasks",
                    "ListMigrationTasks",
                    None,
                ),
            },
            StepKind::CreateMigration(_) => call(
                Dcs,
                "POST",
                "/v2/{project_id}/migration/instance",
                "CreateOnlineMigrationTask",
                None,
            ),
            StepKind::Configure(_) => call(
                Dcs,
                "POST",
                "/v2/{project_id}/migration/{task_id}/task",
                "SetOnlineMigrationTask",
                None,
            ),
            StepKind::UpdateMigration(_) => call(
                Dcs,
                "PUT",
                "/v2/{project_id}/migration-task/{task_id}",
                "UpdateMigrationTask",
                None,
            ),
            StepKind::StopMigration(_) => call(
                Dcs,
                "POST",
                "/v2/{project_id}/migration-task/{task_id}/stop",
                "StopMigrationTask",
                None,
            ),
            StepKind::Barrier(_) => return None,
        })
    }
}

/// One node of the plan's DAG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// Identity. Drives apply.
    pub id: StepId,
    /// The resource it belongs to (`None` for a wave barrier). Drives apply.
    #[schemars(with = "Option<String>")]
    pub resource: Option<ResourceAddr>,
    /// The stage this step moves the resource toward. Drives dependency edges.
    #[schemars(with = "Option<String>")]
    pub stage: Option<Stage>,
    /// What it does. Drives apply.
    #[serde(flatten)]
    pub kind: StepKind,
    /// Human label. Display only.
    pub label: String,
    /// Stable symbol (`+ ~ > … |`). Display only.
    pub symbol: String,
    /// The call it makes (for a wait: the list call polled); `None` for barriers. Display and
    /// audit; apply derives the call from `kind`.
    pub api: Option<ApiCall>,
    /// Live state expected before the step runs. Drives apply (checked before calling).
    pub precondition: Condition,
    /// Live state that marks the step done. Drives apply (waited for).
    pub postcondition: Condition,
    /// Steps that must finish first. Drives apply.
    pub depends_on: Vec<StepId>,
}

impl Step {
    /// A step of `resource` (id `ADDR#slug`, or `ADDR#slug.STAGE` for waits).
    pub fn new(
        resource: &ResourceAddr,
        stage: Stage,
        kind: StepKind,
        precondition: Condition,
        postcondition: Condition,
    ) -> Self {
        let id = match &kind {
            StepKind::WaitFor(_) => format!("{resource}#wait.{stage}"),
            k => format!("{resource}#{}", k.slug()),
        };
        Step {
            id: StepId(id),
            resource: Some(resource.clone()),
            stage: Some(stage),
            label: kind.label(),
            symbol: kind.symbol().into(),
            api: kind.api(),
            kind,
            precondition,
            postcondition,
            depends_on: Vec::new(),
        }
    }

    /// A wave barrier between `wave` and `next`.
    pub fn barrier(wave: &str, next: &str) -> Self {
        let kind = StepKind::Barrier(Barrier {
            wave: wave.into(),
            next: next.into(),
        });
        Step {
            id: StepId(format!("wave.{wave}#barrier")),
            resource: None,
            stage: None,
            label: kind.label(),
            symbol: kind.symbol().into(),
            api: None,
            kind,
            precondition: Condition::Always,
            postcondition: Condition::Always,
            depends_on: Vec::new(),
        }
    }
}
