//! Whether a live task that carries an entry's name is that entry's task.
//!
//! Tasks are matched by name (there is no state file), but a name proves nothing: a task named
//! `web-77` may migrate another machine. A task is this entry's only if it migrates the plan's
//! source, to the plan's target, wherever the live task says so; a field the live task does
//! not expose (a DCS task not configured yet, an SMS list without `source_server`) is not held
//! against it. The planner blocks a resource whose task is another's
//! ([`BlockedReason::TaskMismatch`]); the executor checks
//! the same thing again before it acts on a task it found by name.

use std::collections::BTreeSet;

use migplan_parser::{RedisInstance, RedisSpec, ServerSpec, SourceRef, Target};
use migplan_wire::dcs::MigrationTaskListItem;
use migplan_wire::sms::Task;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::blocked::BlockedReason;
use crate::snapshot::{LiveIndex, Match};

/// Which end of the migration differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// What is copied from: the source server, the source Redis.
    Source,
    /// What is copied to: the template or target server, the target Redis.
    Target,
}

/// A live task of the entry's name that migrates something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The live task's id.
    pub task_id: String,
    /// Which end differs.
    pub side: Side,
    /// What the live task has, for people (`` `src-b` (id 52f1…) ``).
    pub live: String,
    /// What the plan says, for people.
    pub plan: String,
}

impl Mismatch {
    /// The blocked reason of entry `name` (`what`: `SMS task`, `DCS migration task`).
    pub fn reason(&self, what: &str, name: &str) -> BlockedReason {
        BlockedReason::TaskMismatch {
            what: what.into(),
            name: name.into(),
            task_id: self.task_id.clone(),
            side: self.side,
            live: self.live.clone(),
            plan: self.plan.clone(),
        }
    }
}

/// What an entry's task must migrate, resolved against the live lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A server entry.
    Server(ServerIdentity),
    /// A Redis entry.
    Redis(RedisIdentity),
}

/// What a server entry's SMS task must migrate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIdentity {
    /// The plan's source as written.
    source: SourceRef,
    /// Ids of the registered sources it names (several when ambiguous, none when unregistered).
    source_ids: BTreeSet<String>,
    target: TargetIdentity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TargetIdentity {
    /// A template: its name or id as written, and the ids it resolves to.
    Template { name: String, ids: BTreeSet<String> },
    /// An existing ECS.
    Server { id: String },
}

fn ids_of<T>(m: &Match<'_, T>, id: impl Fn(&T) -> Option<String>) -> BTreeSet<String> {
    match m {
        Match::None => BTreeSet::new(),
        Match::One(t) => id(t).into_iter().collect(),
        Match::Ambiguous(ids) => ids.iter().cloned().collect(),
    }
}

fn nonempty(s: Option<&String>) -> Option<&str> {
    s.map(String::as_str).filter(|s| !s.is_empty())
}

/// `text (id X)`, unless the plan already named it by that id.
fn with_ids(text: String, written: &str, ids: &BTreeSet<String>) -> String {
    if ids.is_empty() || (ids.len() == 1 && ids.contains(written)) {
        text
    } else {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        format!("{text} (id {})", ids.join(" or "))
    }
}

impl ServerIdentity {
    /// The identity of `spec`'s task: its source and target resolved through `ix`.
    pub fn of(spec: &ServerSpec, ix: &LiveIndex<'_>) -> Self {
        let source_ids = ids_of(&ix.source(&spec.source), |s| Some(s.id.clone()));
        let target = match &spec.target {
            Target::Template(t) => TargetIdentity::Template {
                name: t.clone(),
                ids: ids_of(&ix.template(t), |t| t.id.clone()),
            },
            Target::Existing { server_id, .. } => TargetIdentity::Server {
                id: server_id.clone(),
            },
        };
        ServerIdentity {
            source: spec.source.clone(),
            source_ids,
            target,
        }
    }

    fn plan_source(&self) -> String {
        match &self.source {
            SourceRef::Name(n) => with_ids(format!("`{n}`"), n, &self.source_ids),
            SourceRef::Id(id) => format!("id {id}"),
        }
    }

    /// `Some` when `task` migrates another source, or to another target.
    pub fn check(&self, task: &Task) -> Option<Mismatch> {
        let mismatch = |side, live: String, plan: String| {
            Some(Mismatch {
                task_id: task.id.clone(),
                side,
                live,
                plan,
            })
        };
        if let Some(src) = task.source_server.as_ref().filter(|s| !s.id.is_empty()) {
            let ours = if !self.source_ids.is_empty() {
                self.source_ids.contains(&src.id)
            } else {
                match &self.source {
                    SourceRef::Id(id) => *id == src.id,
                    // Not registered (any more): its name is all there is to compare.
                    SourceRef::Name(n) => nonempty(src.name.as_ref()).is_none_or(|l| l == n),
                }
            };
            if !ours {
                let live = match nonempty(src.name.as_ref()) {
                    Some(n) => format!("`{n}` (id {})", src.id),
                    None => format!("id {}", src.id),
                };
                return mismatch(Side::Source, live, self.plan_source());
            }
        }
        let template = nonempty(task.vm_template_id.as_ref());
        let server = task
            .target_server
            .as_ref()
            .and_then(|t| nonempty(t.vm_id.as_ref()));
        match &self.target {
            TargetIdentity::Template { name, ids } => {
                let plan = || with_ids(format!("template `{name}`"), name, ids);
                match template {
                    Some(t) if !ids.is_empty() && !ids.contains(t) => {
                        mismatch(Side::Target, format!("template {t}"), plan())
                    }
                    None if task.exist_server == Some(true) => mismatch(
                        Side::Target,
                        format!("the existing server {}", server.unwrap_or("?")),
                        plan(),
                    ),
                    _ => None,
                }
            }
            TargetIdentity::Server { id } => {
                let plan = || format!("the existing server {id}");
                match (server, template) {
                    (Some(s), Some(t)) if s != id => {
                        mismatch(Side::Target, format!("template {t} (server {s})"), plan())
                    }
                    (Some(s), None) if s != id => {
                        mismatch(Side::Target, format!("the server {s}"), plan())
                    }
                    (None, Some(t)) => mismatch(Side::Target, format!("template {t}"), plan()),
                    _ => None,
                }
            }
        }
    }
}

