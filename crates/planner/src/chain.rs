//! The chain of steps that takes one resource from its [`Current`] stage to its desired stage.
//!
//! Steps already satisfied are omitted; work in progress yields only the remaining wait (apply
//! re-attaches, never starts twice). The caller has already refused blocked resources.
//!
//! A chain says which kinds are placed at which stage, and when; each kind's conditions (on
//! typed wire states and stages) are defined in its module under [`kinds`](crate::kinds).
//! Postconditions are stages, never lists of states: a wait waits until its stage is reached
//! or passed ([`Condition::Reached`](crate::Condition::Reached)), an action until work toward
//! its stage has started ([`Condition::Toward`](crate::Condition::Toward)).

use migplan_parser::{RedisMethod, RedisStage, ResourceAddr, ServerStage, Stage};

use migplan_wire::sms::TaskState;

use crate::current::Current;
use crate::kinds::{
    Clear, CloneTest, Configure, ConsistencyGate, CreateMigration, CreateTask, Cutover, FinalSync,
    MigrationTest, NetworkCheck, Pause, ResetSource, Restart, Skip, Start, StartSync,
    StopMigration, Test, UpdateMigration, UpdateTask, Verify, WaitFor,
};
use crate::step::{Service, Step, StepKind};

/// Inputs of a server chain besides its stages.
#[derive(Debug, Clone, Default)]
pub struct ServerChainInput {
    /// Live task id, when the task exists.
    pub task_id: Option<String>,
    /// Resolved source server id.
    pub source_id: Option<String>,
    /// Resolved template id.
    pub template_id: Option<String>,
    /// In-place field changes `(field, plan value)`.
    pub updates: Vec<(String, String)>,
    /// The spec asks for continuous sync (`syncing: true`).
    pub syncing: bool,
    /// `test: {mode: clone}`: `tested` is reached on a clone made from this template (its
    /// resolved id, `None` when not found; the caller blocks then).
    pub clone_from: Option<Option<String>>,
    /// `paused: true`: hold the server where it is (pause a running copy or sync).
    pub paused: bool,
    /// `migration_test: true`: the drill (`migration_test`) is a stage of its own, `drilled`.
    pub migration_test: bool,
    /// `network_check: {min_mbps}`: `(min kbit/s, a result is live)`. A check is made before
    /// `start` unless one is live; `start` needs the measured speed to reach the minimum.
    pub network_gate: Option<(u64, bool)>,
    /// No task, and the source record still says `error` (a deleted task's): reset it
    /// (`changestate`) before the task is created.
    pub reset_source: bool,
    /// `on_failure: {restart: N}`: `(N, restarts the task's history records)`. A failed full
    /// copy is restarted while fewer are recorded.
    pub restarts: Option<(u32, u32)>,
    /// `consistency_check: false` while the task's check runs: skip it.
    pub skip_check: bool,
    /// `consistency_check: true`: the cutover waits for an OK consistency check result.
    pub consistency_gate: bool,
    /// `max_sync_age_seconds` (with `syncing`): a final sync round before the cutover when
    /// the last one is older.
    pub max_sync_age: Option<u32>,
}

fn wait(addr: &ResourceAddr, stage: Stage, until: &str, service: Service) -> Step {
    wait_or_failed(addr, stage, until, service, false)
}

/// A wait that, with `or_failed`, a failure ends too.
fn wait_or_failed(
    addr: &ResourceAddr,
    stage: Stage,
    until: &str,
    service: Service,
    or_failed: bool,
) -> Step {
    let kind = StepKind::WaitFor(WaitFor {
        until: until.into(),
        service,
        or_failed,
    });
    Step::new(addr, stage, kind)
}

/// The wait for a full copy and the restarts `on_failure` still allows: the wait ends on a
/// failure too when a restart follows. From a failed copy, only the restarts.
fn copy_with_restarts(
    addr: &ResourceAddr,
    stage: Stage,
    failed: bool,
    input: &ServerChainInput,
    steps: &mut Vec<Step>,
) {
    let (limit, recorded) = input.restarts.unwrap_or((0, 0));
    if !failed {
        steps.push(wait_or_failed(
            addr,
            stage,
            server_until(ServerStage::Replicated),
            Service::Sms,
            recorded < limit,
        ));
    }
    for number in recorded + 1..=limit {
        steps.push(Step::new(
            addr,
            stage,
            StepKind::Restart(Restart {
                task_id: input.task_id.clone(),
                number,
                limit,
            }),
        ));
    }
}

