//! The client against the in-process emulator over real HTTP: SMS and DCS
//! lifecycles, paging, service errors, retries through injected faults, an
//! outcome-unknown create, token auth and a wrong secret key.

use std::future::Future;
use std::time::Duration;

use migplan_cloud::wire::dcs::{
    ConfigInstance, ConfigureTaskRequest, CreateOnlineTaskRequest, MigrationMethod,
    MigrationStatus, ResumeMode,
};
use migplan_cloud::wire::sms::{
    ChangeStateRequest, CreateTaskRequest, ListSourcesQuery, ListTasksQuery, ListTemplatesQuery,
    MigrationCycle, Network, Operation, OsType, RegisterSourceRequest, SourceServerRef,
    SourceState, SpeedLimitWindow, SpeedLimits, TargetServerSpec, TaskState, TaskType, Template,
    UpdateTaskRequest,
};
use migplan_cloud::wire::value::{BandwidthMb, Redacted};
use migplan_cloud::{Auth, Cloud, CloudConfig, Error, ErrorKind, PollOptions, RetryPolicy};
use migplan_emulator::faults::{Fault, FaultInjector};
use migplan_emulator::{EmulatorConfig, FaultSpec, RunningEmulator};

const AK: &str = "AK-EMU";
const SK: &str = "SK-EMU-do-not-print-42";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";

fn emu_config(faults: &str) -> EmulatorConfig {
    let mut cfg = EmulatorConfig::new(AK, SK);
    cfg.time_scale = 1000.0;
    cfg.faults = faults.parse::<FaultSpec>().expect("fault spec");
    cfg
}

fn client_config(emu: &RunningEmulator, auth: Auth) -> CloudConfig {
    CloudConfig::local(&emu.base_url(), auth)
        .expect("config")
        .with_project_id(PROJECT)
        .with_domain_id("domain-1")
        .with_retry(RetryPolicy::fast(8))
}

async fn start(faults: &str) -> (RunningEmulator, Cloud) {
    let emu = RunningEmulator::start(emu_config(faults))
        .await
        .expect("emulator");
    let cloud = Cloud::new(&client_config(&emu, Auth::aksk(AK, SK))).expect("cloud");
    (emu, cloud)
}

/// Counter of one route in the emulator's `GET /_emulator/stats` (fetched over HTTP).
async fn emulator_route_count(emu: &RunningEmulator, route: &str) -> u64 {
    let stats: serde_json::Value = reqwest::get(format!("{}/_emulator/stats", emu.base_url()))
        .await
        .expect("admin stats")
        .json()
        .await
        .expect("stats json");
    stats["by_route"][route].as_u64().unwrap_or(0)
}

