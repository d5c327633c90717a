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

/// The `persist` file: the world and the virtual time it was saved at.
#[derive(Debug, Serialize, Deserialize)]
struct Persisted {
    version: u32,
    virtual_now_ms: i64,
    world: World,
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
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| EmulatorError::State {
            path: path.to_owned(),
            message: e.to_string(),
        })
}

fn save_persisted(path: &Path, app: &App) -> Result<(), EmulatorError> {
    let p = Persisted {
        version: 1,
        virtual_now_ms: app.now(),
        world: app.world().clone(),
    };
    let text = serde_json::to_vec_pretty(&p).map_err(|e| EmulatorError::State {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let tmp = path.with_extension("tmp");
    let io = |source| EmulatorError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    write_private(&tmp, &text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
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
            Some(p) => (VirtualClock::new(p.virtual_now_ms, cfg.time_scale), p.world),
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