/// What a wait for `stage` shows it waits for.
fn server_until(stage: ServerStage) -> &'static str {
    match stage {
        ServerStage::Configured => "READY",
        ServerStage::Replicated => "MIGRATE_SUCCESS",
        ServerStage::Synced => "SYNC_SUCCESS",
        ServerStage::Drilled => "source premiged",
        ServerStage::Tested => "migration_cycle tested",
        ServerStage::Cutover => "source finished",
        ServerStage::Cleared => "source cleared",
    }
}

/// Steps of a server from `current` to `desired`.
pub fn server_steps(
    addr: &ResourceAddr,
    current: &Current,
    desired: ServerStage,
    input: &ServerChainInput,
) -> Vec<Step> {
    let reached = current.reached();
    let in_progress = match current {
        Current::InProgress { toward, .. } => Some(*toward),
        _ => None,
    };
    let at_replicated = matches!(
        current,
        Current::At {
            stage: Stage::Server(ServerStage::Replicated),
            ..
        }
    );
    let task_id = || input.task_id.clone();
    if input.paused {
        // Held: a copy or sync under way is paused; nothing else moves.
        return match current {
            Current::InProgress { toward, state, .. }
                if state == TaskState::Running.as_str() || state == TaskState::Syncing.as_str() =>
            {
                vec![Step::new(
                    addr,
                    *toward,
                    StepKind::Pause(Pause { task_id: task_id() }),
                )]
            }
            _ => Vec::new(),
        };
    }
    let mut steps = Vec::new();
    let remaining: Vec<ServerStage> = desired
        .path()
        .filter(|s| {
            let wanted = match s {
                ServerStage::Synced => input.syncing,
                ServerStage::Drilled => input.migration_test,
                _ => true,
            };
            wanted || in_progress == Some(Stage::Server(*s))
        })
        .filter(|s| reached.is_none_or(|r| Stage::Server(*s) > r))
        .collect();
    if matches!(current, Current::Absent) {
        if input.reset_source {
            steps.push(Step::new(
                addr,
                Stage::Server(ServerStage::Configured),
                StepKind::ResetSource(ResetSource {
                    source_id: input.source_id.clone(),
                }),
            ));
        }
        steps.push(Step::new(
            addr,
            Stage::Server(ServerStage::Configured),
            StepKind::CreateTask(CreateTask {
                name: addr.name.clone(),
                source_id: input.source_id.clone(),
                template_id: input.template_id.clone(),
            }),
        ));
    } else if !input.updates.is_empty() {
        let stage = remaining.first().copied().unwrap_or(desired);
        steps.push(Step::new(
            addr,
            Stage::Server(stage),
            StepKind::UpdateTask(UpdateTask {
                task_id: task_id(),
                fields: input.updates.clone(),
            }),
        ));
    }
    for st in remaining {
        let stage = Stage::Server(st);
        let until = server_until(st);
        if in_progress == Some(stage) {
            if st == ServerStage::Replicated {
                if input.skip_check {
                    steps.push(Step::new(
                        addr,
                        stage,
                        StepKind::Skip(Skip { task_id: task_id() }),
                    ));
                }
                copy_with_restarts(addr, stage, false, input, &mut steps);
            } else {
                steps.push(wait(addr, stage, until, Service::Sms));
            }
            continue;
        }
        let step = |kind: StepKind| Step::new(addr, stage, kind);
        match st {
            ServerStage::Configured => {}
            // A failed full copy (the caller blocks it unless restarts are left).
            ServerStage::Replicated if matches!(current, Current::Failed { .. }) => {
                copy_with_restarts(addr, stage, true, input, &mut steps)
            }
            ServerStage::Replicated => {
                if let Some((_, false)) = input.network_gate {
                    steps.push(step(StepKind::NetworkCheck(NetworkCheck {
                        task_id: task_id(),
                    })));
                }
                steps.push(step(StepKind::Start(Start {
                    task_id: task_id(),
                    min_network_kbps: input.network_gate.map(|(min, _)| min),
                })));
                copy_with_restarts(addr, stage, false, input, &mut steps);
            }
            ServerStage::Synced => {
                if at_replicated {
                    steps.push(step(StepKind::StartSync(StartSync { task_id: task_id() })));
                }
                steps.push(wait(addr, stage, until, Service::Sms));
            }
            ServerStage::Drilled => steps.push(step(StepKind::MigrationTest(MigrationTest {
                task_id: task_id(),
            }))),
            ServerStage::Tested => steps.push(step(match &input.clone_from {
                Some(template_id) => StepKind::CloneTest(CloneTest {
                    task_id: task_id(),
                    template_id: template_id.clone(),
                }),
                None => StepKind::Test(Test { task_id: task_id() }),
            })),
            ServerStage::Cutover => {
                if let Some(max_age_seconds) = input.max_sync_age {
                    steps.push(step(StepKind::FinalSync(FinalSync {
                        task_id: task_id(),
                        max_age_seconds,
                    })));
                }
                if input.consistency_gate {
                    steps.push(step(StepKind::ConsistencyGate(ConsistencyGate {
                        task_id: task_id(),
                    })));
                }
                steps.push(step(StepKind::Cutover(Cutover { task_id: task_id() })))
            }
            ServerStage::Cleared => steps.push(step(StepKind::Clear(Clear { task_id: task_id() }))),
        }
    }
    steps
}

