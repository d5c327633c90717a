//! Stage `verified` end to end: two real redis-servers stand for the plan's DCS instances; the
//! emulator's migration moves the data between them for real (a full copy, then a follow),
//! and apply compares them before it lets the server cutover that waits on the data go.
//! `redis-server` must be on PATH (`.ci/run` installs Debian's package).

use std::time::{Duration, Instant};

use migplan_redis_verify::harness::RedisServer;
use serde_json::Value;

use crate::emulated::{Emulated, Setup, json_lines, scratch_dir, sent, show};

const PLAN: &str = "plans/verified-cutover.yaml";
// The passwords the e2e environment exports (see `Emulated::cmd`).
const SOURCE_PW: &str = "src-pw-e2e";
const TARGET_PW: &str = "tgt-pw-e2e";

fn con(s: &RedisServer, pw: &str, db: u32) -> redis::Connection {
    redis::Client::open(format!("redis://:{pw}@127.0.0.1:{}/{db}", s.port()))
        .expect("client")
        .get_connection()
        .expect("connect")
}

fn run(c: &mut redis::Connection, cmd: &mut redis::Cmd) {
    let _: redis::Value = cmd.query(c).expect("redis command");
}

/// One key of every type, a TTL, a value over 1 MB, and a key in db 1.
fn write_generation(s: &RedisServer, tag: &str) {
    let mut c = con(s, SOURCE_PW, 0);
    run(
        &mut c,
        redis::cmd("SET").arg(format!("{tag}:string")).arg("v"),
    );
    run(
        &mut c,
        redis::cmd("HSET")
            .arg(format!("{tag}:hash"))
            .arg("f1")
            .arg("v1")
            .arg("f2")
            .arg("v2"),
    );
    run(
        &mut c,
        redis::cmd("RPUSH")
            .arg(format!("{tag}:list"))
            .arg("a")
            .arg("b"),
    );
    run(
        &mut c,
        redis::cmd("SADD")
            .arg(format!("{tag}:set"))
            .arg("x")
            .arg("y"),
    );
    run(
        &mut c,
        redis::cmd("ZADD")
            .arg(format!("{tag}:zset"))
            .arg(1.5)
            .arg("m"),
    );
    run(
        &mut c,
        redis::cmd("SET")
            .arg(format!("{tag}:ttl"))
            .arg("t")
            .arg("EX")
            .arg(3600),
    );
    let big: Vec<u8> = (0..1_200_000u32).map(|i| (i % 251) as u8).collect();
    run(&mut c, redis::cmd("SET").arg(format!("{tag}:big")).arg(big));
    let mut c1 = con(s, SOURCE_PW, 1);
    run(
        &mut c1,
        redis::cmd("SET").arg(format!("{tag}:db1")).arg("one"),
    );
}

fn exists(s: &RedisServer, pw: &str, key: &str) -> bool {
    let n: i64 = redis::cmd("EXISTS")
        .arg(key)
        .query(&mut con(s, pw, 0))
        .expect("EXISTS");
    n == 1
}

/// The example plan with the migration only up to `migrated` and the server up to
/// `replicated` (nothing waits yet): the first apply of a two-phase test.
fn first_phase(tag: &str) -> String {
    let text = std::fs::read_to_string(crate::repo_root().join(PLAN)).expect("plan");
    let text: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.trim_start().starts_with("depends_on:")
                && !l.trim_start().starts_with("- cutover:")
                && !l.trim_start().starts_with("- stopped:")
        })
        .collect();
    let text = text
        .join("\n")
        .replace("stage: cutover", "stage: replicated")
        .replace("stage: stopped", "stage: migrated");
    let path = scratch_dir(tag).join("first.yaml");
    std::fs::write(&path, text).expect("plan file");
    path.display().to_string()
}

struct World {
    e: Emulated,
    source: RedisServer,
    target: RedisServer,
}

/// Both Redis servers, data written before the migration, an emulator that maps the plan's
/// instance ids to them, and a first apply: the migration follows, the server is copied.
fn migrated(tag: &str) -> World {
    let source = RedisServer::start_with(Some(SOURCE_PW), &[]).expect("redis-server");
    let target = RedisServer::start_with(Some(TARGET_PW), &[]).expect("redis-server");
    write_generation(&source, "before");
    let e = Setup::plans(&[PLAN])
        .redis_instance("dcs-sessions-old", &source.addr())
        .redis_instance("dcs-sessions-new", &target.addr())
        .start();
    let first = first_phase(tag);
    let out = e.apply_json(&first, "20ms", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        exists(&target, TARGET_PW, "before:big"),
        "the full copy moved the data"
    );
    World { e, source, target }
}

