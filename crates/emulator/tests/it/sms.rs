//! SMS state machine walk-throughs.

use crate::common::{secs, start_default};
use serde_json::json;

#[tokio::test]
async fn full_lifecycle_start_to_clear() {
    let (emu, c) = start_default().await;
    let src = c.register("web-01", 10).await;
    assert_eq!(
        c.source_state(&src).await,
        ("waiting".into(), "checking".into())
    );
    let task = c.create_task("web-01", &src, json!({})).await;
    assert_eq!(c.task_state(&task).await, "READY");
    assert_eq!(
        c.source_state(&src).await,
        ("initialize".into(), "setting".into())
    );
    let brief = c.source(&src).await["current_task"].clone();
    assert_eq!(brief["id"], task.as_str());

    c.action(&task, "stop").await.err(400, "SMS.1038");
    c.action(&task, "test").await.err(400, "SMS.2009");
    c.action(&task, "restart").await.err(400, "SMS.1040");

    c.action(&task, "start").await.ok();
    assert_eq!(c.task_state(&task).await, "RUNNING");
    assert_eq!(
        c.source_state(&src).await,
        ("replicate".into(), "replicating".into())
    );
    c.action(&task, "start").await.err(400, "SMS.1039");

    // Setup subtasks take 130 s; then 10 GiB at 1000 Mbit/s take ~86 s.
    emu.advance(secs(60));
    let t = c.task(&task).await;
    assert_eq!(t["sub_tasks"][0]["name"], "CREATE_CLOUD_SERVER");
    assert_eq!(t["sub_tasks"][0]["progress"], 100);
    assert!(
        t["target_server"]["vm_id"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "target created: {t}"
    );
    emu.advance(secs(110));
    let t = c.task(&task).await;
    let copy = t["sub_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "MIGRATE_LINUX_BLOCK")
        .unwrap()
        .clone();
    let progress = copy["progress"].as_i64().unwrap();
    assert!((30..70).contains(&progress), "copy progress {progress}");
    assert_eq!(t["migrate_speed"], 1000.0);
    assert!(t["remain_seconds"].as_i64().unwrap() > 90, "{t}");
    assert!(
        t["subtask_info"]
            .as_str()
            .unwrap()
            .starts_with("MIGRATE_LINUX_BLOCK:")
    );

    emu.advance(secs(600));
    let t = c.task(&task).await;
    assert_eq!(t["state"], "MIGRATE_SUCCESS");
    assert!(
        t["sub_tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["progress"] == 100 && s["end_date"].is_i64())
    );
    assert_eq!(t["migrate_speed"], 0.0);
    assert_eq!(
        c.source_state(&src).await,
        ("waiting".into(), "ready_for_test".into())
    );

    c.action(&task, "test").await.ok();
    assert_eq!(c.source_state(&src).await.1, "testing");
    c.action(&task, "cutover").await.err(400, "SMS.2009"); // busy while testing
    emu.advance(secs(61));
    assert_eq!(c.source_state(&src).await.1, "tested");

    c.action(&task, "clear").await.err(400, "SMS.2009");
    c.action(&task, "cutover").await.ok();
    assert_eq!(
        c.source_state(&src).await,
        ("cutovering".into(), "cutovering".into())
    );
    emu.advance(secs(61));
    assert_eq!(
        c.source_state(&src).await,
        ("finished".into(), "cutovered".into())
    );
    c.action(&task, "start").await.err(400, "SMS.1039");
    c.action(&task, "clear").await.ok();
    assert_eq!(c.source_state(&src).await.0, "clearing");
    emu.advance(secs(31));
    assert_eq!(c.source_state(&src).await.0, "cleared");
    assert_eq!(c.task_state(&task).await, "MIGRATE_SUCCESS");

    c.call("DELETE", &format!("/v3/tasks/{task}"), None)
        .await
        .ok();
    c.get(&format!("/v3/tasks/{task}"))
        .await
        .err(404, "SMS.2252");
    let list = c.get("/v3/tasks").await.ok();
    assert_eq!(list["count"], 0);
}

#[tokio::test]
async fn stop_resume_fail_and_restart() {
    let (emu, c) = start_default().await;
    let src = c.register("db-01", 50).await;
    let task = c.create_task("db-01", &src, json!({})).await;
    c.action(&task, "start").await.ok();
    emu.advance(secs(200));
    c.action(&task, "stop").await.ok();
    assert_eq!(c.task_state(&task).await, "ABORTING");
    assert_eq!(c.source_state(&src).await.0, "stopping");
    c.call("DELETE", &format!("/v3/tasks/{task}"), None)
        .await
        .err(400, "SMS.2015");
    emu.advance(secs(11));
    assert_eq!(c.task_state(&task).await, "ABORT");
    assert_eq!(c.source_state(&src).await.0, "stopped");
    let paused = c.task(&task).await;
    emu.advance(secs(3600));
    assert_eq!(
        c.task(&task).await["sub_tasks"],
        paused["sub_tasks"],
        "no progress while paused"
    );

    c.action(&task, "start").await.ok();
    assert_eq!(c.task_state(&task).await, "RUNNING");
    let armed = c
        .admin("POST", &format!("/_emulator/fail/{task}"), None)
        .await;
    assert_eq!(armed["ok"], true);
    assert_eq!(c.task_state(&task).await, "MIGRATE_FAIL");
    assert_eq!(c.source_state(&src).await.0, "error");
    assert!(c.task(&task).await["error_json"].as_str().is_some());
    c.action(&task, "clear").await.ok(); // failed tasks can be cleared
    emu.advance(secs(31));

    c.action(&task, "restart").await.ok();
    assert_eq!(c.task_state(&task).await, "RUNNING");
    emu.advance(secs(3600));
    assert_eq!(c.task_state(&task).await, "MIGRATE_SUCCESS");
}

#[tokio::test]
async fn fail_prefixed_sources_always_fail_halfway() {
    let (emu, c) = start_default().await;
    let src = c.register("fail-app-01", 10).await;
    let task = c
        .create_task("app-01", &src, json!({"auto_start": true}))
        .await;
    assert_eq!(c.task_state(&task).await, "RUNNING");
    emu.advance(secs(3600));
    let t = c.task(&task).await;
    assert_eq!(t["state"], "MIGRATE_FAIL");
    let copy = t["sub_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "MIGRATE_LINUX_BLOCK")
        .unwrap()
        .clone();
    assert_eq!(copy["progress"], 50);
    c.action(&task, "restart").await.ok();
    emu.advance(secs(3600));
    assert_eq!(c.task_state(&task).await, "MIGRATE_FAIL");
}

#[tokio::test]
async fn a_restart_keeps_the_failed_run_as_history_and_flaky_sources_fail_once() {
    let (emu, c) = start_default().await;
    let src = c.register("flaky-app-01", 10).await;
    let task = c
        .create_task("app-01", &src, json!({"auto_start": true}))
        .await;
    emu.advance(secs(3600));
    assert_eq!(c.task_state(&task).await, "MIGRATE_FAIL");
    let copies = |t: &serde_json::Value| -> Vec<(String, bool)> {
        t["sub_tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["name"] == "MIGRATE_LINUX_BLOCK")
            .map(|s| {
                (
                    s["user_op"].as_str().unwrap().to_owned(),
                    s["end_date"].is_null(),
                )
            })
            .collect()
    };
    assert_eq!(copies(&c.task(&task).await), [("REPLICATE".into(), true)]);
    c.action(&task, "restart").await.ok();
    emu.advance(secs(3600));
    let t = c.task(&task).await;
    assert_eq!(t["state"], "MIGRATE_SUCCESS");
    // The failed copy stays listed, ended; the new run's subtasks say RESTART.
    assert_eq!(
        copies(&t),
        [("REPLICATE".into(), false), ("RESTART".into(), false)]
    );
    let ids: Vec<i64> = t["sub_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "subtask ids stay unique across runs");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn a_consistency_check_runs_after_the_copy_and_skip_ends_it() {
    let (emu, c) = start_default().await;
    let src = c.register("check-01", 10).await;
    let task = c
        .create_task(
            "check-01",
            &src,
            json!({"auto_start": true, "is_need_consistency_check": true}),
        )
        .await;
    let running = |t: &serde_json::Value| -> Option<String> {
        t["sub_tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| !s["start_date"].is_null() && s["end_date"].is_null())
            .map(|s| s["name"].as_str().unwrap().to_owned())
    };
    // Skip before the check runs is refused.
    c.action(&task, "skip").await.err(400, "SMS.2009");
    let mut seen = None;
    for _ in 0..200 {
        emu.advance(secs(5));
        let t = c.task(&task).await;
        if running(&t).as_deref() == Some("CONSISTENCY_CHECK") {
            seen = Some(t);
            break;
        }
    }
    let t = seen.expect("the check runs after the copy");
    assert_eq!(t["state"], "RUNNING");
    c.action(&task, "skip").await.ok();
    let t = c.task(&task).await;
    assert_eq!(t["state"], "SKIPPING");
    assert_ne!(running(&t).as_deref(), Some("CONSISTENCY_CHECK"));
    emu.advance(secs(600));
    assert_eq!(c.task_state(&task).await, "MIGRATE_SUCCESS");
    // Without the check, skip is refused.
    let src2 = c.register("nocheck-01", 10).await;
    let t2 = c
        .create_task("nocheck-01", &src2, json!({"auto_start": true}))
        .await;
    c.action(&t2, "skip").await.err(400, "SMS.2009");
}

#[tokio::test]
async fn syncing_tasks_sync_after_the_full_copy_and_on_start() {
    let (emu, c) = start_default().await;
    let src = c.register("sync-01", 10).await;
    let task = c
        .create_task("sync-01", &src, json!({"syncing": true}))
        .await;
    c.action(&task, "start").await.ok();
    // Setup 220 s + copy ~86 s, then a 2 % sync round of ~2 s.
    emu.advance(secs(305));
    emu.advance(secs(2));
    let state = c.task_state(&task).await;
    assert!(state == "SYNCING" || state == "SYNC_SUCCESS", "{state}");
    emu.advance(secs(60));
    let t = c.task(&task).await;
    assert_eq!(t["state"], "SYNC_SUCCESS");
    assert!(
        t["sub_tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "SYNC_LINUX_BLOCK" && s["user_op"] == "SYNC")
    );
    c.action(&task, "start").await.ok();
    assert_eq!(c.task_state(&task).await, "SYNCING");
    assert_eq!(
        c.source_state(&src).await,
        ("syncing".into(), "syncing".into())
    );
    c.action(&task, "cutover").await.ok(); // cutover ends the sync
    assert_eq!(c.task_state(&task).await, "SYNC_SUCCESS");
}

#[tokio::test]
async fn speed_limits_shape_replication_time() {
    let (emu, c) = start_default().await;
    let a = c.register("slow", 10).await;
    let b = c.register("fast", 10).await;
    let slow = c.create_task("slow", &a, json!({"speed_limit": 100})).await;
    let fast = c.create_task("fast", &b, json!({})).await;
    c.action(&slow, "start").await.ok();
    c.action(&fast, "start").await.ok();
    emu.advance(secs(130)); // setup done, copies starting
    let rs = c.task(&slow).await["remain_seconds"].as_i64().unwrap();
    let rf = c.task(&fast).await["remain_seconds"].as_i64().unwrap();
    // Both still have CONFIGURE (60 s) and DETTACH (30 s) after the copy.
    assert!(rs - 90 > 8 * (rf - 90), "slow {rs} s vs fast {rf} s");

    let windows = json!({"speed_limit": [{"start": "00:00", "end": "23:59", "speed": 1000, "over_speed_threshold": 50.0}]});
    c.post(&format!("/v3/tasks/{slow}/speed-limit"), windows.clone())
        .await
        .ok();
    assert_eq!(
        c.get(&format!("/v3/tasks/{slow}/speed-limit")).await.ok(),
        windows
    );
    let rs2 = c.task(&slow).await["remain_seconds"].as_i64().unwrap();
    assert!(
        (rs2 - rf).abs() <= 1,
        "the window raised the speed to the fast task's: {rs} -> {rs2} (fast {rf})"
    );

    c.call(
        "PUT",
        &format!("/v3/tasks/{fast}"),
        Some(json!({"speed_limit": 10, "name": "fast-renamed"})),
    )
    .await
    .ok();
    let t = c.task(&fast).await;
    assert_eq!(t["name"], "fast-renamed");
    assert_eq!(t["speed_limit"], 10);
    c.call(
        "PUT",
        &format!("/v3/tasks/{fast}"),
        Some(json!({"name": "bad name!"})),
    )
    .await
    .err(400, "SMS.1001");
}

#[tokio::test]
async fn other_operations_and_validation() {
    let (emu, c) = start_default().await;
    let src = c.register("ops-01", 1).await;
    c.post("/v3/tasks", json!({"name": "bad name", "type": "MIGRATE_BLOCK", "source_server": {"id": src}, "target_server": {"name": "t", "vm_id": ""},
        "region_name": "r", "region_id": "r", "project_name": "p", "project_id": "p"})).await.err(400, "SMS.1001");
    let task = c
        .create_task("ops-01", &src, json!({"need_migration_test": true}))
        .await;
    c.post("/v3/tasks", json!({"name": "x", "type": "MIGRATE_BLOCK", "source_server": {"id": "nope"}, "target_server": {"name": "t", "vm_id": ""},
        "region_name": "r", "region_id": "r", "project_name": "p", "project_id": "p"})).await.err(400, "SMS.2216");
    c.action(&task, "fly").await.err(400, "SMS.1001");
    c.action(&task, "network_check").await.ok();
    assert_eq!(
        c.task(&task).await["network_check_info"]["domain_connectivity"],
        true
    );
    c.action(&task, "start").await.ok();
    c.action(&task, "skip").await.err(400, "SMS.2009");
    emu.advance(secs(3600));
    c.action(&task, "clone_test").await.err(400, "SMS.1001");
    c.post(
        &format!("/v3/tasks/{task}/action"),
        json!({"operation": "clone_test", "template_id": "tpl"}),
    )
    .await
    .ok();
    assert_eq!(
        c.task(&task).await["clone_server"]["clone_state"],
        "CREATING"
    );
    assert_eq!(c.source_state(&src).await.0, "cloning");
    emu.advance(secs(121));
    assert_eq!(
        c.task(&task).await["clone_server"]["clone_state"],
        "FINISHED"
    );
    c.action(&task, "migration_test").await.ok();
    assert_eq!(c.source_state(&src).await.0, "premiging");
    emu.advance(secs(61));
    assert_eq!(c.source_state(&src).await.0, "premiged");
    c.get("/v3/tasks/nope").await.err(404, "SMS.2252");
    c.get("/v3/sources/nope").await.err(404, "SMS.2216");
    c.post("/v3/tasks", json!({"name": 5}))
        .await
        .err(400, "SMS.1001");
    c.call("POST", "/v3/tasks", None).await.err(400, "SMS.1001");
}

#[tokio::test]
async fn changestate_and_templates() {
    let (_emu, c) = start_default().await;
    let src = c.register("cs-01", 1).await;
    c.call(
        "PUT",
        &format!("/v3/sources/{src}/changestate"),
        Some(json!({"copystate": "UNAVAILABLE", "migrationcycle": "checking"})),
    )
    .await
    .ok();
    assert_eq!(
        c.source_state(&src).await,
        ("unavailable".into(), "checking".into())
    );
    // No effect while unavailable (per the docs), still 200.
    c.call(
        "PUT",
        &format!("/v3/sources/{src}/changestate"),
        Some(json!({"copystate": "init", "migrationcycle": "setting"})),
    )
    .await
    .ok();
    assert_eq!(c.source_state(&src).await.0, "unavailable");
    let filtered = c.get("/v3/sources?state=unavailable").await.ok();
    assert_eq!(filtered["count"], 1);

    let tpl = json!({"template": {"name": "tpl-db", "is_template": true, "region": "ap-southeast-3", "projectid": "p",
        "flavor": "s6.large.2", "target_password": "Secret#1"}});
    let id = c.post("/v3/vm/templates", tpl).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = c.get(&format!("/v3/vm/templates/{id}")).await.ok();
    assert_eq!(shown["template"]["is_template"], "true");
    assert_eq!(shown["template"]["name"], "tpl-db");
    assert!(shown["template"].get("target_password").is_none());
    let list = c.get("/v3/vm/templates?name=tpl").await.ok();
    assert_eq!(list["count"], 1);
    c.get("/v3/vm/templates/nope").await.err(404, "SMS.2253");
}

#[tokio::test]
async fn refusals_name_their_real_cause() {
    let (emu, c) = start_default().await;
    let src = c.register("cause-01", 1).await;
    let task = c
        .create_task("cause-01", &src, json!({"syncing": false}))
        .await;
    c.action(&task, "start").await.ok();
    emu.advance(secs(3600));
    assert_eq!(c.task_state(&task).await, "MIGRATE_SUCCESS");

    // Not cut over yet: clear names that, and the optional features name their flags.
    let r = c.action(&task, "clear").await;
    r.err(400, "SMS.2009");
    let msg = r.body["error_msg"].as_str().unwrap();
    assert!(msg.contains("not been cut over"), "{msg}");
    let r = c.action(&task, "migration_test").await;
    r.err(400, "SMS.2009");
    assert!(
        r.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("need_migration_test"),
        "{}",
        r.body
    );

    // During a test launch every blocked operation names the test, not the task state
    // (MIGRATE_SUCCESS, in which cutover is allowed).
    c.action(&task, "test").await.ok();
    for (op, code) in [
        ("cutover", "SMS.2009"),
        ("test", "SMS.2009"),
        ("start", "SMS.1039"),
        ("clear", "SMS.2009"),
    ] {
        let r = c.action(&task, op).await;
        r.err(400, code);
        let msg = r.body["error_msg"].as_str().unwrap();
        assert!(
            msg.contains(&format!("operation {op} is not allowed"))
                && msg.contains("test launch of the target server is in progress")
                && msg.contains("migration_cycle testing"),
            "{op}: {msg}"
        );
        assert!(!msg.contains("MIGRATE_SUCCESS"), "{op}: {msg}");
    }
    let r = c
        .post(
            &format!("/v3/tasks/{task}/action"),
            json!({"operation": "clone_test", "template_id": "tpl"}),
        )
        .await;
    r.err(400, "SMS.2009");
    assert!(
        r.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("test launch")
    );

    emu.advance(secs(61));
    c.action(&task, "cutover").await.ok();
    let r = c.action(&task, "test").await;
    r.err(400, "SMS.2009");
    let msg = r.body["error_msg"].as_str().unwrap();
    assert!(msg.contains("a cutover is in progress"), "{msg}");
    emu.advance(secs(61));
    for (op, code) in [("cutover", "SMS.2009"), ("start", "SMS.1039")] {
        let r = c.action(&task, op).await;
        r.err(400, code);
        let msg = r.body["error_msg"].as_str().unwrap();
        assert!(msg.contains("already been cut over"), "{op}: {msg}");
    }
    c.action(&task, "clear").await.ok();
    emu.advance(secs(31));
    let r = c.action(&task, "clear").await;
    r.err(400, "SMS.2009");
    let msg = r.body["error_msg"].as_str().unwrap();
    assert!(msg.contains("source server is cleared"), "{msg}");
    // A state refusal still names the state.
    let r = c.action(&task, "stop").await;
    r.err(400, "SMS.1038");
    assert!(
        r.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("MIGRATE_SUCCESS"),
        "{}",
        r.body
    );
}
