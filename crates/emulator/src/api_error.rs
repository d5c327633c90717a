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
    /// `{"error_code","error_msg"}` (the emulator's own `/_emulator/...` endpoints).
    Admin,
}

impl Flavor {
    /// The body shape errors on `path` use: `/v3/...` SMS, `/v2/...` DCS, `/_emulator/...`
    /// admin, anything else the API gateway's.
    pub fn for_path(path: &str) -> Flavor {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/v3") {
            Flavor::Sms
        } else if under("/v2") {
            Flavor::Dcs
        } else if under("/_emulator") {
            Flavor::Admin
        } else {
            Flavor::Apig
        }
    }
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

    /// An error of an admin endpoint (`/_emulator/...`).
    pub fn admin(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            flavor: Flavor::Admin,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// An error in `flavor`'s body shape (gateway errors keep [`Flavor::Apig`]).
    pub fn with_flavor(
        status: u16,
        flavor: Flavor,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            flavor,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The error for a request rejected before (or instead of) its handler — body too large,
    /// unknown route, wrong method, malformed path parameter, ... — in the body shape of the
    /// path's service, with the code [`codes::for_status`] picks.
    pub fn rejection(path: &str, status: u16, message: impl Into<String>) -> Self {
        let flavor = Flavor::for_path(path);
        let (flavor, code) = codes::for_status(flavor, status);
        Self::with_flavor(status, flavor, code, message)
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
    use super::Flavor;

    /// Invalid parameter (emulator-chosen; the real code is not documented).
    pub const SMS_INVALID_PARAM: &str = "SMS.1001";
    /// The source already has a migration task (emulator-chosen).
    pub const SMS_SOURCE_HAS_TASK: &str = "SMS.1002";
    /// The account's quota of migrations at the same time is used up (403, emulator-chosen:
    /// the limit is documented, its code is not; see [`crate::state::sms_quota`]).
    pub const SMS_MIGRATION_QUOTA: &str = "SMS.1003";
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
    /// Gateway: generic request rejection (too large, bad request line, ...).
    pub const APIG_BAD_REQUEST: &str = "APIG.0201";

    /// SMS: the request body exceeds the size limit. Legacy SMS documents `SMS.2004` for
    /// exactly this ("body larger than allowed", answered as 401 back then); the emulator keeps
    /// the code and answers the proper 413.
    pub const SMS_BODY_TOO_LARGE: &str = "SMS.2004";
    /// SMS: HTTP method not supported by the URL. Legacy SMS documents `SMS.2003` ("bad HTTP
    /// method", 401 back then); the emulator answers 405 with it.
    pub const SMS_BAD_METHOD: &str = "SMS.2003";
    /// SMS: unexpected backend error (legacy `SMS.2007`, 500).
    pub const SMS_INTERNAL: &str = "SMS.2007";
    /// DCS: URL not found (404); also used for a method the URL does not support (405).
    pub const DCS_URL_NOT_FOUND: &str = "DCS.4001";
    /// DCS: the project id in the URL is not a project id (400).
    pub const DCS_INVALID_PROJECT: &str = "DCS.4002";
    /// DCS: a task id in the URL is malformed (400).
    pub const DCS_INVALID_TASK_ID_FORMAT: &str = "DCS.4070";
    /// DCS: internal error (500).
    pub const DCS_INTERNAL: &str = "DCS.5000";
    /// Admin: malformed request (bad JSON, bad query, bad path parameter).
    pub const ADMIN_BAD_REQUEST: &str = "EMULATOR.0400";
    /// Admin: caller is not a loopback peer.
    pub const ADMIN_FORBIDDEN: &str = "EMULATOR.0403";
    /// Admin: no such admin endpoint or object.
    pub const ADMIN_NOT_FOUND: &str = "EMULATOR.0404";
    /// Admin: method not supported by the endpoint.
    pub const ADMIN_BAD_METHOD: &str = "EMULATOR.0405";
    /// Admin: request body larger than the limit.
    pub const ADMIN_BODY_TOO_LARGE: &str = "EMULATOR.0413";
    /// Admin: anything else (e.g. the seed file cannot be re-read on reset).
    pub const ADMIN_INTERNAL: &str = "EMULATOR.0500";

    /// The flavor and code of a request rejected by HTTP status alone (see the crate docs'
    /// error table). Unknown `/v3` URLs stay the gateway's `APIG.0101` (SMS documents no
    /// URL-not-found code; on the real cloud the API gateway answers them).
    pub fn for_status(flavor: Flavor, status: u16) -> (Flavor, &'static str) {
        match (flavor, status) {
            (Flavor::Sms, 404) => (Flavor::Apig, APIG_NOT_FOUND),
            (Flavor::Sms, 405) => (Flavor::Sms, SMS_BAD_METHOD),
            (Flavor::Sms, 413) => (Flavor::Sms, SMS_BODY_TOO_LARGE),
            (Flavor::Sms, 500..) => (Flavor::Sms, SMS_INTERNAL),
            (Flavor::Sms, _) => (Flavor::Sms, SMS_INVALID_PARAM),
            (Flavor::Dcs, 404 | 405) => (Flavor::Dcs, DCS_URL_NOT_FOUND),
            (Flavor::Dcs, 500..) => (Flavor::Dcs, DCS_INTERNAL),
            (Flavor::Dcs, _) => (Flavor::Dcs, DCS_INVALID_PARAM),
            (Flavor::Admin, 403) => (Flavor::Admin, ADMIN_FORBIDDEN),
            (Flavor::Admin, 404) => (Flavor::Admin, ADMIN_NOT_FOUND),
            (Flavor::Admin, 405) => (Flavor::Admin, ADMIN_BAD_METHOD),
            (Flavor::Admin, 413) => (Flavor::Admin, ADMIN_BODY_TOO_LARGE),
            (Flavor::Admin, 500..) => (Flavor::Admin, ADMIN_INTERNAL),
            (Flavor::Admin, _) => (Flavor::Admin, ADMIN_BAD_REQUEST),
            (Flavor::Apig, 404) => (Flavor::Apig, APIG_NOT_FOUND),
            (Flavor::Apig, _) => (Flavor::Apig, APIG_BAD_REQUEST),
        }
    }
}
