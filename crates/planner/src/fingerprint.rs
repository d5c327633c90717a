//! Fingerprints: a sha256 over exactly the live fields a resource's decisions used, so a saved
//! plan can be checked for staleness and the error can name what changed.

use std::collections::BTreeMap;

use migplan_parser::{RedisSpec, ServerSpec, Target};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::diff::{SERVER_FIELDS, server_live_field};
use crate::snapshot::{LiveIndex, Match};

/// The live fields a resource's plan depends on, by name (`task.state`, `source.connected`, ...).
/// A `BTreeMap`, so its JSON is canonical (sorted keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FingerprintInputs(pub BTreeMap<String, Value>);

impl FingerprintInputs {
    fn put(&mut self, k: &str, v: Value) {
        self.0.insert(k.to_string(), v);
    }

    /// Lower-case hex sha256 of the canonical JSON.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(&self.0).unwrap_or_default();
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    /// Names of the fields whose values differ between `self` (saved) and `now` (re-read).
    pub fn changed_fields(&self, now: &FingerprintInputs) -> Vec<String> {
        self.changes(now).into_iter().map(|c| c.field).collect()
    }

    /// The fields that differ between `self` (saved) and `now` (re-read), old and new.
    pub fn changes(&self, now: &FingerprintInputs) -> Vec<FieldChange> {
        let mut keys: Vec<&String> = self.0.keys().chain(now.0.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| self.0.get(*k) != now.0.get(*k))
            .map(|k| FieldChange {
                field: k.clone(),
                before: self.0.get(k).cloned().unwrap_or(Value::Null),
                after: now.0.get(k).cloned().unwrap_or(Value::Null),
            })
            .collect()
    }
}

/// One live field that moved since a plan was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The fingerprint key (`task.state`, `source.connected`, ...).
    pub field: String,
    /// The value the saved plan was made with (`null`: absent).
    pub before: Value,
    /// The value now.
    pub after: Value,
}

impl FieldChange {
    /// The field in the words of the console and the plan file.
    pub fn label(&self) -> String {
        let label = match self.field.as_str() {
            "task.count" => "tasks of this name",
            "task.id" => "task id",
            "task.state" => "task state",
            "task.status" => "migration status",
            "task.error_json" | "task.error_message" => "task error",
            "task.source.state" => "source state (as the task reports it)",
            "task.source.migration_cycle" => "migration cycle (as the task reports it)",
            "task.migration_method" => "migration method",
            "task.resume_mode" => "resume mode",
            "task.target_instance_id" => "target instance",
            "source.count" => "registered sources of this name",
            "source.id" => "source id",
            "source.connected" => "source agent connected",
            "source.state" => "source state",
            "source.migration_cycle" => "migration cycle",
            "source.os_type" => "source OS type",
            "template.count" => "templates of this name",
            "template.id" => "template id",
            "task.source.id" => "task's source id",
            "task.source.name" => "task's source name",
            "task.vm_template_id" => "task's template id",
            "task.exist_server" => "task targets an existing server",
            "task.target_server.vm_id" => "task's target server",
            "task.network_check" => "network check result",
            "task.source_instance_id" => "source instance",
            "task.data_source" => "source address",
            "task.target_instance_addrs" => "target address",
            other => {
                return other
                    .strip_prefix("task.")
                    .unwrap_or(other)
                    .replace('_', " ");
            }
        };
        label.to_string()
    }

    fn value(v: &Value) -> String {
        let text = match v {
            Value::Null => "(none)".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // Values come from the API: no control characters, and bounded.
        migplan_wire::display_text::shown(&text, 80)
    }
}

impl std::fmt::Display for FieldChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} → {}",
            self.label(),
            Self::value(&self.before),
            Self::value(&self.after)
        )
    }
}

fn count<T>(m: &Match<'_, T>) -> Value {
    json!(match m {
        Match::None => 0,
        Match::One(_) => 1,
        Match::Ambiguous(ids) => ids.len(),
    })
}

