//! [`BarSink`]: `migplan apply` on a terminal. One bar per resource with a step in flight
//! (percent, speed, ETA from the API); when the step ends its bar becomes a permanent `✓` (or
//! `✗`) line with the time it took, so what finished stays on screen, in order, and bars are
//! only for what still moves. Bars
//! never wrap (the message is cut to the terminal's width) and never outnumber the terminal's
//! rows: the rest are counted in one `… and N more` line. Nothing is erased at the end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use migplan_executor::{Event, EventSink};

use super::events::{out_line, progress_text, summary_text};
use crate::untrusted::escape_controls;

/// Width of the resource column; longer addresses are cut with `…`.
const PREFIX_CHARS: usize = 28;

struct Bars {
    mp: MultiProgress,
    /// Visible bars by resource.
    bars: HashMap<String, ProgressBar>,
    /// The label of each resource's step in flight (for its `✓` line).
    labels: HashMap<String, String>,
    /// Resources with something in progress that have no bar (the terminal is full).
    hidden: std::collections::BTreeSet<String>,
    /// The `… and N more` line, while there are hidden resources.
    more: Option<ProgressBar>,
    /// Bars at most.
    max_bars: usize,
}

/// A terminal: bars on stderr, permanent lines above them, the summary on stdout.
pub struct BarSink {
    bars: Mutex<Bars>,
    style: ProgressStyle,
}

/// Bars that fit: the terminal's rows less room for the header, the `more` line and the
/// cursor; at least 3.
fn rows_for_bars() -> usize {
    let (rows, _) = console::Term::stderr().size();
    usize::from(rows).saturating_sub(4).max(3)
}

fn prefix(resource: &str) -> String {
    if resource.chars().count() <= PREFIX_CHARS {
        resource.to_string()
    } else {
        let head: String = resource.chars().take(PREFIX_CHARS - 1).collect();
        format!("{head}…")
    }
}

impl BarSink {
    /// Bars drawn on stderr; `hidden` draws nothing (tests), with room for `max_bars` bars.
    pub fn new(hidden: bool) -> Self {
        let (target, max_bars) = if hidden {
            (ProgressDrawTarget::hidden(), 5)
        } else {
            (ProgressDrawTarget::stderr(), rows_for_bars())
        };
        // `wide_msg` takes what is left of the line and is cut there: bars never wrap.
        let style = ProgressStyle::with_template(
            "{prefix:<28} [{bar:20.cyan/blue}] {pos:>3}% {elapsed:>5} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        BarSink {
            bars: Mutex::new(Bars {
                mp: MultiProgress::with_draw_target(target),
                bars: HashMap::new(),
                labels: HashMap::new(),
                hidden: std::collections::BTreeSet::new(),
                more: None,
                max_bars,
            }),
            style,
        }
    }

    /// The resource's bar, made when there is room; `None` (and counted) when the terminal
    /// is full.
    fn bar(&self, b: &mut Bars, resource: &str) -> Option<ProgressBar> {
        if let Some(bar) = b.bars.get(resource) {
            return Some(bar.clone());
        }
        if b.bars.len() >= b.max_bars {
            b.hidden.insert(resource.to_string());
            update_more(b);
            return None;
        }
        b.hidden.remove(resource);
        let bar = ProgressBar::new(100);
        let bar = match &b.more {
            Some(more) => b.mp.insert_before(more, bar),
            None => b.mp.add(bar),
        };
        bar.set_style(self.style.clone());
        bar.set_prefix(prefix(resource));
        bar.enable_steady_tick(Duration::from_millis(500));
        b.bars.insert(resource.to_string(), bar.clone());
        update_more(b);
        Some(bar)
    }
}

