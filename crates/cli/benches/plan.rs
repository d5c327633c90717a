//! `migplan plan` at fleet scale: a generated plan of 10,000 servers and 2,000 Redis migrations
//! against an emulator holding the matching live state (one SMS task per server, one DCS
//! migration task per Redis entry). Runs the real release binary with `--timings` and prints the
//! total time split into parse, refresh, plan and render, its peak memory, and the API requests
//! per list beside the minimum ceil(N / page size), without the forecast (`--no-forecast`);
//! then once with it (one source detail per server still to copy, and the simulation).
//!
//! Run: `cargo bench -p migplan-cli --bench plan` (figures only, no pass/fail).
#![allow(clippy::print_stdout)] // a bench prints its figures

use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;

use migplan_cloud::{Auth, Cloud, CloudConfig};
use migplan_emulator::{EmulatorConfig, RunningEmulator};
use migplan_wire::dcs::CreateOnlineTaskRequest;
use migplan_wire::sms::{
    CreateTaskRequest, ListSourcesQuery, ListTemplatesQuery, OsType, SourceServerRef,
    TargetServerSpec, TaskType,
};

const SERVERS: usize = 10_000;
const REDIS: usize = 2_000;
const WAVES: usize = 10;
const RUNS: usize = 3;
const AK: &str = "BENCHAK";
const SK: &str = "bench-secret";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";

