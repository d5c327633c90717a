//! The checked-in `schemas/plan-output.schema.json` equals the schema generated from `Plan`.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p migplan-planner --test schema`.

use std::path::PathBuf;

#[test]
fn checked_in_plan_output_schema_is_current() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/plan-output.schema.json");
    let generated =
        serde_json::to_string_pretty(&migplan_planner::plan_output_schema()).expect("json") + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "schemas/plan-output.schema.json is out of date; run UPDATE_SCHEMAS=1 cargo test -p migplan-planner --test schema"
    );
}
