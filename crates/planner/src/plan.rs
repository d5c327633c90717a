//! [`Plan`]: the planner's output, a documented value (JSON format version 1).
//!
//! # Wire format
//!
//! `migplan plan --format json` prints a [`Plan`]; its JSON Schema (draft 2020-12) is
//! [`plan_output_schema`], checked in as `schemas/plan-output.schema.json`. Each field's doc says
//! whether it drives apply or is for display only. Secrets never appear: a Redis password shows
//! as `{env: NAME}`.

use std::collections::BTreeMap;

use migplan_parser::{ResourceAddr, ResourceKind, Stage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::blocked::Blocked;
use crate::current::Current;
use crate::diff::FieldDiff;
use crate::error::PlanError;
use crate::step::{Step, StepClass, StepId};
use crate::step_graph::StepGraph;

/// The version of the plan output format.
pub const FORMAT_VERSION: u32 = 1;

/// Options of one planning run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--target`: when non-empty, only these resources and everything they (transitively)
    /// depend on, waves included.
    pub targets: Vec<ResourceAddr>,
    /// Environment variables the plan names for secrets that are unset or empty where
    /// migplan runs (names only, never values; the caller reads the environment). A resource
    /// that would send one is blocked, naming it.
    pub unset_secrets: std::collections::BTreeSet<String>,
    /// The instant maintenance windows are judged at (the caller reads the clock; the planner
    /// never does). `None`: unknown, and every windowed irreversible step is held.
    pub now: Option<jiff::Timestamp>,
}

/// A migration plan: per resource, where it is and what will happen; and every step in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Always 1 for this format. Drives apply (a saved plan of another version is refused).
    pub format_version: u32,
    /// The plan's `name`. Display only.
    pub name: String,
    /// The `--target` addresses this plan was limited to (empty = all). Display only.
    #[schemars(with = "Vec<String>")]
    pub targets: Vec<ResourceAddr>,
    /// Resources in file order (servers, then Redis).
    pub resources: Vec<ResourcePlan>,
    /// Every step in a deterministic topological order. Drives apply.
    pub steps: Vec<Step>,
    /// The plan's waves in order, with the members this plan kept and their concurrency cap.
    /// Drives apply (the scheduler's wave caps; the barriers between waves are steps).
    #[serde(default)]
    pub waves: Vec<WavePlan>,
    /// Counts for the summary line. Display only.
    pub summary: Summary,
    /// The instant maintenance windows were judged at (RFC 3339, UTC), when the plan declares
    /// windows. Drives apply: a saved plan is re-derived at it to tell a window that opened or
    /// closed since from an edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_at: Option<String>,
    /// The SMS quota apply runs under and what already used it when planned, when the plan
    /// has servers. Drives apply (copies are admitted only while fewer migrations run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<crate::forecast::QuotaPlan>,
    /// How long apply is expected to take. Display only; filled by the CLI
    /// (`migplan_executor::forecast`), never by the planner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<crate::forecast::Forecast>,
}

/// One wave: members and how many may be active at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WavePlan {
    /// The wave's name.
    pub name: String,
    /// Its members in this plan (`--target` may keep fewer than the file lists).
    #[schemars(with = "Vec<String>")]
    pub members: Vec<ResourceAddr>,
    /// At most this many members active at once (`max_parallel`); `None`: no cap.
    pub max_parallel: Option<u32>,
}

/// One resource of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourcePlan {
    /// `server.NAME` / `redis.NAME`. Drives apply.
    #[schemars(with = "String")]
    pub addr: ResourceAddr,
    /// `server` or `redis`. Display only.
    pub kind: ResourceKind,
    /// Id of the live SMS / DCS task it matched, if any. Drives apply (re-attach).
    pub live_id: Option<String>,
    /// Where it is now. Display only (apply re-reads live state).
    pub current: Current,
    /// The stage the plan asks for. Display only.
    #[schemars(with = "String")]
    pub desired: Stage,
    /// Field-level changes. Display only (in-place changes become an update step).
    pub diffs: Vec<FieldDiff>,
    /// `diffs` as a unified diff (`--- live` / `+++ plan`), empty when none. Display only.
    pub diff_text: String,
    /// Ids of its steps, in chain order. Drives apply.
    pub steps: Vec<StepId>,
    /// Why it cannot move (empty = not blocked). Drives the exit code (3).
    pub blocked: Vec<Blocked>,
    /// Lower-case hex sha256 of `fingerprint_inputs`' canonical JSON. Drives apply (staleness).
    pub fingerprint: String,
    /// The live fields the decisions used, by name. Drives apply (naming what changed).
    pub fingerprint_inputs: BTreeMap<String, serde_json::Value>,
    /// The last network check's result (speed, delay, loss, evaluation), when the plan asks
    /// for a check and the task carries one. Display only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_check: Option<String>,
    /// Seconds of the cloud's clock from the start of apply until it reaches its desired
    /// stage, when it has steps. Display only (the forecast's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u64>,
    /// Its place in the queue for the SMS quota, when its copy waits for a free slot. Display
    /// only (the forecast's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<crate::forecast::QueuePlace>,
}

