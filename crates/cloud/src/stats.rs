//! Cheap per-route counters of API calls, readable with `stats()` on any client.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::error::Service;

/// Counters of one route (service, method and path template).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// Logical calls (one per client method invocation on this route).
    pub calls: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Retries (requests beyond the first of a call).
    pub retries: u64,
    /// Calls that ended in an error.
    pub errors: u64,
}

/// A snapshot of the counters, keyed `"SMS GET /v3/tasks/{task_id}"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiStats {
    /// Counters per route, sorted by key.
    pub routes: BTreeMap<String, RouteStats>,
}

impl ApiStats {
    /// Counters of one route key (zero if it was never called).
    pub fn route(&self, key: &str) -> RouteStats {
        self.routes.get(key).copied().unwrap_or_default()
    }

    /// HTTP requests sent in total.
    pub fn total_requests(&self) -> u64 {
        self.routes.values().map(|r| r.requests).sum()
    }

    /// Logical calls in total.
    pub fn total_calls(&self) -> u64 {
        self.routes.values().map(|r| r.calls).sum()
    }

    /// Retries in total.
    pub fn total_retries(&self) -> u64 {
        self.routes.values().map(|r| r.retries).sum()
    }
}

type Key = (Service, &'static str, &'static str);

/// The shared recorder: one short mutex section per call.
#[derive(Debug, Default)]
pub(crate) struct StatsRecorder {
    routes: Mutex<HashMap<Key, RouteStats>>,
}

impl StatsRecorder {
    /// Records one finished call that sent `requests` HTTP requests.
    pub(crate) fn record(
        &self,
        service: Service,
        method: &'static str,
        route: &'static str,
        requests: u64,
        failed: bool,
    ) {
        let mut routes = match self.routes.lock() {
            Ok(g) => g,
            // Counters stay usable even if a holder panicked.
            Err(poisoned) => poisoned.into_inner(),
        };
        let r = routes.entry((service, method, route)).or_default();
        r.calls += 1;
        r.requests += requests;
        r.retries += requests.saturating_sub(1);
        r.errors += u64::from(failed);
    }

    pub(crate) fn snapshot(&self) -> ApiStats {
        let routes = match self.routes.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        ApiStats {
            routes: routes
                .iter()
                .map(|((service, method, route), s)| (format!("{service} {method} {route}"), *s))
                .collect(),
        }
    }

    pub(crate) fn reset(&self) {
        match self.routes.lock() {
            Ok(mut g) => g.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_requests_retries_errors() {
        let s = StatsRecorder::default();
        s.record(Service::Sms, "GET", "/v3/tasks", 1, false);
        s.record(Service::Sms, "GET", "/v3/tasks", 3, true);
        s.record(
            Service::Dcs,
            "POST",
            "/v2/{project_id}/migration/instance",
            1,
            false,
        );
        let snap = s.snapshot();
        assert_eq!(
            snap.route("SMS GET /v3/tasks"),
            RouteStats {
                calls: 2,
                requests: 4,
                retries: 2,
                errors: 1
            }
        );
        assert_eq!(snap.total_requests(), 5);
        assert_eq!(snap.total_calls(), 3);
        assert_eq!(snap.total_retries(), 2);
        s.reset();
        assert_eq!(s.snapshot().total_requests(), 0);
    }
}
