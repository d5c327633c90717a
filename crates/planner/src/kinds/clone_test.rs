//! `clone_test`: reach `tested` on a clone of the target made from a template, leaving the
//! target alone.

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, TaskState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec, reached};
use crate::step::{Call, Condition, StepClass};

/// Payload of a clone test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CloneTest {
    /// Live task id; `None` when the task is created earlier in this plan.
    pub task_id: Option<String>,
    /// The resolved id of the template the clone is made from.
    pub template_id: Option<String>,
}

impl KindSpec for CloneTest {
    fn slug(&self) -> &'static str {
        "clone-test"
    }
    fn label(&self) -> String {
        "clone test".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::CloneTest,
            template_id: self.template_id.clone(),
        }
    }
    /// Accepted on a finished copy; done when the clone is ready (`current` reads the task's
    /// `clone_server.clone_state`).
    fn conditions(&self, stage: Stage) -> Conditions {
        Conditions::action(
            Condition::task(&[TaskState::MigrateSuccess, TaskState::SyncSuccess]),
            reached(stage),
        )
    }
    fn settle_seconds(&self) -> u64 {
        120
    }
}
