//! The lock and the journal against a real PostgreSQL (see `support`).

#![allow(clippy::print_stderr, clippy::print_stdout)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use migplan_journal::{
    DbUrl, Error, Journal, LockRequest, Outcome, SCHEMA_VERSION, SharedLock, StepEnd, StepStart,
    Who,
};

fn who(host: &str) -> Who {
    Who {
        user: "tester".into(),
        host: host.into(),
        pid: std::process::id(),
        ci_job_url: None,
    }
}

fn req<'a>(key: &'a str, who: Who) -> LockRequest<'a> {
    LockRequest {
        key,
        label: "",
        plan_sha256: "ab12",
        who,
    }
}

/// The server, or return from the test (skipping loudly; never with `CI` set).
macro_rules! server_or_skip {
    () => {
        match support::server() {
            Some(s) => s,
            None => return,
        }
    };
}

#[tokio::test]
async fn two_lockers_on_different_hosts_one_wins_and_the_other_is_refused_naming_it() {
    let server = server_or_skip!();
    let (url, _, _admin) = server.fresh_db().await;
    let mut a_who = who("runner-a");
    a_who.ci_job_url = Some("https://ci.example/acme/infra/actions/runs/42".into());
    let a = SharedLock::try_acquire(&url, &req("wave-1\0target", a_who))
        .await
        .expect("first locker");
    assert!(a.stale().is_none());

    let err = SharedLock::try_acquire(&url, &req("wave-1\0target", who("runner-b")))
        .await
        .expect_err("the second locker is refused");
    let text = err.to_string();
    assert!(matches!(err, Error::Held { .. }), "{text}");
    assert!(text.contains("runner-a"), "names the holder's host: {text}");
    assert!(text.contains("actions/runs/42"), "names the CI job: {text}");
    assert!(!text.contains("runner-b"), "{text}");

    // Another key is another lock.
    let other = SharedLock::try_acquire(&url, &req("wave-2\0target", who("runner-b")))
        .await
        .expect("another key");
    other.release().await.expect("release");

    a.release().await.expect("release");
    let b = SharedLock::try_acquire(&url, &req("wave-1\0target", who("runner-b")))
        .await
        .expect("free after release");
    assert!(b.stale().is_none(), "a clean release leaves no holder row");
    assert!(b.still_held().await.expect("reachable"));
    b.release().await.expect("release");
}

#[tokio::test]
async fn a_session_without_a_holder_row_is_named_by_its_backend_pid() {
    let server = server_or_skip!();
    let (url, _, admin) = server.fresh_db().await;
    let key = "plan\0target";
    let k = migplan_journal::advisory_key(key);
    let backend: i32 = admin
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&k])
        .await
        .expect("lock by hand");
    let err = SharedLock::try_acquire(&url, &req(key, who("runner-b")))
        .await
        .expect_err("held by hand");
    let text = err.to_string();
    assert!(text.contains(&format!("backend pid {backend}")), "{text}");
    admin
        .execute("SELECT pg_advisory_unlock($1)", &[&k])
        .await
        .expect("unlock");
    SharedLock::try_acquire(&url, &req(key, who("runner-b")))
        .await
        .expect("free")
        .release()
        .await
        .expect("release");
}

/// Not a test on its own: the child process of
/// `a_killed_holder_frees_the_lock_for_the_next_acquire`, which runs this test binary again
/// with the URL and key in its environment. It takes the lock, says so, and waits to be
/// killed.
#[tokio::test]
async fn child_holds_the_lock_until_killed() {
    let (Ok(url), Ok(key)) = (
        std::env::var("MIGPLAN_CHILD_LOCK_URL"),
        std::env::var("MIGPLAN_CHILD_LOCK_KEY"),
    ) else {
        return;
    };
    let url = DbUrl::parse(&url).expect("url");
    let mut w = who("child-runner");
    w.pid = std::process::id();
    let lock = SharedLock::try_acquire(&url, &req(&key, w))
        .await
        .expect("child lock");
    println!("LOCKED");
    tokio::time::sleep(Duration::from_secs(600)).await;
    drop(lock);
}

