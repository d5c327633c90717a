//! Verification against real `redis-server` processes on loopback ports.

use migplan_redis_verify::harness::RedisServer;
use migplan_redis_verify::{
    Databases, Endpoint, FailReason, Inconclusive, Redacted, Report, Sampling, Side, Tolerance,
    Verdict, VerifyOptions, verify,
};
use redis::aio::MultiplexedConnection;
use std::collections::BTreeSet;
use std::time::Duration;

async fn con(server: &RedisServer, db: u32) -> MultiplexedConnection {
    let client = redis::Client::open(format!("{}/{db}", server.url())).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

async fn run(con: &mut MultiplexedConnection, args: &[&[u8]]) -> redis::Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(con).await.unwrap()
}

/// Writes one of each type (plus TTL keys and a second database) with the same commands.
async fn load_fixture(server: &RedisServer) {
    let mut c = con(server, 0).await;
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET")
            .arg(format!("str:{i}"))
            .arg(format!("value-{i}"));
    }
    pipe.cmd("HSET")
        .arg("hash:1")
        .arg("f1")
        .arg("v1")
        .arg("f2")
        .arg("v2");
    pipe.cmd("RPUSH").arg("list:1").arg("a").arg("b").arg("c");
    pipe.cmd("SADD").arg("set:1").arg("x").arg("y").arg("z");
    pipe.cmd("ZADD")
        .arg("zset:1")
        .arg(1.5)
        .arg("m1")
        .arg(2)
        .arg("m2");
    pipe.cmd("SET").arg("ttl:1").arg("t").arg("EX").arg(1000);
    pipe.cmd("SET").arg("bin:\x00\x1b").arg(vec![0u8, 255, 7]);
    pipe.cmd("XADD")
        .arg("stream:1")
        .arg("1-1")
        .arg("f")
        .arg("v");
    let _: () = pipe.query_async(&mut c).await.unwrap();
    let mut c3 = con(server, 3).await;
    run(&mut c3, &[b"SET", b"db3:key", b"three"]).await;
}

async fn pair() -> (RedisServer, RedisServer) {
    let s = RedisServer::start().expect("source redis-server");
    let t = RedisServer::start().expect("target redis-server");
    load_fixture(&s).await;
    load_fixture(&t).await;
    (s, t)
}

fn full() -> VerifyOptions {
    VerifyOptions {
        sampling: Sampling::Full,
        ..VerifyOptions::default()
    }
}

