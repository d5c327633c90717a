//! The result of a verification: a verdict and the figures behind it. Key names appear
//! (escaped, clipped); values never do.

use serde::Serialize;
use std::fmt;

/// Which end of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The Redis data is copied from.
    Source,
    /// The Redis data is copied to.
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

/// Pass, fail, or could not tell.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Verdict {
    /// Every check agreed.
    Pass,
    /// At least one check disagreed; the report's figures say by how much.
    Fail {
        /// What disagreed, in check order.
        reasons: Vec<FailReason>,
    },
    /// The checks could not finish; figures gathered before are kept.
    Inconclusive {
        /// Why.
        reason: Inconclusive,
    },
}

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "check")]
pub enum FailReason {
    /// A database's count of keys without TTL is outside the tolerance.
    KeyCount {
        /// Database number.
        db: u32,
        /// Source keys without TTL.
        source: u64,
        /// Target keys without TTL.
        target: u64,
    },
    /// Sampled keys absent on the target.
    Missing {
        /// How many.
        count: u64,
    },
    /// Sampled keys of another type on the target.
    TypeMismatch {
        /// How many.
        count: u64,
    },
    /// Sampled keys whose TTL differs beyond the tolerance (or is set on one end only).
    TtlMismatch {
        /// How many.
        count: u64,
    },
    /// Sampled keys whose value digests differ.
    ValueMismatch {
        /// How many.
        count: u64,
    },
    /// The marker key did not reach the target within the lag budget.
    Lag {
        /// The budget, ms.
        budget_ms: u64,
    },
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::KeyCount { db, source, target } => write!(
                f,
                "db{db}: {source} keys without TTL on the source, {target} on the target"
            ),
            FailReason::Missing { count } => {
                write!(f, "{count} sampled keys missing on the target")
            }
            FailReason::TypeMismatch { count } => {
                write!(f, "{count} sampled keys have another type on the target")
            }
            FailReason::TtlMismatch { count } => {
                write!(f, "{count} sampled keys have another TTL on the target")
            }
            FailReason::ValueMismatch { count } => {
                write!(f, "{count} sampled keys have another value on the target")
            }
            FailReason::Lag { budget_ms } => write!(
                f,
                "the lag marker did not reach the target within {budget_ms} ms"
            ),
        }
    }
}

/// Why a verification could not tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "cause")]
pub enum Inconclusive {
    /// An end could not be reached or dropped the connection.
    Unreachable {
        /// Which end.
        side: Side,
        /// `connection refused`, `timed out`, `connection lost`, ...
        detail: String,
    },
    /// An end refused the credentials.
    AuthFailed {
        /// Which end.
        side: Side,
    },
    /// An end refused a command the check needs (renamed, ACL, ...).
    CommandRefused {
        /// Which end.
        side: Side,
        /// The command.
        command: String,
        /// The server's error code (`NOPERM`, `ERR`, ...).
        code: String,
    },
    /// The time budget ran out.
    TimeBudgetSpent {
        /// The budget, ms.
        budget_ms: u64,
    },
    /// The options are out of range.
    InvalidOptions {
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Inconclusive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inconclusive::Unreachable { side, detail } => {
                write!(f, "the {side} Redis is unreachable ({detail})")
            }
            Inconclusive::AuthFailed { side } => {
                write!(f, "the {side} Redis refused the credentials")
            }
            Inconclusive::CommandRefused {
                side,
                command,
                code,
            } => write!(f, "the {side} Redis refused {command} ({code})"),
            Inconclusive::TimeBudgetSpent { budget_ms } => {
                write!(f, "the time budget of {budget_ms} ms ran out")
            }
            Inconclusive::InvalidOptions { message } => write!(f, "invalid options: {message}"),
        }
    }
}

/// A key name for display: bytes outside printable ASCII escaped as `\xNN`, clipped to
/// 120 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KeyName(pub String);

impl KeyName {
    /// Escapes and clips raw key bytes.
    pub fn from_bytes(key: &[u8]) -> Self {
        const MAX: usize = 120;
        let mut s = String::new();
        for &b in key {
            if s.len() >= MAX {
                s.push('…');
                break;
            }
            match b {
                b'\\' => s.push_str("\\\\"),
                0x20..=0x7e => s.push(b as char),
                _ => s.push_str(&format!("\\x{b:02x}")),
            }
        }
        KeyName(s)
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many keys a finding concerns, and the first few names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Findings {
    /// How many keys.
    pub count: u64,
    /// Up to [`crate::VerifyOptions::shown_keys`] names.
    pub keys: Vec<KeyName>,
}

impl Findings {
    pub(crate) fn add(&mut self, db: u32, key: &[u8], shown: usize) {
        self.count += 1;
        if self.keys.len() < shown {
            let name = KeyName::from_bytes(key);
            self.keys.push(if db == 0 {
                name
            } else {
                KeyName(format!("db{db}:{}", name.0))
            });
        }
    }
}

/// One database's key counts (`INFO keyspace`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbCounts {
    /// Database number.
    pub db: u32,
    /// Source keys without TTL (`keys - expires`).
    pub source: u64,
    /// Target keys without TTL.
    pub target: u64,
    /// Source keys with a TTL (not compared: they may expire at any time).
    pub source_expiring: u64,
    /// Target keys with a TTL.
    pub target_expiring: u64,
    /// Whether `source` and `target` agree within the tolerance.
    pub agree: bool,
}

/// The lag measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    /// Time from writing the marker to seeing it on the target; `None` if not seen in budget.
    pub measured_ms: Option<u64>,
    /// The budget.
    pub budget_ms: u64,
}

