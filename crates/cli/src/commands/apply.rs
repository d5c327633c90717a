//! `migplan apply PLAN|SAVED`: plan (or check a saved plan is still fresh), confirm, lock, run
//! the steps through the executor, summarize.
//!
//! Order: parse → connect → lock (plan name + target) → read live state → plan, or check the
//! saved plan's fingerprints (stale → exit 4) → show → confirm (a terminal, or
//! `--auto-approve`) → execute with a sink chosen by `--format` and the terminal → exit code
//! from the summary.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use miette::{IntoDiagnostic, WrapErr};
use migplan_executor::{Apply, ApplyOptions, EventSink, Interrupt, RunStatus, SecretSource};
use migplan_parser::{ParsedPlan, ResourceAddr};
use migplan_planner::{Plan, PlanOptions, SavedPlan};

use crate::cli::{ApplyArgs, ApplyFormat};
use crate::exit::ExitStatus;
use crate::render::events::{BarSink, JsonSink, LineSink};
use crate::{connect, live, lock, render};

/// What was given on the command line.
enum Input {
    /// A plan file: planned now.
    PlanFile(Box<ParsedPlan>),
    /// A saved plan and the plan file it was made from.
    Saved {
        saved: Box<SavedPlan>,
        parsed: Box<ParsedPlan>,
        path: PathBuf,
    },
}

impl Input {
    fn parsed(&self) -> &ParsedPlan {
        match self {
            Input::PlanFile(p) => p,
            Input::Saved { parsed, .. } => parsed,
        }
    }
}

fn looks_saved(path: &Path, text: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{')
}

/// Reads the input; `Err(status)` when the plan file is invalid (already reported).
fn read_input(path: &Path, json: bool) -> miette::Result<Result<Input, ExitStatus>> {
    let text = std::fs::read_to_string(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
    if !looks_saved(path, &text) {
        return Ok(match migplan_parser::parse_file(path) {
            Ok(p) => Ok(Input::PlanFile(Box::new(p))),
            Err(errors) => Err(render::plan_file_errors(&errors, json)?),
        });
    }
    let saved = SavedPlan::from_json(&text)
        .into_diagnostic()
        .wrap_err_with(|| format!("{} is not a usable saved plan", path.display()))?;
    let plan_file = PathBuf::from(&saved.plan_file);
    let parsed = match migplan_parser::parse_file(&plan_file) {
        Ok(p) => p,
        Err(errors) => {
            render::plan_file_errors(&errors, json)?;
            miette::bail!(
                "the plan file {} the saved plan was made from is no longer valid",
                plan_file.display()
            );
        }
    };
    Ok(Ok(Input::Saved {
        saved: Box::new(saved),
        parsed: Box::new(parsed),
        path: path.to_path_buf(),
    }))
}

fn parse_targets(raw: &[String], parsed: &ParsedPlan) -> miette::Result<Vec<ResourceAddr>> {
    raw.iter()
        .map(|t| {
            let a = ResourceAddr::parse(t).ok_or_else(|| {
                miette::miette!(
                    help = "addresses are `server.NAME` or `redis.NAME`",
                    "--target {t}: not a resource address"
                )
            })?;
            if !parsed.source_map.resources.contains_key(&a) {
                miette::bail!("--target {t}: no such resource in the plan");
            }
            Ok(a)
        })
        .collect()
}

fn stderr_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

pub fn run(args: ApplyArgs) -> miette::Result<ExitStatus> {
    let json = args.format == ApplyFormat::Json;
    let input = match read_input(&args.plan, json)? {
        Ok(i) => i,
        Err(status) => return Ok(status),
    };
    let targets = parse_targets(&args.target, input.parsed())?;
    if !targets.is_empty() && matches!(input, Input::Saved { .. }) {
        miette::bail!("--target applies to plan files; a saved plan already has its targets");
    }
    let spec = input.parsed().spec.clone();
    let runtime = super::runtime()?;

    let conn = runtime.block_on(connect::connect(&spec, &args.connect))?;
    let lock_target = format!("{} project {}", conn.target, spec.cloud.project_id);
    let held = lock::acquire(&spec.name, &lock_target, args.lock_timeout)?;
    if let Some(dead) = &held.stale {
        stderr_line(&format!(
            "note: the previous apply ({dead}) ended without releasing its lock; it was taken over"
        ));
    }

    let snapshot = runtime.block_on(live::read_snapshot(&conn))?;
    let plan: Plan = match &input {
        Input::PlanFile(parsed) => migplan_planner::plan(
            &parsed.spec,
            &snapshot,
            &PlanOptions {
                targets: targets.clone(),
            },
        )
        .into_diagnostic()?,
        Input::Saved {
            saved,
            parsed,
            path,
        } => {
            if let Err(stale) = saved.check_fresh(&parsed.spec, &snapshot, parsed.source.text()) {
                stderr_line(&format!(
                    "Error: {} cannot be applied: {stale}",
                    path.display()
                ));
                runtime.block_on(conn.close());
                return Ok(ExitStatus::StalePlan);
            }
            saved.plan.clone()
        }
    };

    show_plan(&plan, &conn.target, json)?;
    let missing = missing_secrets(&spec, &plan, |name| std::env::var_os(name).is_some());
    if !missing.is_empty() {
        runtime.block_on(conn.close());
        miette::bail!(
            help = "export them where migplan runs (the plan file only names the variables); nothing was applied",
            "secrets the plan needs are not set: {}",
            missing.join(", ")
        );
    }
    if !plan.has_changes() {
        if json {
            JsonSink.on_event(&migplan_executor::Event::ApplySummary(
                migplan_executor::Summary {
                    status: RunStatus::Complete,
                    done: vec![],
                    failed: vec![],
                    skipped: vec![],
                    in_progress: vec![],
                    not_started: vec![],
                    api_calls: conn.cloud.stats().total_calls(),
                    elapsed_seconds: 0.0,
                },
            ));
        } else {
            let blocked = if plan.is_blocked() {
                " (something is blocked: see above)"
            } else {
                ""
            };
            writeln!(
                std::io::stdout().lock(),
                "\nNo changes: nothing to apply{blocked}."
            )
            .into_diagnostic()?;
        }
        runtime.block_on(conn.close());
        return Ok(if plan.is_blocked() {
            ExitStatus::BlockedOrInProgress
        } else {
            ExitStatus::Success
        });
    }
    if matches!(input, Input::PlanFile(_)) && !args.auto_approve && !confirm()? {
        stderr_line("Apply cancelled.");
        runtime.block_on(conn.close());
        return Ok(ExitStatus::Error);
    }

    let options = ApplyOptions {
        parallelism: args.parallelism as usize,
        wait_timeout: args.wait_timeout,
        poll_interval: args.poll_interval.unwrap_or(if args.connect.local {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(10)
        }),
        fail_fast: args.fail_fast,
        requests_per_second: args.rate_limit,
        ..ApplyOptions::default()
    };
    let secrets: SecretSource = Arc::new(|name: &str| std::env::var(name).ok());
    let sink: Box<dyn EventSink> = if json {
        Box::new(JsonSink)
    } else if std::io::stderr().is_terminal() && std::io::stdout().is_terminal() {
        Box::new(BarSink::new(false))
    } else {
        Box::new(LineSink::default())
    };
    let interrupt = Interrupt::default();
    {
        let i = interrupt.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stderr_line(
                    "\nInterrupted: no new steps start; waiting for calls in flight (Ctrl-C again to abort).",
                );
                i.stop.cancel();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                i.abort.cancel();
            }
        });
    }
    let summary = runtime
        .block_on(
            Apply {
                cloud: &conn.cloud,
                spec: &spec,
                plan: &plan,
                live: &snapshot,
                options: &options,
                secrets,
            }
            .run(sink.as_ref(), &interrupt),
        )
        .into_diagnostic()?;
    runtime.block_on(conn.close());
    drop(held);
    if !json && plan.is_blocked() {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Blocked (not attempted; see the plan above):").into_diagnostic()?;
        for r in plan.resources.iter().filter(|r| r.is_blocked()) {
            for b in &r.blocked {
                writeln!(out, "  ! {}: {}", r.addr, b.message).into_diagnostic()?;
            }
        }
    }
    Ok(match summary.status {
        RunStatus::Complete if plan.is_blocked() => ExitStatus::BlockedOrInProgress,
        RunStatus::Complete => ExitStatus::Success,
        RunStatus::Failed | RunStatus::Interrupted => ExitStatus::Error,
        RunStatus::TimedOut => ExitStatus::BlockedOrInProgress,
    })
}

