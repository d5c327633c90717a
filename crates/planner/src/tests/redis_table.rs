use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem, ResumeMode};

use super::{outcome, run, spec};
use crate::LiveSnapshot;

fn redis_spec(stage: &str, method: &str) -> migplan_parser::Spec {
    spec(&format!(
        "redis:\n  - name: sessions\n    method: {method}\n    resume_mode: auto\n    network: {{vpc_id: v, subnet_id: s, security_group_id: g}}\n    source: {{addrs: \"10.0.0.1:6379\", password: {{env: SRC_PW}}}}\n    target: {{instance_id: inst-1}}\n    stage: {stage}\n"
    ))
}

fn live(status: &str) -> LiveSnapshot {
    let migrations = if status == "-" {
        vec![]
    } else {
        vec![MigrationTaskListItem {
            task_id: "dcs-1".into(),
            task_name: "sessions".into(),
            status: Some(MigrationStatus::parse(status)),
            error_message: Some("source unreachable".into()),
            ..MigrationTaskListItem::default()
        }]
    };
    LiveSnapshot {
        migrations,
        ..LiveSnapshot::default()
    }
}

#[test]
fn redis_status_table() {
    // (status, desired, method, expected)
    let cases: &[(&str, &str, &str, &str)] = &[
        ("-", "created", "incremental", "create configure"),
        (
            "-",
            "migrated",
            "incremental",
            "create configure wait.migrated",
        ),
        (
            "-",
            "stopped",
            "incremental",
            "create configure wait.migrated stop wait.stopped",
        ),
        ("CREATING", "created", "full", "wait.created configure"),
        ("RUNNING", "created", "full", "configure"),
        ("RUNNING", "migrated", "full", "configure wait.migrated"),
        ("FULLMIGRATING", "created", "full", ""),
        ("FULLMIGRATING", "migrated", "full", "wait.migrated"),
        (
            "MIGRATING",
            "stopped",
            "incremental",
            "wait.migrated stop wait.stopped",
        ),
        ("SUCCESS", "migrated", "full", ""),
        ("MIGRATION_SUCCESS", "migrated", "full", ""),
        ("INCRMIGEATING", "migrated", "incremental", ""),
        (
            "INCRMIGRATING",
            "stopped",
            "incremental",
            "stop wait.stopped",
        ),
        ("TERMINATING", "stopped", "incremental", "wait.stopped"),
        ("TERMINATED", "stopped", "incremental", ""),
        ("RELEASED", "stopped", "incremental", ""),
        ("RELEASED", "migrated", "full", ""),
        ("TERMINATED", "migrated", "incremental", "blocked:backward"),
        (
            "INCRMIGEATING",
            "created",
            "incremental",
            "blocked:backward",
        ),
        ("FAILED", "migrated", "full", "blocked:needs_restart"),
        (
            "MIGRATION_FAILED",
            "migrated",
            "full",
            "blocked:needs_restart",
        ),
        ("ERROR", "stopped", "incremental", "blocked:needs_restart"),
        ("FAILED", "created", "full", ""),
        ("DELETED", "migrated", "full", "blocked:busy"),
        ("SOMETHING_NEW", "migrated", "full", "blocked:unknown_state"),
    ];
    let mut failures = Vec::new();
    for (status, desired, method, expected) in cases {
        let got = outcome(&run(&redis_spec(desired, method), &live(status)));
        if got != *expected {
            failures.push(format!(
                "({status}, {desired}, {method}): expected `{expected}`, got `{got}`"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn secrets_appear_only_as_env_references() {
    let p = run(&redis_spec("migrated", "full"), &live("-"));
    let d = p.resources[0]
        .diffs
        .iter()
        .find(|d| d.field == "source.password")
        .expect("diff");
    assert_eq!(d.after.as_deref(), Some("{env: SRC_PW}"));
    assert!(
        p.resources[0]
            .diff_text
            .contains("+source.password = {env: SRC_PW}")
    );
}

#[test]
fn resume_mode_changes_in_place_method_is_forbidden() {
    let mut l = live("INCRMIGEATING");
    l.migrations[0].resume_mode = Some(ResumeMode::Manual);
    let p = run(&redis_spec("stopped", "incremental"), &l);
    assert_eq!(outcome(&p), "update stop wait.stopped");
    l.migrations[0].migration_method = Some(migplan_wire::dcs::MigrationMethod::FullAmount);
    let p = run(&redis_spec("stopped", "incremental"), &l);
    assert_eq!(outcome(&p), "blocked:forbidden_change");
}

#[test]
fn failed_migration_names_the_error() {
    let p = run(&redis_spec("migrated", "full"), &live("FAILED"));
    assert!(
        p.resources[0].blocked[0]
            .message
            .contains("source unreachable")
    );
}
