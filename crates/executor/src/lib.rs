//! migplan-executor: runs a [`Plan`](migplan_planner::Plan)'s step DAG against the cloud.
//!
//! Principal types:
//! - [`schedule::Scheduler`]: pure, synchronous: which steps may start now (longest remaining
//!   path first, within `--parallelism`, wave caps and one step per resource), and what a
//!   failure skips. Unit tested with made-up outcomes; [`simulate`] runs it on made-up
//!   durations for the benchmark.
//! - [`Apply`]: the async driver, one owner loop (a `RunState`) around the scheduler.
//! - `live_store::LiveStore` + `poller::Poller`: one poller per service lists tasks into a
//!   single-writer store; every waiting step re-checks its condition ([`condition`]) when
//!   the store changes, so waiting costs do not grow with the number of waiting resources.
//!   Each kind of live object (SMS task, DCS migration task) is one `kind::LiveObject` impl.
//! - `retry::RetryPolicy`: attempts and backoff of every call, one value per run.
//! - `race`: pure: which task of a name survives when two applies created it at once.
//! - [`Event`] / [`EventSink`]: what happens, pushed to the caller (bars, log lines, JSON
//!   Lines are the CLI's business); [`Summary`] ends every run.
//!
//! Data flow: plan + spec + snapshot → nodes (estimates from disk sizes and speed limits) →
//! scheduler → steps (precondition on a fresh view → call, unknown outcomes resolved by
//! reading → postcondition via the pollers) → events → summary.
//!
//! ```
//! use migplan_executor::schedule::{Node, SchedulerOptions};
//! use migplan_executor::simulate::{critical_path, simulate};
//! // Two chains: 10 → 10 and 30. Unbounded, the makespan is the critical path.
//! let nodes = vec![
//!     Node::new("a", &[], 10).resource(0),
//!     Node::new("b", &[0], 10).resource(0),
//!     Node::new("c", &[], 30).resource(1),
//! ];
//! assert_eq!(simulate(&nodes, &SchedulerOptions::default()), critical_path(&nodes));
//! ```
#![deny(missing_docs)]

// The public API: the driver (re-exported below), its events, the pure scheduler and its
// simulation (benchmarks, docs), and what `status` and the integration tests read (a
// resource's progress, a create request body). Everything else is the crate's own.
pub mod condition;
mod driver;
mod estimate;
pub mod event;
pub mod forecast;
mod kind;
mod live_store;
mod poller;
mod race;
mod rate;
pub mod request;
mod retry;
mod run_state;
pub mod schedule;
pub mod simulate;
mod step_run;

pub use driver::{Apply, ApplyOptions, ExecError, Interrupt, nodes_of};
pub use event::{
    Event, EventSink, NullSink, Progress, RateSummary, RunStatus, StepError, Summary, VecSink,
};
pub use request::SecretSource;
