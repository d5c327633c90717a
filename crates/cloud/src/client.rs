//! [`Cloud`]: both clients over one connection pool and one set of counters.

use std::sync::Arc;

use crate::config::CloudConfig;
use crate::dcs::DcsClient;
use crate::error::Error;
use crate::gate::RequestGate;
use crate::http::build_http_client;
use crate::sms::SmsClient;
use crate::stats::{ApiStats, StatsRecorder};

/// The SMS and DCS clients, sharing one HTTP connection pool and one set of
/// call counters. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cloud {
    sms: SmsClient,
    dcs: DcsClient,
    stats: Arc<StatsRecorder>,
}

impl Cloud {
    /// Builds both clients. Installs the ring rustls provider if none is
    /// installed yet. Needs `cfg.project_id` (DCS paths contain it).
    pub fn new(cfg: &CloudConfig) -> Result<Self, Error> {
        let http = build_http_client(cfg)?;
        let stats = Arc::new(StatsRecorder::default());
        Ok(Self {
            sms: SmsClient::with_shared(cfg, http.clone(), Arc::clone(&stats))?,
            dcs: DcsClient::with_shared(cfg, http, Arc::clone(&stats))?,
            stats,
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
        }
    }

    /// Counters of every API call made so far, per route.
    pub fn stats(&self) -> ApiStats {
        self.stats.snapshot()
    }

    /// Sets every counter back to zero.
    pub fn reset_stats(&self) {
        self.stats.reset();
    }
}
