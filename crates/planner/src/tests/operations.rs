//! SMS operations a plan declares: which step the planner places for which live state.

use migplan_wire::sms::{
    CloneServer, CloneState, MigrationCycle, SourceState, Task, TaskSourceServer, TaskState,
    Template,
};

use super::{outcome, run, source, spec};
use crate::{Call, LiveSnapshot};

fn live(task: Option<Task>) -> LiveSnapshot {
    LiveSnapshot {
        sources: vec![source("web-01")],
        tasks: task.into_iter().collect(),
        templates: ["tpl", "tpl-clone"]
            .iter()
            .map(|n| Template {
                id: Some(format!("id-{n}")),
                name: (*n).into(),
                ..Template::default()
            })
            .collect(),
        ..LiveSnapshot::default()
    }
}

fn task(state: TaskState) -> Task {
    Task {
        id: "t1".into(),
        name: "web-01".into(),
        state: Some(state),
        source_server: Some(TaskSourceServer {
            id: "src-web-01".into(),
            ..TaskSourceServer::default()
        }),
        ..Task::default()
    }
}

const PAUSED: &str =
    "servers:\n  - {name: web-01, target: {template: tpl}, paused: true, stage: replicated}\n";
const RUNNING: &str = "servers:\n  - {name: web-01, target: {template: tpl}, stage: replicated}\n";

#[test]
fn paused_stops_a_running_copy_once_and_holds_everything_else() {
    let s = spec(PAUSED);
    // (live task state, expected steps)
    let cases = [
        (Some(TaskState::Running), "stop"),
        (Some(TaskState::Syncing), "stop"),
        (Some(TaskState::Aborting), ""), // pausing: already sent, not a block
        (Some(TaskState::Abort), ""),
        (Some(TaskState::Ready), ""),
        (None, ""),
    ];
    for (state, want) in cases {
        let p = run(&s, &live(state.clone().map(task)));
        assert_eq!(outcome(&p), want, "{state:?}");
    }
    let p = run(&s, &live(Some(task(TaskState::Running))));
    assert_eq!(
        p.steps[0].call(),
        Call::SmsAction {
            operation: migplan_wire::sms::Operation::Stop,
            template_id: None
        }
    );
}

#[test]
fn removing_paused_resumes_with_start() {
    let p = run(&spec(RUNNING), &live(Some(task(TaskState::Abort))));
    assert_eq!(outcome(&p), "start wait.replicated");
    // Without `paused`, a pausing task is busy (plan again when it settles), as before.
    let p = run(&spec(RUNNING), &live(Some(task(TaskState::Aborting))));
    assert_eq!(outcome(&p), "blocked:busy");
}

const CLONE: &str = "servers:\n  - {name: web-01, target: {template: tpl}, test: {mode: clone, template: tpl-clone}, stage: tested}\n";

fn copied(clone: Option<CloneState>) -> Task {
    let mut t = task(TaskState::MigrateSuccess);
    t.source_server = Some(TaskSourceServer {
        id: "src-web-01".into(),
        state: Some(SourceState::Waiting),
        migration_cycle: Some(MigrationCycle::Replicating),
        ..TaskSourceServer::default()
    });
    t.clone_server = clone.map(|c| CloneServer {
        clone_state: Some(c),
        ..CloneServer::default()
    });
    t
}

#[test]
fn clone_test_reaches_tested_on_a_clone_of_the_template() {
    let s = spec(CLONE);
    let p = run(&s, &live(Some(copied(None))));
    assert_eq!(outcome(&p), "clone-test");
    assert_eq!(
        p.steps[0].call(),
        Call::SmsAction {
            operation: migplan_wire::sms::Operation::CloneTest,
            template_id: Some("id-tpl-clone".into())
        }
    );
    // A clone being made is waited for; a finished one is tested (sent by anyone).
    let p = run(&s, &live(Some(copied(Some(CloneState::Creating)))));
    assert_eq!(outcome(&p), "wait.tested");
    assert!(p.resources[0].current.label().contains("→ tested"));
    let p = run(&s, &live(Some(copied(Some(CloneState::Finished)))));
    assert_eq!(outcome(&p), "");
    assert_eq!(p.resources[0].current.label(), "tested");
    // From scratch: create, start, wait, clone test (never the in-place `test`).
    let p = run(&s, &live(None));
    assert_eq!(outcome(&p), "create start wait.replicated clone-test");
}

#[test]
fn clone_test_from_a_missing_template_is_blocked() {
    let s = spec(&CLONE.replace("tpl-clone", "tpl-gone"));
    let p = run(&s, &live(Some(copied(None))));
    assert_eq!(outcome(&p), "blocked:template_not_found");
}

