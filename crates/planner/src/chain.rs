//! The chain of steps that takes one resource from its [`Current`] stage to its desired stage.
//!
//! Steps already satisfied are omitted; work in progress yields only the remaining wait (apply
//! re-attaches, never starts twice). The caller has already refused blocked resources.
//!
//! Postconditions are stages, never lists of states: a wait waits until its stage is reached
//! or passed ([`Condition::Reached`]), an action until work toward its stage has started
//! ([`Condition::Toward`]); both are read through [`current`](crate::current)'s one order of
//! stages. Preconditions stay states: they say when the API accepts the call.

use migplan_parser::{RedisMethod, RedisStage, ResourceAddr, ServerStage, Stage};

use crate::current::Current;
use crate::step::{
    Condition, CreateMigration, CreateTask, LiveField, MigrationAction, Service, Step, StepKind,
    TaskAction, UpdateTask, WaitFor,
};

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
}

const COPY_DONE: &[&str] = &["MIGRATE_SUCCESS", "SYNCING", "SYNC_SUCCESS"];

fn wait(addr: &ResourceAddr, stage: Stage, until: &str, service: Service, post: Condition) -> Step {
    let kind = StepKind::WaitFor(WaitFor {
        until: until.into(),
        service,
    });
    Step::new(addr, stage, kind, Condition::Always, post)
}

/// What marks `stage` done (at or beyond it, as `current` derives it), and its display text.
fn server_post(stage: ServerStage) -> (Condition, &'static str) {
    let until = match stage {
        ServerStage::Configured => "READY",
        ServerStage::Replicated => "MIGRATE_SUCCESS",
        ServerStage::Synced => "SYNC_SUCCESS",
        ServerStage::Tested => "migration_cycle tested",
        ServerStage::Cutover => "source finished",
        ServerStage::Cleared => "source cleared",
    };
    (at_least(Stage::Server(stage)), until)
}

fn at_least(stage: Stage) -> Condition {
    Condition::Reached { stage }
}

fn toward(stage: Stage) -> Condition {
    Condition::Toward { stage }
}

/// Steps of a server from `current` to `desired`.
pub fn server_steps(
    addr: &ResourceAddr,
    current: &Current,
    desired: ServerStage,
    input: &ServerChainInput,
) -> Vec<Step> {
    use LiveField::*;
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
    let action = || TaskAction {
        task_id: input.task_id.clone(),
    };
    let mut steps = Vec::new();
    let remaining: Vec<ServerStage> = desired
        .path()
        .filter(|s| {
            *s != ServerStage::Synced || input.syncing || in_progress == Some(Stage::Server(*s))
        })
        .filter(|s| reached.is_none_or(|r| Stage::Server(*s) > r))
        .collect();
    if matches!(current, Current::Absent) {
        let (post, _) = server_post(ServerStage::Configured);
        steps.push(Step::new(
            addr,
            Stage::Server(ServerStage::Configured),
            StepKind::CreateTask(CreateTask {
                name: addr.name.clone(),
                source_id: input.source_id.clone(),
                template_id: input.template_id.clone(),
            }),
            Condition::Absent,
            post,
        ));
    } else if !input.updates.is_empty() {
        let stage = remaining.first().copied().unwrap_or(desired);
        steps.push(Step::new(
            addr,
            Stage::Server(stage),
            StepKind::UpdateTask(UpdateTask {
                task_id: input.task_id.clone(),
                fields: input.updates.clone(),
            }),
            Condition::Always,
            Condition::Always,
        ));
    }
    for st in remaining {
        let stage = Stage::Server(st);
        let (post, until) = server_post(st);
        if in_progress == Some(stage) {
            steps.push(wait(addr, stage, until, Service::Sms, post));
            continue;
        }
        let act = |kind: StepKind, pre: Condition| Step::new(addr, stage, kind, pre, post.clone());
        match st {
            ServerStage::Configured => {}
            ServerStage::Replicated => {
                steps.push(Step::new(
                    addr,
                    stage,
                    StepKind::Start(action()),
                    Condition::state(TaskState, &["READY", "ABORT"]),
                    toward(stage),
                ));
                steps.push(wait(addr, stage, until, Service::Sms, post));
            }
            ServerStage::Synced => {
                if at_replicated {
                    steps.push(Step::new(
                        addr,
                        stage,
                        StepKind::StartSync(action()),
                        Condition::state(
                            TaskState,
                            &["MIGRATE_SUCCESS", "SYNC_F_ROLLBACK_SUCCESS"],
                        ),
                        toward(stage),
                    ));
                }
                steps.push(wait(addr, stage, until, Service::Sms, post));
            }
            ServerStage::Tested => steps.push(act(
                StepKind::Test(action()),
                Condition::state(TaskState, COPY_DONE),
            )),
            ServerStage::Cutover => steps.push(act(
                StepKind::Cutover(action()),
                Condition::state(TaskState, COPY_DONE),
            )),
            ServerStage::Cleared => steps.push(act(
                StepKind::Clear(action()),
                Condition::state(SourceState, &["finished"]),
            )),
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
}

const MIGRATED: &[&str] = &["SUCCESS", "MIGRATION_SUCCESS", "INCRMIGEATING"];

/// Steps of a Redis migration from `current` to `desired`.
pub fn redis_steps(
    addr: &ResourceAddr,
    current: &Current,
    desired: RedisStage,
    input: &RedisChainInput,
) -> Vec<Step> {
    use LiveField::DcsStatus;
    let reached = current.reached();
    let in_progress = match current {
        Current::InProgress { toward, .. } => Some(*toward),
        _ => None,
    };
    let action = || MigrationAction {
        task_id: input.task_id.clone(),
    };
    let created = Stage::Redis(RedisStage::Created);
    // The task exists and waits to be configured, or is configured already (adopted).
    let exists = Condition::AnyOf {
        conditions: vec![Condition::state(DcsStatus, &["RUNNING"]), at_least(created)],
    };
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
            StepKind::UpdateMigration(action()),
            Condition::Always,
            Condition::Always,
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
                        Condition::Absent,
                        exists.clone(),
                    )),
                    Current::Exists { state } if state == "CREATING" => {
                        steps.push(wait(addr, created, "RUNNING", Service::Dcs, exists.clone()))
                    }
                    _ => {}
                }
                steps.push(Step::new(
                    addr,
                    created,
                    StepKind::Configure(action()),
                    Condition::state(DcsStatus, &["RUNNING"]),
                    toward(Stage::Redis(RedisStage::Migrated)),
                ));
            }
            RedisStage::Migrated => {
                let until = match input.method {
                    RedisMethod::Full => "SUCCESS",
                    RedisMethod::Incremental => "INCRMIGEATING",
                };
                steps.push(wait(addr, stage, until, Service::Dcs, at_least(stage)));
            }
            RedisStage::Stopped => {
                if in_progress != Some(stage) {
                    steps.push(Step::new(
                        addr,
                        stage,
                        StepKind::StopMigration(action()),
                        Condition::state(DcsStatus, MIGRATED),
                        toward(stage),
                    ));
                }
                steps.push(wait(
                    addr,
                    stage,
                    "TERMINATED",
                    Service::Dcs,
                    at_least(stage),
                ));
            }
        }
    }
    steps
}
