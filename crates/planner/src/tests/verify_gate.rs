//! Stage `verified`: when the data comparison is planned, that it is a check (not a change),
//! and that it is dropped once everything waiting on it has passed.

use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem};
use migplan_wire::sms::{SourceState, Task, TaskSourceServer, TaskState};

use super::{outcome, run, source, spec};
use crate::{LiveSnapshot, StepClass};

const NET: &str = "network: {vpc_id: v, subnet_id: s, security_group_id: g}";

fn redis(stage: &str, method: &str, extra: &str) -> String {
    format!(
        "  - name: sessions\n    method: {method}\n    {NET}\n    source: {{addrs: \"10.0.0.1:6379\", password: {{env: SRC_PW}}}}\n    target: {{instance_id: inst-1}}\n    stage: {stage}\n{extra}"
    )
}

fn migration(status: &str) -> MigrationTaskListItem {
    MigrationTaskListItem {
        task_id: "dcs-1".into(),
        task_name: "sessions".into(),
        status: Some(MigrationStatus::parse(status)),
        ..MigrationTaskListItem::default()
    }
}

fn live(status: &str) -> LiveSnapshot {
    LiveSnapshot {
        migrations: if status == "-" {
            vec![]
        } else {
            vec![migration(status)]
        },
        ..LiveSnapshot::default()
    }
}

#[test]
fn verified_is_planned_only_when_asked_for() {
    // (status, stage, method, extra settings, expected)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "-",
            "verified",
            "incremental",
            "",
            "create configure wait.migrated verify",
        ),
        ("INCRMIGEATING", "verified", "incremental", "", "verify"),
        ("SUCCESS", "verified", "full", "", "verify"),
        // Not asked for: `stopped` passes through `verified` without a comparison.
        (
            "INCRMIGEATING",
            "stopped",
            "incremental",
            "",
            "stop wait.stopped",
        ),
        // `verify:` written asks for it on the way to `stopped`.
        (
            "INCRMIGEATING",
            "stopped",
            "incremental",
            "    verify: {samples: 10}\n",
            "verify stop wait.stopped",
        ),
        // Stopped is past verified: nothing to compare, and going back is refused.
        (
            "TERMINATED",
            "stopped",
            "incremental",
            "    verify: {samples: 10}\n",
            "",
        ),
        (
            "TERMINATED",
            "verified",
            "incremental",
            "",
            "blocked:backward",
        ),
    ];
    let mut failures = Vec::new();
    for (status, stage, method, extra, expected) in cases {
        let s = spec(&format!("redis:\n{}", redis(stage, method, extra)));
        let got = outcome(&run(&s, &live(status)));
        if got != *expected {
            failures.push(format!(
                "({status}, {stage}, {method}, {extra:?}): expected `{expected}`, got `{got}`"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_comparison_is_a_check_not_a_change() {
    let s = spec(&format!("redis:\n{}", redis("verified", "incremental", "")));
    let p = run(&s, &live("INCRMIGEATING"));
    assert!(!p.has_changes(), "a check alone is no change");
    assert!(p.has_checks());
    assert_eq!(p.summary.check, 1);
    let step = &p.steps[0];
    assert_eq!(step.kind.class(), StepClass::Check);
    assert_eq!(step.symbol, "?");
    assert!(!step.irreversible);
    // The plan carries what apply needs: the address, the instance to look up, the
    // password's variable name (never a value), and the budgets.
    let json = serde_json::to_value(&step.kind).expect("serializable");
    assert_eq!(json["kind"], "verify");
    assert_eq!(json["source"]["address"], "10.0.0.1:6379");
    assert_eq!(json["source"]["password_env"], "SRC_PW");
    assert_eq!(json["target"]["instance_id"], "inst-1");
    assert!(json["target"]["address"].is_null());
    assert_eq!(json["samples"], 1000);
    assert_eq!(json["lag_budget_seconds"], 30);
    // The instance's address is read from ShowInstance at apply time.
    let api = step.api.as_ref().expect("an instance lookup");
    assert_eq!(api.operation, "ShowInstance");
}

#[test]
fn an_address_override_wins_and_needs_no_lookup() {
    let extra = "    verify: {target_address: \"127.0.0.1:7001\", samples: all, key_tolerance: \"0.5%\", lag_budget_seconds: 5}\n";
    let s = spec(&format!(
        "redis:\n{}",
        redis("verified", "incremental", extra)
    ));
    let p = run(&s, &live("INCRMIGEATING"));
    let json = serde_json::to_value(&p.steps[0].kind).expect("serializable");
    assert_eq!(json["target"]["address"], "127.0.0.1:7001");
    assert!(json["samples"].is_null(), "all keys");
    assert_eq!(json["key_tolerance"], "0.5%");
    assert_eq!(json["lag_budget_seconds"], 5);
    assert!(p.steps[0].api.is_none(), "no API call at all");
}

fn server_task(src_state: &str, cycle: &str) -> Task {
    Task {
        id: "t1".into(),
        name: "web-01".into(),
        state: Some(TaskState::MigrateSuccess),
        source_server: Some(TaskSourceServer {
            id: "src-web-01".into(),
            state: Some(SourceState::parse(src_state)),
            migration_cycle: Some(migplan_wire::sms::MigrationCycle::parse(cycle)),
            ..TaskSourceServer::default()
        }),
        ..Task::default()
    }
}

fn gated_plan(server: Task) -> crate::Plan {
    let s = spec(&format!(
        "servers:\n  - name: web-01\n    target: {{template: tpl}}\n    stage: cutover\n    depends_on: [{{cutover: redis.sessions@verified}}]\nredis:\n{}    depends_on: [{{stopped: server.web-01@cutover}}]\n",
        redis("stopped", "incremental", "")
    ));
    let mut src = source("web-01");
    src.state = server.source_server.as_ref().and_then(|s| s.state.clone());
    let live = LiveSnapshot {
        migrations: vec![migration("INCRMIGEATING")],
        tasks: vec![server],
        sources: vec![src],
        ..LiveSnapshot::default()
    };
    run(&s, &live)
}

#[test]
fn a_cutover_waiting_on_verified_data_waits_for_the_comparison() {
    let p = gated_plan(server_task("waiting", "replicating"));
    let verify = p
        .steps
        .iter()
        .find(|s| s.kind.class() == StepClass::Check)
        .expect("the comparison is planned");
    let cutover = p
        .steps
        .iter()
        .find(|s| s.id.0.ends_with("#cutover"))
        .expect("a cutover");
    assert!(
        cutover.depends_on.contains(&verify.id),
        "{} waits on {}: {:?}",
        cutover.id.0,
        verify.id.0,
        cutover.depends_on
    );
    let stop = p
        .steps
        .iter()
        .find(|s| s.id.0.ends_with("#stop"))
        .expect("a stop");
    assert!(!stop.depends_on.is_empty());
}

#[test]
fn the_comparison_is_dropped_once_what_waited_on_it_is_done() {
    // Cut over: the application now writes to the target, which no longer matches the
    // source; comparing again could only fail, and would hold the stop for good.
    let p = gated_plan(server_task("finished", "cutovered"));
    let ids: Vec<&str> = p.steps.iter().map(|s| s.id.0.as_str()).collect();
    assert!(
        !p.steps.iter().any(|s| s.kind.class() == StepClass::Check),
        "{ids:?}"
    );
    assert!(ids.iter().any(|i| i.ends_with("#stop")), "{ids:?}");
}
