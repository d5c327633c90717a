//! `POST /v3/tasks/{task_id}/action`: every operation of seed 003 and its state rules.
//!
//! | operation | allowed when | effect | refused with |
//! |---|---|---|---|
//! | start | READY; ABORT (resume); MIGRATE_SUCCESS/SYNC_SUCCESS before cutover (sync round) | RUNNING / SYNCING | SMS.1039 |
//! | stop | RUNNING, SYNCING | ABORTING, ABORT after 10 s | SMS.1038 |
//! | restart | MIGRATE_FAIL, SYNC_FAIL, ABORT | new full copy (`user_op: RESTART`; the old subtasks stay, as history), RUNNING | SMS.1040 |
//! | test | MIGRATE_SUCCESS, SYNC_SUCCESS, SYNCING; not cut over | cycle testing, tested after 60 s | SMS.2009 |
//! | cutover | same as test | source cutovering, finished/cutovered after 60 s | SMS.2009 |
//! | clear | cut over and finished, or MIGRATE_FAIL/SYNC_FAIL | source clearing, cleared after 30 s | SMS.2009 |
//! | clone_test | MIGRATE_SUCCESS, SYNC_SUCCESS; needs `template_id` | clone CREATING, FINISHED after 120 s | SMS.2009 / SMS.1001 |
//! | migration_test | `need_migration_test` and MIGRATE_SUCCESS/SYNC_SUCCESS | source premiging, premiged after 60 s | SMS.2009 |
//! | skip | RUNNING while its `CONSISTENCY_CHECK` subtask runs (tasks created with `is_need_consistency_check` run one after the copy) | the check ends; SKIPPING for 5 s, then RUNNING | SMS.2009 |
//! | error_for_overspeed | RUNNING, SYNCING | ABORT at once | SMS.2009 |
//! | network_check, collect_log | any | fills `network_check_info` / log status | — |
//! | sync_failed_rollback | SYNC_FAIL | SYNC_F_ROLLBACKING, SYNC_F_ROLLBACK_SUCCESS after 30 s | SMS.2009 |
//!
//! A `start` or `restart` the task state allows is refused with 403 `SMS.1003` when the account
//! already runs as many migrations as its quota allows (see [`super::sms_quota`]).
//!
//! Actions other than stop/network_check/collect_log are also refused while the source is
//! in the middle of a timed transition (testing, cutovering, clearing, cloning, ...) or the
//! task is (ABORTING, SYNC_F_ROLLBACKING), with the code of the table; the message then names
//! that transition (e.g. "operation cutover is not allowed while a test launch of the target
//! server is in progress (source server waiting, migration_cycle testing)"), not the task
//! state, which may well be one the operation is allowed in. Likewise a refusal because the
//! task was already cut over, or lacks `need_migration_test` / `is_need_consistency_check` /
//! `template_id`, says so.

use super::World;
use super::run::Run;
use super::sms_quota;
use super::sms_task::{ABORTING_MS, CloneRec, index_of, resolve_at};
use super::timeline::Timeline;
use crate::api_error::{ApiError, codes};
use migplan_wire::sms::{
    CloneState, MigrationCycle, Operation, OsType, SourceState, TaskActionRequest, TaskState,
};

const TEST_MS: i64 = 60_000;
const CUTOVER_MS: i64 = 60_000;
const CLEAR_MS: i64 = 30_000;
const CLONE_MS: i64 = 120_000;
const PREMIG_MS: i64 = 60_000;
const ROLLBACK_MS: i64 = 30_000;
/// SKIPPING lasts this long after `skip`, then the run goes on (RUNNING).
const SKIP_MS: i64 = 5_000;

fn mismatch(op: &Operation, state: &TaskState) -> ApiError {
    ApiError::sms(
        400,
        codes::SMS_OPERATION_MISMATCH,
        format!("operation {op} is not allowed while the task is {state}"),
    )
}