fn reasons(r: &Report) -> Vec<FailReason> {
    match &r.verdict {
        Verdict::Fail { reasons } => reasons.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn names(f: &migplan_redis_verify::Findings) -> Vec<String> {
    f.keys.iter().map(|k| k.0.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_data_passes() {
    let (s, t) = pair().await;
    let r = verify(&s.endpoint(), &t.endpoint(), &full()).await;
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.summary());
    assert_eq!(r.compared, 208, "every key of db0 and db3 compared");
    // A stream has no digest here: compared by type and TTL, and listed.
    assert_eq!(names(&r.unsupported), vec!["stream:1"]);
    let dbs: Vec<(u32, u64, u64)> = r
        .databases
        .iter()
        .map(|d| (d.db, d.source, d.target))
        .collect();
    assert_eq!(dbs, vec![(0, 206, 206), (3, 1, 1)]);
    assert!(r.summary().starts_with("verified:"), "{}", r.summary());

    // Random and seeded sampling of a database smaller than the sample take every key too.
    let random = verify(&s.endpoint(), &t.endpoint(), &VerifyOptions::default()).await;
    assert_eq!((random.verdict, random.compared), (Verdict::Pass, 208));
    // A sample smaller than a database: that many distinct keys (db3 has 1 key: all of it).
    let o = VerifyOptions {
        sampling: Sampling::Random { count: 50 },
        ..VerifyOptions::default()
    };
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert_eq!((r.verdict, r.compared), (Verdict::Pass, 51));
    let o = VerifyOptions {
        sampling: Sampling::Seeded { count: 50, seed: 3 },
        ..VerifyOptions::default()
    };
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert_eq!((r.verdict, r.compared), (Verdict::Pass, 51));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_keys_fail_with_counts_and_names() {
    let (s, t) = pair().await;
    let mut c = con(&t, 0).await;
    run(&mut c, &[b"DEL", b"str:1", b"str:2", b"hash:1"]).await;
    let r = verify(&s.endpoint(), &t.endpoint(), &full()).await;
    assert_eq!(
        reasons(&r),
        vec![
            FailReason::KeyCount {
                db: 0,
                source: 206,
                target: 203
            },
            FailReason::Missing { count: 3 },
        ]
    );
    let mut missing = names(&r.missing);
    missing.sort();
    assert_eq!(missing, vec!["hash:1", "str:1", "str:2"]);
    assert_eq!(
        r.value_mismatch.count + r.type_mismatch.count + r.ttl_mismatch.count,
        0
    );

    // A count tolerance of 3 keys accepts the counts; the samples still fail.
    let o = VerifyOptions {
        key_tolerance: Tolerance::Keys(3),
        ..full()
    };
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert_eq!(reasons(&r), vec![FailReason::Missing { count: 3 }]);
    // Counts only (no samples): 3 of 206 is within 2 %, not within 1 %.
    let counts_only = |p| VerifyOptions {
        key_tolerance: Tolerance::Percent(p),
        sampling: Sampling::Random { count: 0 },
        ..VerifyOptions::default()
    };
    let r = verify(&s.endpoint(), &t.endpoint(), &counts_only(2.0)).await;
    assert_eq!(r.verdict, Verdict::Pass);
    let r = verify(&s.endpoint(), &t.endpoint(), &counts_only(1.0)).await;
    assert_eq!(reasons(&r).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_values_types_and_ttls_fail_each_in_their_category() {
    let (s, t) = pair().await;
    let mut c = con(&t, 0).await;
    run(&mut c, &[b"SET", b"str:7", b"tampered"]).await;
    run(&mut c, &[b"ZADD", b"zset:1", b"9", b"m2"]).await;
    run(&mut c, &[b"SADD", b"set:1", b"extra"]).await;
    run(&mut c, &[b"DEL", b"list:1"]).await;
    run(&mut c, &[b"SET", b"list:1", b"now a string"]).await;
    run(&mut c, &[b"EXPIRE", b"ttl:1", b"500"]).await;
    let mut c3 = con(&t, 3).await;
    run(&mut c3, &[b"SET", b"db3:key", b"THREE"]).await;

    let mut o = full();
    o.databases = Databases::Only(BTreeSet::from([0, 3]));
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert_eq!(
        reasons(&r),
        vec![
            FailReason::TypeMismatch { count: 1 },
            FailReason::TtlMismatch { count: 1 },
            FailReason::ValueMismatch { count: 4 },
        ],
        "{}",
        r.summary()
    );
    assert_eq!(names(&r.type_mismatch), vec!["list:1"]);
    assert_eq!(names(&r.ttl_mismatch), vec!["ttl:1"]);
    let mut values = names(&r.value_mismatch);
    values.sort();
    assert_eq!(values, vec!["db3:db3:key", "set:1", "str:7", "zset:1"]);
    // Values never appear in the report.
    let json = serde_json::to_string(&r).unwrap();
    for secret in ["tampered", "THREE", "value-7", "now a string"] {
        assert!(!json.contains(secret), "{json}");
    }

    // Only db 3 selected: db 0's differences are not looked at.
    o.databases = Databases::Only(BTreeSet::from([3]));
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert_eq!(reasons(&r), vec![FailReason::ValueMismatch { count: 1 }]);

    // A TTL tolerance wider than the difference accepts it.
    o.databases = Databases::Only(BTreeSet::from([0]));
    o.ttl_tolerance = Duration::from_secs(600);
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert_eq!(r.ttl_mismatch.count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_over_a_megabyte_is_read_in_windows_and_compared() {
    let s = RedisServer::start().unwrap();
    let t = RedisServer::start().unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
    let mut changed = big.clone();
    *changed.last_mut().unwrap() ^= 1;
    for (server, value) in [(&s, &big), (&t, &big)] {
        let mut c = con(server, 0).await;
        let _: () = redis::cmd("SET")
            .arg("big:string")
            .arg(value)
            .query_async(&mut c)
            .await
            .unwrap();
        let mut pipe = redis::pipe();
        for i in 0..5000 {
            pipe.cmd("HSET")
                .arg("big:hash")
                .arg(format!("f{i}"))
                .arg(vec![b'v'; 300]);
            pipe.cmd("RPUSH").arg("big:list").arg(vec![b'l'; 300]);
            pipe.cmd("SADD")
                .arg("big:set")
                .arg(format!("member-{i}-{}", "s".repeat(250)));
            pipe.cmd("ZADD")
                .arg("big:zset")
                .arg(i)
                .arg(format!("z{i}-{}", "z".repeat(250)));
        }
        let _: () = pipe.query_async(&mut c).await.unwrap();
    }
    let windows = VerifyOptions {
        chunk_bytes: 64 * 1024,
        page_items: 100,
        ..full()
    };
    let r = verify(&s.endpoint(), &t.endpoint(), &windows).await;
    assert_eq!(
        (r.verdict.clone(), r.compared),
        (Verdict::Pass, 5),
        "{}",
        r.summary()
    );

    // One byte changed at the very end of the 3 MB string, one field of the hash, the last
    // list element, one set member: each is found.
    let mut c = con(&t, 0).await;
    let _: () = redis::cmd("SET")
        .arg("big:string")
        .arg(&changed)
        .query_async(&mut c)
        .await
        .unwrap();
    run(&mut c, &[b"HSET", b"big:hash", b"f4999", b"other"]).await;
    run(&mut c, &[b"RPUSH", b"big:list", b"one more"]).await;
    run(&mut c, &[b"SREM", b"big:set", b"member-0"]).await;
    let member0 = format!("member-0-{}", "s".repeat(250));
    run(&mut c, &[b"SREM", b"big:set", member0.as_bytes()]).await;
    run(&mut c, &[b"SADD", b"big:set", b"member-0-other"]).await;
    let r = verify(&s.endpoint(), &t.endpoint(), &windows).await;
    let mut values = names(&r.value_mismatch);
    values.sort();
    assert_eq!(
        values,
        vec!["big:hash", "big:list", "big:set", "big:string"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_end_or_refused_password_is_inconclusive() {
    let (s, mut t) = pair().await;
    let target = t.endpoint();
    t.stop();
    let r = verify(&s.endpoint(), &target, &full()).await;
    match &r.verdict {
        Verdict::Inconclusive {
            reason: Inconclusive::Unreachable {
                side: Side::Target, ..
            },
        } => {}
        other => panic!("{other:?}"),
    }
    assert!(
        r.summary()
            .starts_with("inconclusive: the target Redis is unreachable"),
        "{}",
        r.summary()
    );

    let locked = RedisServer::start_with(Some("right-password"), &[]).unwrap();
    let wrong = locked
        .endpoint()
        .with_password(Redacted::new("wrong-password-1234"));
    let r = verify(&wrong, &s.endpoint(), &full()).await;
    assert_eq!(
        r.verdict,
        Verdict::Inconclusive {
            reason: Inconclusive::AuthFailed { side: Side::Source }
        }
    );
    let shown = format!(
        "{r:?} {} {}",
        r.summary(),
        serde_json::to_string(&r).unwrap()
    );
    assert!(
        !shown.contains("wrong-password-1234") && !shown.contains("right-password"),
        "{shown}"
    );
    // No password at all against a server that requires one.
    let r = verify(
        &Endpoint::tcp("127.0.0.1", locked.port()),
        &s.endpoint(),
        &full(),
    )
    .await;
    assert_eq!(
        r.verdict,
        Verdict::Inconclusive {
            reason: Inconclusive::AuthFailed { side: Side::Source }
        }
    );
    // A TLS endpoint without the `tls` feature says so instead of trying plain text.
    if !cfg!(feature = "tls") {
        let mut tls = s.endpoint();
        tls.tls = true;
        let r = verify(&s.endpoint(), &tls, &full()).await;
        assert!(r.summary().contains("`tls` feature"), "{}", r.summary());
    }
    // The right password passes the login (then the data differs: s has the fixture).
    let r = verify(&locked.endpoint(), &s.endpoint(), &full()).await;
    assert!(matches!(r.verdict, Verdict::Fail { .. }), "{:?}", r.verdict);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_budget_bounds_the_run() {
    let (s, t) = pair().await;
    let o = VerifyOptions {
        time_budget: Duration::from_micros(1),
        ..full()
    };
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert_eq!(
        r.verdict,
        Verdict::Inconclusive {
            reason: Inconclusive::TimeBudgetSpent { budget_ms: 0 }
        }
    );
    let o = VerifyOptions { batch: 0, ..full() };
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert!(matches!(
        r.verdict,
        Verdict::Inconclusive {
            reason: Inconclusive::InvalidOptions { .. }
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_samples_repeat() {
    let (s, t) = pair().await;
    let mut c = con(&t, 0).await;
    for i in 0..200 {
        run(&mut c, &[b"SET", format!("str:{i}").as_bytes(), b"x"]).await;
    }
    let seeded = |seed| VerifyOptions {
        sampling: Sampling::Seeded { count: 20, seed },
        shown_keys: 20,
        databases: Databases::Only(BTreeSet::from([0])),
        ..VerifyOptions::default()
    };
    let a = verify(&s.endpoint(), &t.endpoint(), &seeded(7)).await;
    let b = verify(&s.endpoint(), &t.endpoint(), &seeded(7)).await;
    let c2 = verify(&s.endpoint(), &t.endpoint(), &seeded(8)).await;
    assert_eq!(a.compared, 20);
    assert!(a.value_mismatch.count > 10);
    assert_eq!(names(&a.value_mismatch), names(&b.value_mismatch));
    assert_ne!(names(&a.value_mismatch), names(&c2.value_mismatch));
}

/// Copies marker keys from source to target after `delay`, like a replication link.
async fn copier(source: MultiplexedConnection, target: MultiplexedConnection, delay: Duration) {
    let (mut source, mut target) = (source, target);
    loop {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("migplan:verify:marker:*")
            .query_async(&mut source)
            .await
            .unwrap_or_default();
        for k in keys {
            let exists: bool = redis::cmd("EXISTS")
                .arg(&k)
                .query_async(&mut target)
                .await
                .unwrap_or(true);
            if !exists {
                tokio::time::sleep(delay).await;
                let _: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(&k)
                    .arg("1")
                    .arg("EX")
                    .arg(60)
                    .query_async(&mut target)
                    .await;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_is_measured_with_a_live_copier() {
    let (s, t) = pair().await;
    let o = VerifyOptions {
        lag_budget: Some(Duration::from_secs(3)),
        ..full()
    };
    let live = tokio::spawn(copier(
        con(&s, 0).await,
        con(&t, 0).await,
        Duration::from_millis(150),
    ));
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    live.abort();
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.summary());
    let lag = r.lag.clone().unwrap().measured_ms.unwrap();
    assert!((150..3000).contains(&lag), "lag {lag} ms");
    assert!(r.summary().contains("lag"), "{}", r.summary());
    // The marker is gone from the source.
    let mut c = con(&s, 0).await;
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("migplan:verify:*")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");

    // Nobody copies: the marker never arrives and the lag check fails.
    let o = VerifyOptions {
        lag_budget: Some(Duration::from_millis(300)),
        ..full()
    };
    let r = verify(&s.endpoint(), &t.endpoint(), &o).await;
    assert_eq!(reasons(&r), vec![FailReason::Lag { budget_ms: 300 }]);
}
