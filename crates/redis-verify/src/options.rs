//! What to check and how much time and memory it may take.

use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How far two key counts may differ and still agree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Tolerance {
    /// The counts must be equal.
    Exact,
    /// `|source - target| <= n`.
    Keys(u64),
    /// `|source - target| <= pct% of the source count` (0..=100).
    Percent(f64),
}

impl Tolerance {
    /// Whether `target` is close enough to `source`.
    pub fn allows(&self, source: u64, target: u64) -> bool {
        let diff = source.abs_diff(target);
        match *self {
            Tolerance::Exact => diff == 0,
            Tolerance::Keys(n) => diff <= n,
            // Compared in f64: counts stay far below 2^53.
            Tolerance::Percent(p) => (diff as f64) <= source as f64 * p / 100.0,
        }
    }
}

impl FromStr for Tolerance {
    type Err = OptionsError;

    /// `0` (exact), `N` (keys) or `P%` (percent of the source count, 0..=100).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || OptionsError::Tolerance(s.chars().take(40).collect());
        if let Some(p) = s.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&p) {
                return Err(bad());
            }
            return Ok(if p == 0.0 {
                Tolerance::Exact
            } else {
                Tolerance::Percent(p)
            });
        }
        match s.parse::<u64>().map_err(|_| bad())? {
            0 => Ok(Tolerance::Exact),
            n => Ok(Tolerance::Keys(n)),
        }
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tolerance::Exact => f.write_str("exact"),
            Tolerance::Keys(n) => write!(f, "±{n} keys"),
            Tolerance::Percent(p) => write!(f, "±{p}%"),
        }
    }
}

/// Which source keys are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Sampling {
    /// `count` keys per database by `RANDOMKEY` (cheap; differs run to run).
    Random {
        /// Keys per database.
        count: usize,
    },
    /// `count` keys per database by reservoir sampling over a full `SCAN`: the same keyspace
    /// and seed give the same keys. Costs one pass over the key names.
    Seeded {
        /// Keys per database.
        count: usize,
        /// Random seed.
        seed: u64,
    },
    /// Every key (`SCAN`), compared batch by batch.
    Full,
}

/// Which databases are checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Databases {
    /// Every database that has keys on either end.
    #[default]
    All,
    /// These databases only.
    Only(BTreeSet<u32>),
}

/// Options of [`crate::verify`]. Start from [`VerifyOptions::default`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyOptions {
    /// Which keys are compared (default 1000 random keys per database).
    pub sampling: Sampling,
    /// How far the counts of keys without TTL may differ (default exact).
    pub key_tolerance: Tolerance,
    /// How far the remaining TTLs of a key may differ (default 2 s).
    pub ttl_tolerance: Duration,
    /// Measure replication lag with a marker key, failing past this budget (default: off).
    pub lag_budget: Option<Duration>,
    /// The whole run's budget; past it the report is inconclusive (default 5 min).
    pub time_budget: Duration,
    /// Which databases (default all).
    pub databases: Databases,
    /// Key names kept per finding (default 10).
    pub shown_keys: usize,
    /// Bytes read per `GETRANGE` window of a string (default 256 KiB).
    pub chunk_bytes: usize,
    /// Elements per `LRANGE`/`ZRANGE` window and `HSCAN`/`SSCAN` `COUNT` (default 512).
    pub page_items: usize,
    /// Keys per pipelined batch (default 128).
    pub batch: usize,
    /// Connect (and per-connect `PING`) timeout (default 5 s).
    pub connect_timeout: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            sampling: Sampling::Random { count: 1000 },
            key_tolerance: Tolerance::Exact,
            ttl_tolerance: Duration::from_secs(2),
            lag_budget: None,
            time_budget: Duration::from_secs(300),
            databases: Databases::All,
            shown_keys: 10,
            chunk_bytes: 256 * 1024,
            page_items: 512,
            batch: 128,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// An option out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// A tolerance text that is not `N` or `P%` (0..=100).
    #[error(
        "invalid tolerance {0:?}: expected a key count (e.g. 10) or a percentage 0..=100 (e.g. 0.5%)"
    )]
    Tolerance(String),
    /// A size or count that must be positive.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A budget of zero.
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),
}

impl VerifyOptions {
    /// Checks ranges; [`crate::verify`] reports a failed check as inconclusive.
    pub fn validate(&self) -> Result<(), OptionsError> {
        for (name, v) in [
            ("chunk_bytes", self.chunk_bytes),
            ("page_items", self.page_items),
            ("batch", self.batch),
        ] {
            if v == 0 {
                return Err(OptionsError::Zero(name));
            }
        }
        if self.time_budget.is_zero() {
            return Err(OptionsError::ZeroDuration("time_budget"));
        }
        if self.lag_budget.is_some_and(|d| d.is_zero()) {
            return Err(OptionsError::ZeroDuration("lag_budget"));
        }
        if let Tolerance::Percent(p) = self.key_tolerance
            && !(0.0..=100.0).contains(&p)
        {
            return Err(OptionsError::Tolerance(format!("{p}%")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_parse_and_apply() {
        assert_eq!("0".parse::<Tolerance>().unwrap(), Tolerance::Exact);
        assert_eq!("0%".parse::<Tolerance>().unwrap(), Tolerance::Exact);
        assert_eq!("5".parse::<Tolerance>().unwrap(), Tolerance::Keys(5));
        assert_eq!(
            " 0.5% ".parse::<Tolerance>().unwrap(),
            Tolerance::Percent(0.5)
        );
        for bad in ["", "-1", "101%", "x%", "1.5"] {
            assert!(bad.parse::<Tolerance>().is_err(), "{bad}");
        }
        assert!(Tolerance::Exact.allows(10, 10) && !Tolerance::Exact.allows(10, 9));
        assert!(Tolerance::Keys(2).allows(10, 8) && !Tolerance::Keys(2).allows(10, 13));
        assert!(Tolerance::Percent(1.0).allows(1000, 990));
        assert!(!Tolerance::Percent(1.0).allows(1000, 989));
    }

    #[test]
    fn validation_names_the_field() {
        let o = VerifyOptions {
            page_items: 0,
            ..VerifyOptions::default()
        };
        assert_eq!(o.validate(), Err(OptionsError::Zero("page_items")));
        assert!(VerifyOptions::default().validate().is_ok());
    }
}
