//! `network_check`: measure the network before `start` (`network_check: {min_mbps}`). SMS
//! writes the result into the task's `network_check_info`; the `start` that follows requires
//! the measured `migration_speed` to reach the plan's minimum.

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, TaskState};

use super::{Conditions, KindSpec, task_action_payload};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Action `network_check` on a task about to be started.
    NetworkCheck
);

impl KindSpec for NetworkCheck {
    fn slug(&self) -> &'static str {
        "network-check"
    }
    fn label(&self) -> String {
        "network check".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::NetworkCheck,
            template_id: None,
        }
    }
    /// Sent on a task about to be started; done once the task carries a result (made by this
    /// run or another).
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions {
            pre: Condition::task(&[TaskState::Ready, TaskState::Abort]),
            effect: Condition::NetworkChecked,
            post: Condition::NetworkChecked,
        }
    }
    fn settle_seconds(&self) -> u64 {
        10
    }
}
