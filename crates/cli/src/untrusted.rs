//! Input the CLI does not trust: files named on the command line or inside a saved plan, and
//! text that came from a file or the cloud on its way to a terminal. Reads are bounded, and
//! control characters are shown escaped, never passed to the reader's terminal.

use std::borrow::Cow;
use std::path::Path;

use miette::{IntoDiagnostic, WrapErr};
use migplan_planner::Plan;

/// The largest saved plan read (a 12,000-resource plan is tens of MB); a larger file is
/// refused unread rather than loaded whole.
pub const MAX_SAVED_PLAN_BYTES: u64 = 256 << 20;

/// Environment variable holding the team's key for signing saved plans (a CI secret).
pub const ENV_PLAN_KEY: &str = "MIGPLAN_PLAN_KEY";

/// The plan key, when set and not empty.
pub fn plan_key() -> Option<Vec<u8>> {
    std::env::var_os(ENV_PLAN_KEY)
        .filter(|k| !k.is_empty())
        .map(|k| k.into_encoded_bytes())
}

/// Reads at most `max` bytes of `path`; a longer file is an error (never read to the end,
/// so `/dev/zero` or a runaway file cannot exhaust memory).
pub fn read_bounded(path: &Path, max: u64) -> miette::Result<Vec<u8>> {
    use std::io::Read;
    let shown = escape_controls(&path.display().to_string()).into_owned();
    let file = std::fs::File::open(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {shown}"))?;
    let too_big = || {
        miette::miette!(
            "{shown} is larger than {} MiB: not a file this tool reads",
            max >> 20
        )
    };
    // A regular file says its size: refuse before reading. Others (pipes, devices) are read
    // up to the bound.
    if file.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {shown}"))?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

/// The first `n` bytes of `path` (fewer when it is shorter).
pub fn read_head(path: &Path, n: u64) -> miette::Result<Vec<u8>> {
    use std::io::Read;
    let shown = escape_controls(&path.display().to_string()).into_owned();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(n).read_to_end(&mut bytes))
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {shown}"))?;
    Ok(bytes)
}

/// Control characters other than newline and tab written as Rust escapes (`\u{1b}`), so text
/// from a file or an API cannot retitle, clear or recolour the reader's terminal.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// The plan with control characters escaped in every string, for the human and markdown
/// views; borrowed as it is when it has none (the usual case, checked in one pass).
pub fn plan_for_display(plan: &Plan) -> Cow<'_, Plan> {
    // serde_json escapes C0 controls as `\u00XX`, `\b`, `\f`, `\r`, but leaves DEL and C1
    // controls raw: look for both.
    let Ok(text) = serde_json::to_string(plan) else {
        return Cow::Borrowed(plan);
    };
    let escaped_c0 = ["\\u00", "\\b", "\\f", "\\r"]
        .iter()
        .any(|p| text.contains(p));
    if !escaped_c0 && !text.chars().any(is_unsafe) {
        return Cow::Borrowed(plan);
    }
    let Ok(mut value) = serde_json::to_value(plan) else {
        return Cow::Borrowed(plan);
    };
    escape_strings(&mut value);
    match serde_json::from_value(value) {
        Ok(p) => Cow::Owned(p),
        Err(_) => Cow::Borrowed(plan),
    }
}

fn escape_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let Cow::Owned(e) = escape_controls(s) {
                *s = e;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(escape_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(escape_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_newlines_kept() {
        assert_eq!(escape_controls("a\nb\tc"), "a\nb\tc");
        let hostile = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{0}\u{9b}y";
        let shown = escape_controls(hostile);
        assert!(!shown.chars().any(is_unsafe), "{shown}");
        assert!(shown.contains("\\u{1b}]0;PWNED"), "{shown}");
    }

    #[test]
    fn a_bounded_read_refuses_a_longer_file() {
        let path = std::env::temp_dir().join(format!("migplan-bounded-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, vec![b'x'; 2048]).expect("write");
        assert_eq!(read_bounded(&path, 2048).expect("fits").len(), 2048);
        let err = read_bounded(&path, 1024).expect_err("too long");
        assert!(err.to_string().contains("larger than"), "{err}");
        let _ = std::fs::remove_file(path);
        // An endless file ends at the bound.
        assert!(read_bounded(Path::new("/dev/zero"), 1 << 20).is_err());
    }
}
