//! What the list calls returned ([`LiveSnapshot`]), and an index over it built once per plan.

use std::collections::HashMap;

use migplan_parser::{SourceRef, Spec, Target};
use migplan_wire::dcs::MigrationTaskListItem;
use migplan_wire::sms::{SourceServer, Task, Template};

/// The live state the planner reads: the answers of the SMS and DCS list calls, unfiltered.
///
/// The CLI fills it through `migplan-cloud`; tests build it by hand. Objects the plan does not
/// mention are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveSnapshot {
    /// `GET /v3/sources`.
    pub sources: Vec<SourceServer>,
    /// `GET /v3/tasks`.
    pub tasks: Vec<Task>,
    /// `GET /v3/vm/templates`.
    pub templates: Vec<Template>,
    /// `GET /v2/{project_id}/migration-tasks`.
    pub migrations: Vec<MigrationTaskListItem>,
}

impl LiveSnapshot {
    /// A made-up snapshot for offline use (`migplan graph` without credentials): nothing is
    /// migrated yet, every source the spec names is registered and connected, every template
    /// exists (its id is its name). Planning against it gives the full DAG.
    pub fn assume_ready(spec: &Spec) -> LiveSnapshot {
        let mut live = LiveSnapshot::default();
        let mut templates = std::collections::BTreeSet::new();
        for s in &spec.servers {
            let (id, name) = match &s.source {
                SourceRef::Name(n) => (format!("offline-{n}"), Some(n.clone())),
                SourceRef::Id(id) => (id.clone(), None),
            };
            live.sources.push(SourceServer {
                id,
                name,
                connected: Some(true),
                ..SourceServer::default()
            });
            if let Target::Template(t) = &s.target {
                templates.insert(t.clone());
            }
        }
        live.templates = templates
            .into_iter()
            .map(|t| Template {
                id: Some(t.clone()),
                name: t,
                ..Template::default()
            })
            .collect();
        live
    }
}

impl LiveSnapshot {
    /// The ids of the sources whose detail (`GET /v3/sources/{id}`: the disks and their used
    /// sizes, which the list does not carry) the forecast would use: those the plan's servers
    /// name, listed without disks, whose full copy is still ahead (no task, or a task ready,
    /// paused or failed). Sorted, each once.
    pub fn sources_wanting_detail(&self, spec: &Spec) -> Vec<String> {
        use migplan_wire::sms::TaskState;
        let ix = LiveIndex::new(self);
        let mut ids: Vec<String> = spec
            .servers
            .iter()
            .filter(|s| {
                ix.task(&s.name).one().is_none_or(|t| {
                    matches!(
                        t.state,
                        Some(TaskState::Ready | TaskState::Abort | TaskState::MigrateFail)
                    )
                })
            })
            .filter_map(|s| ix.source(&s.source).one())
            .filter(|src| src.disks.as_ref().is_none_or(Vec::is_empty))
            .map(|src| src.id.clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Adds what source details say to the listed sources (their disks), by id.
    pub fn add_source_details(&mut self, details: Vec<SourceServer>) {
        let mut by_id: HashMap<String, SourceServer> =
            details.into_iter().map(|d| (d.id.clone(), d)).collect();
        for s in &mut self.sources {
            if let Some(d) = by_id.remove(&s.id)
                && d.disks.is_some()
            {
                s.disks = d.disks;
            }
        }
    }
}

/// The result of looking a name up: nothing, exactly one object, or several (never guessed).
#[derive(Debug, Clone, PartialEq)]
pub enum Match<'a, T> {
    /// No live object has that name or id.
    None,
    /// Exactly one.
    One(&'a T),
    /// More than one: the ids of all of them.
    Ambiguous(Vec<String>),
}

impl<'a, T> Match<'a, T> {
    /// The single match, if there is exactly one.
    pub fn one(&self) -> Option<&'a T> {
        match self {
            Match::One(t) => Some(t),
            _ => None,
        }
    }
}

/// Hash indexes over a [`LiveSnapshot`], so matching 10,000 resources is O(N).
#[derive(Debug)]
pub struct LiveIndex<'a> {
    tasks_by_name: HashMap<&'a str, Vec<&'a Task>>,
    sources_by_name: HashMap<&'a str, Vec<&'a SourceServer>>,
    sources_by_id: HashMap<&'a str, Vec<&'a SourceServer>>,
    templates_by_name: HashMap<&'a str, Vec<&'a Template>>,
    templates_by_id: HashMap<&'a str, Vec<&'a Template>>,
    migrations_by_name: HashMap<&'a str, Vec<&'a MigrationTaskListItem>>,
}

fn push<'a, T>(map: &mut HashMap<&'a str, Vec<&'a T>>, key: &'a str, v: &'a T) {
    map.entry(key).or_default().push(v);
}

fn lookup<'a, T>(
    map: &HashMap<&'a str, Vec<&'a T>>,
    key: &str,
    id: impl Fn(&T) -> String,
) -> Match<'a, T> {
    match map.get(key).map(Vec::as_slice) {
        None | Some([]) => Match::None,
        Some([one]) => Match::One(one),
        Some(many) => Match::Ambiguous(many.iter().map(|t| id(t)).collect()),
    }
}

