//! The HTTP core shared by both clients: URL building, authentication, the
//! retry loop, response decoding, tracing and counters.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::auth::{self, Auth, ToSign};
use crate::config::CloudConfig;
use crate::error::{Error, ErrorKind, RequestInfo, Service};
use crate::error_body::{parse_error_body, redact_quoted};
use crate::gate::{GateAnswer, RequestGate};
use crate::retry::{self, Decision, Failure, Idempotency, OnRetry, RetryNotice, RetryPolicy};
use crate::server_clock::ServerClock;
use crate::stats::{ApiStats, StatsRecorder};

/// Installs ring as the process-wide rustls crypto provider, once. reqwest is
/// built with `rustls-no-provider` and panics without one (CRATES.md §2.2).
/// Idempotent; a provider installed earlier by the application is kept.
pub(crate) fn install_crypto_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // Err only means another provider is installed already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds the one reqwest client both services share (one connection pool).
pub(crate) fn build_http_client(cfg: &CloudConfig) -> Result<reqwest::Client, Error> {
    install_crypto_provider();
    // Proxies come from the configuration only (see `ProxyConfig`), never from reqwest's
    // own reading of the process environment, so what is used is what was configured.
    let mut builder = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.connect_timeout)
        .user_agent(cfg.user_agent.as_str())
        .no_proxy();
    if let Some(p) = &cfg.proxy {
        let no_proxy = p
            .no_proxy
            .as_deref()
            .and_then(reqwest::NoProxy::from_string);
        // The URL may hold proxy credentials: it is not echoed.
        fn bad(var: &'static str) -> impl Fn(reqwest::Error) -> Error {
            move |_| Error::config(format!("the proxy in {var} is not a valid proxy URL"))
        }
        if let Some(url) = &p.https {
            let proxy = reqwest::Proxy::https(url.as_str()).map_err(bad("HTTPS_PROXY"))?;
            builder = builder.proxy(proxy.no_proxy(no_proxy.clone()));
        }
        if let Some(url) = &p.http {
            let proxy = reqwest::Proxy::http(url.as_str()).map_err(bad("HTTP_PROXY"))?;
            builder = builder.proxy(proxy.no_proxy(no_proxy));
        }
    }
    if let Some(path) = &cfg.ca_bundle {
        builder = builder.tls_certs_merge(load_ca_bundle(path)?);
    }
    builder.build().map_err(|e| {
        Error::config(format!(
            "could not build the HTTP client: {}",
            error_chain(&e)
        ))
    })
}

/// Reads a PEM bundle of CA certificates; an unreadable file or one without a
/// certificate is an error naming the file.
pub(crate) fn load_ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, Error> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| Error::config(format!("cannot read the CA bundle {shown}: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| Error::config(format!("the CA bundle {shown} is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "the CA bundle {shown} holds no certificate (expected PEM `BEGIN CERTIFICATE` blocks)"
        )));
    }
    Ok(certs)
}

/// One logical API call, before it is sent (and possibly retried).
#[derive(Debug)]
pub(crate) struct Call {
    pub method: Method,
    /// Path template for counters and logs, e.g. `/v3/tasks/{task_id}`.
    pub route: &'static str,
    /// Concrete raw path (segments not percent-encoded).
    pub path: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// JSON body bytes, if any.
    pub body: Option<Vec<u8>>,
    pub idempotency: Idempotency,
}

impl Call {
    /// A call without body or query. GET, PUT and DELETE are idempotent, POST is not
    /// (use [`idempotent`](Self::idempotent) for POSTs that overwrite a value).
    pub(crate) fn new(method: Method, route: &'static str, path: String) -> Self {
        let idempotency = if method == Method::POST || method == Method::PATCH {
            Idempotency::NonIdempotent
        } else {
            Idempotency::Idempotent
        };
        Self {
            method,
            route,
            path,
            query: Vec::new(),
            body: None,
            idempotency,
        }
    }

    pub(crate) fn get(route: &'static str, path: String) -> Self {
        Self::new(Method::GET, route, path)
    }

    pub(crate) fn post(route: &'static str, path: String) -> Self {
        Self::new(Method::POST, route, path)
    }

    pub(crate) fn put(route: &'static str, path: String) -> Self {
        Self::new(Method::PUT, route, path)
    }

    pub(crate) fn delete(route: &'static str, path: String) -> Self {
        Self::new(Method::DELETE, route, path)
    }

