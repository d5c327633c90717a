//! `cutover`: launch the target server for good. Irreversible.

use migplan_parser::Stage;
use migplan_wire::sms::Operation;

use super::test::copy_done;
use super::{Conditions, KindSpec, reached, task_action_payload};
use crate::step::{Call, StepClass};

task_action_payload!(
    /// Action `cutover` on a finished copy.
    Cutover
);

impl KindSpec for Cutover {
    fn slug(&self) -> &'static str {
        "cutover"
    }
    fn label(&self) -> String {
        "cutover".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn irreversible(&self) -> bool {
        true
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::Cutover,
            template_id: None,
        }
    }
    fn conditions(&self, stage: Stage) -> Conditions {
        Conditions::action(copy_done(), reached(stage))
    }
    fn settle_seconds(&self) -> u64 {
        60
    }
}
