//! Server cutover gates against the emulator: `consistency_check: true` holds a cutover until
//! SMS's consistency check result is OK.

use crate::emulated::{Setup, json_lines, scratch_dir, sent, show};

fn plan_file(tag: &str, servers: &[&str]) -> String {
    let mut text = String::from(
        "version: 1\nname: gates\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\nservers:\n",
    );
    for s in servers {
        text.push_str(&format!(
            "  - {{name: {s}, target: {{template: tpl-app}}, consistency_check: true, stage: cutover}}\n"
        ));
    }
    let path = scratch_dir(tag).join("gates.yaml");
    std::fs::write(&path, text).expect("plan file");
    path.display().to_string()
}

#[test]
fn an_ok_consistency_result_lets_the_cutover_go_and_a_bad_one_holds_it() {
    let plan = plan_file("consistency", &["app-01", "inconsistent-db"]);
    let e = Setup::plans(&[&plan]).start();
    let p = e.cmd().args(["plan", &plan]).output().expect("runs");
    assert!(
        show(&p).contains("? require the SMS consistency check result to be OK"),
        "{}",
        show(&p)
    );
    let out = e.apply_json(&plan, "20ms", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let events = json_lines(&out.stdout);
    let summary = events
        .iter()
        .rev()
        .find(|e| e["type"] == "apply_summary")
        .expect("summary");
    let held = summary["held"].as_array().expect("held");
    let gate = held
        .iter()
        .find(|h| h["step"] == "server.inconsistent-db#consistency")
        .unwrap_or_else(|| panic!("the bad result holds: {}", show(&out)));
    let reason = gate["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("did not pass"), "{reason}");
    assert!(
        reason.contains("different"),
        "the figures are named: {reason}"
    );
    assert!(
        held.iter()
            .any(|h| h["step"] == "server.inconsistent-db#cutover"),
        "{held:?}"
    );
    // The good one passed its gate and cut over; the bad one did not.
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "step_completed" && e["step"] == "server.app-01#consistency"),
        "{}",
        show(&out)
    );
    assert_eq!(sent(&e, 0, "cutover"), 1);
    let cutovers: Vec<_> = e
        .requests()
        .into_iter()
        .filter(|r| r["operation"] == "cutover")
        .collect();
    assert_eq!(cutovers.len(), 1, "{cutovers:#?}");
}

fn synced_plan(tag: &str, stage: &str) -> String {
    let text = format!(
        "version: 1\nname: fresh\ncloud: {{region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}}\nservers:\n  - {{name: db-01, target: {{template: tpl-app}}, syncing: true, max_sync_age_seconds: 900, stage: {stage}}}\n"
    );
    let path = scratch_dir(tag).join(format!("{stage}.yaml"));
    std::fs::write(&path, text).expect("plan file");
    path.display().to_string()
}

/// Cuts over after tested, with the clock moved `idle` in between; returns the apply's output
/// and how many `start`s the cutover run sent.
fn cutover_after(tag: &str, idle: std::time::Duration) -> (std::process::Output, usize) {
    let tested = synced_plan(tag, "tested");
    let cutover = synced_plan(tag, "cutover");
    // 500× virtual time: the 15 minutes allowed are 1.8 s of real time, far more than the
    // cutover run needs to reach its final-sync step.
    let e = Setup::plans(&[&tested]).time_scale(500.0).start();
    let out = e.apply_json(&tested, "20ms", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    e.emulator().advance(idle);
    let before = crate::emulated::last_seq(&e);
    let out = e.apply_json(&cutover, "20ms", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(sent(&e, before, "cutover"), 1);
    (out, sent(&e, before, "start"))
}

#[test]
fn a_stale_sync_gets_a_final_round_before_the_cutover() {
    let (out, starts) = cutover_after("sync-stale", std::time::Duration::from_secs(2 * 3600));
    assert_eq!(starts, 1, "one final sync round: {}", show(&out));
    let events = json_lines(&out.stdout);
    let synced = events
        .iter()
        .position(|e| e["type"] == "step_completed" && e["step"] == "server.db-01#final-sync")
        .expect("final sync done");
    let cutover = events
        .iter()
        .position(|e| e["type"] == "step_started" && e["step"] == "server.db-01#cutover")
        .expect("cutover started");
    assert!(
        synced < cutover,
        "the round finished before the cutover started"
    );
}

#[test]
fn a_fresh_sync_cuts_over_without_another_round_and_states_its_age() {
    let (out, starts) = cutover_after("sync-fresh", std::time::Duration::from_secs(60));
    assert_eq!(starts, 0, "{}", show(&out));
    let events = json_lines(&out.stdout);
    let note = events
        .iter()
        .find(|e| e["type"] == "step_completed" && e["step"] == "server.db-01#final-sync")
        .and_then(|e| e["note"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        note.starts_with("not needed: the last round finished"),
        "{note}"
    );
    assert!(note.contains("at most 15m allowed"), "{note}");
}
