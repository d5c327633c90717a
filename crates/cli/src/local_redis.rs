//! `apply --local` and stage `verified`: a simulation must not "verify" simulated data. Where
//! `redis-server` is on PATH, each DCS instance id a comparing Redis entry names gets a
//! throwaway loopback server (the source seeded with sample data, passwords from the plan's
//! `{env: ...}` references), mapped into the local emulator, which then moves the data for
//! real, so the comparison measures real bytes. The servers stop when migplan exits; the
//! next `--local` command starts fresh ones, and the kept migration copies into them again.
//! Without `redis-server`, nothing is started and the comparison is held, saying why.

use migplan_emulator::RedisInstance;
use migplan_parser::{RedisInstance as Instance, Spec};
use migplan_redis_verify::harness::RedisServer;

/// Sample keys written to each throwaway source.
const SAMPLE_KEYS: usize = 1000;

/// The throwaway servers of one command (killed on drop) and what to tell the user.
#[derive(Debug, Default)]
pub struct LocalRedis {
    _servers: Vec<RedisServer>,
    /// Instance ids mapped to the servers, for the emulator.
    pub instances: Vec<RedisInstance>,
    /// One sentence for the target line; empty when no entry compares.
    pub notice: String,
}

/// Starts a server per instance id of the comparing entries, when `redis-server` runs here.
pub fn start(spec: &Spec) -> LocalRedis {
    let entries = spec.compared_redis();
    let mut out = LocalRedis::default();
    let ids: Vec<(String, Option<String>, bool)> = entries
        .iter()
        .flat_map(|r| {
            [(&r.source, true), (&r.target, false)]
                .into_iter()
                .filter_map(|(e, is_source)| match &e.instance {
                    Instance::Id(id) => Some((
                        id.clone(),
                        e.password
                            .as_ref()
                            .and_then(|p| std::env::var(&p.env).ok())
                            .filter(|p| !p.is_empty()),
                        is_source,
                    )),
                    Instance::Addrs(_) => None,
                })
        })
        .collect();
    if ids.is_empty() {
        return out;
    }
    let mut started = Vec::new();
    for (id, password, is_source) in ids {
        if out.instances.iter().any(|i| i.id == id) {
            continue;
        }
        let server = match RedisServer::start_with(password.as_deref(), &[]) {
            Ok(s) => s,
            Err(e) => {
                out.notice =
                    format!("; stage verified will be held: no local Redis to compare ({e})");
                out.instances.clear();
                out._servers.clear();
                return out;
            }
        };
        if is_source && let Err(e) = seed(&server, password.as_deref()) {
            out.notice =
                format!("; stage verified will be held: seeding a local Redis failed ({e})");
            out.instances.clear();
            out._servers.clear();
            return out;
        }
        started.push(format!(
            "{} {id} at {}{}",
            if is_source { "source" } else { "target" },
            server.addr(),
            if is_source {
                format!(" ({SAMPLE_KEYS} sample keys)")
            } else {
                String::new()
            }
        ));
        out.instances.push(RedisInstance {
            id,
            host: "127.0.0.1".into(),
            port: server.port(),
        });
        out._servers.push(server);
    }
    out.notice = format!(
        "; throwaway redis-servers for the data comparison: {} (they stop when migplan exits)",
        started.join(", ")
    );
    out
}

/// Sample data of every type, a few with a TTL, into db 0.
fn seed(server: &RedisServer, password: Option<&str>) -> redis::RedisResult<()> {
    let url = match password {
        Some(pw) => format!("redis://:{}@127.0.0.1:{}/0", urlencode(pw), server.port()),
        None => format!("redis://127.0.0.1:{}/0", server.port()),
    };
    let mut con = redis::Client::open(url)?.get_connection()?;
    let mut pipe = redis::pipe();
    for k in 0..SAMPLE_KEYS {
        match k % 5 {
            0 => pipe
                .cmd("HSET")
                .arg(format!("sample:hash:{k}"))
                .arg("f")
                .arg(k),
            1 => pipe
                .cmd("RPUSH")
                .arg(format!("sample:list:{k}"))
                .arg(k)
                .arg("x"),
            2 => pipe
                .cmd("SADD")
                .arg(format!("sample:set:{k}"))
                .arg(k)
                .arg("y"),
            3 => pipe
                .cmd("ZADD")
                .arg(format!("sample:zset:{k}"))
                .arg(k)
                .arg("m"),
            _ => pipe
                .cmd("SET")
                .arg(format!("sample:session:{k}"))
                .arg(format!("session-{k}"))
                .arg("EX")
                .arg(86_400),
        }
        .ignore();
    }
    pipe.query::<()>(&mut con)
}

/// Percent-encodes a password for a `redis://` URL.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
