//! [`RequestGate`]: a hook around every HTTP request a [`Cloud`](crate::Cloud) sends (pages and
//! retries included), so that a caller can pace the requests per service and hear of throttling
//! as it happens, not only once a call's retries are spent.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::Service;

/// What one admitted request tells about the pace: the answer as far as throttling goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateAnswer {
    /// The service took the request: a 2xx, or a 4xx other than throttling.
    Accepted,
    /// Throttled (429 or `APIG.0308`), with the `Retry-After` it asked for (capped at the retry
    /// policy's `max_delay`, as the client's own wait is).
    Throttled {
        /// The wait asked for, if the answer had a readable `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// A server error, no complete answer, or nothing sent: says nothing about the pace.
    Other,
}

/// Paces the requests of a [`Cloud`](crate::Cloud) made by [`Cloud::with_gate`](crate::Cloud::with_gate).
///
/// The client calls [`admit`](Self::admit) before each HTTP request and
/// [`answered`](Self::answered) once with its outcome, handing back the ticket `admit` gave.
pub trait RequestGate: Send + Sync + std::fmt::Debug {
    /// Waits until a request to `service` may be sent; resolves to a ticket for its answer.
    fn admit(&self, service: Service) -> Pin<Box<dyn Future<Output = u64> + Send + '_>>;
    /// The answer to the request admitted with `ticket`.
    fn answered(&self, service: Service, ticket: u64, answer: GateAnswer);
}
