//! A real PostgreSQL for the tests: `MIGPLAN_TEST_PG` (a loopback URL) when set, else a
//! throwaway cluster started under `target/` for this test process and stopped when it
//! exits. Without either the tests skip loudly, unless `CI` is set: then they fail.

#![allow(clippy::print_stderr, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use migplan_journal::DbUrl;

/// Names the server URL of the tests.
pub const ENV_TEST_PG: &str = "MIGPLAN_TEST_PG";

/// A running server: its URL without a database, and the cluster when we started it.
pub struct Server {
    /// `postgres://user@host:port` (no path, no query).
    base: String,
    /// Query kept from `MIGPLAN_TEST_PG` (e.g. `sslmode=disable`).
    query: String,
    /// The CA that signed the server's certificate, when we started it with TLS on.
    pub ca: Option<PathBuf>,
    cluster: Option<Cluster>,
}

/// A cluster this process started; stopped on drop, and by a watchdog when the process
/// exits without dropping it (a static is never dropped).
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    root: PathBuf,
    sock: PathBuf,
    run_as: Option<String>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .pg_cmd("pg_ctl")
            .args(["-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.root);
        let _ = std::fs::remove_dir_all(&self.sock);
    }
}

impl Cluster {
    /// A PostgreSQL program, run as the cluster's owner when we are root.
    fn pg_cmd(&self, program: &str) -> Command {
        pg_command(&self.bin, program, self.run_as.as_deref())
    }
}

fn pg_command(bin: &Path, program: &str, run_as: Option<&str>) -> Command {
    let path = bin.join(program);
    match run_as {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(path);
            c
        }
        None => Command::new(path),
    }
}

/// The shared server, or `None` when the tests must skip (never with `CI` set).
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    SERVER
        .get_or_init(|| match find_or_start() {
            Ok(s) => Some(s),
            Err(why) => {
                if std::env::var_os("CI").is_some() {
                    panic!("PostgreSQL tests cannot run, and CI is set: {why}");
                }
                // Straight to stderr: libtest would swallow `eprintln!` of a passing test.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!!!!\n!!! SKIPPING the PostgreSQL tests of migplan-journal: {why}\n\
                     !!! Install PostgreSQL (apt-get install postgresql) or set {ENV_TEST_PG}.\n!!!!!!!!\n"
                );
                None
            }
        })
        .as_ref()
}

impl Server {
    /// The URL of database `db` on this server.
    pub fn url_of(&self, db: &str) -> String {
        if self.query.is_empty() {
            format!("{}/{db}", self.base)
        } else {
            format!("{}/{db}?{}", self.base, self.query)
        }
    }

    /// Whether this process started the server (and may stop it).
    pub fn is_ours(&self) -> bool {
        self.cluster.is_some()
    }

    /// A new empty database; its URL (for the crate) and a plain admin client to it.
    pub async fn fresh_db(&self) -> (DbUrl, String, tokio_postgres::Client) {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = self.client("postgres").await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        let url = self.url_of(&name);
        let client = self.client(&name).await;
        (DbUrl::parse(&url).expect("test URL"), url, client)
    }

    /// A plain (no TLS) client to database `db`.
    pub async fn client(&self, db: &str) -> tokio_postgres::Client {
        let mut cfg: tokio_postgres::Config = format!("{}/{db}", self.base).parse().expect("url");
        cfg.connect_timeout(Duration::from_secs(10));
        let (client, conn) = cfg
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }
}

fn find_or_start() -> Result<Server, String> {
    if let Some(url) = std::env::var(ENV_TEST_PG).ok().filter(|u| !u.is_empty()) {
        return from_url(&url);
    }
    start_cluster()
}

fn from_url(url: &str) -> Result<Server, String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = base
        .strip_prefix("postgres://")
        .or_else(|| base.strip_prefix("postgresql://"))
        .ok_or_else(|| format!("{ENV_TEST_PG} must be a postgres:// URL"))?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host
        .rsplit_once(':')
        .map_or(host, |(h, _)| h)
        .trim_matches(['[', ']']);
    // Tests talk to this machine only.
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return Err(format!(
            "{ENV_TEST_PG} must name a loopback host (127.0.0.1, localhost, ::1)"
        ));
    }
    let scheme = if base.starts_with("postgresql://") {
        "postgresql"
    } else {
        "postgres"
    };
    Ok(Server {
        base: format!("{scheme}://{authority}"),
        query: query.to_string(),
        ca: None,
        cluster: None,
    })
}

