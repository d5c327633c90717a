//! Reading a step's [`Condition`] against one live object, and what else the live object says:
//! that the call already took effect, that the resource failed, how far it got.
//!
//! Pure functions over the wire types; the [`LiveStore`](crate::live_store::LiveStore) feeds
//! them with the latest list results.

use migplan_planner::step::LiveField;
use migplan_planner::{Condition, StepKind};
use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem};
use migplan_wire::sms::{SourceState, Task, TaskState};

use crate::event::{Progress, StepError};

/// The live object a resource's conditions read: its SMS task (with the embedded source
/// server state) or its DCS migration task; `None` when it does not exist.
#[derive(Debug, Clone, Copy)]
pub enum Obj<'a> {
    /// A server's SMS task.
    Sms(Option<&'a Task>),
    /// A Redis entry's DCS migration task.
    Dcs(Option<&'a MigrationTaskListItem>),
}

impl Obj<'_> {
    /// Whether the object exists.
    pub fn exists(&self) -> bool {
        match self {
            Obj::Sms(t) => t.is_some(),
            Obj::Dcs(t) => t.is_some(),
        }
    }

    /// The live value of a field, in wire spelling.
    pub fn field(&self, field: LiveField) -> Option<&str> {
        match (self, field) {
            (Obj::Sms(Some(t)), LiveField::TaskState) => t.state.as_ref().map(|s| s.as_str()),
            (Obj::Sms(Some(t)), LiveField::SourceState) => t
                .source_server
                .as_ref()
                .and_then(|s| s.state.as_ref())
                .map(|s| s.as_str()),
            (Obj::Sms(Some(t)), LiveField::MigrationCycle) => t
                .source_server
                .as_ref()
                .and_then(|s| s.migration_cycle.as_ref())
                .map(|s| s.as_str()),
            (Obj::Dcs(Some(t)), LiveField::DcsStatus) => t.status.as_ref().map(|s| s.as_str()),
            _ => None,
        }
    }

    /// A short text of the state for messages (`RUNNING`, `MIGRATE_SUCCESS/finished`).
    pub fn state_text(&self) -> String {
        match self {
            Obj::Sms(None) | Obj::Dcs(None) => "(absent)".into(),
            Obj::Sms(Some(_)) => {
                let task = self.field(LiveField::TaskState).unwrap_or("?");
                match (
                    self.field(LiveField::SourceState),
                    self.field(LiveField::MigrationCycle),
                ) {
                    (Some(s), Some(c)) => format!("{task} (source {s}, cycle {c})"),
                    (Some(s), None) => format!("{task} (source {s})"),
                    _ => task.to_string(),
                }
            }
            Obj::Dcs(Some(_)) => self.field(LiveField::DcsStatus).unwrap_or("?").to_string(),
        }
    }
}

/// Whether `cond` holds for `obj`.
pub fn holds(cond: &Condition, obj: Obj<'_>) -> bool {
    match cond {
        Condition::Always => true,
        Condition::Absent => !obj.exists(),
        Condition::State { field, any_of } => obj
            .field(*field)
            .is_some_and(|v| any_of.iter().any(|a| a.eq_ignore_ascii_case(v))),
        Condition::AnyOf { conditions } => conditions.iter().any(|c| holds(c, obj)),
    }
}

/// The live state that shows a step's call took effect (its postcondition, or the transition
/// toward it that starts at once). Used after an unknown outcome or a wrong-state answer: when
/// it holds, the call is not sent (again).
pub fn effect(kind: &StepKind, postcondition: &Condition) -> Condition {
    use LiveField::*;
    let also = match kind {
        StepKind::Test(_) => Some(Condition::state(MigrationCycle, &["testing", "tested"])),
        StepKind::Cutover(_) => Some(Condition::AnyOf {
            conditions: vec![
                Condition::state(SourceState, &["cutovering", "finished", "cleared"]),
                Condition::state(MigrationCycle, &["cutovering", "cutovered"]),
            ],
        }),
        StepKind::Clear(_) => Some(Condition::state(
            SourceState,
            &["clearing", "cleared", "clearfailed"],
        )),
        StepKind::StopMigration(_) => {
            Some(Condition::state(DcsStatus, &["TERMINATING", "TERMINATED"]))
        }
        StepKind::Start(_) => Some(Condition::state(
            TaskState,
            &[
                "RUNNING",
                "SYNCING",
                "MIGRATE_SUCCESS",
                "SYNC_SUCCESS",
                "MIGRATE_FAIL",
            ],
        )),
        StepKind::StartSync(_) => Some(Condition::state(
            TaskState,
            &["SYNCING", "SYNC_SUCCESS", "SYNC_FAIL"],
        )),
        StepKind::Configure(_) => Some(Condition::state(
            DcsStatus,
            &[
                "FULLMIGRATING",
                "MIGRATING",
                "SUCCESS",
                "MIGRATION_SUCCESS",
                "INCRMIGEATING",
                "FAILED",
                "MIGRATION_FAILED",
                "TERMINATING",
                "TERMINATED",
            ],
        )),
        _ => None,
    };
    match also {
        Some(c) => Condition::AnyOf {
            conditions: vec![postcondition.clone(), c],
        },
        None => postcondition.clone(),
    }
}

