//! Transport edge cases the emulator cannot produce on demand (non-JSON bodies,
//! `Retry-After`, a connection closed after the request was read), served by a
//! scripted raw HTTP/1.1 server on 127.0.0.1. Lifecycle tests against the real
//! emulator live in `tests/emulator.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{Auth, Cloud, CloudConfig, ErrorKind, RetryPolicy};
use migplan_wire::sms::{CreateTaskRequest, ListTasksQuery, Operation};

/// What the server does with one request.
#[derive(Clone)]
enum Reply {
    /// Status, extra headers, body.
    Status(u16, &'static str, &'static str),
    /// Read the request, then close the connection without answering.
    Drop,
}

struct Received {
    method: String,
    raw_path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn serve(script: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(Mutex::new(Vec::new()));
    let (h, r) = (Arc::clone(&hits), Arc::clone(&received));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let Some(req) = read_request(&mut sock).await else {
                continue;
            };
            let n = h.fetch_add(1, Ordering::SeqCst);
            r.lock().expect("lock").push(req);
            let reply = script
                .get(n)
                .or(script.last())
                .cloned()
                .unwrap_or(Reply::Drop);
            match reply {
                Reply::Drop => drop(sock),
                Reply::Status(status, headers, body) => {
                    let text = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\nX-Request-Id: req-{n}\r\n{headers}\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(text.as_bytes()).await;
                    let _ = sock.shutdown().await;
                }
            }
        }
    });
    Server {
        base,
        hits,
        received,
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let raw_path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        method,
        raw_path,
        headers,
        body,
    })
}

const SK: &str = "SK-never-printed-123";

fn cloud(base: &str, retries: u32) -> Cloud {
    let cfg = CloudConfig::local(base, Auth::aksk("AK1", SK))
        .expect("config")
        .with_project_id("proj1")
        .with_domain_id("dom1")
        .with_retry(RetryPolicy::fast(retries));
    Cloud::new(&cfg).expect("cloud")
}

fn create_req() -> CreateTaskRequest {
    CreateTaskRequest {
        name: "web-01".into(),
        ..CreateTaskRequest::default()
    }
}

