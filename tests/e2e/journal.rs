//! The shared lock and run journal on a real PostgreSQL (`--lock-url`), with the real binary
//! against the emulator. The server is the journal crate's test harness: a throwaway cluster
//! under `target/`, or `MIGPLAN_TEST_PG`.

use std::io::BufRead;
use std::process::Stdio;

use serde_json::Value;

use crate::emulated::{Setup, show};

#[path = "../../crates/journal/tests/support/mod.rs"]
mod pg;

macro_rules! server_or_skip {
    () => {
        match pg::server() {
            Some(s) => s,
            None => return,
        }
    };
}

#[test]
fn apply_with_a_lock_url_journals_the_run_and_history_lists_it() {
    let server = server_or_skip!();
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    let (_, url, admin) = e.block_on(server.fresh_db());
    let out = e.apply_json("plans/quickstart.yaml", "50ms", &["--lock-url", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let completed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "step_completed")
        .map(|v| v["step"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!completed.is_empty(), "{}", show(&out));

    let hist = e
        .cmd()
        .args(["history", "plans/quickstart.yaml", "--format", "json"])
        .env("MIGPLAN_LOCK_URL", &url)
        .output()
        .expect("runs");
    assert_eq!(hist.status.code(), Some(0), "{}", show(&hist));
    let doc: Value = serde_json::from_slice(&hist.stdout).expect("json");
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{doc}");
    assert_eq!(runs[0]["exit_code"], 0);
    assert!(runs[0]["finished_at"].is_string());
    let done: Vec<String> = runs[0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["outcome"] == "done")
        .map(|s| s["step"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        done, completed,
        "the journal has every completed step, in order"
    );

    let human = e
        .cmd()
        .args(["history", "quickstart", "--lock-url", &url])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(0), "{}", show(&human));
    assert!(text.contains(", exit 0"), "{text}");
    assert!(
        text.contains(&format!("done     {}", completed[0])),
        "{text}"
    );

    // A run with nothing to do returns early: it releases the lock too.
    let again = e.apply_json("plans/quickstart.yaml", "50ms", &["--lock-url", &url]);
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).is_empty(),
        "{}",
        show(&again)
    );
    // Released at the end: no holder row is left behind.
    let holders: i64 = e
        .block_on(admin.query_one("SELECT count(*) FROM migplan_lock_holders", &[]))
        .expect("count")
        .get(0);
    assert_eq!(holders, 0);
    // The URL (with its password, when it has one) is never printed.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("sslmode"));
}

