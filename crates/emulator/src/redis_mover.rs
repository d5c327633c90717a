//! Moving Redis data for real when both ends of a DCS migration are Redis servers the
//! emulator can reach.
//!
//! An end resolves to a server when its `id` is mapped by `--redis-instance ID=HOST:PORT`
//! ([`EmulatorConfig::redis_instances`]) or its `addrs` is a loopback `HOST:PORT` (the first
//! of the list). Other addresses stay simulated: they stand for cloud hosts the emulator
//! cannot reach, and a test must never send traffic off the machine. When both ends resolve
//! and answer `PING` (1 s), the mover takes the task over from the simulated timeline:
//!
//! - **full copy**: every database of the source is `SCAN`ned; each key is copied with
//!   `DUMP` + `PTTL` on the source and `RESTORE key ttl payload REPLACE` on the target
//!   (pipelined per `SCAN` page). Then the task is `SUCCESS` (full) or `INCRMIGEATING`
//!   (incremental). The target is not flushed first.
//! - **incremental follow**: every [`FOLLOW_INTERVAL`] the source is scanned again; a key
//!   whose `DUMP` digest or expiry changed is copied again, a key that disappeared from the
//!   source is deleted on the target. The follow ends when the task leaves `INCRMIGEATING`
//!   (stop, failure, restart, delete) or the emulator stops.
//!
//! Limits of the follow (chosen over keyspace notifications, which need `CONFIG SET` on the
//! source, and `MONITOR`, which costs the source dearly): each round reads the whole source,
//! so it suits test-sized data; a change is seen within one round, and a key changed and
//! changed back between two rounds is not copied again (its end state is the same); writes
//! made to the target by others are not undone. A connection lost while following is
//! reconnected (the next round copies what changed meanwhile) when the task's `resume_mode`
//! is `auto`, as DCS resumes on its own; with `manual` the task fails. `DUMP` payloads need a target whose Redis
//! version accepts the source's (equal or newer); otherwise the task fails. A connection
//! lost while copying fails the task (`FAILED`), as a real migration would. A task loaded from
//! a `persist` file while copying or following gets a new mover at start ([`resume_all`]),
//! which copies every key again, then follows.

use crate::app::App;
use crate::config::EmulatorConfig;
use crate::state::dcs::DcsTaskRec;
use migplan_wire::dcs::{ConfigInstance, MigrationMethod, MigrationStatus, ResumeMode};
use redis::Value;
use redis::aio::MultiplexedConnection;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time between two rounds of the incremental follow.
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);
/// How long a probe waits for an end to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Keys per `SCAN` page (and per pipelined copy).
const SCAN_COUNT: usize = 500;

/// `--redis-instance ID=HOST:PORT`: the Redis server a DCS instance id stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisInstance {
    /// DCS instance id, as sent in `source_instance.id` / `target_instance.id`.
    pub id: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl FromStr for RedisInstance {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, addr) = s
            .split_once('=')
            .ok_or_else(|| format!("expected ID=HOST:PORT, got {:?}", clip(s)))?;
        let id = id.trim();
        if id.is_empty() {
            return Err(format!("expected ID=HOST:PORT, got {:?}", clip(s)));
        }
        let (host, port) = parse_host_port(addr).ok_or_else(|| {
            format!(
                "expected ID=HOST:PORT with a port 1..=65535, got {:?}",
                clip(s)
            )
        })?;
        Ok(RedisInstance {
            id: id.to_owned(),
            host,
            port,
        })
    }
}

impl fmt::Display for RedisInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}:{}", self.id, self.host, self.port)
    }
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

