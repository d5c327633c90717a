//! migplan-redis-verify: measures whether a target Redis holds a source Redis's data.
//!
//! [`verify`] connects to both ends and returns a [`Report`] whose [`Verdict`] is
//! [`Verdict::Pass`], [`Verdict::Fail`] (with figures and a few key names per finding) or
//! [`Verdict::Inconclusive`] (an end unreachable, authentication refused, a command refused,
//! or the time budget spent). Three checks, in this order:
//!
//! 1. **Key counts** per database from `INFO keyspace`: `keys - expires` (keys without a TTL,
//!    which cannot vanish on their own) must agree within a [`Tolerance`].
//! 2. **Samples**: keys chosen on the source ([`Sampling`]) are compared on both ends by type,
//!    TTL (within [`VerifyOptions::ttl_tolerance`]) and a canonical value digest per type
//!    ([`digest`]), read in bounded windows (`GETRANGE`, `LRANGE`, `ZRANGE`, `HSCAN`, `SSCAN`)
//!    so a large value never sits in memory whole. `DUMP` payloads are not compared: they
//!    differ across Redis versions for equal data.
//! 3. **Lag** (optional, for incremental migrations): a marker key
//!    (`migplan:verify:marker:<uuid>`, short TTL) is written to the source and awaited on the
//!    target within [`VerifyOptions::lag_budget`]; then it is deleted from the source.
//!
//! Passwords are [`Redacted`]: they never print, and no error or report carries a password
//! or a value (key names are shown, escaped and clipped).
//!
//! ```no_run
//! # async fn demo() {
//! use migplan_redis_verify::{Endpoint, VerifyOptions, Verdict, verify};
//! let source = Endpoint::tcp("10.0.0.5", 6379);
//! let target = Endpoint::tcp("10.0.0.9", 6379);
//! let report = verify(&source, &target, &VerifyOptions::default()).await;
//! match &report.verdict {
//!     Verdict::Pass => {}
//!     Verdict::Fail { reasons } => { let _ = reasons; }
//!     Verdict::Inconclusive { reason } => { let _ = reason; }
//! }
//! # }
//! ```

mod compare;
pub mod digest;
mod endpoint;
mod failure;
#[cfg(feature = "harness")]
pub mod harness;
mod keyspace;
mod lag;
mod options;
mod report;
mod run;
mod sample;

pub use endpoint::{Address, Endpoint, EndpointError};
pub use keyspace::{DbKeyspace, parse_keyspace};
pub use migplan_wire::Redacted;
pub use options::{Databases, OptionsError, Sampling, Tolerance, VerifyOptions};
pub use report::{
    DbCounts, FailReason, Findings, Inconclusive, KeyName, Lag, Report, Side, Verdict,
};
pub use run::verify;

/// Prefix of the lag marker keys; samples skip keys with this prefix.
pub const MARKER_PREFIX: &str = "migplan:verify:marker:";
