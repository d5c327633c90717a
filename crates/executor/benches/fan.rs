//! Apply of a fan of identical servers (200 by default, each from nothing to `cutover`, no
//! dependencies) against the in-process emulator over HTTP, with the real executor (figures
//! only, no pass/fail):
//!
//! 1. one server alone: its wall time, and its writes (POST/PUT/DELETE requests);
//! 2. the fan behind a gateway admitting 50 requests/s per service (`--fault ratelimit=50`) at
//!    the default pace (adaptive, ceiling 100/s): wall time in emulator-clock and real seconds
//!    beside the bound 1.15 × (the fan's writes at 50/s + one server's time), requests, 429s
//!    and their share;
//!    and, for scale, the same at a fixed 48/s: a pace that knows the limit (an oracle);
//! 3. the fan without throttling, at the default pace and at the old fixed 20/s (the ceiling
//!    and the start both 20), beside 1.15 × one server's time + the fan's writes at the
//!    ceiling (100/s, 20/s).
//!
//! The plan declares an SMS quota of the fan's size, so every copy may run at once (the
//! emulator enforces none here): what is measured is the request pace.
//!
//! Real time is what the bounds use (the gateway counts requests per real second); emulator
//! seconds are real seconds × the time scale. Polls every 200 ms (as `--local`), parallelism =
//! servers. `FAN_SERVERS` and `FAN_TIME_SCALE` (default 20) change the fan and the clock;
//! `FAN_LOG=FILE` writes each run's emulator request log to `FILE.<servers>.<faults>`.
//!
//! Run: `cargo bench -p migplan-executor --bench fan`.
#![allow(clippy::print_stdout)] // a bench prints its figures

use std::sync::Arc;
use std::time::{Duration, Instant};

use migplan_cloud::{Auth, Cloud, CloudConfig};
use migplan_emulator::{EmulatorConfig, RunningEmulator};
use migplan_executor::{Apply, ApplyOptions, Interrupt, NullSink, RateSummary, RunStatus};
use migplan_planner::{LiveSnapshot, PlanOptions};
use migplan_wire::sms::{ListSourcesQuery, ListTasksQuery, ListTemplatesQuery, Template};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

/// What one apply measured.
struct Measured {
    status: RunStatus,
    real: f64,
    virtual_secs: f64,
    /// POST/PUT/DELETE requests the emulator answered during the run.
    writes: u64,
    /// Requests the emulator answered during the run, and how many of them were rate limited.
    emu_requests: u64,
    emu_429: u64,
    rates: Vec<RateSummary>,
}

fn counter(stats: &serde_json::Value, path: &[&str]) -> u64 {
    path.iter().fold(stats, |v, k| &v[*k]).as_u64().unwrap_or(0)
}

fn writes(stats: &serde_json::Value) -> u64 {
    stats["by_route"].as_object().map_or(0, |routes| {
        routes
            .iter()
            .filter(|(k, _)| !k.starts_with("GET "))
            .filter_map(|(_, v)| v.as_u64())
            .sum()
    })
}

async fn live(cloud: &Cloud) -> LiveSnapshot {
    let (qs, qt, ql) = (
        ListSourcesQuery::default(),
        ListTasksQuery::default(),
        ListTemplatesQuery::default(),
    );
    let (sources, tasks, templates, migrations) = tokio::try_join!(
        cloud.sms().list_all_sources(&qs),
        cloud.sms().list_all_tasks(&qt),
        cloud.sms().list_all_templates(&ql),
        cloud.dcs().list_all_tasks(None),
    )
    .expect("snapshot");
    LiveSnapshot {
        sources,
        tasks,
        templates,
        migrations,
    }
}

