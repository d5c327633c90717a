//! The async driver: ONE owner loop around the pure [`Scheduler`].
//!
//! ```text
//! loop {
//!     start every step scheduler.ready() offers (a JoinSet task each)
//!     select! {
//!         second Ctrl-C           → abort in-flight tasks, summary
//!         first Ctrl-C            → stop dispatching, stop waiting, let calls finish
//!         --wait-timeout elapsed  → stop waiting (waits end "in progress"), keep advancing
//!         event from a step       → sink
//!         a step ended            → scheduler.complete(...) (+ skipped dependents)
//!     }
//! }
//! ```
//!
//! The loop owns the scheduler, the `JoinSet`, the per-resource ids learned by creates and the
//! instants of the last writes; steps share only a read-only context (cloud
//! clients, store handles, a `Semaphore` of `parallelism` permits around every call, the
//! per-service rate limiters, the cut token).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use migplan_cloud::Cloud;
use migplan_parser::{ResourceAddr, Spec};
use migplan_planner::{
    Identity, LiveIndex, LiveSnapshot, Plan, RedisIdentity, ServerIdentity, StepClass,
};
use migplan_wire::dcs::MigrationTaskListItem;
use migplan_wire::sms::Task;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::estimate::estimate;
use crate::event::{
    Event, EventSink, FailedStep, InProgressStep, PendingStep, Progress, RunStatus, SkippedStep,
    StepError, StepRef, Summary,
};
use crate::kind::{Rates, initial_ids, spawn_poller};
use crate::live_store::{LiveStore, Writers};
use crate::request::{SecretSource, SpecIndex};
use crate::retry::RetryPolicy;
use crate::schedule::{Node, Outcome, Scheduler, SchedulerOptions, StepState};
use crate::step_run::{Ctx, StepInput, StepOutput, StepResult, run_step};

/// How to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOptions {
    /// Steps in flight at most (`--parallelism`); also the number of API calls in flight.
    pub parallelism: usize,
    /// Stop waiting after this long, report what is still in progress (`--wait-timeout`).
    pub wait_timeout: Option<Duration>,
    /// Time between two list walks of one service (`--poll-interval`).
    pub poll_interval: Duration,
    /// Stop starting steps after the first failure (`--fail-fast`).
    pub fail_fast: bool,
    /// Requests per second per service (`<= 0`: unlimited).
    pub requests_per_second: f64,
    /// Calls per step at most (unknown outcomes and throttling included).
    pub max_attempts: u32,
    /// Failed polls in a row after which waiting steps fail.
    pub max_poll_failures: u32,
    /// Polls a run waits, before each call on a resource another apply may be driving (its
    /// task was created by someone else during this run, or was still as created when this
    /// run planned), for that apply to make the call; then it makes it itself.
    pub follow_patience: u32,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            wait_timeout: None,
            poll_interval: Duration::from_secs(10),
            fail_fast: false,
            requests_per_second: 20.0,
            max_attempts: 5,
            max_poll_failures: 10,
            follow_patience: 10,
        }
    }
}

/// The two levels of interruption: `stop` (first Ctrl-C: no new steps, stop waiting, let
/// in-flight calls finish) and `abort` (second Ctrl-C: drop everything in flight now).
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    /// First level.
    pub stop: CancellationToken,
    /// Second level.
    pub abort: CancellationToken,
}

/// Why a plan cannot be executed at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExecError {
    /// A step depends on a step that is not in the plan.
    #[error("step {step} depends on {missing}, which is not in the plan")]
    DanglingDependency {
        /// The step.
        step: String,
        /// The missing dependency.
        missing: String,
    },
}

/// What one run needs.
pub struct Apply<'a> {
    /// Clients.
    pub cloud: &'a Cloud,
    /// The plan file's spec (request bodies are built from it).
    pub spec: &'a Spec,
    /// The plan to run.
    pub plan: &'a Plan,
    /// The live state the plan was made from.
    pub live: &'a LiveSnapshot,
    /// Options.
    pub options: &'a ApplyOptions,
    /// Where secrets are read.
    pub secrets: SecretSource,
}

