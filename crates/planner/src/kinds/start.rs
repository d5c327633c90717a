//! `start`: the first full copy (or resuming a paused one).

use migplan_parser::Stage;
use migplan_wire::sms::{Operation, TaskState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec, toward};
use crate::step::{Call, Condition, StepClass};

/// Action `start` on a task that is READY or paused (ABORT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Start {
    /// Live task id; `None` when the task is created earlier in this plan.
    pub task_id: Option<String>,
    /// `network_check: {min_mbps}`: the task's last network check must have measured at
    /// least this speed (kbit/s) before `start` is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_network_kbps: Option<u64>,
}

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
        let startable = Condition::task(&[TaskState::Ready, TaskState::Abort]);
        let pre = match self.min_network_kbps {
            None => startable,
            Some(min_kbps) => Condition::AllOf {
                conditions: vec![startable, Condition::NetworkSpeed { min_kbps }],
            },
        };
        Conditions::action(pre, toward(stage))
    }
    fn quota_use(&self, _stage: Stage) -> super::QuotaUse {
        super::QuotaUse::Starts
    }
}
