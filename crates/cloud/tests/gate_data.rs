//! What a cutover gate reads, against the in-process emulator over real HTTP: the cloud's
//! clock from the answers' `Date` headers.

use std::time::{Duration, Instant, SystemTime};

use migplan_cloud::{Auth, Cloud, CloudConfig, RetryPolicy};
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
