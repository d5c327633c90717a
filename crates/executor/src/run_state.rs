//! The owner loop of one run ([`RunState`]): it starts the steps the scheduler offers, hands
//! their events to the sink, learns from each step that ends (ids found by creates, instants
//! of the last writes, resources another apply may drive), completes it in the scheduler
//! (skipping a failure's dependents), and summarizes the run. Nothing else writes this state;
//! steps share only the read-only [`Ctx`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use migplan_parser::ResourceAddr;
use migplan_planner::{LiveSnapshot, Plan, StepClass, is_migrating};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

use crate::driver::Interrupt;
use crate::event::HeldStep;
use crate::event::{
    Event, EventSink, FailedStep, InProgressStep, PendingStep, Progress, RunStatus, SkippedStep,
    StepError, StepRef, Summary,
};
use crate::kind::initial_ids;
use crate::schedule::{Outcome, Scheduler, StepState};
use crate::step_run::{Ctx, StepInput, StepOutput, StepResult, run_step};

/// Resources whose live task is still as created (nothing has run on it).
fn fresh_tasks(plan: &Plan, live: &LiveSnapshot) -> HashSet<ResourceAddr> {
    let initial: HashSet<&str> = initial_ids(&live.tasks)
        .chain(initial_ids(&live.migrations))
        .collect();
    plan.resources
        .iter()
        .filter(|r| r.live_id.as_deref().is_some_and(|id| initial.contains(id)))
        .map(|r| r.addr.clone())
        .collect()
}

/// What the owner loop owns while steps run: the scheduler, the step tasks, and what the
/// steps taught it (ids learned by creates, instants of the last writes, followed resources,
/// errors, and what the steps cut short had done).
pub(crate) struct RunState<'a> {
    plan: &'a Plan,
    sink: &'a dyn EventSink,
    ctx: Arc<Ctx>,
    events: mpsc::UnboundedReceiver<Event>,
    sched: Scheduler,
    ids: HashMap<ResourceAddr, String>,
    last_write: HashMap<ResourceAddr, Instant>,
    /// Resources another apply may be driving (see `step_run`): their task was created
    /// during this run by someone else, or is still as created (another apply's create a
    /// moment before this run planned looks exactly like that).
    followed: HashSet<ResourceAddr>,
    errors: HashMap<usize, StepError>,
    /// Steps held at a gate (a closed window, a comparison that did not pass), with why.
    held: HashMap<usize, String>,
    /// Steps cut short: whether each had called, and its last progress.
    cut_called: HashMap<usize, (bool, Option<Progress>)>,
    tasks: JoinSet<StepOutput>,
    running: HashMap<tokio::task::Id, usize>,
    /// The SMS quota's view of the run: which resource index is which task name.
    quota: QuotaWatch,
    /// The snapshot the plan was made from.
    live: &'a LiveSnapshot,
    /// When each running step started.
    started_at: HashMap<usize, Instant>,
    /// Steps that ended (however).
    ended: usize,
    eta: EtaWatch,
}

/// How the end of the run is re-estimated (see [`crate::forecast`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EtaSettings {
    /// The poll interval, in milliseconds of the cloud's clock.
    pub poll_ms: u64,
    /// Requests per second of the cloud's clock per service.
    pub requests_per_second: f64,
    /// Seconds of the cloud's clock per second here.
    pub time_scale: f64,
    /// At most this often (real time).
    pub every: Duration,
}

/// When the end was last re-estimated, and whether anything moved since.
struct EtaWatch {
    settings: Option<EtaSettings>,
    at: Option<Instant>,
    seen: (u64, usize),
    /// The last estimate (milliseconds of the cloud's clock left, when it was made) and the
    /// copies queued for the quota when it was sent.
    last: Option<(Option<u64>, Instant)>,
    queued: usize,
}

