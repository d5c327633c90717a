//! Every error is JSON in the body shape of the path's service: oversized bodies, router
//! rejections (unknown route, wrong method, malformed path parameters, bad JSON, bad query),
//! malformed DCS project ids.

use crate::common::{PROJECT, Shape, config, start, start_default};
use serde_json::{Value, json};

/// Over the 4 MiB limit.
const BIG: usize = 5 << 20;

fn big_json() -> Value {
    json!({"name": "x".repeat(BIG)})
}

#[tokio::test]
async fn oversized_bodies_are_413_in_the_service_shape() {
    let (_emu, c) = start_default().await;
    let big = big_json();

    // Signed or not: the size is checked first (no signature can be checked over a body
    // that is not kept).
    let r = c.post("/v3/tasks", big.clone()).await;
    let msg = r.json_error(413, "SMS.2004", Shape::Sms);
    assert!(msg.contains("4194304"), "{msg}");
    let unsigned = c
        .raw(
            "POST",
            "/v3/sources",
            Some(serde_json::to_vec(&big).unwrap()),
            &[("content-type", "application/json")],
        )
        .await;
    unsigned.json_error(413, "SMS.2004", Shape::Sms);

    c.post(&format!("/v2/{PROJECT}/migration/instance"), big.clone())
        .await
        .json_error(413, "DCS.4800", Shape::Dcs);
    let admin = c
        .raw(
            "POST",
            "/_emulator/sources",
            Some(serde_json::to_vec(&big).unwrap()),
            &[],
        )
        .await;
    admin.json_error(413, "EMULATOR.0413", Shape::Admin);
    let elsewhere = c
        .raw("PUT", "/v1/anything", Some(vec![b'x'; BIG]), &[])
        .await;
    elsewhere.json_error(413, "APIG.0201", Shape::Apig);

    // Nothing was executed; the three API requests are in the log as 413s.
    let state = c.admin("GET", "/_emulator/state", None).await;
    assert_eq!(
        (
            state["sources"].as_array().map(Vec::len),
            state["dcs_tasks"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let log = c.admin("GET", "/_emulator/requests", None).await;
    let statuses: Vec<(String, u64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("/v3/tasks".to_owned(), 413),
            ("/v3/sources".to_owned(), 413),
            (format!("/v2/{PROJECT}/migration/instance"), 413),
        ]
    );

    // Just under the limit (and over axum's 2 MB default) the body reaches the handler:
    // signature verified, then refused for its content.
    let r = c
        .post("/v3/tasks", json!({"name": "y".repeat(3 << 20)}))
        .await;
    r.json_error(400, "SMS.1001", Shape::Sms);
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_service_shape() {
    let (_emu, c) = start_default().await;
    // SMS documents no URL-not-found code: the API gateway's answer.
    c.get("/v3/nothing-here")
        .await
        .json_error(404, "APIG.0101", Shape::Apig);
    c.get(&format!("/v2/{PROJECT}/nothing-here"))
        .await
        .json_error(404, "DCS.4001", Shape::Dcs);
    c.raw("GET", "/_emulator/nothing-here", None, &[])
        .await
        .json_error(404, "EMULATOR.0404", Shape::Admin);
    c.raw("GET", "/", None, &[])
        .await
        .json_error(404, "APIG.0101", Shape::Apig);
    // Admin: failing an unknown task.
    c.raw("POST", "/_emulator/fail/no-such-task", None, &[])
        .await
        .json_error(404, "EMULATOR.0404", Shape::Admin);
}

#[tokio::test]
async fn wrong_methods_are_405_in_the_service_shape() {
    let (_emu, c) = start_default().await;
    let r = c.call("DELETE", "/v3/tasks", None).await;
    let msg = r.json_error(405, "SMS.2003", Shape::Sms);
    let allow = r
        .headers
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        allow.contains("GET") && allow.contains("POST"),
        "allow {allow:?}"
    );
    assert!(msg.contains("/v3/tasks"), "{msg}");
    c.get(&format!("/v2/{PROJECT}/migration/instance"))
        .await
        .json_error(405, "DCS.4001", Shape::Dcs);
    c.raw("GET", "/_emulator/reset", None, &[])
        .await
        .json_error(405, "EMULATOR.0405", Shape::Admin);
    let log = c.admin("GET", "/_emulator/requests", None).await;
    assert_eq!(log[0]["status"], 405);
    assert_eq!(log[0]["route"], "/v3/tasks");
}

#[tokio::test]
async fn malformed_path_parameters_are_400_in_the_service_shape() {
    let (_emu, c) = start_default().await;
    // `%FF` is not UTF-8 (signed over the decoded path, as the Python SDK does).
    let msg = c
        .get("/v3/tasks/%FF")
        .await
        .json_error(400, "SMS.1001", Shape::Sms);
    assert!(msg.contains("task_id"), "{msg}");
    c.call("PUT", "/v3/sources/%FF/changestate", Some(json!({})))
        .await
        .json_error(400, "SMS.1001", Shape::Sms);
    let msg = c
        .get(&format!("/v2/{PROJECT}/migration-task/%FF"))
        .await
        .json_error(400, "DCS.4070", Shape::Dcs);
    assert!(msg.contains("task_id"), "{msg}");
    c.get(&format!("/v2/{PROJECT}/jobs/%C3%28"))
        .await
        .json_error(400, "DCS.4800", Shape::Dcs);
    c.raw("POST", "/_emulator/fail/%FF", None, &[])
        .await
        .json_error(400, "EMULATOR.0400", Shape::Admin);
}

#[tokio::test]
async fn bad_json_and_bad_queries_are_400_in_the_service_shape() {
    let (_emu, c) = start_default().await;
    let r = c
        .send_prepared(c.prepare_bytes("POST", "/v3/tasks", b"{not json".to_vec()))
        .await
        .unwrap();
    r.json_error(400, "SMS.1001", Shape::Sms);
    let r = c
        .send_prepared(c.prepare_bytes(
            "POST",
            &format!("/v2/{PROJECT}/migration/instance"),
            b"{not json".to_vec(),
        ))
        .await
        .unwrap();
    r.json_error(400, "DCS.4005", Shape::Dcs);
    c.raw(
        "POST",
        "/_emulator/clock/advance",
        Some(b"{not json".to_vec()),
        &[],
    )
    .await
    .json_error(400, "EMULATOR.0400", Shape::Admin);
    c.raw(
        "POST",
        "/_emulator/clock/advance",
        Some(br#"{"seconds": -5}"#.to_vec()),
        &[],
    )
    .await
    .json_error(400, "EMULATOR.0400", Shape::Admin);
    c.raw(
        "POST",
        "/_emulator/sources",
        Some(br#"{"name": ["a"]}"#.to_vec()),
        &[],
    )
    .await
    .json_error(400, "EMULATOR.0400", Shape::Admin);

    c.get("/v3/tasks?limit=abc")
        .await
        .json_error(400, "SMS.1001", Shape::Sms);
    c.get(&format!("/v2/{PROJECT}/migration-tasks?offset=-1"))
        .await
        .json_error(400, "DCS.4800", Shape::Dcs);
    c.raw("GET", "/_emulator/requests?since=abc", None, &[])
        .await
        .json_error(400, "EMULATOR.0400", Shape::Admin);
    // A valid `since` still works.
    assert_eq!(
        c.admin("GET", "/_emulator/requests?since=0", None)
            .await
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}

#[tokio::test]
async fn dcs_project_ids_must_be_project_ids() {
    let mut cfg = config();
    cfg.token = Some("tok-project".into());
    let (_emu, c) = start(cfg).await;
    // The traversal that used to answer 200: signed (with X-Project-Id) ...
    let msg =
        c.get("/v2/..%2F..%2Fv3/migration-tasks")
            .await
            .json_error(400, "DCS.4002", Shape::Dcs);
    assert!(msg.contains("32 lower-case hexadecimal"), "{msg}");
    // ... and with a token (no X-Project-Id to mismatch).
    let token = [("x-auth-token", "tok-project")];
    c.raw("GET", "/v2/..%2F..%2Fv3/migration-tasks", None, &token)
        .await
        .json_error(400, "DCS.4002", Shape::Dcs);
    for bad in [
        PROJECT.to_uppercase(),
        PROJECT[..31].to_owned(),
        format!("{PROJECT}0"),
        "g".repeat(32),
        "my-project".to_owned(),
        format!("%61{}", &PROJECT[1..]),
    ] {
        c.raw("GET", &format!("/v2/{bad}/migration-tasks"), None, &token)
            .await
            .json_error(400, "DCS.4002", Shape::Dcs);
    }
    // Nothing is created under a malformed project.
    let body = serde_json::to_vec(
        &json!({"name": "x", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}),
    )
    .unwrap();
    c.raw(
        "POST",
        "/v2/..%2F..%2Fv3/migration/instance",
        Some(body),
        &[token[0], ("content-type", "application/json")],
    )
    .await
    .json_error(400, "DCS.4002", Shape::Dcs);
    let state = c.admin("GET", "/_emulator/state", None).await;
    assert_eq!(state["dcs_tasks"], json!([]));

    // A real project id still works.
    let ok = c
        .raw(
            "GET",
            &format!("/v2/{PROJECT}/migration-tasks"),
            None,
            &token,
        )
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["count"], 0);
    // A well-formed project id that is not the signer's is still 401 DCS.1004.
    c.get(&format!("/v2/{}/migration-tasks", "f".repeat(32)))
        .await
        .json_error(401, "DCS.1004", Shape::Dcs);
}
