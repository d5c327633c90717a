//! The HTTP surface: one router serving `/v3/...` (SMS), `/v2/{project_id}/...` (DCS) and
//! `/_emulator/...` (admin), plus the API middleware (auth, faults, request log).

mod dcs;
mod sms;

use crate::admin;
use crate::api_error::{ApiError, Flavor, codes};
use crate::app::{App, LogEntry};
use crate::auth;
use crate::faults::Fault;
use crate::listener::ConnInfo;
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, MatchedPath, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use migplan_wire::error::{ApigErrorBody, DcsErrorBody, SmsErrorBody};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Largest request body accepted.
pub const MAX_BODY: usize = 4 << 20;

/// Shared state type of the router.
pub type AppState = Arc<App>;

/// Builds the whole router.
pub fn router(app: AppState) -> Router {
    let api = Router::new()
        .merge(sms::routes())
        .merge(dcs::routes())
        .layer(middleware::from_fn_with_state(app.clone(), api_middleware));
    Router::new()
        .merge(api)
        .merge(admin::routes())
        .fallback(not_found)
        .with_state(app)
}

async fn not_found(uri: Uri) -> Response {
    let request_id = new_request_id();
    let mut resp = apig_response(
        &ApiError::apig(
            404,
            codes::APIG_NOT_FOUND,
            format!(
                "The API {} does not exist or has not been published",
                uri.path()
            ),
        ),
        &request_id,
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// A fresh `X-Request-Id`.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A JSON response.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        )],
        bytes,
    )
        .into_response()
}

/// `200 {}`.
pub fn ok_empty() -> Response {
    json(200, &serde_json::json!({}))
}

fn apig_response(err: &ApiError, request_id: &str) -> Response {
    json(
        err.status,
        &ApigErrorBody {
            error_msg: err.message.clone(),
            error_code: err.code.clone(),
            request_id: request_id.to_owned(),
        },
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.flavor {
            Flavor::Sms => json(
                self.status,
                &SmsErrorBody {
                    error_code: self.code,
                    error_msg: self.message,
                    ..SmsErrorBody::default()
                },
            ),
            Flavor::Dcs => json(
                self.status,
                &DcsErrorBody {
                    error_msg: self.message,
                    error_code: self.code,
                    error_ext_msg: None,
                },
            ),
            Flavor::Apig => apig_response(&self, &new_request_id()),
        }
    }
}

/// Parses a JSON body; errors name the position, never the content (it may hold passwords).
pub fn body<T: DeserializeOwned>(bytes: &Bytes, flavor: Flavor) -> Result<T, ApiError> {
    let invalid = |msg: String| match flavor {
        Flavor::Dcs => ApiError::dcs(400, codes::DCS_NOT_JSON, msg),
        _ => ApiError::sms_invalid(msg),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("the request body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Data => "has a missing or invalid field",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "is not valid JSON"
            }
            serde_json::error::Category::Io => "could not be read",
        };
        invalid(format!(
            "the request body {kind} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Parses the query string into `T`.
pub fn query<T: DeserializeOwned>(uri: &Uri, flavor: Flavor) -> Result<T, ApiError> {
    Query::<T>::try_from_uri(uri).map(|q| q.0).map_err(|e| {
        let msg = format!("invalid query parameter: {}", e.body_text());
        match flavor {
            Flavor::Dcs => ApiError::dcs_invalid(msg),
            _ => ApiError::sms_invalid(msg),
        }
    })
}

fn dcs_project(path: &str) -> Option<&str> {
    path.strip_prefix("/v2/")
        .and_then(|rest| rest.split('/').next())
}

/// Auth, faults, `X-Request-Id` and the request log for every API request.
async fn api_middleware(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnInfo>>()
        .map(|c| c.0.clone());
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let seq = app.next_seq();
    let virtual_time_ms = app.now();
    let request_id = new_request_id();
    let (parts, body_stream) = req.into_parts();
    let route = matched.unwrap_or_else(|| parts.uri.path().to_owned());
    let bytes = match to_bytes(body_stream, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let operation = route
        .ends_with("/action")
        .then(|| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .flatten()
        .and_then(|v| {
            v.get("operation")
                .and_then(|o| o.as_str().map(str::to_owned))
        });
    let project = dcs_project(parts.uri.path()).map(str::to_owned);
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let mut fault = None;
    let mut response = match auth::check(
        &app,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &bytes,
        project.as_deref(),
    ) {
        Err(e) if e.flavor == Flavor::Apig => apig_response(&e, &request_id),
        Err(e) => e.into_response(),
        Ok(_) => {
            let spec = app.cfg.faults.clone();
            if !spec.latency.is_zero() {
                tokio::time::sleep(spec.latency).await;
            }
            fault = if spec.is_none() {
                None
            } else {
                app.faults().decide()
            };
            match fault {
                Some(Fault::Throttle) => apig_response(
                    &ApiError::apig(
                        429,
                        codes::APIG_THROTTLED,
                        "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute",
                    ),
                    &request_id,
                ),
                Some(Fault::Error) => apig_response(
                    &ApiError::apig(500, codes::APIG_BACKEND, "Backend unavailable"),
                    &request_id,
                ),
                _ => {
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
            }
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    tracing::debug!(%method, %path, status = response.status().as_u16(), ?fault, "api request");
    app.log().record(LogEntry {
        seq,
        virtual_time_ms,
        method,
        path,
        route,
        status: response.status().as_u16(),
        operation,
        fault,
        request_id,
    });
    if fault == Some(Fault::Drop)
        && let Some(c) = conn
    {
        c.kill();
    }
    response
}