/// Waits (real time, bounded) until `key` shows on the target.
fn until_copied(w: &World, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !exists(&w.target, TARGET_PW, key) {
        assert!(Instant::now() < deadline, "{key} never reached the target");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn events(out: &std::process::Output) -> Vec<Value> {
    json_lines(&out.stdout)
}

fn position(events: &[Value], kind: &str, step: &str) -> Option<usize> {
    events
        .iter()
        .position(|e| e["type"] == kind && e["step"] == step)
}

fn held(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .rev()
        .find(|e| e["type"] == "apply_summary")
        .and_then(|s| s["held"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn verified_data_lets_the_cutover_go_and_only_after_the_comparison() {
    let w = migrated("verified-pass");
    // Changes while the migration follows reach the target too.
    write_generation(&w.source, "during");
    until_copied(&w, "during:big");
    until_copied(&w, "during:zset");

    let out = w.e.apply_json(PLAN, "20ms", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ev = events(&out);
    let verified = position(&ev, "step_completed", "redis.sessions#verify")
        .unwrap_or_else(|| panic!("the comparison passed: {}", show(&out)));
    let note = ev[verified]["note"].as_str().unwrap_or_default();
    assert!(note.starts_with("verified:"), "{note}");
    assert!(note.contains("lag"), "the marker key was measured: {note}");
    let cutover = position(&ev, "step_started", "server.app-01#cutover").expect("cutover");
    assert!(
        verified < cutover,
        "the cutover started before the data was verified"
    );
    assert_eq!(sent(&w.e, 0, "cutover"), 1);
    // The sync stopped after the cutover; a re-run has nothing to compare any more (the gate
    // served) and changes nothing.
    let again =
        w.e.cmd()
            .args(["plan", PLAN, "--detailed-exitcode"])
            .output()
            .expect("runs");
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    assert!(!show(&again).contains("verify data"), "{}", show(&again));
}

#[test]
fn a_tampered_target_holds_the_cutover_naming_the_mismatches() {
    let w = migrated("verified-tamper");
    let mut t = con(&w.target, TARGET_PW, 0);
    run(
        &mut t,
        redis::cmd("DEL").arg("before:hash").arg("before:set"),
    );
    run(
        &mut t,
        redis::cmd("SET")
            .arg("before:string")
            .arg("changed on the target"),
    );

    let out = w.e.apply_json(PLAN, "20ms", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let held = held(&events(&out));
    let verify = held
        .iter()
        .find(|h| h["step"] == "redis.sessions#verify")
        .unwrap_or_else(|| panic!("the comparison is held: {}", show(&out)));
    let reason = verify["reason"].as_str().unwrap_or_default();
    for named in [
        "missing",
        "before:hash",
        "before:set",
        "value differs",
        "before:string",
    ] {
        assert!(reason.contains(named), "{named} not in: {reason}");
    }
    assert!(
        held.iter().any(|h| h["step"] == "server.app-01#cutover"),
        "the cutover waits with it: {held:?}"
    );
    assert_eq!(sent(&w.e, 0, "cutover"), 0, "no cutover was sent");
    assert!(!show(&out).contains(TARGET_PW) && !show(&out).contains(SOURCE_PW));
}

#[test]
fn an_unreachable_target_is_inconclusive_and_a_rerun_after_its_restart_passes() {
    let mut w = migrated("verified-down");
    w.target.shutdown_saving().expect("shutdown");
    let out = w.e.apply_json(PLAN, "20ms", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let held = held(&events(&out));
    let reason = held
        .iter()
        .find(|h| h["step"] == "redis.sessions#verify")
        .and_then(|h| h["reason"].as_str())
        .unwrap_or_else(|| panic!("held: {}", show(&out)))
        .to_string();
    assert!(reason.contains("inconclusive"), "{reason}");
    assert!(reason.contains("target Redis is unreachable"), "{reason}");
    assert!(reason.contains("re-run"), "{reason}");
    assert_eq!(sent(&w.e, 0, "cutover"), 0);

    w.target.restart().expect("restart");
    let out = w.e.apply_json(PLAN, "20ms", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(sent(&w.e, 0, "cutover"), 1);
}

#[test]
fn a_plan_left_with_only_its_comparison_has_no_changes_but_apply_still_compares() {
    let w = migrated("verified-only");
    let text = std::fs::read_to_string(crate::repo_root().join(PLAN)).expect("plan");
    let redis_only = text[..text.find("servers:").expect("servers")].to_string()
        + &text
            [text.find("redis:").expect("redis")..text.find("    stage: stopped").expect("stage")]
        + "    stage: verified\n";
    let path = scratch_dir("verified-only").join("only.yaml");
    std::fs::write(&path, redis_only).expect("plan file");
    let plan = path.display().to_string();
    let p =
        w.e.cmd()
            .args(["plan", &plan, "--detailed-exitcode"])
            .output()
            .expect("runs");
    assert_eq!(
        p.status.code(),
        Some(0),
        "a check is no change: {}",
        show(&p)
    );
    assert!(
        show(&p).contains("No changes. Apply runs 1 check"),
        "{}",
        show(&p)
    );
    let out = w.e.apply_json(&plan, "20ms", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        position(&events(&out), "step_completed", "redis.sessions#verify").is_some(),
        "{}",
        show(&out)
    );
    // A tampered target makes the same apply exit 3.
    let mut t = con(&w.target, TARGET_PW, 0);
    run(&mut t, redis::cmd("DEL").arg("before:zset"));
    let out = w.e.apply_json(&plan, "20ms", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
}

#[test]
fn apply_local_compares_throwaway_redis_servers_and_says_so() {
    let out = crate::migplan()
        .args(["apply", "--local", "--auto-approve", PLAN])
        .env("SESSIONS_SOURCE_PASSWORD", SOURCE_PW)
        .env("SESSIONS_TARGET_PASSWORD", TARGET_PW)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = show(&out);
    assert!(
        text.contains("throwaway redis-servers for the data comparison"),
        "{text}"
    );
    assert!(text.contains("1000 sample keys"), "{text}");
    assert!(
        text.contains("redis.sessions#verify") && text.contains("done: verified:"),
        "{text}"
    );
    assert!(
        !text.contains(SOURCE_PW) && !text.contains(TARGET_PW),
        "{text}"
    );
}
