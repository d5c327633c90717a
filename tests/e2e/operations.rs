//! SMS operations a plan declares (`paused`, `test: {mode: clone}`, `migration_test`), applied against the
//! emulator: each is sent exactly when the plan and live state call for it, a re-run sends
//! nothing, and an operation someone else already made is not sent again. What was sent is read
//! from the emulator's request log (`/_emulator/requests`: method, path, `operation`).

use std::path::PathBuf;

use migplan_wire::sms::{ListTasksQuery, ListTemplatesQuery, Operation, TaskActionRequest};

use crate::emulated::{Emulated, Setup, last_seq, scratch_dir, sent, show, writes_since};

const HEAD: &str = "version: 1\nname: ops\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n";

/// Writes a plan with one server entry (flow mapping `entry`) and returns its path.
fn plan_file(dir: &std::path::Path, file: &str, entry: &str) -> String {
    let p: PathBuf = dir.join(file);
    std::fs::write(&p, format!("{HEAD}servers:\n  - {entry}\n")).expect("plan file");
    p.display().to_string()
}

fn apply(e: &Emulated, plan: &str, extra: &[&str]) -> std::process::Output {
    e.apply_json(plan, "20ms", extra)
}

/// Applies `plan` and checks it exits `code` having sent no write: a re-run, or work someone
/// else already did.
fn sends_nothing(e: &Emulated, plan: &str, code: i32) {
    let before = last_seq(e);
    let out = apply(e, plan, &[]);
    assert_eq!(out.status.code(), Some(code), "{}", show(&out));
    assert!(
        writes_since(e, before).is_empty(),
        "{:#?}",
        writes_since(e, before)
    );
}

fn task_id(e: &Emulated, name: &str) -> String {
    let tasks = e
        .block_on(e.cloud().sms().list_all_tasks(&ListTasksQuery::default()))
        .expect("tasks");
    tasks
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| t.id)
        .expect("the task exists")
}

