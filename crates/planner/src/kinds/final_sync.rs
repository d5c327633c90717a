//! `final_sync`: with `syncing: true` and `max_sync_age_seconds`, one more sync round right
//! before the cutover when the last finished copy or sync round is older than the plan allows,
//! so the data the target lacks at cutover is at most that old. Decided at apply time, from
//! the task's subtask dates and the cloud's clock: sent only when needed.

use migplan_parser::Stage;
use migplan_wire::sms::TaskState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec};
use crate::step::{Call, Condition, StepClass};

/// Action `start` on a finished copy or round, when the last one is older than allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FinalSync {
    /// Live task id; `None` when the task is created earlier in this plan.
    pub task_id: Option<String>,
    /// The greatest age of the last finished round at cutover, seconds.
    pub max_age_seconds: u32,
}

impl KindSpec for FinalSync {
    fn slug(&self) -> &'static str {
        "final-sync"
    }
    fn label(&self) -> String {
        format!(
            "sync again if the last round finished over {} ago",
            age_text(u64::from(self.max_age_seconds))
        )
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsFinalSync {
            max_age_seconds: self.max_age_seconds,
        }
    }
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions {
            pre: Condition::task(&[TaskState::MigrateSuccess, TaskState::SyncSuccess]),
            // A round under way is one this run (or another) started.
            effect: Condition::task(&[TaskState::Syncing]),
            post: Condition::task(&[TaskState::SyncSuccess]),
        }
    }
    /// A round is a migration under the SMS quota, and the step waits for its end.
    fn quota_use(&self, _stage: Stage) -> super::QuotaUse {
        super::QuotaUse::StartsAndEnds
    }
}

/// When the task last brought data over: the newest end of its copy (`MIGRATE_*`) or sync
/// round (`SYNC_*`) subtasks, epoch ms.
pub fn last_round_end_ms(task: &migplan_wire::sms::Task) -> Option<i64> {
    task.sub_tasks
        .iter()
        .filter(|s| s.name.starts_with("MIGRATE_") || s.name.starts_with("SYNC_"))
        .filter_map(|s| s.end_date)
        .max()
}

/// `90s`, `10m`, `2h`, `1h30m`: an age as the plan states it.
pub fn age_text(secs: u64) -> String {
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::age_text;

    #[test]
    fn ages_read_as_written() {
        assert_eq!(age_text(45), "45s");
        assert_eq!(age_text(600), "10m");
        assert_eq!(age_text(7200), "2h");
        assert_eq!(age_text(90), "1m30s");
        assert_eq!(age_text(5400), "1h30m");
    }
}
