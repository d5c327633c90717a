//! The signer test vectors of REFERENCE §5.2 (Go G1/G2, Java J1-J3) and verifier tests.

use super::*;

const AK: &str = "AccessKey";
const SK: &str = "SecretKey";

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sig_of(auth: &str) -> &str {
    auth.rsplit("Signature=").next().unwrap()
}

#[test]
fn g1_get_with_query_ignores_underscore_headers() {
    let headers = h(&[
        ("X-Sdk-Date", "20060102T150405Z"),
        ("TEST_UNDERSCORE", "ignored"),
    ]);
    let query = h(&[("limit", "1")]);
    let req = SigningRequest {
        method: "GET",
        path: "/path",
        query: &query,
        headers: &headers,
        body: b"",
    };
    let names = signed_header_names(&headers);
    assert_eq!(names, vec!["x-sdk-date".to_string()]);
    let canonical = canonical_request(&req, &names);
    assert_eq!(
        canonical,
        "GET\n/path/\nlimit=1\nx-sdk-date:20060102T150405Z\n\nx-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        string_to_sign(&canonical, "20060102T150405Z"),
        "SDK-HMAC-SHA256\n20060102T150405Z\n85c3b7730f308aee452b16138a42a914397e43a8f0d732dfa521c0ef2afa98a4"
    );
    let auth = sign(AK, SK, &req, "20060102T150405Z");
    assert_eq!(
        auth,
        "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"
    );
}

#[test]
fn g2_post_json_body_with_trailing_newline_excludes_content_type() {
    let headers = h(&[
        ("Content-Type", "application/json"),
        ("X-Sdk-Date", "20060102T150405Z"),
    ]);
    let query = h(&[("key", "value")]);
    let body = b"{\"Name\":\"test\",\"Id\":1}\n";
    let req = SigningRequest {
        method: "POST",
        path: "/path",
        query: &query,
        headers: &headers,
        body,
    };
    let auth = sign(AK, SK, &req, "20060102T150405Z");
    assert!(auth.contains("SignedHeaders=x-sdk-date,"), "{auth}");
    assert_eq!(
        sig_of(&auth),
        "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"
    );
}

const J_DATE: &str = "20191115T033655Z";

#[test]
fn j1_get_with_host_and_two_query_params() {
    let headers = h(&[
        ("Host", "service.region.example.com"),
        ("X-Sdk-Date", J_DATE),
    ]);
    let query = h(&[
        ("limit", "2"),
        ("marker", "13551d6b-755d-4757-b956-536f674975c0"),
    ]);
    let req = SigningRequest {
        method: "GET",
        path: "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
        query: &query,
        headers: &headers,
        body: b"",
    };
    let auth = sign(AK, SK, &req, J_DATE);
    assert!(auth.contains("SignedHeaders=host;x-sdk-date,"), "{auth}");
    assert_eq!(
        sig_of(&auth),
        "fd95e7da6f695cfb4cabbb9d6b0968aec155bc576b064835282473539ae9ea1d"
    );
}

#[test]
fn j2_post_with_body() {
    let headers = h(&[
        ("X-Sdk-Date", J_DATE),
        ("Host", "service.region.example.com"),
    ]);
    let req = SigningRequest {
        method: "POST",
        path: "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpc/123",
        query: &[],
        headers: &headers,
        body: b"{\"key\":\"value\"}",
    };
    assert_eq!(
        sig_of(&sign(AK, SK, &req, J_DATE)),
        "b5649aa774f6cac7437631662f08815fc65c70e40e486df6db2436ce68902771"
    );
}

#[test]
fn j3_root_path_with_explicit_host() {
    let headers = h(&[("Host", "example.com"), ("X-Sdk-Date", J_DATE)]);
    let req = SigningRequest {
        method: "GET",
        path: "/",
        query: &[],
        headers: &headers,
        body: b"",
    };
    assert_eq!(canonical_uri("/"), "/");
    assert_eq!(canonical_uri(""), "/");
    assert_eq!(
        sig_of(&sign(AK, SK, &req, J_DATE)),
        "919ad8b75d4ad49da0d377e63ee21c4a7a54b752f6bf2878b4adbe9c19927da6"
    );
}

