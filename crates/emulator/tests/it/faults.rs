//! Fault injection: throttling, errors, drops after commit, determinism.

use crate::common::{PROJECT, Shape, config, start};
use serde_json::json;

async fn statuses(spec: &str, n: usize) -> Vec<u16> {
    let mut cfg = config();
    cfg.faults = spec.parse().unwrap();
    let (_emu, c) = start(cfg).await;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(match c.try_call("GET", "/v3/tasks", None).await {
            Ok(a) => a.status,
            Err(_) => 0,
        });
    }
    out
}

#[tokio::test]
async fn same_seed_same_faults() {
    let spec = "throttle=0.2,error=0.2,drop=0.2,seed=42";
    let a = statuses(spec, 40).await;
    let b = statuses(spec, 40).await;
    assert_eq!(a, b);
    for s in [429, 500, 0, 200] {
        assert!(a.contains(&s), "{s} missing from {a:?}");
    }
    let c = statuses("throttle=0.2,error=0.2,drop=0.2,seed=43", 40).await;
    assert_ne!(a, c);
}

#[tokio::test]
async fn throttle_and_error_bodies_and_admin_is_never_faulted() {
    let mut cfg = config();
    cfg.faults = "throttle=1".parse().unwrap();
    let (_emu, c) = start(cfg).await;
    let r = c.get("/v3/sources").await;
    r.err(429, "APIG.0308");
    assert_eq!(r.body["request_id"].as_str(), r.request_id.as_deref());
    let stats = c.admin("GET", "/_emulator/stats", None).await;
    assert_eq!(stats["faults"]["throttle"], 1);

    let mut cfg = config();
    cfg.faults = "error=1,latency=5ms".parse().unwrap();
    let (_emu, c) = start(cfg).await;
    c.post("/v3/sources", json!({"name": "x"}))
        .await
        .err(500, "APIG.0201");
    let state = c.admin("GET", "/_emulator/state", None).await;
    assert_eq!(
        state["sources"],
        json!([]),
        "an injected 5xx executes nothing"
    );
}

#[tokio::test]
async fn dropped_responses_still_commit_the_change() {
    let mut cfg = config();
    cfg.faults = "drop=1".parse().unwrap();
    let (emu, c) = start(cfg).await;
    let err = c
        .try_call("POST", "/v3/sources", Some(json!({"name": "dropped-01"})))
        .await;
    assert!(
        err.is_err(),
        "the client must see a connection error, got {:?}",
        err.map(|a| a.status)
    );
    let state = c.admin("GET", "/_emulator/state", None).await;
    assert_eq!(state["sources"][0]["reg"]["name"], "dropped-01");
    let log = c.admin("GET", "/_emulator/requests", None).await;
    assert_eq!(log[0]["fault"], "drop");
    assert_eq!(log[0]["status"], 200);
    drop(emu);
}

#[tokio::test]
async fn a_rate_limit_leaves_the_random_faults_as_they_were() {
    let spec = "throttle=0.2,error=0.2,drop=0.2,seed=42";
    let limited = format!("{spec},ratelimit=1000000");
    assert_eq!(statuses(spec, 40).await, statuses(&limited, 40).await);
}

#[tokio::test]
async fn past_the_rate_limit_the_gateway_answers_429_with_retry_after_per_service() {
    let mut cfg = config();
    cfg.faults = "ratelimit=2".parse().unwrap();
    let (_emu, c) = start(cfg).await;
    // Creates in a row until one is refused: the first two of a second always pass.
    let mut answers = Vec::new();
    for i in 0..200 {
        let a = c
            .post("/v3/sources", json!({"name": format!("src-{i}")}))
            .await;
        let refused = a.status == 429;
        answers.push(a);
        if refused {
            break;
        }
    }
    let last = answers.last().expect("answers");
    assert!(
        answers.len() > 2,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let msg = last.json_error(429, "APIG.0308", Shape::Apig);
    assert_eq!(
        msg,
        "The throttling threshold has been reached: policy user over ratelimit,limit:2,time:1 second"
    );
    assert_eq!(
        last.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    // DCS is counted apart: its first request passes whatever SMS did.
    c.get(&format!("/v2/{PROJECT}/migration-tasks")).await.ok();
    // A refused request executed nothing; every admitted one did.
    let state = c.admin("GET", "/_emulator/state", None).await;
    let names: Vec<&str> = state["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s["reg"]["name"].as_str())
        .collect();
    assert_eq!(names.len(), answers.len() - 1, "{names:?}");
    assert!(!names.contains(&format!("src-{}", answers.len() - 1).as_str()));
    let stats = c.admin("GET", "/_emulator/stats", None).await;
    assert_eq!(stats["faults"]["ratelimit"], 1);
    let log = c.admin("GET", "/_emulator/requests", None).await;
    let refused = &log[answers.len() - 1];
    assert_eq!(
        (refused["fault"].as_str(), refused["status"].as_u64()),
        (Some("ratelimit"), Some(429))
    );
}
