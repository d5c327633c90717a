//! SMS migration tasks: creation, the lazily resolved state machine, views, update, delete.
//!
//! | task phase | task `state` | source `state` / `migration_cycle` |
//! |---|---|---|
//! | created | READY | initialize / setting |
//! | full copy | RUNNING | replicate / replicating |
//! | sync round (`syncing` tasks after the full copy, or `start` on a finished task) | SYNCING | syncing / syncing |
//! | copy or round done | MIGRATE_SUCCESS / SYNC_SUCCESS | waiting / ready_for_test |
//! | `stop` | ABORTING, ABORT 10 s later | stopping, then stopped |
//! | failure | MIGRATE_FAIL / SYNC_FAIL | error |

use super::run::{Run, RunKind, RunOutcome};
use super::sms_source::SourceRec;
use super::timeline::Timeline;
use super::{World, new_id};
use crate::api_error::{ApiError, codes};
use migplan_wire::sms::{
    CloneState, CreateTaskRequest, MigrationCycle, OsType, SourceState, SpeedLimitWindow,
    TaskState, UpdateTaskRequest,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub use super::sms_view::{brief, source_of, source_view, sources_by_id, tasks_by_id, view};

/// Link speed when a task has no speed limit, Mbit/s.
pub const LINK_SPEED_MBIT: f64 = 1000.0;
/// Virtual duration of ABORTING.
pub const ABORTING_MS: i64 = 10_000;

/// A clone made by `clone_test`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloneRec {
    /// Clone VM id.
    pub vm_id: String,
    /// Clone name.
    pub name: String,
    /// Clone state over time.
    pub state: Timeline<CloneState>,
}

/// A migration task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRec {
    /// Id.
    pub id: String,
    /// The create body, kept up to date by updates.
    pub req: CreateTaskRequest,
    /// Creation time.
    pub create_ms: i64,
    /// First start.
    pub start_ms: Option<i64>,
    /// Last full copy or sync round end.
    pub finish_ms: Option<i64>,
    /// `state` over time.
    pub state: Timeline<TaskState>,
    /// The last full copy.
    pub full: Option<Run>,
    /// The last sync round.
    pub sync: Option<Run>,
    /// Subtasks of the runs a `restart` replaced, oldest first: the task's history, which
    /// `GET` lists before the current run's (a restart is counted from it).
    #[serde(default)]
    pub history: Vec<migplan_wire::sms::SubTask>,
    /// Speed windows from `POST .../speed-limit`.
    pub speed_windows: Vec<SpeedLimitWindow>,
    /// Fail the next (or current) replication halfway (admin hook).
    pub fail_next: bool,
    /// `cutover` was done.
    pub cutover_done: bool,
    /// The target ECS id, once created.
    pub target_vm_id: Option<String>,
    /// A clone made by `clone_test`.
    pub clone: Option<CloneRec>,
    /// Last error, as JSON text.
    pub error_json: Option<String>,
    /// Filled by `network_check`.
    pub network_check_info: Option<serde_json::Value>,
    /// Log upload status.
    pub log_collect_status: Option<String>,
    /// Results of the consistency checks that finished, oldest first.
    #[serde(default)]
    pub consistency: Vec<super::sms_consistency::CheckRec>,
}

impl TaskRec {
    /// The task state now (call [`resolve`] first).
    pub fn state_at(&self, now: i64) -> TaskState {
        self.state.value(now).clone()
    }

    /// Effective speed now: the speed window covering the virtual time of day, else the
    /// task's limit, else the link speed.
    pub fn speed_mbit(&self, now: i64) -> f64 {
        let minute = ((now / 60_000) % (24 * 60)) as i32;
        let hhmm = |s: &str| -> Option<i32> {
            let (h, m) = s.split_once(':')?;
            let (h, m) = (h.trim().parse::<i32>().ok()?, m.trim().parse::<i32>().ok()?);
            ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
        };
        for w in &self.speed_windows {
            if let (Some(a), Some(b)) = (hhmm(&w.start), hhmm(&w.end))
                && a <= minute
                && minute <= b
                && w.speed > 0
            {
                return f64::from(w.speed);
            }
        }
        match self.req.speed_limit {
            Some(l) if l > 0 => f64::from(l),
            _ => LINK_SPEED_MBIT,
        }
    }

    fn os(&self) -> OsType {
        self.req.os_type.clone().unwrap_or(OsType::Linux)
    }
}

