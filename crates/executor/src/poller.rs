//! [`Poller`]: one per service. Lists the service's tasks (one paged walk) at most once per
//! interval, and only while some step waits, into the [`LiveStore`](crate::live_store::LiveStore).
//! Every waiting step re-checks its condition on each new view, so the API calls spent waiting
//! grow with the number of tasks divided by the page size, never with the number of waiting
//! steps.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::event::StepError;
use crate::live_store::{Demand, Named, Writer};

/// Polls one service.
#[derive(Debug)]
pub(crate) struct Poller<T> {
    /// Time between the starts of two walks.
    pub interval: Duration,
    /// Readers waiting (shared with the store handle).
    pub demand: Arc<Demand>,
    /// Where results go.
    pub writer: Writer<T>,
}

impl<T: Named> Poller<T> {
    /// Runs until `cancel`: waits for demand, lists, publishes, waits out the interval.
    pub(crate) async fn run<F, Fut>(self, fetch: F, cancel: CancellationToken)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<T>, migplan_cloud::Error>>,
    {
        let mut last: Option<Instant> = None;
        loop {
            while self.demand.waiters() == 0 {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = self.demand.rung() => {}
                }
            }
            if let Some(l) = last {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep_until(l + self.interval) => {}
                }
                if self.demand.waiters() == 0 {
                    continue;
                }
            }
            let started = Instant::now();
            last = Some(started);
            let result = tokio::select! {
                _ = cancel.cancelled() => return,
                r = fetch() => r,
            };
            match result {
                Ok(items) => self.writer.publish(items, started),
                Err(e) => {
                    tracing::warn!(error = %e, "poll failed");
                    self.writer.publish_error(StepError::from_cloud(&e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live_store::LiveStore;
    use migplan_wire::sms::Task;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn one_walk_per_interval_however_many_wait_and_none_when_nobody_waits() {
        let (store, writers) = LiveStore::new(vec![], vec![], Instant::now());
        let calls = Arc::new(AtomicUsize::new(0));
        let cancel = CancellationToken::new();
        let poller = Poller {
            interval: Duration::from_secs(10),
            demand: store.sms.demand(),
            writer: writers.sms,
        };
        let c = calls.clone();
        let handle = tokio::spawn(poller.run(
            move || {
                c.fetch_add(1, Ordering::SeqCst);
                async { Ok::<Vec<Task>, migplan_cloud::Error>(vec![]) }
            },
            cancel.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nobody waits: no call");
        // 100 readers each wait for three fresh views.
        let mut readers = Vec::new();
        for _ in 0..100 {
            let store = store.clone();
            let cut = cancel.child_token();
            readers.push(tokio::spawn(async move {
                let after = Some(Instant::now());
                let mut seq = 0;
                for _ in 0..3 {
                    if let Some(v) = store.sms.fresh(after, seq, &cut).await {
                        seq = v.seq + 1;
                    }
                }
            }));
        }
        for r in readers {
            let _ = r.await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        cancel.cancel();
        let _ = handle.await;
    }
}
