//! The executor against the in-process emulator over HTTP: plans applied from nothing converge,
//! also under injected faults, and re-planning afterwards finds nothing to do.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use migplan_cloud::{Auth, Cloud, CloudConfig, RetryPolicy};
use migplan_emulator::{EmulatorConfig, FaultSpec, RunningEmulator};
use migplan_executor::{Apply, ApplyOptions, Interrupt, RunStatus, SecretSource, VecSink};
use migplan_parser::{SourceRef, Spec, Target};
use migplan_planner::{LiveSnapshot, PlanOptions};
use migplan_wire::sms::{ListSourcesQuery, ListTasksQuery, ListTemplatesQuery, Template};

struct World {
    emu: RunningEmulator,
    cloud: Cloud,
}

async fn world(spec: &Spec, faults: &str) -> World {
    world_with_quota(spec, faults, None).await
}

async fn world_with_quota(spec: &Spec, faults: &str, quota: Option<u32>) -> World {
    let mut cfg = EmulatorConfig::new("AK", "SK");
    cfg.time_scale = 5000.0;
    cfg.faults = faults.parse::<FaultSpec>().expect("faults");
    cfg.sms_migration_quota = quota;
    let emu = RunningEmulator::start(cfg).await.expect("emulator");
    let mut names = BTreeSet::new();
    for s in &spec.servers {
        if let SourceRef::Name(n) = &s.source
            && names.insert(n.clone())
        {
            emu.register_source_named(n).expect("source");
        }
    }
    let ccfg = CloudConfig::local(&emu.base_url(), Auth::aksk("AK", "SK"))
        .expect("config")
        .with_project_id(spec.cloud.project_id.clone())
        .with_retry(RetryPolicy::fast(30));
    let cloud = Cloud::new(&ccfg).expect("cloud");
    let mut tpls = BTreeSet::new();
    for s in &spec.servers {
        if let Target::Template(t) = &s.target
            && tpls.insert(t.clone())
        {
            let tpl = Template {
                name: t.clone(),
                is_template: Some(true),
                ..Template::default()
            };
            let mut tries = 0;
            while cloud.sms().create_template(&tpl).await.is_err() {
                // Under faults: a lost answer may still have created it.
                let all = cloud
                    .sms()
                    .list_all_templates(&ListTemplatesQuery::default())
                    .await
                    .unwrap_or_default();
                if all.iter().any(|x| &x.name == t) {
                    break;
                }
                tries += 1;
                assert!(tries < 20, "cannot create template {t}");
            }
        }
    }
    World { emu, cloud }
}