/// A refusal whose cause is not the task state.
fn refused(code: &str, op: &Operation, why: &str) -> ApiError {
    ApiError::sms(400, code, format!("operation {op} is not allowed: {why}"))
}

/// What timed transition is under way, if any: the source's (a test launch, a cutover, ...)
/// or the task's own (ABORTING, SYNC_F_ROLLBACKING).
fn in_progress(
    task_state: &TaskState,
    task_pending: bool,
    source: Option<(&SourceState, &MigrationCycle, bool)>,
) -> Option<String> {
    if let Some((state, cycle, true)) = source {
        let what = match (state, cycle) {
            (_, MigrationCycle::Testing) => "a test launch of the target server",
            (SourceState::Cutovering, _) => "a cutover",
            (SourceState::Clearing, _) => "clearing of the migration resources",
            (SourceState::Cloning, _) => "a clone test",
            (SourceState::Premiging, _) => "a migration test",
            (SourceState::Stopping, _) => "pausing of the task",
            _ => "a change of the source server's state",
        };
        return Some(format!(
            "{what} is in progress (source server {state}, migration_cycle {cycle}); retry when it has finished"
        ));
    }
    task_pending.then(|| format!("the task is {task_state}; retry when that has finished"))
}

/// Starts a fresh full copy of task `id` for `auto_start`, unless the account's migration
/// quota is used up: the task then stays READY (see [`super::sms_quota`]).
pub fn start_full(world: &mut World, id: &str, now: i64) -> Result<(), ApiError> {
    let running = sms_quota::running(world, now);
    if world.quota.admit(running, &Operation::Start).is_err() {
        return Ok(());
    }
    world.quota.started(running);
    run_full(world, id, "REPLICATE", now)
}

/// Starts a full copy on behalf of `user_op`. A `RESTART` keeps the replaced runs' subtasks
/// as the task's history (ended now if they had not), and its own subtasks say `RESTART`.
fn run_full(world: &mut World, id: &str, user_op: &str, now: i64) -> Result<(), ApiError> {
    let idx = index_of(world, id)?;
    let World { tasks, sources, .. } = world;
    let task = &mut tasks[idx];
    let src = sources
        .iter_mut()
        .find(|s| s.id == task.req.source_server.id);
    let bytes = src.as_ref().map_or(1 << 30, |s| s.replicate_bytes());
    let fails = src
        .as_ref()
        .is_some_and(|s| s.fails() || (s.flaky() && user_op != "RESTART"));
    let os = task.req.os_type.clone().unwrap_or(OsType::Linux);
    let create_server = task.target_vm_id.is_none() && task.req.exist_server != Some(true);
    let mut first_id = 1;
    if user_op == "RESTART" {
        for run in [task.full.take(), task.sync.take()].into_iter().flatten() {
            first_id = first_id.max(run.next_id());
            task.history
                .extend(run.subtasks(0.0).into_iter().map(|mut s| {
                    s.end_date.get_or_insert(now);
                    s
                }));
        }
        first_id = first_id.max(task.history.iter().map(|s| s.id + 1).max().unwrap_or(1));
    }
    let mut run = Run::full(
        &os,
        &task.req.task_type,
        bytes,
        create_server,
        (user_op, first_id),
        now,
    );
    if task.req.is_need_consistency_check == Some(true) {
        run.add_consistency_check();
    }
    if fails || task.fail_next {
        run.arm_failure();
    }
    task.full = Some(run);
    task.sync = None;
    task.error_json = None;
    task.start_ms.get_or_insert(now);
    task.finish_ms = None;
    task.state.set(now, TaskState::Running);
    if let Some(src) = src {
        src.timeline
            .set(now, (SourceState::Replicate, MigrationCycle::Replicating));
    }
    Ok(())
}

