//! A wave barrier: no call; done when every member of the wave is.

use migplan_parser::Stage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec};
use crate::step::{Call, StepClass};

/// Payload of a wave barrier: waits for every member of `wave`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Barrier {
    /// The wave that must finish.
    pub wave: String,
    /// The wave that waits.
    pub next: String,
}

impl KindSpec for Barrier {
    fn slug(&self) -> &'static str {
        "barrier"
    }
    fn label(&self) -> String {
        format!("wave {} done → {}", self.wave, self.next)
    }
    fn class(&self) -> StepClass {
        StepClass::Barrier
    }
    fn call(&self) -> Call {
        Call::None
    }
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions::always()
    }
}
