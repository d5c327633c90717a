//! Rendering of diagnostics and errors for people. Commands decide what to show; this module
//! decides how it looks (graphical on a terminal, plain text in CI, `NO_COLOR` respected).

pub mod bars;
pub mod events;
pub mod forecast;
pub mod plan_human;
pub mod plan_markdown;
#[cfg(test)]
mod test_support;

use std::io::IsTerminal;

mod diagnostics;

pub use diagnostics::*;
pub use forecast::{forecast_line, queue_text};

/// Said by every view of a plan made with `--target`, as Terraform does: it is not the whole
/// plan file's plan.
pub fn targeting_note(plan: &migplan_planner::Plan) -> Option<String> {
    if plan.targets.is_empty() {
        return None;
    }
    let targets: Vec<String> = plan.targets.iter().map(|t| format!("`{t}`")).collect();
    Some(format!(
        "resource targeting is in effect ({}): only the targets, and the stages of other \
         resources they need, are planned. This is not the whole plan file's plan; plan \
         without --target before relying on it.",
        targets.join(", ")
    ))
}

/// What a step waits for outside its own resource's chain (which runs in order anyway):
/// `server.db-01 cutover, wave canary`. `None` when nothing.
pub fn waits_for(
    step: &migplan_planner::Step,
    steps: &std::collections::HashMap<&migplan_planner::StepId, &migplan_planner::Step>,
) -> Option<String> {
    let mut out: Vec<String> = step
        .depends_on
        .iter()
        .filter_map(|id| steps.get(id))
        .filter(|d| d.resource.is_none() || d.resource != step.resource)
        .map(|d| match (&d.resource, &d.stage) {
            (Some(r), Some(stage)) => format!("{r} {stage}"),
            (Some(r), None) => format!("{r} {}", d.label),
            (None, _) => d.label.clone(),
        })
        .collect();
    out.dedup();
    (!out.is_empty()).then(|| out.join(", "))
}

/// `at most 2 at a time`, or `no cap`.
pub fn wave_cap(max_parallel: Option<u32>) -> String {
    match max_parallel {
        Some(n) => format!("at most {n} at a time"),
        None => "no cap".into(),
    }
}

/// `1 action`, `2 actions`: a count with its noun, singular or plural.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Whether stdout gets colour: a terminal that is not `TERM=dumb`, and no `NO_COLOR`.
pub fn color_on_stdout() -> bool {
    std::io::stdout().is_terminal() && !no_color() && !dumb_terminal()
}

/// `NO_COLOR` set and not empty (no-color.org).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// `TERM=dumb`: no colour, no cursor movement.
pub fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// How `apply` shows its progress for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// Bars redrawn in place, with or without colour.
    Bars { color: bool },
    /// Timestamped lines: not a terminal, or a terminal that cannot move its cursor.
    Lines,
}

/// Bars when stdout and stderr are terminals and `TERM` is not `dumb` (which has no cursor
/// movement); colour unless `NO_COLOR` is set and not empty (no-color.org).
pub fn terminal_display() -> Display {
    display_for(
        std::io::stderr().is_terminal() && std::io::stdout().is_terminal(),
        std::env::var_os("TERM").as_deref(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn display_for(
    terminals: bool,
    term: Option<&std::ffi::OsStr>,
    no_color: Option<&std::ffi::OsStr>,
) -> Display {
    if !terminals || term.is_some_and(|t| t == "dumb") {
        return Display::Lines;
    }
    Display::Bars {
        color: no_color.is_none_or(|v| v.is_empty()),
    }
}

#[cfg(test)]
mod display_tests {
    use super::{Display, display_for};
    use std::ffi::OsStr;

    #[test]
    fn dumb_terminals_get_lines_and_no_color_turns_colour_off() {
        let xterm = Some(OsStr::new("xterm-256color"));
        assert_eq!(
            display_for(true, xterm, None),
            Display::Bars { color: true }
        );
        assert_eq!(display_for(true, None, None), Display::Bars { color: true });
        assert_eq!(
            display_for(true, Some(OsStr::new("dumb")), None),
            Display::Lines
        );
        assert_eq!(display_for(false, xterm, None), Display::Lines);
        assert_eq!(
            display_for(true, xterm, Some(OsStr::new("1"))),
            Display::Bars { color: false }
        );
        // NO_COLOR set but empty does not count (no-color.org).
        assert_eq!(
            display_for(true, xterm, Some(OsStr::new(""))),
            Display::Bars { color: true }
        );
    }
}
