//! `changestate`: reset a source server whose earlier task is gone but whose record still
//! says `error`, so a new task starts from a clean source (`PUT /v3/sources/{id}/changestate`
//! to `waiting` / `checking`, the state of a freshly registered source).

use migplan_parser::Stage;
use migplan_wire::sms::{MigrationCycle, SourceState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec};
use crate::step::{Call, Condition, StepClass};

/// Reset the source server's copy state before a new task is created for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResetSource {
    /// The source server.
    pub source_id: Option<String>,
}

impl KindSpec for ResetSource {
    fn slug(&self) -> &'static str {
        "reset-source"
    }
    fn label(&self) -> String {
        "reset source state (changestate)".into()
    }
    fn class(&self) -> StepClass {
        StepClass::Action
    }
    fn call(&self) -> Call {
        Call::SmsChangeState {
            source_id: self.source_id.clone(),
            copystate: SourceState::Waiting,
            migrationcycle: Some(MigrationCycle::Checking),
        }
    }
    /// Conditions on the source server record (`GET /v3/sources/{id}`), not on a task: sent
    /// while it says `error`; done once it says `waiting` (reset by this run or another).
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions {
            pre: Condition::source(&[SourceState::Error]),
            effect: Condition::source(&[SourceState::Waiting]),
            post: Condition::Always,
        }
    }
}
