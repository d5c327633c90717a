//! Test harness: start an emulator on a frozen clock and talk to it with signed requests.

use migplan_emulator::{EmulatorConfig, RunningEmulator};
use migplan_wire::signing::{self, SigningRequest};
use serde_json::Value;
use std::time::Duration;

pub const AK: &str = "test-ak";
pub const SK: &str = "test-sk-never-printed";
pub const PROJECT: &str = "0123456789abcdef0123456789abcdef";

/// A config with a frozen clock (time moves only through `advance`).
pub fn config() -> EmulatorConfig {
    let mut cfg = EmulatorConfig::new(AK, SK);
    cfg.time_scale = 0.0;
    cfg
}

pub async fn start(cfg: EmulatorConfig) -> (RunningEmulator, Client) {
    let emu = RunningEmulator::start(cfg).await.expect("emulator starts");
    let client = Client::new(&emu.base_url());
    (emu, client)
}

pub async fn start_default() -> (RunningEmulator, Client) {
    start(config()).await
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub request_id: Option<String>,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "unexpected answer: {:?}", self.body);
        self.body
    }

    #[track_caller]
    pub fn err(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "unexpected answer: {:?}",
            self.body
        );
    }
}

/// The body shape an error must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"error_code","error_msg"}`.
    Sms,
    /// `{"error_msg","error_code","error_ext_msg":null}`.
    Dcs,
    /// `{"error_msg","error_code","request_id"}` with the header's request id.
    Apig,
    /// `{"error_code","error_msg"}` (admin endpoints).
    Admin,
}

impl Answer {
    /// Asserts a JSON error answer: status, code, `Content-Type`, `X-Request-Id`, exactly the
    /// keys of `shape` and a non-empty message, which it returns.
    #[track_caller]
    pub fn json_error(&self, status: u16, code: &str, shape: Shape) -> String {
        self.err(status, code);
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            ct.starts_with("application/json"),
            "content-type {ct:?} for {:?}",
            self.body
        );
        let request_id = self.request_id.as_deref().expect("X-Request-Id header");
        let obj = self.body.as_object().expect("a JSON object body");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let expected: &[&str] = match shape {
            Shape::Sms | Shape::Admin => &["error_code", "error_msg"],
            Shape::Dcs => &["error_code", "error_ext_msg", "error_msg"],
            Shape::Apig => &["error_code", "error_msg", "request_id"],
        };
        assert_eq!(keys, expected, "{:?}", self.body);
        match shape {
            Shape::Dcs => assert!(obj["error_ext_msg"].is_null(), "{:?}", self.body),
            Shape::Apig => assert_eq!(obj["request_id"].as_str(), Some(request_id)),
            _ => {}
        }
        let msg = obj["error_msg"].as_str().expect("error_msg string");
        assert!(!msg.trim().is_empty(), "empty message: {:?}", self.body);
        msg.to_owned()
    }
}

