//! [`BarSink`]: `migplan apply` on a terminal.
//!
//! The screen has two parts. Above, permanent lines, printed once and never redrawn: each step
//! that ended (`✓`/`✗`, with the time it took; a failure with the resource's task id), and a
//! line per resource that finished all its steps, with its duration and its live task id. Below, a live region redrawn in place: one
//! bar per resource with a step in flight (percent, speed, ETA from the API), a `… and N more`
//! line when they outnumber the terminal's rows, and, pinned at the bottom, one overall line:
//! steps done of total, elapsed time, and the ETA when the API gives one.
//!
//! Every line is cut to the terminal's width, so nothing wraps and redrawing (cursor up, clear,
//! print) always lands where it should. The clock, the width and the output are injected, so
//! the frames are unit-tested with a fake clock and width. `TERM=dumb` never gets here (plain
//! lines instead, see [`super::terminal_display`]); `NO_COLOR` turns colour off.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use migplan_executor::{Event, EventSink};
use migplan_planner::{LiveSnapshot, Plan, StepClass};

use super::events::{fmt_secs, forecast_text, progress_text, summary_text};
use crate::untrusted::escape_controls;

/// Width of the resource column; longer addresses are cut with `…`.
const PREFIX_CHARS: usize = 28;
/// Cells of a bar between its brackets.
const BAR_CELLS: usize = 20;
/// How often the live region is redrawn without events (elapsed times move).
const TICK: Duration = Duration::from_millis(500);

/// Where time comes from (a fake one in tests).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The terminal: its width in columns (read at each draw: it may be resized), its rows,
/// colour, and where the frames go.
pub struct Terminal {
    pub width: Arc<dyn Fn() -> usize + Send + Sync>,
    pub rows: usize,
    pub color: bool,
    pub out: Box<dyn Write + Send>,
}

impl Terminal {
    /// stderr, measured by the OS.
    pub fn stderr(color: bool) -> Terminal {
        let (rows, _) = console::Term::stderr().size();
        Terminal {
            width: Arc::new(|| usize::from(console::Term::stderr().size().1).max(20)),
            rows: usize::from(rows),
            color,
            out: Box::new(std::io::stderr()),
        }
    }
}

/// A resource with a step in flight.
struct Active {
    resource: String,
    /// Since its first step started.
    since: Instant,
    /// What it does now (`> start`, `RUNNING 33% …`).
    message: String,
    percent: Option<u8>,
    /// The API's estimate of the time left, and when it was read.
    eta: Option<(i64, Instant)>,
}

/// What the plan says about each resource, for its final line.
#[derive(Default)]
struct ResourceInfo {
    /// Steps left to finish.
    left: usize,
    /// The stage it is driven to.
    desired: String,
    /// When its first step started.
    since: Option<Instant>,
}

/// Everything the frames are made from.
struct Screen {
    clock: Clock,
    started: Instant,
    plan: String,
    total: usize,
    done: usize,
    failed: usize,
    skipped: usize,
    /// Steps that count toward `total` (wave barriers do not, as in the summary).
    counted: HashSet<String>,
    resources: HashMap<String, ResourceInfo>,
    /// Live ids (SMS task, DCS migration task) by resource, from live state and creates.
    ids: HashMap<String, String>,
    labels: HashMap<String, String>,
    /// When each step in flight started.
    step_since: HashMap<String, Instant>,
    active: Vec<Active>,
    /// Permanent lines not yet printed.
    pending: Vec<String>,
    /// Lines of the live region now on screen.
    drawn: usize,
    finished: bool,
    /// The last forecast: seconds left, copies queued for the quota, and when it came.
    forecast: Option<(Option<u64>, usize, Instant)>,
}

/// One drawing: permanent lines to print above, then the live region.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub permanent: Vec<String>,
    pub live: Vec<String>,
}

