//! Maintenance windows against the emulator: a closed window holds only the irreversible steps
//! (apply does the rest, sends no cutover, and exits 3 naming the opening); an open one lets
//! them through. Windows are written around the real clock, hours away from any edge.

use crate::emulated::{Setup, last_seq, scratch_dir, sent, show, writes_since};

/// A plan whose window opens `from` hours from now and closes `to` hours from now (UTC, every
/// day; wraps past midnight as windows do).
fn plan_file(tag: &str, from: i64, to: i64) -> String {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let hour = |h: i64| {
        let t = now
            .checked_add(jiff::SignedDuration::from_hours(h))
            .expect("time");
        format!("{:02}:00", t.hour())
    };
    let text = format!(
        "version: 1\nname: win\ncloud: {{region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}}\nwindows:\n  - {{name: night, start: \"{}\", end: \"{}\", timezone: UTC}}\nservers:\n  - {{name: db-01, target: {{template: tpl-app}}, stage: cutover, window: night}}\n  - {{name: web-01, target: {{template: tpl-app}}, stage: cutover, depends_on: [{{cutover: server.db-01@cutover}}]}}\n",
        hour(from),
        hour(to)
    );
    let path = scratch_dir(tag).join("win.yaml");
    std::fs::write(&path, text).expect("plan file");
    path.display().to_string()
}

#[test]
fn a_closed_window_holds_only_the_cutovers_and_apply_exits_3_naming_the_opening() {
    let plan = plan_file("win-closed", 3, 5);
    let e = Setup::plans(&[&plan]).start();
    let p = e
        .cmd()
        .args(["plan", &plan, "--detailed-exitcode"])
        .output()
        .expect("runs");
    assert_eq!(p.status.code(), Some(3), "{}", show(&p));
    assert!(show(&p).contains("held until"), "{}", show(&p));
    assert!(show(&p).contains("by window night"), "{}", show(&p));

    let out = e.apply_json(&plan, "20ms", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    // Everything reversible was done: both copied and tested; no cutover sent.
    assert_eq!(sent(&e, 0, "start"), 2);
    assert_eq!(sent(&e, 0, "test"), 2);
    assert_eq!(sent(&e, 0, "cutover"), 0, "{:#?}", e.requests());

    // A re-run while still closed sends nothing and still exits 3.
    let before = last_seq(&e);
    let out = e.apply_json(&plan, "20ms", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        writes_since(&e, before).is_empty(),
        "{:#?}",
        writes_since(&e, before)
    );
}

#[test]
fn an_open_window_lets_the_cutovers_through() {
    let plan = plan_file("win-open", -1, 2);
    let e = Setup::plans(&[&plan]).start();
    let p = e
        .cmd()
        .args(["plan", &plan, "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(p.status.code(), Some(0), "{}", show(&p));
    let json: serde_json::Value = serde_json::from_slice(&p.stdout).expect("json");
    let cutover = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == "server.db-01#cutover")
        .expect("the cutover is planned");
    assert!(cutover["start_before"].is_string(), "{cutover}");

    let out = e.apply_json(&plan, "20ms", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(sent(&e, 0, "cutover"), 2);
}