/// A request about to be signed; tests may tamper with it between signing and sending.
pub struct Prepared {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    host: String,
    pub http: reqwest::Client,
    pub ak: String,
    pub sk: String,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("reqwest client");
        Client {
            base: base.to_owned(),
            host: base.trim_start_matches("http://").to_owned(),
            http,
            ak: AK.into(),
            sk: SK.into(),
        }
    }

    pub fn with_sk(&self, sk: &str) -> Self {
        Client {
            sk: sk.to_owned(),
            ..self.clone()
        }
    }

    /// Signs like the Go SDK (Host + X-Sdk-Date + X-Project-Id for DCS paths; Content-Type unsigned).
    pub fn prepare(&self, method: &str, path_and_query: &str, body: Option<&Value>) -> Prepared {
        self.prepare_at(method, path_and_query, body, &signing::sdk_date_now())
    }

    pub fn prepare_at(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&Value>,
        date: &str,
    ) -> Prepared {
        let body = body
            .map(|b| serde_json::to_vec(b).expect("json"))
            .unwrap_or_default();
        self.prepare_bytes_at(method, path_and_query, body, date)
    }

    /// Signs any body bytes (not necessarily JSON).
    pub fn prepare_bytes(&self, method: &str, path_and_query: &str, body: Vec<u8>) -> Prepared {
        self.prepare_bytes_at(method, path_and_query, body, &signing::sdk_date_now())
    }

    fn prepare_bytes_at(
        &self,
        method: &str,
        path_and_query: &str,
        body: Vec<u8>,
        date: &str,
    ) -> Prepared {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut headers = vec![
            ("Host".to_string(), self.host.clone()),
            ("X-Sdk-Date".to_string(), date.to_string()),
            ("Content-Type".to_string(), "application/json".to_string()),
        ];
        if path.starts_with("/v2/") {
            headers.push(("X-Project-Id".into(), PROJECT.into()));
        }
        let pairs = signing::parse_query(query);
        // Like the Python SDK: sign the decoded path (`%2F` is a `/`, `%FF` a U+FFFD).
        let decoded = signing::decode_path(path);
        let auth = {
            let req = SigningRequest {
                method,
                path: &decoded,
                query: &pairs,
                headers: &headers,
                body: &body,
            };
            signing::sign(&self.ak, &self.sk, &req, date)
        };
        headers.push(("Authorization".into(), auth));
        Prepared {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            body,
            headers,
        }
    }

    pub async fn send_prepared(&self, p: Prepared) -> Result<Answer, reqwest::Error> {
        let url = if p.query.is_empty() {
            format!("{}{}", self.base, p.path)
        } else {
            format!("{}{}?{}", self.base, p.path, p.query)
        };
        let method = reqwest::Method::from_bytes(p.method.as_bytes()).expect("method");
        let mut rb = self.http.request(method, url).body(p.body);
        for (k, v) in &p.headers {
            if !k.eq_ignore_ascii_case("host") {
                rb = rb.header(k, v);
            }
        }
        answer(rb.send().await?).await
    }

    /// An unsigned request with any body and headers (admin endpoints, auth-less probes).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        answer(rb.send().await.expect("request succeeds at the HTTP level"))
            .await
            .expect("body")
    }

    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, reqwest::Error> {
        self.send_prepared(self.prepare(method, path, body.as_ref()))
            .await
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.try_call(method, path, body)
            .await
            .expect("request succeeds at the HTTP level")
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call("POST", path, Some(body)).await
    }

    /// Unsigned request to an admin endpoint.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("admin request");
        assert!(
            resp.status().is_success(),
            "admin {path}: {}",
            resp.status()
        );
        resp.json().await.expect("admin json")
    }

    // ---- SMS helpers ----------------------------------------------------------------------

    pub async fn register(&self, name: &str, used_gib: i64) -> String {
        let gib = 1i64 << 30;
        let body = serde_json::json!({
            "name": name, "os_type": "LINUX", "os_version": "CENTOS7.9", "agent_version": "25.3.0",
            "networks": [{"name": "eth0", "ip": "10.1.0.5"}],
            "disks": [{"name": "/dev/vda", "size": 2 * used_gib * gib, "used_size": used_gib * gib, "device_use": "BOOT", "physical_volumes": []}]
        });
        self.post("/v3/sources", body).await.ok()["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    pub async fn create_task(&self, name: &str, source: &str, extra: Value) -> String {
        let mut body = serde_json::json!({
            "name": name, "type": "MIGRATE_BLOCK", "os_type": "LINUX",
            "source_server": {"id": source}, "target_server": {"name": format!("{name}-t"), "vm_id": ""},
            "region_name": "ap-southeast-3", "region_id": "ap-southeast-3", "project_name": "ap-southeast-3", "project_id": PROJECT
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post("/v3/tasks", body).await.ok()["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    pub async fn action(&self, task: &str, op: &str) -> Answer {
        self.post(
            &format!("/v3/tasks/{task}/action"),
            serde_json::json!({"operation": op}),
        )
        .await
    }

    pub async fn task(&self, id: &str) -> Value {
        self.get(&format!("/v3/tasks/{id}")).await.ok()
    }

    pub async fn task_state(&self, id: &str) -> String {
        self.task(id).await["state"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub async fn source(&self, id: &str) -> Value {
        self.get(&format!("/v3/sources/{id}")).await.ok()
    }

    pub async fn source_state(&self, id: &str) -> (String, String) {
        let s = self.source(id).await;
        (
            s["state"].as_str().unwrap_or("").to_owned(),
            s["migration_cycle"].as_str().unwrap_or("").to_owned(),
        )
    }
}

async fn answer(resp: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.text().await?;
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(Answer {
        status,
        body,
        request_id,
        headers,
    })
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
