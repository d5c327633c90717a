//! `GET /v3/tasks/{id}/consistency-result`: empty until the check finishes, consistent or not
//! by the source's name, nothing after a skip, one entry per finished check, the task 404.

use crate::common::{Client, Shape, secs, start_default};
use migplan_emulator::RunningEmulator;
use serde_json::{Value, json};

/// Registers a Linux source with a 10 GiB root disk and, with `data`, a 3 GiB data disk.
async fn register(c: &Client, name: &str, data: bool) -> String {
    let gib = 1i64 << 30;
    let mut disks = vec![
        json!({"name": "/dev/vda", "size": 20 * gib, "used_size": 10 * gib,
        "device_use": "BOOT", "physical_volumes": []}),
    ];
    if data {
        disks.push(
            json!({"name": "/dev/vdb", "size": 6 * gib, "used_size": 3 * gib,
            "device_use": "NORMAL", "physical_volumes": []}),
        );
    }
    let body = json!({"name": name, "os_type": "LINUX", "os_version": "CENTOS7.9",
        "agent_version": "25.3.0", "networks": [{"name": "eth0", "ip": "10.1.0.9"}], "disks": disks});
    c.post("/v3/sources", body).await.ok()["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn checked_task(c: &Client, name: &str, source: &str) -> String {
    c.create_task(
        name,
        source,
        json!({"auto_start": true, "is_need_consistency_check": true}),
    )
    .await
}

async fn results(c: &Client, task: &str) -> Value {
    c.get(&format!("/v3/tasks/{task}/consistency-result"))
        .await
        .ok()
}

fn subtask<'a>(task: &'a Value, name: &str) -> Vec<&'a Value> {
    task["sub_tasks"]
        .as_array()
        .expect("sub_tasks")
        .iter()
        .filter(|s| s["name"] == name)
        .collect()
}

/// Advances 5 s at a time until `CONSISTENCY_CHECK` runs (the copy of 10-13 GiB at
/// 1000 Mbit/s and the setup take a few virtual minutes).
async fn until_checking(emu: &RunningEmulator, c: &Client, task: &str) {
    for _ in 0..200 {
        let t = c.task(task).await;
        if subtask(&t, "CONSISTENCY_CHECK")
            .iter()
            .any(|s| !s["start_date"].is_null() && s["end_date"].is_null())
        {
            return;
        }
        emu.advance(secs(5));
    }
    panic!("the consistency check never ran");
}

fn dir(name: &str, total: i64, different: i64, miss: i64) -> Value {
    json!({"dir_check": name, "num_total_files": total, "num_different_files": different,
        "num_target_miss_files": miss, "num_target_more_files": 0})
}