/// Applies an action to task `id` at virtual time `now`.
pub fn apply(
    world: &mut World,
    id: &str,
    req: &TaskActionRequest,
    now: i64,
) -> Result<(), ApiError> {
    let idx = index_of(world, id)?;
    resolve_at(world, idx, now);
    let op = &req.operation;
    // Migrations running before this operation: only `start` and `restart` can add one.
    let migrating = match op {
        Operation::Start | Operation::Restart => sms_quota::running(world, now),
        _ => 0,
    };
    let state = world.tasks[idx].state_at(now);
    let World {
        tasks,
        sources,
        quota,
        ..
    } = world;
    let task = &mut tasks[idx];
    let mut src = sources
        .iter_mut()
        .find(|s| s.id == task.req.source_server.id);
    let src_pending = src.as_ref().is_some_and(|s| s.timeline.pending(now));
    let task_pending = task.state.pending(now);
    let busy = src_pending || task_pending;
    let (src_state, src_cycle) = src
        .as_ref()
        .map_or((SourceState::Waiting, MigrationCycle::Checking), |s| {
            s.timeline.value(now).clone()
        });
    // Why an operation allowed in `state` is refused anyway.
    let busy_why = in_progress(
        &state,
        task_pending,
        src.is_some()
            .then_some((&src_state, &src_cycle, src_pending)),
    );
    let cutover_done = task.cutover_done;
    // The refusal of an operation the task state allows but a transition in progress (or,
    // with `check_cutover`, a cutover already done) blocks; `None` when nothing blocks it.
    let blocked = |code: &str, check_cutover: bool| -> Option<ApiError> {
        busy_why
            .clone()
            .or_else(|| {
                (check_cutover && cutover_done)
                    .then(|| "the task has already been cut over".to_owned())
            })
            .map(|why| refused(code, op, &why))
    };
    let success = matches!(state, TaskState::MigrateSuccess | TaskState::SyncSuccess);
    let running = matches!(state, TaskState::Running | TaskState::Syncing);
    let mut set_src = |at: i64, s: SourceState, c: MigrationCycle, schedule: bool| {
        if let Some(src) = src.as_deref_mut() {
            if schedule {
                src.timeline.then(at, (s, c))
            } else {
                src.timeline.set(at, (s, c))
            }
        }
    };
    match op {
        Operation::Start => match state {
            TaskState::Ready => {
                quota.admit(migrating, op)?;
                quota.started(migrating);
                return run_full(world, id, "REPLICATE", now);
            }
            TaskState::Abort => {
                quota.admit(migrating, op)?;
                quota.started(migrating);
                let resume_sync = task.sync.as_ref().is_some_and(|r| !r.is_done());
                let run = if resume_sync {
                    task.sync.as_mut()
                } else {
                    task.full.as_mut()
                };
                match run {
                    Some(run) => run.set_paused(false, now),
                    None => return run_full(world, id, "REPLICATE", now),
                }
                if resume_sync {
                    task.state.set(now, TaskState::Syncing);
                    set_src(now, SourceState::Syncing, MigrationCycle::Syncing, false);
                } else {
                    task.state.set(now, TaskState::Running);
                    set_src(
                        now,
                        SourceState::Replicate,
                        MigrationCycle::Replicating,
                        false,
                    );
                }
            }
            _ if success && !task.cutover_done && !busy => {
                quota.admit(migrating, op)?;
                quota.started(migrating);
                let total = task.full.as_ref().map_or(1 << 30, |r| r.copy_progress().1);
                let first_id = task
                    .sync
                    .as_ref()
                    .or(task.full.as_ref())
                    .map_or(1, Run::next_id);
                let os = task.req.os_type.clone().unwrap_or(OsType::Linux);
                let mut run = Run::sync(
                    &os,
                    &task.req.task_type,
                    (total / 50).max(1 << 20),
                    first_id,
                    now,
                );
                if task.fail_next {
                    run.arm_failure();
                }
                task.sync = Some(run);
                task.state.set(now, TaskState::Syncing);
                set_src(now, SourceState::Syncing, MigrationCycle::Syncing, false);
            }
            _ => {
                if success && let Some(e) = blocked(codes::SMS_START_NOT_ALLOWED, true) {
                    return Err(e);
                }
                return Err(ApiError::sms(
                    400,
                    codes::SMS_START_NOT_ALLOWED,
                    format!("only ready or paused tasks can be started; the task is {state}"),
                ));
            }
        },
        Operation::Stop | Operation::ErrorForOverspeed => {
            if !running {
                return Err(if *op == Operation::Stop {
                    ApiError::sms(
                        400,
                        codes::SMS_STOP_NOT_RUNNING,
                        format!("only running tasks can be paused; the task is {state}"),
                    )
                } else {
                    mismatch(op, &state)
                });
            }
            let cycle = if state == TaskState::Syncing {
                MigrationCycle::Syncing
            } else {
                MigrationCycle::Replicating
            };
            for run in [task.full.as_mut(), task.sync.as_mut()]
                .into_iter()
                .flatten()
            {
                if !run.is_done() {
                    run.set_paused(true, now);
                }
            }
            if *op == Operation::Stop {
                task.state.set(now, TaskState::Aborting);
                task.state.then(now + ABORTING_MS, TaskState::Abort);
                set_src(now, SourceState::Stopping, cycle.clone(), false);
                set_src(now + ABORTING_MS, SourceState::Stopped, cycle, true);
            } else {
                task.state.set(now, TaskState::Abort);
                task.error_json = Some(r#"{"error_code":"SMS.1301","error_msg":"the task was paused because it exceeded its speed limit"}"#.into());
                set_src(now, SourceState::Stopped, cycle, false);
            }
        }
        Operation::Restart => {
            if !matches!(
                state,
                TaskState::MigrateFail | TaskState::SyncFail | TaskState::Abort
            ) {
                return Err(ApiError::sms(
                    400,
                    codes::SMS_RESTART_NOT_ALLOWED,
                    format!("only failed or paused tasks can be restarted; the task is {state}"),
                ));
            }
            quota.admit(migrating, op)?;
            quota.started(migrating);
            return run_full(world, id, "RESTART", now);
        }
        Operation::Test | Operation::Cutover => {
            if !(success || state == TaskState::Syncing) {
                return Err(mismatch(op, &state));
            }
            if let Some(e) = blocked(codes::SMS_OPERATION_MISMATCH, true) {
                return Err(e);
            }
            if state == TaskState::Syncing {
                if let Some(run) = task.sync.as_mut() {
                    run.set_paused(true, now);
                }
                task.state.set(now, TaskState::SyncSuccess);
                task.finish_ms = Some(now);
            }
            if *op == Operation::Test {
                set_src(now, SourceState::Waiting, MigrationCycle::Testing, false);
                set_src(
                    now + TEST_MS,
                    SourceState::Waiting,
                    MigrationCycle::Tested,
                    true,
                );
            } else {
                task.cutover_done = true;
                set_src(
                    now,
                    SourceState::Cutovering,
                    MigrationCycle::Cutovering,
                    false,
                );
                set_src(
                    now + CUTOVER_MS,
                    SourceState::Finished,
                    MigrationCycle::Cutovered,
                    true,
                );
            }
        }
        Operation::Clear => {
            let finished = task.cutover_done && src_state == SourceState::Finished;
            let failed = matches!(state, TaskState::MigrateFail | TaskState::SyncFail);
            if let Some(e) = blocked(codes::SMS_OPERATION_MISMATCH, false) {
                return Err(e);
            }
            if !(finished || failed) {
                return Err(if cutover_done {
                    refused(
                        codes::SMS_OPERATION_MISMATCH,
                        op,
                        &format!("the source server is {src_state}, not finished"),
                    )
                } else if success {
                    refused(
                        codes::SMS_OPERATION_MISMATCH,
                        op,
                        "the task has not been cut over yet",
                    )
                } else {
                    mismatch(op, &state)
                });
            }
            set_src(now, SourceState::Clearing, src_cycle.clone(), false);
            set_src(now + CLEAR_MS, SourceState::Cleared, src_cycle, true);
        }
        Operation::CloneTest => {
            if req.template_id.as_deref().is_none_or(str::is_empty) {
                return Err(ApiError::sms_invalid(
                    "template_id is required for clone_test",
                ));
            }
            if !success {
                return Err(mismatch(op, &state));
            }
            if let Some(e) = blocked(codes::SMS_OPERATION_MISMATCH, false) {
                return Err(e);
            }
            let mut clone_state = Timeline::new(now, CloneState::Creating);
            clone_state.then(now + CLONE_MS, CloneState::Finished);
            task.clone = Some(CloneRec {
                vm_id: super::new_id(),
                name: format!("{}-clone", task.req.target_server.name),
                state: clone_state,
            });
            set_src(now, SourceState::Cloning, src_cycle.clone(), false);
            set_src(now + CLONE_MS, src_state, src_cycle, true);
        }
        Operation::MigrationTest => {
            if task.req.need_migration_test != Some(true) {
                return Err(refused(
                    codes::SMS_OPERATION_MISMATCH,
                    op,
                    "the task was created without need_migration_test",
                ));
            }
            if !success {
                return Err(mismatch(op, &state));
            }
            if let Some(e) = blocked(codes::SMS_OPERATION_MISMATCH, false) {
                return Err(e);
            }
            set_src(now, SourceState::Premiging, src_cycle.clone(), false);
            set_src(now + PREMIG_MS, SourceState::Premiged, src_cycle, true);
        }
        Operation::Skip => {
            if !running {
                return Err(mismatch(op, &state));
            }
            if task.req.is_need_consistency_check != Some(true) {
                return Err(refused(
                    codes::SMS_OPERATION_MISMATCH,
                    op,
                    "the task was created without is_need_consistency_check",
                ));
            }
            if !task.full.as_mut().is_some_and(|r| r.skip_check(now)) {
                return Err(refused(
                    codes::SMS_OPERATION_MISMATCH,
                    op,
                    "no consistency check is running",
                ));
            }
            task.state.set(now, TaskState::Skipping);
            task.state.then(now + SKIP_MS, TaskState::Running);
        }
        Operation::NetworkCheck => {
            task.network_check_info = Some(serde_json::json!({
                "domain_connectivity": true, "destination_connectivity": true, "network_delay": 2.5,
                "network_jitter": 0.3, "migration_speed": task.speed_mbit(now), "loss_percentage": 0.0,
                "cpu_usage": 12.0, "mem_usage": 30.0, "evaluation_result": "good"
            }));
        }
        Operation::CollectLog => task.log_collect_status = Some("UPLOADED".into()),
        Operation::SyncFailedRollback => {
            if state != TaskState::SyncFail {
                return Err(mismatch(op, &state));
            }
            task.state.set(now, TaskState::SyncFRollbacking);
            task.state
                .then(now + ROLLBACK_MS, TaskState::SyncFRollbackSuccess);
        }
        Operation::Unknown(other) => {
            return Err(ApiError::sms_invalid(format!(
                "unsupported operation {other:?}"
            )));
        }
    }
    Ok(())
}

/// Admin hook: make task `id` fail — now if it is replicating, else on its next replication.
pub fn fail(world: &mut World, id: &str, now: i64) -> Result<(), ApiError> {
    let idx = index_of(world, id)?;
    resolve_at(world, idx, now);
    let task = &mut world.tasks[idx];
    task.fail_next = true;
    let state = task.state_at(now);
    let run = match state {
        TaskState::Running => task.full.as_mut(),
        TaskState::Syncing => task.sync.as_mut(),
        _ => None,
    };
    if let Some(run) = run {
        run.fail_at = Some((run.current.min(run.steps.len().saturating_sub(1)), 0.0));
        resolve_at(world, idx, now);
    }
    Ok(())
}