/// The directory of `initdb` and `pg_ctl`: `MIGPLAN_PG_BIN`, the newest
/// `/usr/lib/postgresql/*/bin` (Debian), or `PATH`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("MIGPLAN_PG_BIN") {
        return Some(PathBuf::from(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Gives `dir` (and what is in it) to `user`.
fn give(user: &str, dir: &Path) -> Result<(), String> {
    let ok = Command::new("chown")
        .args(["-R", user])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "cannot give {} to the `{user}` user (is there one?)",
            dir.display()
        ))
    }
}

/// Whether `user` can enter and write `dir` (every parent must let it through).
fn can_write(user: &str, dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-w"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn start_cluster() -> Result<Server, String> {
    let bin = bin_dir().ok_or("no PostgreSQL server programs (initdb, pg_ctl) found")?;
    // initdb and the server refuse to run as root: run them as `postgres`.
    let run_as = if is_root() {
        Some("postgres".to_string())
    } else {
        None
    };
    let name = format!(
        "pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    // Under target/, unless the server's user cannot reach it there (a checkout in a
    // directory only root may enter): then under the OS temp directory.
    let mut root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&name);
    std::fs::create_dir_all(&root).map_err(|e| format!("create {}: {e}", root.display()))?;
    if let Some(user) = &run_as {
        give(user, &root)?;
        if !can_write(user, &root) {
            let _ = std::fs::remove_dir_all(&root);
            root = std::env::temp_dir().join(format!("migplan-{name}"));
            std::fs::create_dir_all(&root)
                .map_err(|e| format!("create {}: {e}", root.display()))?;
        }
    }
    let data = root.join("data");
    // Unix sockets have a short path limit; a long checkout path gets one under /tmp.
    let mut sock = root.join("s");
    if sock.as_os_str().len() > 80 {
        sock = std::env::temp_dir().join(format!("migplan-s-{}", std::process::id()));
    }
    std::fs::create_dir_all(&sock).map_err(|e| format!("create {}: {e}", sock.display()))?;
    // TLS on, with a certificate for 127.0.0.1 from a CA of our own, when openssl is here.
    let tls = make_certs(&root);
    if let Some(user) = &run_as {
        give(user, &root)?;
        give(user, &sock)?;
        if !can_write(user, &root) {
            return Err(format!(
                "the `{user}` user cannot write {} (initdb refuses to run as root)",
                root.display()
            ));
        }
    }
    let cluster = Cluster {
        bin: bin.clone(),
        data: data.clone(),
        root: root.clone(),
        sock: sock.clone(),
        run_as: run_as.clone(),
    };
    let out = cluster
        .pg_cmd("initdb")
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        .output()
        .map_err(|e| format!("run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let port = free_port()?;
    let mut opts = format!(
        "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
        sock.display()
    );
    if tls.is_ok() {
        opts.push_str(&format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            root.join("server.pem").display(),
            root.join("server.key").display()
        ));
    }
    let out = cluster
        .pg_cmd("pg_ctl")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(root.join("log"))
        .args(["-w", "-t", "120", "-o", &opts, "start"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("run pg_ctl: {e}"))?;
    if !out.status.success() {
        let log = std::fs::read_to_string(root.join("log")).unwrap_or_default();
        return Err(format!(
            "pg_ctl start failed: {} {}",
            String::from_utf8_lossy(&out.stderr).trim(),
            log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        ));
    }
    spawn_watchdog(&cluster);
    Ok(Server {
        base: format!("postgres://postgres@127.0.0.1:{port}"),
        query: "sslmode=disable".into(),
        ca: tls.ok(),
        cluster: Some(cluster),
    })
}

/// A CA and a server certificate for IP 127.0.0.1 signed by it (`server.pem`, `server.key`,
/// `ca.pem` in `dir`); the CA's path.
fn make_certs(dir: &Path) -> Result<PathBuf, String> {
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("openssl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {}: {}",
                args.first().copied().unwrap_or(""),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=migplan test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca)?;
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&csr)?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    // The server refuses a key others can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(dir.join("ca.pem"))
}

/// Stops the cluster once this process is gone (the static `Server` is never dropped).
fn spawn_watchdog(c: &Cluster) {
    let pg_ctl = c.bin.join("pg_ctl");
    let stop = match &c.run_as {
        Some(u) => format!("runuser -u {u} -- '{}'", pg_ctl.display()),
        None => format!("'{}'", pg_ctl.display()),
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{root}' '{sock}'",
        pid = std::process::id(),
        data = c.data.display(),
        root = c.root.display(),
        sock = c.sock.display(),
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