/// Shows, updates or removes the `… and N more` line.
fn update_more(b: &mut Bars) {
    let n = b.hidden.len();
    match (&b.more, n) {
        (Some(more), 0) => {
            more.finish_and_clear();
            b.mp.remove(more);
            b.more = None;
        }
        (Some(more), n) => more.set_message(format!("… and {n} more in progress")),
        (None, 0) => {}
        (None, n) => {
            let more = b.mp.add(ProgressBar::new_spinner());
            more.set_style(
                ProgressStyle::with_template("{wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            more.set_message(format!("… and {n} more in progress"));
            b.more = Some(more);
        }
    }
}

/// A resource's step ended: its bar becomes a permanent line and makes room.
fn ended(b: &mut Bars, resource: &str, what: &str) {
    let elapsed = b.bars.remove(resource).map(|bar| {
        let e = bar.elapsed().as_secs();
        bar.finish_and_clear();
        b.mp.remove(&bar);
        e
    });
    b.hidden.remove(resource);
    b.labels.remove(resource);
    update_more(b);
    let took = elapsed.map_or(String::new(), |s| {
        format!(
            " ({})",
            super::events::fmt_secs(i64::try_from(s).unwrap_or(i64::MAX))
        )
    });
    let _ = b.mp.println(format!("{what}{took}"));
}

impl EventSink for BarSink {
    fn on_event(&self, event: &Event) {
        let Ok(mut b) = self.bars.lock() else {
            return;
        };
        let b = &mut *b;
        let key = |step: &str, resource: &Option<String>| {
            resource.clone().unwrap_or_else(|| step.to_string())
        };
        match event {
            Event::ApplyStart {
                plan,
                steps,
                parallelism,
                ..
            } => {
                let _ = b.mp.println(format!(
                    "Applying {plan}: {steps} steps, parallelism {parallelism} (Ctrl-C stops after in-flight calls)"
                ));
            }
            Event::StepStarted {
                step,
                resource,
                label,
                symbol,
            } => {
                let resource = key(step, resource);
                b.labels.insert(resource.clone(), label.clone());
                if let Some(bar) = self.bar(b, &resource) {
                    bar.set_message(format!("{symbol} {label}"));
                }
            }
            Event::StepWaiting {
                step,
                resource,
                until,
            } => {
                if let Some(bar) = self.bar(b, &key(step, resource)) {
                    bar.set_message(format!("… waiting for {}", escape_controls(until)));
                }
            }
            Event::StepProgress {
                step,
                resource,
                progress,
            } => {
                if let Some(bar) = self.bar(b, &key(step, resource)) {
                    if let Some(p) = progress.percent {
                        bar.set_position(u64::from(p));
                    }
                    bar.set_message(escape_controls(&progress_text(progress)).into_owned());
                }
            }
            Event::StepCompleted { step, resource, .. } => {
                let resource = key(step, resource);
                let what = match step.rsplit_once("#wait.") {
                    Some((_, stage)) => format!("✓ {resource}: {stage} reached"),
                    None => {
                        let label = b.labels.get(&resource).cloned().unwrap_or_default();
                        format!("✓ {resource}: {label} done")
                    }
                };
                ended(b, &resource, &what);
            }
            Event::StepFailed {
                step,
                resource,
                error,
            } => {
                let resource = key(step, resource);
                let error = escape_controls(&error.to_string()).into_owned();
                ended(b, &resource, &format!("✗ {step}: {error}"));
            }
            Event::StepSkipped { step, because, .. } => {
                let _ = b.mp.println(format!("- {step} skipped ({because} failed)"));
            }
            Event::ApplySummary(s) => {
                // What still runs stays on screen as it was last seen, timers stopped.
                for bar in b.bars.values() {
                    bar.abandon();
                }
                if let Some(more) = &b.more {
                    more.abandon();
                }
                out_line(&summary_text(s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_executor::event::Progress;

    fn progress(sink: &BarSink, resource: &str, percent: u8) {
        sink.on_event(&Event::StepProgress {
            step: format!("{resource}#wait.replicated"),
            resource: Some(resource.into()),
            progress: Progress {
                state: "RUNNING".into(),
                percent: Some(percent),
                ..Progress::default()
            },
        });
    }

    #[test]
    fn bars_follow_progress_and_an_ended_step_frees_the_row() {
        let sink = BarSink::new(true);
        progress(&sink, "server.a", 40);
        assert_eq!(
            sink.bars
                .lock()
                .expect("lock")
                .bars
                .get("server.a")
                .map(ProgressBar::position),
            Some(40)
        );
        sink.on_event(&Event::StepCompleted {
            step: "server.a#wait.replicated".into(),
            resource: Some("server.a".into()),
            note: None,
            id: None,
        });
        assert!(sink.bars.lock().expect("lock").bars.is_empty());
    }

    #[test]
    fn more_resources_than_rows_are_counted_and_shown_as_rows_free() {
        let sink = BarSink::new(true); // room for 5
        for i in 0..8 {
            progress(&sink, &format!("server.s{i}"), 10);
        }
        {
            let b = sink.bars.lock().expect("lock");
            assert_eq!(b.bars.len(), 5);
            assert_eq!(b.hidden.len(), 3);
            assert!(b.more.is_some());
        }
        // Two finish: two hidden ones get bars on their next event.
        for i in 0..2 {
            sink.on_event(&Event::StepCompleted {
                step: format!("server.s{i}#wait.replicated"),
                resource: Some(format!("server.s{i}")),
                note: None,
                id: None,
            });
        }
        for i in 5..8 {
            progress(&sink, &format!("server.s{i}"), 20);
        }
        let b = sink.bars.lock().expect("lock");
        assert_eq!(b.bars.len(), 5);
        assert_eq!(b.hidden.len(), 1);
    }

    #[test]
    fn long_names_are_cut_to_the_column() {
        let p = prefix("server.a-very-long-server-name-for-the-column");
        assert_eq!(p.chars().count(), PREFIX_CHARS);
        assert!(p.ends_with('…'));
    }
}
