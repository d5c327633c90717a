//! `migplan apply PLAN|SAVED`: plan (or check a saved plan is still fresh), confirm, lock, run
//! the steps through the executor, summarize.
//!
//! Order: parse (a saved plan: its plan file's sha256 first) → connect → lock (plan name +
//! target identity) → read live state → plan, or check the saved plan's fingerprints and
//! re-derive its steps (stale or edited → exit 4; the derived plan is what runs) → show → confirm (a terminal, or
//! `--auto-approve`) → execute with a sink chosen by `--format` and the terminal → exit code
//! from the summary.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{IntoDiagnostic, WrapErr};
use migplan_executor::{Apply, ApplyOptions, EventSink, Interrupt, RunStatus, SecretSource};
use migplan_parser::{ParsedPlan, ResourceAddr};
use migplan_planner::{Plan, PlanOptions, SavedPlan};

use crate::cli::{ApplyArgs, ApplyFormat};
use crate::exit::ExitStatus;
use crate::failure::{Classify, ErrorKind, Failure};
use crate::render::bars::BarSink;
use crate::render::events::{JsonSink, LineSink};
use crate::untrusted::{
    ENV_PLAN_KEY, MAX_SAVED_PLAN_BYTES, escape_controls, plan_key, read_bounded, read_head,
};
use crate::{connect, journal, live, render};

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

/// Reads the input; `Err(status)` when it cannot go further and has been reported: an invalid
/// plan file (1). A saved plan whose plan file is not the one it was made from is an error
/// with exit 4.
fn read_input(path: &Path, json: bool) -> miette::Result<Result<Input, ExitStatus>> {
    // The first bytes tell a saved plan from a plan file; a plan file is then read by the
    // parser, under its own (smaller) cap.
    let head = read_head(path, 4096).kind(ErrorKind::Io)?;
    if !looks_saved(path, &String::from_utf8_lossy(&head)) {
        return Ok(match migplan_parser::parse_file(path) {
            Ok(p) => Ok(Input::PlanFile(Box::new(p))),
            Err(errors) => Err(render::plan_file_errors(&errors, json)?),
        });
    }
    let bytes = read_bounded(path, MAX_SAVED_PLAN_BYTES).kind(ErrorKind::Io)?;
    let saved = SavedPlan::from_json(&String::from_utf8_lossy(&bytes))
        .into_diagnostic()
        .wrap_err_with(|| format!("{} is not a usable saved plan", path.display()))
        .kind(ErrorKind::InvalidSavedPlan)?;
    drop(bytes);
    match plan_key() {
        Some(key) => {
            if let Err(why) = saved.verify_signature(&key) {
                return Err(stale(format!(
                    "{} cannot be applied: {why} ({ENV_PLAN_KEY}); nothing was applied",
                    escape_controls(&path.display().to_string())
                )));
            }
        }
        None if saved.hmac_sha256.is_some() => stderr_line(&format!(
            "note: the saved plan is signed, but {ENV_PLAN_KEY} is not set here: the signature \
             was not checked (the steps are still re-derived and compared)"
        )),
        None => {}
    }
    let plan_file = PathBuf::from(&saved.plan_file);
    // The hash is checked before the file is parsed: a file that is not the reviewed plan
    // (another plan, or `/proc/self/environ` in an edited artifact) is never echoed.
    let recorded = read_bounded(&plan_file, MAX_SAVED_PLAN_BYTES)
        .wrap_err("cannot read the plan file the saved plan was made from")
        .kind(ErrorKind::Io)?;
    if !saved.plan_file_matches(&recorded) {
        return Err(stale(format!(
            "{} cannot be applied: the saved plan is stale\n  - the plan file {} is not \
             the one the plan was made from (its sha256 differs); run `migplan plan` again",
            path.display(),
            escape_controls(&plan_file.display().to_string()),
        )));
    }
    let parsed = match migplan_parser::parse_file(&plan_file) {
        Ok(p) => p,
        Err(errors) => {
            if !json {
                render::print_diagnostics(&errors)?;
            }
            let message = format!(
                "the plan file {} the saved plan was made from is no longer valid",
                escape_controls(&plan_file.display().to_string())
            );
            return Err(Failure::invalid_plan(&errors, message).into());
        }
    };
    Ok(Ok(Input::Saved {
        saved: Box::new(saved),
        parsed: Box::new(parsed),
        path: path.to_path_buf(),
    }))
}

