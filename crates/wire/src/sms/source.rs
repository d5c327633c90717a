//! Source servers: `GET/POST /v3/sources`, `GET /v3/sources/{id}`, `PUT .../changestate`.

use super::{DeviceUse, Firmware, MigrationCycle, OsType, SourceState, TaskState, TaskType};
use crate::value::null_as_empty;
use serde::{Deserialize, Serialize};

/// Query of `GET /v3/sources` (all optional; `limit` 0..200, 0 meaning the default 200).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListSourcesQuery {
    /// Filter by source state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<SourceState>,
    /// Filter by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Filter by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Filter by IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Filter by migration project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migproject: Option<String>,
    /// Page size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Items to skip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Filter by migration cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_cycle: Option<MigrationCycle>,
    /// Filter by Agent connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// Filter by enterprise project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
    /// Filter by whether consistency-check results exist (newer API versions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_consistency_result_exist: Option<bool>,
}

/// Answer of `GET /v3/sources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListSourcesResponse {
    /// Total matching the filters, independent of paging.
    pub count: u64,
    /// This page.
    #[serde(deserialize_with = "null_as_empty")]
    pub source_servers: Vec<SourceServer>,
}

/// A source server, as listed (`GET /v3/sources`) or shown (`GET /v3/sources/{id}`).
/// Fields only the detail view has are `None` in lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // field names are the API's; see REFERENCE §1.2
pub struct SourceServer {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
    /// Registration time, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oem_system: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<SourceState>,
    /// Whether the Agent is connected to SMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<Firmware>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quantity: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// Detail only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<ServerDisk>>,
    /// Detail only; passed through untyped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_groups: Option<Vec<serde_json::Value>>,
    /// Detail only; passed through untyped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btrfs_list: Option<Vec<serde_json::Value>>,
    /// Detail only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<Network>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_task: Option<TaskBrief>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<EnvironmentCheck>>,
    /// Recommended target layout; Terraform builds default target disks from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_target_server: Option<InitTargetServer>,
    /// Bytes replicated so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicatesize: Option<i64>,
    /// Bytes to replicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totalsize: Option<i64>,
    /// Last `migration_cycle` change, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_action_time: Option<i64>,
    /// Last `state` change, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_action_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_visit_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_cycle: Option<MigrationCycle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_consistency_result_exist: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_tc: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// A disk of a source server (also the shape of `init_target_server.disks`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ServerDisk {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_style: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_use: Option<DeviceUse>,
    /// Bytes.
    pub size: i64,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_size: Option<i64>,
    #[serde(deserialize_with = "null_as_empty")]
    pub physical_volumes: Vec<PhysicalVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_disk: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inode_size: Option<i64>,
}

/// A partition / physical volume of a disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct PhysicalVolume {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_use: Option<DeviceUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_point: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inode_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_size: Option<i64>,
}

/// A network interface of a source server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Network {
    pub name: String,
    pub ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netmask: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `init_target_server`: the recommended target layout of a source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InitTargetServer {
    /// Recommended target disks.
    #[serde(deserialize_with = "null_as_empty")]
    pub disks: Vec<ServerDisk>,
    /// Recommended volume groups (untyped).
    #[serde(deserialize_with = "null_as_empty")]
    pub volume_groups: Vec<serde_json::Value>,
}

/// An environment check result of a source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct EnvironmentCheck {
    pub id: i64,
    pub name: String,
    /// `OK`, `WARN` or `ERROR`.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_or_warn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_params: Option<String>,
}

/// `current_task` of a source: a brief of the task migrating it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TaskBrief {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub task_type: Option<TaskType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate_complete_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_limit: Option<i32>,
    /// Mbit/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_speed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_target_server: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_template_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exist_server: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_public_ip: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remain_seconds: Option<i64>,
    /// Current subtask and its progress, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtask_info: Option<String>,
}

/// Body of `POST /v3/sources` (Agent registration; also how an emulator is seeded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct RegisterSourceRequest {
    pub name: String,
    pub os_type: Option<OsType>,
    pub os_version: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub networks: Vec<Network>,
    pub agent_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<Firmware>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quantity: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub disks: Vec<ServerDisk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btrfs_list: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_groups: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_rsync: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paravirtualization: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_loader: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_cycle: Option<MigrationCycle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<SourceState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oem_system: Option<bool>,
}

/// Body of `PUT /v3/sources/{source_id}/changestate` (note: `migrationcycle`, no underscore).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeStateRequest {
    /// New source state; upper- and lower-case spellings are accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copystate: Option<SourceState>,
    /// New migration cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrationcycle: Option<MigrationCycle>,
}

/// Body of `PUT /v3/sources/{source_id}` (UpdateServerName).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateSourceRequest {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Migration project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migprojectid: Option<String>,
}
