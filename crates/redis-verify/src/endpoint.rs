//! Where a Redis is and how to log in: no secret is ever printed.

use migplan_wire::Redacted;
use std::fmt;
use std::path::PathBuf;

/// A Redis server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `host:port` over TCP.
    Tcp {
        /// Host name or IP.
        host: String,
        /// Port.
        port: u16,
    },
    /// A unix socket path.
    Unix(PathBuf),
}

/// One end of a comparison: address, optional ACL user and password, TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Where the server listens.
    pub address: Address,
    /// ACL user name (Redis 6+); `None` logs in as `default`.
    pub username: Option<String>,
    /// Password; `Debug` prints `****`.
    pub password: Option<Redacted>,
    /// Connect with TLS (needs the crate's `tls` feature).
    pub tls: bool,
}

/// A malformed endpoint text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not `HOST:PORT`.
    #[error("expected HOST:PORT, got {0:?}")]
    Malformed(String),
    /// The port is not a number in 1..=65535.
    #[error("invalid port in {0:?}: expected 1..=65535")]
    Port(String),
}

impl Endpoint {
    /// A plain TCP endpoint without authentication.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Endpoint {
            address: Address::Tcp {
                host: host.into(),
                port,
            },
            username: None,
            password: None,
            tls: false,
        }
    }

    /// A unix socket endpoint without authentication.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Endpoint {
            address: Address::Unix(path.into()),
            username: None,
            password: None,
            tls: false,
        }
    }

    /// Parses `HOST:PORT` (`[v6]:PORT` for IPv6); the first of a comma-separated list, as
    /// DCS `addrs` fields give.
    pub fn parse_addr(text: &str) -> Result<Self, EndpointError> {
        let first = text.split(',').next().unwrap_or("").trim();
        let (host, port) = first
            .rsplit_once(':')
            .ok_or_else(|| EndpointError::Malformed(clip(first)))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(EndpointError::Malformed(clip(first)));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| EndpointError::Port(clip(first)))?;
        Ok(Endpoint::tcp(host, port))
    }

    /// The same endpoint with a password.
    pub fn with_password(mut self, password: Redacted) -> Self {
        self.password = Some(password);
        self
    }

    pub(crate) fn connection_info(&self, db: u32) -> redis::RedisResult<redis::ConnectionInfo> {
        use redis::IntoConnectionInfo;
        let addr = match (&self.address, self.tls) {
            (Address::Tcp { host, port }, false) => redis::ConnectionAddr::Tcp(host.clone(), *port),
            (Address::Tcp { host, port }, true) => redis::ConnectionAddr::TcpTls {
                host: host.clone(),
                port: *port,
                insecure: false,
                tls_params: None,
            },
            (Address::Unix(path), _) => redis::ConnectionAddr::Unix(path.clone()),
        };
        let mut settings = redis::RedisConnectionInfo::default()
            .set_db(i64::from(db))
            .set_skip_set_lib_name();
        if let Some(user) = &self.username {
            settings = settings.set_username(user);
        }
        if let Some(pw) = &self.password {
            settings = settings.set_password(pw.expose());
        }
        Ok(addr.into_connection_info()?.set_redis_settings(settings))
    }
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

impl fmt::Display for Endpoint {
    /// `host:port` or `unix:/path`, with `rediss://` for TLS; never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tls {
            f.write_str("rediss://")?;
        }
        match &self.address {
            Address::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "{host}:{port}"),
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addrs_lists_and_refuses_garbage() {
        let e = Endpoint::parse_addr("10.0.0.1:6379,10.0.0.2:6379").unwrap();
        assert_eq!(e.to_string(), "10.0.0.1:6379");
        assert_eq!(
            Endpoint::parse_addr("[::1]:7000").unwrap().to_string(),
            "[::1]:7000"
        );
        assert!(matches!(
            Endpoint::parse_addr("nohost"),
            Err(EndpointError::Malformed(_))
        ));
        assert!(matches!(
            Endpoint::parse_addr("h:0"),
            Err(EndpointError::Port(_))
        ));
        assert!(matches!(
            Endpoint::parse_addr("h:70000"),
            Err(EndpointError::Port(_))
        ));
    }

    #[test]
    fn passwords_never_print() {
        let e = Endpoint::tcp("h", 1).with_password(Redacted::new("hunter2"));
        assert!(!format!("{e:?} {e}").contains("hunter2"));
    }
}
