//! The exit-code contract (README, "Exit codes"): 0 done, 1 error (usage errors included),
//! 2 changes (plan --detailed-exitcode), 3 blocked, 4 stale saved plan, 5 still in progress.
//! Codes 0, 2, 4 and 5 are also asserted where their features are tested (plan.rs, apply.rs,
//! tamper.rs); this file pins usage errors and the blocked/in-progress split.

use crate::emulated::{Emulated, Setup, show};
use crate::migplan;

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let bad: &[&[&str]] = &[
        &[
            "plan",
            "--lcoal",
            "plans/quickstart.yaml",
            "--detailed-exitcode",
        ],
        &[
            "apply",
            "plans/quickstart.yaml",
            "--wait-timeout",
            "99999999999999999d",
        ],
        &[
            "apply",
            "plans/quickstart.yaml",
            "--lock-timeout",
            "213503982334601d",
        ],
        &["apply", "plans/quickstart.yaml", "--poll-interval", "1e300"],
        &["apply", "plans/quickstart.yaml", "--rate-limit", "-1"],
        &["apply", "plans/quickstart.yaml", "--rate-limit", "NaN"],
        &[
            "emulator",
            "--access-key",
            "a",
            "--secret-key",
            "b",
            "--time-scale",
            "inf",
        ],
        &[
            "emulator",
            "--access-key",
            "a",
            "--secret-key",
            "b",
            "--sms-migration-quota",
            "0",
        ],
        &[
            "emulator",
            "--access-key",
            "a",
            "--secret-key",
            "b",
            "--fault",
            "ratelimit=0",
        ],
        &["no-such-command"],
        &[],
    ];
    for args in bad {
        let out = migplan().args(*args).output().expect("runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", show(&out));
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}: {}",
            show(&out)
        );
    }
    // `status --help` describes status's own formats, not apply's progress output.
    let out = migplan().args(["status", "--help"]).output().expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("A table: resource, current stage"), "{help}");
    assert!(!help.contains("Progress bars"), "{help}");
    for args in [&["--help"][..], &["--version"], &["plan", "--help"]] {
        let out = migplan().args(args).output().expect("runs");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

fn run(e: &Emulated, args: &[&str]) -> std::process::Output {
    e.cmd().args(args).output().expect("runs")
}

#[test]
fn blocked_is_3_and_in_progress_is_5_for_apply_and_status() {
    // web-02's agent never registered: web-02 is blocked, and so is what waits for it.
    let e = Setup::plans(&["plans/quickstart.yaml", "plans/shop-cutover.yaml"])
        .without_source("web-02")
        .time_scale(200.0)
        .start();
    // In progress: a slow copy outlasts --wait-timeout → 5, and status says 5 too.
    let out = run(
        &e,
        &[
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--wait-timeout",
            "1s",
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    let out = run(&e, &["status", "plans/quickstart.yaml"]);
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));

    // Blocked, with nothing else in flight: the plan, the status and an apply that has
    // nothing it may do all say 3.
    let blocked = e.path("blocked.yaml");
    std::fs::write(
        &blocked,
        "version: 1\nname: blocked\ncloud: {region: ap-southeast-3, project_id: \
         0123456789abcdef0123456789abcdef}\nservers:\n  - {name: web-02, source: web-02, \
         target: {template: tpl-web}, stage: replicated}\n",
    )
    .expect("write");
    let blocked = blocked.display().to_string();
    let out = run(&e, &["plan", &blocked, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let out = run(&e, &["status", &blocked]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let out = run(&e, &["apply", &blocked, "--auto-approve"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("web-02"),
        "says what is blocked: {}",
        show(&out)
    );
}

/// `migplan … | head`: the reader goes away; migplan stops quietly with 0, as ripgrep does.
#[test]
fn a_closed_pipe_ends_quietly_with_0() {
    let dir = crate::emulated::scratch_dir("pipe");
    let plan = dir.join("big.yaml");
    let mut text = String::from(
        "version: 1\nname: big\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\nservers:\n",
    );
    for i in 0..3000 {
        text.push_str(&format!(
            "  - {{name: s-{i:05}, target: {{template: tpl}}, stage: replicated}}\n"
        ));
    }
    std::fs::write(&plan, text).expect("write");
    // Far more output than a pipe buffers, so writes outlive the reader.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_migplan"))
        .args(["graph", &plan.display().to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(out.stderr.is_empty(), "{}", show(&out));
    let _ = std::fs::remove_dir_all(dir);
}
