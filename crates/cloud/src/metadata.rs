//! [`MetadataCredentials`]: temporary AK/SK + security token from the ECS/CCE metadata
//! service, as the official SDKs' metadata provider reads them, refreshed before expiry.
//!
//! The protocol (huaweicloud-sdk-go-v3 `core/auth/internal/metadata_accessor.go`):
//!
//! 1. `PUT {endpoint}/meta-data/latest/api/token` with `X-Metadata-Token-Ttl-Seconds`:
//!    200 gives a session token sent as `X-Metadata-Token` on the next call; 404/405 means
//!    the service has no session tokens (older hosts) and the call goes without one.
//! 2. `GET {endpoint}/openstack/latest/securitykey` answers
//!    `{"credential": {"access", "secret", "securitytoken", "expires_at"}}`.
//!    A 401 mentioning "Cloud Service Agency" means the server has no agency attached.
//!
//! Credentials are fetched on first use and again when less than
//! [`REFRESH_BEFORE`](MetadataCredentials::REFRESH_BEFORE) (40 minutes, the SDKs'
//! threshold) is left before `expires_at`. If a refresh fails while the cached credentials
//! are still valid, they are used and the failure is logged; once they have expired the
//! failure is the request's error. Concurrent requests share one refresh.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// Unix seconds "now"; injectable so tests need no real waiting.
pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

const TOKEN_PATH: &str = "/meta-data/latest/api/token";
const SECURITY_KEY_PATH: &str = "/openstack/latest/securitykey";
const TOKEN_TTL_SECONDS: &str = "21600"; // 6 h, as the SDKs ask
const NO_AGENCY: &str = "Cloud Service Agency";

/// Temporary credentials from the ECS/CCE metadata service. Cheap to clone (shared cache).
///
/// `Debug` shows the endpoint only; the credentials themselves are [`Secret`]s and never
/// appear in `Debug`, logs or errors.
#[derive(Clone)]
pub struct MetadataCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: String,
    http: reqwest::Client,
    clock: Clock,
    state: tokio::sync::Mutex<Option<Temporary>>,
}

/// One set of temporary credentials.
#[derive(Clone)]
struct Temporary {
    access: String,
    secret: Secret,
    token: Secret,
    expires_at: i64,
}

#[derive(Deserialize)]
struct SecurityKeyResponse {
    credential: Option<WireCredential>,
}

#[derive(Deserialize)]
struct WireCredential {
    access: Option<String>,
    secret: Option<String>,
    securitytoken: Option<String>,
    expires_at: Option<String>,
}

impl MetadataCredentials {
    /// The metadata service of ECS and CCE nodes.
    pub const DEFAULT_ENDPOINT: &'static str = "http://169.254.169.254";
    /// Refresh when less than this is left before `expires_at` (the SDKs' 40 minutes).
    pub const REFRESH_BEFORE: Duration = Duration::from_secs(40 * 60);
    /// Connect timeout of a metadata call: the service is link-local, so a host without
    /// it fails fast instead of waiting for the API timeout.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    /// Whole-call timeout of a metadata call (the Go SDK uses 3 s).
    pub const TIMEOUT: Duration = Duration::from_secs(5);

    /// A provider reading `endpoint` (scheme, host and port; the paths are appended). No
    /// request is made until credentials are first needed.
    pub fn new(endpoint: &str) -> Result<Self, Error> {
        let clock: Clock = Arc::new(|| time::OffsetDateTime::now_utc().unix_timestamp());
        Self::with_clock(endpoint, clock)
    }

