//! `stop`: hold a running copy or sync (`paused: true`). Resuming is `start` on ABORT.

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, TaskState};

use super::{Conditions, KindSpec, task_action_payload};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Action `stop` on a task that is copying or syncing.
    Pause
);

impl KindSpec for Pause {
    fn slug(&self) -> &'static str {
        "stop"
    }
    fn label(&self) -> String {
        "pause (stop)".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::Stop,
            template_id: None,
        }
    }
    /// Accepted while copying or syncing; pausing (ABORTING) shows it was sent, paused
    /// (ABORT) is done.
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions {
            pre: Condition::task(&[TaskState::Running, TaskState::Syncing]),
            effect: Condition::task(&[TaskState::Aborting, TaskState::Abort]),
            post: Condition::task(&[TaskState::Abort]),
        }
    }
    fn settle_seconds(&self) -> u64 {
        10
    }
}
