//! The shared lock and run journal on PostgreSQL (`--lock-url`, `MIGPLAN_LOCK_URL`).
//!
//! With a lock URL, apply takes the lock on PostgreSQL (an advisory lock on the same key as
//! the file lock: plan name and target identity) instead of the local file, and records the
//! run and its steps from the executor's events. A journal that becomes unreachable mid-run
//! stops the run as Ctrl-C does (calls in flight finish, nothing new starts) and the run
//! exits 1. Without a lock URL nothing changes, except one warning when `CI` is set: a file
//! lock on a fresh runner excludes nobody.

use std::sync::Arc;
use std::time::Duration;

use migplan_executor::{Event, EventSink, Interrupt};
use migplan_journal::{
    DbUrl, Journal, LockRequest, Outcome, RunId, SharedLock, StepEnd, StepStart, Who,
};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::exit::ExitStatus;
use crate::lock;

/// Environment variable naming the lock and journal database.
pub const ENV_LOCK_URL: &str = "MIGPLAN_LOCK_URL";

/// How long the end of a run may take to reach the journal.
const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a running apply checks that it still holds the shared lock.
const LOCK_CHECK_INTERVAL: Duration = Duration::from_secs(3);

/// The lock an apply holds.
pub enum Held {
    /// No lock (`--local`: nothing shared is changed).
    None,
    /// The local file lock (released when dropped).
    File(#[expect(dead_code, reason = "held for its Drop")] lock::ApplyLock),
    /// The lock on PostgreSQL, and its journal.
    Shared(Box<Shared>),
}

/// The PostgreSQL lock and journal of one apply.
pub struct Shared {
    handle: tokio::runtime::Handle,
    lock: Option<Arc<SharedLock>>,
    watcher: Option<tokio::task::JoinHandle<bool>>,
    journal: Arc<Journal>,
    plan: String,
    plan_sha256: String,
    run: Option<RunId>,
    writer: Option<tokio::task::JoinHandle<Result<(), migplan_journal::Error>>>,
}

impl Drop for Shared {
    // An early return (no changes, stale plan, refusal) still releases the lock and clears
    // its holder row; outside the runtime only (Drop inside it cannot wait).
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take().and_then(Arc::into_inner)
            && tokio::runtime::Handle::try_current().is_err()
        {
            // The timer is made inside the runtime: outside it, tokio has no clock to use.
            let _ = self
                .handle
                .block_on(async { tokio::time::timeout(FINISH_TIMEOUT, lock.release()).await });
        }
    }
}

/// The sha256 of the plan text, as recorded with the lock holder and the run.
pub fn plan_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What to lock.
pub struct Target<'a> {
    /// Plan name.
    pub plan: &'a str,
    /// The target identity (`None`: `--local`).
    pub identity: Option<&'a str>,
    /// How the target is shown.
    pub shown: &'a str,
    /// The plan text's sha256.
    pub plan_sha256: String,
}

