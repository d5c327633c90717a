//! The `verify` check (stage `verified`): find both ends (an instance id's address through the
//! DCS instance API), read their passwords from the environment, and compare them with
//! redis-verify. A pass is done; a failure or an inconclusive run holds the step (and what
//! waits on it) with the figures, so apply exits 3 and a re-run checks again.

use std::time::Duration;

use migplan_planner::kinds::{Verify, VerifyEnd};
use migplan_redis_verify::{Endpoint, Report, Sampling, Tolerance, Verdict, VerifyOptions};
use migplan_wire::Redacted;

use super::*;

/// Which end, in messages.
#[derive(Clone, Copy)]
enum End {
    Source,
    Target,
}

impl End {
    fn as_str(self) -> &'static str {
        match self {
            End::Source => "source",
            End::Target => "target",
        }
    }
    fn setting(self) -> &'static str {
        match self {
            End::Source => "verify.source_address",
            End::Target => "verify.target_address",
        }
    }
}

impl Run<'_> {
    /// Runs the comparison: `Ok(note)` on a pass, [`Halt::Held`] with the figures otherwise.
    pub(super) async fn verify(&mut self, v: &Verify) -> Result<Option<String>, Halt> {
        let source = self.endpoint(End::Source, &v.source).await?;
        let target = self.endpoint(End::Target, &v.target).await?;
        let options = options(v).map_err(Halt::Held)?;
        self.called = true;
        let report = tokio::select! {
            r = migplan_redis_verify::verify(&source, &target, &options) => r,
            () = self.ctx.cut.cancelled() => return Err(Halt::Cut),
        };
        tracing::info!(resource = %self.addr, summary = %report.summary(), "verification");
        match &report.verdict {
            Verdict::Pass => Ok(Some(report.summary())),
            Verdict::Fail { .. } => Err(Halt::Held(failed(&report))),
            Verdict::Inconclusive { .. } => Err(Halt::Held(format!(
                "{}; a re-run checks again",
                report.summary()
            ))),
        }
    }

    /// One end: its address (looked up by instance id when the plan has none) and password.
    async fn endpoint(&mut self, end: End, e: &VerifyEnd) -> Result<Endpoint, Halt> {
        let address = match (&e.address, &e.instance_id) {
            (Some(a), _) => a.clone(),
            (None, Some(id)) => self.instance_address(end, id).await?,
            (None, None) => {
                return Err(Halt::Held(format!(
                    "the {} Redis has no address to verify against: set `{}`",
                    end.as_str(),
                    end.setting()
                )));
            }
        };
        if self.ctx.loopback_only && !is_loopback(&address) {
            return Err(Halt::Held(format!(
                "--local compares only Redis servers on this machine, and the {} is at {address}: \
                 run redis-server locally and point `{}` (or the migration's `addrs`) at it, \
                 or apply against the cloud",
                end.as_str(),
                end.setting()
            )));
        }
        let mut ep = Endpoint::parse_addr(&address).map_err(|err| {
            Halt::Held(format!(
                "the {} Redis address cannot be used ({err}): set `{}`",
                end.as_str(),
                end.setting()
            ))
        })?;
        if let Some(var) = &e.password_env {
            let pw = (self.ctx.secrets)(var).ok_or_else(|| {
                Halt::Held(format!(
                    "the {} Redis password is read from the environment variable {var}, which is not set",
                    end.as_str()
                ))
            })?;
            ep.password = Some(Redacted::new(pw));
        }
        Ok(ep)
    }

    /// `ip:port` of a DCS instance, from ShowInstance.
    async fn instance_address(&mut self, end: End, id: &str) -> Result<String, Halt> {
        let dcs = self.ctx.cloud.dcs();
        let why = match self.read(|| dcs.show_instance(id)).await {
            Ok(inst) => match inst.address() {
                Some(a) => return Ok(a),
                None => format!("instance {id} has no address yet (status {})", inst.status),
            },
            Err(e) => format!("the address of instance {id} cannot be read: {e}"),
        };
        Err(Halt::Held(format!(
            "{why}; set `{}` to the address migplan can reach the {} on",
            end.setting(),
            end.as_str()
        )))
    }
}

/// `127.0.0.0/8`, `::1` or `localhost`: what `--local` may connect to.
fn is_loopback(address: &str) -> bool {
    let host = address
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .rsplit_once(':')
        .map_or("", |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The plan's settings as redis-verify options.
fn options(v: &Verify) -> Result<VerifyOptions, String> {
    let key_tolerance: Tolerance = v
        .key_tolerance
        .parse()
        .map_err(|e| format!("the plan's key tolerance cannot be used: {e}"))?;
    Ok(VerifyOptions {
        sampling: match v.samples {
            Some(n) => Sampling::Random { count: n as usize },
            None => Sampling::Full,
        },
        key_tolerance,
        ttl_tolerance: Duration::from_secs(u64::from(v.ttl_tolerance_seconds)),
        lag_budget: v
            .lag_budget_seconds
            .map(|s| Duration::from_secs(u64::from(s))),
        time_budget: Duration::from_secs(u64::from(v.time_budget_seconds)),
        ..VerifyOptions::default()
    })
}

/// A failed comparison: the figures, and the keys named for each finding.
fn failed(r: &Report) -> String {
    let mut text = r.summary();
    for (what, f) in [
        ("missing", &r.missing),
        ("type differs", &r.type_mismatch),
        ("TTL differs", &r.ttl_mismatch),
        ("value differs", &r.value_mismatch),
    ] {
        if f.keys.is_empty() {
            continue;
        }
        let names: Vec<&str> = f.keys.iter().map(|k| k.0.as_str()).collect();
        let more = f.count.saturating_sub(names.len() as u64);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        text.push_str(&format!("; {what}: {}{more}", names.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_this_machine_is_loopback() {
        for yes in [
            "127.0.0.1:6379",
            "127.8.9.1:1",
            "[::1]:6379",
            "localhost:6379",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "10.0.0.15:6379",
            "redis.internal:6379",
            "[fd00::1]:6379",
            "6379",
            "",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
