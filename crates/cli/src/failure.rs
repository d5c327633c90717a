//! Why a command stopped before (or instead of) doing its work, in a form a script can read:
//! a stable kind and the exit code, beside the message a person reads.
//!
//! Commands tag the errors they return with [`Classify::kind`] (or build a [`Failure`]); `main`
//! reads the kind and exit code back with [`of`] and prints the error for people (stderr) or,
//! under `--format json`, as one JSON object on stdout ([`to_json`]).

use std::fmt;

use miette::Diagnostic;
use schemars::JsonSchema;
use serde::Serialize;

use crate::exit::ExitStatus;

/// What kind of error ended the command. Serialized in snake_case; the names are a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A mistyped flag or value, or a `--target` that names no resource.
    Usage,
    /// The plan file has diagnostics (listed under `diagnostics`).
    InvalidPlan,
    /// A file could not be read or written (plan file, saved plan, lock file).
    Io,
    /// A saved plan that is not a saved plan migplan can read.
    InvalidSavedPlan,
    /// Another apply of the same plan and target holds the lock.
    LockHeld,
    /// No connection: credentials, endpoints, the metadata service, the local emulator.
    Connect,
    /// The cloud's API failed while live state was read.
    Api,
    /// Secrets the plan needs are not set in the environment.
    Secrets,
    /// The saved plan is stale (live state moved) or was edited: exit 4.
    StalePlan,
    /// Apply needs approval and there is no terminal to ask (use `--auto-approve`).
    NeedsApproval,
    /// The person at the terminal did not approve.
    Cancelled,
    /// Anything else.
    Internal,
}

/// An error tagged with its kind and exit code. It shows exactly as the error it wraps.
pub struct Failure {
    pub kind: ErrorKind,
    pub status: ExitStatus,
    /// Shown as one plain `Error: …` line rather than a drawn report: the text is already laid
    /// out (a list of what changed per resource) and must not be re-wrapped.
    pub plain: bool,
    /// For an invalid or unreadable plan file: its diagnostics.
    pub diagnostics: Option<Vec<migplan_parser::JsonDiagnostic>>,
    inner: miette::Report,
}

impl Failure {
    /// A failure that exits 1 unless `status` says otherwise.
    pub fn new(kind: ErrorKind, inner: miette::Report) -> Failure {
        Failure {
            kind,
            status: ExitStatus::Error,
            plain: false,
            diagnostics: None,
            inner,
        }
    }

    /// An invalid plan file, with its diagnostics for the JSON form.
    /// A file that could not be read at all is an I/O error, not an invalid plan.
    pub fn invalid_plan(errors: &migplan_parser::PlanErrors, message: String) -> Failure {
        let diagnostics = errors.to_json();
        let kind = if diagnostics.iter().all(|d| d.code == "migplan::plan::io") {
            ErrorKind::Io
        } else {
            ErrorKind::InvalidPlan
        };
        Failure {
            diagnostics: Some(diagnostics),
            ..Failure::new(kind, miette::Report::msg(message))
        }
    }

    /// A failure printed as `Error: {message}`, with its own exit code.
    pub fn plain(kind: ErrorKind, status: ExitStatus, message: String) -> Failure {
        Failure {
            kind,
            status,
            plain: true,
            diagnostics: None,
            inner: miette::Report::msg(message),
        }
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl Diagnostic for Failure {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.url()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.inner.related()
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.inner.diagnostic_source()
    }
}

/// Tags a result's error with a kind, keeping a kind already given closer to the cause.
pub trait Classify<T> {
    fn kind(self, kind: ErrorKind) -> miette::Result<T>;
}

impl<T> Classify<T> for miette::Result<T> {
    fn kind(self, kind: ErrorKind) -> miette::Result<T> {
        self.map_err(|report| {
            if report.downcast_ref::<Failure>().is_some() {
                report
            } else {
                Failure::new(kind, report).into()
            }
        })
    }
}

/// The kind and exit code of an error that ended a command: as tagged, else read from the
/// error types it is made of (a lock held, an I/O error), else [`ErrorKind::Internal`], exit 1.
pub fn of(report: &miette::Report) -> (ErrorKind, ExitStatus) {
    if let Some(f) = report.downcast_ref::<Failure>() {
        return (f.kind, f.status);
    }
    let kind = report
        .chain()
        .find_map(|e| {
            if let Some(l) = e.downcast_ref::<crate::lock::LockError>() {
                Some(match l {
                    crate::lock::LockError::Held { .. } => ErrorKind::LockHeld,
                    crate::lock::LockError::Io { .. } => ErrorKind::Io,
                })
            } else if let Some(j) = e.downcast_ref::<migplan_journal::Error>() {
                use migplan_journal::Error as J;
                Some(match j {
                    J::Held { .. } | J::Timeout { .. } => ErrorKind::LockHeld,
                    J::Url { .. } => ErrorKind::Usage,
                    J::Connect { .. } | J::Tls { .. } | J::Unreachable { .. } => ErrorKind::Connect,
                    _ => ErrorKind::Internal,
                })
            } else if e.downcast_ref::<std::io::Error>().is_some() {
                Some(ErrorKind::Io)
            } else {
                None
            }
        })
        .unwrap_or(ErrorKind::Internal);
    (kind, ExitStatus::Error)
}

/// The JSON form of every error under `--format json`: one object on one line of stdout (the
/// stream a script already parses), every key always present (`null` or `[]` when empty),
/// described by `schemas/error.schema.json`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "migplan error (--format json)")]
pub struct ErrorOutput {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// What kind of error; stable names.
    pub kind: ErrorKind,
    /// The message a person would read on stderr (escaped, bounded).
    pub message: String,
    /// The exit code the process ends with.
    pub exit_code: u8,
    /// The causes, outermost first.
    pub causes: Vec<String>,
    /// The diagnostic code, e.g. `migplan::lock::held`.
    pub code: Option<String>,
    /// How to fix it, when known.
    pub help: Option<String>,
    /// For `invalid_plan` (and `io` on a plan file): every diagnostic of the plan file.
    pub diagnostics: Option<Vec<migplan_parser::JsonDiagnostic>>,
}

/// The JSON form of an error report.
pub fn to_json(report: &miette::Report) -> ErrorOutput {
    let (kind, status) = of(report);
    let clean = |s: String| crate::render::clean_error_text(&s);
    let mut chain = report.chain().map(|e| clean(e.to_string()));
    let message = chain.next().unwrap_or_default();
    let mut causes: Vec<String> = chain.take(32).collect();
    causes.dedup();
    ErrorOutput {
        error: ErrorBody {
            kind,
            message,
            exit_code: status.code(),
            causes,
            code: report.code().map(|c| clean(c.to_string())),
            help: report.help().map(|h| clean(h.to_string())),
            diagnostics: report
                .downcast_ref::<Failure>()
                .and_then(|f| f.diagnostics.clone()),
        },
    }
}
