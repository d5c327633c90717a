//! The one error type of this crate: [`Error`], with an [`ErrorKind`].

use std::fmt;
use std::time::Duration;

/// Which API a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// Server Migration Service v3.
    Sms,
    /// Distributed Cache Service v2 (Redis data migration).
    Dcs,
}

impl Service {
    /// Upper-case short name (`SMS`, `DCS`).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Sms => "SMS",
            Service::Dcs => "DCS",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request an [`Error`] belongs to. Only method and path: never the query,
/// headers or body (they may carry names, signatures or Redis passwords).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// Service the request was sent to.
    pub service: Service,
    /// HTTP method.
    pub method: String,
    /// Concrete path, e.g. `/v3/tasks/7a9a…/action`.
    pub path: String,
}

/// An error from the SMS or DCS client: what went wrong ([`ErrorKind`]), the
/// request it belongs to, the service's request id, and how many retries were
/// spent over how long.
///
/// `Display` reads like `SMS POST /v3/tasks failed after 3 retries in 1.2s:
/// 400 SMS.1038 Only running tasks can be paused [request id 3f2…]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct Error {
    /// What went wrong.
    pub kind: Box<ErrorKind>,
    /// The request, when the error belongs to one.
    pub request: Option<RequestInfo>,
    /// `X-Request-Id` of the last response (or `request_id` of its body).
    pub request_id: Option<String>,
    /// Retries spent (attempts minus one).
    pub retries: u32,
    /// Time from the first attempt to the error.
    pub elapsed: Duration,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The service (or its API gateway) answered with an error status.
    #[error("{status} {} {message}", code.as_deref().unwrap_or("(no error code)"))]
    Api {
        /// HTTP status.
        status: u16,
        /// `error_code` (or `code`) of the body, e.g. `SMS.1038`, `DCS.4133`, `APIG.0308`.
        code: Option<String>,
        /// `error_msg` (or `message`) of the body; the body itself when it is not JSON.
        message: String,
    },
    /// The request could not be sent or no complete response came back.
    #[error("transport error: {message}")]
    Transport {
        /// The error and its causes, joined by `: `.
        message: String,
        /// The connection could not be established (nothing was sent).
        connect: bool,
        /// The request timed out.
        timeout: bool,
    },
    /// A success response whose body did not match the expected shape.
    #[error("could not decode the {status} response body as {target}: {message}")]
    Decode {
        /// HTTP status of the response.
        status: u16,
        /// Type that was expected.
        target: &'static str,
        /// Parser message, with quoted values removed.
        message: String,
    },
    /// A request that is not safe to repeat (create, action) may or may not
    /// have been applied: its response was lost or the service failed after
    /// receiving it. It was not retried. Look the object up (by name) before
    /// sending it again.
    #[error("outcome unknown, not retried: {method} {path} may have been applied ({reason})")]
    OutcomeUnknown {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// What happened to the response.
        reason: String,
    },
    /// No credentials were found: not in the environment, and the metadata service is
    /// not enabled. The message names every source of the chain.
    #[error(
        "no credentials: environment: set HW_ACCESS_KEY and HW_SECRET_KEY (or CLOUD_SDK_AK and CLOUD_SDK_SK; \
         with HW_SECURITY_TOKEN for temporary credentials), or MIGPLAN_AUTH_TOKEN; \
         metadata service: not enabled (set MIGPLAN_METADATA=1 on an ECS/CCE runner)"
    )]
    NoCredentials,
    /// A source of credentials was used and failed (the ECS/CCE metadata service did
    /// not answer, refused, or answered something unusable). Never holds a secret.
    #[error("credentials from {source_name}: {message}")]
    CredentialSource {
        /// The source, e.g. `the ECS/CCE metadata service at http://169.254.169.254`.
        source_name: String,
        /// What went wrong.
        message: String,
    },
    /// One half of an AK/SK pair is set and the other is not.
    #[error("{missing} is not set although {present} is")]
    MissingCredential {
        /// The variable that is missing.
        missing: &'static str,
        /// The variable of the pair that is set.
        present: &'static str,
    },
    /// Invalid or missing configuration (endpoint, region, project id…).
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// A request body could not be serialized.
    #[error("could not encode the request body: {message}")]
    Encode {
        /// Serializer message.
        message: String,
    },
    /// A DCS background job ended in failure.
    #[error("DCS job {job_id} ended with status {status}: {reason}")]
    JobFailed {
        /// Job id.
        job_id: String,
        /// Final status (`FAIL`).
        status: String,
        /// `fail_reason` of the job, if any.
        reason: String,
    },
    /// A wait did not reach its target in time.
    #[error("timed out after {:.1}s waiting for {what} (last status {last_status})", waited.as_secs_f64())]
    WaitTimeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        waited: Duration,
        /// The last status seen.
        last_status: String,
    },
}