/// The state that ends a step: its postcondition, except that a `start` is done once the copy
/// it started ran, even if the copy then failed (the wait that follows reports the failure,
/// with the API's error, as its own), and a create of a migration task that turns out to exist
/// already is done whatever that task went on to do (the next steps see it).
pub fn done(kind: &StepKind, postcondition: &Condition) -> Condition {
    use LiveField::{DcsStatus, TaskState};
    let also = match kind {
        StepKind::Start(_) => Condition::state(TaskState, &["MIGRATE_FAIL"]),
        StepKind::StartSync(_) => Condition::state(TaskState, &["SYNC_FAIL"]),
        // An adopted migration task may already be configured and running.
        StepKind::CreateMigration(_) => Condition::state(
            DcsStatus,
            &[
                "FULLMIGRATING",
                "MIGRATING",
                "SUCCESS",
                "MIGRATION_SUCCESS",
                "INCRMIGEATING",
                "TERMINATING",
                "TERMINATED",
                "FAILED",
                "MIGRATION_FAILED",
            ],
        ),
        _ => return postcondition.clone(),
    };
    Condition::AnyOf {
        conditions: vec![postcondition.clone(), also],
    }
}

/// A live state from which the awaited postcondition can no longer come without a human
/// (failed copy, paused task, failed clear, failed DCS task), with the API's error.
pub fn failure(obj: Obj<'_>) -> Option<StepError> {
    match obj {
        Obj::Sms(Some(t)) => {
            let state = t.state.as_ref()?;
            let from_json = || {
                t.error_json
                    .as_deref()
                    .filter(|e| !e.is_empty())
                    .map(parse_error_json)
            };
            match state {
                TaskState::MigrateFail | TaskState::SyncFail => {
                    Some(from_json().unwrap_or_else(|| {
                        StepError::new(format!("the task is {}", state.as_str()))
                    }))
                }
                TaskState::Abort => Some(from_json().unwrap_or_else(|| {
                    StepError::new("the task was paused (ABORT); start it again to resume")
                })),
                _ if t.source_server.as_ref().and_then(|s| s.state.as_ref())
                    == Some(&SourceState::ClearFailed) =>
                {
                    Some(StepError::new("clearing the migration resources failed"))
                }
                _ => None,
            }
        }
        Obj::Dcs(Some(t)) => match t.status.as_ref()? {
            s @ (MigrationStatus::Failed
            | MigrationStatus::MigrationFailed
            | MigrationStatus::Error) => Some(StepError::new(
                t.error_message
                    .clone()
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| format!("the migration task is {}", s.as_str())),
            )),
            _ => None,
        },
        _ => None,
    }
}

/// `{"error_code": "SMS.1901", "error_msg": "..."}` → code and message (else the text).
pub fn parse_error_json(text: &str) -> StepError {
    let v: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let get = |k: &str| {
        v.as_ref()
            .and_then(|v| v.get(k))
            .and_then(|x| x.as_str())
            .map(str::to_owned)
    };
    match (get("error_code"), get("error_msg")) {
        (code, Some(msg)) => StepError { code, message: msg },
        (Some(code), None) => StepError {
            code: Some(code),
            message: text.to_string(),
        },
        _ => StepError::new(text),
    }
}

