//! Figures for the shared lock and the run journal against a PostgreSQL on this machine
//! (figures only, never pass/fail):
//!
//! ```sh
//! MIGPLAN_BENCH_PG='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
//!   cargo run --release -p migplan-journal --example journal_bench -- 20 200
//! ```
//!
//! Arguments: runs, steps per run. Prints the lock's acquire + release round trip and the
//! journal's step writes per second (one start and one end per step, written in order on one
//! connection, as apply writes them). The rows stay: point it at a scratch database.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use migplan_journal::{DbUrl, Journal, LockRequest, Outcome, SharedLock, StepEnd, StepStart, Who};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("MIGPLAN_BENCH_PG").map_err(|_| "set MIGPLAN_BENCH_PG")?;
    let host = url
        .split('@')
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost" | "[" | "") {
        return Err("MIGPLAN_BENCH_PG must name a loopback host".into());
    }
    let mut args = std::env::args().skip(1);
    let runs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let steps: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let url = DbUrl::parse(&url)?;
    let who = Who::current();

    let key = format!("bench-{}", std::process::id());
    let req = LockRequest {
        key: &key,
        label: "bench",
        plan_sha256: "bench",
        who: who.clone(),
    };
    let mut lock_times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        SharedLock::try_acquire(&url, &req).await?.release().await?;
        lock_times.push(t.elapsed());
    }
    lock_times.sort();
    println!(
        "lock: connect + acquire + release, median {:?}, max {:?} (20 rounds)",
        lock_times[lock_times.len() / 2],
        lock_times[lock_times.len() - 1]
    );

    let journal = Journal::open(&url).await?;
    let plan = format!("bench-{}", std::process::id());
    let t = Instant::now();
    for _ in 0..runs {
        let run = journal.start_run(&plan, "bench", &who).await?;
        for i in 0..steps {
            let step = format!("server.s-{i}#start");
            journal
                .step_started(
                    run,
                    &StepStart {
                        step: &step,
                        resource: Some("server.s"),
                        label: "start",
                    },
                )
                .await?;
            journal
                .step_finished(
                    run,
                    &StepEnd {
                        step: &step,
                        resource: Some("server.s"),
                        outcome: Outcome::Done,
                        request_id: Some("req-bench"),
                        error_code: None,
                        message: None,
                    },
                )
                .await?;
        }
        journal.finish_run(run, 0).await?;
    }
    let elapsed = t.elapsed();
    let writes = f64::from(runs) * (2.0 * f64::from(steps) + 2.0);
    println!(
        "journal: {runs} runs x {steps} steps = {writes} writes in {:.2?}: {:.0} writes/s",
        elapsed,
        writes / elapsed.as_secs_f64().max(1e-9)
    );
    let t = Instant::now();
    let h = journal.history(&plan, 20).await?;
    let read = t.elapsed();
    let total: usize = h.iter().map(|r| r.steps.len()).sum();
    println!(
        "history: {} runs with {total} steps read in {read:.2?}",
        h.len()
    );
    Ok(())
}
