//! `verify`: measure that a Redis migration's target holds the source's data (stage
//! `verified`). migplan connects to both servers itself; no live state shows the result, so
//! the step is a check that runs on every apply until what waits for it is done.

use migplan_parser::{RedisInstance, RedisSpec, RedisStage, Samples, Stage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conditions, KindSpec, reached};
use crate::step::{Call, Condition, StepClass};

/// Where migplan finds one end of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyEnd {
    /// `HOST:PORT` to connect to (the plan's override, or the first of the migration's
    /// `addrs`); `None`: looked up from the DCS instance API by `instance_id`.
    pub address: Option<String>,
    /// The DCS instance id, when the migration names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Environment variable holding the password, read when the check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
}

impl VerifyEnd {
    fn of(e: &migplan_parser::RedisEndpoint, address: Option<&String>) -> Self {
        let (first, instance_id) = match &e.instance {
            RedisInstance::Id(id) => (None, Some(id.clone())),
            RedisInstance::Addrs(a) => (a.first().cloned(), None),
        };
        VerifyEnd {
            address: address.cloned().or(first),
            instance_id,
            password_env: e.password.as_ref().map(|p| p.env.clone()),
        }
    }

    /// How it reads in a label: the address, or the instance to look up.
    pub fn describe(&self) -> String {
        match (&self.address, &self.instance_id) {
            (Some(a), _) => a.clone(),
            (None, Some(id)) => format!("instance {id}"),
            (None, None) => "(no address)".into(),
        }
    }
}

/// A comparison of source and target: what is compared and the budgets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verify {
    /// The source server.
    pub source: VerifyEnd,
    /// The target server.
    pub target: VerifyEnd,
    /// Keys compared per database; `None`: every key.
    pub samples: Option<u32>,
    /// How far the counts of keys without a TTL may differ: `N` keys or `P%`.
    pub key_tolerance: String,
    /// How far remaining TTLs may differ, seconds.
    pub ttl_tolerance_seconds: u32,
    /// A marker key written to the source must show on the target within this many
    /// seconds (incremental migrations).
    pub lag_budget_seconds: Option<u32>,
    /// Budget of the whole check, seconds; past it the check is inconclusive.
    pub time_budget_seconds: u32,
}

impl Verify {
    /// The check a migration's `verify:` settings describe.
    pub fn of(spec: &RedisSpec) -> Self {
        let v = &spec.verify;
        Verify {
            source: VerifyEnd::of(&spec.source, v.source_address.as_ref()),
            target: VerifyEnd::of(&spec.target, v.target_address.as_ref()),
            samples: match v.samples {
                Samples::Count(n) => Some(n),
                Samples::All => None,
            },
            key_tolerance: v.key_tolerance.clone(),
            ttl_tolerance_seconds: v.ttl_tolerance_seconds,
            lag_budget_seconds: v.lag_budget_seconds,
            time_budget_seconds: v.time_budget_seconds,
        }
    }
}

impl KindSpec for Verify {
    fn slug(&self) -> &'static str {
        "verify"
    }
    fn label(&self) -> String {
        let keys = match self.samples {
            Some(n) => format!("{n} sampled keys per db"),
            None => "every key".into(),
        };
        let lag = self
            .lag_budget_seconds
            .map(|s| format!(", lag ≤ {s}s"))
            .unwrap_or_default();
        format!(
            "verify data: {} → {} ({keys}{lag})",
            self.source.describe(),
            self.target.describe()
        )
    }
    fn class(&self) -> StepClass {
        StepClass::Check
    }
    fn call(&self) -> Call {
        Call::RedisVerify(Box::new(self.clone()))
    }
    fn conditions(&self, _stage: Stage) -> Conditions {
        Conditions {
            pre: reached(Stage::Redis(RedisStage::Migrated)),
            // Nothing live shows a comparison; a stopped migration is past it.
            effect: reached(Stage::Redis(RedisStage::Stopped)),
            post: Condition::Always,
        }
    }
    fn sends_secrets(&self) -> bool {
        self.source.password_env.is_some() || self.target.password_env.is_some()
    }
}
