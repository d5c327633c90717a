//! One `apply` at a time per plan and cloud target.
//!
//! The lock is an OS file lock (`File::try_lock`) on
//! `$MIGPLAN_LOCK_DIR/<plan>-<hash of plan and target identity>.lock` (default directory:
//! `migplan-locks` in the OS temp directory). The identity is what the apply changes (project,
//! region, canonical endpoints), not how the endpoints were spelled, so
//! `http://localhost:P` and `http://127.0.0.1:P/` take the same lock. The OS releases it when the holder exits, however it exits, so a lock
//! left by a dead process is never in the way: its file still names the old holder, which is
//! how a stale lock is detected and reported. While held, the file holds the holder as JSON
//! (host, pid, start time, plan, target), shown to anyone refused.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Environment variable naming the lock directory.
pub const ENV_LOCK_DIR: &str = "MIGPLAN_LOCK_DIR";

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Plan name.
    pub plan: String,
    /// Cloud target.
    pub target: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {}, since {}",
            self.pid, self.host, self.started_at
        )
    }
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LockError {
    /// Another apply holds it.
    #[error("another `migplan apply` of plan {plan} against this target is running: {holder}")]
    #[diagnostic(
        code(migplan::lock::held),
        help("wait for it to finish, or pass --lock-timeout DUR to wait (lock file {path})")
    )]
    Held {
        /// Plan name.
        plan: String,
        /// The holder, as written in the lock file.
        holder: HolderText,
        /// Lock file.
        path: String,
    },
    /// The lock file could not be opened or written.
    #[error("cannot use the lock file {path}: {source}")]
    #[diagnostic(
        code(migplan::lock::io),
        help("set MIGPLAN_LOCK_DIR to a writable directory")
    )]
    Io {
        /// Lock file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// The holder's description (or what the file said, when it is not ours to parse).
#[derive(Debug)]
pub struct HolderText(pub String);

impl std::fmt::Display for HolderText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A held lock; released (and its holder record cleared) on drop, or by the OS on exit.
#[derive(Debug)]
pub struct ApplyLock {
    file: File,
    /// The previous holder, when a dead process left the lock behind.
    pub stale: Option<Holder>,
}

impl Drop for ApplyLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The lock directory: `$MIGPLAN_LOCK_DIR`, else `<temp>/migplan-locks`.
pub fn lock_dir() -> PathBuf {
    match std::env::var_os(ENV_LOCK_DIR) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => std::env::temp_dir().join("migplan-locks"),
    }
}

/// The lock file of a plan and target identity.
pub fn lock_path(dir: &Path, plan: &str, identity: &str) -> PathBuf {
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
    // Both parts are hashed: the file-name form of the plan name is lossy ("a/b" and "a_b").
    let mut hash = Sha256::new();
    hash.update(plan.as_bytes());
    hash.update([0]);
    hash.update(identity.as_bytes());
    let digest = hex::encode(hash.finalize());
    dir.join(format!("{safe}-{}.lock", &digest[..16]))
}

/// What is locked: a plan against a target identity; `shown` is how the target is described
/// to a refused run.
#[derive(Debug, Clone)]
pub struct LockKey<'a> {
    pub plan: &'a str,
    pub identity: &'a str,
    pub shown: &'a str,
}

/// Takes the lock in `dir`, waiting up to `timeout` (none: fail at once).
pub fn acquire(
    dir: &Path,
    key: &LockKey<'_>,
    timeout: Option<Duration>,
) -> Result<ApplyLock, LockError> {
    let plan = key.plan;
    let path = lock_path(dir, plan, key.identity);
    let io = |source| LockError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                if deadline.is_some_and(|d| Instant::now() < d) {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                let holder = match read_holder(&mut file) {
                    Some(h) => h.to_string(),
                    None => "a process that has not written its details yet".to_string(),
                };
                return Err(LockError::Held {
                    plan: plan.to_string(),
                    holder: HolderText(holder),
                    path: path.display().to_string(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    // Ours now. Whatever the file still says is a holder that died without releasing.
    let stale = read_holder(&mut file);
    let me = Holder {
        host: hostname(),
        pid: std::process::id(),
        started_at: now_rfc3339(),
        plan: plan.to_string(),
        target: key.shown.to_string(),
    };
    let text = serde_json::to_string(&me).unwrap_or_default();
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(ApplyLock { file, stale })
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh lock directory per test: tests never touch the shared default one.
    fn temp_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("migplan-lock-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn key<'a>(plan: &'a str, identity: &'a str) -> LockKey<'a> {
        LockKey {
            plan,
            identity,
            shown: identity,
        }
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holder_then_free_after_release() {
        let dir = temp_dir();
        let first = acquire(&dir, &key("p", "target-a"), None).expect("first");
        assert!(first.stale.is_none());
        let err = acquire(&dir, &key("p", "target-a"), None).expect_err("held");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        // Another target is another lock.
        let other = acquire(&dir, &key("p", "target-b"), None).expect("other target");
        drop(other);
        drop(first);
        let again = acquire(&dir, &key("p", "target-a"), None).expect("released");
        assert!(again.stale.is_none(), "a clean release leaves no holder");
        drop(again);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn lock_timeout_waits_for_the_holder_to_finish() {
        let dir = temp_dir();
        let first = acquire(&dir, &key("p", "t"), None).expect("first");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let second = acquire(&dir, &key("p", "t"), Some(Duration::from_secs(30)));
        let _ = releaser.join();
        assert!(second.is_ok(), "{:?}", second.err());
        drop(second);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_holder_record_without_a_lock_is_reported_stale() {
        let dir = temp_dir();
        let path = lock_path(&dir, "p", "t");
        let dead = Holder {
            host: "gone".into(),
            pid: 999_999,
            started_at: "2020-01-01T00:00:00Z".into(),
            plan: "p".into(),
            target: "t".into(),
        };
        std::fs::write(&path, serde_json::to_string(&dead).expect("json")).expect("write");
        let lock = acquire(&dir, &key("p", "t"), None).expect("a dead holder does not block");
        assert_eq!(lock.stale, Some(dead));
        drop(lock);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn lock_paths_are_safe_and_distinct_per_plan_and_target() {
        let d = Path::new("/x");
        let a = lock_path(d, "wave/1 ..", "t1");
        let b = lock_path(d, "wave/1 ..", "t2");
        assert_ne!(a, b);
        // Plan names that map to the same file-name text still get their own lock.
        assert_ne!(lock_path(d, "a/b", "t"), lock_path(d, "a_b", "t"));
        assert!(
            a.file_name()
                .is_some_and(|n| { n.to_string_lossy().starts_with("wave_1___-") })
        );
        assert_eq!(a.parent(), Some(d));
    }
}