/// The live inputs of a server's decisions.
pub fn server_inputs(spec: &ServerSpec, ix: &LiveIndex<'_>) -> FingerprintInputs {
    let mut f = FingerprintInputs::default();
    let task = ix.task(&spec.name);
    f.put("task.count", count(&task));
    let task = task.one();
    if let Some(t) = task {
        f.put("task.id", json!(t.id));
        f.put("task.state", json!(t.state.as_ref().map(|s| s.as_str())));
        f.put("task.error_json", json!(t.error_json));
        for field in SERVER_FIELDS {
            f.put(&format!("task.{field}"), json!(server_live_field(t, field)));
        }
        let emb = t.source_server.as_ref();
        // What the task migrates: the identity check (crate::identity) reads these.
        f.put("task.source.id", json!(emb.map(|s| &s.id)));
        f.put("task.source.name", json!(emb.and_then(|s| s.name.as_ref())));
        f.put("task.vm_template_id", json!(t.vm_template_id));
        f.put("task.exist_server", json!(t.exist_server));
        f.put(
            "task.target_server.vm_id",
            json!(t.target_server.as_ref().and_then(|s| s.vm_id.as_ref())),
        );
        f.put(
            "task.source.state",
            json!(emb.and_then(|s| s.state.as_ref()).map(|s| s.as_str())),
        );
        // `network_check` gates `start` on the live result (only read when the plan asks).
        if spec.network_check.is_some() {
            f.put(
                "task.network_check",
                json!(crate::current::NetworkResult::of(t).map(|r| r.to_string())),
            );
        }
        f.put(
            "task.source.migration_cycle",
            json!(
                emb.and_then(|s| s.migration_cycle.as_ref())
                    .map(|s| s.as_str())
            ),
        );
    }
    let source = ix.source(&spec.source);
    f.put("source.count", count(&source));
    if let Some(s) = source.one() {
        f.put("source.id", json!(s.id));
        f.put("source.connected", json!(s.connected));
        f.put("source.state", json!(s.state.as_ref().map(|s| s.as_str())));
        f.put(
            "source.migration_cycle",
            json!(s.migration_cycle.as_ref().map(|s| s.as_str())),
        );
        if spec.os_type.is_none() {
            f.put(
                "source.os_type",
                json!(s.os_type.as_ref().map(|s| s.as_str())),
            );
        }
    }
    if let Target::Template(t) = &spec.target {
        let m = ix.template(t);
        f.put("template.count", count(&m));
        f.put("template.id", json!(m.one().and_then(|t| t.id.clone())));
    }
    f
}

/// The live inputs of a Redis migration's decisions.
pub fn redis_inputs(spec: &RedisSpec, ix: &LiveIndex<'_>) -> FingerprintInputs {
    let mut f = FingerprintInputs::default();
    let task = ix.migration(&spec.name);
    f.put("task.count", count(&task));
    if let Some(t) = task.one() {
        f.put("task.id", json!(t.task_id));
        f.put("task.status", json!(t.status.as_ref().map(|s| s.as_str())));
        f.put("task.error_message", json!(t.error_message));
        f.put(
            "task.migration_method",
            json!(t.migration_method.as_ref().map(|s| s.as_str())),
        );
        f.put(
            "task.resume_mode",
            json!(t.resume_mode.as_ref().map(|s| s.as_str())),
        );
        f.put("task.target_instance_id", json!(t.target_instance_id));
        // What the task copies: the identity check (crate::identity) reads these.
        f.put("task.source_instance_id", json!(t.source_instance_id));
        f.put("task.data_source", json!(t.data_source));
        f.put("task.target_instance_addrs", json!(t.target_instance_addrs));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_names_differences_and_digest_is_stable() {
        let mut a = FingerprintInputs::default();
        a.put("task.state", json!("RUNNING"));
        a.put("task.id", json!("t1"));
        let mut b = a.clone();
        assert_eq!(a.digest(), b.digest());
        b.put("task.state", json!("MIGRATE_SUCCESS"));
        b.put("source.connected", json!(false));
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.changed_fields(&b), ["source.connected", "task.state"]);
        let shown: Vec<String> = a.changes(&b).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "source agent connected: (none) → false",
                "task state: RUNNING → MIGRATE_SUCCESS"
            ]
        );
        assert_eq!(a.digest().len(), 64);
    }
}
