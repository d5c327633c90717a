//! `migration_test`: the migration drill, its own stage (`drilled`) between the copy and the
//! test. SMS runs it on a task created with `need_migration_test` (`migration_test: true`).

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, TaskState};

use super::{Conditions, KindSpec, reached, task_action_payload};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Action `migration_test` on a finished copy.
    MigrationTest
);

impl KindSpec for MigrationTest {
    fn slug(&self) -> &'static str {
        "migration-test"
    }
    fn label(&self) -> String {
        "migration drill (migration_test)".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::MigrationTest,
            template_id: None,
        }
    }
    /// Accepted on a finished copy; done when the source is `premiged` (`current` reads the
    /// source state: `premiging` is the drill under way, sent by this run or another).
    fn conditions(&self, stage: Stage) -> Conditions {
        Conditions::action(
            Condition::task(&[TaskState::MigrateSuccess, TaskState::SyncSuccess]),
            reached(stage),
        )
    }
    fn settle_seconds(&self) -> u64 {
        60
    }
}
