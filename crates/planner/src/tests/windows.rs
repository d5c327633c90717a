//! Maintenance windows hold irreversible steps (and only those) while closed, name the next
//! opening, hold what waits on them, and stamp the closing instant while open.

use migplan_wire::sms::{Task, TaskSourceServer, TaskState, Template};

use super::{HEAD, source, spec};
use crate::{BlockedReason, LiveSnapshot, Plan, PlanOptions, plan};

/// A window on every day, 01:00–05:00 UTC.
const WINDOWS: &str =
    "windows:\n  - {name: night, start: \"01:00\", end: \"05:00\", timezone: UTC}\n";

fn live() -> LiveSnapshot {
    LiveSnapshot {
        sources: vec![source("db-01"), source("web-01")],
        templates: vec![Template {
            id: Some("id-tpl".into()),
            name: "tpl".into(),
            ..Template::default()
        }],
        tasks: vec![Task {
            id: "t1".into(),
            name: "db-01".into(),
            state: Some(TaskState::MigrateSuccess),
            source_server: Some(TaskSourceServer {
                id: "src-db-01".into(),
                ..TaskSourceServer::default()
            }),
            ..Task::default()
        }],
        ..LiveSnapshot::default()
    }
}

fn at(body: &str, now: Option<&str>) -> Plan {
    let opts = PlanOptions {
        now: now.map(|t| t.parse().expect("instant")),
        ..PlanOptions::default()
    };
    plan(&spec(&format!("{WINDOWS}{body}")), &live(), &opts).expect("plans")
}

fn ids(p: &Plan, addr: &str) -> Vec<String> {
    p.steps
        .iter()
        .filter(|s| s.resource.as_ref().is_some_and(|r| r.to_string() == addr))
        .map(|s| s.id.0.split_once('#').map_or("", |(_, k)| k).to_string())
        .collect()
}

const DB: &str =
    "servers:\n  - {name: db-01, target: {template: tpl}, stage: cutover, window: night}\n";
const WEB_WAITS: &str = "  - {name: web-01, target: {template: tpl}, stage: cutover, depends_on: [{cutover: server.db-01@cutover}]}\n";

#[test]
fn a_closed_window_holds_only_the_irreversible_steps_and_names_the_opening() {
    let p = at(DB, Some("2026-11-25T12:00:00Z"));
    // The copy is done: the test goes ahead, the cutover waits for 01:00.
    assert_eq!(ids(&p, "server.db-01"), ["test"]);
    let r = &p.resources[0];
    assert_eq!(r.blocked.len(), 1, "{:?}", r.blocked);
    assert_eq!(
        r.blocked[0].reason,
        BlockedReason::WindowClosed {
            window: "night".into(),
            opens_at: Some("2026-11-26T01:00+00:00".into()),
            from: migplan_parser::Stage::Server(migplan_parser::ServerStage::Cutover),
        }
    );
    assert!(
        r.blocked[0]
            .message
            .contains("held until 2026-11-26T01:00+00:00 by window night"),
        "{}",
        r.blocked[0].message
    );
    assert!(p.is_blocked());
    assert_eq!(p.planned_at.as_deref(), Some("2026-11-25T12:00:00Z"));
}

#[test]
fn what_waits_on_a_held_cutover_is_held_too_and_the_rest_goes_ahead() {
    let p = at(&format!("{DB}{WEB_WAITS}"), Some("2026-11-25T12:00:00Z"));
    // web-01 copies and tests now; its cutover waits for db-01's.
    assert_eq!(
        ids(&p, "server.web-01"),
        ["create", "start", "wait.replicated", "test"]
    );
    assert!(matches!(
        p.resources[1].blocked[0].reason,
        BlockedReason::DependencyBlocked { from: Some(_), .. }
    ));
}

#[test]
fn an_open_window_stamps_its_closing_on_the_irreversible_steps() {
    let p = at(DB, Some("2026-11-26T02:00:00Z"));
    assert_eq!(ids(&p, "server.db-01"), ["test", "cutover"]);
    assert!(!p.is_blocked());
    let by_id = |k: &str| p.steps.iter().find(|s| s.id.0.ends_with(k)).unwrap();
    assert_eq!(
        by_id("#cutover").start_before.as_deref(),
        Some("2026-11-26T05:00+00:00")
    );
    assert_eq!(by_id("#test").start_before, None, "reversible: never gated");
}

#[test]
fn a_wave_window_applies_to_its_members_unless_they_name_their_own() {
    let p = at(
        "servers:\n  - {name: db-01, target: {template: tpl}, stage: cutover}\nwaves:\n  - {name: w1, members: [server.db-01], window: night}\n",
        Some("2026-11-25T12:00:00Z"),
    );
    assert_eq!(ids(&p, "server.db-01"), ["test"]);
    assert!(p.resources[0].is_blocked());
}

#[test]
fn without_a_clock_windowed_irreversible_steps_are_held() {
    let p = at(DB, None);
    assert_eq!(ids(&p, "server.db-01"), ["test"]);
    assert!(matches!(
        &p.resources[0].blocked[0].reason,
        BlockedReason::WindowClosed { opens_at: None, .. }
    ));
}

#[test]
fn a_resource_without_a_window_is_untouched() {
    let p = at(
        "servers:\n  - {name: db-01, target: {template: tpl}, stage: cutover}\n",
        Some("2026-11-25T12:00:00Z"),
    );
    assert_eq!(ids(&p, "server.db-01"), ["test", "cutover"]);
    assert!(!p.is_blocked());
    assert!(p.steps.iter().all(|s| s.start_before.is_none()));
}

#[test]
fn a_saved_plan_a_window_moved_under_is_refused_as_such_not_as_an_edit() {
    let text = format!("{HEAD}{WINDOWS}{DB}");
    let s = spec(&format!("{WINDOWS}{DB}"));
    let closed = at(DB, Some("2026-11-25T12:00:00Z"));
    let saved = crate::SavedPlan::new(closed, "t.yaml", &text, "test");
    // Same window state: the re-derivation is the saved plan.
    let later: jiff::Timestamp = "2026-11-25T20:00:00Z".parse().unwrap();
    assert!(
        saved
            .rederive(&s, &live(), &Default::default(), Some(later))
            .is_ok()
    );
    // The window opened since: refused, saying so.
    let open: jiff::Timestamp = "2026-11-26T02:00:00Z".parse().unwrap();
    let err = saved
        .rederive(&s, &live(), &Default::default(), Some(open))
        .expect_err("window moved");
    assert!(err.windows_moved, "{err}");
    assert!(
        err.to_string()
            .contains("maintenance window opened or closed")
    );
    // An edited saved plan is an edit, whatever the windows do.
    let mut edited = saved.clone();
    edited.plan.steps.retain(|st| !st.id.0.ends_with("#test"));
    let err = edited
        .rederive(&s, &live(), &Default::default(), Some(open))
        .expect_err("edited");
    assert!(!err.windows_moved, "{err}");
}
