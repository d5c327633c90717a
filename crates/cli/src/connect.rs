//! Where `plan`, `apply` and `status` talk to: the real cloud (endpoints and credentials from
//! flags and environment) or, with `--local`, an in-process emulator on an ephemeral loopback
//! port whose world is kept between commands (see [`crate::local_state`]), with the plan's
//! sources registered and its templates created, as agents and admins would have done.
//! Timeouts and the retry notices apply to both.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use miette::{IntoDiagnostic, WrapErr};
use migplan_cloud::{Auth, Cloud, CloudConfig};
use migplan_emulator::{EmulatorConfig, EmulatorError, RunningEmulator};
use migplan_parser::{SourceRef, Spec, Target};

use crate::local_state::{self, LocalState};
use crate::retries::{self, RetryReport};

/// Connection flags shared by `plan`, `apply` and `status`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Use a local in-process emulator instead of the cloud (the plan's sources are registered
    /// and its templates created automatically). Its world is kept between commands in
    /// .migplan/local/PLAN_NAME.json under the current directory (or $MIGPLAN_LOCAL_DIR).
    #[arg(long)]
    pub local: bool,
    /// With --local: forget the kept local world and start from a fresh one (the same as
    /// deleting its file).
    #[arg(long, requires = "local")]
    pub local_reset: bool,
    /// SMS endpoint (default: from the plan's region).
    #[arg(long, env = "MIGPLAN_SMS_ENDPOINT", value_name = "URL")]
    pub sms_endpoint: Option<String>,
    /// DCS endpoint (default: from the plan's region).
    #[arg(long, env = "MIGPLAN_DCS_ENDPOINT", value_name = "URL")]
    pub dcs_endpoint: Option<String>,
    /// Give up connecting to an endpoint after this long, per attempt (attempts that fail
    /// are retried, each retry shown on stderr).
    #[arg(long, env = "MIGPLAN_CONNECT_TIMEOUT", value_name = "DUR", default_value = "10s",
          value_parser = crate::cli::parse_timeout)]
    pub connect_timeout: Duration,
    /// Give up waiting for an answer after this long, per attempt (reads are retried, each
    /// retry shown on stderr; a create or action whose answer is lost is never repeated).
    #[arg(long, env = "MIGPLAN_REQUEST_TIMEOUT", value_name = "DUR", default_value = "30s",
          value_parser = crate::cli::parse_timeout)]
    pub request_timeout: Duration,
    /// How long a `--local` command waits for another one on the same state (set by apply
    /// from --lock-timeout; at least [`local_state::DEFAULT_WAIT`]).
    #[arg(skip)]
    pub lock_wait: Option<Duration>,
    /// Where retries are shown (apply --format json: among its events).
    #[arg(skip)]
    pub retry_report: RetryReport,
    /// With --local: start throwaway redis-servers for the plan's data comparisons (apply).
    #[arg(skip)]
    pub local_redis: bool,
}

/// The services a plan uses: only these are contacted (a servers-only plan never sends a DCS
/// request, so an unreachable DCS endpoint does not matter to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Services {
    pub sms: bool,
    pub dcs: bool,
}

impl Services {
    pub fn of(spec: &Spec) -> Self {
        Services {
            sms: !spec.servers.is_empty(),
            dcs: !spec.redis.is_empty(),
        }
    }
}

/// A connected target: the clients, and the emulator kept alive while `--local` is in use.
pub struct Connection {
    pub cloud: Cloud,
    /// Human description of the target, shown in every output.
    pub target: String,
    /// What apply locks: the project, region and canonical endpoints (see
    /// `CloudConfig::target_identity`). `None` for `--local`, whose state is locked for the
    /// whole command instead (`local`).
    pub lock_identity: Option<String>,
    /// The services the plan uses; the others are never called.
    pub uses: Services,
    /// Seconds of the target's clock per second here: 1 for the cloud, the emulator's time
    /// scale for `--local` (forecasts are in the target's time).
    pub time_scale: f64,
    pub emulator: Option<RunningEmulator>,
    /// The `--local` state, locked until this connection is dropped.
    local: Option<LocalState>,
    /// Throwaway redis-servers of `--local` (stopped with the connection).
    _local_redis: crate::local_redis::LocalRedis,
}

