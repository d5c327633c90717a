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

#[tokio::test]
async fn a_redacted_state_file_holds_no_secret_and_loads_again() {
    const PW: &str = "persist-pw-31f9";
    let dir = temp_dir("redacted");
    let file = dir.join("state.json");
    let mut cfg = config();
    cfg.persist = Some(file.clone());
    cfg.persist_redacted = true;
    let (emu, c) = start(cfg.clone()).await;
    let created = c
        .post(
            &format!("/v2/{}/migration/instance", crate::common::PROJECT),
            json!({"name": "sessions", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}),
        )
        .await
        .ok();
    let id = created["instance_id"].as_str().unwrap().to_owned();
    emu.advance(secs(11));
    c.post(
        &format!("/v2/{}/migration/{id}/task", crate::common::PROJECT),
        json!({"migration_method": "incremental_migration", "resume_mode": "auto",
               "source_instance": {"addrs": "10.0.0.1:6379", "password": PW},
               "target_instance": {"id": "cf4a05df", "password": PW}}),
    )
    .await
    .ok();
    c.post(
        "/v3/vm/templates",
        json!({"template": {"name": "tpl", "is_template": true, "target_password": PW}}),
    )
    .await
    .ok();
    emu.save().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(PW), "{text}");
    assert!(
        text.contains("10.0.0.1:6379"),
        "only secrets are replaced: {text}"
    );
    emu.shutdown().await.unwrap();
    // No temporary file is left next to it.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);

    let (emu, c) = start(cfg).await;
    let shown = c
        .get(&format!(
            "/v2/{}/migration-task/{id}",
            crate::common::PROJECT
        ))
        .await
        .ok();
    assert_eq!(shown["source_instance"]["password"], "***");
    assert_eq!(shown["source_instance"]["addrs"], "10.0.0.1:6379");
    emu.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_clock_runs_while_stopped_only_when_asked() {
    let dir = temp_dir("clock");
    for runs in [false, true] {
        let file = dir.join(format!("state-{runs}.json"));
        let mut cfg = config();
        cfg.persist = Some(file.clone());
        cfg.time_scale = 1000.0;
        cfg.clock_runs_while_stopped = runs;
        let (emu, _c) = start(cfg.clone()).await;
        emu.shutdown().await.unwrap();
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let saved_now = saved["virtual_now_ms"].as_i64().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let restarted = std::time::Instant::now();
        let (emu, _c) = start(cfg).await;
        let gap = emu.now_ms() - saved_now;
        // Virtual time since the restart began, at most: a clock that resumed where it stopped
        // has run no longer than that, however slow the start was on a loaded machine.
        let since_restart = i64::try_from(restarted.elapsed().as_millis()).unwrap() * 1000;
        // 300 ms stopped at 1000× is 300 virtual seconds more.
        if runs {
            assert!(gap >= 300_000, "{gap} ms");
        } else {
            assert!(
                gap <= since_restart + 1_000,
                "{gap} ms, {since_restart} ms since the restart"
            );
        }
        emu.shutdown().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_naming_it() {
    let dir = temp_dir("corrupt");
    let file = dir.join("state.json");
    let mut cfg = config();
    cfg.persist = Some(file.clone());
    for text in [
        "{not json",
        r#"{"version": 9, "virtual_now_ms": 0, "world": {}}"#,
        r#"{"version": 1, "virtual_now_ms": -5, "world": {}}"#,
    ] {
        std::fs::write(&file, text).unwrap();
        let err = RunningEmulator::start(cfg.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("state.json"), "{err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
