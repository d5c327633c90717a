//! Fault injection: throttling, errors, drops after commit, determinism.

use crate::common::{config, start};
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
