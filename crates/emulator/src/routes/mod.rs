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
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Query, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use migplan_wire::error::{ApigErrorBody, DcsErrorBody, SmsErrorBody};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::pin::Pin;
use std::sync::Arc;

/// Largest request body accepted (4 MiB); larger ones are answered 413.
pub const MAX_BODY: usize = 4 << 20;

/// How much of a too-large body is still read (and thrown away) before answering 413, so the
/// client, still writing, sees the answer rather than a connection reset.
const DRAIN_MAX: usize = 64 << 20;

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
        // The edge reads (and bounds) every body itself; extractors must not re-limit it.
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), edge_middleware))
        .with_state(app)
}

/// Unknown routes: 404 in the body shape of the path's service (`APIG.0101` outside `/v2`
/// and `/_emulator`, `DCS.4001` under `/v2`, `EMULATOR.0404` under `/_emulator`).
async fn not_found(uri: Uri) -> Response {
    ApiError::rejection(
        uri.path(),
        404,
        format!(
            "The API {} does not exist or has not been published",
            uri.path()
        ),
    )
    .into_response()
}

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// The connection failed while reading.
    Unreadable,
}

/// Reads a whole body of at most `limit` bytes. A longer one is read on (and discarded) up
/// to [`DRAIN_MAX`] bytes before [`BodyError::TooLarge`] is returned.
async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break,
            Some(Err(_)) => return Err(BodyError::Unreadable),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue; // trailers
                };
                seen = seen.saturating_add(data.len());
                if seen <= limit {
                    buf.extend_from_slice(&data);
                } else {
                    buf = Vec::new();
                    if seen > DRAIN_MAX {
                        return Err(BodyError::TooLarge);
                    }
                }
            }
        }
    }
    if seen > limit {
        Err(BodyError::TooLarge)
    } else {
        Ok(Bytes::from(buf))
    }
}