#[test]
fn encoding_rules() {
    assert_eq!(canonical_uri("/v3/tasks"), "/v3/tasks/");
    assert_eq!(canonical_uri("/a b/ü"), "/a%20b/%C3%BC/");
    assert_eq!(
        canonical_query(&h(&[("b", "2"), ("a", "x y"), ("a", "1"), ("c", "é~-_.")])),
        "a=1&a=x%20y&b=2&c=%C3%A9~-_."
    );
    assert_eq!(
        parse_query("a=x+y&b=%2B1&c&&d="),
        h(&[("a", "x y"), ("b", "+1"), ("c", ""), ("d", "")])
    );
    assert_eq!(decode_path("/v3/a%20b"), "/v3/a b");
}

#[test]
fn dates() {
    assert_eq!(format_sdk_date(1136214245), "20060102T150405Z");
    assert_eq!(parse_sdk_date("20060102T150405Z"), Some(1136214245));
    assert_eq!(parse_sdk_date("2006-01-02"), None);
}

// ---- verification -----------------------------------------------------------------------

struct Signed {
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    path: String,
    body: Vec<u8>,
}

const NOW: i64 = 1136214245; // 20060102T150405Z

/// Signs like the Python SDK: Host and Content-Type are signed too.
fn python_style() -> Signed {
    let mut headers = h(&[
        ("Host", "127.0.0.1:8080"),
        ("Content-Type", "application/json"),
        ("X-Sdk-Date", "20060102T150405Z"),
        ("X-Domain-Id", "domain"),
    ]);
    let query = h(&[("limit", "1"), ("name", "web 01")]);
    let path = "/v3/tasks/abc/action".to_string();
    let body = b"{\"operation\":\"start\"}".to_vec();
    let names: Vec<String> = {
        let mut n: Vec<String> = headers
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .collect();
        n.sort();
        n
    };
    let req = SigningRequest {
        method: "POST",
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
    };
    let sts = string_to_sign(&canonical_request(&req, &names), "20060102T150405Z");
    let auth = format!(
        "SDK-HMAC-SHA256 Access={AK}, SignedHeaders={}, Signature={}",
        names.join(";"),
        signature(SK, &sts)
    );
    headers.push(("Authorization".into(), auth));
    Signed {
        headers,
        query,
        path,
        body,
    }
}

fn creds() -> Vec<(String, String)> {
    vec![(AK.to_string(), SK.to_string())]
}

fn check(s: &Signed, opts: VerifyOptions) -> Result<String, VerifyError> {
    let req = SigningRequest {
        method: "POST",
        path: &s.path,
        query: &s.query,
        headers: &s.headers,
        body: &s.body,
    };
    verify(&req, &creds(), &opts)
}

#[test]
fn verify_accepts_python_style_signed_content_type_and_host() {
    assert_eq!(check(&python_style(), VerifyOptions::at(NOW)).unwrap(), AK);
}

#[test]
fn verify_accepts_go_style_signatures() {
    let mut headers = h(&[
        ("Content-Type", "application/json"),
        ("X-Sdk-Date", "20060102T150405Z"),
    ]);
    let query = h(&[("key", "value")]);
    let body = b"{\"Name\":\"test\",\"Id\":1}\n".to_vec();
    let auth = {
        let req = SigningRequest {
            method: "POST",
            path: "/path",
            query: &query,
            headers: &headers,
            body: &body,
        };
        sign(AK, SK, &req, "20060102T150405Z")
    };
    headers.push(("authorization".into(), auth));
    let s = Signed {
        headers,
        query,
        path: "/path".into(),
        body,
    };
    assert_eq!(check(&s, VerifyOptions::without_skew_check()).unwrap(), AK);
}