#[test]
fn the_lock_excludes_an_apply_from_another_machine_and_a_killed_holder_frees_it() {
    let server = server_or_skip!();
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .time_scale(1.0)
        .start();
    let (_, url, _admin) = e.block_on(server.fresh_db());
    let url = with_password(server, &url);
    let mut first = e
        .process()
        .args([
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--format",
            "json",
        ])
        .args(["--poll-interval", "100ms", "--lock-url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    // The plan line is printed after the lock is taken.
    let stdout = first.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let plan_line = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(plan_line.contains("\"type\":\"plan\""), "{plan_line}");

    // Another lock directory: only PostgreSQL can exclude this one (another runner).
    let other_dir = e.path("other-runner-locks");
    let second = e
        .cmd()
        .args(["apply", "plans/quickstart.yaml", "--auto-approve"])
        .env("MIGPLAN_LOCK_DIR", &other_dir)
        .env("MIGPLAN_LOCK_URL", &url)
        .output()
        .expect("runs");
    assert_eq!(second.status.code(), Some(1), "{}", show(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another run holds the lock on plan quickstart against"),
        "{err}"
    );
    assert!(!err.contains("unknown on host"), "the user is named: {err}");
    // Under --format json the refusal is a `lock_held` error, as for the file lock.
    let json = e
        .cmd()
        .args([
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--format",
            "json",
        ])
        .env("MIGPLAN_LOCK_DIR", &other_dir)
        .env("MIGPLAN_LOCK_URL", &url)
        .output()
        .expect("runs");
    let last: Value = String::from_utf8_lossy(&json.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    assert_eq!(last["error"]["kind"], "lock_held", "{}", show(&json));
    assert!(err.contains(&format!("(pid {})", first.id())), "{err}");
    assert!(
        !err.contains("sslmode"),
        "the URL's query is not echoed: {err}"
    );
    assert!(
        !err.contains(PASSWORD),
        "the password is never printed: {err}"
    );

    let _ = first.kill();
    let _ = first.wait();
    let third = e
        .cmd()
        .args(["apply", "plans/quickstart.yaml", "--auto-approve"])
        .args(["--wait-timeout", "1s", "--lock-url", &url])
        // The server ends the killed holder's session a moment after its socket closes.
        .args(["--lock-timeout", "30s"])
        .env("MIGPLAN_LOCK_DIR", &other_dir)
        .output()
        .expect("runs");
    assert_eq!(third.status.code(), Some(5), "{}", show(&third));
    assert!(
        String::from_utf8_lossy(&third.stderr).contains("without releasing its lock"),
        "{}",
        show(&third)
    );
    // The killed run is in the history, unfinished; the third finished with 5.
    let hist = e
        .cmd()
        .args([
            "history",
            "quickstart",
            "--format",
            "json",
            "--lock-url",
            &url,
        ])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&hist.stdout).expect("json");
    let codes: Vec<Value> = doc["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["exit_code"].clone())
        .collect();
    assert_eq!(codes, [Value::from(5), Value::Null], "{doc}");
    for out in [&third, &hist] {
        assert!(!show(out).contains(PASSWORD), "{}", show(out));
    }
}

/// The test cluster trusts every local login, so any password gets in: one that must never
/// be printed.
const PASSWORD: &str = "pw-must-not-print-5b1e";

fn with_password(server: &pg::Server, url: &str) -> String {
    if server.is_ours() {
        url.replacen("://postgres@", &format!("://postgres:{PASSWORD}@"), 1)
    } else {
        // A server of the developer's own may check passwords.
        url.to_string()
    }
}

#[test]
fn history_without_a_database_is_a_usage_error() {
    let out = crate::migplan()
        .env_remove("MIGPLAN_LOCK_URL")
        .args(["history", "quickstart"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MIGPLAN_LOCK_URL"));
}

#[test]
fn under_ci_without_a_lock_url_apply_warns_once_that_other_runners_are_not_excluded() {
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    let out = e
        .cmd()
        .env("CI", "true")
        .env_remove("MIGPLAN_LOCK_URL")
        .args(["apply", "plans/quickstart.yaml", "--auto-approve"])
        .args(["--poll-interval", "50ms", "--rate-limit", "0"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("other runners are not excluded").count(),
        1,
        "{err}"
    );
    let quiet = e
        .cmd()
        .env_remove("CI")
        .env_remove("MIGPLAN_LOCK_URL")
        .args(["apply", "plans/quickstart.yaml", "--auto-approve"])
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("not excluded"));
}

#[test]
fn a_database_lost_mid_apply_stops_the_run_with_exit_1() {
    let server = server_or_skip!();
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .time_scale(1.0)
        .start();
    let (_, url, admin) = e.block_on(server.fresh_db());
    let url = with_password(server, &url);
    let mut apply = e
        .process()
        .args([
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--format",
            "json",
        ])
        .args(["--poll-interval", "100ms", "--lock-url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stdout = apply.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    // Mid-apply: once a step has started (and been journaled).
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("\"type\":\"step_started\""));
    assert!(started, "no step started");
    // What a database restart or a cut network does to the apply's sessions.
    e.block_on(admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
        &[],
    ))
    .expect("terminate");
    std::thread::spawn(move || lines.for_each(drop));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let status = loop {
        if let Some(s) = apply.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = apply.kill();
            panic!("apply went on after losing its lock database");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut apply.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert_eq!(status.code(), Some(1), "{err}");
    // Whichever notices first: the next journal write, or the lock check.
    assert!(
        err.contains("the shared lock was lost") || err.contains("the run journal failed"),
        "{err}"
    );
    assert!(err.contains("became unreachable"), "{err}");
    assert!(err.contains("no new steps start"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
}

#[test]
fn a_failed_run_is_journaled_with_the_failure_and_what_it_skipped() {
    let server = server_or_skip!();
    // A source named `fail-…` fails every replication halfway.
    let dir = crate::emulated::scratch_dir("journal-fail");
    let plan = dir.join("fail.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: failing\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
servers:\n  - {name: fail-01, source: fail-01, target: {template: tpl-app}, stage: tested}\n",
    )
    .expect("plan");
    let plan_s = plan.display().to_string();
    let e = Setup::plans(&[])
        .sources(&["fail-01"])
        .templates(&["tpl-app"])
        .start();
    let (_, url, _admin) = e.block_on(server.fresh_db());
    let out = e.apply_json(&plan_s, "50ms", &["--lock-url", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let hist = e
        .cmd()
        .args(["history", &plan_s, "--format", "json", "--lock-url", &url])
        .output()
        .expect("runs");
    assert_eq!(hist.status.code(), Some(0), "{}", show(&hist));
    let doc: Value = serde_json::from_slice(&hist.stdout).expect("json");
    assert_eq!(doc["plan"], "failing");
    let run = &doc["runs"][0];
    assert_eq!(run["exit_code"], 1);
    let step = |id: &str| {
        run["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["step"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not journaled: {doc}"))
    };
    let failed = step("server.fail-01#wait.replicated");
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["error_code"], "SMS.1901");
    assert!(failed["started_at"].is_string() && failed["finished_at"].is_string());
    let skipped = step("server.fail-01#test");
    assert_eq!(skipped["outcome"], "skipped");
    assert!(skipped["started_at"].is_null());
    assert!(
        skipped["message"]
            .as_str()
            .is_some_and(|m| m.contains("server.fail-01#wait.replicated")),
        "{skipped}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Five applies on five "runners" (each its own lock directory), one PostgreSQL lock: they take
/// turns, all end 0, each task exists once, no write is refused, and the journal has five runs.
#[test]
fn five_applies_with_a_lock_timeout_converge_with_zero_duplicates() {
    let server = server_or_skip!();
    let plan = "plans/quickstart.yaml";
    let e = Setup::plans(&[plan]).time_scale(1000.0).start();
    let (_, url, _admin) = e.block_on(server.fresh_db());
    let mut runs = Vec::new();
    for n in 0..5 {
        let child = e
            .process()
            .args(["apply", plan, "--auto-approve", "--format", "json"])
            .args(["--poll-interval", "50ms", "--rate-limit", "0"])
            .args(["--lock-url", &url, "--lock-timeout", "120s"])
            .env("MIGPLAN_LOCK_DIR", e.path(&format!("runner-{n}-locks")))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        runs.push(child);
    }
    let outs: Vec<std::process::Output> = runs
        .into_iter()
        .map(|c| c.wait_with_output().expect("ends"))
        .collect();
    for out in &outs {
        assert_eq!(out.status.code(), Some(0), "{}", show(out));
    }
    let (tasks, _) = crate::emulated::task_names(&e.state());
    assert_eq!(tasks, ["app-01"], "one SMS task");
    let refused: Vec<Value> = e
        .requests()
        .into_iter()
        .filter(|r| r["method"] != "GET")
        .filter(|r| r["status"].as_u64().is_some_and(|s| s >= 400))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
    // Exactly one run did the work; the others found nothing to do.
    let worked = outs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains("\"type\":\"step_completed\""))
        .count();
    assert_eq!(worked, 1);
    let hist = e
        .cmd()
        .args([
            "history",
            "quickstart",
            "--format",
            "json",
            "--lock-url",
            &url,
        ])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&hist.stdout).expect("json");
    assert_eq!(doc["runs"].as_array().map(Vec::len), Some(5), "{doc}");
}
