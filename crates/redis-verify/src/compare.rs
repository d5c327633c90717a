//! Comparing a batch of keys on both ends: type, TTL, then the value digest.

use crate::digest::{self, Digester, KeyType, Read, Windows};
use crate::failure::{Stop, classify, pipeline};
use crate::report::{Report, Side};
use crate::{MARKER_PREFIX, VerifyOptions};
use redis::Value;
use redis::aio::MultiplexedConnection;

/// Both ends' connections to one database.
#[derive(Clone)]
pub(crate) struct Pair {
    pub db: u32,
    pub source: MultiplexedConnection,
    pub target: MultiplexedConnection,
}

/// What one pipeline tells of a key: its type, `PTTL`, and the first `GETRANGE` window,
/// asked for speculatively (most keys are strings; for other types it is a `WRONGTYPE` error
/// reply and the first window is read in a second pipeline).
struct Probe {
    kind: KeyType,
    ttl: i64,
    string_window: Value,
}

async fn probe(
    side: Side,
    mut con: MultiplexedConnection,
    keys: &[Vec<u8>],
    windows: Windows,
) -> Result<Vec<Probe>, Stop> {
    let mut pipe = redis::pipe();
    for k in keys {
        pipe.cmd("TYPE").arg(k).cmd("PTTL").arg(k);
        if let Some(d) = Digester::new(k, &KeyType::String, windows) {
            pipe.add_command(d.command());
        }
    }
    let replies = pipeline(side, &mut con, &mut pipe).await?;
    Ok(replies
        .chunks_exact(3)
        .map(|p| {
            let kind = match &p[0] {
                Value::SimpleString(s) => KeyType::parse(s),
                Value::BulkString(b) => KeyType::parse(&String::from_utf8_lossy(b)),
                Value::Okay => KeyType::Other("OK".into()),
                _ => KeyType::None,
            };
            let ttl = match p[1] {
                Value::Int(n) => n,
                _ => -2,
            };
            Probe {
                kind,
                ttl,
                string_window: p[2].clone(),
            }
        })
        .collect())
}

/// A key to read on one end: name, type, and its first window if already known.
type Wanted<'a> = (&'a [u8], KeyType, Option<&'a Value>);

/// A key whose value is compared, with each end's first window if already known.
struct ToRead<'a> {
    key: &'a [u8],
    kind: KeyType,
    source_first: Option<&'a Value>,
    target_first: Option<&'a Value>,
}