/// What a Redis entry's DCS migration task must copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisIdentity {
    source: RedisInstance,
    target: RedisInstance,
}

/// `host:port` lists compare as sets (order and spaces do not matter).
fn addr_set<'a>(addrs: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    addrs
        .into_iter()
        .flat_map(|a| a.split(','))
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.is_empty())
        .collect()
}

fn instance_text(i: &RedisInstance) -> String {
    match i {
        RedisInstance::Id(id) => format!("instance {id}"),
        RedisInstance::Addrs(a) => a.join(","),
    }
}

/// `Some(live text)` when the live end (`id`, `addrs`) is not `want`.
fn end_differs(want: &RedisInstance, id: Option<&str>, addrs: Option<&str>) -> Option<String> {
    match (want, id, addrs) {
        (RedisInstance::Id(w), Some(l), _) if l != w => Some(format!("instance {l}")),
        (RedisInstance::Addrs(_), Some(l), _) => Some(format!("instance {l}")),
        (RedisInstance::Addrs(w), None, Some(l))
            if addr_set(l.split(',')) != addr_set(w.iter().map(String::as_str)) =>
        {
            Some(l.to_string())
        }
        _ => None,
    }
}

impl RedisIdentity {
    /// The identity of `spec`'s task (the plan names instances and addresses literally).
    pub fn of(spec: &RedisSpec) -> Self {
        RedisIdentity {
            source: spec.source.instance.clone(),
            target: spec.target.instance.clone(),
        }
    }

    /// `Some` when `task` copies from another source or to another target.
    pub fn check(&self, task: &MigrationTaskListItem) -> Option<Mismatch> {
        let src_id = nonempty(task.source_instance_id.as_ref());
        // `data_source` is the source's `ip:port` (or its id); only addresses compare.
        let src_addrs = nonempty(task.data_source.as_ref()).filter(|d| Some(*d) != src_id);
        let ends = [
            (
                Side::Source,
                &self.source,
                end_differs(&self.source, src_id, src_addrs),
            ),
            (
                Side::Target,
                &self.target,
                end_differs(
                    &self.target,
                    nonempty(task.target_instance_id.as_ref()),
                    nonempty(task.target_instance_addrs.as_ref()),
                ),
            ),
        ];
        ends.into_iter().find_map(|(side, want, live)| {
            live.map(|live| Mismatch {
                task_id: task.task_id.clone(),
                side,
                live,
                plan: instance_text(want),
            })
        })
    }
}

impl Identity {
    /// `Some` when an SMS task is not the server entry's (`None` for a Redis identity).
    pub fn check_sms(&self, task: &Task) -> Option<Mismatch> {
        match self {
            Identity::Server(s) => s.check(task),
            Identity::Redis(_) => None,
        }
    }

    /// `Some` when a DCS task is not the Redis entry's (`None` for a server identity).
    pub fn check_dcs(&self, task: &MigrationTaskListItem) -> Option<Mismatch> {
        match self {
            Identity::Redis(r) => r.check(task),
            Identity::Server(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_wire::sms::{TaskSourceServer, TaskTargetServer};

    #[test]
    fn address_lists_compare_as_sets() {
        let want = RedisInstance::Addrs(vec!["10.0.0.1:6379".into(), "10.0.0.2:6379".into()]);
        assert_eq!(
            end_differs(&want, None, Some("10.0.0.2:6379, 10.0.0.1:6379")),
            None
        );
        assert_eq!(
            end_differs(&want, None, Some("10.0.0.9:6379")).as_deref(),
            Some("10.0.0.9:6379")
        );
        assert_eq!(
            end_differs(&want, Some("inst-1"), None).as_deref(),
            Some("instance inst-1"),
            "an instance is not a list of addresses"
        );
        assert_eq!(
            end_differs(&want, None, None),
            None,
            "not exposed: no verdict"
        );
    }

    #[test]
    fn an_existing_server_target_compares_the_target_vm() {
        let id = ServerIdentity {
            source: SourceRef::Name("a".into()),
            source_ids: ["s-a".to_string()].into(),
            target: TargetIdentity::Server { id: "ecs-1".into() },
        };
        let mut t = Task {
            id: "t".into(),
            name: "a".into(),
            source_server: Some(TaskSourceServer {
                id: "s-a".into(),
                ..TaskSourceServer::default()
            }),
            target_server: Some(TaskTargetServer {
                vm_id: Some("ecs-1".into()),
                ..TaskTargetServer::default()
            }),
            ..Task::default()
        };
        assert_eq!(id.check(&t), None);
        t.target_server = Some(TaskTargetServer {
            vm_id: Some("ecs-2".into()),
            ..TaskTargetServer::default()
        });
        let m = id.check(&t).expect("another target");
        assert_eq!(
            (m.side, m.live.as_str()),
            (Side::Target, "the server ecs-2")
        );
        t.source_server = None;
        t.target_server = None;
        assert_eq!(id.check(&t), None, "nothing exposed: no verdict");
    }
}
