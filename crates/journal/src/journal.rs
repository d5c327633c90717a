//! The run journal: one row per apply in `migplan_runs`, one per step in `migplan_steps`.
//!
//! A step row is written when the step starts and completed when it ends (an upsert, so a
//! step that never started, e.g. skipped, still gets its row). Texts are capped: step
//! messages come from the executor's events, which hold no secrets, and are kept short.

use serde::Serialize;
use time::OffsetDateTime;

use crate::connect::{Conn, DbUrl, connect};
use crate::error::{Error, clip};
use crate::schema;
use crate::who::Who;

/// Longest step message stored, in characters.
pub const MESSAGE_MAX: usize = 2000;
/// Longest id, label, code or resource stored, in characters.
const SHORT_MAX: usize = 512;

/// A run's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Reached its postcondition.
    Done,
    /// Failed.
    Failed,
    /// Not run: a step it depends on failed.
    Skipped,
    /// Cut short: the run stopped watching it (interrupted, or still in progress).
    Cut,
}

impl Outcome {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Cut => "cut",
        }
    }

    fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "done" => Outcome::Done,
            "failed" => Outcome::Failed,
            "skipped" => Outcome::Skipped,
            "cut" => Outcome::Cut,
            _ => return None,
        })
    }
}

/// A step that starts.
#[derive(Debug, Clone)]
pub struct StepStart<'a> {
    /// Step id, e.g. `server.db-01#start`.
    pub step: &'a str,
    /// Resource address.
    pub resource: Option<&'a str>,
    /// Human label.
    pub label: &'a str,
}

/// A step that ended.
#[derive(Debug, Clone)]
pub struct StepEnd<'a> {
    /// Step id.
    pub step: &'a str,
    /// Resource address.
    pub resource: Option<&'a str>,
    /// How.
    pub outcome: Outcome,
    /// The request id of the API call the outcome comes from, when known.
    pub request_id: Option<&'a str>,
    /// The API's error code.
    pub error_code: Option<&'a str>,
    /// What happened (error message, note, or the failed step a skip depends on).
    pub message: Option<&'a str>,
}

/// A run, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// Id.
    pub id: RunId,
    /// Plan name.
    pub plan: String,
    /// The plan file's sha256.
    pub plan_sha256: String,
    /// Who ran it.
    pub who: Who,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// End; none while running, or when the run died before recording it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// The exit code, once finished.
    pub exit_code: Option<i32>,
    /// Its steps, in the order they were first recorded.
    pub steps: Vec<StepRecord>,
}

/// A step, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// Step id.
    pub step: String,
    /// Resource address.
    pub resource: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Start, when it started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// End, when it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// How it ended; none while running (or when the run died).
    pub outcome: Option<Outcome>,
    /// API request id.
    pub request_id: Option<String>,
    /// API error code.
    pub error_code: Option<String>,
    /// Message.
    pub message: Option<String>,
}

/// A connection to the journal.
pub struct Journal {
    conn: Conn,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Journal").field(&self.conn.target).finish()
    }
}

impl Journal {
    /// Connects, creating or upgrading the tables on first use.
    pub async fn open(url: &DbUrl) -> Result<Journal, Error> {
        let conn = connect(url).await?;
        schema::ensure(&conn).await?;
        Ok(Journal { conn })
    }

    /// How long one write may go unanswered before the database counts as unreachable.
    pub fn set_statement_timeout(&mut self, timeout: std::time::Duration) {
        self.conn.statement_timeout = timeout;
    }