/// What the owner loop needs to count the migrations that run outside this run's slots.
struct QuotaWatch {
    /// Task name of each scheduler resource (servers only).
    names: Vec<Option<String>>,
    /// The last SMS view counted.
    seq: u64,
    /// Starts the service refused for the quota since that view: migrations it counts that
    /// the view does not show yet.
    refused: usize,
    /// What the last count was made from: the view, the scheduler's slots, the refusals.
    counted: Option<(u64, u64, usize)>,
}

impl<'a> RunState<'a> {
    pub(crate) fn new(
        plan: &'a Plan,
        live: &'a LiveSnapshot,
        sched: Scheduler,
        ctx: Arc<Ctx>,
        sink: &'a dyn EventSink,
        events: mpsc::UnboundedReceiver<Event>,
    ) -> Self {
        let sched_names: Vec<Option<usize>> = sched.nodes().iter().map(|n| n.resource).collect();
        RunState {
            plan,
            sink,
            ctx,
            events,
            sched,
            ids: plan
                .resources
                .iter()
                .filter_map(|r| r.live_id.clone().map(|id| (r.addr.clone(), id)))
                .collect(),
            last_write: HashMap::new(),
            followed: fresh_tasks(plan, live),
            errors: HashMap::new(),
            held: HashMap::new(),
            cut_called: HashMap::new(),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            quota: QuotaWatch {
                names: resource_names(plan, &sched_names),
                seq: 0,
                refused: 0,
                counted: None,
            },
            live,
            started_at: HashMap::new(),
            ended: 0,
            eta: EtaWatch {
                settings: None,
                at: None,
                seen: (u64::MAX, usize::MAX),
                last: None,
                queued: 0,
            },
        }
    }

    /// Re-estimates the end of the run as it goes, with these settings.
    pub(crate) fn estimate_with(&mut self, settings: EtaSettings) {
        self.eta.settings = Some(settings);
    }

    /// Sends a [`Event::Forecast`] when the SMS poll or the steps moved since the last one
    /// (at most every `every` of its settings).
    fn re_estimate(&mut self) {
        let Some(settings) = self.eta.settings else {
            return;
        };
        let view = self.ctx.store.sms.latest();
        let done = self.ended;
        let moved = (view.seq, done) != self.eta.seen;
        let due = self.eta.at.is_none_or(|at| at.elapsed() >= settings.every);
        let queued = self.sched.waiting_for_quota();
        if !(moved && due) {
            // The queue moved: said at once, with the last estimate run down since.
            if queued != self.eta.queued
                && let Some((eta, at)) = self.eta.last
            {
                self.eta.queued = queued;
                let ran = (at.elapsed().as_secs_f64() * 1000.0 * settings.time_scale) as u64;
                self.sink.on_event(&Event::Forecast {
                    eta_seconds: eta.map(|ms| ms.saturating_sub(ran).div_ceil(1000)),
                    queued,
                });
            }
            return;
        }
        self.eta.seen = (view.seq, done);
        self.eta.at = Some(Instant::now());
        let now = Instant::now();
        let elapsed = |ix: usize| {
            self.started_at.get(&ix).map_or(0, |t| {
                ((now - *t).as_secs_f64() * 1000.0 * settings.time_scale) as u64
            })
        };
        let eta = crate::forecast::eta_ms(&crate::forecast::Midrun {
            plan: self.plan,
            spec: &self.ctx.spec,
            live: self.live,
            tasks: view.items(),
            sched: &self.sched,
            names: &self.quota.names,
            elapsed_ms: &elapsed,
            poll_ms: settings.poll_ms,
            requests_per_second: settings.requests_per_second,
        });
        self.eta.last = Some((eta, now));
        self.eta.queued = queued;
        self.sink.on_event(&Event::Forecast {
            eta_seconds: eta.map(|ms| ms.div_ceil(1000)),
            queued,
        });
    }