/// Polls `probe` every 10 ms until it returns `Some`, for at most 30 s.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, Error>>,
{
    for _ in 0..3000 {
        if let Some(v) = probe().await.unwrap_or_else(|e| panic!("{what}: {e}")) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn source(name: &str) -> RegisterSourceRequest {
    RegisterSourceRequest {
        name: name.to_owned(),
        os_type: Some(OsType::Linux),
        os_version: "CENTOS7.6".into(),
        networks: vec![Network {
            name: "eth0".into(),
            ip: "10.0.0.5".into(),
            ..Network::default()
        }],
        agent_version: "24.3.0".into(),
        ..RegisterSourceRequest::default()
    }
}

fn task_for(name: &str, source_id: &str) -> CreateTaskRequest {
    CreateTaskRequest {
        name: name.to_owned(),
        task_type: TaskType::MigrateBlock,
        os_type: Some(OsType::Linux),
        source_server: SourceServerRef {
            id: source_id.to_owned(),
        },
        target_server: TargetServerSpec {
            name: format!("{name}-target"),
            vm_id: String::new(),
            ..TargetServerSpec::default()
        },
        region_name: "ap-southeast-3".into(),
        region_id: "ap-southeast-3".into(),
        project_name: "ap-southeast-3".into(),
        project_id: PROJECT.into(),
        start_target_server: Some(true),
        ..CreateTaskRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_full_lifecycle_with_paging_and_service_errors() {
    let (emu, _) = start("").await;
    let cfg = client_config(&emu, Auth::aksk(AK, SK)).with_page_size(2);
    let cloud = Cloud::new(&cfg).expect("cloud");
    let sms = cloud.sms();

    // Register five sources through the API; list them two per page.
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            sms.register_source(&source(&format!("src-{i}")))
                .await
                .expect("register"),
        );
    }
    let all = sms
        .list_all_sources(&ListSourcesQuery::default())
        .await
        .expect("list sources");
    assert_eq!(all.len(), 5);
    let mut listed: Vec<_> = all.iter().map(|s| s.id.clone()).collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let list_stats = cloud.stats().route("SMS GET /v3/sources");
    assert_eq!(list_stats.requests, 3, "5 sources in pages of 2");
    assert_eq!(emulator_route_count(&emu, "GET /v3/sources").await, 3);

    let page = sms
        .list_sources_page(&ListSourcesQuery::default(), 4, 2)
        .await
        .expect("page");
    assert_eq!(
        (page.items.len(), page.count, page.is_last()),
        (1, Some(5), true)
    );
    let named = sms.sources_named("src-1").await.expect("by name");
    assert_eq!(named.len(), 1);
    assert_eq!(
        sms.show_source(&ids[1])
            .await
            .expect("show")
            .name
            .as_deref(),
        Some("src-1")
    );
    sms.change_source_state(
        &ids[4],
        &ChangeStateRequest {
            copystate: Some(SourceState::Waiting),
            migrationcycle: Some(MigrationCycle::Checking),
        },
    )
    .await
    .expect("changestate");

    // A task for src-0, READY after create.
    let task_id = sms
        .create_task(&task_for("web-01", &ids[0]))
        .await
        .expect("create");
    let task = sms.show_task(&task_id).await.expect("show task");
    assert_eq!(task.state, Some(TaskState::Ready));
    assert_eq!(sms.tasks_named("web-01").await.expect("named").len(), 1);

    // An action in the wrong state surfaces the service's code.
    let err = sms
        .action(&task_id, Operation::Stop)
        .await
        .expect_err("stop while READY");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("SMS.1038"));
    assert!(
        err.to_string()
            .starts_with(&format!("SMS POST /v3/tasks/{task_id}/action failed in ")),
        "{err}"
    );
    assert_eq!(err.retries, 0);

    // Speed limits and update.
    let limits = SpeedLimits {
        speed_limit: vec![SpeedLimitWindow {
            start: "00:00".into(),
            end: "23:59".into(),
            speed: 500,
            over_speed_threshold: None,
        }],
    };
    sms.set_speed_limits(&task_id, &limits)
        .await
        .expect("set speed");
    assert_eq!(
        sms.speed_limits(&task_id)
            .await
            .expect("get speed")
            .speed_limit
            .len(),
        1
    );
    sms.update_task(
        &task_id,
        &UpdateTaskRequest {
            priority: Some(2),
            ..UpdateTaskRequest::default()
        },
    )
    .await
    .expect("update");

    // start → MIGRATE_SUCCESS → test → cutover → clear.
    sms.action(&task_id, Operation::Start).await.expect("start");
    eventually("MIGRATE_SUCCESS", || async {
        let t = sms.show_task(&task_id).await?;
        assert_ne!(t.state, Some(TaskState::MigrateFail), "{t:?}");
        Ok((t.state == Some(TaskState::MigrateSuccess)).then_some(()))
    })
    .await;
    let running = sms
        .list_all_tasks(&ListTasksQuery {
            state: Some(TaskState::MigrateSuccess),
            ..ListTasksQuery::default()
        })
        .await
        .expect("filtered list");
    assert!(running.iter().any(|t| t.id == task_id));

    sms.action(&task_id, Operation::Test).await.expect("test");
    eventually("tested", || async {
        let s = sms.show_source(&ids[0]).await?;
        Ok((s.migration_cycle == Some(MigrationCycle::Tested)).then_some(()))
    })
    .await;
    sms.action(&task_id, Operation::Cutover)
        .await
        .expect("cutover");
    eventually("finished", || async {
        let s = sms.show_source(&ids[0]).await?;
        Ok((s.state == Some(SourceState::Finished)).then_some(()))
    })
    .await;
    let err = sms
        .action(&task_id, Operation::Start)
        .await
        .expect_err("start after cutover");
    assert_eq!(err.status(), Some(400));
    assert!(err.code().is_some_and(|c| c.starts_with("SMS.")), "{err}");
    sms.action(&task_id, Operation::Clear).await.expect("clear");
    eventually("cleared", || async {
        let s = sms.show_source(&ids[0]).await?;
        Ok((s.state == Some(SourceState::Cleared)).then_some(()))
    })
    .await;

    // Templates.
    let tpl_id = sms
        .create_template(&Template {
            name: "tpl-web".into(),
            is_template: Some(true),
            region: Some("ap-southeast-3".into()),
            projectid: Some(PROJECT.into()),
            ..Template::default()
        })
        .await
        .expect("create template");
    assert_eq!(
        sms.show_template(&tpl_id)
            .await
            .expect("show template")
            .name,
        "tpl-web"
    );
    let tpls = sms
        .list_all_templates(&ListTemplatesQuery::default())
        .await
        .expect("templates");
    assert!(
        tpls.iter()
            .any(|t| t.id.as_deref() == Some(tpl_id.as_str()))
    );

    // Delete, then the task is gone (404).
    sms.delete_task(&task_id).await.expect("delete");
    let err = sms.show_task(&task_id).await.expect_err("gone");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.status(), Some(404));

    emu.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcs_online_migration_lifecycle() {
    let (emu, cloud) = start("").await;
    let dcs = cloud.dcs();
    let poll = PollOptions {
        interval: Duration::from_millis(10),
        timeout: Duration::from_secs(30),
    };
    let created = dcs
        .create_online_task_and_wait(
            &CreateOnlineTaskRequest {
                name: "sessions".into(),
                description: None,
                vpc_id: "vpc-1".into(),
                subnet_id: "subnet-1".into(),
                security_group_id: "sg-1".into(),
            },
            poll,
        )
        .await
        .expect("create + job");
    let id = created.instance_id.clone();
    assert!(
        created.job_id.is_some(),
        "the emulator answers a job id as the live service does"
    );
    let task = eventually("RUNNING", || async {
        let t = dcs.show_task(&id).await?;
        Ok((t.status == Some(MigrationStatus::Running)).then_some(t))
    })
    .await;
    assert_eq!(task.task_name, "sessions");
    assert_eq!(dcs.tasks_named("sessions").await.expect("named").len(), 1);

    let cfg = ConfigureTaskRequest {
        migration_method: MigrationMethod::Incremental,
        resume_mode: ResumeMode::Auto,
        bandwidth_limit_mb: Some(BandwidthMb(100)),
        source_instance: ConfigInstance {
            id: None,
            addrs: Some("10.0.0.1:6379".into()),
            password: Some(Redacted::new("redis-PASSWORD-x")),
        },
        target_instance: ConfigInstance {
            id: Some("cf4a05df-1c38-47c5-bb5a-0a7b3673b3bd".into()),
            addrs: None,
            password: None,
        },
    };
    let configured = dcs.configure_task(&id, &cfg).await.expect("configure");
    assert_eq!(configured.id, id);
    // Configuring twice is refused in the new state.
    let err = dcs
        .configure_task(&id, &cfg)
        .await
        .expect_err("configure again");
    assert_eq!((err.status(), err.code()), (Some(400), Some("DCS.4957")));

    let task = eventually("INCRMIGEATING", || async {
        let t = dcs.show_task(&id).await?;
        Ok((t.status == Some(MigrationStatus::IncrMigrating)).then_some(t))
    })
    .await;
    assert!(!format!("{task:?}").contains("redis-PASSWORD-x"));
    let stats = dcs.task_stats(&id).await.expect("stats");
    assert!(stats.is_migrating.is_some() || stats.full_migration_progress.is_some());

    let stopping = dcs.stop_task(&id).await.expect("stop");
    assert_eq!(stopping.task_id, id);
    eventually("TERMINATED", || async {
        let t = dcs.show_task(&id).await?;
        Ok((t.status == Some(MigrationStatus::Terminated)).then_some(()))
    })
    .await;

    // Restart from TERMINATED, back to incremental, stop again.
    let restarted = dcs.batch_restart(&[&id]).await.expect("restart");
    assert_eq!(
        restarted.migration_tasks.first().map(|r| r.result.as_str()),
        Some("success")
    );
    eventually("INCRMIGEATING again", || async {
        let t = dcs.show_task(&id).await?;
        Ok((t.status == Some(MigrationStatus::IncrMigrating)).then_some(()))
    })
    .await;
    dcs.stop_task(&id).await.expect("stop again");
    eventually("TERMINATED again", || async {
        let t = dcs.show_task(&id).await?;
        Ok((t.status == Some(MigrationStatus::Terminated)).then_some(()))
    })
    .await;

    let deleted = dcs.delete_tasks(&[&id]).await.expect("delete");
    assert_eq!(deleted.task_id_list, vec![id.clone()]);
    let err = dcs.show_task(&id).await.expect_err("gone");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("DCS.4133"));
    assert!(
        dcs.list_all_tasks(None)
            .await
            .expect("list")
            .iter()
            .all(|t| t.task_id != id)
    );

    emu.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_get_through_injected_throttling_and_server_errors() {
    // Throttling only: creates are retried through 429s, never duplicated.
    let (emu, cloud) = start("throttle=0.4,seed=3").await;
    for i in 0..6 {
        emu.register_source_named(&format!("host-{i}"))
            .expect("seed source");
    }
    let sources = cloud
        .sms()
        .list_all_sources(&ListSourcesQuery::default())
        .await
        .expect("list");
    assert_eq!(sources.len(), 6);
    for (i, s) in sources.iter().enumerate() {
        cloud
            .sms()
            .create_task(&task_for(&format!("t-{i}"), &s.id))
            .await
            .expect("create through 429s");
    }
    let tasks = cloud
        .sms()
        .list_all_tasks(&ListTasksQuery::default())
        .await
        .expect("list tasks");
    assert_eq!(tasks.len(), 6, "no duplicate tasks");
    let creates = cloud.stats().route("SMS POST /v3/tasks");
    assert_eq!(creates.calls, 6);
    assert!(
        creates.retries > 0,
        "seed 3 throttles some creates: {creates:?}"
    );
    assert_eq!(
        emulator_route_count(&emu, "POST /v3/tasks").await,
        creates.requests
    );
    emu.shutdown().await.expect("shutdown");

    // Throttling and 500s: reads retry through both.
    let (emu, cloud) = start("throttle=0.2,error=0.3,seed=11").await;
    emu.register_source_named("solo").expect("seed source");
    for _ in 0..20 {
        let page = cloud
            .sms()
            .list_sources_page(&ListSourcesQuery::default(), 0, 50)
            .await
            .expect("list");
        assert_eq!(page.items.len(), 1);
    }
    let s = cloud.stats().route("SMS GET /v3/sources");
    assert_eq!((s.calls, s.errors), (20, 0));
    assert!(s.retries > 0, "{s:?}");
    assert_eq!(
        emulator_route_count(&emu, "GET /v3/sources").await,
        s.requests
    );
    let stats = emu.stats();
    assert!(
        stats["by_status"]["429"].as_u64().unwrap_or(0) > 0,
        "{stats}"
    );
    assert!(
        stats["by_status"]["500"].as_u64().unwrap_or(0) > 0,
        "{stats}"
    );
    emu.shutdown().await.expect("shutdown");
}

/// A seed whose first fault decision is a drop (same injector as the emulator's).
fn seed_dropping_first_request(spec: &str) -> u64 {
    let base: FaultSpec = spec.parse().expect("spec");
    (0..1000)
        .find(|&seed| {
            FaultInjector::new(FaultSpec {
                seed,
                ..base.clone()
            })
            .decide()
                == Some(Fault::Drop)
        })
        .expect("some seed drops the first request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_response_is_dropped_is_outcome_unknown_and_not_repeated() {
    let seed = seed_dropping_first_request("drop=0.5");
    let (emu, cloud) = start(&format!("drop=0.5,seed={seed}")).await;
    let src = emu.register_source_named("db-01").expect("seed source");

    // The first API request is the create: the emulator commits it, then drops the connection.
    let err = cloud
        .sms()
        .create_task(&task_for("db-01", &src))
        .await
        .expect_err("dropped");
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(
        matches!(&*err.kind, ErrorKind::OutcomeUnknown { method, path, .. } if method == "POST" && path == "/v3/tasks")
    );
    assert_eq!(err.retries, 0);
    assert_eq!(cloud.stats().route("SMS POST /v3/tasks").requests, 1);
    assert_eq!(emulator_route_count(&emu, "POST /v3/tasks").await, 1);

    // Looking it up by name (GETs retry through further drops) finds exactly one task.
    let found = cloud.sms().tasks_named("db-01").await.expect("lookup");
    assert_eq!(found.len(), 1);
    assert_eq!(emulator_route_count(&emu, "POST /v3/tasks").await, 1);
    emu.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_works_and_a_wrong_secret_key_is_a_401() {
    let mut cfg = emu_config("");
    cfg.token = Some("iam-token-123".into());
    let emu = RunningEmulator::start(cfg).await.expect("emulator");
    emu.register_source_named("a").expect("seed");

    let with_token = Cloud::new(&client_config(&emu, Auth::token("iam-token-123"))).expect("cloud");
    assert_eq!(
        with_token
            .sms()
            .list_all_sources(&ListSourcesQuery::default())
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        with_token
            .dcs()
            .list_all_tasks(None)
            .await
            .expect("dcs list")
            .is_empty()
    );

    let wrong_sk = "WRONG-sk-never-shown";
    let bad = Cloud::new(&client_config(&emu, Auth::aksk(AK, wrong_sk))).expect("cloud");
    let err = bad
        .sms()
        .list_all_sources(&ListSourcesQuery::default())
        .await
        .expect_err("401");
    assert_eq!((err.status(), err.code()), (Some(401), Some("APIG.0301")));
    assert!(matches!(&*err.kind, ErrorKind::Api { status: 401, .. }));
    assert_eq!(err.retries, 0, "auth failures are not retried");
    assert!(err.request_id.is_some());
    for text in [format!("{err}"), format!("{err:?}"), format!("{bad:?}")] {
        assert!(!text.contains(wrong_sk) && !text.contains(SK), "{text}");
    }

    let bad_token = Cloud::new(&client_config(&emu, Auth::token("nope"))).expect("cloud");
    let err = bad_token.dcs().show_task("x").await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    emu.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_is_recognised_for_both_services() {
    let (emu, cloud) = start("").await;
    let err = cloud
        .sms()
        .show_task("00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("404");
    assert!(err.is_not_found(), "{err}");
    let err = cloud
        .dcs()
        .show_task("no-such-task")
        .await
        .expect_err("DCS.4133");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.status(), Some(400));
    emu.shutdown().await.expect("shutdown");
}
