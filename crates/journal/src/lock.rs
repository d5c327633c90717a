//! The shared apply lock: a session-level advisory lock held on a dedicated connection.
//!
//! PostgreSQL releases a session-level advisory lock when its connection ends, however the
//! holder ended: a runner that dies (SIGKILL, a lost VM) frees the lock as soon as the
//! server sees its socket close (or, for a vanished host, when TCP keepalives give up).
//! Who holds it is written to `migplan_lock_holders`; a row whose advisory lock is not held
//! by its recorded backend is a dead holder's, and the next holder replaces it.

use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::connect::{Conn, DbUrl, connect};
use crate::error::{Error, clip};
use crate::schema;
use crate::who::Who;

/// Longest wait between two tries of [`SharedLock::acquire`].
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The advisory-lock key of a lock key string: the first 8 bytes of a sha256, so every
/// build and platform computes the same number. The prefix keeps migplan's keys apart from
/// other applications' advisory locks on the same database.
pub fn advisory_key(key: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(b"migplan-lock\0");
    h.update(key.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// `pg_locks` shows a bigint advisory key split into `classid` (high half) and `objid`.
fn lock_ids(key: i64) -> (u32, u32) {
    let k = key as u64;
    ((k >> 32) as u32, (k & 0xffff_ffff) as u32)
}

/// What to lock and who asks.
#[derive(Debug, Clone)]
pub struct LockRequest<'a> {
    /// The lock key (the same key the file lock uses: plan name and target identity).
    pub key: &'a str,
    /// What is locked, in words for a person refused (`plan wave-1 against ...`); recorded
    /// with the holder. Empty: the key is shown.
    pub label: &'a str,
    /// The plan file's sha256, recorded with the holder.
    pub plan_sha256: &'a str,
    /// Who asks.
    pub who: Who,
}

/// A lock holder, as its row records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// Who.
    pub who: Who,
    /// When the lock was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The plan file's sha256.
    pub plan_sha256: String,
    /// The server process of the holder's connection.
    pub backend_pid: i32,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = self
            .started_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        write!(f, "{}, since {since}", self.who)
    }
}

/// A held lock. [`SharedLock::release`] clears the holder row and unlocks; dropping it
/// closes the connection, which releases the lock too (the row is then replaced by the
/// next holder as stale).
pub struct SharedLock {
    conn: Conn,
    key: String,
    advisory: i64,
    stale: Option<Holder>,
}

impl std::fmt::Debug for SharedLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLock")
            .field("key", &self.key)
            .field("stale", &self.stale)
            .finish()
    }
}

enum Attempt {
    Acquired(Option<Holder>),
    Held(String),
}

impl SharedLock {
    /// Takes the lock now, or fails at once naming the holder.
    pub async fn try_acquire(url: &DbUrl, req: &LockRequest<'_>) -> Result<SharedLock, Error> {
        let conn = open(url).await?;
        let advisory = advisory_key(req.key);
        match attempt(&conn, req, advisory).await? {
            Attempt::Acquired(stale) => Ok(SharedLock {
                conn,
                key: req.key.to_string(),
                advisory,
                stale,
            }),
            Attempt::Held(holder) => Err(Error::Held {
                what: shown_label(req),
                holder,
            }),
        }
    }