    /// Counts, in the latest SMS view, the migrations that run and that no resource of this
    /// run holds a slot for (other plans', other people's, or this plan's when not started by
    /// this run), and tells the scheduler.
    fn count_outside(&mut self) {
        if self.plan.quota.is_none() {
            return;
        }
        let view = self.ctx.store.sms.latest();
        if view.seq > self.quota.seq {
            self.quota.refused = 0;
        }
        self.quota.seq = self.quota.seq.max(view.seq);
        // Nothing it is counted from moved: the count stands.
        let key = (view.seq, self.sched.quota_epoch(), self.quota.refused);
        if self.quota.counted == Some(key) {
            return;
        }
        self.quota.counted = Some(key);
        let held: HashSet<&str> = self
            .quota
            .names
            .iter()
            .enumerate()
            .filter(|(r, _)| self.sched.holds(*r))
            .filter_map(|(_, n)| n.as_deref())
            .collect();
        let outside = view
            .items()
            .iter()
            .filter(|t| is_migrating(t.state.as_ref()) && !held.contains(t.name.as_str()))
            .count();
        self.sched.set_outside(outside + self.quota.refused);
    }

    /// The owner loop (see the module docs), until no step runs.
    pub(crate) async fn drive(
        &mut self,
        interrupt: &Interrupt,
        deadline: Option<Instant>,
    ) -> Flags {
        let mut flags = Flags::default();
        let sleep = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now));
        tokio::pin!(sleep);
        loop {
            self.count_outside();
            self.spawn_ready();
            self.re_estimate();
            // Copies waiting for a slot of the quota: watch the polls, a slot frees when any
            // migration of the account ends.
            let quota_wait = self.sched.waiting_for_quota() > 0 && !flags.timed_out;
            if self.tasks.is_empty() && !quota_wait {
                return flags;
            }
            let ctx = self.ctx.clone();
            let next_view = self.quota.seq + 1;
            tokio::select! {
                biased;
                _ = interrupt.abort.cancelled(), if !flags.aborted => {
                    flags.aborted = true;
                    flags.interrupted = true;
                    self.sched.stop();
                    self.ctx.cut.cancel();
                    self.tasks.abort_all();
                }
                _ = interrupt.stop.cancelled(), if !flags.interrupted => {
                    flags.interrupted = true;
                    self.sched.stop();
                    self.ctx.cut.cancel();
                }
                _ = &mut sleep, if deadline.is_some() && !flags.timed_out => {
                    flags.timed_out = true;
                    self.ctx.cut.cancel();
                }
                Some(event) = self.events.recv() => self.sink.on_event(&event),
                Some(joined) = self.tasks.join_next_with_id() => self.joined(joined),
                v = ctx.store.sms.fresh(None, next_view, &ctx.cut), if quota_wait => {
                    if let Some(v) = v {
                        self.quota.seq = self.quota.seq.max(v.seq);
                    }
                }
            }
        }
    }

    /// Starts every step the scheduler offers, each a task of its own.
    fn spawn_ready(&mut self) {
        for ix in self.sched.ready() {
            if !self.sched.start(ix) {
                continue;
            }
            let step = self.plan.steps[ix].clone();
            let addr = step.resource.clone();
            self.sink.on_event(&Event::StepStarted {
                step: step.id.to_string(),
                resource: addr.as_ref().map(ToString::to_string),
                label: step.label.clone(),
                symbol: step.symbol.clone(),
            });
            let input = StepInput {
                ix,
                task_id: addr.as_ref().and_then(|a| self.ids.get(a).cloned()),
                last_write: addr.as_ref().and_then(|a| self.last_write.get(a).copied()),
                follow: addr.as_ref().is_some_and(|a| self.followed.contains(a)),
                step,
            };
            let handle = self.tasks.spawn(run_step(self.ctx.clone(), input));
            self.running.insert(handle.id(), ix);
            self.started_at.insert(ix, Instant::now());
        }
    }

    /// A step task ended: finished, panicked, or aborted by the second Ctrl-C.
    fn joined(&mut self, joined: Result<(tokio::task::Id, StepOutput), JoinError>) {
        let (id, out) = match joined {
            Ok((id, out)) => (id, Ok(out)),
            Err(e) => (e.id(), Err(e)),
        };
        let Some(ix) = self.running.remove(&id) else {
            return;
        };
        self.ended += 1;
        match out {
            Ok(out) => {
                self.drain_events();
                self.finished(out);
            }
            // Aborted: it may or may not have sent.
            Err(e) if e.is_cancelled() => {
                self.cut_called.insert(ix, (true, None));
                self.sched.complete(ix, Outcome::InProgress);
            }
            Err(_) => {
                self.drain_events();
                self.failed(ix, StepError::new("the step panicked (a bug in migplan)"));
            }
        }
    }

    /// A step returned: learn what it found, then complete it in the scheduler.
    fn finished(&mut self, out: StepOutput) {
        let ix = out.ix;
        let step = &self.plan.steps[ix];
        if let Some(addr) = &step.resource {
            if let Some(id) = &out.task_id {
                self.ids.insert(addr.clone(), id.clone());
            }
            if let Some(w) = out.wrote_at {
                self.last_write.insert(addr.clone(), w);
            }
            if out.follow {
                self.followed.insert(addr.clone());
            } else {
                self.followed.remove(addr);
            }
        }
        match out.result {
            StepResult::Done { note } => {
                self.sink.on_event(&Event::StepCompleted {
                    step: step.id.to_string(),
                    resource: step.resource.as_ref().map(ToString::to_string),
                    note,
                    id: (step.class() == StepClass::Create)
                        .then_some(out.task_id)
                        .flatten(),
                });
                self.sched.complete(ix, Outcome::Done);
            }
            StepResult::Failed(error) => self.failed(ix, error),
            StepResult::Held { reason } => {
                self.sink.on_event(&Event::StepHeld {
                    step: step.id.to_string(),
                    resource: step.resource.as_ref().map(ToString::to_string),
                    reason: reason.clone(),
                });
                self.held.insert(ix, reason);
                let waiting = self.sched.complete(ix, Outcome::Held);
                emit_dependents(self.sink, self.plan, ix, &waiting, true);
            }
            StepResult::Requeued { reason } => {
                self.sink.on_event(&Event::StepWaiting {
                    step: step.id.to_string(),
                    resource: step.resource.as_ref().map(ToString::to_string),
                    until: reason,
                });
                // The service counts one more than the last poll showed: no start is sent
                // again before the next poll says a slot is free.
                self.quota.refused += 1;
                self.sched.complete(ix, Outcome::Requeue);
            }
            StepResult::Cut { called } => {
                self.cut_called.insert(ix, (called, out.progress));
                self.sched.complete(ix, Outcome::InProgress);
            }
        }
    }

    /// A step failed: reported, remembered, and its dependents skipped.
    fn failed(&mut self, ix: usize, error: StepError) {
        let step = &self.plan.steps[ix];
        self.sink.on_event(&Event::StepFailed {
            step: step.id.to_string(),
            resource: step.resource.as_ref().map(ToString::to_string),
            error: error.clone(),
        });
        self.errors.insert(ix, error);
        let skipped = self.sched.complete(ix, Outcome::Failed);
        emit_dependents(self.sink, self.plan, ix, &skipped, false);
    }

    /// Hands the steps' pending events to the sink.
    pub(crate) fn drain_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.sink.on_event(&event);
        }
    }
}

