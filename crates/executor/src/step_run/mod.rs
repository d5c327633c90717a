//! Running one step: check the precondition on a fresh view, make the call (resolving unknown
//! outcomes by reading, never by blind retries), then wait for the postcondition through the
//! shared store.
//!
//! # Rules
//!
//! - A view is *fresh* for a resource when its list walk started after this run's last write
//!   to that resource; conditions are only read from fresh views.
//! - Before any call, if the live state already shows the call's effect, the call is not sent
//!   (re-attaching after a crash or a lost response). A create whose object exists is adopted.
//! - A create whose outcome is unknown is resolved by listing by name before any retry; an
//!   action whose outcome is unknown is resolved by a fresh read (effect seen → done; the
//!   precondition still holds → sent again, bounded).
//! - An action refused as invalid for the current state (`SMS.1038/1039/1040/2009`,
//!   `DCS.4957`: another run did it already) counts as done when a fresh read shows its
//!   effect; otherwise it fails with the API's code and message. It is never sent again.
//! - Waits end when the stage is reached *or passed* (the planner's order of stages), and fail
//!   at once, naming the state seen and what was awaited, when the live state can no longer
//!   lead there (failed, paused, deleted, unknown): a wait never outlives its purpose.
//! - A task is acted on only while it migrates the entry's source to its target
//!   ([`Identity`]): checked on every task a step reads, found by id or by name.
//! - Creates race-proof (see [`create`]): the name is listed right before the create; after
//!   it, duplicates of the name are settled by [`race::decide`], and a run whose fresh task
//!   lost deletes it and adopts the winner.
//! - A run *follows* a resource another apply may be driving: its task was created during
//!   this run by someone else, or was still as created when this run planned (which is what
//!   another apply's create a moment earlier looks like). Before each action a follower gives
//!   the other run `follow_patience` polls to make the call, then makes it itself (the other
//!   run may have died, or never existed: a task left as created by an earlier run).
//! - Throttling that outlived the client's retries is retried here after a pause.

use std::collections::HashMap;
use std::sync::Arc;

use migplan_cloud::{Cloud, Error as CloudError};
use migplan_parser::{ResourceAddr, ResourceKind};
use migplan_planner::{Blocked, Call, Condition, Identity, Mismatch, Step, StepClass};
use migplan_wire::dcs::MigrationTaskListItem;
use migplan_wire::sms::Task;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::condition::{Obj, holds, progress, stuck};
use crate::event::{Event, Progress, StepError};
use crate::kind::{self, LiveObject, ObjView};
use crate::live_store::LiveStore;
use crate::request::{self, SecretSource, SpecIndex};
use crate::retry::{GaveUp, Retry, RetryPolicy};

mod action;
mod consistency;
mod create;
mod final_sync;
mod source;
mod verify;
mod wait;

/// Error codes of an action refused because of the object's current state.
const WRONG_STATE: &[&str] = &["SMS.1038", "SMS.1039", "SMS.1040", "SMS.2009", "DCS.4957"];

/// The error code of a `start` or `restart` refused because the account runs as many
/// migrations as its quota allows (a migration began between two polls): the step waits for
/// a free slot again instead of failing.
const QUOTA_REFUSED: &str = "SMS.1003";

/// Everything a step needs, shared by all steps of a run.
pub(crate) struct Ctx {
    /// Clients whose every request goes through the run's pace per service (`rate::Rates`).
    pub cloud: Cloud,
    pub spec: SpecIndex,
    pub store: LiveStore,
    pub calls: Arc<Semaphore>,
    pub events: mpsc::UnboundedSender<Event>,
    pub secrets: SecretSource,
    /// Fired when waiting must stop (wait timeout, Ctrl-C).
    pub cut: CancellationToken,
    /// Attempts per call, and the pause between them.
    pub retry: RetryPolicy,
    /// Failed polls in a row after which a waiting step gives up.
    pub max_poll_failures: u32,
    /// What each resource's task must migrate (from the planner's resolution).
    pub identities: HashMap<ResourceAddr, Identity>,
    /// Polls a follower waits for another run's action before acting itself.
    pub follow_patience: u32,
    /// Data comparisons connect only to loopback addresses (`--local`).
    pub loopback_only: bool,
}

/// What the driver hands a step.
pub(crate) struct StepInput {
    pub ix: usize,
    pub step: Step,
    pub task_id: Option<String>,
    pub last_write: Option<Instant>,
    /// Another apply may be driving this resource (see `follow` in the module docs).
    pub follow: bool,
}

