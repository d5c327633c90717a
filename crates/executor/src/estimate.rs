//! How long a step is expected to take, in milliseconds of the cloud's clock: the one estimator
//! behind the scheduler's queue order (longest remaining path first) and the forecast
//! ([`crate::forecast`]), at plan time and re-estimated during apply from live progress.
//!
//! - A full copy moves the source's bytes (the sum of its disks' used sizes, when the snapshot
//!   has its disks; else its `totalsize`; else [`DEFAULT_BYTES`]) at the task's speed limit
//!   (else [`LINK_MBIT`]), plus the fixed subtasks around it ([`COPY_FIXED_MS`], with
//!   [`CREATE_SERVER_MS`] when a new ECS is made from a template, and
//!   [`CONSISTENCY_CHECK_MS`] when the task checks consistency).
//! - A sync round moves [`SYNC_FRACTION`] of the copy's bytes.
//! - A copy or round under way: what the service says is left (`remain_seconds`), else the
//!   copy subtask's remaining share at the measured `migrate_speed`.
//! - An action: its call, the fixed time the service takes for it (the kind's
//!   `settle_seconds`), and half a poll interval until a poll sees it done; half a poll more
//!   before it when the resource was written just before (its read must be fresh).
//! - A wait: its work plus half a poll interval.
//!
//! The fixed figures are the SMS subtasks' usual durations (the emulator uses the same).

use migplan_parser::{RedisStage, ResourceKind, ServerSpec, ServerStage, Stage, Target};
use migplan_planner::{Call, LiveIndex, LiveSnapshot, Step, StepClass, StepKind};
use migplan_wire::sms::{SourceServer, Task, TaskState};

use crate::request::SpecIndex;

/// Fixed subtasks of a full copy besides the copy itself: SSL setup 10 s, attaching the agent
/// image 30 s, formatting 30 s, configuring 60 s, detaching 30 s.
pub const COPY_FIXED_MS: u64 = 160_000;
/// Creating the target ECS (a template target, on the first copy).
pub const CREATE_SERVER_MS: u64 = 60_000;
/// The consistency check after the copy (`consistency_check: true`).
pub const CONSISTENCY_CHECK_MS: u64 = 120_000;
/// Bytes assumed when the source does not say.
pub const DEFAULT_BYTES: u64 = 10 << 30;
/// Mbit/s assumed without a speed limit (the link).
pub const LINK_MBIT: f64 = 1000.0;
/// The share of a full copy's bytes one incremental sync round moves.
pub const SYNC_FRACTION: f64 = 0.02;
/// One API call.
pub const CALL_MS: u64 = 200;
/// A DCS full migration of an unknown data size.
pub const REDIS_FULL_MS: u64 = 120_000;
/// A data comparison (1000 samples per database).
pub const CHECK_MS: u64 = 10_000;

/// The estimator over one plan file and one live view.
pub(crate) struct Estimator<'a> {
    spec: &'a SpecIndex,
    live: LiveIndex<'a>,
    /// Half the poll interval: the mean wait for a poll to see a change.
    half_poll_ms: u64,
}

/// Milliseconds to move `bytes` at `mbit` Mbit/s.
fn transfer_ms(bytes: u64, mbit: f64) -> u64 {
    let bytes_per_ms = mbit.max(0.001) * 125.0;
    (bytes as f64 / bytes_per_ms).ceil() as u64
}

/// Bytes a full copy of `src` moves: its disks' used sizes (or sizes) when the snapshot has
/// them, else its `totalsize`.
pub(crate) fn replicate_bytes(src: &SourceServer) -> Option<u64> {
    let used = src.disks.as_ref().filter(|d| !d.is_empty()).map(|disks| {
        disks
            .iter()
            .map(|d| d.used_size.filter(|u| *u > 0).unwrap_or(d.size).max(0))
            .map(|b| u64::try_from(b).unwrap_or(0))
            .fold(0u64, u64::saturating_add)
    });
    used.or_else(|| src.totalsize.and_then(|t| u64::try_from(t).ok()))
        .filter(|b| *b > 0)
}

