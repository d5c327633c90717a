//! DCS online Redis migration tasks and jobs.
//!
//! | step | status |
//! |---|---|
//! | create (`POST .../migration/instance`) | CREATING; job RUNNING → SUCCESS and task RUNNING after 10 s |
//! | configure (only in RUNNING) | FULLMIGRATING, then after 120 s SUCCESS (full) or INCRMIGEATING (incremental, stays) |
//! | stop (FULLMIGRATING, INCRMIGEATING, RUNNING) | TERMINATING, TERMINATED after 10 s |
//! | batch-restart (TERMINATED, FAILED, SUCCESS; configured) | FULLMIGRATING → ... as configure |
//! | failure (admin hook) | FAILED |
//! | delete (not while CREATING/FULLMIGRATING/INCRMIGEATING/TERMINATING) | gone; show answers 400 DCS.4133 |
//!
//! When both ends are real Redis servers ([`crate::redis_mover`]), FULLMIGRATING ends when the
//! copy is done rather than after 120 s, a lost connection fails the task, and the statistics
//! count the real keys.
//!
//! Refusals use 400 `DCS.4957`; unknown ids 400 `DCS.4133`.

use super::timeline::Timeline;
use super::{World, new_id};
use crate::api_error::{ApiError, codes};
use migplan_wire::dcs::{
    ConfigureTaskRequest, CreateOnlineTaskRequest, Job, JobStatus, MigrationMethod,
    MigrationStatus, MigrationTask, MigrationTaskListItem, MigrationType, ResumeMode, TaskInstance,
};
use serde::{Deserialize, Serialize};

/// Virtual time the migration ECS takes to be created.
pub const CREATE_MS: i64 = 10_000;
/// Virtual time of a full copy.
pub const FULL_MS: i64 = 120_000;
/// Virtual time of TERMINATING.
pub const TERMINATE_MS: i64 = 10_000;

/// A DCS migration task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DcsTaskRec {
    /// Task id (`instance_id` of create).
    pub id: String,
    /// Project the task belongs to.
    pub project_id: String,
    /// The create body.
    pub create: CreateOnlineTaskRequest,
    /// Creation time.
    pub created_ms: i64,
    /// Last change time.
    pub updated_ms: i64,
    /// Status over time.
    pub status: Timeline<MigrationStatus>,
    /// The configuration, once configured.
    pub config: Option<ConfigureTaskRequest>,
    /// Current resume mode.
    pub resume_mode: Option<ResumeMode>,
    /// When the current full copy started.
    pub copy_started_ms: Option<i64>,
    /// Fail the next (or current) copy (admin hook).
    pub fail_next: bool,
    /// Private IP of the migration ECS.
    pub ecs_ip: String,
    /// The copy (its `copy_started_ms`) a real Redis data mover serves, if any
    /// ([`crate::redis_mover`]); not persisted: a restarted emulator has no mover.
    #[serde(skip)]
    pub mover_copy_ms: Option<i64>,
    /// Keys on the source and keys copied, while a real mover runs; the statistics show them.
    #[serde(skip)]
    pub moved_keys: Option<(u64, u64)>,
}

/// An asynchronous job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRec {
    /// Job id.
    pub job_id: String,
    /// Project.
    pub project_id: String,
    /// Type.
    pub job_type: String,
    /// Start.
    pub begin_ms: i64,
    /// Status over time.
    pub status: Timeline<JobStatus>,
}

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::dcs(
        400,
        codes::DCS_NOT_FOUND,
        format!("{what} {id} is not found."),
    )
}

fn state_error(status: &MigrationStatus, action: &str) -> ApiError {
    ApiError::dcs(
        400,
        codes::DCS_STATE,
        format!("cannot {action} a migration task whose status is {status}"),
    )
}

fn fmt_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Finds a task of `project` by id.
pub fn find_mut<'w>(
    world: &'w mut World,
    project: &str,
    id: &str,
) -> Result<&'w mut DcsTaskRec, ApiError> {
    world
        .dcs_tasks
        .iter_mut()
        .find(|t| t.id == id && t.project_id == project)
        .ok_or_else(|| not_found("Instance job", id))
}