/// Finds a task index by id, 404 otherwise.
pub fn index_of(world: &World, id: &str) -> Result<usize, ApiError> {
    world.tasks.iter().position(|t| t.id == id).ok_or_else(|| {
        ApiError::sms(
            404,
            codes::SMS_TASK_NOT_FOUND,
            format!("task {id} does not exist"),
        )
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 255
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// `POST /v3/tasks`.
pub fn create(world: &mut World, req: CreateTaskRequest, now: i64) -> Result<String, ApiError> {
    if !valid_name(&req.name) {
        return Err(ApiError::sms_invalid(
            "name must be 1-255 letters, digits, '_' or '-'",
        ));
    }
    if req.task_type.is_unknown() {
        return Err(ApiError::sms_invalid(
            "type must be MIGRATE_FILE or MIGRATE_BLOCK",
        ));
    }
    if req.os_type.as_ref().is_some_and(OsType::is_unknown) {
        return Err(ApiError::sms_invalid("os_type must be WINDOWS or LINUX"));
    }
    for (field, value) in [
        ("region_id", &req.region_id),
        ("project_id", &req.project_id),
        ("target_server.name", &req.target_server.name),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::sms_invalid(format!("{field} is required")));
        }
    }
    if let Some(l) = req.speed_limit
        && !(0..=1000).contains(&l)
    {
        return Err(ApiError::sms_invalid("speed_limit must be 0..1000"));
    }
    let src = world
        .sources
        .iter_mut()
        .find(|s| s.id == req.source_server.id)
        .ok_or_else(|| {
            ApiError::sms(
                400,
                codes::SMS_SOURCE_NOT_FOUND,
                format!("source server {} does not exist", req.source_server.id),
            )
        })?;
    if let Some(existing) = &src.current_task {
        return Err(ApiError::sms(
            400,
            codes::SMS_SOURCE_HAS_TASK,
            format!("source server already has task {existing}"),
        ));
    }
    let id = new_id();
    src.current_task = Some(id.clone());
    src.timeline
        .set(now, (SourceState::Initialize, MigrationCycle::Setting));
    let mut req = req;
    if req.os_type.is_none() {
        req.os_type = src.reg.os_type.clone();
    }
    let target_vm_id =
        (!req.target_server.vm_id.is_empty()).then(|| req.target_server.vm_id.clone());
    let auto_start = req.auto_start.unwrap_or(false);
    world.tasks.push(TaskRec {
        id: id.clone(),
        req,
        create_ms: now,
        start_ms: None,
        finish_ms: None,
        state: Timeline::new(now, TaskState::Ready),
        full: None,
        sync: None,
        speed_windows: Vec::new(),
        history: Vec::new(),
        fail_next: false,
        cutover_done: false,
        target_vm_id,
        clone: None,
        error_json: None,
        network_check_info: None,
        log_collect_status: Some("INIT".into()),
        consistency: Vec::new(),
    });
    if auto_start {
        super::sms_action::start_full(world, &id, now)?;
    }
    Ok(id)
}

fn error_json(code: &str, msg: &str) -> String {
    serde_json::json!({"error_code": code, "error_msg": msg}).to_string()
}

/// Brings a task (and its source) up to `now`: finishes or fails runs whose time has come,
/// and records the results of consistency checks that finished.
pub fn resolve(task: &mut TaskRec, mut source: Option<&mut SourceRec>, now: i64) {
    advance(task, source.as_deref_mut(), now);
    super::sms_consistency::record(task, source.as_deref());
}

fn advance(task: &mut TaskRec, source: Option<&mut SourceRec>, now: i64) {
    let mut source = source;
    let mut set_source = |at: i64, s: SourceState, c: MigrationCycle| {
        if let Some(src) = source.as_deref_mut() {
            src.timeline.set(at, (s, c));
        }
    };
    for _ in 0..4 {
        let (state, _) = task.state.at(now);
        let kind = match state {
            TaskState::Running => RunKind::Full,
            TaskState::Syncing => RunKind::Sync,
            _ => return,
        };
        // Speed is sampled now; a change made later re-anchors through the next resolve.
        let speed = task.speed_mbit(now);
        let run = match kind {
            RunKind::Full => task.full.as_mut(),
            RunKind::Sync => task.sync.as_mut(),
        };
        let Some(run) = run else { return };
        let outcome = run.advance(now, speed);
        if kind == RunKind::Full
            && task.target_vm_id.is_none()
            && run
                .steps
                .first()
                .is_some_and(|s| s.name == "CREATE_CLOUD_SERVER" && s.end_ms.is_some())
        {
            task.target_vm_id = Some(new_id());
        }
        match outcome {
            RunOutcome::Running => return,
            RunOutcome::Failed(at) => {
                let (st, cycle, msg) = match kind {
                    RunKind::Full => (
                        TaskState::MigrateFail,
                        MigrationCycle::Replicating,
                        "replication failed",
                    ),
                    RunKind::Sync => (
                        TaskState::SyncFail,
                        MigrationCycle::Syncing,
                        "synchronization failed",
                    ),
                };
                task.state.set(at, st);
                task.error_json = Some(error_json("SMS.1901", msg));
                task.fail_next = false;
                set_source(at, SourceState::Error, cycle);
                return;
            }
            RunOutcome::Done(at) => {
                task.finish_ms = Some(at);
                if kind == RunKind::Full && task.req.syncing == Some(true) {
                    let bytes = task
                        .full
                        .as_ref()
                        .map_or(1, |r| (r.copy_progress().1 / 50).max(1 << 20));
                    let first_id = task.full.as_ref().map_or(1, Run::next_id);
                    task.sync = Some(Run::sync(
                        &task.os(),
                        &task.req.task_type,
                        bytes,
                        first_id,
                        at,
                    ));
                    task.state.set(at, TaskState::Syncing);
                    set_source(at, SourceState::Syncing, MigrationCycle::Syncing);
                    continue;
                }
                let st = if kind == RunKind::Full {
                    TaskState::MigrateSuccess
                } else {
                    TaskState::SyncSuccess
                };
                task.state.set(at, st);
                set_source(at, SourceState::Waiting, MigrationCycle::ReadyForTest);
                return;
            }
        }
    }
}

/// Resolves the task at `idx` against its source.
pub fn resolve_at(world: &mut World, idx: usize, now: i64) {
    let World { tasks, sources, .. } = world;
    if let Some(task) = tasks.get_mut(idx) {
        let src = sources
            .iter_mut()
            .find(|s| s.id == task.req.source_server.id);
        resolve(task, src, now);
    }
}

/// Resolves every task (one pass, sources looked up through an index).
pub fn resolve_all(world: &mut World, now: i64) {
    let World { tasks, sources, .. } = world;
    let index: HashMap<String, usize> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    for task in tasks.iter_mut() {
        let src = index.get(&task.req.source_server.id).copied();
        resolve(task, src.map(|i| &mut sources[i]), now);
    }
}

/// `PUT /v3/tasks/{id}`: applies the fields a user may change.
pub fn update(
    world: &mut World,
    id: &str,
    upd: UpdateTaskRequest,
    now: i64,
) -> Result<String, ApiError> {
    let idx = index_of(world, id)?;
    resolve_at(world, idx, now);
    let task = &mut world.tasks[idx];
    if let Some(name) = upd.name {
        if !valid_name(&name) {
            return Err(ApiError::sms_invalid(
                "name must be 1-255 letters, digits, '_' or '-'",
            ));
        }
        task.req.name = name;
    }
    if let Some(l) = upd.speed_limit {
        if !(0..=10_000).contains(&l) {
            return Err(ApiError::sms_invalid("speed_limit must be 0..10000"));
        }
        task.req.speed_limit = Some(l);
    }
    if let Some(p) = upd.priority {
        task.req.priority = Some(p);
    }
    if let Some(ip) = upd.migration_ip {
        task.req.migration_ip = Some(ip);
    }
    if let Some(b) = upd.start_target_server {
        task.req.start_target_server = Some(b);
    }
    if let Some(t) = upd.vm_template_id {
        task.req.vm_template_id = Some(t);
    }
    if let Some(b) = upd.exist_server {
        task.req.exist_server = Some(b);
    }
    if let Some(ts) = upd.target_server {
        if let Some(n) = ts.name {
            task.req.target_server.name = n;
        }
        if let Some(d) = ts.disks {
            task.req.target_server.disks = Some(d);
        }
    }
    Ok(task.id.clone())
}

/// `DELETE /v3/tasks/{id}`: refused while running, syncing or stopping.
pub fn delete(world: &mut World, id: &str, now: i64) -> Result<(), ApiError> {
    let idx = index_of(world, id)?;
    resolve_at(world, idx, now);
    let state = world.tasks[idx].state_at(now);
    if matches!(
        state,
        TaskState::Running | TaskState::Syncing | TaskState::Aborting
    ) {
        return Err(ApiError::sms(
            400,
            codes::SMS_DELETE_RUNNING,
            format!("task {id} is {state} and cannot be deleted"),
        ));
    }
    let task = world.tasks.remove(idx);
    if let Some(src) = world
        .sources
        .iter_mut()
        .find(|s| s.id == task.req.source_server.id)
    {
        src.current_task = None;
        if *src.timeline.value(now) == (SourceState::Initialize, MigrationCycle::Setting) {
            src.timeline
                .set(now, (SourceState::Waiting, MigrationCycle::Checking));
        }
    }
    Ok(())
}

/// `POST /v3/tasks/{id}/speed-limit`.
pub fn set_speed_windows(
    world: &mut World,
    id: &str,
    windows: Vec<SpeedLimitWindow>,
    now: i64,
) -> Result<(), ApiError> {
    let idx = index_of(world, id)?;
    for w in &windows {
        if !(0..=1000).contains(&w.speed) {
            return Err(ApiError::sms_invalid("speed must be 0..1000"));
        }
    }
    resolve_at(world, idx, now);
    world.tasks[idx].speed_windows = windows;
    Ok(())
}
