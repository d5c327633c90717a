//! migplan-cloud: HTTP clients for Huawei Cloud SMS v3 (server migration) and
//! DCS v2 (Redis online migration).
//!
//! # Overview
//!
//! - [`CloudConfig`] holds endpoints, project/domain ids, credentials ([`Auth`]:
//!   AK/SK signing, with a security token for temporary keys, temporary keys from the
//!   ECS/CCE metadata service ([`MetadataCredentials`]), or an IAM token; secrets kept in
//!   [`Secret`]), proxies ([`ProxyConfig`]), an extra CA bundle, the
//!   [`RetryPolicy`], timeouts and page size. [`CloudConfig::from_env`] resolves it
//!   from a region and an injectable environment lookup.
//! - [`Cloud`] builds both clients over one connection pool: [`SmsClient`]
//!   (source servers, tasks, actions, speed limits, templates) and [`DcsClient`]
//!   (online migration tasks, jobs, configure, stop, restart, delete, stats).
//!   Request and response bodies are the shared wire types of [`migplan_wire`].
//! - Every list has a per-page call returning a [`Page`] and a `list_all_*`
//!   helper that walks offset/limit pages with the largest page the API allows.
//! - Every failure is one [`Error`]: an [`ErrorKind`] (`Api { status, code,
//!   message }`, `Transport`, `Decode`, `OutcomeUnknown`, …) plus the request,
//!   the service request id, the retries spent and the time taken. Requests are
//!   retried by the policy in [`retry`]; a create or action whose outcome is
//!   unknown is never repeated.
//! - [`SmsClient::consistency_results`] reads a task's consistency-check results
//!   ([`wire::sms::ConsistencyResults`], with a verdict for a cutover gate).
//! - [`Cloud::cloud_now`] estimates the cloud's current time from the `Date` header of its
//!   answers (the newest one plus the local time since), for decisions on the cloud's clock.
//! - [`Cloud::with_gate`] puts a [`RequestGate`] around every HTTP request (pages and
//!   retries included): a caller's pacing per service, told of each throttling answer.
//! - [`Cloud::stats`] counts calls, HTTP requests and retries per route, and each
//!   request is traced in a `cloud_request` debug span (no headers, bodies or
//!   query strings are logged).
//!
//! # Example
//!
//! ```no_run
//! use migplan_cloud::{Cloud, CloudConfig, Error};
//! use migplan_wire::sms::{ListTasksQuery, Operation};
//!
//! # async fn run() -> Result<(), Error> {
//! let cfg = CloudConfig::from_process_env("ap-southeast-3")?
//!     .with_project_id("0123456789abcdef0123456789abcdef");
//! let cloud = Cloud::new(&cfg)?;
//! for task in cloud.sms().list_all_tasks(&ListTasksQuery::default()).await? {
//!     if task.name == "db-01" {
//!         match cloud.sms().action(&task.id, Operation::Start).await {
//!             Err(e) if e.code() == Some("SMS.1038") => { /* wrong state */ }
//!             other => other?,
//!         }
//!     }
//! }
//! let calls = cloud.stats().total_requests();
//! # let _ = calls;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod auth;
mod client;
mod config;
mod dcs;
mod error;
mod error_body;
pub mod gate;
mod http;
mod metadata;
mod paging;
pub mod retry;
mod secret;
mod server_clock;
mod sms;
mod stats;

pub use auth::Auth;
pub use client::Cloud;
pub use config::{
    CloudConfig, ENV_AKSK_PAIRS, ENV_AUTH_TOKEN, ENV_CA_BUNDLE, ENV_DCS_ENDPOINT, ENV_DOMAIN_ID,
    ENV_METADATA, ENV_METADATA_ENDPOINT, ENV_PROJECT_ID, ENV_SECURITY_TOKEN, ENV_SMS_ENDPOINT,
    ProxyConfig, SMS_REGIONS, dcs_endpoint_for, sms_endpoint_for,
};
pub use dcs::{DcsClient, PollOptions};
pub use error::{Error, ErrorKind, RequestInfo, Service};
pub use gate::{GateAnswer, RequestGate};
pub use metadata::MetadataCredentials;
pub use paging::{
    DCS_TASKS_MAX_LIMIT, Page, SMS_MAX_OFFSET, SMS_SOURCES_MAX_LIMIT, SMS_TASKS_MAX_LIMIT,
    SMS_TEMPLATES_MAX_LIMIT,
};
pub use retry::{Idempotency, OnRetry, RetryNotice, RetryPolicy};
pub use secret::Secret;
pub use sms::SmsClient;
pub use stats::{ApiStats, RouteStats};

/// The wire types of both APIs, re-exported for callers of this crate.
pub use migplan_wire as wire;
