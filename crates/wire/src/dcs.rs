//! DCS v2 online Redis data migration wire types (paths under `/v2/{project_id}`).
//!
//! DCS times are strings. Passwords are [`Redacted`]: they travel on the wire but never print.

use crate::open_enum::open_enum;
use crate::value::{BandwidthMb, Redacted, null_as_empty, string_or_number};
use serde::{Deserialize, Serialize};

open_enum! {
    /// A migration task's `status` (REFERENCE §4.8). The service spells incremental
    /// migration `INCRMIGEATING`; `INCRMIGRATING` is accepted as the same value.
    pub enum MigrationStatus {
        /// Done (full migration).
        Success => "SUCCESS",
        /// Failed.
        Failed => "FAILED",
        /// Migrating.
        Migrating => "MIGRATING",
        /// Stopped.
        Terminated => "TERMINATED",
        /// Stopping.
        Terminating => "TERMINATING",
        /// Created, waiting to be configured.
        Running => "RUNNING",
        /// Being created.
        Creating => "CREATING",
        /// Full copy in progress.
        FullMigrating => "FULLMIGRATING",
        /// Incremental sync in progress (sic).
        IncrMigrating => "INCRMIGEATING" | "INCRMIGRATING",
        /// Error.
        Error => "ERROR",
        /// Deleted.
        Deleted => "DELETED",
        /// Migration ECS released.
        Released => "RELEASED",
        /// Done, resources being cleaned.
        MigrationSuccess => "MIGRATION_SUCCESS",
        /// Failed, resources being cleaned.
        MigrationFailed => "MIGRATION_FAILED",
    }
}

open_enum! {
    /// `migration_method`.
    pub enum MigrationMethod {
        /// One full copy.
        FullAmount => "full_amount_migration",
        /// Full copy, then continuous incremental sync.
        Incremental => "incremental_migration",
    }
}

open_enum! {
    /// `resume_mode`.
    pub enum ResumeMode {
        /// Reconnect automatically.
        Auto => "auto",
        /// Reconnect manually.
        Manual => "manual",
    }
}

open_enum! {
    /// `migration_type`.
    pub enum MigrationType {
        /// Import from backup files.
        BackupfileImport => "backupfile_import",
        /// Online migration.
        OnlineMigration => "online_migration",
    }
}

open_enum! {
    /// Status of an asynchronous job (`GET /v2/{project_id}/jobs/{job_id}`).
    pub enum JobStatus {
        /// Queued.
        Init => "INIT",
        /// Running.
        Running => "RUNNING",
        /// Done.
        Success => "SUCCESS",
        /// Failed.
        Fail => "FAIL",
    }
}

/// Body of `POST /v2/{project_id}/migration/instance` (create an online migration task).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct CreateOnlineTaskRequest {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub vpc_id: String,
    /// The subnet's network id.
    pub subnet_id: String,
    pub security_group_id: String,
}

/// Answer of create: the task id (`instance_id`) and the job creating it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateOnlineTaskResponse {
    /// The migration task id.
    pub instance_id: String,
    /// The job that creates the migration ECS (not in the docs, but Terraform needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// An asynchronous job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Job {
    pub job_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
    /// Epoch ms as a string.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub begin_time: Option<String>,
    /// Epoch ms as a string.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
}

/// Source or target of a configure request: an instance `id`, or `addrs` (`ip:port,...`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigInstance {
    /// DCS instance id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Comma-separated `ip:port` list of a self-hosted Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addrs: Option<String>,
    /// Redis password, if auth is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Redacted>,
}

/// Body of `POST /v2/{project_id}/migration/{task_id}/task` (configure, seed 004).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigureTaskRequest {
    /// Full or incremental.
    pub migration_method: MigrationMethod,
    /// Reconnect mode.
    pub resume_mode: ResumeMode,
    /// MB/s, 1..10240; string or number on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_limit_mb: Option<BandwidthMb>,
    /// Source Redis.
    pub source_instance: ConfigInstance,
    /// Target Redis.
    pub target_instance: ConfigInstance,
}

/// Answer of configure: `{"id","name","status","error"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ConfigureTaskResponse {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<MigrationStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Source/target instance inside a task detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TaskInstance {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addrs: Option<String>,
    /// Echoed by the service in examples; never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Redacted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub port: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_multi_db: Option<bool>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub db: Option<String>,
}

/// Answer of `GET /v2/{project_id}/migration-task/{task_id}` (also of `.../stop`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // field names are the API's; see REFERENCE §4.4
pub struct MigrationTask {
    pub task_id: String,
    pub task_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<MigrationStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_type: Option<MigrationType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_method: Option<MigrationMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecs_tenant_private_ip: Option<String>,
    /// `vpc` or `vpn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_instance: Option<TaskInstance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_instance: Option<TaskInstance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_mode: Option<ResumeMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_features: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_vpc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_subnet_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_security_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth_limit_mb: Option<BandwidthMb>,
    /// `EXCHANGING` while switching IPs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_status: Option<String>,
}

/// Query of `GET /v2/{project_id}/migration-tasks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ListMigrationTasksQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Answer of the list call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListMigrationTasksResponse {
    /// Total, independent of paging.
    pub count: u64,
    /// This page.
    #[serde(deserialize_with = "null_as_empty")]
    pub migration_tasks: Vec<MigrationTaskListItem>,
}