/// How a step ended.
#[derive(Debug)]
pub(crate) enum StepResult {
    Done {
        note: Option<String>,
    },
    Failed(StepError),
    /// The run stopped watching: `called` tells whether this step changed anything.
    Cut {
        called: bool,
    },
    /// Not started because its maintenance window closed, or a gate it is did not open.
    Held {
        reason: String,
    },
    /// Refused for the account's migration quota: it waits for a free slot and is sent again.
    Requeued {
        reason: String,
    },
}

/// What a step hands back.
pub(crate) struct StepOutput {
    pub ix: usize,
    pub result: StepResult,
    pub task_id: Option<String>,
    pub wrote_at: Option<Instant>,
    pub progress: Option<Progress>,
    /// Whether another apply may still drive the resource (learned by a create, dropped once
    /// this run had to act in its place).
    pub follow: bool,
}

/// Why a step stopped early.
enum Halt {
    Failed(StepError),
    Cut,
    /// A gate did not open (a data comparison failed or could not tell): held, with why.
    Held(String),
    /// Refused for the account's migration quota: back to the queue, with why.
    Requeue(String),
}

impl From<StepError> for Halt {
    fn from(e: StepError) -> Self {
        Halt::Failed(e)
    }
}

/// One step being run.
struct Run<'a> {
    ctx: &'a Ctx,
    step: &'a Step,
    addr: ResourceAddr,
    id: Option<String>,
    last_write: Option<Instant>,
    called: bool,
    progress: Option<Progress>,
    follow: bool,
}

/// Why `step` may not start at `now`: its window closed (`start_before` passed). A deadline
/// that cannot be read holds it too.
fn window_closed(step: &Step, now: jiff::Timestamp) -> Option<String> {
    let by = step.start_before.as_deref()?;
    match by.parse::<jiff::Timestamp>() {
        Ok(t) if now < t => None,
        Ok(_) => Some(format!("its maintenance window closed at {by}")),
        Err(_) => Some(format!("its window's closing time `{by}` cannot be read")),
    }
}

/// Runs one step to its end.
pub(crate) async fn run_step(ctx: Arc<Ctx>, input: StepInput) -> StepOutput {
    let StepInput {
        ix,
        step,
        task_id,
        last_write,
        follow,
    } = input;
    let Some(addr) = step.resource.clone() else {
        return StepOutput {
            ix,
            result: StepResult::Done { note: None },
            task_id: None,
            wrote_at: None,
            progress: None,
            follow,
        };
    };
    // An irreversible step starts only inside its window; one started keeps going.
    if let Some(reason) = window_closed(&step, jiff::Timestamp::now()) {
        return StepOutput {
            ix,
            result: StepResult::Held { reason },
            task_id,
            wrote_at: None,
            progress: None,
            follow,
        };
    }
    let mut run = Run {
        ctx: &ctx,
        step: &step,
        addr,
        id: task_id,
        last_write,
        called: false,
        progress: None,
        follow,
    };
    let result = match run.execute().await {
        Ok(note) => StepResult::Done { note },
        Err(Halt::Failed(e)) => StepResult::Failed(e),
        Err(Halt::Cut) => StepResult::Cut {
            called: run.called || step.class() == StepClass::Wait,
        },
        Err(Halt::Held(reason)) => StepResult::Held { reason },
        Err(Halt::Requeue(reason)) => StepResult::Requeued { reason },
    };
    StepOutput {
        ix,
        result,
        task_id: run.id,
        wrote_at: run.last_write,
        progress: run.progress,
        follow: run.follow,
    }
}

