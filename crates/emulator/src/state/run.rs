//! A replication run: an ordered list of subtasks, advanced lazily against the virtual clock.
//!
//! Setup subtasks take fixed virtual durations; the copy subtask (`MIGRATE_*` or `SYNC_*`)
//! moves bytes at the task's effective speed. [`Run::advance`] integrates piecewise from the
//! last anchor, so a speed change applies from the moment it is made (callers advance first).

use migplan_wire::sms::{OsType, SubTask, TaskType};
use serde::{Deserialize, Serialize};

/// The subtask of the consistency check (inferred: the API pages name no such subtask, but
/// `skip` is accepted "while the consistency-check subtask runs").
pub const CHECK_STEP: &str = "CONSISTENCY_CHECK";

/// Bytes per millisecond at 1 Mbit/s.
const BYTES_PER_MS_PER_MBIT: f64 = 125.0;

/// One subtask of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Subtask id.
    pub id: i64,
    /// Name, e.g. `MIGRATE_LINUX_BLOCK`.
    pub name: String,
    /// Work: milliseconds for setup steps, bytes for copy steps.
    pub units: f64,
    /// Whether this step copies bytes at the task speed.
    pub copy: bool,
    /// When it started (virtual ms).
    pub start_ms: Option<i64>,
    /// When it ended (virtual ms).
    pub end_ms: Option<i64>,
    /// The operation that started it: `REPLICATE`, `SYNC` or `RESTART`.
    pub user_op: String,
    /// Ended by `skip` rather than by finishing its work (the consistency check only).
    #[serde(default)]
    pub skipped: bool,
}

/// Kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunKind {
    /// The first full copy.
    Full,
    /// An incremental sync round.
    Sync,
}

/// Where a run stands after advancing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Still going (or paused).
    Running,
    /// Finished at this virtual time.
    Done(i64),
    /// Failed at this virtual time.
    Failed(i64),
}

/// A run in progress or finished.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// Full copy or sync round.
    pub kind: RunKind,
    /// The subtasks.
    pub steps: Vec<Step>,
    /// Index of the current step (`steps.len()` when done).
    pub current: usize,
    /// Work done in the current step.
    pub done_units: f64,
    /// Virtual time up to which the run has been integrated.
    pub anchor_ms: i64,
    /// Paused (stopped task): time passes without progress.
    pub paused: bool,
    /// Fail when reaching this fraction of this step.
    pub fail_at: Option<(usize, f64)>,
    /// Set once the run has failed.
    pub failed: bool,
}

fn step(id: i64, name: &str, units: f64, copy: bool, user_op: &str) -> Step {
    Step {
        id,
        name: name.to_owned(),
        units,
        copy,
        start_ms: None,
        end_ms: None,
        user_op: user_op.to_owned(),
        skipped: false,
    }
}

/// Family suffix of the subtask names: `LINUX_BLOCK`, `LINUX_FILE` or `WINDOWS_BLOCK`.
fn family(os: &OsType, ty: &TaskType) -> (&'static str, &'static str, &'static str) {
    match (os, ty) {
        (OsType::Windows, _) => ("FORMAT_DISK_WINDOWS", "WINDOWS_BLOCK", "CONFIGURE_WINDOWS"),
        (_, TaskType::MigrateFile) => (
            "FORMAT_DISK_LINUX_FILE",
            "LINUX_FILE",
            "CONFIGURE_LINUX_FILE",
        ),
        _ => (
            "FORMAT_DISK_LINUX_BLOCK",
            "LINUX_BLOCK",
            "CONFIGURE_LINUX_BLOCK",
        ),
    }
}