    /// Marks the call as safe to repeat.
    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }

    /// Serializes `body` as the JSON body.
    pub(crate) fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::new(ErrorKind::Encode {
                message: redact_quoted(&e.to_string()),
            })
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Appends query pairs.
    pub(crate) fn query(mut self, pairs: Vec<(String, String)>) -> Self {
        self.query.extend(pairs);
        self
    }

    fn method_str(&self) -> &'static str {
        match self.method.as_str() {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "DELETE" => "DELETE",
            "PATCH" => "PATCH",
            "HEAD" => "HEAD",
            _ => "OTHER",
        }
    }
}

/// Checks an id that becomes a path segment.
pub(crate) fn segment<'a>(what: &str, id: &'a str) -> Result<&'a str, Error> {
    if id.is_empty() || id == "." || id == ".." || id.contains('/') {
        return Err(Error::config(format!("{what} {id:?} is not a valid id")));
    }
    Ok(id)
}

/// A successful response.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
}

/// One service's side of the core: base URL, scope header, credentials, and the
/// shared HTTP client and counters.
#[derive(Debug, Clone)]
pub(crate) struct ServiceCore {
    pub(crate) service: Service,
    http: reqwest::Client,
    base: String,
    auth: Auth,
    scope: Option<(HeaderName, String)>,
    retry: RetryPolicy,
    on_retry: Option<OnRetry>,
    /// The timeouts, to say which one ran out.
    timeout: Duration,
    connect_timeout: Duration,
    pub(crate) stats: Arc<StatsRecorder>,
    /// The cloud's clock, from the `Date` of every answer.
    pub(crate) clock: Arc<ServerClock>,
    pub(crate) page_size: Option<u32>,
    /// Around every HTTP request, if set (see [`crate::gate`]).
    gate: Option<Arc<dyn RequestGate>>,
}

impl ServiceCore {
    pub(crate) fn new(
        service: Service,
        cfg: &CloudConfig,
        http: reqwest::Client,
        stats: Arc<StatsRecorder>,
        clock: Arc<ServerClock>,
    ) -> Result<Self, Error> {
        cfg.auth.validate()?;
        let (base, scope) = match service {
            Service::Sms => (
                cfg.sms_endpoint.clone(),
                cfg.domain_id.clone().map(|d| (auth::X_DOMAIN_ID, d)),
            ),
            Service::Dcs => (
                cfg.dcs_endpoint.clone(),
                cfg.project_id.clone().map(|p| (auth::X_PROJECT_ID, p)),
            ),
        };
        if let Some((_, id)) = &scope
            && (id.is_empty() || HeaderValue::from_str(id).is_err() || id.contains('/'))
        {
            return Err(Error::config(format!("scope id {id:?} is not valid")));
        }
        Ok(Self {
            service,
            http,
            base: base.trim_end_matches('/').to_owned(),
            auth: cfg.auth.clone(),
            scope,
            retry: cfg.retry.clone(),
            on_retry: cfg.on_retry.clone(),
            timeout: cfg.timeout,
            connect_timeout: cfg.connect_timeout,
            stats,
            clock,
            page_size: cfg.page_size,
            gate: None,
        })
    }

    /// The same core with every HTTP request going through `gate`.
    pub(crate) fn with_gate(&self, gate: Arc<dyn RequestGate>) -> Self {
        Self {
            gate: Some(gate),
            ..self.clone()
        }
    }

    /// Tells the gate (if any) how the request admitted with `ticket` was answered.
    fn report(&self, ticket: Option<u64>, answer: GateAnswer) {
        if let (Some(gate), Some(ticket)) = (&self.gate, ticket) {
            gate.answered(self.service, ticket, answer);
        }
    }

    /// Counters of every call made through this core (shared by both services).
    pub(crate) fn stats(&self) -> ApiStats {
        self.stats.snapshot()
    }

