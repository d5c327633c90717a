//! Steps: one API call (or one wait) of one resource, with the live states before, as its
//! effect, and after. What each kind does is defined once, in its module under
//! [`kinds`](crate::kinds); a [`Step`] is a kind placed at a stage of a resource.

use std::fmt;

use migplan_parser::{ResourceAddr, Stage};
use migplan_wire::dcs::MigrationStatus;
use migplan_wire::sms::{SourceState, TaskState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::call::Call;
pub use crate::kinds::*;

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

/// A live field, for reading and showing live state (the executor's views use it; conditions
/// name their field by their variant).
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

/// An expectation on live state: a step's precondition, the effect that shows its call was
/// made, or the postcondition it waits for. States are the wire types (open enums), never
/// free strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// No expectation.
    Always,
    /// No live object with the resource's name exists.
    Absent,
    /// The SMS task `state` is one of these.
    TaskState {
        /// Accepted values.
        #[schemars(with = "Vec<String>")]
        any_of: Vec<TaskState>,
    },
    /// The SMS source server `state` is one of these.
    SourceState {
        /// Accepted values.
        #[schemars(with = "Vec<String>")]
        any_of: Vec<SourceState>,
    },
    /// The DCS migration task `status` is one of these.
    DcsStatus {
        /// Accepted values.
        #[schemars(with = "Vec<String>")]
        any_of: Vec<MigrationStatus>,
    },
    /// The SMS task carries a network check result (`network_check_info` with a
    /// `migration_speed`): a check was made, by this run or another.
    NetworkChecked,
    /// The task's last network check measured at least this speed.
    NetworkSpeed {
        /// Lowest accepted `migration_speed`, kbit/s.
        min_kbps: u64,
    },
    /// The task's history records at least this many restarts
    /// ([`restarts_recorded`](crate::current::restarts_recorded)): a restart was made, by
    /// this run or another.
    Restarted {
        /// Restarts recorded, at least.
        at_least: u32,
    },
    /// The task's consistency check (its `CONSISTENCY_CHECK` subtask,
    /// [`consistency_check_running`](crate::current::consistency_check_running)) runs, or not.
    ConsistencyCheck {
        /// Whether it runs.
        running: bool,
    },
    /// Every one of the conditions holds.
    AllOf {
        /// The conditions.
        conditions: Vec<Condition>,
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
    /// The SMS task state is one of `states`.
    pub fn task(states: &[TaskState]) -> Self {
        Condition::TaskState {
            any_of: states.to_vec(),
        }
    }

    /// The SMS source server state is one of `states`.
    pub fn source(states: &[SourceState]) -> Self {
        Condition::SourceState {
            any_of: states.to_vec(),
        }
    }

    /// The DCS task status is one of `states`.
    pub fn dcs(states: &[MigrationStatus]) -> Self {
        Condition::DcsStatus {
            any_of: states.to_vec(),
        }
    }

    /// Whether it requires a network check's measured speed (a gated `start`).
    pub fn needs_network_speed(&self) -> bool {
        match self {
            Condition::NetworkSpeed { .. } => true,
            Condition::AllOf { conditions } | Condition::AnyOf { conditions } => {
                conditions.iter().any(Condition::needs_network_speed)
            }
            _ => false,
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
            Condition::AllOf { conditions } => Condition::AllOf {
                conditions: conditions.iter().map(Condition::started).collect(),
            },
            other => other.clone(),
        }
    }
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
    /// A check that reads and changes nothing in the cloud (a data comparison): it runs on
    /// every apply, and is not a change.
    Check,
    /// A barrier (not counted).
    Barrier,
}

impl StepClass {
    /// Stable symbol: `+` create, `~` update, `>` action, `…` wait, `?` check, `|` barrier.
    pub fn symbol(self) -> &'static str {
        match self {
            StepClass::Create => "+",
            StepClass::Update => "~",
            StepClass::Action => ">",
            StepClass::Wait => "…",
            StepClass::Check => "?",
            StepClass::Barrier => "|",
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
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
    /// What it does. Drives apply (the call is derived from it, see [`StepKind::call`]).
    #[serde(flatten)]
    pub kind: StepKind,
    /// Human label. Display only.
    pub label: String,
    /// Stable symbol (`+ ~ > … |`). Display only.
    pub symbol: String,
    /// The call it makes (for a wait: the list call polled); `None` for barriers. Display and
    /// audit; apply derives the call from `kind`.
    pub api: Option<ApiCall>,
    /// Its effect cannot be undone by migplan (a cutover, a clear, stopping a sync). Display
    /// (and a marker for reviewers); apply does not read it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub irreversible: bool,
    /// Live state expected before the step runs. Drives apply (checked before calling).
    pub precondition: Condition,
    /// Live state that shows the call was made (by this run or another): when it holds, the
    /// call is not sent. Drives apply.
    pub effect: Condition,
    /// Live state that marks the step done. Drives apply (waited for).
    pub postcondition: Condition,
    /// Steps that must finish first. Drives apply.
    pub depends_on: Vec<StepId>,
    /// An irreversible step under a maintenance window that is open at plan time: the window
    /// closes at this instant (RFC 3339), and apply does not start the step from then on.
    /// Drives apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_before: Option<String>,
}

impl Step {
    /// A step of `resource` toward `stage` (id `ADDR#slug`, or `ADDR#slug.STAGE` for waits);
    /// its label, call and conditions come from the kind's module.
    pub fn new(resource: &ResourceAddr, stage: Stage, kind: StepKind) -> Self {
        let k = kind.spec();
        let c = k.conditions(stage);
        Step {
            id: StepId(format!("{resource}#{}", k.id_suffix(stage))),
            resource: Some(resource.clone()),
            stage: Some(stage),
            label: k.label(),
            symbol: k.class().symbol().into(),
            api: k.call().api(),
            irreversible: k.irreversible(),
            precondition: c.pre,
            effect: c.effect,
            postcondition: c.post,
            kind,
            depends_on: Vec::new(),
            start_before: None,
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
            label: kind.spec().label(),
            symbol: StepClass::Barrier.symbol().into(),
            api: None,
            irreversible: false,
            kind,
            precondition: Condition::Always,
            effect: Condition::Always,
            postcondition: Condition::Always,
            depends_on: Vec::new(),
            start_before: None,
        }
    }

    /// How it counts (create, update, action, wait, barrier).
    pub fn class(&self) -> StepClass {
        self.kind.spec().class()
    }

    /// The call it makes, derived from its kind.
    pub fn call(&self) -> Call {
        self.kind.spec().call()
    }

    /// What it does to the SMS quota, derived from its kind and stage.
    pub fn quota_use(&self) -> QuotaUse {
        self.stage
            .map_or(QuotaUse::None, |s| self.kind.spec().quota_use(s))
    }
}
