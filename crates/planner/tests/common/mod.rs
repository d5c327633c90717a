//! Helpers shared by the integration tests.
#![allow(dead_code)]

use migplan_parser::Spec;
use migplan_planner::{LiveSnapshot, Plan, PlanOptions, plan};
use migplan_wire::sms::SourceServer;

pub const HEAD: &str = "version: 1\nname: t\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n";

pub fn spec(body: &str) -> Spec {
    let text = format!("{HEAD}{body}");
    match migplan_parser::parse("t.yaml", &text) {
        Ok(p) => p.spec,
        Err(e) => panic!("invalid test spec: {:?}", e.diagnostics),
    }
}

pub fn source(name: &str) -> SourceServer {
    SourceServer {
        id: format!("src-{name}"),
        name: Some(name.into()),
        connected: Some(true),
        ..SourceServer::default()
    }
}

/// Every server registered, nothing else live.
pub fn sources_for(spec: &Spec) -> LiveSnapshot {
    LiveSnapshot {
        sources: spec.servers.iter().map(|s| source(&s.name)).collect(),
        ..LiveSnapshot::default()
    }
}

pub fn run(spec: &Spec, live: &LiveSnapshot) -> Plan {
    plan(spec, live, &PlanOptions::default()).expect("plans")
}

/// `depends_on` of a step, as strings.
pub fn deps(p: &Plan, id: &str) -> Vec<String> {
    let s = p
        .steps
        .iter()
        .find(|s| s.id.0 == id)
        .unwrap_or_else(|| panic!("no step {id}"));
    s.depends_on.iter().map(|d| d.0.clone()).collect()
}

pub fn position(p: &Plan, id: &str) -> usize {
    p.steps
        .iter()
        .position(|s| s.id.0 == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}