fn main() {
    let dir = std::env::temp_dir().join(format!("migplan-plan-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plan_path = dir.join("fleet.yaml");
    std::fs::write(
        &plan_path,
        migplan_parser::generate::fleet_plan(SERVERS, REDIS, WAVES),
    )
    .expect("plan file");
    let mut seed = String::from("sources:\n");
    for i in 0..SERVERS {
        let _ = writeln!(seed, "  - {{name: srv-{i:05}}}");
    }
    seed.push_str("templates:\n  - {name: tpl-standard, is_template: true}\n");
    let seed_path = dir.join("seed.yaml");
    std::fs::write(&seed_path, seed).expect("seed file");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut cfg = EmulatorConfig::new(AK, SK);
    cfg.time_scale = 1e-9; // the live state stands still while we measure
    cfg.seed = Some(seed_path);
    let emulator = runtime
        .block_on(RunningEmulator::start(cfg))
        .expect("emulator");
    let url = emulator.base_url();
    let cloud = Arc::new(
        Cloud::new(
            &CloudConfig::local(&url, Auth::aksk(AK, SK))
                .expect("config")
                .with_project_id(PROJECT),
        )
        .expect("client"),
    );
    let prepared = std::time::Instant::now();
    runtime.block_on(populate(Arc::clone(&cloud)));
    println!(
        "live state: {SERVERS} SMS tasks and {REDIS} DCS migration tasks created in {:.1} s",
        prepared.elapsed().as_secs_f64()
    );

    for format in ["json", "human"] {
        let t = best_run(&plan_path, &url, format, &["--no-forecast"]);
        report(&t, format);
    }
    // The forecast: one source detail per server still to copy, and the simulation.
    let t = best_run(&plan_path, &url, "json", &[]);
    println!(
        "plan --format json with the forecast: total {:.1} ms (refresh {:.1} ms with {} source details, plan + forecast {:.1} ms)",
        t["total_ms"].as_f64().unwrap_or(f64::NAN),
        t["refresh_ms"].as_f64().unwrap_or(f64::NAN),
        t["api_calls"]["SMS GET /v3/sources/{source_id}"]
            .as_u64()
            .unwrap_or(0),
        t["plan_ms"].as_f64().unwrap_or(f64::NAN),
    );
    runtime
        .block_on(async { emulator.shutdown().await })
        .expect("shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `migplan plan --timings` (with `extra` flags) RUNS times and keeps the fastest run's
/// figures.
fn best_run(
    plan_path: &std::path::Path,
    url: &str,
    format: &str,
    extra: &[&str],
) -> serde_json::Value {
    let mut best: Option<serde_json::Value> = None;
    for _ in 0..RUNS {
        let out = Command::new(env!("CARGO_BIN_EXE_migplan"))
            .args(["plan", "--timings", "--format", format])
            .args(extra)
            .arg(plan_path)
            .env("MIGPLAN_SMS_ENDPOINT", url)
            .env("MIGPLAN_DCS_ENDPOINT", url)
            .env("HW_ACCESS_KEY", AK)
            .env("HW_SECRET_KEY", SK)
            .output()
            .expect("migplan runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let line = stderr
            .lines()
            .find_map(|l| l.strip_prefix("timings: "))
            .expect("a timings line");
        let mut t: serde_json::Value = serde_json::from_str(line).expect("timings JSON");
        t["output_mib"] = serde_json::json!(out.stdout.len() as f64 / 1048576.0);
        let better = best
            .as_ref()
            .is_none_or(|b| t["total_ms"].as_f64() < b["total_ms"].as_f64());
        if better {
            best = Some(t);
        }
    }
    best.expect("at least one run")
}

fn report(t: &serde_json::Value, format: &str) {
    println!(
        "plan --format {format} of {SERVERS} servers + {REDIS} redis (best of {RUNS} runs of the release binary, {:.1} MiB of output):",
        t["output_mib"].as_f64().unwrap_or(f64::NAN)
    );
    for k in ["parse_ms", "refresh_ms", "plan_ms", "render_ms", "total_ms"] {
        println!("  {k:<11} {:>8.1}", t[k].as_f64().unwrap_or(f64::NAN));
    }
    let rss = t["peak_rss_mib"].as_f64().unwrap_or(f64::NAN);
    println!(
        "  peak RSS    {rss:>8.1} MiB = {:.0} MB   (target < 300 MB)",
        rss * 1.048576
    );
    println!("  total target < 2000 ms");
    println!("API requests per list during refresh (minimum = ceil(N / page)):");
    let pages = [
        (
            "SMS GET /v3/sources",
            SERVERS,
            migplan_cloud::SMS_SOURCES_MAX_LIMIT,
        ),
        (
            "SMS GET /v3/tasks",
            SERVERS,
            migplan_cloud::SMS_TASKS_MAX_LIMIT,
        ),
        (
            "SMS GET /v3/vm/templates",
            1,
            migplan_cloud::SMS_TEMPLATES_MAX_LIMIT,
        ),
        (
            "DCS GET /v2/{project_id}/migration-tasks",
            REDIS,
            migplan_cloud::DCS_TASKS_MAX_LIMIT,
        ),
    ];
    for (route, n, page) in pages {
        let got = t["api_calls"][route].as_u64().unwrap_or(0);
        println!(
            "  {route:<45} {got:>4}   minimum {:>4}",
            n.div_ceil(page as usize)
        );
    }
}

/// One SMS task per server and one DCS migration per Redis entry, 64 requests in flight.
async fn populate(cloud: Arc<Cloud>) {
    let sources = cloud
        .sms()
        .list_all_sources(&ListSourcesQuery::default())
        .await
        .expect("sources");
    let templates = cloud
        .sms()
        .list_all_templates(&ListTemplatesQuery::default())
        .await
        .expect("templates");
    let tpl = templates[0].id.clone();
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let mut jobs = tokio::task::JoinSet::new();
    for s in sources {
        let (cloud, gate, tpl) = (Arc::clone(&cloud), Arc::clone(&gate), tpl.clone());
        jobs.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore");
            let name = s.name.clone().unwrap_or_default();
            let db = name.ends_with('0');
            let req = CreateTaskRequest {
                name: name.clone(),
                task_type: TaskType::MigrateBlock,
                os_type: Some(OsType::Linux),
                source_server: SourceServerRef { id: s.id },
                target_server: TargetServerSpec {
                    name,
                    ..TargetServerSpec::default()
                },
                region_name: "ap-southeast-3".into(),
                region_id: "ap-southeast-3".into(),
                project_name: "ap-southeast-3".into(),
                project_id: PROJECT.into(),
                vm_template_id: tpl,
                speed_limit: Some(if db { 500 } else { 200 }),
                syncing: Some(db),
                ..CreateTaskRequest::default()
            };
            cloud.sms().create_task(&req).await.expect("task");
        });
    }
    for i in 0..REDIS {
        let (cloud, gate) = (Arc::clone(&cloud), Arc::clone(&gate));
        jobs.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore");
            let req = CreateOnlineTaskRequest {
                name: format!("cache-{i:05}"),
                description: None,
                vpc_id: "vpc-1".into(),
                subnet_id: "subnet-1".into(),
                security_group_id: "sg-1".into(),
            };
            cloud
                .dcs()
                .create_online_task(&req)
                .await
                .expect("migration");
        });
    }
    while let Some(r) = jobs.join_next().await {
        r.expect("join");
    }
}
