//! Migration tasks: `/v3/tasks`, `/v3/tasks/{id}`, `.../action`, `.../speed-limit`, `.../progress`.

use super::PhysicalVolume;
use super::{
    CloneState, DeviceUse, MigrationCycle, Operation, OsType, SourceState, TaskState, TaskType,
};
use crate::value::null_as_empty;
use serde::{Deserialize, Serialize};

/// `{"id": ...}` reference to a source server in a create body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceServerRef {
    /// The source server id.
    pub id: String,
}

/// The target of a new task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetServerSpec {
    /// Target server name.
    pub name: String,
    /// Existing ECS id, or `""` when the target is created from a template.
    pub vm_id: String,
    /// Target disks; `None` lets the service derive them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<TargetDisk>>,
    /// Volume groups (untyped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_groups: Option<Vec<serde_json::Value>>,
    /// Btrfs file systems (untyped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btrfs_list: Option<Vec<serde_json::Value>>,
}

/// A target disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TargetDisk {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_use: Option<DeviceUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_id: Option<String>,
    pub name: String,
    #[serde(
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub physical_volumes: Vec<PhysicalVolume>,
    /// Bytes.
    pub size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_index: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_disk: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_style: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<String>,
}

/// Body of `POST /v3/tasks` (`PostTask`, REFERENCE §1.4). Answer: [`super::IdResponse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateTaskRequest {
    /// Task name: letters, digits, `_`, `-`.
    pub name: String,
    /// `MIGRATE_FILE` or `MIGRATE_BLOCK`.
    #[serde(rename = "type")]
    pub task_type: TaskType,
    /// `WINDOWS` or `LINUX`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    /// The source server.
    pub source_server: SourceServerRef,
    /// The target server.
    pub target_server: TargetServerSpec,
    /// Target region name.
    pub region_name: String,
    /// Target region id.
    pub region_id: String,
    /// Target project name.
    pub project_name: String,
    /// Target project id.
    pub project_id: String,
    /// 0 low, 1 standard, 2 high.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Launch the target after migration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_target_server: Option<bool>,
    /// Start migrating right after creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_start: Option<bool>,
    /// Target IP when migrating to an existing ECS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_ip: Option<String>,
    /// Template used to create the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_template_id: Option<String>,
    /// Template used for a clone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clonevm_template_id: Option<String>,
    /// Migrate over the public network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_public_ip: Option<bool>,
    /// Migrate over IPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_ipv6: Option<bool>,
    /// Keep syncing incrementally after the first full copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syncing: Option<bool>,
    /// The target is an existing ECS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exist_server: Option<bool>,
    /// Run a network check at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_network_check: Option<bool>,
    /// Mbit/s, 0..1000 (0 = unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_limit: Option<i32>,
    /// Percent, 10..100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_speed_threshold: Option<f64>,
    /// Enable the consistency check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_need_consistency_check: Option<bool>,
    /// Enable the migration drill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_migration_test: Option<bool>,
    /// Enterprise project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
}

/// Block-level migration, the usual choice.
#[allow(clippy::derivable_impls)] // the enum is declared by a macro
impl Default for TaskType {
    fn default() -> Self {
        TaskType::MigrateBlock
    }
}

/// Query of `GET /v3/tasks` (`limit` 0..200).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ListTasksQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_server_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
}

/// Answer of `GET /v3/tasks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListTasksResponse {
    /// Total matching the filters, independent of paging.
    pub count: u64,
    /// This page.
    #[serde(deserialize_with = "null_as_empty")]
    pub tasks: Vec<Task>,
}

/// A migration task, as listed (`GET /v3/tasks`) or shown (`GET /v3/tasks/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // field names are the API's; see REFERENCE §1.5
pub struct Task {
    pub id: String,
    pub name: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub task_type: Option<TaskType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Mbit/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_template_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_target_server: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exist_server: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_public_ip: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_ipv6: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syncing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_migration_test: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_server: Option<TaskSourceServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_server: Option<TaskTargetServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone_server: Option<CloneServer>,
    /// Agent connected (detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// Epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate_complete_time: Option<i64>,
    /// Epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_date: Option<i64>,
    /// Epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<i64>,
    /// Epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_date: Option<i64>,
    /// Mbit/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_speed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress_rate: Option<f64>,
    /// JSON text describing the last error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_json: Option<String>,
    /// Milliseconds spent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remain_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_snapshot_id: Option<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub sub_tasks: Vec<SubTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_check_info: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_collect_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtask_info: Option<String>,
}

/// `source_server` inside a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TaskSourceServer {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oem_system: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<SourceState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_cycle: Option<MigrationCycle>,
}

/// `target_server` inside a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TaskTargetServer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<TargetDisk>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_groups: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btrfs_list: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_disk_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutovered_snapshot_ids: Option<String>,
}

/// `clone_server` inside a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct CloneServer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone_state: Option<CloneState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
}

/// A subtask of a task (`CREATE_CLOUD_SERVER`, `MIGRATE_LINUX_BLOCK`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubTask {
    /// Subtask id.
    pub id: i64,
    /// Subtask name, e.g. `MIGRATE_LINUX_BLOCK`.
    pub name: String,
    /// Percent 0..100.
    pub progress: i32,
    /// Epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<i64>,
    /// Epoch ms; `null` until done.
    pub end_date: Option<i64>,
    /// Mbit/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_speed: Option<f64>,
    /// e.g. `REPLICATE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_op: Option<String>,
    /// Free text trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_trace: Option<String>,
}

/// Body of `PUT /v3/tasks/{task_id}` (`PutTaskReq`): every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct UpdateTaskRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub task_type: Option<TaskType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_target_server: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exist_server: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_ip: Option<String>,
    /// Mbit/s, 0..10000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_template_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_server: Option<TaskSourceServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_server: Option<TaskTargetServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate_complete_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_speed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub float_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remain_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_snapshot_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone_server: Option<CloneServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_tasks: Option<Vec<SubTask>>,
}

/// Body of `POST /v3/tasks/{task_id}/action` (answer: 200 with `{}` or an empty body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskActionRequest {
    /// The operation.
    pub operation: Operation,
    /// Template for `clone_test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// Switch the target OS to Huawei Cloud EulerOS (Linux only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_hce: Option<bool>,
    /// Enable the consistency check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_need_consistency_check: Option<bool>,
}

impl TaskActionRequest {
    /// An action body with only `operation` set.
    pub fn new(operation: Operation) -> Self {
        TaskActionRequest {
            operation,
            template_id: None,
            switch_hce: None,
            is_need_consistency_check: None,
        }
    }
}

/// One time window of a speed limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpeedLimitWindow {
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
    /// Mbit/s, 0..1000.
    pub speed: i32,
    /// Percent, 10..100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_speed_threshold: Option<f64>,
}

/// Body of `POST` and answer of `GET /v3/tasks/{task_id}/speed-limit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpeedLimits {
    /// The windows.
    #[serde(deserialize_with = "null_as_empty")]
    pub speed_limit: Vec<SpeedLimitWindow>,
}

/// Body of `PUT /v3/tasks/{task_id}/progress` (the Agent's progress report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ProgressReport {
    pub subtask_name: String,
    /// Percent 0..100.
    pub progress: i32,
    /// Bytes.
    pub replicatesize: i64,
    /// Bytes.
    pub totalsize: i64,
    pub process_trace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_speed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remain_time: Option<i64>,
}
