//! Settling a create race: what a create step does with the tasks a list by name found.
//!
//! Two applies of one plan (two CI hosts, a lock on two machines) may both find the name free
//! and both create. Every run settles the same way, from a list by name taken after its own
//! create committed:
//!
//! - The *oldest* task (creation time) survives. A run whose own fresh task is not the strictly
//!   oldest deletes it (it is in its initial state: nothing has run) and adopts the survivor.
//! - A tie on creation time is never broken by id: both runs delete their own and look again.
//!   Breaking it by id would keep two tasks when one run's list was taken before the other's
//!   create committed in the same millisecond (that run sees only its own task and keeps it,
//!   while the other sees a tie and keeps the lower id).
//!
//! Why at most one task survives: a run keeps its task only when its list (taken after its
//! create) shows it strictly oldest. If two runs kept theirs, A's list did not show B's task,
//! so B created after A's list, hence after A's create: B's task is not older than A's, and
//! B's list (after its own create) showed A's task, so B would not have kept its own.
//!
//! The same notion of a *fresh* task (as created, nothing has run) also tells a run that
//! another apply may be about to act on a task: see `follow` in the step runner.
//!
//! Pure: tested here on made-up lists.

use std::cmp::Ordering;

use migplan_wire::dcs::{MigrationStatus, MigrationTaskListItem};
use migplan_wire::sms::{Task, TaskState};

/// An SMS task as created: READY and never started. Deleting it is harmless; and it is what
/// another apply leaves a moment before it starts the task.
pub(crate) fn fresh_sms(t: &Task) -> bool {
    t.state == Some(TaskState::Ready) && t.start_date.is_none()
}

/// A DCS migration task as created: its ECS is being made, or it waits to be configured.
pub(crate) fn fresh_dcs(t: &MigrationTaskListItem) -> bool {
    matches!(
        t.status,
        Some(MigrationStatus::Creating | MigrationStatus::Running)
    )
}

/// A task of the entry's name that migrates the entry's source to its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Live id.
    pub id: String,
    /// Creation time as comparable numbers (`None`: the API did not say).
    pub created: Option<Vec<u64>>,
    /// Still as created: nothing has run on it (its creator may delete it).
    pub initial: bool,
}

/// What a create step does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Nothing has the name: create it.
    Create,
    /// The run's own task survives: done.
    Keep,
    /// Another task survives: use it (after deleting the run's own, if it made one).
    Adopt(String),
    /// The run's own task lost (or tied): delete it, then look again.
    DeleteMine,
    /// The race is not settled yet (its own task is not listed yet, or others tie): look
    /// again shortly.
    Again,
    /// Several tasks of the name, and not because of a race (some have moved on): never
    /// guess which one is meant.
    Ambiguous(usize),
}

/// Creation times: the digit groups of an SMS `create_date` (epoch ms) or a DCS `created_at`
/// (`2021-06-16T06:12:55.508Z`, `2019/10/22 14:44:30`), compared as numbers in order.
pub(crate) fn created_key(text: &str) -> Option<Vec<u64>> {
    let key: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(|g| g.parse().unwrap_or(u64::MAX))
        .collect();
    (!key.is_empty()).then_some(key)
}

/// Known creation times first, in order; unknown ones are never older than anything.
fn age(a: &Candidate, b: &Candidate) -> Ordering {
    match (&a.created, &b.created) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The candidate strictly older than every other one, if there is one.
fn strictly_oldest(tasks: &[Candidate]) -> Option<&Candidate> {
    let oldest = tasks.iter().min_by(|a, b| age(a, b))?;
    let tied = tasks
        .iter()
        .filter(|t| age(t, oldest) == Ordering::Equal)
        .count();
    (tied == 1).then_some(oldest)
}

/// The next move of a create step that listed `tasks` (same name, same source and target),
/// having created `mine` (when it did) in this run.
pub(crate) fn decide(tasks: &[Candidate], mine: Option<&str>) -> Decision {
    if let Some(mine) = mine {
        let Some(own) = tasks.iter().find(|t| t.id == mine) else {
            // Created, but the list does not show it yet.
            return Decision::Again;
        };
        return match strictly_oldest(tasks) {
            Some(o) if o.id == mine => Decision::Keep,
            _ if own.initial => Decision::DeleteMine,
            _ => Decision::Ambiguous(tasks.len()),
        };
    }
    match tasks {
        [] => Decision::Create,
        [one] => Decision::Adopt(one.id.clone()),
        many => match strictly_oldest(many) {
            // The younger ones are fresh: their creators are deleting them.
            Some(o) if many.iter().all(|t| t.id == o.id || t.initial) => {
                Decision::Adopt(o.id.clone())
            }
            // Tied fresh tasks: their creators delete them and look again.
            None if many.iter().all(|t| t.initial) => Decision::Again,
            _ => Decision::Ambiguous(many.len()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, created: Option<u64>, initial: bool) -> Candidate {
        Candidate {
            id: id.into(),
            created: created.map(|t| vec![t]),
            initial,
        }
    }

    #[test]
    fn the_oldest_survives_and_a_younger_fresh_task_is_deleted_by_its_creator() {
        let both = [c("b", Some(10), true), c("a", Some(11), true)];
        assert_eq!(decide(&both, Some("b")), Decision::Keep);
        assert_eq!(decide(&both, Some("a")), Decision::DeleteMine);
        // The loser, once its own is gone, adopts the survivor.
        assert_eq!(decide(&both[..1], None), Decision::Adopt("b".into()));
        // A run that created nothing adopts the survivor while the loser is being deleted.
        assert_eq!(decide(&both, None), Decision::Adopt("b".into()));
        // A run whose list does not show the other (it came later) keeps its own.
        assert_eq!(decide(&both[..1], Some("b")), Decision::Keep);
    }

    #[test]
    fn a_tie_is_never_broken_by_id() {
        let tie = [c("a", Some(10), true), c("b", Some(10), true)];
        assert_eq!(decide(&tie, Some("a")), Decision::DeleteMine);
        assert_eq!(decide(&tie, Some("b")), Decision::DeleteMine);
        assert_eq!(decide(&tie, None), Decision::Again);
        let unknown = [c("a", None, true), c("b", None, true)];
        assert_eq!(decide(&unknown, Some("a")), Decision::DeleteMine);
    }

    #[test]
    fn duplicates_that_are_not_a_race_are_never_guessed() {
        let moved_on = [c("a", Some(10), false), c("b", Some(11), false)];
        assert_eq!(decide(&moved_on, None), Decision::Ambiguous(2));
        // Its own task already moved on (someone started it): never deleted.
        let mine_started = [c("a", Some(10), true), c("b", Some(11), false)];
        assert_eq!(decide(&mine_started, Some("b")), Decision::Ambiguous(2));
        assert_eq!(decide(&[], None), Decision::Create);
        assert_eq!(decide(&[], Some("x")), Decision::Again);
    }

    #[test]
    fn creation_times_of_both_services_compare_in_order() {
        assert!(created_key("1598435778000") < created_key("1598435778001"));
        assert!(created_key("2021-06-16T06:12:55.508Z") < created_key("2021-06-16T06:12:55.509Z"));
        assert!(created_key("2019/10/22 14:44:30") < created_key("2019/10/22 14:45:00"));
        assert_eq!(created_key("n/a"), None);
    }
}
