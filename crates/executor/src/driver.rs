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
//! The loop (a `RunState`, see `run_state`) owns the scheduler, the `JoinSet`, the
//! per-resource ids learned by creates and the instants of the last writes; steps share only
//! a read-only context (cloud clients whose every request goes through the run's adaptive pace
//! per service, store handles, a `Semaphore` of `parallelism` permits around every call, the
//! retry policy, the cut token). This module sets a run up: options, scheduler nodes, store,
//! pace, pollers, context.

use std::collections::HashMap;
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
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::estimate::{Estimator, writes};
use crate::event::{Event, EventSink, Summary};
use crate::kind::spawn_poller;
use crate::live_store::{LiveStore, Writers};
use crate::rate::{Rates, START_RATE};
use crate::request::{SecretSource, SpecIndex};
use crate::retry::RetryPolicy;
use crate::run_state::{EtaSettings, RunState, summarize};
use crate::schedule::{Node, Scheduler, SchedulerOptions};
use crate::step_run::Ctx;

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
    /// The ceiling of each service's adaptive request rate, requests per second
    /// (`--rate-limit`; `<= 0`: requests are not paced). See the `rate` module.
    pub requests_per_second: f64,
    /// The rate each service starts at, requests per second (capped at the ceiling).
    pub start_requests_per_second: f64,
    /// Calls per step at most (unknown outcomes and throttling included).
    pub max_attempts: u32,
    /// Failed polls in a row after which waiting steps fail.
    pub max_poll_failures: u32,
    /// Polls a run waits, before each call on a resource another apply may be driving (its
    /// task was created by someone else during this run, or was still as created when this
    /// run planned), for that apply to make the call; then it makes it itself.
    pub follow_patience: u32,
    /// Data comparisons connect only to Redis servers on this machine (`--local`: a
    /// simulation touches nothing elsewhere, not even with a marker key).
    pub loopback_only: bool,
    /// Seconds of the cloud's clock per second here: 1 for the cloud, the emulator's time
    /// scale for `--local`. Estimates and the ETA are in the cloud's time.
    pub time_scale: f64,
}

