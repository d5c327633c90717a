//! [`Secret`]: a string that cannot be printed, logged or serialized by accident.

use std::fmt;

/// A secret value (secret access key, IAM token, Redis password).
///
/// `Debug` and `Display` print `****`; there is deliberately no `Serialize`
/// implementation, and the only way to read the value is [`Secret::expose`].
/// Call sites that expose a secret should be few and easy to audit: in this
/// crate they are the request signer and the `X-Auth-Token` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The text printed in place of any secret.
    pub const REDACTED: &'static str = "****";

    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value. Never log or format the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "****");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(format!("{s:#?}"), "****");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redacted_inside_containers() {
        let v = vec![Some(Secret::from("abc123"))];
        assert!(!format!("{v:?}").contains("abc123"));
    }
}