    /// Records the start of a run.
    pub async fn start_run(
        &self,
        plan: &str,
        plan_sha256: &str,
        who: &Who,
    ) -> Result<RunId, Error> {
        let c = &self.conn;
        let row = c
            .run(
                "record the run",
                c.client.query_one(
                    "INSERT INTO migplan_runs (plan_name, plan_sha256, user_name, host, pid, ci_job_url)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &clip(plan, SHORT_MAX),
                        &clip(plan_sha256, 128),
                        &clip(&who.user, SHORT_MAX),
                        &clip(&who.host, SHORT_MAX),
                        &i64::from(who.pid),
                        &who.ci_job_url.as_deref().map(|u| clip(u, SHORT_MAX)),
                    ],
                ),
            )
            .await?;
        Ok(RunId(row.get(0)))
    }

    /// Records that a step started.
    pub async fn step_started(&self, run: RunId, s: &StepStart<'_>) -> Result<(), Error> {
        let c = &self.conn;
        c.run(
            "record a step start",
            c.client.execute(
                "INSERT INTO migplan_steps (run_id, step_id, resource, label, started_at)
                 VALUES ($1, $2, $3, $4, now())
                 ON CONFLICT (run_id, step_id) DO UPDATE SET started_at = EXCLUDED.started_at,
                    resource = EXCLUDED.resource, label = EXCLUDED.label",
                &[
                    &run.0,
                    &clip(s.step, SHORT_MAX),
                    &s.resource.map(|r| clip(r, SHORT_MAX)),
                    &clip(s.label, SHORT_MAX),
                ],
            ),
        )
        .await?;
        Ok(())
    }

    /// Records how a step ended.
    pub async fn step_finished(&self, run: RunId, s: &StepEnd<'_>) -> Result<(), Error> {
        let c = &self.conn;
        c.run(
            "record a step end",
            c.client.execute(
                "INSERT INTO migplan_steps
                    (run_id, step_id, resource, finished_at, outcome, request_id, error_code, message)
                 VALUES ($1, $2, $3, now(), $4, $5, $6, $7)
                 ON CONFLICT (run_id, step_id) DO UPDATE SET finished_at = EXCLUDED.finished_at,
                    resource = coalesce(EXCLUDED.resource, migplan_steps.resource),
                    outcome = EXCLUDED.outcome, request_id = EXCLUDED.request_id,
                    error_code = EXCLUDED.error_code, message = EXCLUDED.message",
                &[
                    &run.0,
                    &clip(s.step, SHORT_MAX),
                    &s.resource.map(|r| clip(r, SHORT_MAX)),
                    &s.outcome.as_str(),
                    &s.request_id.map(|r| clip(r, SHORT_MAX)),
                    &s.error_code.map(|r| clip(r, SHORT_MAX)),
                    &s.message.map(|m| clip(m, MESSAGE_MAX)),
                ],
            ),
        )
        .await?;
        Ok(())
    }

    /// Records the end of a run.
    pub async fn finish_run(&self, run: RunId, exit_code: i32) -> Result<(), Error> {
        let c = &self.conn;
        c.run(
            "record the run's end",
            c.client.execute(
                "UPDATE migplan_runs SET finished_at = now(), exit_code = $2 WHERE id = $1",
                &[&run.0, &exit_code],
            ),
        )
        .await?;
        Ok(())
    }

    /// The latest `limit` runs of a plan, newest first, with their steps.
    pub async fn history(&self, plan: &str, limit: u32) -> Result<Vec<RunRecord>, Error> {
        let c = &self.conn;
        let runs = c
            .run(
                "read the runs",
                c.client.query(
                    "SELECT id, plan_name, plan_sha256, user_name, host, pid, ci_job_url,
                            started_at, finished_at, exit_code
                     FROM migplan_runs WHERE plan_name = $1 ORDER BY id DESC LIMIT $2",
                    &[&plan, &i64::from(limit)],
                ),
            )
            .await?;
        let mut records: Vec<RunRecord> = runs
            .iter()
            .map(|r| RunRecord {
                id: RunId(r.get(0)),
                plan: r.get(1),
                plan_sha256: r.get(2),
                who: Who {
                    user: r.get(3),
                    host: r.get(4),
                    pid: u32::try_from(r.get::<_, i64>(5)).unwrap_or(0),
                    ci_job_url: r.get(6),
                },
                started_at: r.get(7),
                finished_at: r.get(8),
                exit_code: r.get(9),
                steps: Vec::new(),
            })
            .collect();
        let ids: Vec<i64> = records.iter().map(|r| r.id.0).collect();
        let steps = c
            .run(
                "read the steps",
                c.client.query(
                    "SELECT run_id, step_id, resource, label, started_at, finished_at, outcome,
                            request_id, error_code, message
                     FROM migplan_steps WHERE run_id = ANY($1) ORDER BY run_id, seq",
                    &[&ids],
                ),
            )
            .await?;
        for s in &steps {
            let run: i64 = s.get(0);
            let Some(rec) = records.iter_mut().find(|r| r.id.0 == run) else {
                continue;
            };
            rec.steps.push(StepRecord {
                step: s.get(1),
                resource: s.get(2),
                label: s.get(3),
                started_at: s.get(4),
                finished_at: s.get(5),
                outcome: s
                    .get::<_, Option<String>>(6)
                    .as_deref()
                    .and_then(Outcome::parse),
                request_id: s.get(7),
                error_code: s.get(8),
                message: s.get(9),
            });
        }
        Ok(records)
    }
}