impl ResourcePlan {
    /// True when it has reasons to be blocked.
    pub fn is_blocked(&self) -> bool {
        !self.blocked.is_empty()
    }

    /// When blocked only from some stage on (earlier stages go ahead), that stage; `None` when
    /// not blocked or blocked as a whole.
    pub fn blocked_from(&self) -> Option<Stage> {
        let mut from = None;
        for b in &self.blocked {
            match b.reason {
                crate::BlockedReason::DependencyBlocked { from: Some(s), .. }
                | crate::BlockedReason::WindowClosed { from: s, .. } => {
                    from = Some(from.map_or(s, |f: Stage| f.earlier(s)));
                }
                _ => return None,
            }
        }
        from
    }
}

/// Counts of steps by class and of resources by outcome. Display only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Create steps (`+`).
    pub create: usize,
    /// Update steps (`~`).
    pub update: usize,
    /// Action steps (`>`).
    pub action: usize,
    /// Wait steps (`…`).
    pub wait: usize,
    /// Checks (`?`): data comparisons that run on apply and change nothing.
    #[serde(default)]
    pub check: usize,
    /// Blocked resources.
    pub blocked: usize,
    /// Steps that cannot be taken back (cutover, clear, stopping a sync), counted again here
    /// so a reviewer sees them first.
    #[serde(default)]
    pub irreversible: usize,
    /// Resources with nothing to do and nothing blocking.
    pub unchanged: usize,
}

impl Summary {
    /// True when some step would call the API or wait (same as [`Plan::has_changes`]).
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.action + self.wait > 0
    }

    /// Counts of a plan's steps and resources.
    pub fn of(resources: &[ResourcePlan], steps: &[Step]) -> Summary {
        let mut s = Summary::default();
        for step in steps {
            s.irreversible += usize::from(step.irreversible);
            match step.kind.class() {
                StepClass::Create => s.create += 1,
                StepClass::Update => s.update += 1,
                StepClass::Action => s.action += 1,
                StepClass::Wait => s.wait += 1,
                StepClass::Check => s.check += 1,
                StepClass::Barrier => {}
            }
        }
        for r in resources {
            if r.is_blocked() {
                s.blocked += 1;
            } else if r.steps.is_empty() {
                s.unchanged += 1;
            }
        }
        s
    }
}

impl Plan {
    /// True when apply would call the API or wait (`plan --detailed-exitcode` → 2).
    pub fn has_changes(&self) -> bool {
        self.steps
            .iter()
            .any(|s| !matches!(s.kind.class(), StepClass::Barrier | StepClass::Check))
    }

    /// True when apply would run a check (a data comparison), even with no changes.
    pub fn has_checks(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.kind.class() == StepClass::Check)
    }

    /// True when some resource is blocked (exit code 3).
    pub fn is_blocked(&self) -> bool {
        self.resources.iter().any(ResourcePlan::is_blocked)
    }

    /// The step DAG, for `migplan graph` and the executor.
    pub fn graph(&self) -> Result<StepGraph, PlanError> {
        StepGraph::from_steps(&self.steps)
    }

    /// A resource by address.
    pub fn resource(&self, addr: &ResourceAddr) -> Option<&ResourcePlan> {
        self.resources.iter().find(|r| &r.addr == addr)
    }

    /// Steps by id, built once for views that walk resources and show their steps (a linear
    /// search per step would be quadratic at fleet scale).
    pub fn steps_by_id(&self) -> std::collections::HashMap<&StepId, &Step> {
        self.steps.iter().map(|s| (&s.id, s)).collect()
    }
}

/// The JSON Schema (draft 2020-12) of [`Plan`], as checked in at
/// `schemas/plan-output.schema.json`.
pub fn plan_output_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Plan>();
    let mut value = schema.to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".into(),
            "https://migplan.dev/schemas/plan-output.schema.json".into(),
        );
    }
    value
}
