//! Where a resource is now: its current stage, derived from live fields only.
//!
//! # Mapping
//!
//! Servers are read from the SMS task `state`; once the full copy is done, the source server's
//! `state` / `migration_cycle` (from `GET /v3/sources`, else the task's embedded
//! `source_server`) say how far the launch got. Redis is read from the DCS task `status`.
//!
//! | live value | [`Current`] |
//! |---|---|
//! | no SMS task / no DCS task | `Absent` |
//! | task `READY` | `At(configured)` |
//! | task `ABORT` (paused) | `At(configured)`, resumed by `start` |
//! | task `RUNNING`, `SKIPPING` | `InProgress → replicated` (progress from the running subtask) |
//! | task `MIGRATE_SUCCESS`, `SYNC_F_ROLLBACK_SUCCESS` | `At(replicated)` |
//! | task `SYNCING` | `InProgress → synced` |
//! | task `SYNC_SUCCESS` | `At(synced)` |
//! | task `MIGRATE_FAIL` | `Failed` (reached `configured`), needs `restart` |
//! | task `SYNC_FAIL` | `Failed` (reached `replicated`), needs `restart` |
//! | task `ABORTING`, `DELETING`, `RESETING`, `SYNC_F_ROLLBACKING` | `Busy` (plan again when it settles) |
//! | after the copy: cycle `testing` / `tested` | `InProgress → tested` / `At(tested)` |
//! | after the copy: source `cutovering` or cycle `cutovering` | `InProgress → cutover` |
//! | after the copy: source `finished` or cycle `cutovered` | `At(cutover)` |
//! | after the copy: source `clearing` / `cleared` / `clearfailed` | `InProgress → cleared` / `At(cleared)` / `Failed` |
//! | DCS `CREATING`, `RUNNING` (created, not configured) | `Exists` |
//! | DCS `FULLMIGRATING`, `MIGRATING` | `InProgress → migrated` |
//! | DCS `SUCCESS`, `MIGRATION_SUCCESS` (full), `INCRMIGEATING`/`INCRMIGRATING` (incremental) | `At(migrated)` |
//! | DCS `TERMINATING` | `InProgress → stopped` |
//! | DCS `TERMINATED`; `RELEASED` (incremental) | `At(stopped)` |
//! | DCS `RELEASED` (full: migration ECS released after the copy) | `At(migrated)` |
//! | DCS `FAILED`, `MIGRATION_FAILED`, `ERROR` | `Failed` (reached `created`), needs restart |
//! | DCS `DELETED` | `Busy` |
//! | any state this version does not know | `Unknown` (blocked, never guessed) |

use migplan_parser::{Keyword, RedisMethod, RedisStage, ServerStage, Stage};
use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem};
use migplan_wire::sms::{MigrationCycle, SourceServer, SourceState, Task, TaskState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The current stage of a resource, including in-between and failed states.
///
/// Drives apply: the steps of a resource are derived from it. `state` fields carry the raw live
/// value for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Current {
    /// No live object with this name: everything is still to do.
    Absent,
    /// The object exists but has not reached its first stage (a DCS task waiting to be
    /// configured).
    Exists {
        /// Live state, e.g. `RUNNING`.
        state: String,
    },
    /// The resource reached `stage` and nothing is running toward the next one.
    At {
        /// The stage reached.
        #[schemars(with = "String")]
        stage: Stage,
        /// Live state, e.g. `MIGRATE_SUCCESS`.
        state: String,
    },
    /// Work toward `toward` is running; apply re-attaches and waits, never starts it twice.
    InProgress {
        /// The stage being worked toward (the previous stage is reached).
        #[schemars(with = "String")]
        toward: Stage,
        /// Live state, e.g. `RUNNING`.
        state: String,
        /// Percent done of the running subtask, when the API says.
        progress: Option<u8>,
    },
    /// The task failed; it needs a restart before anything else.
    Failed {
        /// Live state, e.g. `MIGRATE_FAIL`.
        state: String,
        /// The API's error text (`error_json` / `error_message`).
        error: Option<String>,
        /// The last stage reached before the failure.
        #[schemars(with = "Option<String>")]
        reached: Option<Stage>,
    },
    /// The task is in a transition the planner does not drive (pausing, deleting, rolling back).
    Busy {
        /// Live state, e.g. `DELETING`.
        state: String,
    },
    /// A state this version of migplan does not know.
    Unknown {
        /// Live state verbatim.
        state: String,
    },
}

/// The stage before `s` in its kind's order.
pub fn stage_before(s: Stage) -> Option<Stage> {
    match s {
        Stage::Server(s) => {
            let i = ServerStage::ALL.iter().position(|(_, v)| *v == s)?;
            i.checked_sub(1)
                .map(|i| Stage::Server(ServerStage::ALL[i].1))
        }
        Stage::Redis(s) => {
            let i = RedisStage::ALL.iter().position(|(_, v)| *v == s)?;
            i.checked_sub(1).map(|i| Stage::Redis(RedisStage::ALL[i].1))
        }
    }
}

impl Current {
    /// The last stage fully reached, if any.
    pub fn reached(&self) -> Option<Stage> {
        match self {
            Current::At { stage, .. } => Some(*stage),
            Current::InProgress { toward, .. } => stage_before(*toward),
            Current::Failed { reached, .. } => *reached,
            _ => None,
        }
    }

    /// Short text for display: `(new)`, `replicated`, `→ replicated (RUNNING 45%)`, ...
    pub fn label(&self) -> String {
        match self {
            Current::Absent => "(new)".into(),
            Current::Exists { state } => format!("(exists, {state})"),
            Current::At { stage, .. } => stage.to_string(),
            Current::InProgress {
                toward,
                state,
                progress,
            } => match progress {
                Some(p) => format!("→ {toward} ({state} {p}%)"),
                None => format!("→ {toward} ({state})"),
            },
            Current::Failed { state, .. } => format!("failed ({state})"),
            Current::Busy { state } => format!("busy ({state})"),
            Current::Unknown { state } => format!("unknown ({state})"),
        }
    }
}