impl Run {
    /// A full copy of `bytes` starting at `now_ms`, started by `user_op` (`REPLICATE`, or
    /// `RESTART` after a failure); `first_id` continues the ids of earlier runs.
    pub fn full(
        os: &OsType,
        ty: &TaskType,
        bytes: i64,
        create_server: bool,
        (user_op, first_id): (&str, i64),
        now_ms: i64,
    ) -> Run {
        let (format, fam, configure) = family(os, ty);
        let mut steps = Vec::new();
        let mut id = first_id;
        let mut push = |name: &str, units: f64, copy: bool| {
            steps.push(step(id, name, units, copy, user_op));
            id += 1;
        };
        if create_server {
            push("CREATE_CLOUD_SERVER", 60_000.0, false);
        }
        push("SSL_CONFIG", 10_000.0, false);
        push("ATTACH_AGENT_IMAGE", 30_000.0, false);
        push(format, 30_000.0, false);
        push(&format!("MIGRATE_{fam}"), bytes.max(1) as f64, true);
        push(configure, 60_000.0, false);
        push("DETTACH_AGENT_IMAGE", 30_000.0, false);
        Run::new(RunKind::Full, steps, now_ms)
    }

    /// An incremental sync round of `bytes` starting at `now_ms`; `first_id` continues the ids.
    pub fn sync(os: &OsType, ty: &TaskType, bytes: i64, first_id: i64, now_ms: i64) -> Run {
        let (_, fam, _) = family(os, ty);
        Run::new(
            RunKind::Sync,
            vec![step(
                first_id,
                &format!("SYNC_{fam}"),
                bytes.max(1) as f64,
                true,
                "SYNC",
            )],
            now_ms,
        )
    }

    fn new(kind: RunKind, steps: Vec<Step>, now_ms: i64) -> Run {
        Run {
            kind,
            steps,
            current: 0,
            done_units: 0.0,
            anchor_ms: now_ms,
            paused: false,
            fail_at: None,
            failed: false,
        }
    }

    /// Arms a failure halfway through the copy step (or now, if past it).
    pub fn arm_failure(&mut self) {
        let copy = self.steps.iter().position(|s| s.copy).unwrap_or(0);
        if copy > self.current || (copy == self.current && self.fraction_of_current() < 0.5) {
            self.fail_at = Some((copy, 0.5));
        } else {
            self.fail_at = Some((
                self.current.min(self.steps.len().saturating_sub(1)),
                self.fraction_of_current(),
            ));
        }
    }

    fn fraction_of_current(&self) -> f64 {
        self.steps.get(self.current).map_or(1.0, |s| {
            if s.units > 0.0 {
                self.done_units / s.units
            } else {
                1.0
            }
        })
    }

    /// True when every step has ended.
    pub fn is_done(&self) -> bool {
        self.current >= self.steps.len()
    }

    /// Integrates the run up to `now_ms` at `speed_mbit` for copy steps.
    pub fn advance(&mut self, now_ms: i64, speed_mbit: f64) -> RunOutcome {
        if self.failed {
            return RunOutcome::Failed(self.anchor_ms);
        }
        if self.paused {
            self.anchor_ms = self.anchor_ms.max(now_ms);
            return RunOutcome::Running;
        }
        let copy_rate = (speed_mbit.max(0.001)) * BYTES_PER_MS_PER_MBIT;
        while let Some(s) = self.steps.get_mut(self.current) {
            if s.start_ms.is_none() {
                s.start_ms = Some(self.anchor_ms);
            }
            let rate = if s.copy { copy_rate } else { 1.0 };
            let fail_here = matches!(self.fail_at, Some((i, _)) if i == self.current);
            let target = match self.fail_at {
                Some((i, f)) if i == self.current => s.units * f.clamp(0.0, 1.0),
                _ => s.units,
            };
            let need_ms = ((target - self.done_units).max(0.0) / rate).ceil() as i64;
            let elapsed = (now_ms - self.anchor_ms).max(0);
            if elapsed < need_ms {
                self.done_units += elapsed as f64 * rate;
                self.anchor_ms = self.anchor_ms.max(now_ms);
                return RunOutcome::Running;
            }
            self.anchor_ms += need_ms;
            self.done_units = target;
            if fail_here {
                self.failed = true;
                self.fail_at = None;
                return RunOutcome::Failed(self.anchor_ms);
            }
            s.end_ms = Some(self.anchor_ms);
            self.current += 1;
            self.done_units = 0.0;
        }
        RunOutcome::Done(self.anchor_ms)
    }

