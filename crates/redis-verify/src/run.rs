//! The checks in order, under the time budget.

use crate::compare::{Pair, compare_keys};
use crate::failure::{Stop, connect, query};
use crate::keyspace::{DbKeyspace, parse_keyspace};
use crate::report::{DbCounts, Inconclusive, Report, Side, Verdict};
use crate::sample::{random_keys, scan_page, seeded_keys};
use crate::{Databases, Endpoint, Sampling, VerifyOptions, lag};
use redis::aio::MultiplexedConnection;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// Compares `target` with `source`. Never fails: an end that cannot be read makes the report
/// [`Verdict::Inconclusive`], keeping the figures gathered until then.
pub async fn verify(source: &Endpoint, target: &Endpoint, opts: &VerifyOptions) -> Report {
    let started = Instant::now();
    let mut report = Report::empty();
    if let Err(e) = opts.validate() {
        report.verdict = Verdict::Inconclusive {
            reason: Inconclusive::InvalidOptions {
                message: e.to_string(),
            },
        };
        return report;
    }
    let outcome =
        tokio::time::timeout(opts.time_budget, run(source, target, opts, &mut report)).await;
    report.verdict = match outcome {
        Err(_) => Verdict::Inconclusive {
            reason: Inconclusive::TimeBudgetSpent {
                budget_ms: u64::try_from(opts.time_budget.as_millis()).unwrap_or(u64::MAX),
            },
        },
        Ok(Err(reason)) => Verdict::Inconclusive { reason },
        Ok(Ok(())) => {
            let reasons = report.fail_reasons();
            if reasons.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Fail { reasons }
            }
        }
    };
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

async fn keyspace(
    side: Side,
    con: &mut MultiplexedConnection,
) -> Result<BTreeMap<u32, DbKeyspace>, Stop> {
    let info: String = query(side, con, redis::cmd("INFO").arg("keyspace")).await?;
    Ok(parse_keyspace(&info))
}

async fn connect_pair(
    source: &Endpoint,
    target: &Endpoint,
    db: u32,
    opts: &VerifyOptions,
) -> Result<Pair, Stop> {
    let (s, t) = tokio::join!(
        connect(Side::Source, source, db, opts.connect_timeout),
        connect(Side::Target, target, db, opts.connect_timeout)
    );
    Ok(Pair {
        db,
        source: s?,
        target: t?,
    })
}

async fn run(
    source: &Endpoint,
    target: &Endpoint,
    opts: &VerifyOptions,
    report: &mut Report,
) -> Result<(), Stop> {
    let mut first = connect_pair(source, target, 0, opts).await?;
    let src_ks = keyspace(Side::Source, &mut first.source).await?;
    let tgt_ks = keyspace(Side::Target, &mut first.target).await?;

    // 1. Key counts.
    let dbs: BTreeSet<u32> = match &opts.databases {
        Databases::All => src_ks.keys().chain(tgt_ks.keys()).copied().collect(),
        Databases::Only(set) => set.clone(),
    };
    for &db in &dbs {
        let s = src_ks.get(&db).copied().unwrap_or_default();
        let t = tgt_ks.get(&db).copied().unwrap_or_default();
        report.databases.push(DbCounts {
            db,
            source: s.persistent(),
            target: t.persistent(),
            source_expiring: s.expires,
            target_expiring: t.expires,
            agree: opts.key_tolerance.allows(s.persistent(), t.persistent()),
        });
    }

    // 2. Samples, per database that has keys on the source.
    for &db in &dbs {
        let size = src_ks.get(&db).map_or(0, |k| k.keys);
        if size == 0 {
            continue;
        }
        let mut pair = if db == 0 {
            first.clone()
        } else {
            connect_pair(source, target, db, opts).await?
        };
        match opts.sampling {
            Sampling::Full => {
                // The next SCAN page is read while the current one is compared.
                let mut scanner = pair.source.clone();
                let (mut next, mut keys) = scan_page(&mut scanner, 0).await?;
                loop {
                    if next == 0 {
                        compare_keys(&pair, &keys, opts, report).await?;
                        break;
                    }
                    let (page, compared) = tokio::join!(
                        scan_page(&mut scanner, next),
                        compare_keys(&pair, &keys, opts, report)
                    );
                    compared?;
                    (next, keys) = page?;
                }
            }
            Sampling::Random { count } => {
                let keys = random_keys(&mut pair.source, count, size).await?;
                compare_keys(&pair, &keys, opts, report).await?;
            }
            Sampling::Seeded { count, seed } => {
                let keys = seeded_keys(&mut pair.source, count, seed).await?;
                compare_keys(&pair, &keys, opts, report).await?;
            }
        }
    }

    // 3. Lag, in the first database checked.
    if let Some(budget) = opts.lag_budget {
        let db = dbs.first().copied().unwrap_or(0);
        let mut pair = if db == 0 {
            first
        } else {
            connect_pair(source, target, db, opts).await?
        };
        report.lag = Some(lag::measure(&mut pair.source, &mut pair.target, budget).await?);
    }
    Ok(())
}
