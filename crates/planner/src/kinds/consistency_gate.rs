//! `consistency`: a server with `consistency_check: true` cuts over only once SMS's
//! consistency check result for its task is OK (`GET /v3/tasks/{task_id}/consistency-result`:
//! no directory with different or missing files). A check, not a change: read at apply time,
//! right before the cutover.

use migplan_parser::{ServerStage, Stage};

use super::test::copy_done;
use super::{Conditions, KindSpec, reached, task_action_payload};
use crate::step::{Call, Condition, StepClass};

task_action_payload!(
    /// Read the task's consistency check result before its cutover.
    ConsistencyGate
);

impl KindSpec for ConsistencyGate {
    fn slug(&self) -> &'static str {
        "consistency"
    }
    fn label(&self) -> String {
        "require the SMS consistency check result to be OK".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Check
    }
    fn call(&self) -> Call {
        Call::SmsConsistency
    }
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions {
            pre: copy_done(),
            // A cutover under way is past the gate.
            effect: reached(Stage::Server(ServerStage::Cutover)),
            post: Condition::Always,
        }
    }
}