/// Inputs of a Redis chain besides its stages.
#[derive(Debug, Clone)]
pub struct RedisChainInput {
    /// Live DCS task id.
    pub task_id: Option<String>,
    /// Full or incremental.
    pub method: RedisMethod,
    /// The resume mode changes in place.
    pub update_resume_mode: bool,
    /// The comparison stage `verified` runs, when the plan asks for one (`stage: verified`, a
    /// dependency on it, or `verify:` written); otherwise the stage is passed through.
    pub verify: Option<Verify>,
}

/// Steps of a Redis migration from `current` to `desired`.
pub fn redis_steps(
    addr: &ResourceAddr,
    current: &Current,
    desired: RedisStage,
    input: &RedisChainInput,
) -> Vec<Step> {
    let reached = current.reached();
    let in_progress = match current {
        Current::InProgress { toward, .. } => Some(*toward),
        _ => None,
    };
    let task_id = || input.task_id.clone();
    let created = Stage::Redis(RedisStage::Created);
    let remaining: Vec<RedisStage> = desired
        .path()
        .filter(|s| reached.is_none_or(|r| Stage::Redis(*s) > r))
        .collect();
    let mut steps = Vec::new();
    if input.update_resume_mode {
        let stage = remaining.first().copied().unwrap_or(desired);
        steps.push(Step::new(
            addr,
            Stage::Redis(stage),
            StepKind::UpdateMigration(UpdateMigration { task_id: task_id() }),
        ));
    }
    for st in remaining {
        let stage = Stage::Redis(st);
        match st {
            RedisStage::Created => {
                match current {
                    Current::Absent => steps.push(Step::new(
                        addr,
                        created,
                        StepKind::CreateMigration(CreateMigration {
                            name: addr.name.clone(),
                        }),
                    )),
                    Current::Exists { state } if state == "CREATING" => {
                        steps.push(wait(addr, created, "RUNNING", Service::Dcs))
                    }
                    _ => {}
                }
                steps.push(Step::new(
                    addr,
                    created,
                    StepKind::Configure(Configure { task_id: task_id() }),
                ));
            }
            RedisStage::Migrated => {
                let until = match input.method {
                    RedisMethod::Full => "SUCCESS",
                    RedisMethod::Incremental => "INCRMIGEATING",
                };
                steps.push(wait(addr, stage, until, Service::Dcs));
            }
            RedisStage::Verified => {
                if let Some(v) = &input.verify {
                    steps.push(Step::new(addr, stage, StepKind::Verify(v.clone())));
                }
            }
            RedisStage::Stopped => {
                if in_progress != Some(stage) {
                    steps.push(Step::new(
                        addr,
                        stage,
                        StepKind::StopMigration(StopMigration { task_id: task_id() }),
                    ));
                }
                steps.push(wait(addr, stage, "TERMINATED", Service::Dcs));
            }
        }
    }
    steps
}
