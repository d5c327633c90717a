//! Small value types and serde helpers shared by the SMS and DCS models.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A secret that exists on the wire (a Redis password, a template's target password).
///
/// It serializes and deserializes as a plain JSON string, but its `Debug` prints `****`, and it
/// has no `Display`: read it with [`Redacted::expose`] at the moment it is sent.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Redacted(String);

impl Redacted {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Redacted(secret.into())
    }

    /// The secret itself. Call only where it is put on the wire or compared.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl Serialize for Redacted {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Redacted {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        String::deserialize(de).map(Redacted)
    }
}

/// A DCS bandwidth limit in MB/s. The schema says string, examples send a number: both are
/// accepted; it is written as a string, as the schema and the SDKs do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BandwidthMb(pub u32);

impl Serialize for BandwidthMb {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for BandwidthMb {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match StringOrNumber::deserialize(de)? {
            StringOrNumber::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(BandwidthMb)
                .ok_or_else(|| {
                    D::Error::custom("bandwidth_limit_mb must be a non-negative integer")
                }),
            StringOrNumber::String(s) => s
                .trim()
                .parse::<u32>()
                .map(BandwidthMb)
                .map_err(|_| D::Error::custom("bandwidth_limit_mb must be an integer")),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Number(serde_json::Number),
}

/// Deserializes a field that the service sends either as a string or as a bare number
/// (DCS statistics), keeping its text.
pub fn string_or_number<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lenient {
        String(String),
        Number(serde_json::Number),
        Bool(bool),
    }
    Ok(Option::<Lenient>::deserialize(de)?.map(|v| match v {
        Lenient::String(s) => s,
        Lenient::Number(n) => n.to_string(),
        Lenient::Bool(b) => b.to_string(),
    }))
}

/// Deserializes a field that is a boolean in requests and a string (`"true"`) in responses.
pub fn bool_or_string<'de, D: Deserializer<'de>>(de: D) -> Result<Option<bool>, D::Error> {
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lenient {
        Bool(bool),
        String(String),
    }
    match Option::<Lenient>::deserialize(de)? {
        None => Ok(None),
        Some(Lenient::Bool(b)) => Ok(Some(b)),
        Some(Lenient::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(D::Error::custom(format!("expected a boolean, got {s:?}"))),
        },
    }
}

/// Deserializes a list that the service may send as `null` or leave out, as an empty list.
pub fn null_as_empty<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_debug_hides_the_secret_but_serializes_it() {
        let r = Redacted::new("hunter2");
        assert_eq!(format!("{r:?}"), "****");
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"hunter2\"");
        let back: Redacted = serde_json::from_str("\"pw\"").unwrap();
        assert_eq!(back.expose(), "pw");
    }

    #[test]
    fn bandwidth_accepts_string_and_number() {
        assert_eq!(
            serde_json::from_str::<BandwidthMb>("123").unwrap(),
            BandwidthMb(123)
        );
        assert_eq!(
            serde_json::from_str::<BandwidthMb>("\"77\"").unwrap(),
            BandwidthMb(77)
        );
        assert!(serde_json::from_str::<BandwidthMb>("\"fast\"").is_err());
        assert!(serde_json::from_str::<BandwidthMb>("-1").is_err());
        assert_eq!(serde_json::to_string(&BandwidthMb(5)).unwrap(), "\"5\"");
    }

    #[derive(Deserialize)]
    struct Lenient {
        #[serde(default, deserialize_with = "string_or_number")]
        a: Option<String>,
        #[serde(default, deserialize_with = "bool_or_string")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "null_as_empty")]
        c: Vec<u8>,
    }

    #[test]
    fn lenient_helpers() {
        let v: Lenient = serde_json::from_str(r#"{"a": 12.5, "b": "true", "c": null}"#).unwrap();
        assert_eq!(v.a.as_deref(), Some("12.5"));
        assert_eq!(v.b, Some(true));
        assert!(v.c.is_empty());
        let v: Lenient = serde_json::from_str(r#"{"a": "7", "b": false}"#).unwrap();
        assert_eq!(v.a.as_deref(), Some("7"));
        assert_eq!(v.b, Some(false));
        let v: Lenient = serde_json::from_str("{}").unwrap();
        assert!(v.a.is_none() && v.b.is_none());
    }
}
