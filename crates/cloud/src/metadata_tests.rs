//! Metadata credentials over a loopback listener that plays both the metadata service and
//! an API gateway checking every signature, on a virtual clock shared by client and server
//! (no real waiting): first fetch, caching, the refresh 40 minutes before expiry during a
//! long run, one refresh for many concurrent requests, a failed refresh while the current
//! credentials are still valid, the session-token handshake, and errors without secrets.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::{Cloud, CloudConfig, RetryPolicy};
use migplan_wire::signing::{self, SigningRequest, VerifyOptions};
use migplan_wire::sms::ListSourcesQuery;

const T0: i64 = 1_900_000_000;
/// Two hours, so there is a stretch where the first credentials have expired and the second
/// are not yet in their refresh window.
const LIFETIME: i64 = 7200;
/// When less than this is left, the client refreshes.
const WINDOW: i64 = 40 * 60;

/// Credentials number `n` the service hands out: valid from when they are issued for an hour.
fn creds(n: usize) -> (String, String, String) {
    (
        format!("TMP-AK-{n}"),
        format!("TMP-SK-SECRET-{n}"),
        format!("TMP-STS-SECRET-{n}"),
    )
}

#[derive(Default)]
struct Service {
    /// Virtual now, Unix seconds.
    now: AtomicI64,
    /// Security keys issued so far, with their expiry.
    issued: Mutex<Vec<(String, String, String, i64)>>,
    key_requests: AtomicUsize,
    token_requests: AtomicUsize,
    /// The metadata service answers 500 while set.
    failing: AtomicBool,
    /// Access key of every accepted API request, in order.
    accepted: Mutex<Vec<String>>,
    /// API requests refused (bad signature, expired credentials, wrong token).
    refused: AtomicUsize,
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Request {
        method,
        target,
        headers,
    })
}