impl Error {
    /// An error that belongs to no request (configuration, credentials).
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
            request: None,
            request_id: None,
            retries: 0,
            elapsed: Duration::ZERO,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config {
            message: message.into(),
        })
    }

    pub(crate) fn with_request(mut self, request: RequestInfo) -> Self {
        self.request = Some(request);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// HTTP status of an [`ErrorKind::Api`] error.
    pub fn status(&self) -> Option<u16> {
        match *self.kind {
            ErrorKind::Api { status, .. } => Some(status),
            _ => None,
        }
    }

    /// Service error code of an [`ErrorKind::Api`] error (`SMS.1038`, `DCS.4133`, `APIG.0301`…).
    pub fn code(&self) -> Option<&str> {
        match &*self.kind {
            ErrorKind::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The object does not exist: SMS answers 404, DCS answers 400 `DCS.4133`.
    pub fn is_not_found(&self) -> bool {
        match &*self.kind {
            ErrorKind::Api { status, code, .. } => {
                *status == 404
                    || code
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case("DCS.4133"))
            }
            _ => false,
        }
    }

    /// Gateway throttling (429 or `APIG.0308`), still failing after the retries.
    pub fn is_throttled(&self) -> bool {
        match &*self.kind {
            ErrorKind::Api { status, code, .. } => {
                crate::retry::is_throttle(*status, code.as_deref())
            }
            _ => false,
        }
    }

    /// Authentication was rejected (401, e.g. `APIG.0301` for a bad signature or token).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// A create or action may have been applied although it failed; see
    /// [`ErrorKind::OutcomeUnknown`].
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(*self.kind, ErrorKind::OutcomeUnknown { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(req) = &self.request {
            write!(f, "{} {} {} failed ", req.service, req.method, req.path)?;
            if self.retries > 0 {
                let s = if self.retries == 1 {
                    "retry"
                } else {
                    "retries"
                };
                write!(f, "after {} {s} ", self.retries)?;
            }
            write!(f, "in {:.1}s: ", self.elapsed.as_secs_f64())?;
        }
        write!(f, "{}", self.kind)?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        None
    }
}

impl miette::Diagnostic for Error {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let code = match &*self.kind {
            ErrorKind::Api { .. } => "migplan::cloud::api",
            ErrorKind::Transport { .. } => "migplan::cloud::transport",
            ErrorKind::Decode { .. } => "migplan::cloud::decode",
            ErrorKind::OutcomeUnknown { .. } => "migplan::cloud::outcome_unknown",
            ErrorKind::NoCredentials
            | ErrorKind::MissingCredential { .. }
            | ErrorKind::CredentialSource { .. } => "migplan::cloud::credentials",
            ErrorKind::Config { .. } => "migplan::cloud::config",
            ErrorKind::Encode { .. } => "migplan::cloud::encode",
            ErrorKind::JobFailed { .. } => "migplan::cloud::job_failed",
            ErrorKind::WaitTimeout { .. } => "migplan::cloud::wait_timeout",
        };
        Some(Box::new(code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let help = match &*self.kind {
            ErrorKind::OutcomeUnknown { .. } => {
                "look the object up by name (or re-read its state) before sending the request again"
            }
            ErrorKind::NoCredentials | ErrorKind::MissingCredential { .. } => {
                "export HW_ACCESS_KEY/HW_SECRET_KEY (AK/SK signing; plus HW_SECURITY_TOKEN for temporary keys), \
                 MIGPLAN_AUTH_TOKEN (IAM token), or MIGPLAN_METADATA=1 (ECS/CCE metadata service)"
            }
            ErrorKind::CredentialSource { .. } => {
                "on an ECS/CCE runner, check that the server has an agency (Cloud Service Agency); \
                 elsewhere, unset MIGPLAN_METADATA and export HW_ACCESS_KEY/HW_SECRET_KEY"
            }
            ErrorKind::Api { .. } if self.is_throttled() => {
                "the API gateway is throttling: lower the parallelism or raise the retry limits"
            }
            ErrorKind::Api { status: 401, .. } => {
                "check the access key, secret key or token, and that the clock is right (X-Sdk-Date skew)"
            }
            ErrorKind::Transport { connect: true, .. } => "check the endpoint URL and the network",
            _ => return None,
        };
        Some(Box::new(help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<&str>) -> Error {
        Error::new(ErrorKind::Api {
            status,
            code: code.map(str::to_owned),
            message: "m".into(),
        })
    }

    #[test]
    fn helpers() {
        assert!(api(404, None).is_not_found());
        assert!(api(400, Some("DCS.4133")).is_not_found());
        assert!(!api(400, Some("DCS.4957")).is_not_found());
        assert!(api(429, None).is_throttled());
        assert!(api(400, Some("APIG.0308")).is_throttled());
        assert!(!api(500, None).is_throttled());
        assert_eq!(api(401, Some("APIG.0301")).code(), Some("APIG.0301"));
        assert!(api(401, Some("APIG.0301")).is_unauthorized());
        assert_eq!(Error::config("x").code(), None);
    }

    #[test]
    fn display_names_request_retries_and_time() {
        let mut e = api(400, Some("SMS.1038")).with_request(RequestInfo {
            service: Service::Sms,
            method: "POST".into(),
            path: "/v3/tasks".into(),
        });
        e.retries = 3;
        e.elapsed = Duration::from_millis(1234);
        e.request_id = Some("rid-1".into());
        assert_eq!(
            e.to_string(),
            "SMS POST /v3/tasks failed after 3 retries in 1.2s: 400 SMS.1038 m [request id rid-1]"
        );
        e.retries = 0;
        e.request_id = None;
        assert_eq!(
            e.to_string(),
            "SMS POST /v3/tasks failed in 1.2s: 400 SMS.1038 m"
        );
    }

    #[test]
    fn diagnostics_have_codes_and_help() {
        use miette::Diagnostic;
        let e = Error::new(ErrorKind::OutcomeUnknown {
            method: "POST".into(),
            path: "/v3/tasks".into(),
            reason: "connection closed".into(),
        });
        // The inherent `code()` is the service error code; the diagnostic code is separate.
        assert_eq!(e.code(), None);
        assert_eq!(
            Diagnostic::code(&e).map(|c| c.to_string()).as_deref(),
            Some("migplan::cloud::outcome_unknown")
        );
        assert!(e.help().is_some_and(|h| h.to_string().contains("by name")));
        let e = api(429, Some("APIG.0308"));
        assert!(
            e.help()
                .is_some_and(|h| h.to_string().contains("throttling"))
        );
        assert!(Diagnostic::code(&Error::new(ErrorKind::NoCredentials)).is_some());
    }
}
