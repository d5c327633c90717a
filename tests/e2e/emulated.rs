//! One emulator in the test process, shared by several runs of the real binary: seeded with the
//! sources and templates the plans name (as SMS agents and admins would have done), reached
//! through `MIGPLAN_SMS_ENDPOINT` / `MIGPLAN_DCS_ENDPOINT` with AK/SK signing, and inspected
//! through its admin endpoints (`/_emulator/requests`, `/_emulator/state`).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use migplan_cloud::{Auth, Cloud, CloudConfig};
use migplan_emulator::{EmulatorConfig, FaultSpec, RunningEmulator};
use migplan_parser::{SourceRef, Spec, Target};
use serde_json::{Value, json};

use crate::{migplan, repo_root};

const AK: &str = "E2EACCESSKEY";
const SK: &str = "e2e-secret-key-do-not-print";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the OS temp directory (removed on drop of [`Emulated`]).
pub fn scratch_dir(tag: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("migplan-e2e-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Parses an example plan.
pub fn spec(plan: &str) -> Spec {
    migplan_parser::parse_file(&repo_root().join(plan))
        .expect("valid example plan")
        .spec
}

/// A running emulator with its runtime.
pub struct Emulated {
    // Field order matters: the emulator must stop before its runtime.
    emu: Option<RunningEmulator>,
    rt: tokio::runtime::Runtime,
    pub dir: PathBuf,
    /// Project id of the first plan (DCS paths carry it).
    project_id: String,
}

impl Drop for Emulated {
    fn drop(&mut self) {
        if let Some(e) = self.emu.take() {
            let _ = self.rt.block_on(e.shutdown());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How to start one (a fluent builder).
#[derive(Debug, Clone, Default)]
pub struct Setup {
    plans: Vec<String>,
    sources: Vec<String>,
    unregistered: Vec<String>,
    templates: Vec<String>,
    time_scale: f64,
    faults: String,
    redis_instances: Vec<String>,
    sms_migration_quota: Option<u32>,
}

impl Setup {
    /// Seeded for these example plans, at 5000× virtual time, no faults.
    pub fn plans(plans: &[&str]) -> Setup {
        Setup {
            plans: plans.iter().map(|p| (*p).to_string()).collect(),
            time_scale: 5000.0,
            ..Setup::default()
        }
    }
    /// Virtual seconds per real second.
    pub fn time_scale(mut self, x: f64) -> Setup {
        self.time_scale = x;
        self
    }
    /// A fault spec (`throttle=0.1,...`).
    pub fn faults(mut self, f: &str) -> Setup {
        self.faults = f.to_string();
        self
    }
    /// More sources to register by name.
    pub fn sources(mut self, names: &[&str]) -> Setup {
        self.sources.extend(names.iter().map(|n| (*n).to_string()));
        self
    }
    /// A DCS instance id that stands for a real Redis server (`ID=HOST:PORT`): the emulator
    /// moves data between such servers for real, and ShowInstance answers with the address.
    pub fn redis_instance(mut self, id: &str, addr: &str) -> Setup {
        self.redis_instances.push(format!("{id}={addr}"));
        self
    }
    /// The account's cap on SMS migrations at once (`--sms-migration-quota`).
    pub fn sms_migration_quota(mut self, n: u32) -> Setup {
        self.sms_migration_quota = Some(n);
        self
    }
    /// A source the plans name whose agent never registered.
    pub fn without_source(mut self, name: &str) -> Setup {
        self.unregistered.push(name.to_string());
        self
    }
    /// More templates to create.
    pub fn templates(mut self, names: &[&str]) -> Setup {
        self.templates
            .extend(names.iter().map(|n| (*n).to_string()));
        self
    }
    /// Starts it.
    pub fn start(self) -> Emulated {
        Emulated::start(self)
    }
}

impl Emulated {
    /// Starts an emulator seeded for `plans` (sources by name or fixed id, templates).
    pub fn start(setup: Setup) -> Emulated {
        let dir = scratch_dir("emu");
        let mut sources = Vec::new();
        let mut seen = BTreeSet::new();
        let mut templates: BTreeSet<String> = setup.templates.iter().cloned().collect();
        for n in &setup.sources {
            let src = json!({"name": n});
            if seen.insert(src.to_string()) {
                sources.push(src);
            }
        }
        let mut project_id = String::new();
        for p in &setup.plans {
            let spec = spec(p);
            if project_id.is_empty() {
                project_id = spec.cloud.project_id.clone();
            }
            for s in &spec.servers {
                let src = match &s.source {
                    SourceRef::Name(n) if setup.unregistered.contains(n) => continue,
                    SourceRef::Name(n) => json!({"name": n}),
                    // An agent registered this machine under some name; the plan names its id.
                    SourceRef::Id(id) => json!({"name": format!("{}-by-id", s.name), "id": id}),
                };
                if seen.insert(src.to_string()) {
                    sources.push(src);
                }
                if let Target::Template(t) = &s.target {
                    templates.insert(t.clone());
                }
            }
        }
        let seed = json!({
            "sources": sources,
            "templates": templates.iter().map(|t| json!({"name": t, "is_template": true})).collect::<Vec<_>>(),
        });
        let seed_path = dir.join("seed.json");
        std::fs::write(&seed_path, seed.to_string()).expect("seed");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut cfg = EmulatorConfig::new(AK, SK);
        cfg.time_scale = setup.time_scale;
        cfg.seed = Some(seed_path);
        cfg.faults = setup.faults.parse::<FaultSpec>().expect("fault spec");
        if setup.faults.is_empty() {
            cfg.faults = FaultSpec::default();
        }
        cfg.redis_instances = setup
            .redis_instances
            .iter()
            .map(|r| r.parse().expect("ID=HOST:PORT"))
            .collect();
        cfg.sms_migration_quota = setup.sms_migration_quota;
        let emu = rt.block_on(RunningEmulator::start(cfg)).expect("emulator");
        std::fs::create_dir_all(dir.join("locks")).expect("lock dir");
        Emulated {
            emu: Some(emu),
            rt,
            dir,
            project_id,
        }
    }

    /// The emulator itself (advance its clock, fail a task, register a source).
    pub fn emulator(&self) -> &RunningEmulator {
        self.emu.as_ref().expect("running")
    }

    /// A client of the emulator, for preparing and inspecting state.
    pub fn cloud(&self) -> Cloud {
        let cfg = CloudConfig::local(&self.base_url(), Auth::aksk(AK, SK))
            .expect("config")
            .with_project_id(self.project_id.clone());
        Cloud::new(&cfg).expect("client")
    }

    /// Runs a future on the emulator's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The secret key every command here signs with; output must never contain it.
    pub fn secret_key(&self) -> &'static str {
        SK
    }

    pub fn base_url(&self) -> String {
        self.emulator().base_url()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MIGPLAN_SMS_ENDPOINT", self.base_url()),
            ("MIGPLAN_DCS_ENDPOINT", self.base_url()),
            ("HW_ACCESS_KEY", AK.into()),
            ("HW_SECRET_KEY", SK.into()),
            (
                "MIGPLAN_LOCK_DIR",
                self.dir.join("locks").display().to_string(),
            ),
            ("SESSIONS_SOURCE_PASSWORD", "src-pw-e2e".into()),
            ("SESSIONS_TARGET_PASSWORD", "tgt-pw-e2e".into()),
        ]
    }

    /// `migplan` pointed at this emulator.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = migplan();
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }

    /// `apply PLAN --auto-approve --format json` with no rate limit, polling every `poll`,
    /// plus `extra`: how the e2e tests drive an apply.
    pub fn apply_json(&self, plan: &str, poll: &str, extra: &[&str]) -> std::process::Output {
        self.cmd()
            .args(["apply", plan, "--auto-approve", "--format", "json"])
            .args(["--poll-interval", poll, "--rate-limit", "0"])
            .args(extra)
            .output()
            .expect("runs")
    }

    /// The same as a plain process (to spawn and kill).
    pub fn process(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_migplan"));
        c.current_dir(repo_root())
            .env_remove("CI")
            .env("NO_COLOR", "1");
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }

    /// `GET` an admin path, as JSON.
    pub fn admin(&self, path: &str) -> Value {
        let addr = self.emulator().addr();
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read");
        let text = String::from_utf8_lossy(&raw);
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// The ordered request log.
    pub fn requests(&self) -> Vec<Value> {
        self.admin("/_emulator/requests")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The whole world (tasks, sources, DCS tasks with their timelines).
    pub fn state(&self) -> Value {
        self.admin("/_emulator/state")
    }

    /// Request counters.
    pub fn stats(&self) -> Value {
        self.emulator().stats()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// SMS task names and DCS migration task names in the world, with duplicates.
pub fn task_names(state: &Value) -> (Vec<String>, Vec<String>) {
    let names = |key: &str, path: &[&str]| {
        state[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| {
                        let mut v = t;
                        for p in path {
                            v = &v[*p];
                        }
                        v.as_str().map(str::to_owned)
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    (
        names("tasks", &["req", "name"]),
        names("dcs_tasks", &["create", "name"]),
    )
}

/// Parses JSON Lines output.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Output of a finished command for assertion messages.
pub fn show(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The sequence number of the emulator's last logged request (0 before any).
pub fn last_seq(e: &Emulated) -> u64 {
    e.requests()
        .last()
        .and_then(|r| r["seq"].as_u64())
        .unwrap_or(0)
}

/// Writes (non-GET requests) logged after `since`.
pub fn writes_since(e: &Emulated, since: u64) -> Vec<Value> {
    e.requests()
        .into_iter()
        .filter(|r| r["seq"].as_u64().unwrap_or(0) > since && r["method"] != "GET")
        .collect()
}

/// Task actions `op` answered 2xx after `since`.
pub fn sent(e: &Emulated, since: u64, op: &str) -> usize {
    writes_since(e, since)
        .iter()
        .filter(|r| r["operation"] == op && r["status"].as_u64().is_some_and(|s| s < 300))
        .count()
}
