//! A live task carrying an entry's name is adopted only when it migrates the plan's source to
//! the plan's target; otherwise the entry is blocked with `task_mismatch` and gets no steps.

use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem};
use migplan_wire::sms::{Task, TaskSourceServer, TaskState, TaskTargetServer, Template};

use super::{outcome, run, source, spec};
use crate::{BlockedReason, LiveSnapshot, Side};

/// `web-77` is planned from `src-a`; the live `web-77` task migrates `src_of_task`.
fn server_live(src_of_task: &str, state: TaskState) -> LiveSnapshot {
    LiveSnapshot {
        sources: vec![source("src-a"), source("src-b")],
        tasks: vec![Task {
            id: "task-77".into(),
            name: "web-77".into(),
            state: Some(state),
            vm_template_id: Some("tpl-id".into()),
            source_server: Some(TaskSourceServer {
                id: format!("src-{src_of_task}"),
                name: Some(src_of_task.into()),
                ..TaskSourceServer::default()
            }),
            ..Task::default()
        }],
        templates: vec![
            Template {
                id: Some("tpl-id".into()),
                name: "tpl".into(),
                ..Template::default()
            },
            Template {
                id: Some("tpl-other-id".into()),
                name: "tpl-other".into(),
                ..Template::default()
            },
        ],
        ..LiveSnapshot::default()
    }
}

const WEB_77: &str = "servers:\n  - {name: web-77, source: src-a, target: {template: tpl}, stage: cutover}\n  - {name: app, source: src-b, target: {template: tpl}, stage: replicated, depends_on: [server.web-77]}\n";

#[test]
fn a_task_of_another_source_is_never_adopted() {
    let p = run(
        &spec(WEB_77),
        &server_live("src-b", TaskState::MigrateSuccess),
    );
    let r = &p.resources[0];
    assert_eq!(outcome(&p), "blocked:task_mismatch");
    assert_eq!(
        r.live_id, None,
        "the other machine's task id is never handed to apply"
    );
    assert!(
        p.steps.iter().all(|s| s.resource.as_ref() != Some(&r.addr)),
        "{:#?}",
        p.steps
    );
    let b = &r.blocked[0];
    assert!(
        matches!(&b.reason, BlockedReason::TaskMismatch { side: Side::Source, task_id, .. } if task_id == "task-77"),
        "{b:?}"
    );
    for text in [
        "task-77",
        "`src-b` (id src-src-b)",
        "`src-a` (id src-src-a)",
    ] {
        assert!(b.message.contains(text), "{text} in {}", b.message);
    }
    assert!(b.remedy.contains("rename this entry"), "{}", b.remedy);
    assert!(b.remedy.contains("delete task task-77"), "{}", b.remedy);
    assert!(
        !r.current.label().contains("replicated"),
        "the other task's stage is not this entry's: {}",
        r.current.label()
    );
    // Whatever depends on it is blocked too, naming it as the root.
    assert!(matches!(
        &p.resources[1].blocked[0].reason,
        BlockedReason::DependencyBlocked { root, .. } if root == &r.addr
    ));
}

#[test]
fn a_task_of_the_plans_source_is_adopted() {
    let p = run(
        &spec(WEB_77),
        &server_live("src-a", TaskState::MigrateSuccess),
    );
    assert_eq!(p.resources[0].live_id.as_deref(), Some("task-77"));
    assert!(
        !p.resources[0].is_blocked(),
        "{:#?}",
        p.resources[0].blocked
    );
}

#[test]
fn a_source_named_by_id_or_unregistered_compares_what_the_task_exposes() {
    let by_id = "servers:\n  - {name: web-77, source: {id: src-src-a}, target: {template: tpl}, stage: replicated}\n";
    let p = run(&spec(by_id), &server_live("src-b", TaskState::Running));
    assert_eq!(outcome(&p), "blocked:task_mismatch");
    // src-c is not registered: the task's source name still tells it is another machine.
    let gone =
        "servers:\n  - {name: web-77, source: src-c, target: {template: tpl}, stage: replicated}\n";
    let p = run(&spec(gone), &server_live("src-b", TaskState::Running));
    assert_eq!(outcome(&p), "blocked:task_mismatch");
    // No source on the live task: nothing to hold against it.
    let mut l = server_live("src-b", TaskState::Running);
    l.tasks[0].source_server = None;
    let plain =
        "servers:\n  - {name: web-77, source: src-a, target: {template: tpl}, stage: replicated}\n";
    assert_eq!(outcome(&run(&spec(plain), &l)), "wait.replicated");
}