const DRILL: &str =
    "servers:\n  - {name: web-01, target: {template: tpl}, migration_test: true, stage: tested}\n";

fn drilled(src: Option<SourceState>) -> Task {
    let mut t = copied(None);
    if let Some(s) = &mut t.source_server {
        s.state = src;
    }
    t
}

#[test]
fn migration_test_is_the_drilled_stage_between_the_copy_and_the_test() {
    let s = spec(DRILL);
    // From scratch: the drill comes after the copy and before the test.
    let p = run(&s, &live(None));
    assert_eq!(
        outcome(&p),
        "create start wait.replicated migration-test test"
    );
    // (live source state after the copy, expected steps, current)
    let cases = [
        (
            Some(SourceState::Waiting),
            "migration-test test",
            "replicated",
        ),
        (
            Some(SourceState::PremigReady),
            "migration-test test",
            "replicated",
        ),
        (
            Some(SourceState::Premiging),
            "wait.drilled test",
            "→ drilled",
        ),
        (Some(SourceState::Premiged), "test", "drilled"),
        (
            Some(SourceState::PremigFailed),
            "blocked:needs_restart",
            "premigfailed",
        ),
    ];
    for (src, want, cur) in cases {
        let p = run(&s, &live(Some(drilled(src.clone()))));
        assert_eq!(outcome(&p), want, "{src:?}");
        assert!(
            p.resources[0].current.label().contains(cur),
            "{src:?}: {}",
            p.resources[0].current.label()
        );
    }
    let p = run(&s, &live(Some(drilled(Some(SourceState::Waiting)))));
    assert_eq!(
        p.steps[0].call(),
        Call::SmsAction {
            operation: migplan_wire::sms::Operation::MigrationTest,
            template_id: None
        }
    );
    // Tested after the drill: nothing left.
    let mut t = drilled(Some(SourceState::Waiting));
    t.source_server.as_mut().unwrap().migration_cycle = Some(MigrationCycle::Tested);
    assert_eq!(outcome(&run(&s, &live(Some(t)))), "");
}

#[test]
fn without_migration_test_no_drill_is_planned() {
    let s = spec(&DRILL.replace("migration_test: true, ", ""));
    let p = run(&s, &live(None));
    assert_eq!(outcome(&p), "create start wait.replicated test");
    // A drill someone else ran still counts: the copy is past `replicated`.
    let p = run(&s, &live(Some(drilled(Some(SourceState::Premiged)))));
    assert_eq!(outcome(&p), "test");
}

const CHECKED: &str = "servers:\n  - {name: web-01, target: {template: tpl}, network_check: {min_mbps: 50}, stage: replicated}\n";

fn checked(state: TaskState, speed: Option<f64>) -> Task {
    let mut t = task(state);
    t.network_check_info = speed.map(|s| {
        serde_json::json!({"migration_speed": s, "network_delay": 2.5, "loss_percentage": 0.0, "evaluation_result": "good"})
    });
    t
}

#[test]
fn network_check_is_made_before_start_and_gates_it() {
    let s = spec(CHECKED);
    // (live task, expected steps)
    let cases = [
        (None, "create network-check start wait.replicated"),
        (
            Some(checked(TaskState::Ready, None)),
            "network-check start wait.replicated",
        ),
        // A result is live (made by anyone): not checked again; start needs it ≥ 50.
        (
            Some(checked(TaskState::Ready, Some(80.0))),
            "start wait.replicated",
        ),
        (
            Some(checked(TaskState::Ready, Some(50.0))),
            "start wait.replicated",
        ),
        // Below the minimum: start is held, the figures named.
        (
            Some(checked(TaskState::Ready, Some(20.0))),
            "blocked:network_too_slow",
        ),
        // Already running: not checked.
        (Some(checked(TaskState::Running, None)), "wait.replicated"),
    ];
    for (t, want) in cases {
        let p = run(&s, &live(t.clone()));
        assert_eq!(outcome(&p), want, "{t:?}");
    }
    let p = run(&s, &live(Some(checked(TaskState::Ready, None))));
    assert_eq!(
        p.steps[0].call(),
        Call::SmsAction {
            operation: migplan_wire::sms::Operation::NetworkCheck,
            template_id: None
        }
    );
    assert_eq!(p.steps[0].effect, crate::Condition::NetworkChecked);
    assert!(p.steps[1].precondition.needs_network_speed());
    let p = run(&s, &live(Some(checked(TaskState::Ready, Some(20.0)))));
    let msg = &p.resources[0].blocked[0].message;
    assert!(
        msg.contains("20 Mbit/s, delay 2.5 ms, loss 0%, evaluation good"),
        "{msg}"
    );
    assert!(msg.contains("50 Mbit/s"), "{msg}");
    // Without `network_check`, start is not gated.
    let p = run(&spec(RUNNING), &live(Some(task(TaskState::Ready))));
    assert_eq!(outcome(&p), "start wait.replicated");
    assert!(!p.steps[0].precondition.needs_network_speed());
}