/// A child process killed however the test ends (a failed assertion included).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_killed_holder_frees_the_lock_for_the_next_acquire() {
    let server = server_or_skip!();
    let (url, url_text, _admin) = server.fresh_db().await;
    let key = "plan/target";
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "child_holds_the_lock_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MIGPLAN_CHILD_LOCK_URL", &url_text)
            .env("MIGPLAN_CHILD_LOCK_KEY", key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the holder"),
    );
    let child_pid = child.0.id();
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest prints "test NAME ... " before it, on the same line.
            if line.trim_end().ends_with("LOCKED") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(120)).is_err() {
        let _ = child.0.kill();
        let mut stderr = String::new();
        if let Some(mut e) = child.0.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        panic!("the child never took the lock: {stderr}");
    }
    let err = SharedLock::try_acquire(&url, &req(key, who("runner-b")))
        .await
        .expect_err("held by the child");
    assert!(err.to_string().contains("child-runner"), "{err}");

    child.0.kill().expect("SIGKILL the holder");
    let _ = child.0.wait();
    let killed = Instant::now();
    let lock = SharedLock::acquire(&url, &req(key, who("runner-b")), Duration::from_secs(30))
        .await
        .expect("the dead holder's lock is free");
    eprintln!(
        "figure: lock acquired {:?} after SIGKILL of its holder",
        killed.elapsed()
    );
    let stale = lock
        .stale()
        .expect("the dead holder's row is reported stale");
    assert_eq!(stale.who.host, "child-runner");
    assert_eq!(stale.who.pid, child_pid);
    lock.release().await.expect("release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_concurrent_acquirers_all_run_and_never_two_at_once() {
    let server = server_or_skip!();
    let (url, _, admin) = server.fresh_db().await;
    admin
        .batch_execute(
            "CREATE TABLE critical (worker int NOT NULL, entered timestamptz NOT NULL, left_at timestamptz)",
        )
        .await
        .expect("table");
    let db = url_db_name(&url);
    let inside = Arc::new(AtomicUsize::new(0));
    let most_inside = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..5i32 {
        let url = url.clone();
        let inside = inside.clone();
        let most_inside = most_inside.clone();
        let client = server.client(&db).await;
        tasks.push(tokio::spawn(async move {
            let host = format!("runner-{i}");
            let lock = SharedLock::acquire(
                &url,
                &req("plan\0target", who(&host)),
                Duration::from_secs(120),
            )
            .await?;
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most_inside.fetch_max(now, Ordering::SeqCst);
            client
                .execute(
                    "INSERT INTO critical (worker, entered) VALUES ($1, clock_timestamp())",
                    &[&i],
                )
                .await
                .expect("enter");
            tokio::time::sleep(Duration::from_millis(150)).await;
            client
                .execute(
                    "UPDATE critical SET left_at = clock_timestamp() WHERE worker = $1",
                    &[&i],
                )
                .await
                .expect("leave");
            inside.fetch_sub(1, Ordering::SeqCst);
            lock.release().await?;
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("every acquirer ran");
    }
    assert_eq!(most_inside.load(Ordering::SeqCst), 1);
    let rows: i64 = admin
        .query_one(
            "SELECT count(*) FROM critical WHERE left_at IS NOT NULL",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 5);
    let overlaps: i64 = admin
        .query_one(
            "SELECT count(*) FROM critical a JOIN critical b ON a.worker < b.worker
             AND a.entered < b.left_at AND b.entered < a.left_at",
            &[],
        )
        .await
        .expect("overlaps")
        .get(0);
    assert_eq!(overlaps, 0, "two holders were inside at once");
}

#[tokio::test]
async fn a_lock_timeout_names_the_holder() {
    let server = server_or_skip!();
    let (url, _, _admin) = server.fresh_db().await;
    let a = SharedLock::try_acquire(&url, &req("k", who("runner-a")))
        .await
        .expect("first");
    let err = SharedLock::acquire(&url, &req("k", who("runner-b")), Duration::from_millis(400))
        .await
        .expect_err("still held");
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("runner-a"), "{err}");
    a.release().await.expect("release");
}

#[tokio::test]
async fn history_lists_runs_with_their_steps_and_request_ids() {
    let server = server_or_skip!();
    let (url, _, _admin) = server.fresh_db().await;
    let j = Journal::open(&url).await.expect("journal");
    let mut me = who("runner-a");
    me.ci_job_url = Some("https://gitlab.example/j/7".into());
    let first = j.start_run("wave-1", "sha-1", &me).await.expect("run");
    let start = |step: &'static str, label: &'static str| StepStart {
        step,
        resource: Some("server.db-01"),
        label,
    };
    j.step_started(first, &start("server.db-01#create", "create"))
        .await
        .expect("start");
    j.step_finished(
        first,
        &StepEnd {
            step: "server.db-01#create",
            resource: Some("server.db-01"),
            outcome: Outcome::Done,
            request_id: Some("req-0001"),
            error_code: None,
            message: None,
        },
    )
    .await
    .expect("done");
    j.step_started(first, &start("server.db-01#start", "start"))
        .await
        .expect("start");
    let long = "x".repeat(5000);
    j.step_finished(
        first,
        &StepEnd {
            step: "server.db-01#start",
            resource: Some("server.db-01"),
            outcome: Outcome::Failed,
            request_id: Some("req-0002"),
            error_code: Some("SMS.1039"),
            message: Some(&long),
        },
    )
    .await
    .expect("failed");
    // Skipped: never started, still recorded.
    j.step_finished(
        first,
        &StepEnd {
            step: "server.db-01#cutover",
            resource: Some("server.db-01"),
            outcome: Outcome::Skipped,
            request_id: None,
            error_code: None,
            message: Some("server.db-01#start"),
        },
    )
    .await
    .expect("skipped");
    j.finish_run(first, 1).await.expect("finish");
    let second = j.start_run("wave-1", "sha-2", &me).await.expect("run");
    j.start_run("wave-2", "sha-3", &me)
        .await
        .expect("other plan");

    let runs = j.history("wave-1", 10).await.expect("history");
    assert_eq!(runs.len(), 2, "only this plan's runs");
    assert_eq!(runs[0].id, second, "newest first");
    assert_eq!(runs[0].exit_code, None);
    assert!(runs[0].steps.is_empty());
    let r = &runs[1];
    assert_eq!(r.id, first);
    assert_eq!(r.plan_sha256, "sha-1");
    assert_eq!(r.exit_code, Some(1));
    assert!(r.finished_at.is_some());
    assert_eq!(r.who.host, "runner-a");
    assert_eq!(
        r.who.ci_job_url.as_deref(),
        Some("https://gitlab.example/j/7")
    );
    let steps: Vec<_> = r
        .steps
        .iter()
        .map(|s| (s.step.as_str(), s.outcome, s.request_id.as_deref()))
        .collect();
    assert_eq!(
        steps,
        [
            ("server.db-01#create", Some(Outcome::Done), Some("req-0001")),
            (
                "server.db-01#start",
                Some(Outcome::Failed),
                Some("req-0002")
            ),
            ("server.db-01#cutover", Some(Outcome::Skipped), None),
        ]
    );
    let failed = &r.steps[1];
    assert_eq!(failed.label.as_deref(), Some("start"));
    assert_eq!(failed.error_code.as_deref(), Some("SMS.1039"));
    assert!(failed.started_at.is_some() && failed.finished_at.is_some());
    let msg = failed.message.as_deref().expect("message");
    assert_eq!(
        msg.chars().count(),
        migplan_journal::MESSAGE_MAX + 1,
        "capped, marked"
    );
    assert!(r.steps[2].started_at.is_none());

    assert_eq!(j.history("wave-1", 1).await.expect("history").len(), 1);
    assert!(j.history("nope", 10).await.expect("history").is_empty());
}

#[tokio::test]
async fn the_schema_is_created_once_and_a_newer_one_is_refused() {
    let server = server_or_skip!();
    let (url, _, admin) = server.fresh_db().await;
    // Two first uses at once: one migrates, the other waits and finds it done.
    let (a, b) = tokio::join!(Journal::open(&url), Journal::open(&url));
    a.expect("first");
    b.expect("second");
    let versions: Vec<i32> = admin
        .query("SELECT version FROM migplan_schema", &[])
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [SCHEMA_VERSION]);

    let newer = SCHEMA_VERSION + 1;
    admin
        .execute(
            "INSERT INTO migplan_schema (version) VALUES ($1)",
            &[&newer],
        )
        .await
        .expect("newer");
    let err = Journal::open(&url).await.expect_err("refused");
    assert!(
        matches!(err, Error::SchemaTooNew { found, supported, .. } if found == newer && supported == SCHEMA_VERSION),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("version {newer}")),
        "{err}"
    );
    let err = SharedLock::try_acquire(&url, &req("k", who("a")))
        .await
        .expect_err("the lock refuses it too");
    assert!(matches!(err, Error::SchemaTooNew { .. }), "{err}");
}

