//! SMS v3 (Server Migration Service) wire types: source servers, tasks, templates,
//! consistency-check results.
//!
//! All times are epoch milliseconds. Request types skip `None` fields when serialized;
//! response types accept missing or `null` fields and ignore fields they do not know.

mod consistency;
mod source;
mod task;
mod template;

pub use consistency::*;
pub use source::*;
pub use task::*;
pub use template::*;

use crate::open_enum::open_enum;
use serde::{Deserialize, Serialize};

open_enum! {
    /// A migration task's `state` (REFERENCE §2.1).
    pub enum TaskState {
        /// Created, not started.
        Ready => "READY",
        /// Full copy in progress.
        Running => "RUNNING",
        /// Incremental sync in progress.
        Syncing => "SYNCING",
        /// Full copy done.
        MigrateSuccess => "MIGRATE_SUCCESS",
        /// Sync round done.
        SyncSuccess => "SYNC_SUCCESS",
        /// Full copy failed.
        MigrateFail => "MIGRATE_FAIL",
        /// Sync failed.
        SyncFail => "SYNC_FAIL",
        /// Pausing.
        Aborting => "ABORTING",
        /// Paused.
        Abort => "ABORT",
        /// Skipping (consistency check).
        Skipping => "SKIPPING",
        /// Being deleted.
        Deleting => "DELETING",
        /// Rolling back (sic, one T).
        Reseting => "RESETING",
        /// Rolling back after a sync failure.
        SyncFRollbacking => "SYNC_F_ROLLBACKING",
        /// Rolled back after a sync failure.
        SyncFRollbackSuccess => "SYNC_F_ROLLBACK_SUCCESS",
    }
}

open_enum! {
    /// A source server's `state` (REFERENCE §2.2). The wire form is lower case; the older
    /// upper-case `copystate` spellings and `init` are accepted when parsing.
    pub enum SourceState {
        /// Environment check failed.
        Unavailable => "unavailable",
        /// Waiting.
        Waiting => "waiting",
        /// Initializing.
        Initialize => "initialize" | "init",
        /// Replicating (full copy).
        Replicate => "replicate",
        /// Syncing.
        Syncing => "syncing",
        /// Pausing.
        Stopping => "stopping",
        /// Paused.
        Stopped => "stopped",
        /// Skipping.
        Skipping => "skipping",
        /// Deleting.
        Deleting => "deleting",
        /// Clearing snapshots.
        Clearing => "clearing",
        /// Snapshots cleared.
        Cleared => "cleared",
        /// Clearing failed.
        ClearFailed => "clearfailed",
        /// Migration drill ready.
        PremigReady => "premigready",
        /// Migration drill running.
        Premiging => "premiging",
        /// Migration drill done.
        Premiged => "premiged",
        /// Migration drill failed.
        PremigFailed => "premigfailed",
        /// Cloning the target.
        Cloning => "cloning",
        /// Cutting over.
        Cutovering => "cutovering",
        /// Migration finished.
        Finished => "finished",
        /// Error.
        Error => "error",
        /// No target configured (overview only).
        Unconfigured => "unconfigured",
    }
}

open_enum! {
    /// A source server's `migration_cycle` (REFERENCE §2.3).
    pub enum MigrationCycle {
        /// Environment check.
        Checking => "checking",
        /// Configuring the target.
        Setting => "setting",
        /// Full copy.
        Replicating => "replicating",
        /// Incremental sync.
        Syncing => "syncing",
        /// Cutting over.
        Cutovering => "cutovering",
        /// Cut over.
        Cutovered => "cutovered",
        /// Not ready.
        NoReady => "no_ready",
        /// Ready for a test.
        ReadyForTest => "ready_for_test",
        /// Testing.
        Testing => "testing",
        /// Tested.
        Tested => "tested",
    }
}

open_enum! {
    /// Operating system family.
    pub enum OsType {
        /// Windows.
        Windows => "WINDOWS",
        /// Linux.
        Linux => "LINUX",
    }
}

open_enum! {
    /// Migration task type.
    pub enum TaskType {
        /// File-level migration.
        MigrateFile => "MIGRATE_FILE",
        /// Block-level migration.
        MigrateBlock => "MIGRATE_BLOCK",
    }
}

open_enum! {
    /// `operation` of `POST /v3/tasks/{task_id}/action` (seed 003, plus legacy values).
    pub enum Operation {
        /// Start (or resume) the task.
        Start => "start",
        /// Pause the task.
        Stop => "stop",
        /// Launch the target for testing.
        Test => "test",
        /// Launch the target: the final cutover.
        Cutover => "cutover",
        /// Clone the target for a test (needs `template_id`).
        CloneTest => "clone_test",
        /// Restart a failed task.
        Restart => "restart",
        /// Check the network.
        NetworkCheck => "network_check",
        /// Skip the consistency check subtask.
        Skip => "skip",
        /// Clear snapshot resources.
        Clear => "clear",
        /// Start the migration drill.
        MigrationTest => "migration_test",
        /// The task was paused automatically for exceeding its speed.
        ErrorForOverspeed => "error_for_overspeed",
        /// Legacy: collect logs.
        CollectLog => "collect_log",
        /// Legacy: roll back a failed sync.
        SyncFailedRollback => "sync_failed_rollback",
    }
}

open_enum! {
    /// What a disk or volume is used for.
    pub enum DeviceUse {
        /// Data disk.
        Normal => "NORMAL",
        /// System disk.
        Os => "OS",
        /// Boot disk.
        Boot => "BOOT",
    }
}

open_enum! {
    /// Boot firmware.
    pub enum Firmware {
        /// BIOS.
        Bios => "BIOS",
        /// UEFI.
        Uefi => "UEFI",
    }
}

open_enum! {
    /// `clone_server.clone_state`.
    pub enum CloneState {
        /// Not ready.
        NotReady => "NOT_READY",
        /// Ready.
        Ready => "READY",
        /// Preparing.
        Preparing => "PREPARING",
        /// Creating.
        Creating => "CREATING",
        /// Error.
        Error => "ERROR",
        /// Finished.
        Finished => "FINISHED",
    }
}

/// `{"id": ...}`: the answer of every SMS create call and of `PUT /v3/tasks/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdResponse {
    /// The new (or updated) object's id.
    pub id: String,
}

/// `{"ids": [...]}`: body of the batch delete calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IdsRequest {
    /// The ids to act on.
    pub ids: Vec<String>,
}

#[cfg(test)]
mod tests;
