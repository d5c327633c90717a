//! Exit codes, decided in one place (see DESIGN.md, "CLI contract").

use std::process::ExitCode;

/// How a command ended. The codes are a contract with CI scripts (README, "Exit codes"):
/// a scheduled job runs again on 5 and pages a human on 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success, or no changes.
    Success,
    /// 1: an error (invalid input, failed step, unreachable API).
    Error,
    /// 2: `plan --detailed-exitcode` found changes.
    ChangesPresent,
    /// 3: something is blocked: a person must act before it can go on.
    Blocked,
    /// 4: a saved plan no longer matches live state (or was edited).
    StalePlan,
    /// 5: work is still in progress (after `--wait-timeout`, or for `status`): run again.
    InProgress,
}

impl ExitStatus {
    /// The number.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Error => 1,
            ExitStatus::ChangesPresent => 2,
            ExitStatus::Blocked => 3,
            ExitStatus::StalePlan => 4,
            ExitStatus::InProgress => 5,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s.code())
    }
}
