//! Reading a step's [`Condition`] against one live object, and what else the live object says:
//! that the call already took effect, that the resource failed, how far it got.
//!
//! Pure functions over the wire types; the live store (`live_store::LiveStore`) feeds
//! them with the latest list results.

use migplan_parser::{RedisMethod, Stage};
use migplan_planner::Current;
use migplan_planner::current::{
    NetworkResult, consistency_check_running, percent_done, redis_current, restarts_recorded,
    server_current,
};
use migplan_planner::step::LiveField;
use migplan_planner::{Condition, Identity, Mismatch};
use migplan_wire::dcs::{MigrationMethod, MigrationTaskListItem};
use migplan_wire::sms::{SourceServer, Task, TaskState};

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
    pub(crate) fn exists(&self) -> bool {
        match self {
            Obj::Sms(t) => t.is_some(),
            Obj::Dcs(t) => t.is_some(),
        }
    }

    /// The object's live id.
    pub(crate) fn id(&self) -> Option<String> {
        match self {
            Obj::Sms(t) => t.map(|t| t.id.clone()),
            Obj::Dcs(t) => t.map(|t| t.task_id.clone()),
        }
    }

    /// How the object differs from what the resource's task must migrate, if it does.
    pub(crate) fn check(&self, want: &Identity) -> Option<Mismatch> {
        match self {
            Obj::Sms(t) => t.and_then(|t| want.check_sms(t)),
            Obj::Dcs(t) => t.and_then(|t| want.check_dcs(t)),
        }
    }

    /// Where the resource is, derived exactly as the planner derives it. The statuses whose
    /// meaning depends on the method (`TERMINATED`, `RELEASED`) only occur once the task is
    /// configured, and a configured task says its method; the planner refuses a task whose
    /// method is not the plan's.
    pub(crate) fn current(&self) -> Current {
        match *self {
            Obj::Sms(t) => server_current(t, None),
            Obj::Dcs(t) => {
                let method = match t.and_then(|t| t.migration_method.as_ref()) {
                    Some(MigrationMethod::FullAmount) => RedisMethod::Full,
                    _ => RedisMethod::Incremental,
                };
                redis_current(t, method)
            }
        }
    }

    /// The live value of a field, in wire spelling.
    pub(crate) fn field(&self, field: LiveField) -> Option<&str> {
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

    /// The task's last network check result (`network_check_info`), if any.
    pub(crate) fn network(&self) -> Option<NetworkResult> {
        match self {
            Obj::Sms(Some(t)) => NetworkResult::of(t),
            _ => None,
        }
    }

    /// A short text of the state for messages (`RUNNING`, `MIGRATE_SUCCESS/finished`).
    pub(crate) fn state_text(&self) -> String {
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

/// Whether `cond` holds for `obj`. Stage conditions read the planner's one order of stages
/// ([`Current::has_reached`], [`Current::has_started`]): at or beyond counts.
pub(crate) fn holds(cond: &Condition, obj: Obj<'_>) -> bool {
    match cond {
        Condition::Always => true,
        Condition::Absent => !obj.exists(),
        Condition::TaskState { any_of } => match obj {
            Obj::Sms(Some(t)) => t.state.as_ref().is_some_and(|s| any_of.contains(s)),
            _ => false,
        },
        Condition::SourceState { any_of } => match obj {
            Obj::Sms(Some(t)) => t
                .source_server
                .as_ref()
                .and_then(|s| s.state.as_ref())
                .is_some_and(|s| any_of.contains(s)),
            _ => false,
        },
        Condition::DcsStatus { any_of } => match obj {
            Obj::Dcs(Some(t)) => t.status.as_ref().is_some_and(|s| any_of.contains(s)),
            _ => false,
        },
        Condition::AnyOf { conditions } => conditions.iter().any(|c| holds(c, obj)),
        Condition::AllOf { conditions } => conditions.iter().all(|c| holds(c, obj)),
        Condition::NetworkChecked => obj.network().is_some(),
        Condition::NetworkSpeed { min_kbps } => {
            obj.network().is_some_and(|r| r.speed_kbps() >= *min_kbps)
        }
        Condition::ConsistencyCheck { running } => {
            matches!(obj, Obj::Sms(Some(t)) if consistency_check_running(t) == *running)
        }
        Condition::Restarted { at_least } => {
            matches!(obj, Obj::Sms(Some(t)) if restarts_recorded(t) >= *at_least)
        }
        Condition::Reached { stage } => obj.current().has_reached(*stage),
        Condition::Toward { stage } => obj.current().has_started(*stage),
    }
}

/// Whether `cond` holds for a source server record (`GET /v3/sources/{id}`): conditions on
/// the source state, combined; anything about a task does not hold.
pub(crate) fn holds_source(cond: &Condition, src: &SourceServer) -> bool {
    match cond {
        Condition::Always => true,
        Condition::SourceState { any_of } => src.state.as_ref().is_some_and(|s| any_of.contains(s)),
        Condition::AnyOf { conditions } => conditions.iter().any(|c| holds_source(c, src)),
        Condition::AllOf { conditions } => conditions.iter().all(|c| holds_source(c, src)),
        _ => false,
    }
}

/// Why `awaited` can no longer come from `obj` without a person acting (failed, paused,
/// deleted, unknown), naming the state seen and what was waited for, with the API's error code
/// when the task carries one. `None` while it may still come.
pub(crate) fn stuck(obj: Obj<'_>, awaited: Stage, until: &str) -> Option<StepError> {
    let why = obj.current().cannot_reach(awaited)?;
    let code = match obj {
        Obj::Sms(Some(t))
            if matches!(t.state, Some(TaskState::MigrateFail | TaskState::SyncFail)) =>
        {
            t.error_json
                .as_deref()
                .filter(|e| !e.is_empty())
                .and_then(|e| parse_error_json(e).code)
        }
        _ => None,
    };
    Some(StepError {
        code,
        message: format!(
            "waited for {until} (stage `{awaited}`), but the task is {}, which cannot lead there: {why}",
            obj.state_text()
        ),
        request_id: None,
    })
}

/// `{"error_code": "SMS.1901", "error_msg": "..."}` → code and message (else the text).
pub(crate) fn parse_error_json(text: &str) -> StepError {
    let v: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let get = |k: &str| {
        v.as_ref()
            .and_then(|v| v.get(k))
            .and_then(|x| x.as_str())
            .map(str::to_owned)
    };
    match (get("error_code"), get("error_msg")) {
        (code, Some(msg)) => StepError {
            code,
            message: msg,
            request_id: None,
        },
        (Some(code), None) => StepError {
            code: Some(code),
            message: text.to_string(),
            request_id: None,
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
            let percent = copying.then(|| percent_done(t)).flatten();
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
    use migplan_parser::{RedisStage, ServerStage};
    use migplan_wire::dcs::MigrationStatus;
    use migplan_wire::sms::{MigrationCycle, SourceState, SubTask, TaskSourceServer};

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
        assert!(holds(&Condition::task(&[TaskState::MigrateSuccess]), obj));
        assert!(!holds(&Condition::source(&[SourceState::Finished]), obj));
        assert!(!holds(&Condition::Absent, obj));
        assert!(holds(&Condition::Absent, Obj::Sms(None)));
        let cutover = Condition::Reached {
            stage: Stage::Server(ServerStage::Cutover),
        };
        assert!(!holds(&cutover, obj));
        assert!(
            holds(&cutover.started(), obj),
            "cutovering shows the cutover took effect"
        );
        // Cut over while `tested` was awaited: at or beyond counts.
        let tested = Condition::Reached {
            stage: Stage::Server(ServerStage::Tested),
        };
        assert!(holds(&tested, obj));
    }

    #[test]
    fn a_state_that_cannot_lead_to_the_awaited_stage_names_both_and_the_api_error() {
        let replicated = Stage::Server(ServerStage::Replicated);
        let mut t = task(TaskState::MigrateFail, None, None);
        t.error_json = Some(r#"{"error_code":"SMS.1901","error_msg":"replication failed"}"#.into());
        let e = stuck(Obj::Sms(Some(&t)), replicated, "MIGRATE_SUCCESS").expect("stuck");
        assert_eq!(e.code.as_deref(), Some("SMS.1901"));
        assert!(e.message.contains("MIGRATE_FAIL"), "{e}");
        assert!(
            e.message
                .contains("waited for MIGRATE_SUCCESS (stage `replicated`)"),
            "{e}"
        );
        assert!(e.message.contains("replication failed"), "{e}");
        let ok = task(TaskState::Running, None, None);
        assert_eq!(
            stuck(Obj::Sms(Some(&ok)), replicated, "MIGRATE_SUCCESS"),
            None
        );
        let paused = task(TaskState::Abort, Some(SourceState::Stopped), None);
        assert!(stuck(Obj::Sms(Some(&paused)), replicated, "x").is_some());
        let mut d = MigrationTaskListItem {
            task_id: "d".into(),
            task_name: "r".into(),
            status: Some(MigrationStatus::Failed),
            migration_method: Some(MigrationMethod::FullAmount),
            error_message: Some("source unreachable".into()),
            ..MigrationTaskListItem::default()
        };
        let migrated = Stage::Redis(RedisStage::Migrated);
        let e = stuck(Obj::Dcs(Some(&d)), migrated, "SUCCESS").expect("stuck");
        assert!(e.message.contains("source unreachable"), "{e}");
        // Stopped by hand during a full copy: it will never be SUCCESS.
        d.status = Some(MigrationStatus::Terminated);
        d.error_message = None;
        let e = stuck(Obj::Dcs(Some(&d)), migrated, "SUCCESS").expect("stuck");
        assert!(e.message.contains("TERMINATED"), "{e}");
        // ...while for an incremental migration stopped is beyond migrated.
        d.migration_method = Some(MigrationMethod::Incremental);
        assert!(holds(
            &Condition::Reached { stage: migrated },
            Obj::Dcs(Some(&d))
        ));
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