#[test]
fn verify_rejects_tampered_body() {
    let mut s = python_style();
    s.body = b"{\"operation\":\"stop\"}".to_vec();
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn verify_rejects_tampered_path() {
    let mut s = python_style();
    s.path = "/v3/tasks/abd/action".into();
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn verify_rejects_tampered_query() {
    let mut s = python_style();
    s.query[0].1 = "2".into();
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::BadSignature)
    );
    let mut s = python_style();
    s.query.push(("offset".into(), "5".into()));
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn verify_rejects_tampered_date_and_signed_header() {
    let mut s = python_style();
    s.headers[2].1 = "20060102T150406Z".into();
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::BadSignature)
    );
    let mut s = python_style();
    s.headers[3].1 = "other-domain".into();
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn verify_checks_date_skew_unless_disabled() {
    let s = python_style();
    match check(&s, VerifyOptions::at(NOW + 16 * 60)) {
        Err(VerifyError::DateSkew {
            skew_seconds,
            limit_seconds,
        }) => {
            assert_eq!(skew_seconds, -16 * 60);
            assert_eq!(limit_seconds, 900);
        }
        other => panic!("expected DateSkew, got {other:?}"),
    }
    assert!(check(&s, VerifyOptions::at(NOW + 14 * 60)).is_ok());
    assert!(check(&s, VerifyOptions::without_skew_check()).is_ok());
}

#[test]
fn verify_typed_errors() {
    let mut s = python_style();
    s.headers.retain(|(k, _)| k != "Host");
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::MissingSignedHeader("host".into()))
    );

    let mut s = python_style();
    s.headers.retain(|(k, _)| k != "Authorization");
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::MissingAuthorization)
    );

    let mut s = python_style();
    let auth = s
        .headers
        .iter_mut()
        .find(|(k, _)| k == "Authorization")
        .unwrap();
    auth.1 = auth.1.replace("Access=AccessKey", "Access=Nobody");
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::UnknownAccessKey("Nobody".into()))
    );

    let mut s = python_style();
    let auth = s
        .headers
        .iter_mut()
        .find(|(k, _)| k == "Authorization")
        .unwrap();
    auth.1 = "Basic dXNlcjpwYXNz".into();
    assert!(matches!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::UnsupportedAlgorithm(_))
    ));

    for bad in [
        "SDK-HMAC-SHA256",
        "SDK-HMAC-SHA256 Access=a",
        "SDK-HMAC-SHA256 Access=a, Signature=zz, SignedHeaders=x",
    ] {
        let mut s = python_style();
        s.headers
            .iter_mut()
            .find(|(k, _)| k == "Authorization")
            .unwrap()
            .1 = bad.into();
        assert!(
            matches!(
                check(&s, VerifyOptions::at(NOW)),
                Err(VerifyError::Malformed(_) | VerifyError::UnknownAccessKey(_))
            ),
            "{bad}"
        );
    }

    // An explicit content hash that does not match the body.
    let mut s = python_style();
    s.headers
        .push((HEADER_CONTENT_SHA256.into(), EMPTY_BODY_SHA256.into()));
    assert_eq!(
        check(&s, VerifyOptions::at(NOW)),
        Err(VerifyError::PayloadHashMismatch)
    );
}

#[test]
fn unsigned_payload_is_honoured_when_signed() {
    let mut headers = h(&[
        ("X-Sdk-Date", "20060102T150405Z"),
        ("X-Sdk-Content-Sha256", UNSIGNED_PAYLOAD),
    ]);
    let body = b"binary".to_vec();
    let auth = {
        let req = SigningRequest {
            method: "PUT",
            path: "/o",
            query: &[],
            headers: &headers,
            body: &body,
        };
        assert!(
            canonical_request(&req, &signed_header_names(&headers)).ends_with("\nUNSIGNED-PAYLOAD")
        );
        sign(AK, SK, &req, "20060102T150405Z")
    };
    headers.push(("Authorization".into(), auth));
    let req = SigningRequest {
        method: "PUT",
        path: "/o",
        query: &[],
        headers: &headers,
        body: b"other",
    };
    assert!(verify(&req, &creds(), &VerifyOptions::at(NOW)).is_ok());
}