fn body_error(path: &str, e: &BodyError) -> ApiError {
    match e {
        BodyError::TooLarge => ApiError::rejection(
            path,
            413,
            format!("the request body exceeds the limit of {MAX_BODY} bytes"),
        ),
        BodyError::Unreadable => {
            ApiError::rejection(path, 400, "the request body could not be read")
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"))
}

/// Cuts a message to the 255 characters SMS and DCS allow.
fn clip(msg: &str) -> String {
    msg.trim().chars().take(255).collect()
}

/// The outermost layer, around every route and the fallback:
///
/// - bounds the body: more than [`MAX_BODY`] bytes is 413 in the path's body shape (before
///   authentication: a signature cannot be checked over a body that is not kept), logged
///   like any API request when the path is `/v2` or `/v3`;
/// - answers a panicking handler with a JSON 500;
/// - turns every error answer that is not JSON (axum's own rejections: 405 with an empty
///   body, path parameters that are not UTF-8, ...) into the path's JSON error body;
/// - makes sure every answer carries `X-Request-Id`;
/// - dates every answer with the virtual clock (`Date`, IMF-fixdate), as Huawei's gateways
///   date theirs with real time (hyper only adds its own, real-time, `Date` when none is set).
async fn edge_middleware(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let flavor = Flavor::for_path(&path);
    let arrival_ms = app.now();
    let (parts, body) = req.into_parts();
    let response = match read_body(body, MAX_BODY).await {
        // On its own task so that a panicking handler still gets an answer (a JSON 500)
        // instead of a closed connection.
        Ok(bytes) => {
            match tokio::spawn(next.run(Request::from_parts(parts, Body::from(bytes)))).await {
                Ok(response) => response,
                Err(e) => {
                    tracing::error!(%path, error = %e, "request handler failed");
                    ApiError::rejection(&path, 500, "internal error").into_response()
                }
            }
        }
        Err(e) => {
            let response = body_error(&path, &e).into_response();
            if matches!(flavor, Flavor::Sms | Flavor::Dcs) {
                let route = parts
                    .extensions
                    .get::<MatchedPath>()
                    .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
                let request_id = response_request_id(&response).unwrap_or_else(new_request_id);
                app.log().record(LogEntry {
                    seq: 0,
                    virtual_time_ms: arrival_ms,
                    method: parts.method.to_string(),
                    path: path.clone(),
                    route,
                    status: response.status().as_u16(),
                    operation: None,
                    fault: None,
                    request_id,
                });
            }
            response
        }
    };
    let mut response = if response.status().as_u16() >= 400 && !is_json(response.headers()) {
        jsonify(response, &path).await
    } else {
        response
    };
    if !response.headers().contains_key("x-request-id")
        && let Ok(v) = HeaderValue::from_str(&new_request_id())
    {
        response.headers_mut().insert("x-request-id", v);
    }
    if let Some(date) = migplan_wire::http_date::format_http_date(app.now())
        && let Ok(v) = HeaderValue::from_str(&date)
    {
        response.headers_mut().insert(header::DATE, v);
    }
    response
}

/// 429 `APIG.0308` for a request over the rate limit, with `Retry-After` (see
/// [`crate::ratelimit`]).
fn ratelimited(limit: u32, wait: std::time::Duration, request_id: &str) -> Response {
    let mut resp = apig_response(
        &ApiError::apig(
            429,
            codes::APIG_THROTTLED,
            format!(
                "The throttling threshold has been reached: policy user over ratelimit,limit:{limit},time:1 second"
            ),
        ),
        request_id,
    );
    let secs = crate::ratelimit::retry_after_secs(wait);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

fn response_request_id(response: &Response) -> Option<String> {
    response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Rewrites a non-JSON error answer (plain text or empty) as the path's JSON error body,
/// keeping its status, `Allow` and `X-Request-Id` headers; the old text becomes the message.
async fn jsonify(response: Response, path: &str) -> Response {
    let status = response.status();
    let (parts, body) = response.into_parts();
    let text = read_body(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let allow = parts
        .headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let message = if !text.trim().is_empty() {
        clip(&text)
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        format!(
            "The method is not allowed for {path}{}",
            allow
                .as_deref()
                .map(|a| format!(" (allowed: {a})"))
                .unwrap_or_default()
        )
    } else {
        status
            .canonical_reason()
            .unwrap_or("request rejected")
            .to_owned()
    };
    let err = ApiError::rejection(path, status.as_u16(), clip(&message));
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(new_request_id, str::to_owned);
    let mut out = if err.flavor == Flavor::Apig {
        apig_response(&err, &request_id)
    } else {
        err.into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        out.headers_mut().insert("x-request-id", v);
    }
    if let Some(v) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, v.clone());
    }
    out
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
            Flavor::Sms | Flavor::Admin => json(
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
            Flavor::Apig => {
                // The body's request_id and the header must agree.
                let request_id = new_request_id();
                let mut resp = apig_response(&self, &request_id);
                if let Ok(v) = HeaderValue::from_str(&request_id) {
                    resp.headers_mut().insert("x-request-id", v);
                }
                resp
            }
        }
    }
}

/// `Path` with errors in the path's JSON body shape instead of axum's plain text: a path
/// parameter that is not UTF-8 (`%FF`) or does not deserialize is 400 `SMS.1001`, DCS
/// `DCS.4070` (task id) / `DCS.4002` (project id) / `DCS.4800` (others), or `EMULATOR.0400`.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rejection) => Err(path_rejection(parts.uri.path(), &rejection)),
        }
    }
}

fn path_rejection(path: &str, rejection: &axum::extract::rejection::PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    let key = match rejection {
        PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
            ErrorKind::InvalidUtf8InPathParam { key }
            | ErrorKind::ParseErrorAtKey { key, .. }
            | ErrorKind::DeserializeError { key, .. } => Some(key.as_str()),
            _ => None,
        },
        _ => None,
    };
    let message = clip(&format!(
        "invalid path parameter{}: {}",
        key.map(|k| format!(" {k}")).unwrap_or_default(),
        rejection.body_text()
    ));
    match Flavor::for_path(path) {
        Flavor::Dcs => {
            let code = match key {
                Some("project_id") => codes::DCS_INVALID_PROJECT,
                Some("task_id") => codes::DCS_INVALID_TASK_ID_FORMAT,
                _ => codes::DCS_INVALID_PARAM,
            };
            ApiError::dcs(400, code, message)
        }
        _ => ApiError::rejection(path, 400, message),
    }
}

/// Parses a JSON body; errors name the position, never the content (it may hold passwords).
pub fn body<T: DeserializeOwned>(bytes: &Bytes, flavor: Flavor) -> Result<T, ApiError> {
    let invalid = |msg: String| match flavor {
        Flavor::Dcs => ApiError::dcs(400, codes::DCS_NOT_JSON, msg),
        Flavor::Admin => ApiError::admin(400, codes::ADMIN_BAD_REQUEST, msg),
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
            Flavor::Admin => ApiError::admin(400, codes::ADMIN_BAD_REQUEST, msg),
            _ => ApiError::sms_invalid(msg),
        }
    })
}