type MakeReason = fn(u64) -> FailReason;

/// The result of [`crate::verify`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Pass, fail or inconclusive.
    pub verdict: Verdict,
    /// Key counts per database checked.
    pub databases: Vec<DbCounts>,
    /// Keys compared (sampled on the source and still there when compared).
    pub compared: u64,
    /// Sampled keys that expired or were deleted on the source before they were compared.
    pub vanished: u64,
    /// Keys present on the source, absent on the target.
    pub missing: Findings,
    /// Keys whose type differs.
    pub type_mismatch: Findings,
    /// Keys whose TTL differs beyond the tolerance or exists on one end only.
    pub ttl_mismatch: Findings,
    /// Keys whose value digest differs.
    pub value_mismatch: Findings,
    /// Keys of a type without a digest here (streams, module types): type and TTL only.
    pub unsupported: Findings,
    /// The lag measurement, when asked for and reached.
    pub lag: Option<Lag>,
    /// Wall time of the run, ms.
    pub elapsed_ms: u64,
}

impl Report {
    pub(crate) fn empty() -> Self {
        Report {
            verdict: Verdict::Pass,
            databases: Vec::new(),
            compared: 0,
            vanished: 0,
            missing: Findings::default(),
            type_mismatch: Findings::default(),
            ttl_mismatch: Findings::default(),
            value_mismatch: Findings::default(),
            unsupported: Findings::default(),
            lag: None,
            elapsed_ms: 0,
        }
    }

    /// Adds the sample figures of `part` (a batch compared on its own) to these.
    pub(crate) fn absorb(&mut self, part: Report, shown: usize) {
        self.compared += part.compared;
        self.vanished += part.vanished;
        for (mine, theirs) in [
            (&mut self.missing, part.missing),
            (&mut self.type_mismatch, part.type_mismatch),
            (&mut self.ttl_mismatch, part.ttl_mismatch),
            (&mut self.value_mismatch, part.value_mismatch),
            (&mut self.unsupported, part.unsupported),
        ] {
            mine.count += theirs.count;
            let room = shown.saturating_sub(mine.keys.len());
            mine.keys.extend(theirs.keys.into_iter().take(room));
        }
    }

    /// The disagreements in the figures, in check order.
    pub(crate) fn fail_reasons(&self) -> Vec<FailReason> {
        let mut reasons: Vec<FailReason> = self
            .databases
            .iter()
            .filter(|d| !d.agree)
            .map(|d| FailReason::KeyCount {
                db: d.db,
                source: d.source,
                target: d.target,
            })
            .collect();
        let counted: [(u64, MakeReason); 4] = [
            (self.missing.count, |count| FailReason::Missing { count }),
            (self.type_mismatch.count, |count| FailReason::TypeMismatch {
                count,
            }),
            (self.ttl_mismatch.count, |count| FailReason::TtlMismatch {
                count,
            }),
            (self.value_mismatch.count, |count| {
                FailReason::ValueMismatch { count }
            }),
        ];
        for (count, make) in counted {
            if count > 0 {
                reasons.push(make(count));
            }
        }
        if let Some(Lag {
            measured_ms: None,
            budget_ms,
        }) = self.lag
        {
            reasons.push(FailReason::Lag { budget_ms });
        }
        reasons
    }

    /// One line for a log or a step's status: the verdict and its main figures.
    pub fn summary(&self) -> String {
        let lag = match &self.lag {
            Some(Lag {
                measured_ms: Some(ms),
                ..
            }) => format!(", lag {ms} ms"),
            _ => String::new(),
        };
        match &self.verdict {
            Verdict::Pass => format!(
                "verified: {} databases agree, {} sampled keys equal{lag}",
                self.databases.len(),
                self.compared
            ),
            Verdict::Fail { reasons } => {
                let list: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                format!(
                    "not verified: {} (of {} sampled keys)",
                    list.join("; "),
                    self.compared
                )
            }
            Verdict::Inconclusive { reason } => format!("inconclusive: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_escaped_and_clipped() {
        assert_eq!(KeyName::from_bytes(b"a\x1b[31m\\").0, "a\\x1b[31m\\\\");
        let long = KeyName::from_bytes(&[b'k'; 500]);
        assert!(long.0.chars().count() <= 121 && long.0.ends_with('…'));
    }

    #[test]
    fn findings_keep_a_bounded_number_of_names() {
        let mut f = Findings::default();
        for i in 0..20 {
            f.add(1, format!("k{i}").as_bytes(), 3);
        }
        assert_eq!(f.count, 20);
        assert_eq!(f.keys.len(), 3);
        assert_eq!(f.keys[0].0, "db1:k0");
    }
}