/// The scheduler's view of a plan: one node per step, resources and waves numbered.
pub fn nodes_of(
    plan: &Plan,
    spec: &Spec,
    live: &LiveSnapshot,
) -> Result<(Vec<Node>, Vec<Option<u32>>), ExecError> {
    let index: HashMap<&str, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.0.as_str(), i))
        .collect();
    let mut resources: HashMap<&ResourceAddr, usize> = HashMap::new();
    let mut wave_of: HashMap<&ResourceAddr, usize> = HashMap::new();
    for (k, w) in plan.waves.iter().enumerate() {
        for m in &w.members {
            wave_of.insert(m, k);
        }
    }
    let caps = plan.waves.iter().map(|w| w.max_parallel).collect();
    let specix = SpecIndex::new(spec);
    let mut nodes = Vec::with_capacity(plan.steps.len());
    for s in &plan.steps {
        let mut deps = Vec::with_capacity(s.depends_on.len());
        for d in &s.depends_on {
            let Some(&i) = index.get(d.0.as_str()) else {
                return Err(ExecError::DanglingDependency {
                    step: s.id.to_string(),
                    missing: d.to_string(),
                });
            };
            deps.push(i);
        }
        let mut node = Node::new(s.id.to_string(), &deps, estimate(s, &specix, live));
        if let Some(r) = &s.resource {
            let n = resources.len();
            node.resource = Some(*resources.entry(r).or_insert(n));
            node.wave = wave_of.get(r).copied();
        }
        if s.class() == StepClass::Barrier {
            node = node.free();
        }
        nodes.push(node);
    }
    Ok((nodes, caps))
}

/// What each resource's task must migrate, resolved as the planner resolves it.
fn identities(spec: &Spec, live: &LiveSnapshot) -> HashMap<ResourceAddr, Identity> {
    let ix = LiveIndex::new(live);
    let servers = spec.servers.iter().map(|s| {
        (
            ResourceAddr::server(&s.name),
            Identity::Server(ServerIdentity::of(s, &ix)),
        )
    });
    let redis = spec.redis.iter().map(|r| {
        (
            ResourceAddr::redis(&r.name),
            Identity::Redis(RedisIdentity::of(r)),
        )
    });
    servers.chain(redis).collect()
}

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

impl Apply<'_> {
    /// Runs the plan to its end (or to the wait timeout, or an interrupt), reporting to
    /// `sink`; returns the summary (also sent as the last event).
    pub async fn run(
        self,
        sink: &dyn EventSink,
        interrupt: &Interrupt,
    ) -> Result<Summary, ExecError> {
        let started = Instant::now();
        let calls_before = self.cloud.stats().total_calls();
        let opts = self.options;
        let parallelism = opts.parallelism.max(1);
        let (nodes, wave_caps) = nodes_of(self.plan, self.spec, self.live)?;
        let sched = Scheduler::new(
            nodes,
            SchedulerOptions {
                parallelism: Some(parallelism),
                wave_caps,
                fail_fast: opts.fail_fast,
            },
        );
        let (store, writers) = LiveStore::new(
            self.live.tasks.clone(),
            self.live.migrations.clone(),
            started,
        );
        let rates = Rates::new(opts.requests_per_second);
        let pollers = CancellationToken::new();
        let mut background = JoinSet::new();
        let (cloud, interval) = (self.cloud, opts.poll_interval);
        let Writers { sms, dcs } = writers;
        spawn_poller::<Task>(
            &mut background,
            cloud,
            interval,
            (&store, sms),
            &rates,
            &pollers,
        );
        spawn_poller::<MigrationTaskListItem>(
            &mut background,
            cloud,
            interval,
            (&store, dcs),
            &rates,
            &pollers,
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let ctx = Arc::new(Ctx {
            cloud: self.cloud.clone(),
            spec: SpecIndex::new(self.spec),
            store,
            rates,
            calls: Arc::new(Semaphore::new(parallelism)),
            events: tx,
            secrets: self.secrets.clone(),
            cut: CancellationToken::new(),
            retry: RetryPolicy::new(
                opts.max_attempts,
                Duration::from_millis(500).min(opts.poll_interval),
            ),
            max_poll_failures: opts.max_poll_failures.max(1),
            identities: identities(self.spec, self.live),
            follow_patience: opts.follow_patience,
        });
        sink.on_event(&apply_start(self.plan, parallelism));
        let mut state = RunState::new(self.plan, self.live, sched, ctx, sink, rx);
        let deadline = opts.wait_timeout.map(|d| started + d);
        let flags = state.drive(interrupt, deadline).await;
        state.drain_events();
        pollers.cancel();
        while background.join_next().await.is_some() {}

        let summary = summarize(
            self.plan,
            &state.sched,
            &state.errors,
            &state.cut_called,
            flags,
            self.cloud
                .stats()
                .total_calls()
                .saturating_sub(calls_before),
            started.elapsed(),
        );
        sink.on_event(&Event::ApplySummary(summary.clone()));
        Ok(summary)
    }
}

