//! `INFO keyspace`: keys and keys-with-TTL per database.

use std::collections::BTreeMap;

/// One database's line of `INFO keyspace` (`db0:keys=10,expires=2,avg_ttl=0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DbKeyspace {
    /// All keys.
    pub keys: u64,
    /// Keys with a TTL.
    pub expires: u64,
}

impl DbKeyspace {
    /// Keys without a TTL: the ones that cannot vanish by themselves.
    pub fn persistent(&self) -> u64 {
        self.keys.saturating_sub(self.expires)
    }
}

/// Parses the text of `INFO keyspace`; lines it does not understand are skipped.
pub fn parse_keyspace(info: &str) -> BTreeMap<u32, DbKeyspace> {
    let mut out = BTreeMap::new();
    for line in info.lines() {
        let Some((db, fields)) = line.trim().split_once(':') else {
            continue;
        };
        let Some(db) = db.strip_prefix("db").and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let mut ks = DbKeyspace::default();
        for field in fields.split(',') {
            match field.split_once('=') {
                Some(("keys", v)) => ks.keys = v.parse().unwrap_or(0),
                Some(("expires", v)) => ks.expires = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        out.insert(db, ks);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_info_keyspace() {
        let info = "# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=1000\r\ndb3:keys=1,expires=0,avg_ttl=0,subexpiry=0\r\nnoise\r\n";
        let m = parse_keyspace(info);
        assert_eq!(m.len(), 2);
        assert_eq!(m[&0].persistent(), 8);
        assert_eq!(
            m[&3],
            DbKeyspace {
                keys: 1,
                expires: 0
            }
        );
    }
}
