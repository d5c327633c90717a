//! Stopping a DCS migration (an incremental sync ends). Irreversible.

use migplan_parser::Stage;
use migplan_wire::dcs::MigrationStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec, toward};
use crate::step::{Call, Condition, StepClass};

/// Payload of stopping a DCS migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StopMigration {
    /// Live task id; `None` when created earlier in this plan.
    pub task_id: Option<String>,
}

impl KindSpec for StopMigration {
    fn slug(&self) -> &'static str {
        "stop"
    }
    fn label(&self) -> String {
        "stop migration".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn irreversible(&self) -> bool {
        true
    }
    fn call(&self) -> Call {
        Call::DcsStop
    }
    fn conditions(&self, stage: Stage) -> Conditions {
        use MigrationStatus::{IncrMigrating, MigrationSuccess, Success};
        Conditions::action(
            Condition::dcs(&[Success, MigrationSuccess, IncrMigrating]),
            toward(stage),
        )
    }
    fn settle_seconds(&self) -> u64 {
        10
    }
}