/// The task name of each scheduler resource (`resource_of[ix]` is node `ix`'s resource):
/// servers only, the only resources with SMS tasks.
pub(crate) fn resource_names(plan: &Plan, resource_of: &[Option<usize>]) -> Vec<Option<String>> {
    let n = resource_of.iter().flatten().max().map_or(0, |m| m + 1);
    let mut names = vec![None; n];
    for (ix, r) in resource_of.iter().enumerate() {
        if let (Some(r), Some(addr)) = (r, plan.steps.get(ix).and_then(|s| s.resource.as_ref()))
            && addr.kind == migplan_parser::ResourceKind::Server
        {
            names[*r] = Some(addr.name.clone());
        }
    }
    names
}

/// Reports the steps that will not run because `root` did not: skipped after a failure, held
/// with a step a closed window held. Barriers are not steps anyone runs.
fn emit_dependents(
    sink: &dyn EventSink,
    plan: &Plan,
    root: usize,
    dependents: &[usize],
    held: bool,
) {
    let root_id = plan.steps[root].id.to_string();
    for &s in dependents {
        let step = &plan.steps[s];
        if step.class() == StepClass::Barrier {
            continue;
        }
        let (step_id, resource) = (
            step.id.to_string(),
            step.resource.as_ref().map(ToString::to_string),
        );
        sink.on_event(&if held {
            Event::StepHeld {
                step: step_id,
                resource,
                reason: held_with(&root_id),
            }
        } else {
            Event::StepSkipped {
                step: step_id,
                resource,
                because: root_id.clone(),
            }
        });
    }
}

