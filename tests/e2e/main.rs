//! End-to-end tests: the real `migplan` binary against the real emulator over HTTP.

mod apply;
mod emulated;
mod exit_codes;
mod filters;
mod hostile;
mod journal;
mod operations;
mod plan;
mod plan_states;
mod safety;
mod secrets;
mod tamper;
mod validate;
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

/// A `migplan` command with a clean, predictable environment.
pub fn migplan() -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("migplan");
    cmd.current_dir(repo_root()).env("NO_COLOR", "1");
    cmd
}
