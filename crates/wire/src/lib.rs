//! migplan-wire: the Huawei Cloud SMS v3 and DCS v2 protocols as bytes on the wire.
//!
//! This crate has no HTTP client, no server and no runtime. It holds:
//!
//! - [`signing`]: AK/SK `SDK-HMAC-SHA256` request signing ([`signing::sign`]) and server-side
//!   verification ([`signing::verify`]), reproducing the SDKs' test vectors.
//! - [`sms`]: SMS v3 bodies — [`sms::SourceServer`], [`sms::Task`], [`sms::CreateTaskRequest`],
//!   [`sms::TaskActionRequest`] with [`sms::Operation`], [`sms::SpeedLimits`],
//!   [`sms::Template`], and the state enums [`sms::TaskState`], [`sms::SourceState`],
//!   [`sms::MigrationCycle`].
//! - [`dcs`]: DCS v2 online Redis migration bodies — [`dcs::CreateOnlineTaskRequest`],
//!   [`dcs::ConfigureTaskRequest`], [`dcs::MigrationTask`], [`dcs::Job`] and
//!   [`dcs::MigrationStatus`].
//! - [`error`]: the three error body shapes ([`error::SmsErrorBody`], [`error::DcsErrorBody`],
//!   [`error::ApigErrorBody`]) and a lenient [`error::AnyErrorBody`].
//! - [`sms::ConsistencyResults`]: the consistency-check results a cutover gate reads, with
//!   [`sms::ConsistencyResults::verdict`] and a printable [`sms::ConsistencyResults::summary`].
//! - [`http_date`]: the HTTP `Date` header (IMF-fixdate), written by the emulator from its
//!   virtual clock and read by the client to estimate the cloud's time.
//! - [`value`]: [`value::Redacted`] (a secret that travels on the wire but prints `****`) and
//!   [`value::BandwidthMb`].
//!
//! Every enum a service may extend keeps unknown values as `Unknown(String)` and writes them
//! back verbatim; response structs accept missing and `null` fields and ignore unknown ones.
//!
//! ```
//! use migplan_wire::sms::{Task, TaskState};
//! let t: Task = serde_json::from_str(r#"{"id":"t1","name":"web","state":"NEW_STATE","extra":1}"#).unwrap();
//! assert_eq!(t.state, Some(TaskState::Unknown("NEW_STATE".into())));
//! ```

#![deny(missing_docs)]

mod open_enum;

pub mod dcs;
pub mod display_text;
pub mod error;
pub mod http_date;
pub mod signing;
pub mod sms;
pub mod value;

pub use value::Redacted;