    /// Sends a call and decodes the JSON response.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let info = self.info(&call);
        let started = Instant::now();
        let resp = self.send(call).await?;
        serde_json::from_slice(&resp.body).map_err(|e| {
            let mut err = Error::new(ErrorKind::Decode {
                status: resp.status,
                target: std::any::type_name::<T>(),
                message: redact_quoted(&e.to_string()),
            })
            .with_request(info);
            err.request_id = resp.request_id.clone();
            err.elapsed = started.elapsed();
            err
        })
    }

    /// Sends a call whose response body is not needed (`{}`, empty or a string).
    pub(crate) async fn unit(&self, call: Call) -> Result<(), Error> {
        self.send(call).await.map(|_| ())
    }

    fn info(&self, call: &Call) -> RequestInfo {
        RequestInfo {
            service: self.service,
            method: call.method.as_str().to_owned(),
            path: call.path.clone(),
        }
    }

    fn url(&self, call: &Call) -> String {
        use migplan_wire::signing::encode_component;
        let mut url = self.base.clone();
        let encoded: Vec<String> = call.path.split('/').map(encode_component).collect();
        url.push_str(&encoded.join("/"));
        for (i, (k, v)) in call.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&encode_component(k));
            url.push('=');
            url.push_str(&encode_component(v));
        }
        url
    }

    /// Sends a call with retries (see [`crate::retry`] for the policy).
    pub(crate) async fn send(&self, call: Call) -> Result<Response, Error> {
        let span = tracing::debug_span!(
            "cloud_request",
            service = %self.service,
            method = %call.method,
            route = call.route,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let started = Instant::now();
        let (result, requests) = self
            .send_loop(&call, started)
            .instrument(span.clone())
            .await;
        let (status, request_id) = match &result {
            Ok(r) => (Some(r.status), r.request_id.as_deref()),
            Err(e) => (e.status(), e.request_id.as_deref()),
        };
        if let Some(s) = status {
            span.record("status", s);
        }
        if let Some(id) = request_id {
            span.record("request_id", id);
        }
        span.record("attempts", requests);
        self.stats.record(
            self.service,
            call.method_str(),
            call.route,
            u64::from(requests),
            result.is_err(),
        );
        result
    }

    async fn send_loop(&self, call: &Call, started: Instant) -> (Result<Response, Error>, u32) {
        let url = self.url(call);
        let body = call.body.as_deref().unwrap_or_default();
        let mut retries: u32 = 0;
        loop {
            let attempt = retries + 1;
            let ticket = match &self.gate {
                Some(gate) => Some(gate.admit(self.service).await),
                None => None,
            };
            let outcome = self.attempt(call, &url, body).await;
            let (failure_kind, retry_after, request_id) = match outcome {
                Ok(Attempt::Success(resp)) => {
                    self.report(ticket, GateAnswer::Accepted);
                    tracing::debug!(attempt, status = resp.status, request_id = ?resp.request_id, "response");
                    return (Ok(resp), attempt);
                }
                Ok(Attempt::Status {
                    status,
                    body,
                    request_id,
                    retry_after,
                }) => {
                    let parsed = parse_error_body(status, &body);
                    self.report(
                        ticket,
                        if retry::is_throttle(status, parsed.code.as_deref()) {
                            GateAnswer::Throttled {
                                retry_after: retry_after.map(|d| d.min(self.retry.max_delay)),
                            }
                        } else if status >= 500 {
                            GateAnswer::Other
                        } else {
                            GateAnswer::Accepted
                        },
                    );
                    tracing::debug!(attempt, status, code = ?parsed.code, request_id = ?request_id, "error response");
                    let kind = ErrorKind::Api {
                        status,
                        code: parsed.code,
                        message: parsed.message,
                    };
                    (kind, retry_after, request_id.or(parsed.request_id))
                }
                Err(AttemptFailure::Local(err)) => {
                    self.report(ticket, GateAnswer::Other);
                    // Nothing was sent: the request could not be built or signed.
                    let mut err = err.with_request(self.info(call));
                    err.retries = retries;
                    err.elapsed = started.elapsed();
                    return (Err(err), attempt);
                }
                Err(AttemptFailure::Transport(transport)) => {
                    self.report(ticket, GateAnswer::Other);
                    tracing::debug!(attempt, error = %transport.message, connect = transport.connect, "transport error");
                    // Say which timeout ran out, and after how long: "operation timed out"
                    // alone does not tell a user what to change.
                    let message = match self.timeout_text(&transport) {
                        Some(t) => format!("{} ({t})", transport.message),
                        None => transport.message,
                    };
                    let kind = ErrorKind::Transport {
                        message,
                        connect: transport.connect,
                        timeout: transport.timeout,
                    };
                    (kind, None, None)
                }
            };
            let failure = match &failure_kind {
                ErrorKind::Api { status, code, .. } => Failure::Status {
                    status: *status,
                    code: code.as_deref(),
                },
                ErrorKind::Transport { connect: true, .. } => Failure::Connect,
                _ => Failure::Lost,
            };
            let decision = retry::classify(call.idempotency, failure);
            if decision == Decision::Retry && retries < self.retry.max_retries {
                let delay = {
                    let mut rng = rand::rng();
                    self.retry.delay(retries, retry_after, &mut rng)
                };
                tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "retrying");
                if let Some(hook) = &self.on_retry {
                    (hook.0)(&RetryNotice {
                        service: self.service,
                        method: call.method.as_str().to_owned(),
                        path: call.path.clone(),
                        attempt: attempt + 1,
                        max_attempts: self.retry.max_retries + 1,
                        after: self.failure_text(&failure_kind),
                        wait: delay,
                    });
                }
                tokio::time::sleep(delay).await;
                retries += 1;
                continue;
            }
            let kind = if decision == Decision::OutcomeUnknown {
                ErrorKind::OutcomeUnknown {
                    method: call.method.as_str().to_owned(),
                    path: call.path.clone(),
                    reason: failure_kind.to_string(),
                }
            } else {
                failure_kind
            };
            let mut err = Error::new(kind).with_request(self.info(call));
            err.request_id = request_id;
            err.retries = retries;
            err.elapsed = started.elapsed();
            tracing::debug!(attempt, outcome_unknown = err.is_outcome_unknown(), error = %err, "request failed");
            return (Err(err), attempt);
        }
    }

    /// Which timeout a transport failure ran into, with its length, if any.
    fn timeout_text(&self, t: &TransportFailure) -> Option<String> {
        match (t.timeout, t.connect) {
            (true, true) => Some(format!(
                "no connection within {}, the connect timeout",
                secs(self.connect_timeout)
            )),
            (true, false) => Some(format!(
                "no answer within {}, the request timeout",
                secs(self.timeout)
            )),
            _ => None,
        }
    }

    /// What a failed attempt ran into, in a few words, for a [`RetryNotice`].
    fn failure_text(&self, kind: &ErrorKind) -> String {
        match kind {
            ErrorKind::Api { status, code, .. } => {
                let reason = reqwest::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                let mut text = format!("{status} {reason}").trim_end().to_owned();
                if let Some(c) = code {
                    // The code comes from the body: kept short and printable.
                    let c: String = c
                        .chars()
                        .filter(|c| c.is_ascii_graphic())
                        .take(32)
                        .collect();
                    text.push_str(&format!(" ({c})"));
                }
                text
            }
            ErrorKind::Transport {
                timeout: true,
                connect,
                ..
            } => {
                let (what, d) = if *connect {
                    ("no connection", self.connect_timeout)
                } else {
                    ("no answer", self.timeout)
                };
                format!("{what} within {}", secs(d))
            }
            ErrorKind::Transport { connect: true, .. } => "could not connect".into(),
            _ => "the connection was lost".into(),
        }
    }

    async fn attempt(
        &self,
        call: &Call,
        url: &str,
        body: &[u8],
    ) -> Result<Attempt, AttemptFailure> {
        let mut headers = HeaderMap::new();
        if call.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let sdk_date = migplan_wire::signing::sdk_date_now();
        let to_sign = ToSign {
            method: call.method.as_str(),
            path: &call.path,
            query: &call.query,
            body,
            scope: self.scope.as_ref(),
        };
        let current = self.auth.current().await.map_err(AttemptFailure::Local)?;
        auth::authorize(&current, &to_sign, &sdk_date, &mut headers)
            .map_err(AttemptFailure::Local)?;
        let mut req = self.http.request(call.method.clone(), url).headers(headers);
        if call.body.is_some() {
            req = req.body(body.to_vec());
        }
        let resp = req.send().await.map_err(AttemptFailure::from)?;
        if let Some(date) = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
        {
            self.clock.observe(date, Instant::now());
        }
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, time::OffsetDateTime::now_utc()));
        // A body cut off mid-way is a lost response, even after a 2xx status.
        let bytes = resp.bytes().await.map_err(AttemptFailure::from)?;
        if (200..300).contains(&status) {
            Ok(Attempt::Success(Response {
                status,
                body: bytes.to_vec(),
                request_id,
            }))
        } else {
            Ok(Attempt::Status {
                status,
                body: bytes.to_vec(),
                request_id,
                retry_after,
            })
        }
    }
}

enum Attempt {
    Success(Response),
    Status {
        status: u16,
        body: Vec<u8>,
        request_id: Option<String>,
        retry_after: Option<Duration>,
    },
}

struct TransportFailure {
    message: String,
    connect: bool,
    timeout: bool,
}

/// Why an attempt produced no response.
enum AttemptFailure {
    /// The request could not be built or signed; nothing was sent.
    Local(Error),
    /// Sending or receiving failed.
    Transport(TransportFailure),
}

impl From<reqwest::Error> for AttemptFailure {
    fn from(e: reqwest::Error) -> Self {
        if e.is_builder() {
            return AttemptFailure::Local(Error::config(format!(
                "invalid request: {}",
                error_chain(&e)
            )));
        }
        AttemptFailure::Transport(TransportFailure {
            message: error_chain(&e),
            connect: e.is_connect(),
            timeout: e.is_timeout(),
        })
    }
}

/// `1.0 s`, `0.3 s`.
fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// An error and its sources joined by `: ` (reqwest's own `Display` hides the cause).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