impl Run<'_> {
    /// The resource's object in `v` (by id when known, else by name), or an error when
    /// several objects share its name.
    fn obj_in<'v>(&self, v: &'v dyn ObjView) -> Result<Obj<'v>, Halt> {
        let name = &self.addr.name;
        v.obj(self.id.as_deref(), name).map_err(|n| {
            Halt::Failed(StepError::new(format!(
                "{n} live tasks are named {name}; migplan will not guess which one is meant"
            )))
        })
    }

    /// `Err` when `obj` is a task of another source or target: never acted on, whatever the
    /// plan said (defence in depth behind the planner's `task_mismatch`).
    fn ours(&self, obj: Obj<'_>) -> Result<(), Halt> {
        let Some(want) = self.ctx.identities.get(&self.addr) else {
            return Ok(());
        };
        obj.check(want)
            .map_or(Ok(()), |m| Err(Halt::Failed(self.mismatch(&m))))
    }

    /// The planner's words for a task of another source or target.
    fn mismatch(&self, m: &Mismatch) -> StepError {
        let b = Blocked::from(m.reason(kind::what(self.addr.kind), &self.addr.name));
        StepError::new(format!("{}; {}", b.message, b.remedy))
    }

    fn emit(&self, event: Event) {
        let _ = self.ctx.events.send(event);
    }

    /// A view taken after this run's last write to the resource, with `seq >= min_seq`.
    async fn view(&self, min_seq: u64) -> Result<Arc<dyn ObjView>, Halt> {
        match self.addr.kind {
            ResourceKind::Server => self.view_of::<Task>(min_seq).await,
            ResourceKind::Redis => self.view_of::<MigrationTaskListItem>(min_seq).await,
        }
    }

    async fn view_of<T: LiveObject>(&self, min_seq: u64) -> Result<Arc<dyn ObjView>, Halt> {
        let v = T::store(&self.ctx.store)
            .fresh(self.last_write, min_seq, &self.ctx.cut)
            .await
            .ok_or(Halt::Cut)?;
        Ok(v)
    }

    /// The next fresh view (skipping failed polls, giving up after too many).
    async fn fresh_view(&self, min_seq: u64) -> Result<Arc<dyn ObjView>, Halt> {
        let mut min_seq = min_seq;
        loop {
            let v = self.view(min_seq).await?;
            let (failures, err) = v.failures();
            let fresh = self.last_write.is_none_or(|w| v.taken_at() >= w) && v.seq() >= min_seq;
            if fresh {
                return Ok(v);
            }
            if failures >= self.ctx.max_poll_failures {
                let e = err.unwrap_or_else(|| StepError::new("listing tasks keeps failing"));
                return Err(Halt::Failed(StepError {
                    code: e.code,
                    message: format!("cannot read live state: {}", e.message),
                    request_id: e.request_id,
                }));
            }
            min_seq = v.seq() + 1;
        }
    }

    /// One API call: a parallelism permit around it (the cloud client paces its requests);
    /// marks the write.
    async fn call<T, F>(&mut self, f: F) -> Result<T, CloudError>
    where
        F: std::future::Future<Output = Result<T, CloudError>>,
    {
        let _permit = self.ctx.calls.acquire().await;
        self.called = true;
        let r = f.await;
        self.last_write = Some(Instant::now());
        r
    }

    /// The one dispatch: on the step's [`Call`].
    async fn execute(&mut self) -> Result<Option<String>, Halt> {
        let name = self.addr.name.clone();
        match self.step.call() {
            Call::None => Ok(None),
            Call::Poll { until, .. } => {
                self.wait_for(&until).await?;
                Ok(None)
            }
            Call::SmsCreateTask {
                source_id,
                template_id,
            } => self.create_task(&name, source_id, template_id).await,
            Call::DcsCreate => {
                let note = self.create_migration(&name).await?;
                self.wait_for("RUNNING").await?;
                Ok(note)
            }
            Call::SmsUpdateTask { fields } => {
                let body = request::update_task(&fields)?;
                let id = self.require_id().await?;
                let sms = self.ctx.cloud.sms().clone();
                self.with_retries(|| {
                    let sms = sms.clone();
                    let id = id.clone();
                    let body = body.clone();
                    async move { sms.update_task(&id, &body).await }
                })
                .await?;
                Ok(None)
            }
            Call::DcsUpdateResumeMode => {
                let spec = self.redis_spec()?;
                let mode = request::resume_mode(spec);
                let id = self.require_id().await?;
                let dcs = self.ctx.cloud.dcs().clone();
                self.with_retries(|| {
                    let dcs = dcs.clone();
                    let id = id.clone();
                    let mode = mode.clone();
                    async move { dcs.update_resume_mode(&id, mode).await }
                })
                .await?;
                Ok(None)
            }
            Call::SmsAction {
                operation,
                template_id,
            } => {
                let req = migplan_wire::sms::TaskActionRequest {
                    template_id,
                    ..migplan_wire::sms::TaskActionRequest::new(operation)
                };
                let sms = self.ctx.cloud.sms().clone();
                self.guarded_call(move |id| {
                    let sms = sms.clone();
                    let req = req.clone();
                    async move { sms.task_action(&id, &req).await }
                })
                .await
            }
            Call::SmsChangeState {
                source_id,
                copystate,
                migrationcycle,
            } => {
                let source_id = source_id.ok_or_else(|| {
                    StepError::new(format!(
                        "the source server of {} is not registered",
                        self.addr
                    ))
                })?;
                let req = migplan_wire::sms::ChangeStateRequest {
                    copystate: Some(copystate),
                    migrationcycle,
                };
                self.change_source_state(source_id, req).await
            }
            Call::DcsConfigure => {
                let body = request::configure(self.redis_spec()?, &self.ctx.secrets)?;
                let dcs = self.ctx.cloud.dcs().clone();
                self.guarded_call(move |id| {
                    let dcs = dcs.clone();
                    let body = body.clone();
                    async move { dcs.configure_task(&id, &body).await.map(|_| ()) }
                })
                .await
            }
            Call::RedisVerify(v) => self.verify(&v).await,
            Call::SmsConsistency => self.consistency_gate().await,
            Call::SmsFinalSync { max_age_seconds } => self.final_sync(max_age_seconds).await,
            Call::DcsStop => {
                let dcs = self.ctx.cloud.dcs().clone();
                self.guarded_call(move |id| {
                    let dcs = dcs.clone();
                    async move { dcs.stop_task(&id).await.map(|_| ()) }
                })
                .await
            }
        }
    }

    fn redis_spec(&self) -> Result<&migplan_parser::RedisSpec, Halt> {
        self.ctx.spec.redis(&self.addr.name).ok_or_else(|| {
            Halt::Failed(StepError::new(format!(
                "{} is not in the plan file",
                self.addr
            )))
        })
    }

    /// The live id, from the driver or a fresh view.
    async fn require_id(&mut self) -> Result<String, Halt> {
        if let Some(id) = &self.id {
            return Ok(id.clone());
        }
        let v = self.fresh_view(0).await?;
        let obj = self.obj_in(&*v)?;
        self.ours(obj)?;
        let id = obj
            .id()
            .ok_or_else(|| StepError::new(format!("no live task is named {}", self.addr.name)))?;
        self.id = Some(id.clone());
        Ok(id)
    }

    /// A read (no write to mark): under a parallelism permit, repeated after throttling or a
    /// refused connection; the last error when the attempts are spent or it is final.
    async fn read<T, F, Fut>(&self, f: F) -> Result<T, CloudError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, CloudError>>,
    {
        let mut attempts = self.ctx.retry.attempts();
        loop {
            let r = {
                let _permit = self.ctx.calls.acquire().await;
                f().await
            };
            match r {
                Ok(v) => return Ok(v),
                Err(e) => attempts
                    .retry(e, retry_transient)
                    .await
                    .map_err(GaveUp::into_inner)?,
            }
        }
    }

    /// Repeats an idempotent call after throttling or a refused connection.
    async fn with_retries<F, Fut>(&mut self, f: F) -> Result<(), Halt>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), CloudError>>,
    {
        let mut attempts = self.ctx.retry.attempts();
        loop {
            match self.call(f()).await {
                Ok(()) => return Ok(()),
                Err(e) => attempts.retry(e, retry_transient).await.map_err(gave_up)?,
            }
        }
    }
}

