//! DCS online migration walk-throughs.

use crate::common::{PROJECT, secs, start_default};
use serde_json::{Value, json};

fn base() -> String {
    format!("/v2/{PROJECT}")
}

async fn create(c: &crate::common::Client, name: &str) -> (String, String) {
    let r = c
        .post(
            &format!("{}/migration/instance", base()),
            json!({"name": name, "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}),
        )
        .await
        .ok();
    (
        r["instance_id"].as_str().unwrap().to_owned(),
        r["job_id"].as_str().unwrap().to_owned(),
    )
}

fn configure_body(method: &str) -> Value {
    json!({"migration_method": method, "resume_mode": "auto", "bandwidth_limit_mb": 123,
           "source_instance": {"addrs": "10.0.0.1:6379", "password": "redis-secret"}, "target_instance": {"id": "cf4a05df"}})
}

async fn status(c: &crate::common::Client, id: &str) -> String {
    c.get(&format!("{}/migration-task/{id}", base())).await.ok()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn incremental_migration_stop_restart_delete() {
    let (emu, c) = start_default().await;
    let (id, job) = create(&c, "sessions").await;
    let j = c.get(&format!("{}/jobs/{job}", base())).await.ok();
    assert_eq!(j["status"], "RUNNING");
    assert_eq!(status(&c, &id).await, "CREATING");
    c.post(
        &format!("{}/migration/{id}/task", base()),
        configure_body("incremental_migration"),
    )
    .await
    .err(400, "DCS.4957");
    emu.advance(secs(11));
    let j = c.get(&format!("{}/jobs/{job}", base())).await.ok();
    assert_eq!(j["status"], "SUCCESS");
    assert!(j["end_time"].is_string());
    assert_eq!(status(&c, &id).await, "RUNNING");

    let r = c
        .post(
            &format!("{}/migration/{id}/task", base()),
            configure_body("incremental_migration"),
        )
        .await
        .ok();
    assert_eq!(
        (r["id"].as_str(), r["status"].as_str(), r["error"].as_str()),
        (Some(id.as_str()), Some("FULLMIGRATING"), Some(""))
    );
    emu.advance(secs(60));
    let stats = c
        .get(&format!("{}/migration-task/{id}/stats", base()))
        .await
        .ok();
    assert_eq!(stats["full_migration_progress"], "50");
    c.call(
        "DELETE",
        &format!("{}/migration-tasks/delete", base()),
        Some(json!({"task_id_list": [id]})),
    )
    .await
    .err(400, "DCS.4957");
    emu.advance(secs(61));
    let t = c.get(&format!("{}/migration-task/{id}", base())).await.ok();
    assert_eq!(t["status"], "INCRMIGEATING");
    assert_eq!(t["bandwidth_limit_mb"], "123");
    assert_eq!(t["source_instance"]["addrs"], "10.0.0.1:6379");
    emu.advance(secs(86_400));
    assert_eq!(status(&c, &id).await, "INCRMIGEATING", "incremental stays");

    let stopped = c
        .post(&format!("{}/migration-task/{id}/stop", base()), json!({}))
        .await
        .ok();
    assert_eq!(stopped["status"], "TERMINATING");
    c.post(&format!("{}/migration-task/{id}/stop", base()), json!({}))
        .await
        .err(400, "DCS.4957");
    emu.advance(secs(11));
    assert_eq!(status(&c, &id).await, "TERMINATED");

    let r = c
        .post(
            &format!("{}/migration-tasks/batch-restart", base()),
            json!({"migration_tasks": [id, "nope"]}),
        )
        .await
        .ok();
    assert_eq!(r["migration_tasks"][0]["result"], "success");
    assert_eq!(r["migration_tasks"][1]["result"], "failed");
    assert_eq!(r["migration_tasks"][1]["error_code"], "DCS.4133");
    assert_eq!(status(&c, &id).await, "FULLMIGRATING");
    emu.advance(secs(121));
    let r = c
        .post(
            &format!("{}/migration-task/batch-stop", base()),
            json!({"migration_tasks": [id]}),
        )
        .await
        .ok();
    assert_eq!(r["migration_tasks"][0]["result"], "success");
    emu.advance(secs(11));

    c.call(
        "PUT",
        &format!("{}/migration-task/{id}", base()),
        Some(json!({"resume_mode": "manual"})),
    )
    .await
    .ok();
    assert_eq!(
        c.get(&format!("{}/migration-task/{id}", base())).await.ok()["resume_mode"],
        "manual"
    );

    let d = c
        .call(
            "DELETE",
            &format!("{}/migration-tasks/delete", base()),
            Some(json!({"task_id_list": [id]})),
        )
        .await
        .ok();
    assert_eq!(d["task_id_list"], json!([id]));
    c.get(&format!("{}/migration-task/{id}", base()))
        .await
        .err(400, "DCS.4133");
    let list = c.get(&format!("{}/migration-tasks", base())).await.ok();
    assert_eq!(list["count"], 0);
}

#[tokio::test]
async fn full_migration_succeeds_or_fails_on_demand() {
    let (emu, c) = start_default().await;
    let (ok, _) = create(&c, "cache-ok").await;
    let (bad, _) = create(&c, "cache-bad").await;
    emu.advance(secs(11));
    for id in [&ok, &bad] {
        c.post(
            &format!("{}/migration/{id}/task", base()),
            configure_body("full_amount_migration"),
        )
        .await
        .ok();
    }
    c.admin("POST", &format!("/_emulator/fail/{bad}"), None)
        .await;
    emu.advance(secs(121));
    assert_eq!(status(&c, &ok).await, "SUCCESS");
    assert_eq!(status(&c, &bad).await, "FAILED");
    c.post(
        &format!("{}/migration-task/{ok}/sync-stop", base()),
        json!({}),
    )
    .await
    .err(400, "DCS.4957");

    let page = c
        .get(&format!(
            "{}/migration-tasks?offset=0&limit=1&name=cache",
            base()
        ))
        .await
        .ok();
    assert_eq!(
        (
            page["count"].as_u64(),
            page["migration_tasks"].as_array().map(Vec::len)
        ),
        (Some(2), Some(1))
    );
    let past = c
        .get(&format!("{}/migration-tasks?offset=5&limit=1", base()))
        .await
        .ok();
    assert_eq!(past["migration_tasks"], json!([]));
    assert_eq!(past["count"], 2);
}

#[tokio::test]
async fn errors_and_project_isolation() {
    let (_emu, c) = start_default().await;
    let (id, _) = create(&c, "iso").await;
    c.get(&format!("/v2/{}/migration-task/{id}", "f".repeat(32)))
        .await
        .err(401, "DCS.1004");
    c.get(&format!("{}/migration-task/nope", base()))
        .await
        .err(400, "DCS.4133");
    c.get(&format!("{}/jobs/nope", base()))
        .await
        .err(400, "DCS.4133");
    c.post(
        &format!("{}/migration/instance", base()),
        json!({"name": "x"}),
    )
    .await
    .err(400, "DCS.4800");
    let r = c
        .call("POST", &format!("{}/migration/instance", base()), None)
        .await;
    r.err(400, "DCS.4005");
    assert!(r.body["error_ext_msg"].is_null() && r.body.get("error_ext_msg").is_some());
    c.post(
        &format!("{}/migration-task/batch-stop", base()),
        json!({"migration_tasks": []}),
    )
    .await
    .err(400, "DCS.4855");
    let bad = configure_body("incremental_migration");
    let mut bad2 = bad.clone();
    bad2["bandwidth_limit_mb"] = json!("0");
    c.post(&format!("{}/migration/{id}/task", base()), bad2)
        .await
        .err(400, "DCS.4800");
    // A type error in a body that holds a password must not echo the body.
    let mut bad3 = bad;
    bad3["source_instance"]["password"] = json!(123456789);
    let r = c
        .post(&format!("{}/migration/{id}/task", base()), bad3)
        .await;
    r.err(400, "DCS.4005");
    assert!(!r.body.to_string().contains("123456789"), "{}", r.body);
}
