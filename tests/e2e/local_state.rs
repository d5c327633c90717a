//! `--local` keeps its world between commands: in `$MIGPLAN_LOCAL_DIR/<plan>.json` (here a
//! directory per test), secrets redacted, owner-only, reset with `--local-reset`.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::emulated::show;
use crate::{fresh_local_dir, migplan};

/// One `--local` world followed across commands.
struct World {
    dir: PathBuf,
}

impl World {
    fn new() -> World {
        World {
            dir: fresh_local_dir(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        migplan()
            .env("MIGPLAN_LOCAL_DIR", &self.dir)
            .args(args)
            .output()
            .expect("runs")
    }

    fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_migplan"))
            .current_dir(crate::repo_root())
            .env("NO_COLOR", "1")
            .env("MIGPLAN_LOCAL_DIR", &self.dir)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns")
    }

    fn file(&self, plan: &str) -> PathBuf {
        self.dir.join(format!("{plan}.json"))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn apply_then_status_and_plan_see_the_applied_world() {
    let w = World::new();
    let out = w.run(&[
        "apply",
        "--local",
        "--auto-approve",
        "plans/quickstart.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = w.run(&["status", "--local", "plans/quickstart.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("1 of 1 resources at their desired stage"),
        "{}",
        show(&out)
    );
    assert!(
        stdout(&out).contains(&w.file("quickstart").display().to_string()),
        "the target line names where the state is: {}",
        show(&out)
    );
    let out = w.run(&[
        "plan",
        "--local",
        "--detailed-exitcode",
        "plans/quickstart.yaml",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no changes left: {}",
        show(&out)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.file("quickstart"))
            .expect("state file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "state file mode {mode:o}");
    }
}

#[test]
fn a_saved_local_plan_applies_without_being_stale() {
    let w = World::new();
    std::fs::create_dir_all(&w.dir).expect("dir");
    let saved = w.dir.join("quickstart.plan.json");
    let saved_arg = saved.display().to_string();
    let out = w.run(&[
        "plan",
        "--local",
        "plans/quickstart.yaml",
        "--out",
        &saved_arg,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = w.run(&["apply", &saved_arg, "--local", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let events = crate::emulated::json_lines(&out.stdout);
    let summary = events
        .iter()
        .find(|e| e["type"] == "apply_summary")
        .expect("a summary");
    assert_eq!(
        summary["done"].as_array().map(Vec::len),
        Some(3),
        "create, start and the wait were done: {summary}"
    );
    let out = w.run(&["status", "--local", "plans/quickstart.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn local_reset_starts_from_a_fresh_world() {
    let w = World::new();
    let out = w.run(&[
        "apply",
        "--local",
        "--auto-approve",
        "plans/quickstart.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = w.run(&[
        "plan",
        "--local",
        "--local-reset",
        "--detailed-exitcode",
        "plans/quickstart.yaml",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a fresh world has everything to do: {}",
        show(&out)
    );
    assert!(stdout(&out).contains("create SMS task"), "{}", show(&out));
    // The reset world is the one kept from now on.
    let out = w.run(&["status", "--local", "plans/quickstart.yaml"]);
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    // --local-reset without --local is a usage error.
    let out = w.run(&["plan", "--local-reset", "plans/quickstart.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}

#[test]
fn a_corrupt_or_tampered_state_file_is_exit_1_naming_it_and_the_reset() {
    let w = World::new();
    std::fs::create_dir_all(&w.dir).expect("dir");
    let file = w.file("quickstart");
    for text in [
        "{\"version\": 1, \"virtual_now_ms\": ",
        "{\"version\": 7, \"virtual_now_ms\": 0, \"world\": {}}",
        "{\"version\": 1, \"virtual_now_ms\": 0, \"world\": {\"tasks\": 5}}",
        "\u{1b}]0;PWNED\u{7}",
    ] {
        std::fs::write(&file, text).expect("write");
        let out = w.run(&["status", "--local", "plans/quickstart.yaml"]);
        assert_eq!(out.status.code(), Some(1), "{text}: {}", show(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&file.display().to_string()) && err.contains("--local-reset"),
            "{text}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains('\u{1b}'),
            "{err}"
        );
    }
    let out = w.run(&["plan", "--local", "--local-reset", "plans/quickstart.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn local_commands_at_once_take_turns_and_leave_a_whole_file() {
    let w = World::new();
    let mut children = vec![w.spawn(&[
        "apply",
        "--local",
        "--auto-approve",
        "plans/quickstart.yaml",
    ])];
    for _ in 0..3 {
        children.push(w.spawn(&["plan", "--local", "plans/quickstart.yaml"]));
    }
    let mut outs = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("waits"));
    let apply = outs.next().expect("apply");
    assert_eq!(apply.status.code(), Some(0), "{}", show(&apply));
    for plan in outs {
        // A plan waits its turn (10 s); on a very slow machine it may give up, saying why.
        let busy = String::from_utf8_lossy(&plan.stderr)
            .contains("another `migplan --local` command on plan quickstart");
        assert!(
            plan.status.code() == Some(0) || (plan.status.code() == Some(1) && busy),
            "{}",
            show(&plan)
        );
    }
    let text = std::fs::read_to_string(w.file("quickstart")).expect("state file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("whole JSON");
    assert_eq!(v["world"]["tasks"].as_array().map(Vec::len), Some(1), "{v}");
    let out = w.run(&["status", "--local", "plans/quickstart.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the apply's save was kept: {}",
        show(&out)
    );
    // Only the state and its lock are left: no temporary file.
    let mut names: Vec<String> = std::fs::read_dir(&w.dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".lock")), "{names:?}");
}

#[test]
fn the_clock_runs_on_between_commands() {
    let w = World::new();
    std::fs::create_dir_all(&w.dir).expect("dir");
    // 10 GiB at 20 Mbit/s: a copy of ≈ 4,300 simulated seconds, ≈ 4.3 s at --local's 1000×.
    let plan = w.dir.join("slow.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: slow\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
         servers:\n  - {name: app-01, target: {template: tpl-app}, speed_limit: 20, stage: replicated}\n",
    )
    .expect("plan");
    let plan = plan.display().to_string();
    let out = w.run(&[
        "apply",
        "--local",
        "--auto-approve",
        "--wait-timeout",
        "500ms",
        &plan,
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    // Six real seconds later the copy is done, although no command ran meanwhile: with time
    // frozen between commands, status would see ≈ 700 simulated seconds of it, not 4,300.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let out = w.run(&["status", "--local", &plan]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn redis_passwords_are_never_written_to_the_local_state() {
    let w = World::new();
    std::fs::create_dir_all(&w.dir).expect("dir");
    let plan = w.dir.join("cache.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: cache\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
         redis:\n  - name: cache\n    method: full\n    network: {vpc_id: v, subnet_id: s, security_group_id: g}\n\
         \x20   source: {addrs: \"10.0.0.1:6379\", password: {env: CACHE_PW}}\n\
         \x20   target: {instance_id: cf4a05df-1c38-47c5-bb5a-0a7b3673b3bd, password: {env: CACHE_PW}}\n\
         \x20   stage: created\n",
    )
    .expect("plan");
    let out = migplan()
        .env("MIGPLAN_LOCAL_DIR", &w.dir)
        .env("CACHE_PW", "never-on-disk-7c1d")
        .args(["apply", "--local", "--auto-approve"])
        .arg(&plan)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = std::fs::read_to_string(w.file("cache")).expect("state file");
    assert!(text.contains("10.0.0.1:6379"), "{text}");
    assert!(!text.contains("never-on-disk-7c1d"), "{text}");
    assert!(Path::new(&w.file("cache")).exists());
}