/// The first event: steps and resources counted as the summary counts them (wave barriers
/// are not steps anyone runs).
fn apply_start(plan: &Plan, parallelism: usize) -> Event {
    Event::ApplyStart {
        plan: plan.name.clone(),
        steps: plan
            .steps
            .iter()
            .filter(|s| s.class() != StepClass::Barrier)
            .count(),
        resources: plan
            .resources
            .iter()
            .filter(|r| !r.steps.is_empty())
            .count(),
        parallelism,
    }
}

/// What the owner loop owns while steps run: the scheduler, the step tasks, and what the
/// steps taught it (ids learned by creates, instants of the last writes, followed resources,
/// errors, and what the steps cut short had done).
struct RunState<'a> {
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
    /// Steps cut short: whether each had called, and its last progress.
    cut_called: HashMap<usize, (bool, Option<Progress>)>,
    tasks: JoinSet<StepOutput>,
    running: HashMap<tokio::task::Id, usize>,
}

impl<'a> RunState<'a> {
    fn new(
        plan: &'a Plan,
        live: &LiveSnapshot,
        sched: Scheduler,
        ctx: Arc<Ctx>,
        sink: &'a dyn EventSink,
        events: mpsc::UnboundedReceiver<Event>,
    ) -> Self {
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
            cut_called: HashMap::new(),
            tasks: JoinSet::new(),
            running: HashMap::new(),
        }
    }

    /// The owner loop (see the module docs), until no step runs.
    async fn drive(&mut self, interrupt: &Interrupt, deadline: Option<Instant>) -> Flags {
        let mut flags = Flags::default();
        let sleep = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now));
        tokio::pin!(sleep);
        loop {
            self.spawn_ready();
            if self.tasks.is_empty() {
                return flags;
            }
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
        emit_skipped(self.sink, self.plan, ix, &skipped);
    }

    /// Hands the steps' pending events to the sink.
    fn drain_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.sink.on_event(&event);
        }
    }
}

fn emit_skipped(sink: &dyn EventSink, plan: &Plan, root: usize, skipped: &[usize]) {
    for &s in skipped {
        let step = &plan.steps[s];
        if step.class() == StepClass::Barrier {
            continue;
        }
        sink.on_event(&Event::StepSkipped {
            step: step.id.to_string(),
            resource: step.resource.as_ref().map(ToString::to_string),
            because: plan.steps[root].id.to_string(),
        });
    }
}

/// How the owner loop ended early, if it did.
#[derive(Debug, Default)]
struct Flags {
    timed_out: bool,
    interrupted: bool,
    aborted: bool,
}

fn summarize(
    plan: &Plan,
    sched: &Scheduler,
    errors: &HashMap<usize, StepError>,
    cut: &HashMap<usize, (bool, Option<Progress>)>,
    flags: Flags,
    api_calls: u64,
    elapsed: Duration,
) -> Summary {
    let mut s = Summary {
        status: RunStatus::Complete,
        done: Vec::new(),
        failed: Vec::new(),
        skipped: Vec::new(),
        in_progress: Vec::new(),
        not_started: Vec::new(),
        api_calls,
        elapsed_seconds: elapsed.as_secs_f64(),
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
    } else {
        RunStatus::Complete
    };
    s
}
