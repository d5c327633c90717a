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

/// Whether stdout gets colour: a terminal, and `NO_COLOR` unset.
pub fn color_on_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
