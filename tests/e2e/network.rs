//! Network failures, on loopback only: an endpoint that never answers (the request timeout),
//! one that never completes a connection (the connect timeout), retries shown as they happen,
//! and a plan that does not use a service never contacting it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::emulated::{Setup, json_lines, scratch_dir, show};
use crate::migplan;

/// Generous: the command must end; how fast is not measured here.
const ENDS_WITHIN: Duration = Duration::from_secs(120);

/// Credentials for commands that talk to an endpoint that is not the emulator.
fn cloud_cmd() -> assert_cmd::Command {
    let mut c = migplan();
    c.env("HW_ACCESS_KEY", "NETTESTAK")
        .env("HW_SECRET_KEY", "net-test-sk")
        .env_remove("MIGPLAN_SMS_ENDPOINT")
        .env_remove("MIGPLAN_DCS_ENDPOINT")
        .timeout(ENDS_WITHIN);
    c
}

/// A loopback listener that accepts every connection and never answers.
fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    addr
}

/// Stderr with its lines joined: the error report wraps long lines.
fn joined_stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Without any whitespace: the report may also wrap at a hyphen (`--connect-` / `timeout`).
fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A loopback port nothing listens on.
fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    addr
}

#[test]
fn an_endpoint_that_never_answers_fails_naming_it_and_the_timeout() {
    let addr = silent_server();
    let endpoint = format!("http://{addr}");
    let out = cloud_cmd()
        .args(["plan", "plans/quickstart.yaml", "--request-timeout", "1s"])
        .args(["--sms-endpoint", &endpoint, "--dcs-endpoint", &endpoint])
        .output()
        .expect("ends");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = joined_stderr(&out);
    assert!(err.contains(&addr.to_string()), "names the endpoint: {err}");
    assert!(
        err.contains("no answer within 1.0 s, the request timeout")
            && compact(&err).contains("raise--request-timeout"),
        "names the timeout and the flag: {err}"
    );
    // Each retry was shown as it happened.
    assert!(
        err.contains("retrying GET /v3/") && err.contains("after no answer within 1.0 s"),
        "{err}"
    );
}

#[test]
fn timeouts_are_range_checked_usage_errors() {
    for (flag, value) in [
        ("--request-timeout", "0s"),
        ("--request-timeout", "2h"),
        ("--connect-timeout", "soon"),
    ] {
        let out = cloud_cmd()
            .args(["plan", "plans/quickstart.yaml", flag, value])
            .output()
            .expect("ends");
        assert_eq!(out.status.code(), Some(1), "{flag} {value}: {}", show(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{err}");
    }
    // The environment variable is checked the same way.
    let out = cloud_cmd()
        .env("MIGPLAN_REQUEST_TIMEOUT", "0")
        .args(["plan", "plans/quickstart.yaml"])
        .output()
        .expect("ends");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}

/// A listener whose accept queue is full, so a new connection is never completed (Linux drops
/// the SYN): the connect timeout's case. `None` when the kernel completes them anyway.
fn full_backlog() -> Option<(SocketAddr, TcpListener, Vec<TcpStream>)> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut held = Vec::new();
    for _ in 0..4096 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => held.push(s),
            Err(_) => return Some((addr, listener, held)),
        }
    }
    None
}

#[test]
fn an_endpoint_that_never_completes_a_connection_fails_naming_the_connect_timeout() {
    let Some((addr, _listener, _held)) = full_backlog() else {
        panic!("could not fill a loopback accept queue here: no connection ever stalled");
    };
    let endpoint = format!("http://{addr}");
    let out = cloud_cmd()
        .args(["plan", "plans/quickstart.yaml", "--connect-timeout", "1s"])
        .args(["--sms-endpoint", &endpoint, "--dcs-endpoint", &endpoint])
        .output()
        .expect("ends");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = joined_stderr(&out);
    assert!(err.contains(&addr.to_string()), "names the endpoint: {err}");
    assert!(
        err.contains("no connection within 1.0 s, the connect timeout")
            && compact(&err).contains("raise--connect-timeout"),
        "names the timeout and the flag: {err}"
    );
}

