//! Choosing source keys to compare.

use crate::failure::{Stop, pipeline, query};
use crate::report::Side;
use rand::{Rng, SeedableRng};
use redis::Value;
use redis::aio::MultiplexedConnection;
use std::collections::HashSet;

/// `SCAN` `COUNT` per page.
pub(crate) const SCAN_COUNT: usize = 1000;

/// One `SCAN` page: the next cursor (0 at the end) and the keys.
pub(crate) async fn scan_page(
    con: &mut MultiplexedConnection,
    cursor: u64,
) -> Result<(u64, Vec<Vec<u8>>), Stop> {
    let (next, keys): (u64, Vec<Vec<u8>>) = query(
        Side::Source,
        con,
        redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(SCAN_COUNT),
    )
    .await?;
    Ok((next, keys))
}

/// Every key of the database (used when it holds no more keys than the sample).
async fn all_keys(con: &mut MultiplexedConnection) -> Result<Vec<Vec<u8>>, Stop> {
    let mut seen = HashSet::new();
    let mut cursor = 0;
    loop {
        let (next, keys) = scan_page(con, cursor).await?;
        seen.extend(keys);
        if next == 0 {
            return Ok(seen.into_iter().collect());
        }
        cursor = next;
    }
}

/// Up to `count` distinct keys by `RANDOMKEY`, pipelined; gives up after `3 × count` draws
/// or eight rounds in a row that find nothing new (the database is then smaller than it
/// looked). One such round proves nothing: near the end a round draws a few keys, and each may
/// well be one already drawn.
pub(crate) async fn random_keys(
    con: &mut MultiplexedConnection,
    count: usize,
    db_size: u64,
) -> Result<Vec<Vec<u8>>, Stop> {
    if db_size <= count as u64 {
        return all_keys(con).await;
    }
    let mut keys = HashSet::new();
    let mut draws = 0;
    let mut fruitless = 0;
    while keys.len() < count && draws < count.saturating_mul(3) {
        let want = (count - keys.len()).min(1000);
        draws += want;
        let mut pipe = redis::pipe();
        for _ in 0..want {
            pipe.cmd("RANDOMKEY");
        }
        let before = keys.len();
        for v in pipeline(Side::Source, con, &mut pipe).await? {
            if let Value::BulkString(k) = v {
                keys.insert(k);
            }
        }
        fruitless = if keys.len() == before {
            fruitless + 1
        } else {
            0
        };
        if fruitless >= 8 {
            break;
        }
    }
    Ok(keys.into_iter().take(count).collect())
}

/// `count` keys by reservoir sampling over a full `SCAN`, seeded: the same keyspace and seed
/// give the same keys.
pub(crate) async fn seeded_keys(
    con: &mut MultiplexedConnection,
    count: usize,
    seed: u64,
) -> Result<Vec<Vec<u8>>, Stop> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut reservoir: Vec<Vec<u8>> = Vec::with_capacity(count.min(1 << 20));
    let mut seen: u64 = 0;
    let mut cursor = 0;
    loop {
        let (next, keys) = scan_page(con, cursor).await?;
        for k in keys {
            seen += 1;
            if reservoir.len() < count {
                reservoir.push(k);
            } else {
                let j = rng.random_range(0..seen);
                if let Ok(j) = usize::try_from(j)
                    && j < count
                {
                    reservoir[j] = k;
                }
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    Ok(reservoir)
}