const EMPTY_LIST: Reply = Reply::Status(200, "", r#"{"count":0,"tasks":[]}"#);

#[tokio::test]
async fn get_is_retried_through_429_503_and_a_dropped_response() {
    let srv = serve(vec![
        Reply::Status(
            429,
            "Retry-After: 0\r\n",
            r#"{"error_code":"APIG.0308","error_msg":"throttled"}"#,
        ),
        Reply::Status(503, "", "<html>unavailable</html>"),
        Reply::Drop,
        EMPTY_LIST,
    ])
    .await;
    let c = cloud(&srv.base, 4);
    let tasks = c
        .sms()
        .list_all_tasks(&ListTasksQuery::default())
        .await
        .expect("list");
    assert!(tasks.is_empty());
    assert_eq!(srv.hits.load(Ordering::SeqCst), 4);
    let s = c.stats().route("SMS GET /v3/tasks");
    assert_eq!((s.calls, s.requests, s.retries, s.errors), (1, 4, 3, 0));
}

#[tokio::test]
async fn each_retry_is_announced_with_its_cause_and_wait() {
    let srv = serve(vec![
        Reply::Status(
            429,
            "Retry-After: 0\r\n",
            r#"{"error_code":"APIG.0308","error_msg":"throttled"}"#,
        ),
        Reply::Status(503, "", "<html>unavailable</html>"),
        Reply::Drop,
        EMPTY_LIST,
    ])
    .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let cfg = CloudConfig::local(&srv.base, Auth::aksk("AK1", SK))
        .expect("config")
        .with_project_id("proj1")
        .with_retry(RetryPolicy::fast(4))
        .with_on_retry(move |n| record.lock().expect("lock").push(n.to_string()));
    let c = Cloud::new(&cfg).expect("cloud");
    c.sms()
        .list_all_tasks(&ListTasksQuery::default())
        .await
        .expect("list");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen[0].starts_with(
            "retrying GET /v3/tasks (attempt 2 of 5, after 429 Too Many Requests (APIG.0308); waiting 0.0 s"
        ),
        "{seen:?}"
    );
    assert!(
        seen[1].starts_with(
            "retrying GET /v3/tasks (attempt 3 of 5, after 503 Service Unavailable; waiting "
        ),
        "{seen:?}"
    );
    assert!(
        seen[2].contains("attempt 4 of 5, after the connection was lost"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_naming_the_timeout() {
    // Accepts, reads, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let cfg = CloudConfig::local(&base, Auth::aksk("AK1", SK))
        .expect("config")
        .with_project_id("proj1")
        .with_retry(RetryPolicy::fast(1))
        .with_timeout(Duration::from_millis(200))
        .with_on_retry(move |n| record.lock().expect("lock").push(n.to_string()));
    let c = Cloud::new(&cfg).expect("cloud");
    let err = c
        .sms()
        .list_all_tasks(&ListTasksQuery::default())
        .await
        .expect_err("times out")
        .to_string();
    assert!(
        err.contains("no answer within 0.2 s, the request timeout"),
        "{err}"
    );
    assert!(err.contains(&base), "names the endpoint: {err}");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("after no answer within 0.2 s"), "{seen:?}");
}

#[tokio::test]
async fn retries_are_capped_and_the_last_error_is_reported() {
    let srv = serve(vec![Reply::Status(
        500,
        "",
        r#"{"error_code":"SMS.2007","error_msg":"backend exception"}"#,
    )])
    .await;
    let c = cloud(&srv.base, 2);
    let err = c.sms().show_task("t1").await.expect_err("500s");
    assert_eq!(srv.hits.load(Ordering::SeqCst), 3);
    assert_eq!(err.retries, 2);
    assert_eq!(err.code(), Some("SMS.2007"));
    assert_eq!(err.request_id.as_deref(), Some("req-2"));
    let text = err.to_string();
    assert!(
        text.starts_with("SMS GET /v3/tasks/t1 failed after 2 retries in "),
        "{text}"
    );
    assert!(
        text.contains(": 500 SMS.2007 backend exception [request id req-2]"),
        "{text}"
    );
}

#[tokio::test]
async fn create_is_not_repeated_after_a_5xx_or_a_lost_response() {
    for first in [Reply::Status(502, "", "bad gateway"), Reply::Drop] {
        let srv = serve(vec![first, Reply::Status(200, "", r#"{"id":"dup"}"#)]).await;
        let c = cloud(&srv.base, 5);
        let err = c
            .sms()
            .create_task(&create_req())
            .await
            .expect_err("unknown outcome");
        assert!(err.is_outcome_unknown(), "{err}");
        assert!(
            matches!(&*err.kind, ErrorKind::OutcomeUnknown { method, path, .. } if method == "POST" && path == "/v3/tasks")
        );
        assert_eq!(
            srv.hits.load(Ordering::SeqCst),
            1,
            "a create must not be sent twice"
        );
        assert_eq!(err.retries, 0);

        // The same holds for actions.
        let srv = serve(vec![Reply::Drop, Reply::Status(200, "", "{}")]).await;
        let c = cloud(&srv.base, 5);
        let err = c
            .sms()
            .action("t1", Operation::Start)
            .await
            .expect_err("unknown");
        assert!(err.is_outcome_unknown());
        assert_eq!(srv.hits.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn create_is_retried_after_429_and_honours_retry_after() {
    let srv = serve(vec![
        Reply::Status(
            429,
            "Retry-After: 1\r\n",
            r#"{"error_code":"APIG.0308","error_msg":"slow down"}"#,
        ),
        Reply::Status(200, "", r#"{"id":"task-1"}"#),
    ])
    .await;
    let c = cloud(&srv.base, 3);
    let started = Instant::now();
    let id = c.sms().create_task(&create_req()).await.expect("created");
    assert_eq!(id, "task-1");
    assert_eq!(srv.hits.load(Ordering::SeqCst), 2);
    // RetryPolicy::fast caps delays at 20 ms, so Retry-After: 1 is capped too…
    assert!(started.elapsed() < Duration::from_secs(1));

    // …while a policy with room for it waits the full second.
    let srv = serve(vec![
        Reply::Status(429, "Retry-After: 1\r\n", "{}"),
        Reply::Status(200, "", r#"{"id":"task-2"}"#),
    ])
    .await;
    let cfg = CloudConfig::local(&srv.base, Auth::token("tok"))
        .expect("config")
        .with_project_id("p")
        .with_retry(RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
        });
    let c = Cloud::new(&cfg).expect("cloud");
    let started = Instant::now();
    assert_eq!(
        c.sms().create_task(&create_req()).await.expect("created"),
        "task-2"
    );
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn client_errors_are_not_retried_and_keep_the_body() {
    let srv = serve(vec![Reply::Status(400, "", "plain text failure")]).await;
    let c = cloud(&srv.base, 5);
    let err = c.dcs().show_task("x").await.expect_err("400");
    assert_eq!(srv.hits.load(Ordering::SeqCst), 1);
    assert!(
        matches!(&*err.kind, ErrorKind::Api { status: 400, code: None, message } if message == "plain text failure")
    );

    let srv = serve(vec![Reply::Status(
        400,
        "",
        r#"{"error_msg":"Instance job is not found.","error_code":"DCS.4133","error_ext_msg":null}"#,
    )])
    .await;
    let err = cloud(&srv.base, 5)
        .dcs()
        .show_task("x")
        .await
        .expect_err("400");
    assert!(err.is_not_found());
}

#[tokio::test]
async fn refused_connections_are_retried_even_for_creates() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        l.local_addr().expect("addr").port()
    };
    let c = cloud(&format!("http://127.0.0.1:{port}"), 2);
    let err = c
        .sms()
        .create_task(&create_req())
        .await
        .expect_err("refused");
    assert!(
        matches!(&*err.kind, ErrorKind::Transport { connect: true, .. }),
        "{err:?}"
    );
    assert_eq!(err.retries, 2);
}

#[tokio::test]
async fn requests_are_signed_verifiably_and_carry_scope_headers() {
    use migplan_wire::signing::{VerifyOptions, decode_path, header_value, parse_query, verify};
    let srv = serve(vec![Reply::Status(200, "", "{}")]).await;
    let c = cloud(&srv.base, 0);
    c.sms()
        .action("id with space+plus", Operation::Test)
        .await
        .expect("action");
    let _ = c
        .dcs()
        .list_tasks_page(Some("név ünicode&x=1"), 0, 10)
        .await;
    let creds = vec![("AK1".to_owned(), SK.to_owned())];
    let received = srv.received.lock().expect("lock");
    assert_eq!(received.len(), 2);
    for (i, r) in received.iter().enumerate() {
        let (path, query) = r.raw_path.split_once('?').unwrap_or((&r.raw_path, ""));
        let decoded = decode_path(path);
        let pairs = parse_query(query);
        let req = migplan_wire::signing::SigningRequest {
            method: &r.method,
            path: &decoded,
            query: &pairs,
            headers: &r.headers,
            body: &r.body,
        };
        assert_eq!(
            verify(&req, &creds, &VerifyOptions::now()).as_deref(),
            Ok("AK1"),
            "request {i}"
        );
        assert!(header_value(&r.headers, "x-sdk-date").is_some());
    }
    let sms = &received[0];
    assert_eq!(
        decode_path(&sms.raw_path),
        "/v3/tasks/id with space+plus/action"
    );
    assert_eq!(header_value(&sms.headers, "x-domain-id"), Some("dom1"));
    assert_eq!(header_value(&sms.headers, "x-project-id"), None);
    assert_eq!(sms.body, br#"{"operation":"test"}"#);
    let dcs = &received[1];
    assert_eq!(header_value(&dcs.headers, "x-project-id"), Some("proj1"));
    assert!(dcs.raw_path.starts_with("/v2/proj1/migration-tasks?"));
    let pairs = parse_query(dcs.raw_path.split_once('?').map_or("", |(_, q)| q));
    assert!(pairs.contains(&("name".to_owned(), "név ünicode&x=1".to_owned())));
}

#[tokio::test]
async fn token_auth_sends_x_auth_token_only() {
    use migplan_wire::signing::header_value;
    let srv = serve(vec![EMPTY_LIST]).await;
    let cfg = CloudConfig::local(&srv.base, Auth::token("TOKEN-XYZ"))
        .expect("config")
        .with_project_id("p");
    let c = Cloud::new(&cfg).expect("cloud");
    c.sms()
        .list_tasks_page(&ListTasksQuery::default(), 0, 5)
        .await
        .expect("list");
    let received = srv.received.lock().expect("lock");
    assert_eq!(
        header_value(&received[0].headers, "x-auth-token"),
        Some("TOKEN-XYZ")
    );
    assert_eq!(header_value(&received[0].headers, "authorization"), None);
    assert!(!format!("{c:?} {cfg:?}").contains("TOKEN-XYZ"));
}

#[tokio::test]
async fn secrets_never_reach_debug_or_errors() {
    let srv = serve(vec![Reply::Status(
        401,
        "",
        r#"{"error_code":"APIG.0301","error_msg":"Incorrect IAM authentication information"}"#,
    )])
    .await;
    let c = cloud(&srv.base, 3);
    let err = c.sms().show_task("t").await.expect_err("401");
    assert_eq!(srv.hits.load(Ordering::SeqCst), 1);
    assert!(err.is_unauthorized());
    for text in [format!("{err}"), format!("{err:?}"), format!("{c:?}")] {
        assert!(!text.contains(SK), "{text}");
        assert!(!text.contains("Signature="), "{text}");
    }
}

#[tokio::test]
async fn decode_errors_do_not_echo_values() {
    let srv = serve(vec![Reply::Status(
        200,
        "",
        r#"{"count":"hunter2","tasks":[]}"#,
    )])
    .await;
    let err = cloud(&srv.base, 0)
        .sms()
        .list_tasks_page(&ListTasksQuery::default(), 0, 1)
        .await
        .expect_err("bad body");
    assert!(
        matches!(&*err.kind, ErrorKind::Decode { status: 200, .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}

/// Captures every tracing event (all crates, TRACE level) of one test.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn traces_name_the_route_but_never_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let srv = serve(vec![
        Reply::Status(503, "", "busy"),
        Reply::Status(200, "", r#"{"id":"x","name":"n","status":"RUNNING"}"#),
    ])
    .await;
    let c = cloud(&srv.base, 2);
    let req = migplan_wire::dcs::ConfigureTaskRequest {
        migration_method: migplan_wire::dcs::MigrationMethod::FullAmount,
        resume_mode: migplan_wire::dcs::ResumeMode::Auto,
        bandwidth_limit_mb: None,
        source_instance: migplan_wire::dcs::ConfigInstance {
            addrs: Some("10.0.0.1:6379".into()),
            password: Some(migplan_wire::Redacted::new("REDIS-PW-secret")),
            ..Default::default()
        },
        target_instance: migplan_wire::dcs::ConfigInstance::default(),
    };
    // A POST that gets a 503 is not repeated; the second call succeeds.
    assert!(
        c.dcs()
            .configure_task("t1", &req)
            .await
            .expect_err("503")
            .is_outcome_unknown()
    );
    c.dcs()
        .configure_task("t1", &req)
        .await
        .expect("configured");
    let _ = c.sms().show_task("t2").await;

    let logs = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("utf8");
    assert!(logs.contains("cloud_request"), "{logs}");
    assert!(
        logs.contains("/v2/{project_id}/migration/{task_id}/task"),
        "{logs}"
    );
    assert!(logs.contains("status=503"), "{logs}");
    assert!(logs.contains("outcome_unknown=true"), "{logs}");
    for secret in [SK, "REDIS-PW-secret", "Signature=", "Access=AK1"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
    // And the body did reach the server.
    let received = srv.received.lock().expect("lock");
    assert!(String::from_utf8_lossy(&received[0].body).contains("REDIS-PW-secret"));
}

fn with_proxy(endpoint: &str, proxy: &str, no_proxy: Option<&str>) -> Cloud {
    let mut cfg = CloudConfig::local(endpoint, Auth::aksk("AK1", SK))
        .expect("config")
        .with_project_id("proj1")
        .with_retry(RetryPolicy::fast(0));
    let env = |name: &str| match name {
        "HTTP_PROXY" => Some(proxy.to_owned()),
        "NO_PROXY" => no_proxy.map(str::to_owned),
        _ => None,
    };
    cfg.proxy = crate::ProxyConfig::from_env(&env);
    Cloud::new(&cfg).expect("cloud")
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy_unless_no_proxy_matches() {
    // The proxy is a loopback listener; the endpoint's host is never resolved or contacted.
    let proxy = serve(vec![EMPTY_LIST]).await;
    let c = with_proxy("http://sms.proxied.invalid:8080", &proxy.base, None);
    c.sms()
        .list_tasks_page(&ListTasksQuery::default(), 0, 10)
        .await
        .expect("through the proxy");
    {
        let got = proxy.received.lock().expect("lock");
        assert_eq!(got.len(), 1);
        // An HTTP proxy gets the absolute URL, still signed.
        assert!(
            got[0]
                .raw_path
                .starts_with("http://sms.proxied.invalid:8080/v3/tasks?"),
            "{}",
            got[0].raw_path
        );
        assert!(
            got[0]
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        );
    }

    // NO_PROXY: the endpoint's host goes direct.
    let direct = serve(vec![EMPTY_LIST]).await;
    let c = with_proxy(&direct.base, &proxy.base, Some("example.com,127.0.0.1"));
    c.sms()
        .list_tasks_page(&ListTasksQuery::default(), 0, 10)
        .await
        .expect("direct");
    assert_eq!(direct.hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        proxy.hits.load(Ordering::SeqCst),
        1,
        "the proxy saw nothing more"
    );

    // Without NO_PROXY even a loopback endpoint goes through the proxy.
    let c = with_proxy(&direct.base, &proxy.base, None);
    c.sms()
        .list_tasks_page(&ListTasksQuery::default(), 0, 10)
        .await
        .expect("proxied");
    assert_eq!(proxy.hits.load(Ordering::SeqCst), 2);
    assert_eq!(direct.hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_bad_proxy_or_ca_bundle_is_a_config_error_naming_it() {
    let mut cfg = CloudConfig::local("http://127.0.0.1:1", Auth::aksk("AK1", SK)).expect("config");
    cfg.proxy = crate::ProxyConfig::from_env(&|n: &str| {
        (n == "HTTPS_PROXY").then(|| "http://user:PROXYPASS@[bad".to_owned())
    });
    let err = Cloud::new(&cfg).expect_err("bad proxy");
    assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
    assert!(!err.to_string().contains("PROXYPASS"), "{err}");

    let dir = std::env::temp_dir().join(format!("migplan-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    for path in [dir.join("missing.pem"), not_pem] {
        let mut cfg =
            CloudConfig::local("http://127.0.0.1:1", Auth::aksk("AK1", SK)).expect("config");
        cfg.ca_bundle = Some(path.clone());
        let err = Cloud::new(&cfg).expect_err("bad bundle");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
