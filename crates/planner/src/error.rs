//! Errors that stop planning altogether (as opposed to a blocked resource, which is data in the
//! [`crate::Plan`]).

use miette::Diagnostic;
use thiserror::Error;

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
#[non_exhaustive]
pub enum PlanError {
    /// `--target` named a resource the plan does not declare.
    #[error("--target {addr} is not a resource of this plan")]
    #[diagnostic(
        code(migplan::planner::unknown_target),
        help("targets are `server.NAME` or `redis.NAME` entries of the plan file")
    )]
    UnknownTarget {
        /// The address as given.
        addr: String,
    },
    /// The step graph has a cycle (the parser rejects stage cycles, so this is a bug guard).
    #[error("the steps wait for each other in a cycle: {}", cycle.join(" → "))]
    #[diagnostic(
        code(migplan::planner::cycle),
        help("break the cycle by removing one of the `depends_on` entries or waves involved")
    )]
    Cycle {
        /// Labels of the steps on the cycle, in order.
        cycle: Vec<String>,
    },
}
