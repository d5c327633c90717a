//! The account's cap on SMS migrations running at once (`--sms-migration-quota`), because the
//! real service has one ("a maximum of 100 source servers can be migrated at the same time",
//! SMS product docs, *Notes and Constraints*), and the high-water mark tests read it by.
//!
//! A migration *runs* while its task is `RUNNING` (a full copy), `SYNCING` (a sync round) or
//! `SKIPPING` (its consistency check is being skipped; the run goes on 5 s later): the states
//! in which the service moves data for it. Not counted: `READY` (not started), `ABORTING` /
//! `ABORT` (paused: the copy is stopped), `MIGRATE_SUCCESS` / `SYNC_SUCCESS` (done, including
//! while the target is test-launched or cut over), the failed and rollback states. Every task
//! of the account counts, whoever created it.
//!
//! Only a transition into a counted state starts a migration: `start` (READY, a resume of
//! ABORT, a sync round after success), `restart`, and `auto_start` on create. `start` or
//! `restart` that would make the count exceed the quota is refused with 403 `SMS.1003`
//! (emulator-chosen: the limit is documented, its error code is not); an `auto_start` over the
//! quota creates the task and leaves it `READY`. Every other transition keeps a migration
//! counted or ends it, so the count only grows at those starts: the high-water mark, taken
//! right after each start, is the greatest number of migrations that ran at once.

use super::World;
use super::sms_task::resolve_all;
use crate::api_error::{ApiError, codes};
use migplan_wire::sms::{Operation, TaskState};

/// The cap (if any) and the high-water mark. Not persisted: the cap is configuration, the
/// mark an observation of this run (like the request log).
#[derive(Debug, Clone, Default)]
pub struct Quota {
    /// Migrations that may run at once; `None`: no cap.
    pub limit: Option<u32>,
    /// The greatest number of migrations that ran at once.
    pub max_running: u32,
}

/// Whether a task in `state` is a running migration (see the module docs).
pub fn is_running(state: &TaskState) -> bool {
    matches!(
        state,
        TaskState::Running | TaskState::Syncing | TaskState::Skipping
    )
}

/// Migrations running at `now`, across every task of the account (each resolved to `now`).
pub fn running(world: &mut World, now: i64) -> u32 {
    resolve_all(world, now);
    let n = world
        .tasks
        .iter()
        .filter(|t| is_running(&t.state_at(now)))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Quota {
    /// `Ok` when one more migration may start while `running` run; else the refusal of `op`.
    pub fn admit(&self, running: u32, op: &Operation) -> Result<(), ApiError> {
        match self.limit {
            Some(limit) if running >= limit => Err(ApiError::sms(
                403,
                codes::SMS_MIGRATION_QUOTA,
                format!(
                    "operation {op} is not allowed: the account already runs {running} migrations, \
                     its quota of migrations at the same time ({limit}); retry when one has finished"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Notes that a migration started while `running` others ran.
    pub fn started(&mut self, running: u32) {
        self.max_running = self.max_running.max(running.saturating_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_refuses_only_past_the_limit_and_the_mark_keeps_the_greatest() {
        let mut q = Quota {
            limit: Some(2),
            ..Quota::default()
        };
        assert!(q.admit(1, &Operation::Start).is_ok());
        let e = q.admit(2, &Operation::Restart).expect_err("over the cap");
        assert_eq!((e.status, e.code.as_str()), (403, "SMS.1003"));
        assert!(
            e.message.contains("restart") && e.message.contains("(2)"),
            "{e:?}"
        );
        q.started(1);
        q.started(0);
        assert_eq!(q.max_running, 2);
        assert!(Quota::default().admit(u32::MAX, &Operation::Start).is_ok());
    }

    #[test]
    fn only_copying_states_count() {
        for s in [TaskState::Running, TaskState::Syncing, TaskState::Skipping] {
            assert!(is_running(&s), "{s}");
        }
        for s in [
            TaskState::Ready,
            TaskState::Aborting,
            TaskState::Abort,
            TaskState::MigrateSuccess,
            TaskState::SyncSuccess,
            TaskState::MigrateFail,
            TaskState::SyncFail,
        ] {
            assert!(!is_running(&s), "{s}");
        }
    }
}
