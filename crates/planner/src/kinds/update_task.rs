//! Updating an SMS task's fields in place.

use migplan_parser::Stage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec};
use crate::step::{Call, StepClass};

/// Payload of an in-place task update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateTask {
    /// Live task id.
    pub task_id: Option<String>,
    /// Fields set, with their plan values.
    pub fields: Vec<(String, String)>,
}

impl KindSpec for UpdateTask {
    fn slug(&self) -> &'static str {
        "update"
    }
    fn label(&self) -> String {
        let f: Vec<&str> = self.fields.iter().map(|(k, _)| k.as_str()).collect();
        format!("update {}", f.join(", "))
    }
    fn class(&self) -> StepClass {
        StepClass::Update
    }
    fn call(&self) -> Call {
        Call::SmsUpdateTask {
            fields: self.fields.clone(),
        }
    }
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions::always()
    }
}
