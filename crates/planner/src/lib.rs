//! migplan-planner: a validated [`Spec`](migplan_parser::Spec) and a [`LiveSnapshot`] in, a
//! [`Plan`] out. Pure: no I/O, no runtime, no clock, no printing.
//!
//! Principal types:
//! - [`LiveSnapshot`]: what the SMS and DCS list calls returned (indexed once by [`LiveIndex`]).
//! - [`Current`]: where a resource is now, derived from live fields (the mapping table is in
//!   [`current`]).
//! - [`FieldDiff`]: one field change (`InPlace`, `Forbidden`, or set on `Create`), computed
//!   once; renderers only print it.
//! - [`Step`] / [`StepKind`]: one API call ([`Call`]) or wait, with its precondition, effect
//!   and postcondition on typed live states; each kind is defined once in [`kinds`]; [`StepGraph`] is the sealed DAG (built by [`StepGraphBuilder`]), with DOT and
//!   mermaid output.
//! - [`Blocked`] / [`BlockedReason`]: why a resource cannot move, with a remedy.
//! - [`Identity`]: what a same-named live task must migrate to be an entry's task (a task of
//!   another source or target blocks the entry; the executor re-checks before acting).
//! - [`Plan`]: the documented output value (format version 1, schema
//!   [`plan_output_schema`]), with a per-resource fingerprint of the live fields used.
//!
//! Data flow: spec + snapshot → match by name ([`LiveIndex`]), checked by what the task
//! migrates ([`Identity`]) → [`Current`] per resource →
//! diffs and blocked reasons → chain of steps from current to desired stage → blocked
//! dependencies propagate (root cause named once) → dependency, stage and wave edges → one
//! DAG → deterministic topological order → [`Plan`].
//!
//! ```
//! use migplan_planner::{plan, LiveSnapshot, PlanOptions, StepKind};
//! use migplan_wire::sms::SourceServer;
//!
//! let text = "version: 1\nname: demo\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
//! servers:\n  - name: web-01\n    target: {server_id: ecs-1, migration_ip: 10.0.0.9}\n    stage: replicated\n";
//! let spec = migplan_parser::parse("demo.yaml", text).expect("valid").spec;
//! let live = LiveSnapshot {
//!     sources: vec![SourceServer { id: "s1".into(), name: Some("web-01".into()), connected: Some(true), ..Default::default() }],
//!     ..Default::default()
//! };
//! let p = plan(&spec, &live, &PlanOptions::default()).expect("planned");
//! let kinds: Vec<&str> = p.steps.iter().map(|s| s.kind.slug()).collect();
//! assert_eq!(kinds, ["create", "start", "wait"]);
//! assert!(p.has_changes() && !p.is_blocked());
//! assert_eq!(p.summary.create, 1);
//! ```
#![deny(missing_docs)]

pub mod blocked;
mod call;
pub mod chain;
pub mod current;
pub mod diff;
pub mod error;
pub mod fingerprint;
pub mod forecast;
mod gates;
pub mod identity;
pub mod kinds;
pub mod plan;
mod planner;
pub mod saved;
mod saved_diff;
pub mod snapshot;
pub mod step;
pub mod step_graph;
pub mod step_graph_builder;
pub mod window;
mod wiring;

pub use blocked::{Blocked, BlockedReason};
pub use current::Current;
pub use diff::{Change, FieldDiff};
pub use error::PlanError;
pub use fingerprint::{FieldChange, FingerprintInputs};
pub use forecast::{
    Assumptions, CriticalStep, Detach, Forecast, QueuePlace, QuotaPlan, is_migrating,
};
pub use identity::{Identity, Mismatch, RedisIdentity, ServerIdentity, Side};
pub use kinds::{KindSpec, QuotaUse, StepKind};
pub use plan::{
    FORMAT_VERSION, Plan, PlanOptions, ResourcePlan, Summary, WavePlan, plan_output_schema,
};
pub use planner::plan;
pub use saved::{
    SavedPlan, SavedPlanError, SignatureError, StalePlan, StaleResource, TamperedPlan,
};
pub use snapshot::{LiveIndex, LiveSnapshot, Match};
pub use step::{ApiCall, Call, Condition, Service, Step, StepClass, StepId};
pub use step_graph::StepGraph;
pub use step_graph_builder::StepGraphBuilder;

#[cfg(test)]
mod tests;