fn task_state(e: &Emulated, name: &str) -> String {
    let tasks = e
        .block_on(e.cloud().sms().list_all_tasks(&ListTasksQuery::default()))
        .expect("tasks");
    tasks
        .into_iter()
        .find(|t| t.name == name)
        .and_then(|t| t.state)
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// Someone else (the console, another tool) sends an action.
fn act(e: &Emulated, name: &str, req: TaskActionRequest) {
    let id = task_id(e, name);
    e.block_on(e.cloud().sms().task_action(&id, &req))
        .expect("action accepted");
}

/// A copy slow enough to be caught running: 1 Mbit/s at 100× virtual time.
const SLOW: &str = "name: hold-01, target: {template: tpl-app}, speed_limit: 1";

#[test]
fn paused_stops_a_running_copy_once_and_removing_it_resumes() {
    let dir = scratch_dir("ops-paused");
    let configured = plan_file(
        &dir,
        "configured.yaml",
        &format!("{{{SLOW}, stage: configured}}"),
    );
    let paused = plan_file(
        &dir,
        "paused.yaml",
        &format!("{{{SLOW}, paused: true, stage: replicated}}"),
    );
    let resumed = plan_file(
        &dir,
        "resumed.yaml",
        &format!("{{{SLOW}, stage: replicated}}"),
    );
    let e = Setup::plans(&[&configured]).time_scale(100.0).start();

    // Nothing runs yet: a paused plan holds the server, sends nothing.
    sends_nothing(&e, &paused, 0);

    // The task exists and someone started it: it copies.
    let out = apply(&e, &configured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    act(&e, "hold-01", TaskActionRequest::new(Operation::Start));
    assert_eq!(task_state(&e, "hold-01"), "RUNNING");

    // paused: true while it copies → exactly one `stop`.
    let plan = e.cmd().args(["plan", &paused]).output().expect("runs");
    assert!(show(&plan).contains("pause (stop)"), "{}", show(&plan));
    let before = last_seq(&e);
    let out = apply(&e, &paused, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "stop"),
        1,
        "{:#?}",
        writes_since(&e, before)
    );
    assert_eq!(writes_since(&e, before).len(), 1);
    assert_eq!(task_state(&e, "hold-01"), "ABORT");

    // A re-run sends nothing: the task is paused already.
    sends_nothing(&e, &paused, 0);

    // `paused` removed → one `start` resumes the copy (the run stops waiting; it is slow).
    let before = last_seq(&e);
    let out = apply(&e, &resumed, &["--wait-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "start"),
        1,
        "{:#?}",
        writes_since(&e, before)
    );
    assert_eq!(sent(&e, before, "stop"), 0);
    assert_eq!(task_state(&e, "hold-01"), "RUNNING");

    // Someone else paused it first: apply sees the pause and sends nothing.
    act(&e, "hold-01", TaskActionRequest::new(Operation::Stop));
    sends_nothing(&e, &paused, 0);
}

const CLONE: &str =
    "name: clone-01, target: {template: tpl-app}, test: {mode: clone, template: tpl-clone}";

#[test]
fn clone_test_reaches_tested_on_a_clone_once() {
    let dir = scratch_dir("ops-clone");
    let tested = plan_file(&dir, "tested.yaml", &format!("{{{CLONE}, stage: tested}}"));
    let e = Setup::plans(&[&tested]).templates(&["tpl-clone"]).start();

    let plan = e.cmd().args(["plan", &tested]).output().expect("runs");
    assert!(show(&plan).contains("> clone test"), "{}", show(&plan));
    let before = last_seq(&e);
    let out = apply(&e, &tested, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "clone_test"),
        1,
        "{:#?}",
        writes_since(&e, before)
    );
    assert_eq!(
        sent(&e, before, "test"),
        0,
        "the target itself is left alone"
    );
    let st = e.state().to_string();
    assert!(st.contains("clone-01-clone"), "a clone was made: {st}");

    // A re-run sends nothing: the clone is the test.
    sends_nothing(&e, &tested, 0);
}

#[test]
fn a_clone_test_someone_else_started_is_not_sent_again() {
    let dir = scratch_dir("ops-clone-other");
    let replicated = plan_file(
        &dir,
        "replicated.yaml",
        &format!("{{{CLONE}, stage: replicated}}"),
    );
    let tested = plan_file(&dir, "tested.yaml", &format!("{{{CLONE}, stage: tested}}"));
    let e = Setup::plans(&[&tested]).templates(&["tpl-clone"]).start();
    let out = apply(&e, &replicated, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let tpl = e
        .block_on(
            e.cloud()
                .sms()
                .list_all_templates(&ListTemplatesQuery::default()),
        )
        .expect("templates")
        .into_iter()
        .find(|t| t.name == "tpl-clone")
        .and_then(|t| t.id)
        .expect("template id");
    act(
        &e,
        "clone-01",
        TaskActionRequest {
            template_id: Some(tpl),
            ..TaskActionRequest::new(Operation::CloneTest)
        },
    );
    let before = last_seq(&e);
    let out = apply(&e, &tested, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "clone_test"),
        0,
        "{:#?}",
        writes_since(&e, before)
    );
    assert!(writes_since(&e, before).is_empty());
}

const DRILL: &str = "name: drill-01, target: {template: tpl-app}, migration_test: true";

#[test]
fn migration_test_drills_once_between_the_copy_and_the_test() {
    let dir = scratch_dir("ops-drill");
    let tested = plan_file(&dir, "tested.yaml", &format!("{{{DRILL}, stage: tested}}"));
    let e = Setup::plans(&[&tested]).start();

    let plan = e.cmd().args(["plan", &tested]).output().expect("runs");
    assert!(
        show(&plan).contains("> migration drill (migration_test)"),
        "{}",
        show(&plan)
    );
    let before = last_seq(&e);
    let out = apply(&e, &tested, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ops: Vec<String> = writes_since(&e, before)
        .iter()
        .filter_map(|r| r["operation"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        ops,
        ["start", "migration_test", "test"],
        "the drill, then the test"
    );
    let tasks = e
        .block_on(e.cloud().sms().list_all_tasks(&ListTasksQuery::default()))
        .expect("tasks");
    assert_eq!(
        tasks[0].need_migration_test,
        Some(true),
        "created for the drill"
    );

    // A re-run sends nothing: drilled and tested.
    sends_nothing(&e, &tested, 0);
}

#[test]
fn a_drill_someone_else_ran_is_not_sent_again() {
    let dir = scratch_dir("ops-drill-other");
    let replicated = plan_file(
        &dir,
        "replicated.yaml",
        &format!("{{{DRILL}, stage: replicated}}"),
    );
    let drilled = plan_file(
        &dir,
        "drilled.yaml",
        &format!("{{{DRILL}, stage: drilled}}"),
    );
    let e = Setup::plans(&[&drilled]).start();
    let out = apply(&e, &replicated, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    act(
        &e,
        "drill-01",
        TaskActionRequest::new(Operation::MigrationTest),
    );
    sends_nothing(&e, &drilled, 0);
    let st = e.state().to_string();
    assert!(st.contains("premiged"), "the drill finished: {st}");
}

const CHECKED: &str =
    "name: checked-01, target: {template: tpl-app}, network_check: {min_mbps: 50}";

#[test]
fn network_check_is_made_once_before_start() {
    let dir = scratch_dir("ops-netcheck");
    let configured = plan_file(
        &dir,
        "configured.yaml",
        &format!("{{{CHECKED}, speed_limit: 100, stage: configured}}"),
    );
    let replicated = plan_file(
        &dir,
        "replicated.yaml",
        &format!("{{{CHECKED}, speed_limit: 100, stage: replicated}}"),
    );
    let e = Setup::plans(&[&replicated]).start();
    let out = apply(&e, &configured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    let plan = e.cmd().args(["plan", &replicated]).output().expect("runs");
    assert!(show(&plan).contains("> network check"), "{}", show(&plan));
    let before = last_seq(&e);
    let out = apply(&e, &replicated, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ops: Vec<String> = writes_since(&e, before)
        .iter()
        .filter_map(|r| r["operation"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ops, ["network_check", "start"], "checked, then started");
    // The passing result is shown by `plan` (JSON) and `status`, with its figures.
    let plan = e
        .cmd()
        .args(["plan", &replicated, "--format", "json"])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("json");
    let shown = json["resources"][0]["network_check"]
        .as_str()
        .unwrap_or_default();
    assert!(shown.contains("Mbit/s"), "{}", show(&plan));
    let status = e
        .cmd()
        .args(["status", &replicated])
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains(&format!("network check: {shown}")),
        "{}",
        show(&status)
    );

    // A re-run sends nothing.
    sends_nothing(&e, &replicated, 0);
}

#[test]
fn a_check_someone_else_made_is_read_back_and_a_slow_one_holds_start() {
    let dir = scratch_dir("ops-netcheck-other");
    // Created with a 20 Mbit/s cap: the check measures 20.
    let slow = plan_file(
        &dir,
        "slow.yaml",
        "{name: checked-01, target: {template: tpl-app}, speed_limit: 20, stage: configured}",
    );
    let gated = plan_file(
        &dir,
        "gated.yaml",
        &format!("{{{CHECKED}, stage: replicated}}"),
    );
    let e = Setup::plans(&[&gated]).start();
    let out = apply(&e, &slow, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // apply checks (20 Mbit/s) and refuses to start, naming the figures.
    let before = last_seq(&e);
    let out = apply(&e, &gated, &[]);
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(sent(&e, before, "network_check"), 1);
    assert_eq!(
        sent(&e, before, "start"),
        0,
        "{:#?}",
        writes_since(&e, before)
    );
    assert!(show(&out).contains("measured 20 Mbit/s"), "{}", show(&out));
    assert_eq!(task_state(&e, "checked-01"), "READY");

    // The plan now shows the live result and holds start; a re-run sends nothing.
    let plan = e.cmd().args(["plan", &gated]).output().expect("runs");
    assert!(show(&plan).contains("20 Mbit/s"), "{}", show(&plan));
    sends_nothing(&e, &gated, 3);

    // Someone raised the cap and checked again: read back, not checked twice; start goes.
    let id = task_id(&e, "checked-01");
    e.block_on(e.cloud().sms().update_task(
        &id,
        &serde_json::from_value(serde_json::json!({"speed_limit": 100})).expect("body"),
    ))
    .expect("updated");
    act(
        &e,
        "checked-01",
        TaskActionRequest::new(Operation::NetworkCheck),
    );
    let before = last_seq(&e);
    let out = apply(&e, &gated, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "network_check"),
        0,
        "{:#?}",
        writes_since(&e, before)
    );
    assert_eq!(sent(&e, before, "start"), 1);
}

/// Source `fail-reset-01` fails every replication: its task ends MIGRATE_FAIL and the
/// source `error`; deleting the task leaves the source record saying `error`.
fn source_left_in_error(e: &Emulated, replicated: &str) -> String {
    let out = apply(e, replicated, &[]);
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(task_state(e, "fail-reset-01"), "MIGRATE_FAIL");
    let id = task_id(e, "fail-reset-01");
    e.block_on(e.cloud().sms().delete_task(&id))
        .expect("deleted");
    let src = e
        .block_on(e.cloud().sms().sources_named("fail-reset-01"))
        .expect("sources")
        .remove(0);
    assert_eq!(src.state.as_ref().map(|s| s.as_str()), Some("error"));
    src.id
}

fn changestates_since(e: &Emulated, since: u64) -> usize {
    writes_since(e, since)
        .iter()
        .filter(|r| {
            r["method"] == "PUT"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/changestate"))
                && r["status"].as_u64().is_some_and(|s| s < 300)
        })
        .count()
}

const RESET: &str = "name: fail-reset-01, target: {template: tpl-app}";

#[test]
fn a_source_left_in_error_is_reset_once_before_a_new_task() {
    let dir = scratch_dir("ops-reset");
    let replicated = plan_file(&dir, "r.yaml", &format!("{{{RESET}, stage: replicated}}"));
    let configured = plan_file(&dir, "c.yaml", &format!("{{{RESET}, stage: configured}}"));
    let e = Setup::plans(&[&configured]).start();
    source_left_in_error(&e, &replicated);

    let plan = e.cmd().args(["plan", &configured]).output().expect("runs");
    assert!(
        show(&plan).contains("reset source state (changestate)"),
        "{}",
        show(&plan)
    );
    let before = last_seq(&e);
    let out = apply(&e, &configured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        changestates_since(&e, before),
        1,
        "{:#?}",
        writes_since(&e, before)
    );
    let writes = writes_since(&e, before);
    let order: Vec<&str> = writes.iter().filter_map(|r| r["method"].as_str()).collect();
    assert_eq!(order, ["PUT", "POST"], "reset, then create: {writes:#?}");

    // A re-run sends nothing: the task exists now.
    sends_nothing(&e, &configured, 0);
}

#[test]
fn a_source_someone_else_reset_is_not_reset_again() {
    let dir = scratch_dir("ops-reset-other");
    let replicated = plan_file(&dir, "r.yaml", &format!("{{{RESET}, stage: replicated}}"));
    let configured = plan_file(&dir, "c.yaml", &format!("{{{RESET}, stage: configured}}"));
    let e = Setup::plans(&[&configured]).start();
    let src = source_left_in_error(&e, &replicated);
    // Planned while the source said `error`; reset by someone else before apply.
    let plan = e.cmd().args(["plan", &configured]).output().expect("runs");
    assert!(show(&plan).contains("changestate"), "{}", show(&plan));
    e.block_on(e.cloud().sms().change_source_state(
        &src,
        &migplan_wire::sms::ChangeStateRequest {
            copystate: Some(migplan_wire::sms::SourceState::Waiting),
            migrationcycle: Some(migplan_wire::sms::MigrationCycle::Checking),
        },
    ))
    .expect("reset");
    let before = last_seq(&e);
    let out = apply(&e, &configured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        changestates_since(&e, before),
        0,
        "{:#?}",
        writes_since(&e, before)
    );
    assert_eq!(task_state(&e, "fail-reset-01"), "READY");
}

/// `plans/every-operation.yaml` sends exactly what its comments claim, once.
#[test]
fn every_operation_example_sends_each_operation_it_claims() {
    let plan = "plans/every-operation.yaml";
    let e = Setup::plans(&[plan]).templates(&["tpl-clone"]).start();
    let before = last_seq(&e);
    let out = apply(&e, plan, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let tasks = e
        .block_on(e.cloud().sms().list_all_tasks(&ListTasksQuery::default()))
        .expect("tasks");
    let name_of = |path: &str| {
        tasks
            .iter()
            .find(|t| path.contains(&format!("/v3/tasks/{}/", t.id)))
            .map(|t| t.name.clone())
    };
    let mut per_server: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in writes_since(&e, before) {
        assert!(r["status"].as_u64().is_some_and(|s| s < 300), "{r}");
        let path = r["path"].as_str().unwrap_or_default();
        if let (Some(op), Some(name)) = (r["operation"].as_str(), name_of(path)) {
            per_server.entry(name).or_default().push(op.to_string());
        }
    }
    let ops = |n: &str| per_server.get(n).cloned().unwrap_or_default();
    assert_eq!(ops("checked-01"), ["network_check", "start"]);
    assert_eq!(ops("clone-01"), ["start", "clone_test"]);
    assert_eq!(ops("drill-01"), ["start", "migration_test", "test"]);
    assert_eq!(ops("verify-01"), ["start"]);
    assert_eq!(ops("flaky-01"), ["start", "restart"]);
    // hold-01 is held: no task, nothing sent.
    let mut names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "checked-01",
            "clone-01",
            "drill-01",
            "flaky-01",
            "verify-01"
        ]
    );
    let verify = tasks
        .iter()
        .find(|t| t.name == "drill-01")
        .expect("drill-01");
    assert_eq!(verify.need_migration_test, Some(true));

    // A re-run sends nothing.
    sends_nothing(&e, plan, 0);
}

/// Restarts the emulator recorded for `name` (copy subtasks started by `restart`).
fn restarts_on_record(e: &Emulated, name: &str) -> u32 {
    let id = task_id(e, name);
    let task = e.block_on(e.cloud().sms().show_task(&id)).expect("task");
    migplan_planner::current::restarts_recorded(&task)
}

#[test]
fn on_failure_restarts_a_failed_copy_once_and_a_rerun_sends_nothing() {
    let dir = scratch_dir("ops-restart");
    // `flaky-`: the first replication fails, the restarted one succeeds.
    let plan = plan_file(
        &dir,
        "r.yaml",
        "{name: flaky-01, target: {template: tpl-app}, on_failure: {restart: 2}, stage: replicated}",
    );
    let e = Setup::plans(&[&plan]).start();
    let shown = e.cmd().args(["plan", &plan]).output().expect("runs");
    for line in [
        "wait for MIGRATE_SUCCESS or a failure",
        "restart if failed (1 of 2)",
        "restart if failed (2 of 2)",
    ] {
        assert!(show(&shown).contains(line), "{line}: {}", show(&shown));
    }
    let before = last_seq(&e);
    let out = apply(&e, &plan, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(sent(&e, before, "start"), 1);
    assert_eq!(
        sent(&e, before, "restart"),
        1,
        "{:#?}",
        writes_since(&e, before)
    );
    assert_eq!(task_state(&e, "flaky-01"), "MIGRATE_SUCCESS");
    assert_eq!(restarts_on_record(&e, "flaky-01"), 1);

    sends_nothing(&e, &plan, 0);
}

#[test]
fn restarts_stop_at_the_limit_counted_from_the_task_history_then_the_server_is_blocked() {
    let dir = scratch_dir("ops-restart-limit");
    // `fail-`: every replication fails.
    let plan = plan_file(
        &dir,
        "r.yaml",
        "{name: fail-01, target: {template: tpl-app}, on_failure: {restart: 2}, stage: replicated}",
    );
    let e = Setup::plans(&[&plan]).start();
    let before = last_seq(&e);
    let out = apply(&e, &plan, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "restart"),
        2,
        "{:#?}",
        writes_since(&e, before)
    );
    assert_eq!(restarts_on_record(&e, "fail-01"), 2);

    // The next run counts the same two restarts from live state: blocked, nothing sent.
    let before = last_seq(&e);
    let out = apply(&e, &plan, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        show(&out).contains("restarted 2 times already"),
        "{}",
        show(&out)
    );
    assert!(
        writes_since(&e, before).is_empty(),
        "{:#?}",
        writes_since(&e, before)
    );
}

#[test]
fn a_restart_someone_else_made_counts_toward_the_limit() {
    let dir = scratch_dir("ops-restart-other");
    let configured = plan_file(
        &dir,
        "c.yaml",
        "{name: fail-02, target: {template: tpl-app}, stage: configured}",
    );
    let plan = plan_file(
        &dir,
        "r.yaml",
        "{name: fail-02, target: {template: tpl-app}, on_failure: {restart: 2}, stage: replicated}",
    );
    let e = Setup::plans(&[&configured]).start();
    let out = apply(&e, &configured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Someone starts it, it fails, they restart it once by hand, and it fails again.
    act(&e, "fail-02", TaskActionRequest::new(Operation::Start));
    e.emulator().advance(std::time::Duration::from_secs(3600));
    act(&e, "fail-02", TaskActionRequest::new(Operation::Restart));
    e.emulator().advance(std::time::Duration::from_secs(3600));
    assert_eq!(task_state(&e, "fail-02"), "MIGRATE_FAIL");

    let shown = e.cmd().args(["plan", &plan]).output().expect("runs");
    assert!(
        show(&shown).contains("restart if failed (2 of 2)"),
        "{}",
        show(&shown)
    );
    assert!(!show(&shown).contains("(1 of 2)"), "{}", show(&shown));
    let before = last_seq(&e);
    let out = apply(&e, &plan, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "restart"),
        1,
        "{:#?}",
        writes_since(&e, before)
    );
}

/// Starts `check-01` (created with the consistency check) and advances the emulator until the
/// check runs. Ten times virtual speed: the check (two virtual minutes) runs for twelve seconds.
fn check_running(e: &Emulated, dir: &std::path::Path) {
    let configured = plan_file(
        dir,
        "c.yaml",
        "{name: check-01, target: {template: tpl-app}, consistency_check: true, stage: configured}",
    );
    let out = apply(e, &configured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    act(e, "check-01", TaskActionRequest::new(Operation::Start));
    let id = task_id(e, "check-01");
    for _ in 0..200 {
        let t = e.block_on(e.cloud().sms().show_task(&id)).expect("task");
        if migplan_planner::current::consistency_check_running(&t) {
            return;
        }
        e.emulator().advance(std::time::Duration::from_secs(5));
    }
    panic!("the consistency check never ran");
}

fn skip_plan(dir: &std::path::Path) -> String {
    plan_file(
        dir,
        "skip.yaml",
        "{name: check-01, target: {template: tpl-app}, consistency_check: false, stage: replicated}",
    )
}

#[test]
fn a_running_check_the_plan_no_longer_wants_is_skipped_once() {
    let dir = scratch_dir("ops-skip");
    let e = Setup::plans(&[&skip_plan(&dir)]).time_scale(10.0).start();
    check_running(&e, &dir);
    let plan = skip_plan(&dir);
    let shown = e.cmd().args(["plan", &plan]).output().expect("runs");
    assert!(
        show(&shown).contains("skip the consistency check (skip)"),
        "{}",
        show(&shown)
    );
    // One skip; the copy's tail then runs on (exit 5 once the wait times out).
    let before = last_seq(&e);
    let out = apply(&e, &plan, &["--wait-timeout", "1s"]);
    assert!(matches!(out.status.code(), Some(0 | 5)), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "skip"),
        1,
        "{:#?}",
        writes_since(&e, before)
    );
    e.emulator().advance(std::time::Duration::from_secs(600));
    sends_nothing(&e, &plan, 0);
    assert_eq!(task_state(&e, "check-01"), "MIGRATE_SUCCESS");
}

#[test]
fn a_check_someone_else_skipped_is_not_skipped_again() {
    let dir = scratch_dir("ops-skip-other");
    let e = Setup::plans(&[&skip_plan(&dir)]).time_scale(10.0).start();
    check_running(&e, &dir);
    let plan = skip_plan(&dir);
    let out = e.cmd().args(["plan", &plan]).output().expect("runs");
    assert!(show(&out).contains("(skip)"), "{}", show(&out));
    // Someone skips it between plan and apply.
    act(&e, "check-01", TaskActionRequest::new(Operation::Skip));
    let before = last_seq(&e);
    let out = apply(&e, &plan, &["--wait-timeout", "1s"]);
    assert!(matches!(out.status.code(), Some(0 | 5)), "{}", show(&out));
    assert_eq!(
        sent(&e, before, "skip"),
        0,
        "{:#?}",
        writes_since(&e, before)
    );
}
