//! migplan-emulator: a local Huawei Cloud SMS v3 + DCS v2 server for tests, demos and
//! benchmarks, with the real paths, bodies, status codes and error bodies
//! (`shared/api/REFERENCE.md`), AK/SK signature and token checking, state machines on a
//! virtual clock, request counters and fault injection. The official Python SDKs
//! (`huaweicloudsdksms`, `huaweicloudsdkdcs`) drive it in `tests/sdk/`.
//!
//! Principal types: [`EmulatorConfig`] (what to run), [`RunningEmulator`] (a started server:
//! [`RunningEmulator::start`], [`RunningEmulator::base_url`], [`RunningEmulator::shutdown`],
//! [`RunningEmulator::register_source`], [`RunningEmulator::advance`],
//! [`RunningEmulator::fail_task`]), [`FaultSpec`] (parsed from `latency=20ms,throttle=0.1,...`,
//! see [`faults`]) and [`EmulatorError`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), migplan_emulator::EmulatorError> {
//! use migplan_emulator::{EmulatorConfig, RunningEmulator};
//! let mut cfg = EmulatorConfig::new("AK", "SK");
//! cfg.time_scale = 1000.0;
//! let emu = RunningEmulator::start(cfg).await?;
//! let source_id = emu.register_source_named("db-01")?;
//! // point SMS and DCS clients at emu.base_url(), signing with AK/SK
//! emu.shutdown().await?;
//! # let _ = source_id; Ok(()) }
//! ```
//!
//! # Serving
//!
//! One address serves `/v3/...` (SMS), `/v2/{project_id}/...` (DCS) and `/_emulator/...`
//! (admin, see [`admin`]). Every API request needs a valid `SDK-HMAC-SHA256` signature
//! (checked with [`migplan_wire::signing::verify`] against the client's own `SignedHeaders`
//! list, date skew 15 min unless disabled) or `X-Auth-Token` equal to the configured token;
//! otherwise 401 `APIG.0301`. Before that, the body must fit in 4 MiB (else 413) and a DCS
//! path's project id must be 32 lower-case hex characters (else 400 `DCS.4002`); a signed
//! `X-Project-Id` that differs from the DCS path's project gives 401 `DCS.1004`. Every
//! response carries `X-Request-Id` and a `Date` header (RFC 7231 IMF-fixdate) giving the
//! virtual time, truncated to the second, as the real gateways give theirs.
//!
//! Every error answer is JSON, in the body shape of the path's service: `/v3/...` SMS
//! `{"error_code","error_msg"}`, `/v2/...` DCS `{"error_msg","error_code","error_ext_msg":null}`,
//! `/_emulator/...` `{"error_code","error_msg"}`, gateway-level errors (auth, throttling,
//! unknown SMS or other URLs) the API gateway's `{"error_msg","error_code","request_id"}`,
//! which carries the same two SMS fields. That includes what axum itself would answer in
//! plain text or with an empty body (wrong method, path parameters that are not UTF-8, ...)
//! and a panicking handler (500).
//!
//! # Time and state machines
//!
//! Virtual time = start + real elapsed × `time_scale` + admin advances. States are computed
//! lazily from timestamps on each access; nothing ticks. A full copy runs the subtasks
//! `CREATE_CLOUD_SERVER` (60 s, skipped for existing targets), `SSL_CONFIG` (10 s),
//! `ATTACH_AGENT_IMAGE` (30 s), `FORMAT_DISK_*` (30 s), `MIGRATE_*` (the sources' used disk
//! bytes at the effective speed), `CONFIGURE_*` (60 s), `DETTACH_AGENT_IMAGE` (30 s). The
//! effective speed is the speed window covering the virtual time of day, else the task's
//! `speed_limit`, else 1000 Mbit/s. A sync round copies 2 % of the bytes. See
//! [`state::sms_task`], [`state::sms_action`] and [`state::dcs`] for the state tables.
//! Sources whose name starts with `fail-` fail every replication halfway, and those whose name
//! starts with `flaky-` only their first one; `POST /_emulator/fail/{id}` fails one task. A
//! `restart` keeps the replaced run's subtasks in the task's `sub_tasks` (its history) and
//! marks the new run's subtasks `user_op: RESTART`. A task created with
//! `is_need_consistency_check` runs `CONSISTENCY_CHECK` (120 s) after the copy; when it
//! finishes, `GET /v3/tasks/{id}/consistency-result` lists its result (consistent, except for
//! sources whose name starts with `inconsistent-`; see [`state::sms_consistency`]).
//!
//! DCS migrations between real Redis servers (ends mapped by
//! [`EmulatorConfig::redis_instances`] or loopback `addrs` that answer `PING`) copy the data
//! for real and leave `FULLMIGRATING` when the copy is done, not on the clock; an incremental
//! one keeps following the source until stopped. See [`redis_mover`].
//!
//! # Error codes
//!
//! | case | status | code |
//! |---|---|---|
//! | SMS invalid parameter, body, query or path parameter (e.g. `%FF`) | 400 | `SMS.1001` (emulator choice) |
//! | SMS source already has a task | 400 | `SMS.1002` (emulator choice) |
//! | SMS `stop` when not running / `start` not allowed / `restart` not allowed | 400 | `SMS.1038` / `SMS.1039` / `SMS.1040` |
//! | SMS other operation in the wrong state, during a transition (test launch, cutover, ...), after the cutover | 400 | `SMS.2009` |
//! | SMS delete of a running task | 400 | `SMS.2015` |
//! | SMS `start` / `restart` past the account's quota of migrations at once ([`EmulatorConfig::sms_migration_quota`]) | 403 | `SMS.1003` (emulator choice: SMS documents the limit, 100 migrations at the same time, but no code for it; 403 because the v3 API pages document 403 as the refusal of a valid request, and a code of its own so that clients do not take it for a state refusal; see [`state::sms_quota`]) |
//! | SMS unknown source (task create: 400) | 404 | `SMS.2216` |
//! | SMS unknown task / template | 404 | `SMS.2252` / `SMS.2253` |
//! | SMS body over 4 MiB | 413 | `SMS.2004` (legacy SMS code for exactly this, which it answered as 401) |
//! | SMS method not supported by the URL | 405 | `SMS.2003` (legacy "bad HTTP method", answered as 401 back then) |
//! | SMS unknown URL | 404 | `APIG.0101` (gateway; SMS documents no URL-not-found code) |
//! | SMS internal error | 500 | `SMS.2007` (legacy "backend exception") |
//! | DCS unknown task or job | 400 | `DCS.4133` |
//! | DCS operation in the wrong state | 400 | `DCS.4957` |
//! | DCS invalid parameter / body not JSON / empty batch | 400 | `DCS.4800` / `DCS.4005` / `DCS.4855` |
//! | DCS project id in the path not 32 lower-case hex | 400 | `DCS.4002` ("invalid project id format"; 400 rather than 404 because the URL does name a DCS API and DCS has a dedicated code) |
//! | DCS task id / other path parameter malformed (e.g. `%FF`) | 400 | `DCS.4070` / `DCS.4800` |
//! | DCS body over 4 MiB | 413 | `DCS.4800` (DCS documents no size code; its generic "invalid {0} in request") |
//! | DCS unknown URL / method not supported by the URL | 404 / 405 | `DCS.4001` ("URL not found") |
//! | DCS internal error | 500 | `DCS.5000` |
//! | admin: bad JSON, query or path parameter / not loopback / unknown endpoint or task / wrong method / body over 4 MiB / internal | 400 / 403 / 404 / 405 / 413 / 500 | `EMULATOR.0400` / `0403` / `0404` / `0405` / `0413` / `0500` |
//! | other paths: unknown / body over 4 MiB | 404 / 413 | `APIG.0101` / `APIG.0201` |
//! | throttled (at random, or past `ratelimit`, then with `Retry-After`: see [`ratelimit`]) / injected 5xx | 429 / 500 | `APIG.0308` / `APIG.0201` |
//!
//! Refusals name their real cause: an operation blocked by a transition in progress names it
//! ("a test launch of the target server is in progress (source server waiting,
//! migration_cycle testing)"), not the task state it would otherwise be allowed in.
//!
//! Admin endpoints never show secrets: DCS and template passwords (and any other
//! secret-named field) are `"***"` in `/_emulator/state`; the request log holds no bodies or
//! headers. See [`admin`].
//!
//! # Paging
//!
//! Item-offset paging; `count` is the total, an offset past the end gives `[]`. Page sizes
//! (default / max): SMS sources 200/200 (`limit=0` means default), SMS tasks 200/200,
//! templates 50/100, DCS migration tasks 100/1000. [`EmulatorConfig::page_limit_max`] caps
//! them further. Lists are newest first; `name` filters match substrings.
//!
//! # Seed file and persistence
//!
//! See [`seed`] for the seed format. With `persist`, the world and the virtual time are saved
//! as JSON on shutdown and loaded on start (the seed is then not applied again). The file
//! holds the real DCS passwords (the API echoes them after a restart) and is written
//! owner-only (0600), through a temporary file of its own renamed over it, so a reader never
//! sees half a file. [`EmulatorConfig::persist_redacted`] writes `"***"` for every secret
//! instead (what `migplan --local` keeps in a project directory), and
//! [`EmulatorConfig::clock_runs_while_stopped`] lets virtual time run on between a save and
//! the next start. A file that is not a state file of version 1 is
//! [`EmulatorError::State`] naming it.
//!
//! # Concurrency
//!
//! The world is one mutex held for a whole operation, so racing callers see the real
//! service's rules applied one at a time (two creates for one source: one task, one
//! `SMS.1002`; same-named tasks: both created). The request log's `seq` is assigned when an
//! entry is recorded, so it grows in log order and `?since=` pollers never miss one.

#![deny(missing_docs)]

pub mod admin;
pub mod api_error;
mod app;
mod auth;
pub mod clock;
mod config;
mod error;
pub mod faults;
mod listener;
pub mod ratelimit;
pub mod redis_mover;
mod routes;
pub mod seed;
mod server;
pub mod state;

pub use config::EmulatorConfig;
pub use error::EmulatorError;
pub use faults::{FaultSpec, FaultSpecError};
pub use redis_mover::RedisInstance;
pub use server::RunningEmulator;
