//! `start`: the first full copy (or resuming a paused one).

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, TaskState};

use super::{Conditions, KindSpec, task_action_payload, toward};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Action `start` on a task that is READY or paused (ABORT).
    Start
);

impl KindSpec for Start {
    fn slug(&self) -> &'static str {
        "start"
    }
    fn label(&self) -> String {
        "start".into()
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
            Condition::task(&[TaskState::Ready, TaskState::Abort]),
            toward(stage),
        )
    }
}
