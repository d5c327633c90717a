//! `migplan plan PLAN`: read live state, compute the steps, render them. Never writes to the cloud.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use miette::{IntoDiagnostic, WrapErr};
use migplan_parser::ResourceAddr;
use migplan_planner::{Plan, PlanOptions, SavedPlan};

use crate::cli::{PlanArgs, PlanFormat};
use crate::exit::ExitStatus;
use crate::failure::{Classify, ErrorKind};
use crate::{connect, live, render};

pub fn run(args: PlanArgs) -> miette::Result<ExitStatus> {
    let started = Instant::now();
    let parsed = match migplan_parser::parse_file(&args.plan) {
        Ok(p) => p,
        Err(errors) => return render::plan_file_errors(&errors, args.format == PlanFormat::Json),
    };
    let targets = parse_targets(&args.target).kind(ErrorKind::Usage)?;
    for t in &targets {
        if !parsed.source_map.resources.contains_key(t) {
            return Err(miette::miette!(
                "--target {t}: no such resource in {}",
                args.plan.display()
            ))
            .kind(ErrorKind::Usage);
        }
    }
    let mut timings = Timings {
        parse_ms: ms(started.elapsed()),
        ..Timings::default()
    };
    let runtime = super::runtime()?;
    let (plan, target) = runtime.block_on(async {
        let conn = connect::connect(&parsed.spec, &args.connect)
            .await
            .kind(ErrorKind::Connect)?;
        conn.cloud.reset_stats(); // count the refresh only, not --local's setup
        let refresh = Instant::now();
        let mut snapshot = live::read_snapshot(&conn).await.kind(ErrorKind::Api)?;
        if !args.forecast.no_forecast {
            live::read_source_details(&conn, &parsed.spec, &mut snapshot).await;
        }
        timings.refresh_ms = ms(refresh.elapsed());
        timings.api_calls = conn
            .cloud
            .stats()
            .routes
            .into_iter()
            .map(|(route, s)| (route, s.requests))
            .collect();
        let target = conn.target.clone();
        let (time_scale, cloud_now, local) = (
            conn.time_scale,
            conn.cloud.cloud_now(),
            conn.emulator.is_some(),
        );
        conn.close().await;
        let planning = Instant::now();
        let mut plan = migplan_planner::plan(
            &parsed.spec,
            &snapshot,
            &PlanOptions {
                targets,
                unset_secrets: crate::connect::unset_secrets(&parsed.spec),
                now: Some(jiff::Timestamp::now()),
            },
        )
        .into_diagnostic()?;
        if !args.forecast.no_forecast {
            crate::forecast::attach(
                &mut plan,
                &parsed.spec,
                &snapshot,
                &crate::forecast::Assumed::of(&args.forecast, local),
                time_scale,
                cloud_now,
            );
        }
        timings.plan_ms = ms(planning.elapsed());
        Ok::<_, miette::Report>((plan, target))
    })?;
    if let Some(out) = &args.out {
        write_saved_plan(out, &plan, &args.plan, parsed.source.text(), &target)
            .kind(ErrorKind::Io)?;
    }
    let rendering = Instant::now();
    print_plan(&plan, &target, args.format)?;
    timings.render_ms = ms(rendering.elapsed());
    if args.timings {
        timings.total_ms = ms(started.elapsed());
        timings.peak_rss_mib = peak_rss_mib();
        let line = serde_json::to_string(&timings).into_diagnostic()?;
        writeln!(std::io::stderr().lock(), "timings: {line}").into_diagnostic()?;
    }
    Ok(exit_status(&plan, args.detailed_exitcode))
}

/// `--timings`: where a plan run spent its time, what it asked the API, and its peak memory.
#[derive(Debug, Default, serde::Serialize)]
struct Timings {
    parse_ms: f64,
    refresh_ms: f64,
    plan_ms: f64,
    render_ms: f64,
    total_ms: f64,
    /// HTTP requests per route during refresh.
    api_calls: std::collections::BTreeMap<String, u64>,
    /// Peak resident memory of the process (Linux `VmHWM`), if known.
    peak_rss_mib: Option<f64>,
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

/// Writes a plan to stdout in the chosen format; shared by `plan` and `show`. JSON is streamed,
/// so a fleet-sized plan is never held twice in memory.
pub fn print_plan(plan: &Plan, target: &str, format: PlanFormat) -> miette::Result<()> {
    // Names and messages may come from a saved file or the cloud: no raw control characters
    // reach the terminal (JSON escapes them itself).
    let plan = match format {
        PlanFormat::Json => std::borrow::Cow::Borrowed(plan),
        _ => crate::untrusted::plan_for_display(plan),
    };
    let plan = plan.as_ref();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        PlanFormat::Human => write!(
            out,
            "Target: {target}\n\n{}",
            render::plan_human::render(plan, render::color_on_stdout())
        ),
        PlanFormat::Markdown => write!(
            out,
            "{}\n<sub>Target: {target}</sub>\n",
            render::plan_markdown::render(plan)
        ),
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut out, plan).map_err(std::io::Error::other)
        }
    }
    .and_then(|()| writeln!(out))
    .and_then(|()| out.flush())
    .into_diagnostic()
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
        ExitStatus::Blocked
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
    let mut saved = SavedPlan::new(plan.clone(), &plan_file.display().to_string(), text, target);
    if let Some(key) = crate::untrusted::plan_key() {
        saved.sign(&key);
    }
    std::fs::write(path, saved.to_json())
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write the saved plan to {}", path.display()))
}
