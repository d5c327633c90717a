//! Parsing error response bodies, and keeping secrets out of parser messages.

/// Code, message and request id found in an error response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
}

/// Longest error message kept from a body (non-JSON bodies can be whole HTML pages).
const MAX_MESSAGE_CHARS: usize = 1024;

/// Parses an error response body, as the Huawei SDKs do: `error_code`/`error_msg`,
/// falling back to `code`/`message` (also inside an `error` object); a body that
/// is not JSON, or JSON without a message, becomes the message itself.
pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> ErrorBody {
    fn text(v: Option<&serde_json::Value>) -> Option<String> {
        match v? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    let raw = String::from_utf8_lossy(body);
    let raw = raw.trim();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(raw) {
        let nested = match map.get("error") {
            Some(serde_json::Value::Object(inner)) => Some(inner),
            _ => None,
        };
        let pick = |primary: &str, fallback: &str| {
            text(map.get(primary))
                .or_else(|| text(map.get(fallback)))
                .or_else(|| {
                    nested.and_then(|n| text(n.get(primary)).or_else(|| text(n.get(fallback))))
                })
        };
        let code = pick("error_code", "code");
        let message = pick("error_msg", "message");
        let request_id = text(map.get("request_id"));
        if code.is_some() || message.is_some() {
            return ErrorBody {
                code,
                message: truncate(message.unwrap_or_default()),
                request_id,
            };
        }
    }
    let message = if raw.is_empty() {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("(empty body)")
            .to_owned()
    } else {
        raw.to_owned()
    };
    ErrorBody {
        code: None,
        message: truncate(message),
        request_id: None,
    }
}

fn truncate(mut s: String) -> String {
    if let Some((idx, _)) = s.char_indices().nth(MAX_MESSAGE_CHARS) {
        s.truncate(idx);
        s.push('…');
    }
    s
}

/// Removes quoted values from a serde_json message, so that a response that
/// echoes secrets (DCS shows Redis passwords) cannot leak them through a decode error.
pub(crate) fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quote = false;
    for ch in message.chars() {
        match (ch, in_quote) {
            ('"' | '`', false) => {
                in_quote = true;
                out.push_str("\"…");
            }
            ('"' | '`', true) => {
                in_quote = false;
                out.push('"');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_code_shape() {
        let b = br#"{"error_code":"SMS.1038","error_msg":"only running tasks can be paused","encoded_authorization_message":"x","details":[]}"#;
        let e = parse_error_body(400, b);
        assert_eq!(e.code.as_deref(), Some("SMS.1038"));
        assert_eq!(e.message, "only running tasks can be paused");
    }

    #[test]
    fn falls_back_to_code_message_shape() {
        let e = parse_error_body(
            400,
            br#"{"code":"DCS.4133","message":"Instance job is not found."}"#,
        );
        assert_eq!(e.code.as_deref(), Some("DCS.4133"));
        assert_eq!(e.message, "Instance job is not found.");
        let e = parse_error_body(
            401,
            br#"{"error":{"code":"401","message":"token expired"}}"#,
        );
        assert_eq!(e.code.as_deref(), Some("401"));
        assert_eq!(e.message, "token expired");
    }

    #[test]
    fn gateway_body_with_request_id_and_numeric_code() {
        let e = parse_error_body(
            429,
            br#"{"error_msg":"The throttling threshold has been reached","error_code":"APIG.0308","request_id":"abc"}"#,
        );
        assert_eq!(e.code.as_deref(), Some("APIG.0308"));
        assert_eq!(e.request_id.as_deref(), Some("abc"));
        let e = parse_error_body(400, br#"{"error_code":111400063,"error_msg":"invalid x"}"#);
        assert_eq!(e.code.as_deref(), Some("111400063"));
    }

    #[test]
    fn non_json_body_becomes_message() {
        let e = parse_error_body(502, b"<html>Bad Gateway</html>\n");
        assert_eq!(e.code, None);
        assert_eq!(e.message, "<html>Bad Gateway</html>");
        let e = parse_error_body(503, b"");
        assert_eq!(e.message, "Service Unavailable");
        let e = parse_error_body(500, br#"{"unexpected":true}"#);
        assert_eq!(e.message, r#"{"unexpected":true}"#);
        let long = "x".repeat(5000);
        assert_eq!(
            parse_error_body(500, long.as_bytes())
                .message
                .chars()
                .count(),
            MAX_MESSAGE_CHARS + 1
        );
    }

    #[test]
    fn redacts_quoted_values() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "p@ss", expected u32 at line 1 column 9"#),
            r#"invalid type: string "…", expected u32 at line 1 column 9"#
        );
    }
}
