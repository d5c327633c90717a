//! Creating an SMS task (the body is built from the plan file's entry at call time).

use migplan_parser::Stage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec, reached};
use crate::step::{Call, Condition, StepClass};

/// Payload of creating an SMS task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateTask {
    /// Task name (= server entry name).
    pub name: String,
    /// Resolved source server id.
    pub source_id: Option<String>,
    /// Resolved template id, when the target is a template.
    pub template_id: Option<String>,
}

impl KindSpec for CreateTask {
    fn slug(&self) -> &'static str {
        "create"
    }
    fn label(&self) -> String {
        "create SMS task".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Create
    }
    fn call(&self) -> Call {
        Call::SmsCreateTask {
            source_id: self.source_id.clone(),
            template_id: self.template_id.clone(),
        }
    }
    fn conditions(&self, stage: Stage) -> Conditions {
        Conditions::action(Condition::Absent, reached(stage))
    }
}
