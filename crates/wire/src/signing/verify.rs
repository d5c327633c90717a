//! Server-side verification of `SDK-HMAC-SHA256` signatures.

use super::{
    ALGORITHM, EMPTY_BODY_SHA256, HEADER_CONTENT_SHA256, HEADER_SDK_DATE, SigningRequest,
    UNSIGNED_PAYLOAD, canonical_request, canonical_request_with_hash, header_value, mac,
    parse_sdk_date, string_to_sign,
};
use hmac::Mac;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Where [`verify`] looks up the secret key of an access key.
pub trait CredentialStore {
    /// The secret key of `access_key`, if it is known.
    fn secret_key(&self, access_key: &str) -> Option<&str>;
}

impl CredentialStore for [(String, String)] {
    fn secret_key(&self, access_key: &str) -> Option<&str> {
        self.iter()
            .find(|(ak, _)| ak == access_key)
            .map(|(_, sk)| sk.as_str())
    }
}

impl CredentialStore for Vec<(String, String)> {
    fn secret_key(&self, access_key: &str) -> Option<&str> {
        self.as_slice().secret_key(access_key)
    }
}

impl CredentialStore for HashMap<String, String> {
    fn secret_key(&self, access_key: &str) -> Option<&str> {
        self.get(access_key).map(String::as_str)
    }
}

impl CredentialStore for BTreeMap<String, String> {
    fn secret_key(&self, access_key: &str) -> Option<&str> {
        self.get(access_key).map(String::as_str)
    }
}

/// How strictly [`verify`] checks the signing date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// "Now", as Unix seconds, that `X-Sdk-Date` is compared with.
    pub now_unix: i64,
    /// Largest accepted difference between `X-Sdk-Date` and `now_unix`, in seconds;
    /// `None` disables the check (tests, replays).
    pub max_skew_seconds: Option<i64>,
}

impl VerifyOptions {
    /// The gateway's usual rule: 15 minutes either way of the current time.
    pub const DEFAULT_MAX_SKEW_SECONDS: i64 = 15 * 60;

    /// Checks the date against the system clock with the default 15-minute skew.
    pub fn now() -> Self {
        VerifyOptions {
            now_unix: time::OffsetDateTime::now_utc().unix_timestamp(),
            max_skew_seconds: Some(Self::DEFAULT_MAX_SKEW_SECONDS),
        }
    }

    /// Checks the date against a fixed "now" with the default skew.
    pub fn at(now_unix: i64) -> Self {
        VerifyOptions {
            now_unix,
            max_skew_seconds: Some(Self::DEFAULT_MAX_SKEW_SECONDS),
        }
    }

    /// Does not check the date at all (it is still part of what is signed).
    pub fn without_skew_check() -> Self {
        VerifyOptions {
            now_unix: 0,
            max_skew_seconds: None,
        }
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self::now()
    }
}

/// Why a request's signature was rejected. Messages never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No `Authorization` header.
    #[error("the request has no Authorization header")]
    MissingAuthorization,
    /// The `Authorization` header could not be parsed.
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    /// The header names another algorithm.
    #[error("unsupported signing algorithm {0:?} (expected SDK-HMAC-SHA256)")]
    UnsupportedAlgorithm(String),
    /// The access key is not known.
    #[error("unknown access key {0:?}")]
    UnknownAccessKey(String),
    /// A header listed in `SignedHeaders=` is not in the request.
    #[error("signed header {0:?} is missing from the request")]
    MissingSignedHeader(String),
    /// No `X-Sdk-Date` header.
    #[error("the request has no X-Sdk-Date header")]
    MissingDate,
    /// `X-Sdk-Date` is not `YYYYMMDDTHHMMSSZ`.
    #[error("X-Sdk-Date is not of the form YYYYMMDDTHHMMSSZ")]
    InvalidDate,
    /// `X-Sdk-Content-Sha256` does not match the body.
    #[error("X-Sdk-Content-Sha256 does not match the body")]
    PayloadHashMismatch,
    /// The signature does not match the request.
    #[error("the signature does not match the request")]
    BadSignature,
    /// `X-Sdk-Date` is too far from the server's clock.
    #[error("X-Sdk-Date is {skew_seconds} s away from the server clock (limit {limit_seconds} s)")]
    DateSkew {
        /// Signed difference, request date minus now.
        skew_seconds: i64,
        /// The allowed difference.
        limit_seconds: i64,
    },
}

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// `Access=`.
    pub access_key: &'a str,
    /// `SignedHeaders=`, split on `;`, lower-cased, in the order given.
    pub signed_headers: Vec<String>,
    /// `Signature=` (hex).
    pub signature: &'a str,
}

/// Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, VerifyError> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once(' ').ok_or(VerifyError::Malformed(
        "expected `SDK-HMAC-SHA256 Access=..., ...`",
    ))?;
    if algorithm != ALGORITHM {
        return Err(VerifyError::UnsupportedAlgorithm(
            algorithm.chars().take(40).collect(),
        ));
    }
    let (mut access, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part
            .split_once('=')
            .ok_or(VerifyError::Malformed("a field has no `=`"))?;
        let slot = match k.trim() {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => return Err(VerifyError::Malformed("unknown field")),
        };
        if slot.replace(v.trim()).is_some() {
            return Err(VerifyError::Malformed("a field appears twice"));
        }
    }
    let access_key = access
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::Malformed("no Access="))?;
    let signed = signed.ok_or(VerifyError::Malformed("no SignedHeaders="))?;
    let signature = sig
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::Malformed("no Signature="))?;
    let signed_headers: Vec<String> = signed
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    Ok(Authorization {
        access_key,
        signed_headers,
        signature,
    })
}

/// Verifies a received request. `req.headers` are all the request's headers; the
/// `Authorization` header is read from them. Returns the access key on success.
///
/// Checks, in order: header syntax, access key known, every signed header present, a valid
/// `X-Sdk-Date`, the body against an explicit `X-Sdk-Content-Sha256`, the signature (constant
/// time), and finally the date skew.
pub fn verify<C: CredentialStore + ?Sized>(
    req: &SigningRequest<'_>,
    credentials: &C,
    options: &VerifyOptions,
) -> Result<String, VerifyError> {
    let header =
        header_value(req.headers, "authorization").ok_or(VerifyError::MissingAuthorization)?;
    let auth = parse_authorization(header)?;
    let secret = credentials.secret_key(auth.access_key).ok_or_else(|| {
        VerifyError::UnknownAccessKey(auth.access_key.chars().take(128).collect())
    })?;
    for name in &auth.signed_headers {
        if header_value(req.headers, name).is_none() {
            return Err(VerifyError::MissingSignedHeader(name.clone()));
        }
    }
    let date = header_value(req.headers, HEADER_SDK_DATE)
        .ok_or(VerifyError::MissingDate)?
        .trim();
    let date_unix = parse_sdk_date(date).ok_or(VerifyError::InvalidDate)?;
    if let Some(claimed) = header_value(req.headers, HEADER_CONTENT_SHA256) {
        let claimed = claimed.trim();
        if claimed != UNSIGNED_PAYLOAD
            && !claimed.eq_ignore_ascii_case(&hex::encode(Sha256::digest(req.body)))
        {
            return Err(VerifyError::PayloadHashMismatch);
        }
    }
    let expected =
        hex::decode(auth.signature).map_err(|_| VerifyError::Malformed("Signature= is not hex"))?;
    let matches = |canonical: &str| {
        let mut m = mac(secret);
        m.update(string_to_sign(canonical, date).as_bytes());
        m.verify_slice(&expected).is_ok()
    };
    // Go and Java hash an explicit X-Sdk-Content-Sha256 even for an empty body; Python uses
    // the empty-body hash then. Accept either for an empty body.
    let signed = matches(&canonical_request(req, &auth.signed_headers))
        || (req.body.is_empty()
            && header_value(req.headers, HEADER_CONTENT_SHA256).is_some()
            && matches(&canonical_request_with_hash(
                req,
                &auth.signed_headers,
                EMPTY_BODY_SHA256,
            )));
    if !signed {
        return Err(VerifyError::BadSignature);
    }
    if let Some(limit) = options.max_skew_seconds {
        let skew = date_unix - options.now_unix;
        if skew.abs() > limit {
            return Err(VerifyError::DateSkew {
                skew_seconds: skew,
                limit_seconds: limit,
            });
        }
    }
    Ok(auth.access_key.to_owned())
}
