//! Where `--local` keeps its world between commands: `.migplan/local/<plan name>.json` in the
//! current directory (or `$MIGPLAN_LOCAL_DIR/<plan name>.json`).
//!
//! Why the current directory: it is where a project's commands run (like `.terraform/`), so
//! `plan --local --out X` and `apply X --local` meet the same world however the plan path is
//! spelled, and a plan directory that is read-only or shared (checked-in `plans/`) is never
//! written. Why per plan name: two plans in one project do not see each other's tasks.
//!
//! The file is the emulator's `persist` format with every secret written as `"***"`
//! (`EmulatorConfig::persist_redacted`), owner-only (0600), replaced through a temporary file
//! and a rename. One command at a time uses it: a file lock next to it is held from load to
//! save, so two `--local` commands never interleave their saves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::lock::{self, ApplyLock, LockError, LockKey};

/// Environment variable naming the directory of the local states.
pub const ENV_LOCAL_DIR: &str = "MIGPLAN_LOCAL_DIR";

/// The default directory, relative to the current directory.
pub const DEFAULT_DIR: &str = ".migplan/local";

/// How long a `--local` command waits for another one on the same state by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// The directory of the local states.
pub fn dir() -> PathBuf {
    match std::env::var_os(ENV_LOCAL_DIR) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(DEFAULT_DIR),
    }
}

/// The state file of a plan. Plan names are letters, digits, `_` and `-` (the parser checks);
/// anything else is replaced all the same, so the name can never leave the directory.
pub fn state_path(dir: &Path, plan: &str) -> PathBuf {
    let safe: String = plan
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.json"))
}

/// The state of one plan, locked for this process until dropped.
#[derive(Debug)]
pub struct LocalState {
    pub path: PathBuf,
    _lock: ApplyLock,
}

/// Takes the state of `plan` for this command, waiting up to `wait` for another `--local`
/// command using it; with `reset`, the saved world is deleted first.
pub fn open(plan: &str, reset: bool, wait: Duration) -> miette::Result<LocalState> {
    let dir = dir();
    create_private_dir(&dir).map_err(|e| {
        miette::miette!(
            help = format!("set {ENV_LOCAL_DIR} to a writable directory"),
            "cannot create the --local state directory {}: {e}",
            dir.display()
        )
    })?;
    let path = state_path(&dir, plan);
    let shown = format!("the --local state {}", path.display());
    let key = LockKey {
        plan,
        identity: "local",
        shown: &shown,
    };
    let held = lock::acquire(&dir, &key, Some(wait)).map_err(|e| match e {
        LockError::Held { holder, .. } => miette::miette!(
            code = "migplan::local::busy",
            help = "wait for it to finish and run this again",
            "another `migplan --local` command on plan {plan} is using {}: {holder}",
            path.display()
        ),
        other => miette::Report::new(other),
    })?;
    if reset {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => miette::bail!("cannot reset the --local state {}: {e}", path.display()),
        }
    }
    Ok(LocalState { path, _lock: held })
}

/// The error for a state file that cannot be loaded: names the file and how to start over.
pub fn unusable(path: &Path, cause: &str) -> miette::Report {
    // The cause may quote the file (a tampered one): short, one line, escaped.
    let cause: String = cause.chars().take(300).collect();
    miette::miette!(
        code = "migplan::local::bad_state",
        help = "start from a fresh local world with --local-reset (or delete the file)",
        "the --local state file {} cannot be used: {}",
        crate::untrusted::escape_controls(&path.display().to_string()),
        crate::untrusted::escape_controls(&cause)
    )
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_paths_stay_in_the_directory() {
        let d = Path::new("/x");
        assert_eq!(state_path(d, "quickstart"), Path::new("/x/quickstart.json"));
        assert_eq!(state_path(d, "../etc/p"), Path::new("/x/___etc_p.json"));
    }
}
