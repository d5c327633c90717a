//! Saved plans (`migplan plan --out FILE`) and the staleness check `apply FILE` makes.
//!
//! A saved plan records the [`Plan`] (its steps drive apply), the sha256 of the plan file it was
//! made from, and where the live state was read. Each resource in the plan carries a fingerprint
//! of exactly the live fields its decisions used; [`SavedPlan::check_fresh`] re-derives those
//! fields from a fresh [`LiveSnapshot`] and refuses the plan when any changed, naming the
//! resources and fields (exit 4 in the CLI).

use std::collections::HashMap;
use std::fmt;

use migplan_parser::{ResourceAddr, ResourceKind, Spec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fingerprint::{FingerprintInputs, redis_inputs, server_inputs};
use crate::plan::Plan;
use crate::snapshot::{LiveIndex, LiveSnapshot};

/// The saved-plan file format version.
pub const SAVED_PLAN_VERSION: u32 = 1;

/// A plan saved for a later apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always [`SAVED_PLAN_VERSION`].
    pub saved_plan_version: u32,
    /// The plan file, as given on the command line.
    pub plan_file: String,
    /// Lower-case hex sha256 of the plan file's text.
    pub plan_file_sha256: String,
    /// Where the live state was read (display only).
    pub target: String,
    /// The plan.
    pub plan: Plan,
}

/// Why a saved plan cannot be applied as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalePlan {
    /// The plan file's text differs from the one the plan was made from.
    pub plan_file_changed: bool,
    /// Resources whose live fields changed, with the fields.
    pub changed: Vec<StaleResource>,
}

/// One resource whose live state moved since the plan was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleResource {
    /// The resource.
    pub addr: ResourceAddr,
    /// Names of the live fields that differ (`task.state`, `source.connected`, ...).
    pub fields: Vec<String>,
}

impl fmt::Display for StalePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the saved plan is stale; run `migplan plan` again")?;
        if self.plan_file_changed {
            writeln!(f, "  - the plan file changed since the plan was saved")?;
        }
        for r in &self.changed {
            writeln!(f, "  - {}: {} changed", r.addr, r.fields.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for StalePlan {}

/// A saved plan file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// Not JSON of the expected shape.
    #[error("not a migplan saved plan: {0}")]
    Format(#[from] serde_json::Error),
    /// Written by a different format version.
    #[error(
        "saved plan version {found} is not supported (this migplan reads version {SAVED_PLAN_VERSION})"
    )]
    Version {
        /// The version in the file.
        found: u32,
    },
}

/// Lower-case hex sha256 of a plan file's text.
pub fn plan_file_digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl SavedPlan {
    /// Wraps a plan made from `plan_file` (whose text is `plan_text`) against `target`.
    pub fn new(plan: Plan, plan_file: &str, plan_text: &str, target: &str) -> Self {
        SavedPlan {
            saved_plan_version: SAVED_PLAN_VERSION,
            plan_file: plan_file.to_string(),
            plan_file_sha256: plan_file_digest(plan_text),
            target: target.to_string(),
            plan,
        }
    }

    /// Pretty JSON, as written to disk.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a saved plan, refusing other format versions.
    pub fn from_json(text: &str) -> Result<Self, SavedPlanError> {
        #[derive(Deserialize)]
        struct Head {
            saved_plan_version: u32,
        }
        let head: Head = serde_json::from_str(text)?;
        if head.saved_plan_version != SAVED_PLAN_VERSION {
            return Err(SavedPlanError::Version {
                found: head.saved_plan_version,
            });
        }
        Ok(serde_json::from_str(text)?)
    }

    /// Checks the plan against the plan file's current text and freshly read live state.
    /// One index over the snapshot serves every resource, so this is O(N).
    pub fn check_fresh(
        &self,
        spec: &Spec,
        live: &LiveSnapshot,
        plan_text: &str,
    ) -> Result<(), StalePlan> {
        let plan_file_changed = plan_file_digest(plan_text) != self.plan_file_sha256;
        let ix = LiveIndex::new(live);
        let servers: HashMap<&str, _> = spec.servers.iter().map(|s| (s.name.as_str(), s)).collect();
        let redis: HashMap<&str, _> = spec.redis.iter().map(|r| (r.name.as_str(), r)).collect();
        let mut changed = Vec::new();
        for r in &self.plan.resources {
            let name = r.addr.name.as_str();
            let now = match r.addr.kind {
                ResourceKind::Server => servers.get(name).map(|s| server_inputs(s, &ix)),
                ResourceKind::Redis => redis.get(name).map(|x| redis_inputs(x, &ix)),
            };
            let saved = FingerprintInputs(r.fingerprint_inputs.clone());
            let fields = match now {
                Some(now) => saved.changed_fields(&now),
                None => vec!["(no longer in the plan file)".to_string()],
            };
            if !fields.is_empty() {
                changed.push(StaleResource {
                    addr: r.addr.clone(),
                    fields,
                });
            }
        }
        if plan_file_changed || !changed.is_empty() {
            Err(StalePlan {
                plan_file_changed,
                changed,
            })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanOptions;

    const TEXT: &str = "version: 1\nname: t\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\nservers:\n  - name: web-01\n    target: {template: tpl}\n    stage: replicated\n";

    fn setup() -> (Spec, LiveSnapshot, SavedPlan) {
        let spec = migplan_parser::parse("t.yaml", TEXT).expect("valid").spec;
        let live = LiveSnapshot::assume_ready(&spec);
        let plan = crate::plan(&spec, &live, &PlanOptions::default()).expect("plans");
        let saved = SavedPlan::new(plan, "t.yaml", TEXT, "test");
        (spec, live, saved)
    }

    #[test]
    fn round_trips_through_json() {
        let (_, _, saved) = setup();
        let back = SavedPlan::from_json(&saved.to_json()).expect("reads back");
        assert_eq!(back, saved);
    }

    #[test]
    fn unchanged_state_is_fresh() {
        let (spec, live, saved) = setup();
        assert_eq!(saved.check_fresh(&spec, &live, TEXT), Ok(()));
    }

    #[test]
    fn a_changed_source_names_the_resource_and_field() {
        let (spec, mut live, saved) = setup();
        live.sources[0].connected = Some(false);
        let stale = saved.check_fresh(&spec, &live, TEXT).expect_err("stale");
        assert!(!stale.plan_file_changed);
        assert_eq!(stale.changed.len(), 1);
        assert_eq!(stale.changed[0].addr.to_string(), "server.web-01");
        assert!(
            stale.changed[0]
                .fields
                .iter()
                .any(|f| f.contains("connected")),
            "{stale}"
        );
    }

    #[test]
    fn an_edited_plan_file_is_stale() {
        let (spec, live, saved) = setup();
        let edited = TEXT.replace("replicated", "configured");
        let stale = saved.check_fresh(&spec, &live, &edited).expect_err("stale");
        assert!(stale.plan_file_changed);
    }

    #[test]
    fn another_version_is_refused() {
        let (_, _, saved) = setup();
        let text = saved
            .to_json()
            .replace("\"saved_plan_version\": 1", "\"saved_plan_version\": 9");
        assert!(matches!(
            SavedPlan::from_json(&text),
            Err(SavedPlanError::Version { found: 9 })
        ));
    }
}
