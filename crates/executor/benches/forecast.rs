//! Forecast accuracy and the SMS quota, against the in-process emulator (figures only, no
//! pass/fail):
//!
//! 1. For generated shapes (a fan, chains, waves with caps, a quota-bound fleet), the plan's
//!    forecast (`migplan_executor::forecast`, the executor's simulation of its own scheduler)
//!    beside the makespan apply measures on the emulator's clock, and the error
//!    |forecast − measured| / measured.
//! 2. A fleet of 60 servers under an emulator quota of 20 (`--sms-migration-quota 20`): the
//!    most migrations the emulator saw running at once, and the starts it refused.
//!
//! The emulator runs at a high time scale; apply's poll interval and request rate are set in
//! real time and scaled to the emulator's clock for the forecast, as the CLI does with
//! `--local`. Sources are registered with disks whose used sizes differ from their sizes, read
//! back by source detail as `plan` reads them.
//!
//! Run: `cargo bench -p migplan-executor --bench forecast`.
#![allow(clippy::print_stdout)] // a bench prints its figures

use std::sync::Arc;
use std::time::Duration;

use migplan_cloud::{Auth, Cloud, CloudConfig};
use migplan_emulator::{EmulatorConfig, RunningEmulator};
use migplan_executor::forecast::{ForecastOptions, forecast};
use migplan_executor::{Apply, ApplyOptions, Interrupt, NullSink, RunStatus};
use migplan_parser::Spec;
use migplan_planner::{LiveSnapshot, PlanOptions};
use migplan_wire::sms::{
    ListSourcesQuery, ListTasksQuery, ListTemplatesQuery, RegisterSourceRequest, ServerDisk,
    Template,
};

/// Seconds of the emulator's clock per real second.
const TIME_SCALE: f64 = 500.0;
/// Apply's poll interval (real): 10 s of the emulator's clock.
const POLL: Duration = Duration::from_millis(20);
/// Apply's request rate (real): 10 per second of the emulator's clock.
const RATE: f64 = 5000.0;
const PARALLELISM: usize = 100;
const GIB: i64 = 1 << 30;

/// xorshift64*: deterministic shapes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// One server of a shape: its entry's extra YAML and its source's used GiB.
struct Server {
    name: String,
    used_gib: i64,
    yaml: String,
}

struct Shape {
    name: &'static str,
    quota: Option<u32>,
    servers: Vec<Server>,
    waves: String,
    /// Migrations of another tool running when apply starts (used GiB each).
    others: Vec<i64>,
}

fn server(rng: &mut Rng, name: String, extra: &str) -> Server {
    let used_gib = rng.range(2, 16) as i64;
    let speed = [200, 500, 0][rng.range(0, 2) as usize];
    let speed = if speed > 0 {
        format!(", speed_limit: {speed}")
    } else {
        String::new()
    };
    let yaml = format!("  - {{name: {name}, target: {{template: tpl}}{speed}{extra}}}\n");
    Server {
        name,
        used_gib,
        yaml,
    }
}

fn fan(rng: &mut Rng) -> Shape {
    let mut servers = vec![server(rng, "db".into(), ", stage: tested")];
    for i in 0..12 {
        servers.push(server(
            rng,
            format!("app-{i:02}"),
            ", stage: tested, depends_on: [server.db]",
        ));
    }
    let apps: Vec<String> = (0..12).map(|i| format!("server.app-{i:02}")).collect();
    servers.push(server(
        rng,
        "lb".into(),
        &format!(", stage: tested, depends_on: [{}]", apps.join(", ")),
    ));
    Shape {
        name: "fan 1→12→1",
        quota: None,
        servers,
        waves: String::new(),
        others: vec![],
    }
}

fn chains(rng: &mut Rng) -> Shape {
    let mut servers = Vec::new();
    for c in 0..4 {
        for k in 0..4 {
            let dep = if k == 0 {
                String::new()
            } else {
                format!(", depends_on: [server.c{c}-{}]", k - 1)
            };
            let stage = if k == 3 { "cutover" } else { "replicated" };
            servers.push(server(
                rng,
                format!("c{c}-{k}"),
                &format!(", stage: {stage}{dep}"),
            ));
        }
    }
    Shape {
        name: "chains 4×4",
        quota: None,
        servers,
        waves: String::new(),
        others: vec![],
    }
}

