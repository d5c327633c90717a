//! Under `--format json`, every error that ends a command is one JSON object on stdout,
//! `{"error": {"kind", "message", "exit_code", ...}}` (schemas/error.schema.json), with the exit
//! code unchanged and nothing for a person on stderr.

use serde_json::Value;

use crate::emulated::{Setup, show};
use crate::migplan;
use crate::schemas::assert_matches_schema;

/// The last stdout line, which must be the error object, checked against the schema and the
/// exit code.
fn error_of(out: &std::process::Output, exit: i32) -> Value {
    assert_eq!(out.status.code(), Some(exit), "{}", show(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let doc: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the last line is not JSON ({e}):\n{}", show(out)));
    assert_matches_schema("error", &doc);
    assert_eq!(doc["error"]["exit_code"], exit, "{doc}");
    assert!(
        out.stderr.is_empty(),
        "stderr stays empty under --format json:\n{}",
        show(out)
    );
    doc["error"].clone()
}

#[test]
fn usage_and_file_errors_are_json() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "plan",
                "--format",
                "json",
                "--bogus",
                "plans/quickstart.yaml",
            ],
            "usage",
        ),
        (
            &[
                "status",
                "--format=json",
                "plans/quickstart.yaml",
                "--fail-fast",
            ],
            "usage",
        ),
        (
            &[
                "plan",
                "--format",
                "json",
                "--local",
                "--target",
                "server.nope",
                "plans/quickstart.yaml",
            ],
            "usage",
        ),
        (
            &[
                "plan",
                "--format",
                "json",
                "--local",
                "plans/no-such-plan.yaml",
            ],
            "io",
        ),
        (
            &["apply", "--format", "json", "--local", "no-such-saved.json"],
            "io",
        ),
    ];
    for (args, kind) in cases {
        let out = migplan().args(args).output().expect("runs");
        let err = error_of(&out, 1);
        assert_eq!(err["kind"], kind, "{args:?}: {err}");
        assert!(!err["message"].as_str().unwrap_or_default().is_empty());
    }
}

#[test]
fn a_file_that_is_not_a_saved_plan_is_json() {
    let dir = crate::emulated::scratch_dir("json-not-saved");
    let file = dir.join("x.json");
    std::fs::write(&file, "{\"not\": \"a plan\"}").unwrap();
    for command in ["show", "apply"] {
        let out = migplan()
            .args([command, "--format", "json"])
            .arg(&file)
            .output()
            .expect("runs");
        let err = error_of(&out, 1);
        assert_eq!(err["kind"], "invalid_saved_plan", "{command}: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_invalid_plan_lists_its_diagnostics_in_the_error() {
    let dir = crate::emulated::scratch_dir("json-invalid");
    let plan = dir.join("bad.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: bad\nservers:\n  - name: a\n    sauce: x\n",
    )
    .unwrap();
    for command in ["plan", "status", "apply"] {
        let out = migplan()
            .args([command, "--format", "json", "--local"])
            .arg(&plan)
            .output()
            .expect("runs");
        let err = error_of(&out, 1);
        assert_eq!(err["kind"], "invalid_plan", "{command}: {err}");
        let codes: Vec<&str> = err["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter_map(|d| d["code"].as_str())
            .collect();
        assert!(
            codes.contains(&"migplan::plan::unknown_field"),
            "{command}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_credentials_are_a_json_connect_error() {
    let mut cmd = migplan();
    for var in [
        "HW_ACCESS_KEY",
        "HW_SECRET_KEY",
        "CLOUD_SDK_AK",
        "CLOUD_SDK_SK",
        "MIGPLAN_AUTH_TOKEN",
        "MIGPLAN_METADATA",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .args(["status", "--format", "json", "plans/quickstart.yaml"])
        .args([
            "--sms-endpoint",
            "http://127.0.0.1:9",
            "--dcs-endpoint",
            "http://127.0.0.1:9",
        ])
        .output()
        .expect("runs");
    let err = error_of(&out, 1);
    assert_eq!(err["kind"], "connect", "{err}");
    assert!(err.to_string().contains("no credentials"), "{err}");
}

#[test]
fn apply_without_approval_and_a_stale_saved_plan_are_json() {
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    // No terminal, no --auto-approve: the plan line, then the error line.
    let out = e
        .cmd()
        .args(["apply", "plans/quickstart.yaml", "--format", "json"])
        .output()
        .expect("runs");
    let err = error_of(&out, 1);
    assert_eq!(err["kind"], "needs_approval", "{err}");
    assert_eq!(err["code"], "migplan::apply::needs_approval", "{err}");

    // A saved plan whose plan file changed since: exit 4, kind stale_plan.
    let plan = e.path("quickstart.yaml");
    std::fs::copy(crate::repo_root().join("plans/quickstart.yaml"), &plan).unwrap();
    let saved = e.path("reviewed.plan.json");
    let planned = e
        .cmd()
        .args(["plan", "--out"])
        .arg(&saved)
        .arg(&plan)
        .output()
        .expect("runs");
    assert_eq!(planned.status.code(), Some(0), "{}", show(&planned));
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(&plan, text.replace("speed_limit: 100", "speed_limit: 90")).unwrap();
    let out = e
        .cmd()
        .args(["apply", "--auto-approve", "--format", "json"])
        .arg(&saved)
        .output()
        .expect("runs");
    let err = error_of(&out, 4);
    assert_eq!(err["kind"], "stale_plan", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("sha256"),
        "{err}"
    );
    // The human form is unchanged: one `Error:` line on stderr, same exit code.
    let human = e
        .cmd()
        .args(["apply", "--auto-approve"])
        .arg(&saved)
        .output()
        .expect("runs");
    assert_eq!(human.status.code(), Some(4), "{}", show(&human));
    assert!(human.stdout.is_empty(), "{}", show(&human));
    assert!(
        String::from_utf8_lossy(&human.stderr).starts_with("Error: "),
        "{}",
        show(&human)
    );
}

#[test]
fn a_held_lock_is_a_json_error() {
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .time_scale(1.0)
        .start();
    let mut first = e
        .process()
        .args([
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--format",
            "json",
        ])
        .args(["--poll-interval", "100ms"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawns");
    // The plan line is printed after the lock is taken.
    let stdout = first.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let plan_line = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(plan_line.contains("\"type\":\"plan\""), "{plan_line}");
    let second = e
        .cmd()
        .args([
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let _ = first.kill();
    let _ = first.wait();
    let err = error_of(&second, 1);
    assert_eq!(err["kind"], "lock_held", "{err}");
    assert_eq!(err["code"], "migplan::lock::held", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("pid {}", first.id())),
        "{err}"
    );
}
