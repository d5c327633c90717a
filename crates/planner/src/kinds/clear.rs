//! `clear`: delete snapshots and migration resources after a cutover. Irreversible.

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, SourceState};

use super::{Conditions, KindSpec, reached, task_action_payload};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Action `clear` on a finished cutover.
    Clear
);

impl KindSpec for Clear {
    fn slug(&self) -> &'static str {
        "clear"
    }
    fn label(&self) -> String {
        "clear".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn irreversible(&self) -> bool {
        true
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::Clear,
            template_id: None,
        }
    }
    fn conditions(&self, stage: Stage) -> Conditions {
        Conditions::action(Condition::source(&[SourceState::Finished]), reached(stage))
    }
    fn settle_seconds(&self) -> u64 {
        30
    }
}
