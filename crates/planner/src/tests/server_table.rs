use migplan_wire::sms::{MigrationCycle, SourceState, SubTask, Task, TaskState};

use super::{outcome, run, source, spec};
use crate::{Change, Current, LiveSnapshot};

fn server_spec(stage: &str, syncing: bool) -> migplan_parser::Spec {
    spec(&format!(
        "servers:\n  - name: web-01\n    target: {{server_id: ecs-1, migration_ip: 10.0.0.9}}\n    syncing: {syncing}\n    stage: {stage}\n"
    ))
}

/// Live: `state` is the task state (`-` = no task), then optional source state and cycle.
fn live(state: &str, src_state: Option<&str>, cycle: Option<&str>) -> LiveSnapshot {
    let mut s = source("web-01");
    s.state = src_state.map(SourceState::parse);
    s.migration_cycle = cycle.map(MigrationCycle::parse);
    let tasks = if state == "-" {
        vec![]
    } else {
        vec![Task {
            id: "task-1".into(),
            name: "web-01".into(),
            state: Some(TaskState::parse(state)),
            error_json: Some("{\"error_code\":\"SMS.1807\"}".into()),
            ..Task::default()
        }]
    };
    LiveSnapshot {
        sources: vec![s],
        tasks,
        ..LiveSnapshot::default()
    }
}