impl<'a> Estimator<'a> {
    /// An estimator reading `live`, for polls every `poll_ms`.
    pub(crate) fn new(spec: &'a SpecIndex, live: &'a LiveSnapshot, poll_ms: u64) -> Self {
        Estimator {
            spec,
            live: LiveIndex::new(live),
            half_poll_ms: poll_ms / 2,
        }
    }

    fn server(&self, step: &Step) -> Option<&'a ServerSpec> {
        step.resource
            .as_ref()
            .filter(|r| r.kind == ResourceKind::Server)
            .and_then(|r| self.spec.server(&r.name))
    }

    fn task(&self, s: &ServerSpec) -> Option<&'a Task> {
        self.live.task(&s.name).one()
    }

    /// The copy speed of `s`: its limit, else the link.
    fn speed(s: &ServerSpec) -> f64 {
        s.speed_limit
            .filter(|l| *l > 0)
            .map_or(LINK_MBIT, f64::from)
    }

    fn bytes(&self, s: &ServerSpec) -> u64 {
        self.live
            .source(&s.source)
            .one()
            .and_then(replicate_bytes)
            .unwrap_or(DEFAULT_BYTES)
    }

    /// A full copy of `s` from its start.
    pub(crate) fn full_copy_ms(&self, s: &ServerSpec) -> u64 {
        let new_server = matches!(s.target, Target::Template(_))
            && self
                .task(s)
                .and_then(|t| t.target_server.as_ref())
                .and_then(|t| t.vm_id.as_deref())
                .is_none_or(str::is_empty);
        COPY_FIXED_MS
            + if new_server { CREATE_SERVER_MS } else { 0 }
            + if s.consistency_check == Some(true) {
                CONSISTENCY_CHECK_MS
            } else {
                0
            }
            + transfer_ms(self.bytes(s), Self::speed(s))
    }

    /// One incremental sync round of `s`.
    pub(crate) fn sync_round_ms(&self, s: &ServerSpec) -> u64 {
        let bytes = ((self.bytes(s) as f64 * SYNC_FRACTION) as u64).max(1 << 20);
        transfer_ms(bytes, Self::speed(s))
    }

    /// What is left of the copy or sync round `task` runs, from live progress: the service's
    /// `remain_seconds`, else the copy subtask's remaining share at the measured speed.
    pub(crate) fn remaining_ms(&self, task: &Task, s: Option<&ServerSpec>) -> Option<u64> {
        if let Some(r) = task.remain_seconds.and_then(|r| u64::try_from(r).ok()) {
            return Some(r.saturating_mul(1000));
        }
        let syncing = task.state == Some(TaskState::Syncing);
        let copy = task.sub_tasks.iter().find(|st| {
            st.end_date.is_none()
                && if syncing {
                    st.name.starts_with("SYNC_")
                } else {
                    st.name.starts_with("MIGRATE_")
                }
        })?;
        let speed = task
            .migrate_speed
            .filter(|v| *v > 0.0)
            .or_else(|| s.map(Self::speed))?;
        let s = s?;
        let total = if syncing {
            (self.bytes(s) as f64 * SYNC_FRACTION) as u64
        } else {
            self.bytes(s)
        };
        let left = total as f64 * (1.0 - f64::from(copy.progress.clamp(0, 100)) / 100.0);
        Some(transfer_ms(left as u64, speed))
    }

    /// The work of a wait for `stage` of the step's resource (without the poll).
    fn wait_work_ms(&self, step: &Step, stage: Stage) -> u64 {
        match stage {
            Stage::Server(st) => {
                let Some(s) = self.server(step) else {
                    return 60_000;
                };
                let task = self.task(s);
                let state = task.and_then(|t| t.state.as_ref());
                let running = match st {
                    ServerStage::Replicated => {
                        matches!(state, Some(TaskState::Running | TaskState::Skipping))
                    }
                    ServerStage::Synced => state == Some(&TaskState::Syncing),
                    _ => false,
                };
                if running && let Some(left) = task.and_then(|t| self.remaining_ms(t, Some(s))) {
                    return left;
                }
                match st {
                    ServerStage::Replicated => self.full_copy_ms(s),
                    ServerStage::Synced => self.sync_round_ms(s),
                    _ => 60_000,
                }
            }
            Stage::Redis(RedisStage::Migrated) => REDIS_FULL_MS,
            Stage::Redis(_) => 10_000,
        }
    }

    /// A `restart`: a full copy again when the task failed now and this is the restart it
    /// calls for; nothing to do otherwise (the copy it guards is expected to succeed).
    fn restart_ms(&self, step: &Step) -> u64 {
        let StepKind::Restart(r) = &step.kind else {
            return 0;
        };
        let Some(s) = self.server(step) else { return 0 };
        let failed = self.task(s).is_some_and(|t| {
            matches!(t.state, Some(TaskState::MigrateFail | TaskState::SyncFail))
                && migplan_planner::current::restarts_recorded(t) + 1 == r.number
        });
        if failed {
            // The target exists already: no new ECS.
            self.full_copy_ms(s).saturating_sub(CREATE_SERVER_MS) + self.half_poll_ms
        } else {
            0
        }
    }

    /// Estimated duration of `step`, in milliseconds; `after_write`: the step before it on
    /// the same resource wrote (its read waits for a fresh poll).
    pub(crate) fn step_ms(&self, step: &Step, after_write: bool) -> u64 {
        let fresh_read = if after_write { self.half_poll_ms } else { 0 };
        match step.class() {
            StepClass::Barrier => 0,
            StepClass::Check => CHECK_MS,
            StepClass::Wait => {
                let work = step.stage.map_or(60_000, |st| self.wait_work_ms(step, st));
                work + self.half_poll_ms
            }
            StepClass::Create => match step.call() {
                // Created, then waited for until it runs.
                Call::DcsCreate => {
                    CALL_MS + step.kind.spec().settle_seconds() * 1000 + self.half_poll_ms
                }
                // A list by name before and after the create.
                _ => 3 * CALL_MS,
            },
            StepClass::Update => CALL_MS,
            StepClass::Action if step.kind.spec().only_if_needed() => {
                fresh_read + self.restart_ms(step)
            }
            StepClass::Action => {
                let poll = if step.postcondition == migplan_planner::Condition::Always {
                    0
                } else {
                    self.half_poll_ms
                };
                fresh_read + CALL_MS + step.kind.spec().settle_seconds() * 1000 + poll
            }
        }
    }
}

/// Whether a step of `class` writes (a later read of its resource waits for a fresh poll).
pub(crate) fn writes(class: StepClass) -> bool {
    matches!(
        class,
        StepClass::Create | StepClass::Update | StepClass::Action
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_wire::sms::ServerDisk;

    #[test]
    fn bytes_are_the_used_sizes_when_the_disks_are_known_else_the_total() {
        let gib = 1i64 << 30;
        let mut src = SourceServer {
            totalsize: Some(40 * gib),
            ..SourceServer::default()
        };
        assert_eq!(replicate_bytes(&src), Some(40 << 30));
        src.disks = Some(vec![
            ServerDisk {
                size: 40 * gib,
                used_size: Some(10 * gib),
                ..ServerDisk::default()
            },
            ServerDisk {
                size: 5 * gib,
                used_size: None,
                ..ServerDisk::default()
            },
        ]);
        assert_eq!(replicate_bytes(&src), Some(15 << 30));
        assert_eq!(replicate_bytes(&SourceServer::default()), None);
    }

    #[test]
    fn a_gibibyte_at_a_hundred_megabits_takes_eighty_six_seconds() {
        assert_eq!(transfer_ms(1 << 30, 100.0), 85_900);
    }
}