fn waves(rng: &mut Rng) -> Shape {
    let mut servers = Vec::new();
    let mut waves = String::from("waves:\n");
    for w in 0..3 {
        let mut members = Vec::new();
        for i in 0..8 {
            let name = format!("w{w}-{i}");
            members.push(format!("server.{name}"));
            servers.push(server(rng, name, ", stage: tested"));
        }
        waves.push_str(&format!(
            "  - {{name: wave-{w}, max_parallel: 3, members: [{}]}}\n",
            members.join(", ")
        ));
    }
    Shape {
        name: "waves 3×8, cap 3",
        quota: None,
        servers,
        waves,
        others: vec![],
    }
}

fn quota_fleet(rng: &mut Rng) -> Shape {
    let servers = (0..60)
        .map(|i| server(rng, format!("q-{i:02}"), ", stage: replicated"))
        .collect();
    Shape {
        name: "quota fleet 60, quota 20, 3 elsewhere",
        quota: Some(20),
        servers,
        waves: String::new(),
        others: vec![6, 10, 14],
    }
}

fn yaml(shape: &Shape) -> String {
    let quota = shape.quota.map_or(String::new(), |q| {
        format!(", quotas: {{sms_concurrent_migrations: {q}}}")
    });
    let mut y = format!(
        "version: 1\nname: bench\ncloud: {{region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef{quota}}}\nservers:\n"
    );
    for s in &shape.servers {
        y.push_str(&s.yaml);
    }
    y.push_str(&shape.waves);
    y
}

fn source(name: &str, used_gib: i64) -> RegisterSourceRequest {
    RegisterSourceRequest {
        name: name.into(),
        disks: vec![ServerDisk {
            name: "/dev/vda".into(),
            size: used_gib * 3 * GIB,
            used_size: Some(used_gib * GIB),
            ..ServerDisk::default()
        }],
        ..RegisterSourceRequest::default()
    }
}

/// What `plan` reads: the lists, then the detail of each source still to copy.
async fn snapshot(cloud: &Cloud, spec: &Spec) -> LiveSnapshot {
    let (qs, qt, ql) = (
        ListSourcesQuery::default(),
        ListTasksQuery::default(),
        ListTemplatesQuery::default(),
    );
    let (sources, tasks, templates) = tokio::try_join!(
        cloud.sms().list_all_sources(&qs),
        cloud.sms().list_all_tasks(&qt),
        cloud.sms().list_all_templates(&ql),
    )
    .expect("snapshot");
    let mut live = LiveSnapshot {
        sources,
        tasks,
        templates,
        migrations: vec![],
    };
    let mut details = Vec::new();
    for id in live.sources_wanting_detail(spec) {
        details.push(cloud.sms().show_source(&id).await.expect("detail"));
    }
    live.add_source_details(details);
    live
}

struct Outcome {
    forecast_s: Option<u64>,
    measured_s: f64,
    status: RunStatus,
    max_running: u64,
    refused: u64,
    queued: u32,
}

