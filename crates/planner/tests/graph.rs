//! Dependency, stage and wave edges, blocked propagation, targeting, DOT and mermaid output.

mod common;

use common::{deps, position, run, source, sources_for, spec};
use migplan_parser::{RedisStage, ResourceAddr, Stage};
use migplan_planner::{BlockedReason, PlanError, PlanOptions, plan};
use migplan_wire::sms::{SourceState, Task, TaskState};

const SHOP: &str = r#"servers:
  - name: db-01
    target: {server_id: ecs-db, migration_ip: 10.0.0.21}
    stage: cutover
  - name: web-01
    target: {server_id: ecs-web, migration_ip: 10.0.0.22}
    stage: cutover
    depends_on:
      - cutover: server.db-01
      - cutover: redis.sessions@migrated
redis:
  - name: sessions
    method: incremental
    resume_mode: auto
    network: {vpc_id: v, subnet_id: s, security_group_id: g}
    source: {addrs: "10.0.0.15:6379", password: {env: SESSIONS_PW}}
    target: {instance_id: inst-1}
    stage: stopped
    depends_on:
      - stopped: server.web-01
"#;

#[test]
fn stage_level_dependencies_wait_at_the_right_steps() {
    let s = spec(SHOP);
    let p = run(&s, &sources_for(&s));
    assert_eq!(
        deps(&p, "server.web-01#cutover"),
        [
            "redis.sessions#wait.migrated",
            "server.db-01#cutover",
            "server.web-01#test"
        ]
    );
    assert_eq!(
        deps(&p, "server.web-01#create"),
        Vec::<String>::new(),
        "replication starts now"
    );
    assert_eq!(
        deps(&p, "redis.sessions#stop"),
        ["redis.sessions#wait.migrated", "server.web-01#cutover"]
    );
    assert!(position(&p, "server.db-01#cutover") < position(&p, "server.web-01#cutover"));
    // Topological order is deterministic: same input, same order.
    let again = run(&s, &sources_for(&s));
    assert_eq!(p.steps, again.steps);
}

#[test]
fn a_dependency_already_reached_live_gives_no_edge() {
    let s = spec(SHOP);
    let mut live = sources_for(&s);
    live.tasks.push(Task {
        id: "t-db".into(),
        name: "db-01".into(),
        state: Some(TaskState::MigrateSuccess),
        ..Task::default()
    });
    live.sources[0].state = Some(SourceState::Finished);
    let p = run(&s, &live);
    assert!(p.resources[0].steps.is_empty());
    assert_eq!(
        deps(&p, "server.web-01#cutover"),
        ["redis.sessions#wait.migrated", "server.web-01#test"]
    );
}

const WAVES: &str = r#"servers:
  - {name: s1, target: {server_id: e1, migration_ip: 10.0.0.1}, stage: replicated}
  - {name: s2, target: {server_id: e2, migration_ip: 10.0.0.2}, stage: replicated}
  - {name: s3, target: {server_id: e3, migration_ip: 10.0.0.3}, stage: replicated}
  - {name: s4, target: {server_id: e4, migration_ip: 10.0.0.4}, stage: replicated}
waves:
  - {name: a, members: [server.s1]}
  - {name: b, members: [server.s2, server.s3]}
  - {name: c, members: [server.s4]}
"#;

#[test]
fn waves_are_barriers_with_linear_edges() {
    let s = spec(WAVES);
    let p = run(&s, &sources_for(&s));
    assert_eq!(deps(&p, "wave.a#barrier"), ["server.s1#wait.replicated"]);
    assert_eq!(deps(&p, "server.s2#create"), ["wave.a#barrier"]);
    assert_eq!(deps(&p, "server.s3#create"), ["wave.a#barrier"]);
    assert_eq!(
        deps(&p, "wave.b#barrier"),
        [
            "server.s2#wait.replicated",
            "server.s3#wait.replicated",
            "wave.a#barrier"
        ]
    );
    assert_eq!(deps(&p, "server.s4#create"), ["wave.b#barrier"]);
    assert_eq!(p.summary.create, 4);
    insta::assert_snapshot!("waves_dot", p.graph().expect("acyclic").to_dot());
}

