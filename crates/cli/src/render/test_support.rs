//! Shared fixtures for the renderer tests.

use migplan_planner::{LiveSnapshot, Plan, PlanOptions};

const HEAD: &str = "version: 1\nname: t\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n";

/// Plans `body` (YAML after the common header) against an empty live state.
pub fn plan_of(body: &str) -> Plan {
    let spec = migplan_parser::parse("t.yaml", &format!("{HEAD}{body}"))
        .expect("valid")
        .spec;
    migplan_planner::plan(&spec, &LiveSnapshot::default(), &PlanOptions::default()).expect("plans")
}

/// Plans `body` with every source registered and every template present (nothing migrated
/// yet), so nothing is blocked.
pub fn ready_plan_of(body: &str) -> Plan {
    let spec = migplan_parser::parse("t.yaml", &format!("{HEAD}{body}"))
        .expect("valid")
        .spec;
    let live = LiveSnapshot::assume_ready(&spec);
    migplan_planner::plan(&spec, &live, &PlanOptions::default()).expect("plans")
}
