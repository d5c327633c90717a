//! Throwaway `redis-server` processes for tests and benchmarks (feature `harness`).
//!
//! Each server listens on a free loopback port, keeps nothing on disk (`--save ""
//! --appendonly no`, its own temporary directory) and is killed when dropped. `redis-server`
//! must be on `PATH` (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install
//! redis`).

use crate::Endpoint;
use migplan_wire::Redacted;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A running `redis-server`, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    password: Option<String>,
    extra: Vec<String>,
}

/// Why a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// `redis-server` could not be run.
    #[error(
        "cannot run redis-server (install it: apt-get install redis-server, or brew install redis): {0}"
    )]
    Spawn(std::io::Error),
    /// It did not answer `PING` in time.
    #[error("redis-server on port {0} did not answer PING within 10 s")]
    NotReady(u16),
    /// Temporary directory or port trouble.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl RedisServer {
    /// Starts a server without a password.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(None, &[])
    }

    /// Starts a server, with `requirepass` when `password` is given and extra arguments
    /// (e.g. `["--maxmemory", "1gb"]`).
    pub fn start_with(password: Option<&str>, extra: &[&str]) -> Result<Self, HarnessError> {
        let mut last = None;
        // A free port may be taken between probing and binding: try a few.
        for _ in 0..5 {
            match Self::try_start(password, extra) {
                Ok(s) => return Ok(s),
                Err(HarnessError::NotReady(p)) => last = Some(HarnessError::NotReady(p)),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(HarnessError::NotReady(0)))
    }

    fn try_start(password: Option<&str>, extra: &[&str]) -> Result<Self, HarnessError> {
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!(
            "migplan-redis-{}-{}-{port}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let mut server = RedisServer {
            child: None,
            port,
            dir,
            password: password.map(str::to_owned),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        server.spawn()?;
        Ok(server)
    }

    /// Runs `redis-server` on the server's port and directory and waits for `PING`.
    fn spawn(&mut self) -> Result<(), HarnessError> {
        let (port, password) = (self.port, self.password.clone());
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--logfile", ""])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(pw) = &password {
            cmd.args(["--requirepass", pw]);
        }
        self.child = Some(cmd.spawn().map_err(HarnessError::Spawn)?);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.answers_ping() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                break; // exited: most likely the port was taken
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(HarnessError::NotReady(port))
    }

    /// Shuts the server down with `SHUTDOWN SAVE`: it stops answering, and its data waits
    /// on disk for [`RedisServer::restart`].
    pub fn shutdown_saving(&mut self) -> Result<(), HarnessError> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        if let Some(pw) = &self.password {
            write!(s, "AUTH {pw}\r\n")?;
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf)?;
        }
        s.write_all(b"SHUTDOWN SAVE\r\n")?;
        if let Some(mut c) = self.child.take() {
            c.wait()?;
        }
        Ok(())
    }

    /// Starts the server again on its port, loading what [`RedisServer::shutdown_saving`]
    /// saved.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        if self.child.is_some() {
            return Ok(());
        }
        self.spawn()
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        if s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 64];
        // Any reply (`+PONG`, or `-NOAUTH` with a password) means it is serving.
        matches!(s.read(&mut buf), Ok(n) if n > 0)
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// An endpoint for it, with its password.
    pub fn endpoint(&self) -> Endpoint {
        let e = Endpoint::tcp("127.0.0.1", self.port);
        match &self.password {
            Some(pw) => e.with_password(Redacted::new(pw.clone())),
            None => e,
        }
    }

    /// `redis://` URL for other clients (no password in it).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server now (it stops answering; the port is released).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
