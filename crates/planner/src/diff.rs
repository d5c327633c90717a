//! Field-level differences between the plan and the live task, computed once into a model
//! ([`FieldDiff`]) that renderers only print.

use migplan_parser::{RedisEndpoint, RedisInstance, RedisSpec, SecretRef, ServerSpec, Target};
use migplan_wire::dcs::MigrationTaskListItem;
use migplan_wire::sms::{SourceServer, Task, TaskState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a field change is applied, or why it cannot be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// Set when the object is created (or configured) by this plan.
    Create {
        /// The call that sets it, e.g. `POST /v3/tasks`.
        endpoint: String,
    },
    /// Changed on the existing object.
    InPlace {
        /// The call that changes it, e.g. `PUT /v3/tasks/{task_id}`.
        endpoint: String,
    },
    /// Cannot change on the existing object; the resource is blocked.
    Forbidden {
        /// Why not.
        reason: String,
        /// What the user can do.
        remedy: String,
    },
}

/// One field whose plan value differs from live (or that a create sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldDiff {
    /// Field name as in the plan file, e.g. `speed_limit`, `target.template`.
    pub field: String,
    /// Live value; `None` when the object does not exist yet. Secrets appear as `{env: NAME}`.
    pub before: Option<String>,
    /// Plan value. Secrets appear as `{env: NAME}`, never their value.
    pub after: Option<String>,
    /// How it is applied. `InPlace` diffs drive the update step; `Forbidden` blocks.
    pub change: Change,
}

impl FieldDiff {
    /// `+` create, `~` in place, `!` forbidden.
    pub fn symbol(&self) -> &'static str {
        match self.change {
            Change::Create { .. } => "+",
            Change::InPlace { .. } => "~",
            Change::Forbidden { .. } => "!",
        }
    }
}

/// `--- live` / `+++ plan` unified diff of the diffs' before/after values (empty when none).
pub fn unified(diffs: &[FieldDiff]) -> String {
    if diffs.is_empty() {
        return String::new();
    }
    let mut old = String::new();
    let mut new = String::new();
    for d in diffs {
        if let Some(b) = &d.before {
            old.push_str(&format!("{} = {b}\n", d.field));
        }
        if let Some(a) = &d.after {
            new.push_str(&format!("{} = {a}\n", d.field));
        }
    }
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("live", "plan")
        .to_string()
}

const PUT_TASK: &str = "PUT /v3/tasks/{task_id}";
const POST_TASK: &str = "POST /v3/tasks";

fn secret(s: &SecretRef) -> String {
    format!("{{env: {}}}", s.env)
}

fn forbidden(why: &str) -> Change {
    Change::Forbidden {
        reason: why.into(),
        remedy: "revert the field in the plan, or delete the task so migplan creates it anew"
            .into(),
    }
}

/// The plan's values of a server's task fields, in display order. `template_id` is the
/// resolved template id (when found).
fn server_fields(
    spec: &ServerSpec,
    source: Option<&SourceServer>,
    template_id: Option<&str>,
) -> Vec<(&'static str, Option<String>)> {
    let os = spec.os_type.map(|o| o.to_string()).or_else(|| {
        source
            .and_then(|s| s.os_type.as_ref())
            .map(|o| o.to_string())
    });
    let mut v = vec![("type", Some(spec.task_type.to_string())), ("os_type", os)];
    match &spec.target {
        Target::Template(t) => v.push((
            "target.template",
            Some(template_id.unwrap_or(t).to_string()),
        )),
        Target::Existing {
            server_id,
            migration_ip,
        } => {
            v.push(("target.server_id", Some(server_id.clone())));
            v.push(("target.migration_ip", Some(migration_ip.to_string())));
        }
    }
    v.extend([
        ("speed_limit", spec.speed_limit.map(|x| x.to_string())),
        ("priority", spec.priority.map(|x| x.to_string())),
        (
            "start_target_server",
            spec.start_target_server.map(|x| x.to_string()),
        ),
        ("syncing", Some(spec.syncing.to_string())),
        ("use_public_ip", spec.use_public_ip.map(|x| x.to_string())),
    ]);
    v
}