impl<'a> LiveIndex<'a> {
    /// Indexes a snapshot (one pass over each list).
    pub fn new(live: &'a LiveSnapshot) -> Self {
        let mut ix = LiveIndex {
            tasks_by_name: HashMap::with_capacity(live.tasks.len()),
            sources_by_name: HashMap::with_capacity(live.sources.len()),
            sources_by_id: HashMap::with_capacity(live.sources.len()),
            templates_by_name: HashMap::new(),
            templates_by_id: HashMap::new(),
            migrations_by_name: HashMap::with_capacity(live.migrations.len()),
        };
        for t in &live.tasks {
            push(&mut ix.tasks_by_name, t.name.as_str(), t);
        }
        for s in &live.sources {
            if let Some(n) = &s.name {
                push(&mut ix.sources_by_name, n.as_str(), s);
            }
            push(&mut ix.sources_by_id, s.id.as_str(), s);
        }
        for t in &live.templates {
            push(&mut ix.templates_by_name, t.name.as_str(), t);
            if let Some(id) = &t.id {
                push(&mut ix.templates_by_id, id.as_str(), t);
            }
        }
        for m in &live.migrations {
            push(&mut ix.migrations_by_name, m.task_name.as_str(), m);
        }
        ix
    }

    /// The SMS task named after a server entry.
    pub fn task(&self, name: &str) -> Match<'a, Task> {
        lookup(&self.tasks_by_name, name, |t| t.id.clone())
    }

    /// The source server a [`SourceRef`] names.
    pub fn source(&self, r: &SourceRef) -> Match<'a, SourceServer> {
        match r {
            SourceRef::Name(n) => lookup(&self.sources_by_name, n, |s| s.id.clone()),
            SourceRef::Id(id) => lookup(&self.sources_by_id, id, |s| s.id.clone()),
        }
    }

    /// A template by id, or else by name.
    pub fn template(&self, name_or_id: &str) -> Match<'a, Template> {
        let by_id = lookup(&self.templates_by_id, name_or_id, |t| {
            t.id.clone().unwrap_or_default()
        });
        if matches!(by_id, Match::None) {
            lookup(&self.templates_by_name, name_or_id, |t| {
                t.id.clone().unwrap_or_default()
            })
        } else {
            by_id
        }
    }

    /// The DCS migration task named after a Redis entry.
    pub fn migration(&self, name: &str) -> Match<'a, MigrationTaskListItem> {
        lookup(&self.migrations_by_name, name, |m| m.task_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_still_to_copy_and_listed_without_disks_want_their_detail() {
        use migplan_wire::sms::{ServerDisk, TaskState};
        let text = "version: 1\nname: t\ncloud: {region: r, project_id: 0123456789abcdef0123456789abcdef}\nservers:\n  - {name: new, target: {template: tpl}, stage: replicated}\n  - {name: ready, target: {template: tpl}, stage: replicated}\n  - {name: copied, target: {template: tpl}, stage: cutover}\n  - {name: known, target: {template: tpl}, stage: replicated}\n";
        let spec = migplan_parser::parse("t.yaml", text).expect("valid").spec;
        let mut live = LiveSnapshot::assume_ready(&spec);
        let task = |name: &str, state| Task {
            id: format!("t-{name}"),
            name: name.into(),
            state: Some(state),
            ..Task::default()
        };
        live.tasks = vec![
            task("ready", TaskState::Ready),
            task("copied", TaskState::MigrateSuccess),
        ];
        let disks = vec![ServerDisk {
            size: 40,
            used_size: Some(10),
            ..ServerDisk::default()
        }];
        live.sources[3].disks = Some(disks.clone());
        assert_eq!(
            live.sources_wanting_detail(&spec),
            ["offline-new", "offline-ready"]
        );
        live.add_source_details(vec![SourceServer {
            id: "offline-new".into(),
            disks: Some(disks.clone()),
            ..SourceServer::default()
        }]);
        assert_eq!(live.sources[0].disks, Some(disks));
        assert_eq!(live.sources_wanting_detail(&spec), ["offline-ready"]);
    }

    #[test]
    fn assume_ready_registers_every_source_and_template() {
        let text = "version: 1\nname: t\ncloud: {region: r, project_id: 0123456789abcdef0123456789abcdef}\nservers:\n  - {name: a, target: {template: tpl}, stage: cutover}\n  - {name: b, source: {id: s-b}, target: {template: tpl}, stage: replicated}\n";
        let spec = migplan_parser::parse("t.yaml", text).expect("valid").spec;
        let live = LiveSnapshot::assume_ready(&spec);
        let p = crate::plan(&spec, &live, &crate::PlanOptions::default()).expect("plans");
        assert!(!p.is_blocked());
        assert_eq!(p.summary.create, 2);
        assert_eq!(live.templates.len(), 1);
    }

    #[test]
    fn duplicate_task_names_are_ambiguous_never_guessed() {
        let live = LiveSnapshot {
            tasks: vec![
                Task {
                    id: "a".into(),
                    name: "db".into(),
                    ..Task::default()
                },
                Task {
                    id: "b".into(),
                    name: "db".into(),
                    ..Task::default()
                },
                Task {
                    id: "c".into(),
                    name: "web".into(),
                    ..Task::default()
                },
            ],
            ..LiveSnapshot::default()
        };
        let ix = LiveIndex::new(&live);
        assert_eq!(
            ix.task("db"),
            Match::Ambiguous(vec!["a".into(), "b".into()])
        );
        assert_eq!(ix.task("web").one().map(|t| t.id.as_str()), Some("c"));
        assert_eq!(ix.task("nope"), Match::None);
    }
}