impl ApplyOptions {
    /// The poll interval in milliseconds of the cloud's clock.
    pub(crate) fn poll_ms(&self) -> u64 {
        (self.poll_interval.as_secs_f64() * 1000.0 * self.time_scale.max(0.0)) as u64
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            wait_timeout: None,
            poll_interval: Duration::from_secs(10),
            fail_fast: false,
            requests_per_second: 100.0,
            start_requests_per_second: START_RATE,
            max_attempts: 5,
            max_poll_failures: 10,
            follow_patience: 10,
            loopback_only: false,
            time_scale: 1.0,
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

/// The scheduler's view of a plan: one node per step, resources and waves numbered, each
/// step's estimate in milliseconds for polls every 10 s.
pub fn nodes_of(
    plan: &Plan,
    spec: &Spec,
    live: &LiveSnapshot,
) -> Result<(Vec<Node>, Vec<Option<u32>>), ExecError> {
    nodes_with(plan, spec, live, DEFAULT_POLL_MS)
}

/// The poll interval estimates assume when not told: the default `--poll-interval`.
pub(crate) const DEFAULT_POLL_MS: u64 = 10_000;

/// [`nodes_of`], for polls every `poll_ms` of the cloud's clock.
pub(crate) fn nodes_with(
    plan: &Plan,
    spec: &Spec,
    live: &LiveSnapshot,
    poll_ms: u64,
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
    let estimator = Estimator::new(&specix, live, poll_ms);
    let mut wrote: HashMap<&ResourceAddr, bool> = HashMap::new();
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
        let after_write = s
            .resource
            .as_ref()
            .is_some_and(|r| wrote.insert(r, writes(s.class())) == Some(true));
        let mut node = Node::new(s.id.to_string(), &deps, estimator.step_ms(s, after_write));
        if let Some(r) = &s.resource {
            let n = resources.len();
            node.resource = Some(*resources.entry(r).or_insert(n));
            node.wave = wave_of.get(r).copied();
        }
        if s.class() == StepClass::Barrier {
            node = node.free();
        }
        node.quota = s.quota_use();
        nodes.push(node);
    }
    Ok((nodes, caps))
}

/// The SMS migrations the plan's quota lets run at once, when it has one.
pub(crate) fn quota_of(plan: &Plan) -> Option<usize> {
    plan.quota
        .map(|q| usize::try_from(q.sms_concurrent_migrations).unwrap_or(usize::MAX))
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
        let parallelism = self.options.parallelism.max(1);
        let sched = self.scheduler(parallelism)?;
        let (store, writers) = LiveStore::new(
            self.live.tasks.clone(),
            self.live.migrations.clone(),
            started,
        );
        let rates = Arc::new(Rates::new(
            self.options.requests_per_second,
            self.options.start_requests_per_second,
        ));
        let cloud = self.cloud.with_gate(rates.clone());
        let pollers = CancellationToken::new();
        let mut background = self.start_pollers(&cloud, &store, writers, &pollers);
        let (tx, rx) = mpsc::unbounded_channel();
        let ctx = Arc::new(self.context(cloud, store, tx, parallelism));
        sink.on_event(&apply_start(self.plan, parallelism));
        let mut state = RunState::new(self.plan, self.live, sched, ctx, sink, rx);
        state.estimate_with(EtaSettings {
            poll_ms: self.options.poll_ms(),
            requests_per_second: self.options.requests_per_second / self.options.time_scale,
            time_scale: self.options.time_scale,
            // Once per poll, between 0.2 s and 1 s.
            every: self
                .options
                .poll_interval
                .clamp(Duration::from_millis(200), Duration::from_secs(1)),
        });
        let deadline = self.options.wait_timeout.map(|d| started + d);
        let flags = state.drive(interrupt, deadline).await;
        state.drain_events();
        pollers.cancel();
        while background.join_next().await.is_some() {}

        let api_calls = self
            .cloud
            .stats()
            .total_calls()
            .saturating_sub(calls_before);
        let summary = summarize(
            &state,
            flags,
            (api_calls, rates.summary()),
            started.elapsed(),
        );
        sink.on_event(&Event::ApplySummary(summary.clone()));
        Ok(summary)
    }

    /// The plan's steps as scheduler nodes, under the run's limits.
    fn scheduler(&self, parallelism: usize) -> Result<Scheduler, ExecError> {
        let (nodes, wave_caps) =
            nodes_with(self.plan, self.spec, self.live, self.options.poll_ms())?;
        Ok(Scheduler::new(
            nodes,
            SchedulerOptions {
                parallelism: Some(parallelism),
                wave_caps,
                fail_fast: self.options.fail_fast,
                quota: quota_of(self.plan),
            },
        ))
    }

    /// One poller per kind of live object, each listing into its part of `store` until
    /// `cancel`.
    fn start_pollers(
        &self,
        cloud: &Cloud,
        store: &LiveStore,
        writers: Writers,
        cancel: &CancellationToken,
    ) -> JoinSet<()> {
        let mut background = JoinSet::new();
        let interval = self.options.poll_interval;
        let Writers { sms, dcs } = writers;
        spawn_poller::<Task>(&mut background, cloud, interval, (store, sms), cancel);
        spawn_poller::<MigrationTaskListItem>(
            &mut background,
            cloud,
            interval,
            (store, dcs),
            cancel,
        );
        background
    }

    /// What every step of the run shares.
    fn context(
        &self,
        cloud: Cloud,
        store: LiveStore,
        events: mpsc::UnboundedSender<Event>,
        parallelism: usize,
    ) -> Ctx {
        let opts = self.options;
        Ctx {
            cloud,
            spec: SpecIndex::new(self.spec),
            store,
            calls: Arc::new(Semaphore::new(parallelism)),
            events,
            secrets: self.secrets.clone(),
            cut: CancellationToken::new(),
            retry: RetryPolicy::new(
                opts.max_attempts,
                Duration::from_millis(500).min(opts.poll_interval),
            ),
            max_poll_failures: opts.max_poll_failures.max(1),
            identities: identities(self.spec, self.live),
            follow_patience: opts.follow_patience,
            loopback_only: opts.loopback_only,
        }
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