    pub(crate) fn with_clock(endpoint: &str, clock: Clock) -> Result<Self, Error> {
        let endpoint = crate::config::normalize_endpoint(endpoint, "metadata endpoint")?;
        crate::http::install_crypto_provider();
        // Never through a proxy: the service is link-local to this host.
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Self::CONNECT_TIMEOUT)
            .timeout(Self::TIMEOUT)
            .build()
            .map_err(|e| Error::config(format!("could not build the metadata client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                http,
                clock,
                state: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The metadata service base URL.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    fn source_name(&self) -> String {
        format!("the ECS/CCE metadata service at {}", self.inner.endpoint)
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::CredentialSource {
            source_name: self.source_name(),
            message: message.into(),
        })
    }

    /// The credentials to sign the next request with, fetched or refreshed when needed.
    pub(crate) async fn current(&self) -> Result<Auth, Error> {
        let mut state = self.inner.state.lock().await;
        let now = (self.inner.clock)();
        let refresh_before = Self::REFRESH_BEFORE.as_secs() as i64;
        if let Some(t) = state.as_ref()
            && t.expires_at - now >= refresh_before
        {
            return Ok(t.auth());
        }
        match self.fetch().await {
            Ok(fresh) => {
                tracing::debug!(
                    endpoint = %self.inner.endpoint,
                    access_key = %fresh.access,
                    expires_in_s = fresh.expires_at - now,
                    "temporary credentials from the metadata service"
                );
                let auth = fresh.auth();
                *state = Some(fresh);
                Ok(auth)
            }
            Err(e) => match state.as_ref() {
                Some(t) if t.expires_at > now => {
                    tracing::warn!(error = %e, expires_in_s = t.expires_at - now, "could not refresh the metadata credentials; using the current ones until they expire");
                    Ok(t.auth())
                }
                _ => Err(e),
            },
        }
    }

    async fn fetch(&self) -> Result<Temporary, Error> {
        let base = &self.inner.endpoint;
        let transport = |e: reqwest::Error| {
            let what = if e.is_connect() {
                "could not connect (is this an ECS/CCE host?)"
            } else if e.is_timeout() {
                "timed out"
            } else {
                "the call failed"
            };
            self.error(format!("{what}: {}", crate::http::error_chain(&e)))
        };
        // 1. A session token, if the service issues them.
        let resp = self
            .inner
            .http
            .put(format!("{base}{TOKEN_PATH}"))
            .header("X-Metadata-Token-Ttl-Seconds", TOKEN_TTL_SECONDS)
            .send()
            .await
            .map_err(transport)?;
        let session = match resp.status() {
            StatusCode::OK => Some(Secret::new(
                resp.text().await.map_err(transport)?.trim().to_owned(),
            )),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => None,
            other => {
                return Err(self.error(format!("{TOKEN_PATH} answered {other}")));
            }
        };
        // 2. The security key.
        let mut req = self.inner.http.get(format!("{base}{SECURITY_KEY_PATH}"));
        if let Some(s) = session.as_ref().filter(|s| !s.is_empty()) {
            let mut value = reqwest::header::HeaderValue::from_str(s.expose())
                .map_err(|_| self.error("the session token is not a valid header value"))?;
            value.set_sensitive(true);
            req = req.header("X-Metadata-Token", value);
        }
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(transport)?;
        if status == StatusCode::UNAUTHORIZED && String::from_utf8_lossy(&body).contains(NO_AGENCY)
        {
            return Err(self
                .error("the server has no agency: attach one (Cloud Service Agency) to the ECS"));
        }
        if !status.is_success() {
            // The body is not echoed: it could hold anything.
            return Err(self.error(format!("{SECURITY_KEY_PATH} answered {status}")));
        }
        self.parse(&body)
    }

    fn parse(&self, body: &[u8]) -> Result<Temporary, Error> {
        let bad = |what: &str| self.error(format!("{SECURITY_KEY_PATH}: {what}"));
        // serde's message could quote a value (a secret): it is not shown.
        let parsed: SecurityKeyResponse =
            serde_json::from_slice(body).map_err(|_| bad("the answer is not the expected JSON"))?;
        let c = parsed.credential.ok_or_else(|| bad("no `credential`"))?;
        let nonempty = |v: Option<String>, field: &str| {
            v.filter(|s| !s.trim().is_empty())
                .ok_or_else(|| bad(&format!("no `credential.{field}`")))
        };
        let access = nonempty(c.access, "access")?;
        let secret = Secret::new(nonempty(c.secret, "secret")?);
        let token = Secret::new(nonempty(c.securitytoken, "securitytoken")?);
        let expires_raw = nonempty(c.expires_at, "expires_at")?;
        let expires_at = time::OffsetDateTime::parse(
            expires_raw.trim(),
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| bad("`credential.expires_at` is not an RFC 3339 time"))?
        .unix_timestamp();
        let t = Temporary {
            access: access.trim().to_owned(),
            secret,
            token: Secret::new(token.expose().trim()),
            expires_at,
        };
        t.auth()
            .validate()
            .map_err(|e| bad(&format!("unusable credentials: {e}")))?;
        Ok(t)
    }
}

impl Temporary {
    fn auth(&self) -> Auth {
        Auth::temporary(self.access.clone(), self.secret.clone(), self.token.clone())
    }
}

impl fmt::Debug for MetadataCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataCredentials")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

impl PartialEq for MetadataCredentials {
    fn eq(&self, other: &Self) -> bool {
        self.inner.endpoint == other.inner.endpoint
    }
}

impl Eq for MetadataCredentials {}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