/// `POST /v2/{project_id}/migration/instance`; returns `(task_id, job_id)`.
pub fn create(
    world: &mut World,
    project: &str,
    req: CreateOnlineTaskRequest,
    now: i64,
) -> Result<(String, String), ApiError> {
    if req.name.trim().is_empty() {
        return Err(ApiError::dcs_invalid("invalid name in request."));
    }
    for (field, v) in [
        ("vpc_id", &req.vpc_id),
        ("subnet_id", &req.subnet_id),
        ("security_group_id", &req.security_group_id),
    ] {
        if v.trim().is_empty() {
            return Err(ApiError::dcs_invalid(format!(
                "invalid {field} in request."
            )));
        }
    }
    let id = new_id();
    let job_id = new_id();
    let mut status = Timeline::new(now, MigrationStatus::Creating);
    status.then(now + CREATE_MS, MigrationStatus::Running);
    let mut job_status = Timeline::new(now, JobStatus::Running);
    job_status.then(now + CREATE_MS, JobStatus::Success);
    let n = world.dcs_tasks.len();
    world.dcs_tasks.push(DcsTaskRec {
        id: id.clone(),
        project_id: project.to_owned(),
        create: req,
        created_ms: now,
        updated_ms: now,
        status,
        config: None,
        resume_mode: None,
        copy_started_ms: None,
        fail_next: false,
        mover_copy_ms: None,
        moved_keys: None,
        ecs_ip: format!("192.168.{}.{}", (n / 250) % 250, (n % 250) + 2),
    });
    world.jobs.push(JobRec {
        job_id: job_id.clone(),
        project_id: project.to_owned(),
        job_type: "createMigrationTask".into(),
        begin_ms: now,
        status: job_status,
    });
    Ok((id, job_id))
}

/// `GET /v2/{project_id}/jobs/{job_id}`.
pub fn job(world: &World, project: &str, job_id: &str, now: i64) -> Result<Job, ApiError> {
    let j = world
        .jobs
        .iter()
        .find(|j| j.job_id == job_id && j.project_id == project)
        .ok_or_else(|| not_found("Job", job_id))?;
    let (status, since) = j.status.at(now);
    let done = matches!(status, JobStatus::Success | JobStatus::Fail);
    Ok(Job {
        job_id: j.job_id.clone(),
        job_type: Some(j.job_type.clone()),
        status: Some(status.clone()),
        begin_time: Some(j.begin_ms.to_string()),
        end_time: done.then(|| since.to_string()),
        fail_reason: None,
    })
}

fn start_copy(t: &mut DcsTaskRec, now: i64) {
    let incremental = t
        .config
        .as_ref()
        .is_some_and(|c| c.migration_method == MigrationMethod::Incremental);
    t.status.set(now, MigrationStatus::FullMigrating);
    if t.fail_next {
        t.fail_next = false;
        t.status.then(now + FULL_MS / 2, MigrationStatus::Failed);
    } else {
        t.status.then(
            now + FULL_MS,
            if incremental {
                MigrationStatus::IncrMigrating
            } else {
                MigrationStatus::Success
            },
        );
    }
    t.copy_started_ms = Some(now);
    t.updated_ms = now;
}

/// `POST /v2/{project_id}/migration/{task_id}/task`.
pub fn configure(
    world: &mut World,
    project: &str,
    id: &str,
    req: ConfigureTaskRequest,
    now: i64,
) -> Result<(String, String, MigrationStatus), ApiError> {
    for (name, inst) in [
        ("source_instance", &req.source_instance),
        ("target_instance", &req.target_instance),
    ] {
        let has = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !has(&inst.id) && !has(&inst.addrs) {
            return Err(ApiError::dcs_invalid(format!(
                "invalid {name} in request: id or addrs is required."
            )));
        }
    }
    if req.migration_method.is_unknown() || req.resume_mode.is_unknown() {
        return Err(ApiError::dcs_invalid(
            "invalid migration_method or resume_mode in request.",
        ));
    }
    if let Some(b) = req.bandwidth_limit_mb
        && !(1..=10_240).contains(&b.0)
    {
        return Err(ApiError::dcs_invalid(
            "invalid bandwidth_limit_mb in request.",
        ));
    }
    let t = find_mut(world, project, id)?;
    let status = t.status.value(now).clone();
    if status != MigrationStatus::Running || t.config.is_some() {
        return Err(state_error(&status, "configure"));
    }
    t.resume_mode = Some(req.resume_mode.clone());
    t.config = Some(req);
    start_copy(t, now);
    Ok((
        t.id.clone(),
        t.create.name.clone(),
        t.status.value(now).clone(),
    ))
}

