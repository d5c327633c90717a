//! `migplan plan PLAN`: read live state, compute the steps, render them. Never writes to the cloud.

use std::io::Write;
use std::path::Path;

use miette::{IntoDiagnostic, WrapErr};
use migplan_parser::ResourceAddr;
use migplan_planner::{Plan, PlanOptions, SavedPlan};

use crate::cli::{PlanArgs, PlanFormat};
use crate::exit::ExitStatus;
use crate::{connect, live, render};

pub fn run(args: PlanArgs) -> miette::Result<ExitStatus> {
    let parsed = match migplan_parser::parse_file(&args.plan) {
        Ok(p) => p,
        Err(errors) => return render::plan_file_errors(&errors, args.format == PlanFormat::Json),
    };
    let targets = parse_targets(&args.target)?;
    for t in &targets {
        if !parsed.source_map.resources.contains_key(t) {
            miette::bail!("--target {t}: no such resource in {}", args.plan.display());
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let (plan, target) = runtime.block_on(async {
        let conn = connect::connect(&parsed.spec, &args.connect).await?;
        let snapshot = live::read_snapshot(&conn.cloud)
            .await
            .wrap_err_with(|| format!("cannot read live state from {}", conn.target))?;
        let target = conn.target.clone();
        conn.close().await;
        let plan = migplan_planner::plan(&parsed.spec, &snapshot, &PlanOptions { targets })
            .into_diagnostic()?;
        Ok::<_, miette::Report>((plan, target))
    })?;
    if let Some(out) = &args.out {
        write_saved_plan(out, &plan, &args.plan, parsed.source.text(), &target)?;
    }
    print_plan(&plan, &target, args.format)?;
    Ok(exit_status(&plan, args.detailed_exitcode))
}

/// Prints a plan in the chosen format; shared by `plan` and `show`.
pub fn print_plan(plan: &Plan, target: &str, format: PlanFormat) -> miette::Result<()> {
    let text = match format {
        PlanFormat::Human => format!(
            "Target: {target}\n\n{}",
            render::plan_human::render(plan, render::color_on_stdout())
        ),
        PlanFormat::Markdown => format!(
            "{}\n<sub>Target: {target}</sub>\n",
            render::plan_markdown::render(plan)
        ),
        PlanFormat::Json => serde_json::to_string_pretty(plan).into_diagnostic()?,
    };
    writeln!(std::io::stdout().lock(), "{text}").into_diagnostic()
}

fn parse_targets(raw: &[String]) -> miette::Result<Vec<ResourceAddr>> {
    raw.iter()
        .map(|t| {
            ResourceAddr::parse(t).ok_or_else(|| {
                miette::miette!(
                    help = "addresses are `server.NAME` or `redis.NAME`",
                    "--target {t}: not a resource address"
                )
            })
        })
        .collect()
}

/// Exit codes of `--detailed-exitcode`: 0 no changes, 2 changes, 3 something blocked.
fn exit_status(plan: &Plan, detailed: bool) -> ExitStatus {
    if !detailed {
        return ExitStatus::Success;
    }
    if plan.is_blocked() {
        ExitStatus::BlockedOrInProgress
    } else if plan.summary.has_changes() {
        ExitStatus::ChangesPresent
    } else {
        ExitStatus::Success
    }
}

fn write_saved_plan(
    path: &Path,
    plan: &Plan,
    plan_file: &Path,
    text: &str,
    target: &str,
) -> miette::Result<()> {
    let saved = SavedPlan::new(plan.clone(), &plan_file.display().to_string(), text, target);
    std::fs::write(path, saved.to_json())
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write the saved plan to {}", path.display()))
}
