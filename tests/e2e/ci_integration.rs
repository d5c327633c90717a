//! The reusable CI integrations: the GitHub composite action's script
//! (`.github/actions/migplan/migplan-ci.sh`) and the GitLab template
//! (`ci/gitlab/migplan.gitlab-ci.yml`) follow the exit-code table, run against a stand-in
//! `migplan` that exits with each code, and the action's script drives the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::emulated::scratch_dir;
use crate::repo_root;

/// A directory holding a `migplan` that records its arguments and exits with `code`.
fn fake_migplan(dir: &Path, code: i32) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let script = bin.join("migplan");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> \"{}\"\nexit {code}\n",
            dir.join("args").display()
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

const PLAN_TABLE: [(i32, i32, &str); 4] = [
    (0, 0, "no-changes"),
    (2, 0, "changes"),
    (3, 1, "blocked"),
    (1, 1, "error"),
];
const APPLY_TABLE: [(i32, i32, &str); 5] = [
    (0, 0, "done"),
    (5, 0, "in-progress"),
    (3, 1, "blocked"),
    (4, 1, "stale"),
    (1, 1, "error"),
];

fn github_script() -> PathBuf {
    repo_root().join(".github/actions/migplan/migplan-ci.sh")
}

/// Runs the action's script with `migplan` exiting `code`; its exit code, outputs and the
/// arguments migplan got.
fn run_github(command: &str, code: i32) -> (i32, String, String) {
    let dir = scratch_dir(&format!("gha-{command}-{code}"));
    let bin = fake_migplan(&dir, code);
    let outputs = dir.join("github_output");
    let out = Command::new("bash")
        .arg(github_script())
        .current_dir(&dir)
        .env("PATH", path_with(&bin))
        .env("GITHUB_OUTPUT", &outputs)
        .env("MIGPLAN_COMMAND", command)
        .env("MIGPLAN_PLAN", "plans/wave-2.yaml")
        .env("MIGPLAN_COMMENT", "false")
        .output()
        .expect("bash runs");
    let outputs = std::fs::read_to_string(&outputs).unwrap_or_default();
    let args = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code().unwrap_or(-1), outputs, args)
}

#[test]
fn the_github_action_script_follows_the_exit_code_table() {
    for (code, job, result) in PLAN_TABLE {
        let (exit, outputs, args) = run_github("plan", code);
        assert_eq!(exit, job, "plan exit {code}: {outputs}");
        assert!(
            outputs.contains(&format!("result={result}\n")),
            "plan {code}: {outputs}"
        );
        assert!(
            outputs.contains(&format!("exit-code={code}\n")),
            "{outputs}"
        );
        assert!(
            args.contains("plan plans/wave-2.yaml --detailed-exitcode --format markdown --out"),
            "{args}"
        );
    }
    for (code, job, result) in APPLY_TABLE {
        let (exit, outputs, args) = run_github("apply", code);
        assert_eq!(exit, job, "apply exit {code}: {outputs}");
        assert!(
            outputs.contains(&format!("result={result}\n")),
            "apply {code}: {outputs}"
        );
        assert!(
            args.contains("apply plans/wave-2.yaml --auto-approve --wait-timeout 50m"),
            "{args}"
        );
    }
    let (exit, _, _) = run_github("destroy", 0);
    assert_eq!(exit, 1, "an unknown command fails");
}

