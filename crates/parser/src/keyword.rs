//! Closed sets of words the plan format accepts (task types, stages, methods, ...).
//!
//! Each set is declared once with `keywords!`: the list drives decoding (with "did you mean"),
//! `Display`, serde and the JSON Schema `enum`, so the four cannot disagree.

use std::borrow::Cow;
use std::fmt;

/// A closed set of words, each mapped to a value.
pub trait Keyword: Copy + Eq + fmt::Debug + 'static {
    /// Every accepted spelling, in the order users should read them.
    const ALL: &'static [(&'static str, Self)];
    /// What the set is called in messages ("task type", "server stage", ...).
    const WHAT: &'static str;

    /// The canonical spelling.
    fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("?", |(s, _)| s)
    }
    /// Looks a spelling up.
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(k, _)| *k == s).map(|(_, v)| *v)
    }
    /// All spellings joined for a help line: "`a`, `b` or `c`".
    fn expected() -> String {
        let names: Vec<String> = Self::ALL.iter().map(|(k, _)| format!("`{k}`")).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }
}

macro_rules! keywords {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }
        impl Keyword for $name {
            const ALL: &'static [(&'static str, Self)] = &[$(($text, $name::$variant)),+];
            const WHAT: &'static str = $what;
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} `{s}`, expected {}", $what, Self::expected()))
                })
            }
        }
        impl schemars::JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let names: Vec<&str> = Self::ALL.iter().map(|(k, _)| *k).collect();
                schemars::json_schema!({ "type": "string", "enum": names, "description": concat!("A ", $what, ".") })
            }
        }
    };
}

keywords! {
    /// How SMS copies the disks.
    TaskType, "task type" {
        /// Block-level copy.
        MigrateBlock = "MIGRATE_BLOCK",
        /// File-level copy.
        MigrateFile = "MIGRATE_FILE",
    }
}

keywords! {
    /// The source server's operating system family.
    OsType, "OS type" {
        /// Linux.
        Linux = "LINUX",
        /// Windows.
        Windows = "WINDOWS",
    }
}

keywords! {
    /// How far a server migration should get, in order.
    ServerStage, "server stage" {
        /// The SMS task exists (READY).
        Configured = "configured",
        /// The full copy is done (MIGRATE_SUCCESS).
        Replicated = "replicated",
        /// An incremental sync round is done (needs `syncing: true`).
        Synced = "synced",
        /// The migration drill is done (`migration_test`; needs `migration_test: true`): the
        /// source server is `premiged`.
        Drilled = "drilled",
        /// The target was launched for a test (`test`).
        Tested = "tested",
        /// The target took over (`cutover`); the source is finished.
        Cutover = "cutover",
        /// Snapshots and migration resources are cleared (`clear`).
        Cleared = "cleared",
    }
}

keywords! {
    /// Where a server migration's test (stage `tested`) launches a server.
    TestMode, "test mode" {
        /// Launch the target server itself (SMS `test`).
        InPlace = "in_place",
        /// Launch a clone of the target from a template, leaving the target alone (SMS `clone_test`).
        Clone = "clone",
    }
}

keywords! {
    /// How far a Redis migration should get, in order.
    RedisStage, "redis stage" {
        /// The migration task exists and is configured.
        Created = "created",
        /// The full copy is done (SUCCESS for full, INCRMIGEATING for incremental).
        Migrated = "migrated",
        /// The target holds the source's data, measured by migplan (key counts, sampled
        /// values, replication lag); no live state shows it, so it is checked on every apply
        /// until what waits for it is done.
        Verified = "verified",
        /// Incremental sync stopped (TERMINATED).
        Stopped = "stopped",
    }
}

keywords! {
    /// How DCS copies Redis data.
    RedisMethod, "migration method" {
        /// One full copy, then done.
        Full = "full",
        /// A full copy, then continuous incremental sync until stopped.
        Incremental = "incremental",
    }
}

keywords! {
    /// What DCS does when the migration connection breaks.
    ResumeMode, "resume mode" {
        /// Reconnect and resume automatically.
        Auto = "auto",
        /// Wait for a manual restart.
        Manual = "manual",
    }
}

keywords! {
    /// The kinds of resources a plan declares; the prefix of an address.
    ResourceKind, "resource kind" {
        /// An SMS server migration.
        Server = "server",
        /// A DCS Redis migration.
        Redis = "redis",
    }
}

impl ServerStage {
    /// All stages up to and including this one.
    pub fn path(self) -> impl Iterator<Item = ServerStage> {
        Self::ALL
            .iter()
            .map(|(_, s)| *s)
            .take_while(move |s| *s <= self)
    }
}

impl RedisStage {
    /// All stages up to and including this one.
    pub fn path(self) -> impl Iterator<Item = RedisStage> {
        Self::ALL
            .iter()
            .map(|(_, s)| *s)
            .take_while(move |s| *s <= self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for (s, v) in ServerStage::ALL {
            assert_eq!(ServerStage::parse(s), Some(*v));
            assert_eq!(v.as_str(), *s);
        }
        assert_eq!(TaskType::parse("migrate_block"), None);
        assert_eq!(
            RedisStage::expected(),
            "`created`, `migrated`, `verified` or `stopped`"
        );
    }

    #[test]
    fn stage_paths_are_ordered_prefixes() {
        let p: Vec<_> = ServerStage::Tested.path().collect();
        assert_eq!(
            p,
            [
                ServerStage::Configured,
                ServerStage::Replicated,
                ServerStage::Synced,
                ServerStage::Drilled,
                ServerStage::Tested
            ]
        );
        assert_eq!(RedisStage::Created.path().count(), 1);
    }
}
