//! Admin endpoints under `/_emulator` (no auth, loopback peers only, never faulted).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/_emulator/health` | `{"ok": true}` |
//! | GET | `/_emulator/stats` | `{"requests_total", "by_route": {"GET /v3/tasks": n}, "by_status", "faults", "now_ms", "time_scale", "sms_migrations": {"running", "max_running", "quota"}}`: `max_running` is the greatest number of SMS migrations that ran at once since the start or reset, `quota` the cap or `null` ([`crate::state::sms_quota`]) |
//! | GET | `/_emulator/requests?since=SEQ` | ordered request log (no bodies, no headers): `seq, virtual_time_ms, method, path, route, status, operation?, fault?, request_id`; `seq` is the log position, so `since=` the last one seen never misses an entry |
//! | POST | `/_emulator/reset` | empty the world (re-apply the seed file), the log and counters; re-seed the fault RNG |
//! | GET | `/_emulator/clock` | `{"now_ms", "time_scale"}` |
//! | POST | `/_emulator/clock/advance` | body `{"seconds": N}`: jump the virtual clock forward |
//! | POST | `/_emulator/fail/{id}` | make an SMS or DCS task fail (now if replicating, else on its next run); 404 for an unknown id |
//! | POST | `/_emulator/sources` | register a source (body of `POST /v3/sources`), answers `{"id"}` |
//! | GET | `/_emulator/state` | the whole world as JSON (the `persist` format), secrets redacted |
//!
//! Errors are JSON `{"error_code", "error_msg"}` like everything else the emulator answers:
//! 400 `EMULATOR.0400` (bad JSON body, bad query, bad path parameter), 403 `EMULATOR.0403`
//! (not a loopback peer), 404 `EMULATOR.0404` (no such endpoint, no such task to fail),
//! 405 `EMULATOR.0405`, 413 `EMULATOR.0413`, 500 `EMULATOR.0500`; a refused registration
//! keeps the SMS code (e.g. `SMS.1001`) in that shape.
//!
//! Secrets never leave through admin endpoints: `/_emulator/state` (and anything else that
//! serialises world data) replaces every value whose key names a secret (`password`,
//! `target_password`, `passphrase`, `token`, `secret`, `sk`, ...) with `"***"`. The request
//! log records no bodies and no headers. The `persist` file keeps the real values (a restart
//! must keep answering them on the API, which echoes DCS passwords like the real service);
//! no admin endpoint serves it and it is written owner-only (0600). With
//! `persist_redacted` it goes through [`redact`] too.

use crate::api_error::{ApiError, Flavor, codes};
use crate::app::App;
use crate::listener::ConnInfo;
use crate::routes::{AppState, Path, json};
use crate::state::{dcs, sms_action, sms_quota, sms_source};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Uri;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

/// The admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/_emulator/health",
            get(|| async { json(200, &serde_json::json!({"ok": true})) }),
        )
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance))
        .route("/_emulator/fail/{id}", post(fail))
        .route("/_emulator/sources", post(register))
        .route("/_emulator/state", get(dump))
        .layer(middleware::from_fn(loopback_only))
}

