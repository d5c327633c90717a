//! Saved plans (`migplan plan --out FILE`) and the staleness check `apply FILE` makes.
//!
//! A saved plan records the [`Plan`] (its steps drive apply), the sha256 of the plan file it was
//! made from, and where the live state was read. Each resource in the plan carries a fingerprint
//! of exactly the live fields its decisions used; [`SavedPlan::check_fresh`] re-derives those
//! fields from a fresh [`LiveSnapshot`] and refuses the plan when any changed, naming the
//! resources and fields (exit 4 in the CLI).
//!
//! The steps in the file are never trusted: [`SavedPlan::rederive`] plans again from the plan
//! file (whose sha256 the caller checks first, [`SavedPlan::plan_file_matches`]) and the fresh
//! snapshot, with the saved `--target` list, and refuses the saved plan unless the two are
//! identical, so an edited artifact (added steps, another source id, another stage, resources
//! taken out) is refused rather than applied.

use std::collections::HashMap;
use std::fmt;

use migplan_parser::{ResourceAddr, ResourceKind, Spec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fingerprint::{FieldChange, FingerprintInputs, redis_inputs, server_inputs};
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
    /// Hex HMAC-SHA256 of the rest of the file under the team's plan key, when `plan --out`
    /// ran with one ([`SavedPlan::sign`]); proves the artifact came from a job holding the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_sha256: Option<String>,
}

/// Why a saved plan's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A key is configured, and the file carries no signature.
    #[error(
        "it is not signed, and a plan key is set: it was not written by `migplan plan --out` \
         with this key"
    )]
    Missing,
    /// The signature does not match the content under this key.
    #[error(
        "its signature does not match its content: it was edited after `migplan plan --out`, \
         or signed with another key"
    )]
    Mismatch,
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
    /// The same fields with their values then and now (empty when the resource is gone).
    pub changes: Vec<FieldChange>,
}

impl fmt::Display for StalePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the saved plan is stale; run `migplan plan` again")?;
        if self.plan_file_changed {
            writeln!(f, "  - the plan file changed since the plan was saved")?;
        }
        for r in &self.changed {
            if r.changes.is_empty() {
                writeln!(f, "  - {}: {}", r.addr, r.fields.join(", "))?;
                continue;
            }
            let changes: Vec<String> = r.changes.iter().map(ToString::to_string).collect();
            writeln!(f, "  - {}: {}", r.addr, changes.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for StalePlan {}

/// A saved plan whose content is not what its plan file and live state give: edited by hand,
/// or written by another version of migplan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TamperedPlan {
    /// What differs, one line each (bounded).
    pub differences: Vec<String>,
    /// The saved plan is what the plan file and live state gave when it was made: a
    /// maintenance window opened or closed since (not an edit).
    pub windows_moved: bool,
}

impl fmt::Display for TamperedPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.windows_moved {
            writeln!(
                f,
                "a maintenance window opened or closed since the plan was made, so its \
                 irreversible steps would not be what was reviewed; plan again; nothing was applied"
            )?;
        } else {
            writeln!(
                f,
                "the saved plan is not what its plan file and the live state give (edited after \
                 `migplan plan --out`, or written by another migplan version); nothing was applied"
            )?;
        }
        for d in &self.differences {
            writeln!(f, "  - {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TamperedPlan {}

/// A saved plan file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// Not JSON of the expected shape. Only the position is shown: the file's text is not
    /// echoed (it may not be a plan at all).
    #[error(
        "not a migplan saved plan ({} at line {}, column {})",
        match .0.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "JSON of another shape",
            serde_json::error::Category::Eof => "JSON cut short",
        },
        .0.line(),
        .0.column()
    )]
    Format(serde_json::Error),
    /// Written by a different format version.
    #[error(
        "saved plan version {found} is not supported (this migplan reads version {SAVED_PLAN_VERSION})"
    )]
    Version {
        /// The version in the file.
        found: u32,
    },
}