/// Applies a fan of `n` servers to `cutover` under `faults`, pacing at `start` up to `ceiling`.
async fn fan(n: usize, scale: f64, faults: &str, ceiling: f64, start: f64) -> Measured {
    let mut cfg = EmulatorConfig::new("AK", "SK");
    cfg.time_scale = scale;
    cfg.faults = faults.parse().expect("faults");
    let emu = RunningEmulator::start(cfg).await.expect("emulator");
    // The fan measures the request pace: the plan declares an SMS quota that admits every
    // copy at once (the default 100 would run the fan in two generations of copies, which
    // the forecast bench measures instead).
    let mut yaml = format!(
        "version: 1\nname: fan\ncloud: {{region: ap-southeast-3, project_id: {PROJECT}, quotas: {{sms_concurrent_migrations: {n}}}}}\nservers:\n"
    );
    for i in 0..n {
        let name = format!("srv-{i:03}");
        emu.register_source_named(&name).expect("source");
        yaml.push_str(&format!(
            "  - {{name: {name}, target: {{template: tpl}}, stage: cutover}}\n"
        ));
    }
    let spec = migplan_parser::parse("fan.yaml", &yaml)
        .expect("valid")
        .spec;
    let ccfg = CloudConfig::local(&emu.base_url(), Auth::aksk("AK", "SK"))
        .expect("config")
        .with_project_id(PROJECT);
    let cloud = Cloud::new(&ccfg).expect("cloud");
    let tpl = Template {
        name: "tpl".into(),
        is_template: Some(true),
        ..Template::default()
    };
    cloud.sms().create_template(&tpl).await.expect("template");
    let live = live(&cloud).await;
    let plan = migplan_planner::plan(&spec, &live, &PlanOptions::default()).expect("plan");
    let options = ApplyOptions {
        parallelism: n,
        poll_interval: Duration::from_millis(200),
        requests_per_second: ceiling,
        start_requests_per_second: start,
        ..ApplyOptions::default()
    };
    let before = emu.stats();
    let (v0, t0) = (emu.now_ms(), Instant::now());
    let summary = Apply {
        cloud: &cloud,
        spec: &spec,
        plan: &plan,
        live: &live,
        options: &options,
        secrets: Arc::new(|_| None),
    }
    .run(&NullSink, &Interrupt::default())
    .await
    .expect("runs");
    let real = t0.elapsed().as_secs_f64();
    let virtual_secs = (emu.now_ms() - v0) as f64 / 1000.0;
    let after = emu.stats();
    if let Ok(path) = std::env::var("FAN_LOG") {
        // The emulator's request log of the run, for a closer look (`FAN_LOG=FILE`).
        let url = format!("{}/_emulator/requests", emu.base_url());
        if let Ok(r) = reqwest::get(url).await
            && let Ok(text) = r.text().await
        {
            let _ = std::fs::write(format!("{path}.{n}.{}", faults.replace('=', "")), text);
        }
    }
    let _ = emu.shutdown().await;
    Measured {
        status: summary.status,
        real,
        virtual_secs,
        writes: writes(&after) - writes(&before),
        emu_requests: counter(&after, &["requests_total"]) - counter(&before, &["requests_total"]),
        emu_429: counter(&after, &["faults", "ratelimit"])
            - counter(&before, &["faults", "ratelimit"]),
        rates: summary.rates,
    }
}

fn pace(m: &Measured) -> String {
    m.rates
        .iter()
        .map(|r| {
            format!(
                "{} {} requests, {} throttled ({:.2}%), rate {:.1}/s at the end, peak {:.1}, lowest {:.1}",
                r.service,
                r.requests,
                r.throttled,
                100.0 * r.throttled as f64 / r.requests.max(1) as f64,
                r.rate,
                r.peak_rate,
                r.min_rate
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn row(name: &str, m: &Measured, bound: f64) {
    println!(
        "{name:<34} {:>9.1} {:>9.1} {:>9.1} {:>6.3} {:>8} {:>6} {:>7.2}%  {:?}",
        m.real,
        m.virtual_secs,
        bound,
        m.real / bound,
        m.emu_requests,
        m.emu_429,
        100.0 * m.emu_429 as f64 / m.emu_requests.max(1) as f64,
        m.status
    );
    println!("{:<34} {}", "", pace(m));
}

fn main() {
    let n: usize = std::env::var("FAN_SERVERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let scale: f64 = std::env::var("FAN_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let one = rt.block_on(fan(1, scale, "", 100.0, 10.0));
    let w = one.writes as f64;
    println!(
        "## Fan of {n} servers to cutover (emulator ×{scale} time, polls every 200 ms, parallelism {n})"
    );
    println!(
        "one server alone: {:.1} s real, {:.0} s emulator, {} writes, {} requests ({:?})",
        one.real, one.virtual_secs, one.writes, one.emu_requests, one.status
    );
    println!();
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>6} {:>8} {:>6} {:>8}  status",
        "run", "real s", "emu s", "bound s", "/bound", "requests", "429s", "share"
    );
    let throttled = rt.block_on(fan(n, scale, "ratelimit=50", 100.0, 10.0));
    row(
        "ratelimit=50, default pace",
        &throttled,
        1.15 * (n as f64 * w / 50.0 + one.real),
    );
    let oracle = rt.block_on(fan(n, scale, "ratelimit=50", 48.0, 48.0));
    row(
        "ratelimit=50, fixed 48/s (oracle)",
        &oracle,
        1.15 * (n as f64 * w / 50.0 + one.real),
    );
    let adaptive = rt.block_on(fan(n, scale, "", 100.0, 10.0));
    row(
        "no throttling, default pace",
        &adaptive,
        1.15 * one.real + n as f64 * w / 100.0,
    );
    let fixed = rt.block_on(fan(n, scale, "", 20.0, 20.0));
    row(
        "no throttling, fixed 20/s (old)",
        &fixed,
        1.15 * one.real + n as f64 * w / 20.0,
    );
    println!();
    println!(
        "bounds: throttled 1.15 × (one server's real time + {n} × {} writes at 50/s); unthrottled 1.15 × one server's real time + the writes at the ceiling (100/s default, 20/s old);",
        one.writes
    );
    println!(
        "requests and 429s are the emulator's own counts during the apply (all requests, reads included); the pace lines are the run's."
    );
}
