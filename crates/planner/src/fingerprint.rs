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
        let mut keys: Vec<&String> = self.0.keys().chain(now.0.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| self.0.get(*k) != now.0.get(*k))
            .cloned()
            .collect()
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
        f.put(
            "task.source.state",
            json!(emb.and_then(|s| s.state.as_ref()).map(|s| s.as_str())),
        );
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
        assert_eq!(a.digest().len(), 64);
    }
}