impl Connection {
    /// Stops the local emulator, saving its world (nothing to do for the cloud).
    pub async fn close(mut self) {
        if let Some(e) = self.emulator.take() {
            let saved = e.shutdown().await;
            self.warn_unsaved(saved);
        }
    }

    fn warn_unsaved(&self, saved: Result<(), EmulatorError>) {
        if let (Err(e), Some(state)) = (saved, &self.local) {
            use std::io::Write;
            // The cause (permission denied, disk full) is in the source, not in the message.
            let cause = std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            let _ = writeln!(
                std::io::stderr().lock(),
                "warning: the --local state could not be saved to {}: {e}{cause}; the next \
                 --local command will not see this one's changes",
                state.path.display()
            );
        }
    }
}

impl Drop for Connection {
    /// A command that ends early (an error after connecting) still keeps what its emulator
    /// did: a step applied before the error is not forgotten by the next `--local` command.
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let saved = e.save();
            self.warn_unsaved(saved);
        }
    }
}

pub async fn connect(spec: &Spec, args: &ConnectArgs) -> miette::Result<Connection> {
    if args.local {
        return connect_local(spec, args).await;
    }
    let mut cfg = CloudConfig::from_process_env(&spec.cloud.region)
        .into_diagnostic()
        .wrap_err("cannot configure the cloud connection (use --local to try the plan against the local emulator)")?
        .with_project_id(spec.cloud.project_id.clone());
    if let Some(d) = &spec.cloud.domain_id {
        cfg = cfg.with_domain_id(d.clone());
    }
    let cfg = with_network(
        cfg.with_endpoints(args.sms_endpoint.as_deref(), args.dcs_endpoint.as_deref())
            .into_diagnostic()?,
        args,
    );
    let target = format!(
        "{} (SMS {}, DCS {})",
        spec.cloud.region, cfg.sms_endpoint, cfg.dcs_endpoint
    );
    let cloud = Cloud::new(&cfg).into_diagnostic()?;
    Ok(Connection {
        cloud,
        target,
        lock_identity: Some(cfg.target_identity()),
        uses: Services::of(spec),
        time_scale: 1.0,
        emulator: None,
        local: None,
        _local_redis: crate::local_redis::LocalRedis::default(),
    })
}

/// The timeouts and the retry notices of the flags.
fn with_network(cfg: CloudConfig, args: &ConnectArgs) -> CloudConfig {
    let report = args.retry_report;
    cfg.with_timeout(args.request_timeout)
        .with_connect_timeout(args.connect_timeout)
        .with_on_retry(move |n| retries::report(report, n))
}

/// The `--local` emulator's clock runs this many times faster than this host's.
const LOCAL_TIME_SCALE: f64 = 1000.0;

