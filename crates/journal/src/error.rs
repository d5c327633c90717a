//! Why a lock or journal operation failed, in words a user can act on.

use std::time::Duration;

/// What went wrong with the lock or journal database.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The URL is not one this crate accepts.
    #[error("the PostgreSQL URL is not valid: {reason}")]
    #[diagnostic(
        code(migplan::journal::url),
        help(
            "expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]"
        )
    )]
    Url {
        /// Why (never the URL itself: it may hold a password).
        reason: String,
    },
    /// The TLS settings could not be built (CA file unreadable, no platform roots).
    #[error("cannot set up TLS for {target}: {reason}")]
    #[diagnostic(code(migplan::journal::tls))]
    Tls {
        /// The database, password removed.
        target: String,
        /// Why.
        reason: String,
    },
    /// The first connection failed.
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    #[diagnostic(
        code(migplan::journal::connect),
        help(
            "check the host, port, user and sslmode in the URL, and that the server accepts this client"
        )
    )]
    Connect {
        /// The database, password removed.
        target: String,
        /// Why.
        reason: String,
    },
    /// The connection was lost or stopped answering after it was made (mid-apply).
    #[error("PostgreSQL at {target} became unreachable: {reason}")]
    #[diagnostic(
        code(migplan::journal::unreachable),
        help(
            "finish what is in flight, start nothing new, and run again once the database is back"
        )
    )]
    Unreachable {
        /// The database, password removed.
        target: String,
        /// Why.
        reason: String,
    },
    /// Another run holds the lock.
    #[error("another run holds the lock on {what}: {holder}")]
    #[diagnostic(
        code(migplan::journal::lock_held),
        help("wait for it to finish, or let apply wait for it with --lock-timeout DUR")
    )]
    Held {
        /// What is locked.
        what: String,
        /// Who holds it, from its holder record.
        holder: String,
    },
    /// The lock stayed held for the whole timeout.
    #[error("another run still holds the lock on {what} after waiting {waited:?}: {holder}")]
    #[diagnostic(code(migplan::journal::lock_timeout))]
    Timeout {
        /// What is locked.
        what: String,
        /// How long was waited.
        waited: Duration,
        /// Who holds it, from its holder record.
        holder: String,
    },
    /// The database was set up by a newer migplan.
    #[error(
        "the database at {target} has migplan schema version {found}; this migplan knows up to version {supported}"
    )]
    #[diagnostic(
        code(migplan::journal::schema_too_new),
        help("upgrade migplan: an older one could misread or damage newer tables")
    )]
    SchemaTooNew {
        /// The database, password removed.
        target: String,
        /// The version found.
        found: i32,
        /// The newest version this build knows.
        supported: i32,
    },
    /// The server refused a statement (permissions, constraint, ...).
    #[error("PostgreSQL at {target} refused to {what}: {reason}")]
    #[diagnostic(code(migplan::journal::query))]
    Query {
        /// The database, password removed.
        target: String,
        /// What was being done.
        what: &'static str,
        /// The server's code and message.
        reason: String,
    },
}

impl Error {
    /// Whether the database is gone (not a refusal): the caller should finish what is in
    /// flight, start nothing new and exit 1.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Unreachable { .. })
    }

    /// Classifies a driver error: a server's answer is a refusal, except the codes that mean
    /// the session was ended (admin shutdown, terminated backend, connection exceptions);
    /// everything else (closed socket, I/O) is the database being unreachable.
    pub(crate) fn from_pg(target: &str, what: &'static str, e: tokio_postgres::Error) -> Error {
        match e.as_db_error() {
            Some(db) => {
                let code = db.code().code();
                let reason = format!("{code}: {}", clip(db.message(), 500));
                if code.starts_with("57P") || code.starts_with("08") {
                    Error::Unreachable {
                        target: target.to_string(),
                        reason,
                    }
                } else {
                    Error::Query {
                        target: target.to_string(),
                        what,
                        reason,
                    }
                }
            }
            None => Error::Unreachable {
                target: target.to_string(),
                reason: chain(&e),
            },
        }
    }
}

/// The error and its sources on one line (driver errors keep the cause in `source`).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        cur = s.source();
    }
    clip(&text, 500)
}

/// At most `max` characters, cut on a character boundary, marked when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clip_cuts_on_char_boundaries_and_marks_the_cut() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc…");
        assert_eq!(clip("ééé", 2), "éé…");
    }
}