impl Service {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn answer(&self, req: &Request) -> (u16, String) {
        let header = |name: &str| signing::header_value(&req.headers, name).map(str::to_owned);
        match (req.method.as_str(), req.target.as_str()) {
            ("PUT", "/meta-data/latest/api/token") => {
                self.token_requests.fetch_add(1, Ordering::SeqCst);
                assert_eq!(
                    header("x-metadata-token-ttl-seconds").as_deref(),
                    Some("21600")
                );
                (200, "SESSION-SECRET".into())
            }
            ("GET", "/openstack/latest/securitykey") => {
                self.key_requests.fetch_add(1, Ordering::SeqCst);
                if header("x-metadata-token").as_deref() != Some("SESSION-SECRET") {
                    return (401, "no session token".into());
                }
                if self.failing.load(Ordering::SeqCst) {
                    return (500, "metadata down".into());
                }
                let mut issued = self.issued.lock().expect("lock");
                let (ak, sk, sts) = creds(issued.len());
                let expires = self.now() + LIFETIME;
                let at = time::OffsetDateTime::from_unix_timestamp(expires)
                    .expect("time")
                    .format(&time::format_description::well_known::Rfc3339)
                    .expect("format");
                issued.push((ak.clone(), sk.clone(), sts.clone(), expires));
                let body = serde_json::json!({"credential": {
                    "access": ak, "secret": sk, "securitytoken": sts, "expires_at": at,
                }});
                (200, body.to_string())
            }
            ("GET", target) if target.starts_with("/v3/sources") => {
                // The gateway: a known, unexpired AK, a valid signature, its own token.
                let issued = self.issued.lock().expect("lock").clone();
                let valid: Vec<(String, String)> = issued
                    .iter()
                    .filter(|c| c.3 > self.now())
                    .map(|c| (c.0.clone(), c.1.clone()))
                    .collect();
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let query = signing::parse_query(query);
                let path = signing::decode_path(path);
                let signed = SigningRequest {
                    method: "GET",
                    path: &path,
                    query: &query,
                    headers: &req.headers,
                    body: b"",
                };
                let ok = signing::verify(&signed, &valid, &VerifyOptions::without_skew_check())
                    .ok()
                    .filter(|ak| {
                        issued
                            .iter()
                            .any(|c| &c.0 == ak && header("x-security-token") == Some(c.2.clone()))
                    });
                match ok {
                    Some(ak) => {
                        self.accepted.lock().expect("lock").push(ak);
                        (200, r#"{"count":0,"source_servers":[]}"#.into())
                    }
                    None => {
                        self.refused.fetch_add(1, Ordering::SeqCst);
                        (
                            401,
                            r#"{"error_code":"APIG.0301","error_msg":"denied"}"#.into(),
                        )
                    }
                }
            }
            _ => (404, String::new()),
        }
    }
}

async fn serve() -> (String, Arc<Service>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let svc = Arc::new(Service::default());
    svc.now.store(T0, Ordering::SeqCst);
    let s = Arc::clone(&svc);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                let Some(req) = read_request(&mut sock).await else {
                    return;
                };
                let (status, body) = s.answer(&req);
                let text = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(text.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (base, svc)
}

fn client(base: &str, svc: &Arc<Service>) -> (Cloud, MetadataCredentials) {
    let s = Arc::clone(svc);
    let clock: Clock = Arc::new(move || s.now());
    let meta = MetadataCredentials::with_clock(base, clock).expect("provider");
    let cfg = CloudConfig::local(base, Auth::Metadata(meta.clone()))
        .expect("config")
        .with_project_id("p1")
        .with_retry(RetryPolicy::fast(0));
    (Cloud::new(&cfg).expect("cloud"), meta)
}

async fn call(c: &Cloud) -> Result<(), Error> {
    c.sms()
        .list_all_sources(&ListSourcesQuery::default())
        .await
        .map(|_| ())
}

fn last_ak(svc: &Service) -> String {
    svc.accepted
        .lock()
        .expect("lock")
        .last()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn refreshes_before_expiry_during_a_long_run_and_keeps_signing_valid_requests() {
    let (base, svc) = serve().await;
    let (c, meta) = client(&base, &svc);
    let keys = |s: &Service| s.key_requests.load(Ordering::SeqCst);

    // First use fetches (session token, then the key).
    call(&c).await.expect("first call");
    assert_eq!(
        (keys(&svc), svc.token_requests.load(Ordering::SeqCst)),
        (1, 1)
    );
    assert_eq!(last_ak(&svc), "TMP-AK-0");

    // 80 minutes later 40 minutes are left: cached, no refresh.
    svc.now.store(T0 + LIFETIME - WINDOW, Ordering::SeqCst);
    call(&c).await.expect("cached");
    assert_eq!(keys(&svc), 1, "still cached with exactly 40 min left");
    assert_eq!(last_ak(&svc), "TMP-AK-0");

    // One second later less than 40 minutes are left: refreshed before expiry.
    let refreshed_at = T0 + LIFETIME - WINDOW + 1;
    svc.now.store(refreshed_at, Ordering::SeqCst);
    call(&c).await.expect("refreshed");
    assert_eq!(keys(&svc), 2);
    assert_eq!(last_ak(&svc), "TMP-AK-1");

    // Past the first credentials' expiry: the new ones are in use and still cached.
    svc.now.store(T0 + LIFETIME + 60, Ordering::SeqCst);
    call(&c).await.expect("after the first expiry");
    assert_eq!(keys(&svc), 2);
    assert_eq!(last_ak(&svc), "TMP-AK-1");

    // Many requests at once near the next expiry share one refresh.
    svc.now
        .store(refreshed_at + LIFETIME - 60, Ordering::SeqCst);
    let calls: Vec<_> = (0..8).map(|_| call(&c)).collect();
    for r in futures_util::future::join_all(calls).await {
        r.expect("concurrent call");
    }
    assert_eq!(keys(&svc), 3, "one refresh for eight concurrent requests");
    assert_eq!(last_ak(&svc), "TMP-AK-2");

    // Every request the gateway saw was validly signed with unexpired credentials.
    assert_eq!(svc.refused.load(Ordering::SeqCst), 0);
    assert_eq!(svc.accepted.lock().expect("lock").len(), 12);
    assert!(!format!("{meta:?} {c:?}").contains("SECRET"));
}

#[tokio::test]
async fn a_failed_refresh_keeps_valid_credentials_and_fails_once_they_expire() {
    let (base, svc) = serve().await;
    let (c, _) = client(&base, &svc);
    call(&c).await.expect("first call");

    // In the refresh window, the service fails: the current credentials are still used.
    svc.failing.store(true, Ordering::SeqCst);
    svc.now.store(T0 + LIFETIME - 120, Ordering::SeqCst);
    call(&c).await.expect("still valid");
    assert_eq!(
        svc.key_requests.load(Ordering::SeqCst),
        2,
        "a refresh was tried"
    );
    assert_eq!(last_ak(&svc), "TMP-AK-0");

    // Expired and the service still fails: the call fails, naming the source, no secret.
    svc.now.store(T0 + LIFETIME + 1, Ordering::SeqCst);
    let err = call(&c).await.expect_err("expired");
    assert!(
        matches!(&*err.kind, ErrorKind::CredentialSource { source_name, message }
            if source_name.contains(&base) && message.contains("500")),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(!text.contains("SECRET"), "{text}");
    assert_eq!(
        svc.refused.load(Ordering::SeqCst),
        0,
        "nothing unsigned was sent"
    );

    // The service recovers: new credentials.
    svc.failing.store(false, Ordering::SeqCst);
    call(&c).await.expect("recovered");
    assert_eq!(last_ak(&svc), "TMP-AK-1");
}

#[test]
fn unusable_answers_are_named_errors_without_secrets() {
    let m = MetadataCredentials::new("http://127.0.0.1:1").expect("provider");
    for body in [
        "not json SECRET".to_owned(),
        r#"{"nothing":1}"#.to_owned(),
        r#"{"credential":{"access":"AK","secret":"SECRET-sk","securitytoken":"SECRET-t"}}"#
            .to_owned(),
        r#"{"credential":{"access":"AK","secret":"SECRET-sk","expires_at":"2030-01-01T00:00:00Z"}}"#
            .to_owned(),
        r#"{"credential":{"access":"AK","secret":"SECRET-sk","securitytoken":"SECRET-t","expires_at":"SECRET-date"}}"#
            .to_owned(),
    ] {
        let Err(err) = m.parse(body.as_bytes()) else {
            panic!("accepted {body}");
        };
        assert!(matches!(&*err.kind, ErrorKind::CredentialSource { .. }));
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err}");
    }
    let ok = m
        .parse(
            br#"{"credential":{"access":"AK","secret":"SECRET-sk","securitytoken":"SECRET-t","expires_at":"2030-01-01T00:00:00.000000Z"}}"#,
        )
        .expect("valid");
    assert_eq!(ok.expires_at, 1_893_456_000);
    assert_eq!(ok.auth(), Auth::temporary("AK", "SECRET-sk", "SECRET-t"));
}

#[test]
fn endpoint_is_checked_and_debug_shows_only_it() {
    assert!(MetadataCredentials::new("ftp://x").is_err());
    assert!(MetadataCredentials::new("http://u:p@h").is_err());
    let m = MetadataCredentials::new("http://127.0.0.1:8/").expect("ok");
    assert_eq!(m.endpoint(), "http://127.0.0.1:8");
    assert_eq!(
        format!("{:?}", Auth::Metadata(m.clone())),
        "Metadata(MetadataCredentials { endpoint: \"http://127.0.0.1:8\", .. })"
    );
    assert_eq!(Auth::Metadata(m).describe(), "metadata(http://127.0.0.1:8)");
}
