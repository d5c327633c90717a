//! A request gate around every HTTP request of a `Cloud`, against the emulator's rate limit
//! over real HTTP: asked before each request (retries included), told of each answer, and of
//! each 429 with its `Retry-After`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migplan_cloud::wire::sms::ListTasksQuery;
use migplan_cloud::{Auth, Cloud, CloudConfig, GateAnswer, RequestGate, RetryPolicy, Service};
use migplan_emulator::{EmulatorConfig, RunningEmulator};

const AK: &str = "AK-GATE";
const SK: &str = "SK-GATE-do-not-print";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";

/// Records what it is asked and told; never makes anyone wait.
#[derive(Debug, Default)]
struct Recorder {
    admitted: Mutex<Vec<Service>>,
    answers: Mutex<Vec<(Service, u64, GateAnswer)>>,
}

impl RequestGate for Recorder {
    fn admit(&self, service: Service) -> Pin<Box<dyn Future<Output = u64> + Send + '_>> {
        let mut admitted = self.admitted.lock().expect("lock");
        admitted.push(service);
        let ticket = admitted.len() as u64 - 1;
        Box::pin(async move { ticket })
    }
    fn answered(&self, service: Service, ticket: u64, answer: GateAnswer) {
        self.answers
            .lock()
            .expect("lock")
            .push((service, ticket, answer));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_is_asked_before_every_request_and_told_of_every_429() {
    let mut ecfg = EmulatorConfig::new(AK, SK);
    ecfg.faults = "ratelimit=1".parse().expect("spec");
    let emu = RunningEmulator::start(ecfg).await.expect("emulator");
    let cfg = CloudConfig::local(&emu.base_url(), Auth::aksk(AK, SK))
        .expect("config")
        .with_project_id(PROJECT)
        .with_retry(RetryPolicy {
            max_retries: 8,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        });
    let cloud = Cloud::new(&cfg).expect("cloud");
    let recorder = Arc::new(Recorder::default());
    let gated = cloud.with_gate(recorder.clone());

    // One request a second per service: the SMS lists after the first wait out 429s.
    for _ in 0..3 {
        gated
            .sms()
            .list_tasks_page(&ListTasksQuery::default(), 0, 10)
            .await
            .expect("listed in the end");
    }
    gated.dcs().list_all_tasks(None).await.expect("listed");

    let stats = emu.stats();
    let admitted = recorder.admitted.lock().expect("lock").clone();
    let answers = recorder.answers.lock().expect("lock").clone();
    assert_eq!(admitted.len() as u64, stats["requests_total"], "{stats}");
    let mut tickets: Vec<u64> = answers.iter().map(|a| a.1).collect();
    tickets.sort_unstable();
    assert_eq!(tickets, (0..admitted.len() as u64).collect::<Vec<_>>());
    let throttled: Vec<_> = answers
        .iter()
        .filter(|a| matches!(a.2, GateAnswer::Throttled { .. }))
        .collect();
    assert!(!throttled.is_empty(), "{answers:?}");
    assert_eq!(
        throttled.len() as u64,
        stats["faults"]["ratelimit"],
        "{stats}"
    );
    for (service, _, answer) in &throttled {
        assert_eq!(*service, Service::Sms);
        assert_eq!(
            *answer,
            GateAnswer::Throttled {
                retry_after: Some(Duration::from_secs(1))
            }
        );
    }
    assert_eq!(admitted.iter().filter(|s| **s == Service::Dcs).count(), 1);

    // The Cloud it was made from sends without asking.
    cloud
        .sms()
        .list_tasks_page(&ListTasksQuery::default(), 0, 10)
        .await
        .ok();
    assert_eq!(
        recorder.admitted.lock().expect("lock").len(),
        admitted.len()
    );
    emu.shutdown().await.expect("shutdown");
}