/// The live value of a server task field (same names as [`server_fields`]).
pub(crate) fn server_live_field(task: &Task, field: &str) -> Option<String> {
    let ts = task.target_server.as_ref();
    match field {
        "type" => task.task_type.as_ref().map(|t| t.to_string()),
        "os_type" => task.os_type.as_ref().map(|t| t.to_string()),
        "target.template" => task.vm_template_id.clone(),
        "target.server_id" => ts.and_then(|t| t.vm_id.clone()).filter(|s| !s.is_empty()),
        "target.migration_ip" => task.migration_ip.clone(),
        "speed_limit" => task.speed_limit.map(|x| x.to_string()),
        "priority" => task.priority.map(|x| x.to_string()),
        "start_target_server" => task.start_target_server.map(|x| x.to_string()),
        "syncing" => task.syncing.map(|x| x.to_string()),
        "use_public_ip" => task.use_public_ip.map(|x| x.to_string()),
        _ => None,
    }
}

/// Field names of a server task the diff compares (fingerprint inputs use the same list).
pub(crate) const SERVER_FIELDS: &[&str] = &[
    "type",
    "os_type",
    "target.template",
    "target.server_id",
    "target.migration_ip",
    "speed_limit",
    "priority",
    "start_target_server",
    "syncing",
    "use_public_ip",
];

/// Diffs of a server: every field for a new task; for an existing one, the fields whose live
/// value is known and differs. A field not in the live answer is not compared.
pub fn server_diffs(
    spec: &ServerSpec,
    task: Option<&Task>,
    source: Option<&SourceServer>,
    template_id: Option<&str>,
) -> Vec<FieldDiff> {
    let fields = server_fields(spec, source, template_id);
    // Compared by id, shown as the user wrote it: `tpl-web (id ...)`.
    let shown = |field: &str, value: String| match &spec.target {
        Target::Template(name) if field == "target.template" && *name != value => {
            format!("{name} (id {value})")
        }
        _ => value,
    };
    let Some(task) = task else {
        return fields
            .into_iter()
            .filter_map(|(f, after)| {
                after.map(|a| FieldDiff {
                    field: f.into(),
                    before: None,
                    after: Some(shown(f, a)),
                    change: Change::Create {
                        endpoint: POST_TASK.into(),
                    },
                })
            })
            .collect();
    };
    let started = !matches!(task.state, Some(TaskState::Ready));
    let mut out = Vec::new();
    for (field, after) in fields {
        let (Some(after), Some(before)) = (after, server_live_field(task, field)) else {
            continue;
        };
        if after == before {
            continue;
        }
        let change = match field {
            "speed_limit" | "priority" | "start_target_server" => Change::InPlace {
                endpoint: PUT_TASK.into(),
            },
            "type" | "os_type" | "target.template" | "target.server_id" | "target.migration_ip"
                if !started =>
            {
                Change::InPlace {
                    endpoint: PUT_TASK.into(),
                }
            }
            "syncing" | "use_public_ip" => {
                forbidden("SMS cannot change this on an existing task (not in PUT /v3/tasks)")
            }
            _ => forbidden("cannot change once replication started"),
        };
        out.push(FieldDiff {
            field: field.into(),
            before: Some(before),
            after: Some(shown(field, after)),
            change,
        });
    }
    out
}

fn endpoint_text(e: &RedisEndpoint) -> String {
    match &e.instance {
        RedisInstance::Id(id) => format!("instance {id}"),
        RedisInstance::Addrs(a) => a.join(","),
    }
}

const CONFIGURE: &str = "POST /v2/{project_id}/migration/{task_id}/task";
const CREATE_MIGRATION: &str = "POST /v2/{project_id}/migration/instance";