fn at(stage: ServerStage, state: &str) -> Current {
    Current::At {
        stage: Stage::Server(stage),
        state: state.into(),
    }
}

fn toward(stage: ServerStage, state: &str, progress: Option<u8>) -> Current {
    Current::InProgress {
        toward: Stage::Server(stage),
        state: state.into(),
        progress,
    }
}

/// Percent of the running subtask (started, not ended), if any.
fn progress(task: &Task) -> Option<u8> {
    task.sub_tasks
        .iter()
        .rev()
        .find(|s| s.start_date.is_some() && s.end_date.is_none())
        .map(|s| s.progress.clamp(0, 100) as u8)
}

/// The current stage of a server from its SMS task and source server.
pub fn server_current(task: Option<&Task>, source: Option<&SourceServer>) -> Current {
    let Some(task) = task else {
        return Current::Absent;
    };
    let Some(state) = &task.state else {
        return Current::Unknown {
            state: String::new(),
        };
    };
    let s = state.as_str();
    use ServerStage as S;
    let base = match state {
        TaskState::Ready | TaskState::Abort => at(S::Configured, s),
        TaskState::Running | TaskState::Skipping => toward(S::Replicated, s, progress(task)),
        TaskState::MigrateSuccess | TaskState::SyncFRollbackSuccess => at(S::Replicated, s),
        TaskState::Syncing => toward(S::Synced, s, progress(task)),
        TaskState::SyncSuccess => at(S::Synced, s),
        TaskState::MigrateFail | TaskState::SyncFail => Current::Failed {
            state: s.into(),
            error: task.error_json.clone().filter(|e| !e.is_empty()),
            reached: Some(Stage::Server(if *state == TaskState::MigrateFail {
                S::Configured
            } else {
                S::Replicated
            })),
        },
        TaskState::Aborting
        | TaskState::Deleting
        | TaskState::Reseting
        | TaskState::SyncFRollbacking => Current::Busy { state: s.into() },
        TaskState::Unknown(_) => Current::Unknown { state: s.into() },
    };
    let copy_done = base
        .reached()
        .is_some_and(|r| r >= Stage::Server(S::Replicated));
    if !copy_done || matches!(base, Current::Failed { .. }) {
        return base;
    }
    let embedded = task.source_server.as_ref();
    let src_state = source
        .and_then(|s| s.state.clone())
        .or_else(|| embedded.and_then(|s| s.state.clone()));
    let cycle = source
        .and_then(|s| s.migration_cycle.clone())
        .or_else(|| embedded.and_then(|s| s.migration_cycle.clone()));
    let overlay = match (&src_state, &cycle) {
        (Some(SourceState::Cleared), _) => Some(at(S::Cleared, "cleared")),
        (Some(SourceState::Clearing), _) => Some(toward(S::Cleared, "clearing", None)),
        (Some(SourceState::ClearFailed), _) => Some(Current::Failed {
            state: "clearfailed".into(),
            error: None,
            reached: Some(Stage::Server(S::Cutover)),
        }),
        (Some(SourceState::Finished), _) | (_, Some(MigrationCycle::Cutovered)) => {
            Some(at(S::Cutover, "finished"))
        }
        (Some(SourceState::Cutovering), _) | (_, Some(MigrationCycle::Cutovering)) => {
            Some(toward(S::Cutover, "cutovering", None))
        }
        (_, Some(MigrationCycle::Tested)) => Some(at(S::Tested, "tested")),
        (_, Some(MigrationCycle::Testing)) => Some(toward(S::Tested, "testing", None)),
        _ => None,
    };
    match overlay {
        Some(o) if o.reached() > base.reached() || matches!(o, Current::Failed { .. }) => o,
        _ => base,
    }
}

/// The current stage of a Redis migration from its DCS task.
pub fn redis_current(task: Option<&MigrationTaskListItem>, method: RedisMethod) -> Current {
    let Some(task) = task else {
        return Current::Absent;
    };
    let Some(status) = &task.status else {
        return Current::Unknown {
            state: String::new(),
        };
    };
    let s = status.as_str().to_string();
    use RedisStage as R;
    match status {
        MigrationStatus::Creating | MigrationStatus::Running => Current::Exists { state: s },
        MigrationStatus::FullMigrating | MigrationStatus::Migrating => Current::InProgress {
            toward: Stage::Redis(R::Migrated),
            state: s,
            progress: None,
        },
        MigrationStatus::Success
        | MigrationStatus::MigrationSuccess
        | MigrationStatus::IncrMigrating => Current::At {
            stage: Stage::Redis(R::Migrated),
            state: s,
        },
        MigrationStatus::Terminating => Current::InProgress {
            toward: Stage::Redis(R::Stopped),
            state: s,
            progress: None,
        },
        MigrationStatus::Released if method == RedisMethod::Full => Current::At {
            stage: Stage::Redis(R::Migrated),
            state: s,
        },
        MigrationStatus::Terminated | MigrationStatus::Released => Current::At {
            stage: Stage::Redis(R::Stopped),
            state: s,
        },
        MigrationStatus::Failed | MigrationStatus::MigrationFailed | MigrationStatus::Error => {
            Current::Failed {
                state: s,
                error: task.error_message.clone().filter(|e| !e.is_empty()),
                reached: Some(Stage::Redis(R::Created)),
            }
        }
        MigrationStatus::Deleted => Current::Busy { state: s },
        MigrationStatus::Unknown(_) => Current::Unknown { state: s },
    }
}
