//! `skip`: end a running consistency check the plan no longer wants
//! (`consistency_check: false` while the task's `CONSISTENCY_CHECK` subtask runs).

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, TaskState};

use super::{Conditions, KindSpec, task_action_payload};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Action `skip` on a task whose consistency check runs.
    Skip
);

impl KindSpec for Skip {
    fn slug(&self) -> &'static str {
        "skip"
    }
    fn label(&self) -> String {
        "skip the consistency check (skip)".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::Skip,
            template_id: None,
        }
    }
    /// Accepted while the check runs; SKIPPING, or no check running any more, shows it was
    /// made (by this run, another, or the check ending on its own).
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions {
            pre: Condition::AllOf {
                conditions: vec![
                    Condition::task(&[TaskState::Running]),
                    Condition::ConsistencyCheck { running: true },
                ],
            },
            effect: Condition::AnyOf {
                conditions: vec![
                    Condition::task(&[TaskState::Skipping]),
                    Condition::ConsistencyCheck { running: false },
                ],
            },
            post: Condition::ConsistencyCheck { running: false },
        }
    }
}
