//! Secret sentinels: every secret the CLI may hold (signing key, token, Redis passwords, a
//! password wrongly written inline) is set to a recognisable value, then every command and
//! format runs, with `RUST_LOG=trace`, on success and error paths. No sentinel may appear in
//! stdout, stderr, a saved plan or a lock file.

use std::path::Path;

use crate::emulated::{Emulated, Setup, show};

const SOURCE_PW: &str = "SENTINEL-src-password-7c1e";
const TARGET_PW: &str = "SENTINEL-tgt-password-7c1e";
const TOKEN: &str = "SENTINEL-iam-token-7c1e";
const WRONG_SK: &str = "SENTINEL-wrong-sk-7c1e";
const INLINE: &str = "SENTINEL-inline-7c1e";
const PLAN_KEY: &str = "SENTINEL-plan-key-7c1e";
const SECURITY_TOKEN: &str = "SENTINEL-security-token-7c1e";

/// Every sentinel, with the emulator's signing key (the one the commands sign with).
fn sentinels(e: &Emulated) -> Vec<&str> {
    vec![
        SOURCE_PW,
        TARGET_PW,
        TOKEN,
        WRONG_SK,
        INLINE,
        PLAN_KEY,
        SECURITY_TOKEN,
        e.secret_key(),
    ]
}

struct Checked {
    runs: usize,
}

impl Checked {
    /// Runs `args` with the sentinels set; asserts none is in its output, and returns it.
    fn run(&mut self, e: &Emulated, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
        let mut cmd = e.cmd();
        cmd.env("RUST_LOG", "trace")
            .env("SESSIONS_SOURCE_PASSWORD", SOURCE_PW)
            .env("SESSIONS_TARGET_PASSWORD", TARGET_PW)
            .env("MIGPLAN_EMULATOR_TOKEN", TOKEN)
            .env("MIGPLAN_EMULATOR_SK", WRONG_SK)
            .env("MIGPLAN_PLAN_KEY", PLAN_KEY);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().expect("runs");
        let text = show(&out);
        for s in sentinels(e) {
            assert!(
                !text.contains(s),
                "`{}` printed a secret ({s}): {text}",
                args.join(" ")
            );
        }
        assert!(!text.contains("panicked"), "{text}");
        self.runs += 1;
        out
    }
}

fn assert_file_clean(e: &Emulated, path: &Path) {
    let bytes = std::fs::read(path).expect("readable");
    let text = String::from_utf8_lossy(&bytes);
    for s in sentinels(e) {
        assert!(!text.contains(s), "{} holds a secret ({s})", path.display());
    }
}

#[test]
fn no_command_format_or_error_path_shows_a_secret() {
    let e = Setup::plans(&["plans/shop-cutover.yaml"]).start();
    let mut c = Checked { runs: 0 };
    let plan = "plans/shop-cutover.yaml";
    let saved = e.path("saved.json").display().to_string();

    // Offline commands.
    for format in ["human", "json"] {
        c.run(&e, &[], &["validate", plan, "--format", format]);
    }
    for format in ["dot", "mermaid"] {
        c.run(&e, &[], &["graph", plan, "--format", format]);
    }
    c.run(&e, &[], &["schema"]);

    // Planning, every format, saved, shown.
    for format in ["human", "json", "markdown"] {
        c.run(&e, &[], &["plan", plan, "--format", format, "--timings"]);
    }
    let out = c.run(&e, &[], &["plan", plan, "--out", &saved]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_file_clean(&e, Path::new(&saved));
    for format in ["human", "json", "markdown"] {
        c.run(&e, &[], &["show", &saved, "--format", format]);
    }

    // Applying sends the Redis passwords: human and JSON progress, then status.
    let out = c.run(
        &e,
        &[],
        &[
            "apply",
            plan,
            "--auto-approve",
            "--poll-interval",
            "50ms",
            "--rate-limit",
            "0",
        ],
    );
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", show(&out));
    let out = c.run(
        &e,
        &[],
        &[
            "apply",
            plan,
            "--auto-approve",
            "--format",
            "json",
            "--poll-interval",
            "50ms",
            "--rate-limit",
            "0",
        ],
    );
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", show(&out));
    for format in ["human", "json"] {
        c.run(&e, &[], &["status", plan, "--format", format]);
    }
    for lock in std::fs::read_dir(e.path("locks"))
        .expect("lock dir")
        .flatten()
    {
        assert_file_clean(&e, &lock.path());
    }

    // Error paths: a wrong secret key (401), an IAM token instead, an unreachable endpoint.
    let out = c.run(&e, &[("HW_SECRET_KEY", WRONG_SK)], &["plan", plan]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // A security token the emulator's permanent keys do not expect: sent, signed, refused.
    let out = c.run(
        &e,
        &[("HW_SECURITY_TOKEN", SECURITY_TOKEN)],
        &["plan", plan],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = c.run(
        &e,
        &[("HW_SECRET_KEY", WRONG_SK)],
        &["apply", plan, "--auto-approve", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = c.run(
        &e,
        &[
            ("HW_ACCESS_KEY", ""),
            ("HW_SECRET_KEY", ""),
            ("MIGPLAN_AUTH_TOKEN", TOKEN),
        ],
        &["status", plan],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = c.run(
        &e,
        &[
            ("MIGPLAN_SMS_ENDPOINT", "http://127.0.0.1:9"),
            ("MIGPLAN_DCS_ENDPOINT", "http://127.0.0.1:9"),
        ],
        &["plan", plan, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    // A password written inline, in both forms: rejected, never echoed, by every command.
    let text = std::fs::read_to_string(crate::repo_root().join(plan)).expect("plan");
    let forms = [
        text.replace("{env: SESSIONS_SOURCE_PASSWORD}", &format!("'{INLINE}'")),
        text.replace(
            "{env: SESSIONS_TARGET_PASSWORD}",
            &format!("{{value: {INLINE}}}"),
        ),
        text.replace(
            "password: {env: SESSIONS_SOURCE_PASSWORD}",
            &format!("password:\n        value: {INLINE}"),
        ),
    ];
    for (i, bad) in forms.iter().enumerate() {
        assert!(bad.contains(INLINE), "form {i} was written");
        let file = e.path(&format!("inline-{i}.yaml")).display().to_string();
        std::fs::write(&file, bad).expect("write");
        for args in [
            vec!["validate", file.as_str()],
            vec!["validate", file.as_str(), "--format", "json"],
            vec!["plan", file.as_str()],
            vec!["plan", file.as_str(), "--format", "json"],
            vec!["apply", file.as_str(), "--auto-approve"],
            vec!["graph", file.as_str()],
        ] {
            let out = c.run(&e, &[], &args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", show(&out));
        }
    }
    assert!(c.runs > 30, "every command ran ({})", c.runs);
}