async fn snapshot(cloud: &Cloud) -> LiveSnapshot {
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

fn secrets() -> SecretSource {
    Arc::new(|name: &str| Some(format!("pw-of-{name}")))
}

fn options() -> ApplyOptions {
    ApplyOptions {
        poll_interval: Duration::from_millis(20),
        requests_per_second: 0.0,
        ..ApplyOptions::default()
    }
}

/// Runs `plan` (made from `live`) to its end, recording its events.
async fn execute(
    w: &World,
    spec: &Spec,
    plan: &migplan_planner::Plan,
    live: &LiveSnapshot,
    opts: &ApplyOptions,
) -> (migplan_executor::Summary, VecSink) {
    let sink = VecSink::default();
    let summary = Apply {
        cloud: &w.cloud,
        spec,
        plan,
        live,
        options: opts,
        secrets: secrets(),
    }
    .run(&sink, &Interrupt::default())
    .await
    .expect("runs");
    (summary, sink)
}

async fn apply_once(
    w: &World,
    spec: &Spec,
    opts: &ApplyOptions,
) -> (migplan_executor::Summary, VecSink) {
    let live = snapshot(&w.cloud).await;
    let plan = migplan_planner::plan(spec, &live, &PlanOptions::default()).expect("plan");
    execute(w, spec, &plan, &live, opts).await
}

fn spec_of(path: &str) -> Spec {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    migplan_parser::parse_file(&root.join(path))
        .expect("valid plan")
        .spec
}

async fn converges(spec: &Spec, faults: &str) -> World {
    let w = world(spec, faults).await;
    let (summary, sink) = apply_once(&w, spec, &options()).await;
    assert_eq!(
        summary.status,
        RunStatus::Complete,
        "{summary:#?}\n{:#?}",
        sink.events()
    );
    let live = snapshot(&w.cloud).await;
    let again = migplan_planner::plan(spec, &live, &PlanOptions::default()).expect("plan");
    assert!(!again.has_changes(), "{:#?}", again.steps);
    assert!(!again.is_blocked());
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_replicates_from_nothing() {
    let spec = spec_of("plans/quickstart.yaml");
    let w = converges(&spec, "").await;
    let live = snapshot(&w.cloud).await;
    assert_eq!(live.tasks.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_waves_reach_their_stages() {
    let spec = spec_of("plans/fleet-waves.yaml");
    let w = converges(&spec, "").await;
    let live = snapshot(&w.cloud).await;
    assert_eq!(live.tasks.len(), spec.servers.len());
    assert_eq!(live.migrations.len(), spec.redis.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_do_not_duplicate_or_lose_work() {
    let spec = spec_of("plans/fleet-waves.yaml");
    let w = converges(&spec, "throttle=0.1,error=0.1,drop=0.1,seed=7").await;
    let live = snapshot(&w.cloud).await;
    for s in &spec.servers {
        let n = live.tasks.iter().filter(|t| t.name == s.name).count();
        assert_eq!(n, 1, "tasks named {}", s.name);
    }
    for r in &spec.redis {
        let n = live
            .migrations
            .iter()
            .filter(|t| t.task_name == r.name)
            .count();
        assert_eq!(n, 1, "migration tasks named {}", r.name);
    }
    let stats = w.emu.stats();
    let faults = &stats["faults"];
    for kind in ["throttle", "error", "drop"] {
        assert!(
            faults[kind].as_u64().unwrap_or(0) > 0,
            "no {kind} fault was injected: {stats}"
        );
    }
}

fn many_servers(n: usize, stage: &str) -> Spec {
    let mut yaml = String::from(
        "version: 1\nname: many\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\nservers:\n",
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "  - {{name: srv-{i:03}, target: {{template: tpl}}, stage: {stage}}}\n"
        ));
    }
    migplan_parser::parse("many.yaml", &yaml)
        .expect("valid")
        .spec
}

fn notes(sink: &VecSink) -> Vec<String> {
    sink.events()
        .into_iter()
        .filter_map(|e| match e {
            migplan_executor::Event::StepCompleted { note, .. } => note,
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_responses_are_resolved_by_name_never_duplicated() {
    // Half the responses are dropped after the change was committed.
    let spec = many_servers(20, "configured");
    let w = world(&spec, "drop=0.5,seed=3").await;
    let (summary, sink) = apply_once(&w, &spec, &options()).await;
    assert_eq!(summary.status, RunStatus::Complete, "{summary:#?}");
    let live = snapshot(&w.cloud).await;
    let mut names: Vec<&str> = live.tasks.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate tasks");
    assert_eq!(names.len(), 20);
    assert!(
        notes(&sink)
            .iter()
            .any(|n| n.contains("answer was lost; found by name")),
        "some create's answer was lost and found by name: {:?}",
        notes(&sink)
    );
}

/// Writes the emulator answered 400 (an action sent in the wrong state).
fn refused(w: &World) -> u64 {
    w.emu.stats()["by_status"]["400"].as_u64().unwrap_or(0)
}

async fn run_plan(
    w: &World,
    spec: &Spec,
    live: &LiveSnapshot,
) -> (migplan_executor::Summary, VecSink) {
    let plan = migplan_planner::plan(spec, live, &PlanOptions::default()).expect("plan");
    execute(w, spec, &plan, live, &options()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_task_started_by_someone_else_is_not_started_again() {
    let spec = spec_of("plans/quickstart.yaml");
    let w = world(&spec, "").await;
    // Create the task through the executor, then plan a start...
    let mut configured = spec.clone();
    configured.servers[0].stage = migplan_parser::ServerStage::Configured;
    let (s, _) = apply_once(&w, &configured, &options()).await;
    assert_eq!(s.status, RunStatus::Complete);
    let live = snapshot(&w.cloud).await;
    // ...and someone else (another apply) starts the task before this apply runs. The task
    // was still as created: this run gives the other a few polls before it sends `start`.
    let id = live.tasks[0].id.clone();
    w.cloud
        .sms()
        .action(&id, migplan_wire::sms::Operation::Start)
        .await
        .expect("started");
    let (summary, sink) = run_plan(&w, &spec, &live).await;
    assert_eq!(summary.status, RunStatus::Complete, "{summary:#?}");
    assert!(
        notes(&sink)
            .iter()
            .any(|n| n.starts_with("done by another apply")),
        "{:?}",
        notes(&sink)
    );
    assert_eq!(refused(&w), 0, "start was not sent a second time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_refused_because_another_run_did_it_counts_as_done() {
    let spec = spec_of("plans/quickstart.yaml");
    let w = world(&spec, "").await;
    let (s, _) = apply_once(&w, &spec, &options()).await;
    assert_eq!(s.status, RunStatus::Complete);
    // Plan test and cutover on the replicated task...
    let mut cutover = spec.clone();
    cutover.servers[0].stage = migplan_parser::ServerStage::Cutover;
    let live = snapshot(&w.cloud).await;
    // ...and someone else cuts it over before this apply runs: the plan's view still shows
    // the copy done, so `test` is sent and refused (SMS.2009); the fresh read shows the task
    // past `tested`, so it counts as done and is not sent again.
    let id = live.tasks[0].id.clone();
    w.cloud
        .sms()
        .action(&id, migplan_wire::sms::Operation::Cutover)
        .await
        .expect("cut over");
    let (summary, sink) = run_plan(&w, &cutover, &live).await;
    assert_eq!(summary.status, RunStatus::Complete, "{summary:#?}");
    assert!(
        notes(&sink)
            .iter()
            .any(|n| n.starts_with("already in the target state")),
        "{:?}",
        notes(&sink)
    );
    assert_eq!(refused(&w), 1, "the refused test was never re-sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_refused_because_the_task_exists_adopts_it() {
    let spec = spec_of("plans/quickstart.yaml");
    let w = world(&spec, "").await;
    let live = snapshot(&w.cloud).await;
    let plan = migplan_planner::plan(&spec, &live, &PlanOptions::default()).expect("plan");
    // Another tool creates the task between plan and apply.
    let s = &spec.servers[0];
    let source = live.sources[0].id.clone();
    let body = migplan_executor::request::create_task(
        s,
        &spec.cloud,
        &source,
        live.templates[0].id.as_deref(),
    );
    let id = w.cloud.sms().create_task(&body).await.expect("created");
    let (summary, sink) = execute(&w, &spec, &plan, &live, &options()).await;
    assert_eq!(summary.status, RunStatus::Complete, "{summary:#?}");
    let after = snapshot(&w.cloud).await;
    assert_eq!(after.tasks.len(), 1);
    assert_eq!(after.tasks[0].id, id);
    assert!(
        notes(&sink).iter().any(|n| n.contains(&id)),
        "{:?}",
        notes(&sink)
    );
}

/// A plan made while the window was open, applied after it closed: the copy and the test run,
/// the cutover is held (never sent) and so is what waits on it; the run ends `Held`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_irreversible_step_whose_window_closed_is_held_not_sent() {
    use migplan_executor::Event;
    let now = jiff::Timestamp::now();
    // Open from two hours ago until a minute ago (UTC, every day): planned three minutes ago
    // it was open, so the cutover carries a closing instant already past.
    let at = |mins: i64| {
        now.checked_sub(jiff::SignedDuration::from_mins(mins))
            .expect("time")
            .to_zoned(jiff::tz::TimeZone::UTC)
    };
    let hhmm = |z: &jiff::Zoned| format!("{:02}:{:02}", z.hour(), z.minute());
    let yaml = format!(
        "version: 1\nname: held\ncloud: {{region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}}\nwindows:\n  - {{name: w, start: \"{}\", end: \"{}\", timezone: UTC}}\nservers:\n  - {{name: db-01, target: {{template: tpl}}, stage: cleared, window: w}}\n  - {{name: web-01, target: {{template: tpl}}, stage: cutover, depends_on: [{{cutover: server.db-01@cutover}}]}}\n",
        hhmm(&at(120)),
        hhmm(&at(1)),
    );
    let spec = migplan_parser::parse("held.yaml", &yaml)
        .expect("valid")
        .spec;
    let w = world(&spec, "").await;
    let live = snapshot(&w.cloud).await;
    let opts = PlanOptions {
        now: Some(at(3).timestamp()),
        ..PlanOptions::default()
    };
    let plan = migplan_planner::plan(&spec, &live, &opts).expect("plan");
    let cutover = plan
        .steps
        .iter()
        .find(|s| s.id.0 == "server.db-01#cutover")
        .expect("planned while open");
    assert!(cutover.start_before.is_some());
    let (summary, sink) = execute(&w, &spec, &plan, &live, &options()).await;
    assert_eq!(summary.status, RunStatus::Held, "{summary:#?}");
    let held: Vec<&str> = summary.held.iter().map(|h| h.step.as_str()).collect();
    assert!(held.contains(&"server.db-01#cutover"), "{held:?}");
    assert!(held.contains(&"server.db-01#clear"), "{held:?}");
    assert!(held.contains(&"server.web-01#cutover"), "{held:?}");
    assert!(summary.failed.is_empty() && summary.skipped.is_empty());
    assert!(
        summary
            .held
            .iter()
            .any(|h| h.reason.contains("maintenance window closed at")),
        "{:?}",
        summary.held
    );
    // The copies and tests ran; nothing was cut over: both stand at `tested`.
    let after = snapshot(&w.cloud).await;
    let again = migplan_planner::plan(&spec, &after, &PlanOptions::default()).expect("plan");
    for r in &again.resources {
        assert_eq!(
            r.current.reached().map(|s| s.to_string()).as_deref(),
            Some("tested"),
            "{}: {:?}",
            r.addr,
            r.current
        );
    }
    assert!(
        sink.events()
            .iter()
            .any(|e| matches!(e, Event::StepHeld { step, .. } if step == "server.db-01#cutover"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_gateway_is_met_by_the_adaptive_pace_and_every_request_is_counted() {
    // The gateway admits 10 requests a second per service; the run starts at 20.
    let spec = many_servers(8, "replicated");
    let w = world(&spec, "ratelimit=10").await;
    let live = snapshot(&w.cloud).await;
    let plan = migplan_planner::plan(&spec, &live, &PlanOptions::default()).expect("plan");
    let opts = ApplyOptions {
        requests_per_second: 100.0,
        start_requests_per_second: 20.0,
        ..options()
    };
    let before = w.emu.stats();
    let (summary, _) = execute(&w, &spec, &plan, &live, &opts).await;
    let after = w.emu.stats();
    assert_eq!(summary.status, RunStatus::Complete, "{summary:#?}");
    let delta = |k: &dyn Fn(&serde_json::Value) -> &serde_json::Value| {
        k(&after).as_u64().unwrap_or(0) - k(&before).as_u64().unwrap_or(0)
    };
    let sent: u64 = summary.rates.iter().map(|r| r.requests).sum();
    let throttled: u64 = summary.rates.iter().map(|r| r.throttled).sum();
    assert_eq!(sent, delta(&|s| &s["requests_total"]), "{summary:#?}");
    assert_eq!(
        throttled,
        delta(&|s| &s["faults"]["ratelimit"]),
        "{summary:#?}"
    );
    let sms = summary
        .rates
        .iter()
        .find(|r| r.service == "SMS")
        .expect("SMS was sent requests");
    // Throttled at least once, so cut below where it started; never above the ceiling.
    assert!(sms.throttled > 0 && sms.min_rate < 20.0, "{sms:?}");
    assert!(sms.peak_rate <= 100.0 && sms.ceiling == 100.0, "{sms:?}");
}

/// Requests the emulator answered 403: a `start` or `restart` refused for the account's
/// migration quota (nothing else is forbidden here).
fn refused_for_quota(w: &World) -> u64 {
    w.emu.stats()["by_status"]["403"].as_u64().unwrap_or(0)
}

/// Starts `n` long copies of another tool (400 GiB each) in `w`'s account.
async fn start_others(w: &World, spec: &Spec, n: usize) {
    for i in 0..n {
        let name = format!("other-{i}");
        let source = w
            .emu
            .register_source(migplan_wire::sms::RegisterSourceRequest {
                name: name.clone(),
                disks: vec![migplan_wire::sms::ServerDisk {
                    name: "/dev/vda".into(),
                    size: 400 << 30,
                    used_size: Some(400 << 30),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .expect("source");
        let body = migplan_wire::sms::CreateTaskRequest {
            name: name.clone(),
            source_server: migplan_wire::sms::SourceServerRef { id: source },
            ..migplan_executor::request::create_task(&spec.servers[0], &spec.cloud, "x", None)
        };
        let id = w.cloud.sms().create_task(&body).await.expect("created");
        w.cloud
            .sms()
            .action(&id, migplan_wire::sms::Operation::Start)
            .await
            .expect("started");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_refused_for_the_quota_waits_for_a_slot_and_is_sent_again() {
    // The plan (and the run's first view) saw no migration elsewhere; five begin right after.
    let mut spec = many_servers(30, "replicated");
    spec.cloud.quotas.sms_concurrent_migrations = 20;
    let w = world_with_quota(&spec, "", Some(20)).await;
    let mut configured = spec.clone();
    for s in &mut configured.servers {
        s.stage = migplan_parser::ServerStage::Configured;
    }
    let (s, _) = apply_once(&w, &configured, &options()).await;
    assert_eq!(s.status, RunStatus::Complete);
    let live = snapshot(&w.cloud).await;
    let plan = migplan_planner::plan(&spec, &live, &PlanOptions::default()).expect("plan");
    start_others(&w, &spec, 5).await;
    let opts = ApplyOptions {
        parallelism: 30,
        ..options()
    };
    let (summary, sink) = execute(&w, &spec, &plan, &live, &opts).await;
    assert_eq!(
        summary.status,
        RunStatus::Complete,
        "{summary:#?}\n{:#?}",
        sink.events()
    );
    assert!(refused_for_quota(&w) > 0, "the service refused some starts");
    assert!(
        sink.events().iter().any(|e| matches!(
            e,
            migplan_executor::Event::StepWaiting { until, .. } if until.contains("SMS quota")
        )),
        "a refused start said it waits for a slot"
    );
    let stats = w.emu.stats();
    assert!(
        stats["sms_migrations"]["max_running"]
            .as_u64()
            .is_some_and(|n| n <= 20),
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_under_the_sms_quota_never_runs_more_and_is_never_refused() {
    // 60 servers, an account quota of 20, 5 of its migrations another tool's (long copies):
    // apply may start at most 15 until those end, never more than 20 in all.
    let text = many_servers(60, "replicated");
    let mut spec = text;
    spec.cloud.quotas.sms_concurrent_migrations = 20;
    let w = world_with_quota(&spec, "", Some(20)).await;
    start_others(&w, &spec, 5).await;
    let live = snapshot(&w.cloud).await;
    let plan = migplan_planner::plan(&spec, &live, &PlanOptions::default()).expect("plan");
    assert_eq!(
        plan.quota
            .map(|q| (q.sms_concurrent_migrations, q.sms_running_elsewhere)),
        Some((20, 5))
    );
    let opts = ApplyOptions {
        parallelism: 60,
        ..options()
    };
    let (summary, sink) = execute(&w, &spec, &plan, &live, &opts).await;
    assert_eq!(
        summary.status,
        RunStatus::Complete,
        "{summary:#?}\n{:#?}",
        sink.events()
    );
    let stats = w.emu.stats();
    let m = &stats["sms_migrations"];
    assert_eq!(m["quota"], 20, "{stats}");
    assert!(
        m["max_running"].as_u64().is_some_and(|n| n <= 20),
        "{stats}"
    );
    assert_eq!(
        refused_for_quota(&w),
        0,
        "no start was refused for the quota"
    );
    // The end was re-estimated as the run went, with the copies waiting for a slot.
    let forecasts: Vec<(Option<u64>, usize)> = sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            migplan_executor::Event::Forecast {
                eta_seconds,
                queued,
            } => Some((eta_seconds, queued)),
            _ => None,
        })
        .collect();
    assert!(
        forecasts.iter().any(|(e, q)| e.is_some() && *q > 0),
        "{forecasts:?}"
    );
}