#[test]
fn the_github_action_script_drives_the_real_binary() {
    let dir = scratch_dir("gha-real");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_migplan"));
    let run = |command: &str| {
        let outputs = dir.join(format!("{command}.out"));
        let out = Command::new("bash")
            .arg(github_script())
            .current_dir(repo_root())
            .env("NO_COLOR", "1")
            .env("MIGPLAN_BIN", &bin)
            .env("GITHUB_OUTPUT", &outputs)
            .env("MIGPLAN_COMMAND", command)
            .env("MIGPLAN_PLAN", "plans/quickstart.yaml")
            .env("MIGPLAN_SAVED_PLAN", dir.join("q.plan.json"))
            .env("MIGPLAN_MARKDOWN", dir.join("q.md"))
            .env("MIGPLAN_EXTRA_ARGS", "--local")
            // `--local` keeps its world between commands: this test's own.
            .env("MIGPLAN_LOCAL_DIR", dir.join("local"))
            .output()
            .expect("bash runs");
        (out, std::fs::read_to_string(&outputs).unwrap_or_default())
    };
    let (out, outputs) = run("plan");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::emulated::show(&out)
    );
    assert!(outputs.contains("result=changes\n"), "{outputs}");
    let markdown = std::fs::read_to_string(dir.join("q.md")).expect("markdown written");
    assert!(markdown.contains("server.app-01"), "{markdown}");
    assert!(dir.join("q.plan.json").is_file(), "saved plan written");
    let (out, outputs) = run("apply");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::emulated::show(&out)
    );
    assert!(outputs.contains("result=done\n"), "{outputs}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn gitlab_template() -> Value {
    let text = std::fs::read_to_string(repo_root().join("ci/gitlab/migplan.gitlab-ci.yml"))
        .expect("template");
    serde_saphyr::from_str(&text).expect("the GitLab template is YAML")
}

#[test]
fn the_gitlab_template_has_the_jobs_and_keys_gitlab_needs() {
    let t = gitlab_template();
    for (job, flag) in [
        (".migplan-plan", "--detailed-exitcode"),
        (".migplan-apply", "--auto-approve"),
    ] {
        let j = &t[job];
        assert!(j.is_object(), "{job} is missing");
        assert!(j["stage"].is_string(), "{job}: stage");
        assert!(
            j["rules"].as_array().is_some_and(|r| !r.is_empty()),
            "{job}: rules"
        );
        let script = j["script"].as_array().expect("script is a list");
        assert!(
            script.iter().all(Value::is_string),
            "{job}: script entries are strings"
        );
        assert!(
            script
                .iter()
                .any(|l| l.as_str().unwrap_or_default().contains(flag)),
            "{job}"
        );
        for key in j.as_object().expect("job").keys() {
            assert!(
                [
                    "stage",
                    "rules",
                    "variables",
                    "script",
                    "artifacts",
                    "resource_group"
                ]
                .contains(&key.as_str()),
                "{job}: unexpected key {key}"
            );
        }
    }
    let paths = t[".migplan-plan"]["artifacts"]["paths"]
        .as_array()
        .expect("artifacts");
    assert!(
        paths.iter().any(|p| p == "$MIGPLAN_SAVED_PLAN"),
        "the saved plan is kept"
    );
}

/// Runs a hidden job's script as a GitLab runner would (`sh -e`, its variables set), with
/// `migplan` exiting `code`.
fn run_gitlab(job: &str, code: i32) -> (i32, String) {
    let t = gitlab_template();
    let script: Vec<&str> = t[job]["script"]
        .as_array()
        .expect("script")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let dir = scratch_dir(&format!("gitlab-{code}"));
    let bin = fake_migplan(&dir, code);
    let mut cmd = Command::new("sh");
    cmd.arg("-ec")
        .arg(script.join("\n"))
        .current_dir(&dir)
        .env("PATH", path_with(&bin));
    cmd.env("MIGPLAN_PLAN", "plans/wave-2.yaml");
    for (k, v) in t[job]["variables"].as_object().expect("variables") {
        let v = v
            .as_str()
            .unwrap_or_default()
            .replace("$MIGPLAN_PLAN", "plans/wave-2.yaml");
        cmd.env(k, v);
    }
    let out = cmd.output().expect("sh runs");
    let args = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code().unwrap_or(-1), args)
}

#[test]
fn the_gitlab_jobs_follow_the_exit_code_table() {
    for (code, job, _) in PLAN_TABLE {
        let (exit, args) = run_gitlab(".migplan-plan", code);
        assert_eq!(exit, job, "plan: migplan exit {code}");
        assert!(
            args.starts_with("plan plans/wave-2.yaml --detailed-exitcode"),
            "{args}"
        );
    }
    for (code, job, _) in APPLY_TABLE {
        let (exit, args) = run_gitlab(".migplan-apply", code);
        assert_eq!(exit, job, "apply: migplan exit {code}");
        assert!(
            args.starts_with("apply plans/wave-2.yaml --auto-approve --wait-timeout 50m"),
            "{args}"
        );
    }
}