// By hand rather than `#[from]`: that would make the serde error the `source()`, and error
// reports print the chain, whose message quotes the file's text.
impl From<serde_json::Error> for SavedPlanError {
    fn from(e: serde_json::Error) -> Self {
        SavedPlanError::Format(e)
    }
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
            hmac_sha256: None,
        }
    }

    /// The MAC of everything but the MAC field, in the serialized form apply reads back.
    fn mac(&self, key: &[u8]) -> hmac::Hmac<Sha256> {
        use hmac::{KeyInit, Mac};
        let unsigned = SavedPlan {
            hmac_sha256: None,
            ..self.clone()
        };
        let mut mac = match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
        };
        mac.update(&serde_json::to_vec(&unsigned).unwrap_or_default());
        mac
    }

    /// Signs the saved plan with the team's plan key.
    pub fn sign(&mut self, key: &[u8]) {
        use hmac::Mac;
        self.hmac_sha256 = Some(hex::encode(self.mac(key).finalize().into_bytes()));
    }

    /// Checks the signature against `key` (in constant time).
    pub fn verify_signature(&self, key: &[u8]) -> Result<(), SignatureError> {
        use hmac::Mac;
        let given = self.hmac_sha256.as_ref().ok_or(SignatureError::Missing)?;
        let bytes = hex::decode(given).map_err(|_| SignatureError::Mismatch)?;
        self.mac(key)
            .verify_slice(&bytes)
            .map_err(|_| SignatureError::Mismatch)
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

    /// True when `bytes` are the plan file the plan was made from (its recorded sha256). Check
    /// this before parsing the file, so a file that is not the plan is never echoed.
    pub fn plan_file_matches(&self, bytes: &[u8]) -> bool {
        hex::encode(Sha256::digest(bytes)) == self.plan_file_sha256
    }

    /// Plans again from the plan file's spec and a fresh snapshot, with the saved targets, and
    /// returns that plan when it is exactly the saved one. Call after
    /// [`check_fresh`](Self::check_fresh), which names live fields that moved; what differs
    /// here, with live state unchanged, is the file itself.
    ///
    /// Windows are judged at `now`. When that gives another plan, the plan is derived again at
    /// the instant the saved one was made: if that one matches, a window moved (not an edit).
    pub fn rederive(
        &self,
        spec: &Spec,
        live: &LiveSnapshot,
        unset_secrets: &std::collections::BTreeSet<String>,
        now: Option<jiff::Timestamp>,
    ) -> Result<Plan, TamperedPlan> {
        let at = |now: Option<jiff::Timestamp>| {
            let options = crate::PlanOptions {
                targets: self.plan.targets.clone(),
                unset_secrets: unset_secrets.clone(),
                now,
            };
            crate::plan(spec, live, &options).map_err(|e| TamperedPlan {
                differences: vec![format!("its --target list does not fit the plan file: {e}")],
                windows_moved: false,
            })
        };
        let derived = at(now)?;
        let differences = crate::saved_diff::differences(&self.plan, &derived);
        if differences.is_empty() {
            return Ok(derived);
        }
        let then = self
            .plan
            .planned_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        let windows_moved = then.is_some_and(|then| {
            at(Some(then)).is_ok_and(|p| crate::saved_diff::differences(&self.plan, &p).is_empty())
        });
        Err(TamperedPlan {
            differences,
            windows_moved,
        })
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
            let (fields, changes) = match now {
                Some(now) => {
                    let changes = saved.changes(&now);
                    (changes.iter().map(|c| c.field.clone()).collect(), changes)
                }
                None => (vec!["no longer in the plan file".to_string()], Vec::new()),
            };
            if !fields.is_empty() {
                changed.push(StaleResource {
                    addr: r.addr.clone(),
                    fields,
                    changes,
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
        assert!(
            stale
                .to_string()
                .contains("server.web-01: source agent connected: true → false"),
            "old → new in user terms: {stale}"
        );
    }

    #[test]
    fn an_edited_plan_file_is_stale() {
        let (spec, live, saved) = setup();
        let edited = TEXT.replace("replicated", "configured");
        let stale = saved.check_fresh(&spec, &live, &edited).expect_err("stale");
        assert!(stale.plan_file_changed);
    }

    /// Each kind of hand edit, applied to the saved JSON, is named by `rederive`.
    #[test]
    fn every_kind_of_edit_is_refused_naming_what_differs() {
        let (spec, live, saved) = setup();
        assert!(
            saved
                .rederive(&spec, &live, &Default::default(), None)
                .is_ok(),
            "an untouched plan re-derives"
        );
        let json: serde_json::Value = serde_json::from_str(&saved.to_json()).expect("json");
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let edits: Vec<(&str, Edit)> = vec![
            (
                "desired",
                Box::new(|v| v["plan"]["resources"][0]["desired"] = "cutover".into()),
            ),
            (
                "source",
                Box::new(|v| {
                    let steps = v["plan"]["steps"].as_array_mut().expect("steps");
                    let text = serde_json::to_string(&steps[0]).expect("step");
                    steps[0] = serde_json::from_str(&text.replace("offline-", "other-"))
                        .expect("edited step");
                }),
            ),
            (
                "missing from the saved plan",
                Box::new(|v| {
                    v["plan"]["resources"] = serde_json::json!([]);
                }),
            ),
            (
                "do not give it",
                Box::new(|v| {
                    let steps = v["plan"]["steps"].as_array_mut().expect("steps");
                    let mut extra = steps[steps.len() - 1].clone();
                    extra["id"] = "server.web-01#cutover".into();
                    steps.push(extra);
                }),
            ),
        ];
        for (expect, edit) in edits {
            let mut edited = json.clone();
            edit(&mut edited);
            let text = serde_json::to_string(&edited).expect("json");
            assert_ne!(edited, json, "{expect}: the edit changed nothing");
            let tampered = SavedPlan::from_json(&text).expect("still the saved-plan format");
            let err = tampered
                .rederive(&spec, &live, &Default::default(), None)
                .expect_err("an edited plan is refused");
            let shown = err.to_string();
            assert!(shown.contains(expect), "{expect}: {shown}");
        }
    }

    #[test]
    fn a_signed_plan_verifies_and_any_edit_or_other_key_does_not() {
        let (_, _, mut saved) = setup();
        assert_eq!(saved.verify_signature(b"k1"), Err(SignatureError::Missing));
        saved.sign(b"k1");
        let back = SavedPlan::from_json(&saved.to_json()).expect("reads back");
        assert_eq!(back.verify_signature(b"k1"), Ok(()));
        assert_eq!(back.verify_signature(b"k2"), Err(SignatureError::Mismatch));
        let mut edited = back.clone();
        edited.plan.targets = vec![];
        edited.plan.name.push('x');
        assert_eq!(
            edited.verify_signature(b"k1"),
            Err(SignatureError::Mismatch)
        );
        let mut garbled = back;
        garbled.hmac_sha256 = Some("zz".into());
        assert_eq!(
            garbled.verify_signature(b"k1"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_plan_file_hash_is_checked_on_bytes() {
        let (_, _, saved) = setup();
        assert!(saved.plan_file_matches(TEXT.as_bytes()));
        assert!(!saved.plan_file_matches(b"HOME=/root\0SECRET=x"));
    }

    #[test]
    fn a_format_error_does_not_echo_the_file() {
        let err = SavedPlan::from_json("{\"saved_plan_version\": 1, \"plan\": \"TOPSECRET\"}")
            .expect_err("not a plan");
        let text = err.to_string();
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert!(text.contains("line 1"), "{text}");
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
