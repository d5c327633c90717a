//! Admin endpoints never hand out secrets: DCS passwords, template passwords, the token, the SK.

use crate::common::{PROJECT, SK, config, secs, start};
use serde_json::json;

const SRC_PW: &str = "redis-src-pw-4f1c";
const TGT_PW: &str = "redis-tgt-pw-9a2e";
const TPL_PW: &str = "Tpl#secret-77b3";
const TOKEN: &str = "iam-token-secret-5d0b";

#[tokio::test]
async fn admin_endpoints_redact_every_secret() {
    let mut cfg = config();
    cfg.token = Some(TOKEN.into());
    let (emu, c) = start(cfg).await;

    let created = c
        .post(
            &format!("/v2/{PROJECT}/migration/instance"),
            json!({"name": "sessions", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}),
        )
        .await
        .ok();
    let id = created["instance_id"].as_str().unwrap().to_owned();
    emu.advance(secs(11));
    c.post(
        &format!("/v2/{PROJECT}/migration/{id}/task"),
        json!({"migration_method": "incremental_migration", "resume_mode": "auto",
               "source_instance": {"addrs": "10.0.0.1:6379", "password": SRC_PW},
               "target_instance": {"id": "cf4a05df", "password": TGT_PW}}),
    )
    .await
    .ok();
    c.post(
        "/v3/vm/templates",
        json!({"template": {"name": "tpl-db", "is_template": true, "region": "ap-southeast-3",
                            "projectid": PROJECT, "target_password": TPL_PW}}),
    )
    .await
    .ok();
    // A token-authenticated call, so the token went through the request path too.
    let by_token = c
        .raw("GET", "/v3/tasks", None, &[("x-auth-token", TOKEN)])
        .await;
    assert_eq!(by_token.status, 200);

    // The API itself still echoes DCS passwords, as the real service's examples do.
    let shown = c
        .get(&format!("/v2/{PROJECT}/migration-task/{id}"))
        .await
        .ok();
    assert_eq!(shown["source_instance"]["password"], SRC_PW);

    let state = c.admin("GET", "/_emulator/state", None).await;
    let config = &state["dcs_tasks"][0]["config"];
    assert_eq!(config["source_instance"]["password"], "***");
    assert_eq!(config["target_instance"]["password"], "***");
    assert_eq!(config["source_instance"]["addrs"], "10.0.0.1:6379");
    assert_eq!(state["templates"][0]["template"]["target_password"], "***");
    assert_eq!(state["templates"][0]["template"]["name"], "tpl-db");

    for path in [
        "/_emulator/health",
        "/_emulator/stats",
        "/_emulator/requests",
        "/_emulator/requests?since=0",
        "/_emulator/clock",
        "/_emulator/state",
    ] {
        let text = c.admin("GET", path, None).await.to_string();
        for secret in [SRC_PW, TGT_PW, TPL_PW, TOKEN, SK] {
            assert!(!text.contains(secret), "{path} shows {secret}: {text}");
        }
    }
    // Error answers of admin endpoints do not echo bodies either.
    let r = c
        .raw(
            "POST",
            "/_emulator/sources",
            Some(format!(r#"{{"name": ["{SRC_PW}"]}}"#).into_bytes()),
            &[],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(!r.body.to_string().contains(SRC_PW), "{}", r.body);
}

#[cfg(unix)]
#[tokio::test]
async fn the_persist_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!(
        "migplan-emulator-secrets-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    // A world-readable temporary file left by an earlier crash is tightened too.
    let leftover = dir.join("state.tmp");
    std::fs::write(&leftover, "{}").unwrap();
    std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cfg = config();
    cfg.persist = Some(file.clone());
    let (emu, c) = start(cfg).await;
    c.register("keep-01", 1).await;
    emu.shutdown().await.unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "persist file mode {mode:o}");
    let _ = std::fs::remove_dir_all(dir);
}
