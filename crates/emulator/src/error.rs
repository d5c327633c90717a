//! The emulator's own errors (starting, seeding, persisting), as opposed to API error bodies.

use std::path::PathBuf;

/// An error starting, seeding or stopping the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The seed file is not valid.
    #[error("invalid seed file {path}: {message}")]
    Seed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The persisted state file is not valid.
    #[error("invalid state file {path}: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A request made through the library helpers was refused.
    #[error("{code}: {message}")]
    Refused {
        /// The service error code.
        code: String,
        /// The message.
        message: String,
    },
    /// The server task failed.
    #[error("the emulator server stopped unexpectedly: {0}")]
    Server(String),
}
