//! Real Redis data moved by DCS migrations between two throwaway redis-servers.

use crate::common::{PROJECT, config, secs, start};
use migplan_emulator::RunningEmulator;
use migplan_redis_verify::harness::RedisServer;
use migplan_redis_verify::{Sampling, Verdict, VerifyOptions, verify};
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TARGET_PASSWORD: &str = "target-secret-pw";

fn base() -> String {
    format!("/v2/{PROJECT}")
}

async fn con(server: &RedisServer, db: u32, password: Option<&str>) -> MultiplexedConnection {
    let url = match password {
        Some(pw) => format!("redis://:{pw}@127.0.0.1:{}/{db}", server.port()),
        None => format!("{}/{db}", server.url()),
    };
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn q(c: &mut MultiplexedConnection, cmd: &redis::Cmd) {
    let _: redis::Value = cmd.query_async(c).await.unwrap();
}

fn big(seed: u8) -> Vec<u8> {
    (0..1_200_000u32).map(|i| (i % 241) as u8 ^ seed).collect()
}

/// One key of every type, a TTL, a value over 1 MB and a key in db 2.
async fn write_generation(s: &RedisServer, tag: &str) {
    let mut c = con(s, 0, None).await;
    q(
        &mut c,
        redis::cmd("SET").arg(format!("{tag}:string")).arg("hello"),
    )
    .await;
    q(
        &mut c,
        redis::cmd("HSET")
            .arg(format!("{tag}:hash"))
            .arg("f1")
            .arg("v1")
            .arg("f2")
            .arg("v2"),
    )
    .await;
    q(
        &mut c,
        redis::cmd("RPUSH")
            .arg(format!("{tag}:list"))
            .arg("a")
            .arg("b")
            .arg("c"),
    )
    .await;
    q(
        &mut c,
        redis::cmd("SADD")
            .arg(format!("{tag}:set"))
            .arg("x")
            .arg("y"),
    )
    .await;
    q(
        &mut c,
        redis::cmd("ZADD")
            .arg(format!("{tag}:zset"))
            .arg(1.5)
            .arg("m1")
            .arg(3)
            .arg("m2"),
    )
    .await;
    q(
        &mut c,
        redis::cmd("SET")
            .arg(format!("{tag}:ttl"))
            .arg("t")
            .arg("EX")
            .arg(900),
    )
    .await;
    q(
        &mut c,
        redis::cmd("SET")
            .arg(format!("{tag}:big"))
            .arg(big(tag.len() as u8)),
    )
    .await;
    let mut c2 = con(s, 2, None).await;
    q(
        &mut c2,
        redis::cmd("SET").arg(format!("{tag}:db2")).arg("two"),
    )
    .await;
}

fn full_check() -> VerifyOptions {
    VerifyOptions {
        sampling: Sampling::Full,
        ttl_tolerance: Duration::from_secs(5),
        ..VerifyOptions::default()
    }
}

/// Waits (real time) until the target verifies against the source.
async fn until_verified(s: &RedisServer, t: &RedisServer) -> migplan_redis_verify::Report {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = verify(&s.endpoint(), &t.endpoint(), &full_check()).await;
        if r.verdict == Verdict::Pass || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status(c: &crate::common::Client, id: &str) -> String {
    c.get(&format!("{}/migration-task/{id}", base())).await.ok()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn until_status(c: &crate::common::Client, id: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = status(c, id).await;
        if now == want {
            return;
        }
        assert!(Instant::now() < deadline, "status {now}, expected {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates a task and configures it from `source` to `target`, returning its id.
async fn migrate(
    emu: &RunningEmulator,
    c: &crate::common::Client,
    method: &str,
    source: Value,
    target: Value,
) -> String {
    let r = c
        .post(
            &format!("{}/migration/instance", base()),
            json!({"name": "sessions", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}),
        )
        .await
        .ok();
    let id = r["instance_id"].as_str().unwrap().to_owned();
    emu.advance(secs(11));
    let r = c
        .post(
            &format!("{}/migration/{id}/task", base()),
            json!({"migration_method": method, "resume_mode": "auto",
                   "source_instance": source, "target_instance": target}),
        )
        .await
        .ok();
    assert_eq!(r["status"], "FULLMIGRATING");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_migration_copies_then_follows_until_stopped() {
    let s = RedisServer::start().unwrap();
    let t = RedisServer::start_with(Some(TARGET_PASSWORD), &[]).unwrap();
    write_generation(&s, "before").await;

    let mut cfg = config();
    cfg.redis_instances = vec![format!("dcs-target={}", t.addr()).parse().unwrap()];
    let (emu, c) = start(cfg).await;
    let id = migrate(
        &emu,
        &c,
        "incremental_migration",
        json!({"addrs": s.addr()}),
        json!({"id": "dcs-target", "password": TARGET_PASSWORD}),
    )
    .await;
    // The clock is frozen: only the real copy can end the full phase.
    until_status(&c, &id, "INCRMIGEATING").await;
    let r = until_verified(&s, &t).await;
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.summary());
    assert_eq!(r.compared, 8);

    // Changes while following: new keys of every type, a changed value, a deleted key, a
    // changed TTL.
    write_generation(&s, "during").await;
    let mut src = con(&s, 0, None).await;
    q(&mut src, redis::cmd("SET").arg("before:big").arg(big(99))).await;
    q(
        &mut src,
        redis::cmd("HSET")
            .arg("before:hash")
            .arg("f1")
            .arg("changed"),
    )
    .await;
    q(&mut src, redis::cmd("DEL").arg("before:list")).await;
    q(&mut src, redis::cmd("EXPIRE").arg("before:string").arg(500)).await;
    let r = until_verified(&s, &t).await;
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.summary());
    assert_eq!(r.compared, 15);
    let mut tgt = con(&t, 0, Some(TARGET_PASSWORD)).await;
    let gone: i64 = redis::cmd("EXISTS")
        .arg("before:list")
        .query_async(&mut tgt)
        .await
        .unwrap();
    assert_eq!(
        gone, 0,
        "a key deleted on the source is deleted on the target"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg("before:string")
        .query_async(&mut tgt)
        .await
        .unwrap();
    assert!((490..=500).contains(&ttl), "ttl {ttl}");
    // The follow is a live copier: a lag marker reaches the target within a few rounds.
    let lagged = VerifyOptions {
        lag_budget: Some(Duration::from_secs(5)),
        ..full_check()
    };
    let r = verify(&s.endpoint(), &t.endpoint(), &lagged).await;
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.summary());
    let lag = r.lag.and_then(|l| l.measured_ms).unwrap();
    assert!(lag < 5_000, "lag {lag} ms");

    // Stopping the task stops the follow.
    c.post(&format!("{}/migration-task/{id}/stop", base()), json!({}))
        .await
        .ok();
    tokio::time::sleep(Duration::from_millis(300)).await;
    q(
        &mut src,
        redis::cmd("SET").arg("after:stop").arg("not copied"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let copied: i64 = redis::cmd("EXISTS")
        .arg("after:stop")
        .query_async(&mut tgt)
        .await
        .unwrap();
    assert_eq!(copied, 0, "nothing is copied after the stop");
    emu.advance(secs(11));
    assert_eq!(status(&c, &id).await, "TERMINATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_migration_copies_once_then_succeeds() {
    let s = RedisServer::start().unwrap();
    let t = RedisServer::start().unwrap();
    write_generation(&s, "only").await;
    let mut cfg = config();
    cfg.redis_instances = vec![
        format!("dcs-source={}", s.addr()).parse().unwrap(),
        format!("dcs-target={}", t.addr()).parse().unwrap(),
    ];
    let (emu, c) = start(cfg).await;
    let id = migrate(
        &emu,
        &c,
        "full_amount_migration",
        json!({"id": "dcs-source"}),
        json!({"id": "dcs-target"}),
    )
    .await;
    until_status(&c, &id, "SUCCESS").await;
    let r = verify(&s.endpoint(), &t.endpoint(), &full_check()).await;
    assert_eq!((r.verdict, r.compared), (Verdict::Pass, 8));
    // The statistics count the real keys.
    let stats = c
        .get(&format!("{}/migration-task/{id}/stats", base()))
        .await
        .ok();
    assert_eq!(
        (
            &stats["source_dbsize"],
            &stats["target_dbsize"],
            &stats["full_migration_progress"]
        ),
        (&json!("8"), &json!("8"), &json!("100"))
    );
    // No follow after a full copy.
    let mut src = con(&s, 0, None).await;
    q(&mut src, redis::cmd("SET").arg("later").arg("x")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut tgt = con(&t, 0, None).await;
    let copied: i64 = redis::cmd("EXISTS")
        .arg("later")
        .query_async(&mut tgt)
        .await
        .unwrap();
    assert_eq!(copied, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_unmapped_ends_keep_the_simulation() {
    let mut gone = RedisServer::start().unwrap();
    let addr = gone.addr();
    gone.stop();
    let t = RedisServer::start().unwrap();
    let (emu, c) = start(config()).await;
    // A loopback source nobody listens on, and an unmapped target id.
    let a = migrate(
        &emu,
        &c,
        "full_amount_migration",
        json!({"addrs": addr}),
        json!({"addrs": t.addr()}),
    )
    .await;
    let b = migrate(
        &emu,
        &c,
        "full_amount_migration",
        json!({"addrs": t.addr()}),
        json!({"id": "unmapped"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&c, &a).await, "FULLMIGRATING");
    emu.advance(secs(121));
    assert_eq!(status(&c, &a).await, "SUCCESS");
    assert_eq!(status(&c, &b).await, "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_task_resumes_after_a_persisted_restart() {
    let s = RedisServer::start().unwrap();
    let t = RedisServer::start().unwrap();
    write_generation(&s, "before").await;
    let dir = std::env::temp_dir().join(format!("migplan-mover-persist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = config();
    cfg.persist = Some(dir.join("state.json"));
    cfg.redis_instances = vec![
        format!("src={}", s.addr()).parse().unwrap(),
        format!("tgt={}", t.addr()).parse().unwrap(),
    ];
    let (emu, c) = start(cfg.clone()).await;
    let id = migrate(
        &emu,
        &c,
        "incremental_migration",
        json!({"id": "src"}),
        json!({"id": "tgt"}),
    )
    .await;
    until_status(&c, &id, "INCRMIGEATING").await;
    emu.shutdown().await.unwrap();

    let mut src = con(&s, 0, None).await;
    q(&mut src, redis::cmd("SET").arg("while:down").arg("x")).await;
    let (_emu, c) = start(cfg).await;
    assert_eq!(status(&c, &id).await, "INCRMIGEATING");
    let r = until_verified(&s, &t).await;
    assert_eq!(
        (r.verdict, r.compared),
        (Verdict::Pass, 9),
        "followed again after the restart"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_resuming_follow_reconnects_to_a_restarted_target() {
    let s = RedisServer::start().unwrap();
    let mut t = RedisServer::start().unwrap();
    write_generation(&s, "before").await;
    let mut cfg = config();
    cfg.redis_instances = vec![
        format!("dcs-source={}", s.addr()).parse().unwrap(),
        format!("dcs-target={}", t.addr()).parse().unwrap(),
    ];
    let (emu, c) = start(cfg).await;
    let id = migrate(
        &emu,
        &c,
        "incremental_migration",
        json!({"id": "dcs-source"}),
        json!({"id": "dcs-target"}),
    )
    .await;
    until_status(&c, &id, "INCRMIGEATING").await;
    assert_eq!(until_verified(&s, &t).await.verdict, Verdict::Pass);
    t.shutdown_saving().unwrap();
    // Changes while the target is down are copied once it is back.
    let mut src = con(&s, 0, None).await;
    q(&mut src, redis::cmd("SET").arg("while:down").arg("x")).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    t.restart().unwrap();
    q(&mut src, redis::cmd("SET").arg("after:restart").arg("y")).await;
    let r = until_verified(&s, &t).await;
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.summary());
    assert_eq!(status(&c, &id).await, "INCRMIGEATING");
}
