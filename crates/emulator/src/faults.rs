//! Fault injection: added latency, throttling (429 `APIG.0308`, at random or past a rate
//! limit), server errors (500 `APIG.0201`) and responses dropped after the change was
//! committed.
//!
//! The spec is a comma-separated list, e.g. `latency=20ms,throttle=0.1,error=0.1,drop=0.1,seed=42`:
//!
//! | key | value | effect |
//! |---|---|---|
//! | `latency` | duration (`20ms`, `1s`, `250us`, bare number = ms) | every API request waits this long first |
//! | `throttle` | probability 0..=1 | answer 429 `APIG.0308` without executing |
//! | `error` | probability 0..=1 | answer 500 `APIG.0201` without executing |
//! | `drop` | probability 0..=1 | execute, then close the connection without answering |
//! | `ratelimit` | requests per second, 1..=1,000,000 | past it, per service, answer 429 `APIG.0308` with `Retry-After` without executing (see [`crate::ratelimit`]) |
//! | `seed` | u64 | RNG seed (default 0): the same request order gives the same faults |
//!
//! Each API request draws exactly three numbers (throttle, error, drop), in arrival order, so
//! a run is reproducible whatever the outcomes; a request over the rate limit draws them too,
//! and its 429 takes the place of whatever they decided. Admin paths never get faults.

use rand::{Rng, SeedableRng, rngs::StdRng};
use std::str::FromStr;
use std::time::Duration;

/// Parsed fault specification. `FaultSpec::default()` injects nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    /// Added latency per API request.
    pub latency: Duration,
    /// Share of requests answered 429.
    pub throttle: f64,
    /// Share of requests answered 500.
    pub error: f64,
    /// Share of requests executed and then dropped without a response.
    pub drop: f64,
    /// RNG seed.
    pub seed: u64,
    /// Requests per second per service admitted; the rest are answered 429 (`None`: no limit).
    pub ratelimit: Option<u32>,
}

/// Why a fault spec did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    /// An item is not `key=value`.
    #[error("fault spec item {0:?} is not of the form key=value")]
    NotKeyValue(String),
    /// An unknown key.
    #[error("unknown fault {0:?} (expected latency, throttle, error, drop, ratelimit or seed)")]
    UnknownKey(String),
    /// A bad duration.
    #[error("bad latency {0:?} (expected e.g. 20ms, 1s, 500us)")]
    BadDuration(String),
    /// A bad probability.
    #[error("bad {key} probability {value:?} (expected a number between 0 and 1)")]
    BadProbability {
        /// The key.
        key: String,
        /// The value given.
        value: String,
    },
    /// A bad seed.
    #[error("bad seed {0:?} (expected an unsigned integer)")]
    BadSeed(String),
    /// A bad rate limit.
    #[error("bad ratelimit {0:?} (expected requests per second, a whole number from 1 to 1000000)")]
    BadRateLimit(String),
}

fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "ms"),
    };
    let n: f64 = num.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let secs = match unit {
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| FaultSpecError::NotKeyValue(item.to_owned()))?;
            let (key, value) = (key.trim(), value.trim());
            let prob = || -> Result<f64, FaultSpecError> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| FaultSpecError::BadProbability {
                        key: key.to_owned(),
                        value: value.to_owned(),
                    })
            };
            match key {
                "latency" => {
                    spec.latency = parse_duration(value)
                        .ok_or_else(|| FaultSpecError::BadDuration(value.to_owned()))?
                }
                "throttle" => spec.throttle = prob()?,
                "error" => spec.error = prob()?,
                "drop" => spec.drop = prob()?,
                "ratelimit" => {
                    spec.ratelimit = Some(
                        value
                            .parse::<u32>()
                            .ok()
                            .filter(|n| (1..=1_000_000).contains(n))
                            .ok_or_else(|| FaultSpecError::BadRateLimit(value.to_owned()))?,
                    )
                }
                "seed" => {
                    spec.seed = value
                        .parse()
                        .map_err(|_| FaultSpecError::BadSeed(value.to_owned()))?
                }
                other => return Err(FaultSpecError::UnknownKey(other.to_owned())),
            }
        }
        Ok(spec)
    }
}

