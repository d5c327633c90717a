//! `migplan show SAVED`: render a plan saved by `plan --out`, without contacting the cloud.

use miette::{IntoDiagnostic, WrapErr};
use migplan_planner::SavedPlan;

use crate::cli::ShowArgs;
use crate::commands::plan::print_plan;
use crate::exit::ExitStatus;

pub fn run(args: ShowArgs) -> miette::Result<ExitStatus> {
    let text = std::fs::read_to_string(&args.saved)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", args.saved.display()))?;
    let saved = SavedPlan::from_json(&text)
        .into_diagnostic()
        .wrap_err_with(|| format!("{} is not a usable saved plan", args.saved.display()))?;
    let target = format!(
        "{} (saved from {}; live state not re-read)",
        saved.target, saved.plan_file
    );
    print_plan(&saved.plan, &target, args.format)?;
    Ok(ExitStatus::Success)
}