#[test]
fn blocked_dependencies_propagate_with_the_root_cause_once() {
    let body = r#"servers:
  - {name: s1, target: {server_id: e1, migration_ip: 10.0.0.1}, stage: replicated}
  - {name: s2, target: {server_id: e2, migration_ip: 10.0.0.2}, stage: replicated, depends_on: [server.s1]}
  - {name: s3, target: {server_id: e3, migration_ip: 10.0.0.3}, stage: replicated, depends_on: [server.s2]}
  - {name: s4, target: {server_id: e4, migration_ip: 10.0.0.4}, stage: replicated}
"#;
    let s = spec(body);
    let mut live = sources_for(&s);
    live.sources.retain(|x| x.name.as_deref() != Some("s1"));
    let p = run(&s, &live);
    let reason = |i: usize| p.resources[i].blocked[0].reason.clone();
    assert!(matches!(
        reason(0),
        BlockedReason::SourceNotRegistered { .. }
    ));
    let s1 = ResourceAddr::server("s1");
    assert_eq!(
        reason(1),
        BlockedReason::DependencyBlocked {
            on: s1.clone(),
            root: s1.clone(),
            from: None
        }
    );
    assert_eq!(
        reason(2),
        BlockedReason::DependencyBlocked {
            on: ResourceAddr::server("s2"),
            root: s1.clone(),
            from: None
        }
    );
    assert!(!p.resources[3].is_blocked(), "independent chains go on");
    assert_eq!(p.summary.blocked, 3);
    assert!(p.is_blocked() && p.has_changes());

    // A wave member blocked blocks the next wave.
    let s = spec(WAVES);
    let mut live = sources_for(&s);
    live.sources[0].connected = Some(false);
    let p = run(&s, &live);
    assert!(
        matches!(p.resources[1].blocked[0].reason, BlockedReason::DependencyBlocked { ref root, .. } if *root == s1)
    );
    assert!(p.resources[3].is_blocked());
}

#[test]
fn blocking_crosses_stage_level_mutual_waits() {
    // web-01's cutover waits for sessions@migrated, and sessions' stop waits for all of web-01:
    // no cycle at stage level, but a loop at resource level. A blocked web-01 must hold back the
    // session sync's stop (or apply would stop syncing before the web tier moved), while the
    // copy itself goes ahead: only the stage that waits is blocked.
    let s = spec(SHOP);
    let mut live = sources_for(&s);
    live.sources.retain(|x| x.name.as_deref() != Some("web-01"));
    let p = run(&s, &live);
    let web = ResourceAddr::server("web-01");
    let sessions = p
        .resource(&ResourceAddr::redis("sessions"))
        .expect("sessions planned");
    assert_eq!(
        sessions.blocked.first().map(|b| b.reason.clone()),
        Some(BlockedReason::DependencyBlocked {
            on: web.clone(),
            root: web,
            from: Some(Stage::Redis(RedisStage::Stopped)),
        })
    );
    let planned: Vec<String> = p
        .steps
        .iter()
        .map(|st| st.id.to_string())
        .filter(|id| id.starts_with("redis.sessions"))
        .collect();
    assert!(
        planned.iter().any(|id| id.contains("configure")),
        "{planned:?}"
    );
    assert!(
        planned.iter().any(|id| id.contains("wait.migrated")),
        "{planned:?}"
    );
    assert!(!planned.iter().any(|id| id.contains("stop")), "{planned:?}");
    assert!(
        !p.resource(&ResourceAddr::server("db-01"))
            .expect("db")
            .is_blocked()
    );
}

/// An unset secret blocks the resource that would send it, naming the variable; what waits
/// on it is blocked from that stage, what does not goes ahead.
#[test]
fn an_unset_secret_blocks_the_migration_that_sends_it() {
    let s = spec(SHOP);
    let opts = PlanOptions {
        unset_secrets: ["SESSIONS_PW".to_string()].into(),
        ..PlanOptions::default()
    };
    let p = plan(&s, &sources_for(&s), &opts).expect("plans");
    let sessions = p
        .resource(&ResourceAddr::redis("sessions"))
        .expect("sessions");
    assert_eq!(
        sessions.blocked.first().map(|b| &b.reason),
        Some(&BlockedReason::SecretUnset {
            vars: vec!["SESSIONS_PW".into()]
        })
    );
    assert!(sessions.steps.is_empty());
    let db = p.resource(&ResourceAddr::server("db-01")).expect("db");
    assert!(
        !db.is_blocked() && !db.steps.is_empty(),
        "db-01 needs no secret"
    );
    // A variable the plan does not use changes nothing.
    let opts = PlanOptions {
        unset_secrets: ["OTHER".to_string()].into(),
        ..PlanOptions::default()
    };
    assert!(
        !plan(&s, &sources_for(&s), &opts)
            .expect("plans")
            .is_blocked()
    );
}

