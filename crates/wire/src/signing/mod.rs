//! AK/SK request signing, `SDK-HMAC-SHA256`, exactly as the Huawei Cloud SDKs do it.
//!
//! The client side calls [`sign`] with the headers it wants signed (it must include
//! `X-Sdk-Date`, and may include `Host`, `X-Project-Id`, `X-Domain-Id`, ...); the result is
//! the full `Authorization` header value. The server side calls [`verify`], which rebuilds the
//! canonical request from exactly the `SignedHeaders=` list the client chose (the Python SDK
//! signs `host` and `content-type`; Go and Java do not), compares the signature in constant
//! time and checks the date skew.
//!
//! The algorithm (REFERENCE §5.2):
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//! Signature        = hex(hmac_sha256(SK, StringToSign))
//! ```
//!
//! ```
//! use migplan_wire::signing::{sign, SigningRequest};
//! let headers = vec![("X-Sdk-Date".to_string(), "20060102T150405Z".to_string())];
//! let query = vec![("limit".to_string(), "1".to_string())];
//! let req = SigningRequest { method: "GET", path: "/path", query: &query, headers: &headers, body: b"" };
//! let auth = sign("AccessKey", "SecretKey", &req, "20060102T150405Z");
//! assert!(auth.ends_with("Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"));
//! ```

mod verify;

pub use verify::{
    Authorization, CredentialStore, VerifyError, VerifyOptions, parse_authorization, verify,
};

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// The algorithm name that opens the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The header carrying the signing date, `YYYYMMDDTHHMMSSZ` in UTC.
pub const HEADER_SDK_DATE: &str = "X-Sdk-Date";
/// The header carrying the security token of temporary AK/SK credentials. The SDKs add it
/// before signing, so it is one of the signed headers.
pub const HEADER_SECURITY_TOKEN: &str = "X-Security-Token";
/// The header that, when present, replaces the body hash verbatim.
pub const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";
/// The value of [`HEADER_CONTENT_SHA256`] that disables body hashing.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Hex SHA-256 of the empty body.
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Everything of a request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SigningRequest<'a> {
    /// HTTP method, e.g. `GET` (upper-cased when signed).
    pub method: &'a str,
    /// The path, NOT percent-encoded (decode a received path first, see [`decode_path`]).
    pub path: &'a str,
    /// Query parameters as decoded pairs; repeat a key for list values.
    pub query: &'a [(String, String)],
    /// Headers, any case. For [`sign`]: the headers to sign. For [`verify`]: all received
    /// headers (only those named in `SignedHeaders=` are used).
    pub headers: &'a [(String, String)],
    /// The exact body bytes sent.
    pub body: &'a [u8],
}

/// Unreserved characters per the SDK signers: `A-Z a-z 0-9 - _ . ~`; everything else is `%XX`.
const ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment, query key or query value the way the signers do
/// (space becomes `%20`, hex digits upper-case).
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, ENCODE_SET).to_string()
}

/// Decodes a received (percent-encoded) request path into the raw path [`SigningRequest`]
/// expects. Invalid UTF-8 after decoding is replaced, which can only make a signature fail.
pub fn decode_path(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// Parses a received query string (`a=1&b=x%20y`) into decoded pairs (`+` means space).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (decode_query_component(k), decode_query_component(v))
        })
        .collect()
}

fn decode_query_component(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// The canonical URI: each segment encoded, always ending with `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut out = path
        .split('/')
        .map(encode_component)
        .collect::<Vec<_>>()
        .join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

/// The canonical query string: encoded pairs sorted by key then value, joined with `&`.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (encode_component(k), encode_component(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The names [`sign`] signs from a header list: lower-case, sorted, de-duplicated, without
/// `content-type` and without names containing `_` (the Go/Java behaviour).
pub fn signed_header_names(headers: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .filter(|k| k != "content-type" && !k.contains('_'))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The value of a header, case-insensitively (first occurrence).
pub fn header_value<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The payload hash: `X-Sdk-Content-Sha256` verbatim if present, else hex SHA-256 of the body.
pub fn payload_hash(req: &SigningRequest<'_>) -> String {
    match header_value(req.headers, HEADER_CONTENT_SHA256) {
        Some(v) => v.trim().to_owned(),
        None => hex::encode(Sha256::digest(req.body)),
    }
}

/// Builds the canonical request for the given signed header names (lower-case, in order).
///
/// A signed header missing from `req.headers` contributes an empty value here; [`verify`]
/// rejects that case before calling this.
pub fn canonical_request(req: &SigningRequest<'_>, signed_headers: &[String]) -> String {
    canonical_request_with_hash(req, signed_headers, &payload_hash(req))
}

/// [`canonical_request`] with an explicit payload hash.
pub(crate) fn canonical_request_with_hash(
    req: &SigningRequest<'_>,
    signed_headers: &[String],
    payload_hash: &str,
) -> String {
    let mut canonical_headers = String::new();
    for name in signed_headers {
        let value = header_value(req.headers, name).unwrap_or("").trim();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value);
        canonical_headers.push('\n');
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed_headers.join(";"),
        payload_hash,
    )
}

/// The string to sign: algorithm, date and the hex SHA-256 of the canonical request.
pub fn string_to_sign(canonical_request: &str, sdk_date: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn mac(secret_key: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(secret_key.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    }
}

/// Hex HMAC-SHA256 of the string to sign under the secret key.
pub fn signature(secret_key: &str, string_to_sign: &str) -> String {
    let mut m = mac(secret_key);
    m.update(string_to_sign.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Signs a request and returns the whole `Authorization` header value:
/// `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
///
/// The signed headers are [`signed_header_names`] of `req.headers`; `sdk_date` must equal the
/// `X-Sdk-Date` header the caller sends.
pub fn sign(
    access_key: &str,
    secret_key: &str,
    req: &SigningRequest<'_>,
    sdk_date: &str,
) -> String {
    let names = signed_header_names(req.headers);
    let canonical = canonical_request(req, &names);
    let sts = string_to_sign(&canonical, sdk_date);
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={}",
        names.join(";"),
        signature(secret_key, &sts)
    )
}

/// Formats a Unix time (seconds) as an `X-Sdk-Date` value, `YYYYMMDDTHHMMSSZ` in UTC.
pub fn format_sdk_date(unix_seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix_seconds) {
        Ok(t) => format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "19700101T000000Z".to_owned(),
    }
}

/// The current time as an `X-Sdk-Date` value.
pub fn sdk_date_now() -> String {
    format_sdk_date(time::OffsetDateTime::now_utc().unix_timestamp())
}

/// Parses an `X-Sdk-Date` value into Unix seconds.
pub fn parse_sdk_date(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s.trim(), &fmt)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests;