fn show_plan(plan: &Plan, target: &str, json: bool) -> miette::Result<()> {
    if !json {
        return super::plan::print_plan(plan, target, crate::cli::PlanFormat::Human);
    }
    let line = serde_json::json!({
        "type": "plan",
        "time": render::events::now(),
        "target": target,
        "plan": plan,
    });
    writeln!(std::io::stdout().lock(), "{line}").into_diagnostic()
}

/// Asks on the terminal; refuses (error) without one.
fn confirm() -> miette::Result<bool> {
    if !std::io::stdin().is_terminal() {
        miette::bail!(miette::miette!(
            code = "migplan::apply::needs_approval",
            help = "run it on a terminal to answer the question, or pass --auto-approve (CI)",
            "apply needs approval and there is no terminal to ask"
        ));
    }
    {
        let mut err = std::io::stderr().lock();
        write!(
            err,
            "\nDo you want to apply these changes? Only 'yes' will be accepted.\n  Enter a value: "
        )
        .into_diagnostic()?;
        err.flush().into_diagnostic()?;
    }
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .into_diagnostic()?;
    Ok(answer.trim() == "yes")
}

/// Environment variables holding secrets that planned steps will send (Redis passwords, sent
/// when a migration is configured) and that are not set, as `redis.NAME: VAR`. Checked before
/// anything is applied, so a missing variable never stops a run half-way.
fn missing_secrets(
    spec: &migplan_parser::Spec,
    plan: &Plan,
    is_set: impl Fn(&str) -> bool,
) -> Vec<String> {
    let configured: std::collections::HashSet<&str> = plan
        .steps
        .iter()
        .filter(|st| matches!(st.kind, migplan_planner::StepKind::Configure(_)))
        .filter_map(|st| st.resource.as_ref().map(|r| r.name.as_str()))
        .collect();
    spec.redis
        .iter()
        .filter(|r| configured.contains(r.name.as_str()))
        .flat_map(|r| {
            [&r.source, &r.target]
                .into_iter()
                .filter_map(|e| e.password.as_ref())
                .filter(|p| !is_set(&p.env))
                .map(move |p| format!("redis.{}: {}", r.name, p.env))
        })
        .collect()
}
