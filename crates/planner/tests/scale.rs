//! Planning 10,000 servers and 2,000 Redis migrations against matching live state (correctness
//! only; speed is measured by benchmarks, never asserted).

mod common;

use std::fmt::Write;

use common::{HEAD, source};
use migplan_planner::{LiveSnapshot, PlanOptions, plan};
use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem};
use migplan_wire::sms::{Task, TaskState};

#[test]
fn ten_thousand_servers_and_two_thousand_redis() {
    let mut text = String::from(HEAD);
    text.push_str("defaults:\n  servers: {target: {template: tpl}, stage: replicated}\n");
    text.push_str("  redis: {method: incremental, resume_mode: auto, network: {vpc_id: v, subnet_id: s, security_group_id: g}, stage: migrated}\nservers:\n");
    for i in 0..10_000 {
        let _ = writeln!(text, "  - name: srv-{i:05}");
    }
    text.push_str("redis:\n");
    for i in 0..2_000 {
        let _ = writeln!(
            text,
            "  - {{name: r-{i:04}, source: {{addrs: \"10.0.0.1:6379\"}}, target: {{instance_id: inst-{i}}}}}"
        );
    }
    let spec = migplan_parser::parse("big.yaml", &text)
        .expect("valid")
        .spec;
    let mut live = LiveSnapshot::default();
    live.templates.push(migplan_wire::sms::Template {
        id: Some("tpl".into()),
        name: "tpl".into(),
        ..Default::default()
    });
    for s in &spec.servers {
        live.sources.push(source(&s.name));
        live.tasks.push(Task {
            id: format!("t-{}", s.name),
            name: s.name.clone(),
            state: Some(if s.name.ends_with('7') {
                TaskState::Running
            } else {
                TaskState::MigrateSuccess
            }),
            ..Task::default()
        });
    }
    for r in &spec.redis {
        live.migrations.push(MigrationTaskListItem {
            task_id: format!("d-{}", r.name),
            task_name: r.name.clone(),
            status: Some(MigrationStatus::IncrMigrating),
            ..MigrationTaskListItem::default()
        });
    }
    let p = plan(&spec, &live, &PlanOptions::default()).expect("plans");
    assert_eq!(p.resources.len(), 12_000);
    assert_eq!(p.summary.wait, 1_000, "the RUNNING tasks are re-attached");
    assert_eq!(p.summary.unchanged, 11_000);
    assert_eq!(p.summary.create + p.summary.action + p.summary.blocked, 0);
    assert!(p.resources.iter().all(|r| r.fingerprint.len() == 64));
}
