//! Configuring a DCS migration task: the endpoints, method and passwords; the copy starts.

use migplan_parser::{RedisStage, Stage};
use migplan_wire::dcs::MigrationStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec, toward};
use crate::step::{Call, Condition, StepClass};

/// Payload of configuring a DCS migration task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Configure {
    /// Live task id; `None` when created earlier in this plan.
    pub task_id: Option<String>,
}

impl KindSpec for Configure {
    fn slug(&self) -> &'static str {
        "configure"
    }
    fn label(&self) -> String {
        "configure migration".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::DcsConfigure
    }
    /// Placed at `created`; what it starts is the copy toward `migrated`.
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions::action(
            Condition::dcs(&[MigrationStatus::Running]),
            toward(Stage::Redis(RedisStage::Migrated)),
        )
    }
    fn sends_secrets(&self) -> bool {
        true
    }
}
