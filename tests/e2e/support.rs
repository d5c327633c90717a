//! A cloud for end-to-end tests: one in-process emulator (real HTTP on a loopback port), seeded
//! with the sources and templates the example plans name, and `migplan` commands pointed at it
//! through the same environment variables a user would set.

use std::path::PathBuf;

use migplan_cloud::{Auth, Cloud, CloudConfig};
use migplan_emulator::{EmulatorConfig, RunningEmulator};

/// Sources and templates every example plan in `plans/` expects to exist, as agents and admins
/// would have registered them. `web-01` of shop-cutover is named by id in the plan.
pub const EXAMPLES_SEED: &str = "\
sources:
  - {name: app-01}
  - {name: db-01}
  - {name: web-01, id: 8c2a4f9e-61b3-4f6d-9d2e-0b7a5c3e1f01}
  - {name: web-02}
  - {name: canary-01}
  - {name: api-01}
  - {name: api-02}
  - {name: api-03}
  - {name: batch-01}
  - {name: batch-02}
  - {name: win-report-01, os_type: WINDOWS}
templates:
  - {name: tpl-app, is_template: true}
  - {name: tpl-web, is_template: true}
  - {name: tpl-standard, is_template: true}
  - {name: tpl-batch, is_template: true}
  - {name: tpl-windows, is_template: true}
";

pub const PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";
const AK: &str = "E2EACCESSKEY";
const SK: &str = "e2e-secret-key-never-printed";

pub struct TestCloud {
    runtime: tokio::runtime::Runtime,
    emulator: Option<RunningEmulator>,
    pub url: String,
    dir: PathBuf,
}

impl TestCloud {
    /// Starts an emulator seeded with `seed` (YAML), running `time_scale` simulated seconds per
    /// real second.
    pub fn start(seed: &str, time_scale: f64) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "migplan-e2e-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let seed_path = dir.join("seed.yaml");
        std::fs::write(&seed_path, seed).expect("seed file");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut cfg = EmulatorConfig::new(AK, SK);
        cfg.time_scale = time_scale;
        cfg.seed = Some(seed_path);
        let emulator = runtime
            .block_on(RunningEmulator::start(cfg))
            .expect("emulator starts");
        let url = emulator.base_url();
        TestCloud {
            runtime,
            emulator: Some(emulator),
            url,
            dir,
        }
    }

    pub fn emulator(&self) -> &RunningEmulator {
        self.emulator.as_ref().expect("running")
    }

    /// A client of the emulator, for preparing and inspecting state.
    pub fn cloud(&self) -> Cloud {
        let cfg = CloudConfig::local(&self.url, Auth::aksk(AK, SK))
            .expect("config")
            .with_project_id(PROJECT_ID);
        Cloud::new(&cfg).expect("client")
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// `migplan` pointed at this emulator, as a user points it at a cloud.
    pub fn migplan(&self) -> assert_cmd::Command {
        let mut cmd = crate::migplan();
        cmd.env("MIGPLAN_SMS_ENDPOINT", &self.url)
            .env("MIGPLAN_DCS_ENDPOINT", &self.url)
            .env("HW_ACCESS_KEY", AK)
            .env("HW_SECRET_KEY", SK)
            .env_remove("CLOUD_SDK_AK")
            .env_remove("CLOUD_SDK_SK")
            .env_remove("MIGPLAN_AUTH_TOKEN");
        cmd
    }

    /// GET an admin endpoint (`/_emulator/...`, plain HTTP on loopback) and parse its JSON.
    pub fn admin_get(&self, path: &str) -> serde_json::Value {
        use std::io::{Read, Write};
        let addr = self.emulator().addr();
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        serde_json::from_str(&body).expect("JSON body")
    }

    /// The secret key every command here uses; tests check it never appears in output.
    pub fn secret_key() -> &'static str {
        SK
    }
}

impl Drop for TestCloud {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.runtime.block_on(e.shutdown());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Replaces what changes from run to run (addresses, generated ids, digests over them) with
/// stable placeholders.
pub fn stable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // 127.0.0.1:PORT
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i]);
        out.push_str("[ADDR]");
        rest = rest[i + "127.0.0.1:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    replace_digests(&replace_uuids(&out))
}

/// 64-hex sha256 digests (fingerprints cover emulator-generated ids).
fn replace_digests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_hexdigit() && c.is_ascii_digit() || ('a'..='f').contains(&c) {
            run.push(c);
            continue;
        }
        if run.len() == 64 {
            out.push_str("[SHA256]");
        } else {
            out.push_str(&run);
        }
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

fn replace_uuids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text.get(i..i + 36).is_some_and(is_uuid) {
            out.push_str("[ID]");
            i += 36;
        } else {
            let c = text[i..].chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}