    /// Adds the consistency check (`CONSISTENCY_CHECK`, two virtual minutes) right after the
    /// copy, as a task created with `is_need_consistency_check` runs it.
    pub fn add_consistency_check(&mut self) {
        let Some(copy) = self.steps.iter().position(|s| s.copy) else {
            return;
        };
        let id = self.steps[copy].id + 1;
        for s in &mut self.steps[copy + 1..] {
            s.id += 1;
        }
        let user_op = self.steps[copy].user_op.clone();
        self.steps
            .insert(copy + 1, step(id, CHECK_STEP, 120_000.0, false, &user_op));
    }

    /// Whether the consistency check is the step running now.
    pub fn checking(&self) -> bool {
        !self.failed
            && self
                .steps
                .get(self.current)
                .is_some_and(|s| s.name == CHECK_STEP)
    }

    /// Ends the running consistency check at `now_ms` (`skip`); the run goes on with the next
    /// step. Call [`Run::advance`] up to `now_ms` first.
    pub fn skip_check(&mut self, now_ms: i64) -> bool {
        if !self.checking() {
            return false;
        }
        self.steps[self.current].end_ms = Some(now_ms);
        self.steps[self.current].skipped = true;
        self.current += 1;
        self.done_units = 0.0;
        self.anchor_ms = now_ms;
        true
    }

    /// The consistency checks that finished their work (not skipped): `(subtask id, end)`.
    pub fn finished_checks(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.steps
            .iter()
            .filter(|s| s.name == CHECK_STEP && !s.skipped)
            .filter_map(|s| s.end_ms.map(|end| (s.id, end)))
    }

    /// Pauses or resumes; `now_ms` re-anchors time on resume.
    pub fn set_paused(&mut self, paused: bool, now_ms: i64) {
        self.paused = paused;
        self.anchor_ms = self.anchor_ms.max(now_ms);
    }

    /// Clears a failure so the run can continue from where it stopped.
    pub fn clear_failure(&mut self, now_ms: i64) {
        self.failed = false;
        self.anchor_ms = now_ms;
    }

    /// Whether the run is inside a copy step now.
    pub fn copying(&self) -> bool {
        !self.paused && !self.failed && self.steps.get(self.current).is_some_and(|s| s.copy)
    }

    /// Bytes copied and total bytes of the copy step.
    pub fn copy_progress(&self) -> (i64, i64) {
        let Some(i) = self.steps.iter().position(|s| s.copy) else {
            return (0, 0);
        };
        let total = self.steps[i].units as i64;
        let done = if self.current > i {
            total
        } else if self.current == i {
            self.done_units as i64
        } else {
            0
        };
        (done, total)
    }

    /// Virtual milliseconds left at `speed_mbit`.
    pub fn remaining_ms(&self, speed_mbit: f64) -> i64 {
        let copy_rate = speed_mbit.max(0.001) * BYTES_PER_MS_PER_MBIT;
        let mut ms = 0.0;
        for (i, s) in self.steps.iter().enumerate().skip(self.current) {
            let left = if i == self.current {
                s.units - self.done_units
            } else {
                s.units
            };
            ms += left.max(0.0) / if s.copy { copy_rate } else { 1.0 };
        }
        ms.ceil() as i64
    }

