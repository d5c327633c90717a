//! Error bodies: SMS, DCS and the API gateway (APIG) each shape theirs differently.

use serde::{Deserialize, Serialize};

/// SMS v3 error body: `{"error_code","error_msg",...}` (REFERENCE §3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsErrorBody {
    /// e.g. `SMS.9004`.
    pub error_code: String,
    /// Human-readable message.
    pub error_msg: String,
    /// Encrypted authorization details (403 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoded_authorization_message: Option<String>,
    /// Message parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_param: Option<Vec<String>>,
    /// Nested details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<SmsErrorDetail>>,
}

/// One item of `details` in an SMS error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsErrorDetail {
    /// Error code.
    pub error_code: String,
    /// Message.
    pub error_msg: String,
}

/// DCS v2 error body: `{"error_msg","error_code","error_ext_msg":null}` (REFERENCE §4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DcsErrorBody {
    /// Message.
    pub error_msg: String,
    /// e.g. `DCS.4133`.
    pub error_code: String,
    /// Unused by the service; always written (as `null` when absent).
    pub error_ext_msg: Option<String>,
}

/// API gateway error body: `{"error_msg","error_code","request_id"}` (`APIG.0301`, `APIG.0308`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApigErrorBody {
    /// Message.
    pub error_msg: String,
    /// e.g. `APIG.0308`.
    pub error_code: String,
    /// The request id.
    pub request_id: String,
}

/// Any of the error bodies, parsed leniently the way the SDKs do: `error_code`/`error_msg`,
/// falling back to `code`/`message`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnyErrorBody {
    /// `error_code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// `error_msg`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// `code` (fallback spelling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `message` (fallback spelling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `request_id` (gateway errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl AnyErrorBody {
    /// The error code, from whichever field carried it.
    pub fn code(&self) -> Option<&str> {
        self.error_code.as_deref().or(self.code.as_deref())
    }

    /// The message, from whichever field carried it.
    pub fn message(&self) -> Option<&str> {
        self.error_msg.as_deref().or(self.message.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcs_error_writes_null_ext_msg() {
        let body = DcsErrorBody {
            error_msg: "Instance job is not found.".into(),
            error_code: "DCS.4133".into(),
            error_ext_msg: None,
        };
        let v = serde_json::to_value(&body).unwrap();
        assert!(
            v.get("error_ext_msg")
                .is_some_and(serde_json::Value::is_null)
        );
    }

    #[test]
    fn any_error_body_falls_back_to_code_and_message() {
        let a: AnyErrorBody = serde_json::from_str(r#"{"code":"X.1","message":"m"}"#).unwrap();
        assert_eq!((a.code(), a.message()), (Some("X.1"), Some("m")));
        let b: AnyErrorBody =
            serde_json::from_str(r#"{"error_code":"SMS.9004","error_msg":"no","details":[]}"#)
                .unwrap();
        assert_eq!(b.code(), Some("SMS.9004"));
    }
}