/// An item of the list call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // field names are the API's; see REFERENCE §4.5
pub struct MigrationTaskListItem {
    pub task_id: String,
    pub task_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<MigrationStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_type: Option<MigrationType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_method: Option<MigrationMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecs_tenant_private_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_instance_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_instance_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_instance_addrs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_instance_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_instance_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_mode: Option<ResumeMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_features: Option<Vec<String>>,
}

/// `{"migration_tasks": [ids]}`: body of batch-stop and batch-restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchTasksRequest {
    /// Task ids.
    pub migration_tasks: Vec<String>,
}

/// Per-task result of a batch call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct BatchTaskResult {
    /// `success` or `failed`.
    pub result: String,
    pub task_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
}

/// Answer of batch-stop and batch-restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchTasksResponse {
    /// One result per task.
    #[serde(deserialize_with = "null_as_empty")]
    pub migration_tasks: Vec<BatchTaskResult>,
}

/// `{"task_id_list": [ids]}`: body and answer of `DELETE .../migration-tasks/delete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteTasksBody {
    /// Task ids.
    #[serde(deserialize_with = "null_as_empty")]
    pub task_id_list: Vec<String>,
}

/// Body of `PUT /v2/{project_id}/migration-task/{task_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateResumeModeRequest {
    /// The new mode.
    pub resume_mode: ResumeMode,
}

/// Answer of `GET .../migration-task/{task_id}/stats`; numbers arrive as strings or bare
/// numbers and are kept as text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct MigrationStats {
    /// Percent, e.g. `"100%"` or `"42"`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub full_migration_progress: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub offset: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub source_dbsize: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub target_dbsize: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub target_input_kbps: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub target_ops: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_migrating: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_body_of_seed_004_parses_and_hides_the_password() {
        let body = r#"{ "migration_method" : "incremental_migration", "bandwidth_limit_mb" : 123, "resume_mode" : "auto",
            "source_instance" : { "id" : null, "addrs" : "192.168.1.1:6379,192.168.0.0:6379", "password" : "xxxxxx" },
            "target_instance" : { "id" : "cf4a05df-1c38-47c5-bb5a-0a7b3673b3bd", "addrs" : null, "password" : null } }"#;
        let req: ConfigureTaskRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.migration_method, MigrationMethod::Incremental);
        assert_eq!(req.bandwidth_limit_mb, Some(BandwidthMb(123)));
        assert_eq!(
            req.source_instance.password.as_ref().map(Redacted::expose),
            Some("xxxxxx")
        );
        assert!(!format!("{req:?}").contains("xxxxxx"));
        let out = serde_json::to_value(&req).unwrap();
        assert_eq!(out["bandwidth_limit_mb"], "123");
        assert_eq!(out["source_instance"]["password"], "xxxxxx");
    }

    #[test]
    fn incremental_status_spellings() {
        let a: MigrationStatus = serde_json::from_str("\"INCRMIGEATING\"").unwrap();
        let b: MigrationStatus = serde_json::from_str("\"INCRMIGRATING\"").unwrap();
        assert_eq!(a, MigrationStatus::IncrMigrating);
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"INCRMIGEATING\"");
        let c: MigrationStatus = serde_json::from_str("\"EXCHANGING\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"EXCHANGING\"");
    }

    #[test]
    fn stats_accept_numbers_and_strings() {
        let s: MigrationStats = serde_json::from_str(
            r#"{"full_migration_progress":"100","offset":12,"source_dbsize":3,"target_dbsize":"3","is_migrating":false}"#,
        )
        .unwrap();
        assert_eq!(s.offset.as_deref(), Some("12"));
        assert_eq!(s.target_dbsize.as_deref(), Some("3"));
        assert_eq!(s.is_migrating, Some(false));
    }

    #[test]
    fn task_detail_ignores_unknown_fields_and_nulls() {
        let t: MigrationTask = serde_json::from_str(
            r#"{"task_id":"t","task_name":"n","status":"RUNNING","new_field":1,"released_at":null,
                "source_instance":{"addrs":"1.2.3.4:6379","password":"secret","port":6379},"bandwidth_limit_mb":"10"}"#,
        )
        .unwrap();
        assert_eq!(t.status, Some(MigrationStatus::Running));
        assert_eq!(t.bandwidth_limit_mb, Some(BandwidthMb(10)));
        assert!(!format!("{t:?}").contains("secret"));
    }
}

/// `GET /v2/{project_id}/instances/{instance_id}` (ShowInstance): the fields migplan reads to
/// connect to an instance (the SDK's `ShowInstanceResponse` has many more).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Instance {
    /// Instance id.
    pub instance_id: String,
    /// Instance name.
    pub name: String,
    /// `RUNNING`, `CREATING`, `ERROR`, ...
    pub status: String,
    /// Private address.
    pub ip: String,
    /// Port.
    pub port: u16,
    /// Domain name clients connect to (preferred over `ip` where set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// TLS in transit.
    pub enable_ssl: bool,
    /// `"true"` when no password is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_password_access: Option<String>,
}

impl Instance {
    /// `HOST:PORT` a client connects to: the IP (which the migration ECS also uses), else the
    /// domain name; `None` while the instance has no address.
    pub fn address(&self) -> Option<String> {
        let host = if self.ip.is_empty() {
            self.domain_name.as_deref().filter(|d| !d.is_empty())?
        } else {
            self.ip.as_str()
        };
        if self.port == 0 {
            return None;
        }
        Some(if host.contains(':') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        })
    }
}
