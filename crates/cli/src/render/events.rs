//! Event sinks for `migplan apply`: the executor pushes [`Event`]s, these render them.
//!
//! - [`BarSink`](super::bars::BarSink): a terminal (in `bars.rs`).
//! - [`LineSink`]: not a terminal (CI logs): one timestamped line per event, progress lines
//!   only when something changed (state, subtask, a 10 % step) or every 30 s per step.
//! - [`JsonSink`]: `--format json`: one JSON object per line, the event plus a `time` field.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use migplan_executor::event::{Progress, RateSummary, RunStatus, Summary};
use migplan_executor::{Event, EventSink};

/// RFC 3339 UTC now, to the second.
pub fn now() -> String {
    let t = time::OffsetDateTime::now_utc();
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn out_line(line: &str) {
    let mut out = std::io::stdout().lock();
    // Error messages come from the API: no raw control characters reach the terminal.
    let _ = writeln!(out, "{}", crate::untrusted::escape_controls(line));
    let _ = out.flush();
}

/// `--format json`: JSON Lines on stdout.
#[derive(Debug, Default)]
pub struct JsonSink;

impl EventSink for JsonSink {
    fn on_event(&self, event: &Event) {
        let mut v = serde_json::to_value(event).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("time".into(), now().into());
        }
        out_line(&v.to_string());
    }
}

