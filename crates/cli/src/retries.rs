//! Retries shown as they happen, so a slow endpoint is never silence: a line on stderr
//! (`retrying GET /v3/tasks (attempt 2 of 5, after 503 Service Unavailable; waiting 1.0 s)`),
//! or, for `apply --format json` whose stdout is a stream of events, a `request_retried`
//! event line there.

use std::io::Write;

use migplan_cloud::RetryNotice;

/// Where retry notices go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryReport {
    /// A human line on stderr (stdout may hold a document: plan and status JSON, markdown).
    #[default]
    Stderr,
    /// A JSON event line on stdout, among apply's other events.
    JsonEvents,
}

/// Shows one notice.
pub fn report(how: RetryReport, n: &RetryNotice) {
    match how {
        RetryReport::Stderr => {
            let mut err = std::io::stderr().lock();
            // The path holds ids from the plan or the API: escaped for the terminal.
            let _ = writeln!(err, "{}", crate::untrusted::escape_controls(&n.to_string()));
        }
        RetryReport::JsonEvents => {
            let line = serde_json::json!({
                "type": "request_retried",
                "service": n.service.as_str(),
                "method": n.method,
                "path": n.path,
                "attempt": n.attempt,
                "max_attempts": n.max_attempts,
                "after": n.after,
                "wait_seconds": (n.wait.as_secs_f64() * 1000.0).round() / 1000.0,
                "time": crate::render::events::now(),
            });
            crate::render::events::out_line(&line.to_string());
        }
    }
}
