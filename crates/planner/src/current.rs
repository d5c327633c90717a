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
//! | task `RUNNING`, `SKIPPING` | `InProgress → replicated` (progress: [`percent_done`]) |
//! | task `MIGRATE_SUCCESS`, `SYNC_F_ROLLBACK_SUCCESS` | `At(replicated)` |
//! | task `SYNCING` | `InProgress → synced` |
//! | task `SYNC_SUCCESS` | `At(synced)` |
//! | task `MIGRATE_FAIL` | `Failed` (reached `configured`), needs `restart` |
//! | task `SYNC_FAIL` | `Failed` (reached `replicated`), needs `restart` |
//! | task `ABORTING`, `DELETING`, `RESETING`, `SYNC_F_ROLLBACKING` | `Busy` (plan again when it settles) |
//! | after the copy: source `premiging` / `premiged` / `premigfailed` (the drill) | `InProgress → drilled` / `At(drilled)` / `Failed` |
//! | after the copy: cycle `testing` / `tested` | `InProgress → tested` / `At(tested)` |
//! | after the copy: a clone (`clone_server.clone_state`) being made / `FINISHED` / `ERROR` | `InProgress → tested` / `At(tested)` / `Failed` |
//! | after the copy: source `cutovering` or cycle `cutovering` | `InProgress → cutover` |
//! | after the copy: source `finished` or cycle `cutovered` | `At(cutover)` |
//! | after the copy: source `clearing` / `cleared` / `clearfailed` | `InProgress → cleared` / `At(cleared)` / `Failed` |
//! | DCS `CREATING`, `RUNNING` (created, not configured) | `Exists` |
//! | DCS `FULLMIGRATING`, `MIGRATING` | `InProgress → migrated` |
//! | DCS `SUCCESS`, `MIGRATION_SUCCESS` (full), `INCRMIGEATING`/`INCRMIGRATING` (incremental) | `At(migrated)` |
//! | DCS `TERMINATING` (incremental) | `InProgress → stopped` |
//! | DCS `TERMINATED`; `RELEASED` (incremental) | `At(stopped)` |
//! | DCS `TERMINATING` (full: the copy is being stopped) | `Busy` |
//! | DCS `TERMINATED` (full: stopped before the copy finished) | `Failed` (reached `created`), needs restart |
//! | DCS `RELEASED` (full: migration ECS released after the copy) | `At(migrated)` |
//! | DCS `FAILED`, `MIGRATION_FAILED`, `ERROR` | `Failed` (reached `created`), needs restart |
//! | DCS `DELETED` | `Busy` |
//! | any state this version does not know | `Unknown` (blocked, never guessed) |
//!
//! # One order of stages
//!
//! Every "is it there yet" question reads this derivation: a stage is *reached* when the
//! current stage is at or beyond it ([`Current::has_reached`]), work toward it has *started*
//! when it is in progress, reached, or failed on the way ([`Current::has_started`]), and a
//! resource *cannot reach* it when it is failed, paused, deleted or unknown
//! ([`Current::cannot_reach`]). Conditions on stages ([`Condition::Reached`],
//! [`Condition::Toward`]) are evaluated with these, so waits never list state names of their
//! own.
//!
//! [`Condition::Reached`]: crate::Condition::Reached
//! [`Condition::Toward`]: crate::Condition::Toward

use migplan_parser::{Keyword, RedisMethod, RedisStage, ServerStage, Stage};
use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem};
use migplan_wire::sms::{CloneState, MigrationCycle, SourceServer, SourceState, Task, TaskState};
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
    /// The live object cannot be read as this resource's; the resource is blocked for that.
    Unreadable {
        /// Why.
        why: Unreadable,
    },
}

/// Why a resource's live object cannot be read as its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unreadable {
    /// Several live tasks share its name.
    Ambiguous,
    /// Its same-named task migrates another source.
    OtherSource,
}

/// The stage `offset` places after `s` in its kind's order (negative: before).
fn stage_at(s: Stage, offset: isize) -> Option<Stage> {
    let i = s.rank().checked_add_signed(offset)?;
    match s {
        Stage::Server(_) => ServerStage::ALL.get(i).map(|(_, v)| Stage::Server(*v)),
        Stage::Redis(_) => RedisStage::ALL.get(i).map(|(_, v)| Stage::Redis(*v)),
    }
}