    /// Takes the lock, trying again with growing pauses (100 ms doubling to 2 s, jittered)
    /// until `timeout` has passed; then fails naming the holder.
    pub async fn acquire(
        url: &DbUrl,
        req: &LockRequest<'_>,
        timeout: Duration,
    ) -> Result<SharedLock, Error> {
        let conn = open(url).await?;
        let advisory = advisory_key(req.key);
        let start = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match attempt(&conn, req, advisory).await? {
                Attempt::Acquired(stale) => {
                    return Ok(SharedLock {
                        conn,
                        key: req.key.to_string(),
                        advisory,
                        stale,
                    });
                }
                Attempt::Held(holder) => {
                    let waited = start.elapsed();
                    if waited >= timeout {
                        return Err(Error::Timeout {
                            what: shown_label(req),
                            waited: timeout,
                            holder,
                        });
                    }
                    let sleep = (pause + jitter(pause / 2)).min(timeout - waited);
                    tokio::time::sleep(sleep).await;
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// The lock key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The previous holder, when one died holding it and left its row behind.
    pub fn stale(&self) -> Option<&Holder> {
        self.stale.as_ref()
    }

    /// Whether the lock is still ours: an error when the database is unreachable, `false`
    /// when the server no longer shows it held by this connection.
    pub async fn still_held(&self) -> Result<bool, Error> {
        let (classid, objid) = lock_ids(self.advisory);
        let row = self
            .conn
            .run(
                "check the lock",
                self.conn.client.query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                        AND granted AND pid = pg_backend_pid()
                        AND classid = $1 AND objid = $2 AND objsubid = 1)",
                    &[&classid, &objid],
                ),
            )
            .await?;
        Ok(row.get(0))
    }

    /// Clears the holder row and unlocks.
    pub async fn release(self) -> Result<(), Error> {
        let conn = &self.conn;
        conn.run(
            "clear the lock holder",
            conn.client.execute(
                "DELETE FROM migplan_lock_holders WHERE key_hash = $1 AND backend_pid = pg_backend_pid()",
                &[&self.advisory],
            ),
        )
        .await?;
        conn.run(
            "release the lock",
            conn.client
                .execute("SELECT pg_advisory_unlock($1)", &[&self.advisory]),
        )
        .await?;
        Ok(())
    }
}

async fn open(url: &DbUrl) -> Result<Conn, Error> {
    let conn = connect(url).await?;
    schema::ensure(&conn).await?;
    Ok(conn)
}

async fn attempt(conn: &Conn, req: &LockRequest<'_>, advisory: i64) -> Result<Attempt, Error> {
    let got: bool = conn
        .run(
            "try the advisory lock",
            conn.client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&advisory]),
        )
        .await?
        .get(0);
    if !got {
        return Ok(Attempt::Held(describe_holder(conn, advisory).await?));
    }
    // Ours now: whatever row is there was left by a holder that died.
    let stale = conn
        .run(
            "read the lock holder",
            conn.client.query_opt(
                "SELECT user_name, host, pid, ci_job_url, started_at, plan_sha256, backend_pid
                 FROM migplan_lock_holders WHERE key_hash = $1",
                &[&advisory],
            ),
        )
        .await?
        .map(|row| holder_from_row(&row));
    let who = &req.who;
    conn.run(
        "record the lock holder",
        conn.client.execute(
            "INSERT INTO migplan_lock_holders
                (key, key_hash, backend_pid, user_name, host, pid, ci_job_url, plan_sha256, started_at)
             VALUES ($1, $2, pg_backend_pid(), $3, $4, $5, $6, $7, now())
             ON CONFLICT (key_hash) DO UPDATE SET key = EXCLUDED.key,
                backend_pid = EXCLUDED.backend_pid, user_name = EXCLUDED.user_name,
                host = EXCLUDED.host, pid = EXCLUDED.pid, ci_job_url = EXCLUDED.ci_job_url,
                plan_sha256 = EXCLUDED.plan_sha256, started_at = EXCLUDED.started_at",
            &[
                &shown_label(req),
                &advisory,
                &clip(&who.user, 512),
                &clip(&who.host, 512),
                &i64::from(who.pid),
                &who.ci_job_url.as_deref().map(|u| clip(u, 512)),
                &clip(req.plan_sha256, 128),
            ],
        ),
    )
    .await?;
    Ok(Attempt::Acquired(stale))
}

/// Names the holder from its row when the row's backend really holds the lock; otherwise
/// names the server process that does.
async fn describe_holder(conn: &Conn, advisory: i64) -> Result<String, Error> {
    let (classid, objid) = lock_ids(advisory);
    let holders = conn
        .run(
            "find the lock holder",
            conn.client.query(
                "SELECT l.pid, h.user_name, h.host, h.pid, h.ci_job_url, h.started_at,
                        h.plan_sha256, h.backend_pid
                 FROM pg_locks l
                 LEFT JOIN migplan_lock_holders h ON h.key_hash = $3 AND h.backend_pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1",
                &[&classid, &objid, &advisory],
            ),
        )
        .await?;
    let Some(row) = holders.first() else {
        // Released between our try and this look.
        return Ok("a run that has just released it".to_string());
    };
    let backend: Option<i32> = row.get(0);
    let has_row: Option<String> = row.get(1);
    if has_row.is_some() {
        let h = Holder {
            who: Who {
                user: row.get(1),
                host: row.get(2),
                pid: u32::try_from(row.get::<_, i64>(3)).unwrap_or(0),
                ci_job_url: row.get(4),
            },
            started_at: row.get(5),
            plan_sha256: row.get(6),
            backend_pid: row.get(7),
        };
        return Ok(h.to_string());
    }
    Ok(format!(
        "a session with no holder record (PostgreSQL backend pid {}): not a migplan apply, or one still writing its record",
        backend.map_or_else(|| "unknown".to_string(), |p| p.to_string())
    ))
}

fn holder_from_row(row: &tokio_postgres::Row) -> Holder {
    Holder {
        who: Who {
            user: row.get(0),
            host: row.get(1),
            pid: u32::try_from(row.get::<_, i64>(2)).unwrap_or(0),
            ci_job_url: row.get(3),
        },
        started_at: row.get(4),
        plan_sha256: row.get(5),
        backend_pid: row.get(6),
    }
}

/// What is locked, for people to read: the label, else the key escaped (text columns cannot
/// hold NUL; the row is found by the hash, so escaping loses nothing).
fn shown_label(req: &LockRequest<'_>) -> String {
    let text = if req.label.is_empty() {
        req.key.escape_debug().to_string()
    } else {
        req.label.chars().filter(|c| *c != '\0').collect()
    };
    clip(&text, 512)
}

/// A pause in `[0, max)` that differs between processes, so waiters do not retry in step.
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id().wrapping_mul(2_654_435_761);
    let max_ms = max.as_millis().max(1) as u64;
    Duration::from_millis(u64::from(nanos) % max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_keys_are_stable_and_split_as_pg_locks_shows_them() {
        // Pinned: a change would let an old and a new migplan hold "the same" lock at once.
        assert_eq!(advisory_key("p\0t"), advisory_key("p\0t"));
        assert_ne!(advisory_key("a"), advisory_key("b"));
        let k = advisory_key("wave-1\0sms:cn-north-4");
        let (hi, lo) = lock_ids(k);
        assert_eq!(((u64::from(hi) << 32) | u64::from(lo)) as i64, k);
        assert_eq!(lock_ids(-1), (u32::MAX, u32::MAX));
    }
}