/// A terminal: bars and the overall line on stderr, the summary on stdout.
pub struct BarSink {
    screen: Arc<Mutex<Screen>>,
    term: Arc<Mutex<Terminal>>,
    stop: Arc<AtomicBool>,
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let head: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{head}…")
    }
}

fn prefix(resource: &str) -> String {
    cut(resource, PREFIX_CHARS)
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\u{1b}[{code}m{text}\u{1b}[0m")
    } else {
        text.to_string()
    }
}

/// A line cut to the width; its leading symbol (`✓`, `✗`) coloured when colour is on. The
/// colour codes add no width.
fn finish_line(line: &str, width: usize, color: bool) -> String {
    let line = cut(line, width);
    let code = match line.chars().next() {
        Some('✓') => "32",
        Some('✗') => "31",
        _ => return line,
    };
    let (first, rest) = line.split_at(line.chars().next().map_or(0, char::len_utf8));
    format!("{}{rest}", paint(color, code, first))
}

impl Screen {
    fn new(plan: &Plan, live: &LiveSnapshot, clock: Clock) -> Screen {
        let started = clock();
        let mut resources: HashMap<String, ResourceInfo> = HashMap::new();
        let mut counted = HashSet::new();
        for step in &plan.steps {
            if step.class() != StepClass::Barrier {
                counted.insert(step.id.to_string());
            }
            if let Some(r) = &step.resource {
                resources.entry(r.to_string()).or_default().left += 1;
            }
        }
        for r in &plan.resources {
            if let Some(info) = resources.get_mut(&r.addr.to_string()) {
                info.desired = r.desired.to_string();
            }
        }
        let mut ids = HashMap::new();
        for t in &live.tasks {
            ids.entry(format!("server.{}", t.name))
                .or_insert_with(|| t.id.clone());
        }
        for m in &live.migrations {
            ids.entry(format!("redis.{}", m.task_name))
                .or_insert_with(|| m.task_id.clone());
        }
        Screen {
            clock,
            started,
            plan: plan.name.clone(),
            total: counted.len(),
            done: 0,
            failed: 0,
            skipped: 0,
            counted,
            resources,
            ids,
            labels: HashMap::new(),
            step_since: HashMap::new(),
            active: Vec::new(),
            pending: Vec::new(),
            drawn: 0,
            finished: false,
            forecast: None,
        }
    }

    fn active(&mut self, resource: &str) -> &mut Active {
        let now = (self.clock)();
        let i = match self.active.iter().position(|a| a.resource == resource) {
            Some(i) => i,
            None => {
                self.active.push(Active {
                    resource: resource.to_string(),
                    since: now,
                    message: String::new(),
                    percent: None,
                    eta: None,
                });
                self.active.len() - 1
            }
        };
        &mut self.active[i]
    }

    fn took(&mut self, step: &str) -> String {
        let now = (self.clock)();
        self.step_since
            .remove(step)
            .map(|s| format!(" ({})", fmt_secs(secs(now - s))))
            .unwrap_or_default()
    }

    fn task(&self, resource: &str) -> String {
        self.ids
            .get(resource)
            .map(|id| format!(", task {}", escape_controls(id)))
            .unwrap_or_default()
    }

    /// A step of `resource` ended: one step fewer left; the last one prints the resource's line.
    fn step_ended(&mut self, resource: &str, ok: bool) {
        let now = (self.clock)();
        let Some(info) = self.resources.get_mut(resource) else {
            self.active.retain(|a| a.resource != resource);
            return;
        };
        info.left = info.left.saturating_sub(1);
        let (left, since, desired) = (info.left, info.since, info.desired.clone());
        // Its bar goes; a later step of the same resource makes a new one.
        self.active.retain(|a| a.resource != resource);
        if ok && left == 0 {
            let took = since.map_or(0, |s| secs(now - s));
            let task = self.task(resource);
            self.pending.push(format!(
                "✓ {resource} reached {desired} in {}{task}",
                fmt_secs(took)
            ));
        }
    }

    fn on_event(&mut self, event: &Event) {
        let now = (self.clock)();
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
                self.plan.clone_from(plan);
                self.total = *steps;
                self.started = now;
                self.pending.push(format!(
                    "Applying {plan}: {steps} steps, parallelism {parallelism} (Ctrl-C stops after in-flight calls)"
                ));
            }
            Event::StepStarted {
                step,
                resource,
                label,
                symbol,
            } => {
                let r = key(step, resource);
                self.step_since.insert(step.clone(), now);
                if let Some(info) = self.resources.get_mut(&r) {
                    info.since.get_or_insert(now);
                }
                self.labels.insert(step.clone(), label.clone());
                self.active(&r).message = format!("{symbol} {label}");
            }
            Event::StepWaiting {
                step,
                resource,
                until,
            } => {
                self.active(&key(step, resource)).message =
                    format!("… waiting for {}", escape_controls(until));
            }
            Event::StepProgress {
                step,
                resource,
                progress,
            } => {
                let a = self.active(&key(step, resource));
                if progress.percent.is_some() {
                    a.percent = progress.percent;
                }
                a.eta = progress.eta_seconds.map(|e| (e, now));
                a.message = escape_controls(&progress_text(progress)).into_owned();
            }
            Event::StepCompleted {
                step, resource, id, ..
            } => {
                if self.counted.contains(step) {
                    self.done += 1;
                }
                let r = key(step, resource);
                if let Some(id) = id {
                    self.ids.insert(r.clone(), id.clone());
                }
                let took = self.took(step);
                let what = match step.rsplit_once("#wait.") {
                    Some((_, stage)) => format!("{stage} reached"),
                    None => {
                        let label = self.labels.remove(step).unwrap_or_default();
                        format!("{label} done")
                    }
                };
                self.pending.push(format!("✓ {step}: {what}{took}"));
                self.step_ended(&r, true);
            }
            Event::StepFailed {
                step,
                resource,
                error,
            } => {
                self.failed += 1;
                let r = key(step, resource);
                let took = self.took(step);
                let task = self.task(&r);
                let error = escape_controls(&error.to_string()).into_owned();
                self.pending.push(format!("✗ {step}: {error}{took}{task}"));
                self.step_ended(&r, false);
            }
            Event::StepSkipped { step, because, .. } => {
                self.skipped += 1;
                self.pending
                    .push(format!("- {step} skipped ({because} failed)"));
            }
            Event::StepHeld { step, reason, .. } => {
                self.pending
                    .push(format!("! {step} held: {}", escape_controls(reason)));
            }
            Event::Forecast {
                eta_seconds,
                queued,
            } => self.forecast = Some((*eta_seconds, *queued, now)),
            Event::ApplySummary(_) => self.finished = true,
        }
    }

    /// The overall line: `quickstart: 2/3 steps done · 12s elapsed · ETA 14m38s`.
    fn overall(&self, now: Instant) -> String {
        let mut text = format!("{}: {}/{} steps done", self.plan, self.done, self.total);
        if self.failed > 0 {
            text.push_str(&format!(", {} failed", self.failed));
        }
        if self.skipped > 0 {
            text.push_str(&format!(", {} skipped", self.skipped));
        }
        text.push_str(&format!(
            " · {} elapsed",
            fmt_secs(secs(now - self.started))
        ));
        // The run's forecast, re-estimated from live progress; before the first one, the
        // run ends no sooner than its longest wait the API has an estimate for.
        if let Some((eta, queued, at)) = self.forecast {
            let eta = eta.map(|e| (i64::try_from(e).unwrap_or(i64::MAX) - secs(now - at)).max(0));
            let eta = eta.map(|e| u64::try_from(e).unwrap_or(0));
            text.push_str(&format!(" · {}", forecast_text(eta, queued)));
            return text;
        }
        let eta = self
            .active
            .iter()
            .filter_map(|a| a.eta.map(|(e, at)| e - secs(now - at)))
            .max();
        if let Some(e) = eta {
            text.push_str(&format!(" · ETA {}", fmt_secs(e)));
        }
        text
    }

    fn bar_line(&self, a: &Active, now: Instant, color: bool, width: usize) -> String {
        let filled = usize::from(a.percent.unwrap_or(0).min(100)) * BAR_CELLS / 100;
        let bar = format!(
            "{}{}{}",
            "=".repeat(filled),
            if filled < BAR_CELLS && filled > 0 {
                ">"
            } else {
                ""
            },
            " ".repeat(BAR_CELLS - filled - usize::from(filled < BAR_CELLS && filled > 0))
        );
        let pct = a.percent.map_or("   ".to_string(), |p| format!("{p:>3}"));
        let head = format!(
            "{:<PREFIX_CHARS$} [{bar}] {pct}% {:>5} ",
            prefix(&a.resource),
            fmt_secs(secs(now - a.since))
        );
        let line = cut(&format!("{head}{}", a.message), width);
        if !color || line.chars().count() < head.chars().count() {
            return line;
        }
        // Colour only the bar's cells, which are inside the line as cut.
        let (before, after) = line.split_at(line.find('[').map_or(0, |i| i + 1));
        let (cells, rest) = after.split_at(bar.len().min(after.len()));
        format!("{before}{}{rest}", paint(true, "36", cells))
    }

    /// The next frame, at `now`, for a terminal `width` columns wide with `rows` rows.
    fn frame(&mut self, now: Instant, width: usize, rows: usize, color: bool) -> Frame {
        let permanent = self
            .pending
            .drain(..)
            .map(|l| finish_line(&l, width, color))
            .collect();
        let mut live = Vec::new();
        // Room for the bars: the rows less the `more` line, the overall line and the cursor.
        let room = rows.saturating_sub(3).max(1);
        let shown = self.active.len().min(room);
        for a in &self.active[..shown] {
            live.push(self.bar_line(a, now, color, width));
        }
        if self.active.len() > shown {
            live.push(cut(
                &format!("… and {} more in progress", self.active.len() - shown),
                width,
            ));
        }
        live.push(paint(color, "1", &cut(&self.overall(now), width)));
        Frame { permanent, live }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Writes a frame over the previous live region: up to its first line, clear to the end of
/// the screen, permanent lines, then the live region (which the next frame replaces).
fn draw(out: &mut dyn Write, previous_live: usize, frame: &Frame) -> std::io::Result<()> {
    let mut buf = String::new();
    if previous_live > 0 {
        buf.push_str(&format!("\u{1b}[{previous_live}F"));
    }
    buf.push_str("\u{1b}[J");
    for line in frame.permanent.iter().chain(&frame.live) {
        buf.push_str(line);
        buf.push('\n');
    }
    out.write_all(buf.as_bytes())?;
    out.flush()
}

impl BarSink {
    /// Bars for `plan` (its resources, their desired stages; ids from `live`) on `term`,
    /// timed by `clock`. A background tick redraws the elapsed times until the summary.
    pub fn new(plan: &Plan, live: &LiveSnapshot, term: Terminal, clock: Clock) -> Self {
        let sink = BarSink {
            screen: Arc::new(Mutex::new(Screen::new(plan, live, clock))),
            term: Arc::new(Mutex::new(term)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (screen, term, stop) = (
            Arc::downgrade(&sink.screen),
            Arc::downgrade(&sink.term),
            sink.stop.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                let (Some(screen), Some(term)) = (screen.upgrade(), term.upgrade()) else {
                    return;
                };
                redraw(&screen, &term);
            }
        });
        sink
    }

    /// On stderr, with the real clock.
    pub fn stderr(plan: &Plan, live: &LiveSnapshot, color: bool) -> Self {
        BarSink::new(plan, live, Terminal::stderr(color), Arc::new(Instant::now))
    }
}

impl Drop for BarSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn redraw(screen: &Mutex<Screen>, term: &Mutex<Terminal>) {
    let (Ok(mut s), Ok(mut t)) = (screen.lock(), term.lock()) else {
        return;
    };
    if s.finished && s.drawn == 0 && s.pending.is_empty() {
        return;
    }
    let now = (s.clock)();
    let width = (t.width)();
    let (rows, color) = (t.rows, t.color);
    let frame = s.frame(now, width, rows, color);
    let _ = draw(&mut t.out, s.drawn, &frame);
    s.drawn = frame.live.len();
    if s.finished {
        // The last frame stays as it is; nothing is redrawn over it.
        s.drawn = 0;
    }
}

impl EventSink for BarSink {
    fn on_event(&self, event: &Event) {
        if let Ok(mut s) = self.screen.lock() {
            s.on_event(event);
        }
        redraw(&self.screen, &self.term);
        if let Event::ApplySummary(summary) = event {
            self.stop.store(true, Ordering::Relaxed);
            super::events::out_line(&summary_text(summary));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::ready_plan_of;
    use migplan_executor::event::{Progress, StepError};

    /// A clock the test moves by hand.
    #[derive(Clone)]
    struct FakeClock(Arc<Mutex<Instant>>);

    impl FakeClock {
        fn new() -> Self {
            FakeClock(Arc::new(Mutex::new(Instant::now())))
        }
        fn clock(&self) -> Clock {
            let t = self.0.clone();
            Arc::new(move || *t.lock().expect("clock"))
        }
        fn advance(&self, secs: u64) {
            *self.0.lock().expect("clock") += Duration::from_secs(secs);
        }
    }

    /// Everything written to the terminal.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("out").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    const PLAN: &str = "servers:\n  - {name: app-01, source: app-01, type: MIGRATE_BLOCK, os_type: LINUX, target: {template: tpl}, stage: replicated}\n  - {name: app-02, source: app-02, type: MIGRATE_BLOCK, os_type: LINUX, target: {template: tpl}, stage: replicated}\n";

    fn screen(clock: &FakeClock) -> Screen {
        Screen::new(
            &ready_plan_of(PLAN),
            &LiveSnapshot::default(),
            clock.clock(),
        )
    }

    fn started(s: &mut Screen, resource: &str, step: &str, label: &str) {
        s.on_event(&Event::StepStarted {
            step: format!("{resource}#{step}"),
            resource: Some(resource.into()),
            label: label.into(),
            symbol: "+".into(),
        });
    }

    fn completed(s: &mut Screen, resource: &str, step: &str, id: Option<&str>) {
        s.on_event(&Event::StepCompleted {
            step: format!("{resource}#{step}"),
            resource: Some(resource.into()),
            note: None,
            id: id.map(Into::into),
        });
    }

    fn progress(s: &mut Screen, resource: &str, percent: u8, eta: Option<i64>) {
        s.on_event(&Event::StepProgress {
            step: format!("{resource}#wait.replicated"),
            resource: Some(resource.into()),
            progress: Progress {
                state: "RUNNING".into(),
                percent: Some(percent),
                eta_seconds: eta,
                ..Progress::default()
            },
        });
    }

    /// Runs app-01's three steps (create, start, wait) over 2 + 1 + 90 fake seconds.
    fn run_app_01(s: &mut Screen, clock: &FakeClock) {
        started(s, "server.app-01", "create", "create SMS task");
        clock.advance(2);
        completed(
            s,
            "server.app-01",
            "create",
            Some("d2b17fc6-0000-4000-8000-000000000001"),
        );
        started(s, "server.app-01", "start", "start");
        clock.advance(1);
        completed(s, "server.app-01", "start", None);
        started(
            s,
            "server.app-01",
            "wait.replicated",
            "wait for MIGRATE_SUCCESS",
        );
        progress(s, "server.app-01", 40, Some(600));
        clock.advance(90);
        completed(s, "server.app-01", "wait.replicated", None);
    }

    #[test]
    fn the_overall_line_is_pinned_last_with_done_total_elapsed_and_eta() {
        let clock = FakeClock::new();
        let mut s = screen(&clock);
        s.on_event(&Event::ApplyStart {
            plan: "t".into(),
            steps: 6,
            resources: 2,
            parallelism: 10,
        });
        started(&mut s, "server.app-01", "create", "create SMS task");
        clock.advance(75);
        let f = s.frame(clock.clock()(), 100, 24, false);
        assert_eq!(
            f.live.last().map(String::as_str),
            Some("t: 0/6 steps done · 1m15s elapsed")
        );
        // An ETA appears once the API gives one, and counts down with the clock.
        progress(&mut s, "server.app-01", 40, Some(600));
        clock.advance(60);
        let f = s.frame(clock.clock()(), 100, 24, false);
        assert_eq!(
            f.live.last().map(String::as_str),
            Some("t: 0/6 steps done · 2m15s elapsed · ETA 9m0s")
        );
        assert!(f.live[0].starts_with("server.app-01"), "{f:?}");
        assert!(f.live[0].contains("[========>           ]  40%"), "{f:?}");
    }

    #[test]
    fn the_overall_line_shows_the_re_estimated_end_and_the_quota_queue() {
        let clock = FakeClock::new();
        let mut s = screen(&clock);
        s.on_event(&Event::ApplyStart {
            plan: "t".into(),
            steps: 6,
            resources: 2,
            parallelism: 10,
        });
        progress(&mut s, "server.app-01", 40, Some(60));
        s.on_event(&Event::Forecast {
            eta_seconds: Some(4800),
            queued: 3,
        });
        clock.advance(60);
        let f = s.frame(clock.clock()(), 120, 24, false);
        assert_eq!(
            f.live.last().map(String::as_str),
            Some("t: 0/6 steps done · 1m0s elapsed · ETA 1h19m, 3 copies queued for the SMS quota")
        );
    }

    #[test]
    fn a_finished_resource_leaves_a_line_with_its_duration_and_task_id() {
        let clock = FakeClock::new();
        let mut s = screen(&clock);
        run_app_01(&mut s, &clock);
        let f = s.frame(clock.clock()(), 120, 24, false);
        assert!(
            f.permanent.contains(
                &"✓ server.app-01 reached replicated in 1m33s, task d2b17fc6-0000-4000-8000-000000000001".to_string()
            ),
            "{:#?}",
            f.permanent
        );
        assert!(
            f.permanent.contains(
                &"✓ server.app-01#wait.replicated: replicated reached (1m30s)".to_string()
            ),
            "{:#?}",
            f.permanent
        );
        assert!(
            f.permanent
                .iter()
                .any(|l| l.starts_with("✓ server.app-01#create: create SMS task done (2s)"))
        );
        // Its bar is gone; only the overall line is live, and it counts the three steps.
        assert_eq!(f.live, ["t: 3/6 steps done · 1m33s elapsed"]);
        // Permanent lines are printed once.
        assert!(
            s.frame(clock.clock()(), 120, 24, false)
                .permanent
                .is_empty()
        );
    }

    #[test]
    fn a_task_id_already_live_is_shown_without_a_create() {
        let clock = FakeClock::new();
        let plan = ready_plan_of(PLAN);
        let live = LiveSnapshot {
            tasks: vec![migplan_wire::sms::Task {
                id: "live-task-7".into(),
                name: "app-02".into(),
                ..Default::default()
            }],
            ..LiveSnapshot::default()
        };
        let mut s = Screen::new(&plan, &live, clock.clock());
        started(&mut s, "server.app-02", "start", "start");
        s.on_event(&Event::StepFailed {
            step: "server.app-02#start".into(),
            resource: Some("server.app-02".into()),
            error: StepError::new("refused"),
        });
        let f = s.frame(clock.clock()(), 120, 24, false);
        assert!(
            f.permanent
                .contains(&"✗ server.app-02#start: refused (0s), task live-task-7".to_string()),
            "{:#?}",
            f.permanent
        );
        assert_eq!(f.live, ["t: 0/6 steps done, 1 failed · 0s elapsed"]);
    }

    #[test]
    fn no_line_is_wider_than_the_terminal() {
        let clock = FakeClock::new();
        let mut s = screen(&clock);
        run_app_01(&mut s, &clock);
        started(
            &mut s,
            "server.app-02",
            "wait.replicated",
            "wait for MIGRATE_SUCCESS with a long label",
        );
        progress(&mut s, "server.app-02", 99, Some(123_456));
        for width in [20, 40, 61, 80] {
            let mut again = screen(&clock);
            run_app_01(&mut again, &clock);
            progress(&mut again, "server.app-02", 99, Some(123_456));
            let f = again.frame(clock.clock()(), width, 24, false);
            for line in f.permanent.iter().chain(&f.live) {
                assert!(line.chars().count() <= width, "{width}: {line:?}");
            }
            // Colour adds escape codes, never width.
            let mut coloured = screen(&clock);
            run_app_01(&mut coloured, &clock);
            progress(&mut coloured, "server.app-02", 99, Some(123_456));
            let c = coloured.frame(clock.clock()(), width, 24, true);
            let plain: Vec<String> = c
                .permanent
                .iter()
                .chain(&c.live)
                .map(|l| strip_ansi(l))
                .collect();
            let expected: Vec<String> = f.permanent.iter().chain(&f.live).cloned().collect();
            assert_eq!(plain, expected, "{width}");
        }
    }

    #[test]
    fn more_resources_than_rows_are_counted_in_one_line() {
        let clock = FakeClock::new();
        let mut s = screen(&clock);
        for i in 0..8 {
            progress(&mut s, &format!("server.s{i}"), 10, None);
        }
        let f = s.frame(clock.clock()(), 80, 8, false); // room for 5 bars
        assert_eq!(f.live.len(), 7, "{f:#?}");
        assert_eq!(f.live[5], "… and 3 more in progress");
    }

    #[test]
    fn frames_redraw_in_place_and_the_last_stays() {
        let clock = FakeClock::new();
        let out = Captured::default();
        let term = Terminal {
            width: Arc::new(|| 80),
            rows: 24,
            color: false,
            out: Box::new(out.clone()),
        };
        let sink = BarSink::new(
            &ready_plan_of(PLAN),
            &LiveSnapshot::default(),
            term,
            clock.clock(),
        );
        sink.on_event(&Event::ApplyStart {
            plan: "t".into(),
            steps: 6,
            resources: 2,
            parallelism: 10,
        });
        sink.on_event(&Event::StepStarted {
            step: "server.app-01#create".into(),
            resource: Some("server.app-01".into()),
            label: "create SMS task".into(),
            symbol: "+".into(),
        });
        drop(sink);
        let text = String::from_utf8(out.0.lock().expect("out").clone()).expect("utf-8");
        // First frame: header + overall (1 live line); second: back up over the 1 live line,
        // then a bar and the overall line.
        assert!(text.starts_with("\u{1b}[JApplying t: 6 steps"), "{text:?}");
        assert!(text.contains("\u{1b}[1F\u{1b}[Jserver.app-01"), "{text:?}");
        assert!(
            text.ends_with("t: 0/6 steps done · 0s elapsed\n"),
            "{text:?}"
        );
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn long_names_are_cut_to_the_column() {
        let p = prefix("server.a-very-long-server-name-for-the-column");
        assert_eq!(p.chars().count(), PREFIX_CHARS);
        assert!(p.ends_with('…'));
    }
}
