//! How many signed list calls per second the in-process emulator serves to this
//! client, with p50/p99 latency.
//!
//! ```text
//! cargo run --release -p migplan-cloud --example emulator_throughput [-- WORKERS SECONDS]
//! ```
//!
//! Defaults: 16 workers, 5 s per scenario. Each scenario first runs one worker
//! (latency without contention), then WORKERS concurrent workers (throughput).
//! Client and emulator share one tokio runtime on this machine, so the figure is
//! a lower bound on the emulator's capacity and an upper bound on what the
//! signing client costs. Not a test: nothing is asserted.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use migplan_cloud::wire::sms::{ListSourcesQuery, ListTasksQuery};
use migplan_cloud::{Auth, Cloud, CloudConfig, RetryPolicy};
use migplan_emulator::{EmulatorConfig, RunningEmulator};

const AK: &str = "AK-BENCH";
const SK: &str = "SK-BENCH";

#[derive(Clone, Copy)]
enum Scenario {
    SmsSources,
    SmsTasks,
    DcsTasks,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::SmsSources => "SMS GET /v3/sources (50 items/page)",
            Scenario::SmsTasks => "SMS GET /v3/tasks (50 items/page)",
            Scenario::DcsTasks => "DCS GET /v2/{project}/migration-tasks (20 items/page)",
        }
    }

    async fn call(self, cloud: &Cloud) -> Result<usize, migplan_cloud::Error> {
        match self {
            Scenario::SmsSources => {
                let page = cloud
                    .sms()
                    .list_sources_page(&ListSourcesQuery::default(), 0, 50)
                    .await?;
                Ok(page.items.len())
            }
            Scenario::SmsTasks => {
                let page = cloud
                    .sms()
                    .list_tasks_page(&ListTasksQuery::default(), 0, 50)
                    .await?;
                Ok(page.items.len())
            }
            Scenario::DcsTasks => Ok(cloud.dcs().list_tasks_page(None, 0, 20).await?.items.len()),
        }
    }
}

struct Run {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn run(
    cloud: &Cloud,
    scenario: Scenario,
    workers: usize,
    seconds: f64,
) -> Result<Run, migplan_cloud::Error> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let cloud = cloud.clone();
        set.spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                scenario.call(&cloud).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, migplan_cloud::Error>(lat)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(lat)) => latencies.extend(lat),
            Ok(Err(e)) => return Err(e),
            Err(join) => panic!("worker panicked: {join}"),
        }
    }
    latencies.sort();
    Ok(Run {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let workers: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
        .max(1);
    let seconds: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5.0);

    let emu = RunningEmulator::start(EmulatorConfig::new(AK, SK)).await?;
    let cfg = CloudConfig::local(&emu.base_url(), Auth::aksk(AK, SK))?
        .with_project_id("0123456789abcdef0123456789abcdef")
        .with_domain_id("bench-domain")
        .with_retry(RetryPolicy::none());
    let cloud = Cloud::new(&cfg)?;

    // 50 sources with a task each, 20 DCS tasks.
    for i in 0..50 {
        let id = emu.register_source_named(&format!("bench-src-{i}"))?;
        let req = migplan_cloud::wire::sms::CreateTaskRequest {
            name: format!("bench-task-{i}"),
            source_server: migplan_cloud::wire::sms::SourceServerRef { id },
            target_server: migplan_cloud::wire::sms::TargetServerSpec {
                name: format!("bench-target-{i}"),
                ..Default::default()
            },
            region_name: "ap-southeast-3".into(),
            region_id: "ap-southeast-3".into(),
            project_name: "ap-southeast-3".into(),
            project_id: "0123456789abcdef0123456789abcdef".into(),
            ..Default::default()
        };
        cloud.sms().create_task(&req).await?;
    }
    for i in 0..20 {
        let req = migplan_cloud::wire::dcs::CreateOnlineTaskRequest {
            name: format!("bench-redis-{i}"),
            vpc_id: "vpc".into(),
            subnet_id: "subnet".into(),
            security_group_id: "sg".into(),
            ..Default::default()
        };
        cloud.dcs().create_online_task(&req).await?;
    }

    println!(
        "emulator_throughput: {workers} workers, {seconds:.1}s per run, AK/SK-signed requests over loopback HTTP/1.1"
    );
    for scenario in [Scenario::SmsSources, Scenario::SmsTasks, Scenario::DcsTasks] {
        // Warm-up: connections, allocator, caches.
        run(&cloud, scenario, workers, 0.5).await?;
        for w in [1, workers] {
            let before = cloud.stats().total_requests();
            let r = run(&cloud, scenario, w, seconds).await?;
            let counted = cloud.stats().total_requests() - before;
            println!(
                "{:<52} workers={:>3} requests={:>7} req/s={:>8.0} p50={:>7.2}ms p99={:>7.2}ms max={:>7.2}ms (client counter {counted})",
                scenario.label(),
                w,
                r.requests,
                r.requests as f64 / r.elapsed.as_secs_f64(),
                percentile(&r.latencies, 0.50).as_secs_f64() * 1e3,
                percentile(&r.latencies, 0.99).as_secs_f64() * 1e3,
                r.latencies
                    .last()
                    .copied()
                    .unwrap_or_default()
                    .as_secs_f64()
                    * 1e3,
            );
        }
    }
    let stats = emu.stats();
    println!(
        "emulator served {} requests in total; client sent {}",
        stats["requests_total"],
        cloud.stats().total_requests()
    );
    emu.shutdown().await?;
    Ok(())
}