/// Takes the lock: on PostgreSQL when a lock URL is set, else the file lock.
pub fn take(
    runtime: &Runtime,
    url: Option<&str>,
    target: &Target<'_>,
    timeout: Option<Duration>,
    json: bool,
) -> miette::Result<Held> {
    let Some(identity) = target.identity else {
        return Ok(Held::None);
    };
    let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
            let warning = format!(
                "CI is set but no --lock-url / {ENV_LOCK_URL}: the lock is a local file, so applies on other runners are not excluded"
            );
            if json {
                // The JSON stream stays the only output under --format json.
                let event = serde_json::json!({"type": "warning", "message": warning});
                let _ = std::io::Write::write_fmt(
                    &mut std::io::stdout().lock(),
                    format_args!("{event}\n"),
                );
            } else {
                line(&format!("warning: {warning}"));
            }
        }
        let key = lock::LockKey {
            plan: target.plan,
            identity,
            shown: target.shown,
        };
        let held = lock::acquire(&lock::lock_dir(), &key, timeout)?;
        if let Some(dead) = &held.stale {
            line(&format!(
                "note: the previous apply ({dead}) ended without releasing its lock; it was taken over"
            ));
        }
        return Ok(Held::File(held));
    };
    let url = DbUrl::parse(url)?;
    // The same key as the file lock: a plan against a target identity.
    let key = format!("{}\0{identity}", target.plan);
    let label = format!("plan {} against {}", target.plan, target.shown);
    let req = LockRequest {
        key: &key,
        label: &label,
        plan_sha256: &target.plan_sha256,
        who: Who::current(),
    };
    let (lock, journal) = runtime.block_on(async {
        let lock = match timeout {
            Some(t) => SharedLock::acquire(&url, &req, t).await?,
            None => SharedLock::try_acquire(&url, &req).await?,
        };
        let journal = Journal::open(&url).await?;
        Ok::<_, migplan_journal::Error>((lock, journal))
    })?;
    if let Some(dead) = lock.stale() {
        line(&format!(
            "note: the previous apply ({dead}) ended without releasing its lock; it was taken over"
        ));
    }
    Ok(Held::Shared(Box::new(Shared {
        handle: runtime.handle().clone(),
        lock: Some(Arc::new(lock)),
        watcher: None,
        journal: Arc::new(journal),
        plan: target.plan.to_string(),
        plan_sha256: target.plan_sha256.clone(),
        run: None,
        writer: None,
    })))
}

impl Held {
    /// The sink apply runs with: `sink`, plus the journal's recording when shared. A journal
    /// write that fails stops the run (`interrupt.stop`).
    pub fn record(
        &mut self,
        runtime: &Runtime,
        sink: Box<dyn EventSink>,
        interrupt: &Interrupt,
    ) -> miette::Result<Box<dyn EventSink>> {
        let Held::Shared(shared) = self else {
            return Ok(sink);
        };
        let run = runtime.block_on(shared.journal.start_run(
            &shared.plan,
            &shared.plan_sha256,
            &Who::current(),
        ))?;
        shared.run = Some(run);
        let (tx, rx) = mpsc::unbounded_channel();
        let journal = shared.journal.clone();
        let stop = interrupt.stop.clone();
        shared.writer = Some(runtime.spawn(write_events(journal, run, rx, stop.clone())));
        if let Some(lock) = &shared.lock {
            shared.watcher = Some(runtime.spawn(watch_lock(lock.clone(), stop)));
        }
        Ok(Box::new(Recording { inner: sink, tx }))
    }

    /// Records the end of the run and releases the lock. A journal that failed makes the
    /// run's status an error (1), said on stderr.
    pub fn finish(
        self,
        runtime: &Runtime,
        sink: Box<dyn EventSink>,
        status: ExitStatus,
    ) -> ExitStatus {
        // Closing the channel lets the writer drain and end.
        drop(sink);
        let Held::Shared(mut shared) = self else {
            return status;
        };
        let mut status = status;
        let journal = shared.journal.clone();
        let run = shared.run;
        let writer = shared.writer.take();
        let watcher = shared.watcher.take();
        let lock = shared.lock.take();
        runtime.block_on(async {
            // Each failure was said when it happened; here it only decides the status, and a
            // database known lost is not tried again.
            let mut lost = false;
            if let Some(watcher) = watcher {
                watcher.abort();
                lost |= matches!(watcher.await, Ok(true));
            }
            if let Some(writer) = writer {
                match tokio::time::timeout(FINISH_TIMEOUT, writer).await {
                    Ok(Ok(Ok(()))) => {}
                    Ok(Ok(Err(_))) => lost = true,
                    Ok(Err(_)) | Err(_) => {
                        line("Error: the run journal did not finish recording the run");
                        lost = true;
                    }
                }
            }
            if lost {
                status = ExitStatus::Error;
                return;
            }
            if let Some(run) = run
                && let Err(e) = journal.finish_run(run, i32::from(status.code())).await
            {
                line(&format!("Error: the run journal failed: {e}"));
                status = ExitStatus::Error;
            }
            if let Some(lock) = lock.and_then(Arc::into_inner)
                && let Err(e) = lock.release().await
            {
                // The lock went with its connection; the holder row is cleared by the next
                // holder. Worth saying, not worth failing a finished run for.
                line(&format!("note: releasing the shared lock: {e}"));
            }
        });
        status
    }
}