/// Diffs of a Redis migration. `configured` is false while the DCS task waits to be configured
/// (then configure sets every field).
pub fn redis_diffs(
    spec: &RedisSpec,
    task: Option<&MigrationTaskListItem>,
    configured: bool,
) -> Vec<FieldDiff> {
    let create = |field: &str, after: String, endpoint: &str| FieldDiff {
        field: field.into(),
        before: None,
        after: Some(after),
        change: Change::Create {
            endpoint: endpoint.into(),
        },
    };
    let mut out = Vec::new();
    if task.is_none() {
        out.push(create(
            "network.vpc_id",
            spec.network.vpc_id.clone(),
            CREATE_MIGRATION,
        ));
        out.push(create(
            "network.subnet_id",
            spec.network.subnet_id.clone(),
            CREATE_MIGRATION,
        ));
        out.push(create(
            "network.security_group_id",
            spec.network.security_group_id.clone(),
            CREATE_MIGRATION,
        ));
    }
    let Some(task) = task.filter(|_| configured) else {
        out.push(create("method", spec.method.to_string(), CONFIGURE));
        out.push(create(
            "resume_mode",
            spec.resume_mode.to_string(),
            CONFIGURE,
        ));
        if let Some(b) = spec.bandwidth_limit_mb {
            out.push(create("bandwidth_limit_mb", b.to_string(), CONFIGURE));
        }
        out.push(create("source", endpoint_text(&spec.source), CONFIGURE));
        if let Some(p) = &spec.source.password {
            out.push(create("source.password", secret(p), CONFIGURE));
        }
        out.push(create("target", endpoint_text(&spec.target), CONFIGURE));
        if let Some(p) = &spec.target.password {
            out.push(create("target.password", secret(p), CONFIGURE));
        }
        return out;
    };
    let method = match spec.method {
        migplan_parser::RedisMethod::Full => "full_amount_migration",
        migplan_parser::RedisMethod::Incremental => "incremental_migration",
    };
    let mut cmp = |field: &str, before: Option<String>, after: String, change: Change| {
        if let Some(before) = before.filter(|b| !b.is_empty() && *b != after) {
            out.push(FieldDiff {
                field: field.into(),
                before: Some(before),
                after: Some(after),
                change,
            });
        }
    };
    cmp(
        "method",
        task.migration_method.as_ref().map(|m| m.to_string()),
        method.into(),
        Change::Forbidden {
            reason: "the migration method is fixed when the task is configured".into(),
            remedy: "revert `method`, or delete the DCS task so migplan creates it anew".into(),
        },
    );
    cmp(
        "resume_mode",
        task.resume_mode.as_ref().map(|m| m.to_string()),
        spec.resume_mode.to_string(),
        Change::InPlace {
            endpoint: "PUT /v2/{project_id}/migration-task/{task_id}".into(),
        },
    );
    if let RedisInstance::Id(id) = &spec.target.instance {
        cmp(
            "target",
            task.target_instance_id
                .as_ref()
                .map(|i| format!("instance {i}")),
            format!("instance {id}"),
            Change::Forbidden {
                reason: "the target instance is fixed when the task is configured".into(),
                remedy: "revert `target`, or delete the DCS task so migplan creates it anew".into(),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diff_has_live_and_plan_headers() {
        let d = vec![FieldDiff {
            field: "speed_limit".into(),
            before: Some("100".into()),
            after: Some("200".into()),
            change: Change::InPlace {
                endpoint: PUT_TASK.into(),
            },
        }];
        let text = unified(&d);
        assert!(text.starts_with("--- live\n+++ plan\n"), "{text}");
        assert!(
            text.contains("-speed_limit = 100\n+speed_limit = 200\n"),
            "{text}"
        );
        assert_eq!(unified(&[]), "");
    }
}
