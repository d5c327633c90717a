//! Model tests against bodies in the shape of the API pages.

use super::*;

#[test]
fn task_state_unknown_round_trips() {
    for s in ["READY", "MIGRATE_SUCCESS", "SYNC_F_ROLLBACK_SUCCESS"] {
        assert!(!TaskState::parse(s).is_unknown(), "{s}");
    }
    let v: TaskState = serde_json::from_str("\"QUANTUM\"").unwrap();
    assert_eq!(serde_json::to_string(&v).unwrap(), "\"QUANTUM\"");
}

#[test]
fn copystate_accepts_both_cases_and_init() {
    let r: ChangeStateRequest =
        serde_json::from_str(r#"{"copystate":"REPLICATE","migrationcycle":"replicating"}"#)
            .unwrap();
    assert_eq!(r.copystate, Some(SourceState::Replicate));
    assert_eq!(SourceState::parse("init"), SourceState::Initialize);
    assert_eq!(SourceState::parse("INIT"), SourceState::Initialize);
    assert_eq!(SourceState::parse("initialize").as_str(), "initialize");
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"copystate":"replicate","migrationcycle":"replicating"}"#
    );
}

#[test]
fn every_operation_of_seed_003_is_known() {
    for op in [
        "start",
        "stop",
        "test",
        "cutover",
        "clone_test",
        "restart",
        "network_check",
        "skip",
        "clear",
        "migration_test",
        "error_for_overspeed",
    ] {
        let body: TaskActionRequest =
            serde_json::from_str(&format!(r#"{{"operation":"{op}"}}"#)).unwrap();
        assert!(!body.operation.is_unknown(), "{op}");
        assert_eq!(body.operation.as_str(), op);
    }
    let body = TaskActionRequest {
        template_id: Some("tpl".into()),
        ..TaskActionRequest::new(Operation::CloneTest)
    };
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"operation":"clone_test","template_id":"tpl"}"#
    );
}

#[test]
fn create_task_serializes_type_and_skips_unset_fields() {
    let req = CreateTaskRequest {
        name: "web-01".into(),
        task_type: TaskType::MigrateBlock,
        os_type: Some(OsType::Linux),
        source_server: SourceServerRef { id: "src".into() },
        target_server: TargetServerSpec {
            name: "web-01-target".into(),
            ..Default::default()
        },
        region_name: "ap-southeast-3".into(),
        region_id: "ap-southeast-3".into(),
        project_name: "ap-southeast-3".into(),
        project_id: "0123".into(),
        syncing: Some(true),
        speed_limit: Some(200),
        ..Default::default()
    };
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["type"], "MIGRATE_BLOCK");
    assert_eq!(v["target_server"]["vm_id"], "");
    assert_eq!(v["syncing"], true);
    assert!(v.get("priority").is_none());
    let back: CreateTaskRequest = serde_json::from_value(v).unwrap();
    assert_eq!(back, req);
}

#[test]
fn show_task_tolerates_nulls_and_unknown_fields() {
    let body = r#"{
        "id":"7a9a","name":"t","type":"MIGRATE_BLOCK","os_type":"LINUX","state":"RUNNING","priority":1,
        "speed_limit":0,"create_date":1598435778000,"start_date":null,"finish_date":null,
        "source_server":{"id":"s","name":"web","state":"replicate","migration_cycle":"replicating","new":1},
        "target_server":{"vm_id":"","name":"web-t","disks":[{"name":"disk0","size":42949672960,"device_use":"BOOT","physical_volumes":null}]},
        "sub_tasks":[{"id":1,"name":"CREATE_CLOUD_SERVER","progress":100,"start_date":1,"end_date":2,"user_op":"REPLICATE"},
                     {"id":2,"name":"MIGRATE_LINUX_BLOCK","progress":42,"end_date":null}],
        "clone_server":null,"network_check_info":null,"brand_new":{"x":1}
    }"#;
    let t: Task = serde_json::from_str(body).unwrap();
    assert_eq!(t.state, Some(TaskState::Running));
    assert_eq!(t.sub_tasks.len(), 2);
    assert_eq!(t.sub_tasks[1].progress, 42);
    assert_eq!(
        t.source_server
            .as_ref()
            .and_then(|s| s.migration_cycle.clone()),
        Some(MigrationCycle::Replicating)
    );
    let disks = t.target_server.and_then(|s| s.disks).unwrap();
    assert_eq!(disks[0].device_use, Some(DeviceUse::Boot));
    assert!(disks[0].physical_volumes.is_empty());
}

#[test]
fn list_sources_and_empty_pages() {
    let r: ListSourcesResponse =
        serde_json::from_str(r#"{"count":2,"source_servers":[]}"#).unwrap();
    assert_eq!(r.count, 2);
    assert!(r.source_servers.is_empty());
    let r: ListSourcesResponse =
        serde_json::from_str(r#"{"count":1,"source_servers":[{"id":"a","name":"web","state":"waiting","connected":true,"add_date":1}]}"#)
            .unwrap();
    assert_eq!(r.source_servers[0].state, Some(SourceState::Waiting));
}

#[test]
fn template_is_template_accepts_string_and_bool() {
    let t: TemplateEnvelope = serde_json::from_str(
        r#"{"template":{"id":"x","name":"tpl","is_template":"true","target_password":"pw"}}"#,
    )
    .unwrap();
    assert_eq!(t.template.is_template, Some(true));
    assert!(!format!("{t:?}").contains("pw\""));
    let t: TemplateEnvelope =
        serde_json::from_str(r#"{"template":{"name":"tpl","is_template":false}}"#).unwrap();
    assert_eq!(t.template.is_template, Some(false));
}

#[test]
fn speed_limits_round_trip() {
    let body = r#"{"speed_limit":[{"start":"00:00","end":"23:59","speed":100,"over_speed_threshold":50.0}]}"#;
    let s: SpeedLimits = serde_json::from_str(body).unwrap();
    assert_eq!(s.speed_limit[0].speed, 100);
    assert_eq!(serde_json::to_string(&s).unwrap(), body);
}