/// Reads the digests of `keys` on one end: the first windows that are not known yet in one
/// pipeline, the rest of large values window by window.
async fn digests(
    side: Side,
    mut con: MultiplexedConnection,
    keys: &[Wanted<'_>],
    windows: Windows,
) -> Result<Vec<Read>, Stop> {
    let mut pipe = redis::pipe();
    for (k, t, first) in keys {
        if first.is_none()
            && let Some(d) = Digester::new(k, t, windows)
        {
            pipe.add_command(d.command());
        }
    }
    let fetched = pipeline(side, &mut con, &mut pipe).await?;
    let mut fetched = fetched.iter();
    let mut out = Vec::with_capacity(keys.len());
    for (k, t, first) in keys {
        let Some(d) = Digester::new(k, t, windows) else {
            out.push(Read::Changed);
            continue;
        };
        let first = match first {
            Some(v) => Some(*v),
            None => fetched.next(),
        };
        let read = digest::read(&mut con, d, first)
            .await
            .map_err(|e| classify(side, "READ", &e))?;
        out.push(read);
    }
    Ok(out)
}

/// Batches compared at once (each a few pipelines on the same two connections).
const BATCHES_IN_FLIGHT: usize = 8;

/// Compares `keys` in batches of [`VerifyOptions::batch`], several at once.
pub(crate) async fn compare_keys(
    pair: &Pair,
    keys: &[Vec<u8>],
    opts: &VerifyOptions,
    report: &mut Report,
) -> Result<(), Stop> {
    for group in keys.chunks(opts.batch.saturating_mul(BATCHES_IN_FLIGHT)) {
        let parts = futures_util::future::join_all(group.chunks(opts.batch).map(|batch| async {
            let mut part = Report::empty();
            compare_batch(pair, batch, opts, &mut part)
                .await
                .map(|()| part)
        }))
        .await;
        for part in parts {
            report.absorb(part?, opts.shown_keys);
        }
    }
    Ok(())
}

/// Compares `keys` (names sampled on the source) and adds the findings to `report`.
async fn compare_batch(
    pair: &Pair,
    keys: &[Vec<u8>],
    opts: &VerifyOptions,
    report: &mut Report,
) -> Result<(), Stop> {
    let keys: Vec<Vec<u8>> = keys
        .iter()
        .filter(|k| !k.starts_with(MARKER_PREFIX.as_bytes()))
        .cloned()
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let windows = Windows {
        chunk_bytes: opts.chunk_bytes,
        page_items: opts.page_items,
    };
    let (src, tgt) = tokio::join!(
        probe(Side::Source, pair.source.clone(), &keys, windows),
        probe(Side::Target, pair.target.clone(), &keys, windows)
    );
    let (src, tgt) = (src?, tgt?);
    let shown = opts.shown_keys;
    let tolerance = i64::try_from(opts.ttl_tolerance.as_millis()).unwrap_or(i64::MAX);
    // Per key to read: the name, the type, and each end's first window if already known.
    let mut to_read: Vec<ToRead> = Vec::new();
    for ((key, sp), tp) in keys.iter().zip(&src).zip(&tgt) {
        let (s_type, s_ttl, t_type, t_ttl) = (&sp.kind, &sp.ttl, &tp.kind, &tp.ttl);
        if *s_type == KeyType::None || *s_ttl == -2 {
            report.vanished += 1;
            continue;
        }
        report.compared += 1;
        if *t_type == KeyType::None || *t_ttl == -2 {
            report.missing.add(pair.db, key, shown);
            continue;
        }
        if s_type != t_type {
            report.type_mismatch.add(pair.db, key, shown);
            continue;
        }
        let ttl_differs = match (*s_ttl, *t_ttl) {
            (-1, -1) => false,
            (-1, _) | (_, -1) => true,
            (s, t) => (s - t).abs() > tolerance,
        };
        if ttl_differs {
            report.ttl_mismatch.add(pair.db, key, shown);
        }
        match s_type {
            KeyType::Other(_) => report.unsupported.add(pair.db, key, shown),
            KeyType::String => to_read.push(ToRead {
                key,
                kind: KeyType::String,
                source_first: Some(&sp.string_window),
                target_first: Some(&tp.string_window),
            }),
            _ => to_read.push(ToRead {
                key,
                kind: s_type.clone(),
                source_first: None,
                target_first: None,
            }),
        }
    }
    let side_keys = |source: bool| -> Vec<Wanted> {
        to_read
            .iter()
            .map(|r| {
                let first = if source {
                    r.source_first
                } else {
                    r.target_first
                };
                (r.key, r.kind.clone(), first)
            })
            .collect()
    };
    let (src_keys, tgt_keys) = (side_keys(true), side_keys(false));
    let (src, tgt) = tokio::join!(
        digests(Side::Source, pair.source.clone(), &src_keys, windows),
        digests(Side::Target, pair.target.clone(), &tgt_keys, windows)
    );
    let (src, tgt) = (src?, tgt?);
    for ((ToRead { key, .. }, s), t) in to_read.iter().zip(&src).zip(&tgt) {
        match (s, t) {
            (Read::Changed, _) => {
                // Changed on the source while read: not a finding.
                report.compared -= 1;
                report.vanished += 1;
            }
            (Read::Digest(a), Read::Digest(b)) if a == b => {}
            _ => report.value_mismatch.add(pair.db, key, shown),
        }
    }
    Ok(())
}
