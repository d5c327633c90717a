//! Emulator configuration.

use crate::faults::FaultSpec;
use crate::redis_mover::RedisInstance;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// How to run an emulator. Build with [`EmulatorConfig::new`] and adjust the public fields.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to bind; default `127.0.0.1:0` (a free loopback port).
    pub listen: SocketAddr,
    /// Accepted AK/SK pairs.
    pub credentials: Vec<(String, String)>,
    /// An IAM token accepted in `X-Auth-Token`, if any.
    pub token: Option<String>,
    /// Makes the AK/SK pairs temporary credentials with this security token: every
    /// AK/SK-signed request must then carry it in `X-Security-Token`, as a signed header.
    /// Without it, a request carrying `X-Security-Token` is refused (permanent keys have none).
    pub security_token: Option<String>,
    /// Virtual seconds per real second (default 1.0; 1000 makes an hour pass in 3.6 s).
    pub time_scale: f64,
    /// Seed file (JSON or YAML) loaded at start and on reset; see the crate docs.
    pub seed: Option<PathBuf>,
    /// Faults to inject on API paths.
    pub faults: FaultSpec,
    /// JSON file the state is loaded from at start (if it exists) and saved to on shutdown.
    pub persist: Option<PathBuf>,
    /// Write the `persist` file with every secret (DCS and template passwords, any
    /// secret-named field) replaced by `"***"`, as `/_emulator/state` shows them. For a
    /// file kept next to a project (`migplan --local`), where secrets must never be written;
    /// a restarted emulator then echoes `"***"` where the API echoes a password.
    pub persist_redacted: bool,
    /// With `persist`: the virtual clock keeps running while the emulator is stopped (real
    /// time since the save × `time_scale` is added on load), as a cloud keeps migrating
    /// between two commands. Without it, time resumes where it stopped.
    pub clock_runs_while_stopped: bool,
    /// Caps every list's page size below the API maximum (to exercise client paging).
    pub page_limit_max: Option<u32>,
    /// Reject requests whose `X-Sdk-Date` is more than 15 minutes off (default true).
    pub check_date_skew: bool,
    /// DCS instance ids that stand for real Redis servers (`--redis-instance ID=HOST:PORT`):
    /// migrations between such servers (or loopback `addrs`) move data for real, see
    /// [`crate::redis_mover`].
    pub redis_instances: Vec<RedisInstance>,
    /// SMS migrations the account may run at once (`--sms-migration-quota`); `None` (the
    /// default): no cap. See [`crate::state::sms_quota`].
    pub sms_migration_quota: Option<u32>,
}

impl EmulatorConfig {
    /// A configuration accepting one AK/SK pair, with every other field at its default.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials: vec![(access_key.into(), secret_key.into())],
            token: None,
            security_token: None,
            time_scale: 1.0,
            seed: None,
            faults: FaultSpec::default(),
            persist: None,
            persist_redacted: false,
            clock_runs_while_stopped: false,
            page_limit_max: None,
            check_date_skew: true,
            redis_instances: Vec::new(),
            sms_migration_quota: None,
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let aks: Vec<&str> = self.credentials.iter().map(|(ak, _)| ak.as_str()).collect();
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("access_keys", &aks)
            .field("secret_keys", &"****")
            .field("token", &self.token.as_ref().map(|_| "****"))
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "****"),
            )
            .field("time_scale", &self.time_scale)
            .field("seed", &self.seed)
            .field("faults", &self.faults)
            .field("persist", &self.persist)
            .field("persist_redacted", &self.persist_redacted)
            .field("clock_runs_while_stopped", &self.clock_runs_while_stopped)
            .field("page_limit_max", &self.page_limit_max)
            .field("check_date_skew", &self.check_date_skew)
            .field("redis_instances", &self.redis_instances)
            .field("sms_migration_quota", &self.sms_migration_quota)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let mut c = EmulatorConfig::new("AK1", "super-secret-sk");
        c.token = Some("tok-secret".into());
        c.security_token = Some("sts-secret".into());
        let d = format!("{c:?}");
        assert!(d.contains("AK1"));
        assert!(
            !d.contains("super-secret-sk")
                && !d.contains("tok-secret")
                && !d.contains("sts-secret"),
            "{d}"
        );
    }
}
