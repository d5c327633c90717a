//! Creating a DCS online migration task (then waiting for it to exist).

use migplan_parser::{RedisStage, Stage};
use migplan_wire::dcs::MigrationStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec, reached};
use crate::step::{Call, Condition, StepClass};

/// Payload of creating a DCS online migration task (then waiting for its job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateMigration {
    /// Task name (= Redis entry name).
    pub name: String,
}

/// The task exists and waits to be configured, or is configured already (adopted).
pub(crate) fn task_exists() -> Condition {
    Condition::AnyOf {
        conditions: vec![
            Condition::dcs(&[MigrationStatus::Running]),
            reached(Stage::Redis(RedisStage::Created)),
        ],
    }
}

impl KindSpec for CreateMigration {
    fn slug(&self) -> &'static str {
        "create"
    }
    fn label(&self) -> String {
        "create DCS migration task".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Create
    }
    fn call(&self) -> Call {
        Call::DcsCreate
    }
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions::action(Condition::Absent, task_exists())
    }
    fn settle_seconds(&self) -> u64 {
        10
    }
}
