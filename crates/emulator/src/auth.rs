//! Request authentication: a valid AK/SK signature (with the security token when the
//! emulator issues temporary credentials) or the configured IAM token.

use crate::api_error::{ApiError, codes};
use crate::app::App;
use axum::http::{HeaderMap, Method, Uri};
use migplan_wire::signing::{self, SigningRequest, VerifyOptions};

/// Headers as `(name, value)` pairs for the signer (non-UTF-8 bytes are replaced).
pub fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn denied(reason: impl std::fmt::Display) -> ApiError {
    ApiError::apig(
        401,
        codes::APIG_AUTH,
        format!("Incorrect IAM authentication information: {reason}"),
    )
}

/// Checks a request; `project` is the DCS path's project id, if any.
pub fn check(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    project: Option<&str>,
) -> Result<String, ApiError> {
    if let (Some(project), Some(claimed)) = (project, headers.get("x-project-id"))
        && claimed.as_bytes() != project.as_bytes()
    {
        return Err(ApiError::dcs(
            401,
            codes::DCS_PROJECT_MISMATCH,
            "The project ID in the URL does not match the credentials.",
        ));
    }
    if let Some(token) = headers.get("x-auth-token") {
        return match &app.cfg.token {
            Some(expected) if constant_time_eq(expected.as_bytes(), token.as_bytes()) => {
                Ok("token".to_owned())
            }
            _ => Err(denied("the token is invalid")),
        };
    }
    if headers.get("authorization").is_none() {
        return Err(denied("no Authorization or X-Auth-Token header"));
    }
    let pairs = header_pairs(headers);
    let query = signing::parse_query(uri.query().unwrap_or(""));
    let path = signing::decode_path(uri.path());
    let req = SigningRequest {
        method: method.as_str(),
        path: &path,
        query: &query,
        headers: &pairs,
        body,
    };
    let options = if app.cfg.check_date_skew {
        VerifyOptions::now()
    } else {
        VerifyOptions::without_skew_check()
    };
    let access_key = signing::verify(&req, &app.cfg.credentials, &options).map_err(|e| {
        tracing::debug!(error = %e, "signature rejected");
        denied(e)
    })?;
    check_security_token(app.cfg.security_token.as_deref(), headers)?;
    Ok(access_key)
}

/// Temporary credentials: the signed request must carry the security token, signed (the
/// signature was verified already, so a signed token is the one the client sent). Permanent
/// credentials: a request carrying a token is refused, as the gateway does.
fn check_security_token(expected: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let sent = headers.get(signing::HEADER_SECURITY_TOKEN);
    let signed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| signing::parse_authorization(v).ok())
        .is_some_and(|a| a.signed_headers.iter().any(|h| h == "x-security-token"));
    match (expected, sent) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(denied(
            "X-Security-Token was sent, but these are permanent credentials",
        )),
        (Some(_), None) => Err(denied(
            "these are temporary credentials: the request has no X-Security-Token",
        )),
        (Some(_), Some(_)) if !signed => Err(denied("X-Security-Token is not a signed header")),
        (Some(want), Some(got)) if constant_time_eq(want.as_bytes(), got.as_bytes()) => Ok(()),
        (Some(_), Some(_)) => Err(denied("the security token is invalid or expired")),
    }
}
