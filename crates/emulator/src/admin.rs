//! Admin endpoints under `/_emulator` (no auth, loopback peers only, never faulted).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/_emulator/health` | `{"ok": true}` |
//! | GET | `/_emulator/stats` | `{"requests_total", "by_route": {"GET /v3/tasks": n}, "by_status", "faults", "now_ms", "time_scale"}` |
//! | GET | `/_emulator/requests?since=SEQ` | ordered request log: `seq, virtual_time_ms, method, path, route, status, operation?, fault?, request_id` |
//! | POST | `/_emulator/reset` | empty the world (re-apply the seed file), the log and counters; re-seed the fault RNG |
//! | GET | `/_emulator/clock` | `{"now_ms", "time_scale"}` |
//! | POST | `/_emulator/clock/advance` | body `{"seconds": N}`: jump the virtual clock forward |
//! | POST | `/_emulator/fail/{id}` | make an SMS or DCS task fail (now if replicating, else on its next run) |
//! | POST | `/_emulator/sources` | register a source (body of `POST /v3/sources`), answers `{"id"}` |
//! | GET | `/_emulator/state` | the whole world as JSON (the `persist` format) |

use crate::api_error::ApiError;
use crate::app::App;
use crate::listener::ConnInfo;
use crate::routes::{AppState, json};
use crate::state::{dcs, sms_action, sms_source};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{StatusCode, Uri};
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
        Some(ConnectInfo(c)) if !c.remote.ip().is_loopback() => (
            StatusCode::FORBIDDEN,
            "admin endpoints are served to loopback peers only",
        )
            .into_response(),
        _ => next.run(req).await,
    }
}

/// The stats document.
pub fn stats_json(app: &App) -> serde_json::Value {
    let log = app.log();
    serde_json::json!({
        "requests_total": log.total,
        "by_route": log.by_route,
        "by_status": log.by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "faults": log.faults,
        "now_ms": app.now(),
        "time_scale": app.clock.scale(),
    })
}

async fn stats(State(app): State<AppState>) -> Response {
    json(200, &stats_json(&app))
}

#[derive(Deserialize, Default)]
struct Since {
    since: Option<u64>,
}

async fn requests(State(app): State<AppState>, uri: Uri) -> Response {
    let since = axum::extract::Query::<Since>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default()
        .since
        .unwrap_or(0);
    let log = app.log();
    let entries: Vec<_> = log.entries.iter().filter(|e| e.seq > since).collect();
    json(200, &entries)
}

async fn reset(State(app): State<AppState>) -> Result<Response, Response> {
    let world = crate::server::initial_world(&app.cfg, app.now())
        .map_err(|e| json(500, &serde_json::json!({"error": e.to_string()})))?;
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

async fn advance(State(app): State<AppState>, bytes: Bytes) -> Response {
    match serde_json::from_slice::<Advance>(&bytes) {
        Ok(a) if a.seconds.is_finite() && a.seconds >= 0.0 => {
            app.clock.advance_ms((a.seconds * 1000.0) as i64);
            json(200, &serde_json::json!({"now_ms": app.now()}))
        }
        _ => json(
            400,
            &serde_json::json!({"error": "expected {\"seconds\": N} with N >= 0"}),
        ),
    }
}

async fn fail(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    fail_any(&app, &id)?;
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
    let reg = crate::routes::body(&bytes, crate::api_error::Flavor::Sms)?;
    let id = sms_source::register(&mut app.world(), reg, None, app.now())?;
    Ok(json(200, &serde_json::json!({"id": id})))
}

async fn dump(State(app): State<AppState>) -> Response {
    let w = app.world();
    json(200, &*w)
}
