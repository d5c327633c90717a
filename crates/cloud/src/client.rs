//! [`Cloud`]: both clients over one connection pool and one set of counters.

use std::sync::Arc;

use crate::config::CloudConfig;
use crate::dcs::DcsClient;
use crate::error::Error;
use crate::gate::RequestGate;
use crate::http::build_http_client;
use crate::server_clock::ServerClock;
use crate::sms::SmsClient;
use crate::stats::{ApiStats, StatsRecorder};

/// The SMS and DCS clients, sharing one HTTP connection pool and one set of
/// call counters. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cloud {
    sms: SmsClient,
    dcs: DcsClient,
    stats: Arc<StatsRecorder>,
    clock: Arc<ServerClock>,
}

impl Cloud {
    /// Builds both clients. Installs the ring rustls provider if none is
    /// installed yet. Needs `cfg.project_id` (DCS paths contain it).
    pub fn new(cfg: &CloudConfig) -> Result<Self, Error> {
        let http = build_http_client(cfg)?;
        let stats = Arc::new(StatsRecorder::default());
        let clock = Arc::new(ServerClock::default());
        Ok(Self {
            sms: SmsClient::with_shared(cfg, http.clone(), Arc::clone(&stats), Arc::clone(&clock))?,
            dcs: DcsClient::with_shared(cfg, http, Arc::clone(&stats), Arc::clone(&clock))?,
            stats,
            clock,
        })
    }

    /// The SMS v3 client.
    pub fn sms(&self) -> &SmsClient {
        &self.sms
    }

    /// The DCS v2 client.
    pub fn dcs(&self) -> &DcsClient {
        &self.dcs
    }

    /// The same clients (connection pool, counters, credentials) with every HTTP request,
    /// pages and retries included, going through `gate` (see [`crate::gate`]). `self` is left
    /// as it was.
    pub fn with_gate(&self, gate: Arc<dyn RequestGate>) -> Cloud {
        Cloud {
            sms: self.sms.with_gate(Arc::clone(&gate)),
            dcs: self.dcs.with_gate(gate),
            stats: Arc::clone(&self.stats),
            clock: Arc::clone(&self.clock),
        }
    }

    /// Counters of every API call made so far, per route.
    pub fn stats(&self) -> ApiStats {
        self.stats.snapshot()
    }

    /// An estimate of the cloud's current time: the newest `Date` header of any answer (SMS
    /// or DCS, success or error) plus the local time elapsed since it arrived. `None` until an
    /// answer with a `Date` came back.
    ///
    /// It lags the cloud by up to a second (`Date` has whole seconds) plus an answer's
    /// latency. Against the emulator with a time scale `s`, whose clock runs `s` times faster
    /// than this host's, it lags by up to the time since the last answer (one poll interval,
    /// while polling) times `s`: acceptable, as each answer catches it up. An older `Date`
    /// than the newest seen is ignored (concurrent answers arrive out of order), so a cloud
    /// clock that jumps back is not followed.
    ///
    /// Convert with `jiff::Timestamp::try_from(t)` or `time::OffsetDateTime::from(t)`.
    pub fn cloud_now(&self) -> Option<std::time::SystemTime> {
        self.clock.now()
    }

    /// Sets every counter back to zero.
    pub fn reset_stats(&self) {
        self.stats.reset();
    }
}
