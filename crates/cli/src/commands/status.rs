//! `migplan status PLAN`: where each resource is (the planner's [`Current`]) against where the
//! plan wants it, with progress read from the same list calls. Never writes.
//!
//! Exit codes: 0 every resource is at its desired stage; 3 work remains (in progress, not
//! started, failed or blocked); 1 error.

use std::io::Write;

use miette::IntoDiagnostic;
use migplan_executor::condition::{Obj, progress};
use migplan_executor::event::Progress;
use migplan_parser::ResourceKind;
use migplan_planner::{Current, LiveSnapshot, PlanOptions, ResourcePlan};
use schemars::JsonSchema;
use serde::Serialize;

use crate::cli::{StatusArgs, StatusFormat};
use crate::exit::ExitStatus;
use crate::failure::{Classify, ErrorKind};
use crate::render::events::progress_text;
use crate::untrusted::escape_controls;
use crate::{connect, live, render};

/// `status --format json`, described by schemas/status.schema.json.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "migplan status --format json")]
pub struct StatusOutput {
    /// 1; raised only on an incompatible change.
    #[schemars(range(min = 1, max = 1))]
    format_version: u32,
    /// The plan's name.
    plan: String,
    /// What was read: the cloud endpoints, or the local emulator.
    target: String,
    /// One row per resource, in plan order.
    resources: Vec<Row>,
    /// How many resources are at their desired stage.
    at_desired: usize,
    /// How many resources the plan has.
    total: usize,
}

/// One row of the status.
#[derive(Debug, Serialize, JsonSchema)]
struct Row {
    /// `server.NAME` or `redis.NAME`.
    resource: String,
    /// Where the resource is, as the planner derives it from live state.
    current: Current,
    /// `current` in words, as the human table shows it.
    current_label: String,
    /// The stage the plan asks for.
    desired: String,
    /// Whether it is at (or past) the desired stage with nothing left to do.
    at_desired: bool,
    /// Why it cannot go on without a person, when it cannot.
    blocked: Vec<String>,
    /// Progress of the work running now, when something runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<Progress>,
    /// The last network check's figures, when the plan asks for a check.
    #[serde(skip_serializing_if = "Option::is_none")]
    network_check: Option<String>,
    /// Seconds of the cloud's clock until it reaches its desired stage, if apply ran now
    /// (the forecast, under apply's default flags).
    #[serde(skip_serializing_if = "Option::is_none")]
    eta_seconds: Option<u64>,
    /// Its place in the queue for the SMS quota, when its copy would wait for a slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<migplan_planner::QueuePlace>,
}

fn row(r: &ResourcePlan, live: &LiveSnapshot) -> Row {
    let prog = match r.addr.kind {
        ResourceKind::Server => live
            .tasks
            .iter()
            .find(|t| t.name == r.addr.name)
            .and_then(|t| progress(Obj::Sms(Some(t)))),
        ResourceKind::Redis => live
            .migrations
            .iter()
            .find(|t| t.task_name == r.addr.name)
            .and_then(|t| progress(Obj::Dcs(Some(t)))),
    };
    let at_desired = matches!(&r.current, Current::At { stage, .. } if *stage >= r.desired)
        && r.steps.is_empty();
    Row {
        resource: r.addr.to_string(),
        current_label: r.current.label(),
        current: r.current.clone(),
        desired: r.desired.to_string(),
        at_desired,
        blocked: r.blocked.iter().map(|b| b.message.clone()).collect(),
        progress: prog.filter(|_| matches!(r.current, Current::InProgress { .. })),
        network_check: r.network_check.clone(),
        eta_seconds: r.eta_seconds,
        queue: r.queue,
    }
}

