//! Authentication: signatures, tokens, tampering.

use crate::common::{Client, config, start, start_default};
use migplan_wire::signing;
use serde_json::json;

#[tokio::test]
async fn tampered_requests_are_rejected_with_apig_0301() {
    let (_emu, c) = start_default().await;
    let body = json!({"name": "a", "os_type": "LINUX"});

    let ok = c
        .send_prepared(c.prepare("POST", "/v3/sources", Some(&body)))
        .await
        .unwrap();
    assert_eq!(ok.status, 200, "{:?}", ok.body);

    let mut p = c.prepare("POST", "/v3/sources", Some(&body));
    p.body = serde_json::to_vec(&json!({"name": "b", "os_type": "LINUX"})).unwrap();
    let r = c.send_prepared(p).await.unwrap();
    r.err(401, "APIG.0301");
    assert!(
        r.body["request_id"]
            .as_str()
            .is_some_and(|s| Some(s) == r.request_id.as_deref())
    );

    let mut p = c.prepare("GET", "/v3/sources/abc", None);
    p.path = "/v3/sources/abd".into();
    c.send_prepared(p).await.unwrap().err(401, "APIG.0301");

    let mut p = c.prepare("GET", "/v3/sources?limit=1", None);
    p.query = "limit=2".into();
    c.send_prepared(p).await.unwrap().err(401, "APIG.0301");

    let mut p = c.prepare("GET", "/v3/sources", None);
    let date = p
        .headers
        .iter_mut()
        .find(|(k, _)| k == "X-Sdk-Date")
        .unwrap();
    date.1 = signing::format_sdk_date(signing::parse_sdk_date(&date.1).unwrap() + 1);
    c.send_prepared(p).await.unwrap().err(401, "APIG.0301");

    c.with_sk("wrong")
        .get("/v3/sources")
        .await
        .err(401, "APIG.0301");
    let unsigned = c
        .http
        .get(format!("{}/v3/sources", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);

    // Nothing tampered was executed.
    let list = c.get("/v3/sources").await.ok();
    assert_eq!(list["count"], 1);
}

#[tokio::test]
async fn date_skew_is_checked_unless_disabled() {
    let (_emu, c) = start_default().await;
    let old = signing::format_sdk_date(1_136_214_245);
    let p = c.prepare_at("GET", "/v3/sources", None, &old);
    let r = c.send_prepared(p).await.unwrap();
    r.err(401, "APIG.0301");
    assert!(
        r.body["error_msg"].as_str().unwrap().contains("X-Sdk-Date"),
        "{}",
        r.body
    );

    let mut cfg = config();
    cfg.check_date_skew = false;
    let (_emu2, c2) = start(cfg).await;
    let p = c2.prepare_at("GET", "/v3/sources", None, &old);
    assert_eq!(c2.send_prepared(p).await.unwrap().status, 200);
}

#[tokio::test]
async fn tokens_and_request_ids() {
    let mut cfg = config();
    cfg.token = Some("tok-123".into());
    let (_emu, c) = start(cfg).await;
    let ok = c
        .http
        .get(format!("{}/v3/tasks", c.base))
        .header("X-Auth-Token", "tok-123")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert!(ok.headers().get("x-request-id").is_some());
    let bad = c
        .http
        .get(format!("{}/v3/tasks", c.base))
        .header("X-Auth-Token", "tok-124")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["error_code"], "APIG.0301");
    assert!(!body.to_string().contains("tok-123"));

    let missing = Client::new(&c.base).get("/v3/nothing-here").await;
    missing.err(404, "APIG.0101");
}

#[tokio::test]
async fn python_style_signing_of_host_and_content_type_is_accepted() {
    let (_emu, c) = start_default().await;
    let body = br#"{"operation": "start"}"#.to_vec();
    let host = c.base.trim_start_matches("http://").to_owned();
    let date = signing::sdk_date_now();
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Host".to_string(), host),
        (
            "User-Agent".to_string(),
            "huaweicloud-usdk-python/3.0".to_string(),
        ),
        ("X-Sdk-Date".to_string(), date.clone()),
        ("X-Project-Id".to_string(), "p".to_string()),
    ];
    let mut names: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    names.sort();
    let query = signing::parse_query("limit=1&name=a%20b");
    let req = signing::SigningRequest {
        method: "GET",
        path: "/v3/tasks",
        query: &query,
        headers: &headers,
        body: b"",
    };
    let sts = signing::string_to_sign(&signing::canonical_request(&req, &names), &date);
    headers.push((
        "Authorization".into(),
        format!(
            "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={}",
            c.ak,
            names.join(";"),
            signing::signature(&c.sk, &sts)
        ),
    ));
    let mut rb = c
        .http
        .get(format!("{}/v3/tasks?limit=1&name=a%20b", c.base));
    for (k, v) in &headers {
        if k != "Host" {
            rb = rb.header(k, v);
        }
    }
    let _ = body;
    let r = rb.send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
}