#[test]
fn server_state_table() {
    // (task state, source state, cycle, desired, syncing, expected)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        bool,
        &'a str,
    );
    let cases: &[Case<'_>] = &[
        ("-", None, None, "configured", false, "create"),
        (
            "-",
            None,
            None,
            "replicated",
            false,
            "create start wait.replicated",
        ),
        (
            "-",
            None,
            None,
            "synced",
            true,
            "create start wait.replicated wait.synced",
        ),
        (
            "-",
            None,
            None,
            "cutover",
            false,
            "create start wait.replicated test cutover",
        ),
        (
            "-",
            None,
            None,
            "cleared",
            false,
            "create start wait.replicated test cutover clear",
        ),
        ("READY", None, None, "configured", false, ""),
        (
            "READY",
            None,
            None,
            "replicated",
            false,
            "start wait.replicated",
        ),
        (
            "READY",
            None,
            None,
            "cutover",
            true,
            "start wait.replicated wait.synced test cutover",
        ),
        (
            "ABORT",
            None,
            None,
            "replicated",
            false,
            "start wait.replicated",
        ),
        ("RUNNING", None, None, "configured", false, ""),
        (
            "RUNNING",
            None,
            None,
            "replicated",
            false,
            "wait.replicated",
        ),
        (
            "RUNNING",
            None,
            None,
            "cutover",
            false,
            "wait.replicated test cutover",
        ),
        (
            "SKIPPING",
            None,
            None,
            "replicated",
            false,
            "wait.replicated",
        ),
        ("MIGRATE_SUCCESS", None, None, "replicated", false, ""),
        ("MIGRATE_SUCCESS", None, None, "tested", false, "test"),
        (
            "MIGRATE_SUCCESS",
            None,
            None,
            "synced",
            true,
            "start-sync wait.synced",
        ),
        (
            "MIGRATE_SUCCESS",
            None,
            Some("testing"),
            "cutover",
            false,
            "wait.tested cutover",
        ),
        (
            "MIGRATE_SUCCESS",
            None,
            Some("tested"),
            "cutover",
            false,
            "cutover",
        ),
        (
            "MIGRATE_SUCCESS",
            Some("cutovering"),
            None,
            "cutover",
            false,
            "wait.cutover",
        ),
        (
            "MIGRATE_SUCCESS",
            None,
            Some("cutovering"),
            "cleared",
            false,
            "wait.cutover clear",
        ),
        (
            "MIGRATE_SUCCESS",
            Some("finished"),
            None,
            "cutover",
            false,
            "",
        ),
        (
            "MIGRATE_SUCCESS",
            None,
            Some("cutovered"),
            "cutover",
            false,
            "",
        ),
        (
            "MIGRATE_SUCCESS",
            Some("finished"),
            None,
            "cleared",
            false,
            "clear",
        ),
        (
            "MIGRATE_SUCCESS",
            Some("clearing"),
            None,
            "cleared",
            false,
            "wait.cleared",
        ),
        (
            "MIGRATE_SUCCESS",
            Some("cleared"),
            None,
            "cleared",
            false,
            "",
        ),
        (
            "MIGRATE_SUCCESS",
            Some("clearfailed"),
            None,
            "cleared",
            false,
            "blocked:needs_restart",
        ),
        (
            "MIGRATE_SUCCESS",
            Some("finished"),
            None,
            "replicated",
            false,
            "blocked:backward",
        ),
        (
            "MIGRATE_SUCCESS",
            Some("cleared"),
            None,
            "cutover",
            false,
            "blocked:backward",
        ),
        (
            "MIGRATE_SUCCESS",
            None,
            Some("tested"),
            "replicated",
            false,
            "blocked:backward",
        ),
        (
            "SYNC_F_ROLLBACK_SUCCESS",
            None,
            None,
            "replicated",
            false,
            "",
        ),
        ("SYNCING", None, None, "replicated", true, ""),
        ("SYNCING", None, None, "synced", true, "wait.synced"),
        (
            "SYNCING",
            None,
            None,
            "cutover",
            true,
            "wait.synced test cutover",
        ),
        ("SYNC_SUCCESS", None, None, "tested", true, "test"),
        ("SYNC_SUCCESS", None, None, "synced", true, ""),
        (
            "SYNC_SUCCESS",
            None,
            None,
            "replicated",
            true,
            "blocked:backward",
        ),
        (
            "RUNNING",
            Some("finished"),
            None,
            "cutover",
            false,
            "wait.replicated test cutover",
        ),
        (
            "MIGRATE_FAIL",
            None,
            None,
            "replicated",
            false,
            "blocked:needs_restart",
        ),
        ("MIGRATE_FAIL", None, None, "configured", false, ""),
        (
            "SYNC_FAIL",
            None,
            None,
            "tested",
            true,
            "blocked:needs_restart",
        ),
        ("SYNC_FAIL", None, None, "replicated", true, ""),
        ("ABORTING", None, None, "replicated", false, "blocked:busy"),
        ("DELETING", None, None, "replicated", false, "blocked:busy"),
        ("RESETING", None, None, "replicated", false, "blocked:busy"),
        (
            "SYNC_F_ROLLBACKING",
            None,
            None,
            "replicated",
            false,
            "blocked:busy",
        ),
        (
            "BRAND_NEW_STATE",
            None,
            None,
            "replicated",
            false,
            "blocked:unknown_state",
        ),
    ];
    let mut failures = Vec::new();
    for (state, src, cycle, desired, syncing, expected) in cases {
        let p = run(&server_spec(desired, *syncing), &live(state, *src, *cycle));
        let got = outcome(&p);
        if got != *expected {
            failures.push(format!(
                "({state}, {src:?}, {cycle:?}) → {desired} (syncing {syncing}): expected `{expected}`, got `{got}`"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn failed_task_reason_carries_the_api_error() {
    let p = run(
        &server_spec("replicated", false),
        &live("MIGRATE_FAIL", None, None),
    );
    let b = &p.resources[0].blocked[0];
    assert!(b.message.contains("SMS.1807"), "{}", b.message);
    assert!(b.remedy.contains("restart"));
    assert!(p.is_blocked() && !p.has_changes());
    assert_eq!(p.summary.blocked, 1);
}

#[test]
fn running_task_reports_progress_and_reattaches() {
    let mut l = live("RUNNING", None, None);
    l.tasks[0].sub_tasks = vec![SubTask {
        name: "MIGRATE_LINUX_BLOCK".into(),
        progress: 45,
        start_date: Some(1),
        ..SubTask::default()
    }];
    let p = run(&server_spec("replicated", false), &l);
    assert!(matches!(
        p.resources[0].current,
        Current::InProgress {
            progress: Some(45),
            ..
        }
    ));
    assert_eq!(p.resources[0].current.label(), "→ replicated (RUNNING 45%)");
    assert_eq!(p.resources[0].live_id.as_deref(), Some("task-1"));
}

#[test]
fn percent_done_counts_every_subtask_and_weighs_the_copy() {
    let sub = |name: &str, progress: i32| SubTask {
        name: name.into(),
        progress,
        ..SubTask::default()
    };
    let mut l = live("RUNNING", None, None);
    assert_eq!(crate::current::percent_done(&l.tasks[0]), None);
    // (1 × 100 + 8 × 50 + 1 × 0) / 10: the finished subtask counts, the copy weighs 8.
    l.tasks[0].sub_tasks = vec![
        sub("CREATE_CLOUD_SERVER", 100),
        sub("MIGRATE_BLOCK", 50),
        sub("CONFIGURE_TARGET_VM", 0),
    ];
    assert_eq!(crate::current::percent_done(&l.tasks[0]), Some(50));
    let p = run(&server_spec("replicated", false), &l);
    assert_eq!(p.resources[0].current.label(), "→ replicated (RUNNING 50%)");
    // Out-of-range figures from the API are clamped.
    l.tasks[0].sub_tasks = vec![sub("MIGRATE_BLOCK", 250)];
    assert_eq!(crate::current::percent_done(&l.tasks[0]), Some(100));
    // A sync round counts alone: the full copy's subtasks before it stay at 100.
    let mut l = live("SYNCING", None, None);
    l.tasks[0].sub_tasks = vec![
        sub("CREATE_CLOUD_SERVER", 100),
        sub("MIGRATE_BLOCK", 100),
        sub("SYNC_LINUX_BLOCK", 30),
    ];
    assert_eq!(crate::current::percent_done(&l.tasks[0]), Some(30));
}

#[test]
fn source_problems_block_only_when_work_remains() {
    let s = server_spec("replicated", false);
    let mut l = live("-", None, None);
    l.sources.clear();
    assert_eq!(outcome(&run(&s, &l)), "blocked:source_not_registered");
    let mut l = live("READY", None, None);
    l.sources[0].connected = Some(false);
    assert_eq!(outcome(&run(&s, &l)), "blocked:source_disconnected");
    let mut l = live("MIGRATE_SUCCESS", None, None);
    l.sources.clear();
    assert_eq!(
        outcome(&run(&s, &l)),
        "",
        "nothing left to do needs no source"
    );
    let mut l = live("-", None, None);
    l.sources.push(source("web-01"));
    assert_eq!(outcome(&run(&s, &l)), "blocked:ambiguous");
}

#[test]
fn duplicate_tasks_are_ambiguous() {
    let mut l = live("READY", None, None);
    let mut t2 = l.tasks[0].clone();
    t2.id = "task-2".into();
    l.tasks.push(t2);
    let p = run(&server_spec("replicated", false), &l);
    assert_eq!(outcome(&p), "blocked:ambiguous");
    assert!(p.resources[0].blocked[0].message.contains("task-1, task-2"));
}

#[test]
fn template_must_exist_for_a_create() {
    let s = spec(
        "servers:\n  - name: web-01\n    target: {template: tpl-web}\n    stage: configured\n",
    );
    assert_eq!(
        outcome(&run(&s, &live("-", None, None))),
        "blocked:template_not_found"
    );
    let mut l = live("-", None, None);
    l.templates.push(migplan_wire::sms::Template {
        id: Some("tpl-id-1".into()),
        name: "tpl-web".into(),
        ..Default::default()
    });
    let p = run(&s, &l);
    assert_eq!(outcome(&p), "create");
    let d = p.resources[0]
        .diffs
        .iter()
        .find(|d| d.field == "target.template")
        .expect("diff");
    assert_eq!(d.after.as_deref(), Some("tpl-web (id tpl-id-1)"));
}

#[test]
fn speed_limit_changes_in_place_type_is_forbidden_once_started() {
    let s = spec(
        "servers:\n  - name: web-01\n    type: MIGRATE_FILE\n    target: {server_id: ecs-1, migration_ip: 10.0.0.9}\n    speed_limit: 200\n    stage: replicated\n",
    );
    let mut l = live("RUNNING", None, None);
    l.tasks[0].speed_limit = Some(100);
    let p = run(&s, &l);
    assert_eq!(outcome(&p), "update wait.replicated");
    let r = &p.resources[0];
    assert!(
        matches!(&r.diffs[0].change, Change::InPlace { endpoint } if endpoint == "PUT /v3/tasks/{task_id}")
    );
    assert!(
        r.diff_text
            .contains("-speed_limit = 100\n+speed_limit = 200"),
        "{}",
        r.diff_text
    );

    l.tasks[0].task_type = Some(migplan_wire::sms::TaskType::MigrateBlock);
    let p = run(&s, &l);
    assert_eq!(outcome(&p), "blocked:forbidden_change");
    assert!(p.resources[0].blocked[0].message.contains("type"));

    l.tasks[0].state = Some(TaskState::Ready);
    let p = run(&s, &l);
    assert_eq!(
        outcome(&p),
        "update start wait.replicated",
        "type may change before start"
    );
}

#[test]
fn update_at_desired_stage_still_applies() {
    let s = spec(
        "servers:\n  - name: web-01\n    target: {server_id: ecs-1, migration_ip: 10.0.0.9}\n    priority: 2\n    stage: replicated\n",
    );
    let mut l = live("MIGRATE_SUCCESS", None, None);
    l.tasks[0].priority = Some(1);
    let p = run(&s, &l);
    assert_eq!(outcome(&p), "update");
    assert_eq!(p.summary.update, 1);
}
