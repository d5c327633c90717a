//! Turning client errors into an [`Inconclusive`] reason that names the cause and never
//! carries a password or a value (server errors can echo arguments, so their text is dropped:
//! only the error code and the command name remain).

use crate::report::{Inconclusive, Side};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ErrorKind, FromRedisValue, RedisError};
use std::time::Duration;

/// Why a step stopped: it ends the run as inconclusive.
pub(crate) type Stop = Inconclusive;

pub(crate) fn classify(side: Side, command: &str, e: &RedisError) -> Stop {
    let code = e.code().map(str::to_owned);
    if e.kind() == ErrorKind::AuthenticationFailed
        || matches!(code.as_deref(), Some("WRONGPASS" | "NOAUTH"))
    {
        return Inconclusive::AuthFailed { side };
    }
    if e.is_io_error() || e.is_timeout() || e.is_connection_refusal() || e.is_connection_dropped() {
        let detail = if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connection_refusal() {
            "connection refused".to_owned()
        } else {
            "connection lost".to_owned()
        };
        return Inconclusive::Unreachable { side, detail };
    }
    Inconclusive::CommandRefused {
        side,
        command: command.to_owned(),
        code: code.unwrap_or_else(|| format!("{:?}", e.kind())),
    }
}

/// Opens a connection to `db`, checking it with `PING`.
pub(crate) async fn connect(
    side: Side,
    endpoint: &crate::Endpoint,
    db: u32,
    timeout: Duration,
) -> Result<MultiplexedConnection, Stop> {
    if endpoint.tls && !cfg!(feature = "tls") {
        return Err(Inconclusive::Unreachable {
            side,
            detail: "TLS endpoint, but migplan-redis-verify was built without its `tls` feature"
                .into(),
        });
    }
    let info = endpoint
        .connection_info(db)
        .map_err(|e| classify(side, "CONNECT", &e))?;
    let client = Client::open(info).map_err(|e| classify(side, "CONNECT", &e))?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout.max(Duration::from_secs(30))));
    let fut = client.get_multiplexed_async_connection_with_config(&config);
    let mut con = match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(classify(side, "CONNECT", &e)),
        Err(_) => {
            return Err(Inconclusive::Unreachable {
                side,
                detail: "timed out".into(),
            });
        }
    };
    query::<String>(side, &mut con, &mut redis::cmd("PING")).await?;
    Ok(con)
}

/// Runs one command, classifying its error.
pub(crate) async fn query<T: FromRedisValue>(
    side: Side,
    con: &mut MultiplexedConnection,
    cmd: &mut redis::Cmd,
) -> Result<T, Stop> {
    let name = command_name(cmd);
    cmd.query_async(con)
        .await
        .map_err(|e| classify(side, &name, &e))
}

/// Runs a pipeline whose per-command errors come back as `Value::ServerError`.
pub(crate) async fn pipeline(
    side: Side,
    con: &mut MultiplexedConnection,
    pipe: &mut redis::Pipeline,
) -> Result<Vec<redis::Value>, Stop> {
    if pipe.is_empty() {
        return Ok(Vec::new());
    }
    let name = pipe.cmd_iter().next().map(command_name).unwrap_or_default();
    pipe.ignore_errors()
        .query_async(con)
        .await
        .map_err(|e| classify(side, &name, &e))
}

fn command_name(cmd: &redis::Cmd) -> String {
    match cmd.args_iter().next() {
        Some(redis::Arg::Simple(b)) => String::from_utf8_lossy(b).to_ascii_uppercase(),
        _ => String::new(),
    }
}
