//! Canonical value digests per Redis type, read in bounded windows.
//!
//! `DUMP` payloads are not comparable across Redis versions and encodings, so each type has a
//! digest of its logical content (SHA-256):
//!
//! | type | read with | digest of |
//! |---|---|---|
//! | string | `GETRANGE` windows of `chunk_bytes` | the bytes |
//! | list | `LRANGE` windows of `page_items` | the elements in order |
//! | zset | `ZRANGE ... WITHSCORES` windows | (member, score as f64) in rank order |
//! | hash | `HSCAN ... COUNT page_items` | the set of (field, value) pairs |
//! | set | `SSCAN ... COUNT page_items` | the set of members |
//!
//! Hashes and sets are digested order-independently (a sum of per-element hashes), so no
//! sorting and no full load is needed; the few duplicates a `SCAN` may return while the
//! table is rehashed are dropped by remembering 128 bits per element. Strings, lists and zsets
//! stream into the hash. Memory per key is therefore one window plus, for hashes and sets,
//! 16 bytes per element. A string's first window is at most [`FIRST_STRING_WINDOW`] bytes
//! (first windows of a whole batch are read together), the next ones `chunk_bytes`. Windows of
//! lists, zsets, hashes and sets are bounded in elements, not bytes: an element is read whole.

use redis::Value;
use sha2::{Digest as _, Sha256};
use std::collections::HashSet;

/// Bytes of a string's first window.
pub const FIRST_STRING_WINDOW: usize = 16 * 1024;

/// A key's type, from `TYPE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyType {
    /// `string`.
    String,
    /// `list`.
    List,
    /// `set`.
    Set,
    /// `zset`.
    ZSet,
    /// `hash`.
    Hash,
    /// The key does not exist (`none`).
    None,
    /// A type without a digest here (`stream`, module types).
    Other(String),
}

impl KeyType {
    /// From the reply of `TYPE`.
    pub fn parse(name: &str) -> Self {
        match name {
            "string" => KeyType::String,
            "list" => KeyType::List,
            "set" => KeyType::Set,
            "zset" => KeyType::ZSet,
            "hash" => KeyType::Hash,
            "none" => KeyType::None,
            other => KeyType::Other(other.to_owned()),
        }
    }
}

/// Window sizes.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// Bytes per `GETRANGE`.
    pub chunk_bytes: usize,
    /// Elements per page.
    pub page_items: usize,
}

/// A value's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueDigest(pub [u8; 32]);

/// What reading a value gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// The digest.
    Digest(ValueDigest),
    /// The key changed type or vanished while it was read (a server error reply).
    Changed,
}

/// Accumulates one key's digest window by window.
pub struct Digester {
    key: Vec<u8>,
    kind: KeyType,
    windows: Windows,
    /// Next offset (string bytes, list/zset index) or `SCAN` cursor.
    at: u64,
    /// Bytes the next `GETRANGE` asks for: small at first (most strings are small, and first
    /// windows of a whole batch are in memory together), then `chunk_bytes`.
    string_window: usize,
    ordered: Sha256,
    seen: HashSet<u128>,
    sum: (u128, u128),
}

