//! `migplan show SAVED`: render a plan saved by `plan --out`, without contacting the cloud.

use miette::{IntoDiagnostic, WrapErr};
use migplan_planner::SavedPlan;

use crate::cli::ShowArgs;
use crate::commands::plan::print_plan;
use crate::exit::ExitStatus;
use crate::failure::{Classify, ErrorKind};
use crate::untrusted::{MAX_SAVED_PLAN_BYTES, escape_controls, read_bounded};

pub fn run(args: ShowArgs) -> miette::Result<ExitStatus> {
    let bytes = read_bounded(&args.saved, MAX_SAVED_PLAN_BYTES).kind(ErrorKind::Io)?;
    let shown = escape_controls(&args.saved.display().to_string()).into_owned();
    let saved = SavedPlan::from_json(&String::from_utf8_lossy(&bytes))
        .into_diagnostic()
        .wrap_err_with(|| format!("{shown} is not a usable saved plan"))
        .kind(ErrorKind::InvalidSavedPlan)?;
    let target = format!(
        "{} (saved from {}; live state not re-read)",
        escape_controls(&saved.target),
        escape_controls(&saved.plan_file)
    );
    print_plan(&saved.plan, &target, args.format)?;
    Ok(ExitStatus::Success)
}
