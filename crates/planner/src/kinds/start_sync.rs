//! `start` on a finished copy of a task with `syncing`: one incremental sync round.

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, TaskState};

use super::{Conditions, KindSpec, task_action_payload, toward};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Action `start` after the full copy: a sync round.
    StartSync
);

impl KindSpec for StartSync {
    fn slug(&self) -> &'static str {
        "start-sync"
    }
    fn label(&self) -> String {
        "start sync round".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::Start,
            template_id: None,
        }
    }
    fn conditions(&self, stage: Stage) -> Conditions {
        Conditions::action(
            Condition::task(&[TaskState::MigrateSuccess, TaskState::SyncFRollbackSuccess]),
            toward(stage),
        )
    }
    fn quota_use(&self, _stage: Stage) -> super::QuotaUse {
        super::QuotaUse::Starts
    }
}
