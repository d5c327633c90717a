//! Real JSON output checked against the schemas published in `schemas/` (the checked-in copies
//! CI compares with `migplan schema NAME`).

use serde_json::Value;

use crate::repo_root;

/// Panics naming every place where `instance` breaks `schemas/NAME.schema.json`.
pub fn assert_matches_schema(name: &str, instance: &Value) {
    let path = repo_root().join(format!("schemas/{name}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match schemas/{name}.schema.json:\n{}\n{instance:#}",
        errors.join("\n")
    );
}

#[test]
fn the_checker_rejects_output_that_breaks_a_schema() {
    // The assertion above must be able to fail: an error object without its exit code.
    let broken = serde_json::json!({"error": {"kind": "usage", "message": "m"}});
    let caught = std::panic::catch_unwind(|| assert_matches_schema("error", &broken));
    assert!(caught.is_err(), "a missing exit_code was accepted");
    let wrong_kind = serde_json::json!({"error": {"kind": "nope", "message": "m", "exit_code": 1}});
    assert!(std::panic::catch_unwind(|| assert_matches_schema("error", &wrong_kind)).is_err());
}

#[test]
fn checked_in_schemas_are_what_the_binary_prints() {
    for name in ["plan", "status", "validate", "error"] {
        let out = crate::migplan()
            .args(["schema", name])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "schema {name}");
        let on_disk =
            std::fs::read_to_string(repo_root().join(format!("schemas/{name}.schema.json")))
                .unwrap_or_default();
        assert!(
            String::from_utf8_lossy(&out.stdout) == on_disk,
            "schemas/{name}.schema.json is stale: cargo run -q -- schema {name} > schemas/{name}.schema.json"
        );
    }
    // `migplan schema` alone is still the plan format's schema.
    let bare = crate::migplan().arg("schema").output().expect("runs");
    let plan = crate::migplan()
        .args(["schema", "plan"])
        .output()
        .expect("runs");
    assert_eq!(bare.stdout, plan.stdout);
}

#[test]
fn validate_json_matches_its_schema() {
    let dir = crate::emulated::scratch_dir("validate-schema");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nname: bad\nservers:\n  - name: a\n    sauce: x\n",
    )
    .unwrap();
    let out = crate::migplan()
        .args([
            "validate",
            "--format",
            "json",
            "plans/quickstart.yaml",
            "plans/shop-cutover.yaml",
        ])
        .arg(&bad)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_matches_schema("validate", &doc);
    assert_eq!(doc["files"][0]["valid"], true);
    assert_eq!(doc["files"][2]["valid"], false);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn status_json_matches_its_schema_before_during_and_after() {
    use crate::emulated::{Setup, show};
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .time_scale(1.0)
        .start();
    let status = || {
        let out = e
            .cmd()
            .args(["status", "--format", "json", "plans/quickstart.yaml"])
            .output()
            .expect("runs");
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|err| panic!("{err}: {}", show(&out)));
        assert_matches_schema("status", &doc);
        (out.status.code(), doc)
    };
    let (code, before) = status();
    assert_eq!(code, Some(5), "{before}");
    assert_eq!(before["resources"][0]["current"]["status"], "absent");
    // Started, still copying (real time): the row carries progress.
    let applied = e.apply_json("plans/quickstart.yaml", "100ms", &["--wait-timeout", "1s"]);
    assert_eq!(applied.status.code(), Some(5), "{}", show(&applied));
    let (code, during) = status();
    assert_eq!(code, Some(5), "{during}");
    assert_eq!(
        during["resources"][0]["current"]["status"], "in_progress",
        "{during}"
    );
    assert!(
        during["resources"][0]["progress"]["state"].is_string(),
        "{during}"
    );
}
