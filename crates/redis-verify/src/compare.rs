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

/// `TYPE` and `PTTL` of each key.
async fn types_and_ttls(
    side: Side,
    mut con: MultiplexedConnection,
    keys: &[Vec<u8>],
) -> Result<Vec<(KeyType, i64)>, Stop> {
    let mut pipe = redis::pipe();
    for k in keys {
        pipe.cmd("TYPE").arg(k).cmd("PTTL").arg(k);
    }
    let replies = pipeline(side, &mut con, &mut pipe).await?;
    Ok(replies
        .chunks_exact(2)
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
            (kind, ttl)
        })
        .collect())
}

/// Reads the digests of `keys` on one end: the first windows in one pipeline, the rest of
/// large values window by window.
async fn digests(
    side: Side,
    mut con: MultiplexedConnection,
    keys: &[(&[u8], KeyType)],
    windows: Windows,
) -> Result<Vec<Read>, Stop> {
    let digesters: Vec<Digester> = keys
        .iter()
        .filter_map(|(k, t)| Digester::new(k, t, windows))
        .collect();
    let mut pipe = redis::pipe();
    for d in &digesters {
        pipe.add_command(d.command());
    }
    let firsts = pipeline(side, &mut con, &mut pipe).await?;
    let mut out = Vec::with_capacity(digesters.len());
    for (d, first) in digesters.into_iter().zip(firsts.iter()) {
        let read = digest::read(&mut con, d, Some(first))
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
    let (src, tgt) = tokio::join!(
        types_and_ttls(Side::Source, pair.source.clone(), &keys),
        types_and_ttls(Side::Target, pair.target.clone(), &keys)
    );
    let (src, tgt) = (src?, tgt?);
    let shown = opts.shown_keys;
    let tolerance = i64::try_from(opts.ttl_tolerance.as_millis()).unwrap_or(i64::MAX);
    let mut to_read: Vec<(&[u8], KeyType)> = Vec::new();
    for ((key, (s_type, s_ttl)), (t_type, t_ttl)) in keys.iter().zip(&src).zip(&tgt) {
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
            _ => to_read.push((key, s_type.clone())),
        }
    }
    let windows = Windows {
        chunk_bytes: opts.chunk_bytes,
        page_items: opts.page_items,
    };
    let (src, tgt) = tokio::join!(
        digests(Side::Source, pair.source.clone(), &to_read, windows),
        digests(Side::Target, pair.target.clone(), &to_read, windows)
    );
    let (src, tgt) = (src?, tgt?);
    for (((key, _), s), t) in to_read.iter().zip(&src).zip(&tgt) {
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