/// `--target server.web-01` needs db-01 cut over and the sessions at `migrated`: it plans
/// exactly that, never the sessions' `stop` (a later stage than needed) nor a dependent.
#[test]
fn a_target_brings_in_only_the_stages_it_needs() {
    let s = spec(SHOP);
    let opts = PlanOptions {
        targets: vec![ResourceAddr::server("web-01")],
        ..PlanOptions::default()
    };
    let p = plan(&s, &sources_for(&s), &opts).expect("plans");
    let desired: Vec<String> = p
        .resources
        .iter()
        .map(|r| format!("{} → {}", r.addr, r.desired))
        .collect();
    assert_eq!(
        desired,
        [
            "server.db-01 → cutover",
            "server.web-01 → cutover",
            "redis.sessions → migrated"
        ]
    );
    let ids: Vec<&str> = p.steps.iter().map(|st| st.id.0.as_str()).collect();
    assert!(
        !ids.iter().any(|id| id.starts_with("redis.sessions#stop")),
        "the sync is not stopped: {ids:?}"
    );
    assert!(ids.contains(&"server.web-01#cutover"), "{ids:?}");

    // A dependency only a later stage waits for is not followed: web-01 up to `replicated`
    // needs neither db-01 nor the sessions (both gate its cutover only).
    let mut only_copy = s.clone();
    only_copy.servers[1].stage = migplan_parser::ServerStage::Replicated;
    let p = plan(&only_copy, &sources_for(&only_copy), &opts).expect("plans");
    let addrs: Vec<String> = p.resources.iter().map(|r| r.addr.to_string()).collect();
    assert_eq!(addrs, ["server.web-01"]);
}

#[test]
fn targeting_keeps_targets_and_what_they_depend_on() {
    let s = spec(SHOP);
    let opts = PlanOptions {
        targets: vec![ResourceAddr::server("db-01")],
        ..PlanOptions::default()
    };
    let p = plan(&s, &sources_for(&s), &opts).expect("plans");
    let addrs: Vec<String> = p.resources.iter().map(|r| r.addr.to_string()).collect();
    assert_eq!(addrs, ["server.db-01"]);

    let opts = PlanOptions {
        targets: vec![ResourceAddr::redis("sessions")],
        ..PlanOptions::default()
    };
    let p = plan(&s, &sources_for(&s), &opts).expect("plans");
    let addrs: Vec<String> = p.resources.iter().map(|r| r.addr.to_string()).collect();
    assert_eq!(addrs, ["server.db-01", "server.web-01", "redis.sessions"]);

    let s = spec(WAVES);
    let opts = PlanOptions {
        targets: vec![ResourceAddr::server("s4")],
        ..PlanOptions::default()
    };
    let p = plan(&s, &sources_for(&s), &opts).expect("plans");
    assert_eq!(p.resources.len(), 4, "waves c → b → a are all kept");
    let opts = PlanOptions {
        targets: vec![ResourceAddr::server("s2")],
        ..PlanOptions::default()
    };
    let p = plan(&s, &sources_for(&s), &opts).expect("plans");
    let addrs: Vec<String> = p.resources.iter().map(|r| r.addr.to_string()).collect();
    assert_eq!(addrs, ["server.s1", "server.s2"]);

    let err = plan(
        &s,
        &sources_for(&s),
        &PlanOptions {
            targets: vec![ResourceAddr::server("nope")],
            ..PlanOptions::default()
        },
    );
    assert_eq!(
        err,
        Err(PlanError::UnknownTarget {
            addr: "server.nope".into()
        })
    );
}

#[test]
fn dot_and_mermaid_snapshots() {
    let s = spec(SHOP);
    let p = run(&s, &sources_for(&s));
    let g = p.graph().expect("acyclic");
    assert_eq!(g.len(), p.steps.len());
    insta::assert_snapshot!("shop_dot", g.to_dot());
    insta::assert_snapshot!("shop_mermaid", g.to_mermaid());
}

#[test]
fn plan_json_never_contains_secret_values_and_round_trips_order() {
    let s = spec(SHOP);
    let mut live = sources_for(&s);
    live.sources.push(source("unrelated"));
    let p = run(&s, &live);
    let json = serde_json::to_string(&p).expect("serializes");
    assert!(json.contains("{env: SESSIONS_PW}"));
    assert!(json.contains("\"format_version\":1"));
    let g = p.graph().expect("acyclic");
    let ids: Vec<_> = g.steps().map(|s| s.id.clone()).collect();
    let orig: Vec<_> = p.steps.iter().map(|s| s.id.clone()).collect();
    assert_eq!(
        ids, orig,
        "rebuilding the graph from the plan keeps its order"
    );
}
