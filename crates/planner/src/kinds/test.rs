//! `test`: launch the target server for a test.

use migplan_parser::Stage;
use migplan_wire::sms::Operation;

use super::{Conditions, KindSpec, reached, task_action_payload};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Action `test` on a finished copy.
    Test
);

impl KindSpec for Test {
    fn slug(&self) -> &'static str {
        "test"
    }
    fn label(&self) -> String {
        "test".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::Test,
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

/// The full copy is done (what `test` and `cutover` need).
pub(crate) fn copy_done() -> Condition {
    use migplan_wire::sms::TaskState::{MigrateSuccess, SyncSuccess, Syncing};
    Condition::task(&[MigrateSuccess, Syncing, SyncSuccess])
}
