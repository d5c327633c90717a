//! Admin endpoints.

use crate::common::{secs, start_default};
use serde_json::json;

#[tokio::test]
async fn stats_request_log_clock_and_reset() {
    let (emu, c) = start_default().await;
    let src = c.register("adm-01", 1).await;
    let task = c.create_task("adm-01", &src, json!({})).await;
    c.action(&task, "start").await.ok();
    c.action(&task, "start").await.err(400, "SMS.1039");
    c.get("/v3/tasks").await.ok();

    let stats = c.admin("GET", "/_emulator/stats", None).await;
    assert_eq!(stats["by_route"]["POST /v3/tasks/{task_id}/action"], 2);
    assert_eq!(stats["by_route"]["GET /v3/tasks"], 1);
    assert_eq!(stats["by_route"]["POST /v3/sources"], 1);
    assert_eq!(stats["by_status"]["400"], 1);
    assert_eq!(emu.stats()["requests_total"], 5);

    let log = c.admin("GET", "/_emulator/requests", None).await;
    let entries = log.as_array().unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(entries[2]["operation"], "start");
    assert_eq!(entries[2]["route"], "/v3/tasks/{task_id}/action");
    assert_eq!(entries[2]["path"], format!("/v3/tasks/{task}/action"));
    assert_eq!(entries[3]["status"], 400);
    let since = c.admin("GET", "/_emulator/requests?since=4", None).await;
    assert_eq!(since.as_array().map(Vec::len), Some(1));

    let before = c.admin("GET", "/_emulator/clock", None).await["now_ms"]
        .as_i64()
        .unwrap();
    let after = c
        .admin(
            "POST",
            "/_emulator/clock/advance",
            Some(json!({"seconds": 90})),
        )
        .await["now_ms"]
        .as_i64()
        .unwrap();
    assert_eq!(after - before, 90_000);
    emu.advance(secs(10));
    assert_eq!(emu.now_ms() - before, 100_000);

    let id = c
        .admin(
            "POST",
            "/_emulator/sources",
            Some(json!({"name": "adm-02"})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(c.source(&id).await["name"], "adm-02");

    c.admin("POST", "/_emulator/reset", None).await;
    assert_eq!(
        c.admin("GET", "/_emulator/stats", None).await["requests_total"],
        0
    );
    assert_eq!(c.get("/v3/sources").await.ok()["count"], 0);
    assert!(emu.fail_task("nope").is_err());
}