/// `12m5s`, `45s`, `2h3m`.
pub fn fmt_secs(s: i64) -> String {
    let s = s.max(0);
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// `RUNNING 45% MIGRATE_BLOCK 95.0 Mbit/s ETA 2m10s`.
pub fn progress_text(p: &Progress) -> String {
    let mut parts = vec![p.state.clone()];
    if let Some(pc) = p.percent {
        parts.push(format!("{pc}%"));
    }
    if let Some(s) = &p.subtask {
        parts.push(s.clone());
    }
    if let Some(v) = p.speed_mbps {
        parts.push(format!("{v:.1} Mbit/s"));
    }
    if let Some(e) = p.eta_seconds {
        parts.push(format!("ETA {}", fmt_secs(e)));
    }
    parts.join(" ")
}

/// One service's request pace, for people: `Requests to SMS: 412, 9 throttled (2.2%); rate
/// 38.0/s (peak 51.0, lowest 10.0, ceiling 100)`; the rate is the one at the end of the run.
pub fn rate_text(r: &RateSummary) -> String {
    let share = if r.requests > 0 {
        100.0 * r.throttled as f64 / r.requests as f64
    } else {
        0.0
    };
    let pace = if r.ceiling > 0.0 {
        format!(
            "rate {:.1}/s (peak {:.1}, lowest {:.1}, ceiling {})",
            r.rate, r.peak_rate, r.min_rate, r.ceiling
        )
    } else {
        "not paced (--rate-limit 0)".to_owned()
    };
    format!(
        "Requests to {}: {}, {} throttled ({share:.1}%); {pace}\n",
        r.service, r.requests, r.throttled
    )
}

/// The summary for people.
pub fn summary_text(s: &Summary) -> String {
    let mut out = String::new();
    let head = match s.status {
        RunStatus::Complete => "Apply complete",
        RunStatus::Failed => "Apply failed",
        RunStatus::TimedOut => "Apply stopped waiting (--wait-timeout); run it again to continue",
        RunStatus::Interrupted => "Apply interrupted",
        RunStatus::Held => {
            "Apply stopped at a gate (a closed maintenance window or unverified data)"
        }
    };
    out.push_str(&format!(
        "\n{head}: {} done, {} failed, {} skipped, {} in progress, {} not started ({} API calls, {:.1}s).\n",
        s.done.len(),
        s.failed.len(),
        s.skipped.len(),
        s.in_progress.len(),
        s.not_started.len(),
        s.api_calls,
        s.elapsed_seconds
    ));
    for r in &s.rates {
        out.push_str(&rate_text(r));
    }
    if !s.failed.is_empty() {
        out.push_str("\nFailed:\n");
        for f in &s.failed {
            out.push_str(&format!(
                "  ✗ {}: {}\n",
                f.step,
                crate::untrusted::escape_controls(&f.error.to_string())
            ));
        }
    }
    if !s.held.is_empty() {
        out.push_str(
            "\nHeld (a gate did not open; apply again when the window opens or the data is fixed):\n",
        );
        for h in &s.held {
            out.push_str(&format!(
                "  ! {}: {}\n",
                h.step,
                crate::untrusted::escape_controls(&h.reason)
            ));
        }
    }
    if !s.skipped.is_empty() {
        out.push_str("\nSkipped (a step they depend on failed):\n");
        let mut by_root: Vec<(&str, Vec<&str>)> = Vec::new();
        for k in &s.skipped {
            match by_root.iter_mut().find(|(r, _)| *r == k.because) {
                Some((_, v)) => v.push(&k.step),
                None => by_root.push((&k.because, vec![&k.step])),
            }
        }
        for (root, steps) in by_root {
            out.push_str(&format!(
                "  - {} (because {root} failed)\n",
                steps.join(", ")
            ));
        }
    }
    if !s.in_progress.is_empty() {
        out.push_str("\nStill in progress (the next apply re-attaches):\n");
        for p in &s.in_progress {
            match &p.progress {
                Some(pr) => out.push_str(&format!("  … {}: {}\n", p.step, progress_text(pr))),
                None => out.push_str(&format!("  … {}\n", p.step)),
            }
        }
    }
    if !s.not_started.is_empty() {
        out.push_str("\nNot started:\n");
        for p in &s.not_started {
            match &p.waiting_on {
                Some(w) => out.push_str(&format!("  - {} (waits for {w})\n", p.step)),
                None => out.push_str(&format!("  - {}\n", p.step)),
            }
        }
    }
    out
}

struct LineState {
    last: HashMap<String, (Instant, String, Option<u8>)>,
    /// The last forecast line: when, and the copies queued then.
    forecast: Option<(Instant, usize)>,
}

/// Not a terminal: timestamped lines on stdout.
pub struct LineSink {
    state: Mutex<LineState>,
    heartbeat: Duration,
}

impl Default for LineSink {
    fn default() -> Self {
        LineSink {
            state: Mutex::new(LineState {
                last: HashMap::new(),
                forecast: None,
            }),
            heartbeat: Duration::from_secs(30),
        }
    }
}

impl LineSink {
    fn line(&self, what: &str, text: &str) {
        out_line(&format!("{} {what:<34} {text}", now()));
    }
}

impl EventSink for LineSink {
    fn on_event(&self, event: &Event) {
        match event {
            Event::ApplyStart {
                plan,
                steps,
                parallelism,
                ..
            } => self.line(
                plan,
                &format!("apply started: {steps} steps, parallelism {parallelism}"),
            ),
            Event::StepStarted {
                step,
                label,
                symbol,
                ..
            } => self.line(step, &format!("{symbol} {label}")),
            Event::StepWaiting { step, until, .. } => {
                self.line(step, &format!("waiting for {until}"))
            }
            Event::StepProgress { step, progress, .. } => {
                let Ok(mut st) = self.state.lock() else {
                    return;
                };
                let key = format!(
                    "{}|{}",
                    progress.state,
                    progress.subtask.as_deref().unwrap_or("")
                );
                let decile = progress.percent.map(|p| p / 10);
                let show = match st.last.get(step) {
                    None => true,
                    Some((at, k, d)) => *k != key || *d != decile || at.elapsed() >= self.heartbeat,
                };
                if show {
                    st.last.insert(step.clone(), (Instant::now(), key, decile));
                    drop(st);
                    self.line(step, &progress_text(progress));
                }
            }
            Event::StepCompleted { step, note, id, .. } => {
                let mut t = "done".to_string();
                if let Some(id) = id {
                    t.push_str(&format!(" (id {id})"));
                }
                if let Some(n) = note {
                    t.push_str(&format!(": {n}"));
                }
                self.line(step, &t);
            }
            Event::StepFailed { step, error, .. } => self.line(step, &format!("FAILED: {error}")),
            Event::StepSkipped { step, because, .. } => {
                self.line(step, &format!("skipped: {because} failed"))
            }
            Event::StepHeld { step, reason, .. } => self.line(
                step,
                &format!("held: {}", crate::untrusted::escape_controls(reason)),
            ),
            Event::Forecast {
                eta_seconds,
                queued,
            } => {
                // A line when the queue moves, else at the heartbeat.
                let Ok(mut st) = self.state.lock() else {
                    return;
                };
                let show = st
                    .forecast
                    .is_none_or(|(at, q)| q != *queued || at.elapsed() >= self.heartbeat);
                if show {
                    st.forecast = Some((Instant::now(), *queued));
                    drop(st);
                    self.line("forecast", &forecast_text(*eta_seconds, *queued));
                }
            }
            Event::ApplySummary(s) => out_line(&summary_text(s)),
        }
    }
}

/// `ETA 1h20m, 12 copies queued for the SMS quota` (the cloud's clock).
pub fn forecast_text(eta_seconds: Option<u64>, queued: usize) -> String {
    let mut t = match eta_seconds {
        Some(e) => format!("ETA {}", fmt_secs(i64::try_from(e).unwrap_or(i64::MAX))),
        None => "no end in sight: the SMS quota is held by migrations that do not end".into(),
    };
    if queued > 0 {
        let copies = if queued == 1 { "copy" } else { "copies" };
        t.push_str(&format!(", {queued} {copies} queued for the SMS quota"));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_executor::event::{FailedStep, SkippedStep, StepError, StepRef};

    #[test]
    fn the_forecast_reads_as_an_eta_and_a_queue() {
        assert_eq!(forecast_text(Some(4800), 0), "ETA 1h20m");
        assert_eq!(
            forecast_text(Some(90), 12),
            "ETA 1m30s, 12 copies queued for the SMS quota"
        );
        assert!(forecast_text(None, 1).starts_with("no end in sight"));
    }

    #[test]
    fn summary_names_failures_with_code_and_groups_skips_by_root() {
        let s = Summary {
            status: RunStatus::Failed,
            done: vec![StepRef {
                step: "server.a#create".into(),
                resource: None,
            }],
            failed: vec![FailedStep {
                step: "server.b#start".into(),
                resource: None,
                error: StepError {
                    code: Some("SMS.1039".into()),
                    message: "only ready or paused tasks can be started".into(),
                    request_id: None,
                },
            }],
            skipped: vec![
                SkippedStep {
                    step: "server.b#wait.replicated".into(),
                    resource: None,
                    because: "server.b#start".into(),
                },
                SkippedStep {
                    step: "server.b#test".into(),
                    resource: None,
                    because: "server.b#start".into(),
                },
            ],
            held: vec![],
            in_progress: vec![],
            not_started: vec![],
            api_calls: 12,
            elapsed_seconds: 1.0,
            rates: vec![RateSummary {
                service: "SMS".into(),
                requests: 40,
                throttled: 2,
                rate: 18.25,
                peak_rate: 31.0,
                min_rate: 10.0,
                ceiling: 100.0,
            }],
        };
        let t = summary_text(&s);
        assert!(
            t.contains("Apply failed: 1 done, 1 failed, 2 skipped"),
            "{t}"
        );
        assert!(t.contains("server.b#start: SMS.1039: only ready"), "{t}");
        assert!(
            t.contains(
                "Requests to SMS: 40, 2 throttled (5.0%); rate 18.2/s (peak 31.0, lowest 10.0, ceiling 100)"
            ),
            "{t}"
        );
        assert!(
            t.contains("server.b#wait.replicated, server.b#test (because server.b#start failed)"),
            "{t}"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_secs(45), "45s");
        assert_eq!(fmt_secs(125), "2m5s");
        assert_eq!(fmt_secs(7380), "2h3m");
    }
}