async fn connect_local(spec: &Spec, args: &ConnectArgs) -> miette::Result<Connection> {
    let wait = args.lock_wait.map_or(local_state::DEFAULT_WAIT, |w| {
        w.max(local_state::DEFAULT_WAIT)
    });
    let state =
        tokio::task::block_in_place(|| local_state::open(&spec.name, args.local_reset, wait))?;
    // Throwaway credentials: only this process talks to this emulator.
    let ak = format!("LOCAL{}", uuid::Uuid::new_v4().simple());
    let sk = uuid::Uuid::new_v4().simple().to_string();
    let mut emu_cfg = EmulatorConfig::new(ak.clone(), sk.clone());
    emu_cfg.time_scale = LOCAL_TIME_SCALE;
    emu_cfg.persist = Some(state.path.clone());
    emu_cfg.persist_redacted = true;
    emu_cfg.clock_runs_while_stopped = true;
    let redis = if args.local_redis {
        tokio::task::block_in_place(|| crate::local_redis::start(spec))
    } else {
        crate::local_redis::LocalRedis::default()
    };
    emu_cfg.redis_instances = redis.instances.clone();
    let emulator = match RunningEmulator::start(emu_cfg).await {
        Ok(e) => e,
        Err(EmulatorError::State { path, message }) => {
            return Err(local_state::unusable(&path, &message));
        }
        Err(EmulatorError::Io { path, source, .. }) => {
            return Err(local_state::unusable(&path, &source.to_string()));
        }
        Err(e) => {
            return Err(e)
                .into_diagnostic()
                .wrap_err("cannot start the local emulator");
        }
    };
    // The plan's sources (by name, or under the id the plan gives) and templates, as agents
    // and admins would have registered them; a kept world gets only what it lacks (a source
    // added to the plan since), and keeps what the earlier commands did.
    let seed = migplan_emulator::seed::parse(&local_seed(spec).to_string(), true)
        .map_err(|e| miette::miette!("cannot seed the local emulator: {e}"))?;
    emulator
        .add_missing(&seed, Path::new("the plan's sources and templates"))
        .into_diagnostic()?;
    let cfg = CloudConfig::local(&emulator.base_url(), Auth::aksk(ak, sk))
        .into_diagnostic()?
        .with_project_id(spec.cloud.project_id.clone());
    let cloud = Cloud::new(&with_network(cfg, args)).into_diagnostic()?;
    let target = format!(
        "the local emulator at {} (--local, state in {}; nothing in the cloud is touched{})",
        emulator.base_url(),
        state.path.display(),
        redis.notice
    );
    Ok(Connection {
        cloud,
        target,
        lock_identity: None,
        uses: Services::of(spec),
        time_scale: LOCAL_TIME_SCALE,
        emulator: Some(emulator),
        local: Some(state),
        _local_redis: redis,
    })
}

/// The environment variables the plan names for secrets (Redis passwords) that are unset or
/// empty here: names only, for the planner to block on. Values are never read into the plan.
pub fn unset_secrets(spec: &Spec) -> std::collections::BTreeSet<String> {
    spec.redis
        .iter()
        .flat_map(|r| [&r.source, &r.target])
        .filter_map(|e| e.password.as_ref())
        .map(|p| p.env.clone())
        .filter(|name| std::env::var_os(name).is_none_or(|v| v.is_empty()))
        .collect()
}

/// Seed of the local emulator: one source per server (by name, or named after the entry under
/// the id the plan gives), with the plan's OS type, and every template the plan names (targets
/// and clone-test templates).
fn local_seed(spec: &Spec) -> serde_json::Value {
    let mut seen = BTreeSet::new();
    let sources: Vec<serde_json::Value> = spec
        .servers
        .iter()
        .filter_map(|s| {
            let (name, id) = match &s.source {
                SourceRef::Name(n) => (n.clone(), None),
                SourceRef::Id(id) => (s.name.clone(), Some(id.clone())),
            };
            seen.insert(name.clone()).then(|| {
                let mut v = serde_json::json!({ "name": name });
                if let Some(id) = id {
                    v["id"] = id.into();
                }
                if let Some(os) = s.os_type {
                    v["os_type"] = os.to_string().into();
                }
                v
            })
        })
        .collect();
    // Target templates, and the templates clone tests launch from.
    let templates: BTreeSet<&str> = spec
        .servers
        .iter()
        .flat_map(|s| {
            let target = match &s.target {
                Target::Template(t) => Some(t.as_str()),
                Target::Existing { .. } => None,
            };
            let clone = s.test.as_ref().and_then(|t| t.template.as_deref());
            target.into_iter().chain(clone)
        })
        .collect();
    let templates: Vec<serde_json::Value> = templates
        .into_iter()
        .map(|t| {
            serde_json::json!({
                "name": t,
                "is_template": true,
                "region": spec.cloud.region,
                "projectid": spec.cloud.project_id,
            })
        })
        .collect();
    serde_json::json!({ "sources": sources, "templates": templates })
}
