//! The account's quota of SMS migrations at the same time, and the high-water mark of
//! migrations running at once in `/_emulator/stats`.

use crate::common::{Client, Shape, config, secs, start, start_default};
use serde_json::{Value, json};

async fn migrations(c: &Client) -> Value {
    c.admin("GET", "/_emulator/stats", None).await["sms_migrations"].clone()
}

/// A source of `gib` used GiB and its (READY) task.
async fn task(c: &Client, name: &str, gib: i64) -> String {
    let src = c.register(name, gib).await;
    c.create_task(name, &src, json!({})).await
}

#[tokio::test]
async fn the_start_past_the_quota_is_refused_until_a_migration_ends() {
    let mut cfg = config();
    cfg.sms_migration_quota = Some(2);
    let (emu, c) = start(cfg).await;
    // A small copy (done within 300 s) and a large one (still copying then).
    let small = task(&c, "small", 1).await;
    let large = task(&c, "large", 200).await;
    let third = task(&c, "third", 1).await;
    let fourth = task(&c, "fourth", 1).await;
    c.action(&small, "start").await.ok();
    c.action(&large, "start").await.ok();

    let refused = c.action(&third, "start").await;
    let msg = refused.json_error(403, "SMS.1003", Shape::Sms);
    assert!(msg.contains("quota") && msg.contains("(2)"), "{msg}");
    assert_eq!(c.task_state(&third).await, "READY", "nothing started");
    // A task created with auto_start over the quota is created, and stays READY.
    let src = c.register("auto", 1).await;
    let auto = c
        .create_task("auto", &src, json!({"auto_start": true}))
        .await;
    assert_eq!(c.task_state(&auto).await, "READY");
    assert_eq!(
        migrations(&c).await,
        json!({"running": 2, "max_running": 2, "quota": 2})
    );

    emu.advance(secs(300));
    assert_eq!(c.task_state(&small).await, "MIGRATE_SUCCESS");
    assert_eq!(c.task_state(&large).await, "RUNNING");
    c.action(&third, "start").await.ok();
    assert_eq!(c.task_state(&third).await, "RUNNING");

    // A failed migration frees its place; restarting it takes one again.
    c.admin("POST", &format!("/_emulator/fail/{large}"), None)
        .await;
    assert_eq!(c.task_state(&large).await, "MIGRATE_FAIL");
    c.action(&fourth, "start").await.ok();
    c.action(&large, "restart")
        .await
        .json_error(403, "SMS.1003", Shape::Sms);
    // A refusal for the task's state still names the state, not the quota.
    c.action(&fourth, "start").await.err(400, "SMS.1039");
    assert_eq!(
        migrations(&c).await,
        json!({"running": 2, "max_running": 2, "quota": 2})
    );
}

#[tokio::test]
async fn without_a_quota_the_greatest_number_running_at_once_is_kept() {
    let (emu, c) = start_default().await;
    let ids = [
        task(&c, "a", 1).await,
        task(&c, "b", 1).await,
        task(&c, "c", 1).await,
    ];
    for id in &ids[..2] {
        c.action(id, "start").await.ok();
    }
    emu.advance(secs(3600));
    c.action(&ids[2], "start").await.ok();
    // Two ran at once, then one: the mark stays at two.
    assert_eq!(
        migrations(&c).await,
        json!({"running": 1, "max_running": 2, "quota": null})
    );
    c.admin("POST", "/_emulator/reset", None).await;
    assert_eq!(migrations(&c).await["max_running"], 0);
}
