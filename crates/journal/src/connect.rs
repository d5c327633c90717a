//! `postgres://` URLs, TLS (rustls, ring) and connections with their background task.
//!
//! `sslmode` is honoured as libpq spells it: `disable` (plain TCP), `prefer` (TLS when the
//! server offers it; the default) and `require` (TLS or no connection). Unlike libpq, a TLS
//! connection always verifies the server certificate (the platform's roots, or the PEM file
//! named by `sslrootcert=PATH`): a lock that an impostor can grant protects nothing.
//! `verify-ca` and `verify-full` are accepted and mean `require`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use rustls_platform_verifier::BuilderVerifierExt;
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, chain};

/// How long one statement may go unanswered before the database counts as unreachable.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed database URL; shown only without its password.
#[derive(Clone)]
pub struct DbUrl {
    config: Config,
    root_cert: Option<PathBuf>,
    shown: String,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DbUrl").field(&self.shown).finish()
    }
}

impl DbUrl {
    /// Parses `postgres://` or `postgresql://` URLs.
    pub fn parse(url: &str) -> Result<DbUrl, Error> {
        let bad = |reason: &str| Error::Url {
            reason: reason.to_string(),
        };
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad("it must start with postgres:// or postgresql://"));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        // `sslrootcert` is ours to handle, and libpq's `verify-*` modes are not the driver's:
        // both are taken out before the driver parses the rest.
        let mut kept = Vec::new();
        let mut root_cert = None;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            match pair.split_once('=') {
                Some(("sslrootcert", path)) => root_cert = Some(PathBuf::from(path)),
                Some(("sslmode", "verify-ca" | "verify-full")) => kept.push("sslmode=require"),
                Some(("sslmode", m)) if !matches!(m, "disable" | "prefer" | "require") => {
                    return Err(bad(&format!(
                        "sslmode={} is not one of disable, prefer, require, verify-ca, verify-full",
                        crate::error::clip(m, 40)
                    )));
                }
                _ => kept.push(pair),
            }
        }
        let driver_url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: Config = driver_url.parse().map_err(|e: tokio_postgres::Error| {
            // The driver's message names the option, never the password.
            bad(&chain(&e))
        })?;
        if config.get_hosts().is_empty() {
            return Err(bad("it names no host"));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // A peer that vanished is noticed within about a minute, not after two hours.
        config.keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("migplan");
        }
        Ok(DbUrl {
            config,
            root_cert,
            shown: redact(base),
        })
    }

    /// The URL without password or query, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`.
fn redact(base: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{hosts}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    format!("{scheme}://{authority}{path}")
}

/// A client and the task driving its socket; dropping it closes the connection (and with
/// it every session-level advisory lock it held).
pub(crate) struct Conn {
    pub client: Client,
    pub target: String,
    pub statement_timeout: Duration,
    task: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Conn {
    /// Runs one driver call, bounded by the statement timeout; a silent server is unreachable.
    pub async fn run<T, F>(&self, what: &'static str, fut: F) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    {
        match tokio::time::timeout(self.statement_timeout, fut).await {
            Ok(r) => r.map_err(|e| Error::from_pg(&self.target, what, e)),
            Err(_) => Err(Error::Unreachable {
                target: self.target.clone(),
                reason: format!(
                    "no answer within {:?} while trying to {what}",
                    self.statement_timeout
                ),
            }),
        }
    }
}

/// Opens one connection.
pub(crate) async fn connect(url: &DbUrl) -> Result<Conn, Error> {
    let target = url.shown.clone();
    let connect_err = |e: tokio_postgres::Error| Error::Connect {
        target: target.clone(),
        reason: chain(&e),
    };
    let overall = url
        .config
        .get_connect_timeout()
        .copied()
        .unwrap_or(CONNECT_TIMEOUT)
        + Duration::from_secs(5);
    let connecting = async {
        if url.config.get_ssl_mode() == SslMode::Disable {
            let (client, conn) = url.config.connect(NoTls).await.map_err(connect_err)?;
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok((client, task))
        } else {
            let tls = tls_config(url)?;
            let make = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
            let (client, conn) = url.config.connect(make).await.map_err(connect_err)?;
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok((client, task))
        }
    };
    let (client, task) = tokio::time::timeout(overall, connecting)
        .await
        .map_err(|_| Error::Connect {
            target: target.clone(),
            reason: format!("no answer within {overall:?}"),
        })??;
    Ok(Conn {
        client,
        target,
        statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
        task,
    })
}

fn tls_config(url: &DbUrl) -> Result<ClientConfig, Error> {
    let tls_err = |reason: String| Error::Tls {
        target: url.shown.clone(),
        reason,
    };
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err(e.to_string()))?;
    let config = match &url.root_cert {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| tls_err(format!("sslrootcert {}: {e}", path.display())))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| tls_err(format!("sslrootcert {}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| tls_err(format!("sslrootcert {}: {e}", path.display())))?;
            }
            if roots.is_empty() {
                return Err(tls_err(format!(
                    "sslrootcert {} holds no certificate",
                    path.display()
                )));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .with_platform_verifier()
            .map_err(|e| tls_err(e.to_string()))?
            .with_no_client_auth(),
    };
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_password_or_query() {
        let u = DbUrl::parse("postgres://me:s3cret@db.example:5433/locks?sslmode=require")
            .expect("valid");
        assert_eq!(u.shown(), "postgres://me:***@db.example:5433/locks");
        assert!(!format!("{u:?}").contains("s3cret"));
        let u = DbUrl::parse("postgresql://me@db/locks").expect("valid");
        assert_eq!(u.shown(), "postgresql://me@db/locks");
    }

    #[test]
    fn sslmode_is_honoured_and_checked() {
        let mode = |url: &str| DbUrl::parse(url).map(|u| u.config.get_ssl_mode());
        assert_eq!(
            mode("postgres://h/d?sslmode=disable").ok(),
            Some(SslMode::Disable)
        );
        assert_eq!(
            mode("postgres://h/d?sslmode=require").ok(),
            Some(SslMode::Require)
        );
        assert_eq!(
            mode("postgres://h/d?sslmode=verify-full").ok(),
            Some(SslMode::Require)
        );
        assert_eq!(mode("postgres://h/d").ok(), Some(SslMode::Prefer));
        let err = DbUrl::parse("postgres://h/d?sslmode=allow").expect_err("refused");
        assert!(err.to_string().contains("sslmode=allow"), "{err}");
    }

    #[test]
    fn other_schemes_and_bad_urls_are_refused_without_echoing_them() {
        let err = DbUrl::parse("mysql://u:pw@h/d").expect_err("refused");
        assert!(!err.to_string().contains("pw"), "{err}");
        let err = DbUrl::parse("postgres://u:pw@h/d?nonsense=1").expect_err("refused");
        assert!(err.to_string().contains("nonsense"), "{err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_root_cert_file_is_a_tls_error_naming_it() {
        let u = DbUrl::parse(
            "postgres://u@127.0.0.1:1/d?sslmode=require&sslrootcert=/nonexistent/ca.pem",
        )
        .expect("valid");
        let err = connect(&u).await.err().expect("no TLS config");
        assert!(matches!(err, Error::Tls { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