#[test]
fn a_source_left_in_error_by_a_deleted_task_is_reset_before_the_new_task() {
    let s = spec(RUNNING);
    let with_source = |state: Option<SourceState>, t: Option<Task>| {
        let mut l = live(t);
        l.sources[0].state = state;
        l
    };
    // (source state, live task, expected steps)
    let cases = [
        (
            Some(SourceState::Error),
            None,
            "reset-source create start wait.replicated",
        ),
        (
            Some(SourceState::Waiting),
            None,
            "create start wait.replicated",
        ),
        // SMS ignores changestate on a finished source: never planned there.
        (
            Some(SourceState::Finished),
            None,
            "create start wait.replicated",
        ),
        // A task exists: its source state is the task's business, never reset.
        (
            Some(SourceState::Error),
            Some(task(TaskState::Ready)),
            "start wait.replicated",
        ),
    ];
    for (state, t, want) in cases {
        let p = run(&s, &with_source(state.clone(), t));
        assert_eq!(outcome(&p), want, "{state:?}");
    }
    let p = run(&s, &with_source(Some(SourceState::Error), None));
    assert_eq!(
        p.steps[0].call(),
        Call::SmsChangeState {
            source_id: Some("src-web-01".into()),
            copystate: SourceState::Waiting,
            migrationcycle: Some(MigrationCycle::Checking),
        }
    );
}

#[test]
fn a_new_network_check_result_makes_a_saved_plan_stale() {
    let s = spec(CHECKED);
    let fp = |speed: Option<f64>| {
        run(&s, &live(Some(checked(TaskState::Ready, speed)))).resources[0]
            .fingerprint
            .clone()
    };
    assert_ne!(fp(None), fp(Some(80.0)));
    assert_ne!(fp(Some(20.0)), fp(Some(80.0)));
    assert_eq!(fp(Some(80.0)), fp(Some(80.0)));
    // Plans without `network_check` do not read it.
    let p = |speed| {
        run(
            &spec(RUNNING),
            &live(Some(checked(TaskState::Ready, speed))),
        )
    };
    assert_eq!(
        p(None).resources[0].fingerprint,
        p(Some(80.0)).resources[0].fingerprint
    );
}

const RESTART: &str = "servers:\n  - {name: web-01, target: {template: tpl}, on_failure: {restart: 2}, stage: replicated}\n";

/// A task whose history records `restarts` restarts, in `state`.
fn restarted(state: TaskState, restarts: usize) -> Task {
    let sub = |id: i64, op: &str| migplan_wire::sms::SubTask {
        id,
        name: "MIGRATE_LINUX_BLOCK".into(),
        user_op: Some(op.into()),
        ..migplan_wire::sms::SubTask::default()
    };
    let mut t = task(state);
    t.sub_tasks = std::iter::once(sub(1, "REPLICATE"))
        .chain((0..restarts).map(|i| sub(i as i64 + 2, "RESTART")))
        .collect();
    // Setup subtasks of a restarted run say RESTART too; only copies count.
    t.sub_tasks.push(migplan_wire::sms::SubTask {
        id: 99,
        name: "SSL_CONFIG".into(),
        user_op: Some("RESTART".into()),
        ..migplan_wire::sms::SubTask::default()
    });
    t
}

#[test]
fn on_failure_restarts_a_failed_copy_until_the_history_records_n_restarts() {
    let s = spec(RESTART);
    // (live, expected steps): restarts numbered from what the history records.
    let cases = [
        (None, "create start wait.replicated restart.1 restart.2"),
        (
            Some(task(TaskState::Running)),
            "wait.replicated restart.1 restart.2",
        ),
        (
            Some(restarted(TaskState::MigrateFail, 0)),
            "restart.1 restart.2",
        ),
        (Some(restarted(TaskState::MigrateFail, 1)), "restart.2"),
        (
            Some(restarted(TaskState::Running, 1)),
            "wait.replicated restart.2",
        ),
        // All restarts made: the last copy's wait is strict, a failure blocks.
        (Some(restarted(TaskState::Running, 2)), "wait.replicated"),
        (
            Some(restarted(TaskState::MigrateFail, 2)),
            "blocked:needs_restart",
        ),
    ];
    for (t, want) in cases {
        let label = t.as_ref().map(|t| (t.state.clone(), t.sub_tasks.len()));
        let p = run(&s, &live(t));
        assert_eq!(outcome(&p), want, "{label:?}");
    }
    // A failed sync is not restarted (a restart copies everything again).
    let synced = RESTART.replace("stage: replicated", "syncing: true, stage: synced");
    let p = run(
        &spec(&synced),
        &live(Some(restarted(TaskState::SyncFail, 0))),
    );
    assert_eq!(outcome(&p), "blocked:needs_restart");
    // Without on_failure a failed copy blocks at once, as before.
    let p = run(
        &spec(RUNNING),
        &live(Some(restarted(TaskState::MigrateFail, 0))),
    );
    assert_eq!(outcome(&p), "blocked:needs_restart");
}