/// `POST .../migration-task/{id}/stop` (and `sync-stop` when `incremental_only`).
pub fn stop(
    world: &mut World,
    project: &str,
    id: &str,
    incremental_only: bool,
    now: i64,
) -> Result<(), ApiError> {
    let t = find_mut(world, project, id)?;
    let status = t.status.value(now).clone();
    let allowed = if incremental_only {
        status == MigrationStatus::IncrMigrating
    } else {
        matches!(
            status,
            MigrationStatus::FullMigrating
                | MigrationStatus::IncrMigrating
                | MigrationStatus::Running
                | MigrationStatus::Migrating
        )
    };
    if !allowed {
        return Err(state_error(&status, "stop"));
    }
    t.status.set(now, MigrationStatus::Terminating);
    t.status
        .then(now + TERMINATE_MS, MigrationStatus::Terminated);
    t.updated_ms = now;
    Ok(())
}

/// Restart of one task (batch-restart).
pub fn restart(world: &mut World, project: &str, id: &str, now: i64) -> Result<(), ApiError> {
    let t = find_mut(world, project, id)?;
    let status = t.status.value(now).clone();
    if t.config.is_none()
        || !matches!(
            status,
            MigrationStatus::Terminated | MigrationStatus::Failed | MigrationStatus::Success
        )
    {
        return Err(state_error(&status, "restart"));
    }
    start_copy(t, now);
    Ok(())
}

/// `DELETE .../migration-tasks/delete`: all or nothing.
pub fn delete(world: &mut World, project: &str, ids: &[String], now: i64) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Err(ApiError::dcs_invalid("invalid task_id_list in request."));
    }
    for id in ids {
        let t = find_mut(world, project, id)?;
        let status = t.status.value(now).clone();
        if matches!(
            status,
            MigrationStatus::Creating
                | MigrationStatus::FullMigrating
                | MigrationStatus::IncrMigrating
                | MigrationStatus::Terminating
        ) {
            return Err(state_error(&status, "delete"));
        }
    }
    world
        .dcs_tasks
        .retain(|t| !(t.project_id == project && ids.contains(&t.id)));
    Ok(())
}

/// Admin hook: fail the task now if copying, else its next copy.
pub fn fail(world: &mut World, id: &str, now: i64) -> Result<(), ApiError> {
    let t = world
        .dcs_tasks
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| not_found("Instance job", id))?;
    match t.status.value(now) {
        MigrationStatus::FullMigrating | MigrationStatus::IncrMigrating => {
            t.status.set(now, MigrationStatus::Failed)
        }
        _ => t.fail_next = true,
    }
    Ok(())
}

fn instance(c: Option<&migplan_wire::dcs::ConfigInstance>) -> Option<TaskInstance> {
    c.map(|c| TaskInstance {
        id: c.id.clone(),
        name: c
            .id
            .as_ref()
            .map(|id| format!("dcs-{}", id.chars().take(8).collect::<String>())),
        addrs: c.addrs.clone(),
        password: c.password.clone(),
        ..TaskInstance::default()
    })
}

