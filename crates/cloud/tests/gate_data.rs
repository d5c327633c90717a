//! What a cutover gate reads, against the in-process emulator over real HTTP: a task's
//! consistency-check results, and the cloud's clock from the answers' `Date` headers.

use std::time::{Duration, Instant, SystemTime};

use migplan_cloud::wire::sms::{
    ConsistencyVerdict, CreateTaskRequest, OsType, SourceServerRef, TargetServerSpec, TaskType,
};
use migplan_cloud::{Auth, Cloud, CloudConfig, RetryPolicy};
use migplan_emulator::faults::{Fault, FaultInjector};
use migplan_emulator::{EmulatorConfig, FaultSpec, RunningEmulator};

const AK: &str = "AK-GATE";
const SK: &str = "SK-GATE-do-not-print-7";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const DAY_MS: i64 = 86_400_000;

/// An emulator on a frozen clock (time moves only when advanced) and a client for it.
async fn start(faults: &str) -> (RunningEmulator, Cloud) {
    let mut cfg = EmulatorConfig::new(AK, SK);
    cfg.time_scale = 0.0;
    cfg.faults = faults.parse::<FaultSpec>().expect("fault spec");
    let emu = RunningEmulator::start(cfg).await.expect("emulator");
    let client = CloudConfig::local(&emu.base_url(), Auth::aksk(AK, SK))
        .expect("config")
        .with_project_id(PROJECT)
        .with_domain_id("domain-1")
        .with_retry(RetryPolicy::fast(4));
    let cloud = Cloud::new(&client).expect("cloud");
    (emu, cloud)
}

/// A task that starts at once and runs the consistency check after the copy.
fn checked_task(name: &str, source_id: &str) -> CreateTaskRequest {
    CreateTaskRequest {
        name: name.to_owned(),
        task_type: TaskType::MigrateBlock,
        os_type: Some(OsType::Linux),
        source_server: SourceServerRef {
            id: source_id.to_owned(),
        },
        target_server: TargetServerSpec {
            name: format!("{name}-target"),
            ..TargetServerSpec::default()
        },
        region_name: "ap-southeast-3".into(),
        region_id: "ap-southeast-3".into(),
        project_name: "ap-southeast-3".into(),
        project_id: PROJECT.into(),
        auto_start: Some(true),
        is_need_consistency_check: Some(true),
        ..CreateTaskRequest::default()
    }
}

/// A fault seed whose first three decisions are: none, throttle, none (create, then the
/// first read throttled, then its retry), with the emulator's own injector.
fn seed_throttling_the_second_request(spec: &str) -> u64 {
    let base: FaultSpec = spec.parse().expect("spec");
    (0..10_000)
        .find(|&seed| {
            let mut f = FaultInjector::new(FaultSpec {
                seed,
                ..base.clone()
            });
            [f.decide(), f.decide(), f.decide()] == [None, Some(Fault::Throttle), None]
        })
        .expect("some seed throttles the second request only")
}

fn epoch_ms(t: SystemTime) -> i64 {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(d.as_millis()).expect("fits")
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).expect("fits")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistency_results_are_empty_until_the_check_finishes_then_judged() {
    let seed = seed_throttling_the_second_request("throttle=0.5");
    let (emu, cloud) = start(&format!("throttle=0.5,seed={seed}")).await;
    let sms = cloud.sms();
    let src = emu.register_source_named("web-01").expect("source");
    let task = sms
        .create_task(&checked_task("web-01", &src))
        .await
        .expect("create");

    // The first read is throttled (429) and retried, like every GET.
    let r = sms.consistency_results(&task).await.expect("results");
    assert_eq!(
        cloud
            .stats()
            .route("SMS GET /v3/tasks/{task_id}/consistency-result")
            .requests,
        2
    );
    assert_eq!(r.task_id.as_deref(), Some(task.as_str()));
    assert_eq!(r.verdict(), ConsistencyVerdict::NoResult);
    assert!(!r.is_consistent());

    // Setup, a 10 GiB copy, the check (2 min) and the rest fit in 20 virtual minutes.
    emu.advance(Duration::from_secs(1200));
    // Still throttled half the time: a call may run out of retries; a few calls will not.
    let mut r = None;
    for _ in 0..10 {
        match sms.consistency_results(&task).await {
            Err(e) if e.status() == Some(429) => continue,
            other => {
                r = Some(other.expect("results"));
                break;
            }
        }
    }
    let r = r.expect("an answer within ten calls");
    assert_eq!(r.verdict(), ConsistencyVerdict::Consistent, "{r:?}");
    assert!(r.is_consistent());
    assert_eq!(
        r.latest().expect("a check").consistency_result[0].dir_check,
        "/"
    );
    assert!(
        r.summary().starts_with("consistent: 1 directory (/), "),
        "{}",
        r.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inconsistent_source_fails_the_check_and_an_unknown_task_is_a_404() {
    let (emu, cloud) = start("").await;
    let sms = cloud.sms();
    let src = emu
        .register_source_named("inconsistent-db-01")
        .expect("source");
    let task = sms
        .create_task(&checked_task("inconsistent-db-01", &src))
        .await
        .expect("create");
    emu.advance(Duration::from_secs(1200));
    let r = sms.consistency_results(&task).await.expect("results");
    assert_eq!(r.verdict(), ConsistencyVerdict::Inconsistent, "{r:?}");
    let dir = &r.latest().expect("a check").consistency_result[0];
    assert_eq!(
        (dir.num_different_files, dir.num_target_miss_files),
        (Some(102), Some(20)),
        "the seed default: one disk, 10 GiB used"
    );
    assert_eq!(
        r.summary(),
        "inconsistent: /: 102 different, 20 missing, 0 extra on the target (of 10240 files) (1 of 1 directory)"
    );

    let err = sms
        .consistency_results("00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("unknown task");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("SMS.2252"));
    assert_eq!(err.retries, 0, "a 404 is not retried");
    let err = sms.consistency_results("../x").await.expect_err("bad id");
    assert_eq!(err.status(), None, "refused before sending: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_now_follows_the_emulator_clock_through_the_date_header() {
    let (emu, cloud) = start("").await;
    assert_eq!(cloud.cloud_now(), None, "no answer yet");
    // The frozen clock's Date, to the second.
    let date0 = emu.now_ms().div_euclid(1000) * 1000;

    let before = Instant::now();
    cloud
        .sms()
        .list_tasks_page(&Default::default(), 0, 10)
        .await
        .expect("list");
    let now = epoch_ms(cloud.cloud_now().expect("a Date was seen"));
    let waited = ms(before.elapsed());
    assert!(
        (date0..=date0 + waited).contains(&now),
        "{now} not in {date0}..={date0}+{waited}"
    );

    // A day later on the emulator's clock (its admin endpoint), seen on an error answer.
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/clock/advance", emu.base_url()))
        .json(&serde_json::json!({"seconds": 86_400}))
        .send()
        .await
        .expect("advance");
    assert!(resp.status().is_success());
    let before = Instant::now();
    let err = cloud
        .sms()
        .show_task("00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("unknown task");
    assert!(err.is_not_found());
    let now = epoch_ms(cloud.cloud_now().expect("a Date"));
    let waited = ms(before.elapsed());
    let date1 = date0 + DAY_MS;
    assert!(
        (date1..=date1 + waited).contains(&now),
        "{now} not in {date1}..={date1}+{waited}"
    );
    // Both clients built together share the estimate.
    let dcs_now = epoch_ms(cloud.dcs().cloud_now().expect("shared"));
    assert!(dcs_now >= date1, "{dcs_now} < {date1}");
}
