//! Rendering of diagnostics and errors for people. Commands decide what to show; this module
//! decides how it looks (graphical on a terminal, plain text in CI, `NO_COLOR` respected).

pub mod bars;
pub mod events;
pub mod plan_human;
pub mod plan_markdown;
#[cfg(test)]
mod test_support;

use std::io::IsTerminal;

mod diagnostics;
pub use diagnostics::*;

/// Whether stdout gets colour: a terminal, and `NO_COLOR` unset.
pub fn color_on_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