async fn loopback_only(req: Request, next: Next) -> Response {
    match req.extensions().get::<ConnectInfo<ConnInfo>>() {
        Some(ConnectInfo(c)) if !c.remote.ip().is_loopback() => ApiError::admin(
            403,
            codes::ADMIN_FORBIDDEN,
            "admin endpoints are served to loopback peers only",
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

/// The stats document.
pub fn stats_json(app: &App) -> serde_json::Value {
    let migrations = {
        let mut w = app.world();
        let running = sms_quota::running(&mut w, app.now());
        serde_json::json!({"running": running, "max_running": w.quota.max_running, "quota": w.quota.limit})
    };
    let log = app.log();
    serde_json::json!({
        "requests_total": log.total,
        "by_route": log.by_route,
        "by_status": log.by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "faults": log.faults,
        "now_ms": app.now(),
        "time_scale": app.clock.scale(),
        "sms_migrations": migrations,
    })
}

async fn stats(State(app): State<AppState>) -> Response {
    json(200, &stats_json(&app))
}

#[derive(Deserialize, Default)]
struct Since {
    since: Option<u64>,
}

fn admin_error(e: ApiError) -> ApiError {
    ApiError {
        flavor: Flavor::Admin,
        ..e
    }
}

async fn requests(State(app): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let since = crate::routes::query::<Since>(&uri, Flavor::Admin)?
        .since
        .unwrap_or(0);
    let entries: Vec<serde_json::Value> = {
        let log = app.log();
        log.entries
            .iter()
            .filter(|e| e.seq > since)
            .map(|e| serde_json::to_value(e).unwrap_or_default())
            .collect()
    };
    let mut entries = serde_json::Value::Array(entries);
    redact(&mut entries);
    Ok(json(200, &entries))
}

async fn reset(State(app): State<AppState>) -> Result<Response, ApiError> {
    let world = crate::server::initial_world(&app.cfg, app.now())
        .map_err(|e| ApiError::admin(500, codes::ADMIN_INTERNAL, e.to_string()))?;
    app.reset(world);
    Ok(json(200, &serde_json::json!({"ok": true})))
}

async fn clock(State(app): State<AppState>) -> Response {
    json(
        200,
        &serde_json::json!({"now_ms": app.now(), "time_scale": app.clock.scale()}),
    )
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn advance(State(app): State<AppState>, bytes: Bytes) -> Result<Response, ApiError> {
    let a: Advance = crate::routes::body(&bytes, Flavor::Admin)?;
    if !(a.seconds.is_finite() && a.seconds >= 0.0) {
        return Err(ApiError::admin(
            400,
            codes::ADMIN_BAD_REQUEST,
            "expected {\"seconds\": N} with N >= 0",
        ));
    }
    app.clock.advance_ms((a.seconds * 1000.0) as i64);
    Ok(json(200, &serde_json::json!({"now_ms": app.now()})))
}

async fn fail(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let known = {
        let w = app.world();
        w.tasks.iter().any(|t| t.id == id) || w.dcs_tasks.iter().any(|t| t.id == id)
    };
    if !known {
        return Err(ApiError::admin(
            404,
            codes::ADMIN_NOT_FOUND,
            format!("no SMS or DCS task {id}"),
        ));
    }
    fail_any(&app, &id).map_err(admin_error)?;
    Ok(json(200, &serde_json::json!({"ok": true})))
}

/// Fails an SMS task or, failing that, a DCS task.
pub fn fail_any(app: &App, id: &str) -> Result<(), ApiError> {
    let now = app.now();
    let mut w = app.world();
    if w.tasks.iter().any(|t| t.id == id) {
        sms_action::fail(&mut w, id, now)
    } else {
        dcs::fail(&mut w, id, now)
    }
}

async fn register(State(app): State<AppState>, bytes: Bytes) -> Result<Response, ApiError> {
    let reg = crate::routes::body(&bytes, Flavor::Admin)?;
    let id = sms_source::register(&mut app.world(), reg, None, app.now()).map_err(admin_error)?;
    Ok(json(200, &serde_json::json!({"id": id})))
}

async fn dump(State(app): State<AppState>) -> Response {
    let mut v = serde_json::to_value(&*app.world()).unwrap_or_default();
    redact(&mut v);
    json(200, &v)
}

/// What replaces a secret in admin output.
pub const REDACTED: &str = "***";

/// Whether a JSON key names a secret.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "private_key",
        "credential",
    ]
    .iter()
    .any(|w| k.contains(w))
        || k == "sk"
        || k.ends_with("_sk")
}

/// Replaces, at any depth, every non-null value under a secret-naming key with `"***"`.
pub fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if is_secret_key(k) && !x.is_null() {
                    *x = serde_json::Value::String(REDACTED.into());
                } else {
                    redact(x);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secret_keys_at_any_depth_and_nothing_else() {
        let mut v = serde_json::json!({
            "dcs_tasks": [{"config": {"source_instance": {"addrs": "10.0.0.1:6379", "password": "pw1"},
                                      "target_instance": {"id": "x", "password": null}}}],
            "templates": [{"template": {"name": "t", "target_password": "pw2"}}],
            "x": {"Auth_Token": "tok-1", "sk": "sk-1", "secret_key": "sk-2", "route": "/v3/tasks/{task_id}/passphrase"}
        });
        redact(&mut v);
        let text = v.to_string();
        for secret in ["pw1", "pw2", "tok-1", "sk-1", "sk-2"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(
            v["dcs_tasks"][0]["config"]["source_instance"]["password"],
            REDACTED
        );
        assert!(v["dcs_tasks"][0]["config"]["target_instance"]["password"].is_null());
        assert_eq!(
            v["dcs_tasks"][0]["config"]["source_instance"]["addrs"],
            "10.0.0.1:6379"
        );
        assert_eq!(v["x"]["route"], "/v3/tasks/{task_id}/passphrase");
    }
}