/// A redis-only plan (the quickstart's project), written to `dir`.
fn redis_only_plan(dir: &std::path::Path) -> String {
    let plan = dir.join("cache.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: cache\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
         redis:\n  - name: cache\n    method: full\n    network: {vpc_id: v, subnet_id: s, security_group_id: g}\n\
         \x20   source: {addrs: \"10.0.0.1:6379\"}\n\
         \x20   target: {instance_id: cf4a05df-1c38-47c5-bb5a-0a7b3673b3bd}\n\
         \x20   stage: created\n",
    )
    .expect("plan");
    plan.display().to_string()
}

#[test]
fn a_plan_only_contacts_the_services_it_uses() {
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    let closed = format!("http://{}", closed_port());
    // Servers only: DCS is unreachable and never asked, for plan, apply and status.
    for args in [
        vec!["plan", "plans/quickstart.yaml"],
        vec![
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--poll-interval",
            "50ms",
        ],
        vec!["status", "plans/quickstart.yaml"],
    ] {
        let out = e
            .cmd()
            .args(&args)
            .args(["--dcs-endpoint", &closed])
            .timeout(ENDS_WITHIN)
            .output()
            .expect("ends");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
    }
    // Redis only: SMS is unreachable and never asked.
    let dir = scratch_dir("redis-only");
    let plan = redis_only_plan(&dir);
    for args in [
        vec!["plan", plan.as_str()],
        vec![
            "apply",
            plan.as_str(),
            "--auto-approve",
            "--poll-interval",
            "50ms",
        ],
        vec!["status", plan.as_str()],
    ] {
        let out = e
            .cmd()
            .args(&args)
            .args(["--sms-endpoint", &closed])
            .timeout(ENDS_WITHIN)
            .output()
            .expect("ends");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
    }
    // With both endpoints on the emulator, neither plan asked the other service anything.
    let log = e.requests();
    let sms = log
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v3/")))
        .count();
    let dcs = log
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v2/")))
        .count();
    assert!(sms > 0 && dcs > 0, "both plans ran: {log:?}");
    let out = e
        .cmd()
        .args(["plan", "plans/quickstart.yaml"])
        .output()
        .expect("ends");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let after = e.requests();
    assert!(
        after[log.len()..]
            .iter()
            .all(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v3/"))),
        "a servers-only plan sent a DCS request: {:?}",
        &after[log.len()..]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn retries_are_shown_as_they_happen() {
    // Every API request answers 500 APIG.0201: each read is retried until it gives up.
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .faults("error=1")
        .start();
    let out = e
        .cmd()
        .args(["plan", "plans/quickstart.yaml"])
        .timeout(ENDS_WITHIN)
        .output()
        .expect("ends");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    // The lists are read concurrently and the first to give up ends the read, so which one
    // gets to its last attempt varies: every retry of the one that gave up was shown.
    let gave_up = err
        .split("SMS GET ")
        .nth(1)
        .and_then(|rest| rest.split_once(" failed after 4 retries"))
        .map(|(path, _)| path.to_owned())
        .unwrap_or_else(|| panic!("no list gave up after 4 retries: {err}"));
    for attempt in 2..=5 {
        assert!(
            err.contains(&format!(
                "retrying GET {gave_up} (attempt {attempt} of 5, after 500 Internal Server Error (APIG.0201); waiting "
            )),
            "{err}"
        );
    }
    // apply --format json: retries are events among the others, on stdout.
    let out = e.apply_json("plans/quickstart.yaml", "50ms", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let retried: Vec<_> = json_lines(&out.stdout)
        .into_iter()
        .filter(|ev| ev["type"] == "request_retried")
        .collect();
    assert!(!retried.is_empty(), "{}", show(&out));
    let ev = &retried[0];
    assert_eq!(ev["method"], "GET", "{ev}");
    assert_eq!(ev["max_attempts"], 5, "{ev}");
    assert!(
        ev["after"].as_str().is_some_and(|a| a.starts_with("500 ")),
        "{ev}"
    );
    assert!(
        ev["wait_seconds"].as_f64().is_some() && ev["time"].is_string(),
        "{ev}"
    );
}