impl FaultSpec {
    /// True when the spec injects nothing.
    pub fn is_none(&self) -> bool {
        self.latency.is_zero()
            && self.throttle == 0.0
            && self.error == 0.0
            && self.drop == 0.0
            && self.ratelimit.is_none()
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answer 429 without executing.
    Throttle,
    /// Answer 500 without executing.
    Error,
    /// Execute, then drop the connection.
    Drop,
    /// Answer 429 without executing: over the rate limit (`ratelimit`).
    #[serde(rename = "ratelimit")]
    RateLimit,
}

/// The seeded decision source.
#[derive(Debug)]
pub struct FaultInjector {
    spec: FaultSpec,
    rng: StdRng,
}

impl FaultInjector {
    /// A new injector seeded from the spec.
    pub fn new(spec: FaultSpec) -> Self {
        let rng = StdRng::seed_from_u64(spec.seed);
        FaultInjector { spec, rng }
    }

    /// The spec.
    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    /// Re-seeds the RNG (used by reset).
    pub fn reseed(&mut self) {
        self.rng = StdRng::seed_from_u64(self.spec.seed);
    }

    /// Decides the fault for the next request; always draws three numbers.
    pub fn decide(&mut self) -> Option<Fault> {
        let (t, e, d): (f64, f64, f64) = (self.rng.random(), self.rng.random(), self.rng.random());
        if t < self.spec.throttle {
            Some(Fault::Throttle)
        } else if e < self.spec.error {
            Some(Fault::Error)
        } else if d < self.spec.drop {
            Some(Fault::Drop)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let s: FaultSpec = "latency=20ms,throttle=0.1,error=0.1,drop=0.1,seed=42"
            .parse()
            .unwrap();
        assert_eq!(
            s,
            FaultSpec {
                latency: Duration::from_millis(20),
                throttle: 0.1,
                error: 0.1,
                drop: 0.1,
                seed: 42,
                ratelimit: None,
            }
        );
        assert!("".parse::<FaultSpec>().unwrap().is_none());
        assert_eq!(
            "latency=1s".parse::<FaultSpec>().unwrap().latency,
            Duration::from_secs(1)
        );
        assert_eq!(
            "latency=5".parse::<FaultSpec>().unwrap().latency,
            Duration::from_millis(5)
        );
    }

    #[test]
    fn rejects_bad_specs_with_clear_errors() {
        assert_eq!(
            "throttle".parse::<FaultSpec>(),
            Err(FaultSpecError::NotKeyValue("throttle".into()))
        );
        assert_eq!(
            "boom=1".parse::<FaultSpec>(),
            Err(FaultSpecError::UnknownKey("boom".into()))
        );
        assert!(matches!(
            "drop=1.5".parse::<FaultSpec>(),
            Err(FaultSpecError::BadProbability { .. })
        ));
        assert!(matches!(
            "latency=fast".parse::<FaultSpec>(),
            Err(FaultSpecError::BadDuration(_))
        ));
        assert!(matches!(
            "seed=-1".parse::<FaultSpec>(),
            Err(FaultSpecError::BadSeed(_))
        ));
        for bad in ["0", "-5", "1.5", "2000000", "many"] {
            assert_eq!(
                format!("ratelimit={bad}").parse::<FaultSpec>(),
                Err(FaultSpecError::BadRateLimit(bad.into()))
            );
        }
        let s: FaultSpec = "ratelimit=50".parse().unwrap();
        assert_eq!(s.ratelimit, Some(50));
        assert!(!s.is_none());
        let msg = "error=2".parse::<FaultSpec>().unwrap_err().to_string();
        assert!(msg.contains("between 0 and 1"), "{msg}");
    }

    #[test]
    fn decisions_are_reproducible_and_roughly_proportional() {
        let spec: FaultSpec = "throttle=0.2,error=0.1,drop=0.1,seed=7".parse().unwrap();
        let run = |spec: &FaultSpec| {
            let mut f = FaultInjector::new(spec.clone());
            (0..1000).map(|_| f.decide()).collect::<Vec<_>>()
        };
        let a = run(&spec);
        assert_eq!(a, run(&spec));
        let throttled = a.iter().filter(|f| **f == Some(Fault::Throttle)).count();
        assert!((120..280).contains(&throttled), "{throttled}");
        let other = FaultSpec { seed: 8, ..spec };
        assert_ne!(a, run(&other));
    }
}
