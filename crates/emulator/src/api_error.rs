//! Errors answered to API clients, in the body shape of the service that raises them.

/// Which body shape an error uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `{"error_code","error_msg"}` (SMS v3).
    Sms,
    /// `{"error_msg","error_code","error_ext_msg":null}` (DCS v2).
    Dcs,
    /// `{"error_msg","error_code","request_id"}` (API gateway).
    Apig,
}

/// An error answer: HTTP status, body shape, code and message. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Body shape.
    pub flavor: Flavor,
    /// Service error code, e.g. `SMS.1038`.
    pub code: String,
    /// Message.
    pub message: String,
}

impl ApiError {
    /// An SMS error.
    pub fn sms(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            flavor: Flavor::Sms,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A DCS error.
    pub fn dcs(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            flavor: Flavor::Dcs,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A gateway error.
    pub fn apig(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            flavor: Flavor::Apig,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// SMS 400 `SMS.1001`: a request parameter is invalid (emulator-chosen code).
    pub fn sms_invalid(message: impl Into<String>) -> Self {
        Self::sms(400, codes::SMS_INVALID_PARAM, message)
    }

    /// DCS 400 `DCS.4800`: a request parameter is invalid.
    pub fn dcs_invalid(message: impl Into<String>) -> Self {
        Self::dcs(400, codes::DCS_INVALID_PARAM, message)
    }
}

/// The error codes the emulator answers with (see the crate docs for the full table).
pub mod codes {
    /// Invalid parameter (emulator-chosen; the real code is not documented).
    pub const SMS_INVALID_PARAM: &str = "SMS.1001";
    /// The source already has a migration task (emulator-chosen).
    pub const SMS_SOURCE_HAS_TASK: &str = "SMS.1002";
    /// Only running tasks can be paused (`stop`).
    pub const SMS_STOP_NOT_RUNNING: &str = "SMS.1038";
    /// Only ready or paused (or finished, for a sync round) tasks can be started.
    pub const SMS_START_NOT_ALLOWED: &str = "SMS.1039";
    /// Only failed or paused tasks can be restarted.
    pub const SMS_RESTART_NOT_ALLOWED: &str = "SMS.1040";
    /// The operation does not fit the task's current state (legacy "command mismatch").
    pub const SMS_OPERATION_MISMATCH: &str = "SMS.2009";
    /// Running or stopping tasks cannot be deleted.
    pub const SMS_DELETE_RUNNING: &str = "SMS.2015";
    /// The source server does not exist.
    pub const SMS_SOURCE_NOT_FOUND: &str = "SMS.2216";
    /// The task does not exist (404).
    pub const SMS_TASK_NOT_FOUND: &str = "SMS.2252";
    /// The template does not exist (404, emulator-chosen).
    pub const SMS_TEMPLATE_NOT_FOUND: &str = "SMS.2253";
    /// DCS task or job not found (400).
    pub const DCS_NOT_FOUND: &str = "DCS.4133";
    /// DCS invalid migration task id in a batch request.
    pub const DCS_INVALID_TASK_ID: &str = "DCS.4855";
    /// DCS operation not allowed in the task's current state.
    pub const DCS_STATE: &str = "DCS.4957";
    /// DCS invalid parameter.
    pub const DCS_INVALID_PARAM: &str = "DCS.4800";
    /// DCS body is not JSON.
    pub const DCS_NOT_JSON: &str = "DCS.4005";
    /// DCS project id does not match the credentials.
    pub const DCS_PROJECT_MISMATCH: &str = "DCS.1004";
    /// Gateway: authentication failed.
    pub const APIG_AUTH: &str = "APIG.0301";
    /// Gateway: throttled.
    pub const APIG_THROTTLED: &str = "APIG.0308";
    /// Gateway: backend error.
    pub const APIG_BACKEND: &str = "APIG.0201";
    /// Gateway: no such API.
    pub const APIG_NOT_FOUND: &str = "APIG.0101";
}
