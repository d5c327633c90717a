//! `migplan history PLAN`: the recorded runs of a plan, newest first, with their steps, from
//! the run journal on PostgreSQL (`--lock-url` / `MIGPLAN_LOCK_URL`).

use std::io::Write;

use miette::IntoDiagnostic;
use migplan_journal::{DbUrl, Journal, RunRecord};
use time::OffsetDateTime;

use crate::exit::ExitStatus;
use crate::journal::ENV_LOCK_URL;
use crate::untrusted::escape_controls;

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The plan: its file (its name is read from it) or its name.
    #[arg(value_name = "PLAN")]
    pub plan: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Human)]
    pub format: HistoryFormat,
    /// Runs to show, newest first.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// The journal database (the lock URL apply used).
    #[arg(long, value_name = "URL", env = ENV_LOCK_URL, hide_env_values = true)]
    pub lock_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// One block per run.
    Human,
    /// `{plan, runs: [...]}`.
    Json,
}

pub fn run(args: HistoryArgs) -> miette::Result<ExitStatus> {
    let Some(url) = args.lock_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        miette::bail!(
            help = format!(
                "pass --lock-url URL or set {ENV_LOCK_URL} (the database apply journals to)"
            ),
            "history needs the journal database"
        );
    };
    let url = DbUrl::parse(url)?;
    let plan = plan_name(&args.plan)?;
    let runtime = super::runtime()?;
    let runs = runtime.block_on(async {
        let journal = Journal::open(&url).await?;
        journal.history(&plan, args.limit).await
    })?;
    let mut out = std::io::stdout().lock();
    match args.format {
        HistoryFormat::Json => {
            let doc = serde_json::json!({ "plan": plan, "runs": runs });
            writeln!(out, "{doc}").into_diagnostic()?;
        }
        HistoryFormat::Human => {
            if runs.is_empty() {
                writeln!(out, "No recorded runs of plan {}.", escape_controls(&plan))
                    .into_diagnostic()?;
            }
            for r in &runs {
                write_run(&mut out, r).into_diagnostic()?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// A plan file's name when PLAN is a file, else PLAN itself.
fn plan_name(plan: &str) -> miette::Result<String> {
    let path = std::path::Path::new(plan);
    if !path.is_file() {
        return Ok(plan.to_string());
    }
    match migplan_parser::parse_file(path) {
        Ok(p) => Ok(p.spec.name),
        Err(_) => miette::bail!(
            help = "run `migplan validate` on it, or give the plan's name",
            "{} is not a valid plan file",
            escape_controls(plan)
        ),
    }
}

fn when(t: &OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn write_run(out: &mut impl Write, r: &RunRecord) -> std::io::Result<()> {
    let end = match (&r.finished_at, r.exit_code) {
        (Some(t), Some(code)) => format!("finished {}, exit {code}", when(t)),
        _ => "not finished (running, or its runner died)".to_string(),
    };
    writeln!(
        out,
        "run {} started {}, {end}\n  by {}\n  plan sha256 {}",
        r.id.0,
        when(&r.started_at),
        escape_controls(&r.who.to_string()),
        escape_controls(&r.plan_sha256),
    )?;
    for s in &r.steps {
        let outcome = s.outcome.map_or("started", |o| o.as_str());
        write!(out, "  {outcome:<8} {}", escape_controls(&s.step))?;
        if let Some(id) = &s.request_id {
            write!(out, " [request {}]", escape_controls(id))?;
        }
        match (&s.error_code, &s.message) {
            (Some(c), Some(m)) => write!(out, ": {}: {}", escape_controls(c), escape_controls(m))?,
            (None, Some(m)) => write!(out, ": {}", escape_controls(m))?,
            (Some(c), None) => write!(out, ": {}", escape_controls(c))?,
            (None, None) => {}
        }
        writeln!(out)?;
    }
    writeln!(out)
}
