//! The settings for SMS operations (`paused`, `on_failure`, `test`, `network_check`) decode into
//! the spec the planner reads: values, defaults, inheritance and what is independent of what.
//! The invalid forms are in the corpus (`tests/invalid/`).

use migplan_parser::{NetworkCheck, OnFailure, ServerSpec, Spec, TestMode, TestSpec};

const HEADER: &str = "version: 1\nname: ops\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n";

fn spec(body: &str) -> Spec {
    let text = format!("{HEADER}{body}");
    match migplan_parser::parse("ops.yaml", &text) {
        Ok(p) => p.spec,
        Err(e) => panic!("invalid: {:?}", e.to_json()),
    }
}

fn server<'a>(spec: &'a Spec, name: &str) -> &'a ServerSpec {
    spec.servers
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no server {name}"))
}

#[test]
fn settings_are_absent_unless_written() {
    let s = spec("servers:\n  - {name: a, target: {template: t}, stage: tested}\n");
    let a = server(&s, "a");
    assert!(!a.paused);
    assert_eq!(a.on_failure, None);
    assert_eq!(a.test, None);
    assert_eq!(a.network_check, None);
}

#[test]
fn each_setting_decodes_into_the_spec() {
    let s = spec(
        "servers:
  - name: a
    target: {template: t}
    stage: tested
    paused: true
    on_failure: {restart: 10}
    test: {mode: clone, template: tpl-clone}
    network_check: {min_mbps: 12.5}
  - name: b
    target: {template: t}
    stage: tested
    paused: false
    on_failure: {restart: 1}
    test: {mode: in_place}
    network_check: {min_mbps: 10000}
",
    );
    let a = server(&s, "a");
    assert!(a.paused);
    assert_eq!(a.on_failure, Some(OnFailure { restart: 10 }));
    assert_eq!(
        a.test,
        Some(TestSpec {
            mode: TestMode::Clone,
            template: Some("tpl-clone".into())
        })
    );
    assert_eq!(a.network_check, Some(NetworkCheck { min_mbps: 12.5 }));
    let b = server(&s, "b");
    assert!(!b.paused);
    assert_eq!(b.on_failure, Some(OnFailure { restart: 1 }));
    assert_eq!(
        b.test,
        Some(TestSpec {
            mode: TestMode::InPlace,
            template: None
        })
    );
    assert_eq!(b.network_check, Some(NetworkCheck { min_mbps: 10000.0 }));
}

#[test]
fn entries_inherit_defaults_and_replace_them_whole() {
    let s = spec(
        "defaults:
  servers:
    target: {template: t}
    stage: tested
    paused: true
    on_failure: {restart: 3}
    test: {mode: clone, template: tpl-default}
    network_check: {min_mbps: 40}
servers:
  - name: inherits
  - name: overrides
    paused: false
    on_failure: {restart: 5}
    test: {mode: in_place}
    network_check: {min_mbps: 80}
",
    );
    let i = server(&s, "inherits");
    assert!(i.paused);
    assert_eq!(i.on_failure, Some(OnFailure { restart: 3 }));
    assert_eq!(
        i.test,
        Some(TestSpec {
            mode: TestMode::Clone,
            template: Some("tpl-default".into())
        })
    );
    assert_eq!(i.network_check, Some(NetworkCheck { min_mbps: 40.0 }));
    // An entry's `test` replaces the default mapping; the default's template is not merged in
    // (it would conflict with `in_place`).
    let o = server(&s, "overrides");
    assert!(!o.paused);
    assert_eq!(o.on_failure, Some(OnFailure { restart: 5 }));
    assert_eq!(
        o.test,
        Some(TestSpec {
            mode: TestMode::InPlace,
            template: None
        })
    );
    assert_eq!(o.network_check, Some(NetworkCheck { min_mbps: 80.0 }));
}

#[test]
fn the_network_check_is_independent_of_start_network_check() {
    // `start_network_check` is the SMS task's own flag; `network_check` is migplan's gate before
    // `start`. Neither implies or forbids the other.
    let s = spec(
        "servers:
  - {name: a, target: {template: t}, stage: replicated, start_network_check: false, network_check: {min_mbps: 5}}
  - {name: b, target: {template: t}, stage: replicated, start_network_check: true}
  - {name: c, target: {template: t}, stage: replicated, network_check: {min_mbps: 5}}
",
    );
    let a = server(&s, "a");
    assert_eq!(a.start_network_check, Some(false));
    assert_eq!(a.network_check, Some(NetworkCheck { min_mbps: 5.0 }));
    let b = server(&s, "b");
    assert_eq!(b.start_network_check, Some(true));
    assert_eq!(b.network_check, None);
    let c = server(&s, "c");
    assert_eq!(c.start_network_check, None);
}

#[test]
fn a_minimum_up_to_the_speed_limit_is_accepted() {
    // Equal to the cap is reachable; unlimited (0) caps nothing.
    let s = spec(
        "servers:
  - {name: a, target: {template: t}, stage: replicated, speed_limit: 100, network_check: {min_mbps: 100}}
  - {name: b, target: {template: t}, stage: replicated, speed_limit: 0, network_check: {min_mbps: 9000}}
",
    );
    assert_eq!(
        server(&s, "a").network_check.map(|n| n.min_mbps),
        Some(100.0)
    );
    assert_eq!(
        server(&s, "b").network_check.map(|n| n.min_mbps),
        Some(9000.0)
    );
}

#[test]
fn a_bad_default_test_is_reported_once_however_many_entries_inherit_it() {
    let text = format!(
        "{HEADER}defaults:\n  servers: {{test: {{mode: in_place, template: x}}}}\nservers:\n{}",
        (0..5)
            .map(|i| format!("  - {{name: s{i}, target: {{template: t}}, stage: tested}}\n"))
            .collect::<String>()
    );
    let errors = migplan_parser::parse("ops.yaml", &text).expect_err("invalid");
    let codes: Vec<_> = errors.to_json().into_iter().map(|d| d.code).collect();
    assert_eq!(codes, ["migplan::plan::conflict"]);
}

#[test]
fn the_every_operation_example_uses_every_setting() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../plans/every-operation.yaml"
    );
    let plan = migplan_parser::parse_file(std::path::Path::new(path)).expect("valid example");
    let s = &plan.spec;
    assert!(server(s, "hold-01").paused);
    // `flaky-` sources fail their first copy in the emulator: restarted once.
    let flaky = server(s, "flaky-01");
    assert!(flaky.on_failure.is_some_and(|f| f.restart >= 1));
    let checked = server(s, "checked-01");
    let min = checked.network_check.expect("a network check").min_mbps;
    // The emulator's network check reports the task's speed limit.
    assert!(min <= f64::from(checked.speed_limit.expect("a speed limit")));
    let clone = server(s, "clone-01");
    assert_eq!(clone.test.as_ref().map(|t| t.mode), Some(TestMode::Clone));
    assert!(clone.stage >= migplan_parser::ServerStage::Tested);
    let drill = server(s, "drill-01");
    assert_eq!(drill.migration_test, Some(true));
    assert!(drill.stage > migplan_parser::ServerStage::Drilled);
    assert_eq!(server(s, "verify-01").consistency_check, Some(true));
}