/// The step's end once a call's attempts are over.
fn gave_up(g: GaveUp<CloudError>) -> Halt {
    Halt::Failed(StepError::from_cloud(&g.into_inner()))
}

/// The rule of idempotent calls and reads: again after a pause when [`transient`].
fn retry_transient(e: &CloudError) -> Retry {
    if transient(e) {
        Retry::Later
    } else {
        Retry::No
    }
}

/// Throttled after the client's retries, or the connection could not be made.
fn transient(e: &CloudError) -> bool {
    e.is_throttled()
        || matches!(
            &*e.kind,
            migplan_cloud::ErrorKind::Transport { connect: true, .. }
        )
}

fn joined<T: std::fmt::Display>(states: &[T]) -> String {
    states
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("|")
}

/// A condition for people: `task READY|ABORT`.
pub(crate) fn describe(c: &Condition) -> String {
    match c {
        Condition::Always => "anything".into(),
        Condition::Absent => "no task yet".into(),
        Condition::TaskState { any_of } => format!("task {}", joined(any_of)),
        Condition::SourceState { any_of } => format!("source {}", joined(any_of)),
        Condition::DcsStatus { any_of } => format!("status {}", joined(any_of)),
        Condition::AnyOf { conditions } => conditions
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join(" or "),
        Condition::AllOf { conditions } => conditions
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join(" and "),
        Condition::NetworkChecked => "a network check result".into(),
        Condition::NetworkSpeed { min_kbps } => format!(
            "a network check measuring at least {} Mbit/s",
            *min_kbps as f64 / 1000.0
        ),
        Condition::ConsistencyCheck { running: true } => "a consistency check running".into(),
        Condition::ConsistencyCheck { running: false } => "no consistency check running".into(),
        Condition::Restarted { at_least: 1 } => "a restart recorded in the task's subtasks".into(),
        Condition::Restarted { at_least } => {
            format!("{at_least} restarts recorded in the task's subtasks")
        }
        Condition::Reached { stage } => format!("stage {stage} (or later)"),
        Condition::Toward { stage } => format!("work toward stage {stage}"),
    }
}