#[tokio::test]
async fn a_database_lost_mid_run_makes_writes_fail_as_unreachable() {
    let server = server_or_skip!();
    let (url, _, admin) = server.fresh_db().await;
    let j = Journal::open(&url).await.expect("journal");
    let lock = SharedLock::try_acquire(&url, &req("k", who("a")))
        .await
        .expect("lock");
    let run = j.start_run("p", "sha", &who("a")).await.expect("run");
    // What a server restart or a network cut does to our sessions.
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .expect("terminate");
    let err = j
        .step_started(
            run,
            &StepStart {
                step: "s",
                resource: None,
                label: "l",
            },
        )
        .await
        .expect_err("the journal is gone");
    assert!(err.is_unreachable(), "{err}");
    let err = lock.still_held().await.expect_err("the lock is gone");
    assert!(err.is_unreachable(), "{err}");
    // The lock went with its session: another runner can take it (once the server has
    // ended that session: pg_terminate_backend does not wait for it).
    SharedLock::acquire(&url, &req("k", who("b")), Duration::from_secs(30))
        .await
        .expect("free")
        .release()
        .await
        .expect("release");
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = DbUrl::parse(&format!(
        "postgres://u:hunter2@127.0.0.1:{port}/d?sslmode=disable"
    ))
    .expect("url");
    let err = Journal::open(&url).await.expect_err("nothing listens");
    let text = err.to_string();
    assert!(matches!(err, Error::Connect { .. }), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn tls_is_used_and_the_server_certificate_is_verified() {
    let server = server_or_skip!();
    let Some(ca) = &server.ca else {
        assert!(
            !server.is_ours() || std::env::var_os("CI").is_none(),
            "the test cluster has no TLS (openssl missing?), and CI is set"
        );
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "!!! SKIPPING the TLS test: the server under test has no certificate of ours"
        );
        return;
    };
    let (_, plain, admin) = server.fresh_db().await;
    let base = plain.split_once('?').map_or(plain.as_str(), |(b, _)| b);
    for mode in ["require", "prefer", "verify-full"] {
        let app = format!("tls-test-{mode}");
        let url = DbUrl::parse(&format!(
            "{base}?sslmode={mode}&sslrootcert={}&application_name={app}",
            ca.display()
        ))
        .expect("url");
        let j = Journal::open(&url).await.expect("TLS with our CA");
        j.start_run("p", "sha", &who("a"))
            .await
            .expect("write over TLS");
        let tls: Vec<bool> = admin
            .query(
                "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = $1",
                &[&app],
            )
            .await
            .expect("pg_stat_ssl")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(tls, [true], "sslmode={mode} uses TLS");
    }
    // A certificate from a CA the platform does not trust is refused, not accepted blindly.
    let url = DbUrl::parse(&format!("{base}?sslmode=require")).expect("url");
    let err = Journal::open(&url).await.expect_err("unknown CA");
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

fn url_db_name(url: &DbUrl) -> String {
    url.shown().rsplit('/').next().expect("db").to_string()
}