fn parse_host_port(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.trim().rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A resolved end: where to connect and with which password.
#[derive(Clone)]
struct End {
    host: String,
    port: u16,
    password: Option<String>,
}

impl fmt::Debug for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

fn resolve(cfg: &EmulatorConfig, inst: &ConfigInstance) -> Option<End> {
    let password = inst
        .password
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(|p| p.expose().to_owned());
    if let Some(id) = inst.id.as_deref().filter(|s| !s.trim().is_empty()) {
        let mapped = cfg.redis_instances.iter().find(|r| r.id == id)?;
        return Some(End {
            host: mapped.host.clone(),
            port: mapped.port,
            password,
        });
    }
    let first = inst.addrs.as_deref()?.split(',').next()?;
    let (host, port) = parse_host_port(first)?;
    is_loopback(&host).then_some(End {
        host,
        port,
        password,
    })
}

async fn connect(end: &End, db: i64) -> redis::RedisResult<MultiplexedConnection> {
    use redis::IntoConnectionInfo;
    let mut settings = redis::RedisConnectionInfo::default()
        .set_db(db)
        .set_skip_set_lib_name();
    if let Some(pw) = &end.password {
        settings = settings.set_password(pw);
    }
    let info = redis::ConnectionAddr::Tcp(end.host.clone(), end.port)
        .into_connection_info()?
        .set_redis_settings(settings);
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(PROBE_TIMEOUT))
        .set_response_timeout(Some(Duration::from_secs(30)));
    let mut con = redis::Client::open(info)?
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    redis::cmd("PING").query_async::<()>(&mut con).await?;
    Ok(con)
}

/// What the task wants from its mover now.
#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Copy,
    Follow,
    Stop,
}

/// Identifies the copy a mover serves: a restart starts another.
#[derive(Debug, Clone)]
struct Job {
    project: String,
    id: String,
    copy_started_ms: i64,
    incremental: bool,
    /// `resume_mode: auto`: a lost connection is reconnected while following.
    auto_resume: bool,
    source: End,
    target: End,
}

fn with_task<R>(app: &App, job: &Job, f: impl FnOnce(&mut DcsTaskRec, i64) -> R) -> Option<R> {
    let now = app.now();
    let mut w = app.world();
    let t = w
        .dcs_tasks
        .iter_mut()
        .find(|t| t.id == job.id && t.project_id == job.project)?;
    (t.copy_started_ms == Some(job.copy_started_ms)).then(|| f(t, now))
}

fn phase(app: &App, job: &Job) -> Phase {
    with_task(app, job, |t, now| match t.status.value(now) {
        MigrationStatus::FullMigrating => Phase::Copy,
        MigrationStatus::IncrMigrating => Phase::Follow,
        _ => Phase::Stop,
    })
    .unwrap_or(Phase::Stop)
}

/// After a configure or restart: starts a mover for the task's current copy when both ends
/// resolve (see the module docs). Calling it again for the same copy does nothing.
pub fn start(app: &Arc<App>, project: &str, id: &str) {
    let now = app.now();
    let job = {
        let mut w = app.world();
        let Some(t) = w
            .dcs_tasks
            .iter_mut()
            .find(|t| t.id == id && t.project_id == project)
        else {
            return;
        };
        let (Some(config), Some(copy_started_ms)) = (&t.config, t.copy_started_ms) else {
            return;
        };
        let copying = matches!(
            t.status.value(now),
            MigrationStatus::FullMigrating | MigrationStatus::IncrMigrating
        );
        if t.mover_copy_ms == Some(copy_started_ms) || !copying {
            return;
        }
        let (Some(source), Some(target)) = (
            resolve(&app.cfg, &config.source_instance),
            resolve(&app.cfg, &config.target_instance),
        ) else {
            return;
        };
        t.mover_copy_ms = Some(copy_started_ms);
        Job {
            project: project.to_owned(),
            id: id.to_owned(),
            copy_started_ms,
            incremental: config.migration_method == MigrationMethod::Incremental,
            auto_resume: t.resume_mode != Some(ResumeMode::Manual),
            source,
            target,
        }
    };
    tokio::spawn(run(Arc::downgrade(app), job));
}

/// At start: a mover for every task that was copying or following when the state was saved.
pub fn resume_all(app: &Arc<App>) {
    let tasks: Vec<(String, String)> = app
        .world()
        .dcs_tasks
        .iter()
        .map(|t| (t.project_id.clone(), t.id.clone()))
        .collect();
    for (project, id) in tasks {
        start(app, &project, &id);
    }
}