/// What the list result says about a resource's progress.
pub fn progress(obj: Obj<'_>) -> Option<Progress> {
    match obj {
        Obj::Sms(Some(t)) => {
            let running = t
                .sub_tasks
                .iter()
                .rev()
                .find(|s| s.start_date.is_some() && s.end_date.is_none());
            let copying = matches!(t.state, Some(TaskState::Running | TaskState::Syncing));
            // Overall percent: the copy subtasks (`MIGRATE_*`, `SYNC_*`) weigh 8, the
            // fixed ones (create server, attach agent, configure, ...) 1 each.
            let percent = if copying {
                let weight = |name: &str| {
                    if name.contains("MIGRATE") || name.contains("SYNC") {
                        8
                    } else {
                        1
                    }
                };
                let total: i64 = t.sub_tasks.iter().map(|s| weight(&s.name)).sum();
                let done: i64 = t
                    .sub_tasks
                    .iter()
                    .map(|s| weight(&s.name) * i64::from(s.progress.clamp(0, 100)))
                    .sum();
                (total > 0).then(|| (done / total).clamp(0, 100) as u8)
            } else {
                None
            };
            let cycle = obj.field(LiveField::MigrationCycle);
            let state = match (t.state.as_ref().map(|s| s.as_str()), cycle) {
                (Some(s), Some(c)) if !copying => format!("{s}/{c}"),
                (Some(s), _) => s.to_string(),
                (None, _) => "?".into(),
            };
            Some(Progress {
                state,
                percent,
                subtask: running.filter(|_| copying).map(|s| s.name.clone()),
                speed_mbps: t.migrate_speed.filter(|s| copying && *s > 0.0),
                eta_seconds: t.remain_seconds.filter(|_| copying),
            })
        }
        Obj::Dcs(Some(t)) => Some(Progress {
            state: t
                .status
                .as_ref()
                .map_or_else(|| "?".into(), |s| s.as_str().to_string()),
            ..Progress::default()
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_planner::step::TaskAction;
    use migplan_wire::sms::{MigrationCycle, SubTask, TaskSourceServer};

    fn task(state: TaskState, src: Option<SourceState>, cycle: Option<MigrationCycle>) -> Task {
        Task {
            id: "t1".into(),
            name: "web".into(),
            state: Some(state),
            source_server: Some(TaskSourceServer {
                id: "s1".into(),
                state: src,
                migration_cycle: cycle,
                ..TaskSourceServer::default()
            }),
            ..Task::default()
        }
    }

    #[test]
    fn state_conditions_read_task_and_embedded_source() {
        let t = task(
            TaskState::MigrateSuccess,
            Some(SourceState::Cutovering),
            Some(MigrationCycle::Cutovering),
        );
        let obj = Obj::Sms(Some(&t));
        assert!(holds(
            &Condition::state(LiveField::TaskState, &["MIGRATE_SUCCESS"]),
            obj
        ));
        assert!(!holds(
            &Condition::state(LiveField::SourceState, &["finished"]),
            obj
        ));
        assert!(!holds(&Condition::Absent, obj));
        assert!(holds(&Condition::Absent, Obj::Sms(None)));
        let post = Condition::state(LiveField::SourceState, &["finished"]);
        let eff = effect(&StepKind::Cutover(TaskAction { task_id: None }), &post);
        assert!(holds(&eff, obj), "cutovering shows the cutover took effect");
        let test_eff = effect(
            &StepKind::Test(TaskAction { task_id: None }),
            &Condition::state(LiveField::MigrationCycle, &["tested"]),
        );
        assert!(!holds(&test_eff, obj));
    }

    #[test]
    fn failures_carry_the_api_error() {
        let mut t = task(TaskState::MigrateFail, None, None);
        t.error_json = Some(r#"{"error_code":"SMS.1901","error_msg":"replication failed"}"#.into());
        let e = failure(Obj::Sms(Some(&t))).expect("failed");
        assert_eq!(e.code.as_deref(), Some("SMS.1901"));
        assert_eq!(e.message, "replication failed");
        let ok = task(TaskState::Running, None, None);
        assert_eq!(failure(Obj::Sms(Some(&ok))), None);
        let d = MigrationTaskListItem {
            task_id: "d".into(),
            task_name: "r".into(),
            status: Some(MigrationStatus::Failed),
            error_message: Some("source unreachable".into()),
            ..MigrationTaskListItem::default()
        };
        assert_eq!(
            failure(Obj::Dcs(Some(&d))).map(|e| e.message),
            Some("source unreachable".into())
        );
    }

    #[test]
    fn progress_of_a_running_copy() {
        let mut t = task(TaskState::Running, None, None);
        t.migrate_speed = Some(95.5);
        t.remain_seconds = Some(120);
        t.sub_tasks = vec![
            SubTask {
                name: "CREATE_CLOUD_SERVER".into(),
                progress: 100,
                start_date: Some(1),
                end_date: Some(2),
                ..SubTask::default()
            },
            SubTask {
                name: "MIGRATE_BLOCK".into(),
                progress: 50,
                start_date: Some(3),
                ..SubTask::default()
            },
        ];
        let p = progress(Obj::Sms(Some(&t))).expect("progress");
        // (1 × 100 + 8 × 50) / 9
        assert_eq!(p.percent, Some(55));
        assert_eq!(p.subtask.as_deref(), Some("MIGRATE_BLOCK"));
        assert_eq!(p.eta_seconds, Some(120));
        assert_eq!(p.speed_mbps, Some(95.5));
    }
}
