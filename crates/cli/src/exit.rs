//! Exit codes, decided in one place (see DESIGN.md, "CLI contract").

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // the plan/apply commands use the remaining variants
pub enum ExitStatus {
    /// 0: success, or no changes.
    Success,
    /// 1: an error (invalid input, failed step, unreachable API).
    Error,
    /// 2: `plan --detailed-exitcode` found changes.
    ChangesPresent,
    /// 3: something is blocked or still in progress.
    BlockedOrInProgress,
    /// 4: a saved plan no longer matches live state.
    StalePlan,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::Error => 1,
            ExitStatus::ChangesPresent => 2,
            ExitStatus::BlockedOrInProgress => 3,
            ExitStatus::StalePlan => 4,
        })
    }
}