/// Why a step that waits for a held one was held too.
fn held_with(root: &str) -> String {
    format!("waits for {root}, which was held")
}

/// How the owner loop ended early, if it did.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    timed_out: bool,
    interrupted: bool,
    aborted: bool,
}

pub(crate) fn summarize(
    state: &RunState<'_>,
    flags: Flags,
    (api_calls, rates): (u64, Vec<crate::event::RateSummary>),
    elapsed: Duration,
) -> Summary {
    let RunState {
        plan,
        sched,
        errors,
        cut_called: cut,
        held,
        ..
    } = state;
    let mut s = Summary {
        status: RunStatus::Complete,
        done: Vec::new(),
        failed: Vec::new(),
        skipped: Vec::new(),
        held: Vec::new(),
        in_progress: Vec::new(),
        not_started: Vec::new(),
        api_calls,
        elapsed_seconds: elapsed.as_secs_f64(),
        rates,
    };
    for (ix, step) in plan.steps.iter().enumerate() {
        if step.class() == StepClass::Barrier {
            continue;
        }
        let id = step.id.to_string();
        let resource = step.resource.as_ref().map(ToString::to_string);
        match sched.state(ix) {
            StepState::Done => s.done.push(StepRef { step: id, resource }),
            StepState::Failed => s.failed.push(FailedStep {
                step: id,
                resource,
                error: errors
                    .get(&ix)
                    .cloned()
                    .unwrap_or_else(|| StepError::new("failed")),
            }),
            StepState::Held => s.held.push(HeldStep {
                step: id,
                resource,
                reason: held.get(&ix).cloned().unwrap_or_default(),
            }),
            // What waits on a held step is held with it, not skipped for a failure.
            StepState::Skipped { because } if sched.state(because) == StepState::Held => {
                s.held.push(HeldStep {
                    step: id,
                    resource,
                    reason: held_with(&plan.steps[because].id.to_string()),
                })
            }
            StepState::Skipped { because } => s.skipped.push(SkippedStep {
                step: id,
                resource,
                because: plan.steps[because].id.to_string(),
            }),
            StepState::InProgress | StepState::Running => match cut.get(&ix) {
                Some((false, _)) => s.not_started.push(PendingStep {
                    step: id,
                    resource,
                    waiting_on: None,
                }),
                other => s.in_progress.push(InProgressStep {
                    step: id,
                    resource,
                    progress: other.and_then(|(_, p)| p.clone()),
                }),
            },
            StepState::Pending => s.not_started.push(PendingStep {
                step: id,
                resource,
                waiting_on: sched.waiting_on(ix).map(|d| plan.steps[d].id.to_string()),
            }),
        }
    }
    let unfinished = !s.in_progress.is_empty() || !s.not_started.is_empty();
    s.status = if !s.failed.is_empty() {
        RunStatus::Failed
    } else if flags.interrupted && unfinished {
        RunStatus::Interrupted
    } else if unfinished {
        // The wait timeout elapsed with work left: the next run picks up.
        debug_assert!(flags.timed_out || flags.interrupted);
        RunStatus::TimedOut
    } else if !s.held.is_empty() {
        RunStatus::Held
    } else {
        RunStatus::Complete
    };
    s
}
