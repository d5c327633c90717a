//! Paging and filters.

use crate::common::{config, start, start_default};
use serde_json::json;

#[tokio::test]
async fn sources_and_tasks_page_by_offset() {
    let (emu, c) = start_default().await;
    for i in 0..5 {
        c.register(&format!("pg-{i}"), 1).await;
    }
    emu.register_source_named("other").unwrap();
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let p = c
            .get(&format!("/v3/sources?name=pg-&limit=2&offset={offset}"))
            .await
            .ok();
        assert_eq!(p["count"], 5);
        seen.extend(
            p["source_servers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_owned()),
        );
    }
    seen.sort();
    assert_eq!(seen, (0..5).map(|i| format!("pg-{i}")).collect::<Vec<_>>());
    let past = c.get("/v3/sources?name=pg-&limit=2&offset=6").await.ok();
    assert_eq!(
        (past["count"].clone(), past["source_servers"].clone()),
        (json!(5), json!([]))
    );
    c.get("/v3/sources?limit=abc").await.err(400, "SMS.1001");

    let src = c.get("/v3/sources?name=pg-0").await.ok()["source_servers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = c.create_task("pg-0", &src, json!({})).await;
    let by_source = c
        .get(&format!("/v3/tasks?source_server_id={src}"))
        .await
        .ok();
    assert_eq!(by_source["tasks"][0]["id"], t.as_str());
    assert_eq!(c.get("/v3/tasks?state=RUNNING").await.ok()["count"], 0);
    assert_eq!(c.get("/v3/tasks?state=READY").await.ok()["count"], 1);
}

#[tokio::test]
async fn limits_are_capped() {
    let (emu, c) = start_default().await;
    for i in 0..205 {
        emu.register_source_named(&format!("cap-{i:03}")).unwrap();
    }
    let p = c.get("/v3/sources?limit=500").await.ok();
    assert_eq!(
        (
            p["count"].as_u64(),
            p["source_servers"].as_array().map(Vec::len)
        ),
        (Some(205), Some(200))
    );
    let p = c.get("/v3/sources?limit=0").await.ok();
    assert_eq!(p["source_servers"].as_array().map(Vec::len), Some(200));

    let mut cfg = config();
    cfg.page_limit_max = Some(3);
    let (emu2, c2) = start(cfg).await;
    for i in 0..5 {
        emu2.register_source_named(&format!("s{i}")).unwrap();
    }
    let p = c2.get("/v3/sources?limit=50").await.ok();
    assert_eq!(p["source_servers"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_running_tasks_page_consistently() {
    let (emu, c) = start_default().await;
    let mut ids = Vec::new();
    for i in 0..1000 {
        let src = emu.register_source_named(&format!("bulk-{i:04}")).unwrap();
        let t = c
            .create_task(
                &format!("bulk-{i:04}"),
                &src,
                json!({"auto_start": i % 2 == 0}),
            )
            .await;
        ids.push(t);
    }
    emu.advance(std::time::Duration::from_secs(90));
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let p = c
            .get(&format!("/v3/tasks?limit=200&offset={offset}"))
            .await
            .ok();
        assert_eq!(p["count"], 1000);
        let tasks = p["tasks"].as_array().unwrap();
        if tasks.is_empty() {
            break;
        }
        seen.extend(tasks.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        offset += 200;
    }
    assert_eq!(offset, 1000);
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    assert_eq!(
        c.get("/v3/tasks?state=RUNNING&limit=1").await.ok()["count"],
        500
    );
    assert_eq!(
        c.get("/v3/sources?state=replicate&limit=1").await.ok()["count"],
        500
    );
}