/// The stage before `s` in its kind's order.
pub fn stage_before(s: Stage) -> Option<Stage> {
    stage_at(s, -1)
}

/// The stage after `s` in its kind's order.
pub fn stage_after(s: Stage) -> Option<Stage> {
    stage_at(s, 1)
}

/// Both stages belong to the same kind (server stages are never compared with Redis ones).
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

    /// Whether `stage` is reached: the current stage is at it or beyond it (a task cut over
    /// has reached `tested`; a failed task has reached what it reached before failing). A
    /// stage of the other resource kind is never reached: the two are not comparable.
    pub fn has_reached(&self, stage: Stage) -> bool {
        self.reached().is_some_and(|r| r >= stage)
    }

    /// Whether work toward `stage` has started: it runs, it is reached or passed, or it failed
    /// on the way there. What an action that moves a resource toward `stage` shows once it
    /// took effect.
    pub fn has_started(&self, stage: Stage) -> bool {
        match self {
            Current::InProgress { toward, .. } if *toward == stage => true,
            Current::Failed {
                reached: Some(r), ..
            } if stage_after(*r) == Some(stage) => true,
            _ => self.has_reached(stage),
        }
    }

    /// Why `stage` cannot be reached from here without a person acting, if it cannot: the task
    /// failed, was paused, is being deleted or gone, or is in a state this version does not
    /// know. `None` while it is reached or may still get there.
    pub fn cannot_reach(&self, stage: Stage) -> Option<String> {
        if self.has_reached(stage) {
            return None;
        }
        match self {
            Current::Failed { state, error, .. } => Some(match error {
                Some(e) => format!("the task failed ({state}): {e}; it needs a restart"),
                None => format!("the task failed ({state}); it needs a restart"),
            }),
            Current::At { state, .. } if state == TaskState::Abort.as_str() => {
                Some("the task was paused (ABORT); it moves again only when started again".into())
            }
            Current::Busy { state }
                if state == TaskState::Deleting.as_str()
                    || state == MigrationStatus::Deleted.as_str() =>
            {
                Some(format!("the task is being deleted ({state})"))
            }
            Current::Absent => Some("the task does not exist (any more)".into()),
            Current::Unknown { state } => Some(format!(
                "the live state `{state}` is not known to this version of migplan"
            )),
            Current::Unreadable { .. } => {
                Some("the live task cannot be read as this resource's".into())
            }
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
            Current::Unreadable {
                why: Unreadable::Ambiguous,
            } => "unknown (several tasks share the name)".into(),
            Current::Unreadable {
                why: Unreadable::OtherSource,
            } => "unknown (the task of another source)".into(),
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

/// Percent done of an SMS task's current run: the one definition, read by the plan's
/// [`Current`] and by apply's and status's progress. Every subtask of the run counts, by
/// weight: the copy (`MIGRATE_*`, `SYNC_*`) 8, the fixed ones (create server, attach agent,
/// configure, ...) 1 each, so the figure grows over the whole run instead of restarting at
/// each subtask. While `SYNCING` the run is the sync round (its `SYNC_*` subtask follows the
/// full copy's, which stay at 100); otherwise it is the full copy. `None` without subtasks.
/// (A DCS migration task's list item carries no progress figure.)
pub fn percent_done(task: &Task) -> Option<u8> {
    let syncing = task.state == Some(TaskState::Syncing);
    let weight = |name: &str| {
        if name.contains("MIGRATE") || name.starts_with("SYNC_") {
            8
        } else {
            1
        }
    };
    let (total, done) = task
        .sub_tasks
        .iter()
        .filter(|s| s.name.starts_with("SYNC_") == syncing)
        .fold((0i64, 0i64), |(total, done), s| {
            let w = weight(&s.name);
            (total + w, done + w * i64::from(s.progress.clamp(0, 100)))
        });
    (total > 0).then(|| (done / total).clamp(0, 100) as u8)
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
        TaskState::Running | TaskState::Skipping => toward(S::Replicated, s, percent_done(task)),
        TaskState::MigrateSuccess | TaskState::SyncFRollbackSuccess => at(S::Replicated, s),
        TaskState::Syncing => toward(S::Synced, s, percent_done(task)),
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
    let clone = task
        .clone_server
        .as_ref()
        .and_then(|c| c.clone_state.as_ref());
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
        (Some(SourceState::Premiged), _) if clone.is_none() => Some(at(S::Drilled, "premiged")),
        (Some(SourceState::Premiging), _) => Some(toward(S::Drilled, "premiging", None)),
        (Some(SourceState::PremigFailed), _) => Some(Current::Failed {
            state: "premigfailed".into(),
            error: task.error_json.clone().filter(|e| !e.is_empty()),
            reached: base.reached(),
        }),
        _ => match clone {
            // A clone test: the clone is the test launch.
            Some(CloneState::Finished) => Some(at(S::Tested, "clone FINISHED")),
            Some(CloneState::Error) => Some(Current::Failed {
                state: "clone ERROR".into(),
                error: task
                    .clone_server
                    .as_ref()
                    .and_then(|c| c.clone_error.clone().or_else(|| c.error_msg.clone())),
                reached: Some(Stage::Server(S::Replicated)),
            }),
            Some(c) => Some(toward(S::Tested, &format!("clone {c}"), None)),
            None => None,
        },
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
        // A full migration has no `stopped` stage: stopping it abandons the copy.
        MigrationStatus::Terminating if method == RedisMethod::Full => Current::Busy { state: s },
        MigrationStatus::Terminated if method == RedisMethod::Full => Current::Failed {
            state: s,
            error: Some("stopped before the full copy finished".into()),
            reached: Some(Stage::Redis(R::Created)),
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

/// Whether the task's consistency check runs now: its `CONSISTENCY_CHECK` subtask has started
/// and not ended. (The subtask's name is inferred: `skip` is accepted "while the
/// consistency-check subtask runs", and the API pages list no other signal of a running check.)
pub fn consistency_check_running(task: &Task) -> bool {
    task.sub_tasks
        .iter()
        .any(|s| s.name == "CONSISTENCY_CHECK" && s.start_date.is_some() && s.end_date.is_none())
}

/// How many times the task was restarted, read from its history: each run lists its subtasks,
/// and a run started by `restart` marks them `user_op: RESTART`; its copy subtask (`MIGRATE_*`
/// or `SYNC_*`, one per run) is counted. Live state, so every run and every host counts the
/// same restarts, never from memory.
pub fn restarts_recorded(task: &Task) -> u32 {
    let count = task
        .sub_tasks
        .iter()
        .filter(|s| s.user_op.as_deref() == Some("RESTART"))
        .filter(|s| s.name.starts_with("MIGRATE_") || s.name.starts_with("SYNC_"))
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The result of the last SMS network check of a task (`network_check_info`), as far as it
/// says: the migration speed it measured, and the delay, loss and evaluation when given.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkResult {
    /// `migration_speed`, Mbit/s.
    pub speed_mbps: f64,
    /// `network_delay`, ms.
    pub delay_ms: Option<f64>,
    /// `loss_percentage`.
    pub loss_percent: Option<f64>,
    /// `evaluation_result`.
    pub evaluation: Option<String>,
}

impl NetworkResult {
    /// The live result of `task`; `None` when no check measured a speed.
    pub fn of(task: &Task) -> Option<NetworkResult> {
        let info = task.network_check_info.as_ref()?.as_object()?;
        let num = |k: &str| info.get(k).and_then(serde_json::Value::as_f64);
        Some(NetworkResult {
            speed_mbps: num("migration_speed")?,
            delay_ms: num("network_delay"),
            loss_percent: num("loss_percentage"),
            evaluation: info
                .get("evaluation_result")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
        })
    }

    /// The speed in kbit/s (how conditions compare it).
    pub fn speed_kbps(&self) -> u64 {
        kbps(self.speed_mbps)
    }
}

/// Mbit/s to whole kbit/s (conditions compare integers).
pub fn kbps(mbps: f64) -> u64 {
    (mbps * 1000.0).round().max(0.0) as u64
}

impl std::fmt::Display for NetworkResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} Mbit/s", self.speed_mbps)?;
        if let Some(d) = self.delay_ms {
            write!(f, ", delay {d} ms")?;
        }
        if let Some(l) = self.loss_percent {
            write!(f, ", loss {l}%")?;
        }
        if let Some(e) = &self.evaluation {
            write!(f, ", evaluation {e}")?;
        }
        Ok(())
    }
}