/// The wire view of a task (show / stop).
pub fn view(t: &DcsTaskRec, now: i64) -> MigrationTask {
    let (status, since) = t.status.at(now);
    MigrationTask {
        task_id: t.id.clone(),
        task_name: t.create.name.clone(),
        description: t.create.description.clone(),
        status: Some(status.clone()),
        migration_type: Some(MigrationType::OnlineMigration),
        migration_method: t.config.as_ref().map(|c| c.migration_method.clone()),
        ecs_tenant_private_ip: Some(t.ecs_ip.clone()),
        network_type: Some("vpc".into()),
        source_instance: instance(t.config.as_ref().map(|c| &c.source_instance)),
        target_instance: instance(t.config.as_ref().map(|c| &c.target_instance)),
        created_at: Some(fmt_time(t.created_ms)),
        updated_at: Some(fmt_time(t.updated_ms.max(since))),
        released_at: None,
        version: Some("v2".into()),
        resume_mode: t.resume_mode.clone(),
        supported_features: Some(vec!["supported_ssl".into()]),
        tenant_vpc_id: Some(t.create.vpc_id.clone()),
        tenant_subnet_id: Some(t.create.subnet_id.clone()),
        tenant_security_group_id: Some(t.create.security_group_id.clone()),
        bandwidth_limit_mb: t.config.as_ref().and_then(|c| c.bandwidth_limit_mb),
        task_status: None,
    }
}

/// The wire list item of a task.
pub fn list_item(t: &DcsTaskRec, now: i64) -> MigrationTaskListItem {
    let v = view(t, now);
    let src = t.config.as_ref().map(|c| &c.source_instance);
    let tgt = t.config.as_ref().map(|c| &c.target_instance);
    MigrationTaskListItem {
        task_id: v.task_id,
        task_name: v.task_name,
        status: v.status,
        migration_type: v.migration_type,
        migration_method: v.migration_method,
        ecs_tenant_private_ip: v.ecs_tenant_private_ip,
        data_source: src.and_then(|s| s.addrs.clone().or_else(|| s.id.clone())),
        source_instance_name: None,
        source_instance_id: src.and_then(|s| s.id.clone()),
        target_instance_addrs: tgt.and_then(|s| s.addrs.clone()),
        target_instance_name: None,
        target_instance_id: tgt.and_then(|s| s.id.clone()),
        created_at: v.created_at,
        description: v.description,
        error_message: None,
        released_at: None,
        version: v.version,
        resume_mode: v.resume_mode,
        supported_features: v.supported_features,
    }
}

/// Progress statistics.
pub fn stats(t: &DcsTaskRec, now: i64) -> migplan_wire::dcs::MigrationStats {
    let status = t.status.value(now).clone();
    let progress = match (&status, t.copy_started_ms) {
        (MigrationStatus::FullMigrating, Some(s)) => ((now - s) * 100 / FULL_MS).clamp(0, 99),
        (
            MigrationStatus::Success | MigrationStatus::IncrMigrating | MigrationStatus::Terminated,
            Some(_),
        ) => 100,
        _ => 0,
    };
    // A real copy reports its keys; a simulated one a fixed 100,000 moved at the clock's pace.
    let (progress, keys, copied) = match t.moved_keys {
        Some((source, copied)) => {
            let progress = if status == MigrationStatus::FullMigrating {
                (copied.saturating_mul(100) / source.max(1)).min(99) as i64
            } else {
                progress
            };
            (progress, source as i64, copied as i64)
        }
        None => (progress, 100_000, 100_000 * progress / 100),
    };
    migplan_wire::dcs::MigrationStats {
        full_migration_progress: Some(progress.to_string()),
        offset: Some((progress * 1_000).to_string()),
        source_dbsize: Some(keys.to_string()),
        target_dbsize: Some(copied.to_string()),
        target_input_kbps: Some(
            if matches!(
                status,
                MigrationStatus::FullMigrating | MigrationStatus::IncrMigrating
            ) {
                "2048"
            } else {
                "0"
            }
            .into(),
        ),
        target_ops: Some(
            if status == MigrationStatus::IncrMigrating {
                "150"
            } else {
                "0"
            }
            .into(),
        ),
        is_migrating: Some(matches!(
            status,
            MigrationStatus::FullMigrating | MigrationStatus::IncrMigrating
        )),
    }
}
