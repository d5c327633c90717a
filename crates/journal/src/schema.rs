//! The tables, created on first use and versioned in `migplan_schema`.
//!
//! Migrations run in one transaction under a transaction-level advisory lock, so two runs
//! that both find an empty database do not race; a database whose version is newer than
//! [`SCHEMA_VERSION`] is refused before anything is read or written.

use crate::connect::Conn;
use crate::error::Error;
use crate::lock::advisory_key;

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i32 = 1;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: lock holders, runs, steps.
    "CREATE TABLE migplan_lock_holders (
        key_hash bigint PRIMARY KEY,
        key text NOT NULL,
        backend_pid integer NOT NULL,
        user_name text NOT NULL,
        host text NOT NULL,
        pid bigint NOT NULL,
        ci_job_url text,
        plan_sha256 text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE migplan_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        plan_name text NOT NULL,
        plan_sha256 text NOT NULL,
        user_name text NOT NULL,
        host text NOT NULL,
        pid bigint NOT NULL,
        ci_job_url text,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        exit_code integer
    );
    CREATE INDEX migplan_runs_by_plan ON migplan_runs (plan_name, id DESC);
    CREATE TABLE migplan_steps (
        run_id bigint NOT NULL REFERENCES migplan_runs (id) ON DELETE CASCADE,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        step_id text NOT NULL,
        resource text,
        label text,
        started_at timestamptz,
        finished_at timestamptz,
        outcome text CHECK (outcome IN ('done', 'failed', 'skipped', 'cut')),
        request_id text,
        error_code text,
        message text,
        PRIMARY KEY (run_id, step_id)
    );",
];

/// The schema version recorded in the database (0 when it has none yet).
pub(crate) async fn current_version(conn: &Conn) -> Result<i32, Error> {
    let exists: bool = conn
        .run(
            "look for migplan_schema",
            conn.client
                .query_one("SELECT to_regclass('migplan_schema') IS NOT NULL", &[]),
        )
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = conn
        .run(
            "read the schema version",
            conn.client
                .query_one("SELECT coalesce(max(version), 0) FROM migplan_schema", &[]),
        )
        .await?;
    Ok(row.get(0))
}

/// Brings the database to [`SCHEMA_VERSION`], or refuses a newer one.
pub(crate) async fn ensure(conn: &Conn) -> Result<(), Error> {
    let found = current_version(conn).await?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if found > SCHEMA_VERSION {
        return Err(too_new(conn, found));
    }
    conn.run(
        "start the schema migration",
        conn.client.batch_execute("BEGIN"),
    )
    .await?;
    let migrated = migrate(conn).await;
    let end = if migrated.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = conn
        .run(
            "finish the schema migration",
            conn.client.batch_execute(end),
        )
        .await;
    migrated?;
    ended
}

async fn migrate(conn: &Conn) -> Result<(), Error> {
    let key = advisory_key("migplan-schema");
    conn.run(
        "lock the schema for migration",
        conn.client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&key]),
    )
    .await?;
    conn.run(
        "create migplan_schema",
        conn.client.batch_execute(
            "CREATE TABLE IF NOT EXISTS migplan_schema (
                version integer NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        ),
    )
    .await?;
    // Read again under the lock: another run may have migrated meanwhile.
    let found = current_version(conn).await?;
    if found > SCHEMA_VERSION {
        return Err(too_new(conn, found));
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let to = from as i32 + 1;
        conn.run("create the migplan tables", conn.client.batch_execute(sql))
            .await?;
        conn.run(
            "record the schema version",
            conn.client
                .execute("INSERT INTO migplan_schema (version) VALUES ($1)", &[&to]),
        )
        .await?;
    }
    Ok(())
}

fn too_new(conn: &Conn, found: i32) -> Error {
    Error::SchemaTooNew {
        target: conn.target.clone(),
        found,
        supported: SCHEMA_VERSION,
    }
}
