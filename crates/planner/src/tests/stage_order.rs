//! "At or beyond": one order of stages (the current-stage derivation) decides when a wait is
//! over, when an action took effect, and when a stage can no longer be reached.

use migplan_parser::{RedisMethod, RedisStage, ServerStage, Stage};
use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem};
use migplan_wire::sms::{MigrationCycle, SourceState, Task, TaskSourceServer, TaskState};

use super::{outcome, run, spec};
use crate::current::{redis_current, server_current};
use crate::{Condition, LiveSnapshot, StepKind};

fn task(state: &str, src: Option<&str>, cycle: Option<&str>) -> Task {
    Task {
        id: "t".into(),
        name: "web".into(),
        state: Some(TaskState::parse(state)),
        source_server: Some(TaskSourceServer {
            id: "s".into(),
            state: src.map(SourceState::parse),
            migration_cycle: cycle.map(MigrationCycle::parse),
            ..TaskSourceServer::default()
        }),
        ..Task::default()
    }
}

const fn server(s: ServerStage) -> Stage {
    Stage::Server(s)
}

#[test]
fn a_stage_is_reached_at_or_beyond_it() {
    use ServerStage::*;
    // (task state, source state, cycle, stage, reached, started, cannot reach)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        ServerStage,
        bool,
        bool,
        bool,
    );
    let cases: &[Case<'_>] = &[
        // Cut over in the console while `tested` was awaited: tested is passed.
        (
            "MIGRATE_SUCCESS",
            Some("cutovering"),
            Some("cutovering"),
            Tested,
            true,
            true,
            false,
        ),
        (
            "MIGRATE_SUCCESS",
            Some("finished"),
            Some("cutovered"),
            Tested,
            true,
            true,
            false,
        ),
        (
            "MIGRATE_SUCCESS",
            Some("waiting"),
            Some("testing"),
            Tested,
            false,
            true,
            false,
        ),
        (
            "MIGRATE_SUCCESS",
            Some("waiting"),
            Some("ready_for_test"),
            Tested,
            false,
            false,
            false,
        ),
        // Continuous sync after the copy: replicated is passed.
        (
            "SYNCING",
            Some("syncing"),
            Some("syncing"),
            Replicated,
            true,
            true,
            false,
        ),
        (
            "RUNNING",
            Some("replicate"),
            Some("replicating"),
            Replicated,
            false,
            true,
            false,
        ),
        ("READY", None, None, Replicated, false, false, false),
        // A failure on the way counts as started, never as reached.
        (
            "MIGRATE_FAIL",
            Some("error"),
            None,
            Replicated,
            false,
            true,
            true,
        ),
        (
            "SYNC_FAIL",
            Some("error"),
            None,
            Replicated,
            true,
            true,
            false,
        ),
        ("SYNC_FAIL", Some("error"), None, Synced, false, true, true),
        (
            "ABORT",
            Some("stopped"),
            None,
            Replicated,
            false,
            false,
            true,
        ),
        ("DELETING", None, None, Replicated, false, false, true),
        ("SOMETHING_NEW", None, None, Replicated, false, false, true),
        (
            "MIGRATE_SUCCESS",
            Some("clearfailed"),
            None,
            Cleared,
            false,
            true,
            true,
        ),
    ];
    let mut failures = Vec::new();
    for (state, src, cycle, stage, reached, started, stuck) in cases {
        let t = task(state, *src, *cycle);
        let c = server_current(Some(&t), None);
        let got = (
            c.has_reached(server(*stage)),
            c.has_started(server(*stage)),
            c.cannot_reach(server(*stage)).is_some(),
        );
        if got != (*reached, *started, *stuck) {
            failures.push(format!(
                "({state}, {src:?}, {cycle:?}) toward {stage}: expected {:?}, got {got:?} ({c:?})",
                (reached, started, stuck)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(
        server_current(None, None)
            .cannot_reach(server(Replicated))
            .is_some(),
        "a task that is gone cannot get anywhere"
    );
}

#[test]
fn redis_stages_and_a_full_copy_stopped_half_way() {
    let item = |s: &str| MigrationTaskListItem {
        task_id: "d".into(),
        task_name: "cache".into(),
        status: Some(MigrationStatus::parse(s)),
        ..MigrationTaskListItem::default()
    };
    let migrated = Stage::Redis(RedisStage::Migrated);
    let inc = |s: &str| redis_current(Some(&item(s)), RedisMethod::Incremental);
    let full = |s: &str| redis_current(Some(&item(s)), RedisMethod::Full);
    assert!(
        inc("TERMINATED").has_reached(migrated),
        "stopped is beyond migrated"
    );
    assert!(inc("TERMINATING").has_reached(migrated));
    assert!(full("SUCCESS").has_reached(migrated));
    // A full migration has no `stopped`: stopping it abandons the copy.
    assert!(!full("TERMINATED").has_reached(migrated));
    assert!(full("TERMINATED").cannot_reach(migrated).is_some());
    assert_eq!(
        full("TERMINATING").cannot_reach(migrated),
        None,
        "still settling"
    );
    assert!(full("DELETED").cannot_reach(migrated).is_some());
    assert!(full("FULLMIGRATING").has_started(migrated));
    assert!(
        full("FAILED").has_started(migrated),
        "the configure took effect, then failed"
    );

    let s = spec(
        "redis:\n  - name: cache\n    method: full\n    network: {vpc_id: v, subnet_id: s, security_group_id: g}\n    source: {addrs: \"10.0.0.1:6379\"}\n    target: {instance_id: i}\n    stage: migrated\n",
    );
    let live = LiveSnapshot {
        migrations: vec![item("TERMINATED")],
        ..LiveSnapshot::default()
    };
    assert_eq!(outcome(&run(&s, &live)), "blocked:needs_restart");
}

#[test]
fn waits_and_actions_are_stage_conditions_not_state_lists() {
    let s = spec(
        "servers:\n  - {name: web, target: {server_id: e, migration_ip: 10.0.0.9}, stage: tested}\n",
    );
    let live = LiveSnapshot {
        sources: vec![super::source("web")],
        ..LiveSnapshot::default()
    };
    let p = run(&s, &live);
    let tested = server(ServerStage::Tested);
    let test = p
        .steps
        .iter()
        .find(|s| matches!(s.kind, StepKind::Test(_)))
        .expect("a test step");
    assert_eq!(test.postcondition, Condition::Reached { stage: tested });
    assert_eq!(
        test.postcondition.started(),
        Condition::Toward { stage: tested }
    );
    let wait = p
        .steps
        .iter()
        .find(|s| s.id.0.ends_with("#wait.replicated"))
        .expect("a wait");
    assert_eq!(
        wait.postcondition,
        Condition::Reached {
            stage: server(ServerStage::Replicated)
        }
    );
}

#[test]
fn stages_of_different_kinds_are_never_reached_nor_ordered() {
    let cleared = Stage::Server(ServerStage::Cleared);
    let created = Stage::Redis(RedisStage::Created);
    assert_eq!(cleared.partial_cmp(&created), None);
    assert_eq!((cleared >= created, created >= cleared), (false, false));
    let done = crate::Current::At {
        stage: cleared,
        state: "cleared".into(),
    };
    assert!(done.has_reached(cleared));
    assert!(!done.has_reached(created));
    assert_eq!(
        cleared.earlier(Stage::Server(ServerStage::Tested)),
        Stage::Server(ServerStage::Tested)
    );
}
