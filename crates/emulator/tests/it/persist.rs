//! Persistence and seed files.

use crate::common::{config, secs, start};
use migplan_emulator::RunningEmulator;
use serde_json::json;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("migplan-emulator-{tag}-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> String {
    format!(
        "{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = temp_dir("persist");
    let file = dir.join("state.json");
    let mut cfg = config();
    cfg.persist = Some(file.clone());
    let (emu, c) = start(cfg.clone()).await;
    let src = c.register("keep-01", 10).await;
    let task = c.create_task("keep-01", &src, json!({})).await;
    c.action(&task, "start").await.ok();
    emu.advance(secs(100));
    let before = c.task(&task).await;
    emu.shutdown().await.unwrap();
    assert!(file.exists());

    let (emu, c) = start(cfg).await;
    let after = c.task(&task).await;
    assert_eq!(after["state"], "RUNNING");
    assert_eq!(after["sub_tasks"], before["sub_tasks"]);
    emu.advance(secs(3600));
    assert_eq!(c.task_state(&task).await, "MIGRATE_SUCCESS");
    emu.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn seed_files_register_sources_and_reset_reapplies_them() {
    let dir = temp_dir("seed");
    let file = dir.join("seed.yaml");
    std::fs::write(&file, "sources:\n  - name: db-01\n    id: 11111111-2222-3333-4444-555555555555\n    disks:\n      - {name: /dev/vda, size: 1073741824, device_use: BOOT}\n  - name: web-01\n").unwrap();
    let mut cfg = config();
    cfg.seed = Some(file.clone());
    let (_emu, c) = start(cfg.clone()).await;
    let s = c.source("11111111-2222-3333-4444-555555555555").await;
    assert_eq!(s["name"], "db-01");
    assert_eq!(s["disks"][0]["size"], 1_073_741_824_i64);
    c.register("extra", 1).await;
    assert_eq!(c.get("/v3/sources").await.ok()["count"], 3);
    c.admin("POST", "/_emulator/reset", None).await;
    assert_eq!(c.get("/v3/sources").await.ok()["count"], 2);

    std::fs::write(&file, "servers: []\n").unwrap();
    let err = RunningEmulator::start(cfg).await.unwrap_err().to_string();
    assert!(err.contains("seed"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
