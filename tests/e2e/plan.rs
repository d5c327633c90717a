//! `migplan plan` and `migplan graph` through the real binary, against the in-process emulator
//! (`--local`), which serves the real API over HTTP.

use crate::emulated::Setup;
use crate::{migplan, repo_root};

#[test]
fn plan_from_nothing_reports_changes_with_exit_2_and_versioned_json() {
    let out = migplan()
        .args([
            "plan",
            "--local",
            "--detailed-exitcode",
            "--format",
            "json",
            "plans/quickstart.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["summary"]["create"], 1);
    assert_eq!(plan["summary"]["blocked"], 0);
    let kinds: Vec<&str> = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["label"].as_str())
        .collect();
    assert!(kinds.iter().any(|k| k.contains("create")), "{kinds:?}");
}

#[test]
fn a_source_that_is_not_registered_blocks_with_exit_3_and_says_why() {
    // web-02's agent never registered with SMS.
    let e = Setup::plans(&["plans/shop-cutover.yaml"])
        .without_source("web-02")
        .start();
    let out = e
        .cmd()
        .args(["plan", "--detailed-exitcode", "plans/shop-cutover.yaml"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Target: ap-southeast-3"),
        "the target must be named: {text}"
    );
    assert!(text.contains("`web-02` is not registered"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
}

#[test]
fn local_mode_names_the_emulator_as_target() {
    let out = migplan()
        .env("SESSIONS_SOURCE_PASSWORD", "s")
        .env("SESSIONS_TARGET_PASSWORD", "t")
        .args(["plan", "--local", "plans/shop-cutover.yaml"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Target: the local emulator"), "{text}");
    assert!(
        !text.contains("(blocked)") && text.contains(", 0 blocked."),
        "--local registers every source, by name or id: {text}"
    );
}

#[test]
fn markdown_plan_is_a_pr_comment_without_secrets() {
    let out = migplan()
        .args([
            "plan",
            "--local",
            "--format",
            "markdown",
            "plans/shop-cutover.yaml",
        ])
        .env("SESSIONS_SOURCE_PASSWORD", "do-not-print-me-4711")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("redis.sessions"), "{text}");
    assert!(!text.contains("do-not-print-me-4711"));
}

#[test]
fn saved_plan_records_the_plan_and_the_file_digest() {
    let dir = std::env::temp_dir().join(format!("migplan-e2e-saved-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let saved = dir.join("quickstart.plan.json");
    let out = migplan()
        .args(["plan", "--local", "plans/quickstart.yaml", "--out"])
        .arg(&saved)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved")).expect("JSON");
    assert_eq!(json["saved_plan_version"], 1);
    assert_eq!(json["plan_file_sha256"].as_str().map(str::len), Some(64));
    let fingerprint = &json["plan"]["resources"][0]["fingerprint"];
    assert!(
        fingerprint.as_str().is_some_and(|f| f.len() == 64),
        "{fingerprint}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plan_without_credentials_is_a_clear_error_not_a_fallback() {
    let out = migplan()
        .args(["plan", "plans/quickstart.yaml"])
        .env_remove("HW_ACCESS_KEY")
        .env_remove("HW_SECRET_KEY")
        .env_remove("CLOUD_SDK_AK")
        .env_remove("CLOUD_SDK_SK")
        .env_remove("MIGPLAN_AUTH_TOKEN")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--local"),
        "the error should point at --local: {err}"
    );
}

#[test]
fn graph_prints_dot_and_mermaid_offline() {
    for (format, marker) in [("dot", "digraph"), ("mermaid", "flowchart")] {
        let out = migplan()
            .args(["graph", "--format", format])
            .arg(repo_root().join("plans/shop-cutover.yaml"))
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{text}");
        assert!(text.contains("server.web-01"), "{text}");
    }
}

/// `plan --timings`' API requests per route.
fn plan_calls(extra: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    let out = migplan()
        .args(["plan", "--local", "--timings", "plans/fleet-waves.yaml"])
        .args(extra)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("timings: "))
        .expect("a timings line on stderr");
    let t: serde_json::Value = serde_json::from_str(line).expect("JSON");
    t["api_calls"].as_object().expect("api_calls").clone()
}

#[test]
fn the_forecast_reads_the_detail_of_each_source_still_to_copy_and_nothing_else() {
    // The list carries no used sizes: one detail per source whose copy is ahead (7 servers,
    // nothing created yet); the lists are read once per page as without the forecast.
    let calls = plan_calls(&[]);
    assert_eq!(calls["SMS GET /v3/sources/{source_id}"], 7, "{calls:?}");
    let without = plan_calls(&["--no-forecast"]);
    for (route, n) in &without {
        assert_eq!(calls.get(route), Some(n), "{route}: {calls:?}");
    }
    assert_eq!(calls.len(), without.len() + 1, "{calls:?}");
}

#[test]
fn refresh_reads_each_list_once_per_page_not_once_per_resource() {
    let out = migplan()
        .args([
            "plan",
            "--local",
            "--timings",
            "--no-forecast",
            "plans/fleet-waves.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("timings: "))
        .expect("a timings line on stderr");
    let t: serde_json::Value = serde_json::from_str(line).expect("JSON");
    // 7 servers and 2 migrations fit in one page each: one request per list, nothing else.
    let calls = t["api_calls"].as_object().expect("api_calls");
    assert_eq!(calls.len(), 4, "{calls:?}");
    for (route, n) in calls {
        assert_eq!(n.as_u64(), Some(1), "{route}");
        assert!(route.contains(" GET "), "refresh only reads: {route}");
    }
    for phase in ["parse_ms", "refresh_ms", "plan_ms", "render_ms", "total_ms"] {
        assert!(t[phase].as_f64().is_some(), "{phase} missing");
    }
}

#[test]
fn a_ci_job_timeout_shorter_than_the_run_is_named_in_the_forecast() {
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    let run = |env: Option<&str>, extra: &[&str]| {
        let mut c = e.cmd();
        c.args(["plan", "plans/quickstart.yaml"]).args(extra);
        match env {
            Some(v) => c.env("CI_JOB_TIMEOUT", v),
            None => c.env_remove("CI_JOB_TIMEOUT"),
        };
        let out = c.output().expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            crate::emulated::show(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = run(Some("60"), &[]);
    assert!(
        text.contains("The CI job's timeout (CI_JOB_TIMEOUT, 1m) ends apply at +1m"),
        "{text}"
    );
    assert!(text.contains("pass --wait-timeout below it"), "{text}");
    // --wait-timeout given: that is the limit, as before.
    let text = run(Some("60"), &["--wait-timeout", "2m"]);
    assert!(text.contains("With --wait-timeout 2m"), "{text}");
    assert!(!text.contains("CI_JOB_TIMEOUT"), "{text}");
    // No job limit, no timeout: no detach line.
    let text = run(None, &[]);
    assert!(
        !text.contains("detaches") && !text.contains("CI_JOB_TIMEOUT"),
        "{text}"
    );
}
