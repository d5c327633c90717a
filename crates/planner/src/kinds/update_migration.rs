//! Updating a DCS migration task's resume mode in place.

use migplan_parser::Stage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec};
use crate::step::{Call, StepClass};

/// Payload of a resume-mode update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateMigration {
    /// Live task id.
    pub task_id: Option<String>,
}

impl KindSpec for UpdateMigration {
    fn slug(&self) -> &'static str {
        "update"
    }
    fn label(&self) -> String {
        "update resume_mode".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Update
    }
    fn call(&self) -> Call {
        Call::DcsUpdateResumeMode
    }
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions::always()
    }
}
