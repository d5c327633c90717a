//! `migplan graph PLAN`: the step DAG as DOT or mermaid, planned from scratch (every named source
//! registered, every template present, no task yet), so it works offline.

use std::io::Write;

use miette::IntoDiagnostic;
use migplan_planner::{LiveSnapshot, PlanOptions};

use crate::cli::{GraphArgs, GraphFormat};
use crate::exit::ExitStatus;
use crate::render;

pub fn run(args: GraphArgs) -> miette::Result<ExitStatus> {
    let parsed = match migplan_parser::parse_file(&args.plan) {
        Ok(p) => p,
        Err(errors) => return render::plan_file_errors(&errors, false),
    };
    let plan = migplan_planner::plan(
        &parsed.spec,
        &LiveSnapshot::assume_ready(&parsed.spec),
        &PlanOptions::default(),
    )
    .into_diagnostic()?;
    let graph = plan.graph().into_diagnostic()?;
    let text = match args.format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
    };
    write!(std::io::stdout().lock(), "{text}").into_diagnostic()?;
    Ok(ExitStatus::Success)
}
