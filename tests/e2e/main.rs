//! End-to-end tests: the real `migplan` binary against the real emulator over HTTP.

mod apply;
mod ci_integration;
mod completions;
mod emulated;
mod exit_codes;
mod filters;
mod gates;
mod hostile;
mod journal;
mod json_errors;
mod local_state;
mod network;
mod operations;
mod plan;
mod plan_comments;
mod plan_states;
mod quota;
mod safety;
mod schemas;
mod secrets;
mod tamper;
mod terminal;
mod transcripts;
mod validate;
mod verified;
mod windows;

use std::path::{Path, PathBuf};

/// The repository root (two levels above the CLI crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("repository root")
        .to_path_buf()
}

/// A `migplan` command with a clean, predictable environment. Its `--local` world is its own
/// (a fresh `MIGPLAN_LOCAL_DIR`, never `.migplan/` in the repository): tests that follow one
/// world across commands set the variable themselves.
pub fn migplan() -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("migplan");
    // CI adds a warning line (no shared lock): tests that want it set CI themselves.
    cmd.current_dir(repo_root())
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .env("MIGPLAN_LOCAL_DIR", fresh_local_dir());
    cmd
}

/// A directory for one command's `--local` state, under cargo's scratch directory for
/// integration tests (`target/tmp`); created by migplan only if it uses it.
pub fn fresh_local_dir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-local-{}-{n}", std::process::id()))
}
