//! Starting, running and stopping an emulator.

use crate::app::App;
use crate::clock::VirtualClock;
use crate::config::EmulatorConfig;
use crate::error::EmulatorError;
use crate::listener::{ConnInfo, KillableListener};
use crate::state::{World, sms_source};
use crate::{admin, routes, seed};
use migplan_wire::sms::RegisterSourceRequest;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The `persist` file: the world, the virtual time it was saved at, and the real time of the
/// save (for [`EmulatorConfig::clock_runs_while_stopped`]; absent in files of older versions).
#[derive(Debug, Serialize, Deserialize)]
struct Persisted {
    version: u32,
    virtual_now_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    saved_at_ms: Option<i64>,
    world: World,
}

/// The virtual time a loaded state resumes at.
fn resumed_now(p: &Persisted, cfg: &EmulatorConfig, real_now: i64) -> i64 {
    let stopped_ms = match (cfg.clock_runs_while_stopped, p.saved_at_ms) {
        (true, Some(saved)) => real_now.saturating_sub(saved).max(0),
        _ => 0,
    };
    let scale = if cfg.time_scale.is_finite() && cfg.time_scale > 0.0 {
        cfg.time_scale
    } else {
        1.0
    };
    // Saturating float→int conversion; `VirtualClock` caps the result.
    let ran = (stopped_ms as f64 * scale) as i64;
    p.virtual_now_ms
        .saturating_add(ran)
        .min(VirtualClock::MAX_MS)
}

/// The world a fresh start (or a reset) begins with: the seed file's, or empty.
pub fn initial_world(cfg: &EmulatorConfig, now: i64) -> Result<World, EmulatorError> {
    match &cfg.seed {
        Some(path) => seed::world(&seed::load(path)?, now, path),
        None => Ok(World::default()),
    }
}

fn load_persisted(path: &Path) -> Result<Option<Persisted>, EmulatorError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(EmulatorError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            });
        }
    };
    let bad = |message: String| EmulatorError::State {
        path: path.to_owned(),
        message,
    };
    let p: Persisted = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if p.version != 1 {
        return Err(bad(format!(
            "version {} is not one this emulator reads (1)",
            p.version
        )));
    }
    if !(0..=VirtualClock::MAX_MS).contains(&p.virtual_now_ms) {
        return Err(bad("virtual_now_ms is out of range".into()));
    }
    Ok(Some(p))
}

fn save_persisted(path: &Path, app: &App) -> Result<(), EmulatorError> {
    let p = Persisted {
        version: 1,
        virtual_now_ms: app.now(),
        saved_at_ms: Some(VirtualClock::real_epoch_ms()),
        world: app.world().clone(),
    };
    let encode = |e: serde_json::Error| EmulatorError::State {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mut value = serde_json::to_value(&p).map_err(encode)?;
    if app.cfg.persist_redacted {
        admin::redact(&mut value);
    }
    let text = serde_json::to_vec_pretty(&value).map_err(encode)?;
    // A temporary file of this save's own, renamed over the state: a reader (or a crash, or
    // another process saving at the same moment) sees the old file or the new one, whole.
    let tmp = path.with_extension(format!(
        "{}.{}.tmp",
        std::process::id(),
        crate::state::new_id()
    ));
    let io = |source| EmulatorError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    if let Err(e) = write_private(&tmp, &text).and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// Writes `bytes` to a file only its owner can read: the state holds DCS passwords.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    // `mode` only applies to a file `open` creates; tighten a leftover one too.
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A running emulator. Dropping it without [`RunningEmulator::shutdown`] stops the server
/// without persisting.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// Binds, loads persisted state (or the seed) and starts serving.
    pub async fn start(cfg: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
        let persisted = match &cfg.persist {
            Some(p) => load_persisted(p)?,
            None => None,
        };
        let (clock, world) = match persisted {
            Some(p) => (
                VirtualClock::new(
                    resumed_now(&p, &cfg, VirtualClock::real_epoch_ms()),
                    cfg.time_scale,
                ),
                p.world,
            ),
            None => {
                let now = VirtualClock::real_epoch_ms();
                (
                    VirtualClock::new(now, cfg.time_scale),
                    initial_world(&cfg, now)?,
                )
            }
        };
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let app = Arc::new(App::new(cfg, clock, world));
        // Real Redis copies that were running when the state was saved go on.
        crate::redis_mover::resume_all(&app);
        let router = routes::router(app.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let service = router.into_make_service_with_connect_info::<ConnInfo>();
        let task = tokio::spawn(async move {
            axum::serve(KillableListener::new(listener), service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(%addr, "emulator listening");
        Ok(RunningEmulator {
            addr,
            app,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the endpoint for both SMS and DCS clients.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Virtual now, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.app.now()
    }

    /// Registers a source as the Agent's `POST /v3/sources` would (re-registering a name
    /// updates that source). Returns its id.
    pub fn register_source(&self, source: RegisterSourceRequest) -> Result<String, EmulatorError> {
        sms_source::register(&mut self.app.world(), source, None, self.app.now()).map_err(|e| {
            EmulatorError::Refused {
                code: e.code,
                message: e.message,
            }
        })
    }

    /// Registers a source with defaults for everything but its name (see the seed format).
    pub fn register_source_named(&self, name: &str) -> Result<String, EmulatorError> {
        self.register_source(RegisterSourceRequest {
            name: name.to_owned(),
            ..RegisterSourceRequest::default()
        })
    }

    /// Adds what `seed` names and the world lacks (see [`seed::add_missing`]); `origin` names
    /// the seed in errors. Returns how many sources and templates were added.
    pub fn add_missing(
        &self,
        seed: &seed::SeedFile,
        origin: &Path,
    ) -> Result<usize, EmulatorError> {
        seed::add_missing(&mut self.app.world(), seed, self.app.now(), origin)
    }

    /// Saves the state to the `persist` file now (nothing without one).
    pub fn save(&self) -> Result<(), EmulatorError> {
        match &self.app.cfg.persist {
            Some(path) => save_persisted(path, &self.app),
            None => Ok(()),
        }
    }

    /// Jumps the virtual clock forward.
    pub fn advance(&self, by: Duration) {
        self.app
            .clock
            .advance_ms(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
    }

    /// Makes an SMS or DCS task fail (now if it is replicating, else on its next run).
    pub fn fail_task(&self, id: &str) -> Result<(), EmulatorError> {
        admin::fail_any(&self.app, id).map_err(|e| EmulatorError::Refused {
            code: e.code,
            message: e.message,
        })
    }

    /// Request counters, as served by `GET /_emulator/stats`.
    pub fn stats(&self) -> serde_json::Value {
        admin::stats_json(&self.app)
    }

    /// Stops serving and persists the state if configured.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        self.stop_server().await;
        match &self.app.cfg.persist {
            Some(path) => save_persisted(path, &self.app),
            None => Ok(()),
        }
    }

    /// Serves until Ctrl-C, then shuts down (persisting if configured).
    pub async fn run_until_ctrl_c(self) -> Result<(), EmulatorError> {
        let mut this = self;
        let task = this.task.take();
        let result = match task {
            Some(mut task) => tokio::select! {
                r = tokio::signal::ctrl_c() => { r.map_err(|e| EmulatorError::Server(e.to_string()))?; this.task = Some(task); Ok(()) }
                r = &mut task => Err(EmulatorError::Server(match r { Ok(Ok(())) => "stopped".into(), Ok(Err(e)) => e.to_string(), Err(e) => e.to_string() })),
            },
            None => Ok(()),
        };
        result?;
        this.shutdown().await
    }

    async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Graceful shutdown waits for open connections; do not wait forever.
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
