//! The credentials CI runners have, against the in-process emulator over real HTTP:
//! temporary AK/SK with a security token (accepted; refused when the token is wrong or
//! missing, or sent with permanent keys), and temporary credentials from a metadata service
//! served on a loopback listener, resolved through `CloudConfig::from_env` as the CLI does.
//! Nothing here contacts the real metadata address: the endpoint is always overridden.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use migplan_cloud::wire::sms::ListSourcesQuery;
use migplan_cloud::{Auth, Cloud, CloudConfig, Error, ErrorKind, RetryPolicy};
use migplan_emulator::{EmulatorConfig, RunningEmulator};

const AK: &str = "STS-AK-EMU";
const SK: &str = "STS-SK-do-not-print-42";
const STS: &str = "STS-TOKEN-do-not-print-42";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";

async fn emulator(security_token: Option<&str>) -> RunningEmulator {
    let mut cfg = EmulatorConfig::new(AK, SK);
    cfg.security_token = security_token.map(str::to_owned);
    let emu = RunningEmulator::start(cfg).await.expect("emulator");
    emu.register_source_named("a").expect("seed");
    emu
}

fn cloud(emu: &RunningEmulator, auth: Auth) -> Cloud {
    let cfg = CloudConfig::local(&emu.base_url(), auth)
        .expect("config")
        .with_project_id(PROJECT)
        .with_domain_id("domain-1")
        .with_retry(RetryPolicy::fast(2));
    Cloud::new(&cfg).expect("cloud")
}

async fn list_both(c: &Cloud) -> Result<usize, Error> {
    let sources = c
        .sms()
        .list_all_sources(&ListSourcesQuery::default())
        .await?;
    c.dcs().list_all_tasks(None).await?;
    Ok(sources.len())
}

fn assert_denied(err: &Error, why: &str) {
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("APIG.0301")),
        "{why}: {err}"
    );
    assert_eq!(err.retries, 0, "auth failures are not retried");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(SK) && !text.contains(STS), "{text}");
}

#[tokio::test]
async fn security_token_is_required_checked_and_accepted() {
    let emu = emulator(Some(STS)).await;

    let ok = cloud(&emu, Auth::temporary(AK, SK, STS));
    assert_eq!(list_both(&ok).await.expect("accepted"), 1);
    assert!(!format!("{ok:?}").contains(STS));

    let wrong = cloud(&emu, Auth::temporary(AK, SK, "STS-TOKEN-wrong"));
    let err = list_both(&wrong).await.expect_err("wrong token");
    assert_denied(&err, "wrong token");
    assert!(err.to_string().contains("invalid or expired"), "{err}");

    let missing = cloud(&emu, Auth::aksk(AK, SK));
    let err = list_both(&missing).await.expect_err("no token");
    assert_denied(&err, "missing token");
    assert!(err.to_string().contains("no X-Security-Token"), "{err}");
}

#[tokio::test]
async fn a_security_token_with_permanent_keys_is_refused() {
    let emu = emulator(None).await;
    assert_eq!(
        list_both(&cloud(&emu, Auth::aksk(AK, SK)))
            .await
            .expect("permanent keys"),
        1
    );
    let err = list_both(&cloud(&emu, Auth::temporary(AK, SK, STS)))
        .await
        .expect_err("stray token");
    assert_denied(&err, "token with permanent keys");
}

/// A metadata service on a loopback listener: `PUT` token path is 404 (an older host
/// without session tokens), the security key path answers `body`. Counts requests.
async fn metadata_service(body: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let mut len = 0;
            while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => len += n,
                }
            }
            let head = String::from_utf8_lossy(&buf[..len]).into_owned();
            counter.fetch_add(1, Ordering::SeqCst);
            let (status, reply) = if head.starts_with("GET /openstack/latest/securitykey ") {
                ("200 OK", body.as_str())
            } else {
                ("404 Not Found", "")
            };
            let text = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
            let _ = sock.write_all(text.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (base, hits)
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

#[tokio::test]
async fn metadata_credentials_through_the_env_chain() {
    let emu = emulator(Some(STS)).await;
    let body = serde_json::json!({"credential": {
        "access": AK, "secret": SK, "securitytoken": STS,
        "expires_at": "2999-01-01T00:00:00.000000Z",
    }})
    .to_string();
    let (meta, hits) = metadata_service(body).await;
    let base = emu.base_url();
    let e = env(&[
        ("MIGPLAN_METADATA_ENDPOINT", meta.as_str()),
        ("MIGPLAN_SMS_ENDPOINT", base.as_str()),
        ("MIGPLAN_DCS_ENDPOINT", base.as_str()),
        ("HW_PROJECT_ID", PROJECT),
    ]);
    let cfg = CloudConfig::from_env("ap-southeast-3", &e).expect("config");
    assert!(matches!(cfg.auth, Auth::Metadata(_)), "{:?}", cfg.auth);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing is fetched up front"
    );
    let c = Cloud::new(&cfg).expect("cloud");
    assert_eq!(list_both(&c).await.expect("signed with metadata creds"), 1);
    assert_eq!(list_both(&c).await.expect("cached"), 1);
    // One refresh: PUT token (404) + GET securitykey; then cached for four calls.
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(!format!("{cfg:?} {c:?}").contains(SK));
    assert!(!format!("{cfg:?} {c:?}").contains(STS));
}

#[tokio::test]
async fn a_metadata_service_that_is_not_there_is_a_named_error() {
    // A port that was just free: connection refused, at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let emu = emulator(None).await;
    let cfg = CloudConfig::local(
        &emu.base_url(),
        Auth::metadata(&format!("http://127.0.0.1:{port}")).expect("auth"),
    )
    .expect("config")
    .with_project_id(PROJECT);
    let err = list_both(&Cloud::new(&cfg).expect("cloud"))
        .await
        .expect_err("no metadata service");
    assert!(
        matches!(&*err.kind, ErrorKind::CredentialSource { source_name, .. }
            if source_name.contains("metadata service") && source_name.contains(&port.to_string())),
        "{err:?}"
    );
    assert!(err.to_string().contains("could not connect"), "{err}");
}