async fn run(shape: &Shape) -> Outcome {
    let mut cfg = EmulatorConfig::new("AK", "SK");
    cfg.time_scale = TIME_SCALE;
    cfg.sms_migration_quota = shape.quota;
    let emu = RunningEmulator::start(cfg).await.expect("emulator");
    for s in &shape.servers {
        emu.register_source(source(&s.name, s.used_gib))
            .expect("source");
    }
    let spec = migplan_parser::parse("bench.yaml", &yaml(shape))
        .expect("valid plan")
        .spec;
    let ccfg = CloudConfig::local(&emu.base_url(), Auth::aksk("AK", "SK"))
        .expect("config")
        .with_project_id(spec.cloud.project_id.clone());
    let cloud = Cloud::new(&ccfg).expect("cloud");
    let tpl = Template {
        name: "tpl".into(),
        is_template: Some(true),
        ..Template::default()
    };
    cloud.sms().create_template(&tpl).await.expect("template");
    // Another tool's migrations, running when apply starts.
    for (i, used) in shape.others.iter().enumerate() {
        let name = format!("other-{i}");
        let id = emu.register_source(source(&name, *used)).expect("source");
        let body = migplan_wire::sms::CreateTaskRequest {
            name: name.clone(),
            source_server: migplan_wire::sms::SourceServerRef { id },
            ..migplan_executor::request::create_task(&spec.servers[0], &spec.cloud, "x", None)
        };
        let task = cloud.sms().create_task(&body).await.expect("task");
        cloud
            .sms()
            .action(&task, migplan_wire::sms::Operation::Start)
            .await
            .expect("started");
    }
    let live = snapshot(&cloud, &spec).await;
    let plan = migplan_planner::plan(&spec, &live, &PlanOptions::default()).expect("plan");
    let f = forecast(
        &plan,
        &spec,
        &live,
        &ForecastOptions {
            parallelism: PARALLELISM,
            requests_per_second: RATE / TIME_SCALE,
            poll_interval_ms: (POLL.as_secs_f64() * 1000.0 * TIME_SCALE) as u64,
            wait_timeout_ms: None,
            now: None,
        },
    )
    .expect("forecast");
    let options = ApplyOptions {
        parallelism: PARALLELISM,
        poll_interval: POLL,
        requests_per_second: RATE,
        // The pace starts at the rate the forecast assumes: its usual ramp from 10/s lasts
        // about a second of real time, which this bench's 500× clock would stretch to some
        // 600 s of the cloud's (on the real cloud's clock it is that one second).
        start_requests_per_second: RATE,
        time_scale: TIME_SCALE,
        ..ApplyOptions::default()
    };
    let t0 = emu.now_ms();
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
    let t1 = emu.now_ms();
    let stats = emu.stats();
    let _ = emu.shutdown().await;
    Outcome {
        forecast_s: f.forecast.makespan_seconds,
        measured_s: (t1 - t0) as f64 / 1000.0,
        status: summary.status,
        max_running: stats["sms_migrations"]["max_running"].as_u64().unwrap_or(0),
        refused: stats["by_status"]["403"].as_u64().unwrap_or(0),
        queued: f.forecast.queued,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rng = Rng(0x005e_edf0_ca57);
    let shapes = [
        fan(&mut rng),
        chains(&mut rng),
        waves(&mut rng),
        quota_fleet(&mut rng),
    ];
    println!(
        "## Forecast against the emulator (time scale {TIME_SCALE}, poll {} s and {} requests/s of its clock, parallelism {PARALLELISM})",
        POLL.as_secs_f64() * TIME_SCALE,
        RATE / TIME_SCALE
    );
    println!(
        "{:<40} {:>8} {:>12} {:>12} {:>8} {:>7} {:>10}",
        "shape", "servers", "forecast s", "measured s", "error", "queued", "status"
    );
    let mut quota_run = None;
    for shape in &shapes {
        let o = rt.block_on(run(shape));
        let error = o
            .forecast_s
            .map(|f| (f as f64 - o.measured_s).abs() / o.measured_s * 100.0);
        println!(
            "{:<40} {:>8} {:>12} {:>12.0} {:>7.1}% {:>7} {:>10}",
            shape.name,
            shape.servers.len(),
            o.forecast_s.map_or("-".into(), |f| f.to_string()),
            o.measured_s,
            error.unwrap_or(f64::NAN),
            o.queued,
            format!("{:?}", o.status)
        );
        if shape.quota.is_some() {
            quota_run = Some((shape.quota, shape.others.len(), o));
        }
    }
    println!();
    println!(
        "error = |forecast − measured| / measured, seconds of the emulator's clock from the start of apply"
    );
    if let Some((quota, others, o)) = quota_run {
        println!();
        println!(
            "## SMS quota: 60 servers, emulator --sms-migration-quota {}, {others} migrations of another tool running",
            quota.unwrap_or(0)
        );
        println!(
            "  most migrations running at once (emulator's record): {}",
            o.max_running
        );
        println!(
            "  starts refused for the quota (403 SMS.1003):        {}",
            o.refused
        );
        println!(
            "  apply:                                              {:?}",
            o.status
        );
    }
}
