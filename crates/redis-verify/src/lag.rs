//! Replication lag: a marker written to the source, awaited on the target.

use crate::MARKER_PREFIX;
use crate::failure::{Stop, query};
use crate::report::{Lag, Side};
use redis::aio::MultiplexedConnection;
use std::time::{Duration, Instant};

/// How often the target is asked for the marker.
const POLL: Duration = Duration::from_millis(5);

/// Writes a unique marker (TTL: budget + 60 s, so a crash leaves nothing for long), waits
/// for it on the target, then deletes it from the source.
pub(crate) async fn measure(
    source: &mut MultiplexedConnection,
    target: &mut MultiplexedConnection,
    budget: Duration,
) -> Result<Lag, Stop> {
    let key = format!("{MARKER_PREFIX}{}", uuid::Uuid::new_v4());
    let ttl_ms = u64::try_from((budget + Duration::from_secs(60)).as_millis()).unwrap_or(u64::MAX);
    let started = Instant::now();
    query::<()>(
        Side::Source,
        source,
        redis::cmd("SET").arg(&key).arg("1").arg("PX").arg(ttl_ms),
    )
    .await?;
    let measured = loop {
        let seen: u64 = query(Side::Target, target, redis::cmd("EXISTS").arg(&key)).await?;
        if seen > 0 {
            break Some(started.elapsed());
        }
        if started.elapsed() >= budget {
            break None;
        }
        tokio::time::sleep(POLL).await;
    };
    query::<u64>(Side::Source, source, redis::cmd("DEL").arg(&key)).await?;
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    Ok(Lag {
        measured_ms: measured.map(ms),
        budget_ms: ms(budget),
    })
}
