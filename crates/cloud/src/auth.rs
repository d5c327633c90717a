//! Authentication: AK/SK request signing (`SDK-HMAC-SHA256`, with a security token for
//! temporary credentials), credentials from the ECS/CCE metadata service, or an IAM token.

use std::borrow::Cow;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;
use crate::metadata::MetadataCredentials;
use crate::secret::Secret;

/// `X-Sdk-Date` header name.
pub(crate) const X_SDK_DATE: HeaderName = HeaderName::from_static("x-sdk-date");
/// `X-Auth-Token` header name.
pub(crate) const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
/// `X-Project-Id` header name (project-scoped services: DCS).
pub(crate) const X_PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");
/// `X-Domain-Id` header name (global services: SMS).
pub(crate) const X_DOMAIN_ID: HeaderName = HeaderName::from_static("x-domain-id");
/// `X-Security-Token` header name (temporary AK/SK).
pub(crate) const X_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-security-token");

/// How requests are authenticated.
///
/// `Debug` never shows the secret key, the security token or the IAM token (they are
/// [`Secret`]s).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Access key / secret key: every request is signed with `SDK-HMAC-SHA256`
    /// (`X-Sdk-Date` + `Authorization`), as the Huawei Cloud SDKs do.
    AkSk {
        /// Access key id (not secret: it is sent in every `Authorization` header).
        access_key: String,
        /// Secret access key.
        secret_key: Secret,
        /// Security token of temporary credentials, sent (and signed) as
        /// `X-Security-Token`, as the SDKs do.
        security_token: Option<Secret>,
    },
    /// An IAM token sent as `X-Auth-Token`.
    Token(Secret),
    /// Temporary AK/SK + security token read from the ECS/CCE metadata service and
    /// refreshed before they expire (see [`MetadataCredentials`]).
    Metadata(MetadataCredentials),
}

impl Auth {
    /// AK/SK signing with permanent credentials.
    pub fn aksk(access_key: impl Into<String>, secret_key: impl Into<Secret>) -> Self {
        Auth::AkSk {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
        }
    }

    /// AK/SK signing with temporary credentials: every request also carries the
    /// security token in `X-Security-Token` (a signed header).
    pub fn temporary(
        access_key: impl Into<String>,
        secret_key: impl Into<Secret>,
        security_token: impl Into<Secret>,
    ) -> Self {
        Auth::AkSk {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: Some(security_token.into()),
        }
    }

    /// Temporary credentials from the metadata service at `endpoint` (e.g.
    /// `http://169.254.169.254`, [`MetadataCredentials::DEFAULT_ENDPOINT`]).
    pub fn metadata(endpoint: &str) -> Result<Self, Error> {
        MetadataCredentials::new(endpoint).map(Auth::Metadata)
    }

    /// IAM token authentication.
    pub fn token(token: impl Into<Secret>) -> Self {
        Auth::Token(token.into())
    }

    /// Short description for logs: `aksk(AK)`, `aksk(AK)+security-token`, `token` or
    /// `metadata(URL)`.
    pub fn describe(&self) -> String {
        match self {
            Auth::AkSk {
                access_key,
                security_token: None,
                ..
            } => format!("aksk({access_key})"),
            Auth::AkSk { access_key, .. } => format!("aksk({access_key})+security-token"),
            Auth::Token(_) => "token".to_owned(),
            Auth::Metadata(m) => format!("metadata({})", m.endpoint()),
        }
    }

    /// The credentials one request is signed with: `self`, or for [`Auth::Metadata`] the
    /// current temporary credentials (fetched or refreshed first when needed).
    pub(crate) async fn current(&self) -> Result<Cow<'_, Auth>, Error> {
        match self {
            Auth::Metadata(m) => m.current().await.map(Cow::Owned),
            other => Ok(Cow::Borrowed(other)),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = match self {
            Auth::AkSk {
                access_key,
                secret_key,
                security_token,
            } => {
                if access_key.trim().is_empty() {
                    Some("the access key is empty")
                } else if secret_key.is_empty() {
                    Some("the secret key is empty")
                } else if HeaderValue::from_str(access_key).is_err() {
                    Some("the access key contains characters not allowed in a header")
                } else if security_token.as_ref().is_some_and(Secret::is_empty) {
                    Some("the security token is empty")
                } else if security_token
                    .as_ref()
                    .is_some_and(|t| HeaderValue::from_str(t.expose()).is_err())
                {
                    Some("the security token contains characters not allowed in a header")
                } else {
                    None
                }
            }
            Auth::Metadata(_) => None,
            Auth::Token(t) if t.is_empty() => Some("the token is empty"),
            Auth::Token(t) if HeaderValue::from_str(t.expose()).is_err() => {
                Some("the token contains characters not allowed in a header")
            }
            Auth::Token(_) => None,
        };
        bad.map_or(Ok(()), |m| Err(Error::config(m)))
    }
}