#[test]
fn errors_never_show_the_secret_key() {
    let mut s = python_style();
    s.body.push(b' ');
    let err = check(&s, VerifyOptions::at(NOW)).unwrap_err();
    assert!(!err.to_string().contains(SK));
    assert!(!format!("{err:?}").contains(SK));
}

#[test]
fn python_empty_body_with_unsigned_payload_header_is_accepted() {
    // Python signs an empty body with the empty hash even when X-Sdk-Content-Sha256 is set.
    let mut headers = h(&[
        ("X-Sdk-Date", "20060102T150405Z"),
        ("X-Sdk-Content-Sha256", UNSIGNED_PAYLOAD),
        ("Content-Type", "text/plain"),
    ]);
    let names = vec![
        "content-type".to_string(),
        "x-sdk-content-sha256".to_string(),
        "x-sdk-date".to_string(),
    ];
    let req = SigningRequest {
        method: "GET",
        path: "/x",
        query: &[],
        headers: &headers,
        body: b"",
    };
    let canonical = canonical_request_with_hash(&req, &names, EMPTY_BODY_SHA256);
    let sig = signature(SK, &string_to_sign(&canonical, "20060102T150405Z"));
    headers.push((
        "Authorization".into(),
        format!(
            "SDK-HMAC-SHA256 Access={AK}, SignedHeaders={}, Signature={sig}",
            names.join(";")
        ),
    ));
    let req = SigningRequest {
        method: "GET",
        path: "/x",
        query: &[],
        headers: &headers,
        body: b"",
    };
    assert_eq!(verify(&req, &creds(), &VerifyOptions::at(NOW)).unwrap(), AK);
    let req = SigningRequest {
        method: "GET",
        path: "/y",
        query: &[],
        headers: &headers,
        body: b"",
    };
    assert_eq!(
        verify(&req, &creds(), &VerifyOptions::at(NOW)),
        Err(VerifyError::BadSignature)
    );
}

/// Temporary credentials: `X-Security-Token` is a signed header like the scope header. The
/// expected signature was computed independently (Python `hmac`/`hashlib`) from the canonical
/// request `GET\n/v3/sources/\nlimit=1\nx-domain-id:d1\nx-sdk-date:...\nx-security-token:TokenValue\n\n...`.
#[test]
fn security_token_is_a_signed_header() {
    let headers = h(&[
        ("X-Sdk-Date", "20060102T150405Z"),
        ("X-Domain-Id", "d1"),
        (HEADER_SECURITY_TOKEN, "TokenValue"),
    ]);
    let query = h(&[("limit", "1")]);
    let req = SigningRequest {
        method: "GET",
        path: "/v3/sources",
        query: &query,
        headers: &headers,
        body: b"",
    };
    let auth = sign(AK, SK, &req, "20060102T150405Z");
    assert!(
        auth.contains("SignedHeaders=x-domain-id;x-sdk-date;x-security-token"),
        "{auth}"
    );
    assert_eq!(
        sig_of(&auth),
        "45a1b88baaf41d094d54688015f6578295e5d1615dc850ff356da02ee3821a62"
    );
    // A different token is a different signature: the token cannot be swapped.
    let other = h(&[
        ("X-Sdk-Date", "20060102T150405Z"),
        ("X-Domain-Id", "d1"),
        (HEADER_SECURITY_TOKEN, "OtherToken"),
    ]);
    let mut received = other.clone();
    received.push(("authorization".into(), auth));
    let tampered = SigningRequest {
        headers: &received,
        ..req
    };
    assert_eq!(
        verify(&tampered, &creds(), &VerifyOptions::without_skew_check()),
        Err(VerifyError::BadSignature)
    );
}