#[test]
fn a_task_with_another_target_is_never_adopted() {
    let other_tpl = "servers:\n  - {name: web-77, source: src-a, target: {template: tpl-other}, stage: replicated}\n";
    let p = run(&spec(other_tpl), &server_live("src-a", TaskState::Ready));
    assert_eq!(outcome(&p), "blocked:task_mismatch");
    let b = &p.resources[0].blocked[0];
    assert!(
        matches!(
            b.reason,
            BlockedReason::TaskMismatch {
                side: Side::Target,
                ..
            }
        ),
        "{b:?}"
    );
    assert!(b.message.contains("template tpl-id"), "{}", b.message);
    assert!(
        b.message.contains("`tpl-other` (id tpl-other-id)"),
        "{}",
        b.message
    );

    // An existing-server target: the task writes onto another ECS.
    let existing = "servers:\n  - {name: web-77, source: src-a, target: {server_id: ecs-1, migration_ip: 10.0.0.9}, stage: replicated}\n";
    let mut l = server_live("src-a", TaskState::Ready);
    l.tasks[0].vm_template_id = None;
    l.tasks[0].exist_server = Some(true);
    l.tasks[0].target_server = Some(TaskTargetServer {
        vm_id: Some("ecs-2".into()),
        ..TaskTargetServer::default()
    });
    let p = run(&spec(existing), &l);
    assert_eq!(outcome(&p), "blocked:task_mismatch");
    assert!(p.resources[0].blocked[0].message.contains("ecs-2"));
    l.tasks[0].target_server = Some(TaskTargetServer {
        vm_id: Some("ecs-1".into()),
        ..TaskTargetServer::default()
    });
    assert_eq!(outcome(&run(&spec(existing), &l)), "start wait.replicated");
}

fn redis(source: &str, target: &str) -> migplan_parser::Spec {
    spec(&format!(
        "redis:\n  - name: sessions\n    method: incremental\n    network: {{vpc_id: v, subnet_id: s, security_group_id: g}}\n    source: {source}\n    target: {target}\n    stage: stopped\n"
    ))
}

fn migration(status: MigrationStatus) -> MigrationTaskListItem {
    MigrationTaskListItem {
        task_id: "dcs-1".into(),
        task_name: "sessions".into(),
        status: Some(status),
        data_source: Some("10.0.0.9:6379".into()),
        target_instance_id: Some("inst-1".into()),
        ..MigrationTaskListItem::default()
    }
}

#[test]
fn a_migration_task_of_another_source_or_target_is_never_adopted() {
    let live = |m| LiveSnapshot {
        migrations: vec![m],
        ..LiveSnapshot::default()
    };
    let ours = redis("{addrs: \"10.0.0.9:6379\"}", "{instance_id: inst-1}");
    assert_eq!(
        outcome(&run(
            &ours,
            &live(migration(MigrationStatus::IncrMigrating))
        )),
        "stop wait.stopped"
    );

    let other_source = redis("{addrs: \"10.0.0.1:6379\"}", "{instance_id: inst-1}");
    let p = run(
        &other_source,
        &live(migration(MigrationStatus::IncrMigrating)),
    );
    assert_eq!(outcome(&p), "blocked:task_mismatch");
    let m = &p.resources[0].blocked[0].message;
    assert!(
        m.contains("dcs-1") && m.contains("10.0.0.9:6379") && m.contains("10.0.0.1:6379"),
        "{m}"
    );

    let other_target = redis("{addrs: \"10.0.0.9:6379\"}", "{instance_id: inst-2}");
    let p = run(
        &other_target,
        &live(migration(MigrationStatus::IncrMigrating)),
    );
    assert_eq!(outcome(&p), "blocked:task_mismatch");
    assert!(
        p.resources[0].blocked[0]
            .message
            .contains("instance inst-1")
    );

    // Created but not configured: it copies nothing yet, so it is adopted and configured.
    let mut bare = migration(MigrationStatus::Running);
    bare.data_source = None;
    bare.target_instance_id = None;
    assert_eq!(
        outcome(&run(&other_source, &live(bare))),
        "configure wait.migrated stop wait.stopped"
    );
}
