//! `cargo bench -p migplan-redis-verify`: loads 1M keys into a local pair of redis-servers
//! (pipelined), then prints verification throughput (keys compared per second) for a full
//! check and for samples, beside the rate of a plain `SCAN` of one server.
//! `MIGPLAN_BENCH_KEYS=N` changes the key count, `MIGPLAN_BENCH_BATCH=N` the keys per
//! pipelined batch.
#![allow(clippy::print_stdout)]

use migplan_redis_verify::harness::RedisServer;
use migplan_redis_verify::{Sampling, Verdict, VerifyOptions, verify};
use std::time::Instant;

async fn connect(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    // Big pipelines take longer than the client's default response timeout.
    let config = redis::AsyncConnectionConfig::new()
        .set_response_timeout(Some(std::time::Duration::from_secs(120)));
    redis::Client::open(server.url())
        .expect("client")
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("connect")
}

async fn load(server: &RedisServer, keys: u64) {
    let mut con = connect(server).await;
    let batch = 10_000;
    let mut i = 0;
    while i < keys {
        let mut pipe = redis::pipe();
        for k in i..(i + batch).min(keys) {
            // Mostly strings, one key in 20 a small hash, one in 100 with a TTL.
            if k % 20 == 0 {
                pipe.cmd("HSET")
                    .arg(format!("h:{k}"))
                    .arg("a")
                    .arg(k)
                    .arg("b")
                    .arg("payload-payload")
                    .ignore();
            } else if k % 100 == 1 {
                pipe.cmd("SET")
                    .arg(format!("t:{k}"))
                    .arg(k)
                    .arg("EX")
                    .arg(3600)
                    .ignore();
            } else {
                pipe.cmd("SET")
                    .arg(format!("s:{k}"))
                    .arg(format!("value-{k}-0123456789abcdef"))
                    .ignore();
            }
        }
        let () = pipe.query_async(&mut con).await.expect("load");
        i += batch;
    }
}

async fn scan_rate(server: &RedisServer) -> (u64, f64) {
    let mut con = connect(server).await;
    let started = Instant::now();
    let mut cursor = 0u64;
    let mut seen = 0u64;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await
            .expect("scan");
        seen += keys.len() as u64;
        if next == 0 {
            break;
        }
        cursor = next;
    }
    (seen, seen as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let keys: u64 = std::env::var("MIGPLAN_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let source = RedisServer::start().expect("source redis-server");
    let target = RedisServer::start().expect("target redis-server");
    let started = Instant::now();
    tokio::join!(load(&source, keys), load(&target, keys));
    let load_s = started.elapsed().as_secs_f64();
    println!(
        "loaded {keys} keys into each of 2 servers in {load_s:.1} s ({:.0} keys/s per server, pipelined)",
        keys as f64 / load_s
    );

    let (seen, rate) = scan_rate(&source).await;
    println!("SCAN COUNT 1000 of one server:     {seen:>8} keys  {rate:>10.0} keys/s");

    for (name, sampling) in [
        (
            "sample 10000 (RANDOMKEY)",
            Sampling::Random { count: 10_000 },
        ),
        (
            "sample 10000 (seeded SCAN)",
            Sampling::Seeded {
                count: 10_000,
                seed: 1,
            },
        ),
        ("full check", Sampling::Full),
    ] {
        let mut opts = VerifyOptions {
            sampling,
            ..VerifyOptions::default()
        };
        if let Some(batch) = std::env::var("MIGPLAN_BENCH_BATCH")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            opts.batch = batch;
        }
        let t = Instant::now();
        let report = verify(&source.endpoint(), &target.endpoint(), &opts).await;
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(report.verdict, Verdict::Pass, "{}", report.summary());
        println!(
            "verify, {name:<27} {:>8} keys  {:>10.0} keys/s compared ({secs:.2} s)",
            report.compared,
            report.compared as f64 / secs
        );
    }
}
