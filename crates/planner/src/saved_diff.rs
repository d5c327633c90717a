//! What differs between a saved plan and the plan re-derived from its plan file and live state.
//!
//! Apply never trusts a saved plan's steps: it derives them again and refuses the saved plan
//! when the two differ ([`crate::SavedPlan::rederive`]). This module names the differences, per
//! resource and step, for the refusal. Values from the saved file are an attacker's text as far
//! as we know, so each is shown JSON-escaped (no control characters) and truncated.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::plan::Plan;

/// Per-resource fields the forecast fills (display only).
const FORECAST_FIELDS: &[&str] = &["eta_seconds", "queue"];

/// At most this many differences are listed; the rest are counted.
const MAX_LISTED: usize = 20;
/// At most this many characters of a value are shown.
const MAX_VALUE_CHARS: usize = 60;

/// The differences between `saved` and `derived`, as lines for people; empty when equal.
pub(crate) fn differences(saved: &Plan, derived: &Plan) -> Vec<String> {
    let (Ok(mut saved), Ok(mut derived)) =
        (serde_json::to_value(saved), serde_json::to_value(derived))
    else {
        return vec!["the plan could not be compared (not serializable)".into()];
    };
    // The forecast's figures are display only and move with the clock: not compared.
    for plan in [&mut saved, &mut derived] {
        for r in plan["resources"].as_array_mut().into_iter().flatten() {
            if let Some(r) = r.as_object_mut() {
                for key in FORECAST_FIELDS {
                    r.remove(*key);
                }
            }
        }
    }
    let mut out = Vec::new();
    for key in ["format_version", "name", "targets", "summary"] {
        if saved.get(key) != derived.get(key) {
            out.push(changed(key, saved.get(key), derived.get(key)));
        }
    }
    compare_keyed(
        &mut out,
        &saved["resources"],
        &derived["resources"],
        "addr",
        "resource",
    );
    compare_keyed(&mut out, &saved["steps"], &derived["steps"], "id", "step");
    if saved.get("steps") != derived.get("steps") && !out.iter().any(|l| l.starts_with("step ")) {
        out.push("steps: same steps in another order".into());
    }
    if out.len() > MAX_LISTED {
        let more = out.len() - MAX_LISTED;
        out.truncate(MAX_LISTED);
        out.push(format!("… and {more} more differences"));
    }
    out
}

/// Compares two arrays of objects matched by `key`: missing, added, and changed fields.
fn compare_keyed(out: &mut Vec<String>, saved: &Value, derived: &Value, key: &str, what: &str) {
    let index = |v: &Value| -> BTreeMap<String, Value> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|item| (shown_key(item.get(key)), item.clone()))
            .collect()
    };
    let (saved, derived) = (index(saved), index(derived));
    for (k, d) in &derived {
        match saved.get(k) {
            None => out.push(format!(
                "{what} {k}: missing from the saved plan (the plan file and live state give it)"
            )),
            Some(s) if s != d => {
                let fields: Vec<String> = d
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(f, v)| s.get(f.as_str()) != Some(v))
                    .map(|(f, v)| changed(f, s.get(f.as_str()), Some(v)))
                    .collect();
                let extra = s
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(f, _)| d.get(f.as_str()).is_none())
                    .map(|(f, _)| format!("{} (not a field the planner writes)", escape(f)));
                let all: Vec<String> = fields.into_iter().chain(extra).collect();
                out.push(format!("{what} {k}: {}", all.join("; ")));
            }
            Some(_) => {}
        }
    }
    for k in saved.keys().filter(|k| !derived.contains_key(*k)) {
        out.push(format!(
            "{what} {k}: in the saved plan, but the plan file and live state do not give it"
        ));
    }
}

fn changed(field: &str, saved: Option<&Value>, derived: Option<&Value>) -> String {
    format!(
        "{} saved {} → derived {}",
        escape(field),
        saved.map_or_else(|| "(absent)".into(), shown),
        derived.map_or_else(|| "(absent)".into(), shown),
    )
}

fn shown_key(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => escape(s),
        Some(other) => shown(other),
        None => "(no key)".into(),
    }
}

/// A value as compact JSON, cut at [`MAX_VALUE_CHARS`]. JSON escapes C0 controls but not DEL
/// or C1 (`\u{9b}` starts a terminal sequence too), so those are escaped here.
fn shown(v: &Value) -> String {
    escape(&v.to_string())
}

/// A string with control characters escaped, cut at [`MAX_VALUE_CHARS`].
fn escape(s: &str) -> String {
    migplan_wire::display_text::shown(s, MAX_VALUE_CHARS)
}