pub fn run(args: StatusArgs) -> miette::Result<ExitStatus> {
    let json = args.format == StatusFormat::Json;
    let parsed = match migplan_parser::parse_file(&args.plan) {
        Ok(p) => p,
        Err(errors) => return render::plan_file_errors(&errors, json),
    };
    let runtime = super::runtime()?;
    let (plan, snapshot, target) = runtime.block_on(async {
        let conn = connect::connect(&parsed.spec, &args.connect)
            .await
            .kind(ErrorKind::Connect)?;
        let mut snapshot = live::read_snapshot(&conn).await.kind(ErrorKind::Api)?;
        if !args.forecast.no_forecast {
            live::read_source_details(&conn, &parsed.spec, &mut snapshot).await;
        }
        let target = conn.target.clone();
        let (time_scale, cloud_now, local) = (
            conn.time_scale,
            conn.cloud.cloud_now(),
            conn.emulator.is_some(),
        );
        conn.close().await;
        let options = PlanOptions {
            unset_secrets: connect::unset_secrets(&parsed.spec),
            now: Some(jiff::Timestamp::now()),
            ..PlanOptions::default()
        };
        let mut plan =
            migplan_planner::plan(&parsed.spec, &snapshot, &options).into_diagnostic()?;
        // Where each resource would be in the queue for the SMS quota if apply ran now.
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
        Ok::<_, miette::Report>((plan, snapshot, target))
    })?;
    let rows: Vec<Row> = plan.resources.iter().map(|r| row(r, &snapshot)).collect();
    let done = rows.iter().filter(|r| r.at_desired).count();
    let mut out = std::io::stdout().lock();
    if json {
        let total = rows.len();
        let doc = StatusOutput {
            format_version: 1,
            plan: plan.name.clone(),
            target,
            resources: rows,
            at_desired: done,
            total,
        };
        let text = serde_json::to_string_pretty(&doc).into_diagnostic()?;
        writeln!(out, "{text}").into_diagnostic()?;
        return Ok(status_exit(&doc.resources));
    } else {
        writeln!(out, "Target: {target}\n").into_diagnostic()?;
        let w = rows
            .iter()
            .map(|r| r.resource.len())
            .max()
            .unwrap_or(8)
            .max(8);
        let c = rows
            .iter()
            .map(|r| r.current_label.chars().count())
            .max()
            .unwrap_or(7)
            .max(7);
        writeln!(
            out,
            "{:<w$}  {:<c$}  {:<10}  PROGRESS",
            "RESOURCE", "CURRENT", "DESIRED"
        )
        .into_diagnostic()?;
        for r in &rows {
            let mark = if r.at_desired { "✓" } else { "" };
            let extra = match (&r.progress, r.blocked.first(), &r.queue) {
                (_, Some(b), _) => format!("blocked: {b}"),
                (Some(p), None, _) => progress_text(p),
                (None, None, Some(q)) => render::queue_text(q),
                (None, None, None) => mark.to_string(),
            };
            // Labels and messages carry states and text from the API: escaped for the terminal.
            writeln!(
                out,
                "{:<w$}  {:<c$}  {:<10}  {}",
                r.resource,
                escape_controls(&r.current_label),
                r.desired,
                escape_controls(&extra)
            )
            .into_diagnostic()?;
            if let Some(n) = &r.network_check {
                writeln!(out, "{:<w$}  network check: {}", "", escape_controls(n))
                    .into_diagnostic()?;
            }
        }
        writeln!(
            out,
            "\n{done} of {} resources at their desired stage.",
            rows.len()
        )
        .into_diagnostic()?;
        if let Some(f) = &plan.forecast
            && plan.has_changes()
        {
            writeln!(out, "{}", render::forecast_line(f)).into_diagnostic()?;
        }
    }
    Ok(status_exit(&rows))
}

/// 0 every resource at its stage; 5 some can still move without a person (run again); 3 what
/// remains is all blocked.
fn status_exit(rows: &[Row]) -> ExitStatus {
    let remaining: Vec<&Row> = rows.iter().filter(|r| !r.at_desired).collect();
    if remaining.is_empty() {
        ExitStatus::Success
    } else if remaining.iter().all(|r| !r.blocked.is_empty()) {
        ExitStatus::Blocked
    } else {
        ExitStatus::InProgress
    }
}