fn len_prefixed(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn score_bits(v: &Value) -> Option<u64> {
    let f = match v {
        Value::Double(f) => *f,
        other => std::str::from_utf8(bytes(other)?)
            .ok()?
            .parse::<f64>()
            .ok()?,
    };
    // -0 and 0 are the same score.
    Some(if f == 0.0 { 0 } else { f.to_bits() })
}

impl Digester {
    /// Starts reading `key` of type `kind` (a string, list, set, zset or hash); `None` for
    /// other types.
    pub fn new(key: &[u8], kind: &KeyType, windows: Windows) -> Option<Self> {
        let tag: &[u8] = match kind {
            KeyType::String => b"string",
            KeyType::List => b"list",
            KeyType::Set => b"set",
            KeyType::ZSet => b"zset",
            KeyType::Hash => b"hash",
            KeyType::None | KeyType::Other(_) => return None,
        };
        let mut ordered = Sha256::new();
        ordered.update(tag);
        Some(Digester {
            key: key.to_vec(),
            kind: kind.clone(),
            windows: Windows {
                chunk_bytes: windows.chunk_bytes.max(1),
                page_items: windows.page_items.max(1),
            },
            at: 0,
            string_window: windows.chunk_bytes.clamp(1, FIRST_STRING_WINDOW),
            ordered,
            seen: HashSet::new(),
            sum: (0, 0),
        })
    }

    /// The command reading the next window.
    pub fn command(&self) -> redis::Cmd {
        let page = self.windows.page_items as u64;
        let last = |n: u64| self.at.saturating_add(n) - 1;
        match self.kind {
            KeyType::String => {
                let mut c = redis::cmd("GETRANGE");
                c.arg(&self.key)
                    .arg(self.at)
                    .arg(last(self.string_window as u64));
                c
            }
            KeyType::List => {
                let mut c = redis::cmd("LRANGE");
                c.arg(&self.key).arg(self.at).arg(last(page));
                c
            }
            KeyType::ZSet => {
                let mut c = redis::cmd("ZRANGE");
                c.arg(&self.key)
                    .arg(self.at)
                    .arg(last(page))
                    .arg("WITHSCORES");
                c
            }
            KeyType::Hash | KeyType::Set => {
                let name = if self.kind == KeyType::Hash {
                    "HSCAN"
                } else {
                    "SSCAN"
                };
                let mut c = redis::cmd(name);
                c.arg(&self.key).arg(self.at).arg("COUNT").arg(page);
                c
            }
            KeyType::None | KeyType::Other(_) => redis::cmd("PING"),
        }
    }

    fn add_unordered(&mut self, parts: &[&[u8]]) {
        let mut h = Sha256::new();
        for p in parts {
            len_prefixed(&mut h, p);
        }
        let d: [u8; 32] = h.finalize().into();
        let lo = u128::from_le_bytes(d[..16].try_into().unwrap_or_default());
        let hi = u128::from_le_bytes(d[16..].try_into().unwrap_or_default());
        if self.seen.insert(lo) {
            self.sum = (self.sum.0.wrapping_add(lo), self.sum.1.wrapping_add(hi));
        }
    }

    fn finish(&self) -> Option<Read> {
        let mut h = self.ordered.clone();
        if matches!(self.kind, KeyType::Hash | KeyType::Set) {
            h.update((self.seen.len() as u64).to_le_bytes());
            h.update(self.sum.0.to_le_bytes());
            h.update(self.sum.1.to_le_bytes());
        }
        Some(Read::Digest(ValueDigest(h.finalize().into())))
    }

    /// Takes the reply to [`Digester::command`]: the result, or `None` when the next window
    /// ([`Digester::command`] again) is needed.
    pub fn feed(&mut self, reply: &Value) -> Option<Read> {
        let page = self.windows.page_items;
        match (&self.kind, reply) {
            (_, Value::ServerError(_)) => Some(Read::Changed),
            (KeyType::String, v) => {
                let Some(b) = bytes(v) else {
                    return Some(Read::Changed);
                };
                self.ordered.update(b);
                self.at += b.len() as u64;
                let asked = std::mem::replace(&mut self.string_window, self.windows.chunk_bytes);
                if b.len() < asked { self.finish() } else { None }
            }
            (KeyType::List, Value::Array(items)) => {
                for item in items {
                    len_prefixed(&mut self.ordered, bytes(item).unwrap_or_default());
                }
                self.at += items.len() as u64;
                if items.len() < page {
                    self.finish()
                } else {
                    None
                }
            }
            (KeyType::ZSet, Value::Array(items)) => {
                let pairs: Vec<(&Value, &Value)> =
                    if items.iter().all(|i| matches!(i, Value::Array(_))) {
                        // RESP3 answers [[member, score], ...].
                        items
                            .iter()
                            .filter_map(|i| match i {
                                Value::Array(p) if p.len() == 2 => Some((&p[0], &p[1])),
                                _ => None,
                            })
                            .collect()
                    } else {
                        items.chunks_exact(2).map(|p| (&p[0], &p[1])).collect()
                    };
                for (m, s) in &pairs {
                    len_prefixed(&mut self.ordered, bytes(m).unwrap_or_default());
                    self.ordered
                        .update(score_bits(s).unwrap_or(u64::MAX).to_le_bytes());
                }
                self.at += pairs.len() as u64;
                if pairs.len() < page {
                    self.finish()
                } else {
                    None
                }
            }
            (KeyType::Hash | KeyType::Set, Value::Array(parts)) if parts.len() == 2 => {
                let cursor = bytes(&parts[0])
                    .and_then(|c| std::str::from_utf8(c).ok())
                    .and_then(|c| c.parse::<u64>().ok());
                let Some(cursor) = cursor else {
                    return Some(Read::Changed);
                };
                let empty = Vec::new();
                let items = match &parts[1] {
                    Value::Array(items) => items,
                    _ => &empty,
                };
                if self.kind == KeyType::Hash {
                    for pair in items.chunks_exact(2) {
                        let f = bytes(&pair[0]).unwrap_or_default();
                        let v = bytes(&pair[1]).unwrap_or_default();
                        self.add_unordered(&[f, v]);
                    }
                } else {
                    for m in items {
                        self.add_unordered(&[bytes(m).unwrap_or_default()]);
                    }
                }
                self.at = cursor;
                if cursor == 0 { self.finish() } else { None }
            }
            _ => Some(Read::Changed),
        }
    }
}

/// Reads a whole value window by window over `con` (the first window may have been fetched
/// in a pipeline already: pass its reply as `first`).
pub async fn read(
    con: &mut redis::aio::MultiplexedConnection,
    mut digester: Digester,
    first: Option<&Value>,
) -> redis::RedisResult<Read> {
    if let Some(reply) = first
        && let Some(read) = digester.feed(reply)
    {
        return Ok(read);
    }
    loop {
        let reply: Value = digester.command().query_async(con).await?;
        if let Some(read) = digester.feed(&reply) {
            return Ok(read);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(b: &[u8]) -> Value {
        Value::BulkString(b.to_vec())
    }

    fn drive(kind: KeyType, windows: Windows, replies: &[Value]) -> Read {
        let mut d = Digester::new(b"k", &kind, windows).unwrap();
        for r in replies {
            if let Some(read) = d.feed(r) {
                return read;
            }
        }
        panic!("more windows asked for than given");
    }

    #[test]
    fn string_windows_digest_like_the_whole() {
        let whole = drive(
            KeyType::String,
            Windows {
                chunk_bytes: 100,
                page_items: 2,
            },
            &[bulk(b"abcdefghij")],
        );
        let chunked = drive(
            KeyType::String,
            Windows {
                chunk_bytes: 4,
                page_items: 2,
            },
            &[bulk(b"abcd"), bulk(b"efgh"), bulk(b"ij")],
        );
        assert_eq!(whole, chunked);
        let other = drive(
            KeyType::String,
            Windows {
                chunk_bytes: 100,
                page_items: 2,
            },
            &[bulk(b"abcdefghiJ")],
        );
        assert_ne!(whole, other);
    }

    #[test]
    fn sets_ignore_order_and_scan_duplicates() {
        let w = Windows {
            chunk_bytes: 4,
            page_items: 2,
        };
        let scan = |cursor: &str, items: &[&[u8]]| {
            Value::Array(vec![
                bulk(cursor.as_bytes()),
                Value::Array(items.iter().map(|i| bulk(i)).collect()),
            ])
        };
        let a = drive(KeyType::Set, w, &[scan("0", &[b"x", b"y", b"z"])]);
        let b = drive(
            KeyType::Set,
            w,
            &[scan("5", &[b"z", b"x"]), scan("0", &[b"x", b"y"])],
        );
        assert_eq!(a, b);
        let c = drive(KeyType::Set, w, &[scan("0", &[b"x", b"y"])]);
        assert_ne!(a, c);
    }

    #[test]
    fn lists_keep_order_and_zset_scores_count() {
        let w = Windows {
            chunk_bytes: 4,
            page_items: 2,
        };
        let arr = |items: &[&[u8]]| Value::Array(items.iter().map(|i| bulk(i)).collect());
        let ab = drive(KeyType::List, w, &[arr(&[b"a", b"b"]), arr(&[])]);
        let ba = drive(KeyType::List, w, &[arr(&[b"b", b"a"]), arr(&[])]);
        assert_ne!(ab, ba);
        let z1 = drive(KeyType::ZSet, w, &[arr(&[b"m", b"1.5"])]);
        let z1b = drive(KeyType::ZSet, w, &[arr(&[b"m", b"1.50"])]);
        let z2 = drive(KeyType::ZSet, w, &[arr(&[b"m", b"2"])]);
        assert_eq!(z1, z1b);
        assert_ne!(z1, z2);
    }

    #[test]
    fn unexpected_replies_mean_the_key_changed() {
        let w = Windows {
            chunk_bytes: 4,
            page_items: 2,
        };
        assert_eq!(drive(KeyType::List, w, &[Value::Nil]), Read::Changed);
        assert_eq!(drive(KeyType::Hash, w, &[Value::Int(3)]), Read::Changed);
    }
}
