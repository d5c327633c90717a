//! `migplan schema`: the plan format's JSON Schema, generated from the parser's types.

use std::io::Write;

use miette::IntoDiagnostic;

use crate::exit::ExitStatus;

pub fn run() -> miette::Result<ExitStatus> {
    let text = serde_json::to_string_pretty(&migplan_parser::plan_schema()).into_diagnostic()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").into_diagnostic()?;
    Ok(ExitStatus::Success)
}