async fn run(app: Weak<App>, job: Job) {
    let (src, tgt) = tokio::join!(connect(&job.source, 0), connect(&job.target, 0));
    if let Err(e) = src.as_ref().and(tgt.as_ref()) {
        // Unreachable: the simulated timeline goes on (a full copy taken over before a
        // persist-and-restart gets its simulated end back).
        if let Some(a) = app.upgrade() {
            let incremental = job.incremental;
            with_task(&a, &job, |t, now| {
                if *t.status.value(now) == MigrationStatus::FullMigrating && !t.status.pending(now)
                {
                    t.status.then(
                        now + crate::state::dcs::FULL_MS,
                        if incremental {
                            MigrationStatus::IncrMigrating
                        } else {
                            MigrationStatus::Success
                        },
                    );
                }
            });
        }
        tracing::info!(task = %job.id, source = ?job.source, target = ?job.target, error = %e.kind_name(), "redis ends unreachable; simulating the migration");
        return;
    }
    let Some(a) = app.upgrade() else { return };
    // Take over: cancel the simulated end unless a failure is already planned.
    let taken = with_task(&a, &job, |t, now| {
        let planned_failure = *t.status.last() == MigrationStatus::Failed;
        match t.status.value(now) {
            MigrationStatus::FullMigrating if !planned_failure => {
                t.status.set(now, MigrationStatus::FullMigrating);
                true
            }
            // Resumed after a persist-and-restart: follow again.
            MigrationStatus::IncrMigrating => true,
            _ => false,
        }
    })
    .unwrap_or(false);
    drop(a);
    if !taken {
        return;
    }
    tracing::info!(task = %job.id, source = ?job.source, target = ?job.target, "copying redis data for real");
    let mut mover = Mover {
        job,
        copied: BTreeMap::new(),
        cons: HashMap::new(),
        source_keys: 0,
    };
    let outcome = mover.follow(&app).await;
    if let (Err(e), Some(a)) = (outcome, app.upgrade()) {
        tracing::warn!(task = %mover.job.id, error = %e, "redis data mover failed");
        with_task(&a, &mover.job, |t, now| {
            if matches!(
                t.status.value(now),
                MigrationStatus::FullMigrating | MigrationStatus::IncrMigrating
            ) {
                t.status.set(now, MigrationStatus::Failed);
                t.updated_ms = now;
            }
        });
    }
}

/// What was last copied of a key: its `DUMP` digest and absolute expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Copied {
    digest: u128,
    expires_at_ms: Option<i64>,
}

struct Mover {
    job: Job,
    /// Per database, every key copied and what it was.
    copied: BTreeMap<i64, HashMap<Vec<u8>, Copied>>,
    /// Per database, (source, target) connections.
    cons: HashMap<i64, (MultiplexedConnection, MultiplexedConnection)>,
    /// Keys on the source at the start of the current round (`INFO keyspace`).
    source_keys: u64,
}

/// An error with the end it happened on, never a value or a password.
#[derive(Debug)]
struct MoveError(String);

