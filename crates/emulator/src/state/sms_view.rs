//! Wire views of SMS tasks and sources (`GET` answers), built from resolved records.

use super::World;
use super::run::Run;
use super::sms_source::{self, SourceRec};
use super::sms_task::TaskRec;
use migplan_wire::sms::{
    CloneServer, SubTask, Task, TaskBrief, TaskSourceServer, TaskState, TaskTargetServer,
};
use std::collections::HashMap;

fn subtasks(task: &TaskRec, speed: f64) -> Vec<SubTask> {
    let mut out = task.history.clone();
    if let Some(r) = &task.full {
        out.extend(r.subtasks(speed));
    }
    if let Some(s) = &task.sync {
        out.extend(s.subtasks(speed));
    }
    out
}

/// The wire view of a resolved task.
pub fn view(task: &TaskRec, source: Option<&SourceRec>, now: i64) -> Task {
    let state = task.state_at(now);
    let speed = task.speed_mbit(now);
    let running = matches!(state, TaskState::Running | TaskState::Syncing);
    let run = if state == TaskState::Syncing {
        task.sync.as_ref()
    } else {
        task.full.as_ref()
    };
    let remain_ms = run.filter(|_| running).map(|r| r.remaining_ms(speed));
    let copying = running && run.is_some_and(Run::copying);
    let src_state = source.map(|s| s.timeline.value(now).clone());
    let r = &task.req;
    Task {
        id: task.id.clone(),
        name: r.name.clone(),
        task_type: Some(r.task_type.clone()),
        os_type: r.os_type.clone(),
        state: Some(state),
        priority: Some(r.priority.unwrap_or(1)),
        speed_limit: Some(r.speed_limit.unwrap_or(0)),
        region_id: Some(r.region_id.clone()),
        region_name: Some(r.region_name.clone()),
        project_name: Some(r.project_name.clone()),
        project_id: Some(r.project_id.clone()),
        vm_template_id: r.vm_template_id.clone(),
        start_target_server: Some(r.start_target_server.unwrap_or(true)),
        enterprise_project_id: Some(
            r.enterprise_project_id
                .clone()
                .unwrap_or_else(|| "0".into()),
        ),
        migration_ip: r.migration_ip.clone(),
        exist_server: Some(r.exist_server.unwrap_or(false)),
        use_public_ip: Some(r.use_public_ip.unwrap_or(true)),
        use_ipv6: Some(r.use_ipv6.unwrap_or(false)),
        syncing: Some(r.syncing.unwrap_or(false)),
        need_migration_test: Some(r.need_migration_test.unwrap_or(false)),
        source_server: Some(TaskSourceServer {
            id: r.source_server.id.clone(),
            ip: source.map(SourceRec::ip),
            name: source.map(|s| s.reg.name.clone()),
            os_type: source.and_then(|s| s.reg.os_type.clone()),
            os_version: source.map(|s| s.reg.os_version.clone()),
            oem_system: Some(false),
            state: src_state.as_ref().map(|(s, _)| s.clone()),
            migration_cycle: src_state.map(|(_, c)| c),
        }),
        target_server: Some(TaskTargetServer {
            id: task.target_vm_id.clone(),
            vm_id: Some(task.target_vm_id.clone().unwrap_or_default()),
            name: Some(r.target_server.name.clone()),
            ip: r.migration_ip.clone(),
            os_type: r.os_type.clone(),
            os_version: source.map(|s| s.reg.os_version.clone()),
            disks: r.target_server.disks.clone(),
            ..TaskTargetServer::default()
        }),
        clone_server: task.clone.as_ref().map(|c| CloneServer {
            vm_id: Some(c.vm_id.clone()),
            name: Some(c.name.clone()),
            clone_state: Some(c.state.value(now).clone()),
            ..CloneServer::default()
        }),
        connected: Some(source.is_none_or(|s| s.connected)),
        estimate_complete_time: remain_ms.map(|ms| now.saturating_add(ms)),
        create_date: Some(task.create_ms),
        start_date: task.start_ms,
        finish_date: task.finish_ms,
        migrate_speed: Some(if copying { speed } else { 0.0 }),
        compress_rate: Some(if copying { 1.2 } else { 0.0 }),
        error_json: task.error_json.clone(),
        total_time: task
            .start_ms
            .map(|s| task.finish_ms.filter(|_| !running).unwrap_or(now) - s),
        remain_seconds: remain_ms.map(|ms| ms.saturating_add(999) / 1000),
        target_snapshot_id: None,
        sub_tasks: subtasks(task, speed),
        network_check_info: task.network_check_info.clone(),
        log_collect_status: task.log_collect_status.clone(),
        subtask_info: run.filter(|_| running).map(Run::info),
    }
}

/// The `current_task` brief of a source.
pub fn brief(task: &TaskRec, now: i64) -> TaskBrief {
    let t = view(task, None, now);
    TaskBrief {
        id: t.id,
        name: Some(t.name),
        task_type: t.task_type,
        state: t.state,
        estimate_complete_time: t.estimate_complete_time,
        start_date: t.start_date,
        speed_limit: t.speed_limit,
        migrate_speed: t.migrate_speed,
        compress_rate: t.compress_rate,
        start_target_server: t.start_target_server,
        vm_template_id: t.vm_template_id,
        region_id: t.region_id,
        project_name: t.project_name,
        project_id: t.project_id,
        exist_server: t.exist_server,
        use_public_ip: t.use_public_ip,
        remain_seconds: t.remain_seconds,
        subtask_info: t.subtask_info,
    }
}

/// The source record of a task, if it still exists.
pub fn source_of<'w>(world: &'w World, task: &TaskRec) -> Option<&'w SourceRec> {
    world
        .sources
        .iter()
        .find(|s| s.id == task.req.source_server.id)
}

/// The wire view of a source with the brief of its current task (`task`, looked up by the
/// caller, e.g. through [`tasks_by_id`]).
pub fn source_view(
    src: &SourceRec,
    task: Option<&TaskRec>,
    now: i64,
    detail: bool,
) -> migplan_wire::sms::SourceServer {
    let mut v = sms_source::view(src, now, detail);
    if let Some(task) = task {
        v.current_task = Some(brief(task, now));
        v.is_consistency_result_exist = Some(!task.consistency.is_empty());
        if let Some(run) = &task.full {
            v.replicatesize = Some(run.copy_progress().0);
        }
    }
    v
}

/// Tasks by id, for building many views at once.
pub fn tasks_by_id(world: &World) -> HashMap<&str, &TaskRec> {
    world.tasks.iter().map(|t| (t.id.as_str(), t)).collect()
}

/// Sources by id, for building many views at once.
pub fn sources_by_id(world: &World) -> HashMap<&str, &SourceRec> {
    world.sources.iter().map(|s| (s.id.as_str(), s)).collect()
}