    /// The steps as wire subtasks.
    pub fn subtasks(&self, speed_mbit: f64) -> Vec<SubTask> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let progress = if s.end_ms.is_some() {
                    100
                } else if i == self.current && s.units > 0.0 {
                    ((self.done_units / s.units) * 100.0)
                        .floor()
                        .clamp(0.0, 99.0) as i32
                } else {
                    0
                };
                SubTask {
                    id: s.id,
                    name: s.name.clone(),
                    progress,
                    start_date: s.start_ms,
                    end_date: s.end_ms,
                    migrate_speed: (s.copy && i == self.current && self.copying())
                        .then_some(speed_mbit),
                    user_op: Some(s.user_op.clone()),
                    process_trace: None,
                }
            })
            .collect()
    }

    /// The current step's name and progress, as `subtask_info` text.
    pub fn info(&self) -> String {
        match self.steps.get(self.current) {
            Some(s) => format!(
                "{}:{}%",
                s.name,
                ((self.done_units / s.units.max(1.0)) * 100.0).floor() as i64
            ),
            None => String::new(),
        }
    }

    /// The next free subtask id.
    pub fn next_id(&self) -> i64 {
        self.steps.iter().map(|s| s.id).max().unwrap_or(0) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: i64 = 1 << 30;

    #[test]
    fn full_run_takes_setup_plus_copy_time() {
        let mut r = Run::full(
            &OsType::Linux,
            &TaskType::MigrateBlock,
            GIB,
            true,
            ("REPLICATE", 1),
            0,
        );
        // 1 GiB at 100 Mbit/s = 1073741824 / 12500 bytes per ms = 85899.35 ms.
        let setup = 60_000 + 10_000 + 30_000 + 30_000;
        assert_eq!(r.advance(setup, 100.0), RunOutcome::Running);
        assert_eq!(r.current, 4);
        let total = r.remaining_ms(100.0) + setup;
        assert_eq!(r.advance(total - 1, 100.0), RunOutcome::Running);
        assert_eq!(r.advance(total + 10, 100.0), RunOutcome::Done(total));
        assert!(
            r.subtasks(100.0)
                .iter()
                .all(|s| s.progress == 100 && s.end_date.is_some())
        );
    }

    #[test]
    fn speed_changes_apply_from_the_moment_of_change() {
        let mut r = Run::sync(&OsType::Linux, &TaskType::MigrateBlock, 125_000, 1, 0); // 1000 ms at 1 Mbit/s
        assert_eq!(r.advance(500, 1.0), RunOutcome::Running);
        assert_eq!(r.copy_progress(), (62_500, 125_000));
        // Ten times faster for the remaining half: 50 ms more.
        assert_eq!(r.advance(550, 10.0), RunOutcome::Done(550));
    }

    #[test]
    fn paused_runs_do_not_progress_and_resume_where_they_were() {
        let mut r = Run::sync(&OsType::Linux, &TaskType::MigrateBlock, 125_000, 1, 0);
        r.advance(400, 1.0);
        r.set_paused(true, 400);
        r.advance(10_000, 1.0);
        assert_eq!(r.copy_progress().0, 50_000);
        r.set_paused(false, 10_000);
        assert_eq!(r.advance(10_600, 1.0), RunOutcome::Done(10_600));
    }

    #[test]
    fn armed_failure_fails_halfway_through_the_copy() {
        let mut r = Run::full(
            &OsType::Windows,
            &TaskType::MigrateBlock,
            GIB,
            false,
            ("REPLICATE", 1),
            0,
        );
        r.arm_failure();
        match r.advance(i64::MAX / 4, 100.0) {
            RunOutcome::Failed(at) => {
                let (done, total) = r.copy_progress();
                assert_eq!(done * 2, total);
                assert!(at > 0);
            }
            other => panic!("expected failure, got {other:?}"),
        }
        assert!(r.steps.iter().any(|s| s.name == "MIGRATE_WINDOWS_BLOCK"));
        assert!(r.steps.iter().all(|s| s.name != "CREATE_CLOUD_SERVER"));
    }

    #[test]
    fn only_checks_that_did_their_work_count_as_finished() {
        let full = |now| {
            let mut r = Run::full(
                &OsType::Linux,
                &TaskType::MigrateFile,
                GIB,
                false,
                ("REPLICATE", 1),
                now,
            );
            r.add_consistency_check();
            r
        };
        let mut done = full(0);
        assert_eq!(done.finished_checks().count(), 0);
        let end = match done.advance(i64::MAX / 4, 100.0) {
            RunOutcome::Done(end) => end,
            other => panic!("expected the run to finish, got {other:?}"),
        };
        let checks: Vec<_> = done.finished_checks().collect();
        let check = done.steps.iter().find(|s| s.name == CHECK_STEP).unwrap();
        assert_eq!(checks, vec![(check.id, check.end_ms.unwrap())]);
        assert!(check.end_ms.unwrap() < end);

        let mut skipped = full(0);
        while !skipped.checking() {
            assert_eq!(
                skipped.advance(skipped.anchor_ms + 1_000, 100.0),
                RunOutcome::Running
            );
        }
        let now = skipped.anchor_ms;
        assert!(skipped.skip_check(now));
        skipped.advance(i64::MAX / 4, 100.0);
        assert!(skipped.is_done());
        assert_eq!(skipped.finished_checks().count(), 0);
    }
}
