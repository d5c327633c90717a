//! The SMS quota: what the plan records (the declared quota, the migrations running elsewhere)
//! and which steps begin or end a migration.

use migplan_wire::sms::{Task, TaskSourceServer, TaskState};

use super::{run, source, spec};
use crate::{LiveSnapshot, QuotaUse};

fn task(id: &str, name: &str, state: TaskState) -> Task {
    Task {
        id: id.into(),
        name: name.into(),
        state: Some(state),
        source_server: Some(TaskSourceServer {
            id: format!("src-{name}"),
            ..TaskSourceServer::default()
        }),
        ..Task::default()
    }
}

const TWO: &str = "servers:\n  - {name: a, target: {server_id: e1, migration_ip: 10.0.0.1}, syncing: true, stage: synced}\n  - {name: b, target: {server_id: e2, migration_ip: 10.0.0.2}, stage: cutover}\n";

fn live(tasks: Vec<Task>) -> LiveSnapshot {
    LiveSnapshot {
        sources: vec![source("a"), source("b")],
        tasks,
        ..LiveSnapshot::default()
    }
}

#[test]
fn the_plan_records_the_quota_and_the_migrations_that_are_not_its_own() {
    let s = spec(TWO);
    let p = run(
        &s,
        &live(vec![
            task("t-a", "a", TaskState::Running),      // ours: not elsewhere
            task("x1", "other-1", TaskState::Running), // elsewhere
            task("x2", "other-2", TaskState::Syncing), // elsewhere
            task("x3", "other-3", TaskState::Skipping), // elsewhere
            task("x4", "other-4", TaskState::MigrateSuccess), // done: not running
            task("x5", "other-5", TaskState::Abort),   // paused: not running
        ]),
    );
    let q = p.quota.expect("a plan with servers records the quota");
    assert_eq!(q.sms_concurrent_migrations, 100);
    assert_eq!(q.sms_running_elsewhere, 3);
}

#[test]
fn the_declared_quota_is_recorded_and_a_plan_without_servers_has_none() {
    let text = format!(
        "{}{TWO}",
        "version: 1\nname: t\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef, quotas: {sms_concurrent_migrations: 20}}\n"
    );
    let s = migplan_parser::parse("t.yaml", &text).expect("valid").spec;
    let p = run(&s, &live(vec![]));
    assert_eq!(p.quota.map(|q| q.sms_concurrent_migrations), Some(20));
    let redis_only = spec("");
    assert_eq!(run(&redis_only, &LiveSnapshot::default()).quota, None);
}

#[test]
fn copies_begin_at_start_and_sync_rounds_and_end_at_their_waits() {
    let s = spec(TWO);
    let p = run(&s, &live(vec![task("t-a", "a", TaskState::MigrateSuccess)]));
    let uses: Vec<(String, QuotaUse)> = p
        .steps
        .iter()
        .map(|st| (st.id.to_string(), st.quota_use()))
        .filter(|(_, u)| *u != QuotaUse::None)
        .collect();
    let want = [
        ("server.a#start-sync", QuotaUse::Starts),
        ("server.a#wait.synced", QuotaUse::Ends),
        ("server.b#start", QuotaUse::Starts),
        ("server.b#wait.replicated", QuotaUse::Ends),
    ];
    for (id, u) in want {
        assert!(
            uses.iter().any(|(i, x)| i == id && *x == u),
            "{id} {u:?} in {uses:?}"
        );
    }
    assert_eq!(uses.len(), want.len(), "{uses:?}");
}

#[test]
fn a_restart_begins_and_ends_its_own_copy() {
    let s = spec(
        "servers:\n  - {name: a, target: {server_id: e1, migration_ip: 10.0.0.1}, on_failure: {restart: 1}, stage: replicated}\n",
    );
    let p = run(&s, &live(vec![task("t-a", "a", TaskState::MigrateFail)]));
    let restart = p
        .steps
        .iter()
        .find(|st| st.id.0.ends_with("#restart.1"))
        .expect("a restart");
    assert_eq!(restart.quota_use(), QuotaUse::StartsAndEnds);
    assert!(restart.quota_use().starts() && restart.quota_use().ends());
}