fn dcs_project(path: &str) -> Option<&str> {
    path.strip_prefix("/v2/")
        .and_then(|rest| rest.split('/').next())
}

/// Whether `segment` (the raw, still percent-encoded path segment) is a Huawei project id:
/// 32 lower-case hex characters (what IAM issues and the plan parser normalises to).
pub fn is_project_id(segment: &str) -> bool {
    segment.len() == 32
        && segment
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Path checks made before authentication: a DCS path's project id must be a project id.
/// Anything else (`..%2F..%2Fv3`, upper case, a name) is 400 `DCS.4002` (REFERENCE §4.9:
/// "invalid project id format"), not 404: the URL does match a DCS API, only its project
/// segment is malformed, and DCS has a dedicated code for exactly that.
fn precheck(path: &str) -> Result<(), ApiError> {
    match dcs_project(path) {
        Some(p) if !is_project_id(p) => Err(ApiError::dcs(
            400,
            codes::DCS_INVALID_PROJECT,
            "The project ID in the URL is invalid: expected 32 lower-case hexadecimal characters.",
        )),
        _ => Ok(()),
    }
}

/// Path checks, auth, faults, `X-Request-Id` and the request log for every API request.
async fn api_middleware(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnInfo>>()
        .map(|c| c.0.clone());
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let virtual_time_ms = app.now();
    let request_id = new_request_id();
    let (parts, body_stream) = req.into_parts();
    let route = matched.unwrap_or_else(|| parts.uri.path().to_owned());
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    // The edge already bounded the body; this cannot fail but is handled like it.
    let body = read_body(body_stream, MAX_BODY).await;
    let operation = body
        .as_ref()
        .ok()
        .filter(|_| route.ends_with("/action"))
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .and_then(|v| {
            v.get("operation")
                .and_then(|o| o.as_str().map(str::to_owned))
        });
    let project = dcs_project(&path).map(str::to_owned);
    let mut fault = None;
    let checked = body
        .map_err(|e| body_error(&path, &e))
        .and_then(|bytes| precheck(&path).map(|()| bytes))
        .and_then(|bytes| {
            auth::check(
                &app,
                &parts.method,
                &parts.uri,
                &parts.headers,
                &bytes,
                project.as_deref(),
            )
            .map(|_| bytes)
        });
    let mut response = match checked {
        Err(e) if e.flavor == Flavor::Apig => apig_response(&e, &request_id),
        Err(e) => e.into_response(),
        Ok(bytes) => {
            let spec = app.cfg.faults.clone();
            if !spec.latency.is_zero() {
                tokio::time::sleep(spec.latency).await;
            }
            fault = if spec.is_none() {
                None
            } else {
                app.faults().decide()
            };
            // The gateway's limit comes first; the numbers above are drawn all the same.
            let over = app.over_ratelimit(Flavor::for_path(&path));
            if over.is_some() {
                fault = Some(Fault::RateLimit);
            }
            match fault {
                Some(Fault::RateLimit) => {
                    let (limit, wait) = over.unwrap_or_default();
                    ratelimited(limit, wait, &request_id)
                }
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
    // A gateway-shaped error from a handler already chose its id (it is in its body).
    let request_id = match response_request_id(&response) {
        Some(id) if response.status().as_u16() >= 400 => id,
        _ => request_id,
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    tracing::debug!(%method, %path, status = response.status().as_u16(), ?fault, "api request");
    app.log().record(LogEntry {
        seq: 0,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VirtualClock;
    use crate::config::EmulatorConfig;
    use axum::routing::get;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_gets_a_json_500_in_the_path_shape() {
        let app: AppState = Arc::new(App::new(
            EmulatorConfig::new("AK", "SK"),
            VirtualClock::new(0, 0.0),
            crate::state::World::default(),
        ));
        let router = Router::new()
            .route("/v3/boom", get(boom))
            .route("/v2/{project_id}/boom", get(boom))
            .route("/_emulator/boom", get(boom))
            .layer(middleware::from_fn_with_state(app.clone(), edge_middleware))
            .with_state(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        for (path, code) in [
            ("/v3/boom", "SMS.2007"),
            ("/v2/0123456789abcdef0123456789abcdef/boom", "DCS.5000"),
            ("/_emulator/boom", "EMULATOR.0500"),
        ] {
            let resp = http
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 500, "{path}");
            assert!(resp.headers().contains_key("x-request-id"));
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["error_code"], code, "{path}: {body}");
            assert_eq!(body["error_msg"], "internal error");
        }
        server.abort();
    }
}
