//! A shared apply lock and a run journal on PostgreSQL, for teams whose runs start on
//! different machines (CI runners), where a local file lock excludes nobody.
//!
//! - [`SharedLock`]: a session-level advisory lock (`pg_try_advisory_lock`) on a 64-bit hash
//!   of the lock key, held on its own connection for the whole apply, so a runner that dies
//!   releases it with its connection. Its holder is recorded in `migplan_lock_holders` and
//!   named to anyone refused.
//! - [`Journal`]: runs (`migplan_runs`) and their steps (`migplan_steps`), and
//!   [`Journal::history`].
//! - Tables are created on first use and versioned (`migplan_schema`); a database of a newer
//!   schema version is refused ([`Error::SchemaTooNew`]).
//! - A database lost mid-run is [`Error::Unreachable`] ([`Error::is_unreachable`]): the
//!   caller finishes what is in flight, starts nothing new and exits 1.

mod connect;
mod error;
mod journal;
mod lock;
mod schema;
mod who;

pub use connect::{DEFAULT_STATEMENT_TIMEOUT, DbUrl};
pub use error::Error;
pub use journal::{
    Journal, MESSAGE_MAX, Outcome, RunId, RunRecord, StepEnd, StepRecord, StepStart,
};
pub use lock::{Holder, LockRequest, SharedLock, advisory_key};
pub use schema::SCHEMA_VERSION;
pub use who::{Who, ci_job_url};