impl fmt::Display for MoveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn on(side: &'static str, e: redis::RedisError) -> MoveError {
    MoveError(format!(
        "{side}: {}{}",
        e.kind_name(),
        e.code().map(|c| format!(" ({c})")).unwrap_or_default()
    ))
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for redis::RedisError {
    fn kind_name(&self) -> String {
        if self.is_connection_refusal() {
            "connection refused".into()
        } else if self.is_timeout() {
            "timed out".into()
        } else if self.is_io_error() {
            "connection lost".into()
        } else {
            format!("{:?}", self.kind())
        }
    }
}

fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Mover {
    /// Copies everything, then follows changes while the task is incremental.
    async fn follow(&mut self, app: &Weak<App>) -> Result<(), MoveError> {
        let mut first = true;
        loop {
            let Some(a) = app.upgrade() else {
                return Ok(());
            };
            let now_phase = phase(&a, &self.job);
            drop(a);
            if now_phase == Phase::Stop || (!first && now_phase != Phase::Follow) {
                return Ok(());
            }
            match self.round(app).await {
                Ok(()) => {}
                // While following with `resume_mode: auto`, DCS reconnects and resumes: the
                // next round connects again and copies what changed meanwhile.
                Err(e) if !first && self.job.auto_resume => {
                    tracing::info!(task = %self.job.id, error = %e, "redis connection lost; resuming");
                    self.cons.clear();
                    tokio::time::sleep(FOLLOW_INTERVAL * 5).await;
                    continue;
                }
                Err(e) => return Err(e),
            }
            if first {
                first = false;
                let Some(a) = app.upgrade() else {
                    return Ok(());
                };
                let incremental = self.job.incremental;
                with_task(&a, &self.job, |t, now| {
                    if *t.status.value(now) == MigrationStatus::FullMigrating {
                        t.status.set(
                            now,
                            if incremental {
                                MigrationStatus::IncrMigrating
                            } else {
                                MigrationStatus::Success
                            },
                        );
                        t.updated_ms = now;
                    }
                });
                if !incremental {
                    tracing::info!(task = %self.job.id, "redis full copy done");
                    return Ok(());
                }
            }
            tokio::time::sleep(FOLLOW_INTERVAL).await;
        }
    }

    /// Publishes the key figures the task's statistics show.
    fn report_progress(&self, app: &Weak<App>) {
        let copied: u64 = self.copied.values().map(|m| m.len() as u64).sum();
        let source = self.source_keys.max(copied);
        if let Some(a) = app.upgrade() {
            with_task(&a, &self.job, |t, _| t.moved_keys = Some((source, copied)));
        }
    }

    async fn cons(
        &mut self,
        db: i64,
    ) -> Result<(MultiplexedConnection, MultiplexedConnection), MoveError> {
        if let Some(c) = self.cons.get(&db) {
            return Ok(c.clone());
        }
        let s = connect(&self.job.source, db)
            .await
            .map_err(|e| on("source", e))?;
        let t = connect(&self.job.target, db)
            .await
            .map_err(|e| on("target", e))?;
        self.cons.insert(db, (s.clone(), t.clone()));
        Ok((s, t))
    }

    /// One pass over the source: copies new and changed keys, deletes vanished ones.
    async fn round(&mut self, app: &Weak<App>) -> Result<(), MoveError> {
        let (mut src0, _) = self.cons(0).await?;
        let info: String = redis::cmd("INFO")
            .arg("keyspace")
            .query_async(&mut src0)
            .await
            .map_err(|e| on("source", e))?;
        let mut dbs: Vec<i64> = info
            .lines()
            .filter_map(|l| l.split_once(':')?.0.strip_prefix("db")?.parse().ok())
            .collect();
        self.source_keys = info
            .lines()
            .filter_map(|l| {
                let fields = l.split_once(':')?.1;
                fields
                    .split(',')
                    .find_map(|f| f.strip_prefix("keys=")?.parse::<u64>().ok())
            })
            .sum();
        dbs.extend(self.copied.keys().copied());
        dbs.sort_unstable();
        dbs.dedup();
        for db in dbs {
            self.round_db(db, app).await?;
        }
        Ok(())
    }

    async fn round_db(&mut self, db: i64, app: &Weak<App>) -> Result<(), MoveError> {
        let (mut src, mut tgt) = self.cons(db).await?;
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut cursor: u64 = 0;
        loop {
            // Stop promptly when the task is stopped mid-pass.
            match app.upgrade() {
                Some(a) if phase(&a, &self.job) != Phase::Stop => {}
                _ => return Ok(()),
            }
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut src)
                .await
                .map_err(|e| on("source", e))?;
            let mut pipe = redis::pipe();
            for k in &keys {
                pipe.cmd("DUMP").arg(k).cmd("PTTL").arg(k);
            }
            let replies: Vec<Value> = if keys.is_empty() {
                Vec::new()
            } else {
                pipe.query_async(&mut src)
                    .await
                    .map_err(|e| on("source", e))?
            };
            let now = epoch_ms();
            let copied = self.copied.entry(db).or_default();
            let mut restore = redis::pipe();
            // Recorded as copied only once the target took them: a write lost with the
            // connection is made again by the next round.
            let mut restored: Vec<(Vec<u8>, Copied)> = Vec::new();
            for (k, r) in keys.iter().zip(replies.chunks_exact(2)) {
                let (Value::BulkString(payload), Value::Int(pttl)) = (&r[0], &r[1]) else {
                    continue; // vanished between SCAN and DUMP
                };
                if *pttl == -2 {
                    continue;
                }
                seen.insert(k.clone());
                let d: [u8; 32] = Sha256::digest(payload).into();
                let now_copy = Copied {
                    digest: u128::from_le_bytes(d[..16].try_into().unwrap_or_default()),
                    expires_at_ms: (*pttl >= 0).then(|| now + pttl),
                };
                let unchanged = copied.get(k).is_some_and(|c| {
                    c.digest == now_copy.digest
                        && match (c.expires_at_ms, now_copy.expires_at_ms) {
                            (None, None) => true,
                            (Some(a), Some(b)) => (a - b).abs() <= 1000,
                            _ => false,
                        }
                });
                if unchanged {
                    continue;
                }
                restore
                    .cmd("RESTORE")
                    .arg(k)
                    .arg((*pttl).max(0))
                    .arg(payload.as_slice())
                    .arg("REPLACE")
                    .ignore();
                restored.push((k.clone(), now_copy));
            }
            if !restored.is_empty() {
                restore
                    .query_async::<()>(&mut tgt)
                    .await
                    .map_err(|e| on("target", e))?;
                self.copied.entry(db).or_default().extend(restored);
            }
            self.report_progress(app);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let copied = self.copied.entry(db).or_default();
        let gone: Vec<Vec<u8>> = copied
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        if !gone.is_empty() {
            let mut del = redis::cmd("DEL");
            for k in &gone {
                del.arg(k);
            }
            del.query_async::<()>(&mut tgt)
                .await
                .map_err(|e| on("target", e))?;
            let copied = self.copied.entry(db).or_default();
            for k in &gone {
                copied.remove(k);
            }
            self.report_progress(app);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_wire::Redacted;

    #[test]
    fn instances_parse() {
        let r: RedisInstance = "dcs-1=127.0.0.1:6380".parse().unwrap();
        assert_eq!(
            (r.id.as_str(), r.host.as_str(), r.port),
            ("dcs-1", "127.0.0.1", 6380)
        );
        assert_eq!(r.to_string(), "dcs-1=127.0.0.1:6380");
        for bad in ["", "x", "=h:1", "id=h", "id=h:0", "id=:5", "id=h:99999"] {
            assert!(bad.parse::<RedisInstance>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_mapped_ids_and_loopback_addrs_resolve() {
        let mut cfg = EmulatorConfig::new("a", "b");
        cfg.redis_instances = vec!["mapped=10.1.2.3:7000".parse().unwrap()];
        let inst = |id: Option<&str>, addrs: Option<&str>| ConfigInstance {
            id: id.map(str::to_owned),
            addrs: addrs.map(str::to_owned),
            password: Some(Redacted::new("pw")),
        };
        let end = resolve(&cfg, &inst(Some("mapped"), None)).unwrap();
        assert_eq!(
            (end.host.as_str(), end.port, end.password.as_deref()),
            ("10.1.2.3", 7000, Some("pw"))
        );
        assert!(resolve(&cfg, &inst(Some("unmapped"), Some("127.0.0.1:1"))).is_none());
        assert!(resolve(&cfg, &inst(None, Some("10.0.0.1:6379"))).is_none());
        let end = resolve(&cfg, &inst(None, Some("127.0.0.1:6390,127.0.0.1:6391"))).unwrap();
        assert_eq!(end.port, 6390);
        assert!(resolve(&cfg, &inst(None, Some("localhost:6390"))).is_some());
        assert!(resolve(&cfg, &inst(None, Some("[::1]:6390"))).is_some());
        assert!(!format!("{end:?}").contains("pw"));
    }
}
