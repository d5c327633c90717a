//! Concurrent callers: every request is answered (no panic, no dropped connection), the world
//! stays consistent, and the request log stays gap-free for `?since=` pollers.
//!
//! Semantics are the service's: SMS task names are not unique (only one task per source),
//! DCS task names are not unique either.

use crate::common::{Answer, Client, PROJECT, start_default};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const N: usize = 16;

/// Sends `n` copies of a request at once and returns every answer.
async fn race(
    c: &Client,
    n: usize,
    method: &'static str,
    path: String,
    body: Value,
) -> Vec<Answer> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let (c, path, body) = (c.clone(), path.clone(), body.clone());
        handles.push(tokio::spawn(async move {
            c.call(method, &path, Some(body)).await
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("request task did not panic"));
    }
    out
}

fn task_body(name: &str, source: &str) -> Value {
    json!({
        "name": name, "type": "MIGRATE_BLOCK", "os_type": "LINUX",
        "source_server": {"id": source}, "target_server": {"name": format!("{name}-t"), "vm_id": ""},
        "region_name": "ap-southeast-3", "region_id": "ap-southeast-3",
        "project_name": "ap-southeast-3", "project_id": PROJECT
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_and_actions_leave_a_consistent_world() {
    let (_emu, c) = start_default().await;

    // Same name, same source: exactly one task; the others are refused for the source.
    let src = c.register("race-01", 1).await;
    let answers = race(&c, N, "POST", "/v3/tasks".into(), task_body("dup", &src)).await;
    let winners: Vec<String> = answers
        .iter()
        .filter(|a| a.status == 200)
        .map(|a| a.body["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for a in answers.iter().filter(|a| a.status != 200) {
        a.err(400, "SMS.1002");
    }
    assert_eq!(
        c.source(&src).await["current_task"]["id"],
        winners[0].as_str()
    );

    // Same name, different sources: all accepted (names are not unique), all distinct.
    let mut sources = Vec::new();
    for i in 0..N {
        sources.push(c.register(&format!("race-src-{i}"), 1).await);
    }
    let mut handles = Vec::new();
    for s in &sources {
        let (c, body) = (c.clone(), task_body("same-name", s));
        handles.push(tokio::spawn(async move { c.post("/v3/tasks", body).await }));
    }
    let mut ids = BTreeSet::new();
    for h in handles {
        ids.insert(h.await.unwrap().ok()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), N);
    let listed = c.get("/v3/tasks?name=same-name").await.ok();
    assert_eq!(listed["count"], N);
    for s in &sources {
        assert!(ids.contains(c.source(s).await["current_task"]["id"].as_str().unwrap()));
    }

    // Racing `start`s of one task: one wins, the rest are refused by state.
    let task = winners[0].clone();
    let answers = race(
        &c,
        N,
        "POST",
        format!("/v3/tasks/{task}/action"),
        json!({"operation": "start"}),
    )
    .await;
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1);
    for a in answers.iter().filter(|a| a.status != 200) {
        a.err(400, "SMS.1039");
    }
    assert_eq!(c.task_state(&task).await, "RUNNING");

    // DCS: same-named creates are all accepted, with distinct ids and jobs.
    let answers = race(
        &c,
        N,
        "POST",
        format!("/v2/{PROJECT}/migration/instance"),
        json!({"name": "cache", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}),
    )
    .await;
    let ids: BTreeSet<String> = answers
        .into_iter()
        .map(|a| a.ok()["instance_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), N);
    let list = c
        .get(&format!("/v2/{PROJECT}/migration-tasks?name=cache"))
        .await
        .ok();
    assert_eq!(list["count"], N);

    // Racing deletes of one task: one succeeds, the rest see it gone; nothing panics.
    let victim = sources[0].clone();
    let vtask = c.source(&victim).await["current_task"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answers = race(&c, N, "DELETE", format!("/v3/tasks/{vtask}"), json!({})).await;
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1);
    for a in answers.iter().filter(|a| a.status != 200) {
        a.err(404, "SMS.2252");
    }
    assert!(c.source(&victim).await["current_task"].is_null());

    // The log is in `seq` order with no gap, whatever order the requests finished in.
    let log = c.admin("GET", "/_emulator/requests", None).await;
    let seqs: Vec<u64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let stats = c.admin("GET", "/_emulator/stats", None).await;
    assert_eq!(stats["requests_total"], seqs.len());
    assert_eq!(c.admin("GET", "/_emulator/health", None).await["ok"], true);
}