/// Forwards every event to the sink shown to the user, and a copy to the journal writer.
struct Recording {
    inner: Box<dyn EventSink>,
    tx: mpsc::UnboundedSender<Event>,
}

impl EventSink for Recording {
    fn on_event(&self, event: &Event) {
        self.inner.on_event(event);
        // The writer gone (it failed and stopped the run) is not this sink's to report.
        let _ = self.tx.send(event.clone());
    }
}

/// Checks the lock every few seconds while the run goes on; a lock lost (its database
/// unreachable, its session ended) stops the run: other runners may be starting theirs.
/// Whether it was lost.
async fn watch_lock(lock: Arc<SharedLock>, stop: tokio_util::sync::CancellationToken) -> bool {
    loop {
        tokio::time::sleep(LOCK_CHECK_INTERVAL).await;
        let why = match lock.still_held().await {
            Ok(true) => continue,
            Ok(false) => "the server no longer shows it held".to_string(),
            Err(e) => e.to_string(),
        };
        line(&format!(
            "Error: the shared lock was lost ({why})\n  no new steps start; waiting for calls in flight"
        ));
        stop.cancel();
        return true;
    }
}

async fn write_events(
    journal: Arc<Journal>,
    run: RunId,
    mut rx: mpsc::UnboundedReceiver<Event>,
    stop: tokio_util::sync::CancellationToken,
) -> Result<(), migplan_journal::Error> {
    while let Some(event) = rx.recv().await {
        if let Err(e) = write_event(&journal, run, &event).await {
            // Start nothing new that would go unrecorded; calls in flight finish.
            line(&format!(
                "Error: the run journal failed: {e}\n  no new steps start; waiting for calls in flight"
            ));
            stop.cancel();
            return Err(e);
        }
    }
    Ok(())
}

async fn write_event(
    journal: &Journal,
    run: RunId,
    event: &Event,
) -> Result<(), migplan_journal::Error> {
    match event {
        Event::StepStarted {
            step,
            resource,
            label,
            ..
        } => {
            journal
                .step_started(
                    run,
                    &StepStart {
                        step,
                        resource: resource.as_deref(),
                        label,
                    },
                )
                .await
        }
        Event::StepCompleted {
            step,
            resource,
            note,
            ..
        } => {
            finished(
                journal,
                run,
                step,
                resource,
                Outcome::Done,
                None,
                note.as_deref(),
            )
            .await
        }
        Event::StepFailed {
            step,
            resource,
            error,
        } => {
            journal
                .step_finished(
                    run,
                    &StepEnd {
                        step,
                        resource: resource.as_deref(),
                        outcome: Outcome::Failed,
                        request_id: error.request_id.as_deref(),
                        error_code: error.code.as_deref(),
                        message: Some(&error.message),
                    },
                )
                .await
        }
        Event::StepSkipped {
            step,
            resource,
            because,
        } => {
            let why = format!("not run: {because} failed");
            finished(
                journal,
                run,
                step,
                resource,
                Outcome::Skipped,
                None,
                Some(&why),
            )
            .await
        }
        Event::ApplySummary(summary) => {
            for s in &summary.in_progress {
                let why = "still in progress in the cloud when this run stopped watching";
                finished(
                    journal,
                    run,
                    &s.step,
                    &s.resource,
                    Outcome::Cut,
                    None,
                    Some(why),
                )
                .await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn finished(
    journal: &Journal,
    run: RunId,
    step: &str,
    resource: &Option<String>,
    outcome: Outcome,
    error_code: Option<&str>,
    message: Option<&str>,
) -> Result<(), migplan_journal::Error> {
    journal
        .step_finished(
            run,
            &StepEnd {
                step,
                resource: resource.as_deref(),
                outcome,
                // Only failures carry the request id of their call.
                request_id: None,
                error_code,
                message,
            },
        )
        .await
}

fn line(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
