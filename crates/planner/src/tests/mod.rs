//! Table-driven tests of the pure planner: (live state, desired stage) → exact steps or blocked.

mod adoption;
mod cutover_gates;
mod operations;
mod quota;
mod redis_table;
mod server_table;
mod stage_order;
mod verify_gate;
mod windows;

use migplan_parser::Spec;
use migplan_wire::sms::SourceServer;

use crate::{Plan, PlanOptions, plan};

pub(crate) const HEAD: &str = "version: 1\nname: t\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n";

pub(crate) fn spec(yaml_body: &str) -> Spec {
    let text = format!("{HEAD}{yaml_body}");
    match migplan_parser::parse("t.yaml", &text) {
        Ok(p) => p.spec,
        Err(e) => panic!("invalid test spec: {:?}\n{text}", e.diagnostics),
    }
}

pub(crate) fn source(name: &str) -> SourceServer {
    SourceServer {
        id: format!("src-{name}"),
        name: Some(name.into()),
        connected: Some(true),
        ..SourceServer::default()
    }
}

/// Step id suffixes (`create`, `start`, `wait.replicated`, ...) of the only resource, or
/// `blocked:REASON,...`.
pub(crate) fn outcome(p: &Plan) -> String {
    let r = &p.resources[0];
    if r.is_blocked() {
        let reasons: Vec<String> = r
            .blocked
            .iter()
            .map(|b| {
                serde_json::to_value(&b.reason).expect("serializable")["reason"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        assert!(r.steps.is_empty(), "a blocked resource has no steps");
        return format!("blocked:{}", reasons.join(","));
    }
    let ids: Vec<&str> = p
        .steps
        .iter()
        .map(|s| s.id.0.split_once('#').map_or("", |(_, k)| k))
        .collect();
    ids.join(" ")
}

pub(crate) fn run(spec: &Spec, live: &crate::LiveSnapshot) -> Plan {
    plan(spec, live, &PlanOptions::default()).expect("plans")
}
