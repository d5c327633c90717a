//! Server cutover gates: a final sync round (`max_sync_age_seconds`) and the SMS consistency
//! result (`consistency_check: true`) come right before the cutover, in that order.

use super::{outcome, run, source, spec};
use crate::{LiveSnapshot, StepClass};

/// A registered source and the template: nothing blocks the plan.
fn live() -> LiveSnapshot {
    LiveSnapshot {
        sources: vec![source("web-01")],
        templates: vec![migplan_wire::sms::Template {
            id: Some("tpl-id".into()),
            name: "tpl".into(),
            ..Default::default()
        }],
        ..LiveSnapshot::default()
    }
}

#[test]
fn gates_come_right_before_the_cutover() {
    let cases: &[(&str, &str)] = &[
        ("", "create start wait.replicated test cutover"),
        (
            "consistency_check: true, ",
            "create start wait.replicated test consistency cutover",
        ),
        (
            "syncing: true, max_sync_age_seconds: 600, ",
            "create start wait.replicated wait.synced test final-sync cutover",
        ),
        (
            "syncing: true, max_sync_age_seconds: 600, consistency_check: true, ",
            "create start wait.replicated wait.synced test final-sync consistency cutover",
        ),
    ];
    let mut failures = Vec::new();
    for (settings, expected) in cases {
        let s = spec(&format!(
            "servers:\n  - {{name: web-01, target: {{template: tpl}}, {settings}stage: cutover}}\n"
        ));
        let got = outcome(&run(&s, &live()));
        if got != *expected {
            failures.push(format!("{settings}: expected `{expected}`, got `{got}`"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_consistency_gate_is_a_check_and_the_final_round_an_action_with_its_age() {
    let s = spec(
        "servers:\n  - {name: web-01, target: {template: tpl}, syncing: true, max_sync_age_seconds: 5400, consistency_check: true, stage: cutover}\n",
    );
    let p = run(&s, &live());
    let by = |suffix: &str| {
        p.steps
            .iter()
            .find(|s| s.id.0.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix}"))
    };
    assert_eq!(by("#consistency").kind.class(), StepClass::Check);
    let api = by("#consistency").api.as_ref().expect("a read");
    assert_eq!(api.operation, "ShowConsistencyResult");
    let fs = by("#final-sync");
    assert_eq!(fs.kind.class(), StepClass::Action);
    assert_eq!(
        fs.label,
        "sync again if the last round finished over 1h30m ago"
    );
    assert_eq!(
        fs.api.as_ref().and_then(|a| a.action.as_deref()),
        Some("start")
    );
}