#[test]
fn restart_steps_are_guarded_by_the_recorded_count_and_only_the_last_is_strict() {
    let p = run(&spec(RESTART), &live(Some(task(TaskState::Running))));
    let wait = &p.steps[0];
    assert_eq!(wait.label, "wait for MIGRATE_SUCCESS or a failure");
    let (first, last) = (&p.steps[1], &p.steps[2]);
    assert_eq!(
        first.call(),
        Call::SmsAction {
            operation: migplan_wire::sms::Operation::Restart,
            template_id: None
        }
    );
    assert_eq!(first.label, "restart if failed (1 of 2)");
    let json = |c: &crate::Condition| serde_json::to_string(c).unwrap();
    // Not sent once the copy succeeded or restart 1 is on record.
    assert!(
        json(&first.effect).contains(r#""at_least":1"#),
        "{}",
        json(&first.effect)
    );
    assert!(json(&first.effect).contains("reached"));
    // Restart 1 also ends on its own copy's failure; restart 2 (the last) only on success.
    assert!(json(&first.postcondition).contains("MIGRATE_FAIL"));
    assert!(!json(&last.postcondition).contains("MIGRATE_FAIL"));
    assert_eq!(json(&first.precondition), json(&last.precondition));
    assert!(json(&last.precondition).contains("MIGRATE_FAIL"));
}

#[test]
fn exhausted_restarts_say_how_many_were_made() {
    let p = run(
        &spec(RESTART),
        &live(Some(restarted(TaskState::MigrateFail, 2))),
    );
    let r = &p.resources[0];
    assert_eq!(r.blocked.len(), 1, "{:?}", r.blocked);
    assert!(
        r.blocked[0]
            .message
            .contains("restarted 2 times already, all that `on_failure: {restart: 2}` allows"),
        "{}",
        r.blocked[0].message
    );
    assert_eq!(
        crate::current::restarts_recorded(&restarted(TaskState::MigrateFail, 2)),
        2
    );
}

/// A task copying with its consistency check running (`checking`) or not.
fn checked_copy(checking: bool) -> Task {
    let mut t = task(TaskState::Running);
    t.sub_tasks = vec![
        migplan_wire::sms::SubTask {
            id: 1,
            name: "MIGRATE_LINUX_BLOCK".into(),
            start_date: Some(1),
            end_date: Some(2),
            progress: 100,
            ..migplan_wire::sms::SubTask::default()
        },
        migplan_wire::sms::SubTask {
            id: 2,
            name: "CONSISTENCY_CHECK".into(),
            start_date: Some(2),
            end_date: (!checking).then_some(3),
            ..migplan_wire::sms::SubTask::default()
        },
    ];
    t
}

#[test]
fn a_running_check_the_plan_no_longer_wants_is_skipped_once() {
    let off = spec(
        "servers:\n  - {name: web-01, target: {template: tpl}, consistency_check: false, stage: replicated}\n",
    );
    let on = spec(
        "servers:\n  - {name: web-01, target: {template: tpl}, consistency_check: true, stage: replicated}\n",
    );
    let unset = spec(RUNNING);
    assert_eq!(
        outcome(&run(&off, &live(Some(checked_copy(true))))),
        "skip wait.replicated"
    );
    // Wanted, or not written: the check runs on.
    assert_eq!(
        outcome(&run(&on, &live(Some(checked_copy(true))))),
        "wait.replicated"
    );
    assert_eq!(
        outcome(&run(&unset, &live(Some(checked_copy(true))))),
        "wait.replicated"
    );
    // No check running (ended, skipped): nothing to skip.
    assert_eq!(
        outcome(&run(&off, &live(Some(checked_copy(false))))),
        "wait.replicated"
    );
    let p = run(&off, &live(Some(checked_copy(true))));
    assert_eq!(
        p.steps[0].call(),
        Call::SmsAction {
            operation: migplan_wire::sms::Operation::Skip,
            template_id: None
        }
    );
    assert_eq!(
        p.steps[0].effect,
        crate::Condition::AnyOf {
            conditions: vec![
                crate::Condition::task(&[TaskState::Skipping]),
                crate::Condition::ConsistencyCheck { running: false },
            ]
        }
    );
}
