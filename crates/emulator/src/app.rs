//! The shared application state behind every handler: config, clock, world, faults, log.

use crate::api_error::Flavor;
use crate::clock::VirtualClock;
use crate::config::EmulatorConfig;
use crate::faults::{Fault, FaultInjector};
use crate::ratelimit::RateLimit;
use crate::state::World;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Requests kept in the log (older ones are dropped, counters keep counting).
pub const LOG_CAPACITY: usize = 100_000;

/// One handled API request.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Position in the log, from 1 (after each reset). Assigned when the entry is recorded,
    /// i.e. when the answer is ready, so `seq` grows in log order even when concurrent
    /// requests finish out of arrival order (a `?since=` poller never misses an entry).
    pub seq: u64,
    /// Virtual time of arrival, epoch ms.
    pub virtual_time_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Route template, e.g. `/v3/tasks/{task_id}/action`.
    pub route: String,
    /// Status the request was answered with (for a dropped response: the status the handler
    /// produced before the connection was closed).
    pub status: u16,
    /// `operation` of an SMS action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Injected fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// `X-Request-Id` answered.
    pub request_id: String,
}

/// Request log and counters.
#[derive(Debug, Default)]
pub struct RequestLog {
    /// Recent entries.
    pub entries: std::collections::VecDeque<LogEntry>,
    /// Count per `METHOD route`.
    pub by_route: BTreeMap<String, u64>,
    /// Count per status.
    pub by_status: BTreeMap<u16, u64>,
    /// Count per fault.
    pub faults: BTreeMap<String, u64>,
    /// Total requests.
    pub total: u64,
}

impl RequestLog {
    /// Records an entry, assigning its `seq`.
    pub fn record(&mut self, mut e: LogEntry) {
        self.total += 1;
        e.seq = self.total;
        *self
            .by_route
            .entry(format!("{} {}", e.method, e.route))
            .or_default() += 1;
        *self.by_status.entry(e.status).or_default() += 1;
        if let Some(f) = e.fault {
            let name = serde_json::to_value(f)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *self.faults.entry(name).or_default() += 1;
        }
        if self.entries.len() >= LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(e);
    }
}

/// Everything a handler needs.
#[derive(Debug)]
pub struct App {
    /// The configuration.
    pub cfg: EmulatorConfig,
    /// The virtual clock.
    pub clock: VirtualClock,
    world: Mutex<World>,
    faults: Mutex<FaultInjector>,
    ratelimit: Mutex<Option<RateLimit>>,
    log: Mutex<RequestLog>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    /// Builds the shared state.
    pub fn new(cfg: EmulatorConfig, clock: VirtualClock, world: World) -> Self {
        let mut world = world;
        world.quota.limit = cfg.sms_migration_quota;
        let faults = FaultInjector::new(cfg.faults.clone());
        let ratelimit = cfg.faults.ratelimit.map(RateLimit::new);
        App {
            cfg,
            clock,
            world: Mutex::new(world),
            faults: Mutex::new(faults),
            ratelimit: Mutex::new(ratelimit),
            log: Mutex::new(RequestLog::default()),
        }
    }

    /// Locks the world.
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// Locks the fault injector.
    pub fn faults(&self) -> MutexGuard<'_, FaultInjector> {
        lock(&self.faults)
    }

    /// Counts an API request to the service of `flavor` against the rate limit: `Some((limit,
    /// wait))` when it is over (not counted), `None` when admitted or there is no limit.
    pub fn over_ratelimit(&self, flavor: Flavor) -> Option<(u32, std::time::Duration)> {
        let mut guard = lock(&self.ratelimit);
        let r = guard.as_mut()?;
        r.admit(flavor, tokio::time::Instant::now())
            .err()
            .map(|wait| (r.limit(), wait))
    }

    /// Locks the request log.
    pub fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    /// Virtual now.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Clears the world (and the high-water mark of migrations), the log, the counters and
    /// the rate-limit window, and re-seeds the fault RNG.
    pub fn reset(&self, world: World) {
        let mut world = world;
        world.quota.limit = self.cfg.sms_migration_quota;
        *self.world() = world;
        *self.log() = RequestLog::default();
        self.faults().reseed();
        if let Some(r) = lock(&self.ratelimit).as_mut() {
            r.clear();
        }
    }
}