/// Everything of one outgoing request that authentication covers.
pub(crate) struct ToSign<'a> {
    pub method: &'a str,
    /// Raw (not percent-encoded) path.
    pub path: &'a str,
    /// Decoded query pairs, in the order they are sent.
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    /// `X-Project-Id` / `X-Domain-Id` to add (and sign).
    pub scope: Option<&'a (HeaderName, String)>,
}

/// Adds the authentication headers for one attempt. `sdk_date` is the
/// `X-Sdk-Date` value (a new one per attempt, so a retried request is not stale).
/// The `Authorization` / `X-Auth-Token` values are marked sensitive, so `http`'s
/// `Debug` prints `Sensitive` instead of them.
pub(crate) fn authorize(
    auth: &Auth,
    req: &ToSign<'_>,
    sdk_date: &str,
    headers: &mut HeaderMap,
) -> Result<(), Error> {
    let header = |v: &str| {
        HeaderValue::from_str(v)
            .map_err(|_| Error::config("a scope id contains characters not allowed in a header"))
    };
    if let Some((name, value)) = req.scope {
        headers.insert(name.clone(), header(value)?);
    }
    match auth {
        Auth::AkSk {
            access_key,
            secret_key,
            security_token,
        } => {
            headers.insert(X_SDK_DATE, header(sdk_date)?);
            // Signed headers, as the Go SDK signs them: X-Sdk-Date, the scope header and
            // X-Security-Token (Content-Type is never signed; Host only when set explicitly).
            let mut signed = vec![("X-Sdk-Date".to_owned(), sdk_date.to_owned())];
            if let Some((name, value)) = req.scope {
                signed.push((name.as_str().to_owned(), value.clone()));
            }
            if let Some(token) = security_token {
                let mut value = HeaderValue::from_str(token.expose()).map_err(|_| {
                    Error::config("the security token contains characters not allowed in a header")
                })?;
                value.set_sensitive(true);
                headers.insert(X_SECURITY_TOKEN, value);
                signed.push((
                    migplan_wire::signing::HEADER_SECURITY_TOKEN.to_owned(),
                    token.expose().to_owned(),
                ));
            }
            let signing = migplan_wire::signing::SigningRequest {
                method: req.method,
                path: req.path,
                query: req.query,
                headers: &signed,
                body: req.body,
            };
            let authz =
                migplan_wire::signing::sign(access_key, secret_key.expose(), &signing, sdk_date);
            let mut value = HeaderValue::from_str(&authz).map_err(|_| {
                Error::config("the signed Authorization header is not a valid header value")
            })?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        Auth::Token(token) => {
            let mut value = HeaderValue::from_str(token.expose()).map_err(|_| {
                Error::config("the token contains characters not allowed in a header")
            })?;
            value.set_sensitive(true);
            headers.insert(X_AUTH_TOKEN, value);
        }
        Auth::Metadata(_) => {
            // `ServiceCore` resolves metadata credentials (`Auth::current`) before signing.
            return Err(Error::config(
                "metadata credentials must be resolved before a request is signed",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aksk_headers_are_signed_and_sensitive() {
        let auth = Auth::aksk("AccessKey", "SecretKey");
        let query = vec![("limit".to_owned(), "1".to_owned())];
        let mut headers = HeaderMap::new();
        let req = ToSign {
            method: "GET",
            path: "/path",
            query: &query,
            body: b"",
            scope: None,
        };
        authorize(&auth, &req, "20060102T150405Z", &mut headers).expect("signs");
        let authz = headers
            .get(reqwest::header::AUTHORIZATION)
            .expect("authorization");
        assert!(authz.is_sensitive());
        // Vector G1 of REFERENCE §5.2.
        assert_eq!(
            authz.to_str().expect("ascii"),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, \
             Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"
        );
        assert!(!format!("{headers:?}").contains("Signature="));
    }

    #[test]
    fn scope_header_is_sent_and_signed() {
        let auth = Auth::aksk("AK", "SK");
        let scope = (X_PROJECT_ID, "p1".to_owned());
        let mut headers = HeaderMap::new();
        let req = ToSign {
            method: "GET",
            path: "/v2/p1/migration-tasks",
            query: &[],
            body: b"",
            scope: Some(&scope),
        };
        authorize(&auth, &req, "20260101T000000Z", &mut headers).expect("signs");
        assert_eq!(
            headers.get(X_PROJECT_ID).map(|v| v.as_bytes()),
            Some(&b"p1"[..])
        );
        let authz = headers
            .get(reqwest::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            authz.contains("SignedHeaders=x-project-id;x-sdk-date"),
            "{authz}"
        );
    }

    #[test]
    fn token_header_is_sensitive_and_debug_is_redacted() {
        let auth = Auth::token("tok-SECRET");
        assert!(!format!("{auth:?}").contains("SECRET"));
        let mut headers = HeaderMap::new();
        let req = ToSign {
            method: "GET",
            path: "/",
            query: &[],
            body: b"",
            scope: None,
        };
        authorize(&auth, &req, "20260101T000000Z", &mut headers).expect("token");
        assert!(
            headers
                .get(X_AUTH_TOKEN)
                .is_some_and(HeaderValue::is_sensitive)
        );
        assert!(headers.get(X_SDK_DATE).is_none());
        assert!(!format!("{headers:?}").contains("SECRET"));
    }

    #[test]
    fn security_token_is_sent_signed_and_sensitive() {
        let auth = Auth::temporary("AccessKey", "SecretKey", "TokenValue");
        let scope = (X_DOMAIN_ID, "d1".to_owned());
        let query = vec![("limit".to_owned(), "1".to_owned())];
        let mut headers = HeaderMap::new();
        let req = ToSign {
            method: "GET",
            path: "/v3/sources",
            query: &query,
            body: b"",
            scope: Some(&scope),
        };
        authorize(&auth, &req, "20060102T150405Z", &mut headers).expect("signs");
        let token = headers.get(X_SECURITY_TOKEN).expect("token header");
        assert!(token.is_sensitive());
        assert_eq!(token.as_bytes(), b"TokenValue");
        // The vector of migplan-wire's `security_token_is_a_signed_header`.
        assert_eq!(
            headers
                .get(reqwest::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            Some(
                "SDK-HMAC-SHA256 Access=AccessKey, \
                 SignedHeaders=x-domain-id;x-sdk-date;x-security-token, \
                 Signature=45a1b88baaf41d094d54688015f6578295e5d1615dc850ff356da02ee3821a62"
            )
        );
        assert!(!format!("{headers:?} {auth:?}").contains("TokenValue"));
        assert!(!format!("{auth:?}").contains("SecretKey"));
        assert_eq!(auth.describe(), "aksk(AccessKey)+security-token");

        // Permanent credentials send no token.
        let mut headers = HeaderMap::new();
        authorize(
            &Auth::aksk("AK", "SK"),
            &req,
            "20060102T150405Z",
            &mut headers,
        )
        .expect("signs");
        assert!(headers.get(X_SECURITY_TOKEN).is_none());
    }

    #[test]
    fn validation() {
        assert!(Auth::temporary("ak", "sk", "").validate().is_err());
        assert!(Auth::temporary("ak", "sk", "a\nb").validate().is_err());
        assert!(Auth::temporary("ak", "sk", "t").validate().is_ok());
        assert!(Auth::aksk("", "sk").validate().is_err());
        assert!(Auth::aksk("ak", "").validate().is_err());
        assert!(Auth::token("").validate().is_err());
        assert!(Auth::token("a\nb").validate().is_err());
        assert!(Auth::aksk("ak", "sk").validate().is_ok());
    }
}
