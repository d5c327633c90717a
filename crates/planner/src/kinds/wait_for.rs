//! Waiting: no call of its own; the service's shared poll is read until the stage is reached.

use migplan_parser::{RedisStage, Stage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::create_migration::task_exists;
use super::{Conditions, KindSpec, failed, reached};
use crate::step::{Call, Condition, Service, StepClass};

/// Payload of a wait: the step completes when the postcondition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaitFor {
    /// What is waited for, for display (`MIGRATE_SUCCESS`, `TERMINATED`, ...).
    pub until: String,
    /// The service whose list call is polled.
    pub service: Service,
    /// A failure ends the wait too (a `restart` follows: `on_failure`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub or_failed: bool,
}

impl KindSpec for WaitFor {
    fn slug(&self) -> &'static str {
        "wait"
    }
    fn id_suffix(&self, stage: Stage) -> String {
        format!("wait.{stage}")
    }
    fn label(&self) -> String {
        if self.or_failed {
            format!("wait for {} or a failure", self.until)
        } else {
            format!("wait for {}", self.until)
        }
    }
    fn class(&self) -> StepClass {
        StepClass::Wait
    }
    fn call(&self) -> Call {
        Call::Poll {
            service: self.service,
            until: self.until.clone(),
        }
    }
    fn conditions(&self, stage: Stage) -> Conditions {
        let post = match stage {
            // A created DCS task waits to be configured (RUNNING): it exists.
            Stage::Redis(RedisStage::Created) => task_exists(),
            s if self.or_failed => Condition::AnyOf {
                conditions: vec![reached(s), failed()],
            },
            s => reached(s),
        };
        Conditions {
            pre: Condition::Always,
            effect: Condition::Always,
            post,
        }
    }
    /// The wait for an SMS copy or sync round ends a migration.
    fn quota_use(&self, stage: Stage) -> super::QuotaUse {
        use migplan_parser::ServerStage::{Replicated, Synced};
        match stage {
            Stage::Server(Replicated | Synced) if self.service == Service::Sms => {
                super::QuotaUse::Ends
            }
            _ => super::QuotaUse::None,
        }
    }
}