#[tokio::test]
async fn results_appear_when_the_check_finishes_and_mark_the_source() {
    let (emu, c) = start_default().await;
    let src = register(&c, "cons-web-01", true).await;
    let task = checked_task(&c, "cons-web-01", &src).await;
    assert_eq!(
        results(&c, &task).await,
        json!({"result_list": [], "task_id": task})
    );
    assert_eq!(c.source(&src).await["is_consistency_result_exist"], false);
    until_checking(&emu, &c, &task).await;
    assert_eq!(results(&c, &task).await["result_list"], json!([]));

    emu.advance(secs(600));
    let t = c.task(&task).await;
    assert_eq!(t["state"], "MIGRATE_SUCCESS");
    let end = subtask(&t, "CONSISTENCY_CHECK")[0]["end_date"].clone();
    assert!(end.is_i64());
    let r = results(&c, &task).await;
    assert_eq!(
        r,
        json!({"result_list": [{"finished_time": end, "check_result": "success",
            "consistency_result": [dir("/", 10 * 1024, 0, 0), dir("/data", 3 * 1024, 0, 0)]}],
            "task_id": task})
    );
    let typed: migplan_wire::sms::ConsistencyResults = serde_json::from_value(r).unwrap();
    assert!(typed.is_consistent(), "{}", typed.summary());

    // The source says so, shown and listed, and the list filters on it.
    assert_eq!(c.source(&src).await["is_consistency_result_exist"], true);
    let other = register(&c, "cons-other-01", false).await;
    let listed = c.get("/v3/sources?name=cons-").await.ok();
    let flag = |id: &str| {
        listed["source_servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["is_consistency_result_exist"].clone())
    };
    assert_eq!(flag(&src), Some(json!(true)));
    assert_eq!(flag(&other), Some(json!(false)));
    for (want, id) in [("true", &src), ("false", &other)] {
        let page = c
            .get(&format!("/v3/sources?is_consistency_result_exist={want}"))
            .await
            .ok();
        let ids: Vec<&str> = page["source_servers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        assert_eq!(ids, vec![id.as_str()], "is_consistency_result_exist={want}");
    }
}

#[tokio::test]
async fn inconsistent_sources_report_different_and_missing_files() {
    let (emu, c) = start_default().await;
    for (name, data) in [("inconsistent-db-01", true), ("inconsistent-one-01", false)] {
        let src = register(&c, name, data).await;
        let task = checked_task(&c, name, &src).await;
        emu.advance(secs(1200));
        assert_eq!(c.task_state(&task).await, "MIGRATE_SUCCESS");
        let r = results(&c, &task).await;
        let dirs = r["result_list"][0]["consistency_result"].clone();
        let want = if data {
            json!([dir("/", 10 * 1024, 0, 0), dir("/data", 3 * 1024, 30, 6)])
        } else {
            json!([dir("/", 10 * 1024, 102, 20)])
        };
        assert_eq!(dirs, want, "{name}");
        let typed: migplan_wire::sms::ConsistencyResults = serde_json::from_value(r).unwrap();
        assert_eq!(
            typed.verdict(),
            migplan_wire::sms::ConsistencyVerdict::Inconsistent
        );
    }
}

#[tokio::test]
async fn a_skipped_check_leaves_no_results_and_tasks_without_one_have_none() {
    let (emu, c) = start_default().await;
    let src = register(&c, "cons-skip-01", true).await;
    let task = checked_task(&c, "cons-skip-01", &src).await;
    until_checking(&emu, &c, &task).await;
    c.action(&task, "skip").await.ok();
    emu.advance(secs(1200));
    assert_eq!(c.task_state(&task).await, "MIGRATE_SUCCESS");
    assert_eq!(results(&c, &task).await["result_list"], json!([]));
    assert_eq!(c.source(&src).await["is_consistency_result_exist"], false);

    let src = register(&c, "cons-none-01", true).await;
    let task = c
        .create_task("cons-none-01", &src, json!({"auto_start": true}))
        .await;
    emu.advance(secs(1200));
    assert_eq!(c.task_state(&task).await, "MIGRATE_SUCCESS");
    assert_eq!(results(&c, &task).await["result_list"], json!([]));
}

#[tokio::test]
async fn a_restart_that_checks_again_adds_a_second_result() {
    let (emu, c) = start_default().await;
    let src = register(&c, "cons-again-01", false).await;
    let task = checked_task(&c, "cons-again-01", &src).await;
    until_checking(&emu, &c, &task).await;
    // Past the check (120 s), inside CONFIGURE_* (60 s): fail the task there.
    emu.advance(secs(130));
    assert_eq!(
        results(&c, &task).await["result_list"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    c.admin("POST", &format!("/_emulator/fail/{task}"), None)
        .await;
    assert_eq!(c.task_state(&task).await, "MIGRATE_FAIL");
    c.action(&task, "restart").await.ok();
    emu.advance(secs(1200));
    let t = c.task(&task).await;
    assert_eq!(t["state"], "MIGRATE_SUCCESS");
    let ends: Vec<Value> = subtask(&t, "CONSISTENCY_CHECK")
        .iter()
        .map(|s| s["end_date"].clone())
        .collect();
    let r = results(&c, &task).await;
    let finished: Vec<Value> = r["result_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["finished_time"].clone())
        .collect();
    assert_eq!(finished.len(), 2, "{r}");
    assert_eq!(
        finished, ends,
        "one result per finished check, oldest first"
    );
}

#[tokio::test]
async fn an_unknown_task_is_the_same_404_as_the_other_task_routes() {
    let (_emu, c) = start_default().await;
    let id = "00000000-0000-0000-0000-000000000000";
    let show = c.get(&format!("/v3/tasks/{id}")).await;
    let cons = c.get(&format!("/v3/tasks/{id}/consistency-result")).await;
    let msg = cons.json_error(404, "SMS.2252", Shape::Sms);
    assert_eq!(msg, show.json_error(404, "SMS.2252", Shape::Sms));
    // The check's results are read-only here: other methods are refused like elsewhere.
    let put = c
        .call("PUT", &format!("/v3/tasks/{id}/consistency-result"), None)
        .await;
    put.json_error(405, "SMS.2003", Shape::Sms);
}
