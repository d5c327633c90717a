//! The forecast in words, shared by the human and markdown plan views and `status`: the
//! finish, the critical path, queue places, and where a `--wait-timeout` detaches. Reads only
//! the plan's `forecast` and its resources' `eta_seconds` / `queue` (the executor's
//! simulation, attached by the CLI).

use migplan_planner::{CriticalStep, Forecast, QueuePlace, ResourcePlan};

/// At most this many resources of the critical path are named (the first and last ones).
const PATH_SHOWN: usize = 6;

/// `45s`, `12m`, `1h20m`, `2d3h`: a forecast's precision, not a stopwatch's.
pub fn duration_text(secs: u64) -> String {
    match (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// `queued #12 for the SMS quota, expected start +40m`.
pub fn queue_text(q: &QueuePlace) -> String {
    if q.expected_start_seconds >= u64::MAX / 1000 {
        return format!(
            "queued #{} for the SMS quota, no start in sight (the quota is held by migrations that do not end)",
            q.place
        );
    }
    format!(
        "queued #{} for the SMS quota, expected start +{}",
        q.place,
        duration_text(q.expected_start_seconds)
    )
}

/// What the forecast says of one resource: its queue place and when it is done.
pub fn resource_text(r: &ResourcePlan) -> Option<String> {
    let done = r.eta_seconds.map(|e| format!("done +{}", duration_text(e)));
    match (r.queue.as_ref().map(queue_text), done) {
        (Some(q), Some(d)) => Some(format!("{q}; {d}")),
        (Some(q), None) => Some(q),
        (None, Some(d)) => Some(format!("expected {d}")),
        (None, None) => None,
    }
}

/// `Forecast: apply ends in ~2h14m (at 2026-12-05T14:20:00Z); 40 copies queued for the SMS
/// quota (20 at once, 3 running elsewhere).`
pub fn forecast_line(f: &Forecast) -> String {
    let mut line = match f.makespan_seconds {
        Some(m) => format!("Forecast: apply ends in ~{}", duration_text(m)),
        None => "Forecast: apply cannot end on its own: the SMS quota is held by migrations that do not end".into(),
    };
    if let Some(at) = &f.finish_at {
        line.push_str(&format!(" (at {at})"));
    }
    if f.queued > 0 {
        let copies = if f.queued == 1 {
            "copy waits"
        } else {
            "copies wait"
        };
        line.push_str(&format!("; {} {copies} for the SMS quota", f.queued));
        if let Some(q) = &f.assumptions.quota {
            line.push_str(&format!(" ({} at once", q.sms_concurrent_migrations));
            if q.sms_running_elsewhere > 0 {
                line.push_str(&format!(", {} running elsewhere", q.sms_running_elsewhere));
            }
            line.push(')');
        }
    }
    line.push('.');
    line
}

/// The resource of a step id (`server.db-01#start` → `server.db-01`) and what it does there.
fn split(c: &CriticalStep) -> (&str, String) {
    let (res, kind) = c.step.0.split_once('#').unwrap_or((&c.step.0, ""));
    let what = kind
        .strip_prefix("wait.")
        .map_or_else(|| kind.to_string(), |stage| format!("{stage} reached"));
    (res, what)
}

/// `server.db-01 (create, start, replicated reached) → [quota] server.app-07 (start, …)`:
/// the critical path by resource, the first and last few when it is long.
pub fn critical_path_text(f: &Forecast) -> Option<String> {
    if f.critical_path.is_empty() {
        return None;
    }
    // Consecutive steps of one resource are one group; a group starts with what it waited for.
    let mut groups: Vec<(Option<String>, String, Vec<String>)> = Vec::new();
    for c in &f.critical_path {
        let (res, what) = split(c);
        match groups.last_mut() {
            Some((_, r, whats)) if r == res && c.waited_for.is_none() => whats.push(what),
            _ => groups.push((c.waited_for.clone(), res.to_string(), vec![what])),
        }
    }
    let shown = |g: &(Option<String>, String, Vec<String>)| {
        let wait = g.0.as_ref().map(|w| format!("[{w}] ")).unwrap_or_default();
        format!("{wait}{} ({})", g.1, g.2.join(", "))
    };
    let text = if groups.len() > PATH_SHOWN {
        let head: Vec<String> = groups[..PATH_SHOWN / 2].iter().map(shown).collect();
        let tail: Vec<String> = groups[groups.len() - PATH_SHOWN / 2..]
            .iter()
            .map(shown)
            .collect();
        format!(
            "{} → … {} more … → {}",
            head.join(" → "),
            groups.len() - PATH_SHOWN,
            tail.join(" → ")
        )
    } else {
        groups.iter().map(shown).collect::<Vec<_>>().join(" → ")
    };
    Some(format!("Critical path: {text}"))
}

/// Where `--wait-timeout` makes apply detach, and that the next run continues.
pub fn detach_lines(f: &Forecast) -> Vec<String> {
    let Some(d) = &f.detach else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let running: Vec<&str> = d.in_progress.iter().map(|s| s.0.as_str()).collect();
    let named = match running.len() {
        0 => "between steps".to_string(),
        1..=3 => format!("while {} runs", running.join(", ")),
        n => format!(
            "while {} and {} more steps run",
            running[..3].join(", "),
            n - 3
        ),
    };
    lines.push(if d.job_limit {
        format!(
            "The CI job's timeout (CI_JOB_TIMEOUT, {}) ends apply at +{} {named}: pass --wait-timeout below it, so apply detaches cleanly (exit 5) and the next run continues (about {} runs in all).",
            duration_text(d.at_seconds),
            duration_text(d.at_seconds),
            d.runs
        )
    } else {
        format!(
            "With --wait-timeout {}, apply detaches at +{} {named}; the cloud goes on, and the next apply continues where it left (about {} runs in all).",
            duration_text(d.at_seconds),
            duration_text(d.at_seconds),
            d.runs
        )
    });
    if !d.longer_than_timeout.is_empty() {
        let longer: Vec<&str> = d
            .longer_than_timeout
            .iter()
            .take(3)
            .map(|s| s.0.as_str())
            .collect();
        let more = d.longer_than_timeout.len().saturating_sub(3);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        lines.push(format!(
            "{}{more} take longer than the timeout on their own: no single run sees them end.",
            longer.join(", ")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_planner::{Assumptions, Detach, QuotaPlan, StepId};

    fn step(id: &str, waited: Option<&str>) -> CriticalStep {
        CriticalStep {
            step: StepId(id.into()),
            label: String::new(),
            start_seconds: 0,
            end_seconds: 0,
            waited_for: waited.map(Into::into),
        }
    }

    fn forecast() -> Forecast {
        Forecast {
            makespan_seconds: Some(8040),
            finish_at: Some("2026-12-05T14:20:00Z".into()),
            critical_path: vec![
                step("server.db-01#create", None),
                step("server.db-01#start", None),
                step("server.db-01#wait.replicated", None),
                step("server.app-07#start", Some("quota")),
                step("server.app-07#wait.replicated", None),
            ],
            queued: 40,
            assumptions: Assumptions {
                parallelism: 100,
                requests_per_second: Some(20.0),
                poll_interval_seconds: 10.0,
                quota: Some(QuotaPlan {
                    sms_concurrent_migrations: 20,
                    sms_running_elsewhere: 3,
                }),
            },
            detach: None,
        }
    }

    #[test]
    fn durations_are_rounded_to_a_forecasts_precision() {
        assert_eq!(duration_text(45), "45s");
        assert_eq!(duration_text(600), "10m");
        assert_eq!(duration_text(3600), "1h");
        assert_eq!(duration_text(8040), "2h14m");
        assert_eq!(duration_text(2 * 86_400 + 3 * 3600 + 5), "2d3h");
    }

    #[test]
    fn the_forecast_line_names_the_end_and_the_queue() {
        assert_eq!(
            forecast_line(&forecast()),
            "Forecast: apply ends in ~2h14m (at 2026-12-05T14:20:00Z); 40 copies wait for the SMS quota (20 at once, 3 running elsewhere)."
        );
    }

    #[test]
    fn the_critical_path_is_grouped_by_resource_and_says_what_it_waited_for() {
        assert_eq!(
            critical_path_text(&forecast()).as_deref(),
            Some(
                "Critical path: server.db-01 (create, start, replicated reached) → [quota] server.app-07 (start, replicated reached)"
            )
        );
    }

    #[test]
    fn a_ci_job_limit_says_the_job_ends_there_and_how_to_detach_cleanly() {
        let mut f = forecast();
        f.detach = Some(Detach {
            at_seconds: 3600,
            in_progress: vec![],
            longer_than_timeout: vec![],
            runs: 2,
            job_limit: true,
        });
        assert_eq!(
            detach_lines(&f),
            [
                "The CI job's timeout (CI_JOB_TIMEOUT, 1h) ends apply at +1h between steps: pass --wait-timeout below it, so apply detaches cleanly (exit 5) and the next run continues (about 2 runs in all)."
            ]
        );
    }

    #[test]
    fn a_detach_says_where_and_that_the_next_run_continues() {
        let mut f = forecast();
        f.detach = Some(Detach {
            at_seconds: 3600,
            in_progress: vec![StepId("server.db-01#wait.replicated".into())],
            longer_than_timeout: vec![StepId("server.db-01#wait.replicated".into())],
            runs: 3,
            job_limit: false,
        });
        let lines = detach_lines(&f);
        assert_eq!(
            lines[0],
            "With --wait-timeout 1h, apply detaches at +1h while server.db-01#wait.replicated runs; the cloud goes on, and the next apply continues where it left (about 3 runs in all)."
        );
        assert!(
            lines[1].contains("no single run sees them end"),
            "{lines:?}"
        );
    }

    #[test]
    fn a_queued_resource_shows_its_place_and_expected_start() {
        let q = QueuePlace {
            place: 12,
            expected_start_seconds: 2400,
        };
        assert_eq!(
            queue_text(&q),
            "queued #12 for the SMS quota, expected start +40m"
        );
    }
}