/// A saved plan that may not be applied: exit 4, the reason as laid out.
fn stale(message: String) -> miette::Report {
    Failure::plain(ErrorKind::StalePlan, ExitStatus::StalePlan, message).into()
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

pub fn run(mut args: ApplyArgs) -> miette::Result<ExitStatus> {
    let started = std::time::Instant::now();
    let json = args.format == ApplyFormat::Json;
    // --lock-timeout also bounds the wait for another --local command's state; retries are
    // events among the others with --format json.
    args.connect.lock_wait = args.lock_timeout;
    if json {
        args.connect.retry_report = crate::retries::RetryReport::JsonEvents;
    }
    let input = match read_input(&args.plan, json)? {
        Ok(i) => i,
        Err(status) => return Ok(status),
    };
    let targets = parse_targets(&args.target, input.parsed()).kind(ErrorKind::Usage)?;
    if !targets.is_empty() && matches!(input, Input::Saved { .. }) {
        return Err(miette::miette!(
            "--target applies to plan files; a saved plan already has its targets"
        ))
        .kind(ErrorKind::Usage);
    }
    let spec = input.parsed().spec.clone();
    let runtime = super::runtime()?;

    let mut connect_args = args.connect.clone();
    connect_args.local_redis = true;
    let conn = runtime
        .block_on(connect::connect(&spec, &connect_args))
        .kind(ErrorKind::Connect)?;
    let target = journal::Target {
        plan: &spec.name,
        identity: conn.lock_identity.as_deref(),
        shown: &conn.target,
        plan_sha256: journal::plan_sha256(input.parsed().source.text()),
    };
    let mut held = journal::take(
        &runtime,
        args.lock_url.as_deref(),
        &target,
        args.lock_timeout,
        json,
    )?;

    let mut snapshot = runtime
        .block_on(live::read_snapshot(&conn))
        .kind(ErrorKind::Api)?;
    runtime.block_on(live::read_source_details(&conn, &spec, &mut snapshot));
    let mut plan: Plan = match &input {
        Input::PlanFile(parsed) => migplan_planner::plan(
            &parsed.spec,
            &snapshot,
            &PlanOptions {
                targets: targets.clone(),
                unset_secrets: connect::unset_secrets(&parsed.spec),
                now: Some(jiff::Timestamp::now()),
            },
        )
        .into_diagnostic()?,
        Input::Saved {
            saved,
            parsed,
            path,
        } => {
            let checked = saved
                .check_fresh(&parsed.spec, &snapshot, parsed.source.text())
                .map_err(|stale| stale.to_string())
                .and_then(|()| {
                    saved
                        .rederive(
                            &parsed.spec,
                            &snapshot,
                            &connect::unset_secrets(&parsed.spec),
                            Some(jiff::Timestamp::now()),
                        )
                        .map_err(|tampered| tampered.to_string())
                });
            match checked {
                Ok(plan) => plan,
                Err(why) => {
                    runtime.block_on(conn.close());
                    return Err(stale(format!(
                        "{} cannot be applied: {why}",
                        path.display()
                    )));
                }
            }
        }
    };

    let poll_interval = args
        .poll_interval
        .unwrap_or_else(|| crate::forecast::default_poll_interval(args.connect.local));
    let (wait_timeout, job_limit) = crate::forecast::limit(args.wait_timeout);
    crate::forecast::attach(
        &mut plan,
        &spec,
        &snapshot,
        &crate::forecast::Assumed {
            parallelism: args.parallelism,
            wait_timeout,
            poll_interval,
            rate_limit: args.rate_limit,
            job_limit,
        },
        conn.time_scale,
        conn.cloud.cloud_now(),
    );
    show_plan(&plan, &conn.target, json)?;
    let missing = missing_secrets(&spec, &plan, |name| std::env::var_os(name).is_some());
    if !missing.is_empty() {
        runtime.block_on(conn.close());
        return Err(miette::miette!(
            help = "export them where migplan runs (the plan file only names the variables); nothing was applied",
            "secrets the plan needs are not set: {}",
            missing.join(", ")
        ))
        .kind(ErrorKind::Secrets);
    }
    if !plan.has_changes() && !plan.has_checks() {
        if json {
            JsonSink.on_event(&migplan_executor::Event::ApplySummary(
                migplan_executor::Summary {
                    status: RunStatus::Complete,
                    done: vec![],
                    failed: vec![],
                    skipped: vec![],
                    held: vec![],
                    in_progress: vec![],
                    not_started: vec![],
                    api_calls: conn.cloud.stats().total_calls(),
                    elapsed_seconds: 0.0,
                    rates: vec![],
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
        let status = if plan.is_blocked() {
            ExitStatus::Blocked
        } else {
            ExitStatus::Success
        };
        // Journaled too: an apply that found nothing to do is part of the audit trail.
        let sink = held.record(
            &runtime,
            Box::new(migplan_executor::NullSink),
            &Interrupt::default(),
        )?;
        return Ok(held.finish(&runtime, sink, status));
    }
    if matches!(input, Input::PlanFile(_)) && !args.auto_approve {
        let approved = confirm();
        if !matches!(approved, Ok(true)) {
            runtime.block_on(conn.close());
            return Err(approved
                .kind(ErrorKind::NeedsApproval)
                .err()
                .unwrap_or_else(|| {
                    Failure::plain(
                        ErrorKind::Cancelled,
                        ExitStatus::Error,
                        "apply cancelled: the answer was not 'yes'; nothing was applied".into(),
                    )
                    .into()
                }));
        }
    }

    let options = ApplyOptions {
        parallelism: args.parallelism as usize,
        wait_timeout: args.wait_timeout,
        poll_interval,
        fail_fast: args.fail_fast,
        requests_per_second: args.rate_limit,
        loopback_only: args.connect.local,
        time_scale: conn.time_scale,
        ..ApplyOptions::default()
    };
    let secrets: SecretSource = Arc::new(|name: &str| std::env::var(name).ok());
    let sink: Box<dyn EventSink> = if json {
        Box::new(JsonSink)
    } else {
        match render::terminal_display() {
            render::Display::Bars { color } => Box::new(BarSink::stderr(&plan, &snapshot, color)),
            render::Display::Lines => Box::new(LineSink::default()),
        }
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
    let sink = held.record(&runtime, sink, &interrupt)?;
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
    if args.timings {
        print_timings(started, &conn.cloud.stats(), &summary);
    }
    runtime.block_on(conn.close());
    if !json && plan.is_blocked() {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Blocked (not attempted; see the plan above):").into_diagnostic()?;
        for r in plan.resources.iter().filter(|r| r.is_blocked()) {
            for b in &r.blocked {
                writeln!(out, "  ! {}: {}", r.addr, b.message).into_diagnostic()?;
            }
        }
    }
    let status = match summary.status {
        RunStatus::Complete if plan.is_blocked() => ExitStatus::Blocked,
        // A window closed before an irreversible step could start: a person (or the
        // next opening) must act, as for a block.
        RunStatus::Held => ExitStatus::Blocked,
        RunStatus::Complete => ExitStatus::Success,
        RunStatus::Failed | RunStatus::Interrupted => ExitStatus::Error,
        // Still moving: the next run continues, even if something else is blocked (that
        // run ends with 3 once only the blocked part remains).
        RunStatus::TimedOut => ExitStatus::InProgress,
    };
    Ok(held.finish(&runtime, sink, status))
}

/// `--timings`: one JSON line on stderr, `timings: {"total_ms", "apply_ms", "api_calls":
/// {route: requests}, "rates": [per service: requests, throttled, rate, peak_rate, min_rate,
/// ceiling]}`.
fn print_timings(
    started: std::time::Instant,
    stats: &migplan_cloud::ApiStats,
    summary: &migplan_executor::Summary,
) {
    let ms = |secs: f64| (secs * 1e4).round() / 10.0;
    let calls: std::collections::BTreeMap<&str, u64> = stats
        .routes
        .iter()
        .map(|(route, s)| (route.as_str(), s.requests))
        .collect();
    let line = serde_json::json!({
        "total_ms": ms(started.elapsed().as_secs_f64()),
        "apply_ms": ms(summary.elapsed_seconds),
        "api_calls": calls,
        "rates": summary.rates,
    });
    stderr_line(&format!("timings: {line}"));
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
        .filter(|st| st.kind.spec().sends_secrets())
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
