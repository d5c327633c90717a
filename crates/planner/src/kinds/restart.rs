//! `restart`: a failed full copy (`MIGRATE_FAIL`) copied again, at most `on_failure: {restart: N}`
//! times over the task's life. Restarts are counted from the task's subtask history
//! ([`restarts_recorded`](crate::current::restarts_recorded)), so a re-run, another host or
//! another apply counts the same ones; none is sent twice.
//!
//! The chain places restarts after a wait that a failure also ends: a restart whose copy
//! already succeeded has nothing to do (its effect holds), one after a failure is sent. Every
//! restart but the last also ends on a failure of its own copy, so the next can act.

use migplan_parser::Stage;
use migplan_wire::sms::Operation;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec, failed, reached};
use crate::step::{Call, Condition, StepClass};

/// Action `restart` on a task whose copy failed, if it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Restart {
    /// Live task id; `None` when the task is created earlier in this plan.
    pub task_id: Option<String>,
    /// Which restart of the task this is (1 = its first), counted over its life.
    pub number: u32,
    /// The most restarts `on_failure` allows.
    pub limit: u32,
}

impl KindSpec for Restart {
    fn slug(&self) -> &'static str {
        "restart"
    }
    fn id_suffix(&self, _stage: Stage) -> String {
        format!("restart.{}", self.number)
    }
    fn label(&self) -> String {
        format!("restart if failed ({} of {})", self.number, self.limit)
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn only_if_needed(&self) -> bool {
        true
    }
    fn call(&self) -> Call {
        Call::SmsAction {
            operation: Operation::Restart,
            template_id: None,
        }
    }
    /// Sent on a failed task; not sent once the stage is reached or this restart is on
    /// record. Done when the stage is reached, or, unless it is the last, when its own copy
    /// failed too.
    fn conditions(&self, stage: Stage) -> Conditions {
        let made = Condition::Restarted {
            at_least: self.number,
        };
        let post = if self.number < self.limit {
            Condition::AnyOf {
                conditions: vec![
                    reached(stage),
                    Condition::AllOf {
                        conditions: vec![made.clone(), failed()],
                    },
                ],
            }
        } else {
            reached(stage)
        };
        Conditions {
            pre: failed(),
            effect: Condition::AnyOf {
                conditions: vec![reached(stage), made],
            },
            post,
        }
    }
    fn quota_use(&self, _stage: Stage) -> super::QuotaUse {
        super::QuotaUse::StartsAndEnds
    }
}
