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
